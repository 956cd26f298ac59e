#!/usr/bin/python3
"""`tomocell cell -cell_props_*`: the multiscale link from tortuosity props.json.

usage: test_cell_props.py TOMOCELL [link|bad]

link:
  * Bruggeman round trip: props files with the set's porosities and
    tau = eps^-0.5 (so eps/tau = eps^1.5, the set's transport efficiency) for
    the negative electrode, separator and positive electrode reproduce the
    default 2C DFN discharge. The two runs differ only by the rounding of
    eps^1.5 (1e-16) and of a = 3 eps_s / R, so every summary number must agree
    to 1e-9 relative (a step-acceptance decision flipping would show as ~1e-4).
  * a larger tau (1.5x Bruggeman in both electrodes) lowers the 2C capacity
    (less electrolyte transport, earlier cut-off) by more than 1 %;
  * -cell_props_direction x takes directions.x.tau;
  * a props file with another porosity reports the change and keeps the
    solid composition (active fraction scales with 1 - eps); with the
    thickness scaled at fixed loading the C/5 capacity is unchanged within
    0.5 % (it is set by the loading; the tolerance covers the rate loss at C/5);
  * -cell_props_active_label 1 takes the active fraction from the file's
    label_fractions (a 3-phase volume); at fixed loading the same C/5 check.
bad: bad props input gives exit status 1, a message naming the file and the
  key, and no output file.
"""
import json
import os
import subprocess
import sys
import tempfile

tomocell = sys.argv[1]
mode = sys.argv[2] if len(sys.argv) > 2 else "link"
fail = []
SET = {"n": 0.25, "s": 0.47, "p": 0.335}  # Chen2020 porosities (inputs/params/chen2020.json)


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        fail.append(msg)


def props(path, eps, taus, **extra):
    d = {"command": "tortuosity", "volume_fraction": eps, "directions": {}}
    for k, t in taus.items():
        d["directions"][k] = {"percolates": t is not None, "tau": t,
                              "relative_diffusivity": None if t is None else eps / t}
    d.update(extra)
    with open(path, "w") as f:
        json.dump(d, f)
    return path


