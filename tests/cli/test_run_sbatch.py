#!/usr/bin/python3
"""jobs/run.sbatch outside Slurm: submitted from any directory, and the restart chain.

usage: test_run_sbatch.py TOMOCELL SOURCE_DIR [NTASKS]

1. From a directory that is not the repository, with a deck given relative to
   that directory and -output relative to it: the script finds build/tomocell
   through its own path, the deck and the output are the submitter's.
2. A shipped deck named relative to the repository (inputs/foil_demo.yaml)
   from elsewhere is found in the repository.
3. The restart chain: a small coupled roll with -checkpoint_test_stop_after 8
   (each part stops after 8 steps as SIGUSR1 would stop it, exit 3); the
   script continues it with -restart <output>/checkpoint.h5, part after part,
   until it completes with status 0. The result is the uninterrupted run's,
   byte for byte (summary.csv), and no checkpoint.h5 is left.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

tomocell, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
ntasks = sys.argv[3] if len(sys.argv) > 3 else "1"
script = os.path.join(src, "jobs", "run.sbatch")
fail = []

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


def check(cond, msg, detail=""):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        fail.append(msg)
        if detail:
            print("     " + detail.strip().replace("\n", "\n     ")[-3000:])


env = dict(os.environ, TOMOCELL=tomocell, NTASKS=ntasks)
for k in ("SLURM_JOB_ID", "SLURM_SUBMIT_DIR", "TC_ROOT", "TC_RUN_SCRIPT", "TC_RUN_RESTART", "TC_RUN_PART"):
    env.pop(k, None)
env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")


def sb(cwd, *args):
    return subprocess.run(["bash", script] + list(args), cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


with tempfile.TemporaryDirectory() as tmp:
    work = os.path.join(tmp, "elsewhere")
    os.makedirs(os.path.join(work, "decks"))
    with open(os.path.join(work, "decks", "r.yaml"), "w") as f:
        f.write(DECK)

    # 1. a deck and an output relative to the submit directory
    r = sb(work, "decks/r.yaml", "-output", "out/full")
    check(r.returncode == 0 and os.path.isfile(os.path.join(work, "out/full/summary.csv")),
          "submitted from another directory: deck and -output relative to it", r.stdout + r.stderr)
    # without TOMOCELL: build/tomocell of the script's repository (when it is built there)
    if os.path.isfile(os.path.join(src, "build", "tomocell")):
        env2 = dict(env)
        env2.pop("TOMOCELL")
        r2 = subprocess.run(["bash", script, "decks/r.yaml", "-output", "out/b"], cwd=work, env=env2,
                            capture_output=True, text=True, timeout=900)
        check(r2.returncode == 0 and os.path.isfile(os.path.join(work, "out/b/summary.csv")),
              "without TOMOCELL: the repository's build/tomocell found through the script's path",
              r2.stdout + r2.stderr)

    # 2. a shipped deck named relative to the repository
    r = sb(work, "inputs/foil_demo.yaml", "-foil_ns", "41", "-foil_nz", "5", "-output", "out/foil")
    check(r.returncode == 0 and "effective resistance" in r.stdout
          and os.path.isfile(os.path.join(work, "out/foil/summary.json")),
          "inputs/foil_demo.yaml from another directory: found in the repository", r.stdout + r.stderr)

    # 3. the restart chain
    r = sb(work, "decks/r.yaml", "-output", "out/chain", "-checkpoint_test_stop_after", "8")
    parts = re.findall(r"part (\d+):", r.stdout)
    stops = r.stdout.count("(exit status 3)")
    same = False
    try:
        same = open(os.path.join(work, "out/full/summary.csv"), "rb").read() == \
            open(os.path.join(work, "out/chain/summary.csv"), "rb").read()
    except OSError:
        pass
    left = glob.glob(os.path.join(work, "out/chain/checkpoint.h5*"))
    check(r.returncode == 0 and stops >= 2 and len(set(parts)) == stops + 1
          and "exit status 0 (complete)" in r.stdout,
          f"restart chain: {stops} parts stopped with status 3 and were continued with -restart, "
          f"the last completed (exit 0)", r.stdout + r.stderr)
    check(same, "restart chain: summary.csv identical to the uninterrupted run's")
    check(not left, f"restart chain: no checkpoint left after completion ({left})")

    # a failing part ends the chain with its status
    r = sb(work, "decks/r.yaml", "-output", "out/bad", "-network_nz", "0")
    check(r.returncode == 1 and "tomocell: error:" in r.stderr, "a failing part: exit status 1, no resubmission",
          r.stdout + r.stderr)

sys.exit(1 if fail else 0)
