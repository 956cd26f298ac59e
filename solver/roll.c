/*
 * Coupled electrochemical-thermal jelly-roll solver (see roll.h).
 */
#include "solver/roll.h"
#include "src/tc.h"
#include <petscsnes.h>
#include <petscao.h>
#include <math.h>

const char *const TCRollFieldNames[] = {"temperature_K",
                                        "potential_V",
                                        "current_density_A_m2",
                                        "anode_potential_V",
                                        "soc",
                                        "heat_W_m2",
                                        "eta_n_V",
                                        "eta_p_V",
                                        "min_anode_potential_V",
                                        "plating_time_s",
                                        "runaway_onset_s"};
_Static_assert(sizeof(TCRollFieldNames) / sizeof(TCRollFieldNames[0]) == TC_ROLL_NFIELDS,
               "a name for every node field");

/* per-element diagnostics kept in the state */
enum {
  D_I,       /* current density, A/m^2 */
  D_ANODE,   /* anode potential vs Li at the separator */
  D_ANODE_X, /* its minimum over the negative electrode */
  D_Q,       /* heat, W/m^2 */
  D_ETA_N,
  D_ETA_P,
  D_SOC,
  D_PLATING,   /* time below 0 V vs Li, s */
  D_ANODE_MIN, /* running minimum of D_ANODE */
  ND
};
/* replicated scalars at the end of every rank's state */
enum {
  G_V,
  G_I,
  G_Q,          /* heat rate of the step, W */
  G_GEN,        /* heat generated, J */
  G_REMOVED,    /* heat to the ambient, J */
  G_CHARGE_ERR, /* running maximum */
  G_CHARGE,     /* A h */
  G_ENERGY,     /* W h */
  G_TIME,       /* s */
  G_ABUSE,      /* abuse-reaction heat, J */
  G_SHORT,      /* Joule heat in the short, J */
  G_ONSET,      /* runaway onset time, s (< 0: none yet) */
  G_ONSET_X,
  G_ONSET_Y,
  G_ONSET_Z,
  G_PEAK, /* highest temperature so far, K */
  /* the Newton preconditioner kept across steps: built from the element
     conductances in the state's off_gpc block (checkpointed with it, so that a
     restart rebuilds exactly the preconditioner of the uninterrupted run) */
  G_PC_VALID, /* 1: off_gpc holds them */
  G_PC_CTL,   /* the control (TCCellControl) it was built under */
  G_PC_PTERM, /* the power terminal's diagonal term it had */
  G_PC_DREF,  /* CG iterations per decade of its first solve (0: not yet) */
  G_PC_STALE, /* 1: rebuild at the next step (its iterations per decade grew) */
  /* the thermal preconditioner kept across steps: built for A at this dt (0: none) */
  G_TH_PC_DT,
  G_TH_PC_DREF,
  G_TH_PC_STALE,
  NG
};

/* elements are converged when their last scaled Newton update is below this:
   the error left is about its square */
#define TC_ROLL_EL_UPDATE_TOL 1e-7
/* ... and the sum of the residual over an electrode's nodes (its charge
   imbalance) below this fraction of the current flowing (at least 1e-3 of 1C) */
#define TC_ROLL_CHARGE_TOL 1e-10
/* The last Newton step may skip the element evaluation (Polish) when the
   elements' last update was below this (their error after it is about its
   square, 1e-10 here) and the residual below TC_ROLL_POLISH_F of 1C */
#define TC_ROLL_POLISH_UPDATE 1e-5
#define TC_ROLL_POLISH_F      1e-5
/* elements per batched update (-element_block): a block's workspace (~60
   reals per x cell and element for SPMe) stays in the L2 cache */
#define TC_ROLL_ELEMENT_BLOCK 64
/* Newton's linear solves (inexact Newton): CG stops at TC_ROLL_LIN_ETA of the
   residual |F| (TC_ROLL_LIN_ETA_DIRECT with a factorisation: its iterations
   are cheap, and looser solves cost element evaluations, 263 instead of 259
   in a Tranter-size run) or at TC_ROLL_LIN_QUAD |F|^2 / I_1C (below the
   quadratic convergence's next residual: 0.1-0.5 |F|^2 / I_1C on the
   21700), whichever is smaller, or at TC_ROLL_LIN_FLOOR of the residual's
   floor (the last solve of a step, Polish, at the latter only: its residual
   is the step's), at most at rtol 1e-10 as before. The preconditioner (a
   factorisation or AMG) is kept across steps and rebuilt at the next step
   once a solve needs more than TC_ROLL_PC_GROWTH times the CG iterations per
   decade of residual reduction of the preconditioner's first solve (at least
   TC_ROLL_PC_DMIN of them: a fresh factorisation converges in one) */
#define TC_ROLL_LIN_ETA        1e-4
#define TC_ROLL_LIN_ETA_DIRECT 1e-6
#define TC_ROLL_LIN_QUAD       0.05
#define TC_ROLL_LIN_FLOOR      0.25
/* with the foil preconditioner, at most this many CG iterations more for
   each foil's charge (NewtonKSPConverged) */
#define TC_ROLL_FOIL_EXTRA_ITS 20
/* The thermal solves' CG also stops once its residual (preconditioned: about
   the temperature error) is below this RMS per node, in K; with abuse
   reactions (iterated to 1e-7 K) at rtol 1e-13 only. The energy books are
   kept exact by ThermalBalance. */
#define TC_ROLL_THERMAL_T_ATOL_K 1e-8
#define TC_ROLL_PC_GROWTH      1.5
#define TC_ROLL_PC_DMIN        1.0

typedef struct {
  PetscInt  a, c_l, c; /* Al row (local), Cu (ghosted local index, global new id) */
  PetscReal area, scale;
} TCElem;

/* a block of elements updated together (TCCellStepUpdateBatch): for each,
   the old state, the iterate, the sensitivity, the voltage, the temperature,
   the move along the sensitivity, the update's size and its outcome */
typedef struct {
  PetscInt          n;      /* elements per block */
  PetscBool         guess1; /* nested solves one element at a time (-element_nested_batch false) */
  const PetscReal **old;
  PetscReal       **it, **sens, *V, *T, *shift, *upd;
  PetscBool        *ok;
} TCRollBlock;

/* a conductance between two thermal nodes (global ids) */
typedef struct {
  PetscInt  i, j;
  PetscReal G;
} TCThermalLink;

struct _p_TCRoll {
  MPI_Comm            comm;
  TCRollNet           net;
  TCGraph             g;
  TCCell              cell;
  const TCCellParams *p;
  TCRollParams        rp;
  PetscInt            n, nghost, rstart; /* owned nodes, ghosts, first owned new id */
  const TCNode       *nodes;
  const PetscInt     *ptr, *col, *lcol;
  const PetscReal    *G;
  PetscInt           *tag;          /* owned + ghost */
  PetscReal          *xg, *yg, *zg; /* coordinates, owned + ghost */
  PetscInt            nel, nsc;     /* elements, reals per element state */
  TCElem             *el;
  PetscReal           area_total, I1C;
  PetscInt            neg_row, pos_row; /* local rows of the terminals (-1 if not owned) */
  PetscInt            pos_global;
  PetscInt   nstate, off_diag, off_T, off_Trate, off_phi, off_phirate, off_ab, off_onset, off_erate;
  PetscInt   off_gpc, off_glob;
  PetscReal  Tamb_now; /* the ambient of the step being solved */
  PetscInt   short_e;  /* local element of the short, or -1 */
  PetscReal  short_G, short_dist, short_P;
  Vec        Vn; /* node volumes */
  Mat        A2; /* A - diag(dQ_abuse/dT) */
  PetscBool  snes_ready, snes_from_options;
  PetscReal *selfheat; /* per node: abuse self-heating rate of the step, K/s */
  PetscReal *heater;   /* per node: its share of the heater power */
  PetscReal  t_now;    /* end of the step being solved, s */
  /* electrochemistry */
  SNES               snes;
  Mat                J;
  PetscScalar       *jv;        /* the Jacobian's values in its COO order (JacobianMat) */
  PetscInt          *jptr, *jk; /* row i's links other than elements: ptr/col at jk[jptr[i]..] */
  PetscInt           njv;
  Vec                X, F, phig, Tg;  /* phig, Tg ghosted */
  PetscReal         *Iel, *gel, *Qel; /* per element, last function evaluation */
  PetscReal         *fround;          /* per owned node: magnitude of the residual's terms */
  PetscReal          fnorm_floor;     /* rounding floor of the residual norm */
  PetscReal          fsum_max;       /* larger |sum of F| over either electrode's nodes, relative */
  PetscReal          el_update;      /* largest scaled element update of the evaluation */
  PetscBool          monitor_newton; /* -roll_newton_monitor */
  PetscInt           nsens;          /* reals per element sensitivity */
  PetscReal         *sens, *dVlin;   /* per element: d(I, unknowns)/dV and the dV it was made at */
  PetscReal         *itbuf;          /* scratch: one element iterate (nsens reals) */
  TCRollBlock        blk;            /* ElementsEvaluate's blocks (-element_block) */
  PetscBool          sens_ok;        /* sens belongs to this step */
  PetscBool          nested;         /* converge every element at every evaluation */
  PetscBool          th_fresh;       /* build the thermal preconditioner at the next solve */
  PetscReal          th_atol;        /* the thermal CG's absolute test (TC_ROLL_THERMAL_T_ATOL_K) */
  Vec                th_m, th_w, th_r; /* the free thermal nodes' indicator; work */
  PetscBool          th_pc_A;        /* ... which was built for A (not A - diag(D)) */
  PetscReal          th_pc_dt;       /* ... at this dt */
  TCRollSolverCounts cnt;            /* linear solves, iterations, preconditioner set-ups */
  /* the Newton preconditioner (see G_PC_VALID) */
  PetscBool        pc_lag;     /* keep it across steps (-roll_pc_lag) */
  PetscBool        pc_have;    /* one is built, from gpc, pc_ctl, pc_pterm */
  PetscBool        pc_pending; /* the next Jacobian builds it: record it */
  PetscBool        pc_force;   /* rebuild at the next solve (a failed one) */
  PetscBool        lin_polish; /* the solve is Polish's */
  PetscReal       *gpc, pc_ctl, pc_pterm;
  PetscReal        lin_eta, lin_r0; /* inexact-Newton factor; |F| of the solve */
  /* the "foil" preconditioner (SetFoilPreconditioner): the free nodes of each foil
     (indicators, for the control fz_ctl) for the solves' charge test, work vectors
     for its residual, and the currents' scale */
  PetscInt         foil_it0; /* the solve's first iteration that met the norm test */
  Vec              fz[2], fwork[2];
  PetscInt         fz_ctl;
  PetscReal        fsum_scale;
  void            *kspdef;          /* KSPConvergedDefault's context */
  PetscReal        th_r0;           /* the thermal solve's initial residual */
  void            *kspdef_th;
  PetscBool        polish;      /* the Newton solve stopped for Polish */
  TCCellResult    *res;         /* per element */
  PetscReal       *trial_cells; /* element states of the evaluation */
  const PetscReal *state_old;
  PetscReal        T_dt; /* dt of the current step */
  TCCellControl    ctl;
  PetscReal        ctl_value;
  PetscBool        failed;
  /* thermal */
  Mat        K, A;
  PetscBool  K_preallocated; /* K's pattern laid out (ThermalAssemble) */
  KSP        ksp_th;
  Vec        C, H, Qn, b, Tnew; /* C, H per node (J/K, W/K) */
  PetscReal  dt_A;              /* dt A was built for */
  PetscReal *Thw;               /* the hardware's temperatures of the coupled iterate */
  /* hardware (thermal_hardware: can): nodes after the graph's, on the last rank */
  PetscInt           nt;            /* thermal unknowns here: n + nhw */
  PetscInt           nhw, Nhw, hw0; /* hardware nodes here, in all; first global id */
  PetscInt           hw_rings, hw_bottom, hw_cap, hw_mandrel; /* indices (-1: none) */
  PetscReal         *hwC, *hwH, *hwz; /* per hardware node (replicated): J/K, W/K, z */
  PetscReal          hw_R_m;          /* the can's outer radius */
  PetscInt           ncpl, nhwl;      /* roll-hardware links of this rank, hardware-hardware */
  TCThermalLink     *cpl, *hwl;
  TCRollHeatCapacity hc;
};

static PetscBool IsElement(TCRoll r, PetscInt row, PetscInt k)
{
  PetscInt t1 = r->tag[row], t2 = r->tag[r->lcol[k]];
  return (PetscBool)((t1 == TC_FOIL_CU && t2 == TC_FOIL_AL) ||
                     (t1 == TC_FOIL_AL && t2 == TC_FOIL_CU));
}

static PetscBool IsTerminal(PetscInt tag)
{
  return (PetscBool)(tag == TC_ROLL_TAG_NEG_TERMINAL || tag == TC_ROLL_TAG_POS_TERMINAL);
}

/* fixed potential: the negative terminal always, the positive one under CV */
static PetscBool IsFixed(TCRoll r, PetscInt tag)
{
  return (PetscBool)(tag == TC_ROLL_TAG_NEG_TERMINAL ||
                     (tag == TC_ROLL_TAG_POS_TERMINAL && r->ctl == TC_CELL_VOLTAGE));
}

/* the foil a node belongs to for the "foil" preconditioner: 0 the Al foil with
   the positive terminal, 1 the Cu foil with the negative */
static int FoilOf(PetscInt tag)
{
  return tag == TC_FOIL_AL || tag == TC_ROLL_TAG_POS_TERMINAL ? 0 : 1;
}

/* the indicators of each foil's free nodes, r->fz, for the "foil"
   preconditioner: made again only when the control (which fixes the positive
   terminal or not) changed */
static PetscErrorCode FoilMasks(TCRoll r)
{
  PetscScalar *z[2];

  PetscFunctionBeginUser;
  if (r->fz[0] && r->fz_ctl == (PetscInt)r->ctl) PetscFunctionReturn(0);
  for (int k = 0; k < 2; k++) {
    if (!r->fz[k]) PetscCall(VecDuplicate(r->X, &r->fz[k]));
    if (!r->fwork[k]) PetscCall(VecDuplicate(r->X, &r->fwork[k]));
    PetscCall(VecGetArray(r->fz[k], &z[k]));
  }
  for (PetscInt i = 0; i < r->n; i++) {
    PetscBool fixed = IsFixed(r, r->tag[i]);
    for (int k = 0; k < 2; k++) z[k][i] = !fixed && FoilOf(r->tag[i]) == k ? 1 : 0;
  }
  for (int k = 0; k < 2; k++) PetscCall(VecRestoreArray(r->fz[k], &z[k]));
  r->fz_ctl = (PetscInt)r->ctl;
  PetscFunctionReturn(0);
}

/* a ghosted copy of owned values (n) into owned+ghost (n + nghost) */
static PetscErrorCode Ghosted(TCRoll r, const PetscReal owned[], Vec vg, PetscReal out[])
{
  Vec                loc;
  const PetscScalar *a;

  PetscFunctionBeginUser;
  {
    PetscScalar *w;
    PetscCall(VecGetArray(vg, &w));
    PetscCall(PetscArraycpy(w, owned, r->n));
    PetscCall(VecRestoreArray(vg, &w));
  }
  PetscCall(VecGhostUpdateBegin(vg, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGhostUpdateEnd(vg, INSERT_VALUES, SCATTER_FORWARD));
  if (out) {
    PetscCall(VecGhostGetLocalForm(vg, &loc));
    PetscCall(VecGetArrayRead(loc, &a));
    PetscCall(PetscArraycpy(out, a, r->n + r->nghost));
    PetscCall(VecRestoreArrayRead(loc, &a));
    PetscCall(VecGhostRestoreLocalForm(vg, &loc));
  }
  PetscFunctionReturn(0);
}

/* ---- electrochemistry ------------------------------------------------------ */

/* Step every element to the potentials in phig (ghosted) at the temperatures
   in Tg (ghosted); failure anywhere fails everywhere. */
static PetscErrorCode ElementsEvaluate(TCRoll r, PetscBool *ok)
{
  Vec                pl, tl;
  const PetscScalar *phi, *T;
  PetscBool          good    = PETSC_TRUE;
  PetscReal          upd_max = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TC_EVENT_Elements, 0, 0, 0, 0));
  r->short_P = 0;
  PetscCall(VecGhostGetLocalForm(r->phig, &pl));
  PetscCall(VecGhostGetLocalForm(r->Tg, &tl));
  PetscCall(VecGetArrayRead(pl, &phi));
  PetscCall(VecGetArrayRead(tl, &T));
  /* blocks of element_block elements: one batched update per block
     (TCCellStepUpdateBatch, bit for bit the single updates) */
  for (PetscInt e0 = 0; e0 < r->nel && good; e0 += r->blk.n) {
    PetscInt nb = PetscMin(r->blk.n, r->nel - e0);
    for (PetscInt b = 0; b < nb; b++) {
      const TCElem *el = &r->el[e0 + b];
      PetscReal     Te = 0.5 * (T[el->a] + T[el->c_l]);
      if (r->rp.echem_T_max_K > 0) Te = PetscMin(Te, r->rp.echem_T_max_K);
      r->blk.V[b]    = phi[el->a] - phi[el->c_l];
      r->blk.T[b]    = Te;
      r->blk.old[b]  = r->state_old + (e0 + b) * r->nsc;
      r->blk.it[b]   = r->trial_cells + (e0 + b) * r->nsc;
      r->blk.sens[b] = r->sens + (e0 + b) * r->nsens;
      r->blk.upd[b]  = 0;
      /* the element's last iterate moved along its last linearisation to dV
         (the Newton iterate of the whole system): the global Newton and the
         element Newtons converge together */
      r->blk.shift[b] = !r->nested && r->sens_ok ? r->blk.V[b] - r->dVlin[e0 + b] : 0;
      if (r->blk.shift[b] != 0)
        PetscCall(TCCellIterateAXPY(r->cell, r->blk.shift[b], r->blk.sens[b], r->blk.it[b]));
    }
    if (r->nested && r->blk.guess1) /* the same bits as below, for checks */
      for (PetscInt b = 0; b < nb; b++)
        PetscCall(TCCellStepGuess(r->cell, r->blk.old[b], r->blk.it[b], TC_CELL_VOLTAGE,
                                  r->blk.V[b], r->blk.T[b], r->T_dt, r->blk.it[b], &r->res[e0 + b],
                                  &r->blk.ok[b]));
    else if (r->nested) /* every element converged at dV, warm-started from its last solve
                           (TCCellStepGuessBatch, bit for bit the single solves) */
      PetscCall(TCCellStepGuessBatch(r->cell, nb, r->blk.old, (const PetscReal *const *)r->blk.it,
                                     r->blk.V, r->blk.T, r->T_dt, r->blk.it, r->res + e0,
                                     r->blk.ok));
    else {
      /* one Newton update of every element of the block toward its dV */
      PetscCall(TCCellStepUpdateBatch(r->cell, nb, r->blk.old, r->blk.it, r->blk.V, r->blk.T,
                                      r->T_dt, r->blk.it, r->res + e0, r->blk.upd, r->blk.sens,
                                      r->blk.ok));
      /* where the move left the physical range: again from the last iterate */
      for (PetscInt b = 0; b < nb; b++)
        if (!r->blk.ok[b] && r->blk.shift[b] != 0) {
          PetscCall(TCCellIterateAXPY(r->cell, -r->blk.shift[b], r->blk.sens[b], r->blk.it[b]));
          PetscCall(TCCellStepUpdate(r->cell, r->blk.old[b], r->blk.it[b], TC_CELL_VOLTAGE,
                                     r->blk.V[b], r->blk.T[b], r->T_dt, r->blk.it[b],
                                     &r->res[e0 + b], &r->blk.upd[b], r->blk.sens[b],
                                     &r->blk.ok[b]));
        }
    }
    for (PetscInt b = 0; b < nb; b++) {
      PetscInt      e  = e0 + b;
      const TCElem *el = &r->el[e];
      PetscReal     dV = r->blk.V[b];
      r->dVlin[e]      = dV;
      if (!r->blk.ok[b] || !isfinite(r->res[e].I_A)) {
        good = PETSC_FALSE;
        break;
      }
      upd_max   = PetscMax(upd_max, r->blk.upd[b]);
      r->Iel[e] = r->res[e].I_A * el->scale;
      r->gel[e] = -r->res[e].dIdV_S * el->scale; /* > 0: dI/dV < 0 for a cell */
      r->Qel[e] = r->res[e].Q_W * el->scale;
      if (e == r->short_e) { /* the short in parallel: it draws G dV from the Al to the Cu node */
        r->Iel[e] -= r->short_G * dV;
        r->gel[e] += r->short_G;
        r->Qel[e] += r->short_G * dV * dV;
        r->short_P = r->short_G * dV * dV;
      }
    }
  }
  PetscCall(VecRestoreArrayRead(pl, &phi));
  PetscCall(VecRestoreArrayRead(tl, &T));
  PetscCall(VecGhostRestoreLocalForm(r->phig, &pl));
  PetscCall(VecGhostRestoreLocalForm(r->Tg, &tl));
  PetscCall(PetscLogEventEnd(TC_EVENT_Elements, 0, 0, 0, 0)); /* the local work, not the wait */
  PetscCallMPI(MPI_Allreduce(&good, ok, 1, MPIU_BOOL, MPI_LAND, r->comm));
  PetscCallMPI(MPI_Allreduce(&upd_max, &r->el_update, 1, MPIU_REAL, MPI_MAX, r->comm));
  r->sens_ok = (PetscBool)(*ok && !r->nested);
  PetscFunctionReturn(0);
}

/* Kirchhoff's law at the potentials in phig with the element currents of the
   last evaluation; also the residual's rounding floor and the charge
   imbalance for the convergence test */
