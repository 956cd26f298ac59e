/*
 * Sweep files: parse, check and expand into tasks (see sweep.h).
 */
#include "io/sweep.h"
#include "io/deck.h"

/* the task cap of every kind (product, zip, lhs): a million tasks */
#define TC_SWEEP_MAXTASKS 1000000
#include "src/tc.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* splitmix64: the LHS permutations only need a reproducible stream */
static double SweepRandom(unsigned long long *s)
{
  unsigned long long z = (*s += 0x9e3779b97f4a7c15ULL);
  z                    = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z                    = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

typedef struct {
  char      key[128];
  char    **vals; /* list or range values; NULL for an lhs interval */
  PetscInt  n;
  double    lo, hi, from, to;
  PetscInt  num;
  PetscBool has_from, has_to, has_num, has_min, has_max, logscale, list;
} SweepParam;

static PetscErrorCode SplitList(const char *text, char ***vals, PetscInt *n)
{
  PetscInt    cap = 8;
  const char *c   = text;

  PetscFunctionBeginUser;
  *n = 0;
  PetscCall(PetscMalloc1(cap, vals));
  while (*c) {
    const char *e   = strchr(c, ',');
    size_t      len = e ? (size_t)(e - c) : strlen(c);
    while (len && isspace((unsigned char)*c)) c++, len--;
    while (len && isspace((unsigned char)c[len - 1])) len--;
    if (*n == cap) {
      char **more;
      PetscCall(PetscMalloc1(2 * cap, &more));
      PetscCall(PetscArraycpy(more, *vals, cap));
      PetscCall(PetscFree(*vals));
      *vals = more, cap *= 2;
    }
    PetscCall(PetscMalloc1(len + 1, &(*vals)[*n]));
    memcpy((*vals)[*n], c, len);
    (*vals)[*n][len] = 0;
    (*n)++;
    if (!e) break;
    c = e + 1;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode ParseReal(MPI_Comm comm, const char *path, const char *key, const char *what,
                                const char *text, double *v)
{
  char *end;

  PetscFunctionBeginUser;
  *v = strtod(text, &end);
  PetscCheck(end != text && !*end && isfinite(*v), comm, PETSC_ERR_USER_INPUT,
             "%s: parameter %s: %s = '%s' is not a number", path, key, what, text);
  PetscFunctionReturn(0);
}

/* What SweepLoad() holds while it reads; TCSweepLoad() frees it, also when the
   load stops on an error (a refused sweep must not leak its options and values). */
typedef struct {
  PetscOptions opts;
  PetscInt     N;
  char       **names, **values; /* of PetscOptionsLeftGet, NULL when not taken */
  SweepParam  *P;
  PetscInt     np;
} SweepLoadHeld;

static PetscErrorCode SweepLoad(MPI_Comm comm, const char path[], const char *const keys[],
                                PetscInt nkeys, TCSweep *sw, SweepLoadHeld *h)
{
  PetscErrorCode ierr;
  PetscInt       N, np;
  char         **names, **values;
  SweepParam    *P;
  const char    *kinds[] = {"product", "zip", "lhs"};

  PetscFunctionBeginUser;
  sw->samples = 0, sw->ranks = 1, sw->seed = 1;
  PetscCheck(access(path, R_OK) == 0, comm, PETSC_ERR_FILE_OPEN, "cannot read sweep file %s", path);
  {
    const char *base = strrchr(path, '/');
    char       *dot;
    PetscCall(PetscStrncpy(sw->name, base ? base + 1 : path, sizeof(sw->name)));
    dot = strrchr(sw->name, '.');
    if (dot && dot != sw->name) *dot = 0;
  }
  PetscCall(TCYAMLCheckFile(comm, path, "sweep file"));
  PetscCall(PetscOptionsCreate(&h->opts));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = PetscOptionsInsertFileYAML(comm, h->opts, path, PETSC_TRUE);
  PetscCall(PetscPopErrorHandler());
  PetscCheck(!ierr, comm, PETSC_ERR_FILE_UNEXPECTED,
             "sweep file %s is not valid YAML; check indentation, colons and brackets", path);
  PetscCall(PetscOptionsLeftGet(h->opts, &h->N, &h->names, &h->values));
  N = h->N, names = h->names, values = h->values;
  PetscCall(PetscCalloc1(N + 1, &h->P));
  P = h->P;
  for (PetscInt i = 0; i < N; i++) {
    const char *nm = names[i], *v = values[i] ? values[i] : "";
    if (!strncmp(nm, "parameters_", 11)) {
      const char *key = nm + 11, *sub[] = {"_from", "_to", "_num", "_log", "_min", "_max"};
      char        base[128];
      int         which = -1;
      SweepParam *p     = NULL;
      PetscCall(PetscStrncpy(base, key, sizeof(base)));
      for (int s = 0; s < 6; s++) {
        size_t lb = strlen(base), ls = strlen(sub[s]);
        if (lb > ls && !strcmp(base + lb - ls, sub[s])) {
          /* "load_current_A_from" is a range field unless the whole name is a key */
          PetscBool iskey = PETSC_FALSE;
          for (PetscInt k = 0; k < nkeys; k++)
            if (!strcmp(keys[k], base)) iskey = PETSC_TRUE;
          if (!iskey) {
            base[lb - ls] = 0;
            which         = s;
          }
          break;
        }
      }
      for (PetscInt k = 0; k < h->np; k++)
        if (!strcmp(P[k].key, base)) p = &P[k];
      if (!p) {
        p = &P[h->np++];
        PetscCall(PetscStrncpy(p->key, base, sizeof(p->key)));
      }
      if (which < 0) {
        p->list = PETSC_TRUE;
        PetscCall(SplitList(v, &p->vals, &p->n));
      } else if (which == 0) {
        PetscCall(ParseReal(comm, path, base, "from", v, &p->from));
        p->has_from = PETSC_TRUE;
      } else if (which == 1) {
        PetscCall(ParseReal(comm, path, base, "to", v, &p->to));
        p->has_to = PETSC_TRUE;
      } else if (which == 2) {
        double d;
        PetscCall(ParseReal(comm, path, base, "num", v, &d));
        PetscCheck(d >= 1 && d == floor(d), comm, PETSC_ERR_USER_INPUT,
                   "%s: parameter %s: num = %s must be a positive integer (an empty range has no "
                   "tasks)",
                   path, base, v);
        PetscCheck(d < TC_SWEEP_MAXTASKS, comm, PETSC_ERR_USER_INPUT,
                   "%s: parameter %s: num = %s; a sweep has at most %d tasks", path, base, v,
                   TC_SWEEP_MAXTASKS - 1);
        p->num = (PetscInt)d, p->has_num = PETSC_TRUE;
      } else if (which == 3) {
        p->logscale = (!strcasecmp(v, "true") || !strcmp(v, "1")) ? PETSC_TRUE : PETSC_FALSE;
      } else if (which == 4) {
        PetscCall(ParseReal(comm, path, base, "min", v, &p->lo));
        p->has_min = PETSC_TRUE;
      } else {
        PetscCall(ParseReal(comm, path, base, "max", v, &p->hi));
        p->has_max = PETSC_TRUE;
      }
    } else if (!strcmp(nm, "sweep_command"))
      PetscCall(PetscStrncpy(sw->command, v, sizeof(sw->command)));
    else if (!strcmp(nm, "sweep_input"))
      PetscCall(PetscStrncpy(sw->input, v, sizeof(sw->input)));
    else if (!strcmp(nm, "sweep_output"))
      PetscCall(PetscStrncpy(sw->output, v, sizeof(sw->output)));
    else if (!strcmp(nm, "sweep_kind")) {
      PetscInt k;
      for (k = 0; k < 3 && strcmp(v, kinds[k]); k++) {}
      PetscCheck(k < 3, comm, PETSC_ERR_USER_INPUT,
                 "%s: sweep kind '%s' is not one of product, zip, lhs", path, v);
      sw->kind = (TCSweepKind)k;
    } else if (!strcmp(nm, "sweep_samples") || !strcmp(nm, "sweep_seed") ||
               !strcmp(nm, "sweep_ranks")) {
      double d;
      PetscCall(ParseReal(comm, path, nm, "value", v, &d));
      PetscCheck(d >= (strcmp(nm, "sweep_seed") ? 1 : 0) && d == floor(d), comm,
                 PETSC_ERR_USER_INPUT, "%s: %s = %s must be a positive integer", path, nm + 6, v);
      PetscCheck(strcmp(nm, "sweep_samples") || d < TC_SWEEP_MAXTASKS, comm, PETSC_ERR_USER_INPUT,
                 "%s: %s = %s; a sweep has at most %d tasks (split it into several sweeps)", path,
                 nm + 6, v, TC_SWEEP_MAXTASKS - 1);
      if (!strcmp(nm, "sweep_samples"))
        sw->samples = (PetscInt)d;
      else if (!strcmp(nm, "sweep_seed"))
        sw->seed = (long long)d;
      else
        sw->ranks = (PetscInt)d;
    } else if (!strcmp(nm, "gather_outputs"))
      PetscCall(SplitList(v, &sw->outputs, &sw->nout));
    else if (!strcmp(nm, "gather_plot_x"))
      PetscCall(PetscStrncpy(sw->plot_x, v, sizeof(sw->plot_x)));
    else if (!strcmp(nm, "gather_plot_y"))
      PetscCall(PetscStrncpy(sw->plot_y, v, sizeof(sw->plot_y)));
    else
      SETERRQ(comm, PETSC_ERR_USER_INPUT,
              "%s: unknown sweep key '%s' (the sections are sweep: command, input, kind, samples, "
              "seed, output, ranks; parameters: deck keys; gather: outputs, plot_x, plot_y)",
              path, nm);
  }
  PetscCheck(sw->command[0], comm, PETSC_ERR_USER_INPUT, "%s: sweep: command is missing", path);
  PetscCheck(h->np > 0, comm, PETSC_ERR_USER_INPUT, "%s: parameters: is missing or empty", path);
  if (!sw->output[0]) {
    PetscCall(PetscStrncpy(sw->output, "output/", sizeof(sw->output)));
    PetscCall(PetscStrlcat(sw->output, sw->name, sizeof(sw->output)));
  }

  /* check every parameter against the command's keys, then build its values */
  np = h->np;
  for (PetscInt k = 0; k < np; k++) {
    SweepParam *p     = &P[k];
    PetscBool   known = PETSC_FALSE;
    for (PetscInt j = 0; j < nkeys; j++)
      if (!strcmp(keys[j], p->key)) known = PETSC_TRUE;
    if (!known) {
      const char *close = TCClosestName(p->key, keys, nkeys);
      SETERRQ(comm, PETSC_ERR_USER_INPUT,
              "%s: parameter '%s' is not a key of tomocell %s%s%s%s (tomocell %s --help lists "
              "them)",
              path, p->key, sw->command, close ? "; did you mean '" : "", close ? close : "",
              close ? "'?" : "", sw->command);
    }
    if (sw->kind == TC_SWEEP_LHS) {
      PetscCheck(!p->list && p->has_min && p->has_max, comm, PETSC_ERR_USER_INPUT,
                 "%s: parameter %s: an lhs sweep needs {min: a, max: b} intervals", path, p->key);
      PetscCheck(p->hi > p->lo, comm, PETSC_ERR_USER_INPUT,
                 "%s: parameter %s: empty interval [%g, %g]", path, p->key, p->lo, p->hi);
      continue;
    }
    if (!p->list) {
      PetscCheck(p->has_from && p->has_to && p->has_num, comm, PETSC_ERR_USER_INPUT,
                 "%s: parameter %s: give a list [a, b, ...] or a range {from: a, to: b, num: n}",
                 path, p->key);
      PetscCheck(!p->logscale || (p->from > 0 && p->to > 0), comm, PETSC_ERR_USER_INPUT,
                 "%s: parameter %s: a log range needs positive ends", path, p->key);
      PetscCall(PetscCalloc1(p->num, &p->vals)); /* zeroed: freed up to n on an error */
      p->n = p->num;
      for (PetscInt i = 0; i < p->n; i++) {
        double t = p->n > 1 ? (double)i / (double)(p->n - 1) : 0, v;
        v        = p->logscale ? exp(log(p->from) + t * (log(p->to) - log(p->from)))
                               : p->from + t * (p->to - p->from);
        PetscCall(PetscMalloc1(32, &p->vals[i]));
        snprintf(p->vals[i], 32, "%.10g", v);
      }
    }
    PetscCheck(p->n > 0 && p->vals[0][0], comm, PETSC_ERR_USER_INPUT,
               "%s: parameter %s has no values", path, p->key);
  }

  /* expand */
  sw->nparams = np;
  PetscCall(PetscMalloc1(np, &sw->params));
  for (PetscInt k = 0; k < np; k++) PetscCall(PetscStrallocpy(P[k].key, &sw->params[k]));
  if (sw->kind == TC_SWEEP_PRODUCT) {
    sw->ntasks = 1;
    for (PetscInt k = 0; k < np; k++) {
      PetscCheck((double)sw->ntasks * P[k].n < TC_SWEEP_MAXTASKS, comm, PETSC_ERR_USER_INPUT,
                 "%s: the product has over a million tasks", path);
      sw->ntasks *= P[k].n;
    }
  } else if (sw->kind == TC_SWEEP_ZIP) {
    sw->ntasks = P[0].n;
    for (PetscInt k = 1; k < np; k++)
      PetscCheck(P[k].n == sw->ntasks, comm, PETSC_ERR_USER_INPUT,
                 "%s: a zip sweep needs equally long parameters: %s has %d values, %s has %d", path,
                 P[0].key, (int)P[0].n, P[k].key, (int)P[k].n);
  } else {
    PetscCheck(sw->samples > 0, comm, PETSC_ERR_USER_INPUT, "%s: an lhs sweep needs sweep: samples",
               path);
    sw->ntasks = sw->samples;
  }
  PetscCall(PetscCalloc1(sw->ntasks * np, &sw->values));
  if (sw->kind == TC_SWEEP_LHS) {
    unsigned long long s = (unsigned long long)sw->seed;
    PetscInt          *perm;
    PetscCall(PetscMalloc1(sw->ntasks, &perm));
    for (PetscInt k = 0; k < np; k++) {
      for (PetscInt i = 0; i < sw->ntasks; i++) perm[i] = i;
      for (PetscInt i = sw->ntasks - 1; i > 0; i--) { /* Fisher-Yates */
        PetscInt j = (PetscInt)(SweepRandom(&s) * (double)(i + 1)), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
      }
      for (PetscInt i = 0; i < sw->ntasks; i++) {
        double u = (perm[i] + SweepRandom(&s)) / (double)sw->ntasks;
        PetscCall(PetscMalloc1(32, &sw->values[i * np + k]));
        snprintf(sw->values[i * np + k], 32, "%.10g", P[k].lo + u * (P[k].hi - P[k].lo));
      }
    }
    PetscCall(PetscFree(perm));
  } else {
    for (PetscInt i = 0; i < sw->ntasks; i++) {
      PetscInt rest = i;
      for (PetscInt k = np - 1; k >= 0; k--) {
        PetscInt j = sw->kind == TC_SWEEP_ZIP ? i : rest % P[k].n;
        rest /= sw->kind == TC_SWEEP_ZIP ? 1 : P[k].n;
        PetscCall(PetscStrallocpy(P[k].vals[j], &sw->values[i * np + k]));
      }
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCSweepLoad(MPI_Comm comm, const char path[], const char *const keys[],
                           PetscInt nkeys, TCSweep *sw)
{
  SweepLoadHeld  h;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&h, sizeof(h)));
  PetscCall(PetscMemzero(sw, sizeof(*sw)));
  ierr = SweepLoad(comm, path, keys, nkeys, sw, &h);
  if (h.names) PetscCall(PetscOptionsLeftRestore(h.opts, &h.N, &h.names, &h.values));
  PetscCall(PetscOptionsDestroy(&h.opts));
  for (PetscInt k = 0; h.P && k < h.np; k++) {
    for (PetscInt i = 0; i < h.P[k].n && h.P[k].vals; i++) PetscCall(PetscFree(h.P[k].vals[i]));
    PetscCall(PetscFree(h.P[k].vals));
  }
  PetscCall(PetscFree(h.P));
  /* a refused sweep leaves nothing to free (its partial tasks are freed here) */
  if (ierr) PetscCall(TCSweepFree(sw));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode TCSweepPeekCommand(MPI_Comm comm, const char path[], char cmd[], size_t len)
{
  PetscOptions   opts;
  PetscErrorCode ierr;
  PetscBool      set = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCheck(access(path, R_OK) == 0, comm, PETSC_ERR_FILE_OPEN, "cannot read sweep file %s", path);
  PetscCall(TCYAMLCheckFile(comm, path, "sweep file"));
  PetscCall(PetscOptionsCreate(&opts));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = PetscOptionsInsertFileYAML(comm, opts, path, PETSC_TRUE);
  if (!ierr) ierr = PetscOptionsGetString(opts, NULL, "-sweep_command", cmd, len, &set);
  PetscCall(PetscPopErrorHandler());
  PetscCall(PetscOptionsDestroy(&opts));
  PetscCheck(!ierr, comm, PETSC_ERR_FILE_UNEXPECTED,
             "sweep file %s is not valid YAML; check indentation, colons and brackets", path);
  PetscCheck(set && cmd[0], comm, PETSC_ERR_USER_INPUT, "%s: sweep: command is missing", path);
  PetscFunctionReturn(0);
}

PetscErrorCode TCSweepFree(TCSweep *sw)
{
  PetscFunctionBeginUser;
  /* also of a sweep whose load stopped half-way (counts set, arrays not yet), and twice */
  for (PetscInt i = 0; sw->values && i < sw->ntasks * sw->nparams; i++)
    PetscCall(PetscFree(sw->values[i]));
  for (PetscInt k = 0; sw->params && k < sw->nparams; k++) PetscCall(PetscFree(sw->params[k]));
  for (PetscInt k = 0; sw->outputs && k < sw->nout; k++) PetscCall(PetscFree(sw->outputs[k]));
  PetscCall(PetscFree(sw->values));
  PetscCall(PetscFree(sw->params));
  PetscCall(PetscFree(sw->outputs));
  sw->ntasks = sw->nparams = sw->nout = 0;
  PetscFunctionReturn(0);
}

/* ---- a minimal JSON path reader ----------------------------------------- */

static const char *JsonSkipWs(const char *c)
{
  while (*c && isspace((unsigned char)*c)) c++;
  return c;
}

static const char *JsonSkipValue(const char *c);

static const char *JsonSkipString(const char *c) /* at the opening quote */
{
  for (c++; *c && *c != '"'; c++)
    if (*c == '\\' && c[1]) c++;
  return *c ? c + 1 : c;
}

static const char *JsonSkipValue(const char *c)
{
  c = JsonSkipWs(c);
  if (*c == '"') return JsonSkipString(c);
  if (*c == '{' || *c == '[') {
    char close = *c == '{' ? '}' : ']';
    c          = JsonSkipWs(c + 1);
    while (*c && *c != close) {
      c = JsonSkipValue(c); /* key or element */
      c = JsonSkipWs(c);
      if (*c == ':') c = JsonSkipValue(c + 1), c = JsonSkipWs(c);
      if (*c == ',')
        c = JsonSkipWs(c + 1);
      else if (*c != close)
        return c + strlen(c); /* malformed */
    }
    return *c ? c + 1 : c;
  }
  while (*c && *c != ',' && *c != '}' && *c != ']' && !isspace((unsigned char)*c)) c++;
  return c;
}

PetscErrorCode TCJsonLookup(const char *json, const char *path, double *value, PetscBool *found)
{
  const char *c = JsonSkipWs(json), *seg = path;

  PetscFunctionBeginUser;
  *found = PETSC_FALSE;
  *value = NAN;
  while (1) {
    const char *dot = strchr(seg, '.');
    size_t      len = dot ? (size_t)(dot - seg) : strlen(seg);
    PetscBool   hit = PETSC_FALSE;
    if (*c != '{') PetscFunctionReturn(0);
    c = JsonSkipWs(c + 1);
    while (*c == '"') {
      const char *k = c + 1, *e = JsonSkipString(c);
      c = JsonSkipWs(e);
      if (*c != ':') PetscFunctionReturn(0);
      c = JsonSkipWs(c + 1);
      if ((size_t)(e - 1 - k) == len && !strncmp(k, seg, len)) {
        hit = PETSC_TRUE;
        break;
      }
      c = JsonSkipWs(JsonSkipValue(c));
      if (*c == ',') c = JsonSkipWs(c + 1);
    }
    if (!hit) PetscFunctionReturn(0);
    if (!dot) break;
    seg = dot + 1;
  }
  if (!strncmp(c, "null", 4)) {
    *found = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  if (!strncmp(c, "true", 4) || !strncmp(c, "false", 5)) {
    *value = c[0] == 't', *found = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  {
    char *end;
    *value = strtod(c, &end);
    *found = end != c ? PETSC_TRUE : PETSC_FALSE;
  }
  PetscFunctionReturn(0);
}
