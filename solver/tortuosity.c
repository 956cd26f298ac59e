/*
 * Tortuosity factor of one phase of a labelled volume (see tortuosity.h).
 *
 * Clusters: union-find over the phase voxels of each rank's z-slab (local
 * indices), with six face bits per root (touches x = 0, x = nx-1, y = 0, ...).
 * Roots that touch a slab boundary are merged on rank 0 with the pairs of
 * roots that face each other across it; their bits are OR-ed over each merged
 * cluster and sent back. A voxel percolates in direction d when its root has
 * both face bits of d.
 *
 * Solve, matrix-free (-tau_solver mf, the default): the unknowns are all
 * voxels of the slab, those outside the percolating clusters identity rows
 * with zero right-hand side; the operator and the multigrid preconditioner
 * are solver/voxelmg's, fed with one class byte per voxel.
 *
 * Solve, assembled (-tau_solver aij): unknowns are the percolating voxels,
 * numbered in slab order, so each rank owns a contiguous block and the
 * z-neighbours on the next rank are the only off-process couplings (their
 * numbers come with one plane exchange).
 *
 * Fluxes, tau and the fields are computed the same way from either solution.
 */
#include "solver/tortuosity.h"
#include "solver/voxelmg.h"
#include "src/tc.h"
#include <math.h>
#include <string.h>

#define FACE_BITS 0x3f
#define SLAB_LO   0x40 /* touches the slab's first plane (and a rank below holds planes) */
#define SLAB_HI   0x80 /* touches the slab's last plane (and a rank above holds planes) */
#define IN_PHASE  0x80 /* after TCTauCreate: the voxel belongs to the phase */

struct _p_TCTau {
  const TCVolume *vol;
  MPI_Comm        comm;
  PetscMPIInt     rank, size, nbusy; /* ranks 0..nbusy-1 hold planes */
  PetscReal       D[256];            /* relative diffusivity per label; > 0: conducting */
  int            *par;               /* union-find parent (local index), -1 outside the phase */
  unsigned char  *bits;              /* face bits of each root (valid at roots) */
  TCTauPhase      stats;
};

static PetscReal TauHarmonic(PetscReal a, PetscReal b)
{
  return a > 0 && b > 0 ? 2 * a * b / (a + b) : 0;
}

static int Find(int *par, int i)
{
  while (par[i] != i) {
    par[i] = par[par[i]];
    i      = par[i];
  }
  return i;
}

static void Union(int *par, int a, int b)
{
  a = Find(par, a), b = Find(par, b);
  if (a == b) return;
  if (a < b)
    par[b] = a;
  else
    par[a] = b;
}

static long long FindLL(long long *par, long long i)
{
  while (par[i] != i) {
    par[i] = par[par[i]];
    i      = par[i];
  }
  return i;
}

static int CmpLL(const void *a, const void *b)
{
  long long x = *(const long long *)a, y = *(const long long *)b;
  return x < y ? -1 : x > y;
}

