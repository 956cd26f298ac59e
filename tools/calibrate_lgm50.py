#!/usr/bin/python3
"""The LG M50 calibration (inputs/params/lgm50_calibrated.json) on the
shared bench data, as three `tomocell fit` runs: a
thin wrapper that reads each discharge's current and rest voltage from the
data, prints the exact commands (the ones at the top of inputs/lgm50.yaml)
and runs them. The fitting itself is `tomocell fit` (docs/fit.md, "The LG M50
calibration").

usage: calibrate_lgm50.py TOMOCELL DATA_DIR [MPIEXEC ARGS...]
       (run from the repository root; DATA_DIR: ../shared/validation/cells/lgm50)

DATA_DIR holds the LG M50 bench CSVs (Cell781_0p1C_25degC.csv: C/10;
Cell785/786_0p5C_25degC.csv: C/2; columns Step, Status, Step Time, ...,
Voltage, Current, AhAccu, LogTemp*). Every DCH step (Step 13) is one
discharge from the rest voltage just before it.
  1. cell (SPMe, inputs/fit/lgm50_cell.yaml): the window's top corner
     (neg_sto_max, pos_sto_min) on the first C/10 discharge of Cell781;
  2. cell: the reaction rates and the positive diffusivity (neg_k_factor,
     pos_k_factor, pos_D_factor) on the first C/2 discharge of Cell785;
  3. roll (inputs/lgm50.yaml as it is, on the ranks of MPIEXEC ARGS):
     pos_k_factor again (the roll adds the foils and tabs) with the can's h
     (thermal_h_can_W_m2K), on the voltage and the mid-height thermocouple of
     the same discharge.
Then writes the stage-3 set (its rate) as inputs/params/lgm50_calibrated.json.
Cell786 and the second discharges are not fitted. The deck keeps its h (13.7
W/m2K, from the measured cooling after the C/2 discharges): the fitted 20.9
W/m2K puts the C/2 peak rise 0.8 K below the measured (inputs/lgm50.yaml,
docs/fit.md).

discharges() is also what tests/validation/test_lgm50.py reads the data with.
Before tomocell fit existed this script fitted with scipy (four window ends on
both C/10 discharges, a common rate factor; calibrate_lgm50_roll.py the common
factor again with the roll): superseded, see git history.
"""
import json
import os
import shlex
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
OUT = "inputs/params/lgm50_calibrated.json"


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


def commands(tomocell, data, launcher=()):
    """The three tomocell fit commands (argument lists), in order."""
    c10 = discharges(os.path.join(data, "Cell781_0p1C_25degC.csv"))[0]
    c2 = discharges(os.path.join(data, "Cell785_0p5C_25degC.csv"))[0]
    rows = ["-fit_time_column", "Step Time", "-fit_voltage_column", "Voltage", "-fit_rows",
            "Step=13,Cycle=1"]
    s1 = [tomocell, "fit", "inputs/fit/lgm50_cell.yaml", "-measured",
          os.path.join(data, "Cell781_0p1C_25degC.csv")] + rows + [
          "-experiment", f"Discharge at {c10['I']:.5f} A until 2.5 V", "-initial_soc",
          f"{c10['Vrest']:.5f} V", "-cell_dt_fixed_s", "60", "-fit_params",
          "neg_sto_max:0.85:0.999,pos_sto_min:0.15:0.35", "-output", "output/lgm50_c10"]
    s2 = [tomocell, "fit", "inputs/fit/lgm50_cell.yaml", "-params",
          "output/lgm50_c10/fit_params.json", "-measured",
          os.path.join(data, "Cell785_0p5C_25degC.csv")] + rows + [
          "-experiment", f"Discharge at {c2['I']:.5f} A until 2.5 V", "-initial_soc",
          f"{c2['Vrest']:.5f} V", "-cell_dt_fixed_s", "10", "-fit_params",
          "neg_k_factor:0.2:5,pos_k_factor:0.2:5,pos_D_factor:0.2:5", "-output", "output/lgm50_c2"]
    T0 = 273.15 + float(c2["T"]["LogTempMid"][0])
    s3 = list(launcher) + [tomocell, "fit", "inputs/lgm50.yaml", "-params",
                           "output/lgm50_c2/fit_params.json", "-measured",
                           os.path.join(data, "Cell785_0p5C_25degC.csv")] + rows + [
        "-fit_temperature_columns", "T_can_mid_K=LogTempMid", "-fit_temperature_unit", "C",
        "-experiment", f"Discharge at {c2['I']:.5f} A until 2.5 V", "-initial_soc",
        f"{c2['Vrest']:.4f} V", "-ambient_temperature", f"{T0:.2f}", "-initial_temperature",
        f"{T0:.2f}", "-fit_params", "pos_k_factor:0.2:5,thermal_h_can_W_m2K:5:30",
        "-fit_tao_max_it", "10", "-output", "output/lgm50_roll"]
    return [s1, s2, s3]


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    tomocell, data = sys.argv[1], sys.argv[2]
    os.chdir(ROOT)
    for cmd in commands(tomocell, data, sys.argv[3:]):
        print("+", " ".join(shlex.quote(a) for a in cmd), flush=True)
        subprocess.run(cmd, check=True)
    with open("output/lgm50_roll/fit_params.json") as f:
        s = json.load(f)
    s["Header"]["Title"] = "LG M50 (21700), calibrated on the shared bench data from ORegan2022"
    s["Header"]["Description"] = (
        "inputs/params/oregan2022.json calibrated by tomocell fit on ../shared/validation/cells/lgm50 "
        "(tools/calibrate_lgm50.py; the commands at the top of inputs/lgm50.yaml): the window's top "
        "corner on the first C/10 discharge of Cell781 (cell, SPMe), factors on both reaction rate "
        "constants and the positive diffusivity on the first C/2 discharge of Cell785 (cell, SPMe), "
        "the positive rate factor again with the roll of inputs/lgm50.yaml. The O'Regan 2022 "
        "description: " + s["Header"]["Description"])
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        json.dump(s, f, indent=2)
    os.replace(tmp, OUT)
    print("wrote", OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
