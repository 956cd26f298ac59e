#!/usr/bin/python3
"""Superseded: the roll stage of the LG M50 calibration is now stage 3 of
tools/calibrate_lgm50.py, a `tomocell fit` of inputs/lgm50.yaml (docs/fit.md,
"The LG M50 calibration"). This runs that stage alone (stages 1 and 2 must
have run: it reads output/lgm50_c2/fit_params.json).

usage: calibrate_lgm50_roll.py TOMOCELL DATA_DIR [MPIEXEC ARGS...]
"""
import os
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from calibrate_lgm50 import ROOT, commands  # noqa: E402

if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    os.chdir(ROOT)
    cmd = commands(sys.argv[1], sys.argv[2], sys.argv[3:])[2]
    print("+", " ".join(shlex.quote(a) for a in cmd), flush=True)
    sys.exit(subprocess.run(cmd).returncode)
