/*
 * Defects of a traced jelly-roll slice (see tracedefect.h).
 */
#include "mesh/tracedefect.h"
#include <math.h>

static PetscErrorCode DefectPush(PetscInt *n, TCTraceDefect **list, const TCTraceDefect *d)
{
  PetscFunctionBeginUser;
  /* grow in blocks of 16 */
  if (*n % 16 == 0) PetscCall(PetscRealloc(sizeof(TCTraceDefect) * (size_t)(*n + 16), list));
  (*list)[(*n)++] = *d;
  PetscFunctionReturn(0);
}

/* One traced foil about the roll centre: radius r, angle phi unwrapped and
   oriented to grow along the curve (the true angle is sg phi), its running
   maximum phm (for the search), and arc length s, all in m / rad. */
typedef struct {
  PetscInt   n;
  PetscReal *r, *phi, *phm, *s, sg;
} DefectCurve;

static PetscErrorCode DefectCurveCreate(const TCTraceFoil *F, const PetscReal c[2], DefectCurve *C)
{
  PetscReal prev, acc = 0;

  PetscFunctionBeginUser;
  C->n = F->n;
  PetscCall(PetscMalloc4(F->n, &C->r, F->n, &C->phi, F->n, &C->phm, F->n, &C->s));
  prev = acc = atan2(F->y[0] - c[1], F->x[0] - c[0]);
  for (PetscInt i = 0; i < F->n; i++) {
    PetscReal th = atan2(F->y[i] - c[1], F->x[i] - c[0]), d = th - prev;
    d -= 2 * PETSC_PI * floor((d + PETSC_PI) / (2 * PETSC_PI));
    acc += d;
    prev      = th;
    C->phi[i] = acc;
    C->r[i]   = hypot(F->x[i] - c[0], F->y[i] - c[1]);
    C->s[i]   = i ? C->s[i - 1] + hypot(F->x[i] - F->x[i - 1], F->y[i] - F->y[i - 1]) : 0;
  }
  C->sg = F->n > 1 && C->phi[F->n - 1] < C->phi[0] ? -1.0 : 1.0;
  for (PetscInt i = 0; i < F->n; i++) {
    C->phi[i] *= C->sg;
    C->phm[i] = i ? PetscMax(C->phm[i - 1], C->phi[i]) : C->phi[i];
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DefectCurveDestroy(DefectCurve *C)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree4(C->r, C->phi, C->phm, C->s));
  PetscFunctionReturn(0);
}

/* v (the curve's radius r or arc position s) at the (oriented, unwrapped)
   angle ph, linear between the samples; NaN outside the curve. */
static PetscReal DefectCurveAt(const DefectCurve *C, const PetscReal v[], PetscReal ph)
{
  PetscInt lo = 0, hi = C->n - 1;
  if (C->n < 2 || ph < C->phm[0] || ph > C->phm[C->n - 1]) return NAN;
  while (hi - lo > 1) {
    PetscInt mid = (lo + hi) / 2;
    if (C->phm[mid] <= ph)
      lo = mid;
    else
      hi = mid;
  }
  if (C->phm[hi] - C->phm[lo] <= 0) return v[lo];
  return v[lo] + (v[hi] - v[lo]) * (ph - C->phm[lo]) / (C->phm[hi] - C->phm[lo]);
}

static PetscReal DefectRadiusAt(const DefectCurve *C, PetscReal ph)
{
  return DefectCurveAt(C, C->r, ph);
}

static PetscReal DefectArcAt(const DefectCurve *C, PetscReal ph)
{
  return DefectCurveAt(C, C->s, ph);
}

/* Is arc position s in a stretch of F without a crossing? */
static PetscBool DefectUnseen(const TCTraceFoil *F, PetscReal s)
{
  for (PetscInt q = 0; q < F->nunseen; q++)
    if (s >= F->unseen_s_m[q][0] && s <= F->unseen_s_m[q][1]) return PETSC_TRUE;
  return PETSC_FALSE;
}

