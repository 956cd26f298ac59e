/*
 * Network sources of the coupled roll (see rollgeom.h).
 */
#include "mesh/rollgeom.h"
#include "io/h5.h"
#include "io/output.h"
#include "src/tc.h"
#include <math.h>
#include <sys/stat.h>

struct _p_TCRollGeom {
  MPI_Comm        comm;
  TCDeck          deck;
  TCRollGeomInfo  info;
  TCSpiralParams  sp; /* the deck's spiral (the spiral source; the others take its height) */
  PetscReal       ds_m, pitch_tol, height_tol, tab_ohm_m;
  PetscInt        nz;
  PetscBool       ds_set, nz_set, tabs_set;
  TCTabs          trace_tabs[2]; /* a traced volume's tabs: TCTabsDefaults and the deck's */
  TCRollNet       net;
  TCTraceVolume   tv; /* the volume source's trace (kept for its files) */
};

typedef PetscErrorCode (*TCRollGeomBuildFn)(TCRollGeom g, const TCCellParams *p,
                                            TCRollNetParams *np);

/* ---- shared checks ------------------------------------------------------------------ */

static PetscErrorCode RollGeomCheckStack(MPI_Comm comm, const char *what, PetscReal geo,
                                         PetscReal set, const char *key, const char *params)
{
  PetscFunctionBeginUser;
  PetscCheck(PetscAbsReal(geo - set) <= 0.02 * set, comm, PETSC_ERR_USER_INPUT,
             "the geometry and the parameter set do not match: the %s is %s um in the roll "
             "(%s) but %s um in %s; set %s to the set's value or choose the matching set",
             what, TCG(1e6 * geo).s, key, TCG(1e6 * set).s, params, key);
  PetscFunctionReturn(0);
}

/* The stack of a synthetic roll (a spiral or a net.h5 written from one)
   against the set's electrodes and separator. */
static PetscErrorCode RollGeomCheckSynthetic(TCRollGeom g, const TCCellParams *p,
                                             const PetscReal stack[3])
{
  PetscFunctionBeginUser;
  PetscCall(RollGeomCheckStack(g->comm, "negative coating", stack[0], p->neg.L_m,
                               "spiral_neg_thickness_m", p->source));
  PetscCall(RollGeomCheckStack(g->comm, "separator", stack[1], p->L_sep_m,
                               "spiral_sep_thickness_m", p->source));
  PetscCall(RollGeomCheckStack(g->comm, "positive coating", stack[2], p->pos.L_m,
                               "spiral_pos_thickness_m", p->source));
  PetscFunctionReturn(0);
}

/* A traced roll: its winding pitch against the set's stack; the thermal
   stack is the set's, scaled to fill the traced pitch. */
static PetscErrorCode RollGeomCheckTraced(TCRollGeom g, const TCCellParams *p,
                                          const TCRollNetParams *np)
{
  TCRollGeomInfo *gi = &g->info;
  PetscReal       t[5] = {np->thickness_m[0], np->thickness_m[1], p->neg.L_m, p->L_sep_m,
                          p->pos.L_m};
  PetscReal       ps   = t[0] + t[1] + 2 * (t[2] + t[3] + t[4]), rel;

  PetscFunctionBeginUser;
  gi->set_pitch_m = ps;
  PetscCheck(np->pitch_m > 0, g->comm, PETSC_ERR_USER_INPUT,
             "%s: the traced roll has no winding pitch (fewer than two windings traced?)",
             gi->path);
  rel = PetscAbsReal(np->pitch_m - ps) / ps;
  PetscCheck(rel <= g->pitch_tol, g->comm, PETSC_ERR_USER_INPUT,
             "the traced roll and the parameter set do not describe the same cell: the winding "
             "pitch traced in %s is %s um, but the stack of %s (Cu %s + Al %s + 2 x (%s + %s + "
             "%s) um) has a pitch of %s um, %s %% apart (geometry_pitch_tolerance %s); use the "
             "parameter set of this cell, or set geometry_pitch_tolerance: %s to run the set's "
             "electrodes on the traced geometry anyway",
             gi->path, TCG(1e6 * np->pitch_m).s, p->source, TCG(1e6 * t[0]).s, TCG(1e6 * t[1]).s,
             TCG(1e6 * t[2]).s, TCG(1e6 * t[3]).s, TCG(1e6 * t[4]).s, TCG(1e6 * ps).s,
             TCG(100 * rel).s, TCG(g->pitch_tol).s, TCG(ceil(100 * rel + 1) / 100).s);
  for (int q = 0; q < 5; q++) gi->t_m[q] = t[q] * np->pitch_m / ps;
  PetscFunctionReturn(0);
}

