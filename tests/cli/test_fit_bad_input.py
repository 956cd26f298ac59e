#!/usr/bin/python3
"""Bad input to `tomocell fit`: one clear error line, exit status 1, and no
output (the output directory out/, with fit.json, fit_deck.yaml and the work
files, is not left behind).

usage: test_fit_bad_input.py TOMOCELL [NRANKS MPIEXEC ARGS...]
"""
import os
import sys

import badinput

DECK = """params: chen2020
model: spm
thermal: lumped
initial_soc: 1
experiment: "Discharge at 1C until 3.0 V"
cell_dt_fixed_s: 30
"""
ROLL = """job: roll
preset: 18650
network:
  ds_m: 20e-3
  nz: 3
model: spm
dt_fixed_s: 30
plots: false
experiment: "Discharge at 2C for 2 minutes"
"""
GOOD = ["-fit_time_column", "t", "-fit_voltage_column", "V"]
P = ["-fit_params", "pos_k_factor:0.2:5"]


def cases(tmp):
    for name, text in (("cell.yaml", DECK), ("roll.yaml", ROLL)):
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text)
    with open(os.path.join(tmp, "m.csv"), "w") as f:
        f.write("t,V,TC1\n0,4.1,25\n60,4.0,25.5\n120,3.9,26\n180,3.85,26.2\n")
    with open(os.path.join(tmp, "text.csv"), "w") as f:
        f.write("t,V\n0,4.1\n60,n/a\n120,3.9\n")
    with open(os.path.join(tmp, "back.csv"), "w") as f:
        f.write("t,V\n0,4.1\n60,4.0\n30,3.9\n")
    with open(os.path.join(tmp, "empty.csv"), "w") as f:
        f.write("t,V\n")
    with open(os.path.join(tmp, "fitdeck.yaml"), "w") as f:
        f.write(DECK + "fit:\n  params: \"neg_sto_max:0.8\"\nmeasured: m.csv\n")
    with open(os.path.join(tmp, "m2.csv"), "w") as f:
        f.write("t,V\n0,4.0\n600,3.9\n1200,3.8\n")
    with open(os.path.join(tmp, "dsdeck.yaml"), "w") as f:
        f.write(DECK + "fit:\n  datasets:\n    a: {measured: m.csv, colour: red}\n")
    with open(os.path.join(tmp, "listdeck.yaml"), "w") as f:
        f.write(DECK + "fit:\n  datasets: [m.csv, m2.csv]\n")
    base = ["cell.yaml", "-measured", "m.csv"] + GOOD
    two = ["cell.yaml", "-fit_datasets_a_measured", "m.csv", "-fit_datasets_b_measured", "m2.csv"] + GOOD
    return [
        # several datasets (fit_datasets_<name>_<key>)
        ("dataset key unknown", two + P + ["-fit_datasets_a_colour", "red"],
         ["fit_datasets_a_colour", "not fit_datasets_<name>_<key>"]),
        ("dataset key unknown (deck)", ["dsdeck.yaml"] + GOOD + P,
         ["fit_datasets_a_colour", "not fit_datasets_<name>_<key>"]),
        ("dataset without a measurement", two + P + ["-fit_datasets_c_rows", "Step=1"],
         ["dataset c has no measurement", "fit_datasets_c_measured"]),
        ("dataset file missing", two[:4] + ["-fit_datasets_b_measured", "nope.csv"] + GOOD + P,
         ["nope.csv"]),
        ("dataset duplicated", two[:4] + ["-fit_datasets_b_measured", "./m.csv"] + GOOD + P,
         ["datasets a and b are the same measurement", "m.csv"]),
        ("measured and datasets", two + P + ["-measured", "m.csv"],
         ["measured m.csv and datasets", "fit_datasets_<name>_measured"]),
        ("dataset ambient out of range", two + P + ["-fit_datasets_b_ambient_temperature", "5"],
         ["fit_datasets_b_ambient_temperature = '5'", "[100, 1000]"]),
        ("dataset offset not a number", two + P + ["-fit_datasets_a_time_offset_s", "soon"],
         ["fit_datasets_a_time_offset_s = 'soon' is not a number"]),
        ("dataset rows malformed", two + P + ["-fit_datasets_b_rows", "Step"],
         ["fit_datasets_b_rows: 'Step' is not COLUMN=VALUE"]),
        ("dataset lacks a fitted column", two + P + ["-fit_temperature_columns", "temperature_K=TC1"],
         ["m2.csv has no column 'TC1'"]),
        ("fitted key set per dataset", two + ["-fit_params", "ambient_temperature:280:300:290",
                                              "-fit_datasets_b_ambient_temperature", "300"],
         ["ambient_temperature is fitted and also set per dataset"]),
        ("dataset's model fails at the start", two + P + ["-fit_datasets_b_experiment",
                                                          "Discharge at 1C until 4.5 V"],
         ["dataset b:", "cut-off 4.5 V can never be reached"]),
        ("roll dataset's model fails at the start",
         ["roll.yaml"] + two[1:] + ["-fit_params", "thermal_h_can_W_m2K:3:30:10",
                                    "-fit_datasets_b_experiment", "Discharge at 1C until 4.5 V"],
         ["dataset b:", "cut-off 4.5 V can never be reached"]),
        ("datasets as a list", ["listdeck.yaml"] + GOOD + P, ["listdeck.yaml", "fit_datasets"]),

        ("no measurement", ["cell.yaml"] + P, ["required key measured"]),
        ("measurement missing", ["cell.yaml", "-measured", "nope.csv"] + GOOD + P, ["nope.csv"]),
        ("no fit_params", base, ["required key fit_params"]),
        ("measured column missing", ["cell.yaml", "-measured", "m.csv", "-fit_time_column", "t",
                                     "-fit_voltage_column", "U"] + P, ["no column 'U'", "t, V, TC1"]),
        ("time column missing", ["cell.yaml", "-measured", "m.csv", "-fit_voltage_column", "V"] + P,
         ["no header line with the time column 'time_s'"]),
        ("fit_rows malformed", base + P + ["-fit_rows", "Step"], ["fit_rows: 'Step' is not COLUMN=VALUE"]),
        ("fit_rows column missing", base + P + ["-fit_rows", "Step=13"], ["has no column 'Step'", "fit_rows"]),
        ("not a number", ["cell.yaml", "-measured", "text.csv"] + GOOD + P,
         ["text.csv:3", "column V is not a number"]),
        ("time goes back", ["cell.yaml", "-measured", "back.csv"] + GOOD + P, ["back.csv:4", "goes back"]),
        ("no rows", ["cell.yaml", "-measured", "empty.csv"] + GOOD + P, ["empty.csv has no rows"]),
        ("malformed parameter (deck fit: section)", ["fitdeck.yaml"] + GOOD,
         ["'neg_sto_max:0.8' is not name:lo:hi"]),
        ("unknown parameter", base + ["-fit_params", "pos_kk:0:1"], ["'pos_kk' is neither a deck key"]),
        ("bounds reversed", base + ["-fit_params", "pos_k_factor:5:0.2"], ["lower bound 5 must be below"]),
        ("start outside the bounds", base + ["-fit_params", "neg_sto_max:0.5:0.6"],
         ["neg_sto_max", "start 0.91", "outside its bounds"]),
        ("bound not a number", base + ["-fit_params", "pos_k_factor:0.2:lots"], ["'lots' is not a number"]),
        ("a function fitted as a value", base + ["-fit_params", "Negative electrode/OCP [V]:0:1"],
         ["is a function, not a number", "Negative electrode/OCP [V]*"]),
        ("unknown section", base + ["-fit_params", "Anode/Thickness [m]:0:1"], ["no section \"Anode\""]),
        ("unknown field", base + ["-fit_params", "Cell/Colour:0:1"], ["no field \"Cell\" -> \"Colour\""]),
        ("deck key out of its range", base + ["-fit_params", "ambient_temperature:-5:300:298"],
         ["ambient_temperature", "leave the key's range"]),
        ("deck key without value and start", base + ["-fit_params", "initial_temperature:280:300"],
         ["initial_temperature has no value", "START"]),
        ("a parameter twice", base + ["-fit_params", "h_W_m2K:5:20,h_W_m2K:1:30"], ["given twice"]),
        ("same field twice", base + ["-fit_params", "h_W_m2K:5:20,Cell/Heat transfer coefficient [W.m-2.K-1]:5:20"],
         ["are the same field"]),
        ("temperature pair malformed", base + P + ["-fit_temperature_columns", "TC1"],
         ["'TC1' is not model_column=measured_column"]),
        ("cell has no probe column", base + P + ["-fit_temperature_columns", "T_can_mid_K=TC1"],
         ["the cell model has no column T_can_mid_K"]),
        ("nothing to fit", ["cell.yaml", "-measured", "m.csv", "-fit_time_column", "t",
                            "-fit_voltage_column", "none"] + P, ["nothing to fit"]),
        ("too few points", base + ["-fit_params", "pos_k_factor:0.2:5,neg_sto_max:0.8:0.95,h_W_m2K:1:30,"
                                   "pos_sto_min:0.2:0.3,neg_k_factor:0.2:5"],
         ["4 points for 5 parameters"]),
        ("model fails at the start", base + P + ["-experiment", "Discharge at 1C until 4.5 V"],
         ["cut-off 4.5 V can never be reached"]),
        ("roll model for a cell deck", base + P + ["-fit_model", "roll"], ["needs a deck of tomocell run with job: roll"]),
        ("roll probe column missing", ["roll.yaml", "-measured", "m.csv"] + GOOD
         + ["-fit_params", "thermal_h_can_W_m2K:3:30:10", "-fit_temperature_columns", "T_can_mid_K=TC1"],
         ["no column T_can_mid_K", "probes"]),
        ("unknown TAO option", base + P + ["-fit_tao_tpye", "brgn"], ["fit_tao_tpye", "fit_tao_type"]),
        ("unknown TAO type", base + P + ["-fit_tao_type", "bgrn"], ["bgrn"]),
        ("output is a file", base + P + ["-output", "m.csv"], ["m.csv"]),
    ]


def cases_with_output(tmp):
    out = []
    for name, args, words in cases(tmp):
        if "-output" in args:
            out.append((name, args, words, None))
        else:
            out.append((name, args + ["-output", "out"], words, "out"))
    return out


if __name__ == "__main__":
    sys.exit(badinput.run_all("fit", cases_with_output, sys.argv[1:], one_error_line=True))