/* The point of the curve at arc position s. */
static void DefectPointAt(const TCTraceFoil *F, const DefectCurve *C, PetscReal s, PetscReal xy[2])
{
  PetscInt  k = 0;
  PetscReal u;
  while (k + 1 < C->n - 1 && C->s[k + 1] <= s) k++;
  u     = C->s[k + 1] > C->s[k] ? (s - C->s[k]) / (C->s[k + 1] - C->s[k]) : 0;
  u     = PetscMin(PetscMax(u, 0.0), 1.0);
  xy[0] = F->x[k] + u * (F->x[k + 1] - F->x[k]);
  xy[1] = F->y[k] + u * (F->y[k + 1] - F->y[k]);
}

static int DefectCmpReal(const void *a, const void *b)
{
  PetscReal x = *(const PetscReal *)a, y = *(const PetscReal *)b;
  return x < y ? -1 : x > y;
}

static PetscBool DefectGapAt(const DefectCurve *C, const PetscReal *g, const PetscReal *med,
                             const PetscInt *tb, const PetscBool *skip, PetscReal gap_factor,
                             PetscInt i)
{
  (void)C;
  return (PetscBool)(isfinite(g[i]) && !skip[i] && isfinite(med[tb[i]]) &&
                     g[i] > gap_factor * med[tb[i]]);
}

/* Gaps of one foil (see tracedefect.h), appended to list with d.foil = f. */
static PetscErrorCode DefectGaps(const TCTraceFoil *F, PetscInt f, const DefectCurve *C,
                                 PetscReal gap_factor, PetscInt slice, PetscReal z_m, PetscInt *n,
                                 TCTraceDefect **list)
{
  PetscInt   nt, *tb;
  PetscReal *g, *med, *tmp, phi0;
  PetscBool *skip;

  PetscFunctionBeginUser;
  if (C->n < 8 || C->phi[C->n - 1] - C->phi[0] < 2 * 2 * PETSC_PI) PetscFunctionReturn(0);
  phi0 = C->phi[0];
  nt   = (PetscInt)((C->phi[C->n - 1] - phi0) / (2 * PETSC_PI)) + 1;
  PetscCall(PetscMalloc5(C->n, &g, nt, &med, C->n, &tmp, C->n, &tb, C->n, &skip));
  for (PetscInt i = 0; i < C->n; i++) {
    g[i]  = DefectRadiusAt(C, C->phi[i] + 2 * PETSC_PI) - C->r[i];
    tb[i] = PetscMin(PetscMax((PetscInt)((C->phi[i] - phi0) / (2 * PETSC_PI)), 0), nt - 1);
    /* where the foil was not seen, its radius is interpolated: no evidence */
    skip[i] = (PetscBool)(DefectUnseen(F, C->s[i]) ||
                          DefectUnseen(F, DefectArcAt(C, C->phi[i] + 2 * PETSC_PI)));
  }
  /* the turn inward of a fold stands off the next turn by the fold's depth */
  for (PetscInt q = 0; q < F->nfold; q++) {
    PetscInt k = 0;
    while (k + 1 < C->n && C->s[k + 1] <= F->fold_s_m[q]) k++;
    for (PetscInt i = 0; i < C->n; i++)
      if (C->phi[i] >= C->phi[k] - 2 * PETSC_PI && C->phi[i] <= C->phi[k] + 0.05)
        skip[i] = PETSC_TRUE;
  }
  /* local pitch: the median of g over the turn and its neighbours */
  for (PetscInt t = 0; t < nt; t++) {
    PetscInt m = 0;
    for (PetscInt i = 0; i < C->n; i++)
      if (PetscAbsInt(tb[i] - t) <= 1 && isfinite(g[i]) && !skip[i]) tmp[m++] = g[i];
    if (m) qsort(tmp, (size_t)m, sizeof(PetscReal), DefectCmpReal);
    med[t] = m ? tmp[m / 2] : NAN;
  }
  for (PetscInt i = 0; i < C->n;) {
    PetscInt  i0 = i, ib = -1, cnt = 0;
    PetscReal eb = 0;
    for (;;) {
      PetscInt k = i;
      /* a dip of up to 4 points (16 px) below the threshold does not split a gap */
      while (cnt > 0 && k < C->n && k < i + 4 && !DefectGapAt(C, g, med, tb, skip, gap_factor, k))
        k++;
      if (k >= C->n || !DefectGapAt(C, g, med, tb, skip, gap_factor, k)) break;
      i = k;
      if (ib < 0 || g[i] - med[tb[i]] > eb) {
        eb = g[i] - med[tb[i]];
        ib = i;
      }
      cnt++;
      i++;
    }
    if (i == i0) {
      i++;
      continue;
    }
    if (cnt >= 2) {
      TCTraceDefect D;
      PetscReal     th = C->sg * C->phi[ib];
      D.d.kind         = TC_DEFECT_GAP;
      D.d.foil         = f;
      D.d.r_m          = C->r[ib] + 0.5 * g[ib];
      D.d.theta_rad    = atan2(sin(th), cos(th));
      D.d.z_m          = z_m;
      D.d.size_m       = eb;
      D.d.s_m          = NAN;
      D.slice          = slice;
      PetscCall(DefectPush(n, list, &D));
      PetscCall(PetscInfo(NULL,
                          "slice %" PetscInt_FMT
                          ": gap of %g um beyond the pitch %g um at r %g mm, "
                          "theta %g deg (foil %" PetscInt_FMT ")\n",
                          slice, (double)(1e6 * eb), (double)(1e6 * med[tb[ib]]),
                          (double)(1e3 * D.d.r_m), (double)(D.d.theta_rad * 180 / PETSC_PI), f));
    }
  }
  PetscCall(PetscFree5(g, med, tmp, tb, skip));
  PetscFunctionReturn(0);
}

