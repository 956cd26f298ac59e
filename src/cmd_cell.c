/*
 * tomocell cell: run one electrochemical cell (SPM, SPMe or DFN) through a
 * PyBaMM-style experiment and write its time series as CSV, e.g.
 *
 *   tomocell cell -params chen2020 -model dfn \
 *       -experiment "Discharge at 1C until 2.5 V; Rest for 1 hour" -thermal lumped -output out.csv
 *
 * A thin driver over solver/cellparams (BPX sets), solver/cellmodel (the
 * models) and solver/cellexp (experiments).
 *
 * Checkpoint/restart (io/checkpoint): after an accepted step the run can be
 * saved to checkpoint.h5 beside the CSV (-checkpoint_every N steps,
 * -checkpoint_minutes M of wall time, and always when SIGTERM or SIGUSR1
 * arrived: then it stops with exit status 3). The CSV is written to
 * <output>.partial while the run lasts and renamed to <output> at the end;
 * the checkpoint records how many bytes of it were written (and their hash),
 * so -restart truncates the kept file to exactly those bytes and appends
 * from there. Everything the stepping depends on is restored
 * (TCExperimentCursor), so the CSV and JSON of a restarted run are
 * bit-for-bit those of an uninterrupted one (except the JSON's wall_s).
 */
#include "src/commands.h"
#include "src/tc.h"
#include "src/runctl.h"
#include "io/deck.h"
#include "io/json.h"
#include "io/output.h"
#include "io/checkpoint.h"
#include "solver/cellexp.h"
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#define INF PETSC_MAX_REAL

static const TCKey cell_keys[] = {
    {"params", TC_KEY_STRING, "chen2020", 0, 0, PETSC_FALSE, NULL,
     "parameter set: a name in inputs/params/ (chen2020, ...) or the path of a BPX JSON file",
     PETSC_FALSE},
    {"model", TC_KEY_ENUM, "dfn", 0, 0, PETSC_FALSE, "spm|spme|dfn", "cell model", PETSC_FALSE},
    {"experiment", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "PyBaMM-style steps separated by ';' (in a deck also a YAML list); default 'Discharge at "
     "1C until <V> V' with the set's lower voltage cut-off",
     PETSC_TRUE},
    {"drive_cycle", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "drive cycles for 'Run NAME (A|W|V)' steps: NAME=FILE.csv[,NAME=FILE.csv] (CSV of time s "
     "and current A, power W or voltage V)",
     PETSC_TRUE},
    {"drive_cycle_*", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "a drive cycle as a deck map, drive_cycle: {NAME: FILE.csv} (or -drive_cycle_NAME FILE.csv)",
     PETSC_TRUE},
    {"thermal", TC_KEY_ENUM, "isothermal", 0, 0, PETSC_FALSE, "isothermal|lumped",
     "thermal model (lumped: h, area, volume, rho*cp from the set)", PETSC_FALSE},
    {"ambient_temperature", TC_KEY_REAL, NULL, 100, 1000, PETSC_FALSE, NULL,
     "ambient temperature, K (default: the set's)", PETSC_TRUE},
    {"initial_temperature", TC_KEY_REAL, NULL, 100, 1000, PETSC_FALSE, NULL,
     "initial temperature, K (default: the set's, else the ambient)", PETSC_TRUE},
    {"initial_soc", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "initial state of charge in [0, 1], or a rest voltage \"4.18 V\" (the SOC of that "
     "open-circuit voltage at the initial temperature) (default: the set's State SOC, else its "
     "initial concentrations, else 1)",
     PETSC_TRUE},
    {"output", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "CSV time series to write (default output/<deck name>/cell.csv, output/cell/cell.csv "
     "without a deck; cell.json beside it)",
     PETSC_TRUE},
    {"cell_nx_n", TC_KEY_INT, "20", 1, 100000, PETSC_FALSE, NULL, "cells in the negative electrode",
     PETSC_FALSE},
    {"cell_nx_s", TC_KEY_INT, "20", 1, 100000, PETSC_FALSE, NULL, "cells in the separator",
     PETSC_FALSE},
    {"cell_nx_p", TC_KEY_INT, "20", 1, 100000, PETSC_FALSE, NULL, "cells in the positive electrode",
     PETSC_FALSE},
    {"cell_nr_n", TC_KEY_INT, "20", 2, 100000, PETSC_FALSE, NULL, "shells per negative particle",
     PETSC_FALSE},
    {"cell_nr_p", TC_KEY_INT, "20", 2, 100000, PETSC_FALSE, NULL, "shells per positive particle",
     PETSC_FALSE},
    {"cell_dt_max_s", TC_KEY_REAL, "60", 1e-6, 1e9, PETSC_FALSE, NULL, "largest time step, s",
     PETSC_FALSE},
    {"cell_tol_V", TC_KEY_REAL, "1e-3", 1e-9, 1, PETSC_FALSE, NULL,
     "local error tolerance per step on the voltage, V", PETSC_FALSE},
    {"cell_newton_rtol", TC_KEY_REAL, "1e-10", 0, 1, PETSC_TRUE, NULL,
     "Newton tolerance on the scaled update of each step", PETSC_FALSE},
    {"cell_dt_fixed_s", TC_KEY_REAL, "0", 0, INF, PETSC_FALSE, NULL,
     "fixed time step, s (0: adaptive)", PETSC_FALSE},
    TC_CELL_PROPS_KEYS,
};
static const PetscInt cell_nkeys = (PetscInt)(sizeof(cell_keys) / sizeof(cell_keys[0]));

