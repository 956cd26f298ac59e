/*
 * Results of a network run: one HDF5 file written by all ranks with
 * collective transfers, plus an XDMF file beside it so that ParaView opens the
 * network (nodes with their coordinates, edges as line cells) with its fields.
 *
 * Layout of results.h5 (all in the input numbering, so the file does not
 * depend on the rank count; N nodes, E edges):
 *   /nodes/coordinates_m  [N,3] float64
 *   /nodes/<field>        [N]   float64   (e.g. potential_V)
 *   /nodes/rank           [N]   int32     owning rank in this run
 *   /edges/nodes          [E,2] int32     node ids of the two ends
 *   /edges/<field>        [E]   float64   (e.g. conductance_S, current_A)
 *   attributes on /: tomocell_version, git_describe, command, deck_path,
 *   deck (text), options (effective keys), ranks, created_utc
 */
#pragma once
#include "mesh/graph.h"
#include "io/h5.h"

typedef struct {
  const char *name; /* dataset name; carries the unit: potential_V */
  Vec         v;    /* node Vec (TCGraphCreateVec) or edge Vec (TCGraphCreateEdgeVec) */
} TCField;

typedef struct {
  const char *command;   /* "run" */
  const char *deck_path; /* may be "" */
  const char *deck_text;
  const char *options; /* effective keys, "key: value" lines */
} TCRunMeta;

/* Collective. Writes dir/results.h5 and dir/results.xmf atomically. */
PETSC_EXTERN PetscErrorCode TCResultsWriteNetwork(TCGraph g, const char dir[],
                                                  const TCField nodef[], PetscInt nnodef,
                                                  const TCField edgef[], PetscInt nedgef,
                                                  const TCRunMeta *meta);

/* Extra datasets written by the caller into the open file (collective), and
   listed in the XDMF as attributes: path "/nodes/x" or "/edges/x" (rows in the
   input numbering), ncomp 1, isint for int32 data. */
typedef struct {
  const char *path;
  PetscBool   isint;
} TCExtraField;
typedef PetscErrorCode (*TCResultsExtraFn)(TCH5 *h5, void *ctx);

/* Collective. Like TCResultsWriteNetwork, but into the file h5path (XDMF beside
   it with the extension .xmf) and with extra datasets from fn(h5, ctx). */
PETSC_EXTERN PetscErrorCode TCResultsWriteNetworkFile(TCGraph g, const char h5path[],
                                                      const TCField nodef[], PetscInt nnodef,
                                                      const TCField edgef[], PetscInt nedgef,
                                                      const TCRunMeta *meta, TCResultsExtraFn fn,
                                                      void *ctx, const TCExtraField extra[],
                                                      PetscInt nextra);
/* ... and post(comm, path, ctx), collective, on the complete file (closed,
   under its temporary name path) before it takes its final name: for work
   that is cheaper on one rank with the serial driver (rank 0 opens path) */
typedef PetscErrorCode (*TCResultsPostFn)(MPI_Comm comm, const char path[], void *ctx);
PETSC_EXTERN PetscErrorCode TCResultsWriteNetworkFilePost(
    TCGraph g, const char h5path[], const TCField nodef[], PetscInt nnodef, const TCField edgef[],
    PetscInt nedgef, const TCRunMeta *meta, TCResultsExtraFn fn, void *ctx,
    const TCExtraField extra[], PetscInt nextra, TCResultsPostFn post);
