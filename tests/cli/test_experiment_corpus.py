#!/usr/bin/python3
"""PyBaMM's documented experiment strings, read by tomocell as PyBaMM reads them
(issue 19, item 5), and numeric checks of the grammar's parts.

usage: test_experiment_corpus.py TOMOCELL

Part 1, the corpus: every string below comes from PyBaMM's documentation or
examples (the source is named with each group). `tomocell cell
-parse_experiment` prints the step list it parsed; each must equal the list
PyBaMM's parser (pybamm.step.string, pybamm.Experiment) gives, written out
here by hand as PyBaMM's step classes hold it:

  (kind, value, unit, duration_s, termination, temperature_K, period_s, cycle)

kind is PyBaMM's step class (Current, CRate, Power, Resistance, Voltage;
"Rest" is Current 0); value is signed as in PyBaMM (charge negative), in A,
C-rate, W, Ohm or V (mA, mW -> A, W); duration_s is the duration given in
the string (None: none given; PyBaMM then applies a default of 24 h, or 2/C h
for C-rate steps, where tomocell runs to the cut-off, see docs/cell.md);
termination lists PyBaMM's terminations, ("voltage", V), ("current", A) or
("C-rate", C); cycle counts from 1 as PyBaMM's cycles do (every string of the
list is one cycle, a tuple is one cycle, [(...)] * N repeats it). A drive
cycle step ("Run US06 (A)", PyBaMM 22.x) has kind current/power/voltage of
the table and value None; its default duration is the table's last time.

Part 2, numbers (Chen2020, SPM, isothermal unless said):
  * a drive cycle of constant current equals the constant-current step (every
    row's time and voltage to 1e-9);
  * a timed step that reaches the set's lower cut-off stops there: the last
    voltage is 2.5 V (1e-6 V), exit 0, the summary says which step, the
    following step does not run (PyBaMM stops the experiment);
  * cycles by repetition: step and cycle columns of the CSV, counts in the JSON;
  * a resistance step: V = I R on every row;
  * per-step temperatures: isothermal rows at the step's temperature, then back
    at the run's; lumped: the cooling curve towards each step's ambient
    against the exact exponential;
  * a period: the rows of that step at its multiples;
  * drive cycles: the current on every row is the table's linear interpolation
    (repeated past its end, as PyBaMM repeats a drive cycle), a power drive
    cycle gives I V = P, and a drive cycle that reaches the cut-off stops there.
"""
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

TC = os.path.abspath(sys.argv[1])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
fails = 0