static PetscErrorCode Residual(TCRoll r, Vec F)
{
  Vec                pl;
  const PetscScalar *phi;
  PetscScalar       *f;

  PetscFunctionBeginUser;
  PetscCall(VecGhostGetLocalForm(r->phig, &pl));
  PetscCall(VecGetArrayRead(pl, &phi));
  PetscCall(VecGetArray(F, &f));
  for (PetscInt i = 0; i < r->n; i++) {
    PetscInt  tag = r->tag[i];
    PetscReal a   = 0; /* sum of the magnitudes of the terms: the rounding floor of f[i] */
    r->fround[i]  = 0;
    if (IsFixed(r, tag)) {
      f[i] = phi[i] - (tag == TC_ROLL_TAG_NEG_TERMINAL ? 0 : r->ctl_value);
      continue;
    }
    f[i] = 0;
    for (PetscInt k = r->ptr[i]; k < r->ptr[i + 1]; k++)
      if (!IsElement(r, i, k)) {
        f[i] += r->G[k] * (phi[i] - phi[r->lcol[k]]);
        a += r->G[k] * (PetscAbsReal(phi[i]) + PetscAbsReal(phi[r->lcol[k]]));
      }
    if (tag == TC_ROLL_TAG_POS_TERMINAL)
      f[i] += r->ctl == TC_CELL_CURRENT ? r->ctl_value : r->ctl_value / phi[i];
    r->fround[i] = a;
  }
  for (PetscInt e = 0; e < r->nel; e++) {
    f[r->el[e].a] -= r->Iel[e];
    r->fround[r->el[e].a] += PetscAbsReal(r->Iel[e]);
    if (r->el[e].c_l < r->n) {
      f[r->el[e].c_l] += r->Iel[e];
      r->fround[r->el[e].c_l] += PetscAbsReal(r->Iel[e]);
    }
  }
  PetscCall(VecRestoreArray(F, &f));
  PetscCall(VecRestoreArrayRead(pl, &phi));
  PetscCall(VecGhostRestoreLocalForm(r->phig, &pl));
  for (PetscInt e = 0; e < r->nel; e++)
    if (r->el[e].c_l >= r->n) PetscCall(VecSetValue(F, r->el[e].c, r->Iel[e], ADD_VALUES));
  PetscCall(VecAssemblyBegin(F));
  PetscCall(VecAssemblyEnd(F));
  {
    /* the rounding floor of |F|, and the sums of F over each electrode's free
       nodes: the foil terms cancel in them, so they are the charge imbalance */
    PetscReal          s[4] = {0, 0, 0, 0};
    const PetscScalar *f;
    for (PetscInt e = 0; e < r->nel; e++) s[3] += PetscAbsReal(r->Iel[e]);
    PetscCall(VecGetArrayRead(F, &f));
    for (PetscInt i = 0; i < r->n; i++) {
      PetscInt tag = r->tag[i];
      s[0] += PetscSqr(PETSC_MACHINE_EPSILON * r->fround[i]);
      if (IsFixed(r, tag)) continue;
      s[tag == TC_FOIL_AL || tag == TC_ROLL_TAG_POS_TERMINAL ? 1 : 2] += f[i];
    }
    PetscCall(VecRestoreArrayRead(F, &f));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, s, 4, MPIU_REAL, MPI_SUM, r->comm));
    r->fnorm_floor = PetscSqrtReal(s[0]);
    /* relative to the currents flowing (as the balance is reported), at least 1e-3 of 1C */
    r->fsum_scale = PetscMax(s[3], 1e-3 * r->I1C);
    r->fsum_max   = PetscMax(PetscAbsReal(s[1]), PetscAbsReal(s[2])) / r->fsum_scale;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode FormFunction(SNES snes, Vec X, Vec F, void *ctx)
{
  TCRoll    r = (TCRoll)ctx;
  PetscBool ok;

  PetscFunctionBeginUser;
  PetscCall(VecCopy(X, r->phig));
  PetscCall(VecGhostUpdateBegin(r->phig, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGhostUpdateEnd(r->phig, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(ElementsEvaluate(r, &ok));
  if (!ok) {
    r->failed = PETSC_TRUE;
    PetscCall(SNESSetFunctionDomainError(snes));
    PetscCall(VecSet(F, NAN));
    PetscFunctionReturn(0);
  }
  PetscCall(Residual(r, F));
  PetscFunctionReturn(0);
}

/* Converged when every element's last Newton update was small enough that
   the error it leaves (about its square: quadratic convergence) is below the
   element tolerance, the charge imbalance is below TC_ROLL_CHARGE_TOL, and
   the residual is below SNES's tolerances or at its rounding floor (the foil
   conductances are large, so the floor sits above 1e-11 of 1C on a fine
   network). */
static PetscErrorCode RollConverged(SNES snes, PetscInt it, PetscReal xnorm, PetscReal snorm,
                                    PetscReal fnorm, SNESConvergedReason *reason, void *ctx)
{
  TCRoll    r = (TCRoll)ctx;
  PetscReal atol, rtol, stol;
  PetscInt  maxit, maxf;
  PetscBool el_done = (PetscBool)(r->el_update <= TC_ROLL_EL_UPDATE_TOL);

  PetscFunctionBeginUser;
  PetscCall(SNESConvergedDefault(snes, it, xnorm, snorm, fnorm, reason, NULL));
  if (*reason > 0 && !(el_done && r->fsum_max <= TC_ROLL_CHARGE_TOL))
    *reason = SNES_CONVERGED_ITERATING;
  PetscCall(SNESGetTolerances(snes, &atol, &rtol, &stol, &maxit, &maxf));
  if (*reason == SNES_CONVERGED_ITERATING && el_done && fnorm <= r->fnorm_floor &&
      r->fsum_max <= TC_ROLL_CHARGE_TOL && it < maxit)
    *reason = SNES_CONVERGED_FNORM_ABS;
  /* near enough for one last linear step without evaluating the elements again
     (Polish): stop here; needs the step's preconditioner (it > 0) */
  r->polish = PETSC_FALSE;
  if (*reason == SNES_CONVERGED_ITERATING && !r->nested && it > 0 && it < maxit &&
      r->el_update <= TC_ROLL_POLISH_UPDATE && fnorm <= TC_ROLL_POLISH_F * r->I1C) {
    r->polish = PETSC_TRUE;
    *reason   = SNES_CONVERGED_FNORM_ABS;
  }
  if (r->monitor_newton)
    PetscCall(PetscPrintf(
        r->comm,
        "    roll Newton %d: |F| %.3e (floor %.3e), |sum F| / I %.3e, element update %.3e\n",
        (int)it, (double)fnorm, (double)r->fnorm_floor, (double)r->fsum_max, (double)r->el_update));
  PetscFunctionReturn(0);
}

/* the Jacobian with element conductances g (per element) and pterm
   subtracted on the positive terminal's diagonal (power control), set in the
   COO order of JacobianMat: per local row its diagonal and its links other
   than elements (zero where the row or the column is a fixed potential:
   the pattern is the same under every control), then per element its 2 x 2
   block. One pass over the values and, at 2+ ranks, one exchange on a
   communication pattern made once (MatSetValues and the stash's two-sided
   set-up at every assembly took 6-7 ms of a 31,200-node roll's Jacobian) */
static PetscErrorCode AssembleJacobian(TCRoll r, const PetscReal g_el[], PetscReal pterm, Mat P)
{
  PetscScalar *v = r->jv;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < r->n; i++) {
    PetscInt     tag   = r->tag[i];
    PetscBool    fixed = IsFixed(r, tag);
    PetscReal    d     = 0;
    PetscScalar *vd    = v++;
    for (PetscInt q = r->jptr[i]; q < r->jptr[i + 1]; q++) {
      PetscInt k = r->jk[q];
      d += r->G[k];
      *v++ = fixed || IsFixed(r, r->tag[r->lcol[k]]) ? 0 : -r->G[k];
    }
    if (tag == TC_ROLL_TAG_POS_TERMINAL && r->ctl == TC_CELL_POWER) d -= pterm;
    *vd = fixed ? 1 : d;
  }
  for (PetscInt e = 0; e < r->nel; e++) {
    PetscReal g = g_el[e];
    v[0] = v[3] = g;
    v[1] = v[2] = -g;
    v += 4;
  }
  PetscCall(MatSetValuesCOO(P, r->jv, INSERT_VALUES));
  PetscFunctionReturn(0);
}

/* the Jacobian at the point of the last function evaluation (SNES evaluates
   the function at a point before the Jacobian there); when it is to build the
   preconditioner (pc_pending), the conductances go into the trial state */
static PetscErrorCode FormJacobian(SNES snes, Vec X, Mat Jm, Mat P, void *ctx)
{
  TCRoll    r     = (TCRoll)ctx;
  PetscReal pterm = 0;

  PetscFunctionBeginUser;
  (void)snes;
  (void)Jm;
  if (r->ctl == TC_CELL_POWER && r->pos_row >= 0) {
    PetscInt  row = r->rstart + r->pos_row;
    PetscReal phit;
    PetscCall(VecGetValues(X, 1, &row, &phit));
    pterm = r->ctl_value / (phit * phit);
  }
  PetscCall(AssembleJacobian(r, r->gel, pterm, P));
  if (r->pc_pending) {
    PetscReal *g = r->trial_cells + r->off_glob;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &pterm, 1, MPIU_REAL, MPI_SUM, r->comm));
    PetscCall(PetscArraycpy(r->gpc, r->gel, r->nel));
    PetscCall(PetscArraycpy(r->trial_cells + r->off_gpc, r->gel, r->nel));
    r->pc_ctl = g[G_PC_CTL] = (PetscReal)r->ctl;
    r->pc_pterm = g[G_PC_PTERM] = pterm;
    g[G_PC_VALID]               = 1;
    g[G_PC_DREF]                = 0;
    g[G_PC_STALE]               = 0;
    r->pc_have                  = PETSC_TRUE;
    r->pc_pending               = PETSC_FALSE;
    r->pc_force                 = PETSC_FALSE;
    r->cnt.newton_pc_setups++;
  }
  PetscFunctionReturn(0);
}

/* The Newton's preconditioner for a step from state: rebuilt at the step's
   first Jacobian when asked for (a failed solve, a grown iteration count, a
   new control, -roll_pc_lag false), else the state's (built here from its
   conductances unless it is the one in memory already: after a restart, or
   a discarded trial that rebuilt it) */
static PetscErrorCode NewtonPCPrepare(TCRoll r, const PetscReal state[])
{
  const PetscReal *gs = state + r->off_glob;
  int              same;
  KSP              ksp;
  PC               pc;

  PetscFunctionBeginUser;
  if (!r->pc_lag || r->pc_force || gs[G_PC_VALID] != 1 || gs[G_PC_STALE] != 0 ||
      gs[G_PC_CTL] != (PetscReal)r->ctl) {
    PetscCall(SNESSetLagPreconditioner(r->snes, -2)); /* build at the first Jacobian, then keep */
    r->pc_pending = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  r->pc_pending = PETSC_FALSE;
  same          = r->pc_have && r->pc_ctl == gs[G_PC_CTL] && r->pc_pterm == gs[G_PC_PTERM] &&
         !memcmp(r->gpc, state + r->off_gpc, (size_t)r->nel * sizeof(PetscReal));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &same, 1, MPI_INT, MPI_LAND, r->comm));
  if (!same) {
    PetscCall(PetscArraycpy(r->gpc, state + r->off_gpc, r->nel));
    PetscCall(AssembleJacobian(r, r->gpc, gs[G_PC_PTERM], r->J));
    PetscCall(SNESGetKSP(r->snes, &ksp));
    PetscCall(KSPSetOperators(ksp, r->J, r->J));
    PetscCall(KSPSetReusePreconditioner(ksp, PETSC_FALSE));
    PetscCall(KSPGetPC(ksp, &pc));
    PetscCall(PCSetUp(pc));
    r->pc_ctl   = gs[G_PC_CTL];
    r->pc_pterm = gs[G_PC_PTERM];
    r->pc_have  = PETSC_TRUE;
    r->cnt.newton_pc_setups++;
  }
  PetscCall(SNESSetLagPreconditioner(r->snes, -1)); /* keep it */
  PetscFunctionReturn(0);
}

/* A kept preconditioner's staleness (state slots g[dref], g[stale]): the
   first solve after a rebuild records its CG iterations per decade of
   residual; a later solve needing TC_ROLL_PC_GROWTH times that marks it
   stale, to be rebuilt at the next step. */
static void PCStaleness(PetscReal *g, int dref, int stale, PetscInt its, PetscReal r0, PetscReal rn)
{
  PetscReal dec = rn > 0 && r0 > rn ? log10(r0 / rn) : 16;
  PetscReal d   = its / PetscMax(dec, 1e-3);
  if (g[dref] == 0)
    g[dref] = PetscMax(d, TC_ROLL_PC_DMIN);
  else if (d > TC_ROLL_PC_GROWTH * g[dref])
    g[stale] = 1;
}

/* CG's test for the Newton's linear solves (see TC_ROLL_LIN_ETA), and the
   bookkeeping of the kept preconditioner (see TC_ROLL_PC_GROWTH) */
static PetscErrorCode NewtonKSPConverged(KSP ksp, PetscInt it, PetscReal rnorm,
                                         KSPConvergedReason *reason, void *ctx)
{
  TCRoll r = (TCRoll)ctx;

  PetscFunctionBeginUser;
  PetscCall(KSPConvergedDefault(ksp, it, rnorm, reason, r->kspdef));
  if (it == 0) {
    r->lin_r0   = rnorm;
    r->foil_it0 = -1;
  }
  if (*reason == KSP_CONVERGED_ITERATING && it > 0) {
    PetscReal atol, rtol, stol, floor;
    PetscInt  maxit, maxf;
    PetscCall(SNESGetTolerances(r->snes, &atol, &rtol, &stol, &maxit, &maxf));
    floor = TC_ROLL_LIN_FLOOR * PetscMax(atol, r->fnorm_floor);
    if (rnorm <=
        (r->lin_polish
             ? floor
             : PetscMax(PetscMin(r->lin_eta, TC_ROLL_LIN_QUAD * r->lin_r0 / r->I1C) * r->lin_r0,
                        floor)))
      *reason = KSP_CONVERGED_ATOL;
  }
  if (r->cnt.newton_pc == TC_ROLL_SOLVER_FOIL && *reason > 0) {
    /* the charge each foil's free nodes would be left with after this update
       (the sums the Newton test bounds by TC_ROLL_CHARGE_TOL), from the true
       residual: the foil preconditioner leaves the residual smooth across the
       foils, so a solve that meets its norm test goes on until they are met
       too, for at most TC_ROLL_FOIL_EXTRA_ITS more iterations (their
       rounding floor can be above the bound) */
    PetscInt kmax;
    PetscCall(KSPGetTolerances(ksp, NULL, NULL, NULL, &kmax));
    if (r->foil_it0 < 0) r->foil_it0 = it;
    if (it < kmax && it - r->foil_it0 < TC_ROLL_FOIL_EXTRA_ITS) {
      Vec       res;
      PetscReal zr[2];
      PetscCall(FoilMasks(r));
      PetscCall(KSPBuildResidual(ksp, r->fwork[0], r->fwork[1], &res));
      PetscCall(VecMDot(res, 2, r->fz, zr));
      if (PetscMax(PetscAbsReal(zr[0]), PetscAbsReal(zr[1])) >
          TC_ROLL_LIN_FLOOR * TC_ROLL_CHARGE_TOL * r->fsum_scale)
        *reason = KSP_CONVERGED_ITERATING;
    }
  }
  if (*reason == KSP_CONVERGED_ITERATING) PetscFunctionReturn(0);
  r->cnt.newton_solves++;
  r->cnt.newton_its += it;
  if (*reason < 0) {
    r->pc_force = PETSC_TRUE;
  } else if (it > 0 && r->trial_cells) {
    PCStaleness(r->trial_cells + r->off_glob, G_PC_DREF, G_PC_STALE, it, r->lin_r0, rnorm);
  }
  PetscFunctionReturn(0);
}

/* the thermal solves' test: the default, noting the initial residual */
static PetscErrorCode ThermalKSPConverged(KSP ksp, PetscInt it, PetscReal rnorm,
                                          KSPConvergedReason *reason, void *ctx)
{
  TCRoll r = (TCRoll)ctx;

  PetscFunctionBeginUser;
  PetscCall(KSPConvergedDefault(ksp, it, rnorm, reason, r->kspdef_th));
  if (it == 0) r->th_r0 = rnorm;
  if (*reason == KSP_CONVERGED_ITERATING && it > 0 && rnorm <= r->th_atol)
    *reason = KSP_CONVERGED_ATOL;
  PetscFunctionReturn(0);
}

/* ---- linear solvers ------------------------------------------------------ */

/* -<prefix><name> set to value unless given (options given by the user win) */
static PetscErrorCode OptionDefault(const char *prefix, const char *name, const char *value)
{
  char      opt[256];
  PetscBool set;

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(opt, sizeof(opt), "-%s%s", prefix ? prefix : "", name));
  PetscCall(PetscOptionsHasName(NULL, NULL, opt, &set));
  if (!set) PetscCall(PetscOptionsSetValue(NULL, opt, value));
  PetscFunctionReturn(0);
}

/* Small enough for a sequential factorisation (on 2+ ranks on every rank):
   up to TC_ROLL_DIRECT_MAX_NODES nodes, or TC_ROLL_DIRECT_MAX_NODES_SHEET for
   a roll of one node layer (a 2-D graph: its nested-dissection fill stays
   small; a layered roll's is a 3-D grid's) */
static PetscErrorCode DirectSmall(TCRoll r, PetscBool *small)
{
  PetscInt N, ns[2], layers, nel;

  PetscFunctionBeginUser;
  PetscCall(VecGetSize(r->X, &N));
  PetscCall(TCRollNetGetSizes(r->net, ns, &layers, &nel));
  *small = (PetscBool)(N <= TC_ROLL_DIRECT_MAX_NODES ||
                       (layers == 1 && N <= TC_ROLL_DIRECT_MAX_NODES_SHEET));
  PetscFunctionReturn(0);
}

/* A preconditioner for a symmetric positive definite system of the roll (the
   Newton Jacobian, the thermal matrix): a factorisation, LU (on 2+ ranks a
   redundant sequential LU on every rank when DirectSmall, else
   SuperLU_dist: its results do not depend on message timing, so runs and
   restarts repeat bit for bit; MUMPS's differ in the last bits, and
   SuperLU_dist's triangular solves crawl when ranks share cores), or
   algebraic multigrid (BoomerAMG, else GAMG). */
static PetscErrorCode SetSPDPreconditioner(TCRoll r, PC pc, PetscBool amg)
{
  PetscMPIInt size;
  PetscBool   mumps = PETSC_FALSE, superlu = PETSC_FALSE, hypre = PETSC_FALSE, small;
  PetscInt    N;

  PetscFunctionBeginUser;
  PetscCall(DirectSmall(r, &small));
  PetscCallMPI(MPI_Comm_size(r->comm, &size));
  PetscCall(VecGetSize(r->X, &N));
  PetscCall(PetscHasExternalPackage("mumps", &mumps));
  PetscCall(PetscHasExternalPackage("superlu_dist", &superlu));
  PetscCall(PetscHasExternalPackage("hypre", &hypre));
  if (amg) {
    PetscCall(PCSetType(pc, hypre ? PCHYPRE : PCGAMG));
    if (hypre) {
      /* BoomerAMG for 3-D-like graphs (the layers make one): HMIS coarsening,
         extended+i interpolation, strong threshold 0.5. With one level of
         aggressive coarsening (agg_nl 1: a cheaper set-up, weaker cycles) this
         took the preconditioner's set-up on the 21700 at 1 mm x 20 layers
         from 83 to 31 ms and the run from 64 to 47 s when it was rebuilt at
         every step. The Newton's is kept across steps now (13 set-ups in that
         run at 2 ranks): without aggressive coarsening its CG takes 1,167
         iterations instead of 2,484 (same steps and Newton iterations,
         capacity to 1e-11 of itself, T_max to 1e-9 K). The thermal one keeps
         agg_nl 1 (620 iterations against 558 without, but cheaper cycles: no
         slower; with abuse reactions it is rebuilt often) and takes at most
         4 interpolation weights per row (P_max 4: operator complexity 2.7 ->
         2.1, 1,345 instead of 1,310 CG iterations in that run with the foil
         preconditioner for the Newton, all linear solves 7.1 -> 6.0 s). Options
         given by the user win. */
      const char *prefix;
      PetscCall(PCGetOptionsPrefix(pc, &prefix));
      PetscBool   th       = (PetscBool)(prefix && !strcmp(prefix, "thermal_"));
      const char *def[5][2] = {{"pc_hypre_boomeramg_coarsen_type", "HMIS"},
                               {"pc_hypre_boomeramg_interp_type", "ext+i"},
                               {"pc_hypre_boomeramg_strong_threshold", "0.5"},
                               {"pc_hypre_boomeramg_agg_nl", th ? "1" : "0"},
                               {"pc_hypre_boomeramg_P_max", th ? "4" : "0"}};
      for (int k = 0; k < 5; k++) PetscCall(OptionDefault(prefix, def[k][0], def[k][1]));
      PetscCall(PCSetFromOptions(pc));
    }
    PetscFunctionReturn(0);
  }
  PetscCall(PCSetType(pc, PCLU));
  if (size > 1 && small) {
    /* small: every rank factors the whole matrix (sequential LU, identical on
       every rank); no parallel triangular solves */
    PetscCall(PCSetType(pc, PCREDUNDANT));
  } else if (size > 1) {
    PetscCheck(mumps || superlu, r->comm, PETSC_ERR_SUP,
               "a direct solve on %d ranks needs SuperLU_dist or MUMPS; use linear_solver: amg",
               (int)size);
    PetscCall(PCFactorSetMatSolverType(pc, superlu ? MATSOLVERSUPERLU_DIST : MATSOLVERMUMPS));
  }
  PetscFunctionReturn(0);
}

/* The Newton's preconditioner for a layered roll ("foil"): the two foils'
   sheets factored apart (FoilSheets: the Al foil with the positive terminal,
   the Cu foil with the negative, each by LU on one rank), plus, added, a
   coarse correction in the span of each foil's constant (FoilCoarse). Within a
   foil the conductances are those of metal; between the foils only the
   elements' (3-4 orders of magnitude smaller), so the dropped coupling is
   weak; what it carries is the charge between the foils (one foil's
   potential against the other's), which the coarse correction restores, so
   CG converges in a few iterations and its residual keeps the electrodes'
   charge balance. Each sheet alone is a 2-D graph (along the foil x across
   its width), whose factor fills in little, where the whole roll's couples
   neighbouring turns through the elements and fills in like a 3-D grid's. */
typedef struct {
  TCRoll    r;    /* its fz: the indicators of each foil's free nodes */
  Vec       z[2]; /* their copies at the set-up */
  PetscReal a[4]; /* z_j . P z_k */
} FoilCoarse;

static PetscErrorCode FoilCoarseSetUp(PC pc)
{
  FoilCoarse *fc;
  Mat         P;
  Vec         w;

  PetscFunctionBeginUser;
  PetscCall(PCShellGetContext(pc, &fc));
  PetscCall(PCGetOperators(pc, NULL, &P));
  PetscCall(FoilMasks(fc->r));
  for (int k = 0; k < 2; k++) {
    if (!fc->z[k]) PetscCall(VecDuplicate(fc->r->fz[k], &fc->z[k]));
    PetscCall(VecCopy(fc->r->fz[k], fc->z[k]));
  }
  PetscCall(VecDuplicate(fc->z[0], &w));
  for (int k = 0; k < 2; k++) {
    PetscCall(MatMult(P, fc->z[k], w));
    PetscCall(VecMDot(w, 2, fc->z, fc->a + 2 * k)); /* a[2k + j] = z_j . P z_k */
  }
  PetscCall(VecDestroy(&w));
  PetscFunctionReturn(0);
}

