/*
 * TCRollGeom: the jelly-roll network of a coupled run (`tomocell run`, job
 * roll) and what the solver must know of its geometry, from one of these
 * sources (deck key `geometry`):
 *
 *   spiral   no `geometry` key: the synthetic spiral of the preset, spiral_*
 *            and tab_* keys (mesh/spiral.h), as `tomocell geometry` builds it;
 *   network  `geometry: net.h5`, a network file of `tomocell geometry` or
 *            `tomocell trace`: its stored source curves, layers, tabs and
 *            defects are built again (mesh/rollnet.h, TCRollNetFile*), with
 *            the run's node spacing and tabs where the deck sets them;
 *   volume   `geometry: scan.h5` (Data Exchange) or a TIFF stack: traced by
 *            the run with the trace_* keys of `tomocell trace`
 *            (mesh/tracevol.h), the traced network written beside the results.
 *
 * A new source is one build function and one row of the table in
 * rollgeom.c; the driver does not change.
 *
 * The cell the geometry describes must be the cell of the parameter set:
 *  - a synthetic spiral, or a net.h5 written from one, carries its stack
 *    (coatings and separator): each must be within 2 % of the set's (as
 *    before: the key to change is named);
 *  - a traced roll has no stack but its winding pitch: the pitch of the set's
 *    stack, p = t_Cu + t_Al + 2 (L_n + L_s + L_p), must be within
 *    geometry_pitch_tolerance (5 %) of the traced one, and a 3-D volume's
 *    traced height within geometry_height_tolerance (5 %) of the electrode
 *    height (spiral_height_m or the preset's); a 2-D slice is extruded over
 *    that height. The messages give both numbers and the key to override.
 * For a traced roll the thermal network takes the set's coatings and the
 * trace's foil thicknesses, scaled together so that they fill the traced pitch
 * (the nodes then tile the traced roll); the elements keep the set's
 * electrodes (capacity per area), on the traced area.
 */
#pragma once
#include "io/deck.h"
#include "io/json.h"
#include "mesh/rollnet.h"
#include "mesh/tracevol.h"
#include "solver/cellparams.h"

/* The deck keys of the geometry of a coupled roll (besides TC_SPIRAL_KEYS,
   which the spiral source reads and the others use for the electrode height). */
#define TC_ROLL_GEOM_KEYS                                                                          \
  {"geometry",                                                                                     \
   TC_KEY_STRING,                                                                                  \
   NULL,                                                                                           \
   0,                                                                                              \
   0,                                                                                              \
   PETSC_FALSE,                                                                                    \
   NULL,                                                                                           \
   "job roll: the roll from a file: a net.h5 of tomocell geometry/trace, or a CT volume to "      \
   "trace (Data Exchange HDF5 or TIFF; trace_* keys as tomocell trace); default: the synthetic "   \
   "spiral of the preset and spiral_* keys",                                                       \
   PETSC_TRUE},                                                                                    \
      TC_TRACE_KEYS,                                                                               \
      {"geometry_pitch_tolerance",                                                                 \
       TC_KEY_REAL,                                                                                \
       "0.05",                                                                                     \
       0,                                                                                          \
       10,                                                                                         \
       PETSC_FALSE,                                                                                \
       NULL,                                                                                       \
       "job roll: largest relative difference between a traced roll's winding pitch and the "     \
       "pitch of the parameter set's stack",                                                       \
       PETSC_FALSE},                                                                               \
      {"geometry_height_tolerance",                                                                \
       TC_KEY_REAL,                                                                                \
       "0.05",                                                                                     \
       0,                                                                                          \
       10,                                                                                         \
       PETSC_FALSE,                                                                                \
       NULL,                                                                                       \
       "job roll: largest relative difference between a traced volume's height and the "         \
       "electrode height (spiral_height_m or the preset's)",                                       \
       PETSC_FALSE},                                                                               \
  {                                                                                                \
    "tab_contact_ohm_m", TC_KEY_REAL, "5e-7", 0, 1, PETSC_TRUE, NULL,                              \
        "tab contact resistance x tab width, ohm m (5e-7: 0.1 mOhm for a 5 mm tab)", PETSC_FALSE   \
  }

