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
#include "mesh/tracevol.h"
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
     "pixel size, m (default: trace_pixel_size_m, else from the file)", PETSC_TRUE},
    {"pixel_size_z", TC_KEY_REAL, NULL, 0, 1, PETSC_TRUE, NULL,
     "slice spacing of a volume, m (default: trace_pixel_size_z_m, else from the file, else the "
     "pixel)",
     PETSC_TRUE},
    {"can_diameter_m", TC_KEY_REAL, NULL, 0, 1, PETSC_TRUE, NULL,
     "outer diameter of the can, m: the pixel from the can when the file has none", PETSC_TRUE},
    {"preset", TC_KEY_ENUM, "none", 0, 0, PETSC_FALSE, "none|18650|21700",
     "cell size for the pixel from the can: 18650 (18.4 mm can) or 21700 (21.2 mm)", PETSC_FALSE},
    {"height", TC_KEY_REAL, "0.065", 0, INF, PETSC_TRUE, NULL,
     "electrode height a 2-D slice is extruded over, m", PETSC_FALSE},
    {"label", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL, "the same as -trace_label", PETSC_TRUE},
    {"trace_nz", TC_KEY_INT, "11", 1, 1e6, PETSC_FALSE, NULL,
     "node layers for a 2-D slice extruded over -height", PETSC_FALSE},
    {"trace_ds_m", TC_KEY_REAL, "1e-3", 0, INF, PETSC_TRUE, NULL, "node spacing along s, m",
     PETSC_FALSE},
    {"element_asr_ohm_m2", TC_KEY_REAL, "4e-3", 0, INF, PETSC_TRUE, NULL,
     "element area-specific resistance, ohm m2", PETSC_FALSE},
    TC_TRACE_KEYS,
    TC_TAB_KEYS,
};
static const PetscInt trace_nkeys = (PetscInt)(sizeof(trace_keys) / sizeof(trace_keys[0]));

static void TraceHelp(void)
{
  printf("Options (each -key value):\n");
  TCDeckPrintKeys(trace_keys, trace_nkeys);
  printf("\nInput: Data Exchange HDF5 (/exchange/data, z y x; pixel size from attribute\n"
         "pixel_size_m or /measurement/instrument/detector/pixel_size, or -pixel_size; z spacing\n"
         "from attribute pixel_size_z_m or .../detector/actual_pixel_size_y, or -pixel_size_z).\n"
         "No pixel size in the file: -can_diameter_m D or -preset 18650|21700 measures the can.\n"
         "Volumes: -trace_slices A:B traces slices A to B - 1; slices without a roll (cap, vent,\n"
         "empty, almost empty) are skipped and listed in the summary (slices_skipped).\n"
         "Outputs: net.h5 + net.xmf, net.json (foils: label, length_m, windings, r_inner_m,\n"
         "r_outer_m, centre_m, gap_mean_m, gap_min_m; defects: kind fold|gap|missing_coating,\n"
         "r_m, theta_deg, z_m, size_m, slice), net.png (defects ringed).\n");
}

/* What TraceBody() holds; TraceMain() frees it, also when the run stops on an error. */
typedef struct {
  TCTraceVolume tv;
  TCRollNet     net;
} TraceHeld;

