#!/usr/bin/python3
"""Calendering study: microstructure -> tortuosity -> cell, at fixed areal loading.

For each target porosity (both electrodes calendered to the same porosity):

  1. tomocell microstructure: one as-coated volume per electrode (spheres with
     the set's particle radius, at the first and highest porosity), calendered
     with -calender to each lower target (each from the as-coated volume, so
     the points are independent);
  2. tomocell tortuosity -direction z: props.json per volume (z is the
     through-thickness axis);
  3. tomocell cell with -cell_props_n/-cell_props_p, the active fraction
     eps_s of the same volume (-cell_props_active_label 1) and the electrode
     thicknesses scaled at fixed areal loading, L = L_set eps_s,set / eps_s
     (= L_set (1 - eps_set) / (1 - eps) without binder, as for Chen2020), so
     the active loading eps_s L is the set's at every point: discharges at each C-rate from 100 % SOC and a charge
     at --charge-rate from 0 % SOC, lumped thermal.

The separator keeps the set's porosity and Bruggeman transport efficiency.
Writes OUT/calendering.csv and OUT/calendering.png (and OUT/volumes/,
OUT/cells/ or OUT/sweep/). Energy density: the discharge energy per electrode
area (Wh/m^2) and per litre of the stack repeat unit L_n + L_s + L_p + (foils)/2
(Wh/L), as `tomocell cell` writes them into cell.json.

Runners (--runner):
  direct  run the cells from this script, --jobs at a time (default)
  sweep   write a zip sweep over the cell keys and run `tomocell sweep -local`
  slurm   the same sweep submitted with `tomocell sweep -slurm` (job array +
          gather job); afterwards `calendering_study.py --collect --out OUT`
          writes the table and the plot (the study's options are kept in
          OUT/study.json)
The volumes stage always runs here (seconds at 80^3); --ranks N runs the
microstructure and tortuosity commands under $MPIEXEC -n N (srun -n N inside a
Slurm allocation) for bigger volumes.

usage: calendering_study.py [--out output/calendering] [--size 80] [--porosities 0.45,0.40,0.35,0.30,0.25] ...
"""
import argparse
import concurrent.futures as cf
import csv
import json
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tomocell", default=os.path.join(ROOT, "build", "tomocell"))
    ap.add_argument("--params", default="chen2020", help="set name in inputs/params/ or a BPX file")
    ap.add_argument("--out", default="output/calendering")
    ap.add_argument("--porosities", default="0.45,0.40,0.35,0.30,0.25",
                    help="as-coated porosity first, then the calendered targets (both electrodes)")
    ap.add_argument("--size", type=int, default=80, help="voxels per edge of the cubic volumes")
    ap.add_argument("--voxel-size", type=float, default=0.6e-6, help="m")
    ap.add_argument("--cbd", type=float, default=0.0,
                    help="carbon-binder fraction of the as-coated volumes (label 2; raises tau, "
                         "and the cell's active fraction is the volumes' label 1)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--model", default="dfn", choices=["spm", "spme", "dfn"])
    ap.add_argument("--nx", type=int, default=10, help="cells per region and shells per particle")
    ap.add_argument("--rates", default="0.5,1,2,3", help="discharge C-rates")
    ap.add_argument("--charge-rate", type=float, default=2.0)
    ap.add_argument("--thermal", default="lumped", choices=["lumped", "isothermal"])
    ap.add_argument("--runner", default="direct", choices=["direct", "sweep", "slurm"])
    ap.add_argument("--jobs", type=int, default=2, help="cells at a time (direct, sweep)")
    ap.add_argument("--ranks", type=int, default=1, help="MPI ranks for microstructure/tortuosity")
    ap.add_argument("--collect", action="store_true",
                    help="only collect finished cell runs into the table and the plot")
    ap.add_argument("--no-plot", action="store_true")
    return ap.parse_args(argv)


