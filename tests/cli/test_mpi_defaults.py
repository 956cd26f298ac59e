"""tomocell's own Open MPI defaults (src/main.c, TCSetMPIDefaults).

    test_mpi_defaults.py TOMOCELL [MPIEXEC ARGS...]

Open MPI prints the MCA parameters taken from the environment when
OMPI_MCA_mpi_show_mca_params=enviro. Without a launcher (a singleton): waiting
ranks yield (mpi_yield_when_idle), no daemon is forked
(ess_singleton_isolated) and only the self transport is opened (btl self, pml
ob1) and no session directory is made (orte_create_session_dirs 0, so that
concurrent singletons do not race on /tmp/ompi.*); a value the user set wins; TC_MPI_DEFAULTS=0 sets none; what tomocell
starts itself (sbatch from sweep -slurm) does not inherit them. With a launcher
(2 ranks, Open MPI's mpiexec): the yield default only for ranks that are not
bound to one core (--bind-to none: set; --bind-to core: not), all ranks on
this one node: the ob1 PML (the cm PML's PSM/PSM2 probes cost ~0.2 s at every
start) unless the user chose a PML or an MTL, no other transport choice, and
the run works.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

CELL = ["cell", "-params", "chen2020", "-model", "spm", "-experiment", "Discharge at 1C for 1 minute"]
ROLL = """job: roll
preset: 18650
network:
  ds_m: 20e-3
  nz: 1
tab:
  cu: end
  al: start
