/*
 * METIS k-way partitioning (see partition.h). Karypis & Kumar, "A fast and
 * high quality multilevel scheme for partitioning irregular graphs", SIAM J.
 * Sci. Comput. 20 (1998) 359.
 */
#include "mesh/partition.h"
#include <metis.h>

static const char *TCMetisStatus(int status)
{
  switch (status) {
  case METIS_ERROR_INPUT:
    return "METIS_ERROR_INPUT (invalid graph)";
  case METIS_ERROR_MEMORY:
    return "METIS_ERROR_MEMORY (out of memory)";
  default:
    return "METIS_ERROR";
  }
}

PetscErrorCode TCPartitionKway(PetscInt n, const PetscInt xadj[], const PetscInt adjncy[],
                               const PetscInt vwgt[], const PetscInt adjwgt[], PetscInt nparts,
                               PetscInt ufactor, PetscInt part[])
{
  idx_t  nvtxs = (idx_t)n, ncon = 1, np = (idx_t)nparts, objval = 0;
  idx_t *x, *a, *vw = NULL, *aw = NULL, *p;
  idx_t  options[METIS_NOPTIONS];
  int    status;
  size_t nnz = (size_t)xadj[n];

  PetscFunctionBeginUser;
  if (nparts <= 1 || n == 0) {
    for (PetscInt i = 0; i < n; i++) part[i] = 0;
    PetscFunctionReturn(0);
  }
  /* idx_t may differ from PetscInt: copy (cheap next to the partitioning) */
  PetscCall(PetscMalloc2(n + 1, &x, nnz, &a));
  for (PetscInt i = 0; i <= n; i++) x[i] = (idx_t)xadj[i];
  for (size_t k = 0; k < nnz; k++) a[k] = (idx_t)adjncy[k];
  if (vwgt) {
    PetscCall(PetscMalloc1(n, &vw));
    for (PetscInt i = 0; i < n; i++) vw[i] = (idx_t)vwgt[i];
  }
  if (adjwgt) {
    PetscCall(PetscMalloc1(nnz, &aw));
    for (size_t k = 0; k < nnz; k++) aw[k] = (idx_t)adjwgt[k];
  }
  PetscCall(PetscMalloc1(n, &p));
  METIS_SetDefaultOptions(options);
  options[METIS_OPTION_UFACTOR]   = (idx_t)ufactor;
  options[METIS_OPTION_SEED]      = 1; /* reproducible partitions */
  options[METIS_OPTION_NUMBERING] = 0;
  options[METIS_OPTION_CONTIG]    = 0;
  status =
      METIS_PartGraphKway(&nvtxs, &ncon, x, a, vw, NULL, aw, &np, NULL, NULL, options, &objval, p);
  PetscCheck(status == METIS_OK, PETSC_COMM_SELF, PETSC_ERR_LIB,
             "METIS_PartGraphKway(%" PetscInt_FMT " vertices, %" PetscInt_FMT " parts) failed: %s",
             n, nparts, TCMetisStatus(status));
  for (PetscInt i = 0; i < n; i++) part[i] = (PetscInt)p[i];
  PetscCall(PetscFree2(x, a));
  PetscCall(PetscFree(vw));
  PetscCall(PetscFree(aw));
  PetscCall(PetscFree(p));
  PetscFunctionReturn(0);
}

PetscErrorCode TCPartitionEvaluate(PetscInt n, const PetscInt xadj[], const PetscInt adjncy[],
                                   const PetscInt vwgt[], const PetscInt part[], PetscInt nparts,
                                   TCPartitionInfo *info)
{
  PetscInt *w, total = 0, cut2 = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscCalloc1(nparts, &w));
  for (PetscInt i = 0; i < n; i++) {
    PetscInt wi = vwgt ? vwgt[i] : 1;
    w[part[i]] += wi;
    total += wi;
    for (PetscInt k = xadj[i]; k < xadj[i + 1]; k++)
      if (part[adjncy[k]] != part[i]) cut2++;
  }
  info->nparts    = nparts;
  info->edgecut   = cut2 / 2; /* each cut edge is seen from both ends */
  info->maxweight = 0;
  for (PetscInt p = 0; p < nparts; p++) info->maxweight = PetscMax(info->maxweight, w[p]);
  info->meanweight = (PetscReal)total / (PetscReal)nparts;
  info->imbalance  = info->meanweight > 0 ? info->maxweight / info->meanweight : 1.0;
  PetscCall(PetscFree(w));
  PetscFunctionReturn(0);
}