static PetscErrorCode FoilCoarseApply(PC pc, Vec x, Vec y)
{
  FoilCoarse *fc;
  PetscReal   c[2], det, y2[2];

  PetscFunctionBeginUser;
  PetscCall(PCShellGetContext(pc, &fc));
  PetscCall(VecMDot(x, 2, fc->z, c));
  /* (Z^T P Z) y2 = Z^T x, with (Z^T P Z)_jk = a[2k + j] */
  det   = fc->a[0] * fc->a[3] - fc->a[2] * fc->a[1];
  y2[0] = det != 0 ? (fc->a[3] * c[0] - fc->a[2] * c[1]) / det : 0;
  y2[1] = det != 0 ? (fc->a[0] * c[1] - fc->a[1] * c[0]) / det : 0;
  PetscCall(VecSet(y, 0));
  PetscCall(VecMAXPY(y, 2, y2, fc->z));
  PetscFunctionReturn(0);
}

static PetscErrorCode FoilCoarseDestroy(PC pc)
{
  FoilCoarse *fc;

  PetscFunctionBeginUser;
  PetscCall(PCShellGetContext(pc, &fc));
  PetscCall(VecDestroy(&fc->z[0]));
  PetscCall(VecDestroy(&fc->z[1]));
  PetscCall(PetscFree(fc));
  PetscFunctionReturn(0);
}

/* The foils' sheets factored apart: sheet k (0 Al, 1 Cu) is gathered to rank
   k % size, which factors it (sequential LU, nested dissection) and solves
   with it, so on 2 ranks the two sheets are solved at the same time. */
typedef struct {
  PetscMPIInt rank, size;
  IS          rows[2];  /* the sheet's rows: on its rank all of them, elsewhere none */
  PetscInt    nsub;     /* the sheets this rank holds (0-2), and which */
  PetscInt    which[2];
  Mat        *sub;      /* their matrices (MatCreateSubMatrices) */
  KSP         ksp[2];   /* their factorisations */
  Vec         xs[2], ys[2];
  VecScatter  sc[2];    /* global vector -> sheet k on its rank */
} FoilSheets;

