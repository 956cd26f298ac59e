#!/usr/bin/python3
"""Real CT against hand-measured truth: every file of
../shared/validation/realct traced by `tomocell trace` and compared with
truth.json there (README.md there says how the truth was measured).

    test_trace_realct.py TOMOCELL REALCT_DIR [MPIEXEC ARGS...]

Per traced foil with truth: length within 2 %, turns within 0.3, inner and
outer radius within 1 % (the issue's targets; the hand measurement follows the
skeleton of the layer, so the traced centre line and the truth differ by the
smoothing of a 1-2 px line, well below these). Where the truth names the Cu
label, the trace must choose it. Each file is traced with the default options
or the one documented option its kind needs (docs/trace.md, "Real scans"):
  * no pixel size in the file (the UCL slices): the pixel from the can,
    -preset 18650 (an 18.4 mm can) on the gray slice, where the tracer
    measures the can (its fitted outer diameter within 1 % of the
    hand-measured 506.4 px of truth.json, so the pixel within 1 %); the
    mask shows no can: -pixel_size from the can's 506.4 px in truth.json;
    truth in px is compared in px;
  * a multi-class segmentation (P42A): default options (the spiral layers are
    picked automatically) -- the foil with truth must be among them.
The trace must exit 0, i.e. pass its own self-check. A file in the folder
without truth fails. Exit 77 (skip) when the folder is absent.

One foil misses a target against its hand truth: the P42A class 4 traces
half a turn longer (+0.50 turns, +2.38 % length; radii within 0.5 %). The
cause is in the hand truth, which is left as it is: the layer's outer end
touches the turn beneath it, so its pixels close a loop over the last turn,
and the longest geodesic path of the skeleton (the truth's method) takes the
shorter way around that loop and stops half a turn before the outer end.
Evidence (docs/trace.md, "Real scans"): the geodesic distance over the
layer's 8-connected pixels from the traced inner end is largest at a point
half a turn before the outer end; the traced curve up to that point has
33.61 turns and 1.2552 m (truth 33.61, 1.2565 m); every one of the 34-35
runs of class 4 on each ray is on the traced curve. It is listed in
KNOWN_MISSES with the limits it is held to (the measured error plus a
margin), printed as MISS, and fails beyond them, so the difference is said
every run and cannot silently grow. (The UCL gray slice's inner radius,
+1.02 % in earlier versions, is +0.94 % since the curve's ends are smoothed
over a full window.)
"""
import json
import os
import subprocess
import sys
import tempfile

CAN_18650_M = 18.4e-3

# (file, label): the limits a foil that misses the targets is held to for now
KNOWN_MISSES = {
    # the hand truth stops half a turn before the outer end (see above)
    ("p42a_slice_seg.h5", 4): {"length": 0.026, "turns": 0.55},
}

# per file: extra options (the documented one per kind)
OPTIONS = {
    "ucl_slice1_mask.h5": lambda t: ["-pixel_size", repr(CAN_18650_M / t["can_outer_diameter_px"])],
    "ucl_slice1_gray.h5": lambda t: ["-preset", "18650"],
}


def main():
    tomocell, folder, launcher = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3:]
    if not os.path.isdir(folder):
        print(f"SKIP: {folder} is absent (real CT lives in ../shared/validation/realct)")
        return 77
    truth = json.load(open(os.path.join(folder, "truth.json")))
    files = sorted(f for f in os.listdir(folder) if f.endswith(".h5"))
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        for fname in files:
            t = truth.get(fname)
            if t is None:
                print(f"FAIL {fname}: no truth in truth.json")
                fails += 1
                continue
            out = os.path.join(tmp, fname.replace(".h5", "_net.h5"))
            opts = OPTIONS.get(fname, lambda t: [])(t)
            r = subprocess.run(launcher + [tomocell, "trace", os.path.join(folder, fname), "-output", out,
                                           "-trace_nz", "2"] + opts,
                               capture_output=True, text=True, timeout=900)
            if r.returncode:
                err = [l for l in r.stderr.splitlines() if l.startswith("tomocell")]
                print(f"FAIL {fname} {' '.join(opts)}: exit {r.returncode}: {' '.join(err) or r.stderr[-500:]}")
                fails += 1
                continue
            s = json.load(open(out.replace(".h5", ".json")))
            px = s["pixel_size_m"]
            if "-preset" in opts:  # the pixel from the can: the can against the hand measurement
                dp = s.get("can", {}).get("diameter_px", 0)
                e = dp / t["can_outer_diameter_px"] - 1
                ok = s.get("pixel_size_source") == "can" and abs(e) <= 0.01
                fails += not ok
                print(f"{'ok  ' if ok else 'FAIL'} {fname}: pixel from the can ({s.get('pixel_size_source')}): "
                      f"can {dp:.2f} px vs {t['can_outer_diameter_px']} px by hand ({100 * e:+.2f} %, limit 1 %), "
                      f"pixel {px:.5g} m vs {CAN_18650_M / t['can_outer_diameter_px']:.5g} m")
            byl = {f["label"]: f for f in s["foils"]}
            if "foils" in t:
                want = {int(k): v for k, v in t["foils"].items()}
            else:  # a gray slice: the bright layer is the traced Cu line
                cu = [f for f in s["foils"] if f["foil"] == "cu"]
                want = {cu[0]["label"] if cu else -1: t["bright_layer_px"]}
            if t.get("cu_label") is not None:
                got = s.get("cu_al", {}).get("cu_label")
                ok = got == t["cu_label"]
                fails += not ok
                print(f"{'ok  ' if ok else 'FAIL'} {fname}: Cu is label {got} (truth {t['cu_label']}) "
                      f"by {s.get('cu_al', {}).get('basis')}")
            for lab, T in want.items():
                F = byl.get(lab)
                if F is None:
                    print(f"FAIL {fname}: label {lab} not traced (traced: {sorted(byl)})")
                    fails += 1
                    continue
                scale = px if "length_px" in T else 1.0  # truth in px: compare in px
                unit = "px" if "length_px" in T else "m"
                L = T.get("length_m", T.get("length_px"))
                ri = T.get("r_inner_m", T.get("r_inner_px"))
                ro = T.get("r_outer_m", T.get("r_outer_px"))
                le = (F["length_m"] / scale - L) / L
                dw = F["windings"] - T["windings"]
                ei = (F["r_inner_m"] / scale - ri) / ri
                eo = (F["r_outer_m"] / scale - ro) / ro
                lim = {"length": 0.02, "turns": 0.3, "r_inner": 0.01, "r_outer": 0.01}
                miss = abs(le) > 0.02 or abs(dw) > 0.3 or abs(ei) > 0.01 or abs(eo) > 0.01
                lim.update(KNOWN_MISSES.get((fname, lab), {}))
                bad = (abs(le) > lim["length"] or abs(dw) > lim["turns"] or
                       abs(ei) > lim["r_inner"] or abs(eo) > lim["r_outer"])
                fails += bad
                tag = "FAIL" if bad else "MISS" if miss else "ok  "
                print(f"{tag} {fname} label {lab} {' '.join(opts)}: "
                      f"length {F['length_m'] / scale:.5g} vs {L:.5g} {unit} ({100 * le:+.2f} %, limit 2 %), "
                      f"turns {F['windings']:.2f} vs {T['windings']:.2f} ({dw:+.2f}, limit 0.3), "
                      f"r_inner {100 * ei:+.2f} %, r_outer {100 * eo:+.2f} % (limit 1 %)"
                      + (f"; a known miss of the targets, held to {lim}" if miss and not bad else ""))
    print("passed" if not fails else f"{fails} check(s) failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
