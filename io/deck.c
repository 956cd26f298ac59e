/*
 * Decks through PETSc's options database (see deck.h).
 *
 * Loading goes through a private PetscOptions object first, so that the
 * deck's keys can be listed and checked before any of them reaches the global
 * database; then each key is copied to the global database unless the command
 * line already set it.
 */
#include "io/deck.h"
#include "io/output.h"
#include "src/tc.h"
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <yaml.h>

#define TC_DECK_TEXT_MAX (1 << 20)

struct _p_TCDeck {
  MPI_Comm     comm;
  char         cmd[32];
  const TCKey *keys;
  PetscInt     nkeys;
  char         path[PETSC_MAX_PATH_LEN];
  char         name[256];
  char        *text;
  PetscBool   *fromdeck;
  /* another command's keys, accepted in the file only (TCDeckSetForeignKeys) */
  const TCKey *fkeys;
  PetscInt     nfkeys;
  char         fcmd[32];
  PetscBool   *fseen;
  /* the names given for prefix keys ("probes_*"): from the file and the command line */
  PetscInt npre;
  char (*pre)[128];
};

/* The decks alive (created, not destroyed), so that TCDeckDestroyAll() frees
   those a command left when it stopped on an error. */
#define TC_MAX_DECKS 16
static TCDeck tc_decks[TC_MAX_DECKS];

PetscErrorCode TCDeckCreate(MPI_Comm comm, const char cmd[], const TCKey keys[], PetscInt nkeys,
                            TCDeck *deck)
{
  TCDeck d;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&d));
  for (int i = 0; i < TC_MAX_DECKS; i++)
    if (!tc_decks[i]) {
      tc_decks[i] = d;
      break;
    }
  d->comm  = comm;
  d->keys  = keys;
  d->nkeys = nkeys;
  PetscCall(PetscStrncpy(d->cmd, cmd, sizeof(d->cmd)));
  PetscCall(PetscCalloc1(nkeys, &d->fromdeck));
  PetscCall(PetscStrallocpy("", &d->text));
  *deck = d;
  PetscFunctionReturn(0);
}

PetscErrorCode TCDeckDestroy(TCDeck *deck)
{
  PetscFunctionBeginUser;
  if (!*deck) PetscFunctionReturn(0);
  for (int i = 0; i < TC_MAX_DECKS; i++)
    if (tc_decks[i] == *deck) tc_decks[i] = NULL;
  PetscCall(PetscFree((*deck)->text));
  PetscCall(PetscFree((*deck)->fromdeck));
  PetscCall(PetscFree((*deck)->fseen));
  PetscCall(PetscFree((*deck)->pre));
  PetscCall(PetscFree(*deck));
  PetscFunctionReturn(0);
}

/* A key whose name ends in '*' is a prefix key: "probes_*" matches every
   probes_<name> (a YAML map probes: {<name>: ...}). */
void TCDeckDestroyAll(void)
{
  for (int i = 0; i < TC_MAX_DECKS; i++) {
    TCDeck d = tc_decks[i];
    if (d) (void)TCDeckDestroy(&d);
  }
}

static PetscBool TCKeyIsPrefix(const TCKey *key, size_t *len)
{
  size_t n = strlen(key->name);
  if (len) *len = n ? n - 1 : 0;
  return (PetscBool)(n > 1 && key->name[n - 1] == '*');
}

static PetscInt TCDeckFind(TCDeck d, const char name[])
{
  for (PetscInt k = 0; k < d->nkeys; k++) {
    PetscBool eq;
    PetscStrcasecmp(d->keys[k].name, name, &eq);
    if (eq) return k;
  }
  for (PetscInt k = 0; k < d->nkeys; k++) {
    size_t n;
    if (TCKeyIsPrefix(&d->keys[k], &n) && strlen(name) > n &&
        !strncasecmp(d->keys[k].name, name, n))
      return k;
  }
  return -1;
}

