#!/usr/bin/python3
"""`tomocell abuse` writes the CSV and the JSON summary the README describes.

usage: test_abuse_cli.py TOMOCELL

An oven below the threshold (400 K) gives a runaway object with null values,
one above (430 K) numbers, with onset before the peak and onset temperature
below the peak; the CSV's last released_J_m3 equals the JSON's
heat_released_J_m3 (printed with 10 digits: 1e-9 relative) and the stored
enthalpy falls by the same amount; the ARC JSON states the detection
threshold and the runaway criterion.
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

COLS = ["time_s", "temperature_K", "ambient_K", "phase", "q_W_m3", "self_heating_K_min",
        "q_sei_W_m3", "q_negative_W_m3", "q_positive_W_m3", "q_electrolyte_W_m3",
        "c_sei", "c_neg", "z_sei", "alpha", "c_e", "stored_enthalpy_J_m3", "released_J_m3"]


def run(tomocell, tmp, name, args):
    out = os.path.join(tmp, name, "abuse.csv")
    r = subprocess.run([tomocell, "abuse", "-output", out] + args, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        sys.exit(f"FAIL {name}: exit {r.returncode}\n{r.stderr}")
    with open(out) as f:
        rows = list(csv.DictReader(f))
    with open(os.path.join(tmp, name, "abuse.json")) as f:
        js = json.load(f)
    return rows, js, r.stdout


def check(cond, msg):
    if not cond:
        sys.exit("FAIL " + msg)
    print("ok   " + msg)


def main():
    tomocell = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        rows, js, _ = run(tomocell, tmp, "cold", ["-protocol", "oven", "-oven_temperature", "400"])
        check(list(rows[0].keys()) == COLS, "CSV columns")
        ra = js["runaway"]
        check(all(ra[k] is None for k in ("onset_time_s", "onset_temperature_K", "peak_temperature_K",
                                          "max_self_heating_rate_K_min")), "400 K oven: runaway values are null")
        check(ra["rate_threshold_K_min"] == 10 and "self-heating" in ra["criterion"], "criterion stated")
        rows, js, out = run(tomocell, tmp, "hot", ["-protocol", "oven", "-oven_temperature", "430"])
        ra = js["runaway"]
        check(ra["onset_time_s"] is not None and 0 < ra["onset_time_s"] < js["end_time_s"], "430 K oven: runaway onset time")
        check(ra["onset_temperature_K"] < ra["peak_temperature_K"], "onset below peak")
        check(ra["max_self_heating_rate_K_min"] >= 10, "max self-heating rate at least the criterion")
        check(abs(max(float(r["temperature_K"]) for r in rows) - ra["peak_temperature_K"]) < 1e-9 * ra["peak_temperature_K"],
              "CSV peak = JSON peak (10 digits)")
        last, first = rows[-1], rows[0]
        rel = abs(float(last["released_J_m3"]) - js["energy"]["heat_released_J_m3"]) / js["energy"]["heat_released_J_m3"]
        check(rel < 1e-9, f"CSV released = JSON released ({rel:.1e})")
        drop = float(first["stored_enthalpy_J_m3"]) - float(last["stored_enthalpy_J_m3"])
        rel = abs(drop - float(last["released_J_m3"])) / drop
        check(rel < 1e-9, f"stored enthalpy drop = released ({rel:.1e})")
        check(set(r["phase"] for r in rows) == {"oven"}, "oven phases")
        check(abs(float(rows[-1]["ambient_K"]) - 430) < 1e-9, "ambient holds at the oven temperature")
        rows, js, out = run(tomocell, tmp, "arc", ["-protocol", "arc"])
        check(js["arc"]["detection_threshold_K_min"] == 0.02 and js["arc"]["exotherm_detected"], "ARC detection stated and found")
        check({"heat", "wait", "seek", "track"} <= set(r["phase"] for r in rows), "ARC phases heat, wait, seek, track")
        check(js["runaway"]["onset_temperature_K"] > js["arc"]["exotherm_onset_temperature_K"], "ARC: runaway after the exotherm onset")
    return 0


if __name__ == "__main__":
    sys.exit(main())
