/*
 * Parameter sets for the cell models, read from BPX JSON files (Battery
 * Parameter eXchange, https://github.com/FaradayInstitution/BPX, 0.x and
 * 1.x): "Header" + "Parameterisation" with "Cell", "Electrolyte", "Negative
 * electrode", "Separator", "Positive electrode", an optional "User-defined"
 * section and BPX 1.x's "State" (initial SOC, temperature and electrolyte
 * concentration; ambient temperature and h). SPM-only sets ("Model": "SPM",
 * no electrolyte or separator) load with what the SPM needs (spm_only; the
 * other models refuse them); a one-material "Particle" map loads as that
 * material; blended electrodes, OCP hysteresis (the branches or user-defined)
 * and a degraded "State" are refused with the reason. Parameter sets are data: a name such as
 * "chen2020" is looked up as inputs/params/<name>.json (beside the
 * executable's source tree, or in $TOMOCELL_PARAMS), anything with a '/' or
 * ending in .json is a path.
 *
 * Conventions taken from BPX: effective transport = bulk x "Transport
 * efficiency"; solid conductivity is used as given; the exchange current
 * density is j0 = F k exp(Ea/R (1/Tref - 1/T)) sqrt(ce/ce0 sto (1 - sto)),
 * A/m^2; OCPs and solid diffusivities are functions of stoichiometry x,
 * electrolyte properties of concentration x (mol/m^3), all optionally of T.
 *
 * Keys read from "User-defined" (tomocell extensions, all optional):
 * "Initial concentration in negative electrode [mol.m-3]", "... positive
 * ..." (the set's own initial state, used when no -initial_soc is given, as
 * PyBaMM does), "Negative current collector thickness [m]", "Positive
 * current collector thickness [m]" (kept for the thermal network; the
 * lumped model uses the cell volume).
 */
#pragma once
#include <petscsys.h>
#include "io/deck.h"
#include "io/json.h"
#include "solver/cellfunc.h"

/* Constants: CODATA 2018 (exact in the 2019 SI). PyBaMM uses the same. */
#define TC_FARADAY 96485.33212
#define TC_RGAS    8.314462618

typedef struct {
  PetscReal L_m;              /* thickness */
  PetscReal R_m;              /* particle radius */
  PetscReal eps;              /* porosity (electrolyte volume fraction) */
  PetscReal eps_s;            /* active material volume fraction = a R / 3 */
  PetscReal a_m;              /* surface area per unit volume, 1/m */
  PetscReal B;                /* transport efficiency eps/tau (Bruggeman: eps^1.5) */
  PetscReal sigma_S_m;        /* solid conductivity (effective) */
  PetscReal cmax;             /* maximum concentration, mol/m^3 */
  PetscReal k;                /* reaction rate constant (BPX), mol/(m^2 s) */
  PetscReal Ea_k, Ea_D;       /* activation energies, J/mol */
  PetscReal sto_min, sto_max; /* stoichiometry at 0 % and 100 % SOC (either order) */
  PetscReal c_init;           /* initial concentration (User-defined), mol/m^3; <0: not given */
  TCFunc    U;                /* OCP(sto), V */
  TCFunc    dUdT;             /* entropic coefficient (sto), V/K; NULL if absent */
  TCFunc    D;                /* particle diffusivity(sto, T), m^2/s */
} TCElectrodeParams;

typedef struct {
  char              title[256];
  char              source[PETSC_MAX_PATH_LEN]; /* file it came from */
  TCElectrodeParams neg, pos;
  PetscReal         L_sep_m, eps_sep, B_sep;
  PetscReal         ce0;       /* initial electrolyte concentration, mol/m^3 */
  PetscReal         t_plus;    /* cation transference number */
  TCFunc            De, kappa; /* electrolyte diffusivity m^2/s and conductivity S/m (c, T) */
  PetscReal         Ea_De, Ea_kappa;
  PetscReal         area_m2; /* electrode area x pairs in parallel */
  PetscReal         V_min, V_max, Q_nom_Ah;
  PetscReal         T_ref, T_amb, T_init;
  PetscReal         h_W_m2K, area_ext_m2, volume_m3, rho_cp_J_m3K;
  PetscReal         L_cc_m;   /* both current collectors, for the thermal stack; 0 if absent */
  PetscReal         soc_init; /* "State" -> "Initial state-of-charge"; < 0: not given */
  PetscBool spm_only;      /* an SPM set: no electrolyte, separator, porosities, conductivities */
  char      bpx_model[16]; /* "Header" -> "Model" ("" if absent) */
  char      notes[512];    /* defaults the loader chose, for the output ("" if none) */
} TCCellParams;

