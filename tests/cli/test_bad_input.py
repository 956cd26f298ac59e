#!/usr/bin/python3
"""Bad input to `tomocell run` gives a clear message, exit status 1 and no output.

usage: test_bad_input.py TOMOCELL [NRANKS MPIEXEC ARGS...]

Each case runs tomocell (under mpiexec when NRANKS > 1) in a fresh temporary
directory with a 120 s timeout (a hang fails the test), then checks the exit
status, that stderr contains the expected words, and that the output directory
was not left behind.
"""
import os
import sys

import badinput

DEMO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "inputs", "foil_demo.yaml")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def cases(tmp):
    write(os.path.join(tmp, "malformed.yaml"), "foil:\n  length_m: [0.6, 0.7\n  height_m: 0.06\n")
    write(os.path.join(tmp, "unknown.yaml"), "foil:\n  lenght_m: 0.6\n")
    write(os.path.join(tmp, "negative.yaml"), "foil:\n  sigma_S_m: -3.77e7\n")
    write(os.path.join(tmp, "netmissing.yaml"), "job: network\nnetwork:\n  edges: e.csv\n")
    # two groups: {0,1,2} grounded at node 0, {3,4} floating
    write(os.path.join(tmp, "n.csv"), "id,x_m,y_m,z_m,fixed_V,inject_A\n0,0,0,0,0,0\n1,1,0,0,,1\n2,2,0,0,,0\n3,3,0,0,,0.5\n4,4,0,0,,0\n")
    write(os.path.join(tmp, "e_singular.csv"), "i,j,G_S\n0,1,1\n1,2,2\n3,4,1\n")
    write(os.path.join(tmp, "e_negative.csv"), "i,j,G_S\n0,1,1\n1,2,-2\n2,3,1\n3,4,1\n")
    write(os.path.join(tmp, "singular.yaml"), "job: network\nnetwork:\n  nodes: n.csv\n  edges: e_singular.csv\n")
    write(os.path.join(tmp, "negcond.yaml"), "job: network\nnetwork:\n  nodes: n.csv\n  edges: e_negative.csv\n")
    os.makedirs(os.path.join(tmp, "ro"), exist_ok=True)
    return [
        # name, argv after `run`, words expected on stderr, output dir that must not exist
        ("missing deck", ["nothere.yaml", "-output", "out1"], ["cannot read deck", "nothere.yaml"], "out1"),
        ("malformed YAML", ["malformed.yaml", "-output", "out2"], ["malformed.yaml", "not valid YAML"], "out2"),
        ("unknown deck key", ["unknown.yaml", "-output", "out3"], ["unknown key 'foil_lenght_m'", "foil_length_m"], "out3"),
        ("unknown option", [DEMO, "-foil_widht_m", "1", "-output", "out4"], ["unknown key 'foil_widht_m'"], "out4"),
        ("negative conductivity", ["negative.yaml", "-output", "out5"], ["foil_sigma_S_m", "-3.77e7", "out of range", "(0, inf), finite"], "out5"),
        ("missing required key", ["netmissing.yaml", "-output", "out6"], ["network_nodes"], "out6"),
        ("negative conductance", ["negcond.yaml", "-output", "out7"], ["e_negative.csv:3", "-2", "positive"], "out7"),
        ("singular system", ["singular.yaml", "-output", "out8"], ["singular network", "2 node(s)", "no path to a fixed-potential node"], "out8"),
        ("unwritable output", [DEMO, "-output", "/proc/tomocell/out"], ["cannot write into output directory", "/proc/tomocell/out"], None),
        ("not a number", [DEMO, "-foil_ns", "many", "-output", "out9"], ["foil_ns", "'many'", "not an integer"], "out9"),
    ]


def main():
    return badinput.run_all("run", cases, sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
