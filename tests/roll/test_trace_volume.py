#!/usr/bin/python3
"""A 3-D stack as a scan gives it: the synthetic roll (tests/roll/small.yaml,
labels, 15 um pixels, 6 slices) behind a cap and a vent and an almost empty
slice, with an empty slice at the end:

    slice 0     cap: a filled disk (label 1) as wide as the roll
    slice 1     vent: three concentric rings (closed rings, not a spiral)
    slice 2     almost empty: the roll cut at 1.75 mm radius (~1.5 turns left)
    slices 3-8  the roll
    slice 9     empty (zeros)

usage: test_trace_volume.py TOMOCELL [MPIEXEC ARGS...]

Checks (on one rank, or on the ranks the launcher gives):
  * the slices without a roll are skipped and listed (summary.json
    slices_skipped: 0, 1, 2, 9, each with a reason; slice 2 as almost
    empty), never traced as a spiral, not fatal; the six roll slices traced
    with the generator's turns (within 0.05);
  * the z spacing from the file: attribute pixel_size_z_m (30 um), else Data
    Exchange's /measurement/instrument/detector/actual_pixel_size_y (60 um,
    given in um), else -pixel_size_z, else the x-y pixel; the summary names
    the source; every node layer at (slice + 0.5) dz and the height 6 dz,
    both exact to 1e-12 relative (net.h5 /layers/z_m and /network height_m),
    so that twice the spacing gives twice the height;
  * -trace_slices 4:8 traces exactly slices 4-7; -trace_slices 0:6 leaves
    the first rank without a roll slice on two ranks (3-5 kept); 3:9 with
    -trace_slice_stride 2: slices 3, 5, 7, height 3 x 2 dz;
  * the same stack in gray (noise 0.05; the cap and vent bright as a steel
    can, the empty slice noise only, which traces as a spiral of about two
    turns): the same four slices skipped, the six traced;
  * tomocell run with geometry: the stack and trace_slices in the deck
    (one node layer per kept slice);
  * bad ranges (8:4, 0:11, a:b, 5, -1:3) and a range of slices without a
    roll (0:3): one error line, exit 1, no output file.
"""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PX = 15e-6


