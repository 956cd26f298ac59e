/*
 * Experiment parser and driver (see cellexp.h).
 */
#include "solver/cellexp.h"
#include <stddef.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

typedef enum { STEP_DISCHARGE, STEP_CHARGE, STEP_REST, STEP_HOLD, STEP_DRIVE } TCStepKind;
typedef enum { AMT_CRATE, AMT_AMP, AMT_WATT, AMT_VOLT, AMT_OHM } TCAmount;

typedef struct {
  char       text[256];
  TCStepKind kind;
  TCAmount   amt;
  PetscReal  value;      /* C-rate, A, W, V or Ohm (magnitude) */
  PetscReal  duration_s; /* < 0: none */
  PetscBool  has_vcut, has_icut;
  PetscReal  vcut;
  TCAmount   icut_amt;
  PetscReal  icut;
  PetscReal  T_K;      /* > 0: the ambient temperature of this step */
  PetscReal  period_s; /* > 0: output interval of this step */
  PetscInt   cycle;    /* 0-based */
  PetscInt   drive;    /* STEP_DRIVE: index of the drive cycle */
} TCStep;

/* a drive cycle: n rows (t, y) and the times within one repetition where
   the slope changes (steps land on them) */
typedef struct {
  char       name[64];
  PetscInt   n, nk;
  PetscReal *t, *y, *kink;
  PetscReal  T_loop; /* one repetition: last time + first interval */
} TCDrive;

struct _p_TCExperiment {
  PetscInt n, cap, ncycles;
  TCStep  *steps;
  PetscInt ndrive;
  TCDrive  drive[16];
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
  for (PetscInt i = 0; i < (*exp)->ndrive; i++)
    PetscCall(PetscFree3((*exp)->drive[i].t, (*exp)->drive[i].y, (*exp)->drive[i].kink));
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

PetscErrorCode TCExperimentGetNumCycles(TCExperiment exp, PetscInt *n)
{
  PetscFunctionBeginUser;
  *n = exp->ncycles;
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

PetscErrorCode TCExperimentGetStepCycle(TCExperiment exp, PetscInt i, PetscInt *cycle)
{
  PetscFunctionBeginUser;
  PetscCheck(i >= 0 && i < exp->n, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "experiment step %" PetscInt_FMT " of %" PetscInt_FMT, i, exp->n);
  *cycle = exp->steps[i].cycle;
  PetscFunctionReturn(0);
}

/* ---- drive cycles ---------------------------------------------------------- */

PetscErrorCode TCExperimentAddDriveCycle(TCExperiment exp, const char name[], PetscInt n,
                                         const PetscReal t[], const PetscReal y[])
{
  TCDrive *d;
  PetscInt nseg;

  PetscFunctionBeginUser;
  PetscCheck(name && name[0] && strlen(name) < sizeof(d->name), PETSC_COMM_SELF,
             PETSC_ERR_USER_INPUT, "a drive cycle needs a name of 1 to %d characters",
             (int)sizeof(d->name) - 1);
  for (const char *c = name; *c; c++)
    PetscCheck(isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == '.', PETSC_COMM_SELF,
               PETSC_ERR_USER_INPUT,
               "drive cycle name \"%s\": letters, digits, '_', '-' and '.' only", name);
  for (PetscInt i = 0; i < exp->ndrive; i++)
    PetscCheck(strcasecmp(exp->drive[i].name, name), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "drive cycle \"%s\" is given twice", name);
  PetscCheck(exp->ndrive < (PetscInt)(sizeof(exp->drive) / sizeof(exp->drive[0])), PETSC_COMM_SELF,
             PETSC_ERR_USER_INPUT, "at most %d drive cycles",
             (int)(sizeof(exp->drive) / sizeof(exp->drive[0])));
  PetscCheck(n >= 2, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "drive cycle \"%s\": %" PetscInt_FMT " rows; at least 2 (time, value) are needed",
             name, n);
  for (PetscInt i = 0; i < n; i++) {
    char a[32], b[32]; /* C's %g: PETSc's prints "5." */
    snprintf(a, sizeof(a), "%g", (double)t[i]);
    snprintf(b, sizeof(b), "%g", (double)(i ? t[i - 1] : 0));
    PetscCheck(isfinite(t[i]) && isfinite(y[i]), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "drive cycle \"%s\", row %" PetscInt_FMT ": not a finite number", name, i + 1);
    PetscCheck(i > 0 || t[0] == 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "drive cycle \"%s\" starts at t = %s s: it must start at 0 (as PyBaMM requires)",
               name, a);
    PetscCheck(i == 0 || t[i] > t[i - 1], PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "drive cycle \"%s\", row %" PetscInt_FMT
               ": time %s s does not increase (after %s s)",
               name, i + 1, a, b);
  }
  d = &exp->drive[exp->ndrive];
  PetscCall(PetscMemzero(d, sizeof(*d)));
  PetscCall(PetscStrncpy(d->name, name, sizeof(d->name)));
  PetscCall(PetscMalloc3(n, &d->t, n, &d->y, n, &d->kink));
  PetscCall(PetscArraycpy(d->t, t, n));
  PetscCall(PetscArraycpy(d->y, y, n));
  d->n      = n;
  d->T_loop = t[n - 1] + (t[1] - t[0]);
  /* segment i runs from t_i to t_{i+1}; segment n-1 is the wrap from the
     last row to the first of the next repetition */
  nseg = n;
  for (PetscInt i = 0; i < n; i++) {
    PetscInt  a = (i + nseg - 1) % nseg, b = i; /* segments before and after t_i */
    PetscReal ta0 = d->t[a], ta1 = a == n - 1 ? d->T_loop : d->t[a + 1];
    PetscReal ya0 = d->y[a], ya1 = a == n - 1 ? d->y[0] : d->y[a + 1];
    PetscReal tb0 = d->t[b], tb1 = b == n - 1 ? d->T_loop : d->t[b + 1];
    PetscReal yb0 = d->y[b], yb1 = b == n - 1 ? d->y[0] : d->y[b + 1];
    PetscReal sa = (ya1 - ya0) / (ta1 - ta0), sb = (yb1 - yb0) / (tb1 - tb0);
    if (sa != sb) d->kink[d->nk++] = d->t[i];
  }
  exp->ndrive++;
  PetscFunctionReturn(0);
}

PetscErrorCode TCExperimentLoadDriveCycle(TCExperiment exp, const char name[], const char path[])
{
  FILE      *fp = fopen(path, "r");
  char       line[1024];
  PetscInt   n = 0, cap = 0, lineno = 0;
  PetscReal *t = NULL, *y = NULL;

  PetscFunctionBeginUser;
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "drive cycle \"%s\": cannot open %s: %s",
             name, path, strerror(errno));
  while (fgets(line, sizeof(line), fp)) {
    char  *p = line, *e;
    double a, b;
    lineno++;
    if (!strchr(line, '\n') && !feof(fp)) {
      fclose(fp);
      PetscCall(PetscFree2(t, y));
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s:%" PetscInt_FMT ": line too long", path,
              lineno);
    }
    while (isspace((unsigned char)*p)) p++;
    if (!*p || *p == '#') continue;
    errno = 0;
    a     = strtod(p, &e);
    if (e == p) {
      /* a header line (first non-comment line only) */
      if (n == 0 && lineno <= 5) continue;
      fclose(fp);
      PetscCall(PetscFree2(t, y));
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
              "%s:%" PetscInt_FMT ": expected two numbers, time [s] and the value", path, lineno);
    }
    p = e;
    while (isspace((unsigned char)*p)) p++;
    if (*p == ',' || *p == ';') p++;
    b = strtod(p, &e);
    if (e == p || errno) {
      fclose(fp);
      PetscCall(PetscFree2(t, y));
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
              "%s:%" PetscInt_FMT ": expected two numbers, time [s] and the value", path, lineno);
    }
    if (n == cap) {
      PetscReal *nt, *ny;
      cap = cap ? 2 * cap : 256;
      PetscCall(PetscMalloc2(cap, &nt, cap, &ny));
      if (n) {
        PetscCall(PetscArraycpy(nt, t, n));
        PetscCall(PetscArraycpy(ny, y, n));
      }
      PetscCall(PetscFree2(t, y));
      t = nt;
      y = ny;
    }
    t[n]   = a;
    y[n++] = b;
  }
  fclose(fp);
  {
    PetscErrorCode ierr = TCExperimentAddDriveCycle(exp, name, n, t, y);
    PetscCall(PetscFree2(t, y));
    PetscCall(ierr);
  }
  PetscFunctionReturn(0);
}

