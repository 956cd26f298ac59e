"""Checkpoint/restart of tomocell run (job roll), bit for bit.

    test_restart.py [--solver=auto|direct|amg] [--hardware] TOMOCELL NRANKS [MPIEXEC ARGS...]

At NRANKS ranks: a run stopped after 12 steps as a signal would stop it
(exit 3, checkpoint.h5 written) and continued with -restart gives exactly the
bytes of an uninterrupted run: summary.csv, and every time series in
results.h5. A run killed while writing its third checkpoint (-checkpoint_every
5 -checkpoint_test_crash_at 3: SIGKILL inside the write) leaves the second
checkpoint intact, and the run continued from it is again identical. A
completed restart leaves no checkpoint.h5 (nor the killed write's
checkpoint.h5.tmp-<pid>) behind: it would be stale. A restart
from another deck, or at another rank count, is refused with a clear message.
--hardware: the same with the cell's hardware (thermal_hardware: can) and the
can probes, whose columns in summary.csv carry the hardware's temperatures
(kept in the checkpoint's state). The uninterrupted run with its converged
element solves one element at a time (-element_nested_batch false:
TCCellStepGuess instead of TCCellStepGuessBatch) gives the same bytes too.
"""
import os
import signal
import subprocess
import sys
import tempfile

import h5py
import numpy as np

DECK = """job: roll
preset: 18650
network:
  ds_m: 20e-3
  nz: 2
model: spme
thermal: network
plots: false
output_interval_s: 100
experiment: "Discharge at 1C for 20 minutes; Rest for 5 minutes"
"""


def run(cmd, cwd, expect):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    ok = r.returncode == expect or (expect < 0 and r.returncode in (expect, 128 - expect, 137))
    if not ok:
        print(r.stdout[-2000:], r.stderr[-2000:])
        raise SystemExit(f"{' '.join(cmd)}: exit {r.returncode}, expected {expect}")
    return r


def same(a, b):
    with open(os.path.join(a, "summary.csv"), "rb") as f1, open(os.path.join(b, "summary.csv"), "rb") as f2:
        if f1.read() != f2.read():
            return "summary.csv differs"
    with h5py.File(os.path.join(a, "results.h5"), "r") as x, h5py.File(os.path.join(b, "results.h5"), "r") as y:
        if not np.array_equal(x["/time_s"][:], y["/time_s"][:]):
            return "output times differ"
        for k in x["/series"]:
            if not np.array_equal(x["/series/" + k][:], y["/series/" + k][:], equal_nan=True):
                return f"/series/{k} differs"
    return None


def main():
    args = sys.argv[1:]
    solver = args.pop(0).split("=", 1)[1] if args[0].startswith("--solver=") else "auto"
    hardware = args[0] == "--hardware"
    if hardware:
        args.pop(0)
    tomocell, n = args[0], int(args[1])
    launcher = args[2:] if n > 1 else []
    base = launcher + [tomocell, "run"]
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        deck = os.path.join(tmp, "r.yaml")
        with open(deck, "w") as f:
            f.write(DECK + f"linear_solver: {solver}\n")
            if hardware:
                f.write("thermal_hardware: can\nprobes: [can_mid, can_positive_end, can_negative_end]\n")
        run(base + [deck, "-output", "full"], tmp, 0)
        # the converged element solves (consistent starts, nested Newton) one element at a time
        # (TCCellStepGuess) give the bits of the batched ones (TCCellStepGuessBatch)
        run(base + [deck, "-output", "single", "-element_nested_batch", "false"], tmp, 0)
        d = same(os.path.join(tmp, "single"), os.path.join(tmp, "full"))
        fails += d is not None
        print(f"{'FAIL' if d else 'ok  '} {n} rank(s): nested element solves one at a time against "
              f"batched: {d or 'bit-for-bit identical'}")

        run(base + [deck, "-output", "part", "-checkpoint_test_stop_after", "12"], tmp, 3)
        run(base + [deck, "-output", "part", "-restart", "part/checkpoint.h5"], tmp, 0)
        d = same(os.path.join(tmp, "full"), os.path.join(tmp, "part"))
        fails += d is not None
        if hardware:
            with open(os.path.join(tmp, "full", "summary.csv")) as f:
                ok = "T_can_positive_end_K" in f.readline()
            fails += not ok
            print(f"{'ok  ' if ok else 'FAIL'} the hardware's probes are columns of summary.csv")
        print(f"{'FAIL' if d else 'ok  '} {n} rank(s), {solver} solves{', hardware' if hardware else ''}: "
              f"stopped after 12 steps and restarted: "
              f"{d or 'bit-for-bit identical (summary.csv, every /series field)'}")
        left = [f for f in os.listdir(os.path.join(tmp, "part")) if f.startswith("checkpoint.h5")]
        fails += bool(left)
        print(f"{'FAIL' if left else 'ok  '} the completed restart removed its checkpoint: "
              f"{left or 'no checkpoint.h5 left'}")

        run(base + [deck, "-output", "crash", "-checkpoint_every", "5",
                    "-checkpoint_test_crash_at", "3"], tmp, -signal.SIGKILL)
        run(base + [deck, "-output", "crash", "-restart", "crash/checkpoint.h5"], tmp, 0)
        d = same(os.path.join(tmp, "full"), os.path.join(tmp, "crash"))
        fails += d is not None
        print(f"{'FAIL' if d else 'ok  '} {n} rank(s): killed inside the third checkpoint write, "
              f"restarted from the second: {d or 'bit-for-bit identical'}")
        left = [f for f in os.listdir(os.path.join(tmp, "crash")) if f.startswith("checkpoint.h5")]
        fails += bool(left)
        print(f"{'FAIL' if left else 'ok  '} the completed restart removed the checkpoint and the "
              f"killed write's temporary: {left or 'none left'}")

        other = os.path.join(tmp, "other.yaml")
        with open(other, "w") as f:
            f.write(DECK.replace("nz: 2", "nz: 3"))
        run(base + [deck, "-output", "p2", "-checkpoint_test_stop_after", "5"], tmp, 3)
        r = run(base + [other, "-output", "p2", "-restart", "p2/checkpoint.h5"], tmp, 1)
        ok = "network_nz" in r.stderr
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} restart from another deck refused: "
              f"{r.stderr.strip().splitlines()[0] if r.stderr.strip() else '(no message)'}")
        if n > 1:
            r = run([tomocell, "run", deck, "-output", "p2", "-restart", "p2/checkpoint.h5"], tmp, 1)
            ok = "rank" in r.stderr
            fails += not ok
            print(f"{'ok  ' if ok else 'FAIL'} restart at another rank count refused: "
                  f"{r.stderr.strip().splitlines()[0] if r.stderr.strip() else '(no message)'}")
    print("FAILED" if fails else "passed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