def run(cmd, cwd, ok=True):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    if ok and r.returncode:
        raise SystemExit(f"FAIL {' '.join(cmd)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def make_stack(tmp, T):
    """stack.h5 (z spacing attribute 30 um), detz.h5 (detector actual_pixel_size_y 60 um),
    noz.h5 (no z spacing)."""
    with h5py.File(os.path.join(tmp, "roll.h5"), "r") as f:
        roll = f["/exchange/data"][:]
    nz, ny, nx = roll.shape
    y, x = np.mgrid[0:ny, 0:nx]
    r = np.hypot((x + 0.5 - nx / 2) * PX, (y + 0.5 - ny / 2) * PX)
    rout = max(f["r_outer_m"] for f in T["foils"])
    cap = np.where(r < rout, 1, 0).astype(roll.dtype)
    vent = np.zeros_like(cap)
    for rr in (1.2e-3, 2.0e-3, 2.8e-3):
        vent[np.abs(r - rr) < 1.5 * PX] = 1
    stub = roll[0].copy()
    stub[r > 1.75e-3] = 0
    vol = np.concatenate([cap[None], vent[None], stub[None], roll, np.zeros_like(cap)[None]])
    for name, attr, det in (("stack.h5", 30e-6, None), ("detz.h5", None, 60.0), ("noz.h5", None, None)):
        with h5py.File(os.path.join(tmp, name), "w") as f:
            d = f.create_dataset("/exchange/data", data=vol)
            d.attrs["pixel_size_m"] = PX
            if attr:
                d.attrs["pixel_size_z_m"] = attr
            if det:
                g = f.create_dataset("/measurement/instrument/detector/actual_pixel_size_y", data=det)
                g.attrs["units"] = "um"
    return vol.shape[0]


def make_gray_stack(tmp, T):
    """gstack.h5: the roll rendered in gray with the cap, vent, stub and empty slices."""
    with h5py.File(os.path.join(tmp, "groll.h5"), "r") as f:
        roll = f["/exchange/data"][:]
    nz, ny, nx = roll.shape
    y, x = np.mgrid[0:ny, 0:nx]
    r = np.hypot((x + 0.5 - nx / 2) * PX, (y + 0.5 - ny / 2) * PX)
    rng = np.random.default_rng(1)
    noise = lambda: (0.05 * rng.standard_normal((ny, nx))).astype(np.float32)  # noqa: E731
    rout = max(f["r_outer_m"] for f in T["foils"])
    cap = np.where(r < rout, 3.0, 0).astype(np.float32) + noise()
    vent = noise()
    for rr in (1.2e-3, 2.0e-3, 2.8e-3):
        vent[np.abs(r - rr) < 1.5 * PX] = 3.0
    stub = roll[0].copy()
    stub[r > 1.75e-3] = noise()[r > 1.75e-3]
    vol = np.concatenate([cap[None], vent[None], stub[None], roll, noise()[None]])
    with h5py.File(os.path.join(tmp, "gstack.h5"), "w") as f:
        d = f.create_dataset("/exchange/data", data=vol)
        d.attrs["pixel_size_m"] = PX
        d.attrs["pixel_size_z_m"] = 30e-6


def layers(path):
    with h5py.File(path, "r") as f:
        return f["/layers/z_m"][:], float(f["/network"].attrs["height_m"])


def main():
    tomocell, launcher = os.path.abspath(sys.argv[1]), sys.argv[2:]
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        run([tomocell, "geometry", os.path.join(HERE, "small.yaml"), "-render", "roll.h5", "-output", "truth.h5",
             "-render_nz", "6", "-render_pixel_size_m", repr(PX)], tmp)
        T = json.load(open(os.path.join(tmp, "truth.json")))
        nz = make_stack(tmp, T)
        tr = launcher + [tomocell, "trace"]

        def trace(vol, out, *opts):
            run(tr + [vol, "-output", out] + list(opts), tmp)
            return json.load(open(os.path.join(tmp, out.replace(".h5", ".json"))))

        # skipped slices, heights from each source of the z spacing
        heights = {}
        for vol, opts, dz, src, frm in (("stack.h5", [], 30e-6, "file", "pixel_size_z_m"),
                                        ("detz.h5", [], 60e-6, "file", "actual_pixel_size_y"),
                                        ("stack.h5", ["-pixel_size_z", "45e-6"], 45e-6, "option", "-pixel_size_z"),
                                        ("noz.h5", [], PX, "xy_pixel", "x-y pixel")):
            out = f"n_{len(heights)}.h5"
            s = trace(vol, out, *opts)
            sk = {x["slice"]: x["reason"] for x in s.get("slices_skipped", [])}
            z, h = layers(os.path.join(tmp, out))
            want = [(k + 0.5) * dz for k in range(3, 9)]
            ok = (sorted(sk) == [0, 1, 2, 9] and all(sk.values()) and "almost empty" in sk[2]
                  and s["slices_traced"] == 6 and s["pixel_size_z_source"] == src
                  and frm in s["pixel_size_z_from"] and abs(s["pixel_size_z_m"] - dz) <= 1e-12 * dz
                  and len(z) == 6 and max(abs(a - b) for a, b in zip(z, want)) <= 1e-12 * dz
                  and abs(h - 6 * dz) <= 1e-12 * dz and abs(s["height_m"] - 6 * dz) <= 1e-12 * dz
                  and s["slices"]["kept"] == 6 and s["slices"]["selected"] == nz)
            for t, f in zip(T["foils"], s["foils"]):
                ok = ok and abs(f["windings"] - t["windings"]) < 0.05
            fails += not ok
            heights[(vol, tuple(opts))] = h
            print(f"{'ok  ' if ok else 'FAIL'} {vol} {' '.join(opts)}: z spacing {s.get('pixel_size_z_m')} m "
                  f"({s.get('pixel_size_z_source')}: {s.get('pixel_size_z_from')}), layers at "
                  f"{[round(v / dz - 0.5, 9) for v in z]} dz, height {h / dz:.12g} dz (6), turns "
                  f"{[round(f['windings'], 3) for f in s['foils']]} (true "
                  f"{[round(t['windings'], 3) for t in T['foils']]}), skipped {sk}")
        r2 = heights[("detz.h5", ())] / heights[("stack.h5", ())]
        ok = abs(r2 - 2) < 1e-12
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} twice the z spacing, twice the height: ratio {r2:.15g}")

        # the same in gray
        run([tomocell, "geometry", os.path.join(HERE, "small.yaml"), "-render", "groll.h5", "-output", "gtruth.h5",
             "-render_nz", "6", "-render_pixel_size_m", repr(PX), "-render_mode", "gray", "-render_noise", "0.05"],
            tmp)
        make_gray_stack(tmp, T)
        s = trace("gstack.h5", "g.h5")
        sk = {x["slice"]: x["reason"] for x in s.get("slices_skipped", [])}
        z, h = layers(os.path.join(tmp, "g.h5"))
        ok = (sorted(sk) == [0, 1, 2, 9] and all(sk.values()) and s["slices_traced"] == 6 and s["mode"] == "gray"
              and abs(h - 6 * 30e-6) <= 1e-12 * h and all(abs(f["windings"] - t["windings"]) < 0.05
                                                         for t, f in zip(T["foils"], s["foils"])))
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} gray stack: skipped {sorted(sk)}, traced {s['slices_traced']}, turns "
              f"{[round(f['windings'], 3) for f in s['foils']]}, height {h / 30e-6:.12g} dz; "
              f"slice 9 (noise only): {sk.get(9)}")

        # slice ranges
        for rng, st, kept in (("4:8", 1, [4, 5, 6, 7]), ("0:6", 1, [3, 4, 5]), ("3:", 1, [3, 4, 5, 6, 7, 8]),
                              ("3:9", 2, [3, 5, 7])):
            out = f"r_{rng.replace(':', '_')}_{st}.h5"
            s = trace("stack.h5", out, "-trace_slices", rng, "-trace_slice_stride", str(st))
            z, h = layers(os.path.join(tmp, out))
            got = [round(v / 30e-6 - 0.5, 9) for v in z]
            a, b = rng.split(":")
            ok = (got == kept and abs(h - len(kept) * st * 30e-6) < 1e-12 * h and s["slices"]["first"] == int(a)
                  and s["slices"]["end"] == (int(b) if b else nz) and s["slices"]["stride"] == st
                  and sorted(x["slice"] for x in s["slices_skipped"]) ==
                  sorted(set(range(int(a), int(b) if b else nz, st)) - set(kept)))
            fails += not ok
            print(f"{'ok  ' if ok else 'FAIL'} -trace_slices {rng} -trace_slice_stride {st}: layers at slices {got} "
                  f"(want {kept}), "
                  f"height {h / 30e-6:.12g} dz, skipped {[x['slice'] for x in s['slices_skipped']]}")

        # tomocell run with geometry: the stack, trace_slices in the deck
        deck = os.path.join(tmp, "run.yaml")
        with open(deck, "w") as f:
            f.write('job: roll\npreset: 21700\nspiral:\n  height_m: 120e-6\ngeometry: stack.h5\n'
                    'trace_slices: "4:8"\nnetwork:\n  ds_m: 10e-3\nmodel: spm\nplots: false\n'
                    'experiment: "Rest for 10 seconds"\n')
        rr = run(launcher + [tomocell, "run", deck, "-output", "runout"], tmp, ok=False)
        ok = rr.returncode == 0
        if ok:
            s = json.load(open(os.path.join(tmp, "runout", "summary.json")))
            g = s["geometry"]
            ok = (s["network"]["layers"] == 4 and g["trace"]["slices_traced"] == 4
                  and g["trace"]["slices"]["first"] == 4 and abs(g["height_m"] - 120e-6) < 1e-15)
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} tomocell run, geometry: stack.h5, trace_slices: 4:8 -> "
              f"{'4 node layers' if ok else rr.stderr[-400:]}")

        # bad ranges and no roll in the range: one line, exit 1, no output
        for rng, words in (("8:4", "0 <= A < B <= 10"), ("0:11", "0 <= A < B <= 10"), ("a:b", "expected A:B"),
                           ("5", "expected A:B"), ("-1:3", "expected A:B"),
                           ("0:3", "selected slices")):
            out = os.path.join(tmp, "bad.h5")
            r = run(tr + ["stack.h5", "-output", out, "-trace_slices", rng], tmp, ok=False)
            # one "tomocell: error:" line (mpiexec adds its own lines on several ranks)
            err = [l for l in r.stderr.splitlines() if l.startswith("tomocell")]
            ok = (r.returncode == 1 and len(err) == 1 and err[0].startswith("tomocell: error:")
                  and words in err[0] and "PETSC ERROR" not in r.stderr and not os.path.exists(out)
                  and not os.path.exists(out.replace(".h5", ".json")))
            fails += not ok
            print(f"{'ok  ' if ok else 'FAIL'} -trace_slices {rng}: exit {r.returncode}, {err}")
    print("passed" if not fails else f"{fails} check(s) failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