/* Load a set by name or path (see above). Errors: unknown set (lists the
   sets found), malformed JSON (file:line:col), missing or non-physical
   fields (names the section, field and value). Not collective. */
PETSC_EXTERN PetscErrorCode TCCellParamsLoad(const char name_or_path[], TCCellParams *p);
PETSC_EXTERN PetscErrorCode TCCellParamsDestroy(TCCellParams *p);
/* The directory of the bundled sets. */
PETSC_EXTERN PetscErrorCode TCCellParamsDir(char dir[], size_t len);
/* Open-circuit voltage OCP_p(y) - OCP_n(x) at temperature T. */
PETSC_EXTERN PetscReal TCCellParamsOCV(const TCCellParams *p, PetscReal x, PetscReal y,
                                       PetscReal T_K);

/* The open-circuit voltage at a state of charge on the set's stoichiometry
   window (0: sto at 0 %, 1: at 100 %), at T. */
PETSC_EXTERN PetscReal TCCellParamsOCVAtSOC(const TCCellParams *p, PetscReal soc, PetscReal T_K);
/* The initial_soc deck value (key names it in errors): a state of charge in
   [0, 1], or a rest voltage "4.18 V": the SOC whose open-circuit voltage at
   T_K is that voltage (as PyBaMM's initial_soc="4.18 V"; bisection on the
   window, to 1e-12). A voltage outside the set's cut-offs is an error; one
   within them but beyond the window's OCV range gives the window's end (0 or
   1). *from_voltage tells which form it was. Not collective. */
PETSC_EXTERN PetscErrorCode TCCellParamsParseSOC(const TCCellParams *p, const char key[],
                                                 const char text[], PetscReal T_K, PetscReal *soc,
                                                 PetscBool *from_voltage);

/*
 * Multiscale link: microstructure properties into a set.
 *
 * TCCellParamsApplyProps reads a props.json written by `tomocell tortuosity`
 * for the electrolyte (pore) phase of one region and sets that region's
 * electrolyte volume fraction eps = "volume_fraction" and transport
 * efficiency B = eps / tau with tau = "directions" -> dir -> "tau" (dir 'x',
 * 'y' or 'z'; z is the through-thickness axis of `tomocell microstructure`).
 * B multiplies both the electrolyte diffusivity and conductivity. In an
 * electrode the solid keeps the set's composition: the active fraction
 * scales with the solid fraction, eps_s = eps_s,set (1 - eps)/(1 - eps_set),
 * and a = 3 eps_s / R (the set's radius; the voxel surface area of the
 * file is not used, see README) -- unless active_label >= 0: then eps_s is
 * that label's fraction in the file's "label_fractions" (the same volume's
 * active phase, e.g. label 1 of `tomocell microstructure`). A non-percolating direction, a missing
 * or non-numeric key, a value out of range, a multi-phase (-diffusivity) file or malformed JSON are
 * PETSC_ERR_USER_INPUT errors naming the file and key. Not collective.
 */
typedef enum { TC_REGION_NEG, TC_REGION_SEP, TC_REGION_POS } TCCellRegion;
PETSC_EXTERN const char *const TCCellRegionNames[]; /* "negative electrode", ... */

typedef struct {
  PetscReal eps_old, eps;     /* electrolyte volume fraction before and after */
  PetscReal B_old, B;         /* transport efficiency before and after */
  PetscReal tau;              /* the file's tortuosity factor in the chosen direction */
  PetscReal eps_s_old, eps_s; /* active fraction before and after (electrodes) */
  PetscReal a_old, a;         /* surface area per volume, 1/m (electrodes) */
} TCCellPropsChange;

PETSC_EXTERN PetscErrorCode TCCellParamsApplyProps(TCCellParams *p, TCCellRegion region,
                                                   const char path[], char dir,
                                                   PetscInt active_label, TCCellPropsChange *chg);
/* Set a region's thickness, m (> 0). Nothing else changes: with
   TCCellParamsApplyProps the areal loading eps_s L is the caller's choice. */
PETSC_EXTERN PetscErrorCode TCCellParamsSetThickness(TCCellParams *p, TCCellRegion region,
                                                     PetscReal L_m);

