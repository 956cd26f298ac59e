/*
 * Data Exchange volumes (see volume.h).
 */
#include "io/stack.h"
#include "io/h5.h"
#include "io/output.h"
#include <math.h>
#include <dirent.h>
#include <strings.h>
#include <sys/stat.h>
#include <tiffio.h>

struct _p_TCStack {
  MPI_Comm  comm;
  PetscBool tiff;  /* a TIFF stack instead of HDF5 */
  char    **files; /* TIFF: one file per slice, or one multi-page file */
  PetscInt  nfiles;
  uint16_t  bits, fmt; /* TIFF sample size and format */
  TCH5      h5;
  hid_t     dset;
  int       ndim;
  hsize_t   dims[3];
  PetscReal pixel_m, pixel_z_m; /* x-y pixel; z spacing (0: the file gives none) */
  char      pixel_src[128], pixel_z_src[128];
  PetscBool isint;
  char      name[256];
};

/* Does the object at path exist (every link on the way)? */
static PetscBool TCH5PathExists(hid_t file, const char path[])
{
  char part[512] = "", buf[512], *save = NULL, *tok;
  if (!strcmp(path, "/")) return PETSC_TRUE;
  snprintf(buf, sizeof(buf), "%s", path);
  for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
    strncat(part, "/", sizeof(part) - strlen(part) - 1);
    strncat(part, tok, sizeof(part) - strlen(part) - 1);
    if (H5Lexists(file, part, H5P_DEFAULT) <= 0) return PETSC_FALSE;
  }
  return PETSC_TRUE;
}

/* Read a scalar number stored as a dataset or attribute at obj (attribute
   name attr, or the dataset itself when attr is NULL), with an optional
   "units" attribute. Returns 0 in *v when absent. */
static PetscErrorCode TCStackReadScale(hid_t file, const char obj[], const char attr[],
                                        PetscReal *v)
{
  double val = 0, scale = 1;
  hid_t  o, a;

  PetscFunctionBeginUser;
  *v = 0;
  if (!TCH5PathExists(file, obj)) PetscFunctionReturn(0);
  o = H5Oopen(file, obj, H5P_DEFAULT);
  if (o < 0) PetscFunctionReturn(0);
  if (attr) {
    if (H5Aexists(o, attr) > 0) {
      a = H5Aopen(o, attr, H5P_DEFAULT);
      if (a >= 0 && H5Aget_storage_size(a) > 0 && H5Aread(a, H5T_NATIVE_DOUBLE, &val) < 0) val = 0;
      if (a >= 0) H5Aclose(a);
    }
  } else {
    if (H5Iget_type(o) == H5I_DATASET) {
      hid_t sp = H5Dget_space(o);
      if (H5Sget_simple_extent_npoints(sp) >= 1) {
        double  *tmp = NULL;
        hssize_t n   = H5Sget_simple_extent_npoints(sp);
        PetscCall(PetscMalloc1(n, &tmp));
        if (H5Dread(o, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) >= 0) val = tmp[0];
        PetscCall(PetscFree(tmp));
      }
      H5Sclose(sp);
    }
  }
  if (val != 0 && H5Aexists(o, "units") > 0) {
    char  u[32] = "";
    hid_t t;
    a = H5Aopen(o, "units", H5P_DEFAULT);
    t = H5Aget_type(a);
    if (H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0) {
      char *vs = NULL;
      hid_t mt = H5Tcopy(H5T_C_S1);
      H5Tset_size(mt, H5T_VARIABLE);
      H5Tset_cset(mt, H5Tget_cset(t));
      if (H5Aread(a, mt, &vs) >= 0 && vs) {
        snprintf(u, sizeof(u), "%s", vs);
        H5free_memory(vs);
      }
      H5Tclose(mt);
    } else if (H5Tget_class(t) == H5T_STRING && H5Tget_size(t) < sizeof(u)) {
      hid_t mt = H5Tcopy(H5T_C_S1);
      H5Tset_size(mt, sizeof(u));
      H5Tset_cset(mt, H5Tget_cset(t));
      H5Aread(a, mt, u);
      H5Tclose(mt);
    }
    H5Tclose(t);
    H5Aclose(a);
    if (!strcmp(u, "um") || !strcmp(u, "micron") || !strcmp(u, "microns"))
      scale = 1e-6;
    else if (!strcmp(u, "mm"))
      scale = 1e-3;
    else if (!strcmp(u, "nm"))
      scale = 1e-9;
  }
  H5Oclose(o);
  *v = val * scale;
  PetscFunctionReturn(0);
}

