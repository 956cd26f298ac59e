/*
 * TCTrace: trace the current collectors of a jelly roll in a CT slice into
 * ordered curves, inner end to outer end.
 *
 * Input is one slice (float image, labels or grayscale) in the image
 * coordinates of mesh/ctsynth.h (pixel centre x = (i + 0.5 - nx/2) px).
 *
 * Algorithm (polar tracking, in the spirit of the ray-casting unrolling of
 * Kok et al. 2019, J. Electrochem. Soc. 166 A4096, and the spiral tracing
 * used by Tranter et al. 2020, J. Electrochem. Soc. 167 110538):
 *  1. Classes: labelled data -- every non-zero label is one foil (or those
 *     picked with -trace_label); grayscale -- Gaussian pre-smoothing
 *     (sigma min(1 px, 10 um)), threshold (Otsu 1979 unless -trace_threshold), then the
 *     bright runs are split by their width into thin (Cu foil, label 1) and
 *     broad (cathode band around the Al foil, label 2) when the widths are
 *     bimodal.
 *  2. Centre: the deepest point of the background inside the roll (exact
 *     Euclidean distance transform, Felzenszwalb & Huttenlocher 2012) -- the
 *     hollow core; refined at the end by a least-squares fit of an Archimedean
 *     spiral r = a_f + b phi to all traced points (Gauss-Newton on centre,
 *     a_f and b).
 *  3. Rays from the centre, about one pixel apart at the outer radius, sampled
 *     every half pixel with bilinear interpolation; each run of foil along a
 *     ray gives a crossing at its weighted centroid (sub-pixel).
 *  4. Tracking: crossings are chained from ray to ray by predicted radius
 *     (tolerance 0.3 of the winding pitch); chains are linked across
 *     angular gaps up to 45 degrees (noise, gaps, touching windings that hide
 *     a crossing) and across the 0/2 pi seam, then whole chains of at least a
 *     quarter turn across gaps of up to one turn (an invisible stretch of
 *     foil) when the radius predicted with the pitch agrees; rays without a
 *     crossing get an interpolated radius. The longest chain is the foil;
 *     closed rings (no radial growth per turn) are not spirals.
 *  4b. Folds (a Z-shaped buckle of the core): before the links above, a
 *     piece that ends on a ray after another piece, 3.5 px to 0.8 pitch
 *     beside it (measured a little inside the overlap), has started, with a third piece (the middle leg) between
 *     the two over that stretch, is a fold: the first piece is joined to the
 *     second and the fold cut out of the curve (the curve steps from one
 *     leg to the other at the fold); it is reported (TCTraceFoil.fold_*)
 *     with the foil length left off the curve, and the middle leg does not
 *     count as foil left off the curve. Legs closer than 3.5 px are one line
 *     to the tracker (traced through, as a line that widens).
 *  5. The radius along the chain is smoothed by a local linear fit over
 *     -trace_smooth_px of arc either side (partial volume and noise; near an
 *     end the window keeps its length, shifted inward), and the length is the
 *     arc length of the smoothed curve.
 *  6. Self-check of every foil (TCTraceFoil.complete, why): each turn between
 *     the inner and outer end seen on at least half its rays, no stretch
 *     without a crossing longer than 90 degrees, the length within 5 % of
 *     the Archimedean estimate pi (r_inner + r_outer) turns, at most 2 % of
 *     the class's foil crossings in long pieces left off the curve (a trace
 *     that stopped short), turns in radial order on at least 98 % of the
 *     rays (its own turns, and alternating with the other foil).
 * Limits: the roll must be star-shaped about the centre (each ray crosses each
 * turn once) apart from the Z-shaped folds of 4b; a contact of two turns over more than 45 degrees breaks a chain.
 */
#pragma once
#include <petscsys.h>

#define TC_TRACE_MAX_FOILS 8
#define TC_TRACE_MAX_FOLDS 8

