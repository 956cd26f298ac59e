#!/usr/bin/python3
"""Probes of tomocell run (job roll): the deck's `probes:` as columns
T_<name>_K of summary.csv, /probes in results.h5 and summary.json probes.

    test_probes.py TOMOCELL [MPIEXEC ARGS...]

* a map (named places and a point [r, theta, z]) and a list of named places
  give the same columns for the same places;
* every probe reads one node: at the end of the run its column equals that
  node's final temperature in results.h5 (/nodes/temperature_K at
  /nodes/coordinates_m = the node's position in summary.json) to 1e-9 K;
  results.h5 /probes equals the CSV to its 10 digits;
* the named places are where they say: can_* on the outermost turn (within a
  pitch of the outer radius), can_positive_end at the top layer, negative at
  the bottom, core_mid on the innermost turn, mid-height;
* physics: every probe within [T_min, T_max] of its row, and at 2C the core
  is hotter than the can (radial conduction 0.2 W/m/K against convection);
* a run stopped and restarted gives the same CSV, probe columns included;
* bad probes (unknown place, malformed point, bad name): exit 1 naming them.
"""
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

DECK = """job: roll
preset: 18650
network:
  ds_m: 20e-3
  nz: 3
model: spm
thermal: network
plots: false
experiment: "Discharge at 2C for 10 minutes"
"""
MAP = """probes:
  can_mid: can_mid
  top: can_positive_end
  bottom: can_negative_end
  core: core_mid
  tc1: [8.0e-3, 1.0, 0.03]
"""
LIST = "probes: [can_mid, can_positive_end, can_negative_end, core_mid]\n"


def run(cmd, cwd, expect=0):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    if r.returncode != expect:
        print(r.stdout, r.stderr)
        raise SystemExit(f"FAIL: {' '.join(cmd)} exited {r.returncode}, expected {expect}")
    return r


def load(out):
    with open(os.path.join(out, "summary.csv")) as f:
        rows = list(csv.DictReader(f))
    with open(os.path.join(out, "summary.json")) as f:
        js = json.load(f)
    return rows, js


