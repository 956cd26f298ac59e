#!/usr/bin/python3
"""tomocell fit recovers known parameters from a synthetic measurement made by
tomocell itself, with seeded noise.

    test_fit.py recover TOMOCELL
    test_fit.py np2 TOMOCELL MPIEXEC ARGS...      (the same fit at 1 and 2 ranks)
    test_fit.py roll TOMOCELL [MPIEXEC ARGS...]   (h of a small roll from a probe)
    test_fit.py joint TOMOCELL | joint_np2 TOMOCELL MPIEXEC ARGS... | roll_joint TOMOCELL [MPIEXEC ARGS...]

recover: `tomocell cell` (Chen2020, SPMe, lumped thermal, fixed 10 s steps,
1C from full to 3.0 V) is the truth; its voltage plus N(0, 2 mV) and its
temperature (in degrees C, as a thermocouple log) plus N(0, 0.1 K) are the
measurement. Three parameters are fitted from a start off by +1 % (window),
x2 (rate) and +40 % (h): the negative electrode's maximum stoichiometry, a
factor on the positive reaction rate constant and the lumped h. For 16 noise
seeds:
  * every fit converges; RMSE after the fit is the noise (2 mV +- 15 %,
    0.1 K +- 15 %: 339 points give the RMS to ~4 %), before it > 3x that;
  * the estimated sigma (weighted) is 1 +- 10 % (678 residuals: +-3 % is 1 sd);
  * the truth is within 2 standard errors in >= 85 % of the 48 cases (95 %
    expected; 85 % is 2.6 binomial sd below);
  * the standard errors are plausible: the scatter (sd) of the 16 fitted
    values of each parameter is 0.55 to 1.6 times the mean reported standard
    error (16 samples give the sd to +-18 %, 1 sd; the bounds are ~3 sd);
  * seed 1 as a cycler log (preamble, units row, other steps; -fit_rows
    Step=13,Status=DCH) gives the same fit bit for bit;
  * seed 1 with -fit_tao_type pounders and bqnls: the same values within
    0.2 standard errors (each stops within 0.05 se of the minimum);
  * seed 1: fit_deck.yaml run by `tomocell cell` reproduces the fitted curve
    of fit_residuals.csv to 1e-6 V, fit_params.json holds the fitted values,
    fit.png exists when matplotlib is there.
np2: the fit of seed 1 at 2 ranks (the Jacobian's runs shared out) gives the
same values, standard errors and residual file as at 1 rank, bit for bit
(each run is serial and deterministic; the gathering adds zeros).
unrunnable: a measurement the model cannot reproduce (Chen2020 with the
negative window's top at 0.99, from full, 1C, shifted 50 mV down: the offset
of a real cell's open-circuit curves) fitted by the four window ends from a
rest voltage of 4.15 V within wide bounds ([0, 0.1], [0.85, 1], [0.7, 1],
[0.15, 0.35]); the line search tries points where the model cannot run
(initial stoichiometry 1, or an electrode full before the cut-off), at which
TAO also asks for the gradient. The fit must go on past them (they score the
penalty, their Jacobian is zero), not stop with an error: it exits 0, counts
>= 1 failed model run, converges, ends at a point where the model runs (its
fit_deck.yaml reruns to the fitted curve within 1e-6 V) and takes the RMSE
from 54 mV to below 15 mV (12.5 mV: a window cannot remove all of a constant
offset).
roll: a roll (18650 preset, 20 mm nodes, SPM, fixed 10 s steps, 2C for 10 min
and 10 min rest) with h = 10 W/m2K is the truth for the voltage + N(0, 1 mV)
and the can-mid probe + N(0, 0.05 K); h (a deck key) and a factor on the
positive rate constant (a set field: the runs read a rewritten set) fitted
from 20 and 2: within 2 standard errors of 10 and 1, RMSE after the noise
+- 20 % (the step change to the rest, t = 600 s twice, matched row by row),
the fit states the setting it used, the fitted deck reruns to the fitted
curve.
roll_unrunnable: a roll (the 18650 at 20 mm, SPM, 20 s steps, 1C from a rest
voltage of 4.15 V) against Chen2020 with the negative window's top at 0.99,
shifted 50 mV down, fitted by a factor on the positive rate constant from 1
within [0.005, 5]: the offset pulls the factor down, the first Gauss-Newton
step lands below ~0.0112, where the roll cannot start the discharge (no
solution at t = 0). The fit must go on past such points as for the cell
(exit 0, >= 1 failed model run, converged at a factor the roll runs with,
RMSE lower than at the start, the fitted deck runs); it stopped with the
roll's error before. At 1 or 2 ranks (the launcher).
joint: two discharges made by `tomocell cell` (Chen2020, SPMe, lumped thermal)
at two rates and two ambients -- C/10 at 0 C (60 s steps, from full) and 1C at
40 C (10 s steps, from a rest voltage of 4.1 V) -- with N(0, 2 mV) on the
voltage (seeds 1 and 2). Fitted: a factor on the positive rate constant and its
activation energy (truth 1 and 17800 J/mol; start 2 and 30000 in [0.2, 5] and
[5000, 40000]). At one temperature only their product matters (the lumped
self-heating separates them weakly), so each discharge alone barely
determines them: C/10 alone leaves the activation energy undetermined (at a
bound, or a standard error beyond its bound range), 1C alone gives standard
errors > 4x (energy) and > 3x (factor) the joint fit's; the joint fit (the
datasets of a fit: section) converges with both within 2 standard errors of
the truth and each dataset's RMSE after the fit the noise (2 mV +- 15 %). The
same datasets given on the command line (-fit_datasets_<name>_<key>) give the
same fit bit for bit; one dataset given as a dataset gives the fit of its
own deck and -measured bit for bit; fit_residuals.csv has a dataset column
and every row; fit.json lists the datasets; fit_deck.yaml keeps the deck's
own experiment and names the datasets; `tomocell cell` runs the joint deck
(its datasets not used, one line says so); fit.png is written (one row of panels
per dataset) when matplotlib is there.
joint_np2: the joint fit at 2 ranks is the fit at 1 rank, bit for bit.
roll_joint: the roll of `roll` with two datasets -- its 2C discharge and rest at
25 C, and 10 minutes of 1C at 10 C from a rest voltage of 4.0 V (seeds 3, 4) --
fitted jointly for h and the rate factor: converged, within 2 standard errors
of 10 and 1, each dataset's RMSE after the noise +- 20 %, the fitted deck with
the deck's own experiment, no work files left. At 1 or 2 ranks (the launcher).
"""
import csv
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHEN = os.path.join(HERE, "..", "..", "inputs", "params", "chen2020.json")

