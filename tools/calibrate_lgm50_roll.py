#!/usr/bin/python3
"""Stage 3 of the LG M50 calibration (after tools/calibrate_lgm50.py): the
roll deck inputs/lgm50.yaml adds the foils and tabs the single cell does not
have, so the common factor on both reaction rate constants is refitted with
the roll itself on the first C/2 discharge of Cell785.

usage: calibrate_lgm50_roll.py TOMOCELL DATA_DIR SET.json DECK.yaml [MPIEXEC ARGS...]

Bounded least squares on one factor (scipy least_squares); every evaluation
is a full `tomocell run` of the deck (its own grid: the cheapest faithful
setting it states). Rewrites SET.json with the factor applied and prints the
factor with its standard error from the Jacobian and the RMSE before and
after.
"""
import copy
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy.optimize import least_squares

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from calibrate_lgm50 import discharges  # noqa: E402


def main():
    tomocell, data, setpath, deck = sys.argv[1:5]
    launcher = sys.argv[5:]
    d = discharges(os.path.join(data, "Cell785_0p5C_25degC.csv"))[0]
    T0 = 273.15 + float(d["T"]["LogTempMid"][0])
    with open(setpath) as f:
        base = json.load(f)
    tmp = tempfile.mkdtemp()
    trial = os.path.join(tmp, "set.json")
    tt = np.linspace(d["t"][0], d["t"][-1], 200)
    vm = np.interp(tt, d["t"], d["V"])

    def make(v):
        s = copy.deepcopy(base)
        for sec in ("Negative electrode", "Positive electrode"):
            s["Parameterisation"][sec]["Reaction rate constant [mol.m-2.s-1]"] *= v[0]
        return s

    def f(v):
        with open(trial, "w") as fp:
            json.dump(make(v), fp)
        out = os.path.join(tmp, "out")
        r = subprocess.run(launcher + [tomocell, "run", deck, "-params", trial, "-experiment",
                                       f"Discharge at {d['I']:.4g} A until 2.5 V",
                                       "-ambient_temperature", f"{T0:.2f}", "-initial_temperature",
                                       f"{T0:.2f}", "-initial_soc", f"{d['Vrest']:.4f} V", "-output",
                                       out, "-plots", "false"], capture_output=True, text=True)
        if r.returncode != 0:
            return np.ones_like(tt)
        with open(os.path.join(out, "summary.csv")) as fp:
            rows = list(csv.DictReader(fp))
        t = np.array([float(x["time_s"]) for x in rows])
        V = np.array([float(x["voltage_V"]) for x in rows])
        res = np.where(tt <= t[-1], np.interp(tt, t, V), 2.5) - vm
        print(f"  factor {v[0]:.4f}: RMSE {1e3 * np.sqrt(np.mean(res ** 2)):.1f} mV", flush=True)
        return res

    r0 = f(np.array([1.0]))
    fit = least_squares(f, np.array([1.0]), bounds=([0.2], [20.0]), diff_step=0.05, x_scale=1.0)
    J, res = fit.jac, fit.fun
    s2 = float(res @ res) / max(len(res) - 1, 1)
    se = float(np.sqrt(s2 / float(J[:, 0] @ J[:, 0])))
    print(f"stage 3 (roll, C/2 of Cell785): reaction rate factor {fit.x[0]:.4f} +- {se:.2g}; RMSE "
          f"{1e3 * np.sqrt(np.mean(r0 ** 2)):.1f} mV -> {1e3 * np.sqrt(np.mean(res ** 2)):.1f} mV")
    s = make(fit.x)
    s["Header"]["Description"] = ("Stage 3 (tools/calibrate_lgm50_roll.py with %s): a further "
                                  "factor %.4g on both reaction rate constants fitted with the roll. "
                                  % (os.path.basename(deck), fit.x[0])) + s["Header"]["Description"]
    with open(setpath, "w") as fp:
        json.dump(s, fp, indent=2)


if __name__ == "__main__":
    main()
