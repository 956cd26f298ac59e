/*
 * TCSpiral: a synthetic jelly roll -- the layer stack of a wound cylindrical
 * cell as an Archimedean spiral, with tab layouts and the defects seen in CT
 * of real cells.
 *
 * Stack, from the centre of the negative current collector outward, one turn:
 *   Cu | anode coating | separator | cathode coating | Al | cathode coating |
 *   separator | anode coating | (Cu of the next turn)
 * so the winding pitch is p = t_cu + t_al + 2 (t_neg + t_sep + t_pos) and the
 * Al centre line lies d_al = t_cu/2 + t_neg + t_sep + t_pos + t_al/2 outside
 * the Cu centre line of the same turn. Centre lines (unwrapped angle phi >= 0,
 * centre (cx, cy), counter-clockwise):
 *   r_f(phi) = r_mandrel + t_cu/2 + off_f + p phi / (2 pi) + D(phi) + G(phi)
 * with off_cu = 0, off_al = d_al, D a deformed core (mode-m ovalisation of
 * amplitude A decaying as exp(-phi / (2 pi n_decay)), Pegel et al. 2023
 * J. Power Sources 557, 232531 describe such collapsed inner windings) and G a
 * local gap (delamination): from turn k_gap outward every layer at angles
 * within a window is pushed out by g (a cos^2 bump), opening one gap.
 * The Cu foil (anode, longer by the overhang at both ends, as in real cells)
 * starts at phi = 0; the Al foil starts where the Cu arc length equals the
 * overhang and has the given length.
 *
 * Presets (LG M50 layer stack from Chen et al. 2020, J. Electrochem. Soc. 167
 * 080534, as in PyBaMM's Chen2020 parameter set): coatings 85.2 um (negative)
 * and 75.6 um (positive), separator 12 um, Cu 12 um, Al 16 um, electrode
 * height 65 mm, sigma_Cu 5.8411e7 S/m, sigma_Al 3.6914e7 S/m. Chen2020's
 * "electrode width" 1.58 m is the one-sided equivalent length (one coating
 * pair); a double-coated foil is half as long, 0.79 m, which with the pitch
 * 373.6 um and a 2 mm mandrel gives an outer radius of 9.9 mm -- it fits the
 * 21 mm can. 21700: length 0.79 m, mandrel 2 mm. 18650: same stack, electrode
 * height 58 mm, mandrel 1.5 mm, outer radius 8.6 mm (0.60 m of foil); these
 * 18650 dimensions are typical, not from a data sheet.
 *
 * Limits: the spiral is ideal apart from the listed defects; the tilt of a
 * rendered 3-D volume is a shear of the centre along z (exact for small angles).
 */
#pragma once
#include "io/deck.h"
#include <petscsys.h>

typedef struct _p_TCSpiral *TCSpiral;

typedef enum { TC_FOIL_CU = 0, TC_FOIL_AL = 1 } TCFoil;
PETSC_EXTERN const char *const TCFoilNames[]; /* "cu", "al" */

/* start, end: at the foil's inner or outer end; positions: centres along s;
   tabless: the whole edge; middle: one tab centred on the foil's length */
typedef enum {
  TC_TAB_START,
  TC_TAB_END,
  TC_TAB_POSITIONS,
  TC_TAB_TABLESS,
  TC_TAB_MIDDLE,
  TC_TAB_NLAYOUTS
} TCTabLayout;
PETSC_EXTERN const char *const TCTabLayouts[]; /* "start", "end", "positions", "tabless", "middle" */

#define TC_MAX_TABS 16

typedef struct {
  TCTabLayout layout;
  PetscInt    n;                /* positions: number of tabs */
  PetscReal   s_m[TC_MAX_TABS]; /* positions: tab centres along the foil, m */
  PetscReal   width_m;          /* tab width along s, m */
} TCTabs;

