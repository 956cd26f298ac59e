#!/usr/bin/python3
"""PyBaMM experiment forms that tomocell cell accepts (issue 19, item 5, in part).

usage: test_experiment_grammar.py TOMOCELL

Each accepted form runs `tomocell cell` (Chen2020, SPM, isothermal) and checks
the CSV: the step ends where the form says (time or voltage), powers in mW
give I V = P, days are 86400 s, a full stop ends a step as in a sentence.
Without -experiment the discharge ends at the set's lower voltage cut-off.
Per-step temperatures ('at 25oC') and resistances ('Ohm') run in tomocell cell
(their numbers: experiment_corpus); tomocell run, whose network models neither,
refuses them with a message that says so, exit 1, no output.
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

TC = os.path.abspath(sys.argv[1])
fails = 0


def check(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    fails += 0 if ok else 1


def run(expt, tmp):
    out = os.path.join(tmp, "c.csv")
    if os.path.exists(out):
        os.remove(out)
    r = subprocess.run([TC, "cell", "-model", "spm", "-thermal", "isothermal", "-experiment", expt, "-output", out],
                       capture_output=True, text=True, timeout=300, cwd=tmp)
    rows = list(csv.DictReader(open(out))) if r.returncode == 0 else []
    return r, [{k: float(v) for k, v in row.items()} for row in rows]


tmp = tempfile.mkdtemp(prefix="tc-expt-")
try:
    r, rows = run("Discharge at C/10 for 1 minute.", tmp)
    check(r.returncode == 0 and rows[-1]["time_s"] == 60, "full stop after a step: 'Discharge at C/10 for 1 minute.'")
    r, rows = run("Discharge at 200mW for 1 minute", tmp)
    check(r.returncode == 0 and all(abs(x["current_A"] * x["voltage_V"] - 0.2) < 1e-6 for x in rows[1:]),
          "200mW: I V = 0.2 W on every row")
    r, rows = run("Rest for 0.0001 day", tmp)
    check(r.returncode == 0 and abs(rows[-1]["time_s"] - 8.64) < 1e-9, "0.0001 day = 8.64 s (%s)" %
          (rows[-1]["time_s"] if rows else None))
    r, rows = run("Discharge at 1C until 3.3 V or 2 minutes", tmp)
    check(r.returncode == 0 and rows[-1]["time_s"] == 120 and rows[-1]["voltage_V"] > 3.3,
          "'until 3.3 V or 2 minutes': the time ends it (V %.4f)" % (rows[-1]["voltage_V"] if rows else 0))
    r, rows = run("Discharge at 1C until 4.0 V or 1 hour", tmp)
    check(r.returncode == 0 and rows[-1]["time_s"] < 3600 and abs(rows[-1]["voltage_V"] - 4.0) < 1e-6,
          "'until 4.0 V or 1 hour': the voltage ends it (t %.1f s)" % (rows[-1]["time_s"] if rows else 0))
    r, rows = run("Hold at 4.0 V until C/50 or 1 minute", tmp)
    check(r.returncode == 0 and rows[-1]["time_s"] == 60 and all(abs(x["voltage_V"] - 4.0) < 1e-9 for x in rows[1:]),
          "'Hold at 4.0 V until C/50 or 1 minute'")
    # no experiment given: 1C discharge to the set's own lower cut-off (Marquis2019: 3.105 V)
    out = os.path.join(tmp, "m.csv")
    r = subprocess.run([TC, "cell", "-params", "marquis2019", "-model", "spm", "-output", out],
                       capture_output=True, text=True, timeout=300, cwd=tmp)
    rows = list(csv.DictReader(open(out))) if r.returncode == 0 else []
    check(r.returncode == 0 and abs(float(rows[-1]["voltage_V"]) - 3.105) < 1e-6,
          "default experiment ends at the set's lower cut-off 3.105 V (%s)" % (rows[-1]["voltage_V"] if rows else None))
    for expt in ("Discharge at 1C for 1 minute at 25oC", "Discharge at 2 Ohm for 1 minute"):
        r, rows = run(expt, tmp)
        check(r.returncode == 0 and rows and rows[-1]["time_s"] == 60, "tomocell cell runs %r" % expt)
    demo = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "inputs", "demo.yaml")
    for expt, words in (("Rest for 1 minute at 25oC", "per-step temperatures are not modelled for this system"),
                        ("Discharge at 2 Ohm for 1 minute", "constant-resistance steps (Ohm) are not modelled for this system")):
        out = os.path.join(tmp, "roll")
        r = subprocess.run([TC, "run", demo, "-experiment", expt, "-output", out],
                           capture_output=True, text=True, timeout=300, cwd=tmp)
        check(r.returncode == 1 and words in r.stderr and not os.path.exists(out)
              and "PETSC ERROR" not in r.stderr, "tomocell run refuses with a reason: %r" % expt)
    # tomocell run: step and cycle columns in summary.csv, the counts in summary.json
    small = os.path.join(tmp, "small.yaml")
    with open(small, "w") as f:
        f.write("job: roll\npreset: 18650\nnetwork:\n  ds_m: 20e-3\n  nz: 1\nmodel: spm\n"
                "thermal: isothermal\nplots: false\n"
                "experiment: \"[Discharge at 1C for 1 minute; Rest for 1 minute] * 2\"\n")
    out = os.path.join(tmp, "rollc")
    r = subprocess.run([TC, "run", small, "-output", out], capture_output=True, text=True, timeout=600, cwd=tmp)
    rows = list(csv.DictReader(open(os.path.join(out, "summary.csv")))) if r.returncode == 0 else []
    js = json.load(open(os.path.join(out, "summary.json")))["steps"] if r.returncode == 0 else {}
    ok = r.returncode == 0 and rows and sorted({int(x["step"]) for x in rows}) == [1, 2, 3, 4]
    for x in rows:
        st, cy, t = int(x["step"]), int(x["cycle"]), float(x["time_s"])
        ok = ok and cy == (st + 1) // 2 and 60 * (st - 1) - 1e-9 <= t <= 60 * st + 1e-9
    check(ok and js.get("experiment_steps") == 4 and js.get("experiment_steps_run") == 4 and js.get("cycles_run") == 2,
          "tomocell run: summary.csv step/cycle columns, summary.json steps %s" % js)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print("%d failure(s)" % fails)
sys.exit(1 if fails else 0)
