/*
 * Subcommands of the tomocell executable. Each is a thin driver over the
 * library: read options, call library functions, report.
 */
#pragma once
#include "io/deck.h"
#include <petscsys.h>

typedef struct {
  const char *name;
  const char *summary;
  const char *usage;
  void (*help)(void);                                 /* prints keys; no MPI/PETSc needed */
  PetscErrorCode (*run)(int npos, char **positional); /* after PetscInitialize */
  int          min_pos, max_pos;                      /* positional arguments accepted */
  const TCKey *keys;                                  /* deck keys (what a sweep may vary) */
  PetscInt     nkeys;
  const char  *sweep_output;  /* -output for a sweep task, relative to its directory */
  const char  *sweep_summary; /* the JSON a sweep gathers from, relative to the task directory */
} TCCommand;

/* A defaulted output path (no -output given) that exists from an earlier run
   is replaced; this prints one line saying so (not collective: every rank
   checks, rank 0 prints). */
PETSC_EXTERN PetscErrorCode TCNoteDefaultOutput(MPI_Comm comm, const char cmd[], const char path[]);

/* The table of commands (main.c), for tomocell sweep. */
PETSC_EXTERN const TCCommand *TCCommandFind(const char *name);
/* The environment tomocell was started with (before MPI added its own
   variables): sweep tasks are started with it. */
PETSC_EXTERN char **TCStartEnvironment(void);

PETSC_EXTERN const TCCommand TCCommandRun;
PETSC_EXTERN const TCCommand TCCommandTortuosity;
PETSC_EXTERN const TCCommand TCCommandMicrostructure;
PETSC_EXTERN const TCCommand TCCommandSweep;
PETSC_EXTERN const TCCommand TCCommandCell;
PETSC_EXTERN const TCCommand TCCommandGeometry;
PETSC_EXTERN const TCCommand TCCommandTrace;
PETSC_EXTERN const TCCommand TCCommandCompare;
PETSC_EXTERN const TCCommand TCCommandAbuse;
PETSC_EXTERN const TCCommand TCCommandFit;
