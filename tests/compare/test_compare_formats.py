#!/usr/bin/python3
"""tomocell compare reads the same measured map from CSV (temperature), TIFF
(float32 Cu lattice parameter) and HDF5 with a per-pixel calibration
(reference lattice map at a known temperature), and blurs to a beam size.

Each map is the forward model's simulated map (compare -register fixed on a
template) written in that format, so with the same fixed registration the
comparison must give zero error up to the format's precision.

usage: test_compare_formats.py TOMOCELL
"""
import json
import os
import sys
import tempfile

import h5py
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmpcommon as cc  # noqa: E402

FIXED = ["-register", "fixed", "-register_rotation_deg", "10", "-register_shift_x_px", "2",
         "-register_shift_y_px", "3", "-png", "false"]
META = ["-pixel_size", "50e-6", "-slice_height", "0.03", "-time", "900"]


def main(argv):
    tomocell = argv[0]
    fails = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            fails.append(what)

    def compare(tmp, res, path, extra, name):
        out = os.path.join(tmp, name)
        cc.run([tomocell, "compare", res, path, "-output", out] + FIXED + extra, cwd=tmp)
        with h5py.File(os.path.join(out, "compare.h5"), "r") as f:
            sim = f["/simulated/temperature_K"][0]
        return json.load(open(os.path.join(out, "compare.json")))["times"][0], sim

    with tempfile.TemporaryDirectory() as tmp:
        res, _ = cc.make_results(tomocell, tmp)
        mask = cc.rasterize(cc.cu_line(res, 0.03), 50e-6, 480, 10.0, (2, 3))
        tpl = os.path.join(tmp, "template.h5")
        cc.write_map(tpl, np.where(mask > 0, 300.0, np.nan)[None], mask, [900.0])
        _, T = compare(tmp, res, tpl, [], "fwd")
        ok = np.isfinite(T)
        n = int(ok.sum())

        # CSV, temperature, 17 significant digits: exact to ~1e-13 K
        csv = os.path.join(tmp, "map.csv")
        np.savetxt(csv, T, delimiter=",", fmt="%.17g")
        t, _ = compare(tmp, res, csv, ["-map_quantity", "temperature"] + META, "csv")
        check(t["pixels_compared"] == n and t["rmse_K"] < 1e-9,
              f"CSV temperature: {t['pixels_compared']}/{n} px, RMSE {t['rmse_K']:.2e} K (< 1e-9)")

        # TIFF, float32 lattice parameter: half an ulp of 3.6 A is 1.2e-7 A,
        # 2e-3 K at alpha = 16.5e-6 /K; the RMSE of the rounding is below that
        lat = (cc.A0 * (1 + cc.ALPHA * (T - cc.T0))).astype(np.float32)
        tif = os.path.join(tmp, "map.tif")
        Image.fromarray(lat, mode="F").save(tif)
        t, _ = compare(tmp, res, tif, ["-map_quantity", "lattice"] + META, "tif")
        check(t["pixels_compared"] == n and t["rmse_K"] < 2e-3,
              f"TIFF float32 lattice: {t['pixels_compared']}/{n} px, RMSE {t['rmse_K']:.2e} K (< 2e-3)")

        # HDF5 with a calibration map: every pixel has its own reference
        # lattice parameter (residual strain 3e-4 ~ 18 K if ignored), measured
        # at a uniform 298.15 K
        rng = np.random.default_rng(3)
        aref = cc.A0 * (1 + rng.normal(0, 3e-4, T.shape))
        lat = aref * (1 + cc.ALPHA * (T - 298.15))
        cal = os.path.join(tmp, "calibrated.h5")
        cc.write_map(cal, lat[None], ok.astype(np.uint8), [900.0], quantity="lattice_A")
        with h5py.File(cal, "a") as f:
            d = f.create_dataset("/xrdct/reference_lattice_A", data=aref)
            d.attrs["temperature_K"] = 298.15
        t, _ = compare(tmp, res, cal, [], "cal")
        check(t["rmse_K"] < 1e-9, f"calibration map: RMSE {t['rmse_K']:.2e} K (< 1e-9)")
        with h5py.File(cal, "a") as f:
            del f["/xrdct/reference_lattice_A"]
        t, _ = compare(tmp, res, cal, [], "uncal")
        check(t["rmse_K"] > 5, f"without the calibration map: RMSE {t['rmse_K']:.2f} K (> 5: it matters)")

        # beam blur: a normalised average keeps the mean and lowers the spread
        t, Tb = compare(tmp, res, tpl, ["-beam_fwhm_m", "1e-3"], "blur")
        check(abs(np.nanmean(Tb) - np.nanmean(T)) < 0.05 and np.nanstd(Tb) < np.nanstd(T),
              f"blur 1 mm (several windings): mean {np.nanmean(Tb):.3f} vs {np.nanmean(T):.3f} K, "
              f"std {np.nanstd(Tb):.4f} < {np.nanstd(T):.4f} K")
    print(f"{len(fails)} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
