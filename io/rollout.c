/*
 * What a coupled roll run records and writes (see rollout.h).
 */
#include "io/rollout.h"
#include "io/json.h"
#include "io/output.h"
#include "io/results.h"
#include "src/tc.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>

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
                                        "abuse_heat_J",
                                        "step",
                                        "cycle"};
#define NCOL ((PetscInt)(sizeof(roll_cols) / sizeof(roll_cols[0])))
#define TC_ROLL_MAX_PROBES 64

struct _p_TCRollOutput {
  MPI_Comm         comm;
  TCRoll           roll;
  TCRollGeom       geom;
  TCDeck           deck;
  TCGraph          g;
  const PetscReal *state; /* the driver's committed state (updated in place) */
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
  PetscLogDouble t_print, t_start;
  PetscBool      plots;
  char           plot_times[1024];
  /* probes: their columns follow the NCOL fixed ones (ncol in all) */
  PetscInt    nprobe, ncol;
  char        probe_name[TC_ROLL_MAX_PROBES][128];
  TCRollProbe probe[TC_ROLL_MAX_PROBES];
};

/* the monitor's scalars, for checkpoints (every one: restarts are bit-for-bit) */
#define ROLL_MON_REALS(X)                                                                          \
  X(Tmax)                                                                                          \
  X(Tmax_t)                                                                                        \
  X(Tmax_loc[0])                                                                                   \
  X(Tmax_loc[1])                                                                                   \
  X(Tmax_loc[2])                                                                                   \
  X(het_max) X(het_t) X(amin) X(amin_t) X(amin_loc[0]) X(amin_loc[1]) X(amin_loc[2]) X(amin_i)     \
      X(plating_s) X(t_prev) X(a_prev) X(next_out)

/* The node fields for output. The two external terminal nodes carry no
   thermal unknown (TCRollNodeFields gives them NaN); they are written at the
   ambient temperature of the moment, so that max/min over a field are numbers. */
static PetscErrorCode RollNodeFields(TCRollOutput m)
{
  TCRollStats  st;
  PetscScalar *v;
  PetscInt     n;

  PetscFunctionBeginUser;
  PetscCall(TCRollNodeFields(m->roll, m->state, m->f));
  PetscCall(TCRollGetStats(m->roll, m->state, &st));
  PetscCall(VecGetLocalSize(m->f[TC_ROLL_TEMPERATURE], &n));
  PetscCall(VecGetArray(m->f[TC_ROLL_TEMPERATURE], &v));
  for (PetscInt i = 0; i < n; i++)
    if (PetscIsNanReal(PetscRealPart(v[i]))) v[i] = st.T_amb_K;
  PetscCall(VecRestoreArray(m->f[TC_ROLL_TEMPERATURE], &v));
  PetscFunctionReturn(0);
}

