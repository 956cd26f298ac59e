"""tomocell compare on the output of a real coupled run (tomocell run, job roll).

The other compare tests use an analytic field on a geometry-only network;
this one checks that what `tomocell run` writes is what `compare` reads. An
18650 (three node layers, 5 mm nodes) is discharged at 1C for 20 minutes
with the thermal network. As in test_compare.py, a map of the Cu pixels at
z = 20 mm is rasterized for a known registration (rotation -37 deg, shift
(4.2, 6.1) px), the simulated map is taken from `compare -register fixed`,
and the "measured" map is that plus a bias of 1.0 K and noise of 0.3 K.
`compare` must find the registration (1 deg, 1 px) and the bias (0.05 K)
and the noise (5 %) back.

usage: test_compare_run.py TOMOCELL
"""
import json
import os
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmpcommon as cc  # noqa: E402

THETA, SHIFT, PX, N, Z = -37.0, (4.2, 6.1), 50e-6, 400, 0.02
TIMES = [600.0, 1200.0]
BIAS, NOISE = 1.0, 0.3
DECK = """job: roll
preset: 18650
network:
  ds_m: 5e-3
  nz: 3
model: spm
thermal: network
plots: false
output_interval_s: 300
experiment: "Discharge at 1C for 20 minutes"
"""


def main(argv):
    tomocell = argv[0]
    fails = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            fails.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        deck = os.path.join(tmp, "roll.yaml")
        with open(deck, "w") as f:
            f.write(DECK)
        cc.run([tomocell, "run", deck, "-output", os.path.join(tmp, "run")], cwd=tmp)
        res = os.path.join(tmp, "run", "results.h5")
        with h5py.File(res, "r") as f:
            check(f["/series/temperature_K"].shape[0] == len(f["/time_s"]), "results.h5 holds a time series")
        rng = np.random.default_rng(3)
        mask = cc.rasterize(cc.cu_line(res, Z), PX, N, THETA, SHIFT)
        tpl = os.path.join(tmp, "template.h5")
        cc.write_map(tpl, np.where(mask > 0, 300.0, np.nan)[None].repeat(len(TIMES), 0), mask, TIMES, px=PX, z=Z)
        cc.run([tomocell, "compare", res, tpl, "-register", "fixed", "-register_rotation_deg", str(THETA),
                "-register_shift_x_px", str(SHIFT[0]), "-register_shift_y_px", str(SHIFT[1]),
                "-output", os.path.join(tmp, "fwd"), "-png", "false"], cwd=tmp)
        with h5py.File(os.path.join(tmp, "fwd", "compare.h5"), "r") as f:
            Tsim = f["/simulated/temperature_K"][:]
        ok = np.isfinite(Tsim)
        check(ok.sum() > 1000, f"{ok.sum()} Cu pixels carry simulated temperatures")
        Tm = np.where(ok, Tsim + BIAS + rng.normal(0, NOISE, Tsim.shape), np.nan)
        meas = os.path.join(tmp, "measured.h5")
        cc.write_map(meas, Tm, ok.any(axis=0).astype(np.uint8), TIMES, px=PX, z=Z)
        out = os.path.join(tmp, "report")
        r = cc.run([tomocell, "compare", res, meas, "-output", out, "-png", "false"], cwd=tmp)
        print(r.stdout.strip())
        rep = json.load(open(os.path.join(out, "compare.json")))
        reg = rep["registration"]
        dth = (reg["rotation_deg"] - THETA + 180) % 360 - 180
        check(abs(dth) < 1.0, f"rotation {reg['rotation_deg']:.3f} deg vs {THETA} (tolerance 1 deg)")
        for a in range(2):
            check(abs(reg["shift_px"][a] - SHIFT[a]) < 1.0,
                  f"shift[{a}] {reg['shift_px'][a]:.3f} px vs {SHIFT[a]} (tolerance 1 px)")
        for t in rep["times"]:
            check(abs(t["bias_K"] - BIAS) < 0.05, f"t={t['time_s']}: bias {t['bias_K']:.4f} K vs {BIAS}")
            check(abs(t["std_K"] - NOISE) < 0.05 * NOISE, f"t={t['time_s']}: std {t['std_K']:.4f} K vs {NOISE}")
    print(f"{len(fails)} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
