/*
 * Jelly-roll tracing (see trace.h for the algorithm and its sources).
 *
 * Units inside: pixels (px) and ray indices; converted to metres at the end.
 * Continuous pixel coordinates u, v have pixel (i, j) centred at (i + 0.5,
 * j + 0.5).
 */
#include "mesh/trace.h"
#include <math.h>
#include <string.h>

#define TC_TRACE_MAX_CLASSES 16

typedef struct {
  float r, w;   /* centroid radius and run width, px */
  float ra, rb; /* radius where the run starts and ends, px */
} TCCross;

typedef struct {
  PetscInt j0, j1;     /* first and last ray */
  float    r0, r1;     /* radius at the first and last ray */
  float    s0, s1;     /* slopes (px per ray) at the start and end */
  PetscInt n;          /* crossings */
  PetscInt next, prev; /* links */
  PetscInt off_next;   /* ray offset added to next's rays (0 or M) */
} TCSeg;

struct _p_TCTrace {
  MPI_Comm  comm;
  PetscInt  mode; /* 0 auto, 1 labels, 2 gray */
  PetscReal threshold;
  PetscBool threshold_set;
  PetscInt  labels[TC_TRACE_MAX_CLASSES], nlabels;
  PetscReal smooth_px, min_turns, sigma_px, resample_px;
};

PetscErrorCode TCTraceCreate(MPI_Comm comm, TCTrace *tr)
{
  PetscFunctionBeginUser;
  PetscCall(PetscNew(tr));
  (*tr)->comm        = comm;
  (*tr)->smooth_px   = 8;
  (*tr)->min_turns   = 1;
  (*tr)->sigma_px    = -1; /* auto */
  (*tr)->resample_px = 4;
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceSetFromOptions(TCTrace tr)
{
  const char *modes[] = {"auto", "labels", "gray"};
  PetscInt    m       = tr->mode;
  PetscBool   set;

  PetscFunctionBeginUser;
  PetscOptionsBegin(tr->comm, NULL, "Jelly-roll tracing", "TCTrace");
  PetscCall(
      PetscOptionsEList("-trace_mode", "labels or grayscale", "", modes, 3, modes[m], &m, NULL));
  tr->mode = m;
  PetscCall(PetscOptionsReal("-trace_threshold", "grayscale threshold (default Otsu)", "",
                             tr->threshold, &tr->threshold, &tr->threshold_set));
  tr->nlabels = TC_TRACE_MAX_CLASSES;
  PetscCall(PetscOptionsIntArray("-trace_label", "labels to trace (default all non-zero)", "",
                                 tr->labels, &tr->nlabels, &set));
  if (!set) tr->nlabels = 0;
  PetscCall(PetscOptionsReal("-trace_smooth_px", "smoothing length along the foil, px", "",
                             tr->smooth_px, &tr->smooth_px, NULL));
  PetscCall(PetscOptionsReal("-trace_sigma_px",
                             "grayscale pre-smoothing (Gaussian sigma), px (-1: min(1 px, 10 um))",
                             "", tr->sigma_px, &tr->sigma_px, NULL));
  PetscCall(PetscOptionsReal("-trace_resample_px",
                             "point spacing of the stored curves, px (0: every ray)", "",
                             tr->resample_px, &tr->resample_px, NULL));
  PetscCall(PetscOptionsReal("-trace_min_turns", "fewest turns that make a spiral", "",
                             tr->min_turns, &tr->min_turns, NULL));
  PetscOptionsEnd();
  PetscCheck(tr->smooth_px >= 0, tr->comm, PETSC_ERR_USER_INPUT,
             "-trace_smooth_px must be >= 0 (got %g)", (double)tr->smooth_px);
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceDestroy(TCTrace *tr)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(*tr));
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceSliceReset(TCTraceSlice *res)
{
  PetscFunctionBeginUser;
  for (PetscInt f = 0; f < res->nfoils; f++) {
    PetscCall(PetscFree(res->foil[f].x));
    PetscCall(PetscFree(res->foil[f].y));
  }
  PetscCall(PetscMemzero(res, sizeof(*res)));
  PetscFunctionReturn(0);
}

/* ---- image helpers ---------------------------------------------------------------- */

static PetscErrorCode TCGauss(const float *in, float *out, PetscInt nx, PetscInt ny,
                              PetscReal sigma)
{
  PetscInt R = (PetscInt)ceil(3 * sigma);
  float    w[64], sum = 0, *tmp;

  PetscFunctionBeginUser;
  R = PetscMin(R, 31);
  for (PetscInt k = -R; k <= R; k++) sum += (w[k + R] = (float)exp(-0.5 * k * k / (sigma * sigma)));
  for (PetscInt k = 0; k <= 2 * R; k++) w[k] /= sum;
  PetscCall(PetscMalloc1(nx * ny, &tmp));
  /* the same sums, in the same order, as with the edges clamped everywhere;
     the interior without the clamps so that the compiler vectorizes it */
  for (PetscInt j = 0; j < ny; j++) {
    const float *row = in + j * nx;
    float       *o   = tmp + j * nx;
    for (PetscInt i = 0; i < nx; i++)
      if (i < R || i >= nx - R) {
        float a = 0;
        for (PetscInt k = -R; k <= R; k++)
          a += w[k + R] * row[PetscMin(PetscMax(i + k, 0), nx - 1)];
        o[i] = a;
      } else
        o[i] = 0;
    for (PetscInt k = -R; k <= R; k++) {
      const float wk = w[k + R];
      for (PetscInt i = R; i < nx - R; i++) o[i] += wk * row[i + k];
    }
  }
  for (PetscInt j = 0; j < ny; j++) {
    float *o = out + j * nx;
    if (j >= R && j < ny - R) {
      for (PetscInt i = 0; i < nx; i++) o[i] = 0;
      for (PetscInt k = -R; k <= R; k++) {
        const float *t = tmp + (j + k) * nx, wk = w[k + R];
        for (PetscInt i = 0; i < nx; i++) o[i] += wk * t[i];
      }
    } else
      for (PetscInt i = 0; i < nx; i++) {
        float a = 0;
        for (PetscInt k = -R; k <= R; k++)
          a += w[k + R] * tmp[PetscMin(PetscMax(j + k, 0), ny - 1) * nx + i];
        o[i] = a;
      }
  }
  PetscCall(PetscFree(tmp));
  PetscFunctionReturn(0);
}

/* Otsu (1979): the threshold maximising the between-class variance of a
   256-bin histogram over [lo, hi]. */
static PetscReal TCOtsu(const float *img, PetscInt n, float lo, float hi)
{
  PetscReal hist[256] = {0}, total = 0, sum = 0, sumb = 0, wb = 0, best = -1, t = 0.5 * (lo + hi);
  for (PetscInt q = 0; q < n; q++) {
    int b = (int)((img[q] - lo) / (hi - lo) * 255.999);
    hist[PetscMin(PetscMax(b, 0), 255)] += 1;
  }
  for (int b = 0; b < 256; b++) {
    total += hist[b];
    sum += b * hist[b];
  }
  for (int b = 0; b < 255; b++) {
    PetscReal wf, mb, mf, v;
    wb += hist[b];
    if (wb == 0) continue;
    wf = total - wb;
    if (wf == 0) break;
    sumb += b * hist[b];
    mb = sumb / wb;
    mf = (sum - sumb) / wf;
    v  = wb * wf * (mb - mf) * (mb - mf);
    if (v > best) {
      best = v;
      t    = lo + (b + 1) * (hi - lo) / 256.0;
    }
  }
  return t;
}

/* 1-D squared distance transform of f (Felzenszwalb & Huttenlocher 2012). */
static void TCEDT1(const float *f, float *d, PetscInt n, PetscInt *v, float *z)
{
  PetscInt k = 0;
  v[0]       = 0;
  z[0]       = -1e30f;
  z[1]       = 1e30f;
  for (PetscInt q = 1; q < n; q++) {
    float s;
    for (;;) {
      PetscInt p = v[k];
      s          = ((f[q] + (float)q * q) - (f[p] + (float)p * p)) / (2.0f * (q - p));
      if (s <= z[k] && k > 0)
        k--;
      else
        break;
    }
    if (s <= z[k]) { /* k == 0 and still dominated */
      v[0] = q;
      z[0] = -1e30f;
      z[1] = 1e30f;
      continue;
    }
    k++;
    v[k]     = q;
    z[k]     = s;
    z[k + 1] = 1e30f;
  }
  k = 0;
  for (PetscInt q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    d[q] = (float)(q - v[k]) * (q - v[k]) + f[v[k]];
  }
}

/* Centre of the hollow core: the background pixel farthest from the foil
   inside the middle half of the foil's bounding box. */
static PetscErrorCode TCTraceCentre(const unsigned char *fg, PetscInt nx, PetscInt ny,
                                    PetscReal c[2], PetscReal *depth)
{
  PetscInt  i0 = nx, i1 = -1, j0 = ny, j1 = -1, n = PetscMax(nx, ny), *v;
  float    *dt, *f, *d, *z, best                  = -1;
  PetscReal bx, by, hw, hh;

  PetscFunctionBeginUser;
  for (PetscInt j = 0; j < ny; j++)
    for (PetscInt i = 0; i < nx; i++)
      if (fg[j * nx + i]) {
        i0 = PetscMin(i0, i);
        i1 = PetscMax(i1, i);
        j0 = PetscMin(j0, j);
        j1 = PetscMax(j1, j);
      }
  PetscCall(PetscMalloc1(nx * ny, &dt));
  PetscCall(PetscMalloc4(n, &f, n, &d, n + 1, &z, n, &v));
  for (PetscInt q = 0; q < nx * ny; q++) dt[q] = fg[q] ? 0.0f : 1e20f;
  for (PetscInt j = 0; j < ny; j++) {
    TCEDT1(dt + j * nx, d, nx, v, z);
    PetscCall(PetscArraycpy(dt + j * nx, d, nx));
  }
  bx = 0.5 * (i0 + i1 + 1);
  by = 0.5 * (j0 + j1 + 1);
  hw = 0.25 * (i1 - i0 + 1);
  hh = 0.25 * (j1 - j0 + 1);
  /* the column pass only where the centre is searched (the same values) */
  for (PetscInt i = PetscMax((PetscInt)(bx - hw), 0); i <= PetscMin((PetscInt)(bx + hw), nx - 1);
       i++) {
    for (PetscInt j = 0; j < ny; j++) f[j] = dt[j * nx + i];
    TCEDT1(f, d, ny, v, z);
    for (PetscInt j = 0; j < ny; j++) dt[j * nx + i] = d[j];
  }
  c[0] = bx;
  c[1] = by;
  for (PetscInt j = (PetscInt)(by - hh); j <= (PetscInt)(by + hh); j++)
    for (PetscInt i = (PetscInt)(bx - hw); i <= (PetscInt)(bx + hw); i++) {
      if (i < 0 || j < 0 || i >= nx || j >= ny) continue;
      if (dt[j * nx + i] > best) {
        best = dt[j * nx + i];
        c[0] = i + 0.5;
        c[1] = j + 0.5;
      }
    }
  *depth = sqrt(PetscMax(best, 0));
  PetscCall(PetscFree(dt));
  PetscCall(PetscFree4(f, d, z, v));
  PetscFunctionReturn(0);
}

/* Grayscale scans as they come: a lab scan shows the steel can as the
   brightest ring around a darker roll, and the hollow mandrel inside, so a
   threshold over the whole image lands between background and roll. Find the
   centre (the hollow core of an Otsu mask), the radial mean profile about it,
   the can as its brightest ring outside the core when it stands out from the
   roll (by more than half the roll's contrast to the core, over less than a
   tenth of its radius) and encloses it (outside it the profile stays
   nearer the core's level than the roll's), and threshold by Otsu over the annulus between the
   mandrel hole and the can only; outside it sm is set to lo (background).
   Without a can the whole image is used. -trace_threshold overrides the
   threshold (the annulus still applies). */
static PetscErrorCode TCTraceGrayAnnulus(TCTrace tr, float *sm, PetscInt nx, PetscInt ny,
                                         PetscReal px, float lo, float hi, const char what[],
                                         TCTraceSlice *res, float *thr)
{
  PetscInt       npix = nx * ny, nb = (PetscInt)ceil(0.5 * hypot(nx, ny)) + 2, n = 0;
  unsigned char *fg;
  PetscReal c[2], depth, *sum, *cnt, *P, t0 = TCOtsu(sm, npix, lo, hi), ring_thr = -PETSC_MAX_REAL;
  float    *ann, *rad;

  PetscFunctionBeginUser;
  (void)what;
  PetscCall(PetscMalloc1(npix, &fg));
  for (PetscInt q = 0; q < npix; q++) fg[q] = (unsigned char)(sm[q] > t0);
  PetscCall(TCTraceCentre(fg, nx, ny, c, &depth));
  {
    /* a can brighter than everything else takes the whole-image threshold:
       the mask is then a thin ring whose hole is most of it; threshold again
       below it for the roll's hollow core */
    PetscInt i0 = nx, i1 = -1;
    for (PetscInt q = 0; q < npix; q++)
      if (fg[q]) {
        i0 = PetscMin(i0, q % nx);
        i1 = PetscMax(i1, q % nx);
      }
    if (i1 > i0 && depth > 0.3 * (i1 - i0 + 1)) {
      float   *low;
      PetscInt m = 0;
      float    a = PETSC_MAX_REAL, b = -PETSC_MAX_REAL;
      PetscCall(PetscMalloc1(npix, &low));
      for (PetscInt q = 0; q < npix; q++)
        if (sm[q] <= t0) {
          low[m++] = sm[q];
          a        = PetscMin(a, sm[q]);
          b        = PetscMax(b, sm[q]);
        }
      if (m > 0 && b > a) {
        /* the ring's centroid is the centre; the hollow core ends where the
           radial mean first exceeds the threshold below the can */
        PetscReal t1 = TCOtsu(low, m, a, b), sx = 0, sy = 0, sn = 0;
        for (PetscInt q = 0; q < npix; q++)
          if (fg[q]) {
            sx += q % nx + 0.5;
            sy += q / nx + 0.5;
            sn += 1;
          }
        c[0]     = sx / sn;
        c[1]     = sy / sn;
        ring_thr = t1;
      }
      PetscCall(PetscFree(low));
    }
  }
  PetscCall(PetscFree(fg));
  PetscCall(PetscCalloc3(nb, &sum, nb, &cnt, nb, &P));
  PetscCall(PetscMalloc1(npix, &rad)); /* distance from the centre, px */
  for (PetscInt j = 0; j < ny; j++)
    for (PetscInt i = 0; i < nx; i++) {
      PetscReal dx = i + 0.5 - c[0], dy = j + 0.5 - c[1];
      PetscInt  b;
      rad[j * nx + i] = (float)sqrt(dx * dx + dy * dy);
      b               = (PetscInt)rad[j * nx + i];
      sum[b] += sm[j * nx + i];
      cnt[b] += 1;
    }
  for (PetscInt b = 0; b < nb; b++) P[b] = cnt[b] > 0 ? sum[b] / cnt[b] : 0;
  if (ring_thr > -PETSC_MAX_REAL) {
    depth = 0;
    while (depth < nb - 1 && P[(PetscInt)depth] <= ring_thr) depth += 1;
  }
  res->mandrel_r_m = depth * px;
  {
    PetscInt  r0 = (PetscInt)depth + 3, pk = -1, rmax = 0, rci, rco;
    PetscReal pcore = 0, proll, *tmp;
    /* rings fully inside the image only */
    for (PetscInt b = 1; b < nb; b++)
      if (cnt[b] > 0.9 * 2 * PETSC_PI * b) rmax = b;
    for (PetscInt b = r0; b <= rmax; b++)
      if (pk < 0 || P[b] > P[pk]) pk = b;
    for (PetscInt b = 0; b < PetscMax((PetscInt)depth, 1); b++) pcore += P[b] / PetscMax(depth, 1);
    if (pk > r0 + 4) {
      PetscInt m = 0, hi2 = (PetscInt)(0.8 * pk);
      PetscCall(PetscMalloc1(pk + 1, &tmp));
      for (PetscInt b = r0; b <= hi2; b++) tmp[m++] = P[b];
      PetscCall(PetscSortReal(m, tmp));
      proll = m ? tmp[m / 2] : P[pk];
      PetscCall(PetscFree(tmp));
      rci = pk;
      while (rci > r0 && P[rci - 1] > 0.5 * (P[pk] + proll)) rci--;
      rco = pk;
      while (rco < rmax && P[rco + 1] > 0.5 * (P[pk] + proll)) rco++;
      /* a can: it stands out from the roll, is thin, and encloses it --
         outside it the profile falls below halfway from the roll to the core */
      PetscReal pout = pcore;
      for (PetscInt b = rco + 3 + (PetscInt)(0.02 * pk); b <= rmax; b++)
        pout = b == rco + 3 + (PetscInt)(0.02 * pk)
                   ? P[b]
                   : PetscMax(pout, P[b]); /* past its blurred edge */
      if (P[pk] - proll > 0.5 * PetscAbsReal(proll - pcore) && rco - rci < 0.1 * pk &&
          PetscAbsReal(pout - pcore) < 0.5 * PetscAbsReal(proll - pcore)) {
        res->can_found     = PETSC_TRUE;
        res->can_r_inner_m = (rci - 0.5) * px;
        res->can_r_outer_m = (rco + 1.0) * px;
        /* outside the annulus: background */
        for (PetscInt q = 0; q < npix; q++)
          if (rad[q] > rci - 2.0) sm[q] = lo;
        PetscCall(PetscInfo(NULL,
                            "%s: can found: inner radius %g px, outer %g px (peak %g, roll %g, "
                            "core %g); mandrel hole %g px\n",
                            what, (double)(rci - 0.5), (double)(rco + 1.0), (double)P[pk],
                            (double)proll, (double)pcore, (double)depth));
      }
    }
  }
  /* Otsu over the annulus (the whole image without a can) */
  PetscCall(PetscMalloc1(npix, &ann));
  for (PetscInt q = 0; q < npix; q++)
    if (!res->can_found || (rad[q] > depth && rad[q] < res->can_r_inner_m / px - 2.0))
      ann[n++] = sm[q];
  PetscCall(PetscFree(rad));
  {
    float a = PETSC_MAX_REAL, b = -PETSC_MAX_REAL;
    for (PetscInt q = 0; q < n; q++) {
      a = PetscMin(a, ann[q]);
      b = PetscMax(b, ann[q]);
    }
    *thr = tr->threshold_set ? (float)tr->threshold : (b > a ? (float)TCOtsu(ann, n, a, b) : t0);
  }
  {
    PetscReal s1 = 0, s0 = 0, n1 = 0, n0 = 0;
    for (PetscInt q = 0; q < n; q++) {
      if (ann[q] > *thr) {
        s1 += ann[q];
        n1++;
      } else {
        s0 += ann[q];
        n0++;
      }
    }
    res->contrast = (n1 > 0 && n0 > 0 && s1 / n1 + s0 / n0 != 0)
                        ? (s1 / n1 - s0 / n0) / (s1 / n1 + s0 / n0)
                        : 0;
    if (n > 0) { /* the roll's gray range for the PNG: 1st and 99th percentile (histogram) */
      PetscInt *h, acc = 0, k = 0;
      float     a = PETSC_MAX_REAL, b = -PETSC_MAX_REAL;
      for (PetscInt q = 0; q < n; q++) {
        a = PetscMin(a, ann[q]);
        b = PetscMax(b, ann[q]);
      }
      PetscCall(PetscCalloc1(4096, &h));
      for (PetscInt q = 0; q < n; q++)
        h[b > a ? PetscMin((PetscInt)((ann[q] - a) / (b - a) * 4096), 4095) : 0]++;
      for (; k < 4096 && acc + h[k] <= n / 100; k++) acc += h[k];
      res->gray_lo = a + (b - a) * k / 4096.0;
      for (acc = 0, k = 4095; k > 0 && acc + h[k] <= n / 100; k--) acc += h[k];
      res->gray_hi = a + (b - a) * (k + 1) / 4096.0;
      PetscCall(PetscFree(h));
    }
  }
  PetscCall(PetscFree(ann));
  PetscCall(PetscFree3(sum, cnt, P));
  PetscFunctionReturn(0);
}

/* ---- tracking ----------------------------------------------------------------------- */

typedef struct {
  PetscInt  M;   /* rays */
  PetscInt *ptr; /* crossings of ray j: [ptr[j], ptr[j+1]) */
  TCCross  *cr;
  PetscInt  ncr, cap;
} TCRays;

static PetscErrorCode TCRaysPush(TCRays *R, float r, float w, float ra, float rb)
{
  PetscFunctionBeginUser;
  if (R->ncr == R->cap) {
    TCCross *n;
    R->cap = PetscMax(1024, 2 * R->cap);
    PetscCall(PetscMalloc1(R->cap, &n));
    if (R->ncr) PetscCall(PetscArraycpy(n, R->cr, R->ncr));
    PetscCall(PetscFree(R->cr));
    R->cr = n;
  }
  R->cr[R->ncr].r  = r;
  R->cr[R->ncr].w  = w;
  R->cr[R->ncr].ra = ra;
  R->cr[R->ncr].rb = rb;
  R->ncr++;
  PetscFunctionReturn(0);
}

static int TCCmpReal(const void *a, const void *b)
{
  PetscReal x = *(const PetscReal *)a, y = *(const PetscReal *)b;
  return x < y ? -1 : x > y;
}

/* Median spacing between consecutive crossings on a ray: the winding pitch. */
static PetscErrorCode TCRaysPitch(const TCRays *R, PetscReal *pitch)
{
  PetscReal *d;
  PetscInt   n = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(R->ncr + 1, &d));
  for (PetscInt j = 0; j < R->M; j++)
    for (PetscInt k = R->ptr[j] + 1; k < R->ptr[j + 1]; k++) d[n++] = R->cr[k].r - R->cr[k - 1].r;
  if (n) {
    qsort(d, (size_t)n, sizeof(PetscReal), TCCmpReal);
    *pitch = d[n / 2];
  } else
    *pitch = 0;
  PetscCall(PetscFree(d));
  PetscFunctionReturn(0);
}

