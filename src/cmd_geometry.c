/*
 * tomocell geometry DECK: build a synthetic jelly roll (mesh/spiral.h), and
 * optionally render synthetic CT of it (mesh/ctsynth.h, -render vol.h5) and
 * write its network (mesh/rollnet.h, -output net.h5) with a JSON summary of
 * the true geometry in the same keys as `tomocell trace`.
 */
#include "src/commands.h"
#include "src/tc.h"
#include "io/deck.h"
#include "io/json.h"
#include "io/output.h"
#include "mesh/ctsynth.h"
#include "mesh/rollnet.h"
#include "mesh/spiral.h"
#include <math.h>

#define INF PETSC_MAX_REAL

static const TCKey geo_keys[] = {
    {"output", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "network file (net.h5, XDMF beside it); default <deck name>_net.h5 unless only -render",
     PETSC_TRUE},
    {"summary", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "JSON summary of the true geometry (default: output with .json)", PETSC_TRUE},
    {"render", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "write synthetic CT (Data Exchange HDF5) to this file", PETSC_TRUE},
    TC_SPIRAL_KEYS,
    {"element_asr_ohm_m2", TC_KEY_REAL, "4e-3", 0, INF, PETSC_TRUE, NULL,
     "element area-specific resistance (linear stand-in for the cell model), ohm m2", PETSC_FALSE},
    {"render_pixel_size_m", TC_KEY_REAL, "20e-6", 0, INF, PETSC_TRUE, NULL, "CT pixel size, m",
     PETSC_FALSE},
    {"render_mode", TC_KEY_ENUM, "labels", 0, 0, PETSC_FALSE, "labels|gray",
     "labels (1 Cu, 2 Al) or grayscale attenuation", PETSC_FALSE},
    {"render_nx", TC_KEY_INT, "0", 0, 1e5, PETSC_FALSE, NULL,
     "image width = height in pixels (0: fit the roll)", PETSC_FALSE},
    {"render_nz", TC_KEY_INT, "1", 1, 1e5, PETSC_FALSE, NULL, "slices (1: a 2-D slice)",
     PETSC_FALSE},
    {"render_supersample", TC_KEY_INT, "3", 1, 16, PETSC_FALSE, NULL,
     "gray: sub-pixels per axis for partial volume", PETSC_FALSE},
    {"render_blur_px", TC_KEY_REAL, "0.7", 0, 50, PETSC_FALSE, NULL,
     "gray: Gaussian blur sigma, px (0: none, else at least 0.1)", PETSC_FALSE},
    {"render_noise", TC_KEY_REAL, "0", 0, 100, PETSC_FALSE, NULL,
     "gray: noise standard deviation (Cu = 1)", PETSC_FALSE},
    {"render_tilt_rad", TC_KEY_REAL, "0", -0.5, 0.5, PETSC_FALSE, NULL,
     "tilt of the roll axis in the x-z plane, rad", PETSC_FALSE},
    {"render_seed", TC_KEY_INT, "1", 0, 1e9, PETSC_FALSE, NULL, "noise seed", PETSC_FALSE},
};
static const PetscInt geo_nkeys = (PetscInt)(sizeof(geo_keys) / sizeof(geo_keys[0]));

static void GeoHelp(void)
{
  printf("Deck keys (YAML, nested maps join with '_'; each is also an option -key value):\n");
  TCDeckPrintKeys(geo_keys, geo_nkeys);
  printf("\nOutputs: -output net.h5 (+ net.xmf, net.json), -render vol.h5 (Data Exchange:\n"
         "/exchange/data (z, y, x) with attribute pixel_size_m).\n");
}

static PetscErrorCode GeoReal(TCDeck d, const char *k, PetscReal *v)
{
  PetscFunctionBeginUser;
  PetscCall(TCDeckGetReal(d, k, v));
  PetscFunctionReturn(0);
}

/* What GeoBody() holds; GeoMain() frees it, also when the run stops on an error. */
typedef struct {
  TCSpiral  spiral;
  TCRollNet net;
  char     *effective; /* the deck's effective options, for net.h5 */
} GeoHeld;

