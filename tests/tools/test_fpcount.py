"""bench/fpcount.py counts FP64 operations exactly.

    test_fpcount.py FPCOUNT_PY TEST_BAND [--no-valgrind]

The weights of single instructions (scalar, packed xmm/ymm/zmm, fused
multiply-adds twice, no weight for moves, compares, logic and conversions),
then, with valgrind and objdump installed, an end-to-end count: callgrind over
`test_band flops 20 1000` (1000 tridiagonal solves of order 20 for two
right-hand sides, 264 FP64 operations each by hand) must give exactly 264000
(--no-valgrind: the weights only, for sanitizer builds valgrind cannot run).
"""
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    spec = importlib.util.spec_from_file_location("fpcount", sys.argv[1])
    fp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fp)
    cases = [("addsd", "%xmm1,%xmm0", 1), ("vmulsd", "%xmm2,%xmm1,%xmm0", 1),
             ("divpd", "%xmm1,%xmm0", 2), ("vaddpd", "%ymm1,%ymm2,%ymm3", 4),
             ("vmulpd", "%zmm1,%zmm2,%zmm3", 8), ("vfmadd231pd", "%ymm1,%ymm2,%ymm3", 8),
             ("vfnmadd132sd", "%xmm1,%xmm2,%xmm3", 2), ("vfmsub213pd", "%zmm1,%zmm2,%zmm3", 16),
             ("sqrtsd", "%xmm1,%xmm0", 1), ("vminpd", "%ymm1,%ymm2,%ymm3", 4),
             ("vsqrtpd", "(%rax),%ymm0", 4), ("{evex}", "vaddsd %xmm1,%xmm2,%xmm3", 1),
             ("vxorpd", "%ymm1,%ymm2,%ymm3", 0), ("andpd", "%xmm1,%xmm0", 0),
             ("vcmpltpd", "%ymm1,%ymm2,%ymm3", 0), ("ucomisd", "%xmm1,%xmm0", 0),
             ("cvtsi2sd", "%eax,%xmm0", 0), ("movsd", "(%rax),%xmm0", 0),
             ("vblendvpd", "%ymm1,%ymm2,%ymm3,%ymm4", 0), ("addss", "%xmm1,%xmm0", 0),
             ("add", "$0x1,%rax", 0), ("vaddsubpd", "%ymm1,%ymm2,%ymm3", 4)]
    bad = [(m, o, want, fp.weight(m, o)[0])
           for m, o, want in cases if fp.weight(m, o)[0] != want]
    for m, o, want, got in bad:
        print(f"FAIL {m} {o}: {got} FP64 operations, expected {want}")
    print(f"{'ok  ' if not bad else 'FAIL'} {len(cases)} instruction weights")
    fails = len(bad)
    if "--no-valgrind" in sys.argv:
        print("skip end-to-end count: --no-valgrind (a sanitizer build)")
    elif shutil.which("valgrind") and shutil.which("objdump"):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "cg.out")
            r = subprocess.run(["valgrind", "--tool=callgrind", "--dump-instr=yes", "--compress-strings=no",
                                "--compress-pos=no", "--toggle-collect=FlopSolves",
                                f"--callgrind-out-file={out}", sys.argv[2], "flops", "20", "1000"],
                               capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                print(r.stdout[-2000:], r.stderr[-2000:])
                print("FAIL callgrind run")
                return 1
            r = subprocess.run([sys.executable, sys.argv[1], out], capture_output=True, text=True, check=True)
            got = int([l.split()[1] for l in r.stdout.splitlines() if l.startswith("fp64_ops ")][0])
            ok = got == 264000
            fails += not ok
            print(f"{'ok  ' if ok else 'FAIL'} 1000 tridiagonal solves of order 20: {got} FP64 operations "
                  "counted, 264000 by hand")
    else:
        print("skip end-to-end count: valgrind or objdump not installed")
    print(f"fpcount {'ok' if not fails else 'FAILED'}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
