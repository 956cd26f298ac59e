/*
 * Log events and the user-facing error handler (see tc.h).
 */
#include "src/tc.h"
#include <ctype.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

PetscClassId  TC_CLASSID;
PetscLogEvent TC_EVENT_DeckRead, TC_EVENT_Build, TC_EVENT_Partition, TC_EVENT_Distribute,
    TC_EVENT_Assemble, TC_EVENT_Solve, TC_EVENT_Write, TC_EVENT_Checkpoint, TC_EVENT_Elements;

static PetscBool tc_error_collective = PETSC_TRUE;
static PetscBool tc_initialized      = PETSC_FALSE;
static PetscBool tc_traceback        = PETSC_FALSE;

static PetscBool TCIsUserError(PetscErrorCode n)
{
  return (n == PETSC_ERR_USER_INPUT || n == PETSC_ERR_FILE_OPEN || n == PETSC_ERR_FILE_READ ||
          n == PETSC_ERR_FILE_WRITE || n == PETSC_ERR_FILE_UNEXPECTED)
             ? PETSC_TRUE
             : PETSC_FALSE;
}

static PetscErrorCode TCErrorHandler(MPI_Comm comm, int line, const char *fun, const char *file,
                                     PetscErrorCode n, PetscErrorType p, const char *mess,
                                     void *ctx)
{
  if (p == PETSC_ERROR_INITIAL) {
    int csize = 1, wsize = 1;
    if (comm != MPI_COMM_NULL) MPI_Comm_size(comm, &csize);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    tc_error_collective = (csize == wsize) ? PETSC_TRUE : PETSC_FALSE;
    /* option values are the same on every rank, so a bad one fails on every
       rank alike (PETSc reports it on PETSC_COMM_SELF): collective, one line */
    if (fun && !strncmp(fun, "PetscOptions", 12)) {
      int wrank = 0;
      MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
      tc_error_collective = PETSC_TRUE;
      if (wrank != 0) return n;
    }
  }
  /* PETSc's traceback only on request (developers); users get one line */
  if (tc_traceback) return PetscTraceBackErrorHandler(comm, line, fun, file, n, p, mess, ctx);
  if (p == PETSC_ERROR_INITIAL) {
    int crank = 0;
    if (comm != MPI_COMM_NULL) MPI_Comm_rank(comm, &crank);
    if (crank == 0) {
      if (TCIsUserError(n) || (n == PETSC_ERR_NOT_CONVERGED && mess && mess[0]))
        fprintf(stderr, "tomocell: error: %s\n", mess && mess[0] ? mess : "(no message)");
      else {
        /* a failure inside the solvers or libraries: what failed, PETSc's class of
           error, and where (out of memory, a solver that did not converge, a bad
           PETSc option value, an HDF5 call) */
        const char *text = NULL;
        char        what[512];
        PetscErrorMessage(n, &text, NULL);
        snprintf(what, sizeof(what), "%s%s%s", mess && mess[0] ? mess : "",
                 mess && mess[0] && text ? " -- " : "", text ? text : "");
        for (char *c = what; *c; c++)
          if (*c == '\n') *c = ' ';
        fprintf(stderr,
                "tomocell: error: %s (in %s(), %s:%d; %s; TOMOCELL_TRACEBACK=1 shows PETSc's "
                "traceback)\n",
                what[0] ? what : "internal error", fun ? fun : "?", file ? file : "?", line,
                n == PETSC_ERR_MEM ? "out of memory: use more nodes or a smaller problem"
                : n == PETSC_ERR_NOT_CONVERGED
                    ? "a solver did not converge: see the solver options in --help"
                : n == PETSC_ERR_LIB
                    ? "a library call failed: check free disk space, quota and permissions of "
                      "the output, and the input files"
                    : "check the PETSc options given (-ksp_..., -pc_...) and the inputs");
      }
      fflush(stderr);
    }
  }
  return n;
}

static int tc_exit_status;

void TCSetExitStatus(int status)
{
  tc_exit_status = status;
}

int TCGetExitStatus(void)
{
  return tc_exit_status;
}

PetscBool TCErrorWasCollective(void)
{
  return tc_error_collective;
}

