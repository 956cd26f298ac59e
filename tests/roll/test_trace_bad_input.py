#!/usr/bin/python3
"""Bad input to `tomocell trace`: a clear one-line message, exit status 1, and
no output file (net.h5, .xmf, .json, .png) and no temporary file left behind.

usage: test_trace_bad_input.py TOMOCELL [NRANKS MPIEXEC ARGS...]
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np


def dx(path, data, px=10e-6, dataset="/exchange/data", dtype=None):
    with h5py.File(path, "w") as f:
        d = f.create_dataset(dataset, data=data, dtype=dtype) if data is not None else None
        if d is not None and px is not None:
            d.attrs["pixel_size_m"] = px


def rings(n=200, px=10e-6):
    """Concentric circles: foil-like but not a spiral."""
    y, x = np.mgrid[0:n, 0:n]
    r = np.hypot(x - n / 2 + 0.5, y - n / 2 + 0.5)
    img = np.zeros((1, n, n), np.uint8)
    for R in range(20, n // 2 - 5, 15):
        img[0][np.abs(r - R) < 0.8] = 1
    return img


def cases(tmp):
    p = lambda name: os.path.join(tmp, name)  # noqa: E731
    dx(p("empty.h5"), np.zeros((0, 64, 64), np.uint8))
    dx(p("zeros.h5"), np.zeros((1, 64, 64), np.uint8))
    dx(p("rings.h5"), rings())
    dx(p("fourd.h5"), np.zeros((2, 2, 64, 64), np.uint8))
    dx(p("strings.h5"), np.array([[[b"abc", b"def"]] * 2]))
    with h5py.File(p("compound.h5"), "w") as f:
        d = f.create_dataset("/exchange/data", data=np.zeros((1, 64, 64), dtype=[("a", "f4"), ("b", "i4")]))
        d.attrs["pixel_size_m"] = 1e-5
    dx(p("nodata.h5"), np.zeros((1, 64, 64), np.uint8), dataset="/exchange/other")
    nopx = rings()
    nopx[0, 0, 0] = 0
    dx(p("nopixel.h5"), nopx, px=None)
    from PIL import Image
    Image.fromarray(rings()[0]).save(p("nopixel.tif"))
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(p("rgb.tif"))
    with open(p("text.h5"), "w") as f:
        f.write("not hdf5\n")
    return [
        # name, args after `trace`, words expected on stderr
        ("missing file", ["nothere.h5"], ["nothere.h5", "cannot read volume"]),
        ("not HDF5", ["text.h5"], ["text.h5", "not an HDF5 file"]),
        ("empty volume", ["empty.h5"], ["empty.h5", "is empty"]),
        ("all-zero labels", ["zeros.h5"], ["zeros.h5", "empty", "no non-zero label"]),
        ("no spiral", ["rings.h5"], ["rings.h5", "no spiral found"]),
        ("4-D array", ["fourd.h5"], ["fourd.h5", "4-D array", "(z, y, x)"]),
        ("string dtype", ["strings.h5"], ["strings.h5", "type class string"]),
        ("compound dtype", ["compound.h5"], ["compound.h5", "type class compound"]),
        ("missing dataset", ["nodata.h5"], ["nodata.h5", "no dataset /exchange/data", "-trace_dataset"]),
        ("pixel size missing", ["nopixel.h5"], ["nopixel.h5", "no pixel size", "-pixel_size"]),
        ("TIFF without pixel size", ["nopixel.tif"], ["nopixel.tif", "no pixel size", "-pixel_size"]),
        ("RGB TIFF", ["rgb.tif", "-pixel_size", "1e-5"], ["rgb.tif", "3 samples per pixel"]),
        ("bad label choice", ["rings.h5", "-trace_label", "7"], ["no pixel with label 7"]),
        ("bad -label choice", ["rings.h5", "-label", "9"], ["no pixel with label 9"]),
    ]


GEOMETRY = [
    # name, args after `geometry` (deck written by the test), words expected on stderr
    ("geometry: crossing windings", ["-spiral_deform_amplitude_m", "1e-3"], ["windings cross", "spiral_deform_amplitude_m"]),
    ("geometry: tab positions missing", ["-tab_al", "positions"], ["tab_al_positions_m"]),
    ("geometry: bad tab positions", ["-tab_cu", "positions", "-tab_cu_positions_m", "0.1,abc"], ["tab_cu_positions_m", "0.1,abc"]),
    ("geometry: unknown key", ["-spiral_lenght_m", "0.1"], ["unknown key 'spiral_lenght_m'", "spiral_length_m"]),
    ("geometry: no turn", ["-spiral_length_m", "0.001"], ["at least one turn"]),
]


def main():
    tomocell = sys.argv[1]
    nranks = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    launcher = sys.argv[3:] if nranks > 1 else []
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        cs = cases(tmp)
        for name, args, words in cs:
            out = os.path.join(tmp, "out", "net.h5")
            cmd = launcher + [tomocell, "trace"] + args + ["-output", out]
            try:
                r = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=120)
            except subprocess.TimeoutExpired:
                print(f"FAIL {name}: timed out (hang)")
                failures += 1
                continue
            problems = []
            if r.returncode != 1:
                problems.append(f"exit status {r.returncode}, expected 1")
            for w in words:
                if w not in r.stderr:
                    problems.append(f"stderr lacks {w!r}")
            if "PETSC ERROR" in r.stderr or "Segmentation" in r.stderr:
                problems.append("stderr shows a traceback or crash instead of a clear message")
            lines = [l for l in r.stderr.strip().splitlines() if l.startswith("tomocell: error:")]
            if len(lines) != 1:
                problems.append(f"{len(lines)} 'tomocell: error:' lines, expected one")
            left = []
            for d in (tmp, os.path.join(tmp, "out")):
                if os.path.isdir(d):
                    left += [f for f in os.listdir(d) if f.startswith("net.") or ".tmp-" in f]
            if left:
                problems.append(f"output left behind: {left}")
            if problems:
                failures += 1
                print(f"FAIL {name}: " + "; ".join(problems))
                print("  stderr: " + r.stderr.strip().replace("\n", "\n          "))
            else:
                print(f"ok   {name}: {lines[0]}")
        with open(os.path.join(tmp, "g.yaml"), "w") as f:
            f.write("preset: 21700\nspiral:\n  length_m: 0.08\n  mandrel_radius_m: 1.0e-3\n")
        for k, (name, args, words) in enumerate(GEOMETRY):
            gout = os.path.join(tmp, f"gout{k}")
            cmd = launcher + [tomocell, "geometry", "g.yaml"] + args + ["-output", os.path.join(gout, "net.h5"),
                                                                        "-render", os.path.join(gout, "ct.h5")]
            r = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=120)
            problems = []
            if r.returncode != 1:
                problems.append(f"exit status {r.returncode}, expected 1")
            for w in words:
                if w not in r.stderr:
                    problems.append(f"stderr lacks {w!r}")
            if "PETSC ERROR" in r.stderr:
                problems.append("traceback instead of a clear message")
            if os.path.exists(gout):
                problems.append(f"output left behind: {os.listdir(gout)}")
            if problems:
                failures += 1
                print(f"FAIL {name}: " + "; ".join(problems) + "\n  stderr: " + r.stderr.strip())
            else:
                print(f"ok   {name}: {r.stderr.strip().splitlines()[-1]}")
        cs = cs + GEOMETRY
    print(f"{len(cs) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
