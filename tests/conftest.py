"""Fixtures shared by the tests of every layer.

* ``mpirun`` runs a case under ``mpirun -n N`` with this interpreter:
  ``mpirun(n, [script, args…])``, ``mpirun.hybridsim(n, "run", …)`` (the command
  line), ``mpirun.popen(n, args…)`` (in the background, in its own session) and
  ``mpirun.env()`` (the environment a child ``mpirun`` needs). A test that uses it
  is marked ``mpi``, so ``pytest -m "not mpi"`` runs on one process only.
* ``hybridsim_cli(*args)`` runs the command line in one plain process (no mpirun).
* ``written_on(path)`` is the set of rank counts that wrote an output file or checkpoint.
* ``one_error_line(result, code, expected)`` asserts the contract for bad input:
  exit ``code``, one ``error: …`` line containing ``expected``, no traceback.

The child gets an explicit environment: OpenMPI's hidden variables from a parent
that already initialised MPI would make the child ``mpirun`` exit 1 with no output.
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


class MpiRunner:
    """Launches this interpreter under ``mpirun``; output is captured as text."""

    timeout = TIMEOUT

    @staticmethod
    def env() -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "PMI_"))}
        env.update(_MPI_ENV)
        return env

    @staticmethod
    def command(n: int, args: list[str]) -> list[str]:
        if shutil.which("mpirun") is None:
            pytest.fail("mpirun is not on PATH: run `make test` (scripts/setup.sh installs OpenMPI)")
        return ["mpirun", "-q", "-n", str(n), sys.executable, *args]

    def __call__(self, n: int, args: list[str], *, cwd=None, timeout: float = TIMEOUT,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """``mpirun -n n python args…`` (``env``: variables to add)."""
        return subprocess.run(self.command(n, args), capture_output=True, text=True, env={**self.env(), **(env or {})},
                              cwd=cwd, timeout=timeout)

    def hybridsim(self, n: int, *args: str, **kw) -> subprocess.CompletedProcess:
        """``mpirun -n n hybridsim args…``."""
        return self(n, ["-m", "hybridsim", *args], **kw)

    def popen(self, n: int, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """``mpirun -n n hybridsim args…`` in the background, in a session of its own
        (``env``: variables to add)."""
        return subprocess.Popen(self.command(n, ["-m", "hybridsim", *args]), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env={**self.env(), **(env or {})},
                                start_new_session=True)


@pytest.fixture(scope="session")
def mpirun() -> MpiRunner:
    return MpiRunner()


@pytest.fixture(scope="session")
def hybridsim_cli():
    def run(*args: str, cwd=None, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hybridsim", *args], capture_output=True, text=True, cwd=cwd,
                              timeout=timeout)

    return run


@pytest.fixture(scope="session")
def one_error_line():
    def check(result, code: int, expected: str) -> None:
        """Exit ``code``, and stderr is exactly one ``error: …`` line containing ``expected``."""
        assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert lines == [lines[0]] and lines[0].startswith("error: "), result.stderr
        assert expected in lines[0]
        assert "Traceback" not in result.stdout + result.stderr

    return check


@pytest.fixture(scope="session")
def written_on():
    def ranks(path) -> set[int]:
        """The rank counts that wrote an output file's steps (or a checkpoint), so a test of
        rank independence knows it really ran on the ranks it meant."""
        import h5py

        with h5py.File(path, "r") as f:
            if "steps" in f:
                return {int(f["steps"][name].attrs["ranks"]) for name in f["steps"]}
            return {int(f.attrs["ranks"])}

    return ranks


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "mpirun" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.mpi)
