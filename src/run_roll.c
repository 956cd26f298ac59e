/*
 * tomocell run, job "roll" (see run_roll.h): deck -> spiral -> roll network
 * with terminals -> coupled solver -> experiment -> results.h5 (+ XDMF time
 * series), summary.json, summary.csv and PNG plots.
 */
#include "src/run_roll.h"
#include "src/tc.h"
#include "src/runctl.h"
#include "io/json.h"
#include "io/output.h"
#include "io/results.h"
#include "mesh/rollnet.h"
#include "solver/roll.h"
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

/* summary.csv columns */
static const char *const roll_cols[] = {"time_s",
                                        "current_A",
                                        "voltage_V",
                                        "soc",
                                        "T_max_K",
                                        "T_mean_K",
                                        "T_min_K",
                                        "hotspot_r_m",
                                        "hotspot_theta_rad",
                                        "hotspot_z_m",
                                        "current_heterogeneity",
                                        "i_mean_A_m2",
                                        "i_max_A_m2",
                                        "min_anode_potential_V",
                                        "min_anode_r_m",
                                        "min_anode_theta_rad",
                                        "min_anode_z_m",
                                        "min_anode_i_A_m2",
                                        "plating_area_fraction",
                                        "heat_W",
                                        "generated_J",
                                        "stored_J",
                                        "removed_J",
                                        "newton_its",
                                        "T_amb_K",
                                        "abuse_heat_J"};
#define NCOL ((PetscInt)(sizeof(roll_cols) / sizeof(roll_cols[0])))

typedef struct {
  MPI_Comm   comm;
  TCRoll     roll;
  TCGraph    g;
  PetscReal *state; /* the driver's committed state (updated in place) */
  /* time series (every rank keeps the same rows) */
  PetscInt   nrow, caprow;
  PetscReal *rows;
  /* snapshots of node fields, in the input numbering: this rank's block */
  PetscInt   nsnap, capsnap, nin, in0, Nin;
  PetscReal *snap_t, *snap[TC_ROLL_NFIELDS];
  PetscReal  next_out, interval;
  Vec        f[TC_ROLL_NFIELDS];
  /* run-level findings */
  PetscReal      Tmax, Tmax_t, Tmax_loc[3];
  PetscReal      het_max, het_t;
  PetscReal      amin, amin_t, amin_loc[3], amin_i;
  PetscReal      plating_s, t_prev, a_prev, dt_last; /* dt_last: for the progress line only */
  PetscInt       nexp;
  PetscReal      total_s;
  PetscLogDouble t_print;
  /* checkpoints and stops; rc.t_start: start of the stepping */
  TCRunControl rc;
  const char  *config;
  PetscInt     nstate;
} RollMon;

/* the monitor's scalars, for checkpoints (every one: restarts are bit-for-bit) */
#define ROLL_MON_REALS(X)                                                                          \
  X(Tmax)                                                                                          \
  X(Tmax_t)                                                                                        \
  X(Tmax_loc[0])                                                                                   \
  X(Tmax_loc[1])                                                                                   \
  X(Tmax_loc[2])                                                                                   \
  X(het_max) X(het_t) X(amin) X(amin_t) X(amin_loc[0]) X(amin_loc[1]) X(amin_loc[2]) X(amin_i)     \
      X(plating_s) X(t_prev) X(a_prev) X(next_out)

static PetscErrorCode RollSnapshot(RollMon *m, PetscReal t)
{
  PetscFunctionBeginUser;
  if (m->nsnap == m->capsnap) {
    m->capsnap = PetscMax(16, 2 * m->capsnap);
    PetscCall(PetscRealloc(sizeof(PetscReal) * m->capsnap, &m->snap_t));
    for (int q = 0; q < TC_ROLL_NFIELDS; q++)
      PetscCall(PetscRealloc(sizeof(PetscReal) * m->capsnap * PetscMax(m->nin, 1), &m->snap[q]));
  }
  PetscCall(TCRollNodeFields(m->roll, m->state, m->f));
  for (int q = 0; q < TC_ROLL_NFIELDS; q++) {
    Vec                vin;
    const PetscScalar *a;
    PetscCall(TCGraphNodesToInput(m->g, m->f[q], &vin));
    PetscCall(VecGetArrayRead(vin, &a));
    PetscCall(PetscArraycpy(m->snap[q] + m->nsnap * m->nin, a, m->nin));
    PetscCall(VecRestoreArrayRead(vin, &a));
    PetscCall(VecDestroy(&vin));
  }
  m->snap_t[m->nsnap++] = t;
  PetscFunctionReturn(0);
}

