#!/usr/bin/env bash
# Make the files the examples of README.md and docs/ use, with tomocell's own
# commands (and numpy/h5py/PIL of Debian's /usr/bin/python3 for the format
# conversions), in output/examples/ (or DIR):
#
#   tools/make-examples.sh [DIR]          # from the repository root, after tools/setup.sh (~30 s)
#
#   electrode.h5         synthetic cathode, 64 x 64 x 48 voxels of 0.5 um: 0 pore, 1 active, 2 binder
#   stack/               the same volume as a directory of 8-bit TIFF slices (no pixel size)
#   vol.raw              the same volume as raw uint8 (x fastest), 64,64,48
#   anode.h5             synthetic anode, 64 x 64 x 48 voxels of 1 um (0 pore, 1 active)
#   cathode.h5, cathode.props.json   a cathode and its tortuosity (tomocell tortuosity)
#   my_cell_bpx.json     a BPX parameter set (inputs/params/chen2020.json under another title)
#   roll_ct.h5           a grayscale CT slice of the 21700 of inputs/roll21700.yaml (geometry -render)
#   vol.h5               a labelled CT volume of it, 11 slices (1 Cu, 2 Al)
#   scan.h5              a grayscale slice of the 18650 of inputs/roll-18650-tabs-opposite-ends.yaml, 13 um pixels,
#                        without its pixel size (give -pixel_size)
#   ct.h5                a labelled slice of the same 18650, 20 um pixels (1 Cu, 2 Al)
#   seg.h5               a segmentation of it with labels 7 (Cu) and 3 (Al)
#   labscan.h5           a grayscale slice of that 18650 inside its steel can (18.4 mm outer
#                        diameter), 13 um pixels, without its pixel size (trace -preset 18650
#                        takes it from the can)
#   run/                 a coupled 1C run on the roll traced from ct.h5 (results.h5, ...; 3 layers)
#   xrdct.h5             an XRD-CT style temperature map of that run (tools/xrdct_from_run.py:
#                        +0.5 K bias, 0.2 K noise) at the snapshot nearest t = 900 s (946 s)
#   map.csv              that map as a CSV, 2x coarser (40 um pixels), rotated by
#                        12 degrees and shifted by (3, -1) pixels
#
# TOMOCELL=/path/to/tomocell picks another executable (default build/tomocell).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tc=${TOMOCELL:-$here/build/tomocell}
py=/usr/bin/python3
E=${1:-output/examples}
[ -x "$tc" ] || { echo "make-examples: no tomocell at $tc (run tools/setup.sh first)" >&2; exit 1; }
mkdir -p "$E"
t0=$(date +%s)
q() { echo "$(date +%T) $*" >>"$E/make-examples.log"; "$@" >"$E/make-examples.log.tmp" 2>&1 || { cat "$E/make-examples.log.tmp" >&2; exit 1; }; cat "$E/make-examples.log.tmp" >>"$E/make-examples.log"; }
: >"$E/make-examples.log"

# electrode volumes
q "$tc" microstructure -output "$E/electrode.h5" -size 64,64,48 -voxel_size 0.5e-6 -porosity 0.4 \
  -cbd_fraction 0.08 -radius_m 3e-6 -seed 3
q "$tc" microstructure -output "$E/anode.h5" -size 64,64,48 -voxel_size 1e-6 -porosity 0.35 -radius_m 6e-6 -seed 5
q "$tc" microstructure -output "$E/cathode.h5" -size 64,64,48 -voxel_size 1e-6 -porosity 0.3 \
  -cbd_fraction 0.05 -radius_m 5e-6 -seed 7
q "$tc" tortuosity "$E/cathode.h5" -direction z -output "$E/cathode.props.json"
"$py" - "$E" <<'PY'
import json, os, sys
import h5py, numpy as np
from PIL import Image
E = sys.argv[1]
v = h5py.File(os.path.join(E, "electrode.h5"), "r")["/exchange/data"][:]
os.makedirs(os.path.join(E, "stack"), exist_ok=True)
for k, s in enumerate(v):
    Image.fromarray(np.ascontiguousarray(s, dtype=np.uint8)).save(os.path.join(E, "stack", f"slice_{k:04d}.tif"))
v.astype(np.uint8).tofile(os.path.join(E, "vol.raw"))
here = os.path.dirname(os.path.dirname(os.path.abspath(sys.argv[0]))) if sys.argv[0] != "-" else None
PY
"$py" - "$here/inputs/params/chen2020.json" "$E/my_cell_bpx.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["Header"]["Title"] = "my cell (example: the Chen2020 LG M50 set)"
json.dump(d, open(sys.argv[2], "w"), indent=2)
PY

# jelly-roll CT
q "$tc" geometry "$here/inputs/roll21700.yaml" -render "$E/roll_ct.h5"
q "$tc" geometry "$here/inputs/roll21700.yaml" -render "$E/vol.h5" -render_mode labels -render_nz 11 \
  -render_pixel_size_m 20e-6
q "$tc" geometry "$here/inputs/roll-18650-tabs-opposite-ends.yaml" -render "$E/scan.h5" -render_mode gray \
  -render_pixel_size_m 13e-6 -render_noise 0.05
q "$tc" geometry "$here/inputs/roll-18650-tabs-opposite-ends.yaml" -render "$E/ct.h5" -render_pixel_size_m 20e-6 \
  -output "$E/true_net.h5"
"$py" - "$E" <<'PY'
import os, sys
import h5py, numpy as np
E = sys.argv[1]
# scan.h5 without its pixel size (as many scans come): trace needs -pixel_size
with h5py.File(os.path.join(E, "scan.h5"), "a") as f:
    for k in list(f["/exchange/data"].attrs):
        if "pixel" in k:
            del f["/exchange/data"].attrs[k]
    if "/measurement/instrument/detector/pixel_size" in f:
        del f["/measurement/instrument/detector/pixel_size"]
