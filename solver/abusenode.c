/*
 * One lumped thermal node with abuse kinetics under ARC or oven protocols
 * (see abusenode.h). Phase changes (heater off, seek window end, end of the
 * oven ramp) are hit exactly by shortening the step to them, so the
 * adaptive step never straddles a discontinuity of the right-hand side.
 */
#include "solver/abusenode.h"
#include <math.h>

const char *const TCAbuseProtocols[] = {"arc", "oven"};
const char *const TCAbusePhases[]    = {"heat", "wait", "seek", "track", "oven"};

PetscErrorCode TCAbuseNodeOptionsDefault(TCAbuseProtocol protocol, TCAbuseNodeOptions *o)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(o, sizeof(*o)));
  o->protocol = protocol;
  o->T_init_K = 298.15;
  /* oven: ambient ramp 5 K/min to the oven temperature (Hatchard et al. 2001 oven tests ramp
     the oven and hold it) */
  o->oven_T_K      = 428.15;
  o->oven_ramp_K_s = 5.0 / 60;
  /* ARC heat-wait-seek: the usual settings of commercial calorimeters */
  o->arc_start_K       = 323.15;
  o->arc_step_K        = 5;
  o->arc_heat_rate_K_s = 2.0 / 60;
  o->arc_wait_s        = 15 * 60;
  o->arc_seek_s        = 10 * 60;
  o->arc_detect_K_s    = 0.02 / 60;
  o->arc_end_K         = 573.15;
  o->runaway_rate_K_s  = 10.0 / 60;
  o->t_end_s           = protocol == TC_ABUSE_PROTOCOL_ARC ? 72 * 3600.0 : 24 * 3600.0;
  o->dt_max_s          = 60;
  o->dt_min_s          = 1e-7;
  o->tol_K             = 0.05;
  o->soc               = 1;
  PetscFunctionReturn(0);
}

typedef struct {
  const TCAbuseNodeOptions *o;
  TCAbusePhase              phase;
  PetscReal                 phase_t0, T_target, seek_T0;
} TCAbuseNodeState;

static PetscReal NodeAmbient(const TCAbuseNodeOptions *o, PetscReal t)
{
  if (o->protocol != TC_ABUSE_PROTOCOL_OVEN) return 0;
  if (o->oven_ramp_K_s <= 0) return o->oven_T_K;
  if (o->oven_T_K >= o->T_init_K) return PetscMin(o->T_init_K + o->oven_ramp_K_s * t, o->oven_T_K);
  return PetscMax(o->T_init_K - o->oven_ramp_K_s * t, o->oven_T_K);
}

/* Heater power (W/m^3) and loss coefficient of the current phase. */
static void NodeSources(const TCAbuseNodeState *s, PetscReal *P, PetscReal *hAV)
{
  const TCAbuseNodeOptions *o = s->o;
  *P   = s->phase == TC_ABUSE_PHASE_HEAT ? o->rho_cp_J_m3K * o->arc_heat_rate_K_s : 0;
  *hAV = o->protocol == TC_ABUSE_PROTOCOL_OVEN ? o->hAV_W_m3K : 0;
}

/* Longest step that does not cross the next phase change. */
static PetscReal NodeStepLimit(const TCAbuseNodeState *s, PetscReal t, PetscReal T)
{
  const TCAbuseNodeOptions *o = s->o;
  switch (s->phase) {
  case TC_ABUSE_PHASE_HEAT:
    return PetscMax((s->T_target - T) / o->arc_heat_rate_K_s, o->dt_min_s);
  case TC_ABUSE_PHASE_WAIT:
    return s->phase_t0 + o->arc_wait_s - t;
  case TC_ABUSE_PHASE_SEEK:
    return s->phase_t0 + o->arc_seek_s - t;
  case TC_ABUSE_PHASE_OVEN:
    if (o->oven_ramp_K_s > 0) {
      PetscReal t_hold = PetscAbsReal(o->oven_T_K - o->T_init_K) / o->oven_ramp_K_s;
      if (t < t_hold) return t_hold - t;
    }
    return PETSC_MAX_REAL;
  default:
    return PETSC_MAX_REAL;
  }
}

/* Backward Euler for T and the reactions: Newton on
   F(T) = rho_cp (T - T0)/h - q(T) - P - hAV (Tamb - T). */
