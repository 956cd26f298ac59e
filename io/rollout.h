/*
 * TCRollOutput: what a coupled jelly-roll run (`tomocell run`, job roll)
 * records and writes.
 *
 * While stepping, TCRollOutputMonitor (a TCExperimentMonitor) keeps after
 * every accepted step one row of scalars (the summary.csv columns), the
 * run's findings (hottest point, largest current heterogeneity, lowest anode
 * potential and where, time below 0 V vs Li) and, every output_interval_s,
 * a snapshot of every node field (solver/roll.h, TCRollField), and prints a
 * progress line every 2 s. Its state goes into checkpoints
 * (TCRollOutputCheckpointSave/Load), so a restart continues the same files
 * bit for bit.
 *
 * At the end TCRollOutputWrite writes into the output directory, each file
 * atomically (io/output.h):
 *   results.h5          the network (mesh/rollnet.h layout: nodes, edges,
 *                       layers, curves, defects), the final node fields,
 *                       /time_s and /series/<field> [snapshots x nodes],
 *                       /probes/time_s and /probes/T_<name>_K [rows] (each
 *                       with attributes r_m, theta_rad, z_m, node_r_m,
 *                       node_theta_rad, node_z_m, distance_m),
 *                       /mesh/cells (the unrolled sheets), roll_centre_m;
 *   results.xmf         the final fields on the network (io/results.h);
 *   results_series.xmf  a temporal collection of the snapshots on the sheets;
 *   summary.csv         one row per accepted step (with a column T_<name>_K
 *                       per probe: the temperature of the thermal node
 *                       nearest a named point, solver/roll.h);
 *   summary.json        the run's description, geometry (mesh/rollgeom.h),
 *                       microstructure, findings, balances, steps, timing;
 *   PNG plots           through tools/plot_run.py (plots: true).
 */
#pragma once
#include "io/deck.h"
#include "mesh/rollgeom.h"
#include "solver/roll.h"
#include "io/checkpoint.h"

#define TC_ROLL_OUTPUT_KEYS                                                                        \
  {"output_interval_s",                                                                            \
   TC_KEY_REAL,                                                                                    \
   "60",                                                                                           \
   1e-3,                                                                                           \
   1e9,                                                                                            \
   PETSC_FALSE,                                                                                    \
   NULL,                                                                                           \
   "job roll: time between field snapshots in results.h5, s",                                     \
   PETSC_FALSE},                                                                                   \
      {"plots", TC_KEY_BOOL, "true", 0, 0, PETSC_FALSE, NULL,                                      \
       "job roll: PNG plots (needs /usr/bin/python3 with matplotlib)", PETSC_FALSE},               \
      {"plot_times_s", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,                               \
       "job roll: times of the map plots, comma-separated, s (default: middle and end)",           \
       PETSC_TRUE},                                                                                \
      {"probes", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,                                     \
       "job roll: probes as a list of named places (can_mid, can_positive_end, can_negative_end, " \
       "core_mid), each a column T_<place>_K of summary.csv and a series in results.h5",          \
       PETSC_TRUE},                                                                                \
      {"probes_*", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,                                   \
       "job roll: probe <name> (the map probes: {<name>: ...}): a named place or a point "         \
       "[r_m, theta_rad, z_m]; column T_<name>_K",                                                 \
       PETSC_TRUE}

typedef struct _p_TCRollOutput *TCRollOutput;

/* What the driver knows of the run, for summary.json (all borrowed). */
typedef struct {
  const char                 *deck_path, *model, *params, *experiment;
  const TCCellParams         *p;
  const TCRollParams         *rp;
  const TCCellMicrostructure *micro;
  const TCExperimentSummary  *sum;
  PetscLogDouble              t_setup_s, t_stepping_s; /* wall times */
} TCRollRunDesc;

/* Collective. roll, geom and deck are borrowed and must outlive the output;
   state is the driver's committed state (read at every monitor call). */
PETSC_EXTERN PetscErrorCode TCRollOutputCreate(TCRoll roll, TCRollGeom geom, TCDeck deck,
                                               const PetscReal *state, TCRollOutput *out);
/* Reads TC_ROLL_OUTPUT_KEYS. */
PETSC_EXTERN PetscErrorCode TCRollOutputSetFromDeck(TCRollOutput o);
/* For the progress line: experiment steps and the expected duration (s; < 0
   unknown), and the wall time stepping started. */
PETSC_EXTERN PetscErrorCode TCRollOutputSetProgress(TCRollOutput o, PetscInt nexp,
                                                    PetscReal total_s, PetscLogDouble t_start);
/* The TCExperimentMonitor (ctx: the TCRollOutput). */
PETSC_EXTERN PetscErrorCode TCRollOutputMonitor(const TCExperimentPoint *pt,
                                                const TCCellResult *res, void *ctx);
/* The monitor's state in a checkpoint (collective). */
PETSC_EXTERN PetscErrorCode TCRollOutputCheckpointSave(TCRollOutput o, TCCheckpoint ck);
PETSC_EXTERN PetscErrorCode TCRollOutputCheckpointLoad(TCRollOutput o, TCCheckpoint ck);
/* After the last step: the final snapshot, and every file above into outdir
   (which exists). Collective. */
PETSC_EXTERN PetscErrorCode TCRollOutputWrite(TCRollOutput o, const char outdir[],
                                              const TCRollRunDesc *d);
/* The run's findings so far (T_max of the run, etc.), for the driver's
   report lines. */
typedef struct {
  PetscReal T_max_K, heterogeneity_max, anode_min_V, plating_time_s;
} TCRollFindings;
PETSC_EXTERN PetscErrorCode TCRollOutputGetFindings(TCRollOutput o, TCRollFindings *f);
PETSC_EXTERN PetscErrorCode TCRollOutputDestroy(TCRollOutput *o);
