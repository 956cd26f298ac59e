/*
 * Graph partitioning with METIS (k-way, vertex and edge weights).
 *
 * METIS is serial: TCPartitionKway runs on one process on a CSR graph that
 * the caller has gathered there (mesh/graph.c does this on rank 0). Debian
 * ships no ParMETIS; for the network sizes tomocell targets (a few million
 * nodes) the gather costs less than the solve. See the README for figures.
 */
#pragma once
#include <petscsys.h>

typedef struct {
  char      method[16]; /* "metis" or "natural" */
  PetscInt  nparts;
  PetscInt  edgecut;    /* number of edges whose ends lie in different parts */
  PetscInt  maxweight;  /* largest part's total vertex weight */
  PetscReal meanweight; /* total vertex weight / nparts */
  PetscReal imbalance;  /* maxweight / meanweight (1 = perfect) */
} TCPartitionInfo;

/* Partition the symmetric CSR graph (xadj[n+1], adjncy[xadj[n]], no self
   loops) into nparts parts. vwgt and adjwgt may be NULL (unit weights).
   ufactor: allowed imbalance in thousandths (30 -> 1.03), as METIS's
   METIS_OPTION_UFACTOR. part[n] receives 0..nparts-1. Not collective. */
PETSC_EXTERN PetscErrorCode TCPartitionKway(PetscInt n, const PetscInt xadj[],
                                            const PetscInt adjncy[], const PetscInt vwgt[],
                                            const PetscInt adjwgt[], PetscInt nparts,
                                            PetscInt ufactor, PetscInt part[]);

/* Edge cut and balance of a given partition. Not collective. */
PETSC_EXTERN PetscErrorCode TCPartitionEvaluate(PetscInt n, const PetscInt xadj[],
                                                const PetscInt adjncy[], const PetscInt vwgt[],
                                                const PetscInt part[], PetscInt nparts,
                                                TCPartitionInfo *info);
