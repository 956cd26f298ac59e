#!/usr/bin/python3
"""tools/*.py --help prints a usage and exits 0; missing or wrong arguments give a
one-line error, no traceback (issue 19, item 9).

usage: test_tool_help.py
"""
import glob
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
fails = 0
for tool in sorted(glob.glob(os.path.join(ROOT, "tools", "plot_*.py"))):
    name = os.path.basename(tool)
    h = subprocess.run([sys.executable, tool, "--help"], capture_output=True, text=True, timeout=120)
    n = subprocess.run([sys.executable, tool], capture_output=True, text=True, timeout=120)
    w = subprocess.run([sys.executable, tool, "/nonexistent/dir", "x", "y", "out.png"][: 3 if "run" in name else 4 if "fit" in name else 6],
                       capture_output=True, text=True, timeout=120)
    ok = (h.returncode == 0 and "usage:" in h.stdout and n.returncode != 0 and "Traceback" not in n.stderr
          and w.returncode != 0 and "Traceback" not in w.stderr and "not found" in w.stderr)
    print(("ok   " if ok else "FAIL ") + name)
    if not ok:
        print(h.stdout[-500:], h.stderr[-800:], n.stderr[-800:], w.stderr[-800:])
        fails += 1
sys.exit(1 if fails else 0)
