/*
 * SPM, SPMe and DFN cell models (see cellmodel.h).
 *
 * Model: Doyle, Fuller & Newman, J. Electrochem. Soc. 140 (1993) 1526; the
 * reduced models as in Marquis et al., J. Electrochem. Soc. 166 (2019)
 * A3693 (SPM, SPMe) and the PyBaMM implementation of both (Sulzer et al.,
 * J. Open Res. Softw. 9 (2021) 14), whose conventions are followed so that
 * the curves can be compared: Butler-Volmer with alpha = 1/2,
 * j = 2 j0 sinh(F eta / 2RT), eta = phi_s - phi_e - U; electrolyte current
 * i_e = -kappa_eff grad phi_e + 2RT/F (1 - t+) kappa_eff grad ln c_e
 * (thermodynamic factor 1); particles by Fick's law in spheres.
 *
 * Discretisation: cell-centred finite volumes in x (uniform within each
 * region; harmonic means of the effective coefficients at faces, so
 * fluxes are continuous across region boundaries) and in r (uniform shells,
 * exact shell volumes and face areas); the particle surface value is the
 * linear extrapolation of the last two shell values. Backward
 * Euler in time. Within a step the particle equations are linear in the
 * surface flux (the diffusivity is taken at the start of the step when it
 * depends on concentration), so each particle is solved for two right-hand
 * sides up front and its surface concentration is c_s = s0 + s1 j exactly;
 * the Newton system is then banded (interleaved per x cell) with one border
 * for the current, solved by a banded LU with partial pivoting and a Schur
 * complement on the border. The Schur complement of the terminal-voltage row
 * is dV/dI, whose inverse is the element's dI/dV.
 *
 * Limits: alpha = 1/2 only; no double layer, SEI or lithium plating
 * reactions; single particle size per electrode; the SPMe uses the
 * x-averaged electrolyte concentration in each electrode's exchange current.
 */
#include "solver/cellmodel.h"
#include "solver/band.h"
#include "solver/vmath.h"
#include <math.h>

const char *const TCCellModels[] = {"spm", "spme", "dfn", "TCCellModel", "TC_CELL_", NULL};

enum { REG_NEG = 0, REG_SEP = 1, REG_POS = 2 };

typedef struct {
  PetscReal U, dU;                         /* OCP (with entropic term) and dU/dtheta */
  PetscReal j0, dj0_dth, dj0_dce, eta, jj; /* at the current evaluation */
  PetscReal dUdT;
} TCKin;

typedef struct {
  PetscReal Qirr, Qrev, Qohm, eta_n, eta_p, anode, anode_min, th_n, th_p, ce_min, ce_max;
} TCDiag;

/* the workspace of a block of SPMe element updates (TCCellStepUpdateBatch):
   per element scalars (nb each) and, element-fastest, the x-cell vectors
   (nx nb), the banded matrix (nx W nb) and the particles (nr nb) */
typedef struct {
  PetscInt   nb; /* allocated for */
  PetscReal *T, *RTF2, *rt, *Ak[2], *AD[2], *ADe, *Aka, *Ia, *V, *dVdI, *s0[2], *s1[2];
  PetscReal *cen, *cep, *dphie, *acorr, *dI, *SV, *val, *Qohm, *mnorm, *lam, *Vlin;
  PetscReal *eta[2], *detaj[2], *detace[2], *U[2], *dUj[2], *th[2], *dUdT[2];
  PetscReal *y, *r, *bcol, *cV, *w, *z, *dy, *eD, *edD, *eK, *edK, *eiD, *eiK, *elc, *phie, *ceo;
  PetscReal *Tx, *J, *co[2], *u[2], *g[2], *ml, *idi, *up, *Df, *xs, *vz, *cw;
  PetscReal *ya, *Iacc, *nprev; /* the converged solves' accepted iterates (TCCellStepGuessBatch) */
  PetscReal *buf;
  /* every real array above with its rows (of nb lanes each), for BlockCompact */
  PetscReal **tab[96];
  PetscInt    trows[96], ntab;
  PetscInt   *piv;
  PetscBool  *good, *fok;
  TCDiag     *dg;
} TCBlock;

struct _p_TCCell {
  MPI_Comm            comm;
  const TCCellParams *p;
  TCCellModel         model;
  PetscInt            nxr[3], nr[2];
  PetscBool           setup;
  PetscReal           newton_rtol;
  PetscInt            newton_maxit;
  /* x mesh (SPMe, DFN) */
  PetscInt   nx, kn_last, kp_first;
  PetscReal *dx, *xc, *eps, *B, *a;
  PetscInt  *reg;
  /* particles: per electrode, np particles of nr shells */
  PetscInt  np[2];
  PetscReal dr[2], *rV[2], *rA[2]; /* shell volumes /(4 pi), outer face areas /(4 pi) */
  /* state layout */
  PetscInt nstate, off_cs[2], off_y;
  /* Newton system */
  PetscInt   N, kl, ku, W, *voff, *nv;
  PetscReal *J, *r, *bcol, *cV, *w, *z, *y, *dy, *ytry;
  PetscInt  *piv;
  PetscReal  V, dVdI;
  /* particle condensation */
  PetscReal *u, *g, *s0, *s1, *Dsurf, *tw, *phie, *eD, *edD, *eK, *edK, *eiD, *eiK, *elc;
  PetscReal  pf_dt[2], pf_arr[2]; /* dt and Arrhenius factor of the kept particle factorisations */
  /* per-step constants */
  PetscReal T, dt, Arr_k[2], Arr_D[2], Arr_De, Arr_ka;
  PetscReal I_ref, j_ref;
  /* SPM/SPMe scratch */
  TCKin   kin[2];
  TCBlock blk;
};

/* ------------------------------------------------------------------------ */
/* banded Newton matrix (solver/band.h layout)                              */

#define JB(c, i, j) ((c)->J[(size_t)(i) * (size_t)(c)->W + (size_t)((j) - (i) + (c)->kl)])

static PetscBool BandFactor(TCCell c)
{
  return TCBandFactor(c->N, c->kl, c->ku, c->J, c->piv);
}

/* solve with the factors for two right-hand sides at once */
static void BandSolve2(TCCell c, PetscReal *x, PetscReal *y)
{
  TCBandSolve2(c->N, c->kl, c->ku, c->J, c->piv, x, y);
}

static inline void AddJ(TCCell c, PetscInt i, PetscInt j, PetscReal v)
{
  JB(c, i, j) += v;
}

/* ------------------------------------------------------------------------ */

