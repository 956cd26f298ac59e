/*
 * The cell's hardware in the roll's thermal network (thermal_hardware: can,
 * solver/roll.h TCRollHardware), three checks:
 *
 * 1. Steady uniform heat q (W/m^3) in the roll against the analytic two-layer
 *    cylinder: the roll a..R (k_r across the layers, adiabatic inside), a
 *    contact conductance h_c at R, the can wall R_i..R_o (conductivity k_w)
 *    and convection h outside, ends adiabatic (one layer, one ring, the ends
 *    cut off). With Q' the heat per unit height:
 *      T(R_o) = T_amb + Q' / (2 pi R_o h)
 *      T(r)   = T(R_o) + Q' ln(R_o / r) / (2 pi k_w)        in the wall
 *      T(R)   = T(R_i) + Q' / (2 pi R h_c)
 *      T(r)   = T(R) + q (R^2 - r^2) / (4 k_r) - q a^2 / (2 k_r) ln(R / r)   in the roll.
 *    The can ring is a node at the wall's mid-radius R_m: it sees all the heat,
 *    so it meets T(R_m) to the solver's tolerance (1e-6 of the rise). The roll
 *    is the spiral of tests/unit/test_roll.c (the 18650 stack 16 times thinner),
 *    within 1 % of the whole rise at every node more than a pitch inside its
 *    surfaces, as that test; the wall and the contact make 40 % of the rise here.
 * 2. The heat capacity: the parts computed here from the dimensions (roll:
 *    rho_cp x node volumes; wall pi (R_o^2 - R_i^2) L; bottom pi R_o^2 t_b; the cap;
 *    the tab strips; a mandrel pin pi a^2 H filling the core) equal
 *    TCRollGetHeatCapacity's, and so does the heat
 *    capacity in the thermal matrix: one backward Euler step of an isolated
 *    cell (no convection) with heat Q over dt stores Q dt: sum C_i dT_i with
 *    the nodes' capacities from the dimensions is Q dt to 1e-8 (a step of 1 s;
 *    measured 2e-9), and with large conductances the whole cell rises by
 *    Q dt / C_total (to 1e-5 over a step of 1000 s).
 * 3. A nearly lumped cell (every conductance large) cooling from 1 K above the
 *    ambient through h and linearised radiation (emissivity 0.9) on the can and
 *    both ends: the excess decays with tau = C_total / ((h + 4 e sigma T^3) A),
 *    A the can's side and ends; backward Euler in 200 steps of tau / 200 is
 *    (1 + dt/tau)^-n, which the network meets to 0.2 %, and exp(-t/tau) to 1 %.
 *    Again with leads from the top cap (0.05 W/K) and the bottom (0.03 W/K) to
 *    ambient (thermal_lead_*_W_K: a cycler's cables and holder), about as
 *    strong as the convection: tau = C_total / ((h + h_rad) A + G_pos + G_neg).
 * Runs on 1 and 2 ranks (the hardware nodes live on the last rank).
 */
#include "solver/roll.h"
#include "mesh/spiral.h"
#include <math.h>

typedef struct {
  TCSpiral       spiral;
  TCRollNet      net;
  TCCellParams   p;
  TCCell         cell;
  TCRollParams   rp;
  TCRoll         roll;
  TCSpiralParams sp;
} Setup;

