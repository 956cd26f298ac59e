#!/usr/bin/python3
"""Defects found by `tomocell trace` (mesh/tracedefect.h), on a synthetic
multi-class segmentation drawn here: Cu (label 1) and Al (label 2) foils as
1-px label lines, their coatings (labels 3 and 4, 3.5 px either side), with

  * a Z-shaped fold (buckle) of the core: the Cu foil runs 2 H = 10 px inside
    its spiral for the first half turn, folds back at 180 deg over 60 deg
    (the middle leg H inside) and forward again onto the spiral;
  * a gap: from turn 7 outward every layer pushed out by 12 px (0.6 pitch)
    over +-0.3 rad about 1 rad (a cos^2 bump), opening one gap between the Al
    of turn 6 and the Cu of turn 7;
  * missing coating: 4 mm (400 px) of Cu without its coating on both faces,
    from 30 mm along the drawn foil.

usage: test_trace_defects.py TOMOCELL [MPIEXEC ARGS...]

Checks (tolerances: the curve is smoothed over 8 px and stored every 4 px):
  * exactly one defect of each kind; the fold at the middle leg (r within 2
    px, theta within 5 deg), its size -- the foil length in the fold left off
    the curve, 137.9 px -- within 3 %; the Cu foil's inner radius within 1 %
    of the drawn 50 px (without the fold cut out, the trace starts on the
    outer leg: 67 px, +33 %); the same with the legs 3 px apart;
  * the gap at 1 rad (3 deg), midway between Al 6 and Cu 7 (within 2 px), its
    opening 12 px within 1 px; -trace_gap_factor 1.7 (above the 1.6 pitch of
    the gap) drops it;
  * the missing coating on the Cu foil, its middle within 5 px of the drawn
    one, its length 400 px within 8 px (two stored points);
  * net.h5 /defects holds the same list; the PNG rings each (fold magenta,
    gap yellow, missing coating red); -trace_gap_factor below 1 is refused
    (one error line, exit 1, no output);
  * the same roll without the defects: no defect;
  * a 4-slice stack (slices 0-1 without, 2-3 with the defects; on 2 ranks
    slices 2-3 are the second rank's): the defects of slices 2 and 3 only, at
    their layers' heights;
  * tomocell run with geometry: the traced net.h5 and short_at_defect: the
    gap's index puts the internal short at the gap (summary short.r_m).
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

PITCH_M = 373.6e-6  # the 18650 preset's stack, so that tomocell run accepts the traced pitch
P = 20.0  # pitch, px
PX = PITCH_M / P
N = 700
A, TURNS, H, PHI1, DELTA = 60.0, 12.0, 5.0, math.pi, math.radians(60)
B = P / (2 * math.pi)
GAP_TURN, GAP_ANG, GAP_W, GAP = 7, 1.0, 0.3, 12.0
MISS_S0, MISS_LEN = 3000.0, 400.0
CX = CY = N / 2 + 0.3


def arc(phi0, phi1, off):
    m = int(abs(phi1 - phi0) * (A + B * max(phi0, phi1)) / 0.2) + 2
    phi = np.linspace(phi0, phi1, m)
    return phi, A + B * phi + off


def bump(phi):
    th = np.mod(phi - GAP_ANG + np.pi, 2 * np.pi) - np.pi
    on = phi >= 2 * np.pi * GAP_TURN + GAP_ANG - np.pi
    return np.where(on & (np.abs(th) < GAP_W), GAP * np.cos(0.5 * np.pi * th / GAP_W) ** 2, 0.0)


def draw(defects):
    img = np.zeros((N, N), np.uint8)
    if defects:
        legs = [arc(0, PHI1, -2 * H),
                (np.full(40, PHI1), A + B * PHI1 + np.linspace(-2 * H, -H, 40)),
                arc(PHI1, PHI1 - DELTA, -H),
                (np.full(40, PHI1 - DELTA), A + B * (PHI1 - DELTA) + np.linspace(-H, 0, 40)),
                arc(PHI1 - DELTA, 2 * np.pi * TURNS, 0)]
    else:
        legs = [arc(0, 2 * np.pi * TURNS, 0)]
    phi = np.concatenate([l[0] for l in legs])
    r = np.concatenate([l[1] for l in legs])
    pa, ra = arc(PHI1 + 0.6 * np.pi, 2 * np.pi * TURNS - 0.1, P / 2)
    if defects:
        r, ra = r + bump(phi), ra + bump(pa)

    def put(ph, rad, lab):
        img[np.floor(CY + rad * np.sin(ph)).astype(int), np.floor(CX + rad * np.cos(ph)).astype(int)] = lab

    s = np.r_[0, np.cumsum(np.hypot(np.diff(r * np.cos(phi)), np.diff(r * np.sin(phi))))]
    keep = ~((s > MISS_S0) & (s < MISS_S0 + MISS_LEN)) if defects else np.ones(len(s), bool)
    for o in np.arange(-3.5, 3.51, 0.5):
        put(phi[keep], r[keep] + o, 3)
        put(pa, ra + o, 4)
    put(phi, r, 1)
    put(pa, ra, 2)
    k = np.searchsorted(s, MISS_S0 + 0.5 * MISS_LEN)
    miss_xy = ((CX + r[k] * np.cos(phi[k]) - N / 2) * PX, (CY + r[k] * np.sin(phi[k]) - N / 2) * PX)
    return img, miss_xy


def write(path, slices):
    with h5py.File(path, "w") as f:
        d = f.create_dataset("/exchange/data", data=np.stack(slices))
        d.attrs["pixel_size_m"] = PX


def check(ok, msg):
    print(f"{'ok  ' if ok else 'FAIL'} {msg}")
    return 0 if ok else 1


def wrap_deg(a):
    return (a + 180) % 360 - 180


def main():
    global H
    tomocell, launcher = os.path.abspath(sys.argv[1]), sys.argv[2:]
    fails = 0
    img, miss_xy = draw(True)
    clean, _ = draw(False)
    with tempfile.TemporaryDirectory() as tmp:
        def trace(name, slices, *opts):
            h5 = os.path.join(tmp, name + ".h5")
            write(h5, slices)
            out = os.path.join(tmp, name + "_net.h5")
            r = subprocess.run(launcher + [tomocell, "trace", h5, "-output", out, "-trace_nz", "2"] + list(opts),
                               capture_output=True, text=True, timeout=600)
            if r.returncode:
                print(r.stdout, r.stderr)
                raise SystemExit(f"FAIL tomocell trace {name}: exit {r.returncode}")
            return out, json.load(open(out.replace(".h5", ".json")))

        net, s = trace("roll", [img])
        d = s["defects"]
        kinds = sorted(x["kind"] for x in d)
        fails += check(kinds == ["fold", "gap", "missing_coating"], f"one defect of each kind: {kinds}")
        by = {x["kind"]: x for x in d}
        cu = [f for f in s["foils"] if f["foil"] == "cu"][0]
        ri = cu["r_inner_m"] / PX
        fails += check(cu["label"] == 1 and abs(ri / (A - 2 * H) - 1) < 0.01,
                       f"Cu (label {cu['label']}) r_inner {ri:.2f} px vs the buckled core's {A - 2 * H:.0f} px "
                       f"({100 * (ri / (A - 2 * H) - 1):+.2f} %, limit 1 %)")
        if "fold" in by:
            f = by["fold"]
            phm = PHI1 - 0.5 * DELTA
            rf = A + B * phm - H  # the middle leg
            lf = DELTA * (2 * A + B * (PHI1 + PHI1 - DELTA) - H)  # middle leg + outer leg over the fold
            fails += check(f["foil"] == "cu" and abs(f["r_m"] / PX - rf) < 2 and
                           abs(wrap_deg(f["theta_deg"] - math.degrees(phm))) < 5 and
                           abs(f["size_m"] / PX / lf - 1) < 0.03,
                           f"fold on {f['foil']}: r {f['r_m'] / PX:.2f} px (drawn {rf:.2f}), theta "
                           f"{f['theta_deg']:.1f} deg (drawn {math.degrees(phm):.1f}), size {f['size_m'] / PX:.1f} px "
                           f"(foil in the fold off the curve {lf:.1f})")
        if "gap" in by:
            g = by["gap"]
            ph = 2 * np.pi * GAP_TURN + GAP_ANG
            rg = 0.5 * ((A + B * ph + GAP) + (A + B * (ph - 2 * np.pi) + P / 2))  # Cu 7 and Al 6
            fails += check(abs(wrap_deg(g["theta_deg"] - math.degrees(GAP_ANG))) < 3 and
                           abs(g["r_m"] / PX - rg) < 2 and abs(g["size_m"] / PX - GAP) < 1,
                           f"gap: theta {g['theta_deg']:.2f} deg (drawn {math.degrees(GAP_ANG):.2f}), r "
                           f"{g['r_m'] / PX:.2f} px (midway Al 6 - Cu 7: {rg:.2f}), size {g['size_m'] / PX:.2f} px "
                           f"(drawn {GAP:.0f})")
        if "missing_coating" in by:
            m = by["missing_coating"]
            c = s["foils"][0]["centre_m"]
            xy = (c[0] + m["r_m"] * math.cos(m["theta_rad"]), c[1] + m["r_m"] * math.sin(m["theta_rad"]))
            e = math.hypot(xy[0] - miss_xy[0], xy[1] - miss_xy[1]) / PX
            fails += check(m["foil"] == "cu" and e < 5 and abs(m["size_m"] / PX - MISS_LEN) < 8,
                           f"missing coating on {m['foil']}: middle {e:.2f} px from the drawn one, length "
                           f"{m['size_m'] / PX:.1f} px (drawn {MISS_LEN:.0f})")
        with h5py.File(net, "r") as f:
            kd = ["fold", "gap", "missing_coating"]
            rows = [(kd[int(k)], float(r), float(t), float(z), float(sz)) for k, r, t, z, sz in
                    zip(f["/defects/kind"][:], f["/defects/r_m"][:], f["/defects/theta_rad"][:],
                        f["/defects/z_m"][:], f["/defects/size_m"][:])]
            zl = f["/layers/z_m"][:]
        js = [(x["kind"], x["r_m"], x["theta_rad"], x["z_m"], x["size_m"]) for x in d]
        same = len(rows) == len(js) and all(a[0] == b[0] and np.allclose(a[1:], b[1:], rtol=1e-12, atol=0)
                                            for a, b in zip(rows, js))
        fails += check(same and all(abs(x["z_m"] - 0.5 * (zl[0] + zl[-1])) < 1e-12 for x in d),
                       f"net.h5 /defects holds the summary's {len(js)} defects (a 2-D slice: at mid-height)")
        try:
            from PIL import Image
            png = np.asarray(Image.open(net.replace(".h5", ".png")).convert("RGB")).astype(int)
            cols = {"fold": (255, 0, 255), "gap": (255, 255, 0), "missing_coating": (255, 40, 40)}
            c = s["foils"][0]["centre_m"]
            for x in d:
                u = (c[0] + x["r_m"] * math.cos(x["theta_rad"])) / PX + N / 2
                v = (c[1] + x["r_m"] * math.sin(x["theta_rad"])) / PX + N / 2
                jj, ii = np.nonzero(np.all(png == cols[x["kind"]], axis=2))
                dist = np.hypot(ii + 0.5 - u, (N - 1 - jj) + 0.5 - v)
                R = 8 + min(0.5 * x["size_m"] / PX, 24) + 0.75  # the ring's middle (tracedefect.c)
                md = float(np.median(dist)) if len(dist) else float("nan")
                fails += check(len(dist) > 20 and abs(md - R) < 1.5,
                               f"PNG rings the {x['kind']} ({len(dist)} pixels, median {md:.1f} px from it, "
                               f"ring radius {R:.1f})")
        except ImportError:
            print("PIL missing: PNG rings not checked")

        # a tighter fold: legs 3 px apart (0.15 pitch), still cut out
        H0, H = H, 3.0
        tight, _ = draw(True)
        H = H0
        _, s3 = trace("tight", [tight])
        cu3 = [f for f in s3["foils"] if f["foil"] == "cu"]
        ri3 = cu3[0]["r_inner_m"] / PX if cu3 else float("nan")
        fails += check(sorted(x["kind"] for x in s3["defects"]).count("fold") == 1 and abs(ri3 / (A - 6) - 1) < 0.01,
                       f"fold legs 3 px apart: {sorted(x['kind'] for x in s3['defects'])}, Cu r_inner {ri3:.2f} px vs "
                       f"{A - 6:.0f} px")

        _, s0 = trace("clean", [clean])
        fails += check(s0["defects"] == [], f"a roll without defects: {len(s0['defects'])} defects")
        _, s2 = trace("gf", [img], "-trace_gap_factor", "1.7")
        k2 = sorted(x["kind"] for x in s2["defects"])
        fails += check(k2 == ["fold", "missing_coating"] and s2["gap_factor"] == 1.7,
                       f"-trace_gap_factor 1.7 (the gap is 1.6 pitch): {k2}")

        # bad input: a gap factor below 1 -- one error line, exit 1, no output
        bad = os.path.join(tmp, "bad_net.h5")
        r = subprocess.run(launcher + [tomocell, "trace", os.path.join(tmp, "roll.h5"), "-output", bad,
                                       "-trace_gap_factor", "0.5"], capture_output=True, text=True, timeout=300)
        err = [l for l in r.stderr.splitlines() if l.startswith("tomocell: error")]
        fails += check(r.returncode == 1 and len(err) == 1 and "trace_gap_factor" in err[0] and
                       not any(os.path.exists(bad.replace(".h5", e)) for e in (".h5", ".json", ".png", ".xmf")),
                       f"-trace_gap_factor 0.5 refused: exit {r.returncode}, {err}")

        vnet, sv = trace("stack", [clean, clean, img, img])
        with h5py.File(vnet, "r") as f:
            zl = f["/layers/z_m"][:]
        ks = sorted((x["slice"], x["kind"]) for x in sv["defects"])
        want = sorted((q, k) for q in (2, 3) for k in ("fold", "gap", "missing_coating"))
        fails += check(ks == want and all(abs(x["z_m"] - zl[x["slice"]]) < 1e-12 for x in sv["defects"]),
                       f"4-slice stack: defects {ks} at their layers' heights")

        # the run places its internal short at the traced gap
        if "gap" in by:
            gi = [x["index"] for x in d if x["kind"] == "gap"][0]
            deck = os.path.join(tmp, "run.yaml")
            with open(deck, "w") as f:
                f.write(f"job: roll\npreset: 18650\ngeometry: {net}\nnetwork:\n  ds_m: 2e-3\n  nz: 3\n"
                        "tab:\n  cu: end\n  al: start\nmodel: spme\nthermal: isothermal\nplots: false\n"
                        f"experiment: \"Rest for 10 seconds\"\nshort_resistance_ohm: 1.0\nshort_at_defect: {gi}\n")
            out = os.path.join(tmp, "run")
            r = subprocess.run(launcher + [tomocell, "run", deck, "-output", out], capture_output=True, text=True,
                               timeout=600, cwd=tmp)
            if r.returncode:
                print(r.stdout[-2000:], r.stderr[-2000:])
                fails += check(False, f"tomocell run with short_at_defect {gi}: exit {r.returncode}")
            else:
                sr = json.load(open(os.path.join(out, "summary.json")))
                gd = sr["geometry"]["defects"]
                fails += check(len(gd) == len(d) and all(
                    a["kind"] == b["kind"] and abs(a["r_m"] - b["r_m"]) < 1e-12 and
                    abs(a["theta_deg"] - b["theta_deg"]) < 1e-9 for a, b in zip(gd, d)),
                    f"run summary geometry.defects: the trace's {len(gd)} defects")
                fails += check(sr["short"]["at_defect"] == gi and abs(sr["short"]["r_m"] - by["gap"]["r_m"]) < 1e-12,
                               f"run short_at_defect {gi}: short at r {1e3 * sr['short']['r_m']:.4f} mm (the gap's "
                               f"{1e3 * by['gap']['r_m']:.4f} mm), {sr['short'].get('joule_heat_J', float('nan')):.4g} J")
    print("passed" if not fails else f"{fails} check(s) failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
