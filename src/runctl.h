/*
 * Run control of the time-stepping commands (tomocell cell, tomocell run job
 * roll): when to write a checkpoint and when to stop.
 *
 * After every accepted step a run checkpoints every N steps
 * (-checkpoint_every), every M minutes of wall time (-checkpoint_minutes),
 * and when SIGTERM or SIGUSR1 arrived (Slurm's --signal before the time
 * limit); after the latter it stops, and the command exits with
 * TC_EXIT_CHECKPOINTED (3) so that the job can be resubmitted with -restart.
 * The signal handlers only set a process-wide flag; the flags are reduced
 * over the ranks after each step, so every rank checkpoints and stops at the
 * same step. The test option -checkpoint_test_stop_after K raises the flag as
 * a signal would after K steps of this process.
 *
 * Use:
 *
 *   TCRunControlSetFromOptions(&rc);           options; check rc.every, rc.minutes
 *   TCPathJoin(dir, "checkpoint.h5", rc.path, sizeof(rc.path));
 *   TCRunControlInstall(comm, &rc);            right before stepping
 *     per accepted step (the experiment's hook):
 *       TCRunControlAfterStep(comm, &rc, nsteps, &ckpt, stop);
 *       if (ckpt) { TCRunControlCheckpointBegin(&rc); ...write rc.path...;
 *                   TCRunControlCheckpointEnd(&rc, nsteps); }
 *   TCRunControlRestore(&rc);                  right after stepping
 *   if (stopped) TCRunControlReportStop(comm, &rc, "tomocell cell", t_end_s, nsteps);
 *   else if (restarted || rc.nckpt) TCRunControlRemoveCheckpoint(comm, &rc);   outputs complete
 *
 * One run at a time per process (the signal flag is process-wide).
 */
#pragma once
#include <petscsys.h>
#include <signal.h>

typedef struct {
  /* options (TCRunControlSetFromOptions) */
  PetscInt  every;      /* -checkpoint_every: checkpoint every N steps of the run (0: off) */
  PetscReal minutes;    /* -checkpoint_minutes: ... and every M minutes of wall time (0: off) */
  PetscInt  stop_after; /* -checkpoint_test_stop_after: tests; stop as a signal would after
                           this many steps of this process (0: off) */
  /* the checkpoint file, set by the caller (sizes and messages) */
  char path[PETSC_MAX_PATH_LEN];
  /* bookkeeping */
  PetscInt       nhere;      /* steps accepted in this process (a restart counts from 0) */
  PetscLogDouble t_start;    /* wall time at TCRunControlInstall */
  PetscLogDouble t_ckpt;     /* wall time of the last checkpoint written (else t_start) */
  PetscInt64     ckpt_step;  /* the run's step count at the last checkpoint written (-1: none) */
  PetscInt       nckpt;      /* checkpoints written by this process */
  double         ckpt_wall;  /* their total wall time, s */
  double         ckpt_bytes; /* size of the last one, bytes */
  /* private */
  PetscLogDouble   t_write; /* start of the write in progress */
  struct sigaction old_term, old_usr1;
} TCRunControl;

/* Zero rc (no checkpoint written yet) and read -checkpoint_every,
   -checkpoint_minutes and the test options -checkpoint_test_stop_after and
   -checkpoint_test_crash_at (read by io/checkpoint; queried here so that a
   deck does not call it unknown). The caller checks every >= 0 and
   minutes >= 0 (with its own message). Not collective. */
PETSC_EXTERN PetscErrorCode TCRunControlSetFromOptions(TCRunControl *rc);

/* Clear the stop flag, install the SIGTERM and SIGUSR1 handlers (keeping the
   previous ones in rc) and start the clocks: rc->t_start = rc->t_ckpt = now.
   Collective on comm only for the error. */
PETSC_EXTERN PetscErrorCode TCRunControlInstall(MPI_Comm comm, TCRunControl *rc);

/* Stepping is over: from now on SIGTERM and SIGUSR1 are only noted (the
   results are complete and being written: the command ends normally, and
   TCRunControlFinish() says so); the handlers stay until TCRunControlFinish().
   The test option -checkpoint_test_signal_at_end SIGTERM|SIGUSR1 raises that
   signal here. Not collective. */
PETSC_EXTERN PetscErrorCode TCRunControlRestore(TCRunControl *rc);
/* When a command has ended (main(); a sweep after each task it runs in its
   process): if it succeeded (collective on comm then), a note on stdout when a
   signal arrived after stepping; with restore, put back the handlers Install
   replaced (main() keeps them through MPI_Finalize, so that a late signal
   never kills a complete run). Safe without Install. */
PETSC_EXTERN PetscErrorCode TCRunControlFinish(MPI_Comm comm, PetscBool succeeded,
                                               PetscBool restore);

/* After an accepted step; nsteps is the run's step count (restarts
   included). Counts the step, applies -checkpoint_test_stop_after and
   reduces the stop flag and the minutes test over comm. *checkpoint: a
   checkpoint is due (a stop, the minutes, or nsteps a multiple of every)
   and none was written at this step yet; *stop: stop after it. The same on
   every rank. Collective on comm. */
PETSC_EXTERN PetscErrorCode TCRunControlAfterStep(MPI_Comm comm, TCRunControl *rc,
                                                  PetscInt64 nsteps, PetscBool *checkpoint,
                                                  PetscBool *stop);

/* Around the write of checkpoint rc->path at step nsteps: the
   TC_EVENT_Checkpoint log event, and the timing and size of the write
   (t_ckpt, ckpt_step, nckpt, ckpt_wall, ckpt_bytes). Not collective. */
PETSC_EXTERN PetscErrorCode TCRunControlCheckpointBegin(TCRunControl *rc);
PETSC_EXTERN PetscErrorCode TCRunControlCheckpointEnd(TCRunControl *rc, PetscInt64 nsteps);

/* What raised the stop flag: "SIGTERM", "SIGUSR1" or
   "request (-checkpoint_test_stop_after)" (also when no flag is set in this
   process: another rank's stopped the run). */
PETSC_EXTERN const char *TCRunControlSignalName(void);

/* For a run that stopped: print "<cmd>: stopped by <signal> at t = ... s
   after ... steps; checkpoint ... written (...); continue with the same
   command and -restart ... (exit status 3)" and set the exit status to
   TC_EXIT_CHECKPOINTED. Collective on comm (rank 0 prints). */
PETSC_EXTERN PetscErrorCode TCRunControlReportStop(MPI_Comm comm, const TCRunControl *rc,
                                                   const char cmd[], PetscReal t_end_s,
                                                   PetscInt nsteps);

/* A run that completed: remove its checkpoint rc->path (a restart from it
   would redo the end, and the outputs it refers to are final now) and any
   temporary a killed writer left beside it (<path>.tmp-<pid>). Call after
   the outputs are written. Collective on comm (rank 0 removes). */
PETSC_EXTERN PetscErrorCode TCRunControlRemoveCheckpoint(MPI_Comm comm, const TCRunControl *rc);
