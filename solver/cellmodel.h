/*
 * Local electrochemical cell models: one electrode pair (negative electrode,
 * separator, positive electrode) of area A from a TCCellParams set, as
 *
 *   SPM   single particle per electrode, Butler-Volmer kinetics, OCPs;
 *   SPMe  SPM plus electrolyte concentration (FV in x) and the x-averaged
 *         electrolyte and solid potential drops;
 *   DFN   Doyle-Fuller-Newman pseudo-2-D: electrolyte concentration and
 *         potential, solid potential and a particle at every x cell.
 *
 * One TCCell holds the parameters, the meshes and the workspace; element
 * STATES are separate compact arrays of TCCellGetStateSize() reals, so a
 * network solver keeps millions of elements in two arrays (committed and
 * trial) and calls TCCellStep() for each. A step is implicit (backward
 * Euler) and solved by Newton with an analytic Jacobian on a banded matrix
 * with one border (the current); the particles are condensed out exactly
 * (their diffusion is linear within a step), so the banded system has
 * 4 unknowns per electrode cell and 2 per separator cell (DFN), 1 per cell
 * (SPMe), or none (SPM: only the current).
 *
 * Element contract (DESIGN.md, "Local cell models"): given the control
 * (current I, terminal voltage V or power P), the temperature T and dt, take
 * one step from state_old into state_new and return I, dI/dV, heat and
 * diagnostics; the caller commits (keeps state_new) or rejects (drops it).
 * Signs: discharge current positive; V = phi_s(x = L) - phi_s(x = 0).
 */
#pragma once
#include <petscsys.h>
#include "solver/cellparams.h"

typedef struct _p_TCCell *TCCell;

typedef enum { TC_CELL_SPM, TC_CELL_SPME, TC_CELL_DFN } TCCellModel;
PETSC_EXTERN const char *const TCCellModels[];

/* the terminal condition: current I = value (A), voltage V = value (V), power
   I V = value (W), or resistance V = I value (Ohm: a load that draws the
   current V / R; discharge positive) */
typedef enum { TC_CELL_CURRENT, TC_CELL_VOLTAGE, TC_CELL_POWER, TC_CELL_RESISTANCE } TCCellControl;

typedef struct {
  PetscReal I_A;    /* terminal current, discharge positive */
  PetscReal V_V;    /* terminal voltage */
  PetscReal dIdV_S; /* dI/dV at fixed state_old, T, dt (from the converged Jacobian) */
  PetscReal Q_W;    /* total heat = irreversible + reversible + ohmic */
  PetscReal Q_irr_W, Q_rev_W, Q_ohm_W;
  PetscReal eta_n_V, eta_p_V;       /* reaction overpotentials at the separator side */
  PetscReal anode_vs_li_V;          /* phi_s - phi_e at the negative/separator interface */
  PetscReal anode_vs_li_min_V;      /* its minimum over the negative electrode */
  PetscReal sto_surf_n, sto_surf_p; /* surface stoichiometries at the separator side */
  PetscReal sto_avg_n, sto_avg_p;   /* electrode-averaged stoichiometries */
  PetscReal ce_min, ce_max;         /* electrolyte concentration extremes, mol/m^3 */
  PetscInt  newton_its;
} TCCellResult;

PETSC_EXTERN PetscErrorCode TCCellCreate(MPI_Comm comm, TCCell *cell);
/* The parameters are borrowed: they must outlive the cell. */
PETSC_EXTERN PetscErrorCode TCCellSetParams(TCCell cell, const TCCellParams *p);
PETSC_EXTERN PetscErrorCode TCCellSetModel(TCCell cell, TCCellModel model);
/* Cells in x per region and shells per particle (default 20 each, as PyBaMM). */
PETSC_EXTERN PetscErrorCode TCCellSetGrid(TCCell cell, PetscInt nx_n, PetscInt nx_s, PetscInt nx_p,
                                          PetscInt nr_n, PetscInt nr_p);
