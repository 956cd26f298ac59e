"""Coupled jelly-roll solver (tomocell run, job roll): physics checks.

    test_coupled.py MODE TOMOCELL [MPIEXEC ARGS...]

MODE is one of
  cell      identical elements behind near-ideal foils give the terminal voltage
            of tomocell cell within 1 mV (SPM, SPMe, DFN)
  props     the same with the microstructure keys (cell_props_*) of tomocell cell
  balance   charge conservation every step (1e-9) and energy closure (1e-6)
  hardware  the same with the cell's hardware (thermal_hardware: can, linearised
            radiation): the books close with the can, bottom, cap and tabs'
            heat; the heat capacity's parts add up to its total; the can probes
            read can nodes, warmer than the ambient and cooler than the hottest
            point of the roll
  order     halving a fixed dt converges at order 1 (backward Euler)
  ranks     1, 2 and 3 ranks give the same results to solver tolerance
  solvers   above 5000 nodes on 2 ranks, the direct solves (SuperLU_dist; the
            thermal solve then AMG) and CG + BoomerAMG give the same results
  tabs      a single tab gives more current heterogeneity and a higher T_max
            than tabless, its hotspot nearer the tab; a 3C charge at 0 C (DFN
            elements) takes the anode below 0 V first where the local current
            is highest
  bad       bad input: clear message, exit 1, no output
Small networks (ds 10-20 mm, one to three layers) keep each mode under a minute.
"""
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
from badinput import run_all  # noqa: E402

SMALL = """job: roll
preset: 18650
network:
  ds_m: {ds}
  nz: {nz}
tab:
  cu: {tab_cu}
  al: {tab_al}
model: {model}
thermal: {thermal}
plots: false
experiment: "{experiment}"
"""


def deck(tmp, name, **kw):
    opts = dict(ds=20e-3, nz=1, tab_cu="end", tab_al="start", model="spm", thermal="isothermal",
                experiment="Discharge at 1C until 2.5 V")
    extra = kw.pop("extra", "")
    opts.update(kw)
    path = os.path.join(tmp, name + ".yaml")
    with open(path, "w") as f:
        f.write(SMALL.format(**opts) + extra)
    return path


def run(tomocell, launcher, args, cwd):
    r = subprocess.run(launcher + [tomocell, "run"] + args, cwd=cwd, capture_output=True,
                       text=True, timeout=900)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit(f"tomocell run failed: {args}")
    return r.stdout


def load(out):
    with open(os.path.join(out, "summary.json")) as f:
        s = json.load(f)
    with open(os.path.join(out, "summary.csv")) as f:
        rows = list(csv.DictReader(f))
    ts = {k: [float(r[k]) for r in rows] for k in rows[0]}
    return s, ts


def interp(x, xs, ys):
    for i in range(1, len(xs)):
        if xs[i] >= x:
            w = (x - xs[i - 1]) / (xs[i] - xs[i - 1]) if xs[i] > xs[i - 1] else 1.0
            return ys[i - 1] + w * (ys[i] - ys[i - 1])
    return ys[-1]


# the element grid of both runs: the network's default (tomocell cell's is finer)
GRID = {"cell_nx_n": 8, "cell_nx_s": 4, "cell_nx_p": 8, "cell_nr_n": 20, "cell_nr_p": 20}


def roll_vs_cell(tomocell, launcher, tmp, deck_path, name, model, cell_args):
    """the roll of deck_path against tomocell cell with the same model, grid, tolerance and
    extra arguments: the roll's summary and series, the cell's rows, and the largest voltage
    difference where both are defined, away from the steep end (the cut-off times differ)"""
    out = os.path.join(tmp, name)
    run(tomocell, launcher, [deck_path, "-output", out], tmp)
    s, ts = load(out)
    csvp = os.path.join(tmp, name + ".csv")
    subprocess.run([tomocell, "cell", "-model", model, "-output", csvp, "-cell_newton_rtol",
                    "1e-12", "-experiment", s["experiment"]] +
                   [a for k, v in GRID.items() for a in ("-" + k, str(v))] + cell_args,
                   check=True, capture_output=True, cwd=tmp)
    with open(csvp) as f:
        rows = list(csv.DictReader(f))
    tc = [float(r["time_s"]) for r in rows]
    vc = [float(r["voltage_V"]) for r in rows]
    tend = min(tc[-1], ts["time_s"][-1])
    err = max(abs(v - interp(t, tc, vc)) for t, v in zip(ts["time_s"], ts["voltage_V"])
              if t <= 0.97 * tend)
    return s, ts, rows, err


