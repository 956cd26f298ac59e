/*
 * tomocell fit DECK -measured FILE.csv -fit_params name:lo:hi[:start],...:
 * calibrate deck keys or parameter-set fields so that the model -- one cell
 * (the `tomocell cell` path) or the jelly roll (`tomocell run`, job roll) --
 * reproduces a measured time series (voltage, current, temperatures), by
 * bounded least squares with PETSc TAO (solver/fit.h), e.g.
 *
 *   tomocell fit cell.yaml -measured bench.csv \
 *       -fit_params "neg_sto_min:0:0.1,pos_k_factor:0.2:5" -fit_temperature_columns
 * temperature_K=TC1
 *
 * The residuals are the model's columns interpolated onto the measured times
 * (held at the model's last value where it ended earlier, as when it reaches
 * a cut-off first), minus the measured values, each channel divided by its
 * sigma (-fit_sigma_V, _A, _K). Parameters are deck keys (their value), or
 * fields of the BPX set, "Section/Field" (the number) or "Section/Field*" (a
 * factor on a number, an expression or a table), with short names for the
 * usual ones (neg_sto_min, pos_k_factor, ...: FitAliases below).
 *
 * Several measurements (datasets: fit_datasets_<name>_<key>, a deck's fit:
 * datasets: section) are fitted jointly: each dataset is its own run of the
 * model (its experiment, temperatures, initial SOC set as options for it),
 * and the residual vector is theirs, one after the other.
 *
 * Cell evaluations are serial runs on one rank each, so the Jacobian's
 * columns are shared out over the ranks; a roll evaluation is a full
 * parallel run of the deck (its own discretisation; no plots or field snapshots), one after
 * another. Outputs (in -output, default output/<deck name>/fit/): fit.json,
 * fit_deck.yaml (the deck with the fitted values), fit_params.json (the set
 * with the fitted fields, when any), fit_residuals.csv and fit.png.
 */
#include "src/commands.h"
#include "src/tc.h"
#include "src/run_roll.h"
#include "io/deck.h"
#include "io/json.h"
#include "io/jsonparse.h"
#include "io/output.h"
#include "solver/cellexp.h"
#include "solver/cellparams.h"
#include "solver/fit.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#define FIT_MAXP  64
#define FIT_MAXCH 16

static const TCKey fit_keys[] = {
    {"measured", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "measured CSV: a header line of column names, then one row of numbers per time (required "
     "unless datasets are given, fit_datasets_*)",
     PETSC_TRUE},
    {"fit_datasets_*", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "several measurements fitted jointly: fit_datasets_<name>_<key> (in a deck fit: datasets: "
     "{<name>: {measured: FILE.csv, ...}}; the keys: Datasets below)",
     PETSC_TRUE},
    {"output", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "output directory (default output/<deck name>/fit)", PETSC_TRUE},
    {"fit_model", TC_KEY_ENUM, "auto", 0, 0, PETSC_FALSE, "auto|cell|roll",
     "the model: one cell (tomocell cell) or the roll (tomocell run, job roll); auto: the roll "
     "for a deck with job: roll",
     PETSC_FALSE},
    {"fit_params", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "parameters to fit, name:lo:hi[:start] separated by ',': a real deck key, a set field "
     "'Section/Field' (its number) or 'Section/Field*' (a factor), or a short name (docs/fit.md)",
     PETSC_FALSE},
    {"fit_time_column", TC_KEY_STRING, "time_s", 0, 0, PETSC_FALSE, NULL,
     "measured time column, s (the model starts at t = 0); the header is the first line that "
     "names it (lines before it are skipped)",
     PETSC_FALSE},
    {"fit_time_offset_s", TC_KEY_REAL, "0", -1e300, 1e300, PETSC_FALSE, NULL,
     "subtracted from the measured times: the measured time at which the model starts, s",
     PETSC_FALSE},
    {"fit_rows", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "COLUMN=VALUE,...: only the measured rows whose COLUMNs read these VALUEs (e.g. "
     "Step=13,Cycle=1 of a cycler log)",
     PETSC_TRUE},
    {"fit_voltage_column", TC_KEY_STRING, "voltage_V", 0, 0, PETSC_FALSE, NULL,
     "measured terminal voltage column, V (none: the voltage is not fitted)", PETSC_FALSE},
    {"fit_current_column", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "measured current column, A, discharge positive (fitted when given: holds at a voltage)",
     PETSC_TRUE},
    {"fit_temperature_columns", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "temperatures to fit, model=measured column pairs separated by ',' (the cell's model "
     "column is temperature_K, the roll's T_<probe>_K, T_mean_K, ...)",
     PETSC_TRUE},
    {"fit_temperature_unit", TC_KEY_ENUM, "K", 0, 0, PETSC_FALSE, "K|C",
     "unit of the measured temperature columns", PETSC_FALSE},
    {"fit_sigma_V", TC_KEY_REAL, "1e-3", 0, 1e3, PETSC_TRUE, NULL,
     "scale of the voltage residuals, V (only the ratios of the sigmas weigh)", PETSC_FALSE},
    {"fit_sigma_A", TC_KEY_REAL, "1e-2", 0, 1e6, PETSC_TRUE, NULL,
     "scale of the current residuals, A", PETSC_FALSE},
    {"fit_sigma_K", TC_KEY_REAL, "0.1", 0, 1e3, PETSC_TRUE, NULL,
     "scale of the temperature residuals, K", PETSC_FALSE},
    {"fit_t_min_s", TC_KEY_REAL, NULL, -1e300, 1e300, PETSC_FALSE, NULL,
     "measured rows before this time are not fitted, s (default: from the first row)", PETSC_TRUE},
    {"fit_t_max_s", TC_KEY_REAL, NULL, -1e300, 1e300, PETSC_FALSE, NULL,
     "measured rows after this time are not fitted, s (default: to the last row)", PETSC_TRUE},
    {"fit_fd_step", TC_KEY_REAL, "1e-3", 1e-9, 0.5, PETSC_TRUE, NULL,
     "finite-difference step of the Jacobian, fraction of each parameter's bound range",
     PETSC_FALSE},
    {"fit_step_tol", TC_KEY_REAL, "0.05", 0, 1e3, PETSC_FALSE, NULL,
     "converged when the Gauss-Newton step is below this many standard errors (0: TAO's tests "
     "only)",
     PETSC_FALSE},
    {"fit_plots", TC_KEY_BOOL, "true", 0, 0, PETSC_FALSE, NULL,
     "fit.png: measured against the start and the fit, and the residuals (needs "
     "/usr/bin/python3 with matplotlib)",
     PETSC_FALSE},
    {"fit_verbose", TC_KEY_BOOL, "false", 0, 0, PETSC_FALSE, NULL,
     "show the output of every model run", PETSC_FALSE},
};
static const PetscInt fit_nkeys = (PetscInt)(sizeof(fit_keys) / sizeof(fit_keys[0]));

/* Short names of set fields. factor: the fitted number multiplies the field. */
static const struct {
  const char *alias, *section, *field;
  PetscBool   factor;
} FitAliases[] = {
    {"neg_sto_min", "Negative electrode", "Minimum stoichiometry", PETSC_FALSE},
    {"neg_sto_max", "Negative electrode", "Maximum stoichiometry", PETSC_FALSE},
    {"pos_sto_min", "Positive electrode", "Minimum stoichiometry", PETSC_FALSE},
    {"pos_sto_max", "Positive electrode", "Maximum stoichiometry", PETSC_FALSE},
    {"neg_k_factor", "Negative electrode", "Reaction rate constant [mol.m-2.s-1]", PETSC_TRUE},
    {"pos_k_factor", "Positive electrode", "Reaction rate constant [mol.m-2.s-1]", PETSC_TRUE},
    {"neg_Ea_k", "Negative electrode", "Reaction rate constant activation energy [J.mol-1]",
     PETSC_FALSE},
    {"pos_Ea_k", "Positive electrode", "Reaction rate constant activation energy [J.mol-1]",
     PETSC_FALSE},
    {"neg_D_factor", "Negative electrode", "Diffusivity [m2.s-1]", PETSC_TRUE},
    {"pos_D_factor", "Positive electrode", "Diffusivity [m2.s-1]", PETSC_TRUE},
    {"neg_Ea_D", "Negative electrode", "Diffusivity activation energy [J.mol-1]", PETSC_FALSE},
    {"pos_Ea_D", "Positive electrode", "Diffusivity activation energy [J.mol-1]", PETSC_FALSE},
    {"neg_sigma_factor", "Negative electrode", "Conductivity [S.m-1]", PETSC_TRUE},
    {"pos_sigma_factor", "Positive electrode", "Conductivity [S.m-1]", PETSC_TRUE},
    {"electrolyte_D_factor", "Electrolyte", "Diffusivity [m2.s-1]", PETSC_TRUE},
    {"electrolyte_kappa_factor", "Electrolyte", "Conductivity [S.m-1]", PETSC_TRUE},
    {"h_W_m2K", "Cell", "Heat transfer coefficient [W.m-2.K-1]", PETSC_FALSE},
};

typedef enum { FIT_DECK_KEY, FIT_SET_VALUE, FIT_SET_FACTOR } FitKind;
static const char *const FitKindNames[] = {"deck key", "set value", "set factor"};

typedef struct {
  char               name[256]; /* as given */
  FitKind            kind;
  const TCKey       *key;                      /* FIT_DECK_KEY */
  char               section[128], field[256]; /* set fields */
  const TCJsonValue *node;
  PetscReal          lo, hi, start;
} FitParam;

typedef struct {
  char        model_col[128], meas_col[128];
  PetscInt    meas_idx, model_idx;
  PetscReal   sigma, offset; /* measured + offset: the model's unit */
  const char *unit;          /* V, A, K */
  PetscReal   print_scale;   /* 1e3: mV, mA */
  const char *print_unit;
} FitChannel;

/* One measurement. Its residuals are r[off + c nt + k] (channel c, row k):
   the datasets' blocks one after the other. */
#define FIT_MAXDS 32
#define FIT_NDK   9
/* the keys of a dataset: fit_datasets_<name>_<key>; [FIT_DK_MODEL_FIRST,
   FIT_DK_ROWS) are keys of the model (set as options for its runs), from
   FIT_DK_ROWS on the fit's own (fit_<key>) */
enum {
  FIT_DK_MEASURED,
  FIT_DK_MODEL_FIRST = 1,
  FIT_DK_ROWS        = 5,
  FIT_DK_TIME_OFFSET,
  FIT_DK_T_MIN,
  FIT_DK_T_MAX
};
static const char *const FitDataKeys[FIT_NDK] = {
    "measured",    "experiment", "ambient_temperature", "initial_temperature",
    "initial_soc", "rows",       "time_offset_s",       "t_min_s",
    "t_max_s"};
typedef struct {
  char       name[64];
  char      *val[FIT_NDK]; /* as given for this dataset (NULL: not given) */
  char       measured[PETSC_MAX_PATH_LEN];
  PetscInt   nt, off;
  PetscReal *t_meas, *y_meas; /* nt; nch x nt (the model's units) */
} FitData;

/* A CSV table: ncol named columns, nrow rows (row-major); line[] the file line of each row. */
typedef struct {
  PetscInt   ncol, nrow, cap;
  char     **names;
  PetscReal *v;
  PetscInt  *line;
} FitTable;

typedef struct {
  MPI_Comm     comm;
  PetscMPIInt  rank, size;
  TCDeck       deck;
  const char  *deck_path;
  PetscBool    roll, verbose;
  TCKey       *keys;
  PetscInt     nkeys;
  PetscInt     np, nch, m;
  FitParam     par[FIT_MAXP];
  FitChannel   ch[FIT_MAXCH];
  PetscInt     nd;    /* datasets (1: -measured and the fit's own keys) */
  PetscBool    multi; /* the datasets come from fit_datasets_* */
  FitData     *ds;
  char        *base[FIT_NDK]; /* the deck's values of the model keys (NULL: not set) */
  TCJsonValue *set;
  char         set_name[PETSC_MAX_PATH_LEN], set_file[PETSC_MAX_PATH_LEN];
  PetscBool    set_fitted;
  char         work_set[PETSC_MAX_PATH_LEN]; /* the set this rank's evaluations read */
  char         workdir[PETSC_MAX_PATH_LEN];  /* roll: the runs' output directory */
  FitTable     model;                        /* the last model run (rank-local) */
  char         last_error[512];
  char         roll_run[512]; /* what the first roll run was (its summary.json), for the report */
  PetscReal    roll_elements, roll_steps, roll_wall_s;
  PetscInt     roll_runs_ok; /* roll runs that succeeded (the same on every rank) */
} Fit;

/* ---- CSV tables ------------------------------------------------------------------ */

static void FitTableFree(FitTable *t)
{
  for (PetscInt c = 0; c < t->ncol; c++) free(t->names[c]);
  free(t->names);
  free(t->v);
  free(t->line);
  memset(t, 0, sizeof(*t));
}

static PetscInt FitTableColumn(const FitTable *t, const char name[])
{
  for (PetscInt c = 0; c < t->ncol; c++)
    if (!strcmp(t->names[c], name)) return c;
  return -1;
}

