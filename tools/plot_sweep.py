#!/usr/bin/python3
"""Plot one column of a sweep's results.csv against another (tomocell sweep -gather).

usage: plot_sweep.py results.csv X_COLUMN Y_COLUMN out.png
Tasks that are not done are left out. Needs Debian's python3-matplotlib.
"""
import argparse
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ap = argparse.ArgumentParser(prog="plot_sweep.py", description=__doc__.split("\n")[0],
                             epilog=__doc__.split("\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("results", help="the sweep's results.csv (tomocell sweep -gather)")
ap.add_argument("x", metavar="X_COLUMN", help="column for the x axis")
ap.add_argument("y", metavar="Y_COLUMN", help="column for the y axis")
ap.add_argument("png", metavar="out.png", help="the plot to write")
a = ap.parse_args()
path, xcol, ycol, out = a.results, a.x, a.y, a.png
if not os.path.exists(path):
    sys.exit(f"plot_sweep.py: {path} not found")
rows = [r for r in csv.DictReader(open(path)) if r["status"] == "done"]
for c in (xcol, ycol):
    if rows and c not in rows[0]:
        sys.exit(f"plot_sweep: no column {c!r} in {path}")
pts = sorted((float(r[xcol]), float(r[ycol])) for r in rows)
fig, ax = plt.subplots(figsize=(5, 3.6), dpi=120)
ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-")
ax.set_xlabel(xcol)
ax.set_ylabel(ycol)
ax.set_title(f"tomocell sweep: {len(pts)} task(s)")
ax.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(out)
