/*
 * Jelly-roll network from foil centre lines (see rollnet.h).
 */
#include "mesh/rollnet.h"
#include "io/h5.h"
#include "src/tc.h"
#include <math.h>

enum {
  TC_EDGE_FOIL_S        = 0,
  TC_EDGE_FOIL_Z        = 1,
  TC_EDGE_ELEMENT_INNER = 2,
  TC_EDGE_ELEMENT_OUTER = 3,
  TC_EDGE_TAB           = 4
};

struct _p_TCRollNet {
  MPI_Comm        comm;
  TCRollNetParams p;
  TCGraph         g;
  PetscInt        ns[2], NS, nl, NL, K0, nelem_global, nterm; /* nterm: terminals on this rank */
  PetscReal      *zall;                                       /* NL */
  PetscReal      *lenloc;                                     /* nl x 2 */
  PetscReal      *cenloc;                                     /* nl x 2 */
  PetscReal      *turnloc;                                    /* nl x 2: windings */
  /* per node of this rank, input order */
  PetscReal *node_s;
  int       *node_foil, *node_tab, *node_layer;
  /* per edge added on this rank, in AddEdge order */
  PetscInt   ne, necap;
  PetscReal *edge_G, *edge_area;
  int       *edge_kind;
  /* thermal links across the layers (input ids), see TCRollNetGetThermalLinks */
  PetscInt   nlink, linkcap;
  PetscInt  *link_ij;
  PetscReal *link_area, *link_d;
  /* defects (the same list on every rank) */
  PetscInt      ndefect;
  TCRollDefect *defect;
  /* the source curves of this rank's layers, for net.h5: unique curves (layers
     extruded from one slice share theirs), layer_curve[2k + f] indexes them
     (-1: the foil was built, see "One traced foil") */
  PetscInt   ncurve, *curve_off, *layer_curve;
  PetscReal *curve_x, *curve_y;
  PetscInt   built_foil; /* -1, TC_FOIL_CU or TC_FOIL_AL */
};

const char *const TCRollDefectKinds[] = {"fold", "gap", "missing_coating"};

static PetscErrorCode TCRollNetAddLink(TCRollNet net, PetscInt i, PetscInt j, PetscReal area,
                                       PetscReal d)
{
  PetscFunctionBeginUser;
  if (area <= 0) PetscFunctionReturn(0);
  if (net->nlink == net->linkcap) {
    net->linkcap = PetscMax(1024, 2 * net->linkcap);
    PetscCall(PetscRealloc(sizeof(PetscInt) * 2 * net->linkcap, &net->link_ij));
    PetscCall(PetscRealloc(sizeof(PetscReal) * net->linkcap, &net->link_area));
    PetscCall(PetscRealloc(sizeof(PetscReal) * net->linkcap, &net->link_d));
  }
  net->link_ij[2 * net->nlink]     = i;
  net->link_ij[2 * net->nlink + 1] = j;
  net->link_area[net->nlink]       = area;
  net->link_d[net->nlink]          = d;
  net->nlink++;
  PetscFunctionReturn(0);
}

static PetscErrorCode TCRollNetAddEdge(TCRollNet net, PetscInt i, PetscInt j, PetscReal G, int kind,
                                       PetscReal area)
{
  PetscFunctionBeginUser;
  if (net->ne == net->necap) {
    PetscReal *a, *b;
    int       *c;
    net->necap = PetscMax(1024, 2 * net->necap);
    PetscCall(PetscMalloc3(net->necap, &a, net->necap, &b, net->necap, &c));
    if (net->ne) {
      PetscCall(PetscArraycpy(a, net->edge_G, net->ne));
      PetscCall(PetscArraycpy(b, net->edge_area, net->ne));
      PetscCall(PetscArraycpy(c, net->edge_kind, net->ne));
    }
    PetscCall(PetscFree3(net->edge_G, net->edge_area, net->edge_kind));
    net->edge_G    = a;
    net->edge_area = b;
    net->edge_kind = c;
  }
  PetscCall(TCGraphAddEdge(net->g, i, j, G));
  net->edge_G[net->ne]    = G;
  net->edge_area[net->ne] = area;
  net->edge_kind[net->ne] = kind;
  net->ne++;
  PetscFunctionReturn(0);
}

/* cumulative arc length of a polyline */
static PetscErrorCode TCArc(const TCRollCurve *c, PetscReal **s)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(c->n, s));
  (*s)[0] = 0;
  for (PetscInt i = 1; i < c->n; i++)
    (*s)[i] = (*s)[i - 1] + hypot(c->x[i] - c->x[i - 1], c->y[i] - c->y[i - 1]);
  PetscFunctionReturn(0);
}

/* point and unit tangent at arc length t */
static void TCAt(const TCRollCurve *c, const PetscReal *s, PetscReal t, PetscReal P[2],
                 PetscReal T[2])
{
  PetscInt  lo = 0, hi = c->n - 1;
  PetscReal u, L;
  while (hi - lo > 1) {
    PetscInt mid = (lo + hi) / 2;
    if (s[mid] <= t)
      lo = mid;
    else
      hi = mid;
  }
  L    = s[hi] - s[lo];
  u    = L > 0 ? PetscMin(PetscMax((t - s[lo]) / L, 0), 1) : 0;
  P[0] = c->x[lo] + u * (c->x[hi] - c->x[lo]);
  P[1] = c->y[lo] + u * (c->y[hi] - c->y[lo]);
  {
    PetscInt  a = PetscMax(lo - 2, 0), b = PetscMin(hi + 2, c->n - 1);
    PetscReal tx = c->x[b] - c->x[a], ty = c->y[b] - c->y[a], nn = hypot(tx, ty);
    T[0] = nn > 0 ? tx / nn : 1;
    T[1] = nn > 0 ? ty / nn : 0;
  }
}

/* point, and unit normal pointing away from the roll centre cen, at arc length t */
static void TCAtOutward(const TCRollCurve *c, const PetscReal *s, PetscReal t,
                        const PetscReal cen[2], PetscReal P[2], PetscReal n[2])
{
  PetscReal T[2];
  TCAt(c, s, t, P, T);
  n[0] = T[1];
  n[1] = -T[0];
  if (n[0] * (P[0] - cen[0]) + n[1] * (P[1] - cen[1]) < 0) {
    n[0] = -n[0];
    n[1] = -n[1];
  }
}

static PetscBool TCMissing(const TCRollNetParams *p, PetscInt f, PetscReal s)
{
  return (PetscBool)(p->missing_foil == f && s >= p->missing_from_m && s <= p->missing_to_m);
}

/* Is the node at s (of a foil of length L, nodes ds apart) a tab node? A
   tab narrower than the node spacing takes the node nearest its centre. */
static PetscBool TCIsTab(const TCTabs *t, PetscReal s, PetscReal L, PetscReal ds)
{
  switch (t->layout) {
  case TC_TAB_START:
    return (PetscBool)(s <= t->width_m);
  case TC_TAB_END:
    return (PetscBool)(s >= L - t->width_m);
  case TC_TAB_POSITIONS:
    for (PetscInt k = 0; k < t->n; k++)
      if (PetscAbsReal(s - t->s_m[k]) <= 0.5 * PetscMax(t->width_m, ds)) return PETSC_TRUE;
    return PETSC_FALSE;
  case TC_TAB_TABLESS:
    return PETSC_TRUE;
  case TC_TAB_MIDDLE:
    return (PetscBool)(PetscAbsReal(s - 0.5 * L) <= 0.5 * PetscMax(t->width_m, ds));
  case TC_TAB_NLAYOUTS:
    break;
  }
  return PETSC_FALSE;
}

/* Uniform grid of the Cu polyline's segments for the facing search. */
typedef struct {
  PetscReal x0, y0, h;
  PetscInt  nx, ny, *ptr, *seg;
} TCSegGrid;

static PetscErrorCode TCSegGridBuild(const TCRollCurve *c, PetscReal h, TCSegGrid *G)
{
  PetscReal x1 = -PETSC_MAX_REAL, y1 = -PETSC_MAX_REAL;
  PetscInt *cnt;

  PetscFunctionBeginUser;
  G->x0 = G->y0 = PETSC_MAX_REAL;
  for (PetscInt i = 0; i < c->n; i++) {
    G->x0 = PetscMin(G->x0, c->x[i]);
    G->y0 = PetscMin(G->y0, c->y[i]);
    x1    = PetscMax(x1, c->x[i]);
    y1    = PetscMax(y1, c->y[i]);
  }
  /* at most ~4M cells, whatever the search distance */
  G->h  = PetscMax(h, PetscMax(x1 - G->x0, y1 - G->y0) / 2048);
  h     = G->h;
  G->nx = (PetscInt)((x1 - G->x0) / h) + 1;
  G->ny = (PetscInt)((y1 - G->y0) / h) + 1;
  PetscCall(PetscCalloc1(G->nx * G->ny + 1, &G->ptr));
  PetscCall(PetscCalloc1(G->nx * G->ny, &cnt));
  for (int pass = 0; pass < 2; pass++) {
    for (PetscInt i = 0; i + 1 < c->n; i++) {
      PetscInt a0 = (PetscInt)((PetscMin(c->x[i], c->x[i + 1]) - G->x0) / h);
      PetscInt a1 = (PetscInt)((PetscMax(c->x[i], c->x[i + 1]) - G->x0) / h);
      PetscInt b0 = (PetscInt)((PetscMin(c->y[i], c->y[i + 1]) - G->y0) / h);
      PetscInt b1 = (PetscInt)((PetscMax(c->y[i], c->y[i + 1]) - G->y0) / h);
      for (PetscInt b = b0; b <= b1; b++)
        for (PetscInt a = a0; a <= a1; a++) {
          PetscInt cell = b * G->nx + a;
          if (pass == 0)
            G->ptr[cell + 1]++;
          else
            G->seg[G->ptr[cell] + cnt[cell]++] = i;
        }
    }
    if (pass == 0) {
      for (PetscInt q = 0; q < G->nx * G->ny; q++) G->ptr[q + 1] += G->ptr[q];
      PetscCall(PetscMalloc1(G->ptr[G->nx * G->ny] + 1, &G->seg));
    }
  }
  PetscCall(PetscFree(cnt));
  PetscFunctionReturn(0);
}

