#!/usr/bin/python3
"""A grayscale slice as a lab scanner gives it: the synthetic roll
(tests/roll/small.yaml rendered in gray, noise 0.05, 10 um pixels) inside a
bright steel can (3x the Cu attenuation, 7 px wall, 12 px outside the roll),
with a dim ring (a third of the roll's mean) outside the can.

usage: test_trace_gray_can.py TOMOCELL

Checks:
  * the can is found: summary gray.can_found, inner and outer radius within
    1.5 px of the drawn ones (the smoothing and the radial bins), the
    threshold taken over the roll annulus;
  * the trace matches the generator's truth as without a can: length within
    1 %, turns within 0.02, radii within 1 px (test_roundtrip.py's limits);
  * no foil runs into the can wall (outer radius inside the can);
  * the PNG is scaled by the roll's own gray range (summary
    gray.roll_gray_range below the can's brightness).
"""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, cwd):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    if r.returncode:
        raise SystemExit(f"FAIL {' '.join(cmd)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def main():
    tomocell = os.path.abspath(sys.argv[1])
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        run([tomocell, "geometry", os.path.join(HERE, "small.yaml"), "-render", "ct.h5", "-output", "truth.h5",
             "-render_mode", "gray", "-render_noise", "0.05", "-render_pixel_size_m", "10e-6"], tmp)
        T = json.load(open(os.path.join(tmp, "truth.json")))
        with h5py.File(os.path.join(tmp, "ct.h5"), "r+") as f:
            d = f["/exchange/data"]
            a = d[0]
            px = float(d.attrs["pixel_size_m"])
            ny, nx = a.shape
            y, x = np.mgrid[0:ny, 0:nx]
            c = T["foils"][0]["centre_m"] if "centre_m" in T["foils"][0] else [0.0, 0.0]
            r = np.hypot((x + 0.5 - nx / 2) * px - c[0], (y + 0.5 - ny / 2) * px - c[1]) / px
            rroll = max(f["r_outer_m"] for f in T["foils"]) / px
            rci, rco = rroll + 12, rroll + 19
            rng = np.random.default_rng(3)
            a[(r > rco) & (r < rco + 10)] = 0.1 + 0.05 * rng.standard_normal(((r > rco) & (r < rco + 10)).sum())
            a[(r >= rci) & (r <= rco)] = 3.0 + 0.05 * rng.standard_normal(((r >= rci) & (r <= rco)).sum())
            d[0] = a
        out = os.path.join(tmp, "net.h5")
        run([tomocell, "trace", "ct.h5", "-output", out, "-trace_nz", "2"], tmp)
        s = json.load(open(out.replace(".h5", ".json")))
        g = s.get("gray", {})
        ok = (g.get("can_found") is True and abs(g["can_r_inner_m"] / px - rci) < 1.5 and
              abs(g["can_r_outer_m"] / px - rco) < 1.5 and "annulus" in g.get("threshold_over", ""))
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} can: found {g.get('can_found')}, r {g.get('can_r_inner_m', 0) / px:.1f} - "
              f"{g.get('can_r_outer_m', 0) / px:.1f} px (drawn {rci:.1f} - {rco:.1f}), threshold {g.get('threshold')} "
              f"over {g.get('threshold_over')}, contrast {g.get('contrast')}")
        rng_ok = g.get("roll_gray_range", [0, 99])[1] < 2.0
        fails += not rng_ok
        print(f"{'ok  ' if rng_ok else 'FAIL'} PNG gray range {g.get('roll_gray_range')} (the can is 3.0)")
        if len(s["foils"]) != len(T["foils"]):
            print(f"FAIL {len(s['foils'])} foils traced, {len(T['foils'])} true")
            fails += 1
        for t, f in zip(T["foils"], s["foils"]):
            le = (f["length_m"] - t["length_m"]) / t["length_m"]
            dw = f["windings"] - t["windings"]
            ri = (f["r_inner_m"] - t["r_inner_m"]) / px
            ro = (f["r_outer_m"] - t["r_outer_m"]) / px
            bad = abs(le) > 0.01 or abs(dw) > 0.02 or abs(ri) > 1 or abs(ro) > 1 or f["r_outer_m"] / px > rci - 1
            fails += bad
            print(f"{'FAIL' if bad else 'ok  '} {t['foil']}: length {100 * le:+.3f} % (1 %), turns {dw:+.3f} (0.02), "
                  f"r_inner {ri:+.2f} px, r_outer {ro:+.2f} px (1 px), inside the can: {f['r_outer_m'] / px < rci - 1}")
    print("passed" if not fails else f"{fails} check(s) failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
