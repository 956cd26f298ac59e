/*
 * Abuse-kinetics checks (solver/abuse, solver/abusenode) on the Kim et al.
 * 2007 set (inputs/params/abuse_kim2007.json: Kim et al., J. Power Sources
 * 170 (2007) 476, Table 1, with the Hatchard et al. 2001 kinetics):
 *
 *   arc     ARC heat-wait-seek (50 C start, 5 K steps, 15 min wait, 10 min
 *           seek, 0.02 K/min detection), adiabatic node:
 *           - the exotherm is detected between T*, where the fresh cell's
 *             self-heating rate q/(rho cp) equals 0.02 K/min (computed from
 *             the set's Table 1 SEI and negative kinetics alone), and T* +
 *             one 5 K step + 2 K (what the node self-heats during the wait
 *             and seek of the detecting step, ~0.03 K/min x 25 min, with
 *             margin); and inside 80-100 C, the onset of SEI decomposition
 *             of lithiated graphite in ARC that the SEI kinetics of this set
 *             were fitted to (Hatchard et al. 2001, from Richard and Dahn
 *             1999, J. Electrochem. Soc. 146, 2068: self-heating from ~80 C)
 *           - runaway (10 K/min) at or above T_lo, the temperature where
 *             the largest self-heating any reachable state can have (all
 *             reactants fresh, positive conversion at its fastest, 0.5)
 *             reaches 10 K/min: a hard lower bound from Table 1
 *           - the maximum self-heating rate is at least 10 K/min, at most
 *             that largest rate at the peak temperature, and the same within
 *             5 % when the step tolerance is 5 times tighter (it is a
 *             resolved property of the model, not of the steps: measured
 *             difference 0.6 %)
 *           - adiabatic: the peak temperature is the start temperature plus
 *             (heater energy + reactant enthalpy consumed) / rho cp to 1e-8
 *             relative (backward Euler conserves energy per step; what is
 *             left is the Newton tolerance 1e-11 K summed over ~2000 steps)
 *   oven    18650 node (h A / V from the set), 5 K/min ramp: no runaway in
 *           24 h at 406 K, where the positive electrode is spent by then
 *           (alpha > 0.99), so none can come later; runaway at 407 K; the
 *           onset time falls strictly as the oven gets hotter (410 to 450
 *           K in 10 K steps)
 *   energy  integral of q dt equals the enthalpy of the reactants consumed
 *           to 1e-10 relative: over 2000 random TCAbuseStep calls (random
 *           dt from 1e-6 to 1e6 s, T from 300 to 1200 K) and over the ARC
 *           and oven runs; and the node's heat balance rho cp (T_end -
 *           T_start) = released + heater - loss to 1e-8 relative (Newton
 *           tolerance, as above)
 *   step    any dt (1e-9 to 1e9 s) and T (250 to 2500 K): states stay in
 *           range and move the right way; dq/dT against a centred finite
 *           difference (h = 1e-4 K): 1e-5 relative (truncation h^2 q''' /
 *           6 is ~1e-8 relative), plus a floor of 1e-9 q / T for steps that
 *           consume everything (there dq/dT -> 0), plus the round-off of q
 *           itself: q is a difference of states, each known to an ulp, so
 *           q carries 2 eps E0 / dt and its difference quotient 4 eps E0 /
 *           (dt h), which dominates when k dt < ~1e-10
 *   soc     TCAbuseStateInit: fully charged = the set's values; a set with
 *           zero-SOC values interpolates linearly (exact to 1e-15); the
 *           Kim set refuses SOC < 1
 */
#include "solver/abusenode.h"
#include "src/tc.h"
#include <math.h>
#include <stdlib.h>

static TCAbuseSet S;

/* self-heating rate of state x at T, K/s */
static PetscErrorCode SHR(const PetscReal x[], PetscReal rho_cp, PetscReal T, PetscReal *r)
{
  PetscReal q;

  PetscFunctionBeginUser;
  PetscCall(TCAbuseHeatRate(S, x, T, &q));
  *r = q / rho_cp;
  PetscFunctionReturn(0);
}

