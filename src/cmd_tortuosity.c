/*
 * tomocell tortuosity VOLUME: tortuosity factor, volume fraction, percolation
 * and specific surface area of one phase of a segmented electrode volume,
 * written to a JSON file (and optionally the concentration and flux fields
 * as HDF5 + XDMF). A thin driver over io/volume and solver/tortuosity.
 */
#include "io/deck.h"
#include "io/h5.h"
#include "io/json.h"
#include "io/output.h"
#include "io/volume.h"
#include "solver/tortuosity.h"
#include "src/commands.h"
#include "src/tc.h"
#include "tcversion.h"
#include <libgen.h>
#include <math.h>

#define INF PETSC_MAX_REAL

static const TCKey tau_keys[] = {
    {"phase", TC_KEY_INT, "0", 0, 255, PETSC_FALSE, NULL,
     "label of the phase to analyse (0 = pore in the usual convention)", PETSC_FALSE},
    {"diffusivity", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "multi-phase: relative diffusivities per label, e.g. 0:1,2:0.2 (replaces -phase)", PETSC_TRUE},
    {"direction", TC_KEY_ENUM, "all", 0, 0, PETSC_FALSE, "x|y|z|all",
     "direction(s) to solve; x is the fastest-varying array index", PETSC_FALSE},
    {"output", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "properties JSON (default output/<volume name>/props.json)", PETSC_TRUE},
    {"field", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,
     "also write concentration and flux fields to this HDF5 file (+ .xmf beside it)", PETSC_TRUE},
    {"voxel_size", TC_KEY_REAL, NULL, 0, INF, PETSC_TRUE, NULL,
     "voxel edge length, m (overrides the file's pixel size)", PETSC_TRUE},
    {"raw_dims", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL, "raw input: NX,NY,NZ (x fastest)",
     PETSC_TRUE},
    {"raw_dtype", TC_KEY_ENUM, "uint8", 0, 0, PETSC_FALSE, "uint8|uint16",
     "raw input: voxel type (little-endian)", PETSC_FALSE},
};
static const PetscInt tau_nkeys = (PetscInt)(sizeof(tau_keys) / sizeof(tau_keys[0]));

static void TauHelp(void)
{
  printf(
      "Input: Data Exchange HDF5 (/exchange/data, z:y:x, integer labels; voxel size from the\n"
      "  dataset attribute pixel_size_m or /measurement/instrument/detector/pixel_size),\n"
      "  a TIFF stack (multi-page .tif, or a directory of .tif slices), or .raw with -raw_dims.\n\n"
      "Options:\n");
  TCDeckPrintKeys(tau_keys, tau_nkeys);
  printf("\nDefinitions (as TauFactor): diffusion only in the phase, unit conductance between\n"
         "  face-sharing voxels, c = 1 and 0 on the two faces normal to the direction (half a\n"
         "  voxel outside the end voxels), no flux on the sides. D_eff/D = F N / A,\n"
         "  tau = eps / (D_eff/D) with eps the phase fraction of the whole box, alpha from\n"
         "  tau = eps^(1 - alpha). Specific surface area by face counting: interior faces\n"
         "  between the phase and other labels x face area / box volume.\n"
         "A direction in which the phase does not percolate is reported (tau null,\n"
         "  percolates false); asking for that single direction is an error (exit 1).\n"
         "Solver: -tau_solver mf (default): matrix-free CG + geometric multigrid on the voxel\n"
         "  grid (2x2x2 aggregation, red-black Gauss-Seidel; -tau_mg_smooth 2, -tau_mg_scale 2,\n"
         "  -tau_mg_coarse 4096, -tau_mg_levels 20), about 55 bytes per voxel.\n"
         "  -tau_solver aij: assembled matrix, CG + hypre BoomerAMG (HMIS, ext+i, P_max 4,\n"
         "  strength 0.5, agg_nl 1) or any -pc_type (which selects aij), ~160 bytes per voxel.\n"
         "  Both: tau from the energy of the solution, CG stopped when the estimated relative\n"
         "  error of tau is below -tau_tol 1e-7; with -field or a -ksp_rtol, on the natural\n"
         "  residual norm instead (-ksp_rtol 1e-9); the other -ksp_* options apply.\n");
}

