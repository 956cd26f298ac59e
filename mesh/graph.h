/*
 * TCGraph: a distributed, weighted, undirected graph -- the network that every
 * tomocell solver assembles (foil sheets, jelly-roll networks, voxel graphs).
 *
 * Life cycle (PETSc style):
 *
 *   TCGraphCreate(comm, &g);
 *   TCGraphSetLocalSizes(g, nlocal);          this rank's block of input ids
 *   TCGraphSetNode(g, id, &node); ...         for ids in TCGraphGetInputRange()
 *   TCGraphAddEdge(g, i, j, G); ...           any ids; each edge added once
 *   TCGraphSetFromOptions(g);                 -net_partition, ...
 *   TCGraphSetUp(g);                          validate, partition, renumber, distribute
 *   ... TCGraphGetNodes(), TCGraphGetRows(), TCGraphCreateVec() ...
 *   TCGraphDestroy(&g);
 *
 * Numbering. Nodes are created in the "input" numbering: rank r owns a
 * contiguous block of input ids, in rank order. TCGraphSetUp() partitions the
 * graph (METIS k-way, vertex weight = node cost, edge weight = coupling) and
 * renumbers it so that part p is rank p's contiguous block of "new" ids, the
 * numbering of every Vec and Mat built from the graph. Output is written back
 * in the input numbering (TCGraphNodesToInput), so files do not depend on the
 * rank count.
 *
 * Limits. The partitioner is serial METIS: SetUp gathers the graph's
 * adjacency (not its data) on rank 0, about 20 bytes per edge end there.
 */
#pragma once
#include <petscvec.h>
#include "mesh/partition.h"

typedef struct _p_TCGraph *TCGraph;

/* Node attributes. fixed is the prescribed potential (V), NaN for a free node;
   inject is the current fed into the node (A, positive into the network). */
typedef struct {
  PetscReal x[3];   /* coordinates, m */
  PetscReal fixed;  /* Dirichlet value, or NaN */
  PetscReal inject; /* current source, A */
  PetscInt  weight; /* partitioning cost, >= 1 */
  PetscInt  tag;    /* caller's label (foil, group); carried along */
  PetscReal area_m2;  /* caller's data, carried along: e.g. the foil strip a node stands for */
  PetscReal length_m; /* ... and its extent along the foil */
} TCNode;

/* An edge after SetUp: ends in the new numbering, conductance G (S), and its
   id in the input edge numbering (order of TCGraphAddEdge calls, rank by rank). */
typedef struct {
  PetscInt  i, j;       /* ends, new numbering */
  PetscInt  in_i, in_j; /* ends, input numbering (for output) */
  PetscReal G;          /* conductance, S */
  PetscInt  id;         /* input edge id */
} TCEdge;

PETSC_EXTERN PetscErrorCode TCGraphCreate(MPI_Comm comm, TCGraph *g);
PETSC_EXTERN PetscErrorCode TCGraphDestroy(TCGraph *g);

/* Collective. Number of nodes this rank creates; sets the input range. */
PETSC_EXTERN PetscErrorCode TCGraphSetLocalSizes(TCGraph g, PetscInt nlocal);
PETSC_EXTERN PetscErrorCode TCGraphGetInputRange(TCGraph g, PetscInt *start, PetscInt *end);
/* Not collective. id must lie in this rank's input range. */
PETSC_EXTERN PetscErrorCode TCGraphSetNode(TCGraph g, PetscInt id, const TCNode *node);
/* Not collective. An edge between input ids i and j with conductance G > 0 and
   partition weight 1 (see TCGraphAddEdgeWeighted). */
PETSC_EXTERN PetscErrorCode TCGraphAddEdge(TCGraph g, PetscInt i, PetscInt j, PetscReal G);
PETSC_EXTERN PetscErrorCode TCGraphAddEdgeWeighted(TCGraph g, PetscInt i, PetscInt j, PetscReal G,
                                                   PetscInt weight);
