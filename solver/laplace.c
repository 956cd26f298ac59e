/*
 * Graph-Laplacian assembly and solve (see laplace.h).
 */
#include "solver/laplace.h"
#include "src/tc.h"
#include <math.h>

struct _p_TCLaplace {
  TCGraph        g;
  MPI_Comm       comm;
  Mat            A;
  Vec            b, xbc;
  KSP            ksp;
  PetscInt       nfixed, *fixedrows;
  PetscReal      diag; /* scale of the identity rows of fixed nodes */
  TCLaplaceStats stats;
};

PetscErrorCode TCLaplaceCreate(TCGraph g, TCLaplace *lap)
{
  TCLaplace l;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&l));
  l->g = g;
  PetscCall(TCGraphGetComm(g, &l->comm));
  PetscCall(KSPCreate(l->comm, &l->ksp));
  *lap = l;
  PetscFunctionReturn(0);
}

PetscErrorCode TCLaplaceDestroy(TCLaplace *lap)
{
  TCLaplace l = *lap;

  PetscFunctionBeginUser;
  if (!l) PetscFunctionReturn(0);
  PetscCall(MatDestroy(&l->A));
  PetscCall(VecDestroy(&l->b));
  PetscCall(VecDestroy(&l->xbc));
  PetscCall(KSPDestroy(&l->ksp));
  PetscCall(PetscFree(l->fixedrows));
  PetscCall(PetscFree(l));
  *lap = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode TCLaplaceSetFromOptions(TCLaplace lap)
{
  PC pc;

  PetscFunctionBeginUser;
  PetscCall(KSPSetType(lap->ksp, KSPCG));
  PetscCall(KSPGetPC(lap->ksp, &pc));
  PetscCall(PCSetType(pc, PCGAMG));
  {
    /* Foil sheets are strongly anisotropic (G_z/G_s = (ds/dz)^2); dropping
       weak couplings below 1% keeps GAMG's aggregates aligned with the strong
       direction: 116 -> 19 iterations on a 1000 x 1000 demo foil. */
    PetscReal th[1] = {0.01};
    PetscCall(PCGAMGSetThreshold(pc, th, 1));
  }
  PetscCall(KSPSetTolerances(lap->ksp, 1e-10, 1e-50, PETSC_DEFAULT, 10000));
  PetscCall(KSPSetNormType(lap->ksp, KSP_NORM_UNPRECONDITIONED));
  PetscCall(KSPSetFromOptions(lap->ksp));
  PetscFunctionReturn(0);
}

PetscErrorCode TCLaplaceSetUp(TCLaplace lap)
{
  const PetscInt  *ptr, *col;
  const PetscReal *G;
  const TCNode    *nodes;
  PetscInt         n, nstart, nend, *dnz, *onz;
  PetscReal        dsum = 0, dmax = 0;
  PetscLogDouble   t0, t1;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  PetscCall(PetscLogEventBegin(TC_EVENT_Assemble, 0, 0, 0, 0));
  PetscCall(TCGraphGetRows(lap->g, &ptr, &col, NULL, &G));
  PetscCall(TCGraphGetNodes(lap->g, &n, &nodes, NULL));
  PetscCall(TCGraphGetOwnershipRange(lap->g, &nstart, &nend));

  PetscCall(PetscMalloc2(n, &dnz, n, &onz));
  for (PetscInt r = 0; r < n; r++) {
    dnz[r] = 1;
    onz[r] = 0;
    for (PetscInt k = ptr[r]; k < ptr[r + 1]; k++) {
      if (col[k] >= nstart && col[k] < nend)
        dnz[r]++;
      else
        onz[r]++;
    }
    dnz[r] = PetscMin(dnz[r], n);
  }
  PetscCall(MatCreate(lap->comm, &lap->A));
  PetscCall(MatSetSizes(lap->A, n, n, PETSC_DETERMINE, PETSC_DETERMINE));
  PetscCall(MatSetType(lap->A, MATAIJ));
  PetscCall(MatSeqAIJSetPreallocation(lap->A, 0, dnz));
  PetscCall(MatMPIAIJSetPreallocation(lap->A, 0, dnz, 0, onz));
  PetscCall(MatSetOption(lap->A, MAT_NEW_NONZERO_ALLOCATION_ERR, PETSC_TRUE));
  PetscCall(PetscFree2(dnz, onz));

  /* rows: only owned rows are set, so no off-process stash traffic */
  {
    PetscInt     maxrow = 0, *cols;
    PetscScalar *vals;
    for (PetscInt r = 0; r < n; r++) maxrow = PetscMax(maxrow, ptr[r + 1] - ptr[r]);
    PetscCall(PetscMalloc2(maxrow + 1, &cols, maxrow + 1, &vals));
    for (PetscInt r = 0; r < n; r++) {
      PetscInt    row = nstart + r, m = 0;
      PetscScalar d = 0;
      for (PetscInt k = ptr[r]; k < ptr[r + 1]; k++) {
        d += G[k];
        cols[m]   = col[k];
        vals[m++] = -G[k];
      }
      cols[m]   = row;
      vals[m++] = d;
      dsum += d;
      dmax = PetscMax(dmax, d);
      PetscCall(MatSetValues(lap->A, 1, &row, m, cols, vals, ADD_VALUES));
    }
    PetscCall(PetscFree2(cols, vals));
  }
  PetscCall(MatAssemblyBegin(lap->A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(lap->A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatSetOption(lap->A, MAT_SYMMETRIC, PETSC_TRUE));
  PetscCall(MatSetOption(lap->A, MAT_SPD, PETSC_TRUE));

  /* right-hand side and symmetric elimination of fixed nodes */
  PetscCall(MatCreateVecs(lap->A, &lap->xbc, &lap->b));
  {
    PetscScalar *b, *x;
    PetscInt     N;
    PetscCall(VecGetArray(lap->b, &b));
    PetscCall(VecGetArray(lap->xbc, &x));
    PetscCall(PetscMalloc1(n + 1, &lap->fixedrows));
    lap->nfixed = 0;
    for (PetscInt r = 0; r < n; r++) {
      b[r] = nodes[r].inject;
      x[r] = 0;
      if (!isnan(nodes[r].fixed)) {
        x[r]                          = nodes[r].fixed;
        lap->fixedrows[lap->nfixed++] = nstart + r;
      }
    }
    PetscCall(VecRestoreArray(lap->b, &b));
    PetscCall(VecRestoreArray(lap->xbc, &x));
    /* identity rows scaled like the operator keep the condition number */
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &dsum, 1, MPIU_REAL, MPI_SUM, lap->comm));
    PetscCall(MatGetSize(lap->A, &N, NULL));
    lap->diag = dsum > 0 ? dsum / N : 1.0;
    PetscCall(MatZeroRowsColumns(lap->A, lap->nfixed, lap->fixedrows, lap->diag, lap->xbc, lap->b));
  }
  PetscCall(KSPSetOperators(lap->ksp, lap->A, lap->A));
  PetscCall(PetscLogEventEnd(TC_EVENT_Assemble, 0, 0, 0, 0));
  PetscCall(PetscTime(&t1));
  lap->stats.assemble_s = t1 - t0;
  PetscFunctionReturn(0);
}

PetscErrorCode TCLaplaceSolve(TCLaplace lap, Vec phi)
{
  PetscLogDouble t0, t1, t2;

  PetscFunctionBeginUser;
  PetscCheck(lap->A, lap->comm, PETSC_ERR_ORDER, "call TCLaplaceSetUp first");
  PetscCall(PetscLogEventBegin(TC_EVENT_Solve, 0, 0, 0, 0));
  PetscCall(PetscTime(&t0));
  PetscCall(KSPSetUp(lap->ksp));
  PetscCall(PetscTime(&t1));
  PetscCall(KSPSolve(lap->ksp, lap->b, phi));
  PetscCall(PetscTime(&t2));
  PetscCall(PetscLogEventEnd(TC_EVENT_Solve, 0, 0, 0, 0));
  lap->stats.setup_s = t1 - t0;
  lap->stats.solve_s = t2 - t1;
  PetscCall(KSPGetIterationNumber(lap->ksp, &lap->stats.iterations));
  PetscCall(KSPGetResidualNorm(lap->ksp, &lap->stats.residual_norm));
  PetscCall(KSPGetConvergedReason(lap->ksp, &lap->stats.reason));
  PetscCheck(lap->stats.reason > 0, lap->comm, PETSC_ERR_NOT_CONVERGED,
             "network solve did not converge: %s after %" PetscInt_FMT
             " iterations (residual %g); try -ksp_max_it, another -pc_type, "
             "or -ksp_type preonly -pc_type lu -pc_factor_mat_solver_type mumps",
             KSPConvergedReasons[lap->stats.reason], lap->stats.iterations,
             (double)lap->stats.residual_norm);
  PetscCall(VecGhostUpdateBegin(phi, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGhostUpdateEnd(phi, INSERT_VALUES, SCATTER_FORWARD));

  /* charge balance: current into the network through fixed nodes is the
     negative of what the Laplacian rows of those nodes give. */
  {
    const PetscInt    *ptr, *lcol;
    const PetscReal   *G;
    const TCNode      *nodes;
    const PetscScalar *p;
    PetscInt           n;
    Vec                pl;
    PetscReal          sums[2] = {0, 0};
    PetscCall(TCGraphGetRows(lap->g, &ptr, NULL, &lcol, &G));
    PetscCall(TCGraphGetNodes(lap->g, &n, &nodes, NULL));
    PetscCall(VecGhostGetLocalForm(phi, &pl));
    PetscCall(VecGetArrayRead(pl, &p));
    for (PetscInt r = 0; r < n; r++) {
      sums[0] += nodes[r].inject;
      if (!isnan(nodes[r].fixed)) {
        PetscReal out = 0;
        for (PetscInt k = ptr[r]; k < ptr[r + 1]; k++) out += G[k] * (p[lcol[k]] - p[r]);
        sums[1] += out + nodes[r].inject;
      }
    }
    PetscCall(VecRestoreArrayRead(pl, &p));
    PetscCall(VecGhostRestoreLocalForm(phi, &pl));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPIU_REAL, MPI_SUM, lap->comm));
    lap->stats.injected_A  = sums[0];
    lap->stats.withdrawn_A = sums[1];
    lap->stats.charge_balance =
        PetscAbsReal(sums[0] - sums[1]) / PetscMax(PetscAbsReal(sums[0]), PETSC_SMALL);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCLaplaceEdgeCurrents(TCLaplace lap, Vec phi, Vec Iedge)
{
  const TCEdge      *edges;
  const PetscInt    *ghosts;
  PetscInt           ne, nstart, nend, n, nghost;
  const PetscScalar *p;
  PetscScalar       *cur;
  Vec                pl;

  PetscFunctionBeginUser;
  PetscCall(TCGraphGetEdges(lap->g, &ne, &edges));
  PetscCall(TCGraphGetOwnershipRange(lap->g, &nstart, &nend));
  PetscCall(TCGraphGetGhosts(lap->g, &nghost, &ghosts));
  n = nend - nstart;
  PetscCall(VecGhostGetLocalForm(phi, &pl));
  PetscCall(VecGetArrayRead(pl, &p));
  PetscCall(VecGetArray(Iedge, &cur));
  for (PetscInt k = 0; k < ne; k++) {
    PetscInt      li, lj, loc;
    const TCEdge *e = &edges[k];
    /* the owner of an edge owns its lower end; the other end may be a ghost */
    if (e->i >= nstart && e->i < nend)
      li = e->i - nstart;
    else {
      PetscCall(PetscFindInt(e->i, nghost, ghosts, &loc));
      li = n + loc;
    }
    if (e->j >= nstart && e->j < nend)
      lj = e->j - nstart;
    else {
      PetscCall(PetscFindInt(e->j, nghost, ghosts, &loc));
      lj = n + loc;
    }
    cur[k] = e->G * (p[li] - p[lj]);
  }
  PetscCall(VecRestoreArray(Iedge, &cur));
  PetscCall(VecRestoreArrayRead(pl, &p));
  PetscCall(VecGhostRestoreLocalForm(phi, &pl));
  PetscFunctionReturn(0);
}

PetscErrorCode TCLaplaceGetStats(TCLaplace lap, TCLaplaceStats *stats)
{
  PetscFunctionBeginUser;
  *stats = lap->stats;
  PetscFunctionReturn(0);
}

PetscErrorCode TCLaplaceGetKSP(TCLaplace lap, KSP *ksp)
{
  PetscFunctionBeginUser;
  *ksp = lap->ksp;
  PetscFunctionReturn(0);
}

PetscErrorCode TCLaplaceGetOperator(TCLaplace lap, Mat *A)
{
  PetscFunctionBeginUser;
  *A = lap->A;
  PetscFunctionReturn(0);
}
