#!/usr/bin/python3
"""The pixel size from the can, for a scan that does not state it: the
synthetic roll (tests/roll/small.yaml in gray, noise 0.05, 10 um pixels)
inside a steel can drawn with its area coverage per pixel (8 x 8
sub-samples), blurred (Gaussian, 0.8 px) and noisy like the roll, its
centre 1.3, -0.8 px off the roll's and its outer radius 19.37 px outside
the roll's (a radius that is no whole or half pixel), and a dim ring
outside it; the file has no pixel size.

usage: test_trace_can_pixel.py TOMOCELL [MPIEXEC ARGS...]

Checks:
  * -can_diameter_m D with D the drawn can at 10 um: the pixel recovered
    within 0.1 % (summary pixel_size_source "can", can.diameter_px within
    0.1 % of the drawn diameter), and the trace then matches the
    generator's truth in metres as with the pixel given (length within 1 %,
    turns within 0.02, radii within 1 px: test_trace_gray_can.py's limits);
  * -preset 18650 and -preset 21700: pixel = 18.4 mm (21.2 mm) over the
    drawn diameter, within 0.1 %; the deck key trace_can_diameter_m (what
    tomocell run reads) as -can_diameter_m;
  * a pixel size in the file wins over the can (pixel_size_source "file");
  * errors, one line, exit 1, no output: no pixel size and no can option
    (names -can_diameter_m and -preset); -can_diameter_m on a labelled
    image (no can to measure) and on a gray image without a can.
"""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
from scipy.ndimage import gaussian_filter

HERE = os.path.dirname(os.path.abspath(__file__))
PX = 10e-6


