/*
 * Tortuosity factor, volume fraction, percolation and specific surface area
 * of one phase of a labelled voxel volume (electrode CT).
 *
 * Definitions follow TauFactor (Cooper et al. 2016, SoftwareX 5, 203):
 * steady diffusion only inside the phase, unit conductance between
 * face-sharing voxels (edge and corner contacts do not conduct), fixed
 * concentrations 1 and 0 on the two box faces normal to the direction, half a
 * voxel outside the first and last voxel centres, no flux on the other sides.
 * Then D_eff/D = F N / (dC A) with F the total flux, N the voxels along the
 * direction and A the box cross-section in voxels, and tau = eps / (D_eff/D)
 * with eps the phase's volume fraction of the whole box (isolated and
 * dead-end clusters included, so they raise tau).
 *
 * Only voxels of 6-connected clusters that touch both faces carry flux; the
 * solve is restricted to them (other voxels would make the Laplacian
 * singular). Clusters are found by union-find within each rank's z-slab and
 * merged across slabs on rank 0 (only slab-boundary clusters travel). The
 * 7-point graph Laplacian on the percolating voxels is solved by CG, by default matrix-free
 * with a geometric multigrid on the voxel grid (solver/voxelmg.h; the
 * voxels outside the percolating clusters are identity rows), or with
 * -tau_solver aij on an assembled matrix of the percolating voxels only,
 * numbered contiguously per rank (slab partition), with BoomerAMG.
 *
 * Specific surface area by face counting: the number of interior voxel faces
 * between the phase and any other label, times the face area, per box
 * volume (faces on the box boundary are not counted). It overestimates
 * smooth surfaces by up to 1.5x (the staircase) and is stated as such.
 */
#pragma once
#include "io/volume.h"
#include <petscksp.h>

typedef struct _p_TCTau *TCTau;

typedef struct {
  PetscBool percolates;
  PetscReal tau;                  /* inf when not percolating */
  PetscReal relative_diffusivity; /* D_eff / D */
  PetscReal percolating_fraction; /* of the phase volume: clusters touching both faces */
  PetscReal blind_fraction;       /* clusters touching exactly one of the two faces */
  PetscReal flux_in, flux_out;    /* total fluxes through the two faces (unit D and dC) */
  PetscReal conductance;          /* from the energy of the solution (the fluxes' value at
                                     convergence, second order in the solver's error) */
  PetscReal bruggeman_alpha;      /* tau = eps^(1 - alpha); NaN if undefined */
  PetscInt  unknowns, iterations;
  PetscInt  mg_levels; /* levels of the matrix-free multigrid (0: assembled solver) */
  PetscReal residual_norm, setup_s, solve_s;
  /* the CG iterations after the first residual (tau stopping test only, else
     0): how many, their time, and (-tau_solver mf) their memory traffic on
     all ranks, counted from the arrays each pass streams through */
  PetscInt loop_its;
  double   loop_s, loop_bytes;
  char     ksp_type[32], pc_type[32];
} TCTauDirection;

typedef struct {
  long long phase_voxels, total_voxels;
  PetscReal volume_fraction;   /* eps: phase voxels / box voxels */
  PetscReal weighted_fraction; /* sum over phase voxels of D / box voxels (= eps for one phase) */
  long long interface_faces;   /* interior faces between the phase and other labels */
  PetscReal isolated_fraction; /* phase volume in clusters touching no box face */
  long long clusters;          /* 6-connected clusters of the phase */
} TCTauPhase;

/* Collective on vol->comm. The phase is the set of labels l with D[l] > 0,
   D[l] their relative diffusivities (one label with D = 1 for the usual
   single-phase tortuosity; several for a pore network with a nanoporous
   carbon-binder domain, as TauFactor's multi-phase solver: face
   conductance the harmonic mean of the two voxels' D, and
   tau = (sum of eps_l D_l) / (D_eff/D)). Find the 6-connected clusters of the
   phase (which must occur: PETSC_ERR_USER_INPUT naming the labels present
   otherwise), its volume fraction and interface faces. vol must outlive tau. */
PETSC_EXTERN PetscErrorCode TCTauCreate(const TCVolume *vol, const PetscReal D[256], TCTau *tau);
PETSC_EXTERN PetscErrorCode TCTauDestroy(TCTau *tau);
PETSC_EXTERN PetscErrorCode TCTauGetPhase(TCTau tau, TCTauPhase *ps);

/* Collective. Solve direction dir (0 = x, 1 = y, 2 = z). A direction in which
   the phase does not percolate returns percolates = PETSC_FALSE, tau = inf,
   D_eff/D = 0 without a solve. With conc/flux non-NULL, also return this
   rank's concentration (NaN outside the percolating voxels) and flux (3 per
   voxel, x y z: the mean of the voxel's two face fluxes along each axis, in
   units of D dC / voxel) on its slab, allocated with PetscMalloc (the caller
   frees them). -tau_solver mf|aij picks the solver: mf (the default) is
   matrix-free CG + voxel multigrid (-tau_mg_* options, see voxelmg.h); aij
   assembles the matrix and uses CG + hypre BoomerAMG (HMIS, ext+i, P_max 4,
   strength 0.5, agg_nl 1), or any -pc_type, which also selects aij. Both take
   the usual -ksp_* options. D_eff from the energy of the solution (second
   order in the solver's error); CG (natural norm) stops when the estimated
   relative error of tau is below -tau_tol (1e-7), or, with conc/flux asked
   for or a -ksp_rtol given, at that relative residual (1e-9 by default). */
PETSC_EXTERN PetscErrorCode TCTauSolve(TCTau tau, PetscInt dir, TCTauDirection *res, float **conc,
                                       float **flux);
