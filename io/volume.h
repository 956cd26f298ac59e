/*
 * Labelled voxel volumes (segmented CT), distributed in z-slabs.
 *
 * A volume has nx * ny * nz voxels of integer labels 0..255, stored as
 * uint8 in z, y, x order (x fastest), as in the APS Data Exchange layout
 * (/exchange/data, axes "z:y:x"). Each rank holds the whole z-planes
 * [z0, z1) (PETSc's default split of nz, so ranks beyond nz hold none).
 *
 * Readers (chosen by the file name):
 *   *.h5, *.hdf5, *.hdf  Data Exchange HDF5: /exchange/data of any integer
 *                        type, 2-D (y, x) or 3-D (z, y, x); the voxel size is
 *                        the dataset attribute pixel_size_m or the dataset
 *                        /measurement/instrument/detector/pixel_size (m);
 *   *.tif, *.tiff        a multi-page TIFF (one page per z, 8- or 16-bit,
 *                        one sample per pixel), or a directory of single-page
 *                        TIFFs read in name order;
 *   *.raw                raw little-endian voxels; needs dims and dtype.
 * A label above 255, a non-integer type, a truncated file or a volume with
 * no voxels is a PETSC_ERR_USER_INPUT / PETSC_ERR_FILE_UNEXPECTED error that
 * names the file.
 */
#pragma once
#include <petscsys.h>

typedef struct {
  PetscInt       nx, ny, nz; /* global size, voxels */
  PetscInt       z0, z1;     /* this rank's planes */
  unsigned char *lab;        /* (z1 - z0) * ny * nx labels, x fastest */
  PetscReal      voxel_m;    /* edge length; 0 if unknown */
  int            ndim_file;  /* 2 for a single image, 3 for a volume */
  char           path[PETSC_MAX_PATH_LEN];
  MPI_Comm       comm;
} TCVolume;

typedef struct {
  PetscInt  nx, ny, nz; /* for raw input */
  int       raw_bytes;  /* 1 or 2 (uint8 / uint16) */
  PetscReal voxel_m;    /* > 0 overrides the file's voxel size */
} TCVolumeReadOptions;

/* Collective. Read path (format from its name, see above) into vol. */
PETSC_EXTERN PetscErrorCode TCVolumeRead(MPI_Comm comm, const char path[],
                                         const TCVolumeReadOptions *opt, TCVolume *vol);
/* Collective. Build a volume from a full label array given on every rank
   (tests and generators). */
PETSC_EXTERN PetscErrorCode TCVolumeFromArray(MPI_Comm comm, PetscInt nx, PetscInt ny, PetscInt nz,
                                              const unsigned char *all, PetscReal voxel_m,
                                              TCVolume *vol);
PETSC_EXTERN PetscErrorCode TCVolumeFree(TCVolume *vol);
/* Planes of rank r when nz planes are split over size ranks. */
PETSC_EXTERN void TCVolumeSlab(PetscInt nz, PetscMPIInt size, PetscMPIInt r, PetscInt *z0,
                               PetscInt *z1);
