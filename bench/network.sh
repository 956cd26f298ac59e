#!/usr/bin/env bash
# Network-core benchmark: foil sheet networks of 1000x1000 and 2000x2000 nodes
# (the demo foil, 0.6 m x 0.06 m, so the grid is anisotropic like a real
# current collector) at 1 and 2 ranks, with the default CG + GAMG and with
# CG + hypre BoomerAMG. Prints partition, assembly, solver set-up and solve
# times, iterations and peak memory per node (sum of the ranks' peak RSS,
# including MPI/PETSc start-up, divided by the node count).
#
#   bench/network.sh                  # all sizes (needs ~8 GiB and a few minutes)
#   SIZES="500 1000" RANKS="1 2" bench/network.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tomocell=${TOMOCELL:-$here/build/tomocell}
sizes=${SIZES:-"1000 2000"}
ranks=${RANKS:-"1 2"}
pcs=${PCS:-"gamg hypre"}
mpiexec=${MPIEXEC:-mpiexec}
[ -x "$tomocell" ] || { echo "build first: tools/setup.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '%-11s %5s %-6s %9s %9s %9s %9s %9s %6s %10s\n' nodes ranks pc part_s assem_s setup_s solve_s total_s iters bytes/node
for n in $sizes; do
  for np in $ranks; do
    for pc in $pcs; do
      out="$work/s${n}_${np}_${pc}"
      $mpiexec --allow-run-as-root --oversubscribe -n "$np" "$tomocell" run "$here/inputs/demo.yaml" \
        -foil_ns "$n" -foil_nz "$n" -pc_type "$pc" -output "$out" >"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
      /usr/bin/python3 - "$out/summary.json" "$pc" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); t = s["timing_s"]
print(f"{s['network']['nodes']:<11d} {s['ranks']:5d} {sys.argv[2]:<6s} {t['partition_distribute']:9.2f} {t['assemble']:9.2f} "
      f"{t['solver_setup']:9.2f} {t['solve']:9.2f} {t['total']:9.2f} {s['solver']['iterations']:6d} "
      f"{s['memory']['peak_rss_bytes_per_node']:10.0f}")
PY
      rm -rf "$out"
    done
  done
done
