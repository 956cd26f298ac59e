/*
 * Thin, checked wrappers over parallel HDF5 (MPI-IO driver, collective
 * transfers). Every HDF5 return code is checked and turned into a PETSc error
 * that names the call and the object. All functions are collective on the
 * communicator the file was opened with, unless stated otherwise.
 */
#pragma once
#include <petscsys.h>
#include <hdf5.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  MPI_Comm comm;
  hid_t    file;
  hid_t    dxpl; /* collective transfer property list */
  char     path[PETSC_MAX_PATH_LEN];
} TCH5;

/* Create (truncate) path for writing with the MPI-IO driver. */
PETSC_EXTERN PetscErrorCode TCH5Create(MPI_Comm comm, const char path[], TCH5 *h5);
/* Open an existing file read-only with the MPI-IO driver. */
PETSC_EXTERN PetscErrorCode TCH5Open(MPI_Comm comm, const char path[], TCH5 *h5);
PETSC_EXTERN PetscErrorCode TCH5Close(TCH5 *h5);

/* Write a dataset of global shape dims[0..ndim-1] (row-major); this rank writes
   rows [start, start+count) of the first dimension from data (contiguous).
   Intermediate groups in name are created. type: H5T_NATIVE_DOUBLE,
   H5T_NATIVE_INT, H5T_NATIVE_LLONG, H5T_NATIVE_UCHAR... */
PETSC_EXTERN PetscErrorCode TCH5WriteRows(TCH5 *h5, const char name[], hid_t type, int ndim,
                                          const hsize_t dims[], hsize_t start, hsize_t count,
                                          const void *data);

/* A 2-D double dataset [dims[0], dims[1]] of which this rank writes the
   column block [col0, col0 + ncols) of every row, from data [dims[0]][ncols]
   (time series: one row per time, one column per node). */
PETSC_EXTERN PetscErrorCode TCH5WriteCols(TCH5 *h5, const char name[], const hsize_t dims[2],
                                          hsize_t col0, hsize_t ncols, const double *data);

/* Attributes on an object (group or dataset path, "/" for the root). */
PETSC_EXTERN PetscErrorCode TCH5WriteAttrString(TCH5 *h5, const char obj[], const char name[],
                                                const char value[]);
PETSC_EXTERN PetscErrorCode TCH5WriteAttrReal(TCH5 *h5, const char obj[], const char name[],
                                              double value);
PETSC_EXTERN PetscErrorCode TCH5WriteAttrReals(TCH5 *h5, const char obj[], const char name[],
                                               PetscInt n, const double value[]);
PETSC_EXTERN PetscErrorCode TCH5WriteAttrInt(TCH5 *h5, const char obj[], const char name[],
                                             long long value);

/* Create a group (and parents) if it does not exist. */
PETSC_EXTERN PetscErrorCode TCH5EnsureGroup(TCH5 *h5, const char name[]);

/* Check an HDF5 return value (negative means failure). */
/* A failed call is PETSC_ERR_LIB naming it; when the system said why (a full
   disk, a quota, an I/O error, a read-only file system), PETSC_ERR_FILE_WRITE
   with the reason. */
#define TCH5Call(comm, call, ...)                                                                  \
  do {                                                                                             \
    errno = 0;                                                                                     \
    if ((call) < 0) {                                                                              \
      int  tc_e_ = errno;                                                                          \
      char tc_m_[3 * PETSC_MAX_PATH_LEN];                                                          \
      snprintf(tc_m_, sizeof(tc_m_), __VA_ARGS__);                                                 \
      if (TCH5SystemError(tc_e_))                                                                  \
        SETERRQ((comm), PETSC_ERR_FILE_WRITE, "cannot write: %s: %s", tc_m_, strerror(tc_e_));     \
      SETERRQ((comm), PETSC_ERR_LIB, "HDF5 call failed: %s", tc_m_);                               \
    }                                                                                              \
  } while (0)
/* TCH5Call for a collective call (a write) whose failure may show on some
   ranks only (a full disk): the failure, and the reason, reach every rank of
   comm, so that the error stays collective. */
#define TCH5CallAll(comm, call, ...)                                                               \
  do {                                                                                             \
    int tc_v_[2], tc_g_[2];                                                                        \
    errno    = 0;                                                                                  \
    tc_v_[0] = (call) < 0;                                                                         \
    tc_v_[1] = tc_v_[0] ? errno : 0;                                                               \
    PetscCallMPI(MPI_Allreduce(tc_v_, tc_g_, 2, MPI_INT, MPI_MAX, (comm)));                        \
    if (tc_g_[0]) {                                                                                \
      char tc_m_[3 * PETSC_MAX_PATH_LEN];                                                          \
      snprintf(tc_m_, sizeof(tc_m_), __VA_ARGS__);                                                 \
      if (TCH5SystemError(tc_g_[1]))                                                               \
        SETERRQ((comm), PETSC_ERR_FILE_WRITE, "cannot write: %s: %s", tc_m_, strerror(tc_g_[1]));  \
      SETERRQ((comm), PETSC_ERR_FILE_WRITE,                                                        \
              "cannot write: %s (check free disk space, quota and permissions)", tc_m_);           \
    }                                                                                              \
  } while (0)
PETSC_EXTERN int TCH5SystemError(int err);
/* Close every open HDF5 object and shut the library down (after a failure,
   before MPI_Finalize, which otherwise closes half-written files itself). */
PETSC_EXTERN void TCH5CloseAll(void);

/* Reading (collective on the file's communicator). Rank r reads rows
   [start, start+count) of dataset name into data (contiguous, type as for
   writing); dims receives the global shape (at most 4 dimensions) when
   not NULL. TCH5GetDims only queries the shape. A missing dataset is
   PETSC_ERR_FILE_UNEXPECTED naming it and the file. */
PETSC_EXTERN PetscErrorCode TCH5GetDims(TCH5 *h5, const char name[], int *ndim, hsize_t dims[]);
PETSC_EXTERN PetscErrorCode TCH5ReadRows(TCH5 *h5, const char name[], hid_t type, hsize_t start,
                                         hsize_t count, void *data);
/* Attributes; *found is PETSC_FALSE when the attribute does not exist (then
   the value is untouched). A string longer than len - 1 is an error. */
PETSC_EXTERN PetscErrorCode TCH5ReadAttrString(TCH5 *h5, const char obj[], const char name[],
                                               char value[], size_t len, PetscBool *found);
/* The string's length (without the terminator), for sizing a buffer. */
PETSC_EXTERN PetscErrorCode TCH5GetAttrStringLength(TCH5 *h5, const char obj[], const char name[],
                                                    size_t *len, PetscBool *found);
PETSC_EXTERN PetscErrorCode TCH5ReadAttrReal(TCH5 *h5, const char obj[], const char name[],
                                             double *value, PetscBool *found);
/* An array attribute of exactly n reals (a different count is an error). */
PETSC_EXTERN PetscErrorCode TCH5ReadAttrReals(TCH5 *h5, const char obj[], const char name[],
                                              PetscInt n, double value[], PetscBool *found);
PETSC_EXTERN PetscErrorCode TCH5ReadAttrInt(TCH5 *h5, const char obj[], const char name[],
                                            long long *value, PetscBool *found);