DECK = """params: chen2020
model: spme
thermal: lumped
initial_soc: 1
experiment: "Discharge at 1C until 3.0 V"
cell_dt_fixed_s: 10
"""
PARAMS = "neg_sto_max:0.85:0.95:0.92,pos_k_factor:0.2:5:2,h_W_m2K:5:20:14"
FITARGS = ["-fit_time_column", "t", "-fit_voltage_column", "V", "-fit_temperature_columns",
           "temperature_K=TC1", "-fit_temperature_unit", "C", "-fit_sigma_V", "2e-3",
           "-fit_sigma_K", "0.1", "-fit_params", PARAMS]


def run(cmd, cwd, timeout=600):
    for attempt in range(3):
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        # Open MPI's own start-up failing under machine load (its banner, not a
        # tomocell message: "orte_init failed", "MPI_INIT failed") is retried, as in
        # test_experiment_corpus.py; it says nothing about the fit
        if r.returncode == 0 or "tomocell:" in r.stderr or not (
                "orte_init failed" in r.stderr or "MPI_INIT failed" in r.stderr):
            break
        print(f"note: attempt {attempt + 1}: MPI start-up failed, retrying")
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit(f"FAIL: {' '.join(cmd)} exited {r.returncode}")
    return r


def noisy(src, dst, seed, tcol, sV, sT, celsius):
    rng = random.Random(seed)
    rows = list(csv.DictReader(open(src)))
    with open(dst, "w") as f:
        f.write("t,I,V,TC1\n")
        for r in rows:
            T = float(r[tcol]) - (273.15 if celsius else 0)
            f.write("%s,%s,%.7f,%.5f\n" % (r["time_s"], r["current_A"],
                                           float(r["voltage_V"]) + rng.gauss(0, sV),
                                           T + rng.gauss(0, sT)))


def truth_values():
    with open(CHEN) as f:
        p = json.load(f)["Parameterisation"]
    return [p["Negative electrode"]["Maximum stoichiometry"], 1.0,
            p["Cell"]["Heat transfer coefficient [W.m-2.K-1]"]]


def fit(tomocell, tmp, seed, out, launcher=()):
    meas = os.path.join(tmp, f"meas{seed}.csv")
    if not os.path.exists(meas):
        noisy(os.path.join(tmp, "truth.csv"), meas, seed, "temperature_K", 2e-3, 0.1, True)
    r = run(list(launcher) + [tomocell, "fit", "cell.yaml", "-measured", meas, "-output", out]
            + FITARGS + (["-fit_plots", "false"] if seed != 1 else []), tmp)
    with open(os.path.join(tmp, out, "fit.json")) as f:
        return json.load(f), r.stdout