def load_set(name):
    path = name if ("/" in name or name.endswith(".json")) else \
        os.path.join(os.environ.get("TOMOCELL_PARAMS") or os.path.join(ROOT, "inputs", "params"),
                     name.lower() + ".json")
    with open(path) as f:
        par = json.load(f)["Parameterisation"]
    s = {"V_min": par["Cell"]["Lower voltage cut-off [V]"],
         "V_max": par["Cell"]["Upper voltage cut-off [V]"],
         "T_amb": par["Cell"].get("Ambient temperature [K]", 298.15)}
    for e, sec in (("n", "Negative electrode"), ("p", "Positive electrode")):
        d = par[sec]
        s[e] = {"L": d["Thickness [m]"], "eps": d["Porosity"], "R": d["Particle radius [m]"],
                "eps_s": d["Surface area per unit volume [m-1]"] * d["Particle radius [m]"] / 3}
    return s


def open_mpi(exe):
    """Whether exe (mpiexec, mpirun) is Open MPI's launcher."""
    try:
        r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return "Open MPI" in r.stdout + r.stderr or "OpenRTE" in r.stdout + r.stderr


def launcher(ranks):
    """The command that starts `ranks` MPI processes: srun inside Slurm, else
    $MPIEXEC (default mpiexec). Open MPI refuses to run as root and to start
    more ranks than cores; as root --allow-run-as-root is added, and
    --oversubscribe when ranks exceed the cores (unless $MPIEXEC has them)."""
    if ranks <= 1:
        return []
    if os.environ.get("SLURM_JOB_ID"):
        return ["srun", "-n", str(ranks)]
    cmd = shlex.split(os.environ.get("MPIEXEC", "mpiexec"))
    if cmd and os.path.basename(cmd[0]) in ("mpiexec", "mpirun", "orterun") and open_mpi(cmd[0]):
        if os.geteuid() == 0 and "--allow-run-as-root" not in cmd:
            cmd.append("--allow-run-as-root")
        if ranks > (os.cpu_count() or 1) and "--oversubscribe" not in cmd:
            cmd.append("--oversubscribe")
    return cmd + ["-n", str(ranks)]


def run(cmd, log=None):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if log:
        with open(log, "w") as f:
            f.write(" ".join(shlex.quote(c) for c in cmd) + "\n" + r.stdout + r.stderr)
    if r.returncode != 0:
        sys.exit(f"calendering_study: failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr.strip()}")
    return r


def volumes(a, st, out):
    """Generate, calender and measure; returns [{eps_n, eps_p, tau_n, tau_p, props_n, ...}]."""
    por = [float(x) for x in a.porosities.split(",")]
    if any(b >= c for c, b in zip(por, por[1:])):
        sys.exit("calendering_study: --porosities must fall (as-coated first): " + a.porosities)
    vd = os.path.join(out, "volumes")
    os.makedirs(vd, exist_ok=True)
    L = launcher(a.ranks)
    size = f"{a.size},{a.size},{a.size}"
    points = [dict(target=e) for e in por]
    for el in ("n", "p"):
        base = os.path.join(vd, f"{el}_coated.h5")
        run(L + [a.tomocell, "microstructure", "-output", base, "-size", size,
                 "-voxel_size", repr(a.voxel_size), "-porosity", repr(por[0]),
                 "-cbd_fraction", repr(a.cbd), "-radius_m", repr(st[el]["R"]),
                 "-seed", str(a.seed + (el == "p"))], os.path.join(vd, f"{el}_coated.log"))
        for k, e in enumerate(por):
            vol = base
            if k > 0:
                vol = os.path.join(vd, f"{el}_{e:.3f}.h5")
                run(L + [a.tomocell, "microstructure", "-calender", base, "-porosity", repr(e),
                         "-output", vol], os.path.join(vd, f"{el}_{e:.3f}.log"))
            props = os.path.join(vd, f"{el}_{e:.3f}.props.json")
            run(L + [a.tomocell, "tortuosity", vol, "-direction", "z", "-output", props],
                os.path.join(vd, f"{el}_{e:.3f}.tau.log"))
            with open(props) as f:
                pj = json.load(f)
            eps = pj["volume_fraction"]
            points[k][f"props_{el}"] = os.path.abspath(props)
            points[k][f"eps_{el}"] = eps
            points[k][f"tau_{el}"] = pj["directions"]["z"]["tau"]
            # fixed areal loading: the set's eps_s L, with eps_s the volume's
            # active (label 1) fraction, which the cell takes with
            # -cell_props_active_label 1; without binder eps_s = 1 - eps and
            # this is L_set (1 - eps_set) / (1 - eps) for a set without inactive solid
            es = pj["label_fractions"]["1"]
            points[k][f"eps_s_{el}"] = es
            points[k][f"L_{el}"] = st[el]["L"] * st[el]["eps_s"] / es
    with open(os.path.join(out, "points.json"), "w") as f:
        json.dump(points, f, indent=1)
    return points