static int CmpPair(const void *a, const void *b)
{
  const long long *x = a, *y = b;
  if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
  return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* Send this rank's last plane (n items of size bytes) to the rank above and
   receive the rank below's last plane into lo (if there is one); likewise the
   first plane downwards into hi. lo/hi may be NULL to skip. */
static PetscErrorCode PlaneExchange(TCTau t, MPI_Datatype type, const void *first, const void *last,
                                    int n, void *lo, void *hi)
{
  PetscMPIInt below = t->rank > 0 && t->rank < t->nbusy ? t->rank - 1 : MPI_PROC_NULL;
  PetscMPIInt above = t->rank + 1 < t->nbusy ? t->rank + 1 : MPI_PROC_NULL;

  PetscFunctionBeginUser;
  if (lo)
    PetscCallMPI(
        MPI_Sendrecv(last, n, type, above, 11, lo, n, type, below, 11, t->comm, MPI_STATUS_IGNORE));
  if (hi)
    PetscCallMPI(MPI_Sendrecv(first, n, type, below, 12, hi, n, type, above, 12, t->comm,
                              MPI_STATUS_IGNORE));
  PetscFunctionReturn(0);
}

/* Merge the clusters that touch slab boundaries (rank 0 does the work). */
static PetscErrorCode TauMergeSlabs(TCTau t)
{
  const TCVolume *v     = t->vol;
  int             plane = (int)(v->nx * v->ny), nloc = (int)((v->z1 - v->z0) * plane);
  long long       goff = (long long)v->z0 * plane;
  long long      *mine, *pairs, *lo = NULL, *top = NULL, *allr = NULL, *allp = NULL;
  int             nmine = 0, npairs = 0;
  PetscMPIInt    *cr, *dr, *cp, *dp;
  long long       merged_roots = 0;

  PetscFunctionBeginUser;
  /* boundary roots with their bits: (global id, bits) */
  PetscCall(PetscMalloc1(2 * (size_t)nloc + 2, &mine));
  for (int i = 0; i < nloc; i++)
    if (t->par[i] == i && (t->bits[i] & (SLAB_LO | SLAB_HI))) {
      mine[2 * nmine]     = goff + i;
      mine[2 * nmine + 1] = t->bits[i] & FACE_BITS;
      nmine++;
    }
  /* the rank below's top-plane roots face my bottom plane */
  PetscCall(PetscMalloc2(plane, &lo, plane, &top));
  for (int i = 0; i < plane; i++) {
    int k  = nloc - plane + i;
    top[i] = nloc > 0 && t->par[k] >= 0 ? goff + Find(t->par, k) : -1;
  }
  PetscCall(PlaneExchange(t, MPI_LONG_LONG, NULL, top, plane, lo, NULL));
  PetscCall(PetscMalloc1(2 * (size_t)plane + 2, &pairs));
  if (t->rank > 0 && t->rank < t->nbusy) {
    for (int i = 0; i < plane; i++)
      if (lo[i] >= 0 && t->par[i] >= 0) {
        pairs[2 * npairs]     = lo[i];
        pairs[2 * npairs + 1] = goff + Find(t->par, i);
        npairs++;
      }
    /* drop duplicate pairs (a plane usually holds few distinct ones) */
    qsort(pairs, (size_t)npairs, 2 * sizeof(long long), CmpPair);
    {
      int m = 0;
      for (int k = 0; k < npairs; k++)
        if (!m || CmpPair(&pairs[2 * k], &pairs[2 * (m - 1)])) {
          pairs[2 * m] = pairs[2 * k], pairs[2 * m + 1] = pairs[2 * k + 1];
          m++;
        }
      npairs = m;
    }
  }
  PetscCall(PetscFree2(lo, top));

  /* gather on rank 0 */
  PetscCall(PetscMalloc4(t->size, &cr, t->size + 1, &dr, t->size, &cp, t->size + 1, &dp));
  {
    PetscMPIInt a = 2 * nmine, b = 2 * npairs;
    PetscCallMPI(MPI_Gather(&a, 1, MPI_INT, cr, 1, MPI_INT, 0, t->comm));
    PetscCallMPI(MPI_Gather(&b, 1, MPI_INT, cp, 1, MPI_INT, 0, t->comm));
  }
  if (!t->rank) {
    dr[0] = dp[0] = 0;
    for (PetscMPIInt r = 0; r < t->size; r++) dr[r + 1] = dr[r] + cr[r], dp[r + 1] = dp[r] + cp[r];
    PetscCall(PetscMalloc1((size_t)dr[t->size] + 1, &allr));
    PetscCall(PetscMalloc1((size_t)dp[t->size] + 1, &allp));
  }
  PetscCallMPI(
      MPI_Gatherv(mine, 2 * nmine, MPI_LONG_LONG, allr, cr, dr, MPI_LONG_LONG, 0, t->comm));
  PetscCallMPI(
      MPI_Gatherv(pairs, 2 * npairs, MPI_LONG_LONG, allp, cp, dp, MPI_LONG_LONG, 0, t->comm));
  if (!t->rank) {
    long long  nr = dr[t->size] / 2, np = dp[t->size] / 2, *ids, *up, sets = 0;
    long long *bitsall;
    /* ids arrive sorted (ranks in order, roots ascending within a rank) */
    PetscCall(PetscMalloc3(nr + 1, &ids, nr + 1, &up, nr + 1, &bitsall));
    for (long long k = 0; k < nr; k++)
      ids[k] = allr[2 * k], bitsall[k] = allr[2 * k + 1], up[k] = k;
    for (long long k = 0; k < np; k++) {
      long long *a = bsearch(&allp[2 * k], ids, (size_t)nr, sizeof(long long), CmpLL);
      long long *b = bsearch(&allp[2 * k + 1], ids, (size_t)nr, sizeof(long long), CmpLL);
      PetscCheck(a && b, PETSC_COMM_SELF, PETSC_ERR_PLIB, "cluster merge: unknown boundary root");
      long long ra = FindLL(up, a - ids), rb = FindLL(up, b - ids);
      if (ra != rb) {
        if (ra < rb)
          up[rb] = ra;
        else
          up[ra] = rb;
      }
    }
    for (long long k = 0; k < nr; k++) bitsall[FindLL(up, k)] |= bitsall[k];
    for (long long k = 0; k < nr; k++) {
      allr[2 * k + 1] = bitsall[FindLL(up, k)];
      if (FindLL(up, k) == k) sets++;
    }
    merged_roots = nr - sets; /* roots that joined another cluster */
    PetscCall(PetscFree3(ids, up, bitsall));
  }
  PetscCallMPI(
      MPI_Scatterv(allr, cr, dr, MPI_LONG_LONG, mine, 2 * nmine, MPI_LONG_LONG, 0, t->comm));
  for (int k = 0; k < nmine; k++) {
    int i      = (int)(mine[2 * k] - goff);
    t->bits[i] = (unsigned char)((t->bits[i] & ~FACE_BITS) | (mine[2 * k + 1] & FACE_BITS));
  }
  PetscCallMPI(MPI_Bcast(&merged_roots, 1, MPI_LONG_LONG, 0, t->comm));
  t->stats.clusters -= merged_roots;
  PetscCall(PetscFree4(cr, dr, cp, dp));
  PetscCall(PetscFree(allr));
  PetscCall(PetscFree(allp));
  PetscCall(PetscFree(mine));
  PetscCall(PetscFree(pairs));
  PetscFunctionReturn(0);
}

PetscErrorCode TCTauCreate(const TCVolume *v, const PetscReal D[256], TCTau *tau)
{
  TCTau          t;
  int            nx = (int)v->nx, ny = (int)v->ny, plane = nx * ny;
  int            nz = (int)(v->z1 - v->z0), nloc = nz * plane;
  long long      counts[4] = {0, 0, 0, 0}; /* phase voxels, interface faces, roots, isolated */
  PetscReal      wsum      = 0;            /* sum of D over the phase voxels */
  unsigned char *hi, *lo;
  const unsigned char *L = v->lab;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&t));
  t->vol  = v;
  t->comm = v->comm;
  PetscCall(PetscArraycpy(t->D, D, 256));
  PetscCallMPI(MPI_Comm_rank(t->comm, &t->rank));
  PetscCallMPI(MPI_Comm_size(t->comm, &t->size));
  t->nbusy = (PetscMPIInt)PetscMin((PetscInt)t->size, v->nz);
  PetscCall(PetscMalloc1((size_t)nloc + 1, &t->par));
  PetscCall(PetscMalloc1((size_t)nloc + 1, &t->bits));

  /* neighbour planes of labels for the interface count across slabs */
  PetscCall(PetscMalloc2(plane, &lo, plane, &hi));
  PetscCall(PlaneExchange(t, MPI_UNSIGNED_CHAR, L,
                          L + (size_t)(nloc - plane > 0 ? nloc - plane : 0), plane, lo, hi));

  for (int k = 0; k < nz; k++) {
    int gz = (int)v->z0 + k;
    for (int j = 0; j < ny; j++)
      for (int i = 0; i < nx; i++) {
        int           p = (k * ny + j) * nx + i;
        unsigned char b = 0;
        if (!(D[L[p]] > 0)) {
          t->par[p] = -1;
          continue;
        }
        t->par[p] = p;
        counts[0]++;
        wsum += D[L[p]];
        if (i == 0) b |= 1;
        if (i == nx - 1) b |= 2;
        if (j == 0) b |= 4;
        if (j == ny - 1) b |= 8;
        if (gz == 0) b |= 16;
        if (gz == v->nz - 1) b |= 32;
        if (k == 0 && t->rank > 0) b |= SLAB_LO;
        if (k == nz - 1 && t->rank + 1 < t->nbusy) b |= SLAB_HI;
        t->bits[p] = b;
        /* interior faces to other labels (box boundary faces are not counted) */
        if (i > 0 && !(D[L[p - 1]] > 0)) counts[1]++;
        if (i < nx - 1 && !(D[L[p + 1]] > 0)) counts[1]++;
        if (j > 0 && !(D[L[p - nx]] > 0)) counts[1]++;
        if (j < ny - 1 && !(D[L[p + nx]] > 0)) counts[1]++;
        if (gz > 0 && !(D[k > 0 ? L[p - plane] : lo[p]] > 0)) counts[1]++;
        if (gz < v->nz - 1 && !(D[k < nz - 1 ? L[p + plane] : hi[p - (nz - 1) * plane]] > 0))
          counts[1]++;
        if (i > 0 && t->par[p - 1] >= 0) Union(t->par, p, p - 1);
        if (j > 0 && t->par[p - nx] >= 0) Union(t->par, p, p - nx);
        if (k > 0 && t->par[p - plane] >= 0) Union(t->par, p, p - plane);
      }
  }
  PetscCall(PetscFree2(lo, hi));
  /* collect the bits at the roots; compress paths */
  for (int p = 0; p < nloc; p++)
    if (t->par[p] >= 0) {
      int r     = Find(t->par, p);
      t->par[p] = r;
      if (r != p) t->bits[r] |= t->bits[p];
    }
  for (int p = 0; p < nloc; p++)
    if (t->par[p] == p) counts[2]++;

  {
    long long n[3];
    PetscCallMPI(MPI_Allreduce(counts, n, 3, MPI_LONG_LONG, MPI_SUM, t->comm));
    t->stats.phase_voxels    = n[0];
    t->stats.total_voxels    = (long long)v->nx * v->ny * v->nz;
    t->stats.volume_fraction = (PetscReal)n[0] / (PetscReal)t->stats.total_voxels;
    t->stats.interface_faces = n[1];
    t->stats.clusters        = n[2];
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &wsum, 1, MPIU_REAL, MPI_SUM, t->comm));
    t->stats.weighted_fraction = wsum / (PetscReal)t->stats.total_voxels;
  }
  if (t->stats.phase_voxels == 0) {
    /* name the labels that do occur */
    int  seen[256]  = {0}, all[256];
    char list[1024] = "", want[1024] = "";
    for (int p = 0; p < nloc; p++) seen[L[p]] = 1;
    PetscCallMPI(MPI_Allreduce(seen, all, 256, MPI_INT, MPI_MAX, t->comm));
    for (int l = 0, n = 0, m = 0; l < 256 && strlen(list) < sizeof(list) - 16; l++) {
      if (all[l])
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%d", n++ ? ", " : "", l);
      if (D[l] > 0)
        snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%d", m++ ? ", " : "", l);
    }
    PetscCall(TCTauDestroy(&t));
    SETERRQ(v->comm, PETSC_ERR_USER_INPUT,
            "phase label %s does not occur in %s (labels present: %s)", want, v->path, list);
  }
  PetscCall(TauMergeSlabs(t));
  for (int p = 0; p < nloc; p++)
    if (t->par[p] >= 0 && !(t->bits[t->par[p]] & FACE_BITS)) counts[3]++;
  {
    long long iso;
    PetscCallMPI(MPI_Allreduce(&counts[3], &iso, 1, MPI_LONG_LONG, MPI_SUM, t->comm));
    t->stats.isolated_fraction = (PetscReal)iso / (PetscReal)t->stats.phase_voxels;
  }
  /* from here on one byte per voxel is enough: the phase bit and the face
     bits of its cluster (roots have the smallest index of their cluster, so
     a root is rewritten before any of its members reads it) */
  for (int p = 0; p < nloc; p++)
    t->bits[p] = t->par[p] >= 0 ? (unsigned char)(IN_PHASE | (t->bits[t->par[p]] & FACE_BITS)) : 0;
  PetscCall(PetscFree(t->par));
  *tau = t;
  PetscFunctionReturn(0);
}

