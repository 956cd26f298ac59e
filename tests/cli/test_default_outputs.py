#!/usr/bin/python3
"""Default outputs (issue 19, item 10).

usage: test_default_outputs.py TOMOCELL

  * tomocell cell without -output writes output/cell/cell.csv (with a deck:
    output/<deck name>/cell.csv), nothing into the working directory itself;
  * a second run onto a defaulted output that exists says so (one line), for
    cell and tortuosity (two tortuosity runs of one volume share
    output/<volume>/props.json);
  * the energy split: discharge_energy_Wh - charge_energy_Wh = energy_Wh (the
    net, its meaning kept) to 1e-12 relative, both positive on a cycle, and
    the discharge energy equals the sum of I V dt over the CSV's discharge rows
    to 1e-6 relative (the same rectangle rule on the same rows; the CSV has
    10 significant digits); a discharge
    only run has charge_energy_Wh = 0.
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

TC = os.path.abspath(sys.argv[1])
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
fails = 0


def check(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    fails += 0 if ok else 1


def run(args, cwd):
    r = subprocess.run([TC] + args, cwd=cwd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        print(r.stdout[-1500:], r.stderr[-1500:])
    return r


CYCLE = "Discharge at 1C until 3.0 V, Rest for 10 minutes, Charge at 1C until 4.1 V"
tmp = tempfile.mkdtemp(prefix="tc-defout-")
try:
    r = run(["cell", "-experiment", CYCLE], tmp)
    check(r.returncode == 0 and sorted(os.listdir(tmp)) == ["output"]
          and os.path.exists(os.path.join(tmp, "output", "cell", "cell.csv")),
          "cell without -output: output/cell/cell.csv, nothing else in the working directory (%s)" %
          sorted(os.listdir(tmp)))
    check("note" not in r.stdout, "first run: no note")
    r = run(["cell", "-experiment", CYCLE], tmp)
    check(r.returncode == 0 and "output/cell/cell.csv exists from an earlier run" in r.stdout,
          "second cell run onto the default says it replaces output/cell/cell.csv")
    with open(os.path.join(tmp, "output", "cell", "cell.json")) as f:
        res = json.load(f)["results"]
    e, ed, ec = res["energy_Wh"], res["discharge_energy_Wh"], res["charge_energy_Wh"]
    check(ed > 0 and ec > 0 and abs((ed - ec) - e) <= 1e-12 * ed,
          "cycle: discharge %.6f - charge %.6f = net %.6f Wh" % (ed, ec, e))
    check(ec < ed and ed / ec > 0.5, "cycle: charge energy below the discharge energy of the full discharge")
    rows = list(csv.DictReader(open(os.path.join(tmp, "output", "cell", "cell.csv"))))
    ed_csv = ec_csv = 0.0
    for a, b in zip(rows, rows[1:]):
        h = float(b["time_s"]) - float(a["time_s"])
        iv = float(b["current_A"]) * float(b["voltage_V"]) * h / 3600
        if float(b["current_A"]) > 0:
            ed_csv += iv
        else:
            ec_csv -= iv
    check(abs(ed_csv - ed) <= 1e-6 * ed and abs(ec_csv - ec) <= 1e-6 * ec,
          "split equals sum of I V dt over the CSV rows: %.9f/%.9f vs %.9f/%.9f" % (ed_csv, ec_csv, ed, ec))
    # with a deck: output/<deck name>/cell.csv
    deck = os.path.join(tmp, "mycell.yaml")
    with open(deck, "w") as f:
        f.write('experiment: "Discharge at 1C until 3.2 V"\n')
    r = run(["cell", deck], tmp)
    p = os.path.join(tmp, "output", "mycell", "cell.json")
    check(r.returncode == 0 and os.path.exists(p), "cell with a deck: output/mycell/cell.csv")
    if os.path.exists(p):
        res = json.load(open(p))["results"]
        check(res["charge_energy_Wh"] == 0 and res["discharge_energy_Wh"] == res["energy_Wh"] > 0,
              "discharge only: charge_energy_Wh = 0, discharge = net")
    # tortuosity twice on one volume
    vol = os.path.join(tmp, "electrode.h5")
    r = run(["microstructure", "-output", vol, "-size", "24,24,24", "-voxel_size", "1e-6", "-porosity", "0.4",
             "-radius_m", "3e-6", "-seed", "2"], tmp)
    r1 = run(["tortuosity", vol, "-direction", "x"], tmp)
    r2 = run(["tortuosity", vol, "-direction", "z"], tmp)
    check(r1.returncode == 0 and "note" not in r1.stdout and r2.returncode == 0
          and "output/electrode/props.json exists from an earlier run" in r2.stdout,
          "second tortuosity run onto output/electrode/props.json says so")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print("%d failure(s)" % fails)
sys.exit(1 if fails else 0)
