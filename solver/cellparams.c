/*
 * BPX parameter-set reader (see cellparams.h). Every field is checked for
 * presence, type and physical range, and errors name the file, the section
 * and the field, so a user bringing their own set learns what is wrong.
 */
#include "solver/cellparams.h"
#include "src/tc.h"
#include "io/jsonparse.h"
#include "io/output.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef TC_SOURCE_DIR
#define TC_SOURCE_DIR "."
#endif

PetscErrorCode TCCellParamsDir(char dir[], size_t len)
{
  const char *env = getenv("TOMOCELL_PARAMS");

  PetscFunctionBeginUser;
  if (env && env[0])
    PetscCall(PetscStrncpy(dir, env, len));
  else
    snprintf(dir, len, "%s/inputs/params", TC_SOURCE_DIR);
  PetscFunctionReturn(0);
}

typedef struct {
  const char        *file;
  const TCJsonValue *root;
} TCBPX;

static PetscErrorCode BPXSection(TCBPX *b, const char sec[], PetscBool required,
                                 const TCJsonValue **s)
{
  const TCJsonValue *par = TCJsonGet(b->root, "Parameterisation");

  PetscFunctionBeginUser;
  *s = TCJsonGet(par, sec);
  PetscCheck(*s || !required, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: not a BPX parameter set: missing section \"Parameterisation\" -> \"%s\"", b->file,
             sec);
  PetscCheck(!*s || (*s)->type == TC_JSON_OBJECT, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s:%d: \"%s\" must be an object", b->file, (*s)->line, sec);
  PetscFunctionReturn(0);
}

/* range: 0 any, 1 > 0, 2 >= 0, 3 in (0, 1), 4 in [0, 1], 5 in (0, 1] */
static PetscErrorCode BPXReal(TCBPX *b, const TCJsonValue *s, const char sec[], const char key[],
                              int range, PetscReal defval, PetscBool required, PetscReal *v)
{
  const TCJsonValue *x      = TCJsonGet(s, key);
  static const char *what[] = {"finite",    "positive",  "non-negative",
                               "in (0, 1)", "in [0, 1]", "in (0, 1]"};
  PetscBool          ok;

  PetscFunctionBeginUser;
  if (!x) {
    PetscCheck(!required, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: missing field \"%s\" -> \"%s\" (a number)", b->file, sec, key);
    *v = defval;
    PetscFunctionReturn(0);
  }
  PetscCheck(x->type == TC_JSON_NUMBER, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s:%d: \"%s\" -> \"%s\" must be a number", b->file, x->line, sec, key);
  *v = x->number;
  switch (range) {
  case 1:
    ok = (PetscBool)(*v > 0);
    break;
  case 2:
    ok = (PetscBool)(*v >= 0);
    break;
  case 3:
    ok = (PetscBool)(*v > 0 && *v < 1);
    break;
  case 4:
    ok = (PetscBool)(*v >= 0 && *v <= 1);
    break;
  default:
    ok = PETSC_TRUE;
  }
  PetscCheck(ok && isfinite(*v), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s:%d: \"%s\" -> \"%s\" = %g is not physical: must be %s", b->file, x->line, sec, key,
             (double)*v, what[range]);
  PetscFunctionReturn(0);
}

/* A function: a number, an expression string, or a table {"x": [...], "y": [...]}. */
static PetscErrorCode BPXFunc(TCBPX *b, const TCJsonValue *s, const char sec[], const char key[],
                              PetscBool required, TCFunc *f)
{
  const TCJsonValue *x = TCJsonGet(s, key);
  char               what[512];

  PetscFunctionBeginUser;
  *f = NULL;
  snprintf(what, sizeof(what), "%s: \"%s\" -> \"%s\"", b->file, sec, key);
  if (!x) {
    PetscCheck(!required, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: missing field \"%s\" -> \"%s\" (a number, an expression or a table)", b->file,
               sec, key);
    PetscFunctionReturn(0);
  }
  if (x->type == TC_JSON_NUMBER)
    PetscCall(TCFuncCreateConstant(x->number, f));
  else if (x->type == TC_JSON_STRING)
    PetscCall(TCFuncCreateExpression(x->string, what, f));
  else if (x->type == TC_JSON_OBJECT) {
    const TCJsonValue *tx = TCJsonGet(x, "x"), *ty = TCJsonGet(x, "y");
    PetscReal         *xv, *yv;
    PetscCheck(tx && ty && tx->type == TC_JSON_ARRAY && ty->type == TC_JSON_ARRAY && tx->n == ty->n,
               PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s:%d: a table must be {\"x\": [...], \"y\": [...]} with arrays of equal length",
               what, x->line);
    PetscCall(PetscMalloc2(tx->n, &xv, tx->n, &yv));
    for (PetscInt i = 0; i < tx->n; i++) {
      PetscCheck(tx->members[i]->type == TC_JSON_NUMBER && ty->members[i]->type == TC_JSON_NUMBER,
                 PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                 "%s: table entry %" PetscInt_FMT " is not a number", what, i);
      xv[i] = tx->members[i]->number;
      yv[i] = ty->members[i]->number;
    }
    PetscCall(TCFuncCreateTable(tx->n, xv, yv, what, f));
    PetscCall(PetscFree2(xv, yv));
  } else
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
            "%s:%d: must be a number, an expression string or a table {\"x\": [...], \"y\": "
            "[...]}",
            what, x->line);
  PetscFunctionReturn(0);
}

/* Hysteresis in a BPX set: the OCP branches of the current schema in an
   electrode or particle, or user-defined hysteresis (BPX 0.4's example
   "Negative electrode delithiation OCP [V]", any "... hysteresis ...") --
   refused: tomocell has one OCP per electrode, and running with "OCP [V]"
   alone would silently change the cell (the 0.4 example sets it to 0). */
