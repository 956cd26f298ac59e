/*
 * Tortuosity solver against analytic answers, at any rank count.
 *
 *   channels   straight pores along x: tau_x = 1, y and z do not percolate
 *   series     two materials in layers across x (multi-phase D): D_eff is the
 *              width-weighted harmonic mean of D
 *   parallel   the same layers along x: D_eff is the arithmetic mean
 *   transpose  a random volume: direction x equals direction y of the
 *              volume with x and y swapped
 *   solvers    a random three-label volume, one phase and two phases with
 *              different D, all directions: the matrix-free multigrid solver
 *              (-tau_solver mf, the default) and the assembled one (aij)
 *              give the same tau
 *   clusters   a U-shaped pore that leaves and re-enters the slabs of several
 *              ranks: one cluster, percolating in z only through the U
 *   readers    a TIFF stack and a raw file read back identical to the array
 *   stopping   a sphere pack solved with the default stopping test on tau
 *              (-tau_tol 1e-7): few iterations, tau within 1e-6 of the
 *              solve to rtol 1e-12, from below (tau from the energy), both
 *              solvers; the counted traffic of a CG iteration in its range
 *
 * Tolerances: the solves run with -ksp_rtol 1e-12 (set below); the analytic
 * answers are exact for the discrete problem (harmonic face conductances make
 * series layers exact), so 1e-9 relative leaves three decades of margin.
 */
#include "io/volume.h"
#include "solver/tortuosity.h"
#include <petscsys.h>
#include <tiffio.h>
#include <unistd.h>

static PetscErrorCode Tau(const unsigned char *a, PetscInt nx, PetscInt ny, PetscInt nz,
                          const PetscReal D[256], PetscInt dir, TCTauDirection *r, TCTauPhase *ps)
{
  TCVolume vol;
  TCTau    tau;

  PetscFunctionBeginUser;
  PetscCall(TCVolumeFromArray(PETSC_COMM_WORLD, nx, ny, nz, a, 1e-6, &vol));
  PetscCall(TCTauCreate(&vol, D, &tau));
  if (ps) PetscCall(TCTauGetPhase(tau, ps));
  PetscCall(TCTauSolve(tau, dir, r, NULL, NULL));
  PetscCall(TCTauDestroy(&tau));
  PetscCall(TCVolumeFree(&vol));
  PetscFunctionReturn(0);
}

#define CHECK_REL(v, ref, tol, what)                                                               \
  PetscCheck(PetscAbsReal((v) - (ref)) <= (tol)*PetscAbsReal(ref), PETSC_COMM_WORLD,               \
             PETSC_ERR_PLIB, "%s: %.15g, expected %.15g (tolerance %g relative)", what,            \
             (double)(v), (double)(ref), (double)(tol))

static PetscErrorCode TestChannels(void)
{
  const PetscInt n = 16;
  unsigned char *a;
  PetscReal      D[256] = {1};
  TCTauDirection r;
  TCTauPhase     ps;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(n * n * n, &a));
  for (PetscInt z = 0; z < n; z++)
    for (PetscInt y = 0; y < n; y++)
      for (PetscInt x = 0; x < n; x++) a[(z * n + y) * n + x] = (y % 4 < 2 && z % 4 < 2) ? 0 : 1;
  PetscCall(Tau(a, n, n, n, D, 0, &r, &ps));
  CHECK_REL(ps.volume_fraction, 0.25, 1e-15, "channels: eps");
  CHECK_REL(r.tau, 1.0, 1e-9, "channels: tau_x");
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "channels: tau_x - 1 = %.2e\n", (double)(r.tau - 1)));
  CHECK_REL(r.flux_out, r.flux_in, 1e-9, "channels: flux balance");
  PetscCheck(ps.clusters == 16, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "channels: %lld clusters, not 16",
             ps.clusters);
  PetscCall(Tau(a, n, n, n, D, 2, &r, NULL));
  PetscCheck(!r.percolates && r.percolating_fraction == 0 && PetscIsInfReal(r.tau),
             PETSC_COMM_WORLD, PETSC_ERR_PLIB, "channels: z must not percolate");
  PetscCall(PetscFree(a));
  PetscFunctionReturn(0);
}