def recover(tomocell):
    fails = []
    truth = truth_values()
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "cell.yaml"), "w") as f:
            f.write(DECK)
        run([tomocell, "cell", "cell.yaml", "-output", "truth.csv"], tmp)
        xs, ses, within, total = [[] for _ in truth], [[] for _ in truth], 0, 0
        for seed in range(1, 17):
            js, out = fit(tomocell, tmp, seed, f"fit{seed}")
            if seed == 1:
                print(out)
            if not js["converged"]:
                fails.append(f"seed {seed}: not converged ({js['converged_reason']})")
            ch = {c["model_column"]: c for c in js["channels"]}
            v, T = ch["voltage_V"], ch["temperature_K"]
            if not (1.7e-3 <= v["rmse_after"] <= 2.3e-3 and 0.085 <= T["rmse_after"] <= 0.115):
                fails.append(f"seed {seed}: RMSE after {v['rmse_after']:.3e} V, {T['rmse_after']:.3f} K "
                             "is not the noise (2 mV, 0.1 K)")
            if not (v["rmse_before"] > 3 * v["rmse_after"] and T["rmse_before"] > 3 * T["rmse_after"]):
                fails.append(f"seed {seed}: RMSE before {v['rmse_before']:.3e} V, {T['rmse_before']:.3f} K "
                             "is not > 3x after")
            if abs(js["sigma_weighted"] - 1) > 0.1:
                fails.append(f"seed {seed}: sigma {js['sigma_weighted']:.3f}, expected 1 +- 0.1")
            for k, p in enumerate(js["parameters"]):
                xs[k].append(p["value"])
                ses[k].append(p["standard_error"])
                total += 1
                within += abs(p["value"] - truth[k]) <= 2 * p["standard_error"]
                if seed == 1 and abs(p["value"] - truth[k]) > 2 * p["standard_error"]:
                    fails.append(f"seed 1: {p['name']} = {p['value']:.6g} +- {p['standard_error']:.2g} "
                                 f"is not within 2 se of the truth {truth[k]:.6g}")
        print(f"truth within 2 se: {within}/{total}")
        if within < 0.85 * total:
            fails.append(f"truth within 2 se in {within} of {total} cases (< 85 %)")
        for k, name in enumerate(["neg_sto_max", "pos_k_factor", "h_W_m2K"]):
            sd, se = statistics.stdev(xs[k]), statistics.mean(ses[k])
            print(f"{name}: truth {truth[k]:.6g}, mean fit {statistics.mean(xs[k]):.6g}, "
                  f"scatter {sd:.3g}, mean se {se:.3g}, ratio {sd / se:.2f}")
            if not 0.55 <= sd / se <= 1.6:
                fails.append(f"{name}: scatter {sd:.3g} over 16 seeds against a mean standard error "
                             f"{se:.3g} (ratio {sd / se:.2f}, expected 0.55 to 1.6)")
        # the same measurement as a cycler log: a preamble, a units row, two steps
        # (the fit selects one with -fit_rows): the same fit, bit for bit
        with open(os.path.join(tmp, "meas1.csv")) as f:
            lines = f.read().splitlines()
        with open(os.path.join(tmp, "log.csv"), "w") as f:
            f.write("Measurement ID,6310\nBattery Name,synthetic\n\n")
            f.write("Step,Status," + lines[0] + "\n[],[],[s],[A],[V],[C]\n")
            f.write("5,PAU,0,0,4.2,25\n5,PAU,60,0,4.2,25\n")
            for l in lines[1:]:
                f.write("13,DCH," + l + "\n")
            f.write("14,PAU,0,0,3.1,30\n")
        r = run([tomocell, "fit", "cell.yaml", "-measured", "log.csv", "-output", "fitlog",
                 "-fit_rows", "Step=13,Status=DCH", "-fit_plots", "false"] + FITARGS, tmp)
        a = json.load(open(os.path.join(tmp, "fit1", "fit.json")))["parameters"]
        b = json.load(open(os.path.join(tmp, "fitlog", "fit.json")))["parameters"]
        if [(p["value"], p["standard_error"]) for p in a] != [(p["value"], p["standard_error"]) for p in b]:
            fails.append("the cycler-log form of the measurement (-fit_rows) gives another fit")
        # other TAO types through the fit_ prefix: the same minimum (a fraction of a
        # standard error: each stops within fit_step_tol 0.05 se of it)
        for tao in ("pounders", "bqnls"):
            run([tomocell, "fit", "cell.yaml", "-measured", "meas1.csv", "-output", "fit_" + tao,
                 "-fit_tao_type", tao, "-fit_plots", "false"] + FITARGS, tmp)
            c = json.load(open(os.path.join(tmp, "fit_" + tao, "fit.json")))
            if c["tao_type"] != tao or not c["converged"]:
                fails.append(f"-fit_tao_type {tao}: ran {c['tao_type']}, converged {c['converged']}")
            for p, q in zip(a, c["parameters"]):
                if abs(p["value"] - q["value"]) > 0.2 * p["standard_error"]:
                    fails.append(f"-fit_tao_type {tao}: {q['name']} {q['value']:.6g}, brgn {p['value']:.6g} "
                                 f"(se {p['standard_error']:.2g})")
        # seed 1's outputs: the fitted deck reproduces the fitted curve
        d = os.path.join(tmp, "fit1")
        run([tomocell, "cell", os.path.join(d, "fit_deck.yaml"), "-output", "refit.csv"], tmp)
        rows = list(csv.DictReader(open(os.path.join(tmp, "refit.csv"))))
        fitted = list(csv.DictReader(open(os.path.join(d, "fit_residuals.csv"))))
        t = [float(r["time_s"]) for r in rows]
        V = [float(r["voltage_V"]) for r in rows]
        worst = 0
        for r in fitted:
            x = float(r["time_s"])
            if x > t[-1]:
                continue
            i = max(j for j in range(len(t)) if t[j] <= x)
            y = V[i] if t[i] == x else V[i] + (V[i + 1] - V[i]) * (x - t[i]) / (t[i + 1] - t[i])
            worst = max(worst, abs(y - float(r["voltage_V_fit"])))
        print(f"fit_deck.yaml rerun against the fitted curve: {worst:.2e} V")
        if worst > 1e-6:
            fails.append(f"fit_deck.yaml rerun differs from the fitted curve by {worst:.2e} V")
        with open(os.path.join(d, "fit_params.json")) as f:
            P = json.load(f)["Parameterisation"]
        js = json.load(open(os.path.join(d, "fit.json")))
        with open(CHEN) as f:
            k0 = json.load(f)["Parameterisation"]["Positive electrode"]["Reaction rate constant [mol.m-2.s-1]"]
        got = [P["Negative electrode"]["Maximum stoichiometry"],
               P["Positive electrode"]["Reaction rate constant [mol.m-2.s-1]"] / k0,
               P["Cell"]["Heat transfer coefficient [W.m-2.K-1]"]]
        for g, p in zip(got, js["parameters"]):
            if abs(g - p["value"]) > 1e-12 * abs(p["value"]):
                fails.append(f"fit_params.json: {p['name']} {g!r}, fit.json {p['value']!r}")
        try:
            import matplotlib  # noqa: F401
            if not os.path.exists(os.path.join(d, "fit.png")):
                fails.append("fit.png missing although matplotlib is there")
        except ImportError:
            pass
    return fails


