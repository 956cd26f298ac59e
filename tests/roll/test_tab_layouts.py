"""Tab layouts of the synthetic roll (docs/geometry.md, "Tab layouts").

    test_tab_layouts.py TOMOCELL [MPIEXEC ARGS...]

* the 21700 preset's default is the LG M50's layout: net.h5 has one Al tab,
  at the middle of the Al foil (|s - L/2| <= max(width, ds) / 2), and the Cu
  tab at the outer end (s >= L - width); the 18650 preset keeps the Al tab at
  the inner end; `tab_al: middle` puts it at the middle of an 18650 too;
* a roll run with the middle Al tab has a shorter foil path than the same
  roll with the tabs at opposite ends: a terminal voltage higher by more than
  20 mV (2C for a minute, 21700, 20 mm nodes; measured 51 mV);
* every inputs/roll-*.yaml named anywhere in the repository (docs, README,
  tests, tools, jobs, bench) exists, and the decks are named after their
  layouts (the tab keys in each deck match its name).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def geometry(tomocell, launcher, tmp, name, text):
    deck = os.path.join(tmp, name + ".yaml")
    with open(deck, "w") as f:
        f.write(text)
    out = os.path.join(tmp, name + "_net.h5")
    r = subprocess.run(launcher + [tomocell, "geometry", deck, "-output", out], cwd=tmp,
                       capture_output=True, text=True, timeout=300)
    if r.returncode:
        print(r.stdout, r.stderr)
        raise SystemExit(f"tomocell geometry {name} failed")
    with h5py.File(out) as f:
        a = dict(f["/network"].attrs)
        s, foil, tab = f["/nodes/s_m"][...], f["/nodes/foil"][...], f["/nodes/tab"][...]
        ds = float(a["ds_m"])
    tabs = {}
    for k, nm in ((0, "cu"), (1, "al")):
        m = foil == k
        lay = a[f"tab_{nm}"].decode() if isinstance(a[f"tab_{nm}"], bytes) else a[f"tab_{nm}"]
        tabs[nm] = (lay, s[m & (tab > 0)], s[m].max(), float(a[f"tab_{nm}_width_m"]))
    return tabs, ds


def main():
    tomocell, launcher = sys.argv[1], sys.argv[2:]
    fails = 0

    def check(ok, text):
        nonlocal fails
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {text}")

    with tempfile.TemporaryDirectory() as tmp:
        base = "network:\n  ds_m: 5e-3\n  nz: 3\n"
        for name, text, want_al in (
                ("p21700", "preset: 21700\n" + base, "middle"),
                ("p18650", "preset: 18650\n" + base, "start"),
                ("p18650_middle", "preset: 18650\ntab:\n  al: middle\n" + base, "middle")):
            tabs, ds = geometry(tomocell, launcher, tmp, name, text)
            lay, s, L, w = tabs["al"]
            if want_al == "middle":
                # the nodes within half a tab width of L/2, or the one nearest (L: the last
                # node's s, within a node spacing of the foil's end)
                ok = lay == "middle" and len(s) > 0 and np.all(np.abs(s - 0.5 * L) <= 0.5 * max(w, ds) + 0.5 * ds)
            else:
                ok = lay == "start" and len(s) > 0 and np.all(s <= w + 1e-12)
            check(ok, f"{name}: Al tab {lay} at s = {np.round(s, 4).tolist()} m of {L:.4f} m (want {want_al})")
            lay, s, L, w = tabs["cu"]
            check(lay == "end" and len(s) > 0 and np.all(s >= L - w - 1e-12),
                  f"{name}: Cu tab {lay} at s = {np.round(s, 4).tolist()} m of {L:.4f} m (outer end)")

        # the middle Al tab against the tabs at opposite ends: a shorter path in the Al foil
        res = {}
        for name, al in (("middle", "middle"), ("ends", "start")):
            deck = os.path.join(tmp, f"run_{name}.yaml")
            with open(deck, "w") as f:
                f.write("job: roll\npreset: 21700\ntab:\n  cu: end\n  al: %s\nnetwork:\n  ds_m: 20e-3\n"
                        "  nz: 1\nmodel: spm\nthermal: isothermal\nplots: false\n"
                        "experiment: \"Discharge at 2C for 60 s\"\n" % al)
            out = os.path.join(tmp, "out_" + name)
            r = subprocess.run(launcher + [tomocell, "run", deck, "-output", out], cwd=tmp,
                               capture_output=True, text=True, timeout=600)
            if r.returncode:
                print(r.stdout, r.stderr)
                raise SystemExit(f"tomocell run {name} failed")
            with open(os.path.join(out, "summary.json")) as f:
                res[name] = json.load(f)
        # (the current is more even with the tabs at opposite ends, where every element
        # sees the same foil path in all: it is the resistance that the middle tab cuts)
        vm, ve = res["middle"]["final_voltage_V"], res["ends"]["final_voltage_V"]
        check(vm > ve + 0.02,
              f"middle Al tab: V after 60 s at 2C {vm:.4f} V, above the tabs at opposite ends' "
              f"{ve:.4f} V by more than 20 mV (half the Al foil's path)")

    # every deck named in the repository exists; the decks say what they are
    named = set()
    for d, _, files in os.walk(ROOT):
        if any(p in d for p in ("/build", "/.git", "/output")):
            continue
        for fn in files:
            if not fn.endswith((".md", ".py", ".sh", ".yaml", ".sbatch", ".txt", ".c", ".h", ".cfg")):
                continue
            try:
                text = open(os.path.join(d, fn), encoding="utf-8").read()
            except (UnicodeDecodeError, OSError):
                continue
            named.update(re.findall(r"roll-[0-9]{5}-[a-z0-9-]+\.yaml", text))
    missing = sorted(n for n in named if not os.path.exists(os.path.join(ROOT, "inputs", n)))
    check(named and not missing, f"{len(named)} inputs/roll-*.yaml named in the repository, all exist"
          + (f"; missing: {missing}" if missing else ""))
    want = {"tabs-opposite-ends": ("end", "start"), "three-tabs": ("positions", "positions"),
            "tabless": ("tabless", "tabless"), "lgm50-tabs": ("end", "middle")}
    for fn in sorted(os.listdir(os.path.join(ROOT, "inputs"))):
        m = re.fullmatch(r"roll-[0-9]{5}-(.+)\.yaml", fn)
        if not m:
            continue
        text = open(os.path.join(ROOT, "inputs", fn)).read()
        cu = re.search(r"^\s+cu:\s*(\w+)", text, re.M)
        al = re.search(r"^\s+al:\s*(\w+)", text, re.M)
        got = (cu.group(1) if cu else None, al.group(1) if al else None)
        check(m.group(1) in want and got == want[m.group(1)],
              f"inputs/{fn}: tabs cu {got[0]}, al {got[1]}")
    print("FAILED" if fails else "passed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