/* a roll of the 18650 stack f times thinner, one layer (nz 1) or nz layers */
static PetscErrorCode SetupRoll(Setup *s, PetscReal f, PetscReal ds, PetscInt nz,
                                const TCRollHardware *hw, PetscReal h, PetscReal hend,
                                PetscReal k_s, PetscReal k_r)
{
  TCRollNetParams np;

  PetscFunctionBeginUser;
  PetscCall(TCSpiralParamsPreset("18650", &s->sp));
  s->sp.t_cu_m /= f;
  s->sp.t_al_m /= f;
  s->sp.t_neg_m /= f;
  s->sp.t_pos_m /= f;
  s->sp.t_sep_m /= f;
  PetscCall(TCSpiralCreate(PETSC_COMM_WORLD, &s->spiral));
  PetscCall(TCSpiralSetParams(s->spiral, &s->sp));
  PetscCall(TCSpiralSetUp(s->spiral));
  PetscCall(PetscMemzero(&np, sizeof(np)));
  np.ds_m       = ds;
  np.asr_ohm_m2 = 1;
  np.terminals  = PETSC_TRUE;
  np.tab_ohm_m  = 5e-7;
  PetscCall(TCRollNetFromSpiral(PETSC_COMM_WORLD, s->spiral, nz, &np, &s->net));
  PetscCall(TCCellParamsLoad("chen2020", &s->p));
  PetscCall(TCCellCreate(PETSC_COMM_SELF, &s->cell));
  PetscCall(TCCellSetParams(s->cell, &s->p));
  PetscCall(TCCellSetModel(s->cell, TC_CELL_SPM));
  PetscCall(TCCellSetUp(s->cell));
  PetscCall(PetscMemzero(&s->rp, sizeof(s->rp)));
  s->rp.thermal        = PETSC_TRUE;
  s->rp.hw             = *hw;
  s->rp.k_s_W_mK       = k_s;
  s->rp.k_z_W_mK       = k_s;
  s->rp.k_r_W_mK       = k_r;
  s->rp.rho_cp_J_m3K   = 2e6;
  s->rp.h_can_W_m2K    = h;
  s->rp.h_end_W_m2K    = hend;
  s->rp.h_top_W_m2K    = hend;
  s->rp.h_bottom_W_m2K = hend;
  s->rp.T_amb_K        = 298.15;
  s->rp.T_init_K       = 298.15;
  s->rp.T_tol_K        = 1e-3;
  s->rp.t_node_m[0]    = s->sp.t_cu_m + 2 * s->sp.t_neg_m + s->sp.t_sep_m;
  s->rp.t_node_m[1]    = s->sp.t_al_m + 2 * s->sp.t_pos_m + s->sp.t_sep_m;
  s->rp.d_elem_m =
      0.5 * (s->sp.t_cu_m + s->sp.t_al_m) + s->sp.t_neg_m + s->sp.t_sep_m + s->sp.t_pos_m;
  s->rp.sigma_t_S[0] = s->sp.sigma_cu_S_m * s->sp.t_cu_m;
  s->rp.sigma_t_S[1] = s->sp.sigma_al_S_m * s->sp.t_al_m;
  s->rp.pitch_m      = TCSpiralPitch(s->spiral);
  PetscCall(TCRollCreate(s->net, s->cell, &s->p, &s->rp, &s->roll));
  PetscCall(TCRollSetFromOptions(s->roll));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetupDestroy(Setup *s)
{
  PetscFunctionBeginUser;
  PetscCall(TCRollDestroy(&s->roll));
  PetscCall(TCCellDestroy(&s->cell));
  PetscCall(TCCellParamsDestroy(&s->p));
  PetscCall(TCRollNetDestroy(&s->net));
  PetscCall(TCSpiralDestroy(&s->spiral));
  PetscFunctionReturn(0);
}

/* inner and outer radius of the tiled annulus (node strips), the graph's node count */
static PetscErrorCode Annulus(Setup *s, PetscReal *a, PetscReal *R)
{
  TCGraph       g;
  const TCNode *nodes;
  PetscInt      n;

  PetscFunctionBeginUser;
  *a = PETSC_MAX_REAL;
  *R = 0;
  PetscCall(TCRollGetGraph(s->roll, &g));
  PetscCall(TCGraphGetNodes(g, &n, &nodes, NULL));
  for (PetscInt i = 0; i < n; i++) {
    PetscReal r;
    if (nodes[i].tag > 1) continue;
    r  = hypot(nodes[i].x[0], nodes[i].x[1]);
    *a = PetscMin(*a, r - 0.5 * s->rp.t_node_m[nodes[i].tag]);
    *R = PetscMax(*R, r + 0.5 * s->rp.t_node_m[nodes[i].tag]);
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, a, 1, MPIU_REAL, MPI_MIN, PETSC_COMM_WORLD));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, R, 1, MPIU_REAL, MPI_MAX, PETSC_COMM_WORLD));
  PetscFunctionReturn(0);
}