static PetscErrorCode TauWriteField(MPI_Comm comm, const TCVolume *vol, const char path[],
                                    PetscInt ndir, const PetscInt dirs[], float **conc,
                                    float **flux)
{
  TCH5 h5;
  char tmp[PETSC_MAX_PATH_LEN], xmf[PETSC_MAX_PATH_LEN], name[64], *base, copy[PETSC_MAX_PATH_LEN];
  hsize_t d3[3] = {(hsize_t)vol->nz, (hsize_t)vol->ny, (hsize_t)vol->nx};
  hsize_t d4[4] = {d3[0], d3[1], d3[2], 3};
  hsize_t z0 = (hsize_t)vol->z0, nzl = (hsize_t)(vol->z1 - vol->z0);
  FILE   *fp;

  PetscFunctionBeginUser;
  PetscCall(TCOutputTempName(comm, path, tmp, sizeof(tmp)));
  PetscCall(TCH5Create(comm, tmp, &h5));
  PetscCall(TCH5WriteRows(&h5, "/labels", H5T_NATIVE_UCHAR, 3, d3, z0, nzl, vol->lab));
  for (PetscInt k = 0; k < ndir; k++) {
    snprintf(name, sizeof(name), "/%c/concentration", "xyz"[dirs[k]]);
    PetscCall(TCH5WriteRows(&h5, name, H5T_NATIVE_FLOAT, 3, d3, z0, nzl, conc[k]));
    snprintf(name, sizeof(name), "/%c/flux", "xyz"[dirs[k]]);
    PetscCall(TCH5WriteRows(&h5, name, H5T_NATIVE_FLOAT, 4, d4, z0, nzl, flux[k]));
  }
  PetscCall(TCH5WriteAttrReal(&h5, "/", "voxel_size_m", (double)vol->voxel_m));
  PetscCall(TCH5WriteAttrString(&h5, "/", "volume", vol->path));
  PetscCall(TCH5WriteAttrString(&h5, "/", "axes", "z:y:x"));
  PetscCall(TCH5WriteAttrString(&h5, "/", "tomocell_version", TC_VERSION));
  PetscCall(TCH5Close(&h5));
  PetscCall(TCOutputCommit(comm, tmp, path));

  /* XDMF beside it: a cell-centred 3-D CoRectMesh */
  PetscCall(PetscStrncpy(copy, path, sizeof(copy)));
  base = basename(copy);
  PetscCall(TCPathReplaceExt(path, ".xmf", xmf, sizeof(xmf)));
  PetscCall(TCOutputFOpen(comm, xmf, &fp));
  if (fp) {
    double h = vol->voxel_m > 0 ? vol->voxel_m : 1.0;
    fprintf(fp,
            "<?xml version=\"1.0\" ?>\n<Xdmf Version=\"3.0\">\n <Domain>\n"
            "  <Grid Name=\"tortuosity\" GridType=\"Uniform\">\n"
            "   <Topology TopologyType=\"3DCoRectMesh\" Dimensions=\"%llu %llu %llu\"/>\n"
            "   <Geometry GeometryType=\"ORIGIN_DXDYDZ\">\n"
            "    <DataItem Dimensions=\"3\" Format=\"XML\">0 0 0</DataItem>\n"
            "    <DataItem Dimensions=\"3\" Format=\"XML\">%.9g %.9g %.9g</DataItem>\n"
            "   </Geometry>\n",
            (unsigned long long)d3[0] + 1, (unsigned long long)d3[1] + 1,
            (unsigned long long)d3[2] + 1, h, h, h);
    fprintf(fp,
            "   <Attribute Name=\"labels\" Center=\"Cell\" AttributeType=\"Scalar\">\n"
            "    <DataItem Dimensions=\"%llu %llu %llu\" NumberType=\"UChar\" Precision=\"1\" "
            "Format=\"HDF\">%s:/labels</DataItem>\n   </Attribute>\n",
            (unsigned long long)d3[0], (unsigned long long)d3[1], (unsigned long long)d3[2], base);
    for (PetscInt k = 0; k < ndir; k++) {
      char c = "xyz"[dirs[k]];
      fprintf(fp,
              "   <Attribute Name=\"concentration_%c\" Center=\"Cell\" AttributeType=\"Scalar\">\n"
              "    <DataItem Dimensions=\"%llu %llu %llu\" NumberType=\"Float\" Precision=\"4\" "
              "Format=\"HDF\">%s:/%c/concentration</DataItem>\n   </Attribute>\n"
              "   <Attribute Name=\"flux_%c\" Center=\"Cell\" AttributeType=\"Vector\">\n"
              "    <DataItem Dimensions=\"%llu %llu %llu 3\" NumberType=\"Float\" Precision=\"4\" "
              "Format=\"HDF\">%s:/%c/flux</DataItem>\n   </Attribute>\n",
              c, (unsigned long long)d3[0], (unsigned long long)d3[1], (unsigned long long)d3[2],
              base, c, c, (unsigned long long)d3[0], (unsigned long long)d3[1],
              (unsigned long long)d3[2], base, c);
    }
    fprintf(fp, "  </Grid>\n </Domain>\n</Xdmf>\n");
  }
  PetscCall(TCOutputFClose(comm, xmf, &fp));
  PetscFunctionReturn(0);
}

