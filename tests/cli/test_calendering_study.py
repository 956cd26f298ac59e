#!/usr/bin/python3
"""A small calendering study (jobs/calendering_study.py) through `tomocell sweep -local`.

usage: test_calendering_study.py TOMOCELL SOURCE_DIR

48^3 volumes (0.8 um voxels, particle radius ~7 voxels), porosity 0.45 (as
coated) -> 0.35 -> 0.25 in both electrodes, coarse DFN (8 cells per region),
0.5C and 3C discharges and a 2C charge, Chen2020 at fixed areal loading.
Asserted, with why it is robust:
  * measured porosity within 1 % of each target (the calendering model meets
    eps to less than one voxel layer of solid);
  * tau_z rises with compression in both electrodes (pores narrow and close;
    monotone in every calendering run we made, e.g. README's 100^3 series);
  * electrode thicknesses and the stack fall, L = L_set (1 - eps_set)/(1 - eps);
  * 0.5C capacity the same within 1 % at every point: the loading eps_s L is
    fixed and 0.5C is close to equilibrium (measured spread 0.2 %);
  * 3C capacity falls with compression: the electrolyte resistance of an
    electrode scales with L tau / eps; L falls by at most 27 % while tau/eps
    rises about 3x, so the 3C discharge hits electrolyte depletion earlier
    (2.36 -> 0.82 -> 0.23 Ah here);
  * the minimum anode potential during the 2C charge falls (less plating
    margin), by the same electrolyte polarisation;
  * the 0.5C energy density (Wh/L of the stack) rises: same energy, thinner stack.
"""
import csv
import os
import subprocess
import sys
import tempfile

tomocell, src = sys.argv[1], sys.argv[2]
fail = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        fail.append(msg)


def falls(v):
    return all(b < a for a, b in zip(v, v[1:]))


with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "study")
    cmd = ["/usr/bin/python3", os.path.join(src, "jobs", "calendering_study.py"), "--tomocell", tomocell,
           "--out", out, "--size", "48", "--voxel-size", "0.8e-6", "--porosities", "0.45,0.35,0.25",
           "--rates", "0.5,3", "--charge-rate", "2", "--nx", "8", "--runner", "sweep", "--jobs", "2"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    print(r.stdout[-2000:])
    if r.returncode != 0:
        print(r.stderr)
        sys.exit(1)
    with open(os.path.join(out, "calendering.csv")) as f:
        rows = list(csv.DictReader(f))
    check([x["point"] for x in rows] == ["set", "0", "1", "2"], "table: the set and 3 points")
    check(os.path.getsize(os.path.join(out, "calendering.png")) > 10000, "plot written")
    pts = rows[1:]
    col = lambda k: [float(x[k]) for x in pts]
    for el in "np":
        e = col(f"porosity_{el}")
        check(all(abs(a - b) <= 0.01 * b for a, b in zip(e, [0.45, 0.35, 0.25])),
              f"porosity_{el} {e} at the targets within 1 %")
        check(falls([-t for t in col(f"tau_{el}")]), f"tau_{el} rises: {col(f'tau_{el}')}")
        check(falls(col(f"thickness_{el}_um")), f"thickness_{el} falls: {col(f'thickness_{el}_um')}")
    q05 = col("capacity_0.5C_Ah")
    check(max(q05) - min(q05) <= 0.01 * max(q05), f"0.5C capacity at fixed loading: {q05}")
    check(falls(col("capacity_3C_Ah")), f"3C capacity falls: {col('capacity_3C_Ah')}")
    check(falls(col("min_anode_potential_charge_2C_V")),
          f"min anode potential in the 2C charge falls: {col('min_anode_potential_charge_2C_V')}")
    check(falls([-x for x in col("energy_0.5C_Wh_per_L")]),
          f"0.5C energy density rises: {col('energy_0.5C_Wh_per_L')}")
print(f"{len(fail)} failed")
sys.exit(1 if fail else 0)
