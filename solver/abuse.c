/*
 * Abuse-reaction kinetics (see abuse.h for the model).
 *
 * Time stepping: backward Euler per reaction at the given temperature. With
 * T fixed the reactions decouple (z_sei = z_old + c_neg,old - c_neg is the
 * exact integral of dz/dt = -dc_neg/dt), so each step is four scalar
 * equations f(x) = x - x_old + s dt k g(x) = 0 (s = +1 for a consumed
 * fraction, -1 for the positive conversion alpha). f is negative at one end
 * of the physical bracket ([0, x_old], resp. [alpha_old, 1]) and positive at
 * the other for any dt, so a Newton iteration that falls back to bisection
 * when it leaves the bracket always converges to a state in range. The heat
 * is taken from the state change itself, which makes the energy balance
 * exact: q dt = E(old) - E(new).
 */
#include "solver/abuse.h"
#include "solver/cellparams.h" /* TC_RGAS, TCCellParamsDir */
#include "io/jsonparse.h"
#include "io/output.h"
#include <ctype.h>
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <unistd.h>

const char *const TCAbuseReactionNames[] = {"sei", "negative", "positive", "electrolyte"};
const char *const TCAbuseStateNames[]    = {"c_sei", "c_neg", "z_sei", "alpha", "c_e"};

/* the JSON section of each reaction, in TCAbuseReaction order */
static const char *const AbuseSections[] = {"SEI decomposition", "Negative electrode-electrolyte",
                                            "Positive electrode-electrolyte",
                                            "Electrolyte decomposition"};

typedef struct {
  PetscReal A_s, Ea_J_mol, H_J_kg, W_kg_m3;
  PetscReal x0, x0_empty; /* initial state, fully charged and at zero SOC (< 0: absent) */
  PetscReal m1, m2;       /* reaction orders (m2: positive only, in 1 - alpha) */
  PetscReal z0, zref;     /* negative only: dimensionless SEI thickness */
} TCAbuseRxn;

struct _p_TCAbuseSet {
  char           *title, *citation;
  char            file[PETSC_MAX_PATH_LEN];
  TCAbuseRxn      r[TC_ABUSE_NREACTIONS];
  TCAbuseCellData cell;
};

/* ---- reading ------------------------------------------------------------ */

typedef enum { RANGE_POS, RANGE_NONNEG, RANGE_UNIT, RANGE_UNIT_OPEN_RIGHT } TCAbuseRange;

static PetscErrorCode AbuseReal(const char file[], const TCJsonValue *sec, const char secname[],
                                const char key[], TCAbuseRange range, PetscBool required,
                                PetscReal defval, PetscReal *v)
{
  const TCJsonValue *x      = TCJsonGet(sec, key);
  static const char *what[] = {"positive", "non-negative", "in [0, 1]", "in [0, 1)"};
  PetscBool          ok     = PETSC_FALSE;

  PetscFunctionBeginUser;
  if (!x) {
    PetscCheck(!required, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: missing parameter \"%s\" -> \"%s\" (a number)", file, secname, key);
    *v = defval;
    PetscFunctionReturn(0);
  }
  PetscCheck(x->type == TC_JSON_NUMBER, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s:%d: \"%s\" -> \"%s\" must be a number", file, x->line, secname, key);
  *v = x->number;
  switch (range) {
  case RANGE_POS:
    ok = (PetscBool)(*v > 0);
    break;
  case RANGE_NONNEG:
    ok = (PetscBool)(*v >= 0);
    break;
  case RANGE_UNIT:
    ok = (PetscBool)(*v >= 0 && *v <= 1);
    break;
  case RANGE_UNIT_OPEN_RIGHT:
    ok = (PetscBool)(*v >= 0 && *v < 1);
    break;
  }
  PetscCheck(ok && isfinite(*v), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s:%d: \"%s\" -> \"%s\" = %g is not physical: must be %s", file, x->line, secname,
             key, (double)*v, what[range]);
  PetscFunctionReturn(0);
}

