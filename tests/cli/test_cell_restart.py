"""tomocell cell checkpoint/restart: a run stopped part-way (by the test
option that raises the same flag as SIGTERM/SIGUSR1, and by real signals)
and restarted with -restart must give the CSV and the JSON summary of an
uninterrupted run byte for byte (the JSON without its wall_s line, wall time
differs between any two runs). A crash while a checkpoint is being written
(SIGKILL between the complete temporary file and the rename) must leave the
previous checkpoint, which must restart to the same result.

usage: test_cell_restart.py TOMOCELL
"""
import filecmp
import os
import signal
import subprocess
import sys
import tempfile
import time

import h5py

TOMOCELL = sys.argv[1]
EXPT = "Discharge at 1C until 2.5 V; Rest for 10 minutes; Charge at 1C until 4.1 V"
failures = []


def run(args, cwd, expect):
    r = subprocess.run([TOMOCELL, "cell"] + args, cwd=cwd, capture_output=True, text=True,
                       timeout=300)
    if r.returncode != expect:
        failures.append(f"{' '.join(args)}: exit {r.returncode}, expected {expect}\n"
                        f"{r.stdout}{r.stderr}")
    return r


def json_wo_wall(path):
    with open(path) as f:
        return [l for l in f if '"wall_s"' not in l]


def same(ref, got, what):
    """ref, got: output CSV paths; compare CSV and JSON."""
    if not os.path.exists(got):
        failures.append(f"{what}: {got} missing")
        return
    nfail = len(failures)
    if not filecmp.cmp(ref, got, shallow=False):
        failures.append(f"{what}: CSV differs from the uninterrupted run")
    jr, jg = ref[:-4] + ".json", got[:-4] + ".json"
    if json_wo_wall(jr) != json_wo_wall(jg):
        failures.append(f"{what}: JSON differs from the uninterrupted run")
    if len(failures) == nfail:
        print(f"ok   {what}: CSV and JSON (without wall_s) identical to the uninterrupted run")


def stopped_ok(d, what):
    ck = os.path.join(d, "checkpoint.h5")
    if not os.path.exists(ck):
        failures.append(f"{what}: no checkpoint.h5 after exit 3")
    if os.path.exists(os.path.join(d, "out.csv")):
        failures.append(f"{what}: out.csv exists although the run stopped")
    if not os.path.exists(os.path.join(d, "out.csv.partial")):
        failures.append(f"{what}: out.csv.partial (kept CSV) missing")
    return ck


