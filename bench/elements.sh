#!/usr/bin/env bash
# The coupled solver's element work (issue 18), counted: callgrind's
# instruction counts (independent of the machine's load) in ElementsEvaluate
# over a short Tranter-size run (bench/run.sh case (a): 1,314 SPMe elements,
# one node layer, 2 minutes at 1C, 1 rank), split into the converged element
# solves of the nested path (consistent starts, nested Newton:
# TCCellStepGuessBatch, or TCCellStepGuess one element at a time) and the
# batched Newton updates (TCCellStepUpdateBatch); the CPU time (user + sys,
# not wall) of the same short run, best of REPS (default 5) runs, with the
# load average seen; and whether the short run and a whole 1C discharge of
# the case give the same bits as the first row (summary.csv and every
# results.h5 dataset). Last, the converged solve alone (test_cell kernel
# guess|guess1: 64 roll elements, each from its solve 1 mV away, 3 Newton
# iterations): CPU time per solve, batched and one at a time, best of 5.
#
# Rows: this build (nested solves batched), this build with
# -element_nested_batch false (one at a time: the same bits), and with
# BASE=/path/to/tomocell another build (e.g. main's, before the change; run
# with its defaults). Each run's summary.csv and results.h5 datasets are
# compared with the first row's: "same bits" or what differs. Columns:
# elements_G, nested_G, updates_G: G instructions in ElementsEvaluate, in
# the nested solves, in the batched updates; solves: nested element solves
# (TCCellStepGuess calls; the batched ones that converged -- all of them in a
# run that goes on); k_instr/s: thousand instructions per element solve.
#
#   bench/elements.sh
#   BASE=/work/main/build/tomocell REPS=5 bench/elements.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${TC_BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
tomocell=$build/tomocell
reps=${REPS:-5}
[ -x "$tomocell" ] || { echo "build first: tools/setup.sh" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

deck() { # experiment
  cat <<YAML
job: roll
preset: 18650
tab:
  cu: end
  al: start
network:
  ds_m: 0.87e-3
  nz: 1
model: spme
thermal: network
plots: false
experiment: "$1"
YAML
}
deck "Discharge at 1C for 2 minutes" >"$work/short.yaml"
deck "Discharge at 1C until 2.5 V" >"$work/full.yaml"

row() { # label tomocell args...
  local label=$1 tc=$2; shift 2
  local tag=${label//[^A-Za-z0-9]/_}
  valgrind --tool=callgrind --toggle-collect=ElementsEvaluate \
    --callgrind-out-file="$work/cg.$tag" "$tc" run "$work/short.yaml" -output "$work/short.$tag" \
    "$@" >/dev/null 2>&1
  callgrind_annotate --inclusive=yes --tree=calling "$work/cg.$tag" >"$work/ann.$tag" 2>/dev/null
  "$tc" run "$work/full.yaml" -output "$work/full.$tag" "$@" >/dev/null 2>&1
  local best="" load
  for _ in $(seq "$reps"); do
    rm -rf "$work/cpu.$tag"
    /usr/bin/time -f "%U %S" -o "$work/time" "$tc" run "$work/short.yaml" -output "$work/cpu.$tag" \
      "$@" >/dev/null 2>&1
    best=$(/usr/bin/python3 -c "import sys; u, s = map(float, open(sys.argv[1]).read().split()[-2:]);
b = sys.argv[2]; print(f'{u + s:.2f}' if not b or u + s < float(b) else b)" "$work/time" "$best")
  done
  load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/python3 - "$work/ann.$tag" "$label" "$best" "$load" "$work/short.$first" \
    "$work/short.$tag" "$work/full.$first" "$work/full.$tag" <<'PY'
import os, re, sys
import h5py
import numpy as np

ann, label, cpu, load = sys.argv[1:5]
num = lambda s: int(s.replace(",", ""))
incl, calls, cur = {}, {}, None
for line in open(ann):
    m = re.match(r"\s*([\d,]+) \([^)]*\)\s+([*>]?)\s*\S*:(\w+)(?:\.\w+)*\s*(?:\(([\d,]+)x\))?", line)
    if not m:
        continue
    n, mark, fn, cnt = num(m.group(1)), m.group(2), m.group(3), m.group(4)
    if mark == "*":
        cur = fn
        incl[fn] = n
    elif mark == ">" and cur and cnt:
        calls[(cur, fn)] = calls.get((cur, fn), 0) + num(cnt)
    elif not mark:
        incl.setdefault(fn, n)
total = incl.get("ElementsEvaluate", 0)
guess = incl.get("TCCellStepGuessBatch", 0) + incl.get("TCCellStepGuess", 0)
# element solves: the single ones called, the batched ones that converged (all, in a run that went on)
solves = calls.get(("ElementsEvaluate", "TCCellStepGuess"), 0) + calls.get(("TCCellStepGuessBatch", "FillResult"), 0)
upd = incl.get("TCCellStepUpdateBatch", 0)


def same(a, b):
    if a == b:
        return "(reference)"
    if open(os.path.join(a, "summary.csv"), "rb").read() != open(os.path.join(b, "summary.csv"), "rb").read():
        return "summary.csv DIFFERS"
    bad = []
    with h5py.File(os.path.join(a, "results.h5"), "r") as x, h5py.File(os.path.join(b, "results.h5"), "r") as y:
        def walk(name, obj):
            if isinstance(obj, h5py.Dataset) and (name not in y or not np.array_equal(obj[()], y[name][()], equal_nan=True)):
                bad.append(name)
        x.visititems(walk)
    return "same bits" if not bad else "DIFFERS: " + ", ".join(bad[:3])


print(f"{label:<34} {total / 1e9:>9.3f} {guess / 1e9:>9.3f} {solves:>7} "
      f"{guess / max(solves, 1) / 1e3:>9.1f} {upd / 1e9:>9.3f} {cpu:>8} {load:>5}  "
      f"{same(sys.argv[5], sys.argv[6])}, {same(sys.argv[7], sys.argv[8])}")
PY
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
printf '%-34s %9s %9s %7s %9s %9s %8s %5s  %s\n' build elements_G nested_G solves k_instr/s updates_G cpu_s load \
  "bits (short run, 1C discharge)"
first=this_build
row "this build" "$tomocell"
row "this build, -element_nested_batch false" "$tomocell" -element_nested_batch false
if [ -n "${BASE:-}" ]; then row "BASE $BASE" "$BASE"; fi
for mode in guess guess1; do
  "$build/tests/test_cell" kernel 64 400 "$mode" | sed 's/^/  /'
done
