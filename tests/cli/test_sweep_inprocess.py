"""`tomocell sweep -local`: one-rank tasks run inside one worker process per job.

    test_sweep_inprocess.py TOMOCELL DEMO_DECK

The same sweeps run with in-process workers (the default) and with one
process per task (-in_process false, the old way) must give the same results
bit for bit: every CSV byte for byte, every HDF5 dataset bitwise (except
timing), every JSON summary equal after dropping wall times and paths, and
the same exit codes (failing tasks included: a task failing in a worker does
not disturb the next tasks it runs). In-process, the tasks ran in at most
-jobs processes (status.json pid); one process per task otherwise.
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

tomocell, demo = sys.argv[1], os.path.abspath(sys.argv[2])
fails = []
passed = []


def check(cond, msg):
    """failures are printed; the passed checks counted (kept short for ctest)"""
    if not cond:
        print("FAIL " + msg)
        fails.append(msg)
    else:
        passed.append(msg)


CELL = """sweep:
  command: cell
  kind: product
  output: {out}
parameters:
  model: [spm, spme, dfn]
  ambient_temperature: [288.15, -5, 318.15]
  params: [chen2020]
  experiment: ["Discharge at 1C for 10 minutes"]
"""
RUN = """sweep:
  command: run
  input: {demo}
  output: {out}
parameters:
  foil_thickness_m: [10e-6, -1, 20e-6, 30e-6]
"""


def scrub(x, out):
    """JSON without wall times, memory figures and the sweep directory's name"""
    if isinstance(x, dict):
        return {k: scrub(v, out) for k, v in x.items()
                if k not in ("timing_s", "memory", "wall_s", "pid") and "wall" not in k}
    if isinstance(x, list):
        return [scrub(v, out) for v in x]
    if isinstance(x, str):
        return x.replace(out, "OUT")
    return x


def h5items(path):
    d = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and "timing" not in name and "wall" not in name:
                d[name] = obj[()]
        f.visititems(visit)
    return d


def same_h5(a, b):
    da, db = h5items(a), h5items(b)
    if da.keys() != db.keys():
        return False
    for k in da:
        x, y = np.asarray(da[k]), np.asarray(db[k])
        if x.shape != y.shape or x.dtype != y.dtype:
            return False
        if x.dtype.kind == "f":
            if not np.array_equal(x.view(np.uint8), y.view(np.uint8)):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


def compare(tmp, a, b, ntasks):
    da, db = os.path.join(tmp, a), os.path.join(tmp, b)
    for i in range(ntasks):
        ta, tb = os.path.join(da, f"task_{i:04d}"), os.path.join(db, f"task_{i:04d}")
        sa, sb = (json.load(open(os.path.join(t, "status.json"))) for t in (ta, tb))
        check(sa["exit_code"] == sb["exit_code"], f"{a} task {i}: exit code {sa['exit_code']} "
              f"= {sb['exit_code']}")
        files = []
        for root, _, names in os.walk(ta):
            files += [os.path.relpath(os.path.join(root, n), ta) for n in names]
        other = []
        for root, _, names in os.walk(tb):
            other += [os.path.relpath(os.path.join(root, n), tb) for n in names]
        check(sorted(files) == sorted(other), f"{a} task {i}: the same files {sorted(files)}")
        for f in files:
            pa, pb = os.path.join(ta, f), os.path.join(tb, f)
            if not os.path.exists(pb) or f in ("status.json", "log.txt") or f.endswith(".xmf"):
                continue
            if f.endswith(".csv"):
                ok = open(pa, "rb").read() == open(pb, "rb").read()
            elif f.endswith(".json"):
                ok = scrub(json.load(open(pa)), da) == scrub(json.load(open(pb)), db)
            elif f.endswith(".h5"):
                ok = same_h5(pa, pb)
            else:
                ok = open(pa, "rb").read() == open(pb, "rb").read()
            check(ok, f"{a} task {i}: {f} bit for bit")
    ra = list(csv.DictReader(open(os.path.join(da, "results.csv"))))
    rb = list(csv.DictReader(open(os.path.join(db, "results.csv"))))
    strip = lambda rows: [{k: v for k, v in r.items() if "wall" not in k and "pid" not in k} for r in rows]
    check(strip(ra) == strip(rb), f"{a}: gathered results.csv equal ({len(ra)} rows)")


with tempfile.TemporaryDirectory() as tmp:
    for name, text, ntasks, nfail in (("cell", CELL, 9, 3), ("run", RUN, 4, 1)):
        pids = {}
        for mode, extra in (("ip", []), ("pp", ["-in_process", "false"])):
            out = f"{name}_{mode}"
            path = os.path.join(tmp, out + ".yaml")
            open(path, "w").write(text.format(out=out, demo=demo))
            r = subprocess.run([tomocell, "sweep", path, "-local", "-jobs", "2"] + extra, cwd=tmp,
                               capture_output=True, text=True, timeout=600)
            ok = r.returncode == 1 and f"{nfail} task(s) failed" in r.stderr + r.stdout
            check(ok, f"{out}: exit 1, {nfail} task(s) failed (rc {r.returncode})")
            if not ok:
                print(r.stdout[-3000:], r.stderr[-3000:])
                sys.exit(1)
            pids[mode] = {json.load(open(os.path.join(tmp, out, f"task_{i:04d}", "status.json")))["pid"]
                          for i in range(ntasks)}
        print(f"{name}: {ntasks} tasks in {len(pids['ip'])} worker processes, "
              f"{len(pids['pp'])} processes with -in_process false")
        check(len(pids["ip"]) <= 2, f"{name}: in-process, {ntasks} tasks in {len(pids['ip'])} processes (<= 2)")
        check(len(pids["pp"]) == ntasks, f"{name}: -in_process false, one process per task ({len(pids['pp'])})")
        compare(tmp, f"{name}_ip", f"{name}_pp", ntasks)

print(f"{len(passed)} checks passed, {len(fails)} failed")
print(f"sweep in-process {'ok' if not fails else 'FAILED: %d' % len(fails)}")
sys.exit(1 if fails else 0)
