/*
 * Checkpoint files (see checkpoint.h): parallel HDF5 through io/h5, atomic
 * replacement through io/output (temporary name, rename), plus the fsyncs
 * that make "renamed" mean "on disk": the file's data before the rename and
 * the directory entry after it (POSIX rename is atomic, but without the
 * fsyncs a crash can leave the new name pointing at an empty file).
 *
 * Test hook (not in --help): -checkpoint_test_crash_at K makes the K-th
 * commit of this process kill itself with SIGKILL after the temporary file
 * is complete and synced but before the rename, as a node failure at the
 * worst moment would.
 */
#include "io/checkpoint.h"
#include "io/h5.h"
#include "io/output.h"
#include "tcversion.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#define TC_CKPT_FORMAT         "tomocell-checkpoint"
#define TC_CKPT_FORMAT_VERSION 1

struct _p_TCCheckpoint {
  MPI_Comm  comm;
  TCH5      h5;
  PetscBool writing, open;
  char      path[PETSC_MAX_PATH_LEN]; /* final name */
  char      tmp[PETSC_MAX_PATH_LEN];  /* temporary name while writing */
};

static int tc_ckpt_commits; /* commits in this process, for the test hook */

uint64_t TCHash(uint64_t h, const void *data, size_t n)
{
  const unsigned char *b = (const unsigned char *)data;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ULL; /* FNV-1a 64-bit prime */
  }
  return h;
}

PetscErrorCode TCCheckpointCreate(MPI_Comm comm, const char path[], const char command[],
                                  const char config[], TCCheckpoint *ck)
{
  TCCheckpoint c;
  PetscMPIInt  size;
  char         hash[32], when[64];
  time_t       now = time(NULL);
  struct tm    tmv;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&c));
  c->comm    = comm;
  c->writing = PETSC_TRUE;
  PetscCall(PetscStrncpy(c->path, path, sizeof(c->path)));
  PetscCall(TCOutputTempName(comm, path, c->tmp, sizeof(c->tmp)));
  PetscCall(TCH5Create(comm, c->tmp, &c->h5));
  c->open = PETSC_TRUE;
  *ck     = c;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  snprintf(hash, sizeof(hash), "%016llx",
           (unsigned long long)TCHash(TC_HASH_INIT, config, strlen(config)));
  gmtime_r(&now, &tmv);
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tmv);
  PetscCall(TCH5WriteAttrString(&c->h5, "/", "format", TC_CKPT_FORMAT));
  PetscCall(TCH5WriteAttrInt(&c->h5, "/", "format_version", TC_CKPT_FORMAT_VERSION));
  PetscCall(TCH5WriteAttrString(&c->h5, "/", "version", TC_VERSION));
  PetscCall(TCH5WriteAttrString(&c->h5, "/", "git", TC_GIT_DESCRIBE));
  PetscCall(TCH5WriteAttrString(&c->h5, "/", "command", command));
  PetscCall(TCH5WriteAttrString(&c->h5, "/", "config", config));
  PetscCall(TCH5WriteAttrString(&c->h5, "/", "config_hash", hash));
  PetscCall(TCH5WriteAttrInt(&c->h5, "/", "nranks", (long long)size));
  PetscCall(TCH5WriteAttrString(&c->h5, "/", "written", when));
  PetscCall(TCH5EnsureGroup(&c->h5, "/scalars"));
  PetscCall(TCH5EnsureGroup(&c->h5, "/arrays"));
  PetscFunctionReturn(0);
}

PetscErrorCode TCCheckpointSetReal(TCCheckpoint ck, const char name[], PetscReal value)
{
  PetscFunctionBeginUser;
  PetscCheck(ck->writing && ck->open, ck->comm, PETSC_ERR_ARG_WRONGSTATE, "not writing");
  PetscCall(TCH5WriteAttrReal(&ck->h5, "/scalars", name, (double)value));
  PetscFunctionReturn(0);
}