static PetscErrorCode FoilSheetsSetUp(PC pc)
{
  FoilSheets *fs;
  Mat         P;
  IS          rows[2];

  PetscFunctionBeginUser;
  PetscCall(PCShellGetContext(pc, &fs));
  PetscCall(PCGetOperators(pc, NULL, &P));
  for (PetscInt j = 0; j < fs->nsub; j++) rows[j] = fs->rows[fs->which[j]];
  if (!fs->sub) {
    PetscCall(MatCreateSubMatrices(P, fs->nsub, rows, rows, MAT_INITIAL_MATRIX, &fs->sub));
    for (PetscInt j = 0; j < fs->nsub; j++) {
      PetscInt k = fs->which[j];
      PC       lu;
      PetscCall(KSPCreate(PETSC_COMM_SELF, &fs->ksp[k]));
      PetscCall(KSPSetType(fs->ksp[k], KSPPREONLY));
      PetscCall(KSPGetPC(fs->ksp[k], &lu));
      PetscCall(PCSetType(lu, PCLU));
    }
  } else
    PetscCall(MatCreateSubMatrices(P, fs->nsub, rows, rows, MAT_REUSE_MATRIX, &fs->sub));
  for (PetscInt j = 0; j < fs->nsub; j++) {
    PetscInt k = fs->which[j];
    PetscCall(KSPSetOperators(fs->ksp[k], fs->sub[j], fs->sub[j]));
    PetscCall(KSPSetUp(fs->ksp[k]));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode FoilSheetsApply(PC pc, Vec x, Vec y)
{
  FoilSheets *fs;

  PetscFunctionBeginUser;
  PetscCall(PCShellGetContext(pc, &fs));
  for (int k = 0; k < 2; k++)
    PetscCall(VecScatterBegin(fs->sc[k], x, fs->xs[k], INSERT_VALUES, SCATTER_FORWARD));
  for (int k = 0; k < 2; k++)
    PetscCall(VecScatterEnd(fs->sc[k], x, fs->xs[k], INSERT_VALUES, SCATTER_FORWARD));
  for (PetscInt j = 0; j < fs->nsub; j++) {
    PetscInt k = fs->which[j];
    PetscCall(KSPSolve(fs->ksp[k], fs->xs[k], fs->ys[k]));
  }
  for (int k = 0; k < 2; k++)
    PetscCall(VecScatterBegin(fs->sc[k], fs->ys[k], y, INSERT_VALUES, SCATTER_REVERSE));
  for (int k = 0; k < 2; k++)
    PetscCall(VecScatterEnd(fs->sc[k], fs->ys[k], y, INSERT_VALUES, SCATTER_REVERSE));
  PetscFunctionReturn(0);
}

static PetscErrorCode FoilSheetsDestroy(PC pc)
{
  FoilSheets *fs;

  PetscFunctionBeginUser;
  PetscCall(PCShellGetContext(pc, &fs));
  if (fs->sub) PetscCall(MatDestroySubMatrices(fs->nsub, &fs->sub));
  for (int k = 0; k < 2; k++) {
    PetscCall(ISDestroy(&fs->rows[k]));
    PetscCall(KSPDestroy(&fs->ksp[k]));
    PetscCall(VecDestroy(&fs->xs[k]));
    PetscCall(VecDestroy(&fs->ys[k]));
    PetscCall(VecScatterDestroy(&fs->sc[k]));
  }
  PetscCall(PetscFree(fs));
  PetscFunctionReturn(0);
}

/* the k-th PC of the additive composite pc: a PCSHELL with these callbacks */
static PetscErrorCode CompositeAddShell(PC pc, PetscInt k, void *ctx, PetscErrorCode (*setup)(PC),
                                        PetscErrorCode (*apply)(PC, Vec, Vec),
                                        PetscErrorCode (*destroy)(PC), const char name[])
{
  PC sh;

  PetscFunctionBeginUser;
  PetscCall(PCCompositeAddPCType(pc, PCSHELL));
  PetscCall(PCCompositeGetPC(pc, k, &sh));
  PetscCall(PCShellSetContext(sh, ctx));
  PetscCall(PCShellSetSetUp(sh, setup));
  PetscCall(PCShellSetApply(sh, apply));
  PetscCall(PCShellSetDestroy(sh, destroy));
  PetscCall(PCShellSetName(sh, name));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetFoilPreconditioner(TCRoll r, PC pc)
{
  PetscInt    rstart, nl[2] = {0, 0}, *il[2];
  FoilCoarse *fc;
  FoilSheets *fs;

  PetscFunctionBeginUser;
  PetscCall(VecGetOwnershipRange(r->X, &rstart, NULL));
  PetscCall(PetscNew(&fc));
  fc->r = r;
  PetscCall(PetscNew(&fs));
  PetscCallMPI(MPI_Comm_rank(r->comm, &fs->rank));
  PetscCallMPI(MPI_Comm_size(r->comm, &fs->size));
  PetscCall(PetscMalloc2(r->n, &il[0], r->n, &il[1]));
  for (PetscInt i = 0; i < r->n; i++) {
    int k          = FoilOf(r->tag[i]);
    il[k][nl[k]++] = rstart + i;
  }
  for (int k = 0; k < 2; k++) {
    IS       mine, all;
    PetscInt n, nall;
    PetscCall(ISCreateGeneral(r->comm, nl[k], il[k], PETSC_USE_POINTER, &mine));
    PetscCall(ISAllGather(mine, &all)); /* in rank order: ascending */
    PetscCall(ISDestroy(&mine));
    PetscCall(ISGetLocalSize(all, &nall));
    if (fs->rank == k % fs->size) {
      fs->rows[k]               = all;
      fs->which[fs->nsub++]     = k;
      n                         = nall;
    } else {
      PetscCall(ISDestroy(&all));
      PetscCall(ISCreateGeneral(PETSC_COMM_SELF, 0, NULL, PETSC_COPY_VALUES, &fs->rows[k]));
      n = 0;
    }
    PetscCall(VecCreateSeq(PETSC_COMM_SELF, n, &fs->xs[k]));
    PetscCall(VecDuplicate(fs->xs[k], &fs->ys[k]));
    PetscCall(VecScatterCreate(r->X, fs->rows[k], fs->xs[k], NULL, &fs->sc[k]));
  }
  PetscCall(PetscFree2(il[0], il[1]));
  PetscCall(PCSetType(pc, PCCOMPOSITE));
  PetscCall(PCCompositeSetType(pc, PC_COMPOSITE_ADDITIVE));
  PetscCall(CompositeAddShell(pc, 0, fs, FoilSheetsSetUp, FoilSheetsApply, FoilSheetsDestroy,
                              "each foil's sheet by LU: the Al on rank 0, the Cu on rank 1"));
  PetscCall(CompositeAddShell(pc, 1, fc, FoilCoarseSetUp, FoilCoarseApply, FoilCoarseDestroy,
                              "coarse correction: each foil's constant"));
  PetscFunctionReturn(0);
}

/* The linear solvers, at the first solve (not at creation: a SuperLU_dist
   preconditioner destroyed before its first use fails). Both systems are
   solved by CG with a preconditioner built at the first solve of each step
   and reused for the rest of the step (Newton iterations, coupling
   iterations), where the matrices change little: a factorisation when
   DirectSmall, else AMG. A direct factorisation of a many-layer roll fills
   in like a 3-D grid's (a 21700 at 1 mm x 5 layers, 7,800 nodes: 0.5 s per
   LU, 5 ms per triangular solve against 1 ms per BoomerAMG cycle); CG +
   BoomerAMG costs O(N). */
static PetscErrorCode SolversConfigure(TCRoll r)
{
  KSP            ksp;
  PC             pc;
  SNESLineSearch ls;
  PetscInt       solver = r->rp.linear_solver;
  PetscMPIInt    size;
  PetscBool      small, th_amg;

  PetscFunctionBeginUser;
  if (r->snes_ready) PetscFunctionReturn(0);
  PetscCallMPI(MPI_Comm_size(r->comm, &size));
  PetscCall(DirectSmall(r, &small));
  if (solver == TC_ROLL_SOLVER_AUTO) {
    PetscInt N;
    PetscCall(VecGetSize(r->X, &N));
    solver = small                          ? TC_ROLL_SOLVER_DIRECT
             : N <= TC_ROLL_FOIL_MAX_NODES ? TC_ROLL_SOLVER_FOIL
                                            : TC_ROLL_SOLVER_AMG;
  }
  /* Newton: the linear error stays below the Newton test's rounding floor */
  PetscCall(SNESGetKSP(r->snes, &ksp));
  PetscCall(KSPSetType(ksp, KSPCG));
  PetscCall(KSPSetTolerances(ksp, 1e-10, 1e-50, PETSC_DEFAULT, 1000));
  /* the true residual, to compare with the Newton's floor (TC_ROLL_LIN_ETA) */
  PetscCall(KSPSetNormType(ksp, KSP_NORM_UNPRECONDITIONED));
  PetscCall(KSPConvergedDefaultCreate(&r->kspdef));
  PetscCall(KSPSetConvergenceTest(ksp, NewtonKSPConverged, r, NULL));
  PetscCall(KSPGetPC(ksp, &pc));
  if (solver == TC_ROLL_SOLVER_FOIL)
    PetscCall(SetFoilPreconditioner(r, pc));
  else
    PetscCall(SetSPDPreconditioner(r, pc, (PetscBool)(solver == TC_ROLL_SOLVER_AMG)));
  r->cnt.newton_pc = solver;
  /* factorisations (also the foils'): cheap iterations, tighter solves */
  if (r->lin_eta == 0)
    r->lin_eta = solver != TC_ROLL_SOLVER_AMG ? TC_ROLL_LIN_ETA_DIRECT : TC_ROLL_LIN_ETA;
  PetscCall(SNESGetLineSearch(r->snes, &ls));
  /* full Newton steps: a backtracked step would pass the update-size (stol) test unconverged */
  PetscCall(SNESLineSearchSetType(ls, SNESLINESEARCHBASIC));
  /* thermal: tight, for the energy books */
  PetscCall(KSPSetType(r->ksp_th, KSPCG));
  PetscCall(KSPSetTolerances(r->ksp_th, 1e-13, 1e-50, PETSC_DEFAULT, 10000));
  PetscCall(KSPSetInitialGuessNonzero(r->ksp_th, PETSC_TRUE));
  PetscCall(KSPConvergedDefaultCreate(&r->kspdef_th));
  PetscCall(KSPSetConvergenceTest(r->ksp_th, ThermalKSPConverged, r, NULL));
  PetscCall(KSPGetPC(r->ksp_th, &pc));
  /* not a second SuperLU_dist factorisation in the process: it corrupts the
     heap at finalisation (Debian's SuperLU_dist 8.1) */
  th_amg = (PetscBool)(solver == TC_ROLL_SOLVER_AMG || (size > 1 && !small) ||
                      (solver == TC_ROLL_SOLVER_FOIL && !small));
  PetscCall(SetSPDPreconditioner(r, pc, th_amg));
  /* the hardware's nodes are dense rows (a can ring couples to every outer node in
     its band, the bottom and the cap to every end node): nested dissection's
     separators fill in around them (the 18650 at 10 mm x 3 layers: fill 9.1, 33,184
     factor nonzeros against 13,752 without the hardware), quotient minimum degree
     takes them last (3.5, 12,778). With abuse reactions the thermal matrix is
     factored at every Newton iteration of the step. Without the hardware the
     ordering stays nested dissection (the same bits as before). */
  if (r->Nhw > 0 && !th_amg) {
    PC lu = pc;
    if (size > 1) { /* small on many ranks: every rank factors the whole matrix */
      KSP inner;
      PetscCall(PCRedundantGetKSP(pc, &inner));
      PetscCall(KSPGetPC(inner, &lu));
    }
    PetscCall(PCFactorSetMatOrderingType(lu, MATORDERINGQMD));
  }
  if (r->snes_from_options) {
    PetscCall(SNESSetFromOptions(r->snes));
    PetscCall(KSPSetFromOptions(r->ksp_th));
  }
  r->snes_ready = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* ---- thermal --------------------------------------------------------------- */

/* the conductances of the thermal network added into M (K, or a MATPREALLOCATOR
   with K's layout that records the pattern) */
static PetscErrorCode ThermalInsert(TCRoll r, Mat M)
{
  const TCRollParams *rp = &r->rp;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < r->n; i++) {
    PetscInt  row = r->rstart + i, ti = r->tag[i];
    PetscReal d = 0;
    if (IsTerminal(ti)) {
      PetscCall(MatSetValue(M, row, row, 0.0, ADD_VALUES)); /* keep the diagonal */
      continue;
    }
    for (PetscInt k = r->ptr[i]; k < r->ptr[i + 1]; k++) {
      PetscInt  j = r->lcol[k], tj = r->tag[j];
      PetscReal Gt;
      if (IsTerminal(tj) || ti != tj) continue; /* across the layers: the links below */
      { /* along the foil strip: the electrical conductance scaled */
        PetscBool along_z = (PetscBool)(PetscAbsReal(r->zg[i] - r->zg[j]) > 1e-12);
        Gt                = r->G[k] * (along_z ? rp->k_z_W_mK : rp->k_s_W_mK) * rp->t_node_m[ti] /
             rp->sigma_t_S[ti];
      }
      d += Gt;
      PetscCall(MatSetValue(M, row, r->col[k], -Gt, ADD_VALUES));
    }
    PetscCall(MatSetValue(M, row, row, d, ADD_VALUES));
  }
  /* across the layers: the network's thermal links, in the new numbering */
  {
    PetscInt         nl, *ij;
    const PetscInt  *ijin, *inid;
    const PetscReal *area, *dist;
    PetscInt        *app, *pet;
    AO               ao;
    PetscCall(TCRollNetGetThermalLinks(r->net, &nl, &ijin, &area, &dist));
    PetscCall(TCGraphGetNodes(r->g, NULL, NULL, &inid));
    PetscCall(
        PetscMalloc3(PetscMax(r->n, 1), &app, PetscMax(r->n, 1), &pet, PetscMax(2 * nl, 1), &ij));
    for (PetscInt i = 0; i < r->n; i++) {
      app[i] = inid[i];
      pet[i] = r->rstart + i;
    }
    PetscCall(AOCreateBasic(r->comm, r->n, app, pet, &ao));
    PetscCall(PetscArraycpy(ij, ijin, 2 * nl));
    PetscCall(AOApplicationToPetsc(ao, 2 * nl, ij));
    PetscCall(AODestroy(&ao));
    for (PetscInt q = 0; q < nl; q++) {
      PetscReal   Gt   = rp->k_r_W_mK * area[q] / dist[q];
      PetscScalar v[4] = {Gt, -Gt, -Gt, Gt};
      PetscCall(MatSetValues(M, 2, ij + 2 * q, 2, ij + 2 * q, v, ADD_VALUES));
    }
    PetscCall(PetscFree3(app, pet, ij));
  }
  /* the hardware: its own conductances (inserted by the rank that owns its nodes)
     and this rank's links between roll nodes and hardware */
  for (PetscInt k = 0; k < r->nhw; k++)
    PetscCall(MatSetValue(M, r->hw0 + k, r->hw0 + k, 0.0, ADD_VALUES));
  for (int pass = 0; pass < 2; pass++) {
    const TCThermalLink *l  = pass ? r->cpl : r->hwl;
    PetscInt             nl = pass ? r->ncpl : (r->nhw ? r->nhwl : 0);
    for (PetscInt q = 0; q < nl; q++) {
      PetscInt    ij[2] = {l[q].i, l[q].j};
      PetscScalar v[4]  = {l[q].G, -l[q].G, -l[q].G, l[q].G};
      PetscCall(MatSetValues(M, 2, ij, 2, ij, v, ADD_VALUES));
    }
  }
  PetscFunctionReturn(0);
}

/* a thermal node held at the ambient (a terminal) */
static PetscBool ThermalFixed(TCRoll r, PetscInt i)
{
  return (PetscBool)(i < r->n && IsTerminal(r->tag[i]));
}

/* The thermal iterate into T (thermal layout): the graph's nodes from Tg, the
   hardware's from hw[] */
static PetscErrorCode IterateToThermal(TCRoll r, const PetscReal hw[], Vec T)
{
  const PetscScalar *tg;
  PetscScalar       *t;

  PetscFunctionBeginUser;
  PetscCall(VecGetArrayRead(r->Tg, &tg));
  PetscCall(VecGetArray(T, &t));
  PetscCall(PetscArraycpy(t, tg, r->n));
  PetscCall(PetscArraycpy(t + r->n, hw, r->nhw));
  PetscCall(VecRestoreArray(T, &t));
  PetscCall(VecRestoreArrayRead(r->Tg, &tg));
  PetscFunctionReturn(0);
}

/* ... and back: Tg (ghosts updated) and hw[] from T */
static PetscErrorCode ThermalToIterate(TCRoll r, Vec T, PetscReal hw[])
{
  const PetscScalar *t;

  PetscFunctionBeginUser;
  PetscCall(VecGetArrayRead(T, &t));
  PetscCall(Ghosted(r, t, r->Tg, NULL));
  PetscCall(PetscArraycpy(hw, t + r->n, r->nhw));
  PetscCall(VecRestoreArrayRead(T, &t));
  PetscFunctionReturn(0);
}

/* The thermal matrix K, assembled. On the first call K is preallocated exactly
   from its pattern (the graph along the foils and the cross-layer links, whose
   rows may belong to other ranks): a MATPREALLOCATOR pass over the same
   insertions, so that no MatSetValues allocates (new nonzeros are errors). */
static PetscErrorCode ThermalAssemble(TCRoll r)
{
  PetscFunctionBeginUser;
  if (!r->K_preallocated) {
    Mat      pre;
    PetscInt m, n, M, N;
    PetscCall(MatGetLocalSize(r->K, &m, &n));
    PetscCall(MatGetSize(r->K, &M, &N));
    PetscCall(MatCreate(r->comm, &pre));
    PetscCall(MatSetSizes(pre, m, n, M, N));
    PetscCall(MatSetType(pre, MATPREALLOCATOR));
    PetscCall(MatSetUp(pre));
    PetscCall(ThermalInsert(r, pre));
    PetscCall(MatAssemblyBegin(pre, MAT_FINAL_ASSEMBLY));
    PetscCall(MatAssemblyEnd(pre, MAT_FINAL_ASSEMBLY));
    PetscCall(MatPreallocatorPreallocate(pre, PETSC_TRUE, r->K));
    PetscCall(MatDestroy(&pre));
    PetscCall(MatSetOption(r->K, MAT_NEW_NONZERO_ALLOCATION_ERR, PETSC_TRUE));
    r->K_preallocated = PETSC_TRUE;
  }
  PetscCall(MatZeroEntries(r->K));
  PetscCall(ThermalInsert(r, r->K));
  PetscCall(MatAssemblyBegin(r->K, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(r->K, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

/* A = C/dt + K + H (T fixed on the fixed nodes) for dt */
static PetscErrorCode ThermalOperator(TCRoll r, PetscReal dt)
{
  Vec          diag;
  PetscScalar *dd;

  PetscFunctionBeginUser;
  if (dt == r->dt_A) PetscFunctionReturn(0);
  PetscCall(MatCopy(r->K, r->A, SAME_NONZERO_PATTERN));
  PetscCall(VecDuplicate(r->C, &diag));
  PetscCall(VecCopy(r->H, diag));
  if (isfinite(dt)) PetscCall(VecAXPY(diag, 1.0 / dt, r->C));
  PetscCall(VecGetArray(diag, &dd));
  for (PetscInt i = 0; i < r->n; i++)
    if (ThermalFixed(r, i)) dd[i] = 1; /* T = T_amb there */
  PetscCall(VecRestoreArray(diag, &dd));
  PetscCall(MatDiagonalSet(r->A, diag, ADD_VALUES));
  PetscCall(VecDestroy(&diag));
  r->dt_A = dt;
  PetscFunctionReturn(0);
}

/* The thermal preconditioner for A(dt). In a step it is kept across steps
   (in the state: G_TH_PC_DT, the dt it was built for, so that a restart
   builds the same one from A at that dt) and rebuilt at the next step once
   its iterations per decade grow (as the Newton's, TC_ROLL_PC_GROWTH); A's
   values are those of dt again on return. Not for the abuse Newton's matrix
   (D: A - dq/dT moves far and can be indefinite near runaway): that one is
   built for each of its solves. *rec: record the solve's iterations in the
   state. */
static PetscErrorCode ThermalPCPrepare(TCRoll r, PetscReal dt, PetscBool abuse, PetscBool *rec)
{
  PetscReal *g = r->trial_cells ? r->trial_cells + r->off_glob : NULL;
  PetscReal  want;

  PetscFunctionBeginUser;
  *rec = PETSC_FALSE;
  if (abuse) { /* for this solve only */
    PetscCall(KSPSetReusePreconditioner(r->ksp_th, PETSC_FALSE));
    r->cnt.thermal_pc_setups++;
    r->th_pc_A = PETSC_FALSE;
    PetscFunctionReturn(0);
  }
  if (r->th_fresh || !g || !r->pc_lag) { /* kept while dt is (-roll_pc_lag false) */
    PetscBool reuse = (PetscBool)(!r->th_fresh && r->th_pc_A && r->th_pc_dt == dt);
    PetscCall(KSPSetReusePreconditioner(r->ksp_th, reuse));
    if (!reuse) r->cnt.thermal_pc_setups++;
    r->th_pc_A  = PETSC_TRUE;
    r->th_pc_dt = dt;
    PetscFunctionReturn(0);
  }
  if (g[G_TH_PC_DT] == 0 || g[G_TH_PC_STALE] != 0) { /* a new one, at this dt */
    g[G_TH_PC_DT]    = dt;
    g[G_TH_PC_DREF]  = 0;
    g[G_TH_PC_STALE] = 0;
    r->th_pc_A       = PETSC_FALSE;
  }
  want = g[G_TH_PC_DT];
  *rec = PETSC_TRUE;
  if (r->th_pc_A && r->th_pc_dt == want) {
    PetscCall(KSPSetReusePreconditioner(r->ksp_th, PETSC_TRUE));
    PetscFunctionReturn(0);
  }
  PetscCall(ThermalOperator(r, want));
  PetscCall(KSPSetOperators(r->ksp_th, r->A, r->A));
  PetscCall(KSPSetReusePreconditioner(r->ksp_th, PETSC_FALSE));
  PetscCall(KSPSetUp(r->ksp_th));
  PetscCall(KSPSetReusePreconditioner(r->ksp_th, PETSC_TRUE));
  PetscCall(ThermalOperator(r, dt));
  r->cnt.thermal_pc_setups++;
  r->th_pc_A  = PETSC_TRUE;
  r->th_pc_dt = want;
  PetscFunctionReturn(0);
}

/* The thermal solve's energy correction: the free nodes shifted together by
   the temperature that makes the sum of the residual over them (the heat the
   solve leaves unbalanced, W: the step's error in the energy books) zero,
   d = m.(b - A T) / m.A m. The CG stops at TC_ROLL_THERMAL_T_ATOL_K (RMS,
   in its preconditioned norm: about the temperature error), or at rtol
   1e-13; the books then close to rounding as when every solve ran to
   1e-13, and the shift is about the CG's tolerance or less. */
static PetscErrorCode ThermalBalance(TCRoll r, Mat A, Vec T)
{
  PetscReal s, den;

  PetscFunctionBeginUser;
  if (!r->th_m) {
    PetscScalar *m;
    PetscCall(VecDuplicate(T, &r->th_m));
    PetscCall(VecDuplicate(T, &r->th_w));
    PetscCall(VecDuplicate(T, &r->th_r));
    PetscCall(VecGetArray(r->th_m, &m));
    for (PetscInt i = 0; i < r->nt; i++) m[i] = ThermalFixed(r, i) ? 0 : 1;
    PetscCall(VecRestoreArray(r->th_m, &m));
  }
  PetscCall(MatMult(A, T, r->th_r));
  PetscCall(VecAYPX(r->th_r, -1.0, r->b)); /* b - A T */
  PetscCall(MatMult(A, r->th_m, r->th_w));
  PetscCall(VecDot(r->th_r, r->th_m, &s));
  PetscCall(VecDot(r->th_w, r->th_m, &den));
  if (den > 0) PetscCall(VecAXPY(T, s / den, r->th_m));
  PetscFunctionReturn(0);
}

/* (C/dt + K + H - diag(D)) Tnew = C/dt Told + Q + H T_amb; D (may be NULL) the
   derivative of a temperature-dependent source. *ok: the solve converged. */
static PetscErrorCode ThermalSolveCore(TCRoll r, Vec Told, Vec Q, PetscReal dt, Vec D, Vec Tnew,
                                       PetscBool *ok)
{
  PetscScalar       *bb;
  const PetscScalar *c, *h, *to, *q;
  KSPConvergedReason reason;
  Mat                op;
  PetscBool          rec;

  PetscFunctionBeginUser;
  PetscCall(ThermalOperator(r, dt));
  op = r->A;
  if (D) {
    if (!r->A2)
      PetscCall(MatDuplicate(r->A, MAT_COPY_VALUES, &r->A2));
    else
      PetscCall(MatCopy(r->A, r->A2, SAME_NONZERO_PATTERN));
    PetscCall(VecScale(D, -1.0));
    PetscCall(MatDiagonalSet(r->A2, D, ADD_VALUES));
    PetscCall(VecScale(D, -1.0));
    op = r->A2;
  }
  PetscCall(SolversConfigure(r));
  PetscCall(ThermalPCPrepare(r, dt, (PetscBool)(D != NULL), &rec));
  PetscCall(KSPSetOperators(r->ksp_th, op, op));
  r->th_fresh = PETSC_FALSE;
  PetscCall(VecGetArray(r->b, &bb));
  PetscCall(VecGetArrayRead(r->C, &c));
  PetscCall(VecGetArrayRead(r->H, &h));
  PetscCall(VecGetArrayRead(Told, &to));
  PetscCall(VecGetArrayRead(Q, &q));
  for (PetscInt i = 0; i < r->nt; i++) {
    if (ThermalFixed(r, i)) {
      bb[i] = r->Tamb_now;
      continue;
    }
    bb[i] = q[i] + h[i] * r->Tamb_now + (isfinite(dt) ? c[i] / dt * to[i] : 0);
  }
  PetscCall(VecRestoreArrayRead(Q, &q));
  PetscCall(VecRestoreArrayRead(Told, &to));
  PetscCall(VecRestoreArrayRead(r->H, &h));
  PetscCall(VecRestoreArrayRead(r->C, &c));
  PetscCall(VecRestoreArray(r->b, &bb));
  {
    PetscInt N;
    PetscCall(VecGetSize(r->b, &N));
    r->th_atol = D ? 0 : TC_ROLL_THERMAL_T_ATOL_K * PetscSqrtReal((PetscReal)N);
  }
  PetscCall(KSPSolve(r->ksp_th, r->b, Tnew));
  PetscCall(KSPGetConvergedReason(r->ksp_th, &reason));
  if (reason > 0 && !D) PetscCall(ThermalBalance(r, op, Tnew));
  {
    PetscInt  its;
    PetscReal rn;
    PetscCall(KSPGetIterationNumber(r->ksp_th, &its));
    PetscCall(KSPGetResidualNorm(r->ksp_th, &rn));
    r->cnt.thermal_solves++;
    r->cnt.thermal_its += its;
    if (rec && reason > 0 && its > 0) /* iterations per decade (TC_ROLL_PC_GROWTH) */
      PCStaleness(r->trial_cells + r->off_glob, G_TH_PC_DREF, G_TH_PC_STALE, its, r->th_r0, rn);
  }
  *ok = (PetscBool)(reason > 0);
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollThermalSolve(TCRoll r, Vec Told, Vec Q, PetscReal dt, Vec Tnew)
{
  PetscBool ok;

  PetscFunctionBeginUser;
  r->th_fresh = PETSC_TRUE;
  PetscCall(ThermalSolveCore(r, Told, Q, dt, NULL, Tnew, &ok));
  PetscCheck(ok, r->comm, PETSC_ERR_NOT_CONVERGED, "thermal solve did not converge");
  PetscFunctionReturn(0);
}

/* One thermal step from the state's temperatures with the node heat r->Qn; with
   abuse reactions, Newton on the temperatures (each node's reactions stepped
   implicitly at the iterate, their heat linearised with dq/dT), the reaction
   states into trial. *Qab: the reactions' heat (W) at the converged step. */
static PetscErrorCode ThermalStep(TCRoll r, const PetscReal state[], PetscReal trial[],
                                  PetscReal dt, PetscReal *Qab, PetscBool *ok)
{
  Vec Told;

  PetscFunctionBeginUser;
  *Qab = 0;
  PetscCall(VecCreateMPIWithArray(r->comm, 1, r->nt, PETSC_DECIDE,
                                  (const PetscScalar *)(state + r->off_T), &Told));
  PetscCall(IterateToThermal(r, r->Thw, r->Tnew)); /* the first guess: the iterate */
  if (!r->rp.abuse) {
    PetscCall(ThermalSolveCore(r, Told, r->Qn, dt, NULL, r->Tnew, ok));
  } else {
    Vec       Qs, D;
    PetscReal dmax = PETSC_MAX_REAL;
    PetscInt  it;
    PetscCall(VecDuplicate(r->Tnew, &Qs));
    PetscCall(VecDuplicate(r->Tnew, &D));
    for (it = 0; it < 30 && dmax > 1e-7; it++) {
      const PetscScalar *tk, *v, *qn;
      PetscScalar       *qs, *dd;
      Vec                Tk;
      PetscReal          sum = 0, tmin;
      PetscCall(VecMin(r->Tnew, NULL, &tmin));
      if (!(tmin > 0)) { /* a diverging iterate: cut the step */
        *ok = PETSC_FALSE;
        break;
      }
      PetscCall(VecGetArrayRead(r->Tnew, &tk));
      PetscCall(VecGetArrayRead(r->Vn, &v));
      PetscCall(VecGetArrayRead(r->Qn, &qn));
      PetscCall(VecGetArray(Qs, &qs));
      PetscCall(VecGetArray(D, &dd));
      for (PetscInt i = 0; i < r->nt; i++) {
        PetscReal q = 0, dq = 0;
        if (i < r->n && !IsTerminal(r->tag[i]))
          PetscCall(TCAbuseStep(r->rp.abuse, state + r->off_ab + TC_ABUSE_NSTATE * i, tk[i], dt,
                                trial + r->off_ab + TC_ABUSE_NSTATE * i, &q, &dq));
        qs[i] = qn[i] + v[i] * (q - dq * tk[i]);
        dd[i] = v[i] * dq;
        sum += v[i] * q;
      }
      PetscCall(VecRestoreArray(D, &dd));
      PetscCall(VecRestoreArray(Qs, &qs));
      PetscCall(VecRestoreArrayRead(r->Qn, &qn));
      PetscCall(VecRestoreArrayRead(r->Vn, &v));
      PetscCall(VecRestoreArrayRead(r->Tnew, &tk));
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPIU_REAL, MPI_SUM, r->comm));
      *Qab = sum; /* at the iterate: the converged one when the loop ends */
      PetscCall(VecDuplicate(r->Tnew, &Tk));
      PetscCall(VecCopy(r->Tnew, Tk));
      PetscCall(ThermalSolveCore(r, Told, Qs, dt, D, r->Tnew, ok));
      PetscCall(VecAXPY(Tk, -1.0, r->Tnew));
      PetscCall(VecNorm(Tk, NORM_INFINITY, &dmax));
      PetscCall(VecDestroy(&Tk));
      if (!*ok) break;
    }
    if (dmax > 1e-7) *ok = PETSC_FALSE;
    if (*ok) { /* the reactions at the converged temperatures, for the books */
      const PetscScalar *tk, *v;
      PetscReal          sum = 0;
      PetscCall(VecGetArrayRead(r->Tnew, &tk));
      PetscCall(VecGetArrayRead(r->Vn, &v));
      for (PetscInt i = 0; i < r->n; i++) {
        PetscReal q = 0;
        if (!IsTerminal(r->tag[i]))
          PetscCall(TCAbuseStep(r->rp.abuse, state + r->off_ab + TC_ABUSE_NSTATE * i, tk[i], dt,
                                trial + r->off_ab + TC_ABUSE_NSTATE * i, &q, NULL));
        sum += v[i] * q;
        r->selfheat[i] = q / r->rp.rho_cp_J_m3K;
      }
      PetscCall(VecRestoreArrayRead(r->Vn, &v));
      PetscCall(VecRestoreArrayRead(r->Tnew, &tk));
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPIU_REAL, MPI_SUM, r->comm));
      *Qab = sum;
    }
    PetscCall(VecDestroy(&Qs));
    PetscCall(VecDestroy(&D));
  }
  PetscCall(VecDestroy(&Told));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNodeVolumes(TCRoll r, Vec vol)
{
  PetscScalar *v;
  PetscInt     m;

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(vol, &m));
  PetscCheck(m == r->n || m == r->nt, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ,
             "node volumes: a Vec of the graph's or the thermal network's layout");
  PetscCall(VecGetArray(vol, &v));
  for (PetscInt i = 0; i < r->n; i++)
    v[i] = IsTerminal(r->tag[i]) ? 0 : r->nodes[i].area_m2 * r->rp.t_node_m[r->tag[i]];
  for (PetscInt i = r->n; i < m; i++) v[i] = 0; /* hardware: not the roll's */
  PetscCall(VecRestoreArray(vol, &v));
  PetscFunctionReturn(0);
}

/* node heat (W) from the element heat and the foil and tab Joule heat */
static PetscErrorCode HeatSources(TCRoll r, Vec Qn, PetscReal *total)
{
  Vec                pl;
  const PetscScalar *phi;
  PetscScalar       *q;
  PetscReal          sum = 0;

  PetscFunctionBeginUser;
  PetscCall(VecGhostGetLocalForm(r->phig, &pl));
  PetscCall(VecGetArrayRead(pl, &phi));
  PetscCall(VecGetArray(Qn, &q));
  for (PetscInt i = 0; i < r->n; i++) {
    q[i] = 0;
    if (IsTerminal(r->tag[i])) continue;
    for (PetscInt k = r->ptr[i]; k < r->ptr[i + 1]; k++) {
      PetscInt  j  = r->lcol[k];
      PetscReal dv = phi[i] - phi[j];
      if (IsElement(r, i, k)) continue;
      /* a foil edge is seen from both ends: half each; a tab joint all here */
      q[i] += (IsTerminal(r->tag[j]) ? 1.0 : 0.5) * r->G[k] * dv * dv;
    }
  }
  for (PetscInt e = 0; e < r->nel; e++) {
    q[r->el[e].a] += 0.5 * r->Qel[e];
    if (r->el[e].c_l < r->n) q[r->el[e].c_l] += 0.5 * r->Qel[e];
  }
  if (r->rp.has_heater && r->t_now <= r->rp.heater_time_s)
    for (PetscInt i = 0; i < r->n; i++) q[i] += r->rp.heater_power_W * r->heater[i];
  for (PetscInt i = 0; i < r->n; i++) sum += q[i];
  for (PetscInt i = r->n; i < r->nt; i++) q[i] = 0; /* no heat is generated in the hardware */
  PetscCall(VecRestoreArray(Qn, &q));
  PetscCall(VecRestoreArrayRead(pl, &phi));
  PetscCall(VecGhostRestoreLocalForm(r->phig, &pl));
  for (PetscInt e = 0; e < r->nel; e++)
    if (r->el[e].c_l >= r->n) {
      PetscCall(VecSetValue(Qn, r->el[e].c, 0.5 * r->Qel[e], ADD_VALUES));
      sum += 0.5 * r->Qel[e];
    }
  PetscCall(VecAssemblyBegin(Qn));
  PetscCall(VecAssemblyEnd(Qn));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPIU_REAL, MPI_SUM, r->comm));
  *total = sum;
  PetscFunctionReturn(0);
}

/* The Newton's linear solver, configured at the first step (a factor that was
   never used cannot be destroyed cleanly with SuperLU_dist in PETSc 3.18) */
/* The last Newton step without evaluating the elements: solve with the
   Jacobian of the last evaluation (its preconditioner is the step's), move
   every element along its sensitivity to its new voltage (their currents are
   then those of the whole system's Newton iterate: the residual is left at
   the linear solve's tolerance, the elements' own error is about the square
   of their last update) and check the residual. *ok: converged. */
static PetscErrorCode Polish(TCRoll r, PetscBool *ok)
{
  KSP                ksp;
  Vec                d, pl;
  const PetscScalar *phi;
  KSPConvergedReason kr;
  PetscReal          fnorm, atol, rtol, stol;
  PetscInt           maxit, maxf;

  PetscFunctionBeginUser;
  *ok = PETSC_FALSE;
  PetscCall(FormJacobian(r->snes, r->X, r->J, r->J, r));
  PetscCall(SNESGetKSP(r->snes, &ksp));
  PetscCall(KSPSetOperators(ksp, r->J, r->J));
  PetscCall(KSPSetReusePreconditioner(ksp, PETSC_TRUE));
  PetscCall(VecDuplicate(r->X, &d));
  r->lin_polish = PETSC_TRUE; /* its residual is the step's: to the floor */
  PetscCall(KSPSolve(ksp, r->F, d));
  r->lin_polish = PETSC_FALSE;
  PetscCall(KSPGetConvergedReason(ksp, &kr));
  if (kr > 0) {
    PetscCall(VecAXPY(r->X, -1.0, d));
    PetscCall(VecCopy(r->X, r->phig));
    PetscCall(VecGhostUpdateBegin(r->phig, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecGhostUpdateEnd(r->phig, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecGhostGetLocalForm(r->phig, &pl));
    PetscCall(VecGetArrayRead(pl, &phi));
    for (PetscInt e = 0; e < r->nel; e++) {
      const TCElem *el = &r->el[e];
      PetscReal     dV = phi[el->a] - phi[el->c_l], shift = dV - r->dVlin[e];
      PetscReal    *sens = r->sens + e * r->nsens;
      PetscCall(TCCellIterateAXPY(r->cell, shift, sens, r->trial_cells + e * r->nsc));
      r->res[e].I_A += sens[0] * shift;
      r->Iel[e] = r->res[e].I_A * el->scale;
      if (e == r->short_e) r->Iel[e] -= r->short_G * dV;
      r->dVlin[e] = dV;
    }
    PetscCall(VecRestoreArrayRead(pl, &phi));
    PetscCall(VecGhostRestoreLocalForm(r->phig, &pl));
    PetscCall(Residual(r, r->F));
    PetscCall(VecNorm(r->F, NORM_2, &fnorm));
    PetscCall(SNESGetTolerances(r->snes, &atol, &rtol, &stol, &maxit, &maxf));
    *ok = (PetscBool)(fnorm <= PetscMax(atol, r->fnorm_floor) && r->fsum_max <= TC_ROLL_CHARGE_TOL);
    if (r->monitor_newton)
      PetscCall(PetscPrintf(r->comm, "    roll Newton polish: |F| %.3e, |sum F| / I %.3e%s\n",
                            (double)fnorm, (double)r->fsum_max, *ok ? "" : ": not converged"));
  }
  PetscCall(VecDestroy(&d));
  PetscFunctionReturn(0);
}

/* ---- the system step --------------------------------------------------------- */

/* the ambient at time t: an oven ramps from T_amb to its temperature and holds */
static PetscReal Ambient(const TCRollParams *rp, PetscReal t)
{
  if (rp->oven_T_K <= 0) return rp->T_amb_K;
  if (rp->oven_ramp_K_s <= 0) return rp->oven_T_K;
  return rp->oven_T_K > rp->T_amb_K ? PetscMin(rp->T_amb_K + rp->oven_ramp_K_s * t, rp->oven_T_K)
                                    : PetscMax(rp->T_amb_K - rp->oven_ramp_K_s * t, rp->oven_T_K);
}

/* is X the point of the last function evaluation (in phig)? */
static PetscBool SameAsLast(TCRoll r)
{
  const PetscScalar *x, *p;
  int                same;

  if (VecGetArrayRead(r->X, &x)) return PETSC_FALSE;
  if (VecGetArrayRead(r->phig, &p)) return PETSC_FALSE;
  same = !memcmp(x, p, (size_t)r->n * sizeof(PetscScalar));
  if (VecRestoreArrayRead(r->phig, &p) || VecRestoreArrayRead(r->X, &x)) return PETSC_FALSE;
  if (MPI_Allreduce(MPI_IN_PLACE, &same, 1, MPI_INT, MPI_LAND, r->comm)) return PETSC_FALSE;
  return (PetscBool)same;
}

/* The coupled solve of one step from the first guesses: Newton on the
   potentials (monolithic, or nested with every element converged at every
   evaluation), then the thermal step, repeated until the temperature settles.
   *ok is PETSC_FALSE on failure (the caller cuts dt). */
static PetscErrorCode SolveCoupled(TCRoll r, const PetscReal state[], PetscReal trial[],
                                   TCCellControl ctl, PetscReal value, PetscReal dt, PetscInt *its,
                                   PetscReal *Qtot, PetscReal *Qab, PetscBool *ok)
{
  SNESConvergedReason reason;
  PetscReal           dTmax    = 0;
  PetscInt            nthermal = 0;

  PetscFunctionBeginUser;
  *ok = PETSC_FALSE;
  PetscCall(PetscArraycpy(trial, state, r->nstate));
  PetscCall(NewtonPCPrepare(r, state));
  /* the elements start from state_old extrapolated with the last step's rates */
  for (PetscInt e = 0; e < r->nel; e++)
    PetscCall(
        TCCellIterateAXPY(r->cell, dt, state + r->off_erate + e * r->nsens, trial + e * r->nsc));
  r->sens_ok = PETSC_FALSE;
  /* temperature guess: extrapolated with the last step's rate */
  {
    PetscReal *tg = trial + r->off_T; /* scratch: overwritten with the result below */
    for (PetscInt i = 0; i < r->nt; i++) tg[i] = state[r->off_T + i] + dt * state[r->off_Trate + i];
    PetscCall(Ghosted(r, tg, r->Tg, NULL));
    PetscCall(PetscArraycpy(r->Thw, tg + r->n, r->nhw));
  }
  {
    PetscScalar *x;
    PetscCall(VecGetArray(r->X, &x));
    for (PetscInt i = 0; i < r->n; i++)
      x[i] = state[r->off_phi + i] + dt * state[r->off_phirate + i];
    if (r->pos_row >= 0 && ctl == TC_CELL_VOLTAGE) x[r->pos_row] = value;
    if (r->neg_row >= 0) x[r->neg_row] = 0;
    PetscCall(VecRestoreArray(r->X, &x));
  }
  for (;;) {
    PetscBool polished = PETSC_FALSE;
    while (!polished) {
      r->failed = PETSC_FALSE;
      r->polish = PETSC_FALSE;
      PetscCall(SNESSolve(r->snes, NULL, r->X));
      PetscCall(SNESGetConvergedReason(r->snes, &reason));
      if (reason <= 0 || r->failed) PetscFunctionReturn(0);
      {
        PetscInt it;
        PetscCall(SNESGetIterationNumber(r->snes, &it));
        *its += it;
      }
      if (!r->polish) break;
      PetscCall(Polish(r, &polished)); /* else Newton goes on from the polished point */
      *its += 1;
    }
    /* the elements at the solution, unless the last evaluation was there */
    if (!SameAsLast(r)) {
      PetscBool good;
      PetscCall(VecCopy(r->X, r->phig));
      PetscCall(VecGhostUpdateBegin(r->phig, INSERT_VALUES, SCATTER_FORWARD));
      PetscCall(VecGhostUpdateEnd(r->phig, INSERT_VALUES, SCATTER_FORWARD));
      PetscCall(ElementsEvaluate(r, &good));
      if (!good) PetscFunctionReturn(0);
    }
    PetscCall(HeatSources(r, r->Qn, Qtot));
    if (!r->rp.thermal || dt <= 0) {
      PetscCall(IterateToThermal(r, r->Thw, r->Tnew));
      break;
    }
    {
      PetscBool good;
      PetscCall(ThermalStep(r, state, trial, dt, Qab, &good));
      if (!good) PetscFunctionReturn(0); /* cut the step */
    }
    {
      Vec d;
      PetscCall(VecDuplicate(r->Tnew, &d));
      PetscCall(IterateToThermal(r, r->Thw, d));
      PetscCall(VecAYPX(d, -1.0, r->Tnew));
      PetscCall(VecNorm(d, NORM_INFINITY, &dTmax));
      PetscCall(VecDestroy(&d));
    }
    PetscCall(ThermalToIterate(r, r->Tnew, r->Thw));
    if (dTmax < r->rp.T_tol_K) break;
    if (++nthermal >= 12) PetscFunctionReturn(0); /* no convergence: cut the step */
  }
  *ok = PETSC_TRUE;
  PetscFunctionReturn(0);
}

static PetscErrorCode RollStepCore(TCRoll r, const PetscReal state[], TCCellControl ctl,
                                   PetscReal value, PetscReal T_K, PetscReal dt, PetscReal trial[],
                                   TCCellResult *res, PetscReal *T_new, PetscBool *conv)
{
  const PetscReal *gold = state + r->off_glob;
  PetscReal       *gnew = trial + r->off_glob, Qtot = 0, Qab = 0;
  PetscInt         its = 0;
  PetscBool        solved;

  PetscFunctionBeginUser;
  (void)T_K;
  *conv          = PETSC_FALSE;
  r->state_old   = state;
  r->trial_cells = trial;
  r->T_dt        = dt;
  r->ctl         = ctl;
  r->ctl_value   = value;
  r->Tamb_now    = Ambient(&r->rp, gold[G_TIME] + dt);
  r->t_now       = gold[G_TIME] + dt;
  PetscCall(SolversConfigure(r));
  /* monolithic Newton first; the nested one (robust for large changes, e.g. a
     consistent start into a 3C charge) where it fails and at consistent starts */
  r->nested = (PetscBool)(dt <= 0);
  PetscCall(SolveCoupled(r, state, trial, ctl, value, dt, &its, &Qtot, &Qab, &solved));
  if (!solved && !r->nested) {
    r->nested   = PETSC_TRUE;
    r->pc_force = PETSC_TRUE;
    PetscCall(SolveCoupled(r, state, trial, ctl, value, dt, &its, &Qtot, &Qab, &solved));
  }
  if (!solved) PetscFunctionReturn(0);
  /* the trial state: element states are in trial already; diagnostics, T, phi */
  {
    const PetscScalar *x, *t;
    PetscReal          sI = 0, V = 0, Iterm = 0, amin = PETSC_MAX_REAL, amin_x = PETSC_MAX_REAL;
    PetscReal          bal[4], removed = 0, sIabs = 0;
    PetscCall(VecGetArrayRead(r->X, &x));
    PetscCall(VecGetArrayRead(r->Tnew, &t));
    PetscCall(PetscArraycpy(trial + r->off_phi, x, r->n));
    for (PetscInt i = 0; i < r->n; i++) /* a consistent start (dt 0) jumps: no rate from it */
      trial[r->off_phirate + i] = dt > 0 ? (x[i] - state[r->off_phi + i]) / dt : 0;
    for (PetscInt e = 0; e < r->nel; e++) {
      PetscReal *rate = trial + r->off_erate + e * r->nsens;
      PetscCall(TCCellIterateGet(r->cell, trial + e * r->nsc, rate));
      PetscCall(TCCellIterateGet(r->cell, state + e * r->nsc, r->itbuf));
      for (PetscInt k = 0; k < r->nsens; k++) rate[k] = dt > 0 ? (rate[k] - r->itbuf[k]) / dt : 0;
    }
    PetscCall(PetscArraycpy(trial + r->off_T, t, r->nt));
    for (PetscInt i = 0; i < r->nt; i++)
      trial[r->off_Trate + i] =
          dt > 0 ? (t[i] - state[r->off_T + i]) / dt : state[r->off_Trate + i];
    {
      /* the largest change in the step, the hottest node, and runaway onsets (a node
         whose dT/dt passes the criterion for the first time) */
      struct {
        double v;
        int    rank;
      } fast = {-1, 0};
      PetscMPIInt rank;
      PetscReal   mx[2] = {0, -PETSC_MAX_REAL}, loc[3] = {0, 0, 0};
      PetscInt    ifast = -1;
      PetscCallMPI(MPI_Comm_rank(r->comm, &rank));
      fast.rank = rank;
      for (PetscInt i = 0; i < r->n; i++) {
        /* the criterion is the reactions' self-heating (as in ARC), not heating from
           outside or from a short */
        PetscReal rate = r->rp.abuse ? r->selfheat[i] : 0;
        if (IsTerminal(r->tag[i])) continue;
        mx[0] = PetscMax(mx[0], PetscAbsReal(t[i] - state[r->off_T + i]));
        mx[1] = PetscMax(mx[1], t[i]);
        if (r->rp.runaway_rate_K_s > 0 && dt > 0 && rate > r->rp.runaway_rate_K_s) {
          if (trial[r->off_onset + i] < 0) trial[r->off_onset + i] = gold[G_TIME] + dt;
          if (rate > fast.v) {
            fast.v = rate;
            ifast  = i;
          }
        }
      }
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, mx, 2, MPIU_REAL, MPI_MAX, r->comm));
      /* (below 1 ms the step stands whatever the change: the burst of a runaway is
         faster than any useful resolution, and backward Euler keeps it stable and its
         energy exact) */
      if (r->rp.dT_max_K > 0 && dt > 1e-3 && mx[0] > r->rp.dT_max_K) {
        PetscCall(VecRestoreArrayRead(r->Tnew, &t));
        PetscCall(VecRestoreArrayRead(r->X, &x));
        PetscFunctionReturn(0); /* too large a temperature change: cut the step */
      }
      gnew[G_PEAK] = PetscMax(gold[G_PEAK], mx[1]);
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &fast, 1, MPI_DOUBLE_INT, MPI_MAXLOC, r->comm));
      gnew[G_ONSET] = gold[G_ONSET];
      if (gold[G_ONSET] < 0 && fast.v > 0) {
        if (rank == fast.rank && ifast >= 0) {
          loc[0] = r->xg[ifast];
          loc[1] = r->yg[ifast];
          loc[2] = r->zg[ifast];
        }
        PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, loc, 3, MPIU_REAL, MPI_SUM, r->comm));
        gnew[G_ONSET]   = gold[G_TIME] + dt;
        gnew[G_ONSET_X] = loc[0];
        gnew[G_ONSET_Y] = loc[1];
        gnew[G_ONSET_Z] = loc[2];
      }
    }
    for (PetscInt e = 0; e < r->nel; e++) {
      const TCCellResult *q  = &r->res[e];
      const PetscReal    *dn = state + r->off_diag + e * ND;
      PetscReal          *d  = trial + r->off_diag + e * ND;
      PetscReal           a0 = dn[D_ANODE], a1 = q->anode_vs_li_V;
      d[D_I]       = q->I_A / r->p->area_m2;
      d[D_ANODE]   = a1;
      d[D_ANODE_X] = q->anode_vs_li_min_V;
      d[D_Q]       = q->Q_W / r->p->area_m2;
      d[D_ETA_N]   = q->eta_n_V;
      d[D_ETA_P]   = q->eta_p_V;
      d[D_SOC]     = TCCellStateSOC(r->cell, trial + e * r->nsc);
      /* time below 0 V: linear in time within the step */
      if (a0 < 0 && a1 < 0)
        d[D_PLATING] = dn[D_PLATING] + dt;
      else if (a0 < 0 || a1 < 0)
        d[D_PLATING] = dn[D_PLATING] + dt * (a0 < 0 ? a0 : a1) / (a0 - a1) * (a0 < 0 ? 1 : -1);
      d[D_ANODE_MIN] = PetscMin(dn[D_ANODE_MIN], a1);
      sI += r->Iel[e];
      sIabs += PetscAbsReal(r->Iel[e]);
      amin   = PetscMin(amin, a1);
      amin_x = PetscMin(amin_x, q->anode_vs_li_min_V);
    }
    /* terminal current: what the Al tabs deliver into the positive terminal */
    if (r->pos_row >= 0) {
      PetscInt i = r->pos_row;
      V          = x[i];
      for (PetscInt k = r->ptr[i]; k < r->ptr[i + 1]; k++) {
        PetscReal phij;
        PetscInt  j = r->lcol[k];
        if (j < r->n)
          phij = x[j];
        else {
          Vec                pl;
          const PetscScalar *pg;
          PetscCall(VecGhostGetLocalForm(r->phig, &pl));
          PetscCall(VecGetArrayRead(pl, &pg));
          phij = pg[j];
          PetscCall(VecRestoreArrayRead(pl, &pg));
          PetscCall(VecGhostRestoreLocalForm(r->phig, &pl));
        }
        Iterm += r->G[k] * (phij - V);
      }
    }
    if (r->rp.thermal && dt > 0) {
      const PetscScalar *h;
      PetscCall(VecGetArrayRead(r->H, &h));
      for (PetscInt i = 0; i < r->nt; i++)
        if (!ThermalFixed(r, i)) removed += h[i] * (t[i] - r->Tamb_now);
      PetscCall(VecRestoreArrayRead(r->H, &h));
    }
    PetscCall(VecRestoreArrayRead(r->Tnew, &t));
    PetscCall(VecRestoreArrayRead(r->X, &x));
    bal[0] = sI;
    bal[1] = V;
    bal[2] = Iterm;
    bal[3] = sIabs; /* the currents flowing: the scale of the balance (a short at rest) */
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, bal, 4, MPIU_REAL, MPI_SUM, r->comm));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &removed, 1, MPIU_REAL, MPI_SUM, r->comm));
    {
      PetscReal mm[2] = {amin, amin_x};
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, mm, 2, MPIU_REAL, MPI_MIN, r->comm));
      amin   = mm[0];
      amin_x = mm[1];
    }
    /* a terminal voltage far outside the cell's window is a diverged element
       (e.g. electrolyte depletion in the SPMe at high rates): cut the step */
    if (!(bal[1] > 0 && bal[1] < 2 * r->p->V_max)) PetscFunctionReturn(0);
    gnew[G_V]          = bal[1];
    gnew[G_I]          = bal[2];
    gnew[G_Q]          = Qtot;
    gnew[G_GEN]        = gold[G_GEN] + (r->rp.thermal ? Qtot * dt : 0);
    gnew[G_REMOVED]    = gold[G_REMOVED] + removed * dt;
    gnew[G_CHARGE_ERR] = PetscMax(
        gold[G_CHARGE_ERR], PetscAbsReal(bal[0] - bal[2]) /
                                PetscMax(PetscMax(PetscAbsReal(bal[2]), bal[3]), 1e-3 * r->I1C));
    gnew[G_CHARGE] = gold[G_CHARGE] + bal[2] * dt / 3600;
    gnew[G_TIME]   = gold[G_TIME] + dt;
    gnew[G_ABUSE]  = gold[G_ABUSE] + Qab * dt;
    {
      PetscReal ps = r->short_P;
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &ps, 1, MPIU_REAL, MPI_SUM, r->comm));
      gnew[G_SHORT] = gold[G_SHORT] + ps * dt;
    }
    gnew[G_ENERGY] = gold[G_ENERGY] + bal[2] * bal[1] * dt / 3600;
    PetscCall(PetscMemzero(res, sizeof(*res)));
    res->I_A               = bal[2];
    res->V_V               = bal[1];
    res->Q_W               = Qtot;
    res->anode_vs_li_V     = amin;
    res->anode_vs_li_min_V = amin_x;
    res->newton_its        = its;
  }
  PetscCall(VecMax(r->Tnew, NULL, T_new));
  *conv = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* a step; after a failed one the Newton preconditioner is rebuilt. (A step
   that converged without a Jacobian leaves it as the state has it.) */
