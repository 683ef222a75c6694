"""Read one XDMF output of hybridsim with a real VTK reader and print what it made of
the last time step as JSON — run by ParaView's ``pvbatch`` (its XDMF3 reader,
``xdmf3``) or by a Python with the ``vtk`` wheel (its XDMF2 reader, ``xdmf2``).

    pvbatch read_xdmf.py FILE.xdmf xdmf3
    python read_xdmf.py FILE.xdmf xdmf2
"""

import json
import sys


def _dataset(path: str, kind: str):
    if kind == "xdmf3":
        from paraview import servermanager
        from paraview.simple import Xdmf3ReaderT

        reader = Xdmf3ReaderT(FileName=[path])
        reader.UpdatePipelineInformation()
        times = list(reader.TimestepValues) if reader.TimestepValues else []
        reader.UpdatePipeline(times[-1] if times else 0.0)
        data = servermanager.Fetch(reader)
    else:
        from vtkmodules.vtkCommonExecutionModel import vtkStreamingDemandDrivenPipeline
        from vtkmodules.vtkIOXdmf2 import vtkXdmfReader

        reader = vtkXdmfReader()
        reader.SetFileName(path)
        reader.UpdateInformation()
        info = reader.GetOutputInformation(0)
        times = list(info.Get(vtkStreamingDemandDrivenPipeline.TIME_STEPS()) or [])
        if times:
            reader.UpdateTimeStep(times[-1])
        reader.Update()
        data = reader.GetOutputDataObject(0)
    if data.IsA("vtkMultiBlockDataSet"):
        data = data.GetBlock(0)
    return data, times


def _arrays(attributes) -> dict:
    out = {}
    for k in range(attributes.GetNumberOfArrays()):
        array = attributes.GetArray(k)
        n, width = array.GetNumberOfTuples(), array.GetNumberOfComponents()
        out[array.GetName()] = {"components": width,
                                "values": [[array.GetComponent(i, c) for c in range(width)] for i in range(n)]}
    return out


def main() -> None:
    path, kind = sys.argv[1], sys.argv[2]
    data, times = _dataset(path, kind)
    n_points, n_cells = data.GetNumberOfPoints(), data.GetNumberOfCells()
    centres = []
    for c in range(n_cells):
        cell = data.GetCell(c)
        ids = cell.GetPointIds()
        pts = [data.GetPoint(ids.GetId(k)) for k in range(ids.GetNumberOfIds())]
        centres.append([sum(p[a] for p in pts) / len(pts) for a in range(3)])
    print(json.dumps({
        "class": data.GetClassName(),
        "times": times,
        "points": n_points,
        "cells": n_cells,
        "bounds": list(data.GetBounds()),
        "cell_types": sorted({data.GetCellType(c) for c in range(n_cells)}),
        "coordinates": [list(data.GetPoint(i)) for i in range(n_points)],
        "centres": centres,
        "point_data": _arrays(data.GetPointData()),
        "cell_data": _arrays(data.GetCellData()),
    }))


if __name__ == "__main__":
    main()