/* Record a name given for a prefix key (once). */
static PetscErrorCode TCDeckRecordPrefixed(TCDeck d, const char name[])
{
  PetscInt k = TCDeckFind(d, name);

  PetscFunctionBeginUser;
  if (k < 0 || !TCKeyIsPrefix(&d->keys[k], NULL)) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < d->npre; i++)
    if (!strcasecmp(d->pre[i], name)) PetscFunctionReturn(0);
  PetscCheck(strlen(name) < sizeof(d->pre[0]), d->comm, PETSC_ERR_USER_INPUT,
             "key %s: the name is longer than %d characters", name, (int)sizeof(d->pre[0]) - 1);
  PetscCall(PetscRealloc(sizeof(*d->pre) * (size_t)(d->npre + 1), &d->pre));
  PetscCall(PetscStrncpy(d->pre[d->npre++], name, sizeof(d->pre[0])));
  PetscFunctionReturn(0);
}

PetscErrorCode TCDeckGetPrefixed(TCDeck d, const char prefix[], PetscInt *n, const char *names[],
                                 PetscInt max)
{
  size_t len = strlen(prefix);

  PetscFunctionBeginUser;
  *n = 0;
  for (PetscInt i = 0; i < d->npre; i++)
    if (!strncasecmp(d->pre[i], prefix, len)) {
      PetscCheck(*n < max, d->comm, PETSC_ERR_USER_INPUT, "more than %d %s* keys", (int)max,
                 prefix);
      names[(*n)++] = d->pre[i];
    }
  PetscFunctionReturn(0);
}

static PetscInt TCDeckFindForeign(TCDeck d, const char name[])
{
  for (PetscInt k = 0; k < d->nfkeys; k++) {
    PetscBool eq;
    size_t    n;
    PetscStrcasecmp(d->fkeys[k].name, name, &eq);
    /* a prefix key of the other command ("fit_datasets_*") takes its names */
    if (!eq && TCKeyIsPrefix(&d->fkeys[k], &n))
      eq = (PetscBool)(strlen(name) > n && !strncasecmp(d->fkeys[k].name, name, n));
    if (eq && TCDeckFind(d, name) < 0) return k;
  }
  return -1;
}

PetscErrorCode TCDeckSetForeignKeys(TCDeck d, const char cmd[], const TCKey keys[], PetscInt nkeys)
{
  PetscFunctionBeginUser;
  d->fkeys  = keys;
  d->nfkeys = nkeys;
  PetscCall(PetscStrncpy(d->fcmd, cmd, sizeof(d->fcmd)));
  PetscCall(PetscFree(d->fseen));
  PetscCall(PetscCalloc1(PetscMax(nkeys, 1), &d->fseen));
  PetscFunctionReturn(0);
}

PetscErrorCode TCDeckHasForeignKey(TCDeck d, const char name[], PetscBool *has)
{
  PetscInt k = name ? TCDeckFindForeign(d, name) : -1;

  PetscFunctionBeginUser;
  if (!name) { /* any */
    *has = PETSC_FALSE;
    for (PetscInt q = 0; q < d->nfkeys; q++) *has = (PetscBool)(*has || d->fseen[q]);
    PetscFunctionReturn(0);
  }
  *has = (PetscBool)(k >= 0 && d->fseen[k]);
  PetscFunctionReturn(0);
}

static PetscErrorCode TCDeckUnknown(TCDeck d, const char name[], const char where[])
{
  const char **names;
  const char  *close;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(d->nkeys, &names));
  for (PetscInt k = 0; k < d->nkeys; k++) names[k] = d->keys[k].name;
  close = TCClosestName(name, names, d->nkeys);
  PetscCall(PetscFree(names));
  SETERRQ(d->comm, PETSC_ERR_USER_INPUT,
          "%s: unknown key '%s'%s%s%s (tomocell %s --help lists the keys)", where, name,
          close ? "; did you mean '" : "", close ? close : "", close ? "'?" : "", d->cmd);
}

static void TCDeckStrictYAML(const char *text, size_t len, char *msg, size_t mlen);

/* Read the whole deck on rank 0 and broadcast it (for the metadata and for
   error messages that must not depend on libyaml's wording alone). */