/* The height of traced slices against the cell's electrode height: a
   mismatch is refused (closing the network file nf first, when given). */
static PetscErrorCode RollGeomCheckHeight(TCRollGeom g, PetscReal h, TCRollNetFile *nf)
{
  PetscReal rel = PetscAbsReal(h - g->sp.height_m) / g->sp.height_m;

  PetscFunctionBeginUser;
  if (rel > g->height_tol && nf) PetscCall(TCRollNetFileClose(nf));
  PetscCheck(rel <= g->height_tol, g->comm, PETSC_ERR_USER_INPUT,
             "the traced slices of %s span %s mm of height, but the electrode height is %s mm "
             "(spiral_height_m or the preset), %s %% apart (geometry_height_tolerance %s): set "
             "spiral_height_m to the cell's electrode height, or geometry_height_tolerance: %s "
             "to run the traced part as a cell of that height",
             g->info.path, TCG(1e3 * h).s, TCG(1e3 * g->sp.height_m).s, TCG(100 * rel).s,
             TCG(g->height_tol).s, TCG(ceil(100 * rel + 1) / 100).s);
  PetscFunctionReturn(0);
}

/* Spiral keys a file source does not use, when the deck sets them (said, not
   silently ignored: a deck may serve tomocell geometry and run alike). */
static PetscErrorCode RollGeomUnusedSpiralKeys(TCRollGeom g)
{
  static const char *const keys[] = {
      "spiral_length_m",        "spiral_outer_radius_m",   "spiral_mandrel_radius_m",
      "spiral_cu_thickness_m",  "spiral_al_thickness_m",   "spiral_neg_thickness_m",
      "spiral_pos_thickness_m", "spiral_sep_thickness_m",  "spiral_cu_sigma_S_m",
      "spiral_al_sigma_S_m",    "spiral_overhang_m",       "spiral_centre_x_m",
      "spiral_centre_y_m",      "spiral_deform_amplitude_m", "spiral_deform_mode",
      "spiral_deform_decay_turns", "spiral_deform_angle_rad", "spiral_gap_m",
      "spiral_gap_turn",        "spiral_gap_angle_rad",    "spiral_gap_width_rad",
      "spiral_missing_foil",    "spiral_missing_from_m",   "spiral_missing_to_m"};
  TCRollGeomInfo *gi = &g->info;
  size_t          o  = 0;

  PetscFunctionBeginUser;
  for (size_t q = 0; q < sizeof(keys) / sizeof(keys[0]); q++) {
    PetscBool set;
    PetscCall(TCDeckIsSet(g->deck, keys[q], &set));
    if (!set) continue;
    gi->nunused++;
    if (o < sizeof(gi->unused))
      o += (size_t)snprintf(gi->unused + o, sizeof(gi->unused) - o, "%s%s", o ? ", " : "",
                            keys[q]);
  }
  PetscFunctionReturn(0);
}

/* ---- the sources ---------------------------------------------------------------------- */

