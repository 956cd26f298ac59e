/*
 * TCTraceDefects: the defects of a traced jelly-roll slice (mesh/trace.h),
 * where they are and how big, for the summary, net.h5 (/defects, through
 * TCRollNetSetDefects) and the run (short_at_defect). Used by
 * mesh/tracevol.c on every traced slice.
 *
 * Kinds (TCRollDefectKind, mesh/rollnet.h):
 *  fold   a Z-shaped fold (buckle) cut out of the traced curve by the slice
 *         tracer (TCTraceFoil.fold_*): centre at the middle leg, size the foil
 *         length in the fold left off the curve, s the junction on the curve.
 *  gap    along the rays, the distance from one turn of a foil to the next,
 *         g(phi) = r(phi + 2 pi) - r(phi), against the local pitch p (the
 *         median of g over that turn and its two neighbours); a stretch where
 *         g > gap_factor p (deck trace_gap_factor, default 1.3) is a gap:
 *         centre at its widest point midway between the two turns, size the
 *         opening beyond the pitch, g - p (the width a delamination adds, as
 *         the synthetic spiral's gap_m). Both foils see the same gap; found in
 *         both (within a pitch and 10 degrees) it is listed once, its centre
 *         and size the mean of the two (the midpoint between the Al of the
 *         inner turn and the Cu of the outer one). The turn inward of a fold
 *         stands off the next by the fold's depth: no gap is reported there.
 *  missing_coating
 *         labelled slices with labels besides the traced foils (a multi-class
 *         segmentation: coatings, separator): a stretch of a foil with no
 *         such label within 2 px of the foil's edge on either face, at least
 *         10 px long, on a foil that has them along at least half its length
 *         (else the segmentation does not label its coating and nothing is
 *         reported); size the stretch's length along the foil, s its middle.
 *         Grayscale slices split into a thin (Cu) and a broad (cathode band
 *         around the Al) class: a stretch of 10 px or more of the Al curve
 *         without a broad crossing -- not seen, or only as a thin line (the
 *         bare foil) -- (TCTraceFoil.unseen_*). Not detected on one face
 *         only, nor for the Cu foil in grayscale (its coating is as dark as
 *         the separator). Gaps are not measured where the foil was not seen
 *         (its radius interpolated there).
 * Positions: r and theta about the slice's roll centre in image coordinates
 * (mesh/ctsynth.h), z the slice's height (-1 for a 2-D slice: mid-height).
 */
#pragma once
#include "mesh/rollnet.h"
#include "mesh/trace.h"

typedef struct {
  TCRollDefect d;     /* d.foil: index into TCTraceSlice.foil until mapped to Cu/Al */
  PetscInt     slice; /* the slice of the volume it was found in */
} TCTraceDefect;

/* Not collective. Append the defects of the traced slice res (image img of
   nx x ny pixels of size px, may be NULL: no coating check) to list[*n]
   (reallocated, PetscFree it). */
PETSC_EXTERN PetscErrorCode TCTraceDefectsFind(const TCTraceSlice *res, const float *img,
                                               PetscInt nx, PetscInt ny, PetscReal px,
                                               PetscReal gap_factor, PetscInt slice, PetscReal z_m,
                                               PetscInt *n, TCTraceDefect **list);
/* Not collective. Mark the defects of slice (centred on centre_m) in an RGB
   image (top row first, image rows flipped as in the trace PNG) by a ring:
   folds magenta, gaps yellow, missing coating red. */
PETSC_EXTERN PetscErrorCode TCTraceDefectsDraw(unsigned char *rgb, PetscInt nx, PetscInt ny,
                                               PetscReal px, const PetscReal centre_m[2],
                                               PetscInt slice, PetscInt n,
                                               const TCTraceDefect list[]);