static char *FitTrim(char *s)
{
  char *e;
  while (*s == ' ' || *s == '\t' || *s == '"') s++;
  e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n' || e[-1] == '"'))
    *--e = 0;
  return s;
}

/* Read a CSV. The header is the first line that is not empty or a '#'
   comment, or (header_with not NULL) the first line with a field
   header_with, so that an instrument's preamble is skipped; every further
   such line is a row -- only those whose columns sel_col[i] read sel_val[i]
   (nsel conditions, e.g. Step = 13 and Cycle = 1 of a cycler log). Cells that are not
   numbers are NaN: only the columns used are checked, by the caller. Not
   collective: errors on PETSC_COMM_SELF (every rank reads the same file
   alike). */
#define FIT_MAXSEL 8
static PetscErrorCode FitTableRead(const char path[], const char what[], const char header_with[],
                                   PetscInt nsel, char *sel_col[], char *sel_val[], FitTable *t)
{
  FILE    *fp;
  char    *line = NULL, **cell = NULL;
  size_t   cap    = 0;
  long     lineno = 0;
  int      err;
  PetscInt sel[FIT_MAXSEL];

  PetscFunctionBeginUser;
  memset(t, 0, sizeof(*t));
  fp  = fopen(path, "r");
  err = errno;
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s %s: %s", what, path,
             strerror(err));
  while (getline(&line, &cap, fp) >= 0) {
    char    *s  = line;
    PetscInt nc = 1;
    lineno++;
    if (lineno == 1 && !strncmp(s, "\xef\xbb\xbf", 3)) s += 3; /* UTF-8 byte-order mark */
    s = FitTrim(s);
    if (!s[0] || s[0] == '#') continue;
    /* split into cells (empty ones kept) */
    for (char *q = s; *q; q++) nc += *q == ',';
    {
      char **nb = (char **)realloc(cell, sizeof(char *) * (size_t)nc);
      if (!nb) {
        fclose(fp);
        free(line);
        free(cell);
        SETERRQ(PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory reading %s", path);
      }
      cell = nb;
    }
    for (PetscInt c = 0, k = 0; c < nc; c++) {
      char *comma = strchr(s + k, ',');
      cell[c]     = s + k;
      if (comma) {
        *comma = 0;
        k      = (PetscInt)(comma - s) + 1;
      }
      cell[c] = FitTrim(cell[c]);
    }
    /* a trailing comma leaves an empty last cell: not a column */
    if (nc > 1 && !cell[nc - 1][0]) nc--;
    if (!t->names) {
      PetscBool is_header = header_with ? PETSC_FALSE : PETSC_TRUE;
      for (PetscInt c = 0; c < nc && !is_header; c++)
        if (!strcmp(cell[c], header_with)) is_header = PETSC_TRUE;
      if (!is_header) continue;
      t->names = (char **)calloc((size_t)nc, sizeof(char *));
      for (PetscInt c = 0; c < nc; c++) {
        if (!cell[c][0]) {
          fclose(fp);
          free(line);
          free(cell);
          SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                  "%s %s:%ld: the header has an empty column name (column %d)", what, path, lineno,
                  (int)c + 1);
        }
        t->names[t->ncol++] = strdup(cell[c]);
      }
      for (PetscInt i = 0; i < nsel; i++) {
        sel[i] = FitTableColumn(t, sel_col[i]);
        if (sel[i] < 0) {
          fclose(fp);
          free(line);
          free(cell);
          SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                  "%s %s has no column '%s' (fit_rows %s=%s)", what, path, sel_col[i], sel_col[i],
                  sel_val[i]);
        }
      }
      continue;
    }
    {
      PetscBool keep = PETSC_TRUE;
      for (PetscInt i = 0; i < nsel && keep; i++)
        if (sel[i] >= nc || strcmp(cell[sel[i]], sel_val[i])) keep = PETSC_FALSE;
      if (!keep) continue;
    }
    if (t->nrow == t->cap) {
      t->cap  = t->cap ? 2 * t->cap : 1024;
      t->v    = (PetscReal *)realloc(t->v, sizeof(PetscReal) * (size_t)(t->cap * t->ncol));
      t->line = (PetscInt *)realloc(t->line, sizeof(PetscInt) * (size_t)t->cap);
      PetscCheck(t->v && t->line, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory reading %s", path);
    }
    {
      PetscReal *row = t->v + (size_t)t->nrow * t->ncol;
      for (PetscInt c = 0; c < t->ncol; c++) {
        char  *end;
        double v = c < nc ? strtod(cell[c], &end) : 0;
        row[c]   = (c < nc && end != cell[c] && !*end) ? v : NAN;
      }
      t->line[t->nrow++] = (PetscInt)lineno;
    }
  }
  fclose(fp);
  free(line);
  free(cell);
  PetscCheck(t->names || !header_with, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s %s has no header line with the time column '%s' (fit_time_column; the header is "
             "the first line that names it)",
             what, path, header_with ? header_with : "");
  PetscCheck(t->names, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s %s has no header line (column names)", what, path);
  PetscFunctionReturn(0);
}

/* Linear interpolation of column c at time x; before the first row the first
   value, after the last row the last (a model that ended earlier holds). At
   a time the model lists more than once (a step change: the end of one
   experiment step and the start of the next), the occ-th measured row at
   that time takes the occ-th model row there (the last if it has fewer). */
static PetscReal FitInterp(const FitTable *t, PetscInt ct, PetscInt c, PetscReal x, PetscInt occ)
{
  PetscInt lo = 0, hi = t->nrow, nc = t->ncol;
#define TV(i) t->v[(size_t)(i)*nc + ct]
#define YV(i) t->v[(size_t)(i)*nc + c]
  /* the first row at or after x */
  while (lo < hi) {
    PetscInt mid = (lo + hi) / 2;
    if (TV(mid) < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == t->nrow) return YV(t->nrow - 1);
  if (TV(lo) == x) {
    PetscInt b = lo;
    while (b + 1 < t->nrow && TV(b + 1) == x) b++;
    return YV(PetscMin(lo + occ, b));
  }
  if (lo == 0) return YV(0);
  return YV(lo - 1) + (YV(lo) - YV(lo - 1)) * (x - TV(lo - 1)) / (TV(lo) - TV(lo - 1));
#undef TV
#undef YV
}

/* ---- the parameter set: fields and a writer with the fitted values ---------------- */

static PetscBool FitIsTable(const TCJsonValue *v)
{
  const TCJsonValue *y = v && v->type == TC_JSON_OBJECT ? TCJsonGet(v, "y") : NULL;
  return (PetscBool)(y && y->type == TC_JSON_ARRAY && TCJsonGet(v, "x"));
}

/* v as JSON, with the set fields of the fit at x (factor: number x v, the
   expression "x * (v)", or the table's y times x) */
static void FitJsonWrite(const Fit *f, const PetscReal x[], TCJson *js, const char *key,
                         const TCJsonValue *v)
{
  for (PetscInt j = 0; j < f->np; j++) {
    const FitParam *q = &f->par[j];
    if (q->kind == FIT_DECK_KEY || q->node != v) continue;
    if (q->kind == FIT_SET_VALUE || v->type == TC_JSON_NUMBER) {
      TCJsonReal(js, key, q->kind == FIT_SET_VALUE ? x[j] : x[j] * v->number);
    } else if (v->type == TC_JSON_STRING) {
      size_t n = strlen(v->string) + 64;
      char  *e = (char *)malloc(n);
      if (!e) return;
      snprintf(e, n, "%.17g * (%s)", (double)x[j], v->string);
      TCJsonString(js, key, e);
      free(e);
    } else { /* table */
      TCJsonObjectBegin(js, key);
      for (PetscInt i = 0; i < v->n; i++) {
        const TCJsonValue *m = v->members[i];
        if (!strcmp(v->keys[i], "y")) {
          TCJsonArrayBegin(js, "y");
          for (PetscInt k = 0; k < m->n; k++) TCJsonReal(js, NULL, x[j] * m->members[k]->number);
          TCJsonArrayEnd(js);
        } else
          FitJsonWrite(f, x, js, v->keys[i], m);
      }
      TCJsonObjectEnd(js);
    }
    return;
  }
  switch (v->type) {
  case TC_JSON_NULL:
    TCJsonNull(js, key);
    break;
  case TC_JSON_BOOL:
    TCJsonBool(js, key, v->number != 0 ? PETSC_TRUE : PETSC_FALSE);
    break;
  case TC_JSON_NUMBER:
    TCJsonReal(js, key, v->number);
    break;
  case TC_JSON_STRING:
    TCJsonString(js, key, v->string);
    break;
  case TC_JSON_ARRAY:
    TCJsonArrayBegin(js, key);
    for (PetscInt i = 0; i < v->n; i++) FitJsonWrite(f, x, js, NULL, v->members[i]);
    TCJsonArrayEnd(js);
    break;
  case TC_JSON_OBJECT:
    TCJsonObjectBegin(js, key);
    for (PetscInt i = 0; i < v->n; i++) FitJsonWrite(f, x, js, v->keys[i], v->members[i]);
    TCJsonObjectEnd(js);
    break;
  }
}

/* The set with the fit's fields at x, written to path (not collective). */
static PetscErrorCode FitSetWrite(const Fit *f, const PetscReal x[], const char path[])
{
  FILE  *fp = fopen(path, "w");
  TCJson js;
  int    err = errno;

  PetscFunctionBeginUser;
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s: %s", path, strerror(err));
  TCJsonBegin(&js, fp);
  for (PetscInt i = 0; i < f->set->n; i++)
    FitJsonWrite(f, x, &js, f->set->keys[i], f->set->members[i]);
  TCJsonEnd(&js);
  err = ferror(fp) ? EIO : 0;
  if (fclose(fp) && !err) err = errno;
  PetscCheck(!err, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "error writing %s: %s", path,
             strerror(err));
  PetscFunctionReturn(0);
}

/* ---- evaluations ------------------------------------------------------------------ */

/* The fitted deck keys and the set at x into the options database (this
   process only); the set file is written by this rank (independent cell
   runs) or by rank 0 for all (a roll run: collective). */
static PetscErrorCode FitApply(Fit *f, const PetscReal x[])
{
  PetscFunctionBeginUser;
  for (PetscInt j = 0; j < f->np; j++) {
    char opt[160], val[64];
    if (f->par[j].kind != FIT_DECK_KEY) continue;
    snprintf(opt, sizeof(opt), "-%s", f->par[j].key->name);
    snprintf(val, sizeof(val), "%.17g", (double)x[j]);
    PetscCall(PetscOptionsSetValue(NULL, opt, val));
  }
  if (f->set_fitted) {
    if (!f->roll || f->rank == 0) PetscCall(FitSetWrite(f, x, f->work_set));
    if (f->roll) PetscCallMPI(MPI_Barrier(f->comm));
    PetscCall(PetscOptionsSetValue(NULL, "-params", f->work_set));
  }
  PetscFunctionReturn(0);
}

typedef struct {
  FitTable *t;
  PetscReal t_last;
} FitCellMon;

static PetscErrorCode FitCellMonitor(const TCExperimentPoint *pt, const TCCellResult *r, void *vctx)
{
  FitTable *t = ((FitCellMon *)vctx)->t;

  PetscFunctionBeginUser;
  if (t->nrow == t->cap) {
    t->cap = t->cap ? 2 * t->cap : 1024;
    t->v   = (PetscReal *)realloc(t->v, sizeof(PetscReal) * (size_t)(4 * t->cap));
    PetscCheck(t->v, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
  }
  {
    PetscReal *row = t->v + 4 * (size_t)t->nrow++;
    row[0] = pt->t_s, row[1] = r->I_A, row[2] = r->V_V, row[3] = pt->T_K;
  }
  PetscFunctionReturn(0);
}

/* One `tomocell cell` run of the deck as the options now say, on this rank
   alone, into f->model (columns time_s, current_A, voltage_V, temperature_K).
   What CellMain (cmd_cell.c) does, without its files. */
static PetscErrorCode FitCellRunIn(Fit *f, TCCellParams *pp, TCExperiment *expp, TCCell *cellp,
                                   PetscReal **statep)
{
  TCDeck              deck = f->deck;
  TCExperimentOptions opt;
  TCExperimentSummary sum;
  FitCellMon          mon;
  PetscInt            model, thermal, g[5], ns;
  PetscReal           Tamb, Tinit, soc = -1, rtol;
  PetscBool           set, stopped, soc_set, soc_volt;
  size_t              bytes;
  char                params[PETSC_MAX_PATH_LEN], expt[4096], soc_text[256];
  static const char  *gk[5] = {"cell_nx_n", "cell_nx_s", "cell_nx_p", "cell_nr_n", "cell_nr_p"};

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&opt, sizeof(opt)));
  f->model.nrow = 0;
  PetscCall(TCDeckGetString(deck, "params", params, sizeof(params), &set));
  PetscCall(TCDeckGetEnum(deck, "model", &model));
  PetscCall(TCDeckGetString(deck, "experiment", expt, sizeof(expt), &set));
  PetscCall(TCDeckGetEnum(deck, "thermal", &thermal));
  for (int k = 0; k < 5; k++) PetscCall(TCDeckGetInt(deck, gk[k], &g[k]));
  PetscCall(TCDeckGetReal(deck, "cell_dt_max_s", &opt.dt_max_s));
  PetscCall(TCDeckGetReal(deck, "cell_tol_V", &opt.tol_V));
  PetscCall(TCDeckGetReal(deck, "cell_dt_fixed_s", &opt.dt_fixed_s));
  PetscCall(TCDeckGetReal(deck, "cell_newton_rtol", &rtol));
  PetscCall(TCCellParamsLoad(params, pp));
  PetscCall(TCCellParamsApplyDeck(deck, pp, NULL));
  /* as tomocell cell: the set's initial temperature unless the deck gives one */
  PetscCall(TCCellParamsDeckTemperatures(deck, pp, &Tamb, &Tinit));
  PetscCall(TCDeckGetString(deck, "initial_soc", soc_text, sizeof(soc_text), &soc_set));
  if (soc_set) PetscCall(TCCellParamsParseSOC(pp, "initial_soc", soc_text, Tinit, &soc, &soc_volt));
  PetscCall(TCDeckIsSet(deck, "experiment", &set));
  if (!set) snprintf(expt, sizeof(expt), "Discharge at 1C until %.6g V", (double)pp->V_min);
  for (char *c = expt; *c; c++)
    if (*c == ',') *c = ';';
  PetscCall(TCExperimentCreate(expp));
  PetscCall(TCExperimentAdd(*expp, expt));
  opt.lumped    = thermal == 1 ? PETSC_TRUE : PETSC_FALSE;
  opt.T_amb_K   = Tamb;
  opt.T_init_K  = Tinit;
  opt.dt_init_s = 1.0;
  PetscCall(TCCellCreate(PETSC_COMM_SELF, cellp));
  PetscCall(TCCellSetParams(*cellp, pp));
  PetscCall(TCCellSetModel(*cellp, (TCCellModel)model));
  PetscCall(TCCellSetGrid(*cellp, g[0], g[1], g[2], g[3], g[4]));
  PetscCall(TCCellSetTolerances(*cellp, rtol, 30));
  PetscCall(TCCellSetUp(*cellp));
  PetscCall(TCCellGetStateSize(*cellp, &ns, &bytes));
  PetscCall(PetscMalloc1(ns, statep));
  PetscCall(TCCellStateInit(*cellp, soc, Tinit, *statep));
  mon.t = &f->model;
  PetscCall(TCExperimentRunFrom(*expp, *cellp, pp, &opt, NULL, *statep, FitCellMonitor, &mon, NULL,
                                NULL, &sum, &stopped));
  PetscFunctionReturn(0);
}

/* FitCellRunIn with its objects freed whether it succeeds or not (a failing
   run is a penalty of the fit, which goes on: it must not leak) */
static PetscErrorCode FitCellRun(Fit *f)
{
  TCCellParams   p;
  TCExperiment   exp   = NULL;
  TCCell         cell  = NULL;
  PetscReal     *state = NULL;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&p, sizeof(p)));
  ierr = FitCellRunIn(f, &p, &exp, &cell, &state);
  PetscCall(PetscFree(state));
  PetscCall(TCExperimentDestroy(&exp));
  PetscCall(TCCellDestroy(&cell));
  PetscCall(TCCellParamsDestroy(&p));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* stdout of the model runs to /dev/null (rank 0 prints; -fit_verbose keeps it) */
