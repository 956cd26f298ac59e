/*
 * Forward model, registration and metrics for tomocell compare (see
 * compare.h for the model and its limits).
 */
#include "solver/compare.h"
#include "io/h5.h"
#include "src/tc.h"
#include <math.h>

#define CMP_CAP_PX 3.0 /* chamfer distances are capped at 3 measured pixels */

struct _p_TCSimField {
  MPI_Comm   comm;
  char       path[PETSC_MAX_PATH_LEN];
  PetscInt   N, nt, nl, ncu; /* nodes, output times, layers, Cu nodes per layer */
  PetscReal *time_s, *z;     /* nt, nl */
  PetscInt  *cu;             /* nl * ncu node ids, ordered along the foil */
  PetscReal *xyz;            /* N * 3 */
  PetscBool  has_centre;
  PetscReal  centre_file[2];
  /* the source centre lines of the Cu foil per layer (results.h5 /curves, when
     every layer has one): the slice line then follows them, not the chords
     between nodes */
  PetscReal *cx, *cy; /* all curves' points */
  PetscInt  *coff;    /* nl + 1: layer k's Cu curve is points [coff[k], coff[k+1]) */
  /* the slice: np points along the foil; with curves, at arc fractions u[j] */
  PetscInt   k0, k1, np;
  PetscReal  w;
  PetscReal *xy; /* np * 2 */
  PetscReal *u;  /* np (curves only) */
  PetscReal  centre[2];
  /* distance to the slice's Cu line on a grid (simulation frame) */
  PetscReal  gx0, gy0, gh, gcap;
  PetscInt   gnx, gny;
  PetscReal *gd;
};

typedef struct {
  PetscReal z;
  PetscReal s;
  PetscInt  id;
} CmpNode;

static int CmpNodeOrder(const void *a, const void *b)
{
  const CmpNode *p = (const CmpNode *)a, *q = (const CmpNode *)b;
  if (p->z != q->z) return p->z < q->z ? -1 : 1;
  if (p->s != q->s) return p->s < q->s ? -1 : 1;
  return p->id < q->id ? -1 : p->id > q->id;
}

/* The Cu source curve of every layer from /layers/curve and /curves (net.h5
   format 2, mesh/rollnet.h), when each layer has one and the layers match
   the Cu node layers; else the slice line stays the polyline of the nodes. */
static PetscErrorCode CmpReadCurves(TCSimField s)
{
  TCH5       h5;
  int        nd;
  hsize_t    d[4];
  int       *lc = NULL;
  long long *st = NULL, *ct = NULL;
  PetscReal *zl = NULL;
  PetscInt   NL = 0, C = 0, tot = 0;
  PetscBool  ok;

  PetscFunctionBeginUser;
  PetscCall(TCH5Open(s->comm, s->path, &h5));
  ok = (PetscBool)(H5Lexists(h5.file, "/curves", H5P_DEFAULT) > 0 &&
                   H5Lexists(h5.file, "/curves/x_m", H5P_DEFAULT) > 0 &&
                   H5Lexists(h5.file, "/layers", H5P_DEFAULT) > 0 &&
                   H5Lexists(h5.file, "/layers/curve", H5P_DEFAULT) > 0);
  if (ok) {
    PetscCall(TCH5GetDims(&h5, "/layers/curve", &nd, d));
    NL = (PetscInt)d[0];
    PetscCall(TCH5GetDims(&h5, "/curves/start", &nd, d));
    C  = (PetscInt)d[0];
    ok = (PetscBool)(NL == s->nl && C > 0);
  }
  if (ok) {
    PetscCall(PetscMalloc4(2 * NL, &lc, C, &st, C, &ct, NL, &zl));
    PetscCall(TCH5ReadRows(&h5, "/layers/curve", H5T_NATIVE_INT, 0, (hsize_t)NL, lc));
    PetscCall(TCH5ReadRows(&h5, "/layers/z_m", H5T_NATIVE_DOUBLE, 0, (hsize_t)NL, zl));
    PetscCall(TCH5ReadRows(&h5, "/curves/start", H5T_NATIVE_LLONG, 0, (hsize_t)C, st));
    PetscCall(TCH5ReadRows(&h5, "/curves/count", H5T_NATIVE_LLONG, 0, (hsize_t)C, ct));
    for (PetscInt k = 0; k < NL && ok; k++) {
      int c = lc[2 * k];
      ok    = (PetscBool)(c >= 0 && c < C && ct[c] >= 2 &&
                       PetscAbsReal(zl[k] - s->z[k]) <= 1e-9 * (1 + PetscAbsReal(zl[k])));
      if (ok) tot += (PetscInt)ct[c];
    }
  }
  if (ok) {
    PetscCall(PetscMalloc3(tot, &s->cx, tot, &s->cy, NL + 1, &s->coff));
    s->coff[0] = 0;
    for (PetscInt k = 0; k < NL; k++) {
      int c = lc[2 * k];
      PetscCall(TCH5ReadRows(&h5, "/curves/x_m", H5T_NATIVE_DOUBLE, (hsize_t)st[c], (hsize_t)ct[c],
                             s->cx + s->coff[k]));
      PetscCall(TCH5ReadRows(&h5, "/curves/y_m", H5T_NATIVE_DOUBLE, (hsize_t)st[c], (hsize_t)ct[c],
                             s->cy + s->coff[k]));
      s->coff[k + 1] = s->coff[k] + (PetscInt)ct[c];
    }
    PetscCall(PetscInfo(NULL, "%s: the slice line follows the Cu source curves\n", s->path));
  }
  if (lc) PetscCall(PetscFree4(lc, st, ct, zl));
  PetscCall(TCH5Close(&h5));
  PetscFunctionReturn(0);
}

/* Point at arc fraction u of layer k's Cu source curve (cumulative lengths
   arc[] of its points, total arc[n-1]). */
static void CmpCurveAt(const TCSimField s, PetscInt k, const PetscReal *arc, PetscReal u,
                       PetscReal P[2])
{
  PetscInt         n = s->coff[k + 1] - s->coff[k], lo = 0, hi = n - 1;
  const PetscReal *x = s->cx + s->coff[k], *y = s->cy + s->coff[k];
  PetscReal        t = u * arc[n - 1], f;
  while (hi - lo > 1) {
    PetscInt mid = (lo + hi) / 2;
    if (arc[mid] <= t)
      lo = mid;
    else
      hi = mid;
  }
  f    = arc[hi] > arc[lo] ? (t - arc[lo]) / (arc[hi] - arc[lo]) : 0;
  P[0] = x[lo] + f * (x[hi] - x[lo]);
  P[1] = y[lo] + f * (y[hi] - y[lo]);
}

