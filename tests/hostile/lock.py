#!/usr/bin/python3
"""Two runs into one output directory, and sweep errors that used to leave
files (issue 20, item 10).

usage: lock.py TOMOCELL [NRANKS MPIEXEC ARGS...]

A run that writes an output directory (run, compare, sweep) holds
<dir>/.tomocell.lock ("PID HOST", flock()ed) while it runs:
  * a second run into a directory whose lock is held is refused (exit 1, one
    error line naming the pid, host and lock file; nothing changed), also for
    a real second run while the first runs; the first then ends normally,
  * a lock left by a dead process of this host (SIGKILL) is taken over with a
    note, and removed when the run ends,
  * a lock of another host (whose processes this host cannot see) is refused,
  * no run leaves a lock behind.
Also: sweep -task N out of range and a failed -slurm submission (SBATCH=false)
fail without leaving a file.
"""
import fcntl
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile  # noqa: E402
from hostile import Case  # noqa: E402

ROLL = os.path.join(hostile.INPUTS, "roll-18650-tabs-opposite-ends.yaml")
HOST = socket.gethostname()


def held_lock(tmp, d, pid):
    """d/.tomocell.lock naming pid on this host, flock()ed by this test process"""
    os.makedirs(os.path.join(tmp, d), exist_ok=True)
    f = open(os.path.join(tmp, d, ".tomocell.lock"), "w")
    f.write(f"{pid} {HOST}\n")
    f.flush()
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


