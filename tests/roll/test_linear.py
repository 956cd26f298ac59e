"""The coupled roll's linear solves: preconditioners kept across steps, inexact
Newton, and the automatic choice of direct or AMG (summary.json linear_solves).

    test_linear.py TOMOCELL [MPIEXEC ARGS...]

(1) A full 1C discharge of a one-layer 18650 (ds 3 mm, direct solves, network
    thermal): with the preconditioners kept across steps (the default) at most
    8 Newton and 8 thermal factorisations in the run (one per step, ~100, with
    -roll_pc_lag false: the previous behaviour), the same steps, and capacity,
    T_max and final voltage within 1e-6 relative (1e-8 V) of the run that
    rebuilds them at every step.
(2) A 21700 at 4 mm x 3 layers with CG + BoomerAMG (-linear_solver amg), 5
    minutes at 1C: at most 5.5 CG iterations per Newton solve on average (the
    inexact Newton and BoomerAMG without aggressive coarsening: 4.0 at 1 rank,
    4.3 at 2; 6.9 and 7.8 with -pc_hypre_boomeramg_agg_nl 1, the default
    before; 10-11 at rtol 1e-10) and at most 4 Newton preconditioner
    set-ups, the results as (1) within tolerance of -roll_pc_lag false
    -roll_ksp_eta 1e-10.
(2b) The same with the foil preconditioner (-linear_solver foil: each foil's
    sheet factored apart plus a correction of each foil's mean potential): at
    most 7 CG iterations per Newton solve (5.9-6.0 at 1 and 2 ranks), the
    charge balance of the run below 1e-9, the results as (1) within
    tolerance of the AMG run's of (2).
(3) The automatic rule: an 18650 of one node layer at ds 0.15 mm (7,800 nodes,
    above the 5,000 of layered rolls) takes the direct solves; a 21700 at 2 mm
    x 7 layers (5,474 nodes) takes the foil preconditioner.
(4) -roll_ksp_eta 0 is refused with one error line and no output.
Each at the rank count given (1, or 2 with MPIEXEC ARGS).
"""
import json
import os
import subprocess
import sys
import tempfile

DECK = """job: roll
preset: {preset}
network:
  ds_m: {ds}
  nz: {nz}
tab:
  cu: end
  al: start
model: spme
thermal: network
plots: false
experiment: "{experiment}"
"""


def run(tomocell, launcher, tmp, name, args, expect=0, **kw):
    deck = os.path.join(tmp, name + ".yaml")
    with open(deck, "w") as f:
        f.write(DECK.format(**kw))
    out = os.path.join(tmp, name)
    r = subprocess.run(launcher + [tomocell, "run", deck, "-output", out] + args, cwd=tmp,
                       capture_output=True, text=True, timeout=900)
    if expect != 0:
        return r, out
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit(f"tomocell run failed: {name} {args}")
    with open(os.path.join(out, "summary.json")) as f:
        return json.load(f), out


def close(a, b, what):
    rel = lambda k: abs(a[k] - b[k]) / abs(b[k])
    dv = abs(a["final_voltage_V"] - b["final_voltage_V"])
    ok = (a["steps"]["accepted"] == b["steps"]["accepted"] and rel("capacity_Ah") < 1e-6 and
          rel("T_max_K") < 1e-6 and dv < 1e-8)
    print(f"{'ok  ' if ok else 'FAIL'} {what}: steps {a['steps']['accepted']} vs "
          f"{b['steps']['accepted']}, capacity {a['capacity_Ah']:.9f} vs {b['capacity_Ah']:.9f} Ah, "
          f"T_max {a['T_max_K']:.7f} vs {b['T_max_K']:.7f} K, |dV_end| {dv:.1e} V")
    return not ok


