/*
 * Bounded nonlinear least squares with PETSc TAO and a finite-difference
 * Jacobian whose columns are shared out over the ranks (see fit.h).
 *
 * Layout: the Tao lives on comm with every entry of the scaled parameters u
 * and of the residuals on rank 0 (the problem is small: a few parameters, a
 * few thousand residuals), so TAO's arithmetic is that of a serial run and
 * its monitors print once. Each callback broadcasts u; residuals are
 * evaluated on rank 0 (independent evaluations) or by all ranks together
 * (collective), the Jacobian's columns by the ranks in turn.
 */
#include "solver/fit.h"
#include "src/tc.h"
#include <petsctao.h>
#include <math.h>

typedef struct {
  MPI_Comm            comm;
  PetscMPIInt         rank, size;
  const TCFitProblem *p;
  PetscReal          *x, *u, *rbuf, *jbuf, *jsum, *step, *stepsum;
  /* the last residual evaluated (rank 0 holds r) */
  PetscReal *ulast, *rlast, *ujac;
  PetscBool  have_last, have_jac;
  PetscBool  last_ok; /* the model ran at ulast (else rlast is the penalty) */
  PetscReal  penalty;
  PetscInt   nevals, nfailed;
  PetscBool  step_converged, stalled, have_prev;
  PetscReal  step_se; /* the last Gauss-Newton step, in standard errors */
  PetscReal *uprev;   /* the point of the previous test */
  double     t0;      /* MPI_Wtime at the start, for the progress lines */
} FitCtx;

static void FitToPhysical(const FitCtx *c, const PetscReal u[], PetscReal x[])
{
  for (PetscInt j = 0; j < c->p->n; j++) x[j] = c->p->lo[j] + u[j] * (c->p->hi[j] - c->p->lo[j]);
}

/* -log_view: the model runs of a fit (each a whole cell or roll run) */
static PetscLogEvent FIT_EVENT_ModelRun = -1;

/* One evaluation at scaled u (not collective unless the problem is). */
static PetscErrorCode FitEval(FitCtx *c, const PetscReal u[], PetscReal r[], PetscBool *ok)
{
  PetscFunctionBeginUser;
  FitToPhysical(c, u, c->x);
  *ok = PETSC_TRUE;
  PetscCall(PetscLogEventBegin(FIT_EVENT_ModelRun, 0, 0, 0, 0));
  PetscCall(c->p->residual(c->x, r, ok, c->p->ctx));
  PetscCall(PetscLogEventEnd(FIT_EVENT_ModelRun, 0, 0, 0, 0));
  c->nevals++;
  if (*ok)
    for (PetscInt i = 0; i < c->p->m; i++)
      if (!isfinite(r[i])) *ok = PETSC_FALSE;
  if (!*ok) {
    c->nfailed++;
    for (PetscInt i = 0; i < c->p->m; i++) r[i] = c->penalty;
  }
  PetscFunctionReturn(0);
}

/* u from rank 0's part of U to every rank */
static PetscErrorCode FitBcastU(FitCtx *c, Vec U)
{
  PetscFunctionBeginUser;
  if (c->rank == 0) {
    const PetscScalar *a;
    PetscCall(VecGetArrayRead(U, &a));
    for (PetscInt j = 0; j < c->p->n; j++) c->u[j] = PetscRealPart(a[j]);
    PetscCall(VecRestoreArrayRead(U, &a));
  }
  PetscCallMPI(MPI_Bcast(c->u, (PetscMPIInt)c->p->n, MPIU_REAL, 0, c->comm));
  PetscFunctionReturn(0);
}

