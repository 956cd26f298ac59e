/*
 * Thin, checked wrappers over parallel HDF5 (MPI-IO driver, collective
 * transfers). Every HDF5 return code is checked and turned into a PETSc error
 * that names the call and the object. All functions are collective on the
 * communicator the file was opened with, unless stated otherwise.
 */
#pragma once
#include <petscsys.h>
#include <hdf5.h>

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
#define TCH5Call(comm, call, ...)                                                                  \
  do {                                                                                             \
    if ((call) < 0) SETERRQ((comm), PETSC_ERR_LIB, "HDF5 call failed: " __VA_ARGS__);              \
  } while (0)

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