static PetscErrorCode TauParseDims(const char *s, TCVolumeReadOptions *ro)
{
  long long a, b, c;
  char      extra;

  PetscFunctionBeginUser;
  PetscCheck(sscanf(s, "%lld,%lld,%lld%c", &a, &b, &c, &extra) == 3 && a > 0 && b > 0 && c > 0,
             PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
             "raw_dims = '%s': expected three positive integers NX,NY,NZ", s);
  ro->nx = (PetscInt)a, ro->ny = (PetscInt)b, ro->nz = (PetscInt)c;
  PetscFunctionReturn(0);
}

/* "0:1,2:0.2" -> D[0] = 1, D[2] = 0.2; every value >= 0 and finite, one > 0. */
static PetscErrorCode TauParseDiffusivity(const char *s, PetscReal D[256])
{
  const char *c   = s;
  PetscBool   any = PETSC_FALSE;

  PetscFunctionBeginUser;
  while (*c) {
    char  *end;
    long   l = strtol(c, &end, 10);
    double d;
    PetscCheck(end != c && *end == ':' && l >= 0 && l <= 255, PETSC_COMM_WORLD,
               PETSC_ERR_USER_INPUT,
               "diffusivity = '%s': expected label:value pairs such as 0:1,2:0.2 (labels 0..255), "
               "problem at position %d",
               s, (int)(c - s) + 1);
    c = end + 1;
    d = strtod(c, &end);
    PetscCheck(end != c && (*end == ',' || !*end) && d >= 0 && (d == 0 || PetscIsNormalReal(d)),
               PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
               "diffusivity = '%s': the value for label %ld at position %d must be a finite number "
               ">= 0",
               s, l, (int)(c - s) + 1);
    D[l] = d;
    if (d > 0) any = PETSC_TRUE;
    c = *end ? end + 1 : end;
  }
  PetscCheck(any, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
             "diffusivity = '%s': at least one label needs a positive diffusivity", s);
  PetscFunctionReturn(0);
}

/* What TauBody() holds; TauMain() frees it, also when the run stops on an error. */
typedef struct {
  TCVolume vol;
  TCTau    tau;
  float   *conc[3];
  float   *flux[3];
} TauHeld;

