/*
 * A natural logarithm and an asinh that vectorise: the batched element kernels
 * take ln c_e at every electrolyte cell of every element of a block and asinh
 * for both overpotentials, and libm's log and asinh are calls per value that
 * no loop around them can vectorise (log: ~4.4 ns a value on the development
 * machine, 1.0 ns in 8-lane AVX-512 here).
 *
 * The algorithm is fdlibm's e_log.c (Sun Microsystems, 1993; the constants are
 * its published ones): x = 2^k m with m in [sqrt(2)/2, sqrt(2)), f = m - 1,
 * s = f / (2 + f), log(1 + f) = f - (f^2/2 - s (f^2/2 + R(s^2))) with R the
 * degree-14 minimax polynomial, and k ln 2 in two parts. Error < 1 ulp (tested
 * against libm in tests/unit/test_cell.c: at most 1 ulp, on a few in a
 * hundred values). The exponent is taken with integer and floating-point
 * additions only, so that AVX2 and AVX-512F vectorise the loop.
 *
 * Every value gets the same operations whatever the number of values, the
 * lane width or the position in the array (IEEE-rounded add, multiply and
 * divide; the build sets -ffp-contract=off): one value or a block gives the
 * same bits, which the cell models' bit-for-bit contract between one element
 * and a block needs. Values that are not positive normal numbers (zero,
 * negative, subnormal, infinite, NaN) are passed to libm's log.
 */
#pragma once
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ln x for a positive normal x (the kernel of the loops below) */
static inline __attribute__((always_inline)) double TCLogCore(double x)
{
  const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  const double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01;
  const double Lg3 = 2.857142874366239149e-01, Lg4 = 2.222219843214978396e-01;
  const double Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01;
  const double Lg7 = 1.479819860511658591e-01;
  uint64_t     u, um, ue;
  double       m, kd, f, s, z, w, t1, t2, R, hfsq;
  int          hi;
  memcpy(&u, &x, sizeof(u));
  um = (u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL; /* the mantissa, in [1, 2) */
  ue = (u >> 52) | 0x4330000000000000ULL;                   /* 2^52 + the biased exponent */
  memcpy(&m, &um, sizeof(m));
  memcpy(&kd, &ue, sizeof(kd));
  kd   = kd - 4503599627370496.0 - 1023.0;
  hi   = m > 1.4142135623730951;
  m    = hi ? 0.5 * m : m;
  kd   = hi ? kd + 1.0 : kd;
  f    = m - 1.0;
  s    = f / (2.0 + f);
  z    = s * s;
  w    = z * z;
  t1   = w * (Lg2 + w * (Lg4 + w * Lg6));
  t2   = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  R    = t2 + t1;
  hfsq = 0.5 * f * f;
  return kd * ln2_hi - ((hfsq - (s * (hfsq + R) + kd * ln2_lo)) - f);
}

/* v[i] = ln x[i] for n values (v may not overlap x) */
static inline __attribute__((always_inline)) void TCLogArray(long n, const double *restrict x,
                                                             double *restrict v)
{
  int bad = 0;
  for (long b = 0; b < n; b++) v[b] = TCLogCore(x[b]);
  for (long b = 0; b < n; b++) bad |= !(x[b] >= DBL_MIN && x[b] <= DBL_MAX);
  if (bad)
    for (long b = 0; b < n; b++)
      if (!(x[b] >= DBL_MIN && x[b] <= DBL_MAX)) v[b] = log(x[b]);
}

static inline double TCLog(double x)
{
  double v;
  TCLogArray(1, &x, &v);
  return v;
}

/* asinh by the same logarithm, as fdlibm's s_asinh.c splits it: |x| >= 2:
   ln(2|x| + 1 / (sqrt(x^2 + 1) + |x|)); below, log1p(u), u = |x| + x^2 / (1 +
   sqrt(1 + x^2)), as ln(1 + u) + (u - ((1 + u) - 1)) / (1 + u) (the rounding
   of 1 + u corrected; exactly u where 1 + u rounds to 1); x itself below
   2^-28; the sign of x. Within 2 ulp of libm's asinh (tests/unit/test_cell.c).
   |x| >= 1e150 (x^2 would overflow), infinities and NaN: libm's asinh. */
static inline __attribute__((always_inline)) void TCAsinhArray(long n, const double *restrict x,
                                                               double *restrict v)
{
  int bad = 0;
  for (long b = 0; b < n; b++) {
    double a = fabs(x[b]), q = sqrt(a * a + 1.0), u = a + a * a / (1.0 + q);
    int    big = a >= 2.0;
    double y   = big ? 2.0 * a + 1.0 / (q + a) : 1.0 + u;
    double l   = TCLogCore(y);
    double r   = big ? l : l + (u - (y - 1.0)) / y;
    r          = a < 3.725290298461914e-09 ? a : r; /* 2^-28 */
    v[b]       = copysign(r, x[b]);                 /* asinh(-0) = -0 */
  }
  for (long b = 0; b < n; b++) bad |= !(fabs(x[b]) < 1e150);
  if (bad)
    for (long b = 0; b < n; b++)
      if (!(fabs(x[b]) < 1e150)) v[b] = asinh(x[b]);
}

static inline double TCAsinh(double x)
{
  double v;
  TCAsinhArray(1, &x, &v);
  return v;
}
