/*
 * tomocell run DECK: build a network from a deck, partition it, solve it and
 * write the results. Today's jobs are the foundation's: "foil" (a
 * current-collector sheet fed at a tab and drawn along an edge) and "network"
 * (a resistor network from CSV files). The jelly-roll job builds on the same
 * chain: deck -> network -> partition -> PETSc -> HDF5 + XDMF + summary.
 */
#include "src/commands.h"
#include "src/tc.h"
#include "io/deck.h"
#include "io/json.h"
#include "io/output.h"
#include "io/results.h"
#include "mesh/netcsv.h"
#include "mesh/sheet.h"
#include "solver/laplace.h"
#include "src/run_roll.h"
#include <math.h>

#define INF PETSC_MAX_REAL

static const TCKey run_keys[] = {
    {"job", TC_KEY_ENUM, "foil", 0, 0, PETSC_FALSE, "foil|network|roll",
     "what to run: a foil sheet, a resistor network from CSV files, or the coupled "
     "electrochemical-thermal jelly roll",
     PETSC_FALSE},
    {"output", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "output directory (default output/<deck name>)", PETSC_TRUE},
    {"foil_length_m", TC_KEY_REAL, "0.6", 0, INF, PETSC_TRUE, NULL,
     "foil length along the winding s, m", PETSC_FALSE},
    {"foil_height_m", TC_KEY_REAL, "0.06", 0, INF, PETSC_TRUE, NULL, "foil height z, m",
     PETSC_FALSE},
    {"foil_thickness_m", TC_KEY_REAL, "15e-6", 0, INF, PETSC_TRUE, NULL, "foil thickness, m",
     PETSC_FALSE},
    {"foil_sigma_S_m", TC_KEY_REAL, "3.77e7", 0, INF, PETSC_TRUE, NULL,
     "foil electrical conductivity, S/m", PETSC_FALSE},
    {"foil_ns", TC_KEY_INT, "601", 2, 1e8, PETSC_FALSE, NULL, "nodes along s", PETSC_FALSE},
    {"foil_nz", TC_KEY_INT, "61", 2, 1e8, PETSC_FALSE, NULL, "nodes along z", PETSC_FALSE},
    {"tab_edge", TC_KEY_ENUM, "s0", 0, 0, PETSC_FALSE, "s0|sL|z0|zH",
     "sheet edge that carries the tab", PETSC_FALSE},
    {"tab_from_m", TC_KEY_REAL, "0", 0, INF, PETSC_FALSE, NULL, "tab start along its edge, m",
     PETSC_FALSE},
    {"tab_to_m", TC_KEY_REAL, "0.06", 0, INF, PETSC_TRUE, NULL, "tab end along its edge, m",
     PETSC_FALSE},
    {"ground_edge", TC_KEY_ENUM, "sL", 0, 0, PETSC_FALSE, "s0|sL|z0|zH",
     "sheet edge held at 0 V, where the current is drawn", PETSC_FALSE},
    {"load_current_A", TC_KEY_REAL, "5", -1e6, 1e6, PETSC_FALSE, NULL, "current fed at the tab, A",
     PETSC_FALSE},
    {"network_nodes", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "job network: nodes CSV id,x_m,y_m,z_m,fixed_V,inject_A", PETSC_TRUE},
    {"network_edges", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "job network: edges CSV i,j,G_S", PETSC_TRUE},
    TC_ROLL_RUN_KEYS,
};
static const PetscInt run_nkeys = (PetscInt)(sizeof(run_keys) / sizeof(run_keys[0]));