def mode_cell(tomocell, launcher, tmp):
    # near-ideal foils (sigma 1e10 S/m, ~170x copper) and tab joints: every element sees the
    # terminal voltage, so the network is one cell of the total element area. tomocell cell
    # runs the same model with the same grid, tolerances and experiment; 1C = total area x
    # Q_nom / A_set, so both run at the same C-rate. Tolerance 1 mV (the issue's): the
    # step sequences differ a little, the local error per step is 1 mV at most, and the
    # foils still drop ~0.02 mV.
    fails = 0
    for model in ("spm", "spme", "dfn"):
        d = deck(tmp, "ideal-" + model, model=model, ds=40e-3,
                 extra="spiral_cu_sigma_S_m: 1e10\nspiral_al_sigma_S_m: 1e10\n"
                       "tab_contact_ohm_m: 1e-12\n" +
                       "".join(f"{k}: {v}\n" for k, v in GRID.items()))
        s, ts, rows, err = roll_vs_cell(tomocell, launcher, tmp, d, "ideal-" + model, model, [])
        qcell = float(rows[-1]["discharge_capacity_Ah"])
        qnet = s["capacity_Ah"] / s["one_c_A"] * 5.0  # per 5 Ah of the set
        ok = err < 1e-3 and abs(qnet - qcell) / qcell < 2e-3
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {model}: max |V_net - V_cell| = {1e3 * err:.3f} mV "
              f"(limit 1 mV), capacity {qnet:.4f} vs {qcell:.4f} Ah per 5 Ah of the set")
    return fails