/* Reserve room for n more edges on this rank (optional; avoids regrowth). */
PETSC_EXTERN PetscErrorCode TCGraphReserveEdges(TCGraph g, PetscInt n);

/* Require every connected group of nodes to contain a fixed-potential node
   (default true: a Laplacian with a floating group is singular). */
PETSC_EXTERN PetscErrorCode TCGraphSetRequireGrounded(TCGraph g, PetscBool flg);

/* Collective. Options: -net_partition metis|natural, -net_partition_ufactor N,
   -net_partition_edge_weight unit|conductance. */
PETSC_EXTERN PetscErrorCode TCGraphSetFromOptions(TCGraph g);
/* Collective. Validates (edge ends, G > 0 and finite, grounding), partitions,
   renumbers and distributes. Errors name the offending node or edge. */
PETSC_EXTERN PetscErrorCode TCGraphSetUp(TCGraph g);

/* After SetUp. */
PETSC_EXTERN PetscErrorCode TCGraphGetComm(TCGraph g, MPI_Comm *comm);
PETSC_EXTERN PetscErrorCode TCGraphGetSizes(TCGraph g, PetscInt *nglobal, PetscInt *eglobal);
PETSC_EXTERN PetscErrorCode TCGraphGetOwnershipRange(TCGraph g, PetscInt *start, PetscInt *end);
/* Owned nodes in new-id order, and their input ids. */
PETSC_EXTERN PetscErrorCode TCGraphGetNodes(TCGraph g, PetscInt *n, const TCNode **nodes,
                                            const PetscInt **input_id);
/* Owned edges (each global edge is owned by exactly one rank). */
PETSC_EXTERN PetscErrorCode TCGraphGetEdges(TCGraph g, PetscInt *ne, const TCEdge **edges);
/* Adjacency of owned rows: row r (0..n-1) has neighbours k in [ptr[r], ptr[r+1]):
   global new id col[k], local index lcol[k] into the ghosted local form
   (owned first, then ghosts), conductance G[k]. Parallel edges appear as
   separate entries. */
PETSC_EXTERN PetscErrorCode TCGraphGetRows(TCGraph g, const PetscInt **ptr, const PetscInt **col,
                                           const PetscInt **lcol, const PetscReal **G);
/* Off-rank neighbours (global new ids, sorted): the ghosts of TCGraphCreateVec. */
PETSC_EXTERN PetscErrorCode TCGraphGetGhosts(TCGraph g, PetscInt *nghost, const PetscInt **ghosts);
/* A ghosted node Vec (VecCreateGhost) with the graph's layout. */
PETSC_EXTERN PetscErrorCode TCGraphCreateVec(TCGraph g, Vec *v);
/* An edge Vec: one entry per owned edge, in TCGraphGetEdges order. */
PETSC_EXTERN PetscErrorCode TCGraphCreateEdgeVec(TCGraph g, Vec *v);
/* Copy a node (edge) Vec in the new numbering to a new Vec *vin in the input
   numbering, evenly distributed (PETSC_DECIDE). bs is the block size (1 or 3). */
PETSC_EXTERN PetscErrorCode TCGraphNodesToInput(TCGraph g, Vec vnew, Vec *vin);
PETSC_EXTERN PetscErrorCode TCGraphEdgesToInput(TCGraph g, Vec vnew, Vec *vin);
PETSC_EXTERN PetscErrorCode TCGraphGetPartitionInfo(TCGraph g, TCPartitionInfo *info);
/* Rank 0 prints sizes and partition quality. Collective. */
PETSC_EXTERN PetscErrorCode TCGraphView(TCGraph g, PetscViewer viewer);

/* Collective: if any rank has ok == false, every rank raises the same
   PETSC_ERR_USER_INPUT error with the message of the lowest such rank. */
PETSC_EXTERN PetscErrorCode TCCheckAll(MPI_Comm comm, PetscBool ok, PetscErrorCode code,
                                       const char msg[]);
