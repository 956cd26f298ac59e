/*
 * Labelled voxel volumes: Data Exchange HDF5, TIFF stacks and raw files,
 * read in z-slabs (see volume.h).
 *
 * Every rank reads only its own planes: HDF5 by hyperslab (independent
 * transfers through the MPI-IO driver), TIFF by page or file, raw by seek.
 * Labels are checked while they are narrowed to uint8.
 */
#include "io/volume.h"
#include "io/output.h"
#include "io/h5.h"
#include "src/tc.h"
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>

void TCVolumeSlab(PetscInt nz, PetscMPIInt size, PetscMPIInt r, PetscInt *z0, PetscInt *z1)
{
  PetscInt q = nz / size, rem = nz % size;

  *z0 = r * q + PetscMin(r, rem);
  *z1 = *z0 + q + (r < rem ? 1 : 0);
}

static PetscErrorCode VolumeAllocate(MPI_Comm comm, TCVolume *vol)
{
  PetscMPIInt rank, size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  vol->comm = comm;
  {
    char   what[160];
    double n = (double)vol->nx * vol->ny * vol->nz;
    snprintf(what, sizeof(what), "volume %lld x %lld x %lld voxels", (long long)vol->nz,
             (long long)vol->ny, (long long)vol->nx);
    PetscCall(TCCheckSize(comm, what, n, n / size, "crop the volume"));
  }
  TCVolumeSlab(vol->nz, size, rank, &vol->z0, &vol->z1);
  PetscCall(PetscCalloc1((size_t)(vol->z1 - vol->z0) * vol->ny * vol->nx + 1, &vol->lab));
  PetscFunctionReturn(0);
}

PetscErrorCode TCVolumeFree(TCVolume *vol)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(vol->lab));
  PetscFunctionReturn(0);
}

PetscErrorCode TCVolumeFromArray(MPI_Comm comm, PetscInt nx, PetscInt ny, PetscInt nz,
                                 const unsigned char *all, PetscReal voxel_m, TCVolume *vol)
{
  size_t plane = (size_t)nx * ny;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(vol, sizeof(*vol)));
  vol->nx = nx, vol->ny = ny, vol->nz = nz;
  vol->voxel_m   = voxel_m;
  vol->ndim_file = nz > 1 ? 3 : 2;
  PetscCall(PetscStrncpy(vol->path, "(array)", sizeof(vol->path)));
  PetscCall(VolumeAllocate(comm, vol));
  PetscCall(PetscArraycpy(vol->lab, all + plane * vol->z0, plane * (vol->z1 - vol->z0)));
  PetscFunctionReturn(0);
}

/* Narrow n labels of width bytes (1, 2 or 4; signed if sgn) to uint8; the
   first out-of-range value is reported in *bad (PETSC_TRUE) and *badval. */
static void VolumeNarrow(const void *src, int bytes, PetscBool sgn, size_t n, unsigned char *dst,
                         PetscBool *bad, long long *badval)
{
  for (size_t i = 0; i < n; i++) {
    long long v;
    if (bytes == 1)
      v = sgn ? (long long)((const signed char *)src)[i] : ((const unsigned char *)src)[i];
    else if (bytes == 2)
      v = sgn ? (long long)((const short *)src)[i] : ((const unsigned short *)src)[i];
    else
      v = ((const int *)src)[i];
    if (v < 0 || v > 255) {
      if (!*bad) *badval = v;
      *bad = PETSC_TRUE;
      v    = 0;
    }
    dst[i] = (unsigned char)v;
  }
}

static PetscErrorCode VolumeCheckNarrow(MPI_Comm comm, const char path[], PetscBool bad,
                                        long long badval)
{
  PetscMPIInt any, b = bad ? 1 : 0;
  long long   v = bad ? badval : 0, vmax;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(&b, &any, 1, MPI_INT, MPI_MAX, comm));
  if (!any) PetscFunctionReturn(0);
  if (!bad) v = LLONG_MIN;
  PetscCallMPI(MPI_Allreduce(&v, &vmax, 1, MPI_LONG_LONG, MPI_MAX, comm));
  SETERRQ(comm, PETSC_ERR_USER_INPUT,
          "%s: label %lld is outside 0..255; tomocell reads segmented volumes whose labels are "
          "small non-negative integers (segment grayscale data first)",
          path, vmax);
}

/* ---- Data Exchange HDF5 -------------------------------------------------- */

