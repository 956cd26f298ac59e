/*
 * Matrix-free voxel multigrid (see voxelmg.h).
 *
 * Level 0 is the voxel grid itself: its operator is evaluated from the class
 * bytes on every use (a table look-up per face), so it costs no memory.
 * Levels 1.. hold, per cell, the conductances to the +x, +y and +z
 * neighbours and the diagonal (0 marks a cell with no unknown under it), as
 * float, and x and b as double. The conductance to the -z neighbour of a
 * slab's first plane lives on the rank below; one plane of it is copied up
 * when the level is built (gzlo).
 *
 * Colours for Gauss-Seidel: (i + j + global plane) mod 2, so neighbours
 * always differ in colour, also across rank boundaries, and a half-sweep of
 * one colour reads only values of the other (exchanged just before).
 */
#include "solver/voxelmg.h"
#include <petsc/private/vecimpl.h> /* struct _VecOps (tdot) and PetscObjectStateGet */
#include <string.h>

typedef struct {
  PetscInt  nx, ny, nz, kz0; /* local cells, global index of the first plane */
  PetscInt  sx, sy, sz;      /* 1 if the axis is halved on the way to the next level */
  float    *gx, *gy, *gz;    /* to the +x, +y, +z neighbour (levels >= 1) */
  float    *gzlo;            /* to the -z neighbour of plane 0 (on the rank below) */
  float    *diag;            /* 0: no unknown here */
  double   *x, *b;           /* levels >= 1 */
  double   *xlo, *xhi;       /* ghost planes of the vector being applied */
  PetscBool serial;          /* the whole level on this rank: no exchange */
  /* memory traffic model (bytes read + written, no write-allocate, as STREAM
     counts): a SweepPair pass, one from x = 0, the restriction to and the
     prolongation from the next level */
  double pair_bytes, fresh_bytes, restrict_bytes, prolong_bytes;
} MGLevel;

struct _p_TCVoxelMG {
  MPI_Comm             comm;
  PetscMPIInt          rank, below, above;
  PetscInt             nx, ny, nzg, z0, axis, na;
  const unsigned char *cls;
  unsigned char       *clslo, *clshi; /* neighbour ranks' class planes (0 where none) */
  unsigned char       *zc;            /* a row of class 0 and a row of zeros, beyond the grid */
  double              *zx;
  /* one class (the usual single phase): a byte per voxel with the unknown bit
     (0x80), the number of neighbouring unknowns (bits 0-2) and of Dirichlet
     faces (bits 3-4) replaces the table look-ups; the tables give, per byte,
     the diagonal (1 off the unknowns), the face conductance, its inverse
     diagonal and the unknown bit as 0/1 */
  PetscBool      unit;
  unsigned char *deg;
  double         dtab[256], gtab[256], itab[256], atab[256];
  PetscInt       nc1; /* classes + 1 */
  double        *G, *Gb;
  PetscInt       nlev;
  MGLevel       *lev;
  MGLevel        cs;                /* the coarsest level, gathered on every rank */
  PetscMPIInt   *ccount, *cdispl;   /* its cells per rank and offsets */
  double        *cr, *cz, *cp, *cq; /* CG on it */
  PetscInt       smooth, coarse, maxlev, growth, gamma;
  PetscReal      scale;
  double         bytes;
  double         moved, mult_bytes; /* traffic counted so far; of one operator application */
  /* dot products computed inside the passes: of the last MatMult (x . Ax)
     and PCApply (r . Br), served to CG's VecTDot (TCVoxelMGSetVecOps) while
     both vectors are unchanged since */
  struct {
    Vec              a, b;
    PetscObjectState sa, sb;
    double           val;
  } dmult, dpc;
  double acc;                                      /* the PCApply dot being summed */
  PetscErrorCode (*tdot)(Vec, Vec, PetscScalar *); /* the vectors' own */
};

/* Send this rank's last plane up and its first plane down; receive the rank
   below's last plane into lo and the rank above's first plane into hi (either
   may be NULL to skip that direction). Begin posts the messages (req holds up
   to 4, *n how many), End waits for them. */