PetscErrorCode TCCheckpointSetInt(TCCheckpoint ck, const char name[], PetscInt64 value)
{
  PetscFunctionBeginUser;
  PetscCheck(ck->writing && ck->open, ck->comm, PETSC_ERR_ARG_WRONGSTATE, "not writing");
  PetscCall(TCH5WriteAttrInt(&ck->h5, "/scalars", name, (long long)value));
  PetscFunctionReturn(0);
}

PetscErrorCode TCCheckpointSetString(TCCheckpoint ck, const char name[], const char value[])
{
  PetscFunctionBeginUser;
  PetscCheck(ck->writing && ck->open, ck->comm, PETSC_ERR_ARG_WRONGSTATE, "not writing");
  PetscCall(TCH5WriteAttrString(&ck->h5, "/scalars", name, value));
  PetscFunctionReturn(0);
}

/* Global length and this rank's offset of a distributed array. */
static PetscErrorCode TCCheckpointLayout(MPI_Comm comm, PetscInt n, hsize_t *start, hsize_t *total)
{
  long long nl = (long long)n, off = 0, tot = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Exscan(&nl, &off, 1, MPI_LONG_LONG, MPI_SUM, comm));
  PetscCallMPI(MPI_Allreduce(&nl, &tot, 1, MPI_LONG_LONG, MPI_SUM, comm));
  {
    PetscMPIInt rank;
    PetscCallMPI(MPI_Comm_rank(comm, &rank));
    if (rank == 0) off = 0; /* MPI_Exscan leaves rank 0's result undefined */
  }
  *start = (hsize_t)off;
  *total = (hsize_t)tot;
  PetscFunctionReturn(0);
}

PetscErrorCode TCCheckpointWriteArray(TCCheckpoint ck, const char name[], PetscInt n,
                                      const PetscReal a[])
{
  char    dset[PETSC_MAX_PATH_LEN];
  hsize_t start, total;

  PetscFunctionBeginUser;
  PetscCheck(ck->writing && ck->open, ck->comm, PETSC_ERR_ARG_WRONGSTATE, "not writing");
  PetscCall(TCCheckpointLayout(ck->comm, n, &start, &total));
  snprintf(dset, sizeof(dset), "/arrays/%s", name);
  PetscCall(TCH5WriteRows(&ck->h5, dset, H5T_NATIVE_DOUBLE, 1, &total, start, (hsize_t)n, a));
  PetscFunctionReturn(0);
}

/* fsync a file or directory by name; errno or 0. */
static int TCFsyncPath(const char *path, int flags)
{
  int fd = open(path, flags), err = 0;
  if (fd < 0) return errno;
  if (fsync(fd) != 0) err = errno;
  close(fd);
  return err;
}

PetscErrorCode TCCheckpointCommit(TCCheckpoint ck)
{
  PetscMPIInt rank;
  int         err = 0, crash_at = 0;
  PetscInt    k = 0;
  PetscBool   set;

  PetscFunctionBeginUser;
  PetscCheck(ck->writing && ck->open, ck->comm, PETSC_ERR_ARG_WRONGSTATE, "not writing");
  PetscCall(TCH5Close(&ck->h5));
  ck->open = PETSC_FALSE;
  PetscCallMPI(MPI_Comm_rank(ck->comm, &rank));
  if (rank == 0) err = TCFsyncPath(ck->tmp, O_RDONLY);
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, ck->comm));
  PetscCheck(!err, ck->comm, PETSC_ERR_FILE_WRITE, "cannot fsync %s: %s", ck->tmp, strerror(err));
  tc_ckpt_commits++;
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-checkpoint_test_crash_at", &k, &set));
  crash_at = set ? (int)k : 0;
  if (crash_at > 0 && tc_ckpt_commits == crash_at) {
    fflush(stdout);
    raise(SIGKILL); /* test hook: die between the complete temporary and the rename */
  }
  PetscCall(TCOutputCommit(ck->comm, ck->tmp, ck->path));
  TCOutputKeep(ck->path); /* a later failure leaves the checkpoint to restart from */
  ck->writing = PETSC_FALSE;
  if (rank == 0) {
    char dir[PETSC_MAX_PATH_LEN];
    PetscCall(PetscStrncpy(dir, ck->path, sizeof(dir)));
    err = TCFsyncPath(dirname(dir), O_RDONLY | O_DIRECTORY);
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, ck->comm));
  PetscCheck(!err, ck->comm, PETSC_ERR_FILE_WRITE, "cannot fsync the directory of %s: %s", ck->path,
             strerror(err));
  PetscFunctionReturn(0);
}