/* The residual at c->u into rank 0's rlast (cached). Collective. */
static PetscErrorCode FitResidualAt(FitCtx *c)
{
  PetscBool same = c->have_last, ok;

  PetscFunctionBeginUser;
  for (PetscInt j = 0; j < c->p->n && same; j++) same = (PetscBool)(c->ulast[j] == c->u[j]);
  if (same) PetscFunctionReturn(0);
  if (c->p->collective || c->rank == 0) PetscCall(FitEval(c, c->u, c->rlast, &ok));
  PetscCallMPI(MPI_Bcast(&ok, 1, MPIU_BOOL, 0, c->comm));
  for (PetscInt j = 0; j < c->p->n; j++) c->ulast[j] = c->u[j];
  c->have_last = PETSC_TRUE;
  c->last_ok   = ok;
  PetscFunctionReturn(0);
}

static PetscErrorCode FitResidual(Tao tao, Vec U, Vec R, void *vctx)
{
  FitCtx *c = (FitCtx *)vctx;

  PetscFunctionBeginUser;
  (void)tao;
  PetscCall(FitBcastU(c, U));
  PetscCall(FitResidualAt(c));
  if (c->rank == 0) {
    PetscScalar *a;
    PetscCall(VecGetArray(R, &a));
    for (PetscInt i = 0; i < c->p->m; i++) a[i] = c->rlast[i];
    PetscCall(VecRestoreArray(R, &a));
  }
  PetscFunctionReturn(0);
}

/* The forward-difference Jacobian at c->u into rank 0's jsum (m x n,
   column-major). Collective. */