/* T in [lo, hi] where SHR(x, T) = target (SHR rises with T) */
static PetscErrorCode SHRInverse(const PetscReal x[], PetscReal rho_cp, PetscReal target,
                                 PetscReal *T)
{
  PetscReal lo = 200, hi = 1500, r = 0;

  PetscFunctionBeginUser;
  for (int i = 0; i < 100; i++) {
    PetscReal mid = 0.5 * (lo + hi);
    PetscCall(SHR(x, rho_cp, mid, &r));
    if (r < target)
      lo = mid;
    else
      hi = mid;
  }
  *T = 0.5 * (lo + hi);
  PetscFunctionReturn(0);
}

static PetscErrorCode NodeOptions(TCAbuseProtocol p, TCAbuseNodeOptions *o)
{
  TCAbuseCellData cd;

  PetscFunctionBeginUser;
  PetscCall(TCAbuseNodeOptionsDefault(p, o));
  PetscCall(TCAbuseSetGetCell(S, &cd));
  PetscCheck(cd.rho_cp_J_m3K > 0 && cd.area_m2 > 0 && cd.volume_m3 > 0, PETSC_COMM_SELF,
             PETSC_ERR_PLIB, "the Kim set lost its Cell section");
  o->rho_cp_J_m3K = cd.rho_cp_J_m3K;
  o->hAV_W_m3K    = cd.h_W_m2K * cd.area_m2 / cd.volume_m3;
  o->T_init_K     = cd.T_init_K;
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckEnergy(const char *what, const TCAbuseNodeOptions *o,
                                  const TCAbuseNodeResult *r)
{
  PetscReal sens = o->rho_cp_J_m3K * (r->T_end_K - r->T_start_K);
  PetscReal bal  = r->released_J_m3 + r->heater_J_m3 - r->loss_J_m3;
  PetscReal e1   = PetscAbsReal(r->released_J_m3 - r->consumed_J_m3) / r->consumed_J_m3;
  PetscReal e2 =
      PetscAbsReal(sens - bal) / PetscMax(PetscAbsReal(r->released_J_m3), PetscAbsReal(sens));

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "%s: released %.10e J/m^3, consumed %.10e J/m^3 (rel. diff %.2e); heat "
                        "balance rel. diff %.2e\n",
                        what, (double)r->released_J_m3, (double)r->consumed_J_m3, (double)e1,
                        (double)e2));
  PetscCheck(e1 <= 1e-10, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "%s: heat released differs from the enthalpy consumed by %g relative", what,
             (double)e1);
  PetscCheck(e2 <= 1e-8, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "%s: node heat balance off by %g relative", what, (double)e2);
  PetscFunctionReturn(0);
}