def same_fit(a, b, tmp, key):
    """Fits a (1 rank, in tmp/one) and b (2 ranks, in tmp/two) bit for bit:
    values, standard errors, model runs, fit.json[key], fit_residuals.csv."""
    fails = []
    if b["ranks"] != 2:
        fails.append(f"fit.json ranks {b['ranks']}, expected 2")
    for p, q in zip(a["parameters"], b["parameters"]):
        print(f"{p['name']}: 1 rank {p['value']!r} +- {p['standard_error']!r}; "
              f"2 ranks {q['value']!r} +- {q['standard_error']!r}")
        if p["value"] != q["value"] or p["standard_error"] != q["standard_error"]:
            fails.append(f"{p['name']}: 2 ranks differ from 1 rank")
    if a["model_runs"] != b["model_runs"] or a[key] != b[key]:
        fails.append(f"2 ranks took other model runs or gave other {key}")
    ra = open(os.path.join(tmp, "one", "fit_residuals.csv")).read()
    rb = open(os.path.join(tmp, "two", "fit_residuals.csv")).read()
    if ra != rb:
        fails.append("fit_residuals.csv differs between 1 and 2 ranks")
    return fails


def np2(tomocell, launcher):
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "cell.yaml"), "w") as f:
            f.write(DECK)
        run([tomocell, "cell", "cell.yaml", "-output", "truth.csv"], tmp)
        a, _ = fit(tomocell, tmp, 2, "one")
        b, out = fit(tomocell, tmp, 2, "two", launcher)
        print(out)
        fails += same_fit(a, b, tmp, "iterations")
    return fails


ROLL = """job: roll
preset: 18650
network:
  ds_m: 20e-3
  nz: 3
model: spm
thermal: network
thermal_h_can_W_m2K: 10
thermal_h_end_W_m2K: 10
dt_fixed_s: 10
plots: false
experiment: "Discharge at 2C for 10 minutes; Rest for 10 minutes"
probes: [can_mid]
"""


def roll_noise(ch, who):
    """The roll fits' channels after the fit: the noise (1 mV, 0.05 K) +- 20 %."""
    fails = []
    if not 0.8e-3 <= ch["voltage_V"]["rmse_after"] <= 1.2e-3:
        fails.append(f"{who}voltage RMSE after {ch['voltage_V']['rmse_after']:.3e} V, expected the "
                     "noise 1 mV +- 20 %")
    if not 0.04 <= ch["T_can_mid_K"]["rmse_after"] <= 0.06:
        fails.append(f"{who}probe RMSE after {ch['T_can_mid_K']['rmse_after']:.4f} K, expected the "
                     "noise 0.05 K +- 20 %")
    return fails


def roll(tomocell, launcher):
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "roll.yaml"), "w") as f:
            f.write(ROLL)
        run(list(launcher) + [tomocell, "run", "roll.yaml", "-output", "truth"], tmp)
        noisy(os.path.join(tmp, "truth", "summary.csv"), os.path.join(tmp, "meas.csv"), 3,
              "T_can_mid_K", 1e-3, 0.05, False)
        r = run(list(launcher) + [tomocell, "fit", "roll.yaml", "-measured", "meas.csv", "-output",
                                  "fit", "-fit_time_column", "t", "-fit_voltage_column", "V",
                                  "-fit_temperature_columns", "T_can_mid_K=TC1", "-fit_sigma_K",
                                  "0.05", "-fit_params", "thermal_h_can_W_m2K:3:30:20,pos_k_factor:0.2:5:2",
                                  "-fit_plots", "false"], tmp)
        print(r.stdout)
        js = json.load(open(os.path.join(tmp, "fit", "fit.json")))
        for p, truth in zip(js["parameters"], (10, 1)):
            if abs(p["value"] - truth) > 2 * p["standard_error"]:
                fails.append(f"{p['name']} = {p['value']:.5g} +- {p['standard_error']:.2g} is not "
                             f"within 2 se of {truth}")
        # the rest after the discharge: the model lists t = 600 s twice (end of the
        # discharge, start of the rest) and so does the measurement; each row takes
        # its own (else one 170 mV residual)
        ch = {c["model_column"]: c for c in js["channels"]}
        fails += roll_noise(ch, "")
        p = js["parameters"][0]
        if "full tomocell run" not in js["model_setting"] or "roll runs:" not in r.stdout:
            fails.append("the fit does not state the roll setting it used")
        if js["roll_run"]["elements"] != 177 or js["roll_run"]["time_steps"] != 120:
            fails.append(f"roll_run {js['roll_run']}: expected 177 elements (the 18650 at 20 mm, 3 "
                         "layers) and 120 fixed 10 s steps")
        deck = open(os.path.join(tmp, "fit", "fit_deck.yaml")).read()
        if f'thermal_h_can_W_m2K: "{p["value"]!r}"' not in deck and "thermal_h_can_W_m2K:" not in deck:
            fails.append("fit_deck.yaml lacks the fitted h")
        if 'plots: "false"' not in deck:
            fails.append("fit_deck.yaml: the deck's plots key was not restored")
        left = [f for f in os.listdir(os.path.join(tmp, "fit")) if f.startswith(".fit")]
        if left:
            fails.append(f"work files left: {left}")
        # the fitted deck runs and gives the fitted probe curve
        run(list(launcher) + [tomocell, "run", os.path.join("fit", "fit_deck.yaml"), "-output",
                              "refit"], tmp)
        a = list(csv.DictReader(open(os.path.join(tmp, "refit", "summary.csv"))))
        b = list(csv.DictReader(open(os.path.join(tmp, "fit", "fit_residuals.csv"))))
        worst = max(abs(float(x["T_can_mid_K"]) - float(y["T_can_mid_K_fit"])) for x, y in zip(a, b))
        print(f"fit_deck.yaml rerun against the fitted probe curve: {worst:.2e} K")
        if worst > 1e-6:
            fails.append(f"fit_deck.yaml rerun differs from the fitted curve by {worst:.2e} K")
    return fails