static void RunHelp(void)
{
  printf("Deck keys (YAML; nested maps join with '_': foil: {length_m: 0.6} is foil_length_m).\n"
         "Each is also an option, -key value, which overrides the deck:\n");
  TCDeckPrintKeys(run_keys, run_nkeys);
  printf("\nPartitioning: -net_partition metis|natural, -net_partition_ufactor N (thousandths),\n"
         "  -net_partition_edge_weight unit|conductance\n"
         "Solver: PETSc KSP/PC options; default -ksp_type cg -pc_type gamg -pc_gamg_threshold 0.01 "
         "-ksp_rtol 1e-10;\n"
         "  faster on big sheets: -pc_type hypre (BoomerAMG).\n"
         "  Direct: -ksp_type preonly -pc_type lu -pc_factor_mat_solver_type mumps\n"
         "Output (directory from -output; default output/<deck name>/): results.h5, results.xmf,\n"
         "  summary.json; job roll also results_series.xmf, summary.csv and PNGs\n");
  printf("\nThe job is the deck's job key (the demo decks say job: roll); without one, foil.\n"
         "A key of another job is refused (a roll deck without job: roll). The output\n"
         "directory is locked while a run writes it (DIR/.tomocell.lock: pid and host).\n"
         "Run control of job roll (command line only):\n"
         "  -checkpoint_every N          write checkpoint.h5 in the output directory every N steps "
         "[0: never]\n"
         "  -checkpoint_minutes M        ... and every M minutes of wall time [0: never]\n"
         "  -restart FILE                continue the run saved in FILE (same deck and options)\n"
         "  -roll_newton_monitor         print the coupled Newton iterations\n"
         "  -element_block N             elements per batched element update [64]; the results\n"
         "                               are the same bits for every N\n"
         "  -element_nested_batch BOOL   the converged element solves (consistent starts, nested\n"
         "                               Newton) in the same blocks [true]; false: one element at\n"
         "                               a time (the same bits, for checks)\n"
         "  -roll_pc_lag BOOL            keep the linear solves' preconditioners (factorisations,\n"
         "                               AMG) across steps, rebuilt when CG needs 1.5x the\n"
         "                               iterations [true]; false: rebuilt at every step\n"
         "  -roll_ksp_eta F              the Newton's CG stops at F x the residual (or below\n"
         "                               its floor) [1e-4; 1e-6 with LU]; 1e-10: ~exact Newton\n"
         "On SIGTERM or SIGUSR1 the run finishes its step, writes the checkpoint and exits with "
         "status 3.\n");
}

static PetscErrorCode RunReadSheet(TCDeck deck, TCSheetParams *p)
{
  PetscInt e;

  PetscFunctionBeginUser;
  PetscCall(TCDeckGetReal(deck, "foil_length_m", &p->length_m));
  PetscCall(TCDeckGetReal(deck, "foil_height_m", &p->height_m));
  PetscCall(TCDeckGetReal(deck, "foil_thickness_m", &p->thickness_m));
  PetscCall(TCDeckGetReal(deck, "foil_sigma_S_m", &p->sigma_S_m));
  PetscCall(TCDeckGetInt(deck, "foil_ns", &p->ns));
  PetscCall(TCDeckGetInt(deck, "foil_nz", &p->nz));
  PetscCall(TCDeckGetEnum(deck, "tab_edge", &e));
  p->tab_edge = (TCSheetEdge)e;
  PetscCall(TCDeckGetReal(deck, "tab_from_m", &p->tab_from_m));
  PetscCall(TCDeckGetReal(deck, "tab_to_m", &p->tab_to_m));
  PetscCall(TCDeckGetEnum(deck, "ground_edge", &e));
  p->ground_edge = (TCSheetEdge)e;
  PetscCall(TCDeckGetReal(deck, "load_current_A", &p->current_A));
  PetscFunctionReturn(0);
}

typedef struct {
  PetscReal injected_A, tab_voltage_V, max_potential_V, min_potential_V, power_W, power_edges_W;
} RunFindings;

/* Terminal quantities: V_tab = sum(I_k phi_k)/sum(I_k) over the fed nodes is
   the voltage whose product with the current is the power delivered into the
   network (the ground is at 0 V), so R_eff = V_tab / I. */