static PetscErrorCode TestARC(void)
{
  TCAbuseNodeOptions o;
  TCAbuseNodeResult  r, rt;
  PetscReal          x0[TC_ABUSE_NSTATE], xmax[TC_ABUSE_NSTATE], Tstar, Tlo, rmax;

  PetscFunctionBeginUser;
  PetscCall(NodeOptions(TC_ABUSE_PROTOCOL_ARC, &o));
  PetscCall(TCAbuseStateInit(S, 1, x0));
  PetscCall(SHRInverse(x0, o.rho_cp_J_m3K, o.arc_detect_K_s, &Tstar));
  for (int j = 0; j < TC_ABUSE_NSTATE; j++) xmax[j] = x0[j];
  xmax[TC_ABUSE_ALPHA] = 0.5;
  PetscCall(SHRInverse(xmax, o.rho_cp_J_m3K, o.runaway_rate_K_s, &Tlo));
  PetscCall(TCAbuseNodeRun(S, &o, NULL, NULL, &r));
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "ARC: exotherm detected at %.2f K (%.2f C, %.4f K/min; T* = %.2f K); "
                        "runaway (10 K/min) at %.2f K after %.0f s (bound >= %.2f K); peak %.2f "
                        "K; max self-heating %.4g K/min; %d steps, %d rejected\n",
                        (double)r.exotherm_T_K, (double)(r.exotherm_T_K - 273.15),
                        (double)(r.exotherm_rate_K_s * 60), (double)Tstar, (double)r.onset_T_K,
                        (double)r.onset_time_s, (double)Tlo, (double)r.peak_T_K,
                        (double)(r.max_self_heating_K_s * 60), (int)r.nsteps, (int)r.nrejected));
  PetscCheck(r.exotherm, PETSC_COMM_SELF, PETSC_ERR_PLIB, "ARC: no exotherm detected");
  PetscCheck(r.exotherm_T_K >= Tstar && r.exotherm_T_K <= Tstar + o.arc_step_K + 2, PETSC_COMM_SELF,
             PETSC_ERR_PLIB, "ARC: exotherm at %g K, expected in [T*, T* + 7 K] = [%g, %g] K",
             (double)r.exotherm_T_K, (double)Tstar, (double)(Tstar + o.arc_step_K + 2));
  PetscCheck(r.exotherm_T_K >= 353.15 && r.exotherm_T_K <= 373.15, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "ARC: exotherm at %g K outside the SEI onset range 80-100 C", (double)r.exotherm_T_K);
  PetscCheck(r.runaway && r.onset_T_K >= Tlo, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "ARC: runaway %s at %g K, below the bound %g K", r.runaway ? "" : "(none)",
             (double)r.onset_T_K, (double)Tlo);
  PetscCall(SHR(xmax, o.rho_cp_J_m3K, r.peak_T_K, &rmax));
  PetscCheck(r.max_self_heating_K_s >= o.runaway_rate_K_s && r.max_self_heating_K_s <= rmax,
             PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "ARC: max self-heating %g K/s outside [10 K/min, %g K/s]",
             (double)r.max_self_heating_K_s, (double)rmax);
  {
    TCAbuseNodeOptions ot = o;
    PetscReal          d;
    ot.tol_K = o.tol_K / 5;
    PetscCall(TCAbuseNodeRun(S, &ot, NULL, NULL, &rt));
    d = PetscAbsReal(rt.max_self_heating_K_s - r.max_self_heating_K_s) / rt.max_self_heating_K_s;
    PetscCall(PetscPrintf(PETSC_COMM_SELF,
                          "ARC, tol %.3g K: max self-heating %.4g K/min (rel. diff %.2e), runaway "
                          "at %.2f K\n",
                          (double)ot.tol_K, (double)(rt.max_self_heating_K_s * 60), (double)d,
                          (double)rt.onset_T_K));
    PetscCheck(d <= 0.05, PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "ARC: max self-heating rate not resolved: %g relative change with tol/5", (double)d);
  }
  {
    PetscReal Tad = r.T_start_K + (r.heater_J_m3 + r.consumed_J_m3) / o.rho_cp_J_m3K;
    PetscCheck(PetscAbsReal(r.peak_T_K - Tad) <= 1e-8 * Tad, PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "ARC: peak %.10g K is not the adiabatic temperature %.10g K", (double)r.peak_T_K,
               (double)Tad);
  }
  PetscCall(CheckEnergy("ARC", &o, &r));
  PetscFunctionReturn(0);
}

