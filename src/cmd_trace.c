/*
 * tomocell trace VOLUME: trace the current collectors of a jelly roll in CT
 * (Data Exchange HDF5; mesh/trace.h), build the roll network from the traced
 * curves (mesh/rollnet.h) and write net.h5 (+ XDMF), a JSON summary and a PNG
 * of the traced curves over the image.
 *
 * A 3-D volume is traced slice by slice, slices distributed over the ranks in
 * contiguous blocks; each traced slice is a node layer. A 2-D image (or a
 * one-slice volume) is traced once and extruded over -height in -trace_nz
 * layers.
 */
#include "src/commands.h"
#include "src/tc.h"
#include "io/deck.h"
#include "io/json.h"
#include "io/output.h"
#include "io/png.h"
#include "io/stack.h"
#include "mesh/rollnet.h"
#include "mesh/trace.h"
#include <math.h>

#define INF PETSC_MAX_REAL

static const TCKey trace_keys[] = {
    {"output", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "network file (default <volume name>_net.h5); XDMF beside it", PETSC_TRUE},
    {"summary", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "JSON summary (default: output with .json)", PETSC_TRUE},
    {"png", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "PNG of the traced curves (default: output with .png; 'none' for no PNG)", PETSC_TRUE},
    {"pixel_size", TC_KEY_REAL, NULL, 0, 1, PETSC_TRUE, NULL,
     "pixel size, m (default: from the file)", PETSC_TRUE},
    {"height", TC_KEY_REAL, "0.065", 0, INF, PETSC_TRUE, NULL,
     "electrode height a 2-D slice is extruded over, m", PETSC_FALSE},
    {"trace_dataset", TC_KEY_STRING, "/exchange/data", 0, 0, PETSC_FALSE, NULL,
     "dataset holding the images (z, y, x) or (y, x)", PETSC_FALSE},
    {"trace_mode", TC_KEY_ENUM, "auto", 0, 0, PETSC_FALSE, "auto|labels|gray",
     "labels, grayscale, or auto (integers with <= 16 values are labels)", PETSC_FALSE},
    {"trace_threshold", TC_KEY_REAL, NULL, -INF, INF, PETSC_FALSE, NULL,
     "grayscale threshold (default Otsu)", PETSC_TRUE},
    {"trace_label", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "labels to trace, comma-separated (default every non-zero label)", PETSC_TRUE},
    {"label", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL, "the same as -trace_label", PETSC_TRUE},
    {"trace_smooth_px", TC_KEY_REAL, "8", 0, 1000, PETSC_FALSE, NULL,
     "smoothing length along the foil, px", PETSC_FALSE},
    {"trace_sigma_px", TC_KEY_REAL, "-1", -1, 31, PETSC_FALSE, NULL,
     "grayscale: Gaussian pre-smoothing sigma, px (-1: min(1 px, 10 um))", PETSC_FALSE},
    {"trace_resample_px", TC_KEY_REAL, "4", 0, 1000, PETSC_FALSE, NULL,
     "point spacing of the stored traced curves, px (0: one per ray)", PETSC_FALSE},
    {"trace_min_turns", TC_KEY_REAL, "1", 0, 1000, PETSC_FALSE, NULL,
     "fewest turns that count as a spiral", PETSC_FALSE},
    {"trace_slice_stride", TC_KEY_INT, "1", 1, 1e6, PETSC_FALSE, NULL,
     "trace every n-th slice of a volume", PETSC_FALSE},
    {"trace_nz", TC_KEY_INT, "11", 1, 1e6, PETSC_FALSE, NULL,
     "node layers for a 2-D slice extruded over -height", PETSC_FALSE},
    {"trace_ds_m", TC_KEY_REAL, "1e-3", 0, INF, PETSC_TRUE, NULL, "node spacing along s, m",
     PETSC_FALSE},
    {"trace_cu_label", TC_KEY_INT, "0", 0, 65535, PETSC_FALSE, NULL,
     "label of the negative (Cu) foil (0: the lowest traced label)", PETSC_FALSE},
    {"trace_cu_thickness_m", TC_KEY_REAL, "12e-6", 0, INF, PETSC_TRUE, NULL,
     "Cu foil thickness, m (Chen2020)", PETSC_FALSE},
    {"trace_al_thickness_m", TC_KEY_REAL, "16e-6", 0, INF, PETSC_TRUE, NULL,
     "Al foil thickness, m (Chen2020)", PETSC_FALSE},
    {"trace_cu_sigma_S_m", TC_KEY_REAL, "5.8411e7", 0, INF, PETSC_TRUE, NULL,
     "Cu conductivity, S/m (Chen2020)", PETSC_FALSE},
    {"trace_al_sigma_S_m", TC_KEY_REAL, "3.6914e7", 0, INF, PETSC_TRUE, NULL,
     "Al conductivity, S/m (Chen2020)", PETSC_FALSE},
    {"element_asr_ohm_m2", TC_KEY_REAL, "4e-3", 0, INF, PETSC_TRUE, NULL,
     "element area-specific resistance, ohm m2", PETSC_FALSE},
    TC_TAB_KEYS,
};
static const PetscInt trace_nkeys = (PetscInt)(sizeof(trace_keys) / sizeof(trace_keys[0]));