static PetscErrorCode RunFindingsCompute(TCGraph g, Vec phi, Vec Iedge, RunFindings *f)
{
  const TCNode      *nodes;
  const TCEdge      *edges;
  const PetscScalar *p, *cur;
  PetscInt           n, ne;
  MPI_Comm           comm;
  PetscReal          s[3] = {0, 0, 0}, mx[2] = {-INF, -INF};

  PetscFunctionBeginUser;
  PetscCall(TCGraphGetComm(g, &comm));
  PetscCall(TCGraphGetNodes(g, &n, &nodes, NULL));
  PetscCall(TCGraphGetEdges(g, &ne, &edges));
  PetscCall(VecGetArrayRead(phi, &p));
  for (PetscInt k = 0; k < n; k++) {
    s[0] += nodes[k].inject;
    s[1] += nodes[k].inject * p[k];
    mx[0] = PetscMax(mx[0], p[k]);
    mx[1] = PetscMax(mx[1], -p[k]);
  }
  PetscCall(VecRestoreArrayRead(phi, &p));
  PetscCall(VecGetArrayRead(Iedge, &cur));
  for (PetscInt k = 0; k < ne; k++) s[2] += cur[k] * cur[k] / edges[k].G;
  PetscCall(VecRestoreArrayRead(Iedge, &cur));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, s, 3, MPIU_REAL, MPI_SUM, comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, mx, 2, MPIU_REAL, MPI_MAX, comm));
  f->injected_A      = s[0];
  f->tab_voltage_V   = s[0] != 0 ? s[1] / s[0] : NAN;
  f->power_W         = s[1];
  f->power_edges_W   = s[2];
  f->max_potential_V = mx[0];
  f->min_potential_V = -mx[1];
  PetscFunctionReturn(0);
}

/* The run table's keys in three blocks: the foil job's (foil_length_m ..
   load_current_A), the network job's (network_nodes, network_edges) and the
   roll job's (the rest). */
static PetscInt RunKeyJob(PetscInt k)
{
  static PetscInt first[2] = {-1, -1};
  if (first[0] < 0)
    for (PetscInt i = 0; i < run_nkeys; i++) {
      if (!strcmp(run_keys[i].name, "network_nodes")) first[0] = i;
      if (!strcmp(run_keys[i].name, "network_edges")) first[1] = i + 1;
    }
  if (k < 2) return -1; /* job, output: every job's */
  return k < first[0] ? 0 : k < first[1] ? 1 : 2;
}

/* A key of another job is never read by this one: refuse it rather than run
   a job that ignores it (a roll deck without job: roll ran the foil job). */
static PetscErrorCode RunCheckJobKeys(TCDeck deck, const char deckpath[], PetscInt job)
{
  static const char *const jobs[] = {"foil", "network", "roll"};
  PetscBool                jobset;

  PetscFunctionBeginUser;
  PetscCall(TCDeckIsSet(deck, "job", &jobset));
  for (PetscInt k = 0; k < run_nkeys; k++) {
    PetscInt  owner = RunKeyJob(k);
    PetscBool set, fromfile;
    if (owner < 0 || owner == job) continue;
    PetscCall(TCDeckIsSet(deck, run_keys[k].name, &set));
    if (!set) continue;
    PetscCall(TCDeckIsFromFile(deck, run_keys[k].name, &fromfile));
    SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
            "key %s (%s) is a key of job %s, but the job is %s%s: give job: %s to run that job, "
            "or remove the key",
            run_keys[k].name, fromfile && deckpath ? deckpath : "command line", jobs[owner],
            jobs[job], jobset ? "" : " (the default: the deck has no job key)", jobs[owner]);
  }
  PetscFunctionReturn(0);
}

/* What RunBody() holds (jobs foil and network); RunMain() frees it, also when the run stops on an
 * error. */
typedef struct {
  TCGraph   g;
  TCLaplace lap;
  Vec       phi;
  Vec       Iedge;
  Vec       Gedge;
  char     *effective; /* the deck's effective options, for results.h5 */
} RunHeld;

