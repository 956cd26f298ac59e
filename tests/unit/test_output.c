/*
 * io/output: an output onto an input is refused while that input is still
 * the file at its path (by device and inode, so hard links too); an input
 * that is gone no longer protects the
 * inode it had. A file system may give that inode to the next file made:
 * tomocell fit removes its work parameter set and then writes fit.png, which
 * on tmpfs and overlay file systems often gets the set's inode, and was
 * refused as "the input file .fit-set-0.json".
 */
#include "io/output.h"
#include "src/tc.h"
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(cond, ...) PetscCheck(cond, PETSC_COMM_WORLD, PETSC_ERR_PLIB, __VA_ARGS__)

static PetscErrorCode Touch(const char *path)
{
  PetscMPIInt rank;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  if (rank == 0) {
    FILE *fp = fopen(path, "w");
    CHECK(fp && fputs("x\n", fp) >= 0 && fclose(fp) == 0, "cannot write %s", path);
  }
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscFunctionReturn(0);
}

/* TCOutputClaim's error code, without the error's message */
static PetscErrorCode Claim(const char *path, const char *what, PetscErrorCode *ierr)
{
  PetscFunctionBeginUser;
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  *ierr = TCOutputClaim(PETSC_COMM_WORLD, path, what);
  PetscCall(PetscPopErrorHandler());
  PetscFunctionReturn(0);
}

static unsigned long Inode(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

int main(int argc, char **argv)
{
  PetscMPIInt    rank, size;
  PetscErrorCode ierr;
  char           dir[PETSC_MAX_PATH_LEN] = ".", a[PETSC_MAX_PATH_LEN], b[PETSC_MAX_PATH_LEN],
       c[PETSC_MAX_PATH_LEN], d[PETSC_MAX_PATH_LEN], e[PETSC_MAX_PATH_LEN];
  unsigned long ino_c;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(TCInitialize());
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-dir", dir, sizeof(dir), NULL));
  PetscCall(PetscSNPrintf(a, sizeof(a), "%s/output-test-%d-a.json", dir, (int)size));
  PetscCall(PetscSNPrintf(b, sizeof(b), "%s/output-test-%d-b.json", dir, (int)size));
  PetscCall(PetscSNPrintf(c, sizeof(c), "%s/output-test-%d-c.json", dir, (int)size));
  PetscCall(PetscSNPrintf(d, sizeof(d), "%s/output-test-%d-d.png", dir, (int)size));
  PetscCall(PetscSNPrintf(e, sizeof(e), "%s/output-test-%d-e.csv", dir, (int)size));
  if (rank == 0) (void)(remove(a) + remove(b) + remove(c) + remove(d) + remove(e));

  /* an existing input: refused under its own name, and under a hard link */
  PetscCall(Touch(a));
  PetscCall(TCInputCheck(PETSC_COMM_WORLD, a));
  PetscCall(Claim(a, "output", &ierr));
  CHECK(ierr == PETSC_ERR_USER_INPUT, "an output onto the input was not refused (%d)", (int)ierr);
  if (rank == 0) CHECK(link(a, e) == 0, "link %s %s failed", a, e);
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscCall(Claim(e, "linked", &ierr));
  CHECK(ierr == PETSC_ERR_USER_INPUT, "an output onto a hard link of the input was allowed");
  if (rank == 0) CHECK(remove(e) == 0, "remove %s", e);

  /* the input moved away: its inode is now another path's, which is no input */
  if (rank == 0) CHECK(rename(a, b) == 0, "rename %s %s failed", a, b);
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscCall(Claim(b, "moved", &ierr));
  CHECK(ierr == 0, "a file that has the inode of a gone input was refused as that input");

  /* removed and a new file made: allowed whether or not the inode came back */
  PetscCall(Touch(c));
  ino_c = Inode(c);
  PetscCall(TCInputCheck(PETSC_COMM_WORLD, c));
  if (rank == 0) CHECK(remove(c) == 0, "remove %s", c);
  PetscCall(Touch(d));
  PetscCall(Claim(d, "plot", &ierr));
  CHECK(ierr == 0, "a new file after a removed input was refused");
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "new file %s the removed input's inode\n",
                        rank == 0 && Inode(d) == ino_c ? "reused" : "did not reuse"));

  if (rank == 0) (void)(remove(b) + remove(d));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "output identity ok at %d rank(s)\n", (int)size));
  PetscCall(PetscFinalize());
  return 0;
}
