#!/usr/bin/env python3
"""tomocell tortuosity against TauFactor on ../shared/validation/tortuosity.

For every file and phase in reference.csv, run `tomocell tortuosity -phase P`
(on the ranks given) and compare per direction:
  * tau and D_eff/D within 1 % (the issue's bar; TauFactor itself ran in
    float32 to a flux-uniformity criterion of 1e-3, which moved tau by up to
    0.23 %, so 1 % is the honest resolution of the reference);
  * volume fraction and percolating fraction to 1e-6 absolute (the reference
    prints 6 decimals; both are exact voxel counts);
  * the face-count surface area to 1e-5 relative (6 significant digits);
  * a direction the reference calls inf must be reported as not percolating.
Prints a table and exits 77 (ctest SKIP) when the folder is absent.

usage: test_tortuosity_taufactor.py TOMOCELL SOURCE_DIR [MPIEXEC ARGS...]
"""
import csv, json, math, os, subprocess, sys, tempfile

tomocell, src = sys.argv[1], sys.argv[2]
launcher = sys.argv[3:]
ref_dir = os.path.join(src, "..", "shared", "validation", "tortuosity")
if not os.path.isfile(os.path.join(ref_dir, "reference.csv")):
    print(f"SKIP: {ref_dir} is absent (a fresh clone has no shared validation data)")
    sys.exit(77)

rows = list(csv.DictReader(open(os.path.join(ref_dir, "reference.csv"))))
cases = {}
for r in rows:
    cases.setdefault((r["file"], int(r["phase"])), []).append(r)

failures, worst_tau = [], 0.0
print(f"{'file':34s} {'ph':>2s} {'dir':>3s} {'tau ref':>10s} {'tau':>10s} {'rel err':>9s}")
with tempfile.TemporaryDirectory() as tmp:
    for (fname, phase), refs in sorted(cases.items()):
        out = os.path.join(tmp, f"{fname}.{phase}.json")
        cmd = launcher + [tomocell, "tortuosity", os.path.join(ref_dir, fname),
                          "-phase", str(phase), "-output", out]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            failures.append(f"{fname} phase {phase}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
            continue
        res = json.load(open(out))
        for r in refs:
            d = res["directions"][r["direction"]]
            tau_ref = float(r["tau"])
            what = f"{fname} phase {phase} {r['direction']}"
            if abs(res["volume_fraction"] - float(r["porosity"])) > 1e-6:
                failures.append(f"{what}: volume fraction {res['volume_fraction']} vs {r['porosity']}")
            if abs(d["percolating_fraction"] - float(r["percolating_fraction"])) > 1e-6:
                failures.append(f"{what}: percolating fraction {d['percolating_fraction']} vs "
                                f"{r['percolating_fraction']}")
            if r["ssa_face_m-1"] and res["specific_surface_area_m-1"] is not None:
                s_ref = float(r["ssa_face_m-1"])
                if abs(res["specific_surface_area_m-1"] - s_ref) > 1e-5 * s_ref:
                    failures.append(f"{what}: surface area {res['specific_surface_area_m-1']} vs {s_ref}")
            if math.isinf(tau_ref):
                ok = d["percolates"] is False and d["tau"] is None
                print(f"{fname:34s} {phase:2d} {r['direction']:>3s} {'inf':>10s} "
                      f"{'inf' if ok else str(d['tau']):>10s} {'':>9s}")
                if not ok:
                    failures.append(f"{what}: should not percolate, got tau {d['tau']}")
                continue
            err = abs(d["tau"] - tau_ref) / tau_ref
            err_d = abs(d["relative_diffusivity"] - float(r["D_eff_rel"])) / float(r["D_eff_rel"])
            worst_tau = max(worst_tau, err)
            print(f"{fname:34s} {phase:2d} {r['direction']:>3s} {tau_ref:10.6f} {d['tau']:10.6f} {err:9.2e}")
            if err > 0.01 or err_d > 0.01:
                failures.append(f"{what}: tau {d['tau']:.6f} vs TauFactor {tau_ref:.6f} ({err:.2%})")

print(f"worst tau difference to TauFactor: {worst_tau:.2e} relative ({len(rows)} cases)")
if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
