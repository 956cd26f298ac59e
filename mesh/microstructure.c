/*
 * Synthetic electrode microstructures and calendering (see microstructure.h).
 */
#include "mesh/microstructure.h"
#include "io/h5.h"
#include "src/tc.h"
#include "tcversion.h"
#include <math.h>

/* xoshiro256** (Blackman & Vigna 2018), seeded by splitmix64. */
typedef struct {
  unsigned long long s[4];
} Rng;

static unsigned long long Rotl(unsigned long long x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static void RngSeed(Rng *r, unsigned long long seed)
{
  for (int i = 0; i < 4; i++) {
    unsigned long long z = (seed += 0x9e3779b97f4a7c15ULL);
    z                    = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z                    = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    r->s[i]              = z ^ (z >> 31);
  }
}

static double RngUniform(Rng *r) /* [0, 1) */
{
  unsigned long long *s = r->s, res = Rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = Rotl(s[3], 45);
  return (double)(res >> 11) * 0x1.0p-53;
}

static double RngNormal(Rng *r) /* Box-Muller */
{
  double u = RngUniform(r), v = RngUniform(r);
  return sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
}

/* Set label 1 in the voxels whose centres lie in the sphere (c, rad) in m;
   returns the number of voxels that changed from 0. If test_only, change
   nothing and return the number of voxels already non-zero (overlap test). */
static long long Sphere(unsigned char *lab, const TCMicroParams *p, const PetscReal c[3],
                        PetscReal rad, PetscBool test_only)
{
  PetscInt  n[3] = {p->nx, p->ny, p->nz}, lo[3], hi[3];
  PetscReal h = p->voxel_m, r2 = rad * rad;
  long long cnt = 0;

  for (int a = 0; a < 3; a++) {
    lo[a] = (PetscInt)PetscMax(0, floor((c[a] - rad) / h - 0.5));
    hi[a] = (PetscInt)PetscMin(n[a] - 1, ceil((c[a] + rad) / h - 0.5));
  }
  for (PetscInt z = lo[2]; z <= hi[2]; z++) {
    PetscReal dz = (z + 0.5) * h - c[2];
    for (PetscInt y = lo[1]; y <= hi[1]; y++) {
      PetscReal dy = (y + 0.5) * h - c[1], d2 = dz * dz + dy * dy;
      if (d2 > r2) continue;
      for (PetscInt x = lo[0]; x <= hi[0]; x++) {
        PetscReal      dx = (x + 0.5) * h - c[0];
        unsigned char *v  = &lab[(z * p->ny + y) * p->nx + x];
        if (d2 + dx * dx > r2) continue;
        if (test_only)
          cnt += *v != 0;
        else if (!*v)
          *v = 1, cnt++;
      }
    }
  }
  return cnt;
}

/* Deposit ncbd voxels of CBD (label 2) in the pore voxels with the most
   active (label 1) voxels among their 26 neighbours; ties broken at random. */
static PetscErrorCode DepositCBD(MPI_Comm comm, unsigned char *lab, const TCMicroParams *p,
                                 long long ncbd, Rng *rng)
{
  PetscInt       nx = p->nx, ny = p->ny, nz = p->nz;
  long long      nv = (long long)nx * ny * nz, hist[28] = {0}, need = ncbd, ntie = 0;
  unsigned char *score;
  long long     *tie;
  int            cut;

  PetscFunctionBeginUser;
  if (ncbd <= 0) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(nv, &score));
  for (PetscInt z = 0; z < nz; z++)
    for (PetscInt y = 0; y < ny; y++)
      for (PetscInt x = 0; x < nx; x++) {
        long long i = ((long long)z * ny + y) * nx + x;
        int       s = 0;
        if (lab[i]) {
          score[i] = 255;
          continue;
        }
        for (int dz = -1; dz <= 1; dz++)
          for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
              PetscInt X = x + dx, Y = y + dy, Z = z + dz;
              if (X < 0 || Y < 0 || Z < 0 || X >= nx || Y >= ny || Z >= nz) continue;
              s += lab[((long long)Z * ny + Y) * nx + X] == 1;
            }
        score[i] = (unsigned char)s;
        hist[s]++;
      }
  for (cut = 26; cut >= 0 && need > hist[cut]; cut--) need -= hist[cut];
  PetscCheck(cut >= 0, comm, PETSC_ERR_USER_INPUT,
             "cbd_fraction leaves too little pore space (need %lld CBD voxels)", ncbd);
  PetscCall(PetscMalloc1(hist[cut] + 1, &tie));
  for (long long i = 0; i < nv; i++) {
    if (score[i] == 255) continue;
    if (score[i] > cut)
      lab[i] = 2;
    else if (score[i] == cut)
      tie[ntie++] = i;
  }
  for (long long k = 0; k < need; k++) { /* partial Fisher-Yates */
    long long j = k + (long long)(RngUniform(rng) * (double)(ntie - k)), t = tie[j];
    tie[j] = tie[k], tie[k] = t;
    lab[t] = 2;
  }
  PetscCall(PetscFree(tie));
  PetscCall(PetscFree(score));
  PetscFunctionReturn(0);
}

