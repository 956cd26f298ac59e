/*
 * A small JSON reader (RFC 8259) that builds a tree, for parameter files
 * (BPX, the Battery Parameter eXchange format). Errors name the file, the
 * line and the column and say what was expected. Numbers are doubles;
 * strings are UTF-8 as written (escapes \uXXXX above 0x7f are kept as '?').
 * Not collective: read on one rank or on every rank alike.
 */
#pragma once
#include <petscsys.h>

typedef enum {
  TC_JSON_NULL,
  TC_JSON_BOOL,
  TC_JSON_NUMBER,
  TC_JSON_STRING,
  TC_JSON_ARRAY,
  TC_JSON_OBJECT
} TCJsonType;

typedef struct _TCJsonValue TCJsonValue;
struct _TCJsonValue {
  TCJsonType    type;
  double        number;  /* NUMBER, BOOL (0/1) */
  char         *string;  /* STRING */
  PetscInt      n;       /* ARRAY, OBJECT: number of members */
  char        **keys;    /* OBJECT: member names */
  TCJsonValue **members; /* ARRAY, OBJECT */
  int           line;    /* where the value starts in the text, for messages */
};

/* Parse text (named by where[] in messages); PETSC_ERR_FILE_UNEXPECTED with
   "where:line:col: ..." on malformed input. */
PETSC_EXTERN PetscErrorCode TCJsonParse(const char text[], const char where[], TCJsonValue **root);
/* Read and parse a file; PETSC_ERR_FILE_OPEN if it cannot be read. */
PETSC_EXTERN PetscErrorCode TCJsonParseFile(const char path[], TCJsonValue **root);
PETSC_EXTERN PetscErrorCode TCJsonFree(TCJsonValue **root);
/* Member of an object by exact name, or NULL. */
PETSC_EXTERN const TCJsonValue *TCJsonGet(const TCJsonValue *obj, const char key[]);
