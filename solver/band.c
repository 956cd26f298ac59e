/*
 * Banded LU with partial pivoting, one system and batches (see band.h).
 *
 * The batch loops run over the systems innermost with no data-dependent
 * branches: a pivot row is chosen by comparison and selection, a row
 * interchange is a select between the two rows, and the single-system
 * code's "skip a zero multiplier" is a select between the updated and the
 * old entry. Every system thus sees the same operations in the same order as
 * in TCBandFactor / TCBandSolve2, which makes the results independent of how
 * many systems are batched together.
 */
#include "solver/band.h"
#include <math.h>

#define JS(i, j) J[(size_t)(i) * (size_t)W + (size_t)((j) - (i) + kl)]

PetscBool TCBandFactor(PetscInt n, PetscInt kl, PetscInt ku, PetscReal J[], PetscInt piv[])
{
  PetscInt W = 2 * kl + ku + 1;
  for (PetscInt k = 0; k < n; k++) {
    PetscInt  p = k, imax = PetscMin(n - 1, k + kl), jmax = PetscMin(n - 1, k + kl + ku);
    PetscReal amax = PetscAbsReal(JS(k, k));
    for (PetscInt i = k + 1; i <= imax; i++)
      if (PetscAbsReal(JS(i, k)) > amax) {
        amax = PetscAbsReal(JS(i, k));
        p    = i;
      }
    if (amax == 0 || !isfinite(amax)) return PETSC_FALSE;
    piv[k] = p;
    if (p != k)
      for (PetscInt j = k; j <= jmax; j++) {
        PetscReal t = JS(k, j);
        JS(k, j)    = JS(p, j);
        JS(p, j)    = t;
      }
    {
      PetscReal inv = 1.0 / JS(k, k);
      for (PetscInt i = k + 1; i <= imax; i++) {
        PetscReal l = JS(i, k) * inv;
        JS(i, k)    = l;
        if (l != 0)
          for (PetscInt j = k + 1; j <= jmax; j++) JS(i, j) -= l * JS(k, j);
      }
    }
  }
  return PETSC_TRUE;
}

void TCBandSolve2(PetscInt n, PetscInt kl, PetscInt ku, const PetscReal J[], const PetscInt piv[],
                  PetscReal x[], PetscReal y[])
{
  PetscInt W = 2 * kl + ku + 1;
  for (PetscInt k = 0; k < n; k++) {
    PetscInt p = piv[k], imax = PetscMin(n - 1, k + kl);
    if (p != k) {
      PetscReal t = x[k], u = y[k];
      x[k] = x[p];
      x[p] = t;
      y[k] = y[p];
      y[p] = u;
    }
    for (PetscInt i = k + 1; i <= imax; i++) {
      PetscReal l = JS(i, k);
      x[i] -= l * x[k];
      y[i] -= l * y[k];
    }
  }
  for (PetscInt k = n - 1; k >= 0; k--) {
    PetscInt  jmax = PetscMin(n - 1, k + kl + ku);
    PetscReal s = x[k], t = y[k], d = JS(k, k);
    for (PetscInt j = k + 1; j <= jmax; j++) {
      PetscReal u = JS(k, j);
      s -= u * x[j];
      t -= u * y[j];
    }
    x[k] = s / d;
    y[k] = t / d;
  }
}

/* entry (i, j) of the matrix and entry i of a vector, system b */
#define JBT(i, j) (J + ((size_t)(i) * (size_t)W + (size_t)((j) - (i) + kl)) * (size_t)nb)
#define VB(v, i)  ((v) + (size_t)(i) * (size_t)nb)

/* the loops across the systems, with restrict parameters (which GCC honours,
   unlike restrict locals) so that they vectorise; always inlined, so into
   every clone of the caller */
static inline __attribute__((always_inline)) void
Multipliers(PetscInt nb, const PetscReal *restrict akk, PetscReal *restrict lik)
{
  for (PetscInt b = 0; b < nb; b++) lik[b] = lik[b] * (1.0 / akk[b]);
}

static inline __attribute__((always_inline)) void RowUpdate(PetscInt nb,
                                                            const PetscReal *restrict lik,
                                                            const PetscReal *restrict akj,
                                                            PetscReal *restrict aij)
{
  for (PetscInt b = 0; b < nb; b++) {
    PetscReal l = lik[b], upd = aij[b] - l * akj[b];
    aij[b] = l != 0 ? upd : aij[b];
  }
}