PetscErrorCode TCSimFieldRead(MPI_Comm comm, const char path[], TCSimField *out)
{
  TCSimField s;
  TCH5       h5;
  int        nd;
  hsize_t    d[4];
  PetscInt  *foil, ncu = 0;
  PetscReal *sm = NULL, zmin = PETSC_MAX_REAL, zmax = -PETSC_MAX_REAL, tol;
  CmpNode   *nodes;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&s));
  *out    = s; /* on an error, what was read so far is the caller's to destroy */
  s->comm = comm;
  PetscCall(PetscStrncpy(s->path, path, sizeof(s->path)));
  PetscCall(TCH5Open(comm, path, &h5));
  PetscCall(TCH5GetDims(&h5, "/nodes/coordinates_m", &nd, d));
  PetscCheck(nd == 2 && d[1] == 3 && d[0] > 0, comm, PETSC_ERR_USER_INPUT,
             "%s: /nodes/coordinates_m must be N x 3 (x, y, z in m)", path);
  s->N = (PetscInt)d[0];
  PetscCall(PetscMalloc1(3 * s->N, &s->xyz));
  PetscCall(PetscMalloc1(s->N, &foil));
  PetscCall(TCH5ReadRows(&h5, "/nodes/coordinates_m", H5T_NATIVE_DOUBLE, 0, d[0], s->xyz));
  PetscCall(TCH5GetDims(&h5, "/nodes/foil", &nd, d));
  PetscCheck(nd == 1 && (PetscInt)d[0] == s->N, comm, PETSC_ERR_USER_INPUT,
             "%s: /nodes/foil must have one value per node (%" PetscInt_FMT ")", path, s->N);
  PetscCall(TCH5ReadRows(&h5, "/nodes/foil", H5T_NATIVE_INT, 0, d[0], foil));
  if (H5Lexists(h5.file, "/nodes/s_m", H5P_DEFAULT) > 0) {
    PetscCall(PetscMalloc1(s->N, &sm));
    PetscCall(TCH5ReadRows(&h5, "/nodes/s_m", H5T_NATIVE_DOUBLE, 0, (hsize_t)s->N, sm));
  }
  PetscCheck(H5Lexists(h5.file, "/time_s", H5P_DEFAULT) > 0, comm, PETSC_ERR_USER_INPUT,
             "%s: no /time_s: a results file of tomocell run is needed (a network file holds "
             "no temperatures)",
             path);
  PetscCall(TCH5GetDims(&h5, "/time_s", &nd, d));
  PetscCheck(nd == 1 && d[0] > 0, comm, PETSC_ERR_USER_INPUT,
             "%s: /time_s must be a non-empty list", path);
  s->nt = (PetscInt)d[0];
  PetscCall(PetscMalloc1(s->nt, &s->time_s));
  PetscCall(TCH5ReadRows(&h5, "/time_s", H5T_NATIVE_DOUBLE, 0, d[0], s->time_s));
  for (PetscInt k = 1; k < s->nt; k++)
    PetscCheck(s->time_s[k] > s->time_s[k - 1], comm, PETSC_ERR_USER_INPUT,
               "%s: /time_s must increase", path);
  PetscCheck(H5Lexists(h5.file, "/series", H5P_DEFAULT) > 0 &&
                 H5Lexists(h5.file, "/series/temperature_K", H5P_DEFAULT) > 0,
             comm, PETSC_ERR_USER_INPUT, "%s: no /series/temperature_K (time x node, K)", path);
  PetscCall(TCH5GetDims(&h5, "/series/temperature_K", &nd, d));
  PetscCheck(
      nd == 2 && (PetscInt)d[0] == s->nt && (PetscInt)d[1] == s->N, comm, PETSC_ERR_USER_INPUT,
      "%s: /series/temperature_K must be %" PetscInt_FMT " x %" PetscInt_FMT " (times x nodes)",
      path, s->nt, s->N);
  {
    htri_t ex = H5Aexists(h5.file, "roll_centre_m");
    if (ex > 0) {
      hid_t a = H5Aopen(h5.file, "roll_centre_m", H5P_DEFAULT), sp;
      TCH5Call(comm, a, "H5Aopen(roll_centre_m) in %s", path);
      sp = H5Aget_space(a);
      PetscCheck(H5Sget_simple_extent_npoints(sp) == 2, comm, PETSC_ERR_USER_INPUT,
                 "%s: attribute roll_centre_m must hold 2 values (x, y in m)", path);
      H5Sclose(sp);
      TCH5Call(comm, H5Aread(a, H5T_NATIVE_DOUBLE, s->centre_file), "H5Aread(roll_centre_m)");
      H5Aclose(a);
      s->has_centre = PETSC_TRUE;
    }
  }
  PetscCall(TCH5Close(&h5));

  /* Cu nodes sorted by height, then along the foil; layers by height */
  PetscCall(PetscMalloc1(s->N, &nodes));
  for (PetscInt i = 0; i < s->N; i++)
    if (foil[i] == 0) {
      nodes[ncu].z  = s->xyz[3 * i + 2];
      nodes[ncu].s  = sm ? sm[i] : (PetscReal)i;
      nodes[ncu].id = i;
      zmin          = PetscMin(zmin, nodes[ncu].z);
      zmax          = PetscMax(zmax, nodes[ncu].z);
      ncu++;
    }
  PetscCheck(ncu >= 2, comm, PETSC_ERR_USER_INPUT,
             "%s: %" PetscInt_FMT " Cu nodes (/nodes/foil == 0); need a Cu foil to compare with",
             path, ncu);
  tol = 1e-9 + 1e-9 * (zmax - zmin);
  for (PetscInt i = 0; i < ncu; i++) /* snap heights within tol to one value */
    nodes[i].z = zmin + tol * round((nodes[i].z - zmin) / tol);
  qsort(nodes, (size_t)ncu, sizeof(CmpNode), CmpNodeOrder);
  s->nl = 1;
  for (PetscInt i = 1; i < ncu; i++)
    if (nodes[i].z > nodes[i - 1].z) s->nl++;
  PetscCheck(ncu % s->nl == 0, comm, PETSC_ERR_USER_INPUT,
             "%s: %" PetscInt_FMT " Cu nodes in %" PetscInt_FMT
             " layers; every layer needs the same number",
             path, ncu, s->nl);
  s->ncu = ncu / s->nl;
  PetscCall(PetscMalloc2(s->nl, &s->z, ncu, &s->cu));
  PetscCall(PetscMalloc1(2 * s->ncu, &s->xy));
  for (PetscInt k = 0; k < s->nl; k++) {
    s->z[k] = s->xyz[3 * nodes[k * s->ncu].id + 2];
    for (PetscInt i = 0; i < s->ncu; i++) {
      PetscCheck(nodes[k * s->ncu + i].z == nodes[k * s->ncu].z, comm, PETSC_ERR_USER_INPUT,
                 "%s: the Cu layers hold different numbers of nodes", path);
      s->cu[k * s->ncu + i] = nodes[k * s->ncu + i].id;
    }
  }
  PetscCall(PetscFree(nodes));
  PetscCall(PetscFree(foil));
  s->np = s->ncu;
  if (sm) PetscCall(CmpReadCurves(s));
  PetscCall(PetscFree(sm));
  *out = s;
  PetscFunctionReturn(0);
}

