/*
 * TCTraceVolume: trace a jelly roll in a CT volume (Data Exchange HDF5 or a
 * TIFF stack, io/stack.h) slice by slice (mesh/trace.h) and turn the traced
 * curves into the layers of a roll network (mesh/rollnet.h). Used by
 * `tomocell trace` and by `tomocell run` with `geometry: scan.h5`, so that a
 * run traces exactly as the trace command does, with the same trace_* keys.
 *
 * A 3-D volume is traced slice by slice, the selected slices (trace_slices
 * A:B, every trace_slice_stride-th) split over the ranks in contiguous
 * blocks. A slice without a roll -- its trace fails (a cap, a vent, a tab,
 * an empty slice), it traces another number of foils than most slices, or
 * under half the median turns of the others (an almost empty slice) -- is
 * skipped and listed (slices_skipped); all skipped is an error. Each kept
 * slice is a node layer at (index + 0.5) dz, dz the slice spacing
 * (trace_pixel_size_z_m, else the file's, stack.h, else the pixel). A 2-D image (or a one-slice volume) is traced once on rank 0, its
 * curves broadcast, and extruded over a height in a given number of layers.
 *
 * Cu and Al by evidence, stated in the summary (cu_al): -trace_cu_label;
 * grayscale: the thin line; the file's text attributes naming a label the
 * negative (or positive) collector; else the lowest label, said to be
 * assumed, with the winding (inner and outer ends, lengths) as evidence.
 *
 * Self-check: every traced foil of every slice passes the slice tracer's
 * checks (TCTraceFoil.complete) or the trace fails naming the foil, the slice
 * and where it broke; trace_allow_incomplete turns that into a warning.
 *
 * Defects (mesh/tracedefect.h: folds, gaps wider than trace_gap_factor times
 * the pitch, missing coating) of every traced slice, gathered on every rank:
 * in the summary (defects), the network (TCRollNetSetDefects, net.h5
 * /defects) and ringed in the PNG.
 *
 * Usage:
 *   TCTraceVolumeCreate(comm, &tv);
 *   TCTraceVolumeSetFromDeck(tv, deck);      reads TC_TRACE_KEYS (+ options)
 *   TCTraceVolumeTrace(tv, path);            collective; errors are one line
 *   TCTraceVolumeGetNetParams(tv, &np);      foils, labels, pitch, height
 *   (caller sets ds, tabs, asr, terminals ...)
 *   TCTraceVolumeBuildNet(tv, &np, nz, height, &net);
 *   TCTraceVolumeWritePNG(tv, png);          the middle traced slice
 *   TCTraceVolumeView(tv);                   the traced foils on stdout
 *   TCTraceVolumeWriteJSON(tv, &js);         members of an open JSON object
 *   TCTraceVolumeDestroy(&tv);
 */
#pragma once
#include "io/deck.h"
#include "io/json.h"
#include "mesh/rollnet.h"
#include "mesh/trace.h"

/* The deck keys of tracing, shared by `tomocell trace` and `tomocell run`
   (geometry: a CT volume). Every key the library reads is here. */
#define TC_TRACE_KEYS                                                                              \
  {"trace_dataset", TC_KEY_STRING, "/exchange/data", 0, 0, PETSC_FALSE, NULL,                      \
   "dataset holding the images (z, y, x) or (y, x)", PETSC_FALSE},                                \
      {"trace_pixel_size_m", TC_KEY_REAL, NULL, 0, 1, PETSC_TRUE, NULL,                            \
       "pixel size of the scan, m (default: from the file)", PETSC_TRUE},                         \
      {"trace_mode", TC_KEY_ENUM, "auto", 0, 0, PETSC_FALSE, "auto|labels|gray",                  \
       "labels, grayscale, or auto (integers with <= 16 values are labels)", PETSC_FALSE},        \
      {"trace_threshold", TC_KEY_REAL, NULL, -PETSC_MAX_REAL, PETSC_MAX_REAL, PETSC_FALSE, NULL,   \
       "grayscale threshold (default Otsu)", PETSC_TRUE},                                          \
      {"trace_label", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,                                \
       "labels to trace, comma-separated (default every non-zero label)", PETSC_TRUE},            \
      {"trace_smooth_px", TC_KEY_REAL, "8", 0, 1000, PETSC_FALSE, NULL,                            \
       "smoothing length along the foil, px", PETSC_FALSE},                                        \
      {"trace_sigma_px", TC_KEY_REAL, "-1", -1, 31, PETSC_FALSE, NULL,                             \
       "grayscale: Gaussian pre-smoothing sigma, px (-1: min(1 px, 10 um))", PETSC_FALSE},        \
      {"trace_resample_px", TC_KEY_REAL, "4", 0, 1000, PETSC_FALSE, NULL,                          \
       "point spacing of the stored traced curves, px (0: one per ray)", PETSC_FALSE},            \
      {"trace_min_turns", TC_KEY_REAL, "1", 0, 1000, PETSC_FALSE, NULL,                            \
       "fewest turns that count as a spiral", PETSC_FALSE},                                        \
      {"trace_slice_stride", TC_KEY_INT, "1", 1, 1e6, PETSC_FALSE, NULL,                           \
       "trace every n-th slice of a volume", PETSC_FALSE},                                         \
      {"trace_slices", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,                               \
       "slices A:B of a volume, A to B - 1 (default all; A: or :B)", PETSC_TRUE},                 \
      {"trace_pixel_size_z_m", TC_KEY_REAL, NULL, 0, 1, PETSC_TRUE, NULL,                          \
       "slice spacing of a volume, m (default: from the file, else the pixel)", PETSC_TRUE},      \
      {"trace_can_diameter_m", TC_KEY_REAL, NULL, 0, 1, PETSC_TRUE, NULL,                          \
       "outer can diameter, m: the pixel from the can when the file has none", PETSC_TRUE},       \
      {"trace_allow_incomplete", TC_KEY_BOOL, "false", 0, 0, PETSC_FALSE, NULL,                   \
       "accept a foil that fails the self-check (warn instead of failing)", PETSC_FALSE},         \
      {"trace_gap_factor", TC_KEY_REAL, "1.3", 1, 1000, PETSC_FALSE, NULL,                         \
       "a gap: successive turns farther apart than this times the local pitch", PETSC_FALSE},     \
      {"trace_cu_label", TC_KEY_INT, "0", 0, 65535, PETSC_FALSE, NULL,                             \
       "label of the negative (Cu) foil (0: by evidence, see cu_al)", PETSC_FALSE},               \
      {"trace_cu_thickness_m", TC_KEY_REAL, "12e-6", 0, PETSC_MAX_REAL, PETSC_TRUE, NULL,          \
       "Cu foil thickness, m (Chen2020)", PETSC_FALSE},                                            \
      {"trace_al_thickness_m", TC_KEY_REAL, "16e-6", 0, PETSC_MAX_REAL, PETSC_TRUE, NULL,          \
       "Al foil thickness, m (Chen2020)", PETSC_FALSE},                                            \
      {"trace_cu_sigma_S_m", TC_KEY_REAL, "5.8411e7", 0, PETSC_MAX_REAL, PETSC_TRUE, NULL,         \
       "Cu conductivity, S/m (Chen2020)", PETSC_FALSE},                                            \
  {                                                                                                \
    "trace_al_sigma_S_m", TC_KEY_REAL, "3.6914e7", 0, PETSC_MAX_REAL, PETSC_TRUE, NULL,            \
        "Al conductivity, S/m (Chen2020)", PETSC_FALSE                                             \
  }

