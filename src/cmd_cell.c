/*
 * tomocell cell: run one electrochemical cell (SPM, SPMe or DFN) through a
 * PyBaMM-style experiment and write its time series as CSV, e.g.
 *
 *   tomocell cell -params chen2020 -model dfn \
 *       -experiment "Discharge at 1C until 2.5 V; Rest for 1 hour" -thermal lumped -output out.csv
 *
 * A thin driver over solver/cellparams (BPX sets), solver/cellmodel (the
 * models) and solver/cellexp (experiments).
 */
#include "src/commands.h"
#include "src/tc.h"
#include "io/deck.h"
#include "io/json.h"
#include "io/output.h"
#include "solver/cellexp.h"
#include <libgen.h>
#include <math.h>

#define INF PETSC_MAX_REAL

static const TCKey cell_keys[] = {
    {"params", TC_KEY_STRING, "chen2020", 0, 0, PETSC_FALSE, NULL,
     "parameter set: a name in inputs/params/ (chen2020, ...) or the path of a BPX JSON file",
     PETSC_FALSE},
    {"model", TC_KEY_ENUM, "dfn", 0, 0, PETSC_FALSE, "spm|spme|dfn", "cell model", PETSC_FALSE},
    {"experiment", TC_KEY_STRING, "Discharge at 1C until 2.5 V", 0, 0, PETSC_FALSE, NULL,
     "PyBaMM-style steps separated by ';' (in a deck also a YAML list)", PETSC_FALSE},
    {"thermal", TC_KEY_ENUM, "isothermal", 0, 0, PETSC_FALSE, "isothermal|lumped",
     "thermal model (lumped: h, area, volume, rho*cp from the set)", PETSC_FALSE},
    {"ambient_temperature", TC_KEY_REAL, NULL, 0, 1000, PETSC_TRUE, NULL,
     "ambient and initial temperature, K (default: the set's)", PETSC_TRUE},
    {"initial_soc", TC_KEY_REAL, NULL, 0, 1, PETSC_FALSE, NULL,
     "initial state of charge in [0, 1] (default: the set's initial concentrations)", PETSC_TRUE},
    {"output", TC_KEY_STRING, "cell.csv", 0, 0, PETSC_FALSE, NULL, "CSV time series to write",
     PETSC_FALSE},
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
    {"cell_dt_max_s", TC_KEY_REAL, "60", 0, INF, PETSC_TRUE, NULL, "largest time step, s",
     PETSC_FALSE},
    {"cell_tol_V", TC_KEY_REAL, "1e-3", 0, 1, PETSC_TRUE, NULL,
     "local error tolerance per step on the voltage, V", PETSC_FALSE},
    {"cell_newton_rtol", TC_KEY_REAL, "1e-10", 0, 1, PETSC_TRUE, NULL,
     "Newton tolerance on the scaled update of each step", PETSC_FALSE},
    {"cell_dt_fixed_s", TC_KEY_REAL, "0", 0, INF, PETSC_FALSE, NULL,
     "fixed time step, s (0: adaptive)", PETSC_FALSE},
    {"cell_props_n", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "props.json of tomocell tortuosity for the negative electrode's pores: eps and eps/tau",
     PETSC_TRUE},
    {"cell_props_s", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "props.json for the separator's pores", PETSC_TRUE},
    {"cell_props_p", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "props.json for the positive electrode's pores", PETSC_TRUE},
    {"cell_props_direction", TC_KEY_ENUM, "z", 0, 0, PETSC_FALSE, "x|y|z",
     "direction of the props files' tau used through the cell (z: through-thickness)", PETSC_FALSE},
    {"cell_props_active_label", TC_KEY_INT, NULL, 0, 255, PETSC_FALSE, NULL,
     "take the electrodes' active fraction from this label's fraction in the props files "
     "(default: keep the set's solid composition)",
     PETSC_TRUE},
    {"cell_thickness_n_m", TC_KEY_REAL, NULL, 0, 1, PETSC_TRUE, NULL,
     "negative electrode thickness, m (default: the set's)", PETSC_TRUE},
    {"cell_thickness_s_m", TC_KEY_REAL, NULL, 0, 1, PETSC_TRUE, NULL,
     "separator thickness, m (default: the set's)", PETSC_TRUE},
    {"cell_thickness_p_m", TC_KEY_REAL, NULL, 0, 1, PETSC_TRUE, NULL,
     "positive electrode thickness, m (default: the set's)", PETSC_TRUE},
};
static const PetscInt cell_nkeys = (PetscInt)(sizeof(cell_keys) / sizeof(cell_keys[0]));

