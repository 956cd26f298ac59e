/*
 * A current-collector foil as a sheet-resistor network.
 *
 * The foil is unrolled: arc length s in [0, L] along x, height z in [0, H],
 * thickness t, conductivity sigma. Nodes sit on an ns x nz grid (node spacing
 * ds = L/(ns-1), dz = H/(nz-1)); node (i, k) has input id k*ns + i. Each node
 * owns the strip of foil around it (half strips on the border), so an edge
 * along s between columns carries G = sigma t w / ds with w the strip width
 * (dz, or dz/2 on the two border rows), and likewise along z. With this
 * choice the discrete network of a uniformly fed sheet reproduces the
 * continuum resistance L / (sigma t H) exactly.
 *
 * Terminals: a tab feeds current into the nodes of one edge of the sheet
 * within [from, to] (distributed in proportion to each node's border length,
 * i.e. uniform current density along the tab); a ground edge is held at 0 V.
 */
#pragma once
#include "mesh/graph.h"

typedef enum { TC_EDGE_S0, TC_EDGE_SL, TC_EDGE_Z0, TC_EDGE_ZH } TCSheetEdge;
PETSC_EXTERN const char *const TCSheetEdges[]; /* "s0", "sL", "z0", "zH" */

typedef struct {
  PetscReal   length_m, height_m, thickness_m, sigma_S_m;
  PetscInt    ns, nz;
  TCSheetEdge tab_edge;
  PetscReal   tab_from_m, tab_to_m; /* position along the tab edge */
  TCSheetEdge ground_edge;          /* whole edge at 0 V */
  PetscReal   current_A;            /* fed at the tab */
} TCSheetParams;

/* Collective. Fill g (created, not set up) with the sheet; nodes are
   generated in even blocks of input ids on every rank. Errors if the tab
   catches no node or coincides with the ground edge. */
PETSC_EXTERN PetscErrorCode TCSheetBuild(const TCSheetParams *p, TCGraph g);
/* The 1-D estimate L/(sigma t H) (exact for a full-edge tab opposite the
   ground edge along s). */
PETSC_EXTERN PetscReal TCSheetResistance1D(const TCSheetParams *p);