/* the drive cycle's value at time tau of the step (repeating) */
static PetscReal DriveValue(const TCDrive *d, PetscReal tau)
{
  PetscReal u  = tau - PetscFloorReal(tau / d->T_loop) * d->T_loop;
  PetscInt  lo = 0, hi = d->n - 1;
  if (u >= d->t[d->n - 1]) { /* wrap segment (or the last row exactly) */
    PetscReal f = (u - d->t[d->n - 1]) / (d->T_loop - d->t[d->n - 1]);
    return d->y[d->n - 1] + f * (d->y[0] - d->y[d->n - 1]);
  }
  while (hi - lo > 1) {
    PetscInt m = (lo + hi) / 2;
    if (d->t[m] <= u)
      lo = m;
    else
      hi = m;
  }
  return d->y[lo] + (u - d->t[lo]) / (d->t[hi] - d->t[lo]) * (d->y[hi] - d->y[lo]);
}

/* the first slope change after tau (beyond 1e-9 s), or a huge value */
static PetscReal DriveNextKink(const TCDrive *d, PetscReal tau)
{
  PetscReal base, u;
  if (!d->nk) return PETSC_MAX_REAL;
  base = PetscFloorReal(tau / d->T_loop) * d->T_loop;
  u    = tau - base;
  for (PetscInt i = 0; i < d->nk; i++)
    if (d->kink[i] > u + 1e-9) return base + d->kink[i];
  return base + d->T_loop + d->kink[0];
}

/* ---- parser ---------------------------------------------------------------- */

typedef struct {
  const char  *s, *p;
  const char  *err, *errat;
  TCExperiment exp;
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

/* <x>C | C/<n> | <x> A | <x> mA | <x> W|mW|kW | <x> Ohm|mOhm|kOhm ; allowed is a mask of AMT_* bits
 */
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
  if (allowed & (1 << AMT_OHM)) {
    PetscReal f = 0;
    if (LWord(l, "Ohm") || LWord(l, "Ohms"))
      f = 1;
    else if (LWord(l, "mOhm") || LWord(l, "mOhms"))
      f = 1e-3;
    else if (LWord(l, "kOhm") || LWord(l, "kOhms"))
      f = 1e3;
    if (f > 0) {
      *v *= f;
      *amt = AMT_OHM;
      return 0;
    }
  }
  if ((allowed & (1 << AMT_VOLT)) && LWord(l, "V")) {
    *amt = AMT_VOLT;
    return 0;
  }
  if (allowed == (1 << AMT_VOLT)) return LFail(l, "expected the unit V after the number");
  if (allowed & (1 << AMT_WATT))
    return LFail(l, "expected C, A, W or Ohm after the number (e.g. 1C, C/20, 5 A, 10 W, 2 Ohm)");
  return LFail(l, "expected C or A after the number (e.g. C/50, 0.1 A)");
}

