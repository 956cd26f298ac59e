#!/usr/bin/python3
"""Round trip generator -> synthetic CT -> trace, checked against the truth.

usage: test_roundtrip.py TOMOCELL GROUP [MPIEXEC ARGS...]
GROUP: noise (labels, and grayscale at three noise levels, two pixel sizes),
       defects (off-centre, gapped, deformed rolls), volume (3-D with a tilt,
       traced on 1 rank and, with MPIEXEC, on 2 ranks: same net.h5).

Checks and where the tolerances come from (the issue's targets):
  * foil length within 1 % (measured: below 0.06 %, see README);
  * winding count exact: the same number of complete turns, and the turns
    within 0.01 (one ray at the inner radius is < 0.002 turns);
  * inner and outer radius within one pixel;
  * every facing pair correct: each traced element's Cu partner is the truth
    element's partner node within one node spacing (the partner is the node
    nearest the facing point, so rounding can move it by one node; a wrong
    winding would be 2 pi r ~ 6 mm = 6 nodes away), and the traced network
    has as many elements as the truth within 1 %;
  * centre within one pixel (off-centre and defect cases);
  * the tracer's defects (mesh/tracedefect.h): none on a roll without, the
    spiral's gap as a gap at its angle (3 deg) with its opening (10 %), the
    grayscale bare Al stretch as missing coating with its length (5 %).
"""
import math
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import rollcheck  # noqa: E402

DECK = os.path.join(HERE, "small.yaml")
DS = 1e-3
failures = []


def check(name, truth_json, traced_json, truth_h5, traced_h5, centre=True, ignore=None):
    T = rollcheck.load_json(truth_json)
    R = rollcheck.load_json(traced_json)
    px = R["pixel_size_m"]
    bad = []
    if len(R["foils"]) != len(T["foils"]):
        bad.append(f"{len(R['foils'])} foils traced, {len(T['foils'])} true")
    rows = []
    for t, r in zip(T["foils"], R["foils"]):
        le = (r["length_m"] - t["length_m"]) / t["length_m"]
        dw = r["windings"] - t["windings"]
        ri = (r["r_inner_m"] - t["r_inner_m"]) / px
        ro = (r["r_outer_m"] - t["r_outer_m"]) / px
        dc = math.hypot(r["centre_m"][0] - t["centre_m"][0], r["centre_m"][1] - t["centre_m"][1]) / px
        rows.append(f"{t['foil']}: length {100 * le:+.3f} %, turns {r['windings']:.3f}/{t['windings']:.3f}, "
                    f"r_in {ri:+.2f} px, r_out {ro:+.2f} px, centre {dc:.2f} px")
        if abs(le) > 0.01:
            bad.append(f"{t['foil']} length error {100 * le:.3f} % > 1 %")
        if math.floor(r["windings"]) != math.floor(t["windings"]) or abs(dw) > 0.01:
            bad.append(f"{t['foil']} windings {r['windings']:.4f} vs {t['windings']:.4f}")
        if abs(ri) > 1 or abs(ro) > 1:
            bad.append(f"{t['foil']} radius error inner {ri:.2f} px outer {ro:.2f} px > 1 px")
        if centre and dc > 1:
            bad.append(f"centre off by {dc:.2f} px")
    nr, nt, wrong, worst = rollcheck.compare_pairs(truth_h5, traced_h5, DS, ignore)
    rows.append(f"pairs: {nr} traced, {nt} true, {wrong} wrong, worst partner shift {1e3 * worst:.3f} mm")
    if wrong:
        bad.append(f"{wrong} wrong facing pairs")
    if abs(nr - nt) > 0.01 * nt:
        bad.append(f"{nr} elements traced vs {nt} true")
    print(("FAIL " if bad else "ok   ") + name + "\n       " + "\n       ".join(rows + bad))
    if bad:
        failures.append(name)


