#!/usr/bin/python3
"""Signals to a running job (issue 20, item 9): what each one does to the run,
its files and its exit status.

usage: signals.py TOMOCELL NRANKS [MPIEXEC ARGS...]

A roll run (job roll, tests' 18650 deck, 1 s steps) gets
  * SIGTERM or SIGUSR1 while stepping: it finishes the step, writes
    checkpoint.h5 and exits 3 (TC_EXIT_CHECKPOINTED); no result file, no
    temporary, no lock is left; -restart from the checkpoint completes it
    (exit 0),
  * a signal after the last step, while the complete results are written
    (raised there by -checkpoint_test_signal_at_end): exit 0, the results
    complete, a note on stdout, no checkpoint.
At 2 ranks the signal goes to mpiexec (Open MPI forwards SIGUSR1 to the ranks
and passes their exit status 3 on; on SIGTERM the ranks checkpoint too, but
mpiexec itself returns 1: see docs/checkpoints.md) or to the ranks themselves
(exit 3). A run whose stdout pipe is closed at once (tomocell ... | head) ends
normally (SIGPIPE). Every run: no PETSc trace, crash or sanitizer report on
stderr.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile  # noqa: E402

ROLL = os.path.join(hostile.INPUTS, "roll-18650-tabs-opposite-ends.yaml")
LONG = ["-experiment", "Discharge at 1C for 20 minutes", "-plots", "false", "-dt_max_s", "1"]
# SIGTERM to mpiexec: Open MPI sends the ranks SIGCONT, after odls_base_sigkill_timeout
# seconds SIGTERM and after as many again SIGKILL. The run must still be stepping when
# SIGTERM reaches it (a 20-minute run at 1 s steps can end in that delay), and it gets
# the documented 3 s (docs/checkpoints.md) to finish its step and write the checkpoint.
SIGKILL_S = 3
LONGER = ["-experiment", "Discharge at 1C for 60 minutes", "-plots", "false", "-dt_max_s", "0.5"]
SHORT = ["-experiment", "Discharge at 1C for 60 seconds", "-plots", "false"]
RESULTS = ["results.h5", "results.xmf", "results_series.xmf", "summary.json", "summary.csv"]


def clean_stderr(err):
    return [f"stderr shows {m!r}" for m in hostile.TRACE_MARKERS
            if m in err and m not in ("mpiexec noticed", "prterun noticed")]


def leftovers(d):
    """temporaries and locks a run must never leave"""
    return [f"{n} left in {os.path.basename(d)}" for n in os.listdir(d) if ".tmp-" in n or n == ".tomocell.lock"]


def run_signalled(cmd, cwd, sig, target, limit=300):
    """Start cmd, wait for its first progress line (stepping under way), send sig to
    mpiexec/the process ("launcher") or to the ranks (children of mpiexec)."""
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL)
    out = []
    t0 = time.time()
    for line in p.stdout:
        out.append(line)
        if line.lstrip().startswith("t = "):
            break
        if time.time() - t0 > limit:
            break
    if target == "ranks":
        kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
        for pid in kids:
            os.kill(int(pid), sig)
    else:
        p.send_signal(sig)
    try:
        rest, err = p.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return None, "".join(out), "hang"
    return p.returncode, "".join(out) + rest, err


def find(obj, key):
    """the first value of key anywhere in a JSON document"""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        obj = list(obj.values())
    if isinstance(obj, list):
        for v in obj:
            r = find(v, key)
            if r is not None:
                return r
    return None


def main(argv):
    tomocell = os.path.abspath(argv[1])
    nranks = int(argv[2]) if len(argv) > 2 else 1
    launcher = argv[3:] if nranks > 1 else []
    failures = total = 0
    with tempfile.TemporaryDirectory(prefix="tc-signals-") as tmp:
        hostile.fixture(tomocell, tmp)
        base = launcher + [tomocell, "run", ROLL]

        def case(name, problems, info=""):
            nonlocal failures, total
            total += 1
            if problems:
                failures += 1
                print(f"FAIL {name}: " + "; ".join(problems) + (f"\n     {info}" if info else ""))
            else:
                print(f"ok   {name} {info}")

        # stops while stepping: exit 3 and a checkpoint
        stops = [("SIGTERM", "launcher"), ("SIGUSR1", "launcher")]
        if nranks > 1:
            stops = [("SIGUSR1", "launcher"), ("SIGTERM", "ranks"), ("SIGTERM", "launcher")]
        for k, (sname, target) in enumerate(stops):
            out = f"stop{k}"
            d = os.path.join(tmp, out)
            via_mpiexec = nranks > 1 and sname == "SIGTERM" and target == "launcher"
            cmd = base + ["-output", out] + LONG
            if via_mpiexec:
                cmd = launcher + ["--mca", "odls_base_sigkill_timeout", str(SIGKILL_S), tomocell, "run", ROLL,
                                  "-output", out] + LONGER
            rc, so, err = run_signalled(cmd, tmp, getattr(signal, sname), target)
            problems = [] if rc is not None else ["no end within the time limit (hang)"]
            # Open MPI's mpiexec returns 1 itself on SIGTERM, whatever its ranks return
            want = (1,) if via_mpiexec else (3,)
            if rc not in want:
                problems.append(f"exit status {rc}, expected {want[0]}")
            if f"stopped by {sname}" not in so:
                problems.append(f"stdout lacks 'stopped by {sname}'")
            problems += clean_stderr(err)
            if not os.path.isdir(d) or not os.path.isfile(os.path.join(d, "checkpoint.h5")):
                problems.append("no checkpoint.h5")
            else:
                problems += leftovers(d)
                problems += [f"{r} written by a stopped run" for r in RESULTS if os.path.exists(os.path.join(d, r))]
            label = f"{sname} to {'mpiexec' if launcher and target == 'launcher' else 'the ranks' if target == 'ranks' else 'the run'} while stepping"
            case(label, problems, f"(exit {rc})")
            if k == 0 and not problems:
                # the checkpoint continues the run to its end
                r = subprocess.run(base + ["-output", out, "-restart", os.path.join(out, "checkpoint.h5")] + LONG,
                                   cwd=tmp, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
                problems = [] if r.returncode == 0 else [f"exit status {r.returncode}"]
                problems += clean_stderr(r.stderr) + leftovers(d)
                problems += [f"no {x}" for x in RESULTS if not os.path.exists(os.path.join(d, x))]
                if not problems:
                    t_end = find(json.load(open(os.path.join(d, "summary.json"))), "final_time_s")
                    if t_end is None or abs(t_end - 1200) > 1e-6:
                        problems.append(f"restarted run ends at t = {t_end} s, not 1200 s")
                case("  -restart from that checkpoint", problems, r.stderr.strip()[-300:] if problems else "")

        # signals after stepping: the results are complete, exit 0, a note
        for sname in ("SIGTERM", "SIGUSR1"):
            out = f"late_{sname}"
            d = os.path.join(tmp, out)
            r = subprocess.run(base + ["-output", out, "-checkpoint_test_signal_at_end", sname] + SHORT, cwd=tmp,
                               capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
            problems = [] if r.returncode == 0 else [f"exit status {r.returncode}, expected 0"]
            if f"{sname} arrived after the last step" not in r.stdout:
                problems.append("stdout lacks the note")
            problems += clean_stderr(r.stderr)
            if os.path.isdir(d):
                problems += leftovers(d)
                problems += [f"no {x}" for x in RESULTS if not os.path.exists(os.path.join(d, x))]
                if os.path.exists(os.path.join(d, "checkpoint.h5")):
                    problems.append("checkpoint.h5 written")
                if os.path.exists(os.path.join(d, "summary.json")):
                    json.load(open(os.path.join(d, "summary.json")))  # complete JSON
            else:
                problems.append("no output directory")
            case(f"{sname} after stepping (run)", problems, r.stderr.strip()[-300:] if problems else "")
        if nranks == 1:
            # tomocell cell: the same after stepping
            r = subprocess.run([tomocell, "cell", "-params", "X.json", "-output", "late/c.csv", "-experiment",
                                "Discharge at 1C for 10 minutes", "-checkpoint_test_signal_at_end", "SIGTERM"],
                               cwd=tmp, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
            problems = [] if r.returncode == 0 else [f"exit status {r.returncode}, expected 0"]
            if "SIGTERM arrived after the last step" not in r.stdout:
                problems.append("stdout lacks the note")
            problems += clean_stderr(r.stderr)
            for x in ("c.csv", "c.json"):
                if not os.path.exists(os.path.join(tmp, "late", x)):
                    problems.append(f"no {x}")
            case("SIGTERM after stepping (cell)", problems, r.stderr.strip()[-300:] if problems else "")
        # stdout into a pipe that is closed at once (tomocell ... | head): SIGPIPE. With a
        # launcher the ranks write into mpiexec's own pipes, and it is mpiexec that writes
        # into the closed one: it is started with SIGPIPE ignored (as Python runs), so that
        # its write fails with EPIPE instead of Open MPI's process dying of the signal
        # before or after the ranks end (1 of 15 runs); the ranks must still finish
        p = subprocess.Popen(launcher + [tomocell, "run", "foil.yaml", "-output", "piped"], cwd=tmp,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                             restore_signals=not launcher)
        p.stdout.close()
        err = p.stderr.read()
        p.wait(timeout=300)
        problems = [] if p.returncode == 0 else [f"exit status {p.returncode}, expected 0"]
        problems += clean_stderr(err)
        if not os.path.exists(os.path.join(tmp, "piped", "summary.json")):
            problems.append("no summary.json")
        case("stdout into a closed pipe (SIGPIPE)", problems, err.strip()[-300:] if problems else "")
    print(f"signals at {nranks} rank(s): {total - failures} of {total} cases as required")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
