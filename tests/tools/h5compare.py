#!/usr/bin/python3
"""Compare two tomocell result files dataset by dataset.

usage: h5compare.py A.h5 B.h5 [--rtol 1e-10] [--ignore /nodes/rank ...]

Every dataset present in either file must be present in both with the same
shape and dtype kind; floating-point data must agree to
|a - b| <= rtol * max(|a|max, |b|max) (a norm-wise relative tolerance, so
values that are zero in exact arithmetic do not make the test meaningless),
integer data exactly. Exit 0 if equal, 1 with a list of differences if not.
"""
import argparse
import sys

import h5py
import numpy as np


def datasets(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__("/" + name, obj) if isinstance(obj, h5py.Dataset) else None)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rtol", type=float, default=1e-10)
    ap.add_argument("--ignore", action="append", default=[])
    args = ap.parse_args()
    bad = []
    with h5py.File(args.a, "r") as fa, h5py.File(args.b, "r") as fb:
        da, db = datasets(fa), datasets(fb)
        for name in sorted(set(da) | set(db)):
            if name in args.ignore:
                continue
            if name not in da or name not in db:
                bad.append(f"{name}: only in {'A' if name in da else 'B'}")
                continue
            a, b = da[name][()], db[name][()]
            if a.shape != b.shape:
                bad.append(f"{name}: shape {a.shape} vs {b.shape}")
                continue
            if np.issubdtype(a.dtype, np.floating):
                scale = max(np.abs(a).max(initial=0), np.abs(b).max(initial=0), np.finfo(float).tiny)
                err = np.abs(a - b).max(initial=0) / scale
                print(f"{name}: max diff / max |value| = {err:.3e}")
                if not err <= args.rtol:
                    bad.append(f"{name}: relative difference {err:.3e} > {args.rtol:.1e}")
            elif not np.array_equal(a, b):
                bad.append(f"{name}: integer data differ in {int(np.sum(a != b))} entries")
            else:
                print(f"{name}: identical")
    for line in bad:
        print("DIFF", line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
