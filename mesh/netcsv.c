/*
 * CSV network reader (see netcsv.h).
 */
#include "mesh/netcsv.h"
#include "io/output.h"
#include "src/tc.h"
#include <errno.h>
#include <math.h>

/* Split line into up to max comma-separated fields (in place). */
static int TCCSVSplit(char *line, char **f, int max)
{
  int   n    = 0;
  char *p    = line;
  char *hash = strchr(line, '#');
  if (hash) *hash = 0;
  p[strcspn(p, "\r\n")] = 0;
  while (n < max) {
    f[n++] = p;
    p      = strchr(p, ',');
    if (!p) break;
    *p++ = 0;
  }
  return n;
}

static PetscBool TCBlank(const char *s)
{
  for (; *s; s++)
    if (*s != ' ' && *s != '\t') return PETSC_FALSE;
  return PETSC_TRUE;
}

static int TCParseReal(const char *s, double *v)
{
  char *end;
  while (*s == ' ') s++;
  if (!*s || !strcasecmp(s, "nan")) {
    *v = NAN;
    return 1;
  }
  errno = 0;
  *v    = strtod(s, &end);
  while (*end == ' ') end++;
  return end != s && !*end && errno != ERANGE;
}

PetscErrorCode TCNetCSVRead(const char nodes_path[], const char edges_path[], TCGraph g)
{
  MPI_Comm    comm;
  PetscMPIInt rank;
  PetscInt    nn                            = 0;
  TCNode     *nodes                         = NULL;
  char        msg[PETSC_MAX_PATH_LEN + 256] = "";
  PetscBool   ok                            = PETSC_TRUE;
  FILE       *fp                            = NULL;
  char        line[4096], *f[8];
  long        lineno = 0;

  PetscFunctionBeginUser;
  PetscCall(TCGraphGetComm(g, &comm));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(TCInputCheck(comm, nodes_path));
  PetscCall(TCInputCheck(comm, edges_path));
  PetscCall(PetscLogEventBegin(TC_EVENT_Build, 0, 0, 0, 0));
  if (rank == 0) {
    PetscInt cap  = 0;
    char    *seen = NULL;
    fp            = fopen(nodes_path, "r");
    if (!fp) {
      ok = PETSC_FALSE;
      snprintf(msg, sizeof(msg), "cannot read network nodes file %s: %s", nodes_path,
               strerror(errno));
    }
    while (ok && fgets(line, sizeof(line), fp)) {
      double v[6];
      int    nf;
      lineno++;
      nf = TCCSVSplit(line, f, 8);
      if (nf == 1 && TCBlank(f[0])) continue;
      if (lineno == 1 && !TCParseReal(f[0], &v[0])) continue; /* header */
      if (nf != 6) {
        ok = PETSC_FALSE;
        snprintf(msg, sizeof(msg),
                 "%s:%ld: expected 6 fields id,x_m,y_m,z_m,fixed_V,inject_A, found %d", nodes_path,
                 lineno, nf);
        break;
      }
      for (int q = 0; q < 6 && ok; q++)
        if (!TCParseReal(f[q], &v[q]) || (q != 4 && isnan(v[q]))) {
          ok = PETSC_FALSE;
          snprintf(msg, sizeof(msg), "%s:%ld: field %d ('%s') is not a number", nodes_path, lineno,
                   q + 1, f[q]);
        }
      if (!ok) break;
      if (v[0] < 0 || v[0] != floor(v[0]) || v[0] > 1e9) {
        ok = PETSC_FALSE;
        snprintf(msg, sizeof(msg), "%s:%ld: node id %g is not a non-negative integer", nodes_path,
                 lineno, v[0]);
        break;
      }
      {
        PetscInt id = (PetscInt)v[0];
        if (id >= cap) {
          PetscInt ncap = PetscMax(2 * cap, id + 1024);
          PetscCall(PetscRealloc(sizeof(TCNode) * (size_t)ncap, &nodes));
          PetscCall(PetscRealloc((size_t)ncap, &seen));
          PetscCall(PetscArrayzero(seen + cap, ncap - cap));
          cap = ncap;
        }
        if (seen[id]) {
          ok = PETSC_FALSE;
          snprintf(msg, sizeof(msg), "%s:%ld: node %" PetscInt_FMT " is defined twice", nodes_path,
                   lineno, id);
          break;
        }
        seen[id]         = 1;
        nodes[id].x[0]   = v[1];
        nodes[id].x[1]   = v[2];
        nodes[id].x[2]   = v[3];
        nodes[id].fixed  = v[4];
        nodes[id].inject = v[5];
        nodes[id].weight = 1;
        nodes[id].tag    = 0;
        nodes[id].area_m2  = 0;
        nodes[id].length_m = 0;
        nn               = PetscMax(nn, id + 1);
      }
    }
    for (PetscInt id = 0; ok && id < nn; id++)
      if (!seen[id]) {
        ok = PETSC_FALSE;
        snprintf(msg, sizeof(msg),
                 "%s: node ids must run 0..%" PetscInt_FMT " without gaps; node %" PetscInt_FMT
                 " is missing",
                 nodes_path, nn - 1, id);
      }
    if (ok && nn == 0) {
      ok = PETSC_FALSE;
      snprintf(msg, sizeof(msg), "%s: no nodes", nodes_path);
    }
    if (fp) fclose(fp);
    PetscCall(PetscFree(seen));
  }
  PetscCall(TCCheckAll(comm, ok, PETSC_ERR_USER_INPUT, msg));
  PetscCall(TCGraphSetLocalSizes(g, rank == 0 ? nn : 0));
  if (rank == 0) {
    for (PetscInt id = 0; id < nn; id++) PetscCall(TCGraphSetNode(g, id, &nodes[id]));
    PetscCall(PetscFree(nodes));
    lineno = 0;
    fp     = fopen(edges_path, "r");
    if (!fp) {
      ok = PETSC_FALSE;
      snprintf(msg, sizeof(msg), "cannot read network edges file %s: %s", edges_path,
               strerror(errno));
    }
    while (ok && fgets(line, sizeof(line), fp)) {
      double v[3];
      int    nf;
      lineno++;
      nf = TCCSVSplit(line, f, 8);
      if (nf == 1 && TCBlank(f[0])) continue;
      if (lineno == 1 && !TCParseReal(f[0], &v[0])) continue;
      if (nf != 3) {
        ok = PETSC_FALSE;
        snprintf(msg, sizeof(msg), "%s:%ld: expected 3 fields i,j,G_S, found %d", edges_path,
                 lineno, nf);
        break;
      }
      for (int q = 0; q < 3 && ok; q++)
        if (!TCParseReal(f[q], &v[q]) || isnan(v[q])) {
          ok = PETSC_FALSE;
          snprintf(msg, sizeof(msg), "%s:%ld: field %d ('%s') is not a number", edges_path, lineno,
                   q + 1, f[q]);
        }
      if (!ok) break;
      if (v[0] < 0 || v[1] < 0 || v[0] >= nn || v[1] >= nn || v[0] != floor(v[0]) ||
          v[1] != floor(v[1])) {
        ok = PETSC_FALSE;
        snprintf(msg, sizeof(msg), "%s:%ld: edge %g-%g refers to a node that %s does not define",
                 edges_path, lineno, v[0], v[1], nodes_path);
        break;
      }
      if (!(v[2] > 0) || isinf(v[2])) {
        ok = PETSC_FALSE;
        snprintf(
            msg, sizeof(msg),
            "%s:%ld: edge %g-%g has conductance %g S; conductances must be positive and finite",
            edges_path, lineno, v[0], v[1], v[2]);
        break;
      }
      PetscCall(TCGraphAddEdge(g, (PetscInt)v[0], (PetscInt)v[1], (PetscReal)v[2]));
    }
    if (fp) fclose(fp);
  }
  PetscCall(TCCheckAll(comm, ok, PETSC_ERR_USER_INPUT, msg));
  PetscCall(PetscLogEventEnd(TC_EVENT_Build, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
