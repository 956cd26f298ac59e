#!/usr/bin/python3
"""python/tomocell reads what tomocell writes (issue 19, item 7: the Python reader).

usage: test_python_reader.py TOMOCELL

Runs the foil demo and a short tomocell cell discharge, then checks through
python/tomocell: results.h5 node/edge arrays against h5py, units from names,
summary.json's effective resistance against the printed one, cell.csv's columns
and the energy of cell.json against sum I V dt of the table (1e-6 relative).
"""
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np

TC = os.path.abspath(sys.argv[1])
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
import tomocell  # noqa: E402

fails = 0


def check(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    fails += 0 if ok else 1


with tempfile.TemporaryDirectory() as tmp:
    r = subprocess.run([TC, "run", os.path.join(ROOT, "inputs", "foil_demo.yaml"), "-output", os.path.join(tmp, "foil")],
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, "foil demo ran")
    res = tomocell.load_results(os.path.join(tmp, "foil", "results.h5"))
    with h5py.File(os.path.join(tmp, "foil", "results.h5"), "r") as f:
        ok = all(np.array_equal(res.nodes[k], f["nodes"][k][()]) for k in f["nodes"])
        ok = ok and all(np.array_equal(res.edges[k], f["edges"][k][()]) for k in f["edges"])
    check(ok and "potential_V" in res.nodes and res.coordinates_m.shape[1] == 3, "results.h5 arrays equal h5py's")
    check(res.unit("potential_V") == "V" and res.unit("current_density_A_m2") == "A/m^2" and
          tomocell.unit_of("temperature_K") == "K" and tomocell.unit_of("conductance_S") == "S", "units from names")
    s = tomocell.load_summary(os.path.join(tmp, "foil", "summary.json"))
    m = re.search(r"effective resistance ([0-9.]+) mOhm", r.stdout)
    R = s["results"]["effective_resistance_ohm"]
    check(m is not None and abs(R * 1e3 - float(m.group(1))) < 1e-3 * R * 1e3, "summary.json: R = %.4f mOhm" % (R * 1e3))
    out = os.path.join(tmp, "cell", "cell.csv")
    r = subprocess.run([TC, "cell", "-model", "spm", "-experiment", "Discharge at 1C for 10 minutes", "-output", out],
                       capture_output=True, text=True, timeout=300)
    t = tomocell.load_table(out)
    j = tomocell.load_summary(os.path.join(tmp, "cell", "cell.json"))
    e = float(np.sum(t["current_A"][1:] * t["voltage_V"][1:] * np.diff(t["time_s"])) / 3600)
    check(r.returncode == 0 and t["time_s"][-1] == 600 and abs(e - j["results"]["energy_Wh"]) < 1e-6 * e,
          "cell.csv table and cell.json: energy %.6f Wh" % e)
print("%d failure(s)" % fails)
sys.exit(1 if fails else 0)
