/*
 * TCRoll: the coupled electrochemical-thermal jelly-roll solver (DESIGN.md,
 * "Coupling and time stepping").
 *
 * Unknowns. The foil potentials phi at every node of a roll network
 * (mesh/rollnet.h, built with terminals): Cu and Al centre-line nodes, the
 * negative terminal (held at 0 V) and the positive terminal; the temperature
 * at every foil node; and the internal state of every element.
 *
 * Elements. Every element edge of the network (an Al node facing a Cu node
 * across one electrode pair of area A_e) is a local cell model (SPM, SPMe or
 * DFN, solver/cellmodel.h) of its own area: the model of the parameter set's
 * area A_p, driven at the element voltage dV = phi_Al - phi_Cu, with current,
 * conductance and heat scaled by A_e / A_p.
 *
 * Electrochemistry, each step: Kirchhoff's current law at every free node,
 *   sum_j G_ij (phi_i - phi_j) -/+ I_e(dV_e) = 0   (Al node -, Cu node +),
 * and at the positive terminal the control: V fixed (CV),
 * sum_tabs G (phi_t - phi_j) + I = 0 (CC) or + P / phi_t = 0 (CP). Solved by
 * PETSc SNES (Newton); every function evaluation steps every element from its
 * committed state to dV (an element-local Newton: static condensation of its
 * unknowns), and the Jacobian uses the elements' exact dI/dV. Fixed nodes are
 * eliminated symmetrically, so the Jacobian is symmetric positive definite.
 * Default linear solver: direct (MUMPS on 2+ ranks); any KSP/PC by options.
 *
 * Thermal network on the foil nodes: a Cu node stands for its foil strip plus
 * one negative coating and half a separator on each side, an Al node for its
 * strip plus a positive coating and half a separator on each side, so the
 * nodes tile the roll. Conductances: along the winding k_s A/ds and along z
 * k_z A/dz (A = node thickness x strip width), across the layers k_r A_e / d
 * through every element (d = distance between the Al and Cu centre lines);
 * convection h (T - T_amb) from the outermost and innermost nodes (can and
 * mandrel, h_can and h_mandrel) and from the end faces of the bottom and top
 * layers (h_end). Heat: every element's heat (irreversible, reversible,
 * ohmic) split evenly between its two nodes; Joule heat of the foils split
 * between the two ends of each foil edge, that of a tab joint into its foil
 * node. Backward Euler: (C/dt + K + H) T = C/dt T_old + Q + H T_amb, with
 * CG + Jacobi by default (prefix -thermal_).
 *
 * Coupling: electrochemistry at the latest temperature, then the thermal
 * step with its heat, repeated until the temperatures change by less than
 * the tolerance. The step is then the TCExperimentSystem step: the
 * experiment driver (solver/cellexp.h) controls dt, cut-offs and rejection.
 *
 * Conservation is checked, not assumed: the state carries the charge balance
 * (element currents against the terminal current, every step) and the
 * energy books (heat generated, stored and removed).
 */
#pragma once
#include "mesh/rollnet.h"
#include "solver/cellexp.h"
#include "solver/abuse.h"

typedef struct _p_TCRoll *TCRoll;

/* The linear solves (Newton, thermal): automatic (direct up to
   TC_ROLL_DIRECT_MAX_NODES nodes, else AMG), LU (2+ ranks: redundant
   sequential LU up to that size, else SuperLU_dist), or CG + algebraic
   multigrid (BoomerAMG) */
typedef enum { TC_ROLL_SOLVER_AUTO, TC_ROLL_SOLVER_DIRECT, TC_ROLL_SOLVER_AMG } TCRollSolver;
#define TC_ROLL_DIRECT_MAX_NODES 5000

typedef struct {
  PetscBool thermal;            /* thermal network; else isothermal at T_amb */
  PetscReal k_s_W_mK, k_z_W_mK; /* conductivity along the winding and along the axis */
  PetscReal k_r_W_mK;           /* across the layers */
  PetscReal rho_cp_J_m3K;       /* volumetric heat capacity of the roll */
  PetscReal h_can_W_m2K;        /* outer surface to ambient */
  PetscReal h_end_W_m2K;        /* top and bottom end faces */
  PetscReal h_mandrel_W_m2K;    /* inner surface (0: adiabatic mandrel) */
  PetscReal T_amb_K, T_init_K;  /* ambient and initial temperature */
  PetscReal T_tol_K;            /* coupling tolerance on the temperature */
  PetscInt  linear_solver;      /* Newton's linear solves: TC_ROLL_SOLVER_* */
  PetscReal t_node_m[2];        /* stack thickness a Cu and an Al node stand for */
  PetscReal d_elem_m;           /* Al to Cu centre-line distance across an element */
  PetscReal sigma_t_S[2];       /* sigma x thickness of the Cu and Al foil */
  PetscReal centre_m[2];        /* roll axis, for (r, theta) */
  PetscReal pitch_m;            /* winding pitch (surface detection) */
  /* thermal abuse (all optional) */
  TCAbuseSet abuse;            /* abuse reactions at every node (borrowed), or NULL */
  PetscReal  abuse_soc;        /* their initial state (1: fully charged) */
  PetscReal  oven_T_K;         /* > 0: oven test: the ambient ramps to it ... */
  PetscReal  oven_ramp_K_s;    /* ... at this rate from T_amb, then holds */
  PetscReal  dT_max_K;         /* > 0: the largest temperature change in a step */
  PetscReal  runaway_rate_K_s; /* onset criterion: dT/dt above it at a node */
  PetscReal  echem_T_max_K;    /* > 0: the cell models see at most this temperature */
  PetscBool  has_short;        /* an internal short ... */
  PetscReal  short_xyz_m[3];   /* ... across the element nearest to this point */
  PetscReal  short_ohm;        /* ... of this resistance */
  PetscBool  has_heater;       /* local overheating: a heater ... */
  PetscReal  heater_xyz_m[3];  /* ... spread over the nodes within heater_radius_m ... */
  PetscReal  heater_radius_m;  /* ... of this point (by volume) ... */
  PetscReal  heater_power_W;   /* ... delivering this power ... */
  PetscReal  heater_time_s;    /* ... for this long (then off) */
} TCRollParams;

