"""Read tomocell's output files into numpy arrays (numpy + h5py only).

    import sys; sys.path.insert(0, "python")      # from the repository root
    import tomocell
    r = tomocell.load_results("output/demo/results.h5")
    r.time_s                      # the output times, s ([nt]; empty for the foil/network jobs)
    r.nodes["temperature_K"]      # final node field ([N])
    r.series["temperature_K"]     # the time series ([nt, N]), node order of r.nodes
    r.unit("temperature_K")       # "K": the unit is the name's suffix
    s = tomocell.load_summary("output/demo/summary.json")   # dict (summary.json, cell.json, props.json)
    t = tomocell.load_table("output/demo/summary.csv")      # {column: array} (summary.csv, cell.csv, results.csv)
    n = tomocell.load_net("output/roll_net.h5")             # a network file: Results with nodes/edges

Every dataset keeps the name (and so the unit) tomocell gives it; see
docs/results-h5.md and docs/net-h5.md.
"""
import csv
import json

import h5py
import numpy as np

__all__ = ["Results", "load_results", "load_net", "load_summary", "load_table", "unit_of"]

# name suffix -> unit, longest first
_UNITS = [("_A_m2", "A/m^2"), ("_W_m2", "W/m^2"), ("_S_m", "S/m"), ("_m2", "m^2"), ("_m3", "m^3"),
          ("_Ah", "Ah"), ("_Wh", "Wh"), ("_rad", "rad"), ("_K", "K"), ("_V", "V"), ("_A", "A"),
          ("_W", "W"), ("_J", "J"), ("_S", "S"), ("_s", "s"), ("_m", "m")]


def unit_of(name):
    """The unit of a tomocell quantity from its name ('temperature_K' -> 'K'); '' if none."""
    for suf, u in _UNITS:
        if name.endswith(suf):
            return u
    return ""


class Results:
    """Arrays of a results.h5 or net.h5: nodes, edges, series, time_s and the root attributes."""

    def __init__(self, path):
        self.path = path
        self.nodes, self.edges, self.series = {}, {}, {}
        with h5py.File(path, "r") as f:
            self.attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
            for grp, d in (("nodes", self.nodes), ("edges", self.edges), ("series", self.series)):
                if grp in f:
                    for k, v in f[grp].items():
                        if isinstance(v, h5py.Dataset):
                            d[k] = v[()]
            self.time_s = f["time_s"][()] if "time_s" in f else np.zeros(0)

    def unit(self, name):
        return unit_of(name)

    @property
    def coordinates_m(self):
        return self.nodes.get("coordinates_m")

    def at(self, name, t):
        """The field name at the snapshot nearest to time t (s): ([N] array, the snapshot's time)."""
        if not len(self.time_s):
            raise ValueError(f"{self.path} has no time series")
        k = int(np.argmin(np.abs(self.time_s - t)))
        return self.series[name][k], float(self.time_s[k])

    def __repr__(self):
        return (f"<tomocell.Results {self.path}: {len(self.nodes)} node fields, {len(self.edges)} edge fields, "
                f"{len(self.time_s)} snapshots>")


def load_results(path):
    """results.h5 of tomocell run (any job)."""
    return Results(path)


def load_net(path):
    """A network file (net.h5 of tomocell geometry or trace)."""
    return Results(path)


def load_summary(path):
    """summary.json, cell.json, props.json, compare.json ...: a dict (NaN stays NaN)."""
    with open(path) as f:
        return json.load(f)


def load_table(path):
    """A tomocell CSV (summary.csv, cell.csv, a sweep's results.csv): {column: numpy array};
    numeric columns as float, others as str."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    out = {}
    if not rows:
        return out
    for c in rows[0]:
        vals = [r[c] for r in rows]
        try:
            out[c] = np.array([float(v) if v != "" else np.nan for v in vals])
        except ValueError:
            out[c] = np.array(vals)
    return out
