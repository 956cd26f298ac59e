/*
 * tomocell abuse: one lumped thermal node with abuse-reaction kinetics under
 * an accelerating-rate-calorimetry (heat-wait-seek) or oven protocol, e.g.
 *
 *   tomocell abuse -protocol oven -oven_temperature 433.15 -output oven.csv
 *
 * writes a CSV time series and a JSON summary beside it (oven.json) with a
 * "runaway" object. A thin driver over solver/abuse (kinetics) and
 * solver/abusenode (the node and its protocols).
 */
#include "src/commands.h"
#include "src/tc.h"
#include "io/deck.h"
#include "io/json.h"
#include "io/output.h"
#include "solver/abusenode.h"
#include "solver/cellparams.h"
#include <errno.h>

#define INF PETSC_MAX_REAL

static const TCKey abuse_keys[] = {
    {"params", TC_KEY_STRING, "kim2007", 0, 0, PETSC_FALSE, NULL,
     "abuse-kinetics set: a name in inputs/params/abuse_<name>.json (kim2007) or a JSON path",
     PETSC_FALSE},
    {"protocol", TC_KEY_ENUM, "arc", 0, 0, PETSC_FALSE, "arc|oven",
     "arc: adiabatic heat-wait-seek calorimetry; oven: ambient ramp and hold with convective "
     "loss",
     PETSC_FALSE},
    {"output", TC_KEY_STRING, "abuse.csv", 0, 0, PETSC_FALSE, NULL,
     "CSV time series to write (the JSON summary goes beside it, .json)", PETSC_FALSE},
    {"oven_temperature", TC_KEY_REAL, "428.15", 200, 2000, PETSC_FALSE, NULL,
     "oven: temperature the ambient ramps to and holds, K", PETSC_FALSE},
    {"oven_ramp_K_min", TC_KEY_REAL, "5", 0, INF, PETSC_FALSE, NULL,
     "oven: ambient ramp rate, K/min (0: a step to the oven temperature)", PETSC_FALSE},
    {"ambient_temperature", TC_KEY_REAL, NULL, 100, 2000, PETSC_FALSE, NULL,
     "oven: initial cell and ambient temperature, K (default: the set's, else 298.15)", PETSC_TRUE},
    {"cell_params", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "BPX cell set (chen2020, ...) for rho*cp, h, external area and volume instead of the abuse "
     "set's \"Cell\" values",
     PETSC_TRUE},
    {"abuse_rho_cp_J_m3K", TC_KEY_REAL, NULL, 1e4, 1e8, PETSC_FALSE, NULL,
     "volumetric heat capacity rho*cp, J/(m^3 K) (overrides the sets; cells hold 1e6-4e6)",
     PETSC_TRUE},
    {"abuse_h_W_m2K", TC_KEY_REAL, NULL, 0, INF, PETSC_FALSE, NULL,
     "oven: heat transfer coefficient, W/(m^2 K) (overrides the sets)", PETSC_TRUE},
    {"abuse_area_m2", TC_KEY_REAL, NULL, 0, INF, PETSC_TRUE, NULL,
     "oven: cooled external area, m^2 (overrides the sets)", PETSC_TRUE},
    {"abuse_volume_m3", TC_KEY_REAL, NULL, 0, INF, PETSC_TRUE, NULL,
     "cell volume, m^3 (overrides the sets)", PETSC_TRUE},
    {"abuse_soc", TC_KEY_REAL, "1", 0, 1, PETSC_FALSE, NULL,
     "state of charge of the initial reactant state (below 1 needs the set's zero-SOC values)",
     PETSC_FALSE},
    {"arc_start_temperature", TC_KEY_REAL, "323.15", 200, 2000, PETSC_FALSE, NULL,
     "ARC: start temperature, K", PETSC_FALSE},
    {"arc_end_temperature", TC_KEY_REAL, "573.15", 200, 2000, PETSC_FALSE, NULL,
     "ARC: the search ends here without exotherm, K", PETSC_FALSE},
    {"arc_step_K", TC_KEY_REAL, "5", 0, 100, PETSC_TRUE, NULL, "ARC: heat step, K", PETSC_FALSE},
    {"arc_heat_rate_K_min", TC_KEY_REAL, "2", 0, 1000, PETSC_TRUE, NULL,
     "ARC: heater rate during a heat step, K/min", PETSC_FALSE},
    {"arc_wait_min", TC_KEY_REAL, "15", 0, INF, PETSC_FALSE, NULL, "ARC: wait time, min",
     PETSC_FALSE},
    {"arc_seek_min", TC_KEY_REAL, "10", 0, INF, PETSC_TRUE, NULL, "ARC: seek time, min",
     PETSC_FALSE},
    {"arc_detect_K_min", TC_KEY_REAL, "0.02", 0, INF, PETSC_TRUE, NULL,
     "ARC: exotherm detection threshold on the self-heating rate, K/min", PETSC_FALSE},
    {"runaway_rate_K_min", TC_KEY_REAL, "10", 0, INF, PETSC_TRUE, NULL,
     "runaway onset: self-heating rate q/(rho cp) at or above this, K/min", PETSC_FALSE},
    {"abuse_t_end_s", TC_KEY_REAL, NULL, 0, INF, PETSC_TRUE, NULL,
     "end time, s (default: 72 h ARC, 24 h oven)", PETSC_TRUE},
    {"abuse_dt_max_s", TC_KEY_REAL, "60", 1e-6, 1e9, PETSC_FALSE, NULL, "largest time step, s",
     PETSC_FALSE},
    {"abuse_tol_K", TC_KEY_REAL, "0.05", 1e-6, 100, PETSC_FALSE, NULL,
     "local error tolerance per step on the temperature, K", PETSC_FALSE},
};
static const PetscInt abuse_nkeys = (PetscInt)(sizeof(abuse_keys) / sizeof(abuse_keys[0]));

