/*
 * tomocell compare RESULTS.h5 MEASURED: simulated temperature against a
 * measured XRD-CT map of the same cell (io/xrdct.h reads the map and turns
 * the Cu lattice parameter into temperature; solver/compare.h registers the
 * map to the simulated roll, samples the simulation where the map sees Cu and
 * computes the metrics). Writes, under -output (a directory): compare.json,
 * compare.h5 (the maps) and per time maps_NNN.png (measured | simulated |
 * difference) and radial_NNN.png.
 *
 * Every rank reads both files; the registration shares its pixels over the
 * ranks; the forward model and the metrics are cheap and are computed on
 * every rank; rank 0 writes.
 */
#include "src/commands.h"
#include "src/tc.h"
#include "io/deck.h"
#include "io/h5.h"
#include "io/json.h"
#include "io/output.h"
#include "io/png.h"
#include "io/xrdct.h"
#include "mesh/graph.h"
#include "solver/compare.h"
#include <math.h>

#define INF PETSC_MAX_REAL

static const TCKey compare_keys[] = {
    {"output", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "report directory (default <measured name>_compare)", PETSC_TRUE},
    {"png", TC_KEY_BOOL, "true", 0, 0, PETSC_FALSE, NULL, "write the PNG figures", PETSC_FALSE},
    {"pixel_size", TC_KEY_REAL, NULL, 0, 1, PETSC_TRUE, NULL,
     "map pixel size, m (default: from the file)", PETSC_TRUE},
    {"slice_height", TC_KEY_REAL, NULL, -INF, INF, PETSC_FALSE, NULL,
     "height z of the measured slice in the simulation frame, m (default: from the file)",
     PETSC_TRUE},
    {"time", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "time of each map, s, comma-separated (default: from the file)", PETSC_TRUE},
    {"time_offset", TC_KEY_REAL, "0", -INF, INF, PETSC_FALSE, NULL,
     "simulated time = measured time + time_offset, s", PETSC_FALSE},
    {"map_quantity", TC_KEY_ENUM, "file", 0, 0, PETSC_FALSE, "file|lattice|temperature",
     "what the map holds: Cu lattice parameter (Angstrom) or temperature (K); file: from the HDF5 "
     "dataset name",
     PETSC_FALSE},
    {"lattice_a0_A", TC_KEY_REAL, "3.6149", 0, INF, PETSC_TRUE, NULL,
     "Cu lattice parameter at lattice_T0_K, Angstrom", PETSC_FALSE},
    {"lattice_T0_K", TC_KEY_REAL, "293.15", 0, INF, PETSC_TRUE, NULL,
     "temperature of lattice_a0_A, K", PETSC_FALSE},
    {"lattice_alpha_per_K", TC_KEY_REAL, "16.5e-6", 0, 1e-3, PETSC_TRUE, NULL,
     "Cu linear thermal expansion coefficient, 1/K", PETSC_FALSE},
    {"lattice_beta_per_K2", TC_KEY_REAL, "0", -1e-6, 1e-6, PETSC_FALSE, NULL,
     "quadratic term of the thermal strain, 1/K^2", PETSC_FALSE},
    {"register", TC_KEY_ENUM, "fit", 0, 0, PETSC_FALSE, "fit|fixed",
     "fit the registration from the Cu pattern, or take the register_* values", PETSC_FALSE},
    {"register_rotation_deg", TC_KEY_REAL, "0", -360, 360, PETSC_FALSE, NULL,
     "fixed: rotation of the map into the simulation frame, degrees", PETSC_FALSE},
    {"register_shift_x_px", TC_KEY_REAL, "0", -INF, INF, PETSC_FALSE, NULL,
     "fixed: simulation x of the image centre, map pixels", PETSC_FALSE},
    {"register_shift_y_px", TC_KEY_REAL, "0", -INF, INF, PETSC_FALSE, NULL,
     "fixed: simulation y of the image centre, map pixels", PETSC_FALSE},
    {"register_scale", TC_KEY_REAL, "1", 0.5, 2, PETSC_FALSE, NULL,
     "scale (true pixel size / pixel_size); fit: the start value", PETSC_FALSE},
    {"register_fit_scale", TC_KEY_BOOL, "true", 0, 0, PETSC_FALSE, NULL, "fit: fit the scale too",
     PETSC_FALSE},
    {"compare_max_distance_px", TC_KEY_REAL, "2", 0, 100, PETSC_TRUE, NULL,
     "farthest a compared pixel may be from the simulated Cu line, map pixels", PETSC_FALSE},
    {"beam_fwhm_m", TC_KEY_REAL, "0", 0, 1, PETSC_FALSE, NULL,
     "blur the simulated map to this beam size (FWHM, m); 0: no blur", PETSC_FALSE},
    {"compare_radial_bins", TC_KEY_INT, "12", 1, TC_COMPARE_MAX_BINS, PETSC_FALSE, NULL,
     "bins of the radial profile", PETSC_FALSE},
    {"compare_core_fraction", TC_KEY_REAL, "0.2", 0, 0.5, PETSC_TRUE, NULL,
     "core / surface: inner / outer fraction of the radial span", PETSC_FALSE},
    {"compare_hotspot_fraction", TC_KEY_REAL, "0.05", 0, 1, PETSC_TRUE, NULL,
     "hotspot: centroid of this hottest fraction of the compared pixels", PETSC_FALSE},
};