/* The synthetic spiral of the deck. */
static PetscErrorCode RollGeomSpiral(TCRollGeom g, const TCCellParams *p, TCRollNetParams *np)
{
  TCSpiral        spiral;
  TCRollGeomInfo *gi = &g->info;

  PetscFunctionBeginUser;
  PetscCall(TCSpiralCreate(g->comm, &spiral));
  PetscCall(TCSpiralSetParams(spiral, &g->sp));
  PetscCall(TCSpiralSetUp(spiral));
  PetscCall(TCRollNetFromSpiral(g->comm, spiral, g->nz, np, &g->net));
  PetscCall(TCSpiralDestroy(&spiral));
  PetscCall(RollGeomCheckSynthetic(g, p, np->stack_m));
  gi->t_m[0] = g->sp.t_cu_m;
  gi->t_m[1] = g->sp.t_al_m;
  gi->t_m[2] = g->sp.t_neg_m;
  gi->t_m[3] = g->sp.t_sep_m;
  gi->t_m[4] = g->sp.t_pos_m;
  gi->set_pitch_m = g->sp.t_cu_m + g->sp.t_al_m + 2 * (p->neg.L_m + p->L_sep_m + p->pos.L_m);
  PetscFunctionReturn(0);
}

/* A net.h5 of tomocell geometry or trace. */
static PetscErrorCode RollGeomNetFile(TCRollGeom g, const TCCellParams *p, TCRollNetParams *np)
{
  TCRollNetFile   nf;
  TCRollNetParams fp;
  TCRollGeomInfo *gi = &g->info;
  PetscBool       extruded;
  PetscInt        NLf;

  PetscFunctionBeginUser;
  PetscCall(TCRollNetFileOpen(g->comm, gi->path, &nf));
  PetscCall(TCRollNetFileGetParams(nf, &fp));
  PetscCall(TCRollNetFileGetLayers(nf, &NLf, NULL, &extruded));
  /* the file's roll, with the run's solver-side parameters; node spacing,
     tabs and the layer count of an extruded slice where the deck sets them */
  fp.terminals      = np->terminals;
  fp.tab_ohm_m      = np->tab_ohm_m;
  fp.element_weight = np->element_weight;
  fp.asr_ohm_m2     = np->asr_ohm_m2;
  if (g->ds_set) fp.ds_m = g->ds_m;
  if (g->tabs_set) PetscCall(TCTabsFromDeck(g->deck, fp.tabs)); /* the file's, as the deck changes them */
  PetscCheck(!g->nz_set || extruded, g->comm, PETSC_ERR_USER_INPUT,
             "network_nz is set, but the node layers of %s are its %" PetscInt_FMT
             " traced slices; remove network_nz (choose the slices when tracing)",
             gi->path, NLf);
  PetscCall(PetscStrncpy(gi->origin, fp.source, sizeof(gi->origin)));
  gi->traced = (PetscBool)strcmp(fp.source, "geometry");
  if (gi->traced && !extruded) {
    /* traced slices: their height against the cell's electrode height */
    const PetscReal *zf;
    PetscReal        h;
    PetscCall(TCRollNetFileGetLayers(nf, &NLf, &zf, NULL));
    h   = NLf > 1 ? (zf[NLf - 1] - zf[0]) * (fp.slices ? (PetscReal)NLf / (NLf - 1) : 1.0)
                  : fp.height_m;
    PetscCall(RollGeomCheckHeight(g, h, &nf));
  }
  if (gi->traced) {
    /* a traced slice stands for the whole electrode height */
    if (extruded && fp.height_m != g->sp.height_m) fp.height_m = g->sp.height_m;
    PetscCall(RollGeomCheckTraced(g, p, &fp));
  } else {
    PetscCall(RollGeomCheckSynthetic(g, p, fp.stack_m));
    gi->t_m[0]      = fp.thickness_m[0];
    gi->t_m[1]      = fp.thickness_m[1];
    gi->t_m[2]      = fp.stack_m[0];
    gi->t_m[3]      = fp.stack_m[1];
    gi->t_m[4]      = fp.stack_m[2];
    gi->set_pitch_m = fp.thickness_m[0] + fp.thickness_m[1] + 2 * (p->neg.L_m + p->L_sep_m + p->pos.L_m);
  }
  PetscCall(TCRollNetFileBuild(nf, &fp, g->nz_set || (gi->traced && extruded) ? g->nz : 0, &g->net));
  PetscCall(TCRollNetFileClose(&nf));
  *np = fp;
  PetscCall(RollGeomUnusedSpiralKeys(g));
  PetscFunctionReturn(0);
}