typedef struct _p_TCTraceVolume *TCTraceVolume;

PETSC_EXTERN PetscErrorCode TCTraceVolumeCreate(MPI_Comm comm, TCTraceVolume *tv);
/* Reads TC_TRACE_KEYS of deck and the slice tracer's options. */
PETSC_EXTERN PetscErrorCode TCTraceVolumeSetFromDeck(TCTraceVolume tv, TCDeck deck);
/* A pixel size that overrides the file's and trace_pixel_size_m (> 0). */
PETSC_EXTERN PetscErrorCode TCTraceVolumeSetPixelSize(TCTraceVolume tv, PetscReal px);
/* The can's outer diameter d (> 0), m, and what gave it (e.g. "-preset
   18650"): when the file states no pixel size, the pixel is d over the can's
   outer diameter fitted in the middle selected slice (mesh/tracecan.h). */
PETSC_EXTERN PetscErrorCode TCTraceVolumeSetCanDiameter(TCTraceVolume tv, PetscReal d,
                                                        const char basis[]);
/* A slice spacing that overrides the file's and trace_pixel_size_z_m (> 0). */
PETSC_EXTERN PetscErrorCode TCTraceVolumeSetPixelSizeZ(TCTraceVolume tv, PetscReal pz);
/* Collective. Open path, trace the selected slices, choose Cu and Al. Every
   check of the input happens here, before the caller writes anything; errors
   are PETSC_ERR_USER_INPUT / PETSC_ERR_FILE_OPEN with one-line messages. */
PETSC_EXTERN PetscErrorCode TCTraceVolumeTrace(TCTraceVolume tv, const char path[]);
/* What the trace gives a network: nfoils, labels, foil thicknesses and
   conductivities (trace_* keys), pitch_m (the largest mean gap between turns
   over the slices), search_m, slices (a 3-D volume), height_m (a volume: the
   traced slices' extent; 2-D: 0, the caller's), source "trace", ds_m 0,
   no tabs, missing_foil -1. The caller sets the rest. */
PETSC_EXTERN PetscErrorCode TCTraceVolumeGetNetParams(TCTraceVolume tv, TCRollNetParams *np);
/* PETSC_TRUE: a 2-D slice, extruded by TCTraceVolumeBuildNet. */
PETSC_EXTERN PetscErrorCode TCTraceVolumeIsSlice(TCTraceVolume tv, PetscBool *is2d);
/* Collective. The network of the traced layers with parameters np: a volume's
   traced slices as layers; a 2-D slice extruded over height in nz layers
   (nz and height ignored for a volume). */
PETSC_EXTERN PetscErrorCode TCTraceVolumeBuildNet(TCTraceVolume tv, const TCRollNetParams *np,
                                                  PetscInt nz, PetscReal height, TCRollNet *net);
/* Collective. PNG of the middle traced slice with the curves (Cu orange, Al
   cyan, others green, centre red). */
PETSC_EXTERN PetscErrorCode TCTraceVolumeWritePNG(TCTraceVolume tv, const char path[]);
/* Collective: rank 0 prints a line per traced foil and the centre. */
PETSC_EXTERN PetscErrorCode TCTraceVolumeView(TCTraceVolume tv);
/* Not collective: members volume, pixel_size_m (+ _source, _from),
   pixel_size_z_m (+ _source, _from), shape_zyx, slices, slices_skipped, slices_traced,
   mode, threshold (gray), foils [...] (means over the slices) into the open
   object js. */
PETSC_EXTERN PetscErrorCode TCTraceVolumeWriteJSON(TCTraceVolume tv, TCJson *js);
/* Seconds spent opening and tracing. */
PETSC_EXTERN PetscErrorCode TCTraceVolumeGetTimes(TCTraceVolume tv, PetscLogDouble *open,
                                                  PetscLogDouble *trace);
PETSC_EXTERN PetscErrorCode TCTraceVolumeDestroy(TCTraceVolume *tv);
