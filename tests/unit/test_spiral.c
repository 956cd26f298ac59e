/*
 * Unit checks of the spiral generator (mesh/spiral.h):
 *  - arc length of the ideal Archimedean spiral r = a + b phi against the
 *    closed form s = [r sqrt(r^2 + b^2) + b^2 asinh(r / b)] / (2 b) between the
 *    ends; trapezoidal tabulation at 8192 steps/turn -> 1e-7 relative;
 *  - the 21700 preset: 0.79 m of Al on a 2 mm mandrel ends near the 9.9 mm
 *    estimated from the area balance L p = pi (R^2 - r0^2) (within 2 %: the
 *    estimate ignores the overhang and the Al offset);
 *  - a deformation that makes windings cross is refused with a message.
 */
#include "mesh/spiral.h"
#include "src/tc.h"
#include <math.h>

static PetscReal ClosedForm(PetscReal r, PetscReal b)
{
  return (r * sqrt(r * r + b * b) + b * b * asinh(r / b)) / (2 * b);
}

int main(int argc, char **argv)
{
  TCSpiral       sp;
  TCSpiralParams p;
  PetscReal      b, phi0, phi1, exact, got, R;
  PetscErrorCode ierr;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(TCInitialize());
  PetscCall(TCSpiralParamsPreset("21700", &p));
  p.overhang_m = 0;
  p.length_m   = 0.3;
  PetscCall(TCSpiralCreate(PETSC_COMM_WORLD, &sp));
  PetscCall(TCSpiralSetParams(sp, &p));
  PetscCall(TCSpiralSetUp(sp));
  b = TCSpiralPitch(sp) / (2 * PETSC_PI);
  for (int f = 0; f < 2; f++) {
    TCSpiralFoilPhiRange(sp, (TCFoil)f, &phi0, &phi1);
    exact = ClosedForm(TCSpiralRadius(sp, (TCFoil)f, phi1), b) -
            ClosedForm(TCSpiralRadius(sp, (TCFoil)f, phi0), b);
    got = TCSpiralFoilLength(sp, (TCFoil)f);
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s: length %.10f m, closed form %.10f m, rel %.2e\n",
                          TCFoilNames[f], (double)got, (double)exact,
                          (double)(PetscAbsReal(got - exact) / exact)));
    PetscCheck(PetscAbsReal(got - exact) <= 1e-7 * exact, PETSC_COMM_WORLD, PETSC_ERR_PLIB,
               "spiral length off the closed form");
  }
  PetscCall(TCSpiralDestroy(&sp));

  PetscCall(TCSpiralParamsPreset("21700", &p));
  PetscCall(TCSpiralCreate(PETSC_COMM_WORLD, &sp));
  PetscCall(TCSpiralSetParams(sp, &p));
  PetscCall(TCSpiralSetUp(sp));
  TCSpiralFoilPhiRange(sp, TC_FOIL_AL, &phi0, &phi1);
  R     = TCSpiralRadius(sp, TC_FOIL_AL, phi1);
  exact = sqrt(p.length_m * TCSpiralPitch(sp) / PETSC_PI + p.mandrel_radius_m * p.mandrel_radius_m);
  PetscCall(PetscPrintf(
      PETSC_COMM_WORLD, "21700: outer Al radius %.3f mm (area balance %.3f mm), %.2f turns\n",
      (double)(1e3 * R), (double)(1e3 * exact), (double)TCSpiralFoilWindings(sp, TC_FOIL_AL)));
  PetscCheck(PetscAbsReal(R - exact) <= 0.02 * exact, PETSC_COMM_WORLD, PETSC_ERR_PLIB,
             "21700 outer radius");
  PetscCall(TCSpiralDestroy(&sp));

  p.deform_amplitude_m = 1e-3; /* 1 mm oval decaying over 2 turns: windings cross */
  PetscCall(TCSpiralCreate(PETSC_COMM_WORLD, &sp));
  PetscCall(TCSpiralSetParams(sp, &p));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = TCSpiralSetUp(sp);
  PetscCall(PetscPopErrorHandler());
  PetscCheck(ierr == PETSC_ERR_USER_INPUT, PETSC_COMM_WORLD, PETSC_ERR_PLIB,
             "crossing windings were not refused");
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "crossing windings refused: ok\n"));
  PetscCall(TCSpiralDestroy(&sp));
  PetscCall(PetscFinalize());
  return 0;
}