model: spm
thermal: isothermal
plots: false
experiment: "Discharge at 1C for 1 minute"
"""


def shown(launcher, tomocell, args, cwd, **env):
    e = dict(os.environ)
    for k in [k for k in e if k.startswith("OMPI_MCA_") or k == "TC_MPI_DEFAULTS"]:
        del e[k]
    e.update(env)
    e["OMPI_MCA_mpi_show_mca_params"] = "enviro"
    r = subprocess.run(launcher + [tomocell] + args, cwd=cwd, env=e, capture_output=True,
                       text=True, timeout=300)
    params = dict(re.findall(r"\] (\w+)=(\S*) \(environment\)", r.stdout + r.stderr))
    return r.returncode, params, r.stdout + r.stderr


def check(fails, ok, what):
    print(f"{'ok  ' if ok else 'FAIL'} {what}")
    return fails + (not ok)


def main():
    tomocell, launcher = sys.argv[1], sys.argv[2:]
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        if not launcher:
            out = CELL + ["-output", os.path.join(tmp, "c.csv")]
            rc, p, log = shown([], tomocell, out, tmp)
            fails = check(fails, rc == 0, f"singleton run exits 0 (got {rc})")
            want = {"mpi_yield_when_idle": "true", "ess_singleton_isolated": "true",
                    "btl": "self", "pml": "ob1", "orte_create_session_dirs": "false"}
            for k, v in want.items():
                fails = check(fails, p.get(k) == v, f"singleton default {k}={p.get(k)} (want {v})")
            rc, p, log = shown([], tomocell, out, tmp, OMPI_MCA_mpi_yield_when_idle="0",
                               OMPI_MCA_btl="self,vader")
            fails = check(fails, rc == 0 and p.get("mpi_yield_when_idle") == "false" and
                          p.get("btl") == "self,vader",
                          f"the user's values win: yield {p.get('mpi_yield_when_idle')}, "
                          f"btl {p.get('btl')}")
            rc, p, log = shown([], tomocell, out, tmp, TC_MPI_DEFAULTS="0")
            ours = [k for k in ("mpi_yield_when_idle", "ess_singleton_isolated", "btl", "pml") if k in p]
            fails = check(fails, rc == 0 and not ours, f"TC_MPI_DEFAULTS=0 sets none (set: {ours})")
            # what tomocell starts (here sbatch, from sweep -slurm) must not inherit them
            fake = os.path.join(tmp, "sbatch")
            with open(fake, "w") as f:
                f.write(f"#!/bin/sh\nenv > '{tmp}/sbatch.env'\necho 4242\n")
            os.chmod(fake, 0o755)
            sw = os.path.join(tmp, "s.yaml")
            with open(sw, "w") as f:
                f.write("sweep:\n  command: cell\n  output: sw\nparameters:\n  model: [spm, spme]\n")
            e = {k: v for k, v in os.environ.items() if not k.startswith("OMPI_MCA_")}
            e["SBATCH"] = fake
            r = subprocess.run([tomocell, "sweep", sw, "-slurm"], cwd=tmp, env=e, capture_output=True,
                               text=True, timeout=120)
            seen = open(os.path.join(tmp, "sbatch.env")).read() if os.path.exists(
                os.path.join(tmp, "sbatch.env")) else None
            leaked = [k for k in ("OMPI_MCA_mpi_yield_when_idle", "OMPI_MCA_ess_singleton_isolated",
                                  "OMPI_MCA_btl", "OMPI_MCA_pml", "OMPI_MCA_orte_create_session_dirs")
                      if seen and k + "=" in seen]
            fails = check(fails, r.returncode == 0 and seen is not None and not leaked,
                          f"sbatch started by sweep -slurm ran (rc {r.returncode}) without tomocell's "
                          f"defaults in its environment (leaked: {leaked})")
            # concurrent singletons, started staggered as sweep -local's workers are: with
            # session directories one ending removed /tmp/ompi.* while another's orte_init
            # made its own below it (12 of 60 failed); without them none may fail
            procs = []
            for i in range(48):
                e = {k: v for k, v in os.environ.items() if not k.startswith("OMPI_MCA_")}
                procs.append(subprocess.Popen(
                    [tomocell] + CELL + ["-output", os.path.join(tmp, f"con{i}.csv")], cwd=tmp, env=e,
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
                time.sleep(0.02 * (i % 5))
            bad = []
            for i, pr in enumerate(procs):
                err = pr.communicate(timeout=300)[1]
                if pr.returncode != 0:
                    bad.append((i, pr.returncode, err.strip().splitlines()[-1:] if err else ""))
            fails = check(fails, not bad, f"48 concurrent singleton runs, staggered: {len(bad)} failed "
                          f"{bad[:2]}")
            ranks = 1
        else:
            deck = os.path.join(tmp, "r.yaml")
            with open(deck, "w") as f:
                f.write(ROLL)
            for bind, yield_ in (("none", "true"), ("core", None)):
                rc, p, log = shown(launcher + ["--bind-to", bind], tomocell,
                                   ["run", deck, "-output", os.path.join(tmp, "o" + bind)], tmp)
                fails = check(fails, rc == 0, f"2-rank run, --bind-to {bind}: exits 0 (got {rc})")
                fails = check(fails, p.get("mpi_yield_when_idle") == yield_,
                              f"--bind-to {bind}: yield default {p.get('mpi_yield_when_idle')} "
                              f"(want {yield_})")
                fails = check(fails, "btl" not in p and "ess_singleton_isolated" not in p,
                              f"--bind-to {bind}: btl left alone (btl {p.get('btl')})")
                fails = check(fails, p.get("pml") == "ob1",
                              f"--bind-to {bind}: one node: pml default {p.get('pml')} (want ob1)")
                if rc != 0:
                    print(log[-3000:])
            # an MTL (or PML) the user chose: no PML default (the cm PML may be wanted)
            rc, p, log = shown(launcher, tomocell, ["run", deck, "-output", os.path.join(tmp, "omtl")],
                               tmp, OMPI_MCA_mtl="^ofi")
            fails = check(fails, rc == 0 and "pml" not in p,
                          f"the user's mtl: exits {rc}, pml {p.get('pml')} (want none set)")
            ranks = 2
    print(f"mpi defaults {'ok' if not fails else 'FAILED'} at {ranks} rank(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
