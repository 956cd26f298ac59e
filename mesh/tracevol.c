/*
 * Tracing a CT volume into the layers of a roll network (see tracevol.h).
 */
#include "mesh/tracevol.h"
#include "io/png.h"
#include "io/stack.h"
#include "mesh/graph.h"
#include "mesh/tracecan.h"
#include "mesh/tracedefect.h"
#include "src/tc.h"
#include <ctype.h>
#include <math.h>
#include <strings.h>

#define TC_TRACE_SKIP_WHY 512

struct _p_TCTraceVolume {
  MPI_Comm    comm;
  PetscMPIInt rank, size;
  char        path[PETSC_MAX_PATH_LEN], dataset[256];
  TCTrace     tr;
  TCStack     vol;
  PetscReal   px, px_set, pz, pz_set, tcu, tal, scu, sal, pitch, height;
  PetscInt    nz, ny, nx, stride, nsel, s0, s1, cul, nf, map[2];
  /* slices: the range [a0, a1) (trace_slices), this rank's kept (traced and
     holding the roll) slices res[0, nloc) with their indices in the file
     zidx, their offset among all kept ones k0 and the total nkept; the
     skipped ones (every rank: index and reason) */
  char     slices_opt[64], px_src[24], px_from[320], pz_src[24], pz_from[160];
  PetscInt a0, a1, nloc, k0, nkept, nskip, *zidx, *skip_idx;
  char (*skip_why)[TC_TRACE_SKIP_WHY];
  /* the pixel from the can: its outer diameter (m, and what gave it), the fit, its slice */
  PetscReal      can_d;
  char           can_basis[96];
  TCCanFit       can;
  PetscInt       can_slice;
  PetscInt       labels[TC_TRACE_MAX_FOILS];
  PetscBool      isint, is2d, traced;
  TCTraceSlice  *res;
  PetscLogDouble t_open, t_trace;
  /* per-foil statistics over all traced slices (every rank) */
  PetscReal st[TC_TRACE_MAX_FOILS][8], mn[TC_TRACE_MAX_FOILS][3], thr_any;
  PetscInt  tot;
  PetscBool gray_any, allow_incomplete;
  /* self-check per foil over the slices: worst values, first failing slice */
  PetscReal chk[TC_TRACE_MAX_FOILS][5];
  PetscInt  bad_slice[TC_TRACE_MAX_FOILS];
  char      bad_why[TC_TRACE_MAX_FOILS][256];
  /* Cu/Al: how the choice was made and the evidence; the file's text attributes */
  char cu_basis[32], cu_evidence[768], meta[4096];
  /* defects of every traced slice (mesh/tracedefect.h), the same list on every rank */
  PetscReal      gap_factor;
  PetscInt       ndef;
  TCTraceDefect *def;
};

/* per-foil statistics: sums over the traced slices */
enum { ST_LEN, ST_WIND, ST_RIN, ST_ROUT, ST_CX, ST_CY, ST_GAP, ST_THK, ST_N };

static PetscErrorCode TraceSummarize(TCTraceVolume tv);