static void CompareHelp(void)
{
  printf("Options (each -key value):\n");
  TCDeckPrintKeys(compare_keys, (PetscInt)(sizeof(compare_keys) / sizeof(compare_keys[0])));
  printf("\nRESULTS.h5: /nodes/coordinates_m, /nodes/foil, /time_s, /series/temperature_K\n"
         "  (attribute roll_centre_m on / optional).\n"
         "MEASURED: HDF5 with /xrdct/lattice_A or /xrdct/temperature_K ((y, x) or (t, y, x)),\n"
         "  /xrdct/time_s, optional /xrdct/mask, /xrdct/uncertainty_A|_K,\n"
         "  /xrdct/reference_lattice_A (attribute temperature_K); attributes pixel_size_m,\n"
         "  slice_height_m on /xrdct. Or TIFF/CSV with -map_quantity, -pixel_size,\n"
         "  -slice_height, -time.\n"
         "Outputs in -output: compare.json, compare.h5, maps_NNN.png, radial_NNN.png.\n");
}

/* colour ramps: a perceptual dark-to-bright ramp for temperature, and
   blue-white-red for differences */
static void CompareRamp(PetscReal v, PetscBool diverging, unsigned char *c)
{
  static const unsigned char seq[5][3] = {
      {0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164}};
  static const unsigned char div[3][3] = {{59, 76, 192}, {245, 245, 245}, {180, 4, 38}};
  const unsigned char(*t)[3]           = diverging ? div : seq;
  PetscInt  n                          = diverging ? 3 : 5, k;
  PetscReal f;
  v = PetscMin(1, PetscMax(0, v)) * (n - 1);
  k = PetscMin((PetscInt)v, n - 2);
  f = v - k;
  for (int a = 0; a < 3; a++) c[a] = (unsigned char)(t[k][a] + f * (t[k + 1][a] - t[k][a]) + 0.5);
}

/* measured | simulated | difference, row j = 0 at the bottom, zoomed so
   that small maps stay visible */
static PetscErrorCode CompareMapsPNG(const char path[], const TCXrdMap *m, const PetscReal *Tm,
                                     const PetscReal *Ts, PetscReal lo, PetscReal hi,
                                     PetscReal dmax)
{
  PetscInt       z = PetscMax(1, 300 / PetscMax(m->nx, m->ny)), gap = 8, w, h;
  unsigned char *rgb;

  PetscFunctionBeginUser;
  w = 3 * m->nx * z + 2 * gap;
  h = m->ny * z;
  PetscCall(PetscCalloc1(3 * w * h, &rgb));
  for (PetscInt Y = 0; Y < h; Y++)
    for (PetscInt X = 0; X < w; X++) {
      PetscInt       panel = X / (m->nx * z + gap), xi = X - panel * (m->nx * z + gap);
      PetscInt       i = xi / z, j = m->ny - 1 - Y / z, q = j * m->nx + i;
      unsigned char *c = rgb + 3 * (Y * w + X);
      if (xi >= m->nx * z) {
        c[0] = c[1] = c[2] = 255;
        continue;
      }
      if (!(isfinite(Tm[q]) && isfinite(Ts[q]))) {
        c[0] = c[1] = c[2] = 40;
        continue;
      }
      if (panel == 0)
        CompareRamp((Tm[q] - lo) / (hi - lo), PETSC_FALSE, c);
      else if (panel == 1)
        CompareRamp((Ts[q] - lo) / (hi - lo), PETSC_FALSE, c);
      else
        CompareRamp(0.5 + 0.5 * (Tm[q] - Ts[q]) / dmax, PETSC_TRUE, c);
    }
  PetscCall(TCPNGWrite(path, w, h, rgb));
  PetscCall(PetscFree(rgb));
  PetscFunctionReturn(0);
}

static void ComparePlot(unsigned char *rgb, PetscInt w, PetscInt h, PetscReal x0, PetscReal y0,
                        PetscReal x1, PetscReal y1, const unsigned char *c)
{
  PetscInt m = (PetscInt)ceil(2 * PetscMax(PetscAbsReal(x1 - x0), PetscAbsReal(y1 - y0))) + 1;
  for (PetscInt t = 0; t <= m; t++) {
    PetscInt x = (PetscInt)floor(x0 + (x1 - x0) * t / m + 0.5),
             y = (PetscInt)floor(y0 + (y1 - y0) * t / m + 0.5);
    for (PetscInt dy = -1; dy <= 1; dy++)
      for (PetscInt dx = -1; dx <= 1; dx++) {
        PetscInt X = x + dx, Y = y + dy;
        if (X < 0 || Y < 0 || X >= w || Y >= h) continue;
        PetscArraycpy(rgb + 3 * (Y * w + X), c, 3);
      }
  }
}

