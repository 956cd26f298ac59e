#!/usr/bin/python3
"""initial_soc as a rest voltage and initial_temperature apart from the ambient,
for tomocell cell and tomocell run (job roll).

usage: test_initial_state.py TOMOCELL [MPIEXEC ARGS...]   (the roll runs under MPIEXEC ARGS)

* initial_soc "V V": the SOC tomocell reports is checked independently: the
  open-circuit voltage of chen2020 at that SOC, computed here from the set's
  own OCP expressions and stoichiometry window, is V within 1e-9 V; the first
  CSV row's voltage (at rest) is V; the SOC rises with V.
* initial_temperature: a lumped cell at rest from 280 K in a 300 K ambient
  follows T = 300 - 20 exp(-t hA/C) (h, A, C of the set) within 0.01 K
  (fixed 1 s steps: backward Euler's error is ~ dt/(2 tau) x 20 K = 0.01 K
  at t = tau).
* the roll on 2 ranks: the same SOC as the cell, voltage V at t = 0, mean
  temperature 290 K at t = 0 rising toward the 300 K ambient, energy closure.
* bad values: a unit that is not V, a voltage beyond the cut-offs, a SOC
  out of [0, 1]: exit 1 naming initial_soc and the value.
"""
import csv
import json
import math
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CHEN = os.path.join(HERE, "..", "..", "inputs", "params", "chen2020.json")


def run(cmd, cwd, expect=0):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    if r.returncode != expect:
        print(r.stdout, r.stderr)
        raise SystemExit(f"FAIL: {' '.join(cmd)} exited {r.returncode}, expected {expect}")
    return r


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def ocv(par, soc):
    """OCP_p(y) - OCP_n(x) at the reference temperature from the set's expressions."""
    ns = {"exp": np.exp, "tanh": np.tanh, "log": np.log, "sqrt": np.sqrt, "np": np}
    n, p = par["Negative electrode"], par["Positive electrode"]
    x0, x1 = sorted([n["Minimum stoichiometry"], n["Maximum stoichiometry"]])
    y1, y0 = sorted([p["Minimum stoichiometry"], p["Maximum stoichiometry"]])
    x = x0 + soc * (x1 - x0)
    y = y0 + soc * (y1 - y0)
    return eval(p["OCP [V]"], dict(ns, x=y)) - eval(n["OCP [V]"], dict(ns, x=x))


