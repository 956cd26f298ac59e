#!/usr/bin/python3
"""Bad input to `tomocell compare`: a clear one-line message, exit status 1,
and no report directory and no temporary file left behind.

usage: test_compare_bad_input.py TOMOCELL [NRANKS MPIEXEC ARGS...]
"""
import os
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "cli"))
import badinput  # noqa: E402
import cmpcommon as cc  # noqa: E402


def make_cases(tomocell):
    def cases(tmp):
        p = lambda name: os.path.join(tmp, name)  # noqa: E731
        res, net = cc.make_results(tomocell, tmp)
        mask = cc.rasterize(cc.cu_line(res, 0.03), 50e-6, 480, 10.0, (2, 3))
        T = np.where(mask > 0, 300.0, np.nan)[None]
        cc.write_map(p("good.h5"), T, mask, [900.0])
        cc.write_map(p("nopx.h5"), T, mask, [900.0], px=None)
        cc.write_map(p("emptymask.h5"), T, np.zeros_like(mask), [900.0])
        cc.write_map(p("late.h5"), T, mask, [5000.0])
        np.savetxt(p("map.csv"), T[0], delimiter=",")
        fixed = ["-register", "fixed", "-register_rotation_deg", "10", "-register_shift_x_px", "2",
                 "-register_shift_y_px", "3"]
        csvopt = ["-slice_height", "0.03", "-time", "900"]
        out = ["-output", "report"]
        return [
            ("pixel size missing (HDF5)", [res, "nopx.h5"] + out,
             ["nopx.h5", "no pixel size", "-pixel_size"], "report"),
            ("pixel size missing (CSV)", [res, "map.csv", "-map_quantity", "temperature"] + csvopt + out,
             ["map.csv", "no pixel size", "-pixel_size"], "report"),
            ("CSV without quantity", [res, "map.csv", "-pixel_size", "50e-6"] + csvopt + out,
             ["map.csv", "-map_quantity"], "report"),
            ("no overlap: map shifted off the roll", [res, "good.h5", "-register", "fixed",
                                                      "-register_shift_x_px", "5000"] + out,
             ["do not overlap", "0 of"], "report"),
            ("no overlap: slice above the roll", [res, "good.h5", "-slice_height", "0.2"] + fixed + out,
             ["do not overlap", "slice height 0.2 m"], "report"),
            ("empty mask", [res, "emptymask.h5"] + out, ["emptymask.h5", "no valid pixel"], "report"),
            ("time after the run", [res, "late.h5"] + out,
             ["late.h5", "t = 5000 s", "outside the simulated run", "0 to 1800 s"], "report"),
            ("time offset before the run", [res, "good.h5", "-time_offset", "-1000"] + out,
             ["outside the simulated run"], "report"),
            ("times and maps differ", [res, "good.h5", "-time", "1,2"] + out,
             ["-time gives 2 time(s)", "1 map(s)"], "report"),
            ("network without temperatures", [net, "good.h5"] + out, ["no /time_s"], "report"),
            ("missing map", [res, "nothere.h5"] + out, ["nothere.h5"], "report"),
        ]
    return cases


if __name__ == "__main__":
    sys.exit(badinput.run_all("compare", make_cases(sys.argv[1]), sys.argv[1:], one_error_line=True))
