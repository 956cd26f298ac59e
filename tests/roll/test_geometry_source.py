"""Where a coupled roll's network comes from (tomocell run, key geometry).

    test_geometry_source.py MODE TOMOCELL [MPIEXEC ARGS...]

MODE is one of
  equal   one run deck serves tomocell geometry and tomocell run: the net.h5
          that geometry writes from it, given back as geometry:, runs exactly
          the built-in spiral of the same deck (every summary value to 1e-9
          relative, summary.csv identical); also with node spacing and tabs
          changed on the command line (the stored curves are rebuilt)
  defect  a defect of the roll (a spiral's gap) is listed in net.h5 and
          summary.json, and short_at_defect places the internal short there
  volume  a CT volume as geometry is traced by the run with the trace_* keys:
          the same run as tomocell trace -> net.h5 -> run (1e-9), the traced
          network, summary and PNG beside the results (traced_net.*), which
          run again the same; a 3-D render: one node layer per slice, the
          traced height N dz checked against the electrode height
  bad     a net.h5 of another format or without curves, a net.h5 whose
          elements all vanish, a traced roll whose pitch does not fit the
          parameter set, tabs that miss every traced node, a volume where a
          volume the tracer rejects (its message passed through): one line,
          exit 1, no output
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
from badinput import run_all  # noqa: E402

DECK = """job: roll
preset: 18650
network:
  ds_m: 10e-3
  nz: 3
tab:
  cu: end
  al: start