static void Fractions(TCMicro *m)
{
  long long nv = (long long)m->p.nx * m->p.ny * m->p.nz, c[3] = {0, 0, 0};
  for (long long i = 0; i < nv; i++) c[m->lab[i] < 3 ? m->lab[i] : 0]++;
  m->porosity        = (PetscReal)c[0] / (PetscReal)nv;
  m->active_fraction = (PetscReal)c[1] / (PetscReal)nv;
  m->cbd_fraction    = (PetscReal)c[2] / (PetscReal)nv;
}

/* labels, CBD scores and the write: 3 bytes a voxel */
static PetscErrorCode CheckVolumeSize(MPI_Comm comm, double nx, double ny, double nz,
                                      const char hint[])
{
  char what[160];

  PetscFunctionBeginUser;
  snprintf(what, sizeof(what), "microstructure volume %.0f x %.0f x %.0f voxels", nx, ny, nz);
  PetscCall(TCCheckSize(comm, what, nx * ny * nz, 3 * nx * ny * nz, hint));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckParams(MPI_Comm comm, const TCMicroParams *p)
{
  PetscFunctionBeginUser;
  PetscCheck(p->nx > 0 && p->ny > 0 && p->nz > 0 && p->voxel_m > 0, comm, PETSC_ERR_USER_INPUT,
             "microstructure: size and voxel size must be positive");
  PetscCall(CheckVolumeSize(comm, p->nx, p->ny, p->nz, "reduce -size"));
  PetscCheck(p->porosity > 0 && p->porosity < 1 && p->cbd_fraction >= 0 &&
                 p->porosity + p->cbd_fraction < 1,
             comm, PETSC_ERR_USER_INPUT,
             "microstructure: porosity %g and cbd_fraction %g must leave room for active "
             "material (0 < porosity, porosity + cbd_fraction < 1)",
             (double)p->porosity, (double)p->cbd_fraction);
  PetscCheck(p->radius_m >= p->voxel_m && p->radius_sd >= 0 && p->radius_sd < 2, comm,
             PETSC_ERR_USER_INPUT,
             "microstructure: radius_m %g m must be at least one voxel (%g m) and radius_sd in "
             "[0, 2)",
             (double)p->radius_m, (double)p->voxel_m);
  PetscFunctionReturn(0);
}

PetscErrorCode TCMicroGenerate(MPI_Comm comm, const TCMicroParams *p, TCMicro *m)
{
  Rng       rng;
  long long nv = (long long)p->nx * p->ny * p->nz, want, have = 0, fails = 0;
  PetscInt  cap  = 1024;
  PetscReal L[3] = {p->nx * p->voxel_m, p->ny * p->voxel_m, p->nz * p->voxel_m};
  PetscReal s2 = log(1 + p->radius_sd * p->radius_sd), mu = log(p->radius_m) - 0.5 * s2;

  PetscFunctionBeginUser;
  PetscCall(CheckParams(comm, p));
  PetscCall(PetscMemzero(m, sizeof(*m)));
  m->p               = *p;
  m->calender_factor = 1;
  want               = (long long)llround((1 - p->porosity - p->cbd_fraction) * (double)nv);
  PetscCall(PetscCalloc1(nv, &m->lab));
  PetscCall(PetscMalloc1(4 * cap, &m->xyzr));
  RngSeed(&rng, p->seed);
  /* non-overlapping: a cell list of particle centres, cells of 2 rcap */
  PetscReal rcap = 4 * p->radius_m, cell = 2 * rcap + p->voxel_m;
  PetscInt  nc[3], *head = NULL, *next = NULL, ncell = 1;
  for (int a = 0; a < 3; a++)
    nc[a] = (PetscInt)PetscMax(1, ceil((L[a] + 2 * rcap) / cell)), ncell *= nc[a];
  if (!p->overlap) {
    PetscCall(PetscMalloc1(ncell, &head));
    for (PetscInt k = 0; k < ncell; k++) head[k] = -1;
    PetscCall(PetscMalloc1(cap, &next));
  }
  while (have < want) {
    PetscReal c[3], rad = exp(mu + sqrt(s2) * RngNormal(&rng));
    PetscInt  ci[3];
    rad = PetscMin(rad, rcap);
    for (int a = 0; a < 3; a++) c[a] = -rad + RngUniform(&rng) * (L[a] + 2 * rad);
    for (int a = 0; a < 3; a++) ci[a] = PetscMin(nc[a] - 1, (PetscInt)((c[a] + rcap) / cell));
    if (!p->overlap) {
      /* reject if closer than half a voxel to any particle (so that the
         rasterised particles do not touch either) */
      PetscBool hit = PETSC_FALSE;
      for (PetscInt dz = -1; dz <= 1 && !hit; dz++)
        for (PetscInt dy = -1; dy <= 1 && !hit; dy++)
          for (PetscInt dx = -1; dx <= 1 && !hit; dx++) {
            PetscInt X = ci[0] + dx, Y = ci[1] + dy, Z = ci[2] + dz;
            if (X < 0 || Y < 0 || Z < 0 || X >= nc[0] || Y >= nc[1] || Z >= nc[2]) continue;
            for (PetscInt q = head[(Z * nc[1] + Y) * nc[0] + X]; q >= 0 && !hit; q = next[q]) {
              const PetscReal *o  = &m->xyzr[4 * q];
              PetscReal        d2 = 0, lim = rad + o[3] + 0.5 * p->voxel_m;
              for (int a = 0; a < 3; a++) d2 += (c[a] - o[a]) * (c[a] - o[a]);
              hit = d2 < lim * lim ? PETSC_TRUE : PETSC_FALSE;
            }
          }
      if (hit) {
        PetscCheck(++fails < 100000, comm, PETSC_ERR_USER_INPUT,
                   "non-overlapping particles jammed at %.3f active fraction before reaching %.3f; "
                   "raise porosity or allow overlap (-overlap true)",
                   (double)have / (double)nv, (double)want / (double)nv);
        continue;
      }
    }
    fails = 0;
    have += Sphere(m->lab, p, c, rad, PETSC_FALSE);
    if (m->nparticles == cap) {
      PetscReal *more;
      PetscCall(PetscMalloc1(8 * cap, &more));
      PetscCall(PetscArraycpy(more, m->xyzr, 4 * cap));
      PetscCall(PetscFree(m->xyzr));
      m->xyzr = more, cap *= 2;
    }
    for (int a = 0; a < 3; a++) m->xyzr[4 * m->nparticles + a] = c[a];
    m->xyzr[4 * m->nparticles + 3] = rad;
    if (!p->overlap) {
      PetscInt k = (ci[2] * nc[1] + ci[1]) * nc[0] + ci[0];
      if (m->nparticles % 1024 == 0 && m->nparticles) {
        PetscInt *more;
        PetscCall(PetscMalloc1(m->nparticles + 1024, &more));
        PetscCall(PetscArraycpy(more, next, m->nparticles));
        PetscCall(PetscFree(next));
        next = more;
      }
      next[m->nparticles] = head[k];
      head[k]             = m->nparticles;
    }
    m->nparticles++;
  }
  PetscCall(PetscFree(head));
  PetscCall(PetscFree(next));
  PetscCall(DepositCBD(comm, m->lab, p, (long long)llround(p->cbd_fraction * (double)nv), &rng));
  Fractions(m);
  PetscFunctionReturn(0);
}

PetscErrorCode TCMicroCalender(MPI_Comm comm, const TCMicro *m, PetscReal target, TCMicro *out)
{
  TCMicroParams q    = m->p;
  PetscReal     eps0 = m->porosity, lam, lo = 0.5, hi = 2.0, s = 1.0;
  long long     nv, want_active, want_cbd;
  Rng           rng;

  PetscFunctionBeginUser;
  PetscCheck(target > 0 && target < eps0, comm, PETSC_ERR_USER_INPUT,
             "calendering compresses: the target porosity %g must lie between 0 and the current "
             "porosity %.4f",
             (double)target, (double)eps0);
  lam  = (1 - eps0) / (1 - target); /* thickness ratio: solids are incompressible */
  q.nz = (PetscInt)llround(m->p.nz * lam);
  PetscCheck(q.nz >= 2, comm, PETSC_ERR_USER_INPUT,
             "calendering to porosity %g leaves fewer than 2 voxels of thickness", (double)target);
  lam        = (PetscReal)q.nz / (PetscReal)m->p.nz; /* whole voxels */
  q.porosity = target;
  nv         = (long long)q.nx * q.ny * q.nz;
  /* the solids keep their volume up to the rounding of the thickness to whole
     voxels (< 1 voxel layer); they are split in their old ratio so that the
     target porosity is met exactly */
  want_cbd       = (long long)llround((1 - target) * (double)nv * m->cbd_fraction / (1 - eps0));
  want_active    = (long long)llround((1 - target) * (double)nv) - want_cbd;
  q.cbd_fraction = (PetscReal)want_cbd / (PetscReal)nv;
  PetscCall(PetscMemzero(out, sizeof(*out)));
  out->p               = q;
  out->nparticles      = m->nparticles;
  out->calender_factor = m->calender_factor * lam;
  PetscCall(PetscMalloc1(4 * m->nparticles + 1, &out->xyzr));
  PetscCall(PetscMalloc1(nv, &out->lab));
  /* bisection on the common radius factor s: active voxels grow monotonically with s */
  for (int it = 0; it < 40; it++) {
    long long have = 0;
    s              = 0.5 * (lo + hi);
    PetscCall(PetscArrayzero(out->lab, nv));
    for (PetscInt k = 0; k < m->nparticles; k++) {
      PetscReal c[3] = {m->xyzr[4 * k], m->xyzr[4 * k + 1], m->xyzr[4 * k + 2] * lam};
      have += Sphere(out->lab, &q, c, m->xyzr[4 * k + 3] * s, PETSC_FALSE);
    }
    if (have < want_active)
      lo = s;
    else
      hi = s;
    if (hi - lo < 1e-6 || llabs(have - want_active) <= want_active / 20000) break;
  }
  for (PetscInt k = 0; k < m->nparticles; k++) {
    out->xyzr[4 * k]     = m->xyzr[4 * k];
    out->xyzr[4 * k + 1] = m->xyzr[4 * k + 1];
    out->xyzr[4 * k + 2] = m->xyzr[4 * k + 2] * lam;
    out->xyzr[4 * k + 3] = m->xyzr[4 * k + 3] * s;
  }
  RngSeed(&rng, q.seed ^ 0x5bd1e995ULL);
  PetscCall(DepositCBD(comm, out->lab, &q, want_cbd, &rng));
  Fractions(out);
  PetscFunctionReturn(0);
}

PetscErrorCode TCMicroFree(TCMicro *m)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(m->xyzr));
  PetscCall(PetscFree(m->lab));
  PetscFunctionReturn(0);
}