static PetscErrorCode BPXNoHysteresis(TCBPX *b, const TCJsonValue *s, const char where[])
{
  static const char *keys[] = {"OCP (lithiation) [V]", "OCP (delithiation) [V]",
                               "OCP hysteresis decay constant"};

  PetscFunctionBeginUser;
  if (!s) PetscFunctionReturn(0);
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    const TCJsonValue *x = TCJsonGet(s, keys[i]);
    PetscCheck(!x, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s:%d: %s -> \"%s\": OCP hysteresis is not modelled (tomocell has one OCP per "
               "electrode, \"OCP [V]\"); use a set without the lithiation/delithiation branches",
               b->file, x->line, where, keys[i]);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode BPXUserDefinedHysteresis(TCBPX *b, const TCJsonValue *ud)
{
  PetscFunctionBeginUser;
  if (!ud || ud->type != TC_JSON_OBJECT) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < ud->n; i++) {
    char   low[256];
    size_t n = strlen(ud->keys[i]);
    for (size_t k = 0; k <= n && k < sizeof(low) - 1; k++)
      low[k] = (char)tolower((unsigned char)ud->keys[i][k]);
    low[sizeof(low) - 1] = 0;
    PetscCheck(!strstr(low, "hysteresis") && !strstr(low, "lithiation ocp") &&
                   !strstr(low, "lithiation) ocp"),
               PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s:%d: \"User-defined\" -> \"%s\": user-defined OCP hysteresis is not modelled "
               "(tomocell has one OCP per electrode, \"OCP [V]\", and would run the cell without "
               "the hysteresis); use a set without it",
               b->file, ud->members[i]->line, ud->keys[i]);
  }
  PetscFunctionReturn(0);
}

/* An electrode. spm: the Single Particle Model form of the schema (no
   porosity, transport efficiency or conductivity). A "Particle" map is a
   blend: one material loads as that material, more are refused. */
static PetscErrorCode BPXElectrode(TCBPX *b, const char sec[], PetscBool spm, TCElectrodeParams *e)
{
  const TCJsonValue *s, *ud, *pt, *blend;
  char               psec[160];

  PetscFunctionBeginUser;
  PetscCall(BPXSection(b, sec, PETSC_TRUE, &s));
  pt    = s;
  blend = TCJsonGet(s, "Particle");
  PetscCall(PetscStrncpy(psec, sec, sizeof(psec)));
  if (blend) {
    PetscCheck(blend->type == TC_JSON_OBJECT && blend->n >= 1, PETSC_COMM_SELF,
               PETSC_ERR_USER_INPUT,
               "%s:%d: \"%s\" -> \"Particle\" must be an object of materials (\"Primary\", ...)",
               b->file, blend->line, sec);
    PetscCheck(blend->n == 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s:%d: \"%s\" is a blended electrode (\"Particle\" has %" PetscInt_FMT
               " materials: \"%s\", \"%s\"%s): not modelled, tomocell's models have one active "
               "material per electrode; use a set with a single material",
               b->file, blend->line, sec, blend->n, blend->keys[0], blend->keys[1],
               blend->n > 2 ? ", ..." : "");
    pt = blend->members[0];
    PetscCheck(pt->type == TC_JSON_OBJECT, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s:%d: \"%s\" -> \"Particle\" -> \"%s\" must be an object", b->file, pt->line, sec,
               blend->keys[0]);
    snprintf(psec, sizeof(psec), "%s\" -> \"Particle\" -> \"%s", sec, blend->keys[0]);
  }
  {
    char where[200];
    snprintf(where, sizeof(where), "\"%s\"", psec);
    PetscCall(BPXNoHysteresis(b, pt, where));
  }
  PetscCall(BPXReal(b, s, sec, "Thickness [m]", 1, 0, PETSC_TRUE, &e->L_m));
  PetscCall(BPXReal(b, pt, psec, "Particle radius [m]", 1, 0, PETSC_TRUE, &e->R_m));
  PetscCall(BPXReal(b, pt, psec, "Surface area per unit volume [m-1]", 1, 0, PETSC_TRUE, &e->a_m));
  if (spm) { /* only what the SPM needs: no electrolyte in the electrode */
    e->eps = e->B = e->sigma_S_m = 0;
  } else {
    PetscCall(BPXReal(b, s, sec, "Porosity", 3, 0, PETSC_TRUE, &e->eps));
    PetscCall(BPXReal(b, s, sec, "Transport efficiency", 3, 0, PETSC_TRUE, &e->B));
    PetscCall(BPXReal(b, s, sec, "Conductivity [S.m-1]", 1, 0, PETSC_TRUE, &e->sigma_S_m));
  }
  PetscCall(BPXReal(b, pt, psec, "Maximum concentration [mol.m-3]", 1, 0, PETSC_TRUE, &e->cmax));
  PetscCall(BPXReal(b, pt, psec, "Reaction rate constant [mol.m-2.s-1]", 1, 0, PETSC_TRUE, &e->k));
  PetscCall(BPXReal(b, pt, psec, "Reaction rate constant activation energy [J.mol-1]", 2, 0,
                    PETSC_FALSE, &e->Ea_k));
  PetscCall(
      BPXReal(b, pt, psec, "Diffusivity activation energy [J.mol-1]", 2, 0, PETSC_FALSE, &e->Ea_D));
  PetscCall(BPXReal(b, pt, psec, "Minimum stoichiometry", 4, 0, PETSC_TRUE, &e->sto_min));
  PetscCall(BPXReal(b, pt, psec, "Maximum stoichiometry", 4, 0, PETSC_TRUE, &e->sto_max));
  PetscCall(BPXFunc(b, pt, psec, "OCP [V]", PETSC_TRUE, &e->U));
  PetscCall(BPXFunc(b, pt, psec, "Diffusivity [m2.s-1]", PETSC_TRUE, &e->D));
  PetscCall(BPXFunc(b, pt, psec, "Entropic change coefficient [V.K-1]", PETSC_FALSE, &e->dUdT));
  e->eps_s = e->a_m * e->R_m / 3;
  PetscCheck(e->eps + e->eps_s <= 1 + 1e-12, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: \"%s\": porosity %g plus active volume fraction a R / 3 = %g exceeds 1", b->file,
             sec, (double)e->eps, (double)e->eps_s);
  {
    char key[128];
    PetscCall(BPXSection(b, "User-defined", PETSC_FALSE, &ud));
    snprintf(key, sizeof(key), "Initial concentration in %c%s [mol.m-3]", sec[0] + 'a' - 'A',
             sec + 1);
    PetscCall(BPXReal(b, ud, "User-defined", key, 2, -1, PETSC_FALSE, &e->c_init));
    PetscCheck(e->c_init < 0 || e->c_init < e->cmax, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: \"User-defined\" -> \"%s\" = %g is not below the maximum %g", b->file, key,
               (double)e->c_init, (double)e->cmax);
  }
  PetscFunctionReturn(0);
}

