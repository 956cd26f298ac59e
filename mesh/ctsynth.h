/*
 * Synthetic CT of a TCSpiral: labels or grayscale slices of a jelly roll at a
 * chosen pixel size, with partial-volume averaging, Gaussian blur (detector
 * and reconstruction point-spread) and Gaussian noise, so that tracing can be
 * tested against known truth.
 *
 * Image coordinates (shared with mesh/trace.h): pixel (i, j) of an nx x ny
 * slice has its centre at x = (i + 0.5 - nx/2) px, y = (j + 0.5 - ny/2) px
 * (metres); slice k sits at z = (k + 0.5) px. The roll axis passes through
 * the spiral centre at mid-height and is tilted by tilt_rad in the x-z plane
 * (a shear of the centre along z, exact for small angles).
 *
 * Labels: 1 = Cu foil, 2 = Al foil, 0 = everything else; a pixel is a foil
 * when its centre lies within max(t/2, px/2) of the foil centre line (thin
 * foils stay visible as one-pixel lines, as in segmented CT).
 * Grayscale: relative attenuation at 8 keV-ish contrast, Cu 1.0, NMC cathode
 * 0.6, Al 0.45, graphite anode 0.15, separator 0.08, electrolyte/void 0 --
 * the ordering seen in lab CT of NMC/graphite cells (the thin bright Cu line
 * and the broad bright cathode band that contains the Al foil); averaged over
 * ss x ss sub-pixels, blurred with sigma blur_px and with noise of standard
 * deviation noise added.
 */
#pragma once
#include "mesh/spiral.h"

typedef enum { TC_RENDER_LABELS, TC_RENDER_GRAY } TCRenderMode;

typedef struct {
  TCRenderMode mode;
  PetscReal    pixel_m;
  PetscInt     nx, ny, nz; /* nx = ny = 0: square, the roll plus 5 % margin */
  PetscInt     supersample;
  PetscReal    blur_px, noise, tilt_rad;
  PetscInt     seed;
} TCRenderParams;

/* Fill nx, ny when zero. */
PETSC_EXTERN PetscErrorCode TCRenderSetSize(TCSpiral sp, TCRenderParams *rp);
/* Not collective. Render slice k into img[ny * nx] (labels as 0, 1, 2). */
PETSC_EXTERN PetscErrorCode TCRenderSlice(TCSpiral sp, const TCRenderParams *rp, PetscInt k,
                                          float *img);
/* Collective. Render all nz slices (distributed in blocks over the ranks) and
   write them as Data Exchange HDF5 (uint8 labels or float32 grayscale). */
PETSC_EXTERN PetscErrorCode TCRenderWrite(TCSpiral sp, const TCRenderParams *rp, MPI_Comm comm,
                                          const char path[]);
