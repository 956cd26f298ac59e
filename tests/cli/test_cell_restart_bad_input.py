#!/usr/bin/python3
"""A bad -restart to `tomocell cell` gives a clear message, exit status 1 and
no output file: a checkpoint of another deck (model, experiment, parameter
set, numerical options), of another tomocell version (attribute edited with
h5py), a missing, corrupt or truncated checkpoint, and a checkpoint whose
kept CSV is missing or was changed.

usage: test_cell_restart_bad_input.py TOMOCELL
"""
import os
import shutil
import subprocess
import sys

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from badinput import run_all  # noqa: E402

EXPT = "Discharge at 1C until 2.5 V; Rest for 10 minutes"
BASE = ["-model", "dfn", "-experiment", EXPT]


def cases(tmp):
    # one run stopped after 30 steps: run/checkpoint.h5 and run/out.csv.partial
    r = subprocess.run([sys.argv[1], "cell"] + BASE + ["-output", "run/out.csv",
                                                       "-checkpoint_test_stop_after", "30"],
                       cwd=tmp, capture_output=True, text=True, timeout=120)
    assert r.returncode == 3, r.stdout + r.stderr
    ck = os.path.join(tmp, "run", "checkpoint.h5")
    for name in ("oldver", "nocsv", "badcsv", "garbage", "truncated"):
        os.makedirs(os.path.join(tmp, name))
        shutil.copy(ck, os.path.join(tmp, name, "checkpoint.h5"))
        if name not in ("nocsv",):
            shutil.copy(os.path.join(tmp, "run", "out.csv.partial"),
                        os.path.join(tmp, name, "out.csv.partial"))
    with h5py.File(os.path.join(tmp, "oldver", "checkpoint.h5"), "r+") as f:
        f.attrs["version"] = "0.0.9"
    with open(os.path.join(tmp, "badcsv", "out.csv.partial"), "r+b") as f:
        f.seek(200)
        f.write(b"9")
    with open(os.path.join(tmp, "garbage", "checkpoint.h5"), "wb") as f:
        f.write(b"this is not an HDF5 file\n" * 100)
    with open(ck, "rb") as f:
        head = f.read(3000)
    with open(os.path.join(tmp, "truncated", "checkpoint.h5"), "wb") as f:
        f.write(head)

    def restart(d, *extra, base=BASE):
        return base + list(extra) + ["-output", f"{d}/out.csv", "-restart", f"{d}/checkpoint.h5"]

    return [
        ("other model", restart("run", "-model", "spm", base=[]) + ["-experiment", EXPT],
         ["run/checkpoint.h5", "different run", 'model is "dfn" there but "spm" here'],
         "run/out.csv"),
        ("other experiment", ["-model", "dfn", "-experiment", "Discharge at 2C until 2.5 V",
                              "-output", "run/out.csv", "-restart", "run/checkpoint.h5"],
         ["different run", "experiment is", "Discharge at 2C until 2.5 V"], "run/out.csv"),
        ("other params", restart("run", "-params", "marquis2019"),
         ["different run", 'params is "chen2020" there but "marquis2019" here'], "run/out.csv"),
        ("other tolerance", restart("run", "-cell_tol_V", "2e-3"),
         ["different run", "cell_tol_V is \"0.001\" there but \"0.002\" here"], "run/out.csv"),
        ("other grid", restart("run", "-cell_nx_n", "10", "-cell_nr_p", "12"),
         ["different run", "cell_nx_n", "and 1 more difference"], "run/out.csv"),
        ("other version", restart("oldver"),
         ["oldver/checkpoint.h5", "written by tomocell 0.0.9", "this is tomocell"],
         "oldver/out.csv"),
        ("missing file", restart("nowhere"),
         ["cannot read restart file nowhere/checkpoint.h5", "No such file"], "nowhere/out.csv"),
        ("not HDF5", restart("garbage"),
         ["garbage/checkpoint.h5 is not a readable HDF5 file"], "garbage/out.csv"),
        ("truncated", restart("truncated"),
         ["truncated/checkpoint.h5 is not a readable HDF5 file"], "truncated/out.csv"),
        ("kept CSV missing", restart("nocsv"),
         ["cannot restart from nocsv/checkpoint.h5", "nocsv/out.csv.partial"], "nocsv/out.csv"),
        ("kept CSV changed", restart("badcsv"),
         ["badcsv/out.csv.partial are not the ones the checkpoint recorded"], "badcsv/out.csv"),
        ("restart without file", BASE + ["-output", "run/out.csv", "-restart"],
         ["-restart needs the checkpoint file"], "run/out.csv"),
    ]


sys.exit(run_all("cell", cases, sys.argv[1:]))
