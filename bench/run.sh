#!/usr/bin/env bash
# Coupled jelly-roll benchmark (issue 8): wall time of full 1C discharges with
# thermal coupling, `tomocell run` job roll.
#
#   (a) the open reference size of Tranter et al. 2020: an 18650, two foils of
#       ~18 windings, nodes every ~10 degrees of winding (ds 0.87 mm at the
#       mean radius), one node layer: ~1,300 SPMe elements; at 1 and 2 ranks.
#   (b) full 3-D (BIG=1 only: a few minutes): a 21700 with 1 mm arc spacing
#       x 20 layers (30,420 elements), SPMe at 1 and 2 ranks (the speed-up),
#       and DFN at 2 ranks with DFN=1.
# Prints wall time (stepping, total), steps, Newton iterations, elements,
# peak RSS per element (summed over ranks), and from the TCElements log event
# (-log_view) the element evaluations per element per step (passes over the
# elements / steps tried), the time per element evaluation and the time in
# element evaluations (slowest rank), and an estimate of the fraction of one
# core's FP64 peak in them: FLOP_PER_UPDATE (default 5459, the SPMe update
# counted by bench/flops.sh; not for DFN: give its count) / (time per
# evaluation x peak), the peak as bench/flops.sh derives it (or
# PEAK_FLOP_PER_CYCLE x CLOCK_GHZ); an estimate, since the nested evaluations
# (converged element solves) cost more than one update. Last: the linear
# solves' preconditioner set-ups (Newton + thermal) and CG iterations per
# Newton solve (summary.json linear_solves).
#
#   bench/run.sh
#   BIG=1 bench/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${TC_BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
tomocell=$build/tomocell
mpiexec=${MPIEXEC:-mpiexec}
mpiflags=${MPIEXEC_FLAGS:---allow-run-as-root --oversubscribe}
[ -x "$tomocell" ] || { echo "build first: tools/setup.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

row() { # label ranks deck args...
  local label=$1 n=$2 deck=$3; shift 3
  local out="$work/$label-$n"
  if [ "$n" = 1 ]; then "$tomocell" run "$deck" -output "$out" -plots false -log_view ":$work/log-$n" "$@" >/dev/null
  else $mpiexec $mpiflags -n "$n" "$tomocell" run "$deck" -output "$out" -plots false -log_view ":$work/log-$n" "$@" >/dev/null; fi
  /usr/bin/python3 - "$out/summary.json" "$label" "$n" "$work/log-$n" <<'PY'
import json, os, sys
s = json.load(open(sys.argv[1]))
t, st, net, mem = s["timing_s"], s["steps"], s["network"], s["memory"]
# TCElements (-log_view): one pass over the elements, each evaluated once; max time over ranks
ev = [l.split() for l in open(sys.argv[4]) if l.startswith("TCElements ")][0]
calls, tmax, ranks = int(ev[1]), float(ev[3]), int(sys.argv[3])
steps = st["accepted"] + st["rejected"]
per_step = calls / max(steps, 1)
us_eval = 1e6 * tmax / max(calls * net["elements"] / ranks, 1)
# one core's FP64 peak, as bench/flops.sh: 2 FMA x 2 x lanes (16 for an AMD AVX-512 core) x clock
info = open("/proc/cpuinfo").read()
flags = (info.split("flags", 1)[1].split("\n", 1)[0] + " ") if "flags" in info else ""
lanes = 8 if " avx512f " in flags else 4 if " avx2 " in flags else 2
fpc = float(os.environ.get("PEAK_FLOP_PER_CYCLE") or
            (4 if lanes == 2 else 16 if lanes == 8 and "AuthenticAMD" in info else 4 * lanes))
mhz = max(float(l.split(":")[1]) for l in info.splitlines() if l.startswith("cpu MHz"))
ghz = float(os.environ.get("CLOCK_GHZ") or mhz / 1000)
flop = os.environ.get("FLOP_PER_UPDATE") or ("5459" if s["model"] == "spme" else "")
peak = f"{100 * float(flop) / (us_eval * 1e3 * fpc * ghz):>7.1f}%" if flop and us_eval > 0 else "    n/a"
# the linear solves (summary.json linear_solves): preconditioner set-ups (Newton + thermal) and
# CG iterations per Newton solve
ls = s.get("linear_solves", {})
pcs = f"{ls['newton_pc_setups']}+{ls['thermal_pc_setups']}" if ls else "n/a"
cg = f"{ls['newton_iterations'] / max(ls['newton_solves'], 1):.2f}" if ls else "n/a"
print(f"{sys.argv[2]:<22} {sys.argv[3]:>5} {net['elements']:>8} {s['model']:>5} {t['stepping']:>10.2f} "
      f"{t['total']:>9.2f} {st['accepted']:>6} {st['newton_its']:>7} {s['capacity_Ah']:>8.4f} "
      f"{s['T_max_K']:>8.2f} {mem['peak_rss_bytes_per_element']:>10.0f} {per_step:>10.2f} "
      f"{us_eval:>8.2f} {tmax:>9.2f} {peak} {pcs:>9} {cg:>6}")
PY
}

printf '%-22s %5s %8s %5s %10s %9s %6s %7s %8s %8s %10s %10s %8s %9s %8s %9s %6s\n' case ranks elements model stepping_s total_s steps newton capacity T_max_K B/element evals/el/st us/eval elements_s %peak_est pc_setups cg/its
cat >"$work/tranter.yaml" <<'YAML'
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
experiment: "Discharge at 1C until 2.5 V"
YAML
for n in 1 2; do row "18650-Tranter2020" $n "$work/tranter.yaml"; done
if [ "${BIG:-0}" = 1 ]; then
  cat >"$work/big.yaml" <<'YAML'
job: roll
preset: 21700
tab:
  cu: end
  al: start
network:
  ds_m: 1e-3
  nz: 20
model: spme
thermal: network
experiment: "Discharge at 1C until 2.5 V"
YAML
  for n in 1 2; do row "21700-1mm-x20" $n "$work/big.yaml"; done
  if [ "${DFN:-0}" = 1 ]; then row "21700-1mm-x20" 2 "$work/big.yaml" -model dfn; fi
fi