/* Join runs on the same ray whose gap is at most gapmax px into one crossing
   (centroid weighted by run width): a one-pixel label line whose staircase
   or zigzag steps across the ray gives two runs a pixel apart, which are one
   foil, not two. In place. */
static void TCRaysMerge(TCRays *R, PetscReal gapmax)
{
  PetscInt m = 0;
  for (PetscInt j = 0; j < R->M; j++) {
    PetscInt k0 = R->ptr[j], k1 = R->ptr[j + 1];
    R->ptr[j] = m;
    for (PetscInt k = k0; k < k1; k++) {
      TCCross c = R->cr[k];
      if (m > R->ptr[j] && c.ra - R->cr[m - 1].rb <= gapmax) {
        TCCross *p = &R->cr[m - 1];
        float    w = p->w + c.w;
        p->r       = (p->r * p->w + c.r * c.w) / PetscMax(w, 1e-6f);
        p->w       = w;
        p->rb      = c.rb;
      } else
        R->cr[m++] = c;
    }
  }
  R->ptr[R->M] = m;
  R->ncr       = m;
}

typedef struct {
  PetscInt   n;
  PetscInt  *J;     /* unwrapped ray index */
  PetscReal *r, *w; /* radius, run width (negative: no crossing, interpolated) */
  /* crossings of the class in long segments (M / 20 or more) off the chain,
     and the largest of them */
  PetscInt  nun, un_n, un_j0, un_j1;
  PetscReal un_r0, un_r1;
  /* folds cut out of the chain (see TCRaysFolds): the chain index of the
     junction, the rays of the folded stretch, the middle leg's radius and the
     foil length left off the curve (px) */
  PetscInt  nfold, fold_i[TC_TRACE_MAX_FOLDS], fold_j0[TC_TRACE_MAX_FOLDS];
  PetscInt  fold_j1[TC_TRACE_MAX_FOLDS];
  PetscReal fold_r[TC_TRACE_MAX_FOLDS], fold_len[TC_TRACE_MAX_FOLDS];
} TCChain;

/* Radius of segment b at ray j (the nearest crossing of b at or before j;
   its first when j precedes it): crossings of b are sorder[sfirst[b] ..
   sfirst[b+1]) in ray order. */
static PetscReal TCSegRadiusAt(const TCRays *R, const PetscInt *sfirst, const PetscInt *sorder,
                               const PetscInt *rayof, PetscInt b, PetscInt j)
{
  PetscInt lo = sfirst[b], hi = sfirst[b + 1] - 1;
  while (hi > lo) {
    PetscInt mid = (lo + hi + 1) / 2;
    if (rayof[sorder[mid]] <= j)
      lo = mid;
    else
      hi = mid - 1;
  }
  return R->cr[sorder[lo]].r;
}

