/*
 * JSON reader (see jsonparse.h): a recursive-descent parser over the
 * grammar of RFC 8259, with line/column tracking for error messages. The
 * parser itself is plain C (returns 0/1 and keeps one message) so that a
 * malformed file frees the partial tree and raises exactly one clear error.
 */
#include "io/jsonparse.h"
#include "io/output.h"
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

typedef struct {
  const char *s, *p;
  int         depth;
  char        msg[256];
  const char *at;
} TCJsonParser;

static void TCJsonPos(const char *s, const char *at, int *line, int *col)
{
  *line = 1;
  *col  = 1;
  for (const char *q = s; q < at && *q; q++) {
    if (*q == '\n') {
      (*line)++;
      *col = 1;
    } else
      (*col)++;
  }
}

static int TCJsonFail(TCJsonParser *ps, const char *at, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ps->msg, sizeof(ps->msg), fmt, ap);
  va_end(ap);
  ps->at = at;
  return 1;
}

static void TCJsonSkip(TCJsonParser *ps)
{
  while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r') ps->p++;
}

static void TCJsonFreeTree(TCJsonValue *v)
{
  if (!v) return;
  for (PetscInt i = 0; i < v->n; i++) {
    TCJsonFreeTree(v->members[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->members);
  free(v->keys);
  free(v->string);
  free(v);
}

static TCJsonValue *TCJsonNew(TCJsonParser *ps, TCJsonType t)
{
  TCJsonValue *v = (TCJsonValue *)calloc(1, sizeof(*v));
  int          col;
  if (!v) return NULL;
  v->type = t;
  TCJsonPos(ps->s, ps->p, &v->line, &col);
  return v;
}

static int TCJsonString_(TCJsonParser *ps, char **out)
{
  size_t cap = 32, len = 0;
  char  *buf;

  *out = NULL;
  if (*ps->p != '"') return TCJsonFail(ps, ps->p, "expected '\"' to start a string");
  ps->p++;
  buf = (char *)malloc(cap);
  if (!buf) return TCJsonFail(ps, ps->p, "out of memory");
  while (*ps->p != '"') {
    char c = *ps->p;
    if (!c || c == '\n') {
      free(buf);
      return TCJsonFail(ps, ps->p, "unterminated string");
    }
    if (c == '\\') {
      ps->p++;
      switch (*ps->p) {
      case '"':
        c = '"';
        break;
      case '\\':
        c = '\\';
        break;
      case '/':
        c = '/';
        break;
      case 'b':
        c = '\b';
        break;
      case 'f':
        c = '\f';
        break;
      case 'n':
        c = '\n';
        break;
      case 'r':
        c = '\r';
        break;
      case 't':
        c = '\t';
        break;
      case 'u': {
        unsigned u = 0;
        for (int k = 1; k <= 4; k++)
          if (!isxdigit((unsigned char)ps->p[k])) {
            free(buf);
            return TCJsonFail(ps, ps->p + k, "bad \\u escape");
          }
        sscanf(ps->p + 1, "%4x", &u);
        c = u < 0x80 ? (char)u : '?';
        ps->p += 4;
      } break;
      default:
        free(buf);
        return TCJsonFail(ps, ps->p, "bad escape in string");
      }
    } else if ((unsigned char)c < 0x20) {
      free(buf);
      return TCJsonFail(ps, ps->p, "control character in string");
    }
    if (len + 1 >= cap) {
      char *nb = (char *)realloc(buf, 2 * cap);
      if (!nb) {
        free(buf);
        return TCJsonFail(ps, ps->p, "out of memory");
      }
      buf = nb;
      cap *= 2;
    }
    buf[len++] = c;
    ps->p++;
  }
  buf[len] = 0;
  ps->p++;
  *out = buf;
  return 0;
}

static int TCJsonAppend(TCJsonParser *ps, TCJsonValue *v, char *key, TCJsonValue *m)
{
  if ((v->n & (v->n - 1)) == 0) { /* grow at powers of two */
    size_t        cap = v->n ? 2 * (size_t)v->n : 1;
    TCJsonValue **nm  = (TCJsonValue **)realloc(v->members, cap * sizeof(*nm));
    char        **nk;
    if (!nm) return TCJsonFail(ps, ps->p, "out of memory");
    v->members = nm;
    nk         = (char **)realloc(v->keys, cap * sizeof(*nk));
    if (!nk) return TCJsonFail(ps, ps->p, "out of memory");
    v->keys = nk;
  }
  v->members[v->n] = m;
  v->keys[v->n]    = key;
  v->n++;
  return 0;
}

static int TCJsonValue_(TCJsonParser *ps, TCJsonValue **out)
{
  TCJsonValue *v = NULL;

  *out = NULL;
  TCJsonSkip(ps);
  if (++ps->depth > 64) return TCJsonFail(ps, ps->p, "nesting deeper than 64 levels");
  switch (*ps->p) {
  case '{':
    if (!(v = *out = TCJsonNew(ps, TC_JSON_OBJECT))) return TCJsonFail(ps, ps->p, "out of memory");
    ps->p++;
    TCJsonSkip(ps);
    if (*ps->p == '}') {
      ps->p++;
      break;
    }
    for (;;) {
      char *key;
      TCJsonSkip(ps);
      if (*ps->p != '"') return TCJsonFail(ps, ps->p, "expected a member name in double quotes");
      if (TCJsonString_(ps, &key)) return 1;
      for (PetscInt i = 0; i < v->n; i++)
        if (!strcmp(v->keys[i], key)) {
          free(key);
          return TCJsonFail(ps, ps->p, "duplicate member \"%s\"", v->keys[i]);
        }
      if (TCJsonAppend(ps, v, key, NULL)) {
        free(key);
        return 1;
      }
      TCJsonSkip(ps);
      if (*ps->p != ':') return TCJsonFail(ps, ps->p, "expected ':' after member name");
      ps->p++;
      if (TCJsonValue_(ps, &v->members[v->n - 1])) return 1;
      TCJsonSkip(ps);
      if (*ps->p == ',') {
        ps->p++;
        continue;
      }
      if (*ps->p == '}') {
        ps->p++;
        break;
      }
      return TCJsonFail(ps, ps->p, "expected ',' or '}' in object");
    }
    break;
  case '[':
    if (!(v = *out = TCJsonNew(ps, TC_JSON_ARRAY))) return TCJsonFail(ps, ps->p, "out of memory");
    ps->p++;
    TCJsonSkip(ps);
    if (*ps->p == ']') {
      ps->p++;
      break;
    }
    for (;;) {
      if (TCJsonAppend(ps, v, NULL, NULL)) return 1;
      if (TCJsonValue_(ps, &v->members[v->n - 1])) return 1;
      TCJsonSkip(ps);
      if (*ps->p == ',') {
        ps->p++;
        continue;
      }
      if (*ps->p == ']') {
        ps->p++;
        break;
      }
      return TCJsonFail(ps, ps->p, "expected ',' or ']' in array");
    }
    break;
  case '"':
    if (!(v = *out = TCJsonNew(ps, TC_JSON_STRING))) return TCJsonFail(ps, ps->p, "out of memory");
    if (TCJsonString_(ps, &v->string)) return 1;
    break;
  default:
    if (!strncmp(ps->p, "true", 4) || !strncmp(ps->p, "false", 5)) {
      if (!(v = *out = TCJsonNew(ps, TC_JSON_BOOL))) return TCJsonFail(ps, ps->p, "out of memory");
      v->number = ps->p[0] == 't';
      ps->p += ps->p[0] == 't' ? 4 : 5;
    } else if (!strncmp(ps->p, "null", 4)) {
      if (!(v = *out = TCJsonNew(ps, TC_JSON_NULL))) return TCJsonFail(ps, ps->p, "out of memory");
      ps->p += 4;
    } else if (*ps->p == '-' || isdigit((unsigned char)*ps->p)) {
      char  *end;
      double x;
      errno = 0;
      x     = strtod(ps->p, &end);
      if (end == ps->p || errno == ERANGE) return TCJsonFail(ps, ps->p, "bad number");
      if (!(v = *out = TCJsonNew(ps, TC_JSON_NUMBER)))
        return TCJsonFail(ps, ps->p, "out of memory");
      v->number = x;
      ps->p     = end;
    } else if (!*ps->p)
      return TCJsonFail(ps, ps->p, "unexpected end of file (expected a value)");
    else
      return TCJsonFail(ps, ps->p, "unexpected character '%c' (expected a value)", *ps->p);
  }
  ps->depth--;
  return 0;
}

PetscErrorCode TCJsonParse(const char text[], const char where[], TCJsonValue **root)
{
  TCJsonParser ps;
  int          bad;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&ps, sizeof(ps)));
  ps.s = ps.p = text;
  *root       = NULL;
  bad         = TCJsonValue_(&ps, root);
  if (!bad) {
    TCJsonSkip(&ps);
    if (*ps.p) bad = TCJsonFail(&ps, ps.p, "text after the end of the document");
  }
  if (bad) {
    int l, c;
    TCJsonFreeTree(*root);
    *root = NULL;
    TCJsonPos(ps.s, ps.at, &l, &c);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s:%d:%d: malformed JSON: %s", where, l, c,
            ps.msg);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCJsonParseFile(const char path[], TCJsonValue **root)
{
  FILE          *fp;
  long           n;
  char          *text;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(TCInputCheck(PETSC_COMM_SELF, path));
  fp = fopen(path, "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot read %s: %s", path, strerror(errno));
  fseek(fp, 0, SEEK_END);
  n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  if (n < 0 || n > (1L << 28)) {
    fclose(fp);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot read %s: not a regular file or too big",
            path);
  }
  PetscCall(PetscMalloc1((size_t)n + 1, &text));
  if (fread(text, 1, (size_t)n, fp) != (size_t)n) {
    fclose(fp);
    PetscCall(PetscFree(text));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot read %s", path);
  }
  fclose(fp);
  text[n] = 0;
  ierr    = TCJsonParse(text, path, root);
  PetscCall(PetscFree(text));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode TCJsonFree(TCJsonValue **root)
{
  PetscFunctionBeginUser;
  TCJsonFreeTree(*root);
  *root = NULL;
  PetscFunctionReturn(0);
}

const TCJsonValue *TCJsonGet(const TCJsonValue *obj, const char key[])
{
  if (!obj || obj->type != TC_JSON_OBJECT) return NULL;
  for (PetscInt i = 0; i < obj->n; i++)
    if (!strcmp(obj->keys[i], key)) return obj->members[i];
  return NULL;
}
