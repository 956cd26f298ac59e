/*
 * Checkpoints: one HDF5 file with everything a time-stepping command needs
 * to continue a run exactly where it stopped -- named state arrays
 * (distributed over the ranks in rank order, so a file written at P ranks
 * reads back at Q), named scalars (reals, integers, strings) and metadata
 * that identify the run:
 *
 *   /                 format = "tomocell-checkpoint", format_version, version
 *                     (TC_VERSION), git, command, config (the effective
 *                     deck: "key: value" lines), config_hash, nranks, written
 *   /scalars          one attribute per scalar
 *   /arrays/<name>    one double dataset per array, global length = the sum
 *                     of the ranks' local lengths
 *
 * Writing is atomic: the file is written under a temporary name beside the
 * final one, closed, fsync'ed, and renamed over the previous checkpoint,
 * and the directory is fsync'ed; until the rename the previous good
 * checkpoint is untouched. Opening for a restart refuses a file from another
 * command, another tomocell version or another configuration with a message
 * that names the difference.
 *
 * All functions are collective on the communicator given at create/open.
 */
#pragma once
#include <petscsys.h>
#include <stdint.h>

typedef struct _p_TCCheckpoint *TCCheckpoint;

/* Begin writing the checkpoint that will replace path. command is the
   subcommand ("cell"); config the text that defines the run (compared on
   restart, line by line). */
PETSC_EXTERN PetscErrorCode TCCheckpointCreate(MPI_Comm comm, const char path[],
                                               const char command[], const char config[],
                                               TCCheckpoint *ck);
/* Scalars: the same value is passed on every rank (rank 0's is stored). */
PETSC_EXTERN PetscErrorCode TCCheckpointSetReal(TCCheckpoint ck, const char name[],
                                                PetscReal value);
PETSC_EXTERN PetscErrorCode TCCheckpointSetInt(TCCheckpoint ck, const char name[],
                                               PetscInt64 value);
PETSC_EXTERN PetscErrorCode TCCheckpointSetString(TCCheckpoint ck, const char name[],
                                                  const char value[]);
/* This rank's n reals of array name (the ranks' parts are concatenated in
   rank order). */
PETSC_EXTERN PetscErrorCode TCCheckpointWriteArray(TCCheckpoint ck, const char name[], PetscInt n,
                                                   const PetscReal a[]);
/* Close, fsync and rename into place. After it, only Destroy. */
PETSC_EXTERN PetscErrorCode TCCheckpointCommit(TCCheckpoint ck);

/* Open path for a restart and check that it is a checkpoint of this
   version, command and config; PETSC_ERR_FILE_OPEN / _FILE_UNEXPECTED /
   _USER_INPUT with a message naming the file and the difference if not. */
PETSC_EXTERN PetscErrorCode TCCheckpointOpen(MPI_Comm comm, const char path[], const char command[],
                                             const char config[], TCCheckpoint *ck);
/* Missing names are an error (PETSC_ERR_FILE_UNEXPECTED) naming the file. */
PETSC_EXTERN PetscErrorCode TCCheckpointGetReal(TCCheckpoint ck, const char name[],
                                                PetscReal *value);
PETSC_EXTERN PetscErrorCode TCCheckpointGetInt(TCCheckpoint ck, const char name[],
                                               PetscInt64 *value);
PETSC_EXTERN PetscErrorCode TCCheckpointGetString(TCCheckpoint ck, const char name[], char value[],
                                                  size_t len);
/* This rank's n reals of array name; the ranks' n must add up to the
   stored length. */
PETSC_EXTERN PetscErrorCode TCCheckpointReadArray(TCCheckpoint ck, const char name[], PetscInt n,
                                                  PetscReal a[]);

/* Close; a checkpoint being written and not committed is removed, and the
   previous one stays. Sets *ck = NULL. */
PETSC_EXTERN PetscErrorCode TCCheckpointDestroy(TCCheckpoint *ck);

/* 64-bit FNV-1a hash of n bytes, continuing from h (start with
   TC_HASH_INIT); for fingerprints of configs and of files written so far. */
#define TC_HASH_INIT 14695981039346656037ULL
PETSC_EXTERN uint64_t TCHash(uint64_t h, const void *data, size_t n);