/* layers of label 1 (D1) and 2 (D2), widths w1, w2 repeated across axis "across" */
static PetscErrorCode TestLayers(PetscBool series)
{
  const PetscInt  nx = 20, ny = 6, nz = 7, w[2] = {3, 2};
  const PetscReal D1 = 1.0, D2 = 0.15;
  unsigned char  *a;
  PetscReal       D[256] = {0}, want, eps, w1 = 0, w2 = 0;
  TCTauDirection  r;

  PetscFunctionBeginUser;
  D[1] = D1, D[2] = D2;
  PetscCall(PetscMalloc1(nx * ny * nz, &a));
  for (PetscInt z = 0; z < nz; z++)
    for (PetscInt y = 0; y < ny; y++)
      for (PetscInt x = 0; x < nx; x++) {
        PetscInt s = series ? x : z; /* layers across x (series) or across z (parallel to x) */
        a[(z * ny + y) * nx + x] = (s % (w[0] + w[1])) < w[0] ? 1 : 2;
      }
  for (PetscInt s = 0; s < (series ? nx : nz); s++)
    if ((s % (w[0] + w[1])) < w[0])
      w1++;
    else
      w2++;
  /* conducting fraction 1 (both labels conduct); eps_weighted = mean D */
  eps  = (w1 * D1 + w2 * D2) / (w1 + w2);
  want = series ? (w1 + w2) / (w1 / D1 + w2 / D2) : eps;
  PetscCall(Tau(a, nx, ny, nz, D, 0, &r, NULL));
  CHECK_REL(r.relative_diffusivity, want, 1e-9, series ? "series: D_eff" : "parallel: D_eff");
  CHECK_REL(r.tau, eps / want, 1e-9, series ? "series: tau" : "parallel: tau");
  PetscCall(PetscFree(a));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s: D_eff %.12f (analytic %.12f), tau %.9f\n",
                        series ? "series" : "parallel", (double)r.relative_diffusivity,
                        (double)want, (double)r.tau));
  PetscFunctionReturn(0);
}

/* Both solvers stop at a relative (preconditioned) residual of 1e-12; their
   residual norms differ, so tau agrees to about that times the condition
   number's square root: 1e-8 relative leaves two decades of margin. Odd
   sizes make one-plane aggregates and uneven rank slabs. */
static PetscErrorCode TestSolvers(void)
{
  const PetscInt nx = 23, ny = 17, nz = 13;
  unsigned char *a;
  PetscReal      D1[256] = {1}, D2[256] = {1};
  PetscRandom    rnd;

  PetscFunctionBeginUser;
  D2[2] = 0.3;
  PetscCall(PetscMalloc1(nx * ny * nz, &a));
  PetscCall(PetscRandomCreate(PETSC_COMM_SELF, &rnd));
  PetscCall(PetscRandomSetSeed(rnd, 11));
  PetscCall(PetscRandomSeed(rnd));
  for (PetscInt i = 0; i < nx * ny * nz; i++) {
    PetscReal u;
    PetscCall(PetscRandomGetValueReal(rnd, &u));
    a[i] = u < 0.5 ? 0 : u < 0.65 ? 2 : 1;
  }
  PetscCall(PetscRandomDestroy(&rnd));
  for (PetscInt dir = 0; dir < 3; dir++)
    for (PetscInt m = 0; m < 2; m++) {
      const PetscReal *D = m ? D2 : D1;
      TCTauDirection   rmf, raij;
      char             what[64];
      PetscCall(PetscOptionsSetValue(NULL, "-tau_solver", "mf"));
      PetscCall(Tau(a, nx, ny, nz, D, dir, &rmf, NULL));
      PetscCall(PetscOptionsSetValue(NULL, "-tau_solver", "aij"));
      PetscCall(Tau(a, nx, ny, nz, D, dir, &raij, NULL));
      PetscCall(PetscOptionsClearValue(NULL, "-tau_solver"));
      PetscCheck(rmf.percolates && raij.percolates && rmf.tau > 1, PETSC_COMM_WORLD, PETSC_ERR_PLIB,
                 "solvers: random volume should percolate in %c with tau > 1", "xyz"[dir]);
      snprintf(what, sizeof(what), "solvers: %s tau_%c, mf vs aij", m ? "two-phase" : "one-phase",
               "xyz"[dir]);
      CHECK_REL(rmf.tau, raij.tau, 1e-8, what);
      CHECK_REL(rmf.flux_in, rmf.flux_out, 1e-8, "solvers: mf flux balance");
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s: %.12f vs %.12f (%d and %d iterations)\n", what,
                            (double)rmf.tau, (double)raij.tau, (int)rmf.iterations,
                            (int)raij.iterations));
    }
  PetscCall(PetscFree(a));
  PetscFunctionReturn(0);
}