static PetscBool TCIsTiffName(const char *name)
{
  const char *dot = strrchr(name, '.');
  return (PetscBool)(dot && (!strcasecmp(dot, ".tif") || !strcasecmp(dot, ".tiff")));
}

static int TCStrCmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A TIFF stack: a directory of single-page TIFFs (sorted by name) or one
   multi-page TIFF. Strip-organised, one sample per pixel, 8/16/32-bit
   integers or 32/64-bit floats. Pixel size from XResolution when the unit is
   centimetres (the 72 dpi default in inches is not a CT pixel size). */
static PetscErrorCode TCStackOpenTiff(TCStack v, const char path[], PetscReal pixel_size_m)
{
  struct stat st;
  TIFF       *tif;
  uint32_t    w = 0, h = 0;
  uint16_t    spp = 1, unit = RESUNIT_NONE;
  float       xres = 0;
  MPI_Comm    comm = v->comm;

  PetscFunctionBeginUser;
  TIFFSetWarningHandler(NULL);
  TIFFSetErrorHandler(NULL);
  v->tiff = PETSC_TRUE;
  PetscCheck(stat(path, &st) == 0, comm, PETSC_ERR_FILE_OPEN,
             "cannot read volume %s: no such file or directory", path);
  if (S_ISDIR(st.st_mode)) {
    DIR           *d = opendir(path);
    struct dirent *e;
    PetscInt       cap = 64;
    PetscCheck(d, comm, PETSC_ERR_FILE_OPEN, "cannot read directory %s", path);
    PetscCall(PetscMalloc1(cap, &v->files));
    while ((e = readdir(d))) {
      char full[PETSC_MAX_PATH_LEN];
      if (!TCIsTiffName(e->d_name)) continue;
      if (v->nfiles == cap) {
        char **n;
        cap *= 2;
        PetscCall(PetscMalloc1(cap, &n));
        PetscCall(PetscArraycpy(n, v->files, v->nfiles));
        PetscCall(PetscFree(v->files));
        v->files = n;
      }
      snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
      PetscCall(PetscStrallocpy(full, &v->files[v->nfiles++]));
    }
    closedir(d);
    PetscCheck(v->nfiles > 0, comm, PETSC_ERR_USER_INPUT,
               "%s is a directory without .tif/.tiff files (expected a TIFF stack)", path);
    qsort(v->files, (size_t)v->nfiles, sizeof(char *), TCStrCmp);
    v->dims[0] = (hsize_t)v->nfiles;
  } else {
    PetscInt n = 0;
    PetscCall(PetscMalloc1(1, &v->files));
    PetscCall(PetscStrallocpy(path, &v->files[0]));
    v->nfiles = 1;
    tif       = TIFFOpen(path, "r");
    PetscCheck(tif, comm, PETSC_ERR_FILE_OPEN, "cannot read TIFF %s (not a TIFF file?)", path);
    do n++;
    while (TIFFReadDirectory(tif));
    TIFFClose(tif);
    v->dims[0] = (hsize_t)n;
  }
  tif = TIFFOpen(v->files[0], "r");
  PetscCheck(tif, comm, PETSC_ERR_FILE_OPEN, "cannot read TIFF %s", v->files[0]);
  TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &v->bits);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &v->fmt);
  if (TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xres) != 1) xres = 0;
  TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
  {
    int tiled = TIFFIsTiled(tif);
    TIFFClose(tif);
    PetscCheck(!tiled, comm, PETSC_ERR_USER_INPUT,
               "%s: tiled TIFF is not supported; save the stack with strips", v->files[0]);
  }
  PetscCheck(spp == 1, comm, PETSC_ERR_USER_INPUT,
             "%s: %d samples per pixel; expected one (grayscale or labels)", v->files[0], (int)spp);
  PetscCheck(((v->fmt == SAMPLEFORMAT_UINT || v->fmt == SAMPLEFORMAT_INT) &&
              (v->bits == 8 || v->bits == 16 || v->bits == 32)) ||
                 (v->fmt == SAMPLEFORMAT_IEEEFP && (v->bits == 32 || v->bits == 64)),
             comm, PETSC_ERR_USER_INPUT,
             "%s: %d-bit samples of format %d; expected 8/16/32-bit integers or 32/64-bit floats",
             v->files[0], (int)v->bits, (int)v->fmt);
  v->isint   = (PetscBool)(v->fmt != SAMPLEFORMAT_IEEEFP);
  v->ndim    = 3;
  v->dims[1] = h;
  v->dims[2] = w;
  PetscCheck(w > 0 && h > 0, comm, PETSC_ERR_USER_INPUT, "%s is empty (%u x %u pixels)", path, w,
             h);
  PetscCall(PetscStrncpy(v->name, "TIFF stack", sizeof(v->name)));
  v->pixel_m =
      pixel_size_m > 0 ? pixel_size_m : (unit == RESUNIT_CENTIMETER && xres > 0 ? 0.01 / xres : 0);
  PetscCall(PetscStrncpy(v->pixel_src,
                         pixel_size_m > 0   ? "option"
                         : v->pixel_m > 0 ? "TIFF XResolution"
                                          : "",
                         sizeof(v->pixel_src)));
  PetscCheck(v->pixel_m > 0 || pixel_size_m < 0, comm, PETSC_ERR_USER_INPUT,
             "%s: no pixel size (the TIFF has no resolution in centimetres); give it with "
             "-pixel_size (metres)",
             path);
  PetscFunctionReturn(0);
}

