/*
 * A network from two CSV files, for users who build their own resistor
 * networks (and for tests):
 *
 *   nodes: id,x_m,y_m,z_m,fixed_V,inject_A     one row per node, ids 0..N-1 in
 *          any order; fixed_V empty or "nan" for a free node
 *   edges: i,j,G_S                              one row per resistor
 *
 * A header line (first field not a number) is skipped; '#' starts a comment.
 * Rank 0 reads both files; SetUp then partitions and distributes them.
 */
#pragma once
#include "mesh/graph.h"

/* Collective. Fill g (created, not set up). Errors name file and line. */
PETSC_EXTERN PetscErrorCode TCNetCSVRead(const char nodes_path[], const char edges_path[],
                                         TCGraph g);