PetscErrorCode TCSimFieldDestroy(TCSimField *sim)
{
  PetscFunctionBeginUser;
  if (!*sim) PetscFunctionReturn(0);
  PetscCall(PetscFree((*sim)->xyz));
  PetscCall(PetscFree((*sim)->time_s));
  PetscCall(PetscFree2((*sim)->z, (*sim)->cu));
  if ((*sim)->u) { /* xy and u were allocated together */
    PetscCall(PetscFree2((*sim)->xy, (*sim)->u));
  } else
    PetscCall(PetscFree((*sim)->xy));
  PetscCall(PetscFree((*sim)->gd));
  if ((*sim)->cx) PetscCall(PetscFree3((*sim)->cx, (*sim)->cy, (*sim)->coff));
  PetscCall(PetscFree(*sim));
  PetscFunctionReturn(0);
}

PetscErrorCode TCSimFieldGetInfo(TCSimField sim, PetscReal trange[2], PetscReal zrange[2],
                                 PetscInt *nlayers, PetscInt *ncu)
{
  PetscFunctionBeginUser;
  if (trange) {
    trange[0] = sim->time_s[0];
    trange[1] = sim->time_s[sim->nt - 1];
  }
  if (zrange) {
    zrange[0] = sim->z[0];
    zrange[1] = sim->z[sim->nl - 1];
  }
  if (nlayers) *nlayers = sim->nl;
  if (ncu) *ncu = sim->ncu;
  PetscFunctionReturn(0);
}

PetscErrorCode TCSimFieldSetSlice(TCSimField sim, PetscReal z)
{
  PetscReal tol = 1e-9 + 1e-9 * (sim->z[sim->nl - 1] - sim->z[0]);

  PetscFunctionBeginUser;
  PetscCheck(z >= sim->z[0] - tol && z <= sim->z[sim->nl - 1] + tol, sim->comm,
             PETSC_ERR_USER_INPUT,
             "map and simulation do not overlap: the slice height %s m is outside the simulated "
             "layers (%s to %s m in %s); check -slice_height",
             TCG(z).s, TCG(sim->z[0]).s, TCG(sim->z[sim->nl - 1]).s, sim->path);
  sim->k0 = 0;
  while (sim->k0 + 1 < sim->nl - 1 && z > sim->z[sim->k0 + 1]) sim->k0++;
  sim->k1 = PetscMin(sim->k0 + 1, sim->nl - 1);
  sim->w  = sim->k1 > sim->k0 ? (z - sim->z[sim->k0]) / (sim->z[sim->k1] - sim->z[sim->k0]) : 0;
  sim->w  = PetscMin(1, PetscMax(0, sim->w));
  sim->centre[0] = sim->centre[1] = 0;
  if (!sim->cx) {
    for (PetscInt i = 0; i < sim->ncu; i++)
      for (int c = 0; c < 2; c++) {
        PetscReal a        = sim->xyz[3 * sim->cu[sim->k0 * sim->ncu + i] + c];
        PetscReal b        = sim->xyz[3 * sim->cu[sim->k1 * sim->ncu + i] + c];
        sim->xy[2 * i + c] = (1 - sim->w) * a + sim->w * b;
        sim->centre[c] += sim->xy[2 * i + c] / sim->ncu;
      }
  } else {
    /* the source curves of both layers at common arc fractions (the nodes of a layer sit
       at the fractions i / (ncu - 1) of its curve), mixed in z as the nodes are */
    PetscInt   n0 = sim->coff[sim->k0 + 1] - sim->coff[sim->k0];
    PetscInt   n1 = sim->coff[sim->k1 + 1] - sim->coff[sim->k1];
    PetscReal *a0, *a1;
    sim->np = PetscMax(n0, n1);
    PetscCall(PetscFree(sim->xy));
    PetscCall(PetscFree(sim->u));
    PetscCall(PetscMalloc2(2 * sim->np, &sim->xy, sim->np, &sim->u));
    PetscCall(PetscMalloc2(n0, &a0, n1, &a1));
    for (int l = 0; l < 2; l++) {
      PetscInt         k = l ? sim->k1 : sim->k0, n = l ? n1 : n0;
      const PetscReal *x = sim->cx + sim->coff[k], *y = sim->cy + sim->coff[k];
      PetscReal       *a = l ? a1 : a0;
      a[0]               = 0;
      for (PetscInt i = 1; i < n; i++) a[i] = a[i - 1] + hypot(x[i] - x[i - 1], y[i] - y[i - 1]);
    }
    for (PetscInt j = 0; j < sim->np; j++) {
      PetscReal P0[2], P1[2];
      sim->u[j] = (PetscReal)j / (sim->np - 1);
      CmpCurveAt(sim, sim->k0, a0, sim->u[j], P0);
      CmpCurveAt(sim, sim->k1, a1, sim->u[j], P1);
      for (int c = 0; c < 2; c++) {
        sim->xy[2 * j + c] = (1 - sim->w) * P0[c] + sim->w * P1[c];
        sim->centre[c] += sim->xy[2 * j + c] / sim->np;
      }
    }
    PetscCall(PetscFree2(a0, a1));
  }
  if (sim->has_centre) {
    sim->centre[0] = sim->centre_file[0];
    sim->centre[1] = sim->centre_file[1];
  }
  PetscCall(PetscFree(sim->gd));
  sim->gh = 0;
  PetscFunctionReturn(0);
}