static PetscErrorCode NodeImplicitStep(TCAbuseSet set, const TCAbuseNodeState *s, PetscReal t0,
                                       PetscReal T0, const PetscReal x0[], PetscReal h,
                                       PetscReal T_guess, PetscReal *T1, PetscReal x1[],
                                       PetscReal *q, PetscBool *ok)
{
  const TCAbuseNodeOptions *o = s->o;
  PetscReal                 P, hAV, Tamb = NodeAmbient(o, t0 + h), T = T_guess, dq, F, J, dT;

  PetscFunctionBeginUser;
  NodeSources(s, &P, &hAV);
  *ok = PETSC_FALSE;
  for (PetscInt it = 0; it < 60; it++) {
    PetscCall(TCAbuseStep(set, x0, T, h, x1, q, &dq));
    F = o->rho_cp_J_m3K * (T - T0) / h - *q - P - hAV * (Tamb - T);
    J = o->rho_cp_J_m3K / h - dq + hAV;
    /* J <= 0: the step is too long to resolve the ignition (several
       solutions); the caller shortens it */
    if (!(J > 0)) PetscFunctionReturn(0);
    dT = -F / J;
    /* damp: a Newton update of more than 50 K is not trusted */
    if (PetscAbsReal(dT) > 50) dT = dT > 0 ? 50 : -50;
    T += dT;
    if (!(T > 1)) PetscFunctionReturn(0);
    if (PetscAbsReal(dT) <= 1e-11 * T) {
      /* the states and q of the accepted temperature itself */
      PetscCall(TCAbuseStep(set, x0, T, h, x1, q, NULL));
      *T1 = T;
      *ok = PETSC_TRUE;
      PetscFunctionReturn(0);
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCAbuseNodeRun(TCAbuseSet set, const TCAbuseNodeOptions *o, TCAbuseNodeMonitor mon,
                              void *ctx, TCAbuseNodeResult *res)
{
  TCAbuseNodeState  s;
  TCAbuseNodeSample smp;
  PetscReal         t = 0, T, x[TC_ABUSE_NSTATE], x1[TC_ABUSE_NSTATE], dt, released = 0;
  PetscBool         arc = (PetscBool)(o->protocol == TC_ABUSE_PROTOCOL_ARC), done = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCheck(o->rho_cp_J_m3K > 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "the volumetric heat capacity rho*cp must be positive (got %g J/(m^3 K)): the set "
             "has none; give it",
             (double)o->rho_cp_J_m3K);
  PetscCheck(o->dt_max_s > 0 && o->dt_min_s > 0 && o->dt_min_s <= o->dt_max_s && o->tol_K > 0,
             PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "step control: need 0 < dt_min <= dt_max and tol > 0");
  PetscCheck(!arc || (o->arc_step_K > 0 && o->arc_heat_rate_K_s > 0 && o->arc_seek_s > 0 &&
                      o->arc_wait_s >= 0 && o->arc_detect_K_s > 0),
             PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "ARC: the step, heating rate, seek time and detection threshold must be positive");
  PetscCall(PetscMemzero(res, sizeof(*res)));
  PetscCall(TCAbuseStateInit(set, o->soc, x));
  s.o        = o;
  s.phase    = arc ? TC_ABUSE_PHASE_WAIT : TC_ABUSE_PHASE_OVEN;
  s.phase_t0 = 0;
  s.T_target = 0;
  s.seek_T0  = 0;
  T          = arc ? o->arc_start_K : o->T_init_K;
  PetscCall(TCAbuseStoredEnthalpy(set, x, &res->stored_initial_J_m3));
  res->peak_T_K  = T;
  res->T_start_K = T;

  PetscCall(PetscMemzero(&smp, sizeof(smp)));
  smp.T_K     = T;
  smp.T_amb_K = arc ? T : NodeAmbient(o, 0);
  smp.phase   = s.phase;
  for (PetscInt j = 0; j < TC_ABUSE_NSTATE; j++) smp.x[j] = x[j];
  smp.stored_J_m3 = res->stored_initial_J_m3;
  if (mon) PetscCall((*mon)(&smp, ctx));

  dt = PetscMin(1.0, o->dt_max_s);
  while (!done && t < o->t_end_s * (1 - 1e-14)) {
    PetscReal lim = NodeStepLimit(&s, t, T), h = PetscMin(PetscMin(dt, lim), o->t_end_s - t);
    PetscReal qi, P, hAV, r0, Tpred, T1 = T, q = 0, err;
    PetscBool ok, limited = (PetscBool)(h < dt);

    h = PetscMax(h, PetscMin(o->dt_min_s, lim));
    /* explicit Euler predictor: the error estimate and Newton's first guess */
    NodeSources(&s, &P, &hAV);
    PetscCall(TCAbuseHeatRate(set, x, T, &qi));
    r0    = (qi + P + hAV * (NodeAmbient(o, t) - T)) / o->rho_cp_J_m3K;
    Tpred = T + h * r0;
    PetscCall(NodeImplicitStep(set, &s, t, T, x, h, PetscMax(Tpred, 0.5 * T), &T1, x1, &q, &ok));
    if (!ok && Tpred != T) /* retry from the old temperature */
      PetscCall(NodeImplicitStep(set, &s, t, T, x, h, T, &T1, x1, &q, &ok));
    if (!ok) {
      PetscCheck(h > o->dt_min_s * (1 + 1e-12), PETSC_COMM_SELF, PETSC_ERR_NOT_CONVERGED,
                 "abuse node: Newton failed at t = %g s, T = %g K with the smallest step %g s "
                 "(a runaway faster than that step resolves: check the heat capacity rho*cp, %g "
                 "J/(m^3 K))",
                 (double)t, (double)T, (double)h, (double)o->rho_cp_J_m3K);
      res->nrejected++;
      dt = PetscMax(h / 4, o->dt_min_s);
      continue;
    }
    err = 0.5 * PetscAbsReal(T1 - Tpred);
    if (err > o->tol_K && h > o->dt_min_s * (1 + 1e-12)) {
      res->nrejected++;
      dt = PetscMax(h * PetscMax(0.1, 0.9 * PetscSqrtReal(o->tol_K / err)), o->dt_min_s);
      continue;
    }
    /* accepted */
    PetscCall(TCAbuseStepHeat(set, x, x1, h, smp.q_rxn_W_m3));
    t += h;
    T = T1;
    for (PetscInt j = 0; j < TC_ABUSE_NSTATE; j++) x[j] = x1[j];
    released += q * h;
    res->heater_J_m3 += P * h;
    res->loss_J_m3 += hAV * (T1 - NodeAmbient(o, t)) * h;
    res->nsteps++;
    {
      PetscReal grow = err > 0 ? 0.9 * PetscSqrtReal(o->tol_K / err) : 2;
      grow           = PetscMin(2, PetscMax(0.2, grow));
      /* a step cut to a phase change says nothing about the step the error allows */
      dt = PetscMin(o->dt_max_s, PetscMax(o->dt_min_s, (limited ? PetscMax(dt, h) : h) * grow));
    }

    smp.t_s              = t;
    smp.T_K              = T;
    smp.dt_s             = h;
    smp.phase            = s.phase;
    smp.T_amb_K          = arc ? T : NodeAmbient(o, t);
    smp.q_W_m3           = q;
    smp.self_heating_K_s = q / o->rho_cp_J_m3K;
    for (PetscInt j = 0; j < TC_ABUSE_NSTATE; j++) smp.x[j] = x[j];
    PetscCall(TCAbuseStoredEnthalpy(set, x, &smp.stored_J_m3));
    smp.released_J_m3 = released;

    /* no abuse kinetics (nor the cell) exist far above the decomposition
       temperatures: a temperature that high is a wrong input, not a result */
    PetscCheck(T <= TC_ABUSE_NODE_T_MAX_K, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "abuse node: the temperature reached %g K at t = %g s, above %g K where no abuse "
               "kinetics hold; check the heat capacity rho*cp (%g J/(m^3 K)), the heater and "
               "the set's reaction enthalpies",
               (double)T, (double)t, (double)TC_ABUSE_NODE_T_MAX_K, (double)o->rho_cp_J_m3K);
    if (T > res->peak_T_K) res->peak_T_K = T, res->peak_time_s = t;
    res->max_self_heating_K_s = PetscMax(res->max_self_heating_K_s, smp.self_heating_K_s);
    if (!res->runaway && smp.self_heating_K_s >= o->runaway_rate_K_s) {
      res->runaway      = PETSC_TRUE;
      res->onset_time_s = t;
      res->onset_T_K    = T;
    }

    /* ARC phase logic */
    if (arc) {
      switch (s.phase) {
      case TC_ABUSE_PHASE_HEAT:
        if (T >= s.T_target - 1e-9) s.phase = TC_ABUSE_PHASE_WAIT, s.phase_t0 = t;
        break;
      case TC_ABUSE_PHASE_WAIT:
        if (t >= s.phase_t0 + o->arc_wait_s * (1 - 1e-12))
          s.phase = TC_ABUSE_PHASE_SEEK, s.phase_t0 = t, s.seek_T0 = T;
        break;
      case TC_ABUSE_PHASE_SEEK:
        if (t >= s.phase_t0 + o->arc_seek_s * (1 - 1e-12)) {
          PetscReal rate = (T - s.seek_T0) / (t - s.phase_t0);
          if (rate >= o->arc_detect_K_s) {
            s.phase = TC_ABUSE_PHASE_TRACK;
            if (!res->exotherm) {
              res->exotherm          = PETSC_TRUE;
              res->exotherm_time_s   = t;
              res->exotherm_T_K      = T;
              res->exotherm_rate_K_s = rate;
            }
          } else if (T + o->arc_step_K > o->arc_end_K)
            done = PETSC_TRUE; /* searched up to the end temperature */
          else
            s.phase = TC_ABUSE_PHASE_HEAT, s.T_target = T + o->arc_step_K;
        }
        break;
      case TC_ABUSE_PHASE_TRACK: {
        /* the exotherm is over when the sample no longer self-heats at the
           detection rate: after a runaway that ends the test, else resume
           heat-wait-seek */
        PetscReal qn;
        PetscCall(TCAbuseHeatRate(set, x, T, &qn));
        if (qn / o->rho_cp_J_m3K < o->arc_detect_K_s) {
          if (res->runaway || T + o->arc_step_K > o->arc_end_K)
            done = PETSC_TRUE;
          else
            s.phase = TC_ABUSE_PHASE_HEAT, s.T_target = T + o->arc_step_K;
        }
        break;
      }
      default:
        break;
      }
    }
    if (mon) PetscCall((*mon)(&smp, ctx));
  }
  res->released_J_m3 = released;
  {
    PetscReal e;
    PetscCall(TCAbuseStoredEnthalpy(set, x, &e));
    res->consumed_J_m3 = res->stored_initial_J_m3 - e;
  }
  res->t_end_s = t;
  res->T_end_K = T;
  PetscFunctionReturn(0);
}
