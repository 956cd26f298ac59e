/*
 * Data Exchange volumes (see volume.h).
 */
#include "io/volume.h"
#include "io/h5.h"
#include "io/output.h"
#include <math.h>

struct _p_TCVolume {
  MPI_Comm  comm;
  TCH5      h5;
  hid_t     dset;
  int       ndim;
  hsize_t   dims[3];
  PetscReal pixel_m;
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
static PetscErrorCode TCVolumeReadScale(hid_t file, const char obj[], const char attr[],
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

PetscErrorCode TCVolumeOpen(MPI_Comm comm, const char path[], const char dataset[],
                            PetscReal pixel_size_m, TCVolume *vol)
{
  TCVolume    v;
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
  *vol = v; /* from here TCVolumeClose cleans up */
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
  if (pixel_size_m > 0)
    px = pixel_size_m;
  else {
    PetscCall(TCVolumeReadScale(v->h5.file, v->name, "pixel_size_m", &px));
    if (px <= 0)
      PetscCall(
          TCVolumeReadScale(v->h5.file, "/measurement/instrument/detector/pixel_size", NULL, &px));
    if (px <= 0)
      PetscCall(
          TCVolumeReadScale(v->h5.file, "/measurement/instrument/detector", "pixel_size", &px));
  }
  PetscCheck(px > 0 && isfinite(px), comm, PETSC_ERR_USER_INPUT,
             "%s: no pixel size: the file has neither attribute pixel_size_m on %s nor "
             "/measurement/instrument/detector/pixel_size; give it with -pixel_size (metres)",
             path, v->name);
  v->pixel_m = px;
  PetscFunctionReturn(0);
}

PetscErrorCode TCVolumeClose(TCVolume *vol)
{
  PetscFunctionBeginUser;
  if (!*vol) PetscFunctionReturn(0);
  if ((*vol)->dset >= 0) H5Dclose((*vol)->dset);
  PetscCall(TCH5Close(&(*vol)->h5));
  PetscCall(PetscFree(*vol));
  PetscFunctionReturn(0);
}

PetscErrorCode TCVolumeGetSizes(TCVolume vol, PetscInt *nz, PetscInt *ny, PetscInt *nx)
{
  PetscFunctionBeginUser;
  if (nz) *nz = (PetscInt)vol->dims[0];
  if (ny) *ny = (PetscInt)vol->dims[1];
  if (nx) *nx = (PetscInt)vol->dims[2];
  PetscFunctionReturn(0);
}

PetscErrorCode TCVolumeGetPixelSize(TCVolume vol, PetscReal *px)
{
  PetscFunctionBeginUser;
  *px = vol->pixel_m;
  PetscFunctionReturn(0);
}

PetscErrorCode TCVolumeIsInteger(TCVolume vol, PetscBool *isint)
{
  PetscFunctionBeginUser;
  *isint = vol->isint;
  PetscFunctionReturn(0);
}

PetscErrorCode TCVolumeReadSlice(TCVolume vol, PetscInt k, float *buf)
{
  hid_t   fspace, mspace;
  hsize_t off[3] = {0, 0, 0}, cnt[3];
  int     nd     = vol->ndim;

  PetscFunctionBeginUser;
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

PetscErrorCode TCVolumeWrite(MPI_Comm comm, const char path[], PetscInt nz, PetscInt ny,
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
