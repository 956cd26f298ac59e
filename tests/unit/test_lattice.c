/*
 * Unit checks of the Cu lattice <-> temperature relation (io/xrdct.h):
 *  - the defaults give a0 = 3.6149 A at 293.15 K and, 60 K higher,
 *    a0 (1 + 16.5e-6 * 60) (the linear law; 1e-14 relative: a few ulps);
 *  - round trip T -> a -> T from 200 to 450 K, linear (beta = 0) and with a
 *    quadratic term (beta = 5e-9 /K^2): the strain (a - a0)/a0 ~ 1e-3 is
 *    formed with an absolute error of ~1e-16, i.e. 1e-11 K at alpha =
 *    16.5e-6 /K, so 1e-9 K;
 *  - strain <-> temperature rise agree with the quadratic they invert.
 */
#include "io/xrdct.h"
#include "src/tc.h"
#include <math.h>

int main(int argc, char **argv)
{
  TCLattice lat      = {3.6149, 293.15, 16.5e-6, 0};
  PetscReal worst[2] = {0, 0}, a;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(TCInitialize());
  a = TCLatticeFromTemperature(&lat, 293.15);
  PetscCheck(PetscAbsReal(a - 3.6149) <= 1e-14 * 3.6149, PETSC_COMM_WORLD, PETSC_ERR_PLIB,
             "a(T0) = %.15g, expected 3.6149", (double)a);
  a = TCLatticeFromTemperature(&lat, 353.15);
  PetscCheck(PetscAbsReal(a - 3.6149 * (1 + 16.5e-6 * 60)) <= 1e-14 * 3.6149, PETSC_COMM_WORLD,
             PETSC_ERR_PLIB, "a(T0 + 60 K) = %.15g", (double)a);
  for (int q = 0; q < 2; q++) {
    lat.beta_per_K2 = q ? 5e-9 : 0;
    for (PetscReal T = 200; T <= 450; T += 0.37) {
      PetscReal back = TCLatticeToTemperature(&lat, TCLatticeFromTemperature(&lat, T));
      PetscReal dT = T - lat.T0_K, e = TCLatticeDTToStrain(&lat, dT);
      worst[q] = PetscMax(worst[q], PetscAbsReal(back - T));
      PetscCheck(PetscAbsReal(e - (16.5e-6 * dT + lat.beta_per_K2 * dT * dT)) <= 1e-18,
                 PETSC_COMM_WORLD, PETSC_ERR_PLIB, "strain at %g K", (double)T);
      PetscCheck(PetscAbsReal(TCLatticeStrainToDT(&lat, e) - dT) <= 1e-9, PETSC_COMM_WORLD,
                 PETSC_ERR_PLIB, "strain -> dT at %g K", (double)T);
    }
    PetscCheck(worst[q] <= 1e-9, PETSC_COMM_WORLD, PETSC_ERR_PLIB,
               "round trip off by %g K (beta %g)", (double)worst[q], (double)lat.beta_per_K2);
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                        "lattice round trip 200-450 K: max error %.3g K (linear), %.3g K "
                        "(quadratic)\n",
                        (double)worst[0], (double)worst[1]));
  PetscCall(PetscFinalize());
  return 0;
}
