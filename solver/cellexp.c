/*
 * Experiment parser and driver (see cellexp.h).
 */
#include "solver/cellexp.h"
#include <stddef.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>

typedef enum { STEP_DISCHARGE, STEP_CHARGE, STEP_REST, STEP_HOLD } TCStepKind;
typedef enum { AMT_CRATE, AMT_AMP, AMT_WATT, AMT_VOLT } TCAmount;

typedef struct {
  char       text[256];
  TCStepKind kind;
  TCAmount   amt;
  PetscReal  value;      /* C-rate, A, W or V (magnitude) */
  PetscReal  duration_s; /* < 0: none */
  PetscBool  has_vcut, has_icut;
  PetscReal  vcut;
  TCAmount   icut_amt;
  PetscReal  icut;
} TCStep;

struct _p_TCExperiment {
  PetscInt n, cap;
  TCStep  *steps;
};

PetscErrorCode TCExperimentCreate(TCExperiment *exp)
{
  PetscFunctionBeginUser;
  PetscCall(PetscNew(exp));
  PetscFunctionReturn(0);
}

PetscErrorCode TCExperimentDestroy(TCExperiment *exp)
{
  PetscFunctionBeginUser;
  if (!*exp) PetscFunctionReturn(0);
  PetscCall(PetscFree((*exp)->steps));
  PetscCall(PetscFree(*exp));
  PetscFunctionReturn(0);
}

PetscErrorCode TCExperimentGetNumSteps(TCExperiment exp, PetscInt *n)
{
  PetscFunctionBeginUser;
  *n = exp->n;
  PetscFunctionReturn(0);
}

PetscErrorCode TCExperimentGetStep(TCExperiment exp, PetscInt i, const char **text,
                                   PetscReal *duration_s)
{
  PetscFunctionBeginUser;
  PetscCheck(i >= 0 && i < exp->n, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "experiment step %" PetscInt_FMT " of %" PetscInt_FMT, i, exp->n);
  if (text) *text = exp->steps[i].text;
  if (duration_s) *duration_s = exp->steps[i].duration_s;
  PetscFunctionReturn(0);
}

/* ---- parser ---------------------------------------------------------------- */

typedef struct {
  const char *s, *p;
  const char *err, *errat;
} TCLex;

static void LSkip(TCLex *l)
{
  while (isspace((unsigned char)*l->p)) l->p++;
}

static int LFail(TCLex *l, const char *msg)
{
  if (!l->err) {
    l->err   = msg;
    l->errat = l->p;
  }
  return 1;
}

/* match a word (case-insensitive, whole word) */
static PetscBool LWord(TCLex *l, const char *w)
{
  size_t n = strlen(w);
  LSkip(l);
  if (strncasecmp(l->p, w, n)) return PETSC_FALSE;
  if (isalpha((unsigned char)l->p[n])) return PETSC_FALSE;
  l->p += n;
  return PETSC_TRUE;
}

static int LNumber(TCLex *l, PetscReal *v)
{
  char *end;
  LSkip(l);
  if (!(isdigit((unsigned char)*l->p) || *l->p == '.')) return LFail(l, "expected a number");
  *v = strtod(l->p, &end);
  if (end == l->p || !isfinite(*v)) return LFail(l, "expected a number");
  l->p = end;
  return 0;
}

