/*
 * Synthetic jelly roll (see spiral.h for the model and its sources).
 *
 * Arc length is tabulated per foil by the trapezoidal rule on
 * ds = sqrt(r^2 + r'^2) dphi with 8192 steps per turn (relative error of the
 * length ~1e-8 for the smooth r(phi) used here), and inverted by bisection
 * of the table plus linear interpolation.
 */
#include "mesh/spiral.h"
#include <math.h>
#include <stddef.h>

const char *const TCFoilNames[]  = {"cu", "al"};
const char *const TCTabLayouts[] = {"start", "end", "positions", "tabless", "middle"};
_Static_assert(sizeof(TCTabLayouts) / sizeof(TCTabLayouts[0]) == TC_TAB_NLAYOUTS,
               "a name for every tab layout");

#define TC_SPIRAL_STEPS_PER_TURN 8192

struct _p_TCSpiral {
  MPI_Comm       comm;
  TCSpiralParams p;
  PetscReal      pitch, d_al;
  PetscReal      phi0[2], phi1[2]; /* foil ranges */
  PetscInt       ntab;             /* table size */
  PetscReal      dphi;
  PetscReal     *s[2];  /* s[f][k]: arc length of foil f's centre line from phi = 0 */
  PetscReal      s0[2]; /* arc length at the foil's start */
  PetscBool      setup;
};

PetscErrorCode TCSpiralParamsPreset(const char name[], TCSpiralParams *p)
{
  PetscBool is21, is18;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(p, sizeof(*p)));
  PetscCall(PetscStrcmp(name, "21700", &is21));
  PetscCall(PetscStrcmp(name, "18650", &is18));
  PetscCheck(is21 || is18, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
             "unknown spiral preset '%s'; presets are 21700 and 18650", name);
  /* LG M50 stack, Chen et al. 2020 (PyBaMM Chen2020) */
  p->t_neg_m      = 85.2e-6;
  p->t_pos_m      = 75.6e-6;
  p->t_sep_m      = 12e-6;
  p->t_cu_m       = 12e-6;
  p->t_al_m       = 16e-6;
  p->sigma_cu_S_m = 5.8411e7;
  p->sigma_al_S_m = 3.6914e7;
  if (is21) {
    p->height_m         = 0.065;
    p->mandrel_radius_m = 2.0e-3;
    p->length_m         = 0.79; /* 1.58 m one-sided equivalent / 2 */
  } else {
    p->height_m         = 0.058;
    p->mandrel_radius_m = 1.5e-3;
    p->length_m         = 0;
    p->outer_radius_m   = 8.6e-3;
  }
  p->overhang_m         = 1e-3;
  p->missing_foil       = -1;
  p->deform_mode        = 2;
  p->deform_decay_turns = 2;
  p->gap_width_rad      = 0.5;
  TCTabsDefaults(p->tabs);
  /* the LG M50: the positive tab at the middle of the Al foil (docs/geometry.md) */
  if (is21) p->tabs[TC_FOIL_AL].layout = TC_TAB_MIDDLE;
  PetscFunctionReturn(0);
}

PetscErrorCode TCSpiralCreate(MPI_Comm comm, TCSpiral *sp)
{
  PetscFunctionBeginUser;
  PetscCall(PetscNew(sp));
  (*sp)->comm = comm;
  PetscCall(TCSpiralParamsPreset("21700", &(*sp)->p));
  PetscFunctionReturn(0);
}

