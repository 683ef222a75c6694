"""XDMF 3 descriptions of hybridsim's HDF5 output, so ParaView (and VisIt) open
it as time series: grids with cell-centred scalars and node vectors (fields,
mechanics), and point clouds with per-point scalars (agents).

Files are rewritten by rank 0 after every output, under a temporary name and
then renamed, so a running or crashed simulation can always be opened.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_xdmf(target: Path, text: str) -> None:
    """Replace ``target`` by ``text`` atomically (rank 0 only)."""
    tmp = Path(target).with_suffix(".xdmf.tmp")
    tmp.write_text(text)
    os.replace(tmp, target)


def _document(collection: str, grids: list[str], doctype: bool = True) -> str:
    lines = [
        '<?xml version="1.0" ?>',
        *(['<!DOCTYPE Xdmf SYSTEM "Xdmf.dtd" []>'] if doctype else []),
        '<Xdmf Version="3.0">',
        " <Domain>",
        f'  <Grid Name="{collection}" GridType="Collection" CollectionType="Temporal">',
        *grids,
        "  </Grid>",
        " </Domain>",
        "</Xdmf>",
        "",
    ]
    return "\n".join(lines)


def grid_xdmf(size, cells, names, records, h5_name: str, node_vectors=(), collection: str = "fields") -> str:
    """Cell-centred scalars ``names`` on a uniform grid of ``cells`` over ``size`` (µm),
    plus 3-component vectors ``node_vectors`` on its nodes (2D and 3D only), at the
    ``records`` ``(group, time)`` of the file ``h5_name``.

    A 1D grid is described as a 2D grid one cell high, since XDMF has no 1D
    co-rectilinear mesh.
    """
    dim = len(cells)
    spacing = [s / n for s, n in zip(size, cells)]
    if dim == 1:
        topo, geo = "2DCoRectMesh", "ORIGIN_DXDY"
        node_dims = f"2 {cells[0] + 1}"
        origin, steps = "0 0", f"{spacing[0]} {spacing[0]}"
        data_dims = f"1 {cells[0]}"
    else:
        topo = f"{dim}DCoRectMesh"
        geo = "ORIGIN_DXDY" if dim == 2 else "ORIGIN_DXDYDZ"
        node_dims = " ".join(str(n + 1) for n in reversed(cells))
        origin = " ".join("0" for _ in cells)
        steps = " ".join(repr(h) for h in reversed(spacing))
        data_dims = " ".join(str(n) for n in reversed(cells))
    geo_dims = 2 if dim == 1 else dim
    lines = []
    for group, time in records:
        lines += [
            f'   <Grid Name="{group}" GridType="Uniform">',
            f'    <Time Value="{time!r}"/>',
            f'    <Topology TopologyType="{topo}" Dimensions="{node_dims}"/>',
            f'    <Geometry GeometryType="{geo}">',
            f'     <DataItem Dimensions="{geo_dims}" NumberType="Float" Precision="8" Format="XML">{origin}</DataItem>',
            f'     <DataItem Dimensions="{geo_dims}" NumberType="Float" Precision="8" Format="XML">{steps}</DataItem>',
            "    </Geometry>",
        ]
        for name in node_vectors:
            lines += [
                f'    <Attribute Name="{name}" AttributeType="Vector" Center="Node">',
                f'     <DataItem Dimensions="{node_dims} 3" NumberType="Float" Precision="8" '
                f'Format="HDF">{h5_name}:{group}/{name}</DataItem>',
                "    </Attribute>",
            ]
        for name in names:
            lines += [
                f'    <Attribute Name="{name}" AttributeType="Scalar" Center="Cell">',
                f'     <DataItem Dimensions="{data_dims}" NumberType="Float" Precision="8" '
                f'Format="HDF">{h5_name}:{group}/{name}</DataItem>',
                "    </Attribute>",
            ]
        lines.append("   </Grid>")
    return _document(collection, lines)


def points_xdmf(dim: int, scalars, records, h5_name: str, collection: str = "agents") -> str:
    """Points in 2D or 3D (dataset ``position``, ``(n, dim)``) with per-point scalars
    ``scalars`` (``(dataset, is_float)``, named by the dataset's last path part), at
    the ``records`` ``(group, time, n)`` of the file ``h5_name``."""
    geometry = "XY" if dim == 2 else "XYZ"
    lines = []
    for group, time, total in records:
        lines += [
            f'   <Grid Name="{group}" GridType="Uniform">',
            f'    <Time Value="{time!r}"/>',
            f'    <Topology TopologyType="Polyvertex" NumberOfElements="{total}"/>',
            f'    <Geometry GeometryType="{geometry}">',
            f'     <DataItem Dimensions="{total} {dim}" NumberType="Float" Precision="8" '
            f'Format="HDF">{h5_name}:{group}/position</DataItem>',
            "    </Geometry>",
        ]
        for key, is_float in scalars:
            lines += [
                f'    <Attribute Name="{key.split("/")[-1]}" AttributeType="Scalar" Center="Node">',
                f'     <DataItem Dimensions="{total}" NumberType="{"Float" if is_float else "Int"}" Precision="8" '
                f'Format="HDF">{h5_name}:{group}/{key}</DataItem>',
                "    </Attribute>",
            ]
        lines.append("   </Grid>")
    return _document(collection, lines, doctype=False)
