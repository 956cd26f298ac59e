#!/usr/bin/env bash
# Cell-model benchmark (issue 4): wall time of a full 1C discharge of Chen2020
# to 2.5 V with `tomocell cell` for SPM, SPMe and DFN (PyBaMM's default mesh:
# 20 cells per region and per particle; best of REPEATS runs, since the
# 2-core development machine is shared), next to PyBaMM's times for the same
# runs when ../shared/validation/pybamm/summaries is there; then the cost of
# one element step (us per implicit step, from a state half-way through a 1C
# discharge, dt 10 s, at fixed current and at fixed terminal voltage, which
# is how the coupled network solver drives elements) and the element state
# size, at the default mesh and at a coarse mesh (5 cells per region, 10
# shells) for network use.
#
#   bench/cell.sh                 # uses build/
#   TC_BUILD_DIR=build-rel REPEATS=10 bench/cell.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${TC_BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
tomocell=$build/tomocell
test_cell=$build/tests/test_cell
repeats=${REPEATS:-5}
[ -x "$tomocell" ] && [ -x "$test_cell" ] || { echo "build first: tools/setup.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
summ="$here/../shared/validation/pybamm/summaries"

echo "1C discharge of Chen2020 to 2.5 V (isothermal, 20-point meshes), best of $repeats runs:"
printf '%-6s %10s %8s %11s %14s %15s\n' model wall_s steps capacity_Ah pybamm_solve_s pybamm_speedup
for m in spm spme dfn; do
  best=""
  for r in $(seq "$repeats"); do
    "$tomocell" cell -params chen2020 -model "$m" -experiment "Discharge at 1C until 2.5 V" \
      -output "$work/$m.csv" >"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
    w=$(sed -n 's/.*), \([0-9.]*\) s wall.*/\1/p' "$work/log")
    best=$(/usr/bin/python3 -c "print(min(float('$w'), float('${best:-1e30}')))")
  done
  steps=$(sed -n 's/^ *\([0-9]*\) steps.*/\1/p' "$work/log")
  cap=$(sed -n 's/^summary: capacity \([0-9.]*\) Ah.*/\1/p' "$work/log")
  ref="n/a"; speed="n/a"
  if [ -f "$summ/${m}_chen2020_1C_iso.json" ]; then
    ref=$(/usr/bin/python3 -c "import json; print(json.load(open('$summ/${m}_chen2020_1C_iso.json'))['timing']['solve_s'])")
    speed=$(/usr/bin/python3 -c "print('%.1fx' % (float('$ref') / float('$best')))")
  fi
  printf '%-6s %10.4f %8s %11s %14s %15s\n' "$m" "$best" "$steps" "$cap" "$ref" "$speed"
done
echo
echo "element step cost (us per implicit step; state bytes per element):"
"$test_cell" bench 20 20
"$test_cell" bench 5 10