/* Newton: converged when the scaled update (c_e / c_e0, potentials in V,
   j / j_1C, I / I_1C), or the error left after it estimated from quadratic
   convergence, is below rtol (default 1e-10); at most maxit iterations. */
PETSC_EXTERN PetscErrorCode TCCellSetTolerances(TCCell cell, PetscReal rtol, PetscInt maxit);
/* -cell_model spm|spme|dfn, -cell_nx_n, -cell_nx_s, -cell_nx_p, -cell_nr_n, -cell_nr_p,
   -cell_newton_rtol, -cell_newton_maxit */
PETSC_EXTERN PetscErrorCode TCCellSetFromOptions(TCCell cell);
PETSC_EXTERN PetscErrorCode TCCellSetUp(TCCell cell);
PETSC_EXTERN PetscErrorCode TCCellDestroy(TCCell *cell);
PETSC_EXTERN PetscErrorCode TCCellGetModel(TCCell cell, TCCellModel *model);

/* Reals per element state and its size in bytes. */
PETSC_EXTERN PetscErrorCode TCCellGetStateSize(TCCell cell, PetscInt *n, size_t *bytes);
/* Uniform rest state: soc in [0, 1] on the set's stoichiometry window, or
   soc < 0 for the set's own initial concentrations (as PyBaMM does). */
PETSC_EXTERN PetscErrorCode TCCellStateInit(TCCell cell, PetscReal soc, PetscReal T_K,
                                            PetscReal *state);

/* One implicit step of dt_s from state_old at temperature T_K under the
   control (value in A, V or W). On success *converged is PETSC_TRUE and
   state_new and res are filled; on Newton failure (or when the state would
   leave the physical range, e.g. a surface stoichiometry outside (0, 1)) it
   is PETSC_FALSE and the caller should cut dt. Not collective. */
PETSC_EXTERN PetscErrorCode TCCellStep(TCCell cell, const PetscReal state_old[],
                                       TCCellControl control, PetscReal value, PetscReal T_K,
                                       PetscReal dt_s, PetscReal state_new[], TCCellResult *res,
                                       PetscBool *converged);

/* TCCellStep with the Newton iteration started from guess (a state of the
   same layout, e.g. the result of a step from the same state_old to a nearby
   voltage) instead of state_old; guess may be state_new. The answer is the
   same to the Newton tolerance. */
PETSC_EXTERN PetscErrorCode TCCellStepGuess(TCCell cell, const PetscReal state_old[],
                                            const PetscReal guess[], TCCellControl control,
                                            PetscReal value, PetscReal T_K, PetscReal dt_s,
                                            PetscReal state_new[], TCCellResult *res,
                                            PetscBool *converged);

/* ONE Newton update of a step, for a network solver that condenses the
   element into its own Newton iteration (monolithic Newton with static
   condensation): evaluate the step's residual and Jacobian at the iterate
   iter (a state of the same layout: the last update, or state_old at the
   start of a step), solve the bordered system for the control and write the
   updated iterate to state_new (it may be iter). res holds the updated
   current (its linearised value), dI/dV of this linearisation and the
   diagnostics of the evaluation at iter; *update is the scaled size of the
   update (as the Newton test of TCCellStep: c_e / c_e0, potentials in V,
   j / j_1C, I / I_1C), so the error left in state_new is O(update^2).
   *ok is PETSC_FALSE when the iterate leaves the physical range (cut dt).
   Under voltage control, sens (optional, TCCellGetSensitivitySize() reals)
   receives d(I, unknowns)/dV of this linearisation: TCCellIterateAXPY()
   moves the updated iterate to another voltage along it, which makes the
   network's Newton iteration the exact Newton method of the whole system.
   Not collective. */
PETSC_EXTERN PetscErrorCode TCCellStepUpdate(TCCell cell, const PetscReal state_old[],
                                             const PetscReal iter[], TCCellControl control,
                                             PetscReal value, PetscReal T_K, PetscReal dt_s,
                                             PetscReal state_new[], TCCellResult *res,
                                             PetscReal *update, PetscReal sens[], PetscBool *ok);
