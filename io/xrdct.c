/*
 * Measured XRD-CT maps (see xrdct.h): HDF5 group /xrdct, TIFF pages or a CSV
 * grid, converted to temperature on read so that everything downstream works
 * in kelvin.
 */
#include "io/xrdct.h"
#include "io/output.h"
#include "io/h5.h"
#include "io/stack.h"
#include "src/tc.h"
#include <ctype.h>
#include <math.h>

PetscReal TCLatticeStrainToDT(const TCLattice *lat, PetscReal e)
{
  PetscReal a = lat->alpha_per_K, b = lat->beta_per_K2, disc;
  if (b == 0) return e / a;
  disc = a * a + 4 * b * e;
  if (disc < 0) return NAN;
  /* the root of b dT^2 + a dT - e = 0 that tends to e/a as b -> 0, in the
     form without cancellation */
  return 2 * e / (a + PetscSqrtReal(disc));
}

PetscReal TCLatticeDTToStrain(const TCLattice *lat, PetscReal dT)
{
  return lat->alpha_per_K * dT + lat->beta_per_K2 * dT * dT;
}

PetscReal TCLatticeToTemperature(const TCLattice *lat, PetscReal a_A)
{
  return lat->T0_K + TCLatticeStrainToDT(lat, (a_A - lat->a0_A) / lat->a0_A);
}

PetscReal TCLatticeFromTemperature(const TCLattice *lat, PetscReal T_K)
{
  return lat->a0_A * (1 + TCLatticeDTToStrain(lat, T_K - lat->T0_K));
}

PetscErrorCode TCXrdMapReset(TCXrdMap *map)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(map->time_s));
  PetscCall(PetscFree(map->T_K));
  PetscCall(PetscFree(map->sigma_K));
  PetscCall(PetscFree(map->valid));
  PetscCall(PetscMemzero(map, sizeof(*map)));
  PetscFunctionReturn(0);
}

static PetscBool XrdExists(hid_t file, const char path[])
{
  return (PetscBool)(H5Lexists(file, "/xrdct", H5P_DEFAULT) > 0 &&
                     H5Lexists(file, path, H5P_DEFAULT) > 0);
}

/* A [ny, nx] or [nt, ny, nx] dataset as doubles; shape checked against
   (nt, ny, nx) when those are set (> 0). */
static PetscErrorCode XrdReadArray(TCH5 *h5, const char name[], PetscBool allow3, PetscInt *nt,
                                   PetscInt *ny, PetscInt *nx, PetscReal **out)
{
  int      nd;
  hsize_t  d[4];
  PetscInt t, y, x;

  PetscFunctionBeginUser;
  PetscCall(TCH5GetDims(h5, name, &nd, d));
  PetscCheck(nd == 2 || (allow3 && nd == 3), h5->comm, PETSC_ERR_USER_INPUT,
             "%s: %s has %d dimensions; expected (y, x)%s", h5->path, name, nd,
             allow3 ? " or (time, y, x)" : "");
  t = nd == 3 ? (PetscInt)d[0] : 1;
  y = (PetscInt)d[nd - 2];
  x = (PetscInt)d[nd - 1];
  PetscCheck(t > 0 && y > 0 && x > 0, h5->comm, PETSC_ERR_USER_INPUT, "%s: %s is empty", h5->path,
             name);
  if (*ny > 0)
    PetscCheck(y == *ny && x == *nx && (nd == 2 || t == *nt), h5->comm, PETSC_ERR_USER_INPUT,
               "%s: %s is %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT
               " (t, y, x) but the map is %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT,
               h5->path, name, t, y, x, *nt, *ny, *nx);
  else {
    *nt = t;
    *ny = y;
    *nx = x;
  }
  PetscCall(PetscMalloc1(t * y * x, out));
  PetscCall(TCH5ReadRows(h5, name, H5T_NATIVE_DOUBLE, 0, d[0], *out));
  PetscFunctionReturn(0);
}

/* HDF5: the lattice or temperature map, times, mask, uncertainty and
   calibration from /xrdct. */