def mode_props(tomocell, launcher, tmp):
    # the multiscale link in the roll: the cell_props_* keys of tomocell cell (props.json of
    # tomocell tortuosity: porosity and tau; here both electrodes calendered to eps 0.30 at the
    # set's loading, inputs/cell_props_demo.yaml) applied to every element. Identical elements
    # behind near-ideal foils are one cell of the total area (as in mode cell), so the roll
    # must give tomocell cell's voltage with the same props within 1 mV (the limit,
    # as in mode cell). The spiral's coatings follow the new thicknesses (the stack check).
    # A 1C discharge to the cut-off (at 2C the SPMe depletes the calendered electrolyte in
    # minutes); the props change the capacity through the thicker, denser electrodes.
    src = os.path.join(HERE, "..", "..", "inputs")
    props = {"cell_props_n": os.path.join(src, "props", "calendered_n_eps0.30.props.json"),
             "cell_props_p": os.path.join(src, "props", "calendered_p_eps0.30.props.json"),
             "cell_thickness_n_m": "9.128733e-05", "cell_thickness_p_m": "7.181644e-05"}
    fails = 0
    for model in ("spme", "dfn"):
        d = deck(tmp, "props-" + model, model=model, ds=40e-3,
                 experiment="Discharge at 1C until 2.5 V",
                 extra="spiral_cu_sigma_S_m: 1e10\nspiral_al_sigma_S_m: 1e10\n"
                       "tab_contact_ohm_m: 1e-12\n"
                       "spiral_neg_thickness_m: 9.128733e-05\nspiral_pos_thickness_m: 7.181644e-05\n" +
                       "".join(f"{k}: {v}\n" for k, v in GRID.items()) +
                       "".join(f"{k}: {v}\n" for k, v in props.items()))
        s, ts, rows, err = roll_vs_cell(tomocell, launcher, tmp, d, "props-" + model, model,
                                        [a for k, v in props.items() for a in ("-" + k, str(v))])
        m = s["microstructure"]
        rep = ("negative" in m and "positive" in m and
               abs(m["negative"]["porosity"] - 0.30) < 5e-3 and m["negative"]["tau"] > 1 and
               abs(m["negative"]["thickness_m"] - 9.128733e-05) < 1e-12)
        ok = err < 1e-3 and rep
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {model} with cell_props: max |V_net - V_cell| = "
              f"{1e3 * err:.3f} mV (limit 1 mV); summary.json microstructure: negative porosity "
              f"{m.get('negative', {}).get('porosity')}, tau {m.get('negative', {}).get('tau')}")
    # and the props change the result (the test would not notice a roll that ignores them)
    d0 = deck(tmp, "noprops", model="spme", ds=40e-3, experiment="Discharge at 1C until 2.5 V",
              extra="spiral_cu_sigma_S_m: 1e10\nspiral_al_sigma_S_m: 1e10\ntab_contact_ohm_m: 1e-12\n" +
                    "".join(f"{k}: {v}\n" for k, v in GRID.items()))
    out0 = os.path.join(tmp, "noprops")
    run(tomocell, launcher, [d0, "-output", out0], tmp)
    s0, ts0 = load(out0)
    s1, ts1 = load(os.path.join(tmp, "props-spme"))
    tend = 0.9 * min(ts0["time_s"][-1], ts1["time_s"][-1])
    dv = max(abs(v - interp(t, ts0["time_s"], ts0["voltage_V"]))
             for t, v in zip(ts1["time_s"], ts1["voltage_V"]) if t <= tend)
    ok = dv > 5e-3
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} the props move the 1C voltage by up to {1e3 * dv:.1f} mV "
          f"(> 5 mV: a roll ignoring them would fail the comparison above)")
    return fails


def mode_balance(tomocell, launcher, tmp):
    d = deck(tmp, "bal", model="spme", thermal="network", nz=3, ds=10e-3,
             experiment="Discharge at 2C for 10 minutes; Rest for 5 minutes; "
                        "Charge at 1C for 5 minutes")
    out = os.path.join(tmp, "bal")
    run(tomocell, launcher, [d, "-output", out], tmp)
    s, ts = load(out)
    e = s["energy_J"]
    ok1 = s["charge_balance_rel_error"] < 1e-9
    ok2 = s["energy_balance_rel_error"] < 1e-6
    print(f"{'ok  ' if ok1 else 'FAIL'} charge balance (max over steps) {s['charge_balance_rel_error']:.2e} < 1e-9")
    print(f"{'ok  ' if ok2 else 'FAIL'} energy: generated {e['generated']:.3f} J = stored {e['stored']:.3f} "
          f"+ removed {e['removed']:.3f} to {s['energy_balance_rel_error']:.2e} < 1e-6")
    # the heat went somewhere: the roll warmed up and the hottest point is inside
    ok3 = s["T_max_K"] > 298.15 + 1.0
    print(f"{'ok  ' if ok3 else 'FAIL'} T_max {s['T_max_K']:.2f} K above ambient")
    return (not ok1) + (not ok2) + (not ok3)