static int LDuration(TCLex *l, PetscReal *sec)
{
  PetscReal v;
  if (LNumber(l, &v)) return 1;
  if (LWord(l, "seconds") || LWord(l, "second") || LWord(l, "secs") || LWord(l, "sec") ||
      LWord(l, "s"))
    *sec = v;
  else if (LWord(l, "minutes") || LWord(l, "minute") || LWord(l, "mins") || LWord(l, "min"))
    *sec = 60 * v;
  else if (LWord(l, "hours") || LWord(l, "hour") || LWord(l, "hr") || LWord(l, "h"))
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

/* "at 25oC", "at 25 oC", "at 25 °C", "at 298.15 K" (after "at") */
static int LTemperature(TCLex *l, PetscReal *T_K)
{
  PetscReal v;
  PetscBool neg;
  LSkip(l);
  neg = (PetscBool)(*l->p == '-'); /* "at -10oC" */
  if (neg) l->p++;
  if (LNumber(l, &v)) return LFail(l, "expected a temperature after 'at' (e.g. 'at 25oC')");
  if (neg) v = -v;
  LSkip(l);
  if (!strncmp(l->p, "oC", 2) || !strncmp(l->p, "degC", 4)) {
    l->p += l->p[0] == 'o' ? 2 : 4;
    *T_K = v + 273.15;
  } else if (!strncmp(l->p,
                      "\xc2\xb0"
                      "C",
                      3)) { /* UTF-8 degree sign */
    l->p += 3;
    *T_K = v + 273.15;
  } else if (LWord(l, "K")) {
    *T_K = v;
  } else
    return LFail(l, "expected a temperature unit: oC or K (e.g. 'at 25oC', 'at 298.15 K')");
  if (isalpha((unsigned char)*l->p)) return LFail(l, "expected a temperature unit: oC or K");
  if (!(*T_K > 0 && *T_K <= 1000))
    return LFail(l, "a step temperature must be above 0 K and at most 1000 K");
  return 0;
}

static int LUntilCurrent(TCLex *l, TCStep *st)
{
  if (LAmount(l, (1 << AMT_CRATE) | (1 << AMT_AMP), &st->icut_amt, &st->icut)) return 1;
  if (st->icut <= 0) return LFail(l, "the cut-off current must be positive");
  st->has_icut = PETSC_TRUE;
  return 0;
}

static int ParseStep(TCLex *l, TCStep *st)
{
  st->duration_s = -1;
  PetscBool dis  = LWord(l, "Discharge");
  if (dis || LWord(l, "Charge")) {
    st->kind = dis ? STEP_DISCHARGE : STEP_CHARGE;
    if (!LWord(l, "at")) return LFail(l, "expected 'at' (e.g. 'Discharge at 1C until 2.5 V')");
    if (LAmount(l, (1 << AMT_CRATE) | (1 << AMT_AMP) | (1 << AMT_WATT) | (1 << AMT_OHM), &st->amt,
                &st->value))
      return 1;
    if (st->value <= 0) return LFail(l, "the rate must be positive (the direction is in the verb)");
    if (LWord(l, "for") && LDuration(l, &st->duration_s)) return 1;
    (void)LWord(l, "or");
    if (LWord(l, "until")) {
      const char *at = l->p;
      if (LNumber(l, &st->vcut)) return 1;
      if (LWord(l, "V")) {
        st->has_vcut = PETSC_TRUE;
      } else {
        /* "until 50 mA" / "until C/50": a current cut-off (as PyBaMM reads it) */
        l->p   = at;
        l->err = NULL;
        if (LUntilCurrent(l, st))
          return LFail(l, "expected a cut-off voltage (e.g. 'until 2.5 V') or current");
        if (st->amt == AMT_CRATE || st->amt == AMT_AMP)
          return LFail(l, "a constant-current step never reaches a cut-off current: give a "
                          "voltage ('until 2.5 V') or a duration");
      }
      /* PyBaMM: "until 3.3 V or 2 hours" (either condition ends the step) */
      if (st->duration_s < 0 && LWord(l, "or")) {
        (void)LWord(l, "for");
        if (LDuration(l, &st->duration_s)) return 1;
      }
    }
    if (!st->has_vcut && !st->has_icut && st->duration_s < 0)
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
      if (LUntilCurrent(l, st)) return 1;
      if (st->duration_s < 0 && LWord(l, "or")) {
        (void)LWord(l, "for");
        if (LDuration(l, &st->duration_s)) return 1;
      }
    }
    if (!st->has_icut && st->duration_s < 0)
      return LFail(l, "expected 'until <x>C|<x> A' or 'for <n> seconds|minutes|hours'");
  } else if (LWord(l, "Run")) {
    /* a drive cycle: Run <name> (A)|(W)|(V) [for <duration>] */
    char        name[64];
    size_t      n = 0;
    const char *u;
    st->kind = STEP_DRIVE;
    LSkip(l);
    while (l->p[n] &&
           (isalnum((unsigned char)l->p[n]) || l->p[n] == '_' || l->p[n] == '-' || l->p[n] == '.'))
      n++;
    if (!n || n >= sizeof(name))
      return LFail(l, "expected a drive cycle name (e.g. 'Run US06 (A)')");
    memcpy(name, l->p, n);
    name[n]   = 0;
    st->drive = -1;
    for (PetscInt i = 0; i < l->exp->ndrive; i++)
      if (!strcasecmp(l->exp->drive[i].name, name)) st->drive = i;
    if (st->drive < 0)
      return LFail(l, "unknown drive cycle: register its CSV first (tomocell cell -drive_cycle "
                      "NAME=FILE.csv, or in the deck drive_cycle: {NAME: FILE.csv})");
    l->p += n;
    LSkip(l);
    u = l->p;
    if (u[0] == '(' && u[2] == ')' && (u[1] == 'A' || u[1] == 'W' || u[1] == 'V')) {
      st->amt = u[1] == 'A' ? AMT_AMP : u[1] == 'W' ? AMT_WATT : AMT_VOLT;
      l->p += 3;
    } else
      return LFail(l, "expected the drive cycle's unit: (A) current, (W) power or (V) voltage");
    if (LWord(l, "for")) {
      if (LDuration(l, &st->duration_s)) return 1;
    } else {
      const TCDrive *d = &l->exp->drive[st->drive];
      st->duration_s   = d->t[d->n - 1]; /* PyBaMM: the drive cycle's own length */
    }
    if (LWord(l, "until"))
      return LFail(l, "a drive cycle ends after its duration (or at the set's voltage limits), not "
                      "'until'");
  } else
    return LFail(l, "expected 'Discharge', 'Charge', 'Rest', 'Hold' or 'Run'");
  for (;;) {
    LSkip(l);
    if (!st->T_K && LWord(l, "at")) {
      if (LTemperature(l, &st->T_K)) return 1;
      continue;
    }
    if (!st->period_s && *l->p == '(') {
      const char *at = l->p;
      l->p++;
      if (LDuration(l, &st->period_s)) return 1;
      if (!LWord(l, "period")) {
        l->p = at;
        return LFail(l, "expected '(<n> <unit> period)', e.g. '(1 minute period)'");
      }
      LSkip(l);
      if (*l->p != ')') return LFail(l, "expected ')' after the period");
      l->p++;
      continue;
    }
    break;
  }
  if (*l->p == '.' && !l->p[1]) l->p++; /* a sentence's full stop */
  if (*l->p) return LFail(l, "unexpected text after the step");
  return 0;
}