PetscErrorCode TCSpiralSetParams(TCSpiral sp, const TCSpiralParams *p)
{
  PetscFunctionBeginUser;
  sp->p     = *p;
  sp->setup = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode TCSpiralGetParams(TCSpiral sp, const TCSpiralParams **p)
{
  PetscFunctionBeginUser;
  *p = &sp->p;
  PetscFunctionReturn(0);
}

PetscErrorCode TCSpiralDestroy(TCSpiral *sp)
{
  PetscFunctionBeginUser;
  if (!*sp) PetscFunctionReturn(0);
  PetscCall(PetscFree((*sp)->s[0]));
  PetscCall(PetscFree((*sp)->s[1]));
  PetscCall(PetscFree(*sp));
  PetscFunctionReturn(0);
}

PetscReal TCSpiralRadius(TCSpiral sp, TCFoil f, PetscReal phi)
{
  const TCSpiralParams *p = &sp->p;
  PetscReal r = p->mandrel_radius_m + 0.5 * p->t_cu_m + (f == TC_FOIL_AL ? sp->d_al : 0) +
                sp->pitch * phi / (2 * PETSC_PI);
  if (p->deform_amplitude_m != 0) {
    PetscReal decay =
        p->deform_decay_turns > 0 ? exp(-phi / (2 * PETSC_PI * p->deform_decay_turns)) : 1.0;
    r += p->deform_amplitude_m * cos(p->deform_mode * (phi - p->deform_angle_rad)) * decay;
  }
  if (p->gap_m != 0 &&
      phi >= 2 * PETSC_PI * p->gap_turn + p->gap_angle_rad - 0.5 * p->gap_width_rad) {
    PetscReal d = fmod(phi - p->gap_angle_rad, 2 * PETSC_PI);
    if (d > PETSC_PI) d -= 2 * PETSC_PI;
    if (d < -PETSC_PI) d += 2 * PETSC_PI;
    if (PetscAbsReal(d) < 0.5 * p->gap_width_rad) {
      PetscReal c = cos(PETSC_PI * d / p->gap_width_rad);
      r += p->gap_m * c * c;
    }
  }
  return r;
}

static PetscReal TCSpiralDRadius(TCSpiral sp, TCFoil f, PetscReal phi)
{
  const PetscReal h = 1e-5;
  return (TCSpiralRadius(sp, f, phi + h) - TCSpiralRadius(sp, f, phi - h)) / (2 * h);
}

/* phi where the table s[f] reaches s (clamped to the table) */
static PetscReal TCSpiralPhiOfArc(TCSpiral sp, TCFoil f, PetscReal s)
{
  const PetscReal *t  = sp->s[f];
  PetscInt         lo = 0, hi = sp->ntab - 1;
  if (s <= t[0]) return 0;
  if (s >= t[hi]) return hi * sp->dphi;
  while (hi - lo > 1) {
    PetscInt mid = (lo + hi) / 2;
    if (t[mid] <= s)
      lo = mid;
    else
      hi = mid;
  }
  return (lo + (s - t[lo]) / (t[hi] - t[lo])) * sp->dphi;
}

static PetscReal TCSpiralArcOfPhi(TCSpiral sp, TCFoil f, PetscReal phi)
{
  PetscReal u = phi / sp->dphi;
  PetscInt  k;
  if (u <= 0) return sp->s[f][0];
  if (u >= sp->ntab - 1) return sp->s[f][sp->ntab - 1];
  k = (PetscInt)u;
  return sp->s[f][k] + (u - k) * (sp->s[f][k + 1] - sp->s[f][k]);
}

PetscErrorCode TCSpiralSetUp(TCSpiral sp)
{
  TCSpiralParams *p = &sp->p;
  PetscReal       r0, Lest, phimax;

  PetscFunctionBeginUser;
  PetscCheck(p->t_cu_m > 0 && p->t_al_m > 0 && p->t_neg_m >= 0 && p->t_pos_m >= 0 &&
                 p->t_sep_m >= 0,
             sp->comm, PETSC_ERR_USER_INPUT, "spiral layer thicknesses must be positive");
  PetscCheck(p->mandrel_radius_m > 0, sp->comm, PETSC_ERR_USER_INPUT,
             "spiral_mandrel_radius_m must be positive (got %g)", (double)p->mandrel_radius_m);
  sp->pitch = p->t_cu_m + p->t_al_m + 2 * (p->t_neg_m + p->t_sep_m + p->t_pos_m);
  sp->d_al  = 0.5 * p->t_cu_m + p->t_neg_m + p->t_sep_m + p->t_pos_m + 0.5 * p->t_al_m;
  r0        = p->mandrel_radius_m;
  if (p->length_m > 0)
    Lest = p->length_m;
  else {
    PetscCheck(p->outer_radius_m > r0 + sp->pitch, sp->comm, PETSC_ERR_USER_INPUT,
               "spiral_outer_radius_m (%g m) must exceed the mandrel radius plus one pitch (%g m) "
               "when spiral_length_m is 0",
               (double)p->outer_radius_m, (double)(r0 + sp->pitch));
    Lest = PETSC_PI * (p->outer_radius_m * p->outer_radius_m - r0 * r0) / sp->pitch;
  }
  /* turns needed for Lest at mean radius, with margin for defects and the overhang */
  phimax   = 2 * PETSC_PI * (sqrt(Lest * sp->pitch / PETSC_PI + r0 * r0) - r0) / sp->pitch;
  phimax   = 1.3 * phimax + 8 * PETSC_PI + 4 * PETSC_PI * (p->overhang_m + p->gap_m) / r0;
  sp->dphi = 2 * PETSC_PI / TC_SPIRAL_STEPS_PER_TURN;
  sp->ntab = (PetscInt)(phimax / sp->dphi) + 2;
  PetscCall(PetscFree(sp->s[0]));
  PetscCall(PetscFree(sp->s[1]));
  for (int f = 0; f < 2; f++) {
    PetscReal prev;
    PetscCall(PetscMalloc1(sp->ntab, &sp->s[f]));
    sp->s[f][0] = 0;
    {
      PetscReal r = TCSpiralRadius(sp, (TCFoil)f, 0), dr = TCSpiralDRadius(sp, (TCFoil)f, 0);
      prev = sqrt(r * r + dr * dr);
    }
    for (PetscInt k = 1; k < sp->ntab; k++) {
      PetscReal phi = k * sp->dphi, r = TCSpiralRadius(sp, (TCFoil)f, phi);
      PetscReal dr = TCSpiralDRadius(sp, (TCFoil)f, phi), cur = sqrt(r * r + dr * dr);
      sp->s[f][k] = sp->s[f][k - 1] + 0.5 * (prev + cur) * sp->dphi;
      prev        = cur;
    }
  }
  /* foil ranges: Cu from phi 0; Al from where the Cu has run the overhang */
  sp->phi0[TC_FOIL_CU] = 0;
  sp->phi0[TC_FOIL_AL] = TCSpiralPhiOfArc(sp, TC_FOIL_CU, p->overhang_m);
  sp->s0[TC_FOIL_AL]   = TCSpiralArcOfPhi(sp, TC_FOIL_AL, sp->phi0[TC_FOIL_AL]);
  sp->s0[TC_FOIL_CU]   = 0;
  if (p->length_m > 0)
    sp->phi1[TC_FOIL_AL] = TCSpiralPhiOfArc(sp, TC_FOIL_AL, sp->s0[TC_FOIL_AL] + p->length_m);
  else
    sp->phi1[TC_FOIL_AL] =
        2 * PETSC_PI * (p->outer_radius_m - r0 - 0.5 * p->t_cu_m - sp->d_al) / sp->pitch;
  PetscCheck(
      sp->phi1[TC_FOIL_AL] > sp->phi0[TC_FOIL_AL] + 2 * PETSC_PI &&
              sp->phi1[TC_FOIL_AL]<
                  (sp->ntab - 1) * sp->dphi - 2 * PETSC_PI, sp->comm, PETSC_ERR_USER_INPUT,
                  "spiral: the Al foil must make at least one turn (%s = %.4g m is too small)",
                  p->length_m> 0
          ? "spiral_length_m"
          : "spiral_outer_radius_m",
      (double)(p->length_m > 0 ? p->length_m : p->outer_radius_m));
  sp->phi1[TC_FOIL_CU] = TCSpiralPhiOfArc(
      sp, TC_FOIL_CU, TCSpiralArcOfPhi(sp, TC_FOIL_CU, sp->phi1[TC_FOIL_AL]) + p->overhang_m);
  /* windings may not cross: Al(phi) to Cu(phi + 2 pi) and Cu(phi) to Al(phi) */
  for (PetscReal phi = 0; phi < sp->phi1[TC_FOIL_CU]; phi += sp->dphi * 8) {
    PetscReal gap_out =
        TCSpiralRadius(sp, TC_FOIL_CU, phi + 2 * PETSC_PI) - TCSpiralRadius(sp, TC_FOIL_AL, phi);
    PetscCheck(gap_out > 0.5 * (p->t_cu_m + p->t_al_m), sp->comm, PETSC_ERR_USER_INPUT,
               "spiral: windings cross at turn %d (angle %.2f rad): the core deformation "
               "(spiral_deform_amplitude_m = %g m) is too large for the layer spacing",
               (int)(phi / (2 * PETSC_PI)), fmod(phi, 2 * PETSC_PI), (double)p->deform_amplitude_m);
  }
  PetscCheck(p->gap_m >= 0, sp->comm, PETSC_ERR_USER_INPUT, "spiral_gap_m must be >= 0 (got %g)",
             (double)p->gap_m);
  sp->setup = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscReal TCSpiralPitch(TCSpiral sp)
{
  return sp->pitch;
}

PetscReal TCSpiralFoilLength(TCSpiral sp, TCFoil f)
{
  return TCSpiralArcOfPhi(sp, f, sp->phi1[f]) - sp->s0[f];
}

PetscReal TCSpiralFoilWindings(TCSpiral sp, TCFoil f)
{
  return (sp->phi1[f] - sp->phi0[f]) / (2 * PETSC_PI);
}

void TCSpiralFoilPhiRange(TCSpiral sp, TCFoil f, PetscReal *phi0, PetscReal *phi1)
{
  *phi0 = sp->phi0[f];
  *phi1 = sp->phi1[f];
}

PetscReal TCSpiralArcAt(TCSpiral sp, TCFoil f, PetscReal phi)
{
  phi = PetscMin(PetscMax(phi, sp->phi0[f]), sp->phi1[f]);
  return TCSpiralArcOfPhi(sp, f, phi) - sp->s0[f];
}

void TCSpiralPointAt(TCSpiral sp, TCFoil f, PetscReal s, PetscReal xy[2], PetscReal *phi)
{
  PetscReal ph = TCSpiralPhiOfArc(sp, f, sp->s0[f] + s), r;
  ph           = PetscMin(PetscMax(ph, sp->phi0[f]), sp->phi1[f]);
  r            = TCSpiralRadius(sp, f, ph);
  xy[0]        = sp->p.centre_m[0] + r * cos(ph);
  xy[1]        = sp->p.centre_m[1] + r * sin(ph);
  if (phi) *phi = ph;
}

PetscBool TCSpiralCoated(TCSpiral sp, TCFoil f, PetscReal s)
{
  if (sp->p.missing_foil != (PetscInt)f) return PETSC_TRUE;
  return (PetscBool)(s < sp->p.missing_from_m || s > sp->p.missing_to_m);
}

PetscReal TCSpiralDistance(TCSpiral sp, TCFoil f, PetscReal rho, PetscReal theta, PetscReal *s)
{
  PetscReal best = PETSC_MAX_REAL, bphi = 0, br = 0, dr;
  PetscReal base = TCSpiralRadius(sp, f, theta);
  PetscInt  k0   = (PetscInt)floor((rho - base) / sp->pitch);

  /* nearest turn radially, then the normal distance |rho - r| cos(alpha) with
     tan(alpha) = r'/r the angle between the centre line and the circle */
  for (PetscInt k = k0 - 1; k <= k0 + 2; k++) {
    PetscReal phi = theta + 2 * PETSC_PI * k, r;
    if (phi < sp->phi0[f] || phi > sp->phi1[f]) continue;
    r = TCSpiralRadius(sp, f, phi);
    if (PetscAbsReal(rho - r) < best) {
      best = PetscAbsReal(rho - r);
      bphi = phi;
      br   = r;
    }
  }
  if (best == PETSC_MAX_REAL) return best;
  dr = TCSpiralDRadius(sp, f, bphi);
  if (s) *s = TCSpiralArcOfPhi(sp, f, bphi) - sp->s0[f];
  return best * br / sqrt(br * br + dr * dr);
}

PetscErrorCode TCSpiralSample(TCSpiral sp, TCFoil f, PetscReal ds_m, PetscInt *n, PetscReal **x,
                              PetscReal **y)
{
  PetscReal L = TCSpiralFoilLength(sp, f);
  PetscInt  m = PetscMax(2, (PetscInt)ceil(L / ds_m) + 1);

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(m, x));
  PetscCall(PetscMalloc1(m, y));
  for (PetscInt i = 0; i < m; i++) {
    PetscReal xy[2];
    TCSpiralPointAt(sp, f, L * i / (m - 1), xy, NULL);
    (*x)[i] = xy[0];
    (*y)[i] = xy[1];
  }
  *n = m;
  PetscFunctionReturn(0);
}

PetscErrorCode TCTabsSet(TCTabs *t, TCTabLayout layout, const char positions[], PetscReal width_m,
                         const char key[])
{
  PetscFunctionBeginUser;
  t->layout  = layout;
  t->width_m = width_m;
  t->n       = 0;
  if (layout != TC_TAB_POSITIONS) PetscFunctionReturn(0);
  PetscCheck(positions && positions[0], PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
             "tab layout 'positions' needs %s (comma-separated arc positions in m)", key);
  {
    const char *c = positions;
    while (*c) {
      char  *end;
      double v = strtod(c, &end);
      PetscCheck(end != c && v >= 0, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
                 "%s = '%s': expected comma-separated non-negative numbers (m)", key, positions);
      PetscCheck(t->n < TC_MAX_TABS, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT, "%s: at most %d tabs",
                 key, TC_MAX_TABS);
      t->s_m[t->n++] = v;
      c              = end;
      while (*c == ',' || *c == ' ') c++;
    }
  }
  PetscFunctionReturn(0);
}

void TCTabsDefaults(TCTabs tabs[2])
{
  for (int f = 0; f < 2; f++) {
    tabs[f].layout  = f == TC_FOIL_CU ? TC_TAB_END : TC_TAB_START;
    tabs[f].width_m = 5e-3;
    tabs[f].n       = 0;
  }
}

PetscErrorCode TCTabsFromDeck(TCDeck deck, TCTabs tabs[2])
{
  const char *foil[2] = {"cu", "al"};

  PetscFunctionBeginUser;
  for (int f = 0; f < 2; f++) {
    char      key[32], buf[1024];
    PetscInt  layout = tabs[f].layout;
    PetscReal width  = tabs[f].width_m;
    PetscBool set, wset;
    PetscCall(TCDeckIsSet(deck, "tab_width_m", &wset));
    if (wset) PetscCall(TCDeckGetReal(deck, "tab_width_m", &width));
    snprintf(key, sizeof(key), "tab_%s", foil[f]);
    PetscCall(TCDeckIsSet(deck, key, &set));
    if (set) PetscCall(TCDeckGetEnum(deck, key, &layout));
    snprintf(key, sizeof(key), "tab_%s_positions_m", foil[f]);
    PetscCall(TCDeckGetString(deck, key, buf, sizeof(buf), &set));
    if (layout == TC_TAB_POSITIONS && !set && tabs[f].layout == TC_TAB_POSITIONS) {
      tabs[f].width_m = width; /* the positions given before (a file's) stand */
      continue;
    }
    PetscCall(TCTabsSet(&tabs[f], (TCTabLayout)layout, set ? buf : NULL, width, key));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCSpiralParamsFromDeck(TCDeck deck, TCSpiralParams *sp, PetscReal *ds_m,
                                      PetscInt *nz)
{
  static const struct {
    const char *key;
    size_t      off;
  } reals[] = {
#define SPR(k, f) {k, offsetof(TCSpiralParams, f)}
      SPR("spiral_length_m", length_m),
      SPR("spiral_outer_radius_m", outer_radius_m),
      SPR("spiral_mandrel_radius_m", mandrel_radius_m),
      SPR("spiral_height_m", height_m),
      SPR("spiral_cu_thickness_m", t_cu_m),
      SPR("spiral_al_thickness_m", t_al_m),
      SPR("spiral_neg_thickness_m", t_neg_m),
      SPR("spiral_pos_thickness_m", t_pos_m),
      SPR("spiral_sep_thickness_m", t_sep_m),
      SPR("spiral_cu_sigma_S_m", sigma_cu_S_m),
      SPR("spiral_al_sigma_S_m", sigma_al_S_m),
      SPR("spiral_overhang_m", overhang_m),
      SPR("spiral_centre_x_m", centre_m[0]),
      SPR("spiral_centre_y_m", centre_m[1]),
      SPR("spiral_deform_amplitude_m", deform_amplitude_m),
      SPR("spiral_deform_decay_turns", deform_decay_turns),
      SPR("spiral_deform_angle_rad", deform_angle_rad),
      SPR("spiral_gap_m", gap_m),
      SPR("spiral_gap_angle_rad", gap_angle_rad),
      SPR("spiral_gap_width_rad", gap_width_rad),
      SPR("spiral_missing_from_m", missing_from_m),
      SPR("spiral_missing_to_m", missing_to_m),
#undef SPR
  };
  PetscInt e;

  PetscFunctionBeginUser;
  PetscCall(TCDeckGetEnum(deck, "preset", &e));
  PetscCall(TCSpiralParamsPreset(e == 0 ? "21700" : "18650", sp));
  /* keys without a default leave the preset's value */
  for (size_t q = 0; q < sizeof(reals) / sizeof(reals[0]); q++)
    PetscCall(TCDeckGetReal(deck, reals[q].key, (PetscReal *)((char *)sp + reals[q].off)));
  PetscCall(TCDeckGetInt(deck, "spiral_deform_mode", &sp->deform_mode));
  PetscCall(TCDeckGetInt(deck, "spiral_gap_turn", &sp->gap_turn));
  PetscCall(TCDeckGetEnum(deck, "spiral_missing_foil", &e));
  sp->missing_foil = e - 1;
  PetscCall(TCTabsFromDeck(deck, sp->tabs));
  PetscCall(TCDeckGetReal(deck, "network_ds_m", ds_m));
  PetscCall(TCDeckGetInt(deck, "network_nz", nz));
  PetscFunctionReturn(0);
}