static void CellHelp(void)
{
  printf("Keys (options -key value, or a YAML deck given as the positional argument):\n");
  TCDeckPrintKeys(cell_keys, cell_nkeys);
  printf(
      "\nExperiment steps (PyBaMM's strings), separated by ';':\n"
      "  Discharge|Charge at <x>C|C/<n>|<x> A|mA|<x> W|mW|kW|<x> Ohm [for <n> <unit>] [or] "
      "[until <v> V [or <n> <unit>]]\n"
      "  Rest for <n> seconds|minutes|hours|days\n"
      "  Hold at <v> V [for <n> <unit>] [or] [until <x>C|C/<n>|<x> A|mA]\n"
      "  Run <NAME> (A)|(W)|(V) [for <n> <unit>]   (a drive cycle, see -drive_cycle)\n"
      "  each optionally followed by 'at <T>oC' (or K: the step's ambient) and '(<n> <unit> "
      "period)';\n"
      "  every step is one cycle, '[step; step] * N' repeats a cycle of several steps N times.\n"
      "  A step that draws a current also ends at the set's voltage cut-offs; reaching one "
      "before\n  the step's own end stops the experiment there (as PyBaMM), exit 0.\n"
      "  -parse_experiment prints the parsed steps as JSON lines and exits.\n"
      "CSV columns: time_s,current_A,voltage_V,temperature_K,anode_potential_vs_li_V,soc,\n"
      "  discharge_capacity_Ah,anode_potential_min_over_x_V,neg_avg_stoich,pos_avg_stoich,\n"
      "  neg_surf_stoich,pos_surf_stoich,eta_n_V,eta_p_V,ce_min,ce_max,heat_W,dIdV_S,step,cycle\n"
      "  (step and cycle numbered from 1)\n"
      "  (discharge current positive; surface values and overpotentials at the separator "
      "side)\n");
  printf("\nRun control (command line only):\n"
         "  -checkpoint_every N          write checkpoint.h5 beside -output every N steps [0: "
         "never]\n"
         "  -checkpoint_minutes M        ... and every M minutes of wall time [0: never]\n"
         "  -restart FILE                continue the run saved in FILE (same deck and options)\n"
         "  -progress N                  a progress line every N steps [default: every ~2 s "
         "after the first 2 s]\n"
         "On SIGTERM or SIGUSR1 the run finishes its step, writes the checkpoint and exits with "
         "status 3.\n");
}

/* The CSV being written: rows go to fp (rank 0) and are counted and hashed,
   so a checkpoint can record exactly which bytes are committed. */
typedef struct {
  FILE     *fp;
  PetscReal q_Ah, t_last;
  long long bytes, rows;
  uint64_t  hash;
} CellCtx;

static PetscErrorCode CellWrite(CellCtx *ctx, const char *line)
{
  size_t n = strlen(line);

  PetscFunctionBeginUser;
  if (!ctx->fp) PetscFunctionReturn(0);
  PetscCheck(fwrite(line, 1, n, ctx->fp) == n, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE,
             "cannot write the CSV: %s", strerror(errno));
  ctx->bytes += (long long)n;
  ctx->rows++;
  ctx->hash = TCHash(ctx->hash, line, n);
  PetscFunctionReturn(0);
}

static PetscErrorCode CellMonitor(const TCExperimentPoint *pt, const TCCellResult *r, void *vctx)
{
  CellCtx *ctx = (CellCtx *)vctx;
  char     line[1024];

  PetscFunctionBeginUser;
  ctx->q_Ah += r->I_A * (pt->t_s - ctx->t_last) / 3600;
  ctx->t_last = pt->t_s;
  if (!pt->record) PetscFunctionReturn(0); /* between a period's output times */
  snprintf(line, sizeof(line),
           "%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.8g,%.8g,%."
           "8g,%.8g,%.8g,%.8g,%d,%d\n",
           (double)pt->t_s, (double)r->I_A, (double)r->V_V, (double)pt->T_K,
           (double)r->anode_vs_li_V, (double)pt->soc, (double)ctx->q_Ah,
           (double)r->anode_vs_li_min_V, (double)r->sto_avg_n, (double)r->sto_avg_p,
           (double)r->sto_surf_n, (double)r->sto_surf_p, (double)r->eta_n_V, (double)r->eta_p_V,
           (double)r->ce_min, (double)r->ce_max, (double)r->Q_W, (double)r->dIdV_S,
           (int)pt->step + 1, (int)pt->cycle + 1);
  PetscCall(CellWrite(ctx, line));
  PetscFunctionReturn(0);
}

/* ---- checkpoint/restart and progress ------------------------------------- */

typedef struct {
  MPI_Comm       comm;
  CellCtx       *csv;
  TCExperiment   exp;
  PetscInt       nexp, ns;
  const char    *config;
  TCRunControl   rc; /* checkpoints and stops; rc.t_start: start of this part of the run */
  PetscInt       progress;
  PetscReal      total_s;     /* experiment duration if known, else < 0 */
  PetscReal      wall_before; /* wall time of the earlier parts of a restarted run */
  PetscLogDouble t_print;
} CellRun;

static PetscErrorCode CellCheckpointWrite(CellRun *run, const TCExperimentCursor *cur,
                                          const PetscReal state[])
{
  TCCheckpoint   ck;
  PetscLogDouble now;

  PetscFunctionBeginUser;
  PetscCall(TCRunControlCheckpointBegin(&run->rc));
  /* the CSV bytes the checkpoint refers to must be on disk before it is */
  if (run->csv->fp) {
    PetscCheck(fflush(run->csv->fp) == 0 && fsync(fileno(run->csv->fp)) == 0, PETSC_COMM_SELF,
               PETSC_ERR_FILE_WRITE, "cannot flush the CSV: %s", strerror(errno));
  }
  PetscCall(TCCheckpointCreate(run->comm, run->rc.path, "cell", run->config, &ck));
  PetscCall(TCExperimentCursorSave(ck, cur));
  PetscCall(TCCheckpointSetReal(ck, "csv_q_Ah", run->csv->q_Ah));
  PetscCall(TCCheckpointSetReal(ck, "csv_t_last_s", run->csv->t_last));
  PetscCall(TCCheckpointSetInt(ck, "csv_bytes", run->csv->bytes));
  PetscCall(TCCheckpointSetInt(ck, "csv_rows", run->csv->rows));
  {
    char h[32];
    snprintf(h, sizeof(h), "%016llx", (unsigned long long)run->csv->hash);
    PetscCall(TCCheckpointSetString(ck, "csv_hash", h));
  }
  PetscCall(PetscTime(&now));
  PetscCall(TCCheckpointSetReal(ck, "wall_s", run->wall_before + (now - run->rc.t_start)));
  PetscCall(TCCheckpointWriteArray(ck, "cell_state", run->ns, state));
  PetscCall(TCCheckpointCommit(ck));
  PetscCall(TCCheckpointDestroy(&ck));
  PetscCall(TCRunControlCheckpointEnd(&run->rc, cur->sum.nsteps));
  PetscFunctionReturn(0);
}

