#!/usr/bin/python3
"""The man page docs/tomocell.1: renders without warnings, holds every command
and option, is what tools/make-man.py makes from this build, and is installed.

usage: test_man_page.py TOMOCELL SOURCE_DIR BUILD_DIR

1. `groff -man -Tutf8 -ww -z` (all warnings) prints nothing and exits 0;
   `man -l` renders it (title line TOMOCELL(1)).
2. Every command of `tomocell --help` has its subsection, and every option
   (`-key`) of `tomocell COMMAND --help` is in that subsection of the rendered
   page.
3. tools/make-man.py run on this build gives docs/tomocell.1 byte for byte
   (an option added without regenerating the page fails here).
4. `cmake --install BUILD_DIR --prefix TMP` installs bin/tomocell and
   share/man/man1/tomocell.1 (equal to docs/tomocell.1).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

tomocell, src, build = (os.path.abspath(a) for a in sys.argv[1:4])
page = os.path.join(src, "docs", "tomocell.1")
fail = []


def check(cond, msg, detail=""):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        fail.append(msg)
        if detail:
            print("     " + str(detail).strip().replace("\n", "\n     ")[:3000])


if not shutil.which("groff"):
    print("SKIP: groff is not installed (tools/setup.sh installs groff-base)")
    sys.exit(77)
env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="120", COLUMNS="200", MAN_KEEP_FORMATTING="0")

# 1. render without warnings
r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", page], capture_output=True, text=True, env=env)
check(r.returncode == 0 and not r.stderr.strip(), "groff -man -ww: no warnings", r.stderr)
if shutil.which("man"):
    r = subprocess.run(["man", "-l", page], capture_output=True, text=True, env=env)
    what = "man -l"
else:  # man-db absent: what man -l runs
    r = subprocess.run(["groff", "-man", "-Tutf8", "-rLL=120n", "-P-c", page], capture_output=True, text=True, env=env)
    what = "groff -man -Tutf8 (no man-db here)"
text = re.sub(r".\x08", "", r.stdout)  # overstrike bold/underline, if any
check(r.returncode == 0 and text.lstrip().startswith("TOMOCELL(1)") and not r.stderr.strip(),
      f"{what} renders it", r.stderr)

# 2. every command, every option
top = subprocess.run([tomocell, "--help"], capture_output=True, text=True, env=env).stdout
cmds = re.findall(r"^  (\S+)\s{2,}\S", top.split("commands:", 1)[1].split("\n\n", 1)[0], re.M)
check(len(cmds) >= 9, f"tomocell --help lists {len(cmds)} commands: {' '.join(cmds)}")
# the rendered subsections: a line "   NAME" at the subsection indent
lines = text.splitlines()
starts = {}
for k, line in enumerate(lines):
    m = re.match(r"^   (\S+)\s*$", line)
    if m and m.group(1) in cmds:
        starts[m.group(1)] = k
missing_cmds = [c for c in cmds if c not in starts]
check(not missing_cmds, f"every command has its subsection ({len(cmds) - len(missing_cmds)} of {len(cmds)})",
      f"missing: {missing_cmds}")
order = sorted(starts.values()) + [len(lines)]
nopt = 0
for c in cmds:
    if c not in starts:
        continue
    k0 = starts[c]
    k1 = min(v for v in order if v > k0)
    section = "\n".join(lines[k0:k1])
    h = subprocess.run([tomocell, c, "--help"], capture_output=True, text=True, env=env).stdout
    opts = re.findall(r"^  (-[A-Za-z_<>][\w<>]*)", h, re.M)
    nopt += len(opts)
    absent = [o for o in opts if not re.search(r"(?<![\w-])" + re.escape(o) + r"(?![\w])", section)]
    check(not absent and opts, f"{c}: all {len(opts)} options of '{c} --help' in the page", f"absent: {absent}")
print(f"     ({nopt} options of {len(cmds)} commands)")

# 3. up to date
r = subprocess.run(["/usr/bin/python3", os.path.join(src, "tools", "make-man.py"), tomocell],
                   capture_output=True, text=True, env=env)
same = r.returncode == 0 and r.stdout == open(page).read()
detail = ""
if not same and r.returncode == 0:
    a, b = open(page).read().splitlines(), r.stdout.splitlines()
    d = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    detail = f"first difference at line {d + 1}:\n  page: {a[d] if d < len(a) else '(end)'}\n  made: {b[d] if d < len(b) else '(end)'}"
check(same, "docs/tomocell.1 is what tools/make-man.py makes from this build "
      "(regenerate: /usr/bin/python3 tools/make-man.py build/tomocell -o docs/tomocell.1)", detail or r.stderr)

# 4. installed
with tempfile.TemporaryDirectory() as tmp:
    r = subprocess.run(["cmake", "--install", build, "--prefix", tmp], capture_output=True, text=True)
    man = os.path.join(tmp, "share", "man", "man1", "tomocell.1")
    ok = r.returncode == 0 and os.path.isfile(man) and open(man).read() == open(page).read() \
        and os.access(os.path.join(tmp, "bin", "tomocell"), os.X_OK)
    check(ok, "cmake --install: bin/tomocell and share/man/man1/tomocell.1", r.stdout + r.stderr)

sys.exit(1 if fail else 0)