/* A Z-shaped fold (a buckle of the core): the foil runs on (piece a), folds
   back over a stretch of angle (the middle leg q) and forward again (piece
   b), so that rays through the stretch meet it three times and no polar
   track can follow it. Seen as: a long piece a ending on ray a.j1, a long
   piece b starting on ray b.j0 before that (5 to 90 degrees of overlap) and
   running on beyond it, b more than 3.5 px (the same line stepping, linked
   elsewhere) and less than 0.8 pitch (the next turn) off a on both ends of
   the overlap, on the same side, and a middle leg between them spanning the
   overlap (its ends within 10 degrees of the folds). The fold is cut out:
   a is linked to b (b's crossings before a's end are dropped, as for an
   overlap link), the middle leg is part of the fold, not a piece left off
   the curve. fold_of[a] gets the index into the fold list, infold[q] is set. */
static PetscErrorCode TCRaysFolds(const TCRays *R, TCSeg *S, PetscInt nseg, PetscReal pitch,
                                  const PetscInt *sfirst, const PetscInt *sorder,
                                  const PetscInt *rayof, PetscInt *fold_of, PetscBool *infold,
                                  PetscInt *nfold, PetscInt fj0[], PetscInt fj1[], PetscReal fr[],
                                  PetscReal flen[])
{
  PetscInt  M = R->M, nlong = PetscMax(10, M / 100), slack = PetscMax(2, M / 36);
  PetscReal dth = 2 * PETSC_PI / M;

  PetscFunctionBeginUser;
  *nfold = 0;
  for (PetscInt a = 0; a < nseg; a++) fold_of[a] = -1;
  if (!(pitch > 0)) PetscFunctionReturn(0);
  for (PetscInt a = 0; a < nseg && *nfold < TC_TRACE_MAX_FOLDS; a++) {
    PetscInt  bb = -1, bq = -1;
    PetscReal be = PETSC_MAX_REAL;
    if (S[a].n < nlong || S[a].next >= 0) continue;
    for (PetscInt b = 0; b < nseg; b++) {
      PetscInt  ov = S[a].j1 - S[b].j0;
      PetscReal e1, e0;
      if (b == a || S[b].n < nlong || S[b].prev >= 0) continue;
      if (ov < M / 72 || ov > M / 4 || S[b].j1 <= S[a].j1 + M / 72 || S[a].j0 >= S[b].j0 - M / 72)
        continue;
      /* the offsets a little inside the overlap: the crossings at the
         folds themselves take in the radial piece between the legs */
      {
        PetscInt in = PetscMin(PetscMax(1, M / 144), ov / 4);
        e1          = TCSegRadiusAt(R, sfirst, sorder, rayof, b, S[a].j1 - in) -
             TCSegRadiusAt(R, sfirst, sorder, rayof, a, S[a].j1 - in);
        e0 = TCSegRadiusAt(R, sfirst, sorder, rayof, b, S[b].j0 + in) -
             TCSegRadiusAt(R, sfirst, sorder, rayof, a, S[b].j0 + in);
      }
      if (e1 * e0 <= 0 || PetscMin(PetscAbsReal(e1), PetscAbsReal(e0)) <= 3.5 ||
          PetscMax(PetscAbsReal(e1), PetscAbsReal(e0)) >= 0.8 * pitch)
        continue;
      for (PetscInt q = 0; q < nseg; q++) {
        PetscInt  jm;
        PetscReal rq, ra, rb;
        if (q == a || q == b || S[q].n < 3 || PetscAbsInt(S[q].j0 - S[b].j0) > slack ||
            PetscAbsInt(S[q].j1 - S[a].j1) > slack || S[q].j1 - S[q].j0 < ov / 2)
          continue;
        jm = (S[q].j0 + S[q].j1) / 2;
        rq = TCSegRadiusAt(R, sfirst, sorder, rayof, q, jm);
        ra = TCSegRadiusAt(R, sfirst, sorder, rayof, a, jm);
        rb = TCSegRadiusAt(R, sfirst, sorder, rayof, b, jm);
        if (!((rq - ra) * (rb - rq) > 0)) continue; /* between the two */
        if (PetscAbsReal(e1 - e0) < be) {
          be = PetscAbsReal(e1 - e0);
          bb = b;
          bq = q;
        }
      }
    }
    if (bb < 0) continue;
    {
      PetscInt  ov = S[a].j1 - S[bb].j0, jm = (S[bb].j0 + S[a].j1) / 2, k = *nfold;
      PetscReal rq  = TCSegRadiusAt(R, sfirst, sorder, rayof, bq, jm);
      PetscReal rb  = TCSegRadiusAt(R, sfirst, sorder, rayof, bb, jm);
      S[a].next     = bb;
      S[a].off_next = 0;
      S[bb].prev    = a;
      infold[bq]    = PETSC_TRUE;
      fold_of[a]    = k;
      fj0[k]        = S[bb].j0;
      fj1[k]        = S[a].j1;
      fr[k]         = rq;
      /* the foil off the curve: the middle leg and b over the overlap */
      flen[k] = dth * ov * (rq + rb);
      (*nfold)++;
      PetscCall(
          PetscInfo(NULL,
                    "fold: piece ending on ray %" PetscInt_FMT " (r %g px) joined to the piece "
                    "starting on ray %" PetscInt_FMT " (r %g px), middle leg r %g px cut out\n",
                    S[a].j1, (double)S[a].r1, S[bb].j0, (double)S[bb].r0, (double)rq));
    }
  }
  PetscFunctionReturn(0);
}

/* Chain the crossings of one foil class into the longest curve. */
/* Chain the crossings of one foil class into the longest curve. With spare
   non-NULL, spare[k] is set for crossings outside that curve that belong to a
   track of at least 10 crossings (a foil piece, not noise). */