PetscErrorCode TCTauDestroy(TCTau *tau)
{
  PetscFunctionBeginUser;
  if (!*tau) PetscFunctionReturn(0);
  PetscCall(PetscFree((*tau)->par));
  PetscCall(PetscFree((*tau)->bits));
  PetscCall(PetscFree(*tau));
  PetscFunctionReturn(0);
}

PetscErrorCode TCTauGetPhase(TCTau tau, TCTauPhase *ps)
{
  PetscFunctionBeginUser;
  *ps = tau->stats;
  PetscFunctionReturn(0);
}

/* -tau_solver mf|aij. The default is mf, or aij when a -pc_type is given
   (those preconditioners need the assembled matrix) or when more than 255
   labels conduct (mf keeps one class byte per voxel). */
static PetscErrorCode TauSolverChoice(TCTau t, PetscBool *mf)
{
  char      s[16] = "";
  PetscBool set, pcset;
  int       ncls = 0;

  PetscFunctionBeginUser;
  for (int l = 0; l < 256; l++) ncls += t->D[l] > 0;
  PetscCall(PetscOptionsGetString(NULL, NULL, "-tau_solver", s, sizeof(s), &set));
  PetscCall(PetscOptionsHasName(NULL, NULL, "-pc_type", &pcset));
  if (!set) {
    *mf = !pcset && ncls <= 255 ? PETSC_TRUE : PETSC_FALSE;
    PetscFunctionReturn(0);
  }
  PetscCheck(!strcmp(s, "mf") || !strcmp(s, "aij"), t->comm, PETSC_ERR_USER_INPUT,
             "-tau_solver %s: accepted mf (matrix-free multigrid, the default) or aij (assembled "
             "matrix, BoomerAMG or any -pc_type)",
             s);
  *mf = !strcmp(s, "mf") ? PETSC_TRUE : PETSC_FALSE;
  PetscCheck(!*mf || !pcset, t->comm, PETSC_ERR_USER_INPUT,
             "-pc_type needs -tau_solver aij (an assembled matrix); -tau_solver mf uses its own "
             "multigrid, tuned by -tau_mg_smooth, -tau_mg_scale, -tau_mg_coarse, -tau_mg_levels");
  PetscCheck(!*mf || ncls <= 255, t->comm, PETSC_ERR_USER_INPUT,
             "-tau_solver mf: %d labels with D > 0, at most 255 fit its class byte; use "
             "-tau_solver aij",
             ncls);
  PetscFunctionReturn(0);
}

