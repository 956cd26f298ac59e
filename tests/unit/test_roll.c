/*
 * Thermal network of the coupled jelly-roll solver against the analytic
 * steady state of a hollow cylinder with uniform heat q (W/m^3), adiabatic
 * inside (mandrel, r = a) and cooled by h to T_amb outside (r = R), radial
 * conductivity k_r, adiabatic ends:
 *
 *   T(r) = T_R + q (R^2 - r^2) / (4 k_r) - q a^2 / (2 k_r) ln(R / r),
 *   T_R  = T_amb + q (R^2 - a^2) / (2 R h)
 *
 * (a -> 0 gives the T_s + q (R^2 - r^2) / (4 k_r)); anisotropic:
 * k_s = 30 along the winding, k_r = 0.5 across, adiabatic ends.
 *
 * A spiral is a cylinder only in the limit of a thin winding: its outer
 * surface sits up to one pitch p inside R around the roll, and the first and
 * last turns are partial, so the network differs from the cylinder by O(p/R).
 * The radial conduction itself (thermal links straight across the layers,
 * mesh/rollnet.h) is independent of the node spacing: ds 1, 0.5, 0.25 mm give
 * the same profile to 0.02 %. Measured max |T - T_exact| / rise against the
 * pitch (the 18650 stack made f times thinner on the same radius, -thin f):
 * f 1 (p 374 um) 10.8 %, f 2 5.4 %, f 4 2.5 %, f 8 0.99 %, f 16 0.73 %.
 * The test runs f = 16 with the tolerance, 1 % of the analytic
 * core-to-surface rise, at every node more than one pitch inside the
 * surfaces.
 */
#include "solver/roll.h"
#include "mesh/spiral.h"
#include <math.h>

