/*
 * Foil sheet network (see sheet.h).
 */
#include "mesh/sheet.h"
#include "src/tc.h"
#include <math.h>

const char *const TCSheetEdges[] = {"s0", "sL", "z0", "zH"};

/* Is node (i,k) on edge e, and where along that edge (m)? */
static PetscBool TCSheetOnEdge(const TCSheetParams *p, TCSheetEdge e, PetscInt i, PetscInt k,
                               PetscReal *pos)
{
  PetscReal ds = p->length_m / (p->ns - 1), dz = p->height_m / (p->nz - 1);
  switch (e) {
  case TC_EDGE_S0:
    *pos = k * dz;
    return (PetscBool)(i == 0);
  case TC_EDGE_SL:
    *pos = k * dz;
    return (PetscBool)(i == p->ns - 1);
  case TC_EDGE_Z0:
    *pos = i * ds;
    return (PetscBool)(k == 0);
  case TC_EDGE_ZH:
    *pos = i * ds;
    return (PetscBool)(k == p->nz - 1);
  }
  return PETSC_FALSE;
}

/* Length of border owned by a node along edge e (half spacing at corners). */
static PetscReal TCSheetBorderLength(const TCSheetParams *p, TCSheetEdge e, PetscInt i, PetscInt k)
{
  PetscReal ds = p->length_m / (p->ns - 1), dz = p->height_m / (p->nz - 1);
  if (e == TC_EDGE_S0 || e == TC_EDGE_SL) return (k == 0 || k == p->nz - 1) ? 0.5 * dz : dz;
  return (i == 0 || i == p->ns - 1) ? 0.5 * ds : ds;
}

PetscReal TCSheetResistance1D(const TCSheetParams *p)
{
  if (p->tab_edge == TC_EDGE_S0 || p->tab_edge == TC_EDGE_SL)
    return p->length_m / (p->sigma_S_m * p->thickness_m * p->height_m);
  return p->height_m / (p->sigma_S_m * p->thickness_m * p->length_m);
}

PetscErrorCode TCSheetBuild(const TCSheetParams *p, TCGraph g)
{
  MPI_Comm    comm;
  PetscMPIInt rank, size;
  PetscInt    N = p->ns * p->nz, nloc, start, end;
  PetscReal   ds, dz, gs, gz, tablen = 0, tabw;
  PetscReal   st = p->sigma_S_m * p->thickness_m;

  PetscFunctionBeginUser;
  PetscCall(TCGraphGetComm(g, &comm));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCheck(p->ns >= 2 && p->nz >= 2, comm, PETSC_ERR_USER_INPUT,
             "the sheet needs at least 2 x 2 nodes (got %" PetscInt_FMT " x %" PetscInt_FMT ")",
             p->ns, p->nz);
  PetscCheck(p->tab_edge != p->ground_edge, comm, PETSC_ERR_USER_INPUT,
             "the tab edge and the ground edge are both '%s'", TCSheetEdges[p->tab_edge]);
  PetscCheck(p->tab_from_m < p->tab_to_m, comm, PETSC_ERR_USER_INPUT,
             "tab_from_m (%g) must be smaller than tab_to_m (%g)", (double)p->tab_from_m,
             (double)p->tab_to_m);
  PetscCall(PetscLogEventBegin(TC_EVENT_Build, 0, 0, 0, 0));
  ds = p->length_m / (p->ns - 1);
  dz = p->height_m / (p->nz - 1);
  gs = st * dz / ds; /* along s, full strip */
  gz = st * ds / dz; /* along z, full strip */

  /* total tab border length, computed on every rank over the tab edge only */
  {
    PetscInt m = (p->tab_edge == TC_EDGE_S0 || p->tab_edge == TC_EDGE_SL) ? p->nz : p->ns;
    for (PetscInt q = 0; q < m; q++) {
      PetscInt  i = 0, k = 0;
      PetscReal pos = 0, gpos = 0;
      switch (p->tab_edge) {
      case TC_EDGE_S0:
        i = 0;
        k = q;
        break;
      case TC_EDGE_SL:
        i = p->ns - 1;
        k = q;
        break;
      case TC_EDGE_Z0:
        i = q;
        k = 0;
        break;
      case TC_EDGE_ZH:
        i = q;
        k = p->nz - 1;
        break;
      }
      (void)TCSheetOnEdge(p, p->tab_edge, i, k, &pos);
      if (TCSheetOnEdge(p, p->ground_edge, i, k, &gpos)) continue; /* grounded corner */
      if (pos >= p->tab_from_m - 1e-12 && pos <= p->tab_to_m + 1e-12)
        tablen += TCSheetBorderLength(p, p->tab_edge, i, k);
    }
  }
  PetscCheck(tablen > 0, comm, PETSC_ERR_USER_INPUT,
             "the tab [%g, %g] m on edge %s contains no node; the node spacing along that edge is "
             "%g m (widen the tab or refine the mesh)",
             (double)p->tab_from_m, (double)p->tab_to_m, TCSheetEdges[p->tab_edge],
             (double)((p->tab_edge == TC_EDGE_S0 || p->tab_edge == TC_EDGE_SL) ? dz : ds));
  tabw = p->current_A / tablen;

  nloc = N / size + (rank < N % size);
  PetscCall(TCGraphSetLocalSizes(g, nloc));
  PetscCall(TCGraphGetInputRange(g, &start, &end));
  PetscCall(TCGraphReserveEdges(g, 2 * nloc));
  for (PetscInt id = start; id < end; id++) {
    PetscInt  i = id % p->ns, k = id / p->ns;
    PetscReal pos;
    TCNode    nd;
    nd.x[0]   = i * ds;
    nd.x[1]   = 0;
    nd.x[2]   = k * dz;
    nd.fixed  = NAN;
    nd.inject = 0;
    nd.weight = 1;
    nd.tag    = 0;
    if (TCSheetOnEdge(p, p->ground_edge, i, k, &pos))
      nd.fixed = 0;
    else if (TCSheetOnEdge(p, p->tab_edge, i, k, &pos) && pos >= p->tab_from_m - 1e-12 &&
             pos <= p->tab_to_m + 1e-12)
      nd.inject = tabw * TCSheetBorderLength(p, p->tab_edge, i, k);
    PetscCall(TCGraphSetNode(g, id, &nd));
    if (i + 1 < p->ns)
      PetscCall(TCGraphAddEdge(g, id, id + 1, (k == 0 || k == p->nz - 1) ? 0.5 * gs : gs));
    if (k + 1 < p->nz)
      PetscCall(TCGraphAddEdge(g, id, id + p->ns, (i == 0 || i == p->ns - 1) ? 0.5 * gz : gz));
  }
  PetscCall(PetscLogEventEnd(TC_EVENT_Build, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