PetscErrorCode TCSimFieldGetSlice(TCSimField sim, PetscInt *n, const PetscReal **xy,
                                  PetscReal centre[2], PetscInt layers[2])
{
  PetscFunctionBeginUser;
  if (n) *n = sim->np;
  if (xy) *xy = sim->xy;
  if (centre) {
    centre[0] = sim->centre[0];
    centre[1] = sim->centre[1];
  }
  if (layers) {
    layers[0] = sim->k0;
    layers[1] = sim->k1;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCSimFieldSliceTemperature(TCSimField sim, PetscReal t, PetscReal *T)
{
  TCH5      h5;
  PetscInt  k = 0, nr;
  PetscReal a, *rows, tol = 1e-9 * (1 + PetscAbsReal(sim->time_s[sim->nt - 1]));

  PetscFunctionBeginUser;
  PetscCheck(t >= sim->time_s[0] - tol && t <= sim->time_s[sim->nt - 1] + tol, sim->comm,
             PETSC_ERR_USER_INPUT,
             "the measured time %s s is outside the simulated run (%s to %s s in %s); check the "
             "map's time stamps or -time_offset",
             TCG(t).s, TCG(sim->time_s[0]).s, TCG(sim->time_s[sim->nt - 1]).s, sim->path);
  while (k + 1 < sim->nt - 1 && t > sim->time_s[k + 1]) k++;
  nr = sim->nt > 1 ? 2 : 1;
  a  = nr == 2 ? (t - sim->time_s[k]) / (sim->time_s[k + 1] - sim->time_s[k]) : 0;
  a  = PetscMin(1, PetscMax(0, a));
  PetscCall(PetscMalloc1(nr * sim->N, &rows));
  PetscCall(TCH5Open(sim->comm, sim->path, &h5));
  PetscCall(
      TCH5ReadRows(&h5, "/series/temperature_K", H5T_NATIVE_DOUBLE, (hsize_t)k, (hsize_t)nr, rows));
  PetscCall(TCH5Close(&h5));
  for (PetscInt j = 0; j < sim->np; j++) {
    /* the slice point's place among the nodes: node i itself, or with curves a
       fraction f between nodes i and i + 1 of both layers */
    PetscReal q = sim->cx ? sim->u[j] * (sim->ncu - 1) : (PetscReal)j, f, v[2];
    PetscInt  i = PetscMin((PetscInt)floor(q), sim->ncu - 2);
    f           = q - i;
    for (int l = 0; l < 2; l++) {
      PetscInt  k = l ? sim->k1 : sim->k0, m0 = sim->cu[k * sim->ncu + i],
               m1 = sim->cu[k * sim->ncu + i + 1];
      PetscReal t0 = rows[m0], t1 = rows[m1];
      if (nr == 2) {
        t0 = (1 - a) * t0 + a * rows[sim->N + m0];
        t1 = (1 - a) * t1 + a * rows[sim->N + m1];
      }
      v[l] = (1 - f) * t0 + f * t1;
      PetscCheck(isfinite(v[l]), sim->comm, PETSC_ERR_USER_INPUT,
                 "%s: /series/temperature_K is not finite at Cu node %" PetscInt_FMT
                 " near t = %s s",
                 sim->path, f < 0.5 ? m0 : m1, TCG(t).s);
    }
    T[j] = (1 - sim->w) * v[0] + sim->w * v[1];
  }
  PetscCall(PetscFree(rows));
  PetscFunctionReturn(0);
}

void TCRegistrationApply(const TCRegistration *r, const TCXrdMap *m, PetscReal i, PetscReal j,
                         PetscReal x[2])
{
  PetscReal px = m->pixel_size_m, u = (i + 0.5 - 0.5 * m->nx) * px,
            v = (j + 0.5 - 0.5 * m->ny) * px;
  PetscReal c = PetscCosReal(r->theta_rad), s = PetscSinReal(r->theta_rad);
  x[0] = r->scale * (c * u - s * v) + r->shift_m[0];
  x[1] = r->scale * (s * u + c * v) + r->shift_m[1];
}

void TCRegistrationInverse(const TCRegistration *r, const TCXrdMap *m, const PetscReal x[2],
                           PetscReal ij[2])
{
  PetscReal px = m->pixel_size_m, c = PetscCosReal(r->theta_rad), s = PetscSinReal(r->theta_rad);
  PetscReal dx = (x[0] - r->shift_m[0]) / r->scale, dy = (x[1] - r->shift_m[1]) / r->scale;
  ij[0] = (c * dx + s * dy) / px + 0.5 * m->nx - 0.5;
  ij[1] = (-s * dx + c * dy) / px + 0.5 * m->ny - 0.5;
}

/* distance from p to segment a-b, and the parameter of the nearest point */
static PetscReal CmpSegDist(const PetscReal *a, const PetscReal *b, PetscReal px, PetscReal py,
                            PetscReal *u)
{
  PetscReal ex = b[0] - a[0], ey = b[1] - a[1], l2 = ex * ex + ey * ey, t;
  t  = l2 > 0 ? ((px - a[0]) * ex + (py - a[1]) * ey) / l2 : 0;
  t  = PetscMin(1, PetscMax(0, t));
  *u = t;
  return PetscSqrtReal(PetscSqr(px - a[0] - t * ex) + PetscSqr(py - a[1] - t * ey));
}

/* Distance to the slice's Cu line on a grid of spacing about px/4 (at most
   2000 cells across), exact at the grid points up to gcap. */
static PetscErrorCode CmpGrid(TCSimField sim, PetscReal px)
{
  PetscReal lo[2] = {PETSC_MAX_REAL, PETSC_MAX_REAL}, hi[2] = {-PETSC_MAX_REAL, -PETSC_MAX_REAL};
  PetscReal cap = 1.5 * CMP_CAP_PX * px, h;

  PetscFunctionBeginUser;
  if (sim->gd && sim->gcap == cap) PetscFunctionReturn(0);
  PetscCall(PetscFree(sim->gd));
  for (PetscInt i = 0; i < sim->np; i++)
    for (int c = 0; c < 2; c++) {
      lo[c] = PetscMin(lo[c], sim->xy[2 * i + c]);
      hi[c] = PetscMax(hi[c], sim->xy[2 * i + c]);
    }
  h         = PetscMax(0.25 * px, (PetscMax(hi[0] - lo[0], hi[1] - lo[1]) + 2 * cap) / 2000);
  sim->gh   = h;
  sim->gcap = cap;
  sim->gx0  = lo[0] - cap - h;
  sim->gy0  = lo[1] - cap - h;
  sim->gnx  = (PetscInt)ceil((hi[0] - lo[0] + 2 * cap) / h) + 3;
  sim->gny  = (PetscInt)ceil((hi[1] - lo[1] + 2 * cap) / h) + 3;
  PetscCall(PetscMalloc1(sim->gnx * sim->gny, &sim->gd));
  for (PetscInt q = 0; q < sim->gnx * sim->gny; q++) sim->gd[q] = cap;
  for (PetscInt i = 0; i + 1 < sim->np; i++) {
    const PetscReal *a = sim->xy + 2 * i, *b = a + 2;
    PetscInt         i0 = (PetscInt)floor((PetscMin(a[0], b[0]) - cap - sim->gx0) / h),
             i1         = (PetscInt)ceil((PetscMax(a[0], b[0]) + cap - sim->gx0) / h),
             j0         = (PetscInt)floor((PetscMin(a[1], b[1]) - cap - sim->gy0) / h),
             j1         = (PetscInt)ceil((PetscMax(a[1], b[1]) + cap - sim->gy0) / h);
    i0                  = PetscMax(i0, 0);
    j0                  = PetscMax(j0, 0);
    i1                  = PetscMin(i1, sim->gnx - 1);
    j1                  = PetscMin(j1, sim->gny - 1);
    for (PetscInt jj = j0; jj <= j1; jj++)
      for (PetscInt ii = i0; ii <= i1; ii++) {
        PetscReal u, d = CmpSegDist(a, b, sim->gx0 + ii * h, sim->gy0 + jj * h, &u);
        if (d < sim->gd[jj * sim->gnx + ii]) sim->gd[jj * sim->gnx + ii] = d;
      }
  }
  PetscFunctionReturn(0);
}

static PetscReal CmpGridDist(TCSimField sim, PetscReal x, PetscReal y)
{
  PetscReal        fx = (x - sim->gx0) / sim->gh, fy = (y - sim->gy0) / sim->gh, ax, ay;
  PetscInt         i, j;
  const PetscReal *g;
  if (!(fx >= 0 && fy >= 0 && fx < sim->gnx - 1 && fy < sim->gny - 1)) return sim->gcap;
  i  = (PetscInt)fx;
  j  = (PetscInt)fy;
  ax = fx - i;
  ay = fy - j;
  g  = sim->gd + j * sim->gnx + i;
  return (1 - ay) * ((1 - ax) * g[0] + ax * g[1]) +
         ay * ((1 - ax) * g[sim->gnx] + ax * g[sim->gnx + 1]);
}

/* 1-D squared distance transform of samples f (Felzenszwalb & Huttenlocher
   2012, Algorithm 1): d[q] = min_p (q - p)^2 + f[p]. v, z: work of n, n + 1. */
static void CmpEDT1(const PetscReal *f, PetscInt n, PetscReal *d, PetscInt *v, PetscReal *z)
{
  PetscInt k = 0;
  v[0]       = 0;
  z[0]       = -PETSC_MAX_REAL;
  z[1]       = PETSC_MAX_REAL;
  for (PetscInt q = 1; q < n; q++) {
    PetscReal s;
    for (;;) { /* z[0] = -inf stops this at k = 0 */
      s = ((f[q] + (PetscReal)q * q) - (f[v[k]] + (PetscReal)v[k] * v[k])) / (2.0 * q - 2.0 * v[k]);
      if (s <= z[k])
        k--;
      else
        break;
    }
    k++;
    v[k]     = q;
    z[k]     = s;
    z[k + 1] = PETSC_MAX_REAL;
  }
  k = 0;
  for (PetscInt q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    d[q] = PetscSqr((PetscReal)(q - v[k])) + f[v[k]];
  }
}

/* Euclidean distance (pixels) from every pixel to the nearest valid pixel. */
static PetscErrorCode CmpEDT(const unsigned char *valid, PetscInt nx, PetscInt ny, PetscReal *dist)
{
  PetscInt   n = PetscMax(nx, ny);
  PetscReal *f, *d, *z, big = 1e12; /* 'no pixel': exact in double next to q^2 <= 1e8 */
  PetscInt  *v;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc4(n, &f, n, &d, n + 1, &z, n, &v));
  for (PetscInt q = 0; q < nx * ny; q++) dist[q] = valid[q] ? 0 : big;
  for (PetscInt j = 0; j < ny; j++) {
    for (PetscInt i = 0; i < nx; i++) f[i] = dist[j * nx + i];
    CmpEDT1(f, nx, d, v, z);
    for (PetscInt i = 0; i < nx; i++) dist[j * nx + i] = d[i];
  }
  for (PetscInt i = 0; i < nx; i++) {
    for (PetscInt j = 0; j < ny; j++) f[j] = dist[j * nx + i];
    CmpEDT1(f, ny, d, v, z);
    for (PetscInt j = 0; j < ny; j++) dist[j * nx + i] = PetscSqrtReal(d[j]);
  }
  PetscCall(PetscFree4(f, d, z, v));
  PetscFunctionReturn(0);
}

typedef struct {
  MPI_Comm        comm;
  TCSimField      sim;
  const TCXrdMap *map;
  PetscReal      *edt;           /* ny * nx, pixels */
  PetscInt       *pix, np0, np1; /* valid pixel indices; this rank's range */
  PetscReal      *samp;          /* points along the simulated line, 2 each */
  PetscInt        ns0, ns1;
  PetscBool       fit_scale;
  PetscReal       scale0;
  PetscInt        nevals;
} CmpCtx;

static PetscErrorCode CmpCostEval(CmpCtx *c, const TCRegistration *r, PetscReal *f)
{
  const TCXrdMap *m      = c->map;
  PetscReal       acc[3] = {0, 0, 0}, tot[3], unit = m->pixel_size_m * r->scale;

  PetscFunctionBeginUser;
  for (PetscInt p = c->np0; p < c->np1; p++) {
    PetscReal x[2], d;
    TCRegistrationApply(r, m, (PetscReal)(c->pix[p] % m->nx), (PetscReal)(c->pix[p] / m->nx), x);
    d = PetscMin(CmpGridDist(c->sim, x[0], x[1]) / unit, CMP_CAP_PX);
    acc[0] += d * d;
  }
  for (PetscInt q = c->ns0; q < c->ns1; q++) {
    PetscReal        ij[2], fx, fy, ax, ay, d;
    PetscInt         i, j;
    const PetscReal *e;
    TCRegistrationInverse(r, m, c->samp + 2 * q, ij);
    fx = ij[0];
    fy = ij[1];
    if (!(fx >= 0 && fy >= 0 && fx < m->nx - 1 && fy < m->ny - 1)) continue;
    i  = (PetscInt)fx;
    j  = (PetscInt)fy;
    ax = fx - i;
    ay = fy - j;
    e  = c->edt + j * m->nx + i;
    d  = (1 - ay) * ((1 - ax) * e[0] + ax * e[1]) + ay * ((1 - ax) * e[m->nx] + ax * e[m->nx + 1]);
    d  = PetscMin(d, CMP_CAP_PX);
    acc[1] += d * d;
    acc[2] += 1;
  }
  PetscCallMPI(MPI_Allreduce(acc, tot, 3, MPIU_REAL, MPI_SUM, c->comm));
  *f = tot[0] / m->nvalid + (tot[2] > 0 ? tot[1] / tot[2] : CMP_CAP_PX * CMP_CAP_PX);
  c->nevals++;
  PetscFunctionReturn(0);
}

/* parameters: rotation (deg), shift (px), 100 ln(scale) */
static void CmpFromParams(const CmpCtx *c, const PetscReal *p, TCRegistration *r)
{
  r->theta_rad  = p[0] * PETSC_PI / 180;
  r->shift_m[0] = p[1] * c->map->pixel_size_m;
  r->shift_m[1] = p[2] * c->map->pixel_size_m;
  r->scale      = c->fit_scale ? c->scale0 * PetscExpReal(p[3] / 100) : c->scale0;
}

static PetscErrorCode CmpParamCost(CmpCtx *c, const PetscReal *p, PetscReal *f)
{
  TCRegistration r;
  PetscFunctionBeginUser;
  CmpFromParams(c, p, &r);
  PetscCall(CmpCostEval(c, &r, f));
  PetscFunctionReturn(0);
}

/* Nelder-Mead (Lagarias et al. 1998, SIAM J. Optim. 9, 112, standard
   coefficients) from x with initial steps step; x receives the minimum. */
static PetscErrorCode CmpNelderMead(CmpCtx *c, PetscInt n, PetscReal *x, const PetscReal *step,
                                    PetscReal *fbest)
{
  PetscReal s[5][4], f[5], xo[4], xr[4], xe[4], xc[4], fr, fe, fc;
  PetscInt  it;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i <= n; i++) {
    for (PetscInt k = 0; k < n; k++) s[i][k] = x[k] + (i == k + 1 ? step[k] : 0);
    PetscCall(CmpParamCost(c, s[i], &f[i]));
  }
  for (it = 0; it < 600; it++) {
    PetscInt order[5], w, size_ok = 1;
    for (PetscInt i = 0; i <= n; i++) order[i] = i;
    for (PetscInt i = 1; i <= n; i++) /* insertion sort by f */
      for (PetscInt j = i; j > 0 && f[order[j]] < f[order[j - 1]]; j--) {
        PetscInt t   = order[j];
        order[j]     = order[j - 1];
        order[j - 1] = t;
      }
    for (PetscInt i = 1; i <= n; i++)
      for (PetscInt k = 0; k < n; k++)
        if (PetscAbsReal(s[order[i]][k] - s[order[0]][k]) > 1e-3) size_ok = 0;
    if (size_ok) break;
    w = order[n];
    for (PetscInt k = 0; k < n; k++) {
      xo[k] = 0;
      for (PetscInt i = 0; i < n; i++) xo[k] += s[order[i]][k] / n;
      xr[k] = 2 * xo[k] - s[w][k];
    }
    PetscCall(CmpParamCost(c, xr, &fr));
    if (fr < f[order[0]]) {
      for (PetscInt k = 0; k < n; k++) xe[k] = 3 * xo[k] - 2 * s[w][k];
      PetscCall(CmpParamCost(c, xe, &fe));
      if (fe < fr) {
        PetscCall(PetscArraycpy(s[w], xe, n));
        f[w] = fe;
      } else {
        PetscCall(PetscArraycpy(s[w], xr, n));
        f[w] = fr;
      }
      continue;
    }
    if (fr < f[order[n - 1]]) {
      PetscCall(PetscArraycpy(s[w], xr, n));
      f[w] = fr;
      continue;
    }
    if (fr < f[w])
      for (PetscInt k = 0; k < n; k++) xc[k] = xo[k] + 0.5 * (xr[k] - xo[k]);
    else
      for (PetscInt k = 0; k < n; k++) xc[k] = xo[k] + 0.5 * (s[w][k] - xo[k]);
    PetscCall(CmpParamCost(c, xc, &fc));
    if (fc < PetscMin(fr, f[w])) {
      PetscCall(PetscArraycpy(s[w], xc, n));
      f[w] = fc;
      continue;
    }
    for (PetscInt i = 1; i <= n; i++) { /* shrink towards the best */
      PetscInt b = order[0], q = order[i];
      for (PetscInt k = 0; k < n; k++) s[q][k] = s[b][k] + 0.5 * (s[q][k] - s[b][k]);
      PetscCall(CmpParamCost(c, s[q], &f[q]));
    }
  }
  {
    PetscInt b = 0;
    for (PetscInt i = 1; i <= n; i++)
      if (f[i] < f[b]) b = i;
    PetscCall(PetscArraycpy(x, s[b], n));
    *fbest = f[b];
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode CmpCtxSetUp(MPI_Comm comm, TCSimField sim, const TCXrdMap *map, CmpCtx *c)
{
  PetscMPIInt rank, size;
  PetscInt    np = 0, ns = 0;
  PetscReal   len = 0, step = 0.5 * map->pixel_size_m;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscMemzero(c, sizeof(*c)));
  c->comm = comm;
  c->sim  = sim;
  c->map  = map;
  PetscCall(CmpGrid(sim, map->pixel_size_m));
  PetscCall(PetscMalloc2(map->nx * map->ny, &c->edt, map->nvalid, &c->pix));
  PetscCall(CmpEDT(map->valid, map->nx, map->ny, c->edt));
  for (PetscInt q = 0; q < map->nx * map->ny; q++)
    if (map->valid[q]) c->pix[np++] = q;
  for (PetscInt i = 0; i + 1 < sim->np; i++)
    len += PetscSqrtReal(PetscSqr(sim->xy[2 * i + 2] - sim->xy[2 * i]) +
                         PetscSqr(sim->xy[2 * i + 3] - sim->xy[2 * i + 1]));
  PetscCall(PetscMalloc1(2 * ((PetscInt)(len / step) + sim->np + 1), &c->samp));
  for (PetscInt i = 0; i + 1 < sim->np; i++) {
    const PetscReal *a = sim->xy + 2 * i, *b = a + 2;
    PetscInt         m =
        (PetscInt)ceil(PetscSqrtReal(PetscSqr(b[0] - a[0]) + PetscSqr(b[1] - a[1])) / step);
    m = PetscMax(m, 1);
    for (PetscInt t = 0; t < m; t++) {
      c->samp[2 * ns]     = a[0] + (b[0] - a[0]) * t / m;
      c->samp[2 * ns + 1] = a[1] + (b[1] - a[1]) * t / m;
      ns++;
    }
  }
  c->np0 = np * rank / size;
  c->np1 = np * (rank + 1) / size;
  c->ns0 = ns * rank / size;
  c->ns1 = ns * (rank + 1) / size;
  PetscFunctionReturn(0);
}

static PetscErrorCode CmpCtxDestroy(CmpCtx *c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree2(c->edt, c->pix));
  PetscCall(PetscFree(c->samp));
  PetscFunctionReturn(0);
}

