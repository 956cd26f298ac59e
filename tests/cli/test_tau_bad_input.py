#!/usr/bin/python3
"""Bad input to `tomocell tortuosity`: clear message, exit status 1, no output.

usage: test_tau_bad_input.py TOMOCELL [NRANKS MPIEXEC ARGS...]
Fixtures are written with h5py in the temporary directory.
"""
import os
import sys

import h5py
import numpy as np

import badinput


def volume(path, data, pixel=1e-6, name="/exchange/data"):
    with h5py.File(path, "w") as f:
        d = f.create_dataset(name, data=data)
        if pixel:
            d.attrs["pixel_size_m"] = pixel


def cases(tmp):
    j = lambda n: os.path.join(tmp, n)
    rng = np.random.default_rng(3)
    good = (rng.random((12, 10, 8)) < 0.6).astype(np.uint8)
    volume(j("good.h5"), good)
    volume(j("slice.h5"), good[0])
    volume(j("float.h5"), good.astype(np.float32))
    volume(j("fourd.h5"), good.reshape(1, 12, 10, 8))
    volume(j("nodata.h5"), good, name="/exchange/other")
    volume(j("big.h5"), good.astype(np.int32) * 300)
    volume(j("empty.h5"), np.zeros((0, 10, 8), np.uint8))
    layers = np.zeros((12, 10, 8), np.uint8)
    layers[::3] = 1  # solid layers across z: pore does not percolate in z
    volume(j("layers.h5"), layers)
    with open(j("good.h5"), "rb") as f:
        data = f.read()
    with open(j("truncated.h5"), "wb") as f:
        f.write(data[: len(data) // 2])
    good.tofile(j("vol.raw"))
    o = lambda n: ["-output", n]
    return [
        ("phase label absent", ["good.h5", "-phase", "5"] + o("o1.json"),
         ["phase label 5 does not occur", "labels present: 0, 1"], "o1.json"),
        ("2-D input asked for z", ["slice.h5", "-direction", "z"] + o("o2.json"),
         ["2-D image", "no z direction"], "o2.json"),
        ("wrong dtype", ["float.h5"] + o("o3.json"), ["floating-point", "integer labels"], "o3.json"),
        ("4-D array", ["fourd.h5"] + o("o4.json"), ["4 dimensions"], "o4.json"),
        ("missing dataset", ["nodata.h5"] + o("o5.json"), ["no dataset /exchange/data"], "o5.json"),
        ("label above 255", ["big.h5"] + o("o6.json"), ["label 300", "0..255"], "o6.json"),
        ("empty volume", ["empty.h5"] + o("o7.json"), ["empty"], "o7.json"),
        ("truncated HDF5", ["truncated.h5"] + o("o8.json"), ["truncated.h5"], "o8.json"),
        ("truncated raw", ["vol.raw", "-raw_dims", "8,10,13"] + o("o9.json"),
         ["vol.raw", "960 bytes", "truncated"], "o9.json"),
        ("raw without dims", ["vol.raw"] + o("o10.json"), ["-raw_dims"], "o10.json"),
        ("missing file", ["nothere.h5"] + o("o11.json"), ["nothere.h5"], "o11.json"),
        ("not percolating in the direction asked", ["layers.h5", "-direction", "z", "-field", "f.h5"] + o("o12.json"),
         ["does not percolate in z", "tau is infinite"], "o12.json"),
        ("unknown option", ["good.h5", "-phse", "1"] + o("o13.json"), ["phse"], "o13.json"),
        ("bad diffusivity", ["good.h5", "-diffusivity", "0:1,2:x"] + o("o14.json"),
         ["0:1,2:x", "position 7"], "o14.json"),
        ("unknown solver", ["good.h5", "-tau_solver", "amg"] + o("o15.json"),
         ["-tau_solver amg", "mf", "aij"], "o15.json"),
        ("-pc_type with the matrix-free solver", ["good.h5", "-tau_solver", "mf", "-pc_type", "gamg"] + o("o16.json"),
         ["-pc_type needs -tau_solver aij"], "o16.json"),
        ("unwritable output", ["good.h5", "-output", "/proc/tomocell/p.json"],
         ["/proc/tomocell"], None),
    ]


if __name__ == "__main__":
    sys.exit(badinput.run_all("tortuosity", cases, sys.argv[1:]))