def write_set099(tmp):
    """Chen2020 with the negative window's top at 0.99, as tmp/set099.json."""
    with open(CHEN) as f:
        s = json.load(f)
    s["Parameterisation"]["Negative electrode"]["Maximum stoichiometry"] = 0.99
    with open(os.path.join(tmp, "set099.json"), "w") as f:
        json.dump(s, f)


def set_temperature(tomocell):
    """A set whose initial temperature (BPX State) differs from its ambient,
    and a deck that gives neither: the fit's model starts where tomocell cell
    starts (it used to start at the ambient: 10 K off at t = 0)."""
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        with open(CHEN) as f:
            s = json.load(f)
        s["Parameterisation"]["Cell"]["Initial temperature [K]"] = 308.15
        with open(os.path.join(tmp, "set308.json"), "w") as f:
            json.dump(s, f)
        with open(os.path.join(tmp, "cell.yaml"), "w") as f:
            f.write(DECK.replace("params: chen2020", "params: set308.json"))
        run([tomocell, "cell", "cell.yaml", "-output", "truth.csv"], tmp)
        rows = list(csv.DictReader(open(os.path.join(tmp, "truth.csv"))))
        T0 = float(rows[0]["temperature_K"])
        if abs(T0 - 308.15) > 1e-9:
            fails.append(f"tomocell cell starts at {T0} K, not the set's 308.15 K")
        noisy(os.path.join(tmp, "truth.csv"), os.path.join(tmp, "meas.csv"), 5, "temperature_K",
              2e-3, 0.1, False)
        truth_h = s["Parameterisation"]["Cell"]["Heat transfer coefficient [W.m-2.K-1]"]
        run([tomocell, "fit", "cell.yaml", "-measured", "meas.csv", "-output", "fitT",
             "-fit_time_column", "t", "-fit_voltage_column", "V", "-fit_temperature_columns",
             "temperature_K=TC1", "-fit_sigma_V", "2e-3", "-fit_sigma_K", "0.1",
             "-fit_params", "h_W_m2K:5:20", "-fit_plots", "false"], tmp)
        with open(os.path.join(tmp, "fitT", "fit.json")) as f:
            js = json.load(f)
        ch = {c["model_column"]: c for c in js["channels"]}
        before = ch["temperature_K"]["rmse_before"]
        h = js["parameters"][0]
        print(f"set at 308.15 K, deck without temperatures: RMSE before {before:.4f} K "
              f"(noise 0.1 K); h {h['value']:.5g} +- {h['standard_error']:.2g} (truth {truth_h})")
        if not 0.085 <= before <= 0.115:
            fails.append(f"temperature RMSE at the start {before:.3f} K: the fit's model does not "
                         "start at the set's initial temperature (the noise is 0.1 K)")
        if abs(h["value"] - truth_h) > 3 * h["standard_error"]:
            fails.append(f"h {h['value']} +- {h['standard_error']} is not the truth {truth_h}")
    return fails


def unrunnable(tomocell):
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        write_set099(tmp)
        deck = DECK.replace("model: spme\nthermal: lumped", "model: spme\nthermal: isothermal")
        with open(os.path.join(tmp, "cell.yaml"), "w") as f:
            f.write(deck)
        run([tomocell, "cell", "cell.yaml", "-params", "set099.json", "-output", "truth.csv"], tmp)
        with open(os.path.join(tmp, "meas.csv"), "w") as f:
            f.write("t,V\n")
            for r in csv.DictReader(open(os.path.join(tmp, "truth.csv"))):
                f.write("%s,%.7f\n" % (r["time_s"], float(r["voltage_V"]) - 0.05))
        r = run([tomocell, "fit", "cell.yaml", "-initial_soc", "4.15 V", "-measured", "meas.csv",
                 "-output", "fit", "-fit_time_column", "t", "-fit_voltage_column", "V",
                 "-fit_params", "neg_sto_min:0:0.1,neg_sto_max:0.85:1,pos_sto_max:0.7:1,"
                 "pos_sto_min:0.15:0.35", "-fit_plots", "false"], tmp)
        print(r.stdout)
        js = json.load(open(os.path.join(tmp, "fit", "fit.json")))
        ch = js["channels"][0]
        if js["failed_model_runs"] < 1:
            fails.append("no failed model run: the test no longer crosses where the model cannot run")
        if not js["converged"]:
            fails.append(f"not converged ({js['converged_reason']})")
        if not (ch["rmse_before"] > 0.05 and ch["rmse_after"] < 0.015):
            fails.append(f"RMSE {ch['rmse_before']:.4g} -> {ch['rmse_after']:.4g} V, expected > 0.05 "
                         "-> < 0.015")
        run([tomocell, "cell", os.path.join("fit", "fit_deck.yaml"), "-output", "refit.csv"], tmp)
        a = list(csv.DictReader(open(os.path.join(tmp, "refit.csv"))))
        b = list(csv.DictReader(open(os.path.join(tmp, "fit", "fit_residuals.csv"))))
        ta = [float(x["time_s"]) for x in a]
        worst = 0.0
        for y in b:  # the fitted curve at the measured times; past the model's end its last value
            t, k = float(y["time_s"]), 0
            while k + 1 < len(ta) and ta[k + 1] < t:
                k += 1
            if k + 1 < len(ta):
                w = (t - ta[k]) / (ta[k + 1] - ta[k])
                v = (1 - w) * float(a[k]["voltage_V"]) + w * float(a[k + 1]["voltage_V"])
            else:
                v = float(a[-1]["voltage_V"])
            worst = max(worst, abs(v - float(y["voltage_V_fit"])))
        print(f"fit_deck.yaml rerun against the fitted curve: {worst:.2e} V")
        if worst > 1e-6:
            fails.append(f"fit_deck.yaml rerun differs from the fitted curve by {worst:.2e} V")
    return fails