def mode_hardware(tomocell, launcher, tmp):
    d = deck(tmp, "hw", model="spme", thermal="network", nz=3, ds=10e-3,
             experiment="Discharge at 2C for 10 minutes; Rest for 5 minutes; "
                        "Charge at 1C for 5 minutes",
             extra="thermal_hardware: can\nthermal_emissivity: 0.9\n"
                   "probes: [can_mid, can_positive_end, can_negative_end, core_mid]\n")
    out = os.path.join(tmp, "hw")
    run(tomocell, launcher, [d, "-output", out], tmp)
    s, ts = load(out)
    e, hc = s["energy_J"], s["heat_capacity_J_K"]
    fails = 0

    def check(ok, text):
        nonlocal fails
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {text}")

    check(s["thermal_hardware"] == "can", f"thermal_hardware {s['thermal_hardware']}")
    check(s["charge_balance_rel_error"] < 1e-9,
          f"charge balance (max over steps) {s['charge_balance_rel_error']:.2e} < 1e-9")
    check(s["energy_balance_rel_error"] < 1e-6,
          f"energy: generated {e['generated']:.3f} J = stored {e['stored']:.3f} + removed "
          f"{e['removed']:.3f} to {s['energy_balance_rel_error']:.2e} < 1e-6")
    parts = sum(hc[k] for k in ("roll", "can_wall", "can_bottom", "top_cap", "tabs", "mandrel"))
    check(abs(parts - hc["total"]) < 1e-12 * hc["total"] and hc["can_wall"] > 0 and hc["top_cap"] > 0,
          f"heat capacity {hc['total']:.4f} J/K = roll {hc['roll']:.4f} + can {hc['can_wall']:.4f} + "
          f"bottom {hc['can_bottom']:.4f} + cap {hc['top_cap']:.4f} + tabs {hc['tabs']:.4f}")
    R = 9.0e-3  # the 18650 preset's can: its wall at mid-height; the cap and the bottom on the axis
    for p, r in (("can_mid", R), ("can_positive_end", 0), ("can_negative_end", 0)):
        pr = s["probes"][p]
        check(abs(pr["node_r_m"] - r) < 1e-12 and pr["distance_m"] < 4e-3,
              f"probe {p} reads the can (r {1e3 * pr['node_r_m']:.3f} mm, z {1e3 * pr['node_z_m']:.2f} mm)")
    Tc = max(ts["T_can_mid_K"])
    check(298.15 + 0.1 < Tc < s["T_max_K"],
          f"can mid-height peaks at {Tc:.3f} K: above the ambient, below the roll's T_max {s['T_max_K']:.3f} K")
    # the heat reaches the ends (the tab strips, the end contacts, the wall), which stay
    # cooler than the roll's hottest point
    i = max(range(len(ts["time_s"])), key=lambda k: ts["T_can_mid_K"][k])
    check(298.15 + 0.1 < min(ts["T_can_positive_end_K"][i], ts["T_can_negative_end_K"][i])
          and max(ts["T_can_positive_end_K"][i], ts["T_can_negative_end_K"][i]) < ts["T_max_K"][i],
          f"at the can's peak the cap {ts['T_can_positive_end_K'][i]:.3f} K and the bottom "
          f"{ts['T_can_negative_end_K'][i]:.3f} K: above the ambient, below the roll's "
          f"{ts['T_max_K'][i]:.3f} K")
    # the terminals' leads (a cycler's cables and holder) take heat from the cap and
    # the bottom: the energy books close with them, the ends end cooler, the middle
    # a little
    dl = deck(tmp, "hwlead", model="spme", thermal="network", nz=3, ds=10e-3,
              experiment="Discharge at 2C for 10 minutes; Rest for 5 minutes; "
                         "Charge at 1C for 5 minutes",
              extra="thermal_hardware: can\nthermal_emissivity: 0.9\n"
                    "thermal_lead_positive_W_K: 0.05\nthermal_lead_negative_W_K: 0.05\n"
                    "probes: [can_mid, can_positive_end, can_negative_end, core_mid]\n")
    outl = os.path.join(tmp, "hwlead")
    run(tomocell, launcher, [dl, "-output", outl], tmp)
    sl, tl = load(outl)
    el = sl["energy_J"]
    check(sl["energy_balance_rel_error"] < 1e-6 and el["removed"] > 1.1 * e["removed"],
          f"with 0.05 W/K leads at both terminals: removed {el['removed']:.3f} J (without "
          f"{e['removed']:.3f}), energy closure {sl['energy_balance_rel_error']:.2e} < 1e-6")
    j = max(range(len(tl["time_s"])), key=lambda k: tl["T_can_mid_K"][k])
    drop = {p: (ts[f"T_{p}_K"][i] - 298.15) - (tl[f"T_{p}_K"][j] - 298.15)
            for p in ("can_positive_end", "can_negative_end", "can_mid")}
    check(drop["can_positive_end"] > drop["can_mid"] > 0 and drop["can_negative_end"] > drop["can_mid"],
          f"the leads cool the cap by {drop['can_positive_end']:.3f} K and the bottom by "
          f"{drop['can_negative_end']:.3f} K at the can's peak, the middle less "
          f"({drop['can_mid']:.3f} K)")
    return fails


