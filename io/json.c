/*
 * Streaming JSON writer (see json.h). Strings are escaped per RFC 8259.
 */
#include "io/json.h"
#include <math.h>

static void TCJsonIndent(TCJson *js)
{
  fputc('\n', js->fp);
  for (int i = 0; i < js->depth; i++) fputs("  ", js->fp);
}

static void TCJsonEscaped(FILE *fp, const char *s)
{
  fputc('"', fp);
  for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
    switch (*p) {
    case '"':
      fputs("\\\"", fp);
      break;
    case '\\':
      fputs("\\\\", fp);
      break;
    case '\n':
      fputs("\\n", fp);
      break;
    case '\r':
      fputs("\\r", fp);
      break;
    case '\t':
      fputs("\\t", fp);
      break;
    default:
      if (*p < 0x20)
        fprintf(fp, "\\u%04x", *p);
      else
        fputc(*p, fp);
    }
  }
  fputc('"', fp);
}

static void TCJsonKey(TCJson *js, const char *key)
{
  if (js->depth > 0) {
    if (!js->first[js->depth]) fputc(',', js->fp);
    js->first[js->depth] = PETSC_FALSE;
    TCJsonIndent(js);
  }
  if (key) {
    TCJsonEscaped(js->fp, key);
    fputs(": ", js->fp);
  }
}

void TCJsonBegin(TCJson *js, FILE *fp)
{
  js->fp     = fp;
  js->depth  = 0;
  js->pretty = PETSC_TRUE;
  TCJsonObjectBegin(js, NULL);
}

void TCJsonEnd(TCJson *js)
{
  TCJsonObjectEnd(js);
  fputc('\n', js->fp);
}

void TCJsonObjectBegin(TCJson *js, const char *key)
{
  TCJsonKey(js, key);
  fputc('{', js->fp);
  if (js->depth < 31) js->depth++;
  js->first[js->depth] = PETSC_TRUE;
}

void TCJsonObjectEnd(TCJson *js)
{
  PetscBool empty = js->first[js->depth];
  js->depth--;
  if (!empty) TCJsonIndent(js);
  fputc('}', js->fp);
}

void TCJsonArrayBegin(TCJson *js, const char *key)
{
  TCJsonKey(js, key);
  fputc('[', js->fp);
  if (js->depth < 31) js->depth++;
  js->first[js->depth] = PETSC_TRUE;
}

void TCJsonArrayEnd(TCJson *js)
{
  PetscBool empty = js->first[js->depth];
  js->depth--;
  if (!empty) TCJsonIndent(js);
  fputc(']', js->fp);
}

void TCJsonString(TCJson *js, const char *key, const char *value)
{
  TCJsonKey(js, key);
  if (value)
    TCJsonEscaped(js->fp, value);
  else
    fputs("null", js->fp);
}

void TCJsonReal(TCJson *js, const char *key, double value)
{
  TCJsonKey(js, key);
  if (isfinite(value))
    fprintf(js->fp, "%.17g", value);
  else
    fputs("null", js->fp);
}

void TCJsonInt(TCJson *js, const char *key, long long value)
{
  TCJsonKey(js, key);
  fprintf(js->fp, "%lld", value);
}

void TCJsonBool(TCJson *js, const char *key, PetscBool value)
{
  TCJsonKey(js, key);
  fputs(value ? "true" : "false", js->fp);
}

void TCJsonNull(TCJson *js, const char *key)
{
  TCJsonKey(js, key);
  fputs("null", js->fp);
}