static PetscErrorCode RollMonitor(const TCExperimentPoint *pt, const TCCellResult *res, void *ctx)
{
  RollMon       *m = (RollMon *)ctx;
  TCRollStats    st;
  PetscReal     *row;
  PetscLogDouble now;

  PetscFunctionBeginUser;
  PetscCall(TCRollGetStats(m->roll, m->state, &st));
  if (m->nrow == m->caprow) {
    m->caprow = PetscMax(256, 2 * m->caprow);
    PetscCall(PetscRealloc(sizeof(PetscReal) * m->caprow * NCOL, &m->rows));
  }
  row = m->rows + m->nrow * NCOL;
  {
    PetscReal v[] = {pt->t_s,
                     st.I_A,
                     st.V_V,
                     st.soc,
                     st.T_max_K,
                     st.T_mean_K,
                     st.T_min_K,
                     st.hotspot_r_m,
                     st.hotspot_theta_rad,
                     st.hotspot_z_m,
                     st.heterogeneity,
                     st.i_mean_A_m2,
                     st.i_max_A_m2,
                     st.anode_min_V,
                     st.anode_min_r_m,
                     st.anode_min_theta_rad,
                     st.anode_min_z_m,
                     st.anode_min_i_A_m2,
                     st.plating_area_frac,
                     st.heat_W,
                     st.generated_J,
                     st.stored_J,
                     st.removed_J,
                     (PetscReal)res->newton_its,
                     st.T_amb_K,
                     st.abuse_J};
    PetscCall(PetscArraycpy(row, v, NCOL));
  }
  if (m->nrow == 0 || st.T_max_K > m->Tmax) {
    m->Tmax        = st.T_max_K;
    m->Tmax_t      = pt->t_s;
    m->Tmax_loc[0] = st.hotspot_r_m;
    m->Tmax_loc[1] = st.hotspot_theta_rad;
    m->Tmax_loc[2] = st.hotspot_z_m;
  }
  if (!isnan(st.heterogeneity) && st.heterogeneity > m->het_max) {
    m->het_max = st.heterogeneity;
    m->het_t   = pt->t_s;
  }
  if (m->nrow == 0 || st.anode_min_V < m->amin) {
    m->amin        = st.anode_min_V;
    m->amin_t      = pt->t_s;
    m->amin_loc[0] = st.anode_min_r_m;
    m->amin_loc[1] = st.anode_min_theta_rad;
    m->amin_loc[2] = st.anode_min_z_m;
    m->amin_i      = st.anode_min_i_A_m2;
  }
  /* time with any element below 0 V vs Li: linear in time within a step */
  if (m->nrow > 0) {
    PetscReal a0 = m->a_prev, a1 = st.anode_min_V, h = pt->t_s - m->t_prev;
    if (a0 < 0 && a1 < 0)
      m->plating_s += h;
    else if (a0 < 0 || a1 < 0)
      m->plating_s += h * (a0 < 0 ? a0 : a1) / (a0 - a1) * (a0 < 0 ? 1 : -1);
  }
  m->a_prev  = st.anode_min_V;
  m->dt_last = m->nrow > 0 ? pt->t_s - m->t_prev : 0;
  m->t_prev  = pt->t_s;
  m->nrow++;
  if (m->nsnap == 0 || pt->t_s >= m->next_out - 1e-9) {
    PetscCall(RollSnapshot(m, pt->t_s));
    while (m->next_out <= pt->t_s + 1e-9) m->next_out += m->interval;
  }
  PetscCall(PetscTime(&now));
  if (now - m->rc.t_start >= 2 && now - m->t_print >= 2) {
    char pct[64] = "", eta[64] = "";
    if (m->total_s > 0) {
      PetscReal frac = pt->t_s / m->total_s;
      snprintf(pct, sizeof(pct), ", %.1f%% done", (double)(100 * frac));
      if (frac > 0)
        snprintf(eta, sizeof(eta), ", ETA %.0f s",
                 (double)((now - m->rc.t_start) * (1 - frac) / frac));
    }
    PetscCall(TCPrintf(m->comm,
                       "  t = %.1f s, step %" PetscInt_FMT "/%" PetscInt_FMT
                       "%s, dt %.3g s: V = %.4f V, "
                       "I = %.3f A, T_max = %.2f K, %" PetscInt_FMT " Newton its%s\n",
                       (double)pt->t_s, pt->step + 1, m->nexp, pct, (double)m->dt_last,
                       (double)st.V_V, (double)st.I_A, (double)st.T_max_K, res->newton_its, eta));
    m->t_print = now;
  }
  PetscFunctionReturn(0);
}

/* ---- checkpoint/restart ------------------------------------------------------ */

static PetscErrorCode RollCheckpointWrite(RollMon *m, const TCExperimentCursor *cur,
                                          const PetscReal state[])
{
  TCCheckpoint ck;
  PetscMPIInt  rank, size;

  PetscFunctionBeginUser;
  PetscCall(TCRunControlCheckpointBegin(&m->rc));
  PetscCallMPI(MPI_Comm_rank(m->comm, &rank));
  PetscCallMPI(MPI_Comm_size(m->comm, &size));
  PetscCall(TCCheckpointCreate(m->comm, m->rc.path, "run", m->config, &ck));
  PetscCall(TCExperimentCursorSave(ck, cur));
  PetscCall(TCCheckpointSetInt(ck, "ranks", size));
#define SAVE(f) PetscCall(TCCheckpointSetReal(ck, "mon_" #f, m->f));
  ROLL_MON_REALS(SAVE)
#undef SAVE
  PetscCall(TCCheckpointSetInt(ck, "rows", m->nrow));
  PetscCall(TCCheckpointSetInt(ck, "snapshots", m->nsnap));
  PetscCall(TCCheckpointWriteArray(ck, "state", m->nstate, state));
  PetscCall(TCCheckpointWriteArray(ck, "series_rows", rank == 0 ? m->nrow * NCOL : 0, m->rows));
  PetscCall(TCCheckpointWriteArray(ck, "snapshot_times", rank == 0 ? m->nsnap : 0, m->snap_t));
  for (int q = 0; q < TC_ROLL_NFIELDS; q++) {
    char name[64];
    snprintf(name, sizeof(name), "snapshot_%s", TCRollFieldNames[q]);
    PetscCall(TCCheckpointWriteArray(ck, name, m->nsnap * m->nin, m->snap[q]));
  }
  PetscCall(TCCheckpointCommit(ck));
  PetscCall(TCCheckpointDestroy(&ck));
  PetscCall(TCRunControlCheckpointEnd(&m->rc, cur->sum.nsteps));
  PetscFunctionReturn(0);
}

static PetscErrorCode RollCheckpointRead(RollMon *m, const char path[], TCExperimentCursor *cur,
                                         PetscReal state[])
{
  TCCheckpoint ck;
  PetscMPIInt  rank, size;
  PetscInt64   v;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(m->comm, &rank));
  PetscCallMPI(MPI_Comm_size(m->comm, &size));
  PetscCall(TCCheckpointOpen(m->comm, path, "run", m->config, &ck));
  PetscCall(TCCheckpointGetInt(ck, "ranks", &v));
  PetscCheck(v == size, m->comm, PETSC_ERR_USER_INPUT,
             "cannot restart from %s: it was written by %d rank(s) and this run has %d; restart "
             "with the same number of ranks (the partition must be the same)",
             path, (int)v, (int)size);
  PetscCall(TCExperimentCursorLoad(ck, cur));
#define LOAD(f) PetscCall(TCCheckpointGetReal(ck, "mon_" #f, &m->f));
  ROLL_MON_REALS(LOAD)
