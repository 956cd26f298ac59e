#!/usr/bin/env bash
# Start-up tax (issue 18): a whole one-cell `tomocell cell` process (SPM,
# Chen2020, 1C discharge to 2.5 V: the solve itself takes ~10 ms), best and
# median wall time of REPEATS runs and mean CPU time (task-clock), with
# tomocell's Open MPI defaults (src/main.c: yield when idle; singleton without
# a daemon, self transport only) and without them (TC_MPI_DEFAULTS=0: Open
# MPI's own). COMPETE=1 adds a 2-rank coupled roll (18650, ds 2 mm, SPMe,
# network thermal, 5 minutes at 1C) quiet and next to one competing busy
# process, bound to cores (mpiexec's default at 2 ranks) or not, with and
# without yielding (tomocell's default: yield only when not bound). Last, a
# sweep of SWEEP_TASKS (40) one-cell tasks, -local -jobs 2, with in-process
# workers and with one process per task (-in_process false).
#
#   bench/startup.sh
#   REPEATS=20 COMPETE=1 bench/startup.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${TC_BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
tomocell=$build/tomocell
mpiexec=${MPIEXEC:-mpiexec}
mpiflags=${MPIEXEC_FLAGS:---allow-run-as-root}
repeats=${REPEATS:-10}
[ -x "$tomocell" ] || { echo "build first: tools/setup.sh" >&2; exit 1; }
work=$(mktemp -d)
hog=""
trap '[ -n "$hog" ] && kill "$hog" 2>/dev/null; rm -rf "$work"' EXIT

stats() { # label: reads "wall cpu" lines
  /usr/bin/python3 -c "
import sys, statistics as st
w, c = zip(*[map(float, l.split()) for l in sys.stdin if l.strip()])
print(f'{sys.argv[1]:<34} {min(w):>8.3f} {st.median(w):>8.3f} {st.mean(c):>8.3f}')" "$1"
}
echo "machine load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores; $repeats runs each"
printf '%-34s %8s %8s %8s\n' "one-cell tomocell cell" best_s median_s cpu_s
for mode in defaults TC_MPI_DEFAULTS=0; do
  for r in $(seq "$repeats"); do
    env ${mode/defaults/TC_MPI_DEFAULTS=1} /usr/bin/time -f "%e %U %S" -o "$work/t" "$tomocell" cell \
      -params chen2020 -model spm -experiment "Discharge at 1C until 2.5 V" -output "$work/c.csv" >/dev/null
    awk '{print $1, $2 + $3}' "$work/t"
  done | stats "$mode"
done
if [ "${COMPETE:-0}" = 1 ]; then
  cat >"$work/r.yaml" <<'YAML'
job: roll
preset: 18650
tab:
  cu: end
  al: start
network:
  ds_m: 2e-3
  nz: 1
model: spme
thermal: network
plots: false
experiment: "Discharge at 1C for 5 minutes"
YAML
  echo
  printf '%-34s %8s %8s %8s\n' "2-rank roll (18650, ds 2 mm)" best_s median_s cpu_s
  for hogging in 0 1; do
    if [ "$hogging" = 1 ]; then (while :; do :; done) & hog=$!; fi
    for cfg in "core 0" "core 1" "none 0" "none 1"; do
      set -- $cfg
      for r in 1 2 3; do
        env OMPI_MCA_mpi_yield_when_idle=$2 /usr/bin/time -f "%e %U %S" -o "$work/t" \
          $mpiexec $mpiflags --bind-to $1 -n 2 "$tomocell" run "$work/r.yaml" -output "$work/o" >/dev/null
        awk '{print $1, $2 + $3}' "$work/t"
      done | stats "$([ $hogging = 1 ] && echo "1 busy proc" || echo quiet), bind $1, yield $2"
    done
    if [ -n "$hog" ]; then kill "$hog"; wait "$hog" 2>/dev/null || true; hog=""; fi
  done
fi
# a sweep of one-cell tasks: in-process workers against one process per task
cat >"$work/s.yaml" <<YAML
sweep:
  command: cell
  output: $work/sweep
parameters:
  ambient_temperature: {from: 280, to: 320, num: ${SWEEP_TASKS:-40}}
  model: [spm]
  params: [chen2020]
  experiment: ["Discharge at 1C until 2.5 V"]
YAML
echo
printf '%-34s %8s %8s\n' "sweep -local -jobs 2, ${SWEEP_TASKS:-40} tasks" wall_s ms/task
for ip in true false; do
  rm -rf "$work/sweep"
  /usr/bin/time -f "%e" -o "$work/t" "$tomocell" sweep "$work/s.yaml" -local -jobs 2 -in_process $ip >/dev/null
  awk -v n="${SWEEP_TASKS:-40}" -v l="-in_process $ip" '{printf "%-34s %8.2f %8.1f\n", l, $1, 1000 * $1 / n}' "$work/t"
done