def tasks(a, st, points):
    """One dict of cell keys per run: the set itself, then each point x each experiment."""
    exps = [(f"{r}C", 1.0, f"Discharge at {r}C until {st['V_min']:g} V")
            for r in a.rates.split(",")]
    exps.append((f"charge_{a.charge_rate:g}C", 0.0,
                 f"Charge at {a.charge_rate:g}C until {st['V_max']:g} V"))
    out = []
    for k, pt in enumerate([None] + points):
        for tag, soc, x in exps:
            t = {"point": "set" if pt is None else str(k - 1), "exp": tag,
                 "initial_soc": f"{soc:g}", "experiment": x}
            if pt is not None:
                t.update({"cell_props_n": pt["props_n"], "cell_props_p": pt["props_p"],
                          "cell_props_active_label": "1",
                          "cell_thickness_n_m": f"{pt['L_n']:.10g}",
                          "cell_thickness_p_m": f"{pt['L_p']:.10g}"})
            else:  # the set's own values, written out so every task has the same keys
                t.update({"cell_thickness_n_m": f"{st['n']['L']:.10g}",
                          "cell_thickness_p_m": f"{st['p']['L']:.10g}"})
            out.append(t)
    return out


def deck(a, out):
    path = os.path.join(out, "cell_deck.yaml")
    n = a.nx
    with open(path, "w") as f:
        f.write(f"# fixed keys of every cell run of the calendering study\n"
                f"params: {a.params}\nmodel: {a.model}\nthermal: {a.thermal}\n"
                f"cell_nx_n: {n}\ncell_nx_s: {n}\ncell_nx_p: {n}\ncell_nr_n: {n}\ncell_nr_p: {n}\n")
    return os.path.abspath(path)


CELL_KEYS = ["initial_soc", "experiment", "cell_thickness_n_m", "cell_thickness_p_m"]
PROPS_KEYS = ["cell_props_n", "cell_props_p", "cell_props_active_label"]


def run_direct(a, out, tl, deckp):
    cd = os.path.join(out, "cells")

    def one(i):
        t = tl[i]
        d = os.path.join(cd, f"task_{i:04d}")
        os.makedirs(d, exist_ok=True)
        cmd = [a.tomocell, "cell", deckp] + sum(
            ([f"-{k}", t[k]] for k in CELL_KEYS + PROPS_KEYS if k in t), [])
        cmd += ["-output", os.path.join(d, "cell.csv")]
        r = subprocess.run(cmd, capture_output=True, text=True)
        with open(os.path.join(d, "log.txt"), "w") as f:
            f.write(" ".join(shlex.quote(c) for c in cmd) + "\n" + r.stdout + r.stderr)
        return i, r.returncode, r.stderr.strip()

    with cf.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        for i, rc, err in ex.map(one, range(len(tl))):
            if rc != 0:
                print(f"calendering_study: task {i} ({tl[i]['point']}, {tl[i]['exp']}) failed: {err}",
                      file=sys.stderr)
    return cd


def write_sweep(a, out, tl, deckp):
    """A zip sweep: the set's rows have no props files, so they get their own sweep."""
    paths = []
    for name, rows in (("set", [t for t in tl if t["point"] == "set"]),
                       ("points", [t for t in tl if t["point"] != "set"])):
        keys = CELL_KEYS + (PROPS_KEYS if name == "points" else [])
        p = os.path.abspath(os.path.join(out, f"sweep_{name}.yaml"))
        with open(p, "w") as f:
            f.write(f"# written by jobs/calendering_study.py: {len(rows)} cell runs\n"
                    f"sweep:\n  command: cell\n  input: {deckp}\n  kind: zip\n"
                    f"  output: {os.path.abspath(os.path.join(out, 'sweep_' + name))}\n  ranks: 1\n"
                    f"parameters:\n")
            for k in keys:
                f.write(f"  {k}: [" + ", ".join(json.dumps(t[k]) for t in rows) + "]\n")
            f.write("gather:\n  outputs: [results.capacity_Ah, results.energy_Wh_per_L_stack, "
                    "results.max_temperature_K, results.min_anode_potential_vs_li_V]\n"
                    "  plot_x: cell_thickness_n_m\n  plot_y: results.capacity_Ah\n")
        paths.append((name, p, rows))
    return paths


