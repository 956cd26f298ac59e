#!/usr/bin/python3
"""Bad input to `tomocell cell` gives a clear message, exit status 1 and no output file.

usage: test_cell_bad_input.py TOMOCELL

Each case runs in a fresh temporary directory with a 120 s timeout and checks
the exit status, the words on stderr (no PETSc traceback), and that neither
the CSV nor a temporary file was left behind.
"""
import json
import os
import subprocess
import sys
import tempfile

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
         ['"Discharge at 1X until 2.5 V"', "position 15", "expected C, A or W", "    ^"]),
        ("malformed experiment (verb)", ["-experiment", "Discharge at 1C until 2.5 V; Dance for 1 hour"],
         ['"Dance for 1 hour"', "position 1", "expected 'Discharge', 'Charge', 'Rest' or 'Hold'"]),
        ("malformed experiment (no cut-off)", ["-experiment", "Discharge at 1C"],
         ['"Discharge at 1C"', "position 16", "until <v> V"]),
        ("cut-off on the wrong side", ["-experiment", "Discharge at 1C until 4.5 V"],
         ["cut-off 4.5 V can never be reached", "discharge starts at"]),
        ("charge cut-off below the start", ["-experiment", "Charge at 1C until 3 V"],
         ["cut-off 3 V can never be reached", "charge starts at"]),
        ("cut-off beyond the electrodes' range", ["-model", "spm", "-experiment", "Charge at 1C until 6 V"],
         ["Charge at 1C until 6 V", "can never be reached"]),
        ("initial SOC out of range", ["-initial_soc", "1.5"], ["initial_soc", "1.5", "out of range"]),
        ("unknown model", ["-model", "p2d"], ["model", "p2d", "spm", "dfn"]),
    ]


def main():
    tomocell = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        cs = cases(tmp)
        for name, args, words in cs:
            out = os.path.join(tmp, "out", "cell.csv")
            cmd = [tomocell, "cell"] + args + ["-output", out]
            try:
                r = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=120)
            except subprocess.TimeoutExpired:
                print(f"FAIL {name}: timed out")
                failures += 1
                continue
            problems = []
            if r.returncode != 1:
                problems.append(f"exit status {r.returncode}, expected 1")
            for w in words:
                if w not in r.stderr:
                    problems.append(f"stderr lacks {w!r}")
            if "PETSC ERROR" in r.stderr or "Segmentation" in r.stderr:
                problems.append("stderr shows a traceback or crash instead of a clear message")
            if os.path.exists(out) or os.path.exists(os.path.join(tmp, "out")):
                problems.append("output left behind")
            left = [f for f in os.listdir(tmp) if ".tmp-" in f]
            if left:
                problems.append(f"temporary files left: {left}")
            if problems:
                failures += 1
                print(f"FAIL {name}: " + "; ".join(problems))
                print("  stderr: " + r.stderr.strip().replace("\n", "\n          "))
            else:
                print(f"ok   {name}: {r.stderr.strip().splitlines()[0]}")
        print(f"{len(cs) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
