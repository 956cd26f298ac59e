#!/usr/bin/python3
"""Bad input to `tomocell cell` gives a clear message, exit status 1 and no output file.

usage: test_cell_bad_input.py TOMOCELL

Each case runs in a fresh temporary directory with a 120 s timeout and checks
the exit status, the words on stderr (no PETSc traceback), and that neither
the CSV nor a temporary file was left behind.
"""
import json
import os
import sys

import badinput

HERE = os.path.dirname(os.path.abspath(__file__))
CHEN = os.path.join(HERE, "..", "..", "inputs", "params", "chen2020.json")


def variant(tmp, name, edit):
    with open(CHEN) as f:
        d = json.load(f)
    edit(d)
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        json.dump(d, f, indent=1)
    return path


def cases(tmp):
    with open(os.path.join(tmp, "broken.json"), "w") as f:
        f.write('{\n  "Header": {"BPX": 0.4},\n  "Parameterisation": {\n    "Cell": {"Electrode area [m2]": 0.1,,}\n  }\n}\n')
    neg = variant(tmp, "negthick.json", lambda d: d["Parameterisation"]["Negative electrode"].update({"Thickness [m]": -8.52e-05}))
    miss = variant(tmp, "missing.json", lambda d: d["Parameterisation"]["Positive electrode"].pop("Maximum concentration [mol.m-3]"))
    expr = variant(tmp, "expr.json", lambda d: d["Parameterisation"]["Negative electrode"].update({"OCP [V]": "1.9793 * exq(-39.3631 * x) + 0.2482"}))
    notbpx = os.path.join(tmp, "notbpx.json")
    with open(notbpx, "w") as f:
        f.write('{"a": 1}\n')
    return [
        # name, arguments, words expected on stderr
        ("unknown parameter set", ["-params", "chen2021"], ["unknown parameter set 'chen2021'", "chen2020"]),
        ("malformed BPX (JSON syntax)", ["-params", "broken.json"], ["broken.json:4:", "malformed JSON"]),
        ("not a BPX file", ["-params", "notbpx.json"], ["notbpx.json", "not a BPX parameter set"]),
        ("BPX missing field", ["-params", miss], ["missing field", "Positive electrode", "Maximum concentration [mol.m-3]"]),
        ("negative thickness", ["-params", neg], ["Negative electrode", "Thickness [m]", "-8.52e-05", "not physical", "positive"]),
        ("bad OCP expression", ["-params", expr], ["OCP [V]", "exq", "column 10", "unknown name"]),
        ("malformed experiment (unit)", ["-experiment", "Discharge at 1X until 2.5 V"],
         ['"Discharge at 1X until 2.5 V"', "position 15", "expected C, A, W or Ohm", "    ^"]),
        ("malformed experiment (verb)", ["-experiment", "Discharge at 1C until 2.5 V; Dance for 1 hour"],
         ['"Dance for 1 hour"', "position 1", "expected 'Discharge', 'Charge', 'Rest', 'Hold' or 'Run'"]),
        ("malformed experiment (no cut-off)", ["-experiment", "Discharge at 1C"],
         ['"Discharge at 1C"', "position 16", "until <v> V"]),
        ("cut-off on the wrong side", ["-experiment", "Discharge at 1C until 4.5 V"],
         ["cut-off 4.5 V can never be reached", "above the set's upper voltage cut-off 4.2 V"]),
        ("charge cut-off below the start", ["-experiment", "Charge at 1C until 3 V"],
         ["cut-off 3 V can never be reached", "charge starts at"]),
        ("cut-off beyond the electrodes' range", ["-model", "spm", "-experiment", "Charge at 1C until 6 V"],
         ["Charge at 1C until 6 V", "can never be reached"]),
        ("initial SOC out of range", ["-initial_soc", "1.5"], ["initial_soc", "1.5", "out of range"]),
        ("unknown model", ["-model", "p2d"], ["model", "p2d", "spm", "dfn"]),
    ]


def cases_with_output(tmp):
    # every case writes to out/cell.csv, and neither it nor out/ may be left
    return [(name, args + ["-output", os.path.join("out", "cell.csv")], words, "out")
            for name, args, words in cases(tmp)]


if __name__ == "__main__":
    sys.exit(badinput.run_all("cell", cases_with_output, sys.argv[1:]))
