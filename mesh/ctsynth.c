/*
 * Synthetic CT of a jelly roll (see ctsynth.h).
 */
#include "mesh/ctsynth.h"
#include "io/stack.h"
#include "src/tc.h"
#include <math.h>

enum { M_VOID, M_SEP, M_ANODE, M_AL, M_CATHODE, M_CU };
static const float tc_atten[] = {0.0f, 0.08f, 0.15f, 0.45f, 0.6f, 1.0f};

PetscErrorCode TCRenderSetSize(TCSpiral sp, TCRenderParams *rp)
{
  const TCSpiralParams *p;
  PetscReal             phi0, phi1, R = 0;

  PetscFunctionBeginUser;
  PetscCall(TCSpiralGetParams(sp, &p));
  PetscCheck(rp->pixel_m > 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "render_pixel_size_m must be positive");
  TCSpiralFoilPhiRange(sp, TC_FOIL_CU, &phi0, &phi1);
  for (PetscReal phi = phi1 - 2 * PETSC_PI; phi <= phi1; phi += 0.01)
    R = PetscMax(R, TCSpiralRadius(sp, TC_FOIL_CU, phi));
  R += PetscAbsReal(p->centre_m[0]) + PetscAbsReal(p->centre_m[1]) + TCSpiralPitch(sp);
  if (rp->nx <= 0 || rp->ny <= 0) {
    PetscInt n = 2 * (PetscInt)ceil(1.05 * R / rp->pixel_m) + 2;
    rp->nx = rp->ny = n;
  }
  if (rp->nz <= 0) rp->nz = 1;
  if (rp->supersample <= 0) rp->supersample = 1;
  PetscFunctionReturn(0);
}

static int TCRenderMaterial(TCSpiral sp, const TCSpiralParams *p, PetscReal x, PetscReal y)
{
  PetscReal rho = sqrt(x * x + y * y), th = atan2(y, x), scu = 0, sal = 0, dcu, dal;
  if (th < 0) th += 2 * PETSC_PI;
  dcu = TCSpiralDistance(sp, TC_FOIL_CU, rho, th, &scu);
  dal = TCSpiralDistance(sp, TC_FOIL_AL, rho, th, &sal);
  if (dcu <= 0.5 * p->t_cu_m) return M_CU;
  if (dal <= 0.5 * p->t_al_m) return M_AL;
  if (dal <= 0.5 * p->t_al_m + p->t_pos_m && TCSpiralCoated(sp, TC_FOIL_AL, sal)) return M_CATHODE;
  if (dcu <= 0.5 * p->t_cu_m + p->t_neg_m && TCSpiralCoated(sp, TC_FOIL_CU, scu)) return M_ANODE;
  if (dcu <= 0.5 * p->t_cu_m + p->t_neg_m + p->t_sep_m ||
      dal <= 0.5 * p->t_al_m + p->t_pos_m + p->t_sep_m)
    return M_SEP;
  return M_VOID;
}