static PetscErrorCode AbuseString(const char file[], const TCJsonValue *sec, const char secname[],
                                  const char key[], char **s)
{
  const TCJsonValue *x = TCJsonGet(sec, key);

  PetscFunctionBeginUser;
  PetscCheck(x, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: missing \"%s\" -> \"%s\" (a string)",
             file, secname, key);
  PetscCheck(x->type == TC_JSON_STRING && x->string[0], PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s:%d: \"%s\" -> \"%s\" must be a non-empty string", file, x->line, secname, key);
  PetscCall(PetscStrallocpy(x->string, s));
  PetscFunctionReturn(0);
}

static PetscErrorCode AbuseSection(const char file[], const TCJsonValue *parent,
                                   const char parentname[], const char name[], PetscBool required,
                                   const TCJsonValue **sec)
{
  PetscFunctionBeginUser;
  *sec = TCJsonGet(parent, name);
  PetscCheck(*sec || !required, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: not an abuse-kinetics set: missing section \"%s\"%s%s%s", file,
             parentname ? parentname : name, parentname ? " -> \"" : "", parentname ? name : "",
             parentname ? "\"" : "");
  PetscCheck(!*sec || (*sec)->type == TC_JSON_OBJECT, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s:%d: \"%s\" must be an object", file, (*sec)->line, name);
  PetscFunctionReturn(0);
}

/* The abuse sets in the parameter directory, "kim2007, ..." */
static PetscErrorCode AbuseSetList(char list[], size_t len)
{
  char           dir[PETSC_MAX_PATH_LEN];
  DIR           *d;
  struct dirent *ent;

  PetscFunctionBeginUser;
  list[0] = 0;
  PetscCall(TCCellParamsDir(dir, sizeof(dir)));
  if (!(d = opendir(dir))) PetscFunctionReturn(0);
  while ((ent = readdir(d))) {
    size_t n = strlen(ent->d_name);
    if (n > 11 && !strncmp(ent->d_name, "abuse_", 6) && !strcmp(ent->d_name + n - 5, ".json")) {
      size_t l = strlen(list);
      snprintf(list + l, len - l, "%s%.*s", l ? ", " : "", (int)(n - 11), ent->d_name + 6);
    }
  }
  closedir(d);
  PetscFunctionReturn(0);
}