/* <x>C | C/<n> | <x> A | <x> mA | <x> W ; allowed is a mask of AMT_* bits */
static int LAmount(TCLex *l, int allowed, TCAmount *amt, PetscReal *v)
{
  LSkip(l);
  if ((allowed & (1 << AMT_CRATE)) && (l->p[0] == 'C' || l->p[0] == 'c') && l->p[1] == '/') {
    PetscReal d;
    l->p += 2;
    if (LNumber(l, &d)) return 1;
    if (d <= 0) return LFail(l, "C/n needs n > 0");
    *amt = AMT_CRATE;
    *v   = 1.0 / d;
    return 0;
  }
  if (LNumber(l, v)) return 1;
  LSkip(l);
  if ((allowed & (1 << AMT_CRATE)) && (*l->p == 'C' || *l->p == 'c') &&
      !isalpha((unsigned char)l->p[1])) {
    l->p++;
    *amt = AMT_CRATE;
    return 0;
  }
  if ((allowed & (1 << AMT_AMP)) && LWord(l, "mA")) {
    *v *= 1e-3;
    *amt = AMT_AMP;
    return 0;
  }
  if ((allowed & (1 << AMT_AMP)) && LWord(l, "A")) {
    *amt = AMT_AMP;
    return 0;
  }
  if ((allowed & (1 << AMT_WATT)) && (LWord(l, "W") || LWord(l, "mW") || LWord(l, "kW"))) {
    char u = l->p[-2];
    if (u == 'm') *v *= 1e-3;
    if (u == 'k' || u == 'K') *v *= 1e3;
    *amt = AMT_WATT;
    return 0;
  }
  if ((allowed & (1 << AMT_WATT)) && (LWord(l, "Ohm") || LWord(l, "Ohms") || LWord(l, "mOhm")))
    return LFail(l, "constant-resistance steps (Ohm) are not modelled: give a current (C, A) or "
                    "a power (W)");
  if ((allowed & (1 << AMT_VOLT)) && LWord(l, "V")) {
    *amt = AMT_VOLT;
    return 0;
  }
  if (allowed == (1 << AMT_VOLT)) return LFail(l, "expected the unit V after the number");
  if (allowed & (1 << AMT_WATT))
    return LFail(l, "expected C, A or W after the number (e.g. 1C, C/20, 5 A, 10 W)");
  return LFail(l, "expected C or A after the number (e.g. C/50, 0.1 A)");
}

static int LDuration(TCLex *l, PetscReal *sec)
{
  PetscReal v;
  if (LNumber(l, &v)) return 1;
  if (LWord(l, "seconds") || LWord(l, "second") || LWord(l, "sec") || LWord(l, "s"))
    *sec = v;
  else if (LWord(l, "minutes") || LWord(l, "minute") || LWord(l, "min"))
    *sec = 60 * v;
  else if (LWord(l, "hours") || LWord(l, "hour") || LWord(l, "h"))
    *sec = 3600 * v;
  else if (LWord(l, "days") || LWord(l, "day"))
    *sec = 86400 * v;
  else
    return LFail(l, "expected a time unit: seconds, minutes, hours or days");
  if (*sec <= 0) return LFail(l, "a duration must be positive");
  /* 1e5 hours (11 years): beyond it the step count, not physics, decides */
  if (!(*sec <= 3.6e8)) return LFail(l, "a duration must be at most 100000 hours");
  return 0;
}

static int ParseStep(TCLex *l, TCStep *st)
{
  st->duration_s = -1;
  PetscBool dis  = LWord(l, "Discharge");
  if (dis || LWord(l, "Charge")) {
    st->kind = dis ? STEP_DISCHARGE : STEP_CHARGE;
    if (!LWord(l, "at")) return LFail(l, "expected 'at' (e.g. 'Discharge at 1C until 2.5 V')");
    if (LAmount(l, (1 << AMT_CRATE) | (1 << AMT_AMP) | (1 << AMT_WATT), &st->amt, &st->value))
      return 1;
    if (st->value <= 0) return LFail(l, "the rate must be positive (the direction is in the verb)");
    if (LWord(l, "for") && LDuration(l, &st->duration_s)) return 1;
    (void)LWord(l, "or");
    if (LWord(l, "until")) {
      if (LNumber(l, &st->vcut)) return 1;
      if (!LWord(l, "V")) return LFail(l, "expected the unit V after the cut-off voltage");
      st->has_vcut = PETSC_TRUE;
      /* PyBaMM: "until 3.3 V or 2 hours" (either condition ends the step) */
      if (st->duration_s < 0 && LWord(l, "or")) {
        (void)LWord(l, "for");
        if (LDuration(l, &st->duration_s)) return 1;
      }
    }
    if (!st->has_vcut && st->duration_s < 0)
      return LFail(l, "expected 'until <v> V' or 'for <n> seconds|minutes|hours'");
  } else if (LWord(l, "Rest")) {
    st->kind = STEP_REST;
    if (!LWord(l, "for")) return LFail(l, "expected 'for' (e.g. 'Rest for 1 hour')");
    if (LDuration(l, &st->duration_s)) return 1;
  } else if (LWord(l, "Hold")) {
    st->kind = STEP_HOLD;
    if (!LWord(l, "at")) return LFail(l, "expected 'at' (e.g. 'Hold at 4.2 V until C/50')");
    if (LAmount(l, 1 << AMT_VOLT, &st->amt, &st->value)) return 1;
    if (LWord(l, "for") && LDuration(l, &st->duration_s)) return 1;
    (void)LWord(l, "or");
    if (LWord(l, "until")) {
      if (LAmount(l, (1 << AMT_CRATE) | (1 << AMT_AMP), &st->icut_amt, &st->icut)) return 1;
      if (st->icut <= 0) return LFail(l, "the cut-off current must be positive");
      st->has_icut = PETSC_TRUE;
      if (st->duration_s < 0 && LWord(l, "or")) {
        (void)LWord(l, "for");
        if (LDuration(l, &st->duration_s)) return 1;
      }
    }
    if (!st->has_icut && st->duration_s < 0)
      return LFail(l, "expected 'until <x>C|<x> A' or 'for <n> seconds|minutes|hours'");
  } else
    return LFail(l, "expected 'Discharge', 'Charge', 'Rest' or 'Hold'");
  LSkip(l);
  if (LWord(l, "at")) {
    PetscReal T;
    if (!LNumber(l, &T))
      return LFail(l, "per-step temperatures ('at 25oC') are not modelled: give the ambient "
                      "temperature with -ambient_temperature (K) and split the experiment");
    return 1;
  }
  if (*l->p == '.' && !l->p[1]) l->p++; /* a sentence's full stop */
  if (*l->p) return LFail(l, "unexpected text after the step");
  return 0;
}

