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
 * a monolithic Newton (PETSc SNES) over the potentials and every element's
 * internal unknowns at once, by static condensation: each function
 * evaluation makes one Newton update of every element at its voltage (the
 * element's iterate first moved along its sensitivity d(unknowns)/dV to the
 * new voltage), and the Jacobian uses the elements' exact dI/dV, so the pair
 * converges quadratically. Converged when the elements' last update, the
 * charge imbalance of each electrode and the residual (at its rounding floor)
 * are all small; the last step may skip the element evaluation (a linear
 * solve with the elements moved along their sensitivities). Where the
 * monolithic Newton fails, the step is solved again with every element
 * converged at every evaluation (nested), as is the consistent start of each
 * experiment step. Fixed nodes are eliminated symmetrically, so the Jacobian
 * is symmetric positive definite. Linear solves (linear_solver): CG (inexact
 * Newton: to a fraction of the residual, the last one to its floor) with a
 * preconditioner kept across steps and rebuilt when its CG iterations grow
 * (kept in the state, so restarts repeat bit for bit; -roll_pc_lag false:
 * rebuilt at every step) -- LU up to TC_ROLL_DIRECT_MAX_NODES nodes, or
 * TC_ROLL_DIRECT_MAX_NODES_SHEET for one node layer (on 2+ ranks a redundant
 * sequential LU on every rank), above that (up to TC_ROLL_FOIL_MAX_NODES) each
 * foil's sheet factored apart for the Newton and BoomerAMG for the thermal
 * solves, above that BoomerAMG for both; any KSP/PC by options.
 *
 * Thermal network on the foil nodes: a Cu node stands for its foil strip plus
 * one negative coating and half a separator on each side, an Al node for its
 * strip plus a positive coating and half a separator on each side, so the
 * nodes tile the roll (t_node_m; for a traced roll the stack is scaled to the
 * traced pitch, mesh/rollgeom.h). Conductances: along the winding k_s A/ds
 * and along z k_z A/dz (A = node thickness x strip width), across the layers
 * k_r A / d through the thermal links of the network (mesh/rollnet.h: rays
 * from every node of both foils to the facing foil's centre line, joined
 * with linear weights to the two nodes bracketing the hit, so that heat
 * crosses the layers straight whatever the node grids); convection
 * h (T - T_amb) from the outermost and innermost nodes (can and mandrel,
 * h_can and h_mandrel) and from the end faces of the bottom and top layers
 * (h_end). Heat: every element's heat (irreversible, reversible, ohmic)
 * split evenly between its two nodes; Joule heat of the foils split between
 * the two ends of each foil edge, that of a tab joint into its foil node.
 * Backward Euler: (C/dt + K + H) T = C/dt T_old + Q + H T_amb, by CG with the
 * same choice of preconditioner (prefix -thermal_). Abuse reactions
 * (solver/abuse.h), an oven ambient, an internal short across the element
 * nearest a point and a local heater are optional.
 *
 * Coupling: electrochemistry at the latest temperature, then the thermal
 * step with its heat, repeated until the temperatures change by less than
 * the tolerance (thermal_tol_K). The step is then the TCExperimentSystem
 * step: the experiment driver (solver/cellexp.h) controls dt, cut-offs and
 * rejection.
 *
 * Conservation is checked, not assumed: the state carries the charge balance
 * (element currents against the terminal current, every step) and the
 * energy books (heat generated, stored and removed).
 */
#pragma once
#include "io/deck.h"
#include "mesh/rollgeom.h"
#include "solver/cellexp.h"
#include "solver/abuse.h"

/* The solver's deck keys (thermal network, linear solves, abuse, oven,
   internal short, heater), read by TCRollParamsFromDeck. */
