#!/usr/bin/python3
"""Unknown command-line options are errors with a did-you-mean (issue 19, item 4).

usage: test_unknown_options.py TOMOCELL [RANKS]

Each bad case must exit 1 (2 for a usage error) with one line naming the option
and, where one is close, the accepted name; no PETSc traceback and no output.
The good cases (deck keys, tomocell's own options, PETSc solver, viewer and
run-time options) must still run and exit 0.
"""
import os
import subprocess
import sys
import tempfile

TC = os.path.abspath(sys.argv[1])
RANKS = int(sys.argv[2]) if len(sys.argv) > 2 else 1
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
DEMO = os.path.join(ROOT, "inputs", "foil_demo.yaml")


def launcher():
    if RANKS == 1:
        return []
    cmd = ["mpiexec", "--oversubscribe", "-n", str(RANKS)]
    if os.geteuid() == 0:
        cmd.insert(1, "--allow-run-as-root")
    return cmd


def run(args, cwd):
    # tomocell cell runs one cell on one rank
    L = [] if args[0] == "cell" and "-foo" not in args and "-temperature" not in args else launcher()
    p = subprocess.run(L + [TC] + args, cwd=cwd, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


SHORT = ["-experiment", "Discharge at 1C for 10 seconds"]

BAD = [
    # arguments, exit status, words expected on stderr
    (["cell", "-temperature", "310"], 1, ["unknown key \'temperature\'", "did you mean \'ambient_temperature\'?"]),
    (["cell", "-soc", "0.5"], 1, ["unknown key \'soc\'", "did you mean \'initial_soc\'?"]),
    (["cell", "-foo", "1"], 1, ["unknown key \'foo\'", "tomocell cell --help"]),
    (["cell", "-initial_sox", "0.5"], 1, ["unknown key \'initial_sox\'", "did you mean \'initial_soc\'?"]),
    (["cell", "-ksp_rtoll", "1e-8"], 1, ["unknown key \'ksp_rtoll\'", "did you mean \'ksp_rtol\'?"]),
    (["cell", "-ksp_typ", "cg"], 1, ["unknown key \'ksp_typ\'", "did you mean \'ksp_type\'?"]),
    (["cell", "-thermal_ksp_rtoll", "1e-8"], 1, ["did you mean \'thermal_ksp_rtol\'?"]),
    # a type's own options are probed with the type given
    (["cell", "-pc_type", "gamg", "-pc_gamg_treshold", "0.1"], 1, ["did you mean \'pc_gamg_threshold\'?"]),
    # BoomerAMG's options count for the AMG the roll uses by default, not when
    # another preconditioner is named
    (["run", DEMO, "-pc_type", "gamg", "-pc_hypre_boomeramg_agg_nl", "0"], 1,
     ["unknown key 'pc_hypre_boomeramg_agg_nl'"]),
    (["run", DEMO, "-thermal_pc_hypre_boomeramg_agg_nll", "0"], 1,
     ["unknown key 'thermal_pc_hypre_boomeramg_agg_nll'"]),
    # an option of another command
    (["tortuosity", "missing.h5", "-restart", "x.h5"], 1, ["unknown key \'restart\'", "tomocell tortuosity"]),
    (["run", DEMO, "-foil_lenght_m", "0.5"], 1, ["unknown key \'foil_lenght_m\'", "did you mean \'foil_length_m\'?"]),
    (["run", DEMO, "-ksp_rtoll", "1e-8"], 1, ["did you mean \'ksp_rtol\'?"]),
    # two dashes: a usage error with the one-dash spelling
    (["cell", "--initial_soc", "0.5"], 2, ["unknown option '--initial_soc'", "-initial_soc"]),
]

GOOD = [
    (["cell", "--version"], ["tomocell "]),
    (["cell", "-version"], ["tomocell "]),
    (["cell", "-initial_soc", "0.9", "-ambient_temperature", "300"] + SHORT, []),
    (["cell", "-ksp_rtol", "1e-8", "-ksp_converged_reason", "-mat_view", "::ascii_info", "-options_left", "0",
      "-pc_type", "gamg", "-pc_gamg_threshold", "0.05", "-thermal_ksp_type", "cg", "-progress", "5"] + SHORT, []),
    (["run", DEMO, "-ksp_rtol", "1e-10", "-ksp_type", "cg", "-net_partition_ufactor", "30"], ["effective resistance"]),
    (["run", DEMO, "-pc_hypre_boomeramg_agg_nl", "1", "-thermal_pc_hypre_boomeramg_P_max", "4"],
     ["effective resistance"]),
]

fails = 0
with tempfile.TemporaryDirectory() as tmp:
    for i, (args, code, words) in enumerate(BAD):
        cwd = os.path.join(tmp, "bad%d" % i)
        os.mkdir(cwd)
        rc, out, err = run(args + ["-output", "out"], cwd)
        msgs = []
        if rc != code:
            msgs.append("exit %d, expected %d" % (rc, code))
        for w in words:
            if w not in err:
                msgs.append("stderr lacks %r" % w)
        if "Traceback" in err or "PETSC ERROR" in err:
            msgs.append("traceback on stderr")
        if os.listdir(cwd):
            msgs.append("left output: %s" % os.listdir(cwd))
        print("%-60s %s" % (" ".join(args)[:60], "ok" if not msgs else "FAIL: " + "; ".join(msgs)))
        if msgs:
            print("  stderr:", err.strip()[-600:])
            fails += 1
    for i, (args, words) in enumerate(GOOD):
        cwd = os.path.join(tmp, "good%d" % i)
        os.mkdir(cwd)
        extra = [] if "version" in args[1] else ["-output", os.path.join(cwd, "out")]
        rc, out, err = run(args + extra, cwd)
        msgs = [] if rc == 0 else ["exit %d" % rc]
        for w in words:
            if w not in out:
                msgs.append("stdout lacks %r" % w)
        print("%-60s %s" % (" ".join(args)[:60], "ok" if not msgs else "FAIL: " + "; ".join(msgs)))
        if msgs:
            print("  stderr:", err.strip()[-600:])
            fails += 1
print("%d failure(s)" % fails)
sys.exit(1 if fails else 0)
