"""Fixtures for the tomocell compare tests: a results file with an analytic
temperature field on the 21700 roll network, and measured maps made by the
forward model of tomocell itself (compare -register fixed on a template).

The field (K): T = 298.15 + (t / 1800 s) * (8 (1 - (r / 10 mm)^2)
                 + 6 exp(-|p - (4, 3) mm|^2 / (2 (2 mm)^2))) * (1 + 0.1 z / 65 mm),
a core-to-surface gradient plus an off-centre hotspot, growing in time.
"""
import os
import subprocess

import h5py
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
A0, T0, ALPHA = 3.6149, 293.15, 16.5e-6  # the defaults of tomocell compare
TIMES = np.array([0.0, 600.0, 1200.0, 1800.0])
CENTRE = np.array([150e-6, -80e-6])  # spiral centre of inputs/roll21700.yaml


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    return r


def field(xyz, t):
    r = np.hypot(xyz[:, 0] - CENTRE[0], xyz[:, 1] - CENTRE[1])
    hot = np.exp(-((xyz[:, 0] - 4e-3) ** 2 + (xyz[:, 1] - 3e-3) ** 2) / (2 * 2e-3**2))
    return 298.15 + (t / 1800.0) * (8 * (1 - (r / 10e-3) ** 2) + 6 * hot) * (1 + 0.1 * xyz[:, 2] / 0.065)


def make_results(tomocell, tmp):
    """geometry -> net.h5, plus /time_s and /series/temperature_K -> results.h5"""
    net = os.path.join(tmp, "net.h5")
    run([tomocell, "geometry", os.path.join(ROOT, "inputs", "roll21700.yaml"), "-output", net], cwd=tmp)
    res = os.path.join(tmp, "results.h5")
    with h5py.File(net, "r") as f, h5py.File(res, "w") as g:
        xyz = f["/nodes/coordinates_m"][:]
        g["/nodes/coordinates_m"] = xyz
        g["/nodes/foil"] = f["/nodes/foil"][:].astype(np.int32)
        g["/time_s"] = TIMES
        g["/series/temperature_K"] = np.array([field(xyz, t) for t in TIMES])
        g.attrs["roll_centre_m"] = CENTRE
    return res, net


def _resample(x, y, m):
    a = np.concatenate([[0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    u = np.linspace(0, a[-1], m)
    return np.stack([np.interp(u, a, x), np.interp(u, a, y)], axis=1)


def cu_line(res, z):
    """the Cu centre line at height z (between the bracketing layers): the network's source
    curves where the file has them (results of tomocell run), else the nodes' polyline"""
    with h5py.File(res, "r") as f:
        xyz = f["/nodes/coordinates_m"][:]
        cu = f["/nodes/foil"][:] == 0
        curves = None
        if "/curves/x_m" in f and "/layers/curve" in f:
            curves = (f["/layers/z_m"][:], f["/layers/curve"][:], f["/curves/start"][:],
                      f["/curves/count"][:], f["/curves/x_m"][:], f["/curves/y_m"][:])
    if curves is not None and (curves[1][:, 0] >= 0).all():
        zl, lc, st, ct, cx, cy = curves
        k = min(np.searchsorted(zl, z, side="right") - 1, len(zl) - 2) if len(zl) > 1 else 0
        k1 = min(k + 1, len(zl) - 1)
        w = (z - zl[k]) / (zl[k1] - zl[k]) if k1 > k else 0.0
        m = int(max(ct[lc[k, 0]], ct[lc[k1, 0]]))
        a, b = [_resample(cx[st[c]:st[c] + ct[c]], cy[st[c]:st[c] + ct[c]], m)
                for c in (lc[k, 0], lc[k1, 0])]
        return (1 - w) * a + w * b
    p = xyz[cu]
    zs = np.unique(p[:, 2])
    k = min(np.searchsorted(zs, z, side="right") - 1, len(zs) - 2)
    w = (z - zs[k]) / (zs[k + 1] - zs[k])
    lo, hi = p[p[:, 2] == zs[k]][:, :2], p[p[:, 2] == zs[k + 1]][:, :2]
    return (1 - w) * lo + w * hi


def rasterize(line, px, n, theta_deg, shift_px):
    """mask of the pixels the Cu line crosses, for the registration
    x_sim = R(theta) u + shift (u image coordinates, pixel centres at
    (i + 1/2 - n/2) px)"""
    th = np.radians(theta_deg)
    pts = []
    for a, b in zip(line[:-1], line[1:]):
        m = int(np.ceil(np.hypot(*(b - a)) / (px / 10))) + 1
        pts.append(a + (b - a) * np.linspace(0, 1, m, endpoint=False)[:, None])
    pts = np.concatenate(pts) - np.array(shift_px) * px
    u = np.cos(th) * pts[:, 0] + np.sin(th) * pts[:, 1]
    v = -np.sin(th) * pts[:, 0] + np.cos(th) * pts[:, 1]
    i = np.floor(u / px + n / 2).astype(int)
    j = np.floor(v / px + n / 2).astype(int)
    ok = (i >= 0) & (j >= 0) & (i < n) & (j < n)
    mask = np.zeros((n, n), np.uint8)
    mask[j[ok], i[ok]] = 1
    return mask


def write_map(path, data, mask, times, px=50e-6, z=0.03, quantity="temperature_K", sigma=None,
              attrs=True):
    with h5py.File(path, "w") as f:
        g = f.create_group("xrdct")
        g[quantity] = data
        g["mask"] = mask
        g["time_s"] = np.asarray(times, float)
        if sigma is not None:
            g["uncertainty_A" if quantity == "lattice_A" else "uncertainty_K"] = sigma
        if attrs:
            if px is not None:
                g.attrs["pixel_size_m"] = px
            g.attrs["slice_height_m"] = z
