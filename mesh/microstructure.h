/*
 * Synthetic electrode microstructures and a calendering model.
 *
 * Generator: spherical active particles with log-normally distributed radii
 * are placed at uniformly random centres (in the box grown by one radius, so
 * the faces are not depleted) until the active-material fraction reaches
 * 1 - porosity - cbd_fraction; overlapping spheres (a Boolean model) or, with
 * overlap off, random sequential addition that rejects any particle touching
 * another (which jams near 38 % solid for equal spheres). A carbon-binder
 * domain (CBD) of the requested volume fraction is then deposited in the pore
 * voxels with the most solid in their 3x3x3 neighbourhood: necks and
 * crevices first, where binder collects as the slurry dries. Labels:
 * 0 pore, 1 active, 2 CBD; z is the through-thickness axis (z = 0 at the
 * current collector). A self-contained xoshiro256** generator makes a seed
 * give the same volume on any machine and rank count.
 *
 * Calendering (compression along z to a target porosity at fixed areal
 * loading): the active material and binder are incompressible, so the
 * thickness shrinks to nz' = nz (1 - eps0) / (1 - eps_target), rounded to whole
 * voxels (the solid volumes are then adjusted by less than one voxel layer so
 * that the target porosity is met). Particle
 * centres move affinely (z' = z nz'/nz, the collector fixed); particles that
 * now overlap more would lose volume, so every radius grows by one common
 * factor, found by bisection, until the active volume is conserved, and the
 * CBD (same volume) is deposited again. This is the affine model with
 * overlap handling; it keeps the particle shape (no plastic flattening) and
 * ignores particle rearrangement and cracking.
 */
#pragma once
#include <petscsys.h>

typedef struct {
  PetscInt           nx, ny, nz;   /* voxels */
  PetscReal          voxel_m;      /* edge length, m */
  PetscReal          porosity;     /* target pore fraction */
  PetscReal          cbd_fraction; /* target CBD fraction of the box */
  PetscReal          radius_m;     /* mean particle radius, m */
  PetscReal          radius_sd;    /* relative standard deviation of the radius */
  PetscBool          overlap;      /* Boolean model (PETSC_TRUE) or non-overlapping RSA */
  unsigned long long seed;
} TCMicroParams;

typedef struct {
  TCMicroParams  p;
  PetscInt       nparticles;
  PetscReal     *xyzr; /* 4 per particle: centre x, y, z and radius, m */
  unsigned char *lab;  /* nz * ny * nx labels, x fastest */
  PetscReal      porosity, active_fraction, cbd_fraction; /* achieved */
  PetscReal      calender_factor; /* thickness ratio to the uncompressed electrode (1 if none) */
} TCMicro;

/* Logically collective: every rank of comm generates the same volume (same
   seed, no communication), so input errors are raised on comm. A target that
   cannot be reached (non-overlapping particles jam) is PETSC_ERR_USER_INPUT. */
PETSC_EXTERN PetscErrorCode TCMicroGenerate(MPI_Comm comm, const TCMicroParams *p, TCMicro *m);
/* Logically collective, as above. Compress m to porosity target (lower than m's). */
PETSC_EXTERN PetscErrorCode TCMicroCalender(MPI_Comm comm, const TCMicro *m, PetscReal target,
                                            TCMicro *out);
PETSC_EXTERN PetscErrorCode TCMicroFree(TCMicro *m);
/* Collective. Write as Data Exchange HDF5 (+ /microstructure particles and
   parameters, so the file can be calendered later); rank 0's m is written. */
PETSC_EXTERN PetscErrorCode TCMicroWrite(MPI_Comm comm, const TCMicro *m, const char path[]);
/* Collective. Read a file written by TCMicroWrite (for calendering); the
   result lives on every rank. PETSC_ERR_USER_INPUT if the file has no
   particle list. */
PETSC_EXTERN PetscErrorCode TCMicroRead(MPI_Comm comm, const char path[], TCMicro *m);
