/*
 * Simulated against measured temperature in a slice of a jelly roll: the
 * forward model, the registration and the metrics behind tomocell compare.
 *
 * Simulated field (TCSimField): the foil nodes of a results file
 * (/nodes/coordinates_m, /nodes/foil, /time_s, /series/temperature_K). The Cu
 * nodes are grouped into layers by height; within a layer they are ordered
 * along the foil (by /nodes/s_m when present, else by node id). The Cu
 * centre line in the measured plane z is interpolated linearly between the
 * two layers that bracket z (node by node, so every layer must have the same
 * number of Cu nodes), and its temperatures linearly in z and in time. When
 * the file holds the network's source curves (/curves, /layers/curve of
 * mesh/rollnet.h: a run of tomocell 0.1 on any roll whose Cu foil was given,
 * spiral or traced), the centre line follows them instead of the chords
 * between nodes -- exact whatever the node spacing (a chord of 1 mm on the
 * 1.5 mm core of an 18650 lies 80 um inside the foil) -- at common arc
 * fractions of the two layers' curves, its temperature linear in arc length
 * between the nodes, which sit at equal fractions of each layer's curve.
 *
 * Forward model: a measured pixel sees the Cu foil, so the simulated value at
 * a pixel is the temperature of the nearest point of the Cu centre line
 * (linear along the segment), if that point is within max_distance; pixels
 * farther from any simulated Cu are "off foil" and not compared. An optional
 * Gaussian blur (beam FWHM) averages the simulated values over the
 * neighbouring compared pixels (normalised convolution).
 *
 * Registration x_sim = scale R(theta) u + shift maps image coordinates u
 * (metres, pixel centres at (i + 1/2 - nx/2) px) to the simulation frame. It
 * is fitted by symmetric chamfer matching of the measured Cu pixels against
 * the simulated Cu centre line: mean min(d, 3 px)^2 of the distance of each
 * valid pixel to the simulated line plus that of each simulated line point
 * inside the field of view to the nearest valid pixel (exact Euclidean
 * distance transform, Felzenszwalb & Huttenlocher 2012, Theory Comput. 8,
 * 415). A rotation of an Archimedean spiral is the same spiral with a
 * different inner radius, so only the ends of the foil and departures from
 * the ideal spiral pin the rotation: a coarse search over all rotations
 * (shift from the centroids, which assumes the map holds the whole roll)
 * is followed by Nelder-Mead refinement of the best minima.
 */
#pragma once
#include "io/xrdct.h"
#include <petscsys.h>

typedef struct _p_TCSimField *TCSimField;

/* Collective: every rank reads the geometry. Errors name the file and the
   dataset. */
PETSC_EXTERN PetscErrorCode TCSimFieldRead(MPI_Comm comm, const char path[], TCSimField *sim);
PETSC_EXTERN PetscErrorCode TCSimFieldDestroy(TCSimField *sim);
/* Output time range (s), layer height range (m), layer count, Cu nodes per
   layer. */
PETSC_EXTERN PetscErrorCode TCSimFieldGetInfo(TCSimField sim, PetscReal trange[2],
                                              PetscReal zrange[2], PetscInt *nlayers,
                                              PetscInt *ncu);
/* Select the plane z (m); PETSC_ERR_USER_INPUT outside the layers. centre is
   the attribute roll_centre_m of the file or the mean of the Cu nodes. */
PETSC_EXTERN PetscErrorCode TCSimFieldSetSlice(TCSimField sim, PetscReal z_m);
/* The slice's n points along the Cu line (the Cu nodes of a layer, or the
   points of the source curves), their xy (borrowed), the centre, the layers. */
PETSC_EXTERN PetscErrorCode TCSimFieldGetSlice(TCSimField sim, PetscInt *n, const PetscReal **xy,
                                               PetscReal centre_m[2], PetscInt layers[2]);