PetscErrorCode TCInitialize(void)
{
  PetscFunctionBeginUser;
  if (tc_initialized) PetscFunctionReturn(0);
  tc_initialized = PETSC_TRUE;
  PetscCall(PetscClassIdRegister("tomocell", &TC_CLASSID));
  PetscCall(PetscLogEventRegister("TCDeckRead", TC_CLASSID, &TC_EVENT_DeckRead));
  PetscCall(PetscLogEventRegister("TCBuild", TC_CLASSID, &TC_EVENT_Build));
  PetscCall(PetscLogEventRegister("TCPartition", TC_CLASSID, &TC_EVENT_Partition));
  PetscCall(PetscLogEventRegister("TCDistribute", TC_CLASSID, &TC_EVENT_Distribute));
  PetscCall(PetscLogEventRegister("TCAssemble", TC_CLASSID, &TC_EVENT_Assemble));
  PetscCall(PetscLogEventRegister("TCSolve", TC_CLASSID, &TC_EVENT_Solve));
  PetscCall(PetscLogEventRegister("TCWrite", TC_CLASSID, &TC_EVENT_Write));
  PetscCall(PetscLogEventRegister("TCCheckpoint", TC_CLASSID, &TC_EVENT_Checkpoint));
  PetscCall(PetscLogEventRegister("TCElements", TC_CLASSID, &TC_EVENT_Elements));
  {
    const char *e = getenv("TOMOCELL_TRACEBACK");
    tc_traceback  = (PetscBool)(e && e[0] && strcmp(e, "0"));
  }
  PetscCall(PetscPushErrorHandler(TCErrorHandler, NULL));
  PetscFunctionReturn(0);
}

/* Levenshtein distance, case-insensitive, for short option names. */
static size_t TCEditDistance(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b), prev[128], cur[128];
  if (la >= 127 || lb >= 127) return (size_t)-1;
  for (size_t j = 0; j <= lb; j++) prev[j] = j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t sub =
          prev[j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
      size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
    }
    memcpy(prev, cur, (lb + 1) * sizeof(size_t));
  }
  return prev[lb];
}

const char *TCClosestName(const char *name, const char *const *candidates, PetscInt n)
{
  const char *best  = NULL;
  size_t      bestd = (size_t)-1;
  for (PetscInt i = 0; i < n; i++) {
    size_t d = TCEditDistance(name, candidates[i]);
    if (d < bestd) {
      bestd = d;
      best  = candidates[i];
    }
  }
  if (best && bestd <= PetscMax(2, strlen(best) / 3)) return best;
  return NULL;
}

PetscErrorCode TCPrintf(MPI_Comm comm, const char *fmt, ...)
{
  char    buf[4096];
  va_list ap;

  PetscFunctionBeginUser;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  PetscCall(PetscPrintf(comm, "%s", buf));
  PetscFunctionReturn(0);
}

PetscErrorCode TCCheckSize(MPI_Comm comm, const char what[], double count, double bytes,
                           const char hint[])
{
  double mem = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);

  PetscFunctionBeginUser;
  PetscCheck(count <= (double)PETSC_MAX_INT, comm, PETSC_ERR_USER_INPUT,
             "%s: %.4g elements exceed %d, the largest index of this build (%d-bit PetscInt), "
             "and would need %.1f GB; %s",
             what, count, (int)PETSC_MAX_INT, (int)(8 * sizeof(PetscInt)), bytes / 1e9, hint);
  PetscCheck(mem <= 0 || bytes <= mem, comm, PETSC_ERR_USER_INPUT,
             "%s would need %.1f GB of memory per rank, more than the %.1f GB of this machine; %s",
             what, bytes / 1e9, mem / 1e9, hint);
  PetscFunctionReturn(0);
}

PetscErrorCode TCPeakRSS(MPI_Comm comm, double *sum_bytes, double *max_bytes)
{
  struct rusage ru;
  double        b;

  PetscFunctionBeginUser;
  getrusage(RUSAGE_SELF, &ru);
  b = (double)ru.ru_maxrss * 1024.0;
  PetscCallMPI(MPI_Allreduce(&b, sum_bytes, 1, MPI_DOUBLE, MPI_SUM, comm));
  if (max_bytes) PetscCallMPI(MPI_Allreduce(&b, max_bytes, 1, MPI_DOUBLE, MPI_MAX, comm));
  PetscFunctionReturn(0);
}
