/*
 * tomocell run, job "roll": the coupled electrochemical-thermal jelly-roll
 * simulation (solver/roll.h) of a roll from a geometry source
 * (mesh/rollgeom.h): the deck's synthetic spiral, a net.h5, or a CT volume.
 * The keys are those of the parts: the geometry, the elements (parameter
 * set, model, grid, microstructure), the experiment, the solver and the
 * outputs.
 */
#pragma once
#include "io/deck.h"
#include "io/rollout.h"
#include "mesh/rollgeom.h"
#include "mesh/spiral.h"
#include "solver/cellparams.h"
#include "solver/roll.h"

#define TC_ROLL_RUN_KEYS                                                                           \
  TC_ROLL_GEOM_KEYS, TC_SPIRAL_KEYS,                                                               \
      {"params", TC_KEY_STRING, "chen2020", 0, 0, PETSC_FALSE, NULL,                               \
       "job roll: parameter set (inputs/params/ name or BPX JSON path)", PETSC_FALSE},             \
      {"model", TC_KEY_ENUM, "spme", 0, 0, PETSC_FALSE, "spm|spme|dfn",                            \
       "job roll: element cell model", PETSC_FALSE},                                               \
      TC_CELL_PROPS_KEYS,                                                                          \
      {"experiment", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,                                 \
       "job roll: PyBaMM-style steps separated by ';' (as tomocell cell); default 'Discharge at "  \
       "1C until <V> V' with the set's lower voltage cut-off",                                     \
       PETSC_TRUE},                                                                                \
      {"initial_soc", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,                                \
       "job roll: initial SOC in [0, 1], or a rest voltage \"4.18 V\" (default: the set's "        \
       "State SOC, else its initial concentrations, else 1)",                                      \
       PETSC_TRUE},                                                                                \
      TC_ROLL_KEYS,                                                                                \
      {"cell_nx_n", TC_KEY_INT, "8", 1, 100000, PETSC_FALSE, NULL,                                 \
       "job roll: cells in each element's negative electrode", PETSC_FALSE},                       \
      {"cell_nx_s", TC_KEY_INT, "4", 1, 100000, PETSC_FALSE, NULL,                                 \
       "job roll: cells in each element's separator", PETSC_FALSE},                                \
      {"cell_nx_p", TC_KEY_INT, "8", 1, 100000, PETSC_FALSE, NULL,                                 \
       "job roll: cells in each element's positive electrode", PETSC_FALSE},                       \
      {"cell_nr_n", TC_KEY_INT, "20", 2, 100000, PETSC_FALSE, NULL,                                \
       "job roll: shells per negative particle", PETSC_FALSE},                                     \
      {"cell_nr_p", TC_KEY_INT, "20", 2, 100000, PETSC_FALSE, NULL,                                \
       "job roll: shells per positive particle", PETSC_FALSE},                                     \
      {"dt_max_s", TC_KEY_REAL, "60", 1e-6, 1e6, PETSC_FALSE, NULL, "job roll: largest time step, s",  \
       PETSC_FALSE},                                                                               \
      {"tol_V", TC_KEY_REAL, "1e-3", 1e-9, 1, PETSC_FALSE, NULL,                                       \
       "job roll: local error tolerance per step on the terminal voltage, V", PETSC_FALSE},        \
      {"dt_fixed_s", TC_KEY_REAL, "0", 0, 1e6, PETSC_FALSE, NULL,                                  \
       "job roll: fixed time step, s (0: adaptive)", PETSC_FALSE},                                 \
      TC_ROLL_OUTPUT_KEYS

/* Run the roll job of an open deck into outdir (created by the caller). */
PETSC_EXTERN PetscErrorCode TCRunRoll(TCDeck deck, const char deck_path[], const char outdir[]);