/* The stopping test on tau (the default unless -ksp_rtol is given or the
   fields are asked for): with the natural norm, CG's residual norm squared
   is r^T B r for the preconditioner B ~ A^-1, an estimate of ||x - x*||_A^2,
   which is the error of the energy conductance (see TCTauSolve). Divided by
   the conductance (estimated from the inlet flux of the current iterate)
   it estimates the relative error of tau; the solve stops when that is below
   -tau_tol (default 1e-7). On the 200^3 sphere pack of bench/tortuosity.sh
   the estimate is within 2x of the true error (4e-8 for an estimate of
   8.5e-8), and it takes 8 iterations instead of 19 for rtol 1e-9. The
   inlet voxels (their entries in x and conductances 2 D) give the flux. */
typedef struct {
  PetscInt   n;   /* inlet unknowns on this rank */
  PetscInt  *idx; /* their entries in x */
  PetscReal *w;   /* their conductances to the inlet face */
  PetscReal  tol;
  MPI_Comm   comm;
  void      *dflt; /* KSPConvergedDefault's context */
  /* the CG loop, from the test at iteration 0 to the last: its time and the
     multigrid's counted traffic (mg NULL: assembled solver, no count) */
  TCVoxelMG      mg;
  PetscLogDouble t0, t1;
  double         moved0, moved1;
  PetscInt       its;
} TauStop;

static PetscErrorCode TauConverged(KSP ksp, PetscInt it, PetscReal rnorm,
                                   KSPConvergedReason *reason, void *ctx)
{
  TauStop           *st = ctx;
  Vec                x;
  const PetscScalar *xa;
  PetscReal          g = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&st->t1));
  if (st->mg) PetscCall(TCVoxelMGGetTraffic(st->mg, &st->moved1));
  if (it == 0) st->t0 = st->t1, st->moved0 = st->moved1;
  st->its = it;
  PetscCall(KSPConvergedDefault(ksp, it, rnorm, reason, st->dflt));
  if (*reason || it == 0) PetscFunctionReturn(0);
  PetscCall(KSPGetSolution(ksp, &x)); /* CG updates x before the test */
  PetscCall(VecGetArrayRead(x, &xa));
  for (PetscInt k = 0; k < st->n; k++) g += st->w[k] * (1 - xa[st->idx[k]]);
  PetscCall(VecRestoreArrayRead(x, &xa));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &g, 1, MPIU_REAL, MPI_SUM, st->comm));
  if (rnorm * rnorm <= st->tol * PetscAbsReal(g)) *reason = KSP_CONVERGED_RTOL;
  PetscFunctionReturn(0);
}

/* frees *stp (whether or not a KSP was given it) and sets it to NULL */
static PetscErrorCode TauStopFree(TauStop **stp)
{
  TauStop *st = *stp;

  PetscFunctionBeginUser;
  if (!st) PetscFunctionReturn(0);
  if (st->dflt) PetscCall(KSPConvergedDefaultDestroy(st->dflt));
  PetscCall(PetscFree2(st->idx, st->w));
  PetscCall(PetscFree(st));
  *stp = NULL;
  PetscFunctionReturn(0);
}

static PetscErrorCode TauStopDestroy(void *ctx)
{
  TauStop *st = ctx;

  PetscFunctionBeginUser;
  PetscCall(TauStopFree(&st));
  PetscFunctionReturn(0);
}

/* CG with the options and tolerances shared by both solvers, then the
   statistics; fails (PETSC_ERR_NOT_CONVERGED) when the solve did not converge. */
static PetscErrorCode TauKSPSolve(TCTau t, PetscInt dir, KSP ksp, Vec b, Vec x, PetscLogDouble t0,
                                  PetscBool mf, TauStop **stopp, TCTauDirection *res)
{
  PC             pc;
  PetscLogDouble t1, t2;
  TauStop       *used = NULL, *stop = stopp ? *stopp : NULL;

  PetscFunctionBeginUser;
  PetscCall(KSPGetPC(ksp, &pc));
  PetscCall(KSPSetType(ksp, KSPCG));
  PetscCall(KSPSetTolerances(ksp, 1e-9, 1e-50, PETSC_DEFAULT, 2000));
  PetscCall(KSPSetNormType(ksp, KSP_NORM_NATURAL));
  if (stop) {
    PetscBool user;
    PetscCall(PetscOptionsHasName(NULL, NULL, "-ksp_rtol", &user));
    stop->tol = 1e-7;
    PetscCall(PetscOptionsGetReal(NULL, NULL, "-tau_tol", &stop->tol, NULL));
    PetscCheck(stop->tol >= 0 && stop->tol < 1, t->comm, PETSC_ERR_USER_INPUT,
               "-tau_tol %g: accepted 0 (off) to below 1", (double)stop->tol);
    if (!user && stop->tol > 0) {
      stop->comm = t->comm;
      PetscCall(KSPConvergedDefaultCreate(&stop->dflt));
      /* the default test's rtol relative to the initial residual: relative
         to B b it would cost a preconditioner application and a vector at
         the first iteration (the peak of the memory) */
      PetscCall(KSPSetConvergenceTest(ksp, KSPConvergedDefault, stop->dflt, NULL));
      PetscCall(KSPConvergedDefaultSetUIRNorm(ksp));
      PetscCall(KSPSetConvergenceTest(ksp, TauConverged, stop, TauStopDestroy));
      used = stop, *stopp = NULL; /* the KSP's now */
    } else
      PetscCall(TauStopFree(stopp));
  }
  PetscCall(KSPSetInitialGuessNonzero(ksp, PETSC_TRUE));
  PetscCall(KSPSetFromOptions(ksp));
  /* The matrix-free solver has nothing to set up but CG's work vectors,
     which KSPSolve makes as copies of x; KSPSetUp before it would make them
     from a fourth, temporary vector (8 bytes per voxel on the peak). */
  if (!mf) PetscCall(KSPSetUp(ksp));
  PetscCall(PetscTime(&t1));
  PetscCall(PetscLogEventBegin(TC_EVENT_Solve, 0, 0, 0, 0));
  PetscCall(KSPSolve(ksp, b, x));
  PetscCall(PetscLogEventEnd(TC_EVENT_Solve, 0, 0, 0, 0));
  PetscCall(PetscTime(&t2));
  {
    KSPConvergedReason reason;
    KSPType            kt;
    PCType             pt;
    PetscCall(KSPGetConvergedReason(ksp, &reason));
    PetscCall(KSPGetIterationNumber(ksp, &res->iterations));
    PetscCall(KSPGetResidualNorm(ksp, &res->residual_norm));
    PetscCall(KSPGetType(ksp, &kt));
    PetscCall(PCGetType(pc, &pt));
    PetscCall(PetscStrncpy(res->ksp_type, kt, sizeof(res->ksp_type)));
    PetscCall(PetscStrncpy(res->pc_type, pt ? pt : "none", sizeof(res->pc_type)));
    int    its  = (int)res->iterations;
    double rnrm = (double)res->residual_norm;
    PetscCheck(reason > 0, t->comm, PETSC_ERR_NOT_CONVERGED,
               "the diffusion solve in %c did not converge (%s after %d iterations, residual "
               "%g); try -ksp_max_it or another -pc_type",
               "xyz"[dir], KSPConvergedReasons[reason], its, rnrm);
  }
  res->setup_s = t1 - t0;
  res->solve_s = t2 - t1;
  if (used && used->its > 0) {
    /* CG's own vector work per iteration (natural norm): p = z + beta p,
       x += a p, r -= a w: 72 bytes per entry; the dots p.w and r.z are
       counted by the multigrid (nothing when it computed them in its
       passes, 16 bytes per entry else) */
    PetscInt n;
    double   v[2];
    PetscCall(VecGetLocalSize(x, &n));
    v[0] = used->mg ? used->moved1 - used->moved0 + 72.0 * (double)n * (double)used->its : 0;
    v[1] = used->t1 - used->t0;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, v, 1, MPI_DOUBLE, MPI_SUM, t->comm));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, v + 1, 1, MPI_DOUBLE, MPI_MAX, t->comm));
    res->loop_its   = used->its;
    res->loop_s     = v[1];
    res->loop_bytes = v[0];
  }
  PetscFunctionReturn(0);
}