#define TC_ROLL_KEYS \
      {"ambient_temperature", TC_KEY_REAL, NULL, 100, 1000, PETSC_FALSE, NULL,                     \
       "job roll: ambient temperature, K (default: the set's)", PETSC_TRUE},                      \
      {"initial_temperature", TC_KEY_REAL, NULL, 100, 1000, PETSC_FALSE, NULL,                     \
       "job roll: initial temperature, K (default: the ambient)", PETSC_TRUE},                     \
      {"thermal", TC_KEY_ENUM, "network", 0, 0, PETSC_FALSE, "isothermal|network",                 \
       "job roll: thermal network coupled to the electrochemistry, or isothermal", PETSC_FALSE},   \
      {"thermal_k_s_W_mK", TC_KEY_REAL, "30.4", 0, 1e4, PETSC_TRUE, NULL,                         \
       "conductivity along the winding (in-plane), W/(m K)", PETSC_FALSE},                         \
      {"thermal_k_z_W_mK", TC_KEY_REAL, "30.4", 0, 1e4, PETSC_TRUE, NULL,                         \
       "conductivity along the axis (in-plane), W/(m K)", PETSC_FALSE},                            \
      {"thermal_k_r_W_mK", TC_KEY_REAL, "0.20", 0, 1e4, PETSC_TRUE, NULL,                         \
       "conductivity across the layers, W/(m K)", PETSC_FALSE},                                    \
      {"thermal_rho_cp_J_m3K", TC_KEY_REAL, NULL, 0, 1e9, PETSC_TRUE, NULL,                       \
       "volumetric heat capacity, J/(m3 K) (default: the set's density x cp)", PETSC_TRUE},        \
      {"thermal_h_can_W_m2K", TC_KEY_REAL, NULL, 0, 1e7, PETSC_FALSE, NULL,                        \
       "heat transfer coefficient at the can, W/(m2 K) (default: the set's)", PETSC_TRUE},         \
      {"thermal_h_end_W_m2K", TC_KEY_REAL, NULL, 0, 1e7, PETSC_FALSE, NULL,                        \
       "... at the top and bottom ends (default: as the can)", PETSC_TRUE},                        \
      {"thermal_h_top_W_m2K", TC_KEY_REAL, NULL, 0, 1e7, PETSC_FALSE, NULL,                        \
       "... at the top end (positive: the cap) (default: thermal_h_end_W_m2K)", PETSC_TRUE},        \
      {"thermal_h_bottom_W_m2K", TC_KEY_REAL, NULL, 0, 1e7, PETSC_FALSE, NULL,                     \
       "... at the bottom end (negative: the can's bottom) (default: thermal_h_end_W_m2K)",        \
       PETSC_TRUE},                                                                                \
      {"thermal_h_mandrel_W_m2K", TC_KEY_REAL, "0", 0, 1e7, PETSC_FALSE, NULL,                     \
       "... at the mandrel (0: adiabatic)", PETSC_FALSE},                                          \
      {"thermal_hardware", TC_KEY_ENUM, "none", 0, 0, PETSC_FALSE, "none|can",                    \
       "the cell's hardware in the thermal network: none (the roll alone), or can (can wall, "     \
       "bottom, top cap, tab paths, optional mandrel pin)", PETSC_FALSE},                          \
      {"thermal_can_outer_radius_m", TC_KEY_REAL, NULL, 0, 1, PETSC_TRUE, NULL,                    \
       "can: outer radius, m (default: the preset's)", PETSC_TRUE},                                \
      {"thermal_can_wall_thickness_m", TC_KEY_REAL, NULL, 0, 1, PETSC_TRUE, NULL,                  \
       "can: wall thickness, m (default: the preset's)", PETSC_TRUE},                              \
      {"thermal_can_bottom_thickness_m", TC_KEY_REAL, NULL, 0, 1, PETSC_FALSE, NULL,               \
       "can: bottom thickness, m (default: the preset's)", PETSC_TRUE},                            \
      {"thermal_can_height_m", TC_KEY_REAL, NULL, 0, 10, PETSC_TRUE, NULL,                         \
       "can: length of the wall, bottom face to top, m (default: the preset's)", PETSC_TRUE},      \
      {"thermal_can_bottom_gap_m", TC_KEY_REAL, NULL, 0, 1, PETSC_FALSE, NULL,                     \
       "can: the roll's bottom edge to the bottom's inner face, m (default: the preset's)",        \
       PETSC_TRUE},                                                                                \
      {"thermal_can_rho_cp_J_m3K", TC_KEY_REAL, "3.69e6", 0, 1e9, PETSC_FALSE, NULL,               \
       "can: volumetric heat capacity, J/(m3 K) (nickel-plated steel)", PETSC_FALSE},              \
      {"thermal_can_k_W_mK", TC_KEY_REAL, "50", 0, 1e4, PETSC_TRUE, NULL,                          \
       "can: conductivity of the wall and bottom, W/(m K) (nickel-plated steel)", PETSC_FALSE},    \
      {"thermal_can_rings", TC_KEY_INT, "12", 1, 1000, PETSC_FALSE, NULL,                          \
       "can: thermal nodes (rings) over the wall's height", PETSC_FALSE},                          \
      {"thermal_can_contact_W_m2K", TC_KEY_REAL, NULL, 0, 1e9, PETSC_FALSE, NULL,                  \
       "contact conductance, outer winding to can wall, W/(m2 K) (default: the preset's)",         \
       PETSC_TRUE},                                                                                \
      {"thermal_end_contact_W_m2K", TC_KEY_REAL, NULL, 0, 1e9, PETSC_FALSE, NULL,                  \
       "conductance of the roll's end faces to the bottom and the top cap (insulator discs), "     \
       "W/(m2 K) (default: the preset's)", PETSC_TRUE},                                            \
      {"thermal_cap_heat_capacity_J_K", TC_KEY_REAL, NULL, 0, 1e6, PETSC_FALSE, NULL,              \
       "top cap assembly (cap, PTC, CID, vent, gasket): heat capacity, J/K (default: the "         \
       "preset's)", PETSC_TRUE},                                                                   \
      {"thermal_cap_can_W_K", TC_KEY_REAL, NULL, 0, 1e6, PETSC_FALSE, NULL,                        \
       "top cap to can wall through the crimp and gasket, W/K (default: the preset's)",            \
       PETSC_TRUE},                                                                                \
      {"thermal_tab_thickness_m", TC_KEY_REAL, "1e-4", 0, 1, PETSC_FALSE, NULL,                    \
       "tabs: thickness of the tab strips from the foils to the caps, m", PETSC_FALSE},            \
      {"thermal_tab_neg_length_m", TC_KEY_REAL, NULL, 0, 1, PETSC_TRUE, NULL,                      \
       "negative tab: length from the Cu foil edge to the can bottom, m (default: the preset's)",  \
       PETSC_TRUE},                                                                                \
      {"thermal_tab_pos_length_m", TC_KEY_REAL, NULL, 0, 1, PETSC_TRUE, NULL,                      \
       "positive tab: length from the Al foil edge to the top cap, m (default: the preset's)",     \
       PETSC_TRUE},                                                                                \
      {"thermal_tab_neg_k_W_mK", TC_KEY_REAL, "90.7", 0, 1e4, PETSC_FALSE, NULL,                   \
       "negative tab conductivity, W/(m K) (nickel)", PETSC_FALSE},                                \
      {"thermal_tab_pos_k_W_mK", TC_KEY_REAL, "237", 0, 1e4, PETSC_FALSE, NULL,                    \
       "positive tab conductivity, W/(m K) (aluminium)", PETSC_FALSE},                             \
      {"thermal_tab_neg_rho_cp_J_m3K", TC_KEY_REAL, "3.95e6", 0, 1e9, PETSC_FALSE, NULL,           \
       "negative tab volumetric heat capacity, J/(m3 K) (nickel)", PETSC_FALSE},                   \
      {"thermal_tab_pos_rho_cp_J_m3K", TC_KEY_REAL, "2.42e6", 0, 1e9, PETSC_FALSE, NULL,           \
       "positive tab volumetric heat capacity, J/(m3 K) (aluminium)", PETSC_FALSE},                \
      {"thermal_emissivity", TC_KEY_REAL, "0", 0, 1, PETSC_FALSE, NULL,                            \
       "hardware: emissivity of the can and ends, linearised radiation 4 e sigma T_amb^3 added "   \
       "to the convection (0: none)", PETSC_FALSE},                                                \
      {"thermal_lead_positive_W_K", TC_KEY_REAL, "0", 0, 1e3, PETSC_FALSE, NULL,                   \
       "hardware: conductance from the top cap (positive terminal) to ambient through the "        \
       "cycler's lead and the cell holder's contact, W/K (0: none)", PETSC_FALSE},                 \
      {"thermal_lead_negative_W_K", TC_KEY_REAL, "0", 0, 1e3, PETSC_FALSE, NULL,                   \
       "hardware: ... from the can's bottom (negative terminal), W/K (0: none)", PETSC_FALSE},     \
      {"thermal_mandrel_rho_cp_J_m3K", TC_KEY_REAL, "0", 0, 1e9, PETSC_FALSE, NULL,                \
       "hardware: a mandrel pin filling the core, volumetric heat capacity, J/(m3 K) (0: a "       \
       "hollow core)", PETSC_FALSE},                                                               \
      {"thermal_mandrel_k_W_mK", TC_KEY_REAL, "16", 0, 1e4, PETSC_FALSE, NULL,                     \
       "hardware: mandrel pin conductivity along the axis, W/(m K)", PETSC_FALSE},                 \
      {"thermal_mandrel_contact_W_m2K", TC_KEY_REAL, "500", 0, 1e9, PETSC_FALSE, NULL,             \
       "hardware: contact conductance, inner winding to the mandrel pin, W/(m2 K)", PETSC_FALSE},  \
      {"thermal_cell_heat_capacity_J_K", TC_KEY_REAL, NULL, 0, 1e6, PETSC_TRUE, NULL,              \
       "the whole cell's heat capacity, J/K: the roll's volumetric heat capacity is set so that "  \
       "roll and hardware add up to it (instead of thermal_rho_cp_J_m3K)", PETSC_TRUE},            \
      {"thermal_tol_K", TC_KEY_REAL, "0.05", 0, 10, PETSC_TRUE, NULL,                              \
       "coupling tolerance: temperature change between iterations, K", PETSC_FALSE},               \
      {"linear_solver", TC_KEY_ENUM, "auto", 0, 0, PETSC_FALSE, "auto|direct|amg|foil",            \
       "job roll: linear solves (auto: direct up to 5000 nodes or 50,000 for one node layer, "     \
       "else foil: each foil factored apart, up to 10^6 nodes, else CG + AMG)",                    \
       PETSC_FALSE},                                                                               \
      {"abuse", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,                                      \
       "abuse reactions at every thermal node: a set in inputs/params/ (kim2007) or a JSON path",   \
       PETSC_TRUE},                                                                                \
      {"abuse_soc", TC_KEY_REAL, "1", 0, 1, PETSC_FALSE, NULL,                                     \
       "initial state of the abuse reactants (1: fully charged)", PETSC_FALSE},                    \
      {"oven_temperature", TC_KEY_REAL, NULL, 100, 2000, PETSC_FALSE, NULL,                        \
       "oven test: the ambient ramps to this temperature and holds, K", PETSC_TRUE},               \
      {"oven_ramp_K_min", TC_KEY_REAL, "5", 0, 1e6, PETSC_FALSE, NULL,                             \
       "oven ramp rate, K/min (0: a step)", PETSC_FALSE},                                          \
      {"thermal_dT_max_K", TC_KEY_REAL, NULL, 0, 1e4, PETSC_FALSE, NULL,                           \
       "largest temperature change per step, K (default 5 with abuse, else none)", PETSC_TRUE},     \
      {"runaway_rate_K_min", TC_KEY_REAL, "10", 0, 1e9, PETSC_TRUE, NULL,                          \
       "runaway onset: dT/dt at a node above this, K/min", PETSC_FALSE},                           \
      {"echem_T_max_K", TC_KEY_REAL, NULL, 0, 2000, PETSC_FALSE, NULL,                             \
       "the cell models see at most this temperature, K (default 373.15 with abuse)", PETSC_TRUE}, \
      {"short_r_m", TC_KEY_REAL, NULL, 0, 1, PETSC_FALSE, NULL,                                    \
       "internal short: radius of its location (with short_theta_rad, short_z_m), m", PETSC_TRUE}, \
      {"short_theta_rad", TC_KEY_REAL, "0", -100, 100, PETSC_FALSE, NULL,                          \
       "internal short: angle about the roll axis, rad", PETSC_FALSE},                             \
      {"short_z_m", TC_KEY_REAL, NULL, -1, 1, PETSC_FALSE, NULL,                                   \
       "internal short: height, m (default mid-height)", PETSC_TRUE},                              \
      {"short_resistance_ohm", TC_KEY_REAL, "0.01", 0, 1e9, PETSC_TRUE, NULL,                      \
       "internal short: resistance between the foils, ohm", PETSC_FALSE},                          \
      {"heater_r_m", TC_KEY_REAL, NULL, 0, 1, PETSC_FALSE, NULL,                                   \
       "local overheating: radius of a heater's centre (with heater_theta_rad, heater_z_m), m",     \
       PETSC_TRUE},                                                                                \
      {"heater_theta_rad", TC_KEY_REAL, "0", -100, 100, PETSC_FALSE, NULL,                         \
       "local overheating: angle of the heater, rad", PETSC_FALSE},                                \
      {"heater_z_m", TC_KEY_REAL, NULL, -1, 1, PETSC_FALSE, NULL,                                  \
       "local overheating: height of the heater, m (default mid-height)", PETSC_TRUE},             \
      {"heater_radius_m", TC_KEY_REAL, "2e-3", 0, 1, PETSC_TRUE, NULL,                             \
       "local overheating: nodes within this distance share the power by volume, m", PETSC_FALSE}, \
      {"heater_power_W", TC_KEY_REAL, "5", 0, 1e6, PETSC_FALSE, NULL,                              \
       "local overheating: heater power, W", PETSC_FALSE},                                         \
      {"heater_time_s", TC_KEY_REAL, "1e30", 0, 1e30, PETSC_FALSE, NULL,                           \
       "local overheating: the heater is on until this time, s", PETSC_FALSE},                     \
      {"short_at_defect", TC_KEY_INT, NULL, 0, 1e6, PETSC_FALSE, NULL,                             \
       "internal short at defect N (0-based) of the traced roll (summary.json geometry.defects); "  \
       "instead of short_r_m", PETSC_TRUE}

