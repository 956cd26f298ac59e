/*
 * Experiments for one cell, PyBaMM style. An experiment is a list of steps
 * separated by ';' (or given one by one, e.g. from a YAML list); each step
 * is one of
 *
 *   Discharge|Charge at <x>C|C/<n>|<x> A|mA|<x> W|mW|kW|<x> Ohm|mOhm
 *                 [for <n> <unit>] [or] [until <v> V [or <n> <unit>]]
 *   Rest for <n> <unit>
 *   Hold at <v> V [for <n> <unit>] [or] [until <x>C|C/<n>|<x> A|mA [or <n> <unit>]]
 *   Run <name> (A)|(W)|(V) [for <n> <unit>]       (a drive cycle, see below)
 *
 * each optionally followed by "at <T>oC" (or "<T> oC", "<T> K": the ambient
 * temperature of that step; steps without one use the run's), "(<n> <unit>
 * period)" (the output interval of that step) and a full stop. Units of
 * time: s, sec, second(s), min, minute(s), h, hour(s), day(s); words are
 * case-insensitive. As in PyBaMM, every step in the list is one cycle, and
 * "[step; step; ...]" groups steps into one cycle (PyBaMM's tuple), which
 * "[...] * N" repeats N times (PyBaMM's [(...)] * N).
 *
 * A drive cycle is a table of time (s, from 0, increasing) and current (A,
 * discharge positive), power (W) or voltage (V), registered by name
 * (TCExperimentAddDriveCycle) before the step that runs it is added. It is
 * interpolated linearly in time, lasts its last time unless a duration is
 * given, and repeats (with one more sample interval between the last and
 * the first row) when the duration is longer, as PyBaMM's drive cycles do.
 *
 * A malformed step is an error that quotes the step and points at the
 * position with a caret.
 *
 * TCExperimentRun drives a TCCell through the steps with adaptive backward
 * Euler steps (local error estimated against linear extrapolation of the
 * voltage, or of the current in a hold), lands exactly on voltage and
 * current cut-offs (regula falsi on the step size), and optionally couples
 * a lumped thermal model (PyBaMM's "lumped" option: the volumetric heat of
 * the electrode stack fills the cell volume, rho c_p dT/dt = q - h A/V (T -
 * T_amb)), iterated with the electrochemistry in every step. Every step
 * that draws a current (not a rest or hold) also ends at the set's voltage
 * limits ("Lower/Upper voltage cut-off [V]"): a step that reaches one
 * before its own end stops there and the experiment stops with it, as
 * PyBaMM stops an experiment when a voltage event ends a step (the run
 * succeeds; the summary says which step ended it).
 */
#pragma once
#include "solver/cellmodel.h"
#include "io/checkpoint.h"

typedef struct _p_TCExperiment *TCExperiment;

PETSC_EXTERN PetscErrorCode TCExperimentCreate(TCExperiment *exp);
PETSC_EXTERN PetscErrorCode TCExperimentDestroy(TCExperiment *exp);
/* Parse text with one or more steps separated by ';' and append them. */
PETSC_EXTERN PetscErrorCode TCExperimentAdd(TCExperiment exp, const char text[]);
PETSC_EXTERN PetscErrorCode TCExperimentGetNumSteps(TCExperiment exp, PetscInt *n);
/* Step i's text as parsed (borrowed) and its duration in s (< 0: ends on a
   cut-off only), for progress reports. */
PETSC_EXTERN PetscErrorCode TCExperimentGetStep(TCExperiment exp, PetscInt i, const char **text,
                                                PetscReal *duration_s);
/* The number of cycles (see above) and step i's cycle (0-based). */
PETSC_EXTERN PetscErrorCode TCExperimentGetNumCycles(TCExperiment exp, PetscInt *n);
PETSC_EXTERN PetscErrorCode TCExperimentGetStepCycle(TCExperiment exp, PetscInt i, PetscInt *cycle);
/* A drive cycle by name (case-insensitive) for "Run <name> (A|W|V)" steps:
   n >= 2 rows, t from 0 strictly increasing, finite values (copied). */
PETSC_EXTERN PetscErrorCode TCExperimentAddDriveCycle(TCExperiment exp, const char name[],
                                                      PetscInt n, const PetscReal t[],
                                                      const PetscReal y[]);