PetscErrorCode TCCompareCost(MPI_Comm comm, TCSimField sim, const TCXrdMap *map,
                             const TCRegistration *reg, PetscReal *cost)
{
  CmpCtx c;
  PetscFunctionBeginUser;
  PetscCall(CmpCtxSetUp(comm, sim, map, &c));
  PetscCall(CmpCostEval(&c, reg, cost));
  PetscCall(CmpCtxDestroy(&c));
  PetscFunctionReturn(0);
}

PetscErrorCode TCCompareRegister(MPI_Comm comm, TCSimField sim, const TCXrdMap *map,
                                 PetscBool fit_scale, TCRegistration *reg, PetscReal *cost)
{
  CmpCtx         c;
  PetscReal      cm[2] = {0, 0}, cs[2] = {0, 0}, len = 0, fc[180], best = PETSC_MAX_REAL, px;
  PetscReal      bestp[4] = {0, 0, 0, 0};
  PetscInt       cand[3] = {-1, -1, -1}, n = fit_scale ? 4 : 3;
  const PetscInt ncoarse = 180; /* 2 degree steps */

  PetscFunctionBeginUser;
  PetscCall(CmpCtxSetUp(comm, sim, map, &c));
  c.fit_scale = fit_scale;
  c.scale0    = reg->scale > 0 ? reg->scale : 1;
  px          = map->pixel_size_m;
  /* centroids: valid pixels (image frame), the Cu line by arc length */
  for (PetscInt p = 0; p < map->nvalid; p++) {
    PetscInt q = c.pix[p];
    cm[0] += ((q % map->nx) + 0.5 - 0.5 * map->nx) * px / map->nvalid;
    cm[1] += ((q / map->nx) + 0.5 - 0.5 * map->ny) * px / map->nvalid;
  }
  for (PetscInt i = 0; i + 1 < sim->np; i++) {
    const PetscReal *a = sim->xy + 2 * i, *b = a + 2;
    PetscReal        l = PetscSqrtReal(PetscSqr(b[0] - a[0]) + PetscSqr(b[1] - a[1]));
    cs[0] += 0.5 * (a[0] + b[0]) * l;
    cs[1] += 0.5 * (a[1] + b[1]) * l;
    len += l;
  }
  cs[0] /= len;
  cs[1] /= len;
  /* coarse: every rotation, shift from the centroids */
  for (PetscInt k = 0; k < ncoarse; k++) {
    TCRegistration r;
    PetscReal      th = 2.0 * PETSC_PI * k / ncoarse, co = PetscCosReal(th), si = PetscSinReal(th);
    r.theta_rad  = th;
    r.scale      = c.scale0;
    r.shift_m[0] = cs[0] - r.scale * (co * cm[0] - si * cm[1]);
    r.shift_m[1] = cs[1] - r.scale * (si * cm[0] + co * cm[1]);
    PetscCall(CmpCostEval(&c, &r, &fc[k]));
  }
  /* the three lowest local minima (cyclic) */
  for (PetscInt k = 0; k < ncoarse; k++) {
    PetscReal fm = fc[(k + ncoarse - 1) % ncoarse], fp = fc[(k + 1) % ncoarse];
    if (!(fc[k] <= fm && fc[k] <= fp)) continue;
    for (PetscInt q = 0; q < 3; q++)
      if (cand[q] < 0 || fc[k] < fc[cand[q]]) {
        for (PetscInt m = 2; m > q; m--) cand[m] = cand[m - 1];
        cand[q] = k;
        break;
      }
  }
  for (PetscInt q = 0; q < 3 && cand[q] >= 0; q++) {
    PetscReal th = 2.0 * PETSC_PI * cand[q] / ncoarse, co = PetscCosReal(th), si = PetscSinReal(th);
    PetscReal x[4], f, step[4] = {2.0, 2.0, 2.0, 1.0};
    x[0] = th * 180 / PETSC_PI;
    x[1] = (cs[0] - c.scale0 * (co * cm[0] - si * cm[1])) / px;
    x[2] = (cs[1] - c.scale0 * (si * cm[0] + co * cm[1])) / px;
    x[3] = 0;
    PetscCall(CmpNelderMead(&c, n, x, step, &f));
    /* restart once from the minimum with smaller steps (Nelder-Mead can stall) */
    for (PetscInt k = 0; k < 4; k++) step[k] *= 0.25;
    PetscCall(CmpNelderMead(&c, n, x, step, &f));
    if (f < best) {
      best = f;
      PetscCall(PetscArraycpy(bestp, x, 4));
    }
  }
  CmpFromParams(&c, bestp, reg);
  reg->theta_rad = PetscFmodReal(reg->theta_rad + 4 * PETSC_PI, 2 * PETSC_PI);
  if (reg->theta_rad > PETSC_PI) reg->theta_rad -= 2 * PETSC_PI;
  *cost = best;
  PetscCall(CmpCtxDestroy(&c));
  PetscFunctionReturn(0);
}