typedef struct _p_TCRoll *TCRoll;

/* The linear solves (Newton, thermal): automatic (direct up to
   TC_ROLL_DIRECT_MAX_NODES nodes, or TC_ROLL_DIRECT_MAX_NODES_SHEET for one
   node layer, else foil up to TC_ROLL_FOIL_MAX_NODES, else AMG), LU (2+
   ranks: redundant sequential LU up to those sizes, else SuperLU_dist), CG +
   algebraic multigrid (BoomerAMG), or foil: the Newton's CG preconditioned by
   each foil's sheet factored apart plus a correction of each foil's mean
   potential (solver/roll.c, SetFoilPreconditioner), the thermal one's by AMG */
typedef enum {
  TC_ROLL_SOLVER_AUTO,
  TC_ROLL_SOLVER_DIRECT,
  TC_ROLL_SOLVER_AMG,
  TC_ROLL_SOLVER_FOIL /* the Newton's: each foil's sheet factored apart; the thermal: AMG */
} TCRollSolver;
#define TC_ROLL_DIRECT_MAX_NODES 5000
/* ... and for a roll of one node layer (a 2-D graph, little fill): direct up
   to this (an 18650 at 0.1 mm, 23,500 nodes: CG + LU 1.0 s against CG +
   BoomerAMG 1.3 s of linear solves in 3 minutes of 1C) */
