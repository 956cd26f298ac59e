"""Every assembled matrix outside the roll is preallocated exactly.

    test_prealloc_jobs.py TOMOCELL [MPIEXEC ARGS...]

With PETSc's -info for the Mat class, every MatAssemblyEnd reports the
mallocs MatSetValues needed; a preallocation that misses an entry shows as a
count > 0 (and, since the matrices refuse new nonzeros with
MAT_NEW_NONZERO_ALLOCATION_ERR, as a failed run). Checked here: the foil
sheet network (`tomocell run`, job foil, 121 x 13 nodes), a CSV network with
repeated and reversed edges and a node of high degree (job network: its
duplicate edges add into one entry, so counting them twice would
over-allocate but never reallocate), and the assembled tortuosity operator
(`tomocell tortuosity -tau_solver aij` on a 24^3 sphere pack). The 3-D roll's
matrices (thermal cross-layer links) are checked by roll_prealloc.
"""
import os
import re
import subprocess
import sys
import tempfile


def mallocs(cmd, cwd, what):
    r = subprocess.run(cmd + ["-info", ":mat"], capture_output=True, text=True, timeout=600, cwd=cwd)
    if r.returncode != 0:
        print(r.stdout[-3000:], r.stderr[-3000:])
        print(f"FAIL {what}: exit {r.returncode}")
        return False
    counts = [int(m) for m in re.findall(r"Number of mallocs during MatSetValues\(\) is (\d+)", r.stdout + r.stderr)]
    ok = len(counts) >= 1 and max(counts) == 0
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {len(counts)} assemblies, mallocs during MatSetValues: "
          f"max {max(counts) if counts else 'none'}")
    return ok


def main():
    tomocell, launcher = sys.argv[1], sys.argv[2:]
    ranks = launcher[launcher.index("-n") + 1] if "-n" in launcher else "1"
    here = os.path.dirname(os.path.abspath(__file__))
    foil = os.path.join(here, "..", "..", "inputs", "foil_demo.yaml")
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        fails += not mallocs(launcher + [tomocell, "run", foil, "-output", os.path.join(tmp, "foil"),
                                         "-foil_ns", "121", "-foil_nz", "13"], tmp, "foil 121 x 13")
        # a 12 x 12 grid with diagonals, every edge once more reversed, a hub joined to 40 nodes
        n, edges = 145, []
        for i in range(12):
            for j in range(12):
                a = 12 * i + j
                if j < 11:
                    edges.append((a, a + 1, 1.0))
                if i < 11:
                    edges.append((a, a + 12, 2.0))
                if i < 11 and j < 11:
                    edges.append((a, a + 13, 0.5))
        edges += [(b, a, g) for a, b, g in edges[::3]]
        edges += [(144, k, 0.1) for k in range(0, 144, 3)]
        with open(os.path.join(tmp, "nodes.csv"), "w") as f:
            f.write("id,x_m,y_m,z_m,fixed_V,inject_A\n")
            for k in range(n):
                fixed = "0" if k == 0 else ""
                inject = "1.0" if k == 143 else "0"
                f.write(f"{k},{k % 12},{k // 12},0,{fixed},{inject}\n")
        with open(os.path.join(tmp, "edges.csv"), "w") as f:
            f.write("i,j,G_S\n")
            for a, b, g in edges:
                f.write(f"{a},{b},{g}\n")
        with open(os.path.join(tmp, "net.yaml"), "w") as f:
            f.write("job: network\nnetwork:\n  nodes: nodes.csv\n  edges: edges.csv\n")
        fails += not mallocs(launcher + [tomocell, "run", os.path.join(tmp, "net.yaml"), "-output",
                                         os.path.join(tmp, "net")], tmp, f"CSV network, {n} nodes, {len(edges)} edges")
        vol = os.path.join(tmp, "vol.h5")
        r = subprocess.run([tomocell, "microstructure", "-output", vol, "-size", "24,24,24", "-radius_m", "3e-6"],
                           capture_output=True, text=True, timeout=300, cwd=tmp)
        if r.returncode != 0:
            print(r.stdout[-2000:], r.stderr[-2000:])
            print("FAIL microstructure")
            fails += 1
        else:
            fails += not mallocs(launcher + [tomocell, "tortuosity", vol, "-tau_solver", "aij", "-output",
                                             os.path.join(tmp, "tau.json")], tmp, "tortuosity 24^3, assembled")
    print(f"job preallocation {'ok' if not fails else 'FAILED'} at {ranks} rank(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