def main():
    tomocell, launcher = sys.argv[1], sys.argv[2:]
    ranks = launcher[launcher.index("-n") + 1] if "-n" in launcher else "1"
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        # (1) direct solves, a full discharge
        kw = dict(preset="18650", ds=3e-3, nz=1, experiment="Discharge at 1C until 2.5 V")
        lag, _ = run(tomocell, launcher, tmp, "lag", [], **kw)
        fresh, _ = run(tomocell, launcher, tmp, "fresh", ["-roll_pc_lag", "false"], **kw)
        a, b = lag["linear_solves"], fresh["linear_solves"]
        steps = lag["steps"]["accepted"]
        ok = (a["newton_preconditioner"] == "direct" and a["newton_pc_setups"] <= 8 and
              a["thermal_pc_setups"] <= 8 and b["newton_pc_setups"] >= steps)
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} direct, {steps} steps: {a['newton_pc_setups']} Newton and "
              f"{a['thermal_pc_setups']} thermal factorisations kept across steps (<= 8), "
              f"{b['newton_pc_setups']} and {b['thermal_pc_setups']} with -roll_pc_lag false (every step; "
              f"thermal: when dt changes)")
        fails += close(lag, fresh, "direct, kept vs rebuilt preconditioners")
        # (2) CG + BoomerAMG on a layered roll
        kw = dict(preset="21700", ds=4e-3, nz=3, experiment="Discharge at 1C for 5 minutes")
        amg, _ = run(tomocell, launcher, tmp, "amg", ["-linear_solver", "amg"], **kw)
        old, _ = run(tomocell, launcher, tmp, "amg_old",
                     ["-linear_solver", "amg", "-roll_pc_lag", "false", "-roll_ksp_eta", "1e-10"], **kw)
        a, b = amg["linear_solves"], old["linear_solves"]
        per, per_old = a["newton_iterations"] / a["newton_solves"], b["newton_iterations"] / b["newton_solves"]
        ok = a["newton_preconditioner"] == "amg" and per <= 5.5 and a["newton_pc_setups"] <= 4
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} AMG: {per:.2f} CG iterations per Newton solve (<= 5.5; "
              f"{per_old:.2f} to rtol 1e-10), {a['newton_pc_setups']} Newton preconditioners (<= 4; "
              f"{b['newton_pc_setups']} rebuilt every step)")
        fails += close(amg, old, "AMG, inexact and kept vs rtol 1e-10 and rebuilt")
        # (2b) the foil preconditioner on the same roll
        foil, _ = run(tomocell, launcher, tmp, "foil", ["-linear_solver", "foil"], **kw)
        f = foil["linear_solves"]
        per = f["newton_iterations"] / f["newton_solves"]
        bal = foil["charge_balance_rel_error"]
        ok = f["newton_preconditioner"] == "foil" and per <= 7 and bal < 1e-9
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} foil: {per:.2f} CG iterations per Newton solve (<= 7), "
              f"{f['newton_pc_setups']} preconditioners, charge balance {bal:.1e} (< 1e-9)")
        fails += close(foil, amg, "foil vs AMG")
        # (3) the automatic rule
        short = "Discharge at 1C for 20 seconds"
        sheet, _ = run(tomocell, launcher, tmp, "sheet", [], preset="18650", ds=0.15e-3, nz=1,
                       experiment=short)
        layered, _ = run(tomocell, launcher, tmp, "layered", [], preset="21700", ds=2e-3, nz=7,
                         experiment=short)
        nodes = lambda s: (s["network"]["cu_nodes_per_layer"] + s["network"]["al_nodes_per_layer"]) * \
            s["network"]["layers"]
        ok = (nodes(sheet) > 5000 and sheet["linear_solves"]["newton_preconditioner"] == "direct" and
              nodes(layered) > 5000 and layered["linear_solves"]["newton_preconditioner"] == "foil")
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} auto: one layer, {nodes(sheet)} nodes: "
              f"{sheet['linear_solves']['newton_preconditioner']}; {layered['network']['layers']} layers, "
              f"{nodes(layered)} nodes: {layered['linear_solves']['newton_preconditioner']}")
        # (4) bad value
        r, out = run(tomocell, launcher, tmp, "bad", ["-roll_ksp_eta", "0"], expect=1, preset="18650",
                     ds=20e-3, nz=1, experiment=short)
        lines = [l for l in r.stderr.splitlines() if l.startswith("tomocell: error:")]
        ok = (r.returncode == 1 and len(lines) == 1 and "-roll_ksp_eta" in lines[0] and
              "PETSC ERROR" not in r.stderr and not os.path.exists(os.path.join(out, "summary.json")))
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} -roll_ksp_eta 0: exit {r.returncode}, {lines}")
    print(f"linear solves {'FAILED' if fails else 'ok'} at {ranks} rank(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