static PetscErrorCode TraceBody(int npos, char **pos, TraceHeld *h)
{
  MPI_Comm        comm = PETSC_COMM_WORLD;
  PetscMPIInt     size;
  TCDeck          deck;
  char            output[PETSC_MAX_PATH_LEN], summary[PETSC_MAX_PATH_LEN], png[PETSC_MAX_PATH_LEN];
  PetscBool       set, dopng, is2d;
  PetscReal       px = 0, pz = 0, height, ds, asr, rss_sum, rss_max;
  PetscInt        nzl, nsfo[2], NL, nel;
  PetscLogDouble  t0, t3, t4, topen, ttrace;
  TCRollNetParams np;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
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
  PetscCall(TCDeckGetReal(deck, "pixel_size_z", &pz));
  PetscCall(TCDeckGetReal(deck, "height", &height));
  PetscCall(TCDeckGetInt(deck, "trace_nz", &nzl));
  PetscCall(TCDeckGetReal(deck, "trace_ds_m", &ds));
  PetscCall(TCDeckGetReal(deck, "element_asr_ohm_m2", &asr));
  {
    char      lab[256];
    PetscBool has, hastl;
    PetscCall(TCDeckGetString(deck, "label", lab, sizeof(lab), &has));
    PetscCall(PetscOptionsHasName(NULL, NULL, "-trace_label", &hastl));
    if (has && !hastl) PetscCall(PetscOptionsSetValue(NULL, "-trace_label", lab));
  }
  PetscCall(TCTraceVolumeCreate(comm, &h->tv));
  PetscCall(TCTraceVolumeSetFromDeck(h->tv, deck));
  PetscCall(TCTraceVolumeSetPixelSize(h->tv, px));
  PetscCall(TCTraceVolumeSetPixelSizeZ(h->tv, pz));
  {
    /* the can's outer diameter: -can_diameter_m, else -preset (datasheet
       maximum diameters, docs/trace.md) */
    const PetscReal dcan[3]  = {0, 18.4e-3, 21.2e-3};
    const char     *names[3] = {"", "-preset 18650", "-preset 21700"};
    PetscReal       d        = 0;
    PetscInt        e;
    PetscCall(TCDeckGetReal(deck, "can_diameter_m", &d));
    PetscCall(TCDeckGetEnum(deck, "preset", &e));
    if (d > 0)
      PetscCall(TCTraceVolumeSetCanDiameter(h->tv, d, "-can_diameter_m"));
    else if (e > 0)
      PetscCall(TCTraceVolumeSetCanDiameter(h->tv, dcan[e], names[e]));
  }

  /* input first: every check before any output exists */
  PetscCall(TCPrintf(comm, "tomocell trace %s\n", pos[0]));
  PetscCall(TCTraceVolumeTrace(h->tv, pos[0]));
  PetscCall(TCTraceVolumeIsSlice(h->tv, &is2d));
  PetscCall(TCTraceVolumeGetNetParams(h->tv, &np));
  TCTabsDefaults(np.tabs); /* a traced roll has no preset */
  PetscCall(TCTabsFromDeck(deck, np.tabs));
  np.ds_m       = ds;
  np.asr_ohm_m2 = asr;
  if (is2d) np.height_m = height;

  /* network */
  {
    TCRunMeta   meta;
    char       *effective;
    const char *decktext;
    PetscCall(TCOutputClaim(comm, output, "-output"));
    PetscCall(TCOutputClaim(comm, summary, "-summary"));
    if (dopng) PetscCall(TCOutputClaim(comm, png, "-png"));
    PetscCall(TCOutputPrepareFileDir(comm, output));
    PetscCall(TCOutputPrepareFileDir(comm, summary));
    if (dopng) PetscCall(TCOutputPrepareFileDir(comm, png));
    PetscCall(TCTraceVolumeBuildNet(h->tv, &np, nzl, height, &h->net));
    PetscCall(TCRollNetGetSizes(h->net, nsfo, &NL, &nel));
    PetscCall(PetscTime(&t3));
    PetscCall(TCDeckGetEffective(deck, &effective));
    PetscCall(TCDeckGetText(deck, &decktext));
    meta.command   = "trace";
    meta.deck_path = pos[0];
    meta.deck_text = decktext;
    meta.options   = effective;
    PetscCall(TCRollNetWrite(h->net, output, &meta));
    PetscCall(PetscFree(effective));
    PetscCall(TCPrintf(comm,
                       "  network %s: %" PetscInt_FMT " + %" PetscInt_FMT
                       " foil nodes x %" PetscInt_FMT " layers, %" PetscInt_FMT " elements\n",
                       output, nsfo[0], nsfo[1], NL, nel));
    PetscCall(TCRollNetDestroy(&h->net));
  }

  /* PNG of the middle traced slice, by its owner */
  if (dopng) PetscCall(TCTraceVolumeWritePNG(h->tv, png));

  /* summary: per-foil means over the traced slices */
  {
    FILE  *fp;
    TCJson js;
    PetscCall(TCOutputFOpen(comm, summary, &fp));
    if (fp) {
      TCJsonBegin(&js, fp);
      TCJsonString(&js, "tomocell_version", TC_VERSION);
      TCJsonString(&js, "command", "trace");
      TCJsonString(&js, "network", output);
      TCJsonInt(&js, "ranks", size);
    }
    if (fp) PetscCall(TCTraceVolumeWriteJSON(h->tv, &js));
    PetscCall(TCTraceVolumeView(h->tv));
    PetscCall(PetscTime(&t4));
    PetscCall(TCPeakRSS(comm, &rss_sum, &rss_max));
    PetscCall(TCTraceVolumeGetTimes(h->tv, &topen, &ttrace));
    PetscCall(TCPrintf(comm, "  trace %.3f s, total %.3f s, peak RSS %.1f MB (max rank)\n",
                       (double)ttrace, (double)(t4 - t0), rss_max / 1048576.0));
    if (fp) {
      TCJsonObjectBegin(&js, "timing_s");
      TCJsonReal(&js, "open", topen);
      TCJsonReal(&js, "read_trace", ttrace);
      TCJsonReal(&js, "network", t3 - t0 - topen - ttrace);
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
  PetscCall(TCTraceVolumeDestroy(&h->tv));
  PetscCall(TCDeckDestroy(&deck));
  PetscFunctionReturn(0);
}

static PetscErrorCode TraceMain(int npos, char **pos)
{
  TraceHeld      h;
  PetscErrorCode ierr;

  /* not PetscCall: the error was reported where it arose; free, then pass it on */
  PetscMemzero(&h, sizeof(h));
  ierr = TraceBody(npos, pos, &h);
  (void)TCRollNetDestroy(&h.net);
  (void)TCTraceVolumeDestroy(&h.tv);
  return ierr;
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