/* radial profile: measured (red) and simulated (blue) mean temperature
   against radius; the axis ranges are in compare.json */
static PetscErrorCode CompareRadialPNG(const char path[], const TCCompareStats *st,
                                       PetscReal range[4])
{
  const PetscInt      w = 640, h = 400, L = 50, B = 40;
  const unsigned char red[3] = {200, 30, 30}, blue[3] = {30, 60, 200}, black[3] = {0, 0, 0};
  unsigned char      *rgb;
  PetscReal           tlo = PETSC_MAX_REAL, thi = -PETSC_MAX_REAL, pad;

  PetscFunctionBeginUser;
  for (PetscInt b = 0; b < st->nbins; b++)
    for (int a = 0; a < 2; a++) {
      PetscReal v = a ? st->bin_sim_K[b] : st->bin_meas_K[b];
      if (!isfinite(v)) continue;
      tlo = PetscMin(tlo, v);
      thi = PetscMax(thi, v);
    }
  pad = PetscMax(0.05 * (thi - tlo), 0.1);
  tlo -= pad;
  thi += pad;
  range[0] = st->r_inner_m;
  range[1] = st->r_outer_m;
  range[2] = tlo;
  range[3] = thi;
  PetscCall(PetscMalloc1(3 * w * h, &rgb));
  PetscCall(PetscArrayzero(rgb, 3 * w * h));
  for (PetscInt q = 0; q < 3 * w * h; q++) rgb[q] = 255;
  ComparePlot(rgb, w, h, L, h - B, w - 10, h - B, black);
  ComparePlot(rgb, w, h, L, h - B, L, 10, black);
  for (int a = 0; a < 2; a++) {
    PetscReal px = -1, py = -1;
    for (PetscInt b = 0; b < st->nbins; b++) {
      PetscReal v = a ? st->bin_sim_K[b] : st->bin_meas_K[b], x, y;
      if (!isfinite(v)) continue;
      x = L + (w - 10 - L) * (st->bin_r_m[b] - range[0]) / PetscMax(range[1] - range[0], 1e-12);
      y = (h - B) - (h - B - 10) * (v - tlo) / (thi - tlo);
      if (px >= 0) ComparePlot(rgb, w, h, px, py, x, y, a ? blue : red);
      ComparePlot(rgb, w, h, x - 3, y, x + 3, y, a ? blue : red);
      px = x;
      py = y;
    }
  }
  PetscCall(TCPNGWrite(path, w, h, rgb));
  PetscCall(PetscFree(rgb));
  PetscFunctionReturn(0);
}

static PetscErrorCode CompareParseTimes(const char s[], TCXrdOptions *o)
{
  char buf[4096], *save = NULL, *tok, *end;
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(buf, s, sizeof(buf)));
  o->ntimes = 0;
  for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
    PetscCheck(o->ntimes < (PetscInt)(sizeof(o->times_s) / sizeof(o->times_s[0])), PETSC_COMM_WORLD,
               PETSC_ERR_USER_INPUT, "-time: more than 256 times");
    o->times_s[o->ntimes] = strtod(tok, &end);
    PetscCheck(end != tok && !*end && isfinite(o->times_s[o->ntimes]), PETSC_COMM_WORLD,
               PETSC_ERR_USER_INPUT,
               "-time %s: '%s' is not a number; expected times in s, "
               "comma-separated",
               s, tok);
    o->ntimes++;
  }
  PetscFunctionReturn(0);
}

/* What CompareBody() holds; CompareMain() frees it, also when the run stops on an error. */
typedef struct {
  TCXrdMap        map;
  TCSimField      sim;
  PetscReal      *Tsim, *Tn, (*ranges)[4], *diff, *meas; /* PetscMalloc4 and PetscMalloc2 */
  TCCompareStats *st;
} CompareHeld;

