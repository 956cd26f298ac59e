/*
 * Output directories and atomic files (see output.h).
 */
#include "io/output.h"
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TC_MAX_PENDING 64

static char tc_pending[TC_MAX_PENDING][PETSC_MAX_PATH_LEN];
static int  tc_npending;
static char tc_created[TC_MAX_PENDING][PETSC_MAX_PATH_LEN];
static int  tc_ncreated;

static void TCRemember(char list[][PETSC_MAX_PATH_LEN], int *n, const char *path)
{
  if (*n < TC_MAX_PENDING) {
    snprintf(list[*n], PETSC_MAX_PATH_LEN, "%s", path);
    (*n)++;
  }
}

static void TCForget(const char *path)
{
  for (int i = 0; i < tc_npending; i++)
    if (!strcmp(tc_pending[i], path)) {
      memmove(tc_pending[i], tc_pending[i + 1], (size_t)(tc_npending - i - 1) * PETSC_MAX_PATH_LEN);
      tc_npending--;
      return;
    }
}

PetscErrorCode TCPathJoin(const char dir[], const char name[], char buf[], size_t len)
{
  int n;
  PetscFunctionBeginUser;
  n = snprintf(buf, len, "%s%s%s", dir, (dir[0] && dir[strlen(dir) - 1] != '/') ? "/" : "", name);
  PetscCheck(n >= 0 && (size_t)n < len, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "path %s/%s is longer than %zu characters", dir, name, len - 1);
  PetscFunctionReturn(0);
}

PetscErrorCode TCPathReplaceExt(const char path[], const char ext[], char buf[], size_t len)
{
  const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
  size_t      stem = (dot && dot > (slash ? slash : path)) ? (size_t)(dot - path) : strlen(path);
  int         n;

  PetscFunctionBeginUser;
  n = snprintf(buf, len, "%.*s%s", (int)stem, path, ext);
  PetscCheck(n >= 0 && (size_t)n < len, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "path %s with %s is longer than %zu characters", path, ext, len - 1);
  PetscFunctionReturn(0);
}

PetscErrorCode TCOutputPrepareFileDir(MPI_Comm comm, const char path[])
{
  char        dir[PETSC_MAX_PATH_LEN];
  const char *slash = strrchr(path, '/');

  PetscFunctionBeginUser;
  if (!slash)
    PetscCall(PetscStrncpy(dir, ".", sizeof(dir)));
  else if (slash == path)
    PetscCall(PetscStrncpy(dir, "/", sizeof(dir)));
  else {
    PetscCheck((size_t)(slash - path) < sizeof(dir), comm, PETSC_ERR_USER_INPUT,
               "path %s is too long", path);
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = 0;
  }
  PetscCall(TCOutputPrepareDir(comm, dir));
  PetscFunctionReturn(0);
}

/* mkdir -p, recording each directory created; returns errno or 0. */
static int TCMkdirP(const char *dir)
{
  char        buf[PETSC_MAX_PATH_LEN];
  struct stat st;
  size_t      len = strlen(dir);
  if (len == 0 || len >= sizeof(buf)) return ENAMETOOLONG;
  memcpy(buf, dir, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] == '/' || buf[i] == 0) {
      char c = buf[i];
      buf[i] = 0;
      if (stat(buf, &st) != 0) {
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return errno;
        TCRemember(tc_created, &tc_ncreated, buf);
      } else if (!S_ISDIR(st.st_mode))
        return ENOTDIR;
      buf[i] = c;
    }
  }
  return 0;
}

PetscErrorCode TCOutputPrepareDir(MPI_Comm comm, const char dir[])
{
  PetscMPIInt rank;
  int         err = 0;
  char        probe[PETSC_MAX_PATH_LEN];

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    err = TCMkdirP(dir);
    if (!err) {
      FILE *fp;
      snprintf(probe, sizeof(probe), "%s/.tomocell-probe-%d", dir, (int)getpid());
      fp = fopen(probe, "w");
      if (!fp)
        err = errno;
      else {
        fclose(fp);
        remove(probe);
      }
    }
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PetscCheck(!err, comm, PETSC_ERR_FILE_OPEN,
             "cannot write into output directory '%s': %s (set -output to a writable directory)",
             dir, strerror(err));
  PetscFunctionReturn(0);
}

PetscErrorCode TCOutputTempName(MPI_Comm comm, const char final[], char tmp[], size_t len)
{
  PetscMPIInt rank;
  int         pid = (int)getpid();

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Bcast(&pid, 1, MPI_INT, 0, comm));
  PetscCheck((size_t)snprintf(tmp, len, "%s.tmp-%d", final, pid) < len, comm, PETSC_ERR_USER_INPUT,
             "output path too long: %s", final);
  if (rank == 0) TCRemember(tc_pending, &tc_npending, tmp);
  PetscFunctionReturn(0);
}

PetscErrorCode TCOutputRegister(MPI_Comm comm, const char path[])
{
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) TCRemember(tc_pending, &tc_npending, path);
  PetscFunctionReturn(0);
}

PetscErrorCode TCOutputCommit(MPI_Comm comm, const char tmp[], const char final[])
{
  PetscMPIInt rank;
  int         err = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Barrier(comm));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    if (rename(tmp, final) != 0)
      err = errno;
    else
      TCForget(tmp);
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PetscCheck(!err, comm, PETSC_ERR_FILE_WRITE, "cannot rename %s to %s: %s", tmp, final,
             strerror(err));
  PetscFunctionReturn(0);
}

PetscErrorCode TCOutputFOpen(MPI_Comm comm, const char final[], FILE **fp)
{
  char        tmp[PETSC_MAX_PATH_LEN];
  PetscMPIInt rank;
  int         err = 0;

  PetscFunctionBeginUser;
  *fp = NULL;
  PetscCall(TCOutputTempName(comm, final, tmp, sizeof(tmp)));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    *fp = fopen(tmp, "w");
    if (!*fp) err = errno;
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PetscCheck(!err, comm, PETSC_ERR_FILE_OPEN, "cannot create %s: %s", tmp, strerror(err));
  PetscFunctionReturn(0);
}

PetscErrorCode TCOutputFClose(MPI_Comm comm, const char final[], FILE **fp)
{
  char        tmp[PETSC_MAX_PATH_LEN];
  PetscMPIInt rank;
  int         err = 0, pid = (int)getpid();

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Bcast(&pid, 1, MPI_INT, 0, comm));
  snprintf(tmp, sizeof(tmp), "%s.tmp-%d", final, pid);
  if (rank == 0 && *fp) {
    if (ferror(*fp)) err = EIO;
    if (fclose(*fp) != 0 && !err) err = errno;
    *fp = NULL;
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PetscCheck(!err, comm, PETSC_ERR_FILE_WRITE, "error writing %s: %s", tmp, strerror(err));
  PetscCall(TCOutputCommit(comm, tmp, final));
  PetscFunctionReturn(0);
}

void TCOutputAbandon(void)
{
  for (int i = 0; i < tc_npending; i++) remove(tc_pending[i]);
  tc_npending = 0;
  /* deepest first, and only if empty (rmdir refuses otherwise) */
  for (int i = tc_ncreated - 1; i >= 0; i--) rmdir(tc_created[i]);
  tc_ncreated = 0;
}

void TCOutputForgetAll(void)
{
  tc_npending = 0;
  tc_ncreated = 0;
}