def check_defects(name, traced_json, expect):
    """The tracer's defects (mesh/tracedefect.h) against the spiral's: expect maps a kind to
    (theta_rad or None, size_m, relative size tolerance); every other kind must be absent."""
    D = rollcheck.load_json(traced_json)["defects"]
    kinds = sorted(d["kind"] for d in D)
    bad = [] if kinds == sorted(expect) else [f"defects {kinds}, expected {sorted(expect)}"]
    for d in D:
        if d["kind"] not in expect:
            continue
        th, size, tol = expect[d["kind"]]
        if th is not None and abs((d["theta_rad"] - th + math.pi) % (2 * math.pi) - math.pi) > math.radians(3):
            bad.append(f"{d['kind']} at theta {d['theta_rad']:.3f} rad, drawn {th:.3f}")
        if abs(d["size_m"] / size - 1) > tol:
            bad.append(f"{d['kind']} size {1e6 * d['size_m']:.1f} um, drawn {1e6 * size:.1f} (tolerance {100 * tol:.0f} %)")
    print(("FAIL " if bad else "ok   ") + name + f" defects: {[(d['kind'], round(1e6 * d['size_m'], 1)) for d in D]}"
          + ("\n       " + "\n       ".join(bad) if bad else ""))
    if bad:
        failures.append(name + " defects")


def roundtrip(tomocell, tmp, name, gen_args, trace_args=(), launcher=(), centre=True, ignore=None, defects=None):
    base = os.path.join(tmp, name)
    rollcheck.run([tomocell, "geometry", DECK, "-render", base + "_ct.h5", "-output", base + "_truth.h5"] + list(gen_args), tmp)
    rollcheck.run(list(launcher) + [tomocell, "trace", base + "_ct.h5", "-output", base + "_net.h5", "-trace_nz", "3"] + list(trace_args), tmp)
    for ext in (".json", ".xmf", ".png"):
        if not os.path.exists(base + "_net" + ext):
            failures.append(name)
            print(f"FAIL {name}: no {base}_net{ext}")
    check(name, base + "_truth.json", base + "_net.json", base + "_truth.h5", base + "_net.h5", centre, ignore)
    check_defects(name, base + "_net.json", defects or {})
    return base