static PetscErrorCode Oven(PetscReal T_oven, TCAbuseNodeResult *r)
{
  TCAbuseNodeOptions o;

  PetscFunctionBeginUser;
  PetscCall(NodeOptions(TC_ABUSE_PROTOCOL_OVEN, &o));
  o.oven_T_K = T_oven;
  PetscCall(TCAbuseNodeRun(S, &o, NULL, NULL, r));
  PetscCall(CheckEnergy("oven", &o, r));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestOven(void)
{
  TCAbuseNodeResult r;
  PetscReal         prev = PETSC_MAX_REAL;

  PetscFunctionBeginUser;
  PetscCall(Oven(406, &r));
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "oven 406 K: %s, peak %.2f K, max self-heating %.4g K/min\n",
                        r.runaway ? "runaway" : "no runaway", (double)r.peak_T_K,
                        (double)(r.max_self_heating_K_s * 60)));
  PetscCheck(!r.runaway, PETSC_COMM_SELF, PETSC_ERR_PLIB, "oven 406 K: runaway at %g s",
             (double)r.onset_time_s);
  PetscCall(Oven(407, &r));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "oven 407 K: %s at %.1f s, %.2f K\n",
                        r.runaway ? "runaway" : "no runaway", (double)r.onset_time_s,
                        (double)r.onset_T_K));
  PetscCheck(r.runaway, PETSC_COMM_SELF, PETSC_ERR_PLIB, "oven 407 K: no runaway");
  for (PetscReal T = 410; T <= 450; T += 10) {
    PetscCall(Oven(T, &r));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "oven %.0f K: runaway at %.1f s, %.2f K, peak %.2f K\n",
                          (double)T, (double)r.onset_time_s, (double)r.onset_T_K,
                          (double)r.peak_T_K));
    PetscCheck(r.runaway && r.onset_time_s < prev, PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "oven %g K: runaway %s at %g s, not sooner than %g s", (double)T,
               r.runaway ? "" : "(none)", (double)r.onset_time_s, (double)prev);
    prev = r.onset_time_s;
  }
  PetscFunctionReturn(0);
}

/* the positive conversion at the end of a 406 K oven run, for TestOven */
static PetscErrorCode EndMonitor(const TCAbuseNodeSample *s, void *ctx)
{
  *(PetscReal *)ctx = s->x[TC_ABUSE_ALPHA];
  return 0;
}

static PetscErrorCode TestOvenSpent(void)
{
  TCAbuseNodeOptions o;
  TCAbuseNodeResult  r;
  PetscReal          alpha = 0;

  PetscFunctionBeginUser;
  PetscCall(NodeOptions(TC_ABUSE_PROTOCOL_OVEN, &o));
  o.oven_T_K = 406;
  PetscCall(TCAbuseNodeRun(S, &o, EndMonitor, &alpha, &r));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "oven 406 K after %.0f s: alpha %.6f\n", (double)r.t_end_s,
                        (double)alpha));
  PetscCheck(!r.runaway && alpha > 0.99, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "oven 406 K: the positive electrode is not spent (alpha %g), a later runaway is "
             "possible",
             (double)alpha);
  PetscFunctionReturn(0);
}

static PetscReal Uniform(PetscReal a, PetscReal b)
{
  return a + (b - a) * ((PetscReal)rand() / RAND_MAX);
}

