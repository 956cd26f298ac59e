"""From a scan to a temperature map, on a synthetic scan: render -> trace -> run -> compare.

    test_scan_to_map.py TOMOCELL [MPIEXEC ARGS...]

A small 18650-stack roll (80 mm of Al, 5.6 turns) is rendered as a labelled CT
slice (10 um pixels), traced, and the traced network (nodes every 1 mm, the
default: compare and the map below follow the source curves stored in
results.h5, not the chords between nodes, which would lie 125 um = 12 px
inside the foil at the 1 mm core) is discharged at 1C for 20 minutes with the
thermal network. The run keeps the trace's pixel frame
(image coordinates, pixel centres at (i + 1/2 - n/2) px), so an XRD-CT map of
the same slice lines up with the run without any registration. The
"measured" map is made by tools/xrdct_from_run.py, independently of tomocell
compare's forward model: at every Cu pixel of the CT, the run's temperature at the nearest
point of the Cu centre line of the node layer at the map's height (linear
along the line between nodes), at two snapshot times of the run. Then
  * compare -register fixed with zero rotation and shift: bias and RMSE below
    0.01 K (they are 0 up to the interpolation along the line, ~1e-6 K; a
    frame off by one pixel gives ~0.1 K here, a wrong winding kelvins);
  * the same map 40 px off (a frame error) is seen: RMSE > 0.02 K or refused;
  * compare with the fitted registration finds the shift back (0.25 px) and the
    same bias and RMSE (0.01 K); its rotation, pinned only by the spiral's ends
    (solver/compare.h), is reported (0.09 deg when measured).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import xrdct_from_run as xr  # noqa: E402
GEO = """preset: 18650
spiral:
  length_m: 0.08
  mandrel_radius_m: 1.0e-3
"""
RUN = """job: roll
preset: 18650
network:
  ds_m: 1e-3
  nz: 3
model: spm
thermal: network
thermal_k_r_W_mK: 0.05
plots: false
output_interval_s: 300
experiment: "Discharge at 1C for 20 minutes"
"""


def sh(cmd, cwd):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def main(argv):
    tomocell, launcher = os.path.abspath(argv[0]), argv[1:]
    fails = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            fails.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "geo.yaml"), "w") as f:
            f.write(GEO)
        with open(os.path.join(tmp, "run.yaml"), "w") as f:
            f.write(RUN)
        sh([tomocell, "geometry", "geo.yaml", "-render", "ct.h5", "-render_pixel_size_m", "10e-6"],
           tmp)
        sh(launcher + [tomocell, "trace", "ct.h5", "-output", "net.h5", "-png", "none"], tmp)
        out = sh(launcher + [tomocell, "run", "run.yaml", "-geometry", "net.h5", "-output", "run"],
                 tmp)
        s = json.load(open(os.path.join(tmp, "run", "summary.json")))
        check(s["geometry"]["source"] == "network" and s["T_max_K"] > 300,
              f"traced roll run: {s['network']['elements']} elements, T_max {s['T_max_K']:.2f} K")
        res = os.path.join(tmp, "run", "results.h5")
        # the map of the middle layer's height (no interpolation in z) at two snapshot times
        maps, mask, px, z, times, dmax = xr.make_map(os.path.join(tmp, "ct.h5"), res)
        check(dmax < 1.0, f"every Cu pixel is within {dmax:.2f} px of the traced Cu line")
        xr.write_map(os.path.join(tmp, "meas.h5"), maps, mask, px, z, times)
        # fixed: the identity, since the run keeps the trace's frame
        sh(launcher + [tomocell, "compare", res, "meas.h5", "-register", "fixed", "-output",
                       "fixed", "-png", "false"], tmp)
        rep = json.load(open(os.path.join(tmp, "fixed", "compare.json")))
        for t in rep["times"]:
            check(abs(t["bias_K"]) < 0.01 and t["rmse_K"] < 0.01,
                  f"fixed identity, t = {t['time_s']:.0f} s: bias {t['bias_K']:.2e} K, RMSE "
                  f"{t['rmse_K']:.2e} K (< 0.01 K)")
        spread = np.nanmax(maps[-1]) - np.nanmin(maps[-1])
        check(spread > 0.2, f"the map has structure: {spread:.2f} K between its coldest and "
                            f"hottest Cu pixel")
        # and the comparison sees a wrong frame: the same map 40 px (0.4 mm, a winding) off
        r = subprocess.run(launcher + [tomocell, "compare", res, "meas.h5", "-register", "fixed",
                                       "-register_shift_x_px", "40", "-output", "off", "-png",
                                       "false"], cwd=tmp, capture_output=True, text=True)
        if r.returncode == 0:
            rep = json.load(open(os.path.join(tmp, "off", "compare.json")))
            worst = max(t["rmse_K"] for t in rep["times"])
            check(worst > 0.02, f"a frame 40 px off gives RMSE {worst:.3f} K (> 0.02 K)")
        else:
            check("do not overlap" in r.stderr, "a frame 40 px off is refused: " + r.stderr.strip())
        # fitted: the shift comes back to the identity; the rotation of an Archimedean spiral is
        # pinned only by its ends and departures from the ideal spiral (solver/compare.h), so it
        # is reported, not asserted; the fitted comparison agrees with the fixed one
        sh(launcher + [tomocell, "compare", res, "meas.h5", "-output", "fit", "-png", "false"], tmp)
        rep = json.load(open(os.path.join(tmp, "fit", "compare.json")))
        reg = rep["registration"]
        dth = (reg["rotation_deg"] + 180) % 360 - 180
        check(max(abs(v) for v in reg["shift_px"]) < 0.25 and abs(reg.get("scale", 1) - 1) < 2e-3,
              f"fitted registration: shift ({reg['shift_px'][0]:.3f}, {reg['shift_px'][1]:.3f}) "
              f"px (< 0.25), scale {reg.get('scale', 1):.5f}; rotation {dth:.3f} deg")
        for t in rep["times"]:
            check(abs(t["bias_K"]) < 0.01 and t["rmse_K"] < 0.01,
                  f"fitted, t = {t['time_s']:.0f} s: bias {t['bias_K']:.2e} K, RMSE "
                  f"{t['rmse_K']:.2e} K (< 0.01 K)")
    print(f"{len(fails)} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