static PetscBool H5PathExists(hid_t file, const char *path)
{
  char   buf[PETSC_MAX_PATH_LEN];
  size_t n = strlen(path);

  if (n >= sizeof(buf)) return PETSC_FALSE;
  for (size_t i = 1; i <= n; i++) {
    if (path[i] == '/' || path[i] == 0) {
      memcpy(buf, path, i);
      buf[i] = 0;
      if (H5Lexists(file, buf, H5P_DEFAULT) <= 0) return PETSC_FALSE;
    }
  }
  return PETSC_TRUE;
}

static PetscErrorCode VolumeReadH5(MPI_Comm comm, const char path[], TCVolume *vol)
{
  TCH5        h5;
  hid_t       dset, space, type, dapl, mspace, fspace;
  int         ndim;
  hsize_t     dims[H5S_MAX_RANK];
  size_t      bytes;
  PetscBool   sgn, bad = PETSC_FALSE;
  long long   badval = 0;
  const char *dname  = "/exchange/data";

  PetscFunctionBeginUser;
  PetscCall(TCH5Open(comm, path, &h5));
  PetscCheck(H5PathExists(h5.file, dname), comm, PETSC_ERR_USER_INPUT,
             "%s has no dataset %s (expected the Data Exchange layout: /exchange/data with axes "
             "z:y:x)",
             path, dname);
  dapl = H5Pcreate(H5P_DATASET_ACCESS);
  /* a 64 MiB chunk cache so that reading plane blocks does not inflate the
     same gzip chunk again for every block */
  H5Pset_chunk_cache(dapl, 12421, 64u << 20, 1.0);
  dset = H5Dopen2(h5.file, dname, dapl);
  H5Pclose(dapl);
  TCH5Call(comm, dset, "H5Dopen(%s:%s)", path, dname);
  type  = H5Dget_type(dset);
  space = H5Dget_space(dset);
  ndim  = H5Sget_simple_extent_ndims(space);
  PetscCheck(H5Tget_class(type) == H5T_INTEGER, comm, PETSC_ERR_USER_INPUT,
             "%s:%s has a %s data type; tomocell needs integer labels (uint8 or a wider integer "
             "type with values 0..255), i.e. a segmented volume",
             path, dname, H5Tget_class(type) == H5T_FLOAT ? "floating-point" : "non-integer");
  PetscCheck(ndim == 2 || ndim == 3, comm, PETSC_ERR_USER_INPUT,
             "%s:%s has %d dimensions; expected 2 (y, x) or 3 (z, y, x)", path, dname, ndim);
  H5Sget_simple_extent_dims(space, dims, NULL);
  bytes = H5Tget_size(type);
  sgn   = H5Tget_sign(type) == H5T_SGN_2 ? PETSC_TRUE : PETSC_FALSE;
  PetscCheck(bytes <= 4, comm, PETSC_ERR_USER_INPUT,
             "%s:%s has %zu-byte integers; use an 8-, 16- or 32-bit integer label type", path,
             dname, bytes);
  vol->ndim_file = ndim;
  vol->nz        = ndim == 3 ? (PetscInt)dims[0] : 1;
  vol->ny        = (PetscInt)dims[ndim - 2];
  vol->nx        = (PetscInt)dims[ndim - 1];
  PetscCheck(vol->nx > 0 && vol->ny > 0 && vol->nz > 0, comm, PETSC_ERR_USER_INPUT,
             "%s:%s is empty (%lld x %lld x %lld voxels)", path, dname, (long long)vol->nx,
             (long long)vol->ny, (long long)vol->nz);
  PetscCall(VolumeAllocate(comm, vol));

  /* voxel size: the dataset attribute, then the detector pixel size */
  if (H5Aexists(dset, "pixel_size_m") > 0) {
    hid_t a = H5Aopen(dset, "pixel_size_m", H5P_DEFAULT);
    TCH5Call(comm, H5Aread(a, H5T_NATIVE_DOUBLE, &vol->voxel_m), "H5Aread(pixel_size_m)");
    H5Aclose(a);
  } else if (H5PathExists(h5.file, "/measurement/instrument/detector/pixel_size")) {
    hid_t  d = H5Dopen2(h5.file, "/measurement/instrument/detector/pixel_size", H5P_DEFAULT);
    hid_t  s = H5Dget_space(d);
    double v[3];
    PetscCheck(H5Sget_simple_extent_npoints(s) >= 1 && H5Sget_simple_extent_npoints(s) <= 3, comm,
               PETSC_ERR_USER_INPUT,
               "%s: /measurement/instrument/detector/pixel_size has %lld "
               "values; expected 1",
               path, (long long)H5Sget_simple_extent_npoints(s));
    TCH5Call(comm, H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v),
             "H5Dread(pixel_size)");
    vol->voxel_m = v[0];
    H5Sclose(s);
    H5Dclose(d);
  }

  /* this rank's planes, in blocks of at most 16 Mi voxels */
  {
    size_t   plane = (size_t)vol->nx * vol->ny;
    PetscInt blk   = (PetscInt)PetscMax(1, (16u << 20) / plane);
    void    *buf;
    hid_t    mtype  = bytes == 1   ? (sgn ? H5T_NATIVE_SCHAR : H5T_NATIVE_UCHAR)
                      : bytes == 2 ? (sgn ? H5T_NATIVE_SHORT : H5T_NATIVE_USHORT)
                                   : H5T_NATIVE_INT;
    int      mbytes = bytes <= 2 ? (int)bytes : 4;
    PetscCall(
        PetscMalloc((size_t)mbytes * plane * PetscMin(blk, PetscMax(1, vol->z1 - vol->z0)), &buf));
    for (PetscInt z = vol->z0; z < vol->z1; z += blk) {
      PetscInt nb = PetscMin(blk, vol->z1 - z);
      hsize_t  start[3], count[3];
      int      k = 0;
      if (ndim == 3) start[k] = (hsize_t)z, count[k++] = (hsize_t)nb;
      start[k] = 0, count[k++] = (hsize_t)vol->ny;
      start[k] = 0, count[k++] = (hsize_t)vol->nx;
      fspace = H5Scopy(space);
      TCH5Call(comm, H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL),
               "H5Sselect_hyperslab");
      mspace = H5Screate_simple(ndim, count, NULL);
      PetscCheck(H5Dread(dset, mtype, mspace, fspace, H5P_DEFAULT, buf) >= 0, PETSC_COMM_SELF,
                 PETSC_ERR_FILE_UNEXPECTED,
                 "%s: cannot read planes %lld..%lld of %s (truncated or corrupt file?)", path,
                 (long long)z, (long long)(z + nb - 1), dname);
      H5Sclose(mspace);
      H5Sclose(fspace);
      VolumeNarrow(buf, mbytes, sgn, plane * nb, vol->lab + plane * (z - vol->z0), &bad, &badval);
    }
    PetscCall(PetscFree(buf));
  }
  H5Tclose(type);
  H5Sclose(space);
  H5Dclose(dset);
  PetscCall(TCH5Close(&h5));
  PetscCall(VolumeCheckNarrow(comm, path, bad, badval));
  PetscFunctionReturn(0);
}