/* the temperature of hardware node k (the same on every rank) */
static PetscErrorCode HardwareT(Setup *s, Vec T, PetscInt k, PetscReal *Tk)
{
  PetscInt           n, N, lo, hi, nhw;
  const PetscScalar *t;
  PetscReal          v = 0;

  PetscFunctionBeginUser;
  PetscCall(VecGetSize(T, &N));
  PetscCall(TCRollGetHardwareNodes(s->roll, NULL, &nhw));
  PetscCall(VecGetOwnershipRange(T, &lo, &hi));
  n = N - nhw + k;
  PetscCall(VecGetArrayRead(T, &t));
  if (n >= lo && n < hi) v = t[n - lo];
  PetscCall(VecRestoreArrayRead(T, &t));
  PetscCallMPI(MPI_Allreduce(&v, Tk, 1, MPIU_REAL, MPI_SUM, PETSC_COMM_WORLD));
  PetscFunctionReturn(0);
}

static TCRollHardware HardwareDefaults(void)
{
  TCRollHardware hw;
  PetscMemzero(&hw, sizeof(hw));
  hw.on                  = PETSC_TRUE;
  hw.t_wall_m            = 0.5e-3;
  hw.t_bottom_m          = 0.3e-3;
  hw.bottom_gap_m        = 1e-3;
  hw.rho_cp_J_m3K        = 3.69e6;
  hw.k_W_mK              = 50;
  hw.rings               = 1;
  hw.contact_W_m2K       = 2000;
  hw.end_contact_W_m2K   = 100;
  hw.cap_C_J_K           = 0.9;
  hw.cap_can_W_K         = 0.09;
  hw.tab_t_m             = 1e-4;
  hw.tab_L_m[0]          = 10e-3;
  hw.tab_L_m[1]          = 9e-3;
  hw.tab_k_W_mK[0]       = 90.7;
  hw.tab_k_W_mK[1]       = 237;
  hw.tab_rho_cp_J_m3K[0] = 3.95e6;
  hw.tab_rho_cp_J_m3K[1] = 2.42e6;
  hw.tab_width_m[0]      = 5e-3;
  hw.tab_width_m[1]      = 5e-3;
  return hw;
}

