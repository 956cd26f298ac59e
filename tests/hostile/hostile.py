#!/usr/bin/python3
"""The hostile-input suite: inputs a careless or unlucky user gives, for every
command, and what tomocell must do with them.

usage: hostile.py KIND TOMOCELL [NRANKS MPIEXEC ARGS...]

KIND selects a generator of cases (see KINDS below). Every case runs in one
temporary directory that holds small valid inputs made at the start (a
microstructure volume, a synthetic CT slice, a network, parameter sets, decks)
and must:

  * exit with status 1 (the run failed) or 2 (usage error),
  * print exactly one "tomocell: error:" line (status 1) and no PETSc trace,
    HDF5 diagnostic stack, MPI abort banner, sanitizer report or crash,
  * leave every file and directory exactly as it was: no new file, no
    changed file, inputs byte-identical (names, types, sizes and SHA-1 of the
    whole tree before and after), FIFOs and device nodes untouched,
  * finish within its time limit (a hang fails).

A case may instead expect success (ok=True) where the input is unusual but
legitimate; then it must exit 0 and only the named outputs may appear.
"""
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
INPUTS = os.path.join(ROOT, "inputs")

TRACE_MARKERS = ["PETSC ERROR", "Segmentation", "HDF5-DIAG", "MPI_ABORT", "buffer overflow",
                 "Aborted", "AddressSanitizer", "runtime error:", "core dumped", "Traceback",
                 "mpiexec noticed", "prterun noticed", "Caught signal"]


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)