static int FitMute(const Fit *f)
{
  int saved, dn;
  if (f->verbose) return -1;
  fflush(stdout);
  saved = dup(STDOUT_FILENO);
  dn    = open("/dev/null", O_WRONLY);
  if (saved < 0 || dn < 0) {
    if (saved >= 0) close(saved);
    if (dn >= 0) close(dn);
    return -1;
  }
  dup2(dn, STDOUT_FILENO);
  close(dn);
  return saved;
}

static void FitUnmute(int saved)
{
  if (saved < 0) return;
  fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
}

/* The files of a roll run in f->workdir removed (rank 0; collective). Before
   every run, so that the run's output claims (io/output.h) always see paths
   that do not exist yet: a claim remembers an existing file by its inode, and
   the inodes of replaced files are reused. */
static PetscErrorCode FitRollClean(Fit *f, PetscBool rmdir_too)
{
  static const char *const wn[] = {"results.h5",    "results.xmf",     "results_series.xmf",
                                   "summary.json",  "summary.csv",     "checkpoint.h5",
                                   "traced_net.h5", "traced_net.json", "traced_net.png"};

  PetscFunctionBeginUser;
  if (f->rank == 0) {
    for (size_t i = 0; i < sizeof(wn) / sizeof(wn[0]); i++) {
      char p[PETSC_MAX_PATH_LEN];
      if (TCPathJoin(f->workdir, wn[i], p, sizeof(p)) == 0) (void)remove(p);
    }
    if (rmdir_too) (void)rmdir(f->workdir);
  }
  PetscCallMPI(MPI_Barrier(f->comm));
  PetscFunctionReturn(0);
}

/* Collective: one `tomocell run` of the roll deck into f->workdir; rank 0
   reads its summary.csv into f->model. */
static PetscErrorCode FitRollRun(Fit *f)
{
  char           path[PETSC_MAX_PATH_LEN];
  int            saved, mark;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(FitRollClean(f, PETSC_FALSE));
  saved = FitMute(f);
  mark  = TCOutputLockMark();
  ierr  = TCRunRoll(f->deck, f->deck_path, f->workdir);
  TCOutputUnlock(mark); /* the run's lock of the work directory, so that it can be removed */
  FitUnmute(saved);
  PetscCall(ierr);
  if (f->rank == 0) {
    FitTableFree(&f->model);
    PetscCall(TCPathJoin(f->workdir, "summary.csv", path, sizeof(path)));
    PetscCall(FitTableRead(path, "roll summary", NULL, 0, NULL, NULL, &f->model));
    if (!f->roll_run[0]) {
      /* the size of one run, from the first run's summary.json */
      TCJsonValue       *js = NULL;
      const TCJsonValue *net, *st, *tm, *v;
      double             cu = 0, al = 0, ly = 0, el = 0, acc = 0, wall = 0;
      PetscCall(TCPathJoin(f->workdir, "summary.json", path, sizeof(path)));
      {
        /* read as text: TCJsonParseFile would remember it as an input, which
           the next run may not replace */
        FILE *fp  = fopen(path, "rb");
        char *txt = NULL;
        long  len = 0;
        if (fp && fseek(fp, 0, SEEK_END) == 0 && (len = ftell(fp)) > 0 &&
            fseek(fp, 0, SEEK_SET) == 0 && (txt = (char *)malloc((size_t)len + 1)) &&
            fread(txt, 1, (size_t)len, fp) == (size_t)len) {
          txt[len] = 0;
          PetscCall(TCJsonParse(txt, path, &js));
        }
        if (fp) fclose(fp);
        free(txt);
      }
      net = TCJsonGet(js, "network"), st = TCJsonGet(js, "steps"), tm = TCJsonGet(js, "timing_s");
      if (net && (v = TCJsonGet(net, "cu_nodes_per_layer"))) cu = v->number;
      if (net && (v = TCJsonGet(net, "al_nodes_per_layer"))) al = v->number;
      if (net && (v = TCJsonGet(net, "layers"))) ly = v->number;
      if (net && (v = TCJsonGet(net, "elements"))) el = v->number;
      if (st && (v = TCJsonGet(st, "accepted"))) acc = v->number;
      if (tm && (v = TCJsonGet(tm, "total"))) wall = v->number;
      snprintf(f->roll_run, sizeof(f->roll_run),
               "%.0f elements on %.0f + %.0f foil nodes x %.0f layers, %.0f time steps, %.3g s "
               "wall (the first run)",
               el, cu, al, ly, acc, wall);
      f->roll_elements = el, f->roll_steps = acc, f->roll_wall_s = wall;
      PetscCall(TCJsonFree(&js));
    }
  }
  PetscFunctionReturn(0);
}

/* The model columns of the channels, in f->model (rank that holds it). */
static PetscErrorCode FitModelColumns(Fit *f, char missing[], size_t len)
{
  PetscFunctionBeginUser;
  missing[0] = 0;
  for (PetscInt c = 0; c < f->nch && !missing[0]; c++) {
    f->ch[c].model_idx = FitTableColumn(&f->model, f->ch[c].model_col);
    if (f->ch[c].model_idx < 0) PetscCall(PetscStrncpy(missing, f->ch[c].model_col, len));
  }
  PetscFunctionReturn(0);
}

/* Dataset d's residuals, r[off ...], from f->model. */
static void FitResidualsFromModel(const Fit *f, const FitData *d, PetscReal r[])
{
  PetscInt ct = FitTableColumn(&f->model, "time_s");
  r += d->off;
  for (PetscInt c = 0; c < f->nch; c++)
    for (PetscInt k = 0, occ = 0; k < d->nt; k++) {
      occ              = k > 0 && d->t_meas[k] == d->t_meas[k - 1] ? occ + 1 : 0;
      r[c * d->nt + k] = (FitInterp(&f->model, ct, f->ch[c].model_idx, d->t_meas[k], occ) -
                          d->y_meas[c * d->nt + k]) /
                         f->ch[c].sigma;
    }
}

/* The model keys of dataset d into the options database (this process
   only): its own values, the deck's for those it does not give. Nothing for
   a single measurement (the deck's keys are used as they are). */
static PetscErrorCode FitUseDataset(const Fit *f, const FitData *d)
{
  PetscFunctionBeginUser;
  if (!f->multi) PetscFunctionReturn(0);
  for (int i = FIT_DK_MODEL_FIRST; i < FIT_DK_ROWS; i++) {
    char        opt[64];
    const char *v = d->val[i] ? d->val[i] : f->base[i];
    snprintf(opt, sizeof(opt), "-%s", FitDataKeys[i]);
    if (v)
      PetscCall(PetscOptionsSetValue(NULL, opt, v));
    else
      PetscCall(PetscOptionsClearValue(NULL, opt));
  }
  PetscFunctionReturn(0);
}

/* The deck's values of the model keys back (for the fitted deck). */
static PetscErrorCode FitUseDeck(const Fit *f)
{
  FitData none;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&none, sizeof(none)));
  PetscCall(FitUseDataset(f, &none));
  PetscFunctionReturn(0);
}

/* The text of error ierr (its specific message when it has one) into msg. */
static void FitErrorText(PetscErrorCode ierr, char msg[], size_t len)
{
  const char *text;
  char       *specific = NULL;
  PetscErrorMessage(ierr, &text, &specific);
  snprintf(msg, len, "%s", specific && specific[0] ? specific : text);
}

/* Collective: *code is the error of the first rank whose ierr is nonzero (0:
   none failed), and msg, on every rank, its text. */
static PetscErrorCode FitFirstError(MPI_Comm comm, PetscErrorCode ierr, char msg[], size_t len,
                                    int *code)
{
  PetscMPIInt rank, size, first, mine;

  PetscFunctionBeginUser;
  *code = 0;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  mine = ierr ? rank : size;
  PetscCallMPI(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm));
  if (first == size) PetscFunctionReturn(0);
  if (ierr) FitErrorText(ierr, msg, len);
  *code = (int)ierr;
  PetscCallMPI(MPI_Bcast(msg, (PetscMPIInt)len, MPI_CHAR, first, comm));
  PetscCallMPI(MPI_Bcast(code, 1, MPI_INT, first, comm));
  PetscFunctionReturn(0);
}

/* TCFitResidualFn: every dataset's run, one after the other */
static PetscErrorCode FitResidual(const PetscReal x[], PetscReal r[], PetscBool *ok, void *vctx)
{
  Fit *f = (Fit *)vctx;

  PetscFunctionBeginUser;
  PetscCall(FitApply(f, x));
  *ok = PETSC_TRUE;
  for (PetscInt i = 0; i < f->nd && *ok; i++) {
    const FitData *d = &f->ds[i];
    PetscCall(FitUseDataset(f, d));
    if (f->roll) {
      char missing[128] = "";
      if (!f->roll_runs_ok && !f->multi)
        PetscCall(FitRollRun(f)); /* the start: its error is the user's */
      else {
        /* at the start with several datasets: the error, named by its dataset;
           later, a roll that cannot be run at a trial point (Newton failing at
           an extreme parameter, an electrode full before the cut-off) is a
           failed point, as for the cell; the run's errors are collective, and
           what it held is freed by TCRunRoll on the way out */
        PetscErrorCode ierr;
        int            code;
        PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
        ierr = FitRollRun(f);
        PetscCall(PetscPopErrorHandler());
        PetscCall(FitFirstError(f->comm, ierr, f->last_error, sizeof(f->last_error), &code));
        PetscCheck(!code || f->roll_runs_ok, f->comm, (PetscErrorCode)code, "dataset %s: %s",
                   d->name, f->last_error);
        if (code) {
          *ok = PETSC_FALSE;
          break;
        }
      }
      if (i == f->nd - 1) f->roll_runs_ok++;
      if (f->rank == 0) {
        PetscCall(FitModelColumns(f, missing, sizeof(missing)));
        if (!missing[0]) FitResidualsFromModel(f, d, r);
      }
      PetscCallMPI(MPI_Bcast(missing, sizeof(missing), MPI_CHAR, 0, f->comm));
      PetscCheck(!missing[0], f->comm, PETSC_ERR_USER_INPUT,
                 "the roll's summary.csv has no column %s (a probe T_<name>_K needs the deck's "
                 "probes: key)",
                 missing);
    } else {
      /* a cell that cannot be run here (a cut-off it cannot reach, Newton
         failing at an extreme parameter) is a failed point, not an error;
         what was allocated before the error is not freed (a few kB) */
      PetscErrorCode ierr;
      int            saved = FitMute(f);
      PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
      ierr = FitCellRun(f);
      PetscCall(PetscPopErrorHandler());
      FitUnmute(saved);
      *ok = (PetscBool)(!ierr && f->model.nrow > 0);
      if (ierr) FitErrorText(ierr, f->last_error, sizeof(f->last_error));
      if (*ok) FitResidualsFromModel(f, d, r);
    }
  }
  if (f->roll && *ok) PetscCallMPI(MPI_Bcast(r, (PetscMPIInt)f->m, MPIU_REAL, 0, f->comm));
  PetscFunctionReturn(0);
}