/* Read a drive cycle from a CSV file of two columns, time in s and the
   value (a header line and '#' comments allowed) and add it as name. Errors
   name the file and line. */
PETSC_EXTERN PetscErrorCode TCExperimentLoadDriveCycle(TCExperiment exp, const char name[],
                                                       const char path[]);
/* The parsed steps as JSON, one object per line (kind as PyBaMM's step
   classes: "current", "C-rate", "power", "resistance", "voltage"; the
   value signed as PyBaMM's, discharge positive; unit; duration_s or null;
   termination list; temperature_K or null; period_s or null; cycle from 1;
   drive cycle name or null). */
PETSC_EXTERN PetscErrorCode TCExperimentWriteSteps(TCExperiment exp, FILE *fp);

typedef struct {
  PetscBool lumped;     /* lumped thermal model, else isothermal at T_amb */
  PetscReal T_amb_K;    /* ambient temperature */
  PetscReal T_init_K;   /* initial temperature (<= 0: the ambient) */
  PetscReal dt_max_s;   /* largest step */
  PetscReal dt_init_s;  /* first step of each experiment step */
  PetscReal tol_V;      /* local error tolerance on the voltage per step */
  PetscReal dt_fixed_s; /* > 0: fixed steps (convergence studies), no error control */
} TCExperimentOptions;

typedef struct {
  PetscReal t_s, T_K, soc;
  PetscInt  step;   /* experiment step index */
  PetscInt  cycle;  /* its cycle (0-based) */
  PetscBool record; /* PETSC_FALSE: between the output times of a step with a period */
} TCExperimentPoint;

typedef struct {
  PetscReal capacity_Ah;               /* net integral of I dt, discharge positive */
  PetscReal discharged_Ah, charged_Ah; /* integrals of the positive and negative parts */
  PetscReal energy_Wh;                 /* net integral of I V dt (discharge positive) */
  PetscReal discharge_energy_Wh;       /* integral of I V dt where I > 0 (delivered) */
  PetscReal charge_energy_Wh;          /* integral of |I| V dt where I < 0 (taken in) */
  PetscReal T_max_K;
  PetscReal anode_min_V;   /* minimum anode potential vs Li (interface) */
  PetscReal anode_min_x_V; /* minimum over x (DFN) */
  PetscReal time_below_0V_s;
  PetscReal t_end_s;
  PetscInt  nsteps, nrejected, newton_its;
  PetscReal heat_J; /* integral of the heat */
  /* set when the run ends (not checkpointed: no run continues after it) */
  PetscInt  steps_run, cycles_run; /* experiment steps and cycles begun */
  PetscBool limit_stop;            /* a voltage limit of the set ended the experiment */
  PetscInt  limit_step;            /* in this step (0-based) */
  PetscReal limit_V;               /* at this limit, V */
} TCExperimentSummary;

/* Called after every accepted step (and at the start of each experiment
   step); return nonzero error to stop. */
typedef PetscErrorCode (*TCExperimentMonitor)(const TCExperimentPoint *pt, const TCCellResult *res,
                                              void *ctx);

/* Where a run stands after an accepted step: every variable the stepping
   depends on, so that a run continued from it (TCExperimentRunFrom) takes
   bit-for-bit the same steps as one that never stopped. That includes the
   step-size controller's history (dt, dt_prev, y_prev, y_prev2, nacc) and
   the last accepted result (time below 0 V interpolates from it). Plain
   reals and integers, for checkpoints. */
typedef struct {
  PetscInt            step;    /* experiment step to continue in (or to start) */
  PetscBool           started; /* PETSC_FALSE: step has not begun (start it afresh) */
  PetscReal           t_s, T_K;
  PetscReal           ts_s;            /* time since the start of the step */
  PetscReal           dt_s, dt_prev_s; /* next trial step; last accepted step */
  PetscReal           y_prev, y_prev2; /* V (I in a hold) at the last two accepted points */
  PetscInt            nacc;            /* accepted steps within the step */
  TCCellResult        last_ok;         /* result of the last accepted step */
  TCExperimentSummary sum;             /* accumulated so far */
} TCExperimentCursor;

