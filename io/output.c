/*
 * Output directories and atomic files (see output.h).
 */
#include "io/output.h"
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef NAME_MAX
#define NAME_MAX 255
#endif

#define TC_MAX_PENDING 64

static char tc_pending[TC_MAX_PENDING][PETSC_MAX_PATH_LEN];
static int  tc_npending;
static char tc_created[TC_MAX_PENDING][PETSC_MAX_PATH_LEN];
static int  tc_ncreated;
static char tc_committed[TC_MAX_PENDING][PETSC_MAX_PATH_LEN];
static int  tc_ncommitted;

/* Inputs seen by TCInputCheck() (rank 0), outputs claimed by TCOutputClaim(). */
#define TC_MAX_FILES 64
typedef struct {
  dev_t dev;
  ino_t ino;
  int   exists;
  char  path[PETSC_MAX_PATH_LEN];                 /* as given */
  char  canon[PATH_MAX + PETSC_MAX_PATH_LEN + 2]; /* realpath of the directory + file name */
  char  what[64];
} TCFileId;
static TCFileId tc_inputs[TC_MAX_FILES], tc_claims[TC_MAX_FILES];
static int      tc_ninputs, tc_nclaims;

/* Canonical name of a path that may not exist yet: realpath of its
   directory (when that exists) followed by the file name. */
static void TCCanonical(const char *path, char *out, size_t len)
{
  char        dir[PETSC_MAX_PATH_LEN], res[PATH_MAX];
  const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
  if (!slash)
    snprintf(dir, sizeof(dir), ".");
  else if (slash == path)
    snprintf(dir, sizeof(dir), "/");
  else
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
  if (realpath(dir, res))
    snprintf(out, len, "%s/%s", res, base);
  else
    snprintf(out, len, "%s", path);
}

static void TCFileIdSet(TCFileId *f, const char *path, const char *what)
{
  struct stat st;
  memset(f, 0, sizeof(*f));
  snprintf(f->path, sizeof(f->path), "%s", path);
  snprintf(f->what, sizeof(f->what), "%s", what ? what : "");
  TCCanonical(path, f->canon, sizeof(f->canon));
  if (stat(path, &st) == 0) {
    f->exists = 1;
    f->dev    = st.st_dev;
    f->ino    = st.st_ino;
  }
}

static int TCFileIdSame(const TCFileId *a, const TCFileId *b)
{
  if (a->exists && b->exists) return a->dev == b->dev && a->ino == b->ino;
  return !strcmp(a->canon, b->canon);
}

static const char *TCFileKind(mode_t m)
{
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISDIR(m)) return "a directory";
  return "not a regular file";
}

/* An input read as an existing file is protected while that file is still at
   its path. Once it is gone (a work file tomocell removed, a file somebody
   else deleted or moved), its inode number may be given to a new file, an
   output of this very run among them, which is then no input. */
static int TCInputStillThere(const TCFileId *in)
{
  struct stat st;
  if (!in->exists) return 1; /* compared by name */
  return stat(in->path, &st) == 0 && st.st_dev == in->dev && st.st_ino == in->ino;
}

/* Rank-0 checks of an output's final name; msg empty if fine. */
static void TCOutputCheckFinal(const char *final, const char *what, PetscBool claim, char *msg,
                               size_t len)
{
  struct stat st;
  TCFileId    f;
  const char *slash = strrchr(final, '/'), *base = slash ? slash + 1 : final;

  msg[0] = 0;
  if (strlen(base) + 16 > NAME_MAX) {
    snprintf(msg, len,
             "output file name '%.40s...' has %zu characters; at most %d are allowed (the "
             "temporary name adds up to 16)",
             base, strlen(base), NAME_MAX - 16);
    return;
  }
  if (strlen(final) + 16 >= PETSC_MAX_PATH_LEN) {
    snprintf(msg, len, "output path '%.60s...' is longer than %d characters", final,
             PETSC_MAX_PATH_LEN - 17);
    return;
  }
  if (stat(final, &st) == 0 && !S_ISREG(st.st_mode)) {
    snprintf(msg, len, "%s %s is %s: refusing to replace it (give a regular file name)",
             what && what[0] ? what : "output", final, TCFileKind(st.st_mode));
    return;
  }
  TCFileIdSet(&f, final, what);
  for (int i = 0; i < tc_ninputs; i++)
    if (TCInputStillThere(&tc_inputs[i]) && TCFileIdSame(&f, &tc_inputs[i])) {
      snprintf(msg, len,
               "%s %s is the input file %s: refusing to overwrite an input (choose another "
               "output name)",
               what && what[0] ? what : "output", final, tc_inputs[i].path);
      return;
    }
  if (!claim) return;
  for (int i = 0; i < tc_nclaims; i++)
    if (TCFileIdSame(&f, &tc_claims[i])) {
      if (!strcmp(tc_claims[i].what, f.what)) return; /* the same output claimed again */
      snprintf(msg, len, "%s %s and %s %s are the same file: choose different names",
               tc_claims[i].what, tc_claims[i].path, f.what, final);
      return;
    }
  if (tc_nclaims < TC_MAX_FILES) tc_claims[tc_nclaims++] = f;
}