/* 1. steady two-layer cylinder */
static PetscErrorCode TestTwoLayer(void)
{
  Setup          s;
  TCRollHardware hw = HardwareDefaults();
  Vec            vol, Q, T0, T;
  TCGraph        g;
  const TCNode  *nodes;
  PetscInt       n;
  PetscReal      q = 2e5, h = 50, kr = 0.5, kw = 0.05, hc = 100, Tamb = 298.15, a, R, Ro, Ri, Rm;
  PetscReal      Vtot, H, Qp, TRo, TRm, TRi, TR, Ta, Tring, err = 0, rise;
  const PetscScalar *t;

  PetscFunctionBeginUser;
  /* the can: an artificial wall (k_w 0.05 W/(m K), 0.5 mm) and a poor contact
     (100 W/(m2 K)) so that they carry a visible share of the rise; the ends cut off */
  hw.k_W_mK            = kw;
  hw.contact_W_m2K     = hc;
  hw.t_bottom_m        = 0;
  hw.bottom_gap_m      = 0;
  hw.end_contact_W_m2K = 0;
  hw.cap_can_W_K       = 0;
  hw.tab_k_W_mK[0] = hw.tab_k_W_mK[1] = 0;
  hw.rings                            = 1;
  hw.R_out_m  = 8.6e-3 + 0.3e-3 + hw.t_wall_m; /* outside the roll's ~8.7 mm */
  hw.height_m = 58e-3;                         /* the 18650 preset's electrode height */
  PetscCall(SetupRoll(&s, 16, 1e-3, 1, &hw, h, 10, 30, kr));
  PetscCall(Annulus(&s, &a, &R));
  PetscCall(TCRollCreateThermalVec(s.roll, &vol));
  PetscCall(VecDuplicate(vol, &Q));
  PetscCall(VecDuplicate(vol, &T0));
  PetscCall(VecDuplicate(vol, &T));
  PetscCall(TCRollNodeVolumes(s.roll, vol));
  PetscCall(VecCopy(vol, Q));
  PetscCall(VecScale(Q, q));
  PetscCall(VecSet(T0, Tamb));
  PetscCall(VecCopy(T0, T));
  PetscCall(TCRollThermalSolve(s.roll, T0, Q, INFINITY, T));
  PetscCall(VecSum(vol, &Vtot));
  H    = hw.height_m;
  Qp   = q * Vtot / H;
  Ro   = hw.R_out_m;
  Ri   = Ro - hw.t_wall_m;
  Rm   = 0.5 * (Ro + Ri);
  TRo  = Tamb + Qp / (2 * PETSC_PI * Ro * h);
  TRm  = TRo + Qp * log(Ro / Rm) / (2 * PETSC_PI * kw);
  TRi  = TRo + Qp * log(Ro / Ri) / (2 * PETSC_PI * kw);
  TR   = TRi + Qp / (2 * PETSC_PI * R * hc);
  Ta   = TR + q * (R * R - a * a) / (4 * kr) - q * a * a / (2 * kr) * log(R / a);
  rise = Ta - Tamb;
  PetscCall(HardwareT(&s, T, 0, &Tring));
  PetscCall(
      PetscPrintf(PETSC_COMM_WORLD,
                  "two-layer cylinder: a %.4f, R %.4f, R_i %.4f, R_o %.4f mm, %.4f W: "
                  "T(R_o) %.4f, ring (R_m) %.6f vs %.6f, T(R_i) %.4f, T(R) %.4f, T(a) %.4f K\n",
                  (double)(1e3 * a), (double)(1e3 * R), (double)(1e3 * Ri), (double)(1e3 * Ro),
                  (double)(q * Vtot), (double)TRo, (double)Tring, (double)TRm, (double)TRi,
                  (double)TR, (double)Ta));
  PetscCheck(PetscAbsReal(Tring - TRm) < 1e-6 * rise, PETSC_COMM_WORLD, PETSC_ERR_NOT_CONVERGED,
             "can ring %.8f K against the analytic %.8f K", (double)Tring, (double)TRm);
  PetscCall(TCRollGetGraph(s.roll, &g));
  PetscCall(TCGraphGetNodes(g, &n, &nodes, NULL));
  PetscCall(VecGetArrayRead(T, &t));
  for (PetscInt i = 0; i < n; i++) {
    PetscReal r, Te;
    if (nodes[i].tag > 1) continue;
    r = hypot(nodes[i].x[0], nodes[i].x[1]);
    if (r < a + s.rp.pitch_m || r > R - s.rp.pitch_m) continue;
    Te  = TR + q * (R * R - r * r) / (4 * kr) - q * a * a / (2 * kr) * log(R / r);
    err = PetscMax(err, PetscAbsReal(t[i] - Te));
  }
  PetscCall(VecRestoreArrayRead(T, &t));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &err, 1, MPIU_REAL, MPI_MAX, PETSC_COMM_WORLD));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                        "  roll: max |T - T_exact| %.3e K = %.3f %% of the rise %.3f K (wall and "
                        "contact %.1f %% of it)\n",
                        (double)err, (double)(100 * err / rise), (double)rise,
                        (double)(100 * (TR - TRo) / rise)));
  PetscCheck(err < 0.01 * rise, PETSC_COMM_WORLD, PETSC_ERR_NOT_CONVERGED,
             "roll with can off the analytic two-layer cylinder by %.3f %% (limit 1 %%)",
             (double)(100 * err / rise));
  PetscCall(VecDestroy(&vol));
  PetscCall(VecDestroy(&Q));
  PetscCall(VecDestroy(&T0));
  PetscCall(VecDestroy(&T));
  PetscCall(SetupDestroy(&s));
  PetscFunctionReturn(0);
}