/* ---- TIFF ---------------------------------------------------------------- */

static void TiffQuiet(const char *module, const char *fmt, va_list ap)
{
  (void)module, (void)fmt, (void)ap;
}

/* Open a TIFF and check one page: single sample, 8 or 16 bit unsigned. */
static PetscErrorCode TiffPage(MPI_Comm comm, TIFF *tif, const char *name, uint32_t *w, uint32_t *h,
                               uint16_t *bps)
{
  uint16_t spp = 1, fmt = SAMPLEFORMAT_UINT;

  PetscFunctionBeginUser;
  TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, w);
  TIFFGetField(tif, TIFFTAG_IMAGELENGTH, h);
  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, bps);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &fmt);
  PetscCheck(spp == 1 && (*bps == 8 || *bps == 16) && fmt != SAMPLEFORMAT_IEEEFP, comm,
             PETSC_ERR_USER_INPUT,
             "%s: %u-bit %s image with %u samples per pixel; tomocell reads 8- or 16-bit "
             "single-channel label images",
             name, (unsigned)*bps, fmt == SAMPLEFORMAT_IEEEFP ? "floating-point" : "integer",
             (unsigned)spp);
  PetscFunctionReturn(0);
}

static PetscErrorCode TiffReadPage(MPI_Comm comm, TIFF *tif, const char *name, uint32_t w,
                                   uint32_t h, uint16_t bps, unsigned char *dst, PetscBool *bad,
                                   long long *badval)
{
  tsize_t        sl = TIFFScanlineSize(tif);
  unsigned char *row;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1((size_t)sl, &row));
  for (uint32_t y = 0; y < h; y++) {
    PetscCheck(TIFFReadScanline(tif, row, y, 0) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "%s: cannot read row %u (truncated or corrupt TIFF?)", name, (unsigned)y);
    VolumeNarrow(row, bps / 8, PETSC_FALSE, w, dst + (size_t)y * w, bad, badval);
  }
  PetscCall(PetscFree(row));
  PetscFunctionReturn(0);
}