PetscErrorCode TCTraceVolumeCreate(MPI_Comm comm, TCTraceVolume *tv)
{
  PetscFunctionBeginUser;
  PetscCall(PetscNew(tv));
  (*tv)->comm   = comm;
  (*tv)->stride = 1;
  (*tv)->nf     = -1;
  (*tv)->map[0] = (*tv)->map[1] = -1;
  (*tv)->tcu                    = 12e-6;
  (*tv)->tal                    = 16e-6;
  (*tv)->scu                    = 5.8411e7;
  (*tv)->sal                    = 3.6914e7;
  (*tv)->gap_factor             = 1.3;
  PetscCallMPI(MPI_Comm_rank(comm, &(*tv)->rank));
  PetscCallMPI(MPI_Comm_size(comm, &(*tv)->size));
  PetscCall(TCTraceCreate(comm, &(*tv)->tr));
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceVolumeSetFromDeck(TCTraceVolume tv, TCDeck deck)
{
  PetscBool set;
  PetscReal tmp;
  PetscInt  e;

  PetscFunctionBeginUser;
  PetscCall(TCDeckGetString(deck, "trace_dataset", tv->dataset, sizeof(tv->dataset), &set));
  PetscCall(TCDeckGetReal(deck, "trace_pixel_size_m", &tv->px_set));
  PetscCall(TCDeckGetEnum(deck, "trace_mode", &e));
  PetscCall(TCDeckGetInt(deck, "trace_slice_stride", &tv->stride));
  PetscCall(TCDeckGetString(deck, "trace_slices", tv->slices_opt, sizeof(tv->slices_opt), &set));
  if (!set) tv->slices_opt[0] = 0;
  PetscCall(TCDeckGetReal(deck, "trace_pixel_size_z_m", &tv->pz_set));
  PetscCall(TCDeckGetReal(deck, "trace_can_diameter_m", &tv->can_d));
  if (tv->can_d > 0)
    PetscCall(PetscStrncpy(tv->can_basis, "trace_can_diameter_m", sizeof(tv->can_basis)));
  PetscCall(TCDeckGetInt(deck, "trace_cu_label", &tv->cul));
  PetscCall(TCDeckGetBool(deck, "trace_allow_incomplete", &tv->allow_incomplete));
  PetscCall(TCDeckGetReal(deck, "trace_cu_thickness_m", &tv->tcu));
  PetscCall(TCDeckGetReal(deck, "trace_al_thickness_m", &tv->tal));
  PetscCall(TCDeckGetReal(deck, "trace_cu_sigma_S_m", &tv->scu));
  PetscCall(TCDeckGetReal(deck, "trace_al_sigma_S_m", &tv->sal));
  PetscCall(TCDeckGetReal(deck, "trace_gap_factor", &tv->gap_factor));
  /* read by the slice tracer from the options; checked here as deck keys */
  PetscCall(TCDeckGetReal(deck, "trace_threshold", &tmp));
  PetscCall(TCDeckGetReal(deck, "trace_smooth_px", &tmp));
  PetscCall(TCDeckGetReal(deck, "trace_min_turns", &tmp));
  PetscCall(TCDeckGetReal(deck, "trace_sigma_px", &tmp));
  PetscCall(TCDeckGetReal(deck, "trace_resample_px", &tmp));
  PetscCall(TCTraceSetFromOptions(tv->tr));
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceVolumeSetPixelSize(TCTraceVolume tv, PetscReal px)
{
  PetscFunctionBeginUser;
  if (px > 0) tv->px_set = px;
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceVolumeSetCanDiameter(TCTraceVolume tv, PetscReal d, const char basis[])
{
  PetscFunctionBeginUser;
  if (d > 0) {
    tv->can_d = d;
    PetscCall(PetscStrncpy(tv->can_basis, basis, sizeof(tv->can_basis)));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceVolumeSetPixelSizeZ(TCTraceVolume tv, PetscReal pz)
{
  PetscFunctionBeginUser;
  if (pz > 0) tv->pz_set = pz;
  PetscFunctionReturn(0);
}

/* Rank 0's traced slice to every rank (curves and statistics). */
static PetscErrorCode TraceBcastSlice(MPI_Comm comm, TCTraceSlice *r)
{
  PetscMPIInt  rank;
  TCTraceSlice tmp;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  tmp = *r;
  PetscCallMPI(MPI_Bcast(&tmp, (PetscMPIInt)sizeof(tmp), MPI_BYTE, 0, comm));
  if (rank != 0) {
    *r = tmp; /* pointers are rank 0's: replaced below */
    for (PetscInt f = 0; f < r->nfoils; f++) {
      PetscCall(PetscMalloc1(r->foil[f].n, &r->foil[f].x));
      PetscCall(PetscMalloc1(r->foil[f].n, &r->foil[f].y));
    }
  }
  for (PetscInt f = 0; f < r->nfoils; f++) {
    PetscCallMPI(MPI_Bcast(r->foil[f].x, (PetscMPIInt)r->foil[f].n, MPIU_REAL, 0, comm));
    PetscCallMPI(MPI_Bcast(r->foil[f].y, (PetscMPIInt)r->foil[f].n, MPIU_REAL, 0, comm));
  }
  PetscFunctionReturn(0);
}

/* Foils: the same set in every slice (Cu and Al: TraceCuAl). */
static PetscErrorCode TraceChooseFoils(TCTraceVolume tv)
{
  MPI_Comm comm = tv->comm;
  PetscInt s0 = tv->s0, s1 = tv->s1, lnf = s1 > s0 ? tv->res[0].nfoils : -1, mn, mx, nf;
  PetscInt a[2] = {lnf < 0 ? PETSC_MAX_INT : lnf, lnf < 0 ? -1 : lnf}, b[2];

  PetscFunctionBeginUser;
  for (PetscInt q = s0; q < s1; q++) {
    a[0] = PetscMin(a[0], tv->res[q - s0].nfoils);
    a[1] = PetscMax(a[1], tv->res[q - s0].nfoils);
  }
  a[1] = -a[1];
  PetscCallMPI(MPI_Allreduce(a, b, 2, MPIU_INT, MPI_MIN, comm));
  mn = b[0];
  mx = -b[1];
  PetscCheck(mn == mx, comm, PETSC_ERR_USER_INPUT,
             "%s: slices trace different numbers of foils (%" PetscInt_FMT " to %" PetscInt_FMT
             "); trace one foil at a time with -trace_label",
             tv->path, mn, mx);
  nf = tv->nf = mn;
  PetscCheck(nf <= 2, comm, PETSC_ERR_USER_INPUT,
             "%s: %" PetscInt_FMT " foils traced; a roll network joins two (Cu and Al): pick "
             "them with -trace_label",
             tv->path, nf);
  for (PetscInt f = 0; f < TC_TRACE_MAX_FOILS; f++) tv->labels[f] = 0;
  if (s1 > s0)
    for (PetscInt f = 0; f < nf; f++) tv->labels[f] = tv->res[0].foil[f].label;
  PetscCallMPI(
      MPI_Allreduce(MPI_IN_PLACE, tv->labels, TC_TRACE_MAX_FOILS, MPIU_INT, MPI_MAX, comm));
  /* winding pitch: the largest mean gap between successive turns */
  tv->pitch = 0;
  for (PetscInt q = s0; q < s1; q++)
    for (PetscInt f = 0; f < nf; f++)
      if (isfinite(tv->res[q - s0].foil[f].gap_mean_m))
        tv->pitch = PetscMax(tv->pitch, tv->res[q - s0].foil[f].gap_mean_m);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &tv->pitch, 1, MPIU_REAL, MPI_MAX, comm));
  PetscFunctionReturn(0);
}

typedef struct {
  char  *buf;
  size_t len;
} TraceMetaBuf;

/* H5Aiterate2 callback: append "name: value; " of a text attribute. */
static herr_t TraceMetaAttr(hid_t o, const char *name, const H5A_info_t *info, void *ctx)
{
  TraceMetaBuf *mb        = (TraceMetaBuf *)ctx;
  hid_t         a         = H5Aopen(o, name, H5P_DEFAULT), t;
  char          val[1024] = "";

  (void)info;
  if (a < 0) return 0;
  t = H5Aget_type(a);
  if (H5Tget_class(t) == H5T_STRING) {
    hid_t sp = H5Aget_space(a);
    if (H5Sget_simple_extent_npoints(sp) == 1) {
      hid_t mt = H5Tcopy(H5T_C_S1);
      H5Tset_cset(mt, H5Tget_cset(t));
      if (H5Tis_variable_str(t) > 0) {
        char *vs = NULL;
        H5Tset_size(mt, H5T_VARIABLE);
        if (H5Aread(a, mt, &vs) >= 0 && vs) {
          snprintf(val, sizeof(val), "%s", vs);
          H5free_memory(vs);
        }
      } else if (H5Tget_size(t) < sizeof(val)) {
        H5Tset_size(mt, sizeof(val));
        if (H5Aread(a, mt, val) < 0) val[0] = 0;
      }
      H5Tclose(mt);
    }
    H5Sclose(sp);
  }
  H5Tclose(t);
  H5Aclose(a);
  if (val[0] && strlen(mb->buf) + strlen(name) + strlen(val) + 5 < mb->len) {
    strcat(mb->buf, name);
    strcat(mb->buf, ": ");
    strcat(mb->buf, val);
    strcat(mb->buf, "; ");
  }
  return 0;
}

/* Append the text attributes of object obj ("name: value; ") to buf. */
static void TraceMetaAppend(hid_t file, const char obj[], char *buf, size_t len)
{
  TraceMetaBuf mb = {buf, len};
  hid_t        o;
  hsize_t      idx = 0;
  if (strcmp(obj, "/") && H5Lexists(file, obj, H5P_DEFAULT) <= 0) return;
  o = H5Oopen(file, obj, H5P_DEFAULT);
  if (o < 0) return;
  H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, &idx, TraceMetaAttr, &mb);
  H5Oclose(o);
}

/* Collective: the text attributes of the root and of the image dataset of an
   HDF5 file (empty for TIFF), read on rank 0. */
static PetscErrorCode TraceReadMeta(TCTraceVolume tv)
{
  PetscFunctionBeginUser;
  tv->meta[0] = 0;
  if (tv->rank == 0) {
    H5E_auto2_t fn;
    void       *data;
    H5Eget_auto2(H5E_DEFAULT, &fn, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (H5Fis_hdf5(tv->path) > 0) {
      hid_t f = H5Fopen(tv->path, H5F_ACC_RDONLY, H5P_DEFAULT);
      if (f >= 0) {
        TraceMetaAppend(f, tv->dataset[0] ? tv->dataset : "/exchange/data", tv->meta,
                        sizeof(tv->meta));
        TraceMetaAppend(f, "/", tv->meta, sizeof(tv->meta));
        H5Fclose(f);
      }
    }
    H5Eset_auto2(H5E_DEFAULT, fn, data);
  }
  PetscCallMPI(MPI_Bcast(tv->meta, sizeof(tv->meta), MPI_CHAR, 0, tv->comm));
  PetscFunctionReturn(0);
}

/* What the file's text says about the negative (Cu) foil: a word for the
   negative side (neg, negative, anode, cu, copper) or the positive side (pos,
   positive, cathode, al, aluminium) next to a label number among the traced
   labels (the nearest number within three words, the preceding one on a
   tie). Returns the Cu label, or 0 when the text says nothing or
   contradicts itself; quote gets the words around the evidence. */
static PetscInt TraceMetaCu(const char *text, const PetscInt labels[], PetscInt nf, char *quote,
                            size_t qlen)
{
  enum { MAXT = 1024 };
  const char *start[MAXT];
  int tlen[MAXT], nt = 0, votes_cu[TC_TRACE_MAX_FOILS] = {0}, votes_al[TC_TRACE_MAX_FOILS] = {0};
  const char *negw[] = {"neg", "negative", "anode", "cu", "copper"};
  const char *posw[] = {"pos", "positive", "cathode", "al", "aluminium", "aluminum"};
  const char *qfirst = NULL;
  PetscInt    cu = 0, al = 0;

  for (const char *p = text; *p && nt < MAXT;) {
    while (*p && !isalnum((unsigned char)*p)) p++;
    if (!*p) break;
    start[nt] = p;
    while (*p && isalnum((unsigned char)*p)) p++;
    tlen[nt] = (int)(p - start[nt]);
    nt++;
  }
  for (int i = 0; i < nt; i++) {
    int kind = 0, best = -1, bd = 99;
    for (size_t w = 0; w < sizeof(negw) / sizeof(negw[0]); w++)
      if ((int)strlen(negw[w]) == tlen[i] && !strncasecmp(start[i], negw[w], tlen[i])) kind = 1;
    for (size_t w = 0; w < sizeof(posw) / sizeof(posw[0]); w++)
      if ((int)strlen(posw[w]) == tlen[i] && !strncasecmp(start[i], posw[w], tlen[i])) kind = 2;
    if (!kind) continue;
    for (int j = PetscMax(0, i - 3); j <= PetscMin(nt - 1, i + 3); j++) {
      PetscBool num = PETSC_TRUE;
      for (int c = 0; c < tlen[j]; c++)
        num = (PetscBool)(num && isdigit((unsigned char)start[j][c]));
      if (j == i || !num || tlen[j] > 5) continue;
      if (abs(j - i) < bd || (abs(j - i) == bd && j < i)) {
        bd   = abs(j - i);
        best = j;
      }
    }
    if (best < 0) continue;
    for (PetscInt f = 0; f < nf; f++)
      if (labels[f] == atoi(start[best])) {
        if (kind == 1)
          votes_cu[f]++;
        else
          votes_al[f]++;
        if (!qfirst) qfirst = start[PetscMin(i, best)];
      }
  }
  for (PetscInt f = 0; f < nf; f++) {
    if (votes_cu[f] && !votes_al[f]) cu = cu ? -1 : labels[f];
    if (votes_al[f] && !votes_cu[f]) al = al ? -1 : labels[f];
  }
  if (cu < 0 || al < 0 || (cu > 0 && al == cu)) return 0;
  if (cu == 0 && al > 0 && nf == 2) cu = labels[0] == al ? labels[1] : labels[0];
  if (cu > 0 && qfirst) {
    const char *a = qfirst;
    while (a > text && !strchr(";(", a[-1]) && qfirst - a < 60) a--;
    if (a > text && !strchr(";(", a[-1]))
      while (*a && *a != ' ' && a < qfirst) a++; /* not from the middle of a word */
    while (*a == ' ') a++;
    snprintf(quote, qlen, "%.*s", (int)PetscMin(strcspn(a, ";"), 160), a);
  }
  return cu;
}

/* Collective (same result everywhere): which traced foil is Cu, and why.
   -trace_cu_label; grayscale: the thin line is Cu; else the file's text
   (TraceMetaCu); else the lowest label, said to be assumed, with the
   winding (ends, lengths) as evidence for the user. */
static PetscErrorCode TraceCuAl(TCTraceVolume tv)
{
  const PetscInt tot = PetscMax(tv->tot, 1), nf = tv->nf;
  PetscInt       cu         = -1;
  char           quote[256] = "";

  PetscFunctionBeginUser;
  tv->map[0] = 0;
  tv->map[1] = nf > 1 ? 1 : -1;
  if (nf < 2) {
    PetscCall(PetscStrncpy(tv->cu_basis, nf == 1 ? "one foil" : "none", sizeof(tv->cu_basis)));
    snprintf(tv->cu_evidence, sizeof(tv->cu_evidence),
             "one foil traced (label %d); it is stored as the Cu foil of the network",
             (int)tv->labels[0]);
  } else if (tv->cul > 0) {
    for (PetscInt f = 0; f < nf; f++)
      if (tv->labels[f] == tv->cul) cu = f;
    PetscCheck(cu >= 0, tv->comm, PETSC_ERR_USER_INPUT,
               "-trace_cu_label %" PetscInt_FMT " is not among the traced labels (%d, %d)", tv->cul,
               (int)tv->labels[0], (int)tv->labels[1]);
    PetscCall(PetscStrncpy(tv->cu_basis, "option", sizeof(tv->cu_basis)));
    snprintf(tv->cu_evidence, sizeof(tv->cu_evidence), "-trace_cu_label %d", (int)tv->cul);
  } else if (tv->gray_any) {
    cu = 0;
    PetscCall(PetscStrncpy(tv->cu_basis, "gray run width", sizeof(tv->cu_basis)));
    snprintf(
        tv->cu_evidence, sizeof(tv->cu_evidence),
        "grayscale: the thin bright line (traced width %.1f um) is the Cu foil, the broad band "
        "(%.1f um) the cathode coating around the Al foil",
        (double)(1e6 * tv->st[0][ST_THK] / tot), (double)(1e6 * tv->st[1][ST_THK] / tot));
  } else {
    PetscInt ml = TraceMetaCu(tv->meta, tv->labels, nf, quote, sizeof(quote));
    for (PetscInt f = 0; f < nf; f++)
      if (ml > 0 && tv->labels[f] == ml) cu = f;
    if (cu >= 0) {
      PetscCall(PetscStrncpy(tv->cu_basis, "metadata", sizeof(tv->cu_basis)));
      snprintf(tv->cu_evidence, sizeof(tv->cu_evidence), "the file says \"%s\"", quote);
    } else {
      /* the winding is evidence, not proof: the negative electrode wraps
         the core and overhangs the positive in common cylindrical cells, but
         designs differ (an outer Al wrap, a longer Al foil) and a deformed
         core moves the inner ends; so it is reported, and the lowest label
         is taken unless the file or -trace_cu_label says otherwise */
      PetscReal px = tv->px, rin[2], rout[2], len[2];
      PetscInt  w  = -1;
      for (PetscInt f = 0; f < 2; f++) {
        rin[f]  = tv->st[f][ST_RIN] / tot;
        rout[f] = tv->st[f][ST_ROUT] / tot;
        len[f]  = tv->st[f][ST_LEN] / tot;
      }
      for (PetscInt f = 0; f < 2; f++)
        if (rin[f] < rin[1 - f] - px && rout[f] > rout[1 - f] + px && len[f] > len[1 - f]) w = f;
      cu = 0;
      PetscCall(PetscStrncpy(tv->cu_basis, "assumed", sizeof(tv->cu_basis)));
      {
        char hint[128] = "";
        if (w >= 0)
          snprintf(hint, sizeof(hint),
                   "; label %d overhangs the other at both ends and is longer, as a negative "
                   "electrode would",
                   (int)tv->labels[w]);
        snprintf(tv->cu_evidence, sizeof(tv->cu_evidence),
                 "no metadata names the foils: the lowest label %d is taken as Cu (winding: label "
                 "%d r %.4g -> %.4g mm, %.4g m; label %d r %.4g -> %.4g mm, %.4g m%s); set "
                 "-trace_cu_label if the segmentation says otherwise",
                 (int)tv->labels[0], (int)tv->labels[0], (double)(1e3 * rin[0]),
                 (double)(1e3 * rout[0]), (double)len[0], (int)tv->labels[1],
                 (double)(1e3 * rin[1]), (double)(1e3 * rout[1]), (double)len[1], hint);
      }
    }
  }
  if (nf >= 2 && cu >= 0) {
    tv->map[0] = cu;
    tv->map[1] = 1 - cu;
  }
  PetscFunctionReturn(0);
}

/* The slice range A:B of trace_slices into [a0, a1) (B exclusive; an empty
   side is the start or end of the stack). */
static PetscErrorCode TraceParseSlices(TCTraceVolume tv)
{
  const char *t = tv->slices_opt, *colon = strchr(t, ':');
  char       *end;
  long        a = 0, b = (long)tv->nz;
  PetscBool   ok = (PetscBool)(colon != NULL);

  PetscFunctionBeginUser;
  tv->a0 = 0;
  tv->a1 = tv->nz;
  if (!t[0]) PetscFunctionReturn(0);
  if (ok && colon > t) {
    a  = strtol(t, &end, 10);
    ok = (PetscBool)(end == colon && isdigit((unsigned char)t[0]));
  }
  if (ok && colon[1]) {
    b  = strtol(colon + 1, &end, 10);
    ok = (PetscBool)(!*end && isdigit((unsigned char)colon[1]));
  }
  PetscCheck(
      ok && a >= 0 && a < b && b <= tv->nz, tv->comm, PETSC_ERR_USER_INPUT,
      "-trace_slices %s: expected A:B, the slices A to B - 1 with 0 <= A < B <= %" PetscInt_FMT
      " (the slices of %s; A: or :B for the start or the end)",
      t, tv->nz, tv->path);
  tv->a0 = (PetscInt)a;
  tv->a1 = (PetscInt)b;
  PetscFunctionReturn(0);
}

/* Collective. Which traced slices of a volume hold the roll: a slice whose
   trace failed (no foreground, no spiral: a cap, a vent, a tab, an empty
   slice), or that traces a different number of foils than most, or fewer
   than half the median turns of the others (an almost empty slice: the
   stub of a spiral), is skipped with its reason; the rest are compacted
   into res[0, nloc) with their file indices zidx. ok/why: this rank's
   traced slices q (0 <= q < s1 - s0) and the error of those that failed. */
static PetscErrorCode TraceSelectSlices(TCTraceVolume tv, const PetscBool ok[],
                                        char (*why)[TC_TRACE_SKIP_WHY])
{
  MPI_Comm   comm = tv->comm;
  PetscInt   n = tv->nsel, nl = tv->s1 - tv->s0, mode = -1, cnt[TC_TRACE_MAX_FOILS + 1] = {0};
  PetscInt   nw = 0, nloc = 0, nskip_loc = 0, *nfs;
  PetscReal *wind, *ws, med              = 0;
  PetscBool *keep;
  char(*mywhy)[TC_TRACE_SKIP_WHY];

  PetscFunctionBeginUser;
  PetscCall(PetscCalloc4(n, &nfs, n, &wind, n, &ws, PetscMax(nl, 1), &keep));
  PetscCall(PetscCalloc1(PetscMax(nl, 1), &mywhy));
  /* every slice's foils and turns (the fewest of its foils) on every rank */
  for (PetscInt q = 0; q < nl; q++) {
    nfs[tv->s0 + q] = ok[q] ? tv->res[q].nfoils + 1 : 0;
    if (ok[q]) {
      PetscReal w = PETSC_MAX_REAL;
      for (PetscInt f = 0; f < tv->res[q].nfoils; f++) w = PetscMin(w, tv->res[q].foil[f].windings);
      wind[tv->s0 + q] = tv->res[q].nfoils > 0 ? w : 0;
    }
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, nfs, (PetscMPIInt)n, MPIU_INT, MPI_SUM, comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, wind, (PetscMPIInt)n, MPIU_REAL, MPI_SUM, comm));
  /* the roll's number of foils: the most common (the larger on a tie) */
  for (PetscInt k = 0; k < n; k++)
    if (nfs[k] > 0) cnt[PetscMin(nfs[k] - 1, TC_TRACE_MAX_FOILS)]++;
  for (PetscInt f = TC_TRACE_MAX_FOILS; f >= 1; f--)
    if (cnt[f] > 0 && (mode < 0 || cnt[f] > cnt[mode])) mode = f;
  for (PetscInt k = 0; k < n; k++)
    if (nfs[k] - 1 == mode) ws[nw++] = wind[k];
  if (nw > 0) {
    PetscCall(PetscSortReal(nw, ws));
    med = nw % 2 ? ws[nw / 2] : 0.5 * (ws[nw / 2 - 1] + ws[nw / 2]);
  }
  for (PetscInt q = 0; q < nl; q++) {
    PetscInt k = tv->s0 + q;
    keep[q]    = (PetscBool)(ok[q] && nfs[k] - 1 == mode && wind[k] >= 0.5 * med);
    if (!ok[q])
      PetscCall(PetscStrncpy(mywhy[q], why[q], sizeof(mywhy[q])));
    else if (nfs[k] - 1 != mode)
      snprintf(mywhy[q], sizeof(mywhy[q]),
               "traces %d foil(s), the roll's slices %d: not a slice of the roll",
               (int)(nfs[k] - 1), (int)mode);
    else if (!keep[q])
      snprintf(mywhy[q], sizeof(mywhy[q]),
               "almost empty: a spiral of %.2f turns, under half the median %.2f turns of the "
               "stack's slices",
               (double)wind[k], (double)med);
    nloc += keep[q];
    nskip_loc += !keep[q];
  }
  /* the skipped slices, in order, on every rank */
  {
    PetscMPIInt *rc, *rd, *bc, *bd, sz = tv->size, m = (PetscMPIInt)nskip_loc;
    PetscInt    *idx;
    char(*wl)[TC_TRACE_SKIP_WHY];
    PetscCall(PetscMalloc4(sz, &rc, sz, &rd, sz, &bc, sz, &bd));
    PetscCallMPI(MPI_Allgather(&m, 1, MPI_INT, rc, 1, MPI_INT, comm));
    tv->nskip = 0;
    for (PetscMPIInt r = 0; r < sz; r++) {
      rd[r] = (PetscMPIInt)tv->nskip;
      bc[r] = rc[r] * TC_TRACE_SKIP_WHY;
      bd[r] = rd[r] * TC_TRACE_SKIP_WHY;
      tv->nskip += rc[r];
    }
    PetscCall(PetscMalloc2(PetscMax(nskip_loc, 1), &idx, PetscMax(nskip_loc, 1), &wl));
    for (PetscInt q = 0, j = 0; q < nl; q++)
      if (!keep[q]) {
        idx[j] = (tv->s0 + q) * tv->stride + tv->a0;
        PetscCall(PetscStrncpy(wl[j++], mywhy[q], TC_TRACE_SKIP_WHY));
      }
    PetscCall(
        PetscMalloc2(PetscMax(tv->nskip, 1), &tv->skip_idx, PetscMax(tv->nskip, 1), &tv->skip_why));
    PetscCallMPI(MPI_Allgatherv(idx, m, MPIU_INT, tv->skip_idx, rc, rd, MPIU_INT, comm));
    PetscCallMPI(
        MPI_Allgatherv(wl, m * TC_TRACE_SKIP_WHY, MPI_CHAR, tv->skip_why, bc, bd, MPI_CHAR, comm));
    PetscCall(PetscFree2(idx, wl));
    PetscCall(PetscFree4(rc, rd, bc, bd));
  }
  /* compact this rank's kept slices */
  PetscCall(PetscMalloc1(PetscMax(nloc, 1), &tv->zidx));
  for (PetscInt q = 0, j = 0; q < nl; q++) {
    if (keep[q]) {
      tv->zidx[j] = (tv->s0 + q) * tv->stride + tv->a0;
      if (j != q) {
        tv->res[j] = tv->res[q];
        PetscCall(PetscMemzero(&tv->res[q], sizeof(tv->res[q])));
      }
      j++;
    } else
      PetscCall(TCTraceSliceReset(&tv->res[q]));
  }
  tv->nloc = nloc;
  PetscCallMPI(MPI_Allreduce(&nloc, &tv->nkept, 1, MPIU_INT, MPI_SUM, comm));
  PetscCallMPI(MPI_Exscan(&nloc, &tv->k0, 1, MPIU_INT, MPI_SUM, comm));
  if (tv->rank == 0) tv->k0 = 0;
  PetscCall(PetscFree4(nfs, wind, ws, keep));
  PetscCall(PetscFree(mywhy));
  for (PetscInt j = 0; j < tv->nskip; j++)
    PetscCall(TCPrintf(comm, "  slice %" PetscInt_FMT " skipped: %s\n", tv->skip_idx[j],
                       tv->skip_why[j]));
  PetscCheck(tv->nkept > 0, comm, PETSC_ERR_USER_INPUT,
             "%s: none of the %" PetscInt_FMT " selected slices holds a roll (slice %" PetscInt_FMT
             ": %s); choose the slices with -trace_slices A:B",
             tv->path, tv->nsel, tv->skip_idx[0], tv->skip_why[0]);
  {
    PetscInt first = tv->nloc > 0 ? tv->zidx[0] : PETSC_MAX_INT;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPIU_INT, MPI_MIN, comm));
    PetscCheck(tv->nkept > 1, comm, PETSC_ERR_USER_INPUT,
               "%s: of the %" PetscInt_FMT " selected slices only slice %" PetscInt_FMT
               " holds a roll; a volume's network needs two: select more with -trace_slices, or "
               "trace that slice alone as a 2-D image",
               tv->path, tv->nsel, first);
  }
  PetscFunctionReturn(0);
}

