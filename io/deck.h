/*
 * Decks: YAML files read through PETSc's options database.
 *
 * A deck is a YAML mapping; nested mappings join their keys with '_'
 * (foil: {length_m: 0.6} is the key foil_length_m), as PETSc's YAML reader
 * does. Every key is also a command-line option (-foil_length_m 0.6) and the
 * command line wins over the deck, so sweeps and Slurm arrays override keys
 * without writing new files.
 *
 * Each subcommand declares its keys in a TCKey table: type, unit-bearing
 * help, default, allowed range or choices. The table drives validation
 * (unknown, missing and out-of-range keys are errors that name the key, the
 * value and what is accepted) and --help.
 */
#pragma once
#include <petscsys.h>
/* Collective. The strict-YAML checks of a deck (one document, no duplicate
   key, no NUL byte, bounded nesting; see deck.c) for another YAML file read
   with PETSc's reader (a sweep file); PETSC_ERR_FILE_UNEXPECTED naming the
   line. */
PETSC_EXTERN PetscErrorCode TCYAMLCheckFile(MPI_Comm comm, const char path[], const char what[]);
#include <petscsys.h>

typedef enum { TC_KEY_REAL, TC_KEY_INT, TC_KEY_STRING, TC_KEY_BOOL, TC_KEY_ENUM } TCKeyType;

typedef struct {
  const char *name; /* deck key; the option is -name */
  TCKeyType   type;
  const char *defval;   /* default as text; NULL: required (unless optional) */
  PetscReal   lo, hi;   /* allowed range for REAL/INT (inclusive unless lo_open) */
  PetscBool   lo_open;  /* lower bound exclusive (value must be > lo) */
  const char *choices;  /* ENUM: "a|b|c" */
  const char *help;     /* one line, with the unit */
  PetscBool   optional; /* no default and not required */
} TCKey;

typedef struct _p_TCDeck *TCDeck;

/* Collective. keys must outlive the deck. */
PETSC_EXTERN PetscErrorCode TCDeckCreate(MPI_Comm comm, const char cmd[], const TCKey keys[],
                                         PetscInt nkeys, TCDeck *deck);
PETSC_EXTERN PetscErrorCode TCDeckDestroy(TCDeck *deck);
/* Destroy every deck still alive: main() after a command stopped on an error
   (its decks are unreachable then), a sweep after a task that did. */
PETSC_EXTERN void TCDeckDestroyAll(void);
/* Keys of another command that a deck file may hold (one deck serving two
   commands, e.g. a run deck given to tomocell geometry): accepted in the
   file and not used (TCDeckLoad prints one line naming them), refused on the
   command line. Call before TCDeckLoad; keys must outlive the deck. */
PETSC_EXTERN PetscErrorCode TCDeckSetForeignKeys(TCDeck deck, const char cmd[], const TCKey keys[],
                                                 PetscInt nkeys);
/* Whether the deck file holds the foreign key name (NULL: any) (after TCDeckLoad). */
PETSC_EXTERN PetscErrorCode TCDeckHasForeignKey(TCDeck deck, const char name[], PetscBool *has);
/* Collective. Read path (NULL: no deck file), reject unknown keys, and merge
   the deck into the options database below the command line. Also rejects
   command-line options that look like deck keys (same first word) but are
   not, e.g. -foil_lenght_m. */
PETSC_EXTERN PetscErrorCode TCDeckLoad(TCDeck deck, const char path[]);
/* Typed access with range checks; the value comes from the command line, the
   deck, or the key's default, in that order. */
PETSC_EXTERN PetscErrorCode TCDeckGetReal(TCDeck deck, const char name[], PetscReal *value);
PETSC_EXTERN PetscErrorCode TCDeckGetInt(TCDeck deck, const char name[], PetscInt *value);
PETSC_EXTERN PetscErrorCode TCDeckGetBool(TCDeck deck, const char name[], PetscBool *value);
PETSC_EXTERN PetscErrorCode TCDeckGetString(TCDeck deck, const char name[], char value[],
                                            size_t len, PetscBool *set);
/* Whether the key's value comes from the deck file (not the command line or
   the default). */
PETSC_EXTERN PetscErrorCode TCDeckIsFromFile(TCDeck deck, const char name[], PetscBool *fromfile);
/* Whether the key was given (deck or command line) rather than defaulted; for a
   prefix key's own name ("probes_*"), whether any name of that prefix was. */
PETSC_EXTERN PetscErrorCode TCDeckIsSet(TCDeck deck, const char name[], PetscBool *set);
/* Prefix keys: a key named "probes_*" in the table accepts every
   probes_<name> (the YAML map probes: {<name>: value}); each is read with
   TCDeckGet* by its full name. The names given (deck and command line, at
   most max), borrowed from the deck. */
PETSC_EXTERN PetscErrorCode TCDeckGetPrefixed(TCDeck deck, const char prefix[], PetscInt *n,
                                              const char *names[], PetscInt max);
/* ENUM: index into the choices. */
PETSC_EXTERN PetscErrorCode TCDeckGetEnum(TCDeck deck, const char name[], PetscInt *index);
/* The deck file's text (empty without a deck) and its base name without
   extension ("demo" for inputs/demo.yaml). */
PETSC_EXTERN PetscErrorCode TCDeckGetText(TCDeck deck, const char **text);
PETSC_EXTERN PetscErrorCode TCDeckGetName(TCDeck deck, const char **name);
/* Every key with its effective value, "key: value" lines (for metadata). */
PETSC_EXTERN PetscErrorCode TCDeckGetEffective(TCDeck deck, char **text);
/* Print the key table as help (not collective; stdout). */
PETSC_EXTERN void TCDeckPrintKeys(const TCKey keys[], PetscInt nkeys);
