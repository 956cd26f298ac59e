#!/usr/bin/python3
"""Bad input to `tomocell abuse` gives a clear message, exit status 1 and no output.

usage: test_abuse_bad_input.py TOMOCELL

Reaction sets with a missing parameter, a non-physical value (negative
activation energy, a fraction above 1), a wrong type or malformed JSON must
name the file and the key; each case writes to out/abuse.csv and neither it,
its JSON nor out/ may be left behind (tests/cli/badinput.py).
"""
import json
import os
import sys

import badinput

HERE = os.path.dirname(os.path.abspath(__file__))
KIM = os.path.join(HERE, "..", "..", "inputs", "params", "abuse_kim2007.json")


def variant(tmp, name, edit):
    with open(KIM) as f:
        d = json.load(f)
    edit(d)
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        json.dump(d, f, indent=1)
    return path


def cases(tmp):
    R = "Reactions"
    with open(os.path.join(tmp, "broken.json"), "w") as f:
        f.write('{\n  "Header": {"Title": "x", "Citation": "y"},\n  "Reactions": {\n    "SEI decomposition": {"Frequency factor [s-1]": 1e15,,}\n  }\n}\n')
    miss = variant(tmp, "missing.json", lambda d: d[R]["Positive electrode-electrolyte"].pop("Activation energy [J.mol-1]"))
    negea = variant(tmp, "negEa.json", lambda d: d[R]["SEI decomposition"].update({"Activation energy [J.mol-1]": -1.3508e5}))
    frac = variant(tmp, "frac.json", lambda d: d[R]["Electrolyte decomposition"].update({"Initial fraction [-]": 1.5}))
    text = variant(tmp, "text.json", lambda d: d[R]["Negative electrode-electrolyte"].update({"Frequency factor [s-1]": "2.5e13"}))
    noref = variant(tmp, "noref.json", lambda d: d[R]["Negative electrode-electrolyte"].pop("Reference dimensionless SEI thickness [-]"))
    nosec = variant(tmp, "nosec.json", lambda d: d[R].pop("Electrolyte decomposition"))
    nocite = variant(tmp, "nocite.json", lambda d: d["Header"].pop("Citation"))
    nocell = variant(tmp, "nocell.json", lambda d: d.pop("Cell"))
    return [
        # name, arguments, words expected on stderr
        ("unknown set", ["-params", "kim2099"], ["unknown abuse parameter set 'kim2099'", "kim2007"]),
        ("malformed JSON", ["-params", "broken.json"], ["broken.json:4:", "malformed JSON"]),
        ("missing parameter", ["-params", miss], ["missing.json", "missing parameter", "Positive electrode-electrolyte", "Activation energy [J.mol-1]"]),
        ("negative activation energy", ["-params", negea], ["negEa.json", "SEI decomposition", "Activation energy [J.mol-1]", "-135080", "not physical", "positive"]),
        ("fraction above 1", ["-params", frac], ["frac.json", "Electrolyte decomposition", "Initial fraction [-]", "1.5", "in [0, 1]"]),
        ("parameter as text", ["-params", text], ["text.json", "Frequency factor [s-1]", "must be a number"]),
        ("missing SEI-thickness term", ["-params", noref], ["noref.json", "Reference dimensionless SEI thickness [-]"]),
        ("missing reaction", ["-params", nosec], ["nosec.json", "missing section", "Electrolyte decomposition"]),
        ("missing citation", ["-params", nocite], ["nocite.json", "Citation"]),
        ("no heat capacity", ["-params", nocell], ["nocell.json", "Volumetric heat capacity", "-abuse_rho_cp_J_m3K"]),
        ("oven without area", ["-params", nocell, "-protocol", "oven", "-abuse_rho_cp_J_m3K", "2e6"], ["nocell.json", "external area", "-abuse_area_m2"]),
        ("SOC without zero-SOC values", ["-abuse_soc", "0.5"], ["abuse_kim2007.json", "Initial fraction at zero SOC [-]"]),
        ("unknown protocol", ["-protocol", "microwave"], ["protocol", "microwave", "arc|oven"]),
        ("oven temperature out of range", ["-protocol", "oven", "-oven_temperature", "5000"], ["oven_temperature", "5000", "out of range"]),
        ("ARC end below start", ["-arc_start_temperature", "400", "-arc_end_temperature", "350"], ["arc_end_temperature", "350", "above"]),
    ]


def cases_with_output(tmp):
    return [(name, args + ["-output", os.path.join("out", "abuse.csv")], words, "out")
            for name, args, words in cases(tmp)]


if __name__ == "__main__":
    sys.exit(badinput.run_all("abuse", cases_with_output, sys.argv[1:], one_error_line=True))
