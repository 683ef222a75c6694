"""XDMF 3 descriptions of hybridsim's HDF5 output, so ParaView (and VisIt) open
it as time series: grids with cell-centred scalars and node vectors (fields,
mechanics), and cells as vertex cells with per-point scalars (agents).

Every grid is a ``3DCoRectMesh`` on the config's own axes — x, y, z of the config are
ParaView's world X, Y, Z, with origin 0 and spacing in µm — whatever its dimension: a
2D grid is one point thick in z (the z = 0 plane), a 1D grid one point thick in y
and z (a line along X). (A ``2DCoRectMesh`` would land in ParaView's YZ plane.)
Vectors have 3 components, padded with 0. Agents are ``Polyvertex`` elements of one
node each, with their connectivity read from the agent file's ``/vertices``
(0, 1, 2, …), so ParaView draws them as points.

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


def _flat(values, dim: int, fill) -> list:
    """``values`` (x, y, z order, ``dim`` of them) as 3 entries in XDMF's (z, y, x) order,
    the missing axes first with ``fill``."""
    return [fill] * (3 - dim) + list(reversed(values))


def grid_xdmf(size, cells, names, records, h5_name: str, node_vectors=(), collection: str = "fields") -> str:
    """Cell-centred scalars ``names`` on a uniform grid of ``cells`` over ``size`` (µm),
    plus 3-component vectors ``node_vectors`` on its nodes, at the ``records``
    ``(group, time)`` of the file ``h5_name`` (datasets of shape ``reversed(cells)``
    and ``reversed(cells + 1) + (3,)``)."""
    dim = len(cells)
    spacing = [s / n for s, n in zip(size, cells)]
    node_dims = " ".join(map(str, _flat([n + 1 for n in cells], dim, 1)))
    data_dims = " ".join(map(str, _flat(list(cells), dim, 1)))
    steps = " ".join(repr(h) for h in _flat(spacing, dim, min(spacing)))
    lines = []
    for group, time in records:
        lines += [
            f'   <Grid Name="{group}" GridType="Uniform">',
            f'    <Time Value="{time!r}"/>',
            f'    <Topology TopologyType="3DCoRectMesh" Dimensions="{node_dims}"/>',
            '    <Geometry GeometryType="ORIGIN_DXDYDZ">',
            '     <DataItem Dimensions="3" NumberType="Float" Precision="8" Format="XML">0 0 0</DataItem>',
            f'     <DataItem Dimensions="3" NumberType="Float" Precision="8" Format="XML">{steps}</DataItem>',
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


VERTICES = "/vertices"
"""Dataset of the agent file holding 0, 1, 2, … : the connectivity of every step's vertex cells."""


def _first(total: int, dataset: str, length: int, number: str) -> str:
    """A DataItem of the first ``total`` entries of ``dataset`` (``length`` long)."""
    return (f'<DataItem ItemType="HyperSlab" Dimensions="{total}" Type="HyperSlab" NumberType="{number}" '
            f'Precision="8">'
            f'<DataItem Dimensions="3 1" Format="XML">0 1 {total}</DataItem>'
            f'<DataItem Dimensions="{max(length, 1)}" NumberType="{number}" Precision="8" '
            f'Format="HDF">{dataset}</DataItem></DataItem>')


def points_xdmf(dim: int, scalars, records, h5_name: str, vertices: int, collection: str = "agents") -> str:
    """Cells as vertex cells at their positions (dataset ``position``, ``(n, dim)``; 2D
    in the z = 0 plane; 1D from the dataset ``xyz``, ``(n, 3)``, on the x axis) with
    per-point scalars ``scalars`` (``(dataset, is_float)``, named by the dataset's last
    path part), at the ``records`` ``(group, time, n)`` of the file ``h5_name``, whose
    :data:`VERTICES` holds ``vertices`` ≥ every ``n`` entries."""
    lines = []
    for group, time, total in records:
        points, width = ("xyz", 3) if dim == 1 else ("position", dim)  # 1D: x with y = z = 0
        geometry = [f'    <Geometry GeometryType="{"XY" if dim == 2 else "XYZ"}">',
                    f'     <DataItem Dimensions="{total} {width}" NumberType="Float" Precision="8" '
                    f'Format="HDF">{h5_name}:{group}/{points}</DataItem>',
                    "    </Geometry>"]
        lines += [
            f'   <Grid Name="{group}" GridType="Uniform">',
            f'    <Time Value="{time!r}"/>',
            f'    <Topology TopologyType="Polyvertex" NumberOfElements="{total}" NodesPerElement="1">',
            f"     {_first(total, f'{h5_name}:{VERTICES}', vertices, 'Int')}",
            "    </Topology>",
            *geometry,
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
