/*
 * src/runctl (run control of tomocell cell and tomocell run) at any rank
 * count: checkpoints every N steps and after M minutes, never twice at one
 * step; -checkpoint_test_stop_after on rank 0 only and a real SIGUSR1 on the
 * last rank only stop every rank at the same step; the signal's name; the
 * handlers are put back; the write bookkeeping and exit status 3.
 */
#include "src/runctl.h"
#include "src/tc.h"
#include <stdio.h>
#include <string.h>

#define CHECK(cond, ...) PetscCheck(cond, PETSC_COMM_WORLD, PETSC_ERR_PLIB, __VA_ARGS__)

/* one step: AfterStep, and the checkpoint it asks for (an empty file) */
static PetscErrorCode Step(TCRunControl *rc, PetscInt64 nsteps, PetscBool *ckpt, PetscBool *stop)
{
  PetscFunctionBeginUser;
  PetscCall(TCRunControlAfterStep(PETSC_COMM_WORLD, rc, nsteps, ckpt, stop));
  if (*ckpt) {
    PetscMPIInt rank;
    PetscCall(TCRunControlCheckpointBegin(rc));
    PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
    if (rank == 0) {
      FILE *fp = fopen(rc->path, "wb");
      CHECK(fp && fputs("0123456789", fp) >= 0 && fclose(fp) == 0, "cannot write %s", rc->path);
    }
    PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
    PetscCall(TCRunControlCheckpointEnd(rc, nsteps));
  }
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  TCRunControl     rc;
  PetscMPIInt      rank, size;
  PetscBool        ckpt, stop;
  struct sigaction term0, usr10, now;
  char             dir[PETSC_MAX_PATH_LEN] = ".", path[PETSC_MAX_PATH_LEN];

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(TCInitialize());
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-dir", dir, sizeof(dir), NULL));
  CHECK((size_t)snprintf(path, sizeof(path), "%s/runctl-test-%d.h5", dir, (int)size) < sizeof(path),
        "-dir too long");

  /* -checkpoint_every 3: at steps 3 and 6 of a run restarted at step 1 */
  PetscCall(PetscOptionsSetValue(NULL, "-checkpoint_every", "3"));
  PetscCall(TCRunControlSetFromOptions(&rc));
  CHECK(rc.every == 3 && rc.minutes == 0 && rc.stop_after == 0 && rc.ckpt_step == -1 &&
            rc.nckpt == 0,
        "options not read as given");
  PetscCall(PetscStrncpy(rc.path, path, sizeof(rc.path)));
  PetscCall(TCRunControlInstall(PETSC_COMM_WORLD, &rc));
  CHECK(rc.t_ckpt == rc.t_start && rc.t_start > 0, "Install: clocks not started");
  for (PetscInt64 n = 2; n <= 7; n++) {
    PetscCall(Step(&rc, n, &ckpt, &stop));
    CHECK(ckpt == (n % 3 == 0) && !stop, "step %d: checkpoint %d stop %d", (int)n, (int)ckpt,
          (int)stop);
  }
  CHECK(rc.nhere == 6 && rc.nckpt == 2 && rc.ckpt_step == 6 && rc.ckpt_bytes == 10 &&
            rc.ckpt_wall >= 0 && rc.t_ckpt >= rc.t_start,
        "bookkeeping: nhere %d nckpt %d ckpt_step %d bytes %g", (int)rc.nhere, (int)rc.nckpt,
        (int)rc.ckpt_step, rc.ckpt_bytes);
  /* the same step count again (a stop right after a periodic checkpoint): not twice */
  PetscCall(Step(&rc, 6, &ckpt, &stop));
  CHECK(!ckpt && rc.nckpt == 2, "a second checkpoint at one step");
  PetscCall(TCRunControlRestore(&rc));

  /* -checkpoint_minutes: due once the time since the last checkpoint is over */
  PetscCall(PetscOptionsClearValue(NULL, "-checkpoint_every"));
  PetscCall(PetscOptionsSetValue(NULL, "-checkpoint_minutes", "1e-9"));
  PetscCall(TCRunControlSetFromOptions(&rc));
  PetscCall(PetscStrncpy(rc.path, path, sizeof(rc.path)));
  PetscCall(TCRunControlInstall(PETSC_COMM_WORLD, &rc));
  PetscCall(PetscSleep(0.01));
  PetscCall(Step(&rc, 1, &ckpt, &stop));
  CHECK(ckpt && !stop && rc.nckpt == 1, "-checkpoint_minutes: no checkpoint");
  PetscCall(TCRunControlRestore(&rc));
  PetscCall(PetscOptionsClearValue(NULL, "-checkpoint_minutes"));

  /* -checkpoint_test_stop_after 4 on rank 0 only: every rank stops at its 4th step */
  if (rank == 0) PetscCall(PetscOptionsSetValue(NULL, "-checkpoint_test_stop_after", "4"));
  PetscCall(TCRunControlSetFromOptions(&rc));
  PetscCall(PetscStrncpy(rc.path, path, sizeof(rc.path)));
  PetscCall(TCRunControlInstall(PETSC_COMM_WORLD, &rc));
  for (PetscInt64 n = 1; n <= 4; n++) {
    PetscCall(Step(&rc, n, &ckpt, &stop));
    CHECK(ckpt == (n == 4) && stop == (n == 4), "stop_after: step %d checkpoint %d stop %d", (int)n,
          (int)ckpt, (int)stop);
  }
  PetscCall(TCRunControlRestore(&rc));
  CHECK(!strcmp(TCRunControlSignalName(), "request (-checkpoint_test_stop_after)"), "name %s",
        TCRunControlSignalName());
  PetscCall(PetscOptionsClearValue(NULL, "-checkpoint_test_stop_after"));

  /* a real SIGUSR1 on the last rank only: every rank checkpoints and stops
     at the next step; the name is the signal's there; the handlers go back */
  CHECK(sigaction(SIGTERM, NULL, &term0) == 0 && sigaction(SIGUSR1, NULL, &usr10) == 0,
        "sigaction query failed");
  PetscCall(TCRunControlSetFromOptions(&rc));
  PetscCall(PetscStrncpy(rc.path, path, sizeof(rc.path)));
  PetscCall(TCRunControlInstall(PETSC_COMM_WORLD, &rc));
  PetscCall(Step(&rc, 1, &ckpt, &stop));
  CHECK(!ckpt && !stop, "no signal yet, but checkpoint %d stop %d", (int)ckpt, (int)stop);
  if (rank == size - 1) CHECK(raise(SIGUSR1) == 0, "raise(SIGUSR1) failed");
  PetscCall(Step(&rc, 2, &ckpt, &stop));
  CHECK(ckpt && stop && rc.nckpt == 1 && rc.ckpt_step == 2, "SIGUSR1: checkpoint %d stop %d",
        (int)ckpt, (int)stop);
  PetscCall(TCRunControlRestore(&rc));
  if (rank == size - 1)
    CHECK(!strcmp(TCRunControlSignalName(), "SIGUSR1"), "name %s", TCRunControlSignalName());
  CHECK(sigaction(SIGUSR1, NULL, &now) == 0 && now.sa_handler == usr10.sa_handler &&
            sigaction(SIGTERM, NULL, &now) == 0 && now.sa_handler == term0.sa_handler,
        "the handlers were not put back");

  CHECK(TCGetExitStatus() == 0, "exit status set before a stop");
  PetscCall(TCRunControlReportStop(PETSC_COMM_WORLD, &rc, "test_runctl", 1.5, 2));
  CHECK(TCGetExitStatus() == TC_EXIT_CHECKPOINTED, "exit status %d", TCGetExitStatus());
  if (rank == 0) (void)remove(rc.path);
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "run control ok at %d rank(s)\n", (int)size));
  PetscCall(PetscFinalize());
  return 0;
}
