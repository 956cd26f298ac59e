/*
 * The jelly-roll network (DESIGN.md, "The cell-scale network") built from
 * foil centre lines, whatever their source: the synthetic spiral
 * (mesh/spiral.h) or CT tracing (mesh/trace.h).
 *
 * Input: node layers at heights z_k (one CT slice each, or one curve
 * extruded over the height); in each layer the centre line of the negative
 * (Cu, foil 0) and, optionally, the positive (Al, foil 1) current collector as
 * ordered polylines, inner end first.
 *
 * Nodes: foil f has ns_f nodes per layer at arc length s_i = i L_fk/(ns_f - 1),
 * ns_f = round(max_k L_fk / ds) + 1, so the grid is regular in (i, k) while
 * each layer keeps its own traced length. Input id of node (k, f, i) is
 * k NS + off_f + i (NS = ns_0 + ns_1): layer-major, so that each rank owns the
 * layers it traced.
 * Foil edges: G = sigma t w / l, along s (w = strip height, halved on the
 * bottom and top layers unless the layers are CT slices; the full height for
 * a single layer) and along z
 * (w = ds, halved at the foil ends), as in mesh/sheet.h.
 * Electrochemical elements: each Al node casts a line along its normal,
 * inward and outward; the first Cu centre line it meets within search_m is
 * the facing foil (the inner face pairs with the Cu of the same turn, the
 * outer face with the Cu of the next turn), and the element joins the Al node
 * to the Cu node nearest to that point. Found geometrically, so off-centre or
 * deformed windings change the pairing. Element area dA = ds w of the Al node
 * strip, conductance dA / ASR (the linear element of `tomocell geometry`;
 * the coupled solver builds with ASR 1, so G = dA, and puts a cell model on
 * every element edge). No element where a coating is missing.
 * One traced foil (most segmentations mark one layer): where a layer has a
 * curve for one foil only, the other is built as the facing layer half a
 * pitch away, midway between successive windings of the traced one (outward
 * of a traced Cu, inward of a traced Al, as in the stack of mesh/spiral.h,
 * whose Al centre line lies half a pitch outside the Cu of its turn); beyond
 * the last (first) winding the local pitch of the winding before (after) is
 * extrapolated, and a curve of less than one turn uses pitch_m. The built
 * curve shares the traced one's rays, so it spans the same angle.
 * Tabs: Cu tab nodes on the bottom layer, Al tab nodes on the top layer; a
 * foil without any tab node is an error naming its tab keys.
 * With terminals (for the coupled solver), two more nodes follow the foil
 * nodes on the last rank: the negative terminal (input id NL NS, tag 2,
 * fixed at 0 V) joined to every Cu tab node, and the positive terminal (id
 * NL NS + 1, tag 3, free) joined to every Al tab node, each joint with
 * G = (node strip length) / tab_ohm_m, the tab's contact resistance times its
 * width. Node weights: an Al node that carries elements weighs
 * 1 + 2 element_weight (METIS balances element cost, not nodes).
 * Every node records its strip area (ds w) and length (ds) in TCNode.
 */
#pragma once
#include "mesh/graph.h"
#include "mesh/spiral.h"
#include "io/results.h"

typedef struct {
  PetscInt   n;
  PetscReal *x, *y; /* m, borrowed */
} TCRollCurve;

typedef struct {
  PetscInt  nfoils;         /* foils given (1 or 2; see "One traced foil" above) */
  PetscInt  label[2];       /* label of each foil in the source (for output) */
  PetscReal thickness_m[2]; /* foil thickness */
  PetscReal sigma_S_m[2];
  TCTabs    tabs[2];
  PetscReal ds_m;       /* node spacing along s */
  PetscReal height_m;   /* strip height of a single layer; total height otherwise */
  PetscReal asr_ohm_m2; /* element area-specific resistance */
  PetscReal search_m;   /* farthest facing foil */
  PetscInt  missing_foil;
  PetscReal missing_from_m, missing_to_m;
  PetscBool terminals;      /* add the two terminal nodes (see above) */
  PetscReal tab_ohm_m;      /* tab contact resistance x width, ohm m (terminals only) */
  PetscInt  element_weight; /* partition weight of one element (>= 0) */
  PetscReal pitch_m;        /* winding pitch (the spiral's or the traced), m; 0: unknown */
  PetscBool slices;         /* the layers are CT slices, each standing for its own thickness:
                               the outer strips reach half a spacing beyond the outer layers
                               (else they end at them, as over a spiral's height) */
  PetscReal stack_m[3];     /* coatings and separator (t_neg, t_sep, t_pos), m; 0: unknown */
  char      source[16];     /* "geometry" (synthetic spiral) or "trace": stored in net.h5 */
} TCRollNetParams;

