/*
 * The batched banded LU (solver/band.h) against the single-system one and
 * against LAPACK:
 *  - 100 random banded systems for each order n in {1, 2, 7, 20, 41} and
 *    bandwidths (kl, ku) in {(1, 1), (5, 4), (2, 0), (0, 2), (3, 1)}, half of
 *    them with entries on a grid of eighths (ties in the pivot search, exact
 *    zeros among the multipliers, some singular), half continuous, one with a
 *    zero column (a failed factorisation), one with a NaN;
 *  - factored and solved for two right-hand sides in batches of nb = 1, 3, 8,
 *    17, 64 and 100 systems: every factor entry, pivot, solution and the ok
 *    flag must be BIT FOR BIT those of TCBandFactor / TCBandSolve2 (memcmp);
 *  - the continuous systems' solutions within 1e-12 (relative, max norm) of
 *    LAPACK dgbtrf/dgbtrs: LAPACK's dgbtf2 is the same algorithm, so the two
 *    differ by a few ulps times the growth, far below that for these orders.
 */
#include "solver/band.h"
#include "src/tc.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

extern void dgbtrf_(const int *m, const int *n, const int *kl, const int *ku, double *ab,
                    const int *ldab, int *ipiv, int *info);
extern void dgbtrs_(const char *trans, const int *n, const int *kl, const int *ku, const int *nrhs,
                    const double *ab, const int *ldab, const int *ipiv, double *b, const int *ldb,
                    int *info);

static unsigned long long rng = 88172645463325252ULL;
static double             Rand(void) /* xorshift64, uniform in [-1, 1) */
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 4503599627370496.0 - 1.0;
}

#define NS 100

/* bench/fpcount.py's check (tests/tools/test_fpcount.py): REPS solves of a
   tridiagonal system of order n with two right-hand sides, whose FP64
   operations are known exactly: forward 4 (n - 1), backward
   4 (n - 1) + 4 (n - 2) + 2 n (two divisions per row) */
static void __attribute__((noinline)) FlopSolves(PetscInt n, PetscInt reps, const PetscReal *J,
                                                 const PetscInt *piv, PetscReal *x, PetscReal *y)
{
  for (PetscInt r = 0; r < reps; r++) TCBandSolve2(n, 1, 1, J, piv, x, y);
}

