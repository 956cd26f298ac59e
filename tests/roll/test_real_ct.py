#!/usr/bin/python3
"""Trace every Data Exchange file in the shared validation folder (real CT of
commercial cells) and print length, turns and radii for the README. Passes
when each traces into at least one foil of at least one turn; there is no
truth to compare with.

usage: test_real_ct.py TOMOCELL DIR
"""
import glob
import json
import os
import subprocess
import sys
import tempfile


def main():
    tomocell, folder = sys.argv[1], sys.argv[2]
    files = sorted(glob.glob(os.path.join(folder, "*.h5")))
    if not files:
        print(f"no *.h5 in {folder}")
        return 1
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            out = os.path.join(tmp, os.path.basename(f).replace(".h5", "_net.h5"))
            r = subprocess.run([tomocell, "trace", f, "-output", out], capture_output=True, text=True, timeout=600)
            if r.returncode:
                print(f"FAIL {f}: {r.stderr.strip()}")
                bad += 1
                continue
            s = json.load(open(out.replace(".h5", ".json")))
            for foil in s["foils"]:
                print(f"{os.path.basename(f)} label {foil['label']}: length {foil['length_m']:.4f} m, "
                      f"{foil['windings']:.2f} turns, r_inner {1e3 * foil['r_inner_m']:.3f} mm, "
                      f"r_outer {1e3 * foil['r_outer_m']:.3f} mm")
                if foil["windings"] < 1:
                    bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