static PetscErrorCode CellCheckpointRead(MPI_Comm comm, const char path[], const char config[],
                                         TCExperimentCursor *cur, PetscInt ns, PetscReal state[],
                                         CellCtx *csv, PetscReal *wall_s)
{
  TCCheckpoint ck;
  PetscInt64   v;
  char         h[32];

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(cur, sizeof(*cur)));
  PetscCall(TCCheckpointOpen(comm, path, "cell", config, &ck));
  PetscCall(TCExperimentCursorLoad(ck, cur));
  PetscCall(TCCheckpointGetReal(ck, "csv_q_Ah", &csv->q_Ah));
  PetscCall(TCCheckpointGetReal(ck, "csv_t_last_s", &csv->t_last));
  PetscCall(TCCheckpointGetInt(ck, "csv_bytes", &v));
  csv->bytes = (long long)v;
  PetscCall(TCCheckpointGetInt(ck, "csv_rows", &v));
  csv->rows = (long long)v;
  PetscCall(TCCheckpointGetString(ck, "csv_hash", h, sizeof(h)));
  csv->hash = (uint64_t)strtoull(h, NULL, 16);
  PetscCall(TCCheckpointGetReal(ck, "wall_s", wall_s));
  PetscCall(TCCheckpointReadArray(ck, "cell_state", ns, state));
  PetscCall(TCCheckpointDestroy(&ck));
  PetscFunctionReturn(0);
}

/* Reopen the CSV kept from before the checkpoint: check that its first
   csv->bytes bytes are the ones the checkpoint recorded, drop anything
   written after the checkpoint, and append from there. Rank 0. */
static PetscErrorCode CellCSVReopen(MPI_Comm comm, const char partial[], const char ckpt[],
                                    CellCtx *csv)
{
  PetscMPIInt rank;
  char        msg[PETSC_MAX_PATH_LEN * 3] = "";

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    FILE       *fp = fopen(partial, "r+b");
    struct stat st;
    if (!fp || fstat(fileno(fp), &st) != 0) {
      snprintf(msg, sizeof(msg),
               "cannot restart from %s: the CSV written before it, %s, cannot be opened (%s); "
               "restart needs it beside the checkpoint, or run from the start without -restart",
               ckpt, partial, strerror(errno));
    } else if ((long long)st.st_size < csv->bytes) {
      snprintf(msg, sizeof(msg),
               "cannot restart from %s: %s has %lld bytes, fewer than the %lld the checkpoint "
               "recorded (truncated or from another run)",
               ckpt, partial, (long long)st.st_size, csv->bytes);
    } else {
      uint64_t  h = TC_HASH_INIT;
      char      buf[65536];
      long long left = csv->bytes;
      while (left > 0) {
        size_t n = fread(buf, 1, left < (long long)sizeof(buf) ? (size_t)left : sizeof(buf), fp);
        if (n == 0) break;
        h = TCHash(h, buf, n);
        left -= (long long)n;
      }
      if (left || h != csv->hash)
        snprintf(msg, sizeof(msg),
                 "cannot restart from %s: the first %lld bytes of %s are not the ones the "
                 "checkpoint recorded (the file was changed, or is from another run)",
                 ckpt, csv->bytes, partial);
      else if (fflush(fp) != 0 || ftruncate(fileno(fp), (off_t)csv->bytes) != 0 ||
               fseeko(fp, (off_t)csv->bytes, SEEK_SET) != 0)
        snprintf(msg, sizeof(msg), "cannot truncate %s to %lld bytes: %s", partial, csv->bytes,
                 strerror(errno));
    }
    if (msg[0] && fp) fclose(fp);
    csv->fp = msg[0] ? NULL : fp;
  }
  PetscCallMPI(MPI_Bcast(msg, (PetscMPIInt)sizeof(msg), MPI_CHAR, 0, comm));
  PetscCheck(!msg[0], comm, PETSC_ERR_FILE_UNEXPECTED, "%s", msg);
  PetscFunctionReturn(0);
}

/* After every accepted step: progress, periodic checkpoints, and the stop
   requested by a signal (every rank stops at the same step). */
