/*
 * TCLaplace: steady potential on a resistor network, L phi = b.
 *
 * L is the weighted graph Laplacian of a TCGraph (L_ii = sum_j G_ij,
 * L_ij = -G_ij), assembled as a PETSc MPIAIJ matrix in the graph's partitioned
 * numbering. Fixed-potential (Dirichlet) nodes are eliminated symmetrically
 * (MatZeroRowsColumns), so the operator stays symmetric positive definite and
 * the default solver is CG with algebraic multigrid (GAMG). Any KSP/PC can be
 * chosen at run time, e.g. -ksp_type preonly -pc_type lu
 * -pc_factor_mat_solver_type mumps for a direct solve.
 *
 * Node currents: inject (A) is fed into a node; at a fixed node the current
 * that leaves the network through the fixed potential is reported.
 */
#pragma once
#include <petscksp.h>
#include "mesh/graph.h"

typedef struct _p_TCLaplace *TCLaplace;

typedef struct {
  PetscInt           iterations;
  PetscReal          residual_norm;
  KSPConvergedReason reason;
  PetscReal          injected_A;     /* sum of current sources */
  PetscReal          withdrawn_A;    /* sum of currents leaving through fixed nodes */
  PetscReal          charge_balance; /* |injected - withdrawn| / max(|injected|, tiny) */
  PetscLogDouble     assemble_s, setup_s, solve_s;
} TCLaplaceStats;

/* Collective on the graph's communicator. g must be set up. */
PETSC_EXTERN PetscErrorCode TCLaplaceCreate(TCGraph g, TCLaplace *lap);
/* KSP options (prefix: none): defaults CG + GAMG (threshold 0.01), rtol 1e-10. */
PETSC_EXTERN PetscErrorCode TCLaplaceSetFromOptions(TCLaplace lap);
/* Assemble L and the right-hand side. */
PETSC_EXTERN PetscErrorCode TCLaplaceSetUp(TCLaplace lap);
/* Solve for phi (a Vec from TCGraphCreateVec); ghost values are updated on
   return. PETSC_ERR_NOT_CONVERGED names the KSP reason if it fails. */
PETSC_EXTERN PetscErrorCode TCLaplaceSolve(TCLaplace lap, Vec phi);
/* Current through every owned edge, I = G (phi_i - phi_j), from i to j (A);
   Iedge from TCGraphCreateEdgeVec. */
PETSC_EXTERN PetscErrorCode TCLaplaceEdgeCurrents(TCLaplace lap, Vec phi, Vec Iedge);
PETSC_EXTERN PetscErrorCode TCLaplaceGetStats(TCLaplace lap, TCLaplaceStats *stats);
PETSC_EXTERN PetscErrorCode TCLaplaceGetKSP(TCLaplace lap, KSP *ksp);
PETSC_EXTERN PetscErrorCode TCLaplaceGetOperator(TCLaplace lap, Mat *A);
PETSC_EXTERN PetscErrorCode TCLaplaceDestroy(TCLaplace *lap);
