#!/usr/bin/python3
"""MPI launches that tomocell prints or starts work as root (issue 19, item 1).

usage: test_mpiexec_root.py TOMOCELL

Open MPI refuses to start as root without --allow-run-as-root (and more ranks
than cores without --oversubscribe). With MPIEXEC and Open MPI's
OMPI_ALLOW_RUN_AS_ROOT* variables removed from the environment, each of these
must exit 0 (as root they failed before):
  1. the mpiexec command `tomocell --help` prints, run as printed (N = 2);
  2. jobs/calendering_study.py's launcher for 2 ranks and for cores + 2 ranks;
  3. jobs/run.sbatch outside Slurm (its mpiexec fall-back) on the foil demo;
  4. tomocell sweep -local with ranks: 2 (each task started by mpiexec).
"""
import importlib.util
import os
import re
import subprocess
import sys
import tempfile

TC = os.path.abspath(sys.argv[1])
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ENV = {k: v for k, v in os.environ.items()
       if k not in ("MPIEXEC", "MPIEXEC_FLAGS", "SLURM_JOB_ID") and not k.startswith("OMPI_ALLOW_RUN_AS_ROOT")}
fails = 0


def check(ok, what, detail=""):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        print("  " + detail.strip()[-1500:])
        fails += 1


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=ENV, **kw)


print("running as", "root" if os.geteuid() == 0 else "uid %d" % os.geteuid())

# 1. the printed command
h = run([TC, "--help"]).stdout
m = re.search(r"Run in parallel with (.*?) -n N tomocell", h)
check(m is not None, "tomocell --help prints an mpiexec command", h)
if m:
    words = m.group(1).split()
    if os.geteuid() == 0:
        check("--allow-run-as-root" in words, "as root the printed command has --allow-run-as-root", h)
    r = run(words + ["-n", "2", TC, "--version"])
    check(r.returncode == 0 and "tomocell" in r.stdout, "printed command runs: " + " ".join(words) + " -n 2",
          r.stderr)

# 2. calendering_study's launcher
spec = importlib.util.spec_from_file_location("cs", os.path.join(ROOT, "jobs", "calendering_study.py"))
cs = importlib.util.module_from_spec(spec)
saved = dict(os.environ)
os.environ.clear()
os.environ.update(ENV)
spec.loader.exec_module(cs)
for n in (2, (os.cpu_count() or 1) + 2):
    L = cs.launcher(n)
    r = run(L + [TC, "--version"])
    check(r.returncode == 0, "calendering_study launcher(%d): %s" % (n, " ".join(L)), r.stderr)
os.environ.clear()
os.environ.update(saved)

with tempfile.TemporaryDirectory() as tmp:
    # 3. run.sbatch's mpiexec fall-back
    env = dict(ENV, NTASKS="2", TOMOCELL=TC)
    r = subprocess.run(["bash", os.path.join(ROOT, "jobs", "run.sbatch"), "inputs/foil_demo.yaml", "-foil_ns", "41",
                        "-foil_nz", "5", "-output", os.path.join(tmp, "sb")],
                       capture_output=True, text=True, timeout=600, env=env, cwd=tmp)
    check(r.returncode == 0 and "effective resistance" in r.stdout, "jobs/run.sbatch outside Slurm, 2 tasks",
          r.stdout + r.stderr)
    # 4. sweep tasks with 2 ranks each
    sw = os.path.join(tmp, "sw.yaml")
    with open(sw, "w") as f:
        f.write("sweep:\n  command: run\n  input: %s\n  ranks: 2\n  output: %s\nparameters:\n"
                "  foil_ns: [21, 31]\n  foil_nz: [5]\n" % (os.path.join(ROOT, "inputs", "foil_demo.yaml"),
                                                         os.path.join(tmp, "swout")))
    r = run([TC, "sweep", sw, "-local", "-jobs", "1"], cwd=tmp)
    logs = ""
    for t in ("task_0000", "task_0001"):
        p = os.path.join(tmp, "swout", t, "log.txt")
        logs += open(p).read() if os.path.exists(p) else ""
    check(r.returncode == 0 and logs.count("effective resistance") == 2, "sweep -local, ranks: 2",
          r.stdout + r.stderr + logs)
print("%d failure(s)" % fails)
sys.exit(1 if fails else 0)