PetscErrorCode TCCompareForward(TCSimField sim, const TCXrdMap *map, const TCRegistration *reg,
                                const PetscReal *T, PetscReal maxd_px, PetscReal fwhm,
                                PetscReal *Tsim, PetscInt *non)
{
  PetscInt  np = map->nx * map->ny, on = 0;
  PetscReal dmax = maxd_px * map->pixel_size_m * reg->scale, pre;

  PetscFunctionBeginUser;
  PetscCall(CmpGrid(sim, map->pixel_size_m));
  pre = dmax + 2 * sim->gh; /* the grid's interpolation error is below one spacing */
  for (PetscInt q = 0; q < np; q++) {
    PetscReal x[2], dbest = PETSC_MAX_REAL, ubest = 0;
    PetscInt  sbest = -1;
    Tsim[q]         = NAN;
    if (!map->valid[q]) continue;
    TCRegistrationApply(reg, map, (PetscReal)(q % map->nx), (PetscReal)(q / map->nx), x);
    if (pre < sim->gcap && CmpGridDist(sim, x[0], x[1]) > pre) continue;
    for (PetscInt i = 0; i + 1 < sim->np; i++) {
      PetscReal u, d = CmpSegDist(sim->xy + 2 * i, sim->xy + 2 * i + 2, x[0], x[1], &u);
      if (d < dbest) {
        dbest = d;
        ubest = u;
        sbest = i;
      }
    }
    if (sbest < 0 || dbest > dmax) continue;
    Tsim[q] = (1 - ubest) * T[sbest] + ubest * T[sbest + 1];
    on++;
  }
  if (fwhm > 0 && on > 0) {
    PetscReal sig = fwhm / (2 * PetscSqrtReal(2 * PetscLogReal(2.0))) / map->pixel_size_m, *g, *num,
              *den, *tn, *td;
    PetscInt R = (PetscInt)ceil(3 * sig), nx = map->nx, ny = map->ny;
    PetscCall(PetscMalloc5(2 * R + 1, &g, np, &num, np, &den, np, &tn, np, &td));
    for (PetscInt k = -R; k <= R; k++) g[k + R] = PetscExpReal(-0.5 * k * k / (sig * sig));
    for (PetscInt q = 0; q < np; q++) {
      num[q] = isfinite(Tsim[q]) ? Tsim[q] : 0;
      den[q] = isfinite(Tsim[q]) ? 1 : 0;
    }
    for (PetscInt j = 0; j < ny; j++) /* along x */
      for (PetscInt i = 0; i < nx; i++) {
        PetscReal a = 0, b = 0;
        for (PetscInt k = PetscMax(-R, -i); k <= PetscMin(R, nx - 1 - i); k++) {
          a += g[k + R] * num[j * nx + i + k];
          b += g[k + R] * den[j * nx + i + k];
        }
        tn[j * nx + i] = a;
        td[j * nx + i] = b;
      }
    for (PetscInt j = 0; j < ny; j++) /* along y */
      for (PetscInt i = 0; i < nx; i++) {
        PetscReal a = 0, b = 0;
        for (PetscInt k = PetscMax(-R, -j); k <= PetscMin(R, ny - 1 - j); k++) {
          a += g[k + R] * tn[(j + k) * nx + i];
          b += g[k + R] * td[(j + k) * nx + i];
        }
        num[j * nx + i] = a;
        den[j * nx + i] = b;
      }
    for (PetscInt q = 0; q < np; q++)
      if (isfinite(Tsim[q])) Tsim[q] = num[q] / den[q];
    PetscCall(PetscFree5(g, num, den, tn, td));
  }
  *non = on;
  PetscFunctionReturn(0);
}

