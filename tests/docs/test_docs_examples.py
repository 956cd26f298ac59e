#!/usr/bin/python3
"""Every ```sh example of README.md and docs/*.md runs and exits 0.

usage: test_docs_examples.py TOMOCELL SOURCE_DIR [--list] [--only FILE[:LINE]] [--keep DIR]

The examples are written to be run from the repository root after
`tools/setup.sh` and `tools/make-examples.sh`. This test builds such a root in
a scratch directory: symbolic links to the source's inputs/, tools/, jobs/,
python/ and docs/, and build/ pointing at the directory of TOMOCELL (so the
test checks the build it was configured for); then runs
`tools/make-examples.sh` there, and every ```sh block, file by file (README.md
first, then docs/*.md in name order) and in the order of the file, each as one
`bash -e -o pipefail` script in that root, so later blocks may use what earlier
blocks of the same or an earlier file made. A block fails on any non-zero
exit status (the first failing command stops it); the test fails when any
block fails.

A block is left out when the line before its opening fence is a marker
`<!-- no-test: REASON -->` (it needs Slurm, the network, root's package
manager, the validation data of ../shared, or takes more than a minute). Every
marker must give a reason; the list of blocks left out is printed, and each
of them must still parse as shell (bash -n).

As the docs say for root, mpiexec is told to allow root through Open MPI's
environment variables (OMPI_ALLOW_RUN_AS_ROOT=1, ..._CONFIRM=1).
"""
import glob
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

args = sys.argv[1:]
list_only = "--list" in args
only = None
keep = None
if "--only" in args:
    only = args[args.index("--only") + 1]
    del args[args.index("--only"):args.index("--only") + 2]
if "--keep" in args:
    keep = os.path.abspath(args[args.index("--keep") + 1])
    del args[args.index("--keep"):args.index("--keep") + 2]
args = [a for a in args if a != "--list"]
tomocell, src = os.path.abspath(args[0]), os.path.abspath(args[1])
MARK = re.compile(r"^<!--\s*no-test:\s*(.*?)\s*-->\s*$")


def blocks(path):
    """[(line, text, skip_reason or None)] of the ```sh blocks of path."""
    out, lines = [], open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```sh":
            start = i + 1
            prev = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            m = MARK.match(prev.strip())
            j = start
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            if j == len(lines):
                raise SystemExit(f"{path}:{i + 1}: unterminated ```sh block")
            reason = None
            if m:
                reason = m.group(1)
                if not reason:
                    raise SystemExit(f"{path}:{i}: a no-test marker needs a reason")
            out.append((i + 1, "\n".join(lines[start:j]) + "\n", reason))
            i = j
        elif MARK.match(lines[i].strip()):
            nxt = next((lines[j] for j in range(i + 1, len(lines)) if lines[j].strip()), "")
            if nxt.strip() != "```sh":
                raise SystemExit(f"{path}:{i + 1}: a no-test marker not followed by a ```sh block")
        i += 1
    return out


files = [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md")))
todo = []
for f in files:
    rel = os.path.relpath(f, src)
    for line, text, reason in blocks(f):
        todo.append((rel, line, text, reason))
if list_only:
    for rel, line, text, reason in todo:
        print(f"{rel}:{line}: {'skip: ' + reason if reason else 'run'}")
    sys.exit(0)

root = keep or tempfile.mkdtemp(prefix="tc-docs-")
os.makedirs(root, exist_ok=True)
for d in ("inputs", "tools", "jobs", "python", "docs", "bench"):
    if not os.path.lexists(os.path.join(root, d)):
        os.symlink(os.path.join(src, d), os.path.join(root, d))
if not os.path.lexists(os.path.join(root, "build")):
    os.symlink(os.path.dirname(tomocell), os.path.join(root, "build"))
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
for k in list(env):
    if k.startswith("SLURM_"):
        del env[k]

failures, skipped, t_all = [], [], time.time()


# Open MPI's start-up itself failing (its runtime, before tomocell runs) on a
# machine loaded by other jobs: one retry of the block, said so in the log
MPI_STARTUP = re.compile(r"orte_ess_init failed|ompi_rte_init failed")


def run(name, script, timeout=600):
    t0 = time.time()
    for attempt in (1, 2):
        try:
            r = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=root, env=env,
                               capture_output=True, text=True, timeout=timeout)
            code, out = r.returncode, r.stdout + r.stderr
        except subprocess.TimeoutExpired as e:
            code, out = "timeout", e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else str(e.stdout or "")
        if code == 0 or attempt == 2 or not MPI_STARTUP.search(out):
            break
        print(f"note {name}: Open MPI failed to start (orte_ess_init); running the block again", flush=True)
    dt = time.time() - t0
    ok = code == 0
    print(f"{'ok  ' if ok else 'FAIL'} {name} ({dt:.1f} s)" + ("" if ok else f": exit {code}"), flush=True)
    if not ok:
        failures.append(name)
        print("     " + "\n     ".join(out.strip().splitlines()[-25:]))
    return ok


try:
    if only is None or only == "make-examples":
        if not run("tools/make-examples.sh", "tools/make-examples.sh\n"):
            raise SystemExit(1)
    for rel, line, text, reason in todo:
        name = f"{rel}:{line}"
        if only and only != "make-examples" and not (name == only or rel == only):
            continue
        if reason:
            skipped.append(f"{name}: {reason}")
            # not run, but it must still be valid shell
            r = subprocess.run(["bash", "-n", "-c", text], capture_output=True, text=True)
            if r.returncode != 0:
                failures.append(name)
                print(f"FAIL {name} (no-test): not valid shell: {r.stderr.strip()}")
            continue
        run(name, text)
finally:
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
for s in skipped:
    print(f"skip {s}")
n_run = sum(1 for t in todo if not t[3])
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{n_run} example block(s) run, {len(skipped)} left out by a no-test marker, {len(failures)} failed, "
      f"{time.time() - t_all:.0f} s in all (CPU {ru.ru_utime + ru.ru_stime:.0f} s of the commands; "
      f"load average {os.getloadavg()[0]:.1f})")
sys.exit(1 if failures else 0)
