/*
 * Parameter sweeps over deck keys: expansion into tasks, and reading values
 * back out of the tasks' JSON summaries.
 *
 * A sweep file (YAML) names a tomocell command, its input, a kind and the
 * parameters:
 *
 *   sweep:
 *     command: run              # any tomocell command with deck keys
 *     input: inputs/demo.yaml   # its positional argument (deck or volume)
 *     kind: product             # product | zip | lhs
 *     samples: 8                # lhs: number of tasks
 *     seed: 1                   # lhs: random seed
 *     output: output/sweep      # sweep directory (default output/<sweep name>)
 *     ranks: 1                  # MPI ranks per task
 *   parameters:
 *     foil_thickness_m: [10e-6, 15e-6, 20e-6]        # a list
 *     load_current_A: {from: 1, to: 5, num: 3}       # a linear range
 *     foil_sigma_S_m: {from: 1e7, to: 1e8, num: 3, log: true}
 *     tab_to_m: {min: 0.03, max: 0.06}               # lhs: an interval
 *   gather:
 *     outputs: [results.effective_resistance_ohm]    # dotted paths in the summary
 *     plot_x: foil_thickness_m
 *     plot_y: results.effective_resistance_ohm
 *
 * product: the cartesian product of all parameters (the first varies
 * slowest); zip: the i-th task takes the i-th value of every parameter (equal
 * lengths); lhs: Latin hypercube over {min, max} intervals, one stratum per
 * task and parameter, strata permuted independently (McKay et al. 1979).
 */
#pragma once
#include <petscsys.h>

typedef enum { TC_SWEEP_PRODUCT, TC_SWEEP_ZIP, TC_SWEEP_LHS } TCSweepKind;

typedef struct {
  char        command[64], input[PETSC_MAX_PATH_LEN], output[PETSC_MAX_PATH_LEN];
  char        name[PETSC_MAX_PATH_LEN]; /* the sweep file's base name */
  TCSweepKind kind;
  PetscInt    samples, ranks;
  long long   seed;
  PetscInt    nparams;
  char      **params; /* nparams keys */
  PetscInt    ntasks;
  char      **values; /* ntasks * nparams values as text, row-major */
  PetscInt    nout;
  char      **outputs; /* gather: dotted paths */
  char        plot_x[128], plot_y[128];
} TCSweep;

/* Collective (every rank reads the file). Parse and expand path. Parameter
   keys are checked against keys[0..nkeys-1] (the command's deck keys); an
   unknown key, an empty range, unequal zip lengths or a list in an lhs sweep
   are PETSC_ERR_USER_INPUT errors that name the key. */
PETSC_EXTERN PetscErrorCode TCSweepLoad(MPI_Comm comm, const char path[], const char *const keys[],
                                        PetscInt nkeys, TCSweep *sw);
PETSC_EXTERN PetscErrorCode TCSweepFree(TCSweep *sw);
/* Collective. Just the sweep: command of path (to choose the key table). */
PETSC_EXTERN PetscErrorCode TCSweepPeekCommand(MPI_Comm comm, const char path[], char cmd[],
                                               size_t len);

/* The number at a dotted path ("results.tau" or "directions.x.tau") of a
   JSON text; PETSC_FALSE in *found if absent or not a number (null gives
   NaN and found). Not collective. */
PETSC_EXTERN PetscErrorCode TCJsonLookup(const char *json, const char *path, double *value,
                                         PetscBool *found);