static PetscErrorCode AbuseResolve(const char name[], char path[], size_t len)
{
  size_t n = strlen(name);
  char   dir[PETSC_MAX_PATH_LEN], lower[200], file[220];

  PetscFunctionBeginUser;
  PetscCheck(n > 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "empty abuse parameter set name");
  if (strchr(name, '/') || (n > 5 && !strcmp(name + n - 5, ".json"))) {
    PetscCall(PetscStrncpy(path, name, len));
    PetscFunctionReturn(0);
  }
  for (size_t i = 0; i < sizeof(lower) - 1 && i <= n; i++) lower[i] = (char)tolower(name[i]);
  lower[sizeof(lower) - 1] = 0;
  PetscCall(TCCellParamsDir(dir, sizeof(dir)));
  /* "kim2007" and "abuse_kim2007" name the same file */
  snprintf(file, sizeof(file), "%s%s.json", strncmp(lower, "abuse_", 6) ? "abuse_" : "", lower);
  PetscCall(TCPathJoin(dir, file, path, len));
  if (access(path, R_OK)) {
    char list[1024];
    PetscCall(AbuseSetList(list, sizeof(list)));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
            "unknown abuse parameter set '%s': no %s; known sets: %s (or give the path of a JSON "
            "file)",
            name, path, list[0] ? list : "none found");
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode AbuseReadReaction(const char file[], const TCJsonValue *rx, TCAbuseReaction i,
                                        TCAbuseRxn *r)
{
  const char        *sn = AbuseSections[i];
  const TCJsonValue *s;

  PetscFunctionBeginUser;
  PetscCall(AbuseSection(file, rx, "Reactions", sn, PETSC_TRUE, &s));
  PetscCall(AbuseReal(file, s, sn, "Frequency factor [s-1]", RANGE_POS, PETSC_TRUE, 0, &r->A_s));
  PetscCall(AbuseReal(file, s, sn, "Activation energy [J.mol-1]", RANGE_POS, PETSC_TRUE, 0,
                      &r->Ea_J_mol));
  PetscCall(AbuseReal(file, s, sn, "Reaction enthalpy [J.kg-1]", RANGE_NONNEG, PETSC_TRUE, 0,
                      &r->H_J_kg));
  PetscCall(AbuseReal(file, s, sn, "Specific reactant content [kg.m-3]", RANGE_NONNEG, PETSC_TRUE,
                      0, &r->W_kg_m3));
  r->m2 = 0;
  r->z0 = 0, r->zref = 1;
  if (i == TC_ABUSE_POS) {
    /* alpha0 = 0 would never start (the rate is autocatalytic), alpha0 = 1 is spent */
    PetscCall(AbuseReal(file, s, sn, "Initial conversion [-]", RANGE_UNIT_OPEN_RIGHT, PETSC_TRUE, 0,
                        &r->x0));
    PetscCall(AbuseReal(file, s, sn, "Initial conversion at zero SOC [-]", RANGE_UNIT, PETSC_FALSE,
                        -1, &r->x0_empty));
    PetscCall(AbuseReal(file, s, sn, "Reaction order in conversion [-]", RANGE_NONNEG, PETSC_TRUE,
                        0, &r->m1));
    /* m2 > 0 keeps alpha <= 1: the rate vanishes at alpha = 1 */
    PetscCall(AbuseReal(file, s, sn, "Reaction order in remaining [-]", RANGE_POS, PETSC_TRUE, 0,
                        &r->m2));
  } else {
    PetscCall(AbuseReal(file, s, sn, "Initial fraction [-]", RANGE_UNIT, PETSC_TRUE, 0, &r->x0));
    if (i == TC_ABUSE_NEG)
      PetscCall(AbuseReal(file, s, sn, "Initial fraction at zero SOC [-]", RANGE_UNIT, PETSC_FALSE,
                          -1, &r->x0_empty));
    else
      r->x0_empty = -1;
    /* m > 0 keeps the fraction >= 0: the rate vanishes at x = 0 */
    PetscCall(AbuseReal(file, s, sn, "Reaction order [-]", RANGE_POS, PETSC_TRUE, 0, &r->m1));
  }
  if (i == TC_ABUSE_NEG) {
    PetscCall(AbuseReal(file, s, sn, "Initial dimensionless SEI thickness [-]", RANGE_NONNEG,
                        PETSC_TRUE, 0, &r->z0));
    PetscCall(AbuseReal(file, s, sn, "Reference dimensionless SEI thickness [-]", RANGE_POS,
                        PETSC_TRUE, 0, &r->zref));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCAbuseSetLoad(const char name[], TCAbuseSet *set)
{
  TCAbuseSet         s;
  TCJsonValue       *root = NULL;
  const TCJsonValue *hdr, *rx, *cell;
  char               path[PETSC_MAX_PATH_LEN];

  PetscFunctionBeginUser;
  *set = NULL;
  PetscCall(AbuseResolve(name, path, sizeof(path)));
  PetscCall(TCJsonParseFile(path, &root));
  PetscCall(PetscNew(&s));
  PetscCall(PetscStrncpy(s->file, path, sizeof(s->file)));
  PetscCheck(root->type == TC_JSON_OBJECT, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: not an abuse-kinetics set: the top level must be an object", path);
  PetscCall(AbuseSection(path, root, NULL, "Header", PETSC_TRUE, &hdr));
  PetscCall(AbuseString(path, hdr, "Header", "Title", &s->title));
  PetscCall(AbuseString(path, hdr, "Header", "Citation", &s->citation));
  PetscCall(AbuseSection(path, root, NULL, "Reactions", PETSC_TRUE, &rx));
  for (PetscInt i = 0; i < TC_ABUSE_NREACTIONS; i++)
    PetscCall(AbuseReadReaction(path, rx, (TCAbuseReaction)i, &s->r[i]));
  PetscCall(AbuseSection(path, root, NULL, "Cell", PETSC_FALSE, &cell));
  PetscCall(AbuseReal(path, cell, "Cell", "Volumetric heat capacity [J.m-3.K-1]", RANGE_POS,
                      PETSC_FALSE, 0, &s->cell.rho_cp_J_m3K));
  PetscCall(AbuseReal(path, cell, "Cell", "Heat transfer coefficient [W.m-2.K-1]", RANGE_NONNEG,
                      PETSC_FALSE, 0, &s->cell.h_W_m2K));
  PetscCall(AbuseReal(path, cell, "Cell", "External surface area [m2]", RANGE_POS, PETSC_FALSE, 0,
                      &s->cell.area_m2));
  PetscCall(
      AbuseReal(path, cell, "Cell", "Volume [m3]", RANGE_POS, PETSC_FALSE, 0, &s->cell.volume_m3));
  PetscCall(AbuseReal(path, cell, "Cell", "Initial temperature [K]", RANGE_POS, PETSC_FALSE, 0,
                      &s->cell.T_init_K));
  PetscCall(TCJsonFree(&root));
  *set = s;
  PetscFunctionReturn(0);
}

PetscErrorCode TCAbuseSetDestroy(TCAbuseSet *set)
{
  PetscFunctionBeginUser;
  if (!*set) PetscFunctionReturn(0);
  PetscCall(PetscFree((*set)->title));
  PetscCall(PetscFree((*set)->citation));
  PetscCall(PetscFree(*set));
  PetscFunctionReturn(0);
}

PetscErrorCode TCAbuseSetGetInfo(TCAbuseSet set, const char **title, const char **citation,
                                 const char **file)
{
  PetscFunctionBeginUser;
  if (title) *title = set->title;
  if (citation) *citation = set->citation;
  if (file) *file = set->file;
  PetscFunctionReturn(0);
}

PetscErrorCode TCAbuseSetGetCell(TCAbuseSet set, TCAbuseCellData *cell)
{
  PetscFunctionBeginUser;
  *cell = set->cell;
  PetscFunctionReturn(0);
}

PetscErrorCode TCAbuseStateInit(TCAbuseSet set, PetscReal soc, PetscReal state[])
{
  const TCAbuseRxn *neg = &set->r[TC_ABUSE_NEG], *pos = &set->r[TC_ABUSE_POS];

  PetscFunctionBeginUser;
  if (soc == (PetscReal)PETSC_DEFAULT) soc = 1;
  PetscCheck(soc >= 0 && soc <= 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "state of charge %g is out of range [0, 1]", (double)soc);
  state[TC_ABUSE_C_SEI] = set->r[TC_ABUSE_SEI].x0;
  state[TC_ABUSE_C_NEG] = neg->x0;
  state[TC_ABUSE_Z_SEI] = neg->z0;
  state[TC_ABUSE_ALPHA] = pos->x0;
  state[TC_ABUSE_C_E]   = set->r[TC_ABUSE_ELE].x0;
  if (soc < 1) {
    PetscCheck(neg->x0_empty >= 0 && pos->x0_empty >= 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: a state of charge %g below 1 needs \"%s\" -> \"Initial fraction at zero SOC "
               "[-]\" and \"%s\" -> \"Initial conversion at zero SOC [-]\"; this set has only the "
               "fully charged state",
               set->file, (double)soc, AbuseSections[TC_ABUSE_NEG], AbuseSections[TC_ABUSE_POS]);
    state[TC_ABUSE_C_NEG] = neg->x0_empty + soc * (neg->x0 - neg->x0_empty);
    state[TC_ABUSE_ALPHA] = pos->x0_empty + soc * (pos->x0 - pos->x0_empty);
  }
  PetscFunctionReturn(0);
}

/* ---- kinetics ----------------------------------------------------------- */

static inline PetscReal AbuseK(const TCAbuseRxn *r, PetscReal T_K)
{
  return r->A_s * PetscExpReal(-r->Ea_J_mol / (TC_RGAS * T_K));
}

/* Rate shape g(x) >= 0 (rate = k g) and dg/dx; zold, xold only for the
   negative reaction, whose z = zold + xold - x. */
static void AbuseShape(const TCAbuseRxn *r, TCAbuseReaction i, PetscReal x, PetscReal xold,
                       PetscReal zold, PetscReal *g, PetscReal *dg)
{
  switch (i) {
  case TC_ABUSE_POS: {
    PetscReal a = PetscPowReal(x, r->m1), b = PetscPowReal(1 - x, r->m2);
    PetscReal da = r->m1 == 0 ? 0 : r->m1 * PetscPowReal(x, r->m1 - 1);
    PetscReal db = -r->m2 * PetscPowReal(1 - x, r->m2 - 1);
    *g           = a * b;
    *dg          = da * b + a * db;
    break;
  }
  case TC_ABUSE_NEG: {
    PetscReal e = PetscExpReal(-(zold + xold - x) / r->zref), p = PetscPowReal(x, r->m1);
    *g  = e * p;
    *dg = e * (p / r->zref + r->m1 * PetscPowReal(x, r->m1 - 1));
    break;
  }
  default:
    *g  = PetscPowReal(x, r->m1);
    *dg = r->m1 * PetscPowReal(x, r->m1 - 1);
  }
}

/* Solve f(x) = x - xold + s kdt g(x) = 0 in the bracket [lo, hi] where f(lo)
   <= 0 <= f(hi); returns x, g(x) and f'(x). */
static PetscErrorCode AbuseSolve(const TCAbuseRxn *r, TCAbuseReaction i, PetscReal xold,
                                 PetscReal zold, PetscReal kdt, PetscReal *x_out, PetscReal *g_out,
                                 PetscReal *fx_out)
{
  const PetscReal s  = i == TC_ABUSE_POS ? -1 : 1;
  PetscReal       lo = i == TC_ABUSE_POS ? xold : 0, hi = i == TC_ABUSE_POS ? 1 : xold;
  PetscReal       x = xold, g = 0, dg = 0, f = 0, fx = 1;
  PetscInt        it;

  PetscFunctionBeginUser;
  for (it = 0; it < 300; it++) {
    PetscReal xn;
    AbuseShape(r, i, x, xold, zold, &g, &dg);
    f  = x - xold + s * kdt * g;
    fx = 1 + s * kdt * dg;
    /* f is measured in units of the fraction, which is O(1) */
    if (PetscAbsReal(f) <= 4 * DBL_EPSILON * PetscMax(1, kdt * g)) break;
    if (f < 0)
      lo = x;
    else
      hi = x;
    if (hi - lo <= 2 * DBL_EPSILON * PetscMax(PetscAbsReal(x), DBL_MIN)) break;
    xn = isfinite(fx) && fx > 0 ? x - f / fx : -1;
    if (!(xn > lo && xn < hi)) xn = 0.5 * (lo + hi);
    x = xn;
  }
  PetscCheck(it < 300, PETSC_COMM_SELF, PETSC_ERR_PLIB,
             "abuse reaction %s: the bracketed Newton iteration did not converge (x_old %g, k dt "
             "%g)",
             TCAbuseReactionNames[i], (double)xold, (double)kdt);
  *x_out  = x;
  *g_out  = g;
  *fx_out = fx;
  PetscFunctionReturn(0);
}

static PetscErrorCode AbuseCheckState(TCAbuseSet set, const PetscReal x[])
{
  PetscFunctionBeginUser;
  for (PetscInt j = 0; j < TC_ABUSE_NSTATE; j++) {
    PetscReal hi = j == TC_ABUSE_Z_SEI ? PETSC_MAX_REAL : 1;
    PetscCheck(x[j] >= 0 && x[j] <= hi, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
               "abuse state %s = %g is out of range [0, %g]", TCAbuseStateNames[j], (double)x[j],
               (double)hi);
  }
  PetscFunctionReturn(0);
}

/* the state entry each reaction advances */
static const PetscInt AbuseStateOf[TC_ABUSE_NREACTIONS] = {TC_ABUSE_C_SEI, TC_ABUSE_C_NEG,
                                                           TC_ABUSE_ALPHA, TC_ABUSE_C_E};

PetscErrorCode TCAbuseStep(TCAbuseSet set, const PetscReal xo[], PetscReal T_K, PetscReal dt_s,
                           PetscReal xn[], PetscReal *q_W_m3, PetscReal *dq_dT_W_m3K)
{
  PetscReal old[TC_ABUSE_NSTATE], dq = 0;

  PetscFunctionBeginUser;
  PetscCheck(T_K > 0 && isfinite(T_K), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "abuse step: temperature %g K is not positive", (double)T_K);
  PetscCheck(dt_s >= 0 && isfinite(dt_s), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "abuse step: time step %g s is negative", (double)dt_s);
  PetscCall(AbuseCheckState(set, xo));
  for (PetscInt j = 0; j < TC_ABUSE_NSTATE; j++) old[j] = xo[j]; /* xn may alias xo */
  for (PetscInt j = 0; j < TC_ABUSE_NSTATE; j++) xn[j] = old[j];
  if (dt_s == 0) {
    if (q_W_m3) *q_W_m3 = 0;
    if (dq_dT_W_m3K) *dq_dT_W_m3K = 0;
    PetscFunctionReturn(0);
  }
  for (PetscInt i = 0; i < TC_ABUSE_NREACTIONS; i++) {
    const TCAbuseRxn *r  = &set->r[i];
    PetscInt          j  = AbuseStateOf[i];
    PetscReal         k  = AbuseK(r, T_K), x, g, fx;
    PetscReal         dk = k * r->Ea_J_mol / (TC_RGAS * T_K * T_K); /* dk/dT */

    PetscCall(
        AbuseSolve(r, (TCAbuseReaction)i, old[j], old[TC_ABUSE_Z_SEI], k * dt_s, &x, &g, &fx));
    xn[j] = x;
    /* consumed amount Delta(T): d Delta / dT = dt (dk/dT) g / f'(x); q = H W Delta / dt */
    if (g > 0) {
      PetscCheck(fx > 0, PETSC_COMM_SELF, PETSC_ERR_NOT_CONVERGED,
                 "abuse reaction %s: the step of %g s at %g K has no locally unique solution "
                 "(df/dx = %g); take a smaller step",
                 TCAbuseReactionNames[i], (double)dt_s, (double)T_K, (double)fx);
      dq += r->H_J_kg * r->W_kg_m3 * dk * g / fx;
    }
  }
  xn[TC_ABUSE_Z_SEI] = old[TC_ABUSE_Z_SEI] + (old[TC_ABUSE_C_NEG] - xn[TC_ABUSE_C_NEG]);
  if (q_W_m3) {
    PetscReal qi[TC_ABUSE_NREACTIONS];
    PetscCall(TCAbuseStepHeat(set, old, xn, dt_s, qi));
    *q_W_m3 = qi[0] + qi[1] + qi[2] + qi[3];
  }
  if (dq_dT_W_m3K) *dq_dT_W_m3K = dq;
  PetscFunctionReturn(0);
}

PetscErrorCode TCAbuseStepHeat(TCAbuseSet set, const PetscReal xo[], const PetscReal xn[],
                               PetscReal dt_s, PetscReal q[])
{
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < TC_ABUSE_NREACTIONS; i++) {
    PetscInt  j     = AbuseStateOf[i];
    PetscReal delta = i == TC_ABUSE_POS ? xn[j] - xo[j] : xo[j] - xn[j];
    q[i]            = dt_s > 0 ? set->r[i].H_J_kg * set->r[i].W_kg_m3 * delta / dt_s : 0;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCAbuseHeatRate(TCAbuseSet set, const PetscReal x[], PetscReal T_K,
                               PetscReal *q_W_m3)
{
  PetscReal q = 0;

  PetscFunctionBeginUser;
  PetscCheck(T_K > 0 && isfinite(T_K), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "abuse heat rate: temperature %g K is not positive", (double)T_K);
  for (PetscInt i = 0; i < TC_ABUSE_NREACTIONS; i++) {
    const TCAbuseRxn *r = &set->r[i];
    PetscReal         g, dg;
    AbuseShape(r, (TCAbuseReaction)i, x[AbuseStateOf[i]], x[AbuseStateOf[i]], x[TC_ABUSE_Z_SEI], &g,
               &dg);
    q += r->H_J_kg * r->W_kg_m3 * AbuseK(r, T_K) * g;
  }
  *q_W_m3 = q;
  PetscFunctionReturn(0);
}

PetscErrorCode TCAbuseStoredEnthalpy(TCAbuseSet set, const PetscReal x[], PetscReal *J_m3)
{
  PetscReal e = 0;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < TC_ABUSE_NREACTIONS; i++) {
    PetscReal left = i == TC_ABUSE_POS ? 1 - x[TC_ABUSE_ALPHA] : x[AbuseStateOf[i]];
    e += set->r[i].H_J_kg * set->r[i].W_kg_m3 * left;
  }
  *J_m3 = e;
  PetscFunctionReturn(0);
}