static PetscErrorCode TCRaysTrack(const TCRays *R, PetscReal tol, TCChain *best, PetscBool *spare)
{
  PetscInt  M = R->M, nseg = 0, segcap = 1024, *seg, *act, nact = 0, gap = PetscMax(2, M / 72);
  PetscInt  glink = PetscMax(4, M / 8), ovl = PetscMax(8, M / 16), *claim, *sfirst, *sorder, *rayof;
  PetscInt *fold_of, nfold                  = 0, fj0[TC_TRACE_MAX_FOLDS], fj1[TC_TRACE_MAX_FOLDS];
  PetscReal fr[TC_TRACE_MAX_FOLDS], flen[TC_TRACE_MAX_FOLDS];
  PetscBool *infold;
  TCSeg     *S;
  PetscReal *dist;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(best, sizeof(*best)));
  PetscCall(PetscMalloc1(R->ncr + 1, &seg));
  PetscCall(PetscMalloc1(segcap, &S));
  PetscCall(PetscMalloc1(R->ncr + 1, &act));
  PetscCall(PetscMalloc1(R->ncr + 1, &claim));
  PetscCall(PetscMalloc1(R->ncr + 1, &dist));
  for (PetscInt j = 0; j < M; j++) {
    PetscInt k0 = R->ptr[j], k1 = R->ptr[j + 1], m = 0;
    /* retire segments that have been silent too long */
    for (PetscInt a = 0; a < nact; a++)
      if (j - S[act[a]].j1 <= gap) act[m++] = act[a];
    nact = m;
    for (PetscInt a = 0; a < nact; a++) {
      claim[a] = -1;
      dist[a]  = PETSC_MAX_REAL;
    }
    for (PetscInt k = k0; k < k1; k++) {
      PetscReal bd = tol;
      PetscInt  ba = -1;
      seg[k]       = -1;
      for (PetscInt a = 0; a < nact; a++) {
        TCSeg    *s  = &S[act[a]];
        PetscReal rp = s->r1 + s->s1 * (j - s->j1), d = PetscAbsReal(R->cr[k].r - rp);
        if (d < bd) {
          bd = d;
          ba = a;
        }
      }
      if (ba >= 0 && bd < dist[ba]) {
        if (claim[ba] >= 0) seg[claim[ba]] = -1; /* the nearer crossing wins */
        claim[ba] = k;
        dist[ba]  = bd;
        seg[k]    = act[ba];
      }
    }
    for (PetscInt a = 0; a < nact; a++)
      if (claim[a] >= 0) {
        TCSeg   *s  = &S[act[a]];
        PetscInt k  = claim[a];
        float    sl = (R->cr[k].r - s->r1) / (float)(j - s->j1);
        /* the mean slope over the first 20 crossings, then a running mean
           over about 20: a zigzag of one pixel every few rays must not tilt
           the prediction across a gap */
        s->s1 = s->n < 20 ? (R->cr[k].r - s->r0) / (float)(j - s->j0) : 0.95f * s->s1 + 0.05f * sl;
        if (s->n < 3) s->s0 = s->s1;
        s->r1 = R->cr[k].r;
        s->j1 = j;
        s->n++;
      }
    for (PetscInt k = k0; k < k1; k++)
      if (seg[k] < 0) {
        if (nseg == segcap) {
          segcap *= 2;
          PetscCall(PetscRealloc(sizeof(TCSeg) * (size_t)segcap, &S));
        }
        S[nseg].j0 = S[nseg].j1 = j;
        S[nseg].r0 = S[nseg].r1 = R->cr[k].r;
        S[nseg].s0 = S[nseg].s1 = 0;
        S[nseg].n               = 1;
        S[nseg].next = S[nseg].prev = -1;
        S[nseg].off_next            = 0;
        seg[k]                      = nseg;
        act[nact++]                 = nseg++;
      }
  }
  /* the crossings of each segment in ray order, for the radius of a
     segment at a given ray (overlap links) */
  PetscCall(PetscCalloc3(nseg + 1, &sfirst, R->ncr + 1, &sorder, R->ncr + 1, &rayof));
  {
    PetscInt *cnt;
    PetscCall(PetscCalloc1(nseg + 1, &cnt));
    for (PetscInt j = 0; j < M; j++)
      for (PetscInt k = R->ptr[j]; k < R->ptr[j + 1]; k++) rayof[k] = j;
    for (PetscInt k = 0; k < R->ncr; k++)
      if (seg[k] >= 0) sfirst[seg[k] + 1]++;
    for (PetscInt q = 0; q < nseg; q++) sfirst[q + 1] += sfirst[q];
    for (PetscInt k = 0; k < R->ncr; k++)
      if (seg[k] >= 0) sorder[sfirst[seg[k]] + cnt[seg[k]]++] = k;
    PetscCall(PetscFree(cnt));
  }
  /* folds first: their pieces overlap in angle, and the links below would
     take them for a line stepping or a gap */
  PetscCall(PetscMalloc1(nseg + 1, &fold_of));
  PetscCall(PetscCalloc1(nseg + 1, &infold));
  PetscCall(TCRaysFolds(R, S, nseg, tol / 0.3, sfirst, sorder, rayof, fold_of, infold, &nfold, fj0,
                        fj1, fr, flen));
  /* link segments across gaps and the seam: greedy by score */
  {
    typedef struct {
      PetscReal score;
      PetscInt  a, b, off;
    } Cand;
    Cand    *cand;
    PetscInt nc = 0, cap = 1024;
    PetscCall(PetscMalloc1(cap, &cand));
    /* two stages: first between long segments (M / 100 crossings or more),
       so that a short piece beside the line (a spur, one side of a step)
       cannot take the end of a long one; then every segment of 3 or more */
    for (int stage = 0; stage < 2; stage++) {
      PetscInt nmin = stage == 0 ? PetscMax(10, M / 100) : 3;
      nc            = 0;
      for (PetscInt a = 0; a < nseg; a++) {
        if (S[a].n < nmin || S[a].next >= 0) continue;
        for (PetscInt b = 0; b < nseg; b++) {
          PetscInt  d, off = 0;
          PetscReal rp, e;
          if (b == a || S[b].n < nmin || S[b].prev >= 0) continue;
          d = S[b].j0 - S[a].j1;
          if (d <= 0 && d >= -ovl && S[b].j1 > S[a].j1 && S[a].j1 - S[a].j0 > -d) {
            /* overlap: b starts on or before a's last ray and runs on (a thin
               line whose staircase gives two crossings on a ray, a double
               track of a 2-px line): b's radius on a's last ray must match
               within a few pixels; b's crossings before a's end are dropped,
               so a must be longer than the overlap */
            {
              /* b's radius on a's last ray (or the nearest ray b has before it) */
              PetscInt lo = sfirst[b], hi = sfirst[b + 1] - 1;
              while (hi > lo) {
                PetscInt mid = (lo + hi + 1) / 2;
                if (rayof[sorder[mid]] <= S[a].j1)
                  lo = mid;
                else
                  hi = mid - 1;
              }
              rp = R->cr[sorder[lo]].r;
            }
            e = PetscAbsReal(S[a].r1 - rp);
            if (e > PetscMax(3.5, 0.5 * tol)) continue; /* the same line: a few px */
            if (nc == cap) {
              cap *= 2;
              PetscCall(PetscRealloc(sizeof(Cand) * (size_t)cap, &cand));
            }
            cand[nc].score = e / tol + (PetscReal)(-d) / glink;
            cand[nc].a     = a;
            cand[nc].b     = b;
            cand[nc].off   = 0;
            nc++;
            continue;
          }
          if (d <= 0) {
            d += M;
            off = M;
          }
          if (d < 1 || d > glink) continue;
          /* across a long gap the end slope extrapolates badly (a lobe of a
             deformed core): accept either the extrapolation or the end radius,
             and let the tolerance grow with the gap up to 1.5 times its value
             (0.45 pitch: still short of the next turn) */
          rp = S[a].r1 + S[a].s1 * d;
          e  = PetscMin(PetscAbsReal(S[b].r0 - rp), PetscAbsReal(S[b].r0 - S[a].r1));
          if (e > tol * (1.0 + 0.5 * (PetscReal)d / glink)) continue; /* < half a pitch */
          if (nc == cap) {
            cap *= 2;
            PetscCall(PetscRealloc(sizeof(Cand) * (size_t)cap, &cand));
          }
          cand[nc].score = e / tol + (PetscReal)d / glink;
          cand[nc].a     = a;
          cand[nc].b     = b;
          cand[nc].off   = off;
          nc++;
        }
      }
      /* sort by score (insertion sort would be quadratic; use qsort on an index) */
      {
        PetscReal *key;
        PetscInt  *idx;
        PetscCall(PetscMalloc2(nc, &key, nc, &idx));
        for (PetscInt c = 0; c < nc; c++) {
          key[c] = cand[c].score;
          idx[c] = c;
        }
        PetscCall(PetscSortRealWithArrayInt(nc, key, idx));
        for (PetscInt q = 0; q < nc; q++) {
          Cand *c = &cand[idx[q]];
          if (S[c->a].next >= 0 || S[c->b].prev >= 0) continue;
          /* refuse a link that closes a cycle */
          {
            PetscInt t = c->b, steps = 0;
            while (S[t].next >= 0 && t != c->a && steps++ < nseg) t = S[t].next;
            if (t == c->a) continue;
          }
          S[c->a].next     = c->b;
          S[c->a].off_next = c->off;
          S[c->b].prev     = c->a;
        }
        PetscCall(PetscFree2(key, idx));
      }
    }
    PetscCall(PetscFree(cand));
  }
  /* second pass: join whole chains across gaps of up to one turn (a stretch
     of foil invisible in the image, e.g. bare Al where its coating is
     missing). The radius is predicted with the chain's mean slope over its
     length -- the winding pitch per ray for a spiral -- so a chain of another
     turn, a pitch away, is not taken. Only chains of at least a quarter turn. */
  {
    PetscInt *head, *tail, *len, nch = 0;
    PetscCall(PetscMalloc3(nseg, &head, nseg, &tail, nseg, &len));
    for (PetscInt s0 = 0; s0 < nseg; s0++) {
      PetscInt t = s0, n = 0, steps = 0, span;
      if (S[s0].prev >= 0 || S[s0].n < 3) continue;
      while (S[t].next >= 0 && steps++ <= nseg) {
        n += S[t].n;
        t = S[t].next;
      }
      n += S[t].n;
      span = 0;
      {
        PetscInt u = s0, off = 0, st2 = 0;
        while (S[u].next >= 0 && st2++ <= nseg) {
          off += S[u].off_next;
          u = S[u].next;
        }
        span = S[t].j1 + off - S[s0].j0;
      }
      if (span < M / 4) continue;
      head[nch] = s0;
      tail[nch] = t;
      len[nch]  = span;
      nch++;
    }
    for (int it = 0; it < 4; it++) {
      PetscInt  ba = -1, bb = -1, boff = 0;
      PetscReal be = PETSC_MAX_REAL;
      for (PetscInt a = 0; a < nch; a++) {
        TCSeg    *A = &S[tail[a]];
        PetscReal slope;
        if (A->next >= 0) continue;
        slope = (A->r1 - S[head[a]].r0) / (PetscReal)PetscMax(len[a], 1);
        for (PetscInt b = 0; b < nch; b++) {
          TCSeg    *B = &S[head[b]];
          PetscInt  d, off = 0;
          PetscReal e;
          if (b == a || B->prev >= 0) continue;
          d = B->j0 - A->j1;
          if (d <= 0) {
            d += M;
            off = M;
          }
          if (d <= glink || d > M) continue; /* short gaps were the first pass */
          e = PetscAbsReal(B->r0 - (A->r1 + slope * d));
          if (e < 1.5 * tol && e < be) { /* 0.45 pitch: short of the next turn */
            /* no cycle */
            PetscInt t = head[b], steps = 0;
            while (S[t].next >= 0 && t != tail[a] && steps++ < nseg) t = S[t].next;
            if (t == tail[a]) continue;
            be   = e;
            ba   = a;
            bb   = b;
            boff = off;
          }
        }
      }
      if (ba < 0) break;
      S[tail[ba]].next     = head[bb];
      S[tail[ba]].off_next = boff;
      S[head[bb]].prev     = tail[ba];
      PetscCall(
          PetscInfo(NULL, "joined two chains across a gap (radius error %g px)\n", (double)be));
    }
    PetscCall(PetscFree3(head, tail, len));
  }

  /* the chain with most crossings; walk it and collect the points */
  {
    PetscInt   bestn = 0, bests = -1, *first, *cnt, *order;
    PetscBool *inchain;
    for (PetscInt s = 0; s < nseg; s++) {
      PetscInt n = 0, t = s, steps = 0;
      if (S[s].prev >= 0) continue;
      while (t >= 0 && steps++ <= nseg) {
        n += S[t].n;
        t = S[t].next;
      }
      if (n >= 50) {
        PetscInt last = s, steps2 = 0;
        while (S[last].next >= 0 && steps2++ <= nseg) last = S[last].next;
        PetscCall(PetscInfo(NULL,
                            "chain of %" PetscInt_FMT " crossings: from ray %" PetscInt_FMT
                            " (r %g px) to ray %" PetscInt_FMT " (r %g px) of %" PetscInt_FMT "\n",
                            n, S[s].j0, (double)S[s].r0, S[last].j1, (double)S[last].r1, M));
      }
      if (n > bestn) {
        bestn = n;
        bests = s;
      }
    }
    if (bests >= 0) {
      PetscInt m = 0, t = bests, off = 0, steps = 0;
      /* crossings grouped by segment (counting sort keeps ray order) */
      PetscCall(PetscCalloc3(nseg + 1, &first, nseg, &cnt, R->ncr, &order));
      for (PetscInt k = 0; k < R->ncr; k++)
        if (seg[k] >= 0) first[seg[k] + 1]++;
      for (PetscInt s = 0; s < nseg; s++) first[s + 1] += first[s];
      {
        PetscInt ray = 0;
        for (PetscInt k = 0; k < R->ncr; k++) {
          while (k >= R->ptr[ray + 1]) ray++;
          if (seg[k] >= 0) order[first[seg[k]] + cnt[seg[k]]++] = k;
        }
      }
      PetscCall(PetscMalloc3(bestn, &best->J, bestn, &best->r, bestn, &best->w));
      if (spare)
        for (PetscInt k = 0; k < R->ncr; k++)
          spare[k] = (PetscBool)(seg[k] >= 0 && S[seg[k]].n >= 10);
      PetscCall(PetscCalloc1(nseg, &inchain));
      while (t >= 0 && steps++ <= nseg) {
        inchain[t] = PETSC_TRUE;
        for (PetscInt q = first[t]; q < first[t + 1]; q++) {
          PetscInt k = order[q], ray;
          /* the ray of crossing k: bisection in ptr */
          PetscInt lo = 0, hi = M;
          while (hi - lo > 1) {
            PetscInt mid = (lo + hi) / 2;
            if (R->ptr[mid] <= k)
              lo = mid;
            else
              hi = mid;
          }
          ray = lo;
          if (m > 0 && ray + off <= best->J[m - 1]) continue; /* keep J increasing */
          if (spare) spare[k] = PETSC_FALSE;
          best->J[m] = ray + off;
          best->r[m] = R->cr[k].r;
          best->w[m] = R->cr[k].w;
          m++;
        }
        if (fold_of[t] >= 0 && S[t].next >= 0 && m > 0 && best->nfold < TC_TRACE_MAX_FOLDS) {
          /* the fold's junction: a's last crossing; its rays unwrapped like the chain's */
          PetscInt k = fold_of[t], f = best->nfold++, sh = best->J[m - 1] - fj1[k];
          best->fold_i[f]   = m - 1;
          best->fold_j0[f]  = fj0[k] + sh;
          best->fold_j1[f]  = fj1[k] + sh;
          best->fold_r[f]   = fr[k];
          best->fold_len[f] = flen[k];
        }
        off += S[t].off_next;
        t = S[t].next;
      }
      best->n = m;
      PetscCall(PetscFree3(first, cnt, order));
      /* long pieces of foil left off the chain: a trace that stopped short */
      best->nun = best->un_n = 0;
      for (PetscInt s = 0; s < nseg; s++)
        if (!inchain[s] && !infold[s] && S[s].n >= PetscMax(10, M / 20)) {
          best->nun += S[s].n;
          if (S[s].n > best->un_n) {
            best->un_n  = S[s].n;
            best->un_j0 = S[s].j0;
            best->un_j1 = S[s].j1;
            best->un_r0 = S[s].r0;
            best->un_r1 = S[s].r1;
          }
        }
      PetscCall(PetscFree(inchain));
      /* fill rays without a crossing (gaps) by linear interpolation of the
         radius, so that the curve follows the spiral across a gap instead of
         cutting a chord */
      if (m > 1 && best->J[m - 1] - best->J[0] + 1 > m) {
        PetscInt   nfull = best->J[m - 1] - best->J[0] + 1, q = 0;
        PetscInt  *J2;
        PetscReal *r2, *w2;
        PetscCall(PetscMalloc3(nfull, &J2, nfull, &r2, nfull, &w2));
        for (PetscInt i = 0; i < nfull; i++) {
          PetscInt J = best->J[0] + i;
          while (q + 1 < m && best->J[q + 1] <= J) q++;
          J2[i] = J;
          if (best->J[q] == J || q + 1 >= m) {
            r2[i] = best->r[q];
            w2[i] = best->w[q];
          } else {
            PetscReal u = (PetscReal)(J - best->J[q]) / (PetscReal)(best->J[q + 1] - best->J[q]);
            r2[i]       = (1 - u) * best->r[q] + u * best->r[q + 1];
            w2[i]       = -((1 - u) * best->w[q] + u * best->w[q + 1]); /* no crossing */
          }
        }
        for (PetscInt f = 0; f < best->nfold; f++)
          best->fold_i[f] = best->J[best->fold_i[f]] - best->J[0];
        PetscCall(PetscFree3(best->J, best->r, best->w));
        best->J = J2;
        best->r = r2;
        best->w = w2;
        best->n = nfull;
      }
    }
  }
  PetscCall(PetscFree3(sfirst, sorder, rayof));
  PetscCall(PetscFree(fold_of));
  PetscCall(PetscFree(infold));
  PetscCall(PetscFree(seg));
  PetscCall(PetscFree(S));
  PetscCall(PetscFree(act));
  PetscCall(PetscFree(claim));
  PetscCall(PetscFree(dist));
  PetscFunctionReturn(0);
}

/* ---- centre refinement ---------------------------------------------------------------- */

/* Solve the small dense system A x = b (n <= 12) by Gaussian elimination with
   partial pivoting; returns PETSC_FALSE when singular. */