static PetscErrorCode TCOutputCheck(MPI_Comm comm, const char final[], const char what[],
                                    PetscBool claim)
{
  PetscMPIInt rank;
  char        msg[2 * PETSC_MAX_PATH_LEN + 256] = "";

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) TCOutputCheckFinal(final, what, claim, msg, sizeof(msg));
  PetscCallMPI(MPI_Bcast(msg, (int)sizeof(msg), MPI_CHAR, 0, comm));
  PetscCheck(!msg[0], comm, PETSC_ERR_USER_INPUT, "%s", msg);
  PetscFunctionReturn(0);
}

PetscErrorCode TCOutputClaim(MPI_Comm comm, const char final[], const char what[])
{
  PetscFunctionBeginUser;
  PetscCall(TCOutputCheck(comm, final, what, PETSC_TRUE));
  PetscFunctionReturn(0);
}

PetscErrorCode TCOutputClaimIn(MPI_Comm comm, const char dir[], int n, const char *const names[])
{
  char path[PETSC_MAX_PATH_LEN];

  PetscFunctionBeginUser;
  for (int i = 0; i < n; i++) {
    PetscCall(TCPathJoin(dir, names[i], path, sizeof(path)));
    PetscCall(TCOutputClaim(comm, path, names[i]));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCInputCheck(MPI_Comm comm, const char path[])
{
  PetscMPIInt rank;
  char        msg[PETSC_MAX_PATH_LEN + 256] = "";

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    struct stat st;
    if (stat(path, &st) == 0) {
      if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        snprintf(msg, sizeof(msg), "input %s is %s: inputs must be regular files", path,
                 TCFileKind(st.st_mode));
      else if (tc_ninputs < TC_MAX_FILES)
        TCFileIdSet(&tc_inputs[tc_ninputs++], path, NULL);
    } else if (errno == ENAMETOOLONG)
      snprintf(msg, sizeof(msg), "input path '%.60s...' is too long: %s", path, strerror(errno));
  }
  PetscCallMPI(MPI_Bcast(msg, (int)sizeof(msg), MPI_CHAR, 0, comm));
  PetscCheck(!msg[0], comm, PETSC_ERR_FILE_OPEN, "%s", msg);
  PetscFunctionReturn(0);
}

void TCInputForget(const char path[])
{
  TCFileId f;
  TCFileIdSet(&f, path, NULL);
  for (int i = 0; i < tc_ninputs; i++)
    if (TCFileIdSame(&f, &tc_inputs[i])) {
      tc_inputs[i] = tc_inputs[--tc_ninputs];
      i--;
    }
}

static void TCRemember(char list[][PETSC_MAX_PATH_LEN], int *n, const char *path)
{
  if (*n < TC_MAX_PENDING) {
    snprintf(list[*n], PETSC_MAX_PATH_LEN, "%s", path);
    (*n)++;
  }
}

static void TCForgetIn(char list[][PETSC_MAX_PATH_LEN], int *n, const char *path)
{
  for (int i = 0; i < *n; i++)
    if (!strcmp(list[i], path)) {
      memmove(list[i], list[i + 1], (size_t)(*n - i - 1) * PETSC_MAX_PATH_LEN);
      (*n)--;
      return;
    }
}

static void TCForget(const char *path)
{
  TCForgetIn(tc_pending, &tc_npending, path);
}

static PetscBool tc_keep_all;

void TCOutputKeepAll(void)
{
  tc_keep_all = PETSC_TRUE;
}

void TCOutputKeep(const char final[])
{
  TCForgetIn(tc_committed, &tc_ncommitted, final);
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

/* Remove "<final>.tmp-PID" files left by dead processes (a run killed with
   SIGKILL or by a node failure between create and rename): PID not alive on
   this host and the file untouched for 10 minutes (a writer on another host of
   a shared file system keeps its file fresh). Rank 0, best effort. */
static void TCRemoveStaleTemps(const char *final)
{
  char           dir[PETSC_MAX_PATH_LEN], prefix[PETSC_MAX_PATH_LEN + 8];
  const char    *slash = strrchr(final, '/'), *base = slash ? slash + 1 : final;
  DIR           *d;
  struct dirent *e;
  size_t         lp;
  time_t         now = time(NULL);

  if (!slash)
    snprintf(dir, sizeof(dir), ".");
  else if (slash == final)
    snprintf(dir, sizeof(dir), "/");
  else
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - final), final);
  snprintf(prefix, sizeof(prefix), "%s.tmp-", base);
  lp = strlen(prefix);
  if (!(d = opendir(dir))) return;
  while ((e = readdir(d))) {
    char        path[2 * PETSC_MAX_PATH_LEN], *end;
    long        pid;
    struct stat st;
    if (strncmp(e->d_name, prefix, lp)) continue;
    pid = strtol(e->d_name + lp, &end, 10);
    if (*end || pid <= 0 || pid == (long)getpid()) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive (or not ours to judge) */
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime >= 600) remove(path);
  }
  closedir(d);
}