PetscErrorCode TCExperimentAdd(TCExperiment exp, const char text[])
{
  const char *p = text;

  PetscFunctionBeginUser;
  PetscCheck(text, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "empty experiment");
  for (;;) {
    const char *q = strchr(p, ';');
    size_t      n = q ? (size_t)(q - p) : strlen(p);
    TCStep      st;
    TCLex       l;
    PetscMemzero(&st, sizeof(st));
    PetscCheck(n < sizeof(st.text), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "experiment step too long (%zu characters): \"%.60s...\"", n, p);
    memcpy(st.text, p, n);
    st.text[n] = 0;
    /* trim */
    {
      char *a = st.text, *b;
      while (isspace((unsigned char)*a)) a++;
      memmove(st.text, a, strlen(a) + 1);
      b = st.text + strlen(st.text);
      while (b > st.text && isspace((unsigned char)b[-1])) *--b = 0;
    }
    if (st.text[0] || !q) {
      PetscMemzero(&l, sizeof(l));
      l.s = l.p = st.text;
      if (!st.text[0] || ParseStep(&l, &st)) {
        int  pos = st.text[0] ? (int)(l.errat - st.text) : 0;
        char caret[300];
        snprintf(caret, sizeof(caret), "%*s^", pos, "");
        SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                "malformed experiment step \"%s\" at position %d: %s\n    %s\n    %s", st.text,
                pos + 1, st.text[0] ? l.err : "empty step", st.text, caret);
      }
      if (exp->n == exp->cap) {
        TCStep *ns;
        exp->cap = exp->cap ? 2 * exp->cap : 8;
        PetscCall(PetscMalloc1(exp->cap, &ns));
        if (exp->n) PetscCall(PetscArraycpy(ns, exp->steps, exp->n));
        PetscCall(PetscFree(exp->steps));
        exp->steps = ns;
      }
      exp->steps[exp->n++] = st;
    }
    if (!q) break;
    p = q + 1;
  }
  PetscFunctionReturn(0);
}

/* ---- driver ---------------------------------------------------------------- */

typedef struct {
  TCCell                     cell;
  const TCCellParams        *p;
  const TCExperimentOptions *opt;
  PetscReal                  C_th, hAV; /* thermal */
} TCRun;

/* One step of dt from state at temperature T_old; thermal iteration when
   lumped. Returns converged and the new temperature. */