/* Missing coating of one foil of a labelled slice (see tracedefect.h). */
static PetscErrorCode DefectCoating(const TCTraceSlice *res, PetscInt f, const DefectCurve *C,
                                    const float *img, PetscInt nx, PetscInt ny, PetscReal px,
                                    PetscInt slice, PetscReal z_m, PetscInt *n,
                                    TCTraceDefect **list)
{
  const TCTraceFoil *F  = &res->foil[f];
  PetscReal          hw = 0.5 * F->thickness_m / px, c[2] = {res->centre_m[0], res->centre_m[1]};
  PetscBool         *bare;
  PetscInt           nbare = 0;

  PetscFunctionBeginUser;
  if (F->n < 3) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(F->n, &bare));
  for (PetscInt i = 0; i < F->n; i++) {
    PetscInt  a = PetscMax(i - 1, 0), b = PetscMin(i + 1, F->n - 1);
    PetscReal tx = F->x[b] - F->x[a], ty = F->y[b] - F->y[a], tl = hypot(tx, ty);
    PetscBool coated = PETSC_FALSE;
    if (tl <= 0) tl = 1;
    for (PetscReal d = hw + 0.5; d <= hw + 2.0 + 1e-9 && !coated; d += 0.5)
      for (int side = -1; side <= 1 && !coated; side += 2) {
        PetscReal u  = (F->x[i] - side * d * px * ty / tl) / px + 0.5 * nx;
        PetscReal v  = (F->y[i] + side * d * px * tx / tl) / px + 0.5 * ny;
        PetscInt  pi = (PetscInt)floor(u), pj = (PetscInt)floor(v), lab;
        PetscBool foil = PETSC_FALSE;
        if (pi < 0 || pj < 0 || pi >= nx || pj >= ny) continue;
        lab = (PetscInt)img[pj * nx + pi];
        for (PetscInt k = 0; k < res->nfoils; k++)
          foil = (PetscBool)(foil || lab == res->foil[k].label);
        coated = (PetscBool)(lab > 0 && !foil);
      }
    bare[i] = (PetscBool)!coated;
    nbare += bare[i];
  }
  /* a foil whose coating the segmentation does not label */
  if (nbare > F->n / 2) {
    PetscCall(PetscInfo(NULL,
                        "slice %" PetscInt_FMT ": label %" PetscInt_FMT
                        " has no other label beside it on %.0f %% of its length: its coating is "
                        "not labelled, no missing coating reported\n",
                        slice, F->label, (double)(100.0 * nbare / F->n)));
    PetscCall(PetscFree(bare));
    PetscFunctionReturn(0);
  }
  for (PetscInt i = 0; i < F->n;) {
    PetscInt  i0 = i, i1;
    PetscReal sa, sb;
    while (i < F->n && bare[i]) i++;
    if (i == i0) {
      i++;
      continue;
    }
    i1 = i - 1;
    /* ends midway to the coated neighbours */
    sa = i0 > 0 ? 0.5 * (C->s[i0 - 1] + C->s[i0]) : 0;
    sb = i1 + 1 < F->n ? 0.5 * (C->s[i1] + C->s[i1 + 1]) : C->s[F->n - 1];
    if (i1 > i0 && sb - sa >= 10 * px) {
      TCTraceDefect D;
      PetscReal     sm = 0.5 * (sa + sb), xy[2];
      PetscInt      k  = i0;
      while (k < i1 && C->s[k + 1] <= sm) k++;
      {
        PetscReal u =
            k < F->n - 1 && C->s[k + 1] > C->s[k] ? (sm - C->s[k]) / (C->s[k + 1] - C->s[k]) : 0;
        u     = PetscMin(PetscMax(u, 0.0), 1.0);
        xy[0] = F->x[k] + u * (F->x[PetscMin(k + 1, F->n - 1)] - F->x[k]);
        xy[1] = F->y[k] + u * (F->y[PetscMin(k + 1, F->n - 1)] - F->y[k]);
      }
      D.d.kind      = TC_DEFECT_MISSING_COATING;
      D.d.foil      = f;
      D.d.r_m       = hypot(xy[0] - c[0], xy[1] - c[1]);
      D.d.theta_rad = atan2(xy[1] - c[1], xy[0] - c[0]);
      D.d.z_m       = z_m;
      D.d.size_m    = sb - sa;
      D.d.s_m       = sm;
      D.slice       = slice;
      PetscCall(DefectPush(n, list, &D));
    }
  }
  PetscCall(PetscFree(bare));
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceDefectsFind(const TCTraceSlice *res, const float *img, PetscInt nx,
                                  PetscInt ny, PetscReal px, PetscReal gap_factor, PetscInt slice,
                                  PetscReal z_m, PetscInt *n, TCTraceDefect **list)
{
  PetscInt  n0      = *n, ngap0, ngap1;
  PetscBool coating = PETSC_FALSE;

  PetscFunctionBeginUser;
  /* grayscale: stretches of the Al foil with no broad (coated) crossing */
  for (PetscInt f = 0; f < res->nfoils; f++)
    if (res->foil[f].unseen_bare && res->foil[f].n >= 2) {
      DefectCurve C;
      PetscCall(DefectCurveCreate(&res->foil[f], res->centre_m, &C));
      for (PetscInt q = 0; q < res->foil[f].nunseen; q++) {
        TCTraceDefect D;
        PetscReal sm = 0.5 * (res->foil[f].unseen_s_m[q][0] + res->foil[f].unseen_s_m[q][1]), xy[2];
        DefectPointAt(&res->foil[f], &C, sm, xy);
        D.d.kind      = TC_DEFECT_MISSING_COATING;
        D.d.foil      = f;
        D.d.r_m       = hypot(xy[0] - res->centre_m[0], xy[1] - res->centre_m[1]);
        D.d.theta_rad = atan2(xy[1] - res->centre_m[1], xy[0] - res->centre_m[0]);
        D.d.z_m       = z_m;
        D.d.size_m    = res->foil[f].unseen_s_m[q][1] - res->foil[f].unseen_s_m[q][0];
        D.d.s_m       = sm;
        D.slice       = slice;
        PetscCall(DefectPush(n, list, &D));
      }
      PetscCall(DefectCurveDestroy(&C));
    }
  /* folds, as the slice tracer cut them out */
  for (PetscInt f = 0; f < res->nfoils; f++)
    for (PetscInt q = 0; q < res->foil[f].nfold; q++) {
      TCTraceDefect D;
      D.d.kind      = TC_DEFECT_FOLD;
      D.d.foil      = f;
      D.d.r_m       = res->foil[f].fold_r_m[q];
      D.d.theta_rad = res->foil[f].fold_theta[q];
      D.d.z_m       = z_m;
      D.d.size_m    = res->foil[f].fold_size_m[q];
      D.d.s_m       = res->foil[f].fold_s_m[q];
      D.slice       = slice;
      PetscCall(DefectPush(n, list, &D));
    }
  /* a labelled slice with labels besides the traced foils */
  if (img && !res->gray)
    for (PetscInt q = 0; q < nx * ny && !coating; q++) {
      PetscInt  v    = (PetscInt)img[q];
      PetscBool foil = PETSC_FALSE;
      for (PetscInt k = 0; k < res->nfoils; k++)
        foil = (PetscBool)(foil || v == res->foil[k].label);
      coating = (PetscBool)(v > 0 && !foil);
    }
  ngap0 = ngap1 = *n;
  for (PetscInt f = 0; f < res->nfoils; f++) {
    DefectCurve C;
    PetscCall(DefectCurveCreate(&res->foil[f], res->centre_m, &C));
    if (f == 0) ngap0 = *n;
    PetscCall(DefectGaps(&res->foil[f], f, &C, gap_factor, slice, z_m, n, list));
    if (f == 0) ngap1 = *n;
    if (coating) PetscCall(DefectCoating(res, f, &C, img, nx, ny, px, slice, z_m, n, list));
    PetscCall(DefectCurveDestroy(&C));
  }
  /* a gap seen by both foils: listed once, the mean of the two */
  for (PetscInt a = ngap0; a < ngap1; a++) {
    TCTraceDefect *A     = &(*list)[a];
    PetscReal      pitch = PetscMax(res->foil[0].gap_mean_m, 0);
    for (PetscInt b = ngap1; b < *n; b++) {
      TCTraceDefect *B = &(*list)[b];
      PetscReal      dth;
      if (B->d.kind != TC_DEFECT_GAP || B->d.foil < 0) continue;
      dth = B->d.theta_rad - A->d.theta_rad;
      dth -= 2 * PETSC_PI * floor((dth + PETSC_PI) / (2 * PETSC_PI));
      if (PetscAbsReal(dth) < 10 * PETSC_PI / 180 && PetscAbsReal(B->d.r_m - A->d.r_m) < pitch) {
        A->d.r_m       = 0.5 * (A->d.r_m + B->d.r_m);
        A->d.theta_rad = atan2(sin(A->d.theta_rad + 0.5 * dth), cos(A->d.theta_rad + 0.5 * dth));
        A->d.size_m    = 0.5 * (A->d.size_m + B->d.size_m);
        A->d.foil      = -1;
        B->d.foil      = -2; /* merged: dropped below */
        break;
      }
    }
  }
  {
    PetscInt m = n0;
    for (PetscInt k = n0; k < *n; k++)
      if ((*list)[k].d.foil != -2) (*list)[m++] = (*list)[k];
    *n = m;
  }
  /* gaps belong to the layers, not one foil */
  for (PetscInt k = n0; k < *n; k++)
    if ((*list)[k].d.kind == TC_DEFECT_GAP) (*list)[k].d.foil = -1;
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceDefectsDraw(unsigned char *rgb, PetscInt nx, PetscInt ny, PetscReal px,
                                  const PetscReal centre_m[2], PetscInt slice, PetscInt n,
                                  const TCTraceDefect list[])
{
  const unsigned char col[TC_DEFECT_NKINDS][3] = {{255, 0, 255}, {255, 255, 0}, {255, 40, 40}};

  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < n; k++) {
    const TCRollDefect *d = &list[k].d;
    PetscReal           u, v, R;
    if (list[k].slice != slice) continue;
    u = (centre_m[0] + d->r_m * cos(d->theta_rad)) / px + 0.5 * nx;
    v = (centre_m[1] + d->r_m * sin(d->theta_rad)) / px + 0.5 * ny;
    R = 8 + PetscMin(0.5 * d->size_m / px, 24.0);
    for (PetscReal w = R; w <= R + 1.5; w += 0.75)
      for (PetscInt a = 0, na = (PetscInt)ceil(2 * PETSC_PI * w * 2); a < na; a++) {
        PetscInt i = (PetscInt)floor(u + w * cos(2 * PETSC_PI * a / na));
        PetscInt j = (PetscInt)floor(v + w * sin(2 * PETSC_PI * a / na));
        if (i < 0 || j < 0 || i >= nx || j >= ny) continue;
        PetscCall(PetscArraycpy(rgb + 3 * ((ny - 1 - j) * nx + i), col[d->kind], 3));
      }
  }
  PetscFunctionReturn(0);
}
