/*
 * tomocell microstructure: generate a synthetic electrode volume, or
 * calender one to a lower porosity. A thin driver over mesh/microstructure.
 */
#include "io/deck.h"
#include "io/output.h"
#include "mesh/microstructure.h"
#include "src/commands.h"
#include "src/tc.h"

#define INF PETSC_MAX_REAL

static const TCKey micro_keys[] = {
    {"output", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL, "volume to write (Data Exchange HDF5)",
     PETSC_FALSE},
    {"calender", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "compress this volume (written by tomocell microstructure) to -porosity instead of "
     "generating one",
     PETSC_TRUE},
    {"size", TC_KEY_STRING, "100,100,100", 0, 0, PETSC_FALSE, NULL,
     "voxels NX,NY,NZ (z through the electrode thickness)", PETSC_FALSE},
    {"voxel_size", TC_KEY_REAL, "1e-6", 0, INF, PETSC_TRUE, NULL, "voxel edge length, m",
     PETSC_FALSE},
    {"porosity", TC_KEY_REAL, "0.4", 0, 1, PETSC_TRUE, NULL, "target pore volume fraction",
     PETSC_FALSE},
    {"cbd_fraction", TC_KEY_REAL, "0", 0, 1, PETSC_FALSE, NULL,
     "carbon-binder volume fraction of the box (label 2)", PETSC_FALSE},
    {"radius_m", TC_KEY_REAL, "5e-6", 0, INF, PETSC_TRUE, NULL, "mean particle radius, m",
     PETSC_FALSE},
    {"radius_sd", TC_KEY_REAL, "0.2", 0, 2, PETSC_FALSE, NULL,
     "relative standard deviation of the (log-normal) radius", PETSC_FALSE},
    {"overlap", TC_KEY_BOOL, "true", 0, 0, PETSC_FALSE, NULL,
     "particles may overlap (Boolean model); false: random sequential addition", PETSC_FALSE},
    {"seed", TC_KEY_INT, "1", 0, 2147483647, PETSC_FALSE, NULL, "random seed", PETSC_FALSE},
};
static const PetscInt micro_nkeys = (PetscInt)(sizeof(micro_keys) / sizeof(micro_keys[0]));

static void MicroHelp(void)
{
  printf("Options:\n");
  TCDeckPrintKeys(micro_keys, micro_nkeys);
  printf("\nLabels: 0 pore, 1 active material, 2 carbon-binder domain. The file holds\n"
         "  /exchange/data (z:y:x, uint8, pixel_size_m) and /microstructure/particles_m\n"
         "  (x, y, z, radius per particle) so that it can be calendered later.\n"
         "Calendering: affine compression along z at fixed areal loading (solids are\n"
         "  incompressible), particle radii grown by one common factor to conserve the\n"
         "  active volume lost to new overlaps, binder deposited again.\n");
}

/* What MicroBody() holds; MicroMain() frees it, also when the run stops on an error
   (a full disk fails the write after the volume is made). */
typedef struct {
  TCMicro m, c;
} MicroHeld;