static void AbuseHelp(void)
{
  printf("Keys (options -key value, or a YAML deck given as the positional argument):\n");
  TCDeckPrintKeys(abuse_keys, abuse_nkeys);
  printf("\nCSV columns: time_s,temperature_K,ambient_K,phase,q_W_m3,self_heating_K_min,\n"
         "  q_sei_W_m3,q_negative_W_m3,q_positive_W_m3,q_electrolyte_W_m3,c_sei,c_neg,z_sei,\n"
         "  alpha,c_e,stored_enthalpy_J_m3,released_J_m3\n"
         "Runaway onset: first step whose self-heating rate q/(rho cp) reaches runaway_rate_K_min\n"
         "  (10 K/min); the ARC detects an exotherm when the mean rate over a seek window reaches\n"
         "  arc_detect_K_min (0.02 K/min).\n");
}

typedef struct {
  FILE *fp;
} AbuseCtx;

static PetscErrorCode AbuseMonitor(const TCAbuseNodeSample *s, void *ctx)
{
  AbuseCtx *c = (AbuseCtx *)ctx;

  PetscFunctionBeginUser;
  if (!c->fp) PetscFunctionReturn(0);
  PetscCheck(fprintf(c->fp,
                     "%.10g,%.10g,%.10g,%s,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%."
                     "10g,%.10g,%.10g,%.10g\n",
                     (double)s->t_s, (double)s->T_K, (double)s->T_amb_K, TCAbusePhases[s->phase],
                     (double)s->q_W_m3, (double)(s->self_heating_K_s * 60),
                     (double)s->q_rxn_W_m3[0], (double)s->q_rxn_W_m3[1], (double)s->q_rxn_W_m3[2],
                     (double)s->q_rxn_W_m3[3], (double)s->x[0], (double)s->x[1], (double)s->x[2],
                     (double)s->x[3], (double)s->x[4], (double)s->stored_J_m3,
                     (double)s->released_J_m3) > 0,
             PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write the CSV: %s", strerror(errno));
  PetscFunctionReturn(0);
}

static void AbuseJsonRealOrNull(TCJson *js, const char *key, PetscBool have, double v)
{
  if (have)
    TCJsonReal(js, key, v);
  else
    TCJsonNull(js, key);
}

/* What AbuseBody() holds; AbuseMain() frees it, also when the run stops on an error. */
typedef struct {
  TCAbuseSet set;
} AbuseHeld;

static PetscErrorCode AbuseBody(int npos, char **pos, AbuseHeld *h)
{
  MPI_Comm           comm = PETSC_COMM_WORLD;
  TCDeck             deck;
  TCAbuseCellData    cd;
  TCAbuseNodeOptions o;
  TCAbuseNodeResult  res;
  AbuseCtx           ctx = {NULL};
  char               params[PETSC_MAX_PATH_LEN], out[PETSC_MAX_PATH_LEN], cellp[PETSC_MAX_PATH_LEN],
      js_path[PETSC_MAX_PATH_LEN];
  const char    *title, *citation, *file, *cell_source;
  PetscInt       protocol;
  PetscBool      set_flag, have_cell, rho_given = PETSC_FALSE;
  PetscReal      v, ramp, hAV_src               = -1;
  PetscMPIInt    size;
  PetscLogDouble t0, t1;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCheck(size == 1, comm, PETSC_ERR_USER_INPUT,
             "tomocell abuse runs one thermal node on one rank, not %d: run it without "
             "mpiexec/srun (or with -n 1)",
             (int)size);
  PetscCall(TCDeckCreate(comm, "abuse", abuse_keys, abuse_nkeys, &deck));
  PetscCall(TCDeckLoad(deck, npos > 0 ? pos[0] : NULL));
  PetscCall(TCDeckGetString(deck, "params", params, sizeof(params), &set_flag));
  PetscCall(TCDeckGetEnum(deck, "protocol", &protocol));
  PetscCall(TCDeckGetString(deck, "output", out, sizeof(out), &set_flag));
  PetscCall(TCAbuseNodeOptionsDefault((TCAbuseProtocol)protocol, &o));

  /* everything is read and checked before any output */
  PetscCall(TCAbuseSetLoad(params, &h->set));
  PetscCall(TCAbuseSetGetInfo(h->set, &title, &citation, &file));
  PetscCall(TCAbuseSetGetCell(h->set, &cd));
  cell_source = file;
  PetscCall(TCDeckGetString(deck, "cell_params", cellp, sizeof(cellp), &have_cell));
  if (have_cell) {
    TCCellParams p;
    PetscCall(TCCellParamsLoad(cellp, &p));
    cd.rho_cp_J_m3K = p.rho_cp_J_m3K;
    cd.h_W_m2K      = p.h_W_m2K;
    cd.area_m2      = p.area_ext_m2;
    cd.volume_m3    = p.volume_m3;
    cd.T_init_K     = p.T_init;
    PetscCall(TCCellParamsDestroy(&p));
    cell_source = cellp;
  }
  v = -1;
  PetscCall(TCDeckGetReal(deck, "abuse_rho_cp_J_m3K", &v));
  if (v > 0) cd.rho_cp_J_m3K = v, rho_given = PETSC_TRUE;
  v = -1;
  PetscCall(TCDeckGetReal(deck, "abuse_h_W_m2K", &v));
  if (v >= 0) cd.h_W_m2K = v;
  v = -1;
  PetscCall(TCDeckGetReal(deck, "abuse_area_m2", &v));
  if (v > 0) cd.area_m2 = v;
  v = -1;
  PetscCall(TCDeckGetReal(deck, "abuse_volume_m3", &v));
  if (v > 0) cd.volume_m3 = v;
  PetscCheck(cd.rho_cp_J_m3K > 0, comm, PETSC_ERR_USER_INPUT,
             "no volumetric heat capacity: %s has no \"Cell\" -> \"Volumetric heat capacity "
             "[J.m-3.K-1]\"; give -abuse_rho_cp_J_m3K (or -cell_params with a BPX set)",
             cell_source);
  PetscCheck(cd.rho_cp_J_m3K >= 1e4 && cd.rho_cp_J_m3K <= 1e8, comm, PETSC_ERR_USER_INPUT,
             "the volumetric heat capacity %g J/(m^3 K) of %s is outside [1e4, 1e8] (cells hold "
             "1e6-4e6); give -abuse_rho_cp_J_m3K",
             (double)cd.rho_cp_J_m3K, rho_given ? "-abuse_rho_cp_J_m3K" : cell_source);
  o.rho_cp_J_m3K = cd.rho_cp_J_m3K;
  o.T_init_K     = cd.T_init_K > 0 ? cd.T_init_K : 298.15;
  PetscCall(TCDeckGetReal(deck, "ambient_temperature", &o.T_init_K));
  if (protocol == TC_ABUSE_PROTOCOL_OVEN) {
    PetscCheck(cd.volume_m3 > 0 && cd.area_m2 > 0, comm, PETSC_ERR_USER_INPUT,
               "the oven needs the cell's external area and volume for h A / V: %s has %s; give "
               "-abuse_area_m2 and -abuse_volume_m3 (or -cell_params)",
               cell_source,
               cd.area_m2 > 0     ? "no volume"
               : cd.volume_m3 > 0 ? "no external area"
                                  : "neither");
    o.hAV_W_m3K = cd.h_W_m2K * cd.area_m2 / cd.volume_m3;
    hAV_src     = o.hAV_W_m3K;
  }
  PetscCall(TCDeckGetReal(deck, "oven_temperature", &o.oven_T_K));
  PetscCall(TCDeckGetReal(deck, "oven_ramp_K_min", &ramp));
  o.oven_ramp_K_s = ramp / 60;
  PetscCall(TCDeckGetReal(deck, "abuse_soc", &o.soc));
  PetscCall(TCDeckGetReal(deck, "arc_start_temperature", &o.arc_start_K));
  PetscCall(TCDeckGetReal(deck, "arc_end_temperature", &o.arc_end_K));
  PetscCheck(protocol != TC_ABUSE_PROTOCOL_ARC || o.arc_end_K > o.arc_start_K, comm,
             PETSC_ERR_USER_INPUT,
             "arc_end_temperature %g K must be above arc_start_temperature %g K",
             (double)o.arc_end_K, (double)o.arc_start_K);
  PetscCall(TCDeckGetReal(deck, "arc_step_K", &o.arc_step_K));
  PetscCall(TCDeckGetReal(deck, "arc_heat_rate_K_min", &v));
  o.arc_heat_rate_K_s = v / 60;
  PetscCall(TCDeckGetReal(deck, "arc_wait_min", &v));
  o.arc_wait_s = v * 60;
  PetscCall(TCDeckGetReal(deck, "arc_seek_min", &v));
  o.arc_seek_s = v * 60;
  PetscCall(TCDeckGetReal(deck, "arc_detect_K_min", &v));
  o.arc_detect_K_s = v / 60;
  PetscCall(TCDeckGetReal(deck, "runaway_rate_K_min", &v));
  o.runaway_rate_K_s = v / 60;
  PetscCall(TCDeckGetReal(deck, "abuse_t_end_s", &o.t_end_s));
  PetscCall(TCDeckGetReal(deck, "abuse_dt_max_s", &o.dt_max_s));
  PetscCall(TCDeckGetReal(deck, "abuse_tol_K", &o.tol_K));
  {
    /* the initial state is checked here too (a SOC below 1 needs the set's values) */
    PetscReal x[TC_ABUSE_NSTATE];
    PetscCall(TCAbuseStateInit(h->set, o.soc, x));
  }

  PetscCall(TCPrintf(comm, "tomocell abuse: %s, protocol %s, rho*cp %.4g J/(m^3 K)%s", title,
                     TCAbuseProtocols[protocol], (double)o.rho_cp_J_m3K,
                     protocol == TC_ABUSE_PROTOCOL_OVEN ? "" : "\n"));
  if (protocol == TC_ABUSE_PROTOCOL_OVEN)
    PetscCall(TCPrintf(comm, ", h A / V %.4g W/(m^3 K), oven %.2f K (ramp %g K/min from %.2f K)\n",
                       (double)o.hAV_W_m3K, (double)o.oven_T_K, (double)ramp, (double)o.T_init_K));
  PetscCall(TCPathReplaceExt(out, ".json", js_path, sizeof(js_path)));
  PetscCall(TCOutputClaim(comm, out, "-output"));
  PetscCall(TCOutputClaim(comm, js_path, "summary JSON (-output with .json)"));
  PetscCall(TCOutputPrepareFileDir(comm, out));
  PetscCall(TCOutputFOpen(comm, out, &ctx.fp));
  if (ctx.fp)
    PetscCheck(fprintf(ctx.fp,
                       "time_s,temperature_K,ambient_K,phase,q_W_m3,self_heating_K_min,"
                       "q_sei_W_m3,q_negative_W_m3,q_positive_W_m3,q_electrolyte_W_m3,"
                       "c_sei,c_neg,z_sei,alpha,c_e,stored_enthalpy_J_m3,released_J_m3\n") > 0,
               PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s: %s", out, strerror(errno));
  PetscCall(PetscTime(&t0));
  PetscCall(TCAbuseNodeRun(h->set, &o, AbuseMonitor, &ctx, &res));
  PetscCall(PetscTime(&t1));
  PetscCall(TCOutputFClose(comm, out, &ctx.fp));

  if (res.runaway)
    PetscCall(
        TCPrintf(comm,
                 "  runaway at t = %.2f s, T = %.2f K (self-heating >= %g K/min); peak %.2f K; "
                 "max self-heating rate %.4g K/min\n",
                 (double)res.onset_time_s, (double)res.onset_T_K, (double)(o.runaway_rate_K_s * 60),
                 (double)res.peak_T_K, (double)(res.max_self_heating_K_s * 60)));
  else
    PetscCall(TCPrintf(comm,
                       "  no runaway (self-heating stayed below %g K/min; max %.4g K/min); peak "
                       "%.2f K\n",
                       (double)(o.runaway_rate_K_s * 60), (double)(res.max_self_heating_K_s * 60),
                       (double)res.peak_T_K));
  if (protocol == TC_ABUSE_PROTOCOL_ARC)
    PetscCall(TCPrintf(comm, "  ARC exotherm %s%.2f K (%.4g K/min over the seek window)\n",
                       res.exotherm ? "detected at " : "not detected; ",
                       (double)(res.exotherm ? res.exotherm_T_K : res.T_end_K),
                       (double)(res.exotherm_rate_K_s * 60)));
  PetscCall(
      TCPrintf(comm,
               "  heat released %.6g J/m^3, reactant enthalpy consumed %.6g J/m^3; %" PetscInt_FMT
               " steps (%" PetscInt_FMT " rejected) to t = %.1f s, %.3f s wall\n",
               (double)res.released_J_m3, (double)res.consumed_J_m3, res.nsteps, res.nrejected,
               (double)res.t_end_s, (double)(t1 - t0)));
  {
    FILE *fp;
    PetscCall(TCOutputFOpen(comm, js_path, &fp));
    if (fp) {
      TCJson    js;
      PetscReal thermal = o.rho_cp_J_m3K * (res.T_end_K - res.T_start_K);
      TCJsonBegin(&js, fp);
      TCJsonString(&js, "command", "abuse");
      TCJsonString(&js, "params", title);
      TCJsonString(&js, "params_file", file);
      TCJsonString(&js, "citation", citation);
      TCJsonString(&js, "protocol", TCAbuseProtocols[protocol]);
      TCJsonObjectBegin(&js, "runaway");
      TCJsonString(&js, "criterion",
                   "first time step whose self-heating rate q_abuse/(rho cp) "
                   "reaches rate_threshold_K_min");
      TCJsonReal(&js, "rate_threshold_K_min", (double)(o.runaway_rate_K_s * 60));
      AbuseJsonRealOrNull(&js, "onset_time_s", res.runaway, (double)res.onset_time_s);
      AbuseJsonRealOrNull(&js, "onset_temperature_K", res.runaway, (double)res.onset_T_K);
      AbuseJsonRealOrNull(&js, "peak_temperature_K", res.runaway, (double)res.peak_T_K);
      AbuseJsonRealOrNull(&js, "max_self_heating_rate_K_min", res.runaway,
                          (double)(res.max_self_heating_K_s * 60));
      TCJsonObjectEnd(&js);
      if (protocol == TC_ABUSE_PROTOCOL_ARC) {
        TCJsonObjectBegin(&js, "arc");
        TCJsonReal(&js, "detection_threshold_K_min", (double)(o.arc_detect_K_s * 60));
        TCJsonReal(&js, "start_temperature_K", (double)o.arc_start_K);
        TCJsonReal(&js, "step_K", (double)o.arc_step_K);
        TCJsonReal(&js, "wait_min", (double)(o.arc_wait_s / 60));
        TCJsonReal(&js, "seek_min", (double)(o.arc_seek_s / 60));
        TCJsonBool(&js, "exotherm_detected", res.exotherm);
        AbuseJsonRealOrNull(&js, "exotherm_onset_temperature_K", res.exotherm,
                            (double)res.exotherm_T_K);
        AbuseJsonRealOrNull(&js, "exotherm_onset_time_s", res.exotherm,
                            (double)res.exotherm_time_s);
        AbuseJsonRealOrNull(&js, "exotherm_rate_K_min", res.exotherm,
                            (double)(res.exotherm_rate_K_s * 60));
        TCJsonObjectEnd(&js);
      } else {
        TCJsonObjectBegin(&js, "oven");
        TCJsonReal(&js, "oven_temperature_K", (double)o.oven_T_K);
        TCJsonReal(&js, "ramp_K_min", (double)ramp);
        TCJsonReal(&js, "initial_temperature_K", (double)o.T_init_K);
        TCJsonReal(&js, "hAV_W_m3K", (double)hAV_src);
        TCJsonObjectEnd(&js);
      }
      TCJsonObjectBegin(&js, "energy");
      TCJsonReal(&js, "stored_initial_J_m3", (double)res.stored_initial_J_m3);
      TCJsonReal(&js, "heat_released_J_m3", (double)res.released_J_m3);
      TCJsonReal(&js, "enthalpy_consumed_J_m3", (double)res.consumed_J_m3);
      TCJsonReal(&js, "heater_J_m3", (double)res.heater_J_m3);
      TCJsonReal(&js, "loss_J_m3", (double)res.loss_J_m3);
      TCJsonReal(&js, "sensible_heat_J_m3", (double)thermal);
      TCJsonObjectEnd(&js);
      TCJsonReal(&js, "rho_cp_J_m3K", (double)o.rho_cp_J_m3K);
      TCJsonReal(&js, "peak_temperature_K", (double)res.peak_T_K);
      TCJsonReal(&js, "max_self_heating_rate_K_min", (double)(res.max_self_heating_K_s * 60));
      TCJsonReal(&js, "end_time_s", (double)res.t_end_s);
      TCJsonReal(&js, "end_temperature_K", (double)res.T_end_K);
      TCJsonInt(&js, "steps", (long long)res.nsteps);
      TCJsonInt(&js, "rejected_steps", (long long)res.nrejected);
      TCJsonReal(&js, "wall_s", (double)(t1 - t0));
      TCJsonEnd(&js);
    }
    PetscCall(TCOutputFClose(comm, js_path, &fp));
  }
  PetscCall(TCPrintf(comm, "  wrote %s and %s\n", out, js_path));
  PetscCall(TCAbuseSetDestroy(&h->set));
  PetscCall(TCDeckDestroy(&deck));
  PetscFunctionReturn(0);
}

static PetscErrorCode AbuseMain(int npos, char **pos)
{
  AbuseHeld      h;
  PetscErrorCode ierr;

  /* not PetscCall: the error was reported where it arose; free, then pass it on */
  PetscMemzero(&h, sizeof(h));
  ierr = AbuseBody(npos, pos, &h);
  (void)TCAbuseSetDestroy(&h.set);
  return ierr;
}

const TCCommand TCCommandAbuse = {
    "abuse",
    "abuse-reaction kinetics of one thermal node: ARC heat-wait-seek or oven test",
    "tomocell abuse [DECK.yaml] [-params kim2007] [-protocol arc|oven] [-oven_temperature K] "
    "[-output abuse.csv]",
    AbuseHelp,
    AbuseMain,
    0,
    1,
    abuse_keys,
    (PetscInt)(sizeof(abuse_keys) / sizeof(abuse_keys[0])),
    "abuse.csv",
    "abuse.json"};