static int CmpRealCmp(const void *a, const void *b)
{
  PetscReal x = *(const PetscReal *)a, y = *(const PetscReal *)b;
  return x < y ? -1 : x > y;
}

PetscErrorCode TCCompareStatsCompute(const TCXrdMap *map, PetscInt k, const PetscReal *Tsim,
                                     const TCRegistration *reg, const PetscReal centre[2],
                                     PetscInt nbins, PetscReal core_frac, PetscReal hot_frac,
                                     TCCompareStats *st)
{
  PetscInt         np = map->nx * map->ny, n = 0;
  const PetscReal *Tm = map->T_K + k * np, *sg = map->sigma_K ? map->sigma_K + k * np : NULL;
  PetscReal       *r, *vals, sm = 0, ss = 0, sd = 0, sd2 = 0, smm = 0, sss = 0, sms = 0, chi = 0;
  PetscReal        rmin = PETSC_MAX_REAL, rmax = 0, span, cnt[2] = {0, 0};
  PetscInt        *idx;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(st, sizeof(*st)));
  PetscCall(PetscMalloc3(np, &r, np, &idx, np, &vals));
  for (PetscInt q = 0; q < np; q++) {
    PetscReal x[2], d;
    if (!(isfinite(Tm[q]) && isfinite(Tsim[q]))) continue;
    TCRegistrationApply(reg, map, (PetscReal)(q % map->nx), (PetscReal)(q / map->nx), x);
    idx[n] = q;
    r[n]   = PetscSqrtReal(PetscSqr(x[0] - centre[0]) + PetscSqr(x[1] - centre[1]));
    rmin   = PetscMin(rmin, r[n]);
    rmax   = PetscMax(rmax, r[n]);
    d      = Tm[q] - Tsim[q];
    sm += Tm[q];
    ss += Tsim[q];
    sd += d;
    sd2 += d * d;
    st->max_abs_K = PetscMax(st->max_abs_K, PetscAbsReal(d));
    if (sg) chi += d * d / PetscMax(sg[q] * sg[q], 1e-300);
    n++;
  }
  st->n = n;
  if (!n) {
    PetscCall(PetscFree3(r, idx, vals));
    PetscFunctionReturn(0);
  }
  sm /= n;
  ss /= n;
  st->bias_K = sd / n;
  st->rmse_K = PetscSqrtReal(sd2 / n);
  st->std_K  = PetscSqrtReal(PetscMax(0, sd2 / n - st->bias_K * st->bias_K));
  st->chi2   = sg ? chi / n : NAN;
  for (PetscInt p = 0; p < n; p++) {
    PetscReal a = Tm[idx[p]] - sm, b = Tsim[idx[p]] - ss;
    smm += a * a;
    sss += b * b;
    sms += a * b;
  }
  st->pearson_r = smm > 0 && sss > 0 ? sms / PetscSqrtReal(smm * sss) : NAN;
  /* radial profile, core and surface */
  span          = rmax - rmin;
  st->r_inner_m = rmin;
  st->r_outer_m = rmax;
  st->nbins     = PetscMin(nbins, TC_COMPARE_MAX_BINS);
  for (PetscInt p = 0; p < n; p++) {
    PetscInt  b  = span > 0 ? (PetscInt)((r[p] - rmin) / span * st->nbins) : 0;
    PetscReal fr = span > 0 ? (r[p] - rmin) / span : 0.5;
    b            = PetscMin(b, st->nbins - 1);
    st->bin_meas_K[b] += Tm[idx[p]];
    st->bin_sim_K[b] += Tsim[idx[p]];
    st->bin_n[b]++;
    if (fr <= core_frac) {
      st->core_K[0] += Tm[idx[p]];
      st->core_K[1] += Tsim[idx[p]];
      cnt[0]++;
    }
    if (fr >= 1 - core_frac) {
      st->surface_K[0] += Tm[idx[p]];
      st->surface_K[1] += Tsim[idx[p]];
      cnt[1]++;
    }
  }
  for (PetscInt b = 0; b < st->nbins; b++) {
    st->bin_r_m[b]    = rmin + (b + 0.5) * span / st->nbins;
    st->bin_meas_K[b] = st->bin_n[b] ? st->bin_meas_K[b] / st->bin_n[b] : NAN;
    st->bin_sim_K[b]  = st->bin_n[b] ? st->bin_sim_K[b] / st->bin_n[b] : NAN;
  }
  for (int a = 0; a < 2; a++) {
    st->core_K[a]    = cnt[0] > 0 ? st->core_K[a] / cnt[0] : NAN;
    st->surface_K[a] = cnt[1] > 0 ? st->surface_K[a] / cnt[1] : NAN;
  }
  /* hotspots: centroid of the hottest hot_frac of the pixels, each map */
  for (int a = 0; a < 2; a++) {
    const PetscReal *T = a ? Tsim : Tm;
    PetscInt         m = PetscMax(1, (PetscInt)ceil(hot_frac * n)), c = 0;
    PetscReal        thr, cx = 0, cy = 0;
    for (PetscInt p = 0; p < n; p++) vals[p] = T[idx[p]];
    qsort(vals, (size_t)n, sizeof(PetscReal), CmpRealCmp);
    thr = vals[n - m];
    for (PetscInt p = 0; p < n; p++)
      if (T[idx[p]] >= thr) {
        PetscReal x[2];
        TCRegistrationApply(reg, map, (PetscReal)(idx[p] % map->nx), (PetscReal)(idx[p] / map->nx),
                            x);
        cx += x[0];
        cy += x[1];
        c++;
      }
    st->hotspot_m[a][0] = cx / c;
    st->hotspot_m[a][1] = cy / c;
  }
  st->hotspot_distance_m = PetscSqrtReal(PetscSqr(st->hotspot_m[0][0] - st->hotspot_m[1][0]) +
                                         PetscSqr(st->hotspot_m[0][1] - st->hotspot_m[1][1]));
  PetscCall(PetscFree3(r, idx, vals));
  PetscFunctionReturn(0);
}
