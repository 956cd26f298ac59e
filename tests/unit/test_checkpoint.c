/*
 * io/checkpoint at any rank count:
 *
 *   test_checkpoint write FILE   every rank writes its part of two arrays of
 *                                global length N (uneven split) + scalars;
 *                                a second write is abandoned (Destroy without
 *                                Commit), which must leave the first intact
 *   test_checkpoint read FILE    read back at this rank count (any), check
 *                                every value exactly (doubles round-trip
 *                                bit for bit), and that another config or
 *                                command is refused
 *
 * ctest writes at 2 ranks and reads at 1 and 3.
 */
#include "io/checkpoint.h"
#include <petscsys.h>

#define N      1001
#define CONFIG "model: dfn\nexperiment: Rest for 1 hour\n"

/* this rank's [start, start + n) of N, deliberately uneven */
static void Part(PetscMPIInt rank, PetscMPIInt size, PetscInt *start, PetscInt *n)
{
  PetscInt s = 0;
  for (PetscMPIInt r = 0; r <= rank; r++) {
    PetscInt nr = (r == size - 1) ? N - s : (N / size) + (r % 2 ? -3 : 3);
    if (r == rank) {
      *start = s;
      *n     = nr;
    }
    s += nr;
  }
}

static PetscReal Value(PetscInt i, PetscInt a)
{
  return PetscSinReal(0.1 * (PetscReal)i + a) / 3.0 + 1e-300 * (PetscReal)i;
}

int main(int argc, char **argv)
{
  PetscMPIInt  size, rank;
  PetscInt     start = 0, n = 0;
  PetscReal   *x, *y;
  const char  *mode = argc > 2 ? argv[1] : "", *path = argc > 2 ? argv[2] : "";
  TCCheckpoint ck;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  Part(rank, size, &start, &n);
  PetscCall(PetscMalloc2(n, &x, n, &y));
  if (!strcmp(mode, "write")) {
    for (PetscInt i = 0; i < n; i++) {
      x[i] = Value(start + i, 0);
      y[i] = Value(start + i, 1);
    }
    PetscCall(TCCheckpointCreate(PETSC_COMM_WORLD, path, "test", CONFIG, &ck));
    PetscCall(TCCheckpointSetReal(ck, "t_s", 1.0 / 3.0));
    PetscCall(TCCheckpointSetInt(ck, "steps", 1234567890123LL));
    PetscCall(TCCheckpointSetString(ck, "note", "written at some rank count"));
    PetscCall(TCCheckpointWriteArray(ck, "x", n, x));
    PetscCall(TCCheckpointWriteArray(ck, "y", n, y));
    PetscCall(TCCheckpointCommit(ck));
    PetscCall(TCCheckpointDestroy(&ck));
    /* an abandoned second checkpoint leaves the first one alone */
    PetscCall(TCCheckpointCreate(PETSC_COMM_WORLD, path, "test", "other", &ck));
    PetscCall(TCCheckpointWriteArray(ck, "x", n, y));
    PetscCall(TCCheckpointDestroy(&ck));
  } else if (!strcmp(mode, "read")) {
    PetscReal  t;
    PetscInt64 steps;
    char       note[64];
    PetscCall(TCCheckpointOpen(PETSC_COMM_WORLD, path, "test", CONFIG, &ck));
    PetscCall(TCCheckpointGetReal(ck, "t_s", &t));
    PetscCall(TCCheckpointGetInt(ck, "steps", &steps));
    PetscCall(TCCheckpointGetString(ck, "note", note, sizeof(note)));
    PetscCall(TCCheckpointReadArray(ck, "x", n, x));
    PetscCall(TCCheckpointReadArray(ck, "y", n, y));
    PetscCall(TCCheckpointDestroy(&ck));
    PetscCheck(t == 1.0 / 3.0 && steps == 1234567890123LL &&
                   !strcmp(note, "written at some rank count"),
               PETSC_COMM_SELF, PETSC_ERR_PLIB, "scalars differ");
    /* bit for bit: the file stores IEEE doubles as written */
    for (PetscInt i = 0; i < n; i++)
      PetscCheck(x[i] == Value(start + i, 0) && y[i] == Value(start + i, 1), PETSC_COMM_SELF,
                 PETSC_ERR_PLIB, "value %" PetscInt_FMT " differs", start + i);
    /* refusals: these must fail (errors are silenced while we provoke them) */
    {
      PetscErrorCode ierr;
      PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
      ierr = TCCheckpointOpen(PETSC_COMM_WORLD, path, "test", "model: spm\n", &ck);
      PetscCall(TCCheckpointDestroy(&ck));
      PetscCheck(ierr == PETSC_ERR_USER_INPUT, PETSC_COMM_SELF, PETSC_ERR_PLIB,
                 "another config was not refused (%d)", (int)ierr);
      ierr = TCCheckpointOpen(PETSC_COMM_WORLD, path, "cell", CONFIG, &ck);
      PetscCall(TCCheckpointDestroy(&ck));
      PetscCheck(ierr == PETSC_ERR_USER_INPUT, PETSC_COMM_SELF, PETSC_ERR_PLIB,
                 "another command was not refused (%d)", (int)ierr);
      PetscCall(PetscPopErrorHandler());
    }
    PetscCall(
        PetscPrintf(PETSC_COMM_WORLD, "checkpoint read back exactly at %d rank(s)\n", (int)size));
  } else
    SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT, "usage: test_checkpoint write|read FILE");
  PetscCall(PetscFree2(x, y));
  PetscCall(PetscFinalize());
  return 0;
}
