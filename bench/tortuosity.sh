#!/usr/bin/env bash
# Tortuosity benchmark: two-phase sphere packs (overlapping spheres of radius
# 6 voxels, porosity 0.4, made by `tomocell microstructure`) of 100^3, 200^3
# and 300^3 voxels, solved in x at 1 and 2 ranks. Prints the preconditioner,
# tau, the solve set-up and solve times, total wall time, iterations, the
# time of one CG iteration, the memory bandwidth the iterations reached and
# its fraction of the machine's, and peak memory per voxel (sum of the ranks'
# peak RSS, including MPI/PETSc start-up, over the box voxels), and the CPU
# time of all ranks (user + system, from /usr/bin/time): on a shared machine
# wall time depends on the load, CPU time much less.
#
# Bandwidth: the bytes one iteration streams through memory are counted by
# the solver from the arrays each pass reads and writes (props.json:
# traffic_bytes_per_voxel_iteration, as STREAM counts: no write-allocate);
# divided by the measured iteration time (iteration_s) that is GB/s, and
# over the triad bandwidth of the same number of ranks, measured first by
# the small STREAM-like triad below (a[i] = b[i] + s c[i], 3 x 128 MiB per
# rank, best of 10), the fraction reached.
#
#   bench/tortuosity.sh                         # all sizes, default solver (mf; 300^3 ~1.5 GB)
#   BIG=1 bench/tortuosity.sh                   # also 500^3 on 2 ranks (TauFactor's size, ~7 GB)
#   SOLVER=aij bench/tortuosity.sh              # the assembled solver (BoomerAMG; ~4.5 GB)
#   SIZES="100 200" RANKS="1 2" PC=gamg bench/tortuosity.sh   # a -pc_type implies aij
#
# TauFactor (the reference) is not on Debian's package list; its timings on
# this kind of machine are in ../shared/validation/tortuosity/README.md:
# 100^3 in 9.5 s, 200^3 in 85 s (2 cores, float32).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tomocell=${TOMOCELL:-$here/build/tomocell}
sizes=${SIZES:-"100 200 300"}
ranks=${RANKS:-"1 2"}
solver=${SOLVER:-}  # empty: tomocell's default (mf: matrix-free multigrid)
pc=${PC:-}          # a PETSc -pc_type for the assembled solver
mpiexec=${MPIEXEC:-mpiexec}
[ -x "$tomocell" ] || { echo "build first: tools/setup.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# STREAM-like triad on 1 and 2 ranks (MPI barrier before each repetition,
# the slowest rank's time; bytes: 24 per element and rank)
cat >"$work/triad.c" <<'C'
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
  const long n = 1L << 24;
  int        size, rank;
  double    *a, *b, *c, best = 1e30;
  MPI_Init(&argc, &argv);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  a = malloc(n * sizeof *a), b = malloc(n * sizeof *b), c = malloc(n * sizeof *c);
  for (long i = 0; i < n; i++) a[i] = 0, b[i] = 1, c[i] = 2;
  for (int r = 0; r < 10; r++) {
    double t;
    MPI_Barrier(MPI_COMM_WORLD);
    t = MPI_Wtime();
    for (long i = 0; i < n; i++) a[i] = b[i] + 3.0 * c[i];
    t = MPI_Wtime() - t;
    MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (t < best) best = t;
  }
  if (a[n / 2] != 7) return 1;
  if (!rank) printf("%.3f\n", 24.0 * n * size / best / 1e9);
  MPI_Finalize();
  return 0;
}
C
mpicc -O2 -o "$work/triad" "$work/triad.c"
declare -A triad
for np in $ranks; do
  triad[$np]=$($mpiexec --allow-run-as-root --oversubscribe -n "$np" "$work/triad")
  echo "triad bandwidth, $np rank(s): ${triad[$np]} GB/s"
done

printf '%-8s %5s %-8s %8s %10s %10s %8s %8s %8s %8s %5s %7s %6s %5s %11s\n' voxels ranks pc porosity \
  unknowns tau setup_s solve_s wall_s cpu_s iters iter_s GB/s bw bytes/voxel
run() {  # run N NP
  local n=$1 np=$2 vol="$work/spheres$1.h5"
  [ -f "$vol" ] || "$tomocell" microstructure -size "$n,$n,$n" -porosity 0.4 -radius_m 6e-6 -radius_sd 0 \
    -seed 1 -output "$vol" >/dev/null
  [ -n "${triad[$np]:-}" ] || triad[$np]=$($mpiexec --allow-run-as-root --oversubscribe -n "$np" "$work/triad")
  start=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$work/time" $mpiexec --allow-run-as-root --oversubscribe -n "$np" "$tomocell" tortuosity "$vol" -direction x \
    ${solver:+-tau_solver "$solver"} ${pc:+-pc_type "$pc"} -output "$work/p.json" >"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
  end=$(date +%s.%N)
  /usr/bin/python3 - "$work/p.json" "$n" "$start" "$end" "$work/time" "${triad[$np]}" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); d = s["directions"]["x"]
wall = float(sys.argv[4]) - float(sys.argv[3])
cpu = sum(float(t) for t in open(sys.argv[5]).read().split()[-2:])
triad = float(sys.argv[6])
it = d.get("iteration_s")
gbs = d.get("traffic_GB_per_s")
print(f"{sys.argv[2]+'^3':<8s} {s['ranks']:5d} {d['pc_type']:<8s} {s['volume_fraction']:8.4f} {d['unknowns']:10d} "
      f"{d['tau']:10.6f} {d['setup_s']:8.2f} {d['solve_s']:8.2f} {wall:8.2f} {cpu:8.2f} {d['iterations']:5d} "
      + (f"{it:7.3f} " if it else f"{'-':>7s} ")
      + (f"{gbs:6.1f} {gbs / triad:5.0%} " if gbs else f"{'-':>6s} {'-':>5s} ")
      + f"{s['memory']['peak_rss_bytes_per_voxel']:11.1f}")
if gbs:
    print(f"{'':8s} counted traffic {d['traffic_bytes_per_voxel_iteration']:.0f} bytes per voxel and iteration; "
          f"triad {triad:.1f} GB/s")
PY
}
for n in $sizes; do
  for np in $ranks; do run "$n" "$np"; done
done
if [ "${BIG:-0}" = 1 ]; then run 500 2; fi