static PetscErrorCode CellHook(const TCExperimentCursor *cur, const PetscReal state[], void *vrun,
                               PetscBool *stop)
{
  CellRun       *run = (CellRun *)vrun;
  PetscLogDouble now, t_start = run->rc.t_start;
  PetscBool      ckpt;

  PetscFunctionBeginUser;
  PetscCall(TCRunControlAfterStep(run->comm, &run->rc, cur->sum.nsteps, &ckpt, stop));
  PetscCall(PetscTime(&now));
  if (run->progress > 0 ? run->rc.nhere % run->progress == 0
                        : now - t_start >= 2 && now - run->t_print >= 2) {
    const char *text;
    PetscReal   dur, frac = -1;
    char        pct[64] = "", eta[64] = "";
    PetscInt    s = PetscMin(cur->step, run->nexp - 1);
    PetscCall(TCExperimentGetStep(run->exp, s, &text, &dur));
    if (run->total_s > 0) frac = cur->t_s / run->total_s;
    if (frac >= 0) {
      snprintf(pct, sizeof(pct), ", %.1f%% done", (double)(100 * frac));
      if (frac > 0 && now > t_start)
        snprintf(eta, sizeof(eta), ", ETA %.0f s", (double)((now - t_start) * (1 - frac) / frac));
    }
    PetscCall(TCPrintf(run->comm,
                       "  t = %.1f s, step %" PetscInt_FMT "/%" PetscInt_FMT
                       " \"%s\"%s, %" PetscInt_FMT " steps, dt %.3g s, %" PetscInt_FMT
                       " Newton its%s\n",
                       (double)cur->t_s, s + 1, run->nexp, text, pct, cur->sum.nsteps,
                       (double)cur->dt_prev_s, cur->last_ok.newton_its, eta));
    run->t_print = now;
  }
  if (ckpt) PetscCall(CellCheckpointWrite(run, cur, state));
  PetscFunctionReturn(0);
}

/* The values that define the run, "key: value" lines: a restart must see the
   same (reals in full precision; the parameter file by content). */
static PetscErrorCode CellConfig(const char params[], const TCCellParams *p, PetscInt model,
                                 const char expt[], uint64_t dchash, PetscBool lumped,
                                 PetscReal Tamb, PetscReal Tinit, PetscReal soc,
                                 const PetscInt g[5], PetscReal rtol,
                                 const TCExperimentOptions *opt, char **config)
{
  char    *c;
  uint64_t h = TC_HASH_INIT;
  FILE    *fp;
  size_t   len = strlen(params) + strlen(expt) + 2048;

  PetscFunctionBeginUser;
  fp = fopen(p->source, "rb");
  if (fp) {
    char   buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) h = TCHash(h, buf, n);
    fclose(fp);
  }
  PetscCall(PetscMalloc1(len, &c));
  snprintf(c, len,
           "params: %s\nparams_content_hash: %016llx\nmodel: %s\nexperiment: %s\n"
           "drive_cycles_content_hash: %016llx\nthermal: "
           "%s\nambient_temperature: %.17g\ninitial_temperature: %.17g\ninitial_soc: "
           "%.17g\ncell_nx_n: %d\ncell_nx_s: "
           "%d\ncell_nx_p: %d\ncell_nr_n: %d\ncell_nr_p: %d\ncell_dt_max_s: %.17g\ncell_tol_V: "
           "%.17g\ncell_newton_rtol: %.17g\ncell_dt_fixed_s: %.17g\n",
           params, (unsigned long long)h, TCCellModels[model], expt, (unsigned long long)dchash,
           lumped ? "lumped" : "isothermal", (double)Tamb, (double)Tinit, (double)soc, (int)g[0],
           (int)g[1], (int)g[2], (int)g[3], (int)g[4], (double)opt->dt_max_s, (double)opt->tol_V,
           (double)rtol, (double)opt->dt_fixed_s);
  *config = c;
  PetscFunctionReturn(0);
}

static uint64_t CellHashFile(uint64_t h, const char path[])
{
  FILE  *fp = fopen(path, "rb");
  char   buf[65536];
  size_t n;
  if (!fp) return h;
  while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) h = TCHash(h, buf, n);
  fclose(fp);
  return h;
}

/* The drive cycles of the deck (drive_cycle: NAME=FILE[,NAME=FILE] and the
   map drive_cycle: {NAME: FILE}) into the experiment; *hash covers the
   names and the files' contents (a restart must see the same). */
static PetscErrorCode CellDriveCycles(TCDeck deck, TCExperiment exp, uint64_t *hash)
{
  char        list[4096], path[PETSC_MAX_PATH_LEN];
  PetscBool   set;
  const char *names[16];
  PetscInt    n;

  PetscFunctionBeginUser;
  *hash = TC_HASH_INIT;
  PetscCall(TCDeckGetString(deck, "drive_cycle", list, sizeof(list), &set));
  if (set) {
    for (char *item = list, *next; item && *item; item = next) {
      char *eq;
      next = strchr(item, ',');
      if (next) *next++ = 0;
      while (*item == ' ') item++;
      eq = strchr(item, '=');
      PetscCheck(eq && eq > item && eq[1], PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                 "drive_cycle = \"%s\": expected NAME=FILE.csv (several separated by ',')", item);
      *eq = 0;
      PetscCall(TCExperimentLoadDriveCycle(exp, item, eq + 1));
      *hash = TCHash(*hash, item, strlen(item));
      *hash = CellHashFile(*hash, eq + 1);
    }
  }
  PetscCall(TCDeckGetPrefixed(deck, "drive_cycle_", &n, names, 16));
  for (PetscInt i = 0; i < n; i++) {
    const char *name = names[i] + strlen("drive_cycle_");
    PetscCall(TCDeckGetString(deck, names[i], path, sizeof(path), &set));
    PetscCall(TCExperimentLoadDriveCycle(exp, name, path));
    *hash = TCHash(*hash, name, strlen(name));
    *hash = CellHashFile(*hash, path);
  }
  PetscFunctionReturn(0);
}

/* What CellBody() holds; CellMain() frees it, also when the run stops on an error. */
typedef struct {
  TCCellParams p;
  TCCell       cell;
  TCExperiment exp;
  PetscReal   *state;
  char        *config;
} CellHeld;

