#!/usr/bin/python3
"""Stale temporaries of dead processes are removed, nothing else is.

usage: stale.py TOMOCELL

Before a write of out.json, the directory holds four temporaries of it:
  old, of a dead process       -> removed (what a SIGKILLed run leaves)
  fresh, of a dead process     -> kept (a writer on another host of a shared
                                  file system may own it: 10 minutes' grace)
  old, of a live process       -> kept (this script's own PID)
  another file's old temporary -> kept (only the output's own are touched)
The run must exit 0 and write out.json.
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
    dead = subprocess.Popen(["true"])
    dead.wait()
    old = time.time() - 3600
    with tempfile.TemporaryDirectory(prefix="tc-stale-") as tmp:
        subprocess.run([tomocell, "microstructure", "-size", "12,12,12", "-output", "vol.h5"], cwd=tmp,
                       check=True, capture_output=True)
        files = {f"out.json.tmp-{dead.pid}": (old, False), f"out.json.tmp-{dead.pid + 1000000}": (time.time(), True),
                 f"out.json.tmp-{os.getpid()}": (old, True), f"other.json.tmp-{dead.pid}": (old, True)}
        for name, (mtime, _) in files.items():
            hostile.write(os.path.join(tmp, name), "half-written\n")
            os.utime(os.path.join(tmp, name), (mtime, mtime))
        r = subprocess.run([tomocell, "tortuosity", "vol.h5", "-output", "out.json"], cwd=tmp,
                           capture_output=True, text=True, timeout=120)
        problems = [] if r.returncode == 0 else [f"exit status {r.returncode}: {r.stderr.strip()}"]
        if not os.path.exists(os.path.join(tmp, "out.json")):
            problems.append("out.json not written")
        for name, (_, keep) in files.items():
            there = os.path.exists(os.path.join(tmp, name))
            if there != keep:
                problems.append(f"{name} {'removed' if keep else 'left'}")
    for p in problems:
        print("FAIL " + p)
    print("stale temporaries: " + ("ok" if not problems else f"{len(problems)} problem(s)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