ROLL_UNRUNNABLE = """job: roll
preset: 18650
network:
  ds_m: 20e-3
  nz: 3
model: spm
thermal: network
dt_fixed_s: 20
plots: false
initial_soc: "4.15 V"
experiment: "Discharge at 1C until 3.0 V"
"""


def roll_unrunnable(tomocell, launcher):
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        write_set099(tmp)
        with open(os.path.join(tmp, "roll.yaml"), "w") as f:
            f.write(ROLL_UNRUNNABLE)
        run(list(launcher) + [tomocell, "run", "roll.yaml", "-params", "set099.json", "-output",
                              "truth"], tmp)
        with open(os.path.join(tmp, "meas.csv"), "w") as f:
            f.write("t,V\n")
            for r in csv.DictReader(open(os.path.join(tmp, "truth", "summary.csv"))):
                f.write("%s,%.7f\n" % (r["time_s"], float(r["voltage_V"]) - 0.05))
        r = run(list(launcher) + [tomocell, "fit", "roll.yaml", "-measured", "meas.csv", "-output",
                                  "fit", "-fit_time_column", "t", "-fit_voltage_column", "V",
                                  "-fit_params", "pos_k_factor:0.005:5:1", "-fit_plots", "false"],
                tmp)
        print(r.stdout)
        js = json.load(open(os.path.join(tmp, "fit", "fit.json")))
        ch, p = js["channels"][0], js["parameters"][0]
        if js["failed_model_runs"] < 1:
            fails.append("no failed roll run: the test no longer crosses where the roll cannot run")
        if not js["converged"]:
            fails.append(f"not converged ({js['converged_reason']})")
        if not 0.0112 < p["value"] < 1:
            fails.append(f"fitted pos_k_factor {p['value']:.4g}: expected between the roll's limit "
                         "~0.0112 and the start 1")
        if not ch["rmse_after"] < ch["rmse_before"] - 1e-3:
            fails.append(f"RMSE {ch['rmse_before']:.4g} -> {ch['rmse_after']:.4g} V: no better")
        run(list(launcher) + [tomocell, "run", os.path.join("fit", "fit_deck.yaml"), "-output",
                              "refit"], tmp)
    return fails

JOINT_BASE = """params: chen2020
model: spme
thermal: lumped
initial_soc: 1
cell_dt_fixed_s: 10
"""
# name, experiment, ambient, initial_soc, fixed step, noise seed
JOINT_SETS = [("c10", "Discharge at C/10 until 3.0 V", 273.15, "1", 60, 1),
              ("c1", "Discharge at 1C until 3.0 V", 313.15, "4.1 V", 10, 2)]
JOINT_PARAMS = "pos_k_factor:0.2:5:2,pos_Ea_k:5000:40000:30000"
JOINT_TRUTH = (1.0, 17800.0)
JOINT_ARGS = ["-fit_time_column", "t", "-fit_voltage_column", "V", "-fit_sigma_V", "2e-3",
              "-fit_params", JOINT_PARAMS]


def joint_setup(tomocell, tmp):
    """The truths and noisy measurements; the single decks; the joint deck."""
    for name, expt, amb, soc, dt, seed in JOINT_SETS:
        with open(os.path.join(tmp, name + ".yaml"), "w") as f:
            f.write(JOINT_BASE.replace("cell_dt_fixed_s: 10", f"cell_dt_fixed_s: {dt}")
                    .replace("initial_soc: 1", f'initial_soc: "{soc}"')
                    + f'experiment: "{expt}"\nambient_temperature: {amb}\n')
        run([tomocell, "cell", name + ".yaml", "-output", name + "_truth.csv"], tmp)
        rng = random.Random(seed)
        with open(os.path.join(tmp, name + ".csv"), "w") as f:
            f.write("t,V\n")
            for r in csv.DictReader(open(os.path.join(tmp, name + "_truth.csv"))):
                f.write("%s,%.7f\n" % (r["time_s"], float(r["voltage_V"]) + rng.gauss(0, 2e-3)))
    with open(os.path.join(tmp, "joint.yaml"), "w") as f:
        f.write(JOINT_BASE + 'experiment: "Discharge at 1C until 3.0 V"\nfit:\n  datasets:\n')
        for name, expt, amb, soc, dt, seed in JOINT_SETS:
            f.write(f'    {name}:\n      measured: {name}.csv\n      experiment: "{expt}"\n'
                    f'      ambient_temperature: {amb}\n      initial_soc: "{soc}"\n')
    # the joint deck's cell_dt_fixed_s is 10 s for both (the C/10 single deck's 60 s is
    # the truth's: the model's steps need not be the measurement's)