/* ---- set-up ------------------------------------------------------------------- */

/* After a call that every rank made alike under PetscReturnErrorHandler (each
   reads the same file): an error on any rank is raised once, on comm, with
   the message of the first rank that failed. Collective. */
static PetscErrorCode FitCollectiveError(MPI_Comm comm, PetscErrorCode ierr)
{
  char msg[1024] = "";
  int  code;

  PetscFunctionBeginUser;
  PetscCall(FitFirstError(comm, ierr, msg, sizeof(msg), &code));
  if (!code) PetscFunctionReturn(0);
  SETERRQ(comm, (PetscErrorCode)code, "%s", msg);
}

#define FitCallAll(comm, call)                                                                     \
  do {                                                                                             \
    PetscErrorCode ierr_;                                                                          \
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));                               \
    ierr_ = (call);                                                                                \
    PetscCall(PetscPopErrorHandler());                                                             \
    PetscCall(FitCollectiveError(comm, ierr_));                                                    \
  } while (0)

/* fit_model, and the deck's job, before the deck is read with the model's key
   table (so that each key is checked against the right one). */
static PetscErrorCode FitDetectModel(MPI_Comm comm, const char path[], PetscBool *roll)
{
  PetscOptions   opts;
  char           model[64] = "auto", job[64] = "";
  PetscBool      set;
  PetscErrorCode ierr = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsCreate(&opts));
  if (path) {
    /* a malformed deck is reported by TCDeckLoad below with its message */
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    ierr = PetscOptionsInsertFileYAML(comm, opts, path, PETSC_TRUE);
    PetscCall(PetscPopErrorHandler());
  }
  if (!ierr) {
    PetscCall(PetscOptionsGetString(opts, NULL, "-fit_model", model, sizeof(model), &set));
    PetscCall(PetscOptionsGetString(opts, NULL, "-job", job, sizeof(job), &set));
  }
  PetscCall(PetscOptionsDestroy(&opts));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-fit_model", model, sizeof(model), &set));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-job", job, sizeof(job), &set));
  PetscCheck(!strcasecmp(model, "auto") || !strcasecmp(model, "cell") || !strcasecmp(model, "roll"),
             comm, PETSC_ERR_USER_INPUT, "key fit_model = '%s' is not one of auto|cell|roll",
             model);
  *roll = (PetscBool)(!strcasecmp(model, "roll") ||
                      (!strcasecmp(model, "auto") && !strcasecmp(job, "roll")));
  PetscCheck(!*roll || !strcasecmp(job, "roll"), comm, PETSC_ERR_USER_INPUT,
             "fit_model roll needs a deck of tomocell run with job: roll (this one has job: %s)",
             job[0] ? job : "foil, the default");
  PetscFunctionReturn(0);
}

/* The model command's keys (without its output) and the fit's, for one deck. */
static PetscErrorCode FitKeyTable(Fit *f)
{
  const TCCommand *mc = TCCommandFind(f->roll ? "run" : "cell");
  PetscInt         n  = 0;

  PetscFunctionBeginUser;
  PetscCheck(mc, PETSC_COMM_SELF, PETSC_ERR_PLIB, "no command %s", f->roll ? "run" : "cell");
  PetscCall(PetscMalloc1(mc->nkeys + fit_nkeys, &f->keys));
  for (PetscInt k = 0; k < mc->nkeys; k++)
    if (strcmp(mc->keys[k].name, "output")) f->keys[n++] = mc->keys[k];
  for (PetscInt k = 0; k < fit_nkeys; k++) f->keys[n++] = fit_keys[k];
  f->nkeys = n;
  PetscFunctionReturn(0);
}

static const TCKey *FitFindKey(const Fit *f, const char name[])
{
  for (PetscInt k = 0; k < f->nkeys; k++)
    if (!strcmp(f->keys[k].name, name)) return &f->keys[k];
  return NULL;
}

static PetscBool FitIsFitKey(const char name[])
{
  for (PetscInt k = 0; k < fit_nkeys; k++)
    if (!strcmp(fit_keys[k].name, name)) return PETSC_TRUE;
  return PETSC_FALSE;
}