static int NameCmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static PetscErrorCode VolumeReadTiff(MPI_Comm comm, const char path[], PetscBool isdir,
                                     TCVolume *vol)
{
  char    **files  = NULL;
  PetscInt  nfiles = 0, npages = 0;
  TIFF     *tif;
  uint32_t  w = 0, h = 0;
  uint16_t  bps    = 8;
  PetscBool bad    = PETSC_FALSE;
  long long badval = 0;

  PetscFunctionBeginUser;
  TIFFSetErrorHandler(TiffQuiet);
  TIFFSetWarningHandler(TiffQuiet);
  if (isdir) {
    DIR           *d = opendir(path);
    struct dirent *e;
    PetscInt       cap = 64;
    PetscCheck(d, comm, PETSC_ERR_FILE_OPEN, "cannot open directory %s: %s", path, strerror(errno));
    PetscCall(PetscMalloc1(cap, &files));
    while ((e = readdir(d))) {
      const char *dot = strrchr(e->d_name, '.');
      if (!dot || (strcasecmp(dot, ".tif") && strcasecmp(dot, ".tiff"))) continue;
      if (nfiles == cap) {
        char **more;
        PetscCall(PetscMalloc1(2 * cap, &more));
        PetscCall(PetscArraycpy(more, files, nfiles));
        PetscCall(PetscFree(files));
        files = more, cap *= 2;
      }
      PetscCall(PetscMalloc1(strlen(path) + strlen(e->d_name) + 2, &files[nfiles]));
      snprintf(files[nfiles], strlen(path) + strlen(e->d_name) + 2, "%s/%s", path, e->d_name);
      nfiles++;
    }
    closedir(d);
    PetscCheck(nfiles > 0, comm, PETSC_ERR_USER_INPUT, "directory %s holds no .tif/.tiff files",
               path);
    qsort(files, (size_t)nfiles, sizeof(char *), NameCmp);
    tif = TIFFOpen(files[0], "r");
    PetscCheck(tif, comm, PETSC_ERR_FILE_OPEN, "cannot open TIFF %s", files[0]);
    PetscCall(TiffPage(comm, tif, files[0], &w, &h, &bps));
    TIFFClose(tif);
    npages = nfiles;
  } else {
    tif = TIFFOpen(path, "r");
    PetscCheck(tif, comm, PETSC_ERR_FILE_OPEN, "cannot open TIFF %s (missing, or not a TIFF file)",
               path);
    PetscCall(TiffPage(comm, tif, path, &w, &h, &bps));
    npages = TIFFNumberOfDirectories(tif);
    TIFFClose(tif);
  }
  vol->nx = (PetscInt)w, vol->ny = (PetscInt)h, vol->nz = npages;
  vol->ndim_file = npages > 1 ? 3 : 2;
  PetscCheck(vol->nx > 0 && vol->ny > 0 && vol->nz > 0, comm, PETSC_ERR_USER_INPUT, "%s is empty",
             path);
  PetscCall(VolumeAllocate(comm, vol));
  for (PetscInt z = vol->z0; z < vol->z1; z++) {
    const char *name = isdir ? files[z] : path;
    uint32_t    w2, h2;
    uint16_t    b2;
    tif = TIFFOpen(name, "r");
    PetscCheck(tif, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open TIFF %s", name);
    if (!isdir)
      PetscCheck(TIFFSetDirectory(tif, (tdir_t)z), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: cannot read page %lld", name, (long long)z);
    PetscCall(TiffPage(PETSC_COMM_SELF, tif, name, &w2, &h2, &b2));
    PetscCheck(w2 == w && h2 == h, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s (slice %lld) is %u x %u pixels; the first slice is %u x %u", name, (long long)z,
               (unsigned)w2, (unsigned)h2, (unsigned)w, (unsigned)h);
    PetscCall(TiffReadPage(PETSC_COMM_SELF, tif, name, w, h, b2,
                           vol->lab + (size_t)(z - vol->z0) * w * h, &bad, &badval));
    TIFFClose(tif);
  }
  for (PetscInt i = 0; i < nfiles; i++) PetscCall(PetscFree(files[i]));
  PetscCall(PetscFree(files));
  PetscCall(VolumeCheckNarrow(comm, path, bad, badval));
  PetscFunctionReturn(0);
}

/* ---- raw ------------------------------------------------------------------ */

static PetscErrorCode VolumeReadRaw(MPI_Comm comm, const char path[],
                                    const TCVolumeReadOptions *opt, TCVolume *vol)
{
  struct stat st;
  long long   want;
  FILE       *fp;
  PetscBool   bad    = PETSC_FALSE;
  long long   badval = 0;

  PetscFunctionBeginUser;
  PetscCheck(opt && opt->nx > 0 && opt->ny > 0 && opt->nz > 0, comm, PETSC_ERR_USER_INPUT,
             "%s: a raw volume needs its size: -raw_dims NX,NY,NZ (x fastest)", path);
  PetscCall(TCInputCheck(comm, path));
  PetscCheck(stat(path, &st) == 0, comm, PETSC_ERR_FILE_OPEN, "cannot read volume %s: %s", path,
             strerror(errno));
  vol->nx = opt->nx, vol->ny = opt->ny, vol->nz = opt->nz;
  vol->ndim_file = opt->nz > 1 ? 3 : 2;
  want           = (long long)opt->nx * opt->ny * opt->nz * opt->raw_bytes;
  PetscCheck((long long)st.st_size == want, comm, PETSC_ERR_USER_INPUT,
             "%s has %lld bytes but -raw_dims %lld,%lld,%lld of %d-byte voxels needs %lld "
             "(truncated file, or wrong dims/dtype?)",
             path, (long long)st.st_size, (long long)opt->nx, (long long)opt->ny,
             (long long)opt->nz, opt->raw_bytes, want);
  PetscCall(VolumeAllocate(comm, vol));
  fp = fopen(path, "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s: %s", path, strerror(errno));
  {
    size_t plane = (size_t)vol->nx * vol->ny, n = plane * (vol->z1 - vol->z0);
    void  *buf;
    PetscCall(PetscMalloc((size_t)opt->raw_bytes * n + 1, &buf));
    PetscCheck(fseeko(fp, (off_t)(plane * vol->z0 * opt->raw_bytes), SEEK_SET) == 0 &&
                   fread(buf, (size_t)opt->raw_bytes, n, fp) == n,
               PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: read error", path);
    VolumeNarrow(buf, opt->raw_bytes, PETSC_FALSE, n, vol->lab, &bad, &badval);
    PetscCall(PetscFree(buf));
  }
  fclose(fp);
  PetscCall(VolumeCheckNarrow(comm, path, bad, badval));
  PetscFunctionReturn(0);
}

PetscErrorCode TCVolumeRead(MPI_Comm comm, const char path[], const TCVolumeReadOptions *opt,
                            TCVolume *vol)
{
  const char *dot = strrchr(path, '.');
  struct stat st;
  PetscBool   isdir;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(vol, sizeof(*vol)));
  PetscCall(PetscStrncpy(vol->path, path, sizeof(vol->path)));
  PetscCheck(stat(path, &st) == 0, comm, PETSC_ERR_FILE_OPEN, "cannot read volume %s: %s", path,
             strerror(errno));
  isdir = S_ISDIR(st.st_mode) ? PETSC_TRUE : PETSC_FALSE;
  if (isdir)
    PetscCall(VolumeReadTiff(comm, path, PETSC_TRUE, vol));
  else if (dot &&
           (!strcasecmp(dot, ".h5") || !strcasecmp(dot, ".hdf5") || !strcasecmp(dot, ".hdf")))
    PetscCall(VolumeReadH5(comm, path, vol));
  else if (dot && (!strcasecmp(dot, ".tif") || !strcasecmp(dot, ".tiff")))
    PetscCall(VolumeReadTiff(comm, path, PETSC_FALSE, vol));
  else if (dot && !strcasecmp(dot, ".raw"))
    PetscCall(VolumeReadRaw(comm, path, opt, vol));
  else
    SETERRQ(comm, PETSC_ERR_USER_INPUT,
            "%s: unknown volume format; give Data Exchange HDF5 (.h5), a TIFF stack (.tif or a "
            "directory of .tif files) or raw voxels (.raw with -raw_dims)",
            path);
  if (opt && opt->voxel_m > 0) vol->voxel_m = opt->voxel_m;
  PetscCheck(vol->voxel_m == 0 || (vol->voxel_m > 0 && PetscIsNormalReal(vol->voxel_m)), comm,
             PETSC_ERR_USER_INPUT, "%s: voxel size %g m is not a positive number", path,
             (double)vol->voxel_m);
  PetscFunctionReturn(0);
}