/* Collective. Temperatures (K) of the slice's n Cu points (TCSimFieldGetSlice)
   at time t (linear between output times); PETSC_ERR_USER_INPUT outside the
   run. */
PETSC_EXTERN PetscErrorCode TCSimFieldSliceTemperature(TCSimField sim, PetscReal t_s,
                                                       PetscReal *T_K);

typedef struct {
  PetscReal theta_rad, scale, shift_m[2];
} TCRegistration;

/* Image coordinates (m) of pixel (i, j) and their place in the simulation. */
PETSC_EXTERN void TCRegistrationApply(const TCRegistration *reg, const TCXrdMap *map, PetscReal i,
                                      PetscReal j, PetscReal x[2]);
/* Where the simulation point x lies in the image, in (fractional) pixels. */
PETSC_EXTERN void TCRegistrationInverse(const TCRegistration *reg, const TCXrdMap *map,
                                        const PetscReal x[2], PetscReal ij[2]);

/* Collective: the ranks share the pixels of each cost evaluation. Fit reg
   (fit_scale: scale too, else reg->scale is kept). cost is the final chamfer
   cost in px^2 (0 is a perfect match, 18 nothing in common). */
PETSC_EXTERN PetscErrorCode TCCompareRegister(MPI_Comm comm, TCSimField sim, const TCXrdMap *map,
                                              PetscBool fit_scale, TCRegistration *reg,
                                              PetscReal *cost);
/* The same cost for a given registration (for reports). Collective. */
PETSC_EXTERN PetscErrorCode TCCompareCost(MPI_Comm comm, TCSimField sim, const TCXrdMap *map,
                                          const TCRegistration *reg, PetscReal *cost);

/* Not collective. The forward model on the map's grid: Tsim[ny*nx] from the
   slice temperatures T_K (TCSimFieldSliceTemperature), NaN at invalid and
   off-foil pixels. max_distance_px: how far (measured pixels) a pixel may be
   from the simulated Cu line; beam_fwhm_m: 0 for no blur. *non: pixels
   compared. */
PETSC_EXTERN PetscErrorCode TCCompareForward(TCSimField sim, const TCXrdMap *map,
                                             const TCRegistration *reg, const PetscReal *T_K,
                                             PetscReal max_distance_px, PetscReal beam_fwhm_m,
                                             PetscReal *Tsim, PetscInt *non);

#define TC_COMPARE_MAX_BINS 64
typedef struct {
  PetscInt  n;                                   /* pixels compared */
  PetscReal rmse_K, bias_K, std_K, max_abs_K;    /* of measured - simulated */
  PetscReal pearson_r, chi2;                     /* chi2 per pixel: NaN without uncertainty */
  PetscReal r_inner_m, r_outer_m;                /* radial span of the compared pixels */
  PetscReal core_K[2], surface_K[2];             /* mean measured / simulated */
  PetscReal hotspot_m[2][2], hotspot_distance_m; /* measured, simulated (x, y) */
  PetscInt  nbins;
  PetscReal bin_r_m[TC_COMPARE_MAX_BINS], bin_meas_K[TC_COMPARE_MAX_BINS],
      bin_sim_K[TC_COMPARE_MAX_BINS];
  PetscInt bin_n[TC_COMPARE_MAX_BINS];
} TCCompareStats;

/* Not collective. Metrics of map time k against Tsim: radial coordinates
   about centre_m (simulation frame); core and surface are the inner and
   outer core_fraction of the radial span; the hotspot is the centroid of the
   hottest hot_fraction of the compared pixels. */
PETSC_EXTERN PetscErrorCode TCCompareStatsCompute(const TCXrdMap *map, PetscInt k,
                                                  const PetscReal *Tsim, const TCRegistration *reg,
                                                  const PetscReal centre_m[2], PetscInt nbins,
                                                  PetscReal core_fraction, PetscReal hot_fraction,
                                                  TCCompareStats *st);
