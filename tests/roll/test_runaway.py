"""Thermal runaway in the coupled roll (tomocell run with abuse reactions).

    test_runaway.py MODE TOMOCELL

MODE
  oven    an 18650 at rest in an oven ramping at 5 K/min (Kim et al. 2007
          reactions at every thermal node): 400 K gives no runaway in 3 h (the
          single-node threshold of tomocell abuse is 406-407 K, and the roll
          loses heat through its can); 420, 440 and 460 K all run away, the
          hotter oven sooner; the heat books close (generated = stored +
          removed, 1e-6) through the burst; summary.json carries the runaway
          object (null values without runaway).
  short   a 1 ohm internal short near the core (r = 3 mm) and one near the can
          (r = 7.5 mm): both run away, each starting nearer its own short than
          the other's (and within one node spacing, 20 mm, of it), the core
          short sooner (its heat has farther to go to the can).
  heater  local overheating (inputs/overheat-18650.yaml: 10 W within 3 mm of
          r = 5 mm): runaway, starting within 6 mm of the heater; 0.5 W: none
          in an hour.
  hardware  the 440 K oven with the cell's hardware (thermal_hardware: can) against
          the same run without it, at the ranks given (TOMOCELL [LAUNCHER...]):
          the runaway completes within a step budget (accepted + rejected
          below 4500, at most 1.3 times the run without hardware), the books
          close (1e-6) with the hardware's heat and the reactions' heat in
          them, the hardware's heat capacity is the can wall's, bottom's and
          cap's (analytic, 1e-9) and what the run stored at the end (everything
          at the oven) is C_total x (T_end - T_0) to 0.1 %; the added heat
          capacity makes the runaway later and its peak lower; the thermal LU
          factor (refactored at every abuse Newton iteration) with hardware
          has no more nonzeros than without (10 mm x 3 layers). The run
          without hardware is at one rank.
  bad     bad input: a reaction set with a missing parameter, a short outside
          the roll, abuse without the thermal network: one-line error, exit 1,
          no output.
Coarse networks (ds 20 mm, one layer) keep each mode near a minute.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
from badinput import run_all  # noqa: E402

DECK = """job: roll
preset: 18650
network:
  ds_m: 20e-3
  nz: 1