static PetscErrorCode TCStackReadSliceTiff(TCStack v, PetscInt k, float *buf)
{
  TIFF       *tif;
  uint32_t    w = 0, h = 0;
  tdata_t     row;
  PetscInt    nx = (PetscInt)v->dims[2], ny = (PetscInt)v->dims[1];
  const char *file = v->nfiles > 1 ? v->files[k] : v->files[0];

  PetscFunctionBeginUser;
  tif = TIFFOpen(file, "r");
  PetscCheck(tif, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot read TIFF %s", file);
  if (v->nfiles == 1 && !TIFFSetDirectory(tif, (tdir_t)k)) {
    TIFFClose(tif);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read page %d", file, (int)k);
  }
  TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
  if ((PetscInt)w != nx || (PetscInt)h != ny) {
    TIFFClose(tif);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
            "%s (slice %d) is %u x %u pixels, the first slice %d x %d", file, (int)k, w, h, (int)nx,
            (int)ny);
  }
  row = _TIFFmalloc(TIFFScanlineSize(tif));
  for (PetscInt j = 0; j < ny; j++) {
    float *o = buf + j * nx;
    if (TIFFReadScanline(tif, row, (uint32_t)j, 0) < 0) {
      _TIFFfree(row);
      TIFFClose(tif);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read row %d", file, (int)j);
    }
    for (PetscInt i = 0; i < nx; i++) {
      if (v->fmt == SAMPLEFORMAT_IEEEFP)
        o[i] = v->bits == 32 ? ((float *)row)[i] : (float)((double *)row)[i];
      else if (v->fmt == SAMPLEFORMAT_INT)
        o[i] = v->bits == 8    ? ((int8_t *)row)[i]
               : v->bits == 16 ? ((int16_t *)row)[i]
                               : (float)((int32_t *)row)[i];
      else
        o[i] = v->bits == 8    ? ((uint8_t *)row)[i]
               : v->bits == 16 ? ((uint16_t *)row)[i]
                               : (float)((uint32_t *)row)[i];
    }
  }
  _TIFFfree(row);
  TIFFClose(tif);
  PetscFunctionReturn(0);
}

