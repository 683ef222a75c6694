"""Run hybridsim under ``mpirun`` from plain pytest.

The child gets an explicit environment: OpenMPI's hidden variables from a
parent that already initialised MPI would make the child ``mpirun`` exit 1
with no output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

TIMEOUT = 240  # s; a hang is a failure, not a stuck CI

_MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
    # two ranks per core on small machines: yield instead of spinning
    "OMPI_MCA_mpi_yield_when_idle": "1",
}


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "PMI_"))}
    env.update(_MPI_ENV)
    return env


def mpirun(n: int, args: list[str], *, cwd=None, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """``mpirun -n n python args…`` with this interpreter; output captured as text."""
    if shutil.which("mpirun") is None:
        pytest.fail("mpirun is not on PATH: run `make test` (scripts/setup.sh installs OpenMPI)")
    cmd = ["mpirun", "-q", "-n", str(n), sys.executable, *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=_clean_env(), cwd=cwd, timeout=timeout)


def hybridsim(n: int, *args: str, **kw) -> subprocess.CompletedProcess:
    """``mpirun -n n hybridsim args…``."""
    return mpirun(n, ["-m", "hybridsim", *args], **kw)
