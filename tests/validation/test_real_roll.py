#!/usr/bin/python3
"""Real scans to a coupled run: the real CT slices of ../shared/validation/realct
given to tomocell run as its geometry (traced by the run with the trace_* keys)
and discharged at 1C to the cut-off with the thermal network.

    test_real_roll.py TOMOCELL REALCT_DIR [MPIEXEC ARGS...]

One case per kind of scan in the folder (the README there says what each is):
  * two foils drawn as thin label lines (the LG MJ1 slice; the file's text
    names label 2 the negative collector, which the tracer reads);
  * one electrode layer only, the authors' mask of a lab XCT slice (no pixel
    size in the file: the can's outer diameter, 18.4 mm for an 18650, over its
    506.4 px in the gray slice gives 36.3 um) -- the other foil is built;
  * a multi-class segmentation (the P42A slice): the tracer picks the spiral
    class (class 4);
    its 237 um pitch is 37 % below the Chen2020 stack, so the run is told to
    put the set's electrodes on it anyway (geometry_pitch_tolerance 0.4).
Each must run to the end of a 1C discharge and
  * deliver the parameter set's capacity per area on the traced area: the
    run's capacity over the element area of its network within 5 % of what
    tomocell cell gives for the set's own area (same model, grid, thermal
    lumped), the issue's tolerance -- the traced roll carries the set's
    electrodes, so the difference is the roll's internal losses and heating;
  * close charge (1e-9) and energy (1e-6) as the synthetic runs do.
Exit 77 (skip) when the folder is missing.
"""
import json
import os
import subprocess
import sys
import tempfile

import h5py

DECK = """job: roll
preset: 18650
network:
  ds_m: 5e-3
  nz: 3
tab:
  cu: end
  al: start
model: spme
thermal: network
plots: false
experiment: "Discharge at 1C until 2.5 V"
"""

CASES = [
    # name, file, run options (trace_* and the rest)
    # default tracing: the MJ1's Cu label from the file's own text, the P42A's spiral
    # class picked by the tracer
    ("two thin label lines (MJ1)", "mj1_jellybamm_cc_labels.h5", []),
    ("one traced layer (UCL mask)", "ucl_slice1_mask.h5", ["-trace_pixel_size_m", "36.3e-6"]),
    ("multi-class segmentation (P42A)", "p42a_slice_seg.h5",
     ["-geometry_pitch_tolerance", "0.4"]),
]


def sh(cmd, cwd):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        print(f"FAIL {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
        return None
    return r.stdout


def element_area(net):
    with h5py.File(net, "r") as f:
        kind = f["/edges/kind"][:]
        area = f["/edges/area_m2"][:]
    return float(area[(kind == 2) | (kind == 3)].sum())


def main():
    tomocell, folder, launcher = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3:]
    if not os.path.isdir(folder):
        print(f"SKIP: {folder} is absent (real CT lives in ../shared/validation/realct)")
        return 77
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "roll.yaml"), "w") as f:
            f.write(DECK)
        # the set's capacity per area at 1C (same model and element grid, lumped thermal)
        out = sh([tomocell, "cell", "-model", "spme", "-thermal", "lumped", "-experiment",
                  "Discharge at 1C until 2.5 V", "-cell_nx_n", "8", "-cell_nx_s", "4",
                  "-cell_nx_p", "8", "-output", os.path.join(tmp, "cell.csv")], tmp)
        if out is None:
            return 1
        cell = json.load(open(os.path.join(tmp, "cell.json")))
        per_area = cell["results"]["capacity_Ah"] / cell["cell"]["area_m2"]
        for name, fname, ropts in CASES:
            path = os.path.join(folder, fname)
            if not os.path.exists(path):
                print(f"FAIL {name}: {path} is missing")
                fails += 1
                continue
            run = os.path.join(tmp, fname.replace(".h5", "_run"))
            if sh(launcher + [tomocell, "run", "roll.yaml", "-geometry", path, "-output", run] +
                  ropts, tmp) is None:
                fails += 1
                continue
            s = json.load(open(os.path.join(run, "summary.json")))
            area = element_area(os.path.join(run, "results.h5"))
            q_expect = per_area * area
            rel = abs(s["capacity_Ah"] - q_expect) / q_expect
            ok = (rel < 0.05 and s["final_voltage_V"] <= 2.5 + 1e-6 and
                  s["geometry"]["source"] == "volume" and
                  os.path.isfile(os.path.join(run, "traced_net.h5")) and
                  s["charge_balance_rel_error"] < 1e-9 and s["energy_balance_rel_error"] < 1e-6)
            fails += not ok
            g = s["geometry"]
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {s['network']['elements']} elements on "
                  f"{area:.4f} m2 (built foil: {g['built_foil']}), pitch {1e6 * g['pitch_m']:.1f} um; "
                  f"1C to {s['final_voltage_V']:.3f} V in {s['final_time_s']:.0f} s: "
                  f"{s['capacity_Ah']:.4f} Ah vs {q_expect:.4f} Ah = the set's "
                  f"{per_area:.2f} Ah/m2 x area ({100 * rel:.2f} %, limit 5 %); "
                  f"T_max {s['T_max_K']:.2f} K; charge {s['charge_balance_rel_error']:.1e}, "
                  f"energy {s['energy_balance_rel_error']:.1e}")
    print("passed" if not fails else f"{fails} case(s) failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