def mode_order(tomocell, launcher, tmp):
    # backward Euler: the error at a fixed time halves with dt; the observed order from
    # three step sizes, p = log2((V1 - V2) / (V2 - V3)), must lie in [0.8, 1.25]. The
    # coupling tolerance is tightened (default 0.05 K): its error does not shrink with dt
    # and shows at the ~40 uV differences between the three runs
    vs = []
    for dt in (60, 30, 15):
        d = deck(tmp, f"dt{dt}", model="spme", thermal="network",
                 experiment="Discharge at 1C for 30 minutes")
        out = os.path.join(tmp, f"dt{dt}")
        run(tomocell, launcher, [d, "-output", out, "-dt_fixed_s", str(dt), "-thermal_tol_K", "1e-4"], tmp)
        s, ts = load(out)
        vs.append((s["final_voltage_V"], s["T_max_K"]))
    pv = math.log2((vs[0][0] - vs[1][0]) / (vs[1][0] - vs[2][0]))
    pt = math.log2((vs[0][1] - vs[1][1]) / (vs[1][1] - vs[2][1]))
    ok = 0.8 <= pv <= 1.25 and 0.8 <= pt <= 1.25
    print(f"{'ok  ' if ok else 'FAIL'} observed order: voltage {pv:.3f}, T_max {pt:.3f} "
          f"(V: {vs[0][0]:.6f} {vs[1][0]:.6f} {vs[2][0]:.6f})")
    return not ok


def mode_ranks(tomocell, launcher, tmp):
    # identical to solver tolerance: the partition changes the order of sums only
    import h5py
    import numpy as np
    d = deck(tmp, "ranks", model="spme", thermal="network", nz=3, ds=20e-3,
             experiment="Discharge at 1C for 10 minutes")
    res = []
    # direct solves at 1 and 2 ranks; CG + AMG (the default on 2+ ranks) at 1, 2 and 3
    for n, solver in ((1, "direct"), (2, "direct"), (1, "amg"), (2, "amg"), (3, "amg")):
        out = os.path.join(tmp, f"np{n}-{solver}")
        la = launcher[:-1] + [str(n)] if launcher else []
        if n > 1 and not launcher:
            continue
        if launcher:
            # launcher ends with the rank count flag's value; replace it
            la = launcher[:launcher.index("-n") + 1] + [str(n)] + launcher[launcher.index("-n") + 2:]
        run(tomocell, la if n > 1 else [], [d, "-output", out, "-linear_solver", solver], tmp)
        s, _ = load(out)
        with h5py.File(os.path.join(out, "results.h5"), "r") as f:
            T = f["/series/temperature_K"][:]
            phi = f["/series/potential_V"][:]
        res.append((f"{n} ranks {solver}", s, T, phi))
    fails = 0
    n0, s0, T0, p0 = res[0]
    for n, s, T, phi in res[1:]:
        dv = abs(s["final_voltage_V"] - s0["final_voltage_V"])
        dt = abs(s["T_max_K"] - s0["T_max_K"])
        same_shape = T.shape == T0.shape
        dT = float(np.nanmax(np.abs(T - T0))) if same_shape else float("inf")
        dp = float(np.nanmax(np.abs(phi - p0))) if same_shape else float("inf")
        ok = dv < 1e-8 and dt < 1e-6 and dT < 1e-6 and dp < 1e-8 and s["steps"]["accepted"] == s0["steps"]["accepted"]
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {n} vs 1 rank direct: |dV_end| {dv:.1e} V, |dT_max| {dt:.1e} K, "
              f"fields: T {dT:.1e} K, phi {dp:.1e} V, steps {s['steps']['accepted']} vs "
              f"{s0['steps']['accepted']}")
    return fails