static PetscErrorCode XrdReadHDF5(MPI_Comm comm, const char path[], const TCXrdOptions *opt,
                                  TCXrdMap *map, PetscReal **raw, PetscReal **rawsig,
                                  PetscReal **ref, PetscReal **mask, PetscBool *havemask)
{
  TCH5      h5;
  PetscBool hasA, hasT, found;
  double    v;
  PetscInt  one = 1, ny0, nx0;

  PetscFunctionBeginUser;
  PetscCall(TCH5Open(comm, path, &h5));
  hasA = XrdExists(h5.file, "/xrdct/lattice_A");
  hasT = XrdExists(h5.file, "/xrdct/temperature_K");
  PetscCheck(hasA || hasT, comm, PETSC_ERR_USER_INPUT,
             "%s: no measured map: expected dataset /xrdct/lattice_A (Cu lattice parameter, "
             "Angstrom) or /xrdct/temperature_K",
             path);
  PetscCheck(!(hasA && hasT), comm, PETSC_ERR_USER_INPUT,
             "%s: both /xrdct/lattice_A and /xrdct/temperature_K exist; keep one", path);
  map->quantity = hasA ? TC_XRD_QUANTITY_LATTICE : TC_XRD_QUANTITY_TEMPERATURE;
  PetscCheck(opt->quantity == TC_XRD_QUANTITY_FILE || opt->quantity == map->quantity, comm,
             PETSC_ERR_USER_INPUT, "%s: -map_quantity %s, but the file holds %s", path,
             opt->quantity == TC_XRD_QUANTITY_LATTICE ? "lattice" : "temperature",
             hasA ? "/xrdct/lattice_A" : "/xrdct/temperature_K");
  PetscCall(XrdReadArray(&h5, hasA ? "/xrdct/lattice_A" : "/xrdct/temperature_K", PETSC_TRUE,
                         &map->nt, &map->ny, &map->nx, raw));
  if (XrdExists(h5.file, hasA ? "/xrdct/uncertainty_A" : "/xrdct/uncertainty_K"))
    PetscCall(XrdReadArray(&h5, hasA ? "/xrdct/uncertainty_A" : "/xrdct/uncertainty_K", PETSC_TRUE,
                           &map->nt, &map->ny, &map->nx, rawsig));
  ny0       = map->ny;
  nx0       = map->nx;
  *havemask = XrdExists(h5.file, "/xrdct/mask");
  if (*havemask) PetscCall(XrdReadArray(&h5, "/xrdct/mask", PETSC_FALSE, &one, &ny0, &nx0, mask));
  if (hasA && XrdExists(h5.file, "/xrdct/reference_lattice_A")) {
    PetscCall(XrdReadArray(&h5, "/xrdct/reference_lattice_A", PETSC_FALSE, &one, &ny0, &nx0, ref));
    PetscCall(TCH5ReadAttrReal(&h5, "/xrdct/reference_lattice_A", "temperature_K", &v, &found));
    PetscCheck(found && v > 0, comm, PETSC_ERR_USER_INPUT,
               "%s: /xrdct/reference_lattice_A needs the attribute temperature_K (the uniform "
               "temperature of the calibration scan, K)",
               path);
    map->calibrated    = PETSC_TRUE;
    map->reference_T_K = v;
  }
  map->pixel_size_m = opt->pixel_size_m;
  if (!(map->pixel_size_m > 0)) {
    PetscCall(TCH5ReadAttrReal(&h5, "/xrdct", "pixel_size_m", &v, &found));
    PetscCheck(found, comm, PETSC_ERR_USER_INPUT,
               "%s: no pixel size: attribute pixel_size_m on /xrdct is missing; give it with "
               "-pixel_size (m)",
               path);
    PetscCheck(v > 0 && v < 1, comm, PETSC_ERR_USER_INPUT,
               "%s: pixel_size_m = %s on /xrdct; expected metres in (0, 1)", path, TCG(v).s);
    map->pixel_size_m = v;
  }
  map->slice_height_m = opt->slice_height_m;
  if (!isfinite(map->slice_height_m)) {
    PetscCall(TCH5ReadAttrReal(&h5, "/xrdct", "slice_height_m", &v, &found));
    PetscCheck(found && isfinite(v), comm, PETSC_ERR_USER_INPUT,
               "%s: no slice height: attribute slice_height_m on /xrdct is missing; give it "
               "with -slice_height (m, in the frame of the simulation)",
               path);
    map->slice_height_m = v;
  }
  PetscCall(PetscMalloc1(map->nt, &map->time_s));
  if (opt->ntimes > 0) {
    PetscCheck(opt->ntimes == map->nt, comm, PETSC_ERR_USER_INPUT,
               "-time gives %" PetscInt_FMT " time(s) but %s holds %" PetscInt_FMT " map(s)",
               opt->ntimes, path, map->nt);
    PetscCall(PetscArraycpy(map->time_s, opt->times_s, map->nt));
  } else {
    int     nd;
    hsize_t d[4];
    PetscCheck(XrdExists(h5.file, "/xrdct/time_s"), comm, PETSC_ERR_USER_INPUT,
               "%s: no time stamps: dataset /xrdct/time_s is missing; give them with -time "
               "(s, comma-separated, one per map)",
               path);
    PetscCall(TCH5GetDims(&h5, "/xrdct/time_s", &nd, d));
    PetscCheck(nd == 1 && (PetscInt)d[0] == map->nt, comm, PETSC_ERR_USER_INPUT,
               "%s: /xrdct/time_s has %llu value(s) for %" PetscInt_FMT " map(s)", path,
               (unsigned long long)d[0], map->nt);
    PetscCall(TCH5ReadRows(&h5, "/xrdct/time_s", H5T_NATIVE_DOUBLE, 0, d[0], map->time_s));
  }
  PetscCall(TCH5Close(&h5));
  PetscFunctionReturn(0);
}