typedef struct {
  /* stack, m */
  PetscReal t_cu_m, t_al_m, t_neg_m, t_pos_m, t_sep_m;
  PetscReal sigma_cu_S_m, sigma_al_S_m; /* foil conductivities, S/m */
  PetscReal mandrel_radius_m;           /* inner surface of the first Cu turn */
  PetscReal length_m;                   /* Al foil length; 0: from outer_radius_m */
  PetscReal outer_radius_m;             /* used when length_m == 0: outer Al centre line */
  PetscReal height_m;
  PetscReal overhang_m; /* Cu beyond Al at both ends, along s */
  PetscReal centre_m[2];
  /* deformed core */
  PetscReal deform_amplitude_m, deform_decay_turns, deform_angle_rad;
  PetscInt  deform_mode;
  /* local gap */
  PetscReal gap_m, gap_angle_rad, gap_width_rad;
  PetscInt  gap_turn;
  /* missing coating on one foil (both faces) over [from, to] along its s */
  PetscInt  missing_foil; /* -1 none, else TCFoil */
  PetscReal missing_from_m, missing_to_m;
  TCTabs    tabs[2];
} TCSpiralParams;

/* Fill p with a preset: "21700" or "18650" (LG M50 stack, see above). Tabs:
   21700 the LG M50's (one Cu tab at the outer end of the negative foil, one
   Al tab at the middle of the positive foil, 5 mm wide; docs/geometry.md,
   "Tab layouts"); 18650 Cu at the outer end, Al at the inner end. */
PETSC_EXTERN PetscErrorCode TCSpiralParamsPreset(const char name[], TCSpiralParams *p);

PETSC_EXTERN PetscErrorCode TCSpiralCreate(MPI_Comm comm, TCSpiral *sp);
PETSC_EXTERN PetscErrorCode TCSpiralSetParams(TCSpiral sp, const TCSpiralParams *p);
PETSC_EXTERN PetscErrorCode TCSpiralGetParams(TCSpiral sp, const TCSpiralParams **p);
/* Collective (same result everywhere). Tabulates arc length, finds foil ends,
   and checks the geometry: windings may not cross (a deformation or gap
   larger than the layer spacing is a user-input error naming the key). */
PETSC_EXTERN PetscErrorCode TCSpiralSetUp(TCSpiral sp);
PETSC_EXTERN PetscErrorCode TCSpiralDestroy(TCSpiral *sp);

/* After SetUp. */
PETSC_EXTERN PetscReal TCSpiralPitch(TCSpiral sp);                  /* m */
PETSC_EXTERN PetscReal TCSpiralFoilLength(TCSpiral sp, TCFoil f);   /* m */
PETSC_EXTERN PetscReal TCSpiralFoilWindings(TCSpiral sp, TCFoil f); /* turns */
PETSC_EXTERN void TCSpiralFoilPhiRange(TCSpiral sp, TCFoil f, PetscReal *phi0, PetscReal *phi1);
/* Radius of foil f's centre line at unwrapped angle phi (no range check), m. */
PETSC_EXTERN PetscReal TCSpiralRadius(TCSpiral sp, TCFoil f, PetscReal phi);
/* Point at arc length s (clamped to the foil) -> x, y (m, with the centre
   offset), and its unwrapped angle. */
PETSC_EXTERN void TCSpiralPointAt(TCSpiral sp, TCFoil f, PetscReal s, PetscReal xy[2],
                                  PetscReal *phi);
/* Arc length of foil f at unwrapped angle phi (clamped), m. */
PETSC_EXTERN PetscReal TCSpiralArcAt(TCSpiral sp, TCFoil f, PetscReal phi);
/* Is foil f coated (both faces) at arc length s? */
PETSC_EXTERN PetscBool TCSpiralCoated(TCSpiral sp, TCFoil f, PetscReal s);
/* Unsigned normal distance (m) from point (x, y) (centre already removed,
   polar rho, theta) to foil f's centre line, and the arc length of the
   nearest point; PETSC_MAX_REAL when the foil has no turn near. */
PETSC_EXTERN PetscReal TCSpiralDistance(TCSpiral sp, TCFoil f, PetscReal rho, PetscReal theta,
                                        PetscReal *s);
/* Sample foil f's centre line every ds_m (>= 2 points) into new arrays
   (PetscFree both); points include the centre offset. */
PETSC_EXTERN PetscErrorCode TCSpiralSample(TCSpiral sp, TCFoil f, PetscReal ds_m, PetscInt *n,
                                           PetscReal **x, PetscReal **y);

/* Set a tab layout; positions is a comma-separated list of arc positions in
   metres (layout "positions" only). key names the deck key in messages. */
PETSC_EXTERN PetscErrorCode TCTabsSet(TCTabs *t, TCTabLayout layout, const char positions[],
                                      PetscReal width_m, const char key[]);