def mode_solvers(tomocell, launcher, tmp):
    # a 21700 at 2 mm x 7 layers: 5327 elements, 5474 nodes, above the 5000 of the direct
    # default, so linear_solver: direct takes SuperLU_dist on 2 ranks (the path no smaller
    # test reaches); 3 minutes of 1C
    d = deck(tmp, "solvers", model="spme", thermal="network", ds=2e-3, nz=7,
             experiment="Discharge at 1C for 3 minutes")
    with open(d) as f:
        text = f.read().replace("preset: 18650", "preset: 21700")
    with open(d, "w") as f:
        f.write(text)
    res = {}
    for solver in ("direct", "amg"):
        out = os.path.join(tmp, solver)
        run(tomocell, launcher, [d, "-output", out, "-linear_solver", solver], tmp)
        res[solver], _ = load(out)
    a, b = res["direct"], res["amg"]
    dv = abs(a["final_voltage_V"] - b["final_voltage_V"])
    dt = abs(a["T_max_K"] - b["T_max_K"])
    net = a["network"]
    nodes = (net["cu_nodes_per_layer"] + net["al_nodes_per_layer"]) * net["layers"]
    ok = (nodes > 5000 and dv < 1e-8 and dt < 1e-6 and
          a["steps"]["accepted"] == b["steps"]["accepted"])
    print(f"{'ok  ' if ok else 'FAIL'} {nodes} foil nodes, 2 ranks: direct vs AMG "
          f"|dV_end| {dv:.1e} V, |dT_max| {dt:.1e} K, steps {a['steps']['accepted']} vs "
          f"{b['steps']['accepted']}")
    return not ok


def mode_tabs(tomocell, launcher, tmp):
    fails = 0
    out = {}
    for lay in ("end", "tabless"):
        d = deck(tmp, "tab-" + lay, model="spme", thermal="network", nz=3, ds=10e-3,
                 tab_cu=lay, tab_al=lay, experiment="Discharge at 2C for 15 minutes",
                 extra="tab_contact_ohm_m: 5e-7\n")
        o = os.path.join(tmp, "tab-" + lay)
        run(tomocell, launcher, [d, "-output", o], tmp)
        out[lay] = load(o)
    s1, s0 = out["end"][0], out["tabless"][0]
    ok = s1["current_heterogeneity"] > s0["current_heterogeneity"] and s1["T_max_K"] > s0["T_max_K"]
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} 2C, 15 min: heterogeneity single tab {s1['current_heterogeneity']:.3f} "
          f"> tabless {s0['current_heterogeneity']:.3f}; T_max {s1['T_max_K']:.3f} > {s0['T_max_K']:.3f} K")
    # both tabs at the outer end: the hotspot of the single-tab roll lies in the outer turns
    r1, r0 = s1["hotspot"]["r_m"], s0["hotspot"]["r_m"]
    ok = r1 > r0
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} hotspot radius single tab (tabs at the outer end) {1e3 * r1:.2f} mm "
          f"> tabless {1e3 * r0:.2f} mm")
    # 3C charge at 0 C: plating starts where the local current is highest. DFN elements:
    # the SPMe depletes its electrolyte at 3C (a known SPMe limit) and cannot go on.
    d = deck(tmp, "plating", model="dfn", thermal="network", nz=2, ds=20e-3,
             experiment="Charge at 3C for 5 minutes",
             extra="initial_soc: 0.3\nambient_temperature: 273.15\n")
    o = os.path.join(tmp, "plating")
    run(tomocell, launcher, [d, "-output", o], tmp)
    s, ts = load(o)
    first = next((i for i, a in enumerate(ts["min_anode_potential_V"]) if a < 0), None)
    if first is None:
        print(f"FAIL 3C charge at 0 C: the anode never goes below 0 V (min {s['min_anode_potential_V']:.4f} V)")
        return fails + 1
    i_at = abs(ts["min_anode_i_A_m2"][first])
    i_max = ts["i_max_A_m2"][first]
    ok = i_at >= 0.999 * i_max and s["plating_time_s"] > 0
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} 3C charge at 0 C: below 0 V first at t = {ts['time_s'][first]:.1f} s, "
          f"r = {1e3 * ts['min_anode_r_m'][first]:.2f} mm, where |i| = {i_at:.2f} A/m2 (max {i_max:.2f}); "
          f"plating time {s['plating_time_s']:.1f} s, min {s['min_anode_potential_V']:.4f} V")
    return fails


