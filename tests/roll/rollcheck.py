"""Helpers for the jelly-roll tests: run tomocell, read net.h5 / JSON, and
compare a traced roll with the generator's truth."""
import json
import os
import subprocess

import h5py
import numpy as np


def run(cmd, cwd, timeout=600):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def load_json(path):
    with open(path) as f:
        return json.load(f)


def elements(path):
    """Elements of a net.h5: dict (layer, face) -> (al_s sorted, cu_s)."""
    with h5py.File(path, "r") as f:
        s = f["/nodes/s_m"][...]
        foil = f["/nodes/foil"][...]
        layer = f["/nodes/layer"][...]
        ends = f["/edges/nodes"][...]
        kind = f["/edges/kind"][...]
    cu_s = s[foil == 0]
    out = {"_cu": (float(cu_s.max()), int(np.sum((foil == 0) & (layer == layer[0])))),
           "_al": float(s[foil == 1].max()) if np.any(foil == 1) else 0.0}
    for face, k in (("inner", 2), ("outer", 3)):
        sel = ends[kind == k]
        a, b = sel[:, 0], sel[:, 1]
        al = np.where(foil[a] == 1, a, b)
        cu = np.where(foil[a] == 1, b, a)
        for L in np.unique(layer[al]):
            m = layer[al] == L
            o = np.argsort(s[al[m]])
            out[(int(L), face)] = (s[al[m]][o], s[cu[m]][o])
    return out


def compare_pairs(truth_h5, traced_h5, ds, ignore=None):
    """For every traced element, the truth element of the same face and layer
    nearest in Al arc length; its Cu partner must be the same node within one
    Cu node spacing (the partner is the node nearest the facing point, so
    rounding can move it by one node) plus the differences of the traced and
    true Cu and Al lengths (node positions scale with the lengths). Returns
    (n_traced, n_truth, n_wrong, worst |delta s_cu| in m)."""
    T = elements(truth_h5)
    R = elements(traced_h5)
    # one Cu node spacing, plus the traced-length difference at the far end
    (LT, nT), (LR, nR) = T.pop("_cu"), R.pop("_cu")
    AT, AR = T.pop("_al"), R.pop("_al")
    tol = max(LT / (nT - 1), LR / (nR - 1)) + abs(LT - LR) + abs(AT - AR) + 1e-9
    nt = sum(len(v[0]) for v in T.values())
    if ignore:  # traced elements on an Al stretch whose coating is missing (not visible in CT)
        lo, hi = ignore
        for key, (al_r, cu_r) in list(R.items()):
            keep = (al_r < lo - ds) | (al_r > hi + ds)
            R[key] = (al_r[keep], cu_r[keep])
        # count the truth with the same margin, but match against every truth
        # element outside the bare stretch itself
        nt = 0
        for key, (al_t, cu_t) in list(T.items()):
            nt += int(np.sum((al_t < lo - ds) | (al_t > hi + ds)))
            keep = (al_t < lo) | (al_t > hi)
            T[key] = (al_t[keep], cu_t[keep])
    nr = sum(len(v[0]) for v in R.values())
    wrong, worst = 0, 0.0
    for key, (al_r, cu_r) in R.items():
        if key not in T:
            wrong += len(al_r)
            continue
        al_t, cu_t = T[key]
        idx = np.clip(np.searchsorted(al_t, al_r), 1, len(al_t) - 1)
        left = np.abs(al_t[idx - 1] - al_r) < np.abs(al_t[idx] - al_r)
        idx = np.where(left, idx - 1, idx)
        d = np.abs(cu_t[idx] - cu_r)
        far = np.abs(al_t[idx] - al_r) > 0.51 * ds  # no truth element there
        d = np.where(far, np.inf, d)
        wrong += int(np.sum(d > tol))
        worst = max(worst, float(np.max(d[np.isfinite(d)])) if np.any(np.isfinite(d)) else 0.0)
    return nr, nt, wrong, worst