PetscErrorCode TCOutputTempName(MPI_Comm comm, const char final[], char tmp[], size_t len)
{
  PetscMPIInt rank;
  int         pid = (int)getpid();

  PetscFunctionBeginUser;
  PetscCall(TCOutputCheck(comm, final, NULL, PETSC_FALSE));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Bcast(&pid, 1, MPI_INT, 0, comm));
  PetscCheck((size_t)snprintf(tmp, len, "%s.tmp-%d", final, pid) < len, comm, PETSC_ERR_USER_INPUT,
             "output path too long: %s", final);
  if (rank == 0) {
    TCRemoveStaleTemps(final);
    TCRemember(tc_pending, &tc_npending, tmp);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCOutputRegister(MPI_Comm comm, const char path[])
{
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  PetscCall(TCOutputCheck(comm, path, NULL, PETSC_FALSE));
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
    else {
      TCForget(tmp);
      TCForgetIn(tc_committed, &tc_ncommitted, final);
      if (!tc_keep_all) TCRemember(tc_committed, &tc_ncommitted, final);
    }
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

PetscBool TCOutputIsPending(const char path[])
{
  for (int i = 0; i < tc_npending; i++)
    if (!strcmp(tc_pending[i], path)) return PETSC_TRUE;
  return PETSC_FALSE;
}

void TCOutputAbandon(void)
{
  for (int i = 0; i < tc_npending; i++) remove(tc_pending[i]);
  tc_npending = 0;
  for (int i = 0; i < tc_ncommitted; i++) remove(tc_committed[i]);
  tc_ncommitted = 0;
  /* deepest first, and only if empty (rmdir refuses otherwise) */
  for (int i = tc_ncreated - 1; i >= 0; i--) rmdir(tc_created[i]);
  tc_ncreated = 0;
}

/* Output-directory locks (rank 0): "<dir>/.tomocell.lock", flock()ed for the
   life of the run and holding "PID HOST". */
static struct {
  char path[PETSC_MAX_PATH_LEN + 32];
  int  fd;
} tc_locks[TC_MAX_PENDING];
static int tc_nlocks;

/* Rank 0: take the lock of dir; msg says why not, note what was taken over. */
static void TCLockTake(const char *dir, char *msg, size_t mlen, char *note, size_t nlen)
{
  char        path[PETSC_MAX_PATH_LEN + 32], host[256] = "?", ohost[256], text[600];
  long        opid;
  struct stat a, b;

  msg[0] = note[0] = 0;
  snprintf(path, sizeof(path), "%s/.tomocell.lock", dir);
  for (int i = 0; i < tc_nlocks; i++)
    if (!strcmp(tc_locks[i].path, path)) return; /* this process holds it already */
  if (tc_nlocks >= TC_MAX_PENDING) {
    snprintf(msg, mlen, "too many output directories locked by one run");
    return;
  }
  gethostname(host, sizeof(host));
  host[sizeof(host) - 1] = 0;
  for (int attempt = 0; attempt < 5; attempt++) {
    int     fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644), locked, flockable;
    ssize_t n;
    if (fd < 0) {
      snprintf(msg, mlen, "cannot create the lock file %s: %s", path, strerror(errno));
      return;
    }
    locked              = flock(fd, LOCK_EX | LOCK_NB) == 0;
    flockable           = locked || errno == EWOULDBLOCK;
    n                   = pread(fd, text, sizeof(text) - 1, 0);
    text[n > 0 ? n : 0] = 0;
    opid                = 0;
    ohost[0]            = 0;
    if (sscanf(text, "%ld %255s", &opid, ohost) != 2) opid = 0, ohost[0] = 0;
    if (flockable && !locked) {
      snprintf(msg, mlen,
               "output directory %s is in use by another tomocell run (pid %ld on host %s; lock "
               "file %s): wait for it to finish or choose another -output",
               dir, opid, ohost[0] ? ohost : "?", path);
      close(fd);
      return;
    }
    if (opid > 0 && opid != (long)getpid()) {
      /* a lock file left by a run: stale when the run is known to be gone: on this host, the
         flock is free (or, where flock is not supported, the process is gone); on another
         host tomocell cannot tell */
      int here = !strcmp(ohost, host),
          gone = here && (locked || (kill((pid_t)opid, 0) != 0 && errno == ESRCH));
      if (!gone) {
        snprintf(msg, mlen,
                 "output directory %s is locked by tomocell pid %ld on host %s (lock file %s)%s: "
                 "choose another -output%s",
                 dir, opid, ohost, path,
                 here ? ", which is still running"
                      : ", another host, whose runs this one cannot see",
                 here ? "" : ", or remove the lock file if that run is over");
        close(fd);
        return;
      }
      snprintf(note, nlen, "took over the stale lock of pid %ld (no longer running) in %s", opid,
               dir);
    }
    /* the file locked must still be the one under the name (a run ending
       meanwhile removes it) */
    if (fstat(fd, &a) != 0 || stat(path, &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
      close(fd);
      continue;
    }
    n = snprintf(text, sizeof(text), "%ld %s\n", (long)getpid(), host);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n) {
      snprintf(msg, mlen, "cannot write the lock file %s: %s", path, strerror(errno));
      close(fd);
      unlink(path);
      return;
    }
    snprintf(tc_locks[tc_nlocks].path, sizeof(tc_locks[0].path), "%s", path);
    tc_locks[tc_nlocks++].fd = fd;
    return;
  }
  snprintf(msg, mlen, "cannot lock output directory %s: its lock file %s keeps changing", dir,
           path);
}

PetscErrorCode TCOutputLockDir(MPI_Comm comm, const char dir[])
{
  PetscMPIInt rank;
  char        msg[3 * PETSC_MAX_PATH_LEN + 256] = "", note[PETSC_MAX_PATH_LEN + 128] = "";

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) TCLockTake(dir, msg, sizeof(msg), note, sizeof(note));
  PetscCallMPI(MPI_Bcast(msg, (int)sizeof(msg), MPI_CHAR, 0, comm));
  PetscCheck(!msg[0], comm, PETSC_ERR_USER_INPUT, "%s", msg);
  if (note[0]) PetscCall(PetscPrintf(comm, "tomocell: note: %s\n", note));
  PetscFunctionReturn(0);
}

int TCOutputLockMark(void)
{
  return tc_nlocks;
}

void TCOutputUnlock(int mark)
{
  while (tc_nlocks > mark && tc_nlocks > 0) {
    tc_nlocks--;
    unlink(tc_locks[tc_nlocks].path); /* before the close: nobody locks the old file then */
    close(tc_locks[tc_nlocks].fd);
  }
}

void TCOutputForgetAll(void)
{
  tc_npending   = 0;
  tc_ncreated   = 0;
  tc_ncommitted = 0; /* a later task's failure must not remove this task's results */
  tc_ninputs    = 0;
  tc_nclaims    = 0;
}
