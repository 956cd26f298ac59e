/*
 * TCGraph implementation (see graph.h).
 *
 * SetUp in five steps:
 *   1. validate the input nodes and edges (collective error naming the first
 *      bad item);
 *   2. gather the adjacency (ids and integer weights only) on rank 0 and check
 *      that every connected group touches a fixed-potential node (union-find);
 *   3. partition on rank 0 (METIS k-way, or "natural": even blocks of input
 *      ids) and renumber part by part, keeping input order inside a part;
 *   4. broadcast the new ids and move node records and edge records to their
 *      new owners with MPI_Alltoallv;
 *   5. build the owned rows' adjacency, the ghost list and local indices.
 */
#include "mesh/graph.h"
#include "src/tc.h"
#include <math.h>

typedef struct {
  PetscInt  i, j, w;
  PetscReal G;
} TCInEdge;

struct _p_TCGraph {
  MPI_Comm    comm;
  PetscMPIInt rank, size;
  /* input stage */
  PetscInt   nin, instart, N;
  PetscInt  *inranges; /* size+1 input block boundaries */
  TCNode    *innodes;
  PetscBool *inset;
  PetscInt   nein, necap;
  TCInEdge  *inedges;
  /* options */
  char      method[16];
  PetscInt  ufactor;
  PetscBool ew_conductance, require_grounded, setup;
  /* distributed graph */
  PetscInt        n, nstart, E;
  PetscInt       *ranges; /* size+1 new-id block boundaries */
  TCNode         *nodes;
  PetscInt       *inid;
  PetscInt        ne;
  TCEdge         *edges;
  PetscInt       *rowptr, *col, *lcol;
  PetscReal      *rowG;
  PetscInt        nghost, *ghosts;
  TCPartitionInfo pinfo;
  /* the scatter of node vectors (block size node_sc_bs) to the input numbering,
     kept: the roll's output moves several fields at every recorded step */
  VecScatter node_sc;
  PetscInt   node_sc_bs;
};

PetscErrorCode TCCheckAll(MPI_Comm comm, PetscBool ok, PetscErrorCode code, const char msg[])
{
  PetscMPIInt rank, size, bad, first;
  char        buf[1024] = "";

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  bad = ok ? size : rank;
  PetscCallMPI(MPI_Allreduce(&bad, &first, 1, MPI_INT, MPI_MIN, comm));
  if (first == size) PetscFunctionReturn(0);
  if (rank == first) PetscCall(PetscStrncpy(buf, msg, sizeof(buf)));
  PetscCallMPI(MPI_Bcast(buf, sizeof(buf), MPI_CHAR, first, comm));
  SETERRQ(comm, code, "%s", buf);
}

