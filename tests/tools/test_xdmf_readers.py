#!/usr/bin/python3
"""XDMF that ParaView and meshio read with every field and time step (issue 19, item 2),
and no NaN at the terminal nodes in /series/temperature_K (item 10).

usage: test_xdmf_readers.py TOMOCELL

Runs the demo roll (2 ranks, a 5-minute 1C discharge), then
  * meshio: results_series.xmf as a time series (meshio.xdmf.TimeSeriesReader)
    and results.xmf: every step's time equals /time_s, every field of every
    step equals the row of /series/<field> (bit for bit), the final fields equal
    /nodes/<field>;
  * pvpython under xvfb-run (Debian's paraview + python3-paraview): the default
    readers Xdmf3ReaderS and Xdmf3ReaderT and the legacy XDMFReader open both
    files with a path relative to the working directory: all 11 fields, all
    time steps at the times of /time_s, the ranges of the last step equal to
    the HDF5 data's; a PNG of the temperature is rendered.
SKIPs (77) the ParaView part, with the reason, when pvpython or xvfb-run is
absent (after the meshio part has passed).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

TC = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
fails = 0


def check(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    fails += 0 if ok else 1


def same(a, b):
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def main():
    tmp = tempfile.mkdtemp(prefix="tc-xdmf-")
    try:
        return body(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def body(tmp):
    out = os.path.join(tmp, "run")
    L = ["mpiexec", "--oversubscribe", "-n", "2"]
    if os.geteuid() == 0:
        L.insert(1, "--allow-run-as-root")
    r = subprocess.run(L + [TC, "run", os.path.join(ROOT, "inputs", "demo.yaml"), "-experiment",
                            "Discharge at 1C for 5 minutes", "-plots", "false", "-output", out],
                       capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:])
        return 1
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        t = f["/time_s"][()]
        fields = sorted(f["/series"].keys())
        series = {k: f["/series/" + k][()] for k in fields}
        final = {k: f["/nodes/" + k][()] for k in f["/nodes"].keys() if f["/nodes/" + k].ndim == 1}
        npts = f["/nodes/coordinates_m"].shape[0]
    # every node has a temperature, the two terminals the ambient (issue 19, item 10)
    T = series["temperature_K"]
    check(np.isfinite(T).all() and np.isfinite(final["temperature_K"]).all(),
          "/series/temperature_K and /nodes/temperature_K finite at every node (max %.3f K)" % T.max())
    check(len(fields) == 11 and len(t) >= 3, "results.h5: %d fields, %d snapshots" % (len(fields), len(t)))

    import meshio
    with meshio.xdmf.TimeSeriesReader(os.path.join(out, "results_series.xmf")) as ts:
        pts, cells = ts.read_points_cells()
        check(ts.num_steps == len(t) and pts.shape == (npts, 3), "meshio series: %d steps, %d points" %
              (ts.num_steps, len(pts)))
        ok = True
        for k in range(ts.num_steps):
            tk, pd, _ = ts.read_data(k)
            ok = ok and tk == t[k] and sorted(pd) == fields and all(same(pd[q], series[q][k]) for q in fields)
        check(ok, "meshio series: every step's time and all %d fields equal results.h5" % len(fields))
    m = meshio.read(os.path.join(out, "results.xmf"))
    check(all(q in m.point_data and same(m.point_data[q], final[q]) for q in final if q in m.point_data)
          and "temperature_K" in m.point_data and len(m.point_data) >= 10,
          "meshio results.xmf: %d node fields equal /nodes" % len(m.point_data))
    if fails:
        return 1

    pv, xv = shutil.which("pvpython"), shutil.which("xvfb-run")
    if not pv or not xv:
        print("SKIP: ParaView part: %s not found (Debian packages paraview python3-paraview xvfb)" %
              ("pvpython" if not pv else "xvfb-run"))
        return 77
    png = os.path.join(tmp, "temperature.png")
    r = subprocess.run([xv, "-a", pv, os.path.join(HERE, "pv_check.py"), out, png], capture_output=True,
                       text=True, timeout=900)
    res = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    if r.returncode != 0 or len(res) != 7:
        print(r.stdout[-3000:], r.stderr[-3000:])
        check(False, "pvpython ran (exit %d, %d results)" % (r.returncode, len(res)))
        return 1
    # ranges of the last step where a field has numbers (ParaView skips NaN;
    # runaway_onset_s is all NaN in a run without runaway)
    last = {q: (np.nanmin(series[q][-1]), np.nanmax(series[q][-1])) for q in fields
            if np.isfinite(series[q][-1]).any()}
    for e in res[:-1]:
        tag = "%s %s" % (e["reader"], e["file"])
        if e["file"].endswith("series.xmf"):
            check(len(e["times"]) == len(t) and np.allclose(e["times"], t, rtol=1e-8, atol=0),
                  tag + ": %d time steps at /time_s" % len(e["times"]))
            got = {q: v for q, v in e["point"].items() if q in fields}
            check(sorted(got) == fields, tag + ": all %d fields (%d)" % (len(fields), len(got)))
            # ranges of the last step (ParaView skips NaN in ranges); float64 throughout
            bad = [q for q in last if not np.allclose(got[q], last[q], rtol=1e-12, atol=0)]
            check(not bad, tag + ": last-step ranges of %d fields equal results.h5 %s" %
                  (len(last), ["%s %s vs %s" % (q, got[q], last[q]) for q in bad]))
        else:
            check(e["points"] == npts and "temperature_K" in e["point"] and len(e["point"]) >= 10
                  and len(e["cell"]) >= 1, tag + ": %d node and %d edge fields" % (len(e["point"]), len(e["cell"])))
    check(os.path.exists(png) and os.path.getsize(png) > 10000, "rendered %s (%d bytes)" %
          (os.path.basename(png), os.path.getsize(png) if os.path.exists(png) else 0))
    return 1 if fails else 0


sys.exit(main())