TC_VECTOR_CLONES void TCBandFactorBatch(PetscInt nb, PetscInt n, PetscInt kl, PetscInt ku,
                                        PetscReal J[], PetscInt piv[], PetscBool ok[])
{
  PetscInt W = 2 * kl + ku + 1;
  for (PetscInt b = 0; b < nb; b++) ok[b] = PETSC_TRUE;
  for (PetscInt k = 0; k < n; k++) {
    PetscInt   imax = PetscMin(n - 1, k + kl), jmax = PetscMin(n - 1, k + kl + ku);
    PetscInt  *p   = VB(piv, k);
    PetscReal *akk = JBT(k, k);
    /* pivot: the first row of largest magnitude, as the strict > of TCBandFactor */
    for (PetscInt b = 0; b < nb; b++) p[b] = k;
    {
      PetscReal amax[64];
      for (PetscInt b0 = 0; b0 < nb; b0 += 64) {
        PetscInt m = PetscMin(64, nb - b0);
        for (PetscInt b = 0; b < m; b++) amax[b] = PetscAbsReal(akk[b0 + b]);
        for (PetscInt i = k + 1; i <= imax; i++) {
          const PetscReal *aik = JBT(i, k) + b0;
          PetscInt        *pb  = p + b0;
          for (PetscInt b = 0; b < m; b++) {
            PetscReal a  = PetscAbsReal(aik[b]);
            PetscBool gt = (PetscBool)(a > amax[b]);
            amax[b]      = gt ? a : amax[b];
            pb[b]        = gt ? i : pb[b];
          }
        }
        for (PetscInt b = 0; b < m; b++)
          if (amax[b] == 0 || !(amax[b] <= PETSC_MAX_REAL)) ok[b0 + b] = PETSC_FALSE;
      }
    }
    /* interchanges: row k with row p[b]; for a narrow band a select against
       every candidate row (vectorised), for a wide one per system */
    if (kl > 1) {
      for (PetscInt b = 0; b < nb; b++)
        if (p[b] != k)
          for (PetscInt j = k; j <= jmax; j++) {
            PetscReal *rk = JBT(k, j) + b, *rp = JBT(p[b], j) + b, t = *rk;
            *rk = *rp;
            *rp = t;
          }
    } else
      for (PetscInt i = k + 1; i <= imax; i++)
        for (PetscInt j = k; j <= jmax; j++) {
          PetscReal *rk = JBT(k, j), *ri = JBT(i, j);
          for (PetscInt b = 0; b < nb; b++) {
            PetscBool sw = (PetscBool)(p[b] == i);
            PetscReal u = rk[b], v = ri[b];
            rk[b] = sw ? v : u;
            ri[b] = sw ? u : v;
          }
        }
    /* elimination */
    for (PetscInt i = k + 1; i <= imax; i++) {
      PetscReal *lik = JBT(i, k);
      Multipliers(nb, akk, lik);
      for (PetscInt j = k + 1; j <= jmax; j++) RowUpdate(nb, lik, JBT(k, j), JBT(i, j));
    }
  }
}

TC_VECTOR_CLONES void TCBandSolve2Batch(PetscInt nb, PetscInt n, PetscInt kl, PetscInt ku,
                                        const PetscReal J[], const PetscInt piv[], PetscReal x[],
                                        PetscReal y[])
{
  PetscInt W = 2 * kl + ku + 1;
  for (PetscInt k = 0; k < n; k++) {
    PetscInt        imax = PetscMin(n - 1, k + kl);
    const PetscInt *p    = VB(piv, k);
    PetscReal      *xk = VB(x, k), *yk = VB(y, k);
    for (PetscInt i = k + 1; i <= imax; i++) {
      PetscReal *xi = VB(x, i), *yi = VB(y, i);
      for (PetscInt b = 0; b < nb; b++) {
        PetscBool sw = (PetscBool)(p[b] == i);
        PetscReal u = xk[b], v = xi[b], s = yk[b], t = yi[b];
        xk[b] = sw ? v : u;
        xi[b] = sw ? u : v;
        yk[b] = sw ? t : s;
        yi[b] = sw ? s : t;
      }
    }
    for (PetscInt i = k + 1; i <= imax; i++) {
      const PetscReal *l  = JBT(i, k);
      PetscReal       *xi = VB(x, i), *yi = VB(y, i);
      for (PetscInt b = 0; b < nb; b++) {
        xi[b] -= l[b] * xk[b];
        yi[b] -= l[b] * yk[b];
      }
    }
  }
  for (PetscInt k = n - 1; k >= 0; k--) {
    PetscInt         jmax = PetscMin(n - 1, k + kl + ku);
    PetscReal       *xk = VB(x, k), *yk = VB(y, k);
    const PetscReal *d = JBT(k, k);
    for (PetscInt j = k + 1; j <= jmax; j++) {
      const PetscReal *u  = JBT(k, j);
      const PetscReal *xj = VB(x, j), *yj = VB(y, j);
      for (PetscInt b = 0; b < nb; b++) {
        xk[b] -= u[b] * xj[b];
        yk[b] -= u[b] * yj[b];
      }
    }
    for (PetscInt b = 0; b < nb; b++) {
      xk[b] = xk[b] / d[b];
      yk[b] = yk[b] / d[b];
    }
  }
}