/* CSV: one 2-D map, rows of numbers separated by commas (or blanks); an
   empty cell or nan is an invalid pixel; lines starting with # are comments. */
static PetscErrorCode XrdReadCSV(MPI_Comm comm, const char path[], TCXrdMap *map, PetscReal **raw)
{
  FILE      *fp;
  char      *line = NULL;
  size_t     cap = 0, n = 0, alloc = 0;
  PetscInt   ny = 0, nx = -1;
  PetscReal *v = NULL;

  PetscFunctionBeginUser;
  PetscCall(TCInputCheck(comm, path));
  fp = fopen(path, "r");
  PetscCheck(fp, comm, PETSC_ERR_FILE_OPEN, "cannot read measured map %s", path);
  while (getline(&line, &cap, fp) > 0) {
    char    *p    = line, *end;
    PetscInt cols = 0;
    while (isspace((unsigned char)*p)) p++;
    if (!*p || *p == '#') continue;
    for (;;) {
      double x;
      while (*p == ' ' || *p == '\t') p++;
      if (*p == ',' || *p == '\n' || *p == '\r' || !*p)
        x = NAN;
      else {
        x = strtod(p, &end);
        if (end == p) {
          fclose(fp);
          free(line);
          PetscCall(PetscFree(v));
          SETERRQ(comm, PETSC_ERR_USER_INPUT,
                  "%s: row %" PetscInt_FMT " column %" PetscInt_FMT
                  ": not a number; expected numbers separated by commas",
                  path, ny + 1, cols + 1);
        }
        p = end;
      }
      if (n == alloc) {
        PetscReal *w;
        alloc = alloc ? 2 * alloc : 4096;
        PetscCall(PetscMalloc1(alloc, &w));
        if (v) PetscCall(PetscArraycpy(w, v, n));
        PetscCall(PetscFree(v));
        v = w;
      }
      v[n++] = x;
      cols++;
      while (*p == ' ' || *p == '\t') p++;
      if (*p == ',')
        p++;
      else if (*p == ' ' || *p == '\t')
        continue;
      else
        break;
    }
    if (nx < 0) nx = cols;
    if (cols != nx) {
      fclose(fp);
      free(line);
      PetscCall(PetscFree(v));
      SETERRQ(comm, PETSC_ERR_USER_INPUT,
              "%s: row %" PetscInt_FMT " has %" PetscInt_FMT
              " columns, the first row %" PetscInt_FMT,
              path, ny + 1, cols, nx);
    }
    ny++;
  }
  fclose(fp);
  free(line);
  PetscCheck(ny > 0 && nx > 0, comm, PETSC_ERR_USER_INPUT, "%s: the CSV map is empty", path);
  map->nt = 1;
  map->ny = ny;
  map->nx = nx;
  *raw    = v;
  PetscFunctionReturn(0);
}

