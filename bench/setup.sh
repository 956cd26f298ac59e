#!/usr/bin/env bash
# Set-up cost of the coupled roll against its size (issue 18): a 21700 at 1 mm
# arc spacing with 2, 5, 10 and 20 node layers (SPMe, network thermal), one
# 10-s step; prints nodes, elements, set-up wall time (network build,
# partition, element set-up, matrix preallocation and assembly: summary.json
# timing_s.setup) and set-up time per node, which stays flat when the set-up is
# linear in the node count. With BASE=<build dir of an older tree> it prints
# the same for that build beside. Then the same per node for the foil sheet
# network at 4 sizes (9 k to 580 k nodes).
#
#   bench/setup.sh            # 1 rank
#   RANKS=2 bench/setup.sh
#   LAYERS="2 5" FOIL=1 bench/setup.sh   # smaller rolls; FOIL=0: no foil table
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${TC_BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
mpiexec=${MPIEXEC:-mpiexec}
mpiflags=${MPIEXEC_FLAGS:---allow-run-as-root --oversubscribe}
ranks=${RANKS:-1}
layers=${LAYERS:-2 5 10 20}
[ -x "$build/tomocell" ] || { echo "build first: tools/setup.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "set-up of a 21700, ds 1 mm, SPMe + network thermal, $ranks rank(s); load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-10s %6s %8s %9s %9s %13s\n' build layers nodes elements setup_s setup_us/node
for b in "$build" ${BASE:+"$BASE"}; do
  for nz in $layers; do
    cat >"$work/d.yaml" <<YAML
job: roll
preset: 21700
tab:
  cu: end
  al: start
network:
  ds_m: 1e-3
  nz: $nz
model: spme
thermal: network
plots: false
experiment: "Discharge at 1C for 10 seconds"
YAML
    out="$work/o$nz"
    if [ "$ranks" = 1 ]; then "$b/tomocell" run "$work/d.yaml" -output "$out" -dt_fixed_s 10 >/dev/null
    else $mpiexec $mpiflags -n "$ranks" "$b/tomocell" run "$work/d.yaml" -output "$out" -dt_fixed_s 10 >/dev/null; fi
    /usr/bin/python3 - "$out/summary.json" "$nz" "$([ "$b" = "$build" ] && echo this || echo base)" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
n = s["network"]
nodes = (n["cu_nodes_per_layer"] + n["al_nodes_per_layer"]) * n["layers"]
t = s["timing_s"]["setup"]
print(f"{sys.argv[3]:<10} {sys.argv[2]:>6} {nodes:>8} {n['elements']:>9} {t:>9.3f} {1e6 * t / nodes:>13.1f}")
PY
  done
done

# the foil sheet network (job foil, inputs/foil_demo.yaml) at 4 sizes: build,
# partition and distribute, preallocate and assemble (summary.json timing_s),
# per node; FOIL=0 skips it
if [ "${FOIL:-1}" = 1 ]; then
  echo
  echo "set-up of the foil sheet network (inputs/foil_demo.yaml), $ranks rank(s); load $(cut -d' ' -f1 /proc/loadavg)"
  printf '%-10s %11s %8s %9s %11s %11s %9s %13s\n' build ns_x_nz nodes build_s partition_s assemble_s setup_s setup_us/node
  for b in "$build" ${BASE:+"$BASE"}; do
    for sz in "301 31" "601 61" "1201 121" "2401 241"; do
      set -- $sz
      out="$work/f$1"
      if [ "$ranks" = 1 ]; then "$b/tomocell" run "$here/inputs/foil_demo.yaml" -output "$out" -foil_ns "$1" -foil_nz "$2" >/dev/null
      else $mpiexec $mpiflags -n "$ranks" "$b/tomocell" run "$here/inputs/foil_demo.yaml" -output "$out" -foil_ns "$1" -foil_nz "$2" >/dev/null; fi
      /usr/bin/python3 - "$out/summary.json" "$1x$2" "$([ "$b" = "$build" ] && echo this || echo base)" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
t, nodes = s["timing_s"], s["network"]["nodes"]
setup = t["build"] + t["partition_distribute"] + t["assemble"]
print(f"{sys.argv[3]:<10} {sys.argv[2]:>11} {nodes:>8} {t['build']:>9.4f} {t['partition_distribute']:>11.4f} "
      f"{t['assemble']:>11.4f} {setup:>9.4f} {1e6 * setup / nodes:>13.2f}")
PY
    done
  done
fi
