#!/usr/bin/python3
"""Writes under a full disk are complete or absent, with the right exit status.

usage: fulldisk.py TOMOCELL [NRANKS MPIEXEC ARGS...]

Mounts small tmpfs file systems (sizes chosen so that the disk fills during
different files of a run: the HDF5 results, the XDMF, the summary JSON, a CSV)
and runs commands with their output there. Each run must either exit 0 with
every output complete (and nothing else), or exit 1 with exactly one
"tomocell: error:" line, no trace or crash, and nothing at all left on the
disk. Exits 77 (ctest SKIP) when tmpfs cannot be mounted here (not root, or
no mount permission in the container), saying why.
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile  # noqa: E402

SKIP = 77


def main(argv):
    tomocell = os.path.abspath(argv[1])
    nranks = int(argv[2]) if len(argv) > 2 else 1
    launcher = argv[3:] if nranks > 1 else []
    work = tempfile.mkdtemp(prefix="tc-fulldisk-")
    mnt = os.path.join(work, "disk")
    os.mkdir(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"SKIP: cannot mount a tmpfs here ({(r.stderr or r.stdout).strip() or 'mount failed'}); "
              "the full-disk cases need root or mount permission")
        shutil.rmtree(work, ignore_errors=True)
        return SKIP
    subprocess.run(["umount", mnt])
    demo = os.path.join(hostile.INPUTS, "foil_demo.yaml")
    params = os.path.join(hostile.INPUTS, "params", "chen2020.json")
    runs = [
        ("run foil", ["run", demo, "-output", "out"], ["out"]),
        ("microstructure", ["microstructure", "-size", "60,60,60", "-output", "m.h5"], ["m.h5"]),
        ("geometry render", ["geometry", os.path.join(hostile.ROOT, "tests", "roll", "small.yaml"),
                             "-render", "ct.h5", "-output", "net.h5"], ["ct.h5", "net.h5", "net.json", "net.xmf"]),
    ]
    if nranks == 1:
        runs.append(("cell", ["cell", "-params", params, "-experiment", "Discharge at 1C until 3 V",
                              "-output", "c.csv"], ["c.csv", "c.json"]))
    failures = total = 0
    try:
        for size_k in (16, 200, 600, 900, 1400, 4000):
            for name, args, outputs in runs:
                total += 1
                subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_k}k", "tmpfs", mnt], check=True)
                try:
                    r = subprocess.run(launcher + [tomocell] + args, cwd=mnt, capture_output=True, text=True,
                                       timeout=120, stdin=subprocess.DEVNULL)
                    left = sorted(os.path.relpath(os.path.join(d, f), mnt)
                                  for d, ds, fs in os.walk(mnt) for f in fs + ds)
                finally:
                    subprocess.run(["umount", "-l", mnt])
                problems = []
                for m in hostile.TRACE_MARKERS:
                    if m in r.stderr:
                        problems.append(f"stderr shows {m!r}")
                nerr = sum(l.startswith("tomocell: error:") for l in r.stderr.splitlines())
                if r.returncode == 0:
                    if nerr:
                        problems.append("exit 0 with an error line")
                    if any(".tmp-" in f for f in left):
                        problems.append(f"temporary files left: {left}")
                    for o in outputs:
                        if o not in left:
                            problems.append(f"exit 0 but {o} missing")
                    verdict = "complete"
                elif r.returncode == 1:
                    if nerr != 1:
                        problems.append(f"{nerr} 'tomocell: error:' lines")
                    if left:
                        problems.append(f"failed but left {left}")
                    verdict = "absent"
                else:
                    problems.append(f"exit status {r.returncode}")
                    verdict = "?"
                first = next((l for l in r.stderr.splitlines() if l.startswith("tomocell: error:")), "")
                if problems:
                    failures += 1
                    print(f"FAIL {name} on {size_k} KB: " + "; ".join(problems) + f"\n     {r.stderr[-800:]}")
                else:
                    print(f"ok   {name} on {size_k} KB: {verdict} {first[:150]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"full disk at {nranks} rank(s): {total - failures} of {total} runs complete or absent")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
