/*
 * Output directories and atomic files.
 *
 * A result file is written under a temporary name beside its final name
 * ("<final>.tmp-<pid>") and renamed when complete, so that a failed or
 * interrupted run never leaves a half-written result under the final name.
 * Every temporary name and every directory this process created is
 * remembered on rank 0; TCOutputAbandon() removes them (directories only
 * when empty), which main() calls when a run fails.
 */
#pragma once
#include <petscsys.h>

/* Collective. Create dir (and parents) on rank 0 and check that a file can be
   written in it; PETSC_ERR_FILE_OPEN naming the path and the reason if not. */
PETSC_EXTERN PetscErrorCode TCOutputPrepareDir(MPI_Comm comm, const char dir[]);

/* Collective. The temporary name to write final[] under (identical on all
   ranks); registered for cleanup. */
PETSC_EXTERN PetscErrorCode TCOutputTempName(MPI_Comm comm, const char final[], char tmp[],
                                             size_t len);

/* Collective. Register a working file under a name of the caller's choice
   (e.g. a CSV kept across restarts) for removal by TCOutputAbandon() if the
   run fails; TCOutputCommit() of it forgets it again. */
PETSC_EXTERN PetscErrorCode TCOutputRegister(MPI_Comm comm, const char path[]);

/* Inputs and outputs must not be the same file (an output written over the
   deck or parameter set it was made from destroys it), outputs must not land
   on each other, and neither may be a FIFO or device (a FIFO as input blocks
   for ever; rename() onto a device node replaces the node).

   TCInputCheck(): collective; rank 0 checks that path, if it exists, is a
   regular file or a directory (a TIFF stack), PETSC_ERR_FILE_OPEN if not, and
   remembers its device and inode. Call it before opening any input.

   TCOutputClaim(): collective; what names the output ("-output", "summary
   JSON") for the message. Refuses (PETSC_ERR_USER_INPUT) a final path that is
   a remembered input (same device and inode, so also through links), an
   existing non-regular file, a file name longer than NAME_MAX with the
   temporary suffix, or a path claimed before by a different output of this
   run. Commands claim all their outputs before computing, so that the refusal
   leaves nothing behind; TCOutputTempName() and TCOutputRegister() repeat the
   input and non-regular checks for every write. */
PETSC_EXTERN PetscErrorCode TCInputCheck(MPI_Comm comm, const char path[]);
/* Collective. TCOutputClaim() of dir/names[i] for the n fixed file names a
   command writes into its output directory. */
PETSC_EXTERN PetscErrorCode TCOutputClaimIn(MPI_Comm comm, const char dir[], int n,
                                            const char *const names[]);
/* Not collective: forget an input that the run rewrites by design (the
   checkpoint a restart continues from). */
PETSC_EXTERN void           TCInputForget(const char path[]);
PETSC_EXTERN PetscErrorCode TCOutputClaim(MPI_Comm comm, const char final[], const char what[]);

/* Collective. Rename tmp to final on rank 0 (after all ranks closed it). */
PETSC_EXTERN PetscErrorCode TCOutputCommit(MPI_Comm comm, const char tmp[], const char final[]);

/* Rank 0 of comm opens a temporary file for final[] (others get NULL);
   close it with TCOutputFClose(), which checks for write errors and
   commits. Collective. */
PETSC_EXTERN PetscErrorCode TCOutputFOpen(MPI_Comm comm, const char final[], FILE **fp);
PETSC_EXTERN PetscErrorCode TCOutputFClose(MPI_Comm comm, const char final[], FILE **fp);

/* Whether path is a temporary name registered for removal (rank 0). */
PETSC_EXTERN PetscBool TCOutputIsPending(const char path[]);

/* A committed final that survives a later failure of the run (a checkpoint,
   from which the run restarts). Other finals committed by a run that then
   fails are removed by TCOutputAbandon(): a run's outputs are complete or
   absent together. Not collective (rank 0 keeps the lists). */
PETSC_EXTERN void TCOutputKeep(const char final[]);
/* Every final committed from now on survives a later failure (a sweep's
   report: which tasks are done and which failed, with exit status 1). */
PETSC_EXTERN void TCOutputKeepAll(void);

/* Remove every registered temporary file, every final committed by this run
   (TCOutputKeep() excepted) and every created, now empty, directory.
   Not collective; safe to call on every rank and more than once. */
PETSC_EXTERN void TCOutputAbandon(void);
/* Forget every registered file and directory, the committed outputs, the
   inputs seen and the outputs claimed, without removing any (between the
   tasks that one process runs, tomocell sweep -local). */
PETSC_EXTERN void TCOutputForgetAll(void);

/* Collective. Lock an output directory (after TCOutputPrepareDir()) so that no
   second run writes into it at the same time: rank 0 creates and flock()s
   "<dir>/.tomocell.lock", which holds "PID HOST". A lock held by a running
   tomocell, or left by a run on another host (whose liveness this host cannot
   see), is refused with PETSC_ERR_USER_INPUT naming the pid, host and lock
   file; a lock left by a dead process of this host (SIGKILL) is taken over,
   with a note. Locking a directory this process holds already is a no-op. */
PETSC_EXTERN PetscErrorCode TCOutputLockDir(MPI_Comm comm, const char dir[]);
/* Release (remove) the locks taken since TCOutputLockMark() returned mark (0:
   all); main() releases all when a command ends, before TCOutputAbandon(),
   and a sweep the locks of each task it runs in its own process. Not
   collective. */
PETSC_EXTERN int  TCOutputLockMark(void);
PETSC_EXTERN void TCOutputUnlock(int mark);

/* Collective. TCOutputPrepareDir() for the directory that will hold the
   file path ("." when path has no directory part). */
PETSC_EXTERN PetscErrorCode TCOutputPrepareFileDir(MPI_Comm comm, const char path[]);
/* path with its extension (the last ".xxx" of the file name, if any)
   replaced by ext (".json"): out.csv -> out.json, net.h5 -> net.png. */
PETSC_EXTERN PetscErrorCode TCPathReplaceExt(const char path[], const char ext[], char buf[],
                                             size_t len);
/* "dir/name" into buf, PETSC_ERR_USER_INPUT if it does not fit. */
PETSC_EXTERN PetscErrorCode TCPathJoin(const char dir[], const char name[], char buf[], size_t len);
