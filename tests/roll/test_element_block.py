"""Batched element updates (-element_block) do not change a coupled run's bits.

    test_element_block.py TOMOCELL [MPIEXEC ARGS...]

A 3-D roll (2 node layers, SPMe elements, network thermal, a 1C discharge
and a rest) run with blocks of 1, 3 and 64 elements per batched update
(TCCellStepUpdateBatch: the structure-of-arrays kernel across a block) gives
byte-identical summary.csv and identical time series in results.h5: the
kernel performs every element's operations in the single-element order,
whatever the block. With MPIEXEC ARGS (2 ranks) the blocks also cut the
ranks' element ranges differently. The consistent starts' converged element
solves (TCCellStepGuessBatch) give the same bits as one element at a time
(-element_nested_batch false: TCCellStepGuess). -element_block 0 is refused
with one error line and no output.
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

DECK = """job: roll
preset: 18650
network:
  ds_m: 15e-3
  nz: 2
model: spme
thermal: network
plots: false
output_interval_s: 60
experiment: "Discharge at 1C for 8 minutes; Rest for 2 minutes"
"""


def same(a, b):
    with open(os.path.join(a, "summary.csv"), "rb") as f1, open(os.path.join(b, "summary.csv"), "rb") as f2:
        if f1.read() != f2.read():
            return "summary.csv differs"
    with h5py.File(os.path.join(a, "results.h5"), "r") as x, h5py.File(os.path.join(b, "results.h5"), "r") as y:
        if not np.array_equal(x["/time_s"][:], y["/time_s"][:]):
            return "output times differ"
        n = 0
        for k in x["/series"]:
            if not np.array_equal(x["/series/" + k][:], y["/series/" + k][:], equal_nan=True):
                return f"/series/{k} differs"
            n += 1
        if n == 0:
            return "no time series"
    return None


def main():
    tomocell, launcher = sys.argv[1], sys.argv[2:]
    ranks = launcher[launcher.index("-n") + 1] if "-n" in launcher else "1"
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        deck = os.path.join(tmp, "blk.yaml")
        with open(deck, "w") as f:
            f.write(DECK)
        outs = {}
        for nb in (1, 3, 64, "64s"):
            out = os.path.join(tmp, f"b{nb}")
            extra = ["-element_block", "64", "-element_nested_batch", "false"] if nb == "64s" else \
                ["-element_block", str(nb)]
            r = subprocess.run(launcher + [tomocell, "run", deck, "-output", out] + extra,
                               capture_output=True, text=True, timeout=600, cwd=tmp)
            if r.returncode != 0:
                print(r.stdout[-3000:], r.stderr[-3000:])
                print(f"FAIL -element_block {nb}: exit {r.returncode}")
                return 1
            outs[nb] = out
        for nb in (3, 64):
            d = same(outs[1], outs[nb])
            fails += d is not None
            print(f"{'ok  ' if d is None else 'FAIL'} -element_block {nb} against 1: {d or 'identical'}")
        # the converged element solves of the consistent starts: batched (TCCellStepGuessBatch)
        # against one element at a time (TCCellStepGuess)
        d = same(outs["64s"], outs[64])
        fails += d is not None
        print(f"{'ok  ' if d is None else 'FAIL'} -element_block 64, nested solves batched against "
              f"one at a time: {d or 'identical'}")
        with h5py.File(os.path.join(outs[64], "results.h5"), "r") as x:
            steps = len(x["/time_s"][:])
        if steps < 5:
            print(f"FAIL only {steps} output times")
            fails += 1
        out = os.path.join(tmp, "bad")
        r = subprocess.run(launcher + [tomocell, "run", deck, "-output", out, "-element_block", "0"],
                           capture_output=True, text=True, timeout=300, cwd=tmp)
        errs = [l for l in (r.stdout + r.stderr).splitlines() if l.startswith("tomocell: error:")]
        bad_ok = r.returncode == 1 and len(errs) >= 1 and "-element_block 0" in errs[0] and not os.path.exists(out)
        fails += not bad_ok
        print(f"{'ok  ' if bad_ok else 'FAIL'} -element_block 0: exit {r.returncode}, {errs[:1]}")
    print(f"element blocks {'ok' if not fails else 'FAILED'} at {ranks} rank(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
