#!/usr/bin/python3
"""Where a hand measurement by the longest geodesic path of a layer ends.

    trace_geodesic.py VOLUME.h5 LABEL NET.h5

For the traced foil of label LABEL in NET.h5 (written by `tomocell trace
VOLUME.h5`): the geodesic distance over the 8-connected pixels of the
layer's largest connected piece (steps 1 and sqrt 2) from the pixel nearest
the traced inner end; the pixel farthest from it is where a longest
geodesic path from the inner end stops. Prints that pixel and the traced
curve's turns and length up to the nearest curve point, against the whole
traced curve. Where the layer's pixels close a loop (a turn touching the
next), that path takes the shorter way around the loop and ends before the
foil does (docs/trace.md, "Real scans": the P42A slice's class 4).
Pure numpy + heapq (no scipy): about a minute for 2e5 pixels.
"""
import heapq
import json
import math
import sys

import h5py
import numpy as np


def components(mask):
    """Label 8-connected pieces of mask (flood fill); returns labels, sizes."""
    lab = np.zeros(mask.shape, np.int32)
    ny, nx = mask.shape
    sizes = [0]
    for j0, i0 in zip(*np.nonzero(mask)):
        if lab[j0, i0]:
            continue
        k = len(sizes)
        lab[j0, i0] = k
        stack, n = [(j0, i0)], 0
        while stack:
            j, i = stack.pop()
            n += 1
            for dj in (-1, 0, 1):
                for di in (-1, 0, 1):
                    jj, ii = j + dj, i + di
                    if 0 <= jj < ny and 0 <= ii < nx and mask[jj, ii] and not lab[jj, ii]:
                        lab[jj, ii] = k
                        stack.append((jj, ii))
        sizes.append(n)
    return lab, sizes


def main():
    vol, label, net = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    img = h5py.File(vol, "r")["/exchange/data"][0]
    ny, nx = img.shape
    s = json.load(open(net.replace(".h5", ".json")))
    px = s["pixel_size_m"]
    foil = [k for k, f in enumerate(s["foils"]) if f["label"] == label][0]
    with h5py.File(net, "r") as f:
        st, cn = f["/curves/start"][foil], f["/curves/count"][foil]
        xs = f["/curves/x_m"][st:st + cn] / px + nx / 2
        ys = f["/curves/y_m"][st:st + cn] / px + ny / 2
        c = f["/layers/centre_m"][0] / px + np.array([nx / 2, ny / 2])
    lab, sizes = components(img == label)
    main_piece = lab == int(np.argmax(sizes))
    jj, ii = np.nonzero(main_piece)
    k0 = int(np.argmin((ii + 0.5 - xs[0]) ** 2 + (jj + 0.5 - ys[0]) ** 2))
    dist = np.full(main_piece.shape, np.inf)
    dist[jj[k0], ii[k0]] = 0
    heap = [(0.0, int(jj[k0]), int(ii[k0]))]
    while heap:
        d, j, i = heapq.heappop(heap)
        if d > dist[j, i]:
            continue
        for dj in (-1, 0, 1):
            for di in (-1, 0, 1):
                y, x = j + dj, i + di
                if (dj or di) and 0 <= y < ny and 0 <= x < nx and main_piece[y, x]:
                    nd = d + (1.4142135623730951 if dj and di else 1.0)
                    if nd < dist[y, x]:
                        dist[y, x] = nd
                        heapq.heappush(heap, (nd, y, x))
    far = np.unravel_index(np.argmax(np.where(np.isfinite(dist), dist, -1)), dist.shape)
    pu, pv = far[1] + 0.5, far[0] + 0.5
    th = np.unwrap(np.arctan2(ys - c[1], xs - c[0]))
    arc = np.r_[0, np.cumsum(np.hypot(np.diff(xs), np.diff(ys)))]
    half = len(xs) // 2
    q = half + int(np.argmin((xs[half:] - pu) ** 2 + (ys[half:] - pv) ** 2))
    print(f"largest piece of label {label}: {len(jj)} pixels ({len(sizes) - 2} more pieces)")
    print(f"geodesic from the traced inner end: farthest pixel ({far[1]}, {far[0]}) at {dist[far]:.0f} px, "
          f"r {math.hypot(pu - c[0], pv - c[1]) * px * 1e3:.3f} mm; the traced outer end at "
          f"{dist[int(ys[-1]), int(xs[-1])]:.0f} px")
    print(f"traced curve up to it: {abs(th[q] - th[0]) / (2 * math.pi):.2f} turns, {arc[q] * px:.4f} m; "
          f"whole curve: {abs(th[-1] - th[0]) / (2 * math.pi):.2f} turns, {arc[-1] * px:.4f} m")


if __name__ == "__main__":
    main()