static PetscErrorCode TCDeckReadText(TCDeck d, const char path[])
{
  PetscMPIInt rank;
  long        len = 0;
  int         err = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(d->comm, &rank));
  PetscCall(TCInputCheck(d->comm, path));
  PetscCall(PetscFree(d->text));
  if (rank == 0) {
    FILE *fp = fopen(path, "rb");
    if (!fp)
      err = errno;
    else {
      char *buf;
      PetscCall(PetscMalloc1(TC_DECK_TEXT_MAX + 1, &buf));
      len = (long)fread(buf, 1, TC_DECK_TEXT_MAX, fp);
      if (ferror(fp))
        err = errno ? errno : EIO;
      else if (!feof(fp))
        err = EFBIG;
      fclose(fp);
      buf[len] = 0;
      d->text  = buf;
    }
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, d->comm));
  if (err) {
    PetscCall(PetscFree(d->text));
    PetscCall(PetscStrallocpy("", &d->text));
  }
  PetscCheck(err != EFBIG, d->comm, PETSC_ERR_FILE_READ,
             "deck %s is larger than %d bytes; is it really a deck?", path, TC_DECK_TEXT_MAX);
  PetscCheck(!err, d->comm, PETSC_ERR_FILE_OPEN, "cannot read deck %s: %s", path, strerror(err));
  PetscCallMPI(MPI_Bcast(&len, 1, MPI_LONG, 0, d->comm));
  if (rank != 0) PetscCall(PetscMalloc1(len + 1, &d->text));
  PetscCallMPI(MPI_Bcast(d->text, (PetscMPIInt)len + 1, MPI_CHAR, 0, d->comm));
  {
    char msg[512];
    TCDeckStrictYAML(d->text, (size_t)len, msg, sizeof(msg));
    PetscCheck(!msg[0], d->comm, PETSC_ERR_FILE_UNEXPECTED, "deck %s %s", path, msg);
  }
  PetscFunctionReturn(0);
}

/* Strict YAML, before PETSc reads the deck: no NUL byte, one document, no
   key twice in one mapping (PETSc would keep one of them silently), and at
   most TC_DECK_DEPTH levels of nesting (deeper decks are not decks, and PETSc's
   reader is super-linear in the depth). libyaml's event parser, linear in the
   text; msg empty if the deck is fine. */
#define TC_DECK_DEPTH 32
typedef struct {
  long   map;  /* which mapping */
  size_t line; /* 1-based */
  char  *key;
} TCDeckKeyRef;

static int TCDeckKeyCmp(const void *a, const void *b)
{
  const TCDeckKeyRef *x = (const TCDeckKeyRef *)a, *y = (const TCDeckKeyRef *)b;
  int                 c = (x->map > y->map) - (x->map < y->map);
  if (c) return c;
  c = strcmp(x->key, y->key);
  return c ? c : (x->line > y->line) - (x->line < y->line);
}