#undef LOAD
  PetscCall(TCCheckpointGetInt(ck, "rows", &v));
  m->nrow = m->caprow = (PetscInt)v;
  PetscCall(TCCheckpointGetInt(ck, "snapshots", &v));
  m->nsnap = m->capsnap = (PetscInt)v;
  PetscCall(TCCheckpointReadArray(ck, "state", m->nstate, state));
  PetscCall(PetscMalloc1(PetscMax(m->nrow * NCOL, 1), &m->rows));
  PetscCall(PetscMalloc1(PetscMax(m->nsnap, 1), &m->snap_t));
  PetscCall(TCCheckpointReadArray(ck, "series_rows", rank == 0 ? m->nrow * NCOL : 0, m->rows));
  PetscCall(TCCheckpointReadArray(ck, "snapshot_times", rank == 0 ? m->nsnap : 0, m->snap_t));
  PetscCallMPI(MPI_Bcast(m->rows, (PetscMPIInt)(m->nrow * NCOL), MPIU_REAL, 0, m->comm));
  PetscCallMPI(MPI_Bcast(m->snap_t, (PetscMPIInt)m->nsnap, MPIU_REAL, 0, m->comm));
  for (int q = 0; q < TC_ROLL_NFIELDS; q++) {
    char name[64];
    snprintf(name, sizeof(name), "snapshot_%s", TCRollFieldNames[q]);
    PetscCall(PetscMalloc1(PetscMax(m->nsnap * m->nin, 1), &m->snap[q]));
    PetscCall(TCCheckpointReadArray(ck, name, m->nsnap * m->nin, m->snap[q]));
  }
  PetscCall(TCCheckpointDestroy(&ck));
  PetscFunctionReturn(0);
}

/* After every accepted step: periodic checkpoints, and the stop a signal asked for. */
static PetscErrorCode RollHook(const TCExperimentCursor *cur, const PetscReal state[], void *ctx,
                               PetscBool *stop)
{
  RollMon  *m = (RollMon *)ctx;
  PetscBool ckpt;

  PetscFunctionBeginUser;
  PetscCall(TCRunControlAfterStep(m->comm, &m->rc, cur->sum.nsteps, &ckpt, stop));
  if (ckpt) PetscCall(RollCheckpointWrite(m, cur, state));
  PetscFunctionReturn(0);
}

/* ---- results.h5: the network, final fields, time series --------------------------- */

typedef struct {
  TCRollNet net;
  RollMon  *m;
  PetscReal centre[2];
  PetscInt  ns[2], NL;
} RollWrite;

static PetscErrorCode RollWriteExtra(TCH5 *h5, void *ctx)
{
  RollWrite  *w       = (RollWrite *)ctx;
  RollMon    *m       = w->m;
  hsize_t     dims[2] = {(hsize_t)m->nsnap, (hsize_t)m->Nin}, dt[1] = {(hsize_t)m->nsnap};
  PetscMPIInt rank;
  char        name[128];

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(m->comm, &rank));
  PetscCall(TCRollNetWriteExtra(h5, w->net));
  PetscCall(
      TCH5WriteRows(h5, "/time_s", H5T_NATIVE_DOUBLE, 1, dt, 0, rank == 0 ? dt[0] : 0, m->snap_t));
  for (int q = 0; q < TC_ROLL_NFIELDS; q++) {
    PetscReal *buf;
    PetscCall(PetscMalloc1(PetscMax(m->nsnap * m->nin, 1), &buf));
    /* the snapshots are stored time-major per rank already: [nsnap][nin] */
    PetscCall(PetscArraycpy(buf, m->snap[q], m->nsnap * m->nin));
    snprintf(name, sizeof(name), "/series/%s", TCRollFieldNames[q]);
    PetscCall(TCH5WriteCols(h5, name, dims, (hsize_t)m->in0, (hsize_t)m->nin, buf));
    PetscCall(PetscFree(buf));
  }
  /* quads of the unrolled sheets (or segments for one layer), for ParaView */
  {
    PetscInt NS = w->ns[0] + w->ns[1], nc = 0, nv = w->NL > 1 ? 4 : 2;
    int     *cells = NULL;
    hsize_t  dc[2];
    if (rank == 0) {
      PetscInt cap = 0;
      for (int f = 0; f < 2; f++) cap += (w->ns[f] - 1) * PetscMax(w->NL - 1, 1);
      PetscCall(PetscMalloc1(nv * PetscMax(cap, 1), &cells));
      for (int f = 0; f < 2; f++) {
        PetscInt off = f ? w->ns[0] : 0;
        for (PetscInt k = 0; k < PetscMax(w->NL - 1, 1); k++)
          for (PetscInt i = 0; i + 1 < w->ns[f]; i++) {
            PetscInt a         = k * NS + off + i;
            cells[nv * nc + 0] = (int)a;
            cells[nv * nc + 1] = (int)(a + 1);
            if (nv == 4) {
              cells[nv * nc + 2] = (int)(a + 1 + NS);
              cells[nv * nc + 3] = (int)(a + NS);
            }
            nc++;
          }
      }
    }
    PetscCallMPI(MPI_Bcast(&nc, 1, MPIU_INT, 0, m->comm));
    dc[0] = (hsize_t)nc;
    dc[1] = (hsize_t)nv;
    PetscCall(
        TCH5WriteRows(h5, "/mesh/cells", H5T_NATIVE_INT, 2, dc, 0, rank == 0 ? dc[0] : 0, cells));
    PetscCall(PetscFree(cells));
  }
  PetscCall(TCH5WriteAttrReals(h5, "/", "roll_centre_m", 2, w->centre));
  PetscFunctionReturn(0);
}

