"""The one place that imports h5py and opens files for parallel I/O."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import HybridsimError, RunError
from ..parallel.collective import on_root


def h5py_module():
    """Import h5py, selecting Debian's MPI build even in a single-process run
    (Debian's h5py picks its serial build unless it sees an MPI launcher)."""
    os.environ.setdefault("H5PY_ALWAYS_USE_MPI", "1")
    import h5py

    return h5py


def open_file(path, mode: str, comm):
    """Open ``path`` on every rank of ``comm`` (collective).

    Uses the ``mpio`` driver on several ranks (h5py must have MPI support); one
    rank uses the default POSIX driver, which writes faster than MPI-IO and
    needs no parallel h5py.
    """
    h5py = h5py_module()
    try:
        if h5py.get_config().mpi and comm.size > 1:
            return h5py.File(path, mode, driver="mpio", comm=comm)
        if comm.size > 1:
            raise HybridsimError(
                "h5py was built without MPI, so it cannot write one file from several ranks: "
                "install a parallel h5py (Debian: python3-h5py-mpi; conda-forge: h5py=*=mpi_*; "
                "Spack: py-h5py+mpi)"
            )
        return h5py.File(path, mode)
    except OSError as exc:
        raise RunError(f"cannot open {str(path)!r} for {'reading' if mode == 'r' else 'writing'}: {exc}") from None


def continue_file(path, comm, after_step: int, warn):
    """Open an output file of an earlier run to continue it after a restart
    (collective): groups of ``/steps`` with a ``step`` attribute above
    ``after_step`` — written after the checkpoint — are removed. Returns
    ``(file, kept)`` with ``kept`` the remaining group names in order, or
    ``(None, [])`` if there is no usable file (an unreadable one, e.g. cut short
    by a crash, is renamed aside and reported through ``warn``)."""
    path = Path(path)

    def look():
        if not path.is_file():
            return None
        h5py = h5py_module()
        try:
            with h5py.File(path, "r") as f:
                return sorted((name, int(g.attrs["step"])) for name, g in f["steps"].items())
        except (OSError, KeyError) as exc:
            aside = path.with_name(path.name + ".unreadable")
            os.replace(path, aside)
            return f"{path} could not be reopened ({exc}); moved to {aside}, starting it anew"

    status = on_root(comm, look)
    if status is None or isinstance(status, str):
        if isinstance(status, str):
            warn(status)
        return None, []
    f = open_file(path, "a", comm)
    kept = []
    for name, step in status:
        if step > after_step:
            del f["steps"][name]
        else:
            kept.append(name)
    return f, kept


def write_box(ds, selection, data) -> None:
    """``ds[selection] = data``, collectively when the file is open on several
    ranks (every rank calls it, with its own box)."""
    if ds.file.driver == "mpio":
        with ds.collective:
            ds[selection] = data
    else:
        ds[selection] = data


def create_unfilled(group, name: str, shape, dtype):
    """A contiguous dataset whose storage is not pre-filled with zeros (every
    element is written right after; parallel HDF5 would otherwise write the
    whole dataset twice)."""
    h5py = h5py_module()
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    return group.create_dataset(name, shape=shape, dtype=dtype, dcpl=dcpl)