def snapshot(top):
    """Everything under top: relative path -> (kind, size, sha1)."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, top)
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    snap[rel] = ("file", st.st_size, hashlib.sha1(f.read()).hexdigest())
            else:
                snap[rel] = (stat.S_IFMT(st.st_mode), 0, "")
    return snap


class Case:
    def __init__(self, name, args, words=(), limit=60, ok=False, outputs=(), status=None, env=None):
        self.name, self.args, self.words, self.limit = name, args, list(words), limit
        self.ok, self.outputs, self.status, self.env = ok, list(outputs), status, env


def sh(cmd, cwd):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"fixture {' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")


def fixture(tomocell, tmp):
    """Small valid inputs of every kind (made at 1 rank, a few seconds)."""
    shutil.copy(os.path.join(INPUTS, "params", "chen2020.json"), os.path.join(tmp, "X.json"))
    shutil.copy(os.path.join(INPUTS, "params", "abuse_kim2007.json"), os.path.join(tmp, "a.json"))
    shutil.copy(os.path.join(INPUTS, "foil_demo.yaml"), os.path.join(tmp, "foil.yaml"))
    shutil.copy(os.path.join(ROOT, "tests", "roll", "small.yaml"), os.path.join(tmp, "small.yaml"))
    sh([tomocell, "microstructure", "-size", "12,12,12", "-output", "vol.h5"], tmp)
    sh([tomocell, "geometry", "small.yaml", "-render", "ct.h5", "-output", "net.h5"], tmp)
    write(os.path.join(tmp, "n.csv"), "id,x_m,y_m,z_m,fixed_V,inject_A\n0,0,0,0,0,0\n1,1,0,0,,1\n2,2,0,0,,0\n")
    write(os.path.join(tmp, "e.csv"), "i,j,G_S\n0,1,1\n1,2,2\n")
    write(os.path.join(tmp, "net.yaml"), "job: network\nnetwork:\n  nodes: n.csv\n  edges: e.csv\n")
    write(os.path.join(tmp, "cell.yaml"), "params: X.json\nexperiment:\n  - Rest for 1 minutes\n"
          "output: cellout/cell.csv\n")
    write(os.path.join(tmp, "sweep.yaml"),
          "sweep:\n  command: run\n  input: foil.yaml\n  kind: product\n  ranks: 1\n"
          "  output: sweepout\nparameters:\n  load_current_A: [1, 2]\n")
    for name, out in (("sweepfull.yaml", "dev_full"), ("sweeplong.yaml", "S" * 300)):
        write(os.path.join(tmp, name),
              f"sweep:\n  command: run\n  input: foil.yaml\n  kind: product\n  ranks: 1\n"
              f"  output: {out}\nparameters:\n  load_current_A: [1, 2]\n")
    os.mkdir(os.path.join(tmp, "r"))
    shutil.copy(os.path.join(tmp, "n.csv"), os.path.join(tmp, "r", "summary.json"))
    write(os.path.join(tmp, "netr.yaml"), "job: network\nnetwork:\n  nodes: r/summary.json\n  edges: e.csv\n")
    os.mkdir(os.path.join(tmp, "d"))
    shutil.copy(os.path.join(tmp, "ct.h5"), os.path.join(tmp, "d", "compare.h5"))
    shutil.copy(os.path.join(tmp, "foil.yaml"), os.path.join(tmp, "d", "summary.json"))
    os.symlink("X.json", os.path.join(tmp, "link.json"))
    os.link(os.path.join(tmp, "a.json"), os.path.join(tmp, "hard.json"))
    # a private device node (what /dev/full is): a build with the old bug replaces
    # it, never the system's; without mknod permission the FIFO cases remain
    try:
        os.mknod(os.path.join(tmp, "dev_full"), stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except OSError:
        pass
    os.mkfifo(os.path.join(tmp, "fifo.yaml"))
    os.mkfifo(os.path.join(tmp, "fifo.json"))
    os.mkfifo(os.path.join(tmp, "fifo.h5"))
    os.mkfifo(os.path.join(tmp, "fifo.csv"))
    write(os.path.join(tmp, "zero.yaml"), "job: network\nnetwork:\n  nodes: /dev/zero\n  edges: e.csv\n")


def kind_identity(tmp):
    """Outputs onto inputs, onto each other, onto FIFOs and devices; FIFO and
    device inputs; file names longer than the file system allows."""
    dev = "dev_full" if os.path.exists(os.path.join(tmp, "dev_full")) else "fifo.csv"
    long = "L" * 300
    long250 = "M" * 250
    rest = ["-experiment", "Rest for 1 minutes"]
    return [
        # output == input (the summary JSON named after the output, or the output itself)
        Case("cell summary onto params", ["cell", "-params", "X.json", "-output", "X.csv"] + rest,
             ["X.json", "input"]),
        Case("cell output onto params", ["cell", "-params", "X.json", "-output", "X.json"] + rest, ["input"]),
        Case("cell summary onto params via symlink", ["cell", "-params", "link.json", "-output", "X.csv"] + rest,
             ["input"]),
        Case("cell output onto deck", ["cell", "cell.yaml", "-output", "cell.yaml"], ["input"]),
        Case("abuse summary onto params", ["abuse", "-params", "a.json", "-output", "a.csv"], ["a.json", "input"]),
        Case("abuse summary onto hard link", ["abuse", "-params", "hard.json", "-output", "a.csv"], ["input"]),
        Case("trace output onto volume", ["trace", "ct.h5", "-output", "ct.h5"], ["input"]),
        Case("trace summary onto volume", ["trace", "ct.h5", "-summary", "ct.h5"], ["input"]),
        Case("trace png onto volume", ["trace", "ct.h5", "-output", "t.h5", "-png", "./ct.h5"], ["input"]),
        Case("trace summary onto png", ["trace", "ct.h5", "-output", "t.h5", "-summary", "t.png", "-png", "t.png"],
             ["same file"]),
        Case("trace output onto summary", ["trace", "ct.h5", "-output", "t.h5", "-summary", "t.h5"], ["same file"]),
        Case("geometry output onto deck", ["geometry", "small.yaml", "-output", "small.yaml"], ["input"]),
        Case("geometry summary onto deck", ["geometry", "small.yaml", "-output", "g.h5", "-summary", "small.yaml"],
             ["input"]),
        Case("geometry render onto deck", ["geometry", "small.yaml", "-render", "small.yaml"], ["input"]),
        Case("geometry render onto output", ["geometry", "small.yaml", "-render", "g.h5", "-output", "g.h5"],
             ["same file"]),
        Case("tortuosity output onto volume", ["tortuosity", "vol.h5", "-output", "vol.h5"], ["input"]),
        Case("tortuosity field onto volume", ["tortuosity", "vol.h5", "-field", "vol.h5"], ["input"]),
        Case("tortuosity field onto output", ["tortuosity", "vol.h5", "-output", "t.json", "-field", "t.json"],
             ["same file"]),
        Case("microstructure calender onto itself", ["microstructure", "-calender", "vol.h5", "-output", "vol.h5"],
             ["input"]),
        Case("run summary onto deck", ["run", "d/summary.json", "-output", "d"], ["input"]),
        Case("run summary onto nodes CSV", ["run", "netr.yaml", "-output", "r"], ["input"]),
        Case("compare output onto results", ["compare", "d/compare.h5", "ct.h5", "-output", "d"], ["input"]),
        # outputs onto FIFOs and devices
        Case("cell output device node", ["cell", "-params", "X.json", "-output", dev] + rest,
             ["device" if dev == "dev_full" else "FIFO"]),
        Case("cell output FIFO", ["cell", "-params", "X.json", "-output", "fifo.csv"] + rest, ["FIFO"]),
        Case("abuse output device", ["abuse", "-params", "a.json", "-output", dev], []),
        Case("abuse output FIFO", ["abuse", "-params", "a.json", "-output", "fifo.csv"], ["FIFO"]),
        Case("trace output FIFO", ["trace", "ct.h5", "-output", "fifo.h5"], ["FIFO"]),
        Case("geometry render device node", ["geometry", "small.yaml", "-render", dev], []),
        Case("geometry output FIFO", ["geometry", "small.yaml", "-output", "fifo.h5"], ["FIFO"]),
        Case("tortuosity output FIFO", ["tortuosity", "vol.h5", "-output", "fifo.json"], ["FIFO"]),
        Case("microstructure output device node", ["microstructure", "-size", "8,8,8", "-output", dev], []),
        Case("run output device node", ["run", "foil.yaml", "-output", dev], []),
        Case("compare output device node", ["compare", "d/summary.json", "ct.h5", "-output", dev], []),
        Case("sweep output device node", ["sweep", "sweepfull.yaml", "-local"], []),
        # FIFO and device inputs (a FIFO blocks the open for ever)
        Case("run deck FIFO", ["run", "fifo.yaml"], ["FIFO"], limit=30),
        Case("cell deck FIFO", ["cell", "fifo.yaml"], ["FIFO"], limit=30),
        Case("cell params FIFO", ["cell", "-params", "./fifo.json"] + rest, ["FIFO"], limit=30),
        Case("abuse params FIFO", ["abuse", "-params", "./fifo.json"], ["FIFO"], limit=30),
        Case("geometry deck FIFO", ["geometry", "fifo.yaml"], ["FIFO"], limit=30),
        Case("sweep deck FIFO", ["sweep", "fifo.yaml", "-local"], ["FIFO"], limit=30),
        Case("trace volume FIFO", ["trace", "fifo.h5"], ["FIFO"], limit=30),
        Case("tortuosity volume FIFO", ["tortuosity", "fifo.h5"], ["FIFO"], limit=30),
        Case("microstructure calender FIFO", ["microstructure", "-calender", "fifo.h5", "-output", "m.h5"],
             ["FIFO"], limit=30),
        Case("compare map FIFO", ["compare", "d/summary.json", "fifo.csv"], ["FIFO"], limit=30),
        Case("run nodes CSV /dev/zero", ["run", "zero.yaml", "-output", "z"], ["/dev/zero"], limit=30),
        Case("tortuosity volume /dev/zero", ["tortuosity", "/dev/zero", "-raw_dims", "4,4,4"], ["device"],
             limit=30),
        # names longer than NAME_MAX, and just short of it (the temporary suffix)
        Case("cell long output name", ["cell", "-params", "X.json", "-output", long + ".csv"] + rest, ["characters"]),
        Case("cell 250-char output name", ["cell", "-params", "X.json", "-output", long250 + ".csv"] + rest,
             ["characters"]),
        Case("abuse long output name", ["abuse", "-params", "a.json", "-output", long + ".csv"], ["characters"]),
        Case("trace long output name", ["trace", "ct.h5", "-output", long + ".h5"], ["characters"]),
        Case("geometry long render name", ["geometry", "small.yaml", "-render", long + ".h5"], ["characters"]),
        Case("tortuosity long output name", ["tortuosity", "vol.h5", "-output", long + ".json"], ["characters"]),
        Case("microstructure long output name", ["microstructure", "-size", "8,8,8", "-output", long + ".h5"],
             ["characters"]),
        Case("run long output dir", ["run", "foil.yaml", "-output", long], []),
        Case("compare long output dir", ["compare", "d/summary.json", "ct.h5", "-output", long], []),
        Case("sweep long output dir", ["sweep", "sweeplong.yaml", "-local"], []),
        Case("tortuosity long input name", ["tortuosity", long + ".h5"], []),
        Case("run long deck name", ["run", long + ".yaml"], []),
    ]


def kind_sizes(tmp):
    """Sizes the keys allow but no index or memory can hold: refused before
    allocation, with the memory needed in the message."""
    return [
        Case("geometry render 65536 px", ["geometry", "small.yaml", "-render", "r.h5", "-render_nx", "65536"],
             ["GB", "-render_nx"]),
        Case("geometry render 40000 px x 10", ["geometry", "small.yaml", "-render", "r.h5", "-render_nx", "40000",
                                               "-render_nz", "10"], ["GB"]),
        Case("microstructure 2100x2100x500", ["microstructure", "-size", "2100,2100,500", "-output", "m.h5"],
             ["GB", "-size"]),
        Case("microstructure 1e11 x 2 x 2", ["microstructure", "-size", "99999999999,2,2", "-output", "m.h5"],
             ["at most"]),
        Case("microstructure 1e6^3", ["microstructure", "-size", "1000000,1000000,1000000", "-output", "m.h5"],
             ["GB"]),
        Case("tortuosity raw dims beyond the file", ["tortuosity", "raw.bin", "-raw_dims", "100000,100000,100000"],
             ["raw.bin"]),
    ]


def kind_hangs(tmp):
    """Steps, tolerances and intervals below the resolution of the problem, endless
    experiment steps, deep nesting: refused at once (a limit of 30 s each)."""
    rest = ["-experiment", "Rest for 1 minutes"]
    roll = os.path.join(INPUTS, "roll-18650-tabs-opposite-ends.yaml")
    return [
        Case("cell_dt_max_s 1e-300", ["cell", "-params", "X.json", "-output", "c.csv", "-cell_dt_max_s", "1e-300"]
             + rest, ["cell_dt_max_s"], limit=30),
        Case("cell_dt_fixed_s 1e-300", ["cell", "-params", "X.json", "-output", "c.csv", "-cell_dt_fixed_s",
                                        "1e-300"] + rest, ["cell_dt_fixed_s"], limit=30),
        Case("cell_tol_V 1e-300", ["cell", "-params", "X.json", "-output", "c.csv", "-cell_tol_V", "1e-300"]
             + rest, ["cell_tol_V"], limit=30),
        Case("Rest for 1e308 hours", ["cell", "-params", "X.json", "-output", "c.csv", "-experiment",
                                      "Rest for 1e308 hours"], ["100000 hours"], limit=30),
        Case("abuse_tol_K 1e-300", ["abuse", "-params", "a.json", "-output", "b.csv", "-abuse_tol_K", "1e-300"],
             ["abuse_tol_K"], limit=30),
        Case("abuse_dt_max_s 1e-300", ["abuse", "-params", "a.json", "-output", "b.csv", "-abuse_dt_max_s",
                                       "1e-300"], ["abuse_dt_max_s"], limit=30),
        Case("roll dt_max_s 1e-300", ["run", roll, "-output", "ro", "-dt_max_s", "1e-300"], ["dt_max_s"], limit=30),
        Case("roll dt_fixed_s 1e-300", ["run", roll, "-output", "ro", "-dt_fixed_s", "1e-300"], ["dt_fixed_s"],
             limit=30),
        Case("roll tol_V 1e-300", ["run", roll, "-output", "ro", "-tol_V", "1e-300"], ["tol_V"], limit=30),
        Case("roll output_interval_s 1e-300", ["run", roll, "-output", "ro", "-output_interval_s", "1e-300"],
             ["output_interval_s"], limit=30),
        Case("sweep lhs 1e12 samples", ["sweep", "lhs.yaml", "-local"], ["at most"], limit=30),
        Case("sweep zip range of 1e9 values", ["sweep", "zip.yaml", "-local"], ["at most"], limit=30),
        Case("sweep product of 1e4 x 1e4", ["sweep", "prod.yaml", "-local"], ["million"], limit=30),
        Case("YAML nested 20000 deep", ["run", "deep.yaml", "-output", "o"], ["nested"], limit=30),
        Case("YAML mappings 400 deep", ["run", "deepmap.yaml", "-output", "o"], ["nested"], limit=30),
    ]


def kind_strict(tmp):
    """Decks and parameter sets that used to be accepted with a silent choice:
    duplicate keys, a second document, a NUL byte, expressions nested beyond
    any parameter function."""
    rest = ["-experiment", "Rest for 1 minutes"]
    return [
        Case("YAML duplicate key", ["run", "dup.yaml", "-output", "o"], ["twice"]),
        Case("YAML duplicate key (cell deck)", ["cell", "dupcell.yaml"], ["twice"]),
        Case("YAML second document", ["run", "doc2.yaml", "-output", "o"], ["second YAML document"]),
        Case("YAML NUL byte", ["run", "nul.yaml", "-output", "o"], ["NUL"]),
        Case("geometry deck duplicate key", ["geometry", "dup.yaml"], ["twice"]),
        Case("sweep deck second document", ["sweep", "doc2sweep.yaml", "-local"], ["second YAML document"]),
        Case("BPX 100000 parentheses", ["cell", "-params", "./deep_paren.json", "-output", "c.csv"] + rest,
             ["nested"]),
        Case("BPX 300000 minus signs", ["cell", "-params", "./deep_minus.json", "-output", "c.csv"] + rest,
             ["nested"]),
        Case("BPX 100000 powers", ["cell", "-params", "./deep_pow.json", "-output", "c.csv"] + rest, ["nested"]),
        Case("PETSc option not a number", ["run", "foil.yaml", "-output", "o", "-ksp_max_it", "abc"], ["abc"]),
        Case("solver not converged (network)", ["run", "foil.yaml", "-output", "o", "-ksp_max_it", "2"],
             ["did not converge"]),
        Case("solver not converged (tortuosity)", ["tortuosity", "vol.h5", "-output", "t.json", "-ksp_max_it", "1"],
             ["did not converge"]),
    ]


def fixture_more(tmp):
    import json
    head = "sweep:\n  command: run\n  input: foil.yaml\n"
    write(os.path.join(tmp, "lhs.yaml"), head + "  kind: lhs\n  samples: 1e12\nparameters:\n"
          "  load_current_A: {min: 1, max: 2}\n")
    write(os.path.join(tmp, "zip.yaml"), head + "  kind: zip\nparameters:\n  load_current_A: {from: 1, to: 2, num: 1e9}\n")
    write(os.path.join(tmp, "prod.yaml"), head + "  kind: product\nparameters:\n"
          "  load_current_A: {from: 1, to: 2, num: 10000}\n  foil_thickness_m: {from: 1e-5, to: 2e-5, num: 10000}\n")
    write(os.path.join(tmp, "raw.bin"), "\0" * 64)
    write(os.path.join(tmp, "dup.yaml"), "foil:\n  length_m: 0.6\n  length_m: 0.7\n")
    write(os.path.join(tmp, "dupcell.yaml"), "params: X.json\nparams: a.json\n")
    write(os.path.join(tmp, "doc2.yaml"), "foil:\n  length_m: 0.6\n---\nfoil:\n  length_m: 0.7\n")
    write(os.path.join(tmp, "doc2sweep.yaml"), open(os.path.join(tmp, "sweep.yaml")).read() + "---\nx: 1\n")
    write(os.path.join(tmp, "nul.yaml"), "foil:\n  length_m: 0.6\0\n")
    n = 20000
    write(os.path.join(tmp, "deep.yaml"), "a: " + "[" * n + "]" * n + "\n")
    write(os.path.join(tmp, "deepmap.yaml"), "".join(" " * i + f"k{i}:\n" for i in range(400)) + " " * 400 + "x: 1\n")
    for name, expr in (("paren", "(" * 100000 + "x" + ")" * 100000), ("minus", "-" * 300000 + "x"),
                       ("pow", "x**" * 100000 + "x")):
        d = json.load(open(os.path.join(tmp, "X.json")))
        d["Parameterisation"]["Electrolyte"]["Conductivity [S.m-1]"] = expr
        json.dump(d, open(os.path.join(tmp, f"deep_{name}.json"), "w"))


def fixture_nonsense(tmp):
    """Inputs that used to give nonsense with exit 0: a roll deck without its job
    key, broken calendering volumes, compare maps in degrees Celsius or with zero
    uncertainty, an abuse set with the heat capacity of a gas."""
    import json
    import h5py
    import numpy as np
    roll = open(os.path.join(INPUTS, "roll-18650-tabs-opposite-ends.yaml")).read()
    write(os.path.join(tmp, "nojob.yaml"), "".join(l for l in roll.splitlines(True) if not l.startswith("job:")))
    write(os.path.join(tmp, "rollfoil.yaml"), roll + "foil:\n  length_m: 0.5\n")
    d = json.load(open(os.path.join(tmp, "a.json")))
    d["Cell"]["Volumetric heat capacity [J.m-3.K-1]"] = 1e-10
    json.dump(d, open(os.path.join(tmp, "gas.json"), "w"))
    # calendering inputs: pixel size 0 (hung) and NaN (written through), a NaN
    # particle, an empty voxel array
    for name in ("px0", "pxnan", "partnan", "empty"):
        shutil.copy(os.path.join(tmp, "vol.h5"), os.path.join(tmp, name + ".h5"))
    with h5py.File(os.path.join(tmp, "px0.h5"), "r+") as f:
        f["/exchange/data"].attrs["pixel_size_m"] = 0.0
    with h5py.File(os.path.join(tmp, "pxnan.h5"), "r+") as f:
        f["/exchange/data"].attrs["pixel_size_m"] = float("nan")
    with h5py.File(os.path.join(tmp, "partnan.h5"), "r+") as f:
        p = f["/microstructure/particles_m"][:]
        p[0, 3] = float("nan")
        f["/microstructure/particles_m"][...] = p
    with h5py.File(os.path.join(tmp, "empty.h5"), "r+") as f:
        a = dict(f["/exchange/data"].attrs)
        del f["/exchange/data"]
        f.create_dataset("/exchange/data", shape=(0, 12, 12), dtype="u1")
        for k, v in a.items():
            f["/exchange/data"].attrs[k] = v
    # compare: simulated results on the small roll's network, measured maps
    with h5py.File(os.path.join(tmp, "net.h5"), "r") as f, h5py.File(os.path.join(tmp, "res.h5"), "w") as g:
        xyz = f["/nodes/coordinates_m"][:]
        g["/nodes/coordinates_m"] = xyz
        g["/nodes/foil"] = f["/nodes/foil"][:].astype(np.int32)
        g["/time_s"] = np.array([0.0, 60.0])
        g["/series/temperature_K"] = np.full((2, len(xyz)), 300.0)
        g.attrs["roll_centre_m"] = np.zeros(2)
    write(os.path.join(tmp, "celsius.csv"), "".join(",".join(["25"] * 7 + ["-3"]) + "\n" for _ in range(8)))
    with h5py.File(os.path.join(tmp, "okmap.h5"), "w") as g:  # a valid map (lock.py)
        g["/xrdct/temperature_K"] = np.full((16, 16), 300.0)
        g["/xrdct/time_s"] = np.array([30.0])
        g["/xrdct"].attrs["pixel_size_m"] = 5e-4
        g["/xrdct"].attrs["slice_height_m"] = 0.03
    for name, sig in (("sig0", 0.0), ("signeg", -1.0)):
        with h5py.File(os.path.join(tmp, name + ".h5"), "w") as g:
            g["/xrdct/temperature_K"] = np.full((8, 8), 300.0)
            u = np.full((8, 8), 0.5)
            u[3, 4] = sig
            g["/xrdct/uncertainty_K"] = u
            g["/xrdct/time_s"] = np.array([30.0])
            g["/xrdct"].attrs["pixel_size_m"] = 1e-3
            g["/xrdct"].attrs["slice_height_m"] = 0.03


def kind_nonsense(tmp):
    """Inputs that ran to exit 0 with a meaningless result (issue 20, item 8):
    refused, with the reason."""
    roll = os.path.join(INPUTS, "roll-18650-tabs-opposite-ends.yaml")
    csvmap = ["-map_quantity", "temperature", "-pixel_size", "1e-3", "-slice_height", "0.03", "-time", "30"]
    return [
        Case("roll deck without job: roll", ["run", "nojob.yaml", "-output", "o"], ["job roll", "job: roll"]),
        Case("roll key on a foil deck", ["run", "foil.yaml", "-output", "o", "-spiral_length_m", "0.1"],
             ["spiral_length_m", "job roll"]),
        Case("foil key on a network deck", ["run", "net.yaml", "-output", "o", "-foil_ns", "5"],
             ["foil_ns", "job foil"]),
        Case("foil key in a roll deck", ["run", "rollfoil.yaml", "-output", "o"], ["foil_length_m", "job foil"]),
        Case("network key on a roll deck", ["run", roll, "-output", "o", "-network_nodes", "n.csv"],
             ["network_nodes", "job network"]),
        Case("abuse ARC heater 1e300 K/min", ["abuse", "-params", "a.json", "-output", "b.csv",
                                             "-arc_heat_rate_K_min", "1e300"], ["arc_heat_rate_K_min"]),
        Case("abuse rho*cp 1e-300", ["abuse", "-params", "a.json", "-output", "b.csv", "-abuse_rho_cp_J_m3K",
                                     "1e-300"], ["abuse_rho_cp_J_m3K"]),
        Case("abuse set with a gas's heat capacity", ["abuse", "-params", "gas.json", "-output", "b.csv"],
             ["gas.json", "1e4"]),
        Case("abuse rho*cp 1e4 runs away past any kinetics",
             ["abuse", "-params", "a.json", "-output", "b.csv", "-abuse_rho_cp_J_m3K", "1e4"], ["abuse node"]),
        Case("geometry blur 1e-200 px", ["geometry", "small.yaml", "-render", "r.h5", "-render_mode", "gray",
                                         "-render_blur_px", "1e-200"], ["render_blur_px", "0.1 px"]),
        Case("geometry network of 2 + 2 nodes", ["geometry", "small.yaml", "-output", "g.h5", "-network_ds_m", "10"],
             ["only 2 nodes", "network_ds_m"]),
        Case("geometry network of 2 + 3 nodes", ["geometry", "small.yaml", "-output", "g.h5", "-network_ds_m",
                                                 "0.05"], ["only 2 nodes"]),
        Case("trace spacing of 10 m", ["trace", "ct.h5", "-output", "t.h5", "-trace_ds_m", "10"],
             ["only 2 nodes", "trace_ds_m"]),
        Case("calender pixel size 0", ["microstructure", "-calender", "px0.h5", "-output", "c.h5",
                                       "-porosity", "0.2"], ["px0.h5", "pixel_size_m"], limit=30),
        Case("calender pixel size NaN", ["microstructure", "-calender", "pxnan.h5", "-output", "c.h5",
                                         "-porosity", "0.2"], ["pxnan.h5", "pixel_size_m"]),
        Case("calender NaN particle", ["microstructure", "-calender", "partnan.h5", "-output", "c.h5",
                                       "-porosity", "0.2"], ["particle 0"]),
        Case("calender empty voxel array", ["microstructure", "-calender", "empty.h5", "-output", "c.h5",
                                            "-porosity", "0.2"], ["empty"], limit=30),
        Case("compare map in degrees Celsius", ["compare", "res.h5", "celsius.csv", "-output", "cmp"] + csvmap,
             ["-3 K", "kelvin"]),
        Case("compare zero uncertainty", ["compare", "res.h5", "sig0.h5", "-output", "cmp"],
             ["uncertainty 0 K", "positive"]),
        # messages that misled (item 11): a cold ambient said "no rest state at SOC -1", a
        # refused inf "allowed (0, inf]"
        Case("roll ambient 1e-300 K", ["run", roll, "-output", "o", "-ambient_temperature", "1e-300"],
             ["ambient_temperature", "[100, 1000]"]),
        Case("cell ambient 1e-300 K", ["cell", "-params", "X.json", "-output", "c.csv", "-ambient_temperature",
                                       "1e-300", "-experiment", "Rest for 1 minutes"], ["ambient_temperature"]),
        Case("an infinite pixel size", ["geometry", "small.yaml", "-render", "r.h5", "-render_pixel_size_m", "inf"],
             ["render_pixel_size_m", "inf), finite"]),
        Case("compare negative uncertainty", ["compare", "res.h5", "signeg.h5", "-output", "cmp"],
             ["uncertainty -1 K"]),
        # the experiment's own checks on a roll are the same on every rank: one error line at
        # 2 ranks (each rank printed it, then MPI_Abort's banner)
        Case("roll charge to below its start", ["run", roll, "-output", "o", "-experiment",
                                                "Charge at 1C until 4.1 V"],
             ["cut-off 4.1 V can never be reached", "already above"]),
    ]


KINDS = {"identity": kind_identity, "sizes": kind_sizes, "hangs": kind_hangs, "strict": kind_strict,
         "nonsense": kind_nonsense}


SERIAL = ("cell", "abuse", "sweep")  # refused at more than one rank (with one error line)


def run_case(c, launcher, tomocell, tmp):
    if launcher and c.args[0] in SERIAL:
        c.words = []
    before = snapshot(tmp)
    cmd = launcher + [tomocell] + c.args
    c.limit = min(c.limit, int(os.environ.get("TC_HOSTILE_LIMIT", "3600")))  # for surveys of old builds
    t0 = time.time()
    try:
        r = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=c.limit,
                           stdin=subprocess.DEVNULL, env=dict(os.environ, **c.env) if c.env else None)
    except subprocess.TimeoutExpired:
        # kill leftovers of a hung run in this directory only (by our own child's group)
        return [f"no result within {c.limit} s (hang)"], ""
    dt = time.time() - t0
    problems = []
    err = r.stderr
    if c.ok:
        if r.returncode != 0:
            problems.append(f"exit status {r.returncode}, expected 0")
    elif c.status is not None and r.returncode != c.status:
        problems.append(f"exit status {r.returncode}, expected {c.status}")
    elif r.returncode not in (1, 2):
        problems.append(f"exit status {r.returncode}, expected 1 or 2")
    for m in TRACE_MARKERS:
        if m in err:
            problems.append(f"stderr shows {m!r}")
    nerr = sum(l.startswith("tomocell: error:") for l in err.splitlines())
    if not c.ok and r.returncode == 1 and nerr != 1:
        problems.append(f"{nerr} 'tomocell: error:' lines, expected exactly one")
    if not c.ok and r.returncode == 2 and not err.strip():
        problems.append("usage error without a message")
    for w in c.words:
        if w not in err:
            problems.append(f"stderr lacks {w!r}")
    after = snapshot(tmp)
    for k in sorted(set(before) | set(after)):
        if c.ok and k.split(os.sep)[0] in c.outputs:
            continue
        if k not in after:
            problems.append(f"{k} was removed")
        elif k not in before:
            problems.append(f"{k} was created")
        elif before[k] != after[k]:
            problems.append(f"{k} was changed")
    # undo what a failing case left, so that later cases start clean
    for k in sorted(set(after) - set(before), key=len, reverse=True):
        p = os.path.join(tmp, k)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        elif os.path.lexists(p):
            os.remove(p)
    first = next((l for l in err.splitlines() if l.startswith("tomocell")), err.strip()[:200])
    return problems, f"{dt:5.1f} s  {first}"


def main(argv):
    kind, tomocell = argv[1], os.path.abspath(argv[2])
    nranks = int(argv[3]) if len(argv) > 3 else 1
    launcher = argv[4:] if nranks > 1 else []
    failures = total = 0
    with tempfile.TemporaryDirectory(prefix="tc-hostile-") as tmp:
        fixture(tomocell, tmp)
        fixture_more(tmp)
        if kind == "nonsense":
            fixture_nonsense(tmp)
        for c in KINDS[kind](tmp):
            total += 1
            problems, info = run_case(c, launcher, tomocell, tmp)
            if problems:
                failures += 1
                print(f"FAIL {c.name}: " + "; ".join(problems) + f"\n     {info}")
            else:
                print(f"ok   {c.name}: {info}")
    print(f"{kind} at {nranks} rank(s): {total - failures} of {total} cases as required")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
