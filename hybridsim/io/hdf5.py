"""The one place that imports h5py and opens files for parallel I/O."""

from __future__ import annotations

import os

from ..errors import HybridsimError, RunError


def h5py_module():
    """Import h5py, selecting Debian's MPI build even in a single-process run
    (Debian's h5py picks its serial build unless it sees an MPI launcher)."""
    os.environ.setdefault("H5PY_ALWAYS_USE_MPI", "1")
    import h5py

    return h5py


def open_file(path, mode: str, comm):
    """Open ``path`` on every rank of ``comm`` (collective).

    Uses the ``mpio`` driver when h5py has MPI support; a serial h5py is fine on
    one rank and an error on more.
    """
    h5py = h5py_module()
    try:
        if h5py.get_config().mpi:
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