/* First crossing of P + lambda n, 0 < lambda <= lmax, with the polyline:
   returns the arc length there (via s) or -1. */
static PetscReal TCSegGridCast(const TCSegGrid *G, const TCRollCurve *c, const PetscReal *s,
                               const PetscReal P[2], const PetscReal n[2], PetscReal lmax)
{
  PetscReal best = lmax, sbest = -1;
  PetscReal ex = P[0] + lmax * n[0], ey = P[1] + lmax * n[1];
  PetscInt  a0 = (PetscInt)floor((PetscMin(P[0], ex) - G->x0) / G->h);
  PetscInt  a1 = (PetscInt)floor((PetscMax(P[0], ex) - G->x0) / G->h);
  PetscInt  b0 = (PetscInt)floor((PetscMin(P[1], ey) - G->y0) / G->h);
  PetscInt  b1 = (PetscInt)floor((PetscMax(P[1], ey) - G->y0) / G->h);
  a0           = PetscMax(a0, 0);
  b0           = PetscMax(b0, 0);
  a1           = PetscMin(a1, G->nx - 1);
  b1           = PetscMin(b1, G->ny - 1);
  for (PetscInt b = b0; b <= b1; b++)
    for (PetscInt a = a0; a <= a1; a++) {
      PetscInt cell = b * G->nx + a;
      for (PetscInt q = G->ptr[cell]; q < G->ptr[cell + 1]; q++) {
        PetscInt  i  = G->seg[q];
        PetscReal dx = c->x[i + 1] - c->x[i], dy = c->y[i + 1] - c->y[i];
        PetscReal den = n[0] * dy - n[1] * dx, wx, wy, lam, mu;
        if (PetscAbsReal(den) < 1e-30) continue;
        wx  = c->x[i] - P[0];
        wy  = c->y[i] - P[1];
        lam = (wx * dy - wy * dx) / den;
        mu  = (wx * n[1] - wy * n[0]) / den;
        if (lam > 1e-12 && lam < best && mu >= 0 && mu <= 1) {
          best  = lam;
          sbest = s[i] + mu * (s[i + 1] - s[i]);
        }
      }
    }
  return sbest;
}

/* Unwrapped polar angle psi (increasing along the curve whichever way it
   winds) and radius of every point of c about cen. */
static PetscErrorCode TCCurvePolar(const TCRollCurve *c, const PetscReal cen[2], PetscReal **psi,
                                   PetscReal **rho, PetscReal **th)
{
  PetscReal prev, acc = 0, sgn;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(c->n, psi, c->n, rho, c->n, th));
  prev = atan2(c->y[0] - cen[1], c->x[0] - cen[0]);
  for (PetscInt i = 0; i < c->n; i++) {
    PetscReal t = atan2(c->y[i] - cen[1], c->x[i] - cen[0]), d = t - prev;
    d -= 2 * PETSC_PI * floor((d + PETSC_PI) / (2 * PETSC_PI));
    acc += d;
    prev       = t;
    (*psi)[i]  = acc;
    (*th)[i]   = t;
    (*rho)[i]  = hypot(c->x[i] - cen[0], c->y[i] - cen[1]);
  }
  sgn = (*psi)[c->n - 1] >= 0 ? 1 : -1;
  for (PetscInt i = 0; i < c->n; i++) (*psi)[i] *= sgn;
  PetscFunctionReturn(0);
}

/* Radius of the curve at unwrapped angle a (linear in psi), or NAN outside
   [psi_0, psi_n-1]; *hint speeds up monotone queries. */
static PetscReal TCCurveRadiusAt(PetscInt n, const PetscReal psi[], const PetscReal rho[],
                                 PetscReal a, PetscInt *hint)
{
  PetscInt i = PetscMin(PetscMax(*hint, 0), n - 2);
  if (n < 2 || a < psi[0] || a > psi[n - 1]) return NAN;
  while (i > 0 && psi[i] > a) i--;
  while (i < n - 2 && psi[i + 1] < a) i++;
  *hint = i;
  {
    PetscReal d = psi[i + 1] - psi[i], u = d > 0 ? (a - psi[i]) / d : 0;
    return (1 - u) * rho[i] + u * rho[i + 1];
  }
}

/* The facing foil of a traced one (see "One traced foil" in rollnet.h):
   side +1 builds it outward (the Al of a traced Cu), -1 inward (the Cu of a
   traced Al). New arrays x, y of c->n points (PetscFree2). */
static PetscErrorCode TCCurveBuildFacing(const TCRollCurve *c, const PetscReal cen[2], int side,
                                         PetscReal pitch, PetscReal **x, PetscReal **y)
{
  PetscReal *psi, *rho, *th;
  PetscInt   h1 = 0, h2 = 0;

  PetscFunctionBeginUser;
  PetscCall(TCCurvePolar(c, cen, &psi, &rho, &th));
  PetscCall(PetscMalloc2(c->n, x, c->n, y));
  for (PetscInt i = 0; i < c->n; i++) {
    PetscReal a = psi[i], rn = TCCurveRadiusAt(c->n, psi, rho, a + side * 2 * PETSC_PI, &h1), rf;
    if (isnan(rn)) {
      /* beyond the last (first) winding: the local pitch of the turn before
         (after), or the given pitch for a curve of less than one turn */
      PetscReal ro = TCCurveRadiusAt(c->n, psi, rho, a - side * 2 * PETSC_PI, &h2);
      rn           = isnan(ro) ? rho[i] + side * pitch : 2 * rho[i] - ro;
    }
    rf       = 0.5 * (rho[i] + rn);
    (*x)[i] = cen[0] + rf * cos(th[i]);
    (*y)[i] = cen[1] + rf * sin(th[i]);
  }
  PetscCall(PetscFree3(psi, rho, th));
  PetscFunctionReturn(0);
}

/* Keep a copy of this rank's source curves for net.h5: one per distinct
   curve (by its arrays), in layer order. */
static PetscErrorCode TCRollNetStoreCurves(TCRollNet net, PetscInt nl, const TCRollCurve curves[])
{
  PetscInt npts = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(2 * PetscMax(nl, 1), &net->layer_curve));
  PetscCall(PetscMalloc1(2 * PetscMax(nl, 1) + 1, &net->curve_off));
  net->ncurve       = 0;
  net->curve_off[0] = 0;
  for (PetscInt q = 0; q < 2 * nl; q++) {
    const TCRollCurve *c = &curves[q];
    PetscInt           found = -1;
    if (c->n < 2) {
      net->layer_curve[q] = -1;
      continue;
    }
    for (PetscInt r = 0; r < q && found < 0; r++)
      if (curves[r].n == c->n && curves[r].x == c->x && curves[r].y == c->y)
        found = net->layer_curve[r];
    if (found < 0) {
      found = net->ncurve++;
      npts += c->n;
      net->curve_off[net->ncurve] = npts;
    }
    net->layer_curve[q] = found;
  }
  PetscCall(PetscMalloc2(PetscMax(npts, 1), &net->curve_x, PetscMax(npts, 1), &net->curve_y));
  for (PetscInt q = 0; q < 2 * nl; q++) {
    PetscInt u = net->layer_curve[q];
    if (u < 0) continue;
    PetscCall(PetscArraycpy(net->curve_x + net->curve_off[u], curves[q].x, curves[q].n));
    PetscCall(PetscArraycpy(net->curve_y + net->curve_off[u], curves[q].y, curves[q].n));
  }
  PetscFunctionReturn(0);
}

static const char *TCTabsDescribe(const TCTabs *t, char buf[], size_t len)
{
  size_t o = (size_t)snprintf(buf, len, "%s", TCTabLayouts[t->layout]);
  if (t->layout == TC_TAB_POSITIONS)
    for (PetscInt k = 0; k < t->n && o < len; k++)
      o += (size_t)snprintf(buf + o, len - o, "%s%g", k ? "," : " at ", (double)t->s_m[k]);
  if (t->layout != TC_TAB_TABLESS && o < len)
    snprintf(buf + o, len - o, ", width %g m", (double)t->width_m);
  return buf;
}

/* The strip of layer K (NL > 1): between the midpoints to its neighbours; the
   outer strips end at the outer layers, or for CT slices half a spacing
   beyond them. */
static void TCRollNetStrip(TCRollNet net, PetscInt K, PetscReal *zlo, PetscReal *zhi)
{
  const PetscReal *z = net->zall;
  PetscInt         NL = net->NL;
  *zlo = K > 0 ? 0.5 * (z[K] + z[K - 1]) : (net->p.slices ? 1.5 * z[0] - 0.5 * z[1] : z[0]);
  *zhi = K < NL - 1 ? 0.5 * (z[K] + z[K + 1])
                    : (net->p.slices ? 1.5 * z[NL - 1] - 0.5 * z[NL - 2] : z[NL - 1]);
}

/* What RollNetCreate() holds while it builds; TCRollNetCreate() frees it, also
   when the build stops on an error (the half-built network, the built facing
   curves, a layer's arc lengths and segment grids: a spacing that gives too
   few nodes must not leak them). */
typedef struct {
  TCRollNet    net;
  TCRollCurve *curves;
  PetscReal  **bxy; /* 2 nl, zeroed: the built curves (PetscMalloc2 pairs) */
  PetscReal   *sc[2];
  TCSegGrid    G, Ga;
} RollNetHeld;

