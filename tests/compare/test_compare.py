#!/usr/bin/python3
"""tomocell compare on a synthetic XRD-CT map made by its own forward model.

A results file carries an analytic temperature field on the 21700 roll
(cmpcommon.py). The Cu pixels of a 480 x 480 map at 50 um (a 24 mm field
of view) are rasterized from the simulated Cu centre line at z = 30 mm for a
known registration (rotation 23.4 deg, shift (7.3, -4.6) px), 5 % of them
dropped as failed peak fits. `compare -register fixed` with that
registration gives the simulated map (the forward model); the measured map is
that + a bias of 1.5 K + Gaussian noise of 0.5 K, stored as the Cu lattice
parameter with its uncertainty. `compare` must then find the registration
and the numbers back.

usage: test_compare.py TOMOCELL [NRANKS MPIEXEC ARGS...]
"""
import json
import os
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmpcommon as cc  # noqa: E402

THETA, SHIFT, PX, N, Z = 23.4, (7.3, -4.6), 50e-6, 480, 0.03
TIMES = [300.0, 900.0, 1500.0]
BIAS, NOISE = 1.5, 0.5


def main(argv):
    tomocell = argv[0]
    launcher = argv[2:] if len(argv) > 1 and int(argv[1]) > 1 else []
    fails = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            fails.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        res, _ = cc.make_results(tomocell, tmp)
        rng = np.random.default_rng(7)
        mask = cc.rasterize(cc.cu_line(res, Z), PX, N, THETA, SHIFT)
        mask[rng.random(mask.shape) < 0.05] = 0
        tpl = os.path.join(tmp, "template.h5")
        cc.write_map(tpl, np.where(mask > 0, 300.0, np.nan)[None].repeat(len(TIMES), 0), mask, TIMES)
        cc.run([tomocell, "compare", res, tpl, "-register", "fixed", "-register_rotation_deg", str(THETA),
                "-register_shift_x_px", str(SHIFT[0]), "-register_shift_y_px", str(SHIFT[1]),
                "-output", os.path.join(tmp, "fwd"), "-png", "false"], cwd=tmp)
        with h5py.File(os.path.join(tmp, "fwd", "compare.h5"), "r") as f:
            Tsim = f["/simulated/temperature_K"][:]
        ok = np.isfinite(Tsim)
        Tm = np.where(ok, Tsim + BIAS + rng.normal(0, NOISE, Tsim.shape), np.nan)
        lat = cc.A0 * (1 + cc.ALPHA * (Tm - cc.T0))  # the linear law, beta = 0
        sig = np.where(ok, cc.A0 * cc.ALPHA * NOISE, np.nan)
        meas = os.path.join(tmp, "measured.h5")
        cc.write_map(meas, lat, ok.any(axis=0).astype(np.uint8), TIMES, quantity="lattice_A", sigma=sig)
        out = os.path.join(tmp, "report")
        r = cc.run(launcher + [tomocell, "compare", res, meas, "-output", out], cwd=tmp)
        print(r.stdout.strip())
        rep = json.load(open(os.path.join(out, "compare.json")))
        reg = rep["registration"]
        # rotation: the spiral's ends pin it; 1 degree at the 10 mm outer radius is 3.5 px of arc
        check(abs(reg["rotation_deg"] - THETA) < 1.0,
              f"rotation {reg['rotation_deg']:.3f} deg vs {THETA} (tolerance 1 deg)")
        for a in range(2):
            check(abs(reg["shift_px"][a] - SHIFT[a]) < 1.0,
                  f"shift[{a}] {reg['shift_px'][a]:.3f} px vs {SHIFT[a]} (tolerance 1 px)")
        check(abs(reg["scale"] - 1) < 0.005, f"scale {reg['scale']:.5f} vs 1 (0.5 % = 1 px at 10 mm)")
        check(rep["map"]["quantity"] == "lattice_A", "map read as the Cu lattice parameter")
        for k, t in enumerate(rep["times"]):
            n = t["pixels_compared"]
            # Statistics of n ~ 1.6e4 pixels: the bias has a standard error
            # NOISE/sqrt(n) ~ 0.004 K, the standard deviation a relative one of
            # 1/sqrt(2n) ~ 0.6 %; 0.05 K and 3 % leave room for the
            # interpolation error of a sub-pixel misregistration.
            check(n > 0.9 * ok[k].sum(), f"t={t['time_s']}: {n} of {ok[k].sum()} pixels compared")
            check(abs(t["bias_K"] - BIAS) < 0.05, f"t={t['time_s']}: bias {t['bias_K']:.4f} K vs {BIAS}")
            check(abs(t["std_K"] - NOISE) < 0.03 * NOISE, f"t={t['time_s']}: std {t['std_K']:.4f} K vs {NOISE}")
            rmse = np.hypot(BIAS, NOISE)
            check(abs(t["rmse_K"] - rmse) < 0.02 * rmse, f"t={t['time_s']}: RMSE {t['rmse_K']:.4f} K vs {rmse:.4f}")
            # chi2 per pixel of (measured - simulated) / uncertainty includes the
            # bias: (BIAS^2 + NOISE^2) / NOISE^2 = 10; 3 % as for the std
            chi2 = (BIAS**2 + NOISE**2) / NOISE**2
            check(abs(t["chi2_per_pixel"] - chi2) < 0.03 * chi2,
                  f"t={t['time_s']}: chi2 {t['chi2_per_pixel']:.3f} vs {chi2:.1f}")
            cs = t["core_minus_surface_K"]
            # core and surface means over ~3000 pixels each: noise 0.01 K
            check(abs(cs["measured"] - cs["simulated"]) < 0.1,
                  f"t={t['time_s']}: core-surface {cs['measured']:.3f} K measured vs {cs['simulated']:.3f} K simulated")
            check(cs["simulated"] > 1.0, f"t={t['time_s']}: the core is hotter than the surface")
            # hotspot: centroid of the hottest 5 % (~900 pixels); once the
            # hotspot (6 K x t/1800 s) stands well above the noise (from 900 s:
            # 3 K = 6 noise sigma) the noise moves it little
            if t["time_s"] >= 900:
                check(t["hotspot"]["distance_m"] < 0.5e-3,
                      f"t={t['time_s']}: hotspots {1e3 * t['hotspot']['distance_m']:.3f} mm apart (< 0.5 mm)")
            # Pearson r of signal + independent noise: s / sqrt(s^2 + NOISE^2)
            # with s the spread of the simulated map; sampling error ~1/sqrt(n)
            sd = np.nanstd(Tsim[k])
            r_exp = sd / np.hypot(sd, NOISE)
            check(abs(t["pearson_r"] - r_exp) < 0.01,
                  f"t={t['time_s']}: Pearson r {t['pearson_r']:.4f} vs {r_exp:.4f}")
            prof = t["radial_profile"]
            dev = max(abs(a - b - BIAS) for a, b in zip(prof["measured_K"], prof["simulated_K"]) if a is not None)
            check(dev < 0.2, f"t={t['time_s']}: radial profiles differ by the bias within {dev:.3f} K (< 0.2)")
        for f in ["compare.json", "compare.h5", "maps_000.png", "radial_002.png"]:
            check(os.path.exists(os.path.join(out, f)), f"output {f}")
    print(f"{len(fails)} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
