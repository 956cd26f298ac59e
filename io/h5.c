/*
 * Parallel HDF5 helpers (see h5.h). Files are opened with H5Pset_fapl_mpio on
 * the caller's communicator and every raw-data transfer is collective
 * (H5FD_MPIO_COLLECTIVE), so one file is written by all ranks at once.
 */
#include "io/h5.h"
#include "io/output.h"
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static PetscBool tc_h5_quiet = PETSC_FALSE;

/* HDF5 prints its own error stack by default; we report errors ourselves. */
static void TCH5Quiet(void)
{
  if (!tc_h5_quiet) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    tc_h5_quiet = PETSC_TRUE;
  }
}

int TCH5SystemError(int err)
{
  return err == ENOSPC || err == EDQUOT || err == EIO || err == EFBIG || err == EROFS;
}

void TCH5CloseAll(void)
{
  ssize_t n;
  H5E_BEGIN_TRY
  {
    n = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (n > 0) {
      hid_t *ids = (hid_t *)malloc((size_t)n * sizeof(hid_t));
      if (ids) {
        /* everything but the files first, then the files */
        n = H5Fget_obj_ids(H5F_OBJ_ALL, H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE |
                                            H5F_OBJ_ATTR, (size_t)n, ids);
        for (ssize_t i = 0; i < n; i++) {
          if (H5Iget_type(ids[i]) == H5I_ATTR)
            H5Aclose(ids[i]);
          else
            H5Oclose(ids[i]);
        }
        n = H5Fget_obj_ids(H5F_OBJ_ALL, H5F_OBJ_FILE,
                           (size_t)H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), ids);
        for (ssize_t i = 0; i < n; i++) {
          /* a temporary file that will be removed anyway is emptied first: on a full
             disk the flush at close would fail, and HDF5 crashes on a file whose
             close failed (in H5close or at MPI_Finalize) */
          char name[PETSC_MAX_PATH_LEN];
          if (H5Fget_name(ids[i], name, sizeof(name)) > 0 && TCOutputIsPending(name)) {
            int fd = open(name, O_WRONLY);
            if (fd >= 0) {
              if (ftruncate(fd, 0) != 0) { /* nothing more to do */
              }
              close(fd);
            }
          }
          H5Fclose(ids[i]);
        }
        free(ids);
      }
    }
    H5close();
  }
  H5E_END_TRY;
}

static PetscErrorCode TCH5OpenCommon(MPI_Comm comm, const char path[], PetscBool create, TCH5 *h5)
{
  hid_t fapl;

  PetscFunctionBeginUser;
  TCH5Quiet();
  if (!create) PetscCall(TCInputCheck(comm, path));
  h5->comm = comm;
  PetscCall(PetscStrncpy(h5->path, path, sizeof(h5->path)));
  fapl = H5Pcreate(H5P_FILE_ACCESS);
  TCH5Call(comm, fapl, "H5Pcreate(H5P_FILE_ACCESS)");
  TCH5Call(comm, H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL), "H5Pset_fapl_mpio");
  if (create)
    h5->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  else
    h5->file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  PetscCheck(h5->file >= 0, comm, PETSC_ERR_FILE_OPEN, "cannot %s HDF5 file %s",
             create ? "create" : "open", path);
  h5->dxpl = H5Pcreate(H5P_DATASET_XFER);
  TCH5Call(comm, h5->dxpl, "H5Pcreate(H5P_DATASET_XFER)");
  TCH5Call(comm, H5Pset_dxpl_mpio(h5->dxpl, H5FD_MPIO_COLLECTIVE), "H5Pset_dxpl_mpio");
  PetscFunctionReturn(0);
}

PetscErrorCode TCH5Create(MPI_Comm comm, const char path[], TCH5 *h5)
{
  PetscFunctionBeginUser;
  PetscCall(TCH5OpenCommon(comm, path, PETSC_TRUE, h5));
  PetscFunctionReturn(0);
}

PetscErrorCode TCH5Open(MPI_Comm comm, const char path[], TCH5 *h5)
{
  PetscFunctionBeginUser;
  PetscCall(TCH5OpenCommon(comm, path, PETSC_FALSE, h5));
  PetscFunctionReturn(0);
}

