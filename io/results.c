/*
 * Network results in HDF5 + XDMF (see results.h).
 */
#include "io/results.h"
#include "io/h5.h"
#include "io/output.h"
#include "src/tc.h"
#include <time.h>

/* Write Vec vin (evenly distributed, input numbering, block size bs) as a
   dataset [N] or [N,bs]. */
static PetscErrorCode TCWriteVecRows(TCH5 *h5, const char name[], Vec vin)
{
  PetscInt           bs, N, lo, hi;
  hsize_t            dims[2];
  const PetscScalar *a;
  PetscErrorCode     ierr;

  PetscFunctionBeginUser;
  PetscCall(VecGetBlockSize(vin, &bs));
  PetscCall(VecGetSize(vin, &N));
  PetscCall(VecGetOwnershipRange(vin, &lo, &hi));
  dims[0] = (hsize_t)(N / bs);
  dims[1] = (hsize_t)bs;
  PetscCall(VecGetArrayRead(vin, &a));
  ierr = TCH5WriteRows(h5, name, H5T_NATIVE_DOUBLE, bs > 1 ? 2 : 1, dims, (hsize_t)(lo / bs),
                       (hsize_t)((hi - lo) / bs), a);
  PetscCall(VecRestoreArrayRead(vin, &a)); /* also when the write failed (a full disk) */
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* Same, converting to int32. */
static PetscErrorCode TCWriteVecRowsInt(TCH5 *h5, const char name[], Vec vin)
{
  PetscInt           bs, N, lo, hi;
  hsize_t            dims[2];
  const PetscScalar *a;
  int               *ia;
  PetscErrorCode     ierr;

  PetscFunctionBeginUser;
  PetscCall(VecGetBlockSize(vin, &bs));
  PetscCall(VecGetSize(vin, &N));
  PetscCall(VecGetOwnershipRange(vin, &lo, &hi));
  dims[0] = (hsize_t)(N / bs);
  dims[1] = (hsize_t)bs;
  PetscCall(VecGetArrayRead(vin, &a));
  PetscCall(PetscMalloc1(hi - lo + 1, &ia));
  for (PetscInt k = 0; k < hi - lo; k++) ia[k] = (int)a[k];
  ierr = TCH5WriteRows(h5, name, H5T_NATIVE_INT, bs > 1 ? 2 : 1, dims, (hsize_t)(lo / bs),
                       (hsize_t)((hi - lo) / bs), ia);
  PetscCall(PetscFree(ia)); /* also when the write failed (a full disk) */
  PetscCall(VecRestoreArrayRead(vin, &a));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

static PetscErrorCode TCWriteField(TCGraph g, TCH5 *h5, const char group[], const TCField *f,
                                   PetscBool edge)
{
  Vec            vin;
  char           name[256];
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  if (edge)
    PetscCall(TCGraphEdgesToInput(g, f->v, &vin));
  else
    PetscCall(TCGraphNodesToInput(g, f->v, &vin));
  snprintf(name, sizeof(name), "%s/%s", group, f->name);
  ierr = TCWriteVecRows(h5, name, vin);
  PetscCall(VecDestroy(&vin)); /* also when the write failed */
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

static void TCXdmfItem(FILE *fp, const char *h5name, const char *path, PetscInt n, PetscInt m,
                       PetscBool isint)
{
  if (m > 1)
    fprintf(fp,
            "        <DataItem Dimensions=\"%" PetscInt_FMT " %" PetscInt_FMT
            "\" NumberType=\"%s\" Precision=\"%d\" Format=\"HDF\">%s:%s</DataItem>\n",
            n, m, isint ? "Int" : "Float", isint ? 4 : 8, h5name, path);
  else
    fprintf(fp,
            "        <DataItem Dimensions=\"%" PetscInt_FMT
            "\" NumberType=\"%s\" Precision=\"%d\" Format=\"HDF\">%s:%s</DataItem>\n",
            n, isint ? "Int" : "Float", isint ? 4 : 8, h5name, path);
}

PetscErrorCode TCResultsWriteNetwork(TCGraph g, const char dir[], const TCField nodef[],
                                     PetscInt nnodef, const TCField edgef[], PetscInt nedgef,
                                     const TCRunMeta *meta)
{
  char final[PETSC_MAX_PATH_LEN];

  PetscFunctionBeginUser;
  PetscCall(TCPathJoin(dir, "results.h5", final, sizeof(final)));
  PetscCall(
      TCResultsWriteNetworkFile(g, final, nodef, nnodef, edgef, nedgef, meta, NULL, NULL, NULL, 0));
  PetscFunctionReturn(0);
}

static PetscErrorCode ResultsWriteNetworkFile(TCGraph g, const char h5path[], const TCField nodef[],
                                              PetscInt nnodef, const TCField edgef[],
                                              PetscInt nedgef, const TCRunMeta *meta,
                                              TCResultsExtraFn fn, void *ctx,
                                              const TCExtraField extra[], PetscInt nextra,
                                              TCResultsPostFn post, Vec *v, Vec *vin)
{
  MPI_Comm      comm;
  PetscMPIInt   size, rank;
  char          final[PETSC_MAX_PATH_LEN], tmp[PETSC_MAX_PATH_LEN], xmf[PETSC_MAX_PATH_LEN];
  TCH5          h5;
  PetscInt      N, E, n, ne, nstart;
  const TCNode *nodes;
  const TCEdge *edges;
  FILE         *fp;
  const char   *h5name = "results.h5";

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TC_EVENT_Write, 0, 0, 0, 0));
  PetscCall(TCGraphGetComm(g, &comm));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(TCGraphGetSizes(g, &N, &E));
  PetscCall(TCGraphGetNodes(g, &n, &nodes, NULL));
  PetscCall(TCGraphGetEdges(g, &ne, &edges));
  PetscCall(TCGraphGetOwnershipRange(g, &nstart, NULL));
  PetscCall(PetscStrncpy(final, h5path, sizeof(final)));
  PetscCall(TCOutputTempName(comm, final, tmp, sizeof(tmp)));
  PetscCall(TCH5Create(comm, tmp, &h5));

  /* coordinates [N,3] */
  PetscCall(VecCreateMPI(comm, 3 * n, 3 * N, v));
  PetscCall(VecSetBlockSize(*v, 3));
  {
    PetscScalar *a;
    PetscCall(VecGetArray(*v, &a));
    for (PetscInt k = 0; k < n; k++)
      for (int d = 0; d < 3; d++) a[3 * k + d] = nodes[k].x[d];
    PetscCall(VecRestoreArray(*v, &a));
  }
  PetscCall(TCGraphNodesToInput(g, *v, vin));
  PetscCall(TCWriteVecRows(&h5, "/nodes/coordinates_m", *vin));
  PetscCall(VecDestroy(vin));
  PetscCall(VecDestroy(v));

  for (PetscInt f = 0; f < nnodef; f++)
    PetscCall(TCWriteField(g, &h5, "/nodes", &nodef[f], PETSC_FALSE));

  /* owning rank */
  PetscCall(VecCreateMPI(comm, n, N, v));
  PetscCall(VecSet(*v, (PetscScalar)rank));
  PetscCall(TCGraphNodesToInput(g, *v, vin));
  PetscCall(TCWriteVecRowsInt(&h5, "/nodes/rank", *vin));
  PetscCall(VecDestroy(vin));
  PetscCall(VecDestroy(v));

  /* edge ends [E,2] in input ids */
  PetscCall(VecCreateMPI(comm, 2 * ne, 2 * E, v));
  PetscCall(VecSetBlockSize(*v, 2));
  {
    PetscScalar *a;
    PetscCall(VecGetArray(*v, &a));
    for (PetscInt k = 0; k < ne; k++) {
      a[2 * k]     = (PetscScalar)edges[k].in_i;
      a[2 * k + 1] = (PetscScalar)edges[k].in_j;
    }
    PetscCall(VecRestoreArray(*v, &a));
  }
  PetscCall(TCGraphEdgesToInput(g, *v, vin));
  PetscCall(TCWriteVecRowsInt(&h5, "/edges/nodes", *vin));
  PetscCall(VecDestroy(vin));
  PetscCall(VecDestroy(v));
  for (PetscInt f = 0; f < nedgef; f++)
    PetscCall(TCWriteField(g, &h5, "/edges", &edgef[f], PETSC_TRUE));

  if (fn) PetscCall(fn(&h5, ctx));

  /* run metadata */
  {
    char      stamp[64];
    time_t    now = time(NULL);
    struct tm tmv;
    long long t = (long long)now;
    PetscCallMPI(MPI_Bcast(&t, 1, MPI_LONG_LONG, 0, comm));
    now = (time_t)t;
    gmtime_r(&now, &tmv);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tmv);
    PetscCall(TCH5WriteAttrString(&h5, "/", "tomocell_version", TC_VERSION));
    PetscCall(TCH5WriteAttrString(&h5, "/", "git_describe", TC_GIT_DESCRIBE));
    PetscCall(TCH5WriteAttrString(&h5, "/", "command", meta->command));
    PetscCall(TCH5WriteAttrString(&h5, "/", "deck_path", meta->deck_path));
    PetscCall(TCH5WriteAttrString(&h5, "/", "deck", meta->deck_text));
    PetscCall(TCH5WriteAttrString(&h5, "/", "options", meta->options));
    PetscCall(TCH5WriteAttrInt(&h5, "/", "ranks", size));
    PetscCall(TCH5WriteAttrString(&h5, "/", "created_utc", stamp));
  }
  PetscCall(TCH5Close(&h5));
  if (post) PetscCall(post(comm, tmp, ctx));
  PetscCall(TCOutputCommit(comm, tmp, final));

  /* XDMF: nodes as geometry, edges as two-node polylines */
  {
    size_t L = strlen(final);
    PetscCheck(L + 5 < sizeof(xmf), comm, PETSC_ERR_USER_INPUT, "output path too long: %s", final);
    PetscCall(PetscStrncpy(xmf, final, sizeof(xmf)));
    if (L > 3 && !strcmp(final + L - 3, ".h5")) xmf[L - 3] = 0;
    PetscCall(PetscStrlcat(xmf, ".xmf", sizeof(xmf)));
    h5name = strrchr(final, '/') ? strrchr(final, '/') + 1 : final;
  }
  PetscCall(TCOutputFOpen(comm, xmf, &fp));
  if (fp) {
    fprintf(fp, "<?xml version=\"1.0\" ?>\n<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n<Xdmf "
                "Version=\"3.0\">\n  <Domain>\n");
    fprintf(fp, "    <Grid Name=\"network\" GridType=\"Uniform\">\n");
    fprintf(fp,
            "      <Topology TopologyType=\"Polyline\" NumberOfElements=\"%" PetscInt_FMT
            "\" NodesPerElement=\"2\">\n",
            E);
    TCXdmfItem(fp, h5name, "/edges/nodes", E, 2, PETSC_TRUE);
    fprintf(fp, "      </Topology>\n      <Geometry GeometryType=\"XYZ\">\n");
    TCXdmfItem(fp, h5name, "/nodes/coordinates_m", N, 3, PETSC_FALSE);
    fprintf(fp, "      </Geometry>\n");
    for (PetscInt f = 0; f < nnodef; f++) {
      fprintf(fp, "      <Attribute Name=\"%s\" AttributeType=\"Scalar\" Center=\"Node\">\n",
              nodef[f].name);
      {
        char path[256];
        snprintf(path, sizeof(path), "/nodes/%s", nodef[f].name);
        TCXdmfItem(fp, h5name, path, N, 1, PETSC_FALSE);
      }
      fprintf(fp, "      </Attribute>\n");
    }
    fprintf(fp, "      <Attribute Name=\"rank\" AttributeType=\"Scalar\" Center=\"Node\">\n");
    TCXdmfItem(fp, h5name, "/nodes/rank", N, 1, PETSC_TRUE);
    fprintf(fp, "      </Attribute>\n");
    for (PetscInt f = 0; f < nedgef; f++) {
      char path[256];
      snprintf(path, sizeof(path), "/edges/%s", edgef[f].name);
      fprintf(fp, "      <Attribute Name=\"%s\" AttributeType=\"Scalar\" Center=\"Cell\">\n",
              edgef[f].name);
      TCXdmfItem(fp, h5name, path, E, 1, PETSC_FALSE);
      fprintf(fp, "      </Attribute>\n");
    }
    for (PetscInt f = 0; f < nextra; f++) {
      PetscBool cell = (PetscBool)(strncmp(extra[f].path, "/edges/", 7) == 0);
      fprintf(fp, "      <Attribute Name=\"%s\" AttributeType=\"Scalar\" Center=\"%s\">\n",
              strrchr(extra[f].path, '/') + 1, cell ? "Cell" : "Node");
      TCXdmfItem(fp, h5name, extra[f].path, cell ? E : N, 1, extra[f].isint);
      fprintf(fp, "      </Attribute>\n");
    }
    fprintf(fp, "    </Grid>\n  </Domain>\n</Xdmf>\n");
  }
  PetscCall(TCOutputFClose(comm, xmf, &fp));
  PetscCall(PetscLogEventEnd(TC_EVENT_Write, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* ResultsWriteNetworkFile with its two work vectors freed also when a write
   fails (a full disk must not leak them; the HDF5 file is closed by
   TCH5CloseAll on the error exit) */
PetscErrorCode TCResultsWriteNetworkFilePost(TCGraph g, const char h5path[], const TCField nodef[],
                                             PetscInt nnodef, const TCField edgef[],
                                             PetscInt nedgef, const TCRunMeta *meta,
                                             TCResultsExtraFn fn, void *ctx,
                                             const TCExtraField extra[], PetscInt nextra,
                                             TCResultsPostFn post)
{
  Vec            v = NULL, vin = NULL;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  ierr = ResultsWriteNetworkFile(g, h5path, nodef, nnodef, edgef, nedgef, meta, fn, ctx, extra,
                                 nextra, post, &v, &vin);
  PetscCall(VecDestroy(&vin));
  PetscCall(VecDestroy(&v));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode TCResultsWriteNetworkFile(TCGraph g, const char h5path[], const TCField nodef[],
                                         PetscInt nnodef, const TCField edgef[], PetscInt nedgef,
                                         const TCRunMeta *meta, TCResultsExtraFn fn, void *ctx,
                                         const TCExtraField extra[], PetscInt nextra)
{
  PetscFunctionBeginUser;
  PetscCall(TCResultsWriteNetworkFilePost(g, h5path, nodef, nnodef, edgef, nedgef, meta, fn, ctx,
                                          extra, nextra, NULL));
  PetscFunctionReturn(0);
}