static void TCDeckStrictYAML(const char *text, size_t len, char *msg, size_t mlen)
{
  yaml_parser_t parser;
  yaml_event_t  ev;
  long          mapid[TC_DECK_DEPTH + 2], nmaps = 0;
  int           iskey[TC_DECK_DEPTH + 2], depth = 0, ndocs = 0, done = 0;
  TCDeckKeyRef *keys = NULL;
  size_t        nkeys = 0, cap = 0;
  const char   *nul   = memchr(text, 0, len);

  msg[0] = 0;
  if (nul) {
    size_t line = 1;
    for (const char *c = text; c < nul; c++) line += *c == '\n';
    snprintf(msg, mlen, "is not a valid deck: line %zu: a NUL byte (a binary file, not a deck)", line);
    return;
  }
  if (!yaml_parser_initialize(&parser)) {
    snprintf(msg, mlen, "cannot start the YAML parser");
    return;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  while (!done && !msg[0]) {
    if (!yaml_parser_parse(&parser, &ev)) {
      snprintf(msg, mlen,
               "is not valid YAML (line %zu: %s); check indentation, colons and brackets",
               (size_t)parser.problem_mark.line + 1,
               parser.problem ? parser.problem : "syntax error");
      break;
    }
    switch (ev.type) {
    case YAML_DOCUMENT_START_EVENT:
      if (++ndocs > 1)
        snprintf(msg, mlen,
                 "is not a valid deck: line %zu: a second YAML document ('---'); a deck is one "
                 "document",
                 (size_t)ev.start_mark.line + 1);
      break;
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
      if (depth > 0 && iskey[depth - 1] >= 0) iskey[depth - 1] = !iskey[depth - 1];
      if (depth >= TC_DECK_DEPTH) {
        snprintf(msg, mlen, "is not a valid deck: line %zu: nested more than %d levels deep",
                 (size_t)ev.start_mark.line + 1, TC_DECK_DEPTH);
        break;
      }
      iskey[depth]   = ev.type == YAML_MAPPING_START_EVENT ? 1 : -1;
      mapid[depth++] = nmaps++;
      break;
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
      depth--;
      break;
    case YAML_SCALAR_EVENT:
    case YAML_ALIAS_EVENT:
      if (depth > 0 && iskey[depth - 1] >= 0) {
        if (iskey[depth - 1] == 1 && ev.type == YAML_SCALAR_EVENT) {
          if (nkeys == cap) {
            TCDeckKeyRef *k = (TCDeckKeyRef *)realloc(keys, (cap = 2 * cap + 64) * sizeof(*k));
            if (!k) {
              snprintf(msg, mlen, "out of memory checking the deck");
              break;
            }
            keys = k;
          }
          keys[nkeys].map  = mapid[depth - 1];
          keys[nkeys].line = (size_t)ev.start_mark.line + 1;
          keys[nkeys].key  = strdup((const char *)ev.data.scalar.value);
          if (keys[nkeys].key) nkeys++;
        }
        iskey[depth - 1] = !iskey[depth - 1];
      }
      break;
    case YAML_STREAM_END_EVENT:
      done = 1;
      break;
    default:
      break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&parser);
  if (!msg[0] && nkeys > 1) {
    qsort(keys, nkeys, sizeof(*keys), TCDeckKeyCmp);
    for (size_t i = 1; i < nkeys && !msg[0]; i++)
      if (keys[i].map == keys[i - 1].map && !strcmp(keys[i].key, keys[i - 1].key))
        snprintf(msg, mlen,
                 "is not a valid deck: line %zu: key '%.100s' given twice in one mapping (first "
                 "on line %zu)",
                 keys[i].line, keys[i].key, keys[i - 1].line);
  }
  for (size_t i = 0; i < nkeys; i++) free(keys[i].key);
  free(keys);
}

PetscErrorCode TCYAMLCheckFile(MPI_Comm comm, const char path[], const char what[])
{
  PetscMPIInt rank;
  char        msg[512] = "";

  PetscFunctionBeginUser;
  PetscCall(TCInputCheck(comm, path));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    FILE *fp = fopen(path, "rb");
    if (fp) {
      char  *buf = (char *)malloc(TC_DECK_TEXT_MAX + 1);
      size_t n   = buf ? fread(buf, 1, TC_DECK_TEXT_MAX, fp) : 0;
      if (buf) {
        buf[n] = 0;
        TCDeckStrictYAML(buf, n, msg, sizeof(msg));
        free(buf);
      }
      fclose(fp);
    }
  }
  PetscCallMPI(MPI_Bcast(msg, (int)sizeof(msg), MPI_CHAR, 0, comm));
  PetscCheck(!msg[0], comm, PETSC_ERR_FILE_UNEXPECTED, "%s %s %s", what, path, msg);
  PetscFunctionReturn(0);
}

/* Command-line options whose first word is the first word of a deck key
   (foil_..., net_..., output), or one-word options close to a key, must be
   deck keys: catches typos in sweeps. */
static PetscErrorCode TCDeckCheckCommandLine(TCDeck d)
{
  PetscInt N;
  char   **names, **values;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsLeftGet(NULL, &N, &names, &values));
  for (PetscInt i = 0; i < N; i++) {
    const char *nm   = names[i];
    size_t      w    = strcspn(nm, "_");
    PetscBool   ours = PETSC_FALSE;
    if (TCDeckFind(d, nm) >= 0) {
      PetscCall(TCDeckRecordPrefixed(d, nm));
      continue;
    }
    if (TCDeckFindForeign(d, nm) >= 0) {
      char bad[256];
      PetscCall(PetscStrncpy(bad, nm, sizeof(bad)));
      PetscCall(PetscOptionsLeftRestore(NULL, &N, &names, &values));
      SETERRQ(d->comm, PETSC_ERR_USER_INPUT,
              "command line: -%s is a key of tomocell %s, not of tomocell %s (tomocell %s --help "
              "lists the keys)",
              bad, d->fcmd, d->cmd, d->cmd);
    }
    /* prefixed PETSc solver options (-thermal_ksp_type, -fit_tao_type, ...) are PETSc's */
    if (nm[w] == '_' && (!strncasecmp(nm + w + 1, "ksp_", 4) || !strncasecmp(nm + w + 1, "pc_", 3) ||
                         !strncasecmp(nm + w + 1, "snes_", 5) || !strncasecmp(nm + w + 1, "mat_", 4) ||
                         !strncasecmp(nm + w + 1, "tao_", 4)))
      continue;
    for (PetscInt k = 0; k < d->nkeys && !ours; k++) {
      const char *kn = d->keys[k].name;
      size_t      kw = strcspn(kn, "_");
      /* "net_partition..." options belong to TCGraph, not to the deck table */
      if (kw == w && !strncasecmp(kn, nm, w) && strncasecmp(nm, "net_partition", 13))
        ours = PETSC_TRUE;
    }
    if (!ours && !nm[w]) {
      /* a one-word option close to a key (-phse for -phase) is a typo too */
      const char **kn;
      PetscCall(PetscMalloc1(d->nkeys, &kn));
      for (PetscInt k = 0; k < d->nkeys; k++) kn[k] = d->keys[k].name;
      ours = TCClosestName(nm, kn, d->nkeys) ? PETSC_TRUE : PETSC_FALSE;
      PetscCall(PetscFree(kn));
    }
    if (ours) {
      char bad[256];
      PetscCall(PetscStrncpy(bad, nm, sizeof(bad)));
      PetscCall(PetscOptionsLeftRestore(NULL, &N, &names, &values));
      PetscCall(TCDeckUnknown(d, bad, "command line"));
    }
  }
  PetscCall(PetscOptionsLeftRestore(NULL, &N, &names, &values));
  PetscFunctionReturn(0);
}