static PetscErrorCode RollNetCreate(MPI_Comm comm, const TCRollNetParams *p, PetscInt nl,
                                    const PetscReal z[], const PetscReal centre[],
                                    const TCRollCurve given[], RollNetHeld *h)
{
  TCRollNet    net;
  PetscMPIInt  size, rank;
  PetscReal    Lmax[2] = {0, 0}, **bxy;
  PetscInt     nf      = 2, nlocal, miss[3] = {0, 0, 0}, ntab[2] = {0, 0};
  TCRollCurve *curves;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCheck(p->nfoils == 1 || p->nfoils == 2, comm, PETSC_ERR_USER_INPUT,
             "a roll network needs one or two foils (got %" PetscInt_FMT ")", p->nfoils);
  PetscCheck(p->ds_m > 0, comm, PETSC_ERR_USER_INPUT, "node spacing ds must be positive");
  PetscCall(PetscNew(&h->net));
  net       = h->net;
  net->comm = comm;
  net->p    = *p;
  net->nl   = nl;
  /* one traced foil: build the other (see "One traced foil" in rollnet.h) */
  for (PetscInt k = 0; k < nl; k++) {
    PetscBool a = (PetscBool)(given[2 * k].n < 2), b = (PetscBool)(given[2 * k + 1].n < 2);
    miss[0] += a && !b;
    miss[1] += b && !a;
    miss[2] += a && b;
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, miss, 3, MPIU_INT, MPI_SUM, comm));
  PetscCheck(miss[2] == 0, comm, PETSC_ERR_USER_INPUT,
             "%" PetscInt_FMT " node layer(s) have no traced foil at all", miss[2]);
  PetscCheck(!(miss[0] && miss[1]), comm, PETSC_ERR_USER_INPUT,
             "some layers have only the Cu foil and others only the Al foil: trace the same "
             "foil in every slice");
  net->built_foil = miss[0] ? TC_FOIL_CU : miss[1] ? TC_FOIL_AL : -1;
  PetscCall(PetscCalloc2(2 * PetscMax(nl, 1), &h->curves, 2 * PetscMax(nl, 1), &h->bxy));
  curves = h->curves, bxy = h->bxy;
  for (PetscInt k = 0; k < nl; k++) {
    PetscInt b = net->built_foil;
    curves[2 * k]     = given[2 * k];
    curves[2 * k + 1] = given[2 * k + 1];
    bxy[2 * k] = bxy[2 * k + 1] = NULL;
    if (b < 0) continue;
    {
      const TCRollCurve *t     = &given[2 * k + 1 - b];
      PetscReal          pitch = p->pitch_m > 0 ? p->pitch_m : p->search_m / 1.5;
      if (k > 0 && t->x == given[2 * k - 1 - b].x && t->n == given[2 * k - 1 - b].n) {
        curves[2 * k + b] = curves[2 * k - 2 + b]; /* extruded: the same built curve */
        continue;
      }
      PetscCall(TCCurveBuildFacing(t, centre + 2 * k, b == TC_FOIL_AL ? 1 : -1, pitch,
                                   &bxy[2 * k], &bxy[2 * k + 1]));
      curves[2 * k + b].n = t->n;
      curves[2 * k + b].x = bxy[2 * k];
      curves[2 * k + b].y = bxy[2 * k + 1];
    }
  }
  PetscCall(TCRollNetStoreCurves(net, nl, given));
  PetscCallMPI(MPI_Allreduce(&nl, &net->NL, 1, MPIU_INT, MPI_SUM, comm));
  PetscCallMPI(MPI_Exscan(&nl, &net->K0, 1, MPIU_INT, MPI_SUM, comm));
  if (rank == 0) net->K0 = 0;
  PetscCheck(net->NL > 0, comm, PETSC_ERR_USER_INPUT, "no layer to build the network on");
  PetscCall(PetscMalloc1(net->NL, &net->zall));
  {
    PetscMPIInt *cnt, *dsp, nn = (PetscMPIInt)nl;
    PetscCall(PetscMalloc2(size, &cnt, size, &dsp));
    PetscCallMPI(MPI_Allgather(&nn, 1, MPI_INT, cnt, 1, MPI_INT, comm));
    dsp[0] = 0;
    for (PetscMPIInt r = 1; r < size; r++) dsp[r] = dsp[r - 1] + cnt[r - 1];
    PetscCallMPI(MPI_Allgatherv(z, nn, MPIU_REAL, net->zall, cnt, dsp, MPIU_REAL, comm));
    PetscCall(PetscFree2(cnt, dsp));
  }
  PetscCall(PetscMalloc3(2 * PetscMax(nl, 1), &net->lenloc, 2 * PetscMax(nl, 1), &net->cenloc,
                         2 * PetscMax(nl, 1), &net->turnloc));
  for (PetscInt k = 0; k < nl; k++) {
    net->cenloc[2 * k]     = centre[2 * k];
    net->cenloc[2 * k + 1] = centre[2 * k + 1];
    for (PetscInt f = 0; f < nf; f++) {
      const TCRollCurve *c = &curves[2 * k + f];
      PetscReal          L = 0, *psi, *rho, *th;
      for (PetscInt i = 1; i < c->n; i++) L += hypot(c->x[i] - c->x[i - 1], c->y[i] - c->y[i - 1]);
      net->lenloc[2 * k + f] = L;
      Lmax[f]                = PetscMax(Lmax[f], L);
      net->turnloc[2 * k + f] = 0;
      if (c->n >= 2) {
        PetscCall(TCCurvePolar(c, centre + 2 * k, &psi, &rho, &th));
        net->turnloc[2 * k + f] = psi[c->n - 1] / (2 * PETSC_PI);
        PetscCall(PetscFree3(psi, rho, th));
      }
    }
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, Lmax, 2, MPIU_REAL, MPI_MAX, comm));
  net->NS = 0;
  for (PetscInt f = 0; f < 2; f++) {
    net->ns[f] = f < nf ? PetscMax(2, (PetscInt)round(Lmax[f] / p->ds_m) + 1) : 0;
    net->NS += net->ns[f];
    /* two nodes (the ends) make a straight foil, not a winding: a 10 m spacing wrote
       networks of 2 + 2 nodes */
    PetscCheck(f >= nf || net->ns[f] >= 4, comm, PETSC_ERR_USER_INPUT,
               "node spacing %g m gives the %s foil (%g m long) only %" PetscInt_FMT
               " nodes; a wound foil needs at least 4: choose a spacing of at most %g m "
               "(network_ds_m, trace_ds_m)",
               (double)p->ds_m, f ? "Al" : "Cu", (double)Lmax[f], net->ns[f],
               (double)(Lmax[f] / 3));
  }
  PetscCheck(net->NS <= 100000000, comm, PETSC_ERR_USER_INPUT,
             "node spacing %g m gives %" PetscInt_FMT " nodes per layer for foils of %g m; "
             "choose a larger spacing (or check the pixel size)",
             (double)p->ds_m, net->NS, (double)PetscMax(Lmax[0], Lmax[1]));
  net->nterm = (p->terminals && rank == size - 1) ? 2 : 0;
  PetscCheck(!p->terminals || p->tab_ohm_m > 0, comm, PETSC_ERR_USER_INPUT,
             "the tab contact resistance must be positive (got %g ohm m)", (double)p->tab_ohm_m);
  nlocal = nl * net->NS + net->nterm;
  PetscCall(TCGraphCreate(comm, &net->g));
  PetscCall(TCGraphSetRequireGrounded(net->g, PETSC_FALSE));
  PetscCall(TCGraphSetLocalSizes(net->g, nlocal));
  PetscCall(PetscMalloc4(PetscMax(nlocal, 1), &net->node_s, PetscMax(nlocal, 1), &net->node_foil,
                         PetscMax(nlocal, 1), &net->node_tab, PetscMax(nlocal, 1),
                         &net->node_layer));

  for (PetscInt t = 0; t < net->nterm; t++) {
    TCNode   nd;
    PetscInt id = net->NL * net->NS + t, loc = nl * net->NS + t;
    PetscCall(PetscMemzero(&nd, sizeof(nd)));
    nd.x[0]              = nl > 0 ? centre[0] : 0; /* on the axis, below and above the roll */
    nd.x[1]              = nl > 0 ? centre[1] : 0;
    nd.x[2]              = t == 0 ? net->zall[0] - p->ds_m : net->zall[net->NL - 1] + p->ds_m;
    nd.fixed             = t == 0 ? 0 : NAN;
    nd.weight            = 1;
    nd.tag               = t == 0 ? TC_ROLL_TAG_NEG_TERMINAL : TC_ROLL_TAG_POS_TERMINAL;
    net->node_s[loc]     = 0;
    net->node_foil[loc]  = (int)nd.tag;
    net->node_tab[loc]   = 0;
    net->node_layer[loc] = t == 0 ? -1 : (int)net->NL;
    PetscCall(TCGraphSetNode(net->g, id, &nd));
  }
  for (PetscInt k = 0; k < nl; k++) {
    PetscInt    K = net->K0 + k, NL = net->NL;
    PetscReal   w;          /* strip height of this layer */
    PetscReal **sc = h->sc; /* freed at the end of the layer */
    if (NL == 1)
      w = p->height_m;
    else {
      PetscReal zlo, zhi;
      TCRollNetStrip(net, K, &zlo, &zhi);
      w = zhi - zlo;
    }
    for (PetscInt f = 0; f < nf; f++) {
      const TCRollCurve *c = &curves[2 * k + f];
      PetscReal          L = net->lenloc[2 * k + f], ds = L / (net->ns[f] - 1);
      PetscReal          st  = p->sigma_S_m[f] * p->thickness_m[f];
      PetscInt           off = f == 0 ? 0 : net->ns[0];
      PetscCheck(c->n >= 2 && L > 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                 "layer %" PetscInt_FMT ": foil %" PetscInt_FMT " has no curve", K, f);
      PetscCall(TCArc(c, &sc[f]));
      for (PetscInt i = 0; i < net->ns[f]; i++) {
        TCNode    nd;
        PetscReal P[2], T[2], s = i * ds;
        PetscInt  id = K * net->NS + off + i, loc = k * net->NS + off + i;
        TCAt(c, sc[f], s, P, T);
        nd.x[0]     = P[0];
        nd.x[1]     = P[1];
        nd.x[2]     = net->zall[K];
        nd.fixed    = NAN;
        nd.inject   = 0;
        nd.weight   = 1;
        nd.tag      = f;
        nd.length_m = (i == 0 || i == net->ns[f] - 1) ? 0.5 * ds : ds;
        nd.area_m2  = nd.length_m * w;
        if (f == 1 && nf == 2 && !TCMissing(p, 1, s)) nd.weight = 1 + 2 * p->element_weight;
        PetscCall(TCGraphSetNode(net->g, id, &nd));
        net->node_s[loc]     = s;
        net->node_foil[loc]  = (int)f;
        net->node_layer[loc] = (int)K;
        net->node_tab[loc] =
            (int)(((f == 0 && K == 0) || (f == 1 && K == NL - 1)) && TCIsTab(&p->tabs[f], s, L, ds));
        ntab[f] += net->node_tab[loc];
        if (net->node_tab[loc] && p->terminals)
          PetscCall(TCRollNetAddEdge(net, id, NL * net->NS + f, nd.length_m / p->tab_ohm_m,
                                     TC_EDGE_TAB, 0));
        /* foil edges: along s (strip height w), along z to the next layer (width ds) */
        if (i + 1 < net->ns[f])
          PetscCall(TCRollNetAddEdge(net, id, id + 1, st * w / ds, TC_EDGE_FOIL_S, 0));
        if (K + 1 < NL) {
          PetscReal dz = net->zall[K + 1] - net->zall[K],
                    ws = (i == 0 || i == net->ns[f] - 1) ? 0.5 * ds : ds;
          PetscCheck(dz > 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "layers not increasing in z");
          PetscCall(TCRollNetAddEdge(net, id, id + net->NS, st * ws / dz, TC_EDGE_FOIL_Z, 0));
        }
      }
    }
    /* electrochemical elements: Al node -> facing Cu on each side */
    if (nf == 2) {
      TCSegGrid         *G  = &h->G;
      const TCRollCurve *cu = &curves[2 * k], *al = &curves[2 * k + 1];
      PetscReal          Lcu = net->lenloc[2 * k], Lal = net->lenloc[2 * k + 1];
      PetscReal          dscu = Lcu / (net->ns[0] - 1), dsal = Lal / (net->ns[1] - 1);
      PetscCall(TCSegGridBuild(cu, 0.5 * p->search_m, G));
      for (PetscInt i = 0; i < net->ns[1]; i++) {
        PetscReal P[2], n[2], s = i * dsal, area;
        TCAtOutward(al, sc[1], s, centre + 2 * k, P, n);
        area = w * ((i == 0 || i == net->ns[1] - 1) ? 0.5 * dsal : dsal);
        if (TCMissing(p, 1, s)) continue;
        for (int face = 0; face < 2; face++) {
          PetscReal dir[2] = {face ? n[0] : -n[0], face ? n[1] : -n[1]};
          PetscReal scu    = TCSegGridCast(G, cu, sc[0], P, dir, p->search_m);
          PetscInt  icu;
          if (scu < 0 || TCMissing(p, 0, scu)) continue;
          icu = (PetscInt)round(scu / dscu);
          icu = PetscMin(PetscMax(icu, 0), net->ns[0] - 1);
          PetscCall(TCRollNetAddEdge(net, K * net->NS + net->ns[0] + i, K * net->NS + icu,
                                     area / p->asr_ohm_m2,
                                     face ? TC_EDGE_ELEMENT_OUTER : TC_EDGE_ELEMENT_INNER, area));
          net->nelem_global++;
        }
      }
      if (p->terminals) {
        /* thermal links: every node of either foil casts a ray inward and outward to the
           other foil's centre line and joins the two nodes bracketing the hit, with linear
           weights; each ray carries half the node's strip, the opposite rays the other half */
        TCSegGrid *Ga = &h->Ga;
        PetscCall(TCSegGridBuild(al, 0.5 * p->search_m, Ga));
        for (PetscInt f = 0; f < 2; f++) {
          const TCRollCurve *me = f ? al : cu, *ot = f ? cu : al;
          const TCSegGrid   *Go = f ? G : Ga;
          PetscReal         *so = f ? sc[0] : sc[1], dsme = f ? dsal : dscu, dsot = f ? dscu : dsal;
          PetscInt           nme = net->ns[f], nother = net->ns[1 - f];
          PetscInt           offme = f ? net->ns[0] : 0, offot = f ? 0 : net->ns[0];
          for (PetscInt i = 0; i < nme; i++) {
            PetscReal P[2], n[2], s = i * dsme, half;
            TCAtOutward(me, f ? sc[1] : sc[0], s, centre + 2 * k, P, n);
            half = 0.5 * w * ((i == 0 || i == nme - 1) ? 0.5 * dsme : dsme);
            for (int face = 0; face < 2; face++) {
              PetscReal dir[2] = {face ? n[0] : -n[0], face ? n[1] : -n[1]};
              PetscReal sh = TCSegGridCast(Go, ot, so, P, dir, p->search_m), Q[2], Tq[2], x, lam;
              PetscInt  j0;
              if (sh < 0) continue;
              TCAt(ot, so, sh, Q, Tq);
              x   = sh / dsot;
              j0  = PetscMin((PetscInt)floor(x), nother - 2);
              lam = PetscMin(PetscMax(x - j0, 0), 1);
              PetscCall(TCRollNetAddLink(net, K * net->NS + offme + i, K * net->NS + offot + j0,
                                         (1 - lam) * half, hypot(Q[0] - P[0], Q[1] - P[1])));
              PetscCall(TCRollNetAddLink(net, K * net->NS + offme + i, K * net->NS + offot + j0 + 1,
                                         lam * half, hypot(Q[0] - P[0], Q[1] - P[1])));
            }
          }
        }
        PetscCall(PetscFree(Ga->ptr));
        PetscCall(PetscFree(Ga->seg));
      }
      PetscCall(PetscFree(G->ptr));
      PetscCall(PetscFree(G->seg));
    }
    PetscCall(PetscFree(sc[0]));
    PetscCall(PetscFree(sc[1]));
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &net->nelem_global, 1, MPIU_INT, MPI_SUM, comm));
  PetscCheck(nf < 2 || net->nelem_global > 0, comm, PETSC_ERR_USER_INPUT,
             "no electrochemical element joins the two foils (%" PetscInt_FMT " + %" PetscInt_FMT
             " nodes per layer at a spacing of %g m, search distance %g m): choose a smaller node "
             "spacing, or check that the foils face each other",
             net->ns[0], net->ns[1], (double)p->ds_m, (double)p->search_m);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, ntab, 2, MPIU_INT, MPI_SUM, comm));
  for (int f = 0; f < 2; f++) {
    char      buf[256];
    PetscReal L = 0;
    for (PetscInt k = 0; k < nl; k++) L = PetscMax(L, net->lenloc[2 * k + f]);
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &L, 1, MPIU_REAL, MPI_MAX, comm));
    PetscCheck(ntab[f] > 0, comm, PETSC_ERR_USER_INPUT,
               "the %s foil has no tab: tab_%s (%s) misses every node of the %s foil (%s m long, "
               "%s layer); place the tabs within [0, %s] m along the foil (tab_%s_positions_m), "
               "or use start, end or tabless",
               f ? "Al (positive)" : "Cu (negative)", TCFoilNames[f],
               TCTabsDescribe(&p->tabs[f], buf, sizeof(buf)), f ? "Al" : "Cu", TCG(L).s,
               f ? "top" : "bottom", TCG(L).s, TCFoilNames[f]);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetCreate(MPI_Comm comm, const TCRollNetParams *p, PetscInt nl,
                               const PetscReal z[], const PetscReal centre[],
                               const TCRollCurve given[], TCRollNet *out)
{
  RollNetHeld    h;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&h, sizeof(h)));
  PetscCall(PetscLogEventBegin(TC_EVENT_Build, 0, 0, 0, 0));
  ierr = RollNetCreate(comm, p, nl, z, centre, given, &h);
  PetscCall(PetscLogEventEnd(TC_EVENT_Build, 0, 0, 0, 0));
  for (PetscInt k = 0; h.bxy && k < nl; k++)
    if (h.bxy[2 * k]) PetscCall(PetscFree2(h.bxy[2 * k], h.bxy[2 * k + 1]));
  PetscCall(PetscFree2(h.curves, h.bxy));
  PetscCall(PetscFree(h.sc[0]));
  PetscCall(PetscFree(h.sc[1]));
  PetscCall(PetscFree(h.G.ptr));
  PetscCall(PetscFree(h.G.seg));
  PetscCall(PetscFree(h.Ga.ptr));
  PetscCall(PetscFree(h.Ga.seg));
  if (!ierr) ierr = TCGraphSetFromOptions(h.net->g);
  if (!ierr) ierr = TCGraphSetUp(h.net->g);
  if (ierr) PetscCall(TCRollNetDestroy(&h.net)); /* the half-built network */
  PetscCall(ierr);
  *out = h.net;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetGetThermalLinks(TCRollNet net, PetscInt *n, const PetscInt **ij,
                                        const PetscReal **area, const PetscReal **d)
{
  PetscFunctionBeginUser;
  *n    = net->nlink;
  *ij   = net->link_ij;
  *area = net->link_area;
  *d    = net->link_d;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetGetGraph(TCRollNet net, TCGraph *g)
{
  PetscFunctionBeginUser;
  *g = net->g;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetSetDefects(TCRollNet net, PetscInt n, const TCRollDefect d[])
{
  PetscFunctionBeginUser;
  PetscCheck(n >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "negative defect count");
  PetscCall(PetscFree(net->defect));
  net->ndefect = n;
  PetscCall(PetscMalloc1(PetscMax(n, 1), &net->defect));
  if (n) PetscCall(PetscArraycpy(net->defect, d, n));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetGetDefects(TCRollNet net, PetscInt *n, const TCRollDefect **d)
{
  PetscFunctionBeginUser;
  *n = net->ndefect;
  *d = net->defect;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetGetFoilStats(TCRollNet net, PetscReal length_m[2], PetscReal turns[2],
                                     PetscReal centre_m[2])
{
  PetscReal s[6] = {0, 0, 0, 0, 0, 0};

  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < net->nl; k++)
    for (int f = 0; f < 2; f++) {
      s[f] += net->lenloc[2 * k + f];
      s[2 + f] += net->turnloc[2 * k + f];
      s[4 + f] += net->cenloc[2 * k + f];
    }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, s, 6, MPIU_REAL, MPI_SUM, net->comm));
  for (int f = 0; f < 2; f++) {
    if (length_m) length_m[f] = s[f] / net->NL;
    if (turns) turns[f] = s[2 + f] / net->NL;
    if (centre_m) centre_m[f] = s[4 + f] / net->NL;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetGetHeightRange(TCRollNet net, PetscReal z[2])
{
  PetscReal tmp;

  PetscFunctionBeginUser;
  if (net->NL == 1) {
    z[0] = net->zall[0] - 0.5 * net->p.height_m;
    z[1] = net->zall[0] + 0.5 * net->p.height_m;
  } else {
    TCRollNetStrip(net, 0, &z[0], &tmp);
    TCRollNetStrip(net, net->NL - 1, &tmp, &z[1]);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetGetBuiltFoil(TCRollNet net, PetscInt *foil)
{
  PetscFunctionBeginUser;
  *foil = net->built_foil;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetGetParams(TCRollNet net, const TCRollNetParams **p)
{
  PetscFunctionBeginUser;
  *p = &net->p;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetGetSizes(TCRollNet net, PetscInt ns[2], PetscInt *nlayers,
                                 PetscInt *nelements)
{
  PetscFunctionBeginUser;
  if (ns) {
    ns[0] = net->ns[0];
    ns[1] = net->ns[1];
  }
  if (nlayers) *nlayers = net->NL;
  if (nelements) *nelements = net->nelem_global;
  PetscFunctionReturn(0);
}

/* net.h5 format: 2 adds the source curves and the build parameters, so
   that a file can be read back (TCRollNetFile*). */
#define TC_NETFILE_FORMAT 2

/* The source curves (this rank's, global indices by Exscan), the layer table
   and the build parameters as attributes of /network. */
static PetscErrorCode TCRollNetWriteSource(TCH5 *h5, TCRollNet net)
{
  PetscInt    c0 = 0, C = 0, P0 = 0, P = 0, nc = net->ncurve, np = net->curve_off[nc];
  PetscInt   *lc;
  long long  *start, *count;
  hsize_t     dc[1], dp[1], dl[2] = {(hsize_t)net->NL, 2};
  PetscMPIInt rank;
  char        buf[512];

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(net->comm, &rank));
  PetscCallMPI(MPI_Exscan(&nc, &c0, 1, MPIU_INT, MPI_SUM, net->comm));
  PetscCallMPI(MPI_Exscan(&np, &P0, 1, MPIU_INT, MPI_SUM, net->comm));
  if (rank == 0) c0 = P0 = 0;
  PetscCallMPI(MPI_Allreduce(&nc, &C, 1, MPIU_INT, MPI_SUM, net->comm));
  PetscCallMPI(MPI_Allreduce(&np, &P, 1, MPIU_INT, MPI_SUM, net->comm));
  dc[0] = (hsize_t)C;
  dp[0] = (hsize_t)P;
  PetscCall(PetscMalloc3(PetscMax(nc, 1), &start, PetscMax(nc, 1), &count, 2 * PetscMax(net->nl, 1),
                         &lc));
  for (PetscInt u = 0; u < nc; u++) {
    start[u] = P0 + net->curve_off[u];
    count[u] = net->curve_off[u + 1] - net->curve_off[u];
  }
  for (PetscInt q = 0; q < 2 * net->nl; q++)
    lc[q] = net->layer_curve[q] < 0 ? -1 : c0 + net->layer_curve[q];
  {
    int *lci;
    PetscCall(PetscMalloc1(2 * PetscMax(net->nl, 1), &lci));
    for (PetscInt q = 0; q < 2 * net->nl; q++) lci[q] = (int)lc[q];
    PetscCall(TCH5WriteRows(h5, "/layers/curve", H5T_NATIVE_INT, 2, dl, (hsize_t)net->K0,
                            (hsize_t)net->nl, lci));
    PetscCall(PetscFree(lci));
  }
  PetscCall(TCH5WriteRows(h5, "/curves/start", H5T_NATIVE_LLONG, 1, dc, (hsize_t)c0, (hsize_t)nc,
                          start));
  PetscCall(TCH5WriteRows(h5, "/curves/count", H5T_NATIVE_LLONG, 1, dc, (hsize_t)c0, (hsize_t)nc,
                          count));
  PetscCall(TCH5WriteRows(h5, "/curves/x_m", H5T_NATIVE_DOUBLE, 1, dp, (hsize_t)P0, (hsize_t)np,
                          net->curve_x));
  PetscCall(TCH5WriteRows(h5, "/curves/y_m", H5T_NATIVE_DOUBLE, 1, dp, (hsize_t)P0, (hsize_t)np,
                          net->curve_y));
  PetscCall(PetscFree3(start, count, lc));
  PetscCall(TCH5EnsureGroup(h5, "/network"));
  PetscCall(TCH5WriteAttrInt(h5, "/network", "format_version", TC_NETFILE_FORMAT));
  PetscCall(TCH5WriteAttrString(h5, "/network", "source", net->p.source[0] ? net->p.source : "unknown"));
  PetscCall(TCH5WriteAttrInt(h5, "/network", "foils_given", net->p.nfoils));
  PetscCall(TCH5WriteAttrInt(h5, "/network", "built_foil", net->built_foil));
  PetscCall(TCH5WriteAttrReals(h5, "/network", "labels", 2,
                               (double[]){(double)net->p.label[0], (double)net->p.label[1]}));
  PetscCall(TCH5WriteAttrReals(h5, "/network", "thickness_m", 2, net->p.thickness_m));
  PetscCall(TCH5WriteAttrReals(h5, "/network", "sigma_S_m", 2, net->p.sigma_S_m));
  PetscCall(TCH5WriteAttrReals(h5, "/network", "stack_m", 3, net->p.stack_m));
  PetscCall(TCH5WriteAttrReal(h5, "/network", "ds_m", net->p.ds_m));
  PetscCall(TCH5WriteAttrReal(h5, "/network", "height_m", net->p.height_m));
  PetscCall(TCH5WriteAttrReal(h5, "/network", "search_m", net->p.search_m));
  PetscCall(TCH5WriteAttrReal(h5, "/network", "pitch_m", net->p.pitch_m));
  PetscCall(TCH5WriteAttrInt(h5, "/network", "slices", net->p.slices));
  PetscCall(TCH5WriteAttrReal(h5, "/network", "element_asr_ohm_m2", net->p.asr_ohm_m2));
  PetscCall(TCH5WriteAttrInt(h5, "/network", "missing_foil", net->p.missing_foil));
  PetscCall(TCH5WriteAttrReals(h5, "/network", "missing_m", 2,
                               (double[]){net->p.missing_from_m, net->p.missing_to_m}));
  for (int f = 0; f < 2; f++) {
    const TCTabs *t = &net->p.tabs[f];
    char          name[32];
    size_t        o = 0;
    snprintf(name, sizeof(name), "tab_%s", TCFoilNames[f]);
    PetscCall(TCH5WriteAttrString(h5, "/network", name, TCTabLayouts[t->layout]));
    buf[0] = 0;
    for (PetscInt k = 0; k < t->n && o < sizeof(buf); k++)
      o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%.17g", k ? "," : "", (double)t->s_m[k]);
    snprintf(name, sizeof(name), "tab_%s_positions_m", TCFoilNames[f]);
    PetscCall(TCH5WriteAttrString(h5, "/network", name, buf));
    snprintf(name, sizeof(name), "tab_%s_width_m", TCFoilNames[f]);
    PetscCall(TCH5WriteAttrReal(h5, "/network", name, t->width_m));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetWriteExtra(TCH5 *h5, void *ctx)
{
  TCRollNet   net  = (TCRollNet)ctx;
  PetscInt    nloc = net->nl * net->NS + net->nterm, E, e0 = 0, ne = net->ne, nt = net->nterm;
  hsize_t     dn[2], de[1], dl[2] = {(hsize_t)net->NL, 2};
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(net->comm, &rank));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &nt, 1, MPIU_INT, MPI_SUM, net->comm));
  dn[0] = (hsize_t)(net->NL * net->NS + nt);
  dn[1] = 2;
  PetscCallMPI(MPI_Allreduce(&ne, &E, 1, MPIU_INT, MPI_SUM, net->comm));
  PetscCallMPI(MPI_Exscan(&ne, &e0, 1, MPIU_INT, MPI_SUM, net->comm));
  if (rank == 0) e0 = 0;
  de[0] = (hsize_t)E;
  PetscCall(TCH5WriteRows(h5, "/nodes/s_m", H5T_NATIVE_DOUBLE, 1, dn, (hsize_t)(net->K0 * net->NS),
                          (hsize_t)nloc, net->node_s));
  PetscCall(TCH5WriteRows(h5, "/nodes/foil", H5T_NATIVE_INT, 1, dn, (hsize_t)(net->K0 * net->NS),
                          (hsize_t)nloc, net->node_foil));
  PetscCall(TCH5WriteRows(h5, "/nodes/tab", H5T_NATIVE_INT, 1, dn, (hsize_t)(net->K0 * net->NS),
                          (hsize_t)nloc, net->node_tab));
  PetscCall(TCH5WriteRows(h5, "/nodes/layer", H5T_NATIVE_INT, 1, dn, (hsize_t)(net->K0 * net->NS),
                          (hsize_t)nloc, net->node_layer));
  PetscCall(TCH5WriteRows(h5, "/edges/conductance_S", H5T_NATIVE_DOUBLE, 1, de, (hsize_t)e0,
                          (hsize_t)ne, net->edge_G));
  PetscCall(TCH5WriteRows(h5, "/edges/kind", H5T_NATIVE_INT, 1, de, (hsize_t)e0, (hsize_t)ne,
                          net->edge_kind));
  PetscCall(TCH5WriteRows(h5, "/edges/area_m2", H5T_NATIVE_DOUBLE, 1, de, (hsize_t)e0, (hsize_t)ne,
                          net->edge_area));
  PetscCall(TCH5WriteRows(h5, "/layers/z_m", H5T_NATIVE_DOUBLE, 1, dl, (hsize_t)net->K0,
                          (hsize_t)net->nl, net->zall + net->K0));
  PetscCall(TCH5WriteRows(h5, "/layers/length_m", H5T_NATIVE_DOUBLE, 2, dl, (hsize_t)net->K0,
                          (hsize_t)net->nl, net->lenloc));
  PetscCall(TCH5WriteRows(h5, "/layers/centre_m", H5T_NATIVE_DOUBLE, 2, dl, (hsize_t)net->K0,
                          (hsize_t)net->nl, net->cenloc));
  PetscCall(TCH5WriteAttrInt(h5, "/nodes", "ns_cu", net->ns[0]));
  PetscCall(TCH5WriteAttrInt(h5, "/nodes", "ns_al", net->ns[1]));
  PetscCall(TCH5WriteAttrInt(h5, "/nodes", "layers", net->NL));
  PetscCall(TCH5WriteAttrInt(h5, "/nodes", "label_cu", net->p.label[0]));
  PetscCall(TCH5WriteAttrInt(h5, "/nodes", "label_al", net->p.nfoils > 1 ? net->p.label[1] : 0));
  PetscCall(TCH5WriteAttrString(h5, "/edges", "kind_values",
                                "0 foil along s, 1 foil along z, 2 element inner face of the Al "
                                "foil, 3 element outer face, 4 tab to terminal"));
  PetscCall(TCH5WriteAttrReal(h5, "/edges", "element_asr_ohm_m2", net->p.asr_ohm_m2));
  PetscCall(TCRollNetWriteSource(h5, net));
  /* defects: one row each, written by rank 0 */
  {
    PetscInt   nd = net->ndefect;
    hsize_t    dd[1] = {(hsize_t)nd}, cnt = rank == 0 ? (hsize_t)nd : 0;
    int       *kind, *foil;
    PetscReal *v[5];
    const char *names[5] = {"/defects/r_m", "/defects/theta_rad", "/defects/z_m",
                            "/defects/size_m", "/defects/s_m"};
    PetscCall(PetscMalloc2(PetscMax(nd, 1), &kind, PetscMax(nd, 1), &foil));
    for (int q = 0; q < 5; q++) PetscCall(PetscMalloc1(PetscMax(nd, 1), &v[q]));
    for (PetscInt i = 0; i < nd; i++) {
      const TCRollDefect *d = &net->defect[i];
      kind[i]               = (int)d->kind;
      foil[i]               = (int)d->foil;
      v[0][i]               = d->r_m;
      v[1][i]               = d->theta_rad;
      v[2][i]               = d->z_m;
      v[3][i]               = d->size_m;
      v[4][i]               = d->s_m;
    }
    PetscCall(TCH5WriteRows(h5, "/defects/kind", H5T_NATIVE_INT, 1, dd, 0, cnt, kind));
    PetscCall(TCH5WriteRows(h5, "/defects/foil", H5T_NATIVE_INT, 1, dd, 0, cnt, foil));
    for (int q = 0; q < 5; q++)
      PetscCall(TCH5WriteRows(h5, names[q], H5T_NATIVE_DOUBLE, 1, dd, 0, cnt, v[q]));
    PetscCall(TCH5WriteAttrString(h5, "/defects", "kind_values",
                                  "0 fold, 1 gap, 2 missing_coating"));
    PetscCall(TCH5WriteAttrString(h5, "/defects", "foil_values", "0 cu, 1 al, -1 both or unknown"));
    PetscCall(PetscFree2(kind, foil));
    for (int q = 0; q < 5; q++) PetscCall(PetscFree(v[q]));
  }
  PetscFunctionReturn(0);
}

const TCExtraField TCRollNetExtraFields[7] = {{"/nodes/s_m", PETSC_FALSE},
                                              {"/nodes/foil", PETSC_TRUE},
                                              {"/nodes/tab", PETSC_TRUE},
                                              {"/nodes/layer", PETSC_TRUE},
                                              {"/edges/conductance_S", PETSC_FALSE},
                                              {"/edges/kind", PETSC_TRUE},
                                              {"/edges/area_m2", PETSC_FALSE}};

PetscErrorCode TCRollNetWrite(TCRollNet net, const char h5path[], const TCRunMeta *meta)
{
  const TCExtraField *extra = TCRollNetExtraFields;

  PetscFunctionBeginUser;
  PetscCall(TCResultsWriteNetworkFile(net->g, h5path, NULL, 0, NULL, 0, meta, TCRollNetWriteExtra,
                                      net, extra, 7));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetDestroy(TCRollNet *net)
{
  PetscFunctionBeginUser;
  if (!*net) PetscFunctionReturn(0);
  PetscCall(TCGraphDestroy(&(*net)->g));
  PetscCall(PetscFree((*net)->zall));
  PetscCall(PetscFree3((*net)->lenloc, (*net)->cenloc, (*net)->turnloc));
  PetscCall(PetscFree4((*net)->node_s, (*net)->node_foil, (*net)->node_tab, (*net)->node_layer));
  PetscCall(PetscFree3((*net)->edge_G, (*net)->edge_area, (*net)->edge_kind));
  PetscCall(PetscFree((*net)->link_ij));
  PetscCall(PetscFree((*net)->link_area));
  PetscCall(PetscFree((*net)->link_d));
  PetscCall(PetscFree((*net)->defect));
  PetscCall(PetscFree((*net)->layer_curve));
  PetscCall(PetscFree((*net)->curve_off));
  PetscCall(PetscFree2((*net)->curve_x, (*net)->curve_y));
  PetscCall(PetscFree(*net));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetFromSpiral(MPI_Comm comm, TCSpiral spiral, PetscInt nz, TCRollNetParams *np,
                                   TCRollNet *net)
{
  const TCSpiralParams *sp;
  TCRollCurve          *curves;
  PetscReal            *z, *cen, *xs[2] = {NULL, NULL}, *ys[2] = {NULL, NULL}, ds = np->ds_m;
  PetscMPIInt           rank, size;
  PetscInt              k0, k1, nl, npt[2];
  PetscErrorCode        ierr;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCheck(nz >= 1, comm, PETSC_ERR_USER_INPUT, "a roll network needs at least one node layer");
  PetscCheck(ds > 0, comm, PETSC_ERR_USER_INPUT, "node spacing ds must be positive");
  PetscCall(TCSpiralGetParams(spiral, &sp));
  k0                 = nz * rank / size;
  k1                 = nz * (rank + 1) / size;
  nl                 = k1 - k0;
  np->nfoils         = 2;
  np->label[0]       = 1;
  np->label[1]       = 2;
  np->thickness_m[0] = sp->t_cu_m;
  np->thickness_m[1] = sp->t_al_m;
  np->sigma_S_m[0]   = sp->sigma_cu_S_m;
  np->sigma_S_m[1]   = sp->sigma_al_S_m;
  np->tabs[0]        = sp->tabs[0];
  np->tabs[1]        = sp->tabs[1];
  np->height_m       = sp->height_m;
  np->search_m       = 1.5 * TCSpiralPitch(spiral) + 2 * PetscAbsReal(sp->gap_m);
  np->pitch_m        = TCSpiralPitch(spiral);
  np->stack_m[0]     = sp->t_neg_m;
  np->stack_m[1]     = sp->t_sep_m;
  np->stack_m[2]     = sp->t_pos_m;
  PetscCall(PetscStrncpy(np->source, "geometry", sizeof(np->source)));
  np->missing_foil   = sp->missing_foil;
  np->missing_from_m = sp->missing_from_m;
  np->missing_to_m   = sp->missing_to_m;
  /* centre lines sampled at ds/20 so that the polyline is exact to ~1e-7 relative */
  for (int f = 0; f < 2; f++)
    PetscCall(TCSpiralSample(spiral, (TCFoil)f, ds / 20, &npt[f], &xs[f], &ys[f]));
  PetscCall(
      PetscMalloc3(PetscMax(nl, 1), &z, 2 * PetscMax(nl, 1), &cen, 2 * PetscMax(nl, 1), &curves));
  for (PetscInt k = 0; k < nl; k++) {
    z[k]           = nz > 1 ? sp->height_m * (k0 + k) / (nz - 1) : 0.5 * sp->height_m;
    cen[2 * k]     = sp->centre_m[0];
    cen[2 * k + 1] = sp->centre_m[1];
    for (int f = 0; f < 2; f++) {
      curves[2 * k + f].n = npt[f];
      curves[2 * k + f].x = xs[f];
      curves[2 * k + f].y = ys[f];
    }
  }
  ierr = TCRollNetCreate(comm, np, nl, z, cen, curves, net);
  PetscCall(PetscFree3(z, cen, curves));
  for (int f = 0; ierr && f < 2; f++) { /* refused (too few nodes, say): free the samples */
    PetscCall(PetscFree(xs[f]));
    PetscCall(PetscFree(ys[f]));
  }
  PetscCall(ierr);
  {
    /* the spiral's own defects, as a tracer would report them: the gap (between the
       unpushed Al of the turn before and the first pushed Cu, at the gap's angle) and
       the stretch of missing coating; both over the whole height (listed at mid-height) */
    TCRollDefect d[2];
    PetscInt     n = 0;
    if (sp->gap_m > 0) {
      PetscReal phi = 2 * PETSC_PI * sp->gap_turn + sp->gap_angle_rad;
      PetscReal r   = 0.5 * (TCSpiralRadius(spiral, TC_FOIL_AL, phi - 2 * PETSC_PI) +
                           TCSpiralRadius(spiral, TC_FOIL_CU, phi));
      d[n].kind      = TC_DEFECT_GAP;
      d[n].foil      = -1;
      d[n].r_m       = r;
      d[n].theta_rad = atan2(sin(phi), cos(phi));
      d[n].z_m       = 0.5 * sp->height_m;
      d[n].size_m    = sp->gap_m;
      d[n].s_m       = NAN;
      n++;
    }
    if (sp->missing_foil >= 0 && sp->missing_to_m > sp->missing_from_m) {
      PetscReal xy[2], sm = 0.5 * (sp->missing_from_m + sp->missing_to_m);
      TCSpiralPointAt(spiral, (TCFoil)sp->missing_foil, sm, xy, NULL);
      d[n].kind      = TC_DEFECT_MISSING_COATING;
      d[n].foil      = sp->missing_foil;
      d[n].r_m       = hypot(xy[0] - sp->centre_m[0], xy[1] - sp->centre_m[1]);
      d[n].theta_rad = atan2(xy[1] - sp->centre_m[1], xy[0] - sp->centre_m[0]);
      d[n].z_m       = 0.5 * sp->height_m;
      d[n].size_m    = sp->missing_to_m - sp->missing_from_m;
      d[n].s_m       = sm;
      n++;
    }
    PetscCall(TCRollNetSetDefects(*net, n, d));
  }
  for (int f = 0; f < 2; f++) {
    PetscCall(PetscFree(xs[f]));
    PetscCall(PetscFree(ys[f]));
  }
  PetscFunctionReturn(0);
}

/* ---- reading net.h5 back ------------------------------------------------------------------ */

struct _p_TCRollNetFile {
  MPI_Comm        comm;
  TCH5            h5;
  char            path[PETSC_MAX_PATH_LEN];
  TCRollNetParams p;
  PetscInt        NL, C, nd;
  PetscReal      *z, *cen; /* NL, 2 NL */
  int            *lc;      /* 2 NL: curve of each layer's Cu and Al, -1 none */
  long long      *start, *count;
  PetscBool       extruded;
  TCRollDefect   *defect;
};

static PetscErrorCode TCNetFileTabs(TCRollNetFile nf, int f, TCTabs *t)
{
  char      name[32], layout[32], pos[512], key[PETSC_MAX_PATH_LEN + 64];
  PetscBool found;
  PetscInt  e = -1;
  double    w = 0;

  PetscFunctionBeginUser;
  snprintf(name, sizeof(name), "tab_%s", TCFoilNames[f]);
  PetscCall(TCH5ReadAttrString(&nf->h5, "/network", name, layout, sizeof(layout), &found));
  PetscCheck(found, nf->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: /network has no attribute %s",
             nf->path, name);
  for (PetscInt q = 0; q < TC_TAB_NLAYOUTS; q++)
    if (!strcmp(layout, TCTabLayouts[q])) e = q;
  PetscCheck(e >= 0, nf->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: unknown tab layout '%s' in /network",
             nf->path, layout);
  snprintf(name, sizeof(name), "tab_%s_positions_m", TCFoilNames[f]);
  PetscCall(TCH5ReadAttrString(&nf->h5, "/network", name, pos, sizeof(pos), &found));
  snprintf(name, sizeof(name), "tab_%s_width_m", TCFoilNames[f]);
  PetscCall(TCH5ReadAttrReal(&nf->h5, "/network", name, &w, &found));
  snprintf(key, sizeof(key), "%s:/network tab_%s", nf->path, TCFoilNames[f]);
  PetscCall(TCTabsSet(t, (TCTabLayout)e, pos, w, key));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetFileOpen(MPI_Comm comm, const char path[], TCRollNetFile *out)
{
  TCRollNetFile nf;
  PetscBool     found;
  long long     v;
  hsize_t       dims[4];
  int           ndim;
  double        a2[2], a3[3];

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&nf));
  nf->comm = comm;
  PetscCall(PetscStrncpy(nf->path, path, sizeof(nf->path)));
  PetscCall(TCH5Open(comm, path, &nf->h5));
  PetscCall(TCH5ReadAttrInt(&nf->h5, "/network", "format_version", &v, &found));
  if (!found) {
    PetscBool old;
    PetscCall(TCH5ReadAttrInt(&nf->h5, "/nodes", "ns_cu", &v, &old));
    PetscCall(TCH5Close(&nf->h5));
    PetscCheck(!old, comm, PETSC_ERR_USER_INPUT,
               "%s is a net.h5 of an older tomocell (format 1, without the source curves) that "
               "cannot be read back: write it again with this version (tomocell geometry or "
               "tomocell trace)",
               path);
    SETERRQ(comm, PETSC_ERR_USER_INPUT,
            "%s is not a roll network (net.h5 of tomocell geometry or trace): no /network group",
            path);
  }
  if (v != TC_NETFILE_FORMAT) PetscCall(TCH5Close(&nf->h5));
  PetscCheck(v == TC_NETFILE_FORMAT, comm, PETSC_ERR_USER_INPUT,
             "%s is a net.h5 of format %lld; this tomocell reads format %d: write it again with "
             "this version (tomocell geometry or tomocell trace)",
             path, v, TC_NETFILE_FORMAT);
  {
    TCRollNetParams *p = &nf->p;
    char             src[32];
    PetscCall(PetscMemzero(p, sizeof(*p)));
    PetscCall(TCH5ReadAttrString(&nf->h5, "/network", "source", src, sizeof(src), &found));
    PetscCall(PetscStrncpy(p->source, found ? src : "unknown", sizeof(p->source)));
    PetscCall(TCH5ReadAttrInt(&nf->h5, "/network", "foils_given", &v, &found));
    p->nfoils = (PetscInt)v;
    PetscCall(TCH5ReadAttrReals(&nf->h5, "/network", "labels", 2, a2, &found));
    p->label[0] = (PetscInt)a2[0];
    p->label[1] = (PetscInt)a2[1];
    PetscCall(TCH5ReadAttrReals(&nf->h5, "/network", "thickness_m", 2, p->thickness_m, &found));
    PetscCall(TCH5ReadAttrReals(&nf->h5, "/network", "sigma_S_m", 2, p->sigma_S_m, &found));
    PetscCall(TCH5ReadAttrReals(&nf->h5, "/network", "stack_m", 3, a3, &found));
    for (int q = 0; q < 3; q++) p->stack_m[q] = a3[q];
    PetscCall(TCH5ReadAttrReal(&nf->h5, "/network", "ds_m", &p->ds_m, &found));
    PetscCall(TCH5ReadAttrReal(&nf->h5, "/network", "height_m", &p->height_m, &found));
    PetscCall(TCH5ReadAttrReal(&nf->h5, "/network", "search_m", &p->search_m, &found));
    PetscCall(TCH5ReadAttrReal(&nf->h5, "/network", "pitch_m", &p->pitch_m, &found));
    PetscCall(TCH5ReadAttrInt(&nf->h5, "/network", "slices", &v, &found));
    p->slices = (PetscBool)(found && v);
    PetscCall(TCH5ReadAttrReal(&nf->h5, "/network", "element_asr_ohm_m2", &p->asr_ohm_m2, &found));
    PetscCall(TCH5ReadAttrInt(&nf->h5, "/network", "missing_foil", &v, &found));
    p->missing_foil = (PetscInt)v;
    PetscCall(TCH5ReadAttrReals(&nf->h5, "/network", "missing_m", 2, a2, &found));
    p->missing_from_m = a2[0];
    p->missing_to_m   = a2[1];
    for (int f = 0; f < 2; f++) PetscCall(TCNetFileTabs(nf, f, &p->tabs[f]));
    if (!(p->pitch_m > 0)) p->pitch_m = p->search_m / 1.5; /* the search is 1.5 pitches */
    PetscCheck(p->nfoils >= 1 && p->nfoils <= 2 && p->ds_m > 0 && p->search_m > 0, comm,
               PETSC_ERR_USER_INPUT,
               "%s: /network attributes are inconsistent (foils %" PetscInt_FMT ", ds %s m, "
               "search %s m); write the file again",
               path, p->nfoils, TCG(p->ds_m).s, TCG(p->search_m).s);
  }
  PetscCall(TCH5GetDims(&nf->h5, "/layers/z_m", &ndim, dims));
  nf->NL = (PetscInt)dims[0];
  PetscCall(TCH5GetDims(&nf->h5, "/curves/start", &ndim, dims));
  nf->C = (PetscInt)dims[0];
  PetscCheck(nf->NL > 0 && nf->C > 0, comm, PETSC_ERR_USER_INPUT,
             "%s has no node layers or no curves: there is no roll in it", path);
  PetscCall(PetscMalloc5(nf->NL, &nf->z, 2 * nf->NL, &nf->cen, 2 * nf->NL, &nf->lc, nf->C,
                         &nf->start, nf->C, &nf->count));
  /* small tables: every rank reads all of them (rank 0's read is broadcast) */
  {
    PetscMPIInt rank;
    PetscCallMPI(MPI_Comm_rank(comm, &rank));
    PetscCall(TCH5ReadRows(&nf->h5, "/layers/z_m", H5T_NATIVE_DOUBLE, 0, rank ? 0 : nf->NL, nf->z));
    PetscCall(TCH5ReadRows(&nf->h5, "/layers/centre_m", H5T_NATIVE_DOUBLE, 0, rank ? 0 : nf->NL,
                           nf->cen));
    PetscCall(TCH5ReadRows(&nf->h5, "/layers/curve", H5T_NATIVE_INT, 0, rank ? 0 : nf->NL, nf->lc));
    PetscCall(TCH5ReadRows(&nf->h5, "/curves/start", H5T_NATIVE_LLONG, 0, rank ? 0 : nf->C,
                           nf->start));
    PetscCall(TCH5ReadRows(&nf->h5, "/curves/count", H5T_NATIVE_LLONG, 0, rank ? 0 : nf->C,
                           nf->count));
    PetscCallMPI(MPI_Bcast(nf->z, (PetscMPIInt)nf->NL, MPIU_REAL, 0, comm));
    PetscCallMPI(MPI_Bcast(nf->cen, (PetscMPIInt)(2 * nf->NL), MPIU_REAL, 0, comm));
    PetscCallMPI(MPI_Bcast(nf->lc, (PetscMPIInt)(2 * nf->NL), MPI_INT, 0, comm));
    PetscCallMPI(MPI_Bcast(nf->start, (PetscMPIInt)nf->C, MPI_LONG_LONG, 0, comm));
    PetscCallMPI(MPI_Bcast(nf->count, (PetscMPIInt)nf->C, MPI_LONG_LONG, 0, comm));
  }
  {
    hsize_t  dp[4];
    int      nd;
    PetscInt given = 0;
    PetscCall(TCH5GetDims(&nf->h5, "/curves/x_m", &nd, dp));
    for (PetscInt k = 0; k < nf->NL; k++)
      for (int f = 0; f < 2; f++) {
        int u = nf->lc[2 * k + f];
        PetscCheck(u >= -1 && u < nf->C && (u < 0 || (nf->start[u] >= 0 && nf->count[u] >= 2 &&
                                                      (hsize_t)(nf->start[u] + nf->count[u]) <= dp[0])),
                   comm, PETSC_ERR_USER_INPUT,
                   "%s: layer %" PetscInt_FMT " refers to a missing or broken curve; write the file "
                   "again",
                   path, k);
        given += u >= 0;
      }
    PetscCheck(given > 0, comm, PETSC_ERR_USER_INPUT, "%s has no traced foil in any layer", path);
  }
  /* extruded from one slice: every layer has the same curves */
  nf->extruded = PETSC_TRUE;
  for (PetscInt k = 1; k < nf->NL; k++) {
    PetscBool same = PETSC_TRUE;
    for (int f = 0; f < 2; f++) {
      int a = nf->lc[f], b = nf->lc[2 * k + f];
      if (a < 0 || b < 0) {
        same = (PetscBool)(same && a == b);
        continue;
      }
      if (a == b) continue;
      same = (PetscBool)(same && nf->count[a] == nf->count[b]); /* copies of one curve: the
                                                                   rank blocks write one each */
    }
    if (nf->cen[2 * k] != nf->cen[0] || nf->cen[2 * k + 1] != nf->cen[1]) same = PETSC_FALSE;
    nf->extruded = (PetscBool)(nf->extruded && same);
  }
  /* defects */
  {
    hsize_t dd[4];
    int     n1;
    htri_t  has = H5Lexists(nf->h5.file, "/defects", H5P_DEFAULT);
    nf->nd      = 0;
    if (has > 0) {
      PetscCall(TCH5GetDims(&nf->h5, "/defects/kind", &n1, dd));
      nf->nd = (PetscInt)dd[0];
    }
    PetscCall(PetscMalloc1(PetscMax(nf->nd, 1), &nf->defect));
    if (nf->nd > 0) {
      int       *kind, *foil;
      PetscReal *v[5];
      const char *names[5] = {"/defects/r_m", "/defects/theta_rad", "/defects/z_m",
                              "/defects/size_m", "/defects/s_m"};
      PetscCall(PetscMalloc2(nf->nd, &kind, nf->nd, &foil));
      PetscCall(TCH5ReadRows(&nf->h5, "/defects/kind", H5T_NATIVE_INT, 0, nf->nd, kind));
      PetscCall(TCH5ReadRows(&nf->h5, "/defects/foil", H5T_NATIVE_INT, 0, nf->nd, foil));
      for (int q = 0; q < 5; q++) {
        PetscCall(PetscMalloc1(nf->nd, &v[q]));
        PetscCall(TCH5ReadRows(&nf->h5, names[q], H5T_NATIVE_DOUBLE, 0, nf->nd, v[q]));
      }
      for (PetscInt i = 0; i < nf->nd; i++) {
        PetscCheck(kind[i] >= 0 && kind[i] < TC_DEFECT_NKINDS, comm, PETSC_ERR_USER_INPUT,
                   "%s: defect %" PetscInt_FMT " has an unknown kind %d", path, i, kind[i]);
        nf->defect[i].kind      = (TCRollDefectKind)kind[i];
        nf->defect[i].foil      = foil[i];
        nf->defect[i].r_m       = v[0][i];
        nf->defect[i].theta_rad = v[1][i];
        nf->defect[i].z_m       = v[2][i];
        nf->defect[i].size_m    = v[3][i];
        nf->defect[i].s_m       = v[4][i];
      }
      PetscCall(PetscFree2(kind, foil));
      for (int q = 0; q < 5; q++) PetscCall(PetscFree(v[q]));
    }
  }
  *out = nf;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetFileGetParams(TCRollNetFile nf, TCRollNetParams *np)
{
  PetscFunctionBeginUser;
  *np = nf->p;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetFileGetLayers(TCRollNetFile nf, PetscInt *nlayers, const PetscReal **z_m,
                                      PetscBool *extruded)
{
  PetscFunctionBeginUser;
  if (nlayers) *nlayers = nf->NL;
  if (z_m) *z_m = nf->z;
  if (extruded) *extruded = nf->extruded;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetFileGetDefects(TCRollNetFile nf, PetscInt *n, const TCRollDefect **d)
{
  PetscFunctionBeginUser;
  *n = nf->nd;
  *d = nf->defect;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetFileBuild(TCRollNetFile nf, const TCRollNetParams *np, PetscInt nz,
                                  TCRollNet *net)
{
  MPI_Comm       comm = nf->comm;
  PetscMPIInt    rank, size;
  PetscInt       NL = nz > 0 ? nz : nf->NL, k0, k1, nl, lo = PETSC_MAX_INT, hi = 0;
  PetscReal     *z, *cen, *x = NULL, *y = NULL;
  TCRollCurve   *curves;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCheck(nz <= 0 || nf->extruded, comm, PETSC_ERR_USER_INPUT,
             "%s holds %" PetscInt_FMT " traced slices as its node layers: their number cannot "
             "be changed (do not set network_nz; choose slices when tracing)",
             nf->path, nf->NL);
  k0 = NL * rank / size;
  k1 = NL * (rank + 1) / size;
  nl = k1 - k0;
  /* the stored layer each of this rank's layers takes its curves from */
  for (PetscInt k = k0; k < k1; k++) {
    PetscInt src = nz > 0 ? 0 : k;
    for (int f = 0; f < 2; f++) {
      int u = nf->lc[2 * src + f];
      if (u < 0) continue;
      lo = PetscMin(lo, (PetscInt)nf->start[u]);
      hi = PetscMax(hi, (PetscInt)(nf->start[u] + nf->count[u]));
    }
  }
  if (hi <= lo) lo = hi = 0;
  PetscCall(PetscMalloc2(PetscMax(hi - lo, 1), &x, PetscMax(hi - lo, 1), &y));
  PetscCall(TCH5ReadRows(&nf->h5, "/curves/x_m", H5T_NATIVE_DOUBLE, (hsize_t)lo, (hsize_t)(hi - lo),
                         x));
  PetscCall(TCH5ReadRows(&nf->h5, "/curves/y_m", H5T_NATIVE_DOUBLE, (hsize_t)lo, (hsize_t)(hi - lo),
                         y));
  PetscCall(
      PetscMalloc3(PetscMax(nl, 1), &z, 2 * PetscMax(nl, 1), &cen, 2 * PetscMax(nl, 1), &curves));
  for (PetscInt k = 0; k < nl; k++) {
    PetscInt K = k0 + k, src = nz > 0 ? 0 : K;
    if (nz > 0)
      z[k] = nz > 1 ? np->height_m * K / (nz - 1) : 0.5 * np->height_m;
    else
      z[k] = nf->z[K];
    cen[2 * k]     = nf->cen[2 * src];
    cen[2 * k + 1] = nf->cen[2 * src + 1];
    for (int f = 0; f < 2; f++) {
      int u = nf->lc[2 * src + f];
      curves[2 * k + f].n = u < 0 ? 0 : (PetscInt)nf->count[u];
      curves[2 * k + f].x = u < 0 ? NULL : x + (nf->start[u] - lo);
      curves[2 * k + f].y = u < 0 ? NULL : y + (nf->start[u] - lo);
    }
  }
  ierr = TCRollNetCreate(comm, np, nl, z, cen, curves, net);
  if (ierr) { /* refused: free the curves read */
    PetscCall(PetscFree3(z, cen, curves));
    PetscCall(PetscFree2(x, y));
  }
  PetscCall(ierr);
  {
    /* re-extruded over another height: the defects' heights follow the layers */
    TCRollDefect *d;
    PetscReal     z0 = nf->z[0], z1 = nf->z[nf->NL - 1];
    PetscCall(PetscMalloc1(PetscMax(nf->nd, 1), &d));
    for (PetscInt i = 0; i < nf->nd; i++) {
      d[i] = nf->defect[i];
      if (nz > 0 && d[i].z_m >= 0)
        d[i].z_m = z1 > z0 ? np->height_m * (d[i].z_m - z0) / (z1 - z0) : 0.5 * np->height_m;
    }
    PetscCall(TCRollNetSetDefects(*net, nf->nd, d));
    PetscCall(PetscFree(d));
  }
  PetscCall(PetscFree3(z, cen, curves));
  PetscCall(PetscFree2(x, y));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNetFileClose(TCRollNetFile *nf)
{
  PetscFunctionBeginUser;
  if (!*nf) PetscFunctionReturn(0);
  PetscCall(TCH5Close(&(*nf)->h5));
  PetscCall(PetscFree5((*nf)->z, (*nf)->cen, (*nf)->lc, (*nf)->start, (*nf)->count));
  PetscCall(PetscFree((*nf)->defect));
  PetscCall(PetscFree(*nf));
  PetscFunctionReturn(0);
}