int main(int argc, char **argv)
{
  TCSpiralParams     sp;
  TCSpiral           spiral;
  TCRollNetParams    np;
  TCRollNet          net;
  TCCellParams       p;
  TCCell             cell;
  TCRollParams       rp;
  TCRoll             roll;
  TCGraph            g;
  Vec                vol, Q, T0, T;
  const TCNode      *nodes;
  PetscInt           n;
  PetscReal          q = 2e5, h = 500, kr = 0.5, Tamb = 298.15, a = PETSC_MAX_REAL, R = 0, err = 0;
  PetscReal          rise, Vtot, Qtot;
  PetscBool          dump = PETSC_FALSE; /* -dump: r, T, T_exact of every node */
  const PetscScalar *t, *v;

  PetscFunctionBeginUser;
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-dump", &dump, NULL));
  PetscCall(TCSpiralParamsPreset("18650", &sp));
  {
    /* -thin f: a stack f times thinner on the same radius (more turns) */
    PetscReal f = 16;
    PetscCall(PetscOptionsGetReal(NULL, NULL, "-thin", &f, NULL));
    sp.t_cu_m /= f;
    sp.t_al_m /= f;
    sp.t_neg_m /= f;
    sp.t_pos_m /= f;
    sp.t_sep_m /= f;
    sp.length_m *= f;
  }
  PetscCall(TCSpiralCreate(PETSC_COMM_WORLD, &spiral));
  PetscCall(TCSpiralSetParams(spiral, &sp));
  PetscCall(TCSpiralSetUp(spiral));
  PetscCall(PetscMemzero(&np, sizeof(np)));
  np.ds_m = 1e-3;
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-ds", &np.ds_m, NULL));
  np.asr_ohm_m2 = 1;
  np.terminals  = PETSC_TRUE;
  np.tab_ohm_m  = 5e-7;
  PetscCall(TCRollNetFromSpiral(PETSC_COMM_WORLD, spiral, 1, &np, &net));
  PetscCall(TCCellParamsLoad("chen2020", &p));
  PetscCall(TCCellCreate(PETSC_COMM_SELF, &cell));
  PetscCall(TCCellSetParams(cell, &p));
  PetscCall(TCCellSetModel(cell, TC_CELL_SPM));
  PetscCall(TCCellSetUp(cell));
  PetscCall(PetscMemzero(&rp, sizeof(rp)));
  rp.thermal      = PETSC_TRUE;
  rp.k_s_W_mK     = 30;
  rp.k_z_W_mK     = 30;
  rp.k_r_W_mK     = kr;
  rp.rho_cp_J_m3K = 2e6;
  rp.h_can_W_m2K  = h;
  rp.T_amb_K      = Tamb;
  rp.T_init_K     = Tamb;
  rp.T_tol_K      = 1e-3;
  rp.t_node_m[0]  = sp.t_cu_m + 2 * sp.t_neg_m + sp.t_sep_m;
  rp.t_node_m[1]  = sp.t_al_m + 2 * sp.t_pos_m + sp.t_sep_m;
  rp.d_elem_m     = 0.5 * (sp.t_cu_m + sp.t_al_m) + sp.t_neg_m + sp.t_sep_m + sp.t_pos_m;
  rp.sigma_t_S[0] = sp.sigma_cu_S_m * sp.t_cu_m;
  rp.sigma_t_S[1] = sp.sigma_al_S_m * sp.t_al_m;
  rp.pitch_m      = TCSpiralPitch(spiral);
  PetscCall(TCRollCreate(net, cell, &p, &rp, &roll));
  PetscCall(TCRollSetFromOptions(roll));
  PetscCall(TCRollGetGraph(roll, &g));
  PetscCall(TCGraphCreateVec(g, &vol));
  PetscCall(VecDuplicate(vol, &Q));
  PetscCall(VecDuplicate(vol, &T0));
  PetscCall(VecDuplicate(vol, &T));
  PetscCall(TCRollNodeVolumes(roll, vol));
  PetscCall(VecCopy(vol, Q));
  PetscCall(VecScale(Q, q));
  PetscCall(VecSet(T0, Tamb));
  PetscCall(VecCopy(T0, T));
  PetscCall(TCRollThermalSolve(roll, T0, Q, INFINITY, T));
  PetscCall(VecSum(vol, &Vtot));
  Qtot = q * Vtot;

  /* the tiled annulus: inner and outer faces of the node strips */
  PetscCall(TCGraphGetNodes(g, &n, &nodes, NULL));
  for (PetscInt i = 0; i < n; i++) {
    PetscReal r;
    if (nodes[i].tag > 1) continue;
    r = hypot(nodes[i].x[0], nodes[i].x[1]);
    a = PetscMin(a, r - 0.5 * rp.t_node_m[nodes[i].tag]);
    R = PetscMax(R, r + 0.5 * rp.t_node_m[nodes[i].tag]);
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &a, 1, MPIU_REAL, MPI_MIN, PETSC_COMM_WORLD));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &R, 1, MPIU_REAL, MPI_MAX, PETSC_COMM_WORLD));
  {
    PetscReal TR = Tamb + q * (R * R - a * a) / (2 * R * h), Ta, rmax = 0;
    Ta   = TR + q * (R * R - a * a) / (4 * kr) - q * a * a / (2 * kr) * log(R / a);
    rise = Ta - TR;
    PetscCall(VecGetArrayRead(T, &t));
    PetscCall(VecGetArrayRead(vol, &v));
    for (PetscInt i = 0; i < n; i++) {
      PetscReal r, Te;
      if (nodes[i].tag > 1) continue;
      r = hypot(nodes[i].x[0], nodes[i].x[1]);
      if (r < a + rp.pitch_m || r > R - rp.pitch_m) continue;
      Te = TR + q * (R * R - r * r) / (4 * kr) - q * a * a / (2 * kr) * log(R / r);
      if (PetscAbsReal(t[i] - Te) > err) rmax = r;
      if (dump)
        PetscCall(
            PetscPrintf(PETSC_COMM_SELF, "node %g %g %g\n", (double)r, (double)t[i], (double)Te));
      err = PetscMax(err, PetscAbsReal(t[i] - Te));
    }
    PetscCall(VecRestoreArrayRead(vol, &v));
    PetscCall(VecRestoreArrayRead(T, &t));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &err, 1, MPIU_REAL, MPI_MAX, PETSC_COMM_WORLD));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                          "hollow cylinder a = %.4f mm, R = %.4f mm: T(a) = %.4f K, T(R) = %.4f K; "
                          "max |T - T_exact| = %.2e K = %.3f %% of the rise (at r = %.3f mm)\n",
                          (double)(1e3 * a), (double)(1e3 * R), (double)Ta, (double)TR, (double)err,
                          (double)(100 * err / rise), (double)(1e3 * rmax)));
  }
  PetscCall(
      PetscPrintf(PETSC_COMM_WORLD, "heat %.6f W over %.4e m^3\n", (double)Qtot, (double)Vtot));
  PetscCheck(err < 0.01 * rise, PETSC_COMM_WORLD, PETSC_ERR_NOT_CONVERGED,
             "thermal network off the analytic hollow cylinder by %.3f %% (limit 1 %%)",
             (double)(100 * err / rise));
  PetscCall(VecDestroy(&vol));
  PetscCall(VecDestroy(&Q));
  PetscCall(VecDestroy(&T0));
  PetscCall(VecDestroy(&T));
  PetscCall(TCRollDestroy(&roll));
  PetscCall(TCCellDestroy(&cell));
  PetscCall(TCCellParamsDestroy(&p));
  PetscCall(TCRollNetDestroy(&net));
  PetscCall(TCSpiralDestroy(&spiral));
  PetscCall(PetscFinalize());
  return 0;
}