/* The multiscale link from a deck: the deck keys (cell_props_n, _s, _p: a
   props.json of tomocell tortuosity per region; cell_props_direction,
   cell_props_active_label; cell_thickness_n_m, _s_m, _p_m) that tomocell cell
   and tomocell run share, and their application to a set: thicknesses
   first, then TCCellParamsApplyProps for each props file given. Every change
   a user might not expect (porosity, active fraction, loading) is printed on
   rank 0. rec (may be NULL) records what was applied, for a summary. */
#define TC_CELL_PROPS_KEYS                                                                         \
  {"cell_props_n",                                                                                 \
   TC_KEY_STRING,                                                                                  \
   NULL,                                                                                           \
   0,                                                                                              \
   0,                                                                                              \
   PETSC_FALSE,                                                                                    \
   NULL,                                                                                           \
   "props.json of tomocell tortuosity for the negative electrode's pores: eps and eps/tau",        \
   PETSC_TRUE},                                                                                    \
      {"cell_props_s",                                                                             \
       TC_KEY_STRING,                                                                              \
       NULL,                                                                                       \
       0,                                                                                          \
       0,                                                                                          \
       PETSC_FALSE,                                                                                \
       NULL,                                                                                       \
       "props.json for the separator's pores",                                                     \
       PETSC_TRUE},                                                                                \
      {"cell_props_p",                                                                             \
       TC_KEY_STRING,                                                                              \
       NULL,                                                                                       \
       0,                                                                                          \
       0,                                                                                          \
       PETSC_FALSE,                                                                                \
       NULL,                                                                                       \
       "props.json for the positive electrode's pores",                                            \
       PETSC_TRUE},                                                                                \
      {"cell_props_direction",                                                                     \
       TC_KEY_ENUM,                                                                                \
       "z",                                                                                        \
       0,                                                                                          \
       0,                                                                                          \
       PETSC_FALSE,                                                                                \
       "x|y|z",                                                                                    \
       "direction of the props files' tau used through the cell (z: through-thickness)",           \
       PETSC_FALSE},                                                                               \
      {"cell_props_active_label",                                                                  \
       TC_KEY_INT,                                                                                 \
       NULL,                                                                                       \
       0,                                                                                          \
       255,                                                                                        \
       PETSC_FALSE,                                                                                \
       NULL,                                                                                       \
       "take the electrodes' active fraction from this label's fraction in the props files "       \
       "(default: keep the set's solid composition)",                                              \
       PETSC_TRUE},                                                                                \
      {"cell_thickness_n_m",                                                                       \
       TC_KEY_REAL,                                                                                \
       NULL,                                                                                       \
       0,                                                                                          \
       1,                                                                                          \
       PETSC_TRUE,                                                                                 \
       NULL,                                                                                       \
       "negative electrode thickness, m (default: the set's)",                                     \
       PETSC_TRUE},                                                                                \
      {"cell_thickness_s_m",                                                                       \
       TC_KEY_REAL,                                                                                \
       NULL,                                                                                       \
       0,                                                                                          \
       1,                                                                                          \
       PETSC_TRUE,                                                                                 \
       NULL,                                                                                       \
       "separator thickness, m (default: the set's)",                                              \
       PETSC_TRUE},                                                                                \
  {                                                                                                \
    "cell_thickness_p_m", TC_KEY_REAL, NULL, 0, 1, PETSC_TRUE, NULL,                               \
        "positive electrode thickness, m (default: the set's)", PETSC_TRUE                         \
  }

typedef struct {
  PetscBool         thickness_set[3], props_set[3];
  PetscReal         L_old_m[3], L_m[3];
  char              props[3][PETSC_MAX_PATH_LEN];
  TCCellPropsChange chg[3];
  char              dir;
  PetscInt          active_label;
} TCCellMicrostructure;

PETSC_EXTERN PetscErrorCode TCCellParamsApplyDeck(TCDeck deck, TCCellParams *p,
                                                  TCCellMicrostructure *rec);
/* The run's ambient and initial temperatures from the deck: ambient_temperature
   (else the set's), initial_temperature (else the ambient when that is given,
   else the set's initial temperature, BPX "State"). One rule for tomocell
   cell, run and fit. */
PETSC_EXTERN PetscErrorCode TCCellParamsDeckTemperatures(TCDeck deck, const TCCellParams *p,
                                                         PetscReal *T_amb_K, PetscReal *T_init_K);
/* The record as members of the open JSON object (regions that changed). */
PETSC_EXTERN void TCCellMicrostructureWriteJSON(const TCCellMicrostructure *rec, TCJson *js);
