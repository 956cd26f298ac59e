"""The TCElements log event of the coupled roll (what bench/run.sh reads).

    test_elements_log.py TOMOCELL [MPIEXEC ARGS...]

A small 3-layer SPMe roll with network thermal runs with -log_view. The
TCElements event counts the passes over the elements (each element evaluated
once per pass): at least one per step tried (every step evaluates its
elements), at most 8 per step (the monolithic Newton needs 2-3); the same
count at any rank count with the direct solves (the global Newton iterations
do not depend on the partition); and a time > 0.
"""
import json
import os
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
experiment: "Discharge at 1C for 5 minutes"
"""


def run(launcher, tomocell, tmp, name):
    deck = os.path.join(tmp, "d.yaml")
    with open(deck, "w") as f:
        f.write(DECK)
    out, log = os.path.join(tmp, name), os.path.join(tmp, name + ".log")
    r = subprocess.run(launcher + [tomocell, "run", deck, "-output", out, "-linear_solver", "direct",
                                   "-log_view", ":" + log], capture_output=True, text=True,
                       timeout=600, cwd=tmp)
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:])
        raise SystemExit(f"FAIL run exited {r.returncode}")
    s = json.load(open(os.path.join(out, "summary.json")))
    ev = [l.split() for l in open(log) if l.startswith("TCElements ")]
    if not ev:
        raise SystemExit("FAIL no TCElements event in -log_view")
    return int(ev[0][1]), float(ev[0][3]), s["steps"]["accepted"] + s["steps"]["rejected"]


def main():
    tomocell, launcher = sys.argv[1], sys.argv[2:]
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        calls, t, steps = run([], tomocell, tmp, "np1")
        ok = steps <= calls <= 8 * steps and t > 0
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} 1 rank: {calls} passes over the elements in {steps} steps "
              f"({calls / steps:.2f} per step), {t:.3f} s")
        ranks = 1
        if launcher:
            c2, t2, s2 = run(launcher, tomocell, tmp, "np2")
            ok = c2 == calls and s2 == steps and t2 > 0
            fails += not ok
            print(f"{'ok  ' if ok else 'FAIL'} 2 ranks: {c2} passes in {s2} steps (1 rank: {calls} in {steps})")
            ranks = 2
    print(f"elements log {'ok' if not fails else 'FAILED'} at {ranks} rank(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