static PetscErrorCode RunStep(void *vr, const PetscReal *state, TCCellControl ctl, PetscReal value,
                              PetscReal T_old, PetscReal dt, PetscReal *trial, TCCellResult *res,
                              PetscReal *T_new, PetscBool *conv)
{
  TCRun    *r  = (TCRun *)vr;
  PetscReal Tg = T_old;

  PetscFunctionBeginUser;
  for (int it = 0; it < 6; it++) {
    PetscCall(TCCellStep(r->cell, state, ctl, value, Tg, dt, trial, res, conv));
    if (!*conv) PetscFunctionReturn(0);
    if (!r->opt->lumped) {
      *T_new = Tg;
      PetscFunctionReturn(0);
    }
    {
      PetscReal q = res->Q_W / r->p->volume_m3; /* W/m^3 over the cell volume */
      PetscReal Tn =
          (T_old + dt / r->C_th * (q + r->hAV * r->opt->T_amb_K)) / (1 + dt * r->hAV / r->C_th);
      *T_new = Tn;
      if (PetscAbsReal(Tn - Tg) < 1e-6) PetscFunctionReturn(0);
      Tg = Tn;
    }
  }
  PetscFunctionReturn(0);
}

static PetscReal RunSOC(void *vr, const PetscReal *state)
{
  return TCCellStateSOC(((TCRun *)vr)->cell, state);
}

PetscErrorCode TCExperimentRun(TCExperiment exp, TCCell cell, const TCCellParams *p,
                               const TCExperimentOptions *opt, PetscReal state[],
                               TCExperimentMonitor mon, void *ctx, TCExperimentSummary *sum)
{
  PetscBool stopped;

  PetscFunctionBeginUser;
  PetscCall(
      TCExperimentRunFrom(exp, cell, p, opt, NULL, state, mon, ctx, NULL, NULL, sum, &stopped));
  PetscFunctionReturn(0);
}

PetscErrorCode TCExperimentRunFrom(TCExperiment exp, TCCell cell, const TCCellParams *p,
                                   const TCExperimentOptions *opt, const TCExperimentCursor *from,
                                   PetscReal state[], TCExperimentMonitor mon, void *ctx,
                                   TCExperimentHook hook, void *hctx, TCExperimentSummary *sum,
                                   PetscBool *stopped)
{
  TCRun              r = {cell, p, opt, 0, 0};
  TCExperimentSystem sys;

  PetscFunctionBeginUser;
  if (opt->lumped) {
    PetscCheck(
        p->rho_cp_J_m3K > 0 && p->volume_m3 > 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
        "%s: the lumped thermal model needs \"Cell\" -> \"Density [kg.m-3]\", \"Specific heat "
        "capacity [J.K-1.kg-1]\" and \"Volume [m3]\"",
        p->source);
    r.C_th = p->rho_cp_J_m3K;
    r.hAV  = p->h_W_m2K * p->area_ext_m2 / p->volume_m3;
  }
  sys.ctx   = &r;
  sys.I1C_A = p->Q_nom_Ah;
  sys.step  = RunStep;
  sys.soc   = RunSOC;
  PetscCall(TCCellGetStateSize(cell, &sys.nstate, NULL));
  PetscCall(TCExperimentRunSystem(exp, &sys, opt, from, state, mon, ctx, hook, hctx, sum, stopped));
  PetscFunctionReturn(0);
}

/* Checkpoint/restart: the loop below is the original driver; a run resumed
   from a cursor enters it with the cursor's values in the variables that
   carry over between accepted steps, and the hook sees the same values
   after each accepted step. Nothing else carries state from one step to the
   next (the system's step depends only on the committed state). */
