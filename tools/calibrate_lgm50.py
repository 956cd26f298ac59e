#!/usr/bin/python3
"""Calibrate the LG M50 parameter set on the shared bench data (what
inputs/params/lgm50_calibrated.json and inputs/lgm50.yaml come from).

usage: calibrate_lgm50.py TOMOCELL DATA_DIR [OUT.json]

DATA_DIR holds the LG M50 bench CSVs (Cell781_0p1C_25degC.csv: C/10;
Cell785/786_0p5C_25degC.csv: C/2; columns Step, Status, Step Time, ...,
Voltage, Current, AhAccu, LogTemp*). Every DCH step is one discharge from the
rest voltage just before it.

Starting from inputs/params/oregan2022.json, bounded least squares
(scipy.optimize.least_squares, trust-region reflective) on the voltage
residuals of `tomocell cell -model spme` runs, in two stages:
  1. the four stoichiometry-window ends on both C/10 discharges (the
     open-circuit curves and the capacity: C/10 is near equilibrium);
  2. a common factor on both reaction rate constants and on the positive
     particle diffusivity, on both C/2 discharges of Cell785 (Cell786 is left
     for checking).
Each run starts at the SOC of the measured rest voltage (initial_soc
"V V") and 24.5 C, lumped thermal. Prints the fitted values with standard
errors from the Jacobian (s^2 (J^T J)^-1), the RMSE before and after, and
writes the calibrated set.
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

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = os.path.join(HERE, "..", "inputs", "params", "oregan2022.json")


def discharges(path):
    """Every DCH step: t (s from its start), V, I (A, discharge +), the rest voltage before it,
    the capacity (Ah), and the temperatures (C) of the LogTemp* columns."""
    with open(path, encoding="latin-1") as f:
        lines = f.read().splitlines()
    h = [i for i, l in enumerate(lines) if l.startswith("Step,Status")][0]
    hdr = lines[h].split(",")
    rows = [l.split(",") for l in lines[h + 2:] if len(l.split(",")) > 10]
    out, i = [], 0
    while i < len(rows):
        j = i
        while j + 1 < len(rows) and rows[j + 1][:2] == rows[i][:2]:
            j += 1
        if rows[i][1] == "DCH" and i > 0:
            sel = rows[i:j + 1]
            T = {}
            for k, name in enumerate(hdr):
                if name.startswith("LogTemp"):
                    try:
                        T[name] = np.array([float(r[k]) for r in sel])
                    except (ValueError, IndexError):
                        pass
            out.append(dict(t=np.array([float(r[2]) for r in sel]),
                            V=np.array([float(r[7]) for r in sel]),
                            I=-float(sel[len(sel) // 2][8]), Vrest=float(rows[i - 1][7]),
                            Q=-float(sel[-1][9]), T=T))
        i = j + 1
    return out


def simulate(tomocell, params, d, model, tmp, T0=297.65):
    out = os.path.join(tmp, "fit.csv")
    r = subprocess.run([tomocell, "cell", "-params", params, "-model", model, "-experiment",
                        f"Discharge at {d['I']:.4f} A until 2.5 V", "-initial_soc",
                        f"{d['Vrest']:.5f} V", "-thermal", "lumped", "-ambient_temperature",
                        f"{T0}", "-output", out], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    with open(out) as f:
        rows = list(csv.DictReader(f))
    with open(out[:-4] + ".json") as f:
        q = json.load(f)["results"]["capacity_Ah"]
    t = np.array([float(x["time_s"]) for x in rows])
    V = np.array([float(x["voltage_V"]) for x in rows])
    T = np.array([float(x["temperature_K"]) for x in rows])
    return t, V, T, q


def residual(tomocell, params, d, model, tmp, n=200):
    """Voltage residual on n points of the measured time; past the model's end
    (it ran out early) the model's voltage is held at its cut-off, 2.5 V."""
    s = simulate(tomocell, params, d, model, tmp)
    tt = np.linspace(d["t"][0], d["t"][-1], n)
    vm = np.interp(tt, d["t"], d["V"])
    if s is None:
        return np.full(n, 1.0)
    t, V = s[0], s[1]
    return np.where(tt <= t[-1], np.interp(tt, t, V), 2.5) - vm


