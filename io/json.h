/*
 * A small streaming JSON writer for summaries and reports. Writes to a FILE*
 * owned by the caller; keeps just enough state (nesting and first-element
 * flags) to place commas. Not collective: call it on the rank that owns the
 * file (rank 0). Non-finite reals are written as null, since JSON has no NaN.
 */
#pragma once
#include <petscsys.h>
#include <stdio.h>

typedef struct {
  FILE     *fp;
  int       depth;
  PetscBool first[32];
  PetscBool pretty;
} TCJson;

PETSC_EXTERN void TCJsonBegin(TCJson *js, FILE *fp);
PETSC_EXTERN void TCJsonEnd(TCJson *js);
PETSC_EXTERN void TCJsonObjectBegin(TCJson *js, const char *key); /* key NULL inside arrays / top */
PETSC_EXTERN void TCJsonObjectEnd(TCJson *js);
PETSC_EXTERN void TCJsonArrayBegin(TCJson *js, const char *key);
PETSC_EXTERN void TCJsonArrayEnd(TCJson *js);
PETSC_EXTERN void TCJsonString(TCJson *js, const char *key, const char *value);
PETSC_EXTERN void TCJsonReal(TCJson *js, const char *key, double value);
PETSC_EXTERN void TCJsonInt(TCJson *js, const char *key, long long value);
PETSC_EXTERN void TCJsonBool(TCJson *js, const char *key, PetscBool value);
PETSC_EXTERN void TCJsonNull(TCJson *js, const char *key);