static void CellHelp(void)
{
  printf("Keys (options -key value, or a YAML deck given as the positional argument):\n");
  TCDeckPrintKeys(cell_keys, cell_nkeys);
  printf("\nExperiment steps: Discharge|Charge at <x>C|C/<n>|<x> A|<x> W [for <n> <unit>] [until "
         "<v> V];\n  Rest for <n> seconds|minutes|hours; Hold at <v> V [for ...] [until <x>C|<x> "
         "A]\n"
         "CSV columns: time_s,current_A,voltage_V,temperature_K,anode_potential_vs_li_V,soc,\n"
         "  discharge_capacity_Ah,anode_potential_min_over_x_V,neg_avg_stoich,pos_avg_stoich,\n"
         "  neg_surf_stoich,pos_surf_stoich,eta_n_V,eta_p_V,ce_min,ce_max,heat_W,dIdV_S\n"
         "  (discharge current positive; surface values and overpotentials at the separator "
         "side)\n");
}

typedef struct {
  FILE     *fp;
  PetscReal q_Ah, t_last;
} CellCtx;

static PetscErrorCode CellMonitor(const TCExperimentPoint *pt, const TCCellResult *r, void *vctx)
{
  CellCtx *ctx = (CellCtx *)vctx;

  PetscFunctionBeginUser;
  ctx->q_Ah += r->I_A * (pt->t_s - ctx->t_last) / 3600;
  ctx->t_last = pt->t_s;
  if (ctx->fp)
    fprintf(ctx->fp,
            "%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.8g,%.8g,%."
            "8g,%.8g,%.8g,%.8g\n",
            (double)pt->t_s, (double)r->I_A, (double)r->V_V, (double)pt->T_K,
            (double)r->anode_vs_li_V, (double)pt->soc, (double)ctx->q_Ah,
            (double)r->anode_vs_li_min_V, (double)r->sto_avg_n, (double)r->sto_avg_p,
            (double)r->sto_surf_n, (double)r->sto_surf_p, (double)r->eta_n_V, (double)r->eta_p_V,
            (double)r->ce_min, (double)r->ce_max, (double)r->Q_W, (double)r->dIdV_S);
  PetscFunctionReturn(0);
}

/* The multiscale link: thickness keys and tortuosity props.json files
   replace the set's values region by region. Every change that the user
   might not expect (porosity, active fraction) is printed. */