PetscErrorCode TCCellCreate(MPI_Comm comm, TCCell *cell)
{
  TCCell c;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&c));
  c->comm         = comm;
  c->model        = TC_CELL_DFN;
  c->nxr[0]       = 20;
  c->nxr[1]       = 20;
  c->nxr[2]       = 20;
  c->nr[0]        = 20;
  c->nr[1]        = 20;
  c->newton_rtol  = 1e-10;
  c->newton_maxit = 30;
  *cell           = c;
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellSetParams(TCCell c, const TCCellParams *p)
{
  PetscFunctionBeginUser;
  c->p     = p;
  c->setup = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellSetModel(TCCell c, TCCellModel model)
{
  PetscFunctionBeginUser;
  c->model = model;
  c->setup = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellSetTolerances(TCCell c, PetscReal rtol, PetscInt maxit)
{
  PetscFunctionBeginUser;
  PetscCheck(rtol > 0 && maxit > 0, c->comm, PETSC_ERR_USER_INPUT,
             "cell Newton: rtol %g and maxit %" PetscInt_FMT " must be positive", (double)rtol,
             maxit);
  c->newton_rtol  = rtol;
  c->newton_maxit = maxit;
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellGetModel(TCCell c, TCCellModel *model)
{
  PetscFunctionBeginUser;
  *model = c->model;
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellSetGrid(TCCell c, PetscInt nx_n, PetscInt nx_s, PetscInt nx_p, PetscInt nr_n,
                             PetscInt nr_p)
{
  PetscFunctionBeginUser;
  PetscCheck(
      nx_n >= 1 && nx_s >= 1 && nx_p >= 1 && nr_n >= 2 && nr_p >= 2, c->comm, PETSC_ERR_USER_INPUT,
      "cell grid: need at least 1 cell per region in x and 2 shells per particle, got "
      "%" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT,
      nx_n, nx_s, nx_p, nr_n, nr_p);
  c->nxr[0] = nx_n;
  c->nxr[1] = nx_s;
  c->nxr[2] = nx_p;
  c->nr[0]  = nr_n;
  c->nr[1]  = nr_p;
  c->setup  = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellSetFromOptions(TCCell c)
{
  PetscInt  m = (PetscInt)c->model, g[5];
  PetscBool set;

  PetscFunctionBeginUser;
  PetscOptionsBegin(c->comm, NULL, "Cell model options", "TCCell");
  PetscCall(PetscOptionsEList("-cell_model", "cell model", "TCCellSetModel", TCCellModels, 3,
                              TCCellModels[m], &m, &set));
  if (set) c->model = (TCCellModel)m;
  g[0] = c->nxr[0];
  g[1] = c->nxr[1];
  g[2] = c->nxr[2];
  g[3] = c->nr[0];
  g[4] = c->nr[1];
  PetscCall(
      PetscOptionsInt("-cell_nx_n", "cells in the negative electrode", NULL, g[0], &g[0], NULL));
  PetscCall(PetscOptionsInt("-cell_nx_s", "cells in the separator", NULL, g[1], &g[1], NULL));
  PetscCall(
      PetscOptionsInt("-cell_nx_p", "cells in the positive electrode", NULL, g[2], &g[2], NULL));
  PetscCall(PetscOptionsInt("-cell_nr_n", "shells per negative particle", NULL, g[3], &g[3], NULL));
  PetscCall(PetscOptionsInt("-cell_nr_p", "shells per positive particle", NULL, g[4], &g[4], NULL));
  PetscCall(PetscOptionsReal("-cell_newton_rtol", "Newton tolerance on the scaled update", NULL,
                             c->newton_rtol, &c->newton_rtol, NULL));
  PetscCall(PetscOptionsInt("-cell_newton_maxit", "Newton iterations per step", NULL,
                            c->newton_maxit, &c->newton_maxit, NULL));
  PetscOptionsEnd();
  PetscCall(TCCellSetGrid(c, g[0], g[1], g[2], g[3], g[4]));
  PetscFunctionReturn(0);
}

static PetscErrorCode TCCellFreeWork(TCCell c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree5(c->dx, c->xc, c->eps, c->B, c->a));
  PetscCall(PetscFree(c->reg));
  for (int e = 0; e < 2; e++) PetscCall(PetscFree2(c->rV[e], c->rA[e]));
  PetscCall(PetscFree2(c->voff, c->nv));
  PetscCall(PetscFree5(c->J, c->r, c->bcol, c->cV, c->w));
  PetscCall(PetscFree4(c->z, c->y, c->dy, c->ytry));
  PetscCall(PetscFree(c->piv));
  PetscCall(PetscFree6(c->u, c->g, c->s0, c->s1, c->Dsurf, c->tw));
  PetscCall(PetscFree(c->phie));
  PetscCall(PetscFree4(c->eD, c->edD, c->eK, c->edK));
  PetscCall(PetscFree3(c->eiD, c->eiK, c->elc));
  PetscCall(PetscFree5(c->blk.buf, c->blk.piv, c->blk.good, c->blk.fok, c->blk.dg));
  c->blk.nb = 0;
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellDestroy(TCCell *cell)
{
  PetscFunctionBeginUser;
  if (!*cell) PetscFunctionReturn(0);
  PetscCall(TCCellFreeWork(*cell));
  PetscCall(PetscFree(*cell));
  PetscFunctionReturn(0);
}

static const TCElectrodeParams *Elec(TCCell c, int e)
{
  return e == 0 ? &c->p->neg : &c->p->pos;
}

PetscErrorCode TCCellSetUp(TCCell c)
{
  const TCCellParams *p = c->p;
  PetscInt            k = 0, nrmax;

  PetscFunctionBeginUser;
  PetscCheck(p, c->comm, PETSC_ERR_ARG_WRONGSTATE, "TCCellSetParams() first");
  PetscCheck(!p->spm_only || c->model == TC_CELL_SPM, c->comm, PETSC_ERR_USER_INPUT,
             "%s is an SPM-only BPX set (\"Header\" -> \"Model\" \"SPM\": no electrolyte, "
             "separator, porosities or conductivities), so it cannot run the %s model: use model "
             "spm (-model spm)",
             p->source, c->model == TC_CELL_DFN ? "DFN" : "SPMe");
  PetscCall(TCCellFreeWork(c));
  c->nx = c->model == TC_CELL_SPM ? 0 : c->nxr[0] + c->nxr[1] + c->nxr[2];
  PetscCall(PetscCalloc5(c->nx + 1, &c->dx, c->nx + 1, &c->xc, c->nx + 1, &c->eps, c->nx + 1, &c->B,
                         c->nx + 1, &c->a));
  PetscCall(PetscCalloc1(c->nx + 1, &c->reg));
  if (c->nx) {
    PetscReal L[3] = {p->neg.L_m, p->L_sep_m, p->pos.L_m}, x0 = 0;
    for (int rg = 0; rg < 3; rg++) {
      for (PetscInt i = 0; i < c->nxr[rg]; i++, k++) {
        c->dx[k]  = L[rg] / c->nxr[rg];
        c->xc[k]  = x0 + (i + 0.5) * c->dx[k];
        c->reg[k] = rg;
        c->eps[k] = rg == 0 ? p->neg.eps : rg == 1 ? p->eps_sep : p->pos.eps;
        c->B[k]   = rg == 0 ? p->neg.B : rg == 1 ? p->B_sep : p->pos.B;
        c->a[k]   = rg == 0 ? p->neg.a_m : rg == 1 ? 0 : p->pos.a_m;
      }
      x0 += L[rg];
    }
    c->kn_last  = c->nxr[0] - 1;
    c->kp_first = c->nxr[0] + c->nxr[1];
  }
  c->np[0] = c->model == TC_CELL_DFN ? c->nxr[0] : 1;
  c->np[1] = c->model == TC_CELL_DFN ? c->nxr[2] : 1;
  for (int e = 0; e < 2; e++) {
    PetscInt  n = c->nr[e];
    PetscReal R = Elec(c, e)->R_m;
    c->dr[e]    = R / n;
    PetscCall(PetscMalloc2(n, &c->rV[e], n, &c->rA[e]));
    for (PetscInt i = 0; i < n; i++) {
      PetscReal r0 = i * c->dr[e], r1 = (i + 1) * c->dr[e];
      c->rV[e][i] = (r1 * r1 * r1 - r0 * r0 * r0) / 3;
      c->rA[e][i] = r1 * r1;
    }
  }
  /* Newton unknowns, interleaved per x cell */
  PetscCall(PetscMalloc2(c->nx + 1, &c->voff, c->nx + 1, &c->nv));
  c->N = 0;
  for (k = 0; k < c->nx; k++) {
    c->voff[k] = c->N;
    c->nv[k]   = c->model == TC_CELL_SPME ? 1 : (c->reg[k] == REG_SEP ? 2 : 4);
    c->N += c->nv[k];
  }
  /* bandwidths of the interleaved DFN ordering [ce, phi_e, phi_s, j] per cell:
     the phi_e row of cell k reaches c_e of cell k-1 (5 back) and phi_e of
     cell k+1 (4 ahead); every other coupling is nearer */
  c->kl = c->model == TC_CELL_DFN ? 5 : 1;
  c->ku = c->model == TC_CELL_DFN ? 4 : 1;
  c->W  = 2 * c->kl + c->ku + 1;
  PetscCall(PetscMalloc5((size_t)(c->N + 1) * (size_t)c->W, &c->J, c->N + 1, &c->r, c->N + 1,
                         &c->bcol, c->N + 1, &c->cV, c->N + 1, &c->w));
  PetscCall(PetscMalloc4(c->N + 1, &c->z, c->N + 1, &c->y, c->N + 1, &c->dy, c->N + 1, &c->ytry));
  PetscCall(PetscMalloc1(c->N + 1, &c->piv));
  nrmax = PetscMax(c->nr[0], c->nr[1]);
  PetscCall(PetscMalloc6(c->np[0] * c->nr[0] + c->np[1] * c->nr[1], &c->u,
                         c->np[0] * c->nr[0] + c->np[1] * c->nr[1], &c->g, c->np[0] + c->np[1],
                         &c->s0, c->np[0] + c->np[1], &c->s1, c->np[0] + c->np[1], &c->Dsurf,
                         8 * nrmax, &c->tw));
  c->pf_dt[0] = c->pf_dt[1] = -1; /* no particle factorisation kept yet */
  PetscCall(PetscCalloc1(c->nx + 1, &c->phie));
  PetscCall(
      PetscCalloc4(c->nx + 1, &c->eD, c->nx + 1, &c->edD, c->nx + 1, &c->eK, c->nx + 1, &c->edK));
  PetscCall(PetscCalloc3(c->nx + 1, &c->eiD, c->nx + 1, &c->eiK, c->nx + 1, &c->elc));
  /* state: Ia, V, particles, Newton unknowns */
  c->off_cs[0] = 2;
  c->off_cs[1] = c->off_cs[0] + c->np[0] * c->nr[0];
  c->off_y     = c->off_cs[1] + c->np[1] * c->nr[1];
  c->nstate    = c->off_y + c->N;
  c->I_ref     = p->Q_nom_Ah; /* 1C, A */
  c->j_ref     = c->I_ref / (p->area_m2 * p->neg.a_m * p->neg.L_m);
  c->setup     = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellGetStateSize(TCCell c, PetscInt *n, size_t *bytes)
{
  PetscFunctionBeginUser;
  PetscCheck(c->setup, c->comm, PETSC_ERR_ARG_WRONGSTATE, "TCCellSetUp() first");
  if (n) *n = c->nstate;
  if (bytes) *bytes = (size_t)c->nstate * sizeof(PetscReal);
  PetscFunctionReturn(0);
}

static PetscReal Arrhenius(PetscReal Ea, PetscReal Tref, PetscReal T)
{
  return Ea == 0 ? 1.0 : exp(Ea / TC_RGAS * (1.0 / Tref - 1.0 / T));
}

/* OCP with the entropic term, and its derivative in theta */
static PetscReal OCP(const TCCellParams *p, const TCElectrodeParams *e, PetscReal th, PetscReal T,
                     PetscReal *dU, PetscReal *dUdT)
{
  PetscReal U = TCFuncEval(e->U, th, T, dU), s = 0, ds = 0;
  if (e->dUdT) {
    s = TCFuncEval(e->dUdT, th, T, &ds);
    U += (T - p->T_ref) * s;
    if (dU) *dU += (T - p->T_ref) * ds;
  }
  if (dUdT) *dUdT = s;
  return U;
}

/* j0 = F k Arr sqrt(ce/ce0 th (1 - th)) and its partial derivatives */
static PetscReal ExchangeCurrentAt(const TCCellParams *p, const TCElectrodeParams *el,
                                   PetscReal Arr_k, PetscReal ce, PetscReal th, PetscReal *dth,
                                   PetscReal *dce)
{
  PetscReal pre = TC_FARADAY * el->k * Arr_k;
  PetscReal q   = ce / p->ce0 * th * (1 - th);
  PetscReal j0  = pre * sqrt(q);
  if (dth) *dth = 0.5 * j0 * (1 - 2 * th) / (th * (1 - th));
  if (dce) *dce = 0.5 * j0 / ce;
  return j0;
}

static PetscReal ExchangeCurrent(TCCell c, int e, PetscReal ce, PetscReal th, PetscReal *dth,
                                 PetscReal *dce)
{
  return ExchangeCurrentAt(c->p, Elec(c, e), c->Arr_k[e], ce, th, dth, dce);
}

/* Particles: for every particle, solve T u = V c_old / dt and T g = e_N, so
   that c_new = u - (R^2 / F) j g, and the surface value c_s = s0 + s1 j. */
static void ParticlePrep(TCCell c, const PetscReal *old)
{
  for (int e = 0; e < 2; e++) {
    const TCElectrodeParams *el = Elec(c, e);
    PetscInt                 n = c->nr[e], base = e == 0 ? 0 : c->np[0] * c->nr[0];
    PetscReal                dr = c->dr[e], R = el->R_m, cmax = el->cmax;
    /* tw, per electrode: multipliers, inverse pivots, upper diagonal, face
       diffusivities. With a constant D the factorisation and g are shared by
       all particles of the electrode and kept from call to call while dt and
       the temperature's Arrhenius factor stay (a network's elements share dt) */
    PetscReal *tw = c->tw + 4 * e * PetscMax(c->nr[0], c->nr[1]);
    PetscReal *ml = tw, *idi = tw + n, *up = tw + 2 * n, *Df = tw + 3 * n;
    PetscBool  cst = TCFuncIsConstant(el->D);
    PetscBool  factored =
        (PetscBool)(cst && c->dt > 0 && c->pf_dt[e] == c->dt && c->pf_arr[e] == c->Arr_D[e]);
    PetscReal Dc = cst ? TCFuncEval(el->D, 0.5, c->T, NULL) * c->Arr_D[e] : 0;
    for (PetscInt m = 0; m < c->np[e]; m++) {
      const PetscReal *co = old + c->off_cs[e] + m * n;
      PetscReal       *u = c->u + base + m * n, *g = c->g + base + m * n;
      PetscInt         pi = (e == 0 ? 0 : c->np[0]) + m;
      if (c->dt <= 0) { /* consistent initialisation: the particle does not move */
        for (PetscInt i = 0; i < n; i++) {
          u[i] = co[i];
          g[i] = 0;
        }
        c->pf_dt[e] = -1; /* g is overwritten */
      } else {
        if (!factored) {
          /* Thomas factorisation of the backward-Euler matrix; shared by all
             particles of the electrode when D does not depend on c */
          for (PetscInt i = 0; i < n - 1; i++)
            Df[i] =
                cst ? Dc
                    : TCFuncEval(el->D, 0.5 * (co[i] + co[i + 1]) / cmax, c->T, NULL) * c->Arr_D[e];
          for (PetscInt i = 0; i < n; i++) {
            PetscReal fl = i > 0 ? Df[i - 1] * c->rA[e][i - 1] / dr : 0;
            PetscReal fr = i < n - 1 ? Df[i] * c->rA[e][i] / dr : 0;
            PetscReal di = c->rV[e][i] / c->dt + fl + fr;
            if (i > 0) {
              ml[i] = -fl * idi[i - 1];
              di -= ml[i] * up[i - 1];
            }
            up[i]  = -fr;
            idi[i] = 1.0 / di;
          }
          /* g = T^{-1} e_N */
          for (PetscInt i = 0; i < n; i++) g[i] = 0;
          g[n - 1] = idi[n - 1];
          for (PetscInt i = n - 2; i >= 0; i--) g[i] = -up[i] * g[i + 1] * idi[i];
          factored = cst;
          if (cst) {
            c->pf_dt[e]  = c->dt;
            c->pf_arr[e] = c->Arr_D[e];
          } else
            c->pf_dt[e] = -1;
        } else
          for (PetscInt i = 0; i < n; i++) g[i] = c->g[base + i];
        u[0] = c->rV[e][0] * co[0] / c->dt;
        for (PetscInt i = 1; i < n; i++) u[i] = c->rV[e][i] * co[i] / c->dt - ml[i] * u[i - 1];
        u[n - 1] *= idi[n - 1];
        for (PetscInt i = n - 2; i >= 0; i--) u[i] = (u[i] - up[i] * u[i + 1]) * idi[i];
      }
      c->Dsurf[pi] = cst ? Dc : TCFuncEval(el->D, co[n - 1] / cmax, c->T, NULL) * c->Arr_D[e];
      /* surface value: linear extrapolation of the last two shell values (as
         PyBaMM's finite volumes do by default; it keeps c_s continuous in time
         when the current jumps, as the continuum solution is) */
      c->s0[pi] = 1.5 * u[n - 1] - 0.5 * u[n - 2];
      c->s1[pi] = -R * R / TC_FARADAY * (1.5 * g[n - 1] - 0.5 * g[n - 2]);
    }
  }
}

static void ParticleUpdate(TCCell c, const PetscReal *jflux, PetscReal *state)
{
  for (int e = 0; e < 2; e++) {
    PetscInt  n = c->nr[e], base = e == 0 ? 0 : c->np[0] * c->nr[0];
    PetscReal R = Elec(c, e)->R_m;
    for (PetscInt m = 0; m < c->np[e]; m++) {
      PetscReal  f  = R * R / TC_FARADAY * jflux[(e == 0 ? 0 : c->np[0]) + m];
      PetscReal *cs = state + c->off_cs[e] + m * n;
      for (PetscInt i = 0; i < n; i++) cs[i] = c->u[base + m * n + i] - f * c->g[base + m * n + i];
    }
  }
}

static void SetStepConstants(TCCell c, PetscReal T, PetscReal dt)
{
  const TCCellParams *p = c->p;
  c->T                  = T;
  c->dt                 = dt;
  c->Arr_k[0]           = Arrhenius(p->neg.Ea_k, p->T_ref, T);
  c->Arr_k[1]           = Arrhenius(p->pos.Ea_k, p->T_ref, T);
  c->Arr_D[0]           = Arrhenius(p->neg.Ea_D, p->T_ref, T);
  c->Arr_D[1]           = Arrhenius(p->pos.Ea_D, p->T_ref, T);
  c->Arr_De             = Arrhenius(p->Ea_De, p->T_ref, T);
  c->Arr_ka             = Arrhenius(p->Ea_kappa, p->T_ref, T);
}

/* Effective electrolyte properties at cell k */
static void Elyte(TCCell c, PetscInt k, PetscReal ce, PetscReal *D, PetscReal *dD, PetscReal *ka,
                  PetscReal *dka)
{
  *D = c->B[k] * c->Arr_De * TCFuncEval(c->p->De, ce, c->T, dD);
  *dD *= c->B[k] * c->Arr_De;
  *ka = c->B[k] * c->Arr_ka * TCFuncEval(c->p->kappa, ce, c->T, dka);
  *dka *= c->B[k] * c->Arr_ka;
}

/* Fill the per-cell cache: properties, their inverses and ln c_e (one
   division and one log per cell instead of several per face) */
static void ElyteCache(TCCell c, PetscInt k, PetscReal ce)
{
  Elyte(c, k, ce, &c->eD[k], &c->edD[k], &c->eK[k], &c->edK[k]);
  c->eiD[k] = 1.0 / c->eD[k];
  c->eiK[k] = 1.0 / c->eK[k];
  c->elc[k] = TCLog(ce);
}

/* Harmonic face coefficient between cells k and k+1 from cell values X and
   derivatives; returns K and dK/dX_k, dK/dX_k+1 chained with dX. */
static PetscReal FaceCoef(TCCell c, PetscInt k, const PetscReal *iX, const PetscReal *dX,
                          PetscReal *dKl, PetscReal *dKr)
{
  PetscReal hl = 0.5 * c->dx[k], hr = 0.5 * c->dx[k + 1], il = iX[k], ir = iX[k + 1];
  PetscReal K = 1.0 / (hl * il + hr * ir), K2 = K * K;
  *dKl = K2 * hl * il * il * dX[k];
  *dKr = K2 * hr * ir * ir * dX[k + 1];
  return K;
}

/* ------------------------------------------------------------------------ */
/* DFN residual and Jacobian                                                  */

static PetscBool DFNEval(TCCell c, const PetscReal *old, const PetscReal *y, PetscReal Ia,
                         PetscBool jac, TCDiag *dg)
{
  const TCCellParams *p    = c->p;
  const PetscReal    *ceo  = old + c->off_y;
  PetscReal           RTF2 = 2 * TC_RGAS * c->T / TC_FARADAY, A = p->area_m2;
  PetscReal           tp = p->t_plus, kk[2];
  PetscInt            nx = c->nx;

  for (PetscInt k = 0; k < nx; k++) {
    if (!(y[c->voff[k]] > 0) || !isfinite(y[c->voff[k]])) return PETSC_FALSE;
    ElyteCache(c, k, y[c->voff[k]]);
  }
  memset(c->r, 0, sizeof(PetscReal) * (size_t)c->N);
  memset(c->bcol, 0, sizeof(PetscReal) * (size_t)c->N);
  memset(c->cV, 0, sizeof(PetscReal) * (size_t)c->N);
  if (jac) memset(c->J, 0, sizeof(PetscReal) * (size_t)c->N * (size_t)c->W);
  if (dg) {
    memset(dg, 0, sizeof(*dg));
    dg->ce_min    = PETSC_MAX_REAL;
    dg->ce_max    = -PETSC_MAX_REAL;
    dg->anode_min = PETSC_MAX_REAL;
  }
  /* cell terms */
  for (PetscInt k = 0; k < nx; k++) {
    PetscInt  o = c->voff[k], rg = c->reg[k];
    PetscReal ce = y[o], dx = c->dx[k];
    if (c->dt > 0) {
      c->r[o] += c->eps[k] * dx * (ce - ceo[o]) / c->dt;
      if (jac) AddJ(c, o, o, c->eps[k] * dx / c->dt);
    } else { /* consistent initialisation: c_e stays */
      c->r[o] += ce - ceo[o];
      if (jac) AddJ(c, o, o, 1);
    }
    if (dg) {
      dg->ce_min = PetscMin(dg->ce_min, ce);
      dg->ce_max = PetscMax(dg->ce_max, ce);
    }
    if (rg != REG_SEP) {
      int                      e  = rg == REG_NEG ? 0 : 1;
      const TCElectrodeParams *el = Elec(c, e);
      PetscInt                 m = e == 0 ? k : k - c->kp_first, pi = e == 0 ? m : c->np[0] + m;
      PetscReal                phie = y[o + 1], phis = y[o + 2], j = y[o + 3];
      PetscReal                cs = c->s0[pi] + c->s1[pi] * j, th = cs / el->cmax, dU, dUdT;
      PetscReal                U, j0, dj0th, dj0ce, eta, sh, ch, aF = c->a[k] * dx;
      if (!(th > 0 && th < 1)) return PETSC_FALSE;
      U   = OCP(p, el, th, c->T, &dU, &dUdT);
      j0  = ExchangeCurrent(c, e, ce, th, &dj0th, &dj0ce);
      eta = phis - phie - U;
      sh  = sinh(eta / RTF2);
      ch  = cosh(eta / RTF2);
      /* electrolyte source, charge into electrolyte, out of solid */
      c->r[o] -= (1 - tp) * aF * j / TC_FARADAY;
      c->r[o + 1] -= aF * j;
      c->r[o + 2] += aF * j;
      c->r[o + 3] = j - 2 * j0 * sh;
      if (jac) {
        PetscReal dthdj = c->s1[pi] / el->cmax;
        AddJ(c, o, o + 3, -(1 - tp) * aF / TC_FARADAY);
        AddJ(c, o + 1, o + 3, -aF);
        AddJ(c, o + 2, o + 3, aF);
        AddJ(c, o + 3, o + 3, 1 - 2 * dj0th * dthdj * sh + 2 * j0 * ch / RTF2 * dU * dthdj);
        AddJ(c, o + 3, o + 2, -2 * j0 * ch / RTF2);
        AddJ(c, o + 3, o + 1, 2 * j0 * ch / RTF2);
        AddJ(c, o + 3, o, -2 * dj0ce * sh);
      }
      if (dg) {
        dg->Qirr += A * aF * j * eta;
        dg->Qrev += A * aF * j * c->T * dUdT;
        if (k == c->kn_last) {
          dg->eta_n = eta;
          dg->th_n  = th;
        }
        if (k == c->kp_first) {
          dg->eta_p = eta;
          dg->th_p  = th;
        }
        if (e == 0) dg->anode_min = PetscMin(dg->anode_min, phis - phie);
      }
    }
  }
  /* faces */
  for (PetscInt k = 0; k + 1 < nx; k++) {
    PetscInt  o = c->voff[k], q = c->voff[k + 1];
    PetscReal cl = y[o], cr = y[q], dKl, dKr, Kd, Kk, dKkl, dKkr, N, ie, lnr;
    kk[0] = c->eK[k];
    kk[1] = c->eK[k + 1];
    Kd    = FaceCoef(c, k, c->eiD, c->edD, &dKl, &dKr);
    N     = -Kd * (cr - cl);
    c->r[o] += N;
    c->r[q] -= N;
    if (jac) {
      PetscReal dNl = -dKl * (cr - cl) + Kd, dNr = -dKr * (cr - cl) - Kd;
      AddJ(c, o, o, dNl);
      AddJ(c, o, q, dNr);
      AddJ(c, q, o, -dNl);
      AddJ(c, q, q, -dNr);
    }
    Kk  = FaceCoef(c, k, c->eiK, c->edK, &dKkl, &dKkr);
    lnr = c->elc[k + 1] - c->elc[k];
    ie  = -Kk * (y[q + 1] - y[o + 1]) + Kk * RTF2 * (1 - tp) * lnr;
    c->r[o + 1] += ie;
    c->r[q + 1] -= ie;
    if (jac) {
      PetscReal dphl = Kk, dphr = -Kk;
      PetscReal dcl =
          dKkl * (-(y[q + 1] - y[o + 1]) + RTF2 * (1 - tp) * lnr) - Kk * RTF2 * (1 - tp) / cl;
      PetscReal dcr =
          dKkr * (-(y[q + 1] - y[o + 1]) + RTF2 * (1 - tp) * lnr) + Kk * RTF2 * (1 - tp) / cr;
      AddJ(c, o + 1, o + 1, dphl);
      AddJ(c, o + 1, q + 1, dphr);
      AddJ(c, o + 1, o, dcl);
      AddJ(c, o + 1, q, dcr);
      AddJ(c, q + 1, o + 1, -dphl);
      AddJ(c, q + 1, q + 1, -dphr);
      AddJ(c, q + 1, o, -dcl);
      AddJ(c, q + 1, q, -dcr);
    }
    if (dg) dg->Qohm += A * ie * (y[o + 1] - y[q + 1]);
    if (dg && k == c->kn_last) {
      /* phi_e at the interface by flux continuity (harmonic weights) */
      PetscReal wl =
          (0.5 * c->dx[k] / kk[0]) / (0.5 * c->dx[k] / kk[0] + 0.5 * c->dx[k + 1] / kk[1]);
      PetscReal phie_i = y[o + 1] + wl * (y[q + 1] - y[o + 1]);
      dg->anode        = y[o + 2] - phie_i;
    }
    /* solid current between two cells of the same electrode */
    if (c->reg[k] == c->reg[k + 1] && c->reg[k] != REG_SEP) {
      PetscReal sg = Elec(c, c->reg[k] == REG_NEG ? 0 : 1)->sigma_S_m;
      PetscReal Ks = sg / (0.5 * (c->dx[k] + c->dx[k + 1])), is = -Ks * (y[q + 2] - y[o + 2]);
      c->r[o + 2] += is;
      c->r[q + 2] -= is;
      if (jac) {
        AddJ(c, o + 2, o + 2, Ks);
        AddJ(c, o + 2, q + 2, -Ks);
        AddJ(c, q + 2, o + 2, -Ks);
        AddJ(c, q + 2, q + 2, Ks);
      }
      if (dg) dg->Qohm += A * is * (y[o + 2] - y[q + 2]);
    }
  }
  /* solid boundary conditions: phi_s(0) = 0; i_s(L) = Ia / A */
  {
    PetscInt  o = c->voff[0], q = c->voff[nx - 1];
    PetscReal Ks0 = p->neg.sigma_S_m / (0.5 * c->dx[0]), is0 = -Ks0 * (y[o + 2] - 0);
    PetscReal Rl = 0.5 * c->dx[nx - 1] / (p->pos.sigma_S_m * A);
    c->r[o + 2] -= is0;
    if (jac) AddJ(c, o + 2, o + 2, Ks0);
    c->r[q + 2] += Ia / A;
    c->bcol[q + 2] = 1.0 / A;
    c->V           = y[q + 2] - Ia * Rl;
    c->cV[q + 2]   = 1;
    c->dVdI        = -Rl;
    if (dg) dg->Qohm += A * is0 * (0 - y[o + 2]) + Ia * Ia * Rl;
  }
  return PETSC_TRUE;
}

/* ------------------------------------------------------------------------ */
/* SPM and SPMe: the voltage as a function of the electrolyte state and Ia    */

/* The kinetics' loops, for one element (SPKinAt) or across a block
   (BlockEval): theta at the surface and whether the element can be evaluated
   (else safe arguments: theta 0.5, c_e0), the entropic terms, j0 and the
   overpotential's derivatives (sb = j / 2 j0 for the asinh; RTF2 = 2RT/F),
   eta = RTF2 asinh(sb). */
static inline __attribute__((always_inline)) void
ThetaLanes(PetscInt nb, PetscReal dj, PetscReal cmax, PetscReal ce0, const PetscReal *restrict s0,
           const PetscReal *restrict s1, const PetscReal *restrict Ia, const PetscReal *restrict ce,
           PetscBool *restrict good, PetscReal *restrict th, PetscReal *restrict xs,
           PetscReal *restrict cs)
{
  for (PetscInt b = 0; b < nb; b++) {
    PetscReal j = Ia[b] * dj, t = (s0[b] + s1[b] * j) / cmax;
    PetscBool g = (PetscBool)(good[b] && t > 0 && t < 1 && ce[b] > 0);
    th[b]       = t;
    good[b]     = g;
    xs[b]       = g ? t : 0.5;
    cs[b]       = g ? ce[b] : ce0;
  }
}

static inline __attribute__((always_inline)) void
EntropicLanes(PetscInt nb, PetscReal Tref, const PetscReal *restrict T, const PetscReal *restrict s,
              const PetscReal *restrict ds, PetscReal *restrict U, PetscReal *restrict dU)
{
  for (PetscInt b = 0; b < nb; b++) {
    U[b] += (T[b] - Tref) * s[b];
    dU[b] += (T[b] - Tref) * ds[b];
  }
}

static inline __attribute__((always_inline)) void
KineticsLanes(PetscInt nb, PetscReal dj, PetscReal cmax, PetscReal pre0, PetscReal ce0,
              const PetscReal *restrict RTF2, const PetscReal *restrict s1,
              const PetscReal *restrict Ia, const PetscReal *restrict xs,
              const PetscReal *restrict cs, const PetscReal *restrict Ak, PetscReal *restrict dUj,
              PetscReal *restrict sbo, PetscReal *restrict detaj, PetscReal *restrict detace)
{
  for (PetscInt b = 0; b < nb; b++) {
    PetscReal dthdj = s1[b] / cmax;
    PetscReal j = Ia[b] * dj, x = xs[b], cb = cs[b];
    PetscReal pre = pre0 * Ak[b], q = cb / ce0 * x * (1 - x), j0 = pre * sqrt(q);
    PetscReal dj0th = 0.5 * j0 * (1 - 2 * x) / (x * (1 - x)), dj0ce = 0.5 * j0 / cb;
    PetscReal sb = j / (2 * j0), qb = RTF2[b] / sqrt(1 + sb * sb);
    dUj[b]    = dUj[b] * dthdj;
    sbo[b]    = sb;
    detaj[b]  = qb * (1.0 / (2 * j0) - sb / j0 * dj0th * dthdj);
    detace[b] = -qb * sb / j0 * dj0ce;
  }
}

static inline __attribute__((always_inline)) void EtaLanes(PetscInt nb,
                                                           const PetscReal *restrict RTF2,
                                                           const PetscReal *restrict as,
                                                           PetscReal *restrict eta)
{
  for (PetscInt b = 0; b < nb; b++) eta[b] = RTF2[b] * as[b];
}

/* Butler-Volmer inverted: eta = RTF2 asinh(j / 2 j0), with derivatives in j
   (including through theta = (s0 + s1 j)/cmax) and in j0's c_e; the block
   kernel's loops for one element, so that both give the same bits. */
static PetscBool SPKinAt(const TCCellParams *p, const TCElectrodeParams *el, PetscReal T,
                         PetscReal Arr_k, PetscReal s0, PetscReal s1, PetscReal ce, PetscReal j,
                         PetscReal *eta, PetscReal *detadj, PetscReal *detadce, PetscReal *U,
                         PetscReal *dUdj, PetscReal *th, PetscReal *dUdT)
{
  PetscReal RTF2 = 2 * TC_RGAS * T / TC_FARADAY, x, cs, sb, as;
  PetscBool good = PETSC_TRUE;
  ThetaLanes(1, 1.0, el->cmax, p->ce0, &s0, &s1, &j, &ce, &good, th, &x, &cs);
  if (!good) return PETSC_FALSE;
  *U = OCP(p, el, x, T, dUdj, dUdT); /* dU/dtheta: times dtheta/dj in KineticsLanes */
  KineticsLanes(1, 1.0, el->cmax, TC_FARADAY * el->k, p->ce0, &RTF2, &s1, &j, &x, &cs, &Arr_k, dUdj,
                &sb, detadj, detadce);
  TCAsinhArray(1, &sb, &as);
  EtaLanes(1, &RTF2, &as, eta);
  return PETSC_TRUE;
}

static PetscBool SPKin(TCCell c, int e, PetscReal ce, PetscReal j, PetscReal *eta,
                       PetscReal *detadj, PetscReal *detadce, PetscReal *U, PetscReal *dUdj,
                       PetscReal *th, PetscReal *dUdT)
{
  PetscInt pi = e == 0 ? 0 : c->np[0];
  return SPKinAt(c->p, Elec(c, e), c->T, c->Arr_k[e], c->s0[pi], c->s1[pi], ce, j, eta, detadj,
                 detadce, U, dUdj, th, dUdT);
}

static PetscBool SPEval(TCCell c, const PetscReal *old, const PetscReal *y, PetscReal Ia,
                        PetscBool jac, TCDiag *dg)
{
  const TCCellParams *p = c->p;
  PetscReal           A = p->area_m2, RTF2 = 2 * TC_RGAS * c->T / TC_FARADAY, tp = p->t_plus;
  PetscReal           djn = 1.0 / (A * p->neg.a_m * p->neg.L_m);
  PetscReal           djp = -1.0 / (A * p->pos.a_m * p->pos.L_m);
  PetscReal           jn = Ia * djn, jp = Ia * djp, cen = p->ce0, cep = p->ce0;
  PetscReal           eta[2], detaj[2], detace[2], U[2], dUj[2], th[2], dUdT[2];
  PetscReal           dphie = 0, dphis, Rs, anode_corr = 0;
  PetscInt            nx = c->nx;

  if (dg) memset(dg, 0, sizeof(*dg));
  if (nx) {
    memset(c->r, 0, sizeof(PetscReal) * (size_t)c->N);
    memset(c->bcol, 0, sizeof(PetscReal) * (size_t)c->N);
    memset(c->cV, 0, sizeof(PetscReal) * (size_t)c->N);
    if (jac) memset(c->J, 0, sizeof(PetscReal) * (size_t)c->N * (size_t)c->W);
    cen = cep = 0;
    for (PetscInt k = 0; k < nx; k++) {
      if (!(y[k] > 0) || !isfinite(y[k])) return PETSC_FALSE;
      ElyteCache(c, k, y[k]);
      if (c->reg[k] == REG_NEG) cen += c->dx[k] * y[k] / p->neg.L_m;
      if (c->reg[k] == REG_POS) cep += c->dx[k] * y[k] / p->pos.L_m;
    }
  }
  if (!SPKin(c, 0, cen, jn, &eta[0], &detaj[0], &detace[0], &U[0], &dUj[0], &th[0], &dUdT[0]))
    return PETSC_FALSE;
  if (!SPKin(c, 1, cep, jp, &eta[1], &detaj[1], &detace[1], &U[1], &dUj[1], &th[1], &dUdT[1]))
    return PETSC_FALSE;
  c->V    = U[1] - U[0] + eta[1] - eta[0];
  c->dVdI = (dUj[1] + detaj[1]) * djp - (dUj[0] + detaj[0]) * djn;
  if (nx) {
    const PetscReal *ceo = old + c->off_y;
    PetscReal        L = p->neg.L_m + p->L_sep_m + p->pos.L_m, xf = 0, Wf = 0, *phie = c->phie;
    /* electrolyte mass balance with the uniform reaction of each electrode */
    for (PetscInt k = 0; k < nx; k++) {
      PetscReal dx = c->dx[k], dsrc = 0;
      if (c->dt > 0) {
        c->r[k] += c->eps[k] * dx * (y[k] - ceo[k]) / c->dt;
        if (jac) AddJ(c, k, k, c->eps[k] * dx / c->dt);
      } else {
        c->r[k] += y[k] - ceo[k];
        if (jac) AddJ(c, k, k, 1);
      }
      if (c->reg[k] == REG_NEG)
        dsrc = (1 - tp) * c->a[k] * dx * djn / TC_FARADAY;
      else if (c->reg[k] == REG_POS)
        dsrc = (1 - tp) * c->a[k] * dx * djp / TC_FARADAY;
      c->r[k] -= dsrc * Ia;
      c->bcol[k] -= dsrc;
      /* V depends on the averaged c_e through j0 */
      if (c->reg[k] == REG_NEG) c->cV[k] += -detace[0] * dx / p->neg.L_m;
      if (c->reg[k] == REG_POS) c->cV[k] += detace[1] * dx / p->pos.L_m;
      /* averaging weights right of face 0: avg_p - avg_n of phi_e = sum_f Wf dphi_f */
      if (k > 0)
        Wf +=
            c->reg[k] == REG_NEG ? -dx / p->neg.L_m : (c->reg[k] == REG_POS ? dx / p->pos.L_m : 0);
    }
    phie[0] = 0;
    for (PetscInt k = 0; k + 1 < nx; k++) {
      PetscReal dk0, dk1, ie_I, Rk, dRl, dRr, diff, Kd, dKl, dKr, N;
      dk0 = c->edK[k];
      dk1 = c->edK[k + 1];
      Kd  = FaceCoef(c, k, c->eiD, c->edD, &dKl, &dKr);
      N   = -Kd * (y[k + 1] - y[k]);
      c->r[k] += N;
      c->r[k + 1] -= N;
      if (jac) {
        PetscReal dNl = -dKl * (y[k + 1] - y[k]) + Kd, dNr = -dKr * (y[k + 1] - y[k]) - Kd;
        AddJ(c, k, k, dNl);
        AddJ(c, k, k + 1, dNr);
        AddJ(c, k + 1, k, -dNl);
        AddJ(c, k + 1, k + 1, -dNr);
      }
      /* electrolyte current at the face is known from Ia (uniform reaction) */
      xf += c->dx[k];
      if (c->reg[k] == REG_NEG && c->reg[k + 1] == REG_NEG)
        ie_I = xf / p->neg.L_m / A;
      else if (c->reg[k] == REG_POS)
        ie_I = (L - xf) / p->pos.L_m / A;
      else
        ie_I = 1.0 / A;
      Rk          = 0.5 * c->dx[k] * c->eiK[k] + 0.5 * c->dx[k + 1] * c->eiK[k + 1];
      dRl         = -0.5 * c->dx[k] * dk0 * c->eiK[k] * c->eiK[k];
      dRr         = -0.5 * c->dx[k + 1] * dk1 * c->eiK[k + 1] * c->eiK[k + 1];
      diff        = -ie_I * Ia * Rk + RTF2 * (1 - tp) * (c->elc[k + 1] - c->elc[k]);
      phie[k + 1] = phie[k] + diff;
      dphie += Wf * diff;
      c->cV[k] += Wf * (-ie_I * Ia * dRl - RTF2 * (1 - tp) / y[k]);
      c->cV[k + 1] += Wf * (-ie_I * Ia * dRr + RTF2 * (1 - tp) / y[k + 1]);
      c->dVdI += Wf * (-ie_I * Rk);
      if (dg) dg->Qohm += -A * ie_I * Ia * diff;
      if (k == c->kn_last) { /* phi_e at the n/s interface, harmonic weight as in the DFN */
        PetscReal wl = 0.5 * c->dx[k] * c->eiK[k] / Rk, avg = 0;
        for (PetscInt q = 0; q <= c->kn_last; q++) avg += phie[q] * c->dx[q] / p->neg.L_m;
        anode_corr = -(phie[k] + wl * diff - avg);
      }
      Wf -= c->reg[k + 1] == REG_NEG ? -c->dx[k + 1] / p->neg.L_m
                                     : (c->reg[k + 1] == REG_POS ? c->dx[k + 1] / p->pos.L_m : 0);
    }
    Rs    = (p->neg.L_m / (3 * p->neg.sigma_S_m) + p->pos.L_m / (3 * p->pos.sigma_S_m)) / A;
    dphis = -Ia * Rs;
    c->V += dphie + dphis;
    c->dVdI += -Rs;
    if (dg) dg->Qohm += Ia * Ia * Rs;
  }
  if (dg) {
    dg->eta_n = eta[0];
    dg->eta_p = eta[1];
    dg->th_n  = th[0];
    dg->th_p  = th[1];
    dg->Qirr  = Ia * (eta[0] - eta[1]);
    dg->Qrev  = Ia * c->T * (dUdT[0] - dUdT[1]);
    dg->anode =
        U[0] + eta[0] + (nx ? anode_corr - (Ia / A) * p->neg.L_m / (6 * p->neg.sigma_S_m) : 0);
    dg->anode_min = dg->anode;
    dg->ce_min = dg->ce_max = p->ce0;
    if (nx) {
      dg->ce_min = PETSC_MAX_REAL;
      dg->ce_max = -PETSC_MAX_REAL;
      for (PetscInt k = 0; k < nx; k++) {
        dg->ce_min = PetscMin(dg->ce_min, y[k]);
        dg->ce_max = PetscMax(dg->ce_max, y[k]);
      }
    }
  }
  return PETSC_TRUE;
}

/* ------------------------------------------------------------------------ */
/* Newton on the bordered banded system                                       */

static PetscBool Eval(TCCell c, const PetscReal *old, const PetscReal *y, PetscReal Ia,
                      PetscBool jac, TCDiag *dg)
{
  return c->model == TC_CELL_DFN ? DFNEval(c, old, y, Ia, jac, dg) : SPEval(c, old, y, Ia, jac, dg);
}

/* terminal equation g(y, Ia) = 0 with row (cf * cV, d) */
static void Terminal(TCCell c, TCCellControl ctl, PetscReal value, PetscReal Ia, PetscReal *g,
                     PetscReal *cf, PetscReal *d)
{
  switch (ctl) {
  case TC_CELL_CURRENT:
    *g  = Ia - value;
    *cf = 0;
    *d  = 1;
    break;
  case TC_CELL_VOLTAGE:
    *g  = c->V - value;
    *cf = 1;
    *d  = c->dVdI;
    break;
  case TC_CELL_POWER:
    *g  = Ia * c->V - value;
    *cf = Ia;
    *d  = c->V + Ia * c->dVdI;
    break;
  case TC_CELL_RESISTANCE:
    *g  = c->V - Ia * value;
    *cf = 1;
    *d  = c->dVdI - value;
    break;
  }
}

/* scaled max-norm of an update */
static PetscReal UpdateNorm(TCCell c, const PetscReal *dy, PetscReal dI)
{
  PetscReal m = PetscAbsReal(dI) / c->I_ref;
  for (PetscInt k = 0; k < c->nx; k++) {
    PetscInt o = c->voff[k];
    m          = PetscMax(m, PetscAbsReal(dy[o]) / c->p->ce0);
    if (c->model == TC_CELL_DFN) {
      m = PetscMax(m, PetscAbsReal(dy[o + 1]));
      if (c->nv[k] == 4) {
        m = PetscMax(m, PetscAbsReal(dy[o + 2]));
        m = PetscMax(m, PetscAbsReal(dy[o + 3]) / c->j_ref);
      }
    }
  }
  return m;
}

/* Solve the linearised bordered system at the last evaluation. Returns the
   Newton update (dy, dI) and the Schur complement dV/dI of the voltage row. */
static PetscBool NewtonUpdate(TCCell c, TCCellControl ctl, PetscReal value, PetscReal Ia,
                              PetscReal *dy, PetscReal *dI, PetscReal *SV)
{
  PetscReal g = 0, cf = 0, d = 1, cz = 0, cw = 0, vz = 0;
  Terminal(c, ctl, value, Ia, &g, &cf, &d);
  if (c->N) {
    if (!BandFactor(c)) return PETSC_FALSE;
    for (PetscInt i = 0; i < c->N; i++) {
      c->w[i] = -c->r[i];
      c->z[i] = c->bcol[i];
    }
    BandSolve2(c, c->w, c->z);
    for (PetscInt i = 0; i < c->N; i++) {
      vz += c->cV[i] * c->z[i];
      cw += c->cV[i] * c->w[i];
    }
    cz = cf * vz;
    cw *= cf;
  }
  if (d - cz == 0 || !isfinite(d - cz)) return PETSC_FALSE;
  *dI = (-g - cw) / (d - cz);
  for (PetscInt i = 0; i < c->N; i++) dy[i] = c->w[i] - c->z[i] * (*dI);
  *SV = c->dVdI - vz;
  return PETSC_TRUE;
}

static void FluxesOf(TCCell c, const PetscReal *y, PetscReal Ia, PetscReal *jf)
{
  const TCCellParams *p = c->p;
  if (c->model == TC_CELL_DFN) {
    for (PetscInt m = 0; m < c->np[0]; m++) jf[m] = y[c->voff[m] + 3];
    for (PetscInt m = 0; m < c->np[1]; m++) jf[c->np[0] + m] = y[c->voff[c->kp_first + m] + 3];
  } else {
    jf[0] = Ia / (p->area_m2 * p->neg.a_m * p->neg.L_m);
    jf[1] = -Ia / (p->area_m2 * p->pos.a_m * p->pos.L_m);
  }
}

/* Fraction to the boundary: the largest step length in (0, 1] that keeps
   every surface stoichiometry in (0, 1) and every c_e positive, backed off
   by tau = 0.99 (so a surface can approach saturation geometrically, as
   happens near the separator in a constant-voltage hold, without Newton
   iterates ever leaving the domain). */
static PetscReal MaxStep(TCCell c, const PetscReal *y, const PetscReal *dy, PetscReal Ia,
                         PetscReal dI)
{
  const PetscReal tau  = 0.99;
  PetscReal       lmax = 1, jf[2], djf[2];
  for (PetscInt k = 0; k < c->nx; k++) {
    PetscInt o = c->voff[k];
    if (dy[o] < 0) lmax = PetscMin(lmax, tau * y[o] / -dy[o]);
  }
  for (int e = 0; e < 2; e++) {
    const TCElectrodeParams *el = Elec(c, e);
    for (PetscInt m = 0; m < c->np[e]; m++) {
      PetscInt  pi = (e == 0 ? 0 : c->np[0]) + m;
      PetscReal j, dj, th, dth;
      if (c->model == TC_CELL_DFN) {
        PetscInt o = c->voff[e == 0 ? m : c->kp_first + m];
        j          = y[o + 3];
        dj         = dy[o + 3];
      } else {
        FluxesOf(c, NULL, Ia, jf);
        FluxesOf(c, NULL, dI, djf);
        j  = jf[e];
        dj = djf[e];
      }
      th  = (c->s0[pi] + c->s1[pi] * j) / el->cmax;
      dth = c->s1[pi] * dj / el->cmax;
      if (dth > 0) lmax = PetscMin(lmax, tau * (1 - th) / dth);
      if (dth < 0) lmax = PetscMin(lmax, tau * th / -dth);
    }
  }
  return lmax > 0 ? lmax : 0;
}

/* The start of a step from an iterate (a guess): constants, particles, the
   unknowns into c->y; returns the current to start from */
static PetscReal StepBegin(TCCell c, const PetscReal old[], const PetscReal iter[],
                           TCCellControl ctl, PetscReal value, PetscReal T_K, PetscReal dt_s)
{
  PetscReal Ia;

  SetStepConstants(c, T_K, dt_s);
  ParticlePrep(c, old);
  memcpy(c->y, iter + c->off_y, sizeof(PetscReal) * (size_t)c->N);
  Ia = ctl == TC_CELL_CURRENT ? value : iter[0];
  if (ctl == TC_CELL_POWER && Ia == 0 && iter[1] > 0) Ia = value / iter[1];
  if (ctl == TC_CELL_RESISTANCE && Ia == 0 && iter[1] > 0) Ia = iter[1] / value;
  return Ia;
}

/* a step's result into a state: current, voltage, the unknowns in c->y and
   the particles that follow from their fluxes */
static PetscErrorCode StoreState(TCCell c, PetscReal Ia, PetscReal V, PetscReal new_[])
{
  PetscReal jf[1024], *jp = jf;

  PetscFunctionBeginUser;
  new_[0] = Ia;
  new_[1] = V;
  PetscCall(PetscArraycpy(new_ + c->off_y, c->y, c->N));
  if (c->np[0] + c->np[1] > 1024) PetscCall(PetscMalloc1(c->np[0] + c->np[1], &jp));
  FluxesOf(c, c->y, Ia, jp);
  ParticleUpdate(c, jp, new_);
  if (jp != jf) PetscCall(PetscFree(jp));
  PetscFunctionReturn(0);
}

/* the result of a step from the diagnostics of its last evaluation */
static PetscErrorCode FillResult(TCCell c, const TCDiag *dg, PetscReal Ia, PetscReal V,
                                 PetscReal SV, PetscInt its, const PetscReal new_[],
                                 PetscBool averages, TCCellResult *res)
{
  PetscReal nn, np_, ne;

  PetscFunctionBeginUser;
  res->I_A               = Ia;
  res->V_V               = V;
  res->dIdV_S            = 1.0 / SV;
  res->Q_irr_W           = dg->Qirr;
  res->Q_rev_W           = dg->Qrev;
  res->Q_ohm_W           = dg->Qohm;
  res->Q_W               = dg->Qirr + dg->Qrev + dg->Qohm;
  res->eta_n_V           = dg->eta_n;
  res->eta_p_V           = dg->eta_p;
  res->anode_vs_li_V     = dg->anode;
  res->anode_vs_li_min_V = dg->anode_min;
  res->sto_surf_n        = dg->th_n;
  res->sto_surf_p        = dg->th_p;
  res->ce_min            = dg->ce_min;
  res->ce_max            = dg->ce_max;
  res->newton_its        = its;
  res->sto_avg_n = res->sto_avg_p = NAN;
  if (!averages) PetscFunctionReturn(0);
  PetscCall(TCCellStateLithium(c, new_, &nn, &np_, &ne));
  res->sto_avg_n = nn / (c->p->area_m2 * c->p->neg.L_m * c->p->neg.eps_s * c->p->neg.cmax);
  res->sto_avg_p = np_ / (c->p->area_m2 * c->p->pos.L_m * c->p->pos.eps_s * c->p->pos.cmax);
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellStep(TCCell c, const PetscReal old[], TCCellControl ctl, PetscReal value,
                          PetscReal T_K, PetscReal dt_s, PetscReal new_[], TCCellResult *res,
                          PetscBool *converged)
{
  PetscFunctionBeginUser;
  PetscCall(TCCellStepGuess(c, old, old, ctl, value, T_K, dt_s, new_, res, converged));
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellStepGuess(TCCell c, const PetscReal old[], const PetscReal guess[],
                               TCCellControl ctl, PetscReal value, PetscReal T_K, PetscReal dt_s,
                               PetscReal new_[], TCCellResult *res, PetscBool *converged)
{
  PetscReal Ia, dI = 0, SV = 0, nrm = PETSC_MAX_REAL, lambda = 1;
  PetscInt  it;
  TCDiag    dg;
  PetscBool ok, last = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCheck(c->setup, c->comm, PETSC_ERR_ARG_WRONGSTATE, "TCCellSetUp() first");
  *converged = PETSC_FALSE;
  Ia         = StepBegin(c, old, guess, ctl, value, T_K, dt_s);
  if (!Eval(c, old, c->y, Ia, PETSC_TRUE, NULL)) PetscFunctionReturn(0);
  for (it = 0; it < c->newton_maxit; it++) {
    PetscReal nrm_prev = nrm;
    if (!NewtonUpdate(c, ctl, value, Ia, c->dy, &dI, &SV)) PetscFunctionReturn(0);
    nrm = UpdateNorm(c, c->dy, dI);
    /* converged when the update, or the error left after it as estimated
       from quadratic convergence (nrm^2 / nrm_prev), is below rtol; then the
       last evaluation needs no Jacobian, and dI/dV comes from this last
       factorisation, O(rtol) from the final point */
    last = (PetscBool)(nrm <= c->newton_rtol ||
                       (it > 0 && nrm < 1e-2 * nrm_prev && nrm * nrm / nrm_prev <= c->newton_rtol));
    for (lambda = MaxStep(c, c->y, c->dy, Ia, dI), ok = PETSC_FALSE; lambda > 1e-8; lambda *= 0.5) {
      for (PetscInt i = 0; i < c->N; i++) c->ytry[i] = c->y[i] + lambda * c->dy[i];
      if ((ok = Eval(c, old, c->ytry, Ia + lambda * dI, (PetscBool) !(last && lambda == 1),
                     last && lambda == 1 ? &dg : NULL)))
        break;
    }
    if (!ok) PetscFunctionReturn(0);
    PetscCall(PetscArraycpy(c->y, c->ytry, c->N));
    Ia += lambda * dI;
    if (last && lambda == 1) break;
  }
  if (it == c->newton_maxit) PetscFunctionReturn(0);
  PetscCall(StoreState(c, Ia, c->V, new_));
  if (res) PetscCall(FillResult(c, &dg, Ia, c->V, SV, it + 1, new_, PETSC_TRUE, res));
  *converged = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellStepUpdate(TCCell c, const PetscReal old[], const PetscReal iter[],
                                TCCellControl ctl, PetscReal value, PetscReal T_K, PetscReal dt_s,
                                PetscReal new_[], TCCellResult *res, PetscReal *update,
                                PetscReal sens[], PetscBool *ok)
{
  PetscReal Ia, dI = 0, SV = 0, lambda, Vlin;
  TCDiag    dg;

  PetscFunctionBeginUser;
  PetscCheck(c->setup, c->comm, PETSC_ERR_ARG_WRONGSTATE, "TCCellSetUp() first");
  PetscCheck(!sens || ctl == TC_CELL_VOLTAGE, c->comm, PETSC_ERR_ARG_WRONG,
             "the sensitivity is to the terminal voltage: voltage control only");
  *ok     = PETSC_FALSE;
  *update = PETSC_MAX_REAL;
  Ia      = StepBegin(c, old, iter, ctl, value, T_K, dt_s);
  if (!Eval(c, old, c->y, Ia, PETSC_TRUE, &dg)) PetscFunctionReturn(0);
  if (!NewtonUpdate(c, ctl, value, Ia, c->dy, &dI, &SV)) PetscFunctionReturn(0);
  *update = UpdateNorm(c, c->dy, dI);
  lambda  = MaxStep(c, c->y, c->dy, Ia, dI);
  if (!(lambda > 1e-8) || !isfinite(*update)) PetscFunctionReturn(0);
  if (lambda < 1) *update = PetscMax(*update, 1.0); /* damped: not converged */
  /* the terminal voltage of the linearised system after the update */
  Vlin = c->V + lambda * (c->dVdI * dI);
  for (PetscInt i = 0; i < c->N; i++) {
    c->y[i] += lambda * c->dy[i];
    Vlin += lambda * c->cV[i] * c->dy[i];
  }
  Ia += lambda * dI;
  if (sens) { /* under voltage control d - c z = SV: dI/dV = 1/SV, dy/dV = -z/SV */
    sens[0] = 1.0 / SV;
    for (PetscInt i = 0; i < c->N; i++) sens[1 + i] = -c->z[i] / SV;
  }
  PetscCall(StoreState(c, Ia, Vlin, new_));
  if (res) PetscCall(FillResult(c, &dg, Ia, Vlin, SV, 1, new_, PETSC_FALSE, res));
  *ok = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* ------------------------------------------------------------------------ */
/* SPMe element updates in blocks (structure of arrays)                       */
/*                                                                            */
/* TCCellStepUpdate (SPMe, voltage control) for a block of elements: the same */
/* operations on every element in the same order (so the same bits), with the */
/* loops running across the block. The parameter functions are evaluated for  */
/* the whole block at once (TCFuncEvalBatch), the banded Newton systems are   */
/* factored and solved together (TCBandFactorBatch), the particle and         */
/* electrolyte loops are across elements, and so are the kinetics (the OCPs  */
/* batched, ln c_e and asinh by solver/vmath.h's functions, which the single- */
/* element code uses too).                                                    */

static PetscErrorCode BlockAlloc(TCCell c, PetscInt nb)
{
  TCBlock   *w  = &c->blk;
  PetscInt   nx = c->nx, nrm = PetscMax(c->nr[0], c->nr[1]), nv, ns = 46;
  PetscReal *q;

  PetscFunctionBeginUser;
  if (w->nb >= nb) PetscFunctionReturn(0);
  PetscCall(PetscFree5(w->buf, w->piv, w->good, w->fok, w->dg));
  /* ns scalars per element, 19 x-cell vectors, the matrix, the particles (3 per electrode,
     5 Thomas arrays), the function arguments' temperatures */
  nv = 19 * nx + nx * c->W + 3 * (c->nr[0] + c->nr[1]) + 5 * nrm + PetscMax(nx, nrm);
  PetscCall(PetscMalloc5((size_t)(ns + nv) * (size_t)nb, &w->buf, (size_t)nx * (size_t)nb, &w->piv,
                         nb, &w->good, nb, &w->fok, nb, &w->dg));
  PetscCall(PetscArrayzero(w->buf, (size_t)(ns + nv) * (size_t)nb));
  q       = w->buf;
  w->ntab = 0;
#define TAKE(p, len)                                                                               \
  ((p) = q, q += (size_t)(len) * (size_t)nb,                                                       \
   w->ntab < 96 ? (void)(w->tab[w->ntab] = &(p), w->trows[w->ntab] = (len)) : (void)0, w->ntab++)
  TAKE(w->T, 1);
  TAKE(w->RTF2, 1);
  TAKE(w->rt, 1);
  TAKE(w->ADe, 1);
  TAKE(w->Aka, 1);
  TAKE(w->Ia, 1);
  TAKE(w->V, 1);
  TAKE(w->dVdI, 1);
  TAKE(w->cen, 1);
  TAKE(w->cep, 1);
  TAKE(w->dphie, 1);
  TAKE(w->acorr, 1);
  TAKE(w->dI, 1);
  TAKE(w->SV, 1);
  TAKE(w->val, 1);
  TAKE(w->vz, 1);
  TAKE(w->cw, 1);
  TAKE(w->Qohm, 1);
  TAKE(w->mnorm, 1);
  TAKE(w->lam, 1);
  TAKE(w->Vlin, 1);
  TAKE(w->Iacc, 1);
  TAKE(w->nprev, 1);
  for (int e = 0; e < 2; e++) { /* 13 each */
    TAKE(w->Ak[e], 1);
    TAKE(w->AD[e], 1);
    TAKE(w->s0[e], 1);
    TAKE(w->s1[e], 1);
    TAKE(w->eta[e], 1);
    TAKE(w->detaj[e], 1);
    TAKE(w->detace[e], 1);
    TAKE(w->U[e], 1);
    TAKE(w->dUj[e], 1);
    TAKE(w->th[e], 1);
    TAKE(w->dUdT[e], 1);
    TAKE(w->co[e], c->nr[e]);
    TAKE(w->u[e], c->nr[e]);
    TAKE(w->g[e], c->nr[e]);
  }
  TAKE(w->y, nx);
  TAKE(w->r, nx);
  TAKE(w->bcol, nx);
  TAKE(w->cV, nx);
  TAKE(w->w, nx);
  TAKE(w->z, nx);
  TAKE(w->dy, nx);
  TAKE(w->eD, nx);
  TAKE(w->edD, nx);
  TAKE(w->eK, nx);
  TAKE(w->edK, nx);
  TAKE(w->eiD, nx);
  TAKE(w->eiK, nx);
  TAKE(w->elc, nx);
  TAKE(w->phie, nx);
  TAKE(w->ceo, nx);
  TAKE(w->ya, nx);
  TAKE(w->J, nx * c->W);
  TAKE(w->ml, nrm);
  TAKE(w->idi, nrm);
  TAKE(w->up, nrm);
  TAKE(w->Df, nrm);
  TAKE(w->xs, nrm);
  TAKE(w->Tx, PetscMax(nx, nrm));
#undef TAKE
  PetscCheck(q <= w->buf + (size_t)(ns + nv) * (size_t)nb && w->ntab <= 96, PETSC_COMM_SELF,
             PETSC_ERR_PLIB, "block workspace overrun");
  w->nb = nb;
  PetscFunctionReturn(0);
}

/* Loops across the elements of a block, as functions of their own: their
   restrict parameters let GCC vectorise them (it ignores restrict on local
   pointers); always inlined, so into every clone of the caller. */

/* row i of the particles' Thomas factorisation (ParticlePrep) */
static inline __attribute__((always_inline)) void
ThomasLanes(PetscInt nb, PetscBool left, PetscBool right, PetscReal rl, PetscReal rr, PetscReal rv,
            PetscReal dr, PetscReal dt, const PetscReal *restrict Dl, const PetscReal *restrict Dr,
            const PetscReal *restrict idim, const PetscReal *restrict upm, PetscReal *restrict ml,
            PetscReal *restrict idi, PetscReal *restrict up)
{
  if (left && right)
    for (PetscInt b = 0; b < nb; b++) {
      PetscReal fl = Dl[b] * rl / dr, fr = Dr[b] * rr / dr, di = rv / dt + fl + fr;
      ml[b] = -fl * idim[b];
      di -= ml[b] * upm[b];
      up[b]  = -fr;
      idi[b] = 1.0 / di;
    }
  else if (left)
    for (PetscInt b = 0; b < nb; b++) {
      PetscReal fl = Dl[b] * rl / dr, fr = 0, di = rv / dt + fl + fr;
      ml[b] = -fl * idim[b];
      di -= ml[b] * upm[b];
      up[b]  = -fr;
      idi[b] = 1.0 / di;
    }
  else if (right)
    for (PetscInt b = 0; b < nb; b++) {
      PetscReal fl = 0, fr = Dr[b] * rr / dr, di = rv / dt + fl + fr;
      up[b]  = -fr;
      idi[b] = 1.0 / di;
    }
  else
    for (PetscInt b = 0; b < nb; b++) {
      PetscReal fl = 0, fr = 0, di = rv / dt + fl + fr;
      up[b]  = -fr;
      idi[b] = 1.0 / di;
    }
}

/* the electrolyte properties from the parameter functions' values at one
   cell of every element: scaled by the Bruggeman and Arrhenius factors, and
   their inverses (ElyteCache) */
static inline __attribute__((always_inline)) void
ElyteLanes(PetscInt nb, PetscReal Bk, const PetscReal *restrict ADe, const PetscReal *restrict Aka,
           PetscReal *restrict eD, PetscReal *restrict edD, PetscReal *restrict eK,
           PetscReal *restrict edK, PetscReal *restrict eiD, PetscReal *restrict eiK)
{
  for (PetscInt b = 0; b < nb; b++) {
    PetscReal fD = Bk * ADe[b], fK = Bk * Aka[b];
    eD[b]  = fD * eD[b];
    edD[b] = edD[b] * fD;
    eK[b]  = fK * eK[b];
    edK[b] = edK[b] * fK;
    eiD[b] = 1.0 / eD[b];
    eiK[b] = 1.0 / eK[b];
  }
}

/* one face of every element (SPEval's face loop): the diffusion flux and its
   Jacobian, the electrolyte potential drop, its derivatives and its heat */
static inline __attribute__((always_inline)) void FaceLanes(
    PetscInt nb, PetscReal hl, PetscReal hr, PetscReal mhl, PetscReal mhr, PetscReal mA,
    PetscReal ie_I, PetscReal Wf, PetscReal *restrict J00, PetscReal *restrict J01,
    PetscReal *restrict J10, PetscReal *restrict J11, PetscReal *restrict r0,
    PetscReal *restrict r1, PetscReal *restrict cV0, PetscReal *restrict cV1,
    const PetscReal *restrict ph0, PetscReal *restrict ph1, PetscReal *restrict dphie,
    PetscReal *restrict dVdI, PetscReal *restrict Qohm, PetscReal *restrict dsv,
    PetscReal *restrict Rsv, const PetscReal *restrict y0, const PetscReal *restrict y1,
    const PetscReal *restrict iD0, const PetscReal *restrict iD1, const PetscReal *restrict dD0,
    const PetscReal *restrict dD1, const PetscReal *restrict iK0, const PetscReal *restrict iK1,
    const PetscReal *restrict dK0, const PetscReal *restrict dK1, const PetscReal *restrict l0,
    const PetscReal *restrict l1, const PetscReal *restrict Ia, const PetscReal *restrict rt)
{
  for (PetscInt b = 0; b < nb; b++) {
    PetscReal il = iD0[b], ir = iD1[b], Kd, K2, dKl, dKr, N, dc, dNl, dNr;
    PetscReal Rk, dRl, dRr, diff, mI = -ie_I * Ia[b];
    Kd  = 1.0 / (hl * il + hr * ir);
    K2  = Kd * Kd;
    dKl = K2 * hl * il * il * dD0[b];
    dKr = K2 * hr * ir * ir * dD1[b];
    dc  = y1[b] - y0[b];
    N   = -Kd * dc;
    r0[b] += N;
    r1[b] -= N;
    dNl = -dKl * dc + Kd;
    dNr = -dKr * dc - Kd;
    J00[b] += dNl;
    J01[b] += dNr;
    J10[b] += -dNl;
    J11[b] += -dNr;
    Rk     = hl * iK0[b] + hr * iK1[b];
    dRl    = mhl * dK0[b] * iK0[b] * iK0[b];
    dRr    = mhr * dK1[b] * iK1[b] * iK1[b];
    diff   = mI * Rk + rt[b] * (l1[b] - l0[b]);
    ph1[b] = ph0[b] + diff;
    dphie[b] += Wf * diff;
    cV0[b] += Wf * (mI * dRl - rt[b] / y0[b]);
    cV1[b] += Wf * (mI * dRr + rt[b] / y1[b]);
    dVdI[b] += Wf * (-ie_I * Rk);
    Qohm[b] += mA * ie_I * Ia[b] * diff;
    dsv[b] = diff; /* kept for the interface value */
    Rsv[b] = Rk;
  }
}

/* ParticlePrep for the block: the particle of each electrode (SPMe) from the
   old states, u = T^{-1} V c_old / dt, g = T^{-1} e_N, and the surface
   coefficients s0, s1 */
TC_VECTOR_CLONES static void BlockParticles(TCCell c, PetscInt nb, const PetscReal *const old[])
{
  TCBlock *w = &c->blk;
  for (int e = 0; e < 2; e++) {
    const TCElectrodeParams *el = Elec(c, e);
    PetscInt                 n  = c->nr[e];
    PetscReal  dr = c->dr[e], R = el->R_m, cmax = el->cmax, dt = c->dt, sc = -R * R / TC_FARADAY;
    PetscReal *co = w->co[e], *u = w->u[e], *g = w->g[e], *ml = w->ml, *idi = w->idi, *up = w->up;
    PetscReal *Df = w->Df, *AD = w->AD[e];
    const PetscReal *rV = c->rV[e], *rA = c->rA[e];
    for (PetscInt b = 0; b < nb; b++)
      for (PetscInt i = 0; i < n; i++) co[i * nb + b] = old[b][c->off_cs[e] + i];
    if (dt <= 0) {
      for (PetscInt i = 0; i < n * nb; i++) {
        u[i] = co[i];
        g[i] = 0;
      }
    } else {
      if (TCFuncIsConstant(el->D)) {
        for (PetscInt b = 0; b < nb; b++) {
          PetscReal Dc = TCFuncEval(el->D, 0.5, w->T[b], NULL) * AD[b];
          for (PetscInt i = 0; i < n - 1; i++) Df[i * nb + b] = Dc;
        }
      } else {
        for (PetscInt i = 0; i < n - 1; i++)
          for (PetscInt b = 0; b < nb; b++) {
            w->xs[i * nb + b] = 0.5 * (co[i * nb + b] + co[(i + 1) * nb + b]) / cmax;
            w->Tx[i * nb + b] = w->T[b];
          }
        TCFuncEvalBatch(el->D, (n - 1) * nb, w->xs, w->Tx, Df, ml); /* ml: scratch */
        for (PetscInt i = 0; i < n - 1; i++)
          for (PetscInt b = 0; b < nb; b++) Df[i * nb + b] = Df[i * nb + b] * AD[b];
      }
      /* Thomas factorisation of the backward-Euler matrix, across the block */
      for (PetscInt i = 0; i < n; i++) {
        PetscInt im = i > 0 ? i - 1 : 0;
        if (i > 0 && i < n - 1)
          ThomasLanes(nb, PETSC_TRUE, PETSC_TRUE, rA[i - 1], rA[i], rV[i], dr, dt, Df + im * nb,
                      Df + i * nb, idi + im * nb, up + im * nb, ml + i * nb, idi + i * nb,
                      up + i * nb);
        else
          ThomasLanes(nb, (PetscBool)(i > 0), (PetscBool)(i < n - 1), i > 0 ? rA[i - 1] : 0, rA[i],
                      rV[i], dr, dt, Df + im * nb, Df + i * nb, idi + im * nb, up + im * nb,
                      ml + i * nb, idi + i * nb, up + i * nb);
      }
      for (PetscInt b = 0; b < nb; b++) g[(n - 1) * nb + b] = idi[(n - 1) * nb + b];
      for (PetscInt i = n - 2; i >= 0; i--)
        for (PetscInt b = 0; b < nb; b++)
          g[i * nb + b] = -up[i * nb + b] * g[(i + 1) * nb + b] * idi[i * nb + b];
      for (PetscInt b = 0; b < nb; b++) u[b] = rV[0] * co[b] / dt;
      for (PetscInt i = 1; i < n; i++)
        for (PetscInt b = 0; b < nb; b++)
          u[i * nb + b] = rV[i] * co[i * nb + b] / dt - ml[i * nb + b] * u[(i - 1) * nb + b];
      for (PetscInt b = 0; b < nb; b++) u[(n - 1) * nb + b] *= idi[(n - 1) * nb + b];
      for (PetscInt i = n - 2; i >= 0; i--)
        for (PetscInt b = 0; b < nb; b++)
          u[i * nb + b] = (u[i * nb + b] - up[i * nb + b] * u[(i + 1) * nb + b]) * idi[i * nb + b];
    }
    for (PetscInt b = 0; b < nb; b++) {
      w->s0[e][b] = 1.5 * u[(n - 1) * nb + b] - 0.5 * u[(n - 2) * nb + b];
      w->s1[e][b] = sc * (1.5 * g[(n - 1) * nb + b] - 0.5 * g[(n - 2) * nb + b]);
    }
  }
}

/* every c_e of the block positive and finite, else the element fails */
static inline __attribute__((always_inline)) void
GoodLanes(PetscInt nb, const PetscReal *restrict y, PetscBool *restrict good)
{
  for (PetscInt b = 0; b < nb; b++)
    good[b] = (PetscBool)(good[b] && y[b] > 0 && y[b] <= PETSC_MAX_REAL);
}

/* SPEval (SPMe, with the Jacobian and the diagnostics) across the block */
TC_VECTOR_CLONES static void BlockEval(TCCell c, PetscInt nb)
{
  const TCCellParams *p  = c->p;
  TCBlock            *w  = &c->blk;
  PetscInt            nx = c->nx, W = c->W, kl = c->kl;
  PetscReal           A = p->area_m2, tp = p->t_plus;
  PetscReal           djn = 1.0 / (A * p->neg.a_m * p->neg.L_m);
  PetscReal           djp = -1.0 / (A * p->pos.a_m * p->pos.L_m);
  PetscReal           L = p->neg.L_m + p->L_sep_m + p->pos.L_m, xf = 0, Wf = 0, Rs;
  PetscReal          *y = w->y, *r = w->r, *cV = w->cV, *J = w->J;
#define JX(i, j) (J + ((size_t)(i) * (size_t)W + (size_t)((j) - (i) + kl)) * (size_t)nb)

  memset(w->r, 0, sizeof(PetscReal) * (size_t)(nx * nb));
  memset(w->bcol, 0, sizeof(PetscReal) * (size_t)(nx * nb));
  memset(w->cV, 0, sizeof(PetscReal) * (size_t)(nx * nb));
  memset(w->J, 0, sizeof(PetscReal) * (size_t)(nx * W * nb));
  for (PetscInt b = 0; b < nb; b++) {
    memset(&w->dg[b], 0, sizeof(TCDiag));
    w->cen[b] = w->cep[b] = 0;
    w->dphie[b] = w->acorr[b] = 0;
  }
  /* electrolyte properties at every cell of every element */
  for (PetscInt k = 0; k < nx; k++) {
    GoodLanes(nb, y + k * nb, w->good);
    memcpy(w->Tx + k * nb, w->T, sizeof(PetscReal) * (size_t)nb);
  }
  TCFuncEvalBatch(p->De, nx * nb, y, w->Tx, w->eD, w->edD);
  TCFuncEvalBatch(p->kappa, nx * nb, y, w->Tx, w->eK, w->edK);
  TCLogArray(nx * nb, y, w->elc);
  for (PetscInt k = 0; k < nx; k++) {
    PetscReal Bk = c->B[k], dx = c->dx[k];
    ElyteLanes(nb, Bk, w->ADe, w->Aka, w->eD + k * nb, w->edD + k * nb, w->eK + k * nb,
               w->edK + k * nb, w->eiD + k * nb, w->eiK + k * nb);
    if (c->reg[k] == REG_NEG)
      for (PetscInt b = 0; b < nb; b++) w->cen[b] += dx * y[k * nb + b] / p->neg.L_m;
    if (c->reg[k] == REG_POS)
      for (PetscInt b = 0; b < nb; b++) w->cep[b] += dx * y[k * nb + b] / p->pos.L_m;
  }
  /* kinetics: SPKinAt across the block, with the open-circuit potentials of
     all elements in one TCFuncEvalBatch per function; every element gets
     SPKinAt's operations in its order (a failed element: safe arguments, its
     results replaced by finite stand-ins and dropped) */
  for (int e = 0; e < 2; e++) {
    const TCElectrodeParams *el = Elec(c, e);
    PetscReal                dj = e == 0 ? djn : djp;
    ThetaLanes(nb, dj, el->cmax, p->ce0, w->s0[e], w->s1[e], w->Ia, e == 0 ? w->cen : w->cep,
               w->good, w->th[e], w->xs, w->idi);
    TCFuncEvalBatch(el->U, nb, w->xs, w->T, w->U[e], w->dUj[e]);
    if (el->dUdT) {
      TCFuncEvalBatch(el->dUdT, nb, w->xs, w->T, w->dUdT[e], w->ml);
      EntropicLanes(nb, p->T_ref, w->T, w->dUdT[e], w->ml, w->U[e], w->dUj[e]);
    } else
      for (PetscInt bb = 0; bb < nb; bb++) w->dUdT[e][bb] = 0;
    KineticsLanes(nb, dj, el->cmax, TC_FARADAY * el->k, p->ce0, w->RTF2, w->s1[e], w->Ia, w->xs,
                  w->idi, w->Ak[e], w->dUj[e], w->up, w->detaj[e], w->detace[e]);
    TCAsinhArray(nb, w->up, w->Df);
    EtaLanes(nb, w->RTF2, w->Df, w->eta[e]);
  }
  for (PetscInt bb = 0; bb < nb; bb++) {
    if (!w->good[bb]) /* a failed element: finite stand-ins, its result is dropped */
      for (int e = 0; e < 2; e++)
        w->eta[e][bb] = w->detaj[e][bb] = w->detace[e][bb] = w->U[e][bb] = w->dUj[e][bb] =
            w->dUdT[e][bb]                                               = 0;
    w->V[bb]    = w->U[1][bb] - w->U[0][bb] + w->eta[1][bb] - w->eta[0][bb];
    w->dVdI[bb] = (w->dUj[1][bb] + w->detaj[1][bb]) * djp - (w->dUj[0][bb] + w->detaj[0][bb]) * djn;
  }
  /* electrolyte mass balance with the uniform reaction of each electrode */
  for (PetscInt k = 0; k < nx; k++) {
    PetscReal dx = c->dx[k], dsrc = 0, ed = c->eps[k] * dx, dt = c->dt;
    PetscReal *restrict Jkk = JX(k, k), *restrict rk = r + k * nb, *restrict bk = w->bcol + k * nb;
    const PetscReal *restrict yk = y + k * nb, *restrict ok = w->ceo + k * nb, *restrict Ia = w->Ia;
    if (c->reg[k] == REG_NEG)
      dsrc = (1 - tp) * c->a[k] * dx * djn / TC_FARADAY;
    else if (c->reg[k] == REG_POS)
      dsrc = (1 - tp) * c->a[k] * dx * djp / TC_FARADAY;
    if (dt > 0)
      for (PetscInt b = 0; b < nb; b++) {
        rk[b] += ed * (yk[b] - ok[b]) / dt;
        Jkk[b] += ed / dt;
      }
    else
      for (PetscInt b = 0; b < nb; b++) {
        rk[b] += yk[b] - ok[b];
        Jkk[b] += 1;
      }
    for (PetscInt b = 0; b < nb; b++) {
      rk[b] -= dsrc * Ia[b];
      bk[b] -= dsrc;
    }
    if (c->reg[k] == REG_NEG)
      for (PetscInt b = 0; b < nb; b++) cV[k * nb + b] += -w->detace[0][b] * dx / p->neg.L_m;
    if (c->reg[k] == REG_POS)
      for (PetscInt b = 0; b < nb; b++) cV[k * nb + b] += w->detace[1][b] * dx / p->pos.L_m;
    if (k > 0)
      Wf += c->reg[k] == REG_NEG ? -dx / p->neg.L_m : (c->reg[k] == REG_POS ? dx / p->pos.L_m : 0);
  }
  for (PetscInt b = 0; b < nb; b++) {
    w->phie[b] = 0;
    w->Qohm[b] = 0;
  }
  /* faces: diffusion, and the electrolyte potential drop known from Ia */
  for (PetscInt k = 0; k + 1 < nx; k++) {
    PetscReal hl = 0.5 * c->dx[k], hr = 0.5 * c->dx[k + 1], ie_I, mhl = -0.5 * c->dx[k];
    PetscReal mhr = -0.5 * c->dx[k + 1], mA = -A;
    PetscReal *restrict J00 = JX(k, k), *restrict J01 = JX(k, k + 1), *restrict J10 = JX(k + 1, k);
    PetscReal *restrict J11 = JX(k + 1, k + 1), *restrict r0 = r + k * nb, *restrict r1 = r0 + nb;
    PetscReal *restrict cV0 = cV + k * nb, *restrict cV1 = cV0 + nb,
                        *restrict ph0 = w->phie + k * nb;
    PetscReal *restrict ph1 = ph0 + nb, *restrict dphie = w->dphie, *restrict dVdI = w->dVdI;
    PetscReal *restrict Qohm = w->Qohm, *restrict dsv = w->w + k * nb,
                        *restrict Rsv = w->z + k * nb;
    const PetscReal *restrict y0 = y + k * nb, *restrict y1 = y0 + nb,
                              *restrict iD0 = w->eiD + k * nb;
    const PetscReal *restrict iD1 = iD0 + nb, *restrict dD0 = w->edD + k * nb,
                              *restrict dD1 = dD0 + nb;
    const PetscReal *restrict iK0 = w->eiK + k * nb, *restrict iK1 = iK0 + nb;
    const PetscReal *restrict dK0 = w->edK + k * nb, *restrict dK1 = dK0 + nb;
    const PetscReal *restrict l0 = w->elc + k * nb, *restrict l1 = l0 + nb, *restrict Ia = w->Ia;
    const PetscReal *restrict rt = w->rt;
    xf += c->dx[k];
    if (c->reg[k] == REG_NEG && c->reg[k + 1] == REG_NEG)
      ie_I = xf / p->neg.L_m / A;
    else if (c->reg[k] == REG_POS)
      ie_I = (L - xf) / p->pos.L_m / A;
    else
      ie_I = 1.0 / A;
    FaceLanes(nb, hl, hr, mhl, mhr, mA, ie_I, Wf, J00, J01, J10, J11, r0, r1, cV0, cV1, ph0, ph1,
              dphie, dVdI, Qohm, dsv, Rsv, y0, y1, iD0, iD1, dD0, dD1, iK0, iK1, dK0, dK1, l0, l1,
              Ia, rt);
    Wf -= c->reg[k + 1] == REG_NEG ? -c->dx[k + 1] / p->neg.L_m
                                   : (c->reg[k + 1] == REG_POS ? c->dx[k + 1] / p->pos.L_m : 0);
  }
  /* phi_e at the n/s interface, harmonic weight as in the DFN */
  if (c->kn_last + 1 < nx) {
    PetscInt  k  = c->kn_last;
    PetscReal hl = 0.5 * c->dx[k];
    for (PetscInt b = 0; b < nb; b++) {
      PetscInt  i0 = k * nb + b;
      PetscReal wl = hl * w->eiK[i0] / w->z[i0], avg = 0; /* z, w: Rk, diff of the face */
      for (PetscInt q = 0; q <= c->kn_last; q++) avg += w->phie[q * nb + b] * c->dx[q] / p->neg.L_m;
      w->acorr[b] = -(w->phie[i0] + wl * w->w[i0] - avg);
    }
  }
  for (PetscInt b = 0; b < nb; b++) w->dg[b].Qohm = w->Qohm[b];
  Rs = (p->neg.L_m / (3 * p->neg.sigma_S_m) + p->pos.L_m / (3 * p->pos.sigma_S_m)) / A;
  for (PetscInt b = 0; b < nb; b++) {
    PetscReal Ia = w->Ia[b], dphis = -Ia * Rs;
    TCDiag   *dg = &w->dg[b];
    w->V[b] += w->dphie[b] + dphis;
    w->dVdI[b] += -Rs;
    dg->Qohm += Ia * Ia * Rs;
    dg->eta_n = w->eta[0][b];
    dg->eta_p = w->eta[1][b];
    dg->th_n  = w->th[0][b];
    dg->th_p  = w->th[1][b];
    dg->Qirr  = Ia * (w->eta[0][b] - w->eta[1][b]);
    dg->Qrev  = Ia * w->T[b] * (w->dUdT[0][b] - w->dUdT[1][b]);
    dg->anode =
        w->U[0][b] + w->eta[0][b] + (w->acorr[b] - (Ia / A) * p->neg.L_m / (6 * p->neg.sigma_S_m));
    dg->anode_min = dg->anode;
    dg->ce_min    = PETSC_MAX_REAL;
    dg->ce_max    = -PETSC_MAX_REAL;
    for (PetscInt k = 0; k < nx; k++) {
      dg->ce_min = PetscMin(dg->ce_min, y[k * nb + b]);
      dg->ce_max = PetscMax(dg->ce_max, y[k * nb + b]);
    }
  }
#undef JX
}

/* NewtonUpdate (voltage control) across the block: the bordered system's
   update (dy, dI) and the Schur complement SV */
TC_VECTOR_CLONES static void BlockNewton(TCCell c, PetscInt nb)
{
  TCBlock *w  = &c->blk;
  PetscInt nx = c->nx;

  for (PetscInt i = 0; i < nx * nb; i++) {
    w->w[i] = -w->r[i];
    w->z[i] = w->bcol[i];
  }
  TCBandFactorBatch(nb, nx, c->kl, c->ku, w->J, w->piv, w->fok);
  TCBandSolve2Batch(nb, nx, c->kl, c->ku, w->J, w->piv, w->w, w->z);
  for (PetscInt b = 0; b < nb; b++) w->vz[b] = w->cw[b] = 0;
  for (PetscInt k = 0; k < nx; k++)
    for (PetscInt b = 0; b < nb; b++) {
      w->vz[b] += w->cV[k * nb + b] * w->z[k * nb + b];
      w->cw[b] += w->cV[k * nb + b] * w->w[k * nb + b];
    }
  for (PetscInt b = 0; b < nb; b++) {
    PetscReal g = w->V[b] - w->val[b], d = w->dVdI[b], cz = w->vz[b];
    if (!w->fok[b] || d - cz == 0 || !isfinite(d - cz)) w->fok[b] = PETSC_FALSE;
    w->dI[b] = (-g - w->cw[b]) / (d - cz);
    w->SV[b] = w->dVdI[b] - w->vz[b];
  }
  for (PetscInt k = 0; k < nx; k++)
    for (PetscInt b = 0; b < nb; b++)
      w->dy[k * nb + b] = w->w[k * nb + b] - w->z[k * nb + b] * w->dI[b];
}

/* UpdateNorm and the electrolyte part of MaxStep across the block (every
   element; the caller keeps those that evaluated) */
static inline __attribute__((always_inline)) void
NormStepLanes(PetscInt nb, PetscReal ce0, const PetscReal *restrict y, const PetscReal *restrict dy,
              PetscReal *restrict m, PetscReal *restrict lam)
{
  const PetscReal tau = 0.99;
  for (PetscInt b = 0; b < nb; b++) {
    PetscReal v = PetscAbsReal(dy[b]) / ce0, cand = tau * y[b] / -dy[b];
    m[b]   = PetscMax(m[b], v);
    lam[b] = dy[b] < 0 ? PetscMin(lam[b], cand) : lam[b];
  }
}

TC_VECTOR_CLONES static void BlockNormStep(TCCell c, PetscInt nb)
{
  TCBlock *w = &c->blk;
  for (PetscInt b = 0; b < nb; b++) {
    w->mnorm[b] = PetscAbsReal(w->dI[b]) / c->I_ref;
    w->lam[b]   = 1;
  }
  for (PetscInt k = 0; k < c->nx; k++)
    NormStepLanes(nb, c->p->ce0, w->y + k * nb, w->dy + k * nb, w->mnorm, w->lam);
}

/* the damped update of the unknowns and the linearised terminal voltage */
static inline __attribute__((always_inline)) void
MoveLanes(PetscInt nb, const PetscReal *restrict lam, const PetscReal *restrict dy,
          const PetscReal *restrict cV, PetscReal *restrict y, PetscReal *restrict Vlin)
{
  for (PetscInt b = 0; b < nb; b++) {
    y[b] += lam[b] * dy[b];
    Vlin[b] += lam[b] * cV[b] * dy[b];
  }
}

TC_VECTOR_CLONES static void BlockMove(TCCell c, PetscInt nb)
{
  TCBlock *w = &c->blk;
  for (PetscInt b = 0; b < nb; b++) w->Vlin[b] = w->V[b] + w->lam[b] * (w->dVdI[b] * w->dI[b]);
  for (PetscInt k = 0; k < c->nx; k++)
    MoveLanes(nb, w->lam, w->dy + k * nb, w->cV + k * nb, w->y + k * nb, w->Vlin);
}

/* the start of a block's step (StepBegin under voltage control, per element):
   the step's constants (SetStepConstants), the iterates, the old electrolyte
   and the particles (ParticlePrep) */
static PetscErrorCode BlockBegin(TCCell c, PetscInt nb, const PetscReal *const old[],
                                 const PetscReal *const iter[], const PetscReal V_V[],
                                 const PetscReal T_K[], PetscReal dt_s)
{
  const TCCellParams *p  = c->p;
  TCBlock            *w  = &c->blk;
  PetscInt            nx = c->nx;

  PetscFunctionBeginUser;
  PetscCall(BlockAlloc(c, nb));
  c->dt = dt_s;
  for (PetscInt b = 0; b < nb; b++) {
    PetscReal T = T_K[b];
    w->T[b]     = T;
    w->Ak[0][b] = Arrhenius(p->neg.Ea_k, p->T_ref, T);
    w->Ak[1][b] = Arrhenius(p->pos.Ea_k, p->T_ref, T);
    w->AD[0][b] = Arrhenius(p->neg.Ea_D, p->T_ref, T);
    w->AD[1][b] = Arrhenius(p->pos.Ea_D, p->T_ref, T);
    w->ADe[b]   = Arrhenius(p->Ea_De, p->T_ref, T);
    w->Aka[b]   = Arrhenius(p->Ea_kappa, p->T_ref, T);
    w->RTF2[b]  = 2 * TC_RGAS * T / TC_FARADAY;
    w->rt[b]    = w->RTF2[b] * (1 - p->t_plus);
    w->Ia[b]    = iter[b][0];
    w->val[b]   = V_V[b];
    w->good[b]  = PETSC_TRUE;
    for (PetscInt k = 0; k < nx; k++) {
      w->y[k * nb + b]   = iter[b][c->off_y + k];
      w->ceo[k * nb + b] = old[b][c->off_y + k];
    }
  }
  c->pf_dt[0] = c->pf_dt[1] = -1; /* the cell's kept particle factorisations are not these */
  BlockParticles(c, nb, old);
  PetscFunctionReturn(0);
}

/* the particles' part of MaxStep, per element, after BlockNormStep */
static void BlockMaxStep(TCCell c, PetscInt nb)
{
  const TCCellParams *p = c->p;
  TCBlock            *w = &c->blk;
  for (PetscInt b = 0; b < nb; b++) {
    const PetscReal tau = 0.99;
    PetscReal       Ia = w->Ia[b], dI = w->dI[b], lambda = w->lam[b];
    for (int e = 0; e < 2; e++) {
      const TCElectrodeParams *el  = Elec(c, e);
      PetscReal                j   = e == 0 ? Ia / (p->area_m2 * p->neg.a_m * p->neg.L_m)
                                            : -Ia / (p->area_m2 * p->pos.a_m * p->pos.L_m);
      PetscReal                dj  = e == 0 ? dI / (p->area_m2 * p->neg.a_m * p->neg.L_m)
                                            : -dI / (p->area_m2 * p->pos.a_m * p->pos.L_m);
      PetscReal                th  = (w->s0[e][b] + w->s1[e][b] * j) / el->cmax;
      PetscReal                dth = w->s1[e][b] * dj / el->cmax;
      if (dth > 0) lambda = PetscMin(lambda, tau * (1 - th) / dth);
      if (dth < 0) lambda = PetscMin(lambda, tau * th / -dth);
    }
    w->lam[b] = lambda > 0 ? lambda : 0;
  }
}

/* StoreState for lane b: current, voltage, the unknowns and the particles */
static void BlockStore(TCCell c, PetscInt nb, PetscInt b, PetscReal Ia, PetscReal V, PetscReal *nw)
{
  const TCCellParams *p = c->p;
  TCBlock            *w = &c->blk;
  nw[0]                 = Ia;
  nw[1]                 = V;
  for (PetscInt k = 0; k < c->nx; k++) nw[c->off_y + k] = w->y[k * nb + b];
  for (int e = 0; e < 2; e++) {
    PetscReal jf = e == 0 ? Ia / (p->area_m2 * p->neg.a_m * p->neg.L_m)
                          : -Ia / (p->area_m2 * p->pos.a_m * p->pos.L_m);
    PetscReal R = Elec(c, e)->R_m, f = R * R / TC_FARADAY * jf;
    for (PetscInt i = 0; i < c->nr[e]; i++)
      nw[c->off_cs[e] + i] = w->u[e][i * nb + b] - f * w->g[e][i * nb + b];
  }
}

/* keep the lanes keep[0..na-1] (increasing) of a block of nb: lane keep[j]
   becomes lane j of a block of na, in every array of the workspace, in place
   (destinations never pass the sources still to be read) */
static void BlockCompact(TCCell c, PetscInt nb, PetscInt na, const PetscInt keep[])
{
  TCBlock *w = &c->blk;
  if (na == nb) return;
  for (PetscInt t = 0; t < w->ntab; t++) {
    PetscReal *a = *w->tab[t];
    for (PetscInt k = 0; k < w->trows[t]; k++)
      for (PetscInt j = 0; j < na; j++) a[k * na + j] = a[k * nb + keep[j]];
  }
  for (PetscInt j = 0; j < na; j++) {
    w->good[j] = w->good[keep[j]];
    w->fok[j]  = w->fok[keep[j]];
    w->dg[j]   = w->dg[keep[j]];
  }
}

PetscErrorCode TCCellStepUpdateBatch(TCCell c, PetscInt nb, const PetscReal *const old[],
                                     PetscReal *const iter[], const PetscReal V_V[],
                                     const PetscReal T_K[], PetscReal dt_s, PetscReal *const new_[],
                                     TCCellResult res[], PetscReal update[],
                                     PetscReal *const sens[], PetscBool ok[])
{
  TCBlock *w  = &c->blk;
  PetscInt nx = c->nx;

  PetscFunctionBeginUser;
  PetscCheck(c->setup, c->comm, PETSC_ERR_ARG_WRONGSTATE, "TCCellSetUp() first");
  if (c->model != TC_CELL_SPME) { /* one element at a time */
    for (PetscInt b = 0; b < nb; b++)
      PetscCall(TCCellStepUpdate(c, old[b], iter[b], TC_CELL_VOLTAGE, V_V[b], T_K[b], dt_s, new_[b],
                                 &res[b], &update[b], sens ? sens[b] : NULL, &ok[b]));
    PetscFunctionReturn(0);
  }
  if (nb <= 0) PetscFunctionReturn(0);
  PetscCall(BlockBegin(c, nb, old, (const PetscReal *const *)iter, V_V, T_K, dt_s));
  for (PetscInt b = 0; b < nb; b++) {
    ok[b]     = PETSC_FALSE;
    update[b] = PETSC_MAX_REAL;
  }
  BlockEval(c, nb);
  BlockNewton(c, nb);
  BlockNormStep(c, nb);
  BlockMaxStep(c, nb);
  BlockMove(c, nb);
  for (PetscInt b = 0; b < nb; b++) {
    PetscReal  Ia = w->Ia[b], dI = w->dI[b], SV = w->SV[b], lambda = w->lam[b], Vlin = w->Vlin[b];
    PetscReal *nw = new_[b];
    if (!w->good[b] || !w->fok[b]) continue;
    update[b] = w->mnorm[b];
    if (!(lambda > 1e-8) || !isfinite(update[b])) continue;
    if (lambda < 1) update[b] = PetscMax(update[b], 1.0);
    Ia += lambda * dI;
    if (sens) {
      sens[b][0] = 1.0 / SV;
      for (PetscInt k = 0; k < nx; k++) sens[b][1 + k] = -w->z[k * nb + b] / SV;
    }
    BlockStore(c, nb, b, Ia, Vlin, nw);
    PetscCall(FillResult(c, &w->dg[b], Ia, Vlin, SV, 1, nw, PETSC_FALSE, &res[b]));
    ok[b] = PETSC_TRUE;
  }
  PetscFunctionReturn(0);
}

/* TCCellStepGuess (SPMe, voltage control) for a block: every element runs its
   own Newton iteration -- the same updates, fraction to the boundary, halving
   line search, convergence test and iteration limit, so the same bits -- with
   the evaluations and the Newton systems of the elements still iterating
   done together; an element leaves the block when it converges or fails
   (BlockCompact), so the later iterations cost what their elements need. */
PetscErrorCode TCCellStepGuessBatch(TCCell c, PetscInt nb, const PetscReal *const old[],
                                    const PetscReal *const guess[], const PetscReal V_V[],
                                    const PetscReal T_K[], PetscReal dt_s, PetscReal *const new_[],
                                    TCCellResult res[], PetscBool converged[])
{
  TCBlock   *w  = &c->blk;
  PetscInt   nx = c->nx, n, na, *lane, *keep, *st;
  PetscBool *last;

  PetscFunctionBeginUser;
  PetscCheck(c->setup, c->comm, PETSC_ERR_ARG_WRONGSTATE, "TCCellSetUp() first");
  if (c->model != TC_CELL_SPME) { /* one element at a time */
    for (PetscInt b = 0; b < nb; b++)
      PetscCall(TCCellStepGuess(c, old[b], guess[b], TC_CELL_VOLTAGE, V_V[b], T_K[b], dt_s, new_[b],
                                res ? &res[b] : NULL, &converged[b]));
    PetscFunctionReturn(0);
  }
  if (nb <= 0) PetscFunctionReturn(0);
  for (PetscInt b = 0; b < nb; b++) converged[b] = PETSC_FALSE;
  PetscCall(BlockBegin(c, nb, old, guess, V_V, T_K, dt_s));
  PetscCall(PetscMalloc4(nb, &lane, nb, &keep, nb, &st, nb, &last));
  BlockEval(c, nb); /* at the guess, with the Jacobian */
  na = 0;
  for (PetscInt b = 0; b < nb; b++) {
    w->nprev[b] = PETSC_MAX_REAL;
    if (w->good[b]) {
      keep[na]   = b;
      lane[na++] = b;
    }
  }
  BlockCompact(c, nb, na, keep);
  n = na;
  for (PetscInt it = 0; it < c->newton_maxit && n > 0; it++) {
    PetscBool pending;
    BlockNewton(c, n);
    BlockNormStep(c, n);
    BlockMaxStep(c, n);
    for (PetscInt b = 0; b < n; b++) {
      PetscReal nrm = w->mnorm[b], nrm_prev = w->nprev[b];
      last[b]     = (PetscBool)(nrm <= c->newton_rtol || (it > 0 && nrm < 1e-2 * nrm_prev &&
                                                      nrm * nrm / nrm_prev <= c->newton_rtol));
      w->nprev[b] = nrm;
      w->Iacc[b]  = w->Ia[b];
      st[b]       = w->fok[b] && w->lam[b] > 1e-8 ? 0 : 2; /* 0 trying, 1 moved, 2 failed */
    }
    for (PetscInt i = 0; i < nx * n; i++) w->ya[i] = w->y[i];
    /* the line search: the elements still trying move to y + lambda dy and are
       evaluated (with the others, whose evaluation gives the same again) */
    for (pending = (PetscBool)(n > 0); pending;) {
      pending = PETSC_FALSE;
      for (PetscInt b = 0; b < n; b++)
        if (st[b] == 0) pending = PETSC_TRUE;
      if (!pending) break;
      for (PetscInt b = 0; b < n; b++)
        if (st[b] == 0) {
          w->Ia[b]   = w->Iacc[b] + w->lam[b] * w->dI[b];
          w->good[b] = PETSC_TRUE;
          for (PetscInt k = 0; k < nx; k++)
            w->y[k * n + b] = w->ya[k * n + b] + w->lam[b] * w->dy[k * n + b];
        }
      BlockEval(c, n);
      for (PetscInt b = 0; b < n; b++)
        if (st[b] == 0) {
          if (w->good[b])
            st[b] = 1;
          else if (!((w->lam[b] *= 0.5) > 1e-8))
            st[b] = 2;
        }
    }
    na = 0;
    for (PetscInt b = 0; b < n; b++) {
      if (st[b] != 1) continue; /* failed: not converged */
      if (last[b] && w->lam[b] == 1) {
        PetscInt e = lane[b];
        BlockStore(c, n, b, w->Ia[b], w->V[b], new_[e]);
        if (res)
          PetscCall(FillResult(c, &w->dg[b], w->Ia[b], w->V[b], w->SV[b], it + 1, new_[e],
                               PETSC_TRUE, &res[e]));
        converged[e] = PETSC_TRUE;
      } else {
        keep[na]   = b;
        lane[na++] = lane[b];
      }
    }
    BlockCompact(c, n, na, keep);
    n = na;
  }
  PetscCall(PetscFree4(lane, keep, st, last));
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellGetSensitivitySize(TCCell c, PetscInt *n)
{
  PetscFunctionBeginUser;
  PetscCheck(c->setup, c->comm, PETSC_ERR_ARG_WRONGSTATE, "TCCellSetUp() first");
  *n = 1 + c->N;
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellIterateGet(TCCell c, const PetscReal state[], PetscReal v[])
{
  PetscFunctionBeginUser;
  v[0] = state[0];
  for (PetscInt i = 0; i < c->N; i++) v[1 + i] = state[c->off_y + i];
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellIterateAXPY(TCCell c, PetscReal alpha, const PetscReal v[], PetscReal state[])
{
  PetscFunctionBeginUser;
  state[0] += alpha * v[0];
  for (PetscInt i = 0; i < c->N; i++) state[c->off_y + i] += alpha * v[1 + i];
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellStateInit(TCCell c, PetscReal soc, PetscReal T_K, PetscReal state[])
{
  const TCCellParams *p = c->p;
  PetscReal           xn, yp, Un, Up;

  PetscFunctionBeginUser;
  PetscCheck(c->setup, c->comm, PETSC_ERR_ARG_WRONGSTATE, "TCCellSetUp() first");
  /* no SOC given: the set's State (BPX 1.x "Initial state-of-charge"), else its
     initial concentrations ("User-defined", tomocell's extension), else full
     (PyBaMM's create_from_bpx default, target_soc = 1) */
  if (soc < 0 && p->soc_init >= 0) soc = p->soc_init;
  if (soc < 0 && !(p->neg.c_init > 0 && p->pos.c_init > 0)) soc = 1;
  if (soc < 0) {
    xn = p->neg.c_init / p->neg.cmax;
    yp = p->pos.c_init / p->pos.cmax;
  } else {
    PetscReal y0 = PetscMax(p->pos.sto_min, p->pos.sto_max),
              y1 = PetscMin(p->pos.sto_min, p->pos.sto_max);
    PetscReal x0 = PetscMin(p->neg.sto_min, p->neg.sto_max),
              x1 = PetscMax(p->neg.sto_min, p->neg.sto_max);
    PetscCheck(soc <= 1, c->comm, PETSC_ERR_USER_INPUT, "initial SOC %g is outside [0, 1]",
               (double)soc);
    xn = x0 + soc * (x1 - x0);
    yp = y0 + soc * (y1 - y0);
  }
  PetscCheck(xn > 0 && xn < 1 && yp > 0 && yp < 1, c->comm, PETSC_ERR_USER_INPUT,
             "initial stoichiometries %g (negative), %g (positive) are outside (0, 1)", (double)xn,
             (double)yp);
  for (PetscInt i = 0; i < c->np[0] * c->nr[0]; i++) state[c->off_cs[0] + i] = xn * p->neg.cmax;
  for (PetscInt i = 0; i < c->np[1] * c->nr[1]; i++) state[c->off_cs[1] + i] = yp * p->pos.cmax;
  Un       = OCP(p, &p->neg, xn, T_K, NULL, NULL);
  Up       = OCP(p, &p->pos, yp, T_K, NULL, NULL);
  state[0] = 0;
  state[1] = Up - Un;
  for (PetscInt k = 0; k < c->nx; k++) {
    PetscReal *y = state + c->off_y + c->voff[k];
    y[0]         = p->ce0;
    if (c->model == TC_CELL_DFN) {
      y[1] = -Un;
      if (c->nv[k] == 4) {
        y[2] = c->reg[k] == REG_NEG ? 0 : Up - Un;
        y[3] = 0;
      }
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellStateLithium(TCCell c, const PetscReal state[], PetscReal *nn, PetscReal *npos,
                                  PetscReal *ne)
{
  const TCCellParams *p      = c->p;
  PetscReal           tot[2] = {0, 0};

  PetscFunctionBeginUser;
  for (int e = 0; e < 2; e++) {
    const TCElectrodeParams *el = Elec(c, e);
    PetscReal                R3 = el->R_m * el->R_m * el->R_m / 3;
    for (PetscInt m = 0; m < c->np[e]; m++) {
      PetscReal        s = 0, dxm = el->L_m / c->np[e];
      const PetscReal *cs = state + c->off_cs[e] + m * c->nr[e];
      for (PetscInt i = 0; i < c->nr[e]; i++) s += c->rV[e][i] * cs[i];
      tot[e] += p->area_m2 * dxm * el->eps_s * s / R3;
    }
  }
  *nn   = tot[0];
  *npos = tot[1];
  if (c->nx) {
    PetscReal s = 0;
    for (PetscInt k = 0; k < c->nx; k++) s += c->eps[k] * c->dx[k] * state[c->off_y + c->voff[k]];
    *ne = p->area_m2 * s;
  } else
    *ne = p->area_m2 * p->ce0 *
          (p->neg.eps * p->neg.L_m + p->eps_sep * p->L_sep_m + p->pos.eps * p->pos.L_m);
  PetscFunctionReturn(0);
}

PetscReal TCCellStateSOC(TCCell c, const PetscReal state[])
{
  const TCCellParams *p = c->p;
  PetscReal           nn, np_, ne, x;
  TCCellStateLithium(c, state, &nn, &np_, &ne);
  x = nn / (p->area_m2 * p->neg.L_m * p->neg.eps_s * p->neg.cmax);
  return (x - PetscMin(p->neg.sto_min, p->neg.sto_max)) /
         PetscAbsReal(p->neg.sto_max - p->neg.sto_min);
}

PetscErrorCode TCCellCheckJacobian(TCCell c, const PetscReal old[], TCCellControl ctl,
                                   PetscReal value, PetscReal T_K, PetscReal dt_s,
                                   const PetscReal state[], PetscReal *relerr)
{
  PetscInt   N = c->N, NB = N + 1;
  PetscReal *Ja, *Jf, *y, *r0, *r1, Ia = state[0], err = 0;

  PetscFunctionBeginUser;
  (void)ctl;
  (void)value;
  SetStepConstants(c, T_K, dt_s);
  ParticlePrep(c, old);
  PetscCall(PetscCalloc5(NB * NB, &Ja, NB * NB, &Jf, NB, &y, NB, &r0, NB, &r1));
  PetscCall(PetscArraycpy(y, state + c->off_y, N));
  PetscCheck(Eval(c, old, y, Ia, PETSC_TRUE, NULL), c->comm, PETSC_ERR_PLIB, "invalid state");
  /* dense copy of the analytic bordered matrix: rows 0..N-1 residuals, row N = V */
  for (PetscInt i = 0; i < N; i++) {
    for (PetscInt j = PetscMax(0, i - c->kl); j <= PetscMin(N - 1, i + c->ku); j++)
      Ja[i * NB + j] = JB(c, i, j);
    Ja[i * NB + N] = c->bcol[i];
    Ja[N * NB + i] = c->cV[i];
  }
  Ja[N * NB + N] = c->dVdI;
  for (PetscInt j = 0; j <= N; j++) {
    PetscReal  h, save;
    PetscReal *v = j < N ? &y[j] : &Ia;
    save         = *v;
    h            = 1e-6 * PetscMax(PetscAbsReal(save), j < N ? 1e-3 : 1e-2);
    *v           = save + h;
    PetscCheck(Eval(c, old, y, Ia, PETSC_FALSE, NULL), c->comm, PETSC_ERR_PLIB, "invalid +h");
    for (PetscInt i = 0; i < N; i++) r1[i] = c->r[i];
    r1[N] = c->V;
    *v    = save - h;
    PetscCheck(Eval(c, old, y, Ia, PETSC_FALSE, NULL), c->comm, PETSC_ERR_PLIB, "invalid -h");
    for (PetscInt i = 0; i < N; i++) r0[i] = c->r[i];
    r0[N] = c->V;
    *v    = save;
    for (PetscInt i = 0; i <= N; i++) Jf[i * NB + j] = (r1[i] - r0[i]) / (2 * h);
  }
  for (PetscInt i = 0; i <= N; i++) {
    PetscReal rowmax = 0;
    for (PetscInt j = 0; j <= N; j++) rowmax = PetscMax(rowmax, PetscAbsReal(Ja[i * NB + j]));
    for (PetscInt j = 0; j <= N; j++)
      if (rowmax > 0) err = PetscMax(err, PetscAbsReal(Ja[i * NB + j] - Jf[i * NB + j]) / rowmax);
  }
  *relerr = err;
  PetscCall(PetscFree5(Ja, Jf, y, r0, r1));
  PetscFunctionReturn(0);
}