static PetscErrorCode AppendStep(TCExperiment exp, const TCStep *st)
{
  PetscFunctionBeginUser;
  PetscCheck(exp->n < 1000000, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "the experiment has more than 1000000 steps");
  if (exp->n == exp->cap) {
    TCStep *ns;
    exp->cap = exp->cap ? 2 * exp->cap : 8;
    PetscCall(PetscMalloc1(exp->cap, &ns));
    if (exp->n) PetscCall(PetscArraycpy(ns, exp->steps, exp->n));
    PetscCall(PetscFree(exp->steps));
    exp->steps = ns;
  }
  exp->steps[exp->n++] = *st;
  PetscFunctionReturn(0);
}

/* Parse one step of n characters at p into st (trimmed text kept). */
static PetscErrorCode ParseOne(TCExperiment exp, const char *p, size_t n, TCStep *st)
{
  TCLex l;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(st, sizeof(*st)));
  PetscCheck(n < sizeof(st->text), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "experiment step too long (%zu characters): \"%.60s...\"", n, p);
  memcpy(st->text, p, n);
  st->text[n] = 0;
  {
    char *a = st->text, *b;
    while (isspace((unsigned char)*a)) a++;
    memmove(st->text, a, strlen(a) + 1);
    b = st->text + strlen(st->text);
    while (b > st->text && isspace((unsigned char)b[-1])) *--b = 0;
  }
  PetscCall(PetscMemzero(&l, sizeof(l)));
  l.s = l.p = st->text;
  l.exp     = exp;
  if (!st->text[0] || ParseStep(&l, st)) {
    int  pos = st->text[0] ? (int)(l.errat - st->text) : 0;
    char caret[300];
    snprintf(caret, sizeof(caret), "%*s^", pos, "");
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
            "malformed experiment step \"%s\" at position %d: %s\n    %s\n    %s", st->text,
            pos + 1, st->text[0] ? l.err : "empty step", st->text, caret);
  }
  PetscFunctionReturn(0);
}

/* Steps separated by ';' at the top level; "[a; b] * N" groups a cycle.
   The brackets and "* N" are found first, the steps are parsed after. */