static PetscErrorCode RollStep(void *ctx, const PetscReal state[], TCCellControl ctl,
                               PetscReal value, PetscReal T_K, PetscReal dt, PetscReal trial[],
                               TCCellResult *res, PetscReal *T_new, PetscBool *conv)
{
  TCRoll r = (TCRoll)ctx;

  PetscFunctionBeginUser;
  PetscCall(RollStepCore(r, state, ctl, value, T_K, dt, trial, res, T_new, conv));
  r->pc_force   = (PetscBool) !*conv;
  r->pc_pending = PETSC_FALSE;
  PetscFunctionReturn(0);
}

static PetscReal RollSOC(void *ctx, const PetscReal state[])
{
  TCRoll    r    = (TCRoll)ctx;
  PetscReal s[2] = {0, 0};
  for (PetscInt e = 0; e < r->nel; e++) {
    s[0] += state[r->off_diag + e * ND + D_SOC] * r->el[e].area;
    s[1] += r->el[e].area;
  }
  if (MPI_Allreduce(MPI_IN_PLACE, s, 2, MPIU_REAL, MPI_SUM, r->comm)) return NAN;
  return s[1] > 0 ? s[0] / s[1] : NAN;
}

/* ---- set-up ---------------------------------------------------------------- */

/* The Newton's matrix: AIJ with the graph's pattern (and every diagonal),
   preallocated from its entries in COO order (AssembleJacobian sets them in
   that order); repeated entries (an element's on the diagonals) are summed */
static PetscErrorCode JacobianMat(TCRoll r, PetscInt N, Mat *M)
{
  PetscInt nlink = 0, m = 0, *ci, *cj;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < r->n; i++)
    for (PetscInt k = r->ptr[i]; k < r->ptr[i + 1]; k++) nlink += !IsElement(r, i, k);
  PetscCall(PetscMalloc2(r->n + 1, &r->jptr, PetscMax(nlink, 1), &r->jk));
  r->jptr[0] = 0;
  for (PetscInt i = 0, q = 0; i < r->n; i++) {
    for (PetscInt k = r->ptr[i]; k < r->ptr[i + 1]; k++)
      if (!IsElement(r, i, k)) r->jk[q++] = k;
    r->jptr[i + 1] = q;
  }
  r->njv = r->n + nlink + 4 * r->nel;
  PetscCall(PetscMalloc1(PetscMax(r->njv, 1), &r->jv));
  PetscCall(PetscMalloc2(PetscMax(r->njv, 1), &ci, PetscMax(r->njv, 1), &cj));
  for (PetscInt i = 0; i < r->n; i++) {
    PetscInt row = r->rstart + i;
    ci[m]        = row;
    cj[m++]      = row;
    for (PetscInt q = r->jptr[i]; q < r->jptr[i + 1]; q++) {
      ci[m]   = row;
      cj[m++] = r->col[r->jk[q]];
    }
  }
  for (PetscInt e = 0; e < r->nel; e++) {
    PetscInt idx[2] = {r->rstart + r->el[e].a, r->el[e].c};
    for (int a = 0; a < 2; a++)
      for (int b = 0; b < 2; b++) {
        ci[m]   = idx[a];
        cj[m++] = idx[b];
      }
  }
  PetscCall(MatCreate(r->comm, M));
  PetscCall(MatSetSizes(*M, r->n, r->n, N, N));
  PetscCall(MatSetType(*M, MATAIJ));
  PetscCall(MatSetPreallocationCOO(*M, r->njv, ci, cj));
  PetscCall(MatSetOption(*M, MAT_NEW_NONZERO_ALLOCATION_ERR, PETSC_TRUE));
  PetscCall(PetscFree2(ci, cj));
  PetscFunctionReturn(0);
}

/* ---- the cell's hardware (thermal_hardware: can) ---------------------------------------- */

/* the extent of the foil nodes: radii of their centre lines about the axis, and z */
static PetscErrorCode RollExtent(TCRoll r, PetscReal *rmin, PetscReal *rmax, PetscReal *zmin,
                                 PetscReal *zmax)
{
  PetscReal mx[4] = {0, -PETSC_MAX_REAL, -PETSC_MAX_REAL,
                     -PETSC_MAX_REAL}; /* rmax, -rmin, zmax, -zmin */

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < r->n; i++) {
    PetscReal rr;
    if (IsTerminal(r->tag[i])) continue;
    rr    = hypot(r->xg[i] - r->rp.centre_m[0], r->yg[i] - r->rp.centre_m[1]);
    mx[0] = PetscMax(mx[0], rr);
    mx[1] = PetscMax(mx[1], -rr);
    mx[2] = PetscMax(mx[2], r->zg[i]);
    mx[3] = PetscMax(mx[3], -r->zg[i]);
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, mx, 4, MPIU_REAL, MPI_MAX, r->comm));
  *rmax = mx[0];
  *rmin = -mx[1];
  *zmax = mx[2];
  *zmin = -mx[3];
  PetscFunctionReturn(0);
}

/* is node i on the roll's inner or outer surface: nothing faces it on that side,
   and it lies in the innermost (outermost) turn and a half */
static void RollSurface(TCRoll r, PetscInt i, PetscReal rmin, PetscReal rmax, PetscBool *in,
                        PetscBool *out)
{
  PetscReal ri    = hypot(r->xg[i] - r->rp.centre_m[0], r->yg[i] - r->rp.centre_m[1]);
  PetscBool inner = PETSC_FALSE, outer = PETSC_FALSE;

  for (PetscInt k = r->ptr[i]; k < r->ptr[i + 1]; k++) {
    PetscInt j = r->lcol[k];
    if (!IsElement(r, i, k)) continue;
    if (hypot(r->xg[j] - r->rp.centre_m[0], r->yg[j] - r->rp.centre_m[1]) > ri)
      outer = PETSC_TRUE;
    else
      inner = PETSC_TRUE;
  }
  *out = (PetscBool)(!outer && ri > rmax - 1.5 * r->rp.pitch_m);
  *in  = (PetscBool)(!inner && ri < rmin + 1.5 * r->rp.pitch_m);
}

/* The hardware nodes (on the last rank, after the graph's: N is the graph's
   size), their capacities and surface conductances, their conductances among
   themselves and this rank's links from roll nodes to them (see roll.h,
   TCRollHardware):
   - can ring k (height dz, wall cross-section A_w = pi (R_o^2 - R_i^2)):
     C = rho_cp A_w dz; to the ambient through the outer half of the wall and
     h + h_rad on 2 pi R_o dz; to the next ring k A_w / dz.
   - the outer winding to the rings it overlaps in z: A / (1/h_c + R ln(R_m/R_i)/k)
     (contact on the roll's surface at R, then the inner half of the wall, R_i to
     its mid-radius R_m, per unit of the roll's surface), so that a steady radial
     flux meets exactly the resistances of a two-layer cylinder: roll, contact,
     wall, convection.
   - the bottom disc: C = rho_cp pi R_o^2 t_b; to the lowest ring 1/(1/(8 pi k t_b)
     + dz/2 / (k A_w)) (the disc's mean temperature above its rim under a uniform
     flux, Carslaw and Jaeger's disc), to the ambient (h_end + h_rad) pi R_o^2.
   - the top cap: its given heat capacity; to the top ring through the crimp
     and gasket (thermal_cap_can_W_K, then half a ring); to the ambient as the
     bottom.
   - the tabs: a strip of the tabs' total width W, thickness t, length L from
     the foil edge to the bottom (negative) or the cap (positive): k t W / L,
     shared among the tab's joint nodes as their electrical tab conductances;
     their heat capacity joins the node they end at.
   - the roll's end faces to the bottom and the cap: h_ec t ds per end node.
   - a mandrel pin (optional): C = rho_cp pi r_in^2 H; to the inner winding
     h_mc A, to the bottom and the cap along its axis k pi r_in^2 / distance.
   The radiation is linearised about the ambient: h_rad = 4 e sigma T_amb^3. */
