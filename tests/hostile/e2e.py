#!/usr/bin/python3
"""Every command end to end on small valid inputs, for the sanitizer builds.

usage: e2e.py TOMOCELL [NRANKS MPIEXEC ARGS...]

Runs run (foil, network, roll), cell, fit (of the cell run), abuse, tortuosity, microstructure
(generate and calender), geometry (with a render), trace and sweep; each must
exit 0 with no sanitizer report (AddressSanitizer, UndefinedBehaviorSanitizer
"runtime error:"), PETSc trace or crash on stderr. compare runs end to end in
its own tests (compare_synthetic, compare_synthetic_np2). cell and abuse are
one-rank commands and run at one rank whatever NRANKS.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile  # noqa: E402


def main(argv):
    tomocell = os.path.abspath(argv[1])
    nranks = int(argv[2]) if len(argv) > 2 else 1
    launcher = argv[3:] if nranks > 1 else []
    roll = os.path.join(hostile.INPUTS, "roll-18650-tabs-opposite-ends.yaml")
    runs = [
        ("run foil", ["run", "foil.yaml", "-output", "e_foil"]),
        ("run network", ["run", "net.yaml", "-output", "e_net"]),
        ("run roll", ["run", roll, "-output", "e_roll", "-experiment", "Discharge at 1C for 20 seconds",
                      "-plots", "false"]),
        ("cell", ["cell", "-params", "X.json", "-output", "e_cell.csv", "-experiment",
                  "Discharge at 1C for 2 minutes"]),
        ("fit", ["fit", "-params", "X.json", "-experiment", "Discharge at 1C for 2 minutes",
                 "-measured", "e_cell.csv", "-fit_params", "pos_k_factor:0.5:2:1.3,h_W_m2K:5:20",
                 "-thermal", "lumped", "-fit_temperature_columns", "temperature_K=temperature_K",
                 "-fit_tao_max_it", "3", "-fit_plots", "false", "-output", "e_fit"]),
        ("abuse", ["abuse", "-params", "a.json", "-output", "e_abuse.csv", "-abuse_t_end_s", "3600"]),
        ("tortuosity", ["tortuosity", "vol.h5", "-output", "e_tau.json", "-field", "e_tau_field.h5"]),
        ("microstructure", ["microstructure", "-size", "20,20,20", "-output", "e_m.h5"]),
        ("microstructure calender", ["microstructure", "-calender", "e_m.h5", "-porosity", "0.3",
                                     "-output", "e_mc.h5"]),
        ("geometry", ["geometry", "small.yaml", "-render", "e_ct.h5", "-output", "e_net.h5"]),
        ("trace", ["trace", "e_ct.h5", "-output", "e_tr.h5"]),
        ("sweep", ["sweep", "sweep.yaml", "-local"]),
    ]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="tc-e2e-") as tmp:
        hostile.fixture(tomocell, tmp)
        for name, args in runs:
            serial = args[0] in hostile.SERIAL
            cmd = ([] if serial else launcher) + [tomocell] + args
            t0 = time.time()
            try:
                r = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=900,
                                   stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                print(f"FAIL {name}: no result within 900 s")
                failures += 1
                continue
            problems = []
            if r.returncode != 0:
                problems.append(f"exit status {r.returncode}")
            for m in hostile.TRACE_MARKERS:
                if m in r.stderr:
                    problems.append(f"stderr shows {m!r}")
            if problems:
                failures += 1
                print(f"FAIL {name}: " + "; ".join(problems) + "\n" + r.stderr[-3000:])
            else:
                print(f"ok   {name} ({1 if serial else nranks} rank(s), {time.time() - t0:.1f} s)")
    print(f"end to end at {nranks} rank(s): {len(runs) - failures} of {len(runs)} commands clean")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