with tempfile.TemporaryDirectory() as tmp:
    for model in ("dfn", "spm"):
        base = ["-model", model, "-experiment", EXPT]
        ref = os.path.join(tmp, f"{model}-ref/out.csv")
        r = run(base + ["-output", ref], tmp, 0)
        if "t = " in r.stdout:
            failures.append(f"{model}: progress lines on a short run:\n{r.stdout}")
        # accepted steps of the discharge: the rest starts with a row at the
        # same time as the discharge's last one
        with open(ref) as f:
            t = [float(l.split(",")[0]) for l in f.readlines()[1:]]
        k = next(i for i in range(1, len(t)) if t[i] == t[i - 1]) - 1
        # (a) stopped by the flag inside the discharge (60), exactly at its
        # end (k: the cursor points at the start of the rest) and in the
        # charge (k + 40), each restarted once
        for n in (60, k, k + 40):
            d = os.path.join(tmp, f"{model}-stop{n}")
            out = os.path.join(d, "out.csv")
            r = run(base + ["-output", out, "-checkpoint_test_stop_after", str(n)], tmp, 3)
            ck = stopped_ok(d, f"{model} stop after {n}")
            run(base + ["-output", out, "-restart", ck], tmp, 0)
            same(ref, out, f"{model} stopped after {n} steps, restarted")
            if os.path.exists(ck):
                failures.append(f"{model}: checkpoint.h5 left after the run completed")
        # stopped twice: two restarts in a row, with periodic checkpoints
        d = os.path.join(tmp, f"{model}-twice")
        out = os.path.join(d, "out.csv")
        run(base + ["-output", out, "-checkpoint_test_stop_after", "40"], tmp, 3)
        run(base + ["-output", out, "-restart", os.path.join(d, "checkpoint.h5"),
                    "-checkpoint_every", "7", "-checkpoint_test_stop_after", "50"], tmp, 3)
        with h5py.File(os.path.join(d, "checkpoint.h5"), "r") as f:
            steps = int(f["scalars"].attrs["steps"])
            if steps != 90:
                failures.append(f"{model}: second checkpoint at step {steps}, expected 90")
        r = run(base + ["-output", out, "-restart", os.path.join(d, "checkpoint.h5"),
                        "-progress", "50"], tmp, 0)
        same(ref, out, f"{model} stopped twice, restarted twice")
        if " Newton its" not in r.stdout or "done" not in r.stdout and "step " not in r.stdout:
            failures.append(f"{model}: -progress 50 printed no progress lines:\n{r.stdout}")

        # (b) SIGKILL during the 3rd checkpoint write (after the temporary file
        # is complete, before the rename): the 2nd checkpoint (step 40) stays
        d = os.path.join(tmp, f"{model}-crash")
        out = os.path.join(d, "out.csv")
        r = run(base + ["-output", out, "-checkpoint_every", "20",
                        "-checkpoint_test_crash_at", "3"], tmp, -signal.SIGKILL)
        ck = os.path.join(d, "checkpoint.h5")
        temps = [f for f in os.listdir(d) if f.startswith("checkpoint.h5.tmp-")]
        if not temps:
            failures.append(f"{model} crash: no temporary checkpoint left by the killed writer")
        with h5py.File(ck, "r") as f:
            steps = int(f["scalars"].attrs["steps"])
        if steps != 40:
            failures.append(f"{model} crash: checkpoint.h5 is from step {steps}, expected 40")
        run(base + ["-output", out, "-restart", ck], tmp, 0)
        same(ref, out, f"{model} killed while writing checkpoint 3, restarted from checkpoint 2")
        left = [f for f in os.listdir(d) if f.startswith("checkpoint.h5")]
        if left:
            failures.append(f"{model} crash: {left} left after the run completed")

        # -output a bare file name: the checkpoint goes to ./checkpoint.h5
        d = os.path.join(tmp, f"{model}-bare")
        os.makedirs(d)
        run(base + ["-output", "out.csv", "-checkpoint_test_stop_after", "50"], d, 3)
        stopped_ok(d, f"{model} bare -output")
        run(base + ["-output", "out.csv", "-restart", "checkpoint.h5"], d, 0)
        same(ref, os.path.join(d, "out.csv"), f"{model} -output out.csv (bare name), restarted")

    # real signals: a run with small steps long enough to be caught part-way;
    # wait for its first periodic checkpoint, then signal it
    for sig, model in ((signal.SIGTERM, "dfn"), (signal.SIGUSR1, "spm")):
        base = ["-model", model, "-experiment", EXPT, "-cell_dt_max_s", "0.5"]
        ref = os.path.join(tmp, f"sig-{model}-ref/out.csv")
        run(base + ["-output", ref], tmp, 0)
        d = os.path.join(tmp, f"sig-{model}")
        out = os.path.join(d, "out.csv")
        p = subprocess.Popen([TOMOCELL, "cell"] + base + ["-output", out, "-checkpoint_every",
                                                            "500"],
                             cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        t0 = time.time()
        while not os.path.exists(os.path.join(d, "checkpoint.h5")) and p.poll() is None \
                and time.time() - t0 < 120:
            time.sleep(0.005)
        p.send_signal(sig)
        text = p.communicate(timeout=120)[0]
        name = signal.Signals(sig).name
        if p.returncode != 3:
            failures.append(f"{name}: exit {p.returncode}, expected 3 (did the run finish before "
                            f"the signal?)\n{text}")
            continue
        if f"stopped by {name}" not in text:
            failures.append(f"{name}: no 'stopped by {name}' line:\n{text}")
        ck = stopped_ok(d, name)
        run(base + ["-output", out, "-restart", ck], tmp, 0)
        same(ref, out, f"{model} stopped by {name}, restarted")

    # SPMe, lumped thermal, a CCCV hold (the demo deck): temperature and the
    # hold's current-based error control also continue exactly
    deck = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "inputs",
                        "cell_demo.yaml")
    for model in ("spme", "dfn"):
        ref = os.path.join(tmp, f"deck-{model}-ref/out.csv")
        run([deck, "-model", model, "-output", ref], tmp, 0)
        with open(ref) as f:
            nrows = len(f.readlines()) - 1
        for n in (nrows // 3, nrows - 20):  # in the rest or charge; inside the hold
            d = os.path.join(tmp, f"deck-{model}-{n}")
            out = os.path.join(d, "out.csv")
            run([deck, "-model", model, "-output", out, "-checkpoint_test_stop_after", str(n)],
                tmp, 3)
            run([deck, "-model", model, "-output", out, "-restart",
                 os.path.join(d, "checkpoint.h5")], tmp, 0)
            same(ref, out, f"{model} lumped CCCV deck stopped after {n} steps, restarted")

    # wall-time checkpoints: every 30 ms of a ~0.5 s run writes several; the
    # completed run removes the last one
    d = os.path.join(tmp, "minutes")
    r = run(["-model", "spm", "-experiment", EXPT, "-cell_dt_max_s", "0.5", "-output",
             os.path.join(d, "out.csv"), "-checkpoint_minutes", "0.0005"], tmp, 0)
    if "checkpoint(s) written" not in r.stdout:
        failures.append(f"-checkpoint_minutes wrote no checkpoint:\n{r.stdout}")
    elif os.path.exists(os.path.join(d, "checkpoint.h5")):
        failures.append("-checkpoint_minutes: checkpoint.h5 left after the run completed")
    else:
        print("ok   -checkpoint_minutes: " + [l for l in r.stdout.splitlines()
                                              if "checkpoint(s)" in l][0].strip())

for f in failures:
    print("FAIL " + f)
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
