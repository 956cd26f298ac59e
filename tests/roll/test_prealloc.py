"""Every assembled matrix of a coupled run is preallocated exactly.

    test_prealloc.py TOMOCELL [MPIEXEC ARGS...]

A 3-D roll (3 node layers, so the thermal matrix has its cross-layer links)
with network thermal runs with PETSc's -info for the Mat class, with the
direct solves and with CG + AMG; every MatAssemblyEnd must report 0 mallocs
during MatSetValues (a missing entry in a preallocation shows as a malloc
count > 0; the matrices themselves also refuse new nonzeros,
MAT_NEW_NONZERO_ALLOCATION_ERR, so such a run would fail). Before the fix the
thermal matrix of this deck reallocated 356 times at 1 rank.

A second deck starts with a voltage hold (the positive terminal a fixed
potential) and then discharges at constant current (the terminal free): the
Newton's matrix must hold the terminal's links under either control. Before
its pattern was laid out once for every control, the discharge failed with
"New nonzero ... caused a malloc" under every linear solver.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

DECK = """job: roll
preset: 18650
network:
  ds_m: 10e-3
  nz: 3
tab:
  cu: end
  al: start
model: spme
thermal: network
plots: false
experiment: "Discharge at 1C for 2 minutes"
"""

HOLD_FIRST = DECK.replace('experiment: "Discharge at 1C for 2 minutes"',
                          'experiment: ["Hold at 4.2 V for 1 minute", '
                          '"Discharge at 2C for 1 minute", "Hold at 3.8 V for 1 minute"]')


def main():
    tomocell, launcher = sys.argv[1], sys.argv[2:]
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        # deck, linear solver, label, experiment steps it runs
        cases = [(DECK, s, "", 1) for s in ("direct", "amg")]
        cases += [(HOLD_FIRST, s, "hold first, ", 3) for s in ("direct", "amg", "foil")]
        for n, (text, solver, what, nsteps) in enumerate(cases):
            deck = os.path.join(tmp, f"pre{n}.yaml")
            with open(deck, "w") as f:
                f.write(text)
            out = os.path.join(tmp, f"out{n}")
            r = subprocess.run(launcher + [tomocell, "run", deck, "-output", out, "-linear_solver",
                                           solver, "-info", ":mat"],
                               capture_output=True, text=True, timeout=600, cwd=tmp)
            if r.returncode != 0:
                print(r.stdout[-3000:], r.stderr[-3000:])
                print(f"FAIL {what}run with -linear_solver {solver} exited {r.returncode}")
                fails += 1
                continue
            counts = [int(m) for m in re.findall(r"Number of mallocs during MatSetValues\(\) is (\d+)",
                                                 r.stdout + r.stderr)]
            with open(os.path.join(out, "summary.json")) as f:
                steps = json.load(f)["steps"]
            ok = len(counts) >= 2 and max(counts) == 0 and steps["experiment_steps_run"] == nsteps
            fails += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {what}-linear_solver {solver}: {len(counts)} assemblies, "
                  f"mallocs during MatSetValues: max {max(counts) if counts else 'none'}, "
                  f"total {sum(counts)}, experiment steps run {steps['experiment_steps_run']}")
    ranks = launcher[launcher.index("-n") + 1] if "-n" in launcher else "1"
    print(f"preallocation {'ok' if not fails else 'FAILED'} at {ranks} rank(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