static void TraceHelp(void)
{
  printf("Options (each -key value):\n");
  TCDeckPrintKeys(trace_keys, trace_nkeys);
  printf("\nInput: Data Exchange HDF5 (/exchange/data, z y x; pixel size from attribute\n"
         "pixel_size_m or /measurement/instrument/detector/pixel_size, or -pixel_size).\n"
         "Outputs: net.h5 + net.xmf, net.json (foils: label, length_m, windings, r_inner_m,\n"
         "r_outer_m, centre_m, gap_mean_m, gap_min_m), net.png.\n");
}

/* PNG: the image in gray with the curves drawn (Cu orange, Al cyan, centre red). */
static PetscErrorCode TracePNG(const char path[], const float *img, PetscInt nx, PetscInt ny,
                               PetscReal px, const TCTraceSlice *res, const PetscInt map[2])
{
  unsigned char      *rgb;
  float               lo = PETSC_MAX_REAL, hi = -PETSC_MAX_REAL;
  const unsigned char col[3][3] = {{255, 140, 0}, {0, 200, 255}, {120, 255, 120}};

  PetscFunctionBeginUser;
  for (PetscInt q = 0; q < nx * ny; q++) {
    lo = PetscMin(lo, img[q]);
    hi = PetscMax(hi, img[q]);
  }
  PetscCall(PetscMalloc1(3 * nx * ny, &rgb));
  for (PetscInt q = 0; q < nx * ny; q++) {
    unsigned char v = (unsigned char)(hi > lo ? 200.0 * (img[q] - lo) / (hi - lo) : 0);
    /* image row j is y = (j + 0.5 - ny/2) px: draw y up, so flip rows */
    PetscInt j = q / nx, i = q % nx, o = 3 * ((ny - 1 - j) * nx + i);
    rgb[o] = rgb[o + 1] = rgb[o + 2] = v;
  }
  for (PetscInt f = 0; f < res->nfoils; f++) {
    const TCTraceFoil   *F = &res->foil[f];
    const unsigned char *c = col[f == map[0] ? 0 : f == map[1] ? 1 : 2];
    for (PetscInt k = 0; k + 1 < F->n; k++) {
      PetscReal x0 = F->x[k] / px + 0.5 * nx, y0 = F->y[k] / px + 0.5 * ny;
      PetscReal x1 = F->x[k + 1] / px + 0.5 * nx, y1 = F->y[k + 1] / px + 0.5 * ny;
      PetscInt  m = (PetscInt)ceil(2 * hypot(x1 - x0, y1 - y0)) + 1;
      for (PetscInt t = 0; t <= m; t++) {
        PetscInt i = (PetscInt)floor(x0 + (x1 - x0) * t / m),
                 j = (PetscInt)floor(y0 + (y1 - y0) * t / m);
        if (i < 0 || j < 0 || i >= nx || j >= ny) continue;
        PetscCall(PetscArraycpy(rgb + 3 * ((ny - 1 - j) * nx + i), c, 3));
      }
    }
  }
  {
    PetscInt ci = (PetscInt)floor(res->centre_m[0] / px + 0.5 * nx),
             cj = (PetscInt)floor(res->centre_m[1] / px + 0.5 * ny);
    for (PetscInt d = -6; d <= 6; d++) {
      PetscInt pts[2][2] = {{ci + d, cj}, {ci, cj + d}};
      for (int a = 0; a < 2; a++) {
        PetscInt i = pts[a][0], j = pts[a][1];
        if (i < 0 || j < 0 || i >= nx || j >= ny) continue;
        rgb[3 * ((ny - 1 - j) * nx + i)]     = 255;
        rgb[3 * ((ny - 1 - j) * nx + i) + 1] = 0;
        rgb[3 * ((ny - 1 - j) * nx + i) + 2] = 0;
      }
    }
  }
  PetscCall(TCPNGWrite(path, nx, ny, rgb));
  PetscCall(PetscFree(rgb));
  PetscFunctionReturn(0);
}