/* z spacing: -pixel_size_z / trace_pixel_size_z_m, else the file's
   (TCStackGetPixelSizeZ), else the x-y pixel (isotropic voxels). */
static PetscErrorCode TraceZSpacing(TCTraceVolume tv)
{
  PetscReal   pz;
  const char *from;

  PetscFunctionBeginUser;
  PetscCall(TCStackGetPixelSizeZ(tv->vol, &pz, &from));
  if (tv->pz_set > 0) {
    tv->pz = tv->pz_set;
    PetscCall(PetscStrncpy(tv->pz_src, "option", sizeof(tv->pz_src)));
    PetscCall(
        PetscStrncpy(tv->pz_from, "-pixel_size_z (trace_pixel_size_z_m)", sizeof(tv->pz_from)));
  } else if (pz > 0) {
    tv->pz = pz;
    PetscCall(PetscStrncpy(tv->pz_src, "file", sizeof(tv->pz_src)));
    PetscCall(PetscStrncpy(tv->pz_from, from, sizeof(tv->pz_from)));
  } else {
    tv->pz = tv->px;
    PetscCall(PetscStrncpy(tv->pz_src, "xy_pixel", sizeof(tv->pz_src)));
    PetscCall(PetscStrncpy(tv->pz_from,
                           "the x-y pixel: the file states no z spacing (isotropic voxels assumed; "
                           "set -pixel_size_z)",
                           sizeof(tv->pz_from)));
  }
  PetscFunctionReturn(0);
}