def main():
    tomocell, launcher = sys.argv[1], sys.argv[2:]
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in (("map", MAP), ("list", LIST)):
            with open(os.path.join(tmp, name + ".yaml"), "w") as f:
                f.write(DECK + extra)
        run(launcher + [tomocell, "run", "map.yaml", "-output", "map"], tmp)
        run(launcher + [tomocell, "run", "list.yaml", "-output", "list"], tmp)
        rows, js = load(os.path.join(tmp, "map"))
        lrows, ljs = load(os.path.join(tmp, "list"))
        probes = js["probes"]
        pitch = js["geometry"].get("pitch_m", 373.6e-6)
        with h5py.File(os.path.join(tmp, "map", "results.h5"), "r") as f:
            xyz = f["/nodes/coordinates_m"][...]
            Tn = f["/nodes/temperature_K"][...]
            centre = f.attrs["roll_centre_m"]
            h5 = {k: f["/probes/" + k][...] for k in f["/probes"]}
        r_nodes = np.hypot(xyz[:, 0] - centre[0], xyz[:, 1] - centre[1])
        foil = np.isfinite(Tn) & (r_nodes > 0)
        r_out, r_in = r_nodes[foil].max(), r_nodes[foil].min()
        z_lo, z_hi = xyz[foil, 2].min(), xyz[foil, 2].max()
        for n, p in probes.items():
            col = "T_%s_K" % n
            if col not in rows[0]:
                fails.append(f"summary.csv lacks {col}")
                continue
            x = centre[0] + p["node_r_m"] * math.cos(p["node_theta_rad"])
            y = centre[1] + p["node_r_m"] * math.sin(p["node_theta_rad"])
            d = np.sqrt((xyz[:, 0] - x) ** 2 + (xyz[:, 1] - y) ** 2 + (xyz[:, 2] - p["node_z_m"]) ** 2)
            k = int(np.argmin(d))
            last = float(rows[-1][col])
            print(f"{n:8s} node r {1e3 * p['node_r_m']:.2f} mm z {1e3 * p['node_z_m']:.1f} mm "
                  f"({1e3 * p['distance_m']:.2f} mm from the point): T_end {last:.4f} K, node field "
                  f"{Tn[k]:.4f} K")
            if d[k] > 1e-9 or abs(Tn[k] - last) > 1e-9 * 300 + 1e-9:
                fails.append(f"probe {n}: column {last} K, its node ({d[k]:.2e} m off) {Tn[k]} K")
            csvcol = np.array([float(r[col]) for r in rows])
            if col not in h5 or np.max(np.abs(h5[col] - csvcol)) > 1e-8 * 300:
                fails.append(f"results.h5 /probes/{col} differs from summary.csv")
            for r in rows:
                if not float(r["T_min_K"]) - 1e-9 <= float(r[col]) <= float(r["T_max_K"]) + 1e-9:
                    fails.append(f"probe {n} at t = {r['time_s']} outside [T_min, T_max]")
                    break
        if "time_s" not in h5 or np.max(np.abs(h5["time_s"] - [float(r["time_s"]) for r in rows])) > 1e-6:
            fails.append("results.h5 /probes/time_s differs from summary.csv time_s")
        # the places
        zmid = 0.5 * (z_lo + z_hi)
        for n, rr, zz in (("can_mid", "out", zmid), ("top", "out", z_hi), ("bottom", "out", z_lo),
                          ("core", "in", zmid)):
            p = probes[n]
            ok_r = p["node_r_m"] >= r_out - pitch - 1e-12 if rr == "out" else p["node_r_m"] <= r_in + pitch + 1e-12
            if not ok_r or abs(p["node_z_m"] - zz) > 1e-9:
                fails.append(f"probe {n} reads r {p['node_r_m']}, z {p['node_z_m']}: expected the "
                             f"{'outer' if rr == 'out' else 'inner'} turn at z {zz}")
        # the list form: the same places, the same temperatures
        for n, place in (("can_mid", "can_mid"), ("top", "can_positive_end"),
                         ("bottom", "can_negative_end"), ("core", "core_mid")):
            a = float(rows[-1]["T_%s_K" % n])
            b = float(lrows[-1]["T_%s_K" % place]) if "T_%s_K" % place in lrows[0] else None
            if b is None or abs(a - b) > 1e-9:
                fails.append(f"list form: T_{place}_K {b} differs from the map's T_{n}_K {a}")
        core, can = float(rows[-1]["T_core_K"]), float(rows[-1]["T_can_mid_K"])
        print(f"2C for 10 min: core {core:.3f} K, can mid {can:.3f} K, top {rows[-1]['T_top_K']} K")
        if not core > can + 0.05:
            fails.append(f"the core ({core} K) is not hotter than the can ({can} K) at 2C")
        # restart with probes
        run(launcher + [tomocell, "run", "map.yaml", "-output", "part", "-checkpoint_test_stop_after",
                        "8"], tmp, expect=3)
        run(launcher + [tomocell, "run", "map.yaml", "-output", "part", "-restart",
                        "part/checkpoint.h5"], tmp)
        with open(os.path.join(tmp, "map", "summary.csv")) as f1, \
                open(os.path.join(tmp, "part", "summary.csv")) as f2:
            if f1.read() != f2.read():
                fails.append("stopped and restarted: summary.csv (with probes) differs")
        # bad probes
        for val, words in (("can_middle", ["can_middle", "can_mid"]),
                           ("[0.001, 0.0]", ["probe", "r_m, theta_rad, z_m"]),
                           ("[-0.001, 0, 0.01]", ["r_m >= 0"])):
            r = run(launcher + [tomocell, "run", "map.yaml", "-probes_x", val, "-output", "bad"], tmp,
                    expect=1)
            if [w for w in words if w not in r.stderr] or "PETSC ERROR" in r.stderr or \
                    os.path.exists(os.path.join(tmp, "bad", "summary.csv")):
                fails.append(f"bad probe {val!r}: {r.stderr.strip()!r}")
        with open(os.path.join(tmp, "badname.yaml"), "w") as f:
            f.write(DECK + "probes: [can_mid, can-mid]\n")
        r = run(launcher + [tomocell, "run", "badname.yaml", "-output", "bad"], tmp, expect=1)
        if "can-mid" not in r.stderr:
            fails.append(f"bad probe name: {r.stderr.strip()!r}")
    for f in fails:
        print("FAIL:", f)
    if fails:
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
