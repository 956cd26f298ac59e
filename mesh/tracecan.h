/*
 * TCTraceCanFit: the outer diameter of a cell's can in a grayscale CT slice,
 * in pixels, for the pixel size of a scan that does not state it (a lab scan
 * of a cell with a known can: pixel = can diameter / fitted diameter).
 *
 * Algorithm:
 *  1. A first centre: the centroid of the pixels above the Otsu threshold of
 *     the whole image (the can and the roll are concentric).
 *  2. The can: the brightest ring of the radial mean profile about it (rings
 *     at least a quarter inside the image), which must stand out from the
 *     roll inside it and fall outside it to below half way to the level
 *     beyond: its outer edge there is the first radius R0 estimate.
 *  3. Sub-pixel edge points: rays from the centre (one per pixel of
 *     circumference, at least 360), each sampled every quarter pixel
 *     (bilinear) over a window about R0; from the window's brightest sample
 *     (the wall) outward, the first crossing of the level half way between
 *     the wall's peak and the darkest sample beyond it (the 50 % point of
 *     the blurred edge), interpolated linearly between samples.
 *  4. Algebraic circle fit (Kasa 1976, IEEE Trans. Instrum. Meas. 25, 8:
 *     least squares of x^2 + y^2 + D x + E y + F) to the edge points; points
 *     off the circle by more than max(3 robust sigma, 0.25 px) are dropped
 *     and the fit repeated. Steps 3-4 are repeated three times about the new
 *     centre with the window narrowed to the scatter.
 * The fit fails (found false, why) without such a ring, with edge points on
 * fewer than half of the rays, or with an rms residual above 1.5 px (not a
 * round can). Centre in pixel units of the image (pixel (i, j) centred at
 * (i + 0.5, j + 0.5)).
 */
#pragma once
#include <petscsys.h>

typedef struct {
  PetscBool found;
  PetscReal diameter_px;  /* outer diameter of the can */
  PetscReal centre_px[2]; /* x, y */
  PetscReal rms_px;       /* rms distance of the kept edge points from the circle */
  PetscInt  rays, points; /* rays cast, edge points kept in the final fit */
  char      why[256];     /* found false: why */
} TCCanFit;

/* Not collective. img[ny * nx], row-major (x fastest). */
PETSC_EXTERN PetscErrorCode TCTraceCanFit(const float *img, PetscInt nx, PetscInt ny,
                                          TCCanFit *fit);