/* ---- reading ------------------------------------------------------------------ */

/* Root attribute as a newly allocated string ("" when absent). */
static PetscErrorCode TCCheckpointRootString(TCCheckpoint ck, const char name[], char **value,
                                             PetscBool *found)
{
  size_t n;

  PetscFunctionBeginUser;
  PetscCall(TCH5GetAttrStringLength(&ck->h5, "/", name, &n, found));
  PetscCall(PetscMalloc1(n + 1, value));
  (*value)[0] = 0;
  if (*found) PetscCall(TCH5ReadAttrString(&ck->h5, "/", name, *value, n + 1, found));
  PetscFunctionReturn(0);
}

/* The value of "key: value" line key in text, or NULL; into buf. */
static const char *TCConfigValue(const char *text, const char *key, char *buf, size_t len)
{
  size_t      kl = strlen(key);
  const char *p  = text;
  while (p && *p) {
    const char *e = strchr(p, '\n');
    size_t      n = e ? (size_t)(e - p) : strlen(p);
    if (n > kl + 1 && !strncmp(p, key, kl) && p[kl] == ':') {
      const char *v = p + kl + 1;
      while (*v == ' ') v++;
      snprintf(buf, len, "%.*s", (int)(n - (size_t)(v - p)), v);
      return buf;
    }
    p = e ? e + 1 : NULL;
  }
  return NULL;
}

/* Name the first key whose value differs between the stored config (was)
   and this run's (now), into msg. */
static void TCConfigDiff(const char *was, const char *now, char *msg, size_t len)
{
  const char *texts[2] = {now, was};
  int         ndiff    = 0;
  msg[0]               = 0;
  for (int w = 0; w < 2; w++) {
    const char *p = texts[w];
    while (p && *p) {
      const char *e = strchr(p, '\n'), *colon = strchr(p, ':');
      char        key[256], a[1024], b[1024];
      const char *va, *vb;
      if (!colon || (e && colon > e)) break;
      snprintf(key, sizeof(key), "%.*s", (int)(colon - p), p);
      va = TCConfigValue(was, key, a, sizeof(a));
      vb = TCConfigValue(now, key, b, sizeof(b));
      /* each differing key once: from the pass over now, or a key only in was */
      if ((w == 0 && (!va || !vb || strcmp(va, vb))) || (w == 1 && !vb)) {
        if (!ndiff++)
          snprintf(msg, len, "%s is \"%s\" there but \"%s\" here", key, va ? va : "(not set)",
                   vb ? vb : "(not set)");
      }
      p = e ? e + 1 : NULL;
    }
  }
  if (ndiff > 1) {
    size_t l = strlen(msg);
    snprintf(msg + l, len - l, " (and %d more difference%s)", ndiff - 1, ndiff > 2 ? "s" : "");
  }
  if (!ndiff) snprintf(msg, len, "the configurations differ");
}