static PetscErrorCode MicroBody(int npos, char **pos, MicroHeld *h)
{
  MPI_Comm      comm = PETSC_COMM_WORLD;
  TCDeck        deck;
  TCMicroParams p = {0};
  char          out[PETSC_MAX_PATH_LEN], in[PETSC_MAX_PATH_LEN], size[128];
  char          tmp[PETSC_MAX_PATH_LEN];
  PetscBool     set, calender;
  PetscInt      seed = 1;
  PetscMPIInt   rank;
  long long     a, b, d;
  char          extra;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(TCDeckCreate(comm, "microstructure", micro_keys, micro_nkeys, &deck));
  PetscCall(TCDeckLoad(deck, NULL));
  PetscCall(TCDeckGetString(deck, "output", out, sizeof(out), &set));
  PetscCall(TCDeckGetString(deck, "calender", in, sizeof(in), &calender));
  PetscCall(TCDeckGetString(deck, "size", size, sizeof(size), &set));
  PetscCheck(sscanf(size, "%lld,%lld,%lld%c", &a, &b, &d, &extra) == 3 && a > 0 && b > 0 && d > 0,
             comm, PETSC_ERR_USER_INPUT, "size = '%s': expected three positive integers NX,NY,NZ",
             size);
  PetscCheck(a <= PETSC_MAX_INT && b <= PETSC_MAX_INT && d <= PETSC_MAX_INT, comm,
             PETSC_ERR_USER_INPUT, "size = '%s': each of NX,NY,NZ must be at most %d", size,
             (int)PETSC_MAX_INT);
  p.nx = (PetscInt)a, p.ny = (PetscInt)b, p.nz = (PetscInt)d;
  PetscCall(TCDeckGetReal(deck, "voxel_size", &p.voxel_m));
  PetscCall(TCDeckGetReal(deck, "porosity", &p.porosity));
  PetscCall(TCDeckGetReal(deck, "cbd_fraction", &p.cbd_fraction));
  PetscCall(TCDeckGetReal(deck, "radius_m", &p.radius_m));
  PetscCall(TCDeckGetReal(deck, "radius_sd", &p.radius_sd));
  PetscCall(TCDeckGetBool(deck, "overlap", &p.overlap));
  PetscCall(TCDeckGetInt(deck, "seed", &seed));
  p.seed = (unsigned long long)seed;
  PetscCall(TCDeckDestroy(&deck));
  if (calender) PetscCall(TCInputCheck(comm, in));
  PetscCall(TCOutputClaim(comm, out, "-output"));
  PetscCall(TCOutputPrepareFileDir(comm, out));

  /* every rank generates the same volume (same seed, own generator): cheap
     next to the solves, and input errors are then collective */
  if (calender) {
    PetscCall(TCMicroRead(comm, in, &h->m));
    PetscCall(TCMicroCalender(comm, &h->m, p.porosity, &h->c));
    PetscCall(TCMicroFree(&h->m));
    h->m = h->c; /* now held once, as m */
    PetscCall(PetscMemzero(&h->c, sizeof(h->c)));
  } else
    PetscCall(TCMicroGenerate(comm, &p, &h->m));
  PetscCall(TCOutputTempName(comm, out, tmp, sizeof(tmp)));
  PetscCall(TCMicroWrite(comm, &h->m, tmp));
  PetscCall(TCOutputCommit(comm, tmp, out));
  PetscCall(TCPrintf(comm,
                     "tomocell microstructure: %s %lld x %lld x %lld voxels of %g m, %lld "
                     "particles: porosity %.4f, active %.4f, CBD %.4f%s; wrote %s\n",
                     calender ? "calendered" : "generated", (long long)h->m.p.nx,
                     (long long)h->m.p.ny, (long long)h->m.p.nz, (double)h->m.p.voxel_m,
                     (long long)h->m.nparticles, (double)h->m.porosity,
                     (double)h->m.active_fraction, (double)h->m.cbd_fraction, "", out));
  if (calender)
    PetscCall(TCPrintf(comm, "  thickness ratio to the uncalendered electrode %.4f\n",
                       (double)h->m.calender_factor));
  PetscCall(TCMicroFree(&h->m));
  PetscFunctionReturn(0);
}

static PetscErrorCode MicroMain(int npos, char **pos)
{
  MicroHeld      h;
  PetscErrorCode ierr;

  /* not PetscCall: the error was reported where it arose; free, then pass it on */
  PetscMemzero(&h, sizeof(h));
  ierr = MicroBody(npos, pos, &h);
  (void)TCMicroFree(&h.m);
  (void)TCMicroFree(&h.c);
  return ierr;
}

const TCCommand TCCommandMicrostructure = {
    "microstructure",
    "generate a synthetic electrode volume, or calender one to a target porosity",
    "tomocell microstructure -output vol.h5 [-size NX,NY,NZ] [-porosity P] [-cbd_fraction F] "
    "[-calender in.h5]",
    MicroHelp,
    MicroMain,
    0,
    0,
    micro_keys,
    micro_nkeys,
    "volume.h5",
    NULL};