def main():
    tomocell = sys.argv[1]
    launcher = sys.argv[2:]
    with open(CHEN) as f:
        par = json.load(f)["Parameterisation"]
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        # --- cell: rest voltage -> SOC
        socs = []
        for V in (3.5, 3.7, 3.9, 4.1):
            r = run([tomocell, "cell", "-model", "spm", "-experiment", "Rest for 10 seconds",
                     "-initial_soc", f"{V} V", "-output", "c.csv"], tmp)
            m = re.search(r'initial_soc "[^"]*": SOC ([0-9.]+)', r.stdout)
            if not m:
                raise SystemExit("FAIL: the SOC of the rest voltage is not reported:\n" + r.stdout)
            soc = float(m.group(1))
            socs.append(soc)
            err = abs(ocv(par, soc) - V)
            v0 = float(rows(os.path.join(tmp, "c.csv"))[0]["voltage_V"])
            print(f"cell: {V} V -> SOC {soc:.6f}: OCV {ocv(par, soc):.9f} V (error {err:.1e}), "
                  f"first voltage {v0:.9f} V")
            # the SOC is printed to 6 decimals: dOCV/dSOC < 2 V -> 1e-6 V
            if err > 2e-6:
                fails.append(f"OCV at the reported SOC {soc} is {ocv(par, soc)} V, not {V} V")
            if abs(v0 - V) > 1e-6:
                fails.append(f"first voltage {v0} V, not the rest voltage {V} V")
        if not all(b > a for a, b in zip(socs, socs[1:])):
            fails.append(f"SOC does not rise with the rest voltage: {socs}")

        # --- cell: initial temperature apart from the ambient
        run([tomocell, "cell", "-model", "spm", "-thermal", "lumped", "-experiment",
             "Rest for 30 minutes", "-initial_soc", "0.5", "-ambient_temperature", "300",
             "-initial_temperature", "280", "-cell_dt_fixed_s", "1", "-output", "t.csv"], tmp)
        c = par["Cell"]
        C = c["Density [kg.m-3]"] * c["Specific heat capacity [J.K-1.kg-1]"] * c["Volume [m3]"]
        hA = c["Heat transfer coefficient [W.m-2.K-1]"] * c["External surface area [m2]"]
        worst = 0.0
        rr = rows(os.path.join(tmp, "t.csv"))
        if abs(float(rr[0]["temperature_K"]) - 280) > 1e-9:
            fails.append(f"cell starts at {rr[0]['temperature_K']} K, not 280 K")
        for row in rr:
            t, T = float(row["time_s"]), float(row["temperature_K"])
            worst = max(worst, abs(T - (300 - 20 * math.exp(-t * hA / C))))
        print(f"cell: 280 K in 300 K ambient, tau = {C / hA:.0f} s: worst |T - exact| "
              f"{worst:.4f} K over {len(rr)} rows, end {rr[-1]['temperature_K']} K")
        if worst > 0.01:
            fails.append(f"lumped cooling curve off by {worst} K (> 0.01 K)")

        # --- roll on the launcher's ranks
        with open(os.path.join(tmp, "roll.yaml"), "w") as f:
            f.write('job: roll\npreset: 18650\nnetwork:\n  ds_m: 20e-3\n  nz: 1\nmodel: spm\n'
                    'thermal: network\nplots: false\n'
                    'experiment: "Rest for 10 minutes"\ninitial_soc: "3.9 V"\n'
                    'initial_temperature: 290\nambient_temperature: 300\n')
        r = run(launcher + [tomocell, "run", "roll.yaml", "-output", "roll"], tmp)
        m = re.search(r'initial_soc "[^"]*": SOC ([0-9.]+)', r.stdout)
        ts = rows(os.path.join(tmp, "roll", "summary.csv"))
        v0, s0, T0, T1 = (float(ts[0]["voltage_V"]), float(ts[0]["soc"]),
                          float(ts[0]["T_mean_K"]), float(ts[-1]["T_mean_K"]))
        print(f"roll: {m.group(1) if m else '?'} SOC, V0 {v0:.9f} V, soc0 {s0:.9f}, "
              f"T_mean {T0} -> {T1} K")
        if abs(v0 - 3.9) > 1e-6:
            fails.append(f"roll starts at {v0} V, not 3.9 V")
        if abs(s0 - socs[2]) > 2e-6:
            fails.append(f"roll SOC {s0} differs from the cell's {socs[2]} for 3.9 V")
        if abs(T0 - 290) > 1e-9 or not (290 < T1 < 300):
            fails.append(f"roll temperature {T0} -> {T1} K: expected 290 K rising toward 300 K")
        ts_last = float(ts[-1]["T_amb_K"])
        if abs(ts_last - 300) > 1e-9:
            fails.append(f"roll ambient {ts_last} K, not 300 K")
        stored, removed = float(ts[-1]["stored_J"]), float(ts[-1]["removed_J"])
        if not (stored > 0 and abs(stored + removed) <= 1e-6 * stored):
            fails.append(f"roll energy books at rest: stored {stored} J, removed {removed} J "
                         "(expected stored = -removed)")

        # --- bad values
        for val, words in (("4.18 X", ["initial_soc", "4.18 X", "rest voltage"]),
                           ("5 V", ["initial_soc", "5 V", "voltage limits"]),
                           ("1.5", ["initial_soc", "1.5", "out of range"]),
                           ("abc", ["initial_soc", "abc"])):
            r = run([tomocell, "cell", "-initial_soc", val, "-output", "bad.csv"], tmp, expect=1)
            miss = [w for w in words if w not in r.stderr]
            if miss or "PETSC ERROR" in r.stderr or os.path.exists(os.path.join(tmp, "bad.csv")):
                fails.append(f"bad initial_soc {val!r}: stderr {r.stderr.strip()!r} lacks {miss}")
            r = run(launcher + [tomocell, "run", "roll.yaml", "-initial_soc", val, "-output",
                                "badroll"], tmp, expect=1)
            if [w for w in words if w not in r.stderr] or os.path.exists(
                    os.path.join(tmp, "badroll", "summary.csv")):
                fails.append(f"roll: bad initial_soc {val!r}: {r.stderr.strip()!r}")
    for f in fails:
        print("FAIL:", f)
    if fails:
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