static PetscErrorCode Flops(PetscInt n, PetscInt reps)
{
  PetscReal *J, *x, *y;
  PetscInt  *piv;

  PetscFunctionBeginUser;
  PetscCall(PetscCalloc4(4 * n, &J, n, &x, n, &y, n, &piv));
  for (PetscInt i = 0; i < n; i++) {
    J[4 * i + 1] = 4; /* diagonally dominant: no interchanges */
    if (i > 0) J[4 * i] = -1;
    if (i < n - 1) J[4 * i + 2] = -1;
    x[i] = y[i] = 1;
  }
  PetscCheck(TCBandFactor(n, 1, 1, J, piv), PETSC_COMM_SELF, PETSC_ERR_PLIB, "factor");
  FlopSolves(n, reps, J, piv, x, y);
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "flops: %" PetscInt_FMT " solves of order %" PetscInt_FMT ", %" PetscInt_FMT
                        " FP64 operations (x[0] %g)\n",
                        reps, n, reps * (8 * (n - 1) + 4 * (n - 2) + 2 * n), (double)x[0]));
  PetscCall(PetscFree4(J, x, y, piv));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const PetscInt n_list[] = {1, 2, 7, 20, 41}, bw[][2] = {{1, 1}, {5, 4}, {2, 0}, {0, 2}, {3, 1}};
  const PetscInt nb_list[] = {1, 3, 8, 17, 64, 100};
  PetscInt       ncase = 0, nfail = 0, nlapack = 0;
  PetscReal      lapack_err = 0;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(TCInitialize());
  if (argc > 1 && !strcmp(argv[1], "flops")) {
    PetscCall(Flops(argc > 2 ? atoi(argv[2]) : 20, argc > 3 ? atoi(argv[3]) : 1000));
    PetscCall(PetscFinalize());
    return 0;
  }
  for (size_t in = 0; in < sizeof(n_list) / sizeof(n_list[0]); in++)
    for (size_t ib = 0; ib < sizeof(bw) / sizeof(bw[0]); ib++) {
      PetscInt   n = n_list[in], kl = bw[ib][0], ku = bw[ib][1], W = 2 * kl + ku + 1;
      size_t     nJ = (size_t)n * (size_t)W;
      PetscReal *A, *Jf, *x, *y, *xb, *yb, *Jb, *bx, *by, *bJ;
      PetscInt  *piv, *bpiv;
      PetscBool  okS[NS], okB[NS];

      PetscCall(PetscMalloc5(NS * nJ, &A, NS * nJ, &Jf, (size_t)NS * n, &x, (size_t)NS * n, &y,
                             (size_t)NS * n, &xb));
      PetscCall(PetscMalloc5((size_t)NS * n, &yb, NS * nJ, &Jb, (size_t)NS * n, &bx, (size_t)NS * n,
                             &by, NS * nJ, &bJ));
      PetscCall(PetscMalloc2((size_t)NS * n, &piv, (size_t)NS * n, &bpiv));
      /* the systems: band entries random, the fill-in columns zero */
      for (PetscInt s = 0; s < NS; s++) {
        PetscReal *a = A + s * nJ;
        for (size_t t = 0; t < nJ; t++) a[t] = 0;
        for (PetscInt i = 0; i < n; i++)
          for (PetscInt j = PetscMax(0, i - kl); j <= PetscMin(n - 1, i + ku); j++) {
            PetscReal v = Rand();
            if (s % 2) v = round(8 * v) / 8; /* ties and exact zeros */
            a[i * W + (j - i + kl)] = v;
          }
        if (s == 4) /* a zero column: the factorisation fails */
          for (PetscInt i = 0; i < n; i++)
            if (n / 2 - i + kl >= 0 && n / 2 - i + kl <= kl + ku) a[i * W + (n / 2 - i + kl)] = 0;
        if (s == 6) a[(n - 1) * W + kl] = NAN;
        for (PetscInt i = 0; i < n; i++) {
          x[s * n + i] = Rand();
          y[s * n + i] = Rand();
        }
      }
      /* the reference: one system at a time */
      PetscCall(PetscArraycpy(Jf, A, NS * nJ));
      PetscCall(PetscArraycpy(xb, x, NS * n));
      PetscCall(PetscArraycpy(yb, y, NS * n));
      for (PetscInt s = 0; s < NS; s++) {
        okS[s] = TCBandFactor(n, kl, ku, Jf + s * nJ, piv + s * n);
        if (okS[s]) TCBandSolve2(n, kl, ku, Jf + s * nJ, piv + s * n, xb + s * n, yb + s * n);
      }
      for (size_t ik = 0; ik < sizeof(nb_list) / sizeof(nb_list[0]); ik++) {
        PetscInt nbk = nb_list[ik];
        for (PetscInt s0 = 0; s0 < NS; s0 += nbk) {
          PetscInt nb = PetscMin(nbk, NS - s0);
          for (PetscInt b = 0; b < nb; b++) {
            for (size_t t = 0; t < nJ; t++) bJ[t * nb + b] = A[(s0 + b) * nJ + t];
            for (PetscInt i = 0; i < n; i++) {
              bx[i * nb + b] = x[(s0 + b) * n + i];
              by[i * nb + b] = y[(s0 + b) * n + i];
            }
          }
          TCBandFactorBatch(nb, n, kl, ku, bJ, bpiv, okB + s0);
          TCBandSolve2Batch(nb, n, kl, ku, bJ, bpiv, bx, by);
          for (PetscInt b = 0; b < nb; b++) {
            PetscInt s = s0 + b;
            ncase++;
            PetscCheck(okB[s] == okS[s], PETSC_COMM_SELF, PETSC_ERR_PLIB,
                       "n %" PetscInt_FMT " kl %" PetscInt_FMT " ku %" PetscInt_FMT
                       " nb %" PetscInt_FMT " system %" PetscInt_FMT ": ok %d, single %d",
                       n, kl, ku, nbk, s, (int)okB[s], (int)okS[s]);
            if (!okS[s]) {
              nfail++;
              continue;
            }
            for (PetscInt i = 0; i < n; i++) {
              PetscReal xv = bx[i * nb + b], yv = by[i * nb + b];
              PetscCheck(bpiv[i * nb + b] == piv[s * n + i] &&
                             !memcmp(&xv, &xb[s * n + i], sizeof(xv)) &&
                             !memcmp(&yv, &yb[s * n + i], sizeof(yv)),
                         PETSC_COMM_SELF, PETSC_ERR_PLIB,
                         "n %" PetscInt_FMT " kl %" PetscInt_FMT " ku %" PetscInt_FMT
                         " nb %" PetscInt_FMT " system %" PetscInt_FMT " row %" PetscInt_FMT
                         ": batch (%.17g, %.17g, pivot %" PetscInt_FMT ") != single (%.17g, "
                         "%.17g, pivot %" PetscInt_FMT ")",
                         n, kl, ku, nbk, s, i, (double)xv, (double)yv, bpiv[i * nb + b],
                         (double)xb[s * n + i], (double)yb[s * n + i], piv[s * n + i]);
            }
            for (size_t t = 0; t < nJ; t++) {
              PetscReal v = bJ[t * nb + b];
              PetscCheck(!memcmp(&v, &Jf[s * nJ + t], sizeof(v)), PETSC_COMM_SELF, PETSC_ERR_PLIB,
                         "n %" PetscInt_FMT " nb %" PetscInt_FMT " system %" PetscInt_FMT
                         ": factor entry %zu differs",
                         n, nbk, s, t);
            }
          }
        }
      }
      /* LAPACK on the continuous, regular systems */
      for (PetscInt s = 0; s < NS; s += 2) {
        int     N = (int)n, KL = (int)kl, KU = (int)ku, LD = (int)(2 * kl + ku + 1), info, two = 2;
        double *ab, *rhs;
        int    *ip;
        PetscReal nx = 0, err = 0;
        if (!okS[s]) continue;
        PetscCall(PetscCalloc3((size_t)LD * n, &ab, 2 * (size_t)n, &rhs, n, &ip));
        for (PetscInt i = 0; i < n; i++) /* AB(kl + ku + i - j, j), 0-based, column-major */
          for (PetscInt j = PetscMax(0, i - kl); j <= PetscMin(n - 1, i + ku); j++)
            ab[j * LD + (kl + ku + i - j)] = A[s * nJ + i * W + (j - i + kl)];
        for (PetscInt i = 0; i < n; i++) {
          rhs[i]     = x[s * n + i];
          rhs[n + i] = y[s * n + i];
        }
        dgbtrf_(&N, &N, &KL, &KU, ab, &LD, ip, &info);
        PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dgbtrf info %d", info);
        dgbtrs_("N", &N, &KL, &KU, &two, ab, &LD, ip, rhs, &N, &info);
        PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dgbtrs info %d", info);
        for (PetscInt i = 0; i < n; i++) {
          nx  = PetscMax(nx, PetscMax(PetscAbsReal(rhs[i]), PetscAbsReal(rhs[n + i])));
          err = PetscMax(err, PetscMax(PetscAbsReal(rhs[i] - xb[s * n + i]),
                                       PetscAbsReal(rhs[n + i] - yb[s * n + i])));
        }
        lapack_err = PetscMax(lapack_err, err / nx);
        nlapack++;
        PetscCall(PetscFree3(ab, rhs, ip));
      }
      PetscCall(PetscFree5(A, Jf, x, y, xb));
      PetscCall(PetscFree5(yb, Jb, bx, by, bJ));
      PetscCall(PetscFree2(piv, bpiv));
    }
  PetscCheck(lapack_err <= 1e-12, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "solutions differ from LAPACK's by %.3g (relative)", (double)lapack_err);
  PetscCheck(nfail > 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "no failed factorisation was exercised");
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "band_batch: %" PetscInt_FMT " batched solves bit for bit the single ones "
                        "(%" PetscInt_FMT " failed factorisations agreed); %" PetscInt_FMT
                        " systems within %.2g of LAPACK dgbtrf/dgbtrs\n",
                        ncase, nfail, nlapack, (double)lapack_err));
  PetscCall(PetscFinalize());
  return 0;
}