/* Overlapping solid spheres of radius 4 in 56^3 (porosity ~0.4), the pore
   phase in x. The default test stops when the estimated relative error of
   tau is below 1e-7; the solve to rtol 1e-12 is the reference. Bounds: 9
   iterations (the default stops after 6-7 on one to three ranks, both
   solvers, the reference takes 19-21), 1e-6 relative (6x the largest error
   seen, 1.6e-7 with aij); the multigrid V-cycle plus CG counts about 203
   bytes per voxel and iteration, with each red-black pair one pass, the
   restriction and prolongation inside a pass and CG's two dot products
   taken from the passes that made their vectors (without the dots: 235;
   pairs only: 276; separate half-sweeps: about 370). */
static PetscErrorCode TestStopping(void)
{
  const PetscInt n = 56, nsph = 600;
  unsigned char *a;
  PetscReal      D[256] = {1};
  PetscRandom    rnd;
  TCTauDirection ref, r;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(n * n * n, &a));
  PetscCall(PetscMemzero(a, n * n * n));
  PetscCall(PetscRandomCreate(PETSC_COMM_SELF, &rnd));
  PetscCall(PetscRandomSetSeed(rnd, 5));
  PetscCall(PetscRandomSeed(rnd));
  for (PetscInt s = 0; s < nsph; s++) {
    PetscReal c[3];
    for (int d = 0; d < 3; d++) {
      PetscCall(PetscRandomGetValueReal(rnd, &c[d]));
      c[d] *= n;
    }
    for (PetscInt z = 0; z < n; z++)
      for (PetscInt y = 0; y < n; y++)
        for (PetscInt x = 0; x < n; x++) {
          PetscReal dx = x + 0.5 - c[0], dy = y + 0.5 - c[1], dz = z + 0.5 - c[2];
          if (dx * dx + dy * dy + dz * dz < 16) a[(z * n + y) * n + x] = 1;
        }
  }
  PetscCall(PetscRandomDestroy(&rnd));
  for (int m = 0; m < 2; m++) {
    PetscCall(PetscOptionsSetValue(NULL, "-tau_solver", m ? "aij" : "mf"));
    PetscCall(Tau(a, n, n, n, D, 0, &ref, NULL)); /* -ksp_rtol 1e-12 from main */
    PetscCall(PetscOptionsClearValue(NULL, "-ksp_rtol"));
    PetscCall(Tau(a, n, n, n, D, 0, &r, NULL));
    PetscCall(PetscOptionsSetValue(NULL, "-ksp_rtol", "1e-12"));
    PetscCall(PetscOptionsClearValue(NULL, "-tau_solver"));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                          "stopping (%s): tau %.12f in %d iterations, %.12f in %d at rtol 1e-12 "
                          "(%.2e relative); %.1f bytes per voxel and iteration\n",
                          m ? "aij" : "mf", (double)r.tau, (int)r.iterations, (double)ref.tau,
                          (int)ref.iterations, (double)(r.tau / ref.tau - 1),
                          r.loop_its ? r.loop_bytes / r.loop_its / (double)(n * n * n) : 0.0));
    PetscCheck(ref.percolates && ref.tau > 1.2, PETSC_COMM_WORLD, PETSC_ERR_PLIB,
               "stopping: the sphere pack should percolate in x with tau > 1.2, got %g",
               (double)ref.tau);
    PetscCheck(r.iterations <= 9, PETSC_COMM_WORLD, PETSC_ERR_PLIB,
               "stopping (%s): %d iterations with the tau test, at most 9 expected",
               m ? "aij" : "mf", (int)r.iterations);
    CHECK_REL(r.tau, ref.tau, 1e-6, "stopping: tau with the tau test vs rtol 1e-12");
    PetscCheck(r.tau <= ref.tau * (1 + 1e-10), PETSC_COMM_WORLD, PETSC_ERR_PLIB,
               "stopping: tau from the energy must not exceed the converged one: %.15g > %.15g",
               (double)r.tau, (double)ref.tau);
    if (!m) {
      double b = r.loop_bytes / (double)r.loop_its / (double)(n * n * n);
      PetscCheck(r.loop_its > 0 && b > 190 && b < 220, PETSC_COMM_WORLD, PETSC_ERR_PLIB,
                 "stopping: %g counted bytes per voxel and CG iteration, expected 190-220", b);
    }
  }
  PetscCall(PetscFree(a));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestTranspose(void)
{
  const PetscInt nx = 14, ny = 11, nz = 9;
  unsigned char *a, *b;
  PetscReal      D[256] = {1};
  TCTauDirection rx, ry;
  PetscRandom    rnd;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(nx * ny * nz, &a, nx * ny * nz, &b));
  PetscCall(PetscRandomCreate(PETSC_COMM_SELF, &rnd));
  PetscCall(PetscRandomSetSeed(rnd, 7));
  PetscCall(PetscRandomSeed(rnd));
  for (PetscInt i = 0; i < nx * ny * nz; i++) {
    PetscReal u;
    PetscCall(PetscRandomGetValueReal(rnd, &u));
    a[i] = u < 0.62 ? 0 : 1; /* above the site-percolation threshold 0.31 */
  }
  PetscCall(PetscRandomDestroy(&rnd));
  for (PetscInt z = 0; z < nz; z++)
    for (PetscInt y = 0; y < ny; y++)
      for (PetscInt x = 0; x < nx; x++) b[(z * nx + x) * ny + y] = a[(z * ny + y) * nx + x];
  PetscCall(Tau(a, nx, ny, nz, D, 0, &rx, NULL));
  PetscCall(Tau(b, ny, nx, nz, D, 1, &ry, NULL));
  PetscCheck(rx.percolates && rx.tau > 1, PETSC_COMM_WORLD, PETSC_ERR_PLIB,
             "transpose: random volume should percolate with tau > 1 (tau %g)", (double)rx.tau);
  CHECK_REL(ry.tau, rx.tau, 1e-9, "transpose: tau_y(transposed) vs tau_x");
  CHECK_REL(ry.percolating_fraction, rx.percolating_fraction, 1e-15, "transpose: percolating");
  PetscCall(PetscFree2(a, b));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "transpose: tau_x %.12f, tau_y(T) %.12f\n",
                        (double)rx.tau, (double)ry.tau));
  PetscFunctionReturn(0);
}

