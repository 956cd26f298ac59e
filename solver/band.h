/*
 * Banded LU with partial pivoting (the algorithm of LAPACK's dgbtf2 and
 * dgbtrs) for the cell models' Newton systems: one system, or a BATCH of nb
 * systems of the same order and bandwidths factored together, element-fastest
 * (structure of arrays), so that every operation runs across the systems and
 * the compiler vectorises it.
 *
 * Storage: row i of the matrix holds columns i - kl .. i + kl + ku at
 * J[i W + (j - i + kl)], W = 2 kl + ku + 1 (the kl columns right of the band
 * take the fill-in of the row interchanges). A batch stores entry t of system
 * b at J[t nb + b]: t = i W + (j - i + kl) for the matrix, t = i for vectors
 * and the pivots.
 *
 * The batch performs, for every system, exactly the floating-point
 * operations of the single-system routines in the same order (pivoting,
 * interchanges and the skipped zero multipliers by selection, not by
 * branches), so its results are bit for bit those of TCBandFactor and
 * TCBandSolve2 whatever nb is, provided the build does not contract
 * multiply-adds differently in the two (CMakeLists.txt sets
 * -ffp-contract=off).
 */
#pragma once
#include <petscsys.h>

/* The batched kernels are compiled for AVX-512, AVX2 and the baseline ISA
   and the best the CPU has is chosen when the program loads (GCC function
   multiversioning): 8, 4 or 2 elements per instruction. With
   -ffp-contract=off the three give the same bits. (Not under ASan, whose
   start-up runs after the ifunc resolvers.) */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) &&       \
    !defined(__SANITIZE_ADDRESS__)
#define TC_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TC_VECTOR_CLONES
#endif

/* Factor in place; piv[k] the row interchanged with row k. PETSC_FALSE on a
   zero or non-finite pivot (the factors are then unusable). */
PETSC_EXTERN PetscBool TCBandFactor(PetscInt n, PetscInt kl, PetscInt ku, PetscReal J[],
                                    PetscInt piv[]);
/* Solve with the factors for two right-hand sides at once (overwritten). */
PETSC_EXTERN void TCBandSolve2(PetscInt n, PetscInt kl, PetscInt ku, const PetscReal J[],
                               const PetscInt piv[], PetscReal x[], PetscReal y[]);

/* The same for nb systems stored element-fastest; ok[b] as the return value
   of TCBandFactor for system b (a failed system's entries are garbage, the
   others are unaffected). */
PETSC_EXTERN void TCBandFactorBatch(PetscInt nb, PetscInt n, PetscInt kl, PetscInt ku,
                                    PetscReal J[], PetscInt piv[], PetscBool ok[]);
PETSC_EXTERN void TCBandSolve2Batch(PetscInt nb, PetscInt n, PetscInt kl, PetscInt ku,
                                    const PetscReal J[], const PetscInt piv[], PetscReal x[],
                                    PetscReal y[]);