/* What a solve holds (both solvers); TauHeldFree() frees it, also when the
   solve stops on an error (a solve that did not converge must not leak). */
typedef struct {
  Mat            A;
  Vec            x, b;
  KSP            ksp;
  TCVoxelMG      mg;
  PetscReal     *G;
  unsigned char *cls;
  PetscInt      *idx, *idlo, *idhi, *dnz, *onz;
} TauHeld;

/* frees what h holds, but hands x to *xout when xout is not NULL */
static PetscErrorCode TauHeldFree(TauHeld *h, Vec *xout)
{
  PetscFunctionBeginUser;
  PetscCall(KSPDestroy(&h->ksp));
  PetscCall(MatDestroy(&h->A));
  PetscCall(VecDestroy(&h->b));
  PetscCall(TCVoxelMGDestroy(&h->mg));
  PetscCall(PetscFree(h->G));
  PetscCall(PetscFree(h->cls));
  PetscCall(PetscFree3(h->idx, h->idlo, h->idhi));
  PetscCall(PetscFree2(h->dnz, h->onz));
  if (xout) *xout = h->x, h->x = NULL;
  PetscCall(VecDestroy(&h->x));
  PetscFunctionReturn(0);
}

/* The assembled solver: percolating voxels numbered contiguously per rank,
   an AIJ matrix, CG + BoomerAMG (or any -pc_type). x comes back in the
   numbering (percolating voxels in slab order). */