/* A pore U: down a column at x = 1 from z = 0 to the bottom, along x at the
   bottom, and up a column at x = 6 to z = nz-1 ... plus one more column at
   x = 10 joined to the U only at z = nz-1: with several ranks, the bottom
   leg lives on the last rank and joins the two columns there. */
static PetscErrorCode TestClusters(void)
{
  const PetscInt nx = 12, ny = 3, nz = 11;
  unsigned char *a;
  PetscReal      D[256] = {1};
  TCTauDirection r;
  TCTauPhase     ps;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(nx * ny * nz, &a));
  for (PetscInt i = 0; i < nx * ny * nz; i++) a[i] = 1;
#define A(x, y, z) a[((z)*ny + (y)) * nx + (x)]
  for (PetscInt z = 0; z < nz; z++) A(1, 1, z) = 0, A(6, 1, z) = 0;
  for (PetscInt x = 1; x <= 6; x++) A(x, 1, nz - 1) = 0;
  for (PetscInt z = 3; z < nz; z++) A(10, 1, z) = 0; /* a column that starts at z = 3 */
  for (PetscInt x = 6; x <= 10; x++) A(x, 1, 3) = 0; /* joined to the U at z = 3 */
  A(3, 1, 5) = 0;                                    /* an isolated pore voxel */
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "clusters: U across slabs merged\n"));
#undef A
  PetscCall(Tau(a, nx, ny, nz, D, 2, &r, &ps));
  PetscCheck(ps.clusters == 2, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "clusters: %lld, expected 2",
             ps.clusters);
  CHECK_REL(ps.isolated_fraction, 1.0 / (PetscReal)ps.phase_voxels, 1e-15, "clusters: isolated");
  PetscCheck(r.percolates, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "clusters: z must percolate");
  CHECK_REL(r.percolating_fraction, 1.0 - 1.0 / (PetscReal)ps.phase_voxels, 1e-15,
            "clusters: percolating fraction");
  CHECK_REL(r.flux_out, r.flux_in, 1e-9, "clusters: flux balance");
  PetscCall(Tau(a, nx, ny, nz, D, 0, &r, NULL));
  PetscCheck(!r.percolates && r.blind_fraction == 0, PETSC_COMM_WORLD, PETSC_ERR_PLIB,
             "clusters: x must not percolate (x = 0 and x = nx-1 are solid)");
  PetscCall(PetscFree(a));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestReaders(void)
{
  const PetscInt      nx = 9, ny = 5, nz = 4;
  unsigned char       a[9 * 5 * 4];
  char                tif[PETSC_MAX_PATH_LEN], raw[PETSC_MAX_PATH_LEN];
  PetscMPIInt         rank;
  TCVolume            vol;
  TCVolumeReadOptions ro = {nx, ny, nz, 1, 0};

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  for (PetscInt i = 0; i < nx * ny * nz; i++) a[i] = (unsigned char)((i * 7) % 5);
  snprintf(tif, sizeof(tif), "test_readers_%d.tif", (int)getppid());
  snprintf(raw, sizeof(raw), "test_readers_%d.raw", (int)getppid());
  if (!rank) {
    TIFF *t  = TIFFOpen(tif, "w");
    FILE *fp = fopen(raw, "wb");
    PetscCheck(t && fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write test files");
    for (PetscInt z = 0; z < nz; z++) {
      TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)nx);
      TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)ny);
      TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
      TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
      TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
      TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
      TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
      for (PetscInt y = 0; y < ny; y++) TIFFWriteScanline(t, &a[(z * ny + y) * nx], (uint32_t)y, 0);
      TIFFWriteDirectory(t);
    }
    TIFFClose(t);
    fwrite(a, 1, sizeof(a), fp);
    fclose(fp);
  }
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  for (int k = 0; k < 2; k++) {
    PetscCall(TCVolumeRead(PETSC_COMM_WORLD, k ? raw : tif, &ro, &vol));
    PetscCheck(vol.nx == nx && vol.ny == ny && vol.nz == nz, PETSC_COMM_WORLD, PETSC_ERR_PLIB,
               "readers: %s has the wrong size", k ? "raw" : "tiff");
    for (PetscInt i = 0; i < (vol.z1 - vol.z0) * nx * ny; i++)
      PetscCheck(vol.lab[i] == a[vol.z0 * nx * ny + i], PETSC_COMM_SELF, PETSC_ERR_PLIB,
                 "readers: %s voxel %lld differs", k ? "raw" : "tiff", (long long)i);
    PetscCall(TCVolumeFree(&vol));
  }
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  if (!rank) unlink(tif), unlink(raw);
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  char      which[64] = "all";
  PetscBool all;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  if (argc > 1 && argv[1][0] != '-') PetscCall(PetscStrncpy(which, argv[1], sizeof(which)));
  PetscCall(PetscOptionsSetValue(NULL, "-ksp_rtol", "1e-12"));
  PetscCall(PetscStrcmp(which, "all", &all));
#define RUN(name, call)                                                                            \
  do {                                                                                             \
    PetscBool m;                                                                                   \
    PetscCall(PetscStrcmp(which, name, &m));                                                       \
    if (all || m) PetscCall(call);                                                                 \
  } while (0)
  RUN("channels", TestChannels());
  RUN("series", TestLayers(PETSC_TRUE));
  RUN("parallel", TestLayers(PETSC_FALSE));
  RUN("transpose", TestTranspose());
  RUN("solvers", TestSolvers());
  RUN("clusters", TestClusters());
  RUN("readers", TestReaders());
  RUN("stopping", TestStopping());
  PetscCall(PetscFinalize());
  return 0;
}