static PetscErrorCode ExchangeBegin(TCVoxelMG mg, MPI_Datatype type, size_t size, const void *x,
                                    PetscInt plane, PetscInt nz, void *lo, void *hi,
                                    MPI_Request req[4], int *n)
{
  const char *first = (const char *)x, *last = first + (size_t)(nz > 0 ? nz - 1 : 0) * plane * size;

  PetscFunctionBeginUser;
  *n = 0;
  if (nz == 0) PetscFunctionReturn(0); /* a rank without planes has no neighbours */
  /* both directions at once: one wait per exchange, which matters when the
     ranks share cores with other work */
  if (lo) {
    PetscCallMPI(MPI_Irecv(lo, (int)plane, type, mg->below, 31, mg->comm, &req[(*n)++]));
    PetscCallMPI(MPI_Isend(last, (int)plane, type, mg->above, 31, mg->comm, &req[(*n)++]));
  }
  if (hi) {
    PetscCallMPI(MPI_Irecv(hi, (int)plane, type, mg->above, 32, mg->comm, &req[(*n)++]));
    PetscCallMPI(MPI_Isend(first, (int)plane, type, mg->below, 32, mg->comm, &req[(*n)++]));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode ExchangeEnd(MPI_Request req[4], int n)
{
  PetscFunctionBeginUser;
  if (n) PetscCallMPI(MPI_Waitall(n, req, MPI_STATUSES_IGNORE));
  PetscFunctionReturn(0);
}

static PetscErrorCode Exchange(TCVoxelMG mg, MPI_Datatype type, size_t size, const void *x,
                               PetscInt plane, PetscInt nz, void *lo, void *hi)
{
  MPI_Request req[4];
  int         n;

  PetscFunctionBeginUser;
  PetscCall(ExchangeBegin(mg, type, size, x, plane, nz, lo, hi, req, &n));
  PetscCall(ExchangeEnd(req, n));
  PetscFunctionReturn(0);
}

/* ---- level 0: the voxel grid, operator from the class bytes ---- */

/* Pointers to one row (j, k) of the grid and to its four y/z neighbour rows
   (a ghost plane or a row of zeros where the grid ends), so the inner loop
   over i has no branches but the two row ends. */
typedef struct {
  const unsigned char *c, *cym, *cyp, *czm, *czp;
  const double        *x, *xym, *xyp, *xzm, *xzp;
  double               bnd; /* Dirichlet faces the whole row lies on (axis y or z) */
} FineRowPtr;

static inline void FineRowInit(const TCVoxelMG mg, const double *x, PetscInt j, PetscInt k,
                               PetscInt nz, FineRowPtr *r)
{
  const PetscInt nx = mg->nx, ny = mg->ny, plane = nx * ny, row = (k * ny + j) * nx;
  const PetscInt a = mg->axis == 1 ? j : mg->z0 + k;

  r->c   = mg->cls + row;
  r->cym = j > 0 ? r->c - nx : mg->zc;
  r->cyp = j < ny - 1 ? r->c + nx : mg->zc;
  r->czm = k > 0 ? r->c - plane : mg->clslo + j * nx;
  r->czp = k < nz - 1 ? r->c + plane : mg->clshi + j * nx;
  r->bnd = 0;
  r->x = r->xym = r->xyp = r->xzm = r->xzp = NULL; /* x NULL: conductances only */
  if (x) {
    r->x   = x + row;
    r->xym = j > 0 ? r->x - nx : mg->zx;
    r->xyp = j < ny - 1 ? r->x + nx : mg->zx;
    r->xzm = k > 0 ? r->x - plane : mg->lev[0].xlo + j * nx;
    r->xzp = k < nz - 1 ? r->x + plane : mg->lev[0].xhi + j * nx;
  }
  r->bnd = mg->axis == 0 ? 0 : (a == 0) + (a == mg->na - 1);
}

/* Voxel i of the row: s = sum_q g_pq x_q and d = sum_q g_pq plus the
   Dirichlet conductance; both 0 on a voxel that is not an unknown (row 0 of
   the conductance table is zero), where the operator is the identity. */
static inline void FinePoint(const TCVoxelMG mg, const FineRowPtr *r, PetscInt i, double *s,
                             double *d)
{
  const PetscInt nx = mg->nx;
  const double  *Gp = mg->G + r->c[i] * mg->nc1;
  double         gl = i > 0 ? Gp[r->c[i - 1]] : 0, gr = i < nx - 1 ? Gp[r->c[i + 1]] : 0;
  double         xl = i > 0 ? r->x[i - 1] : 0, xr = i < nx - 1 ? r->x[i + 1] : 0;
  double         g1 = Gp[r->cym[i]], g2 = Gp[r->cyp[i]], g3 = Gp[r->czm[i]], g4 = Gp[r->czp[i]];
  double         nb = r->bnd + (mg->axis == 0 ? (i == 0) + (i == nx - 1) : 0);

  *s = gl * xl + gr * xr + g1 * r->xym[i] + g2 * r->xyp[i] + g3 * r->xzm[i] + g4 * r->xzp[i];
  *d = gl + gr + g1 + g2 + g3 + g4 + nb * mg->Gb[r->c[i]];
}

/* d of FinePoint alone */
static inline double FineDiag(const TCVoxelMG mg, const FineRowPtr *r, PetscInt i)
{
  const PetscInt nx = mg->nx;
  const double  *Gp = mg->G + r->c[i] * mg->nc1;
  double         nb = r->bnd + (mg->axis == 0 ? (i == 0) + (i == nx - 1) : 0);

  return (i > 0 ? Gp[r->c[i - 1]] : 0) + (i < nx - 1 ? Gp[r->c[i + 1]] : 0) + Gp[r->cym[i]] +
         Gp[r->cyp[i]] + Gp[r->czm[i]] + Gp[r->czp[i]] + nb * mg->Gb[r->c[i]];
}

/* sum of the six neighbours' x (the vectors vanish off the unknowns, so no
   conductance look-up is needed with one class) */
static inline double UnitSum(const FineRowPtr *r, PetscInt i, PetscInt nx)
{
  return (i > 0 ? r->x[i - 1] : 0) + (i < nx - 1 ? r->x[i + 1] : 0) + r->xym[i] + r->xyp[i] +
         r->xzm[i] + r->xzp[i];
}

static PetscErrorCode FineExchange(TCVoxelMG mg, const double *x)
{
  MGLevel *L = &mg->lev[0];

  PetscFunctionBeginUser;
  PetscCall(Exchange(mg, MPI_DOUBLE, sizeof(double), x, L->nx * L->ny, L->nz, L->xlo, L->xhi));
  PetscFunctionReturn(0);
}

static PetscErrorCode FineMult(TCVoxelMG mg, const double *x, double *y)
{
  const MGLevel *L  = &mg->lev[0];
  PetscInt       nx = L->nx, ny = L->ny, nz = L->nz;
  double         dot = 0;

  PetscFunctionBeginUser;
  PetscCall(FineExchange(mg, x));
  for (PetscInt k = 0; k < nz; k++)
    for (PetscInt j = 0; j < ny; j++) {
      FineRowPtr r;
      double    *yr = y + (k * ny + j) * nx;
      FineRowInit(mg, x, j, k, nz, &r);
      if (mg->unit) {
        const unsigned char *dg = mg->deg + (k * ny + j) * nx;
        for (PetscInt i = 0; i < nx; i++) {
          yr[i] = mg->dtab[dg[i]] * r.x[i] - mg->gtab[dg[i]] * UnitSum(&r, i, nx);
          dot += r.x[i] * yr[i];
        }
        continue;
      }
      for (PetscInt i = 0; i < nx; i++) {
        double s, d;
        FinePoint(mg, &r, i, &s, &d);
        yr[i] = (d + (r.c[i] == 0)) * r.x[i] - s;
        dot += r.x[i] * yr[i];
      }
    }
  mg->dmult.val = dot;
  mg->moved += mg->mult_bytes;
  PetscFunctionReturn(0);
}

/* x^T A x on this rank's rows (ghosts exchanged by the caller) */
static double FineQuadratic(TCVoxelMG mg, const double *x)
{
  const MGLevel *L  = &mg->lev[0];
  PetscInt       nx = L->nx, ny = L->ny, nz = L->nz;
  double         q = 0;

  for (PetscInt k = 0; k < nz; k++)
    for (PetscInt j = 0; j < ny; j++) {
      FineRowPtr r;
      FineRowInit(mg, x, j, k, nz, &r);
      if (mg->unit) {
        const unsigned char *dg = mg->deg + (k * ny + j) * nx;
        for (PetscInt i = 0; i < nx; i++)
          q += r.x[i] * (mg->dtab[dg[i]] * r.x[i] - mg->gtab[dg[i]] * UnitSum(&r, i, nx));
        continue;
      }
      for (PetscInt i = 0; i < nx; i++) {
        double s, d;
        FinePoint(mg, &r, i, &s, &d);
        q += r.x[i] * ((d + (r.c[i] == 0)) * r.x[i] - s);
      }
    }
  return q;
}

/* One half-sweep of Gauss-Seidel over the voxels of one colour on plane k
   (an identity row takes x = b); ghosts exchanged. */
static void FineSmoothPlane(TCVoxelMG mg, PetscInt l, const double *b, double *x, PetscInt color,
                            PetscInt k)
{
  const MGLevel *L  = &mg->lev[0];
  PetscInt       nx = L->nx, ny = L->ny, nz = L->nz;

  (void)l;
  for (PetscInt j = 0; j < ny; j++) {
    FineRowPtr    r;
    PetscInt      row = (k * ny + j) * nx;
    const double *br  = b + row;
    double       *xr  = x + row;
    FineRowInit(mg, x, j, k, nz, &r);
    if (mg->unit) {
      const unsigned char *dg = mg->deg + row;
      for (PetscInt i = (color + j + L->kz0 + k) & 1; i < nx; i += 2)
        xr[i] = (br[i] + mg->gtab[dg[i]] * UnitSum(&r, i, nx)) * mg->itab[dg[i]];
      continue;
    }
    for (PetscInt i = (color + j + L->kz0 + k) & 1; i < nx; i += 2) {
      double s, d;
      if (!r.c[i]) continue;
      FinePoint(mg, &r, i, &s, &d);
      xr[i] = (br[i] + s) / d;
    }
  }
}

/* The first red half-sweep from x = 0 on plane k: x = b / d on red unknowns,
   0 elsewhere (reads no neighbour). */
static void FineZeroPlane(TCVoxelMG mg, PetscInt l, const double *b, double *x, PetscInt color,
                          PetscInt k)
{
  const MGLevel *L  = &mg->lev[0];
  PetscInt       nx = L->nx, ny = L->ny, nz = L->nz;

  (void)l, (void)color;
  for (PetscInt j = 0; j < ny; j++) {
    PetscInt      row = (k * ny + j) * nx, i0 = (j + L->kz0 + k) & 1;
    const double *br = b + row;
    double       *xr = x + row;
    FineRowPtr    r;
    FineRowInit(mg, NULL, j, k, nz, &r);
    for (PetscInt i = 1 - i0; i < nx; i += 2) xr[i] = 0;
    if (mg->unit) {
      const unsigned char *dg = mg->deg + row;
      for (PetscInt i = i0; i < nx; i += 2) xr[i] = br[i] * mg->itab[dg[i]];
    } else
      for (PetscInt i = i0; i < nx; i += 2) xr[i] = r.c[i] ? br[i] / FineDiag(mg, &r, i) : 0;
  }
}

static inline PetscInt Agg(const MGLevel *L, const MGLevel *C, PetscInt i, PetscInt j, PetscInt k)
{
  return ((k >> L->sz) * C->ny + (j >> L->sy)) * C->nx + (i >> L->sx);
}

/* b of level 1 += P^T (b - A x) on plane k of the voxels (the caller
   zeroes it first; ghosts exchanged). Run right after a black half-sweep,
   which leaves no residual on the black voxels: only the red ones are
   visited. */
static void FineRestrictPlane(TCVoxelMG mg, PetscInt l, const double *b, double *x, PetscInt color,
                              PetscInt k)
{
  MGLevel *L = &mg->lev[0], *C = &mg->lev[1];
  PetscInt nx = L->nx, ny = L->ny, nz = L->nz;

  (void)l, (void)color;
  for (PetscInt j = 0; j < ny; j++) {
    FineRowPtr    r;
    const double *br = b + (k * ny + j) * nx;
    double       *cb = C->b + Agg(L, C, 0, j, k);
    FineRowInit(mg, x, j, k, nz, &r);
    if (mg->unit) {
      const unsigned char *dg = mg->deg + (k * ny + j) * nx;
      for (PetscInt i = (j + L->kz0 + k) & 1; i < nx; i += 2)
        cb[i >> L->sx] +=
            mg->atab[dg[i]] *
            (br[i] - (mg->dtab[dg[i]] * r.x[i] - mg->gtab[dg[i]] * UnitSum(&r, i, nx)));
      continue;
    }
    for (PetscInt i = (j + L->kz0 + k) & 1; i < nx; i += 2) {
      double s, d;
      FinePoint(mg, &r, i, &s, &d);
      cb[i >> L->sx] += (r.c[i] != 0) * (br[i] - (d * r.x[i] - s));
    }
  }
}

/* x += P x of level 1 on the red unknowns of plane k: a black half-sweep
   follows, which overwrites the black ones without reading them. */
static void FineProlongPlane(TCVoxelMG mg, PetscInt l, const double *b, double *x, PetscInt color,
                             PetscInt k)
{
  MGLevel *L = &mg->lev[0], *C = &mg->lev[1];
  PetscInt nx = L->nx, ny = L->ny;

  (void)l, (void)b, (void)color;
  for (PetscInt j = 0; j < ny; j++) {
    /* the degree byte's top bit is the unknown bit: no class array read */
    const unsigned char *c  = (mg->unit ? mg->deg : mg->cls) + (k * ny + j) * nx;
    const double        *cx = C->x + Agg(L, C, 0, j, k);
    double              *xr = x + (k * ny + j) * nx;
    for (PetscInt i = (j + L->kz0 + k) & 1; i < nx; i += 2) xr[i] += (c[i] != 0) * cx[i >> L->sx];
  }
}

/* adds b . x on plane k to mg->acc (x final there) */
static void FineDotPlane(TCVoxelMG mg, PetscInt l, const double *b, double *x, PetscInt color,
                         PetscInt k)
{
  const MGLevel *L = &mg->lev[0];
  PetscInt       n = L->nx * L->ny;
  double         s = 0;

  (void)l, (void)color;
  for (PetscInt p = k * n; p < (k + 1) * n; p++) s += b[p] * x[p];
  mg->acc += s;
}

/* ---- levels >= 1 ---- */

/* s = sum_q g_pq x_q for cell p = (i, j, k) of level L (ghosts exchanged) */
static inline double LevelSum(const MGLevel *L, const double *x, PetscInt i, PetscInt j, PetscInt k,
                              PetscInt p)
{
  const PetscInt nx = L->nx, plane = nx * L->ny;
  double         s = 0;

  if (i > 0) s += L->gx[p - 1] * x[p - 1];
  if (i < nx - 1) s += L->gx[p] * x[p + 1];
  if (j > 0) s += L->gy[p - nx] * x[p - nx];
  if (j < L->ny - 1) s += L->gy[p] * x[p + nx];
  if (k > 0)
    s += L->gz[p - plane] * x[p - plane];
  else
    s += L->gzlo[p] * L->xlo[p];
  if (k < L->nz - 1)
    s += L->gz[p] * x[p + plane];
  else
    s += L->gz[p] * L->xhi[p - k * plane];
  return s;
}

static PetscErrorCode LevelExchange(TCVoxelMG mg, MGLevel *L, const double *x)
{
  PetscFunctionBeginUser;
  if (L->serial) PetscFunctionReturn(0);
  PetscCall(Exchange(mg, MPI_DOUBLE, sizeof(double), x, L->nx * L->ny, L->nz, L->xlo, L->xhi));
  PetscFunctionReturn(0);
}

/* Half-sweep of one colour on plane k of level l >= 1 (its own x and b) */
static void LevelSmoothPlane(TCVoxelMG mg, PetscInt l, const double *b, double *x, PetscInt color,
                             PetscInt k)
{
  MGLevel *L = &mg->lev[l];

  (void)b, (void)x;
  for (PetscInt j = 0; j < L->ny; j++) {
    PetscInt row = (k * L->ny + j) * L->nx;
    for (PetscInt i = (color + j + L->kz0 + k) & 1; i < L->nx; i += 2) {
      PetscInt p = row + i;
      if (!(L->diag[p] > 0)) continue;
      L->x[p] = (L->b[p] + LevelSum(L, L->x, i, j, k, p)) / L->diag[p];
    }
  }
}

/* The first red half-sweep from x = 0 on plane k of level l >= 1 */
static void LevelZeroPlane(TCVoxelMG mg, PetscInt l, const double *b, double *x, PetscInt color,
                           PetscInt k)
{
  MGLevel *L = &mg->lev[l];

  (void)b, (void)x, (void)color;
  for (PetscInt j = 0, p = k * L->ny * L->nx; j < L->ny; j++)
    for (PetscInt i = 0; i < L->nx; i++, p++)
      L->x[p] = ((i + j + L->kz0 + k) & 1) == 0 && L->diag[p] > 0 ? L->b[p] / L->diag[p] : 0;
}

/* b of level l+1 += P^T (b - A x) of level l on plane k, red cells only (as
   FineRestrictPlane) */
static void LevelRestrictPlane(TCVoxelMG mg, PetscInt l, const double *b, double *x, PetscInt color,
                               PetscInt k)
{
  MGLevel *L = &mg->lev[l], *C = &mg->lev[l + 1];

  (void)b, (void)x, (void)color;
  for (PetscInt j = 0; j < L->ny; j++)
    for (PetscInt i = (j + L->kz0 + k) & 1; i < L->nx; i += 2) {
      PetscInt p = (k * L->ny + j) * L->nx + i;
      double   r;
      if (!(L->diag[p] > 0)) continue;
      r = L->b[p] - (L->diag[p] * L->x[p] - LevelSum(L, L->x, i, j, k, p));
      C->b[Agg(L, C, i, j, k)] += r;
    }
}

/* x of level l += P x of level l+1 on the red cells of plane k with an
   unknown (as FineProlongPlane) */
static void LevelProlongPlane(TCVoxelMG mg, PetscInt l, const double *b, double *x, PetscInt color,
                              PetscInt k)
{
  MGLevel *L = &mg->lev[l], *C = &mg->lev[l + 1];

  (void)b, (void)x, (void)color;
  for (PetscInt j = 0; j < L->ny; j++)
    for (PetscInt i = (j + L->kz0 + k) & 1; i < L->nx; i += 2) {
      PetscInt p = (k * L->ny + j) * L->nx + i;
      if (!(L->diag[p] > 0)) continue;
      L->x[p] += C->x[Agg(L, C, i, j, k)];
    }
}

typedef void (*PlaneFn)(TCVoxelMG, PetscInt, const double *, double *, PetscInt, PetscInt);

/* Two half-sweeps of level l in one pass over the planes: `first` in colour
   c, then the smoother in colour 1 - c, the second on plane k as soon as the
   first has done plane k + 1 (its last neighbour), so the arrays stream
   through memory once for both while the two planes in between stay in
   cache. The same arithmetic as two separate half-sweeps, half the memory
   traffic. Across ranks: the first does the slab's two end planes before
   the rest, and those are sent (the only values the neighbours' second
   half-sweep needs) while it goes on with plane 1. fresh: x is zero and
   `first` is a zero-start variant that reads no neighbour, so the old ghost
   planes are not exchanged.
   pre (NULL: none), the prolongation, runs on each plane before the first
   half-sweep reaches it or a neighbour (the end planes before the ghost
   exchange); post, the restriction, on each plane once the second has done
   it and both neighbours (the end planes last, after an exchange). Both
   then cost no pass of their own. */
static PetscErrorCode SweepPair(TCVoxelMG mg, PetscInt l, PlaneFn first, PlaneFn second, PetscInt c,
                                const double *b, double *x, PetscBool fresh, PlaneFn pre,
                                PlaneFn post, PetscBool post_ghosts)
{
  MGLevel    *L  = &mg->lev[l];
  PetscInt    nz = L->nz, plane = L->nx * L->ny, lo = 0, hi = nz - 1;
  PetscBool   ex = L->serial ? PETSC_FALSE : PETSC_TRUE;
  MPI_Request req[4];
  int         n = 0;

  PetscFunctionBeginUser;
  if (nz == 0) PetscFunctionReturn(0);
    /* pre on planes lo..m (from below) and m..hi (from above), each once */
#define PRE_UP(m)                                                                                  \
  do {                                                                                             \
    if (pre)                                                                                       \
      while (lo <= PetscMin((m), hi)) pre(mg, l, b, x, c, lo++);                                   \
  } while (0)
#define PRE_DOWN(m)                                                                                \
  do {                                                                                             \
    if (pre)                                                                                       \
      while (hi >= PetscMax((m), lo)) pre(mg, l, b, x, c, hi--);                                   \
  } while (0)
  PRE_UP(0);
  PRE_DOWN(nz - 1);
  if (ex && !fresh)
    PetscCall(Exchange(mg, MPI_DOUBLE, sizeof(double), x, plane, nz, L->xlo, L->xhi));
  PRE_UP(1);
  PRE_DOWN(nz - 2);
  first(mg, l, b, x, c, 0);
  if (nz > 1) first(mg, l, b, x, c, nz - 1);
  if (ex)
    PetscCall(ExchangeBegin(mg, MPI_DOUBLE, sizeof(double), x, plane, nz, L->xlo, L->xhi, req, &n));
  if (nz > 2) {
    PRE_UP(2);
    first(mg, l, b, x, c, 1); /* reads no ghost plane */
  }
  PetscCall(ExchangeEnd(req, n));
  for (PetscInt k = 0; k < nz; k++) {
    if (k + 2 < nz - 1) {
      PRE_UP(k + 3);
      first(mg, l, b, x, c, k + 2);
    }
    second(mg, l, b, x, 1 - c, k);
    if (post && k >= 2) post(mg, l, b, x, c, k - 1);
  }
#undef PRE_UP
#undef PRE_DOWN
  mg->moved += (fresh ? L->fresh_bytes : L->pair_bytes);
  if (pre) mg->moved += L->prolong_bytes;
  if (post) {
    /* planes 1..nz-2 are done; the end planes need the neighbours' last
       values */
    if (ex && post_ghosts)
      PetscCall(Exchange(mg, MPI_DOUBLE, sizeof(double), x, plane, nz, L->xlo, L->xhi));
    post(mg, l, b, x, c, 0);
    if (nz > 1) post(mg, l, b, x, c, nz - 1);
    if (post_ghosts) mg->moved += L->restrict_bytes;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode LevelMult(TCVoxelMG mg, MGLevel *L, const double *x, double *y)
{
  PetscFunctionBeginUser;
  PetscCall(LevelExchange(mg, L, x));
  for (PetscInt k = 0, p = 0; k < L->nz; k++)
    for (PetscInt j = 0; j < L->ny; j++)
      for (PetscInt i = 0; i < L->nx; i++, p++)
        y[p] = L->diag[p] > 0 ? L->diag[p] * x[p] - LevelSum(L, x, i, j, k, p) : x[p];
  PetscFunctionReturn(0);
}

/* The coarsest level: its right-hand side gathered on every rank, solved
   there by Jacobi-preconditioned CG from x = 0 to a relative residual of
   1e-10 (the same arithmetic on every rank, so the same answer), and each
   rank's part taken back. One collective instead of a few per CG step. */
static PetscErrorCode CoarseSolve(TCVoxelMG mg)
{
  MGLevel *L = &mg->lev[mg->nlev - 1], *S = &mg->cs;
  PetscInt n = S->nx * S->ny * S->nz, nl = L->nx * L->ny * L->nz;
  double   rz = 0, bn = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allgatherv(L->b, (PetscMPIInt)nl, MPI_DOUBLE, S->b, mg->ccount, mg->cdispl,
                              MPI_DOUBLE, mg->comm));
  for (PetscInt p = 0; p < n; p++) {
    S->x[p]   = 0;
    mg->cr[p] = S->b[p];
    mg->cz[p] = S->diag[p] > 0 ? S->b[p] / S->diag[p] : 0;
    mg->cp[p] = mg->cz[p];
    rz += mg->cr[p] * mg->cz[p];
    bn += mg->cr[p] * mg->cr[p];
  }
  for (PetscInt it = 0; bn > 0 && it < 10 * n + 100; it++) {
    double pq = 0, alpha, rr = 0, rzn = 0;
    PetscCall(LevelMult(mg, S, mg->cp, mg->cq));
    for (PetscInt p = 0; p < n; p++) pq += mg->cp[p] * mg->cq[p];
    if (!(pq > 0)) break;
    alpha = rz / pq;
    for (PetscInt p = 0; p < n; p++) {
      S->x[p] += alpha * mg->cp[p];
      mg->cr[p] -= alpha * mg->cq[p];
      mg->cz[p] = S->diag[p] > 0 ? mg->cr[p] / S->diag[p] : 0;
      rr += mg->cr[p] * mg->cr[p];
      rzn += mg->cr[p] * mg->cz[p];
    }
    if (rr <= 1e-20 * bn) break; /* relative residual 1e-10 */
    for (PetscInt p = 0; p < n; p++) mg->cp[p] = mg->cz[p] + rzn / rz * mg->cp[p];
    rz = rzn;
  }
  for (PetscInt p = 0; p < nl; p++) L->x[p] = S->x[mg->cdispl[mg->rank] + p];
  PetscFunctionReturn(0);
}

/* Approximately solve A_l x_l = b_l from x_l = 0 (l >= 1) */
static PetscErrorCode Cycle(TCVoxelMG mg, PetscInt l)
{
  MGLevel *L  = &mg->lev[l];
  PetscInt nu = mg->smooth;

  PetscFunctionBeginUser;
  if (l == mg->nlev - 1) {
    PetscCall(CoarseSolve(mg));
    PetscFunctionReturn(0);
  }
  for (PetscInt m = 0; m < l && nu < 64; m++) nu *= mg->growth;
  for (PetscInt g = 0; g < mg->gamma; g++) {
    PetscCall(PetscArrayzero(mg->lev[l + 1].b,
                             (size_t)mg->lev[l + 1].nx * mg->lev[l + 1].ny * mg->lev[l + 1].nz));
    for (PetscInt s = 0; s < nu; s++) {
      PetscBool fresh = g == 0 && s == 0 ? PETSC_TRUE : PETSC_FALSE;
      PetscCall(SweepPair(mg, l, fresh ? LevelZeroPlane : LevelSmoothPlane, LevelSmoothPlane, 0,
                          L->b, L->x, fresh, NULL, s == nu - 1 ? LevelRestrictPlane : NULL,
                          PETSC_TRUE));
    }
    PetscCall(Cycle(mg, l + 1));
    for (PetscInt s = 0; s < nu; s++)
      PetscCall(SweepPair(mg, l, LevelSmoothPlane, LevelSmoothPlane, 1, L->b, L->x, PETSC_FALSE,
                          s ? NULL : LevelProlongPlane, NULL, PETSC_FALSE));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode PCApply_VoxelMG(PC pc, Vec r, Vec z)
{
  TCVoxelMG          mg;
  const PetscScalar *b;
  PetscScalar       *x;

  PetscFunctionBeginUser;
  PetscCall(PCShellGetContext(pc, &mg));
  PetscCall(VecGetArrayRead(r, &b));
  PetscCall(VecGetArray(z, &x));
  if (mg->nlev > 1)
    PetscCall(PetscArrayzero(mg->lev[1].b, (size_t)mg->lev[1].nx * mg->lev[1].ny * mg->lev[1].nz));
  for (PetscInt s = 0; s < mg->smooth; s++)
    PetscCall(SweepPair(mg, 0, s ? FineSmoothPlane : FineZeroPlane, FineSmoothPlane, 0, b, x,
                        s ? PETSC_FALSE : PETSC_TRUE, NULL,
                        s == mg->smooth - 1 && mg->nlev > 1 ? FineRestrictPlane : NULL,
                        PETSC_TRUE));
  if (mg->nlev > 1) PetscCall(Cycle(mg, 1));
  mg->acc = 0;
  for (PetscInt s = 0; s < mg->smooth; s++)
    PetscCall(SweepPair(mg, 0, FineSmoothPlane, FineSmoothPlane, 1, b, x, PETSC_FALSE,
                        !s && mg->nlev > 1 ? FineProlongPlane : NULL,
                        s == mg->smooth - 1 ? FineDotPlane : NULL, PETSC_FALSE));
  PetscCall(VecRestoreArray(z, &x));
  PetscCall(VecRestoreArrayRead(r, &b));
  mg->dpc.val = mg->acc, mg->dpc.a = r, mg->dpc.b = z;
  PetscCall(PetscObjectStateGet((PetscObject)r, &mg->dpc.sa));
  PetscCall(PetscObjectStateGet((PetscObject)z, &mg->dpc.sb));
  PetscFunctionReturn(0);
}

static PetscErrorCode MatMult_VoxelMG(Mat A, Vec x, Vec y)
{
  TCVoxelMG          mg;
  const PetscScalar *xa;
  PetscScalar       *ya;

  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(A, &mg));
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(VecGetArray(y, &ya));
  PetscCall(FineMult(mg, xa, ya));
  PetscCall(VecRestoreArray(y, &ya));
  PetscCall(VecRestoreArrayRead(x, &xa));
  mg->dmult.a = x, mg->dmult.b = y;
  PetscCall(PetscObjectStateGet((PetscObject)x, &mg->dmult.sa));
  PetscCall(PetscObjectStateGet((PetscObject)y, &mg->dmult.sb));
  PetscFunctionReturn(0);
}

PetscErrorCode TCVoxelMGCreate(MPI_Comm comm, PetscInt nx, PetscInt ny, PetscInt nz, PetscInt z0,
                               PetscInt z1, const unsigned char *cls, PetscInt ncls,
                               const PetscReal *G, const PetscReal *Gb, PetscInt axis,
                               TCVoxelMG *out)
{
  TCVoxelMG   mg;
  PetscMPIInt size, busy, nbusy;
  PetscInt    plane = nx * ny, na[3] = {nx, ny, nz};

  PetscFunctionBeginUser;
  PetscCheck(axis >= 0 && axis < 3, comm, PETSC_ERR_ARG_OUTOFRANGE, "axis %d", (int)axis);
  PetscCheck(ncls >= 1 && ncls <= 255, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "%d classes: one byte holds 1..255", (int)ncls);
  PetscCall(PetscNew(&mg));
  mg->comm = comm;
  PetscCallMPI(MPI_Comm_rank(comm, &mg->rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  busy = z1 > z0;
  PetscCallMPI(MPI_Allreduce(&busy, &nbusy, 1, MPI_INT, MPI_SUM, comm));
  mg->below = mg->rank > 0 && mg->rank < nbusy ? mg->rank - 1 : MPI_PROC_NULL;
  mg->above = mg->rank + 1 < nbusy ? mg->rank + 1 : MPI_PROC_NULL;
  mg->nx = nx, mg->ny = ny, mg->nzg = nz, mg->z0 = z0, mg->axis = axis, mg->na = na[axis];
  mg->cls    = cls;
  mg->nc1    = ncls + 1;
  mg->smooth = 2, mg->coarse = 4096, mg->maxlev = 20, mg->scale = 2, mg->growth = 1, mg->gamma = 1;
  PetscCall(PetscCalloc2((size_t)mg->nc1 * mg->nc1, &mg->G, mg->nc1, &mg->Gb));
  for (PetscInt a = 1; a < mg->nc1; a++) {
    mg->Gb[a] = (double)Gb[a];
    for (PetscInt b = 1; b < mg->nc1; b++) mg->G[a * mg->nc1 + b] = (double)G[a * mg->nc1 + b];
  }
  PetscCall(PetscCalloc2(plane, &mg->clslo, plane, &mg->clshi));
  PetscCall(PetscCalloc2(nx, &mg->zc, nx, &mg->zx));
  PetscCall(Exchange(mg, MPI_UNSIGNED_CHAR, 1, cls, plane, z1 - z0, mg->clslo, mg->clshi));
  PetscCall(PetscCalloc1(mg->maxlev, &mg->lev));
  mg->lev[0].nx = nx, mg->lev[0].ny = ny, mg->lev[0].nz = z1 - z0, mg->lev[0].kz0 = z0;
  PetscCall(PetscCalloc2(plane, &mg->lev[0].xlo, plane, &mg->lev[0].xhi));
  mg->unit = ncls == 1 ? PETSC_TRUE : PETSC_FALSE;
  if (mg->unit) {
    PetscInt nzl = z1 - z0;
    PetscCall(PetscMalloc1((size_t)plane * nzl + 1, &mg->deg));
    for (PetscInt k = 0; k < nzl; k++)
      for (PetscInt j = 0; j < ny; j++) {
        FineRowPtr r;
        FineRowInit(mg, NULL, j, k, nzl, &r);
        for (PetscInt i = 0; i < nx; i++) {
          int a = (i > 0 && r.c[i - 1]) + (i < nx - 1 && r.c[i + 1]) + !!r.cym[i] + !!r.cyp[i] +
                  !!r.czm[i] + !!r.czp[i];
          int f                          = (int)r.bnd + (axis == 0 ? (i == 0) + (i == nx - 1) : 0);
          mg->deg[(k * ny + j) * nx + i] = r.c[i] ? (unsigned char)(0x80 | (f << 3) | a) : 0;
        }
      }
    for (int v = 0; v < 256; v++) {
      double d    = mg->G[mg->nc1 + 1] * (v & 7) + mg->Gb[1] * ((v >> 3) & 3);
      mg->dtab[v] = v & 0x80 ? d : 1;
      mg->gtab[v] = v & 0x80 ? mg->G[mg->nc1 + 1] : 0;
      mg->itab[v] = v & 0x80 && d > 0 ? 1 / d : 0;
      mg->atab[v] = v & 0x80 ? 1 : 0;
    }
  }
  {
    /* per voxel: x read and written, b read, the class or degree byte; the
       pass from x = 0 does not read x */
    double n               = (double)plane * (z1 - z0);
    mg->lev[0].pair_bytes  = 25 * n;
    mg->lev[0].fresh_bytes = 17 * n;
    mg->mult_bytes         = 17 * n; /* x read, y written, the byte */
  }
  mg->nlev = 1;
  *out     = mg;
  PetscFunctionReturn(0);
}

PetscErrorCode TCVoxelMGSetFromOptions(TCVoxelMG mg)
{
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-tau_mg_smooth", &mg->smooth, NULL));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-tau_mg_scale", &mg->scale, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-tau_mg_coarse", &mg->coarse, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-tau_mg_levels", &mg->maxlev, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-tau_mg_growth", &mg->growth, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-tau_mg_gamma", &mg->gamma, NULL));
  PetscCheck(mg->smooth >= 1, mg->comm, PETSC_ERR_USER_INPUT,
             "-tau_mg_smooth %d: at least one sweep is needed", (int)mg->smooth);
  PetscCheck(mg->scale >= 1 && mg->scale <= 4, mg->comm, PETSC_ERR_USER_INPUT,
             "-tau_mg_scale %g: accepted 1 (Galerkin) to 4 (2 is rediscretisation)",
             (double)mg->scale);
  PetscCheck(mg->coarse >= 1, mg->comm, PETSC_ERR_USER_INPUT, "-tau_mg_coarse %d: must be >= 1",
             (int)mg->coarse);
  PetscCheck(mg->gamma >= 1 && mg->gamma <= 2, mg->comm, PETSC_ERR_USER_INPUT,
             "-tau_mg_gamma %d: accepted 1 (V-cycle) or 2 (W-cycle)", (int)mg->gamma);
  PetscCheck(mg->growth >= 1 && mg->growth <= 4, mg->comm, PETSC_ERR_USER_INPUT,
             "-tau_mg_growth %d: accepted 1 to 4", (int)mg->growth);
  PetscCheck(mg->maxlev >= 1 && mg->maxlev <= 20, mg->comm, PETSC_ERR_USER_INPUT,
             "-tau_mg_levels %d: accepted 1 to 20", (int)mg->maxlev);
  PetscFunctionReturn(0);
}

/* Level l+1 from level l: aggregate, sum the crossing conductances, scale. */
static PetscErrorCode BuildCoarse(TCVoxelMG mg, PetscInt l)
{
  MGLevel *L = &mg->lev[l], *C = &mg->lev[l + 1];
  PetscInt nx = L->nx, ny = L->ny, nz = L->nz, plane = nx * ny, n, cplane;
  double  *dacc, w = 1.0 / (double)mg->scale;

  PetscFunctionBeginUser;
  C->nx = (nx + L->sx) >> L->sx, C->ny = (ny + L->sy) >> L->sy, C->nz = (nz + L->sz) >> L->sz;
  n = C->nx * C->ny * C->nz, cplane = C->nx * C->ny;
  PetscCall(
      PetscCalloc5(n + 1, &C->gx, n + 1, &C->gy, n + 1, &C->gz, n + 1, &C->diag, cplane, &C->gzlo));
  PetscCall(PetscCalloc4(n + 1, &C->x, n + 1, &C->b, cplane, &C->xlo, cplane, &C->xhi));
  mg->bytes += (double)(n + 1) * (4 * sizeof(float) + 2 * sizeof(double)) +
               (double)cplane * (sizeof(float) + 2 * sizeof(double));
  {
    /* level l >= 1 per cell: gx, gy, gz, diag (float), b read, x read and
       written. The restriction and prolongation run inside a sweep's pass
       (SweepPair), so they add only the coarse level's b (zeroed, summed
       into) and x (read); the two re-read end planes are not counted. */
    double mc         = (double)n;
    L->restrict_bytes = 16 * mc; /* fused into a sweep: only the coarse b */
    L->prolong_bytes  = 8 * mc;  /* fused into a sweep: only the coarse x */
    C->pair_bytes     = 40 * mc;
    C->fresh_bytes    = 32 * mc;
  }
  PetscCall(PetscCalloc1(n + 1, &dacc));
  for (PetscInt k = 0, p = 0; k < nz; k++)
    for (PetscInt j = 0; j < ny; j++) {
      FineRowPtr r;
      if (l == 0) FineRowInit(mg, NULL, j, k, nz, &r);
      for (PetscInt i = 0; i < nx; i++, p++) {
        double   gxp = 0, gyp = 0, gzp = 0, d;
        PetscInt c = Agg(L, C, i, j, k);
        if (l == 0) {
          const unsigned char *cl = mg->cls;
          if (!cl[p]) continue;
          d = mg->unit ? mg->dtab[mg->deg[p]] : FineDiag(mg, &r, i);
          if (i < nx - 1) gxp = mg->G[cl[p] * mg->nc1 + cl[p + 1]];
          if (j < ny - 1) gyp = mg->G[cl[p] * mg->nc1 + cl[p + nx]];
          gzp = mg->G[cl[p] * mg->nc1 + (k < nz - 1 ? cl[p + plane] : mg->clshi[p - k * plane])];
        } else {
          if (!(L->diag[p] > 0)) continue;
          d = L->diag[p], gxp = L->gx[p], gyp = L->gy[p], gzp = L->gz[p];
        }
        dacc[c] += d;
        if (i < nx - 1 && ((i + 1) >> L->sx) == (i >> L->sx))
          dacc[c] -= 2 * gxp;
        else
          C->gx[c] += (float)gxp;
        if (j < ny - 1 && ((j + 1) >> L->sy) == (j >> L->sy))
          dacc[c] -= 2 * gyp;
        else
          C->gy[c] += (float)gyp;
        if (k < nz - 1 && ((k + 1) >> L->sz) == (k >> L->sz))
          dacc[c] -= 2 * gzp;
        else
          C->gz[c] += (float)gzp;
      }
    }
  for (PetscInt c = 0; c < n; c++) {
    C->diag[c] = dacc[c] > 0 ? (float)(w * dacc[c]) : 0;
    C->gx[c] *= (float)w, C->gy[c] *= (float)w, C->gz[c] *= (float)w;
  }
  PetscCall(PetscFree(dacc));
  PetscCall(Exchange(mg, MPI_FLOAT, sizeof(float), C->gz, cplane, C->nz, C->gzlo, NULL));
  {
    PetscInt nzl = C->nz;
    PetscCallMPI(MPI_Exscan(&nzl, &C->kz0, 1, MPIU_INT, MPI_SUM, mg->comm));
    if (!mg->rank) C->kz0 = 0;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCVoxelMGSetUp(TCVoxelMG mg)
{
  PetscFunctionBeginUser;
  while (mg->nlev < mg->maxlev) {
    MGLevel  *L     = &mg->lev[mg->nlev - 1];
    long long cells = (long long)L->nx * L->ny * L->nz, can;
    L->sx = L->nx > 1, L->sy = L->ny > 1, L->sz = L->nz > 1;
    can = L->sx || L->sy || L->sz;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &cells, 1, MPI_LONG_LONG, MPI_SUM, mg->comm));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &can, 1, MPI_LONG_LONG, MPI_MAX, mg->comm));
    /* at least one coarse level, so the coarsest solve is never on the voxels */
    if (!can || (mg->nlev > 1 && cells <= mg->coarse)) break;
    PetscCall(BuildCoarse(mg, mg->nlev - 1));
    mg->nlev++;
  }
  if (mg->nlev > 1) {
    MGLevel    *L = &mg->lev[mg->nlev - 1], *S = &mg->cs;
    PetscMPIInt size, nl                       = (PetscMPIInt)(L->nx * L->ny * L->nz);
    PetscInt    n, plane                       = L->nx * L->ny;

    PetscCallMPI(MPI_Comm_size(mg->comm, &size));
    PetscCall(PetscMalloc2(size, &mg->ccount, size + 1, &mg->cdispl));
    PetscCallMPI(MPI_Allgather(&nl, 1, MPI_INT, mg->ccount, 1, MPI_INT, mg->comm));
    mg->cdispl[0] = 0;
    for (PetscMPIInt r = 0; r < size; r++) mg->cdispl[r + 1] = mg->cdispl[r] + mg->ccount[r];
    S->nx = L->nx, S->ny = L->ny, S->nz = mg->cdispl[size] / plane, S->kz0 = 0,
    S->serial = PETSC_TRUE;
    n         = S->nx * S->ny * S->nz + 1;
    PetscCall(PetscCalloc5(n, &S->gx, n, &S->gy, n, &S->gz, n, &S->diag, plane, &S->gzlo));
    PetscCall(PetscCalloc4(n, &S->x, n, &S->b, plane, &S->xlo, plane, &S->xhi));
    PetscCall(PetscMalloc4(n, &mg->cr, n, &mg->cz, n, &mg->cp, n, &mg->cq));
    mg->bytes += (double)n * (4 * sizeof(float) + 6 * sizeof(double));
    /* planes in rank order are the global level; gz of the last plane of a
       rank is the conductance to the next rank's first plane, as needed */
    PetscCallMPI(
        MPI_Allgatherv(L->gx, nl, MPI_FLOAT, S->gx, mg->ccount, mg->cdispl, MPI_FLOAT, mg->comm));
    PetscCallMPI(
        MPI_Allgatherv(L->gy, nl, MPI_FLOAT, S->gy, mg->ccount, mg->cdispl, MPI_FLOAT, mg->comm));
    PetscCallMPI(
        MPI_Allgatherv(L->gz, nl, MPI_FLOAT, S->gz, mg->ccount, mg->cdispl, MPI_FLOAT, mg->comm));
    PetscCallMPI(MPI_Allgatherv(L->diag, nl, MPI_FLOAT, S->diag, mg->ccount, mg->cdispl, MPI_FLOAT,
                                mg->comm));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCVoxelMGCreateMat(TCVoxelMG mg, Mat *A)
{
  PetscInt n = mg->lev[0].nx * mg->lev[0].ny * mg->lev[0].nz;

  PetscFunctionBeginUser;
  PetscCall(MatCreateShell(mg->comm, n, n, PETSC_DETERMINE, PETSC_DETERMINE, mg, A));
  PetscCall(MatShellSetOperation(*A, MATOP_MULT, (void (*)(void))MatMult_VoxelMG));
  /* VECMPI also on one rank: its VecDuplicate keeps the operations set by
     TCVoxelMGSetVecOps (VECSEQ's does not) */
  PetscCall(MatShellSetVecType(*A, VECMPI));
  PetscFunctionReturn(0);
}

PetscErrorCode TCVoxelMGSetPC(TCVoxelMG mg, PC pc)
{
  PetscFunctionBeginUser;
  PetscCall(PCSetType(pc, PCSHELL));
  PetscCall(PCShellSetContext(pc, mg));
  PetscCall(PCShellSetApply(pc, PCApply_VoxelMG));
  PetscCall(PCShellSetName(pc, "voxel multigrid (tomocell)"));
  PetscFunctionReturn(0);
}

PetscErrorCode TCVoxelMGGetInfo(TCVoxelMG mg, PetscInt *levels, double *bytes)
{
  PetscFunctionBeginUser;
  if (levels) *levels = mg->nlev;
  if (bytes) *bytes = mg->bytes;
  PetscFunctionReturn(0);
}

PetscErrorCode TCVoxelMGQuadratic(TCVoxelMG mg, Vec x, PetscReal *xAx)
{
  const PetscScalar *xa;
  double             q;

  PetscFunctionBeginUser;
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(FineExchange(mg, xa));
  q = FineQuadratic(mg, xa);
  PetscCall(VecRestoreArrayRead(x, &xa));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &q, 1, MPI_DOUBLE, MPI_SUM, mg->comm));
  mg->moved += mg->mult_bytes - 8 * (double)mg->lev[0].nx * mg->lev[0].ny * mg->lev[0].nz;
  *xAx = (PetscReal)q;
  PetscFunctionReturn(0);
}

/* VecTDot of vectors made by TCVoxelMGSetVecOps (and their duplicates): the
   dot computed inside the last MatMult or PCApply when x and y are that
   call's two vectors, unchanged since (object state), else the vectors' own
   operation. */
static PetscErrorCode VecTDot_VoxelMG(Vec x, Vec y, PetscScalar *val)
{
  PetscContainer   c = NULL;
  TCVoxelMG        mg;
  PetscObjectState sx, sy;
  double           local = 0;
  PetscBool        hit   = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(PetscObjectQuery((PetscObject)x, "TCVoxelMG", (PetscObject *)&c));
  PetscCheck(c, PetscObjectComm((PetscObject)x), PETSC_ERR_PLIB, "vector without its multigrid");
  PetscCall(PetscContainerGetPointer(c, (void **)&mg));
  PetscCall(PetscObjectStateGet((PetscObject)x, &sx));
  PetscCall(PetscObjectStateGet((PetscObject)y, &sy));
  if ((x == mg->dmult.a && sx == mg->dmult.sa && y == mg->dmult.b && sy == mg->dmult.sb) ||
      (y == mg->dmult.a && sy == mg->dmult.sa && x == mg->dmult.b && sx == mg->dmult.sb))
    local = mg->dmult.val, hit = PETSC_TRUE;
  else if ((x == mg->dpc.a && sx == mg->dpc.sa && y == mg->dpc.b && sy == mg->dpc.sb) ||
           (y == mg->dpc.a && sy == mg->dpc.sa && x == mg->dpc.b && sx == mg->dpc.sb))
    local = mg->dpc.val, hit = PETSC_TRUE;
  if (!hit) {
    PetscInt n;
    PetscCall(VecGetLocalSize(x, &n));
    PetscCall(mg->tdot(x, y, val));
    mg->moved += 16 * (double)n;
    PetscFunctionReturn(0);
  }
  PetscCallMPI(MPI_Allreduce(&local, val, 1, MPI_DOUBLE, MPI_SUM, PetscObjectComm((PetscObject)x)));
  PetscFunctionReturn(0);
}

PetscErrorCode TCVoxelMGSetVecOps(TCVoxelMG mg, Vec v)
{
  PetscContainer c;

  PetscFunctionBeginUser;
  /* VecDuplicate copies the operations and composed objects */
  if (!mg->tdot) mg->tdot = v->ops->tdot;
  PetscCall(PetscContainerCreate(PetscObjectComm((PetscObject)v), &c));
  PetscCall(PetscContainerSetPointer(c, mg));
  PetscCall(PetscObjectCompose((PetscObject)v, "TCVoxelMG", (PetscObject)c));
  PetscCall(PetscContainerDestroy(&c));
  v->ops->tdot = VecTDot_VoxelMG;
  PetscFunctionReturn(0);
}

PetscErrorCode TCVoxelMGGetTraffic(TCVoxelMG mg, double *moved)
{
  PetscFunctionBeginUser;
  *moved = mg->moved;
  PetscFunctionReturn(0);
}

PetscErrorCode TCVoxelMGDestroy(TCVoxelMG *pmg)
{
  TCVoxelMG mg = *pmg;

  PetscFunctionBeginUser;
  if (!mg) PetscFunctionReturn(0);
  for (PetscInt l = 1; l < mg->nlev; l++) {
    MGLevel *L = &mg->lev[l];
    PetscCall(PetscFree5(L->gx, L->gy, L->gz, L->diag, L->gzlo));
    PetscCall(PetscFree4(L->x, L->b, L->xlo, L->xhi));
  }
  PetscCall(PetscFree2(mg->lev[0].xlo, mg->lev[0].xhi));
  PetscCall(PetscFree(mg->lev));
  PetscCall(PetscFree4(mg->cr, mg->cz, mg->cp, mg->cq));
  PetscCall(PetscFree5(mg->cs.gx, mg->cs.gy, mg->cs.gz, mg->cs.diag, mg->cs.gzlo));
  PetscCall(PetscFree4(mg->cs.x, mg->cs.b, mg->cs.xlo, mg->cs.xhi));
  PetscCall(PetscFree2(mg->ccount, mg->cdispl));
  PetscCall(PetscFree2(mg->clslo, mg->clshi));
  PetscCall(PetscFree2(mg->zc, mg->zx));
  PetscCall(PetscFree(mg->deg));
  PetscCall(PetscFree2(mg->G, mg->Gb));
  PetscCall(PetscFree(mg));
  *pmg = NULL;
  PetscFunctionReturn(0);
}