PetscErrorCode TCGraphCreate(MPI_Comm comm, TCGraph *g)
{
  TCGraph gr;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&gr));
  gr->comm = comm;
  PetscCallMPI(MPI_Comm_rank(comm, &gr->rank));
  PetscCallMPI(MPI_Comm_size(comm, &gr->size));
  PetscCall(PetscStrncpy(gr->method, "metis", sizeof(gr->method)));
  gr->ufactor          = 30;
  gr->require_grounded = PETSC_TRUE;
  *g                   = gr;
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphDestroy(TCGraph *g)
{
  TCGraph gr = *g;

  PetscFunctionBeginUser;
  if (!gr) PetscFunctionReturn(0);
  PetscCall(PetscFree(gr->inranges));
  PetscCall(PetscFree(gr->innodes));
  PetscCall(PetscFree(gr->inset));
  PetscCall(PetscFree(gr->inedges));
  PetscCall(PetscFree(gr->ranges));
  PetscCall(PetscFree2(gr->nodes, gr->inid));
  PetscCall(PetscFree(gr->edges));
  PetscCall(PetscFree(gr->rowptr));
  PetscCall(PetscFree3(gr->col, gr->lcol, gr->rowG));
  PetscCall(PetscFree(gr->ghosts));
  PetscCall(VecScatterDestroy(&gr->node_sc));
  PetscCall(PetscFree(gr));
  *g = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphSetLocalSizes(TCGraph g, PetscInt nlocal)
{
  PetscInt n = nlocal;

  PetscFunctionBeginUser;
  PetscCheck(!g->innodes, g->comm, PETSC_ERR_ORDER, "TCGraphSetLocalSizes called twice");
  PetscCheck(nlocal >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "negative local size");
  g->nin = nlocal;
  PetscCall(PetscMalloc1(g->size + 1, &g->inranges));
  g->inranges[0] = 0;
  PetscCallMPI(MPI_Allgather(&n, 1, MPIU_INT, g->inranges + 1, 1, MPIU_INT, g->comm));
  for (PetscMPIInt r = 0; r < g->size; r++) g->inranges[r + 1] += g->inranges[r];
  g->instart = g->inranges[g->rank];
  g->N       = g->inranges[g->size];
  PetscCall(PetscCalloc1(nlocal, &g->innodes));
  PetscCall(PetscCalloc1(nlocal, &g->inset));
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphGetInputRange(TCGraph g, PetscInt *start, PetscInt *end)
{
  PetscFunctionBeginUser;
  if (start) *start = g->instart;
  if (end) *end = g->instart + g->nin;
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphSetNode(TCGraph g, PetscInt id, const TCNode *node)
{
  PetscFunctionBeginUser;
  PetscCheck(id >= g->instart && id < g->instart + g->nin, PETSC_COMM_SELF,
             PETSC_ERR_ARG_OUTOFRANGE,
             "node %" PetscInt_FMT " is not in this rank's input range [%" PetscInt_FMT
             ", %" PetscInt_FMT ")",
             id, g->instart, g->instart + g->nin);
  g->innodes[id - g->instart] = *node;
  g->inset[id - g->instart]   = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphReserveEdges(TCGraph g, PetscInt n)
{
  PetscFunctionBeginUser;
  if (g->nein + n > g->necap) {
    TCInEdge *e;
    PetscCall(PetscMalloc1(g->nein + n, &e));
    if (g->nein) PetscCall(PetscArraycpy(e, g->inedges, g->nein));
    PetscCall(PetscFree(g->inedges));
    g->inedges = e;
    g->necap   = g->nein + n;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphAddEdgeWeighted(TCGraph g, PetscInt i, PetscInt j, PetscReal G,
                                      PetscInt weight)
{
  PetscFunctionBeginUser;
  if (g->nein == g->necap) PetscCall(TCGraphReserveEdges(g, PetscMax(1024, g->necap)));
  g->inedges[g->nein].i = i;
  g->inedges[g->nein].j = j;
  g->inedges[g->nein].G = G;
  g->inedges[g->nein].w = weight;
  g->nein++;
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphAddEdge(TCGraph g, PetscInt i, PetscInt j, PetscReal G)
{
  PetscFunctionBeginUser;
  PetscCall(TCGraphAddEdgeWeighted(g, i, j, G, 1));
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphSetRequireGrounded(TCGraph g, PetscBool flg)
{
  PetscFunctionBeginUser;
  g->require_grounded = flg;
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphSetFromOptions(TCGraph g)
{
  const char *methods[] = {"metis", "natural"}, *ew[] = {"unit", "conductance"};
  PetscInt    m = 0, w = 0;

  PetscFunctionBeginUser;
  PetscOptionsBegin(g->comm, NULL, "Network partitioning", "TCGraph");
  PetscCall(PetscOptionsEList("-net_partition",
                              "Partitioner: METIS k-way or even blocks of input ids",
                              "TCGraphSetUp", methods, 2, methods[0], &m, NULL));
  PetscCall(PetscOptionsRangeInt("-net_partition_ufactor", "Allowed METIS imbalance in thousandths",
                                 "TCGraphSetUp", g->ufactor, &g->ufactor, NULL, 1, 1000));
  PetscCall(PetscOptionsEList("-net_partition_edge_weight",
                              "METIS edge weight: unit, or log-scaled conductance (1..100)",
                              "TCGraphSetUp", ew, 2, ew[0], &w, NULL));
  PetscOptionsEnd();
  PetscCall(PetscStrncpy(g->method, methods[m], sizeof(g->method)));
  g->ew_conductance = w == 1 ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

static PetscErrorCode TCGraphValidate(TCGraph g)
{
  char      msg[512] = "";
  PetscBool ok       = PETSC_TRUE;

  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < g->nin && ok; k++) {
    const TCNode *nd = &g->innodes[k];
    PetscInt      id = g->instart + k;
    if (!g->inset[k]) {
      ok = PETSC_FALSE;
      snprintf(msg, sizeof(msg), "network node %" PetscInt_FMT " was never defined", id);
    } else if (!isfinite(nd->x[0]) || !isfinite(nd->x[1]) || !isfinite(nd->x[2])) {
      ok = PETSC_FALSE;
      snprintf(msg, sizeof(msg), "network node %" PetscInt_FMT " has non-finite coordinates", id);
    } else if (isinf(nd->fixed) || !isfinite(nd->inject)) {
      ok = PETSC_FALSE;
      snprintf(msg, sizeof(msg),
               "network node %" PetscInt_FMT
               " has a non-finite fixed potential or injected current",
               id);
    } else if (nd->weight < 1) {
      ok = PETSC_FALSE;
      snprintf(msg, sizeof(msg),
               "network node %" PetscInt_FMT " has weight %" PetscInt_FMT " (must be >= 1)", id,
               nd->weight);
    }
  }
  for (PetscInt k = 0; k < g->nein && ok; k++) {
    const TCInEdge *e = &g->inedges[k];
    if (e->i < 0 || e->i >= g->N || e->j < 0 || e->j >= g->N) {
      ok = PETSC_FALSE;
      snprintf(msg, sizeof(msg),
               "edge %" PetscInt_FMT "-%" PetscInt_FMT
               " refers to a node outside 0..%" PetscInt_FMT,
               e->i, e->j, g->N - 1);
    } else if (e->i == e->j) {
      ok = PETSC_FALSE;
      snprintf(msg, sizeof(msg),
               "edge %" PetscInt_FMT "-%" PetscInt_FMT " connects a node to itself", e->i, e->j);
    } else if (!(e->G > 0) || !isfinite(e->G)) {
      ok = PETSC_FALSE;
      snprintf(msg, sizeof(msg),
               "edge %" PetscInt_FMT "-%" PetscInt_FMT
               " has conductance %g S; conductances must be positive and finite",
               e->i, e->j, (double)e->G);
    } else if (e->w < 1) {
      ok = PETSC_FALSE;
      snprintf(msg, sizeof(msg),
               "edge %" PetscInt_FMT "-%" PetscInt_FMT " has partition weight %" PetscInt_FMT
               " (must be >= 1)",
               e->i, e->j, e->w);
    }
  }
  PetscCall(TCCheckAll(g->comm, ok, PETSC_ERR_USER_INPUT, msg));
  PetscFunctionReturn(0);
}

/* union-find with path halving */
static PetscInt TCFind(PetscInt *parent, PetscInt v)
{
  while (parent[v] != v) {
    parent[v] = parent[parent[v]];
    v         = parent[v];
  }
  return v;
}

/* Owner rank of id in ranges[0..size] (binary search). */
static PetscMPIInt TCOwner(const PetscInt *ranges, PetscMPIInt size, PetscInt id)
{
  PetscMPIInt lo = 0, hi = size - 1;
  while (lo < hi) {
    PetscMPIInt mid = (lo + hi + 1) / 2;
    if (ranges[mid] <= id)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

/* Steps 2 and 3 on rank 0: grounding check, partition, renumber. newid[N] is
   filled on rank 0 only. status[0..2] = (floating nodes, floating groups,
   first floating node). */
static PetscErrorCode TCGraphPartitionRoot(TCGraph g, const PetscInt *vw, const char *fixed,
                                           PetscInt nedge, const PetscInt *eij, PetscInt *newid,
                                           PetscInt *partsize, PetscInt status[3])
{
  PetscInt  N     = g->N, *parent, *xadj, *adj, *aw, *part, *cnt;
  PetscBool metis = (PetscBool)(!strcmp(g->method, "metis") && g->size > 1);

  PetscFunctionBeginUser;
  status[0] = status[1] = 0;
  status[2]             = -1;
  if (g->require_grounded) {
    char *grounded;
    PetscCall(PetscMalloc1(N, &parent));
    PetscCall(PetscCalloc1(N, &grounded));
    for (PetscInt v = 0; v < N; v++) parent[v] = v;
    for (PetscInt k = 0; k < nedge; k++) {
      PetscInt a = TCFind(parent, eij[3 * k]), b = TCFind(parent, eij[3 * k + 1]);
      if (a != b) parent[a < b ? b : a] = a < b ? a : b;
    }
    for (PetscInt v = 0; v < N; v++)
      if (fixed[v]) grounded[TCFind(parent, v)] = 1;
    for (PetscInt v = 0; v < N; v++) {
      PetscInt r = TCFind(parent, v);
      if (!grounded[r]) {
        status[0]++;
        if (r == v) status[1]++;
        if (status[2] < 0) status[2] = v;
      }
    }
    PetscCall(PetscFree(parent));
    PetscCall(PetscFree(grounded));
    if (status[0]) PetscFunctionReturn(0);
  }

  /* symmetric CSR with duplicate edges merged (METIS wants simple graphs) */
  PetscCall(PetscCalloc1(N + 1, &xadj));
  for (PetscInt k = 0; k < nedge; k++) {
    xadj[eij[3 * k] + 1]++;
    xadj[eij[3 * k + 1] + 1]++;
  }
  for (PetscInt v = 0; v < N; v++) xadj[v + 1] += xadj[v];
  PetscCall(PetscMalloc2(xadj[N], &adj, xadj[N], &aw));
  PetscCall(PetscMalloc1(N, &cnt));
  for (PetscInt v = 0; v < N; v++) cnt[v] = xadj[v];
  for (PetscInt k = 0; k < nedge; k++) {
    PetscInt a = eij[3 * k], b = eij[3 * k + 1], w = eij[3 * k + 2];
    adj[cnt[a]]  = b;
    aw[cnt[a]++] = w;
    adj[cnt[b]]  = a;
    aw[cnt[b]++] = w;
  }
  {
    PetscInt out = 0, rowstart = 0;
    for (PetscInt v = 0; v < N; v++) {
      PetscInt s = rowstart, e = xadj[v + 1];
      rowstart = e;
      PetscCall(PetscSortIntWithArray(e - s, adj + s, aw + s));
      xadj[v] = out;
      for (PetscInt k = s; k < e; k++) {
        if (out > xadj[v] && adj[out - 1] == adj[k])
          aw[out - 1] += aw[k];
        else {
          adj[out] = adj[k];
          aw[out]  = aw[k];
          out++;
        }
      }
    }
    xadj[N] = out;
  }
  PetscCall(PetscMalloc1(N, &part));
  PetscCall(PetscLogEventBegin(TC_EVENT_Partition, 0, 0, 0, 0));
  if (metis) {
    PetscCall(TCPartitionKway(N, xadj, adj, vw, aw, g->size, g->ufactor, part));
  } else {
    /* natural: even blocks of input ids, as PETSC_DECIDE would split them */
    PetscInt v = 0;
    for (PetscMPIInt r = 0; r < g->size; r++) {
      PetscInt nr = N / g->size + (r < N % g->size);
      for (PetscInt k = 0; k < nr; k++) part[v++] = r;
    }
  }
  PetscCall(PetscLogEventEnd(TC_EVENT_Partition, 0, 0, 0, 0));
  PetscCall(TCPartitionEvaluate(N, xadj, adj, vw, part, g->size, &g->pinfo));
  PetscCall(PetscStrncpy(g->pinfo.method, metis ? "metis" : "natural", sizeof(g->pinfo.method)));

  /* renumber: part p gets a contiguous block, input order kept inside it */
  PetscCall(PetscArrayzero(partsize, g->size));
  for (PetscInt v = 0; v < N; v++) partsize[part[v]]++;
  cnt[0] = 0;
  for (PetscMPIInt r = 1; r < g->size; r++) cnt[r] = cnt[r - 1] + partsize[r - 1];
  for (PetscInt v = 0; v < N; v++) newid[v] = cnt[part[v]]++;
  PetscCall(PetscFree(part));
  PetscCall(PetscFree(cnt));
  PetscCall(PetscFree2(adj, aw));
  PetscCall(PetscFree(xadj));
  PetscFunctionReturn(0);
}

typedef struct {
  TCNode   node;
  PetscInt newid, inid;
} TCNodeMsg;

typedef struct {
  PetscInt  ni, nj, ii, ij, id, flags;
  PetscReal G;
} TCEdgeMsg;

enum { TC_EDGE_CANON = 1, TC_EDGE_ROW_I = 2, TC_EDGE_ROW_J = 4 };

/* MPI_Alltoallv of fixed-size records: send[] grouped by destination with
   counts scnt[] (in records); returns the received records (caller frees). */
static PetscErrorCode TCExchange(MPI_Comm comm, PetscMPIInt size, size_t recsize, const void *send,
                                 const PetscInt *scnt, void **recv, PetscInt *nrecv)
{
  PetscMPIInt *sc, *sd, *rc, *rd;
  PetscInt     total = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc4(size, &sc, size, &sd, size, &rc, size, &rd));
  for (PetscMPIInt r = 0; r < size; r++) {
    PetscCheck(scnt[r] * recsize < (size_t)PETSC_MPI_INT_MAX, PETSC_COMM_SELF, PETSC_ERR_SUP,
               "message to rank %d exceeds 2 GiB", r);
    sc[r] = (PetscMPIInt)(scnt[r] * recsize);
  }
  PetscCallMPI(MPI_Alltoall(sc, 1, MPI_INT, rc, 1, MPI_INT, comm));
  sd[0] = rd[0] = 0;
  for (PetscMPIInt r = 1; r < size; r++) {
    sd[r] = sd[r - 1] + sc[r - 1];
    rd[r] = rd[r - 1] + rc[r - 1];
  }
  for (PetscMPIInt r = 0; r < size; r++) total += rc[r];
  PetscCall(PetscMalloc((size_t)total + 1, recv));
  PetscCallMPI(MPI_Alltoallv((void *)send, sc, sd, MPI_BYTE, *recv, rc, rd, MPI_BYTE, comm));
  *nrecv = (PetscInt)(total / (PetscInt)recsize);
  PetscCall(PetscFree4(sc, sd, rc, rd));
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphSetUp(TCGraph g)
{
  PetscInt    *vw = NULL, *eij = NULL, *newid, *partsize, status[3], nedge = 0;
  char        *fixed = NULL;
  PetscMPIInt *rc = NULL, *rd = NULL;
  PetscInt     estart = 0, nein = g->nein;
  PetscReal    lgmin = PETSC_MAX_REAL, lgmax = -PETSC_MAX_REAL;

  PetscFunctionBeginUser;
  if (g->setup) PetscFunctionReturn(0);
  PetscCheck(g->inranges, g->comm, PETSC_ERR_ORDER,
             "call TCGraphSetLocalSizes before TCGraphSetUp");
  PetscCheck(g->N > 0, g->comm, PETSC_ERR_USER_INPUT, "the network has no nodes");
  PetscCall(TCGraphValidate(g));
  PetscCallMPI(MPI_Exscan(&nein, &estart, 1, MPIU_INT, MPI_SUM, g->comm));
  if (g->rank == 0) estart = 0;
  PetscCallMPI(MPI_Allreduce(&nein, &g->E, 1, MPIU_INT, MPI_SUM, g->comm));

  /* ---- step 2: gather adjacency on rank 0 ---- */
  PetscCall(PetscLogEventBegin(TC_EVENT_Distribute, 0, 0, 0, 0));
  if (g->ew_conductance) {
    for (PetscInt k = 0; k < nein; k++) {
      lgmin = PetscMin(lgmin, PetscLog10Real(g->inedges[k].G));
      lgmax = PetscMax(lgmax, PetscLog10Real(g->inedges[k].G));
    }
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &lgmin, 1, MPIU_REAL, MPI_MIN, g->comm));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &lgmax, 1, MPIU_REAL, MPI_MAX, g->comm));
  }
  {
    PetscInt *sendv, *sende;
    char     *sendf;
    PetscCall(PetscMalloc3(g->nin, &sendv, g->nin, &sendf, 3 * nein, &sende));
    for (PetscInt k = 0; k < g->nin; k++) {
      sendv[k] = g->innodes[k].weight;
      sendf[k] = (char)!isnan(g->innodes[k].fixed);
    }
    for (PetscInt k = 0; k < nein; k++) {
      PetscInt w = g->inedges[k].w;
      if (g->ew_conductance)
        w = lgmax > lgmin ? 1 + (PetscInt)(99.0 * (PetscLog10Real(g->inedges[k].G) - lgmin) /
                                               (lgmax - lgmin) +
                                           0.5)
                          : 1;
      sende[3 * k]     = g->inedges[k].i;
      sende[3 * k + 1] = g->inedges[k].j;
      sende[3 * k + 2] = w;
    }
    if (g->rank == 0) {
      PetscCall(PetscMalloc2(g->size, &rc, g->size, &rd));
      PetscCall(PetscMalloc2(g->N, &vw, g->N, &fixed));
      PetscCall(PetscMalloc1(3 * g->E + 1, &eij));
      for (PetscMPIInt r = 0; r < g->size; r++) {
        rc[r] = (PetscMPIInt)(g->inranges[r + 1] - g->inranges[r]);
        rd[r] = (PetscMPIInt)g->inranges[r];
      }
    }
    PetscCallMPI(
        MPI_Gatherv(sendv, (PetscMPIInt)g->nin, MPIU_INT, vw, rc, rd, MPIU_INT, 0, g->comm));
    PetscCallMPI(
        MPI_Gatherv(sendf, (PetscMPIInt)g->nin, MPI_CHAR, fixed, rc, rd, MPI_CHAR, 0, g->comm));
    {
      PetscMPIInt n3 = (PetscMPIInt)(3 * nein);
      PetscCheck(3 * g->E < PETSC_MPI_INT_MAX, g->comm, PETSC_ERR_SUP,
                 "network too large for the serial partitioner (%" PetscInt_FMT " edges)", g->E);
      PetscCallMPI(MPI_Gather(&n3, 1, MPI_INT, rc, 1, MPI_INT, 0, g->comm));
      if (g->rank == 0) {
        rd[0] = 0;
        for (PetscMPIInt r = 1; r < g->size; r++) rd[r] = rd[r - 1] + rc[r - 1];
      }
      PetscCallMPI(MPI_Gatherv(sende, n3, MPIU_INT, eij, rc, rd, MPIU_INT, 0, g->comm));
    }
    PetscCall(PetscFree3(sendv, sendf, sende));
  }
  PetscCall(PetscLogEventEnd(TC_EVENT_Distribute, 0, 0, 0, 0));

  /* ---- step 3: grounding check and partition on rank 0 ---- */
  PetscCall(PetscMalloc1(g->N, &newid));
  PetscCall(PetscMalloc1(g->size, &partsize));
  if (g->rank == 0) {
    nedge = g->E;
    PetscCall(TCGraphPartitionRoot(g, vw, fixed, nedge, eij, newid, partsize, status));
    PetscCall(PetscFree2(rc, rd));
    PetscCall(PetscFree2(vw, fixed));
    PetscCall(PetscFree(eij));
  }
  PetscCallMPI(MPI_Bcast(status, 3, MPIU_INT, 0, g->comm));
  if (status[0]) {
    PetscReal   x[3]  = {0, 0, 0};
    PetscMPIInt owner = TCOwner(g->inranges, g->size, status[2]);
    PetscCall(PetscFree(newid));
    PetscCall(PetscFree(partsize));
    if (g->rank == owner) PetscCall(PetscArraycpy(x, g->innodes[status[2] - g->instart].x, 3));
    PetscCallMPI(MPI_Bcast(x, 3, MPIU_REAL, owner, g->comm));
    {
      char msg[512];
      snprintf(
          msg, sizeof(msg),
          "singular network: %lld node(s) in %lld connected group(s) have no path to a "
          "fixed-potential node "
          "(first: node %lld at (%g, %g, %g) m); connect them or fix a potential in each group",
          (long long)status[0], (long long)status[1], (long long)status[2], (double)x[0],
          (double)x[1], (double)x[2]);
      SETERRQ(g->comm, PETSC_ERR_USER_INPUT, "%s", msg);
    }
  }
  PetscCallMPI(MPI_Bcast(&g->pinfo, sizeof(g->pinfo), MPI_BYTE, 0, g->comm));
  PetscCallMPI(MPI_Bcast(partsize, g->size, MPIU_INT, 0, g->comm));
  PetscCallMPI(MPI_Bcast(newid, g->N, MPIU_INT, 0, g->comm));
  PetscCall(PetscMalloc1(g->size + 1, &g->ranges));
  g->ranges[0] = 0;
  for (PetscMPIInt r = 0; r < g->size; r++) g->ranges[r + 1] = g->ranges[r] + partsize[r];
  g->nstart = g->ranges[g->rank];
  g->n      = partsize[g->rank];
  PetscCall(PetscFree(partsize));

  /* ---- step 4: move nodes and edges to their new owners ---- */
  PetscCall(PetscLogEventBegin(TC_EVENT_Distribute, 0, 0, 0, 0));
  {
    PetscInt  *scnt, *off, nrecv;
    TCNodeMsg *send, *recv;
    PetscCall(PetscCalloc2(g->size, &scnt, g->size, &off));
    for (PetscInt k = 0; k < g->nin; k++)
      scnt[TCOwner(g->ranges, g->size, newid[g->instart + k])]++;
    for (PetscMPIInt r = 1; r < g->size; r++) off[r] = off[r - 1] + scnt[r - 1];
    PetscCall(PetscMalloc1(g->nin + 1, &send));
    for (PetscInt k = 0; k < g->nin; k++) {
      PetscInt    v       = g->instart + k;
      PetscMPIInt r       = TCOwner(g->ranges, g->size, newid[v]);
      send[off[r]].node   = g->innodes[k];
      send[off[r]].newid  = newid[v];
      send[off[r]++].inid = v;
    }
    PetscCall(TCExchange(g->comm, g->size, sizeof(TCNodeMsg), send, scnt, (void **)&recv, &nrecv));
    PetscCheck(nrecv == g->n, PETSC_COMM_SELF, PETSC_ERR_PLIB,
               "received %" PetscInt_FMT " nodes, expected %" PetscInt_FMT, nrecv, g->n);
    PetscCall(PetscMalloc2(g->n, &g->nodes, g->n, &g->inid));
    for (PetscInt k = 0; k < nrecv; k++) {
      g->nodes[recv[k].newid - g->nstart] = recv[k].node;
      g->inid[recv[k].newid - g->nstart]  = recv[k].inid;
    }
    PetscCall(PetscFree(send));
    PetscCall(PetscFree(recv));
    PetscCall(PetscFree2(scnt, off));
  }
  PetscCall(PetscFree(g->innodes));
  PetscCall(PetscFree(g->inset));
  {
    PetscInt  *scnt, *off, nrecv, nsend = 0, nrow;
    TCEdgeMsg *send, *recv;
    PetscCall(PetscCalloc2(g->size, &scnt, g->size, &off));
    for (PetscInt k = 0; k < nein; k++) {
      PetscMPIInt oi = TCOwner(g->ranges, g->size, newid[g->inedges[k].i]),
                  oj = TCOwner(g->ranges, g->size, newid[g->inedges[k].j]);
      scnt[oi]++;
      if (oj != oi) scnt[oj]++;
    }
    for (PetscMPIInt r = 0; r < g->size; r++) nsend += scnt[r];
    for (PetscMPIInt r = 1; r < g->size; r++) off[r] = off[r - 1] + scnt[r - 1];
    PetscCall(PetscMalloc1(nsend + 1, &send));
    for (PetscInt k = 0; k < nein; k++) {
      const TCInEdge *e  = &g->inedges[k];
      PetscInt        ni = newid[e->i], nj = newid[e->j];
      PetscMPIInt     oi = TCOwner(g->ranges, g->size, ni), oj = TCOwner(g->ranges, g->size, nj);
      PetscMPIInt     oc = ni < nj ? oi : oj;
      TCEdgeMsg       m  = {ni, nj, e->i, e->j, estart + k, 0, e->G};
      m.flags = TC_EDGE_ROW_I | (oc == oi ? TC_EDGE_CANON : 0) | (oj == oi ? TC_EDGE_ROW_J : 0);
      send[off[oi]++] = m;
      if (oj != oi) {
        m.flags         = TC_EDGE_ROW_J | (oc == oj ? TC_EDGE_CANON : 0);
        send[off[oj]++] = m;
      }
    }
    PetscCall(PetscFree(g->inedges));
    g->necap = g->nein = 0;
    PetscCall(TCExchange(g->comm, g->size, sizeof(TCEdgeMsg), send, scnt, (void **)&recv, &nrecv));
    PetscCall(PetscFree(send));
    PetscCall(PetscFree2(scnt, off));

    /* ---- step 5: owned edges, rows, ghosts ---- */
    g->ne = 0;
    PetscCall(PetscCalloc1(g->n + 1, &g->rowptr));
    for (PetscInt k = 0; k < nrecv; k++) {
      if (recv[k].flags & TC_EDGE_CANON) g->ne++;
      if (recv[k].flags & TC_EDGE_ROW_I) g->rowptr[recv[k].ni - g->nstart + 1]++;
      if (recv[k].flags & TC_EDGE_ROW_J) g->rowptr[recv[k].nj - g->nstart + 1]++;
    }
    for (PetscInt r = 0; r < g->n; r++) g->rowptr[r + 1] += g->rowptr[r];
    nrow = g->rowptr[g->n];
    PetscCall(PetscMalloc1(g->ne + 1, &g->edges));
    PetscCall(PetscMalloc3(nrow + 1, &g->col, nrow + 1, &g->lcol, nrow + 1, &g->rowG));
    {
      PetscInt *fill, ne = 0;
      PetscCall(PetscMalloc1(g->n + 1, &fill));
      PetscCall(PetscArraycpy(fill, g->rowptr, g->n));
      for (PetscInt k = 0; k < nrecv; k++) {
        const TCEdgeMsg *m = &recv[k];
        if (m->flags & TC_EDGE_CANON) {
          TCEdge *e = &g->edges[ne++];
          e->i      = m->ni;
          e->j      = m->nj;
          e->in_i   = m->ii;
          e->in_j   = m->ij;
          e->G      = m->G;
          e->id     = m->id;
        }
        if (m->flags & TC_EDGE_ROW_I) {
          PetscInt r         = m->ni - g->nstart;
          g->col[fill[r]]    = m->nj;
          g->rowG[fill[r]++] = m->G;
        }
        if (m->flags & TC_EDGE_ROW_J) {
          PetscInt r         = m->nj - g->nstart;
          g->col[fill[r]]    = m->ni;
          g->rowG[fill[r]++] = m->G;
        }
      }
      PetscCall(PetscFree(fill));
    }
    PetscCall(PetscFree(recv));
    /* rows sorted by column: deterministic assembly order */
    for (PetscInt r = 0; r < g->n; r++)
      PetscCall(PetscSortIntWithScalarArray(g->rowptr[r + 1] - g->rowptr[r], g->col + g->rowptr[r],
                                            g->rowG + g->rowptr[r]));
    /* ghosts */
    {
      PetscInt *gh, ng = 0, nend = g->nstart + g->n;
      PetscCall(PetscMalloc1(nrow + 1, &gh));
      for (PetscInt k = 0; k < nrow; k++)
        if (g->col[k] < g->nstart || g->col[k] >= nend) gh[ng++] = g->col[k];
      PetscCall(PetscSortRemoveDupsInt(&ng, gh));
      g->nghost = ng;
      PetscCall(PetscMalloc1(ng + 1, &g->ghosts));
      PetscCall(PetscArraycpy(g->ghosts, gh, ng));
      PetscCall(PetscFree(gh));
      for (PetscInt k = 0; k < nrow; k++) {
        PetscInt c = g->col[k];
        if (c >= g->nstart && c < nend)
          g->lcol[k] = c - g->nstart;
        else {
          PetscInt loc;
          PetscCall(PetscFindInt(c, g->nghost, g->ghosts, &loc));
          PetscCheck(loc >= 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "ghost %" PetscInt_FMT " not found",
                     c);
          g->lcol[k] = g->n + loc;
        }
      }
    }
  }
  PetscCall(PetscFree(newid));
  PetscCall(PetscLogEventEnd(TC_EVENT_Distribute, 0, 0, 0, 0));
  g->setup = PETSC_TRUE;
  PetscFunctionReturn(0);
}

#define TCGraphCheckSetUp(g)                                                                       \
  PetscCheck((g)->setup, (g)->comm, PETSC_ERR_ORDER, "call TCGraphSetUp first")

PetscErrorCode TCGraphGetComm(TCGraph g, MPI_Comm *comm)
{
  PetscFunctionBeginUser;
  *comm = g->comm;
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphGetSizes(TCGraph g, PetscInt *nglobal, PetscInt *eglobal)
{
  PetscFunctionBeginUser;
  if (nglobal) *nglobal = g->N;
  if (eglobal) *eglobal = g->E;
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphGetOwnershipRange(TCGraph g, PetscInt *start, PetscInt *end)
{
  PetscFunctionBeginUser;
  TCGraphCheckSetUp(g);
  if (start) *start = g->nstart;
  if (end) *end = g->nstart + g->n;
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphGetNodes(TCGraph g, PetscInt *n, const TCNode **nodes,
                               const PetscInt **input_id)
{
  PetscFunctionBeginUser;
  TCGraphCheckSetUp(g);
  if (n) *n = g->n;
  if (nodes) *nodes = g->nodes;
  if (input_id) *input_id = g->inid;
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphGetEdges(TCGraph g, PetscInt *ne, const TCEdge **edges)
{
  PetscFunctionBeginUser;
  TCGraphCheckSetUp(g);
  if (ne) *ne = g->ne;
  if (edges) *edges = g->edges;
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphGetRows(TCGraph g, const PetscInt **ptr, const PetscInt **col,
                              const PetscInt **lcol, const PetscReal **G)
{
  PetscFunctionBeginUser;
  TCGraphCheckSetUp(g);
  if (ptr) *ptr = g->rowptr;
  if (col) *col = g->col;
  if (lcol) *lcol = g->lcol;
  if (G) *G = g->rowG;
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphGetGhosts(TCGraph g, PetscInt *nghost, const PetscInt **ghosts)
{
  PetscFunctionBeginUser;
  TCGraphCheckSetUp(g);
  if (nghost) *nghost = g->nghost;
  if (ghosts) *ghosts = g->ghosts;
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphCreateVec(TCGraph g, Vec *v)
{
  PetscFunctionBeginUser;
  TCGraphCheckSetUp(g);
  PetscCall(VecCreateGhost(g->comm, g->n, g->N, g->nghost, g->ghosts, v));
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphCreateEdgeVec(TCGraph g, Vec *v)
{
  PetscFunctionBeginUser;
  TCGraphCheckSetUp(g);
  PetscCall(VecCreateMPI(g->comm, g->ne, g->E, v));
  PetscFunctionReturn(0);
}

/* Scatter vnew (local entries k -> global input index to[k], block size bs)
   into a new evenly distributed Vec *vin; the scatter is made here, or taken
   from and left in *keep (keep NULL: made and destroyed). */
static PetscErrorCode TCGraphToInput(TCGraph g, Vec vnew, PetscInt nloc, PetscInt nglob,
                                     const PetscInt *to, VecScatter *keep, Vec *vin)
{
  PetscInt   bs, rstart;
  IS         isfrom, isto;
  VecScatter sc = keep ? *keep : NULL;

  PetscFunctionBeginUser;
  PetscCall(VecGetBlockSize(vnew, &bs));
  PetscCall(VecGetOwnershipRange(vnew, &rstart, NULL));
  PetscCall(VecCreate(g->comm, vin));
  PetscCall(VecSetSizes(*vin, PETSC_DECIDE, nglob * bs));
  PetscCall(VecSetBlockSize(*vin, bs));
  PetscCall(VecSetType(*vin, VECMPI));
  if (!sc) {
    PetscCall(ISCreateStride(g->comm, nloc * bs, rstart, 1, &isfrom));
    PetscCall(ISCreateBlock(g->comm, bs, nloc, to, PETSC_COPY_VALUES, &isto));
    PetscCall(VecScatterCreate(vnew, isfrom, *vin, isto, &sc));
    PetscCall(ISDestroy(&isfrom));
    PetscCall(ISDestroy(&isto));
  }
  PetscCall(VecScatterBegin(sc, vnew, *vin, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(sc, vnew, *vin, INSERT_VALUES, SCATTER_FORWARD));
  if (keep)
    *keep = sc;
  else
    PetscCall(VecScatterDestroy(&sc));
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphNodesToInput(TCGraph g, Vec vnew, Vec *vin)
{
  PetscInt bs, nl;

  PetscFunctionBeginUser;
  TCGraphCheckSetUp(g);
  PetscCall(VecGetBlockSize(vnew, &bs));
  PetscCall(VecGetLocalSize(vnew, &nl));
  PetscCheck(nl == g->n * bs, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ,
             "a node vector of local size %" PetscInt_FMT ", not %" PetscInt_FMT
             " x %" PetscInt_FMT,
             nl, g->n, bs);
  if (g->node_sc && g->node_sc_bs != bs) PetscCall(VecScatterDestroy(&g->node_sc));
  g->node_sc_bs = bs;
  PetscCall(TCGraphToInput(g, vnew, g->n, g->N, g->inid, &g->node_sc, vin));
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphEdgesToInput(TCGraph g, Vec vnew, Vec *vin)
{
  PetscInt *ids;

  PetscFunctionBeginUser;
  TCGraphCheckSetUp(g);
  PetscCall(PetscMalloc1(g->ne + 1, &ids));
  for (PetscInt k = 0; k < g->ne; k++) ids[k] = g->edges[k].id;
  PetscCall(TCGraphToInput(g, vnew, g->ne, g->E, ids, NULL, vin));
  PetscCall(PetscFree(ids));
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphGetPartitionInfo(TCGraph g, TCPartitionInfo *info)
{
  PetscFunctionBeginUser;
  TCGraphCheckSetUp(g);
  *info = g->pinfo;
  PetscFunctionReturn(0);
}

PetscErrorCode TCGraphView(TCGraph g, PetscViewer viewer)
{
  PetscFunctionBeginUser;
  TCGraphCheckSetUp(g);
  if (!viewer) viewer = PETSC_VIEWER_STDOUT_(g->comm);
  PetscCall(PetscViewerASCIIPrintf(
      viewer, "network: %" PetscInt_FMT " nodes, %" PetscInt_FMT " edges on %d rank(s)\n", g->N,
      g->E, g->size));
  PetscCall(PetscViewerASCIIPrintf(
      viewer, "partition: %s, edge cut %" PetscInt_FMT ", max/mean part weight %.4f\n",
      g->pinfo.method, g->pinfo.edgecut, (double)g->pinfo.imbalance));
  PetscFunctionReturn(0);
}