PetscErrorCode TCExperimentRunSystem(TCExperiment exp, const TCExperimentSystem *sys,
                                     const TCExperimentOptions *opt, const TCExperimentCursor *from,
                                     PetscReal state[], TCExperimentMonitor mon, void *ctx,
                                     TCExperimentHook hook, void *hctx, TCExperimentSummary *sum,
                                     PetscBool *stopped)
{
  PetscInt          ns = sys->nstate;
  PetscReal        *trial, *trial2, t = 0, T;
  TCCellResult      res, res2, last_ok;
  TCExperimentPoint pt;
  PetscReal         I1C = sys->I1C_A;
  PetscInt          s0  = 0;

  PetscFunctionBeginUser;
  *stopped = PETSC_FALSE;
  PetscCall(PetscMemzero(sum, sizeof(*sum)));
  PetscCall(PetscMalloc2(PetscMax(ns, 1), &trial, PetscMax(ns, 1), &trial2));
  T                  = opt->T_init_K > 0 ? opt->T_init_K : opt->T_amb_K;
  sum->T_max_K       = T;
  sum->anode_min_V   = PETSC_MAX_REAL;
  sum->anode_min_x_V = PETSC_MAX_REAL;
  if (from) {
    PetscCheck(from->step >= 0 && from->step < exp->n, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
               "resume at experiment step %" PetscInt_FMT " of %" PetscInt_FMT, from->step + 1,
               exp->n);
    s0   = from->step;
    t    = from->t_s;
    T    = from->T_K;
    *sum = from->sum;
  }
  for (PetscInt s = s0; s < exp->n; s++) {
    const TCStep *st = &exp->steps[s];
    TCCellControl ctl;
    PetscReal     value, ts = 0, dt = opt->dt_fixed_s > 0 ? opt->dt_fixed_s : opt->dt_init_s;
    PetscReal     dt_prev = 0, y_prev = 0, y_prev2 = 0, Tn;
    PetscBool     conv, done = PETSC_FALSE;
    PetscInt      nacc = 0;
    PetscReal     sign = st->kind == STEP_CHARGE ? -1 : 1;

    switch (st->kind) {
    case STEP_REST:
      ctl   = TC_CELL_CURRENT;
      value = 0;
      break;
    case STEP_HOLD:
      ctl   = TC_CELL_VOLTAGE;
      value = st->value;
      break;
    default:
      ctl   = st->amt == AMT_WATT ? TC_CELL_POWER : TC_CELL_CURRENT;
      value = sign * (st->amt == AMT_CRATE ? st->value * I1C : st->value);
    }
    if (from && from->started && s == s0) {
      /* resume inside the step: the controller's history as it was */
      ts      = from->ts_s;
      dt      = from->dt_s;
      dt_prev = from->dt_prev_s;
      y_prev  = from->y_prev;
      y_prev2 = from->y_prev2;
      nacc    = from->nacc;
      last_ok = from->last_ok;
      pt.step = s;
      goto stepping;
    }
    /* consistent start of the step: algebraic state under the new control */
    PetscCall(sys->step(sys->ctx, state, ctl, value, T, 0, trial, &res, &Tn, &conv));
    PetscCheck(conv, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "experiment step %" PetscInt_FMT " \"%s\": the cell cannot start it (no solution "
               "of the algebraic equations at t = %g s; e.g. a power or voltage it cannot deliver)",
               s + 1, st->text, (double)t);
    if (st->has_vcut) {
      PetscBool wrong = st->kind == STEP_CHARGE ? (PetscBool)(res.V_V >= st->vcut)
                                                : (PetscBool)(res.V_V <= st->vcut);
      char      vc[32];
      snprintf(vc, sizeof(vc), "%g", (double)st->vcut); /* PETSc's %g would print "3." */
      PetscCheck(!wrong, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                 "experiment step %" PetscInt_FMT " \"%s\": cut-off %s V can never be reached: "
                 "the %s starts at %.4f V, already %s it",
                 s + 1, st->text, vc, st->kind == STEP_CHARGE ? "charge" : "discharge",
                 (double)res.V_V, st->kind == STEP_CHARGE ? "above" : "below");
    }
    PetscCall(PetscArraycpy(state, trial, ns));
    last_ok = res;
    pt.t_s  = t;
    pt.T_K  = T;
    pt.soc  = sys->soc(sys->ctx, state);
    pt.step = s;
    if (mon) PetscCall(mon(&pt, &res, ctx));
    y_prev = ctl == TC_CELL_VOLTAGE ? res.I_A : res.V_V;
  stepping:
    while (!done) {
      PetscReal icut = st->has_icut ? (st->icut_amt == AMT_CRATE ? st->icut * I1C : st->icut) : 0;
      PetscBool last = PETSC_FALSE, crossed = PETSC_FALSE;
      if (st->duration_s > 0 && ts + dt >= st->duration_s * (1 - 1e-12)) {
        dt   = st->duration_s - ts;
        last = PETSC_TRUE;
      }
      PetscCall(sys->step(sys->ctx, state, ctl, value, T, dt, trial, &res, &Tn, &conv));
      if (!conv) {
        sum->nrejected++;
        dt *= 0.25;
        if (dt < 1e-6) {
          /* cannot continue: the electrode ran out of (or filled up with) lithium */
          SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                  "experiment step %" PetscInt_FMT " \"%s\": the cell cannot go on at t = %.1f s "
                  "(V = %.4f V; surface stoichiometry at the separator: negative %.4f, positive "
                  "%.4f): an electrode is empty or full before the cut-off, which can never be "
                  "reached",
                  s + 1, st->text, (double)t, (double)last_ok.V_V, (double)last_ok.sto_surf_n,
                  (double)last_ok.sto_surf_p);
        }
        continue;
      }
      /* cut-off events: land on them by regula falsi on the step size */
      if (st->has_vcut)
        crossed = st->kind == STEP_CHARGE ? (PetscBool)(res.V_V > st->vcut)
                                          : (PetscBool)(res.V_V < st->vcut);
      if (st->has_icut) crossed = (PetscBool)(PetscAbsReal(res.I_A) < icut);
      if (crossed) {
        PetscReal a = 0, fa, b = dt, fb, target = st->has_vcut ? st->vcut : icut, m = dt, fm = 0;
        int       side = 0;
        fa             = (st->has_vcut ? y_prev : PetscAbsReal(y_prev)) - target;
        fb             = (st->has_vcut ? res.V_V : PetscAbsReal(res.I_A)) - target;
        for (int it = 0; it < 60; it++) {
          m = (a * fb - b * fa) / (fb - fa);
          if (!(m > a && m < b)) m = 0.5 * (a + b);
          PetscCall(sys->step(sys->ctx, state, ctl, value, T, m, trial2, &res2, &Tn, &conv));
          if (!conv) {
            b  = m;
            fb = fa > 0 ? -PetscAbsReal(fb) : PetscAbsReal(fb);
            continue;
          }
          fm = (st->has_vcut ? res2.V_V : PetscAbsReal(res2.I_A)) - target;
          if (PetscAbsReal(fm) < (st->has_vcut ? 1e-6 : 1e-6 * I1C) || b - a < 1e-9) break;
          if ((fm > 0) == (fa > 0)) {
            a  = m;
            fa = fm;
            if (side == -1) fb *= 0.5;
            side = -1;
          } else {
            b  = m;
            fb = fm;
            if (side == 1) fa *= 0.5;
            side = 1;
          }
        }
        PetscCheck(conv, PETSC_COMM_SELF, PETSC_ERR_PLIB, "cut-off search failed");
        dt = m;
        PetscCall(PetscArraycpy(trial, trial2, ns));
        res  = res2;
        last = PETSC_TRUE;
      }
      {
        PetscReal h = dt, dt_next;
        if (crossed) {
          dt_next = dt_prev > 0 ? dt_prev : dt;
        } else if (opt->dt_fixed_s > 0) {
          dt_next = opt->dt_fixed_s;
        } else if (nacc > 0 && !last) {
          /* local error: distance from the linear extrapolation of the last two points
             (voltage; the current relative to 1C in a hold) */
          PetscReal yv  = ctl == TC_CELL_VOLTAGE ? res.I_A : res.V_V;
          PetscReal yp  = y_prev + (y_prev - y_prev2) * dt / dt_prev;
          PetscReal est = PetscAbsReal(yv - yp) * dt / (dt + dt_prev);
          if (ctl == TC_CELL_VOLTAGE) est /= I1C;
          if (est > 2 * opt->tol_V && dt > 1e-3) {
            sum->nrejected++;
            dt *= PetscMax(0.2, 0.9 * PetscSqrtReal(opt->tol_V / est));
            continue;
          }
          dt_next = dt * PetscMin(2.0, PetscMax(0.3, est > 0 ? 0.9 * PetscSqrtReal(opt->tol_V / est)
                                                             : 2.0));
        } else
          dt_next = 2 * dt;
        /* adaptive steps: no smaller than the rejection floor (1 ms, or dt_max_s), so
           that time always advances */
        if (opt->dt_fixed_s <= 0)
          dt_next = PetscMin(PetscMax(dt_next, 1e-3), opt->dt_max_s);
        sum->capacity_Ah += res.I_A * h / 3600;
        if (res.I_A > 0)
          sum->discharged_Ah += res.I_A * h / 3600;
        else
          sum->charged_Ah -= res.I_A * h / 3600;
        sum->energy_Wh += res.I_A * res.V_V * h / 3600;
        if (res.I_A > 0)
          sum->discharge_energy_Wh += res.I_A * res.V_V * h / 3600;
        else
          sum->charge_energy_Wh -= res.I_A * res.V_V * h / 3600;
        sum->heat_J += res.Q_W * h;
        {
          /* time with phi_s - phi_e < 0 at the separator: linear in time within a step */
          PetscReal a0 = last_ok.anode_vs_li_V, a1 = res.anode_vs_li_V;
          if (a0 < 0 && a1 < 0)
            sum->time_below_0V_s += h;
          else if (a0 < 0 || a1 < 0)
            sum->time_below_0V_s += h * (a0 < 0 ? a0 : a1) / (a0 - a1) * (a0 < 0 ? 1 : -1);
        }
        sum->anode_min_V   = PetscMin(sum->anode_min_V, res.anode_vs_li_V);
        sum->anode_min_x_V = PetscMin(sum->anode_min_x_V, res.anode_vs_li_min_V);
        sum->newton_its += res.newton_its;
        sum->nsteps++;
        t += h;
        ts += h;
        T            = Tn;
        sum->T_max_K = PetscMax(sum->T_max_K, T);
        PetscCall(PetscArraycpy(state, trial, ns));
        last_ok = res;
        y_prev2 = y_prev;
        y_prev  = ctl == TC_CELL_VOLTAGE ? res.I_A : res.V_V;
        dt_prev = h;
        dt      = dt_next;
        nacc++;
        pt.t_s = t;
        pt.T_K = T;
        pt.soc = sys->soc(sys->ctx, state);
        if (mon) PetscCall(mon(&pt, &res, ctx));
        if (last || crossed) done = PETSC_TRUE;
        if (!crossed && st->duration_s < 0 && ts > 1000 * 3600)
          SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                  "experiment step %" PetscInt_FMT
                  " \"%s\": no cut-off after 1000 hours; it can never be reached",
                  s + 1, st->text);
        if (hook && !(done && s == exp->n - 1)) {
          TCExperimentCursor cur;
          PetscBool          stop = PETSC_FALSE;
          PetscCall(PetscMemzero(&cur, sizeof(cur)));
          cur.t_s = t;
          cur.T_K = T;
          cur.sum = *sum;
          if (done) {
            cur.step    = s + 1; /* the next step starts afresh from t, T, state */
            cur.started = PETSC_FALSE;
          } else {
            cur.step      = s;
            cur.started   = PETSC_TRUE;
            cur.ts_s      = ts;
            cur.dt_s      = dt;
            cur.dt_prev_s = dt_prev;
            cur.y_prev    = y_prev;
            cur.y_prev2   = y_prev2;
            cur.nacc      = nacc;
            cur.last_ok   = last_ok;
          }
          PetscCall(hook(&cur, state, hctx, &stop));
          if (stop) {
            *stopped     = PETSC_TRUE;
            sum->t_end_s = t;
            PetscCall(PetscFree2(trial, trial2));
            PetscFunctionReturn(0);
          }
        }
      }
    }
  }
  sum->t_end_s = t;
  PetscCall(PetscFree2(trial, trial2));
  PetscFunctionReturn(0);
}