static PetscErrorCode XrdReadTIFF(MPI_Comm comm, const char path[], const TCXrdOptions *opt,
                                  TCXrdMap *map, PetscReal **raw)
{
  TCStack  st;
  PetscInt nz, ny, nx;
  float   *buf;

  PetscFunctionBeginUser;
  PetscCall(TCStackOpen(comm, path, NULL, opt->pixel_size_m, &st));
  PetscCall(TCStackGetSizes(st, &nz, &ny, &nx));
  PetscCall(TCStackGetPixelSize(st, &map->pixel_size_m));
  map->nt = nz;
  map->ny = ny;
  map->nx = nx;
  PetscCall(PetscMalloc1(nz * ny * nx, raw));
  PetscCall(PetscMalloc1(ny * nx, &buf));
  for (PetscInt k = 0; k < nz; k++) {
    PetscCall(TCStackReadSlice(st, k, buf));
    for (PetscInt q = 0; q < ny * nx; q++) (*raw)[k * ny * nx + q] = buf[q];
  }
  PetscCall(PetscFree(buf));
  PetscCall(TCStackClose(&st));
  PetscFunctionReturn(0);
}

static PetscBool XrdHasExt(const char path[], const char ext[])
{
  size_t n = strlen(path), m = strlen(ext);
  return (PetscBool)(n >= m && !strcasecmp(path + n - m, ext));
}