static PetscErrorCode RunBody(int npos, char **pos, RunHeld *h)
{
  MPI_Comm    comm = PETSC_COMM_WORLD;
  PetscMPIInt size;
  TCDeck      deck;
  char        outdir[PETSC_MAX_PATH_LEN], path[PETSC_MAX_PATH_LEN], nodes_csv[PETSC_MAX_PATH_LEN],
      edges_csv[PETSC_MAX_PATH_LEN];
  const char     *deckname, *decktext;
  PetscBool       set;
  PetscInt        job, N, E;
  TCSheetParams   sp = {0};
  TCLaplaceStats  st;
  TCPartitionInfo pi;
  RunFindings     f = {0, 0, 0, 0, 0, 0};
  PetscLogDouble  t0, t1, t2, t3, t4;
  double          rss;
  KSP             ksp;
  PC              pc;
  KSPType         ksptype;
  PCType          pctype;
  FILE           *fp;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(TCDeckCreate(comm, "run", run_keys, run_nkeys, &deck));
  /* a deck with a fit: section (tomocell fit) runs as it is */
  PetscCall(TCDeckSetForeignKeys(deck, "fit", TCCommandFit.keys, TCCommandFit.nkeys));
  PetscCall(TCDeckLoad(deck, pos[0]));
  PetscCall(TCDeckGetName(deck, &deckname));
  PetscCall(TCDeckGetText(deck, &decktext));
  PetscCall(TCDeckGetEnum(deck, "job", &job));
  PetscCall(RunCheckJobKeys(deck, pos[0], job));
  PetscCall(TCDeckGetString(deck, "output", outdir, sizeof(outdir), &set));
  if (!set) {
    char sj[PETSC_MAX_PATH_LEN];
    PetscCall(TCPathJoin("output", deckname, outdir, sizeof(outdir)));
    PetscCall(TCPathJoin(outdir, "summary.json", sj, sizeof(sj)));
    PetscCall(TCNoteDefaultOutput(comm, "run", sj));
  }
  if (job == 2) {
    PetscCall(TCPrintf(comm, "tomocell run %s: job roll on %d rank(s), output in %s/\n", pos[0],
                       size, outdir));
    PetscCall(TCRunRoll(deck, pos[0], outdir));
    PetscCall(TCDeckDestroy(&deck));
    PetscFunctionReturn(0);
  }

  /* read and check every key before any work or output */
  if (job == 0)
    PetscCall(RunReadSheet(deck, &sp));
  else {
    PetscCall(TCDeckGetString(deck, "network_nodes", nodes_csv, sizeof(nodes_csv), &set));
    PetscCheck(set, comm, PETSC_ERR_USER_INPUT, "job network needs key network_nodes (nodes CSV)");
    PetscCall(TCDeckGetString(deck, "network_edges", edges_csv, sizeof(edges_csv), &set));
    PetscCheck(set, comm, PETSC_ERR_USER_INPUT, "job network needs key network_edges (edges CSV)");
  }
  if (job == 1) {
    PetscCall(TCInputCheck(comm, nodes_csv));
    PetscCall(TCInputCheck(comm, edges_csv));
  }
  {
    const char *const names[] = {"results.h5", "results.xmf", "summary.json"};
    PetscCall(TCOutputClaimIn(comm, outdir, 3, names));
  }
  PetscCall(TCOutputPrepareDir(comm, outdir));
  PetscCall(TCOutputLockDir(comm, outdir));
  PetscCall(TCPrintf(comm, "tomocell run %s: job %s on %d rank(s), output in %s/\n", pos[0],
                     job == 0 ? "foil" : "network", size, outdir));

  PetscCall(TCGraphCreate(comm, &h->g));
  if (job == 0) {
    PetscCall(TCPrintf(comm,
                       "  foil %g m x %g m x %g um, sigma %g S/m, %" PetscInt_FMT
                       " x %" PetscInt_FMT " nodes, %g A at tab %s [%g, %g] m\n",
                       (double)sp.length_m, (double)sp.height_m, (double)(sp.thickness_m * 1e6),
                       (double)sp.sigma_S_m, sp.ns, sp.nz, (double)sp.current_A,
                       TCSheetEdges[sp.tab_edge], (double)sp.tab_from_m, (double)sp.tab_to_m));
    PetscCall(TCSheetBuild(&sp, h->g));
  } else
    PetscCall(TCNetCSVRead(nodes_csv, edges_csv, h->g));
  PetscCall(PetscTime(&t1));
  PetscCall(TCGraphSetFromOptions(h->g));
  PetscCall(TCGraphSetUp(h->g));
  PetscCall(PetscTime(&t2));
  PetscCall(TCGraphGetSizes(h->g, &N, &E));
  PetscCall(TCGraphGetPartitionInfo(h->g, &pi));
  PetscCall(TCPrintf(comm,
                     "  network: %" PetscInt_FMT " nodes, %" PetscInt_FMT
                     " edges; partition %s: edge cut %" PetscInt_FMT ", max/mean weight %.4f\n",
                     N, E, pi.method, pi.edgecut, (double)pi.imbalance));

  PetscCall(TCLaplaceCreate(h->g, &h->lap));
  PetscCall(TCLaplaceSetFromOptions(h->lap));
  PetscCall(TCLaplaceSetUp(h->lap));
  PetscCall(TCGraphCreateVec(h->g, &h->phi));
  PetscCall(PetscObjectSetName((PetscObject)h->phi, "potential_V"));
  PetscCall(TCLaplaceSolve(h->lap, h->phi));
  PetscCall(TCLaplaceGetStats(h->lap, &st));
  PetscCall(TCGraphCreateEdgeVec(h->g, &h->Iedge));
  PetscCall(VecDuplicate(h->Iedge, &h->Gedge));
  PetscCall(TCLaplaceEdgeCurrents(h->lap, h->phi, h->Iedge));
  {
    const TCEdge *edges;
    PetscInt      ne;
    PetscScalar  *a;
    PetscCall(TCGraphGetEdges(h->g, &ne, &edges));
    PetscCall(VecGetArray(h->Gedge, &a));
    for (PetscInt k = 0; k < ne; k++) a[k] = edges[k].G;
    PetscCall(VecRestoreArray(h->Gedge, &a));
  }
  PetscCall(RunFindingsCompute(h->g, h->phi, h->Iedge, &f));
  PetscCall(TCLaplaceGetKSP(h->lap, &ksp));
  PetscCall(KSPGetType(ksp, &ksptype));
  PetscCall(KSPGetPC(ksp, &pc));
  PetscCall(PCGetType(pc, &pctype));
  PetscCall(PetscTime(&t3));
  PetscCall(TCPrintf(
      comm, "  solve: %s + %s, %" PetscInt_FMT " iterations, residual %.3e, %.3f s\n", ksptype,
      pctype, st.iterations, (double)st.residual_norm, (double)(st.setup_s + st.solve_s)));
  PetscCall(TCPrintf(comm, "  potential drop (max over the network): %.6g mV\n",
                     (double)(1e3 * (f.max_potential_V - f.min_potential_V))));
  if (f.injected_A != 0) {
    PetscCall(TCPrintf(
        comm, "  tab voltage %.6g mV at %g A: effective resistance %.6g mOhm, Joule heat %.6g W\n",
        (double)(1e3 * f.tab_voltage_V), (double)f.injected_A,
        (double)(1e3 * f.tab_voltage_V / f.injected_A), (double)f.power_W));
    if (job == 0)
      PetscCall(TCPrintf(comm, "  (1-D estimate L/(sigma t W): %.6g mOhm)\n",
                         (double)(1e3 * TCSheetResistance1D(&sp))));
  }
  PetscCall(TCPrintf(comm, "  charge balance: %.2e relative\n", (double)st.charge_balance));

  /* results */
  {
    TCField   nf[1] = {{"potential_V", h->phi}};
    TCField   ef[2] = {{"conductance_S", h->Gedge}, {"current_A", h->Iedge}};
    TCRunMeta meta;
    PetscCall(TCDeckGetEffective(deck, &h->effective));
    meta.command   = "run";
    meta.deck_path = pos[0];
    meta.deck_text = decktext;
    meta.options   = h->effective;
    PetscCall(TCResultsWriteNetwork(h->g, outdir, nf, 1, ef, 2, &meta));
    PetscCall(PetscFree(h->effective));
  }
  PetscCall(PetscTime(&t4));
  PetscCall(TCPeakRSS(comm, &rss, NULL));

  PetscCall(TCPathJoin(outdir, "summary.json", path, sizeof(path)));
  PetscCall(TCOutputFOpen(comm, path, &fp));
  if (fp) {
    TCJson js;
    TCJsonBegin(&js, fp);
    TCJsonString(&js, "tomocell_version", TC_VERSION);
    TCJsonString(&js, "command", "run");
    TCJsonString(&js, "deck", pos[0]);
    TCJsonString(&js, "job", job == 0 ? "foil" : "network");
    TCJsonInt(&js, "ranks", size);
    TCJsonObjectBegin(&js, "network");
    TCJsonInt(&js, "nodes", N);
    TCJsonInt(&js, "edges", E);
    TCJsonObjectEnd(&js);
    TCJsonObjectBegin(&js, "partition");
    TCJsonString(&js, "method", pi.method);
    TCJsonInt(&js, "parts", pi.nparts);
    TCJsonInt(&js, "edge_cut", pi.edgecut);
    TCJsonReal(&js, "max_over_mean_weight", pi.imbalance);
    TCJsonObjectEnd(&js);
    TCJsonObjectBegin(&js, "solver");
    TCJsonString(&js, "ksp_type", ksptype);
    TCJsonString(&js, "pc_type", pctype);
    TCJsonInt(&js, "iterations", st.iterations);
    TCJsonReal(&js, "residual_norm", st.residual_norm);
    TCJsonString(&js, "converged_reason", KSPConvergedReasons[st.reason]);
    TCJsonObjectEnd(&js);
    TCJsonObjectBegin(&js, "results");
    TCJsonReal(&js, "current_A", f.injected_A);
    TCJsonReal(&js, "tab_voltage_V", f.tab_voltage_V);
    TCJsonReal(&js, "max_potential_V", f.max_potential_V);
    TCJsonReal(&js, "min_potential_V", f.min_potential_V);
    TCJsonReal(&js, "potential_drop_V", f.max_potential_V - f.min_potential_V);
    TCJsonReal(&js, "effective_resistance_ohm",
               f.injected_A != 0 ? f.tab_voltage_V / f.injected_A : NAN);
    if (job == 0) TCJsonReal(&js, "resistance_1d_estimate_ohm", TCSheetResistance1D(&sp));
    TCJsonReal(&js, "joule_heat_W", f.power_W);
    TCJsonReal(&js, "charge_balance_rel_error", st.charge_balance);
    TCJsonReal(&js, "energy_balance_rel_error",
               f.power_W != 0 ? PetscAbsReal(f.power_W - f.power_edges_W) / PetscAbsReal(f.power_W)
                              : 0.0);
    TCJsonObjectEnd(&js);
    TCJsonObjectBegin(&js, "timing_s");
    TCJsonReal(&js, "build", t1 - t0);
    TCJsonReal(&js, "partition_distribute", t2 - t1);
    TCJsonReal(&js, "assemble", st.assemble_s);
    TCJsonReal(&js, "solver_setup", st.setup_s);
    TCJsonReal(&js, "solve", st.solve_s);
    TCJsonReal(&js, "write", t4 - t3);
    TCJsonReal(&js, "total", t4 - t0);
    TCJsonObjectEnd(&js);
    TCJsonObjectBegin(&js, "memory");
    TCJsonReal(&js, "peak_rss_bytes_all_ranks", rss);
    TCJsonReal(&js, "peak_rss_bytes_per_node", rss / (double)N);
    TCJsonObjectEnd(&js);
    TCJsonEnd(&js);
  }
  PetscCall(TCOutputFClose(comm, path, &fp));
  PetscCall(TCPrintf(comm, "  wrote %s/results.h5, results.xmf, summary.json (%.2f s total)\n",
                     outdir, (double)(t4 - t0)));

  PetscCall(VecDestroy(&h->phi));
  PetscCall(VecDestroy(&h->Iedge));
  PetscCall(VecDestroy(&h->Gedge));
  PetscCall(TCLaplaceDestroy(&h->lap));
  PetscCall(TCGraphDestroy(&h->g));
  PetscCall(TCDeckDestroy(&deck));
  PetscFunctionReturn(0);
}

static PetscErrorCode RunMain(int npos, char **pos)
{
  RunHeld        h;
  PetscErrorCode ierr;

  /* not PetscCall: the error was reported where it arose; free, then pass it on */
  PetscMemzero(&h, sizeof(h));
  ierr = RunBody(npos, pos, &h);
  (void)VecDestroy(&h.phi);
  (void)VecDestroy(&h.Iedge);
  (void)VecDestroy(&h.Gedge);
  (void)TCLaplaceDestroy(&h.lap);
  (void)TCGraphDestroy(&h.g);
  (void)PetscFree(h.effective);
  return ierr;
}

const TCCommand TCCommandRun = {
    "run",
    "solve a deck: the coupled electrochemical-thermal jelly roll (job roll), a foil sheet or a "
    "CSV resistor network",
    "tomocell run DECK.yaml [-key value ...]",
    RunHelp,
    RunMain,
    1,
    1,
    run_keys,
    run_nkeys,
    ".",
    "summary.json"};