/* The deck keys of the tab layouts (the same in tomocell geometry and trace),
   for a TCKey table, and reading them into tabs[0] (Cu) and tabs[1] (Al):
   a key the deck does not set leaves tabs as they are (a spiral: the
   preset's; a traced roll: TCTabsDefaults). */
#define TC_TAB_KEYS                                                                                \
  {"tab_cu",                                                                                       \
   TC_KEY_ENUM,                                                                                    \
   NULL,                                                                                           \
   0,                                                                                              \
   0,                                                                                              \
   PETSC_FALSE,                                                                                    \
   "start|end|positions|tabless|middle",                                                           \
   "Cu tab layout (start = inner end; default: the preset's, end; traced rolls end)",             \
   PETSC_TRUE},                                                                                    \
      {"tab_cu_positions_m",                                                                       \
       TC_KEY_STRING,                                                                              \
       NULL,                                                                                       \
       0,                                                                                          \
       0,                                                                                          \
       PETSC_FALSE,                                                                                \
       NULL,                                                                                       \
       "Cu tab centres along s, comma-separated, m",                                               \
       PETSC_TRUE},                                                                                \
      {"tab_al",        TC_KEY_ENUM, NULL, 0, 0, PETSC_FALSE, "start|end|positions|tabless|middle", \
       "Al tab layout (default: the preset's, 21700 middle, 18650 start; traced rolls start)",    \
       PETSC_TRUE},                                                                                \
      {"tab_al_positions_m",                                                                       \
       TC_KEY_STRING,                                                                              \
       NULL,                                                                                       \
       0,                                                                                          \
       0,                                                                                          \
       PETSC_FALSE,                                                                                \
       NULL,                                                                                       \
       "Al tab centres along s, comma-separated, m",                                               \
       PETSC_TRUE},                                                                                \
  {                                                                                                \
    "tab_width_m", TC_KEY_REAL, "5e-3", 0, PETSC_MAX_REAL, PETSC_TRUE, NULL,                       \
        "tab width along s, m", PETSC_FALSE                                                        \
  }
PETSC_EXTERN PetscErrorCode TCTabsFromDeck(TCDeck deck, TCTabs tabs[2]);
/* The tabs of a roll without a preset (traced): Cu at the outer end, Al at the
   inner end, 5 mm wide. */
PETSC_EXTERN void TCTabsDefaults(TCTabs tabs[2]);

/* The deck keys of a synthetic jelly roll (preset, spiral_*, tab_*, network_ds_m,
   network_nz), shared by tomocell geometry and tomocell run; read with
   TCSpiralParamsFromDeck. */
