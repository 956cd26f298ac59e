/*
 * Bounded nonlinear least squares for calibration (tomocell fit):
 *
 *   min_x  1/2 sum_i r_i(x)^2,   lo <= x <= hi,
 *
 * with PETSc TAO (default TAOBRGN, bounded regularised Gauss-Newton; any TAO
 * type through the options prefix, e.g. -fit_tao_type pounders|bqnls|blmvm).
 * TAO works on the parameters scaled to [0, 1] (x = lo + u (hi - lo)), so
 * that parameters of different units are equally conditioned. The Jacobian
 * is by forward differences in u (a backward difference at the upper bound,
 * or where the forward point fails); with independent evaluations
 * (collective = PETSC_FALSE: each evaluation is a serial model run) its n
 * columns are shared out over the ranks of comm, column j on rank j mod size,
 * and gathered on rank 0; each evaluation is deterministic and serial, so the
 * result does not depend on the number of ranks. With collective
 * evaluations (each one a parallel model run on all of comm) they run one
 * after another.
 *
 * Convergence: TAO's tests (-fit_tao_grtol, -fit_tao_max_it, ...), and the
 * Gauss-Newton step from the current point shorter than step_tol standard
 * errors (reason CONVERGED_STEP_SE); an iteration that does not move
 * (the line search defeated by the noise of the model, e.g. its adaptive
 * time steps) ends the fit, converged (CONVERGED_STALLED_STEP_SE) if the
 * remaining step is below half a standard error, else DIVERGED_STALLED.
 *
 * Standard errors: the covariance sigma^2 (J^T J)^-1 at the solution, with
 * sigma^2 = SSR / (m - n) estimated from the residuals (Bates and Watts 1988,
 * ch. 2: the linear approximation; for weighted residuals r_i = e_i / s_i only
 * the relative weights matter), of the parameters inside their bounds: one
 * that ends at a bound is held there and has no standard error.
 */
#pragma once
#include <petscsys.h>

/* Evaluate the m residuals at the n parameters x (physical units). *ok =
   PETSC_FALSE when the model could not be run there (a penalty is used).
   Collective on comm if the problem says so, else called on one rank (any). */
typedef PetscErrorCode (*TCFitResidualFn)(const PetscReal x[], PetscReal r[], PetscBool *ok,
                                          void *ctx);

typedef struct {
  PetscInt         n, m;
  const PetscReal *lo, *hi;      /* finite bounds, lo < hi */
  PetscReal        fd_step;      /* difference step, fraction of hi - lo */
  PetscReal        step_tol;     /* converged when the Gauss-Newton step is below this many
                                    standard errors (0: TAO's own tests only) */
  PetscBool          collective; /* residual() is collective on comm */
  TCFitResidualFn    residual;
  void              *ctx;
  const char        *prefix; /* options prefix of the Tao, e.g. "fit_" */
  const char        *errmsg; /* the residual function's last failure (its storage), for messages */
  const char *const *names;  /* the parameters' names, for messages (may be NULL) */
} TCFitProblem;

typedef struct {
  PetscReal *x;      /* n: in the start, out the solution */
  PetscReal *x0;     /* n: the start */
  PetscReal *se;     /* n: standard errors (NaN at a bound, or all where J^T J is singular) */
  PetscReal *cov;    /* n x n, row-major */
  PetscReal *r0, *r; /* m: residuals at the start and at the solution */
  PetscReal  ssr0, ssr, sigma2;
  PetscReal  step_se; /* the last Gauss-Newton step from the solution, standard errors */
  PetscInt   its, nevals, nfailed;
  PetscBool  singular, converged;
  char       tao_type[64], reason[64];
} TCFitResult;

/* Collective on comm. res->x holds the start on entry (on every rank; the
   same everywhere); every field of res is filled on every rank (allocate
   with TCFitResultCreate). */
PETSC_EXTERN PetscErrorCode TCFitResultCreate(PetscInt n, PetscInt m, TCFitResult *res);
PETSC_EXTERN PetscErrorCode TCFitResultDestroy(TCFitResult *res);
PETSC_EXTERN PetscErrorCode TCFitSolve(MPI_Comm comm, const TCFitProblem *prob, TCFitResult *res);
