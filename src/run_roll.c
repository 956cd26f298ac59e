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

PetscErrorCode TCRunRoll(TCDeck deck, const char deck_path[], const char outdir[])
{
  MPI_Comm             comm = PETSC_COMM_WORLD;
  TCRollGeom           geom;
  const TCRollGeomInfo *gi;
  TCRollNet            net;
  const TCRollNetParams *np;
  TCRollParams         rp;
  TCCellParams         p;
  TCCellMicrostructure micro;
  TCCell               cell;
  TCRoll               roll;
  TCExperiment         exp;
  TCExperimentOptions  opt;
  TCExperimentSystem   sys;
  TCExperimentSummary  sum;
  TCExperimentCursor   cur;
  TCRollStats          st;
  TCRollFindings       fnd;
  TCRollRunDesc        desc;
  RollRun              run;
  PetscReal            soc = -1, *state, total_s = 0;
  PetscInt             model, grid[5], nexp;
  PetscBool              set, stopped, restarting, soc_set, soc_volt = PETSC_FALSE;
  char                   soc_text[256];
  char                 params[PETSC_MAX_PATH_LEN], expt[4096];
  char                 restart[PETSC_MAX_PATH_LEN] = "", *config = NULL;
  PetscLogDouble       t0, t1, t2, t3;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  PetscCall(PetscMemzero(&run, sizeof(run)));
  PetscCall(PetscMemzero(&opt, sizeof(opt)));
  run.comm = comm;
  /* run control: command-line options, not deck keys (they do not change the results) */
  PetscCall(PetscOptionsGetString(NULL, NULL, "-restart", restart, sizeof(restart), &restarting));
  PetscCheck(!restarting || restart[0], comm, PETSC_ERR_USER_INPUT,
             "-restart needs the checkpoint file, e.g. -restart output/demo/checkpoint.h5");
  PetscCall(TCRunControlSetFromOptions(&run.rc));
  PetscCheck(run.rc.every >= 0 && run.rc.minutes >= 0, comm, PETSC_ERR_USER_INPUT,
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
  PetscCall(TCRollGeomCreate(comm, &geom));
  PetscCall(TCRollGeomSetFromDeck(geom, deck));
  PetscCall(TCCellParamsLoad(params, &p));
  PetscCall(TCCellParamsApplyDeck(deck, &p, &micro));
  PetscCall(TCRollParamsFromDeck(deck, &p, &rp));
  if (soc_set)
    PetscCall(TCCellParamsParseSOC(&p, "initial_soc", soc_text, rp.T_init_K, &soc, &soc_volt));
  if (!set) /* the default discharge ends at the set's own lower cut-off */
    snprintf(expt, sizeof(expt), "Discharge at 1C until %.6g V", (double)p.V_min);
  for (char *c = expt; *c; c++) /* a YAML list arrives comma-joined */
    if (*c == ',') *c = ';';
  PetscCall(TCExperimentCreate(&exp));
  PetscCall(TCExperimentAdd(exp, expt));
  PetscCall(TCExperimentGetNumSteps(exp, &nexp));
  for (PetscInt s = 0; s < nexp; s++) {
    PetscReal d;
    PetscCall(TCExperimentGetStep(exp, s, NULL, &d));
    total_s = (d > 0 && total_s >= 0) ? total_s + d : -1;
  }
  if (total_s < 0) total_s = 3600; /* a cut-off ends it: about an hour at 1C */
  opt.lumped    = PETSC_FALSE;
  opt.T_amb_K   = rp.T_amb_K;
  opt.T_init_K  = rp.T_init_K;
  opt.dt_init_s = 1.0;

  /* the network (checked against the set), the elements, the solver */
  PetscCall(TCRollGeomSetUp(geom, &p, model == 0 ? 2 : model == 1 ? 10 : 100));
  PetscCall(TCRollGeomGetInfo(geom, &gi));
  PetscCall(TCRollGeomGetNetwork(geom, &net));
  PetscCall(TCRollNetGetParams(net, &np));
  PetscCall(TCRollParamsSetGeometry(comm, &rp, gi, np));
  PetscCall(TCCellCreate(PETSC_COMM_SELF, &cell));
  PetscCall(TCCellSetParams(cell, &p));
  PetscCall(TCCellSetModel(cell, (TCCellModel)model));
  PetscCall(TCCellSetGrid(cell, grid[0], grid[1], grid[2], grid[3], grid[4]));
  PetscCall(TCCellSetTolerances(cell, 1e-12, 30)); /* below the network's charge balance */
  PetscCall(TCCellSetFromOptions(cell));
  PetscCall(TCCellSetUp(cell));
  PetscCall(TCRollCreate(net, cell, &p, &rp, &roll));
  PetscCall(TCRollSetFromOptions(roll));
  PetscCall(TCRollGetSystem(roll, &sys));
  PetscCall(TCRollGeomView(geom));
  PetscCall(TCPrintf(comm,
                     "  roll: %.2f turns, %" PetscInt_FMT " + %" PetscInt_FMT
                     " foil nodes x %" PetscInt_FMT " layers, %" PetscInt_FMT
                     " %s elements, 1C = %.3f A; %s\n",
                     (double)gi->turns[1], gi->ns[0], gi->ns[1], gi->layers, gi->elements,
                     TCCellModels[model], (double)sys.I1C_A,
                     rp.thermal ? "thermal network" : "isothermal"));
  PetscCall(PetscMalloc1(PetscMax(sys.nstate, 1), &state));
  PetscCall(TCRollStateInit(roll, soc, state));
  PetscCall(TCPrintf(comm, "  experiment: %s\n", expt));
  if (soc_volt)
    PetscCall(TCPrintf(
        comm, "  initial_soc \"%s\": SOC %.6f (open-circuit voltage %.5f V at %.2f K)\n", soc_text,
        (double)soc, (double)TCCellParamsOCVAtSOC(&p, soc, rp.T_init_K), (double)rp.T_init_K));

  /* the outputs' monitor; a restart is checked completely before any output is touched */
  PetscCall(TCRollOutputCreate(roll, geom, deck, state, &run.out));
  PetscCall(TCRollOutputSetFromDeck(run.out));
  run.nstate = sys.nstate;
  PetscCall(TCDeckGetEffective(deck, &config));
  run.config = config;
  if (restarting) {
    PetscCall(RollCheckpointRead(&run, restart, &cur, state));
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
  PetscCall(TCPathJoin(outdir, "checkpoint.h5", run.rc.path, sizeof(run.rc.path)));
  PetscCall(TCRunControlInstall(comm, &run.rc));
  PetscCall(TCRollOutputSetProgress(run.out, nexp, total_s, run.rc.t_start));
  PetscCall(PetscTime(&t1));
  PetscCall(TCExperimentRunSystem(exp, &sys, &opt, restarting ? &cur : NULL, state,
                                  TCRollOutputMonitor, run.out, RollHook, &run, &sum, &stopped));
  PetscCall(PetscTime(&t2));
  PetscCall(TCRunControlRestore(&run.rc));
  if (stopped) {
    PetscCall(TCRunControlReportStop(comm, &run.rc, "tomocell run", sum.t_end_s, sum.nsteps));
    goto cleanup;
  }
  PetscCall(TCRollGetStats(roll, state, &st));
  PetscCall(TCRollOutputGetFindings(run.out, &fnd));
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
  else if (rp.abuse)
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
  desc.params       = p.source;
  desc.experiment   = expt;
  desc.p            = &p;
  desc.rp           = &rp;
  desc.micro        = &micro;
  desc.sum          = &sum;
  desc.t_setup_s    = t1 - t0;
  desc.t_stepping_s = t2 - t1;
  PetscCall(TCRollOutputWrite(run.out, outdir, &desc));
  {
    /* a traced volume's network, summary and PNG beside the results */
    TCRunMeta   meta;
    const char *decktext;
    PetscCall(TCDeckGetText(deck, &decktext));
    meta.command   = "run";
    meta.deck_path = deck_path;
    meta.deck_text = decktext;
    meta.options   = config;
    PetscCall(TCRollGeomWriteFiles(geom, outdir, &meta));
  }
  PetscCall(PetscTime(&t3));
  PetscCall(TCPrintf(comm,
                     "  wrote %s/results.h5, results.xmf, results_series.xmf, summary.json, "
                     "summary.csv (%.2f s total)\n",
                     outdir, (double)(t3 - t0)));
  if (run.rc.nckpt)
    PetscCall(TCPrintf(comm, "  %d checkpoint(s) written, %.0f bytes each, %.3f s per write\n",
                       (int)run.rc.nckpt, run.rc.ckpt_bytes, run.rc.ckpt_wall / run.rc.nckpt));
  /* complete: its checkpoint is stale now */
  if (run.rc.nckpt || restarting) PetscCall(TCRunControlRemoveCheckpoint(comm, &run.rc));
cleanup:
  PetscCall(PetscFree(config));
  PetscCall(TCRollOutputDestroy(&run.out));
  PetscCall(PetscFree(state));
  PetscCall(TCRollDestroy(&roll));
  PetscCall(TCCellDestroy(&cell));
  PetscCall(TCCellParamsDestroy(&p));
  PetscCall(TCExperimentDestroy(&exp));
  PetscCall(TCRollParamsReset(&rp));
  PetscCall(TCRollGeomDestroy(&geom));
  PetscFunctionReturn(0);
}