def main():
    tomocell, group, launcher = sys.argv[1], sys.argv[2], sys.argv[3:]
    with tempfile.TemporaryDirectory() as tmp:
        if group == "noise":
            for px in ("10e-6", "15e-6"):
                roundtrip(tomocell, tmp, f"labels_px{px}", ["-render_pixel_size_m", px])
                for noise in ("0", "0.05", "0.1"):
                    roundtrip(tomocell, tmp, f"gray_px{px}_noise{noise}",
                              ["-render_pixel_size_m", px, "-render_mode", "gray", "-render_noise", noise])
            # coarse pixels: the 12 um Cu foil is half a pixel wide
            roundtrip(tomocell, tmp, "gray_px25e-6_noise0.05",
                      ["-render_pixel_size_m", "25e-6", "-render_mode", "gray", "-render_noise", "0.05"])
        elif group == "defects":
            cases = {
                "offcentre": ["-spiral_centre_x_m", "4e-4", "-spiral_centre_y_m", "-2.5e-4"],
                "gap": ["-spiral_gap_m", "150e-6", "-spiral_gap_turn", "2", "-spiral_gap_angle_rad", "1.0",
                        "-spiral_gap_width_rad", "0.8"],
                "deformed": ["-spiral_deform_amplitude_m", "150e-6", "-spiral_deform_decay_turns", "1.5"],
                "widegap": ["-spiral_gap_m", "400e-6", "-spiral_gap_turn", "1", "-spiral_gap_width_rad", "1.5"],
            }
            # a trefoil dent (mode 3, 250 um): labels only -- in grayscale the
            # Al inner end touches the Cu line and its radius is 2 px off (README)
            roundtrip(tomocell, tmp, "trefoil_labels", ["-spiral_deform_amplitude_m", "250e-6", "-spiral_deform_mode", "3",
                                                        "-spiral_deform_decay_turns", "2"])
            # missing cathode coating on 10 mm of the Al foil: in grayscale the bare
            # foil is barely visible; the Al curve is joined across the gap. Pairs
            # are compared outside that stretch (CT does not tell the tracer
            # where coating is missing, so it makes elements there). The Al
            # curve is interpolated over 10 mm there, so the self-check calls
            # it incomplete: the trace fails unless -trace_allow_incomplete,
            # and the summary says where.
            missing = ["-spiral_missing_foil", "al", "-spiral_missing_from_m", "0.02", "-spiral_missing_to_m", "0.03"]
            # the bare stretch of the Al (no broad, coated crossing) is reported as missing
            # coating, its length within 5 % (labels: only the foils are labelled, so
            # nothing tells a bare foil -- no defect)
            base = roundtrip(tomocell, tmp, "missing_coating_gray", missing + ["-render_mode", "gray", "-render_noise", "0.05"],
                             ["-trace_allow_incomplete"], ignore=(0.02, 0.03),
                             defects={"missing_coating": (None, 0.01, 0.05)})
            al = [f for f in rollcheck.load_json(base + "_net.json")["foils"] if f["foil"] == "al"][0]
            if al["complete"] or "r = " not in al["check"].get("broken", ""):
                failures.append("missing_coating_gray: the Al foil is not reported incomplete")
                print(f"FAIL missing_coating_gray: Al complete {al['complete']}, check {al['check']}")
            else:
                print(f"ok   missing_coating_gray: Al reported incomplete: {al['check']['broken']}")
            roundtrip(tomocell, tmp, "missing_coating_labels", missing, ignore=(0.02, 0.03))
            # the gaps found as defects: at their angle (3 deg), the opening within 10 %
            expect = {"gap": {"gap": (1.0, 150e-6, 0.1)}, "widegap": {"gap": (0.0, 400e-6, 0.1)}}
            for name, args in cases.items():
                roundtrip(tomocell, tmp, name + "_labels", args, defects=expect.get(name))
                roundtrip(tomocell, tmp, name + "_gray", args + ["-render_mode", "gray", "-render_noise", "0.05",
                                                                  "-render_pixel_size_m", "15e-6"], defects=expect.get(name))
        elif group == "volume":
            import h5py
            import numpy as np
            sys.path.insert(0, os.path.join(HERE, "..", "tools"))
            import h5compare  # noqa: F401
            tilt = 0.1
            gen = ["-render_mode", "gray", "-render_noise", "0.05", "-render_nz", "12", "-render_tilt_rad", str(tilt),
                   "-render_supersample", "2", "-network_nz", "12"]
            base = os.path.join(tmp, "vol")
            rollcheck.run([tomocell, "geometry", DECK, "-render", base + "_ct.h5", "-output", base + "_truth.h5"] + gen, tmp)
            rollcheck.run([tomocell, "trace", base + "_ct.h5", "-output", base + "_net.h5"], tmp)
            check("volume_tilt", base + "_truth.json", base + "_net.json", base + "_truth.h5", base + "_net.h5")
            # the XDMF points at datasets that exist with the declared shapes (what ParaView needs)
            import xml.etree.ElementTree as ET
            nitems, badx = 0, []
            with h5py.File(base + "_net.h5", "r") as f:
                for item in ET.parse(base + "_net.xmf").iter("DataItem"):
                    fname, path = item.text.strip().split(":")
                    dims = tuple(int(d) for d in item.get("Dimensions").split())
                    if fname != os.path.basename(base + "_net.h5") or path not in f or f[path].shape != dims:
                        badx.append(item.text.strip())
                    nitems += 1
            print(("ok   " if not badx and nitems >= 9 else "FAIL ") + f"XDMF: {nitems} data items {badx}")
            if badx or nitems < 9:
                failures.append("xdmf")
            # the traced centre follows the tilt: x_c(z) slope = tan(tilt) within 5 %
            with h5py.File(base + "_net.h5", "r") as f:
                z = f["/layers/z_m"][...]
                c = f["/layers/centre_m"][...]
            slope = np.polyfit(z, c[:, 0], 1)[0]
            ok = abs(slope - math.tan(tilt)) <= 0.05 * math.tan(tilt)
            print(("ok   " if ok else "FAIL ") + f"tilt: centre slope {slope:.4f} vs tan(tilt) {math.tan(tilt):.4f}")
            if not ok:
                failures.append("tilt")
            if launcher:
                rollcheck.run(launcher + [tomocell, "trace", base + "_ct.h5", "-output", base + "_np2.h5"], tmp)
                r = __import__("subprocess").run([sys.executable, os.path.join(HERE, "..", "tools", "h5compare.py"),
                                                  base + "_net.h5", base + "_np2.h5", "--ignore", "/nodes/rank"],
                                                 capture_output=True, text=True)
                print(("ok   " if r.returncode == 0 else "FAIL ") + "2 ranks give the same net.h5 as 1 rank " + r.stdout.strip())
                if r.returncode:
                    failures.append("rank invariance")
                j1 = rollcheck.load_json(base + "_net.json")
                j2 = rollcheck.load_json(base + "_np2.json")
                same = all(abs(a["length_m"] - b["length_m"]) <= 1e-12 * a["length_m"] for a, b in zip(j1["foils"], j2["foils"]))
                print(("ok   " if same else "FAIL ") + "2 ranks give the same summary lengths")
                if not same:
                    failures.append("rank invariance json")
                check("volume_tilt_np2", base + "_truth.json", base + "_np2.json", base + "_truth.h5", base + "_np2.h5")
                # more ranks than traced slices: 2 slices on 3 ranks (rank 0 has none)
                l3 = list(launcher)
                l3[l3.index("2")] = "3"
                rollcheck.run(l3 + [tomocell, "trace", base + "_ct.h5", "-output", base + "_np3.h5", "-trace_slice_stride", "11"], tmp)
                rollcheck.run([tomocell, "trace", base + "_ct.h5", "-output", base + "_s11.h5", "-trace_slice_stride", "11"], tmp)
                r = __import__("subprocess").run([sys.executable, os.path.join(HERE, "..", "tools", "h5compare.py"),
                                                  base + "_s11.h5", base + "_np3.h5", "--ignore", "/nodes/rank"],
                                                 capture_output=True, text=True)
                j3 = rollcheck.load_json(base + "_np3.json")
                ok3 = r.returncode == 0 and j3["slices_traced"] == 2 and j3["mode"] == "gray"
                print(("ok   " if ok3 else "FAIL ") + "2 slices on 3 ranks: same net.h5 as 1 rank, mode " + j3["mode"])
                if not ok3:
                    failures.append("3 ranks")
        elif group == "input":
            import h5py
            import numpy as np
            base = os.path.join(tmp, "io")
            rollcheck.run([tomocell, "geometry", DECK, "-render", base + "_ct.h5", "-output", base + "_truth.h5"], tmp)
            with h5py.File(base + "_ct.h5", "r") as f:
                data = f["/exchange/data"][...]
            # pixel size from /measurement/instrument/detector/pixel_size in um
            with h5py.File(base + "_det.h5", "w") as f:
                f["/exchange/data"] = data
                d = f.create_dataset("/measurement/instrument/detector/pixel_size", data=10.0)
                d.attrs["units"] = "um"
            # a 2-D (y, x) dataset of int32, no pixel size: -pixel_size
            with h5py.File(base + "_2d.h5", "w") as f:
                f["/exchange/data"] = data[0].astype(np.int32)
            for name, extra in (("detector_pixel_size", [base + "_det.h5"]),
                                ("option_pixel_size_2d", [base + "_2d.h5", "-pixel_size", "10e-6"])):
                rollcheck.run([tomocell, "trace"] + extra + ["-output", base + "_" + name + ".h5", "-trace_nz", "3"], tmp)
                R = rollcheck.load_json(base + "_" + name + ".json")
                okp = abs(R["pixel_size_m"] - 10e-6) < 1e-15
                print(("ok   " if okp else "FAIL ") + f"{name}: pixel size {R['pixel_size_m']}")
                if not okp:
                    failures.append(name)
                check(name, base + "_truth.json", base + "_" + name + ".json", base + "_truth.h5", base + "_" + name + ".h5")
            # TIFF: a multi-page uint8 file and a directory of float32 pages
            from PIL import Image
            img = data[0]
            pages = [Image.fromarray(img.astype(np.uint8)) for _ in range(2)]
            pages[0].save(base + "_stack.tif", save_all=True, append_images=pages[1:])
            os.makedirs(base + "_tifdir", exist_ok=True)
            for k in range(2):
                Image.fromarray(img.astype(np.float32)).save(os.path.join(base + "_tifdir", f"slice_{k:04d}.tif"))
            for name, src in (("tiff_multipage", base + "_stack.tif"), ("tiff_directory", base + "_tifdir")):
                rollcheck.run([tomocell, "trace", src, "-pixel_size", "10e-6", "-trace_mode", "labels",
                               "-output", base + "_" + name + ".h5"], tmp)
                R = rollcheck.load_json(base + "_" + name + ".json")
                okn = R["slices_traced"] == 2 and R["mode"] == "labels"
                print(("ok   " if okn else "FAIL ") + f"{name}: {R['slices_traced']} slices, mode {R['mode']}")
                if not okn:
                    failures.append(name)
                # two identical slices: each layer equals the 2-D truth
                T = rollcheck.load_json(base + "_truth.json")
                for t, r in zip(T["foils"], R["foils"]):
                    le = abs(r["length_m"] - t["length_m"]) / t["length_m"]
                    okl = le < 0.01 and abs(r["windings"] - t["windings"]) < 0.01
                    print(("ok   " if okl else "FAIL ") + f"{name} {t['foil']}: length error {100 * le:.3f} %")
                    if not okl:
                        failures.append(name)
            # tab layouts: the tab nodes are exactly those the layout asks for
            for tabs in (["-tab_al", "positions", "-tab_al_positions_m", "0.02,0.05", "-tab_cu", "tabless"],
                         ["-tab_al", "start", "-tab_cu", "end", "-tab_width_m", "4e-3"]):
                rollcheck.run([tomocell, "geometry", DECK, "-output", base + "_tabs.h5"] + tabs, tmp)
                with h5py.File(base + "_tabs.h5", "r") as f:
                    s_ = f["/nodes/s_m"][...]
                    foil = f["/nodes/foil"][...]
                    layer = f["/nodes/layer"][...]
                    tab = f["/nodes/tab"][...]
                top = layer.max()
                opt = dict(zip(tabs[0::2], tabs[1::2]))
                w = float(opt.get("-tab_width_m", "5e-3"))
                want = np.zeros_like(tab, dtype=bool)
                for fo, key, lay in ((0, "-tab_cu", 0), (1, "-tab_al", top)):
                    m = (foil == fo) & (layer == lay)
                    L = s_[m].max()
                    lay_s = s_[m]
                    if opt[key] == "tabless":
                        sel = np.ones_like(lay_s, dtype=bool)
                    elif opt[key] == "start":
                        sel = lay_s <= w
                    elif opt[key] == "end":
                        sel = lay_s >= L - w
                    else:
                        pos = [float(v) for v in opt[key + "_positions_m"].split(",")]
                        sel = np.zeros_like(lay_s, dtype=bool)
                        for p_ in pos:
                            sel |= np.abs(lay_s - p_) <= 0.5 * w
                    want[np.where(m)[0][sel]] = True
                okt = np.array_equal(want, tab.astype(bool)) and tab.sum() > 0
                print(("ok   " if okt else "FAIL ") + f"tabs {' '.join(tabs)}: {int(tab.sum())} tab nodes")
                if not okt:
                    failures.append("tabs")
        else:
            print("unknown group", group)
            return 2
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