/* A CT volume, traced here as tomocell trace does (mesh/tracevol.h). */
static PetscErrorCode RollGeomVolume(TCRollGeom g, const TCCellParams *p, TCRollNetParams *np)
{
  TCRollGeomInfo *gi = &g->info;
  TCRollNetParams tp;
  PetscBool       is2d;

  PetscFunctionBeginUser;
  PetscCall(TCTraceVolumeCreate(g->comm, &g->tv));
  PetscCall(TCTraceVolumeSetFromDeck(g->tv, g->deck));
  PetscCall(TCTraceVolumeTrace(g->tv, gi->path));
  PetscCall(TCTraceVolumeIsSlice(g->tv, &is2d));
  PetscCall(TCTraceVolumeGetNetParams(g->tv, &tp));
  PetscCall(PetscStrncpy(gi->origin, "trace", sizeof(gi->origin)));
  gi->traced        = PETSC_TRUE;
  tp.terminals      = np->terminals;
  tp.tab_ohm_m      = np->tab_ohm_m;
  tp.element_weight = np->element_weight;
  tp.asr_ohm_m2     = np->asr_ohm_m2;
  tp.ds_m           = g->ds_m;
  tp.tabs[0]        = g->trace_tabs[0]; /* as tomocell trace sets them */
  tp.tabs[1]        = g->trace_tabs[1];
  if (is2d)
    tp.height_m = g->sp.height_m; /* a slice stands for the whole electrode height */
  else {
    PetscCheck(!g->nz_set, g->comm, PETSC_ERR_USER_INPUT,
               "network_nz is set, but the node layers of %s are its traced slices; remove "
               "network_nz (choose the slices with trace_slice_stride)",
               gi->path);
    PetscCall(RollGeomCheckHeight(g, tp.height_m, NULL));
  }
  PetscCall(RollGeomCheckTraced(g, p, &tp));
  PetscCall(TCTraceVolumeBuildNet(g->tv, &tp, g->nz, g->sp.height_m, &g->net));
  *np = tp;
  PetscCall(RollGeomUnusedSpiralKeys(g));
  PetscFunctionReturn(0);
}

typedef struct {
  const char       *name;
  TCRollGeomBuildFn build;
} TCRollGeomSource;

static const TCRollGeomSource tc_roll_sources[] = {
    {"spiral", RollGeomSpiral},
    {"network", RollGeomNetFile},
    {"volume", RollGeomVolume},
};

/* Which source a geometry file is: a net.h5 has /network or /nodes (an old
   one), anything else HDF5 or TIFF is a CT volume. */
static PetscErrorCode RollGeomDetect(TCRollGeom g, const char **source)
{
  const char *path = g->info.path;
  size_t      L    = strlen(path);
  struct stat st;
  int         kind = 0; /* 0 missing, 1 volume, 2 network, 3 not a known file */
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(g->comm, &rank));
  if (rank == 0) {
    if (stat(path, &st) != 0)
      kind = 0;
    else if (S_ISDIR(st.st_mode) || (L > 4 && (!strcasecmp(path + L - 4, ".tif"))) ||
             (L > 5 && !strcasecmp(path + L - 5, ".tiff")))
      kind = 1;
    else if (!S_ISREG(st.st_mode))
      kind = 3;
    else {
      htri_t h5;
      H5E_BEGIN_TRY { h5 = H5Fis_hdf5(path); }
      H5E_END_TRY;
      if (h5 <= 0)
        kind = 3;
      else {
        hid_t f;
        H5E_BEGIN_TRY { f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT); }
        H5E_END_TRY;
        if (f < 0)
          kind = 3;
        else {
          kind = (H5Lexists(f, "/network", H5P_DEFAULT) > 0 || H5Lexists(f, "/nodes", H5P_DEFAULT) > 0)
                     ? 2
                     : 1;
          H5Fclose(f);
        }
      }
    }
  }
  PetscCallMPI(MPI_Bcast(&kind, 1, MPI_INT, 0, g->comm));
  PetscCheck(kind != 0, g->comm, PETSC_ERR_FILE_OPEN, "geometry %s: no such file or directory",
             path);
  PetscCheck(kind != 3, g->comm, PETSC_ERR_USER_INPUT,
             "geometry %s is neither a net.h5 (tomocell geometry or trace) nor a CT volume (Data "
             "Exchange HDF5, a TIFF stack or a directory of TIFFs)",
             path);
  *source = kind == 2 ? "network" : "volume";
  PetscFunctionReturn(0);
}

