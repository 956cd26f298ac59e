/*
 * One lumped thermal node with abuse kinetics (solver/abuse.h) under a
 * calorimetry protocol:
 *
 *   rho_cp dT/dt = q_abuse(T, x) + P_heater(t) - (h A / V) (T - T_amb(t))
 *
 * ARC (accelerating-rate calorimetry, heat-wait-seek): adiabatic (h A / V =
 *   0, the calorimeter follows the sample). From arc_start_K the heater
 *   raises T by arc_step_K at arc_heat_rate_K_s; then the node waits
 *   arc_wait_s and seeks for arc_seek_s. A mean self-heating rate over the
 *   seek window of at least arc_detect_K_s is an exotherm: the heater stays
 *   off while the node self-heats ("track"); when the self-heating rate
 *   falls below the threshold again, heat-wait-seek resumes. It ends at
 *   arc_end_K without exotherm, or at t_end_s.
 * oven: T_amb ramps from T_init_K at oven_ramp_K_s to oven_T_K and holds;
 *   losses h A / V (T - T_amb).
 *
 * Runaway: the first time the self-heating rate q_abuse / rho_cp (reaction
 * heat only, so that the oven's own heating is never taken for runaway)
 * reaches runaway_rate_K_s (10 K/min by default).
 *
 * Each step is backward Euler for T and the reaction states together: a
 * scalar Newton on T whose Jacobian uses dq/dT from TCAbuseStep, as the
 * thermal network's Newton will. The local error is estimated against the
 * explicit Euler predictor, |T_BE - T_FE| / 2, and kept below tol_K; a
 * Newton failure halves the step. Not collective.
 */
#pragma once
#include "solver/abuse.h"

typedef enum { TC_ABUSE_PROTOCOL_ARC, TC_ABUSE_PROTOCOL_OVEN } TCAbuseProtocol;
PETSC_EXTERN const char *const TCAbuseProtocols[]; /* "arc", "oven" */

typedef enum {
  TC_ABUSE_PHASE_HEAT,
  TC_ABUSE_PHASE_WAIT,
  TC_ABUSE_PHASE_SEEK,
  TC_ABUSE_PHASE_TRACK,
  TC_ABUSE_PHASE_OVEN
} TCAbusePhase;
PETSC_EXTERN const char *const TCAbusePhases[]; /* "heat", "wait", "seek", "track", "oven" */

typedef struct {
  TCAbuseProtocol protocol;
  PetscReal       rho_cp_J_m3K; /* volumetric heat capacity */
  PetscReal       hAV_W_m3K;    /* oven: h A / V */
  PetscReal       T_init_K;
  PetscReal       oven_T_K, oven_ramp_K_s;
  PetscReal       arc_start_K, arc_step_K, arc_heat_rate_K_s, arc_wait_s, arc_seek_s;
  PetscReal       arc_detect_K_s, arc_end_K;
  PetscReal       runaway_rate_K_s;
  PetscReal       t_end_s, dt_max_s, dt_min_s, tol_K;
  PetscReal       soc; /* initial state (TCAbuseStateInit) */
} TCAbuseNodeOptions;

/* One accepted step, for monitors (CSV rows). */
typedef struct {
  PetscReal    t_s, T_K, T_amb_K, dt_s;
  TCAbusePhase phase;
  PetscReal    q_W_m3, q_rxn_W_m3[TC_ABUSE_NREACTIONS]; /* averaged over the step */
  PetscReal    self_heating_K_s;                        /* q / rho_cp over the step */
  PetscReal    x[TC_ABUSE_NSTATE];
  PetscReal    stored_J_m3, released_J_m3; /* enthalpy left; integral of q dt so far */
} TCAbuseNodeSample;

typedef PetscErrorCode (*TCAbuseNodeMonitor)(const TCAbuseNodeSample *s, void *ctx);

typedef struct {
  PetscBool runaway; /* the rest of the runaway fields are meaningful only if set */
  PetscReal onset_time_s, onset_T_K;
  PetscBool exotherm; /* ARC: self-heating detected (first detection) */
  PetscReal exotherm_time_s, exotherm_T_K, exotherm_rate_K_s;
  PetscReal peak_T_K, peak_time_s, max_self_heating_K_s;
  PetscReal released_J_m3, consumed_J_m3; /* sum of q dt; E(initial) - E(final) */
  PetscReal stored_initial_J_m3;
  /* heat balance of the node: rho_cp (T_end - T_start) = released + heater - loss */
  PetscReal heater_J_m3, loss_J_m3;
  PetscReal T_start_K, t_end_s, T_end_K;
  PetscInt  nsteps, nrejected;
} TCAbuseNodeResult;

/* Defaults of a protocol (see README: ARC 50 C start, 5 K steps, 15 min
   wait, 10 min seek, 0.02 K/min detection; oven 5 K/min ramp; runaway at
   10 K/min). Cell values are left 0: take them from the set or the cell. */
PETSC_EXTERN PetscErrorCode TCAbuseNodeOptionsDefault(TCAbuseProtocol     protocol,
                                                      TCAbuseNodeOptions *opt);
/* Above this temperature the run stops with an error (the kinetics, and the
   cell, do not exist there: a wrong heat capacity or heater, not a result). */
#define TC_ABUSE_NODE_T_MAX_K 1e4
/* Run the protocol; mon (may be NULL) is called after the initial state
   (dt_s = 0) and every accepted step. */
PETSC_EXTERN PetscErrorCode TCAbuseNodeRun(TCAbuseSet set, const TCAbuseNodeOptions *opt,
                                           TCAbuseNodeMonitor mon, void *ctx,
                                           TCAbuseNodeResult *res);
