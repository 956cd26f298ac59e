#!/usr/bin/python3
"""Make an XRD-CT style temperature map of a CT slice from a tomocell run.

    tools/xrdct_from_run.py CT.h5 RESULTS.h5 -o MAP.h5 [--label 1] [--layer K]
                            [--times t1,t2] [--bias K] [--noise K] [--seed N]

For trying tomocell compare without a beamline: at every pixel of the CT
slice that carries the Cu label (a labelled scan, e.g. from
`tomocell geometry -render`), the map holds the run's temperature at the
nearest point of the Cu centre line of one node layer (the network's source
curve, stored in results.h5; the temperature linear in arc length between the
nodes), at snapshot times of the run, optionally with a bias and
Gaussian noise (K). The run must have been made on the network traced from
that slice (`tomocell trace CT.h5` then `tomocell run ... -geometry net.h5`),
so the map and the run share the CT's pixel frame and compare needs no
registration (`-register fixed`). The output is the map format of
tomocell compare: /xrdct/temperature_K [times, y, x] (NaN off the foil),
/xrdct/mask, /xrdct/time_s, attributes pixel_size_m and slice_height_m.

Needs numpy and h5py (Debian's /usr/bin/python3).
"""
import argparse
import sys

import h5py
import numpy as np


def cu_layer(res, layer):
    """the Cu line of a layer: its node ids (ordered along the foil), the line's points and
    each point's place among the nodes (a fractional node index), and the layer height. The
    line is the network's source curve where results.h5 has one (/curves), else the nodes'
    polyline; the nodes sit at equal arc fractions of the curve."""
    with h5py.File(res, "r") as f:
        xyz = f["/nodes/coordinates_m"][:]
        foil = f["/nodes/foil"][:]
        s = f["/nodes/s_m"][:]
        curve = None
        zs = np.unique(xyz[foil == 0, 2])
        if layer is None:
            layer = len(zs) // 2
        if not 0 <= layer < len(zs):
            raise SystemExit(f"xrdct_from_run: --layer {layer}: the run has layers 0..{len(zs) - 1}")
        if "/curves/x_m" in f and "/layers/curve" in f:
            c = int(f["/layers/curve"][layer, 0])
            if c >= 0:
                a, n = int(f["/curves/start"][c]), int(f["/curves/count"][c])
                curve = np.stack([f["/curves/x_m"][a:a + n], f["/curves/y_m"][a:a + n]], axis=1)
    z = zs[layer]
    sel = np.where((foil == 0) & (np.abs(xyz[:, 2] - z) < 1e-12))[0]
    sel = sel[np.argsort(s[sel])]
    if curve is None:
        return sel, xyz[sel, :2], np.arange(len(sel), dtype=float), float(z)
    arc = np.concatenate([[0], np.cumsum(np.hypot(*np.diff(curve, axis=0).T))])
    return sel, curve, arc / arc[-1] * (len(sel) - 1), float(z)


def _nearest_brute(P, A, AB, L2, chunk):
    K = np.zeros(len(P), int)
    U = np.zeros(len(P))
    D = np.zeros(len(P))
    for c0 in range(0, len(P), chunk):
        p = P[c0:c0 + chunk, None, :]
        u = np.clip(((p - A[None]) * AB[None]).sum(2) / L2[None], 0, 1)
        d = ((A[None] + u[..., None] * AB[None] - p) ** 2).sum(2)
        k = d.argmin(1)
        r = np.arange(len(k))
        K[c0:c0 + chunk], U[c0:c0 + chunk], D[c0:c0 + chunk] = k, u[r, k], np.sqrt(d[r, k])
    return K, U, D