def joint_fit(tomocell, tmp, deck, out, extra=(), launcher=(), plots=False):
    r = run(list(launcher) + [tomocell, "fit", deck, "-output", out] + JOINT_ARGS + list(extra)
            + ([] if plots else ["-fit_plots", "false"]), tmp)
    with open(os.path.join(tmp, out, "fit.json")) as f:
        return json.load(f), r.stdout


def joint(tomocell):
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        joint_setup(tomocell, tmp)
        single = {}
        for name, *_ in JOINT_SETS:
            js, out = joint_fit(tomocell, tmp, name + ".yaml", "fit_" + name,
                                ["-measured", name + ".csv"])
            single[name] = js
            print(out)
        js, out = joint_fit(tomocell, tmp, "joint.yaml", "fit_joint", plots=True)
        print(out)
        try:
            import matplotlib  # noqa: F401
            if not os.path.exists(os.path.join(tmp, "fit_joint", "fit.png")):
                fails.append("fit.png of the joint fit missing although matplotlib is there")
        except ImportError:
            pass
        jp = js["parameters"]
        for name in single:
            p = single[name]["parameters"]
            print(f"{name} alone: " + ", ".join(
                f"{q['name']} {q['value']:.6g} +- {q['standard_error']} (at bound {q['at_bound']})"
                for q in p))
        print("joint: " + ", ".join(f"{q['name']} {q['value']:.6g} +- {q['standard_error']:.3g}"
                                    for q in jp))
        if not js["converged"]:
            fails.append(f"joint fit not converged ({js['converged_reason']})")
        for q, truth in zip(jp, JOINT_TRUTH):
            if not (q["standard_error"] and abs(q["value"] - truth) <= 2 * q["standard_error"]):
                fails.append(f"joint: {q['name']} = {q['value']:.6g} +- {q['standard_error']} is "
                             f"not within 2 se of the truth {truth}")
        ea = single["c10"]["parameters"][1]
        if not (ea["at_bound"] or not ea["determined"]):
            fails.append(f"C/10 alone determines pos_Ea_k ({ea['value']:.6g} +- "
                         f"{ea['standard_error']}): the test no longer needs both datasets")
        p1 = single["c1"]["parameters"]
        for k, factor in ((0, 3), (1, 4)):
            if not (p1[k]["standard_error"] and p1[k]["standard_error"] > factor * jp[k]["standard_error"]):
                fails.append(f"1C alone: {p1[k]['name']} +- {p1[k]['standard_error']}, not > "
                             f"{factor}x the joint {jp[k]['standard_error']:.3g}")
        ds = {d["name"]: d for d in js["datasets"]}
        if sorted(ds) != ["c1", "c10"] or js["measured"] != "c10.csv,c1.csv":
            fails.append(f"fit.json datasets {sorted(ds)}, measured {js['measured']!r}")
        for name, d in ds.items():
            rm = d["channels"][0]
            print(f"{name}: {d['points']} points, RMSE {rm['rmse_before'] * 1e3:.4g} -> "
                  f"{rm['rmse_after'] * 1e3:.4g} mV")
            if not 1.7e-3 <= rm["rmse_after"] <= 2.3e-3:
                fails.append(f"{name}: RMSE after {rm['rmse_after']:.3e} V is not the noise 2 mV")
            if d["points"] != single[name]["channels"][0]["points"]:
                fails.append(f"{name}: {d['points']} points, alone {single[name]['channels'][0]['points']}")
        if js["residuals"] != sum(d["points"] for d in ds.values()):
            fails.append(f"residuals {js['residuals']}: not the datasets' points")
        rows = list(csv.DictReader(open(os.path.join(tmp, "fit_joint", "fit_residuals.csv"))))
        if [r["dataset"] for r in rows] != ["c10"] * ds["c10"]["points"] + ["c1"] * ds["c1"]["points"]:
            fails.append("fit_residuals.csv: not one row per measured row with its dataset")
        deck = open(os.path.join(tmp, "fit_joint", "fit_deck.yaml")).read()
        if 'experiment: "Discharge at 1C until 3.0 V"' not in deck or "# dataset c10: c10.csv" not in deck \
                or "ambient_temperature:" in deck.split("# Every key")[1]:
            fails.append("fit_deck.yaml: not the deck's own keys with the datasets named")
        # tomocell cell takes the deck of a joint fit and leaves its datasets alone
        r = run([tomocell, "cell", "joint.yaml", "-output", "cellrun.csv"], tmp)
        if "fit_datasets_*" not in r.stdout:
            fails.append("tomocell cell on the joint deck does not name the fit keys it leaves")
        # the same datasets on the command line: the same fit
        cl = []
        for name, expt, amb, soc, dt, seed in JOINT_SETS:
            cl += [f"-fit_datasets_{name}_measured", name + ".csv", f"-fit_datasets_{name}_experiment",
                   expt, f"-fit_datasets_{name}_ambient_temperature", str(amb),
                   f"-fit_datasets_{name}_initial_soc", soc]
        with open(os.path.join(tmp, "base.yaml"), "w") as f:
            f.write(JOINT_BASE + 'experiment: "Discharge at 1C until 3.0 V"\n')
        b, _ = joint_fit(tomocell, tmp, "base.yaml", "fit_cl", cl)
        if [(q["value"], q["standard_error"]) for q in b["parameters"]] != \
                [(q["value"], q["standard_error"]) for q in jp]:
            fails.append("the datasets on the command line give another fit than in the deck")
        # one dataset as a dataset: the single fit of its own deck, bit for bit
        name, expt, amb, soc, dt, seed = JOINT_SETS[1]
        one, _ = joint_fit(tomocell, tmp, "base.yaml", "fit_one", cl[8:])
        if [(q["value"], q["standard_error"]) for q in one["parameters"]] != \
                [(q["value"], q["standard_error"]) for q in single[name]["parameters"]]:
            fails.append("one dataset as a dataset gives another fit than -measured with its deck")
    return fails