model: spm
thermal: network
plots: false
abuse: kim2007
output_interval_s: 300
"""


def run(tomocell, tmp, name, extra, args, launcher=()):
    d = os.path.join(tmp, name + ".yaml")
    with open(d, "w") as f:
        f.write(DECK + extra)
    out = os.path.join(tmp, name)
    r = subprocess.run(list(launcher) + [tomocell, "run", d, "-output", out] + args, cwd=tmp,
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        print(r.stdout[-3000:], r.stderr[-3000:])
        raise SystemExit(f"run {name} failed")
    with open(os.path.join(out, "summary.json")) as f:
        return json.load(f)


def mode_oven(tomocell, tmp):
    fails = 0
    res = {}
    for T in (400, 420, 440, 460):
        res[T] = run(tomocell, tmp, f"oven{T}", f'oven_temperature: {T}\nexperiment: "Rest for 3 hours"\n', [])
        ra = res[T]["runaway"]
        print(f"     oven {T} K: onset {ra['onset_time_s']} s at r = {ra['onset_location']['r_m']} m, "
              f"peak {ra['peak_temperature_K']} K; energy closure {res[T]['energy_balance_rel_error']:.2e}")
    ok = res[400]["runaway"]["onset_time_s"] is None and res[400]["runaway"]["peak_temperature_K"] is None
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} 400 K: no runaway in 3 h (T_max {res[400]['T_max_K']:.2f} K), null values")
    on = [res[T]["runaway"]["onset_time_s"] for T in (420, 440, 460)]
    ok = all(o is not None for o in on) and on[0] > on[1] > on[2]
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} hotter oven, sooner runaway: 420/440/460 K at {on} s")
    worst = max(res[T]["energy_balance_rel_error"] for T in res)
    ok = worst < 1e-6
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} energy closure through the runaway: worst {worst:.2e} (limit 1e-6)")
    ok = all(res[T]["runaway"]["peak_temperature_K"] > 800 for T in (420, 440, 460))
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} runaway peaks above 800 K")
    # the propagation front: the node field runaway_onset_s, earliest = the summary's onset
    import h5py
    import numpy as np
    with h5py.File(os.path.join(tmp, "oven440", "results.h5"), "r") as f:
        front = f["/series/runaway_onset_s"][-1] if "/series/runaway_onset_s" in f else np.array([np.nan])
    first = float(np.nanmin(front)) if np.isfinite(front).any() else float("nan")
    ok = abs(first - on[1]) < 1e-6 and np.isfinite(front).sum() > 1
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} /series/runaway_onset_s: earliest {first} s = onset {on[1]} s, "
          f"{int(np.isfinite(front).sum())} of {front.size} nodes reached")
    return fails


def mode_short(tomocell, tmp):
    fails = 0
    res = {}
    pts = {"core": 3e-3, "can": 7.5e-3}
    for name, r in pts.items():
        s = run(tomocell, tmp, "short-" + name,
                f'short_r_m: {r}\nshort_resistance_ohm: 1\nexperiment: "Rest for 10 minutes"\n', [])
        ra = s["runaway"]
        loc = ra["onset_location"]
        d = {}
        if ra["onset_time_s"] is not None:
            x1, y1 = loc["r_m"] * math.cos(loc["theta_rad"]), loc["r_m"] * math.sin(loc["theta_rad"])
            for k, rk in pts.items():  # both shorts at theta 0, mid-height, on the axis' x side
                d[k] = math.hypot(x1 - rk, y1)
        res[name] = (ra["onset_time_s"], d, s)
        other = "can" if name == "core" else "core"
        ok = (ra["onset_time_s"] is not None and d[name] < d[other] and d[name] < 20e-3
              and s["energy_balance_rel_error"] < 1e-6)
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} short near the {name} (r {1e3 * r:.1f} mm): runaway at "
              f"{ra['onset_time_s']:.1f} s at r = {1e3 * loc['r_m']:.2f} mm, {1e3 * d.get(name, float('nan')):.2f} mm "
              f"from it ({1e3 * d.get(other, float('nan')):.2f} mm from the other); short heat "
              f"{s['short']['joule_heat_J']:.1f} J; energy closure {s['energy_balance_rel_error']:.2e}")
    ok = res["core"][0] is not None and res["can"][0] is not None and res["core"][0] < res["can"][0]
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} the core short runs away sooner ({res['core'][0]} s) than the can "
          f"short ({res['can'][0]} s)")
    return fails


def mode_heater(tomocell, tmp):
    fails = 0
    base = ('network:\n  ds_m: 10e-3\n  nz: 3\nheater_r_m: 5e-3\nheater_radius_m: 3e-3\n'
            'experiment: "Rest for 1 hour"\n')
    hot = run(tomocell, tmp, "heat10", base.replace("network:\n  ds_m: 10e-3\n  nz: 3\n", ""),
              ["-network_ds_m", "10e-3", "-network_nz", "3", "-heater_power_W", "10"])
    ra = hot["runaway"]
    d = None
    if ra["onset_time_s"] is not None:
        loc = ra["onset_location"]
        d = math.hypot(loc["r_m"] * math.cos(loc["theta_rad"]) - 5e-3, loc["r_m"] * math.sin(loc["theta_rad"]))
    ok = d is not None and d < 6e-3 and hot["energy_balance_rel_error"] < 1e-6
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} 10 W heater: runaway at {ra['onset_time_s']} s, "
          f"{1e3 * d if d is not None else float('nan'):.2f} mm from the heater; energy closure "
          f"{hot['energy_balance_rel_error']:.2e}")
    cool = run(tomocell, tmp, "heat05", base.replace("network:\n  ds_m: 10e-3\n  nz: 3\n", ""),
               ["-network_ds_m", "10e-3", "-network_nz", "3", "-heater_power_W", "0.5"])
    ok = cool["runaway"]["onset_time_s"] is None
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} 0.5 W heater: no runaway in an hour (T_max {cool['T_max_K']:.2f} K)")
    return fails


def mode_hardware(tomocell, tmp, launcher):
    fails = 0

    def check(ok, text):
        nonlocal fails
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {text}")

    # the thermal factorisation (with abuse: one per Newton iteration): the hardware's dense
    # rows must not fill it in (nested dissection did: 33,184 nonzeros against 13,752
    # without the hardware on this 10 mm x 3-layer 18650)
    nnz = {}
    for hw in ("none", "can"):
        d = os.path.join(tmp, f"fill-{hw}.yaml")
        with open(d, "w") as f:
            f.write(DECK + f'oven_temperature: 440\nexperiment: "Rest for 60 seconds"\nthermal_hardware: {hw}\n')
        r = subprocess.run(list(launcher) + [tomocell, "run", d, "-output", os.path.join(tmp, f"fill-{hw}"),
                                             "-network_ds_m", "10e-3", "-network_nz", "3", "-thermal_ksp_view"],
                           cwd=tmp, capture_output=True, text=True, timeout=900)
        vals = [int(x.split("nonzeros=")[1].split(",")[0]) for x in r.stdout.splitlines()
                if "total: nonzeros=" in x]
        nnz[hw] = max(vals) if r.returncode == 0 and vals else -1
    check(0 < nnz["can"] <= nnz["none"],
          f"thermal LU factor with hardware {nnz['can']} nonzeros, without {nnz['none']} (10 mm x 3 layers)")
    oven = 'oven_temperature: 440\nexperiment: "Rest for 3 hours"\n'
    res = {}
    for hw in ("none", "can"):
        # without the hardware at one rank: the reference (the rank count moves it by rounding)
        res[hw] = run(tomocell, tmp, "oven-" + hw, oven + f"thermal_hardware: {hw}\n", [],
                      launcher if hw == "can" else ())
    s0, s1 = res["none"], res["can"]
    n0 = s0["steps"]["accepted"] + s0["steps"]["rejected"]
    n1 = s1["steps"]["accepted"] + s1["steps"]["rejected"]
    print(f"     ranks {s1['ranks']}: without hardware {s0['steps']['accepted']} steps "
          f"({s0['steps']['rejected']} rejected), {s0['timing_s']['stepping']:.1f} s; with "
          f"{s1['steps']['accepted']} ({s1['steps']['rejected']} rejected), "
          f"{s1['timing_s']['stepping']:.1f} s")
    check(s1["thermal_hardware"] == "can" and s1["final_time_s"] == 10800 and n1 < 4500
          and n1 <= 1.3 * n0,
          f"the runaway with hardware completes the 3 h in {n1} steps (accepted + rejected; "
          f"budget 4500 and 1.3 x the {n0} without hardware)")
    e = s1["energy_J"]
    check(s1["energy_balance_rel_error"] < 1e-6
          and abs(e["generated"] - e["stored"] - e["removed"]) < 1e-6 * e["generated"]
          and s1["runaway"]["abuse_heat_J"] > 0.9 * s0["runaway"]["abuse_heat_J"],
          f"books with hardware: generated {e['generated']:.2f} J (reactions "
          f"{s1['runaway']['abuse_heat_J']:.2f} J) = stored {e['stored']:.2f} + removed "
          f"{e['removed']:.2f} to {s1['energy_balance_rel_error']:.2e} < 1e-6")
    hc, hc0 = s1["heat_capacity_J_K"], s0["heat_capacity_J_K"]
    # the 18650 preset's can (docs/run.md): R_o 9 mm, wall 0.2 mm over 65 mm, bottom 0.3 mm,
    # steel 3.69e6 J/(m3 K); the cap assembly 0.9 J/K
    wall = 3.69e6 * math.pi * (9.0e-3 ** 2 - 8.8e-3 ** 2) * 65e-3
    bottom = 3.69e6 * math.pi * 9.0e-3 ** 2 * 0.3e-3
    parts = sum(hc[k] for k in ("roll", "can_wall", "can_bottom", "top_cap", "tabs", "mandrel"))
    check(abs(hc["can_wall"] - wall) < 1e-9 * wall and abs(hc["can_bottom"] - bottom) < 1e-9 * bottom
          and abs(hc["top_cap"] - 0.9) < 1e-12 and 0 < hc["tabs"] < 0.1 and hc["mandrel"] == 0
          and abs(parts - hc["total"]) < 1e-12 * hc["total"] and abs(hc["roll"] - hc0["roll"]) < 1e-12 * hc0["roll"],
          f"heat capacity {hc['total']:.4f} J/K: roll {hc['roll']:.4f} (as without) + wall "
          f"{hc['can_wall']:.4f} (analytic {wall:.4f}) + bottom {hc['can_bottom']:.4f} "
          f"({bottom:.4f}) + cap {hc['top_cap']:.4f} + tabs {hc['tabs']:.4f}")
    # at the end every node sits at the oven: the stored heat is the whole cell's
    for name, s in (("without", s0), ("with", s1)):
        want = s["heat_capacity_J_K"]["total"] * (s["T_mean_final_K"] - 298.15)
        check(abs(s["energy_J"]["stored"] - want) < 1e-3 * want,
              f"stored {name} hardware {s['energy_J']['stored']:.2f} J = C {s['heat_capacity_J_K']['total']:.4f}"
              f" J/K x ({s['T_mean_final_K']:.3f} - 298.15) K = {want:.2f} J to 0.1 %")
    r0, r1 = s0["runaway"], s1["runaway"]
    check(r0["onset_time_s"] is not None and r1["onset_time_s"] is not None
          and r1["onset_time_s"] > r0["onset_time_s"]
          and 800 < r1["peak_temperature_K"] < r0["peak_temperature_K"],
          f"the hardware's heat capacity: onset {r1['onset_time_s']} s (without {r0['onset_time_s']} s), "
          f"peak {r1['peak_temperature_K']:.1f} K (without {r0['peak_temperature_K']:.1f} K, both above 800 K)")
    return fails


def mode_bad(tomocell):
    def cases(tmp):
        good = os.path.join(tmp, "good.yaml")
        with open(good, "w") as f:
            f.write(DECK + 'experiment: "Rest for 10 minutes"\n')
        src = os.path.join(HERE, "..", "..", "inputs", "params", "abuse_kim2007.json")
        with open(src) as f:
            js = json.load(f)
        # drop one parameter from the first reaction that has an activation energy
        def drop(o):
            if isinstance(o, dict):
                for k in list(o):
                    if "activation" in k.lower() or k.lower().startswith("ea"):
                        del o[k]
                        return True
                    if drop(o[k]):
                        return True
            return False
        drop(js)
        broken = os.path.join(tmp, "broken.json")
        with open(broken, "w") as f:
            json.dump(js, f)
        yield ("reaction set with a missing parameter", [good, "-abuse", broken, "-output", "o1"],
               ["broken.json"], "o1")
        yield ("short outside the roll", [good, "-short_r_m", "0.05", "-output", "o2"],
               ["short", "outside the roll"], "o2")
        yield ("abuse without the thermal network", [good, "-thermal", "isothermal", "-output", "o3"],
               ["thermal network"], "o3")
        yield ("heater outside the roll", [good, "-heater_r_m", "0.05", "-output", "o5"],
               ["heater", "outside the roll"], "o5")
        yield ("unknown abuse set", [good, "-abuse", "nosuchset", "-output", "o4"], ["nosuchset"], "o4")
    return run_all("run", cases, [tomocell])


def main():
    mode, tomocell = sys.argv[1], sys.argv[2]
    if mode == "bad":
        return mode_bad(tomocell)
    with tempfile.TemporaryDirectory() as tmp:
        if mode == "hardware":
            fails = mode_hardware(tomocell, tmp, sys.argv[3:])
        else:
            fails = {"oven": mode_oven, "short": mode_short, "heater": mode_heater}[mode](tomocell, tmp)
    print("FAILED" if fails else "passed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