/* What the run's network was built from, and its geometry. */
typedef struct {
  const char *source;                  /* "spiral", "network", "volume" */
  char        path[PETSC_MAX_PATH_LEN]; /* the geometry file ("" for the spiral) */
  char        origin[16];              /* of a net.h5: "geometry" or "trace" */
  PetscBool   traced;                  /* the roll comes from CT (no stack of its own) */
  PetscInt    foils_given;             /* foils in the source: 2, or 1 (the other built) */
  PetscInt    built_foil;              /* TC_FOIL_CU, TC_FOIL_AL, or -1 */
  PetscReal   centre_m[2];             /* roll axis (mean over the layers) */
  PetscReal   pitch_m;                 /* winding pitch of the network */
  PetscReal   set_pitch_m;             /* pitch of the parameter set's stack */
  PetscReal   t_m[5];                  /* Cu, Al, negative, separator, positive as the thermal
                                          network uses them */
  PetscReal   height_m;                /* electrode height the layers span */
  PetscReal   z_mid_m;                 /* mid-height of the layers */
  PetscReal   cell_height_m;           /* the electrode height of the deck (preset/spiral) */
  PetscReal   length_m[2], turns[2];   /* Cu and Al foil (mean over layers) */
  PetscInt    ns[2], layers, elements;
  PetscInt    ndefects;
  const TCRollDefect *defects;
  PetscInt    nunused;                 /* spiral keys the deck sets that this source ignores */
  char        unused[512];             /* their names, comma-separated */
} TCRollGeomInfo;

typedef struct _p_TCRollGeom *TCRollGeom;

PETSC_EXTERN PetscErrorCode TCRollGeomCreate(MPI_Comm comm, TCRollGeom *g);
/* Reads TC_ROLL_GEOM_KEYS, TC_SPIRAL_KEYS and (for a volume) the trace keys.
   Checks the keys only; nothing is built or read yet. */
PETSC_EXTERN PetscErrorCode TCRollGeomSetFromDeck(TCRollGeom g, TCDeck deck);
/* Collective. Build the network for the coupled solver (terminals, tab joints,
   element weight), check it against the parameter set p (see above), and fill
   the info. Nothing is written (a volume is traced in memory). */
PETSC_EXTERN PetscErrorCode TCRollGeomSetUp(TCRollGeom g, const TCCellParams *p,
                                            PetscInt element_weight);
/* Collective. The files of the geometry beside the results in dir, after a
   run: for a traced volume its network dir/traced_net.h5 (+ .xmf), the
   trace summary dir/traced_net.json and the PNG dir/traced_net.png, as
   tomocell trace writes them; nothing for the other sources. */
PETSC_EXTERN PetscErrorCode TCRollGeomWriteFiles(TCRollGeom g, const char dir[],
                                                 const TCRunMeta *meta);
PETSC_EXTERN PetscErrorCode TCRollGeomGetNetwork(TCRollGeom g, TCRollNet *net);
PETSC_EXTERN PetscErrorCode TCRollGeomGetInfo(TCRollGeom g, const TCRollGeomInfo **info);
/* The "geometry" object of summary.json (members of the open object). */
PETSC_EXTERN PetscErrorCode TCRollGeomWriteJSON(TCRollGeom g, TCJson *js);
/* Rank 0 prints what was built (one or two lines, with any built foil and
   unused keys said loudly). Collective. */
PETSC_EXTERN PetscErrorCode TCRollGeomView(TCRollGeom g);
PETSC_EXTERN PetscErrorCode TCRollGeomDestroy(TCRollGeom *g);