static PetscErrorCode FitJacobianAt(FitCtx *c)
{
  const PetscInt n = c->p->n, m = c->p->m;
  PetscReal      h = c->p->fd_step;

  PetscBool same = c->have_jac;

  PetscFunctionBeginUser;
  /* TAO may ask again at the same point (objective, gradient, Jacobian) */
  for (PetscInt j = 0; j < n && same; j++) same = (PetscBool)(c->ujac[j] == c->u[j]);
  if (same) PetscFunctionReturn(0);
  PetscCall(FitResidualAt(c));
  if (!c->last_ok) {
    /* a trial point of the line search where the model cannot run (TAO asks
       for the gradient with the objective): its residuals are the constant
       penalty, so its Jacobian is zero -- the line search sees the high
       objective and steps back; nothing to difference there */
    if (c->rank == 0) PetscCall(PetscArrayzero(c->jsum, m * n));
    for (PetscInt j = 0; j < n; j++) c->ujac[j] = c->u[j];
    c->have_jac = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  PetscCall(PetscArrayzero(c->jbuf, m * n));
  PetscCall(PetscArrayzero(c->step, n));
  for (PetscInt j = 0; j < n; j++) {
    PetscBool ok = PETSC_FALSE;
    if (!c->p->collective && j % c->size != c->rank) continue;
    for (int attempt = 0; attempt < 2 && !ok; attempt++) {
      /* forward, unless that leaves the box; then (or if it fails) backward */
      PetscReal s = (c->u[j] + h <= 1) == (attempt == 0) ? h : -h;
      if (c->u[j] + s < 0 || c->u[j] + s > 1) continue;
      for (PetscInt k = 0; k < n; k++) c->rbuf[k] = c->u[k];
      c->rbuf[j] = c->u[j] + s;
      PetscCall(FitEval(c, c->rbuf, c->jbuf + (size_t)j * m, &ok));
      if (ok) c->step[j] = s;
    }
  }
  /* the columns (raw residuals) and their steps to rank 0: one contribution
     per entry, the others are zeros, so the sum is exact */
  PetscCallMPI(MPI_Reduce(c->jbuf, c->jsum, (PetscMPIInt)(m * n), MPIU_REAL, MPI_SUM, 0, c->comm));
  PetscCallMPI(MPI_Reduce(c->step, c->stepsum, (PetscMPIInt)n, MPIU_REAL, MPI_SUM, 0, c->comm));
  if (c->p->collective) { /* every rank evaluated every column: the sums are size times */
    for (PetscInt k = 0; k < m * n; k++) c->jsum[k] = c->jbuf[k];
    for (PetscInt j = 0; j < n; j++) c->stepsum[j] = c->step[j];
  }
  {
    PetscInt bad      = -1;
    char     msg[512] = "";
    if (c->rank == 0)
      for (PetscInt j = 0; j < n && bad < 0; j++)
        if (c->stepsum[j] == 0) bad = j;
    PetscCallMPI(MPI_Bcast(&bad, 1, MPIU_INT, 0, c->comm));
    if (bad >= 0) {
      /* the message of the rank that ran that column */
      int owner = c->p->collective ? 0 : (int)(bad % c->size);
      if (c->rank == owner && c->p->errmsg) snprintf(msg, sizeof(msg), "%s", c->p->errmsg);
      PetscCallMPI(MPI_Bcast(msg, sizeof(msg), MPI_CHAR, owner, c->comm));
    }
    if (bad >= 0) {
      char at[1024] = "";
      FitToPhysical(c, c->u, c->x);
      for (PetscInt j = 0; j < n && strlen(at) < sizeof(at) - 80; j++)
        snprintf(at + strlen(at), sizeof(at) - strlen(at), "%s%s = %.6g", j ? ", " : "",
                 c->p->names ? c->p->names[j] : "?", (double)c->x[j]);
      SETERRQ(c->comm, PETSC_ERR_USER_INPUT,
              "the model cannot be run a step %g of the bound range away from %s in either "
              "direction, at %s: %s (narrow the bounds to where the model runs, or change "
              "-fit_fd_step)",
              (double)h, c->p->names ? c->p->names[bad] : "a parameter", at,
              msg[0] ? msg : "no message");
    }
  }
  if (c->rank == 0) {
    for (PetscInt j = 0; j < n; j++) {
      PetscReal s = c->stepsum[j];
      for (PetscInt i = 0; i < m; i++) {
        PetscReal *e = c->jsum + (size_t)j * m + i;
        *e           = (*e - c->rlast[i]) / s;
      }
    }
  }
  for (PetscInt j = 0; j < n; j++) c->ujac[j] = c->u[j];
  c->have_jac = PETSC_TRUE;
  PetscFunctionReturn(0);
}

static PetscErrorCode FitJacobian(Tao tao, Vec U, Mat J, Mat Jpre, void *vctx)
{
  FitCtx *c = (FitCtx *)vctx;

  PetscFunctionBeginUser;
  (void)tao;
  (void)Jpre;
  PetscCall(FitBcastU(c, U));
  PetscCall(FitJacobianAt(c));
  if (c->rank == 0) {
    PetscScalar *a;
    PetscInt     lda;
    PetscCall(MatDenseGetLDA(J, &lda));
    PetscCall(MatDenseGetArray(J, &a));
    for (PetscInt j = 0; j < c->p->n; j++)
      for (PetscInt i = 0; i < c->p->m; i++)
        a[(size_t)j * lda + i] = c->jsum[(size_t)j * c->p->m + i];
    PetscCall(MatDenseRestoreArray(J, &a));
  }
  PetscCall(MatAssemblyBegin(J, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(J, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

/* For TAO types that minimise a scalar (bqnls, blmvm, ...): f = 1/2 |r|^2, g = J^T r. */
static PetscErrorCode FitObjectiveGradient(Tao tao, Vec U, PetscReal *f, Vec G, void *vctx)
{
  FitCtx   *c  = (FitCtx *)vctx;
  PetscReal fl = 0;

  PetscFunctionBeginUser;
  (void)tao;
  PetscCall(FitBcastU(c, U));
  PetscCall(FitJacobianAt(c));
  if (c->rank == 0) {
    PetscScalar *g;
    for (PetscInt i = 0; i < c->p->m; i++) fl += 0.5 * c->rlast[i] * c->rlast[i];
    PetscCall(VecGetArray(G, &g));
    for (PetscInt j = 0; j < c->p->n; j++) {
      PetscReal s = 0;
      for (PetscInt i = 0; i < c->p->m; i++) s += c->jsum[(size_t)j * c->p->m + i] * c->rlast[i];
      g[j] = s;
    }
    PetscCall(VecRestoreArray(G, &g));
  }
  PetscCallMPI(MPI_Bcast(&fl, 1, MPIU_REAL, 0, c->comm));
  *f = fl;
  PetscFunctionReturn(0);
}

static void FitInvert(PetscInt n, PetscReal a[], PetscBool *singular);

/* Converged when the Gauss-Newton step from the current point, (J^T J)^-1 J^T r
   on the parameters not held at a bound, is shorter than step_tol standard
   errors (its length in the metric of the covariance sigma^2 (J^T J)^-1):
   what remains to be gained is far below what the data can tell. A model
   with adaptive steps is noisy at the level of its tolerances; this test
   stops before that noise drives the line search to failure. The Jacobian
   at the point is the next iteration's anyway (cached). */
static PetscErrorCode FitConverged(Tao tao, void *vctx)
{
  FitCtx            *c = (FitCtx *)vctx;
  TaoConvergedReason reason;
  Vec                U;
  const PetscInt     n = c->p->n, m = c->p->m;
  PetscReal          meas = 0;
  PetscBool          dfo;

  PetscFunctionBeginUser;
  PetscCall(TaoDefaultConvergenceTest(tao, NULL));
  PetscCall(TaoGetConvergedReason(tao, &reason));
  if (reason != TAO_CONTINUE_ITERATING || c->p->step_tol <= 0) PetscFunctionReturn(0);
  /* a derivative-free method (POUNDERS) has iterations that improve its
     model and do not move: no stall test there */
  PetscCall(PetscObjectTypeCompare((PetscObject)tao, TAOPOUNDERS, &dfo));
  PetscCall(TaoGetSolution(tao, &U));
  PetscCall(FitBcastU(c, U));
  PetscCall(FitJacobianAt(c));
  if (c->rank == 0) {
    PetscReal g[64], a[64 * 64], d[64], ssr = 0;
    PetscInt  fr[64], nf = 0;
    PetscBool sing;
    for (PetscInt i = 0; i < m; i++) ssr += c->rlast[i] * c->rlast[i];
    for (PetscInt j = 0; j < n; j++) {
      PetscReal s = 0;
      for (PetscInt i = 0; i < m; i++) s += c->jsum[(size_t)j * m + i] * c->rlast[i];
      g[j] = s;
      /* descent is -g: a parameter at a bound that descent would push out is held */
      if (!((c->u[j] <= 0 && g[j] > 0) || (c->u[j] >= 1 && g[j] < 0))) fr[nf++] = j;
    }
    for (PetscInt a1 = 0; a1 < nf; a1++)
      for (PetscInt b1 = 0; b1 < nf; b1++) {
        PetscReal s = 0;
        for (PetscInt i = 0; i < m; i++)
          s += c->jsum[(size_t)fr[a1] * m + i] * c->jsum[(size_t)fr[b1] * m + i];
        a[a1 * nf + b1] = s;
      }
    if (nf) {
      FitInvert(nf, a, &sing);
      if (sing)
        meas = PETSC_MAX_REAL;
      else {
        /* |step|^2 in standard errors = g^T (J^T J)^-1 g / sigma^2 */
        PetscReal q = 0, s2 = ssr / (PetscReal)(m - n);
        for (PetscInt a1 = 0; a1 < nf; a1++) {
          d[a1] = 0;
          for (PetscInt b1 = 0; b1 < nf; b1++) d[a1] += a[a1 * nf + b1] * g[fr[b1]];
          q += d[a1] * g[fr[a1]];
        }
        meas = s2 > 0 ? PetscSqrtReal(PetscMax(q, 0.0) / s2) : 0;
      }
    }
  }
  PetscCallMPI(MPI_Bcast(&meas, 1, MPIU_REAL, 0, c->comm));
  c->step_se = meas;
  {
    /* one progress line per iteration (a roll fit runs for minutes) */
    PetscInt  its, cnt[2] = {c->nevals, c->nfailed}, tot[2];
    PetscReal ssr = 0;
    PetscCall(TaoGetIterationNumber(tao, &its));
    PetscCallMPI(MPI_Allreduce(cnt, tot, 2, MPIU_INT, MPI_SUM, c->comm));
    if (c->p->collective) tot[0] = c->nevals, tot[1] = c->nfailed; /* counted on every rank */
    if (c->rank == 0)
      for (PetscInt i = 0; i < m; i++) ssr += c->rlast[i] * c->rlast[i];
    PetscCall(PetscPrintf(c->comm,
                          "  iteration %d: weighted RMS %.5g, Gauss-Newton step %.3g standard "
                          "error(s), %d model runs (%d failed), %.1f s\n",
                          (int)its, (double)PetscSqrtReal(ssr / (PetscReal)m),
                          meas >= PETSC_MAX_REAL ? (double)INFINITY : (double)meas, (int)tot[0],
                          (int)tot[1], MPI_Wtime() - c->t0));
  }
  {
    PetscBool same = c->have_prev;
    for (PetscInt j = 0; j < n && same; j++) same = (PetscBool)(c->uprev[j] == c->u[j]);
    for (PetscInt j = 0; j < n; j++) c->uprev[j] = c->u[j];
    c->have_prev = PETSC_TRUE;
    if (meas < c->p->step_tol) {
      c->step_converged = PETSC_TRUE;
      PetscCall(TaoSetConvergedReason(tao, TAO_CONVERGED_USER));
    } else if (same && !dfo) {
      /* an iteration that did not move: the line search found nothing
         better along a step the noise of the model or of its differences
         dominates. Within half a standard error of the Gauss-Newton optimum
         that is convergence at the noise floor; farther, a failure. */
      c->stalled = PETSC_TRUE;
      PetscCall(TaoSetConvergedReason(tao, meas < 0.5 ? TAO_CONVERGED_USER : TAO_DIVERGED_USER));
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCFitResultCreate(PetscInt n, PetscInt m, TCFitResult *res)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(res, sizeof(*res)));
  PetscCall(PetscCalloc5(n, &res->x, n, &res->x0, n, &res->se, n * n, &res->cov, m, &res->r0));
  PetscCall(PetscCalloc1(m, &res->r));
  PetscFunctionReturn(0);
}

PetscErrorCode TCFitResultDestroy(TCFitResult *res)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree5(res->x, res->x0, res->se, res->cov, res->r0));
  PetscCall(PetscFree(res->r));
  PetscFunctionReturn(0);
}

/* Invert the symmetric n x n matrix a (row-major) in place by Gauss-Jordan
   with partial pivoting; *singular when a pivot falls below 1e-12 of the
   largest diagonal entry (scaled to 1 by the caller: the parameters are not
   identifiable). */
static void FitInvert(PetscInt n, PetscReal a[], PetscBool *singular)
{
  PetscReal dmax = 0, inv[64 * 64];
  *singular      = PETSC_FALSE;
  for (PetscInt i = 0; i < n; i++) dmax = PetscMax(dmax, PetscAbsReal(a[i * n + i]));
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt j = 0; j < n; j++) inv[i * n + j] = i == j;
  for (PetscInt k = 0; k < n; k++) {
    PetscInt  p = k;
    PetscReal piv;
    for (PetscInt i = k + 1; i < n; i++)
      if (PetscAbsReal(a[i * n + k]) > PetscAbsReal(a[p * n + k])) p = i;
    if (!(PetscAbsReal(a[p * n + k]) > 1e-12 * dmax)) {
      *singular = PETSC_TRUE;
      return;
    }
    for (PetscInt j = 0; j < n; j++) {
      PetscReal t  = a[k * n + j];
      a[k * n + j] = a[p * n + j], a[p * n + j] = t;
      t = inv[k * n + j], inv[k * n + j] = inv[p * n + j], inv[p * n + j] = t;
    }
    piv = a[k * n + k];
    for (PetscInt j = 0; j < n; j++) a[k * n + j] /= piv, inv[k * n + j] /= piv;
    for (PetscInt i = 0; i < n; i++) {
      PetscReal f = a[i * n + k];
      if (i == k || f == 0) continue;
      for (PetscInt j = 0; j < n; j++)
        a[i * n + j] -= f * a[k * n + j], inv[i * n + j] -= f * inv[k * n + j];
    }
  }
  for (PetscInt i = 0; i < n * n; i++) a[i] = inv[i];
}

PetscErrorCode TCFitSolve(MPI_Comm comm, const TCFitProblem *p, TCFitResult *res)
{
  FitCtx             c;
  Tao                tao;
  Vec                U, R, L, H;
  Mat                J;
  const PetscInt     n = p->n, m = p->m;
  PetscInt           nl, ml;
  TaoConvergedReason reason;
  TaoType            type;
  PetscBool          ok;

  PetscFunctionBeginUser;
  PetscCheck(n >= 1 && n <= 64, comm, PETSC_ERR_USER_INPUT, "%d fit parameters: 1 to 64 accepted",
             (int)n);
  PetscCheck(m > n, comm, PETSC_ERR_USER_INPUT,
             "%d residuals for %d parameters: the measurement must have more points than "
             "parameters",
             (int)m, (int)n);
  /* registered on every rank alike, before any run (-log_view reduces by number) */
  if (FIT_EVENT_ModelRun < 0)
    PetscCall(PetscLogEventRegister("TCFitModelRun", TC_CLASSID, &FIT_EVENT_ModelRun));
  PetscCall(PetscMemzero(&c, sizeof(c)));
  c.comm = comm;
  c.t0   = MPI_Wtime();
  c.p    = p;
  PetscCallMPI(MPI_Comm_rank(comm, &c.rank));
  PetscCallMPI(MPI_Comm_size(comm, &c.size));
  PetscCall(PetscMalloc5(n, &c.x, n, &c.u, n, &c.rbuf, n, &c.ulast, m, &c.rlast));
  PetscCall(PetscMalloc6(m * n, &c.jbuf, m * n, &c.jsum, n, &c.step, n, &c.stepsum, n, &c.ujac, n,
                         &c.uprev));
  for (PetscInt j = 0; j < n; j++) {
    res->x0[j] = res->x[j];
    c.u[j]     = (res->x[j] - p->lo[j]) / (p->hi[j] - p->lo[j]);
  }
  /* the start: a model that fails there is an error, not a penalty */
  c.penalty = 0;
  if (p->collective || c.rank == 0) PetscCall(FitEval(&c, c.u, c.rlast, &ok));
  PetscCallMPI(MPI_Bcast(&ok, 1, MPIU_BOOL, 0, comm));
  PetscCheck(ok, comm, PETSC_ERR_USER_INPUT,
             "the model cannot be run at the starting values of the fit parameters (see the "
             "first error above, or run the deck alone)");
  for (PetscInt j = 0; j < n; j++) c.ulast[j] = c.u[j];
  c.have_last = PETSC_TRUE;
  c.last_ok   = PETSC_TRUE;
  if (c.rank == 0)
    for (PetscInt i = 0; i < m; i++) res->r0[i] = c.rlast[i];
  PetscCallMPI(MPI_Bcast(res->r0, (PetscMPIInt)m, MPIU_REAL, 0, comm));
  res->ssr0 = 0;
  for (PetscInt i = 0; i < m; i++) res->ssr0 += res->r0[i] * res->r0[i];
  /* a failed trial point scores ten times the start's RMS (at least 1 weighted unit) */
  c.penalty = 10 * PetscMax(1.0, PetscSqrtReal(res->ssr0 / m));

  nl = c.rank == 0 ? n : 0;
  ml = c.rank == 0 ? m : 0;
  PetscCall(VecCreateMPI(comm, nl, n, &U));
  PetscCall(VecCreateMPI(comm, ml, m, &R));
  PetscCall(VecDuplicate(U, &L));
  PetscCall(VecDuplicate(U, &H));
  PetscCall(VecSet(L, 0.0));
  PetscCall(VecSet(H, 1.0));
  if (c.rank == 0) {
    PetscScalar *a;
    PetscCall(VecGetArray(U, &a));
    for (PetscInt j = 0; j < n; j++) a[j] = PetscMin(1.0, PetscMax(0.0, c.u[j]));
    PetscCall(VecRestoreArray(U, &a));
  }
  PetscCall(MatCreateDense(comm, ml, nl, m, n, NULL, &J));
  PetscCall(TaoCreate(comm, &tao));
  PetscCall(TaoSetType(tao, TAOBRGN));
  PetscCall(TaoSetOptionsPrefix(tao, p->prefix));
  PetscCall(TaoSetSolution(tao, U));
  PetscCall(TaoSetVariableBounds(tao, L, H));
  PetscCall(TaoSetResidualRoutine(tao, R, FitResidual, &c));
  PetscCall(TaoSetJacobianResidualRoutine(tao, J, J, FitJacobian, &c));
  PetscCall(TaoSetObjectiveAndGradient(tao, NULL, FitObjectiveGradient, &c));
  /* defaults a user may override with -fit_tao_*: a relative gradient
     tolerance (the scale of the residuals is the data's, not known here),
     at most 30 iterations */
  PetscCall(TaoSetTolerances(tao, 1e-12, 1e-7, 0));
  PetscCall(TaoSetMaximumIterations(tao, 30));
  {
    /* a bad -fit_tao_* option is the user's: one collective message */
    PetscErrorCode ierr;
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    ierr = TaoSetFromOptions(tao);
    PetscCall(PetscPopErrorHandler());
    if (ierr) {
      const char *text;
      char       *specific = NULL;
      PetscErrorMessage(ierr, &text, &specific);
      SETERRQ(comm, PETSC_ERR_USER_INPUT, "the -%stao_* options: %s", p->prefix ? p->prefix : "",
              specific && specific[0] ? specific : text);
    }
  }
  {
    /* BRGN iterates in its subsolver (BNLS): the test goes there */
    PetscBool brgn;
    Tao       sub = tao;
    PetscCall(PetscObjectTypeCompare((PetscObject)tao, TAOBRGN, &brgn));
    if (brgn) PetscCall(TaoBRGNGetSubsolver(tao, &sub));
    PetscCall(TaoSetConvergenceTest(sub, FitConverged, &c));
  }
  PetscCall(TaoSolve(tao));
  PetscCall(TaoGetConvergedReason(tao, &reason));
  PetscCall(TaoGetIterationNumber(tao, &res->its));
  PetscCall(TaoGetType(tao, &type));
  PetscCall(PetscStrncpy(res->tao_type, type, sizeof(res->tao_type)));
  if (reason == TAO_CONVERGED_USER && c.step_converged)
    PetscCall(PetscStrncpy(res->reason, "CONVERGED_STEP_SE", sizeof(res->reason)));
  else if (reason == TAO_CONVERGED_USER && c.stalled)
    PetscCall(PetscStrncpy(res->reason, "CONVERGED_STALLED_STEP_SE", sizeof(res->reason)));
  else if (reason == TAO_DIVERGED_USER && c.stalled)
    PetscCall(PetscStrncpy(res->reason, "DIVERGED_STALLED", sizeof(res->reason)));
  else
    PetscCall(PetscStrncpy(res->reason, TaoConvergedReasons[reason], sizeof(res->reason)));
  res->converged = (PetscBool)(reason > 0);
  res->step_se   = c.step_se;

  /* at the solution: residuals and Jacobian again (the last ones TAO asked
     for may be at another point), then the covariance */
  PetscCall(FitBcastU(&c, U));
  PetscCall(FitJacobianAt(&c));
  if (c.rank == 0) {
    PetscReal jtj[64 * 64];
    res->ssr = 0;
    for (PetscInt i = 0; i < m; i++) res->r[i] = c.rlast[i], res->ssr += c.rlast[i] * c.rlast[i];
    res->sigma2 = res->ssr / (PetscReal)(m - n);
    for (PetscInt a = 0; a < n; a++)
      for (PetscInt b = 0; b < n; b++) {
        PetscReal s = 0;
        for (PetscInt i = 0; i < m; i++) s += c.jsum[(size_t)a * m + i] * c.jsum[(size_t)b * m + i];
        jtj[a * n + b] = s;
      }
    /* the covariance of the parameters inside their bounds; one held at a
       bound is fixed there (no standard error: the linearisation does not
       describe it). J^T J scaled to unit diagonal before the inversion. */
    {
      PetscInt  fr[64], nf = 0;
      PetscReal a2[64 * 64], sc[64];
      for (PetscInt a = 0; a < n; a++)
        if (c.u[a] > 1e-9 && c.u[a] < 1 - 1e-9) fr[nf++] = a;
      res->singular = PETSC_FALSE;
      for (PetscInt a = 0; a < nf; a++) {
        sc[a] = PetscSqrtReal(jtj[fr[a] * n + fr[a]]);
        if (!(sc[a] > 0)) res->singular = PETSC_TRUE; /* no sensitivity at all */
      }
      for (PetscInt a = 0; a < nf && !res->singular; a++)
        for (PetscInt b = 0; b < nf; b++) a2[a * nf + b] = jtj[fr[a] * n + fr[b]] / (sc[a] * sc[b]);
      if (nf && !res->singular) FitInvert(nf, a2, &res->singular);
      for (PetscInt k = 0; k < n * n; k++) res->cov[k] = NAN;
      for (PetscInt a = 0; a < n; a++) res->se[a] = NAN;
      for (PetscInt a = 0; a < nf && !res->singular; a++)
        for (PetscInt b = 0; b < nf; b++) {
          PetscInt ia = fr[a], ib = fr[b];
          res->cov[ia * n + ib] = res->sigma2 * a2[a * nf + b] / (sc[a] * sc[b]) *
                                  (p->hi[ia] - p->lo[ia]) * (p->hi[ib] - p->lo[ib]);
          if (a == b) res->se[ia] = PetscSqrtReal(PetscMax(0.0, res->cov[ia * n + ia]));
        }
    }
    for (PetscInt a = 0; a < n; a++) res->x[a] = p->lo[a] + c.u[a] * (p->hi[a] - p->lo[a]);
  }
  {
    PetscInt cnt[2] = {c.nevals, c.nfailed}, tot[2];
    PetscCallMPI(MPI_Allreduce(cnt, tot, 2, MPIU_INT, MPI_SUM, comm));
    if (p->collective) tot[0] = c.nevals, tot[1] = c.nfailed; /* counted on every rank */
    res->nevals = tot[0], res->nfailed = tot[1];
  }
  PetscCallMPI(MPI_Bcast(res->x, (PetscMPIInt)n, MPIU_REAL, 0, comm));
  PetscCallMPI(MPI_Bcast(res->se, (PetscMPIInt)n, MPIU_REAL, 0, comm));
  PetscCallMPI(MPI_Bcast(res->cov, (PetscMPIInt)(n * n), MPIU_REAL, 0, comm));
  PetscCallMPI(MPI_Bcast(res->r, (PetscMPIInt)m, MPIU_REAL, 0, comm));
  PetscCallMPI(MPI_Bcast(&res->ssr, 1, MPIU_REAL, 0, comm));
  PetscCallMPI(MPI_Bcast(&res->sigma2, 1, MPIU_REAL, 0, comm));
  PetscCallMPI(MPI_Bcast(&res->singular, 1, MPIU_BOOL, 0, comm));

  PetscCall(TaoDestroy(&tao));
  PetscCall(MatDestroy(&J));
  PetscCall(VecDestroy(&U));
  PetscCall(VecDestroy(&R));
  PetscCall(VecDestroy(&L));
  PetscCall(VecDestroy(&H));
  PetscCall(PetscFree5(c.x, c.u, c.rbuf, c.ulast, c.rlast));
  PetscCall(PetscFree6(c.jbuf, c.jsum, c.step, c.stepsum, c.ujac, c.uprev));
  PetscFunctionReturn(0);
}