static PetscErrorCode HardwareSetUp(TCRoll r, PetscInt N)
{
  const TCRollHardware *hw = &r->rp.hw;
  PetscMPIInt           size, rank;
  PetscReal             rmin, rmax, zmin, zmax, wz = 0, Ro, Ri, Rm, Rroll, rin;
  PetscReal             zlo, zhi, zb, dzr, Aw, hrad, hcan, hend, Gtab[2], Ctab[2], jsum[2] = {0, 0};
  PetscInt              nr, cap;

  PetscFunctionBeginUser;
  r->nt        = r->n;
  r->hw0       = N;
  r->hw_rings  = 0;
  r->hw_bottom = r->hw_cap = r->hw_mandrel = -1;
  if (!r->rp.thermal || !hw->on) PetscFunctionReturn(0);
  PetscCallMPI(MPI_Comm_size(r->comm, &size));
  PetscCallMPI(MPI_Comm_rank(r->comm, &rank));
  PetscCall(RollExtent(r, &rmin, &rmax, &zmin, &zmax));
  {
    PetscReal zr[2];
    PetscCall(TCRollNetGetHeightRange(r->net, zr)); /* the roll's bottom and top edges */
    zlo = zr[0];
    zhi = zr[1];
    wz  = zhi - zlo;
  }
  {
    /* the roll's inner and outer surfaces: the faces of the node strips */
    PetscReal mx[2] = {-PETSC_MAX_REAL, -PETSC_MAX_REAL}; /* R, -r_in */
    for (PetscInt i = 0; i < r->n; i++) {
      PetscReal rr, t;
      if (IsTerminal(r->tag[i])) continue;
      rr    = hypot(r->xg[i] - r->rp.centre_m[0], r->yg[i] - r->rp.centre_m[1]);
      t     = r->rp.t_node_m[r->tag[i]];
      mx[0] = PetscMax(mx[0], rr + 0.5 * t);
      mx[1] = PetscMax(mx[1], -(rr - 0.5 * t));
    }
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, mx, 2, MPIU_REAL, MPI_MAX, r->comm));
    Rroll = mx[0];
    rin   = PetscMax(-mx[1], 0);
  }
  Ro = hw->R_out_m;
  Ri = Ro - hw->t_wall_m;
  Rm = 0.5 * (Ro + Ri);
  PetscCheck(Ri > 0, r->comm, PETSC_ERR_USER_INPUT,
             "thermal_can_wall_thickness_m = %s mm is not less than the can's outer radius "
             "thermal_can_outer_radius_m = %s mm",
             TCG(1e3 * hw->t_wall_m).s, TCG(1e3 * Ro).s);
  PetscCheck(Rroll <= Ri * (1 + 1e-9), r->comm, PETSC_ERR_USER_INPUT,
             "the roll (outer radius %s mm) does not fit in the can (inner radius %s mm = "
             "thermal_can_outer_radius_m - thermal_can_wall_thickness_m)",
             TCG(1e3 * Rroll).s, TCG(1e3 * Ri).s);
  zb = zlo - hw->bottom_gap_m - hw->t_bottom_m; /* the bottom's outer face */
  PetscCheck(zb + hw->height_m >= zhi * (1 - 1e-9) - 1e-12, r->comm, PETSC_ERR_USER_INPUT,
             "the roll (%s mm high, %s mm above the bottom's %s mm) does not fit in the can's "
             "height thermal_can_height_m = %s mm",
             TCG(1e3 * (zhi - zlo)).s, TCG(1e3 * hw->bottom_gap_m).s, TCG(1e3 * hw->t_bottom_m).s,
             TCG(1e3 * hw->height_m).s);
  nr           = hw->rings;
  dzr          = hw->height_m / nr;
  Aw           = PETSC_PI * (Ro * Ro - Ri * Ri);
  r->hw_rings  = nr;
  r->hw_bottom = nr;
  r->hw_cap = cap = nr + 1;
  r->Nhw          = nr + 2;
  if (hw->mandrel_rho_cp_J_m3K > 0) r->hw_mandrel = r->Nhw++;
  r->nhw    = rank == size - 1 ? r->Nhw : 0;
  r->nt     = r->n + r->nhw;
  r->hw_R_m = Ro;
  PetscCall(PetscCalloc3(r->Nhw, &r->hwC, r->Nhw, &r->hwH, r->Nhw, &r->hwz));
  hrad =
      4 * hw->emissivity * 5.670374419e-8 * PetscPowReal(r->rp.T_amb_K, 3); /* sigma: CODATA 2018 */
  hcan = r->rp.h_can_W_m2K + hrad;
  hend = r->rp.h_bottom_W_m2K + hrad; /* the bottom; the cap's below */
  for (int f = 0; f < 2; f++) {
    Gtab[f] = hw->tab_k_W_mK[f] * hw->tab_t_m * hw->tab_width_m[f] / hw->tab_L_m[f];
    Ctab[f] = hw->tab_rho_cp_J_m3K[f] * hw->tab_t_m * hw->tab_width_m[f] * hw->tab_L_m[f];
  }
  for (PetscInt k = 0; k < nr; k++) {
    PetscReal Rout = PetscLogReal(Ro / Rm) / (2 * PETSC_PI * hw->k_W_mK * dzr);
    r->hwC[k]      = hw->rho_cp_J_m3K * Aw * dzr;
    r->hwH[k]      = hcan > 0 ? 1 / (Rout + 1 / (hcan * 2 * PETSC_PI * Ro * dzr)) : 0;
    r->hwz[k]      = zb + (k + 0.5) * dzr;
  }
  r->hwC[nr]  = hw->rho_cp_J_m3K * PETSC_PI * Ro * Ro * hw->t_bottom_m + Ctab[0];
  r->hwH[nr]  = hend * PETSC_PI * Ro * Ro + hw->lead_W_K[0];
  r->hwz[nr]  = zb + 0.5 * hw->t_bottom_m;
  r->hwC[cap] = hw->cap_C_J_K + Ctab[1];
  r->hwH[cap] = (r->rp.h_top_W_m2K + hrad) * PETSC_PI * Ro * Ro + hw->lead_W_K[1];
  r->hwz[cap] = zb + hw->height_m;
  if (r->hw_mandrel >= 0) {
    r->hwC[r->hw_mandrel] = hw->mandrel_rho_cp_J_m3K * PETSC_PI * rin * rin * (zhi - zlo);
    r->hwz[r->hw_mandrel] = 0.5 * (zlo + zhi);
    r->hc.mandrel         = r->hwC[r->hw_mandrel];
  }
  for (PetscInt k = 0; k < nr; k++) r->hc.can_wall += r->hwC[k];
  r->hc.can_bottom = hw->rho_cp_J_m3K * PETSC_PI * Ro * Ro * hw->t_bottom_m;
  r->hc.top_cap    = hw->cap_C_J_K;
  r->hc.tabs       = Ctab[0] + Ctab[1];
  /* among the hardware nodes (every rank keeps the list; the owner inserts it) */
  PetscCall(PetscMalloc1(nr + 4, &r->hwl));
  r->nhwl = 0;
#define HWLINK(a, b, g)                                                                            \
  do {                                                                                             \
    if ((g) > 0) {                                                                                 \
      r->hwl[r->nhwl].i   = r->hw0 + (a);                                                          \
      r->hwl[r->nhwl].j   = r->hw0 + (b);                                                          \
      r->hwl[r->nhwl++].G = (g);                                                                   \
    }                                                                                              \
  } while (0)
  for (PetscInt k = 0; k + 1 < nr; k++) HWLINK(k, k + 1, hw->k_W_mK * Aw / dzr);
  if (hw->t_bottom_m > 0)
    HWLINK(nr, 0,
           1 / (1 / (8 * PETSC_PI * hw->k_W_mK * hw->t_bottom_m) + 0.5 * dzr / (hw->k_W_mK * Aw)));
  if (hw->cap_can_W_K > 0)
    HWLINK(cap, nr - 1, 1 / (1 / hw->cap_can_W_K + 0.5 * dzr / (hw->k_W_mK * Aw)));
  if (r->hw_mandrel >= 0 && rin > 0) {
    PetscReal zm = 0.5 * (zlo + zhi), Am = PETSC_PI * rin * rin;
    HWLINK(r->hw_mandrel, nr, hw->mandrel_k_W_mK * Am / (zm - zlo + hw->bottom_gap_m));
    HWLINK(r->hw_mandrel, cap, hw->mandrel_k_W_mK * Am / (zb + hw->height_m - zm));
  }
#undef HWLINK
  /* the tabs' joints: their electrical conductances, to share the tab strips by */
  for (PetscInt i = 0; i < r->n; i++) {
    if (IsTerminal(r->tag[i])) continue;
    for (PetscInt k = r->ptr[i]; k < r->ptr[i + 1]; k++) {
      PetscInt tj = r->tag[r->lcol[k]];
      if (tj == TC_ROLL_TAG_NEG_TERMINAL) jsum[0] += r->G[k];
      if (tj == TC_ROLL_TAG_POS_TERMINAL) jsum[1] += r->G[k];
    }
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, jsum, 2, MPIU_REAL, MPI_SUM, r->comm));
  /* from the roll's nodes: at most a node's rings, the bottom or cap, the mandrel, two tabs */
  PetscCall(PetscMalloc1(PetscMax(r->n, 1) * (nr + 5), &r->cpl));
  r->ncpl = 0;
#define CPLINK(row, b, g)                                                                          \
  do {                                                                                             \
    if ((g) > 0) {                                                                                 \
      r->cpl[r->ncpl].i   = r->rstart + (row);                                                     \
      r->cpl[r->ncpl].j   = r->hw0 + (b);                                                          \
      r->cpl[r->ncpl++].G = (g);                                                                   \
    }                                                                                              \
  } while (0)
  for (PetscInt i = 0; i < r->n; i++) {
    PetscInt  ti = r->tag[i];
    PetscReal A = r->nodes[i].area_m2, w, z = r->zg[i];
    PetscBool in, out;
    if (IsTerminal(ti)) continue;
    w = r->nodes[i].length_m > 0 ? PetscMin(A / r->nodes[i].length_m, wz) : wz;
    RollSurface(r, i, rmin, rmax, &in, &out);
    if (out && hw->contact_W_m2K > 0) {
      /* the node's strip, [z - w/2, z + w/2] moved inside the roll's height (the
         strips of the end layers of a spiral reach inwards from them) */
      PetscReal Gc = A / (1 / hw->contact_W_m2K + Rroll * PetscLogReal(Rm / Ri) / hw->k_W_mK);
      PetscReal lo = z - 0.5 * w, hi = z + 0.5 * w;
      if (lo < zlo) {
        hi += zlo - lo;
        lo = zlo;
      }
      if (hi > zhi) {
        lo -= hi - zhi;
        hi = zhi;
      }
      for (PetscInt k = 0; k < nr; k++) {
        PetscReal ov = PetscMin(hi, zb + (k + 1) * dzr) - PetscMax(lo, zb + k * dzr);
        if (ov > 0) CPLINK(i, k, Gc * ov / w);
      }
    }
    if (in && r->hw_mandrel >= 0) CPLINK(i, r->hw_mandrel, hw->mandrel_contact_W_m2K * A);
    if (PetscAbsReal(z - zmin) < 1e-12)
      CPLINK(i, nr, hw->end_contact_W_m2K * r->rp.t_node_m[ti] * r->nodes[i].length_m);
    if (PetscAbsReal(z - zmax) < 1e-12)
      CPLINK(i, cap, hw->end_contact_W_m2K * r->rp.t_node_m[ti] * r->nodes[i].length_m);
    for (PetscInt k = r->ptr[i]; k < r->ptr[i + 1]; k++) {
      PetscInt tj = r->tag[r->lcol[k]];
      if (tj == TC_ROLL_TAG_NEG_TERMINAL && jsum[0] > 0) CPLINK(i, nr, Gtab[0] * r->G[k] / jsum[0]);
      if (tj == TC_ROLL_TAG_POS_TERMINAL && jsum[1] > 0)
        CPLINK(i, cap, Gtab[1] * r->G[k] / jsum[1]);
    }
  }
#undef CPLINK
  PetscFunctionReturn(0);
}