static PetscErrorCode RollSnapshot(TCRollOutput m, PetscReal t)
{
  PetscFunctionBeginUser;
  if (m->nsnap == m->capsnap) {
    m->capsnap = PetscMax(16, 2 * m->capsnap);
    PetscCall(PetscRealloc(sizeof(PetscReal) * m->capsnap, &m->snap_t));
    for (int q = 0; q < TC_ROLL_NFIELDS; q++)
      PetscCall(PetscRealloc(sizeof(PetscReal) * m->capsnap * PetscMax(m->nin, 1), &m->snap[q]));
  }
  PetscCall(RollNodeFields(m));
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

PetscErrorCode TCRollOutputMonitor(const TCExperimentPoint *pt, const TCCellResult *res, void *ctx)
{
  TCRollOutput   m = (TCRollOutput)ctx;
  TCRollStats    st;
  PetscReal     *row;
  PetscLogDouble now;

  PetscFunctionBeginUser;
  PetscCall(TCRollGetStats(m->roll, m->state, &st));
  if (m->nrow == m->caprow) {
    m->caprow = PetscMax(256, 2 * m->caprow);
    PetscCall(PetscRealloc(sizeof(PetscReal) * m->caprow * m->ncol, &m->rows));
  }
  row = m->rows + m->nrow * m->ncol;
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
                     st.abuse_J,
                     (PetscReal)(pt->step + 1), /* experiment step and cycle, from 1 */
                     (PetscReal)(pt->cycle + 1)};
    PetscCall(PetscArraycpy(row, v, NCOL));
  }
  PetscCall(TCRollProbeTemperatures(m->roll, m->state, m->nprobe, m->probe, row + NCOL));
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
    /* the next multiple of the interval after t (a loop of additions would
       not end when the interval is below the resolution of t) */
    if (m->next_out <= pt->t_s + 1e-9)
      m->next_out += m->interval * PetscMax(1, PetscFloorReal((pt->t_s + 1e-9 - m->next_out) / m->interval) + 1);
    if (m->next_out <= pt->t_s) m->next_out = pt->t_s + m->interval;
  }
  PetscCall(PetscTime(&now));
  if (now - m->t_start >= 2 && now - m->t_print >= 2) {
    char pct[64] = "", eta[64] = "";
    if (m->total_s > 0) {
      PetscReal frac = pt->t_s / m->total_s;
      snprintf(pct, sizeof(pct), ", %.1f%% done", (double)(100 * frac));
      if (frac > 0)
        snprintf(eta, sizeof(eta), ", ETA %.0f s",
                 (double)((now - m->t_start) * (1 - frac) / frac));
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

/* ---- results.h5: the network, final fields, time series --------------------------- */

static PetscErrorCode RollWriteStepViews(MPI_Comm comm, const char path[], void *ctx);

static PetscErrorCode RollWriteExtra(TCH5 *h5, void *ctx)
{
  TCRollOutput m      = (TCRollOutput)ctx;
  const TCRollGeomInfo *gi;
  TCRollNet   net;
  hsize_t     dims[2] = {(hsize_t)m->nsnap, (hsize_t)m->Nin}, dt[1] = {(hsize_t)m->nsnap};
  PetscMPIInt rank;
  char        name[192]; /* "/probes/T_" + a probe name of up to 127 characters + "_K" */

  PetscFunctionBeginUser;
  PetscCall(TCRollGeomGetInfo(m->geom, &gi));
  PetscCall(TCRollGeomGetNetwork(m->geom, &net));
  PetscCallMPI(MPI_Comm_rank(m->comm, &rank));
  PetscCall(TCRollNetWriteExtra(h5, net));
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
    PetscInt NS = gi->ns[0] + gi->ns[1], nc = 0, nv = gi->layers > 1 ? 4 : 2;
    int     *cells = NULL;
    hsize_t  dc[2];
    if (rank == 0) {
      PetscInt cap = 0;
      for (int f = 0; f < 2; f++) cap += (gi->ns[f] - 1) * PetscMax(gi->layers - 1, 1);
      PetscCall(PetscMalloc1(nv * PetscMax(cap, 1), &cells));
      for (int f = 0; f < 2; f++) {
        PetscInt off = f ? gi->ns[0] : 0;
        for (PetscInt k = 0; k < PetscMax(gi->layers - 1, 1); k++)
          for (PetscInt i = 0; i + 1 < gi->ns[f]; i++) {
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
  PetscCall(TCH5WriteAttrReals(h5, "/", "roll_centre_m", 2, gi->centre_m));
  if (m->nprobe) {
    hsize_t    dr[1] = {(hsize_t)m->nrow};
    PetscReal *col;
    PetscCall(TCH5EnsureGroup(h5, "/probes"));
    PetscCall(PetscMalloc1(PetscMax(m->nrow, 1), &col));
    for (PetscInt c = -1; c < m->nprobe; c++) {
      PetscInt j = c < 0 ? 0 : NCOL + c; /* time_s, then the probes' columns */
      for (PetscInt r = 0; r < m->nrow; r++) col[r] = m->rows[r * m->ncol + j];
      if (c < 0)
        snprintf(name, sizeof(name), "/probes/time_s");
      else
        snprintf(name, sizeof(name), "/probes/T_%s_K", m->probe_name[c]);
      PetscCall(TCH5WriteRows(h5, name, H5T_NATIVE_DOUBLE, 1, dr, 0, rank == 0 ? dr[0] : 0, col));
      if (c >= 0) {
        const TCRollProbe *p = &m->probe[c];
        PetscCall(TCH5WriteAttrReal(h5, name, "r_m", p->rtz[0]));
        PetscCall(TCH5WriteAttrReal(h5, name, "theta_rad", p->rtz[1]));
        PetscCall(TCH5WriteAttrReal(h5, name, "z_m", p->rtz[2]));
        PetscCall(TCH5WriteAttrReal(h5, name, "node_r_m", p->node_rtz[0]));
        PetscCall(TCH5WriteAttrReal(h5, name, "node_theta_rad", p->node_rtz[1]));
        PetscCall(TCH5WriteAttrReal(h5, name, "node_z_m", p->node_rtz[2]));
        PetscCall(TCH5WriteAttrReal(h5, name, "distance_m", p->dist_m));
      }
    }
    PetscCall(PetscFree(col));
  }
  PetscFunctionReturn(0);
}

/* /steps/tNNNN/<field>: one 1-D HDF5 virtual dataset per snapshot and field,
   a view of row NNNN of /series/<field> (no data is copied). XDMF readers that
   do not take hyperslabs of a 2-D dataset (ParaView's Xdmf3 readers, meshio)
   read these. Created on rank 0 in the closed file (path) reopened with the
   serial driver: with the MPI-IO driver every virtual dataset's creation
   duplicates the communicator twice (H5FD_mpi_comm_info_dup), ~150 us each,
   0.1 s for the 671 views of a Tranter-size run (11 % of it). Collective: the
   outcome reaches every rank. */
static PetscErrorCode RollWriteStepViews(MPI_Comm comm, const char path[], void *ctx)
{
  TCRollOutput m   = (TCRollOutput)ctx;
  PetscMPIInt  rank;
  int          err = 0; /* 1: open, 2: a view, 3: close */
  char         what[160] = "";

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    hsize_t vdim[1] = {(hsize_t)m->Nin}, sdim[2] = {(hsize_t)m->nsnap, (hsize_t)m->Nin};
    hid_t   file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (file < 0 || lcpl < 0) err = 1;
    if (!err) H5Pset_create_intermediate_group(lcpl, 1);
    for (PetscInt s = 0; !err && s < m->nsnap; s++)
      for (int q = 0; !err && q < TC_ROLL_NFIELDS; q++) {
        char    src[128];
        hsize_t start[2] = {(hsize_t)s, 0}, count[2] = {1, (hsize_t)m->Nin};
        hid_t   vspace = H5Screate_simple(1, vdim, NULL), sspace = H5Screate_simple(2, sdim, NULL);
        hid_t   dcpl = H5Pcreate(H5P_DATASET_CREATE), d = -1;
        herr_t  e    = -1;
        snprintf(src, sizeof(src), "/series/%s", TCRollFieldNames[q]);
        snprintf(what, sizeof(what), "/steps/t%04lld/%s", (long long)s, TCRollFieldNames[q]);
        if (vspace >= 0 && sspace >= 0 && dcpl >= 0 &&
            H5Sselect_hyperslab(sspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
            H5Pset_virtual(dcpl, vspace, ".", src, sspace) >= 0) {
          d = H5Dcreate2(file, what, H5T_NATIVE_DOUBLE, vspace, lcpl, dcpl, H5P_DEFAULT);
          if (d >= 0) e = H5Dclose(d);
        }
        if (dcpl >= 0) H5Pclose(dcpl);
        if (sspace >= 0) H5Sclose(sspace);
        if (vspace >= 0) H5Sclose(vspace);
        if (e < 0) err = 2;
      }
    if (lcpl >= 0) H5Pclose(lcpl);
    if (file >= 0 && H5Fclose(file) < 0 && !err) err = 3;
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PetscCallMPI(MPI_Bcast(what, (PetscMPIInt)sizeof(what), MPI_CHAR, 0, comm));
  PetscCheck(err != 1, comm, PETSC_ERR_FILE_WRITE, "cannot reopen %s to add the per-step views",
             path);
  PetscCheck(err != 2, comm, PETSC_ERR_FILE_WRITE, "cannot create the view %s in %s", what, path);
  PetscCheck(err != 3, comm, PETSC_ERR_FILE_WRITE, "cannot close %s after adding the per-step views",
             path);
  PetscFunctionReturn(0);
}

/* results_series.xmf: a temporal collection over the snapshots */
static PetscErrorCode RollWriteSeriesXdmf(const char outdir[], TCRollOutput m)
{
  const TCRollGeomInfo *gi;
  char     path[PETSC_MAX_PATH_LEN];
  FILE    *fp;
  PetscInt nc = 0, nv;

  PetscFunctionBeginUser;
  PetscCall(TCRollGeomGetInfo(m->geom, &gi));
  nv = gi->layers > 1 ? 4 : 2;
  for (int f = 0; f < 2; f++) nc += (gi->ns[f] - 1) * PetscMax(gi->layers - 1, 1);
  PetscCall(TCPathJoin(outdir, "results_series.xmf", path, sizeof(path)));
  PetscCall(TCOutputFOpen(m->comm, path, &fp));
  if (fp) {
    fprintf(fp, "<?xml version=\"1.0\" ?>\n<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n"
                "<Xdmf Version=\"3.0\">\n  <Domain>\n"
                "    <Grid Name=\"roll\" GridType=\"Collection\" CollectionType=\"Temporal\">\n");
    for (PetscInt s = 0; s < m->nsnap; s++) {
      fprintf(fp, "      <Grid Name=\"t%lld\" GridType=\"Uniform\">\n", (long long)s);
      fprintf(fp, "        <Time Value=\"%.17g\"/>\n", (double)m->snap_t[s]);
      fprintf(fp,
              "        <Topology TopologyType=\"%s\" NumberOfElements=\"%lld\"%s>\n"
              "          <DataItem Dimensions=\"%lld %lld\" NumberType=\"Int\" Precision=\"4\" "
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
                "        <Attribute Name=\"%s\" AttributeType=\"Scalar\" Center=\"Node\">\n"
                "          <DataItem Dimensions=\"%lld\" NumberType=\"Float\" Precision=\"8\" "
                "Format=\"HDF\">results.h5:/steps/t%04lld/%s</DataItem>\n"
                "        </Attribute>\n",
                TCRollFieldNames[q], (long long)m->Nin, (long long)s, TCRollFieldNames[q]);
      fprintf(fp, "      </Grid>\n");
    }
    fprintf(fp, "    </Grid>\n  </Domain>\n</Xdmf>\n");
  }
  PetscCall(TCOutputFClose(m->comm, path, &fp));
  PetscFunctionReturn(0);
}

static PetscErrorCode RollWriteCSV(const char outdir[], TCRollOutput m)
{
  char  path[PETSC_MAX_PATH_LEN];
  FILE *fp;

  PetscFunctionBeginUser;
  PetscCall(TCPathJoin(outdir, "summary.csv", path, sizeof(path)));
  PetscCall(TCOutputFOpen(m->comm, path, &fp));
  if (fp) {
    for (PetscInt c = 0; c < m->ncol; c++) {
      if (c < NCOL)
        fprintf(fp, "%s", roll_cols[c]);
      else
        fprintf(fp, "T_%s_K", m->probe_name[c - NCOL]);
      fprintf(fp, "%s", c + 1 < m->ncol ? "," : "\n");
    }
    for (PetscInt r = 0; r < m->nrow; r++)
      for (PetscInt c = 0; c < m->ncol; c++)
        fprintf(fp, "%.10g%s", (double)m->rows[r * m->ncol + c], c + 1 < m->ncol ? "," : "\n");
  }
  PetscCall(TCOutputFClose(m->comm, path, &fp));
  PetscFunctionReturn(0);
}


/* ---- the object ------------------------------------------------------------------------ */

PetscErrorCode TCRollOutputCreate(TCRoll roll, TCRollGeom geom, TCDeck deck,
                                  const PetscReal *state, TCRollOutput *out)
{
  TCRollOutput m;
  Vec          vin;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&m));
  m->roll  = roll;
  m->geom  = geom;
  m->deck  = deck;
  m->state = state;
  m->comm  = PETSC_COMM_WORLD;
  PetscCall(TCRollGetGraph(roll, &m->g));
  for (int q = 0; q < TC_ROLL_NFIELDS; q++) PetscCall(TCGraphCreateVec(m->g, &m->f[q]));
  PetscCall(TCGraphNodesToInput(m->g, m->f[0], &vin));
  PetscCall(VecGetLocalSize(vin, &m->nin));
  PetscCall(VecGetOwnershipRange(vin, &m->in0, NULL));
  PetscCall(VecGetSize(vin, &m->Nin));
  PetscCall(PetscObjectGetComm((PetscObject)vin, &m->comm));
  PetscCall(VecDestroy(&vin));
  m->next_out = 0;
  m->ncol     = NCOL;
  m->het_max  = 0;
  m->total_s  = -1;
  *out        = m;
  PetscFunctionReturn(0);
}

/* One probe: name (a column name: letters, digits, '_') and its value, a
   named place or "r, theta, z" (a YAML list arrives comma-joined). */
static PetscErrorCode RollProbeAdd(TCRollOutput m, const char name[], const char value[])
{
  PetscReal rtz[3];
  char      v[256], *c, *end;
  int       nv = 0;

  PetscFunctionBeginUser;
  PetscCheck(name[0], m->comm, PETSC_ERR_USER_INPUT, "a probe needs a name");
  for (const char *q = name; *q; q++)
    PetscCheck(isalnum((unsigned char)*q) || *q == '_', m->comm, PETSC_ERR_USER_INPUT,
               "probe name '%s': use letters, digits and '_' (it names the column T_%s_K)", name,
               name);
  PetscCheck(strlen(name) < sizeof(m->probe_name[0]), m->comm, PETSC_ERR_USER_INPUT,
             "probe name '%s' is too long", name);
  for (PetscInt k = 0; k < m->nprobe; k++)
    PetscCheck(strcasecmp(m->probe_name[k], name), m->comm, PETSC_ERR_USER_INPUT,
               "probe '%s' is given twice", name);
  PetscCheck(m->nprobe < TC_ROLL_MAX_PROBES, m->comm, PETSC_ERR_USER_INPUT, "more than %d probes",
             TC_ROLL_MAX_PROBES);
  PetscCall(PetscStrncpy(v, value, sizeof(v)));
  for (c = v; *c == ' ' || *c == '['; c++) {}
  if (isalpha((unsigned char)*c)) {
    char *e = c + strlen(c);
    while (e > c && (e[-1] == ' ' || e[-1] == ']')) *--e = 0;
    PetscCall(TCRollProbeLocate(m->roll, c, NULL, &m->probe[m->nprobe]));
  } else {
    for (char *q = c; *q; q++)
      if (*q == ',' || *q == ']') *q = ' ';
    while (nv < 4) {
      double x = strtod(c, &end);
      if (end == c) break;
      if (nv < 3) rtz[nv] = (PetscReal)x;
      nv++;
      c = end;
    }
    while (*c == ' ') c++;
    PetscCheck(nv == 3 && !*c && rtz[0] >= 0, m->comm, PETSC_ERR_USER_INPUT,
               "probe %s = '%s': expected a named place (can_mid, can_positive_end, "
               "can_negative_end, core_mid) or a point [r_m, theta_rad, z_m] with r_m >= 0",
               name, value);
    PetscCall(TCRollProbeLocate(m->roll, NULL, rtz, &m->probe[m->nprobe]));
  }
  PetscCall(PetscStrncpy(m->probe_name[m->nprobe], name, sizeof(m->probe_name[0])));
  {
    const TCRollProbe *p = &m->probe[m->nprobe];
    PetscCall(TCPrintf(m->comm,
                       "  probe %s: (r %.2f mm, theta %.3f rad, z %.2f mm) reads the node at (r "
                       "%.2f mm, theta %.3f rad, z %.2f mm), %.2f mm away\n",
                       name, (double)(1e3 * p->rtz[0]), (double)p->rtz[1],
                       (double)(1e3 * p->rtz[2]), (double)(1e3 * p->node_rtz[0]),
                       (double)p->node_rtz[1], (double)(1e3 * p->node_rtz[2]),
                       (double)(1e3 * p->dist_m)));
  }
  m->nprobe++;
  m->ncol = NCOL + m->nprobe;
  PetscFunctionReturn(0);
}

static PetscErrorCode RollProbesFromDeck(TCRollOutput m)
{
  char        list[1024];
  PetscBool   set;
  const char *names[TC_ROLL_MAX_PROBES];
  PetscInt    n;

  PetscFunctionBeginUser;
  PetscCall(TCDeckGetString(m->deck, "probes", list, sizeof(list), &set));
  if (set) {
    for (char *tok = strtok(list, ", []"); tok; tok = strtok(NULL, ", []"))
      PetscCall(RollProbeAdd(m, tok, tok));
  }
  PetscCall(TCDeckGetPrefixed(m->deck, "probes_", &n, names, TC_ROLL_MAX_PROBES));
  for (PetscInt k = 0; k < n; k++) {
    char val[256];
    PetscCall(TCDeckGetString(m->deck, names[k], val, sizeof(val), &set));
    PetscCall(RollProbeAdd(m, names[k] + 7, val));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollOutputSetFromDeck(TCRollOutput m)
{
  PetscBool set;

  PetscFunctionBeginUser;
  PetscCall(TCDeckGetReal(m->deck, "output_interval_s", &m->interval));
  PetscCall(TCDeckGetBool(m->deck, "plots", &m->plots));
  PetscCall(TCDeckGetString(m->deck, "plot_times_s", m->plot_times, sizeof(m->plot_times), &set));
  PetscCall(RollProbesFromDeck(m));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollOutputSetProgress(TCRollOutput m, PetscInt nexp, PetscReal total_s,
                                       PetscLogDouble t_start)
{
  PetscFunctionBeginUser;
  m->nexp    = nexp;
  m->total_s = total_s;
  m->t_start = t_start;
  m->t_print = t_start;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollOutputGetFindings(TCRollOutput m, TCRollFindings *f)
{
  PetscFunctionBeginUser;
  f->T_max_K           = m->Tmax;
  f->heterogeneity_max = m->het_max;
  f->anode_min_V       = m->amin;
  f->plating_time_s    = m->plating_s;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollOutputCheckpointSave(TCRollOutput m, TCCheckpoint ck)
{
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(m->comm, &rank));
#define SAVE(f) PetscCall(TCCheckpointSetReal(ck, "mon_" #f, m->f));
  ROLL_MON_REALS(SAVE)
#undef SAVE
  PetscCall(TCCheckpointSetInt(ck, "rows", m->nrow));
  PetscCall(TCCheckpointSetInt(ck, "snapshots", m->nsnap));
  PetscCall(TCCheckpointWriteArray(ck, "series_rows", rank == 0 ? m->nrow * m->ncol : 0, m->rows));
  PetscCall(TCCheckpointWriteArray(ck, "snapshot_times", rank == 0 ? m->nsnap : 0, m->snap_t));
  for (int q = 0; q < TC_ROLL_NFIELDS; q++) {
    char name[64];
    snprintf(name, sizeof(name), "snapshot_%s", TCRollFieldNames[q]);
    PetscCall(TCCheckpointWriteArray(ck, name, m->nsnap * m->nin, m->snap[q]));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollOutputCheckpointLoad(TCRollOutput m, TCCheckpoint ck)
{
  PetscMPIInt rank;
  PetscInt64  v;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(m->comm, &rank));
#define LOAD(f) PetscCall(TCCheckpointGetReal(ck, "mon_" #f, &m->f));
  ROLL_MON_REALS(LOAD)
#undef LOAD
  PetscCall(TCCheckpointGetInt(ck, "rows", &v));
  m->nrow = m->caprow = (PetscInt)v;
  PetscCall(TCCheckpointGetInt(ck, "snapshots", &v));
  m->nsnap = m->capsnap = (PetscInt)v;
  PetscCall(PetscFree(m->rows));
  PetscCall(PetscFree(m->snap_t));
  PetscCall(PetscMalloc1(PetscMax(m->nrow * m->ncol, 1), &m->rows));
  PetscCall(PetscMalloc1(PetscMax(m->nsnap, 1), &m->snap_t));
  PetscCall(TCCheckpointReadArray(ck, "series_rows", rank == 0 ? m->nrow * m->ncol : 0, m->rows));
  PetscCall(TCCheckpointReadArray(ck, "snapshot_times", rank == 0 ? m->nsnap : 0, m->snap_t));
  PetscCallMPI(MPI_Bcast(m->rows, (PetscMPIInt)(m->nrow * m->ncol), MPIU_REAL, 0, m->comm));
  PetscCallMPI(MPI_Bcast(m->snap_t, (PetscMPIInt)m->nsnap, MPIU_REAL, 0, m->comm));
  for (int q = 0; q < TC_ROLL_NFIELDS; q++) {
    char name[64];
    snprintf(name, sizeof(name), "snapshot_%s", TCRollFieldNames[q]);
    PetscCall(PetscFree(m->snap[q]));
    PetscCall(PetscMalloc1(PetscMax(m->nsnap * m->nin, 1), &m->snap[q]));
    PetscCall(TCCheckpointReadArray(ck, name, m->nsnap * m->nin, m->snap[q]));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode RollWriteSummary(TCRollOutput m, const char outdir[], const TCRollRunDesc *d,
                                       const TCRollStats *st, PetscLogDouble t_write)
{
  char                  path[PETSC_MAX_PATH_LEN];
  FILE                 *fp;
  const TCRollGeomInfo *gi;
  const TCRollParams   *rp  = d->rp;
  const TCExperimentSummary *sum = d->sum;
  PetscMPIInt           size;
  double                rss;
  TCExperimentSystem    sys;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(m->comm, &size));
  PetscCall(TCRollGeomGetInfo(m->geom, &gi));
  PetscCall(TCRollGetSystem(m->roll, &sys));
  PetscCall(TCPeakRSS(m->comm, &rss, NULL));
  PetscCall(TCPathJoin(outdir, "summary.json", path, sizeof(path)));
  PetscCall(TCOutputFOpen(m->comm, path, &fp));
  if (fp) {
    TCJson js;
    TCJsonBegin(&js, fp);
    TCJsonString(&js, "tomocell_version", TC_VERSION);
    TCJsonString(&js, "command", "run");
    TCJsonString(&js, "deck", d->deck_path);
    TCJsonString(&js, "job", "roll");
    TCJsonInt(&js, "ranks", size);
    TCJsonString(&js, "model", d->model);
    TCJsonString(&js, "params", d->params);
    TCJsonString(&js, "experiment", d->experiment);
    TCJsonString(&js, "thermal", rp->thermal ? "network" : "isothermal");
    TCJsonString(&js, "thermal_hardware", rp->thermal && rp->hw.on ? "can" : "none");
    if (rp->thermal) {
      TCRollHeatCapacity hc;
      PetscCall(TCRollGetHeatCapacity(m->roll, &hc));
      TCJsonObjectBegin(&js, "heat_capacity_J_K");
      TCJsonReal(&js, "total", hc.total);
      TCJsonReal(&js, "roll", hc.roll);
      TCJsonReal(&js, "can_wall", hc.can_wall);
      TCJsonReal(&js, "can_bottom", hc.can_bottom);
      TCJsonReal(&js, "top_cap", hc.top_cap);
      TCJsonReal(&js, "tabs", hc.tabs);
      TCJsonReal(&js, "mandrel", hc.mandrel);
      TCJsonReal(&js, "roll_rho_cp_J_m3K", hc.roll_rho_cp_J_m3K);
      TCJsonObjectEnd(&js);
    }
    TCJsonObjectBegin(&js, "geometry");
    PetscCall(TCRollGeomWriteJSON(m->geom, &js));
    TCJsonObjectEnd(&js);
    TCJsonObjectBegin(&js, "network");
    TCJsonInt(&js, "cu_nodes_per_layer", gi->ns[0]);
    TCJsonInt(&js, "al_nodes_per_layer", gi->ns[1]);
    TCJsonInt(&js, "layers", gi->layers);
    TCJsonInt(&js, "elements", gi->elements);
    TCJsonReal(&js, "element_area_m2", sys.I1C_A / d->p->Q_nom_Ah * d->p->area_m2);
    TCJsonReal(&js, "turns", gi->turns[1]);
    TCJsonObjectEnd(&js);
    TCJsonObjectBegin(&js, "microstructure");
    if (d->micro) TCCellMicrostructureWriteJSON(d->micro, &js);
    TCJsonObjectEnd(&js);
    TCJsonReal(&js, "one_c_A", sys.I1C_A);
    TCJsonReal(&js, "capacity_Ah", sum->capacity_Ah);
    TCJsonReal(&js, "discharged_Ah", sum->discharged_Ah);
    TCJsonReal(&js, "charged_Ah", sum->charged_Ah);
    TCJsonReal(&js, "energy_Wh", sum->energy_Wh); /* net */
    TCJsonReal(&js, "discharge_energy_Wh", sum->discharge_energy_Wh);
    TCJsonReal(&js, "charge_energy_Wh", sum->charge_energy_Wh);
    TCJsonReal(&js, "final_voltage_V", st->V_V);
    TCJsonReal(&js, "final_time_s", sum->t_end_s);
    TCJsonReal(&js, "T_max_K", m->Tmax);
    TCJsonObjectBegin(&js, "hotspot");
    TCJsonReal(&js, "r_m", m->Tmax_loc[0]);
    TCJsonReal(&js, "theta_rad", m->Tmax_loc[1]);
    TCJsonReal(&js, "z_m", m->Tmax_loc[2]);
    TCJsonReal(&js, "time_s", m->Tmax_t);
    TCJsonReal(&js, "T_K", m->Tmax);
    TCJsonObjectEnd(&js);
    TCJsonReal(&js, "T_mean_final_K", st->T_mean_K);
    if (m->nprobe) {
      TCJsonObjectBegin(&js, "probes");
      for (PetscInt c = 0; c < m->nprobe; c++) {
        const TCRollProbe *p    = &m->probe[c];
        PetscReal          tmax = -PETSC_MAX_REAL, tmin = PETSC_MAX_REAL;
        for (PetscInt r = 0; r < m->nrow; r++) {
          tmax = PetscMax(tmax, m->rows[r * m->ncol + NCOL + c]);
          tmin = PetscMin(tmin, m->rows[r * m->ncol + NCOL + c]);
        }
        TCJsonObjectBegin(&js, m->probe_name[c]);
        TCJsonReal(&js, "r_m", p->rtz[0]);
        TCJsonReal(&js, "theta_rad", p->rtz[1]);
        TCJsonReal(&js, "z_m", p->rtz[2]);
        TCJsonReal(&js, "node_r_m", p->node_rtz[0]);
        TCJsonReal(&js, "node_theta_rad", p->node_rtz[1]);
        TCJsonReal(&js, "node_z_m", p->node_rtz[2]);
        TCJsonReal(&js, "distance_m", p->dist_m);
        TCJsonReal(&js, "T_initial_K", m->nrow ? m->rows[NCOL + c] : NAN);
        TCJsonReal(&js, "T_final_K", m->nrow ? m->rows[(m->nrow - 1) * m->ncol + NCOL + c] : NAN);
        TCJsonReal(&js, "T_max_K", tmax);
        TCJsonReal(&js, "T_min_K", tmin);
        TCJsonObjectEnd(&js);
      }
      TCJsonObjectEnd(&js);
    }
    TCJsonReal(&js, "current_heterogeneity", m->het_max);
    TCJsonReal(&js, "current_heterogeneity_time_s", m->het_t);
    TCJsonReal(&js, "min_anode_potential_V", m->amin);
    TCJsonObjectBegin(&js, "min_anode_potential");
    TCJsonReal(&js, "V", m->amin);
    TCJsonReal(&js, "r_m", m->amin_loc[0]);
    TCJsonReal(&js, "theta_rad", m->amin_loc[1]);
    TCJsonReal(&js, "z_m", m->amin_loc[2]);
    TCJsonReal(&js, "time_s", m->amin_t);
    TCJsonReal(&js, "current_density_A_m2", m->amin_i);
    TCJsonObjectEnd(&js);
    TCJsonReal(&js, "plating_time_s", m->plating_s);
    TCJsonObjectBegin(&js, "runaway");
    TCJsonString(&js, "criterion", "dT/dt above rate_K_min at any thermal node");
    TCJsonReal(&js, "rate_K_min", 60 * rp->runaway_rate_K_s);
    TCJsonReal(&js, "onset_time_s", st->runaway_onset_s);
    TCJsonObjectBegin(&js, "onset_location");
    TCJsonReal(&js, "r_m", st->runaway_r_m);
    TCJsonReal(&js, "theta_rad", st->runaway_theta_rad);
    TCJsonReal(&js, "z_m", st->runaway_z_m);
    TCJsonObjectEnd(&js);
    TCJsonReal(&js, "peak_temperature_K", isnan(st->runaway_onset_s) ? NAN : st->runaway_peak_K);
    TCJsonReal(&js, "abuse_heat_J", st->abuse_J);
    TCJsonObjectEnd(&js);
    if (rp->has_short) {
      PetscReal xyz[3], dist;
      PetscCall(TCRollGetShort(m->roll, xyz, &dist));
      TCJsonObjectBegin(&js, "short");
      TCJsonReal(&js, "r_m", hypot(xyz[0] - gi->centre_m[0], xyz[1] - gi->centre_m[1]));
      TCJsonReal(&js, "theta_rad", atan2(xyz[1] - gi->centre_m[1], xyz[0] - gi->centre_m[0]));
      TCJsonReal(&js, "z_m", xyz[2]);
      if (rp->short_defect >= 0) TCJsonInt(&js, "at_defect", rp->short_defect);
      TCJsonReal(&js, "resistance_ohm", rp->short_ohm);
      TCJsonReal(&js, "distance_to_element_m", dist);
      TCJsonReal(&js, "joule_heat_J", st->short_J);
      TCJsonObjectEnd(&js);
    }
    if (rp->oven_T_K > 0) TCJsonReal(&js, "oven_temperature_K", rp->oven_T_K);
    TCJsonReal(&js, "charge_balance_rel_error", st->charge_balance_max);
    TCJsonReal(&js, "energy_balance_rel_error", st->energy_balance);
    TCJsonObjectBegin(&js, "energy_J");
    TCJsonReal(&js, "generated", st->generated_J);
    TCJsonReal(&js, "stored", st->stored_J);
    TCJsonReal(&js, "removed", st->removed_J);
    TCJsonObjectEnd(&js);
    TCJsonObjectBegin(&js, "steps");
    TCJsonInt(&js, "accepted", sum->nsteps);
    TCJsonInt(&js, "experiment_steps", m->nexp);
    TCJsonInt(&js, "experiment_steps_run", sum->steps_run);
    TCJsonInt(&js, "cycles_run", sum->cycles_run);
    TCJsonInt(&js, "rejected", sum->nrejected);
    TCJsonInt(&js, "newton_its", sum->newton_its);
    TCJsonInt(&js, "snapshots", m->nsnap);
    TCJsonObjectEnd(&js);
    {
      TCRollSolverCounts c;
      PetscCall(TCRollGetSolverCounts(m->roll, &c));
      TCJsonObjectBegin(&js, "linear_solves");
      TCJsonString(&js, "newton_preconditioner",
                   c.newton_pc == TC_ROLL_SOLVER_FOIL  ? "foil"
                   : c.newton_pc == TC_ROLL_SOLVER_AMG ? "amg"
                                                       : "direct");
      TCJsonInt(&js, "newton_solves", c.newton_solves);
      TCJsonInt(&js, "newton_iterations", c.newton_its);
      TCJsonInt(&js, "newton_pc_setups", c.newton_pc_setups);
      TCJsonInt(&js, "thermal_solves", c.thermal_solves);
      TCJsonInt(&js, "thermal_iterations", c.thermal_its);
      TCJsonInt(&js, "thermal_pc_setups", c.thermal_pc_setups);
      TCJsonObjectEnd(&js);
    }
    TCJsonObjectBegin(&js, "timing_s");
    TCJsonReal(&js, "setup", d->t_setup_s);
    TCJsonReal(&js, "stepping", d->t_stepping_s);
    TCJsonReal(&js, "write", t_write);
    TCJsonReal(&js, "total", d->t_setup_s + d->t_stepping_s + t_write);
    TCJsonObjectEnd(&js);
    TCJsonObjectBegin(&js, "memory");
    TCJsonReal(&js, "peak_rss_bytes_all_ranks", rss);
    TCJsonReal(&js, "peak_rss_bytes_per_element", rss / (double)PetscMax(gi->elements, 1));
    TCJsonObjectEnd(&js);
    TCJsonEnd(&js);
  }
  PetscCall(TCOutputFClose(m->comm, path, &fp));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollOutputWrite(TCRollOutput m, const char outdir[], const TCRollRunDesc *d)
{
  char           h5path[PETSC_MAX_PATH_LEN], *effective;
  TCField        nf[TC_ROLL_NFIELDS];
  TCRunMeta      meta;
  const char    *dtext;
  TCRollStats    st;
  PetscLogDouble t0, t1;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  if (m->nsnap == 0 || m->snap_t[m->nsnap - 1] < d->sum->t_end_s)
    PetscCall(RollSnapshot(m, d->sum->t_end_s));
  PetscCall(TCRollGetStats(m->roll, m->state, &st));
  PetscCall(RollNodeFields(m));
  for (int q = 0; q < TC_ROLL_NFIELDS; q++) {
    nf[q].name = TCRollFieldNames[q];
    nf[q].v    = m->f[q];
  }
  PetscCall(TCDeckGetEffective(m->deck, &effective));
  PetscCall(TCDeckGetText(m->deck, &dtext));
  meta.command   = "run";
  meta.deck_path = d->deck_path;
  meta.deck_text = dtext;
  meta.options   = effective;
  PetscCall(TCPathJoin(outdir, "results.h5", h5path, sizeof(h5path)));
  PetscCall(TCResultsWriteNetworkFilePost(m->g, h5path, nf, TC_ROLL_NFIELDS, NULL, 0, &meta,
                                          RollWriteExtra, m, TCRollNetExtraFields, 7,
                                          RollWriteStepViews));
  PetscCall(PetscFree(effective));
  PetscCall(RollWriteSeriesXdmf(outdir, m));
  PetscCall(RollWriteCSV(outdir, m));
  PetscCall(PetscTime(&t1));
  PetscCall(RollWriteSummary(m, outdir, d, &st, t1 - t0));
  if (m->plots) {
    PetscMPIInt rank;
    PetscCallMPI(MPI_Comm_rank(m->comm, &rank));
    if (rank == 0) {
      char cmd[3 * PETSC_MAX_PATH_LEN + 1200];
      int  rc;
      snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s/tools/plot_run.py' '%s' '%s'", TC_SOURCE_DIR,
               outdir, m->plot_times);
      rc = system(cmd);
      if (rc != 0)
        PetscCall(TCPrintf(PETSC_COMM_SELF,
                           "  note: no plots (needs /usr/bin/python3 with matplotlib and h5py, "
                           "and %s/tools/plot_run.py)\n",
                           TC_SOURCE_DIR));
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollOutputDestroy(TCRollOutput *o)
{
  TCRollOutput m = *o;

  PetscFunctionBeginUser;
  if (!m) PetscFunctionReturn(0);
  for (int q = 0; q < TC_ROLL_NFIELDS; q++) {
    PetscCall(VecDestroy(&m->f[q]));
    PetscCall(PetscFree(m->snap[q]));
  }
  PetscCall(PetscFree(m->snap_t));
  PetscCall(PetscFree(m->rows));
  PetscCall(PetscFree(m));
  *o = NULL;
  PetscFunctionReturn(0);
}
