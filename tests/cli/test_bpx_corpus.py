#!/usr/bin/python3
"""BPX files as others write them (issue 19, item 3): each loads, or is refused
with the reason.

usage: test_bpx_corpus.py TOMOCELL

The files are written here, from the BPX schema (FaradayInstitution/BPX,
bpx/schema.py: Header "Model", the State section of BPX 1.x, the SPM form of
the electrodes, blended electrodes as a "Particle" map, the OCP hysteresis
branches and BPX 0.4's user-defined hysteresis), starting from tomocell's own
Chen2020 set (inputs/params/chen2020.json, a BPX 0.4 file). A set that loads
must give the same discharge as the equivalent tomocell set (the same numbers
written the 0.x way, run with the same options): every row of the CSV equal
(identical parameters give identical bits; 1e-12 V is allowed).

Cases:
  state        BPX 1.x: "State" -> "Initial conditions" (SOC 0.8, temperature,
               electrolyte concentration) and "Thermal environment" (ambient, h); no
               "Electrolyte" -> "Initial concentration" (the issue's refusal)
  state_noce   the same without the electrolyte concentration (optional in BPX
               1.1.1): 1000 mol/m3 with a note
  state_T      initial 290 K in a 300 K ambient, h 20 from the State ("Thermal
               state", the 1.1.0 draft's name), lumped
  spm_only     Header Model "SPM", no Electrolyte or Separator, electrodes without
               porosity/transport efficiency/conductivity: loads for SPM, refused
               for SPMe and DFN with the reason
  blend1       a "Particle" map with one material: loads as that material
  blended      two materials: refused ("blended electrode ... not modelled")
  hysteresis   "OCP (lithiation) [V]" / "(delithiation)" in an electrode: refused
  ud_hyst      BPX 0.4 user-defined "Negative electrode delithiation OCP [V]": refused
  limits       lower cut-off 2.7 V: the default discharge (tomocell cell and tomocell
               run) and a timed one end at 2.7 V; a step "until 2.5 V" is refused
               (below the set's limit)
  no_state     neither State nor initial concentrations: SOC 1 (PyBaMM's BPX
               default target_soc = 1), with a note
  degraded     State "Degradation" LLI 0.1: refused; all zero: loads
  bad_model    Header Model "P2D": refused
"""
import copy
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

TC = os.path.abspath(sys.argv[1])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE = json.load(open(os.path.join(ROOT, "inputs", "params", "chen2020.json")))
fails = 0