/* Where the run stands, from a state (collective; the same on every rank). */
typedef struct {
  PetscReal V_V, I_A, soc;
  PetscReal T_max_K, T_mean_K, T_min_K;
  PetscReal hotspot_r_m, hotspot_theta_rad, hotspot_z_m; /* node of T_max */
  PetscReal i_mean_A_m2, i_max_A_m2;                     /* |current density| over elements */
  PetscReal heterogeneity;                               /* i_max / i_mean (NaN at rest) */
  PetscReal anode_min_V;                                 /* min anode potential vs Li */
  PetscReal anode_min_r_m, anode_min_theta_rad, anode_min_z_m;
  PetscReal anode_min_i_A_m2;     /* current density of that element */
  PetscReal plating_area_frac;    /* element area below 0 V vs Li */
  PetscReal heat_W;               /* heat generation rate of the last step */
  PetscReal generated_J;          /* heat generated (elements and foils) */
  PetscReal stored_J, removed_J;  /* in the roll, to the ambient */
  PetscReal charge_balance_max;   /* max over steps |sum I_e - I| / max(|I|, 1e-3 I_1C) */
  PetscReal energy_balance;       /* |generated - stored - removed| / generated */
  PetscReal charge_Ah, energy_Wh; /* net integrals of I and I V over the run */
  PetscReal abuse_J;              /* heat of the abuse reactions */
  PetscReal short_J;              /* Joule heat in the internal short */
  PetscReal T_amb_K;              /* ambient now (oven ramp) */
  PetscReal runaway_onset_s;      /* first node past the rate criterion, or NaN */
  PetscReal runaway_r_m, runaway_theta_rad, runaway_z_m;
  PetscReal runaway_peak_K; /* the highest temperature of the run */
} TCRollStats;

/* Collective on the network's communicator. net must have terminals; cell
   is set up with the parameter set p (both borrowed: must outlive the
   solver). */
PETSC_EXTERN PetscErrorCode TCRollCreate(TCRollNet net, TCCell cell, const TCCellParams *p,
                                         const TCRollParams *rp, TCRoll *roll);
/* SNES/KSP options (no prefix) and -thermal_ksp_* for the thermal solve. */
PETSC_EXTERN PetscErrorCode TCRollSetFromOptions(TCRoll roll);
PETSC_EXTERN PetscErrorCode TCRollDestroy(TCRoll *roll);
/* The system for TCExperimentRunSystem; I1C from the total element area. */
PETSC_EXTERN PetscErrorCode TCRollGetSystem(TCRoll roll, TCExperimentSystem *sys);
/* Initial state (sys.nstate reals on this rank): every element at soc (< 0:
   the set's own initial state), temperature T_init, potentials at rest. */
PETSC_EXTERN PetscErrorCode TCRollStateInit(TCRoll roll, PetscReal soc, PetscReal state[]);
PETSC_EXTERN PetscErrorCode TCRollGetStats(TCRoll roll, const PetscReal state[], TCRollStats *st);
PETSC_EXTERN PetscErrorCode TCRollGetGraph(TCRoll roll, TCGraph *g);
/* Node fields of a state, into node Vecs of the graph (new numbering). Element
   quantities are area-weighted means over the elements that touch a node;
   NaN on terminals and on nodes without elements. */
typedef enum {
  TC_ROLL_TEMPERATURE,
  TC_ROLL_POTENTIAL,
  TC_ROLL_CURRENT_DENSITY,
  TC_ROLL_ANODE_POTENTIAL,
  TC_ROLL_SOC,
  TC_ROLL_HEAT,
  TC_ROLL_ETA_N,
  TC_ROLL_ETA_P,
  TC_ROLL_ANODE_MIN,
  TC_ROLL_PLATING_TIME,
  TC_ROLL_RUNAWAY_ONSET,
  TC_ROLL_NFIELDS
} TCRollField;
PETSC_EXTERN const char *const TCRollFieldNames[]; /* dataset names with units */
PETSC_EXTERN PetscErrorCode    TCRollNodeFields(TCRoll roll, const PetscReal state[], Vec f[]);

/* The internal short (when set): the point asked for and the distance to the
   element it was put across (NaN without a short). */
PETSC_EXTERN PetscErrorCode TCRollGetShort(TCRoll roll, PetscReal xyz[3], PetscReal *dist_m);

/* Thermal network alone (tests): one backward Euler step of dt (INFINITY:
   steady state) from Told with node heat Q (W) into Tnew; node Vecs.
   Also the volume each node stands for (m^3). */
PETSC_EXTERN PetscErrorCode TCRollThermalSolve(TCRoll roll, Vec Told, Vec Q, PetscReal dt,
                                               Vec Tnew);
PETSC_EXTERN PetscErrorCode TCRollNodeVolumes(TCRoll roll, Vec vol);