static PetscErrorCode GeoBody(int npos, char **pos, GeoHeld *h)
{
  MPI_Comm       comm = PETSC_COMM_WORLD;
  TCDeck         deck;
  TCSpiralParams sp;
  TCRenderParams rp;
  PetscInt       e, nzl, ns[2], NL, nel;
  char           output[PETSC_MAX_PATH_LEN] = "", summary[PETSC_MAX_PATH_LEN] = "",
       render[PETSC_MAX_PATH_LEN] = "";
  PetscBool   hasout, hassum, hasrender;
  PetscReal   ds, asr;
  PetscMPIInt rank, size;
  const char *deckname, *decktext;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(TCDeckCreate(comm, "geometry", geo_keys, geo_nkeys, &deck));
  /* one deck serves geometry and run: the run's own keys are accepted in the
     file (and said to be unused) */
  PetscCall(TCDeckSetForeignKeys(deck, "run", TCCommandRun.keys, TCCommandRun.nkeys));
  PetscCall(TCDeckLoad(deck, pos[0]));
  {
    PetscBool fromfile, isrun;
    PetscCall(TCDeckHasForeignKey(deck, "geometry", &isrun));
    PetscCheck(!isrun, comm, PETSC_ERR_USER_INPUT,
               "deck %s takes its roll from a file (key geometry); tomocell geometry builds the "
               "synthetic spiral of the preset and spiral_* keys: remove geometry, or trace the "
               "file with tomocell trace",
               pos[0]);
    PetscCall(TCDeckHasForeignKey(deck, NULL, &isrun));
    PetscCall(TCDeckIsFromFile(deck, "output", &fromfile));
    PetscCheck(!(isrun && fromfile), comm, PETSC_ERR_USER_INPUT,
               "deck %s is a tomocell run deck: its output key is the run's directory, not a "
               "network file; give the network file with -output net.h5",
               pos[0]);
  }
  PetscCall(TCDeckGetName(deck, &deckname));
  PetscCall(TCDeckGetText(deck, &decktext));
  PetscCall(TCSpiralParamsFromDeck(deck, &sp, &ds, &nzl));
  PetscCall(GeoReal(deck, "element_asr_ohm_m2", &asr));
  PetscCall(PetscMemzero(&rp, sizeof(rp)));
  PetscCall(GeoReal(deck, "render_pixel_size_m", &rp.pixel_m));
  PetscCall(TCDeckGetEnum(deck, "render_mode", &e));
  rp.mode = (TCRenderMode)e;
  PetscCall(TCDeckGetInt(deck, "render_nx", &rp.nx));
  rp.ny = rp.nx;
  PetscCall(TCDeckGetInt(deck, "render_nz", &rp.nz));
  PetscCall(TCDeckGetInt(deck, "render_supersample", &rp.supersample));
  PetscCall(GeoReal(deck, "render_blur_px", &rp.blur_px));
  /* a sigma this small is no blur (the neighbour weight is below 1e-21) but
     underflows the kernel to 0/0: say so instead of rendering NaN */
  PetscCheck(rp.blur_px == 0 || rp.blur_px >= 0.1, comm, PETSC_ERR_USER_INPUT,
             "render_blur_px = %g px is below 0.1 px, which blurs nothing; give 0 for no blur or "
             "a sigma of at least 0.1 px",
             (double)rp.blur_px);
  PetscCall(GeoReal(deck, "render_noise", &rp.noise));
  PetscCall(GeoReal(deck, "render_tilt_rad", &rp.tilt_rad));
  PetscCall(TCDeckGetInt(deck, "render_seed", &rp.seed));
  PetscCall(TCDeckGetString(deck, "output", output, sizeof(output), &hasout));
  PetscCall(TCDeckGetString(deck, "summary", summary, sizeof(summary), &hassum));
  PetscCall(TCDeckGetString(deck, "render", render, sizeof(render), &hasrender));
  if (!hasout && !hasrender) {
    snprintf(output, sizeof(output), "%s_net.h5", deckname[0] ? deckname : "geometry");
    hasout = PETSC_TRUE;
  }
  if (hasout && !hassum) {
    size_t L = strlen(output);
    PetscCall(PetscStrncpy(summary, output, sizeof(summary)));
    if (L > 3 && !strcmp(output + L - 3, ".h5")) summary[L - 3] = 0;
    PetscCall(PetscStrlcat(summary, ".json", sizeof(summary)));
    hassum = PETSC_TRUE;
  }

  PetscCall(TCSpiralCreate(comm, &h->spiral));
  PetscCall(TCSpiralSetParams(h->spiral, &sp));
  PetscCall(TCSpiralSetUp(h->spiral));
  {
    const char *dirs[3] = {hasout ? output : NULL, hassum ? summary : NULL,
                           hasrender ? render : NULL};
    const char *what[3] = {"-output", "-summary", "-render"};
    for (int q = 0; q < 3; q++)
      if (dirs[q]) PetscCall(TCOutputClaim(comm, dirs[q], what[q]));
    for (int q = 0; q < 3; q++)
      if (dirs[q]) {
        char d[PETSC_MAX_PATH_LEN], *sl;
        PetscCall(PetscStrncpy(d, dirs[q], sizeof(d)));
        sl = strrchr(d, '/');
        if (sl)
          *sl = 0;
        else
          PetscCall(PetscStrncpy(d, ".", sizeof(d)));
        PetscCall(TCOutputPrepareDir(comm, d[0] ? d : "/"));
      }
  }
  PetscCall(TCPrintf(
      comm,
      "tomocell geometry %s: pitch %.1f um, Cu %.4f m (%.2f turns), Al %.4f m "
      "(%.2f turns)\n",
      pos[0], 1e6 * TCSpiralPitch(h->spiral), TCSpiralFoilLength(h->spiral, TC_FOIL_CU),
      TCSpiralFoilWindings(h->spiral, TC_FOIL_CU), TCSpiralFoilLength(h->spiral, TC_FOIL_AL),
      TCSpiralFoilWindings(h->spiral, TC_FOIL_AL)));

  if (hasrender) {
    PetscCall(TCRenderSetSize(h->spiral, &rp));
    PetscCall(TCRenderWrite(h->spiral, &rp, comm, render));
    PetscCall(TCPrintf(comm,
                       "  rendered %s: %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT
                       " (z, y, x), pixel %g m, %s\n",
                       render, rp.nz, rp.ny, rp.nx, (double)rp.pixel_m,
                       rp.mode == TC_RENDER_LABELS ? "labels" : "grayscale"));
  }
  if (hasout) {
    TCRollNetParams np;
    TCRunMeta       meta;
    PetscCall(PetscMemzero(&np, sizeof(np)));
    np.ds_m       = ds;
    np.asr_ohm_m2 = asr;
    PetscCall(TCRollNetFromSpiral(comm, h->spiral, nzl, &np, &h->net));
    PetscCall(TCRollNetGetSizes(h->net, ns, &NL, &nel));
    PetscCall(TCDeckGetEffective(deck, &h->effective));
    meta.command   = "geometry";
    meta.deck_path = pos[0];
    meta.deck_text = decktext;
    meta.options   = h->effective;
    PetscCall(TCRollNetWrite(h->net, output, &meta));
    PetscCall(PetscFree(h->effective));
    PetscCall(TCPrintf(comm,
                       "  network %s: %" PetscInt_FMT " + %" PetscInt_FMT
                       " foil nodes x %" PetscInt_FMT " layers, %" PetscInt_FMT " elements\n",
                       output, ns[0], ns[1], NL, nel));
    PetscCall(TCRollNetDestroy(&h->net));
  }
  if (hassum) {
    FILE *fp;
    PetscCall(TCOutputFOpen(comm, summary, &fp));
    if (fp) {
      TCJson js;
      TCJsonBegin(&js, fp);
      TCJsonString(&js, "tomocell_version", TC_VERSION);
      TCJsonString(&js, "command", "geometry");
      TCJsonString(&js, "deck", pos[0]);
      TCJsonReal(&js, "pitch_m", TCSpiralPitch(h->spiral));
      TCJsonReal(&js, "height_m", sp.height_m);
      TCJsonArrayBegin(&js, "foils");
      for (int f = 0; f < 2; f++) {
        PetscReal phi0, phi1, mn = PETSC_MAX_REAL, sum = 0;
        PetscInt  cnt = 0;
        TCSpiralFoilPhiRange(h->spiral, (TCFoil)f, &phi0, &phi1);
        for (PetscReal phi = phi0; phi + 2 * PETSC_PI <= phi1; phi += 0.01) {
          PetscReal d = TCSpiralRadius(h->spiral, (TCFoil)f, phi + 2 * PETSC_PI) -
                        TCSpiralRadius(h->spiral, (TCFoil)f, phi);
          sum += d;
          mn = PetscMin(mn, d);
          cnt++;
        }
        TCJsonObjectBegin(&js, NULL);
        TCJsonInt(&js, "label", f + 1);
        TCJsonString(&js, "foil", TCFoilNames[f]);
        TCJsonReal(&js, "length_m", TCSpiralFoilLength(h->spiral, (TCFoil)f));
        TCJsonReal(&js, "windings", TCSpiralFoilWindings(h->spiral, (TCFoil)f));
        TCJsonReal(&js, "r_inner_m", TCSpiralRadius(h->spiral, (TCFoil)f, phi0));
        TCJsonReal(&js, "r_outer_m", TCSpiralRadius(h->spiral, (TCFoil)f, phi1));
        TCJsonArrayBegin(&js, "centre_m");
        TCJsonReal(&js, NULL, sp.centre_m[0]);
        TCJsonReal(&js, NULL, sp.centre_m[1]);
        TCJsonArrayEnd(&js);
        TCJsonReal(&js, "gap_mean_m", cnt ? sum / cnt : NAN);
        TCJsonReal(&js, "gap_min_m", cnt ? mn : NAN);
        TCJsonReal(&js, "phi_start_rad", phi0);
        TCJsonReal(&js, "phi_end_rad", phi1);
        TCJsonObjectEnd(&js);
      }
      TCJsonArrayEnd(&js);
      if (hasrender) {
        TCJsonObjectBegin(&js, "render");
        TCJsonString(&js, "file", render);
        TCJsonReal(&js, "pixel_size_m", rp.pixel_m);
        TCJsonInt(&js, "nx", rp.nx);
        TCJsonInt(&js, "ny", rp.ny);
        TCJsonInt(&js, "nz", rp.nz);
        TCJsonString(&js, "mode", rp.mode == TC_RENDER_LABELS ? "labels" : "gray");
        TCJsonReal(&js, "noise", rp.noise);
        TCJsonReal(&js, "blur_px", rp.blur_px);
        TCJsonReal(&js, "tilt_rad", rp.tilt_rad);
        TCJsonObjectEnd(&js);
      }
      TCJsonEnd(&js);
    }
    PetscCall(TCOutputFClose(comm, summary, &fp));
  }
  PetscCall(TCSpiralDestroy(&h->spiral));
  PetscCall(TCDeckDestroy(&deck));
  PetscFunctionReturn(0);
}

static PetscErrorCode GeoMain(int npos, char **pos)
{
  GeoHeld        h;
  PetscErrorCode ierr;

  /* not PetscCall: the error was reported where it arose; free, then pass it on */
  PetscMemzero(&h, sizeof(h));
  ierr = GeoBody(npos, pos, &h);
  (void)TCSpiralDestroy(&h.spiral);
  (void)TCRollNetDestroy(&h.net);
  (void)PetscFree(h.effective);
  return ierr;
}

const TCCommand TCCommandGeometry = {
    "geometry",
    "synthetic jelly roll: network, and synthetic CT with -render",
    "tomocell geometry DECK.yaml [-render vol.h5] [-output net.h5] [-key value ...]",
    GeoHelp,
    GeoMain,
    1,
    1,
    geo_keys,
    (PetscInt)(sizeof(geo_keys) / sizeof(geo_keys[0])),
    "net.h5",
    "net.json"};
