/*
 * Cell-model checks (solver/cellmodel, cellexp, cellparams, cellfunc) on the
 * Chen2020 set:
 *
 *   conservation  1C discharge + rest, each model: lithium lost by the
 *                 negative and gained by the positive particles equals
 *                 integral(I dt)/F to 1e-8 relative, and the electrolyte
 *                 keeps its lithium to 1e-8 (the discrete scheme conserves
 *                 exactly; what is left is the Newton tolerance, 1e-10 of
 *                 the scaled update per step, summed over ~250 steps)
 *   ocv           C/100 discharge (DFN): V follows OCP_p(y) - OCP_n(x) of
 *                 the average stoichiometries within 5 mV (issue's bound;
 *                 the overpotentials at C/100 are ~1-2 mV) for SOC >= 0.05;
 *                 below, the graphite OCP steepens (dU/dx ~ 80 V per unit
 *                 stoichiometry at x -> 0) and the small surface-to-average
 *                 difference in the particles alone is several mV (printed)
 *   agree         C/20 discharge: SPM, SPMe and DFN voltages agree within
 *                 3 mV (SPMe vs DFN) and 6 mV (SPM vs DFN, no electrolyte
 *                 losses in the SPM) while SOC > 0.03 (past the knee a 1 s
 *                 shift in time is a large voltage difference)
 *   jacobian      analytic Jacobian of the bordered step system (residuals,
 *                 current column, voltage row) against centred finite
 *                 differences, each model, current and voltage control,
 *                 Chen2020 and Marquis2019 (entropic terms, Arrhenius):
 *                 max row-relative difference <= 1e-6 (FD truncation ~h^2,
 *                 round-off ~1e-16/h with h = 1e-6 relative)
 *   didv          the element's dI/dV against a finite difference of two
 *                 voltage-controlled steps: 1e-5 relative
 *   update        the network's one-update interface (TCCellStepUpdate), each
 *                 model: repeated updates converge quadratically to
 *                 TCCellStep's current (1e-10) and dI/dV (1e-6: TCCellStep
 *                 takes it from the factorisation before its last update); an iterate
 *                 moved along the sensitivity to V + 1 mV needs an update
 *                 100x smaller than the unmoved one (second vs first order)
 *   heat          the same step twice gives the same heat; 1C lumped
 *                 discharge: SPMe and DFN heat within 3 %, T_max within
 *                 0.5 K (the SPMe carries the DFN's electrolyte losses)
 *   window        both bundled sets (Chen2020, Marquis2019): a C/20 DFN
 *                 discharge delivers SOC_0 x the capacity of the set's
 *                 stoichiometry window, less at most 1 % (what the C/20
 *                 overpotentials cut off at the end; above it would mean
 *                 lithium is created)
 *   grid          DFN, 1C, V(t = 1800 s) with 10, 20, 40, 80 cells per
 *                 region and shells per particle at a fixed dt: observed
 *                 order log2(|V10-V20| / |V20-V40|) in [1.5, 2.5] (second-
 *                 order finite volumes)
 *   step          DFN, dt = 40, 20, 10, 5 s: observed order in [0.8, 1.2]
 *                 (backward Euler)
 *   func          expression and table functions: values and derivatives
 *                 against closed forms (1e-12); TCLog within 1 ulp of libm,
 *                 TCAsinh within 2
 *   bench         not a test: us per element step and bytes per element
 *   batch         TCCellStepUpdateBatch bit for bit TCCellStepUpdate, and
 *                 TCCellStepGuessBatch bit for bit TCCellStepGuess
 *   kernel        not a test (bench/flops.sh): the roll's SPMe element
 *                 update (8/4/8 cells, 20 shells, Chen2020, voltage
 *                 control), NB elements per block, NREP blocks, batched or
 *                 one at a time (MODEL spme, default, or dfn); CPU time per
 *                 update; guess|guess1: a converged solve from the solve at
 *                 a voltage 1 mV off, batched or one at a time
 *
 * usage: test_cell CASE   (bench: test_cell bench [cells per region] [shells];
 *                          kernel: test_cell kernel NB NREP batch|single|guess|guess1 [spme|dfn])
 */
#include "solver/cellexp.h"
#include "solver/vmath.h"
#include "src/tc.h"
#include <math.h>
#include <stdlib.h>
#include <time.h>

/* every field of two element results, bit for bit */
static PetscBool SameResult(const TCCellResult *a, const TCCellResult *b)
{
#define SAME(f) (!memcmp(&a->f, &b->f, sizeof(a->f)))
  return (PetscBool)(SAME(I_A) && SAME(V_V) && SAME(dIdV_S) && SAME(Q_W) && SAME(Q_irr_W) &&
                     SAME(Q_rev_W) && SAME(Q_ohm_W) && SAME(eta_n_V) && SAME(eta_p_V) &&
                     SAME(anode_vs_li_V) && SAME(anode_vs_li_min_V) && SAME(sto_surf_n) &&
                     SAME(sto_surf_p) && SAME(sto_avg_n) && SAME(sto_avg_p) && SAME(ce_min) &&
                     SAME(ce_max) && SAME(newton_its));
#undef SAME
}

static TCCellParams P;

static PetscErrorCode MakeCell(TCCellModel m, PetscInt n, TCCell *cell, PetscReal **state)
{
  PetscInt ns;

  PetscFunctionBeginUser;
  PetscCall(TCCellCreate(PETSC_COMM_SELF, cell));
  PetscCall(TCCellSetParams(*cell, &P));
  PetscCall(TCCellSetModel(*cell, m));
  PetscCall(TCCellSetGrid(*cell, n, n, n, n, n));
  PetscCall(TCCellSetUp(*cell));
  PetscCall(TCCellGetStateSize(*cell, &ns, NULL));
  PetscCall(PetscMalloc1(ns, state));
  PetscCall(TCCellStateInit(*cell, -1, P.T_amb, *state));
  PetscFunctionReturn(0);
}

static TCExperimentOptions Opt(PetscReal dt_fixed)
{
  TCExperimentOptions o;
  o.lumped     = PETSC_FALSE;
  o.T_amb_K    = P.T_amb;
  o.T_init_K   = 0;
  o.dt_max_s   = 60;
  o.dt_init_s  = 1;
  o.tol_V      = 2e-4;
  o.dt_fixed_s = dt_fixed;
  return o;
}

/* a recorded curve */
typedef struct {
  PetscInt   n, cap;
  PetscReal *t, *V, *soc, *ocv;
} Curve;

static PetscErrorCode Record(const TCExperimentPoint *pt, const TCCellResult *r, void *ctx)
{
  Curve *c = (Curve *)ctx;

  PetscFunctionBeginUser;
  if (c->n == c->cap) {
    PetscReal *t, *V, *s, *o;
    c->cap = c->cap ? 2 * c->cap : 1024;
    PetscCall(PetscMalloc4(c->cap, &t, c->cap, &V, c->cap, &s, c->cap, &o));
    if (c->n) {
      PetscCall(PetscArraycpy(t, c->t, c->n));
      PetscCall(PetscArraycpy(V, c->V, c->n));
      PetscCall(PetscArraycpy(s, c->soc, c->n));
      PetscCall(PetscArraycpy(o, c->ocv, c->n));
      PetscCall(PetscFree4(c->t, c->V, c->soc, c->ocv));
    }
    c->t   = t;
    c->V   = V;
    c->soc = s;
    c->ocv = o;
  }
  c->t[c->n]   = pt->t_s;
  c->V[c->n]   = r->V_V;
  c->soc[c->n] = pt->soc;
  c->ocv[c->n] = TCCellParamsOCV(&P, r->sto_avg_n, r->sto_avg_p, pt->T_K);
  c->n++;
  PetscFunctionReturn(0);
}

static PetscErrorCode CurveFree(Curve *c)
{
  PetscFunctionBeginUser;
  if (c->cap) PetscCall(PetscFree4(c->t, c->V, c->soc, c->ocv));
  PetscFunctionReturn(0);
}

static PetscReal Interp(const Curve *c, PetscReal t)
{
  PetscInt i = 1;
  if (t <= c->t[0]) return c->V[0];
  while (i < c->n - 1 && c->t[i] < t) i++;
  if (c->t[i] == c->t[i - 1]) return c->V[i];
  return c->V[i - 1] + (c->V[i] - c->V[i - 1]) * (t - c->t[i - 1]) / (c->t[i] - c->t[i - 1]);
}