def run(cmd, cwd, ok=True):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    if ok and r.returncode:
        raise SystemExit(f"FAIL {' '.join(cmd)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def coverage(nx, ny, cx, cy, R, ss=8):
    """Area fraction of each pixel inside the circle (centre cx, cy; radius R; pixel units,
    pixel (i, j) spanning [i, i + 1] x [j, j + 1])."""
    o = (np.arange(ss) + 0.5) / ss
    y, x = np.mgrid[0:ny, 0:nx].astype(float)
    cov = np.zeros((ny, nx))
    for dy in o:
        for dx in o:
            cov += np.hypot(x + dx - cx, y + dy - cy) <= R
    return cov / ss ** 2


def main():
    tomocell, launcher = os.path.abspath(sys.argv[1]), sys.argv[2:]
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        run([tomocell, "geometry", os.path.join(HERE, "small.yaml"), "-render", "ct.h5", "-output", "truth.h5",
             "-render_mode", "gray", "-render_noise", "0.05", "-render_pixel_size_m", repr(PX),
             "-render_nx", "760"], tmp)
        T = json.load(open(os.path.join(tmp, "truth.json")))
        with h5py.File(os.path.join(tmp, "ct.h5"), "r") as f:
            a = f["/exchange/data"][0].astype(float)
        ny, nx = a.shape
        rroll = max(f["r_outer_m"] for f in T["foils"]) / PX
        cx, cy = nx / 2 + 1.3, ny / 2 - 0.8
        rci, rco = rroll + 12.37, rroll + 19.37
        wall = coverage(nx, ny, cx, cy, rco) - coverage(nx, ny, cx, cy, rci)
        ring = coverage(nx, ny, cx, cy, rco + 12) - coverage(nx, ny, cx, cy, rco + 2)
        wall, ring = gaussian_filter(wall, 0.8), gaussian_filter(ring, 0.8)
        inside = gaussian_filter(coverage(nx, ny, cx, cy, rci), 0.8)
        rng = np.random.default_rng(5)
        img = a * inside + 3.0 * wall + 0.1 * ring + 0.05 * rng.standard_normal(a.shape) * (1 - inside)
        D = 2 * rco  # drawn outer diameter, px
        with h5py.File(os.path.join(tmp, "can.h5"), "w") as f:
            f.create_dataset("/exchange/data", data=img[None].astype(np.float32))
        with h5py.File(os.path.join(tmp, "can_px.h5"), "w") as f:
            f.create_dataset("/exchange/data", data=img[None].astype(np.float32)).attrs["pixel_size_m"] = PX
        with h5py.File(os.path.join(tmp, "nocan.h5"), "w") as f:
            f.create_dataset("/exchange/data", data=a[None].astype(np.float32))
        with h5py.File(os.path.join(tmp, "labels.h5"), "w") as f:
            f.create_dataset("/exchange/data", data=(a[None] > 0.5).astype(np.uint8))
        tr = launcher + [tomocell, "trace"]

        for opts, dcan in ((["-can_diameter_m", repr(D * PX)], D * PX), (["-preset", "18650"], 18.4e-3),
                           (["-preset", "21700"], 21.2e-3),
                           (["-trace_can_diameter_m", repr(D * PX)], D * PX)):
            out = f"n_{opts[1]}.h5"
            r = run(tr + ["can.h5", "-output", out, "-trace_nz", "2"] + opts, tmp)
            s = json.load(open(os.path.join(tmp, out.replace(".h5", ".json"))))
            want = dcan / D
            e = s["pixel_size_m"] / want - 1
            ed = s["can"]["diameter_px"] / D - 1
            ok = (s["pixel_size_source"] == "can" and abs(e) < 1e-3 and abs(ed) < 1e-3
                  and opts[0].lstrip("-") in s["can"]["diameter_from"] and "pixel from the can" in r.stdout)
            fails += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {' '.join(opts)}: pixel {s['pixel_size_m']:.6g} m vs "
                  f"{want:.6g} ({100 * e:+.4f} %, limit 0.1 %), can {s['can']['diameter_px']:.3f} px vs drawn "
                  f"{D:.3f} ({100 * ed:+.4f} %), centre {[round(v, 2) for v in s['can']['centre_px']]} vs "
                  f"({cx:.2f}, {cy:.2f}), rms {s['can']['fit_rms_px']:.3f} px, "
                  f"{s['can']['edge_points']}/{s['can']['rays']} edge points")
            if opts[0] == "-can_diameter_m":
                ok = len(s["foils"]) == len(T["foils"]) and s["complete"]
                fails += not ok
                for t, f in zip(T["foils"], s["foils"]):
                    le = (f["length_m"] - t["length_m"]) / t["length_m"]
                    dw = f["windings"] - t["windings"]
                    ri = (f["r_inner_m"] - t["r_inner_m"]) / PX
                    ro = (f["r_outer_m"] - t["r_outer_m"]) / PX
                    bad = abs(le) > 0.01 or abs(dw) > 0.02 or abs(ri) > 1 or abs(ro) > 1
                    fails += bad
                    print(f"{'FAIL' if bad else 'ok  '} {t['foil']} with the pixel from the can: length "
                          f"{100 * le:+.3f} % (1 %), turns {dw:+.3f} (0.02), r_inner {ri:+.2f} px, r_outer "
                          f"{ro:+.2f} px (1 px)")

        s = json.load(open(os.path.join(tmp, run(tr + ["can_px.h5", "-output", "f.h5", "-trace_nz", "2",
                                                        "-preset", "21700"], tmp) and "f.json")))
        ok = s["pixel_size_source"] == "file" and s["pixel_size_m"] == PX and "can" not in s
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} a pixel size in the file wins over -preset: {s['pixel_size_m']} m "
              f"({s['pixel_size_source']}: {s['pixel_size_from']})")

        for name, args, words in (("no pixel size, no can option", ["can.h5"], ["no pixel size", "-can_diameter_m",
                                                                             "-preset", "-pixel_size"]),
                                  ("a labelled image", ["labels.h5", "-preset", "18650"], ["segmentation", "no can",
                                                                                         "-pixel_size"]),
                                  ("a gray image without a can", ["nocan.h5", "-preset", "18650"],
                                   ["no can", "-pixel_size"])):
            out = os.path.join(tmp, "bad.h5")
            r = run(tr + args + ["-output", out], tmp, ok=False)
            err = [l for l in r.stderr.splitlines() if l.startswith("tomocell")]
            ok = (r.returncode == 1 and len(err) == 1 and err[0].startswith("tomocell: error:")
                  and all(w in err[0] for w in words) and "PETSC ERROR" not in r.stderr
                  and not os.path.exists(out) and not os.path.exists(out.replace(".h5", ".json")))
            fails += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {name}: exit {r.returncode}, {err}")
    print("passed" if not fails else f"{fails} check(s) failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
