"""Shared runner for the bad-input tests of every subcommand.

run_all(subcommand, cases, argv): argv is TOMOCELL [NRANKS MPIEXEC ARGS...].
cases(tmp) returns (name, args after the subcommand, words expected on
stderr, output path that must not exist). Each case runs in the temporary
directory with a 120 s timeout (a hang fails) and must exit with status 1,
say every expected word, show no PETSc traceback or crash, and leave neither
its output nor temporary files behind (with one_error_line, also print
exactly one "tomocell: error:" line, i.e. one rank reports a collective error).
"""
import os
import subprocess
import tempfile


def run_all(subcommand, cases, argv, one_error_line=False):
    tomocell = argv[0]
    nranks = int(argv[1]) if len(argv) > 1 else 1
    launcher = argv[2:] if nranks > 1 else []
    failures = total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, args, words, out in cases(tmp):
            total += 1
            cmd = launcher + [tomocell, subcommand] + args
            try:
                r = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=120)
            except subprocess.TimeoutExpired:
                print(f"FAIL {name}: timed out (hang)")
                failures += 1
                continue
            problems = []
            if r.returncode != 1:
                problems.append(f"exit status {r.returncode}, expected 1")
            for w in words:
                if w not in r.stderr:
                    problems.append(f"stderr lacks {w!r}")
            if "PETSC ERROR" in r.stderr or "Segmentation" in r.stderr:
                problems.append("stderr shows a traceback or crash instead of a clear message")
            nerr = sum(l.startswith("tomocell: error:") for l in r.stderr.splitlines())
            if one_error_line and nerr != 1:
                problems.append(f"{nerr} 'tomocell: error:' lines, expected one")
            if out and os.path.exists(os.path.join(tmp, out)):
                problems.append(f"output {out} was left behind")
            leftovers = [f for _, _, files in os.walk(tmp) for f in files if ".tmp-" in f]
            if leftovers:
                problems.append(f"temporary files left: {leftovers}")
            if problems:
                failures += 1
                print(f"FAIL {name}: " + "; ".join(problems))
                print("  stderr: " + r.stderr.strip().replace("\n", "\n          "))
            else:
                print(f"ok   {name}: {r.stderr.strip().splitlines()[0] if r.stderr.strip() else ''}")
    print(f"{total - failures} passed, {failures} failed")
    return 1 if failures else 0