/* results_series.xmf: a temporal collection over the snapshots */
static PetscErrorCode RollWriteSeriesXdmf(const char outdir[], RollMon *m, const RollWrite *w)
{
  char     path[PETSC_MAX_PATH_LEN];
  FILE    *fp;
  PetscInt nc = 0, nv = w->NL > 1 ? 4 : 2;

  PetscFunctionBeginUser;
  for (int f = 0; f < 2; f++) nc += (w->ns[f] - 1) * PetscMax(w->NL - 1, 1);
  PetscCall(TCPathJoin(outdir, "results_series.xmf", path, sizeof(path)));
  PetscCall(TCOutputFOpen(m->comm, path, &fp));
  if (fp) {
    fprintf(fp, "<?xml version=\"1.0\" ?>\n<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n"
                "<Xdmf Version=\"2.0\">\n  <Domain>\n"
                "    <Grid Name=\"roll\" GridType=\"Collection\" CollectionType=\"Temporal\">\n");
    for (PetscInt s = 0; s < m->nsnap; s++) {
      fprintf(fp, "      <Grid Name=\"t%lld\" GridType=\"Uniform\">\n", (long long)s);
      fprintf(fp, "        <Time Value=\"%.9g\"/>\n", (double)m->snap_t[s]);
      fprintf(fp,
              "        <Topology TopologyType=\"%s\" NumberOfElements=\"%lld\"%s>\n"
              "          <DataItem Dimensions=\"%lld %lld\" NumberType=\"Int\" "
              "Format=\"HDF\">results.h5:/mesh/cells</DataItem>\n        </Topology>\n",
              nv == 4 ? "Quadrilateral" : "Polyline", (long long)nc,
              nv == 4 ? "" : " NodesPerElement=\"2\"", (long long)nc, (long long)nv);
      fprintf(fp,
              "        <Geometry GeometryType=\"XYZ\">\n          <DataItem Dimensions=\"%lld "
              "3\" NumberType=\"Float\" Precision=\"8\" "
              "Format=\"HDF\">results.h5:/nodes/coordinates_m</DataItem>\n"
              "        </Geometry>\n",
              (long long)m->Nin);
      for (int q = 0; q < TC_ROLL_NFIELDS; q++)
        fprintf(fp,
                "        <Attribute Name=\"%s\" Center=\"Node\">\n"
                "          <DataItem ItemType=\"HyperSlab\" Dimensions=\"%lld\">\n"
                "            <DataItem Dimensions=\"3 2\" Format=\"XML\">%lld 0 1 1 1 "
                "%lld</DataItem>\n"
                "            <DataItem Dimensions=\"%lld %lld\" NumberType=\"Float\" "
                "Precision=\"8\" Format=\"HDF\">results.h5:/series/%s</DataItem>\n"
                "          </DataItem>\n        </Attribute>\n",
                TCRollFieldNames[q], (long long)m->Nin, (long long)s, (long long)m->Nin,
                (long long)m->nsnap, (long long)m->Nin, TCRollFieldNames[q]);
      fprintf(fp, "      </Grid>\n");
    }
    fprintf(fp, "    </Grid>\n  </Domain>\n</Xdmf>\n");
  }
  PetscCall(TCOutputFClose(m->comm, path, &fp));
  PetscFunctionReturn(0);
}

static PetscErrorCode RollWriteCSV(const char outdir[], RollMon *m)
{
  char  path[PETSC_MAX_PATH_LEN];
  FILE *fp;

  PetscFunctionBeginUser;
  PetscCall(TCPathJoin(outdir, "summary.csv", path, sizeof(path)));
  PetscCall(TCOutputFOpen(m->comm, path, &fp));
  if (fp) {
    for (PetscInt c = 0; c < NCOL; c++)
      fprintf(fp, "%s%s", roll_cols[c], c + 1 < NCOL ? "," : "\n");
    for (PetscInt r = 0; r < m->nrow; r++)
      for (PetscInt c = 0; c < NCOL; c++)
        fprintf(fp, "%.10g%s", (double)m->rows[r * NCOL + c], c + 1 < NCOL ? "," : "\n");
  }
  PetscCall(TCOutputFClose(m->comm, path, &fp));
  PetscFunctionReturn(0);
}

/* ---- the job ------------------------------------------------------------------ */

static PetscErrorCode RollCheckStack(MPI_Comm comm, const char *what, PetscReal geo, PetscReal set,
                                     const char *key, const char *params)
{
  char a[32], b[32];

  PetscFunctionBeginUser;
  snprintf(a, sizeof(a), "%g", (double)(1e6 * geo)); /* PETSc's %g would print "60." */
  snprintf(b, sizeof(b), "%g", (double)(1e6 * set));
  PetscCheck(PetscAbsReal(geo - set) <= 0.02 * set, comm, PETSC_ERR_USER_INPUT,
             "the geometry and the parameter set do not match: the %s is %s um in the roll "
             "(%s) but %s um in %s; set %s to the set's value or choose the matching set",
             what, a, key, b, params, key);
  PetscFunctionReturn(0);
}

