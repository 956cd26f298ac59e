#!/usr/bin/python3
"""The demo job on 1, 2 and 3 ranks: identical results to 1e-10 and the same
HDF5 content, plus a check that the XDMF file points at datasets that exist
with the declared shapes (what ParaView needs to open it).

usage: test_rank_invariance.py TOMOCELL DECK MPIEXEC [MPIEXEC ARGS...]

The KSP runs to rtol 1e-13, so two partitions' solutions differ by about
cond(L) * 1e-13 ~ 1e-12 relative for this sheet; 1e-10 leaves margin.
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import h5compare  # noqa: E402


def check_xdmf(outdir):
    tree = ET.parse(os.path.join(outdir, "results.xmf"))
    n = 0
    with h5py.File(os.path.join(outdir, "results.h5"), "r") as f:
        for item in tree.iter("DataItem"):
            fname, path = item.text.strip().split(":")
            assert fname == "results.h5", fname
            dims = tuple(int(d) for d in item.get("Dimensions").split())
            assert path in f, f"XDMF references missing dataset {path}"
            assert f[path].shape == dims, f"{path}: shape {f[path].shape} vs XDMF {dims}"
            n += 1
    return n


def main():
    tomocell, deck, mpiexec = sys.argv[1], sys.argv[2], sys.argv[3:]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        summaries = {}
        for n in (1, 2, 3):
            out = os.path.join(tmp, f"r{n}")
            cmd = mpiexec[:1] + ["-n", str(n)] + mpiexec[1:] + [tomocell, "run", deck, "-output", out, "-ksp_rtol", "1e-13", "-foil_ns", "301", "-foil_nz", "31"]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            if r.returncode != 0:
                print(f"FAIL run on {n} ranks:\n{r.stdout}\n{r.stderr}")
                return 1
            with open(os.path.join(out, "summary.json")) as f:
                summaries[n] = json.load(f)
            items = check_xdmf(out)
            print(f"{n} rank(s): R_eff = {summaries[n]['results']['effective_resistance_ohm']:.15g} ohm, "
                  f"{summaries[n]['solver']['iterations']} iterations, edge cut {summaries[n]['partition']['edge_cut']}, "
                  f"XDMF ok ({items} data items)")
        for n in (2, 3):
            a = summaries[1]["results"]["effective_resistance_ohm"]
            b = summaries[n]["results"]["effective_resistance_ohm"]
            if abs(a - b) > 1e-10 * abs(a):
                print(f"FAIL R_eff on {n} ranks {b} differs from 1 rank {a}")
                failures += 1
            sys.argv = ["h5compare", os.path.join(tmp, "r1", "results.h5"), os.path.join(tmp, f"r{n}", "results.h5"),
                        "--rtol", "1e-10", "--ignore", "/nodes/rank"]
            print(f"-- 1 vs {n} ranks")
            if h5compare.main() != 0:
                failures += 1
    print(f"{2 - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