model: spme
thermal: network
plots: false
experiment: "Discharge at 1C for 20 minutes; Rest for 5 minutes"
"""


def sh(cmd, cwd):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return r.stdout


def flat(x, p=""):
    """Numbers of a summary, by path; timing, memory and the geometry record are not results."""
    out = {}
    if isinstance(x, dict):
        for k, v in x.items():
            if k in ("timing_s", "memory", "geometry", "deck"):
                continue
            out.update(flat(v, p + k + "."))
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        out[p] = float(x)
    return out


def compare(a, b, what):
    fa = flat(json.load(open(os.path.join(a, "summary.json"))))
    fb = flat(json.load(open(os.path.join(b, "summary.json"))))
    bad = [k for k in fa if k not in fb or abs(fa[k] - fb[k]) > 1e-9 * max(abs(fa[k]), 1e-30)]
    with open(os.path.join(a, "summary.csv")) as f:
        ra = list(csv.reader(f))
    with open(os.path.join(b, "summary.csv")) as f:
        rb = list(csv.reader(f))
    dmax = 0.0
    same_shape = len(ra) == len(rb) and all(len(x) == len(y) for x, y in zip(ra, rb))
    if same_shape:
        for x, y in zip(ra[1:], rb[1:]):
            for u, v in zip(x, y):
                u, v = float(u), float(v)
                dmax = max(dmax, abs(u - v) / max(abs(u), 1e-30) if u != v else 0.0)
    ok = not bad and same_shape and dmax <= 1e-9
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {len(fa)} summary values, {len(bad)} differ by more "
          f"than 1e-9 relative{' (' + ', '.join(bad[:5]) + ')' if bad else ''}; summary.csv "
          f"{len(ra) - 1} rows, largest relative difference {dmax:.1e}")
    return 0 if ok else 1


def mode_equal(tomocell, launcher, tmp):
    deck = os.path.join(tmp, "roll.yaml")
    with open(deck, "w") as f:
        f.write(DECK)
    net = os.path.join(tmp, "roll_net.h5")
    out = sh([tomocell, "geometry", deck, "-output", net], tmp)
    fails = 0
    ok = "not used here" in out and "experiment" in out
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} tomocell geometry takes the run deck and says which keys it "
          f"does not use")
    run = launcher + [tomocell, "run", deck]
    sh(run + ["-output", "spiral"], tmp)
    sh(run + ["-geometry", net, "-output", "file"], tmp)
    fails += compare(os.path.join(tmp, "spiral"), os.path.join(tmp, "file"),
                     "built-in spiral vs its net.h5")
    s = json.load(open(os.path.join(tmp, "file", "summary.json")))
    ok = s["geometry"]["source"] == "network" and s["geometry"]["written_by"] == "geometry"
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} summary.json geometry: source {s['geometry']['source']}, "
          f"written by {s['geometry'].get('written_by')}")
    # the stored curves are rebuilt with the run's node spacing and tabs where the deck sets
    # them. Not bit for bit now: the spiral is sampled at ds/20 for its own polyline, the file
    # holds the polyline of its ds (10 mm / 20 = 0.5 mm), whose chords are ~2.5e-4 shorter on
    # the inner turns (h^2 / (24 r^2) at r = 1.5 mm). Same network, so the capacity within 1e-3
    # and the voltage within 0.5 mV; the tabs moved, so the result differs from the first run.
    extra = ["-network_ds_m", "7e-3", "-tab_cu", "positions", "-tab_cu_positions_m", "0.3",
             "-tab_al", "end"]
    sh(run + extra + ["-output", "spiral2"], tmp)
    sh(run + extra + ["-geometry", net, "-output", "file2"], tmp)
    a = json.load(open(os.path.join(tmp, "spiral2", "summary.json")))
    b = json.load(open(os.path.join(tmp, "file2", "summary.json")))
    c = json.load(open(os.path.join(tmp, "spiral", "summary.json")))
    dq = abs(a["capacity_Ah"] - b["capacity_Ah"]) / a["capacity_Ah"]
    dv = abs(a["final_voltage_V"] - b["final_voltage_V"])
    moved = abs(a["current_heterogeneity"] - c["current_heterogeneity"]) > 1e-3
    ok = dq < 1e-3 and dv < 5e-4 and moved and \
        a["network"]["al_nodes_per_layer"] == b["network"]["al_nodes_per_layer"]
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} ds 7 mm and other tabs on the command line: capacity "
          f"{dq:.1e} apart (< 1e-3), final voltage {1e3 * dv:.3f} mV apart (< 0.5 mV), "
          f"{b['network']['al_nodes_per_layer']} Al nodes per layer as the spiral's; the tabs "
          f"changed the result ({'yes' if moved else 'no'})")
    return fails


def mode_defect(tomocell, launcher, tmp):
    # a spiral with a gap (150 um opened outside turn 6 at angle 1 rad) lists it as a defect;
    # short_at_defect 0 puts the internal short there -- the same short as short_r_m/_theta_rad
    # at the defect's place -- from the spiral and from its net.h5 (which carries /defects)
    deck = os.path.join(tmp, "roll.yaml")
    with open(deck, "w") as f:
        f.write(DECK.replace("thermal: network", "thermal: isothermal") +
                "spiral:\n  gap_m: 150e-6\n  gap_turn: 6\n  gap_angle_rad: 1.0\n"
                "short_resistance_ohm: 1.0\n")
    net = os.path.join(tmp, "gap_net.h5")
    sh([tomocell, "geometry", deck, "-output", net], tmp)
    with h5py.File(net, "r") as f:
        kinds = list(f["/defects/kind"][:])
        r_file = float(f["/defects/r_m"][0]) if kinds else float("nan")
    fails = 0
    ok = kinds == [1]
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} net.h5 /defects holds the gap (kinds {kinds}, r {1e3 * r_file:.3f} mm)")
    run = launcher + [tomocell, "run", deck, "-experiment", "Rest for 30 seconds"]
    sh(run + ["-short_at_defect", "0", "-output", "at"], tmp)
    sh(run + ["-short_at_defect", "0", "-geometry", net, "-output", "atfile"], tmp)
    a = json.load(open(os.path.join(tmp, "at", "summary.json")))
    d = a["geometry"]["defects"][0]
    sh(run + ["-short_r_m", repr(d["r_m"]), "-short_theta_rad", repr(d["theta_rad"]), "-output", "rt"],
       tmp)
    b = json.load(open(os.path.join(tmp, "rt", "summary.json")))
    c = json.load(open(os.path.join(tmp, "atfile", "summary.json")))
    # the gap opens between the Al of the turn before and the first pushed Cu, at phi = 2 pi 6
    # + 1: Cu centre line r_cu(phi) = 1.5 mm mandrel + 6 um + p phi / 2 pi (+ the 150 um gap
    # there), Al of the turn before r_cu(phi - 2 pi) + p/2 (pitch p = 373.6 um)
    p, phi = 373.6e-6, 2 * 3.141592653589793 * 6 + 1.0
    r_cu = 1.5e-3 + 6e-6 + p * phi / (2 * 3.141592653589793) + 150e-6
    r_expect = 0.5 * (r_cu - 150e-6 - p + 0.5 * p + r_cu)
    ok = (d["kind"] == "gap" and abs(d["r_m"] - r_expect) < 1e-9 and abs(d["theta_rad"] - 1.0) < 1e-9
          and abs(a["short"]["r_m"] - d["r_m"]) < 1e-12 and a["short"]["at_defect"] == 0
          and abs(a["short"]["joule_heat_J"] - b["short"]["joule_heat_J"]) <= 1e-9 * b["short"]["joule_heat_J"]
          and abs(c["short"]["joule_heat_J"] - a["short"]["joule_heat_J"]) <= 1e-9 * a["short"]["joule_heat_J"])
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} short_at_defect 0: the gap at r {1e3 * d['r_m']:.3f} mm, theta "
          f"{d['theta_rad']:.3f} rad; short there, {a['short']['joule_heat_J']:.4f} J in 30 s = "
          f"{b['short']['joule_heat_J']:.4f} J with short_r_m/theta_rad there = "
          f"{c['short']['joule_heat_J']:.4f} J from the net.h5")
    return fails

SMALL = ("preset: 18650\nspiral:\n  length_m: 0.08\n  mandrel_radius_m: 1.0e-3\n")


def mode_volume(tomocell, launcher, tmp):
    deck = os.path.join(tmp, "roll.yaml")
    with open(deck, "w") as f:
        f.write(DECK)
    geo = os.path.join(tmp, "small.yaml")
    with open(geo, "w") as f:
        f.write(SMALL)
    fails = 0
    # a 2-D labelled slice of a small roll with the set's stack, traced by the run itself and
    # by tomocell trace first: one network (same curves, node spacing and tabs of the deck)
    sh([tomocell, "geometry", geo, "-render", "ct.h5", "-render_pixel_size_m", "10e-6"], tmp)
    run = launcher + [tomocell, "run", deck]
    out = sh(run + ["-geometry", "ct.h5", "-trace_smooth_px", "6", "-output", "vol"], tmp)
    sh(launcher + [tomocell, "trace", "ct.h5", "-trace_smooth_px", "6", "-output", "t_net.h5"],
       tmp)
    sh(run + ["-geometry", "t_net.h5", "-output", "net"], tmp)
    fails += compare(os.path.join(tmp, "vol"), os.path.join(tmp, "net"),
                     "CT volume traced by the run vs tomocell trace -> net.h5 -> run")
    files = [os.path.join(tmp, "vol", "traced_net" + e) for e in (".h5", ".xmf", ".json", ".png")]
    s = json.load(open(os.path.join(tmp, "vol", "summary.json")))
    g = s["geometry"]
    tj = json.load(open(files[2]))
    ok = (all(os.path.isfile(x) for x in files) and g["source"] == "volume" and g["traced"]
          and len(g["trace"]["foils"]) == 2 and g["trace"]["slices_traced"] == 1
          and tj["command"] == "run" and "tracing" in out
          and abs(g["trace"]["foils"][1]["length_m"] - tj["foils"][1]["length_m"]) == 0)
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} the traced network, summary and PNG beside the results "
          f"({', '.join(os.path.basename(x) for x in files if os.path.isfile(x))}); summary.json "
          f"geometry: source {g['source']}, trace of {len(g['trace']['foils'])} foils, Al "
          f"{g['trace']['foils'][1]['length_m']:.4f} m")
    sh(run + ["-geometry", files[0], "-output", "again"], tmp)
    fails += compare(os.path.join(tmp, "vol"), os.path.join(tmp, "again"),
                     "the run's traced_net.h5 given back as geometry")
    # a 3-D stack: 4 slices of 10 um, each a node layer at its height; the traced height
    # 4 x 10 um against the electrode height: refused as it is, run with the height set
    sh([tomocell, "geometry", geo, "-render", "ct3.h5", "-render_pixel_size_m", "10e-6",
        "-render_nz", "4"], tmp)
    deck3 = os.path.join(tmp, "roll3.yaml")
    with open(deck3, "w") as f:
        f.write(DECK.replace("  nz: 3\n", ""))
    run = launcher + [tomocell, "run", deck3]
    r = subprocess.run(run + ["-geometry", "ct3.h5", "-output", "h0"], cwd=tmp,
                       capture_output=True, text=True, timeout=900)
    err = r.stderr.strip().splitlines()
    ok = (r.returncode == 1 and len([x for x in err if "error" in x]) == 1 and "0.04 mm" in r.stderr
          and "geometry_height_tolerance" in r.stderr and not os.path.exists(os.path.join(tmp, "h0")))
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} a 40 um stack against the preset's electrode height: exit "
          f"{r.returncode}, {err[-1] if err else ''}")
    sh(run + ["-geometry", "ct3.h5", "-spiral_height_m", "40e-6", "-output", "v3"], tmp)
    s3 = json.load(open(os.path.join(tmp, "v3", "summary.json")))
    with h5py.File(os.path.join(tmp, "v3", "results.h5"), "r") as f:
        c = f["/nodes/coordinates_m"][:]
        fo = f["/nodes/foil"][:]
        z = sorted(set(round(float(v), 12) for v in c[fo < 2, 2]))
    zs = [round((k + 0.5) * 10e-6, 12) for k in range(4)]
    ok = (s3["network"]["layers"] == 4 and abs(s3["geometry"]["height_m"] - 40e-6) < 1e-12
          and s3["geometry"]["trace"]["slices_traced"] == 4 and z == zs)
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} 3-D stack: {s3['network']['layers']} node layers at z = "
          f"{[round(1e6 * v, 3) for v in z]} um (slice centres {[round(1e6 * v, 3) for v in zs]}), "
          f"height {1e6 * s3['geometry']['height_m']:.3f} um (4 x 10 um)")
    return fails


def mode_bad(tomocell, launcher):
    def cases(tmp):
        deck = os.path.join(tmp, "roll.yaml")
        with open(deck, "w") as f:
            f.write(DECK)
        net = os.path.join(tmp, "n.h5")
        sh([tomocell, "geometry", deck, "-output", net], tmp)
        # another format version
        v1 = os.path.join(tmp, "v1.h5")
        sh(["cp", net, v1], tmp)
        with h5py.File(v1, "r+") as f:
            f["/network"].attrs["format_version"] = 7
        yield ("net.h5 of another format", [deck, "-geometry", v1, "-output", "o1"],
               ["format 7", "write it again"], "o1")
        # the format before curves were stored
        old = os.path.join(tmp, "old.h5")
        sh(["cp", net, old], tmp)
        with h5py.File(old, "r+") as f:
            del f["/network"]
        yield ("net.h5 of format 1", [deck, "-geometry", old, "-output", "o2"],
               ["older tomocell", "cannot be read back"], "o2")
        # no curves at all
        nc = os.path.join(tmp, "nocurves.h5")
        sh(["cp", net, nc], tmp)
        with h5py.File(nc, "r+") as f:
            del f["/curves"]
            f.create_group("/curves")
            f.create_dataset("/curves/start", data=[], dtype="i8")
        yield ("net.h5 without curves", [deck, "-geometry", nc, "-output", "o3"],
               ["no node layers or no curves"], "o3")
        # elements: the facing search finds nothing
        ne = os.path.join(tmp, "noelem.h5")
        sh(["cp", net, ne], tmp)
        with h5py.File(ne, "r+") as f:
            f["/network"].attrs["search_m"] = 1e-7
        yield ("net.h5 without elements", [deck, "-geometry", ne, "-output", "o4"],
               ["no electrochemical element"], "o4")
        # tabs that miss every node of the file's foils
        yield ("tabs off the traced foil", [deck, "-geometry", net, "-tab_al", "positions",
                                             "-tab_al_positions_m", "2.5", "-output", "o5"],
               ["Al (positive) foil has no tab", "misses every node"], "o5")
        # a traced roll with another stack: a render of a thin-coated spiral, traced
        thin = os.path.join(tmp, "thin.yaml")
        with open(thin, "w") as f:
            f.write("preset: 18650\nspiral:\n  length_m: 0.08\n  mandrel_radius_m: 1.0e-3\n"
                    "  pos_thickness_m: 40e-6\n  neg_thickness_m: 45e-6\n")
        ct = os.path.join(tmp, "thin_ct.h5")
        sh([tomocell, "geometry", thin, "-render", ct, "-render_pixel_size_m", "10e-6"], tmp)
        tnet = os.path.join(tmp, "thin_net.h5")
        sh([tomocell, "trace", ct, "-output", tnet, "-png", "none"], tmp)
        yield ("traced pitch vs the set", [deck, "-geometry", tnet, "-output", "o6"],
               ["do not describe the same cell", "winding pitch", "geometry_pitch_tolerance"],
               "o6")
        yield ("a volume traced by the run, pitch vs the set", [deck, "-geometry", ct, "-output",
                                                                 "o10"],
               ["do not describe the same cell", "winding pitch", "geometry_pitch_tolerance"],
               "o10")
        # a CT volume is traced by the run -- or refused with the tracer's reason: an empty
        # image has no roll
        import numpy as np
        empty = os.path.join(tmp, "empty.h5")
        with h5py.File(empty, "w") as f:
            d = f.create_dataset("/exchange/data", data=np.zeros((1, 64, 64), dtype=np.uint8))
            d.attrs["pixel_size_m"] = 1e-5
        yield ("a volume without a roll", [deck, "-geometry", empty, "-output", "o7"],
               ["empty.h5 slice 0", "no non-zero label to trace"], "o7")
        yield ("short at a defect that is not there", [deck, "-short_at_defect", "2", "-output",
                                                        "o9"], ["short_at_defect 2", "0 defect"],
               "o9")
        yield ("geometry file missing", [deck, "-geometry", os.path.join(tmp, "nope.h5"),
                                         "-output", "o8"], ["no such file"], "o8")

    nranks = launcher[launcher.index("-n") + 1] if launcher else "1"
    return run_all("run", cases, [tomocell, nranks] + launcher, one_error_line=True)


def main():
    mode, tomocell, launcher = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3:]
    if mode == "bad":
        return mode_bad(tomocell, launcher)
    with tempfile.TemporaryDirectory() as tmp:
        fails = {"equal": mode_equal, "defect": mode_defect,
                 "volume": mode_volume}[mode](tomocell, launcher, tmp)
    print("passed" if not fails else f"{fails} check(s) failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