# seg.h5: the labelled slice with a segmentation's own numbers, 7 Cu and 3 Al
with h5py.File(os.path.join(E, "ct.h5"), "r") as f:
    lab = f["/exchange/data"][:]
    attrs = dict(f["/exchange/data"].attrs)
seg = np.zeros_like(lab)
seg[lab == 1], seg[lab == 2] = 7, 3
with h5py.File(os.path.join(E, "seg.h5"), "w") as f:
    d = f.create_dataset("/exchange/data", data=seg)
    for k, val in attrs.items():
        d.attrs[k] = val
PY
q "$tc" geometry "$here/inputs/roll-18650-tabs-opposite-ends.yaml" -render "$E/labscan_roll.h5" -render_mode gray \
  -render_pixel_size_m 13e-6 -render_nx 1500 -render_noise 0.05
"$py" - "$E" <<'PY'
import os, sys
import h5py, numpy as np
E = sys.argv[1]
# labscan.h5: the gray roll inside a steel can of 18.4 mm outer diameter (the 18650 preset's),
# 0.3 mm wall, drawn with its area coverage per pixel; no pixel size in the file
px = 13e-6
with h5py.File(os.path.join(E, "labscan_roll.h5"), "r") as f:
    a = f["/exchange/data"][0].astype(float)
ny, nx = a.shape
cx, cy = nx / 2, ny / 2
def coverage(R, ss=6):
    o = (np.arange(ss) + 0.5) / ss
    y, x = np.mgrid[0:ny, 0:nx].astype(float)
    cov = np.zeros((ny, nx))
    for dy in o:
        for dx in o:
            cov += np.hypot(x + dx - cx, y + dy - cy) <= R
    return cov / ss ** 2
rco = 9.2e-3 / px
rci = rco - 0.3e-3 / px
inside = coverage(rci)
wall = coverage(rco) - inside
rng = np.random.default_rng(5)
img = a * inside + 3.0 * wall + 0.05 * rng.standard_normal(a.shape) * (1 - inside)
with h5py.File(os.path.join(E, "labscan.h5"), "w") as f:
    f.create_dataset("/exchange/data", data=img[None].astype(np.float32))
os.remove(os.path.join(E, "labscan_roll.h5"))
PY

# a run on the traced roll and its "measured" map
q "$tc" trace "$E/ct.h5" -output "$E/net.h5"
q "$tc" run "$here/inputs/roll-18650-tabs-opposite-ends.yaml" -geometry "$E/net.h5" -network_nz 3 -plots false -output_interval_s 300 -output "$E/run"
# the snapshot nearest to 900 s (output_interval_s 300 s, at step ends); one map keeps
# the examples of compare quick (the registration fit is per map)
times=$("$py" -c 'import sys, h5py, numpy as np
t = h5py.File(sys.argv[1], "r")["/time_s"][:]
print(repr(float(t[np.argmin(abs(t - 900))])))' "$E/run/results.h5")
q "$py" "$here/tools/xrdct_from_run.py" "$E/ct.h5" "$E/run/results.h5" -o "$E/xrdct.h5" --times "$times" \
  --bias 0.5 --noise 0.2
"$py" - "$E" <<'PY'
import os, sys
import h5py, numpy as np
E = sys.argv[1]
with h5py.File(os.path.join(E, "xrdct.h5"), "r") as f:
    T = f["/xrdct/temperature_K"][0]          # the one map
    px = float(f["/xrdct"].attrs["pixel_size_m"])
ny, nx = T.shape
# a coarser map of the same slice in another frame: pixel (i, j) of the map, centred at X
# (pixel centres as tomocell: x = (i + 1/2 - n/2) px), sees the point R(12 deg) X + (3, -1) px
# of the scan, which is what compare's -register_rotation_deg 12 -register_shift_x_px 3
# -register_shift_y_px -1 undo; the value of the nearest scan pixel with one
f2 = 2
m = nx // f2
PX = px * f2
th = np.deg2rad(12.0)
sx, sy = 3 * PX, -1 * PX
i = (np.arange(m) + 0.5 - m / 2) * PX
X, Y = np.meshgrid(i, i)
xr = np.cos(th) * X - np.sin(th) * Y + sx
yr = np.sin(th) * X + np.cos(th) * Y + sy
ci = np.floor(xr / px + nx / 2).astype(int)
cj = np.floor(yr / px + ny / 2).astype(int)
out = np.full((m, m), np.nan)
ok = (ci >= 0) & (ci < nx) & (cj >= 0) & (cj < ny)
# the coarse pixel carries a value where any fine Cu pixel of its footprint does
vals = np.full((m, m), np.nan)
vals[ok] = T[cj[ok], ci[ok]]
for di in range(-1, 2):
    for dj in range(-1, 2):
        cii, cjj = np.clip(ci + di, 0, nx - 1), np.clip(cj + dj, 0, ny - 1)
        v = np.where(ok, T[cjj, cii], np.nan)
        vals = np.where(np.isnan(vals), v, vals)
with open(os.path.join(E, "map.csv"), "w") as f:
    for row in vals:
        f.write(",".join("" if np.isnan(v) else f"{v:.4f}" for v in row) + "\n")
PY
rm -f "$E/make-examples.log.tmp"
echo "make-examples: wrote electrode.h5, stack/, vol.raw, anode.h5, cathode.props.json, my_cell_bpx.json," \
  "roll_ct.h5, vol.h5, scan.h5, ct.h5, seg.h5, labscan.h5, run/, xrdct.h5, map.csv in $E/ ($(($(date +%s) - t0)) s)"