#define TC_ROLL_DIRECT_MAX_NODES_SHEET 50000
/* ... and the foil preconditioner up to this (every rank factors both foils'
   sheets); AMG above */
#define TC_ROLL_FOIL_MAX_NODES 1000000

/* The cell's hardware in the thermal network (thermal_hardware: can): the can
   wall as rings of nodes over its height (conduction along it, convection and
   linearised radiation outside, contact with the outer winding inside), the
   bottom and the top cap (one node each: the negative and the positive tab
   strip end there, the roll's end faces touch them through the insulator
   discs), an optional mandrel pin. In z the can wall spans
   [z_lo - bottom_gap - t_bottom, ... + height], z_lo the roll's bottom edge. */
typedef struct {
  PetscBool on;
  PetscReal R_out_m, t_wall_m, t_bottom_m, height_m, bottom_gap_m;
  PetscReal rho_cp_J_m3K, k_W_mK; /* can wall and bottom */
  PetscInt  rings;
  PetscReal contact_W_m2K;     /* outer winding -> can wall */
  PetscReal end_contact_W_m2K; /* roll end faces -> bottom, top cap */
  PetscReal cap_C_J_K, cap_can_W_K;
  PetscReal tab_t_m, tab_L_m[2], tab_k_W_mK[2], tab_rho_cp_J_m3K[2]; /* [0] negative, [1] positive */
  PetscReal tab_width_m[2];       /* total width of each foil's tabs (from the geometry) */
  PetscReal emissivity;
  PetscReal lead_W_K[2];          /* terminal -> ambient through leads/holder: [0] bottom, [1] cap */
  PetscReal mandrel_rho_cp_J_m3K; /* > 0: a pin in the core */
  PetscReal mandrel_k_W_mK, mandrel_contact_W_m2K;
} TCRollHardware;