PetscErrorCode TCDeckLoad(TCDeck d, const char path[])
{
  PetscOptions   opts;
  PetscErrorCode ierr;
  PetscInt       N;
  char         **names, **values;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TC_EVENT_DeckRead, 0, 0, 0, 0));
  PetscCall(TCDeckCheckCommandLine(d));
  if (!path) {
    PetscCall(PetscLogEventEnd(TC_EVENT_DeckRead, 0, 0, 0, 0));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscStrncpy(d->path, path, sizeof(d->path)));
  {
    const char *base = strrchr(path, '/');
    char       *dot;
    PetscCall(PetscStrncpy(d->name, base ? base + 1 : path, sizeof(d->name)));
    dot = strrchr(d->name, '.');
    if (dot && dot != d->name) *dot = 0;
  }
  PetscCall(TCDeckReadText(d, path));

  PetscCall(PetscOptionsCreate(&opts));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = PetscOptionsInsertFileYAML(d->comm, opts, path, PETSC_TRUE);
  PetscCall(PetscPopErrorHandler());
  if (ierr) {
    const char *text;
    char       *specific = NULL;
    PetscCall(PetscOptionsDestroy(&opts));
    PetscCall(PetscErrorMessage(ierr, &text, &specific));
    SETERRQ(d->comm, PETSC_ERR_FILE_UNEXPECTED,
            "deck %s is not valid YAML (%s); check indentation, colons and brackets", path,
            specific && specific[0] ? specific : (text ? text : "parse error"));
  }
  PetscCall(PetscOptionsLeftGet(opts, &N, &names, &values));
  for (PetscInt i = 0; i < N; i++) {
    PetscInt k = TCDeckFind(d, names[i]), fk = k < 0 ? TCDeckFindForeign(d, names[i]) : -1;
    if (fk >= 0) {
      d->fseen[fk] = PETSC_TRUE;
      continue;
    }
    if (k < 0) {
      char where[PETSC_MAX_PATH_LEN + 8], bad[256];
      snprintf(where, sizeof(where), "deck %s", path);
      PetscCall(PetscStrncpy(bad, names[i], sizeof(bad)));
      PetscCall(PetscOptionsLeftRestore(opts, &N, &names, &values));
      PetscCall(PetscOptionsDestroy(&opts));
      PetscCall(TCDeckUnknown(d, bad, where));
    }
  }
  for (PetscInt i = 0; i < N; i++) {
    char      opt[256];
    PetscBool set;
    PetscInt  k = TCDeckFind(d, names[i]);
    if (k < 0) continue; /* a foreign key: not used */
    if (TCKeyIsPrefix(&d->keys[k], NULL)) {
      PetscCall(TCDeckRecordPrefixed(d, names[i]));
      snprintf(opt, sizeof(opt), "-%s", names[i]);
    } else
      snprintf(opt, sizeof(opt), "-%s", d->keys[k].name);
    PetscCall(PetscOptionsHasName(NULL, NULL, opt, &set));
    if (!set) {
      PetscCall(PetscOptionsSetValue(NULL, opt, values[i]));
      d->fromdeck[k] = PETSC_TRUE;
    }
  }
  PetscCall(PetscOptionsLeftRestore(opts, &N, &names, &values));
  PetscCall(PetscOptionsDestroy(&opts));
  {
    char     list[1024] = "";
    size_t   o          = 0;
    PetscInt nf         = 0;
    for (PetscInt k = 0; k < d->nfkeys; k++)
      if (d->fseen[k]) {
        nf++;
        if (o < sizeof(list))
          o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "", d->fkeys[k].name);
      }
    if (nf)
      PetscCall(TCPrintf(d->comm, "tomocell %s: deck %s is a tomocell %s deck; its %" PetscInt_FMT
                                  " %s key(s) are not used here: %s\n",
                         d->cmd, path, d->fcmd, nf, d->fcmd, list));
  }
  PetscCall(PetscLogEventEnd(TC_EVENT_DeckRead, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* Where a value came from, for messages. */
static const char *TCDeckSource(TCDeck d, PetscInt k, char buf[], size_t len)
{
  if (d->fromdeck[k])
    snprintf(buf, len, "in deck %s", d->path);
  else
    snprintf(buf, len, "on the command line");
  return buf;
}

static PetscErrorCode TCDeckLookup(TCDeck d, const char name[], TCKeyType type, PetscInt *k,
                                   char value[], size_t len, PetscBool *set)
{
  char opt[256];

  PetscFunctionBeginUser;
  *k = TCDeckFind(d, name);
  PetscCheck(*k >= 0, d->comm, PETSC_ERR_PLIB, "key %s is not in the %s key table", name, d->cmd);
  PetscCheck(d->keys[*k].type == type, d->comm, PETSC_ERR_PLIB, "key %s read with the wrong type",
             name);
  snprintf(opt, sizeof(opt), "-%s", name);
  PetscCall(PetscOptionsGetString(NULL, NULL, opt, value, len, set));
  if (*set && !value[0] && type != TC_KEY_BOOL) {
    char src[PETSC_MAX_PATH_LEN + 16];
    SETERRQ(d->comm, PETSC_ERR_USER_INPUT, "key %s has no value %s", name,
            TCDeckSource(d, *k, src, sizeof(src)));
  }
  if (!*set && d->keys[*k].defval) {
    PetscCall(PetscStrncpy(value, d->keys[*k].defval, len));
    *set = PETSC_TRUE;
  }
  if (!*set && !d->keys[*k].optional) {
    SETERRQ(d->comm, PETSC_ERR_USER_INPUT,
            "required key %s is missing: give it in the deck (%s: ...) or as -%s; %s", name, name,
            name, d->keys[*k].help);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode TCDeckRange(TCDeck d, PetscInt k, PetscReal v, const char text[])
{
  const TCKey *key = &d->keys[k];
  PetscBool ok = (key->lo_open ? v > key->lo : v >= key->lo) && v <= key->hi && !PetscIsNanReal(v);
  char      src[PETSC_MAX_PATH_LEN + 16];

  PetscFunctionBeginUser;
  if (!ok) {
    char lo[32], hi[32];
    snprintf(lo, sizeof(lo), "%g", (double)key->lo);
    snprintf(hi, sizeof(hi), "%g", (double)key->hi);
    /* no upper bound: finite values ("allowed (0, inf]" read as if inf were) */
    SETERRQ(d->comm, PETSC_ERR_USER_INPUT,
            "key %s = %s %s is out of range: allowed %s%s, %s%s (%s)", key->name, text,
            TCDeckSource(d, k, src, sizeof(src)), key->lo_open ? "(" : "[", lo,
            key->hi >= PETSC_MAX_REAL ? "inf" : hi, key->hi >= PETSC_MAX_REAL ? "), finite" : "]",
            key->help);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCDeckGetReal(TCDeck d, const char name[], PetscReal *value)
{
  char      buf[256], *end, src[PETSC_MAX_PATH_LEN + 16];
  PetscInt  k;
  PetscBool set;
  double    v;

  PetscFunctionBeginUser;
  PetscCall(TCDeckLookup(d, name, TC_KEY_REAL, &k, buf, sizeof(buf), &set));
  if (!set) PetscFunctionReturn(0);
  errno = 0;
  v     = strtod(buf, &end);
  PetscCheck(end != buf && !*end && errno != ERANGE, d->comm, PETSC_ERR_USER_INPUT,
             "key %s = '%s' %s is not a number (%s)", name, buf,
             TCDeckSource(d, k, src, sizeof(src)), d->keys[k].help);
  PetscCall(TCDeckRange(d, k, (PetscReal)v, buf));
  *value = (PetscReal)v;
  PetscFunctionReturn(0);
}

PetscErrorCode TCDeckGetInt(TCDeck d, const char name[], PetscInt *value)
{
  char      buf[256], *end, src[PETSC_MAX_PATH_LEN + 16];
  PetscInt  k;
  PetscBool set;
  long long v;

  PetscFunctionBeginUser;
  PetscCall(TCDeckLookup(d, name, TC_KEY_INT, &k, buf, sizeof(buf), &set));
  if (!set) PetscFunctionReturn(0);
  errno = 0;
  v     = strtoll(buf, &end, 10);
  PetscCheck(end != buf && !*end && errno != ERANGE && v >= PETSC_MIN_INT && v <= PETSC_MAX_INT,
             d->comm, PETSC_ERR_USER_INPUT, "key %s = '%s' %s is not an integer (%s)", name, buf,
             TCDeckSource(d, k, src, sizeof(src)), d->keys[k].help);
  PetscCall(TCDeckRange(d, k, (PetscReal)v, buf));
  *value = (PetscInt)v;
  PetscFunctionReturn(0);
}

PetscErrorCode TCDeckGetBool(TCDeck d, const char name[], PetscBool *value)
{
  char      buf[64], src[PETSC_MAX_PATH_LEN + 16];
  PetscInt  k;
  PetscBool set, t, f;

  PetscFunctionBeginUser;
  PetscCall(TCDeckLookup(d, name, TC_KEY_BOOL, &k, buf, sizeof(buf), &set));
  if (!set) PetscFunctionReturn(0);
  if (!buf[0]) {
    *value = PETSC_TRUE; /* a bare -flag */
    PetscFunctionReturn(0);
  }
  PetscCall(PetscStrcasecmp(buf, "true", &t));
  if (!t) PetscCall(PetscStrcasecmp(buf, "yes", &t));
  if (!t) PetscCall(PetscStrcasecmp(buf, "1", &t));
  PetscCall(PetscStrcasecmp(buf, "false", &f));
  if (!f) PetscCall(PetscStrcasecmp(buf, "no", &f));
  if (!f) PetscCall(PetscStrcasecmp(buf, "0", &f));
  PetscCheck(t || f, d->comm, PETSC_ERR_USER_INPUT,
             "key %s = '%s' %s is not a boolean (true or false)", name, buf,
             TCDeckSource(d, k, src, sizeof(src)));
  *value = t;
  PetscFunctionReturn(0);
}

PetscErrorCode TCDeckGetString(TCDeck d, const char name[], char value[], size_t len,
                               PetscBool *set)
{
  PetscInt  k;
  PetscBool s;

  PetscFunctionBeginUser;
  PetscCall(TCDeckLookup(d, name, TC_KEY_STRING, &k, value, len, &s));
  if (!s) value[0] = 0;
  if (set) *set = s;
  PetscFunctionReturn(0);
}

PetscErrorCode TCDeckIsFromFile(TCDeck d, const char name[], PetscBool *fromfile)
{
  PetscInt k = TCDeckFind(d, name);

  PetscFunctionBeginUser;
  PetscCheck(k >= 0, d->comm, PETSC_ERR_PLIB, "key %s is not in the %s key table", name, d->cmd);
  *fromfile = d->fromdeck[k];
  PetscFunctionReturn(0);
}

PetscErrorCode TCDeckIsSet(TCDeck d, const char name[], PetscBool *set)
{
  char     opt[256];
  PetscInt k = TCDeckFind(d, name);
  size_t   n;

  PetscFunctionBeginUser;
  PetscCheck(k >= 0, d->comm, PETSC_ERR_PLIB, "key %s is not in the %s key table", name, d->cmd);
  if (TCKeyIsPrefix(&d->keys[k], &n) && !strcasecmp(d->keys[k].name, name)) {
    /* the prefix key itself ("probes_*"): whether any probes_<name> was given */
    *set = PETSC_FALSE;
    for (PetscInt i = 0; i < d->npre; i++)
      if (!strncasecmp(d->pre[i], name, n)) *set = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  snprintf(opt, sizeof(opt), "-%s", name);
  PetscCall(PetscOptionsHasName(NULL, NULL, opt, set));
  PetscFunctionReturn(0);
}

PetscErrorCode TCDeckGetEnum(TCDeck d, const char name[], PetscInt *index)
{
  char        buf[256], src[PETSC_MAX_PATH_LEN + 16];
  PetscInt    k, idx = 0;
  PetscBool   set;
  const char *c;

  PetscFunctionBeginUser;
  PetscCall(TCDeckLookup(d, name, TC_KEY_ENUM, &k, buf, sizeof(buf), &set));
  if (!set) PetscFunctionReturn(0);
  c = d->keys[k].choices;
  while (c && *c) {
    size_t w = strcspn(c, "|");
    if (w == strlen(buf) && !strncasecmp(c, buf, w)) {
      *index = idx;
      PetscFunctionReturn(0);
    }
    c += w;
    if (*c == '|') c++;
    idx++;
  }
  SETERRQ(d->comm, PETSC_ERR_USER_INPUT, "key %s = '%s' %s is not one of %s", name, buf,
          TCDeckSource(d, k, src, sizeof(src)), d->keys[k].choices);
}

PetscErrorCode TCDeckGetText(TCDeck d, const char **text)
{
  PetscFunctionBeginUser;
  *text = d->text;
  PetscFunctionReturn(0);
}

PetscErrorCode TCDeckGetName(TCDeck d, const char **name)
{
  PetscFunctionBeginUser;
  *name = d->name;
  PetscFunctionReturn(0);
}

PetscErrorCode TCDeckGetEffective(TCDeck d, char **text)
{
  size_t cap = 256, len = 0;
  char  *out;

  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < d->nkeys; k++) cap += strlen(d->keys[k].name) + 260;
  cap += (size_t)d->npre * (sizeof(d->pre[0]) + 260);
  PetscCall(PetscMalloc1(cap, &out));
  out[0] = 0;
  for (PetscInt i = 0; i < d->npre; i++) {
    char      opt[256], val[256];
    PetscBool set;
    snprintf(opt, sizeof(opt), "-%s", d->pre[i]);
    PetscCall(PetscOptionsGetString(NULL, NULL, opt, val, sizeof(val), &set));
    if (set) len += (size_t)snprintf(out + len, cap - len, "%s: %s\n", d->pre[i], val);
  }
  for (PetscInt k = 0; k < d->nkeys; k++) {
    char      opt[256], val[256];
    PetscBool set;
    if (TCKeyIsPrefix(&d->keys[k], NULL)) continue;
    snprintf(opt, sizeof(opt), "-%s", d->keys[k].name);
    PetscCall(PetscOptionsGetString(NULL, NULL, opt, val, sizeof(val), &set));
    if (!set && d->keys[k].defval)
      PetscCall(PetscStrncpy(val, d->keys[k].defval, sizeof(val)));
    else if (!set)
      continue;
    len += (size_t)snprintf(out + len, cap - len, "%s: %s\n", d->keys[k].name, val);
  }
  *text = out;
  PetscFunctionReturn(0);
}

void TCDeckPrintKeys(const TCKey keys[], PetscInt nkeys)
{
  for (PetscInt k = 0; k < nkeys; k++) {
    const TCKey *key = &keys[k];
    char         dflt[128];
    if (key->defval)
      snprintf(dflt, sizeof(dflt), "default %s", key->defval);
    else
      snprintf(dflt, sizeof(dflt), "%s", key->optional ? "optional" : "required");
    char   nm[160];
    size_t n = strlen(key->name);
    if (n > 1 && key->name[n - 1] == '*')
      snprintf(nm, sizeof(nm), "%.*s<name>", (int)(n - 1), key->name);
    else
      snprintf(nm, sizeof(nm), "%s", key->name);
    printf("  -%-28s %s", nm, key->help);
    if (key->type == TC_KEY_ENUM) printf(" (%s)", key->choices);
    printf(" [%s]\n", dflt);
  }
}