static PetscErrorCode TauSolveAIJIn(TCTau t, PetscInt dir, PetscInt nown, PetscInt N,
                                    const unsigned char *llo, const unsigned char *lhi,
                                    TauStop **stopp, TCTauDirection *res, TauHeld *h,
                                    PetscReal *xAx)
{
  const TCVolume      *v  = t->vol;
  int                  nx = (int)v->nx, ny = (int)v->ny, plane = nx * ny;
  int                  nz = (int)(v->z1 - v->z0), nloc = nz * plane;
  int                  n[3] = {nx, ny, (int)v->nz}, stride[3] = {1, nx, plane};
  unsigned char        both  = (unsigned char)(3u << (2 * dir));
  PetscInt             start = 0;
  PetscInt            *idx, *idlo, *idhi, *dnz, *onz;
  const unsigned char *L = v->lab;
  const PetscReal     *D = t->D;
  Mat                  A;
  Vec                  x, b;
  KSP                  ksp;
  PC                   pc;
  PetscLogDouble       t0;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  PetscCall(PetscLogEventBegin(TC_EVENT_Assemble, 0, 0, 0, 0));
  /* number the percolating voxels: contiguous per rank in slab order */
  PetscCallMPI(MPI_Scan(&nown, &start, 1, MPIU_INT, MPI_SUM, t->comm));
  start -= nown;
  PetscCall(PetscMalloc3((size_t)nloc + 1, &h->idx, plane, &h->idlo, plane, &h->idhi));
  idx = h->idx, idlo = h->idlo, idhi = h->idhi;
  for (int p = 0, k = 0; p < nloc; p++) idx[p] = (t->bits[p] & both) == both ? start + k++ : -1;
  PetscCall(PlaneExchange(t, MPIU_INT, idx, idx + (nloc - plane > 0 ? nloc - plane : 0), plane,
                          idlo, idhi));
  if (t->rank == 0 || t->rank >= t->nbusy)
    for (int i = 0; i < plane; i++) idlo[i] = -1;
  if (t->rank + 1 >= t->nbusy)
    for (int i = 0; i < plane; i++) idhi[i] = -1;
  /* assemble the 7-point graph Laplacian with Dirichlet faces (conductance 2
     over the half voxel to the fixed face) */
  PetscCall(PetscCalloc2(nown + 1, &h->dnz, nown + 1, &h->onz));
  dnz = h->dnz, onz = h->onz;
  for (int p = 0, r = 0; p < nloc; p++) {
    if (idx[p] < 0) continue;
    int c[3] = {p % nx, (p / nx) % ny, p / plane};
    for (int a = 0; a < 3; a++) {
      int lim = a == 2 ? nz : n[a];
      if (c[a] > 0)
        dnz[r] += idx[p - stride[a]] >= 0;
      else if (a == 2)
        onz[r] += idlo[p] >= 0;
      if (c[a] < lim - 1)
        dnz[r] += idx[p + stride[a]] >= 0;
      else if (a == 2)
        onz[r] += idhi[p - (nz - 1) * plane] >= 0;
    }
    dnz[r]++;
    r++;
  }
  PetscCall(MatCreateAIJ(t->comm, nown, nown, N, N, 0, dnz, 0, onz, &h->A));
  A = h->A;
  PetscCall(PetscFree2(h->dnz, h->onz));
  PetscCall(MatSetOption(A, MAT_NO_OFF_PROC_ENTRIES, PETSC_TRUE));
  PetscCall(MatSetOption(A, MAT_NEW_NONZERO_ALLOCATION_ERR, PETSC_TRUE)); /* exact pattern */
  PetscCall(MatCreateVecs(A, &h->x, &h->b));
  x = h->x, b = h->b;
  {
    PetscScalar *ba, *xw;
    PetscCall(VecGetArray(b, &ba));
    PetscCall(VecGetArray(x, &xw));
    for (int p = 0, r = 0; p < nloc; p++) {
      if (idx[p] < 0) continue;
      int         c[3] = {p % nx, (p / nx) % ny, (int)v->z0 + p / plane};
      PetscInt    cols[7], nc = 1, row = idx[p];
      PetscScalar vals[7], diag = 0;
      for (int a = 0; a < 3; a++) {
        PetscInt      m = -1, q = -1;
        unsigned char lm = 0, lq = 0;
        /* neighbours along a; conductance the harmonic mean of the two voxels' D
           (exact for layers in series), 2 D over the half voxel to a fixed face */
        if (c[a] > 0) {
          PetscBool ghost = a == 2 && p < plane;
          m               = ghost ? idlo[p] : idx[p - stride[a]];
          lm              = ghost ? llo[p] : L[p - stride[a]];
        }
        if (c[a] < n[a] - 1) {
          PetscBool ghost = a == 2 && p >= nloc - plane;
          q               = ghost ? idhi[p - (nz - 1) * plane] : idx[p + stride[a]];
          lq              = ghost ? lhi[p - (nz - 1) * plane] : L[p + stride[a]];
        }
        if (m >= 0) {
          PetscReal g = TauHarmonic(D[L[p]], D[lm]);
          cols[nc] = m, vals[nc++] = -g, diag += g;
        }
        if (q >= 0) {
          PetscReal g = TauHarmonic(D[L[p]], D[lq]);
          cols[nc] = q, vals[nc++] = -g, diag += g;
        }
        if (a == dir && c[a] == 0) diag += 2 * D[L[p]];
        if (a == dir && c[a] == n[a] - 1) diag += 2 * D[L[p]];
      }
      cols[0] = row, vals[0] = diag;
      PetscCall(MatSetValues(A, 1, &row, nc, cols, vals, INSERT_VALUES));
      ba[r] = c[dir] == 0 ? 2.0 * D[L[p]] : 0.0;
      xw[r] = 1.0 - (c[dir] + 0.5) / n[dir]; /* the straight-pore profile as first guess */
      r++;
    }
    PetscCall(VecRestoreArray(b, &ba));
    PetscCall(VecRestoreArray(x, &xw));
  }
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  PetscCall(PetscFree3(h->idx, h->idlo, h->idhi)); /* 4 bytes per voxel less during the solve */
  PetscCall(MatSetOption(A, MAT_SPD, PETSC_TRUE));

  PetscCall(KSPCreate(t->comm, &h->ksp));
  ksp = h->ksp;
  PetscCall(KSPSetOperators(ksp, A, A));
  PetscCall(KSPSetType(ksp, KSPCG));
  PetscCall(KSPGetPC(ksp, &pc));
  {
    /* Default: BoomerAMG tuned for 3-D 7-point Laplacians (HMIS coarsening,
       extended+i interpolation with at most 4 entries per row, strength 0.5,
       one level of aggressive coarsening): on a 100^3 sphere pack at
       porosity 0.4 it sets up 3x faster than GAMG and needs 15% less memory
       for the same tau. Any -pc_type (gamg, ml, ...) given by the user wins. */
    PetscBool user;
    PetscCall(PetscOptionsHasName(NULL, NULL, "-pc_type", &user));
    if (!user) {
      const char *defs[][2] = {{"-pc_hypre_type", "boomeramg"},
                               {"-pc_hypre_boomeramg_coarsen_type", "HMIS"},
                               {"-pc_hypre_boomeramg_interp_type", "ext+i"},
                               {"-pc_hypre_boomeramg_P_max", "4"},
                               {"-pc_hypre_boomeramg_strong_threshold", "0.5"},
                               {"-pc_hypre_boomeramg_agg_nl", "1"}};
      for (size_t k = 0; k < sizeof(defs) / sizeof(defs[0]); k++) {
        PetscBool has;
        PetscCall(PetscOptionsHasName(NULL, NULL, defs[k][0], &has));
        if (!has) PetscCall(PetscOptionsSetValue(NULL, defs[k][0], defs[k][1]));
      }
      PetscCall(PCSetType(pc, PCHYPRE));
    }
  }
  PetscCall(PetscLogEventEnd(TC_EVENT_Assemble, 0, 0, 0, 0));
  PetscCall(TauKSPSolve(t, dir, ksp, b, x, t0, PETSC_FALSE, stopp, res));
  PetscCall(KSPDestroy(&h->ksp));
  PetscCall(VecDestroy(&h->b));
  {
    Vec y;
    PetscCall(VecDuplicate(x, &y));
    PetscCall(MatMult(A, x, y));
    PetscCall(VecDot(x, y, xAx));
    PetscCall(VecDestroy(&y));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode TauSolveAIJ(TCTau t, PetscInt dir, PetscInt nown, PetscInt N,
                                  const unsigned char *llo, const unsigned char *lhi,
                                  TauStop **stopp, TCTauDirection *res, Vec *xout, PetscReal *xAx)
{
  TauHeld        h;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&h, sizeof(h)));
  ierr = TauSolveAIJIn(t, dir, nown, N, llo, lhi, stopp, res, &h, xAx);
  PetscCall(TauHeldFree(&h, ierr ? NULL : xout));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* The matrix-free solver (solver/voxelmg.h): one class byte per voxel (0
   outside the percolating voxels: identity rows with b = x = 0 there), CG
   preconditioned by the voxel multigrid. x comes back on the whole slab. */
static PetscErrorCode TauSolveMFIn(TCTau t, PetscInt dir, TauStop **stopp, TCTauDirection *res,
                                   TauHeld *h, PetscReal *xAx)
{
  const TCVolume      *v  = t->vol;
  int                  nx = (int)v->nx, ny = (int)v->ny, plane = nx * ny;
  int                  nz = (int)(v->z1 - v->z0), nloc = nz * plane;
  int                  n[3] = {nx, ny, (int)v->nz};
  unsigned char        both = (unsigned char)(3u << (2 * dir)), cl[256] = {0}, *cls;
  const unsigned char *L = v->lab;
  PetscReal            Dc[256], *G, Gb[256];
  PetscInt             ncls = 0, nc1;
  TCVoxelMG            mg;
  Mat                  A;
  Vec                  x, b;
  KSP                  ksp;
  PC                   pc;
  PetscLogDouble       t0;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  PetscCall(PetscLogEventBegin(TC_EVENT_Assemble, 0, 0, 0, 0));
  /* classes: the labels that conduct, 1..ncls (checked <= 255 by the caller) */
  for (int l = 0; l < 256; l++)
    if (t->D[l] > 0) Dc[++ncls] = t->D[l], cl[l] = (unsigned char)ncls;
  nc1 = ncls + 1;
  PetscCall(PetscCalloc1((size_t)nc1 * nc1, &h->G));
  G = h->G;
  for (PetscInt a = 1; a < nc1; a++) {
    Gb[a] = 2 * Dc[a]; /* half a voxel to the fixed face */
    for (PetscInt c = 1; c < nc1; c++) G[a * nc1 + c] = TauHarmonic(Dc[a], Dc[c]);
  }
  PetscCall(PetscMalloc1((size_t)nloc + 1, &h->cls));
  cls = h->cls;
  for (int p = 0; p < nloc; p++) cls[p] = (t->bits[p] & both) == both ? cl[L[p]] : 0;
  PetscCall(
      TCVoxelMGCreate(t->comm, v->nx, v->ny, v->nz, v->z0, v->z1, cls, ncls, G, Gb, dir, &h->mg));
  mg = h->mg;
  PetscCall(PetscFree(h->G));
  PetscCall(TCVoxelMGSetFromOptions(mg));
  PetscCall(TCVoxelMGSetUp(mg));
  PetscCall(TCVoxelMGCreateMat(mg, &h->A));
  A = h->A;
  PetscCall(MatCreateVecs(A, &h->x, &h->b));
  x = h->x, b = h->b;
  PetscCall(TCVoxelMGSetVecOps(mg, x)); /* CG's work vectors are copies of x */
  {
    PetscScalar *ba, *xw;
    PetscCall(VecGetArray(b, &ba));
    PetscCall(VecGetArray(x, &xw));
    for (int k = 0, p = 0; k < nz; k++)
      for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++, p++) {
          int c[3] = {i, j, (int)v->z0 + k};
          ba[p]    = cls[p] && c[dir] == 0 ? Gb[cls[p]] : 0.0;
          xw[p]    = cls[p] ? 1.0 - (c[dir] + 0.5) / n[dir] : 0.0; /* straight-pore first guess */
        }
    PetscCall(VecRestoreArray(b, &ba));
    PetscCall(VecRestoreArray(x, &xw));
  }
  PetscCall(KSPCreate(t->comm, &h->ksp));
  ksp = h->ksp;
  PetscCall(KSPSetOperators(ksp, A, A));
  PetscCall(KSPGetPC(ksp, &pc));
  PetscCall(TCVoxelMGSetPC(mg, pc));
  PetscCall(PetscLogEventEnd(TC_EVENT_Assemble, 0, 0, 0, 0));
  if (*stopp) (*stopp)->mg = mg;
  PetscCall(TauKSPSolve(t, dir, ksp, b, x, t0, PETSC_TRUE, stopp, res));
  PetscCall(TCVoxelMGQuadratic(mg, x, xAx));
  {
    PetscInt levels;
    PetscCall(TCVoxelMGGetInfo(mg, &levels, NULL));
    PetscCall(PetscStrncpy(res->pc_type, "voxelmg", sizeof(res->pc_type)));
    res->mg_levels = levels;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode TauSolveMF(TCTau t, PetscInt dir, TauStop **stopp, TCTauDirection *res,
                                 Vec *xout, PetscReal *xAx)
{
  TauHeld        h;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&h, sizeof(h)));
  ierr = TauSolveMFIn(t, dir, stopp, res, &h, xAx);
  PetscCall(TauHeldFree(&h, ierr ? NULL : xout));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode TCTauSolve(TCTau t, PetscInt dir, TCTauDirection *res, float **conc, float **flux)
{
  const TCVolume      *v  = t->vol;
  int                  nx = (int)v->nx, ny = (int)v->ny, plane = nx * ny;
  int                  nz = (int)(v->z1 - v->z0), nloc = nz * plane;
  int                  n[3] = {nx, ny, (int)v->nz}, stride[3] = {1, nx, plane};
  unsigned char        both   = (unsigned char)(3u << (2 * dir));
  long long            cnt[2] = {0, 0}, tot[2];
  const unsigned char *L      = v->lab;
  unsigned char       *llo, *lhi;
  const PetscReal     *D = t->D;
  Vec                  x;
  PetscReal            fl[2] = {0, 0}, eps = t->stats.volume_fraction;
  const PetscScalar   *xa;
  PetscBool            mf  = PETSC_TRUE;
  PetscReal            xAx = 0, bx = 0;
  TauStop             *stop = NULL; /* handed to the KSP, which frees it */
  PetscErrorCode       ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(res, sizeof(*res)));
  PetscCheck(dir >= 0 && dir < 3, t->comm, PETSC_ERR_ARG_OUTOFRANGE, "direction %d", (int)dir);
  PetscCheck(!(dir == 2 && v->nz == 1), t->comm, PETSC_ERR_USER_INPUT,
             "%s is a 2-D image (one slice): it has no z direction; ask for -direction x or y",
             v->path);
  PetscCall(TauSolverChoice(t, &mf));
  /* percolating / blind voxels for this direction */
  for (int p = 0; p < nloc; p++) {
    if (!(t->bits[p] & IN_PHASE)) continue;
    unsigned char bb = t->bits[p] & both;
    if (bb == both)
      cnt[0]++;
    else if (bb)
      cnt[1]++;
  }
  PetscCallMPI(MPI_Allreduce(cnt, tot, 2, MPI_LONG_LONG, MPI_SUM, t->comm));
  res->percolating_fraction = (PetscReal)tot[0] / (PetscReal)t->stats.phase_voxels;
  res->blind_fraction       = (PetscReal)tot[1] / (PetscReal)t->stats.phase_voxels;
  res->percolates           = tot[0] > 0 ? PETSC_TRUE : PETSC_FALSE;
  res->bruggeman_alpha      = NAN;
  if (!res->percolates) {
    res->tau = INFINITY;
    if (conc) {
      PetscCall(PetscMalloc1((size_t)nloc + 1, conc));
      for (int p = 0; p < nloc; p++) (*conc)[p] = NAN;
    }
    if (flux) PetscCall(PetscCalloc1(3 * (size_t)nloc + 1, flux));
    PetscFunctionReturn(0);
  }
  PetscCheck((mf ? t->stats.total_voxels : tot[0]) < PETSC_MAX_INT, t->comm, PETSC_ERR_SUP,
             "%lld %s exceed this PETSc build's 32-bit index range",
             mf ? t->stats.total_voxels : tot[0], mf ? "voxels" : "percolating voxels");

  PetscCall(PetscMalloc2(plane, &llo, plane, &lhi));
  PetscCall(PlaneExchange(t, MPI_UNSIGNED_CHAR, L, L + (nloc - plane > 0 ? nloc - plane : 0), plane,
                          llo, lhi));
  if (!conc && !flux) {
    /* the stopping test on tau (the fields are first order in the solver's
       error, so they keep the residual test); passed on to the KSP */
    PetscInt m = dir == 0 ? ny * nz : dir == 1 ? nx * nz : v->z0 == 0 ? plane : 0;
    PetscCall(PetscNew(&stop));
    PetscCall(PetscMalloc2(m + 1, &stop->idx, m + 1, &stop->w));
    for (int k = 0, p = 0, r = 0; k < nz; k++)
      for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++, p++) {
          int c[3] = {i, j, (int)v->z0 + k};
          if ((t->bits[p] & both) != both) continue;
          if (c[dir] == 0) {
            stop->idx[stop->n] = mf ? p : r;
            stop->w[stop->n++] = 2 * D[L[p]];
          }
          r++;
        }
  }
  ierr =
      mf ? TauSolveMF(t, dir, &stop, res, &x, &xAx)
         : TauSolveAIJ(t, dir, (PetscInt)cnt[0], (PetscInt)tot[0], llo, lhi, &stop, res, &x, &xAx);
  PetscCall(TauStopFree(&stop));             /* not handed to a KSP: the solve failed before it */
  if (ierr) PetscCall(PetscFree2(llo, lhi)); /* not converged, say: the solve freed the rest */
  PetscCall(ierr);
  res->unknowns = (PetscInt)tot[0];

  /* fluxes through the two faces, and the optional fields */
  PetscCall(VecGetArrayRead(x, &xa));
  for (int k = 0, p = 0, r = 0; k < nz; k++)
    for (int j = 0; j < ny; j++)
      for (int i = 0; i < nx; i++, p++) {
        int c[3] = {i, j, (int)v->z0 + k};
        if ((t->bits[p] & both) != both) continue;
        if (c[dir] == 0)
          fl[0] += 2 * D[L[p]] * (1 - xa[mf ? p : r]), bx += 2 * D[L[p]] * xa[mf ? p : r];
        if (c[dir] == n[dir] - 1) fl[1] += 2 * D[L[p]] * xa[mf ? p : r];
        r++;
      }
  if (conc || flux) {
    float *cf, *clo, *chi;
    PetscCall(PetscMalloc1((size_t)nloc + 1, &cf));
    PetscCall(PetscMalloc2(plane, &clo, plane, &chi));
    for (int p = 0, r = 0; p < nloc; p++)
      cf[p] = (t->bits[p] & both) == both ? (float)xa[mf ? p : r++] : NAN;
    PetscCall(PlaneExchange(t, MPI_FLOAT, cf, cf + (nloc - plane > 0 ? nloc - plane : 0), plane,
                            clo, chi));
    if (flux) {
      float *f;
      PetscCall(PetscCalloc1(3 * (size_t)nloc + 1, &f));
      for (int p = 0; p < nloc; p++) {
        if ((t->bits[p] & both) != both) continue;
        int   c[3] = {p % nx, (p / nx) % ny, (int)v->z0 + p / plane};
        float dp   = (float)D[L[p]];
        for (int a = 0; a < 3; a++) {
          float cm = NAN, cq = NAN, qm = 0, qq = 0, gm = 0, gq = 0;
          if (c[a] > 0) {
            PetscBool ghost = a == 2 && p < plane;
            cm              = ghost ? clo[p] : cf[p - stride[a]];
            gm              = (float)TauHarmonic(dp, D[ghost ? llo[p] : L[p - stride[a]]]);
          }
          if (c[a] < n[a] - 1) {
            PetscBool ghost = a == 2 && p >= nloc - plane;
            cq              = ghost ? chi[p - (nz - 1) * plane] : cf[p + stride[a]];
            gq = (float)TauHarmonic(dp, D[ghost ? lhi[p - (nz - 1) * plane] : L[p + stride[a]]]);
          }
          if (!isnan(cm)) qm = gm * (cm - cf[p]);
          if (!isnan(cq)) qq = gq * (cf[p] - cq);
          if (a == dir && c[a] == 0) qm = 2 * dp * (1 - cf[p]);
          if (a == dir && c[a] == n[a] - 1) qq = 2 * dp * cf[p];
          f[3 * p + a] = 0.5f * (qm + qq);
        }
      }
      *flux = f;
    }
    PetscCall(PetscFree2(clo, chi));
    if (conc)
      *conc = cf;
    else
      PetscCall(PetscFree(cf));
  }
  PetscCall(VecRestoreArrayRead(x, &xa));
  {
    PetscReal sums[3] = {fl[0], fl[1], bx};
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, sums, 3, MPIU_REAL, MPI_SUM, t->comm));
    fl[0] = sums[0], fl[1] = sums[1], bx = sums[2];
  }
  res->flux_in  = fl[0];
  res->flux_out = fl[1];
  /* The conductance from the energy of x rather than from the face fluxes:
     the dissipation x^T A x - 2 b^T x + sum of the inlet conductances is
     minimal at the solution, where it equals the flux (unit potential
     difference), and exceeds it by ||x - x*||_A^2 elsewhere: second order
     in the error where either face's flux is first order, so the same tau
     needs a looser solve (the stopping test in TauKSPSolve relies on it). */
  res->conductance = fl[0] - bx + xAx;
  res->relative_diffusivity =
      res->conductance * n[dir] / ((PetscReal)t->stats.total_voxels / n[dir]);
  res->tau = t->stats.weighted_fraction / res->relative_diffusivity;
  if (eps < 1 && res->tau > 0)
    res->bruggeman_alpha = 1 - PetscLogReal(res->tau) / PetscLogReal(eps);

  PetscCall(VecDestroy(&x));
  PetscCall(PetscFree2(llo, lhi));
  PetscFunctionReturn(0);
}
