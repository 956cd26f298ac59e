/*
 * tomocell run, job "roll": the coupled electrochemical-thermal jelly-roll
 * simulation (solver/roll.h) of a synthetic spiral from the deck.
 */
#pragma once
#include "io/deck.h"
#include "mesh/spiral.h"

#define TC_ROLL_RUN_KEYS                                                                           \
  TC_SPIRAL_KEYS,                                                                                  \
      {"params", TC_KEY_STRING, "chen2020", 0, 0, PETSC_FALSE, NULL,                               \
       "job roll: parameter set (inputs/params/ name or BPX JSON path)", PETSC_FALSE},             \
      {"model", TC_KEY_ENUM, "spme", 0, 0, PETSC_FALSE, "spm|spme|dfn",                            \
       "job roll: element cell model", PETSC_FALSE},                                               \
      {"experiment", TC_KEY_STRING, "Discharge at 1C until 2.5 V", 0, 0, PETSC_FALSE, NULL,        \
       "job roll: PyBaMM-style steps separated by ';' (as tomocell cell)", PETSC_FALSE},           \
      {"initial_soc", TC_KEY_REAL, NULL, 0, 1, PETSC_FALSE, NULL,                                  \
       "job roll: initial SOC (default: the set's initial concentrations)", PETSC_TRUE},           \
      {"ambient_temperature", TC_KEY_REAL, NULL, 0, 1000, PETSC_TRUE, NULL,                        \
       "job roll: ambient and initial temperature, K (default: the set's)", PETSC_TRUE},           \
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
      {"thermal_h_mandrel_W_m2K", TC_KEY_REAL, "0", 0, 1e7, PETSC_FALSE, NULL,                     \
       "... at the mandrel (0: adiabatic)", PETSC_FALSE},                                          \
      {"thermal_tol_K", TC_KEY_REAL, "0.05", 0, 10, PETSC_TRUE, NULL,                              \
       "coupling tolerance: temperature change between iterations, K", PETSC_FALSE},               \
      {"linear_solver", TC_KEY_ENUM, "auto", 0, 0, PETSC_FALSE, "auto|direct|amg",                 \
       "job roll: linear solves (auto: direct up to 5000 nodes, else CG + AMG)",                   \
       PETSC_FALSE},                                                                               \
      {"cell_nx_n", TC_KEY_INT, "8", 1, 100000, PETSC_FALSE, NULL,                                 \
       "job roll: cells in each element's negative electrode", PETSC_FALSE},                       \
      {"cell_nx_s", TC_KEY_INT, "4", 1, 100000, PETSC_FALSE, NULL,                                 \
       "job roll: cells in each element's separator", PETSC_FALSE},                                \
      {"cell_nx_p", TC_KEY_INT, "8", 1, 100000, PETSC_FALSE, NULL,                                 \
       "job roll: cells in each element's positive electrode", PETSC_FALSE},                       \
      {"cell_nr_n", TC_KEY_INT, "20", 2, 100000, PETSC_FALSE, NULL,                                \
       "job roll: shells per negative particle", PETSC_FALSE},                                     \
      {"cell_nr_p", TC_KEY_INT, "20", 2, 100000, PETSC_FALSE, NULL,                                \
       "job roll: shells per positive particle", PETSC_FALSE},                                     \
      {"tab_contact_ohm_m", TC_KEY_REAL, "5e-7", 0, 1, PETSC_TRUE, NULL,                           \
       "tab contact resistance x tab width, ohm m (5e-7: 0.1 mOhm for a 5 mm tab)", PETSC_FALSE},  \
      {"dt_max_s", TC_KEY_REAL, "60", 0, 1e6, PETSC_TRUE, NULL, "job roll: largest time step, s",  \
       PETSC_FALSE},                                                                               \
      {"tol_V", TC_KEY_REAL, "1e-3", 0, 1, PETSC_TRUE, NULL,                                       \
       "job roll: local error tolerance per step on the terminal voltage, V", PETSC_FALSE},        \
      {"dt_fixed_s", TC_KEY_REAL, "0", 0, 1e6, PETSC_FALSE, NULL,                                  \
       "job roll: fixed time step, s (0: adaptive)", PETSC_FALSE},                                 \
      {"output_interval_s", TC_KEY_REAL, "60", 0, 1e9, PETSC_TRUE, NULL,                           \
       "job roll: time between field snapshots in results.h5, s", PETSC_FALSE},                    \
      {"abuse", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,                                      \
       "abuse reactions at every thermal node: a set in inputs/params/ (kim2007) or a JSON path",   \
       PETSC_TRUE},                                                                                \
      {"abuse_soc", TC_KEY_REAL, "1", 0, 1, PETSC_FALSE, NULL,                                     \
       "initial state of the abuse reactants (1: fully charged)", PETSC_FALSE},                    \
      {"oven_temperature", TC_KEY_REAL, NULL, 0, 2000, PETSC_TRUE, NULL,                           \
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
      {"plots", TC_KEY_BOOL, "true", 0, 0, PETSC_FALSE, NULL,                                      \
       "job roll: PNG plots (needs /usr/bin/python3 with matplotlib)", PETSC_FALSE},               \
  {                                                                                                \
    "plot_times_s", TC_KEY_STRING, NULL, 0, 0, PETSC_FALSE, NULL,                                  \
        "job roll: times of the map plots, comma-separated, s (default: middle and end)",          \
        PETSC_TRUE                                                                                 \
  }

/* Run the roll job of an open deck into outdir (created by the caller). */
PETSC_EXTERN PetscErrorCode TCRunRoll(TCDeck deck, const char deck_path[], const char outdir[]);