/* ---- checkpoints of the driver's cursor ------------------------------------ */

/* The cursor's fields by name, for the checkpoint. Every field of
   TCExperimentCursor must be here (a missing one breaks bit-for-bit
   restarts, which tests/cli/test_cell_restart.py checks). */
typedef enum { F_INT, F_REAL, F_BOOL } TCCursorFieldType;
static const struct {
  const char       *name;
  size_t            off;
  TCCursorFieldType type;
} tc_cursor_fields[] = {
#define CF(name, member, type)                                                                     \
  {                                                                                                \
    name, offsetof(TCExperimentCursor, member), type                                               \
  }
    CF("exp_step", step, F_INT),
    CF("exp_started", started, F_BOOL),
    CF("t_s", t_s, F_REAL),
    CF("T_K", T_K, F_REAL),
    CF("step_time_s", ts_s, F_REAL),
    CF("dt_s", dt_s, F_REAL),
    CF("dt_prev_s", dt_prev_s, F_REAL),
    CF("y_prev", y_prev, F_REAL),
    CF("y_prev2", y_prev2, F_REAL),
    CF("accepted_in_step", nacc, F_INT),
    CF("last_I_A", last_ok.I_A, F_REAL),
    CF("last_V_V", last_ok.V_V, F_REAL),
    CF("last_dIdV_S", last_ok.dIdV_S, F_REAL),
    CF("last_Q_W", last_ok.Q_W, F_REAL),
    CF("last_Q_irr_W", last_ok.Q_irr_W, F_REAL),
    CF("last_Q_rev_W", last_ok.Q_rev_W, F_REAL),
    CF("last_Q_ohm_W", last_ok.Q_ohm_W, F_REAL),
    CF("last_eta_n_V", last_ok.eta_n_V, F_REAL),
    CF("last_eta_p_V", last_ok.eta_p_V, F_REAL),
    CF("last_anode_vs_li_V", last_ok.anode_vs_li_V, F_REAL),
    CF("last_anode_vs_li_min_V", last_ok.anode_vs_li_min_V, F_REAL),
    CF("last_sto_surf_n", last_ok.sto_surf_n, F_REAL),
    CF("last_sto_surf_p", last_ok.sto_surf_p, F_REAL),
    CF("last_sto_avg_n", last_ok.sto_avg_n, F_REAL),
    CF("last_sto_avg_p", last_ok.sto_avg_p, F_REAL),
    CF("last_ce_min", last_ok.ce_min, F_REAL),
    CF("last_ce_max", last_ok.ce_max, F_REAL),
    CF("last_newton_its", last_ok.newton_its, F_INT),
    CF("capacity_Ah", sum.capacity_Ah, F_REAL),
    CF("discharged_Ah", sum.discharged_Ah, F_REAL),
    CF("charged_Ah", sum.charged_Ah, F_REAL),
    CF("energy_Wh", sum.energy_Wh, F_REAL),
    CF("discharge_energy_Wh", sum.discharge_energy_Wh, F_REAL),
    CF("charge_energy_Wh", sum.charge_energy_Wh, F_REAL),
    CF("T_max_K", sum.T_max_K, F_REAL),
    CF("anode_min_V", sum.anode_min_V, F_REAL),
    CF("anode_min_x_V", sum.anode_min_x_V, F_REAL),
    CF("time_below_0V_s", sum.time_below_0V_s, F_REAL),
    CF("t_end_s", sum.t_end_s, F_REAL),
    CF("steps", sum.nsteps, F_INT),
    CF("rejected_steps", sum.nrejected, F_INT),
    CF("newton_its", sum.newton_its, F_INT),
    CF("heat_J", sum.heat_J, F_REAL),
#undef CF
};

