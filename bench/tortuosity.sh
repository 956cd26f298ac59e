#!/usr/bin/env bash
# Tortuosity benchmark: two-phase sphere packs (overlapping spheres of radius
# 6 voxels, porosity 0.4, made by `tomocell microstructure`) of 100^3, 200^3
# and 300^3 voxels, solved in x at 1 and 2 ranks. Prints the preconditioner,
# tau, the solve set-up and solve times, total wall time, iterations and peak
# memory per voxel (sum of the ranks' peak RSS, including MPI/PETSc start-up,
# over the box voxels), and the CPU time of all ranks (user + system, from
# /usr/bin/time): on a shared machine wall time depends on the load, CPU
# time much less.
#
#   bench/tortuosity.sh                         # all sizes, default solver (mf; 300^3 ~1.7 GB)
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

printf '%-8s %5s %-8s %8s %10s %10s %9s %9s %9s %9s %6s %11s\n' voxels ranks pc porosity unknowns tau setup_s solve_s wall_s cpu_s iters bytes/voxel
for n in $sizes; do
  vol="$work/spheres$n.h5"
  "$tomocell" microstructure -size "$n,$n,$n" -porosity 0.4 -radius_m 6e-6 -radius_sd 0 \
    -seed 1 -output "$vol" >/dev/null
  for np in $ranks; do
    start=$(date +%s.%N)
    /usr/bin/time -f "%U %S" -o "$work/time" $mpiexec --allow-run-as-root --oversubscribe -n "$np" "$tomocell" tortuosity "$vol" -direction x \
      ${solver:+-tau_solver "$solver"} ${pc:+-pc_type "$pc"} -output "$work/p.json" >"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
    end=$(date +%s.%N)
    /usr/bin/python3 - "$work/p.json" "$n" "$start" "$end" "$work/time" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); d = s["directions"]["x"]
wall = float(sys.argv[4]) - float(sys.argv[3])
cpu = sum(float(t) for t in open(sys.argv[5]).read().split()[-2:])
print(f"{sys.argv[2]+'^3':<8s} {s['ranks']:5d} {d['pc_type']:<8s} {s['volume_fraction']:8.4f} {d['unknowns']:10d} "
      f"{d['tau']:10.6f} {d['setup_s']:9.2f} {d['solve_s']:9.2f} {wall:9.2f} {cpu:9.2f} {d['iterations']:6d} "
      f"{s['memory']['peak_rss_bytes_per_voxel']:11.1f}")
PY
  done
done
