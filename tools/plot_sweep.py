#!/usr/bin/python3
"""Plot one column of a sweep's results.csv against another (tomocell sweep -gather).

usage: plot_sweep.py results.csv X_COLUMN Y_COLUMN out.png
Tasks that are not done are left out. Needs Debian's python3-matplotlib.
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

path, xcol, ycol, out = sys.argv[1:5]
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