PetscErrorCode TCExperimentCursorSave(TCCheckpoint ck, const TCExperimentCursor *cur)
{
  PetscFunctionBeginUser;
  for (size_t i = 0; i < sizeof(tc_cursor_fields) / sizeof(tc_cursor_fields[0]); i++) {
    const char *p = (const char *)cur + tc_cursor_fields[i].off;
    switch (tc_cursor_fields[i].type) {
    case F_INT:
      PetscCall(TCCheckpointSetInt(ck, tc_cursor_fields[i].name, *(const PetscInt *)p));
      break;
    case F_BOOL:
      PetscCall(TCCheckpointSetInt(ck, tc_cursor_fields[i].name, *(const PetscBool *)p));
      break;
    case F_REAL:
      PetscCall(TCCheckpointSetReal(ck, tc_cursor_fields[i].name, *(const PetscReal *)p));
      break;
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCExperimentCursorLoad(TCCheckpoint ck, TCExperimentCursor *cur)
{
  PetscInt64 v;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(cur, sizeof(*cur)));
  for (size_t i = 0; i < sizeof(tc_cursor_fields) / sizeof(tc_cursor_fields[0]); i++) {
    char *p = (char *)cur + tc_cursor_fields[i].off;
    switch (tc_cursor_fields[i].type) {
    case F_INT:
      PetscCall(TCCheckpointGetInt(ck, tc_cursor_fields[i].name, &v));
      *(PetscInt *)p = (PetscInt)v;
      break;
    case F_BOOL:
      PetscCall(TCCheckpointGetInt(ck, tc_cursor_fields[i].name, &v));
      *(PetscBool *)p = v ? PETSC_TRUE : PETSC_FALSE;
      break;
    case F_REAL:
      PetscCall(TCCheckpointGetReal(ck, tc_cursor_fields[i].name, (PetscReal *)p));
      break;
    }
  }
  PetscFunctionReturn(0);
}
