#!/usr/bin/python3
"""The plot of `tomocell fit`: for every fitted column of fit_residuals.csv,
the measurement with the model at the start and at the fit, and below it the
residuals (model - measured) of both. A joint fit of several datasets (a
first column `dataset`): one such pair of rows per dataset.

usage: plot_fit.py fit_residuals.csv fit.png

Written to a temporary name beside fit.png and renamed, so a failed plot
leaves no file.
"""
import argparse
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(
        description="Plot tomocell fit's residuals: measured, model at the start and at the fit.")
    ap.add_argument("residuals", help="fit_residuals.csv written by tomocell fit")
    ap.add_argument("png", help="the PNG to write (via a temporary name)")
    a = ap.parse_args()
    src, png = a.residuals, a.png
    if not os.path.isfile(src):
        sys.exit(f"plot_fit.py: error: {src} not found (give the fit_residuals.csv of a fit)")
    try:
        with open(src) as f:
            rows = list(csv.reader(f))
        head = rows[0]
        multi = bool(head) and head[0] == "dataset"
        names = [r[0] for r in rows[1:]] if multi else ["" for _ in rows[1:]]
        if multi:
            head = head[1:]
        data = [[float(x) for x in (r[1:] if multi else r)] for r in rows[1:]]
    except (OSError, IndexError, ValueError) as e:
        sys.exit(f"plot_fit.py: error: cannot read {src}: {e}")
    if not any(h.endswith("_measured") for h in head):
        sys.exit(f"plot_fit.py: error: {src} has no '<column>_measured' columns "
                 "(not a fit_residuals.csv)")
    sets = []  # the datasets in their order, each with its rows
    for n, r in zip(names, data):
        if not sets or sets[-1][0] != n:
            sets.append((n, []))
        sets[-1][1].append(r)
    chans = [h[: -len("_measured")] for h in head if h.endswith("_measured")]
    unit = {"voltage_V": ("V", 1e3, "mV"), "current_A": ("A", 1e3, "mA")}
    fig, ax = plt.subplots(2 * len(sets), len(chans), figsize=(5.5 * len(chans), 6 * len(sets)),
                           squeeze=False, gridspec_kw={"height_ratios": [2, 1] * len(sets)})
    for d, (name, rs) in enumerate(sets):
        t = [r[0] for r in rs]
        for k, c in enumerate(chans):
            i = head.index(c + "_measured")
            meas = [r[i] for r in rs]
            start = [r[i + 1] for r in rs]
            fit = [r[i + 2] for r in rs]
            u, s, ru = unit.get(c, ("K", 1.0, "K"))
            a = ax[2 * d][k]
            a.plot(t, meas, "k.", ms=2, label="measured")
            a.plot(t, start, "C1--", lw=1.2, label="model, start")
            a.plot(t, fit, "C0-", lw=1.2, label="model, fit")
            a.set_ylabel(f"{c} [{u}]")
            if name:
                a.set_title(f"dataset {name}", fontsize=10)
            a.legend(fontsize=8)
            a.grid(alpha=0.3)
            b = ax[2 * d + 1][k]
            b.sharex(a)
            b.plot(t, [s * (x - y) for x, y in zip(start, meas)], "C1--", lw=1, label="start")
            b.plot(t, [s * (x - y) for x, y in zip(fit, meas)], "C0-", lw=1, label="fit")
            b.axhline(0, color="k", lw=0.5)
            b.set_ylabel(f"model - measured [{ru}]")
            b.set_xlabel("time [s]")
            b.grid(alpha=0.3)
    fig.suptitle("tomocell fit: " + os.path.dirname(os.path.abspath(src)))
    fig.tight_layout()
    tmp = png + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, png)


if __name__ == "__main__":
    main()
