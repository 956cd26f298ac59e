"""From a scan to a temperature map, on a synthetic scan: render -> trace -> run -> compare.

    test_scan_to_map.py TOMOCELL [MPIEXEC ARGS...]

A small 18650-stack roll (80 mm of Al, 5.6 turns) is rendered as a labelled CT
slice (10 um pixels), traced, and the traced network (nodes every 0.25 mm, so
that the polyline through them stays within a pixel of the foil: sagitta
h^2 / 8r = 8 um at the 1 mm core) is discharged at 1C for 20 minutes with the
thermal network. The run keeps the trace's pixel frame
(image coordinates, pixel centres at (i + 1/2 - n/2) px), so an XRD-CT map of
the same slice lines up with the run without any registration. The
"measured" map is made here, independently of tomocell compare's forward
model: at every Cu pixel of the CT, the run's temperature at the nearest
point of the Cu centre line of the node layer at the map's height (linear
along the line between nodes), at two snapshot times of the run. Then
  * compare -register fixed with zero rotation and shift: bias and RMSE below
    0.01 K (they are 0 up to the interpolation along the line, ~1e-6 K; a
    frame off by one pixel gives ~0.1 K here, a wrong winding kelvins);
  * the same map 40 px off (a frame error) is seen: RMSE > 0.02 K or refused;
  * compare with the fitted registration finds the shift back (0.25 px) and the
    same bias and RMSE (0.01 K); its rotation, pinned only by the spiral's ends,
    is reported.
"""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GEO = """preset: 18650
spiral:
  length_m: 0.08
  mandrel_radius_m: 1.0e-3
"""
RUN = """job: roll
preset: 18650
network:
  ds_m: 0.25e-3
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


def measured_map(ct, res, z, times):
    """T at the Cu pixels of the CT slice: nearest point of the run's Cu line at height z"""
    with h5py.File(ct, "r") as f:
        lab = f["/exchange/data"][0]
        px = float(f["/exchange/data"].attrs["pixel_size_m"])
    with h5py.File(res, "r") as f:
        xyz = f["/nodes/coordinates_m"][:]
        foil = f["/nodes/foil"][:]
        s = f["/nodes/s_m"][:]
        tt = f["/time_s"][:]
        T = f["/series/temperature_K"][:]
    sel = np.where((foil == 0) & (np.abs(xyz[:, 2] - z) < 1e-9))[0]
    sel = sel[np.argsort(s[sel])]
    line = xyz[sel, :2]
    ny, nx = lab.shape
    jj, ii = np.nonzero(lab == 1)
    P = np.stack([(ii + 0.5 - nx / 2) * px, (jj + 0.5 - ny / 2) * px], axis=1)
    # nearest point on the polyline: every segment, vectorised over pixels in chunks
    A, B = line[:-1], line[1:]
    AB = B - A
    L2 = np.maximum((AB ** 2).sum(1), 1e-30)
    best_d = np.full(len(P), np.inf)
    best_k = np.zeros(len(P), int)
    best_u = np.zeros(len(P))
    for c0 in range(0, len(P), 2000):
        p = P[c0:c0 + 2000, None, :]
        u = np.clip(((p - A[None]) * AB[None]).sum(2) / L2[None], 0, 1)
        d = ((A[None] + u[..., None] * AB[None] - p) ** 2).sum(2)
        k = d.argmin(1)
        r = np.arange(len(k))
        best_d[c0:c0 + 2000], best_k[c0:c0 + 2000], best_u[c0:c0 + 2000] = d[r, k], k, u[r, k]
    maps = []
    for t in times:
        q = int(np.argmin(np.abs(tt - t)))
        assert abs(tt[q] - t) < 1e-6, f"no snapshot at {t} s (have {tt})"
        Tl = T[q, sel]
        v = (1 - best_u) * Tl[best_k] + best_u * Tl[best_k + 1]
        m = np.full(lab.shape, np.nan)
        m[jj, ii] = v
        maps.append(m)
    return np.array(maps), (lab == 1).astype(np.uint8), px, np.sqrt(best_d).max() / px


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
        with h5py.File(res, "r") as f:
            zs = np.unique(f["/nodes/coordinates_m"][:, 2][f["/nodes/foil"][:] == 0])
            snaps = f["/time_s"][:]
        z = float(zs[1])  # the middle layer: no interpolation in z
        times = [float(snaps[len(snaps) // 2]), float(snaps[-1])]  # snapshots: none in time
        maps, mask, px, dmax = measured_map(os.path.join(tmp, "ct.h5"), res, z, times)
        check(dmax < 2.0, f"every Cu pixel is within {dmax:.2f} px of the traced Cu line")
        with h5py.File(os.path.join(tmp, "meas.h5"), "w") as f:
            g = f.create_group("xrdct")
            g["temperature_K"] = maps
            g["mask"] = mask
            g["time_s"] = np.asarray(times)
            g.attrs["pixel_size_m"] = px
            g.attrs["slice_height_m"] = z
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
