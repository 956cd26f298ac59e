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


def run(tomocell, tmp, name, extra, args):
    d = os.path.join(tmp, name + ".yaml")
    with open(d, "w") as f:
        f.write(DECK + extra)
    out = os.path.join(tmp, name)
    r = subprocess.run([tomocell, "run", d, "-output", out] + args, cwd=tmp, capture_output=True,
                       text=True, timeout=900)
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
        fails = {"oven": mode_oven, "short": mode_short, "heater": mode_heater}[mode](tomocell, tmp)
    print("FAILED" if fails else "passed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