/* 2. heat capacity: parts from the dimensions, their sum, and the matrix's */
static PetscErrorCode TestHeatCapacity(void)
{
  Setup              s;
  TCRollHardware     hw = HardwareDefaults();
  TCRollHeatCapacity hc;
  Vec                vol, Q, T0, T;
  PetscReal          Vroll, Ro, Ri, a, R, want[7], got[7], sum, Qw, dt, dmin, dmax;
  const char *name[7] = {"roll", "can_wall", "can_bottom", "top_cap", "tabs", "mandrel", "total"};

  PetscFunctionBeginUser;
  hw.rings                 = 7;
  hw.R_out_m               = 9.0e-3;
  hw.t_wall_m              = 0.2e-3;
  hw.height_m              = 65e-3;
  hw.k_W_mK                = 1e4; /* large conductances: the cell warms evenly */
  hw.contact_W_m2K         = 1e7;
  hw.end_contact_W_m2K     = 1e7;
  hw.cap_can_W_K           = 1e3;
  hw.mandrel_rho_cp_J_m3K  = 3.69e6; /* a steel pin in the core */
  hw.mandrel_k_W_mK        = 1e4;
  hw.mandrel_contact_W_m2K = 1e7;
  PetscCall(SetupRoll(&s, 1, 2e-3, 3, &hw, 0, 0, 1e4, 1e4)); /* no convection: isolated */
  PetscCall(TCRollGetHeatCapacity(s.roll, &hc));
  PetscCall(TCRollCreateThermalVec(s.roll, &vol));
  PetscCall(TCRollNodeVolumes(s.roll, vol));
  PetscCall(VecSum(vol, &Vroll));
  Ro      = hw.R_out_m;
  Ri      = Ro - hw.t_wall_m;
  want[0] = s.rp.rho_cp_J_m3K * Vroll;
  want[1] = hw.rho_cp_J_m3K * PETSC_PI * (Ro * Ro - Ri * Ri) * hw.height_m;
  want[2] = hw.rho_cp_J_m3K * PETSC_PI * Ro * Ro * hw.t_bottom_m;
  want[3] = hw.cap_C_J_K;
  want[4] = 0;
  for (int f = 0; f < 2; f++)
    want[4] += hw.tab_rho_cp_J_m3K[f] * hw.tab_t_m * hw.tab_width_m[f] * hw.tab_L_m[f];
  PetscCall(Annulus(&s, &a, &R));
  want[5] = hw.mandrel_rho_cp_J_m3K * PETSC_PI * a * a * s.sp.height_m; /* the pin fills the core */
  want[6] = want[0] + want[1] + want[2] + want[3] + want[4] + want[5];
  got[0]  = hc.roll;
  got[1]  = hc.can_wall;
  got[2]  = hc.can_bottom;
  got[3]  = hc.top_cap;
  got[4]  = hc.tabs;
  got[5]  = hc.mandrel;
  got[6]  = hc.total;
  sum     = hc.roll + hc.can_wall + hc.can_bottom + hc.top_cap + hc.tabs + hc.mandrel;
  for (int k = 0; k < 7; k++) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                          "  heat capacity %-10s %.6f J/K (from the dimensions %.6f)\n", name[k],
                          (double)got[k], (double)want[k]));
    PetscCheck(PetscAbsReal(got[k] - want[k]) <= 1e-12 * want[6], PETSC_COMM_WORLD, PETSC_ERR_PLIB,
               "heat capacity %s: %.12g J/K, expected %.12g", name[k], (double)got[k],
               (double)want[k]);
  }
  PetscCheck(PetscAbsReal(sum - hc.total) <= 1e-12 * hc.total, PETSC_COMM_WORLD, PETSC_ERR_PLIB,
             "the parts add up to %.12g J/K, the total is %.12g", (double)sum, (double)hc.total);
  /* the matrix's: Qw watts into the roll (by volume) for dt, no losses */
  PetscCall(VecDuplicate(vol, &Q));
  PetscCall(VecDuplicate(vol, &T0));
  PetscCall(VecDuplicate(vol, &T));
  /* two steps from T_0: 1 s (the books: a long step makes C/dt + K nearly singular and
     the solve less exact) and 1000 s (the conductances even the rise out) */
  for (int pass = 0; pass < 2; pass++) {
    dt = pass ? 1e3 : 1;
    Qw = hc.total / dt; /* a rise of 1 K */
    PetscCall(VecCopy(vol, Q));
    PetscCall(VecScale(Q, Qw / Vroll));
    PetscCall(VecSet(T0, 298.15));
    PetscCall(VecCopy(T0, T));
    PetscCall(TCRollThermalSolve(s.roll, T0, Q, dt, T));
    {
      /* the heat stored, sum C_i (T_i - T_0), with every node's C from the dimensions:
         the roll's rho_cp x volume; the rings, the bottom and the cap (with their tab
         strips), the pin, in that order after the graph's nodes on the last rank.
         Backward Euler without losses stores exactly Q dt (to the solver's
         tolerance), whatever the nodes' spread; the terminals stay at the ambient. */
      PetscInt           lo, hi, nloc, nrings, nhw, N;
      TCGraph            g;
      const TCNode      *nodes;
      const PetscScalar *t, *v;
      PetscReal          Chw[32], ctab[2], E = 0;
      PetscCall(TCRollGetGraph(s.roll, &g));
      PetscCall(TCGraphGetNodes(g, &nloc, &nodes, NULL));
      PetscCall(TCRollGetHardwareNodes(s.roll, &nrings, &nhw));
      PetscCheck(nhw == nrings + 3 && nhw <= 32, PETSC_COMM_WORLD, PETSC_ERR_PLIB,
                 "%d hardware nodes for %d rings and a pin", (int)nhw, (int)nrings);
      for (int f = 0; f < 2; f++)
        ctab[f] = hw.tab_rho_cp_J_m3K[f] * hw.tab_t_m * hw.tab_width_m[f] * hw.tab_L_m[f];
      for (PetscInt k = 0; k < nrings; k++) Chw[k] = want[1] / nrings;
      Chw[nrings]     = want[2] + ctab[0];
      Chw[nrings + 1] = want[3] + ctab[1];
      Chw[nrings + 2] = want[5];
      PetscCall(VecGetSize(T, &N));
      PetscCall(VecGetOwnershipRange(T, &lo, &hi));
      PetscCall(VecGetArrayRead(T, &t));
      PetscCall(VecGetArrayRead(vol, &v));
      dmin = PETSC_MAX_REAL;
      dmax = -PETSC_MAX_REAL;
      for (PetscInt i = 0; i < hi - lo; i++) {
        PetscInt gi = lo + i;
        if (i < nloc && nodes[i].tag > 1) continue;
        E += (gi >= N - nhw ? Chw[gi - (N - nhw)] : s.rp.rho_cp_J_m3K * v[i]) * (t[i] - 298.15);
        dmin = PetscMin(dmin, t[i] - 298.15);
        dmax = PetscMax(dmax, t[i] - 298.15);
      }
      PetscCall(VecRestoreArrayRead(vol, &v));
      PetscCall(VecRestoreArrayRead(T, &t));
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &E, 1, MPIU_REAL, MPI_SUM, PETSC_COMM_WORLD));
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &dmin, 1, MPIU_REAL, MPI_MIN, PETSC_COMM_WORLD));
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &dmax, 1, MPIU_REAL, MPI_MAX, PETSC_COMM_WORLD));
      PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                            "  isolated cell, %.4g W for %.4g s: stores %.9f J of Q dt %.9f J; "
                            "rise %.7f .. %.7f K, Q dt / C_total %.7f K\n",
                            (double)Qw, (double)dt, (double)E, (double)(Qw * dt), (double)dmin,
                            (double)dmax, (double)(Qw * dt / hc.total)));
      PetscCheck(pass || PetscAbsReal(E - Qw * dt) < 1e-8 * Qw * dt, PETSC_COMM_WORLD,
                 PETSC_ERR_PLIB,
                 "the network's heat capacities are not the parts': it stores %.12g J of %.12g",
                 (double)E, (double)(Qw * dt));
      /* and the cell warms evenly: one capacity, the reported total */
      PetscCheck(!pass || (dmax - dmin < 1e-5 && dmin < Qw * dt / hc.total + 1e-5 &&
                           dmax > Qw * dt / hc.total - 1e-5),
                 PETSC_COMM_WORLD, PETSC_ERR_PLIB,
                 "the isolated cell's rise %.9f .. %.9f K is not Q dt / C_total = %.9f K",
                 (double)dmin, (double)dmax, (double)(Qw * dt / hc.total));
    }
  }
  PetscCall(VecDestroy(&vol));
  PetscCall(VecDestroy(&Q));
  PetscCall(VecDestroy(&T0));
  PetscCall(VecDestroy(&T));
  PetscCall(SetupDestroy(&s));
  PetscFunctionReturn(0);
}