def mode_bad(tomocell, launcher):
    def cases(tmp):
        good = deck(tmp, "good")
        yield ("foil without a tab", [good, "-tab_al", "positions", "-tab_al_positions_m", "3.0",
                                      "-output", "o1"], ["Al (positive) foil has no tab", "misses every node"], "o1")
        yield ("geometry vs parameter set", [good, "-spiral_pos_thickness_m", "50e-6", "-output", "o2"],
               ["do not match", "positive coating", "spiral_pos_thickness_m"], "o2")
        nc = os.path.join(tmp, "nocontrol.yaml")
        with open(nc, "w") as f:
            f.write(SMALL.format(ds=20e-3, nz=1, tab_cu="end", tab_al="start", model="spm",
                                 thermal="isothermal", experiment="").replace('experiment: ""\n', ""))
            f.write("experiment: \"Sit still\"\n")
        yield ("no terminal control", [nc, "-output", "o3"], ["experiment", "Sit still"], "o3")
        yield ("unknown model", [good, "-model", "p2d", "-output", "o4"], ["model"], "o4")
        yield ("unknown key", [good, "-thermal_k_q_W_mK", "1", "-output", "o5"], ["thermal_k_q_W_mK"], "o5")
        yield ("hardware without the thermal network", [good, "-thermal_hardware", "can", "-output", "o6"],
               ["thermal_hardware", "thermal: network"], "o6")
        yield ("roll larger than the can", [good, "-thermal", "network", "-thermal_hardware", "can",
                                            "-thermal_can_outer_radius_m", "8e-3", "-output", "o7"],
               ["does not fit in the can", "thermal_can_outer_radius_m"], "o7")
        yield ("can too short", [good, "-thermal", "network", "-thermal_hardware", "can",
                                 "-thermal_can_height_m", "50e-3", "-output", "o8"],
               ["does not fit in the can's height", "thermal_can_height_m"], "o8")
        yield ("cell heat capacity below the hardware's",
               [good, "-thermal", "network", "-thermal_hardware", "can",
                "-thermal_cell_heat_capacity_J_K", "2", "-output", "o9"],
               ["thermal_cell_heat_capacity_J_K", "hardware"], "o9")
        yield ("a hardware key without the hardware",
               [good, "-thermal", "network", "-thermal_lead_positive_W_K", "0.1", "-output", "o10"],
               ["thermal_lead_positive_W_K", "needs thermal_hardware: can"], "o10")
    return run_all("run", cases, [tomocell, "1"] + launcher if not launcher else
                   [tomocell, launcher[launcher.index("-n") + 1]] + launcher)


def main():
    mode, tomocell = sys.argv[1], sys.argv[2]
    launcher = sys.argv[3:]
    if mode == "bad":
        return mode_bad(tomocell, launcher)
    with tempfile.TemporaryDirectory() as tmp:
        fails = {"cell": mode_cell, "props": mode_props, "balance": mode_balance, "order": mode_order,
                 "ranks": mode_ranks, "tabs": mode_tabs, "hardware": mode_hardware,
                 "solvers": mode_solvers}[mode](tomocell, launcher, tmp)
    print("FAILED" if fails else "passed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