/* Called after every accepted step except the run's very last one, after
   the monitor, with the cursor and the committed state; set *stop to end the
   run there (TCExperimentRunFrom then returns with *stopped set). */
typedef PetscErrorCode (*TCExperimentHook)(const TCExperimentCursor *cur, const PetscReal state[],
                                           void *ctx, PetscBool *stop);

/* Run from state (overwritten with the final state). Errors (user input):
   a cut-off that cannot be reached (wrong side at the start, or the
   electrode runs out of lithium first). */
PETSC_EXTERN PetscErrorCode TCExperimentRun(TCExperiment exp, TCCell cell, const TCCellParams *p,
                                            const TCExperimentOptions *opt, PetscReal state[],
                                            TCExperimentMonitor mon, void *ctx,
                                            TCExperimentSummary *sum);
/* TCExperimentRun, optionally continued from a cursor (from != NULL: state
   must be the state saved with it) and with a hook after each accepted step
   (may be NULL). *stopped tells whether the hook ended the run early; sum
   then holds the partial summary. */
PETSC_EXTERN PetscErrorCode TCExperimentRunFrom(
    TCExperiment exp, TCCell cell, const TCCellParams *p, const TCExperimentOptions *opt,
    const TCExperimentCursor *from, PetscReal state[], TCExperimentMonitor mon, void *ctx,
    TCExperimentHook hook, void *hctx, TCExperimentSummary *sum, PetscBool *stopped);

/* Any system the driver can step: one cell (what TCExperimentRunFrom
   builds) or a network of cells (solver/roll.h). step takes dt_s (0: a
   consistent start under a new control) from the committed state at
   temperature T_K (the system's own summary temperature, returned in
   *T_new_K) into trial, and fills the result (terminal I and V, heat,
   anode potential; for a network the extreme over its elements). It may be
   collective: then every rank must return the same converged flag and
   result, so that every rank takes the same steps. soc is the state's SOC
   (also collective for a network). comm: the ranks step is collective on
   (PETSC_COMM_SELF for one cell); the driver's errors about the experiment
   are raised on it, one message for all of them. */
typedef struct {
  MPI_Comm  comm;
  void     *ctx;
  PetscInt  nstate; /* reals of a state on this rank */
  PetscReal I1C_A;  /* current at 1C, A */
  PetscErrorCode (*step)(void *ctx, const PetscReal state[], TCCellControl ctl, PetscReal value,
                         PetscReal T_K, PetscReal dt_s, PetscReal trial[], TCCellResult *res,
                         PetscReal *T_new_K, PetscBool *converged);
  PetscReal (*soc)(void *ctx, const PetscReal state[]);
  /* Optional (NULL: per-step temperatures are refused): the ambient
     temperature of the next step (given: from the step, else the run's);
     may set *T_K, the system's temperature (an isothermal system follows
     the step's temperature). */
  PetscErrorCode (*set_ambient)(void *ctx, PetscReal T_amb_K, PetscBool given, PetscReal *T_K);
  PetscBool resistance; /* supports TC_CELL_RESISTANCE (else such steps are refused) */
  PetscReal V_lo, V_hi; /* voltage limits ending a step (V_hi <= V_lo: none) */
} TCExperimentSystem;

/* TCExperimentRunFrom for any system (opt->lumped is the system's business). */
PETSC_EXTERN PetscErrorCode TCExperimentRunSystem(TCExperiment exp, const TCExperimentSystem *sys,
                                                  const TCExperimentOptions *opt,
                                                  const TCExperimentCursor *from, PetscReal state[],
                                                  TCExperimentMonitor mon, void *ctx,
                                                  TCExperimentHook hook, void *hctx,
                                                  TCExperimentSummary *sum, PetscBool *stopped);

/* Every field of a cursor as checkpoint scalars (names as in tomocell
   cell's checkpoints), and back. Collective on the checkpoint. */
PETSC_EXTERN PetscErrorCode TCExperimentCursorSave(TCCheckpoint ck, const TCExperimentCursor *cur);
PETSC_EXTERN PetscErrorCode TCExperimentCursorLoad(TCCheckpoint ck, TCExperimentCursor *cur);