PetscErrorCode TCXrdMapRead(MPI_Comm comm, const char path[], const TCXrdOptions *opt,
                            TCXrdMap *map)
{
  PetscReal *raw = NULL, *rawsig = NULL, *ref = NULL, *mask = NULL;
  PetscBool  havemask = PETSC_FALSE, csv, tiff;
  PetscInt   np;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(map, sizeof(*map)));
  csv  = XrdHasExt(path, ".csv");
  tiff = (PetscBool)(XrdHasExt(path, ".tif") || XrdHasExt(path, ".tiff"));
  if (csv || tiff) {
    PetscCheck(opt->quantity != TC_XRD_QUANTITY_FILE, comm, PETSC_ERR_USER_INPUT,
               "%s: a %s map does not say what it holds; give -map_quantity lattice (Angstrom) "
               "or temperature (K)",
               path, csv ? "CSV" : "TIFF");
    map->quantity = opt->quantity;
    if (csv)
      PetscCall(XrdReadCSV(comm, path, map, &raw));
    else
      PetscCall(XrdReadTIFF(comm, path, opt, map, &raw));
    if (csv) {
      PetscCheck(opt->pixel_size_m > 0, comm, PETSC_ERR_USER_INPUT,
                 "%s: no pixel size: a CSV map carries none; give it with -pixel_size (m)", path);
      map->pixel_size_m = opt->pixel_size_m;
    }
    PetscCheck(isfinite(opt->slice_height_m), comm, PETSC_ERR_USER_INPUT,
               "%s: no slice height; give it with -slice_height (m, in the frame of the "
               "simulation)",
               path);
    map->slice_height_m = opt->slice_height_m;
    PetscCheck(opt->ntimes == map->nt, comm, PETSC_ERR_USER_INPUT,
               "%s: %" PetscInt_FMT " map(s) need as many time stamps; give them with -time (s, "
               "comma-separated), got %" PetscInt_FMT,
               path, map->nt, opt->ntimes);
    PetscCall(PetscMalloc1(map->nt, &map->time_s));
    PetscCall(PetscArraycpy(map->time_s, opt->times_s, map->nt));
  } else
    PetscCall(XrdReadHDF5(comm, path, opt, map, &raw, &rawsig, &ref, &mask, &havemask));
  for (PetscInt k = 1; k < map->nt; k++)
    PetscCheck(map->time_s[k] > map->time_s[k - 1], comm, PETSC_ERR_USER_INPUT,
               "%s: the time stamps must increase (map %" PetscInt_FMT ": %s s after %s s)", path,
               k, TCG(map->time_s[k]).s, TCG(map->time_s[k - 1]).s);

  /* to temperature; invalid pixels become NaN */
  np = map->ny * map->nx;
  PetscCall(PetscMalloc1(map->nt * np, &map->T_K));
  if (rawsig) PetscCall(PetscMalloc1(map->nt * np, &map->sigma_K));
  PetscCall(PetscCalloc1(np, &map->valid));
  for (PetscInt k = 0; k < map->nt; k++)
    for (PetscInt q = 0; q < np; q++) {
      PetscReal v = raw[k * np + q], T = NAN, s = NAN;
      PetscBool ok = (PetscBool)(isfinite(v) && (!havemask || mask[q] != 0));
      if (ok && map->quantity == TC_XRD_QUANTITY_LATTICE) {
        const TCLattice *L    = &opt->lattice;
        PetscReal        aref = ref ? ref[q] : L->a0_A, Tref = ref ? map->reference_T_K : L->T0_K;
        ok = (PetscBool)(v > 0 && isfinite(aref) && aref > 0);
        if (ok) {
          PetscReal dT = TCLatticeStrainToDT(L, (v - aref) / aref);
          T            = Tref + dT;
          if (rawsig) s = rawsig[k * np + q] / (aref * (L->alpha_per_K + 2 * L->beta_per_K2 * dT));
        }
      } else if (ok) {
        T = v;
        if (rawsig) s = rawsig[k * np + q];
      }
      ok                   = (PetscBool)(ok && isfinite(T));
      map->T_K[k * np + q] = ok ? T : NAN;
      /* a raw uncertainty <= 0 stays as it is, for the check below */
      if (rawsig)
        map->sigma_K[k * np + q] = !ok                      ? NAN
                                   : rawsig[k * np + q] > 0 ? PetscAbsReal(s)
                                                            : rawsig[k * np + q];
      if (ok) map->valid[q] = 1;
    }
  for (PetscInt q = 0; q < np; q++) map->nvalid += map->valid[q];
  PetscCall(PetscFree(raw));
  PetscCall(PetscFree(rawsig));
  PetscCall(PetscFree(ref));
  PetscCall(PetscFree(mask));
  /* a temperature at or below 0 K (a map in degrees Celsius, a lattice
     parameter far off the reference) and a zero uncertainty (chi^2 of 1e300)
     are wrong inputs, not results */
  for (PetscInt i = 0; i < map->nt * np; i++) {
    char where[96], what[200] = "";
    if (!isfinite(map->T_K[i]) ||
        (map->T_K[i] > 0 && (!map->sigma_K || (map->sigma_K[i] > 0 && isfinite(map->sigma_K[i])))))
      continue;
    snprintf(where, sizeof(where),
             "map %" PetscInt_FMT ", pixel (y %" PetscInt_FMT ", x %" PetscInt_FMT ")", i / np,
             (i % np) / map->nx, i % map->nx);
    if (isfinite(map->T_K[i]) && !(map->T_K[i] > 0))
      snprintf(
          what, sizeof(what), "holds %g K: temperatures are in kelvin and positive%s",
          (double)map->T_K[i],
          map->quantity == TC_XRD_QUANTITY_LATTICE
              ? " (check the lattice reference -lattice_a0_A, -lattice_T0_K, -lattice_alpha_per_K)"
              : " (a map in degrees Celsius? add 273.15)");
    else if (map->sigma_K && isfinite(map->T_K[i]) &&
             !(map->sigma_K[i] > 0 && isfinite(map->sigma_K[i])))
      snprintf(what, sizeof(what),
               "has the uncertainty %g %s: uncertainties must be positive (leave the uncertainty "
               "dataset out for an unweighted comparison)",
               (double)map->sigma_K[i],
               map->quantity == TC_XRD_QUANTITY_LATTICE ? "Angstrom" : "K");
    if (what[0]) {
      PetscCall(TCXrdMapReset(map));
      SETERRQ(comm, PETSC_ERR_USER_INPUT, "%s: %s %s", path, where, what);
    }
  }
  PetscCheck(map->nvalid > 0, comm, PETSC_ERR_USER_INPUT,
             "%s: the map has no valid pixel (mask empty%s, or no finite value)", path,
             map->quantity == TC_XRD_QUANTITY_LATTICE ? ", no positive lattice parameter" : "");
  PetscFunctionReturn(0);
}
