#!/usr/bin/env bash
# Tracing benchmark (issue 5): a 2000 x 2000 slice and a 2000 x 2000 x NZ
# volume (NZ = 200 by default) of the example 21700 roll
# (inputs/roll21700.yaml, 10.5 um pixels), traced at 1 and 2 ranks (a volume's
# slices are distributed in blocks). Prints wall time of the whole command,
# the read+trace phase, the network build, and peak RSS (largest rank and sum
# over ranks) from the JSON summary. Target: a 2000 x 2000 slice under 1 s (issue 16).
#
#   bench/trace.sh                      # slice (labels, gray) + 200-slice volume
#   NZ=50 RANKS="1 2" bench/trace.sh    # smaller volume
#   SKIP_VOLUME=1 bench/trace.sh        # slices only
# The volume is rendered as uint8 labels (800 MB for 200 slices) in $BENCH_DIR
# (default: a temporary directory removed at the end).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tomocell=${TOMOCELL:-$here/build/tomocell}
ranks=${RANKS:-"1 2"}
nz=${NZ:-200}
mpiexec=${MPIEXEC:-mpiexec}
[ -x "$tomocell" ] || { echo "build first: tools/setup.sh" >&2; exit 1; }
work=${BENCH_DIR:-$(mktemp -d)}
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$work"' EXIT
deck=$here/inputs/roll21700.yaml
run() { $mpiexec --allow-run-as-root --oversubscribe -n "$1" "${@:2}"; }

echo "rendering test data in $work ..."
[ -f "$work/slice_gray.h5" ] || run 2 "$tomocell" geometry "$deck" -render "$work/slice_gray.h5" >/dev/null
[ -f "$work/slice_labels.h5" ] || run 2 "$tomocell" geometry "$deck" -render "$work/slice_labels.h5" -render_mode labels >/dev/null
if [ -z "${SKIP_VOLUME:-}" ] && [ ! -f "$work/volume_labels.h5" ]; then
  t0=$(date +%s.%N)
  run 2 "$tomocell" geometry "$deck" -render "$work/volume_labels.h5" -render_mode labels \
    -render_nz "$nz" -render_tilt_rad 0.01 >/dev/null
  echo "  rendered 2000 x 2000 x $nz labels in $(echo "$(date +%s.%N) - $t0" | bc) s (2 ranks)"
fi

printf '%-22s %5s %9s %11s %10s %12s %12s\n' input ranks wall_s read_trace_s network_s rss_max_MB rss_sum_MB
cases="slice_labels slice_gray"
[ -n "${SKIP_VOLUME:-}" ] || cases="$cases volume_labels"
for c in $cases; do
  for np in $ranks; do
    out="$work/${c}_np${np}_net.h5"
    t0=$(date +%s.%N)
    run "$np" "$tomocell" trace "$work/$c.h5" -output "$out" -trace_ds_m 2e-3 >"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
    wall=$(echo "$(date +%s.%N) - $t0" | bc)
    /usr/bin/python3 - "${out%.h5}.json" "$c" "$np" "$wall" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); t = s["timing_s"]; m = s["memory"]
print(f"{sys.argv[2]:<22s} {int(sys.argv[3]):5d} {float(sys.argv[4]):9.2f} {t['read_trace']:11.2f} {t['network']:10.2f} "
      f"{m['peak_rss_bytes_max_rank'] / 2**20:12.1f} {m['peak_rss_bytes_all_ranks'] / 2**20:12.1f}")
PY
  done
done