/* Defects of a roll found by CT tracing (mesh/trace.h) or built into a
   synthetic spiral: where they are and how big. A network carries the list
   (same on every rank) into net.h5 (/defects, see README "net.h5") and from
   there into the coupled run (e.g. an internal short placed at a defect). */
typedef enum {
  TC_DEFECT_FOLD,            /* fold or buckle of the winding (traced through or cut out) */
  TC_DEFECT_GAP,             /* gap between successive layers wider than the threshold */
  TC_DEFECT_MISSING_COATING, /* a stretch of foil without its coating */
  TC_DEFECT_NKINDS
} TCRollDefectKind;
PETSC_EXTERN const char *const TCRollDefectKinds[]; /* "fold", "gap", "missing_coating" */

typedef struct {
  TCRollDefectKind kind;
  PetscInt         foil;                /* TC_FOIL_CU, TC_FOIL_AL, or -1 (both, unknown) */
  PetscReal        r_m, theta_rad, z_m; /* centre: radius and angle about the roll centre, height */
  PetscReal        size_m;              /* extent: along the foil (fold, coating) or gap width */
  PetscReal        s_m;                 /* arc length of its centre on the foil, NaN if none */
} TCRollDefect;

/* Node tags: the foil (TC_FOIL_CU, TC_FOIL_AL) or a terminal. */
enum { TC_ROLL_TAG_NEG_TERMINAL = 2, TC_ROLL_TAG_POS_TERMINAL = 3 };

typedef struct _p_TCRollNet *TCRollNet;

/* Collective. This rank's nl layers (consecutive, rank order) with heights
   z[k] (m), roll centres centre[2k..2k+1] (m; decide "inward") and curves
   curves[2k + f]. Builds and sets up (partitions) the network. */
PETSC_EXTERN PetscErrorCode TCRollNetCreate(MPI_Comm comm, const TCRollNetParams *p, PetscInt nl,
                                            const PetscReal z[], const PetscReal centre[],
                                            const TCRollCurve curves[], TCRollNet *net);
/* Collective. The network of a synthetic spiral (set up) with nz node layers
   over its height, split over the ranks in layer blocks. np: ds_m, asr_ohm_m2
   and, for the coupled solver, terminals, tab_ohm_m, element_weight are the
   caller's; the rest is filled from the spiral. */
PETSC_EXTERN PetscErrorCode TCRollNetFromSpiral(MPI_Comm comm, TCSpiral spiral, PetscInt nz,
                                                TCRollNetParams *np, TCRollNet *net);
/* Thermal links across the layers (networks with terminals only): every node
   of either foil casts a ray inward and outward (along its normal) to the
   other foil's centre line and is joined to the two nodes bracketing the hit,
   with linear weights, so that heat crosses the layers straight, without a
   detour along a foil between node grids that do not line up. Link q joins
   input ids ij[2q], ij[2q+1] through area[q] (m^2; a ray carries half its
   node's strip, the opposite rays the other half) over the distance d[q] (m).
   The links created on this rank (its layers); not collective. */
PETSC_EXTERN PetscErrorCode TCRollNetGetThermalLinks(TCRollNet net, PetscInt *n,
                                                     const PetscInt **ij, const PetscReal **area,
                                                     const PetscReal **d);
PETSC_EXTERN PetscErrorCode TCRollNetGetGraph(TCRollNet net, TCGraph *g);
/* The defect list (copied; the same on every rank, not collective); written
   with the network as /defects. */
PETSC_EXTERN PetscErrorCode TCRollNetSetDefects(TCRollNet net, PetscInt n, const TCRollDefect d[]);
PETSC_EXTERN PetscErrorCode TCRollNetGetDefects(TCRollNet net, PetscInt *n,
                                                const TCRollDefect **d);
