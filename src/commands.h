/*
 * Subcommands of the tomocell executable. Each is a thin driver over the
 * library: read options, call library functions, report.
 */
#pragma once
#include <petscsys.h>

typedef struct {
  const char *name;
  const char *summary;
  const char *usage;
  void (*help)(void);                                 /* prints keys; no MPI/PETSc needed */
  PetscErrorCode (*run)(int npos, char **positional); /* after PetscInitialize */
  int min_pos, max_pos;                               /* positional arguments accepted */
} TCCommand;

PETSC_EXTERN const TCCommand TCCommandRun;
PETSC_EXTERN const TCCommand TCCommandGeometry;
PETSC_EXTERN const TCCommand TCCommandTrace;