static PetscBool TCSolveSmall(PetscInt n, PetscReal A[12][12], PetscReal b[12], PetscReal x[12])
{
  for (PetscInt c = 0; c < n; c++) {
    PetscInt p = c;
    for (PetscInt r = c + 1; r < n; r++)
      if (PetscAbsReal(A[r][c]) > PetscAbsReal(A[p][c])) p = r;
    if (PetscAbsReal(A[p][c]) < 1e-300) return PETSC_FALSE;
    for (PetscInt k = 0; k < n; k++) {
      PetscReal t = A[c][k];
      A[c][k]     = A[p][k];
      A[p][k]     = t;
    }
    {
      PetscReal t = b[c];
      b[c]        = b[p];
      b[p]        = t;
    }
    for (PetscInt r = c + 1; r < n; r++) {
      PetscReal f = A[r][c] / A[c][c];
      for (PetscInt k = c; k < n; k++) A[r][k] -= f * A[c][k];
      b[r] -= f * b[c];
    }
  }
  for (PetscInt r = n - 1; r >= 0; r--) {
    PetscReal s = b[r];
    for (PetscInt k = r + 1; k < n; k++) s -= A[r][k] * x[k];
    x[r] = s / A[r][r];
  }
  return PETSC_TRUE;
}

/* Unwrapped angles of curve f about c (continuous along the curve). */
static void TCUnwrap(PetscInt n, const PetscReal *x, const PetscReal *y, const PetscReal c[2],
                     PetscReal *phi)
{
  PetscReal prev = atan2(y[0] - c[1], x[0] - c[0]), acc = 0;
  for (PetscInt i = 0; i < n; i++) {
    PetscReal th = atan2(y[i] - c[1], x[i] - c[0]), d = th - prev;
    d -= 2 * PETSC_PI * floor((d + PETSC_PI) / (2 * PETSC_PI));
    acc += d;
    prev   = th;
    phi[i] = acc;
  }
}

/* Least-squares Archimedean spiral through the traced curves (pixel units):
   r_i = a_f + b phi_i about centre c, phi unwrapped along each curve;
   Gauss-Newton on (c, b, a_f). Points with weight 0 are ignored. */
static PetscErrorCode TCFitCentreWeighted(PetscInt nf, const PetscInt n[], PetscReal *const x[],
                                          PetscReal *const y[], PetscReal *const wt[],
                                          PetscReal c[2], PetscReal a[], PetscReal *bout)
{
  PetscInt   np = 3 + nf, nmax = 0;
  PetscReal *phi;

  PetscFunctionBeginUser;
  for (PetscInt f = 0; f < nf; f++) nmax = PetscMax(nmax, n[f]);
  PetscCall(PetscMalloc1(nmax, &phi));
  for (int it = 0; it < 20; it++) {
    PetscReal A[12][12] = {{0}}, g[12] = {0}, dx[12] = {0}, M2[12][12] = {{0}}, rhs[12] = {0},
              sol[12] = {0}, b;
    /* a_f, b by linear regression with the centre fixed */
    for (PetscInt f = 0; f < nf; f++) {
      TCUnwrap(n[f], x[f], y[f], c, phi);
      for (PetscInt i = 0; i < n[f]; i++) {
        PetscReal rr = hypot(x[f][i] - c[0], y[f][i] - c[1]), w = wt[f][i];
        M2[f][f] += w;
        M2[f][nf] += w * phi[i];
        M2[nf][f] += w * phi[i];
        M2[nf][nf] += w * phi[i] * phi[i];
        rhs[f] += w * rr;
        rhs[nf] += w * rr * phi[i];
      }
    }
    if (!TCSolveSmall(nf + 1, M2, rhs, sol)) break;
    for (PetscInt f = 0; f < nf; f++) a[f] = sol[f];
    b     = sol[nf];
    *bout = b;
    for (PetscInt f = 0; f < nf; f++) {
      TCUnwrap(n[f], x[f], y[f], c, phi);
      for (PetscInt i = 0; i < n[f]; i++) {
        PetscReal X = x[f][i] - c[0], Y = y[f][i] - c[1], rr = hypot(X, Y), e, w = wt[f][i];
        PetscReal J[12] = {0};
        if (rr < 1e-9 || w == 0) continue;
        e        = rr - a[f] - b * phi[i];
        J[0]     = -X / rr - b * Y / (rr * rr);
        J[1]     = -Y / rr + b * X / (rr * rr);
        J[2]     = -phi[i];
        J[3 + f] = -1;
        for (PetscInt r = 0; r < np; r++) {
          g[r] -= w * J[r] * e;
          for (PetscInt q = 0; q < np; q++) A[r][q] += w * J[r] * J[q];
        }
      }
    }
    if (!TCSolveSmall(np, A, g, dx)) break;
    c[0] += dx[0];
    c[1] += dx[1];
    if (PetscAbsReal(dx[0]) + PetscAbsReal(dx[1]) < 1e-5) break;
  }
  PetscCall(PetscFree(phi));
  PetscFunctionReturn(0);
}

/* Robust fit: a first fit on every point, then points whose residual exceeds
   3 robust standard deviations (1.4826 MAD; local gaps, a deformed core) are
   dropped and the fit is repeated. */
static PetscErrorCode TCFitCentre(PetscInt nf, const PetscInt n[], PetscReal *const x[],
                                  PetscReal *const y[], PetscReal c[2])
{
  PetscReal *wt[TC_TRACE_MAX_FOILS], *xs[TC_TRACE_MAX_FOILS], *ys[TC_TRACE_MAX_FOILS];
  PetscReal  a[TC_TRACE_MAX_FOILS], b     = 0, *res, *phi;
  PetscInt   ns[TC_TRACE_MAX_FOILS], ntot = 0, m = 0, nmax = 0;

  PetscFunctionBeginUser;
  /* subsample long curves: about 4000 points per foil are plenty for the
     3 + nf unknowns, and consecutive kept points stay far less than half a
     turn apart, so the unwrapping stays continuous */
  for (PetscInt f = 0; f < nf; f++) {
    PetscInt st = PetscMax(1, n[f] / 4000);
    ns[f]       = (n[f] + st - 1) / st;
    PetscCall(PetscMalloc3(ns[f], &wt[f], ns[f], &xs[f], ns[f], &ys[f]));
    for (PetscInt i = 0; i < ns[f]; i++) {
      wt[f][i] = 1;
      xs[f][i] = x[f][i * st];
      ys[f][i] = y[f][i * st];
    }
    ntot += ns[f];
    nmax = PetscMax(nmax, ns[f]);
  }
  PetscCall(TCFitCentreWeighted(nf, ns, xs, ys, wt, c, a, &b));
  PetscCall(PetscMalloc2(ntot, &res, nmax, &phi));
  /* trim and refit a few times: a wide gap or dent biases the first fit, and
     its points stand out more after each refit */
  for (int pass = 0; pass < 4; pass++) {
    PetscReal sig, lim;
    PetscInt  dropped = 0;
    m                 = 0;
    for (PetscInt f = 0; f < nf; f++) {
      TCUnwrap(ns[f], xs[f], ys[f], c, phi);
      for (PetscInt i = 0; i < ns[f]; i++)
        if (wt[f][i] > 0)
          res[m++] = PetscAbsReal(hypot(xs[f][i] - c[0], ys[f][i] - c[1]) - a[f] - b * phi[i]);
    }
    if (m <= 10) break;
    PetscCall(PetscSortReal(m, res));
    sig = PetscMax(1.4826 * res[m / 2], 0.05);
    lim = 3 * sig;
    for (PetscInt f = 0; f < nf; f++) {
      TCUnwrap(ns[f], xs[f], ys[f], c, phi);
      for (PetscInt i = 0; i < ns[f]; i++)
        if (wt[f][i] > 0 &&
            PetscAbsReal(hypot(xs[f][i] - c[0], ys[f][i] - c[1]) - a[f] - b * phi[i]) > lim) {
          wt[f][i] = 0;
          dropped++;
        }
    }
    if (!dropped) break;
    PetscCall(TCFitCentreWeighted(nf, ns, xs, ys, wt, c, a, &b));
  }
  PetscCall(PetscFree2(res, phi));
  for (PetscInt f = 0; f < nf; f++) PetscCall(PetscFree3(wt[f], xs[f], ys[f]));
  PetscFunctionReturn(0);
}

/* ---- the slice ------------------------------------------------------------------------ */

static PetscErrorCode TCTraceRunOne(TCTrace tr, const float *img, PetscInt nx, PetscInt ny,
                                    PetscReal px, PetscBool isint, const char what[],
                                    TCTraceSlice *res);