def collect(a, st, out):
    with open(os.path.join(out, "points.json")) as f:
        points = json.load(f)
    tl = tasks(a, st, points)
    # where the runs are: cells/task_i (direct) or sweep_set|points/task_j (sweep, slurm)
    locs, js = [], {}
    if os.path.isdir(os.path.join(out, "cells")):
        locs = [os.path.join(out, "cells", f"task_{i:04d}") for i in range(len(tl))]
    else:
        cnt = {"set": 0, "points": 0}
        for t in tl:
            g = "set" if t["point"] == "set" else "points"
            locs.append(os.path.join(out, f"sweep_{g}", f"task_{cnt[g]:04d}"))
            cnt[g] += 1
    for t, d in zip(tl, locs):
        try:
            with open(os.path.join(d, "cell.json")) as f:
                js[(t["point"], t["exp"])] = json.load(f)
        except (OSError, ValueError):
            print(f"calendering_study: no result in {d}", file=sys.stderr)
    rates = a.rates.split(",")
    ch = f"charge_{a.charge_rate:g}C"
    rows = []
    coated = {el: 1 - points[0][f"eps_{el}"] for el in "np"}
    for label in ["set"] + [str(k) for k in range(len(points))]:
        pt = None if label == "set" else points[int(label)]
        first = js.get((label, rates[0] + "C"))
        if first is None:
            continue
        c = first["cell"]
        row = {"point": label,
               "porosity_n": c["porosity_n"], "porosity_p": c["porosity_p"],
               "thickness_n_um": c["thickness_n_m"] * 1e6, "thickness_p_um": c["thickness_p_m"] * 1e6,
               "stack_um": c["stack_thickness_m"] * 1e6,
               "compression_pct": "" if pt is None else
               100 * (1 - coated["n"] / (1 - pt["eps_n"])),
               "tau_n": c["porosity_n"] / c["transport_efficiency_n"],
               "tau_p": c["porosity_p"] / c["transport_efficiency_p"],
               "active_fraction_n": c["active_fraction_n"], "active_fraction_p": c["active_fraction_p"]}
        for r in rates:
            j = js.get((label, r + "C"))
            res = j["results"] if j else {}
            row[f"capacity_{r}C_Ah"] = res.get("discharged_Ah", "")
            row[f"energy_{r}C_Wh_per_L"] = res.get("energy_Wh_per_L_stack", "")
            row[f"energy_{r}C_Wh_per_m2"] = res.get("energy_Wh_per_m2", "")
            row[f"dT_{r}C_K"] = res["max_temperature_K"] - st["T_amb"] if j else ""
        j = js.get((label, ch))
        row[f"min_anode_potential_{ch}_V"] = j["results"]["min_anode_potential_vs_li_V"] if j else ""
        row[f"time_below_0V_{ch}_s"] = j["results"]["time_below_0V_s"] if j else ""
        row[f"charged_{ch}_Ah"] = j["results"]["charged_Ah"] if j else ""
        rows.append(row)
    csvp = os.path.join(out, "calendering.csv")
    with open(csvp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        for row in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    print(f"wrote {csvp}")
    show = ["point", "porosity_n", "porosity_p", "compression_pct", "thickness_n_um", "tau_n",
            "tau_p"] + [f"capacity_{r}C_Ah" for r in rates] + \
        [f"energy_{rates[0]}C_Wh_per_L", f"dT_{rates[-1]}C_K", f"min_anode_potential_{ch}_V"]
    print(" ".join(f"{h:>12.12s}" for h in show))
    for row in rows:
        print(" ".join(f"{row[h]:>12.4g}" if isinstance(row[h], float) else f"{row[h]:>12}"
                       for h in show))
    if not a.no_plot:
        plot(rows, rates, ch, os.path.join(out, "calendering.png"))
    return rows


def plot(rows, rates, ch, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    pts = [r for r in rows if r["point"] != "set"]
    ref = [r for r in rows if r["point"] == "set"]
    x = [r["porosity_p"] for r in pts]
    fig, ax = plt.subplots(2, 2, figsize=(10, 7.5))
    a0 = ax[0, 0]
    a0.plot(x, [r["tau_n"] for r in pts], "o-", label="tau_z negative")
    a0.plot(x, [r["tau_p"] for r in pts], "s-", label="tau_z positive")
    a0.set_ylabel("tortuosity factor tau_z")
    a0b = a0.twinx()
    a0b.plot(x, [r["stack_um"] for r in pts], "k:", label="stack")
    a0b.set_ylabel("stack repeat unit, um (dotted)")
    a0.legend(loc="upper left")
    a1 = ax[0, 1]
    for r in rates:
        line, = a1.plot(x, [p[f"capacity_{r}C_Ah"] for p in pts], "o-", label=f"{r}C")
        if ref and ref[0][f"capacity_{r}C_Ah"] != "":
            a1.axhline(ref[0][f"capacity_{r}C_Ah"], color=line.get_color(), ls="--", lw=0.8)
    a1.set_ylabel("discharge capacity, Ah (dashed: set, Bruggeman)")
    a1.legend()
    a2 = ax[1, 0]
    for r in (rates[0], rates[-1]):
        a2.plot(x, [p[f"energy_{r}C_Wh_per_L"] for p in pts], "o-", label=f"{r}C")
    a2.set_ylabel("energy density, Wh/L of the stack")
    a2.legend()
    a3 = ax[1, 1]
    for r in rates:
        a3.plot(x, [p[f"dT_{r}C_K"] for p in pts], "o-", label=f"dT {r}C")
    a3.set_ylabel("temperature rise, K (lumped)")
    a3.legend(loc="center left", fontsize=8)
    a3b = a3.twinx()
    a3b.plot(x, [p[f"min_anode_potential_{ch}_V"] for p in pts], "kx--")
    a3b.axhline(0, color="r", lw=0.8)
    a3b.set_ylabel(f"min anode potential vs Li, {ch} (x), V")
    for a_ in ax.flat:
        a_.set_xlabel("porosity (both electrodes)")
        a_.invert_xaxis()
        a_.grid(alpha=0.3)
    fig.suptitle("Calendering at fixed areal loading (more compressed to the right)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main(argv):
    a = parse_args(argv)
    a.tomocell = os.path.abspath(a.tomocell)
    st = load_set(a.params)
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    keep = ["params", "porosities", "rates", "charge_rate", "model", "nx", "thermal"]
    if a.collect:
        # the study's own options, so that --collect needs only --out
        try:
            with open(os.path.join(out, "study.json")) as f:
                for k, v in json.load(f).items():
                    setattr(a, k, v)
        except OSError:
            sys.exit(f"calendering_study: {out}/study.json is missing: run the study first")
        st = load_set(a.params)
        collect(a, st, out)
        return 0
    with open(os.path.join(out, "study.json"), "w") as f:
        json.dump({k: getattr(a, k) for k in keep}, f, indent=1)
    points = volumes(a, st, out)
    tl = tasks(a, st, points)
    deckp = deck(a, out)
    if a.runner == "direct":
        run_direct(a, out, tl, deckp)
    else:
        sweeps = write_sweep(a, out, tl, deckp)
        for name, p, _ in sweeps:
            mode = ["-local", "-jobs", str(a.jobs)] if a.runner == "sweep" else ["-slurm"]
            r = subprocess.run([a.tomocell, "sweep", p] + mode, capture_output=True, text=True)
            print(r.stdout.strip())
            if r.returncode != 0:
                print(r.stderr.strip(), file=sys.stderr)
        if a.runner == "slurm":
            print(f"submitted; when the gather jobs have finished:\n  /usr/bin/python3 "
                  f"{os.path.abspath(__file__)} --collect --out {out}")
            return 0
    collect(a, st, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
