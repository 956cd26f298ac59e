/*
 * The outer diameter of a cell's can in a grayscale slice (see tracecan.h).
 */
#include "mesh/tracecan.h"
#include <math.h>

/* Otsu's threshold over 256 bins of [lo, hi]. */
static PetscReal CanOtsu(const float *img, PetscInt n, float lo, float hi)
{
  PetscReal h[256] = {0}, sum = 0, sb = 0, wb = 0, best = -1, t = 0.5 * (lo + hi);
  for (PetscInt q = 0; q < n; q++)
    if (isfinite(img[q])) h[PetscMin((PetscInt)((img[q] - lo) / (hi - lo) * 256), 255)] += 1;
  for (int b = 0; b < 256; b++) sum += b * h[b];
  {
    PetscReal tot = 0;
    for (int b = 0; b < 256; b++) tot += h[b];
    for (int b = 0; b < 255; b++) {
      PetscReal wf, mb, mf, v;
      wb += h[b];
      sb += b * h[b];
      wf = tot - wb;
      if (wb <= 0 || wf <= 0) continue;
      mb = sb / wb;
      mf = (sum - sb) / wf;
      v  = wb * wf * (mb - mf) * (mb - mf);
      if (v > best) {
        best = v;
        t    = lo + (hi - lo) * (b + 1) / 256.0;
      }
    }
  }
  return t;
}

/* Bilinear sample at (x, y) in pixel units (pixel (i, j) centred at
   (i + 0.5, j + 0.5)); PETSC_FALSE outside the image. */
static PetscBool CanSample(const float *img, PetscInt nx, PetscInt ny, PetscReal x, PetscReal y,
                           PetscReal *v)
{
  PetscReal u = x - 0.5, w = y - 0.5, fx, fy;
  PetscInt  i = (PetscInt)floor(u), j = (PetscInt)floor(w);
  if (i < 0 || j < 0 || i + 1 >= nx || j + 1 >= ny) return PETSC_FALSE;
  fx = u - i;
  fy = w - j;
  *v = (1 - fy) * ((1 - fx) * img[j * nx + i] + fx * img[j * nx + i + 1]) +
       fy * ((1 - fx) * img[(j + 1) * nx + i] + fx * img[(j + 1) * nx + i + 1]);
  return PETSC_TRUE;
}

/* Kasa's algebraic circle fit to the points with use[k]: centre c, radius R.
   PETSC_FALSE when the points do not fix a circle. */
static PetscBool CanKasa(PetscInt n, const PetscReal *x, const PetscReal *y, const PetscBool *use,
                         PetscReal c[2], PetscReal *R)
{
  PetscReal xm = 0, ym = 0, m = 0, A[3][4] = {{0}}, s[3];
  for (PetscInt k = 0; k < n; k++)
    if (use[k]) {
      xm += x[k];
      ym += y[k];
      m += 1;
    }
  if (m < 3) return PETSC_FALSE;
  xm /= m;
  ym /= m;
  for (PetscInt k = 0; k < n; k++)
    if (use[k]) {
      PetscReal u = x[k] - xm, v = y[k] - ym, z = u * u + v * v, r[3] = {u, v, 1};
      for (int a = 0; a < 3; a++) {
        for (int b = 0; b < 3; b++) A[a][b] += r[a] * r[b];
        A[a][3] -= r[a] * z;
      }
    }
  /* Gaussian elimination with partial pivoting */
  for (int col = 0; col < 3; col++) {
    int piv = col;
    for (int r = col + 1; r < 3; r++)
      if (PetscAbsReal(A[r][col]) > PetscAbsReal(A[piv][col])) piv = r;
    if (PetscAbsReal(A[piv][col]) < 1e-300) return PETSC_FALSE;
    for (int b = 0; b < 4; b++) {
      PetscReal t = A[col][b];
      A[col][b]   = A[piv][b];
      A[piv][b]   = t;
    }
    for (int r = col + 1; r < 3; r++) {
      PetscReal f = A[r][col] / A[col][col];
      for (int b = col; b < 4; b++) A[r][b] -= f * A[col][b];
    }
  }
  for (int r = 2; r >= 0; r--) {
    PetscReal t = A[r][3];
    for (int b = r + 1; b < 3; b++) t -= A[r][b] * s[b];
    s[r] = t / A[r][r];
  }
  c[0] = xm - 0.5 * s[0];
  c[1] = ym - 0.5 * s[1];
  *R   = 0.25 * (s[0] * s[0] + s[1] * s[1]) - s[2];
  if (!(*R > 0)) return PETSC_FALSE;
  *R = sqrt(*R);
  return PETSC_TRUE;
}