/* Trace with the labels lab[0..n) only; ierr and the message on failure. */
static PetscErrorCode TCTraceTryLabels(TCTrace tr, const float *img, PetscInt nx, PetscInt ny,
                                       PetscReal px, const char what[], const PetscInt lab[],
                                       PetscInt n, TCTraceSlice *res, PetscErrorCode *ierr,
                                       char msg[], size_t len)
{
  PetscInt save[TC_TRACE_MAX_CLASSES], nsave = tr->nlabels, mode = tr->mode;

  PetscFunctionBeginUser;
  PetscCall(PetscArraycpy(save, tr->labels, TC_TRACE_MAX_CLASSES));
  PetscCall(PetscArraycpy(tr->labels, lab, n));
  tr->nlabels = n;
  tr->mode    = 1;
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  *ierr = TCTraceRunOne(tr, img, nx, ny, px, PETSC_TRUE, what, res);
  PetscCall(PetscPopErrorHandler());
  msg[0] = 0;
  if (*ierr) {
    const char *text;
    char       *specific = NULL;
    PetscCall(PetscErrorMessage(*ierr, &text, &specific));
    snprintf(msg, len, "%s", specific && specific[0] ? specific : text);
    PetscCall(TCTraceSliceReset(res));
  }
  PetscCall(PetscArraycpy(tr->labels, save, TC_TRACE_MAX_CLASSES));
  tr->nlabels = nsave;
  tr->mode    = mode;
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceRun(TCTrace tr, const float *img, PetscInt nx, PetscInt ny, PetscReal px,
                          PetscBool isint, const char what[], TCTraceSlice *res)
{
  PetscInt     lab[TC_TRACE_MAX_CLASS_REPORT], nl = 0, npix = nx * ny, ncand = 0;
  PetscInt     cand[TC_TRACE_MAX_CLASS_REPORT], pick[2], npick = 0;
  TCTraceClass cls[TC_TRACE_MAX_CLASS_REPORT];
  PetscBool    labels = PETSC_FALSE;

  PetscFunctionBeginUser;
  /* a labelled slice (the same test as auto mode) with its non-zero labels */
  if (tr->nlabels == 0 && tr->mode != 2 && isint) {
    PetscBool *seen;
    PetscInt   hi = 0, nd = 0;
    PetscBool  ok = PETSC_TRUE;
    for (PetscInt q = 0; q < npix && ok; q++) {
      ok = (PetscBool)(img[q] >= 0 && img[q] < 65536 && isfinite(img[q]));
      if (ok) hi = PetscMax(hi, (PetscInt)img[q]);
    }
    if (ok) {
      PetscCall(PetscCalloc1(hi + 1, &seen));
      for (PetscInt q = 0; q < npix; q++) seen[(PetscInt)img[q]] = PETSC_TRUE;
      for (PetscInt v = 0; v <= hi; v++) nd += seen[v];
      labels = (PetscBool)(tr->mode == 1 || nd <= TC_TRACE_MAX_CLASSES);
      for (PetscInt v = 1; v <= hi && labels; v++)
        if (seen[v] && nl < TC_TRACE_MAX_CLASS_REPORT) lab[nl++] = v;
      PetscCall(PetscFree(seen));
    }
  }
  if (!labels || nl <= 2) {
    PetscCall(TCTraceRunOne(tr, img, nx, ny, px, isint, what, res));
    PetscFunctionReturn(0);
  }
  /* every label alone */
  for (PetscInt c = 0; c < nl; c++) {
    TCTraceSlice   one;
    PetscErrorCode ierr;
    char           msg[1024];
    TCTraceClass  *C = &cls[c];
    PetscCall(PetscMemzero(C, sizeof(*C)));
    C->label = lab[c];
    PetscCall(
        TCTraceTryLabels(tr, img, nx, ny, px, what, &lab[c], 1, &one, &ierr, msg, sizeof(msg)));
    if (ierr) {
      const char *m = strstr(msg, ": ");
      snprintf(C->why, sizeof(C->why), "dropped: %.180s", m ? m + 2 : msg);
    } else {
      const TCTraceFoil *F = &one.foil[0];
      C->spiral            = PETSC_TRUE;
      C->complete          = F->complete;
      C->windings          = F->windings;
      C->length_m          = F->length_m;
      C->thickness_m       = F->thickness_m;
      if (!F->complete)
        snprintf(C->why, sizeof(C->why), "dropped: a spiral of %.2f turns, but incomplete: %.140s",
                 (double)F->windings, F->why);
      else
        cand[ncand++] = c;
      PetscCall(TCTraceSliceReset(&one));
    }
  }
  PetscCheck(ncand > 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: none of its %d labels traces alone into a complete spiral (label %d: %s); pick "
             "the foils with -trace_label",
             what, (int)nl, (int)cls[0].label, cls[0].why);
  /* the thinnest complete spiral first */
  for (PetscInt a = 0; a < ncand; a++)
    for (PetscInt b = a + 1; b < ncand; b++)
      if (cls[cand[b]].thickness_m < cls[cand[a]].thickness_m) {
        PetscInt t = cand[a];
        cand[a]    = cand[b];
        cand[b]    = t;
      }
  pick[npick++] = cand[0];
  /* a second layer when the two trace together complete and alternate */
  for (PetscInt k = 1; k < ncand && npick < 2; k++) {
    PetscInt       two[2] = {cls[cand[0]].label, cls[cand[k]].label};
    TCTraceSlice   pair;
    PetscErrorCode ierr;
    char           msg[1024];
    if (two[1] < two[0]) {
      PetscInt t = two[0];
      two[0]     = two[1];
      two[1]     = t;
    }
    PetscCall(TCTraceTryLabels(tr, img, nx, ny, px, what, two, 2, &pair, &ierr, msg, sizeof(msg)));
    if (!ierr && pair.nfoils == 2 && pair.foil[0].complete && pair.foil[1].complete)
      pick[npick++] = cand[k];
    else
      snprintf(cls[cand[k]].why, sizeof(cls[cand[k]].why),
               "dropped: a complete spiral of %.2f turns alone, but traced with label %d %s",
               (double)cls[cand[k]].windings, (int)cls[cand[0]].label,
               ierr ? "it fails"
               : pair.nfoils < 2
                   ? "one of them is lost"
                   : "the two are not both complete (not alternating layers of one roll)");
    if (!ierr) PetscCall(TCTraceSliceReset(&pair));
  }
  for (PetscInt k = 1; k < ncand; k++)
    if (npick == 2 && cand[k] != pick[1] && !cls[cand[k]].why[0])
      snprintf(cls[cand[k]].why, sizeof(cls[cand[k]].why),
               "dropped: a complete spiral of %.2f turns, but thicker than the two picked",
               (double)cls[cand[k]].windings);
  for (PetscInt q = 0; q < npick; q++) {
    cls[pick[q]].picked = PETSC_TRUE;
    snprintf(cls[pick[q]].why, sizeof(cls[pick[q]].why),
             "picked: a complete spiral of %.2f turns, traced width %.1f um%s",
             (double)cls[pick[q]].windings, (double)(1e6 * cls[pick[q]].thickness_m),
             q == 0 ? " (the thinnest)" : ", alternating with the first");
  }
  for (PetscInt c = 0; c < nl; c++)
    PetscCall(PetscInfo(NULL, "%s: label %d: %s\n", what, (int)cls[c].label, cls[c].why));
  {
    PetscInt       fin[2] = {cls[pick[0]].label, npick > 1 ? cls[pick[1]].label : 0};
    PetscErrorCode ierr;
    char           msg[1024];
    if (npick > 1 && fin[1] < fin[0]) {
      PetscInt t = fin[0];
      fin[0]     = fin[1];
      fin[1]     = t;
    }
    PetscCall(
        TCTraceTryLabels(tr, img, nx, ny, px, what, fin, npick, res, &ierr, msg, sizeof(msg)));
    PetscCheck(!ierr, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s", msg);
  }
  res->nclasses = nl;
  PetscCall(PetscArraycpy(res->cls, cls, nl));
  PetscFunctionReturn(0);
}

static PetscErrorCode TCTraceRunOne(TCTrace tr, const float *img, PetscInt nx, PetscInt ny,
                                    PetscReal px, PetscBool isint, const char what[],
                                    TCTraceSlice *res)
{
  PetscInt       npix = nx * ny, nclass = 0, M, nr, ncls_rays;
  PetscInt       labels[TC_TRACE_MAX_CLASSES];
  PetscBool      gray;
  float         *sm = NULL, lo = PETSC_MAX_REAL, hi = -PETSC_MAX_REAL, thr = 0;
  unsigned char *fg;
  PetscInt      *lut = NULL, maxlab = 0, nfg = 0;
  PetscReal      c0[2] = {0, 0}, depth, Rmax, pitch[TC_TRACE_MAX_CLASSES], wsplit = 0;
  TCRays         rays[TC_TRACE_MAX_CLASSES];
  TCChain        ch[TC_TRACE_MAX_CLASSES];

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(res, sizeof(*res)));
  PetscCall(PetscMemzero(rays, sizeof(rays)));
  for (PetscInt q = 0; q < npix; q++) {
    lo = PetscMin(lo, img[q]);
    hi = PetscMax(hi, img[q]);
  }
  PetscCheck(isfinite(lo) && isfinite(hi), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s contains NaN or infinite values", what);
  /* mode */
  gray = (PetscBool)(tr->mode == 2);
  if (tr->mode == 0) {
    gray = PETSC_TRUE;
    if (isint && lo >= 0 && hi < 65536) {
      PetscInt   nd = 0;
      PetscBool *seen;
      PetscCall(PetscCalloc1((PetscInt)hi + 1, &seen));
      for (PetscInt q = 0; q < npix; q++) seen[(PetscInt)img[q]] = PETSC_TRUE;
      for (PetscInt v = 0; v <= (PetscInt)hi; v++) nd += seen[v];
      PetscCall(PetscFree(seen));
      if (nd <= TC_TRACE_MAX_CLASSES) gray = PETSC_FALSE;
    }
  }
  res->gray = gray;
  PetscCall(PetscMalloc1(npix, &fg));
  if (!gray) {
    PetscCheck(lo >= 0 && hi < 65536, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: labels must be integers in [0, 65535] (found %g to %g); use -trace_mode gray",
               what, (double)lo, (double)hi);
    maxlab = (PetscInt)hi;
    PetscCall(PetscMalloc1(maxlab + 1, &lut));
    for (PetscInt v = 0; v <= maxlab; v++) lut[v] = -1;
    for (PetscInt q = 0; q < npix; q++) {
      PetscInt v = (PetscInt)img[q];
      if (v > 0 && lut[v] < 0) {
        PetscBool want = tr->nlabels == 0 ? PETSC_TRUE : PETSC_FALSE;
        for (PetscInt k = 0; k < tr->nlabels; k++)
          if (tr->labels[k] == v) want = PETSC_TRUE;
        if (want) {
          PetscCheck(nclass < TC_TRACE_MAX_CLASSES, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                     "%s has more than %d labels; pick the foils with -trace_label", what,
                     TC_TRACE_MAX_CLASSES);
          lut[v]           = nclass;
          labels[nclass++] = v;
        } else
          lut[v] = TC_TRACE_MAX_CLASSES; /* present, not traced */
      }
    }
    for (PetscInt k = 0; k < tr->nlabels; k++) {
      PetscBool found = PETSC_FALSE;
      for (PetscInt c = 0; c < nclass; c++)
        found = (PetscBool)(found || labels[c] == tr->labels[k]);
      PetscCheck(found, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                 "%s has no pixel with label %" PetscInt_FMT " (from -trace_label)", what,
                 tr->labels[k]);
    }
    /* sort the classes by label so that output does not depend on pixel order */
    for (PetscInt a = 0; a < nclass; a++)
      for (PetscInt b = a + 1; b < nclass; b++)
        if (labels[b] < labels[a]) {
          PetscInt t = labels[a];
          labels[a]  = labels[b];
          labels[b]  = t;
        }
    for (PetscInt c = 0; c < nclass; c++) lut[labels[c]] = c;
    for (PetscInt q = 0; q < npix; q++) {
      PetscInt v = (PetscInt)img[q];
      fg[q]      = (unsigned char)(v > 0 && lut[v] >= 0 && lut[v] < nclass);
      nfg += fg[q];
    }
    PetscCheck(nclass > 0 && nfg > 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s is empty: no non-zero label to trace", what);
    res->threshold = NAN;
  } else {
    PetscCheck(hi > lo, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s is empty: every pixel has the value %g", what, (double)lo);
    PetscCall(PetscMalloc1(npix, &sm));
    {
      /* auto: sigma = min(1 px, 10 um) -- no wider than a current-collector
         foil, so that a foil thinner than a pixel keeps its contrast */
      PetscReal sig = tr->sigma_px >= 0 ? tr->sigma_px : PetscMin(1.0, 10e-6 / px);
      if (sig > 0)
        PetscCall(TCGauss(img, sm, nx, ny, sig));
      else
        PetscCall(PetscArraycpy(sm, img, npix));
    }
    lo = PETSC_MAX_REAL;
    hi = -PETSC_MAX_REAL;
    for (PetscInt q = 0; q < npix; q++) {
      lo = PetscMin(lo, sm[q]);
      hi = PetscMax(hi, sm[q]);
    }
    PetscCall(TCTraceGrayAnnulus(tr, sm, nx, ny, px, lo, hi, what, res, &thr));
    for (PetscInt q = 0; q < npix; q++) {
      fg[q] = (unsigned char)(sm[q] > thr);
      nfg += fg[q];
    }
    PetscCheck(nfg > 0 && nfg < npix, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: no foil above the threshold %g (values %g to %g)", what, (double)thr,
               (double)lo, (double)hi);
    res->threshold = thr;
    nclass         = 1;
    labels[0]      = 1;
  }

  /* centre of the hollow core */
  PetscCall(TCTraceCentre(fg, nx, ny, c0, &depth));
  Rmax = 0;
  for (PetscInt j = 0; j < ny; j += PetscMax(1, ny / 512))
    for (PetscInt i = 0; i < nx; i++)
      if (fg[j * nx + i]) Rmax = PetscMax(Rmax, hypot(i + 0.5 - c0[0], j + 0.5 - c0[1]));
  Rmax += 3;
  M  = PetscMax(720, (PetscInt)ceil(2 * PETSC_PI * Rmax));
  nr = (PetscInt)ceil(2 * Rmax);

  /* rays: profiles per class, crossings at run centroids */
  ncls_rays = nclass;
  for (PetscInt c = 0; c < nclass; c++) {
    rays[c].M = M;
    PetscCall(PetscMalloc1(M + 1, &rays[c].ptr));
  }
  {
    float *prof;
    PetscCall(PetscMalloc1(nclass * nr, &prof));
    for (PetscInt j = 0; j < M; j++) {
      PetscReal th = 2 * PETSC_PI * j / M, cs = cos(th), sn = sin(th);
      PetscCall(PetscArrayzero(prof, nclass * nr));
      for (PetscInt c = 0; c < nclass; c++) rays[c].ptr[j] = rays[c].ncr;
      for (PetscInt q = 0; q < nr; q++) {
        PetscReal r = 0.5 * q, u = c0[0] + r * cs - 0.5, v = c0[1] + r * sn - 0.5;
        PetscInt  i0, j0;
        PetscReal fu, fv;
        if (u < 0 || v < 0) break; /* floor(u) < 0: off the image */
        i0 = (PetscInt)u;          /* = floor(u) for u >= 0, without the libm call */
        j0 = (PetscInt)v;
        fu = u - i0;
        fv = v - j0;
        if (i0 + 1 >= nx || j0 + 1 >= ny) break;
        if (gray) {
          const float *s = sm + j0 * nx + i0;
          prof[q]        = (float)((1 - fv) * ((1 - fu) * s[0] + fu * s[1]) +
                            fv * ((1 - fu) * s[nx] + fu * s[nx + 1]));
        } else {
          const float *s     = img + j0 * nx + i0;
          PetscReal    w4[4] = {(1 - fu) * (1 - fv), fu * (1 - fv), (1 - fu) * fv, fu * fv};
          PetscInt     o4[4] = {0, 1, nx, nx + 1};
          for (int k = 0; k < 4; k++) {
            PetscInt v4 = (PetscInt)s[o4[k]], cl;
            if (v4 <= 0) continue;
            cl = lut[v4];
            if (cl >= 0 && cl < nclass) prof[cl * nr + q] += (float)w4[k];
          }
        }
      }
      for (PetscInt c = 0; c < nclass; c++) {
        const float *p  = prof + c * nr;
        float        tt = gray ? thr : 0.25f;
        for (PetscInt q = 0; q < nr; q++) {
          if (p[q] > tt) {
            PetscReal sw = 0, swr = 0;
            PetscInt  q0 = q;
            while (q < nr && p[q] > tt) {
              PetscReal wgt = gray ? p[q] - tt : p[q];
              sw += wgt;
              swr += wgt * 0.5 * q;
              q++;
            }
            PetscCall(TCRaysPush(&rays[c], (float)(swr / sw), (float)(0.5 * (q - q0)),
                                 (float)(0.5 * q0), (float)(0.5 * (q - 1))));
          }
        }
      }
    }
    for (PetscInt c = 0; c < nclass; c++) rays[c].ptr[M] = rays[c].ncr;
    PetscCall(PetscFree(prof));
  }

  /* grayscale: split thin (Cu) from broad (cathode band around Al) runs */
  if (gray && rays[0].ncr > 0) {
    PetscReal cA = PETSC_MAX_REAL, cB = 0, *lw;
    PetscInt  n = rays[0].ncr, nA = 0, nB = 0;
    PetscCall(PetscMalloc1(n, &lw));
    for (PetscInt k = 0; k < n; k++) {
      lw[k] = log(PetscMax(rays[0].cr[k].w, 0.5f));
      cA    = PetscMin(cA, lw[k]);
      cB    = PetscMax(cB, lw[k]);
    }
    for (int it = 0; it < 30; it++) {
      PetscReal sA = 0, sB = 0;
      nA = nB = 0;
      for (PetscInt k = 0; k < n; k++) {
        if (PetscAbsReal(lw[k] - cA) <= PetscAbsReal(lw[k] - cB)) {
          sA += lw[k];
          nA++;
        } else {
          sB += lw[k];
          nB++;
        }
      }
      if (nA) cA = sA / nA;
      if (nB) cB = sB / nB;
    }
    if (nA > n / 10 && nB > n / 10 && exp(cB - cA) > 2.5) {
      wsplit      = exp(0.5 * (cA + cB));
      TCRays thin = {0}, broad = {0};
      thin.M = broad.M = M;
      PetscCall(PetscMalloc1(M + 1, &thin.ptr));
      PetscCall(PetscMalloc1(M + 1, &broad.ptr));
      for (PetscInt j = 0; j < M; j++) {
        thin.ptr[j]  = thin.ncr;
        broad.ptr[j] = broad.ncr;
        for (PetscInt k = rays[0].ptr[j]; k < rays[0].ptr[j + 1]; k++) {
          if (PetscAbsReal(lw[k] - cA) <= PetscAbsReal(lw[k] - cB))
            PetscCall(TCRaysPush(&thin, rays[0].cr[k].r, rays[0].cr[k].w, rays[0].cr[k].ra,
                                 rays[0].cr[k].rb));
          else
            PetscCall(TCRaysPush(&broad, rays[0].cr[k].r, rays[0].cr[k].w, rays[0].cr[k].ra,
                                 rays[0].cr[k].rb));
        }
      }
      thin.ptr[M]  = thin.ncr;
      broad.ptr[M] = broad.ncr;
      PetscCall(PetscFree(rays[0].ptr));
      PetscCall(PetscFree(rays[0].cr));
      rays[0]   = thin;
      rays[1]   = broad;
      nclass    = 2;
      ncls_rays = 2;
      labels[1] = 2;
    }
    PetscCall(PetscFree(lw));
  }

  /* track each class */
  for (PetscInt c = 0; c < nclass; c++) {
    PetscReal tol;
    PetscCall(TCRaysPitch(&rays[c], &pitch[c]));
    if (!gray) {
      /* label lines 1-2 px wide: runs a pixel apart on a ray are one line
         (far below the gap between turns, a pitch less a line width) */
      TCRaysMerge(&rays[c], PetscMin(1.5, 0.1 * pitch[c])); /* the median pitch barely moves */
    }
    tol = PetscMax(2.0, 0.3 * pitch[c]);
    PetscCall(TCRaysTrack(&rays[c], tol, &ch[c], NULL));
  }
  /* grayscale: where the cathode coating is missing the bare Al foil is a
     thin line and lands in the Cu class; offer the thin tracks that are not
     the Cu foil to the Al class and track it again */
  if (gray && nclass == 2 && rays[0].ncr > 0) {
    PetscBool *spare;
    TCRays     aug = {0};
    TCChain    tmpc;
    PetscInt   nsp = 0;
    PetscCall(PetscMalloc1(rays[0].ncr, &spare));
    PetscCall(PetscFree3(ch[0].J, ch[0].r, ch[0].w));
    PetscCall(TCRaysTrack(&rays[0], PetscMax(2.0, 0.3 * pitch[0]), &ch[0], spare));
    for (PetscInt k = 0; k < rays[0].ncr; k++) nsp += spare[k];
    if (nsp > 0) {
      aug.M = M;
      PetscCall(PetscMalloc1(M + 1, &aug.ptr));
      for (PetscInt j = 0; j < M; j++) {
        PetscInt a = rays[1].ptr[j], b = rays[0].ptr[j];
        aug.ptr[j] = aug.ncr;
        /* merge the two radius-sorted lists */
        while (a < rays[1].ptr[j + 1] || b < rays[0].ptr[j + 1]) {
          if (b < rays[0].ptr[j + 1] && !spare[b]) {
            b++;
            continue;
          }
          if (b >= rays[0].ptr[j + 1] ||
              (a < rays[1].ptr[j + 1] && rays[1].cr[a].r <= rays[0].cr[b].r)) {
            PetscCall(TCRaysPush(&aug, rays[1].cr[a].r, rays[1].cr[a].w, rays[1].cr[a].ra,
                                 rays[1].cr[a].rb));
            a++;
          } else {
            PetscCall(TCRaysPush(&aug, rays[0].cr[b].r, rays[0].cr[b].w, rays[0].cr[b].ra,
                                 rays[0].cr[b].rb));
            b++;
          }
        }
      }
      aug.ptr[M] = aug.ncr;
      PetscCall(TCRaysTrack(&aug, PetscMax(2.0, 0.3 * pitch[1]), &tmpc, NULL));
      if (tmpc.n > ch[1].n) { /* keep the longer Al curve */
        PetscCall(PetscFree3(ch[1].J, ch[1].r, ch[1].w));
        ch[1] = tmpc;
      } else
        PetscCall(PetscFree3(tmpc.J, tmpc.r, tmpc.w));
      PetscCall(PetscFree(aug.ptr));
      PetscCall(PetscFree(aug.cr));
    }
    PetscCall(PetscFree(spare));
  }

  /* curves: orient inner to outer, smooth the radius, to pixel coordinates */
  {
    PetscInt   nf = 0, nn[TC_TRACE_MAX_FOILS];
    PetscReal *X[TC_TRACE_MAX_FOILS], *Y[TC_TRACE_MAX_FOILS], c[2] = {c0[0], c0[1]};
    PetscInt  *Jk[TC_TRACE_MAX_FOILS];
    PetscReal *Rk[TC_TRACE_MAX_FOILS];
    PetscReal  dth = 2 * PETSC_PI / M, span_best = 0;
    for (PetscInt cl = 0; cl < nclass && nf < TC_TRACE_MAX_FOILS; cl++) {
      TCChain   *C = &ch[cl];
      PetscReal *rs, span, wsum = 0;
      if (C->n < 8) continue;
      span      = (PetscReal)(C->J[C->n - 1] - C->J[0]) / M;
      span_best = PetscMax(span_best, span);
      if (span < tr->min_turns) continue;
      /* a spiral grows: radius after one turn must exceed the radius before */
      if (PetscAbsReal(C->r[C->n - 1] - C->r[0]) < 0.5 * span * PetscMax(pitch[cl], 2.0)) continue;
      PetscCall(PetscMalloc1(C->n, &rs));
      for (PetscInt i = 0; i < C->n; i++) {
        PetscInt  h  = (PetscInt)ceil(tr->smooth_px / PetscMax(C->r[i] * dth, 1e-3)), a, b;
        PetscReal s0 = 0, s1 = 0, s2 = 0, t0 = 0, t1 = 0, den;
        h = PetscMin(PetscMax(h, 1), M / 16);
        a = i;
        b = i;
        while (a > 0 && C->J[i] - C->J[a - 1] <= h) a--;
        while (b < C->n - 1 && C->J[b + 1] - C->J[i] <= h) b++;
        /* near an end the window keeps its length 2h, shifted inward: the
           end radius is fitted over as many crossings as inside the curve,
           not extrapolated from half as many (a fading line end) */
        while (a == 0 && b < C->n - 1 && C->J[b + 1] - C->J[a] <= 2 * h) b++;
        while (b == C->n - 1 && a > 0 && C->J[b] - C->J[a - 1] <= 2 * h) a--;
        for (PetscInt k = a; k <= b; k++) {
          PetscReal d = (PetscReal)(C->J[k] - C->J[i]);
          s0 += 1;
          s1 += d;
          s2 += d * d;
          t0 += C->r[k];
          t1 += d * C->r[k];
        }
        den   = s0 * s2 - s1 * s1;
        rs[i] = den > 1e-12 ? (s2 * t0 - s1 * t1) / den : t0 / s0;
        wsum += PetscAbsReal(C->w[i]);
      }
      PetscCall(PetscMalloc1(C->n, &X[nf]));
      PetscCall(PetscMalloc1(C->n, &Y[nf]));
      {
        PetscBool rev = (PetscBool)(rs[C->n - 1] < rs[0]);
        for (PetscInt i = 0; i < C->n; i++) {
          PetscInt  k  = rev ? C->n - 1 - i : i;
          PetscReal th = dth * C->J[k];
          X[nf][i]     = c0[0] + rs[k] * cos(th);
          Y[nf][i]     = c0[1] + rs[k] * sin(th);
        }
      }
      /* pitch statistics: r(J + M) - r(J) along the same ray */
      {
        PetscReal sum = 0, mn = PETSC_MAX_REAL;
        PetscInt  cnt = 0, k2 = 0;
        for (PetscInt k = 0; k < C->n; k++) {
          while (k2 < C->n && C->J[k2] < C->J[k] + M) k2++;
          if (k2 < C->n && C->J[k2] == C->J[k] + M) {
            PetscReal d = PetscAbsReal(rs[k2] - rs[k]);
            sum += d;
            mn = PetscMin(mn, d);
            cnt++;
          }
        }
        res->foil[nf].gap_mean_m = cnt ? px * sum / cnt : NAN;
        res->foil[nf].gap_min_m  = cnt ? px * mn : NAN;
      }
      res->foil[nf].thickness_m = px * wsum / C->n;
      res->foil[nf].label       = labels[cl];
      /* folds cut out: kept about c0 in px for now (converted below, once
         the centre is refined), fold_s_m holds the index on the curve */
      res->foil[nf].nfold = C->nfold;
      for (PetscInt q = 0; q < C->nfold; q++) {
        PetscBool rev                = (PetscBool)(rs[C->n - 1] < rs[0]);
        res->foil[nf].fold_r_m[q]    = C->fold_r[q];
        res->foil[nf].fold_theta[q]  = dth * 0.5 * (C->fold_j0[q] + C->fold_j1[q]);
        res->foil[nf].fold_size_m[q] = px * C->fold_len[q];
        res->foil[nf].fold_s_m[q]    = (PetscReal)(rev ? C->n - 1 - C->fold_i[q] : C->fold_i[q]);
      }
      /* stretches of 10 px or more without a crossing (interpolated), and
         for the broad (Al) class of a grayscale slice also those with only
         a thin crossing (a bare foil offered from the thin class): its
         coating is missing there; indices on the curve for now */
      {
        PetscBool bare            = (PetscBool)(gray && nclass == 2 && cl == 1 && wsplit > 0);
        PetscBool rev             = (PetscBool)(rs[C->n - 1] < rs[0]);
        res->foil[nf].unseen_bare = bare;
        res->foil[nf].nunseen     = 0;
        for (PetscInt i = 0; i < C->n;) {
          PetscInt  i0  = i;
          PetscReal arc = 0;
          while (i < C->n && (C->w[i] < 0 || (bare && C->w[i] < wsplit))) arc += rs[i++] * dth;
          if (i == i0) {
            i++;
            continue;
          }
          if (arc >= 10 && res->foil[nf].nunseen < TC_TRACE_MAX_FOLDS) {
            PetscInt q                     = res->foil[nf].nunseen++;
            res->foil[nf].unseen_s_m[q][0] = (PetscReal)(rev ? C->n - i : i0);
            res->foil[nf].unseen_s_m[q][1] = (PetscReal)(rev ? C->n - 1 - i0 : i - 1);
          }
        }
      }
      nn[nf] = C->n;
      /* self-check: coverage of every turn, the longest stretch without a
         crossing, the turns' radial order, long pieces left off the curve */
      {
        TCTraceFoil *F  = &res->foil[nf];
        PetscInt     J0 = C->J[0], nt = (C->J[C->n - 1] - J0) / M + 1, run = 0, runmax = 0;
        PetscInt     rmid = 0, bad = 0, cnt = 0;
        PetscReal    sg = rs[C->n - 1] >= rs[0] ? 1.0 : -1.0, cmin = 1;
        PetscInt    *seen;
        PetscCall(PetscCalloc1(nt, &seen));
        for (PetscInt i = 0; i < C->n; i++) {
          if (C->w[i] >= 0) {
            seen[(C->J[i] - J0) / M]++;
            run = 0;
          } else if (++run > runmax) {
            runmax = run;
            rmid   = i - run / 2;
          }
        }
        for (PetscInt t = 0; t < nt; t++) {
          PetscInt nray = PetscMin(M, C->J[C->n - 1] - J0 - t * M + 1);
          if (nray >= M / 8) cmin = PetscMin(cmin, (PetscReal)seen[t] / nray);
        }
        PetscCall(PetscFree(seen));
        F->coverage_min = cmin;
        F->gap_max_deg  = 360.0 * runmax / M;
        F->gap_r_m      = px * rs[rmid];
        F->gap_theta    = dth * (C->J[rmid] % M);
        /* own turns: one turn further along the same ray lies further out
           (by a quarter pitch at least) */
        for (PetscInt k = 0; k + M < C->n; k += 4) {
          cnt++;
          bad += sg * (rs[k + M] - rs[k]) < 0.25 * PetscMax(pitch[cl], 2.0);
        }
        F->order_bad     = cnt ? (PetscReal)bad / cnt : 0;
        F->untraced_frac = (PetscReal)C->nun / C->n;
        if (C->un_n > 0) {
          F->untraced_r_m[0] = px * PetscMin(C->un_r0, C->un_r1);
          F->untraced_r_m[1] = px * PetscMax(C->un_r0, C->un_r1);
          F->untraced_theta =
              dth * 0.5 * (C->un_j0 + C->un_j1); /* rays of one segment: in [0, M) */
        }
        PetscCall(PetscMalloc2(C->n, &Jk[nf], C->n, &Rk[nf]));
        PetscCall(PetscArraycpy(Jk[nf], C->J, C->n));
        PetscCall(PetscArraycpy(Rk[nf], rs, C->n));
      }
      PetscCall(PetscFree(rs));
      nf++;
    }
    if (nf == 0) {
      char gmsg[256] = "";
      if (gray)
        snprintf(gmsg, sizeof(gmsg),
                 "; grayscale threshold %g tried (%s, %s), set it with -trace_threshold",
                 (double)thr, tr->threshold_set ? "from -trace_threshold" : "Otsu",
                 res->can_found ? "inside the roll annulus between the mandrel hole and the can"
                                : "over the whole image: no can found");
      for (PetscInt cl = 0; cl < nclass; cl++) PetscCall(PetscFree3(ch[cl].J, ch[cl].r, ch[cl].w));
      for (PetscInt cl = 0; cl < ncls_rays; cl++) {
        PetscCall(PetscFree(rays[cl].ptr));
        PetscCall(PetscFree(rays[cl].cr));
      }
      PetscCall(PetscFree(fg));
      PetscCall(PetscFree(sm));
      PetscCall(PetscFree(lut));
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
              "%s: no spiral found (the longest traced curve spans %.2f turns; a jelly roll needs "
              "at least %.2f and must grow outward)%s",
              what, (double)span_best, (double)tr->min_turns, gmsg);
    }
    PetscCall(TCFitCentre(nf, nn, X, Y, c));
    if (!(hypot(c[0] - c0[0], c[1] - c0[1]) < 0.5 * Rmax)) {
      c[0] = c0[0];
      c[1] = c0[1];
    }
    res->centre_m[0] = (c[0] - 0.5 * nx) * px;
    res->centre_m[1] = (c[1] - 0.5 * ny) * px;
    /* two foils: along a ray their turns alternate (Cu, Al, Cu, ...) where
       both are present; count the rays where two turns of one foil are next
       to each other */
    if (nf == 2) {
      PetscInt bad = 0, cnt = 0;
      for (PetscInt j = 0; j < M; j += 8) {
        PetscReal ra[2][256];
        PetscInt  na[2] = {0, 0}, ia = 0, ib = 0, last = -1;
        PetscReal lo2, hi2;
        for (PetscInt f = 0; f < 2; f++) {
          PetscInt k = ((j - Jk[f][0]) % M + M) % M;
          for (; k < nn[f] && na[f] < 256; k += M) ra[f][na[f]++] = Rk[f][k];
          if (na[f] > 1 && ra[f][na[f] - 1] < ra[f][0]) /* inner end last */
            for (PetscInt q = 0; q < na[f] / 2; q++) {
              PetscReal t2         = ra[f][q];
              ra[f][q]             = ra[f][na[f] - 1 - q];
              ra[f][na[f] - 1 - q] = t2;
            }
        }
        if (!na[0] || !na[1]) continue;
        lo2 = PetscMax(ra[0][0], ra[1][0]);
        hi2 = PetscMin(ra[0][na[0] - 1], ra[1][na[1] - 1]);
        cnt++;
        while (ia < na[0] || ib < na[1]) {
          PetscInt  who = (ib >= na[1] || (ia < na[0] && ra[0][ia] <= ra[1][ib])) ? 0 : 1;
          PetscReal rr  = who == 0 ? ra[0][ia++] : ra[1][ib++];
          if (rr < lo2 - 1e-6 || rr > hi2 + 1e-6) continue;
          if (who == last) {
            bad++;
            break;
          }
          last = who;
        }
      }
      for (PetscInt f = 0; f < 2; f++)
        res->foil[f].order_bad = PetscMax(res->foil[f].order_bad, cnt ? (PetscReal)bad / cnt : 0);
    }
    for (PetscInt f = 0; f < nf; f++) PetscCall(PetscFree2(Jk[f], Rk[f]));
    for (PetscInt f = 0; f < nf; f++) {
      TCTraceFoil *F   = &res->foil[f];
      PetscReal    len = 0, phi = 0, prev = atan2(Y[f][0] - c[1], X[f][0] - c[0]);
      for (PetscInt q = 0; q < F->nfold; q++) { /* about the refined centre, m */
        PetscReal u      = c0[0] + F->fold_r_m[q] * cos(F->fold_theta[q]) - c[0];
        PetscReal v      = c0[1] + F->fold_r_m[q] * sin(F->fold_theta[q]) - c[1];
        F->fold_r_m[q]   = px * hypot(u, v);
        F->fold_theta[q] = atan2(v, u);
      }
      {
        /* arc length along the dense curve; the folds' and unseen stretches'
           indices on it to arc positions */
        PetscReal *sacc;
        PetscCall(PetscMalloc1(nn[f], &sacc));
        sacc[0] = 0;
        for (PetscInt i = 1; i < nn[f]; i++) {
          PetscReal th = atan2(Y[f][i] - c[1], X[f][i] - c[0]), d = th - prev;
          d -= 2 * PETSC_PI * floor((d + PETSC_PI) / (2 * PETSC_PI));
          phi += d;
          prev = th;
          len += hypot(X[f][i] - X[f][i - 1], Y[f][i] - Y[f][i - 1]);
          sacc[i] = len;
        }
        for (PetscInt q = 0; q < F->nfold; q++)
          F->fold_s_m[q] = px * sacc[PetscMin(PetscMax((PetscInt)F->fold_s_m[q], 0), nn[f] - 1)];
        for (PetscInt q = 0; q < F->nunseen; q++)
          for (int e = 0; e < 2; e++)
            F->unseen_s_m[q][e] =
                px * sacc[PetscMin(PetscMax((PetscInt)F->unseen_s_m[q][e], 0), nn[f] - 1)];
        PetscCall(PetscFree(sacc));
      }
      F->n             = nn[f];
      F->length_m      = len * px;
      F->windings      = PetscAbsReal(phi) / (2 * PETSC_PI);
      F->r_inner_m     = hypot(X[f][0] - c[0], Y[f][0] - c[1]) * px;
      F->r_outer_m     = hypot(X[f][nn[f] - 1] - c[0], Y[f][nn[f] - 1] - c[1]) * px;
      F->length_arch_m = PETSC_PI * (F->r_inner_m + F->r_outer_m) * F->windings;
      {
        PetscReal dev = F->length_m / PetscMax(F->length_arch_m, 1e-30) - 1;
        F->complete   = PETSC_FALSE;
        if (F->coverage_min < 0.5)
          snprintf(F->why, sizeof(F->why),
                   "a turn seen on only %.0f %% of its rays (longest stretch without the foil %.0f "
                   "deg at r = %.4g mm, theta = %.0f deg)",
                   (double)(100 * F->coverage_min), (double)F->gap_max_deg,
                   (double)(1e3 * F->gap_r_m), (double)(F->gap_theta * 180 / PETSC_PI));
        else if (F->gap_max_deg > 90)
          snprintf(F->why, sizeof(F->why),
                   "%.0f deg without the foil, interpolated, at r = %.4g mm, theta = %.0f deg",
                   (double)F->gap_max_deg, (double)(1e3 * F->gap_r_m),
                   (double)(F->gap_theta * 180 / PETSC_PI));
        else if (F->untraced_frac > 0.02)
          snprintf(F->why, sizeof(F->why),
                   "the trace stopped short: %.0f %% more of this foil lies off the curve (the "
                   "largest piece at r = %.4g to %.4g mm, theta = %.0f deg)",
                   (double)(100 * F->untraced_frac), (double)(1e3 * F->untraced_r_m[0]),
                   (double)(1e3 * F->untraced_r_m[1]),
                   (double)(F->untraced_theta * 180 / PETSC_PI));
        else if (F->order_bad > 0.02)
          snprintf(F->why, sizeof(F->why),
                   "turns out of radial order on %.1f %% of the rays (windings crossed or swapped "
                   "between the foils)",
                   (double)(100 * F->order_bad));
        else if (PetscAbsReal(dev) > 0.05)
          snprintf(F->why, sizeof(F->why),
                   "length %.4g m is %+.1f %% off the Archimedean estimate %.4g m from its turns "
                   "and radii",
                   (double)F->length_m, (double)(100 * dev), (double)F->length_arch_m);
        else
          F->complete = PETSC_TRUE;
      }
      /* keep the curve at about one point per resample_px of arc (the dense
         curve has one point per ray, up to ~1e5 per foil): the chord error
         h^2/(8 r) is < 0.01 px for h = 4 px and r > 200 px, and memory per
         slice drops tenfold, which matters for volumes of many slices */
      {
        PetscReal  h = tr->resample_px, acc = 0, next = 0;
        PetscInt   m = 0, cap = (PetscInt)(len / PetscMax(h, 1e-3)) + 3;
        PetscReal *xr, *yr;
        if (h > 0 && cap < nn[f]) {
          PetscCall(PetscMalloc1(cap, &xr));
          PetscCall(PetscMalloc1(cap, &yr));
          for (PetscInt i = 0; i < nn[f]; i++) {
            if (i > 0) acc += hypot(X[f][i] - X[f][i - 1], Y[f][i] - Y[f][i - 1]);
            if ((acc >= next || i == nn[f] - 1) && m < cap) {
              xr[m]   = X[f][i];
              yr[m++] = Y[f][i];
              next    = acc + h;
            }
          }
          if (xr[m - 1] != X[f][nn[f] - 1] && m < cap) {
            xr[m]   = X[f][nn[f] - 1];
            yr[m++] = Y[f][nn[f] - 1];
          }
          PetscCall(PetscFree(X[f]));
          PetscCall(PetscFree(Y[f]));
          X[f]  = xr;
          Y[f]  = yr;
          nn[f] = m;
        }
      }
      F->n = nn[f];
      for (PetscInt i = 0; i < nn[f]; i++) {
        X[f][i] = (X[f][i] - 0.5 * nx) * px;
        Y[f][i] = (Y[f][i] - 0.5 * ny) * px;
      }
      F->x = X[f];
      F->y = Y[f];
    }
    res->nfoils = nf;
  }
  for (PetscInt cl = 0; cl < nclass; cl++) PetscCall(PetscFree3(ch[cl].J, ch[cl].r, ch[cl].w));
  for (PetscInt cl = 0; cl < ncls_rays; cl++) {
    PetscCall(PetscFree(rays[cl].ptr));
    PetscCall(PetscFree(rays[cl].cr));
  }
  PetscCall(PetscFree(fg));
  PetscCall(PetscFree(sm));
  PetscCall(PetscFree(lut));
  PetscFunctionReturn(0);
}
