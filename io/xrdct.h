/*
 * Measured XRD-CT temperature maps: reading them and turning the Cu lattice
 * parameter into temperature.
 *
 * XRD-CT reconstructs, pixel by pixel, the diffraction pattern of a slice
 * through an operating cell; where the copper current collector is, the Cu
 * (111)/(200) peak positions give its lattice parameter a, and a rises with
 * temperature by thermal expansion (Heenan et al. 2023, Nature 617, 507).
 *
 * Lattice -> temperature: the thermal strain relative to a reference state
 * (a_ref at T_ref) is
 *     e(T) = (a - a_ref) / a_ref = alpha (T - T_ref) + beta (T - T_ref)^2,
 * inverted in closed form. The reference is either a calibration map
 * (a_ref per pixel, the cell at a known uniform temperature) or the constants
 * a0 = 3.6149 A at 293.15 K with alpha = 16.5e-6 /K (copper near room
 * temperature: Nix & MacNair 1941, Phys. Rev. 60, 597; Touloukian et al.
 * 1975, TPRC Data Series vol. 12). beta defaults to 0 (linear expansion); the
 * rise of alpha with T (about 1e-8 /K^2 near 300 K) can be given as beta.
 *
 * The map file formats (HDF5 group /xrdct, TIFF, CSV) are documented in the
 * README ("tomocell compare").
 */
#pragma once
#include <petscsys.h>

typedef struct {
  PetscReal a0_A;        /* reference lattice parameter, Angstrom */
  PetscReal T0_K;        /* its temperature, K */
  PetscReal alpha_per_K; /* linear expansion coefficient at T0, 1/K */
  PetscReal beta_per_K2; /* quadratic term of the strain, 1/K^2 */
} TCLattice;

/* Thermal strain (a - a_ref)/a_ref <-> temperature rise over the reference.
   Not collective. The inverse picks the root continuous with the linear law. */
PETSC_EXTERN PetscReal TCLatticeStrainToDT(const TCLattice *lat, PetscReal strain);
PETSC_EXTERN PetscReal TCLatticeDTToStrain(const TCLattice *lat, PetscReal dT_K);
/* a (Angstrom) <-> T (K) with the constants a0 at T0. */
PETSC_EXTERN PetscReal TCLatticeToTemperature(const TCLattice *lat, PetscReal a_A);
PETSC_EXTERN PetscReal TCLatticeFromTemperature(const TCLattice *lat, PetscReal T_K);

typedef enum {
  TC_XRD_QUANTITY_FILE,
  TC_XRD_QUANTITY_LATTICE,
  TC_XRD_QUANTITY_TEMPERATURE
} TCXrdQuantity;

/* What the file does not say (or what overrides it). */
typedef struct {
  PetscReal     pixel_size_m;   /* > 0 overrides the file */
  PetscReal     slice_height_m; /* finite overrides the file */
  PetscInt      ntimes;         /* > 0: times_s overrides the file */
  PetscReal     times_s[256];
  TCXrdQuantity quantity; /* TIFF/CSV: required; HDF5: from the dataset name */
  TCLattice     lattice;
} TCXrdOptions;

/* A time series of 2-D maps on the same pixel grid, as temperature. Pixel
   (i, j) is centred at x = (i + 1/2 - nx/2) px, y = (j + 1/2 - ny/2) px (the
   convention of tomocell trace); j is the row index of the stored array. */
typedef struct {
  PetscInt       nt, ny, nx;
  PetscReal      pixel_size_m, slice_height_m;
  PetscReal     *time_s;     /* nt */
  PetscReal     *T_K;        /* nt * ny * nx, NaN where invalid */
  PetscReal     *sigma_K;    /* nt * ny * nx temperature uncertainty, or NULL */
  unsigned char *valid;      /* ny * nx: mask and a finite value at some time */
  PetscInt       nvalid;     /* pixels with valid[] set */
  TCXrdQuantity  quantity;   /* what the file held */
  PetscBool      calibrated; /* a reference lattice map was used */
  PetscReal      reference_T_K;
} TCXrdMap;

/* Collective (every rank gets the whole map). path is HDF5 (group /xrdct),
   TIFF (.tif/.tiff; pages are times) or CSV (.csv, one 2-D map). Every
   missing or inconsistent item is PETSC_ERR_USER_INPUT naming the file, the
   item and the option that supplies it; a map without a valid pixel is an
   error. */
PETSC_EXTERN PetscErrorCode TCXrdMapRead(MPI_Comm comm, const char path[], const TCXrdOptions *opt,
                                         TCXrdMap *map);
PETSC_EXTERN PetscErrorCode TCXrdMapReset(TCXrdMap *map);