/* ---- the object --------------------------------------------------------------------- */

PetscErrorCode TCRollGeomCreate(MPI_Comm comm, TCRollGeom *g)
{
  PetscFunctionBeginUser;
  PetscCall(PetscNew(g));
  (*g)->comm            = comm;
  (*g)->info.built_foil = -1;
  (*g)->info.source     = "spiral";
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollGeomSetFromDeck(TCRollGeom g, TCDeck deck)
{
  static const char *const tabkeys[] = {"tab_cu", "tab_cu_positions_m", "tab_al",
                                        "tab_al_positions_m", "tab_width_m"};
  PetscBool has;

  PetscFunctionBeginUser;
  g->deck = deck;
  PetscCall(TCSpiralParamsFromDeck(deck, &g->sp, &g->ds_m, &g->nz));
  PetscCall(TCDeckIsSet(deck, "network_ds_m", &g->ds_set));
  PetscCall(TCDeckIsSet(deck, "network_nz", &g->nz_set));
  TCTabsDefaults(g->trace_tabs);
  PetscCall(TCTabsFromDeck(deck, g->trace_tabs));
  g->tabs_set = PETSC_FALSE;
  for (size_t q = 0; q < sizeof(tabkeys) / sizeof(tabkeys[0]); q++) {
    PetscBool s;
    PetscCall(TCDeckIsSet(deck, tabkeys[q], &s));
    g->tabs_set = (PetscBool)(g->tabs_set || s);
  }
  PetscCall(TCDeckGetReal(deck, "geometry_pitch_tolerance", &g->pitch_tol));
  PetscCall(TCDeckGetReal(deck, "geometry_height_tolerance", &g->height_tol));
  PetscCall(TCDeckGetReal(deck, "tab_contact_ohm_m", &g->tab_ohm_m));
  PetscCall(TCDeckGetString(deck, "geometry", g->info.path, sizeof(g->info.path), &has));
  g->info.cell_height_m = g->sp.height_m;
  if (has) PetscCall(RollGeomDetect(g, &g->info.source));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollGeomSetUp(TCRollGeom g, const TCCellParams *p, PetscInt element_weight)
{
  TCRollNetParams np;
  TCRollGeomInfo *gi = &g->info;
  PetscInt        q;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&np, sizeof(np)));
  np.ds_m           = g->ds_m;
  np.asr_ohm_m2     = 1; /* element edges carry G = area; the solver puts a cell model there */
  np.terminals      = PETSC_TRUE;
  np.tab_ohm_m      = g->tab_ohm_m;
  np.element_weight = element_weight;
  for (q = 0; q < (PetscInt)(sizeof(tc_roll_sources) / sizeof(tc_roll_sources[0])); q++)
    if (!strcmp(tc_roll_sources[q].name, gi->source)) break;
  PetscCheck(q < (PetscInt)(sizeof(tc_roll_sources) / sizeof(tc_roll_sources[0])), g->comm,
             PETSC_ERR_PLIB, "no builder for geometry source %s", gi->source);
  PetscCall(tc_roll_sources[q].build(g, p, &np));
  /* what was built */
  PetscCall(TCRollNetGetSizes(g->net, gi->ns, &gi->layers, &gi->elements));
  PetscCall(TCRollNetGetFoilStats(g->net, gi->length_m, gi->turns, gi->centre_m));
  PetscCall(TCRollNetGetBuiltFoil(g->net, &gi->built_foil));
  PetscCall(TCRollNetGetDefects(g->net, &gi->ndefects, &gi->defects));
  gi->foils_given = np.nfoils;
  gi->pitch_m     = np.pitch_m;
  {
    /* the electrode height the network spans: the strip of its one layer, or
       the extent of its layers (the outer strips end at the outer layers) */
    PetscReal z[2];
    PetscCall(TCRollNetGetHeightRange(g->net, z));
    gi->height_m = z[1] - z[0];
    gi->z_mid_m  = 0.5 * (z[0] + z[1]);
  }
  PetscCheck(gi->elements > 0, g->comm, PETSC_ERR_USER_INPUT,
             "the roll network from %s has no electrochemical element: no Al node faces a Cu "
             "foil within %s m (1.5 winding pitches)",
             gi->path[0] ? gi->path : "the spiral", TCG(np.search_m).s);
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollGeomGetNetwork(TCRollGeom g, TCRollNet *net)
{
  PetscFunctionBeginUser;
  *net = g->net;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollGeomGetInfo(TCRollGeom g, const TCRollGeomInfo **info)
{
  PetscFunctionBeginUser;
  *info = &g->info;
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollGeomView(TCRollGeom g)
{
  const TCRollGeomInfo *gi = &g->info;

  PetscFunctionBeginUser;
  if (!strcmp(gi->source, "spiral"))
    PetscCall(TCPrintf(g->comm, "  geometry: synthetic spiral (%s preset), pitch %.1f um\n",
                       gi->cell_height_m > 0.06 ? "21700" : "18650", 1e6 * gi->pitch_m));
  else
    PetscCall(TCPrintf(g->comm,
                       "  geometry: %s (%s%s), pitch %.1f um (the set's stack %.1f um), "
                       "height %.2f mm\n",
                       gi->path,
                       strcmp(gi->source, "network")  ? "CT volume"
                       : strcmp(gi->origin, "unknown") ? "net.h5 of tomocell "
                                                       : "net.h5",
                       strcmp(gi->source, "network") || !strcmp(gi->origin, "unknown") ? ""
                                                                                        : gi->origin,
                       1e6 * gi->pitch_m,
                       1e6 * gi->set_pitch_m, 1e3 * gi->height_m));
  if (g->tv) PetscCall(TCTraceVolumeView(g->tv));
  if (gi->built_foil >= 0)
    PetscCall(TCPrintf(g->comm,
                       "  NOTE: one foil traced (%s); the %s foil is built half a pitch %s, "
                       "midway between its successive windings (an assumption, see docs)\n",
                       gi->built_foil == TC_FOIL_AL ? "Cu" : "Al",
                       gi->built_foil == TC_FOIL_AL ? "Al" : "Cu",
                       gi->built_foil == TC_FOIL_AL ? "outward" : "inward"));
  if (gi->nunused)
    PetscCall(TCPrintf(g->comm,
                       "  NOTE: the roll comes from %s; these spiral keys of the deck are not "
                       "used: %s\n",
                       gi->path, gi->unused));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollGeomWriteJSON(TCRollGeom g, TCJson *js)
{
  const TCRollGeomInfo *gi = &g->info;

  PetscFunctionBeginUser;
  TCJsonString(js, "source", gi->source);
  if (gi->path[0]) TCJsonString(js, "file", gi->path);
  if (!strcmp(gi->source, "network")) TCJsonString(js, "written_by", gi->origin);
  TCJsonBool(js, "traced", gi->traced);
  TCJsonInt(js, "foils_traced", gi->traced ? gi->foils_given : 0);
  if (gi->built_foil >= 0) {
    TCJsonString(js, "built_foil", TCFoilNames[gi->built_foil]);
    TCJsonString(js, "built_foil_assumption",
                 "one foil traced: the other is the facing layer half a winding pitch away, "
                 "midway between successive windings of the traced one");
  } else
    TCJsonNull(js, "built_foil");
  TCJsonArrayBegin(js, "centre_m");
  TCJsonReal(js, NULL, gi->centre_m[0]);
  TCJsonReal(js, NULL, gi->centre_m[1]);
  TCJsonArrayEnd(js);
  TCJsonReal(js, "pitch_m", gi->pitch_m);
  TCJsonReal(js, "set_stack_pitch_m", gi->set_pitch_m);
  TCJsonReal(js, "height_m", gi->height_m);
  TCJsonReal(js, "cu_length_m", gi->length_m[0]);
  TCJsonReal(js, "al_length_m", gi->length_m[1]);
  TCJsonReal(js, "cu_turns", gi->turns[0]);
  TCJsonReal(js, "al_turns", gi->turns[1]);
  TCJsonObjectBegin(js, "thermal_stack_m");
  TCJsonReal(js, "cu", gi->t_m[0]);
  TCJsonReal(js, "al", gi->t_m[1]);
  TCJsonReal(js, "negative", gi->t_m[2]);
  TCJsonReal(js, "separator", gi->t_m[3]);
  TCJsonReal(js, "positive", gi->t_m[4]);
  TCJsonObjectEnd(js);
  TCJsonArrayBegin(js, "defects");
  for (PetscInt i = 0; i < gi->ndefects; i++) {
    const TCRollDefect *d = &gi->defects[i];
    TCJsonObjectBegin(js, NULL);
    TCJsonInt(js, "index", i);
    TCJsonString(js, "kind", TCRollDefectKinds[d->kind]);
    if (d->foil >= 0)
      TCJsonString(js, "foil", TCFoilNames[d->foil]);
    else
      TCJsonNull(js, "foil");
    TCJsonReal(js, "r_m", d->r_m);
    TCJsonReal(js, "theta_rad", d->theta_rad);
    TCJsonReal(js, "theta_deg", d->theta_rad * 180 / PETSC_PI);
    TCJsonReal(js, "z_m", d->z_m);
    TCJsonReal(js, "size_m", d->size_m);
    TCJsonObjectEnd(js);
  }
  TCJsonArrayEnd(js);
  if (gi->nunused) TCJsonString(js, "unused_spiral_keys", gi->unused);
  if (g->tv) {
    TCJsonObjectBegin(js, "trace");
    PetscCall(TCTraceVolumeWriteJSON(g->tv, js));
    TCJsonObjectEnd(js);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollGeomWriteFiles(TCRollGeom g, const char dir[], const TCRunMeta *meta)
{
  char   net[PETSC_MAX_PATH_LEN], json[PETSC_MAX_PATH_LEN], png[PETSC_MAX_PATH_LEN];
  FILE  *fp;
  TCJson js;

  PetscFunctionBeginUser;
  if (!g->tv) PetscFunctionReturn(0);
  PetscCall(TCPathJoin(dir, "traced_net.h5", net, sizeof(net)));
  PetscCall(TCPathJoin(dir, "traced_net.json", json, sizeof(json)));
  PetscCall(TCPathJoin(dir, "traced_net.png", png, sizeof(png)));
  PetscCall(TCRollNetWrite(g->net, net, meta));
  PetscCall(TCTraceVolumeWritePNG(g->tv, png));
  PetscCall(TCOutputFOpen(g->comm, json, &fp));
  if (fp) {
    TCJsonBegin(&js, fp);
    TCJsonString(&js, "tomocell_version", TC_VERSION);
    TCJsonString(&js, "command", "run");
    TCJsonString(&js, "network", net);
    PetscCall(TCTraceVolumeWriteJSON(g->tv, &js));
    TCJsonEnd(&js);
  }
  PetscCall(TCOutputFClose(g->comm, json, &fp));
  PetscCall(TCPrintf(g->comm, "  wrote the traced network %s (+ .xmf, .json, .png)\n", net));
  PetscFunctionReturn(0);
}

PetscErrorCode TCRollGeomDestroy(TCRollGeom *g)
{
  PetscFunctionBeginUser;
  if (!*g) PetscFunctionReturn(0);
  PetscCall(TCRollNetDestroy(&(*g)->net));
  PetscCall(TCTraceVolumeDestroy(&(*g)->tv));
  PetscCall(PetscFree(*g));
  PetscFunctionReturn(0);
}