def main(argv):
    tomocell = os.path.abspath(argv[1])
    nranks = int(argv[2]) if len(argv) > 2 else 1
    launcher = argv[3:] if nranks > 1 else []
    failures = total = 0

    def report(name, problems, info=""):
        nonlocal failures, total
        total += 1
        if problems:
            failures += 1
            print(f"FAIL {name}: " + "; ".join(problems) + (f"\n     {info}" if info else ""))
        else:
            print(f"ok   {name}: {info}")

    with tempfile.TemporaryDirectory(prefix="tc-lock-") as tmp:
        hostile.fixture(tomocell, tmp)
        hostile.fixture_nonsense(tmp)
        held = [held_lock(tmp, d, os.getpid()) for d in ("busy", "busycmp", "sweepout")]
        os.makedirs(os.path.join(tmp, "far"))
        hostile.write(os.path.join(tmp, "far", ".tomocell.lock"), "4242 elsewhere.example.org\n")
        hostile.write(os.path.join(tmp, "sweep2.yaml"), open(os.path.join(tmp, "sweep.yaml")).read().replace(
            "output: sweepout", "output: sw2"))
        cases = [
            Case("run foil into a locked directory", ["run", "foil.yaml", "-output", "busy"],
                 ["in use by another tomocell run", f"pid {os.getpid()}", "busy/.tomocell.lock"]),
            Case("run roll into a locked directory", ["run", ROLL, "-output", "busy", "-plots", "false"],
                 ["in use by another tomocell run"]),
            Case("compare into a locked directory", ["compare", "res.h5", "okmap.h5", "-output", "busycmp",
                                                     "-register", "fixed"], ["in use by another tomocell run"]),
            Case("sweep -local into a locked directory", ["sweep", "sweep.yaml", "-local"],
                 ["in use by another tomocell run"]),
            Case("run into a lock of another host", ["run", "foil.yaml", "-output", "far"],
                 ["elsewhere.example.org", "another host", "remove the lock file"]),
            Case("sweep -task out of range", ["sweep", "sweep2.yaml", "-task", "99"], ["-task 99", "0..1"]),
            Case("sweep -slurm with a failing sbatch", ["sweep", "sweep2.yaml", "-slurm"], ["failed"],
                 env={"SBATCH": "false"}),
        ]
        for c in cases:
            problems, info = hostile.run_case(c, launcher, tomocell, tmp)
            report(c.name, problems, info)
        for f in held:
            f.close()

        # a stale lock (a SIGKILLed run of this host) is taken over and removed at the end
        dead = subprocess.Popen(["true"])
        dead.wait()
        os.makedirs(os.path.join(tmp, "stale"))
        hostile.write(os.path.join(tmp, "stale", ".tomocell.lock"), f"{dead.pid} {HOST}\n")
        r = subprocess.run(launcher + [tomocell, "run", "foil.yaml", "-output", "stale"], cwd=tmp,
                           capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        problems = [] if r.returncode == 0 else [f"exit status {r.returncode}"]
        if f"took over the stale lock of pid {dead.pid}" not in r.stdout:
            problems.append("no note of the takeover on stdout")
        if os.path.exists(os.path.join(tmp, "stale", ".tomocell.lock")):
            problems.append("the lock was left")
        if not os.path.exists(os.path.join(tmp, "stale", "summary.json")):
            problems.append("no summary.json")
        report("stale lock of a dead process taken over", problems, r.stderr.strip()[-300:])

        # a real second run while the first runs: started as soon as the first's lock is there
        # (written at the start of the run, before its set-up), so that the whole first run
        # (1,200 steps, ~2.5 s quiet, several times that under a sanitizer) is the margin; waiting
        # for its first progress line (2 s of wall time in) left too little: in one suite run the
        # first ended before the second had looked at the lock
        first = subprocess.Popen(launcher + [tomocell, "run", ROLL, "-output", "two", "-plots", "false", "-dt_max_s",
                                             "1", "-experiment", "Discharge at 1C for 20 minutes"],
                                 cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 stdin=subprocess.DEVNULL)
        lockpath, lock, t0 = os.path.join(tmp, "two", ".tomocell.lock"), "", time.monotonic()
        while first.poll() is None and time.monotonic() - t0 < 120:
            if os.path.exists(lockpath):
                lock = open(lockpath).read()
                if lock.endswith("\n"):
                    break
            time.sleep(0.005)
        second = subprocess.run(launcher + [tomocell, "run", ROLL, "-output", "two", "-plots", "false", "-experiment",
                                            "Discharge at 1C for 60 seconds"], cwd=tmp, capture_output=True, text=True,
                                timeout=300, stdin=subprocess.DEVNULL)
        rest, err1 = first.communicate(timeout=600)
        problems = []
        if not lock.split() or not lock.endswith(f" {HOST}\n"):
            problems.append(f"the running job's lock holds {lock!r}, expected 'PID {HOST}'")
        if second.returncode != 1:
            problems.append(f"second run: exit status {second.returncode}, expected 1")
        if sum(l.startswith("tomocell: error:") for l in second.stderr.splitlines()) != 1:
            problems.append("second run: not exactly one error line")
        if lock.split() and f"pid {lock.split()[0]}" not in second.stderr:
            problems.append("second run: the message does not name the first run's pid")
        problems += [f"second run: stderr shows {m!r}" for m in hostile.TRACE_MARKERS if m in second.stderr]
        if first.returncode != 0:
            problems.append(f"first run: exit status {first.returncode}\n{err1[-500:]}")
        left = sorted(os.listdir(os.path.join(tmp, "two")))
        if left != sorted(["results.h5", "results.xmf", "results_series.xmf", "summary.json", "summary.csv"]):
            problems.append(f"the directory holds {left}")
        report("a second run while the first steps", problems,
               next((l for l in second.stderr.splitlines() if l.startswith("tomocell")), ""))
        # concurrent one-rank runs: Open MPI's isolated singletons shared one session
        # directory, which one run removed under another ("A call to mkdir was unable to
        # create the desired directory" before the run's own output)
        if nranks == 1:
            bad = []
            for rnd in range(6):
                ps = [subprocess.Popen([tomocell, "microstructure", "-size", "4,4,4", "-output", f"conc{i}.h5"],
                                       cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                      for i in range(6)]
                for q in ps:
                    e = q.communicate(timeout=300)[1]
                    if q.returncode != 0 or e.strip():
                        bad.append(f"exit {q.returncode}: {e.strip()[:200]}")
            report("36 concurrent one-rank runs, stderr clean", bad[:3], f"{36 - len(bad)} of 36 clean")
    print(f"locks at {nranks} rank(s): {total - failures} of {total} cases as required")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