def main():
    tomocell, data = sys.argv[1], sys.argv[2]
    outpath = sys.argv[3] if len(sys.argv) > 3 else os.path.join(HERE, "..", "inputs", "params",
                                                                  "lgm50_calibrated.json")
    c10 = discharges(os.path.join(data, "Cell781_0p1C_25degC.csv"))
    c2 = discharges(os.path.join(data, "Cell785_0p5C_25degC.csv"))
    with open(BASE) as f:
        base = json.load(f)
    P = base["Parameterisation"]
    n, p = P["Negative electrode"], P["Positive electrode"]
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "set.json")

    def write(s):
        with open(path, "w") as f:
            json.dump(s, f)

    def stage1(v):
        s = copy.deepcopy(base)
        q = s["Parameterisation"]
        q["Negative electrode"]["Minimum stoichiometry"], q["Negative electrode"]["Maximum stoichiometry"] = v[0], v[1]
        q["Positive electrode"]["Maximum stoichiometry"], q["Positive electrode"]["Minimum stoichiometry"] = v[2], v[3]
        return s

    def f1(v):
        write(stage1(v))
        return np.concatenate([residual(tomocell, path, d, "spme", tmp) for d in c10])

    v0 = np.array([n["Minimum stoichiometry"], n["Maximum stoichiometry"], p["Maximum stoichiometry"],
                   p["Minimum stoichiometry"]])
    r0 = f1(v0)
    fit1 = least_squares(f1, v0, bounds=([0.0, 0.85, 0.7, 0.15], [0.1, 1.0, 1.0, 0.35]),
                         diff_step=1e-3, x_scale=0.01)
    s1 = stage1(fit1.x)

    def stage2(v):
        s = copy.deepcopy(s1)
        q = s["Parameterisation"]
        for sec in ("Negative electrode", "Positive electrode"):
            q[sec]["Reaction rate constant [mol.m-2.s-1]"] *= v[0]
        q["Positive electrode"]["Diffusivity [m2.s-1]"] = f"{v[1]:.6g} * ({p['Diffusivity [m2.s-1]']})"
        return s

    def f2(v):
        write(stage2(v))
        return np.concatenate([residual(tomocell, path, d, "spme", tmp) for d in c2])

    write(s1)
    r20 = f2(np.array([1.0, 1.0]))
    fit2 = least_squares(f2, np.array([1.0, 1.0]), bounds=([0.2, 0.2], [5.0, 5.0]), diff_step=1e-2)

    def report(name, fit, names, r_before):
        J, res = fit.jac, fit.fun
        dof = max(len(res) - len(fit.x), 1)
        s2 = float(res @ res) / dof
        try:
            cov = s2 * np.linalg.inv(J.T @ J)
            se = np.sqrt(np.diag(cov))
        except np.linalg.LinAlgError:
            se = np.full(len(fit.x), np.nan)
        print(f"{name}: RMSE {1e3 * np.sqrt(np.mean(r_before ** 2)):.1f} mV -> "
              f"{1e3 * np.sqrt(np.mean(res ** 2)):.1f} mV")
        for k, x, e in zip(names, fit.x, se):
            print(f"  {k:40s} {x:.6g} +- {e:.2g}")

    report("stage 1 (C/10, stoichiometry window)", fit1,
           ["negative minimum stoichiometry", "negative maximum stoichiometry",
            "positive maximum stoichiometry", "positive minimum stoichiometry"], r0)
    report("stage 2 (C/2 of Cell785, kinetics and positive diffusivity)", fit2,
           ["reaction rate factor", "positive diffusivity factor"], r20)
    final = stage2(fit2.x)
    h = final["Header"]
    h["Title"] = "LG M50 (21700), calibrated on the shared bench data from ORegan2022"
    h["Description"] = (
        "inputs/params/oregan2022.json with the stoichiometry window fitted to the two C/10 "
        "discharges of Cell781 and a factor %.4g on both reaction rate constants and %.4g on the "
        "positive diffusivity fitted to the two C/2 discharges of Cell785 (tools/calibrate_lgm50.py "
        "on ../shared/validation/cells/lgm50; SPMe elements, lumped thermal at 24.5 C). "
        "The O'Regan 2022 description: " % (fit2.x[0], fit2.x[1]) + base["Header"]["Description"])
    with open(outpath, "w") as f:
        json.dump(final, f, indent=2)
    print("wrote", outpath)


if __name__ == "__main__":
    main()