/* Rank 0's traced slice to every rank (curves and statistics). */
static PetscErrorCode TraceBcastSlice(MPI_Comm comm, TCTraceSlice *r)
{
  PetscMPIInt  rank;
  TCTraceSlice tmp;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  tmp = *r;
  PetscCallMPI(MPI_Bcast(&tmp, (PetscMPIInt)sizeof(tmp), MPI_BYTE, 0, comm));
  if (rank != 0) {
    *r = tmp; /* pointers are rank 0's: replaced below */
    for (PetscInt f = 0; f < r->nfoils; f++) {
      PetscCall(PetscMalloc1(r->foil[f].n, &r->foil[f].x));
      PetscCall(PetscMalloc1(r->foil[f].n, &r->foil[f].y));
    }
  }
  for (PetscInt f = 0; f < r->nfoils; f++) {
    PetscCallMPI(MPI_Bcast(r->foil[f].x, (PetscMPIInt)r->foil[f].n, MPIU_REAL, 0, comm));
    PetscCallMPI(MPI_Bcast(r->foil[f].y, (PetscMPIInt)r->foil[f].n, MPIU_REAL, 0, comm));
  }
  PetscFunctionReturn(0);
}

/* per-foil statistics summed over this rank's slices */
enum { ST_LEN, ST_WIND, ST_RIN, ST_ROUT, ST_CX, ST_CY, ST_GAP, ST_THK, ST_N };