/* An object member of obj (NULL when absent), checked to be an object. */
static PetscErrorCode BPXObject(TCBPX *b, const TCJsonValue *obj, const char where[],
                                const char key[], const TCJsonValue **s)
{
  PetscFunctionBeginUser;
  *s = obj ? TCJsonGet(obj, key) : NULL;
  PetscCheck(!*s || (*s)->type == TC_JSON_OBJECT, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s:%d: %s -> \"%s\" must be an object", b->file, (*s)->line, where, key);
  PetscFunctionReturn(0);
}

static PetscErrorCode TCCellParamsList(char list[], size_t len)
{
  char           dir[PETSC_MAX_PATH_LEN];
  DIR           *d;
  struct dirent *ent;

  PetscFunctionBeginUser;
  list[0] = 0;
  PetscCall(TCCellParamsDir(dir, sizeof(dir)));
  d = opendir(dir);
  if (!d) PetscFunctionReturn(0);
  while ((ent = readdir(d))) {
    size_t n = strlen(ent->d_name);
    if (n > 5 && !strcmp(ent->d_name + n - 5, ".json")) {
      size_t l = strlen(list);
      snprintf(list + l, len - l, "%s%.*s", l ? ", " : "", (int)(n - 5), ent->d_name);
    }
  }
  closedir(d);
  PetscFunctionReturn(0);
}

/* TCCellParamsLoad() without freeing the parsed file on an error (its
   wrapper does). */
