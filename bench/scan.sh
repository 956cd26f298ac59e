#!/usr/bin/env bash
# From a real scan to a coupled run (issue 15): the LG MJ1 slice of
# ../shared/validation/realct traced and discharged at 1C with the thermal
# network, at 1 and 2 ranks, next to the synthetic 18650 of the same deck:
# mj1 traced by tomocell trace then run on the net.h5, mj1_in_run given to
# the run as its geometry (traced inside the run, trace time included).
# Prints, per case and rank count: trace wall time, run wall time (whole
# process, and its set-up and stepping from summary.json), elements,
# capacity and T_max.
#
#   bench/scan.sh                       # inputs/roll-18650-tabs-opposite-ends.yaml, network_ds_m 1 mm, 11 layers
#   DS=2e-3 NZ=5 RANKS="1 2" bench/scan.sh
# Needs ../shared/validation/realct beside the repository (real CT is not
# shipped).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tomocell=${TOMOCELL:-$here/build/tomocell}
ranks=${RANKS:-"1 2"}
ds=${DS:-1e-3}
nz=${NZ:-11}
mpiexec=${MPIEXEC:-mpiexec}
real=${REALCT:-$here/../shared/validation/realct}
deck=$here/inputs/roll-18650-tabs-opposite-ends.yaml
[ -x "$tomocell" ] || { echo "build first: tools/setup.sh" >&2; exit 1; }
[ -f "$real/mj1_jellybamm_cc_labels.h5" ] || { echo "no $real/mj1_jellybamm_cc_labels.h5" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { $mpiexec --allow-run-as-root --oversubscribe -n "$1" "${@:2}"; }
field() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split('.'): d=d[k]
print(d)" "$@"; }

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); deck $deck, ds $ds m, $nz layers"
printf '%-10s %5s %8s %8s %8s %9s %9s %10s %8s\n' case ranks trace_s run_s setup_s stepping_s elements capacity_Ah T_max_K
for np in $ranks; do
  for c in mj1 mj1_in_run synthetic; do
    geo=()
    tt=0
    if [ "$c" = mj1 ]; then
      t0=$(date +%s.%N)
      run "$np" "$tomocell" trace "$real/mj1_jellybamm_cc_labels.h5" -trace_cu_label 2 \
        -output "$work/mj1_net.h5" -png none >/dev/null
      tt=$(echo "$(date +%s.%N) - $t0" | bc)
      geo=(-geometry "$work/mj1_net.h5")
    elif [ "$c" = mj1_in_run ]; then
      geo=(-geometry "$real/mj1_jellybamm_cc_labels.h5" -trace_cu_label 2)
    fi
    out=$work/$c-$np
    t0=$(date +%s.%N)
    run "$np" "$tomocell" run "$deck" "${geo[@]}" -network_ds_m "$ds" -network_nz "$nz" \
      -plots false -output "$out" >/dev/null
    tr=$(echo "$(date +%s.%N) - $t0" | bc)
    s=$out/summary.json
    printf '%-10s %5s %8.2f %8.2f %8.2f %9.2f %9s %10.4f %8.2f\n' "$c" "$np" "$tt" "$tr" \
      "$(field "$s" timing_s.setup)" "$(field "$s" timing_s.stepping)" \
      "$(field "$s" network.elements)" "$(field "$s" capacity_Ah)" "$(field "$s" T_max_K)"
  done
done