PetscErrorCode TCStackOpen(MPI_Comm comm, const char path[], const char dataset[],
                            PetscReal pixel_size_m, TCStack *vol)
{
  TCStack    v;
  hid_t       space, type;
  H5T_class_t cls;
  int         ndim;
  hsize_t     dims[8];
  PetscReal   px = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&v));
  v->comm = comm;
  v->dset = -1;
  PetscCall(
      PetscStrncpy(v->name, dataset && dataset[0] ? dataset : "/exchange/data", sizeof(v->name)));
  PetscCall(TCInputCheck(comm, path));
  {
    struct stat st;
    if (stat(path, &st) == 0 && (S_ISDIR(st.st_mode) || TCIsTiffName(path))) {
      *vol = v;
      PetscCall(TCStackOpenTiff(v, path, pixel_size_m));
      PetscFunctionReturn(0);
    }
  }
  {
    FILE *fp = fopen(path, "rb");
    PetscCheck(fp, comm, PETSC_ERR_FILE_OPEN, "cannot read volume %s: no such file or no access",
               path);
    fclose(fp);
  }
  if (H5Fis_hdf5(path) <= 0) {
    PetscCall(PetscFree(v));
    SETERRQ(comm, PETSC_ERR_FILE_OPEN, "%s is not an HDF5 file (expected Data Exchange HDF5)",
            path);
  }
  PetscCall(TCH5Open(comm, path, &v->h5));
  *vol = v; /* from here TCStackClose cleans up */
  PetscCheck(TCH5PathExists(v->h5.file, v->name), comm, PETSC_ERR_USER_INPUT,
             "%s has no dataset %s (a Data Exchange file keeps the images in /exchange/data; "
             "choose another with -trace_dataset)",
             path, v->name);
  v->dset = H5Dopen2(v->h5.file, v->name, H5P_DEFAULT);
  PetscCheck(v->dset >= 0, comm, PETSC_ERR_USER_INPUT, "%s: %s is not a dataset", path, v->name);
  space = H5Dget_space(v->dset);
  ndim  = H5Sget_simple_extent_ndims(space);
  PetscCheck(ndim >= 0 && ndim <= 8, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has a bad dataspace",
             path, v->name);
  H5Sget_simple_extent_dims(space, dims, NULL);
  H5Sclose(space);
  type = H5Dget_type(v->dset);
  cls  = H5Tget_class(type);
  H5Tclose(type);
  PetscCheck(cls == H5T_INTEGER || cls == H5T_FLOAT, comm, PETSC_ERR_USER_INPUT,
             "%s: %s has type class %s; expected integer labels or a floating-point (or integer) "
             "grayscale image",
             path, v->name,
             cls == H5T_STRING     ? "string"
             : cls == H5T_COMPOUND ? "compound"
             : cls == H5T_ENUM     ? "enum"
             : cls == H5T_ARRAY    ? "array"
                                   : "other");
  PetscCheck(ndim == 2 || ndim == 3, comm, PETSC_ERR_USER_INPUT,
             "%s: %s is a %d-D array; expected a 3-D stack (z, y, x) or a 2-D slice (y, x)", path,
             v->name, ndim);
  v->isint = (PetscBool)(cls == H5T_INTEGER);
  v->ndim  = ndim;
  if (ndim == 2) {
    v->dims[0] = 1;
    v->dims[1] = dims[0];
    v->dims[2] = dims[1];
  } else
    for (int d = 0; d < 3; d++) v->dims[d] = dims[d];
  PetscCheck(v->dims[0] > 0 && v->dims[1] > 0 && v->dims[2] > 0, comm, PETSC_ERR_USER_INPUT,
             "%s: %s is empty (dimensions %llu x %llu x %llu)", path, v->name,
             (unsigned long long)v->dims[0], (unsigned long long)v->dims[1],
             (unsigned long long)v->dims[2]);
  if (pixel_size_m > 0) {
    px = pixel_size_m;
    PetscCall(PetscStrncpy(v->pixel_src, "option", sizeof(v->pixel_src)));
  } else {
    /* attribute pixel_size_m; the detector's pixel_size (dataset or
       attribute); Data Exchange's actual_pixel_size_x (on the sample plane) */
    const char *where[4][2] = {{v->name, "pixel_size_m"},
                               {"/measurement/instrument/detector/pixel_size", NULL},
                               {"/measurement/instrument/detector", "pixel_size"},
                               {"/measurement/instrument/detector/actual_pixel_size_x", NULL}};
    for (int w = 0; w < 4 && px <= 0; w++) {
      PetscCall(TCStackReadScale(v->h5.file, where[w][0], where[w][1], &px));
      if (px > 0)
        snprintf(v->pixel_src, sizeof(v->pixel_src), "%s%s%s", where[w][0],
                 where[w][1] ? " attribute " : "", where[w][1] ? where[w][1] : "");
    }
  }
  PetscCheck((px > 0 && isfinite(px)) || (pixel_size_m < 0 && px == 0), comm,
             PETSC_ERR_USER_INPUT,
             "%s: no pixel size: the file has neither attribute pixel_size_m on %s nor "
             "/measurement/instrument/detector/pixel_size; give it with -pixel_size (metres)",
             path, v->name);
  v->pixel_m = px;
  {
    /* z spacing: attribute pixel_size_z_m; Data Exchange's
       actual_pixel_size_y (the detector's vertical pixel on the sample plane,
       the slice spacing of a reconstruction with a vertical rotation axis) */
    const char *where[3][2] = {{v->name, "pixel_size_z_m"},
                               {"/measurement/instrument/detector/actual_pixel_size_y", NULL},
                               {"/measurement/instrument/detector", "actual_pixel_size_y"}};
    PetscReal   pz          = 0;
    for (int w = 0; w < 3 && pz <= 0; w++) {
      PetscCall(TCStackReadScale(v->h5.file, where[w][0], where[w][1], &pz));
      if (pz > 0)
        snprintf(v->pixel_z_src, sizeof(v->pixel_z_src), "%s%s%s", where[w][0],
                 where[w][1] ? " attribute " : "", where[w][1] ? where[w][1] : "");
    }
    PetscCheck(pz >= 0 && isfinite(pz), comm, PETSC_ERR_USER_INPUT,
               "%s: the file's z spacing (%s) is %g m; expected a positive number", path,
               v->pixel_z_src, (double)pz);
    v->pixel_z_m = pz;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCStackClose(TCStack *vol)
{
  PetscFunctionBeginUser;
  if (!*vol) PetscFunctionReturn(0);
  if ((*vol)->tiff) {
    for (PetscInt k = 0; k < (*vol)->nfiles; k++) PetscCall(PetscFree((*vol)->files[k]));
    PetscCall(PetscFree((*vol)->files));
    PetscCall(PetscFree(*vol));
    PetscFunctionReturn(0);
  }
  if ((*vol)->dset >= 0) H5Dclose((*vol)->dset);
  PetscCall(TCH5Close(&(*vol)->h5));
  PetscCall(PetscFree(*vol));
  PetscFunctionReturn(0);
}

PetscErrorCode TCStackGetSizes(TCStack vol, PetscInt *nz, PetscInt *ny, PetscInt *nx)
{
  PetscFunctionBeginUser;
  if (nz) *nz = (PetscInt)vol->dims[0];
  if (ny) *ny = (PetscInt)vol->dims[1];
  if (nx) *nx = (PetscInt)vol->dims[2];
  PetscFunctionReturn(0);
}

PetscErrorCode TCStackGetPixelSize(TCStack vol, PetscReal *px)
{
  PetscFunctionBeginUser;
  *px = vol->pixel_m;
  PetscFunctionReturn(0);
}

PetscErrorCode TCStackGetPixelSource(TCStack vol, const char **src)
{
  PetscFunctionBeginUser;
  *src = vol->pixel_src;
  PetscFunctionReturn(0);
}

PetscErrorCode TCStackGetPixelSizeZ(TCStack vol, PetscReal *pz, const char **src)
{
  PetscFunctionBeginUser;
  *pz = vol->pixel_z_m;
  if (src) *src = vol->pixel_z_src;
  PetscFunctionReturn(0);
}

PetscErrorCode TCStackIsInteger(TCStack vol, PetscBool *isint)
{
  PetscFunctionBeginUser;
  *isint = vol->isint;
  PetscFunctionReturn(0);
}

PetscErrorCode TCStackReadSlice(TCStack vol, PetscInt k, float *buf)
{
  hid_t   fspace, mspace;
  hsize_t off[3] = {0, 0, 0}, cnt[3];
  int     nd     = vol->ndim;

  PetscFunctionBeginUser;
  if (vol->tiff) {
    PetscCall(TCStackReadSliceTiff(vol, k, buf));
    PetscFunctionReturn(0);
  }
  fspace = H5Dget_space(vol->dset);
  if (nd == 3) {
    off[0] = (hsize_t)k;
    cnt[0] = 1;
    cnt[1] = vol->dims[1];
    cnt[2] = vol->dims[2];
  } else {
    cnt[0] = vol->dims[1];
    cnt[1] = vol->dims[2];
  }
  TCH5Call(PETSC_COMM_SELF, H5Sselect_hyperslab(fspace, H5S_SELECT_SET, off, NULL, cnt, NULL),
           "H5Sselect_hyperslab(%s slice %d)", vol->name, (int)k);
  {
    hsize_t m = vol->dims[1] * vol->dims[2];
    mspace    = H5Screate_simple(1, &m, NULL);
  }
  TCH5Call(PETSC_COMM_SELF, H5Dread(vol->dset, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, buf),
           "H5Dread(%s slice %d) in %s", vol->name, (int)k, vol->h5.path);
  H5Sclose(mspace);
  H5Sclose(fspace);
  PetscFunctionReturn(0);
}

PetscErrorCode TCStackWrite(MPI_Comm comm, const char path[], PetscInt nz, PetscInt ny,
                             PetscInt nx, PetscInt z0, PetscInt nzlocal, hid_t type,
                             const void *data, PetscReal pixel_size_m)
{
  char    tmp[PETSC_MAX_PATH_LEN];
  TCH5    h5;
  hsize_t dims[3] = {(hsize_t)nz, (hsize_t)ny, (hsize_t)nx};

  PetscFunctionBeginUser;
  PetscCall(TCOutputTempName(comm, path, tmp, sizeof(tmp)));
  PetscCall(TCH5Create(comm, tmp, &h5));
  PetscCall(
      TCH5WriteRows(&h5, "/exchange/data", type, 3, dims, (hsize_t)z0, (hsize_t)nzlocal, data));
  PetscCall(TCH5WriteAttrReal(&h5, "/exchange/data", "pixel_size_m", pixel_size_m));
  PetscCall(TCH5WriteAttrString(&h5, "/exchange/data", "axes", "z:y:x"));
  PetscCall(TCH5WriteAttrString(&h5, "/", "implements", "exchange"));
  PetscCall(TCH5WriteAttrString(&h5, "/", "creator", "tomocell geometry -render"));
  PetscCall(TCH5Close(&h5));
  PetscCall(TCOutputCommit(comm, tmp, path));
  PetscFunctionReturn(0);
}
