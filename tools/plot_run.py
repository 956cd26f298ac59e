#!/usr/bin/python3
"""Plots of a tomocell run (job roll): called by tomocell run at the end, or by hand.

    /usr/bin/python3 tools/plot_run.py OUTDIR [TIMES]

TIMES: comma-separated times in s for the maps (default: the middle and the end
of the run); the nearest snapshot in results.h5 is used. Writes into OUTDIR:
  voltage_temperature.png   terminal voltage, current and T_max / T_mean vs time
  maps_t<time>s.png         unrolled (s, z) maps on the Al foil of current
                            density, anode potential vs Li and temperature
  cross_section_T.png       temperature at mid-height (x, y) at the map times
"""
import argparse
import csv
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def load_csv(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def main():
    ap = argparse.ArgumentParser(prog="plot_run.py", description=__doc__.split("\n")[0],
                                 epilog=__doc__.split("\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", metavar="OUTDIR", help="the run's output directory (summary.csv, results.h5)")
    ap.add_argument("times", metavar="TIMES", nargs="?", default="",
                    help="comma-separated map times in s (default: the middle and the end)")
    a = ap.parse_args()
    out, times_arg = a.outdir, a.times
    for need in ("summary.csv", "results.h5"):
        if not os.path.exists(os.path.join(out, need)):
            sys.exit(f"plot_run.py: {os.path.join(out, need)} not found (is {out} a tomocell run's output directory?)")
    ts = load_csv(os.path.join(out, "summary.csv"))
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        t = f["/time_s"][:]
        xyz = f["/nodes/coordinates_m"][:]
        foil = f["/nodes/foil"][:]
        layer = f["/nodes/layer"][:]
        s = f["/nodes/s_m"][:]
        fields = {k: f["/series/" + k] for k in ("current_density_A_m2", "anode_potential_V",
                                                   "temperature_K")}
        nl = int(f["/nodes"].attrs["layers"])
        if times_arg.strip():
            want = [float(v) for v in times_arg.split(",") if v.strip()]
        else:
            want = [0.5 * t[-1], t[-1]]
        idx = sorted({int(np.argmin(np.abs(t - w))) for w in want})
        snaps = {i: {k: v[i, :] for k, v in fields.items()} for i in idx}

    # V, I and T against time
    fig, ax = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    ax[0].plot(ts["time_s"], ts["voltage_V"], "k-")
    ax[0].set_ylabel("terminal voltage (V)")
    a2 = ax[0].twinx()
    a2.plot(ts["time_s"], ts["current_A"], "b--", lw=0.8)
    a2.set_ylabel("current (A)", color="b")
    ax[1].plot(ts["time_s"], ts["T_max_K"] - 273.15, "r-", label="max")
    ax[1].plot(ts["time_s"], ts["T_mean_K"] - 273.15, "g-", label="mean")
    ax[1].plot(ts["time_s"], ts["T_min_K"] - 273.15, "b-", label="min")
    ax[1].set_ylabel("temperature (°C)")
    ax[1].set_xlabel("time (s)")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "voltage_temperature.png"), dpi=110)
    plt.close(fig)

    al = foil == 1
    z = xyz[:, 2]
    for i in idx:
        fig, ax = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
        for a, (k, lab, cm) in zip(ax, [("current_density_A_m2", "current density (A/m²)", "viridis"),
                                         ("anode_potential_V", "anode potential vs Li (V)", "coolwarm_r"),
                                         ("temperature_K", "temperature (K)", "inferno")]):
            v = snaps[i][k][al]
            if nl > 1:
                sc = a.tricontourf(s[al], z[al], np.nan_to_num(v, nan=np.nanmean(v)), 40, cmap=cm)
                a.set_ylabel("z (m)")
            else:
                order = np.argsort(s[al])
                a.plot(s[al][order], v[order], "-")
                sc = None
                a.set_ylabel(lab)
            if sc is not None:
                fig.colorbar(sc, ax=a, label=lab)
        ax[-1].set_xlabel("arc length s along the Al foil (m)")
        ax[0].set_title(f"unrolled Al foil at t = {t[i]:.0f} s")
        fig.tight_layout()
        fig.savefig(os.path.join(out, f"maps_t{t[i]:.0f}s.png"), dpi=110)
        plt.close(fig)

    mid = nl // 2
    sel = (layer == mid) & (foil <= 1)
    fig, ax = plt.subplots(1, len(idx), figsize=(5 * len(idx), 4.5), squeeze=False)
    for a, i in zip(ax[0], idx):
        v = snaps[i]["temperature_K"][sel]
        sc = a.scatter(xyz[sel, 0] * 1e3, xyz[sel, 1] * 1e3, c=v, s=4, cmap="inferno")
        a.set_aspect("equal")
        a.set_xlabel("x (mm)")
        a.set_ylabel("y (mm)")
        a.set_title(f"T at mid-height, t = {t[i]:.0f} s")
        fig.colorbar(sc, ax=a, label="K")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "cross_section_T.png"), dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