/* 3. lumped cooling; Gpos, Gneg: the terminals' leads to ambient, W/K */
static PetscErrorCode TestLumped(PetscReal Gpos, PetscReal Gneg)
{
  Setup              s;
  TCRollHardware     hw = HardwareDefaults();
  TCRollHeatCapacity hc;
  Vec                Q, T0, T;
  PetscReal          h = 15, e = 0.9, Tamb = 298.15, hr, A, tau, dt, be, ex, Tk;
  PetscInt           nsteps = 200, nhw, nrings;

  PetscFunctionBeginUser;
  hw.rings             = 6;
  hw.R_out_m           = 9.0e-3;
  hw.t_wall_m          = 0.2e-3;
  hw.height_m          = 65e-3;
  hw.k_W_mK            = 1e4; /* every conductance large: a lumped cell */
  hw.contact_W_m2K     = 1e7;
  hw.end_contact_W_m2K = 1e7;
  hw.cap_can_W_K       = 1e3;
  hw.emissivity        = e;
  hw.lead_W_K[0]       = Gneg;
  hw.lead_W_K[1]       = Gpos;
  PetscCall(SetupRoll(&s, 1, 2e-3, 3, &hw, h, h, 1e4, 1e4));
  PetscCall(TCRollGetHeatCapacity(s.roll, &hc));
  PetscCall(TCRollGetHardwareNodes(s.roll, &nrings, &nhw));
  hr  = 4 * e * 5.670374419e-8 * Tamb * Tamb * Tamb;
  A   = 2 * PETSC_PI * hw.R_out_m * hw.height_m + 2 * PETSC_PI * hw.R_out_m * hw.R_out_m;
  tau = hc.total / ((h + hr) * A + Gpos + Gneg);
  dt  = tau / nsteps;
  PetscCall(TCRollCreateThermalVec(s.roll, &Q));
  PetscCall(VecDuplicate(Q, &T0));
  PetscCall(VecDuplicate(Q, &T));
  PetscCall(VecSet(Q, 0));
  PetscCall(VecSet(T0, Tamb + 1));
  for (PetscInt k = 0; k < nsteps; k++) {
    PetscCall(VecCopy(T0, T));
    PetscCall(TCRollThermalSolve(s.roll, T0, Q, dt, T));
    PetscCall(VecCopy(T, T0));
  }
  PetscCall(HardwareT(&s, T, nrings / 2, &Tk)); /* the can at mid-height */
  be = PetscPowReal(1 + dt / tau, -(PetscReal)nsteps);
  ex = exp(-1.0);
  PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                        "lumped cooling: C %.4f J/K, h %.1f + h_rad %.3f W/(m2 K), A %.4e m2, "
                        "leads %.3f + %.3f W/K, tau %.2f s: excess after tau %.6f (backward Euler "
                        "%.6f, exp(-1) %.6f)\n",
                        (double)hc.total, (double)h, (double)hr, (double)A, (double)Gpos,
                        (double)Gneg, (double)tau,
                        (double)(Tk - Tamb), (double)be, (double)ex));
  PetscCheck(PetscAbsReal(Tk - Tamb - be) < 2e-3 * be, PETSC_COMM_WORLD, PETSC_ERR_NOT_CONVERGED,
             "lumped cooling %.6f K against backward Euler's %.6f (limit 0.2 %%)",
             (double)(Tk - Tamb), (double)be);
  PetscCheck(PetscAbsReal(Tk - Tamb - ex) < 1e-2 * ex, PETSC_COMM_WORLD, PETSC_ERR_NOT_CONVERGED,
             "lumped cooling %.6f K against exp(-1) = %.6f (limit 1 %%)", (double)(Tk - Tamb),
             (double)ex);
  PetscCall(VecDestroy(&Q));
  PetscCall(VecDestroy(&T0));
  PetscCall(VecDestroy(&T));
  PetscCall(SetupDestroy(&s));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscFunctionBeginUser;
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(TestTwoLayer());
  PetscCall(TestHeatCapacity());
  PetscCall(TestLumped(0, 0));
  PetscCall(TestLumped(0.05, 0.03)); /* the leads about as strong as the convection */
  PetscCall(PetscFinalize());
  return 0;
}
