/*
 * Run control of the time-stepping commands (see runctl.h).
 */
#include "src/runctl.h"
#include "src/tc.h"
#include "io/output.h"
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* Set by SIGTERM/SIGUSR1 (or -checkpoint_test_stop_after, as -1); checked
   between steps, so every rank stops after the same step. */
static volatile sig_atomic_t tc_stop_signal;
/* After stepping (TCRunControlRestore) a signal is only noted: the results are
   complete and being written; the command ends normally (exit 0, a note). */
static volatile sig_atomic_t tc_after_steps, tc_late_signal;
static struct sigaction      tc_old_term, tc_old_usr1;
static int                   tc_installed, tc_signal_at_end;

static void TCRunControlOnSignal(int signo)
{
  if (tc_after_steps)
    tc_late_signal = signo;
  else
    tc_stop_signal = signo;
}

PetscErrorCode TCRunControlSetFromOptions(TCRunControl *rc)
{
  PetscInt k;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(rc, sizeof(*rc)));
  rc->ckpt_step = -1;
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-checkpoint_every", &rc->every, NULL));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-checkpoint_minutes", &rc->minutes, NULL));
  /* tests: stop as a signal would after this many steps; crash inside a write */
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-checkpoint_test_stop_after", &rc->stop_after, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-checkpoint_test_crash_at", &k, NULL));
  {
    /* tests: raise this signal right after stepping (a signal that arrives while the
       complete results are written) */
    char      sig[16];
    PetscBool set;
    PetscCall(PetscOptionsGetString(NULL, NULL, "-checkpoint_test_signal_at_end", sig, sizeof(sig),
                                    &set));
    tc_signal_at_end = 0;
    if (set) {
      PetscCheck(!strcmp(sig, "SIGTERM") || !strcmp(sig, "SIGUSR1"), PETSC_COMM_WORLD,
                 PETSC_ERR_USER_INPUT, "-checkpoint_test_signal_at_end: SIGTERM or SIGUSR1, not %s",
                 sig);
      tc_signal_at_end = !strcmp(sig, "SIGTERM") ? SIGTERM : SIGUSR1;
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCRunControlInstall(MPI_Comm comm, TCRunControl *rc)
{
  struct sigaction sa;

  PetscFunctionBeginUser;
  /* handlers only set a flag; the run checks it between steps */
  tc_stop_signal = 0;
  tc_after_steps = 0;
  tc_late_signal = 0;
  PetscCall(PetscMemzero(&sa, sizeof(sa)));
  sa.sa_handler = TCRunControlOnSignal;
  sigemptyset(&sa.sa_mask);
  if (!tc_installed) {
    PetscCheck(sigaction(SIGTERM, &sa, &tc_old_term) == 0 &&
                   sigaction(SIGUSR1, &sa, &tc_old_usr1) == 0,
               comm, PETSC_ERR_SYS, "sigaction: %s", strerror(errno));
    tc_installed = 1;
  }
  rc->old_term = tc_old_term;
  rc->old_usr1 = tc_old_usr1;
  PetscCall(PetscTime(&rc->t_start));
  rc->t_ckpt = rc->t_start;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRunControlRestore(TCRunControl *rc)
{
  PetscFunctionBeginUser;
  (void)rc;
  tc_after_steps = 1;
  if (tc_signal_at_end) raise(tc_signal_at_end);
  PetscFunctionReturn(0);
}

PetscErrorCode TCRunControlFinish(MPI_Comm comm, PetscBool succeeded, PetscBool restore)
{
  int late = tc_late_signal, any = 0;

  PetscFunctionBeginUser;
  if (succeeded) {
    PetscCallMPI(MPI_Allreduce(&late, &any, 1, MPI_INT, MPI_MAX, comm));
    if (any)
      PetscCall(TCPrintf(comm,
                         "tomocell: note: %s arrived after the last step, while the results were "
                         "written; they are complete (exit status %d, no checkpoint needed)\n",
                         any == SIGTERM ? "SIGTERM" : "SIGUSR1", TCGetExitStatus()));
  }
  if (restore && tc_installed) {
    sigaction(SIGTERM, &tc_old_term, NULL);
    sigaction(SIGUSR1, &tc_old_usr1, NULL);
    tc_installed = 0;
  }
  tc_after_steps = tc_late_signal = tc_stop_signal = 0;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRunControlAfterStep(MPI_Comm comm, TCRunControl *rc, PetscInt64 nsteps,
                                     PetscBool *checkpoint, PetscBool *stop)
{
  PetscLogDouble now;
  int            flags[2], any[2], due;

  PetscFunctionBeginUser;
  rc->nhere++;
  if (rc->stop_after > 0 && rc->nhere >= rc->stop_after) tc_stop_signal = -1;
  PetscCall(PetscTime(&now));
  flags[0] = tc_stop_signal ? 1 : 0;
  flags[1] = rc->minutes > 0 && now - rc->t_ckpt >= 60 * rc->minutes;
  PetscCallMPI(MPI_Allreduce(flags, any, 2, MPI_INT, MPI_MAX, comm));
  due = any[0] || any[1] || (rc->every > 0 && nsteps % rc->every == 0);
  /* not twice at one step (a stop right after a periodic checkpoint) */
  *checkpoint = due && rc->ckpt_step != nsteps ? PETSC_TRUE : PETSC_FALSE;
  *stop       = any[0] ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRunControlCheckpointBegin(TCRunControl *rc)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TC_EVENT_Checkpoint, 0, 0, 0, 0));
  PetscCall(PetscTime(&rc->t_write));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRunControlCheckpointEnd(TCRunControl *rc, PetscInt64 nsteps)
{
  PetscLogDouble t1;
  struct stat    st;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t1));
  PetscCall(PetscLogEventEnd(TC_EVENT_Checkpoint, 0, 0, 0, 0));
  rc->t_ckpt    = t1;
  rc->ckpt_step = nsteps;
  rc->nckpt++;
  rc->ckpt_wall += t1 - rc->t_write;
  rc->ckpt_bytes = stat(rc->path, &st) == 0 ? (double)st.st_size : 0;
  PetscFunctionReturn(0);
}

const char *TCRunControlSignalName(void)
{
  return tc_stop_signal == SIGTERM   ? "SIGTERM"
         : tc_stop_signal == SIGUSR1 ? "SIGUSR1"
                                     : "request (-checkpoint_test_stop_after)";
}

PetscErrorCode TCRunControlReportStop(MPI_Comm comm, const TCRunControl *rc, const char cmd[],
                                      PetscReal t_end_s, PetscInt nsteps)
{
  PetscFunctionBeginUser;
  PetscCall(TCPrintf(comm,
                     "%s: stopped by %s at t = %.2f s after %d steps; checkpoint %s written "
                     "(%.0f bytes, %.3f s); continue with the same command and -restart %s "
                     "(exit status %d)\n",
                     cmd, TCRunControlSignalName(), (double)t_end_s, (int)nsteps, rc->path,
                     rc->ckpt_bytes, rc->nckpt ? rc->ckpt_wall / rc->nckpt : 0.0, rc->path,
                     TC_EXIT_CHECKPOINTED));
  TCSetExitStatus(TC_EXIT_CHECKPOINTED);
  PetscFunctionReturn(0);
}

PetscErrorCode TCRunControlRemoveCheckpoint(MPI_Comm comm, const TCRunControl *rc)
{
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0 && rc->path[0]) {
    /* with any temporary a killed writer left (checkpoint.h5.tmp-<pid>) */
    char        dir[PETSC_MAX_PATH_LEN], tmpname[PETSC_MAX_PATH_LEN + 8];
    const char *base  = strrchr(rc->path, '/');
    DIR        *dp;
    size_t      ltmp;
    if (base) {
      PetscCall(PetscStrncpy(dir, rc->path, PetscMin(sizeof(dir), (size_t)(base - rc->path) + 1)));
      if (!dir[0]) PetscCall(PetscStrncpy(dir, "/", sizeof(dir)));
      base++;
    } else {
      PetscCall(PetscStrncpy(dir, ".", sizeof(dir)));
      base = rc->path;
    }
    snprintf(tmpname, sizeof(tmpname), "%s.tmp-", base);
    ltmp = strlen(tmpname);
    (void)remove(rc->path);
    dp = opendir(dir);
    for (struct dirent *e; dp && (e = readdir(dp));) {
      char path[PETSC_MAX_PATH_LEN];
      if (strncmp(e->d_name, tmpname, ltmp)) continue;
      if (TCPathJoin(dir, e->d_name, path, sizeof(path)) == 0) (void)remove(path);
    }
    if (dp) closedir(dp);
  }
  PetscFunctionReturn(0);
}
