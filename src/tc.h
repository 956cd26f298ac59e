/*
 * tomocell: common definitions shared by every module -- log events, the
 * user-facing error handler and small helpers. Include this first.
 */
#pragma once
#include <petscsys.h>
#include "tcversion.h"

/* PetscLogEvents, one per phase, so that -log_view shows where time goes. */
PETSC_EXTERN PetscClassId  TC_CLASSID;
PETSC_EXTERN PetscLogEvent TC_EVENT_DeckRead, TC_EVENT_Build, TC_EVENT_Partition,
    TC_EVENT_Distribute, TC_EVENT_Assemble, TC_EVENT_Solve, TC_EVENT_Write, TC_EVENT_Checkpoint,
    TC_EVENT_Elements; /* TCElements: one pass over a coupled roll's elements (each evaluated once) */

/* Register classes and events and install the error handler. Call once after
   PetscInitialize(). Not collective. */
PETSC_EXTERN PetscErrorCode TCInitialize(void);

/* The error handler prints user-input errors (PETSC_ERR_USER_INPUT,
   PETSC_ERR_FILE_OPEN, PETSC_ERR_FILE_READ, PETSC_ERR_FILE_WRITE,
   PETSC_ERR_FILE_UNEXPECTED) as one line "tomocell: error: ..." on the first
   rank of the communicator that raised them, and everything else as PETSc's
   usual traceback. TCErrorWasCollective() tells main() whether every rank of
   PETSC_COMM_WORLD raised the error (then a clean PetscFinalize is safe) or
   only some (then it must MPI_Abort to avoid a hang). */
PETSC_EXTERN PetscBool TCErrorWasCollective(void);

/* Exit status of a run that returns without error: 0 unless a command sets
   another (TC_EXIT_CHECKPOINTED: stopped by a signal and checkpointed;
   resubmit with -restart). main() returns it. */
#define TC_EXIT_CHECKPOINTED 3
PETSC_EXTERN void TCSetExitStatus(int status);
PETSC_EXTERN int  TCGetExitStatus(void);

/* Rank-0 progress output with C printf formatting (PETSc's own printf turns
   %g of 15.0 into "15." which reads badly in a report). Collective on comm. */
PETSC_EXTERN PetscErrorCode TCPrintf(MPI_Comm comm, const char *fmt, ...)
    PETSC_ATTRIBUTE_FORMAT(2, 3);

/* A number formatted with C's %g, for error messages: PETSc formats %g of
   5000.0 as "5000." (SETERRQ/PetscCheck use its printf). Use as
   PetscCheck(..., "t = %s s", TCG(t).s); the temporary lives until the end
   of the full expression (C11 6.2.4). */
typedef struct {
  char s[32];
} TCNum;
static inline TCNum TCG(double v)
{
  TCNum n;
  snprintf(n.s, sizeof(n.s), "%g", v);
  return n;
}

/* Case-insensitive "did you mean" helper: the candidate closest to name in
   edit distance, or NULL when none is within a third of its length. */
PETSC_EXTERN const char *TCClosestName(const char *name, const char *const *candidates, PetscInt n);

/* Collective. Sum (and, if max_bytes is not NULL, maximum) over the ranks of
   comm of each process's peak resident memory (getrusage ru_maxrss), bytes;
   includes MPI and PETSc start-up. */
/* Collective. Before allocating count elements (what: "microstructure volume
   2100 x 2100 x 500 voxels"), needing bytes per rank in all: refuses
   (PETSC_ERR_USER_INPUT, naming hint, the option to change) a count beyond
   the largest index of this build (PetscInt) or bytes beyond the physical
   memory of the node, with the memory the request would need. Sizes are
   given as doubles so that the product itself cannot overflow. */
PETSC_EXTERN PetscErrorCode TCCheckSize(MPI_Comm comm, const char what[], double count,
                                        double bytes, const char hint[]);
PETSC_EXTERN PetscErrorCode TCPeakRSS(MPI_Comm comm, double *sum_bytes, double *max_bytes);