/* Collective. The file states no pixel size: the pixel from the can's
   outer diameter (trace_can_diameter_m), fitted in the middle selected
   slice on rank 0 (TCTraceCanFit). */
static PetscErrorCode TracePixelFromCan(TCTraceVolume tv)
{
  MPI_Comm comm = tv->comm;
  PetscInt k = tv->a0 + (tv->nz == 1 ? 0 : ((tv->a1 - tv->a0 - 1) / tv->stride / 2) * tv->stride);
  char     why[320] = "";

  PetscFunctionBeginUser;
  PetscCheck(tv->can_d > 0, comm, PETSC_ERR_USER_INPUT,
             "%s: no pixel size: the file has neither attribute pixel_size_m on %s nor "
             "/measurement/instrument/detector/pixel_size; give it with -pixel_size (metres), or "
             "the can's outer diameter with -can_diameter_m (or -preset 18650|21700) to measure "
             "it from the can",
             tv->path, tv->dataset[0] ? tv->dataset : "/exchange/data");
  tv->can_slice = k;
  if (tv->rank == 0) {
    float    *img;
    PetscInt  nd = 0;
    PetscBool labels;
    PetscCall(PetscMalloc1(tv->nx * tv->ny, &img));
    PetscCall(TCStackReadSlice(tv->vol, k, img));
    /* a segmentation (integers, at most 16 values) shows no can */
    labels = tv->isint;
    {
      float vals[17];
      for (PetscInt q = 0; q < tv->nx * tv->ny && labels; q++) {
        PetscInt v = 0;
        while (v < nd && vals[v] != img[q]) v++;
        if (v == nd) {
          if (nd == 16)
            labels = PETSC_FALSE;
          else
            vals[nd++] = img[q];
        }
      }
    }
    if (labels)
      snprintf(why, sizeof(why),
               "slice %d is a segmentation (%d labels), which shows no can to measure", (int)k,
               (int)nd);
    else {
      PetscCall(TCTraceCanFit(img, tv->nx, tv->ny, &tv->can));
      if (!tv->can.found) snprintf(why, sizeof(why), "slice %d: %s", (int)k, tv->can.why);
    }
    PetscCall(PetscFree(img));
  }
  PetscCallMPI(MPI_Bcast(&tv->can, (PetscMPIInt)sizeof(tv->can), MPI_BYTE, 0, comm));
  PetscCallMPI(MPI_Bcast(why, (PetscMPIInt)sizeof(why), MPI_CHAR, 0, comm));
  PetscCheck(!why[0], comm, PETSC_ERR_USER_INPUT,
             "%s: no pixel size in the file, and the can (outer diameter %g mm, %s) was not "
             "measured: %s; give the pixel size with -pixel_size (metres)",
             tv->path, (double)(1e3 * tv->can_d), tv->can_basis, why);
  tv->px = tv->can_d / tv->can.diameter_px;
  PetscCall(PetscStrncpy(tv->px_src, "can", sizeof(tv->px_src)));
  snprintf(tv->px_from, sizeof(tv->px_from),
           "the can's outer diameter %g mm (%s) over its %.2f px fitted in slice %d",
           (double)(1e3 * tv->can_d), tv->can_basis, (double)tv->can.diameter_px, (int)k);
  PetscCall(TCPrintf(comm,
                     "  pixel from the can: outer diameter %.2f px (circle fit to %d edge points, "
                     "rms %.2f px) = %g mm (%s): pixel %.6g m\n",
                     (double)tv->can.diameter_px, (int)tv->can.points, (double)tv->can.rms_px,
                     (double)(1e3 * tv->can_d), tv->can_basis, (double)tv->px));
  PetscFunctionReturn(0);
}

/* Not collective: the defects found in slices that TraceSelectSlices skipped
   are not the roll's; keep those of this rank's kept slices zidx[0, nloc). */