/* xorshift64* and Box-Muller: reproducible noise for a given seed and slice */
static double TCRand(unsigned long long *st)
{
  unsigned long long x = *st;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *st = x;
  return ((x * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

static PetscErrorCode TCBlur(float *img, PetscInt nx, PetscInt ny, PetscReal sigma)
{
  PetscInt   R = (PetscInt)ceil(3 * sigma), n = PetscMax(nx, ny);
  PetscReal *w, sum                           = 0;
  float     *line;

  PetscFunctionBeginUser;
  /* below 0.1 px the kernel is a delta (neighbour weight < 1e-21), and sigma^2
     may underflow to 0 (0/0 weights) */
  if (!(sigma >= 0.1)) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(2 * R + 1, &w));
  PetscCall(PetscMalloc1(n, &line));
  for (PetscInt k = -R; k <= R; k++) sum += (w[k + R] = exp(-0.5 * k * k / (sigma * sigma)));
  for (PetscInt k = 0; k <= 2 * R; k++) w[k] /= sum;
  for (PetscInt j = 0; j < ny; j++) {
    float *row = img + j * nx;
    for (PetscInt i = 0; i < nx; i++) {
      PetscReal a = 0;
      for (PetscInt k = -R; k <= R; k++) {
        PetscInt ii = PetscMin(PetscMax(i + k, 0), nx - 1);
        a += w[k + R] * row[ii];
      }
      line[i] = (float)a;
    }
    PetscCall(PetscArraycpy(row, line, nx));
  }
  for (PetscInt i = 0; i < nx; i++) {
    for (PetscInt j = 0; j < ny; j++) {
      PetscReal a = 0;
      for (PetscInt k = -R; k <= R; k++) {
        PetscInt jj = PetscMin(PetscMax(j + k, 0), ny - 1);
        a += w[k + R] * img[jj * nx + i];
      }
      line[j] = (float)a;
    }
    for (PetscInt j = 0; j < ny; j++) img[j * nx + i] = line[j];
  }
  PetscCall(PetscFree(w));
  PetscCall(PetscFree(line));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRenderSlice(TCSpiral sp, const TCRenderParams *rp, PetscInt k, float *img)
{
  const TCSpiralParams *p;
  PetscReal             px = rp->pixel_m, cx, cy, zrel;
  PetscInt              nx = rp->nx, ny = rp->ny, ss = rp->supersample;

  PetscFunctionBeginUser;
  PetscCall(TCSpiralGetParams(sp, &p));
  zrel = ((k + 0.5) - 0.5 * rp->nz) * px;
  cx   = p->centre_m[0] + zrel * tan(rp->tilt_rad);
  cy   = p->centre_m[1];
  for (PetscInt j = 0; j < ny; j++) {
    for (PetscInt i = 0; i < nx; i++) {
      PetscReal x = (i + 0.5 - 0.5 * nx) * px - cx, y = (j + 0.5 - 0.5 * ny) * px - cy;
      if (rp->mode == TC_RENDER_LABELS) {
        PetscReal rho = sqrt(x * x + y * y), th = atan2(y, x), lab = 0;
        if (th < 0) th += 2 * PETSC_PI;
        if (TCSpiralDistance(sp, TC_FOIL_CU, rho, th, NULL) <= PetscMax(0.5 * p->t_cu_m, 0.5 * px))
          lab = 1;
        else if (TCSpiralDistance(sp, TC_FOIL_AL, rho, th, NULL) <=
                 PetscMax(0.5 * p->t_al_m, 0.5 * px))
          lab = 2;
        img[j * nx + i] = (float)lab;
      } else {
        PetscReal a = 0;
        for (PetscInt b = 0; b < ss; b++)
          for (PetscInt c = 0; c < ss; c++)
            a += tc_atten[TCRenderMaterial(sp, p, x + ((c + 0.5) / ss - 0.5) * px,
                                           y + ((b + 0.5) / ss - 0.5) * px)];
        img[j * nx + i] = (float)(a / (ss * ss));
      }
    }
  }
  if (rp->mode == TC_RENDER_GRAY) {
    PetscCall(TCBlur(img, nx, ny, rp->blur_px));
    if (rp->noise > 0) {
      unsigned long long st = 0x9E3779B97F4A7C15ULL ^ ((unsigned long long)(rp->seed + 1) << 20) ^
                              (unsigned long long)(k + 1);
      for (int w = 0; w < 8; w++) TCRand(&st);
      for (PetscInt q = 0; q < nx * ny; q += 2) {
        double u1 = TCRand(&st), u2 = TCRand(&st), r = sqrt(-2 * log(u1 + 1e-300));
        img[q] += (float)(rp->noise * r * cos(2 * PETSC_PI * u2));
        if (q + 1 < nx * ny) img[q + 1] += (float)(rp->noise * r * sin(2 * PETSC_PI * u2));
      }
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCRenderWrite(TCSpiral sp, const TCRenderParams *rp, MPI_Comm comm,
                             const char path[])
{
  PetscMPIInt    rank, size;
  PetscInt       z0, z1, npix;
  float         *img;
  void          *out;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  z0 = rp->nz * rank / size;
  z1 = rp->nz * (rank + 1) / size;
  {
    char   what[128];
    double n = (double)rp->nx * (double)rp->ny, nloc = n * PetscMax(z1 - z0, 1);
    snprintf(what, sizeof(what), "render %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT,
             rp->nz, rp->ny, rp->nx);
    /* the slice (float), this rank's slices (labels: 1 byte, gray: 4) */
    PetscCall(TCCheckSize(comm, what, nloc,
                          4 * n + (rp->mode == TC_RENDER_LABELS ? 1 : 4) * nloc,
                          "reduce -render_nx or -render_nz, or raise -render_pixel_size_m"));
  }
  npix = rp->nx * rp->ny; /* checked above to fit */
  PetscCall(PetscMalloc1(npix, &img));
  if (rp->mode == TC_RENDER_LABELS)
    PetscCall(PetscMalloc1(npix * PetscMax(z1 - z0, 1), (unsigned char **)&out));
  else
    PetscCall(PetscMalloc1(npix * PetscMax(z1 - z0, 1), (float **)&out));
  for (PetscInt k = z0; k < z1; k++) {
    PetscCall(TCRenderSlice(sp, rp, k, img));
    if (rp->mode == TC_RENDER_LABELS) {
      unsigned char *o = (unsigned char *)out + (k - z0) * npix;
      for (PetscInt q = 0; q < npix; q++) o[q] = (unsigned char)img[q];
    } else
      PetscCall(PetscArraycpy((float *)out + (k - z0) * npix, img, npix));
  }
  ierr = TCStackWrite(comm, path, rp->nz, rp->ny, rp->nx, z0, z1 - z0,
                      rp->mode == TC_RENDER_LABELS ? H5T_NATIVE_UCHAR : H5T_NATIVE_FLOAT, out,
                      rp->pixel_m);
  PetscCall(PetscFree(out)); /* also when the write failed (a full disk) */
  PetscCall(PetscFree(img));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
