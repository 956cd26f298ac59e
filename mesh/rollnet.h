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
 * bottom and top layers; the full height for a single layer) and along z
 * (w = ds, halved at the foil ends), as in mesh/sheet.h.
 * Electrochemical elements: each Al node casts a line along its normal,
 * inward and outward; the first Cu centre line it meets within search_m is
 * the facing foil (the inner face pairs with the Cu of the same turn, the
 * outer face with the Cu of the next turn), and the element joins the Al node
 * to the Cu node nearest to that point. Found geometrically, so off-centre or
 * deformed windings change the pairing. Element area dA = ds w of the Al node
 * strip, conductance dA / ASR (a linear stand-in for the local cell model
 * until the cell models exist). No element where a coating is missing.
 * Tabs: Cu tab nodes on the bottom layer, Al tab nodes on the top layer.
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
  PetscInt  nfoils;         /* 1 (Cu only) or 2 */
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
} TCRollNetParams;

typedef struct _p_TCRollNet *TCRollNet;

/* Collective. This rank's nl layers (consecutive, rank order) with heights
   z[k] (m), roll centres centre[2k..2k+1] (m; decide "inward") and curves
   curves[2k + f]. Builds and sets up (partitions) the network. */
PETSC_EXTERN PetscErrorCode TCRollNetCreate(MPI_Comm comm, const TCRollNetParams *p, PetscInt nl,
                                            const PetscReal z[], const PetscReal centre[],
                                            const TCRollCurve curves[], TCRollNet *net);
PETSC_EXTERN PetscErrorCode TCRollNetGetGraph(TCRollNet net, TCGraph *g);
/* Global counts: nodes per foil per layer, layers, elements. */
PETSC_EXTERN PetscErrorCode TCRollNetGetSizes(TCRollNet net, PetscInt ns[2], PetscInt *nlayers,
                                              PetscInt *nelements);
/* Collective. Write h5path (+ .xmf) -- layout in README, "net.h5". */
PETSC_EXTERN PetscErrorCode TCRollNetWrite(TCRollNet net, const char h5path[],
                                           const TCRunMeta *meta);
PETSC_EXTERN PetscErrorCode TCRollNetDestroy(TCRollNet *net);
