#!/usr/bin/env python3
"""FP64 operations executed, from a callgrind profile with per-instruction counts.

    fpcount.py CALLGRIND_OUT

CALLGRIND_OUT from valgrind --tool=callgrind --dump-instr=yes
--compress-strings=no --compress-pos=no (and --toggle-collect=FN to count one
function and its callees). Every executed instruction of every object is
looked up in `objdump -d` and weighted as Intel's FP_ARITH_INST_RETIRED
events weight them: add, sub, mul, div, sqrt, min, max, rcp/rsqrt count one
operation per FP64 lane (1 for *sd, 2 / 4 / 8 for *pd on xmm / ymm / zmm),
fused multiply-adds twice that; moves, compares, conversions, logic (abs,
negation), blends and shuffles count nothing. Prints the FP64 operations,
the instructions and the breakdown by mnemonic; FP32 instructions are
reported separately (tomocell has none of its own).
"""
import collections
import re
import subprocess
import sys

ARITH = ("add", "sub", "mul", "div", "sqrt", "min", "max", "rcp14", "rsqrt14")
FMA = re.compile(r"^v?f(n?)m(add|sub|addsub|subadd)(132|213|231)?(pd|sd|ps|ss)$")


def weight(mnem, ops):
    """(FP64 operations, FP32 operations) of one execution of an instruction."""
    m = mnem
    if m.startswith("{"):  # objdump's {vex}/{evex} prefixes: "{evex}", "vaddsd %xmm1,..."
        m = m.split("}", 1)[1].strip()
        if not m:
            m, _, ops = ops.partition(" ")
    lanes = 8 if "zmm" in ops else 4 if "ymm" in ops else None
    f = FMA.match(m)
    if f:
        kind = f.group(4)
        n = 1 if kind in ("sd", "ss") else (lanes or 2) * (1 if kind == "pd" else 2)
        return (2 * n, 0) if kind in ("sd", "pd") else (0, 2 * n)
    base = m[1:] if m.startswith("v") else m
    for kind in ("sd", "pd", "ss", "ps"):
        if base.endswith(kind) and base[:-2] in ARITH + ("hadd", "hsub", "addsub"):
            if kind == "sd":
                return (1, 0)
            if kind == "ss":
                return (0, 1)
            n = (lanes or 2) * (1 if kind == "pd" else 2)
            return (n, 0) if kind == "pd" else (0, n)
    return (0, 0)


def disassemble(obj, lo, hi):
    """address -> (mnemonic, operands) of obj's code between lo and hi"""
    table = {}
    try:
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", f"--start-address={lo:#x}",
                              f"--stop-address={hi + 16:#x}", obj], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return table
    for line in out.splitlines():
        m = re.match(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
        if m:
            table[int(m.group(1), 16)] = (m.group(2), m.group(3))
    return table


def main():
    path = sys.argv[1]
    counts = collections.defaultdict(lambda: collections.Counter())  # object -> addr -> Ir
    ob = None
    skip = False
    with open(path) as f:
        for line in f:
            if line.startswith("ob="):
                ob = line[3:].strip()
            elif line.startswith("calls="):
                skip = True  # the next cost line is the call's inclusive cost
            elif line.startswith("0x"):
                if skip:
                    skip = False
                    continue
                parts = line.split()
                if len(parts) >= 3:
                    counts[ob][int(parts[0], 16)] += int(parts[2])
            elif line.startswith(("cob=", "cfn=", "cfi=", "cfl=")):
                pass
    fp64 = fp32 = ir = 0
    by = collections.Counter()
    byobj = collections.Counter()
    unknown = packed = 0
    for obj, cnt in counts.items():
        table = disassemble(obj, min(cnt), max(cnt))
        for addr, n in cnt.items():
            ir += n
            ins = table.get(addr)
            if ins is None:
                unknown += n
                continue
            w64, w32 = weight(*ins)
            if w64 or w32:
                fp64 += w64 * n
                fp32 += w32 * n
                byobj[obj] += w64 * n
                if w64 and "pd" in ins[0] + ins[1].split(" ")[0]:
                    packed += w64 * n
                by[ins[0]] += (w64 or w32) * n
    print(f"fp64_ops {fp64}")
    print(f"fp64_ops_packed {packed}")
    print(f"fp32_ops {fp32}")
    print(f"instructions {ir}")
    print(f"instructions_not_disassembled {unknown}")
    for o, n in byobj.most_common():
        print(f"fp64_ops_in {o} {n}")
    for m, n in by.most_common(12):
        print(f"  {m:<14} {n}")


if __name__ == "__main__":
    main()