/* The heat capacity of the thermal network and its parts, J/K */
typedef struct {
  PetscReal total, roll, can_wall, can_bottom, top_cap, tabs, mandrel;
  PetscReal roll_rho_cp_J_m3K; /* the roll's volumetric heat capacity used */
} TCRollHeatCapacity;

typedef struct {
  PetscBool thermal;            /* thermal network; else isothermal at T_amb */
  TCRollHardware hw;            /* the can, caps, tabs, mandrel (hw.on) */
  PetscReal C_cell_J_K;         /* > 0: the roll's rho cp so that the total is this */
  PetscReal k_s_W_mK, k_z_W_mK; /* conductivity along the winding and along the axis */
  PetscReal k_r_W_mK;           /* across the layers */
  PetscReal rho_cp_J_m3K;       /* volumetric heat capacity of the roll */
  PetscReal h_can_W_m2K;        /* outer surface to ambient */
  PetscReal h_end_W_m2K;        /* top and bottom end faces (as the deck gives it) */
  PetscReal h_top_W_m2K;        /* the top (positive, cap) end ... */
  PetscReal h_bottom_W_m2K;     /* ... and the bottom (negative) end: h_end unless given */
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
  /* as the deck gives them, until TCRollParamsSetGeometry places them */
  PetscReal short_rtz[3], heater_rtz[3]; /* r, theta, z (z < 0: mid-height) */
  PetscInt  short_defect;                /* >= 0: the short at this defect of the geometry */
} TCRollParams;

