#!/usr/bin/python3
"""`tomocell sweep`: expansion, local runs, resubmission, gathering, bad input.

usage: test_sweep.py TOMOCELL DEMO_DECK

The tasks are small demo foils (21 x 5 nodes), so the physics check is exact:
the sheet resistance scales as 1/thickness, R(10 um)/R(20 um) = 2 to solver
tolerance (1e-9 relative).
"""
import csv, math, os, subprocess, sys, tempfile

tomocell, demo = sys.argv[1], os.path.abspath(sys.argv[2])
fail = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        fail.append(msg)


def sweep(tmp, name, text, *args):
    path = os.path.join(tmp, name + ".yaml")
    open(path, "w").write(text)
    return subprocess.run([tomocell, "sweep", path] + list(args), cwd=tmp, capture_output=True,
                          text=True, timeout=600)


def rows(tmp, name, f="tasks.csv"):
    return list(csv.DictReader(open(os.path.join(tmp, "output", name, f))))


head = f"sweep:\n  command: run\n  input: {demo}\n"
with tempfile.TemporaryDirectory() as tmp:
    # expansion: product, zip, lhs, log range
    r = sweep(tmp, "prod", head + "  kind: product\nparameters:\n  foil_thickness_m: [10e-6, 20e-6, 30e-6]\n"
              "  load_current_A: {from: 1, to: 3, num: 2}\n")
    t = rows(tmp, "prod")
    check(r.returncode == 0 and len(t) == 6 and [x["foil_thickness_m"] for x in t] ==
          ["10e-6"] * 2 + ["20e-6"] * 2 + ["30e-6"] * 2 and [x["load_current_A"] for x in t] == ["1", "3"] * 3,
          "product: 3 x 2 = 6 tasks, first parameter slowest")
    r = sweep(tmp, "zip", head + "  kind: zip\nparameters:\n  foil_thickness_m: [10e-6, 20e-6, 30e-6]\n"
              "  load_current_A: [1, 2, 3]\n")
    t = rows(tmp, "zip")
    check(len(t) == 3 and [(x["foil_thickness_m"], x["load_current_A"]) for x in t] ==
          [("10e-6", "1"), ("20e-6", "2"), ("30e-6", "3")], "zip: 3 tasks, values paired")
    r = sweep(tmp, "lhs", head + "  kind: lhs\n  samples: 5\n  seed: 3\nparameters:\n"
              "  foil_thickness_m: {min: 10e-6, max: 20e-6}\n  load_current_A: {min: 1, max: 6}\n")
    t = rows(tmp, "lhs")
    strata = lambda col, lo, hi: sorted(int((float(x[col]) - lo) / (hi - lo) * 5) for x in t)
    check(len(t) == 5 and strata("foil_thickness_m", 10e-6, 20e-6) == [0, 1, 2, 3, 4]
          and strata("load_current_A", 1, 6) == [0, 1, 2, 3, 4], "lhs: 5 tasks, one per stratum per parameter")
    r2 = sweep(tmp, "lhs", head + "  kind: lhs\n  samples: 5\n  seed: 3\nparameters:\n"
               "  foil_thickness_m: {min: 10e-6, max: 20e-6}\n  load_current_A: {min: 1, max: 6}\n")
    check(rows(tmp, "lhs") == t, "lhs: the same seed gives the same tasks")
    r = sweep(tmp, "logr", head + "parameters:\n  foil_sigma_S_m: {from: 1e6, to: 1e8, num: 3, log: true}\n")
    v = [float(x["foil_sigma_S_m"]) for x in rows(tmp, "logr")]
    check(len(v) == 3 and abs(v[1] - 1e7) < 1e-3, f"log range: {v}")

    # run, gather, physics, resubmission
    text = head + ("  kind: product\nparameters:\n  foil_thickness_m: [10e-6, 20e-6]\n  foil_ns: [21]\n"
                   "  foil_nz: [5]\ngather:\n  outputs: [results.effective_resistance_ohm, ranks]\n")
    r = sweep(tmp, "runs", text, "-local")
    res = rows(tmp, "runs", "results.csv")
    ok = r.returncode == 0 and [x["status"] for x in res] == ["done", "done"]
    ratio = float(res[0]["results.effective_resistance_ohm"]) / float(res[1]["results.effective_resistance_ohm"]) if ok else 0
    check(ok and abs(ratio - 2) < 2e-9, f"-local: 2 tasks done, R(10 um)/R(20 um) = {ratio:.12f}")
    check(os.path.exists(os.path.join(tmp, "output/runs/results.h5")), "-gather wrote results.h5")
    r = sweep(tmp, "runs", text, "-local")
    check(r.returncode == 0 and "0 to run (2 done)" in r.stdout, "resubmission skips finished tasks")

    # a failing task is reported with its error and the exit status is 1
    r = sweep(tmp, "bad", head + "parameters:\n  foil_ns: [21, 1]\n  foil_nz: [5]\n", "-local")
    res = rows(tmp, "bad", "results.csv")
    check(r.returncode == 1 and [x["status"] for x in res] == ["done", "failed"] and "foil_ns" in r.stdout
          and "task(s) failed" in r.stderr, "a failing task is listed with its error; exit 1")
    # -gather (what the Slurm gather job runs, afterany): the failed task listed, exit 1;
    # a task without status (never ran / killed) is listed as not finished
    r = sweep(tmp, "bad", head + "parameters:\n  foil_ns: [21, 1]\n  foil_nz: [5]\n", "-gather")
    check(r.returncode == 1 and "task 1 failed (exit 1)" in r.stdout and "foil_ns" in r.stdout
          and "1 of 2 task(s) failed and 0 not finished" in r.stderr,
          f"-gather: the failed task listed, exit 1: {r.stderr.strip()[:100]}")
    r = sweep(tmp, "bad3", head + "parameters:\n  foil_ns: [21, 31]\n  foil_nz: [5]\n", "-task", "0")
    r = sweep(tmp, "bad3", head + "parameters:\n  foil_ns: [21, 31]\n  foil_nz: [5]\n", "-gather")
    check(r.returncode == 1 and "task 1 not finished" in r.stdout and "0 of 2 task(s) failed and 1 not finished"
          in r.stderr and [x["status"] for x in rows(tmp, "bad3", "results.csv")] == ["done", "pending"],
          "-gather: a task that never ended is listed as not finished, exit 1")
    r = sweep(tmp, "runs", text, "-gather")
    check(r.returncode == 0 and "gathered 2 done, 0 failed, 0 pending" in r.stdout, "-gather of a complete sweep: exit 0")

    # bad sweep files
    cases = [
        ("unknown key", head + "parameters:\n  foil_thicknes_m: [1e-5]\n", ["foil_thicknes_m", "did you mean 'foil_thickness_m'"]),
        ("empty range", head + "parameters:\n  load_current_A: {from: 1, to: 2, num: 0}\n", ["load_current_A", "empty range"]),
        ("zip lengths", head + "  kind: zip\nparameters:\n  load_current_A: [1, 2]\n  foil_ns: [11, 21, 31]\n", ["equally long"]),
        ("lhs with a list", head + "  kind: lhs\n  samples: 3\nparameters:\n  load_current_A: [1, 2]\n", ["{min: a, max: b}"]),
        ("unknown command", "sweep:\n  command: frobnicate\nparameters:\n  a: [1]\n", ["frobnicate"]),
        ("unknown section key", head + "  kinds: zip\nparameters:\n  load_current_A: [1]\n", ["sweep_kinds"]),
        ("no input", "sweep:\n  command: run\nparameters:\n  load_current_A: [1]\n", ["needs sweep: input"]),
    ]
    for name, text, words in cases:
        r = sweep(tmp, "x_" + name.replace(" ", "_"), text)
        check(r.returncode == 1 and all(w in r.stderr for w in words) and "PETSC ERROR" not in r.stderr,
              f"bad sweep ({name}): {r.stderr.strip()[:120]}")
    r = subprocess.run([tomocell, "sweep", os.path.join(tmp, "nothere.yaml")], capture_output=True, text=True)
    check(r.returncode == 1 and "nothere.yaml" in r.stderr, "missing sweep file")

sys.exit(1 if fail else 0)