/* TCCellStepUpdate under voltage control for a block of nb elements of this
   cell's model and grid: element b steps from state_old[b] at the voltage
   V_V[b] and temperature T_K[b] (dt_s common) from the iterate iter[b] to
   state_new[b] (it may be iter[b]), with res[b], update[b], sens[b] (sens
   may be NULL) and ok[b] as from TCCellStepUpdate -- bit for bit, whatever
   nb. SPMe runs as a structure-of-arrays kernel across the block (the
   parameter functions, the particles, the electrolyte and the banded Newton
   solves vectorised over the elements: solver/band.h); SPM and DFN elements
   are updated one after the other. Not collective. */
PETSC_EXTERN PetscErrorCode TCCellStepUpdateBatch(
    TCCell cell, PetscInt nb, const PetscReal *const state_old[], PetscReal *const iter[],
    const PetscReal V_V[], const PetscReal T_K[], PetscReal dt_s, PetscReal *const state_new[],
    TCCellResult res[], PetscReal update[], PetscReal *const sens[], PetscBool ok[]);
/* TCCellStepGuess under voltage control for a block of nb elements, as
   TCCellStepUpdateBatch: element b steps from state_old[b] at V_V[b], T_K[b]
   (dt_s common), its Newton iteration started from guess[b] (it may be
   state_new[b]), into state_new[b], res[b] (res may be NULL) and
   converged[b] -- bit for bit TCCellStepGuess, whatever nb: the same
   iterations, line search, convergence test and limits per element. SPMe
   runs the elements still iterating together (the SoA kernel); SPM and DFN
   elements are solved one after the other. Not collective. */
PETSC_EXTERN PetscErrorCode TCCellStepGuessBatch(TCCell cell, PetscInt nb,
                                                 const PetscReal *const state_old[],
                                                 const PetscReal *const guess[],
                                                 const PetscReal V_V[], const PetscReal T_K[],
                                                 PetscReal dt_s, PetscReal *const state_new[],
                                                 TCCellResult res[], PetscBool converged[]);
PETSC_EXTERN PetscErrorCode TCCellGetSensitivitySize(TCCell cell, PetscInt *n);
/* The iterate of a state as a vector of TCCellGetSensitivitySize() reals: the
   current and the unknowns of the step's nonlinear system (not the particles,
   which follow from them). IterateAXPY adds alpha v to the state's iterate:
   a move along a sensitivity (alpha = dV) or a rate (alpha = dt). */
PETSC_EXTERN PetscErrorCode TCCellIterateGet(TCCell cell, const PetscReal state[], PetscReal v[]);
PETSC_EXTERN PetscErrorCode TCCellIterateAXPY(TCCell cell, PetscReal alpha, const PetscReal v[],
                                              PetscReal state[]);

/* Lithium in the negative and positive electrode particles, mol (for
   conservation checks) and the total in the electrolyte, mol. */
PETSC_EXTERN PetscErrorCode TCCellStateLithium(TCCell cell, const PetscReal state[],
                                               PetscReal *n_neg_mol, PetscReal *n_pos_mol,
                                               PetscReal *n_elyte_mol);
/* SOC of a state: (x_avg - x_0) / (x_100 - x_0) on the negative electrode,
   PyBaMM's definition. */
PETSC_EXTERN PetscReal TCCellStateSOC(TCCell cell, const PetscReal state[]);

/* For tests: the analytic Jacobian of the step's nonlinear system at the
   unknowns stored in state_new (after a converged step), against centred
   finite differences. Returns max |J - J_fd| / max |J| over all entries,
   including the border (the current's column and the terminal row). */
PETSC_EXTERN PetscErrorCode TCCellCheckJacobian(TCCell cell, const PetscReal state_old[],
                                                TCCellControl control, PetscReal value,
                                                PetscReal T_K, PetscReal dt_s,
                                                const PetscReal state_new[], PetscReal *relerr);
