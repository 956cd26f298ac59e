/*
 * CT volumes in the APS Data Exchange layout (De Carlo et al. 2014,
 * J. Synchrotron Rad. 21, 1224): the image stack is the dataset
 * /exchange/data with dimensions (z, y, x); a 2-D dataset (y, x) is read as
 * one slice. The pixel size in metres is the dataset attribute pixel_size_m
 * or /measurement/instrument/detector/pixel_size (a dataset or attribute, in
 * metres unless a "units" attribute says um, mm or nm), else Data
 * Exchange's actual_pixel_size_x there (the pixel on the sample plane). The
 * z spacing of the slices is the dataset attribute pixel_size_z_m, else
 * /measurement/instrument/detector/actual_pixel_size_y (the detector's
 * vertical pixel on the sample plane: the slice spacing of a reconstruction
 * about a vertical axis), else unknown (0).
 *
 * TIFF stacks are read too: a directory of single-page .tif/.tiff files
 * (sorted by name, one slice each) or one multi-page TIFF; strips, one sample
 * per pixel, 8/16/32-bit integers or 32/64-bit floats; pixel size from the
 * XResolution tag in centimetres, else -pixel_size.
 *
 * Reading is slice by slice with independent MPI-IO transfers so that each
 * rank reads only the slices it traces; every integer and floating type is
 * converted to float by HDF5. Other types (strings, compounds, ...) and
 * arrays of more than three dimensions are user-input errors.
 */
#pragma once
#include <petscsys.h>
#include <hdf5.h>

typedef struct _p_TCStack *TCStack;

/* Collective. Open path and the dataset (NULL: /exchange/data) and check its
   shape and type. pixel_size_m 0 is taken from the file (an error when it
   has none); a positive value overrides the file; < 0: from the file, 0 when
   it has none (the caller derives it, e.g. from the can). Errors name the file, the dataset and what is accepted. */
PETSC_EXTERN PetscErrorCode TCStackOpen(MPI_Comm comm, const char path[], const char dataset[],
                                         PetscReal pixel_size_m, TCStack *vol);
PETSC_EXTERN PetscErrorCode TCStackClose(TCStack *vol);
PETSC_EXTERN PetscErrorCode TCStackGetSizes(TCStack vol, PetscInt *nz, PetscInt *ny,
                                             PetscInt *nx);
PETSC_EXTERN PetscErrorCode TCStackGetPixelSize(TCStack vol, PetscReal *pixel_size_m);
/* Where the pixel size came from: "option", the file's object and attribute,
   "TIFF XResolution", or "" (none). */
PETSC_EXTERN PetscErrorCode TCStackGetPixelSource(TCStack vol, const char **src);
/* The file's z spacing, m (0: none given) and where it was found. */
PETSC_EXTERN PetscErrorCode TCStackGetPixelSizeZ(TCStack vol, PetscReal *pz, const char **src);
/* Stored type is an integer (labels are possible). */
PETSC_EXTERN PetscErrorCode TCStackIsInteger(TCStack vol, PetscBool *isint);
/* Not collective. Slice k (0 <= k < nz) into buf[ny * nx] (row-major, x fastest). */
PETSC_EXTERN PetscErrorCode TCStackReadSlice(TCStack vol, PetscInt k, float *buf);

/* Collective. Write a Data Exchange file atomically: this rank's slices
   [z0, z0 + nzlocal) of a (nz, ny, nx) stack, as uint8 (labels) when type is
   H5T_NATIVE_UCHAR or float32 when H5T_NATIVE_FLOAT; pixel_size_m attribute
   on /exchange/data. */
PETSC_EXTERN PetscErrorCode TCStackWrite(MPI_Comm comm, const char path[], PetscInt nz,
                                          PetscInt ny, PetscInt nx, PetscInt z0, PetscInt nzlocal,
                                          hid_t type, const void *data, PetscReal pixel_size_m);
