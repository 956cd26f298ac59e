#!/usr/bin/python3
"""`tomocell tortuosity -field`: the concentration and flux fields.

Pore channels along x in a 20 x 8 x 6 box (z, y, x = 6, 8, 20): the exact
discrete solution is c = 1 - (x + 1/2)/N in every channel voxel and a flux of
1/N per voxel along x (zero across), NaN outside the pores. The field is
stored as float32, so the check is 1e-6 absolute (float32 rounding ~6e-8 on
values <= 1, plus the solver tolerance). The run is repeated on 1 and NRANKS
ranks: the fields must agree to the same 1e-6, and the XDMF file must point
at datasets that exist.

usage: test_tau_field.py TOMOCELL NRANKS MPIEXEC ARGS...
"""
import os, re, subprocess, sys, tempfile
import h5py
import numpy as np

tomocell, nranks, launcher = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
N = 20
vol = np.ones((6, 8, N), np.uint8)
vol[:, 2:5, :] = 0          # slabs of pore along x, 3 voxels wide in y
vol[2:4, :, :] = 1          # cut by a solid band in z: two channels
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "ch.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("/exchange/data", data=vol).attrs["pixel_size_m"] = 2e-6
    fields = []
    for np_ in (1, nranks):
        out = os.path.join(tmp, f"f{np_}.h5")
        cmd = (launcher if np_ > 1 else []) + [tomocell, "tortuosity", path, "-direction", "x",
                                              "-field", out, "-output", os.path.join(tmp, f"p{np_}.json")]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        with h5py.File(out) as f:
            c, q, lab = f["/x/concentration"][...], f["/x/flux"][...], f["/labels"][...]
        assert c.shape == vol.shape and q.shape == vol.shape + (3,), (c.shape, q.shape)
        assert (lab == vol).all(), "labels differ"
        pore = vol == 0
        x = np.arange(N)[None, None, :] * np.ones(vol.shape)
        err_c = np.abs(c[pore] - (1 - (x[pore] + 0.5) / N)).max()
        err_q = np.abs(q[..., 0][pore] - 1.0 / N).max()
        err_t = np.abs(q[..., 1:][pore]).max()
        assert np.isnan(c[~pore]).all(), "concentration outside the pores must be NaN"
        print(f"{np_} rank(s): max |c - exact| {err_c:.1e}, |q_x - 1/N| {err_q:.1e}, |q_yz| {err_t:.1e}")
        assert err_c < 1e-6 and err_q < 1e-6 and err_t < 1e-6
        xmf = open(out[:-3] + ".xmf").read()
        for ds in re.findall(r"f\d\.h5:(/[\w/]+)", xmf):
            with h5py.File(out) as f:
                assert ds in f, f"XDMF refers to missing {ds}"
        fields.append(c)
    d = np.nanmax(np.abs(fields[0] - fields[1]))
    print(f"1 vs {nranks} ranks: max difference {d:.1e}")
    assert d < 1e-6