static PetscErrorCode TestEnergy(void)
{
  PetscReal x[TC_ABUSE_NSTATE], E0, E1, sum = 0;

  PetscFunctionBeginUser;
  srand(12345);
  PetscCall(TCAbuseStateInit(S, 1, x));
  PetscCall(TCAbuseStoredEnthalpy(S, x, &E0));
  for (int i = 0; i < 2000; i++) {
    PetscReal dt = PetscPowReal(10, Uniform(-6, 6)), T = Uniform(300, 1200), q;
    /* mostly gentle temperatures, so that the reactants last many steps */
    if (i % 10) T = Uniform(300, 450);
    PetscCall(TCAbuseStep(S, x, T, dt, x, &q, NULL));
    sum += q * dt;
  }
  PetscCall(TCAbuseStoredEnthalpy(S, x, &E1));
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "random steps: released %.12e J/m^3, consumed %.12e J/m^3 (rel. diff "
                        "%.2e), %.4f of the stored enthalpy\n",
                        (double)sum, (double)(E0 - E1),
                        (double)(PetscAbsReal(sum - (E0 - E1)) / (E0 - E1)),
                        (double)((E0 - E1) / E0)));
  PetscCheck(PetscAbsReal(sum - (E0 - E1)) <= 1e-10 * (E0 - E1), PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "random steps: released %g vs consumed %g", (double)sum, (double)(E0 - E1));
  {
    TCAbuseNodeOptions o;
    TCAbuseNodeResult  r;
    PetscCall(NodeOptions(TC_ABUSE_PROTOCOL_ARC, &o));
    PetscCall(TCAbuseNodeRun(S, &o, NULL, NULL, &r));
    PetscCall(CheckEnergy("ARC", &o, &r));
    PetscCall(Oven(430, &r));
    PetscCall(Oven(380, &r));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode TestStep(void)
{
  PetscReal x0[TC_ABUSE_NSTATE], xs[3][TC_ABUSE_NSTATE], worst = 0, E0;
  PetscInt  n = 0, nrel = 0;

  PetscFunctionBeginUser;
  PetscCall(TCAbuseStateInit(S, 1, x0));
  PetscCall(TCAbuseStoredEnthalpy(S, x0, &E0));
  /* a fresh state and two partly reacted ones */
  for (int j = 0; j < TC_ABUSE_NSTATE; j++) xs[0][j] = xs[1][j] = xs[2][j] = x0[j];
  PetscCall(TCAbuseStep(S, x0, 420, 600, xs[1], NULL, NULL));
  PetscCall(TCAbuseStep(S, x0, 470, 300, xs[2], NULL, NULL));
  for (int s = 0; s < 3; s++)
    for (PetscReal lg = -9; lg <= 9; lg += 0.5)
      for (PetscReal T = 250; T <= 2500; T *= 1.15) {
        PetscReal dt = PetscPowReal(10, lg), xn[TC_ABUSE_NSTATE], xp[TC_ABUSE_NSTATE], q, dq, qp,
                  qm, h = 1e-4, fd, err;
        const PetscReal *xo = xs[s];
        PetscCall(TCAbuseStep(S, xo, T, dt, xn, &q, &dq));
        for (int j = 0; j < TC_ABUSE_NSTATE; j++) {
          PetscReal lo = 0, hi = 1;
          if (j == TC_ABUSE_Z_SEI) lo = x0[j], hi = x0[j] + x0[TC_ABUSE_C_NEG];
          PetscCheck(xn[j] >= lo && xn[j] <= hi && isfinite(xn[j]), PETSC_COMM_SELF, PETSC_ERR_PLIB,
                     "dt %g T %g: %s = %.17g outside [%g, %g]", (double)dt, (double)T,
                     TCAbuseStateNames[j], (double)xn[j], (double)lo, (double)hi);
        }
        PetscCheck(
            xn[TC_ABUSE_C_SEI] <= xo[TC_ABUSE_C_SEI] && xn[TC_ABUSE_C_NEG] <= xo[TC_ABUSE_C_NEG] &&
                xn[TC_ABUSE_C_E] <= xo[TC_ABUSE_C_E] && xn[TC_ABUSE_ALPHA] >= xo[TC_ABUSE_ALPHA] &&
                xn[TC_ABUSE_Z_SEI] >= xo[TC_ABUSE_Z_SEI],
            PETSC_COMM_SELF, PETSC_ERR_PLIB, "dt %g T %g: a reaction ran backwards", (double)dt,
            (double)T);
        PetscCheck(q >= 0 && isfinite(q) && isfinite(dq) && dq >= 0, PETSC_COMM_SELF,
                   PETSC_ERR_PLIB, "dt %g T %g: q %g dq/dT %g", (double)dt, (double)T, (double)q,
                   (double)dq);
        PetscCall(TCAbuseStep(S, xo, T + h, dt, xp, &qp, NULL));
        PetscCall(TCAbuseStep(S, xo, T - h, dt, xp, &qm, NULL));
        fd = (qp - qm) / (2 * h);
        /* q is a difference of states, known to an ulp of each: E0 eps / dt */
        err = PetscAbsReal(fd - dq) /
              (1e-5 * PetscAbsReal(dq) + 1e-9 * q / T + 4 * PETSC_MACHINE_EPSILON * E0 / (dt * h));
        worst = PetscMax(worst, err);
        n++;
        if (1e-5 * PetscAbsReal(dq) > 1e-9 * q / T + 4 * PETSC_MACHINE_EPSILON * E0 / (dt * h))
          nrel++;
        PetscCheck(err <= 1, PETSC_COMM_SELF, PETSC_ERR_PLIB,
                   "dt %g T %g state %d: dq/dT %.10g, finite difference %.10g", (double)dt,
                   (double)T, s, (double)dq, (double)fd);
      }
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "step: %d (state, dt, T) cases in range; dq/dT vs finite difference: "
                        "worst %.3f of the tolerance (%d cases held to 1e-5 relative)\n",
                        (int)n, (double)worst, (int)nrel));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestSOC(const char *dir)
{
  PetscReal      x[TC_ABUSE_NSTATE], x1[TC_ABUSE_NSTATE];
  TCAbuseSet     v;
  char           path[PETSC_MAX_PATH_LEN];
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(TCAbuseStateInit(S, 1, x1));
  PetscCall(TCAbuseStateInit(S, PETSC_DEFAULT, x));
  for (int j = 0; j < TC_ABUSE_NSTATE; j++)
    PetscCheck(x[j] == x1[j], PETSC_COMM_SELF, PETSC_ERR_PLIB, "default state differs");
  PetscCheck(x[0] == 0.15 && x[1] == 0.75 && x[2] == 0.033 && x[3] == 0.04 && x[4] == 1,
             PETSC_COMM_SELF, PETSC_ERR_PLIB, "Kim 2007 initial state is not Table 1's");
  /* the Kim set has no zero-SOC values: an input error, not a guess */
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = TCAbuseStateInit(S, 0.5, x);
  PetscCall(PetscPopErrorHandler());
  PetscCheck(ierr == PETSC_ERR_USER_INPUT, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "SOC 0.5 on a set without zero-SOC values gave error %d", (int)ierr);
  snprintf(path, sizeof(path), "%s/abuse_soc.json", dir);
  PetscCall(TCAbuseSetLoad(path, &v));
  PetscCall(TCAbuseStateInit(v, 0.25, x));
  /* fixture: c_neg 0.75 full, 0.05 empty; alpha 0.04 full, 0.6 empty */
  PetscCheck(PetscAbsReal(x[TC_ABUSE_C_NEG] - (0.05 + 0.25 * 0.7)) <= 1e-15 &&
                 PetscAbsReal(x[TC_ABUSE_ALPHA] - (0.6 - 0.25 * 0.56)) <= 1e-15,
             PETSC_COMM_SELF, PETSC_ERR_PLIB, "SOC 0.25: c_neg %.17g alpha %.17g",
             (double)x[TC_ABUSE_C_NEG], (double)x[TC_ABUSE_ALPHA]);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "soc: SOC 0.25 gives c_neg %.4f, alpha %.4f\n",
                        (double)x[TC_ABUSE_C_NEG], (double)x[TC_ABUSE_ALPHA]));
  PetscCall(TCAbuseSetDestroy(&v));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const char *c;

  PetscFunctionBeginUser;
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(TCInitialize());
  PetscCheck(argc >= 2, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "usage: test_abuse CASE [DIR]");
  c = argv[1];
  PetscCall(TCAbuseSetLoad("kim2007", &S));
  if (!strcmp(c, "arc"))
    PetscCall(TestARC());
  else if (!strcmp(c, "oven")) {
    PetscCall(TestOven());
    PetscCall(TestOvenSpent());
  } else if (!strcmp(c, "energy"))
    PetscCall(TestEnergy());
  else if (!strcmp(c, "step"))
    PetscCall(TestStep());
  else if (!strcmp(c, "soc")) {
    PetscCheck(argc >= 3, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "usage: test_abuse soc DIR");
    PetscCall(TestSOC(argv[2]));
  } else
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "unknown case %s", c);
  PetscCall(TCAbuseSetDestroy(&S));
  PetscCall(PetscFinalize());
  return 0;
}