static PetscErrorCode TraceDropSkippedDefects(TCTraceVolume tv)
{
  PetscInt m = 0;

  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < tv->ndef; k++) {
    PetscBool kept = PETSC_FALSE;
    for (PetscInt j = 0; j < tv->nloc && !kept; j++)
      kept = (PetscBool)(tv->zidx[j] == tv->def[k].slice);
    if (kept) tv->def[m++] = tv->def[k];
  }
  tv->ndef = m;
  PetscFunctionReturn(0);
}

/* Collective: every rank's defects to every rank (slice order), their foil
   index mapped to Cu / Al. */
static PetscErrorCode TraceGatherDefects(TCTraceVolume tv)
{
  PetscMPIInt    nb  = (PetscMPIInt)(tv->ndef * (PetscInt)sizeof(TCTraceDefect)), *cnt, *dsp;
  PetscInt       tot = 0;
  TCTraceDefect *all;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(tv->size, &cnt, tv->size, &dsp));
  PetscCallMPI(MPI_Allgather(&nb, 1, MPI_INT, cnt, 1, MPI_INT, tv->comm));
  for (PetscMPIInt r = 0; r < tv->size; r++) {
    dsp[r] = (PetscMPIInt)(tot * (PetscInt)sizeof(TCTraceDefect));
    tot += cnt[r] / (PetscInt)sizeof(TCTraceDefect);
  }
  PetscCall(PetscMalloc1(PetscMax(tot, 1), &all));
  PetscCallMPI(MPI_Allgatherv(tv->def, nb, MPI_BYTE, all, cnt, dsp, MPI_BYTE, tv->comm));
  PetscCall(PetscFree2(cnt, dsp));
  PetscCall(PetscFree(tv->def));
  tv->def  = all;
  tv->ndef = tot;
  for (PetscInt k = 0; k < tot; k++)
    if (all[k].d.foil >= 0)
      all[k].d.foil = all[k].d.foil == tv->map[0]   ? TC_FOIL_CU
                      : all[k].d.foil == tv->map[1] ? TC_FOIL_AL
                                                    : -1;
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceVolumeTrace(TCTraceVolume tv, const char path[])
{
  MPI_Comm       comm = tv->comm;
  PetscLogDouble t0, t1, t2;
  float         *img;
  PetscBool     *ok;
  char(*why)[TC_TRACE_SKIP_WHY];
  const char *src;

  PetscFunctionBeginUser;
  PetscCheck(!tv->traced, comm, PETSC_ERR_ORDER, "TCTraceVolumeTrace called twice");
  PetscCall(PetscTime(&t0));
  PetscCall(PetscStrncpy(tv->path, path, sizeof(tv->path)));
  PetscCall(PetscLogEventBegin(TC_EVENT_DeckRead, 0, 0, 0, 0));
  PetscCall(TCStackOpen(comm, path, tv->dataset[0] ? tv->dataset : NULL,
                        tv->px_set > 0 ? tv->px_set : -1, &tv->vol));
  PetscCall(TCStackGetSizes(tv->vol, &tv->nz, &tv->ny, &tv->nx));
  PetscCall(TCStackGetPixelSize(tv->vol, &tv->px));
  PetscCall(TCStackGetPixelSource(tv->vol, &src));
  PetscCall(PetscStrncpy(tv->px_src, tv->px_set > 0 ? "option" : "file", sizeof(tv->px_src)));
  PetscCall(PetscStrncpy(tv->px_from, tv->px_set > 0 ? "-pixel_size (trace_pixel_size_m)" : src,
                         sizeof(tv->px_from)));
  PetscCall(TCStackIsInteger(tv->vol, &tv->isint));
  PetscCall(PetscLogEventEnd(TC_EVENT_DeckRead, 0, 0, 0, 0));
  PetscCheck(tv->nx >= 16 && tv->ny >= 16, comm, PETSC_ERR_USER_INPUT,
             "%s: slices of %" PetscInt_FMT " x %" PetscInt_FMT
             " pixels are too small to hold a jelly roll",
             path, tv->nx, tv->ny);
  PetscCall(TraceParseSlices(tv));
  if (tv->px > 0 && tv->can_d > 0)
    PetscCall(TCPrintf(comm,
                       "  the pixel size is given (%s): the can's diameter (%s) is not used\n",
                       tv->px_from, tv->can_basis));
  if (!(tv->px > 0)) PetscCall(TracePixelFromCan(tv));
  PetscCall(TraceZSpacing(tv));
  tv->is2d = (PetscBool)(tv->nz == 1);
  tv->nsel = tv->is2d ? 1 : (tv->a1 - tv->a0 - 1) / tv->stride + 1;
  PetscCheck(tv->is2d || tv->nsel >= 2, comm, PETSC_ERR_USER_INPUT,
             "%s: the selected slices (%" PetscInt_FMT " to %" PetscInt_FMT
             ", stride %" PetscInt_FMT ") are one slice; a volume's network needs two (widen "
             "-trace_slices or lower -trace_slice_stride)",
             path, tv->a0, tv->a1 - 1, tv->stride);
  /* slices: a 2-D image is traced on rank 0 and its curves broadcast; a
     volume's selected slices are split in contiguous blocks */
  if (tv->is2d) {
    tv->s0 = 0;
    tv->s1 = 1;
  } else {
    tv->s0 = tv->nsel * tv->rank / tv->size;
    tv->s1 = tv->nsel * (tv->rank + 1) / tv->size;
  }
  PetscCall(TCPrintf(comm,
                     "  tracing %s: %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT
                     " (z, y, x), pixel %g m (%s), %" PetscInt_FMT " slice(s) on %d rank(s)\n",
                     path, tv->nz, tv->ny, tv->nx, (double)tv->px, tv->px_src, tv->nsel, tv->size));
  if (!tv->is2d)
    PetscCall(TCPrintf(comm,
                       "  slices %" PetscInt_FMT " to %" PetscInt_FMT " every %" PetscInt_FMT
                       ", z spacing %g m (%s)\n",
                       tv->a0, tv->a1 - 1, tv->stride, (double)tv->pz, tv->pz_from));
  PetscCall(PetscMalloc1(tv->nx * tv->ny, &img));
  PetscCall(PetscCalloc1(PetscMax(tv->s1 - tv->s0, 1), &tv->res));
  PetscCall(PetscCalloc2(PetscMax(tv->s1 - tv->s0, 1), &ok, PetscMax(tv->s1 - tv->s0, 1), &why));
  PetscCall(PetscTime(&t1));
  {
    PetscErrorCode ierr      = 0;
    char           msg[1024] = "";
    for (PetscInt q = tv->s0; q < tv->s1 && (!ierr || !tv->is2d) && (!tv->is2d || tv->rank == 0);
         q++) {
      PetscInt k = tv->a0 + q * tv->stride;
      char     what[PETSC_MAX_PATH_LEN + 64];
      snprintf(what, sizeof(what), "%s slice %" PetscInt_FMT, path, k);
      PetscCall(PetscLogEventBegin(TC_EVENT_Build, 0, 0, 0, 0));
      PetscCall(TCStackReadSlice(tv->vol, k, img));
      PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
      ierr = TCTraceRun(tv->tr, img, tv->nx, tv->ny, tv->px, tv->isint, what, &tv->res[q - tv->s0]);
      PetscCall(PetscPopErrorHandler());
      if (!ierr)
        PetscCall(TCTraceDefectsFind(&tv->res[q - tv->s0], img, tv->nx, tv->ny, tv->px,
                                     tv->gap_factor, k, tv->is2d ? -1.0 : (k + 0.5) * tv->pz,
                                     &tv->ndef, &tv->def));
      PetscCall(PetscLogEventEnd(TC_EVENT_Build, 0, 0, 0, 0));
      ok[q - tv->s0] = (PetscBool)!ierr;
      if (ierr) {
        const char *text, *m;
        char       *specific = NULL;
        PetscCall(PetscErrorMessage(ierr, &text, &specific));
        snprintf(msg, sizeof(msg), "%s", specific && specific[0] ? specific : text);
        /* the reason without "path slice k: " */
        m = strncmp(msg, what, strlen(what)) ? msg : msg + strlen(what);
        while (*m == ':' || *m == ' ') m++;
        /* the reason, cut to the skip table's width */
        PetscCall(PetscStrncpy(why[q - tv->s0], m, sizeof(why[q - tv->s0])));
        PetscCall(TCTraceSliceReset(&tv->res[q - tv->s0]));
        PetscCall(PetscMemzero(&tv->res[q - tv->s0], sizeof(tv->res[q - tv->s0])));
      }
    }
    PetscCall(PetscFree(img));
    /* a 2-D image: its one slice must trace; a volume skips the slices
       without a roll (TraceSelectSlices) */
    if (tv->is2d) PetscCall(TCCheckAll(comm, (PetscBool)!ierr, PETSC_ERR_USER_INPUT, msg));
  }
  if (tv->is2d) {
    if (tv->size > 1) PetscCall(TraceBcastSlice(comm, &tv->res[0]));
    tv->nloc = tv->nkept = 1;
    PetscCall(PetscMalloc1(1, &tv->zidx));
    tv->zidx[0] = 0;
  } else {
    PetscCall(TraceSelectSlices(tv, ok, why));
    PetscCall(TraceDropSkippedDefects(tv));
  }
  PetscCall(PetscFree2(ok, why));
  /* from here res[0, nloc) are the kept slices */
  tv->s0 = 0;
  tv->s1 = tv->nloc;
  if (!tv->is2d) {
    PetscInt e[2] = {tv->nloc ? tv->zidx[0] : PETSC_MAX_INT,
                     tv->nloc ? -tv->zidx[tv->nloc - 1] : PETSC_MAX_INT};
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, e, 2, MPIU_INT, MPI_MIN, comm));
    tv->height = (-e[1] - e[0] + tv->stride) * tv->pz;
  }
  PetscCall(TraceChooseFoils(tv));
  PetscCall(TraceSummarize(tv));
  PetscCall(TraceReadMeta(tv));
  PetscCall(TraceCuAl(tv));
  PetscCall(TraceGatherDefects(tv));
  for (PetscInt f = 0; f < tv->nf; f++)
    if (tv->bad_slice[f] != PETSC_MAX_INT) {
      char msg[1024];
      snprintf(msg, sizeof(msg),
               "%s: the traced foil label %d is incomplete (slice %d): %s; check the trace, or "
               "accept it with -trace_allow_incomplete",
               path, (int)tv->labels[f], (int)tv->bad_slice[f], tv->bad_why[f]);
      PetscCheck(tv->allow_incomplete, comm, PETSC_ERR_USER_INPUT, "%s", msg);
      PetscCall(TCPrintf(comm, "  warning: %s\n", msg));
    }
  PetscCall(PetscTime(&t2));
  tv->t_open  = t1 - t0;
  tv->t_trace = t2 - t1;
  tv->traced  = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceVolumeIsSlice(TCTraceVolume tv, PetscBool *is2d)
{
  PetscFunctionBeginUser;
  PetscCheck(tv->traced, tv->comm, PETSC_ERR_ORDER, "call TCTraceVolumeTrace first");
  *is2d = tv->is2d;
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceVolumeGetNetParams(TCTraceVolume tv, TCRollNetParams *np)
{
  PetscFunctionBeginUser;
  PetscCheck(tv->traced, tv->comm, PETSC_ERR_ORDER, "call TCTraceVolumeTrace first");
  PetscCall(PetscMemzero(np, sizeof(*np)));
  np->nfoils         = tv->nf;
  np->label[0]       = tv->labels[tv->map[0]];
  np->label[1]       = tv->nf > 1 ? tv->labels[tv->map[1]] : 0;
  np->thickness_m[0] = tv->tcu;
  np->thickness_m[1] = tv->tal;
  np->sigma_S_m[0]   = tv->scu;
  np->sigma_S_m[1]   = tv->sal;
  np->height_m       = tv->is2d ? 0 : tv->height;
  np->search_m       = tv->pitch > 0 ? 1.5 * tv->pitch : 1e-3;
  np->pitch_m        = tv->pitch;
  np->slices         = (PetscBool)!tv->is2d;
  np->missing_foil   = -1;
  PetscCall(PetscStrncpy(np->source, "trace", sizeof(np->source)));
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceVolumeBuildNet(TCTraceVolume tv, const TCRollNetParams *np, PetscInt nz,
                                     PetscReal height, TCRollNet *net)
{
  TCRollCurve   *curves;
  PetscReal     *z, *cen;
  PetscInt       nl, k0;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCheck(tv->traced, tv->comm, PETSC_ERR_ORDER, "call TCTraceVolumeTrace first");
  PetscCheck(!tv->is2d || nz >= 1, tv->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "a traced slice needs at least one node layer");
  nl = tv->is2d ? nz * (tv->rank + 1) / tv->size - nz * tv->rank / tv->size : tv->s1 - tv->s0;
  k0 = tv->is2d ? nz * tv->rank / tv->size : tv->s0;
  PetscCall(
      PetscMalloc3(PetscMax(nl, 1), &z, 2 * PetscMax(nl, 1), &cen, 2 * PetscMax(nl, 1), &curves));
  for (PetscInt k = 0; k < nl; k++) {
    const TCTraceSlice *R = tv->is2d ? &tv->res[0] : &tv->res[k];
    z[k]                  = tv->is2d ? (nz > 1 ? height * (k0 + k) / (nz - 1) : 0.5 * height)
                                     : (tv->zidx[k] + 0.5) * tv->pz;
    cen[2 * k]            = R->centre_m[0];
    cen[2 * k + 1]        = R->centre_m[1];
    for (PetscInt f = 0; f < 2; f++) {
      PetscInt src        = tv->map[f];
      curves[2 * k + f].n = src >= 0 ? R->foil[src].n : 0;
      curves[2 * k + f].x = src >= 0 ? R->foil[src].x : NULL;
      curves[2 * k + f].y = src >= 0 ? R->foil[src].y : NULL;
    }
  }
  ierr = TCRollNetCreate(tv->comm, np, nl, z, cen, curves, net);
  PetscCall(PetscFree3(z, cen, curves));
  PetscCall(ierr);
  {
    /* the defects; a 2-D slice's at mid-height of the extrusion */
    TCRollDefect *d;
    PetscCall(PetscMalloc1(PetscMax(tv->ndef, 1), &d));
    for (PetscInt k = 0; k < tv->ndef; k++) {
      if (tv->is2d) tv->def[k].d.z_m = 0.5 * height;
      d[k] = tv->def[k].d;
    }
    PetscCall(TCRollNetSetDefects(*net, tv->ndef, d));
    PetscCall(PetscFree(d));
  }
  PetscFunctionReturn(0);
}

/* PNG: the image in gray with the curves drawn (Cu orange, Al cyan, centre red). */
static PetscErrorCode TracePNG(const char path[], const float *img, PetscInt nx, PetscInt ny,
                               PetscReal px, const TCTraceSlice *res, const PetscInt map[2],
                               PetscInt slice, PetscInt ndef, const TCTraceDefect *def)
{
  unsigned char      *rgb;
  float               lo = PETSC_MAX_REAL, hi = -PETSC_MAX_REAL;
  const unsigned char col[3][3] = {{255, 140, 0}, {0, 200, 255}, {120, 255, 120}};

  PetscFunctionBeginUser;
  for (PetscInt q = 0; q < nx * ny; q++) {
    lo = PetscMin(lo, img[q]);
    hi = PetscMax(hi, img[q]);
  }
  /* grayscale: the roll's own gray range (a bright can would leave it dark) */
  if (res->gray && res->gray_hi > res->gray_lo) {
    lo = (float)res->gray_lo;
    hi = (float)res->gray_hi;
  }
  PetscCall(PetscMalloc1(3 * nx * ny, &rgb));
  for (PetscInt q = 0; q < nx * ny; q++) {
    PetscReal     t = hi > lo ? PetscMin(PetscMax((img[q] - lo) / (hi - lo), 0.0), 1.0) : 0;
    unsigned char v = (unsigned char)(200.0 * t);
    /* image row j is y = (j + 0.5 - ny/2) px: draw y up, so flip rows */
    PetscInt j = q / nx, i = q % nx, o = 3 * ((ny - 1 - j) * nx + i);
    rgb[o] = rgb[o + 1] = rgb[o + 2] = v;
  }
  for (PetscInt f = 0; f < res->nfoils; f++) {
    const TCTraceFoil   *F = &res->foil[f];
    const unsigned char *c = col[f == map[0] ? 0 : f == map[1] ? 1 : 2];
    for (PetscInt k = 0; k + 1 < F->n; k++) {
      PetscReal x0 = F->x[k] / px + 0.5 * nx, y0 = F->y[k] / px + 0.5 * ny;
      PetscReal x1 = F->x[k + 1] / px + 0.5 * nx, y1 = F->y[k + 1] / px + 0.5 * ny;
      PetscInt  m = (PetscInt)ceil(2 * hypot(x1 - x0, y1 - y0)) + 1;
      for (PetscInt t = 0; t <= m; t++) {
        PetscInt i = (PetscInt)floor(x0 + (x1 - x0) * t / m),
                 j = (PetscInt)floor(y0 + (y1 - y0) * t / m);
        if (i < 0 || j < 0 || i >= nx || j >= ny) continue;
        PetscCall(PetscArraycpy(rgb + 3 * ((ny - 1 - j) * nx + i), c, 3));
      }
    }
  }
  {
    PetscInt ci = (PetscInt)floor(res->centre_m[0] / px + 0.5 * nx),
             cj = (PetscInt)floor(res->centre_m[1] / px + 0.5 * ny);
    for (PetscInt d = -6; d <= 6; d++) {
      PetscInt pts[2][2] = {{ci + d, cj}, {ci, cj + d}};
      for (int a = 0; a < 2; a++) {
        PetscInt i = pts[a][0], j = pts[a][1];
        if (i < 0 || j < 0 || i >= nx || j >= ny) continue;
        rgb[3 * ((ny - 1 - j) * nx + i)]     = 255;
        rgb[3 * ((ny - 1 - j) * nx + i) + 1] = 0;
        rgb[3 * ((ny - 1 - j) * nx + i) + 2] = 0;
      }
    }
  }
  PetscCall(TCTraceDefectsDraw(rgb, nx, ny, px, res->centre_m, slice, ndef, def));
  PetscCall(TCPNGWrite(path, nx, ny, rgb));
  PetscCall(PetscFree(rgb));
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceVolumeWritePNG(TCTraceVolume tv, const char path[])
{
  PetscInt       pngslice = tv->is2d ? 0 : tv->nkept / 2; /* the middle kept slice */
  PetscBool      mine;
  PetscErrorCode ierr                         = 0;
  char           msg[PETSC_MAX_PATH_LEN + 64] = "";

  PetscFunctionBeginUser;
  PetscCheck(tv->traced, tv->comm, PETSC_ERR_ORDER, "call TCTraceVolumeTrace first");
  mine =
      (PetscBool)(tv->is2d ? tv->rank == 0 : (pngslice >= tv->k0 && pngslice < tv->k0 + tv->nloc));
  if (mine) {
    float *img;
    PetscCall(PetscMalloc1(tv->nx * tv->ny, &img));
    PetscCall(TCStackReadSlice(tv->vol, tv->zidx[pngslice - (tv->is2d ? 0 : tv->k0)], img));
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    ierr = TracePNG(path, img, tv->nx, tv->ny, tv->px, &tv->res[pngslice - (tv->is2d ? 0 : tv->k0)],
                    tv->map, tv->zidx[pngslice - (tv->is2d ? 0 : tv->k0)], tv->ndef, tv->def);
    PetscCall(PetscPopErrorHandler());
    PetscCall(PetscFree(img));
    if (ierr) snprintf(msg, sizeof(msg), "cannot write %s", path);
  }
  PetscCall(TCCheckAll(tv->comm, (PetscBool)!ierr, PETSC_ERR_FILE_WRITE, msg));
  PetscFunctionReturn(0);
}

/* Collective: the per-foil statistics over every traced slice. */
static PetscErrorCode TraceSummarize(TCTraceVolume tv)
{
  MPI_Comm comm = tv->comm;
  PetscInt cnt = tv->s1 - tv->s0, nf = tv->nf;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(tv->st, sizeof(tv->st)));
  for (PetscInt f = 0; f < TC_TRACE_MAX_FOILS; f++)
    tv->mn[f][0] = tv->mn[f][1] = tv->mn[f][2] = PETSC_MAX_REAL;
  if (tv->is2d && tv->rank > 0) cnt = 0; /* the one slice counts once */
  for (PetscInt q = 0; q < cnt; q++)
    for (PetscInt f = 0; f < nf; f++) {
      const TCTraceFoil *F = &tv->res[q].foil[f];
      tv->st[f][ST_LEN] += F->length_m;
      tv->st[f][ST_WIND] += F->windings;
      tv->st[f][ST_RIN] += F->r_inner_m;
      tv->st[f][ST_ROUT] += F->r_outer_m;
      tv->st[f][ST_CX] += tv->res[q].centre_m[0];
      tv->st[f][ST_CY] += tv->res[q].centre_m[1];
      tv->st[f][ST_GAP] += F->gap_mean_m;
      tv->st[f][ST_THK] += F->thickness_m;
      tv->mn[f][0] = PetscMin(tv->mn[f][0], F->gap_min_m);
      tv->mn[f][1] = PetscMin(tv->mn[f][1], F->length_m);
      tv->mn[f][2] = PetscMin(tv->mn[f][2], -F->length_m);
    }
  PetscCallMPI(
      MPI_Allreduce(MPI_IN_PLACE, tv->st, TC_TRACE_MAX_FOILS * ST_N, MPIU_REAL, MPI_SUM, comm));
  PetscCallMPI(
      MPI_Allreduce(MPI_IN_PLACE, tv->mn, TC_TRACE_MAX_FOILS * 3, MPIU_REAL, MPI_MIN, comm));
  PetscCallMPI(MPI_Allreduce(&cnt, &tv->tot, 1, MPIU_INT, MPI_SUM, comm));
  /* self-check: chk = -coverage_min, gap_max_deg, untraced_frac, order_bad,
     |length / Archimedean - 1| (all maxima); the first failing slice */
  for (PetscInt f = 0; f < TC_TRACE_MAX_FOILS; f++) {
    for (int k = 0; k < 5; k++) tv->chk[f][k] = -PETSC_MAX_REAL;
    tv->bad_slice[f] = PETSC_MAX_INT;
    PetscCall(PetscMemzero(tv->bad_why[f], sizeof(tv->bad_why[f])));
  }
  for (PetscInt q = 0; q < cnt; q++)
    for (PetscInt f = 0; f < nf; f++) {
      const TCTraceFoil *F    = &tv->res[q].foil[f];
      PetscReal          v[5] = {-F->coverage_min, F->gap_max_deg, F->untraced_frac, F->order_bad,
                                 PetscAbsReal(F->length_m / PetscMax(F->length_arch_m, 1e-30) - 1)};
      for (int k = 0; k < 5; k++) tv->chk[f][k] = PetscMax(tv->chk[f][k], v[k]);
      if (!F->complete && tv->bad_slice[f] == PETSC_MAX_INT) tv->bad_slice[f] = tv->zidx[q];
    }
  PetscCallMPI(
      MPI_Allreduce(MPI_IN_PLACE, tv->chk, TC_TRACE_MAX_FOILS * 5, MPIU_REAL, MPI_MAX, comm));
  {
    PetscInt mine[TC_TRACE_MAX_FOILS];
    PetscCall(PetscArraycpy(mine, tv->bad_slice, TC_TRACE_MAX_FOILS));
    PetscCallMPI(
        MPI_Allreduce(MPI_IN_PLACE, tv->bad_slice, TC_TRACE_MAX_FOILS, MPIU_INT, MPI_MIN, comm));
    /* the owner of the first failing slice contributes its message (others zero) */
    for (PetscInt f = 0; f < nf; f++)
      if (mine[f] == tv->bad_slice[f] && mine[f] != PETSC_MAX_INT)
        for (PetscInt q = 0; q < cnt; q++)
          if (tv->zidx[q] == mine[f])
            PetscCall(PetscStrncpy(tv->bad_why[f], tv->res[q].foil[f].why, sizeof(tv->bad_why[f])));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, tv->bad_why, (PetscMPIInt)sizeof(tv->bad_why),
                               MPI_CHAR, MPI_MAX, comm));
  }
  {
    /* mode and threshold from a rank that traced (rank 0 may have no slice) */
    PetscReal g[2] = {cnt > 0 && tv->res[0].gray ? 1.0 : 0.0,
                      cnt > 0 && tv->res[0].gray ? tv->res[0].threshold : -PETSC_MAX_REAL};
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, g, 2, MPIU_REAL, MPI_MAX, comm));
    tv->gray_any = (PetscBool)(g[0] > 0);
    tv->thr_any  = g[1];
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceVolumeView(TCTraceVolume tv)
{
  const PetscInt tot = PetscMax(tv->tot, 1);

  PetscFunctionBeginUser;
  PetscCheck(tv->traced, tv->comm, PETSC_ERR_ORDER, "call TCTraceVolumeTrace first");
  for (PetscInt f = 0; f < tv->nf; f++)
    PetscCall(TCPrintf(tv->comm,
                       "  foil label %d (%s): length %.6g m, %.3f turns, r_inner %.4g mm, r_outer "
                       "%.4g mm, gap mean %.1f um min %.1f um\n",
                       (int)tv->labels[f],
                       f == tv->map[0]   ? "Cu"
                       : f == tv->map[1] ? "Al"
                                         : "-",
                       (double)(tv->st[f][ST_LEN] / tot), (double)(tv->st[f][ST_WIND] / tot),
                       (double)(1e3 * tv->st[f][ST_RIN] / tot),
                       (double)(1e3 * tv->st[f][ST_ROUT] / tot),
                       (double)(1e6 * tv->st[f][ST_GAP] / tot), (double)(1e6 * tv->mn[f][0])));
  if (tv->rank == 0 && tv->res && tv->res[0].nclasses > 0)
    for (PetscInt c = 0; c < tv->res[0].nclasses; c++)
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "  label %d: %s\n", (int)tv->res[0].cls[c].label,
                            tv->res[0].cls[c].why));
  PetscCall(TCPrintf(tv->comm, "  Cu/Al (%s): %s\n", tv->cu_basis, tv->cu_evidence));
  PetscCall(TCPrintf(tv->comm, "  centre (%.4g, %.4g) mm\n", (double)(1e3 * tv->st[0][ST_CX] / tot),
                     (double)(1e3 * tv->st[0][ST_CY] / tot)));
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceVolumeWriteJSON(TCTraceVolume tv, TCJson *js)
{
  const PetscInt tot = PetscMax(tv->tot, 1);

  PetscFunctionBeginUser;
  PetscCheck(tv->traced, PETSC_COMM_SELF, PETSC_ERR_ORDER, "call TCTraceVolumeTrace first");
  TCJsonString(js, "volume", tv->path);
  TCJsonReal(js, "pixel_size_m", tv->px);
  TCJsonString(js, "pixel_size_source", tv->px_src);
  TCJsonString(js, "pixel_size_from", tv->px_from);
  if (tv->can.found) {
    TCJsonObjectBegin(js, "can");
    TCJsonReal(js, "diameter_m", tv->can_d);
    TCJsonString(js, "diameter_from", tv->can_basis);
    TCJsonReal(js, "diameter_px", tv->can.diameter_px);
    TCJsonArrayBegin(js, "centre_px");
    TCJsonReal(js, NULL, tv->can.centre_px[0]);
    TCJsonReal(js, NULL, tv->can.centre_px[1]);
    TCJsonArrayEnd(js);
    TCJsonReal(js, "fit_rms_px", tv->can.rms_px);
    TCJsonInt(js, "edge_points", tv->can.points);
    TCJsonInt(js, "rays", tv->can.rays);
    TCJsonInt(js, "slice", tv->can_slice);
    TCJsonObjectEnd(js);
  }
  TCJsonArrayBegin(js, "shape_zyx");
  TCJsonInt(js, NULL, tv->nz);
  TCJsonInt(js, NULL, tv->ny);
  TCJsonInt(js, NULL, tv->nx);
  TCJsonArrayEnd(js);
  if (!tv->is2d) {
    TCJsonReal(js, "pixel_size_z_m", tv->pz);
    TCJsonString(js, "pixel_size_z_source", tv->pz_src);
    TCJsonString(js, "pixel_size_z_from", tv->pz_from);
    TCJsonReal(js, "height_m", tv->height);
    TCJsonObjectBegin(js, "slices");
    TCJsonInt(js, "first", tv->a0);
    TCJsonInt(js, "end", tv->a1);
    TCJsonInt(js, "stride", tv->stride);
    TCJsonInt(js, "selected", tv->nsel);
    TCJsonInt(js, "kept", tv->nkept);
    TCJsonObjectEnd(js);
    TCJsonArrayBegin(js, "slices_skipped");
    for (PetscInt j = 0; j < tv->nskip; j++) {
      TCJsonObjectBegin(js, NULL);
      TCJsonInt(js, "slice", tv->skip_idx[j]);
      TCJsonString(js, "reason", tv->skip_why[j]);
      TCJsonObjectEnd(js);
    }
    TCJsonArrayEnd(js);
  }
  TCJsonInt(js, "slices_traced", tv->tot);
  TCJsonString(js, "mode", tv->gray_any ? "gray" : "labels");
  if (tv->gray_any) TCJsonReal(js, "threshold", tv->thr_any);
  if (tv->gray_any && tv->res && tv->res[0].gray) {
    /* rank 0's first slice: where the threshold was taken */
    const TCTraceSlice *R = &tv->res[0];
    TCJsonObjectBegin(js, "gray");
    TCJsonReal(js, "threshold", R->threshold);
    TCJsonString(js, "threshold_over",
                 R->can_found ? "the roll annulus between the mandrel hole and the can"
                              : "the whole image (no can found)");
    TCJsonBool(js, "can_found", R->can_found);
    if (R->can_found) {
      TCJsonReal(js, "can_r_inner_m", R->can_r_inner_m);
      TCJsonReal(js, "can_r_outer_m", R->can_r_outer_m);
    }
    TCJsonReal(js, "mandrel_r_m", R->mandrel_r_m);
    TCJsonReal(js, "contrast", R->contrast);
    TCJsonArrayBegin(js, "roll_gray_range");
    TCJsonReal(js, NULL, R->gray_lo);
    TCJsonReal(js, NULL, R->gray_hi);
    TCJsonArrayEnd(js);
    TCJsonObjectEnd(js);
  }
  TCJsonObjectBegin(js, "cu_al");
  TCJsonInt(js, "cu_label", tv->nf > 0 ? tv->labels[tv->map[0]] : 0);
  TCJsonInt(js, "al_label", tv->nf > 1 ? tv->labels[tv->map[1]] : 0);
  TCJsonString(js, "basis", tv->cu_basis);
  TCJsonString(js, "evidence", tv->cu_evidence);
  TCJsonObjectEnd(js);
  {
    PetscBool all = PETSC_TRUE;
    for (PetscInt f = 0; f < tv->nf; f++)
      all = (PetscBool)(all && tv->bad_slice[f] == PETSC_MAX_INT);
    TCJsonBool(js, "complete", all);
  }
  if (tv->tot > 0 && tv->res && tv->res[0].nclasses > 0) {
    /* a multi-class segmentation: every label traced alone, the spiral
       layers picked automatically (rank 0's first slice) */
    const TCTraceSlice *R = &tv->res[0];
    TCJsonString(js, "labels_picked",
                 "automatic: every label traced alone, the thinnest complete spiral first");
    TCJsonArrayBegin(js, "classes");
    for (PetscInt c = 0; c < R->nclasses; c++) {
      TCJsonObjectBegin(js, NULL);
      TCJsonInt(js, "label", R->cls[c].label);
      TCJsonBool(js, "spiral", R->cls[c].spiral);
      TCJsonBool(js, "complete", R->cls[c].complete);
      TCJsonBool(js, "picked", R->cls[c].picked);
      if (R->cls[c].spiral) {
        TCJsonReal(js, "windings", R->cls[c].windings);
        TCJsonReal(js, "length_m", R->cls[c].length_m);
        TCJsonReal(js, "thickness_m", R->cls[c].thickness_m);
      }
      TCJsonString(js, "reason", R->cls[c].why);
      TCJsonObjectEnd(js);
    }
    TCJsonArrayEnd(js);
  }
  TCJsonReal(js, "gap_factor", tv->gap_factor);
  TCJsonArrayBegin(js, "defects");
  for (PetscInt k = 0; k < tv->ndef; k++) {
    const TCRollDefect *d = &tv->def[k].d;
    TCJsonObjectBegin(js, NULL);
    TCJsonInt(js, "index", k);
    TCJsonString(js, "kind", TCRollDefectKinds[d->kind]);
    if (d->foil >= 0)
      TCJsonString(js, "foil", TCFoilNames[d->foil]);
    else
      TCJsonNull(js, "foil");
    TCJsonReal(js, "r_m", d->r_m);
    TCJsonReal(js, "theta_deg", d->theta_rad * 180 / PETSC_PI);
    TCJsonReal(js, "theta_rad", d->theta_rad);
    TCJsonReal(js, "z_m", d->z_m);
    TCJsonReal(js, "size_m", d->size_m);
    if (isfinite(d->s_m)) TCJsonReal(js, "s_m", d->s_m);
    TCJsonInt(js, "slice", tv->def[k].slice);
    TCJsonObjectEnd(js);
  }
  TCJsonArrayEnd(js);
  TCJsonArrayBegin(js, "foils");
  for (PetscInt f = 0; f < tv->nf; f++) {
    TCJsonObjectBegin(js, NULL);
    TCJsonInt(js, "label", tv->labels[f]);
    TCJsonString(js, "foil", f == tv->map[0] ? "cu" : f == tv->map[1] ? "al" : "unknown");
    TCJsonReal(js, "length_m", tv->st[f][ST_LEN] / tot);
    TCJsonReal(js, "length_min_m", tv->mn[f][1]);
    TCJsonReal(js, "length_max_m", -tv->mn[f][2]);
    TCJsonReal(js, "windings", tv->st[f][ST_WIND] / tot);
    TCJsonReal(js, "r_inner_m", tv->st[f][ST_RIN] / tot);
    TCJsonReal(js, "r_outer_m", tv->st[f][ST_ROUT] / tot);
    TCJsonArrayBegin(js, "centre_m");
    TCJsonReal(js, NULL, tv->st[f][ST_CX] / tot);
    TCJsonReal(js, NULL, tv->st[f][ST_CY] / tot);
    TCJsonArrayEnd(js);
    TCJsonReal(js, "gap_mean_m", tv->st[f][ST_GAP] / tot);
    TCJsonReal(js, "gap_min_m", tv->mn[f][0]);
    TCJsonReal(js, "thickness_m", tv->st[f][ST_THK] / tot);
    TCJsonBool(js, "complete", (PetscBool)(tv->bad_slice[f] == PETSC_MAX_INT));
    TCJsonObjectBegin(js, "check");
    TCJsonReal(js, "coverage_min", -tv->chk[f][0]);
    TCJsonReal(js, "gap_max_deg", tv->chk[f][1]);
    TCJsonReal(js, "untraced_fraction", tv->chk[f][2]);
    TCJsonReal(js, "radial_order_violations", tv->chk[f][3]);
    TCJsonReal(js, "length_vs_archimedean", tv->chk[f][4]);
    if (tv->bad_slice[f] != PETSC_MAX_INT) {
      TCJsonInt(js, "broken_slice", tv->bad_slice[f]);
      TCJsonString(js, "broken", tv->bad_why[f]);
    }
    TCJsonObjectEnd(js);
    TCJsonObjectEnd(js);
  }
  TCJsonArrayEnd(js);
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceVolumeGetTimes(TCTraceVolume tv, PetscLogDouble *open, PetscLogDouble *trace)
{
  PetscFunctionBeginUser;
  if (open) *open = tv->t_open;
  if (trace) *trace = tv->t_trace;
  PetscFunctionReturn(0);
}

PetscErrorCode TCTraceVolumeDestroy(TCTraceVolume *tv)
{
  PetscFunctionBeginUser;
  if (!*tv) PetscFunctionReturn(0);
  if ((*tv)->res)
    for (PetscInt q = 0; q < PetscMax((*tv)->s1 - (*tv)->s0, 1); q++)
      PetscCall(TCTraceSliceReset(&(*tv)->res[q]));
  PetscCall(PetscFree((*tv)->res));
  PetscCall(PetscFree((*tv)->zidx));
  PetscCall(PetscFree2((*tv)->skip_idx, (*tv)->skip_why));
  PetscCall(PetscFree((*tv)->def));
  if ((*tv)->vol) PetscCall(TCStackClose(&(*tv)->vol));
  PetscCall(TCTraceDestroy(&(*tv)->tr));
  PetscCall(PetscFree(*tv));
  PetscFunctionReturn(0);
}