static PetscErrorCode TraceMain(int npos, char **pos)
{
  MPI_Comm    comm = PETSC_COMM_WORLD;
  PetscMPIInt rank, size;
  TCDeck      deck;
  TCStack     vol;
  TCTrace     tr;
  char        output[PETSC_MAX_PATH_LEN], summary[PETSC_MAX_PATH_LEN], png[PETSC_MAX_PATH_LEN],
      dataset[256];
  PetscBool       set, isint, dopng, is2d;
  PetscReal       px = 0, height, ds, asr, tcu, tal, scu, sal;
  PetscInt        nz, ny, nx, stride, nzl, cul, e, nsel, s0, s1, nl, nf = -1, map[2] = {-1, -1};
  PetscInt        labels[TC_TRACE_MAX_FOILS], pngslice;
  TCTraceSlice   *res;
  float          *img;
  PetscLogDouble  t0, t1, t2, t3, t4;
  TCRollNetParams np;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(TCDeckCreate(comm, "trace", trace_keys, trace_nkeys, &deck));
  PetscCall(TCDeckLoad(deck, NULL));
  PetscCall(TCDeckGetString(deck, "output", output, sizeof(output), &set));
  if (!set) {
    const char *b = strrchr(pos[0], '/');
    char        base[PETSC_MAX_PATH_LEN - 16], *dot;
    PetscCall(PetscStrncpy(base, b ? b + 1 : pos[0], sizeof(base)));
    dot = strrchr(base, '.');
    if (dot && dot != base) *dot = 0;
    snprintf(output, sizeof(output), "%s_net.h5", base);
  }
  PetscCall(TCDeckGetString(deck, "summary", summary, sizeof(summary), &set));
  if (!set) PetscCall(TCPathReplaceExt(output, ".json", summary, sizeof(summary)));
  PetscCall(TCDeckGetString(deck, "png", png, sizeof(png), &set));
  if (!set) PetscCall(TCPathReplaceExt(output, ".png", png, sizeof(png)));
  dopng = (PetscBool)strcmp(png, "none");
  PetscCall(TCDeckGetReal(deck, "pixel_size", &px));
  PetscCall(TCDeckGetReal(deck, "height", &height));
  PetscCall(TCDeckGetString(deck, "trace_dataset", dataset, sizeof(dataset), &set));
  PetscCall(TCDeckGetEnum(deck, "trace_mode", &e));
  PetscCall(TCDeckGetInt(deck, "trace_slice_stride", &stride));
  PetscCall(TCDeckGetInt(deck, "trace_nz", &nzl));
  PetscCall(TCDeckGetReal(deck, "trace_ds_m", &ds));
  PetscCall(TCDeckGetInt(deck, "trace_cu_label", &cul));
  PetscCall(TCDeckGetReal(deck, "trace_cu_thickness_m", &tcu));
  PetscCall(TCDeckGetReal(deck, "trace_al_thickness_m", &tal));
  PetscCall(TCDeckGetReal(deck, "trace_cu_sigma_S_m", &scu));
  PetscCall(TCDeckGetReal(deck, "trace_al_sigma_S_m", &sal));
  PetscCall(TCDeckGetReal(deck, "element_asr_ohm_m2", &asr));
  PetscCall(PetscMemzero(&np, sizeof(np)));
  PetscCall(TCTabsFromDeck(deck, np.tabs));
  {
    PetscReal tmp;
    PetscCall(TCDeckGetReal(deck, "trace_threshold", &tmp));
    PetscCall(TCDeckGetReal(deck, "trace_smooth_px", &tmp));
    PetscCall(TCDeckGetReal(deck, "trace_min_turns", &tmp));
    PetscCall(TCDeckGetReal(deck, "trace_sigma_px", &tmp));
    PetscCall(TCDeckGetReal(deck, "trace_resample_px", &tmp));
  }
  {
    char      lab[256];
    PetscBool has, hastl;
    PetscCall(TCDeckGetString(deck, "label", lab, sizeof(lab), &has));
    PetscCall(PetscOptionsHasName(NULL, NULL, "-trace_label", &hastl));
    if (has && !hastl) PetscCall(PetscOptionsSetValue(NULL, "-trace_label", lab));
  }
  PetscCall(TCTraceCreate(comm, &tr));
  PetscCall(TCTraceSetFromOptions(tr));

  /* input first: every check before any output exists */
  PetscCall(PetscLogEventBegin(TC_EVENT_DeckRead, 0, 0, 0, 0));
  PetscCall(TCStackOpen(comm, pos[0], dataset, px, &vol));
  PetscCall(TCStackGetSizes(vol, &nz, &ny, &nx));
  PetscCall(TCStackGetPixelSize(vol, &px));
  PetscCall(TCStackIsInteger(vol, &isint));
  PetscCall(PetscLogEventEnd(TC_EVENT_DeckRead, 0, 0, 0, 0));
  PetscCheck(nx >= 16 && ny >= 16, comm, PETSC_ERR_USER_INPUT,
             "%s: slices of %" PetscInt_FMT " x %" PetscInt_FMT
             " pixels are too small to hold a jelly roll",
             pos[0], nx, ny);
  is2d = (PetscBool)(nz == 1);
  nsel = is2d ? 1 : (nz - 1) / stride + 1;
  PetscCheck(is2d || nsel >= 2, comm, PETSC_ERR_USER_INPUT,
             "-trace_slice_stride %" PetscInt_FMT " leaves one slice of %" PetscInt_FMT, stride,
             nz);
  /* slices: a 2-D image is traced on rank 0 and its curves broadcast (layers
     are distributed later); a volume's selected slices are split in
     contiguous blocks */
  if (is2d) {
    s0 = 0;
    s1 = 1;
  } else {
    s0 = nsel * rank / size;
    s1 = nsel * (rank + 1) / size;
  }
  pngslice = is2d ? 0 : nsel / 2;
  PetscCall(TCPrintf(comm,
                     "tomocell trace %s: %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT
                     " (z, y, x), pixel %g m, %" PetscInt_FMT " slice(s) on %d rank(s)\n",
                     pos[0], nz, ny, nx, (double)px, nsel, size));
  PetscCall(PetscMalloc1(nx * ny, &img));
  PetscCall(PetscCalloc1(PetscMax(s1 - s0, 1), &res));
  PetscCall(PetscTime(&t1));
  {
    PetscErrorCode ierr      = 0;
    char           msg[1024] = "";
    for (PetscInt q = s0; q < s1 && !ierr && (!is2d || rank == 0); q++) {
      char what[PETSC_MAX_PATH_LEN + 64];
      snprintf(what, sizeof(what), "%s slice %" PetscInt_FMT, pos[0], q * stride);
      PetscCall(PetscLogEventBegin(TC_EVENT_Build, 0, 0, 0, 0));
      PetscCall(TCStackReadSlice(vol, q * stride, img));
      PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
      ierr = TCTraceRun(tr, img, nx, ny, px, isint, what, &res[q - s0]);
      PetscCall(PetscPopErrorHandler());
      PetscCall(PetscLogEventEnd(TC_EVENT_Build, 0, 0, 0, 0));
      if (ierr) {
        const char *text;
        char       *specific = NULL;
        PetscCall(PetscErrorMessage(ierr, &text, &specific));
        snprintf(msg, sizeof(msg), "%s", specific && specific[0] ? specific : text);
      }
    }
    PetscCall(TCCheckAll(comm, (PetscBool)!ierr, PETSC_ERR_USER_INPUT, msg));
  }
  if (is2d && size > 1) PetscCall(TraceBcastSlice(comm, &res[0]));
  PetscCall(PetscTime(&t2));

  /* foils: same set in every slice; Cu is -trace_cu_label or the lowest label */
  {
    PetscInt lnf  = s1 > s0 ? res[0].nfoils : -1, mn, mx;
    PetscInt a[2] = {lnf < 0 ? PETSC_MAX_INT : lnf, lnf < 0 ? -1 : lnf}, b[2];
    for (PetscInt q = s0; q < s1; q++) {
      a[0] = PetscMin(a[0], res[q - s0].nfoils);
      a[1] = PetscMax(a[1], res[q - s0].nfoils);
    }
    a[1] = -a[1];
    PetscCallMPI(MPI_Allreduce(a, b, 2, MPIU_INT, MPI_MIN, comm));
    mn = b[0];
    mx = -b[1];
    PetscCheck(mn == mx, comm, PETSC_ERR_USER_INPUT,
               "%s: slices trace different numbers of foils (%" PetscInt_FMT " to %" PetscInt_FMT
               "); trace one foil at a time with -trace_label",
               pos[0], mn, mx);
    nf = mn;
    PetscCheck(nf <= 2, comm, PETSC_ERR_USER_INPUT,
               "%s: %" PetscInt_FMT " foils traced; a roll network joins two (Cu and Al): pick "
               "them with -trace_label",
               pos[0], nf);
    for (PetscInt f = 0; f < TC_TRACE_MAX_FOILS; f++) labels[f] = 0;
    if (s1 > s0)
      for (PetscInt f = 0; f < nf; f++) labels[f] = res[0].foil[f].label;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, labels, TC_TRACE_MAX_FOILS, MPIU_INT, MPI_MAX, comm));
    map[0] = 0;
    map[1] = nf > 1 ? 1 : -1;
    if (cul > 0) {
      PetscBool found = PETSC_FALSE;
      for (PetscInt f = 0; f < nf; f++)
        if (labels[f] == cul) {
          found  = PETSC_TRUE;
          map[0] = f;
          map[1] = nf > 1 ? 1 - f : -1;
        }
      PetscCheck(found, comm, PETSC_ERR_USER_INPUT,
                 "-trace_cu_label %" PetscInt_FMT " is not among the traced labels", cul);
    }
  }

  /* network */
  {
    TCRollNet    net;
    TCRollCurve *curves;
    PetscReal   *z, *cen, pitch = 0;
    PetscInt     k0, nsfo[2], NL, nel;
    TCRunMeta    meta;
    char        *effective;
    const char  *decktext;
    nl = is2d ? nzl * (rank + 1) / size - nzl * rank / size : s1 - s0;
    k0 = is2d ? nzl * rank / size : s0;
    PetscCall(
        PetscMalloc3(PetscMax(nl, 1), &z, 2 * PetscMax(nl, 1), &cen, 2 * PetscMax(nl, 1), &curves));
    for (PetscInt k = 0; k < nl; k++) {
      const TCTraceSlice *R = is2d ? &res[0] : &res[k];
      z[k]                  = is2d ? (nzl > 1 ? height * (k0 + k) / (nzl - 1) : 0.5 * height)
                                   : ((k0 + k) * stride + 0.5) * px;
      cen[2 * k]            = R->centre_m[0];
      cen[2 * k + 1]        = R->centre_m[1];
      for (PetscInt f = 0; f < 2; f++) {
        PetscInt src        = map[f];
        curves[2 * k + f].n = src >= 0 ? R->foil[src].n : 0;
        curves[2 * k + f].x = src >= 0 ? R->foil[src].x : NULL;
        curves[2 * k + f].y = src >= 0 ? R->foil[src].y : NULL;
      }
    }
    for (PetscInt q = s0; q < s1; q++)
      for (PetscInt f = 0; f < nf; f++)
        if (isfinite(res[q - s0].foil[f].gap_mean_m))
          pitch = PetscMax(pitch, res[q - s0].foil[f].gap_mean_m);
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &pitch, 1, MPIU_REAL, MPI_MAX, comm));
    np.nfoils         = nf;
    np.label[0]       = labels[map[0]];
    np.label[1]       = nf > 1 ? labels[map[1]] : 0;
    np.thickness_m[0] = tcu;
    np.thickness_m[1] = tal;
    np.sigma_S_m[0]   = scu;
    np.sigma_S_m[1]   = sal;
    np.ds_m           = ds;
    np.height_m       = is2d ? height : nsel * stride * px;
    np.asr_ohm_m2     = asr;
    np.search_m       = pitch > 0 ? 1.5 * pitch : 1e-3;
    np.missing_foil   = -1;
    PetscCall(TCOutputPrepareFileDir(comm, output));
    PetscCall(TCOutputPrepareFileDir(comm, summary));
    if (dopng) PetscCall(TCOutputPrepareFileDir(comm, png));
    PetscCall(TCRollNetCreate(comm, &np, nl, z, cen, curves, &net));
    PetscCall(TCRollNetGetSizes(net, nsfo, &NL, &nel));
    PetscCall(PetscTime(&t3));
    PetscCall(TCDeckGetEffective(deck, &effective));
    PetscCall(TCDeckGetText(deck, &decktext));
    meta.command   = "trace";
    meta.deck_path = pos[0];
    meta.deck_text = decktext;
    meta.options   = effective;
    PetscCall(TCRollNetWrite(net, output, &meta));
    PetscCall(PetscFree(effective));
    PetscCall(TCPrintf(comm,
                       "  network %s: %" PetscInt_FMT " + %" PetscInt_FMT
                       " foil nodes x %" PetscInt_FMT " layers, %" PetscInt_FMT " elements\n",
                       output, nsfo[0], nsfo[1], NL, nel));
    PetscCall(TCRollNetDestroy(&net));
    PetscCall(PetscFree3(z, cen, curves));
  }

  /* PNG of the middle traced slice, by its owner */
  if (dopng) {
    PetscBool      mine = (PetscBool)(pngslice >= s0 && pngslice < s1 && (!is2d || rank == 0));
    PetscErrorCode ierr = 0;
    char           msg[PETSC_MAX_PATH_LEN + 64] = "";
    if (mine) {
      PetscCall(TCStackReadSlice(vol, pngslice * stride, img));
      PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
      ierr = TracePNG(png, img, nx, ny, px, &res[pngslice - s0], map);
      PetscCall(PetscPopErrorHandler());
      if (ierr) snprintf(msg, sizeof(msg), "cannot write %s", png);
    }
    PetscCall(TCCheckAll(comm, (PetscBool)!ierr, PETSC_ERR_FILE_WRITE, msg));
  }

  /* summary: per-foil means over the traced slices */
  {
    PetscReal st[TC_TRACE_MAX_FOILS][ST_N], mn[TC_TRACE_MAX_FOILS][3], rss_sum, rss_max, thr_any;
    PetscBool gray_any;
    PetscInt  cnt = s1 - s0, tot;
    FILE     *fp;
    PetscCall(PetscMemzero(st, sizeof(st)));
    for (PetscInt f = 0; f < TC_TRACE_MAX_FOILS; f++)
      mn[f][0] = mn[f][1] = mn[f][2] = PETSC_MAX_REAL;
    for (PetscInt q = 0; q < cnt; q++)
      for (PetscInt f = 0; f < nf; f++) {
        const TCTraceFoil *F = &res[q].foil[f];
        st[f][ST_LEN] += F->length_m;
        st[f][ST_WIND] += F->windings;
        st[f][ST_RIN] += F->r_inner_m;
        st[f][ST_ROUT] += F->r_outer_m;
        st[f][ST_CX] += res[q].centre_m[0];
        st[f][ST_CY] += res[q].centre_m[1];
        st[f][ST_GAP] += F->gap_mean_m;
        st[f][ST_THK] += F->thickness_m;
        mn[f][0] = PetscMin(mn[f][0], F->gap_min_m);
        mn[f][1] = PetscMin(mn[f][1], F->length_m);
        mn[f][2] = PetscMin(mn[f][2], -F->length_m);
      }
    if (is2d && rank > 0) {
      PetscCall(PetscMemzero(st, sizeof(st)));
      cnt = 0;
    }
    PetscCallMPI(
        MPI_Allreduce(MPI_IN_PLACE, st, TC_TRACE_MAX_FOILS * ST_N, MPIU_REAL, MPI_SUM, comm));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, mn, TC_TRACE_MAX_FOILS * 3, MPIU_REAL, MPI_MIN, comm));
    PetscCallMPI(MPI_Allreduce(&cnt, &tot, 1, MPIU_INT, MPI_SUM, comm));
    PetscCall(PetscTime(&t4));
    PetscCall(TCPeakRSS(comm, &rss_sum, &rss_max));
    for (PetscInt f = 0; f < nf; f++) {
      PetscCall(
          TCPrintf(comm,
                   "  foil label %d (%s): length %.6g m, %.3f turns, r_inner %.4g mm, r_outer "
                   "%.4g mm, gap mean %.1f um min %.1f um\n",
                   (int)labels[f],
                   f == map[0]   ? "Cu"
                   : f == map[1] ? "Al"
                                 : "-",
                   (double)(st[f][ST_LEN] / tot), (double)(st[f][ST_WIND] / tot),
                   (double)(1e3 * st[f][ST_RIN] / tot), (double)(1e3 * st[f][ST_ROUT] / tot),
                   (double)(1e6 * st[f][ST_GAP] / tot), (double)(1e6 * mn[f][0])));
    }
    PetscCall(TCPrintf(
        comm, "  centre (%.4g, %.4g) mm; trace %.3f s, total %.3f s, peak RSS %.1f MB (max rank)\n",
        (double)(1e3 * st[0][ST_CX] / tot), (double)(1e3 * st[0][ST_CY] / tot), (double)(t2 - t1),
        (double)(t4 - t0), rss_max / 1048576.0));
    /* mode and threshold from a rank that traced (rank 0 may have no slice) */
    {
      PetscReal g[2] = {s1 > s0 && res[0].gray ? 1.0 : 0.0,
                        s1 > s0 && res[0].gray ? res[0].threshold : -PETSC_MAX_REAL};
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, g, 2, MPIU_REAL, MPI_MAX, comm));
      gray_any = (PetscBool)(g[0] > 0);
      thr_any  = g[1];
    }
    PetscCall(TCOutputFOpen(comm, summary, &fp));
    if (fp) {
      TCJson js;
      TCJsonBegin(&js, fp);
      TCJsonString(&js, "tomocell_version", TC_VERSION);
      TCJsonString(&js, "command", "trace");
      TCJsonString(&js, "volume", pos[0]);
      TCJsonString(&js, "network", output);
      TCJsonInt(&js, "ranks", size);
      TCJsonReal(&js, "pixel_size_m", px);
      TCJsonArrayBegin(&js, "shape_zyx");
      TCJsonInt(&js, NULL, nz);
      TCJsonInt(&js, NULL, ny);
      TCJsonInt(&js, NULL, nx);
      TCJsonArrayEnd(&js);
      TCJsonInt(&js, "slices_traced", tot);
      TCJsonString(&js, "mode", gray_any ? "gray" : "labels");
      if (gray_any) TCJsonReal(&js, "threshold", thr_any);
      TCJsonArrayBegin(&js, "foils");
      for (PetscInt f = 0; f < nf; f++) {
        TCJsonObjectBegin(&js, NULL);
        TCJsonInt(&js, "label", labels[f]);
        TCJsonString(&js, "foil", f == map[0] ? "cu" : f == map[1] ? "al" : "unknown");
        TCJsonReal(&js, "length_m", st[f][ST_LEN] / tot);
        TCJsonReal(&js, "length_min_m", mn[f][1]);
        TCJsonReal(&js, "length_max_m", -mn[f][2]);
        TCJsonReal(&js, "windings", st[f][ST_WIND] / tot);
        TCJsonReal(&js, "r_inner_m", st[f][ST_RIN] / tot);
        TCJsonReal(&js, "r_outer_m", st[f][ST_ROUT] / tot);
        TCJsonArrayBegin(&js, "centre_m");
        TCJsonReal(&js, NULL, st[f][ST_CX] / tot);
        TCJsonReal(&js, NULL, st[f][ST_CY] / tot);
        TCJsonArrayEnd(&js);
        TCJsonReal(&js, "gap_mean_m", st[f][ST_GAP] / tot);
        TCJsonReal(&js, "gap_min_m", mn[f][0]);
        TCJsonReal(&js, "thickness_m", st[f][ST_THK] / tot);
        TCJsonObjectEnd(&js);
      }
      TCJsonArrayEnd(&js);
      TCJsonObjectBegin(&js, "timing_s");
      TCJsonReal(&js, "open", t1 - t0);
      TCJsonReal(&js, "read_trace", t2 - t1);
      TCJsonReal(&js, "network", t3 - t2);
      TCJsonReal(&js, "total", t4 - t0);
      TCJsonObjectEnd(&js);
      TCJsonObjectBegin(&js, "memory");
      TCJsonReal(&js, "peak_rss_bytes_all_ranks", rss_sum);
      TCJsonReal(&js, "peak_rss_bytes_max_rank", rss_max);
      TCJsonObjectEnd(&js);
      TCJsonEnd(&js);
    }
    PetscCall(TCOutputFClose(comm, summary, &fp));
  }
  for (PetscInt q = 0; q < PetscMax(s1 - s0, 1); q++) PetscCall(TCTraceSliceReset(&res[q]));
  PetscCall(PetscFree(res));
  PetscCall(PetscFree(img));
  PetscCall(TCStackClose(&vol));
  PetscCall(TCTraceDestroy(&tr));
  PetscCall(TCDeckDestroy(&deck));
  PetscFunctionReturn(0);
}

const TCCommand TCCommandTrace = {
    "trace",
    "trace a jelly roll in CT (Data Exchange HDF5 or TIFF stack) into a network",
    "tomocell trace VOLUME.h5|TIFF [-output net.h5] [-summary net.json] [-png net.png] [-key value "
    "...]",
    TraceHelp,
    TraceMain,
    1,
    1,
    trace_keys,
    (PetscInt)(sizeof(trace_keys) / sizeof(trace_keys[0])),
    "net.h5",
    "net.json"};