PetscErrorCode TCRunRoll(TCDeck deck, const char deck_path[], const char outdir[])
{
  MPI_Comm            comm = PETSC_COMM_WORLD;
  TCSpiralParams      sp;
  TCSpiral            spiral;
  TCRollNetParams     np;
  TCRollNet           net;
  TCRollParams        rp;
  TCCellParams        p;
  TCCell              cell;
  TCRoll              roll;
  TCExperiment        exp;
  TCExperimentOptions opt;
  TCExperimentSystem  sys;
  TCExperimentSummary sum;
  TCRollStats         st;
  RollMon             m;
  RollWrite           w;
  PetscReal           ds, soc = -1, Tamb, h_can, h_end, *state;
  PetscInt            nz, model, thermal, nel, ns[2], NL;
  PetscBool           set, plots, stopped;
  char                params[PETSC_MAX_PATH_LEN], expt[4096], plot_times[1024] = "";
  PetscMPIInt         size;
  PetscLogDouble      t0, t1, t2, t3;
  double              rss;
  char                restart[PETSC_MAX_PATH_LEN] = "", *config = NULL;
  char                abuse_name[PETSC_MAX_PATH_LEN] = "";
  PetscBool           has_abuse;
  PetscReal           short_rtz[3], heater_rtz[3] = {-1, 0, -1};
  TCAbuseSet          abuse = NULL;
  PetscBool           restarting;
  TCExperimentCursor  cur;
  PetscInt            grid[5];

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscMemzero(&m, sizeof(m)));
  PetscCall(PetscMemzero(&rp, sizeof(rp)));
  PetscCall(PetscMemzero(&np, sizeof(np)));
  /* run control: command-line options, not deck keys (they do not change the results) */
  PetscCall(PetscOptionsGetString(NULL, NULL, "-restart", restart, sizeof(restart), &restarting));
  PetscCheck(!restarting || restart[0], comm, PETSC_ERR_USER_INPUT,
             "-restart needs the checkpoint file, e.g. -restart output/demo/checkpoint.h5");
  PetscCall(TCRunControlSetFromOptions(&m.rc));
  PetscCheck(m.rc.every >= 0 && m.rc.minutes >= 0, comm, PETSC_ERR_USER_INPUT,
             "-checkpoint_every and -checkpoint_minutes must be >= 0 (0: off)");
  /* read and check every key before any work or output */
  PetscCall(TCSpiralParamsFromDeck(deck, &sp, &ds, &nz));
  PetscCall(TCDeckGetString(deck, "params", params, sizeof(params), &set));
  PetscCall(TCDeckGetEnum(deck, "model", &model));
  PetscCall(TCDeckGetString(deck, "experiment", expt, sizeof(expt), &set));
  PetscCall(TCDeckGetReal(deck, "initial_soc", &soc));
  PetscCall(TCDeckGetEnum(deck, "thermal", &thermal));
  PetscCall(TCDeckGetReal(deck, "thermal_k_s_W_mK", &rp.k_s_W_mK));
  PetscCall(TCDeckGetReal(deck, "thermal_k_z_W_mK", &rp.k_z_W_mK));
  PetscCall(TCDeckGetReal(deck, "thermal_k_r_W_mK", &rp.k_r_W_mK));
  PetscCall(TCDeckGetReal(deck, "thermal_h_mandrel_W_m2K", &rp.h_mandrel_W_m2K));
  PetscCall(TCDeckGetReal(deck, "thermal_tol_K", &rp.T_tol_K));
  PetscCall(TCDeckGetEnum(deck, "linear_solver", &rp.linear_solver));
  for (int k = 0; k < 5; k++) {
    const char *gk[5] = {"cell_nx_n", "cell_nx_s", "cell_nx_p", "cell_nr_n", "cell_nr_p"};
    PetscCall(TCDeckGetInt(deck, gk[k], &grid[k]));
  }
  PetscCall(TCDeckGetReal(deck, "tab_contact_ohm_m", &np.tab_ohm_m));
  PetscCall(TCDeckGetString(deck, "abuse", abuse_name, sizeof(abuse_name), &has_abuse));
  PetscCall(TCDeckGetReal(deck, "abuse_soc", &rp.abuse_soc));
  PetscCall(TCDeckGetReal(deck, "oven_temperature", &rp.oven_T_K));
  PetscCall(TCDeckGetReal(deck, "oven_ramp_K_min", &rp.oven_ramp_K_s));
  rp.oven_ramp_K_s /= 60;
  rp.dT_max_K = has_abuse ? 5 : 0;
  PetscCall(TCDeckGetReal(deck, "thermal_dT_max_K", &rp.dT_max_K));
  PetscCall(TCDeckGetReal(deck, "runaway_rate_K_min", &rp.runaway_rate_K_s));
  rp.runaway_rate_K_s /= 60;
  rp.echem_T_max_K = has_abuse ? 373.15 : 0;
  PetscCall(TCDeckGetReal(deck, "echem_T_max_K", &rp.echem_T_max_K));
  {
    PetscReal rs = -1, th = 0, zs = NAN;
    PetscBool hz;
    PetscCall(TCDeckGetReal(deck, "short_r_m", &rs));
    PetscCall(TCDeckGetReal(deck, "short_theta_rad", &th));
    PetscCall(TCDeckGetReal(deck, "short_z_m", &zs));
    PetscCall(TCDeckGetReal(deck, "short_resistance_ohm", &rp.short_ohm));
    hz           = (PetscBool)!isnan(zs);
    rp.has_short = (PetscBool)(rs >= 0);
    PetscCheck(rp.has_short || !hz, comm, PETSC_ERR_USER_INPUT,
               "short_z_m is given without short_r_m: an internal short needs its radius");
    short_rtz[0] = rs;
    short_rtz[1] = th;
    short_rtz[2] = hz ? zs : -1; /* mid-height, once the spiral is known */
  }
  {
    PetscReal hr = -1, hz = NAN;
    PetscCall(TCDeckGetReal(deck, "heater_r_m", &hr));
    PetscCall(TCDeckGetReal(deck, "heater_theta_rad", &heater_rtz[1]));
    PetscCall(TCDeckGetReal(deck, "heater_z_m", &hz));
    PetscCall(TCDeckGetReal(deck, "heater_radius_m", &rp.heater_radius_m));
    PetscCall(TCDeckGetReal(deck, "heater_power_W", &rp.heater_power_W));
    PetscCall(TCDeckGetReal(deck, "heater_time_s", &rp.heater_time_s));
    rp.has_heater = (PetscBool)(hr >= 0);
    heater_rtz[0] = hr;
    heater_rtz[2] = isnan(hz) ? -1 : hz;
  }
  PetscCall(TCDeckGetReal(deck, "dt_max_s", &opt.dt_max_s));
  PetscCall(TCDeckGetReal(deck, "tol_V", &opt.tol_V));
  PetscCall(TCDeckGetReal(deck, "dt_fixed_s", &opt.dt_fixed_s));
  PetscCall(TCDeckGetReal(deck, "output_interval_s", &m.interval));
  PetscCall(TCDeckGetBool(deck, "plots", &plots));
  PetscCall(TCDeckGetString(deck, "plot_times_s", plot_times, sizeof(plot_times), &set));
  PetscCall(TCCellParamsLoad(params, &p));
  Tamb = p.T_amb;
  PetscCall(TCDeckGetReal(deck, "ambient_temperature", &Tamb));
  rp.rho_cp_J_m3K = p.rho_cp_J_m3K;
  h_can           = p.h_W_m2K;
  PetscCall(TCDeckGetReal(deck, "thermal_rho_cp_J_m3K", &rp.rho_cp_J_m3K));
  PetscCall(TCDeckGetReal(deck, "thermal_h_can_W_m2K", &h_can));
  h_end = h_can;
  PetscCall(TCDeckGetReal(deck, "thermal_h_end_W_m2K", &h_end));
  PetscCheck(thermal == 0 || rp.rho_cp_J_m3K > 0, comm, PETSC_ERR_USER_INPUT,
             "the thermal network needs a heat capacity: %s has no density and specific heat; "
             "set thermal_rho_cp_J_m3K (or thermal: isothermal)",
             p.source);
  PetscCall(RollCheckStack(comm, "negative coating", sp.t_neg_m, p.neg.L_m,
                           "spiral_neg_thickness_m", p.source));
  PetscCall(RollCheckStack(comm, "positive coating", sp.t_pos_m, p.pos.L_m,
                           "spiral_pos_thickness_m", p.source));
  PetscCall(
      RollCheckStack(comm, "separator", sp.t_sep_m, p.L_sep_m, "spiral_sep_thickness_m", p.source));
  for (char *c = expt; *c; c++) /* a YAML list arrives comma-joined */
    if (*c == ',') *c = ';';
  PetscCall(TCExperimentCreate(&exp));
  PetscCall(TCExperimentAdd(exp, expt));
  PetscCall(TCExperimentGetNumSteps(exp, &m.nexp));
  m.total_s = 0;
  for (PetscInt s = 0; s < m.nexp; s++) {
    PetscReal d;
    PetscCall(TCExperimentGetStep(exp, s, NULL, &d));
    m.total_s = (d > 0 && m.total_s >= 0) ? m.total_s + d : -1;
  }
  if (m.total_s < 0) m.total_s = 3600; /* a cut-off ends it: about an hour at 1C */
  opt.lumped    = PETSC_FALSE;
  opt.T_amb_K   = Tamb;
  opt.dt_init_s = 1.0;

  PetscCall(TCSpiralCreate(comm, &spiral));
  PetscCall(TCSpiralSetParams(spiral, &sp));
  PetscCall(TCSpiralSetUp(spiral));
  np.ds_m           = ds;
  np.asr_ohm_m2     = 1; /* element edges carry G = area */
  np.terminals      = PETSC_TRUE;
  np.element_weight = model == 0 ? 2 : model == 1 ? 10 : 100;
  PetscCall(TCRollNetFromSpiral(comm, spiral, nz, &np, &net));
  PetscCall(TCRollNetGetSizes(net, ns, &NL, &nel));

  PetscCall(TCCellCreate(PETSC_COMM_SELF, &cell));
  PetscCall(TCCellSetParams(cell, &p));
  PetscCall(TCCellSetModel(cell, (TCCellModel)model));
  PetscCall(TCCellSetGrid(cell, grid[0], grid[1], grid[2], grid[3], grid[4]));
  PetscCall(TCCellSetTolerances(cell, 1e-12, 30)); /* below the network's charge balance */
  PetscCall(TCCellSetFromOptions(cell));
  PetscCall(TCCellSetUp(cell));

  rp.thermal      = thermal == 1 ? PETSC_TRUE : PETSC_FALSE;
  rp.h_can_W_m2K  = h_can;
  rp.h_end_W_m2K  = h_end;
  rp.T_amb_K      = Tamb;
  rp.T_init_K     = Tamb;
  rp.t_node_m[0]  = sp.t_cu_m + 2 * sp.t_neg_m + sp.t_sep_m;
  rp.t_node_m[1]  = sp.t_al_m + 2 * sp.t_pos_m + sp.t_sep_m;
  rp.d_elem_m     = 0.5 * (sp.t_cu_m + sp.t_al_m) + sp.t_neg_m + sp.t_sep_m + sp.t_pos_m;
  rp.sigma_t_S[0] = sp.sigma_cu_S_m * sp.t_cu_m;
  rp.sigma_t_S[1] = sp.sigma_al_S_m * sp.t_al_m;
  rp.centre_m[0]  = sp.centre_m[0];
  rp.centre_m[1]  = sp.centre_m[1];
  rp.pitch_m      = TCSpiralPitch(spiral);
  if (has_abuse) {
    PetscCheck(thermal == 1, comm, PETSC_ERR_USER_INPUT,
               "abuse reactions need the thermal network (thermal: network)");
    PetscCall(TCAbuseSetLoad(abuse_name, &abuse));
    rp.abuse = abuse;
  }
  PetscCheck(rp.oven_T_K <= 0 || thermal == 1, comm, PETSC_ERR_USER_INPUT,
             "an oven test needs the thermal network (thermal: network)");
  PetscCheck(!rp.has_heater || thermal == 1, comm, PETSC_ERR_USER_INPUT,
             "a heater needs the thermal network (thermal: network)");
  if (rp.has_heater) {
    rp.heater_xyz_m[0] = sp.centre_m[0] + heater_rtz[0] * cos(heater_rtz[1]);
    rp.heater_xyz_m[1] = sp.centre_m[1] + heater_rtz[0] * sin(heater_rtz[1]);
    rp.heater_xyz_m[2] = heater_rtz[2] >= 0 ? heater_rtz[2] : 0.5 * sp.height_m;
  }
  if (rp.has_short) {
    rp.short_xyz_m[0] = sp.centre_m[0] + short_rtz[0] * cos(short_rtz[1]);
    rp.short_xyz_m[1] = sp.centre_m[1] + short_rtz[0] * sin(short_rtz[1]);
    rp.short_xyz_m[2] = short_rtz[2] >= 0 ? short_rtz[2] : 0.5 * sp.height_m;
  }
  PetscCall(TCRollCreate(net, cell, &p, &rp, &roll));
  PetscCall(TCRollSetFromOptions(roll));
  PetscCall(TCRollGetSystem(roll, &sys));
  PetscCall(TCPrintf(
      comm,
      "  roll: %s, %.2f turns, %" PetscInt_FMT " + %" PetscInt_FMT " foil nodes x %" PetscInt_FMT
      " layers, %" PetscInt_FMT " %s elements, 1C = %.3f A; %s\n",
      sp.height_m > 0.06 ? "21700-size" : "18650-size",
      (double)TCSpiralFoilWindings(spiral, TC_FOIL_AL), ns[0], ns[1], NL, nel, TCCellModels[model],
      (double)sys.I1C_A, rp.thermal ? "thermal network" : "isothermal"));

  PetscCall(PetscMalloc1(PetscMax(sys.nstate, 1), &state));
  PetscCall(TCRollStateInit(roll, soc, state));
  PetscCall(TCPrintf(comm, "  experiment: %s\n", expt));

  /* monitor */
  m.comm  = comm;
  m.roll  = roll;
  m.state = state;
  PetscCall(TCRollGetGraph(roll, &m.g));
  for (int q = 0; q < TC_ROLL_NFIELDS; q++) PetscCall(TCGraphCreateVec(m.g, &m.f[q]));
  {
    Vec vin;
    PetscCall(TCGraphNodesToInput(m.g, m.f[0], &vin));
    PetscCall(VecGetLocalSize(vin, &m.nin));
    PetscCall(VecGetOwnershipRange(vin, &m.in0, NULL));
    PetscCall(VecGetSize(vin, &m.Nin));
    PetscCall(VecDestroy(&vin));
  }
  m.next_out = 0;
  m.het_max  = 0;
  m.nstate   = sys.nstate;
  PetscCall(TCDeckGetEffective(deck, &config));
  m.config = config;
  /* a restart is checked completely before any output is touched */
  if (restarting) {
    PetscCall(RollCheckpointRead(&m, restart, &cur, state));
    PetscCall(TCPrintf(comm,
                       "  restarting from %s at t = %.2f s (experiment step %d, %d steps done)\n",
                       restart, (double)cur.t_s, (int)cur.step + 1, (int)cur.sum.nsteps));
  }
  PetscCall(TCOutputPrepareDir(comm, outdir));
  PetscCall(TCPathJoin(outdir, "checkpoint.h5", m.rc.path, sizeof(m.rc.path)));
  PetscCall(TCRunControlInstall(comm, &m.rc));
  m.t_print = m.rc.t_start;
  PetscCall(PetscTime(&t1));
  PetscCall(TCExperimentRunSystem(exp, &sys, &opt, restarting ? &cur : NULL, state, RollMonitor, &m,
                                  RollHook, &m, &sum, &stopped));
  PetscCall(PetscTime(&t2));
  PetscCall(TCRunControlRestore(&m.rc));
  if (stopped) {
    PetscCall(TCRunControlReportStop(comm, &m.rc, "tomocell run", sum.t_end_s, sum.nsteps));
    goto cleanup;
  }
  if (m.snap_t[m.nsnap - 1] < sum.t_end_s) PetscCall(RollSnapshot(&m, sum.t_end_s));
  PetscCall(TCRollGetStats(roll, state, &st));
  PetscCall(TCPrintf(comm,
                     "  done: %" PetscInt_FMT " steps (%" PetscInt_FMT " rejected), t = %.1f s, "
                     "%.4f Ah, V_end %.4f V, T_max %.2f K, heterogeneity %.3f, min anode %.4f V\n",
                     sum.nsteps, sum.nrejected, (double)sum.t_end_s, (double)sum.capacity_Ah,
                     (double)st.V_V, (double)m.Tmax, (double)m.het_max, (double)m.amin));
  if (!isnan(st.runaway_onset_s))
    PetscCall(TCPrintf(
        comm,
        "  RUNAWAY at t = %.1f s at r = %.2f mm, theta = %.2f rad, z = %.1f mm; peak "
        "%.1f K\n",
        (double)st.runaway_onset_s, (double)(1e3 * st.runaway_r_m), (double)st.runaway_theta_rad,
        (double)(1e3 * st.runaway_z_m), (double)st.runaway_peak_K));
  else if (rp.abuse)
    PetscCall(TCPrintf(comm, "  no runaway (peak %.2f K)\n", (double)st.runaway_peak_K));
  {
    char eb[64] = "n/a (isothermal)";
    if (!isnan(st.energy_balance)) snprintf(eb, sizeof(eb), "%.2e", (double)st.energy_balance);
    PetscCall(TCPrintf(comm, "  balance (relative): charge %.2e, energy %s; %.2f s stepping\n",
                       (double)st.charge_balance_max, eb, (double)(t2 - t1)));
  }

  /* outputs */
  {
    char        h5path[PETSC_MAX_PATH_LEN], *effective;
    TCField     nf[TC_ROLL_NFIELDS];
    TCRunMeta   meta;
    const char *dtext;
    PetscCall(TCRollNodeFields(roll, state, m.f));
    for (int q = 0; q < TC_ROLL_NFIELDS; q++) {
      nf[q].name = TCRollFieldNames[q];
      nf[q].v    = m.f[q];
    }
    w.net       = net;
    w.m         = &m;
    w.centre[0] = sp.centre_m[0];
    w.centre[1] = sp.centre_m[1];
    w.ns[0]     = ns[0];
    w.ns[1]     = ns[1];
    w.NL        = NL;
    PetscCall(TCDeckGetEffective(deck, &effective));
    PetscCall(TCDeckGetText(deck, &dtext));
    meta.command   = "run";
    meta.deck_path = deck_path;
    meta.deck_text = dtext;
    meta.options   = effective;
    PetscCall(TCPathJoin(outdir, "results.h5", h5path, sizeof(h5path)));
    PetscCall(TCResultsWriteNetworkFile(m.g, h5path, nf, TC_ROLL_NFIELDS, NULL, 0, &meta,
                                        RollWriteExtra, &w, TCRollNetExtraFields, 7));
    PetscCall(PetscFree(effective));
    PetscCall(RollWriteSeriesXdmf(outdir, &m, &w));
    PetscCall(RollWriteCSV(outdir, &m));
  }
  PetscCall(PetscTime(&t3));
  PetscCall(TCPeakRSS(comm, &rss, NULL));
  {
    char  path[PETSC_MAX_PATH_LEN];
    FILE *fp;
    PetscCall(TCPathJoin(outdir, "summary.json", path, sizeof(path)));
    PetscCall(TCOutputFOpen(comm, path, &fp));
    if (fp) {
      TCJson js;
      TCJsonBegin(&js, fp);
      TCJsonString(&js, "tomocell_version", TC_VERSION);
      TCJsonString(&js, "command", "run");
      TCJsonString(&js, "deck", deck_path);
      TCJsonString(&js, "job", "roll");
      TCJsonInt(&js, "ranks", size);
      TCJsonString(&js, "model", TCCellModels[model]);
      TCJsonString(&js, "params", p.source);
      TCJsonString(&js, "experiment", expt);
      TCJsonString(&js, "thermal", rp.thermal ? "network" : "isothermal");
      TCJsonObjectBegin(&js, "network");
      TCJsonInt(&js, "cu_nodes_per_layer", ns[0]);
      TCJsonInt(&js, "al_nodes_per_layer", ns[1]);
      TCJsonInt(&js, "layers", NL);
      TCJsonInt(&js, "elements", nel);
      TCJsonReal(&js, "element_area_m2", sys.I1C_A / p.Q_nom_Ah * p.area_m2);
      TCJsonReal(&js, "turns", TCSpiralFoilWindings(spiral, TC_FOIL_AL));
      TCJsonObjectEnd(&js);
      TCJsonReal(&js, "one_c_A", sys.I1C_A);
      TCJsonReal(&js, "capacity_Ah", sum.capacity_Ah);
      TCJsonReal(&js, "discharged_Ah", sum.discharged_Ah);
      TCJsonReal(&js, "charged_Ah", sum.charged_Ah);
      TCJsonReal(&js, "energy_Wh", sum.energy_Wh);
      TCJsonReal(&js, "final_voltage_V", st.V_V);
      TCJsonReal(&js, "final_time_s", sum.t_end_s);
      TCJsonReal(&js, "T_max_K", m.Tmax);
      TCJsonObjectBegin(&js, "hotspot");
      TCJsonReal(&js, "r_m", m.Tmax_loc[0]);
      TCJsonReal(&js, "theta_rad", m.Tmax_loc[1]);
      TCJsonReal(&js, "z_m", m.Tmax_loc[2]);
      TCJsonReal(&js, "time_s", m.Tmax_t);
      TCJsonReal(&js, "T_K", m.Tmax);
      TCJsonObjectEnd(&js);
      TCJsonReal(&js, "T_mean_final_K", st.T_mean_K);
      TCJsonReal(&js, "current_heterogeneity", m.het_max);
      TCJsonReal(&js, "current_heterogeneity_time_s", m.het_t);
      TCJsonReal(&js, "min_anode_potential_V", m.amin);
      TCJsonObjectBegin(&js, "min_anode_potential");
      TCJsonReal(&js, "V", m.amin);
      TCJsonReal(&js, "r_m", m.amin_loc[0]);
      TCJsonReal(&js, "theta_rad", m.amin_loc[1]);
      TCJsonReal(&js, "z_m", m.amin_loc[2]);
      TCJsonReal(&js, "time_s", m.amin_t);
      TCJsonReal(&js, "current_density_A_m2", m.amin_i);
      TCJsonObjectEnd(&js);
      TCJsonReal(&js, "plating_time_s", m.plating_s);
      TCJsonObjectBegin(&js, "runaway");
      TCJsonString(&js, "criterion", "dT/dt above rate_K_min at any thermal node");
      TCJsonReal(&js, "rate_K_min", 60 * rp.runaway_rate_K_s);
      TCJsonReal(&js, "onset_time_s", st.runaway_onset_s);
      TCJsonObjectBegin(&js, "onset_location");
      TCJsonReal(&js, "r_m", st.runaway_r_m);
      TCJsonReal(&js, "theta_rad", st.runaway_theta_rad);
      TCJsonReal(&js, "z_m", st.runaway_z_m);
      TCJsonObjectEnd(&js);
      TCJsonReal(&js, "peak_temperature_K", isnan(st.runaway_onset_s) ? NAN : st.runaway_peak_K);
      TCJsonReal(&js, "abuse_heat_J", st.abuse_J);
      TCJsonObjectEnd(&js);
      if (rp.has_short) {
        PetscReal xyz[3], dist;
        PetscCall(TCRollGetShort(roll, xyz, &dist));
        TCJsonObjectBegin(&js, "short");
        TCJsonReal(&js, "r_m", hypot(xyz[0] - sp.centre_m[0], xyz[1] - sp.centre_m[1]));
        TCJsonReal(&js, "theta_rad", atan2(xyz[1] - sp.centre_m[1], xyz[0] - sp.centre_m[0]));
        TCJsonReal(&js, "z_m", xyz[2]);
        TCJsonReal(&js, "resistance_ohm", rp.short_ohm);
        TCJsonReal(&js, "distance_to_element_m", dist);
        TCJsonReal(&js, "joule_heat_J", st.short_J);
        TCJsonObjectEnd(&js);
      }
      if (rp.oven_T_K > 0) TCJsonReal(&js, "oven_temperature_K", rp.oven_T_K);
      TCJsonReal(&js, "charge_balance_rel_error", st.charge_balance_max);
      TCJsonReal(&js, "energy_balance_rel_error", st.energy_balance);
      TCJsonObjectBegin(&js, "energy_J");
      TCJsonReal(&js, "generated", st.generated_J);
      TCJsonReal(&js, "stored", st.stored_J);
      TCJsonReal(&js, "removed", st.removed_J);
      TCJsonObjectEnd(&js);
      TCJsonObjectBegin(&js, "steps");
      TCJsonInt(&js, "accepted", sum.nsteps);
      TCJsonInt(&js, "rejected", sum.nrejected);
      TCJsonInt(&js, "newton_its", sum.newton_its);
      TCJsonInt(&js, "snapshots", m.nsnap);
      TCJsonObjectEnd(&js);
      TCJsonObjectBegin(&js, "timing_s");
      TCJsonReal(&js, "setup", t1 - t0);
      TCJsonReal(&js, "stepping", t2 - t1);
      TCJsonReal(&js, "write", t3 - t2);
      TCJsonReal(&js, "total", t3 - t0);
      TCJsonObjectEnd(&js);
      TCJsonObjectBegin(&js, "memory");
      TCJsonReal(&js, "peak_rss_bytes_all_ranks", rss);
      TCJsonReal(&js, "peak_rss_bytes_per_element", rss / (double)PetscMax(nel, 1));
      TCJsonObjectEnd(&js);
      TCJsonEnd(&js);
    }
    PetscCall(TCOutputFClose(comm, path, &fp));
  }
  if (plots) {
    PetscMPIInt rank;
    PetscCallMPI(MPI_Comm_rank(comm, &rank));
    if (rank == 0) {
      char cmd[3 * PETSC_MAX_PATH_LEN + 1200];
      int  rc;
      snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s/tools/plot_run.py' '%s' '%s'", TC_SOURCE_DIR,
               outdir, plot_times);
      rc = system(cmd);
      if (rc != 0)
        PetscCall(TCPrintf(PETSC_COMM_SELF,
                           "  note: no plots (needs /usr/bin/python3 with matplotlib and h5py, "
                           "and %s/tools/plot_run.py)\n",
                           TC_SOURCE_DIR));
    }
  }
  PetscCall(TCPrintf(comm,
                     "  wrote %s/results.h5, results.xmf, results_series.xmf, summary.json, "
                     "summary.csv (%.2f s total)\n",
                     outdir, (double)(t3 - t0)));
  if (m.rc.nckpt)
    PetscCall(TCPrintf(comm, "  %d checkpoint(s) written, %.0f bytes each, %.3f s per write\n",
                       (int)m.rc.nckpt, m.rc.ckpt_bytes, m.rc.ckpt_wall / m.rc.nckpt));
cleanup:
  PetscCall(PetscFree(config));
  for (int q = 0; q < TC_ROLL_NFIELDS; q++) {
    PetscCall(VecDestroy(&m.f[q]));
    PetscCall(PetscFree(m.snap[q]));
  }
  PetscCall(PetscFree(m.snap_t));
  PetscCall(PetscFree(m.rows));
  PetscCall(PetscFree(state));
  PetscCall(TCRollDestroy(&roll));
  PetscCall(TCCellDestroy(&cell));
  PetscCall(TCCellParamsDestroy(&p));
  PetscCall(TCExperimentDestroy(&exp));
  PetscCall(TCAbuseSetDestroy(&abuse));
  PetscCall(TCRollNetDestroy(&net));
  PetscCall(TCSpiralDestroy(&spiral));
  PetscFunctionReturn(0);
}