def joint_np2(tomocell, launcher):
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        joint_setup(tomocell, tmp)
        a, _ = joint_fit(tomocell, tmp, "joint.yaml", "one")
        b, out = joint_fit(tomocell, tmp, "joint.yaml", "two", launcher=launcher)
        print(out)
        fails += same_fit(a, b, tmp, "datasets")
    return fails


ROLL_SETS = [("a", "Discharge at 2C for 10 minutes; Rest for 10 minutes", 298.15, "1", 3),
             ("b", "Discharge at 1C for 10 minutes", 283.15, "4.0 V", 4)]


def roll_joint(tomocell, launcher):
    """The roll of `roll` with two datasets: its 2C discharge and rest at 25 C, and
    10 minutes of 1C at 10 C from a rest voltage of 4.0 V."""
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "roll.yaml"), "w") as f:
            f.write(ROLL + "fit:\n  datasets:\n")
            for name, expt, amb, soc, seed in ROLL_SETS:
                f.write(f'    {name}: {{measured: {name}.csv, experiment: "{expt}", '
                        f'ambient_temperature: {amb}, initial_soc: "{soc}"}}\n')
        for name, expt, amb, soc, seed in ROLL_SETS:
            run(list(launcher) + [tomocell, "run", "roll.yaml", "-output", "truth_" + name,
                                  "-experiment", expt, "-ambient_temperature", str(amb),
                                  "-initial_soc", soc], tmp)
            noisy(os.path.join(tmp, "truth_" + name, "summary.csv"),
                  os.path.join(tmp, name + ".csv"), seed, "T_can_mid_K", 1e-3, 0.05, False)
        r = run(list(launcher) + [tomocell, "fit", "roll.yaml", "-output", "fit",
                                  "-fit_time_column", "t", "-fit_voltage_column", "V",
                                  "-fit_temperature_columns", "T_can_mid_K=TC1", "-fit_sigma_K",
                                  "0.05", "-fit_params",
                                  "thermal_h_can_W_m2K:3:30:20,pos_k_factor:0.2:5:2",
                                  "-fit_plots", "false"], tmp)
        print(r.stdout)
        js = json.load(open(os.path.join(tmp, "fit", "fit.json")))
        if not js["converged"]:
            fails.append(f"not converged ({js['converged_reason']})")
        for p, truth in zip(js["parameters"], (10, 1)):
            if abs(p["value"] - truth) > 2 * p["standard_error"]:
                fails.append(f"{p['name']} = {p['value']:.5g} +- {p['standard_error']:.2g} is not "
                             f"within 2 se of {truth}")
        for d in js["datasets"]:
            ch = {c["model_column"]: c for c in d["channels"]}
            print(f"{d['name']}: {d['points']} points, RMSE {ch['voltage_V']['rmse_before'] * 1e3:.4g}"
                  f" -> {ch['voltage_V']['rmse_after'] * 1e3:.4g} mV, "
                  f"{ch['T_can_mid_K']['rmse_before']:.4g} -> {ch['T_can_mid_K']['rmse_after']:.4g} K")
            fails += roll_noise(ch, f"{d['name']}: ")
        if [d["name"] for d in js["datasets"]] != ["a", "b"]:
            fails.append(f"datasets {[d['name'] for d in js['datasets']]}, expected a, b")
        deck = open(os.path.join(tmp, "fit", "fit_deck.yaml")).read()
        if 'experiment: "Discharge at 2C for 10 minutes; Rest for 10 minutes"' not in deck \
                or "initial_soc:" in deck.split("# Every key")[1] or 'plots: "false"' not in deck:
            fails.append("fit_deck.yaml: not the deck's own keys")
        left = [f for f in os.listdir(os.path.join(tmp, "fit")) if f.startswith(".fit")]
        if left:
            fails.append(f"work files left: {left}")
    return fails


def main():
    mode, tomocell = sys.argv[1], sys.argv[2]
    launcher = sys.argv[3:]
    fails = {"recover": lambda: recover(tomocell), "np2": lambda: np2(tomocell, launcher),
             "roll": lambda: roll(tomocell, launcher),
             "unrunnable": lambda: unrunnable(tomocell),
             "set_temperature": lambda: set_temperature(tomocell),
             "roll_unrunnable": lambda: roll_unrunnable(tomocell, launcher),
             "joint": lambda: joint(tomocell), "joint_np2": lambda: joint_np2(tomocell, launcher),
             "roll_joint": lambda: roll_joint(tomocell, launcher)}[mode]()
    for f in fails:
        print("FAIL:", f)
    print("PASS" if not fails else f"{len(fails)} failure(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