/* Global counts: nodes per foil per layer, layers, elements. */
PETSC_EXTERN PetscErrorCode TCRollNetGetSizes(TCRollNet net, PetscInt ns[2], PetscInt *nlayers,
                                              PetscInt *nelements);
/* Collective. Per foil: mean length (m) and windings over the layers, and the
   mean roll centre (m). */
PETSC_EXTERN PetscErrorCode TCRollNetGetFoilStats(TCRollNet net, PetscReal length_m[2],
                                                  PetscReal turns[2], PetscReal centre_m[2]);
/* The height the node strips span: from the bottom of the lowest strip to the
   top of the highest (a single layer: its height_m around it), m (not
   collective). */
PETSC_EXTERN PetscErrorCode TCRollNetGetHeightRange(TCRollNet net, PetscReal z[2]);
/* Which foil of the network was built half a pitch from a traced one (see
   "One traced foil" above): TC_FOIL_CU, TC_FOIL_AL, or -1 (both given). */
PETSC_EXTERN PetscErrorCode TCRollNetGetBuiltFoil(TCRollNet net, PetscInt *foil);
/* The parameters the network was built with (foils, tabs, stack, pitch). */
PETSC_EXTERN PetscErrorCode TCRollNetGetParams(TCRollNet net, const TCRollNetParams **p);

/* Reading a net.h5 back (collective). The file stores the source curves of
   every layer (/curves, /layers/curve), the layer heights and centres and the
   parameters the network was built with (attributes of /network), so that
   loading rebuilds the network with TCRollNetCreate exactly as it was, or
   with changed parameters. TCRollNetFileOpen reads the parameters and the
   layer table (every rank); the caller may change np (terminals, tab
   resistance, element weight and ASR for the coupled solver; ds, tabs) and
   then builds with TCRollNetFileBuild (layers split over the ranks in
   contiguous blocks, as TCRollNetFromSpiral does). Refused with
   PETSC_ERR_USER_INPUT naming the file: not an HDF5 file, not a net.h5, a
   net.h5 of another format version (it names both and says to rewrite it
   with this tomocell), a net.h5 without curves or without elements. */
typedef struct _p_TCRollNetFile *TCRollNetFile;
PETSC_EXTERN PetscErrorCode TCRollNetFileOpen(MPI_Comm comm, const char path[], TCRollNetFile *nf);
/* The stored parameters (a copy the caller may change before building), the
   layer count and heights (m), whether the layers were extruded from one
   slice (their common curves then allow any layer count), and the stored
   defects. */
PETSC_EXTERN PetscErrorCode TCRollNetFileGetParams(TCRollNetFile nf, TCRollNetParams *np);
PETSC_EXTERN PetscErrorCode TCRollNetFileGetLayers(TCRollNetFile nf, PetscInt *nlayers,
                                                   const PetscReal **z_m, PetscBool *extruded);
PETSC_EXTERN PetscErrorCode TCRollNetFileGetDefects(TCRollNetFile nf, PetscInt *n,
                                                    const TCRollDefect **d);
/* Build with np. nz > 0 re-extrudes an extruded file into nz layers over
   [z_first, z_last] of the file (an error for a file of traced 3-D slices);
   nz = 0 keeps the stored layers. The defects are carried over. */
PETSC_EXTERN PetscErrorCode TCRollNetFileBuild(TCRollNetFile nf, const TCRollNetParams *np,
                                               PetscInt nz, TCRollNet *net);
PETSC_EXTERN PetscErrorCode TCRollNetFileClose(TCRollNetFile *nf);

/* Collective. Write h5path (+ .xmf) -- layout in README, "net.h5". */
PETSC_EXTERN PetscErrorCode TCRollNetWrite(TCRollNet net, const char h5path[],
                                           const TCRunMeta *meta);
/* The network's own datasets (/nodes/s_m, foil, tab, layer; /edges/...;
   /layers/...), into an open results file (a TCResultsExtraFn; ctx = net). */
PETSC_EXTERN PetscErrorCode TCRollNetWriteExtra(TCH5 *h5, void *ctx);
/* The extra fields above, for the XDMF (7 entries). */
PETSC_EXTERN const TCExtraField TCRollNetExtraFields[7];
PETSC_EXTERN PetscErrorCode TCRollNetDestroy(TCRollNet *net);
