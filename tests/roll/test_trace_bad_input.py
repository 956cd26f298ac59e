#!/usr/bin/python3
"""Bad input to `tomocell trace`: a clear one-line message, exit status 1, and
no output file (net.h5, .xmf, .json, .png) and no temporary file left behind.

usage: test_trace_bad_input.py TOMOCELL [NRANKS MPIEXEC ARGS...]
"""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import badinput  # noqa: E402


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


def trace_cases(tmp):
    # every case writes to out/net.h5; neither it nor out/ may be left
    return [(name, args + ["-output", os.path.join("out", "net.h5")], words, "out")
            for name, args, words in cases(tmp)]


def geometry_cases(tmp):
    with open(os.path.join(tmp, "g.yaml"), "w") as f:
        f.write("preset: 21700\nspiral:\n  length_m: 0.08\n  mandrel_radius_m: 1.0e-3\n")
    return [(name, ["g.yaml"] + args + ["-output", f"gout{k}/net.h5", "-render", f"gout{k}/ct.h5"],
             words, f"gout{k}") for k, (name, args, words) in enumerate(GEOMETRY)]


def main():
    argv = sys.argv[1:]
    bad = badinput.run_all("trace", trace_cases, argv, one_error_line=True)
    return max(bad, badinput.run_all("geometry", geometry_cases, argv))


if __name__ == "__main__":
    sys.exit(main())
