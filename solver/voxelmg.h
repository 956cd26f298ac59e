/*
 * Matrix-free geometric multigrid for conductance-weighted 7-point graph
 * Laplacians on a voxel grid distributed in z-slabs (one contiguous range of
 * z planes per rank, as io/volume reads them). Built for the tortuosity
 * solve: the finest operator is never stored; it is computed from one byte
 * of class per voxel and a small table of face conductances.
 *
 * Operator (finest level): voxel p with class c_p > 0 is an unknown; the
 * conductance of the face between p and a 6-neighbour q is G[c_p][c_q]
 * (0 if either class is 0), and a voxel on one of the two faces normal to
 * the chosen axis adds Gb[c_p] to its diagonal (a Dirichlet face half a voxel
 * away). Row p of A x is sum_q g_pq (x_p - x_q) (+ Gb x_p); class-0 voxels
 * are identity rows.
 *
 * Preconditioner: a symmetric V-cycle on cell-centred levels made by
 * aggregating 2 x 2 x 2 cells (piecewise-constant prolongation P and
 * restriction P^T), coarse operators P^T A P / s with the summed face
 * conductances of the fine faces that cross a coarse face; s = 2 is the
 * rediscretisation on a grid of twice the spacing (cell-centred coarsening
 * as in Wesseling, "An Introduction to Multigrid Methods", 1992; the scaled,
 * over-correcting piecewise-constant coarse grid as in Braess, Computing 55,
 * 1995, 379-393).
 * Aggregates never cross a rank boundary (z halves locally, so a slab with an
 * odd number of planes keeps a one-plane aggregate), which keeps every level
 * distributed like the finest without any data movement. Smoother: red-black
 * Gauss-Seidel (red then black before the coarse correction, black then red
 * after, so the V-cycle is a symmetric positive definite preconditioner for
 * CG; the black residual after the pre-smoothing is zero and the black
 * values before the post-smoothing are overwritten, so restriction and
 * prolongation visit the red cells only); each red-black pair is one pass
 * over the level, the second colour a plane behind the first. Coarsest
 * level: gathered on every rank and solved there by Jacobi-preconditioned
 * CG to a relative residual of 1e-10. Coarse levels keep conductances in
 * single precision (they only precondition), vectors in double. Variants
 * for experiments: -tau_mg_gamma 2 (W-cycle) and -tau_mg_growth g (g^l
 * times the sweeps on level l).
 *
 * With a single class the finest operator needs no table look-up: a second
 * byte per voxel holds the number of neighbouring unknowns and Dirichlet
 * faces. It then relies on the vectors being zero on class-0 voxels, which
 * Krylov methods keep when the right-hand side and first guess are (both
 * the operator and the preconditioner return zeros there).
 *
 * Memory: the class array (1 byte per voxel, owned by the caller), the degree
 * byte (single class) and about 5 bytes per finest voxel for all coarse
 * levels together; the Krylov vectors are the caller's (8 bytes per voxel
 * each, on the whole grid).
 */
#pragma once
#include <petscksp.h>

typedef struct _p_TCVoxelMG *TCVoxelMG;

/* Collective on comm. This rank holds planes z0..z1-1 of an nx x ny x nz
   grid (z1 == z0 on ranks that hold none; the ranks that hold planes come
   first, in order). cls (nx ny (z1-z0) bytes, x fastest) is borrowed and
   must outlive mg. G is an (ncls+1)^2 table of face conductances indexed by
   class (row and column 0 unused), Gb the ncls+1 conductances to the
   Dirichlet faces normal to axis (0 = x, 1 = y, 2 = z); both are copied. */
PETSC_EXTERN PetscErrorCode TCVoxelMGCreate(MPI_Comm comm, PetscInt nx, PetscInt ny, PetscInt nz,
                                            PetscInt z0, PetscInt z1, const unsigned char *cls,
                                            PetscInt ncls, const PetscReal *G, const PetscReal *Gb,
                                            PetscInt axis, TCVoxelMG *mg);
/* Reads -tau_mg_smooth (red-black sweeps before and after the coarse
   correction, default 2), -tau_mg_scale (s above, default 2), -tau_mg_coarse
   (stop coarsening at this many cells, default 4096), -tau_mg_levels (at most
   this many levels, default 20), -tau_mg_gamma (1 = V-cycle, 2 = W-cycle)
   and -tau_mg_growth (sweeps multiplied by this on each coarser level,
   default 1). */
PETSC_EXTERN PetscErrorCode TCVoxelMGSetFromOptions(TCVoxelMG mg);
/* Collective. Builds the coarse levels. */
PETSC_EXTERN PetscErrorCode TCVoxelMGSetUp(TCVoxelMG mg);
/* Collective. A shell matrix applying the finest operator, with vectors of
   nx ny (z1-z0) local entries in the grid order of cls. */
PETSC_EXTERN PetscErrorCode TCVoxelMGCreateMat(TCVoxelMG mg, Mat *A);
/* Makes pc a PCSHELL that applies one V-cycle. */
PETSC_EXTERN PetscErrorCode TCVoxelMGSetPC(TCVoxelMG mg, PC pc);
/* Levels (finest included) and bytes allocated on this rank for them. */
PETSC_EXTERN PetscErrorCode TCVoxelMGGetInfo(TCVoxelMG mg, PetscInt *levels, double *bytes);
/* Makes VecTDot of v, and of the vectors duplicated from it (CG's work
   vectors), take p . A p and r . B r from inside the operator and
   preconditioner passes that produced them (saving a pass over two vectors
   each per CG iteration); any other pair is computed as usual. v and its
   duplicates must not outlive mg. */
PETSC_EXTERN PetscErrorCode TCVoxelMGSetVecOps(TCVoxelMG mg, Vec v);
/* Collective. x^T A x with the finest operator, without a vector for A x
   (for the energy of a solution). */
PETSC_EXTERN PetscErrorCode TCVoxelMGQuadratic(TCVoxelMG mg, Vec x, PetscReal *xAx);
/* Memory traffic of the operator and preconditioner applications so far on
   this rank, in bytes, from a count of the arrays each pass streams through
   (bytes read + bytes written, no write-allocate, as STREAM counts; the
   gathered coarsest level, which stays in cache, is not counted). */
PETSC_EXTERN PetscErrorCode TCVoxelMGGetTraffic(TCVoxelMG mg, double *moved);
PETSC_EXTERN PetscErrorCode TCVoxelMGDestroy(TCVoxelMG *mg);
