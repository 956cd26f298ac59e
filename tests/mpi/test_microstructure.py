#!/usr/bin/python3
"""`tomocell microstructure`: generation, calendering and the link to tortuosity.

Checks (60^3 voxels, radius 4 voxels):
  * generated porosity and CBD fraction within 0.5 % (relative) of the target
    (the voxel count is exact; the tolerance covers the last particle's step);
  * the same seed gives the same volume on 1 and NRANKS ranks, another seed
    a different one;
  * non-overlapping particles do not overlap (pairwise centre distances from
    the particle list, half a voxel of rasterisation slack);
  * calendering 0.45 -> 0.40 -> 0.35 -> 0.30: porosity within 0.5 % of each
    target, thickness ratio (1 - eps0)/(1 - eps) within one voxel layer, and
    the through-thickness tortuosity rising monotonically;
  * bad input: calendering upwards, a volume without a particle list,
    porosity + cbd_fraction >= 1, jammed non-overlapping particles.

usage: test_microstructure.py TOMOCELL NRANKS MPIEXEC ARGS...
"""
import json, os, subprocess, sys, tempfile
import h5py
import numpy as np

tomocell, nranks, launcher = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
fail = []


def run(args, ranks=1, ok=True):
    cmd = (launcher if ranks > 1 else []) + [tomocell] + args
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if ok and r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr}")
    return r


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        fail.append(msg)


def labels(path):
    with h5py.File(path) as f:
        return f["/exchange/data"][...], f["/microstructure/particles_m"][...]


with tempfile.TemporaryDirectory() as tmp:
    j = lambda n: os.path.join(tmp, n)
    common = ["-size", "60,60,60", "-voxel_size", "1e-6", "-radius_m", "4e-6"]
    run(["microstructure", "-output", j("a1.h5"), "-porosity", "0.45", "-cbd_fraction", "0.08",
         "-seed", "5"] + common)
    run(["microstructure", "-output", j("a2.h5"), "-porosity", "0.45", "-cbd_fraction", "0.08",
         "-seed", "5"] + common, ranks=nranks)
    run(["microstructure", "-output", j("b.h5"), "-porosity", "0.45", "-cbd_fraction", "0.08",
         "-seed", "6"] + common)
    a1, _ = labels(j("a1.h5"))
    a2, _ = labels(j("a2.h5"))
    b, _ = labels(j("b.h5"))
    eps, cbd = (a1 == 0).mean(), (a1 == 2).mean()
    check(abs(eps - 0.45) <= 0.005 * 0.45, f"generated porosity {eps:.5f} (target 0.45)")
    check(abs(cbd - 0.08) <= 0.005 * 0.08, f"generated CBD fraction {cbd:.5f} (target 0.08)")
    check((a1 == a2).all(), f"seed 5 gives the same volume on 1 and {nranks} ranks")
    check((a1 != b).mean() > 0.1, "seed 6 gives a different volume")

    run(["microstructure", "-output", j("rsa.h5"), "-porosity", "0.75", "-overlap", "false",
         "-radius_sd", "0.1"] + common)
    v, p = labels(j("rsa.h5"))
    d = np.sqrt(((p[:, None, :3] - p[None, :, :3]) ** 2).sum(-1))
    gap = (d - p[:, None, 3] - p[None, :, 3])[np.triu_indices(len(p), 1)].min()
    check(gap >= 0.5e-6 - 1e-12 and abs((v == 0).mean() - 0.75) <= 0.005 * 0.75,
          f"non-overlapping: {len(p)} particles, smallest gap {gap * 1e6:.3f} um, porosity {(v == 0).mean():.4f}")

    prev, taus = j("a1.h5"), []
    r = run(["tortuosity", j("a1.h5"), "-direction", "z", "-output", j("t0.json")])
    taus.append(json.load(open(j("t0.json")))["directions"]["z"]["tau"])
    nz0 = 60
    for k, e in enumerate([0.40, 0.35, 0.30]):
        out = j(f"c{k}.h5")
        run(["microstructure", "-calender", prev, "-porosity", str(e), "-output", out], ranks=nranks)
        v, _ = labels(out)
        got = (v == 0).mean()
        want_nz = nz0 * (1 - eps) / (1 - e)
        check(abs(got - e) <= 0.005 * e and abs(v.shape[0] - want_nz) <= 1,
              f"calendered to {e}: porosity {got:.5f}, thickness {v.shape[0]} voxels (expected {want_nz:.1f})")
        run(["tortuosity", out, "-direction", "z", "-output", j(f"t{k + 1}.json")], ranks=nranks)
        taus.append(json.load(open(j(f"t{k + 1}.json")))["directions"]["z"]["tau"])
        prev = out
    check(all(b > a for a, b in zip(taus, taus[1:])), "tau_z rises with compression: " +
          " -> ".join(f"{t:.3f}" for t in taus))

    bad = [
        (["-calender", j("c2.h5"), "-porosity", "0.5", "-output", j("x1.h5")], "must lie between 0 and the current porosity", "x1.h5"),
        (["-porosity", "0.6", "-cbd_fraction", "0.5", "-output", j("x2.h5")] + common, "must leave room", "x2.h5"),
        (["-porosity", "0.3", "-overlap", "false", "-output", j("x3.h5")] + common, "jammed", "x3.h5"),
    ]
    with h5py.File(j("ct.h5"), "w") as f:
        f.create_dataset("/exchange/data", data=a1).attrs["pixel_size_m"] = 1e-6
    bad.append((["-calender", j("ct.h5"), "-porosity", "0.3", "-output", j("x4.h5")], "no particle list", "x4.h5"))
    for args, words, out in bad:
        r = run(["microstructure"] + args, ranks=nranks, ok=False)
        check(r.returncode == 1 and words in r.stderr and "PETSC ERROR" not in r.stderr
              and not os.path.exists(out), f"bad input -> {r.stderr.strip()[:110]}")

sys.exit(1 if fail else 0)