/* Parse fit_params into f->par: names resolved, bounds and starts checked. */
static PetscErrorCode FitParseParams(Fit *f, const char spec[])
{
  char *s, *save = NULL;

  PetscFunctionBeginUser;
  PetscCall(PetscStrallocpy(spec, &s));
  for (char *item = strtok_r(s, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    FitParam *q = &f->par[f->np];
    char     *fld[5], *e, *t = FitTrim(item), given[512];
    int       nf = 0;
    PetscBool start_given;
    if (!t[0]) continue;
    PetscCheck(f->np < FIT_MAXP, f->comm, PETSC_ERR_USER_INPUT,
               "fit_params: more than %d parameters", FIT_MAXP);
    PetscCall(PetscMemzero(q, sizeof(*q)));
    PetscCall(PetscStrncpy(given, t, sizeof(given)));
    for (char *p = t; nf < 5;) {
      char *c   = strchr(p, ':');
      fld[nf++] = p;
      if (!c) break;
      *c = 0;
      p  = c + 1;
    }
    PetscCheck(nf == 3 || nf == 4, f->comm, PETSC_ERR_USER_INPUT,
               "fit_params: '%s' is not name:lo:hi or name:lo:hi:start (e.g. neg_sto_min:0:0.05)",
               given);
    PetscCall(PetscStrncpy(q->name, FitTrim(fld[0]), sizeof(q->name)));
    {
      double v[3] = {0, 0, 0};
      for (int i = 1; i < nf; i++) {
        char *num = FitTrim(fld[i]);
        v[i - 1]  = strtod(num, &e);
        PetscCheck(e != num && !*e && isfinite(v[i - 1]), f->comm, PETSC_ERR_USER_INPUT,
                   "fit_params: %s: '%s' is not a number (name:lo:hi[:start])", q->name, num);
      }
      q->lo = v[0], q->hi = v[1], q->start = v[2];
    }
    start_given = (PetscBool)(nf == 4);
    PetscCheck(q->lo < q->hi, f->comm, PETSC_ERR_USER_INPUT,
               "fit_params: %s: the lower bound %s must be below the upper bound %s", q->name,
               TCG(q->lo).s, TCG(q->hi).s);
    for (PetscInt j = 0; j < f->np; j++)
      PetscCheck(strcmp(f->par[j].name, q->name), f->comm, PETSC_ERR_USER_INPUT,
                 "fit_params: %s is given twice", q->name);
    /* what it names: a short name, a set field, or a deck key */
    {
      size_t ln = strlen(q->name);
      for (size_t a = 0; a < sizeof(FitAliases) / sizeof(FitAliases[0]); a++)
        if (!strcmp(FitAliases[a].alias, q->name)) {
          PetscCall(PetscStrncpy(q->section, FitAliases[a].section, sizeof(q->section)));
          PetscCall(PetscStrncpy(q->field, FitAliases[a].field, sizeof(q->field)));
          q->kind = FitAliases[a].factor ? FIT_SET_FACTOR : FIT_SET_VALUE;
        }
      if (!q->section[0] && strchr(q->name, '/')) {
        char *sl = strchr(q->name, '/');
        PetscCheck((size_t)(sl - q->name) < sizeof(q->section), f->comm, PETSC_ERR_USER_INPUT,
                   "fit_params: %s: section name too long", q->name);
        memcpy(q->section, q->name, (size_t)(sl - q->name));
        q->section[sl - q->name] = 0;
        PetscCall(PetscStrncpy(q->field, sl + 1, sizeof(q->field)));
        q->kind = FIT_SET_VALUE;
        if (ln > 1 && q->name[ln - 1] == '*') {
          q->field[strlen(q->field) - 1] = 0;
          q->kind                        = FIT_SET_FACTOR;
        }
      }
    }
    if (q->section[0]) {
      const TCJsonValue *par = TCJsonGet(f->set, "Parameterisation");
      const TCJsonValue *sec = par ? TCJsonGet(par, q->section) : NULL;
      if (!sec) sec = TCJsonGet(f->set, q->section); /* "User-defined" may sit at the top */
      PetscCheck(sec && sec->type == TC_JSON_OBJECT, f->comm, PETSC_ERR_USER_INPUT,
                 "fit_params: %s: the set %s has no section \"%s\"", q->name, f->set_file,
                 q->section);
      q->node = TCJsonGet(sec, q->field);
      PetscCheck(q->node, f->comm, PETSC_ERR_USER_INPUT,
                 "fit_params: %s: the set %s has no field \"%s\" -> \"%s\"", q->name, f->set_file,
                 q->section, q->field);
      for (PetscInt j = 0; j < f->np; j++)
        PetscCheck(f->par[j].node != q->node, f->comm, PETSC_ERR_USER_INPUT,
                   "fit_params: %s and %s are the same field of the set", f->par[j].name, q->name);
      if (q->kind == FIT_SET_VALUE) {
        PetscCheck(q->node->type == TC_JSON_NUMBER, f->comm, PETSC_ERR_USER_INPUT,
                   "fit_params: %s: \"%s\" -> \"%s\" is a function, not a number: fit a factor "
                   "on it (%s/%s*)",
                   q->name, q->section, q->field, q->section, q->field);
        if (!start_given) q->start = q->node->number;
      } else {
        PetscCheck(q->node->type == TC_JSON_NUMBER || q->node->type == TC_JSON_STRING ||
                       FitIsTable(q->node),
                   f->comm, PETSC_ERR_USER_INPUT,
                   "fit_params: %s: \"%s\" -> \"%s\" is neither a number, an expression nor a "
                   "table",
                   q->name, q->section, q->field);
        if (!start_given) q->start = 1;
      }
      f->set_fitted = PETSC_TRUE;
    } else {
      const TCKey *k = FitFindKey(f, q->name);
      PetscCheck(k && !FitIsFitKey(q->name), f->comm, PETSC_ERR_USER_INPUT,
                 "fit_params: '%s' is neither a deck key of tomocell %s, a set field "
                 "(Section/Field or Section/Field*) nor a short name (neg_sto_min, pos_k_factor, "
                 "h_W_m2K, ...: docs/fit.md)",
                 q->name, f->roll ? "run" : "cell");
      PetscCheck(k->type == TC_KEY_REAL, f->comm, PETSC_ERR_USER_INPUT,
                 "fit_params: deck key %s is not a real number", q->name);
      PetscCheck(q->lo >= k->lo && q->hi <= k->hi && !(k->lo_open && q->lo <= k->lo), f->comm,
                 PETSC_ERR_USER_INPUT,
                 "fit_params: %s: bounds [%s, %s] leave the key's range %s%s, %s]", q->name,
                 TCG(q->lo).s, TCG(q->hi).s, k->lo_open ? "(" : "[", TCG(k->lo).s, TCG(k->hi).s);
      q->kind = FIT_DECK_KEY;
      q->key  = k;
      if (!start_given) {
        PetscBool set;
        PetscCall(TCDeckIsSet(f->deck, k->name, &set));
        PetscCheck(set || k->defval, f->comm, PETSC_ERR_USER_INPUT,
                   "fit_params: %s has no value in the deck: give a start, %s:%s:%s:START", q->name,
                   q->name, TCG(q->lo).s, TCG(q->hi).s);
        PetscCall(TCDeckGetReal(f->deck, k->name, &q->start));
      }
    }
    PetscCheck(q->start >= q->lo && q->start <= q->hi, f->comm, PETSC_ERR_USER_INPUT,
               "fit_params: %s: the start %s is outside its bounds [%s, %s]", q->name,
               TCG(q->start).s, TCG(q->lo).s, TCG(q->hi).s);
    f->np++;
  }
  PetscCall(PetscFree(s));
  PetscCheck(f->np > 0, f->comm, PETSC_ERR_USER_INPUT,
             "fit_params is empty: give name:lo:hi[:start],... (docs/fit.md)");
  PetscFunctionReturn(0);
}

/* The index of column name in the measurement, or an error that lists its columns. */
static PetscErrorCode FitMeasColumn(const Fit *f, const FitTable *meas, const char measured[],
                                    const char name[], PetscInt *idx)
{
  PetscFunctionBeginUser;
  *idx = FitTableColumn(meas, name);
  if (*idx < 0) {
    char list[1024] = "";
    for (PetscInt k = 0; k < meas->ncol && strlen(list) < 900; k++)
      snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", k ? ", " : "",
               meas->names[k]);
    SETERRQ(f->comm, PETSC_ERR_USER_INPUT, "measured %s has no column '%s' (its columns: %s)",
            measured, name, list);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode FitAddChannel(Fit *f, const FitTable *meas, const char measured[],
                                    const char model_col[], const char meas_col[],
                                    const char unit[], PetscReal sigma, PetscReal offset)
{
  FitChannel *c = &f->ch[f->nch];

  PetscFunctionBeginUser;
  PetscCheck(f->nch < FIT_MAXCH, f->comm, PETSC_ERR_USER_INPUT, "more than %d fitted columns",
             FIT_MAXCH);
  PetscCall(PetscMemzero(c, sizeof(*c)));
  PetscCall(PetscStrncpy(c->model_col, model_col, sizeof(c->model_col)));
  PetscCall(PetscStrncpy(c->meas_col, meas_col, sizeof(c->meas_col)));
  PetscCall(FitMeasColumn(f, meas, measured, meas_col, &c->meas_idx));
  if (!f->roll) {
    PetscCheck(!strcmp(model_col, "voltage_V") || !strcmp(model_col, "current_A") ||
                   !strcmp(model_col, "temperature_K"),
               f->comm, PETSC_ERR_USER_INPUT,
               "fit_temperature_columns: the cell model has no column %s (its temperature is "
               "temperature_K)",
               model_col);
  }
  c->unit        = unit;
  c->sigma       = sigma;
  c->offset      = offset;
  c->print_scale = unit[0] == 'K' ? 1 : 1e3;
  c->print_unit  = unit[0] == 'K' ? "K" : unit[0] == 'V' ? "mV" : "mA";
  f->nch++;
  PetscFunctionReturn(0);
}

/* ---- outputs ------------------------------------------------------------------ */

/* RMSE of channel c over dataset d (d < 0: over all of them), the channel's unit */
static PetscReal FitRMSEOf(const Fit *f, const PetscReal r[], PetscInt d, PetscInt c)
{
  PetscReal s = 0;
  PetscInt  n = 0;
  for (PetscInt i = 0; i < f->nd; i++) {
    const FitData   *q  = &f->ds[i];
    const PetscReal *rc = r + q->off + c * q->nt;
    if (d >= 0 && i != d) continue;
    for (PetscInt k = 0; k < q->nt; k++) s += rc[k] * rc[k];
    n += q->nt;
  }
  return f->ch[c].sigma * PetscSqrtReal(s / n);
}

static PetscReal FitRMSE(const Fit *f, const PetscReal r[], PetscInt c)
{
  return FitRMSEOf(f, r, -1, c);
}

static PetscInt FitPoints(const Fit *f)
{
  PetscInt n = 0;
  for (PetscInt i = 0; i < f->nd; i++) n += f->ds[i].nt;
  return n;
}

static void FitYAMLValue(FILE *fp, const char *v)
{
  fputc('"', fp);
  for (; *v; v++) {
    if (*v == '"' || *v == '\\') fputc('\\', fp);
    fputc(*v, fp);
  }
  fputc('"', fp);
}

static PetscErrorCode FitWriteDeck(Fit *f, const char path[], const char fitted_set[],
                                   const TCFitResult *res)
{
  FILE       *fp;
  const char *names[256];
  PetscInt    npre = 0;

  PetscFunctionBeginUser;
  PetscCall(TCDeckGetPrefixed(f->deck, "probes_", &npre, names, 256));
  PetscCall(TCOutputFOpen(f->comm, path, &fp));
  if (fp) {
    fprintf(fp, "# %s calibrated by tomocell fit (fit.json beside this file)\n",
            f->deck_path ? f->deck_path : "(no deck)");
    fprintf(fp, "# model: %s; fitted:", f->roll ? "tomocell run, job roll" : "tomocell cell");
    for (PetscInt j = 0; j < f->np; j++)
      fprintf(fp, " %s = %.6g +- %.2g%s", f->par[j].name, (double)res->x[j], (double)res->se[j],
              j + 1 < f->np ? ";" : "\n");
    fprintf(fp, "# RMSE:");
    for (PetscInt c = 0; c < f->nch; c++)
      fprintf(fp, " %s %.4g -> %.4g %s%s", f->ch[c].model_col,
              (double)(f->ch[c].print_scale * FitRMSE(f, res->r0, c)),
              (double)(f->ch[c].print_scale * FitRMSE(f, res->r, c)), f->ch[c].print_unit,
              c + 1 < f->nch ? ";" : "\n");
    for (PetscInt i = 0; i < f->nd && f->multi; i++) {
      fprintf(fp, "# dataset %s: %s", f->ds[i].name, f->ds[i].measured);
      for (int q = FIT_DK_MODEL_FIRST; q < FIT_DK_ROWS; q++)
        if (f->ds[i].val[q]) fprintf(fp, ", %s: %s", FitDataKeys[q], f->ds[i].val[q]);
      fprintf(fp, "\n");
    }
    fprintf(
        fp,
        "# Every key set in the deck or on the command line, flat (nested maps join with '_').\n");
    for (PetscInt k = 0; k < f->nkeys; k++) {
      const TCKey *key = &f->keys[k];
      char         opt[200], val[4096];
      PetscBool    set;
      size_t       n = strlen(key->name);
      if (FitIsFitKey(key->name) || (n > 1 && key->name[n - 1] == '*')) continue;
      snprintf(opt, sizeof(opt), "-%s", key->name);
      PetscCall(PetscOptionsGetString(NULL, NULL, opt, val, sizeof(val), &set));
      if (!strcmp(key->name, "params") && fitted_set) {
        PetscCall(PetscStrncpy(val, fitted_set, sizeof(val)));
        set = PETSC_TRUE;
      }
      if (!set) continue;
      fprintf(fp, "%s: ", key->name);
      FitYAMLValue(fp, val);
      fputc('\n', fp);
    }
    for (PetscInt i = 0; i < npre; i++) {
      char      opt[200], val[1024];
      PetscBool set;
      snprintf(opt, sizeof(opt), "-%s", names[i]);
      PetscCall(PetscOptionsGetString(NULL, NULL, opt, val, sizeof(val), &set));
      if (!set) continue;
      fprintf(fp, "%s: ", names[i]);
      FitYAMLValue(fp, val);
      fputc('\n', fp);
    }
  }
  PetscCall(TCOutputFClose(f->comm, path, &fp));
  PetscFunctionReturn(0);
}

/* One row per measured row; several datasets: a first column dataset, the
   datasets one after the other. */
static PetscErrorCode FitWriteResiduals(Fit *f, const char path[], const TCFitResult *res)
{
  FILE *fp;

  PetscFunctionBeginUser;
  PetscCall(TCOutputFOpen(f->comm, path, &fp));
  if (fp) {
    fprintf(fp, "%stime_s", f->multi ? "dataset," : "");
    for (PetscInt c = 0; c < f->nch; c++)
      fprintf(fp, ",%s_measured,%s_start,%s_fit", f->ch[c].model_col, f->ch[c].model_col,
              f->ch[c].model_col);
    fputc('\n', fp);
    for (PetscInt i = 0; i < f->nd; i++) {
      const FitData   *d  = &f->ds[i];
      const PetscReal *r0 = res->r0 + d->off, *r = res->r + d->off;
      for (PetscInt k = 0; k < d->nt; k++) {
        if (f->multi) fprintf(fp, "%s,", d->name);
        fprintf(fp, "%.10g", (double)d->t_meas[k]);
        for (PetscInt c = 0; c < f->nch; c++) {
          PetscReal y = d->y_meas[c * d->nt + k], s = f->ch[c].sigma;
          fprintf(fp, ",%.10g,%.10g,%.10g", (double)y, (double)(y + s * r0[c * d->nt + k]),
                  (double)(y + s * r[c * d->nt + k]));
        }
        fputc('\n', fp);
      }
    }
  }
  PetscCall(TCOutputFClose(f->comm, path, &fp));
  PetscFunctionReturn(0);
}

static PetscErrorCode FitWriteJSON(Fit *f, const char path[], const char measured[],
                                   const TCFitResult *res, const char *set_out, double wall_s,
                                   const char setting[])
{
  FILE *fp;

  PetscFunctionBeginUser;
  PetscCall(TCOutputFOpen(f->comm, path, &fp));
  if (fp) {
    TCJson js;
    TCJsonBegin(&js, fp);
    TCJsonString(&js, "command", "fit");
    TCJsonString(&js, "model", f->roll ? "roll" : "cell");
    TCJsonString(&js, "deck", f->deck_path ? f->deck_path : "");
    TCJsonString(&js, "measured", measured);
    TCJsonString(&js, "model_setting", setting);
    TCJsonString(&js, "tao_type", res->tao_type);
    TCJsonString(&js, "converged_reason", res->reason);
    TCJsonBool(&js, "converged", res->converged);
    TCJsonReal(&js, "last_step_se", (double)res->step_se);
    TCJsonInt(&js, "iterations", (long long)res->its);
    TCJsonInt(&js, "model_runs", (long long)res->nevals);
    TCJsonInt(&js, "failed_model_runs", (long long)res->nfailed);
    TCJsonInt(&js, "ranks", (long long)f->size);
    TCJsonInt(&js, "residuals", (long long)f->m);
    TCJsonReal(&js, "sigma_weighted", (double)PetscSqrtReal(res->sigma2));
    TCJsonBool(&js, "jacobian_singular", res->singular);
    TCJsonReal(&js, "wall_s", wall_s);
    if (set_out) TCJsonString(&js, "fitted_params_file", set_out);
    if (f->roll) {
      TCJsonObjectBegin(&js, "roll_run");
      TCJsonReal(&js, "elements", (double)f->roll_elements);
      TCJsonReal(&js, "time_steps", (double)f->roll_steps);
      TCJsonReal(&js, "wall_s_first", (double)f->roll_wall_s);
      TCJsonObjectEnd(&js);
    }
    TCJsonArrayBegin(&js, "parameters");
    for (PetscInt j = 0; j < f->np; j++) {
      const FitParam *q   = &f->par[j];
      PetscReal       tol = 1e-9 * (q->hi - q->lo);
      TCJsonObjectBegin(&js, NULL);
      TCJsonString(&js, "name", q->name);
      TCJsonString(&js, "kind", FitKindNames[q->kind]);
      if (q->kind == FIT_DECK_KEY)
        TCJsonString(&js, "key", q->key->name);
      else {
        TCJsonString(&js, "section", q->section);
        TCJsonString(&js, "field", q->field);
      }
      TCJsonReal(&js, "lower", (double)q->lo);
      TCJsonReal(&js, "upper", (double)q->hi);
      TCJsonReal(&js, "start", (double)res->x0[j]);
      TCJsonReal(&js, "value", (double)res->x[j]);
      TCJsonReal(&js, "standard_error", (double)res->se[j]);
      TCJsonBool(&js, "at_bound",
                 (PetscBool)(res->x[j] <= q->lo + tol || res->x[j] >= q->hi - tol));
      /* a standard error beyond the bound range: the data do not determine it */
      TCJsonBool(&js, "determined", (PetscBool)(res->se[j] <= q->hi - q->lo));
      TCJsonObjectEnd(&js);
    }
    TCJsonArrayEnd(&js);
    TCJsonArrayBegin(&js, "correlation");
    for (PetscInt a = 0; a < f->np; a++) {
      TCJsonArrayBegin(&js, NULL);
      for (PetscInt b = 0; b < f->np; b++)
        TCJsonReal(&js, NULL, (double)(res->cov[a * f->np + b] / (res->se[a] * res->se[b])));
      TCJsonArrayEnd(&js);
    }
    TCJsonArrayEnd(&js);
    TCJsonArrayBegin(&js, "channels");
    for (PetscInt c = 0; c < f->nch; c++) {
      TCJsonObjectBegin(&js, NULL);
      TCJsonString(&js, "model_column", f->ch[c].model_col);
      TCJsonString(&js, "measured_column", f->ch[c].meas_col);
      TCJsonString(&js, "unit", f->ch[c].unit);
      TCJsonInt(&js, "points", (long long)FitPoints(f));
      TCJsonReal(&js, "sigma", (double)f->ch[c].sigma);
      TCJsonReal(&js, "rmse_before", (double)FitRMSE(f, res->r0, c));
      TCJsonReal(&js, "rmse_after", (double)FitRMSE(f, res->r, c));
      TCJsonObjectEnd(&js);
    }
    TCJsonArrayEnd(&js);
    /* per dataset: what it is and its RMSE per channel */
    TCJsonArrayBegin(&js, "datasets");
    for (PetscInt i = 0; i < f->nd; i++) {
      const FitData *d = &f->ds[i];
      TCJsonObjectBegin(&js, NULL);
      TCJsonString(&js, "name", d->name);
      TCJsonString(&js, "measured", d->measured);
      for (int q = 1; q < FIT_NDK; q++)
        if (d->val[q]) TCJsonString(&js, FitDataKeys[q], d->val[q]);
      TCJsonInt(&js, "points", (long long)d->nt);
      TCJsonArrayBegin(&js, "channels");
      for (PetscInt c = 0; c < f->nch; c++) {
        TCJsonObjectBegin(&js, NULL);
        TCJsonString(&js, "model_column", f->ch[c].model_col);
        TCJsonReal(&js, "rmse_before", (double)FitRMSEOf(f, res->r0, i, c));
        TCJsonReal(&js, "rmse_after", (double)FitRMSEOf(f, res->r, i, c));
        TCJsonObjectEnd(&js);
      }
      TCJsonArrayEnd(&js);
      TCJsonObjectEnd(&js);
    }
    TCJsonArrayEnd(&js);
    TCJsonEnd(&js);
  }
  PetscCall(TCOutputFClose(f->comm, path, &fp));
  PetscFunctionReturn(0);
}

/* ---- datasets ------------------------------------------------------------------ */

/* f->ds from -measured (one dataset, the fit's own keys) or from the
   fit_datasets_<name>_<key> keys (measured_set: whether -measured was given). */
static PetscErrorCode FitParseDatasets(Fit *f, const char measured[], PetscBool measured_set)
{
  const char *names[FIT_MAXDS * FIT_NDK];
  PetscInt    n;
  const char *pre = "fit_datasets_";
  size_t      lp  = strlen(pre);

  PetscFunctionBeginUser;
  PetscCall(TCDeckGetPrefixed(f->deck, pre, &n, names, FIT_MAXDS * FIT_NDK));
  PetscCall(PetscCalloc1(FIT_MAXDS, &f->ds));
  if (!n) {
    const char *b = strrchr(measured, '/');
    PetscCheck(measured_set, f->comm, PETSC_ERR_USER_INPUT,
               "required key measured is missing: give it in the deck (measured: ...) or as "
               "-measured, or several as datasets (fit_datasets_<name>_measured); %s",
               fit_keys[0].help);
    f->nd = 1;
    PetscCall(PetscStrncpy(f->ds[0].measured, measured, sizeof(f->ds[0].measured)));
    PetscCall(PetscStrncpy(f->ds[0].name, b ? b + 1 : measured, sizeof(f->ds[0].name)));
    PetscFunctionReturn(0);
  }
  PetscCheck(!measured_set, f->comm, PETSC_ERR_USER_INPUT,
             "measured %s and datasets (%s) are given: give every measurement as a dataset, "
             "fit_datasets_<name>_measured (docs/fit.md)",
             measured, names[0]);
  f->multi = PETSC_TRUE;
  for (PetscInt i = 0; i < n; i++) {
    const char *rest = names[i] + lp;
    size_t      lr = strlen(rest), lk = 0;
    int         key = -1;
    FitData    *d   = NULL;
    char        dn[64], val[4096];
    PetscBool   set;
    for (int q = 0; q < FIT_NDK; q++) {
      size_t l = strlen(FitDataKeys[q]);
      if (lr > l + 1 && rest[lr - l - 1] == '_' && !strcasecmp(rest + lr - l, FitDataKeys[q]))
        key = q, lk = l;
    }
    PetscCheck(key >= 0, f->comm, PETSC_ERR_USER_INPUT,
               "key %s: not fit_datasets_<name>_<key> with a key of a dataset (measured, "
               "experiment, ambient_temperature, initial_temperature, initial_soc, rows, "
               "time_offset_s, t_min_s, t_max_s)",
               names[i]);
    PetscCheck(lr - lk - 1 < sizeof(dn), f->comm, PETSC_ERR_USER_INPUT,
               "key %s: the dataset's name is longer than %d characters", names[i],
               (int)sizeof(dn) - 1);
    memcpy(dn, rest, lr - lk - 1);
    dn[lr - lk - 1] = 0;
    for (PetscInt j = 0; j < f->nd && !d; j++)
      if (!strcasecmp(f->ds[j].name, dn)) d = &f->ds[j];
    if (!d) {
      PetscCheck(f->nd < FIT_MAXDS, f->comm, PETSC_ERR_USER_INPUT,
                 "fit_datasets: more than %d datasets", FIT_MAXDS);
      d = &f->ds[f->nd++];
      PetscCall(PetscStrncpy(d->name, dn, sizeof(d->name)));
    }
    PetscCall(TCDeckGetString(f->deck, names[i], val, sizeof(val), &set));
    if (key >= FIT_DK_MODEL_FIRST && key < FIT_DK_ROWS) {
      /* a model key: given to every run of this dataset, so checked here as the model would */
      const TCKey *k = FitFindKey(f, FitDataKeys[key]);
      PetscCheck(k, f->comm, PETSC_ERR_PLIB, "no key %s", FitDataKeys[key]);
      if (k->type == TC_KEY_REAL) {
        char  *e;
        double v = strtod(val, &e);
        PetscCheck(e != val && !*FitTrim(e) && v >= k->lo && v <= k->hi, f->comm,
                   PETSC_ERR_USER_INPUT, "key %s = '%s' is not a number in [%s, %s] (%s)", names[i],
                   val, TCG(k->lo).s, TCG(k->hi).s, k->help);
      }
    }
    PetscCall(PetscStrallocpy(val, &d->val[key]));
  }
  for (PetscInt j = 0; j < f->nd; j++) {
    FitData *d = &f->ds[j];
    PetscCheck(d->val[FIT_DK_MEASURED], f->comm, PETSC_ERR_USER_INPUT,
               "dataset %s has no measurement: give fit_datasets_%s_measured (in the deck, fit: "
               "datasets: {%s: {measured: FILE.csv, ...}})",
               d->name, d->name, d->name);
    PetscCall(TCInputCheck(f->comm, d->val[FIT_DK_MEASURED]));
    PetscCall(PetscStrncpy(d->measured, d->val[FIT_DK_MEASURED], sizeof(d->measured)));
  }
  /* the model keys a dataset sets are not fitted, and their deck values are kept for the rest */
  for (int q = FIT_DK_MODEL_FIRST; q < FIT_DK_ROWS; q++) {
    char      opt[64], val[4096];
    PetscBool set, given = PETSC_FALSE;
    for (PetscInt j = 0; j < f->nd; j++) given = (PetscBool)(given || f->ds[j].val[q]);
    for (PetscInt j = 0; j < f->np && given; j++)
      PetscCheck(f->par[j].kind != FIT_DECK_KEY || strcmp(f->par[j].key->name, FitDataKeys[q]),
                 f->comm, PETSC_ERR_USER_INPUT,
                 "fit_params: %s is fitted and also set per dataset (fit_datasets_<name>_%s): "
                 "one or the other",
                 FitDataKeys[q], FitDataKeys[q]);
    snprintf(opt, sizeof(opt), "-%s", FitDataKeys[q]);
    PetscCall(PetscOptionsGetString(NULL, NULL, opt, val, sizeof(val), &set));
    if (set) PetscCall(PetscStrallocpy(val, &f->base[q]));
  }
  PetscFunctionReturn(0);
}

/* A per-dataset real key, or the fit's own (value unchanged when neither). */
static PetscErrorCode FitDataReal(const Fit *f, const FitData *d, int key, PetscReal *v)
{
  PetscFunctionBeginUser;
  if (d->val[key]) {
    char  *e;
    double x = strtod(d->val[key], &e);
    PetscCheck(e != d->val[key] && !*FitTrim(e) && isfinite(x), f->comm, PETSC_ERR_USER_INPUT,
               "key fit_datasets_%s_%s = '%s' is not a number", d->name, FitDataKeys[key],
               d->val[key]);
    *v = x;
  }
  PetscFunctionReturn(0);
}

/* Read dataset d (index i): its rows, in its window; the channels from the
   first, whose columns every other one must have. */
static PetscErrorCode FitReadData(Fit *f, FitData *d, PetscInt i, const char col[],
                                  const char deck_rows[], PetscReal toff, PetscReal tmin,
                                  PetscReal tmax, PetscReal sV, PetscReal sA, PetscReal sK,
                                  PetscReal off)
{
  MPI_Comm    comm = f->comm;
  FitTable    meas;
  char        rows[4096] = "", rkey[128] = "fit_rows", tcols[4096];
  char       *sel_col[FIT_MAXSEL], *sel_val[FIT_MAXSEL];
  PetscInt    nsel     = 0;
  const char *measured = d->measured;
  PetscBool   set;

  PetscFunctionBeginUser;
  if (d->val[FIT_DK_ROWS]) {
    PetscCall(PetscStrncpy(rows, d->val[FIT_DK_ROWS], sizeof(rows)));
    snprintf(rkey, sizeof(rkey), "fit_datasets_%s_rows", d->name);
  } else if (deck_rows)
    PetscCall(PetscStrncpy(rows, deck_rows, sizeof(rows)));
  PetscCall(FitDataReal(f, d, FIT_DK_TIME_OFFSET, &toff));
  PetscCall(FitDataReal(f, d, FIT_DK_T_MIN, &tmin));
  PetscCall(FitDataReal(f, d, FIT_DK_T_MAX, &tmax));
  if (rows[0]) {
    char *save = NULL;
    for (char *it = strtok_r(rows, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
      char *eq = strchr(it, '=');
      PetscCheck(eq && eq != it && nsel < FIT_MAXSEL, comm, PETSC_ERR_USER_INPUT,
                 "%s: '%s' is not COLUMN=VALUE (e.g. Step=13,Cycle=1; at most %d)", rkey,
                 FitTrim(it), FIT_MAXSEL);
      *eq             = 0;
      sel_val[nsel]   = FitTrim(eq + 1);
      sel_col[nsel++] = FitTrim(it);
    }
  }
  FitCallAll(comm, FitTableRead(measured, "measured", col, nsel, sel_col, sel_val, &meas));
  {
    PetscInt ct = FitTableColumn(&meas, col);
    char     vcol[256], icol[256] = "";
    PetscCheck(ct >= 0, comm, PETSC_ERR_USER_INPUT,
               "measured %s has no time column '%s' (fit_time_column)", measured, col);
    if (i == 0) {
      PetscCall(TCDeckGetString(f->deck, "fit_voltage_column", vcol, sizeof(vcol), &set));
      if (strcasecmp(vcol, "none"))
        PetscCall(FitAddChannel(f, &meas, measured, "voltage_V", vcol, "V", sV, 0));
      PetscCall(TCDeckGetString(f->deck, "fit_current_column", icol, sizeof(icol), &set));
      if (set) PetscCall(FitAddChannel(f, &meas, measured, "current_A", icol, "A", sA, 0));
      PetscCall(TCDeckGetString(f->deck, "fit_temperature_columns", tcols, sizeof(tcols), &set));
      if (set) {
        char *save = NULL;
        for (char *it = strtok_r(tcols, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
          char *eq = strchr(it, '=');
          PetscCheck(eq, comm, PETSC_ERR_USER_INPUT,
                     "fit_temperature_columns: '%s' is not model_column=measured_column (e.g. "
                     "T_can_mid_K=TC1)",
                     FitTrim(it));
          *eq = 0;
          PetscCall(FitAddChannel(f, &meas, measured, FitTrim(it), FitTrim(eq + 1), "K", sK, off));
        }
      }
      PetscCheck(f->nch > 0, comm, PETSC_ERR_USER_INPUT,
                 "nothing to fit: fit_voltage_column is none and no current or temperature "
                 "column is given");
    } else
      for (PetscInt c = 0; c < f->nch; c++)
        PetscCall(FitMeasColumn(f, &meas, measured, f->ch[c].meas_col, &f->ch[c].meas_idx));
    /* the rows in the window, every used cell a number */
    PetscCall(PetscMalloc2(meas.nrow, &d->t_meas, meas.nrow * f->nch, &d->y_meas));
    for (PetscInt k = 0; k < meas.nrow; k++) {
      const PetscReal *row = meas.v + (size_t)k * meas.ncol;
      PetscCheck(isfinite(row[ct]), comm, PETSC_ERR_FILE_UNEXPECTED,
                 "measured %s:%d: column %s is not a number", measured, (int)meas.line[k],
                 meas.names[ct]);
      if (row[ct] - toff < tmin || row[ct] - toff > tmax) continue;
      PetscCheck(!d->nt || row[ct] - toff >= d->t_meas[d->nt - 1], comm, PETSC_ERR_FILE_UNEXPECTED,
                 "measured %s:%d: time %s s goes back (times must not decrease)", measured,
                 (int)meas.line[k], TCG(row[ct]).s);
      for (PetscInt c = 0; c < f->nch; c++) {
        PetscCheck(isfinite(row[f->ch[c].meas_idx]), comm, PETSC_ERR_FILE_UNEXPECTED,
                   "measured %s:%d: column %s is not a number", measured, (int)meas.line[k],
                   f->ch[c].meas_col);
      }
      d->t_meas[d->nt] = row[ct] - toff;
      d->nt++;
    }
    PetscCheck(d->nt > 0, comm, PETSC_ERR_USER_INPUT, "measured %s has no rows%s", measured,
               meas.nrow ? " in the window fit_t_min_s .. fit_t_max_s" : "");
    for (PetscInt c = 0, k = 0; c < f->nch; c++, k = 0)
      for (PetscInt q = 0; q < meas.nrow; q++) {
        const PetscReal *row = meas.v + (size_t)q * meas.ncol;
        if (row[ct] - toff < tmin || row[ct] - toff > tmax) continue;
        d->y_meas[c * d->nt + k++] = row[f->ch[c].meas_idx] + f->ch[c].offset;
      }
  }
  FitTableFree(&meas);
  PetscFunctionReturn(0);
}

/* Two datasets of the same rows of the same file would weigh those data twice. */
static PetscErrorCode FitDatasetsDistinct(const Fit *f)
{
  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < f->nd; a++)
    for (PetscInt b = a + 1; b < f->nd; b++) {
      const FitData *p = &f->ds[a], *q = &f->ds[b];
      char           ra[PETSC_MAX_PATH_LEN], rb[PETSC_MAX_PATH_LEN];
      PetscBool      same = PETSC_TRUE;
      if (!realpath(p->measured, ra)) PetscCall(PetscStrncpy(ra, p->measured, sizeof(ra)));
      if (!realpath(q->measured, rb)) PetscCall(PetscStrncpy(rb, q->measured, sizeof(rb)));
      same = (PetscBool)(!strcmp(ra, rb) && p->nt == q->nt);
      for (PetscInt k = 0; same && k < p->nt; k++) same = (PetscBool)(p->t_meas[k] == q->t_meas[k]);
      for (PetscInt k = 0; same && k < p->nt * f->nch; k++)
        same = (PetscBool)(p->y_meas[k] == q->y_meas[k]);
      PetscCheck(!same, f->comm, PETSC_ERR_USER_INPUT,
                 "datasets %s and %s are the same measurement (the same rows of %s): give each "
                 "once",
                 p->name, q->name, p->measured);
    }
  PetscFunctionReturn(0);
}

/* ---- the command -------------------------------------------------------------- */

static void FitHelp(void)
{
  printf(
      "Keys of the fit (options -key value, or a fit: section of the deck, fit: {params: ...}):\n");
  TCDeckPrintKeys(fit_keys, fit_nkeys);
  printf(
      "\nfit_model: auto|cell|roll. Every key of tomocell cell (cell model) or tomocell run\n"
      "(roll) is accepted too: the deck is that command's deck.\n"
      "\nParameters (fit_params, name:lo:hi[:start]; the start defaults to the current value):\n"
      "  a real deck key          e.g. thermal_h_can_W_m2K, tab_contact_ohm_m, cell_thickness_n_m\n"
      "  Section/Field            a number of the BPX set, e.g. \"Cell/Heat transfer coefficient "
      "[W.m-2.K-1]\"\n"
      "  Section/Field*           a factor on a set field (number, expression or table)\n"
      "  short names:");
  for (size_t a = 0; a < sizeof(FitAliases) / sizeof(FitAliases[0]); a++)
    printf("%s%s", a % 6 ? " " : "\n    ", FitAliases[a].alias);
  printf("\n    (*_factor: a factor on the field; the others its value)\n"
         "\nTAO: bounded least squares, default -fit_tao_type brgn; every TAO option with the\n"
         "  prefix fit_ (-fit_tao_type pounders|bqnls, -fit_tao_max_it 30, -fit_tao_grtol 1e-7,\n"
         "  -fit_tao_monitor, -fit_tao_view).\n"
         "Datasets: several measurements fitted jointly (one set of parameters, one residual\n"
         "  vector): in the deck fit: datasets: {NAME: {measured: A.csv, experiment: ...}}, or\n"
         "  -fit_datasets_NAME_KEY VALUE; KEY measured, experiment, ambient_temperature,\n"
         "  initial_temperature, initial_soc, rows, time_offset_s, t_min_s, t_max_s (the deck's\n"
         "  or the fit's own key where a dataset gives none); not with -measured.\n"
         "Outputs in -output (default output/<deck name>/fit): fit.json, fit_deck.yaml,\n"
         "  fit_params.json (when set fields are fitted), fit_residuals.csv, fit.png.\n"
         "Cell: the Jacobian's model runs are shared out over the ranks (mpiexec -n N).\n"
         "Roll: every model run is a full tomocell run of the deck on all ranks, as the deck\n"
         "  says (its grid, elements, steps), without plots and field snapshots.\n");
}

/* Roll runs of a fit: options that change outputs only */
#define FIT_NOVR 2
static const char *const fit_ovr[FIT_NOVR][2] = {{"-plots", "false"},
                                                 {"-output_interval_s", "1e9"}};

static PetscErrorCode FitMain(int npos, char **pos)
{
  MPI_Comm     comm = PETSC_COMM_WORLD;
  Fit          f;
  TCFitProblem prob;
  TCFitResult  res;
  PetscReal lo[FIT_MAXP], hi[FIT_MAXP], sV, sA, sK, tmin = -PETSC_MAX_REAL, tmax = PETSC_MAX_REAL,
                                                    off = 0;
  PetscInt  tunit;
  PetscBool set, plots, ovr_set[2] = {PETSC_FALSE, PETSC_FALSE};
  char      ovr_saved[2][256];
  char      measured[PETSC_MAX_PATH_LEN], outdir[PETSC_MAX_PATH_LEN], spec[8192];
  char      col[256], setting[1024] = "", rows[512];
  PetscBool rows_set, measured_set;
  PetscReal toff = 0;
  char      p_json[PETSC_MAX_PATH_LEN], p_deck[PETSC_MAX_PATH_LEN], p_set[PETSC_MAX_PATH_LEN],
      p_csv[PETSC_MAX_PATH_LEN], p_png[PETSC_MAX_PATH_LEN], set_abs[PETSC_MAX_PATH_LEN];
  PetscLogDouble t0, t1;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  PetscCall(PetscMemzero(&f, sizeof(f)));
  measured[0] = 0;
  f.comm      = comm;
  f.deck_path = npos ? pos[0] : NULL;
  PetscCallMPI(MPI_Comm_rank(comm, &f.rank));
  PetscCallMPI(MPI_Comm_size(comm, &f.size));
  PetscCall(FitDetectModel(comm, f.deck_path, &f.roll));
  PetscCall(FitKeyTable(&f));
  PetscCall(TCDeckCreate(comm, "fit", f.keys, f.nkeys, &f.deck));
  PetscCall(TCDeckLoad(f.deck, f.deck_path));
  PetscCall(TCDeckGetString(f.deck, "measured", measured, sizeof(measured), &measured_set));
  if (measured_set) PetscCall(TCInputCheck(comm, measured));
  PetscCall(TCDeckGetString(f.deck, "fit_params", spec, sizeof(spec), &set));
  PetscCall(TCDeckGetReal(f.deck, "fit_sigma_V", &sV));
  PetscCall(TCDeckGetReal(f.deck, "fit_sigma_A", &sA));
  PetscCall(TCDeckGetReal(f.deck, "fit_sigma_K", &sK));
  PetscCall(TCDeckGetReal(f.deck, "fit_t_min_s", &tmin));
  PetscCall(TCDeckGetReal(f.deck, "fit_t_max_s", &tmax));
  PetscCall(TCDeckGetReal(f.deck, "fit_fd_step", &prob.fd_step));
  PetscCall(TCDeckGetReal(f.deck, "fit_step_tol", &prob.step_tol));
  PetscCall(TCDeckGetBool(f.deck, "fit_plots", &plots));
  PetscCall(TCDeckGetBool(f.deck, "fit_verbose", &f.verbose));
  PetscCall(TCDeckGetEnum(f.deck, "fit_temperature_unit", &tunit));
  if (tunit == 1) off = 273.15;
  PetscCall(TCDeckGetString(f.deck, "output", outdir, sizeof(outdir), &set));
  if (!set) {
    const char *dn;
    char        d[PETSC_MAX_PATH_LEN];
    PetscCall(TCDeckGetName(f.deck, &dn));
    PetscCall(TCPathJoin("output", npos && dn[0] ? dn : "fit", d, sizeof(d)));
    PetscCall(TCPathJoin(d, "fit", outdir, sizeof(outdir)));
  }

  /* the set: parsed once, its fields resolved by name */
  PetscCall(TCDeckGetString(f.deck, "params", f.set_name, sizeof(f.set_name), &set));
  {
    size_t n = strlen(f.set_name);
    if (strchr(f.set_name, '/') || (n > 5 && !strcmp(f.set_name + n - 5, ".json")))
      PetscCall(PetscStrncpy(f.set_file, f.set_name, sizeof(f.set_file)));
    else {
      char         dir[PETSC_MAX_PATH_LEN], nm[300];
      TCCellParams p;
      FitCallAll(comm, TCCellParamsLoad(f.set_name, &p)); /* the message for an unknown set */
      PetscCall(TCCellParamsDestroy(&p));
      PetscCall(TCCellParamsDir(dir, sizeof(dir)));
      for (size_t i = 0; i <= n && i < sizeof(nm) - 6; i++) nm[i] = (char)tolower(f.set_name[i]);
      nm[sizeof(nm) - 6] = 0;
      PetscCall(PetscStrlcat(nm, ".json", sizeof(nm)));
      PetscCall(TCPathJoin(dir, nm, f.set_file, sizeof(f.set_file)));
    }
  }
  FitCallAll(comm, TCJsonParseFile(f.set_file, &f.set));
  PetscCall(FitParseParams(&f, spec));

  /* the measurements and the channels */
  PetscCall(FitParseDatasets(&f, measured, measured_set));
  PetscCall(TCDeckGetString(f.deck, "fit_time_column", col, sizeof(col), &set));
  PetscCall(TCDeckGetString(f.deck, "fit_rows", rows, sizeof(rows), &rows_set));
  PetscCall(TCDeckGetReal(f.deck, "fit_time_offset_s", &toff));
  for (PetscInt i = 0; i < f.nd; i++)
    PetscCall(FitReadData(&f, &f.ds[i], i, col, rows_set ? rows : NULL, toff, tmin, tmax, sV, sA,
                          sK, off));
  PetscCall(FitDatasetsDistinct(&f));
  f.m = 0;
  for (PetscInt i = 0; i < f.nd; i++) f.ds[i].off = f.m, f.m += f.nch * f.ds[i].nt;
  PetscCheck(f.m > f.np, comm, PETSC_ERR_USER_INPUT,
             "measured %s: %d points for %d parameters; the fit needs more points than parameters",
             f.multi ? "(all datasets)" : f.ds[0].measured, (int)f.m, (int)f.np);

  /* the outputs, claimed before any work; the work files beside them */
  PetscCall(TCPathJoin(outdir, "fit.json", p_json, sizeof(p_json)));
  PetscCall(TCPathJoin(outdir, "fit_deck.yaml", p_deck, sizeof(p_deck)));
  PetscCall(TCPathJoin(outdir, "fit_params.json", p_set, sizeof(p_set)));
  PetscCall(TCPathJoin(outdir, "fit_residuals.csv", p_csv, sizeof(p_csv)));
  PetscCall(TCPathJoin(outdir, "fit.png", p_png, sizeof(p_png)));
  {
    const char *const names[] = {"fit.json", "fit_deck.yaml", "fit_params.json",
                                 "fit_residuals.csv", "fit.png"};
    PetscCall(TCOutputClaimIn(comm, outdir, 5, names));
  }
  PetscCall(TCOutputPrepareDir(comm, outdir));
  if (f.set_fitted) {
    char nm[64];
    for (PetscMPIInt r = 0; r < f.size; r++) { /* every rank's, for the clean-up on failure */
      char p[PETSC_MAX_PATH_LEN];
      snprintf(nm, sizeof(nm), ".fit-set-%d.json", f.roll ? 0 : (int)r);
      PetscCall(TCPathJoin(outdir, nm, p, sizeof(p)));
      PetscCall(TCOutputRegister(comm, p));
      if (r == (f.roll ? 0 : f.rank)) PetscCall(PetscStrncpy(f.work_set, p, sizeof(f.work_set)));
      if (f.roll) break;
    }
  }
  if (f.roll) {
    PetscCall(TCPathJoin(outdir, ".fit-run", f.workdir, sizeof(f.workdir)));
    PetscCall(TCOutputPrepareDir(comm, f.workdir)); /* removed, when empty, if the fit fails */
    /* output only (they change no result): no plots and no field snapshots
       but the last for the runs of the fit; restored for the fitted deck */
    for (int o = 0; o < FIT_NOVR; o++) {
      PetscCall(PetscOptionsGetString(NULL, NULL, fit_ovr[o][0], ovr_saved[o], sizeof(ovr_saved[o]),
                                      &ovr_set[o]));
      PetscCall(PetscOptionsSetValue(NULL, fit_ovr[o][0], fit_ovr[o][1]));
    }
    {
      char      model[32] = "spme", net[256] = "";
      PetscBool s2;
      PetscCall(PetscOptionsGetString(NULL, NULL, "-model", model, sizeof(model), &s2));
      PetscCall(PetscOptionsGetString(NULL, NULL, "-network_ds_m", net, sizeof(net), &s2));
      snprintf(setting, sizeof(setting),
               "every model run is a full tomocell run of the deck as it is (%s elements, "
               "network_ds_m %s; its own grid and time steps: the cheapest setting the deck "
               "states as faithful), on %d rank(s), without plots and field snapshots",
               model, s2 ? net : "default", (int)f.size);
    }
  } else {
    PetscInt  model;
    PetscReal dtf, tol;
    PetscCall(TCDeckGetEnum(f.deck, "model", &model));
    PetscCall(TCDeckGetReal(f.deck, "cell_dt_fixed_s", &dtf));
    PetscCall(TCDeckGetReal(f.deck, "cell_tol_V", &tol));
    if (dtf > 0)
      snprintf(setting, sizeof(setting),
               "tomocell cell, %s, fixed steps of %g s; model runs shared out over %d rank(s)",
               TCCellModels[model], (double)dtf, (int)f.size);
    else
      snprintf(setting, sizeof(setting),
               "tomocell cell, %s, adaptive steps (cell_tol_V %g V); model runs shared out over "
               "%d rank(s)",
               TCCellModels[model], (double)tol, (int)f.size);
  }
  if (!f.multi)
    PetscCall(TCPrintf(comm, "tomocell fit: %s on %s (%d rows, %d column(s): ",
                       f.deck_path ? f.deck_path : "(no deck)", measured, (int)f.ds[0].nt,
                       (int)f.nch));
  else {
    PetscCall(TCPrintf(comm, "tomocell fit: %s on %d datasets (",
                       f.deck_path ? f.deck_path : "(no deck)", (int)f.nd));
    for (PetscInt i = 0; i < f.nd; i++)
      PetscCall(
          TCPrintf(comm, "%s: %s, %d rows; ", f.ds[i].name, f.ds[i].measured, (int)f.ds[i].nt));
    PetscCall(TCPrintf(comm, "%d column(s): ", (int)f.nch));
  }
  for (PetscInt c = 0; c < f.nch; c++)
    PetscCall(TCPrintf(comm, "%s%s=%s", c ? ", " : "", f.ch[c].model_col, f.ch[c].meas_col));
  PetscCall(TCPrintf(comm, "), %d parameter(s)\n  model: %s\n", (int)f.np, setting));

  /* the start on every rank: a model that cannot run there is reported with
     its own message (cheap for a cell; a roll's first run is the fit's) */
  if (!f.roll) {
    static const char *const cn[4] = {"time_s", "current_A", "voltage_V", "temperature_K"};
    PetscReal                x0[FIT_MAXP];
    f.model.ncol  = 4;
    f.model.names = (char **)calloc(4, sizeof(char *));
    PetscCheck(f.model.names, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
    for (int c = 0; c < 4; c++) f.model.names[c] = strdup(cn[c]);
    char missing[128];
    for (PetscInt j = 0; j < f.np; j++) x0[j] = f.par[j].start;
    PetscCall(FitApply(&f, x0));
    for (PetscInt i = 0; i < f.nd; i++) {
      /* every rank runs it alone: its error, if any, raised on all together */
      int            saved, code;
      PetscErrorCode ierr;
      char           msg[1024] = "";
      PetscCall(FitUseDataset(&f, &f.ds[i]));
      saved = FitMute(&f);
      PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
      ierr = FitCellRun(&f);
      PetscCall(PetscPopErrorHandler());
      FitUnmute(saved);
      PetscCall(FitFirstError(comm, ierr, msg, sizeof(msg), &code));
      PetscCheck(!code, comm, (PetscErrorCode)code, "%s%s%s%s", f.multi ? "dataset " : "",
                 f.multi ? f.ds[i].name : "", f.multi ? ": " : "", msg);
    }
    PetscCall(FitModelColumns(&f, missing, sizeof(missing)));
    PetscCheck(!missing[0], comm, PETSC_ERR_PLIB, "cell model: no column %s", missing);
  } else {
    /* the roll's columns are checked after its first run */
    (void)0;
    for (PetscInt c = 0; c < f.nch; c++) f.ch[c].model_idx = -1;
  }

  for (PetscInt j = 0; j < f.np; j++) lo[j] = f.par[j].lo, hi[j] = f.par[j].hi;
  prob.n          = f.np;
  prob.m          = f.m;
  prob.lo         = lo;
  prob.hi         = hi;
  prob.collective = f.roll;
  prob.residual   = FitResidual;
  prob.ctx        = &f;
  prob.prefix     = "fit_";
  prob.errmsg     = f.last_error;
  {
    static const char *nm[FIT_MAXP];
    for (PetscInt j = 0; j < f.np; j++) nm[j] = f.par[j].name;
    prob.names = nm;
  }
  PetscCall(TCFitResultCreate(prob.n, prob.m, &res));
  for (PetscInt j = 0; j < f.np; j++) res.x[j] = f.par[j].start;
  PetscCall(TCFitSolve(comm, &prob, &res));
  PetscCall(PetscTime(&t1));

  /* report */
  PetscCall(TCPrintf(comm,
                     "  TAO %s: %s after %d iteration(s), %d model runs (%d failed), %.2f s wall\n",
                     res.tao_type, res.reason, (int)res.its, (int)res.nevals, (int)res.nfailed,
                     (double)(t1 - t0)));
  if (f.roll) {
    PetscCallMPI(MPI_Bcast(f.roll_run, sizeof(f.roll_run), MPI_CHAR, 0, comm));
    PetscCall(TCPrintf(comm, "  roll runs: %s\n", f.roll_run));
  }
  PetscCall(TCPrintf(comm, "  %-36s %13s %13s %11s   bounds\n", "parameter", "start", "fitted",
                     "std error"));
  for (PetscInt j = 0; j < f.np; j++) {
    const FitParam *q   = &f.par[j];
    PetscReal       tol = 1e-9 * (q->hi - q->lo);
    PetscCall(TCPrintf(comm, "  %-36s %13.6g %13.6g %11.3g   [%g, %g]%s\n", q->name,
                       (double)res.x0[j], (double)res.x[j], (double)res.se[j], (double)q->lo,
                       (double)q->hi,
                       res.x[j] <= q->lo + tol || res.x[j] >= q->hi - tol ? " at a bound" : ""));
  }
  if (!res.converged)
    PetscCall(TCPrintf(comm,
                       "  note: TAO stopped without converging (%s): the values are the best point "
                       "found.%s\n",
                       res.reason,
                       f.roll || strstr(setting, "adaptive")
                           ? " Adaptive time steps make the model a slightly noisy function of "
                             "the parameters (fixed steps, dt_fixed_s or cell_dt_fixed_s, do not)"
                           : ""));
  if (res.singular)
    PetscCall(TCPrintf(comm, "  note: J^T J is singular: the parameters are not identifiable from "
                             "these data (no standard errors)\n"));
  for (PetscInt j = 0; j < f.np && !res.singular; j++)
    if (res.se[j] > f.par[j].hi - f.par[j].lo)
      PetscCall(TCPrintf(comm,
                         "  note: %s: the standard error exceeds its bound range: these data do "
                         "not determine it (fix it, or fit it with data that do)\n",
                         f.par[j].name));
  for (PetscInt j = 0; j < f.np && !res.singular; j++)
    if (isnan(res.se[j])) {
      PetscCall(TCPrintf(comm, "  note: a parameter at a bound is held there (no standard error); "
                               "the others' standard errors are conditional on it\n"));
      break;
    }
  for (PetscInt i = 0; i < f.nd && f.multi; i++)
    for (PetscInt c = 0; c < f.nch; c++)
      PetscCall(
          TCPrintf(comm, "  RMSE %s %s: %.4g %s -> %.4g %s\n", f.ds[i].name, f.ch[c].model_col,
                   (double)(f.ch[c].print_scale * FitRMSEOf(&f, res.r0, i, c)), f.ch[c].print_unit,
                   (double)(f.ch[c].print_scale * FitRMSEOf(&f, res.r, i, c)), f.ch[c].print_unit));
  for (PetscInt c = 0; c < f.nch; c++)
    PetscCall(TCPrintf(comm, "  RMSE %s%s: %.4g %s -> %.4g %s\n", f.multi ? "all " : "",
                       f.ch[c].model_col, (double)(f.ch[c].print_scale * FitRMSE(&f, res.r0, c)),
                       f.ch[c].print_unit, (double)(f.ch[c].print_scale * FitRMSE(&f, res.r, c)),
                       f.ch[c].print_unit));

  /* outputs: the fitted set, the deck, the residuals, the summary, the plot */
  PetscCall(FitApply(&f, res.x));
  PetscCall(FitUseDeck(&f));
  set_abs[0] = 0;
  if (f.set_fitted) {
    FILE *fp;
    PetscCall(TCOutputFOpen(comm, p_set, &fp));
    if (fp) {
      TCJson js;
      TCJsonBegin(&js, fp);
      for (PetscInt i = 0; i < f.set->n; i++)
        FitJsonWrite(&f, res.x, &js, f.set->keys[i], f.set->members[i]);
      TCJsonEnd(&js);
    }
    PetscCall(TCOutputFClose(comm, p_set, &fp));
    if (f.rank == 0 && !realpath(p_set, set_abs))
      PetscCall(PetscStrncpy(set_abs, p_set, sizeof(set_abs)));
    PetscCallMPI(MPI_Bcast(set_abs, sizeof(set_abs), MPI_CHAR, 0, comm));
  }
  for (int o = 0; f.roll && o < FIT_NOVR; o++) {
    if (ovr_set[o])
      PetscCall(PetscOptionsSetValue(NULL, fit_ovr[o][0], ovr_saved[o]));
    else
      PetscCall(PetscOptionsClearValue(NULL, fit_ovr[o][0]));
  }
  PetscCall(FitWriteDeck(&f, p_deck, f.set_fitted ? set_abs : NULL, &res));
  PetscCall(FitWriteResiduals(&f, p_csv, &res));
  if (f.multi) {
    measured[0] = 0;
    for (PetscInt i = 0; i < f.nd; i++) {
      PetscCall(PetscStrlcat(measured, i ? "," : "", sizeof(measured)));
      PetscCall(PetscStrlcat(measured, f.ds[i].measured, sizeof(measured)));
    }
  }
  PetscCall(
      FitWriteJSON(&f, p_json, measured, &res, f.set_fitted ? p_set : NULL, t1 - t0, setting));
  /* the work files */
  if (f.set_fitted && (!f.roll || f.rank == 0)) {
    TCInputForget(f.work_set);
    (void)remove(f.work_set);
  }
  if (f.roll) PetscCall(FitRollClean(&f, PETSC_TRUE));
  PetscCall(TCPrintf(comm, "  wrote %s, %s, %s%s%s", p_json, p_deck, f.set_fitted ? p_set : "",
                     f.set_fitted ? ", " : "", p_csv));
  if (plots) {
    int rc = 0;
    if (f.rank == 0) {
      char cmd[3 * PETSC_MAX_PATH_LEN + 200];
      snprintf(cmd, sizeof(cmd),
               "/usr/bin/python3 '%s/tools/plot_fit.py' '%s' '%s' > /dev/null 2>&1", TC_SOURCE_DIR,
               p_csv, p_png);
      fflush(stdout);
      rc = system(cmd);
    }
    PetscCallMPI(MPI_Bcast(&rc, 1, MPI_INT, 0, comm));
    if (rc == 0) {
      PetscCall(TCOutputRegister(comm, p_png)); /* removed with the rest if anything fails now */
      PetscCall(TCPrintf(comm, ", %s\n", p_png));
    } else
      PetscCall(TCPrintf(comm,
                         "\n  note: no plot (needs /usr/bin/python3 with matplotlib and "
                         "%s/tools/plot_fit.py)\n",
                         TC_SOURCE_DIR));
  } else
    PetscCall(TCPrintf(comm, "\n"));

  PetscCall(TCFitResultDestroy(&res));
  for (PetscInt i = 0; i < f.nd; i++) {
    PetscCall(PetscFree2(f.ds[i].t_meas, f.ds[i].y_meas));
    for (int q = 0; q < FIT_NDK; q++) PetscCall(PetscFree(f.ds[i].val[q]));
  }
  for (int q = 0; q < FIT_NDK; q++) PetscCall(PetscFree(f.base[q]));
  PetscCall(PetscFree(f.ds));
  FitTableFree(&f.model);
  PetscCall(TCJsonFree(&f.set));
  PetscCall(TCDeckDestroy(&f.deck));
  PetscCall(PetscFree(f.keys));
  PetscFunctionReturn(0);
}

const TCCommand TCCommandFit = {
    "fit",
    "calibrate deck keys or set parameters to measured time series (bounded least squares, TAO)",
    "tomocell fit [DECK.yaml] -measured FILE.csv|-fit_datasets_NAME_measured FILE.csv ... "
    "-fit_params name:lo:hi[:start],... "
    "[-fit_voltage_column V] [-fit_temperature_columns model=measured,...] [-output DIR]",
    FitHelp,
    FitMain,
    0,
    1,
    fit_keys,
    (PetscInt)(sizeof(fit_keys) / sizeof(fit_keys[0])),
    "fit",
    "fit/fit.json"};