PetscErrorCode TCCheckpointOpen(MPI_Comm comm, const char path[], const char command[],
                                const char config[], TCCheckpoint *ck)
{
  TCCheckpoint c;
  PetscMPIInt  rank;
  int          err = 0;
  char        *s   = NULL;
  PetscBool    found;
  long long    fv = 0;

  PetscFunctionBeginUser;
  *ck = NULL;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0 && access(path, R_OK) != 0) err = errno;
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PetscCheck(!err, comm, PETSC_ERR_FILE_OPEN, "cannot read restart file %s: %s", path,
             strerror(err));
  PetscCall(PetscNew(&c));
  c->comm = comm;
  PetscCall(PetscStrncpy(c->path, path, sizeof(c->path)));
  {
    /* TCH5Open's own message would not say what the file was meant to be */
    int ish5 = 0;
    if (rank == 0) {
      H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
      ish5 = H5Fis_hdf5(path) > 0;
      if (ish5) { /* a truncated file keeps its signature: try to open it */
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        ish5    = f >= 0;
        if (f >= 0) H5Fclose(f);
      }
    }
    PetscCallMPI(MPI_Bcast(&ish5, 1, MPI_INT, 0, comm));
    if (!ish5) {
      PetscCall(PetscFree(c));
      SETERRQ(comm, PETSC_ERR_FILE_UNEXPECTED,
              "restart file %s is not a readable HDF5 file (truncated or corrupt?): restart "
              "from an intact checkpoint or run from the start without -restart",
              path);
    }
  }
  PetscCall(TCH5Open(comm, path, &c->h5));
  TCInputForget(path); /* the run continues this checkpoint and rewrites it */
  c->open = PETSC_TRUE;
  *ck     = c;

  PetscCall(TCCheckpointRootString(c, "format", &s, &found));
  PetscCheck(found && !strcmp(s, TC_CKPT_FORMAT), comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s is not a tomocell checkpoint (no format = \"%s\" attribute)", path,
             TC_CKPT_FORMAT);
  PetscCall(PetscFree(s));
  PetscCall(TCH5ReadAttrInt(&c->h5, "/", "format_version", &fv, &found));
  PetscCheck(found && fv == TC_CKPT_FORMAT_VERSION, comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: checkpoint format version %lld, this tomocell reads version %d", path, fv,
             TC_CKPT_FORMAT_VERSION);

  PetscCall(TCCheckpointRootString(c, "version", &s, &found));
  PetscCheck(found && !strcmp(s, TC_VERSION), comm, PETSC_ERR_USER_INPUT,
             "restart file %s was written by tomocell %s, this is tomocell %s: restart with "
             "tomocell %s, or run from the start without -restart",
             path, found ? s : "(unknown version)", TC_VERSION, found ? s : "(unknown version)");
  PetscCall(PetscFree(s));

  PetscCall(TCCheckpointRootString(c, "command", &s, &found));
  PetscCheck(found && !strcmp(s, command), comm, PETSC_ERR_USER_INPUT,
             "restart file %s is a checkpoint of 'tomocell %s', not of 'tomocell %s'", path,
             found ? s : "(unknown)", command);
  PetscCall(PetscFree(s));

  PetscCall(TCCheckpointRootString(c, "config", &s, &found));
  PetscCheck(found, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: checkpoint has no config attribute",
             path);
  if (strcmp(s, config)) {
    char msg[2560];
    TCConfigDiff(s, config, msg, sizeof(msg));
    PetscCall(PetscFree(s));
    SETERRQ(comm, PETSC_ERR_USER_INPUT,
            "restart file %s was written for a different run: %s; restart with the deck and "
            "options of that run, or run from the start without -restart",
            path, msg);
  }
  PetscCall(PetscFree(s));
  PetscFunctionReturn(0);
}

static PetscErrorCode TCCheckpointMissing(TCCheckpoint ck, const char name[], PetscBool found)
{
  PetscFunctionBeginUser;
  PetscCheck(found, ck->comm, PETSC_ERR_FILE_UNEXPECTED,
             "restart file %s lacks %s (written by another version, or corrupt)", ck->path, name);
  PetscFunctionReturn(0);
}