PetscErrorCode TCMicroWrite(MPI_Comm comm, const TCMicro *m, const char path[])
{
  TCH5          h5;
  PetscMPIInt   rank;
  hsize_t       d3[3]  = {(hsize_t)m->p.nz, (hsize_t)m->p.ny, (hsize_t)m->p.nx};
  hsize_t       dp[2]  = {(hsize_t)m->nparticles, 4};
  unsigned char dummy  = 0;
  PetscReal     dummyr = 0;
  const char   *ms     = "/microstructure";

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(TCH5Create(comm, path, &h5));
  PetscCall(TCH5WriteRows(&h5, "/exchange/data", H5T_NATIVE_UCHAR, 3, d3, 0, rank ? 0 : d3[0],
                          rank ? &dummy : m->lab));
  PetscCall(TCH5WriteAttrReal(&h5, "/exchange/data", "pixel_size_m", (double)m->p.voxel_m));
  PetscCall(TCH5WriteAttrString(&h5, "/exchange/data", "axes", "z:y:x"));
  PetscCall(TCH5WriteAttrString(&h5, "/exchange/data", "labels",
                                "{\"pore\": 0, \"active\": 1, \"carbon_binder\": 2}"));
  {
    hsize_t one = 1;
    PetscCall(TCH5WriteRows(&h5, "/measurement/instrument/detector/pixel_size", H5T_NATIVE_DOUBLE,
                            1, &one, 0, rank ? 0 : 1, rank ? &dummyr : &m->p.voxel_m));
  }
  PetscCall(TCH5WriteRows(&h5, "/microstructure/particles_m", H5T_NATIVE_DOUBLE, 2, dp, 0,
                          rank ? 0 : dp[0], rank || !m->nparticles ? &dummyr : m->xyzr));
  PetscCall(TCH5WriteAttrString(&h5, "/microstructure/particles_m", "columns", "x,y,z,radius"));
  PetscCall(TCH5WriteAttrReal(&h5, ms, "porosity", (double)m->porosity));
  PetscCall(TCH5WriteAttrReal(&h5, ms, "active_fraction", (double)m->active_fraction));
  PetscCall(TCH5WriteAttrReal(&h5, ms, "cbd_fraction", (double)m->cbd_fraction));
  PetscCall(TCH5WriteAttrReal(&h5, ms, "target_porosity", (double)m->p.porosity));
  PetscCall(TCH5WriteAttrReal(&h5, ms, "target_cbd_fraction", (double)m->p.cbd_fraction));
  PetscCall(TCH5WriteAttrReal(&h5, ms, "radius_m", (double)m->p.radius_m));
  PetscCall(TCH5WriteAttrReal(&h5, ms, "radius_sd", (double)m->p.radius_sd));
  PetscCall(TCH5WriteAttrInt(&h5, ms, "overlap", (long long)m->p.overlap));
  PetscCall(TCH5WriteAttrInt(&h5, ms, "seed", (long long)m->p.seed));
  PetscCall(TCH5WriteAttrReal(&h5, ms, "calender_factor", (double)m->calender_factor));
  PetscCall(TCH5WriteAttrString(&h5, "/", "tomocell_version", TC_VERSION));
  PetscCall(TCH5Close(&h5));
  PetscFunctionReturn(0);
}