/* the per-block pointers and scalars of ElementsEvaluate for blocks of nb */
static PetscErrorCode RollBlockAlloc(TCRoll r, PetscInt nb)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree4(r->blk.old, r->blk.it, r->blk.sens, r->blk.ok));
  PetscCall(PetscFree4(r->blk.V, r->blk.T, r->blk.shift, r->blk.upd));
  PetscCall(PetscMalloc4(nb, &r->blk.old, nb, &r->blk.it, nb, &r->blk.sens, nb, &r->blk.ok));
  PetscCall(PetscMalloc4(nb, &r->blk.V, nb, &r->blk.T, nb, &r->blk.shift, nb, &r->blk.upd));
  r->blk.n = nb;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollCreate(TCRollNet net, TCCell cell, const TCCellParams *p,
                            const TCRollParams *rp, TCRoll *out)
{
  TCRoll          r;
  const PetscInt *ghosts, *inid;
  PetscInt        nterm = 0, N;
  PetscMPIInt     size;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&r));
  r->net  = net;
  r->cell = cell;
  r->p    = p;
  r->rp   = *rp;
  PetscCall(TCRollNetGetGraph(net, &r->g));
  PetscCall(TCGraphGetComm(r->g, &r->comm));
  PetscCallMPI(MPI_Comm_size(r->comm, &size));
  PetscCall(TCGraphGetNodes(r->g, &r->n, &r->nodes, &inid));
  PetscCall(TCGraphGetRows(r->g, &r->ptr, &r->col, &r->lcol, &r->G));
  PetscCall(TCGraphGetGhosts(r->g, &r->nghost, &ghosts));
  PetscCall(TCGraphGetOwnershipRange(r->g, &r->rstart, NULL));
  PetscCall(TCGraphGetSizes(r->g, &N, NULL));
  PetscCall(TCCellGetStateSize(cell, &r->nsc, NULL));
  PetscCall(TCGraphCreateVec(r->g, &r->phig));
  PetscCall(VecDuplicate(r->phig, &r->Tg));
  /* tags and coordinates of owned and ghost nodes */
  {
    PetscInt   m = r->n + r->nghost;
    PetscReal *buf;
    PetscCall(PetscMalloc4(m, &r->tag, m, &r->xg, m, &r->yg, m, &r->zg));
    PetscCall(PetscMalloc1(PetscMax(r->n, 1), &buf));
    for (int q = 0; q < 4; q++) {
      PetscReal *dst = q == 0 ? r->xg : q == 1 ? r->yg : q == 2 ? r->zg : NULL;
      for (PetscInt i = 0; i < r->n; i++) buf[i] = q < 3 ? r->nodes[i].x[q] : r->nodes[i].tag;
      if (dst)
        PetscCall(Ghosted(r, buf, r->phig, dst));
      else {
        PetscReal *tg;
        PetscCall(PetscMalloc1(m, &tg));
        PetscCall(Ghosted(r, buf, r->phig, tg));
        for (PetscInt i = 0; i < m; i++) r->tag[i] = (PetscInt)tg[i];
        PetscCall(PetscFree(tg));
      }
    }
    PetscCall(PetscFree(buf));
  }
  /* elements: owned by the rank of their Al node, in row order */
  r->neg_row = r->pos_row = -1;
  for (PetscInt i = 0; i < r->n; i++) {
    if (r->tag[i] == TC_ROLL_TAG_NEG_TERMINAL) r->neg_row = i;
    if (r->tag[i] == TC_ROLL_TAG_POS_TERMINAL) r->pos_row = i;
    if (r->tag[i] != TC_FOIL_AL) continue;
    for (PetscInt k = r->ptr[i]; k < r->ptr[i + 1]; k++)
      if (IsElement(r, i, k)) r->nel++;
  }
  nterm = (r->neg_row >= 0) + (r->pos_row >= 0);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &nterm, 1, MPIU_INT, MPI_SUM, r->comm));
  PetscCheck(nterm == 2, r->comm, PETSC_ERR_ARG_WRONG,
             "the coupled solver needs a roll network with terminals");
  {
    /* every foil must reach its terminal through at least one tab */
    PetscInt ntab[2] = {0, 0};
    if (r->neg_row >= 0) ntab[0] = r->ptr[r->neg_row + 1] - r->ptr[r->neg_row];
    if (r->pos_row >= 0) ntab[1] = r->ptr[r->pos_row + 1] - r->ptr[r->pos_row];
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, ntab, 2, MPIU_INT, MPI_SUM, r->comm));
    for (int f = 0; f < 2; f++)
      PetscCheck(ntab[f] > 0, r->comm, PETSC_ERR_USER_INPUT,
                 "the %s foil is not connected to any tab: no node of it lies in a tab "
                 "(check tab_%s, tab_%s_positions_m and tab_width_m against the foil length)",
                 f ? "Al" : "Cu", f ? "al" : "cu", f ? "al" : "cu");
  }
  PetscCall(PetscMalloc1(PetscMax(r->nel, 1), &r->el));
  r->nel = 0;
  for (PetscInt i = 0; i < r->n; i++) {
    if (r->tag[i] != TC_FOIL_AL) continue;
    for (PetscInt k = r->ptr[i]; k < r->ptr[i + 1]; k++)
      if (IsElement(r, i, k)) {
        TCElem *e = &r->el[r->nel++];
        e->a      = i;
        e->c_l    = r->lcol[k];
        e->c      = r->col[k];
        e->area   = r->G[k]; /* built with an element ASR of 1 ohm m^2: G = area */
        e->scale  = e->area / p->area_m2;
        r->area_total += e->area;
      }
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &r->area_total, 1, MPIU_REAL, MPI_SUM, r->comm));
  PetscCheck(r->area_total > 0, r->comm, PETSC_ERR_USER_INPUT,
             "the roll network has no electrochemical element (do the foils face each other?)");
  r->I1C = p->Q_nom_Ah * r->area_total / p->area_m2;
  {
    PetscInt gl = r->pos_row >= 0 ? r->rstart + r->pos_row : 0;
    PetscCallMPI(MPI_Allreduce(&gl, &r->pos_global, 1, MPIU_INT, MPI_SUM, r->comm));
  }
  /* the hardware's nodes (they follow the graph's in the thermal network) */
  PetscCall(HardwareSetUp(r, N));
  PetscCall(PetscMalloc1(PetscMax(r->nhw, 1), &r->Thw));
  /* state layout */
  PetscCall(TCCellGetSensitivitySize(r->cell, &r->nsens));
  r->off_diag    = r->nel * r->nsc;
  r->off_T       = r->off_diag + r->nel * ND;
  r->off_Trate   = r->off_T + r->nt; /* dT/dt of the last step, for the first guess */
  r->off_phi     = r->off_Trate + r->nt;
  r->off_phirate = r->off_phi + r->n;     /* dphi/dt of the last step, for the first guess */
  r->off_ab      = r->off_phirate + r->n; /* abuse-reaction states per node */
  r->off_onset   = r->off_ab + (rp->abuse ? TC_ABUSE_NSTATE * r->n : 0); /* runaway onset */
  r->off_erate   = r->off_onset + r->n;              /* element iterates' rates of the last step */
  r->off_gpc     = r->off_erate + r->nel * r->nsens; /* the Newton preconditioner's g */
  r->off_glob    = r->off_gpc + r->nel;
  r->nstate      = r->off_glob + NG;
  PetscCall(PetscMalloc4(PetscMax(r->nel, 1), &r->Iel, PetscMax(r->nel, 1), &r->gel,
                         PetscMax(r->nel, 1), &r->Qel, PetscMax(r->nel, 1), &r->res));

  PetscCall(JacobianMat(r, N, &r->J));
  /* the thermal matrix: preallocated from its own pattern by ThermalAssemble */
  PetscCall(MatCreate(r->comm, &r->K));
  PetscCall(MatSetSizes(r->K, r->nt, r->nt, N + r->Nhw, N + r->Nhw));
  PetscCall(MatSetType(r->K, MATAIJ));
  PetscCall(VecCreateMPI(r->comm, r->n, N, &r->X));
  PetscCall(VecDuplicate(r->X, &r->F));
  PetscCall(VecCreateMPI(r->comm, r->nt, N + r->Nhw, &r->C)); /* the thermal layout */
  PetscCall(VecDuplicate(r->C, &r->H));
  PetscCall(VecDuplicate(r->C, &r->Qn));
  PetscCall(VecDuplicate(r->C, &r->b));
  PetscCall(VecDuplicate(r->C, &r->Tnew));

  /* thermal: capacities and surface conductances */
  {
    PetscScalar *c, *h;
    PetscReal    rmin, rmax, zmin, zmax, Chw = 0;
    PetscBool    hw = (PetscBool)(r->Nhw > 0);
    PetscCall(RollExtent(r, &rmin, &rmax, &zmin, &zmax));
    for (PetscInt k = 0; k < r->Nhw; k++) Chw += r->hwC[k];
    if (rp->C_cell_J_K > 0) { /* the roll takes what the hardware leaves of the cell's */
      PetscReal V = 0;
      for (PetscInt i = 0; i < r->n; i++)
        if (!IsTerminal(r->tag[i])) V += rp->t_node_m[r->tag[i]] * r->nodes[i].area_m2;
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &V, 1, MPIU_REAL, MPI_SUM, r->comm));
      PetscCheck(
          rp->C_cell_J_K > Chw, r->comm, PETSC_ERR_USER_INPUT,
          "thermal_cell_heat_capacity_J_K = %s J/K leaves nothing for the roll: the hardware "
          "alone stores %s J/K",
          TCG(rp->C_cell_J_K).s, TCG(Chw).s);
      r->rp.rho_cp_J_m3K = (rp->C_cell_J_K - Chw) / V;
    }
    PetscCall(VecGetArray(r->C, &c));
    PetscCall(VecGetArray(r->H, &h));
    for (PetscInt i = 0; i < r->n; i++) {
      PetscInt  ti = r->tag[i];
      PetscReal A  = r->nodes[i].area_m2, t;
      PetscBool in, out;
      c[i] = h[i] = 0;
      if (IsTerminal(ti)) continue;
      t    = rp->t_node_m[ti];
      c[i] = r->rp.rho_cp_J_m3K * t * A;
      r->hc.roll += c[i];
      RollSurface(r, i, rmin, rmax, &in, &out);
      /* the surfaces to the ambient; with hardware the can, the ends and a mandrel
         pin take the heat instead (HardwareSetUp) */
      if (out && !hw) h[i] += rp->h_can_W_m2K * A;
      if (in && r->hw_mandrel < 0) h[i] += rp->h_mandrel_W_m2K * A;
      /* end faces: the node's cross-section t x ds on the bottom and top layers */
      if (!hw && PetscAbsReal(r->zg[i] - zmin) < 1e-12)
        h[i] += rp->h_bottom_W_m2K * t * r->nodes[i].length_m;
      if (!hw && PetscAbsReal(r->zg[i] - zmax) < 1e-12)
        h[i] += rp->h_top_W_m2K * t * r->nodes[i].length_m;
    }
    for (PetscInt k = 0; k < r->nhw; k++) {
      c[r->n + k] = r->hwC[k];
      h[r->n + k] = r->hwH[k];
    }
    PetscCall(VecRestoreArray(r->H, &h));
    PetscCall(VecRestoreArray(r->C, &c));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &r->hc.roll, 1, MPIU_REAL, MPI_SUM, r->comm));
    r->hc.total             = r->hc.roll + Chw;
    r->hc.roll_rho_cp_J_m3K = r->rp.rho_cp_J_m3K;
  }
  PetscCall(ThermalAssemble(r));
  r->Tamb_now = rp->T_amb_K;
  PetscCall(VecDuplicate(r->C, &r->Vn));
  PetscCall(TCRollNodeVolumes(r, r->Vn));
  PetscCall(PetscCalloc1(PetscMax(r->n, 1), &r->selfheat));
  PetscCall(PetscCalloc1(PetscMax(r->n, 1), &r->heater));
  if (rp->has_heater) { /* the nodes within the radius share the power by volume */
    const PetscScalar *v;
    PetscReal          tot = 0;
    PetscCall(VecGetArrayRead(r->Vn, &v));
    for (PetscInt i = 0; i < r->n; i++) {
      PetscReal d = PetscSqrtReal(PetscSqr(r->xg[i] - rp->heater_xyz_m[0]) +
                                  PetscSqr(r->yg[i] - rp->heater_xyz_m[1]) +
                                  PetscSqr(r->zg[i] - rp->heater_xyz_m[2]));
      if (!IsTerminal(r->tag[i]) && d <= rp->heater_radius_m) r->heater[i] = v[i];
      tot += r->heater[i];
    }
    PetscCall(VecRestoreArrayRead(r->Vn, &v));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &tot, 1, MPIU_REAL, MPI_SUM, r->comm));
    PetscCheck(tot > 0, r->comm, PETSC_ERR_USER_INPUT,
               "the heater at (%s, %s, %s) m reaches no node within %s mm: it is outside the roll "
               "or smaller than the node spacing (raise heater_radius_m)",
               TCG(rp->heater_xyz_m[0]).s, TCG(rp->heater_xyz_m[1]).s, TCG(rp->heater_xyz_m[2]).s,
               TCG(1e3 * rp->heater_radius_m).s);
    for (PetscInt i = 0; i < r->n; i++) r->heater[i] /= tot;
  }
  /* the internal short: across the element nearest to the given point */
  r->short_e = -1;
  if (rp->has_short) {
    struct {
      double v;
      int    rank;
    } best = {PETSC_MAX_REAL, 0};
    PetscMPIInt rank;
    PetscInt    eb = -1;
    PetscCallMPI(MPI_Comm_rank(r->comm, &rank));
    best.rank = rank;
    for (PetscInt e = 0; e < r->nel; e++) {
      PetscInt  a = r->el[e].a, c = r->el[e].c_l;
      PetscReal d = PetscSqrtReal(PetscSqr(0.5 * (r->xg[a] + r->xg[c]) - rp->short_xyz_m[0]) +
                                  PetscSqr(0.5 * (r->yg[a] + r->yg[c]) - rp->short_xyz_m[1]) +
                                  PetscSqr(0.5 * (r->zg[a] + r->zg[c]) - rp->short_xyz_m[2]));
      if (d < best.v) {
        best.v = d;
        eb     = e;
      }
    }
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &best, 1, MPI_DOUBLE_INT, MPI_MINLOC, r->comm));
    {
      PetscReal dsmax = 0; /* an element midpoint is within ds/2 along and p/2 across */
      for (PetscInt i = 0; i < r->n; i++) dsmax = PetscMax(dsmax, r->nodes[i].length_m);
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &dsmax, 1, MPIU_REAL, MPI_MAX, r->comm));
      r->short_dist = dsmax;
    }
    PetscCheck(best.v <= rp->pitch_m + r->short_dist, r->comm, PETSC_ERR_USER_INPUT,
               "the internal short at (%s, %s, %s) m is outside the roll: the nearest electrode "
               "pair is %s mm away",
               TCG(rp->short_xyz_m[0]).s, TCG(rp->short_xyz_m[1]).s, TCG(rp->short_xyz_m[2]).s,
               TCG(1e3 * best.v).s);
    if (rank == best.rank) r->short_e = eb;
    r->short_dist = best.v;
    r->short_G    = 1.0 / rp->short_ohm;
  }
  PetscCall(MatDuplicate(r->K, MAT_COPY_VALUES, &r->A));
  r->dt_A = -1;
  PetscCall(KSPCreate(r->comm, &r->ksp_th)); /* configured at the first solve */
  PetscCall(KSPSetOptionsPrefix(r->ksp_th, "thermal_"));

  /* Newton on the potentials */
  PetscCall(SNESCreate(r->comm, &r->snes));
  PetscCall(SNESSetFunction(r->snes, r->F, FormFunction, r));
  PetscCall(SNESSetJacobian(r->snes, r->J, r->J, FormJacobian, r));
  /* the floor of the residual is set by the element solves (their Newton tolerance,
     1e-12 from tomocell run): stop at 1e-11 of 1C, or when the potentials move by less
     than 1e-12 relative */
  PetscCall(SNESSetTolerances(r->snes, 1e-11 * r->I1C, 1e-14, 1e-12, 25, 10000));
  PetscCall(SNESSetConvergenceTest(r->snes, RollConverged, r, NULL));
  PetscCall(PetscMalloc1(PetscMax(r->n, 1), &r->fround));
  PetscCall(PetscMalloc3(PetscMax(r->nel, 1) * r->nsens, &r->sens, PetscMax(r->nel, 1), &r->dVlin,
                         r->nsens, &r->itbuf));
  PetscCall(RollBlockAlloc(r, TC_ROLL_ELEMENT_BLOCK));
  PetscCall(PetscMalloc1(PetscMax(r->nel, 1), &r->gpc));
  r->pc_lag  = PETSC_TRUE;
  r->lin_eta = 0; /* by the preconditioner, at SolversConfigure */
  *out       = r;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollSetFromOptions(TCRoll r)
{
  PetscInt  nb = r->blk.n;
  PetscBool set;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-element_block", &nb, &set));
  PetscCheck(!set || (nb >= 1 && nb <= 4096), r->comm, PETSC_ERR_USER_INPUT,
             "-element_block %" PetscInt_FMT ": give 1 to 4096 elements per batched update", nb);
  PetscCall(RollBlockAlloc(r, nb));
  {
    PetscBool batch = PETSC_TRUE;
    PetscCall(PetscOptionsGetBool(NULL, NULL, "-element_nested_batch", &batch, NULL));
    r->blk.guess1 = (PetscBool)!batch;
  }
  r->snes_from_options = PETSC_TRUE; /* applied at the first solve, see SolversConfigure */
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-roll_newton_monitor", &r->monitor_newton, NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-roll_pc_lag", &r->pc_lag, NULL));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-roll_ksp_eta", &r->lin_eta, &set));
  PetscCheck(!set || (r->lin_eta >= 1e-10 && r->lin_eta < 1), r->comm, PETSC_ERR_USER_INPUT,
             "-roll_ksp_eta %s: give 1e-10 to 1 (the Newton's linear solves stop at that fraction "
             "of the residual)",
             TCG(r->lin_eta).s);
  PetscCall(KSPSetFromOptions(r->ksp_th));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollGetSolverCounts(TCRoll r, TCRollSolverCounts *c)
{
  PetscFunctionBeginUser;
  *c = r->cnt;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollGetGraph(TCRoll r, TCGraph *g)
{
  PetscFunctionBeginUser;
  *g = r->g;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollGetSystem(TCRoll r, TCExperimentSystem *sys)
{
  PetscFunctionBeginUser;
  sys->comm   = r->comm;
  sys->ctx    = r;
  sys->nstate = r->nstate;
  sys->I1C_A  = r->I1C;
  sys->step   = RollStep;
  sys->soc    = RollSOC;
  /* not for a network (yet): per-step ambients, resistance steps and the
     set's voltage limits as step ends */
  sys->set_ambient = NULL;
  sys->resistance  = PETSC_FALSE;
  sys->V_lo = sys->V_hi = 0;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollStateInit(TCRoll r, PetscReal soc, PetscReal state[])
{
  PetscReal   *s0, V;
  TCCellResult res;
  PetscBool    conv;
  PetscInt     nsc = r->nsc;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(2 * nsc, &s0));
  PetscCall(TCCellStateInit(r->cell, soc, r->rp.T_init_K, s0));
  PetscCall(TCCellStep(r->cell, s0, TC_CELL_CURRENT, 0, r->rp.T_init_K, 0, s0 + nsc, &res, &conv));
  if (!conv) {
    char at[64] = "the set's initial concentrations";
    if (soc >= 0) snprintf(at, sizeof(at), "SOC %g", (double)soc);
    PetscCall(PetscFree(s0));
    SETERRQ(r->comm, PETSC_ERR_USER_INPUT,
            "the cell model has no rest state at %s and the initial temperature %g K: check "
            "initial_soc and initial_temperature / ambient_temperature",
            at, (double)r->rp.T_init_K);
  }
  V = res.V_V;
  for (PetscInt e = 0; e < r->nel; e++) {
    PetscReal *d = state + r->off_diag + e * ND;
    PetscCall(PetscArraycpy(state + e * nsc, s0, nsc));
    PetscCall(PetscMemzero(d, ND * sizeof(PetscReal)));
    d[D_ANODE]     = res.anode_vs_li_V;
    d[D_ANODE_X]   = res.anode_vs_li_min_V;
    d[D_SOC]       = TCCellStateSOC(r->cell, s0);
    d[D_ANODE_MIN] = res.anode_vs_li_V;
  }
  for (PetscInt i = 0; i < r->n; i++) {
    state[r->off_T + i]       = IsTerminal(r->tag[i]) ? r->rp.T_amb_K : r->rp.T_init_K;
    state[r->off_Trate + i]   = 0;
    state[r->off_phirate + i] = 0;
    state[r->off_onset + i]   = -1;
    if (r->rp.abuse)
      PetscCall(
          TCAbuseStateInit(r->rp.abuse, r->rp.abuse_soc, state + r->off_ab + TC_ABUSE_NSTATE * i));
    state[r->off_phi + i] =
        (r->tag[i] == TC_FOIL_AL || r->tag[i] == TC_ROLL_TAG_POS_TERMINAL) ? V : 0;
  }
  for (PetscInt k = 0; k < r->nhw; k++) {
    state[r->off_T + r->n + k]     = r->rp.T_init_K;
    state[r->off_Trate + r->n + k] = 0;
  }
  PetscCall(PetscMemzero(state + r->off_erate, r->nel * r->nsens * sizeof(PetscReal)));
  PetscCall(PetscMemzero(state + r->off_gpc, r->nel * sizeof(PetscReal)));
  PetscCall(PetscMemzero(state + r->off_glob, NG * sizeof(PetscReal)));
  state[r->off_glob + G_V]     = V;
  state[r->off_glob + G_ONSET] = -1;
  state[r->off_glob + G_PEAK]  = r->rp.T_init_K;
  PetscCall(PetscFree(s0));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollGetStats(TCRoll r, const PetscReal state[], TCRollStats *st)
{
  const PetscReal *g = state + r->off_glob, *T = state + r->off_T;
  const PetscReal *c;
  struct {
    double v;
    int    rank;
  } tmax, amin;
  PetscReal   s[8] = {0, 0, 0, 0, 0, 0, 0, 0}, imax = 0, loc[6];
  PetscMPIInt rank;
  PetscInt    it = -1, ia = -1;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(r->comm, &rank));
  PetscCall(PetscMemzero(st, sizeof(*st)));
  st->V_V     = g[G_V];
  st->I_A     = g[G_I];
  st->soc     = RollSOC(r, state);
  tmax.v      = -PETSC_MAX_REAL;
  tmax.rank   = rank;
  st->T_min_K = PETSC_MAX_REAL;
  PetscCall(VecGetArrayRead(r->C, &c));
  for (PetscInt i = 0; i < r->n; i++) {
    if (IsTerminal(r->tag[i])) continue;
    if (T[i] > tmax.v) {
      tmax.v = T[i];
      it     = i;
    }
    st->T_min_K = PetscMin(st->T_min_K, T[i]);
    s[0] += c[i] * T[i];
    s[1] += c[i];
    s[2] += c[i] * (T[i] - r->rp.T_init_K);
  }
  for (PetscInt i = r->n; i < r->nt; i++) s[2] += c[i] * (T[i] - r->rp.T_init_K); /* hardware */
  PetscCall(VecRestoreArrayRead(r->C, &c));
  amin.v    = PETSC_MAX_REAL;
  amin.rank = rank;
  for (PetscInt e = 0; e < r->nel; e++) {
    const PetscReal *d = state + r->off_diag + e * ND;
    s[3] += PetscAbsReal(d[D_I]) * r->el[e].area;
    s[4] += r->el[e].area;
    if (d[D_ANODE] < 0) s[5] += r->el[e].area;
    imax = PetscMax(imax, PetscAbsReal(d[D_I]));
    if (d[D_ANODE] < amin.v) {
      amin.v = d[D_ANODE];
      ia     = e;
    }
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, s, 8, MPIU_REAL, MPI_SUM, r->comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &imax, 1, MPIU_REAL, MPI_MAX, r->comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &st->T_min_K, 1, MPIU_REAL, MPI_MIN, r->comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &tmax, 1, MPI_DOUBLE_INT, MPI_MAXLOC, r->comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &amin, 1, MPI_DOUBLE_INT, MPI_MINLOC, r->comm));
  /* locations, from the owning ranks */
  loc[0] = loc[1] = loc[2] = loc[3] = loc[4] = loc[5] = 0;
  if (rank == tmax.rank && it >= 0) {
    loc[0] = r->xg[it];
    loc[1] = r->yg[it];
    loc[2] = r->zg[it];
  }
  PetscReal ia_i = 0;
  if (rank == amin.rank && ia >= 0) {
    PetscInt a = r->el[ia].a;
    loc[3]     = r->xg[a];
    loc[4]     = r->yg[a];
    loc[5]     = r->zg[a];
    ia_i       = state[r->off_diag + ia * ND + D_I];
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, loc, 6, MPIU_REAL, MPI_SUM, r->comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &ia_i, 1, MPIU_REAL, MPI_SUM, r->comm));
  st->T_max_K             = tmax.v;
  st->T_mean_K            = s[1] > 0 ? s[0] / s[1] : NAN;
  st->hotspot_r_m         = hypot(loc[0] - r->rp.centre_m[0], loc[1] - r->rp.centre_m[1]);
  st->hotspot_theta_rad   = atan2(loc[1] - r->rp.centre_m[1], loc[0] - r->rp.centre_m[0]);
  st->hotspot_z_m         = loc[2];
  st->anode_min_V         = amin.v;
  st->anode_min_r_m       = hypot(loc[3] - r->rp.centre_m[0], loc[4] - r->rp.centre_m[1]);
  st->anode_min_theta_rad = atan2(loc[4] - r->rp.centre_m[1], loc[3] - r->rp.centre_m[0]);
  st->anode_min_z_m       = loc[5];
  st->anode_min_i_A_m2    = ia_i;
  st->i_mean_A_m2         = s[4] > 0 ? s[3] / s[4] : 0;
  st->i_max_A_m2          = imax;
  /* at rest the current density is only relaxation noise: no heterogeneity */
  st->heterogeneity =
      PetscAbsReal(g[G_I]) > 1e-3 * r->I1C && st->i_mean_A_m2 > 0 ? imax / st->i_mean_A_m2 : NAN;
  st->plating_area_frac = s[4] > 0 ? s[5] / s[4] : 0;
  st->heat_W            = g[G_Q];
  st->generated_J       = g[G_GEN] + g[G_ABUSE];
  st->abuse_J           = g[G_ABUSE];
  st->short_J           = g[G_SHORT];
  st->T_amb_K           = Ambient(&r->rp, g[G_TIME]);
  st->runaway_onset_s   = g[G_ONSET] >= 0 ? g[G_ONSET] : NAN;
  st->runaway_r_m       = g[G_ONSET] >= 0
                              ? hypot(g[G_ONSET_X] - r->rp.centre_m[0], g[G_ONSET_Y] - r->rp.centre_m[1])
                              : NAN;
  st->runaway_theta_rad =
      g[G_ONSET] >= 0 ? atan2(g[G_ONSET_Y] - r->rp.centre_m[1], g[G_ONSET_X] - r->rp.centre_m[0])
                      : NAN;
  st->runaway_z_m        = g[G_ONSET] >= 0 ? g[G_ONSET_Z] : NAN;
  st->runaway_peak_K     = g[G_PEAK];
  st->stored_J           = r->rp.thermal ? s[2] : 0;
  st->removed_J          = g[G_REMOVED];
  st->charge_balance_max = g[G_CHARGE_ERR];
  st->energy_balance =
      r->rp.thermal && st->generated_J > 0
          ? PetscAbsReal(st->generated_J - st->stored_J - g[G_REMOVED]) / st->generated_J
          : NAN;
  st->charge_Ah = g[G_CHARGE];
  st->energy_Wh = g[G_ENERGY];
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollNodeFields(TCRoll r, const PetscReal state[], Vec f[])
{
  /* >= 0: element diagnostic; -1: node value (T, phi); -2: node runaway onset */
  static const int map[] = {-1,      -1,      D_I,         D_ANODE,   D_SOC, D_Q,
                            D_ETA_N, D_ETA_P, D_ANODE_MIN, D_PLATING, -2};
  _Static_assert(sizeof(map) / sizeof(map[0]) == TC_ROLL_NFIELDS, "a source for every field");
  Vec w;

  PetscFunctionBeginUser;
  PetscCall(VecDuplicate(r->X, &w));
  /* weights: element area touching each node */
  PetscCall(VecSet(w, 0));
  for (PetscInt e = 0; e < r->nel; e++) {
    PetscCall(VecSetValue(w, r->rstart + r->el[e].a, r->el[e].area, ADD_VALUES));
    PetscCall(VecSetValue(w, r->el[e].c, r->el[e].area, ADD_VALUES));
  }
  PetscCall(VecAssemblyBegin(w));
  PetscCall(VecAssemblyEnd(w));
  for (int q = 0; q < TC_ROLL_NFIELDS; q++) {
    PetscScalar       *v;
    const PetscScalar *ww;
    if (!f[q]) continue;
    if (map[q] == -2) { /* per node: runaway onset time, NaN where none */
      PetscCall(VecGetArray(f[q], &v));
      for (PetscInt i = 0; i < r->n; i++)
        v[i] = state[r->off_onset + i] >= 0 ? state[r->off_onset + i] : NAN;
      PetscCall(VecRestoreArray(f[q], &v));
      continue;
    }
    if (map[q] < 0) {
      const PetscReal *src = state + (q == TC_ROLL_TEMPERATURE ? r->off_T : r->off_phi);
      PetscCall(VecGetArray(f[q], &v));
      PetscCall(PetscArraycpy(v, src, r->n));
      if (q == TC_ROLL_TEMPERATURE)
        for (PetscInt i = 0; i < r->n; i++)
          if (IsTerminal(r->tag[i])) v[i] = NAN;
      PetscCall(VecRestoreArray(f[q], &v));
      continue;
    }
    PetscCall(VecSet(f[q], 0));
    for (PetscInt e = 0; e < r->nel; e++) {
      PetscReal val = state[r->off_diag + e * ND + map[q]] * r->el[e].area;
      PetscCall(VecSetValue(f[q], r->rstart + r->el[e].a, val, ADD_VALUES));
      PetscCall(VecSetValue(f[q], r->el[e].c, val, ADD_VALUES));
    }
    PetscCall(VecAssemblyBegin(f[q]));
    PetscCall(VecAssemblyEnd(f[q]));
    PetscCall(VecGetArray(f[q], &v));
    PetscCall(VecGetArrayRead(w, &ww));
    for (PetscInt i = 0; i < r->n; i++) v[i] = ww[i] > 0 ? v[i] / ww[i] : NAN;
    PetscCall(VecRestoreArrayRead(w, &ww));
    PetscCall(VecRestoreArray(f[q], &v));
  }
  PetscCall(VecDestroy(&w));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollGetHeatCapacity(TCRoll r, TCRollHeatCapacity *hc)
{
  PetscFunctionBeginUser;
  *hc = r->hc;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollCreateThermalVec(TCRoll r, Vec *v)
{
  PetscFunctionBeginUser;
  PetscCall(VecDuplicate(r->C, v));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollGetHardwareNodes(TCRoll r, PetscInt *nrings, PetscInt *nhw)
{
  PetscFunctionBeginUser;
  if (nrings) *nrings = r->hw_rings;
  if (nhw) *nhw = r->Nhw;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollGetShort(TCRoll r, PetscReal xyz[3], PetscReal *dist_m)
{
  PetscFunctionBeginUser;
  xyz[0]  = r->rp.short_xyz_m[0];
  xyz[1]  = r->rp.short_xyz_m[1];
  xyz[2]  = r->rp.short_xyz_m[2];
  *dist_m = r->rp.has_short ? r->short_dist : NAN;
  PetscFunctionReturn(0);
}

/* ---- probes ---------------------------------------------------------------------------- */

const char *const TCRollProbePlaces[] = {"can_mid", "can_positive_end", "can_negative_end",
                                         "core_mid", NULL};

PetscErrorCode TCRollProbePlace(TCRoll r, const char name[], PetscReal rtz[3])
{
  /* the extent of the foil nodes: outer and inner radius, lowest and highest z */
  PetscReal ext[4] = {0, PETSC_MAX_REAL, PETSC_MAX_REAL,
                      PETSC_MAX_REAL}; /* r_out, -, z_lo, -z_hi */
  PetscInt  which  = -1;

  PetscFunctionBeginUser;
  for (PetscInt q = 0; TCRollProbePlaces[q]; q++)
    if (!strcmp(name, TCRollProbePlaces[q])) which = q;
  PetscCheck(which >= 0, r->comm, PETSC_ERR_USER_INPUT,
             "probe place '%s' is not known: give one of can_mid, can_positive_end, "
             "can_negative_end, core_mid, or a point [r_m, theta_rad, z_m]",
             name);
  for (PetscInt i = 0; i < r->n; i++) {
    PetscReal rr;
    if (IsTerminal(r->tag[i])) continue;
    rr     = PetscSqrtReal(PetscSqr(r->xg[i] - r->rp.centre_m[0]) +
                           PetscSqr(r->yg[i] - r->rp.centre_m[1]));
    ext[0] = PetscMax(ext[0], rr);
    ext[1] = PetscMin(ext[1], rr);
    ext[2] = PetscMin(ext[2], r->zg[i]);
    ext[3] = PetscMin(ext[3], -r->zg[i]);
  }
  ext[0] = -ext[0];
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, ext, 4, MPIU_REAL, MPI_MIN, r->comm));
  ext[0] = -ext[0];
  ext[3] = -ext[3];
  /* the can: the outer surface; the positive end is the top (Al tabs), the
     negative the bottom (Cu tabs) (mesh/rollnet.h); the core: the inner turn */
  rtz[0] = which == 3 ? ext[1] : ext[0];
  rtz[1] = 0;
  rtz[2] = which == 1 ? ext[3] : which == 2 ? ext[2] : 0.5 * (ext[2] + ext[3]);
  /* with the hardware the can places are the can's: its wall at the roll's
     mid-height, and the centres of its ends (the cap, the bottom) */
  if (r->hw_rings > 0 && which < 3) {
    rtz[0] = which == 0 ? r->hw_R_m : 0;
    if (which == 1) rtz[2] = r->hwz[r->hw_cap];
    if (which == 2) rtz[2] = r->hwz[r->hw_bottom];
  }
  PetscFunctionReturn(0);
}

/* the node nearest (r, theta, z) among the foil nodes at radii in [rlo, rhi] */
static PetscErrorCode ProbeNearest(TCRoll r, const PetscReal rtz[3], PetscReal rlo, PetscReal rhi,
                                   TCRollProbe *pr);

PetscErrorCode TCRollProbeLocate(TCRoll r, const char place[], const PetscReal rtz_in[3],
                                 TCRollProbe *pr)
{
  PetscReal rtz[3], rlo = 0, rhi = PETSC_MAX_REAL;

  PetscFunctionBeginUser;
  if (place) {
    /* a can place reads the outermost turn, the core the innermost (within a
       pitch of the extreme radius): the nearest node in space may be a turn
       further in where the node spacing along the winding exceeds the pitch */
    PetscCall(TCRollProbePlace(r, place, rtz));
    if (!strncmp(place, "can_", 4) && r->hw_rings > 0) {
      /* the cap, the bottom, or the can ring nearest in z */
      PetscMPIInt size, rank;
      PetscInt    kb = 0;
      PetscCallMPI(MPI_Comm_size(r->comm, &size));
      PetscCallMPI(MPI_Comm_rank(r->comm, &rank));
      if (!strcmp(place, "can_positive_end"))
        kb = r->hw_cap;
      else if (!strcmp(place, "can_negative_end"))
        kb = r->hw_bottom;
      else
        for (PetscInt k = 1; k < r->hw_rings; k++)
          if (PetscAbsReal(r->hwz[k] - rtz[2]) < PetscAbsReal(r->hwz[kb] - rtz[2])) kb = k;
      pr->rank  = size - 1;
      pr->local = rank == size - 1 ? r->n + kb : -1;
      for (int k = 0; k < 3; k++) pr->rtz[k] = rtz[k];
      pr->node_rtz[0] = kb < r->hw_rings ? r->hw_R_m : 0;
      pr->node_rtz[1] = 0;
      pr->node_rtz[2] = r->hwz[kb];
      pr->dist_m      = PetscAbsReal(r->hwz[kb] - rtz[2]);
      PetscFunctionReturn(0);
    }
    if (!strncmp(place, "can_", 4))
      rlo = rtz[0] - r->rp.pitch_m;
    else
      rhi = rtz[0] + r->rp.pitch_m;
  } else
    for (int k = 0; k < 3; k++) rtz[k] = rtz_in[k];
  PetscCall(ProbeNearest(r, rtz, rlo, rhi, pr));
  PetscFunctionReturn(0);
}

static PetscErrorCode ProbeNearest(TCRoll r, const PetscReal rtz[3], PetscReal rlo, PetscReal rhi,
                                   TCRollProbe *pr)
{
  PetscReal x = r->rp.centre_m[0] + rtz[0] * PetscCosReal(rtz[1]),
            y = r->rp.centre_m[1] + rtz[0] * PetscSinReal(rtz[1]), z = rtz[2];
  struct {
    double v;
    int    rank;
  } best = {PETSC_MAX_REAL, 0};
  PetscMPIInt rank;
  PetscInt    ib    = -1;
  PetscReal   at[3] = {0, 0, 0};

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(r->comm, &rank));
  best.rank = rank;
  for (PetscInt i = 0; i < r->n; i++) {
    PetscReal d;
    if (IsTerminal(r->tag[i])) continue;
    d = PetscSqrtReal(PetscSqr(r->xg[i] - r->rp.centre_m[0]) +
                      PetscSqr(r->yg[i] - r->rp.centre_m[1]));
    if (d < rlo || d > rhi) continue;
    d = PetscSqrtReal(PetscSqr(r->xg[i] - x) + PetscSqr(r->yg[i] - y) + PetscSqr(r->zg[i] - z));
    if (d < best.v) {
      best.v = d;
      ib     = i;
    }
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &best, 1, MPI_DOUBLE_INT, MPI_MINLOC, r->comm));
  if (rank == best.rank && ib >= 0) {
    at[0] = PetscSqrtReal(PetscSqr(r->xg[ib] - r->rp.centre_m[0]) +
                          PetscSqr(r->yg[ib] - r->rp.centre_m[1]));
    at[1] = PetscAtan2Real(r->yg[ib] - r->rp.centre_m[1], r->xg[ib] - r->rp.centre_m[0]);
    at[2] = r->zg[ib];
  }
  PetscCallMPI(MPI_Bcast(at, 3, MPIU_REAL, best.rank, r->comm));
  pr->rank  = best.rank;
  pr->local = rank == best.rank ? ib : -1;
  for (int k = 0; k < 3; k++) {
    pr->rtz[k]      = rtz[k];
    pr->node_rtz[k] = at[k];
  }
  pr->dist_m = best.v;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollProbeTemperatures(TCRoll r, const PetscReal state[], PetscInt n,
                                       const TCRollProbe pr[], PetscReal T[])
{
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  if (n == 0) PetscFunctionReturn(0);
  PetscCallMPI(MPI_Comm_rank(r->comm, &rank));
  for (PetscInt k = 0; k < n; k++)
    T[k] = rank == pr[k].rank && pr[k].local >= 0 ? state[r->off_T + pr[k].local] : 0;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, T, (PetscMPIInt)n, MPIU_REAL, MPI_SUM, r->comm));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollDestroy(TCRoll *roll)
{
  TCRoll r;

  PetscFunctionBeginUser;
  if (!*roll) PetscFunctionReturn(0);
  r = *roll;
  PetscCall(SNESDestroy(&r->snes));
  PetscCall(KSPDestroy(&r->ksp_th));
  if (r->kspdef) PetscCall(KSPConvergedDefaultDestroy(r->kspdef));
  if (r->kspdef_th) PetscCall(KSPConvergedDefaultDestroy(r->kspdef_th));
  PetscCall(VecDestroy(&r->th_m));
  PetscCall(VecDestroy(&r->th_w));
  PetscCall(VecDestroy(&r->th_r));
  for (int k = 0; k < 2; k++) {
    PetscCall(VecDestroy(&r->fz[k]));
    PetscCall(VecDestroy(&r->fwork[k]));
  }
  PetscCall(PetscFree(r->gpc));
  PetscCall(MatDestroy(&r->J));
  PetscCall(PetscFree(r->jv));
  PetscCall(PetscFree2(r->jptr, r->jk));
  PetscCall(MatDestroy(&r->K));
  PetscCall(MatDestroy(&r->A));
  PetscCall(VecDestroy(&r->X));
  PetscCall(VecDestroy(&r->F));
  PetscCall(VecDestroy(&r->phig));
  PetscCall(VecDestroy(&r->Tg));
  PetscCall(VecDestroy(&r->C));
  PetscCall(VecDestroy(&r->H));
  PetscCall(VecDestroy(&r->Qn));
  PetscCall(VecDestroy(&r->b));
  PetscCall(VecDestroy(&r->Tnew));
  PetscCall(VecDestroy(&r->Vn));
  PetscCall(PetscFree(r->selfheat));
  PetscCall(PetscFree(r->heater));
  PetscCall(MatDestroy(&r->A2));
  PetscCall(PetscFree4(r->tag, r->xg, r->yg, r->zg));
  PetscCall(PetscFree(r->el));
  PetscCall(PetscFree4(r->Iel, r->gel, r->Qel, r->res));
  PetscCall(PetscFree(r->fround));
  PetscCall(PetscFree3(r->sens, r->dVlin, r->itbuf));
  PetscCall(PetscFree3(r->hwC, r->hwH, r->hwz));
  PetscCall(PetscFree(r->hwl));
  PetscCall(PetscFree(r->cpl));
  PetscCall(PetscFree(r->Thw));
  PetscCall(PetscFree4(r->blk.old, r->blk.it, r->blk.sens, r->blk.ok));
  PetscCall(PetscFree4(r->blk.V, r->blk.T, r->blk.shift, r->blk.upd));
  PetscCall(PetscFree(r));
  *roll = NULL;
  PetscFunctionReturn(0);
}

/* ---- parameters from a deck ------------------------------------------------------------- */

/* The hardware keys; the dimensions default to the preset's (see docs/run.md,
   "The cell's hardware", for the sources and what is estimated). */
static PetscErrorCode TCRollHardwareFromDeck(TCDeck deck, TCRollParams *rp)
{
  TCRollHardware *hw = &rp->hw;
  PetscInt        on, preset = 0;
  static const struct {
    PetscReal R, t, tb, H, gap, hc, hec, Ccap, Gcap, Ln, Lp;
  } def[2] = {
      /* 21700 (LG M50): 21 x 70 mm */
      {10.5e-3, 0.20e-3, 0.30e-3, 70.0e-3, 1.0e-3, 500, 100, 1.2, 0.10, 12e-3, 10e-3},
      /* 18650: 18 x 65 mm */
      {9.0e-3, 0.20e-3, 0.30e-3, 65.0e-3, 1.0e-3, 500, 100, 0.9, 0.09, 10e-3, 9e-3},
  };

  PetscFunctionBeginUser;
  PetscCall(TCDeckGetEnum(deck, "thermal_hardware", &on));
  PetscCall(TCDeckGetEnum(deck, "preset", &preset));
  preset                = preset == 1 ? 1 : 0;
  hw->on                = (PetscBool)(on == 1);
  hw->R_out_m           = def[preset].R;
  hw->t_wall_m          = def[preset].t;
  hw->t_bottom_m        = def[preset].tb;
  hw->height_m          = def[preset].H;
  hw->bottom_gap_m      = def[preset].gap;
  hw->contact_W_m2K     = def[preset].hc;
  hw->end_contact_W_m2K = def[preset].hec;
  hw->cap_C_J_K         = def[preset].Ccap;
  hw->cap_can_W_K       = def[preset].Gcap;
  hw->tab_L_m[0]        = def[preset].Ln;
  hw->tab_L_m[1]        = def[preset].Lp;
  PetscCall(TCDeckGetReal(deck, "thermal_can_outer_radius_m", &hw->R_out_m));
  PetscCall(TCDeckGetReal(deck, "thermal_can_wall_thickness_m", &hw->t_wall_m));
  PetscCall(TCDeckGetReal(deck, "thermal_can_bottom_thickness_m", &hw->t_bottom_m));
  PetscCall(TCDeckGetReal(deck, "thermal_can_height_m", &hw->height_m));
  PetscCall(TCDeckGetReal(deck, "thermal_can_bottom_gap_m", &hw->bottom_gap_m));
  PetscCall(TCDeckGetReal(deck, "thermal_can_rho_cp_J_m3K", &hw->rho_cp_J_m3K));
  PetscCall(TCDeckGetReal(deck, "thermal_can_k_W_mK", &hw->k_W_mK));
  PetscCall(TCDeckGetInt(deck, "thermal_can_rings", &hw->rings));
  PetscCall(TCDeckGetReal(deck, "thermal_can_contact_W_m2K", &hw->contact_W_m2K));
  PetscCall(TCDeckGetReal(deck, "thermal_end_contact_W_m2K", &hw->end_contact_W_m2K));
  PetscCall(TCDeckGetReal(deck, "thermal_cap_heat_capacity_J_K", &hw->cap_C_J_K));
  PetscCall(TCDeckGetReal(deck, "thermal_cap_can_W_K", &hw->cap_can_W_K));
  PetscCall(TCDeckGetReal(deck, "thermal_tab_thickness_m", &hw->tab_t_m));
  PetscCall(TCDeckGetReal(deck, "thermal_tab_neg_length_m", &hw->tab_L_m[0]));
  PetscCall(TCDeckGetReal(deck, "thermal_tab_pos_length_m", &hw->tab_L_m[1]));
  PetscCall(TCDeckGetReal(deck, "thermal_tab_neg_k_W_mK", &hw->tab_k_W_mK[0]));
  PetscCall(TCDeckGetReal(deck, "thermal_tab_pos_k_W_mK", &hw->tab_k_W_mK[1]));
  PetscCall(TCDeckGetReal(deck, "thermal_tab_neg_rho_cp_J_m3K", &hw->tab_rho_cp_J_m3K[0]));
  PetscCall(TCDeckGetReal(deck, "thermal_tab_pos_rho_cp_J_m3K", &hw->tab_rho_cp_J_m3K[1]));
  PetscCall(TCDeckGetReal(deck, "thermal_emissivity", &hw->emissivity));
  PetscCall(TCDeckGetReal(deck, "thermal_lead_negative_W_K", &hw->lead_W_K[0]));
  PetscCall(TCDeckGetReal(deck, "thermal_lead_positive_W_K", &hw->lead_W_K[1]));
  PetscCall(TCDeckGetReal(deck, "thermal_mandrel_rho_cp_J_m3K", &hw->mandrel_rho_cp_J_m3K));
  PetscCall(TCDeckGetReal(deck, "thermal_mandrel_k_W_mK", &hw->mandrel_k_W_mK));
  PetscCall(TCDeckGetReal(deck, "thermal_mandrel_contact_W_m2K", &hw->mandrel_contact_W_m2K));
  PetscCheck(!hw->on || rp->thermal, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
             "thermal_hardware: can needs the thermal network (thermal: network)");
  if (!hw->on) {
    /* a key of the hardware without the hardware would be ignored: refused */
    static const char *const only[] = {"thermal_can_outer_radius_m",
                                       "thermal_can_wall_thickness_m",
                                       "thermal_can_bottom_thickness_m",
                                       "thermal_can_height_m",
                                       "thermal_can_bottom_gap_m",
                                       "thermal_can_rho_cp_J_m3K",
                                       "thermal_can_k_W_mK",
                                       "thermal_can_rings",
                                       "thermal_can_contact_W_m2K",
                                       "thermal_end_contact_W_m2K",
                                       "thermal_cap_heat_capacity_J_K",
                                       "thermal_cap_can_W_K",
                                       "thermal_tab_thickness_m",
                                       "thermal_tab_neg_length_m",
                                       "thermal_tab_pos_length_m",
                                       "thermal_tab_neg_k_W_mK",
                                       "thermal_tab_pos_k_W_mK",
                                       "thermal_tab_neg_rho_cp_J_m3K",
                                       "thermal_tab_pos_rho_cp_J_m3K",
                                       "thermal_emissivity",
                                       "thermal_lead_positive_W_K",
                                       "thermal_lead_negative_W_K",
                                       "thermal_mandrel_rho_cp_J_m3K",
                                       "thermal_mandrel_k_W_mK",
                                       "thermal_mandrel_contact_W_m2K"};
    for (size_t i = 0; i < sizeof(only) / sizeof(only[0]); i++) {
      PetscBool set;
      PetscCall(TCDeckIsSet(deck, only[i], &set));
      PetscCheck(!set, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
                 "%s is a key of the cell's hardware: it needs thermal_hardware: can (without it "
                 "the roll has no can, cap or terminals)",
                 only[i]);
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollParamsFromDeck(TCDeck deck, const TCCellParams *p, TCRollParams *rp)
{
  MPI_Comm  comm = PETSC_COMM_WORLD;
  PetscInt  thermal;
  char      abuse_name[PETSC_MAX_PATH_LEN] = "";
  PetscBool has_abuse;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(rp, sizeof(*rp)));
  PetscCall(TCDeckGetEnum(deck, "thermal", &thermal));
  rp->thermal = thermal == 1 ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(TCDeckGetReal(deck, "thermal_k_s_W_mK", &rp->k_s_W_mK));
  PetscCall(TCDeckGetReal(deck, "thermal_k_z_W_mK", &rp->k_z_W_mK));
  PetscCall(TCDeckGetReal(deck, "thermal_k_r_W_mK", &rp->k_r_W_mK));
  PetscCall(TCDeckGetReal(deck, "thermal_h_mandrel_W_m2K", &rp->h_mandrel_W_m2K));
  PetscCall(TCDeckGetReal(deck, "thermal_tol_K", &rp->T_tol_K));
  PetscCall(TCDeckGetEnum(deck, "linear_solver", &rp->linear_solver));
  PetscCall(TCDeckGetString(deck, "abuse", abuse_name, sizeof(abuse_name), &has_abuse));
  PetscCall(TCDeckGetReal(deck, "abuse_soc", &rp->abuse_soc));
  PetscCall(TCDeckGetReal(deck, "oven_temperature", &rp->oven_T_K));
  PetscCall(TCDeckGetReal(deck, "oven_ramp_K_min", &rp->oven_ramp_K_s));
  rp->oven_ramp_K_s /= 60;
  rp->dT_max_K = has_abuse ? 5 : 0;
  PetscCall(TCDeckGetReal(deck, "thermal_dT_max_K", &rp->dT_max_K));
  PetscCall(TCDeckGetReal(deck, "runaway_rate_K_min", &rp->runaway_rate_K_s));
  rp->runaway_rate_K_s /= 60;
  rp->echem_T_max_K = has_abuse ? 373.15 : 0;
  PetscCall(TCDeckGetReal(deck, "echem_T_max_K", &rp->echem_T_max_K));
  {
    PetscReal rs = -1, th = 0, zs = NAN;
    PetscInt  nd = -1;
    PetscCall(TCDeckGetReal(deck, "short_r_m", &rs));
    PetscCall(TCDeckGetReal(deck, "short_theta_rad", &th));
    PetscCall(TCDeckGetReal(deck, "short_z_m", &zs));
    PetscCall(TCDeckGetReal(deck, "short_resistance_ohm", &rp->short_ohm));
    PetscCall(TCDeckGetInt(deck, "short_at_defect", &nd));
    PetscCheck(!(nd >= 0 && rs >= 0), comm, PETSC_ERR_USER_INPUT,
               "short_at_defect and short_r_m both place the internal short: give one of them");
    PetscCheck(rs >= 0 || nd >= 0 || isnan(zs), comm, PETSC_ERR_USER_INPUT,
               "short_z_m is given without short_r_m: an internal short needs its radius");
    rp->has_short    = (PetscBool)(rs >= 0 || nd >= 0);
    rp->short_defect = nd;
    rp->short_rtz[0] = rs;
    rp->short_rtz[1] = th;
    rp->short_rtz[2] = isnan(zs) ? -1 : zs; /* mid-height, once the geometry is known */
  }
  {
    PetscReal hr = -1, hz = NAN;
    rp->heater_rtz[1] = 0;
    PetscCall(TCDeckGetReal(deck, "heater_r_m", &hr));
    PetscCall(TCDeckGetReal(deck, "heater_theta_rad", &rp->heater_rtz[1]));
    PetscCall(TCDeckGetReal(deck, "heater_z_m", &hz));
    PetscCall(TCDeckGetReal(deck, "heater_radius_m", &rp->heater_radius_m));
    PetscCall(TCDeckGetReal(deck, "heater_power_W", &rp->heater_power_W));
    PetscCall(TCDeckGetReal(deck, "heater_time_s", &rp->heater_time_s));
    rp->has_heater    = (PetscBool)(hr >= 0);
    rp->heater_rtz[0] = hr;
    rp->heater_rtz[2] = isnan(hz) ? -1 : hz;
  }
  PetscCall(TCCellParamsDeckTemperatures(deck, p, &rp->T_amb_K, &rp->T_init_K));
  rp->rho_cp_J_m3K = p->rho_cp_J_m3K;
  rp->h_can_W_m2K  = p->h_W_m2K;
  PetscCall(TCDeckGetReal(deck, "thermal_rho_cp_J_m3K", &rp->rho_cp_J_m3K));
  PetscCall(TCDeckGetReal(deck, "thermal_h_can_W_m2K", &rp->h_can_W_m2K));
  rp->h_end_W_m2K = rp->h_can_W_m2K;
  PetscCall(TCDeckGetReal(deck, "thermal_h_end_W_m2K", &rp->h_end_W_m2K));
  rp->h_top_W_m2K    = rp->h_end_W_m2K;
  rp->h_bottom_W_m2K = rp->h_end_W_m2K;
  PetscCall(TCDeckGetReal(deck, "thermal_h_top_W_m2K", &rp->h_top_W_m2K));
  PetscCall(TCDeckGetReal(deck, "thermal_h_bottom_W_m2K", &rp->h_bottom_W_m2K));
  PetscCheck(!rp->thermal || rp->rho_cp_J_m3K > 0, comm, PETSC_ERR_USER_INPUT,
             "the thermal network needs a heat capacity: %s has no density and specific heat; "
             "set thermal_rho_cp_J_m3K (or thermal: isothermal)",
             p->source);
  PetscCall(TCDeckGetReal(deck, "thermal_cell_heat_capacity_J_K", &rp->C_cell_J_K));
  PetscCall(TCRollHardwareFromDeck(deck, rp));
  PetscCheck(rp->oven_T_K <= 0 || rp->thermal, comm, PETSC_ERR_USER_INPUT,
             "an oven test needs the thermal network (thermal: network)");
  PetscCheck(!rp->has_heater || rp->thermal, comm, PETSC_ERR_USER_INPUT,
             "a heater needs the thermal network (thermal: network)");
  if (has_abuse) {
    PetscCheck(rp->thermal, comm, PETSC_ERR_USER_INPUT,
               "abuse reactions need the thermal network (thermal: network)");
    PetscCall(TCAbuseSetLoad(abuse_name, &rp->abuse));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollParamsSetGeometry(MPI_Comm comm, TCRollParams *rp, const TCRollGeomInfo *gi,
                                       const TCRollNetParams *np)
{
  const PetscReal *t = gi->t_m; /* Cu, Al, negative, separator, positive */

  PetscFunctionBeginUser;
  rp->t_node_m[0]  = t[0] + 2 * t[2] + t[3];
  rp->t_node_m[1]  = t[1] + 2 * t[4] + t[3];
  rp->d_elem_m     = 0.5 * (t[0] + t[1]) + t[2] + t[3] + t[4];
  rp->sigma_t_S[0] = np->sigma_S_m[0] * np->thickness_m[0];
  rp->sigma_t_S[1] = np->sigma_S_m[1] * np->thickness_m[1];
  rp->centre_m[0]  = gi->centre_m[0];
  rp->centre_m[1]  = gi->centre_m[1];
  rp->pitch_m      = gi->pitch_m;
  /* the tabs' total width, for the hardware's tab strips: a tabless foil's
     whole edge is its tab */
  for (int f = 0; f < 2; f++) {
    const TCTabs *tb      = &np->tabs[f];
    rp->hw.tab_width_m[f] = tb->layout == TC_TAB_TABLESS     ? gi->length_m[f]
                            : tb->layout == TC_TAB_POSITIONS ? tb->n * tb->width_m
                                                             : tb->width_m;
  }
  if (rp->has_short && rp->short_defect >= 0) {
    const TCRollDefect *d;
    PetscCheck(rp->short_defect < gi->ndefects, comm, PETSC_ERR_USER_INPUT,
               "short_at_defect %" PetscInt_FMT ": the geometry (%s) has %" PetscInt_FMT
               " defect(s)%s",
               rp->short_defect, gi->path[0] ? gi->path : "the synthetic spiral", gi->ndefects,
               gi->ndefects ? " (0-based indices: see geometry.defects in summary.json)" : "");
    d                = &gi->defects[rp->short_defect];
    rp->short_rtz[0] = d->r_m;
    rp->short_rtz[1] = d->theta_rad;
    rp->short_rtz[2] = d->z_m;
  }
  if (rp->has_short) {
    PetscReal z        = rp->short_rtz[2] >= 0 ? rp->short_rtz[2] : gi->z_mid_m;
    rp->short_xyz_m[0] = gi->centre_m[0] + rp->short_rtz[0] * cos(rp->short_rtz[1]);
    rp->short_xyz_m[1] = gi->centre_m[1] + rp->short_rtz[0] * sin(rp->short_rtz[1]);
    rp->short_xyz_m[2] = z;
  }
  if (rp->has_heater) {
    rp->heater_xyz_m[0] = gi->centre_m[0] + rp->heater_rtz[0] * cos(rp->heater_rtz[1]);
    rp->heater_xyz_m[1] = gi->centre_m[1] + rp->heater_rtz[0] * sin(rp->heater_rtz[1]);
    rp->heater_xyz_m[2] = rp->heater_rtz[2] >= 0 ? rp->heater_rtz[2] : gi->z_mid_m;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollParamsReset(TCRollParams *rp)
{
  PetscFunctionBeginUser;
  PetscCall(TCAbuseSetDestroy(&rp->abuse));
  PetscFunctionReturn(0);
}