def nearest_on_line(P, line, cell=None):
    """for points P [n, 2]: segment index k, position u in [0, 1] and distance to the polyline.

    Exact, by a uniform grid of cells of size `cell`: a segment within distance `cell` of a
    point crosses the 3 x 3 cells around it, so the nearest of those candidates is the
    nearest of all whenever it is closer than `cell`; the points left (none for pixels of the
    foil itself) are searched over every segment. Ties go to the lowest index, as over all."""
    A, B = line[:-1], line[1:]
    AB = B - A
    L2 = np.maximum((AB ** 2).sum(1), 1e-30)
    S = len(A)
    chunk = max(1, 4_000_000 // max(S, 1))
    if cell is None:
        seglen = np.sqrt(L2)
        span = max(float(np.ptp(line[:, 0])), float(np.ptp(line[:, 1])), 1e-12)
        cell = max(4 * float(np.median(seglen)), span / 64)
    lo = np.minimum(line.min(0), P.min(0)) - cell
    nc = np.floor((np.maximum(line.max(0), P.max(0)) + cell - lo) / cell).astype(int) + 1
    # the cells every segment's bounding box touches
    c0 = np.floor((np.minimum(A, B) - lo) / cell).astype(int)
    c1 = np.floor((np.maximum(A, B) - lo) / cell).astype(int)
    buckets = {}
    for s in range(S):
        for cx in range(c0[s, 0], c1[s, 0] + 1):
            for cy in range(c0[s, 1], c1[s, 1] + 1):
                buckets.setdefault((cx, cy), []).append(s)
    pc = np.floor((P - lo) / cell).astype(int)
    key = pc[:, 0] * nc[1] + pc[:, 1]
    order = np.argsort(key, kind="stable")
    K = np.zeros(len(P), int)
    U = np.zeros(len(P))
    D = np.full(len(P), np.inf)
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    for grp in np.split(order, bounds):
        cx, cy = pc[grp[0]]
        cand = sorted({s for dx in (-1, 0, 1) for dy in (-1, 0, 1) for s in buckets.get((cx + dx, cy + dy), ())})
        if not cand:
            continue
        cand = np.array(cand)
        k, u, d = _nearest_brute(P[grp], A[cand], AB[cand], L2[cand], max(1, 4_000_000 // len(cand)))
        K[grp], U[grp], D[grp] = cand[k], u, d
    far = np.flatnonzero(~(D < cell))
    if len(far):
        K[far], U[far], D[far] = _nearest_brute(P[far], A, AB, L2, chunk)
    return K, U, D


def make_map(ct, res, label=1, layer=None, times=None, bias=0.0, noise=0.0, seed=1):
    """the map [times, ny, nx], its mask, pixel size, height, the times used and the largest
    distance (px) of a Cu pixel from the run's Cu line"""
    with h5py.File(ct, "r") as f:
        d = f["/exchange/data"]
        lab = d[0] if d.ndim == 3 else d[:]
        px = float(d.attrs["pixel_size_m"])
    sel, line, place, z = cu_layer(res, layer)
    with h5py.File(res, "r") as f:
        tt = f["/time_s"][:]
        T = f["/series/temperature_K"][:]
    if times is None:
        times = [float(tt[len(tt) // 2]), float(tt[-1])]
    ny, nx = lab.shape
    jj, ii = np.nonzero(lab == label)
    if len(ii) == 0:
        raise SystemExit(f"xrdct_from_run: {ct} has no pixel with label {label}")
    P = np.stack([(ii + 0.5 - nx / 2) * px, (jj + 0.5 - ny / 2) * px], axis=1)
    K, U, D = nearest_on_line(P, line)
    q = (1 - U) * place[K] + U * place[K + 1]  # the pixel's place among the nodes
    i0 = np.minimum(np.floor(q).astype(int), len(sel) - 2)
    f = q - i0
    rng = np.random.default_rng(seed)
    maps = []
    for t in times:
        qt = int(np.argmin(np.abs(tt - t)))
        if abs(tt[qt] - t) > 1e-6 * max(1.0, abs(t)):
            raise SystemExit(f"xrdct_from_run: no snapshot at t = {t} s; the run has {list(tt)}")
        Tl = T[qt, sel]
        v = (1 - f) * Tl[i0] + f * Tl[i0 + 1] + bias
        if noise > 0:
            v = v + rng.normal(0, noise, v.shape)
        m = np.full(lab.shape, np.nan)
        m[jj, ii] = v
        maps.append(m)
    return np.array(maps), (lab == label).astype(np.uint8), px, z, times, D.max() / px


def write_map(path, maps, mask, px, z, times):
    with h5py.File(path, "w") as f:
        g = f.create_group("xrdct")
        g["temperature_K"] = maps
        g["mask"] = mask
        g["time_s"] = np.asarray(times, float)
        g.attrs["pixel_size_m"] = px
        g.attrs["slice_height_m"] = z


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("ct", help="labelled CT slice (Data Exchange HDF5) the run's network was traced from")
    ap.add_argument("results", help="results.h5 of tomocell run on that network")
    ap.add_argument("-o", "--output", required=True, help="map file to write (HDF5)")
    ap.add_argument("--label", type=int, default=1, help="label of the Cu foil in the CT (default 1)")
    ap.add_argument("--layer", type=int, default=None, help="node layer of the map (default: the middle one)")
    ap.add_argument("--times", default=None, help="snapshot times, comma-separated, s (default: middle and last)")
    ap.add_argument("--bias", type=float, default=0.0, help="added to every pixel, K")
    ap.add_argument("--noise", type=float, default=0.0, help="Gaussian noise, standard deviation, K")
    ap.add_argument("--seed", type=int, default=1, help="noise seed")
    a = ap.parse_args(argv)
    times = [float(t) for t in a.times.split(",")] if a.times else None
    maps, mask, px, z, times, dmax = make_map(a.ct, a.results, a.label, a.layer, times, a.bias,
                                              a.noise, a.seed)
    write_map(a.output, maps, mask, px, z, times)
    print(f"wrote {a.output}: {len(times)} map(s) of {mask.shape[1]} x {mask.shape[0]} px, "
          f"{int(mask.sum())} Cu pixels at z = {1e3 * z:.2f} mm, t = "
          f"{', '.join(f'{t:.0f}' for t in times)} s (largest pixel distance to the Cu line "
          f"{dmax:.2f} px)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