static PetscErrorCode TauBody(int npos, char **pos, TauHeld *h)
{
  MPI_Comm            comm = PETSC_COMM_WORLD;
  TCDeck              deck;
  TCVolumeReadOptions ro = {0, 0, 0, 1, 0};
  TCTauPhase          ps;
  TCTauDirection      res[3];
  PetscInt            phase = 0, dsel = 3, dirs[3], ndir = 0, dtype = 0;
  char                out[PETSC_MAX_PATH_LEN], field[PETSC_MAX_PATH_LEN], dims[256];
  PetscBool           set, hasfield, multi;
  char                diff[256], pname[300];
  PetscReal           D[256] = {0};
  PetscMPIInt         size;
  PetscLogDouble      t0, t1, t2, t3;
  double              rss, ssa = NAN, tau_mean = 0, alpha = NAN;
  PetscInt            nperc = 0;
  FILE               *fp;
  long long           nlab[256] = {0}, nvox = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(TCDeckCreate(comm, "tortuosity", tau_keys, tau_nkeys, &deck));
  PetscCall(TCDeckLoad(deck, NULL));
  PetscCall(TCDeckGetInt(deck, "phase", &phase));
  PetscCall(TCDeckGetEnum(deck, "direction", &dsel));
  PetscCall(TCDeckGetString(deck, "output", out, sizeof(out), &set));
  if (!set) {
    char copy[PETSC_MAX_PATH_LEN], *b, *dot;
    PetscCall(PetscStrncpy(copy, pos[0], sizeof(copy)));
    b   = basename(copy);
    dot = strrchr(b, '.');
    if (dot && dot != b) *dot = 0;
    snprintf(out, sizeof(out), "output/%s/props.json", b);
    PetscCall(TCNoteDefaultOutput(comm, "tortuosity", out));
  }
  PetscCall(TCDeckGetString(deck, "field", field, sizeof(field), &hasfield));
  PetscCall(TCDeckGetReal(deck, "voxel_size", &ro.voxel_m));
  PetscCall(TCDeckGetString(deck, "diffusivity", diff, sizeof(diff), &multi));
  if (multi)
    PetscCall(TauParseDiffusivity(diff, D));
  else
    D[phase] = 1;
  if (multi)
    snprintf(pname, sizeof(pname), "phases with D %s", diff);
  else
    snprintf(pname, sizeof(pname), "phase %d", (int)phase);
  PetscCall(TCDeckGetString(deck, "raw_dims", dims, sizeof(dims), &set));
  if (set) PetscCall(TauParseDims(dims, &ro));
  PetscCall(TCDeckGetEnum(deck, "raw_dtype", &dtype));
  ro.raw_bytes = dtype == 0 ? 1 : 2;
  PetscCall(TCDeckDestroy(&deck));

  /* output directories must be writable before the work starts */
  PetscCall(TCOutputClaim(comm, out, "-output"));
  if (hasfield) PetscCall(TCOutputClaim(comm, field, "-field"));
  PetscCall(TCOutputPrepareFileDir(comm, out));
  if (hasfield) PetscCall(TCOutputPrepareFileDir(comm, field));

  PetscCall(TCVolumeRead(comm, pos[0], &ro, &h->vol));
  PetscCall(PetscTime(&t1));
  PetscCall(TCPrintf(
      comm, "tomocell tortuosity %s: %lld x %lld x %lld voxels (x y z)%s, %s, %d rank(s)\n", pos[0],
      (long long)h->vol.nx, (long long)h->vol.ny, (long long)h->vol.nz,
      h->vol.voxel_m > 0 ? "" : ", voxel size unknown", pname, size));
  if (dsel == 3) {
    for (PetscInt d = 0; d < (h->vol.nz > 1 ? 3 : 2); d++) dirs[ndir++] = d;
  } else {
    PetscCheck(!(dsel == 2 && h->vol.nz == 1), comm, PETSC_ERR_USER_INPUT,
               "%s is a 2-D image (one slice): it has no z direction; ask for -direction x or y",
               pos[0]);
    dirs[ndir++] = dsel;
  }

  /* the volume fraction of every label (pore, active, binder, ...), so that a
     cell model can take its active fraction from the same volume */
  {
    size_t nloc = (size_t)(h->vol.z1 - h->vol.z0) * (size_t)h->vol.ny * (size_t)h->vol.nx;
    for (size_t i = 0; i < nloc; i++) nlab[h->vol.lab[i]]++;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, nlab, 256, MPI_LONG_LONG, MPI_SUM, comm));
    for (int l = 0; l < 256; l++) nvox += nlab[l];
  }
  PetscCall(TCTauCreate(&h->vol, D, &h->tau));
  PetscCall(TCTauGetPhase(h->tau, &ps));
  if (h->vol.voxel_m > 0)
    ssa = (double)ps.interface_faces / (double)ps.total_voxels / h->vol.voxel_m;
  PetscCall(TCPrintf(comm,
                     "  volume fraction %.6f, %lld cluster(s), isolated %.4f of the phase, "
                     "interface %lld faces%s",
                     (double)ps.volume_fraction, ps.clusters, (double)ps.isolated_fraction,
                     ps.interface_faces, isnan(ssa) ? "\n" : ""));
  if (!isnan(ssa)) PetscCall(TCPrintf(comm, " (specific surface area %.6g m^-1)\n", ssa));
  PetscCall(PetscTime(&t2));
  for (PetscInt k = 0; k < ndir; k++) {
    TCTauDirection *r = &res[k];
    char            c = "xyz"[dirs[k]];
    PetscCall(TCTauSolve(h->tau, dirs[k], r, hasfield ? &h->conc[k] : NULL,
                         hasfield ? &h->flux[k] : NULL));
    if (!r->percolates) {
      PetscCheck(dsel == 3, comm, PETSC_ERR_USER_INPUT,
                 "%s does not percolate in %c: no 6-connected cluster touches both %c faces "
                 "of %s, so D_eff = 0 and tau is infinite (%.4f of the phase touches one face)",
                 pname, c, c, pos[0], (double)r->blind_fraction);
      PetscCall(TCPrintf(comm, "  %c: does not percolate (tau infinite, D_eff/D = 0)\n", c));
      continue;
    }
    PetscCall(TCPrintf(comm,
                       "  %c: tau %.6f, D_eff/D %.6f, percolating %.4f, alpha %.4f "
                       "(%lld unknowns, %s+%s %d it, %.2f s)\n",
                       c, (double)r->tau, (double)r->relative_diffusivity,
                       (double)r->percolating_fraction, (double)r->bruggeman_alpha,
                       (long long)r->unknowns, r->ksp_type, r->pc_type, (int)r->iterations,
                       (double)(r->setup_s + r->solve_s)));
    tau_mean += r->tau;
    nperc++;
  }
  if (nperc) {
    tau_mean /= nperc;
    if (ps.volume_fraction < 1) alpha = 1 - log(tau_mean) / log((double)ps.volume_fraction);
  }
  PetscCall(PetscTime(&t3));
  if (hasfield) PetscCall(TauWriteField(comm, &h->vol, field, ndir, dirs, h->conc, h->flux));
  PetscCall(TCPeakRSS(comm, &rss, NULL));

  PetscCall(TCOutputFOpen(comm, out, &fp));
  if (fp) {
    TCJson js;
    TCJsonBegin(&js, fp);
    TCJsonString(&js, "tomocell_version", TC_VERSION);
    TCJsonString(&js, "command", "tortuosity");
    TCJsonString(&js, "volume", pos[0]);
    if (multi) {
      TCJsonObjectBegin(&js, "diffusivity");
      for (int l = 0; l < 256; l++)
        if (D[l] > 0) {
          char key[8];
          snprintf(key, sizeof(key), "%d", l);
          TCJsonReal(&js, key, (double)D[l]);
        }
      TCJsonObjectEnd(&js);
    } else
      TCJsonInt(&js, "phase", (long long)phase);
    TCJsonArrayBegin(&js, "shape_xyz");
    TCJsonInt(&js, NULL, (long long)h->vol.nx);
    TCJsonInt(&js, NULL, (long long)h->vol.ny);
    TCJsonInt(&js, NULL, (long long)h->vol.nz);
    TCJsonArrayEnd(&js);
    if (h->vol.voxel_m > 0)
      TCJsonReal(&js, "voxel_size_m", (double)h->vol.voxel_m);
    else
      TCJsonNull(&js, "voxel_size_m");
    TCJsonReal(&js, "volume_fraction", (double)ps.volume_fraction);
    TCJsonObjectBegin(&js, "label_fractions");
    for (int l = 0; l < 256; l++) {
      char key[8];
      if (!nlab[l]) continue;
      snprintf(key, sizeof(key), "%d", l);
      TCJsonReal(&js, key, (double)nlab[l] / (double)nvox);
    }
    TCJsonObjectEnd(&js);
    TCJsonReal(&js, "specific_surface_area_m-1", ssa);
    TCJsonReal(&js, "specific_surface_area_voxel-1",
               (double)ps.interface_faces / (double)ps.total_voxels);
    TCJsonString(&js, "specific_surface_area_definition",
                 "face count: interior voxel faces between the phase and any other label x face "
                 "area / box volume; box-boundary faces not counted");
    TCJsonInt(&js, "interface_faces", ps.interface_faces);
    TCJsonInt(&js, "clusters", ps.clusters);
    TCJsonReal(&js, "isolated_fraction", (double)ps.isolated_fraction);
    TCJsonReal(&js, "bruggeman_alpha", alpha);
    TCJsonString(&js, "bruggeman_alpha_definition",
                 "tau = eps^(1 - alpha), tau the mean over the percolating directions solved");
    TCJsonObjectBegin(&js, "directions");
    for (PetscInt k = 0; k < ndir; k++) {
      TCTauDirection *r      = &res[k];
      char            key[2] = {"xyz"[dirs[k]], 0};
      TCJsonObjectBegin(&js, key);
      TCJsonBool(&js, "percolates", r->percolates);
      TCJsonReal(&js, "tau", r->percolates ? (double)r->tau : NAN);
      TCJsonReal(&js, "relative_diffusivity", (double)r->relative_diffusivity);
      TCJsonReal(&js, "percolating_fraction", (double)r->percolating_fraction);
      TCJsonReal(&js, "blind_fraction", (double)r->blind_fraction);
      TCJsonReal(&js, "bruggeman_alpha", (double)r->bruggeman_alpha);
      if (r->percolates) {
        TCJsonReal(&js, "flux_balance_rel_error",
                   fabs((double)(r->flux_in - r->flux_out)) / (double)r->flux_in);
        TCJsonInt(&js, "unknowns", (long long)r->unknowns);
        TCJsonString(&js, "ksp_type", r->ksp_type);
        TCJsonString(&js, "pc_type", r->pc_type);
        TCJsonInt(&js, "iterations", (long long)r->iterations);
        TCJsonReal(&js, "residual_norm", (double)r->residual_norm);
        if (r->loop_its > 0) {
          /* per CG iteration, after the first residual: time and (mf) the
             counted memory traffic, per box voxel and as a bandwidth */
          double vox = (double)ps.total_voxels;
          TCJsonReal(&js, "iteration_s", r->loop_s / (double)r->loop_its);
          if (r->loop_bytes > 0) {
            TCJsonReal(&js, "traffic_bytes_per_voxel_iteration",
                       r->loop_bytes / (double)r->loop_its / vox);
            TCJsonReal(&js, "traffic_GB_per_s", r->loop_bytes / r->loop_s / 1e9);
          }
        }
        TCJsonReal(&js, "setup_s", (double)r->setup_s);
        TCJsonReal(&js, "solve_s", (double)r->solve_s);
      }
      TCJsonObjectEnd(&js);
    }
    TCJsonObjectEnd(&js);
    TCJsonInt(&js, "ranks", (long long)size);
    TCJsonObjectBegin(&js, "timing_s");
    TCJsonReal(&js, "read", t1 - t0);
    TCJsonReal(&js, "clusters", t2 - t1);
    TCJsonReal(&js, "solve", t3 - t2);
    TCJsonReal(&js, "total", t3 - t0);
    TCJsonObjectEnd(&js);
    TCJsonObjectBegin(&js, "memory");
    TCJsonReal(&js, "peak_rss_bytes_all_ranks", rss);
    TCJsonReal(&js, "peak_rss_bytes_per_voxel", rss / (double)ps.total_voxels);
    TCJsonObjectEnd(&js);
    TCJsonEnd(&js);
  }
  PetscCall(TCOutputFClose(comm, out, &fp));
  PetscCall(TCPrintf(comm, "  bruggeman alpha %.4f (mean tau %.6f); wrote %s%s%s (%.2f s)\n", alpha,
                     tau_mean, out, hasfield ? " and " : "", hasfield ? field : "", t3 - t0));
  for (PetscInt k = 0; k < 3; k++) {
    PetscCall(PetscFree(h->conc[k]));
    PetscCall(PetscFree(h->flux[k]));
  }
  PetscCall(TCTauDestroy(&h->tau));
  PetscCall(TCVolumeFree(&h->vol));
  PetscFunctionReturn(0);
}

static PetscErrorCode TauMain(int npos, char **pos)
{
  TauHeld        h;
  PetscErrorCode ierr;

  /* not PetscCall: the error was reported where it arose; free, then pass it on */
  PetscMemzero(&h, sizeof(h));
  ierr = TauBody(npos, pos, &h);
  (void)TCTauDestroy(&h.tau);
  (void)TCVolumeFree(&h.vol);
  (void)PetscFree(h.conc[0]);
  (void)PetscFree(h.conc[1]);
  (void)PetscFree(h.conc[2]);
  (void)PetscFree(h.flux[0]);
  (void)PetscFree(h.flux[1]);
  (void)PetscFree(h.flux[2]);
  return ierr;
}

const TCCommand TCCommandTortuosity = {
    "tortuosity",
    "tortuosity factor, porosity, percolation and surface area of a segmented volume",
    "tomocell tortuosity VOLUME [-phase N] [-direction x|y|z|all] [-output props.json] "
    "[-field out.h5]",
    TauHelp,
    TauMain,
    1,
    1,
    tau_keys,
    tau_nkeys,
    "props.json",
    "props.json"};