PetscErrorCode TCCheckpointGetReal(TCCheckpoint ck, const char name[], PetscReal *value)
{
  double    v = 0;
  PetscBool found;

  PetscFunctionBeginUser;
  PetscCheck(!ck->writing && ck->open, ck->comm, PETSC_ERR_ARG_WRONGSTATE, "not reading");
  PetscCall(TCH5ReadAttrReal(&ck->h5, "/scalars", name, &v, &found));
  PetscCall(TCCheckpointMissing(ck, name, found));
  *value = (PetscReal)v;
  PetscFunctionReturn(0);
}

PetscErrorCode TCCheckpointGetInt(TCCheckpoint ck, const char name[], PetscInt64 *value)
{
  long long v = 0;
  PetscBool found;

  PetscFunctionBeginUser;
  PetscCheck(!ck->writing && ck->open, ck->comm, PETSC_ERR_ARG_WRONGSTATE, "not reading");
  PetscCall(TCH5ReadAttrInt(&ck->h5, "/scalars", name, &v, &found));
  PetscCall(TCCheckpointMissing(ck, name, found));
  *value = (PetscInt64)v;
  PetscFunctionReturn(0);
}

PetscErrorCode TCCheckpointGetString(TCCheckpoint ck, const char name[], char value[], size_t len)
{
  PetscBool found;

  PetscFunctionBeginUser;
  PetscCheck(!ck->writing && ck->open, ck->comm, PETSC_ERR_ARG_WRONGSTATE, "not reading");
  PetscCall(TCH5ReadAttrString(&ck->h5, "/scalars", name, value, len, &found));
  PetscCall(TCCheckpointMissing(ck, name, found));
  PetscFunctionReturn(0);
}

PetscErrorCode TCCheckpointReadArray(TCCheckpoint ck, const char name[], PetscInt n, PetscReal a[])
{
  char    dset[PETSC_MAX_PATH_LEN];
  hsize_t start, total, dims[4];
  int     ndim;

  PetscFunctionBeginUser;
  PetscCheck(!ck->writing && ck->open, ck->comm, PETSC_ERR_ARG_WRONGSTATE, "not reading");
  snprintf(dset, sizeof(dset), "/arrays/%s", name);
  PetscCall(TCCheckpointLayout(ck->comm, n, &start, &total));
  PetscCheck(H5Lexists(ck->h5.file, dset, H5P_DEFAULT) > 0, ck->comm, PETSC_ERR_FILE_UNEXPECTED,
             "restart file %s lacks the array %s (written by another version, or corrupt)",
             ck->path, name);
  PetscCall(TCH5GetDims(&ck->h5, dset, &ndim, dims));
  PetscCheck(ndim == 1 && dims[0] == total, ck->comm, PETSC_ERR_USER_INPUT,
             "restart file %s: array %s has %llu values, this run needs %llu", ck->path, name,
             (unsigned long long)dims[0], (unsigned long long)total);
  PetscCall(TCH5ReadRows(&ck->h5, dset, H5T_NATIVE_DOUBLE, start, (hsize_t)n, a));
  PetscFunctionReturn(0);
}

PetscErrorCode TCCheckpointDestroy(TCCheckpoint *ck)
{
  TCCheckpoint c = *ck;

  PetscFunctionBeginUser;
  if (!c) PetscFunctionReturn(0);
  if (c->open) PetscCall(TCH5Close(&c->h5));
  if (c->writing) {
    /* never committed: drop the temporary, keep the previous checkpoint */
    PetscMPIInt rank;
    PetscCallMPI(MPI_Barrier(c->comm));
    PetscCallMPI(MPI_Comm_rank(c->comm, &rank));
    if (rank == 0) remove(c->tmp);
  }
  PetscCall(PetscFree(*ck));
  PetscFunctionReturn(0);
}