typedef struct {
  PetscInt   label; /* label in the data (grayscale: 1 thin/Cu, 2 broad/Al) */
  PetscInt   n;     /* points, inner to outer */
  PetscReal *x, *y; /* m, image coordinates */
  PetscReal  length_m, windings, r_inner_m, r_outer_m;
  PetscReal  gap_mean_m, gap_min_m; /* centre-line distance between successive turns */
  PetscReal  thickness_m;           /* mean traced width across the foil */
  /* self-check of the traced curve (see TCTraceRun) */
  PetscReal coverage_min;       /* least fraction of rays with a crossing over one turn */
  PetscReal gap_max_deg;        /* longest stretch without a crossing (interpolated), deg */
  PetscReal gap_r_m, gap_theta; /* its middle: radius, angle (rad, image coordinates) */
  PetscReal length_arch_m;      /* Archimedean estimate pi (r_inner + r_outer) windings */
  PetscReal untraced_frac;      /* crossings of this foil's class in long pieces off the curve,
                                   over the curve's crossings */
  PetscReal untraced_r_m[2], untraced_theta; /* the largest such piece: radii, angle */
  PetscReal order_bad;                       /* fraction of rays with turns out of radial order */
  PetscBool complete;                        /* every check passed */
  char      why[256];                        /* the first failed check and where */
  /* Z-shaped folds cut out of the curve (step 4b above): centre (radius and
     angle about the centre, image coordinates), the foil length in the fold
     left off the curve, and the arc position of the junction on the curve */
  PetscInt  nfold;
  PetscReal fold_r_m[TC_TRACE_MAX_FOLDS], fold_theta[TC_TRACE_MAX_FOLDS];
  PetscReal fold_size_m[TC_TRACE_MAX_FOLDS], fold_s_m[TC_TRACE_MAX_FOLDS];
  /* stretches of 10 px or more of the curve without a crossing of the foil
     (interpolated), arc positions [from, to], m; unseen_bare: the foil is
     the broad (Al) class of a grayscale slice, and a thin crossing there
     counts as unseen too (a bare foil: its coating missing) */
  PetscInt  nunseen;
  PetscReal unseen_s_m[TC_TRACE_MAX_FOLDS][2];
  PetscBool unseen_bare;
} TCTraceFoil;

#define TC_TRACE_MAX_CLASS_REPORT 16

/* A label of a multi-class segmentation, traced alone (TCTraceRun). */
typedef struct {
  PetscInt  label;
  PetscBool spiral, complete, picked;
  PetscReal windings, length_m, thickness_m;
  char      why[200]; /* why it was dropped (or picked) */
} TCTraceClass;

typedef struct {
  PetscInt     nfoils;
  TCTraceFoil  foil[TC_TRACE_MAX_FOILS];
  PetscReal    centre_m[2];
  PetscReal    threshold; /* grayscale threshold used (NaN for labels) */
  PetscBool    gray;
  /* grayscale: the can (a bright ring around the roll) and the mandrel hole;
     the threshold is taken inside the annulus between them */
  PetscBool    can_found;
  PetscReal    can_r_inner_m, can_r_outer_m, mandrel_r_m;
  PetscReal    contrast;         /* (mean above - mean below) / (sum) in the annulus */
  PetscReal    gray_lo, gray_hi; /* the roll's gray range (1st, 99th percentile) */
  /* a segmentation with more than two labels and no -trace_label: every
     label traced alone, the spiral layers picked (TCTraceRun) */
  PetscInt     nclasses;
  TCTraceClass cls[TC_TRACE_MAX_CLASS_REPORT];
} TCTraceSlice;

typedef struct _p_TCTrace *TCTrace;

PETSC_EXTERN PetscErrorCode TCTraceCreate(MPI_Comm comm, TCTrace *tr);
/* Options: -trace_mode auto|labels|gray, -trace_threshold T, -trace_label 1,2,
   -trace_smooth_px W (default 8), -trace_min_turns T (default 1). */
PETSC_EXTERN PetscErrorCode TCTraceSetFromOptions(TCTrace tr);
PETSC_EXTERN PetscErrorCode TCTraceDestroy(TCTrace *tr);
/* Not collective. Trace one slice img[ny * nx]. A labelled slice with more
   than two non-zero labels and no -trace_label: every label is traced alone
   (its own centre), the spiral layers that pass the self-check are kept, the
   thinnest first (current collectors are the thinnest layers), a second one
   only when the two trace together complete and in alternating radial
   order; res->cls lists every label with its turns and why it was dropped
   (also in -info). isint: the data are integers
   (auto mode then treats them as labels when there are at most 16 distinct
   values). Errors (PETSC_ERR_USER_INPUT) name what is missing: no foreground,
   no spiral. what names the slice in messages. */
PETSC_EXTERN PetscErrorCode TCTraceRun(TCTrace tr, const float *img, PetscInt nx, PetscInt ny,
                                       PetscReal pixel_m, PetscBool isint, const char what[],
                                       TCTraceSlice *res);
PETSC_EXTERN PetscErrorCode TCTraceSliceReset(TCTraceSlice *res);
