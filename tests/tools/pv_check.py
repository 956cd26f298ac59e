"""Run by pvpython (from test_xdmf_readers.py): open tomocell's XDMF files with
ParaView's default Xdmf3 readers and the legacy XDMF reader, print what each
sees as JSON lines, and render one PNG.

usage: pvpython pv_check.py OUTDIR PNG
"""
import json
import os
import sys

from paraview.simple import (ColorBy, GetActiveViewOrCreate, Render, ResetCamera, SaveScreenshot, Show,
                             XDMFReader, Xdmf3ReaderS, Xdmf3ReaderT, servermanager)

outdir, png = sys.argv[1], sys.argv[2]
os.chdir(outdir)


def arrays(pd):
    out = {}
    for i in range(pd.GetNumberOfArrays()):
        a = pd.GetArray(i)
        lo, hi = a.GetRange(0)
        out[pd.GetArrayName(i)] = [lo, hi]
    return out


def grid(r, t=None):
    r.UpdatePipeline(t) if t is not None else r.UpdatePipeline()
    d = servermanager.Fetch(r)
    while d is not None and d.IsA("vtkMultiBlockDataSet"):
        d = d.GetBlock(0)
    return d


readers = {"Xdmf3ReaderS": lambda f: Xdmf3ReaderS(FileName=[f]),
           "Xdmf3ReaderT": lambda f: Xdmf3ReaderT(FileName=[f]),
           "XDMFReader": lambda f: XDMFReader(FileNames=[f])}
last = None
for name, make in readers.items():
    for f in ("./results_series.xmf", "./results.xmf"):
        r = make(f)
        ts = [float(t) for t in (r.TimestepValues or [])]
        d = grid(r, ts[-1] if ts else None)
        print(json.dumps({"reader": name, "file": f, "times": ts, "points": d.GetNumberOfPoints(),
                          "cells": d.GetNumberOfCells(), "point": arrays(d.GetPointData()),
                          "cell": arrays(d.GetCellData())}))
        if name == "Xdmf3ReaderS" and f.endswith("series.xmf"):
            last = (r, ts[-1])
r, t = last
view = GetActiveViewOrCreate("RenderView")
view.ViewTime = t
view.ViewSize = [640, 480]
disp = Show(r, view)
ColorBy(disp, ("POINTS", "temperature_K"))
disp.SetScalarBarVisibility(view, True)
ResetCamera(view)
Render(view)
SaveScreenshot(png, view, ImageResolution=[640, 480])
print(json.dumps({"png": png}))