static PetscErrorCode CellParamsLoadBody(const char name[], TCCellParams *p, TCJsonValue **root)
{
  char               path[PETSC_MAX_PATH_LEN], dir[PETSC_MAX_PATH_LEN];
  TCBPX              b;
  const TCJsonValue *cell, *el, *sep, *hdr, *ud, *t;
  PetscReal          npar, rho, cp, Lcn, Lcp;
  size_t             n = strlen(name);

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(p, sizeof(*p)));
  PetscCheck(n > 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "empty parameter set name");
  if (strchr(name, '/') || (n > 5 && !strcmp(name + n - 5, ".json"))) {
    PetscCall(PetscStrncpy(path, name, sizeof(path)));
  } else {
    char lower[200];
    for (size_t i = 0; i < sizeof(lower) - 1 && i <= n; i++) lower[i] = (char)tolower(name[i]);
    lower[sizeof(lower) - 1] = 0;
    PetscCall(TCCellParamsDir(dir, sizeof(dir)));
    PetscCall(TCPathJoin(dir, lower, path, sizeof(path) - 5));
    PetscCall(PetscStrlcat(path, ".json", sizeof(path)));
    if (access(path, R_OK)) {
      char list[1024];
      PetscCall(TCCellParamsList(list, sizeof(list)));
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
              "unknown parameter set '%s': no %s; known sets: %s (or give the path of a BPX "
              "JSON file)",
              name, path, list[0] ? list : "none found");
    }
  }
  PetscCall(TCJsonParseFile(path, root));
  b.file = path;
  b.root = (*root);
  PetscCall(PetscStrncpy(p->source, path, sizeof(p->source)));
  PetscCheck((*root)->type == TC_JSON_OBJECT, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: not a BPX parameter set: the top level must be an object", path);
  hdr = TCJsonGet((*root), "Header");
  PetscCheck(hdr && hdr->type == TC_JSON_OBJECT && TCJsonGet(hdr, "BPX"), PETSC_COMM_SELF,
             PETSC_ERR_USER_INPUT, "%s: not a BPX parameter set: missing \"Header\" -> \"BPX\"",
             path);
  t = TCJsonGet(hdr, "Title");
  PetscCall(
      PetscStrncpy(p->title, t && t->type == TC_JSON_STRING ? t->string : name, sizeof(p->title)));
  PetscCheck(TCJsonGet((*root), "Parameterisation"), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: not a BPX parameter set: missing \"Parameterisation\"", path);
  {
    /* "Model": the models the set is for; an SPM set (or electrodes in the
       schema's SPM form, without "Conductivity [S.m-1]") carries only what
       the single particle model needs */
    const TCJsonValue *m = TCJsonGet(hdr, "Model"), *ne, *pe;
    if (m) {
      PetscCheck(m->type == TC_JSON_STRING &&
                     (!strcmp(m->string, "SPM") || !strcmp(m->string, "SPMe") ||
                      !strcmp(m->string, "DFN") || !strcmp(m->string, "Partial")),
                 PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                 "%s:%d: \"Header\" -> \"Model\" must be \"SPM\", \"SPMe\", \"DFN\" or "
                 "\"Partial\"",
                 path, m->line);
      PetscCall(PetscStrncpy(p->bpx_model, m->string, sizeof(p->bpx_model)));
    }
    PetscCall(BPXSection(&b, "Negative electrode", PETSC_TRUE, &ne));
    PetscCall(BPXSection(&b, "Positive electrode", PETSC_TRUE, &pe));
    p->spm_only =
        (PetscBool)((m && !strcmp(m->string, "SPM")) || (!TCJsonGet(ne, "Conductivity [S.m-1]") &&
                                                         !TCJsonGet(pe, "Conductivity [S.m-1]")));
  }

  PetscCall(BPXSection(&b, "Cell", PETSC_TRUE, &cell));
  PetscCall(BPXReal(&b, cell, "Cell", "Electrode area [m2]", 1, 0, PETSC_TRUE, &p->area_m2));
  PetscCall(BPXReal(&b, cell, "Cell",
                    "Number of electrode pairs connected in parallel to make a cell", 1, 1,
                    PETSC_FALSE, &npar));
  p->area_m2 *= npar;
  PetscCall(BPXReal(&b, cell, "Cell", "Lower voltage cut-off [V]", 1, 0, PETSC_TRUE, &p->V_min));
  PetscCall(BPXReal(&b, cell, "Cell", "Upper voltage cut-off [V]", 1, 0, PETSC_TRUE, &p->V_max));
  PetscCheck(p->V_max > p->V_min, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: upper voltage cut-off %g V is not above the lower %g V", path, (double)p->V_max,
             (double)p->V_min);
  PetscCall(
      BPXReal(&b, cell, "Cell", "Nominal cell capacity [A.h]", 1, 0, PETSC_TRUE, &p->Q_nom_Ah));
  PetscCall(
      BPXReal(&b, cell, "Cell", "Reference temperature [K]", 1, 298.15, PETSC_FALSE, &p->T_ref));
  PetscCall(
      BPXReal(&b, cell, "Cell", "Ambient temperature [K]", 1, 298.15, PETSC_FALSE, &p->T_amb));
  PetscCall(
      BPXReal(&b, cell, "Cell", "Initial temperature [K]", 1, p->T_amb, PETSC_FALSE, &p->T_init));
  PetscCall(BPXReal(&b, cell, "Cell", "Heat transfer coefficient [W.m-2.K-1]", 2, 0, PETSC_FALSE,
                    &p->h_W_m2K));
  PetscCall(
      BPXReal(&b, cell, "Cell", "External surface area [m2]", 1, 0, PETSC_FALSE, &p->area_ext_m2));
  PetscCall(BPXReal(&b, cell, "Cell", "Volume [m3]", 1, 0, PETSC_FALSE, &p->volume_m3));
  PetscCall(BPXReal(&b, cell, "Cell", "Density [kg.m-3]", 1, 0, PETSC_FALSE, &rho));
  PetscCall(
      BPXReal(&b, cell, "Cell", "Specific heat capacity [J.K-1.kg-1]", 1, 0, PETSC_FALSE, &cp));
  p->rho_cp_J_m3K = rho * cp;

  /* State (BPX 1.x): the initial state and the thermal surroundings, where
     BPX 0.x had "Cell" -> "Initial/Ambient temperature [K]", "Heat transfer
     coefficient" and "Electrolyte" -> "Initial concentration [mol.m-3]"
     (both forms read; the State wins) */
  p->soc_init = -1;
  {
    const TCJsonValue *st = TCJsonGet((*root), "State"), *ic, *th, *dg;
    PetscReal          v;
    PetscCheck(!st || st->type == TC_JSON_OBJECT, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s:%d: \"State\" must be an object", path, st->line);
    PetscCall(BPXObject(&b, st, "\"State\"", "Initial conditions", &ic));
    /* "Thermal environment" (BPX 1.1.1; 1.1.0 drafts: "Thermal state") */
    PetscCall(BPXObject(&b, st, "\"State\"", "Thermal environment", &th));
    if (!th) PetscCall(BPXObject(&b, st, "\"State\"", "Thermal state", &th));
    PetscCall(BPXObject(&b, st, "\"State\"", "Degradation", &dg));
    PetscCall(BPXReal(&b, ic, "State\" -> \"Initial conditions", "Initial state-of-charge", 4, -1,
                      PETSC_FALSE, &p->soc_init));
    PetscCall(BPXReal(&b, ic, "State\" -> \"Initial conditions", "Initial temperature [K]", 1,
                      p->T_init, PETSC_FALSE, &p->T_init));
    PetscCall(BPXReal(&b, ic, "State\" -> \"Initial conditions",
                      "Initial electrolyte concentration [mol.m-3]", 1, 0, PETSC_FALSE, &p->ce0));
    PetscCall(BPXReal(&b, th, "State\" -> \"Thermal state", "Ambient temperature [K]", 1, -1,
                      PETSC_FALSE, &v));
    if (v > 0) {
      /* the initial temperature defaults to the ambient one where it is not given */
      if (!TCJsonGet(ic, "Initial temperature [K]") && !TCJsonGet(cell, "Initial temperature [K]"))
        p->T_init = v;
      p->T_amb = v;
    }
    PetscCall(BPXReal(&b, th, "State\" -> \"Thermal state", "Heat transfer coefficient [W.m-2.K-1]",
                      2, p->h_W_m2K, PETSC_FALSE, &p->h_W_m2K));
    if (dg) {
      /* a degraded state (lost lithium, lost active material) is not modelled */
      for (PetscInt i = 0; i < dg->n; i++) {
        const TCJsonValue *x    = dg->members[i];
        PetscBool          zero = (PetscBool)(x->type == TC_JSON_NUMBER && x->number == 0);
        if (x->type == TC_JSON_OBJECT) {
          zero = PETSC_TRUE;
          for (PetscInt k = 0; k < x->n; k++)
            zero = (PetscBool)(zero && x->members[k]->type == TC_JSON_NUMBER &&
                               x->members[k]->number == 0);
        }
        PetscCheck(zero, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                   "%s:%d: \"State\" -> \"Degradation\" -> \"%s\" is not 0: a degraded state "
                   "(loss of lithium inventory or of active material) is not modelled; give the "
                   "degraded cell's own parameters instead",
                   path, x->line, dg->keys[i]);
      }
    }
  }

  PetscCall(BPXSection(&b, "Electrolyte", !p->spm_only, &el));
  if (el) {
    if (!p->ce0)
      PetscCall(BPXReal(&b, el, "Electrolyte", "Initial concentration [mol.m-3]", 1, 0, PETSC_FALSE,
                        &p->ce0));
    if (!(p->ce0 > 0) && !p->spm_only) {
      /* BPX 1.1.1: every State value is optional, "leaving simulators to
         default" it: 1 M, said on the output */
      p->ce0 = 1000;
      snprintf(p->notes + strlen(p->notes), sizeof(p->notes) - strlen(p->notes),
               "%sno initial electrolyte concentration in the set (\"State\" -> \"Initial "
               "conditions\"): 1000 mol/m3 (1 M)",
               p->notes[0] ? "; " : "");
    }
    PetscCall(BPXReal(&b, el, "Electrolyte", "Cation transference number", 3, 0, !p->spm_only,
                      &p->t_plus));
    PetscCall(BPXFunc(&b, el, "Electrolyte", "Diffusivity [m2.s-1]", !p->spm_only, &p->De));
    PetscCall(BPXFunc(&b, el, "Electrolyte", "Conductivity [S.m-1]", !p->spm_only, &p->kappa));
    PetscCall(BPXReal(&b, el, "Electrolyte", "Diffusivity activation energy [J.mol-1]", 2, 0,
                      PETSC_FALSE, &p->Ea_De));
    PetscCall(BPXReal(&b, el, "Electrolyte", "Conductivity activation energy [J.mol-1]", 2, 0,
                      PETSC_FALSE, &p->Ea_kappa));
  }
  /* the SPM's exchange current uses c_e / c_e0 = 1: any reference will do */
  if (!(p->ce0 > 0)) p->ce0 = 1000;

  PetscCall(BPXElectrode(&b, "Negative electrode", p->spm_only, &p->neg));
  PetscCall(BPXElectrode(&b, "Positive electrode", p->spm_only, &p->pos));
  PetscCall(BPXSection(&b, "Separator", !p->spm_only, &sep));
  if (sep || !p->spm_only) {
    PetscCall(BPXReal(&b, sep, "Separator", "Thickness [m]", 1, 0, !p->spm_only, &p->L_sep_m));
    PetscCall(BPXReal(&b, sep, "Separator", "Porosity", 5, 0, !p->spm_only, &p->eps_sep));
    PetscCall(BPXReal(&b, sep, "Separator", "Transport efficiency", 5, 0, !p->spm_only, &p->B_sep));
  }

  PetscCall(BPXSection(&b, "User-defined", PETSC_FALSE, &ud));
  PetscCall(BPXUserDefinedHysteresis(&b, ud));
  PetscCall(BPXReal(&b, ud, "User-defined", "Negative current collector thickness [m]", 2, 0,
                    PETSC_FALSE, &Lcn));
  PetscCall(BPXReal(&b, ud, "User-defined", "Positive current collector thickness [m]", 2, 0,
                    PETSC_FALSE, &Lcp));
  p->L_cc_m = Lcn + Lcp;
  PetscCall(TCJsonFree(root));
  /* tabulate the expressions for speed (see TCFuncTabulate; interpolation
     error at the 1e-9 level, far below the discretisation error) */
  {
    PetscBool          done;
    TCElectrodeParams *e[2] = {&p->neg, &p->pos};
    for (int i = 0; i < 2; i++) {
      PetscCall(TCFuncTabulate(e[i]->U, 0, 1, 4097, &done));
      if (e[i]->dUdT) PetscCall(TCFuncTabulate(e[i]->dUdT, 0, 1, 4097, &done));
      PetscCall(TCFuncTabulate(e[i]->D, 0, 1, 4097, &done));
    }
    if (p->De) PetscCall(TCFuncTabulate(p->De, 0, 6 * p->ce0, 4097, &done));
    if (p->kappa) PetscCall(TCFuncTabulate(p->kappa, 0, 6 * p->ce0, 4097, &done));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellParamsLoad(const char name[], TCCellParams *p)
{
  TCJsonValue   *root = NULL;
  PetscErrorCode ierr = CellParamsLoadBody(name, p, &root);

  /* not PetscCall: the error was reported where it arose; free, then pass it on */
  (void)TCJsonFree(&root);
  return ierr;
}

PetscErrorCode TCCellParamsDestroy(TCCellParams *p)
{
  PetscFunctionBeginUser;
  PetscCall(TCFuncDestroy(&p->De));
  PetscCall(TCFuncDestroy(&p->kappa));
  PetscCall(TCFuncDestroy(&p->neg.U));
  PetscCall(TCFuncDestroy(&p->neg.D));
  PetscCall(TCFuncDestroy(&p->neg.dUdT));
  PetscCall(TCFuncDestroy(&p->pos.U));
  PetscCall(TCFuncDestroy(&p->pos.D));
  PetscCall(TCFuncDestroy(&p->pos.dUdT));
  PetscFunctionReturn(0);
}

PetscReal TCCellParamsOCV(const TCCellParams *p, PetscReal x, PetscReal y, PetscReal T_K)
{
  PetscReal U = TCFuncEval(p->pos.U, y, T_K, NULL) - TCFuncEval(p->neg.U, x, T_K, NULL);
  if (p->pos.dUdT) U += (T_K - p->T_ref) * TCFuncEval(p->pos.dUdT, y, T_K, NULL);
  if (p->neg.dUdT) U -= (T_K - p->T_ref) * TCFuncEval(p->neg.dUdT, x, T_K, NULL);
  return U;
}

/* the stoichiometries of the set's window at soc (as TCCellStateInit) */
static void WindowSto(const TCCellParams *p, PetscReal soc, PetscReal *x, PetscReal *y)
{
  PetscReal y0 = PetscMax(p->pos.sto_min, p->pos.sto_max),
            y1 = PetscMin(p->pos.sto_min, p->pos.sto_max);
  PetscReal x0 = PetscMin(p->neg.sto_min, p->neg.sto_max),
            x1 = PetscMax(p->neg.sto_min, p->neg.sto_max);
  *x           = x0 + soc * (x1 - x0);
  *y           = y0 + soc * (y1 - y0);
}

PetscReal TCCellParamsOCVAtSOC(const TCCellParams *p, PetscReal soc, PetscReal T_K)
{
  PetscReal x, y;
  WindowSto(p, soc, &x, &y);
  return TCCellParamsOCV(p, x, y, T_K);
}

PetscErrorCode TCCellParamsParseSOC(const TCCellParams *p, const char key[], const char text[],
                                    PetscReal T_K, PetscReal *soc, PetscBool *from_voltage)
{
  char     *end;
  double    v;
  PetscReal V0, V1, lo = 0, hi = 1;

  PetscFunctionBeginUser;
  *from_voltage = PETSC_FALSE;
  errno         = 0;
  v             = strtod(text, &end);
  PetscCheck(end != text && errno == 0 && isfinite(v), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "key %s = \"%s\": expected a state of charge in [0, 1] or a rest voltage such as "
             "\"4.18 V\"",
             key, text);
  while (*end == ' ' || *end == '\t') end++;
  if (!*end) {
    PetscCheck(v >= 0 && v <= 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "key %s = %s is out of range: allowed [0, 1] (a state of charge), or a rest "
               "voltage such as \"4.18 V\"",
               key, text);
    *soc = (PetscReal)v;
    PetscFunctionReturn(0);
  }
  PetscCheck((end[0] == 'V' || end[0] == 'v') && end[1] == '\0', PETSC_COMM_SELF,
             PETSC_ERR_USER_INPUT,
             "key %s = \"%s\": expected a state of charge in [0, 1] or a rest voltage such as "
             "\"4.18 V\" (unit V)",
             key, text);
  PetscCheck(v >= p->V_min && v <= p->V_max, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "key %s = \"%s\": the rest voltage is outside the set's voltage limits [%g, %g] V "
             "(%s)",
             key, text, (double)p->V_min, (double)p->V_max, p->source);
  *from_voltage = PETSC_TRUE;
  V0            = TCCellParamsOCVAtSOC(p, 0, T_K);
  V1            = TCCellParamsOCVAtSOC(p, 1, T_K);
  /* within the limits but beyond the window's open-circuit range: its end */
  if (v <= V0) {
    *soc = 0;
    PetscFunctionReturn(0);
  }
  if (v >= V1) {
    *soc = 1;
    PetscFunctionReturn(0);
  }
  /* the OCV rises with SOC on the window: bisection to 1e-12 */
  for (int it = 0; it < 60 && hi - lo > 1e-12; it++) {
    PetscReal m = 0.5 * (lo + hi);
    if (TCCellParamsOCVAtSOC(p, m, T_K) < v)
      lo = m;
    else
      hi = m;
  }
  *soc = 0.5 * (lo + hi);
  PetscFunctionReturn(0);
}

const char *const TCCellRegionNames[] = {"negative electrode", "separator", "positive electrode"};

/* a number at key of obj, checked to be finite and in (lo, hi] */
static PetscErrorCode PropsNumber(const char path[], const TCJsonValue *obj, const char where[],
                                  const char key[], PetscReal lo, PetscReal hi, const char what[],
                                  PetscReal *v)
{
  const TCJsonValue *x = TCJsonGet(obj, key);

  PetscFunctionBeginUser;
  PetscCheck(x, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: not a tortuosity props.json: missing key %s\"%s\" (a number; write the file with "
             "tomocell tortuosity -output)",
             path, where, key);
  PetscCheck(x->type == TC_JSON_NUMBER, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s:%d: %s\"%s\" must be a number, not %s", path, x->line, where, key,
             x->type == TC_JSON_NULL ? "null" : "a string, array, object or boolean");
  *v = x->number;
  PetscCheck(isfinite(*v) && *v > lo && *v <= hi, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s:%d: %s\"%s\" = %g is out of range: must be %s", path, x->line, where, key,
             (double)*v, what);
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellParamsApplyProps(TCCellParams *p, TCCellRegion region, const char path[],
                                      char dir, PetscInt active_label, TCCellPropsChange *chg)
{
  TCJsonValue       *root = NULL;
  const TCJsonValue *dirs, *d, *perc, *cmd;
  char               key[2] = {dir, 0}, where[64];
  PetscReal          eps, tau, rd, eps_s_file;
  PetscReal         *peps, *pB;

  PetscFunctionBeginUser;
  PetscCheck(dir == 'x' || dir == 'y' || dir == 'z', PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "tortuosity direction '%c' is not x, y or z", dir);
  PetscCall(TCJsonParseFile(path, &root));
  PetscCheck(root->type == TC_JSON_OBJECT, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: not a tortuosity props.json: the top level must be an object", path);
  cmd = TCJsonGet(root, "command");
  PetscCheck(!cmd || (cmd->type == TC_JSON_STRING && !strcmp(cmd->string, "tortuosity")),
             PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: not a tortuosity props.json: \"command\" is %s%s%s, expected \"tortuosity\"",
             path, cmd->type == TC_JSON_STRING ? "\"" : "",
             cmd->type == TC_JSON_STRING ? cmd->string : "not a string",
             cmd->type == TC_JSON_STRING ? "\"" : "");
  /* with -diffusivity the tau is relative to sum_l eps_l D_l over several
     labels, so there is no single electrolyte fraction to pair it with */
  PetscCheck(!TCJsonGet(root, "diffusivity"), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: a multi-phase props.json (tomocell tortuosity -diffusivity) has no single "
             "electrolyte volume fraction; run tortuosity on the pore phase alone (-phase 0)",
             path);
  PetscCall(PropsNumber(path, root, "", "volume_fraction", 0, 1, "in (0, 1]", &eps));
  dirs = TCJsonGet(root, "directions");
  PetscCheck(dirs && dirs->type == TC_JSON_OBJECT, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: not a tortuosity props.json: missing object \"directions\"", path);
  d = TCJsonGet(dirs, key);
  PetscCheck(d && d->type == TC_JSON_OBJECT, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: no \"directions\" -> \"%c\": the file was written for other directions; rerun "
             "tomocell tortuosity with -direction %c (or all), or choose another with "
             "-cell_props_direction",
             path, dir, dir);
  perc = TCJsonGet(d, "percolates");
  PetscCheck(!perc || perc->type != TC_JSON_BOOL || perc->number != 0, PETSC_COMM_SELF,
             PETSC_ERR_USER_INPUT,
             "%s: the phase does not percolate in %c (\"directions\" -> \"%c\" -> \"percolates\": "
             "false): the %s would carry no ionic current; a tau exists only for a connected "
             "pore phase",
             path, dir, dir, TCCellRegionNames[region]);
  snprintf(where, sizeof(where), "\"directions\" -> \"%c\" -> ", dir);
  PetscCall(PropsNumber(path, d, where, "tau", 0, PETSC_MAX_REAL, "a tortuosity factor > 0", &tau));
  /* tau = eps / (D_eff/D) by definition; a file that contradicts it was edited
     or mixed up (1e-6: the file's 17 significant digits with margin) */
  if (TCJsonGet(d, "relative_diffusivity")) {
    PetscCall(PropsNumber(path, d, where, "relative_diffusivity", 0, 1, "in (0, 1]", &rd));
    PetscCheck(
        PetscAbsReal(eps / tau - rd) <= 1e-6 * rd, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
        "%s: inconsistent: volume_fraction / tau = %g / %g = %g but %s\"relative_diffusivity\" "
        "= %g",
        path, (double)eps, (double)tau, (double)(eps / tau), where, (double)rd);
  }
  eps_s_file = -1;
  if (active_label >= 0 && region != TC_REGION_SEP) {
    const TCJsonValue *lf = TCJsonGet(root, "label_fractions");
    char               lk[16], lw[64];
    snprintf(lk, sizeof(lk), "%d", (int)active_label);
    {
      const TCJsonValue *ph = TCJsonGet(root, "phase");
      PetscCheck(!ph || ph->type != TC_JSON_NUMBER || ph->number != (double)active_label,
                 PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
                 "%s: -cell_props_active_label %d is the pore phase the file describes "
                 "(\"phase\": %d); give the label of the active material (1 in tomocell "
                 "microstructure volumes)",
                 path, (int)active_label, (int)active_label);
    }
    PetscCheck(lf && lf->type == TC_JSON_OBJECT, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: no \"label_fractions\" for -cell_props_active_label %d (rerun tomocell "
               "tortuosity to write it, or leave the key out to keep the set's solid composition)",
               path, (int)active_label);
    PetscCheck(TCJsonGet(lf, lk), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: label %d (-cell_props_active_label) does not occur in the volume: "
               "\"label_fractions\" has no \"%s\"",
               path, (int)active_label, lk);
    snprintf(lw, sizeof(lw), "\"label_fractions\" -> ");
    PetscCall(PropsNumber(path, lf, lw, lk, 0, 1, "in (0, 1]", &eps_s_file));
    PetscCheck(eps + eps_s_file <= 1 + 1e-9, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: volume_fraction %g plus the active fraction %g of label %d exceeds 1: is the "
               "active label the pore phase?",
               path, (double)eps, (double)eps_s_file, (int)active_label);
  }
  PetscCall(TCJsonFree(&root));

  peps = region == TC_REGION_NEG   ? &p->neg.eps
         : region == TC_REGION_SEP ? &p->eps_sep
                                   : &p->pos.eps;
  pB   = region == TC_REGION_NEG ? &p->neg.B : region == TC_REGION_SEP ? &p->B_sep : &p->pos.B;
  PetscCall(PetscMemzero(chg, sizeof(*chg)));
  chg->eps_old = *peps;
  chg->B_old   = *pB;
  chg->tau     = tau;
  chg->eps     = eps;
  chg->B       = eps / tau;
  PetscCheck(chg->B <= 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: volume_fraction / tau = %g > 1 is not a transport efficiency (tau %g < "
             "volume_fraction %g)",
             path, (double)chg->B, (double)tau, (double)eps);
  if (region != TC_REGION_SEP) {
    TCElectrodeParams *e = region == TC_REGION_NEG ? &p->neg : &p->pos;
    PetscCheck(eps < 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: volume_fraction 1 leaves no solid in the %s", path, TCCellRegionNames[region]);
    chg->eps_s_old = e->eps_s;
    chg->a_old     = e->a_m;
    chg->eps_s     = eps_s_file > 0 ? eps_s_file : e->eps_s * (1 - eps) / (1 - e->eps);
    chg->a         = 3 * chg->eps_s / e->R_m;
    e->eps_s       = chg->eps_s;
    e->a_m         = chg->a;
  }
  *peps = eps;
  *pB   = chg->B;
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellParamsSetThickness(TCCellParams *p, TCCellRegion region, PetscReal L_m)
{
  PetscFunctionBeginUser;
  PetscCheck(L_m > 0 && isfinite(L_m), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s thickness %g m must be positive", TCCellRegionNames[region], (double)L_m);
  if (region == TC_REGION_NEG)
    p->neg.L_m = L_m;
  else if (region == TC_REGION_SEP)
    p->L_sep_m = L_m;
  else
    p->pos.L_m = L_m;
  PetscFunctionReturn(0);
}

PetscErrorCode TCCellParamsDeckTemperatures(TCDeck deck, const TCCellParams *p, PetscReal *T_amb_K,
                                            PetscReal *T_init_K)
{
  PetscBool amb_set;

  PetscFunctionBeginUser;
  *T_amb_K = p->T_amb;
  PetscCall(TCDeckGetReal(deck, "ambient_temperature", T_amb_K));
  PetscCall(TCDeckIsSet(deck, "ambient_temperature", &amb_set));
  *T_init_K = amb_set ? *T_amb_K : p->T_init;
  PetscCall(TCDeckGetReal(deck, "initial_temperature", T_init_K));
  PetscFunctionReturn(0);
}

/* The multiscale link: thickness keys and tortuosity props.json files
   replace the set's values region by region. Every change that the user
   might not expect (porosity, active fraction) is printed. */
PetscErrorCode TCCellParamsApplyDeck(TCDeck deck, TCCellParams *p, TCCellMicrostructure *rec)
{
  static const char *const pkeys[3] = {"cell_props_n", "cell_props_s", "cell_props_p"};
  static const char *const lkeys[3] = {"cell_thickness_n_m", "cell_thickness_s_m",
                                       "cell_thickness_p_m"};
  MPI_Comm                 comm     = PETSC_COMM_WORLD;
  PetscInt                 idir, alabel = -1;
  char                     dir;

  PetscReal            L0[3] = {p->neg.L_m, p->L_sep_m, p->pos.L_m};
  TCCellMicrostructure tmp;

  PetscFunctionBeginUser;
  if (!rec) rec = &tmp;
  PetscCall(PetscMemzero(rec, sizeof(*rec)));
  PetscCall(TCDeckGetEnum(deck, "cell_props_direction", &idir));
  PetscCall(TCDeckGetInt(deck, "cell_props_active_label", &alabel));
  dir               = (char)('x' + idir);
  rec->dir          = dir;
  rec->active_label = alabel;
  for (int r = 0; r < 3; r++) {
    PetscReal *L = r == 0 ? &p->neg.L_m : r == 1 ? &p->L_sep_m : &p->pos.L_m, L_new = *L;
    PetscCall(TCDeckGetReal(deck, lkeys[r], &L_new));
    rec->L_old_m[r] = *L;
    rec->L_m[r]     = L_new;
    if (L_new != *L) {
      rec->thickness_set[r] = PETSC_TRUE;
      PetscCall(TCPrintf(comm, "  %s: thickness %.4g um (the set's %.4g um)\n",
                         TCCellRegionNames[r], (double)(L_new * 1e6), (double)(*L * 1e6)));
      PetscCall(TCCellParamsSetThickness(p, (TCCellRegion)r, L_new));
    }
  }
  for (int r = 0; r < 3; r++) {
    char              path[PETSC_MAX_PATH_LEN];
    PetscBool         set;
    TCCellPropsChange c;
    PetscCall(TCDeckGetString(deck, pkeys[r], path, sizeof(path), &set));
    if (!set) continue;
    PetscCheck(!p->spm_only, comm, PETSC_ERR_USER_INPUT,
               "%s: %s is an SPM-only BPX set (no porosities or transport efficiencies), which "
               "microstructure properties cannot change",
               pkeys[r], p->source);
    PetscCall(TCCellParamsApplyProps(p, (TCCellRegion)r, path, dir, alabel, &c));
    rec->props_set[r] = PETSC_TRUE;
    rec->chg[r]       = c;
    PetscCall(PetscStrncpy(rec->props[r], path, sizeof(rec->props[r])));
    PetscCall(TCPrintf(comm,
                       "  %s from %s: tau_%c %.4f, transport efficiency eps/tau %.5f (the set's "
                       "%.5f)\n",
                       TCCellRegionNames[r], path, dir, (double)c.tau, (double)c.B,
                       (double)c.B_old));
    if (PetscAbsReal(c.eps - c.eps_old) > 1e-12)
      PetscCall(TCPrintf(comm,
                         "  note: %s porosity %.4f replaces the set's %.4f (the file's "
                         "volume_fraction)%s\n",
                         TCCellRegionNames[r], (double)c.eps, (double)c.eps_old,
                         r == 1        ? ""
                         : alabel >= 0 ? "; active fraction from the file's label_fractions"
                                       : "; the solid keeps the set's composition"));
    if (r != 1 && PetscAbsReal(c.eps_s - c.eps_s_old) > 1e-12) {
      PetscReal q0 = c.eps_s_old * L0[r], q1 = c.eps_s * (r == 0 ? p->neg.L_m : p->pos.L_m);
      char      tail[256];
      if (PetscAbsReal(q1 - q0) <= 1e-6 * q0)
        snprintf(tail, sizeof(tail), " (kept)");
      else
        snprintf(tail, sizeof(tail),
                 " (capacity follows the loading; -%s %.6g keeps the set's: L_set eps_s,set / "
                 "eps_s)",
                 lkeys[r], (double)(q0 / c.eps_s));
      PetscCall(TCPrintf(comm,
                         "  note: %s active fraction %.4f -> %.4f, surface area %.4g -> %.4g "
                         "1/m, loading eps_s L %.4g -> %.4g m%s\n",
                         TCCellRegionNames[r], (double)c.eps_s_old, (double)c.eps_s,
                         (double)c.a_old, (double)c.a, (double)q0, (double)q1, tail));
    }
  }
  PetscFunctionReturn(0);
}

void TCCellMicrostructureWriteJSON(const TCCellMicrostructure *rec, TCJson *js)
{
  static const char *const names[3] = {"negative", "separator", "positive"};
  for (int r = 0; r < 3; r++) {
    if (!rec->props_set[r] && !rec->thickness_set[r]) continue;
    TCJsonObjectBegin(js, names[r]);
    if (rec->thickness_set[r]) {
      TCJsonReal(js, "thickness_m", rec->L_m[r]);
      TCJsonReal(js, "set_thickness_m", rec->L_old_m[r]);
    }
    if (rec->props_set[r]) {
      const TCCellPropsChange *c    = &rec->chg[r];
      char                     d[2] = {rec->dir, 0};
      TCJsonString(js, "props", rec->props[r]);
      TCJsonString(js, "direction", d);
      TCJsonReal(js, "tau", c->tau);
      TCJsonReal(js, "porosity", c->eps);
      TCJsonReal(js, "set_porosity", c->eps_old);
      TCJsonReal(js, "transport_efficiency", c->B);
      TCJsonReal(js, "set_transport_efficiency", c->B_old);
      if (r != 1) {
        TCJsonReal(js, "active_fraction", c->eps_s);
        TCJsonReal(js, "set_active_fraction", c->eps_s_old);
        TCJsonReal(js, "surface_area_per_volume_m", c->a);
      }
    }
    TCJsonObjectEnd(js);
  }
}
