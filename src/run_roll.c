/*
 * tomocell run, job "roll" (see run_roll.h): the driver. The network comes
 * from a geometry source (mesh/rollgeom.h: the synthetic spiral, a net.h5, a
 * traced CT volume), the elements from the parameter set and the
 * microstructure keys (solver/cellparams.h), the solver reads its keys
 * (solver/roll.h), the outputs theirs (io/rollout.h); this file reads the
 * experiment keys, checks everything before any output exists, steps the
 * experiment with checkpoints and restarts, and reports.
 */
#include "src/run_roll.h"
#include "src/tc.h"
#include "src/runctl.h"
#include "io/output.h"
#include "io/rollout.h"
#include "solver/roll.h"
#include <math.h>

typedef struct {
  MPI_Comm     comm;
  TCRollOutput out;
  TCRunControl rc;
  const char  *config;
  PetscInt     nstate;
} RollRun;

/* ---- checkpoint/restart: the cursor, the state and the outputs' monitor ----------------- */

static PetscErrorCode RollCheckpointWrite(RollRun *run, const TCExperimentCursor *cur,
                                          const PetscReal state[])
{
  TCCheckpoint ck;
  PetscMPIInt  size;

  PetscFunctionBeginUser;
  PetscCall(TCRunControlCheckpointBegin(&run->rc));
  PetscCallMPI(MPI_Comm_size(run->comm, &size));
  PetscCall(TCCheckpointCreate(run->comm, run->rc.path, "run", run->config, &ck));
  PetscCall(TCExperimentCursorSave(ck, cur));
  PetscCall(TCCheckpointSetInt(ck, "ranks", size));
  PetscCall(TCRollOutputCheckpointSave(run->out, ck));
  PetscCall(TCCheckpointWriteArray(ck, "state", run->nstate, state));
  PetscCall(TCCheckpointCommit(ck));
  PetscCall(TCCheckpointDestroy(&ck));
  PetscCall(TCRunControlCheckpointEnd(&run->rc, cur->sum.nsteps));
  PetscFunctionReturn(0);
}

static PetscErrorCode RollCheckpointRead(RollRun *run, const char path[], TCExperimentCursor *cur,
                                         PetscReal state[])
{
  TCCheckpoint ck;
  PetscMPIInt  size;
  PetscInt64   v;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(run->comm, &size));
  PetscCall(TCCheckpointOpen(run->comm, path, "run", run->config, &ck));
  PetscCall(TCCheckpointGetInt(ck, "ranks", &v));
  PetscCheck(v == size, run->comm, PETSC_ERR_USER_INPUT,
             "cannot restart from %s: it was written by %d rank(s) and this run has %d; restart "
             "with the same number of ranks (the partition must be the same)",
             path, (int)v, (int)size);
  PetscCall(TCExperimentCursorLoad(ck, cur));
  PetscCall(TCRollOutputCheckpointLoad(run->out, ck));
  PetscCall(TCCheckpointReadArray(ck, "state", run->nstate, state));
  PetscCall(TCCheckpointDestroy(&ck));
  PetscFunctionReturn(0);
}

/* After every accepted step: periodic checkpoints, and the stop a signal asked for. */
static PetscErrorCode RollHook(const TCExperimentCursor *cur, const PetscReal state[], void *ctx,
                               PetscBool *stop)
{
  RollRun  *run = (RollRun *)ctx;
  PetscBool ckpt;

  PetscFunctionBeginUser;
  PetscCall(TCRunControlAfterStep(run->comm, &run->rc, cur->sum.nsteps, &ckpt, stop));
  if (ckpt) PetscCall(RollCheckpointWrite(run, cur, state));
  PetscFunctionReturn(0);
}

/* ---- the job ------------------------------------------------------------------ */

/* What RollBody() holds; TCRunRoll() frees it, also when the run stops on an error. */
typedef struct {
  TCRollGeom   geom;
  TCRollParams rp;
  TCCellParams p;
  TCCell       cell;
  TCRoll       roll;
  TCExperiment exp;
  PetscReal   *state;
  char        *config;
  RollRun      run;
} RollHeld;