/* Read TC_ROLL_KEYS into rp (zeroed first); the parameter set p gives the
   defaults (h, rho cp, ambient). Loads the abuse set named by `abuse` (rp owns
   it: TCRollParamsReset). Checks what can be checked without the geometry. */
PETSC_EXTERN PetscErrorCode TCRollParamsFromDeck(TCDeck deck, const TCCellParams *p,
                                                 TCRollParams *rp);
/* The geometry's part: stack thicknesses a node stands for, foil sigma t,
   centre, pitch, and the short and heater positions in x, y, z (a short at
   a defect of the geometry, or from its r, theta, z). */
PETSC_EXTERN PetscErrorCode TCRollParamsSetGeometry(MPI_Comm comm, TCRollParams *rp,
                                                    const TCRollGeomInfo *gi,
                                                    const TCRollNetParams *np);
PETSC_EXTERN PetscErrorCode TCRollParamsReset(TCRollParams *rp);

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

/* The linear solves since the solver was created (not part of the state: a
   restarted run counts from its restart) */
typedef struct {
  PetscInt  newton_solves, newton_its, newton_pc_setups;
  PetscInt  thermal_solves, thermal_its, thermal_pc_setups;
  PetscInt  newton_pc; /* the Newton's preconditioner: TC_ROLL_SOLVER_DIRECT, _AMG or _FOIL */
} TCRollSolverCounts;

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
PETSC_EXTERN PetscErrorCode TCRollGetSolverCounts(TCRoll roll, TCRollSolverCounts *c);
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