PetscErrorCode TCExperimentAdd(TCExperiment exp, const char text[])
{
  const char *p = text;

  PetscFunctionBeginUser;
  PetscCheck(text, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "empty experiment");
  for (;;) {
    while (isspace((unsigned char)*p)) p++;
    if (*p == '[') {
      const char *g = p + 1, *e = strchr(g, ']'), *q;
      char       *end;
      long        reps  = 1;
      PetscInt    first = exp->n, nstep;
      PetscCheck(e, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                 "experiment: '[' without a matching ']' in \"%.80s\"", p);
      {
        const char *nest = strchr(g, '[');
        PetscCheck(!nest || nest > e, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                   "experiment: cycles do not nest ('[' inside '[...]') in \"%.80s\"", p);
      }
      q = e + 1;
      while (isspace((unsigned char)*q)) q++;
      if (*q == '*') {
        q++;
        while (isspace((unsigned char)*q)) q++;
        errno = 0;
        reps  = strtol(q, &end, 10);
        PetscCheck(end != q && errno == 0 && reps >= 1 && reps <= 100000, PETSC_COMM_SELF,
                   PETSC_ERR_USER_INPUT,
                   "experiment: '[...] * N' needs a whole number N from 1 to 100000 in \"%.80s\"",
                   p);
        q = end;
      }
      while (isspace((unsigned char)*q)) q++;
      PetscCheck(!*q || *q == ';', PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                 "experiment: unexpected text after a cycle '[...]': \"%.60s\" (separate steps "
                 "with ';')",
                 q);
      /* the steps of one cycle */
      for (const char *a = g; a < e;) {
        const char *b = memchr(a, ';', (size_t)(e - a));
        size_t      n = b ? (size_t)(b - a) : (size_t)(e - a);
        TCStep      st;
        const char *c = a;
        while (c < a + n && isspace((unsigned char)*c)) c++;
        if (c < a + n) { /* an empty piece ("[a; b;]") is skipped */
          PetscCall(ParseOne(exp, a, n, &st));
          st.cycle = exp->ncycles;
          PetscCall(AppendStep(exp, &st));
        }
        a = b ? b + 1 : e;
      }
      nstep = exp->n - first;
      PetscCheck(nstep > 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                 "experiment: an empty cycle '[]'");
      PetscCheck((double)nstep * (double)reps <= 1e6, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                 "experiment: %ld repetitions of %" PetscInt_FMT " steps exceed 1000000 steps",
                 reps, nstep);
      exp->ncycles++;
      for (long r = 1; r < reps; r++) {
        for (PetscInt i = 0; i < nstep; i++) {
          TCStep st = exp->steps[first + i];
          st.cycle  = exp->ncycles;
          PetscCall(AppendStep(exp, &st));
        }
        exp->ncycles++;
      }
      p = q;
      if (!*p) break;
      p++; /* the ';' */
      continue;
    }
    {
      const char *q = strchr(p, ';');
      size_t      n = q ? (size_t)(q - p) : strlen(p);
      const char *c = p;
      while (c < p + n && isspace((unsigned char)*c)) c++;
      PetscCheck(!memchr(p, ']', n), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                 "experiment: ']' without a matching '[' in \"%.80s\"", p);
      /* an empty piece between separators is skipped; the whole text empty is an error */
      if (c < p + n || (!q && exp->n == 0)) {
        TCStep st;
        PetscCall(ParseOne(exp, p, n, &st));
        st.cycle = exp->ncycles++; /* each step of the list is its own cycle, as in PyBaMM */
        PetscCall(AppendStep(exp, &st));
      }
      if (!q) break;
      p = q + 1;
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCExperimentWriteSteps(TCExperiment exp, FILE *fp)
{
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < exp->n; i++) {
    const TCStep *st   = &exp->steps[i];
    PetscReal     sign = st->kind == STEP_CHARGE ? -1 : 1, v = st->value;
    const char   *kind, *unit;
    char          dur[64], T[64], per[64], term[256] = "", dn[80];
    switch (st->kind) {
    case STEP_REST:
      kind = "current", unit = "A", v = 0;
      break;
    case STEP_HOLD:
      kind = "voltage", unit = "V";
      break;
    case STEP_DRIVE:
      kind = st->amt == AMT_AMP ? "current" : st->amt == AMT_WATT ? "power" : "voltage";
      unit = st->amt == AMT_AMP ? "A" : st->amt == AMT_WATT ? "W" : "V";
      v    = 0;
      break;
    default:
      kind = st->amt == AMT_CRATE  ? "C-rate"
             : st->amt == AMT_AMP  ? "current"
             : st->amt == AMT_WATT ? "power"
                                   : "resistance";
      unit = st->amt == AMT_CRATE  ? "C"
             : st->amt == AMT_AMP  ? "A"
             : st->amt == AMT_WATT ? "W"
                                   : "Ohm";
      v *= sign;
    }
    if (st->duration_s > 0 && st->kind != STEP_DRIVE)
      snprintf(dur, sizeof(dur), "%.17g", (double)st->duration_s);
    else if (st->kind == STEP_DRIVE)
      snprintf(dur, sizeof(dur), "%.17g", (double)st->duration_s);
    else
      snprintf(dur, sizeof(dur), "null");
    if (st->T_K > 0)
      snprintf(T, sizeof(T), "%.17g", (double)st->T_K);
    else
      snprintf(T, sizeof(T), "null");
    if (st->period_s > 0)
      snprintf(per, sizeof(per), "%.17g", (double)st->period_s);
    else
      snprintf(per, sizeof(per), "null");
    if (st->has_vcut)
      snprintf(term, sizeof(term), "{\"type\": \"voltage\", \"value\": %.17g}", (double)st->vcut);
    if (st->has_icut)
      snprintf(term, sizeof(term), "{\"type\": \"%s\", \"value\": %.17g}",
               st->icut_amt == AMT_CRATE ? "C-rate" : "current", (double)st->icut);
    if (st->kind == STEP_DRIVE)
      snprintf(dn, sizeof(dn), "\"%s\"", exp->drive[st->drive].name);
    else
      snprintf(dn, sizeof(dn), "null");
    fprintf(fp,
            "{\"step\": %d, \"cycle\": %d, \"kind\": \"%s\", \"value\": %.17g, \"unit\": \"%s\", "
            "\"duration_s\": %s, \"termination\": [%s], \"temperature_K\": %s, \"period_s\": %s, "
            "\"drive_cycle\": %s}\n",
            (int)i + 1, (int)st->cycle + 1, kind, (double)v, unit, dur, term, T, per, dn);
  }
  PetscFunctionReturn(0);
}

/* ---- driver ---------------------------------------------------------------- */

typedef struct {
  TCCell                     cell;
  const TCCellParams        *p;
  const TCExperimentOptions *opt;
  PetscReal                  C_th, hAV; /* thermal */
  PetscReal                  T_amb;     /* ambient of the current step */
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
      PetscReal q  = res->Q_W / r->p->volume_m3; /* W/m^3 over the cell volume */
      PetscReal Tn = (T_old + dt / r->C_th * (q + r->hAV * r->T_amb)) / (1 + dt * r->hAV / r->C_th);
      *T_new       = Tn;
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

/* the ambient of a step; isothermal: the cell is at the step's temperature,
   or at the run's initial one for a step without (PyBaMM: a step without a
   temperature takes the experiment's, whatever an earlier step had) */
static PetscErrorCode RunAmbient(void *vr, PetscReal T_amb_K, PetscBool given, PetscReal *T_K)
{
  TCRun *r = (TCRun *)vr;

  PetscFunctionBeginUser;
  r->T_amb = given ? T_amb_K : r->opt->T_amb_K;
  if (!r->opt->lumped)
    *T_K = given ? T_amb_K : (r->opt->T_init_K > 0 ? r->opt->T_init_K : r->opt->T_amb_K);
  PetscFunctionReturn(0);
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
  TCRun              r = {cell, p, opt, 0, 0, opt->T_amb_K};
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
  PetscCall(PetscMemzero(&sys, sizeof(sys)));
  sys.comm        = PETSC_COMM_SELF;
  sys.ctx         = &r;
  sys.I1C_A       = p->Q_nom_Ah;
  sys.step        = RunStep;
  sys.soc         = RunSOC;
  sys.set_ambient = RunAmbient;
  sys.resistance  = PETSC_TRUE;
  sys.V_lo        = p->V_min;
  sys.V_hi        = p->V_max;
  PetscCall(TCCellGetStateSize(cell, &sys.nstate, NULL));
  PetscCall(TCExperimentRunSystem(exp, &sys, opt, from, state, mon, ctx, hook, hctx, sum, stopped));
  PetscFunctionReturn(0);
}

/* the control and its value at time ts of step st */
static void StepControl(TCExperiment exp, const TCStep *st, PetscReal I1C, PetscReal ts,
                        TCCellControl *ctl, PetscReal *value)
{
  PetscReal sign = st->kind == STEP_CHARGE ? -1 : 1;
  switch (st->kind) {
  case STEP_REST:
    *ctl   = TC_CELL_CURRENT;
    *value = 0;
    break;
  case STEP_HOLD:
    *ctl   = TC_CELL_VOLTAGE;
    *value = st->value;
    break;
  case STEP_DRIVE:
    *ctl   = st->amt == AMT_AMP    ? TC_CELL_CURRENT
             : st->amt == AMT_WATT ? TC_CELL_POWER
                                   : TC_CELL_VOLTAGE;
    *value = DriveValue(&exp->drive[st->drive], ts);
    break;
  default:
    *ctl   = st->amt == AMT_WATT  ? TC_CELL_POWER
             : st->amt == AMT_OHM ? TC_CELL_RESISTANCE
                                  : TC_CELL_CURRENT;
    *value = sign * (st->amt == AMT_CRATE ? st->value * I1C : st->value);
  }
}

/* The events that end a step: its own cut-off (voltage or current) and,
   for a step that draws a current, the system's voltage limits. f > 0
   before the event, <= 0 at and after it. */
enum { EV_VCUT, EV_ICUT, EV_VLO, EV_VHI, EV_N };

static void StepEvents(const TCStep *st, const TCExperimentSystem *sys, PetscBool on[EV_N])
{
  PetscBool limits =
      (PetscBool)(sys->V_hi > sys->V_lo && st->kind != STEP_REST && st->kind != STEP_HOLD &&
                  !(st->kind == STEP_DRIVE && st->amt == AMT_VOLT));
  on[EV_VCUT] = st->has_vcut;
  on[EV_ICUT] = st->has_icut;
  on[EV_VLO]  = (PetscBool)(limits && st->kind != STEP_CHARGE);
  on[EV_VHI]  = (PetscBool)(limits && st->kind != STEP_DISCHARGE);
}

static PetscReal EventF(int ev, const TCStep *st, const TCExperimentSystem *sys, PetscReal icut,
                        const TCCellResult *res)
{
  switch (ev) {
  case EV_VCUT:
    return st->kind == STEP_CHARGE ? st->vcut - res->V_V : res->V_V - st->vcut;
  case EV_ICUT:
    /* the current falls towards the cut-off in a hold or at a constant
       resistance, and rises at a constant power */
    return st->amt == AMT_WATT ? icut - PetscAbsReal(res->I_A) : PetscAbsReal(res->I_A) - icut;
  case EV_VLO:
    return res->V_V - sys->V_lo;
  default:
    return sys->V_hi - res->V_V;
  }
}

/* Checkpoint/restart: the loop below is the original driver; a run resumed
   from a cursor enters it with the cursor's values in the variables that
   carry over between accepted steps, and the hook sees the same values
   after each accepted step. Nothing else carries state from one step to the
   next (the system's step depends only on the committed state, the step's
   control and ambient follow from the step index and the time in it). */
/* The body of TCExperimentRunSystem: its two work arrays go to *trialp,
 *trial2p, which the caller frees, also when a step fails. */
static PetscErrorCode ExperimentRunSystem(TCExperiment exp, const TCExperimentSystem *sys,
                                          const TCExperimentOptions *opt,
                                          const TCExperimentCursor *from, PetscReal state[],
                                          TCExperimentMonitor mon, void *ctx, TCExperimentHook hook,
                                          void *hctx, TCExperimentSummary *sum, PetscBool *stopped,
                                          PetscReal **trialp, PetscReal **trial2p)
{
  PetscInt          ns = sys->nstate;
  PetscReal        *trial, *trial2, t = 0, T;
  TCCellResult      res, res2, last_ok;
  TCExperimentPoint pt;
  PetscReal         I1C   = sys->I1C_A;
  PetscInt          s0    = 0;
  PetscBool         any_T = PETSC_FALSE, limit_hit = PETSC_FALSE;

  PetscFunctionBeginUser;
  *stopped = PETSC_FALSE;
  PetscCall(PetscMemzero(sum, sizeof(*sum)));
  /* what the system cannot do is refused before the first step */
  for (PetscInt s = 0; s < exp->n; s++) {
    const TCStep *st = &exp->steps[s];
    if (st->T_K > 0) any_T = PETSC_TRUE;
    PetscCheck(st->T_K <= 0 || sys->set_ambient, sys->comm, PETSC_ERR_USER_INPUT,
               "experiment step %" PetscInt_FMT " \"%s\": per-step temperatures are not modelled "
               "for this system (tomocell run): give the ambient temperature with "
               "ambient_temperature and split the experiment",
               s + 1, st->text);
    PetscCheck(sys->resistance || (st->kind != STEP_DISCHARGE && st->kind != STEP_CHARGE) ||
                   st->amt != AMT_OHM,
               sys->comm, PETSC_ERR_USER_INPUT,
               "experiment step %" PetscInt_FMT " \"%s\": constant-resistance steps (Ohm) are not "
               "modelled for this system (tomocell run): give a current (C, A) or a power (W)",
               s + 1, st->text);
    if (sys->V_hi > sys->V_lo && st->has_vcut) {
      char vc[32], vl[32];
      snprintf(vc, sizeof(vc), "%g", (double)st->vcut);
      snprintf(vl, sizeof(vl), "%g", (double)(st->vcut < sys->V_lo ? sys->V_lo : sys->V_hi));
      PetscCheck(st->vcut >= sys->V_lo && st->vcut <= sys->V_hi, sys->comm, PETSC_ERR_USER_INPUT,
                 "experiment step %" PetscInt_FMT " \"%s\": cut-off %s V can never be reached: it "
                 "is %s the set's %s voltage cut-off %s V, which ends every step first",
                 s + 1, st->text, vc, st->vcut < sys->V_lo ? "below" : "above",
                 st->vcut < sys->V_lo ? "lower" : "upper", vl);
    }
  }
  PetscCall(PetscMalloc2(PetscMax(ns, 1), trialp, PetscMax(ns, 1), trial2p));
  trial = *trialp, trial2 = *trial2p;
  T                  = opt->T_init_K > 0 ? opt->T_init_K : opt->T_amb_K;
  sum->T_max_K       = T;
  sum->anode_min_V   = PETSC_MAX_REAL;
  sum->anode_min_x_V = PETSC_MAX_REAL;
  if (from) {
    PetscCheck(from->step >= 0 && from->step < exp->n, sys->comm, PETSC_ERR_ARG_OUTOFRANGE,
               "resume at experiment step %" PetscInt_FMT " of %" PetscInt_FMT, from->step + 1,
               exp->n);
    s0   = from->step;
    t    = from->t_s;
    T    = from->T_K;
    *sum = from->sum;
  }
  for (PetscInt s = s0; s < exp->n && !limit_hit; s++) {
    const TCStep *st = &exp->steps[s];
    TCCellControl ctl;
    PetscReal     value, ts = 0, dt = opt->dt_fixed_s > 0 ? opt->dt_fixed_s : opt->dt_init_s;
    PetscReal     dt_prev = 0, y_prev = 0, y_prev2 = 0, Tn;
    PetscBool     conv, done = PETSC_FALSE, ev_on[EV_N];
    PetscInt      nacc = 0;
    PetscReal     icut = st->has_icut ? (st->icut_amt == AMT_CRATE ? st->icut * I1C : st->icut) : 0;

    StepEvents(st, sys, ev_on);
    sum->steps_run  = s + 1;
    sum->cycles_run = st->cycle + 1;
    pt.step         = s;
    pt.cycle        = st->cycle;
    pt.record       = PETSC_TRUE;
    if (from && from->started && s == s0) {
      /* resume inside the step: the controller's history as it was */
      PetscReal Tdummy = T;
      if (any_T) PetscCall(sys->set_ambient(sys->ctx, st->T_K, (PetscBool)(st->T_K > 0), &Tdummy));
      ts      = from->ts_s;
      dt      = from->dt_s;
      dt_prev = from->dt_prev_s;
      y_prev  = from->y_prev;
      y_prev2 = from->y_prev2;
      nacc    = from->nacc;
      last_ok = from->last_ok;
      goto stepping;
    }
    if (any_T) PetscCall(sys->set_ambient(sys->ctx, st->T_K, (PetscBool)(st->T_K > 0), &T));
    /* consistent start of the step: algebraic state under the new control */
    StepControl(exp, st, I1C, 0, &ctl, &value);
    PetscCall(sys->step(sys->ctx, state, ctl, value, T, 0, trial, &res, &Tn, &conv));
    PetscCheck(conv, sys->comm, PETSC_ERR_USER_INPUT,
               "experiment step %" PetscInt_FMT " \"%s\": the cell cannot start it (no solution "
               "of the algebraic equations at t = %g s; e.g. a power or voltage it cannot deliver)",
               s + 1, st->text, (double)t);
    if (st->has_vcut) {
      PetscBool wrong = st->kind == STEP_CHARGE ? (PetscBool)(res.V_V >= st->vcut)
                                                : (PetscBool)(res.V_V <= st->vcut);
      char      vc[32];
      snprintf(vc, sizeof(vc), "%g", (double)st->vcut); /* PETSc's %g would print "3." */
      PetscCheck(!wrong, sys->comm, PETSC_ERR_USER_INPUT,
                 "experiment step %" PetscInt_FMT " \"%s\": cut-off %s V can never be reached: "
                 "the %s starts at %.4f V, already %s it",
                 s + 1, st->text, vc, st->kind == STEP_CHARGE ? "charge" : "discharge",
                 (double)res.V_V, st->kind == STEP_CHARGE ? "above" : "below");
    }
    if (st->has_icut && EventF(EV_ICUT, st, sys, icut, &res) <= 0) {
      /* the cut-off current is reached at the start: the step is over before
         it begins (PyBaMM skips a step infeasible at its start) */
      PetscCall(PetscArraycpy(state, trial, ns));
      pt.t_s = t;
      pt.T_K = T;
      pt.soc = sys->soc(sys->ctx, state);
      if (mon) PetscCall(mon(&pt, &res, ctx));
      continue;
    }
    for (int ev = EV_VLO; ev <= EV_VHI; ev++) {
      /* beyond a limit at the start of the step: the experiment stops here
         (PyBaMM: infeasible), an error if nothing ran yet */
      if (!ev_on[ev] || EventF(ev, st, sys, icut, &res) >= 0) continue;
      PetscCheck(sum->nsteps > 0, sys->comm, PETSC_ERR_USER_INPUT,
                 "experiment step %" PetscInt_FMT " \"%s\": the cell starts at %.4f V, %s the "
                 "set's %s voltage cut-off %g V",
                 s + 1, st->text, (double)res.V_V, ev == EV_VLO ? "below" : "above",
                 ev == EV_VLO ? "lower" : "upper", (double)(ev == EV_VLO ? sys->V_lo : sys->V_hi));
      limit_hit       = PETSC_TRUE;
      sum->limit_stop = PETSC_TRUE;
      sum->limit_step = s;
      sum->limit_V    = ev == EV_VLO ? sys->V_lo : sys->V_hi;
    }
    if (limit_hit) break;
    PetscCall(PetscArraycpy(state, trial, ns));
    last_ok = res;
    pt.t_s  = t;
    pt.T_K  = T;
    pt.soc  = sys->soc(sys->ctx, state);
    if (mon) PetscCall(mon(&pt, &res, ctx));
    y_prev = ctl == TC_CELL_VOLTAGE ? res.I_A : res.V_V;
  stepping:
    while (!done) {
      PetscBool last = PETSC_FALSE, crossed = PETSC_FALSE, kink = PETSC_FALSE, onp = PETSC_FALSE;
      int       evc = -1;
      if (st->duration_s > 0 && ts + dt >= st->duration_s * (1 - 1e-12)) {
        dt   = st->duration_s - ts;
        last = PETSC_TRUE;
      }
      if (st->kind == STEP_DRIVE) { /* land on the drive cycle's slope changes */
        PetscReal tk = DriveNextKink(&exp->drive[st->drive], ts);
        if (ts + dt > tk + 1e-9 && (st->duration_s <= 0 || tk < st->duration_s - 1e-9)) {
          dt   = tk - ts;
          last = PETSC_FALSE;
          kink = PETSC_TRUE;
        }
      }
      if (st->period_s > 0) { /* and on the output times of a period */
        PetscReal tp = (PetscFloorReal(ts / st->period_s + 1e-9) + 1) * st->period_s;
        if (ts + dt > tp + 1e-9 && (st->duration_s <= 0 || tp < st->duration_s - 1e-9)) {
          dt   = tp - ts;
          last = PETSC_FALSE;
          kink = PETSC_FALSE;
          onp  = PETSC_TRUE;
        } else if (PetscAbsReal(ts + dt - tp) <= 1e-9)
          onp = PETSC_TRUE;
      }
      StepControl(exp, st, I1C, ts + dt, &ctl, &value);
      PetscCall(sys->step(sys->ctx, state, ctl, value, T, dt, trial, &res, &Tn, &conv));
      if (!conv) {
        sum->nrejected++;
        dt *= 0.25;
        if (dt < 1e-6) {
          /* cannot continue: the electrode ran out of (or filled up with) lithium */
          SETERRQ(sys->comm, PETSC_ERR_USER_INPUT,
                  "experiment step %" PetscInt_FMT " \"%s\": the cell cannot go on at t = %.1f s "
                  "(V = %.4f V; surface stoichiometry at the separator: negative %.4f, positive "
                  "%.4f): an electrode is empty or full before the cut-off, which can never be "
                  "reached",
                  s + 1, st->text, (double)t, (double)last_ok.V_V, (double)last_ok.sto_surf_n,
                  (double)last_ok.sto_surf_p);
        }
        continue;
      }
      /* cut-off events: the earliest crossed one (linear estimate); land on
         it by regula falsi on the step size */
      {
        PetscReal best = PETSC_MAX_REAL;
        for (int ev = 0; ev < EV_N; ev++) {
          PetscReal fa, fb, frac;
          if (!ev_on[ev]) continue;
          fb = EventF(ev, st, sys, icut, &res);
          if (!(fb < 0)) continue;
          fa   = EventF(ev, st, sys, icut, &last_ok);
          frac = fa > 0 ? fa / (fa - fb) : 0;
          if (frac < best) {
            best = frac;
            evc  = ev;
          }
        }
        crossed = (PetscBool)(evc >= 0);
      }
      if (crossed) {
        PetscBool vev = (PetscBool)(evc != EV_ICUT);
        PetscReal a = 0, fa, b = dt, fb, m = dt, fm = 0;
        int       side = 0;
        fa             = EventF(evc, st, sys, icut, &last_ok);
        fb             = EventF(evc, st, sys, icut, &res);
        for (int it = 0; it < 60; it++) {
          PetscReal     vm;
          TCCellControl cm;
          m = (a * fb - b * fa) / (fb - fa);
          if (!(m > a && m < b)) m = 0.5 * (a + b);
          StepControl(exp, st, I1C, ts + m, &cm, &vm);
          PetscCall(sys->step(sys->ctx, state, cm, vm, T, m, trial2, &res2, &Tn, &conv));
          if (!conv) {
            b  = m;
            fb = fa > 0 ? -PetscAbsReal(fb) : PetscAbsReal(fb);
            continue;
          }
          fm = EventF(evc, st, sys, icut, &res2);
          if (PetscAbsReal(fm) < (vev ? 1e-6 : 1e-6 * I1C) || b - a < 1e-9) break;
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
        PetscCheck(conv, sys->comm, PETSC_ERR_PLIB, "cut-off search failed");
        dt = m;
        PetscCall(PetscArraycpy(trial, trial2, ns));
        res  = res2;
        last = PETSC_TRUE;
        kink = PETSC_FALSE;
        onp  = PETSC_TRUE;
        if (evc == EV_VLO || evc == EV_VHI) {
          /* a limit of the set ended the step before its own end: the
             experiment stops here, as PyBaMM's does */
          limit_hit       = PETSC_TRUE;
          sum->limit_stop = PETSC_TRUE;
          sum->limit_step = s;
          sum->limit_V    = evc == EV_VLO ? sys->V_lo : sys->V_hi;
        }
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
        if (opt->dt_fixed_s <= 0) dt_next = PetscMin(PetscMax(dt_next, 1e-3), opt->dt_max_s);
        /* landed on a time the step had to stop at (a drive cycle's slope
           change, an output time): the next step starts afresh there, as a
           clipped step is no guide to the next one */
        if ((kink || onp) && !last && opt->dt_fixed_s <= 0 && dt_prev > h)
          dt_next = PetscMin(PetscMax(dt_prev, 1e-3), opt->dt_max_s);
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
        /* after a jump in a drive cycle's slope the extrapolation of the
           voltage is no error estimate: start the estimator afresh */
        if (kink) nacc = 0;
        if (last || crossed) done = PETSC_TRUE;
        pt.t_s    = t;
        pt.T_K    = T;
        pt.soc    = sys->soc(sys->ctx, state);
        pt.record = (PetscBool)(st->period_s <= 0 || onp || done);
        if (mon) PetscCall(mon(&pt, &res, ctx));
        if (!crossed && st->duration_s < 0 && ts > 1000 * 3600)
          SETERRQ(sys->comm, PETSC_ERR_USER_INPUT,
                  "experiment step %" PetscInt_FMT
                  " \"%s\": no cut-off after 1000 hours; it can never be reached",
                  s + 1, st->text);
        if (hook && !(done && (s == exp->n - 1 || limit_hit))) {
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
            PetscFunctionReturn(0);
          }
        }
      }
    }
  }
  sum->t_end_s = t;
  PetscFunctionReturn(0);
}

PetscErrorCode TCExperimentRunSystem(TCExperiment exp, const TCExperimentSystem *sys,
                                     const TCExperimentOptions *opt, const TCExperimentCursor *from,
                                     PetscReal state[], TCExperimentMonitor mon, void *ctx,
                                     TCExperimentHook hook, void *hctx, TCExperimentSummary *sum,
                                     PetscBool *stopped)
{
  PetscReal     *trial = NULL, *trial2 = NULL;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  ierr = ExperimentRunSystem(exp, sys, opt, from, state, mon, ctx, hook, hctx, sum, stopped, &trial,
                             &trial2);
  PetscCall(PetscFree2(trial, trial2)); /* also when a step failed */
  PetscCall(ierr);
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