static int CanCmpReal(const void *a, const void *b)
{
  PetscReal x = *(const PetscReal *)a, y = *(const PetscReal *)b;
  return x < y ? -1 : x > y;
}

PetscErrorCode TCTraceCanFit(const float *img, PetscInt nx, PetscInt ny, TCCanFit *fit)
{
  const PetscInt npix = nx * ny, nb = (PetscInt)ceil(hypot(nx, ny)) + 2;
  float          lo = PETSC_MAX_REAL, hi = -PETSC_MAX_REAL;
  PetscReal      c[2] = {0, 0}, sn = 0, *sum, *cnt, *P, R0 = 0, contrast = 0, sigma = 0;
  PetscReal     *ex = NULL, *ey = NULL, *d = NULL, *ad = NULL, *prof = NULL;
  PetscBool     *use = NULL;
  PetscInt       pk = -1, M = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(fit, sizeof(*fit)));
  for (PetscInt q = 0; q < npix; q++)
    if (isfinite(img[q])) {
      lo = PetscMin(lo, img[q]);
      hi = PetscMax(hi, img[q]);
    }
  if (!(hi > lo)) {
    snprintf(fit->why, sizeof(fit->why), "the image is uniform");
    PetscFunctionReturn(0);
  }
  {
    PetscReal t = CanOtsu(img, npix, lo, hi);
    for (PetscInt q = 0; q < npix; q++)
      if (img[q] > t) {
        c[0] += q % nx + 0.5;
        c[1] += q / nx + 0.5;
        sn += 1;
      }
    c[0] /= PetscMax(sn, 1);
    c[1] /= PetscMax(sn, 1);
  }
  /* the can: the brightest ring of the radial profile, thin, standing out */
  PetscCall(PetscCalloc3(nb, &sum, nb, &cnt, nb, &P));
  for (PetscInt q = 0; q < npix; q++) {
    PetscInt b = (PetscInt)hypot(q % nx + 0.5 - c[0], q / nx + 0.5 - c[1]);
    if (!isfinite(img[q]) || b >= nb) continue;
    sum[b] += img[q];
    cnt[b] += 1;
  }
  for (PetscInt b = 0; b < nb; b++) P[b] = cnt[b] > 0 ? sum[b] / cnt[b] : 0;
  for (PetscInt b = 3; b < nb; b++)
    if (cnt[b] >= 0.25 * 2 * PETSC_PI * b && (pk < 0 || P[b] > P[pk])) pk = b;
  if (pk > 8) {
    PetscInt  b1 = PetscMin(nb - 1, pk + PetscMax(10, (PetscInt)(0.15 * pk))), rci = pk, rco = -1;
    PetscReal pout = P[pk], pin, half, *tmp;
    PetscInt  m    = 0;
    for (PetscInt b = pk + 1; b <= b1; b++)
      if (cnt[b] > 0) pout = PetscMin(pout, P[b]);
    PetscCall(PetscMalloc1(pk, &tmp));
    for (PetscInt b = pk / 2; b <= (PetscInt)(0.9 * pk); b++) tmp[m++] = P[b];
    qsort(tmp, (size_t)m, sizeof(PetscReal), CanCmpReal);
    pin = m ? tmp[m / 2] : P[pk];
    PetscCall(PetscFree(tmp));
    half = 0.5 * (P[pk] + pout);
    for (PetscInt b = pk + 1; b <= b1 && rco < 0; b++)
      if (cnt[b] > 0 && P[b] < half) rco = b;
    while (rci > 0 && P[rci - 1] > 0.5 * (P[pk] + pin)) rci--;
    contrast = P[pk] - pout;
    if (rco > 0 && P[pk] - pin > 0.25 * contrast && rco - rci < 0.1 * pk + 3)
      R0 = rco;
    else
      snprintf(fit->why, sizeof(fit->why), "no can: the brightest ring (radius %d px, level %g) %s",
               (int)pk, (double)P[pk],
               rco < 0                          ? "does not fall off outside it"
               : P[pk] - pin <= 0.25 * contrast ? "does not stand out from the roll inside it"
                                                : "is not thin (not a can wall)");
  } else
    snprintf(fit->why, sizeof(fit->why), "no can: no bright ring about the centre of the image");
  PetscCall(PetscFree3(sum, cnt, P));
  if (R0 <= 0) PetscFunctionReturn(0);

  /* sub-pixel edge points and the circle fit, three times about the new centre */
  M = PetscMax(360, (PetscInt)ceil(2 * PETSC_PI * R0 * 1.2));
  PetscCall(PetscMalloc5(M, &ex, M, &ey, M, &d, M, &ad, M, &use));
  for (int it = 0; it < 3; it++) {
    PetscReal w = it == 0 ? PetscMax(6.0, 0.05 * R0) : PetscMax(3.0, 5 * sigma + 1.5), R = R0,
              cc[2];
    PetscInt ns = (PetscInt)ceil(2 * w / 0.25) + 1, n = 0;
    PetscCall(PetscFree(prof));
    PetscCall(PetscMalloc1(ns, &prof));
    for (PetscInt j = 0; j < M; j++) {
      PetscReal th = 2 * PETSC_PI * j / M, cs = cos(th), sn1 = sin(th), pmax, pmin;
      PetscInt  imax = 0, ilim = (PetscInt)floor(1.5 * w / 0.25), e = -1;
      PetscBool in = PETSC_TRUE;
      for (PetscInt i = 0; i < ns && in; i++) {
        PetscReal r = R0 - w + 0.25 * i;
        in          = CanSample(img, nx, ny, c[0] + r * cs, c[1] + r * sn1, &prof[i]);
      }
      if (!in) continue;
      for (PetscInt i = 1; i <= PetscMin(ilim, ns - 1); i++)
        if (prof[i] > prof[imax]) imax = i;
      pmax = prof[imax];
      pmin = pmax;
      for (PetscInt i = imax; i < ns; i++) pmin = PetscMin(pmin, prof[i]);
      if (pmax - pmin < 0.5 * contrast) continue; /* no wall edge on this ray */
      for (PetscInt i = imax + 1; i < ns && e < 0; i++)
        if (prof[i] < 0.5 * (pmax + pmin)) e = i;
      if (e < 0) continue;
      {
        PetscReal L = 0.5 * (pmax + pmin), f = (prof[e - 1] - L) / (prof[e - 1] - prof[e]);
        PetscReal r = R0 - w + 0.25 * (e - 1 + f);
        ex[n]       = c[0] + r * cs;
        ey[n]       = c[1] + r * sn1;
        use[n++]    = PETSC_TRUE;
      }
    }
    fit->rays = M;
    if (n < M / 2 || !CanKasa(n, ex, ey, use, cc, &R)) {
      snprintf(fit->why, sizeof(fit->why),
               "no can: the outer edge of the brightest ring (radius ~%.1f px) was found on %d of "
               "%d rays (half needed)",
               (double)R0, (int)n, (int)M);
      break;
    }
    /* robust rejection: off the circle by more than max(3 sigma, 0.25 px) */
    for (int pass = 0; pass < 2; pass++) {
      PetscInt m = 0;
      for (PetscInt k = 0; k < n; k++) d[k] = hypot(ex[k] - cc[0], ey[k] - cc[1]) - R;
      for (PetscInt k = 0; k < n; k++) ad[k] = PetscAbsReal(d[k]);
      qsort(ad, (size_t)n, sizeof(PetscReal), CanCmpReal);
      sigma = 1.4826 * ad[n / 2];
      for (PetscInt k = 0; k < n; k++) {
        use[k] = (PetscBool)(PetscAbsReal(d[k]) <= PetscMax(3 * sigma, 0.25));
        m += use[k];
      }
      if (m < n / 2 || !CanKasa(n, ex, ey, use, cc, &R)) break;
    }
    {
      PetscReal s2 = 0;
      PetscInt  m  = 0;
      for (PetscInt k = 0; k < n; k++)
        if (use[k]) {
          PetscReal r = hypot(ex[k] - cc[0], ey[k] - cc[1]) - R;
          s2 += r * r;
          m++;
        }
      fit->rms_px = m ? sqrt(s2 / m) : PETSC_MAX_REAL;
      fit->points = m;
    }
    c[0] = cc[0];
    c[1] = cc[1];
    R0   = R;
    if (it == 2) {
      fit->found        = (PetscBool)(fit->points >= M / 2 && fit->rms_px <= 1.5);
      fit->diameter_px  = 2 * R;
      fit->centre_px[0] = c[0];
      fit->centre_px[1] = c[1];
      if (!fit->found)
        snprintf(fit->why, sizeof(fit->why),
                 "no can: the outer edge of the brightest ring is not a circle: %d of %d edge "
                 "points kept, rms %.2f px from the fitted circle (at most 1.5)",
                 (int)fit->points, (int)M, (double)fit->rms_px);
    }
  }
  PetscCall(PetscFree(prof));
  PetscCall(PetscFree5(ex, ey, d, ad, use));
  PetscFunctionReturn(0);
}