def check(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    fails += 0 if ok else 1


V, I, C = "voltage", "current", "C-rate"
H = 3600.0
M = 60.0

# ---- part 1: the corpus ------------------------------------------------------
# (tomocell's string, [expected steps]); a step: (kind, value, unit, duration_s,
# termination, temperature_K, period_s); cycles are numbered in the loop below
# unless a group gives them.
CORPUS = [
    # pybamm/experiment/step/base_step.py, _examples (PyBaMM 23.x-25.x)
    ("Discharge at 1C for 0.5 hours", [("CRate", 1, "C", 0.5 * H, [], None, None)]),
    ("Discharge at C/20 for 0.5 hours", [("CRate", 1 / 20, "C", 0.5 * H, [], None, None)]),
    ("Charge at 0.5 C for 45 minutes", [("CRate", -0.5, "C", 45 * M, [], None, None)]),
    ("Discharge at 1 A for 0.5 hours", [("Current", 1, "A", 0.5 * H, [], None, None)]),
    ("Charge at 200 mA for 45 minutes", [("Current", -0.2, "A", 45 * M, [], None, None)]),
    ("Discharge at 1W for 0.5 hours", [("Power", 1, "W", 0.5 * H, [], None, None)]),
    ("Charge at 200mW for 45 minutes", [("Power", -0.2, "W", 45 * M, [], None, None)]),
    ("Rest for 10 minutes", [("Current", 0, "A", 10 * M, [], None, None)]),
    ("Hold at 1V for 20 seconds", [("Voltage", 1, "V", 20, [], None, None)]),
    ("Charge at 1 C until 4.1V", [("CRate", -1, "C", None, [(V, 4.1)], None, None)]),
    ("Hold at 4.1 V until 50mA", [("Voltage", 4.1, "V", None, [(I, 0.05)], None, None)]),
    ("Hold at 3V until C/50", [("Voltage", 3, "V", None, [(C, 1 / 50)], None, None)]),
    ("Discharge at C/3 for 2 hours or until 2.5 V", [("CRate", 1 / 3, "C", 2 * H, [(V, 2.5)], None, None)]),
    # pybamm/experiments/experiment.py, examples (PyBaMM 22.x): periods and drive cycles
    ("Discharge at 1 W for 0.5 hours", [("Power", 1, "W", 0.5 * H, [], None, None)]),
    ("Charge at 200mA for 45 minutes (1 minute period)", [("Current", -0.2, "A", 45 * M, [], None, 60)]),
    ("Charge at 200 mW for 45 minutes", [("Power", -0.2, "W", 45 * M, [], None, None)]),
    ("Rest for 10 minutes (5 minute period)", [("Current", 0, "A", 10 * M, [], None, 300)]),
    ("Hold at 1 V for 20 seconds", [("Voltage", 1, "V", 20, [], None, None)]),
    ("Hold at 4.1 V until 50 mA", [("Voltage", 4.1, "V", None, [(I, 0.05)], None, None)]),
    ("Run US06 (A)", [("drive:current", None, "A", "table", [], None, None)]),
    ("Run US06 (A) for 20 seconds", [("drive:current", None, "A", 20, [], None, None)]),
    ("Run US06 (V) for 45 minutes", [("drive:voltage", None, "V", 45 * M, [], None, None)]),
    ("Run US06 (W) for 2 hours", [("drive:power", None, "W", 2 * H, [], None, None)]),
    # docs: pybamm.step.string and pybamm.Experiment docstrings
    ("Charge at 1 C for 1 hour", [("CRate", -1, "C", H, [], None, None)]),
    ("Charge at 1 C until 4.2 V", [("CRate", -1, "C", None, [(V, 4.2)], None, None)]),
    ("Charge at 1 C for 1 hour or until 4.2 V", [("CRate", -1, "C", H, [(V, 4.2)], None, None)]),
    ("Charge at 1 C for 1 hour or until 4.2 V at 25oC", [("CRate", -1, "C", H, [(V, 4.2)], 298.15, None)]),
    # docs: the experiments guide
    ("Discharge at 1C for 1 hour or until 3.0V", [("CRate", 1, "C", H, [(V, 3.0)], None, None)]),
    ("Rest for 30 minutes", [("Current", 0, "A", 30 * M, [], None, None)]),
    ("Charge at 0.5C until 4.2V", [("CRate", -0.5, "C", None, [(V, 4.2)], None, None)]),
    ("Hold at 4.2V until 50mA", [("Voltage", 4.2, "V", None, [(I, 0.05)], None, None)]),
    ("Discharge at 1C for 3600 seconds or until 2.5V", [("CRate", 1, "C", 3600, [(V, 2.5)], None, None)]),
    ("Charge at 2A for 30 minutes", [("Current", -2, "A", 30 * M, [], None, None)]),
    ("Discharge at C/5 for 10 hours or until 3.3V", [("CRate", 1 / 5, "C", 10 * H, [(V, 3.3)], None, None)]),
    ("Rest for 3600 seconds", [("Current", 0, "A", 3600, [], None, None)]),
    ("Hold at 4.2V until C/20", [("Voltage", 4.2, "V", None, [(C, 1 / 20)], None, None)]),
    # examples/scripts/run_ecm.py: temperatures per step and periods
    ("Discharge at C/10 for 10 hours or until 3.3 V at 15oC",
     [("CRate", 0.1, "C", 10 * H, [(V, 3.3)], 288.15, None)]),
    ("Rest for 30 minutes at 15oC", [("Current", 0, "A", 30 * M, [], 288.15, None)]),
    ("Rest for 2 hours at 35oC", [("Current", 0, "A", 2 * H, [], 308.15, None)]),
    ("Charge at 100 A until 4.1 V at 35oC (1 second period)",
     [("Current", -100, "A", None, [(V, 4.1)], 308.15, 1)]),
    ("Hold at 4.1 V until 5 A at 35oC (1 seconds period)",
     [("Voltage", 4.1, "V", None, [(I, 5)], 308.15, 1)]),
    # resistance: pybamm.step.string reads "<x> Ohm" (_convert_electric) as a
    # Resistance step, positive for discharge
    ("Discharge at 1 Ohm for 1 hour", [("Resistance", 1, "Ohm", H, [], None, None)]),
    ("Charge at 2 Ohm for 10 minutes", [("Resistance", -2, "Ohm", 10 * M, [], None, None)]),
]

# cycles: (tomocell's string, steps of one cycle, repetitions)
CYCLES = [
    # PyBaMM README: pybamm.Experiment([(...5 steps...)] * 3)
    ("[Discharge at C/10 for 10 hours or until 3.3 V; Rest for 1 hour; Charge at 1 A until 4.1 V; "
     "Hold at 4.1 V until 50 mA; Rest for 1 hour] * 3",
     [("CRate", 0.1, "C", 10 * H, [(V, 3.3)], None, None), ("Current", 0, "A", H, [], None, None),
      ("Current", -1, "A", None, [(V, 4.1)], None, None), ("Voltage", 4.1, "V", None, [(I, 0.05)], None, None),
      ("Current", 0, "A", H, [], None, None)], 3),
    # examples/scripts/experimental_protocols/gitt.py: [("Discharge at C/20 for 1 hour", "Rest for 1 hour")] * 20
    ("[Discharge at C/20 for 1 hour; Rest for 1 hour] * 20",
     [("CRate", 1 / 20, "C", H, [], None, None), ("Current", 0, "A", H, [], None, None)], 20),
    # examples/scripts/run_ecm.py (one tuple: one cycle of 7 steps)
    ("[Discharge at C/10 for 10 hours or until 3.3 V at 15oC; Rest for 30 minutes at 15oC; "
     "Rest for 2 hours at 35oC; Charge at 100 A until 4.1 V at 35oC (1 second period); "
     "Hold at 4.1 V until 5 A at 35oC (1 seconds period); Rest for 30 minutes at 35oC; "
     "Rest for 1 hour at 25oC]",
     [("CRate", 0.1, "C", 10 * H, [(V, 3.3)], 288.15, None), ("Current", 0, "A", 30 * M, [], 288.15, None),
      ("Current", 0, "A", 2 * H, [], 308.15, None), ("Current", -100, "A", None, [(V, 4.1)], 308.15, 1),
      ("Voltage", 4.1, "V", None, [(I, 5)], 308.15, 1), ("Current", 0, "A", 30 * M, [], 308.15, None),
      ("Current", 0, "A", H, [], 298.15, None)], 1),
]
# a list of strings: every string its own cycle (pybamm.Experiment(["...", "..."] * 2),
# examples/scripts: "Discharge at 1C until 3.6V", "Rest for 1 hour", twice -> 4 cycles)
LIST4 = ("Discharge at 1C until 3.6V; Rest for 1 hour; Discharge at 1C until 3.6V; Rest for 1 hour",
         [("CRate", 1, "C", None, [(V, 3.6)], None, None), ("Current", 0, "A", H, [], None, None)] * 2)

tmp = tempfile.mkdtemp(prefix="tc-corpus-")
US06 = os.path.join(tmp, "us06.csv")
# a made-up speed-like profile (not the real US06): 0..30 s, 1 s apart
with open(US06, "w") as f:
    f.write("Time [s],Current [A]\n")
    for k in range(31):
        f.write("%d,%.6g\n" % (k, 2.0 + 1.5 * math.sin(k / 3.0)))
US06_END = 30.0

KIND = {"CRate": "C-rate", "Current": "current", "Power": "power", "Resistance": "resistance",
        "Voltage": "voltage"}


def parse(expt):
    for attempt in range(3):
        r = subprocess.run([TC, "cell", "-parse_experiment", "-drive_cycle", "US06=" + US06, "-experiment", expt],
                           capture_output=True, text=True, timeout=120, cwd=tmp)
        # Open MPI's own start-up failing under machine load (its banner, not a
        # tomocell message) is retried; it says nothing about the parser
        if r.returncode == 0 or r.stderr.startswith("tomocell:"):
            break
        print("note: attempt %d: MPI start-up failed, retrying: %s" % (attempt + 1, r.stderr.strip()[:300]))
    if r.returncode != 0:
        return None, r.stderr.strip() or "exit %d without a message" % r.returncode
    return [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")], ""


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-12 * max(1.0, abs(b))


def same(got, exp, cycle):
    kind, value, unit, dur, term, T, per = exp
    why = []
    if kind.startswith("drive:"):
        if got["kind"] != kind[6:] or got["drive_cycle"] != "US06":
            why.append("kind %s/%s" % (got["kind"], got["drive_cycle"]))
        dur = US06_END if dur == "table" else dur
    else:
        if got["kind"] != KIND[kind]:
            why.append("kind %s, not %s" % (got["kind"], KIND[kind]))
        if not close(got["value"], value):
            why.append("value %r, not %r" % (got["value"], value))
    if got["unit"] != unit:
        why.append("unit %s, not %s" % (got["unit"], unit))
    if not close(got["duration_s"], dur):
        why.append("duration %r, not %r" % (got["duration_s"], dur))
    gt = [(x["type"], x["value"]) for x in got["termination"]]
    if len(gt) != len(term) or any(a[0] != b[0] or not close(a[1], b[1]) for a, b in zip(gt, term)):
        why.append("termination %r, not %r" % (gt, term))
    if not close(got["temperature_K"], T):
        why.append("temperature %r, not %r" % (got["temperature_K"], T))
    if not close(got["period_s"], per):
        why.append("period %r, not %r" % (got["period_s"], per))
    if got["cycle"] != cycle:
        why.append("cycle %d, not %d" % (got["cycle"], cycle))
    return why


def run(args, out="c.csv"):
    path = os.path.join(tmp, out)
    for p in (path, path[:-4] + ".json"):
        if os.path.exists(p):
            os.remove(p)
    r = subprocess.run([TC, "cell", "-model", "spm", "-output", path] + args,
                       capture_output=True, text=True, timeout=600, cwd=tmp)
    rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(open(path))] if r.returncode == 0 else []
    js = json.load(open(path[:-4] + ".json")) if r.returncode == 0 else {}
    return r, rows, js


try:
    n = 0
    for expt, steps in CORPUS:
        got, err = parse(expt)
        n += 1
        why = err and [err] or ([] if len(got) == len(steps) else ["%d steps, not %d" % (len(got), len(steps))])
        if not why:
            for g, e in zip(got, steps):
                why += same(g, e, 1)
        check(not why, "corpus %r%s" % (expt, ": " + "; ".join(why) if why else ""))
    for expt, cyc, reps in CYCLES:
        got, err = parse(expt)
        n += 1
        exp = [(s, c + 1) for c in range(reps) for s in cyc]
        why = err and [err] or ([] if len(got) == len(exp) else ["%d steps, not %d" % (len(got), len(exp))])
        if not why:
            for g, (e, c) in zip(got, exp):
                why += same(g, e, c)
        check(not why, "corpus cycles %r: %d steps in %d cycle(s)%s" % (expt[:60], len(exp), reps,
                                                                         ": " + "; ".join(why[:3]) if why else ""))
    got, err = parse(LIST4[0])
    n += 1
    why = err and [err] or []
    if not why:
        for k, (g, e) in enumerate(zip(got, LIST4[1])):
            why += same(g, e, k + 1)
    check(not why and len(got) == 4, "corpus list of 4 strings: 4 cycles%s" % (": " + "; ".join(why) if why else ""))
    check(n >= 30 and sum(len(s) for _, s in CORPUS) >= 30, "corpus size: %d entries" % n)
    got, err = parse("Rest for 1 hour at -10oC; Rest for 1 hour at 0 oC; Rest for 1 hour at 253.15 K")
    check(got is not None and [round(g["temperature_K"], 9) for g in got] == [263.15, 273.15, 253.15],
          "temperatures below 0oC and in K: %s" % (err or [g["temperature_K"] for g in got]))
    got, err = parse("[Rest for 1 minute; Rest for 2 minutes;] * 2;")
    check(got is not None and [g["cycle"] for g in got] == [1, 1, 2, 2],
          "empty pieces (a trailing ';' inside and after a cycle) are skipped: %s" % (err or [g["cycle"] for g in got]))
    # not PyBaMM: refused with a reason, nothing written
    for expt, words in (("Discharge at 1C for 1 minute at 25 furlongs", "temperature unit"),
                        ("Run WLTP (A)", "unknown drive cycle"),
                        ("Run US06 (X)", "(A) current, (W) power or (V) voltage"),
                        ("[Discharge at 1C for 1 minute] * 0", "whole number N"),
                        ("[Discharge at 1C for 1 minute; [Rest for 1 minute]] * 2", "do not nest"),
                        ("Discharge at 1C for 1 minute] * 2", "without a matching '['"),
                        ("Rest for 1 minute (1 minute peroid)", "period"),
                        ("[ ] * 2", "an empty cycle")):
        got, err = parse(expt)
        check(got is None and words in err and err.startswith("tomocell: error:") and "PETSC ERROR" not in err,
              "refused: %r (%s)" % (expt, err[:110] or got))

    # ---- part 2: numbers -----------------------------------------------------
    cc = os.path.join(tmp, "cc.csv")
    with open(cc, "w") as f:
        f.write("time_s,current_A\n" + "".join("%d,5\n" % t for t in range(0, 601, 10)))
    r1, a, _ = run(["-experiment", "Discharge at 5 A for 10 minutes"], "a.csv")
    r2, b, _ = run(["-drive_cycle", "CC=" + cc, "-experiment", "Run CC (A)"], "b.csv")
    dv = max((abs(x["voltage_V"] - y["voltage_V"]) + abs(x["time_s"] - y["time_s"]) for x, y in zip(a, b)),
             default=1)
    check(r1.returncode == 0 and r2.returncode == 0 and len(a) == len(b) and dv <= 1e-9,
          "constant-current drive cycle = 'Discharge at 5 A for 10 minutes': %d rows, max |dV| + |dt| %.2e" %
          (len(b), dv))
    bcc = b
    r1, a, _ = run(["-model", "dfn", "-experiment", "Discharge at 5 A for 10 minutes"], "a.csv")
    r2, b, _ = run(["-model", "dfn", "-drive_cycle", "CC=" + cc, "-experiment", "Run CC (A)"], "b.csv")
    dv = max((abs(x["voltage_V"] - y["voltage_V"]) + abs(x["time_s"] - y["time_s"]) for x, y in zip(a, b)),
             default=1)
    check(r1.returncode == 0 and r2.returncode == 0 and len(a) == len(b) and dv <= 1e-9,
          "the same with DFN: %d rows, max |dV| + |dt| %.2e" % (len(b), dv))
    cp = os.path.join(tmp, "cp.csv")
    with open(cp, "w") as f:
        f.write("".join("%d,12\n" % t for t in range(0, 121, 5)))
    r1, a, _ = run(["-experiment", "Discharge at 12 W for 2 minutes"], "a.csv")
    r2, b, _ = run(["-drive_cycle", "CP=" + cp, "-experiment", "Run CP (W)"], "b.csv")
    dv = max((abs(x["voltage_V"] - y["voltage_V"]) + abs(x["time_s"] - y["time_s"]) for x, y in zip(a, b)),
             default=1)
    check(r1.returncode == 0 and r2.returncode == 0 and len(a) == len(b) and dv <= 1e-9,
          "constant-power drive cycle = 'Discharge at 12 W for 2 minutes': %d rows, max |dV| + |dt| %.2e" %
          (len(b), dv))
    # deck map form of the same drive cycle
    deck = os.path.join(tmp, "dc.yaml")
    with open(deck, "w") as f:
        f.write("model: spm\nexperiment: Run CC (A)\ndrive_cycle:\n  CC: %s\noutput: %s\n" % (cc, os.path.join(tmp, "d.csv")))
    r = subprocess.run([TC, "cell", deck], capture_output=True, text=True, timeout=300, cwd=tmp)
    d = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(open(os.path.join(tmp, "d.csv")))] \
        if r.returncode == 0 else []
    check(r.returncode == 0 and len(d) == len(bcc) and all(x["voltage_V"] == y["voltage_V"] for x, y in zip(bcc, d)),
          "drive_cycle: {CC: file} in a deck = -drive_cycle CC=file (%s)" % r.stderr.strip()[:100])

    r, rows, js = run(["-experiment", "Discharge at 1C for 2 hours; Rest for 1 hour"])
    last = rows[-1] if rows else {}
    check(r.returncode == 0 and abs(last.get("voltage_V", 0) - 2.5) < 1e-6 and last.get("time_s", 1e9) < 2 * H
          and all(x["step"] == 1 for x in rows) and js["results"]["experiment_steps_run"] == 1
          and "lower voltage cut-off 2.5 V" in js["termination"] and "step 1" in js["termination"]
          and "the experiment stopped" in r.stdout,
          "a timed step reaching the cut-off stops at %.7f V at t = %.1f s, the rest does not run (%s)" %
          (last.get("voltage_V", 0), last.get("time_s", 0), js.get("termination")))
    r, rows, js = run(["-experiment", "Charge at 1C for 2 hours", "-initial_soc", "0.2"])
    check(r.returncode == 0 and rows and abs(rows[-1]["voltage_V"] - 4.2) < 1e-6 and "upper voltage cut-off" in js["termination"],
          "a timed charge stops at the upper cut-off 4.2 V (%.7f V)" % (rows[-1]["voltage_V"] if rows else 0))

    r, rows, js = run(["-experiment", "[Discharge at 1C for 5 minutes; Rest for 5 minutes] * 3; Rest for 1 minute"])
    ok = r.returncode == 0 and js.get("cycles") == 4 and js.get("experiment_steps") == 7 \
        and js["results"]["cycles_run"] == 4 and js["results"]["experiment_steps_run"] == 7
    steps = [int(x["step"]) for x in rows]
    ok = ok and sorted(set(steps)) == list(range(1, 8)) and steps == sorted(steps)
    for row in rows:
        st, cy, t = int(row["step"]), int(row["cycle"]), row["time_s"]
        ok = ok and cy == ((st + 1) // 2 if st <= 6 else 4)
        ok = ok and 300 * (st - 1) - 1e-9 <= t <= 300 * st + 1e-9  # step k runs from 300 (k-1) s
    check(ok and abs(rows[-1]["time_s"] - 1860) < 1e-9, "cycles: step and cycle columns, 7 steps in 4 cycles, end %.1f s" %
          (rows[-1]["time_s"] if rows else 0))

    r, rows, _ = run(["-experiment", "Discharge at 0.8 Ohm for 10 minutes"])
    worst = max((abs(x["voltage_V"] - 0.8 * x["current_A"]) for x in rows[1:]), default=1)
    check(r.returncode == 0 and worst < 1e-9 and rows[-1]["current_A"] > 4,
          "resistance 0.8 Ohm: |V - I R| <= %.1e on every row (I from %.3f to %.3f A)" %
          (worst, rows[1]["current_A"] if rows else 0, rows[-1]["current_A"] if rows else 0))

    r, rows, _ = run(["-experiment", "Discharge at 20 W until 6 A"])
    check(r.returncode == 0 and rows and abs(rows[-1]["current_A"] - 6) < 1e-5
          and all(x["current_A"] < 6 + 1e-5 for x in rows),
          "a power step until a current: the current rises to 6 A (%.7f A)" % (rows[-1]["current_A"] if rows else 0))
    r, rows, _ = run(["-experiment", "Discharge at 0.5 Ohm until 6 A"])
    check(r.returncode == 0 and rows and abs(rows[-1]["current_A"] - 6) < 1e-5 and rows[1]["current_A"] > 6,
          "a resistance step until a current: the current falls to 6 A (%.7f A)" % (rows[-1]["current_A"] if rows else 0))
    r, rows, _ = run(["-initial_soc", "0.5", "-experiment",
                      "Charge at 1C until 4.1 V; Hold at 4.1 V until C/50; Hold at 4.1 V until C/20"])
    n3 = [x for x in rows if x["step"] == 3]
    check(r.returncode == 0 and len(n3) == 1 and abs(abs(n3[0]["current_A"]) - 0.1) < 1e-4,
          "a hold already below its cut-off current at its start is skipped (PyBaMM: infeasible at the start): "
          "%d row(s) in step 3" % len(n3))
    got, err = parse("Discharge at 1C until 1 A")
    check(got is None and "never reaches a cut-off current" in err, "refused: a C-rate step until a current")
    r, rows, _ = run(["-experiment", "Discharge at 1C for 5 minutes at 45oC; Rest for 5 minutes"])
    t1 = [x["temperature_K"] for x in rows if x["step"] == 1]
    t2 = [x["temperature_K"] for x in rows if x["step"] == 2]
    check(r.returncode == 0 and t1 and t2 and all(abs(T - 318.15) < 1e-9 for T in t1)
          and all(abs(T - 298.15) < 1e-9 for T in t2),
          "isothermal: step 1 at 318.15 K (its 45oC), step 2 back at the run's 298.15 K")
    # isothermal at 45oC the 1C discharge runs at a higher voltage than at 25oC
    r25, rows25, _ = run(["-experiment", "Discharge at 1C for 5 minutes"], "c25.csv")
    check(r25.returncode == 0 and rows and rows25 and t1 and
          [x for x in rows if x["step"] == 1][-1]["voltage_V"] > rows25[-1]["voltage_V"] + 1e-3,
          "the 45oC step is a different (warmer) cell: V %.4f vs %.4f V at 25oC" %
          ([x for x in rows if x["step"] == 1][-1]["voltage_V"] if rows else 0, rows25[-1]["voltage_V"] if rows25 else 0))
    par = json.load(open(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                      "inputs", "params", "chen2020.json")))["Parameterisation"]["Cell"]
    Cth = par["Density [kg.m-3]"] * par["Specific heat capacity [J.K-1.kg-1]"] * par["Volume [m3]"]
    hA = par["Heat transfer coefficient [W.m-2.K-1]"] * par["External surface area [m2]"]
    r, rows, _ = run(["-thermal", "lumped", "-cell_dt_fixed_s", "1", "-experiment",
                      "Rest for 10 minutes at 45oC; Rest for 10 minutes"])
    worst, T600 = 0.0, None
    for x in rows:
        t, T = x["time_s"], x["temperature_K"]
        if x["step"] == 1:
            ex = 318.15 - 20 * math.exp(-t * hA / Cth)
            T600 = 318.15 - 20 * math.exp(-600 * hA / Cth)
        else:
            ex = 298.15 + (T600 - 298.15) * math.exp(-(t - 600) * hA / Cth)
        worst = max(worst, abs(T - ex))
    check(r.returncode == 0 and worst < 0.01 and len(rows) > 1000,
          "lumped: the cell warms towards the 45oC step's ambient, then cools to the run's: worst |T - exact| %.4f K (tau %.0f s)" %
          (worst, Cth / hA))

    r, rows, _ = run(["-experiment", "Discharge at 1C for 3 minutes; Rest for 10 minutes (2 minute period)"])
    t2 = [x["time_s"] for x in rows if x["step"] == 2]
    want = [180 + 120 * k for k in range(6)]
    check(r.returncode == 0 and len(t2) == len(want) and all(abs(a - b) < 1e-9 for a, b in zip(t2, want)),
          "period: the rest's rows at %s s" % [round(x, 3) for x in t2])

    # drive cycles: the table's linear interpolation, repeated past its end
    prof = [(float(k), float("%.6g" % (2.0 + 1.5 * math.sin(k / 3.0)))) for k in range(31)]  # as written
    loop = 31.0  # last time + first interval

    def interp(tau):
        u = tau - math.floor(tau / loop) * loop
        if u >= 30:
            return prof[-1][1] + (u - 30) * (prof[0][1] - prof[-1][1])
        k = int(math.floor(u))
        return prof[k][1] + (u - k) * (prof[k + 1][1] - prof[k][1])
    r, rows, _ = run(["-drive_cycle", "US06=" + US06, "-experiment", "Run US06 (A) for 100 seconds"])
    worst = max((abs(x["current_A"] - interp(x["time_s"])) for x in rows[1:]), default=1)
    check(r.returncode == 0 and rows and abs(rows[-1]["time_s"] - 100) < 1e-9 and worst < 1e-8,
          "drive cycle (A) repeated to 100 s: current = table interpolation, worst %.1e A over %d rows" %
          (worst, len(rows)))
    pw = os.path.join(tmp, "pw.csv")
    with open(pw, "w") as f:
        f.write("0,10\n120,10\n")
    r, rows, _ = run(["-drive_cycle", "P=" + pw, "-experiment", "Run P (W)"])
    worst = max((abs(x["current_A"] * x["voltage_V"] - 10) for x in rows[1:]), default=1)
    check(r.returncode == 0 and worst < 1e-6 and abs(rows[-1]["time_s"] - 120) < 1e-9,
          "drive cycle (W): I V = 10 W on every row (worst %.1e), 120 s" % worst)
    big = os.path.join(tmp, "big.csv")
    with open(big, "w") as f:
        f.write("0,10\n600,10\n")
    r, rows, js = run(["-drive_cycle", "BIG=" + big, "-experiment", "Run BIG (A) for 2 hours"])
    check(r.returncode == 0 and rows and abs(rows[-1]["voltage_V"] - 2.5) < 1e-6 and "lower voltage cut-off" in js["termination"],
          "a drive cycle reaching the cut-off stops there (%.7f V at %.1f s)" %
          (rows[-1]["voltage_V"] if rows else 0, rows[-1]["time_s"] if rows else 0))
    bad = os.path.join(tmp, "bad.csv")
    with open(bad, "w") as f:
        f.write("0,1\n10,1\n5,1\n")
    r, _, _ = run(["-drive_cycle", "B=" + bad, "-experiment", "Run B (A)"])
    check(r.returncode == 1 and "does not increase" in r.stderr and not os.path.exists(os.path.join(tmp, "c.csv")),
          "a drive cycle whose time goes back is refused: %s" % r.stderr.strip()[:100])

    # restarts: the new parts of a step (drive cycle time, per-step ambient,
    # period, cycles) continue bit for bit from a checkpoint
    pulses = os.path.join(ROOT, "inputs", "drive_cycles", "pulses.csv")
    mine = os.path.join(tmp, "pulses.csv")
    shutil.copy(pulses, mine)
    base = ["cell", "-model", "spm", "-thermal", "lumped", "-drive_cycle", "PULSES=" + mine, "-experiment",
            "[Run PULSES (A); Rest for 5 minutes at 35oC (1 minute period)] * 2; Discharge at 1C for 2 hours"]
    ref = os.path.join(tmp, "rref", "out.csv")
    r0 = subprocess.run([TC] + base + ["-output", ref], capture_output=True, text=True, timeout=600, cwd=tmp)
    nref = len(open(ref).readlines()) if r0.returncode == 0 else 0

    def nowall(p):
        return [x for x in open(p) if '"wall_s"' not in x]
    for n in (40, 120, 150, 260, 300):  # in a drive cycle, a 35oC rest, the second drive cycle and rest, the discharge
        d = os.path.join(tmp, "rs%d" % n)
        out = os.path.join(d, "out.csv")
        r1 = subprocess.run([TC] + base + ["-output", out, "-checkpoint_test_stop_after", str(n)],
                            capture_output=True, text=True, timeout=600, cwd=tmp)
        r2 = subprocess.run([TC] + base + ["-output", out, "-restart", os.path.join(d, "checkpoint.h5")],
                            capture_output=True, text=True, timeout=600, cwd=tmp)
        ok = r0.returncode == 0 and r1.returncode == 3 and r2.returncode == 0 and \
            open(ref).read() == open(out).read() and nowall(ref[:-4] + ".json") == nowall(out[:-4] + ".json")
        check(ok, "stopped after %d steps and restarted: CSV and JSON identical to the uninterrupted run "
              "(%d rows; exits %d, %d)" % (n, nref, r1.returncode, r2.returncode))
    d = os.path.join(tmp, "rchg")
    out = os.path.join(d, "out.csv")
    subprocess.run([TC] + base + ["-output", out, "-checkpoint_test_stop_after", "40"],
                   capture_output=True, text=True, timeout=600, cwd=tmp)
    with open(mine, "a") as f:
        f.write("361,0\n")
    r = subprocess.run([TC] + base + ["-output", out, "-restart", os.path.join(d, "checkpoint.h5")],
                       capture_output=True, text=True, timeout=600, cwd=tmp)
    check(r.returncode == 1 and "drive_cycles_content_hash" in r.stderr,
          "a restart with a changed drive cycle file is refused: %s" % r.stderr.strip()[:160])
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print("%d failure(s)" % fails)
sys.exit(1 if fails else 0)