def check(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    fails += 0 if ok else 1


tmp = tempfile.mkdtemp(prefix="tc-bpx-")


def write(name, d):
    path = os.path.join(tmp, name + ".json")
    with open(path, "w") as f:
        json.dump(d, f, indent=1)
    return path


def run(params, args, out):
    path = os.path.join(tmp, out + ".csv")
    for p in (path, path[:-4] + ".json"):
        if os.path.exists(p):
            os.remove(p)
    r = subprocess.run([TC, "cell", "-params", params, "-output", path] + args,
                       capture_output=True, text=True, timeout=600, cwd=tmp)
    rows = list(csv.DictReader(open(path))) if r.returncode == 0 else []
    js = json.load(open(path[:-4] + ".json")) if r.returncode == 0 else {}
    return r, rows, js


def same(a, b):
    """every row and column equal (1e-12 relative allowed)"""
    if not a or len(a) != len(b):
        return False, "rows %d vs %d" % (len(a), len(b))
    worst = 0.0
    for x, y in zip(a, b):
        for k in x:
            u, v = float(x[k]), float(y[k])
            worst = max(worst, abs(u - v) / max(1.0, abs(v)))
    return worst <= 1e-12, "%d rows, worst relative difference %.1e" % (len(a), worst)


def v1(d, soc=0.8, T0=298.15, Tamb=298.15, h=10.0, thermal="Thermal environment"):
    """BPX 1.x: temperatures, h and the electrolyte's initial concentration in State"""
    d = copy.deepcopy(d)
    d["Header"]["BPX"] = "1.1.0"
    par = d["Parameterisation"]
    cell = par["Cell"]
    for k in ("Initial temperature [K]", "Ambient temperature [K]", "Heat transfer coefficient [W.m-2.K-1]"):
        cell.pop(k, None)
    ce0 = par["Electrolyte"].pop("Initial concentration [mol.m-3]")
    ud = par["User-defined"]
    ud.pop("Initial concentration in negative electrode [mol.m-3]")
    ud.pop("Initial concentration in positive electrode [mol.m-3]")
    d["State"] = {
        "Initial conditions": {
            "Initial state-of-charge": soc,
            "Initial temperature [K]": T0,
            "Initial electrolyte concentration [mol.m-3]": ce0,
            "Initial hysteresis state: Positive electrode": 0,
            "Initial hysteresis state: Negative electrode": 0,
        },
        thermal: {"Ambient temperature [K]": Tamb, "Heat transfer coefficient [W.m-2.K-1]": h},
    }
    return d


def refused(params, args, words, what):
    out = os.path.join(tmp, "x.csv")
    r, _, _ = run(params, args, "x")
    err = r.stderr.strip()
    check(r.returncode == 1 and all(w in err for w in words) and err.startswith("tomocell: error:")
          and err.count("\n") <= 3 and "PETSC ERROR" not in err and not os.path.exists(out),
          "%s: refused: %s" % (what, err[:220]))


chen = os.path.join(ROOT, "inputs", "params", "chen2020.json")
try:
    # --- state: BPX 1.x with State
    st = write("state", v1(BASE, soc=0.8))
    r1, a, _ = run(st, ["-experiment", "Discharge at 1C until 2.5 V"], "a")
    r2, b, _ = run(chen, ["-initial_soc", "0.8", "-experiment", "Discharge at 1C until 2.5 V"], "b")
    ok, how = same(a, b)
    check(r1.returncode == 0 and r2.returncode == 0 and ok and "initial SOC 0.8 from the set's" in r1.stdout,
          "state: BPX 1.x with State (SOC 0.8) = chen2020 -initial_soc 0.8, DFN 1C: %s %s" % (how, r1.stderr.strip()[:150]))
    # --- state_T: initial and ambient temperature and h from the State
    st2 = write("state_T", v1(BASE, soc=0.5, T0=290.0, Tamb=300.0, h=20.0, thermal="Thermal state"))
    eq = copy.deepcopy(BASE)
    eq["Parameterisation"]["Cell"]["Heat transfer coefficient [W.m-2.K-1]"] = 20.0
    eqp = write("state_T_equiv", eq)
    args = ["-model", "spm", "-thermal", "lumped", "-experiment", "Discharge at 1C for 10 minutes; Rest for 20 minutes"]
    r1, a, _ = run(st2, args, "a")
    r2, b, _ = run(eqp, args + ["-initial_soc", "0.5", "-initial_temperature", "290", "-ambient_temperature", "300"], "b")
    ok, how = same(a, b)
    check(r1.returncode == 0 and r2.returncode == 0 and ok and a and abs(float(a[0]["temperature_K"]) - 290) < 1e-9,
          "state_T: initial 290 K, ambient 300 K, h 20 from the State = the 0.x set with the same values: %s" % how)
    # --- BPX 1.1.1: every State value optional; no electrolyte concentration: 1 M with a note
    nc = v1(BASE, soc=0.8)
    del nc["State"]["Initial conditions"]["Initial electrolyte concentration [mol.m-3]"]
    r1, a, _ = run(write("state_noce", nc), ["-experiment", "Discharge at 1C until 2.5 V"], "a")
    r2, b, _ = run(chen, ["-initial_soc", "0.8", "-experiment", "Discharge at 1C until 2.5 V"], "b")
    ok, how = same(a, b)
    check(r1.returncode == 0 and ok and "note: no initial electrolyte concentration" in r1.stdout,
          "state without the electrolyte concentration (BPX 1.1.1: optional): 1000 mol/m3 with a note = chen2020: %s" % how)
    # tomocell run takes the State's temperatures too
    small_T = os.path.join(tmp, "small_T.yaml")
    with open(small_T, "w") as f:
        f.write("job: roll\npreset: 18650\nnetwork:\n  ds_m: 20e-3\n  nz: 1\nmodel: spm\n"
                "thermal: isothermal\nplots: false\nparams: %s\nexperiment: Rest for 1 minute\n" % st2)
    rr = subprocess.run([TC, "run", small_T, "-output", os.path.join(tmp, "rollT")], capture_output=True,
                        text=True, timeout=600, cwd=tmp)
    rows = list(csv.DictReader(open(os.path.join(tmp, "rollT", "summary.csv")))) if rr.returncode == 0 else []
    check(rr.returncode == 0 and rows and abs(float(rows[0]["T_mean_K"]) - 290) < 1e-9
          and abs(float(rows[0]["T_amb_K"]) - 300) < 1e-9,
          "state_T in tomocell run: starts at the State's 290 K in its 300 K ambient (%s, %s)" %
          (rows[0]["T_mean_K"] if rows else None, rows[0]["T_amb_K"] if rows else None))
    # --- spm_only
    spm = copy.deepcopy(v1(BASE, soc=0.7))
    spm["Header"]["Model"] = "SPM"
    par = spm["Parameterisation"]
    del par["Electrolyte"], par["Separator"]
    for e in ("Negative electrode", "Positive electrode"):
        for k in ("Porosity", "Transport efficiency", "Conductivity [S.m-1]"):
            del par[e][k]
    sp = write("spm_only", spm)
    r1, a, _ = run(sp, ["-model", "spm", "-experiment", "Discharge at 2C until 2.5 V"], "a")
    r2, b, _ = run(chen, ["-model", "spm", "-initial_soc", "0.7", "-experiment", "Discharge at 2C until 2.5 V"], "b")
    ok, how = same(a, b)
    check(r1.returncode == 0 and ok, "spm_only: loads for SPM, = chen2020 SPM: %s %s" % (how, r1.stderr.strip()[:150]))
    for m in ("dfn", "spme"):
        refused(sp, ["-model", m], ["SPM-only BPX set", "-model spm"], "spm_only with %s" % m)
    # --- blended electrodes
    bl1 = copy.deepcopy(BASE)
    ne = bl1["Parameterisation"]["Negative electrode"]
    part = {k: ne.pop(k) for k in list(ne) if k not in ("Thickness [m]", "Porosity", "Transport efficiency",
                                                          "Conductivity [S.m-1]")}
    ne["Particle"] = {"Primary": part}
    p1 = write("blend1", bl1)
    r1, a, _ = run(p1, ["-model", "spm", "-experiment", "Discharge at 1C until 2.5 V"], "a")
    r2, b, _ = run(chen, ["-model", "spm", "-experiment", "Discharge at 1C until 2.5 V"], "b")
    ok, how = same(a, b)
    check(r1.returncode == 0 and ok, "blend1: a one-material \"Particle\" map = the single material: %s" % how)
    bl2 = copy.deepcopy(bl1)
    sec = copy.deepcopy(part)
    sec["Maximum concentration [mol.m-3]"] = 278000.0
    bl2["Parameterisation"]["Negative electrode"]["Particle"]["Secondary"] = sec
    refused(write("blended", bl2), ["-model", "spm"], ["blended electrode", "2 materials", "Primary", "Secondary",
                                                        "not modelled"], "blended")
    # --- hysteresis, current schema and BPX 0.4 user-defined
    hy = copy.deepcopy(BASE)
    ocp = hy["Parameterisation"]["Negative electrode"]["OCP [V]"]
    hy["Parameterisation"]["Negative electrode"]["OCP (lithiation) [V]"] = ocp
    hy["Parameterisation"]["Negative electrode"]["OCP (delithiation) [V]"] = ocp
    refused(write("hysteresis", hy), [], ["OCP (lithiation) [V]", "hysteresis is not modelled"], "hysteresis")
    ud = copy.deepcopy(BASE)
    ud["Parameterisation"]["User-defined"]["Negative electrode delithiation OCP [V]"] = {"x": [0, 0.5, 1], "y": [1.0, 0.2, 0.05]}
    ud["Parameterisation"]["User-defined"]["Negative electrode lithiation OCP [V]"] = {"x": [0, 0.5, 1], "y": [0.9, 0.15, 0.04]}
    refused(write("ud_hyst", ud), [], ["User-defined", "lithiation OCP [V]", "user-defined OCP hysteresis is not modelled"],
            "ud_hyst")
    # --- limits: a 2.7 V lower cut-off
    lim = copy.deepcopy(BASE)
    lim["Parameterisation"]["Cell"]["Lower voltage cut-off [V]"] = 2.7
    lp = write("limits", lim)
    r, rows, js = run(lp, ["-model", "spm"], "a")
    check(r.returncode == 0 and rows and abs(float(rows[-1]["voltage_V"]) - 2.7) < 1e-6 and js["termination"] == "completed",
          "limits: the default discharge ends at the set's 2.7 V (%s V)" % (rows[-1]["voltage_V"] if rows else None))
    r, rows, js = run(lp, ["-model", "spm", "-experiment", "Discharge at 1C for 2 hours"], "a")
    check(r.returncode == 0 and rows and abs(float(rows[-1]["voltage_V"]) - 2.7) < 1e-6
          and "lower voltage cut-off 2.7 V" in js.get("termination", ""),
          "limits: a timed discharge stops at 2.7 V (%s V, %s)" % (rows[-1]["voltage_V"] if rows else None, js.get("termination")))
    # tomocell run: its default discharge ends at the set's lower cut-off too
    small = os.path.join(tmp, "small.yaml")
    with open(small, "w") as f:
        f.write("job: roll\npreset: 18650\nnetwork:\n  ds_m: 20e-3\n  nz: 1\nmodel: spm\n"
                "thermal: isothermal\nplots: false\nparams: %s\n" % lp)
    rr = subprocess.run([TC, "run", small, "-output", os.path.join(tmp, "roll")], capture_output=True, text=True,
                        timeout=600, cwd=tmp)
    fv = json.load(open(os.path.join(tmp, "roll", "summary.json"))).get("final_voltage_V") if rr.returncode == 0 else None
    check(rr.returncode == 0 and fv is not None and abs(fv - 2.7) < 1e-6 and "until 2.7 V" in rr.stdout,
          "limits: tomocell run's default discharge ends at the set's 2.7 V (%s V) %s" % (fv, rr.stderr.strip()[:150]))
    refused(lp, ["-model", "spm", "-experiment", "Discharge at 1C until 2.5 V"],
            ["cut-off 2.5 V can never be reached", "below the set's lower voltage cut-off 2.7 V"], "limits: until 2.5 V")
    # --- no initial state at all: SOC 1 as PyBaMM's BPX reader
    ns = copy.deepcopy(BASE)
    ns["Parameterisation"]["User-defined"].pop("Initial concentration in negative electrode [mol.m-3]")
    ns["Parameterisation"]["User-defined"].pop("Initial concentration in positive electrode [mol.m-3]")
    r1, a, _ = run(write("no_state", ns), ["-model", "spm", "-experiment", "Discharge at 1C for 20 minutes"], "a")
    r2, b, _ = run(chen, ["-model", "spm", "-initial_soc", "1", "-experiment", "Discharge at 1C for 20 minutes"], "b")
    ok, how = same(a, b)
    check(r1.returncode == 0 and ok and "initial SOC 1: the set gives no initial state" in r1.stdout,
          "no_state: SOC 1 (PyBaMM's target_soc default) with a note: %s %s" % (how, r1.stderr.strip()[:150]))
    # --- degradation
    dg = v1(BASE)
    dg["State"]["Degradation"] = {"LLI": 0.1, "LAM: Positive electrode": 0, "LAM: Negative electrode": 0}
    refused(write("degraded", dg), ["-model", "spm"], ["Degradation", "LLI", "not modelled"], "degraded")
    dg["State"]["Degradation"]["LLI"] = 0
    r, rows, _ = run(write("fresh", dg), ["-model", "spm", "-experiment", "Rest for 1 minute"], "a")
    check(r.returncode == 0 and rows, "degradation all 0 (a fresh cell): loads")
    bm = copy.deepcopy(BASE)
    bm["Header"]["Model"] = "P2D"
    refused(write("bad_model", bm), [], ["\"Header\" -> \"Model\"", "\"SPM\", \"SPMe\", \"DFN\" or \"Partial\""], "bad_model")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print("%d failure(s)" % fails)
sys.exit(1 if fails else 0)