#define TC_SPIRAL_KEYS \
    {"preset", TC_KEY_ENUM, "21700", 0, 0, PETSC_FALSE, "21700|18650", \
     "layer stack and size preset (LG M50 stack, Chen2020); the spiral keys override it", \
     PETSC_FALSE}, \
    {"spiral_length_m", TC_KEY_REAL, NULL, 0, PETSC_MAX_REAL, PETSC_FALSE, NULL, \
     "Al foil length, m (0: from spiral_outer_radius_m)", PETSC_TRUE}, \
    {"spiral_outer_radius_m", TC_KEY_REAL, NULL, 0, PETSC_MAX_REAL, PETSC_FALSE, NULL, \
     "outer Al centre-line radius when spiral_length_m is 0, m", PETSC_TRUE}, \
    {"spiral_mandrel_radius_m", TC_KEY_REAL, NULL, 0, PETSC_MAX_REAL, PETSC_TRUE, NULL, \
     "inner surface of the first Cu turn, m", PETSC_TRUE}, \
    {"spiral_height_m", TC_KEY_REAL, NULL, 0, PETSC_MAX_REAL, PETSC_TRUE, NULL, "electrode height, m", \
     PETSC_TRUE}, \
    {"spiral_cu_thickness_m", TC_KEY_REAL, NULL, 0, PETSC_MAX_REAL, PETSC_TRUE, NULL, "Cu foil, m", \
     PETSC_TRUE}, \
    {"spiral_al_thickness_m", TC_KEY_REAL, NULL, 0, PETSC_MAX_REAL, PETSC_TRUE, NULL, "Al foil, m", \
     PETSC_TRUE}, \
    {"spiral_neg_thickness_m", TC_KEY_REAL, NULL, 0, PETSC_MAX_REAL, PETSC_FALSE, NULL, \
     "negative coating (one side), m", PETSC_TRUE}, \
    {"spiral_pos_thickness_m", TC_KEY_REAL, NULL, 0, PETSC_MAX_REAL, PETSC_FALSE, NULL, \
     "positive coating (one side), m", PETSC_TRUE}, \
    {"spiral_sep_thickness_m", TC_KEY_REAL, NULL, 0, PETSC_MAX_REAL, PETSC_FALSE, NULL, "separator, m", \
     PETSC_TRUE}, \
    {"spiral_cu_sigma_S_m", TC_KEY_REAL, NULL, 0, PETSC_MAX_REAL, PETSC_TRUE, NULL, "Cu conductivity, S/m", \
     PETSC_TRUE}, \
    {"spiral_al_sigma_S_m", TC_KEY_REAL, NULL, 0, PETSC_MAX_REAL, PETSC_TRUE, NULL, "Al conductivity, S/m", \
     PETSC_TRUE}, \
    {"spiral_overhang_m", TC_KEY_REAL, NULL, 0, PETSC_MAX_REAL, PETSC_FALSE, NULL, \
     "Cu (anode) beyond the Al at each end, along s, m", PETSC_TRUE}, \
    {"spiral_centre_x_m", TC_KEY_REAL, "0", -1, 1, PETSC_FALSE, NULL, \
     "off-centre core: spiral centre x relative to the can axis, m", PETSC_FALSE}, \
    {"spiral_centre_y_m", TC_KEY_REAL, "0", -1, 1, PETSC_FALSE, NULL, "spiral centre y, m", \
     PETSC_FALSE}, \
    {"spiral_deform_amplitude_m", TC_KEY_REAL, "0", -1, 1, PETSC_FALSE, NULL, \
     "deformed core: radial amplitude at the inner end, m", PETSC_FALSE}, \
    {"spiral_deform_mode", TC_KEY_INT, "2", 1, 16, PETSC_FALSE, NULL, \
     "deformed core: lobes (2 = oval)", PETSC_FALSE}, \
    {"spiral_deform_decay_turns", TC_KEY_REAL, "2", 0, PETSC_MAX_REAL, PETSC_FALSE, NULL, \
     "deformed core: e-folding in turns (0 = no decay)", PETSC_FALSE}, \
    {"spiral_deform_angle_rad", TC_KEY_REAL, "0", -100, 100, PETSC_FALSE, NULL, \
     "deformed core: orientation, rad", PETSC_FALSE}, \
    {"spiral_gap_m", TC_KEY_REAL, "0", 0, PETSC_MAX_REAL, PETSC_FALSE, NULL, \
     "local gap (delamination) width, m", PETSC_FALSE}, \
    {"spiral_gap_turn", TC_KEY_INT, "3", 0, 1e6, PETSC_FALSE, NULL, \
     "local gap: opens outside this turn", PETSC_FALSE}, \
    {"spiral_gap_angle_rad", TC_KEY_REAL, "0", -100, 100, PETSC_FALSE, NULL, \
     "local gap: centre angle, rad", PETSC_FALSE}, \
    {"spiral_gap_width_rad", TC_KEY_REAL, "0.5", 0, 6.3, PETSC_TRUE, NULL, \
     "local gap: angular width, rad", PETSC_FALSE}, \
    {"spiral_missing_foil", TC_KEY_ENUM, "none", 0, 0, PETSC_FALSE, "none|cu|al", \
     "foil with a missing coating segment", PETSC_FALSE}, \
    {"spiral_missing_from_m", TC_KEY_REAL, "0", 0, PETSC_MAX_REAL, PETSC_FALSE, NULL, \
     "missing coating from arc length, m", PETSC_FALSE}, \
    {"spiral_missing_to_m", TC_KEY_REAL, "0", 0, PETSC_MAX_REAL, PETSC_FALSE, NULL, \
     "missing coating to arc length, m", PETSC_FALSE}, \
    TC_TAB_KEYS, \
    {"network_ds_m", TC_KEY_REAL, "1e-3", 0, PETSC_MAX_REAL, PETSC_TRUE, NULL, "node spacing along s, m", \
     PETSC_FALSE}, \
    {"network_nz", TC_KEY_INT, "11", 1, 1e6, PETSC_FALSE, NULL, "node layers over the height", \
     PETSC_FALSE}
PETSC_EXTERN PetscErrorCode TCSpiralParamsFromDeck(TCDeck deck, TCSpiralParams *p, PetscReal *ds_m,
                                                  PetscInt *nz);