static PetscErrorCode CellBody(int npos, char **pos, CellHeld *h)
{
  MPI_Comm comm = PETSC_COMM_WORLD;
  TCDeck   deck;
  char     params[PETSC_MAX_PATH_LEN], expt[4096], out[PETSC_MAX_PATH_LEN], dir[PETSC_MAX_PATH_LEN];
  PetscInt model, thermal, g[5];
  PetscReal           Tamb, Tinit, soc = -1, rtol;
  char                soc_text[256];
  PetscBool           soc_set, soc_volt = PETSC_FALSE;
  PetscBool           set;
  TCExperimentOptions opt;
  TCExperimentSummary sum;
  PetscInt            ns;
  size_t              bytes;
  CellCtx             ctx = {NULL, 0, 0, 0, 0, TC_HASH_INIT};
  PetscLogDouble      t0, t1;
  CellRun             run;
  char                restart[PETSC_MAX_PATH_LEN] = "", partial[PETSC_MAX_PATH_LEN];
  PetscBool           restarting, stopped;
  TCExperimentCursor  cur;
  uint64_t            dchash;
  char                term[512];

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&run, sizeof(run)));
  /* run control: command-line options, not deck keys (they do not change
     the results; a restart may use other values) */
  PetscCall(PetscOptionsGetString(NULL, NULL, "-restart", restart, sizeof(restart), &restarting));
  PetscCheck(!restarting || restart[0], comm, PETSC_ERR_USER_INPUT,
             "-restart needs the checkpoint file, e.g. -restart out/checkpoint.h5");
  PetscCall(TCRunControlSetFromOptions(&run.rc));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-progress", &run.progress, NULL));
  PetscCheck(run.rc.every >= 0 && run.rc.minutes >= 0 && run.progress >= 0, comm,
             PETSC_ERR_USER_INPUT,
             "-checkpoint_every %" PetscInt_FMT
             ", -checkpoint_minutes %g and -progress %" PetscInt_FMT " must be >= 0 (0: off)",
             run.rc.every, (double)run.rc.minutes, run.progress);
  {
    PetscMPIInt size;
    PetscCallMPI(MPI_Comm_size(comm, &size));
    /* one cell is serial work; errors inside it are raised per rank */
    PetscCheck(size == 1, comm, PETSC_ERR_USER_INPUT,
               "tomocell cell runs one cell on one rank, not %d: run it without mpiexec/srun "
               "(or with -n 1)",
               (int)size);
  }
  PetscCall(TCDeckCreate(comm, "cell", cell_keys, cell_nkeys, &deck));
  /* a deck with a fit: section (tomocell fit) runs as it is */
  PetscCall(TCDeckSetForeignKeys(deck, "fit", TCCommandFit.keys, TCCommandFit.nkeys));
  PetscCall(TCDeckLoad(deck, npos ? pos[0] : NULL));
  PetscCall(TCDeckGetString(deck, "params", params, sizeof(params), &set));
  PetscCall(TCDeckGetEnum(deck, "model", &model));
  PetscCall(TCDeckGetString(deck, "experiment", expt, sizeof(expt), &set));
  PetscCall(TCDeckGetEnum(deck, "thermal", &thermal));
  PetscCall(TCDeckGetString(deck, "output", out, sizeof(out), &set));
  if (!set) { /* not in the working directory */
    const char *dn;
    PetscCall(TCDeckGetName(deck, &dn));
    snprintf(out, sizeof(out), "output/%s/cell.csv", npos && dn[0] ? dn : "cell");
    PetscCall(TCNoteDefaultOutput(comm, "cell", out));
  }
  PetscCall(TCDeckGetInt(deck, "cell_nx_n", &g[0]));
  PetscCall(TCDeckGetInt(deck, "cell_nx_s", &g[1]));
  PetscCall(TCDeckGetInt(deck, "cell_nx_p", &g[2]));
  PetscCall(TCDeckGetInt(deck, "cell_nr_n", &g[3]));
  PetscCall(TCDeckGetInt(deck, "cell_nr_p", &g[4]));
  PetscCall(TCDeckGetReal(deck, "cell_dt_max_s", &opt.dt_max_s));
  PetscCall(TCDeckGetReal(deck, "cell_tol_V", &opt.tol_V));
  PetscCall(TCDeckGetReal(deck, "cell_dt_fixed_s", &opt.dt_fixed_s));
  PetscCheck(opt.dt_fixed_s == 0 || opt.dt_fixed_s >= 1e-6, comm, PETSC_ERR_USER_INPUT,
             "cell_dt_fixed_s = %g s: 0 (adaptive) or at least 1e-6 s", (double)opt.dt_fixed_s);
  PetscCall(TCDeckGetReal(deck, "cell_newton_rtol", &rtol));

  /* everything the run needs is read and checked before any output */
  PetscCall(TCCellParamsLoad(params, &h->p));
  PetscCall(TCCellParamsApplyDeck(deck, &h->p, NULL));
  PetscCall(TCCellParamsDeckTemperatures(deck, &h->p, &Tamb, &Tinit));
  /* optional keys: left unchanged when not given */
  PetscCall(TCDeckGetString(deck, "initial_soc", soc_text, sizeof(soc_text), &soc_set));
  if (soc_set)
    PetscCall(TCCellParamsParseSOC(&h->p, "initial_soc", soc_text, Tinit, &soc, &soc_volt));
  {
    PetscBool given;
    PetscCall(TCDeckIsSet(deck, "experiment", &given));
    /* the default discharge ends at the set's own lower cut-off (2.5 V for Chen2020) */
    if (!given) snprintf(expt, sizeof(expt), "Discharge at 1C until %.6g V", (double)h->p.V_min);
  }
  /* a YAML list arrives comma-joined: commas separate steps like ';' */
  for (char *c = expt; *c; c++)
    if (*c == ',') *c = ';';
  PetscCall(TCExperimentCreate(&h->exp));
  PetscCall(CellDriveCycles(deck, h->exp, &dchash));
  PetscCall(TCExperimentAdd(h->exp, expt));
  {
    PetscBool parse = PETSC_FALSE;
    PetscCall(PetscOptionsGetBool(NULL, NULL, "-parse_experiment", &parse, NULL));
    if (parse) { /* the parsed steps, for checks against PyBaMM's reading */
      PetscMPIInt rank;
      PetscCallMPI(MPI_Comm_rank(comm, &rank));
      if (rank == 0) PetscCall(TCExperimentWriteSteps(h->exp, stdout));
      PetscCall(TCExperimentDestroy(&h->exp));
      PetscCall(TCCellParamsDestroy(&h->p));
      PetscCall(TCDeckDestroy(&deck));
      PetscFunctionReturn(0);
    }
  }
  opt.lumped    = thermal == 1 ? PETSC_TRUE : PETSC_FALSE;
  opt.T_amb_K   = Tamb;
  opt.T_init_K  = Tinit;
  opt.dt_init_s = 1.0;

  PetscCall(TCCellCreate(comm, &h->cell));
  PetscCall(TCCellSetParams(h->cell, &h->p));
  PetscCall(TCCellSetModel(h->cell, (TCCellModel)model));
  PetscCall(TCCellSetGrid(h->cell, g[0], g[1], g[2], g[3], g[4]));
  PetscCall(TCCellSetTolerances(h->cell, rtol, 30));
  PetscCall(TCCellSetUp(h->cell));
  PetscCall(TCCellGetStateSize(h->cell, &ns, &bytes));
  PetscCall(PetscMalloc1(ns, &h->state));
  PetscCall(TCCellStateInit(h->cell, soc, Tinit, h->state));
  PetscCall(CellConfig(params, &h->p, model, expt, dchash, opt.lumped, Tamb, Tinit, soc, g, rtol,
                       &opt, &h->config));
  /* a restart is checked completely before any output is touched */
  if (restarting)
    PetscCall(
        CellCheckpointRead(comm, restart, h->config, &cur, ns, h->state, &ctx, &run.wall_before));

  {
    /* dirname() may modify its argument or return static storage ("." for
       a bare file name): work on a copy, keep the result */
    char o[PETSC_MAX_PATH_LEN];
    PetscCall(PetscStrncpy(o, out, sizeof(o)));
    PetscCall(PetscStrncpy(dir, dirname(o), sizeof(dir)));
  }
  PetscCall(TCPathJoin(dir, "checkpoint.h5", run.rc.path, sizeof(run.rc.path)));
  PetscCheck((size_t)snprintf(partial, sizeof(partial), "%s.partial", out) < sizeof(partial), comm,
             PETSC_ERR_USER_INPUT, "output path too long: %s", out);
  {
    /* every output checked against the inputs and each other before any is touched */
    char js[PETSC_MAX_PATH_LEN];
    PetscCall(TCPathReplaceExt(out, ".json", js, sizeof(js)));
    PetscCall(TCOutputClaim(comm, out, "-output"));
    PetscCall(TCOutputClaim(comm, js, "summary JSON (-output with .json)"));
    PetscCall(TCOutputClaim(comm, partial, "partial CSV (-output with .partial)"));
    PetscCall(TCOutputClaim(comm, run.rc.path, "checkpoint"));
  }
  PetscCall(TCOutputPrepareDir(comm, dir));
  PetscCall(TCPrintf(comm,
                     "tomocell cell: %s, model %s (%zu bytes of state), %s, T_amb %.2f K, "
                     "T_init %.2f K, experiment \"%s\"\n",
                     h->p.title, TCCellModels[model], bytes,
                     opt.lumped ? "lumped thermal" : "isothermal", (double)Tamb, (double)Tinit,
                     expt));
  if (soc_volt)
    PetscCall(TCPrintf(
        comm, "  initial_soc \"%s\": SOC %.6f (open-circuit voltage %.5f V at %.2f K)\n", soc_text,
        (double)soc, (double)TCCellParamsOCVAtSOC(&h->p, soc, Tinit), (double)Tinit));
  if (h->p.notes[0]) PetscCall(TCPrintf(comm, "  note: %s\n", h->p.notes));
  if (!soc_set && h->p.soc_init >= 0)
    PetscCall(TCPrintf(comm,
                       "  initial SOC %g from the set's \"State\" -> \"Initial conditions\"\n",
                       (double)h->p.soc_init));
  else if (!soc_set && !(h->p.neg.c_init > 0 && h->p.pos.c_init > 0))
    PetscCall(TCPrintf(comm,
                       "  initial SOC 1: the set gives no initial state (as PyBaMM's BPX reader, "
                       "target_soc = 1; give initial_soc for another)\n"));
  /* the CSV lives under <output>.partial until the run completes */
  if (restarting) {
    PetscInt nexp;
    PetscCall(CellCSVReopen(comm, partial, restart, &ctx));
    PetscCall(TCExperimentGetNumSteps(h->exp, &nexp));
    PetscCall(TCPrintf(comm,
                       "  restarting from %s at t = %.2f s (experiment step %d of %d, %d steps "
                       "done; %lld CSV rows kept)\n",
                       restart, (double)cur.t_s, (int)cur.step + 1, (int)nexp, (int)cur.sum.nsteps,
                       ctx.rows));
  } else {
    PetscMPIInt rank;
    int         err = 0;
    PetscCallMPI(MPI_Comm_rank(comm, &rank));
    if (rank == 0 && access(run.rc.path, F_OK) == 0)
      printf("  note: %s (an earlier run's checkpoint) will be replaced; to continue that run, "
             "stop this one and give -restart %s\n",
             run.rc.path, run.rc.path);
    if (rank == 0 && !(ctx.fp = fopen(partial, "wb"))) err = errno;
    PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
    PetscCheck(!err, comm, PETSC_ERR_FILE_OPEN, "cannot create %s: %s", partial, strerror(err));
    PetscCall(CellWrite(&ctx, "time_s,current_A,voltage_V,temperature_K,anode_potential_vs_li_V,"
                              "soc,discharge_capacity_Ah,anode_potential_min_over_x_V,"
                              "neg_avg_stoich,pos_avg_stoich,neg_surf_stoich,pos_surf_stoich,"
                              "eta_n_V,eta_p_V,ce_min,ce_max,heat_W,dIdV_S,step,cycle\n"));
  }
  PetscCall(TCOutputRegister(comm, partial));

  run.comm   = comm;
  run.csv    = &ctx;
  run.exp    = h->exp;
  run.ns     = ns;
  run.config = h->config;
  PetscCall(TCExperimentGetNumSteps(h->exp, &run.nexp));
  run.total_s = 0;
  for (PetscInt i = 0; i < run.nexp; i++) {
    PetscReal d;
    PetscCall(TCExperimentGetStep(h->exp, i, NULL, &d));
    if (d < 0 || run.total_s < 0)
      run.total_s = -1;
    else
      run.total_s += d;
  }
  PetscCall(TCRunControlInstall(comm, &run.rc));
  t0 = run.t_print = run.rc.t_start;
  PetscCall(TCExperimentRunFrom(h->exp, h->cell, &h->p, &opt, restarting ? &cur : NULL, h->state,
                                CellMonitor, &ctx, CellHook, &run, &sum, &stopped));
  PetscCall(PetscTime(&t1));
  PetscCall(TCRunControlRestore(&run.rc));
  if (stopped) {
    /* the hook wrote the checkpoint at this step; keep the CSV for the restart */
    int err = 0;
    if (ctx.fp) {
      if (fflush(ctx.fp) != 0 || fsync(fileno(ctx.fp)) != 0) err = errno;
      if (fclose(ctx.fp) != 0 && !err) err = errno;
      ctx.fp = NULL;
    }
    PetscCheck(!err, comm, PETSC_ERR_FILE_WRITE, "error writing %s: %s", partial, strerror(err));
    PetscCall(TCRunControlReportStop(comm, &run.rc, "tomocell cell", sum.t_end_s, sum.nsteps));
    goto cleanup;
  }
  {
    PetscMPIInt rank;
    int         err = 0;
    PetscCallMPI(MPI_Comm_rank(comm, &rank));
    if (rank == 0 && ctx.fp) {
      if (ferror(ctx.fp)) err = EIO;
      if (fclose(ctx.fp) != 0 && !err) err = errno;
      ctx.fp = NULL;
    }
    PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
    PetscCheck(!err, comm, PETSC_ERR_FILE_WRITE, "error writing %s: %s", partial, strerror(err));
    PetscCall(TCOutputCommit(comm, partial, out));
  }
  PetscCall(TCPrintf(comm,
                     "  %" PetscInt_FMT " steps (%" PetscInt_FMT " rejected, %.2f Newton "
                     "iterations per step), %.4f s wall\n",
                     sum.nsteps, sum.nrejected,
                     sum.nsteps ? (double)sum.newton_its / (double)sum.nsteps : 0.0,
                     (double)(t1 - t0)));
  if (run.rc.nckpt)
    PetscCall(TCPrintf(comm, "  %d checkpoint(s) written, %.0f bytes each, %.4f s per write\n",
                       (int)run.rc.nckpt, run.rc.ckpt_bytes, run.rc.ckpt_wall / run.rc.nckpt));
  {
    PetscInt nc;
    PetscCall(TCExperimentGetNumCycles(h->exp, &nc));
    if (sum.limit_stop) {
      const char *text;
      PetscInt    cyc;
      PetscCall(TCExperimentGetStep(h->exp, sum.limit_step, &text, NULL));
      PetscCall(TCExperimentGetStepCycle(h->exp, sum.limit_step, &cyc));
      snprintf(term, sizeof(term),
               "%s voltage cut-off %g V of the set reached in step %d \"%s\" (cycle %d of %d)",
               sum.limit_V <= h->p.V_min ? "lower" : "upper", (double)sum.limit_V,
               (int)sum.limit_step + 1, text, (int)cyc + 1, (int)nc);
      PetscCall(TCPrintf(comm,
                         "  the experiment stopped: %s, before the step's own end (as PyBaMM "
                         "stops at a voltage limit); %d of %d steps run\n",
                         term, (int)sum.steps_run, (int)run.nexp));
    } else
      snprintf(term, sizeof(term), "completed");
  }
  PetscCall(TCPrintf(comm,
                     "summary: capacity %.5f Ah (discharged %.5f, charged %.5f), energy %.5f Wh "
                     "(discharge %.5f, charge %.5f), max temperature %.3f K, min anode potential "
                     "vs Li %.4f V, time below 0 V "
                     "%.1f s, end %.2f s\n",
                     (double)sum.capacity_Ah, (double)sum.discharged_Ah, (double)sum.charged_Ah,
                     (double)sum.energy_Wh, (double)sum.discharge_energy_Wh,
                     (double)sum.charge_energy_Wh, (double)sum.T_max_K, (double)sum.anode_min_V,
                     (double)sum.time_below_0V_s, (double)sum.t_end_s));
  {
    /* the scalars also as JSON beside the CSV (out.csv -> out.json), for
       scripts and tomocell sweep */
    char      js_path[PETSC_MAX_PATH_LEN];
    FILE     *fp;
    PetscReal Lstack = h->p.neg.L_m + h->p.L_sep_m + h->p.pos.L_m + h->p.L_cc_m / 2;
    PetscCall(TCPathReplaceExt(out, ".json", js_path, sizeof(js_path)));
    PetscCall(TCOutputFOpen(comm, js_path, &fp));
    if (fp) {
      TCJson js;
      TCJsonBegin(&js, fp);
      TCJsonString(&js, "command", "cell");
      TCJsonString(&js, "params", h->p.title);
      TCJsonString(&js, "model", TCCellModels[model]);
      TCJsonString(&js, "thermal", opt.lumped ? "lumped" : "isothermal");
      TCJsonString(&js, "experiment", expt);
      {
        PetscInt nc;
        PetscCall(TCExperimentGetNumCycles(h->exp, &nc));
        TCJsonInt(&js, "experiment_steps", (long long)run.nexp);
        TCJsonInt(&js, "cycles", (long long)nc);
      }
      TCJsonString(&js, "termination", term);
      TCJsonObjectBegin(&js, "results");
      TCJsonReal(&js, "capacity_Ah", (double)sum.capacity_Ah);
      TCJsonReal(&js, "discharged_Ah", (double)sum.discharged_Ah);
      TCJsonReal(&js, "charged_Ah", (double)sum.charged_Ah);
      TCJsonReal(&js, "energy_Wh", (double)sum.energy_Wh); /* net */
      TCJsonReal(&js, "discharge_energy_Wh", (double)sum.discharge_energy_Wh);
      TCJsonReal(&js, "charge_energy_Wh", (double)sum.charge_energy_Wh);
      TCJsonReal(&js, "max_temperature_K", (double)sum.T_max_K);
      TCJsonReal(&js, "min_anode_potential_vs_li_V", (double)sum.anode_min_V);
      TCJsonReal(&js, "time_below_0V_s", (double)sum.time_below_0V_s);
      TCJsonReal(&js, "end_time_s", (double)sum.t_end_s);
      TCJsonInt(&js, "experiment_steps_run", (long long)sum.steps_run);
      TCJsonInt(&js, "cycles_run", (long long)sum.cycles_run);
      /* per electrode area, and per volume of the stack repeat unit
         L_n + L_s + L_p + (foils)/2 (double-sided coatings share each foil) */
      TCJsonReal(&js, "energy_Wh_per_m2", (double)(sum.discharge_energy_Wh / h->p.area_m2));
      TCJsonReal(&js, "energy_Wh_per_L_stack",
                 (double)(sum.discharge_energy_Wh / (h->p.area_m2 * Lstack) / 1000));
      TCJsonObjectEnd(&js);
      TCJsonObjectBegin(&js, "cell");
      TCJsonReal(&js, "area_m2", (double)h->p.area_m2);
      TCJsonReal(&js, "stack_thickness_m", (double)Lstack);
      TCJsonReal(&js, "thickness_n_m", (double)h->p.neg.L_m);
      TCJsonReal(&js, "thickness_s_m", (double)h->p.L_sep_m);
      TCJsonReal(&js, "thickness_p_m", (double)h->p.pos.L_m);
      TCJsonReal(&js, "porosity_n", (double)h->p.neg.eps);
      TCJsonReal(&js, "porosity_s", (double)h->p.eps_sep);
      TCJsonReal(&js, "porosity_p", (double)h->p.pos.eps);
      TCJsonReal(&js, "transport_efficiency_n", (double)h->p.neg.B);
      TCJsonReal(&js, "transport_efficiency_s", (double)h->p.B_sep);
      TCJsonReal(&js, "transport_efficiency_p", (double)h->p.pos.B);
      TCJsonReal(&js, "active_fraction_n", (double)h->p.neg.eps_s);
      TCJsonReal(&js, "active_fraction_p", (double)h->p.pos.eps_s);
      TCJsonReal(&js, "loading_n_m", (double)(h->p.neg.eps_s * h->p.neg.L_m));
      TCJsonReal(&js, "loading_p_m", (double)(h->p.pos.eps_s * h->p.pos.L_m));
      TCJsonObjectEnd(&js);
      TCJsonInt(&js, "steps", (long long)sum.nsteps);
      TCJsonInt(&js, "rejected_steps", (long long)sum.nrejected);
      TCJsonReal(&js, "wall_s", (double)(run.wall_before + (t1 - t0)));
      TCJsonEnd(&js);
    }
    PetscCall(TCOutputFClose(comm, js_path, &fp));
    PetscCall(TCPrintf(comm, "  wrote %s and %s\n", out, js_path));
  }
  /* complete: the checkpoint of this run is stale now (a restart from it
     would redo the end and the CSV it refers to is gone) */
  if (run.rc.nckpt || restarting) PetscCall(TCRunControlRemoveCheckpoint(comm, &run.rc));

