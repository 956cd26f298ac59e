#!/usr/bin/env bash
# FP64 operations and fraction of peak of one SPMe element update (issue 18):
# the roll's element (Chen2020, 8/4/8 cells, 20 shells per particle, voltage
# control, one Newton update as the coupled solver makes it), batched
# (TCCellStepUpdateBatch, blocks of NB elements) and one element at a time
# (TCCellStepUpdate).
#
#   FP64 ops/update   counted, not estimated: callgrind executes NREP_CG
#                     blocks (--dump-instr=yes, only inside the update loop)
#                     and bench/fpcount.py weights every executed instruction
#                     by its FP64 operations (objdump; *sd 1, *pd 2/4/8 by
#                     register width, FMA twice; libm's log/exp included).
#                     Valgrind runs the AVX2 clone of the kernels (it has no
#                     AVX-512); the operation count does not depend on the
#                     vector width.
#   %vector           the share of those in packed (vector) instructions
#   us/update         CPU time (not wall) per update, best of 5 runs of NREP
#                     blocks, natively (the AVX-512 clone where the CPU has
#                     it). On a shared machine this still moves with the load
#                     (caches, frequency); the load average is printed.
#   GFLOP/s, % peak   ops/update / us/update against the FP64 peak of one
#                     core: FLOP/cycle x clock, FLOP/cycle = 2 FMA units x
#                     2 x the vector lanes of the widest ISA in /proc/cpuinfo
#                     (avx512f: 8, avx2+fma: 4, else 2 lanes and no FMA) --
#                     32 for an Intel AVX-512 server core (2 x 512-bit FMA);
#                     an AMD Zen 4 core runs AVX-512 on 2 x 256-bit FMA pipes,
#                     16; override with PEAK_FLOP_PER_CYCLE. Clock: the
#                     largest "cpu MHz" in /proc/cpuinfo (CLOCK_GHZ overrides).
#   B/element         the element's state (kept twice: committed and trial)
#                     plus its sensitivity; B moved/update: state_old read,
#                     iterate read and written, sensitivity written.
#
#   bench/flops.sh
#   NB=64 NREP=2000 NREP_CG=20 bench/flops.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${TC_BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
test_cell=$build/tests/test_cell
nb=${NB:-64}
nrep=${NREP:-1000}
nrep_cg=${NREP_CG:-10}
[ -x "$test_cell" ] || { echo "build first: tools/setup.sh" >&2; exit 1; }
command -v valgrind >/dev/null && command -v objdump >/dev/null ||
  { echo "bench/flops.sh needs valgrind and objdump (apt-get install valgrind binutils)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

vendor=$(sed -n 's/^vendor_id[[:space:]]*: //p' /proc/cpuinfo | head -1)
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
flags=$(sed -n 's/^flags[[:space:]]*: //p' /proc/cpuinfo | head -1)
mhz=$(sed -n 's/^cpu MHz[[:space:]]*: //p' /proc/cpuinfo | sort -g | tail -1)
ghz=${CLOCK_GHZ:-$(/usr/bin/python3 -c "print(round($mhz / 1000, 3))")}
case " $flags " in
  *" avx512f "*) lanes=8; isa=AVX-512 ;;
  *" avx2 "*) lanes=4; isa=AVX2 ;;
  *) lanes=2; isa=SSE2 ;;
esac
if [ -n "${PEAK_FLOP_PER_CYCLE:-}" ]; then fpc=$PEAK_FLOP_PER_CYCLE
elif [ "$lanes" = 2 ]; then fpc=4 # an add and a multiply pipe, 2 lanes, no FMA
elif [ "$lanes" = 8 ] && [ "$vendor" = AuthenticAMD ]; then fpc=16 # Zen 4: AVX-512 on 2 x 256-bit FMA
else fpc=$((2 * 2 * lanes)); fi
echo "CPU: $model ($vendor), widest FP64 vectors: $isa ($lanes lanes); peak of one core:" \
     "$fpc FLOP/cycle x $ghz GHz = $(/usr/bin/python3 -c "print(round($fpc * $ghz, 1))") GFLOP/s"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "element: SPMe, Chen2020, 8/4/8 cells, 20 shells, one Newton update at fixed voltage; blocks of $nb"
printf '%-7s %14s %9s %14s %11s %9s %8s %10s %13s\n' mode fp64_ops/upd %vector instr/upd us/update GFLOP/s %peak B/element B_moved/upd
for mode in batch single; do
  valgrind --tool=callgrind --dump-instr=yes --compress-strings=no --compress-pos=no \
    --toggle-collect=KernelRun --callgrind-out-file="$work/cg.$mode" \
    "$test_cell" kernel "$nb" "$nrep_cg" "$mode" >"$work/cg.$mode.log" 2>&1 ||
    { cat "$work/cg.$mode.log"; exit 1; }
  /usr/bin/python3 "$here/bench/fpcount.py" "$work/cg.$mode" >"$work/fp.$mode"
  "$test_cell" kernel "$nb" "$nrep" "$mode" >"$work/t.$mode"
  /usr/bin/python3 - "$work/fp.$mode" "$work/t.$mode" "$mode" "$nb" "$nrep_cg" "$fpc" "$ghz" <<'PY'
import re, sys
fp = dict(l.split()[:2] for l in open(sys.argv[1])
          if l.split() and l.split()[0] in ("fp64_ops", "fp64_ops_packed", "instructions"))
t = open(sys.argv[2]).read()
mode, nb, nrep_cg, fpc, ghz = sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
n = 5 * nb * nrep_cg  # KernelRun runs 5 times (best of 5) under callgrind too
ops, ins = int(fp["fp64_ops"]) / n, int(fp["instructions"]) / n
us = float(re.search(r"([0-9.]+) us CPU per update", t).group(1))
state = int(re.search(r"state (\d+) bytes", t).group(1))
sens = int(re.search(r"sensitivity (\d+) bytes", t).group(1))
gf = ops / us / 1e3
vec = 100 * int(fp["fp64_ops_packed"]) / max(int(fp["fp64_ops"]), 1)
print(f"{mode:<7} {ops:>14.0f} {vec:>8.0f}% {ins:>14.0f} {us:>11.3f} {gf:>9.2f} {100 * gf / (fpc * ghz):>7.1f}% "
      f"{2 * state + sens:>10d} {3 * state + sens:>13d}")
PY
done