PetscErrorCode TCH5Close(TCH5 *h5)
{
  PetscFunctionBeginUser;
  if (h5->dxpl >= 0) H5Pclose(h5->dxpl);
  h5->dxpl = -1;
  if (h5->file >= 0) {
    hid_t f  = h5->file;
    h5->file = -1;
    TCH5CallAll(h5->comm, H5Fclose(f), "H5Fclose(%s)", h5->path);
  }
  h5->file = -1;
  PetscFunctionReturn(0);
}

PetscErrorCode TCH5EnsureGroup(TCH5 *h5, const char name[])
{
  htri_t exists;

  PetscFunctionBeginUser;
  if (!strcmp(name, "/")) PetscFunctionReturn(0);
  exists = H5Lexists(h5->file, name, H5P_DEFAULT);
  if (exists <= 0) {
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), g;
    H5Pset_create_intermediate_group(lcpl, 1);
    g = H5Gcreate2(h5->file, name, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    TCH5Call(h5->comm, g, "H5Gcreate2(%s) in %s", name, h5->path);
    H5Gclose(g);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCH5WriteRows(TCH5 *h5, const char name[], hid_t type, int ndim,
                             const hsize_t dims[], hsize_t start, hsize_t count, const void *data)
{
  hid_t   fspace, mspace, dset, lcpl;
  hsize_t offs[4] = {0, 0, 0, 0}, cnt[4];

  PetscFunctionBeginUser;
  PetscCheck(ndim >= 1 && ndim <= 4, h5->comm, PETSC_ERR_PLIB, "TCH5WriteRows: ndim %d", ndim);
  fspace = H5Screate_simple(ndim, dims, NULL);
  TCH5Call(h5->comm, fspace, "H5Screate_simple for %s", name);
  lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  dset = H5Dcreate2(h5->file, name, type, fspace, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  TCH5Call(h5->comm, dset, "H5Dcreate2(%s) in %s", name, h5->path);
  offs[0] = start;
  cnt[0]  = count;
  for (int d = 1; d < ndim; d++) cnt[d] = dims[d];
  if (count > 0) {
    TCH5Call(h5->comm, H5Sselect_hyperslab(fspace, H5S_SELECT_SET, offs, NULL, cnt, NULL),
             "H5Sselect_hyperslab(%s)", name);
  } else {
    TCH5Call(h5->comm, H5Sselect_none(fspace), "H5Sselect_none(%s)", name);
  }
  {
    hsize_t total = 1;
    for (int d = 0; d < ndim; d++) total *= dims[d];
    if (total > 0) { /* an empty dataset is created, not written (H5Dwrite refuses it) */
      mspace = H5Screate_simple(ndim, cnt, NULL);
      if (count == 0) H5Sselect_none(mspace);
      TCH5CallAll(h5->comm, H5Dwrite(dset, type, mspace, fspace, h5->dxpl, data),
               "H5Dwrite(%s) in %s", name, h5->path);
      H5Sclose(mspace);
    }
  }
  H5Sclose(fspace);
  TCH5CallAll(h5->comm, H5Dclose(dset), "H5Dclose(%s) in %s", name, h5->path);
  PetscFunctionReturn(0);
}

PetscErrorCode TCH5WriteCols(TCH5 *h5, const char name[], const hsize_t dims[2], hsize_t col0,
                             hsize_t ncols, const double *data)
{
  hid_t   fspace, mspace, dset, lcpl;
  hsize_t offs[2] = {0, col0}, cnt[2] = {dims[0], ncols};

  PetscFunctionBeginUser;
  fspace = H5Screate_simple(2, dims, NULL);
  TCH5Call(h5->comm, fspace, "H5Screate_simple for %s", name);
  lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  dset = H5Dcreate2(h5->file, name, H5T_NATIVE_DOUBLE, fspace, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  TCH5Call(h5->comm, dset, "H5Dcreate2(%s) in %s", name, h5->path);
  if (ncols > 0 && dims[0] > 0) {
    TCH5Call(h5->comm, H5Sselect_hyperslab(fspace, H5S_SELECT_SET, offs, NULL, cnt, NULL),
             "H5Sselect_hyperslab(%s)", name);
  } else {
    TCH5Call(h5->comm, H5Sselect_none(fspace), "H5Sselect_none(%s)", name);
  }
  mspace = H5Screate_simple(2, cnt, NULL);
  if (ncols == 0 || dims[0] == 0) H5Sselect_none(mspace);
  TCH5CallAll(h5->comm, H5Dwrite(dset, H5T_NATIVE_DOUBLE, mspace, fspace, h5->dxpl, data),
           "H5Dwrite(%s) in %s", name, h5->path);
  H5Sclose(mspace);
  H5Sclose(fspace);
  TCH5CallAll(h5->comm, H5Dclose(dset), "H5Dclose(%s) in %s", name, h5->path);
  PetscFunctionReturn(0);
}

PetscErrorCode TCH5WriteAttrReals(TCH5 *h5, const char obj[], const char name[], PetscInt n,
                                  const double value[])
{
  hid_t   o, space, attr;
  hsize_t d = (hsize_t)n;

  PetscFunctionBeginUser;
  o = H5Oopen(h5->file, obj, H5P_DEFAULT);
  TCH5Call(h5->comm, o, "H5Oopen(%s)", obj);
  space = H5Screate_simple(1, &d, NULL);
  attr  = H5Acreate2(o, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT);
  TCH5Call(h5->comm, attr, "H5Acreate2(%s:%s)", obj, name);
  TCH5Call(h5->comm, H5Awrite(attr, H5T_NATIVE_DOUBLE, value), "H5Awrite(%s:%s)", obj, name);
  H5Aclose(attr);
  H5Sclose(space);
  H5Oclose(o);
  PetscFunctionReturn(0);
}

static PetscErrorCode TCH5WriteAttr(TCH5 *h5, const char obj[], const char name[], hid_t type,
                                    const void *value)
{
  hid_t o, space, attr;

  PetscFunctionBeginUser;
  o = H5Oopen(h5->file, obj, H5P_DEFAULT);
  TCH5Call(h5->comm, o, "H5Oopen(%s)", obj);
  space = H5Screate(H5S_SCALAR);
  attr  = H5Acreate2(o, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  TCH5Call(h5->comm, attr, "H5Acreate2(%s:%s)", obj, name);
  TCH5Call(h5->comm, H5Awrite(attr, type, value), "H5Awrite(%s:%s)", obj, name);
  H5Aclose(attr);
  H5Sclose(space);
  H5Oclose(o);
  PetscFunctionReturn(0);
}

PetscErrorCode TCH5WriteAttrString(TCH5 *h5, const char obj[], const char name[],
                                   const char value[])
{
  hid_t type;

  PetscFunctionBeginUser;
  type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, strlen(value) > 0 ? strlen(value) : 1);
  H5Tset_strpad(type, H5T_STR_NULLTERM);
  H5Tset_cset(type, H5T_CSET_UTF8);
  /* a size-1 string holding "" still needs a readable buffer */
  PetscCall(TCH5WriteAttr(h5, obj, name, type, strlen(value) > 0 ? value : ""));
  H5Tclose(type);
  PetscFunctionReturn(0);
}

PetscErrorCode TCH5WriteAttrReal(TCH5 *h5, const char obj[], const char name[], double value)
{
  PetscFunctionBeginUser;
  PetscCall(TCH5WriteAttr(h5, obj, name, H5T_NATIVE_DOUBLE, &value));
  PetscFunctionReturn(0);
}

PetscErrorCode TCH5WriteAttrInt(TCH5 *h5, const char obj[], const char name[], long long value)
{
  PetscFunctionBeginUser;
  PetscCall(TCH5WriteAttr(h5, obj, name, H5T_NATIVE_LLONG, &value));
  PetscFunctionReturn(0);
}

/* ---- reading ------------------------------------------------------------------ */

PetscErrorCode TCH5GetDims(TCH5 *h5, const char name[], int *ndim, hsize_t dims[])
{
  hid_t dset, space;

  PetscFunctionBeginUser;
  PetscCheck(H5Lexists(h5->file, name, H5P_DEFAULT) > 0, h5->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s has no dataset %s", h5->path, name);
  dset = H5Dopen2(h5->file, name, H5P_DEFAULT);
  TCH5Call(h5->comm, dset, "H5Dopen2(%s) in %s", name, h5->path);
  space = H5Dget_space(dset);
  TCH5Call(h5->comm, space, "H5Dget_space(%s)", name);
  *ndim = H5Sget_simple_extent_ndims(space);
  PetscCheck(*ndim >= 1 && *ndim <= 4, h5->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: dataset %s has %d dimensions, expected 1 to 4", h5->path, name, *ndim);
  H5Sget_simple_extent_dims(space, dims, NULL);
  H5Sclose(space);
  H5Dclose(dset);
  PetscFunctionReturn(0);
}

PetscErrorCode TCH5ReadRows(TCH5 *h5, const char name[], hid_t type, hsize_t start, hsize_t count,
                            void *data)
{
  hid_t   dset, fspace, mspace;
  hsize_t dims[4], offs[4] = {0, 0, 0, 0}, cnt[4];
  int     ndim;

  PetscFunctionBeginUser;
  PetscCall(TCH5GetDims(h5, name, &ndim, dims));
  PetscCheck(start + count <= dims[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: dataset %s has %llu rows, cannot read rows [%llu, %llu)", h5->path, name,
             (unsigned long long)dims[0], (unsigned long long)start,
             (unsigned long long)(start + count));
  dset = H5Dopen2(h5->file, name, H5P_DEFAULT);
  TCH5Call(h5->comm, dset, "H5Dopen2(%s) in %s", name, h5->path);
  fspace  = H5Dget_space(dset);
  offs[0] = start;
  cnt[0]  = count;
  for (int d = 1; d < ndim; d++) cnt[d] = dims[d];
  if (count > 0)
    TCH5Call(h5->comm, H5Sselect_hyperslab(fspace, H5S_SELECT_SET, offs, NULL, cnt, NULL),
             "H5Sselect_hyperslab(%s)", name);
  else
    TCH5Call(h5->comm, H5Sselect_none(fspace), "H5Sselect_none(%s)", name);
  {
    hsize_t total = 1;
    for (int d = 0; d < ndim; d++) total *= dims[d];
    if (total > 0) { /* nothing to read from an empty dataset */
      mspace = H5Screate_simple(ndim, cnt, NULL);
      if (count == 0) H5Sselect_none(mspace);
      TCH5Call(h5->comm, H5Dread(dset, type, mspace, fspace, h5->dxpl, data), "H5Dread(%s) in %s",
               name, h5->path);
      H5Sclose(mspace);
    }
  }
  H5Sclose(fspace);
  H5Dclose(dset);
  PetscFunctionReturn(0);
}

/* Open attribute obj:name, or *attr = -1 when it does not exist. */
static PetscErrorCode TCH5AttrOpen(TCH5 *h5, const char obj[], const char name[], hid_t *attr)
{
  htri_t ex;

  PetscFunctionBeginUser;
  *attr = -1;
  if (strcmp(obj, "/") && H5Lexists(h5->file, obj, H5P_DEFAULT) <= 0) PetscFunctionReturn(0);
  ex = H5Aexists_by_name(h5->file, obj, name, H5P_DEFAULT);
  TCH5Call(h5->comm, ex, "H5Aexists_by_name(%s:%s) in %s", obj, name, h5->path);
  if (!ex) PetscFunctionReturn(0);
  *attr = H5Aopen_by_name(h5->file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
  TCH5Call(h5->comm, *attr, "H5Aopen_by_name(%s:%s) in %s", obj, name, h5->path);
  PetscFunctionReturn(0);
}

/* Read a string attribute, fixed or variable length (h5py writes the latter),
   into a new buffer (PetscFree it). */
static PetscErrorCode TCH5ReadAttrStringAlloc(TCH5 *h5, const char obj[], const char name[],
                                              char **value, PetscBool *found)
{
  hid_t attr, type, mtype;

  PetscFunctionBeginUser;
  *value = NULL;
  PetscCall(TCH5AttrOpen(h5, obj, name, &attr));
  *found = (PetscBool)(attr >= 0);
  if (attr < 0) PetscFunctionReturn(0);
  type = H5Aget_type(attr);
  PetscCheck(H5Tget_class(type) == H5T_STRING, h5->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: attribute %s:%s is not a string", h5->path, obj, name);
  mtype = H5Tcopy(H5T_C_S1);
  H5Tset_cset(mtype, H5Tget_cset(type));
  if (H5Tis_variable_str(type) > 0) {
    char *vs = NULL;
    H5Tset_size(mtype, H5T_VARIABLE);
    TCH5Call(h5->comm, H5Aread(attr, mtype, &vs), "H5Aread(%s:%s) in %s", obj, name, h5->path);
    PetscCall(PetscStrallocpy(vs ? vs : "", value));
    if (vs) H5free_memory(vs);
  } else {
    size_t n = H5Tget_size(type);
    H5Tset_size(mtype, n + 1);
    H5Tset_strpad(mtype, H5T_STR_NULLTERM);
    PetscCall(PetscCalloc1(n + 1, value));
    TCH5Call(h5->comm, H5Aread(attr, mtype, *value), "H5Aread(%s:%s) in %s", obj, name, h5->path);
    (*value)[n] = 0;
  }
  H5Tclose(mtype);
  H5Tclose(type);
  H5Aclose(attr);
  PetscFunctionReturn(0);
}

PetscErrorCode TCH5GetAttrStringLength(TCH5 *h5, const char obj[], const char name[], size_t *len,
                                       PetscBool *found)
{
  char *v;

  PetscFunctionBeginUser;
  PetscCall(TCH5ReadAttrStringAlloc(h5, obj, name, &v, found));
  *len = v ? strlen(v) : 0;
  PetscCall(PetscFree(v));
  PetscFunctionReturn(0);
}

PetscErrorCode TCH5ReadAttrString(TCH5 *h5, const char obj[], const char name[], char value[],
                                  size_t len, PetscBool *found)
{
  char *v;

  PetscFunctionBeginUser;
  PetscCall(TCH5ReadAttrStringAlloc(h5, obj, name, &v, found));
  if (!*found) PetscFunctionReturn(0);
  if (strlen(v) >= len) {
    size_t n = strlen(v);
    PetscCall(PetscFree(v));
    SETERRQ(h5->comm, PETSC_ERR_FILE_UNEXPECTED,
            "%s: attribute %s:%s is %zu characters, longer than %zu", h5->path, obj, name, n,
            len - 1);
  }
  PetscCall(PetscStrncpy(value, v, len));
  PetscCall(PetscFree(v));
  PetscFunctionReturn(0);
}

static PetscErrorCode TCH5ReadAttrNumber(TCH5 *h5, const char obj[], const char name[], hid_t mtype,
                                         void *value, PetscBool *found)
{
  hid_t attr, type;

  PetscFunctionBeginUser;
  PetscCall(TCH5AttrOpen(h5, obj, name, &attr));
  *found = (PetscBool)(attr >= 0);
  if (attr < 0) PetscFunctionReturn(0);
  type = H5Aget_type(attr);
  PetscCheck(H5Tget_class(type) == H5Tget_class(mtype), h5->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: attribute %s:%s has the wrong type (expected %s)", h5->path, obj, name,
             H5Tget_class(mtype) == H5T_FLOAT ? "a real" : "an integer");
  TCH5Call(h5->comm, H5Aread(attr, mtype, value), "H5Aread(%s:%s) in %s", obj, name, h5->path);
  H5Tclose(type);
  H5Aclose(attr);
  PetscFunctionReturn(0);
}

PetscErrorCode TCH5ReadAttrReal(TCH5 *h5, const char obj[], const char name[], double *value,
                                PetscBool *found)
{
  PetscFunctionBeginUser;
  PetscCall(TCH5ReadAttrNumber(h5, obj, name, H5T_NATIVE_DOUBLE, value, found));
  PetscFunctionReturn(0);
}

PetscErrorCode TCH5ReadAttrInt(TCH5 *h5, const char obj[], const char name[], long long *value,
                               PetscBool *found)
{
  PetscFunctionBeginUser;
  PetscCall(TCH5ReadAttrNumber(h5, obj, name, H5T_NATIVE_LLONG, value, found));
  PetscFunctionReturn(0);
}

PetscErrorCode TCH5ReadAttrReals(TCH5 *h5, const char obj[], const char name[], PetscInt n,
                                 double value[], PetscBool *found)
{
  hid_t    attr, space;
  hssize_t np;

  PetscFunctionBeginUser;
  PetscCall(TCH5AttrOpen(h5, obj, name, &attr));
  *found = (PetscBool)(attr >= 0);
  if (attr < 0) PetscFunctionReturn(0);
  space = H5Aget_space(attr);
  np    = H5Sget_simple_extent_npoints(space);
  H5Sclose(space);
  if (np != (hssize_t)n) H5Aclose(attr);
  PetscCheck(np == (hssize_t)n, h5->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: attribute %s:%s has %lld values, expected %" PetscInt_FMT, h5->path, obj, name,
             (long long)np, n);
  PetscCall(TCH5ReadAttrNumber(h5, obj, name, H5T_NATIVE_DOUBLE, value, found));
  H5Aclose(attr);
  PetscFunctionReturn(0);
}