cleanup:
  PetscCall(PetscFree(h->config));
  PetscCall(PetscFree(h->state));
  PetscCall(TCExperimentDestroy(&h->exp));
  PetscCall(TCCellDestroy(&h->cell));
  PetscCall(TCCellParamsDestroy(&h->p));
  PetscCall(TCDeckDestroy(&deck));
  PetscFunctionReturn(0);
}

static PetscErrorCode CellMain(int npos, char **pos)
{
  CellHeld       h;
  PetscErrorCode ierr;

  /* not PetscCall: the error was reported where it arose; free, then pass it on */
  PetscMemzero(&h, sizeof(h));
  ierr = CellBody(npos, pos, &h);
  (void)PetscFree(h.config);
  (void)PetscFree(h.state);
  (void)TCExperimentDestroy(&h.exp);
  (void)TCCellDestroy(&h.cell);
  (void)TCCellParamsDestroy(&h.p);
  return ierr;
}

const TCCommand TCCommandCell = {
    "cell",
    "run one cell (SPM, SPMe or DFN) through an experiment; CSV time series",
    "tomocell cell [DECK.yaml] [-params chen2020] [-model spm|spme|dfn] [-experiment \"...\"] "
    "[-thermal isothermal|lumped] [-output out.csv]",
    CellHelp,
    CellMain,
    0,
    1,
    cell_keys,
    (PetscInt)(sizeof(cell_keys) / sizeof(cell_keys[0])),
    "cell.csv",
    "cell.json"};