static PetscErrorCode CompareBody(int npos, char **pos, CompareHeld *h)
{
  MPI_Comm        comm = PETSC_COMM_WORLD;
  PetscMPIInt     rank, size;
  TCDeck          deck;
  TCXrdOptions    xo;
  TCRegistration  reg;
  TCCompareStats *st;
  char outdir[PETSC_MAX_PATH_LEN], buf[4096], jpath[PETSC_MAX_PATH_LEN], hpath[PETSC_MAX_PATH_LEN];
  PetscBool set, dopng, fitscale;
  PetscInt  e, regmode, nbins, np, ncu, nl, layers[2], nslice;
  PetscReal toff, maxd, fwhm, corefr, hotfr, cost, trange[2], zrange[2], centre[2], *Tsim, *Tn, rot,
      sx, sy, (*ranges)[4];
  PetscLogDouble t0, t1, t2, t3;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(TCDeckCreate(comm, "compare", compare_keys,
                         (PetscInt)(sizeof(compare_keys) / sizeof(compare_keys[0])), &deck));
  PetscCall(TCDeckLoad(deck, NULL));
  PetscCall(TCDeckGetString(deck, "output", outdir, sizeof(outdir), &set));
  if (!set) {
    const char *b = strrchr(pos[1], '/');
    char        base[PETSC_MAX_PATH_LEN - 16], *dot;
    PetscCall(PetscStrncpy(base, b ? b + 1 : pos[1], sizeof(base)));
    dot = strrchr(base, '.');
    if (dot && dot != base) *dot = 0;
    snprintf(outdir, sizeof(outdir), "%s_compare", base);
  }
  {
    /* the inputs (positional, checked by main) are never overwritten */
    const char *const names[] = {"compare.h5", "compare.json"};
    PetscCall(TCOutputClaimIn(comm, outdir, 2, names));
  }
  PetscCall(TCDeckGetBool(deck, "png", &dopng));
  PetscCall(PetscMemzero(&xo, sizeof(xo)));
  PetscCall(TCDeckGetReal(deck, "pixel_size", &xo.pixel_size_m));
  xo.slice_height_m = NAN;
  PetscCall(TCDeckGetReal(deck, "slice_height", &xo.slice_height_m));
  PetscCall(TCDeckGetString(deck, "time", buf, sizeof(buf), &set));
  if (set) PetscCall(CompareParseTimes(buf, &xo));
  PetscCall(TCDeckGetReal(deck, "time_offset", &toff));
  PetscCall(TCDeckGetEnum(deck, "map_quantity", &e));
  xo.quantity = e == 0   ? TC_XRD_QUANTITY_FILE
                : e == 1 ? TC_XRD_QUANTITY_LATTICE
                         : TC_XRD_QUANTITY_TEMPERATURE;
  PetscCall(TCDeckGetReal(deck, "lattice_a0_A", &xo.lattice.a0_A));
  PetscCall(TCDeckGetReal(deck, "lattice_T0_K", &xo.lattice.T0_K));
  PetscCall(TCDeckGetReal(deck, "lattice_alpha_per_K", &xo.lattice.alpha_per_K));
  PetscCall(TCDeckGetReal(deck, "lattice_beta_per_K2", &xo.lattice.beta_per_K2));
  PetscCall(TCDeckGetEnum(deck, "register", &regmode));
  PetscCall(TCDeckGetReal(deck, "register_rotation_deg", &rot));
  PetscCall(TCDeckGetReal(deck, "register_shift_x_px", &sx));
  PetscCall(TCDeckGetReal(deck, "register_shift_y_px", &sy));
  PetscCall(TCDeckGetReal(deck, "register_scale", &reg.scale));
  PetscCall(TCDeckGetBool(deck, "register_fit_scale", &fitscale));
  PetscCall(TCDeckGetReal(deck, "compare_max_distance_px", &maxd));
  PetscCall(TCDeckGetReal(deck, "beam_fwhm_m", &fwhm));
  PetscCall(TCDeckGetInt(deck, "compare_radial_bins", &nbins));
  PetscCall(TCDeckGetReal(deck, "compare_core_fraction", &corefr));
  PetscCall(TCDeckGetReal(deck, "compare_hotspot_fraction", &hotfr));

  /* inputs and every check before any output exists */
  PetscCall(PetscLogEventBegin(TC_EVENT_DeckRead, 0, 0, 0, 0));
  PetscCall(TCSimFieldRead(comm, pos[0], &h->sim));
  PetscCall(TCXrdMapRead(comm, pos[1], &xo, &h->map));
  PetscCall(PetscLogEventEnd(TC_EVENT_DeckRead, 0, 0, 0, 0));
  PetscCall(TCSimFieldGetInfo(h->sim, trange, zrange, &nl, &ncu));
  for (PetscInt k = 0; k < h->map.nt; k++)
    PetscCheck(h->map.time_s[k] + toff >= trange[0] - 1e-9 * (1 + PetscAbsReal(trange[1])) &&
                   h->map.time_s[k] + toff <= trange[1] + 1e-9 * (1 + PetscAbsReal(trange[1])),
               comm, PETSC_ERR_USER_INPUT,
               "%s: map %" PetscInt_FMT " at t = %s s (+ time_offset %s s) is outside the "
               "simulated run (%s to %s s in %s)",
               pos[1], k, TCG(h->map.time_s[k]).s, TCG(toff).s, TCG(trange[0]).s, TCG(trange[1]).s,
               pos[0]);
  PetscCall(TCSimFieldSetSlice(h->sim, h->map.slice_height_m));
  PetscCall(TCSimFieldGetSlice(h->sim, &nslice, NULL, centre, layers));
  PetscCall(TCPrintf(
      comm,
      "tomocell compare %s %s: %" PetscInt_FMT " map(s) of %" PetscInt_FMT " x %" PetscInt_FMT
      " px (%g um), %" PetscInt_FMT " valid; slice z = %g mm between layers %" PetscInt_FMT
      " and %" PetscInt_FMT "; %d rank(s)\n",
      pos[0], pos[1], h->map.nt, h->map.nx, h->map.ny, 1e6 * (double)h->map.pixel_size_m,
      h->map.nvalid, 1e3 * (double)h->map.slice_height_m, layers[0], layers[1], size));

  PetscCall(PetscTime(&t1));
  PetscCall(PetscLogEventBegin(TC_EVENT_Solve, 0, 0, 0, 0));
  if (regmode == 0)
    PetscCall(TCCompareRegister(comm, h->sim, &h->map, fitscale, &reg, &cost));
  else {
    reg.theta_rad  = rot * PETSC_PI / 180;
    reg.shift_m[0] = sx * h->map.pixel_size_m;
    reg.shift_m[1] = sy * h->map.pixel_size_m;
    PetscCall(TCCompareCost(comm, h->sim, &h->map, &reg, &cost));
  }
  PetscCall(PetscLogEventEnd(TC_EVENT_Solve, 0, 0, 0, 0));
  PetscCall(PetscTime(&t2));

  /* forward model at every time; the overlap is checked for each */
  np = h->map.nx * h->map.ny;
  PetscCall(PetscMalloc4(h->map.nt * np, &h->Tsim, nslice, &h->Tn, h->map.nt, &h->st, h->map.nt,
                         &h->ranges));
  Tsim = h->Tsim, Tn = h->Tn, st = h->st, ranges = h->ranges;
  for (PetscInt k = 0; k < h->map.nt; k++) {
    PetscInt non, nval = 0;
    PetscCall(TCSimFieldSliceTemperature(h->sim, h->map.time_s[k] + toff, Tn));
    PetscCall(TCCompareForward(h->sim, &h->map, &reg, Tn, maxd, fwhm, Tsim + k * np, &non));
    for (PetscInt q = 0; q < np; q++) nval += isfinite(h->map.T_K[k * np + q]) ? 1 : 0;
    PetscCheck(nval > 0, comm, PETSC_ERR_USER_INPUT,
               "%s: map %" PetscInt_FMT " (t = %s s) has no valid pixel", pos[1], k,
               TCG(h->map.time_s[k]).s);
    PetscCheck(non >= PetscMax(1, h->map.nvalid / 10), comm, PETSC_ERR_USER_INPUT,
               "map and simulation do not overlap: %" PetscInt_FMT " of %" PetscInt_FMT
               " valid pixels lie within %s px of the simulated Cu foil (registration %s: "
               "rotation %.3f deg, shift (%.2f, %.2f) px, scale %.4f); check the registration, "
               "-pixel_size and -slice_height",
               non, h->map.nvalid, TCG(maxd).s, regmode == 0 ? "fitted" : "fixed",
               (double)(reg.theta_rad * 180 / PETSC_PI),
               (double)(reg.shift_m[0] / h->map.pixel_size_m),
               (double)(reg.shift_m[1] / h->map.pixel_size_m), (double)reg.scale);
    PetscCall(TCCompareStatsCompute(&h->map, k, Tsim + k * np, &reg, centre, nbins, corefr, hotfr,
                                    &st[k]));
    PetscCheck(st[k].n > 0, comm, PETSC_ERR_USER_INPUT,
               "map and simulation do not overlap at t = %s s: no pixel is both valid and on the "
               "simulated Cu foil",
               TCG(h->map.time_s[k]).s);
  }

  /* outputs */
  PetscCall(PetscLogEventBegin(TC_EVENT_Write, 0, 0, 0, 0));
  PetscCall(TCOutputPrepareDir(comm, outdir));
  PetscCall(TCOutputLockDir(comm, outdir));
  PetscCall(TCPathJoin(outdir, "compare.h5", hpath, sizeof(hpath)));
  PetscCall(TCPathJoin(outdir, "compare.json", jpath, sizeof(jpath)));
  {
    TCH5    h5;
    char    tmp[PETSC_MAX_PATH_LEN];
    hsize_t d3[3]  = {(hsize_t)h->map.nt, (hsize_t)h->map.ny, (hsize_t)h->map.nx},
            d1[1]  = {(hsize_t)h->map.nt};
    hsize_t    cnt = rank == 0 ? (hsize_t)h->map.nt : 0;
    PetscReal *diff, *meas;
    PetscCall(PetscMalloc2(h->map.nt * np, &h->diff, h->map.nt * np, &h->meas));
    diff = h->diff, meas = h->meas;
    for (PetscInt q = 0; q < h->map.nt * np; q++) {
      PetscBool both = (PetscBool)(isfinite(h->map.T_K[q]) && isfinite(Tsim[q]));
      meas[q]        = h->map.T_K[q];
      diff[q]        = both ? h->map.T_K[q] - Tsim[q] : NAN;
    }
    PetscCall(TCOutputTempName(comm, hpath, tmp, sizeof(tmp)));
    PetscCall(TCH5Create(comm, tmp, &h5));
    PetscCall(TCH5WriteRows(&h5, "/time_s", H5T_NATIVE_DOUBLE, 1, d1, 0, cnt, h->map.time_s));
    PetscCall(
        TCH5WriteRows(&h5, "/measured/temperature_K", H5T_NATIVE_DOUBLE, 3, d3, 0, cnt, meas));
    PetscCall(
        TCH5WriteRows(&h5, "/simulated/temperature_K", H5T_NATIVE_DOUBLE, 3, d3, 0, cnt, Tsim));
    PetscCall(TCH5WriteRows(&h5, "/difference_K", H5T_NATIVE_DOUBLE, 3, d3, 0, cnt, diff));
    PetscCall(TCH5WriteAttrString(&h5, "/", "command", "compare"));
    PetscCall(TCH5WriteAttrString(&h5, "/", "tomocell_version", TC_VERSION));
    PetscCall(TCH5WriteAttrReal(&h5, "/", "pixel_size_m", h->map.pixel_size_m));
    PetscCall(TCH5WriteAttrReal(&h5, "/", "slice_height_m", h->map.slice_height_m));
    PetscCall(TCH5WriteAttrReal(&h5, "/", "rotation_deg", reg.theta_rad * 180 / PETSC_PI));
    PetscCall(TCH5WriteAttrReal(&h5, "/", "scale", reg.scale));
    PetscCall(TCH5WriteAttrReal(&h5, "/", "shift_x_m", reg.shift_m[0]));
    PetscCall(TCH5WriteAttrReal(&h5, "/", "shift_y_m", reg.shift_m[1]));
    PetscCall(TCH5Close(&h5));
    PetscCall(TCOutputCommit(comm, tmp, hpath));
    PetscCall(PetscFree2(h->diff, h->meas));
  }
  for (PetscInt k = 0; k < h->map.nt; k++) {
    char             p1[PETSC_MAX_PATH_LEN], p2[PETSC_MAX_PATH_LEN], name[64];
    PetscErrorCode   ierr = 0;
    PetscReal        lo = PETSC_MAX_REAL, hi = -PETSC_MAX_REAL, dm = 0;
    const PetscReal *Tm = h->map.T_K + k * np, *Ts = Tsim + k * np;
    if (!dopng) break;
    for (PetscInt q = 0; q < np; q++) {
      if (!(isfinite(Tm[q]) && isfinite(Ts[q]))) continue;
      lo = PetscMin(lo, PetscMin(Tm[q], Ts[q]));
      hi = PetscMax(hi, PetscMax(Tm[q], Ts[q]));
      dm = PetscMax(dm, PetscAbsReal(Tm[q] - Ts[q]));
    }
    if (hi <= lo) hi = lo + 1;
    if (dm <= 0) dm = 1;
    ranges[k][0] = lo;
    ranges[k][1] = hi;
    ranges[k][2] = dm;
    snprintf(name, sizeof(name), "maps_%03d.png", (int)k);
    PetscCall(TCPathJoin(outdir, name, p1, sizeof(p1)));
    snprintf(name, sizeof(name), "radial_%03d.png", (int)k);
    PetscCall(TCPathJoin(outdir, name, p2, sizeof(p2)));
    if (rank == 0) {
      PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
      ierr = CompareMapsPNG(p1, &h->map, Tm, Ts, lo, hi, dm);
      if (!ierr) {
        PetscReal r4[4];
        ierr = CompareRadialPNG(p2, &st[k], r4);
      }
      PetscCall(PetscPopErrorHandler());
    }
    PetscCall(TCCheckAll(comm, (PetscBool)!ierr, PETSC_ERR_FILE_WRITE,
                         "cannot write the PNG figures in the -output directory"));
  }
  PetscCall(PetscTime(&t3));
  {
    FILE     *fp;
    PetscReal ci[2];
    TCRegistrationInverse(&reg, &h->map, centre, ci);
    PetscCall(TCOutputFOpen(comm, jpath, &fp));
    if (fp) {
      TCJson js;
      TCJsonBegin(&js, fp);
      TCJsonString(&js, "tomocell_version", TC_VERSION);
      TCJsonString(&js, "command", "compare");
      TCJsonString(&js, "results", pos[0]);
      TCJsonString(&js, "measured", pos[1]);
      TCJsonInt(&js, "ranks", size);
      TCJsonObjectBegin(&js, "map");
      TCJsonArrayBegin(&js, "shape_tyx");
      TCJsonInt(&js, NULL, h->map.nt);
      TCJsonInt(&js, NULL, h->map.ny);
      TCJsonInt(&js, NULL, h->map.nx);
      TCJsonArrayEnd(&js);
      TCJsonReal(&js, "pixel_size_m", h->map.pixel_size_m);
      TCJsonReal(&js, "slice_height_m", h->map.slice_height_m);
      TCJsonString(&js, "quantity",
                   h->map.quantity == TC_XRD_QUANTITY_LATTICE ? "lattice_A" : "temperature_K");
      TCJsonInt(&js, "valid_pixels", h->map.nvalid);
      TCJsonBool(&js, "uncertainty", (PetscBool)(h->map.sigma_K != NULL));
      TCJsonObjectEnd(&js);
      TCJsonObjectBegin(&js, "lattice");
      TCJsonString(&js, "reference", h->map.calibrated ? "reference_lattice_A map" : "a0 at T0");
      TCJsonReal(&js, "a0_A", xo.lattice.a0_A);
      TCJsonReal(&js, "T0_K", h->map.calibrated ? h->map.reference_T_K : xo.lattice.T0_K);
      TCJsonReal(&js, "alpha_per_K", xo.lattice.alpha_per_K);
      TCJsonReal(&js, "beta_per_K2", xo.lattice.beta_per_K2);
      TCJsonObjectEnd(&js);
      TCJsonObjectBegin(&js, "simulation");
      TCJsonArrayBegin(&js, "time_range_s");
      TCJsonReal(&js, NULL, trange[0]);
      TCJsonReal(&js, NULL, trange[1]);
      TCJsonArrayEnd(&js);
      TCJsonArrayBegin(&js, "layer_z_range_m");
      TCJsonReal(&js, NULL, zrange[0]);
      TCJsonReal(&js, NULL, zrange[1]);
      TCJsonArrayEnd(&js);
      TCJsonInt(&js, "layers", nl);
      TCJsonArrayBegin(&js, "layers_used");
      TCJsonInt(&js, NULL, layers[0]);
      TCJsonInt(&js, NULL, layers[1]);
      TCJsonArrayEnd(&js);
      TCJsonInt(&js, "cu_nodes_per_layer", ncu);
      TCJsonArrayBegin(&js, "roll_centre_m");
      TCJsonReal(&js, NULL, centre[0]);
      TCJsonReal(&js, NULL, centre[1]);
      TCJsonArrayEnd(&js);
      TCJsonReal(&js, "time_offset_s", toff);
      TCJsonObjectEnd(&js);
      TCJsonObjectBegin(&js, "registration");
      TCJsonString(&js, "mode", regmode == 0 ? "fit" : "fixed");
      TCJsonReal(&js, "rotation_deg", reg.theta_rad * 180 / PETSC_PI);
      TCJsonReal(&js, "scale", reg.scale);
      TCJsonArrayBegin(&js, "shift_m");
      TCJsonReal(&js, NULL, reg.shift_m[0]);
      TCJsonReal(&js, NULL, reg.shift_m[1]);
      TCJsonArrayEnd(&js);
      TCJsonArrayBegin(&js, "shift_px");
      TCJsonReal(&js, NULL, reg.shift_m[0] / h->map.pixel_size_m);
      TCJsonReal(&js, NULL, reg.shift_m[1] / h->map.pixel_size_m);
      TCJsonArrayEnd(&js);
      TCJsonArrayBegin(&js, "roll_centre_px");
      TCJsonReal(&js, NULL, ci[0]);
      TCJsonReal(&js, NULL, ci[1]);
      TCJsonArrayEnd(&js);
      TCJsonReal(&js, "cost_px2", cost);
      TCJsonObjectEnd(&js);
      TCJsonArrayBegin(&js, "times");
      for (PetscInt k = 0; k < h->map.nt; k++) {
        const TCCompareStats *s = &st[k];
        TCJsonObjectBegin(&js, NULL);
        TCJsonReal(&js, "time_s", h->map.time_s[k]);
        TCJsonInt(&js, "pixels_compared", s->n);
        TCJsonReal(&js, "rmse_K", s->rmse_K);
        TCJsonReal(&js, "bias_K", s->bias_K);
        TCJsonReal(&js, "std_K", s->std_K);
        TCJsonReal(&js, "max_abs_error_K", s->max_abs_K);
        TCJsonReal(&js, "pearson_r", s->pearson_r);
        if (h->map.sigma_K) TCJsonReal(&js, "chi2_per_pixel", s->chi2);
        TCJsonObjectBegin(&js, "core_minus_surface_K");
        TCJsonReal(&js, "measured", s->core_K[0] - s->surface_K[0]);
        TCJsonReal(&js, "simulated", s->core_K[1] - s->surface_K[1]);
        TCJsonReal(&js, "r_inner_m", s->r_inner_m);
        TCJsonReal(&js, "r_outer_m", s->r_outer_m);
        TCJsonObjectEnd(&js);
        TCJsonObjectBegin(&js, "hotspot");
        TCJsonArrayBegin(&js, "measured_m");
        TCJsonReal(&js, NULL, s->hotspot_m[0][0]);
        TCJsonReal(&js, NULL, s->hotspot_m[0][1]);
        TCJsonArrayEnd(&js);
        TCJsonArrayBegin(&js, "simulated_m");
        TCJsonReal(&js, NULL, s->hotspot_m[1][0]);
        TCJsonReal(&js, NULL, s->hotspot_m[1][1]);
        TCJsonArrayEnd(&js);
        TCJsonReal(&js, "distance_m", s->hotspot_distance_m);
        TCJsonObjectEnd(&js);
        TCJsonObjectBegin(&js, "radial_profile");
        TCJsonArrayBegin(&js, "r_m");
        for (PetscInt b = 0; b < s->nbins; b++) TCJsonReal(&js, NULL, s->bin_r_m[b]);
        TCJsonArrayEnd(&js);
        TCJsonArrayBegin(&js, "measured_K");
        for (PetscInt b = 0; b < s->nbins; b++) TCJsonReal(&js, NULL, s->bin_meas_K[b]);
        TCJsonArrayEnd(&js);
        TCJsonArrayBegin(&js, "simulated_K");
        for (PetscInt b = 0; b < s->nbins; b++) TCJsonReal(&js, NULL, s->bin_sim_K[b]);
        TCJsonArrayEnd(&js);
        TCJsonArrayBegin(&js, "pixels");
        for (PetscInt b = 0; b < s->nbins; b++) TCJsonInt(&js, NULL, s->bin_n[b]);
        TCJsonArrayEnd(&js);
        TCJsonObjectEnd(&js);
        if (dopng) {
          TCJsonObjectBegin(&js, "png");
          snprintf(buf, sizeof(buf), "maps_%03d.png", (int)k);
          TCJsonString(&js, "maps", buf);
          snprintf(buf, sizeof(buf), "radial_%03d.png", (int)k);
          TCJsonString(&js, "radial", buf);
          TCJsonArrayBegin(&js, "temperature_range_K");
          TCJsonReal(&js, NULL, ranges[k][0]);
          TCJsonReal(&js, NULL, ranges[k][1]);
          TCJsonArrayEnd(&js);
          TCJsonReal(&js, "difference_range_K", ranges[k][2]);
          TCJsonObjectEnd(&js);
        }
        TCJsonObjectEnd(&js);
      }
      TCJsonArrayEnd(&js);
      TCJsonObjectBegin(&js, "timing_s");
      TCJsonReal(&js, "read", t1 - t0);
      TCJsonReal(&js, "register", t2 - t1);
      TCJsonReal(&js, "forward_write", t3 - t2);
      TCJsonObjectEnd(&js);
      TCJsonEnd(&js);
    }
    PetscCall(TCOutputFClose(comm, jpath, &fp));
  }
  PetscCall(PetscLogEventEnd(TC_EVENT_Write, 0, 0, 0, 0));

  PetscCall(TCPrintf(comm,
                     "  registration (%s): rotation %.3f deg, shift (%.2f, %.2f) px, scale %.5f, "
                     "cost %.3f px^2 (%.2f s)\n",
                     regmode == 0 ? "fit" : "fixed", (double)(reg.theta_rad * 180 / PETSC_PI),
                     (double)(reg.shift_m[0] / h->map.pixel_size_m),
                     (double)(reg.shift_m[1] / h->map.pixel_size_m), (double)reg.scale, cost,
                     (double)(t2 - t1)));
  for (PetscInt k = 0; k < h->map.nt; k++)
    PetscCall(TCPrintf(comm,
                       "  t = %g s: %" PetscInt_FMT " px, RMSE %.3f K, bias %+.3f K, std %.3f K, "
                       "max |err| %.3f K, r %.4f, core-surface %.2f K measured / %.2f K "
                       "simulated, hotspots %.3f mm apart\n",
                       (double)h->map.time_s[k], st[k].n, (double)st[k].rmse_K,
                       (double)st[k].bias_K, (double)st[k].std_K, (double)st[k].max_abs_K,
                       (double)st[k].pearson_r, (double)(st[k].core_K[0] - st[k].surface_K[0]),
                       (double)(st[k].core_K[1] - st[k].surface_K[1]),
                       1e3 * (double)st[k].hotspot_distance_m));
  PetscCall(TCPrintf(comm, "  report %s\n", jpath));
  PetscCall(PetscFree4(h->Tsim, h->Tn, h->st, h->ranges));
  PetscCall(TCXrdMapReset(&h->map));
  PetscCall(TCSimFieldDestroy(&h->sim));
  PetscCall(TCDeckDestroy(&deck));
  PetscFunctionReturn(0);
}

static PetscErrorCode CompareMain(int npos, char **pos)
{
  CompareHeld    h;
  PetscErrorCode ierr;

  /* not PetscCall: the error was reported where it arose; free, then pass it on */
  PetscMemzero(&h, sizeof(h));
  ierr = CompareBody(npos, pos, &h);
  (void)TCXrdMapReset(&h.map);
  (void)TCSimFieldDestroy(&h.sim);
  (void)PetscFree4(h.Tsim, h.Tn, h.st, h.ranges);
  (void)PetscFree2(h.diff, h.meas);
  return ierr;
}

const TCCommand TCCommandCompare = {
    "compare",
    "compare simulated temperatures with a measured XRD-CT map (Cu lattice or temperature)",
    "tomocell compare RESULTS.h5 MEASURED.h5|.tif|.csv [-output report] [-key value ...]",
    CompareHelp,
    CompareMain,
    2,
    2,
    compare_keys,
    (PetscInt)(sizeof(compare_keys) / sizeof(compare_keys[0])),
    "report",
    "report/compare.json"};