static PetscErrorCode ReadAttr(MPI_Comm comm, hid_t file, const char *path, const char *obj,
                               const char *name, double *v)
{
  hid_t a;

  PetscFunctionBeginUser;
  PetscCheck(H5Aexists_by_name(file, obj, name, H5P_DEFAULT) > 0, comm, PETSC_ERR_USER_INPUT,
             "%s: attribute %s of %s is missing (not written by tomocell microstructure?)", path,
             name, obj);
  a = H5Aopen_by_name(file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
  TCH5Call(comm, H5Aread(a, H5T_NATIVE_DOUBLE, v), "H5Aread(%s)", name);
  H5Aclose(a);
  PetscFunctionReturn(0);
}

/* What a read volume must hold before it is calendered: a positive voxel
   size (0 hung the calendering, NaN went into the output), particles with
   finite centres and positive radii, the generation parameters in range. An
   empty msg: all is well. */
static void MicroCheckRead(const TCMicro *m, char msg[], size_t len)
{
  const TCMicroParams *p = &m->p;

  msg[0] = 0;
  if (!(p->voxel_m > 0 && PetscIsNormalReal(p->voxel_m) && p->voxel_m < 1)) {
    snprintf(msg, len, "the voxel size pixel_size_m = %g m is not in (0, 1) m", (double)p->voxel_m);
    return;
  }
  for (PetscInt i = 0; i < m->nparticles; i++) {
    const PetscReal *q = m->xyzr + 4 * i;
    if (!(isfinite(q[0]) && isfinite(q[1]) && isfinite(q[2]) && q[3] > 0 && isfinite(q[3]))) {
      snprintf(msg, len,
               "particle %" PetscInt_FMT " of /microstructure/particles_m is (%g, %g, %g) m with "
               "radius %g m: centres must be finite and radii positive",
               i, (double)q[0], (double)q[1], (double)q[2], (double)q[3]);
      return;
    }
  }
  if (!(p->porosity > 0 && p->porosity < 1 && p->cbd_fraction >= 0 && p->cbd_fraction < 1 &&
        p->radius_m > 0 && isfinite(p->radius_m) && p->radius_sd >= 0 && p->radius_sd < 2 &&
        m->calender_factor > 0 && m->calender_factor <= 1))
    snprintf(msg, len,
             "the attributes of /microstructure are out of range (target_porosity %g, "
             "target_cbd_fraction %g, radius_m %g, radius_sd %g, calender_factor %g)",
             (double)p->porosity, (double)p->cbd_fraction, (double)p->radius_m,
             (double)p->radius_sd, (double)m->calender_factor);
}

PetscErrorCode TCMicroRead(MPI_Comm comm, const char path[], TCMicro *m)
{
  TCH5    h5;
  hid_t   d, s;
  hsize_t dims[3];
  double  v;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(m, sizeof(*m)));
  PetscCall(TCH5Open(comm, path, &h5));
  PetscCheck(H5Lexists(h5.file, "/microstructure", H5P_DEFAULT) > 0 &&
                 H5Lexists(h5.file, "/microstructure/particles_m", H5P_DEFAULT) > 0,
             comm, PETSC_ERR_USER_INPUT,
             "%s has no particle list (/microstructure/particles_m): calendering works on "
             "volumes written by tomocell microstructure; voxel-only CT volumes are not supported "
             "yet",
             path);
  d = H5Dopen2(h5.file, "/exchange/data", H5P_DEFAULT);
  TCH5Call(comm, d, "H5Dopen(%s:/exchange/data)", path);
  s = H5Dget_space(d);
  PetscCheck(H5Sget_simple_extent_ndims(s) == 3, comm, PETSC_ERR_USER_INPUT,
             "%s:/exchange/data is not 3-D", path);
  H5Sget_simple_extent_dims(s, dims, NULL);
  if (!(dims[0] > 0 && dims[1] > 0 && dims[2] > 0)) {
    H5Sclose(s);
    H5Dclose(d);
    PetscCall(TCH5Close(&h5));
    SETERRQ(comm, PETSC_ERR_USER_INPUT, "%s:/exchange/data is empty (%llu x %llu x %llu voxels)",
            path, (unsigned long long)dims[2], (unsigned long long)dims[1],
            (unsigned long long)dims[0]);
  }
  PetscCall(CheckVolumeSize(comm, (double)dims[2], (double)dims[1], (double)dims[0],
                            "calendering works on volumes of at most this size"));
  m->p.nz = (PetscInt)dims[0], m->p.ny = (PetscInt)dims[1], m->p.nx = (PetscInt)dims[2];
  PetscCall(PetscMalloc1(dims[0] * dims[1] * dims[2], &m->lab));
  TCH5Call(comm, H5Dread(d, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, m->lab),
           "H5Dread(%s:/exchange/data)", path);
  H5Sclose(s);
  H5Dclose(d);
  PetscCall(ReadAttr(comm, h5.file, path, "/exchange/data", "pixel_size_m", &v));
  m->p.voxel_m = v;
  d            = H5Dopen2(h5.file, "/microstructure/particles_m", H5P_DEFAULT);
  s            = H5Dget_space(d);
  H5Sget_simple_extent_dims(s, dims, NULL);
  m->nparticles = (PetscInt)dims[0];
  PetscCall(PetscMalloc1(4 * dims[0] + 1, &m->xyzr));
  if (dims[0])
    TCH5Call(comm, H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, m->xyzr),
             "H5Dread(particles_m)");
  H5Sclose(s);
  H5Dclose(d);
#define GET(field, name)                                                                           \
  PetscCall(ReadAttr(comm, h5.file, path, "/microstructure", name, &v));                           \
  m->field = v
  GET(p.porosity, "target_porosity");
  GET(p.cbd_fraction, "target_cbd_fraction");
  GET(p.radius_m, "radius_m");
  GET(p.radius_sd, "radius_sd");
  GET(calender_factor, "calender_factor");
  PetscCall(ReadAttr(comm, h5.file, path, "/microstructure", "overlap", &v));
  m->p.overlap = v != 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(ReadAttr(comm, h5.file, path, "/microstructure", "seed", &v));
  m->p.seed = (unsigned long long)v;
#undef GET
  PetscCall(TCH5Close(&h5));
  {
    char msg[256];
    MicroCheckRead(m, msg, sizeof(msg));
    if (msg[0]) {
      PetscCall(TCMicroFree(m));
      SETERRQ(comm, PETSC_ERR_USER_INPUT,
              "%s: %s (not a volume written by tomocell microstructure?)", path, msg);
    }
  }
  Fractions(m);
  PetscFunctionReturn(0);
}