/* Probes (thermocouples): the temperature of the thermal node nearest a
   point (r, theta, z) about the roll axis (z in the geometry's frame, as
   hotspot_z_m). Named places (TCRollProbePlaces, NULL-terminated):
   can_mid (outer surface, theta 0, mid-height), can_positive_end (outer
   surface at the top: the Al tabs' end), can_negative_end (at the bottom:
   the Cu tabs' end), core_mid (inner turn, mid-height); TCRollProbePlace
   gives their (r, theta, z). With the hardware the can places read its
   nodes: can_mid the wall ring nearest the roll's mid-height,
   can_positive_end the top cap, can_negative_end the bottom (r = 0: the
   centres of the ends). Collective. */
typedef struct {
  PetscReal   rtz[3];      /* the point asked for */
  PetscReal   node_rtz[3]; /* the node it reads */
  PetscReal   dist_m;      /* their distance */
  PetscMPIInt rank;        /* owner of the node ... */
  PetscInt    local;       /* ... and its local index there (-1 elsewhere) */
} TCRollProbe;
PETSC_EXTERN const char *const TCRollProbePlaces[];
PETSC_EXTERN PetscErrorCode    TCRollProbePlace(TCRoll roll, const char name[], PetscReal rtz[3]);
/* place: a named place (then rtz is not read; a can place reads a node of
   the outermost turn, the core one of the innermost), or NULL: the point rtz. */
PETSC_EXTERN PetscErrorCode    TCRollProbeLocate(TCRoll roll, const char place[],
                                                 const PetscReal rtz[3], TCRollProbe *pr);
/* T[k] of every probe (the same on every rank). */
PETSC_EXTERN PetscErrorCode TCRollProbeTemperatures(TCRoll roll, const PetscReal state[],
                                                    PetscInt n, const TCRollProbe pr[],
                                                    PetscReal T[]);

/* The heat capacity of the thermal network and its parts (collective). */
PETSC_EXTERN PetscErrorCode TCRollGetHeatCapacity(TCRoll roll, TCRollHeatCapacity *hc);
/* With hardware the thermal network has more nodes than the graph: the
   graph's nodes, then (on the last rank) the hardware nodes: can rings from
   the bottom up, the bottom, the top cap, the mandrel pin. A Vec of that
   layout for TCRollThermalSolve and TCRollNodeVolumes (the graph's layout
   without hardware), and the number of hardware nodes (all ranks). */
PETSC_EXTERN PetscErrorCode TCRollCreateThermalVec(TCRoll roll, Vec *v);
PETSC_EXTERN PetscErrorCode TCRollGetHardwareNodes(TCRoll roll, PetscInt *nrings, PetscInt *nhw);

/* Thermal network alone (tests): one backward Euler step of dt (INFINITY:
   steady state) from Told with node heat Q (W) into Tnew; thermal Vecs (TCRollCreateThermalVec).
   Also the volume each node stands for (m^3). */
PETSC_EXTERN PetscErrorCode TCRollThermalSolve(TCRoll roll, Vec Told, Vec Q, PetscReal dt,
                                               Vec Tnew);
PETSC_EXTERN PetscErrorCode TCRollNodeVolumes(TCRoll roll, Vec vol);
