"""The one place that imports petsc4py.

PETSc reads its options database when petsc4py is first initialised, so the CLI
calls :func:`init` with the PETSc options it did not consume itself *before* any
other module touches ``PETSc``. The small compatibility helpers cover the API
differences between petsc4py 3.18 (Debian 12) and current releases.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

from ..errors import HybridsimError

_HELP = (
    "petsc4py cannot be imported by {exe}: run `bash scripts/setup.sh` (or `make`) "
    "to create .venv, or on a cluster load a PETSc module / activate an environment "
    "that provides petsc4py (see README, 'Installing on a cluster')"
)


def init(petsc_args: list[str] | None = None):
    """Initialise PETSc with ``petsc_args`` (e.g. ``["-rd_ksp_type", "cg"]``) and
    return the ``PETSc`` module. Later calls return the module unchanged."""
    try:
        import petsc4py
    except ImportError:
        raise HybridsimError(_HELP.format(exe=sys.executable)) from None
    if "petsc4py.PETSc" not in sys.modules:
        petsc4py.init(["hybridsim", *(petsc_args or [])])
    from petsc4py import PETSc

    return PETSc


def get_petsc():
    """The ``PETSc`` module, initialised without extra options if need be."""
    return init()


def create_matrix(da):
    """A matrix preallocated for the stencil of ``da`` (``DMDA.createMatrix``
    was removed in newer petsc4py; ``createMat`` exists in 3.18 and later)."""
    return da.createMat()


def use_dm_geometry_only(ksp, dm) -> None:
    """Give ``ksp`` the DMDA ``dm`` for geometric multigrid's grid hierarchy only (the
    operator and vectors stay the caller's). ``KSPSetDMActive`` takes a flag in
    petsc4py 3.18 and a (which, flag) pair in newer releases."""
    PETSc = get_petsc()
    ksp.setDM(dm)
    try:
        ksp.setDMActive(False)
    except TypeError:
        ksp.setDMActive(PETSc.KSP.DMActive.ALL, False)


def local_array(vec, shape, *, readonly: bool = False):
    """The owned entries of a DMDA vector as an array of ``shape`` (x fastest, so
    axis 0 is x), viewing the vector's memory. Avoids ``getVecArray``, which warns
    under numpy 2."""
    return vec.getArray(readonly=readonly).reshape(shape, order="F")


@contextmanager
def option_defaults(defaults: dict[str, str]):
    """Put ``defaults`` (option name without ``-`` → value) into PETSc's options
    database where the user has not set them, for the duration of the block, so a
    solver set up inside sees them and nothing leaks into a later solver with the
    same prefix."""
    options = get_petsc().Options()
    database = options.getAll()
    inserted = [key for key in defaults if key not in database]
    for key in inserted:
        options.setValue(key, defaults[key])
    try:
        yield
    finally:
        for key in inserted:
            options.delValue(key)