def cell(tmp, name, args):
    out = os.path.join(tmp, name, "cell.csv")
    r = subprocess.run([tomocell, "cell", "-model", "dfn", "-output", out] + args,
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise SystemExit(f"cell {name} failed: {r.stderr}")
    with open(os.path.join(tmp, name, "cell.json")) as f:
        return json.load(f), r.stdout


def link(tmp):
    j = lambda n: os.path.join(tmp, n)
    exp = ["-experiment", "Discharge at 2C until 2.5 V"]
    ref, _ = cell(tmp, "ref", exp)
    args = []
    for r, e in SET.items():
        args += [f"-cell_props_{r}", props(j(f"brug_{r}.json"), e, {"z": e ** -0.5, "x": 10.0})]
    got, log = cell(tmp, "brug", exp + args)
    worst = max(abs(got["results"][k] - ref["results"][k]) / max(abs(ref["results"][k]), 1e-300)
                for k in ref["results"])
    check(worst <= 1e-9, f"Bruggeman props reproduce the default 2C DFN result: worst relative "
          f"difference {worst:.2e} (capacity {got['results']['capacity_Ah']:.9f} vs "
          f"{ref['results']['capacity_Ah']:.9f} Ah)")
    check("note:" not in log, "no porosity-change note when the porosity is the set's")

    args_t = [f"-cell_props_n", props(j("t_n.json"), SET["n"], {"z": 1.5 * SET["n"] ** -0.5}),
              f"-cell_props_p", props(j("t_p.json"), SET["p"], {"z": 1.5 * SET["p"] ** -0.5})]
    tort, _ = cell(tmp, "tort", exp + args_t)
    q0, q1 = ref["results"]["capacity_Ah"], tort["results"]["capacity_Ah"]
    check(q1 < 0.99 * q0, f"tau 1.5x Bruggeman lowers the 2C capacity: {q1:.4f} < {q0:.4f} Ah")
    check(abs(tort["cell"]["transport_efficiency_n"] - SET["n"] ** 1.5 / 1.5) < 1e-12,
          "transport efficiency eps/tau in the summary")

    xdir, _ = cell(tmp, "xdir", exp + ["-cell_props_n", j("brug_n.json"), "-cell_props_direction", "x"])
    check(abs(xdir["cell"]["transport_efficiency_n"] - SET["n"] / 10.0) < 1e-12,
          f"-cell_props_direction x takes tau_x: eps/tau = {xdir['cell']['transport_efficiency_n']:.6f}")

    # another porosity, thickness at fixed loading: capacity at C/5 unchanged
    eps = 0.35
    L = 85.2e-6 * (1 - SET["n"]) / (1 - eps)
    slow = ["-experiment", "Discharge at C/5 until 2.5 V"]
    a, _ = cell(tmp, "slow_ref", slow)
    b, log = cell(tmp, "slow_eps", slow + ["-cell_props_n", props(j("e35.json"), eps, {"z": 2.0}),
                                            "-cell_thickness_n_m", repr(L)])
    check("porosity 0.3500 replaces the set's 0.2500" in log and "active fraction 0.7500 -> 0.6500" in log,
          "porosity change and active fraction reported")
    check(abs(b["cell"]["loading_n_m"] - a["cell"]["loading_n_m"]) < 1e-12 * a["cell"]["loading_n_m"] * 1e3,
          f"loading eps_s L kept: {b['cell']['loading_n_m']:.6e} m")
    qa, qb = a["results"]["capacity_Ah"], b["results"]["capacity_Ah"]
    check(abs(qb - qa) <= 5e-3 * qa, f"C/5 capacity at fixed loading: {qb:.4f} vs {qa:.4f} Ah")

    # the active fraction of a 3-phase volume (label 1), thickness at the set's loading
    es = 0.55
    L = 85.2e-6 * 0.75 / es
    c, log = cell(tmp, "slow_lab", slow + ["-cell_props_n", props(j("lab.json"), eps, {"z": 2.0},
                                                                label_fractions={"0": eps, "1": es, "2": 1 - eps - es}),
                                            "-cell_props_active_label", "1", "-cell_thickness_n_m", repr(L)])
    check("label_fractions" in log and abs(c["cell"]["active_fraction_n"] - es) < 1e-15,
          f"-cell_props_active_label 1: active fraction {c['cell']['active_fraction_n']} from the file")
    qc = c["results"]["capacity_Ah"]
    check(abs(qc - qa) <= 5e-3 * qa, f"C/5 capacity at fixed loading with binder: {qc:.4f} vs {qa:.4f} Ah")


def bad(tmp):
    j = lambda n: os.path.join(tmp, n)
    with open(j("broken.json"), "w") as f:
        f.write('{"volume_fraction": 0.3,\n "directions": {"z": {"tau": 2,}}}\n')
    with open(j("cellsum.json"), "w") as f:
        json.dump({"command": "cell", "results": {}}, f)
    cases = [
        ("non-percolating z", props(j("np.json"), 0.1, {"x": 3.0, "z": None}),
         [], ["np.json", "does not percolate in z", "percolates"]),
        ("malformed JSON", j("broken.json"), [], ["broken.json:2:"]),
        ("missing file", j("nothere.json"), [], ["nothere.json"]),
        ("missing volume_fraction", props(j("novf.json"), 0.3, {"z": 2.0}, volume_fraction=None),
         [], ["novf.json", "volume_fraction", "must be a number"]),
        ("no directions", j("nodir.json"), [], ["nodir.json", "directions"]),
        ("direction not in the file", props(j("onlyx.json"), 0.3, {"x": 2.0}),
         [], ["onlyx.json", "\"z\"", "-cell_props_direction"]),
        ("volume_fraction out of range", props(j("vf.json"), 1.3, {"z": 2.0}),
         [], ["vf.json", "volume_fraction", "1.3", "out of range"]),
        ("tau not a number", props(j("taus.json"), 0.3, {"z": 2.0}), [], ["taus.json", "tau", "must be a number"]),
        ("tau below eps", props(j("tlow.json"), 0.3, {"z": 0.2}), [], ["tlow.json", "not a transport efficiency"]),
        ("inconsistent file", props(j("inc.json"), 0.3, {"z": 2.0}), [], ["inc.json", "inconsistent", "relative_diffusivity"]),
        ("multi-phase file", props(j("mp.json"), 0.3, {"z": 2.0}, diffusivity={"0": 1, "2": 0.2}),
         [], ["mp.json", "multi-phase", "-phase 0"]),
        ("not a tortuosity file", j("cellsum.json"), [], ["cellsum.json", "not a tortuosity props.json", "\"cell\""]),
        ("active label without label_fractions", props(j("nolf.json"), 0.3, {"z": 2.0}),
         ["-cell_props_active_label", "1"], ["nolf.json", "no \"label_fractions\"", "-cell_props_active_label 1"]),
        ("active label absent from the volume", props(j("lf.json"), 0.3, {"z": 2.0}, label_fractions={"0": 0.3, "1": 0.7}, phase=0),
         ["-cell_props_active_label", "3"], ["lf.json", "label 3", "does not occur"]),
        ("active label is the pore phase", j("lf.json"), ["-cell_props_active_label", "0"],
         ["lf.json", "is the pore phase", "\"phase\": 0"]),
        ("active fraction too large", props(j("lf2.json"), 0.3, {"z": 2.0}, label_fractions={"1": 0.8}),
         ["-cell_props_active_label", "1"], ["lf2.json", "exceeds 1"]),
        ("bad direction", props(j("ok.json"), 0.3, {"z": 2.0}), ["-cell_props_direction", "w"],
         ["cell_props_direction", "w"]),
        ("negative thickness", props(j("ok2.json"), 0.3, {"z": 2.0}), ["-cell_thickness_n_m", "-1e-5"],
         ["cell_thickness_n_m", "-1e-5", "out of range"]),
    ]
    with open(j("nodir.json"), "w") as f:
        json.dump({"command": "tortuosity", "volume_fraction": 0.3}, f)
    d = json.load(open(j("taus.json")))
    d["directions"]["z"]["tau"] = "2"
    json.dump(d, open(j("taus.json"), "w"))
    d = json.load(open(j("tlow.json")))
    del d["directions"]["z"]["relative_diffusivity"]  # a file without it: eps/tau > 1 is caught
    json.dump(d, open(j("tlow.json"), "w"))
    d = json.load(open(j("inc.json")))
    d["directions"]["z"]["relative_diffusivity"] = 0.2
    json.dump(d, open(j("inc.json"), "w"))
    for name, path, extra, words in cases:
        out = os.path.join(tmp, "out", "cell.csv")
        r = subprocess.run([tomocell, "cell", "-model", "spm", "-cell_props_n", path, "-output", out] + extra,
                           capture_output=True, text=True, timeout=60)
        problems = []
        if r.returncode != 1:
            problems.append(f"exit status {r.returncode}, expected 1")
        problems += [f"stderr lacks {w!r}" for w in words if w not in r.stderr]
        if "PETSC ERROR" in r.stderr or "Segmentation" in r.stderr:
            problems.append("traceback instead of a clear message")
        if os.path.exists(os.path.join(tmp, "out")):
            problems.append("output left behind")
        check(not problems, f"{name}: " + ("; ".join(problems) + "\n  stderr: " + r.stderr.strip()
                                           if problems else r.stderr.strip().splitlines()[0]))


with tempfile.TemporaryDirectory() as tmp:
    (link if mode == "link" else bad)(tmp)
print(f"{len(fail)} failed")
sys.exit(1 if fail else 0)
