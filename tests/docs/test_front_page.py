#!/usr/bin/python3
"""README.md as a short front page, docs/README.md as the table of contents.

usage: test_front_page.py SOURCE_DIR

1. README.md is short (at most 200 lines; it was 1,761) and has its four parts: what it is
   (the text before the first section), "Two commands", "A 10-minute tour",
   "Where to go next".
2. No stale text in README.md and docs/*.md: references to the issues the
   work was planned in ("issue 4", "(issue 12)"), "to come", "coming soon",
   "TODO", "TBD".
3. The Debian package list docs/install.md gives is exactly tools/setup.sh's
   (the default list and the TC_VIEWER=ON extras), in the same order.
4. docs/README.md links every page of docs/, and every relative link of
   README.md and docs/*.md points to a file that exists (anchors to a heading
   of that file).
"""
import glob
import os
import re
import sys

src = os.path.abspath(sys.argv[1])
fail = []


def check(cond, msg, detail=""):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        fail.append(msg)
        if detail:
            print("     " + str(detail)[:2000])


readme = open(os.path.join(src, "README.md"), encoding="utf-8").read()
lines = readme.splitlines()
check(len(lines) <= 200, f"README.md is short: {len(lines)} lines (at most 200)")
heads = re.findall(r"^## (.*)$", readme, re.M)
for h in ("Two commands", "A 10-minute tour", "Where to go next"):
    check(h in heads, f"README.md has the section '{h}'", f"sections: {heads}")
intro = readme.split("\n## ", 1)[0]
check(len(intro.split()) > 40 and "tomocell" in intro, "README.md says what tomocell is before the first section")

pages = [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md")))
stale = re.compile(r"\bissue \d+\b|\(issue \d+\)|\bto come\b|\bcoming soon\b|\bTODO\b|\bTBD\b", re.I)
hits = []
for p in pages:
    for k, line in enumerate(open(p, encoding="utf-8"), 1):
        for m in stale.finditer(line):
            hits.append(f"{os.path.relpath(p, src)}:{k}: {m.group(0)}")
check(not hits, f"no stale text in README.md and docs/*.md ({len(pages)} pages)", "; ".join(hits))

setup = open(os.path.join(src, "tools", "setup.sh")).read()
m = re.search(r"^packages=\((.*?)\)", setup, re.S | re.M)
pk = m.group(1).split() if m else []
m = re.search(r"packages\+=\((.*?)\)", setup, re.S)
extra = m.group(1).split() if m else []
inst = open(os.path.join(src, "docs", "install.md"), encoding="utf-8").read()
m = re.search(r"installs whatever Debian packages are missing\s*\((.*?)\)", inst, re.S)
listed = [w.strip() for w in re.split(r",\s*", m.group(1).replace("\n", " "))] if m else []
check(pk and listed == pk, f"docs/install.md lists tools/setup.sh's {len(pk)} packages",
      f"setup.sh: {pk}\n     install.md: {listed}")
m = re.search(r"needs Debian's (.*?)\(about", inst, re.S)
viewer = re.findall(r"`([a-z0-9.+-]+)`", m.group(1)) if m else []
m = re.search(r"^\| `TC_VIEWER=ON` \|.*$", inst, re.M)
viewer2 = re.findall(r"`([a-z0-9.+-]+)`", m.group(0).split("install", 1)[1]) if m else []
check(extra and viewer == extra and viewer2 == extra,
      f"docs/install.md names the TC_VIEWER=ON extras of tools/setup.sh: {extra}",
      f"install.md: {viewer} and {viewer2}")

toc = open(os.path.join(src, "docs", "README.md"), encoding="utf-8").read()
linked = set(re.findall(r"\]\(([\w.-]+\.md)(?:#[^)]*)?\)", toc))
unlinked = [os.path.basename(p) for p in pages[1:]
            if os.path.basename(p) != "README.md" and os.path.basename(p) not in linked]
check(not unlinked, "docs/README.md links every page of docs/", f"not linked: {unlinked}")


def anchors(path):
    out = set()
    for h in re.findall(r"^#+ (.*)$", open(path, encoding="utf-8").read(), re.M):
        a = re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
        out.add(a)
    return out


bad = []
for p in pages:
    text = open(p, encoding="utf-8").read()
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        full = os.path.normpath(os.path.join(os.path.dirname(p), path)) if path else p
        if "shared" in full.split(os.sep) and not full.startswith(src):
            continue  # ../shared beside the checkout: not part of the repository
        if not os.path.exists(full):
            bad.append(f"{os.path.relpath(p, src)}: {target} (no such file)")
        elif anchor and full.endswith(".md") and anchor not in anchors(full):
            bad.append(f"{os.path.relpath(p, src)}: {target} (no such heading)")
check(not bad, "every relative link of README.md and docs/*.md resolves", "\n     ".join(bad))
sys.exit(1 if fail else 0)