static PetscErrorCode RunExperiment(TCCell cell, PetscReal *state, const char *text,
                                    PetscReal dt_fixed, Curve *cv, TCExperimentSummary *sum)
{
  TCExperiment        e;
  TCExperimentOptions o = Opt(dt_fixed);

  PetscFunctionBeginUser;
  PetscCall(TCExperimentCreate(&e));
  PetscCall(TCExperimentAdd(e, text));
  PetscCall(TCExperimentRun(e, cell, &P, &o, state, cv ? Record : NULL, cv, sum));
  PetscCall(TCExperimentDestroy(&e));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestConservation(void)
{
  PetscFunctionBeginUser;
  for (int m = 0; m < 3; m++) {
    TCCell              cell;
    PetscReal          *st, n0[3], n1[3], Q, en, ep, ee;
    TCExperimentSummary sum;
    PetscCall(MakeCell((TCCellModel)m, 20, &cell, &st));
    PetscCall(TCCellStateLithium(cell, st, &n0[0], &n0[1], &n0[2]));
    PetscCall(RunExperiment(
        cell, st, "Discharge at 1C until 2.5 V; Rest for 10 minutes; Charge at 0.5C for 20 minutes",
        0, NULL, &sum));
    PetscCall(TCCellStateLithium(cell, st, &n1[0], &n1[1], &n1[2]));
    Q  = sum.capacity_Ah * 3600 / TC_FARADAY; /* mol of electrons discharged */
    en = PetscAbsReal((n0[0] - n1[0]) - Q) / Q;
    ep = PetscAbsReal((n1[1] - n0[1]) - Q) / Q;
    ee = PetscAbsReal(n1[2] - n0[2]) / n0[2];
    PetscCall(TCPrintf(PETSC_COMM_SELF,
                       "%s: integral I dt %.6f Ah; lithium balance error negative %.2e, positive "
                       "%.2e, electrolyte %.2e (relative)\n",
                       TCCellModels[m], (double)sum.capacity_Ah, (double)en, (double)ep,
                       (double)ee));
    PetscCheck(en <= 1e-8 && ep <= 1e-8 && ee <= 1e-8, PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "%s: lithium not conserved", TCCellModels[m]);
    PetscCall(PetscFree(st));
    PetscCall(TCCellDestroy(&cell));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode TestOCV(void)
{
  TCCell              cell;
  PetscReal          *st, emax = 0, eall = 0;
  Curve               cv = {0};
  TCExperimentSummary sum;

  PetscFunctionBeginUser;
  PetscCall(MakeCell(TC_CELL_DFN, 20, &cell, &st));
  PetscCall(RunExperiment(cell, st, "Discharge at C/100 until 2.5 V", 0, &cv, &sum));
  for (PetscInt i = 0; i < cv.n; i++) {
    if (cv.soc[i] >= 0.05) emax = PetscMax(emax, PetscAbsReal(cv.V[i] - cv.ocv[i]));
    eall = PetscMax(eall, PetscAbsReal(cv.V[i] - cv.ocv[i]));
  }
  PetscCall(TCPrintf(PETSC_COMM_SELF,
                     "C/100 DFN discharge: %.4f Ah, max |V - (OCP_p - OCP_n)| = %.3f mV for "
                     "SOC >= 0.05 (%.3f mV down to the 2.5 V cut-off) over %" PetscInt_FMT
                     " points\n",
                     (double)sum.capacity_Ah, (double)(1e3 * emax), (double)(1e3 * eall), cv.n));
  PetscCheck(emax <= 5e-3, PETSC_COMM_SELF, PETSC_ERR_PLIB, "C/100 does not follow the OCV");
  PetscCall(CurveFree(&cv));
  PetscCall(PetscFree(st));
  PetscCall(TCCellDestroy(&cell));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestAgree(void)
{
  Curve     cv[3] = {{0}, {0}, {0}};
  PetscReal d[2]  = {0, 0};

  PetscFunctionBeginUser;
  for (int m = 0; m < 3; m++) {
    TCCell              cell;
    PetscReal          *st;
    TCExperimentSummary sum;
    PetscCall(MakeCell((TCCellModel)m, 20, &cell, &st));
    PetscCall(RunExperiment(cell, st, "Discharge at C/20 until 2.5 V", 0, &cv[m], &sum));
    PetscCall(TCPrintf(PETSC_COMM_SELF, "C/20 %s: %.5f Ah, %.4f Wh\n", TCCellModels[m],
                       (double)sum.capacity_Ah, (double)sum.energy_Wh));
    PetscCall(PetscFree(st));
    PetscCall(TCCellDestroy(&cell));
  }
  for (PetscInt i = 0; i < cv[2].n; i++) {
    if (cv[2].soc[i] < 0.03) continue;
    d[0] = PetscMax(d[0], PetscAbsReal(Interp(&cv[0], cv[2].t[i]) - cv[2].V[i]));
    d[1] = PetscMax(d[1], PetscAbsReal(Interp(&cv[1], cv[2].t[i]) - cv[2].V[i]));
  }
  PetscCall(TCPrintf(PETSC_COMM_SELF,
                     "C/20 max |V - V_dfn| (SOC > 0.03): SPM %.3f mV, SPMe %.3f mV\n",
                     (double)(1e3 * d[0]), (double)(1e3 * d[1])));
  PetscCheck(d[0] <= 6e-3 && d[1] <= 3e-3, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "models disagree at C/20");
  for (int m = 0; m < 3; m++) PetscCall(CurveFree(&cv[m]));
  PetscFunctionReturn(0);
}

/* a state half-way through a 1C discharge */
static PetscErrorCode MidState(TCCellModel m, PetscInt n, TCCell *cell, PetscReal **st)
{
  TCExperimentSummary sum;

  PetscFunctionBeginUser;
  PetscCall(MakeCell(m, n, cell, st));
  PetscCall(RunExperiment(*cell, *st, "Discharge at 1C for 30 minutes", 0, NULL, &sum));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestJacobian(void)
{
  const char *sets[2] = {"chen2020", "marquis2019"};

  PetscFunctionBeginUser;
  /* Chen2020, and Marquis2019 for the entropic terms and the Arrhenius
     diffusivities and electrolyte properties */
  for (int s = 0; s < 2; s++) {
    if (s == 1) {
      PetscCall(TCCellParamsDestroy(&P));
      PetscCall(TCCellParamsLoad(sets[s], &P));
    }
    for (int m = 0; m < 3; m++) {
      TCCell       cell;
      PetscReal   *st, *nw, err[2], Iset = 1.5 * P.Q_nom_Ah;
      PetscInt     ns;
      TCCellResult r;
      PetscBool    conv;
      PetscCall(MidState((TCCellModel)m, 8, &cell, &st));
      PetscCall(TCCellGetStateSize(cell, &ns, NULL));
      PetscCall(PetscMalloc1(ns, &nw));
      PetscCall(TCCellStep(cell, st, TC_CELL_CURRENT, Iset, 310, 5.0, nw, &r, &conv));
      PetscCheck(conv, PETSC_COMM_SELF, PETSC_ERR_PLIB, "step failed");
      PetscCall(TCCellCheckJacobian(cell, st, TC_CELL_CURRENT, Iset, 310, 5.0, nw, &err[0]));
      PetscCall(TCCellStep(cell, st, TC_CELL_VOLTAGE, r.V_V - 0.02, 290, 20.0, nw, &r, &conv));
      PetscCheck(conv, PETSC_COMM_SELF, PETSC_ERR_PLIB, "step failed");
      PetscCall(TCCellCheckJacobian(cell, st, TC_CELL_VOLTAGE, r.V_V, 290, 20.0, nw, &err[1]));
      PetscCall(TCPrintf(PETSC_COMM_SELF,
                         "%s %s: analytic vs finite-difference Jacobian, max row-relative "
                         "difference %.2e (310 K, dt 5 s), %.2e (290 K, dt 20 s)\n",
                         sets[s], TCCellModels[m], (double)err[0], (double)err[1]));
      PetscCheck(err[0] <= 1e-6 && err[1] <= 1e-6, PETSC_COMM_SELF, PETSC_ERR_PLIB,
                 "Jacobian wrong");
      PetscCall(PetscFree(nw));
      PetscCall(PetscFree(st));
      PetscCall(TCCellDestroy(&cell));
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode TestDIDV(void)
{
  PetscFunctionBeginUser;
  for (int m = 0; m < 3; m++) {
    TCCell       cell;
    PetscReal   *st, *nw, V, h = 1e-5, fd, e;
    PetscInt     ns;
    TCCellResult r0, r1, r2;
    PetscBool    conv;
    PetscCall(MidState((TCCellModel)m, 20, &cell, &st));
    PetscCall(TCCellGetStateSize(cell, &ns, NULL));
    PetscCall(PetscMalloc1(ns, &nw));
    PetscCall(TCCellStep(cell, st, TC_CELL_CURRENT, 5.0, 298.15, 10.0, nw, &r0, &conv));
    V = r0.V_V;
    PetscCall(TCCellStep(cell, st, TC_CELL_VOLTAGE, V + h, 298.15, 10.0, nw, &r1, &conv));
    PetscCall(TCCellStep(cell, st, TC_CELL_VOLTAGE, V - h, 298.15, 10.0, nw, &r2, &conv));
    fd = (r1.I_A - r2.I_A) / (2 * h);
    e  = PetscAbsReal(r0.dIdV_S - fd) / PetscAbsReal(fd);
    PetscCall(TCPrintf(PETSC_COMM_SELF,
                       "%s: dI/dV %.6f S (current control), finite difference of I(V) %.6f S: "
                       "%.1e relative; voltage-controlled step gives I = %.6f A for V = %.6f V\n",
                       TCCellModels[m], (double)r0.dIdV_S, (double)fd, (double)e,
                       (double)(0.5 * (r1.I_A + r2.I_A)), (double)V));
    PetscCheck(e <= 1e-5 && PetscAbsReal(0.5 * (r1.I_A + r2.I_A) - 5.0) < 1e-6, PETSC_COMM_SELF,
               PETSC_ERR_PLIB, "dI/dV wrong");
    PetscCall(PetscFree(nw));
    PetscCall(PetscFree(st));
    PetscCall(TCCellDestroy(&cell));
  }
  PetscFunctionReturn(0);
}

/* The one-update interface of the network's monolithic Newton: repeated
   TCCellStepUpdate from state_old converges quadratically to TCCellStep's
   answer; the sensitivity is dI/dV; an iterate moved along it to another
   voltage is that voltage's solution to second order. */
static PetscErrorCode TestUpdate(void)
{
  PetscFunctionBeginUser;
  for (int m = 0; m < 3; m++) {
    TCCell       cell;
    PetscReal   *st, *ref, *it, *sens, V, nrm[12], dV = 1e-3, upd_moved, upd_still;
    PetscInt     ns, nsens, k;
    TCCellResult r, ru;
    PetscBool    conv, ok;
    PetscCall(MidState((TCCellModel)m, 8, &cell, &st));
    PetscCall(TCCellGetStateSize(cell, &ns, NULL));
    PetscCall(TCCellGetSensitivitySize(cell, &nsens));
    PetscCall(PetscMalloc3(ns, &ref, ns, &it, nsens, &sens));
    PetscCall(TCCellStep(cell, st, TC_CELL_CURRENT, 5.0, 298.15, 20.0, ref, &r, &conv));
    V = r.V_V - 0.01;
    PetscCall(TCCellStep(cell, st, TC_CELL_VOLTAGE, V, 298.15, 20.0, ref, &r, &conv));
    PetscCheck(conv, PETSC_COMM_SELF, PETSC_ERR_PLIB, "step failed");
    PetscCall(PetscArraycpy(it, st, ns));
    for (k = 0; k < 12; k++) {
      PetscCall(TCCellStepUpdate(cell, st, it, TC_CELL_VOLTAGE, V, 298.15, 20.0, it, &ru, &nrm[k],
                                 sens, &ok));
      PetscCheck(ok, PETSC_COMM_SELF, PETSC_ERR_PLIB, "update failed");
      if (nrm[k] < 1e-13) break;
    }
    PetscCheck(k < 12, PETSC_COMM_SELF, PETSC_ERR_PLIB, "no convergence in 12 updates");
    PetscCall(
        TCPrintf(PETSC_COMM_SELF, "%s: %d updates, scaled sizes", TCCellModels[m], (int)k + 1));
    for (PetscInt i = 0; i <= k; i++) PetscCall(TCPrintf(PETSC_COMM_SELF, " %.1e", (double)nrm[i]));
    PetscCall(TCPrintf(PETSC_COMM_SELF, "; I %.12f vs TCCellStep %.12f A; dI/dV %.6f vs %.6f S\n",
                       (double)ru.I_A, (double)r.I_A, (double)sens[0], (double)r.dIdV_S));
    PetscCheck(PetscAbsReal(ru.I_A - r.I_A) <= 1e-10 * PetscAbsReal(r.I_A) &&
                   PetscAbsReal(sens[0] - r.dIdV_S) <= 1e-6 * PetscAbsReal(r.dIdV_S),
               PETSC_COMM_SELF, PETSC_ERR_PLIB, "update does not reproduce TCCellStep");
    /* quadratic: once below 1e-3, each update is at most ~ the square of the last (x 100) */
    for (PetscInt i = 1; i <= k; i++)
      if (nrm[i - 1] < 1e-3 && nrm[i] > 1e-13)
        PetscCheck(nrm[i] <= 100 * nrm[i - 1] * nrm[i - 1], PETSC_COMM_SELF, PETSC_ERR_PLIB,
                   "not quadratic: %g after %g", (double)nrm[i], (double)nrm[i - 1]);
    /* moved along the sensitivity to V + dV: the next update is O(dV^2); unmoved: O(dV) */
    PetscCall(PetscArraycpy(ref, it, ns));
    PetscCall(TCCellStepUpdate(cell, st, ref, TC_CELL_VOLTAGE, V + dV, 298.15, 20.0, ref, &ru,
                               &upd_still, NULL, &ok));
    PetscCall(TCCellIterateAXPY(cell, dV, sens, it));
    PetscCall(TCCellStepUpdate(cell, st, it, TC_CELL_VOLTAGE, V + dV, 298.15, 20.0, it, &ru,
                               &upd_moved, NULL, &ok));
    PetscCall(TCPrintf(PETSC_COMM_SELF,
                       "%s: to V + 1 mV, first update %.1e from the moved iterate, %.1e from the "
                       "unmoved one\n",
                       TCCellModels[m], (double)upd_moved, (double)upd_still));
    PetscCheck(ok && upd_moved < 1e-2 * upd_still, PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "the sensitivity does not predict the iterate");
    PetscCall(PetscFree3(ref, it, sens));
    PetscCall(PetscFree(st));
    PetscCall(TCCellDestroy(&cell));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode TestHeat(void)
{
  PetscReal E[3], Tmax[3];

  PetscFunctionBeginUser;
  for (int m = 0; m < 3; m++) {
    TCCell              cell;
    PetscReal          *st, *nw;
    PetscInt            ns;
    TCCellResult        r1, r2;
    PetscBool           conv;
    TCExperimentSummary sum;
    TCExperimentOptions o = Opt(0);
    TCExperiment        e;
    /* the same step twice gives the same heat (caught a stale accumulator) */
    PetscCall(MidState((TCCellModel)m, 20, &cell, &st));
    PetscCall(TCCellGetStateSize(cell, &ns, NULL));
    PetscCall(PetscMalloc1(ns, &nw));
    PetscCall(TCCellStep(cell, st, TC_CELL_CURRENT, 5.0, 298.15, 10.0, nw, &r1, &conv));
    PetscCall(TCCellStep(cell, st, TC_CELL_CURRENT, 5.0, 298.15, 10.0, nw, &r2, &conv));
    PetscCheck(r1.Q_W == r2.Q_W && r1.Q_W > 0, PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "%s: heat %g then %g W for the same step", TCCellModels[m], (double)r1.Q_W,
               (double)r2.Q_W);
    PetscCall(PetscFree(nw));
    PetscCall(PetscFree(st));
    PetscCall(TCCellDestroy(&cell));
    /* lumped 1C discharge */
    PetscCall(MakeCell((TCCellModel)m, 20, &cell, &st));
    o.lumped = PETSC_TRUE;
    PetscCall(TCExperimentCreate(&e));
    PetscCall(TCExperimentAdd(e, "Discharge at 1C until 2.5 V"));
    PetscCall(TCExperimentRun(e, cell, &P, &o, st, NULL, NULL, &sum));
    PetscCall(TCExperimentDestroy(&e));
    E[m]    = sum.heat_J;
    Tmax[m] = sum.T_max_K;
    PetscCall(TCPrintf(PETSC_COMM_SELF, "%s: 1C lumped: heat %.1f J, T_max %.3f K\n",
                       TCCellModels[m], (double)E[m], (double)Tmax[m]));
    PetscCall(PetscFree(st));
    PetscCall(TCCellDestroy(&cell));
  }
  /* SPMe carries the electrolyte losses of the DFN: heat within 3 %, T within 0.5 K */
  PetscCheck(PetscAbsReal(E[1] - E[2]) <= 0.03 * E[2] && PetscAbsReal(Tmax[1] - Tmax[2]) <= 0.5,
             PETSC_COMM_SELF, PETSC_ERR_PLIB, "SPMe and DFN heat disagree");
  PetscFunctionReturn(0);
}

static PetscErrorCode TestWindow(void)
{
  const char *sets[2] = {"chen2020", "marquis2019"};

  PetscFunctionBeginUser;
  for (int i = 0; i < 2; i++) {
    TCCellParams        Q;
    TCCell              cell;
    PetscReal          *st, soc0, Qwin, err;
    PetscInt            ns;
    TCExperiment        e;
    TCExperimentOptions o = Opt(0);
    TCExperimentSummary sum;
    char                text[128];
    PetscCall(TCCellParamsLoad(sets[i], &Q));
    PetscCall(TCCellCreate(PETSC_COMM_SELF, &cell));
    PetscCall(TCCellSetParams(cell, &Q));
    PetscCall(TCCellSetUp(cell));
    PetscCall(TCCellGetStateSize(cell, &ns, NULL));
    PetscCall(PetscMalloc1(ns, &st));
    PetscCall(TCCellStateInit(cell, -1, Q.T_amb, st));
    soc0 = TCCellStateSOC(cell, st);
    Qwin = PetscAbsReal(Q.neg.sto_max - Q.neg.sto_min) * Q.neg.eps_s * Q.neg.L_m * Q.neg.cmax *
           Q.area_m2 * TC_FARADAY / 3600;
    snprintf(text, sizeof(text), "Discharge at C/20 until %g V", (double)Q.V_min);
    o.T_amb_K = Q.T_amb;
    PetscCall(TCExperimentCreate(&e));
    PetscCall(TCExperimentAdd(e, text));
    PetscCall(TCExperimentRun(e, cell, &Q, &o, st, NULL, NULL, &sum));
    PetscCall(TCExperimentDestroy(&e));
    err = (sum.capacity_Ah - soc0 * Qwin) / (soc0 * Qwin);
    PetscCall(TCPrintf(PETSC_COMM_SELF,
                       "%s: initial SOC %.5f of a %.5f Ah window; C/20 DFN discharge %.5f Ah "
                       "(%+.3f %% of SOC x window)\n",
                       sets[i], (double)soc0, (double)Qwin, (double)sum.capacity_Ah,
                       (double)(100 * err)));
    PetscCheck(err <= 0 && err >= -0.01, PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "%s: C/20 capacity inconsistent with the stoichiometry window", sets[i]);
    PetscCall(PetscFree(st));
    PetscCall(TCCellDestroy(&cell));
    PetscCall(TCCellParamsDestroy(&Q));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode VAt1800(PetscInt n, PetscReal dt, PetscReal *V)
{
  TCCell              cell;
  PetscReal          *st;
  Curve               cv = {0};
  TCExperimentSummary sum;

  PetscFunctionBeginUser;
  PetscCall(MakeCell(TC_CELL_DFN, n, &cell, &st));
  PetscCall(RunExperiment(cell, st, "Discharge at 1C for 1800 seconds", dt, &cv, &sum));
  *V = cv.V[cv.n - 1];
  PetscCall(CurveFree(&cv));
  PetscCall(PetscFree(st));
  PetscCall(TCCellDestroy(&cell));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestGrid(void)
{
  PetscReal V[4], p1, p2;
  PetscInt  n[4] = {10, 20, 40, 80};

  PetscFunctionBeginUser;
  for (int i = 0; i < 4; i++) PetscCall(VAt1800(n[i], 10.0, &V[i]));
  p1 = log2(PetscAbsReal(V[0] - V[1]) / PetscAbsReal(V[1] - V[2]));
  p2 = log2(PetscAbsReal(V[1] - V[2]) / PetscAbsReal(V[2] - V[3]));
  PetscCall(TCPrintf(PETSC_COMM_SELF,
                     "grid (DFN 1C, V at 1800 s, dt 10 s): V = %.7f, %.7f, %.7f, %.7f V for "
                     "10/20/40/80; differences %.3e, %.3e, %.3e V; observed order %.2f, %.2f\n",
                     (double)V[0], (double)V[1], (double)V[2], (double)V[3], (double)(V[0] - V[1]),
                     (double)(V[1] - V[2]), (double)(V[2] - V[3]), (double)p1, (double)p2));
  PetscCheck(p2 >= 1.5 && p2 <= 2.5, PETSC_COMM_SELF, PETSC_ERR_PLIB, "grid order %g", (double)p2);
  PetscFunctionReturn(0);
}

static PetscErrorCode TestStep(void)
{
  PetscReal V[4], p1, p2, dt[4] = {40, 20, 10, 5};

  PetscFunctionBeginUser;
  for (int i = 0; i < 4; i++) PetscCall(VAt1800(20, dt[i], &V[i]));
  p1 = log2(PetscAbsReal(V[0] - V[1]) / PetscAbsReal(V[1] - V[2]));
  p2 = log2(PetscAbsReal(V[1] - V[2]) / PetscAbsReal(V[2] - V[3]));
  PetscCall(TCPrintf(PETSC_COMM_SELF,
                     "step (DFN 1C, V at 1800 s, 20 cells): V = %.7f, %.7f, %.7f, %.7f V for dt "
                     "40/20/10/5 s; observed order %.2f, %.2f\n",
                     (double)V[0], (double)V[1], (double)V[2], (double)V[3], (double)p1,
                     (double)p2));
  PetscCheck(p1 >= 0.8 && p1 <= 1.2 && p2 >= 0.8 && p2 <= 1.2, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "step order");
  PetscFunctionReturn(0);
}

/* TCLog and TCAsinh (solver/vmath.h) against libm: within 1 ulp of it over the
   whole positive normal range (exponents -1020..1020 and the c_e range
   1..1e4 mol/m^3, values next to 1 and next to the sqrt(2) split, powers of
   two exact), libm's own results for what is not a positive normal number,
   and TCLogArray bit for bit TCLog at any length and offset. */
static PetscErrorCode TestLog(void)
{
  enum { NL = 1 << 18 };
  PetscReal *x, *v, worst = 0;
  PetscInt   ndiff = 0;
  uint64_t   q = 88172645463325252ULL; /* xorshift64 */

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(NL, &x, NL, &v));
  for (PetscInt i = 0; i < NL; i++) {
    double r;
    q ^= q << 13, q ^= q >> 7, q ^= q << 17;
    r = (double)(q >> 11) / 9007199254740992.0; /* [0, 1) */
    switch (i % 5) {
    case 0: x[i] = ldexp(0.5 + r, (int)(i % 2041) - 1020); break;
    case 1: x[i] = 1 + 1e4 * r; break;
    case 2: x[i] = 1 + (r - 0.5) * ldexp(1.0, -(int)(i % 50)); break;
    case 3: x[i] = 1.4142135623730951 * (1 + (r - 0.5) * 1e-12); break;
    default: x[i] = ldexp(1.0, (int)(i % 2045) - 1022);
    }
  }
  for (PetscInt i = 0; i < NL; i++) {
    double l = log(x[i]), t = TCLog(x[i]), u = nextafter(fabs(l), INFINITY) - fabs(l);
    double e = fabs(t - l) / u;
    PetscCheck(e <= 1 && (l != 0 || t == 0), PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "TCLog(%.17g) = %.17g, libm %.17g: %.2f ulp", x[i], t, l, e);
    if (i % 5 == 4)
      PetscCheck(t == l, PETSC_COMM_SELF, PETSC_ERR_PLIB, "TCLog(2^k = %.17g) = %.17g, not %.17g",
                 x[i], t, l);
    worst = PetscMax(worst, e);
    ndiff += t != l;
  }
  {
    const double sp[6] = {0.0, -1.0, INFINITY, NAN, 4.9406564584124654e-324, -INFINITY};
    for (int k = 0; k < 6; k++) {
      double t = TCLog(sp[k]), l = log(sp[k]);
      PetscCheck(!memcmp(&t, &l, sizeof(t)) || (isnan(t) && isnan(l)), PETSC_COMM_SELF,
                 PETSC_ERR_PLIB, "TCLog(%g) = %g, libm %g", sp[k], t, l);
    }
  }
  for (PetscInt n = 1; n <= 37; n += 6)
    for (PetscInt off = 0; off < 3; off++) {
      TCLogArray((long)n, x + 1000 * n + off, v);
      for (PetscInt i = 0; i < n; i++) {
        double t = TCLog(x[1000 * n + off + i]);
        PetscCheck(!memcmp(&t, &v[i], sizeof(t)), PETSC_COMM_SELF, PETSC_ERR_PLIB,
                   "TCLogArray n %" PetscInt_FMT ": %.17g vs TCLog %.17g", n, v[i], t);
      }
    }
  PetscCall(TCPrintf(PETSC_COMM_SELF,
                     "log: %d values within %.2f ulp of libm (%.2f %% differ), specials as libm, "
                     "arrays bit for bit\n",
                     (int)NL, worst, 100.0 * (double)ndiff / NL));
  /* TCAsinh: both signs, |x| from 2^-60 to 2^60 and across the splits at 2^-28 and 2 */
  worst = 0;
  ndiff = 0;
  for (PetscInt i = 0; i < NL; i++) {
    double r;
    q ^= q << 13, q ^= q >> 7, q ^= q << 17;
    r    = (double)(q >> 11) / 9007199254740992.0;
    x[i] = (i % 2 ? -1 : 1) * (i % 7 ? ldexp(0.5 + r, (int)(i % 121) - 60) : 4 * r);
  }
  TCAsinhArray((long)NL, x, v);
  for (PetscInt i = 0; i < NL; i++) {
    double l = asinh(x[i]), t = TCAsinh(x[i]), u = nextafter(fabs(l), INFINITY) - fabs(l);
    double e = fabs(t - l) / u;
    PetscCheck(e <= 2 && !memcmp(&t, &v[i], sizeof(t)), PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "TCAsinh(%.17g) = %.17g (array %.17g), libm %.17g: %.2f ulp", x[i], t, v[i], l, e);
    worst = PetscMax(worst, e);
    ndiff += t != l;
  }
  {
    const double sp[6] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e300};
    for (int k = 0; k < 6; k++) {
      double t = TCAsinh(sp[k]), l = asinh(sp[k]);
      PetscCheck(!memcmp(&t, &l, sizeof(t)) || (isnan(t) && isnan(l)), PETSC_COMM_SELF,
                 PETSC_ERR_PLIB, "TCAsinh(%g) = %g, libm %g", sp[k], t, l);
    }
  }
  PetscCall(TCPrintf(PETSC_COMM_SELF,
                     "asinh: %d values within %.2f ulp of libm (%.2f %% differ), specials as libm, "
                     "arrays bit for bit\n",
                     (int)NL, worst, 100.0 * (double)ndiff / NL));
  PetscCall(PetscFree2(x, v));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestFunc(void)
{
  TCFunc    f, t;
  PetscReal d, v, x[3] = {0, 0.5, 1}, y[3] = {1, 2, 4}, err = 0;

  PetscFunctionBeginUser;
  PetscCall(TCFuncCreateExpression(
      "2 * exp(-3 * x) + tanh(x - 0.1) ** 2 - x / (1 + x) + sqrt(x) * T / 300 - -x ** 1.5", "test",
      &f));
  for (PetscReal xx = 0.05; xx < 1; xx += 0.1) {
    PetscReal th = tanh(xx - 0.1);
    PetscReal ve = 2 * exp(-3 * xx) + th * th - xx / (1 + xx) + sqrt(xx) * 310 / 300 + pow(xx, 1.5);
    PetscReal de = -6 * exp(-3 * xx) + 2 * th * (1 - th * th) - 1 / ((1 + xx) * (1 + xx)) +
                   0.5 / sqrt(xx) * 310 / 300 + 1.5 * sqrt(xx);
    v   = TCFuncEval(f, xx, 310, &d);
    err = PetscMax(err, PetscMax(PetscAbsReal(v - ve), PetscAbsReal(d - de)));
  }
  PetscCall(TCFuncCreateTable(3, x, y, "table", &t));
  v   = TCFuncEval(t, 0.75, 0, &d);
  err = PetscMax(err, PetscAbsReal(v - 3) + PetscAbsReal(d - 4));
  PetscCall(TCPrintf(PETSC_COMM_SELF, "functions: max error of values and derivatives %.2e\n",
                     (double)err));
  PetscCheck(err <= 1e-12, PETSC_COMM_SELF, PETSC_ERR_PLIB, "function evaluation");
  /* TCFuncEvalBatch: TCFuncEval's bits at every point, for every kind and
     opcode (binary and constant powers, abs of both signs, log, sinh, cosh),
     a tabulation inside and outside its range, and batches longer than the
     evaluator's 64 lanes */
  {
    const char *ex[] = {
        "2 * exp(-3 * x) + tanh(x - 0.1) ** 2 - x / (1 + x) + sqrt(x) * T / 300 - -x ** 1.5",
        "abs(x - 0.5) ** x + log(1 + x) * sinh(x) / cosh(x) - x ** 3 + x ** 0.5 + x ** 2.7",
        "3.0321 * 10 ** (11.17 * x - 15.11 - 1.553 * exp(-(x - 0.2031) ** 2 / 0.0006091))"};
    PetscReal xs[150], Ts[150], vb[150], db[150];
    PetscInt  nb = 0;
    for (PetscInt i = 0; i < 150; i++) {
      xs[i] = -0.2 + 1.4 * i / 149.0;
      Ts[i] = 280 + i;
    }
    for (int q = 0; q < 5; q++) {
      TCFunc    g = t;
      PetscBool done;
      if (q < 3) PetscCall(TCFuncCreateExpression(ex[q], "batch", &g));
      if (q == 3) {
        PetscCall(TCFuncCreateExpression(
            "1.9793 * exp(-39.3631 * x) + 0.2482 - 0.0909 * tanh(29.8538 * (x - 0.1234))", "batch",
            &g));
        PetscCall(TCFuncTabulate(g, 0.1, 0.9, 257, &done));
        PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_PLIB, "not tabulated");
      }
      if (q == 4) g = t;
      for (PetscInt n = 1; n <= 150; n += 149 - 70 * (n == 1)) {
        TCFuncEvalBatch(g, n, xs, Ts, vb, db);
        for (PetscInt i = 0; i < n; i++) {
          PetscReal vs = TCFuncEval(g, xs[i], Ts[i], &d);
          PetscCheck(!memcmp(&vs, &vb[i], sizeof(vs)) && !memcmp(&d, &db[i], sizeof(d)),
                     PETSC_COMM_SELF, PETSC_ERR_PLIB,
                     "TCFuncEvalBatch function %d, n %" PetscInt_FMT ", x %g: %.17g, %.17g vs "
                     "TCFuncEval %.17g, %.17g",
                     q, n, (double)xs[i], (double)vb[i], (double)db[i], (double)vs, (double)d);
          nb++;
        }
      }
      if (q < 4) PetscCall(TCFuncDestroy(&g));
    }
    PetscCall(TCPrintf(PETSC_COMM_SELF,
                       "functions: %" PetscInt_FMT " batched evaluations bit for bit\n", nb));
  }
  PetscCall(TCFuncDestroy(&f));
  PetscCall(TCFuncDestroy(&t));
  PetscCall(TestLog());
  PetscFunctionReturn(0);
}

/* TCCellStepUpdateBatch against TCCellStepUpdate, element by element, bit
   for bit: 29 SPMe elements from a mid-discharge state at different
   voltages, temperatures and iterates (one that fails: a negative c_e), three
   successive updates each, in blocks of 1, 4, 7 and 29 elements; for
   Chen2020 (constant solid diffusivities), Marquis2019 (Arrhenius factors)
   and ORegan2022 (solid diffusivities of the stoichiometry, electrolyte
   functions of T); dt 20 s and the consistent start dt = 0; and SPM and DFN
   (one element at a time) for the same contract. */
static PetscErrorCode TestGuessBatch(void);

static PetscErrorCode TestBatch(void)
{
  const char    *sets[3] = {"chen2020", "marquis2019", "oregan2022"};
  const PetscInt NE = 29, blocks[4] = {1, 4, 7, 29};
  PetscInt       ncmp = 0, nfail = 0;

  PetscFunctionBeginUser;
  for (int s = 0; s < 3; s++) {
    PetscCall(TCCellParamsDestroy(&P));
    PetscCall(TCCellParamsLoad(sets[s], &P));
    for (int m = 0; m < 3; m++)
      for (int idt = 0; idt < 2; idt++) {
        TCCell           cell;
        PetscReal       *st, *old, *ref, *bat, *sref, *sbat, V0, dt = idt ? 0 : 20.0;
        PetscReal        V[29], T[29], uref[29], ubat[29];
        PetscInt         ns, nsens;
        TCCellResult     r, rref[29], rbat[29];
        PetscBool        conv, okref[29], okbat[29];
        const PetscReal *po[29];
        PetscReal       *pi[29], *ps[29];
        if (m != TC_CELL_SPME && s > 0) continue;
        PetscCall(MidState((TCCellModel)m, 8, &cell, &st));
        PetscCall(TCCellGetStateSize(cell, &ns, NULL));
        PetscCall(TCCellGetSensitivitySize(cell, &nsens));
        PetscCall(PetscMalloc5(NE * ns, &old, NE * ns, &ref, NE * ns, &bat, NE * nsens, &sref,
                               NE * nsens, &sbat));
        PetscCall(TCCellStep(cell, st, TC_CELL_CURRENT, 5.0, 298.15, 20.0, ref, &r, &conv));
        V0 = r.V_V;
        for (PetscInt e = 0; e < NE; e++) {
          PetscReal q = (PetscReal)e / (NE - 1);
          V[e]        = V0 - 0.03 + 0.05 * q * q;
          T[e]        = 285 + 30 * PetscSinReal(7.0 * e) * PetscSinReal(7.0 * e);
          PetscCall(PetscArraycpy(old + e * ns, st, ns));
          PetscCall(PetscArraycpy(ref + e * ns, st, ns));
          if (e % 3 == 1) /* a warm start: a converged step's result */
            PetscCall(TCCellStep(cell, st, TC_CELL_VOLTAGE, V[e] + 0.002, T[e], 20.0, ref + e * ns,
                                 &r, &conv));
        }
        if (m == TC_CELL_SPME) (ref + 5 * ns)[ns - 1] = -1; /* the last c_e of element 5: fails */
        PetscCall(PetscArraycpy(bat, ref, NE * ns));
        for (int it = 0; it < 3; it++) {
          PetscReal *start;
          PetscCall(PetscMalloc1(NE * ns, &start));
          PetscCall(PetscArraycpy(start, ref, NE * ns));
          for (PetscInt e = 0; e < NE; e++)
            PetscCall(TCCellStepUpdate(cell, old + e * ns, ref + e * ns, TC_CELL_VOLTAGE, V[e],
                                       T[e], dt, ref + e * ns, &rref[e], &uref[e], sref + e * nsens,
                                       &okref[e]));
          for (int ib = 0; ib < 4; ib++) {
            PetscCall(PetscArraycpy(bat, start, NE * ns));
            PetscCall(PetscArrayzero(sbat, NE * nsens));
            for (PetscInt e0 = 0; e0 < NE; e0 += blocks[ib]) {
              PetscInt nb = PetscMin(blocks[ib], NE - e0);
              for (PetscInt b = 0; b < nb; b++) {
                po[b] = old + (e0 + b) * ns;
                pi[b] = bat + (e0 + b) * ns;
                ps[b] = sbat + (e0 + b) * nsens;
              }
              PetscCall(TCCellStepUpdateBatch(cell, nb, po, pi, V + e0, T + e0, dt, pi, rbat + e0,
                                              ubat + e0, ps, okbat + e0));
            }
            for (PetscInt e = 0; e < NE; e++) {
              PetscBool same = (PetscBool)(okbat[e] == okref[e]);
              if (okref[e]) {
                const TCCellResult *a = &rref[e], *b = &rbat[e];
                same = (PetscBool)(same &&
                                   !memcmp(ref + e * ns, bat + e * ns, sizeof(PetscReal) * ns) &&
                                   !memcmp(sref + e * nsens, sbat + e * nsens,
                                           sizeof(PetscReal) * nsens) &&
                                   !memcmp(&uref[e], &ubat[e], sizeof(PetscReal)));
                same = (PetscBool)(same && SameResult(a, b));
              } else
                nfail++;
              PetscCheck(same, PETSC_COMM_SELF, PETSC_ERR_PLIB,
                         "%s %s dt %g, update %d, block %" PetscInt_FMT ", element %" PetscInt_FMT
                         ": batch differs from TCCellStepUpdate (ok %d vs %d, I %.17g vs %.17g)",
                         sets[s], TCCellModels[m], (double)dt, it, blocks[ib], e, (int)okbat[e],
                         (int)okref[e], (double)rbat[e].I_A, (double)rref[e].I_A);
              ncmp++;
            }
          }
          PetscCall(PetscFree(start));
        }
        for (PetscInt e = 0; e < NE; e++)
          PetscCheck(okref[e] == (PetscBool)(e != 5 || m != TC_CELL_SPME), PETSC_COMM_SELF,
                     PETSC_ERR_PLIB, "%s %s: element %" PetscInt_FMT " ok %d", sets[s],
                     TCCellModels[m], e, (int)okref[e]);
        PetscCall(PetscFree5(old, ref, bat, sref, sbat));
        PetscCall(PetscFree(st));
        PetscCall(TCCellDestroy(&cell));
      }
  }
  PetscCheck(nfail > 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "no failed update was exercised");
  PetscCall(TCPrintf(PETSC_COMM_SELF,
                     "batch: %" PetscInt_FMT " element updates in blocks of 1, 4, 7 and 29 bit for "
                     "bit TCCellStepUpdate's (%" PetscInt_FMT " failures agreed)\n",
                     ncmp, nfail));
  PetscCall(TestGuessBatch());
  PetscFunctionReturn(0);
}

/* TCCellStepGuessBatch against TCCellStepGuess, element by element, bit for
   bit (state, result, converged flag): 37 elements from a mid-discharge
   state at voltages 0.2 V apart and temperatures 285-315 K, their Newton
   iterations started from the old state, from converged steps at nearby and
   far voltages, from the converged step itself and from one at the same
   voltage and another temperature (so they take 1 to 5 and more iterations), one with a negative
   c_e (fails at once), in place (guess = state_new, as the roll solver calls it), in blocks of 1,
   4, 7 and 37; Chen2020, Marquis2019, ORegan2022; dt 20 s and 0; at the
   default iteration limit and at 3 (elements that need more fail); SPM and
   DFN (one element at a time) for the same contract. */
static PetscErrorCode TestGuessBatch(void)
{
  const char    *sets[3] = {"chen2020", "marquis2019", "oregan2022"};
  const PetscInt NE = 37, blocks[4] = {1, 4, 7, 37};
  PetscInt       ncmp = 0, nfail = 0, nits[32] = {0}, nlim = 0, n5 = 0;

  PetscFunctionBeginUser;
  for (int s = 0; s < 3; s++) {
    PetscCall(TCCellParamsDestroy(&P));
    PetscCall(TCCellParamsLoad(sets[s], &P));
    for (int m = 0; m < 3; m++)
      for (int idt = 0; idt < 2; idt++)
        for (int lim = 0; lim < 2; lim++) {
          TCCell           cell;
          PetscReal       *st, *old, *ref, *bat, *start, V0, dt = idt ? 0 : 20.0;
          PetscReal        V[37], T[37];
          PetscInt         ns;
          TCCellResult     r, rref[37], rbat[37];
          PetscBool        conv, okref[37], okbat[37];
          const PetscReal *po[37], *pg[37];
          PetscReal       *pn[37];
          if (m != TC_CELL_SPME && s > 0) continue;
          PetscCall(MidState((TCCellModel)m, 8, &cell, &st));
          PetscCall(TCCellGetStateSize(cell, &ns, NULL));
          PetscCall(PetscMalloc4(NE * ns, &old, NE * ns, &ref, NE * ns, &bat, NE * ns, &start));
          PetscCall(TCCellStep(cell, st, TC_CELL_CURRENT, 5.0, 298.15, 20.0, ref, &r, &conv));
          V0 = r.V_V;
          for (PetscInt e = 0; e < NE; e++) {
            PetscReal q = (PetscReal)e / (NE - 1), Vg = 0;
            V[e] = V0 - 0.08 + 0.2 * q * q;
            T[e] = 285 + 30 * PetscSinReal(5.0 * e) * PetscSinReal(5.0 * e);
            PetscCall(PetscArraycpy(old + e * ns, st, ns));
            PetscCall(PetscArraycpy(start + e * ns, st, ns));
            switch (e % 4) { /* 0: from the old state */
            case 1:
              Vg = V[e] + 0.002;
              break;
            case 2:
              Vg = V[e] - 0.05;
              break;
            case 3:
              Vg = V[e];
              break;
            }
            if (e % 4) {
              PetscCall(TCCellStep(cell, st, TC_CELL_VOLTAGE, Vg, e % 8 == 7 ? 300 : T[e],
                                   e % 4 == 3 ? dt : 20.0, start + e * ns, &r, &conv));
              PetscCheck(conv, PETSC_COMM_SELF, PETSC_ERR_PLIB, "guess %" PetscInt_FMT " failed",
                         e);
            }
          }
          if (lim) PetscCall(TCCellSetTolerances(cell, 1e-10, 3));
          if (m == TC_CELL_SPME) (start + 5 * ns)[ns - 1] = -1; /* element 5: fails at once */
          PetscCall(PetscArraycpy(ref, start, NE * ns));
          PetscCall(PetscMemzero(rref, sizeof(rref)));
          for (PetscInt e = 0; e < NE; e++)
            PetscCall(TCCellStepGuess(cell, old + e * ns, ref + e * ns, TC_CELL_VOLTAGE, V[e], T[e],
                                      dt, ref + e * ns, &rref[e], &okref[e]));
          for (int ib = 0; ib < 4; ib++) {
            PetscCall(PetscArraycpy(bat, start, NE * ns));
            PetscCall(PetscMemzero(rbat, sizeof(rbat)));
            for (PetscInt e0 = 0; e0 < NE; e0 += blocks[ib]) {
              PetscInt nb = PetscMin(blocks[ib], NE - e0);
              for (PetscInt b = 0; b < nb; b++) {
                po[b] = old + (e0 + b) * ns;
                pn[b] = bat + (e0 + b) * ns;
                pg[b] = pn[b];
              }
              PetscCall(TCCellStepGuessBatch(cell, nb, po, pg, V + e0, T + e0, dt, pn, rbat + e0,
                                             okbat + e0));
            }
            for (PetscInt e = 0; e < NE; e++) {
              PetscBool same =
                  (PetscBool)(okbat[e] == okref[e] &&
                              !memcmp(ref + e * ns, bat + e * ns, sizeof(PetscReal) * ns));
              if (okref[e]) {
                const TCCellResult *a = &rref[e], *b = &rbat[e];
                same = (PetscBool)(same && SameResult(a, b));
                if (ib == 0 && m == TC_CELL_SPME) nits[PetscMin(a->newton_its, 31)]++;
              } else if (ib == 0) {
                nfail++;
                if (lim && e != 5) nlim++;
              }
              PetscCheck(same, PETSC_COMM_SELF, PETSC_ERR_PLIB,
                         "%s %s dt %g, maxit %s, block %" PetscInt_FMT ", element %" PetscInt_FMT
                         ": batch differs from TCCellStepGuess (converged %d vs %d, I %.17g vs "
                         "%.17g, its %" PetscInt_FMT " vs %" PetscInt_FMT ")",
                         sets[s], TCCellModels[m], (double)dt, lim ? "3" : "default", blocks[ib], e,
                         (int)okbat[e], (int)okref[e], (double)rbat[e].I_A, (double)rref[e].I_A,
                         rbat[e].newton_its, rref[e].newton_its);
              ncmp++;
            }
          }
          if (m == TC_CELL_SPME)
            PetscCheck(!okref[5], PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: element 5 converged",
                       sets[s]);
          PetscCall(PetscFree4(old, ref, bat, start));
          PetscCall(PetscFree(st));
          PetscCall(TCCellDestroy(&cell));
        }
  }
  {
    PetscInt kinds = 0;
    for (int i = 0; i < 32; i++) kinds += nits[i] > 0;
    for (int i = 5; i < 32; i++) n5 += nits[i];
    PetscCheck(nfail > 0 && nlim > 0 && kinds >= 3 && nits[1] > 0 && n5 > 0, PETSC_COMM_SELF,
               PETSC_ERR_PLIB,
               "guess batch: %" PetscInt_FMT " failures (%" PetscInt_FMT
               " at the iteration limit), %" PetscInt_FMT " different iteration counts: the "
               "cases do not exercise the masked lanes",
               nfail, nlim, kinds);
  }
  PetscCall(TCPrintf(PETSC_COMM_SELF,
                     "guess batch: %" PetscInt_FMT " element solves in blocks of 1, 4, 7 "
                     "and 37 bit for bit TCCellStepGuess's (%" PetscInt_FMT
                     " failures agreed, %" PetscInt_FMT " at the iteration limit); SPMe Newton "
                     "iterations 1/2/3/4/5+: %" PetscInt_FMT "/%" PetscInt_FMT "/%" PetscInt_FMT
                     "/%" PetscInt_FMT "/%" PetscInt_FMT "\n",
                     ncmp, nfail, nlim, nits[1], nits[2], nits[3], nits[4], n5));
  PetscFunctionReturn(0);
}

static PetscErrorCode Bench(PetscInt nx, PetscInt nr)
{
  PetscFunctionBeginUser;
  for (int m = 0; m < 3; m++) {
    TCCell         cell;
    PetscReal     *st, *nw;
    PetscInt       ns, nrep = m == 0 ? 200000 : (m == 1 ? 20000 : 2000), its = 0;
    size_t         bytes;
    TCCellResult   r;
    PetscBool      conv;
    PetscLogDouble tI = 0, tV = 0;
    PetscReal      Vt;
    PetscInt       itsv = 0;
    TCCellResult   rv;
    PetscCall(MakeCell((TCCellModel)m, 20, &cell, &st));
    PetscCall(TCCellSetGrid(cell, nx, nx, nx, nr, nr));
    PetscCall(TCCellSetUp(cell));
    PetscCall(PetscFree(st));
    PetscCall(TCCellGetStateSize(cell, &ns, &bytes));
    PetscCall(PetscMalloc1(ns, &st));
    PetscCall(TCCellStateInit(cell, -1, P.T_amb, st));
    {
      TCExperimentSummary sum;
      PetscCall(RunExperiment(cell, st, "Discharge at 1C for 30 minutes", 0, NULL, &sum));
    }
    PetscCall(TCCellGetStateSize(cell, &ns, &bytes));
    PetscCall(PetscMalloc1(ns, &nw));
    /* best of 5 batches: the development machine is shared */
    for (int b = 0; b < 5; b++) {
      PetscLogDouble a0, a1, a2;
      its = 0;
      PetscCall(PetscTime(&a0));
      for (PetscInt i = 0; i < nrep / 5; i++) {
        PetscCall(TCCellStep(cell, st, TC_CELL_CURRENT, 5.0, 298.15, 10.0, nw, &r, &conv));
        its += r.newton_its;
      }
      PetscCall(PetscTime(&a1));
      Vt = r.V_V - 0.01;
      for (PetscInt i = 0; i < nrep / 5; i++) {
        PetscCall(TCCellStep(cell, st, TC_CELL_VOLTAGE, Vt, 298.15, 10.0, nw, &rv, &conv));
        itsv += b == 0 ? rv.newton_its : 0;
      }
      PetscCall(PetscTime(&a2));
      tI = b == 0 ? a1 - a0 : PetscMin(tI, a1 - a0);
      tV = b == 0 ? a2 - a1 : PetscMin(tV, a2 - a1);
    }
    nrep /= 5;
    PetscCall(
        TCPrintf(PETSC_COMM_SELF,
                 "bench %s: %zu bytes of state per element (%" PetscInt_FMT " reals), %.2f us per "
                 "element step at fixed current (%.1f Newton iterations), %.2f us at fixed "
                 "voltage (%.1f iterations; the network solver's case), dt 10 s, %" PetscInt_FMT
                 " cells per region, %" PetscInt_FMT " shells\n",
                 TCCellModels[m], bytes, ns, (double)(1e6 * tI / nrep), (double)its / (double)nrep,
                 (double)(1e6 * tV / nrep), (double)itsv / (double)nrep, nx, nr));
    PetscCall(PetscFree(nw));
    PetscCall(PetscFree(st));
    PetscCall(TCCellDestroy(&cell));
  }
  PetscFunctionReturn(0);
}

/* the element updates of bench/flops.sh, in a function of their own so that
   callgrind can count its instructions alone (--toggle-collect=KernelRun) */
/* the kernel's modes: one Newton update (TCCellStepUpdateBatch or
   TCCellStepUpdate), a converged solve from a warm start (TCCellStepGuessBatch
   or TCCellStepGuess) */
enum { KERNEL_BATCH, KERNEL_SINGLE, KERNEL_GUESS, KERNEL_GUESS1 };
static const char *const kernel_modes[] = {"batch", "single", "guess", "guess1"};

static PetscErrorCode __attribute__((noinline))
KernelRun(TCCell cell, PetscInt nb, PetscInt nrep, int mode, const PetscReal *const po[],
          PetscReal *const pi[], PetscReal *const ps[], const PetscReal *start, PetscInt ns,
          const PetscReal V[], const PetscReal T[], TCCellResult res[], PetscReal upd[],
          PetscBool ok[])
{
  PetscFunctionBeginUser;
  for (PetscInt rep = 0; rep < nrep; rep++) {
    for (PetscInt b = 0; b < nb; b++) PetscCall(PetscArraycpy(pi[b], start + b * ns, ns));
    if (mode == KERNEL_BATCH)
      PetscCall(TCCellStepUpdateBatch(cell, nb, po, pi, V, T, 10.0, pi, res, upd, ps, ok));
    else if (mode == KERNEL_SINGLE)
      for (PetscInt b = 0; b < nb; b++)
        PetscCall(TCCellStepUpdate(cell, po[b], pi[b], TC_CELL_VOLTAGE, V[b], T[b], 10.0, pi[b],
                                   &res[b], &upd[b], ps[b], &ok[b]));
    else if (mode == KERNEL_GUESS)
      PetscCall(TCCellStepGuessBatch(cell, nb, po, (const PetscReal *const *)pi, V, T, 10.0, pi,
                                     res, ok));
    else
      for (PetscInt b = 0; b < nb; b++)
        PetscCall(TCCellStepGuess(cell, po[b], pi[b], TC_CELL_VOLTAGE, V[b], T[b], 10.0, pi[b],
                                  &res[b], &ok[b]));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode Kernel(PetscInt nb, PetscInt nrep, int mode, TCCellModel model)
{
  TCCell              cell;
  PetscReal          *st, *old, *it, *start, *sens, *V, *T, *upd, best = PETSC_MAX_REAL;
  PetscInt            ns, nsens;
  size_t              bytes;
  TCCellResult        r, *res;
  PetscBool           conv, *ok;
  const PetscReal   **po;
  PetscReal         **pi, **ps;
  TCExperimentSummary sum;

  PetscFunctionBeginUser;
  PetscCall(TCCellCreate(PETSC_COMM_SELF, &cell));
  PetscCall(TCCellSetParams(cell, &P));
  PetscCall(TCCellSetModel(cell, model));
  PetscCall(TCCellSetGrid(cell, 8, 4, 8, 20, 20)); /* the roll's element grid */
  PetscCall(TCCellSetUp(cell));
  PetscCall(TCCellGetStateSize(cell, &ns, &bytes));
  PetscCall(TCCellGetSensitivitySize(cell, &nsens));
  PetscCall(PetscMalloc1(ns, &st));
  PetscCall(TCCellStateInit(cell, -1, P.T_amb, st));
  PetscCall(RunExperiment(cell, st, "Discharge at 1C for 30 minutes", 0, NULL, &sum));
  PetscCall(PetscMalloc5(nb * ns, &old, nb * ns, &it, nb * ns, &start, nb * nsens, &sens, nb, &V));
  PetscCall(PetscMalloc4(nb, &T, nb, &upd, nb, &res, nb, &ok));
  PetscCall(PetscMalloc3(nb, &po, nb, &pi, nb, &ps));
  PetscCall(TCCellStep(cell, st, TC_CELL_CURRENT, P.Q_nom_Ah, P.T_amb, 10.0, it, &r, &conv));
  for (PetscInt b = 0; b < nb;
       b++) { /* elements of a roll: a spread of voltages and temperatures */
    V[b] = r.V_V - 0.002 * (b % 7);
    T[b] = P.T_amb + 0.1 * (b % 11);
    PetscCall(PetscArraycpy(old + b * ns, st, ns));
    PetscCall(PetscArraycpy(start + b * ns, it, ns)); /* the step's first iterate */
    if (mode >= KERNEL_GUESS) { /* a converged solve from the solve at a nearby voltage */
      PetscCall(TCCellStep(cell, st, TC_CELL_VOLTAGE, V[b] + 0.001, T[b], 10.0, start + b * ns,
                           NULL, &conv));
      PetscCheck(conv, PETSC_COMM_SELF, PETSC_ERR_PLIB, "start %" PetscInt_FMT " failed", b);
    }
    po[b] = old + b * ns;
    pi[b] = it + b * ns;
    ps[b] = sens + b * nsens;
  }
  for (int k = 0; k < 5; k++) { /* best of 5: the machine is shared */
    PetscLogDouble  c0, c1;
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    c0 = ts.tv_sec + 1e-9 * ts.tv_nsec;
    PetscCall(KernelRun(cell, nb, nrep, mode, po, pi, ps, start, ns, V, T, res, upd, ok));
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    c1   = ts.tv_sec + 1e-9 * ts.tv_nsec;
    best = PetscMin(best, (PetscReal)(c1 - c0));
  }
  for (PetscInt b = 0; b < nb; b++)
    PetscCheck(ok[b], PETSC_COMM_SELF, PETSC_ERR_PLIB, "element %" PetscInt_FMT " failed", b);
  PetscCall(TCPrintf(PETSC_COMM_SELF,
                     "kernel %s %s: %" PetscInt_FMT " %s per run, %.4f us CPU per %s (best of "
                     "5 runs), state %zu bytes, sensitivity %zu bytes, update %.2e, Newton "
                     "iterations %" PetscInt_FMT "\n",
                     TCCellModels[model], kernel_modes[mode], nb * nrep,
                     mode >= KERNEL_GUESS ? "solves" : "updates",
                     (double)(1e6 * best / (nb * nrep)), mode >= KERNEL_GUESS ? "solve" : "update",
                     bytes, (size_t)nsens * sizeof(PetscReal),
                     (double)(mode >= KERNEL_GUESS ? 0 : upd[0]), res[0].newton_its));
  PetscCall(PetscFree3(po, pi, ps));
  PetscCall(PetscFree4(T, upd, res, ok));
  PetscCall(PetscFree5(old, it, start, sens, V));
  PetscCall(PetscFree(st));
  PetscCall(TCCellDestroy(&cell));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const char *c;

  PetscFunctionBeginUser;
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(TCInitialize());
  PetscCheck(argc >= 2, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "usage: test_cell CASE");
  c = argv[1];
  PetscCall(TCCellParamsLoad("chen2020", &P));
  if (!strcmp(c, "conservation"))
    PetscCall(TestConservation());
  else if (!strcmp(c, "ocv"))
    PetscCall(TestOCV());
  else if (!strcmp(c, "agree"))
    PetscCall(TestAgree());
  else if (!strcmp(c, "jacobian"))
    PetscCall(TestJacobian());
  else if (!strcmp(c, "didv"))
    PetscCall(TestDIDV());
  else if (!strcmp(c, "update"))
    PetscCall(TestUpdate());
  else if (!strcmp(c, "heat"))
    PetscCall(TestHeat());
  else if (!strcmp(c, "window"))
    PetscCall(TestWindow());
  else if (!strcmp(c, "grid"))
    PetscCall(TestGrid());
  else if (!strcmp(c, "step"))
    PetscCall(TestStep());
  else if (!strcmp(c, "func"))
    PetscCall(TestFunc());
  else if (!strcmp(c, "kernel")) {
    int mode = KERNEL_BATCH;
    for (int k = 0; k < 4 && argc > 4; k++)
      if (!strcmp(argv[4], kernel_modes[k])) mode = k;
    PetscCall(Kernel(argc > 2 ? atoi(argv[2]) : 64, argc > 3 ? atoi(argv[3]) : 100, mode,
                     argc > 5 && !strcmp(argv[5], "dfn") ? TC_CELL_DFN : TC_CELL_SPME));
  } else if (!strcmp(c, "batch"))
    PetscCall(TestBatch());
  else if (!strcmp(c, "bench"))
    PetscCall(Bench(argc > 2 ? atoi(argv[2]) : 20, argc > 3 ? atoi(argv[3]) : 20));
  else
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "unknown case %s", c);
  PetscCall(TCCellParamsDestroy(&P));
  PetscCall(PetscFinalize());
  return 0;
}