static PetscErrorCode CellApplyMicrostructure(TCDeck deck, TCCellParams *p)
{
  static const char *const pkeys[3] = {"cell_props_n", "cell_props_s", "cell_props_p"};
  static const char *const lkeys[3] = {"cell_thickness_n_m", "cell_thickness_s_m",
                                       "cell_thickness_p_m"};
  MPI_Comm                 comm     = PETSC_COMM_WORLD;
  PetscInt                 idir, alabel = -1;
  char                     dir;

  PetscFunctionBeginUser;
  PetscCall(TCDeckGetEnum(deck, "cell_props_direction", &idir));
  PetscCall(TCDeckGetInt(deck, "cell_props_active_label", &alabel));
  PetscReal L0[3] = {p->neg.L_m, p->L_sep_m, p->pos.L_m};

  PetscFunctionBeginUser;
  PetscCall(TCDeckGetEnum(deck, "cell_props_direction", &idir));
  PetscCall(TCDeckGetInt(deck, "cell_props_active_label", &alabel));
  dir = (char)('x' + idir);
  for (int r = 0; r < 3; r++) {
    PetscReal *L = r == 0 ? &p->neg.L_m : r == 1 ? &p->L_sep_m : &p->pos.L_m, L_new = *L;
    PetscCall(TCDeckGetReal(deck, lkeys[r], &L_new));
    if (L_new != *L) {
      PetscCall(TCPrintf(comm, "  %s: thickness %.4g um (the set's %.4g um)\n",
                         TCCellRegionNames[r], (double)(L_new * 1e6), (double)(*L * 1e6)));
      PetscCall(TCCellParamsSetThickness(p, (TCCellRegion)r, L_new));
    }
  }
  for (int r = 0; r < 3; r++) {
    char              path[PETSC_MAX_PATH_LEN];
    PetscBool         set;
    TCCellPropsChange c;
    PetscCall(TCDeckGetString(deck, pkeys[r], path, sizeof(path), &set));
    if (!set) continue;
    PetscCall(TCCellParamsApplyProps(p, (TCCellRegion)r, path, dir, alabel, &c));
    PetscCall(TCPrintf(comm,
                       "  %s from %s: tau_%c %.4f, transport efficiency eps/tau %.5f (the set's "
                       "%.5f)\n",
                       TCCellRegionNames[r], path, dir, (double)c.tau, (double)c.B,
                       (double)c.B_old));
    if (PetscAbsReal(c.eps - c.eps_old) > 1e-12)
      PetscCall(TCPrintf(comm,
                         "  note: %s porosity %.4f replaces the set's %.4f (the file's "
                         "volume_fraction)%s\n",
                         TCCellRegionNames[r], (double)c.eps, (double)c.eps_old,
                         r == 1        ? ""
                         : alabel >= 0 ? "; active fraction from the file's label_fractions"
                                       : "; the solid keeps the set's composition"));
    if (r != 1 && PetscAbsReal(c.eps_s - c.eps_s_old) > 1e-12) {
      PetscReal q0 = c.eps_s_old * L0[r], q1 = c.eps_s * (r == 0 ? p->neg.L_m : p->pos.L_m);
      char      tail[256];
      if (PetscAbsReal(q1 - q0) <= 1e-6 * q0)
        snprintf(tail, sizeof(tail), " (kept)");
      else
        snprintf(tail, sizeof(tail),
                 " (capacity follows the loading; -%s %.6g keeps the set's: L_set eps_s,set / "
                 "eps_s)",
                 lkeys[r], (double)(q0 / c.eps_s));
      PetscCall(TCPrintf(comm,
                         "  note: %s active fraction %.4f -> %.4f, surface area %.4g -> %.4g "
                         "1/m, loading eps_s L %.4g -> %.4g m%s\n",
                         TCCellRegionNames[r], (double)c.eps_s_old, (double)c.eps_s,
                         (double)c.a_old, (double)c.a, (double)q0, (double)q1, tail));
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode CellMain(int npos, char **pos)
{
  MPI_Comm comm = PETSC_COMM_WORLD;
  TCDeck   deck;
  char     params[PETSC_MAX_PATH_LEN], expt[4096], out[PETSC_MAX_PATH_LEN], dir[PETSC_MAX_PATH_LEN];
  PetscInt model, thermal, g[5];
  PetscReal           Tamb, soc = -1, rtol;
  PetscBool           set;
  TCCellParams        p;
  TCCell              cell;
  TCExperiment        exp;
  TCExperimentOptions opt;
  TCExperimentSummary sum;
  PetscReal          *state;
  PetscInt            ns;
  size_t              bytes;
  CellCtx             ctx = {NULL, 0, 0};
  PetscLogDouble      t0, t1;

  PetscFunctionBeginUser;
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
  PetscCall(TCDeckLoad(deck, npos ? pos[0] : NULL));
  PetscCall(TCDeckGetString(deck, "params", params, sizeof(params), &set));
  PetscCall(TCDeckGetEnum(deck, "model", &model));
  PetscCall(TCDeckGetString(deck, "experiment", expt, sizeof(expt), &set));
  PetscCall(TCDeckGetEnum(deck, "thermal", &thermal));
  PetscCall(TCDeckGetString(deck, "output", out, sizeof(out), &set));
  PetscCall(TCDeckGetInt(deck, "cell_nx_n", &g[0]));
  PetscCall(TCDeckGetInt(deck, "cell_nx_s", &g[1]));
  PetscCall(TCDeckGetInt(deck, "cell_nx_p", &g[2]));
  PetscCall(TCDeckGetInt(deck, "cell_nr_n", &g[3]));
  PetscCall(TCDeckGetInt(deck, "cell_nr_p", &g[4]));
  PetscCall(TCDeckGetReal(deck, "cell_dt_max_s", &opt.dt_max_s));
  PetscCall(TCDeckGetReal(deck, "cell_tol_V", &opt.tol_V));
  PetscCall(TCDeckGetReal(deck, "cell_dt_fixed_s", &opt.dt_fixed_s));
  PetscCall(TCDeckGetReal(deck, "cell_newton_rtol", &rtol));

  /* everything the run needs is read and checked before any output */
  PetscCall(TCCellParamsLoad(params, &p));
  PetscCall(CellApplyMicrostructure(deck, &p));
  Tamb = p.T_amb;
  /* optional keys: left unchanged when not given */
  PetscCall(TCDeckGetReal(deck, "ambient_temperature", &Tamb));
  PetscCall(TCDeckGetReal(deck, "initial_soc", &soc));
  /* a YAML list arrives comma-joined: commas separate steps like ';' */
  for (char *c = expt; *c; c++)
    if (*c == ',') *c = ';';
  PetscCall(TCExperimentCreate(&exp));
  PetscCall(TCExperimentAdd(exp, expt));
  opt.lumped    = thermal == 1 ? PETSC_TRUE : PETSC_FALSE;
  opt.T_amb_K   = Tamb;
  opt.dt_init_s = 1.0;

  PetscCall(TCCellCreate(comm, &cell));
  PetscCall(TCCellSetParams(cell, &p));
  PetscCall(TCCellSetModel(cell, (TCCellModel)model));
  PetscCall(TCCellSetGrid(cell, g[0], g[1], g[2], g[3], g[4]));
  PetscCall(TCCellSetTolerances(cell, rtol, 30));
  PetscCall(TCCellSetUp(cell));
  PetscCall(TCCellGetStateSize(cell, &ns, &bytes));
  PetscCall(PetscMalloc1(ns, &state));
  PetscCall(TCCellStateInit(cell, soc, Tamb, state));

  PetscCall(PetscStrncpy(dir, out, sizeof(dir)));
  PetscCall(TCOutputPrepareDir(comm, dirname(dir)));
  PetscCall(TCPrintf(comm,
                     "tomocell cell: %s, model %s (%zu bytes of state), %s, T_amb %.2f K, "
                     "experiment \"%s\"\n",
                     p.title, TCCellModels[model], bytes,
                     opt.lumped ? "lumped thermal" : "isothermal", (double)Tamb, expt));
  PetscCall(TCOutputFOpen(comm, out, &ctx.fp));
  if (ctx.fp)
    fprintf(ctx.fp, "time_s,current_A,voltage_V,temperature_K,anode_potential_vs_li_V,soc,"
                    "discharge_capacity_Ah,anode_potential_min_over_x_V,neg_avg_stoich,"
                    "pos_avg_stoich,neg_surf_stoich,pos_surf_stoich,eta_n_V,eta_p_V,ce_min,"
                    "ce_max,heat_W,dIdV_S\n");
  PetscCall(PetscTime(&t0));
  PetscCall(TCExperimentRun(exp, cell, &p, &opt, state, CellMonitor, &ctx, &sum));
  PetscCall(PetscTime(&t1));
  PetscCall(TCOutputFClose(comm, out, &ctx.fp));
  PetscCall(TCPrintf(comm,
                     "  %" PetscInt_FMT " steps (%" PetscInt_FMT " rejected, %.2f Newton "
                     "iterations per step), %.4f s wall\n",
                     sum.nsteps, sum.nrejected,
                     sum.nsteps ? (double)sum.newton_its / (double)sum.nsteps : 0.0,
                     (double)(t1 - t0)));
  PetscCall(TCPrintf(comm,
                     "summary: capacity %.5f Ah (discharged %.5f, charged %.5f), energy %.5f Wh, "
                     "max temperature %.3f K, min anode potential vs Li %.4f V, time below 0 V "
                     "%.1f s, end %.2f s\n",
                     (double)sum.capacity_Ah, (double)sum.discharged_Ah, (double)sum.charged_Ah,
                     (double)sum.energy_Wh, (double)sum.T_max_K, (double)sum.anode_min_V,
                     (double)sum.time_below_0V_s, (double)sum.t_end_s));
  {
    /* the scalars also as JSON beside the CSV (out.csv -> out.json), for
       scripts and tomocell sweep */
    char      js_path[PETSC_MAX_PATH_LEN];
    char     *dot;
    FILE     *fp;
    PetscReal Lstack = p.neg.L_m + p.L_sep_m + p.pos.L_m + p.L_cc_m / 2;
    PetscCall(PetscStrncpy(js_path, out, sizeof(js_path) - 6));
    dot = strrchr(js_path, '.');
    if (dot && !strchr(dot, '/')) *dot = 0;
    PetscCall(PetscStrlcat(js_path, ".json", sizeof(js_path)));
    PetscCall(TCOutputFOpen(comm, js_path, &fp));
    if (fp) {
      TCJson js;
      TCJsonBegin(&js, fp);
      TCJsonString(&js, "command", "cell");
      TCJsonString(&js, "params", p.title);
      TCJsonString(&js, "model", TCCellModels[model]);
      TCJsonString(&js, "thermal", opt.lumped ? "lumped" : "isothermal");
      TCJsonString(&js, "experiment", expt);
      TCJsonObjectBegin(&js, "results");
      TCJsonReal(&js, "capacity_Ah", (double)sum.capacity_Ah);
      TCJsonReal(&js, "discharged_Ah", (double)sum.discharged_Ah);
      TCJsonReal(&js, "charged_Ah", (double)sum.charged_Ah);
      TCJsonReal(&js, "energy_Wh", (double)sum.energy_Wh);
      TCJsonReal(&js, "max_temperature_K", (double)sum.T_max_K);
      TCJsonReal(&js, "min_anode_potential_vs_li_V", (double)sum.anode_min_V);
      TCJsonReal(&js, "time_below_0V_s", (double)sum.time_below_0V_s);
      TCJsonReal(&js, "end_time_s", (double)sum.t_end_s);
      /* per electrode area, and per volume of the stack repeat unit
         L_n + L_s + L_p + (foils)/2 (double-sided coatings share each foil) */
      TCJsonReal(&js, "energy_Wh_per_m2", (double)(sum.energy_Wh / p.area_m2));
      TCJsonReal(&js, "energy_Wh_per_L_stack",
                 (double)(sum.energy_Wh / (p.area_m2 * Lstack) / 1000));
      TCJsonObjectEnd(&js);
      TCJsonObjectBegin(&js, "cell");
      TCJsonReal(&js, "area_m2", (double)p.area_m2);
      TCJsonReal(&js, "stack_thickness_m", (double)Lstack);
      TCJsonReal(&js, "thickness_n_m", (double)p.neg.L_m);
      TCJsonReal(&js, "thickness_s_m", (double)p.L_sep_m);
      TCJsonReal(&js, "thickness_p_m", (double)p.pos.L_m);
      TCJsonReal(&js, "porosity_n", (double)p.neg.eps);
      TCJsonReal(&js, "porosity_s", (double)p.eps_sep);
      TCJsonReal(&js, "porosity_p", (double)p.pos.eps);
      TCJsonReal(&js, "transport_efficiency_n", (double)p.neg.B);
      TCJsonReal(&js, "transport_efficiency_s", (double)p.B_sep);
      TCJsonReal(&js, "transport_efficiency_p", (double)p.pos.B);
      TCJsonReal(&js, "active_fraction_n", (double)p.neg.eps_s);
      TCJsonReal(&js, "active_fraction_p", (double)p.pos.eps_s);
      TCJsonReal(&js, "loading_n_m", (double)(p.neg.eps_s * p.neg.L_m));
      TCJsonReal(&js, "loading_p_m", (double)(p.pos.eps_s * p.pos.L_m));
      TCJsonObjectEnd(&js);
      TCJsonInt(&js, "steps", (long long)sum.nsteps);
      TCJsonInt(&js, "rejected_steps", (long long)sum.nrejected);
      TCJsonReal(&js, "wall_s", (double)(t1 - t0));
      TCJsonEnd(&js);
    }
    PetscCall(TCOutputFClose(comm, js_path, &fp));
    PetscCall(TCPrintf(comm, "  wrote %s and %s\n", out, js_path));
  }

  PetscCall(PetscFree(state));
  PetscCall(TCExperimentDestroy(&exp));
  PetscCall(TCCellDestroy(&cell));
  PetscCall(TCCellParamsDestroy(&p));
  PetscCall(TCDeckDestroy(&deck));
  PetscFunctionReturn(0);
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
