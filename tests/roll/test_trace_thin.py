#!/usr/bin/python3
"""Thin label lines: two interleaved Archimedean spirals drawn as 1-2 px label
lines, as hand or network segmentations of real scans draw current
collectors (the LG MJ1 slice of ../shared/validation/realct is one), traced
by `tomocell trace` and compared with the exact curves.

usage: test_trace_thin.py TOMOCELL

The lines are rasterised by rounding points 0.25 px apart to pixels, so they
are 8-connected staircases one pixel wide. On top, in sectors of the roll:
  * zigzags: the line steps out by one pixel and back every few pixels (a ray
    through such a step meets the line twice, 1-2 px apart);
  * 2-px stretches: the line is drawn twice, one pixel apart;
  * overlapping tracks: a parallel copy 2 px outside the line over tens of
    rays, then the copy ends (a spur that a tracker may follow instead).
Checks (the issue's targets for real scans, tighter where the truth is exact):
  * length within 1 % of the exact arc length (the tracer smooths the centre
    line; the zigzags move it by at most half a pixel);
  * turns within 0.05 of the drawn turns (0.3 allowed on real scans, whose
    truth is hand-measured);
  * inner and outer radius within 1.5 px (the line's half-width plus the
    rounding of its ends);
  * a step: the line moves out by 3 px over 20 degrees, its pieces
    overlapping by 4 degrees (tens of rays) at each step;
  * a line cut at one point (a gap of 3 px in one turn) still traces whole;
  * Cu and Al by evidence, stated in the summary (cu_al): the file's text
    naming label 2 the negative collector; without it the lowest label,
    said to be assumed (even when label 2 overhangs label 1 at both ends:
    the winding is reported, not trusted); -trace_cu_label over both.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

PX = 10e-6


def spiral(a, b, turns, phi0=0.0):
    phi = np.linspace(0, 2 * np.pi * turns, int(2 * np.pi * turns * (a + b * np.pi * turns) / 0.25) + 2)
    r = a + b * phi
    return phi + phi0, r


def exact(a, b, turns):
    phi = np.linspace(0, 2 * np.pi * turns, 400001)
    r = a + b * phi
    ds = np.sqrt(r * r + b * b)
    return float(np.sum(0.5 * (ds[1:] + ds[:-1]) * np.diff(phi)))


def draw(img, cx, cy, phi, r, label, rng, zigzag=(), thick=(), spur=(), step=(), cut=None):
    """Draw r(phi) into img. zigzag/thick/spur: lists of (theta0, theta1)
    sectors (radians mod 2 pi) with the defect; cut: (turn, theta) of a 3-px gap."""
    th = np.mod(phi, 2 * np.pi)
    rr = r.copy()
    for t0, t1 in zigzag:
        m = (th >= t0) & (th < t1)
        # step out by one pixel for ~3 px of arc every ~6 px
        s = np.cumsum(np.r_[0, np.hypot(np.diff(r * np.cos(phi)), np.diff(r * np.sin(phi)))])
        rr[m & (np.mod(s, 6.0) < 3.0)] += 1.0
        rr[m] += rng.integers(0, 2, m.sum()) * 0.6 * (rng.random(m.sum()) < 0.15)
    keep = np.ones(len(phi), bool)
    if cut is not None:
        turn, theta = cut
        s = r * (phi - (2 * np.pi * turn + theta))
        keep &= np.abs(s) > 1.5
    def put(rad, sel):
        i = np.floor(cx + rad[sel] * np.cos(phi[sel])).astype(int)
        j = np.floor(cy + rad[sel] * np.sin(phi[sel])).astype(int)
        img[j, i] = label
    for t0, t1 in step:
        # the line steps out by 3 px between t0 and t1 (turns 3 to 9), the
        # inner and outer pieces overlapping by 4 degrees at each step
        o = 4 * np.pi / 180
        turns_ok = (phi > 2 * np.pi * 3) & (phi < 2 * np.pi * 9)
        inside = (th >= t0) & (th < t1) & turns_ok
        inner_gap = (th >= t0 + o) & (th < t1 - o) & turns_ok
        rr2 = rr.copy()
        rr2[inside] += 3.0
        keep_out = keep & inside
        keep &= ~inner_gap
        put(rr2, keep_out)
    put(rr, keep)
    for t0, t1 in thick:
        put(rr + 1.0, keep & (th >= t0) & (th < t1))
    for t0, t1 in spur:
        put(rr + 2.0, keep & (th >= t0) & (th < t1) & (phi < 2 * np.pi * 4))
        put(rr + 4.0, keep & (th >= t0 + 0.1) & (th < t1 + 0.1) & (phi > 2 * np.pi * 7))


def main():
    tomocell = os.path.abspath(sys.argv[1])
    rng = np.random.default_rng(7)
    n, a, pitch, turns = 1100, 120.0, 32.0, 12.0
    b = pitch / (2 * np.pi)
    cx, cy = n / 2 + 13.3, n / 2 - 7.8
    deg = np.pi / 180
    sectors = dict(
        zigzag=[(10 * deg, 22 * deg), (95 * deg, 110 * deg), (200 * deg, 215 * deg), (300 * deg, 312 * deg)],
        thick=[(40 * deg, 48 * deg), (250 * deg, 262 * deg)],
        spur=[(150 * deg, 156 * deg)],
        step=[(330 * deg, 350 * deg)],
    )
    meta = "labels: 0 background, 1 = Al (positive) collector, 2 = Cu (negative) collector"
    cases = [
        # name, sectors, cut (label 2), label 2 overhang (turns at each end), dataset attributes,
        # options, expected (Cu label, basis)
        ("zigzags, 2-px stretches, spurs, steps", sectors, None, 0.0, {"kind": meta}, [], (2, "metadata")),
        ("the same, a 3-px cut in turn 6, label 2 overhanging", sectors, (6, 1.0), 0.75, {}, [], (1, "assumed")),
        ("the same with -trace_cu_label 1", sectors, (6, 1.0), 0.75, {}, ["-trace_cu_label", "1"], (1, "option")),
    ]
    fails = 0
    keep = os.environ.get("TC_TEST_KEEP")  # a folder to keep the images and traces in
    with tempfile.TemporaryDirectory() as tmp:
        tmp = keep or tmp
        for k, (name, sec, cut, ext, attrs, opts, want) in enumerate(cases):
            img = np.zeros((n, n), np.uint8)
            # label: (inner radius, turns)
            geo = {1: (a, turns), 2: (a + pitch / 2 - pitch * ext, turns + 2 * ext)}
            for lab, (a0, nt) in geo.items():
                phi, r = spiral(a0, b, nt)
                draw(img, cx, cy, phi, r, lab, rng, cut=cut if lab == 2 else None, **sec)
            path = os.path.join(tmp, f"thin{k}.h5")
            with h5py.File(path, "w") as f:
                d = f.create_dataset("/exchange/data", data=img[None])
                d.attrs["pixel_size_m"] = PX
                for key, v in attrs.items():
                    d.attrs[key] = v
            out = os.path.join(tmp, f"thin{k}_net.h5")
            r = subprocess.run([tomocell, "trace", path, "-output", out, "-trace_nz", "2"] + opts,
                               capture_output=True, text=True, timeout=600)
            if r.returncode:
                print(f"FAIL {name}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
                fails += 1
                continue
            s = json.load(open(out.replace(".h5", ".json")))
            byl = {f["label"]: f for f in s["foils"]}
            ca = s.get("cu_al", {})
            bad = (ca.get("cu_label"), ca.get("basis")) != want or byl.get(want[0], {}).get("foil") != "cu"
            fails += bad
            print(f"{'FAIL' if bad else 'ok  '} {name}: Cu is label {ca.get('cu_label')} by {ca.get('basis')} "
                  f"(expected {want[0]} by {want[1]}): {ca.get('evidence')}")
            for lab, (a0, nt) in geo.items():
                if lab not in byl:
                    print(f"FAIL {name}: label {lab} not traced")
                    fails += 1
                    continue
                F = byl[lab]
                L = exact(a0, b, nt) * PX
                le = (F["length_m"] - L) / L
                dw = F["windings"] - nt
                ri = F["r_inner_m"] / PX - a0
                ro = F["r_outer_m"] / PX - (a0 + pitch * nt)
                bad = abs(le) > 0.01 or abs(dw) > 0.05 or abs(ri) > 1.5 or abs(ro) > 1.5
                fails += bad
                print(f"{'FAIL' if bad else 'ok  '} {name}, label {lab}: length {100 * le:+.3f} % (limit 1 %), "
                      f"turns {F['windings']:.3f} / {nt:.3f} (limit 0.05), r_inner {ri:+.2f} px, "
                      f"r_outer {ro:+.2f} px (limit 1.5)")
    print("passed" if not fails else f"{fails} check(s) failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
