/*
 * Abuse-reaction kinetics for thermal runaway at one thermal node.
 *
 * Four reactions, each with its own state and Arrhenius rate k = A exp(-Ea / (R T))
 * (Hatchard et al. 2001, J. Electrochem. Soc. 148 A755; Kim et al. 2007,
 * J. Power Sources 170 476, eqs. 1-12):
 *
 *   SEI decomposition        dc_sei/dt = -k_sei c_sei^m
 *   negative-electrolyte     dc_neg/dt = -k_neg exp(-z / z_ref) c_neg^m,  dz/dt = -dc_neg/dt
 *   positive-electrolyte     dalpha/dt =  k_pos alpha^m1 (1 - alpha)^m2
 *   electrolyte decomp.      dc_e/dt   = -k_e c_e^m
 *
 * and the volumetric heat release q = sum_i H_i W_i |d x_i / dt| (H: J/kg,
 * W: kg of reactant per m^3 of cell). The stored (still releasable)
 * enthalpy is E = H_sei W_sei c_sei + H_neg W_neg c_neg + H_pos W_pos (1 - alpha)
 * + H_e W_e c_e, J/m^3, so q = -dE/dt exactly.
 *
 * Parameter sets are data (inputs/params/abuse_<name>.json, see README):
 * "Reactions" -> four sections with A, Ea, H, W, initial state and orders.
 *
 * The state of a node is TC_ABUSE_NSTATE reals, in the order of
 * TCAbuseStateNames: c_sei, c_neg, z_sei, alpha, c_e. The caller owns it.
 *
 * Not collective: every function works on one node and touches no MPI.
 */
#pragma once
#include <petscsys.h>

typedef struct _p_TCAbuseSet *TCAbuseSet;

typedef enum {
  TC_ABUSE_SEI,
  TC_ABUSE_NEG,
  TC_ABUSE_POS,
  TC_ABUSE_ELE,
  TC_ABUSE_NREACTIONS
} TCAbuseReaction;

enum { TC_ABUSE_C_SEI, TC_ABUSE_C_NEG, TC_ABUSE_Z_SEI, TC_ABUSE_ALPHA, TC_ABUSE_C_E };
#define TC_ABUSE_NSTATE 5

/* "sei", "negative", "positive", "electrolyte": short names for columns */
PETSC_EXTERN const char *const TCAbuseReactionNames[];
/* "c_sei", "c_neg", "z_sei", "alpha", "c_e" */
PETSC_EXTERN const char *const TCAbuseStateNames[];

/* Cell properties a set may carry for a lumped node (0 when absent). */
typedef struct {
  PetscReal rho_cp_J_m3K, h_W_m2K, area_m2, volume_m3, T_init_K;
} TCAbuseCellData;

/* Load a set: a name ("kim2007" or "abuse_kim2007") looked up in
   TCCellParamsDir(), or a path (contains '/' or ends in .json). Missing,
   non-numeric or non-physical keys, and malformed JSON, are
   PETSC_ERR_USER_INPUT / PETSC_ERR_FILE_UNEXPECTED errors naming the file
   and key. */
PETSC_EXTERN PetscErrorCode TCAbuseSetLoad(const char name_or_path[], TCAbuseSet *set);
PETSC_EXTERN PetscErrorCode TCAbuseSetDestroy(TCAbuseSet *set);
/* Borrowed strings, valid until the set is destroyed. */
PETSC_EXTERN PetscErrorCode TCAbuseSetGetInfo(TCAbuseSet set, const char **title,
                                              const char **citation, const char **file);
PETSC_EXTERN PetscErrorCode TCAbuseSetGetCell(TCAbuseSet set, TCAbuseCellData *cell);

/* Initial state of a fresh cell. soc = 1 (or PETSC_DEFAULT): fully charged,
   the set's initial values. soc in [0, 1): the initial negative fraction and
   positive conversion interpolated linearly between the set's "... at zero
   SOC" values and the fully charged ones; a PETSC_ERR_USER_INPUT error if
   the set has no such values. */
PETSC_EXTERN PetscErrorCode TCAbuseStateInit(TCAbuseSet set, PetscReal soc, PetscReal state[]);

/* One backward-Euler step of all reactions over dt_s at the (new)
   temperature T_K: state_new from state_old (may alias). Each reaction is
   one monotone scalar equation solved by bracketed Newton, so the states
   stay in their ranges for any dt and T. q_W_m3 (may be NULL) is the heat
   release averaged over the step, q dt = E(state_old) - E(state_new) to
   round-off; dq_dT_W_m3K (may be NULL) is its derivative with respect to
   T_K at fixed state_old and dt (the implicit function theorem on the
   converged step), for the caller's thermal Newton. dt_s = 0 returns
   state_old and q = 0. Since q is a difference of states it carries their
   round-off, ~eps E / dt: a step with k dt below ~1e-10 resolves q only
   roughly (one that changes no state in floating point releases nothing,
   and so consumes nothing). */
PETSC_EXTERN PetscErrorCode TCAbuseStep(TCAbuseSet set, const PetscReal state_old[], PetscReal T_K,
                                        PetscReal dt_s, PetscReal state_new[], PetscReal *q_W_m3,
                                        PetscReal *dq_dT_W_m3K);
/* The step's heat split by reaction, W/m^3: H_i W_i (consumed_i) / dt_s. */
PETSC_EXTERN PetscErrorCode TCAbuseStepHeat(TCAbuseSet set, const PetscReal state_old[],
                                            const PetscReal state_new[], PetscReal dt_s,
                                            PetscReal q_W_m3[]);
/* Instantaneous heat release rate q(state, T), W/m^3 (explicit predictors,
   self-heating rates). */
PETSC_EXTERN PetscErrorCode TCAbuseHeatRate(TCAbuseSet set, const PetscReal state[], PetscReal T_K,
                                            PetscReal *q_W_m3);
/* Enthalpy still releasable by the reactants in state, J/m^3. */
PETSC_EXTERN PetscErrorCode TCAbuseStoredEnthalpy(TCAbuseSet set, const PetscReal state[],
                                                  PetscReal *J_m3);