static PetscErrorCode RollBody(TCDeck deck, const char deck_path[], const char outdir[],
                               RollHeld *h)
{
  MPI_Comm               comm = PETSC_COMM_WORLD;
  const TCRollGeomInfo *gi;
  TCRollNet            net;
  const TCRollNetParams *np;
  TCCellMicrostructure   micro;
  TCExperimentOptions  opt;
  TCExperimentSystem   sys;
  TCExperimentSummary  sum;
  TCExperimentCursor   cur;
  TCRollStats          st;
  TCRollFindings       fnd;
  TCRollRunDesc        desc;
  PetscReal              soc = -1, total_s = 0;
  PetscInt             model, grid[5], nexp;
  PetscBool              set, stopped, restarting, soc_set, soc_volt = PETSC_FALSE;
  char                   soc_text[256];
  char                 params[PETSC_MAX_PATH_LEN], expt[4096];
  char                   restart[PETSC_MAX_PATH_LEN] = "";
  PetscLogDouble       t0, t1, t2, t3;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  PetscCall(PetscMemzero(&h->run, sizeof(h->run)));
  PetscCall(PetscMemzero(&opt, sizeof(opt)));
  h->run.comm = comm;
  /* run control: command-line options, not deck keys (they do not change the results) */
  PetscCall(PetscOptionsGetString(NULL, NULL, "-restart", restart, sizeof(restart), &restarting));
  PetscCheck(!restarting || restart[0], comm, PETSC_ERR_USER_INPUT,
             "-restart needs the checkpoint file, e.g. -restart output/demo/checkpoint.h5");
  PetscCall(TCRunControlSetFromOptions(&h->run.rc));
  PetscCheck(h->run.rc.every >= 0 && h->run.rc.minutes >= 0, comm, PETSC_ERR_USER_INPUT,
             "-checkpoint_every and -checkpoint_minutes must be >= 0 (0: off)");

  /* every key is read and checked before any work or output: the elements ... */
  PetscCall(TCDeckGetString(deck, "params", params, sizeof(params), &set));
  PetscCall(TCDeckGetEnum(deck, "model", &model));
  for (int k = 0; k < 5; k++) {
    const char *gk[5] = {"cell_nx_n", "cell_nx_s", "cell_nx_p", "cell_nr_n", "cell_nr_p"};
    PetscCall(TCDeckGetInt(deck, gk[k], &grid[k]));
  }
  /* ... the experiment ... */
  PetscCall(TCDeckGetString(deck, "experiment", expt, sizeof(expt), &set));
  PetscCall(TCDeckGetString(deck, "initial_soc", soc_text, sizeof(soc_text), &soc_set));
  PetscCall(TCDeckGetReal(deck, "dt_max_s", &opt.dt_max_s));
  PetscCall(TCDeckGetReal(deck, "tol_V", &opt.tol_V));
  PetscCall(TCDeckGetReal(deck, "dt_fixed_s", &opt.dt_fixed_s));
  PetscCheck(opt.dt_fixed_s == 0 || opt.dt_fixed_s >= 1e-6, comm, PETSC_ERR_USER_INPUT,
             "dt_fixed_s = %g s: 0 (adaptive) or at least 1e-6 s", (double)opt.dt_fixed_s);
  /* ... the geometry, the set and the solver */
  PetscCall(TCRollGeomCreate(comm, &h->geom));
  PetscCall(TCRollGeomSetFromDeck(h->geom, deck));
  PetscCall(TCCellParamsLoad(params, &h->p));
  PetscCall(TCCellParamsApplyDeck(deck, &h->p, &micro));
  PetscCall(TCRollParamsFromDeck(deck, &h->p, &h->rp));
  if (soc_set)
    PetscCall(
        TCCellParamsParseSOC(&h->p, "initial_soc", soc_text, h->rp.T_init_K, &soc, &soc_volt));
  if (!set) /* the default discharge ends at the set's own lower cut-off */
    snprintf(expt, sizeof(expt), "Discharge at 1C until %.6g V", (double)h->p.V_min);
  for (char *c = expt; *c; c++) /* a YAML list arrives comma-joined */
    if (*c == ',') *c = ';';
  PetscCall(TCExperimentCreate(&h->exp));
  PetscCall(TCExperimentAdd(h->exp, expt));
  PetscCall(TCExperimentGetNumSteps(h->exp, &nexp));
  for (PetscInt s = 0; s < nexp; s++) {
    PetscReal d;
    PetscCall(TCExperimentGetStep(h->exp, s, NULL, &d));
    total_s = (d > 0 && total_s >= 0) ? total_s + d : -1;
  }
  if (total_s < 0) total_s = 3600; /* a cut-off ends it: about an hour at 1C */
  opt.lumped    = PETSC_FALSE;
  opt.T_amb_K   = h->rp.T_amb_K;
  opt.T_init_K  = h->rp.T_init_K;
  opt.dt_init_s = 1.0;

  /* the network (checked against the set), the elements, the solver */
  PetscCall(TCRollGeomSetUp(h->geom, &h->p, model == 0 ? 2 : model == 1 ? 10 : 100));
  PetscCall(TCRollGeomGetInfo(h->geom, &gi));
  PetscCall(TCRollGeomGetNetwork(h->geom, &net));
  PetscCall(TCRollNetGetParams(net, &np));
  PetscCall(TCRollParamsSetGeometry(comm, &h->rp, gi, np));
  PetscCall(TCCellCreate(PETSC_COMM_SELF, &h->cell));
  PetscCall(TCCellSetParams(h->cell, &h->p));
  PetscCall(TCCellSetModel(h->cell, (TCCellModel)model));
  PetscCall(TCCellSetGrid(h->cell, grid[0], grid[1], grid[2], grid[3], grid[4]));
  PetscCall(TCCellSetTolerances(h->cell, 1e-12, 30)); /* below the network's charge balance */
  PetscCall(TCCellSetFromOptions(h->cell));
  PetscCall(TCCellSetUp(h->cell));
  PetscCall(TCRollCreate(net, h->cell, &h->p, &h->rp, &h->roll));
  PetscCall(TCRollSetFromOptions(h->roll));
  PetscCall(TCRollGetSystem(h->roll, &sys));
  PetscCall(TCRollGeomView(h->geom));
  PetscCall(TCPrintf(
      comm,
      "  roll: %.2f turns, %" PetscInt_FMT " + %" PetscInt_FMT " foil nodes x %" PetscInt_FMT
      " layers, %" PetscInt_FMT " %s elements, 1C = %.3f A; %s\n",
      (double)gi->turns[1], gi->ns[0], gi->ns[1], gi->layers, gi->elements, TCCellModels[model],
      (double)sys.I1C_A, h->rp.thermal ? "thermal network" : "isothermal"));
  PetscCall(PetscMalloc1(PetscMax(sys.nstate, 1), &h->state));
  PetscCall(TCRollStateInit(h->roll, soc, h->state));
  PetscCall(TCPrintf(comm, "  experiment: %s\n", expt));
  if (soc_volt)
    PetscCall(
        TCPrintf(comm, "  initial_soc \"%s\": SOC %.6f (open-circuit voltage %.5f V at %.2f K)\n",
                 soc_text, (double)soc, (double)TCCellParamsOCVAtSOC(&h->p, soc, h->rp.T_init_K),
                 (double)h->rp.T_init_K));

  /* the outputs' monitor; a restart is checked completely before any output is touched */
  PetscCall(TCRollOutputCreate(h->roll, h->geom, deck, h->state, &h->run.out));
  PetscCall(TCRollOutputSetFromDeck(h->run.out));
  h->run.nstate = sys.nstate;
  PetscCall(TCDeckGetEffective(deck, &h->config));
  h->run.config = h->config;
  if (restarting) {
    PetscCall(RollCheckpointRead(&h->run, restart, &cur, h->state));
    PetscCall(TCPrintf(comm,
                       "  restarting from %s at t = %.2f s (experiment step %d, %d steps done)\n",
                       restart, (double)cur.t_s, (int)cur.step + 1, (int)cur.sum.nsteps));
  }
  {
    const char *const names[] = {"results.h5",   "results.xmf",     "results_series.xmf",
                                 "summary.json", "summary.csv",     "checkpoint.h5",
                                 "traced_net.h5", "traced_net.json", "traced_net.png"};
    PetscCall(TCOutputClaimIn(comm, outdir, 9, names));
  }
  PetscCall(TCOutputPrepareDir(comm, outdir));
  PetscCall(TCOutputLockDir(comm, outdir));
  PetscCall(TCPathJoin(outdir, "checkpoint.h5", h->run.rc.path, sizeof(h->run.rc.path)));
  PetscCall(TCRunControlInstall(comm, &h->run.rc));
  PetscCall(TCRollOutputSetProgress(h->run.out, nexp, total_s, h->run.rc.t_start));
  PetscCall(PetscTime(&t1));
  PetscCall(TCExperimentRunSystem(h->exp, &sys, &opt, restarting ? &cur : NULL, h->state,
                                  TCRollOutputMonitor, h->run.out, RollHook, &h->run, &sum,
                                  &stopped));
  PetscCall(PetscTime(&t2));
  PetscCall(TCRunControlRestore(&h->run.rc));
  if (stopped) {
    PetscCall(TCRunControlReportStop(comm, &h->run.rc, "tomocell run", sum.t_end_s, sum.nsteps));
    goto cleanup;
  }
  PetscCall(TCRollGetStats(h->roll, h->state, &st));
  PetscCall(TCRollOutputGetFindings(h->run.out, &fnd));
  PetscCall(TCPrintf(comm,
                     "  done: %" PetscInt_FMT " steps (%" PetscInt_FMT " rejected), t = %.1f s, "
                     "%.4f Ah, V_end %.4f V, T_max %.2f K, heterogeneity %.3f, min anode %.4f V\n",
                     sum.nsteps, sum.nrejected, (double)sum.t_end_s, (double)sum.capacity_Ah,
                     (double)st.V_V, (double)fnd.T_max_K, (double)fnd.heterogeneity_max,
                     (double)fnd.anode_min_V));
  if (!isnan(st.runaway_onset_s))
    PetscCall(TCPrintf(
        comm,
        "  RUNAWAY at t = %.1f s at r = %.2f mm, theta = %.2f rad, z = %.1f mm; peak "
        "%.1f K\n",
        (double)st.runaway_onset_s, (double)(1e3 * st.runaway_r_m), (double)st.runaway_theta_rad,
        (double)(1e3 * st.runaway_z_m), (double)st.runaway_peak_K));
  else if (h->rp.abuse)
    PetscCall(TCPrintf(comm, "  no runaway (peak %.2f K)\n", (double)st.runaway_peak_K));
  {
    char eb[64] = "n/a (isothermal)";
    if (!isnan(st.energy_balance)) snprintf(eb, sizeof(eb), "%.2e", (double)st.energy_balance);
    PetscCall(TCPrintf(comm, "  balance (relative): charge %.2e, energy %s; %.2f s stepping\n",
                       (double)st.charge_balance_max, eb, (double)(t2 - t1)));
  }

  /* outputs */
  desc.deck_path    = deck_path;
  desc.model        = TCCellModels[model];
  desc.params       = h->p.source;
  desc.experiment   = expt;
  desc.p            = &h->p;
  desc.rp           = &h->rp;
  desc.micro        = &micro;
  desc.sum          = &sum;
  desc.t_setup_s    = t1 - t0;
  desc.t_stepping_s = t2 - t1;
  PetscCall(TCRollOutputWrite(h->run.out, outdir, &desc));
  {
    /* a traced volume's network, summary and PNG beside the results */
    TCRunMeta   meta;
    const char *decktext;
    PetscCall(TCDeckGetText(deck, &decktext));
    meta.command   = "run";
    meta.deck_path = deck_path;
    meta.deck_text = decktext;
    meta.options   = h->config;
    PetscCall(TCRollGeomWriteFiles(h->geom, outdir, &meta));
  }
  PetscCall(PetscTime(&t3));
  PetscCall(TCPrintf(comm,
                     "  wrote %s/results.h5, results.xmf, results_series.xmf, summary.json, "
                     "summary.csv (%.2f s total)\n",
                     outdir, (double)(t3 - t0)));
  if (h->run.rc.nckpt)
    PetscCall(TCPrintf(comm, "  %d checkpoint(s) written, %.0f bytes each, %.3f s per write\n",
                       (int)h->run.rc.nckpt, h->run.rc.ckpt_bytes,
                       h->run.rc.ckpt_wall / h->run.rc.nckpt));
  /* complete: its checkpoint is stale now */
  if (h->run.rc.nckpt || restarting) PetscCall(TCRunControlRemoveCheckpoint(comm, &h->run.rc));
cleanup:
  PetscCall(PetscFree(h->config));
  PetscCall(TCRollOutputDestroy(&h->run.out));
  PetscCall(PetscFree(h->state));
  PetscCall(TCRollDestroy(&h->roll));
  PetscCall(TCCellDestroy(&h->cell));
  PetscCall(TCCellParamsDestroy(&h->p));
  PetscCall(TCExperimentDestroy(&h->exp));
  PetscCall(TCRollParamsReset(&h->rp));
  PetscCall(TCRollGeomDestroy(&h->geom));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRunRoll(TCDeck deck, const char deck_path[], const char outdir[])
{
  RollHeld       h;
  PetscErrorCode ierr;

  /* not PetscCall: the error was reported where it arose; free, then pass it on */
  PetscMemzero(&h, sizeof(h));
  ierr = RollBody(deck, deck_path, outdir, &h);
  (void)PetscFree(h.config);
  (void)TCRollOutputDestroy(&h.run.out);
  (void)PetscFree(h.state);
  (void)TCRollDestroy(&h.roll);
  (void)TCCellDestroy(&h.cell);
  (void)TCCellParamsDestroy(&h.p);
  (void)TCExperimentDestroy(&h.exp);
  (void)TCRollParamsReset(&h.rp);
  (void)TCRollGeomDestroy(&h.geom);
  return ierr;
}
