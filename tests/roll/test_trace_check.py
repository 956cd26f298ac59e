#!/usr/bin/python3
"""The self-check of `tomocell trace`: a trace that exits 0 can be trusted.

usage: test_trace_check.py TOMOCELL [MPIEXEC ARGS...]

Label images of one Archimedean spiral (3-px line, 12 turns, 32 px pitch) that
trace into a curve which is not the whole foil:
  * a 100-degree wedge cut out of every turn (the foil is not seen over a
    quarter of the roll: the curve would be interpolated there);
  * the spiral plus four loose rings of the same label outside it (turns the
    linker cannot join: the curve would stop short of them).
Each must fail (exit 1, one line naming the foil, the slice, where the trace
broke (r = ... mm) and -trace_allow_incomplete, and no output file); with
-trace_allow_incomplete it must exit 0 with a warning and the summary's foil
marked complete: false with that reason. A multi-class segmentation (the
spiral, blobs, a second spiral with a wedge cut out, a ring) traces its one
complete spiral layer, picked automatically, and lists every label with the
reason it was dropped (also in -info). The whole spiral passes with
complete: true and its checks in the summary (coverage 1, no gap, nothing
untraced, length within 1 % of the Archimedean estimate).
"""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

N, A, PITCH, TURNS = 900, 60.0, 32.0, 12.0


def image(kind):
    y, x = np.mgrid[0:N, 0:N]
    cx, cy = N / 2 + 4.3, N / 2 - 2.7
    r = np.hypot(x + 0.5 - cx, y + 0.5 - cy)
    th = np.mod(np.arctan2(y + 0.5 - cy, x + 0.5 - cx), 2 * np.pi)
    b = PITCH / (2 * np.pi)
    # distance to the spiral r = A + b phi, phi in [0, 2 pi TURNS]
    k = np.round((r - A - b * th) / PITCH)
    phi = th + 2 * np.pi * k
    on = (np.abs(r - A - b * phi) < 1.5) & (phi >= 0) & (phi <= 2 * np.pi * TURNS)
    img = np.zeros((1, N, N), np.uint8)
    if kind == "multiclass":
        # 1: the spiral; 2: blobs (no spiral); 3: a second spiral half a pitch
        # out, 5 px wide, with a 100-degree wedge cut out (incomplete); 4: the
        # background ring of the can
        k2 = np.round((r - A - PITCH / 2 - b * th) / PITCH)
        phi2 = th + 2 * np.pi * k2
        on3 = (np.abs(r - A - PITCH / 2 - b * phi2) < 2.5) & (phi2 >= 0) & (phi2 <= 2 * np.pi * TURNS)
        on3 &= ~((th > 2.0) & (th < 2.0 + np.radians(100)))
        img[0][on3] = 3
        img[0][(np.hypot(x - 150, y - 140) < 20) | (np.hypot(x - 760, y - 700) < 15)] = 2
        img[0][np.abs(r - (A + PITCH * TURNS + 30)) < 3] = 4
        img[0][on] = 1
        return img
    if kind == "wedge":
        on &= ~((th > 0.5) & (th < 0.5 + np.radians(100)))
    if kind == "rings":
        for R in (A + PITCH * TURNS + 40 + 32 * q for q in range(4)):
            on |= np.abs(r - R) < 1.5
    img[0][on] = 1
    return img


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def main():
    tomocell, launcher = os.path.abspath(sys.argv[1]), sys.argv[2:]
    fails = 0

    def check(ok, msg):
        nonlocal fails
        fails += not ok
        print(("ok   " if ok else "FAIL ") + msg)

    with tempfile.TemporaryDirectory() as tmp:
        for kind, words in (("whole", None), ("multiclass", None), ("wedge", ["incomplete", "without the foil"]),
                            ("rings", ["incomplete", "r = "])):
            path = os.path.join(tmp, kind + ".h5")
            with h5py.File(path, "w") as f:
                f.create_dataset("/exchange/data", data=image(kind)).attrs["pixel_size_m"] = 10e-6
            out = os.path.join(tmp, kind, "net.h5")
            cmd = launcher + [tomocell, "trace", path, "-output", out, "-trace_nz", "2"]
            r = run(cmd)
            if kind == "multiclass":
                s = json.load(open(out.replace(".h5", ".json"))) if r.returncode == 0 else {}
                cl = {c["label"]: c for c in s.get("classes", [])}
                ok = (r.returncode == 0 and [f["label"] for f in s.get("foils", [])] == [1] and
                      "automatic" in s.get("labels_picked", "") and sorted(cl) == [1, 2, 3, 4] and
                      cl[1]["picked"] and abs(cl[1]["windings"] - TURNS) < 0.05 and
                      not any(cl[q]["picked"] for q in (2, 3, 4)) and "incomplete" in cl[3]["reason"] and
                      all("dropped" in cl[q]["reason"] for q in (2, 3, 4)))
                check(ok, f"multi-class: exit {r.returncode} {r.stderr.strip()[-300:]}, foils "
                          f"{[f['label'] for f in s.get('foils', [])]}, classes " +
                          "; ".join(f"{q}: {c['reason']}" for q, c in sorted(cl.items())))
                r2 = run(cmd + ["-info"])
                ok = r2.returncode == 0 and "label 3: dropped" in r2.stdout
                check(ok, "multi-class: -info says why label 3 was dropped")
                continue
            if words is None:
                s = json.load(open(out.replace(".h5", ".json"))) if r.returncode == 0 else {}
                F = s.get("foils", [{}])[0]
                c = F.get("check", {})
                ok = (r.returncode == 0 and s.get("complete") is True and F.get("complete") is True and
                      c.get("coverage_min") == 1 and c.get("gap_max_deg", 1) == 0 and
                      c.get("untraced_fraction", 1) == 0 and c.get("length_vs_archimedean", 1) < 0.01)
                check(ok, f"{kind} spiral: exit {r.returncode}, complete {F.get('complete')}, checks {c}")
                continue
            err = [l for l in r.stderr.strip().splitlines() if l.startswith("tomocell")]  # not mpiexec's
            ok = (r.returncode == 1 and len(err) == 1 and all(w in err[0] for w in words + ["label 1", "slice 0", "-trace_allow_incomplete"])
                  and not os.path.exists(os.path.dirname(out)))
            check(ok, f"{kind}: exit {r.returncode}, stderr {err}")
            r = run(cmd + ["-trace_allow_incomplete"])
            s = json.load(open(out.replace(".h5", ".json"))) if r.returncode == 0 else {}
            F = s.get("foils", [{}])[0]
            ok = (r.returncode == 0 and "warning" in r.stdout and s.get("complete") is False and
                  F.get("complete") is False and words[1] in F.get("check", {}).get("broken", ""))
            check(ok, f"{kind} with -trace_allow_incomplete: exit {r.returncode}, complete {F.get('complete')}, "
                      f"broken: {F.get('check', {}).get('broken')}")
    print("passed" if not fails else f"{fails} check(s) failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
