"""The Krylov helpers that replace PETSc's eigenvalue estimates: the Lanczos estimate
of the largest eigenvalue of diag(A)⁻¹A against numpy's, and the Chebyshev interval
reaching the smoother."""

from __future__ import annotations

import numpy as np

from hybridsim.parallel.krylov import largest_jacobi_eigenvalue, set_chebyshev_eigenvalues
from hybridsim.parallel.petsc import get_petsc


def _variable_laplacian(n: int):
    PETSc = get_petsc()
    d = np.random.default_rng(7).uniform(1.0, 3.0, n)
    A = PETSc.Mat().createAIJ((n, n), nnz=3, comm=PETSc.COMM_SELF)
    for i in range(n):
        A[i, i] = 2.0 * d[i] + 0.01
        if i > 0:
            A[i, i - 1] = -0.5 * (d[i] + d[i - 1])
        if i < n - 1:
            A[i, i + 1] = -0.5 * (d[i] + d[i + 1])
    A.assemble()
    return A


def test_twelve_lanczos_steps_come_within_two_percent_from_below():
    A = _variable_laplacian(200)
    dense = A.convert("dense").getDenseArray()
    s = 1.0 / np.sqrt(np.diag(dense))
    exact = np.linalg.eigvalsh(dense * s[:, None] * s[None, :]).max()
    estimates = [largest_jacobi_eigenvalue(A, steps) for steps in (4, 12, 40)]
    assert all(e <= exact * (1 + 1e-12) for e in estimates)
    assert estimates[0] < estimates[1] < estimates[2]  # more steps, closer
    assert estimates[1] >= 0.98 * exact
    A.destroy()


def test_the_interval_reaches_the_smoother_and_replaces_the_estimate(tmp_path):
    PETSc = get_petsc()
    A = _variable_laplacian(50)
    ksp = PETSc.KSP().create(comm=PETSc.COMM_SELF)
    ksp.setOptionsPrefix("helper_test_")
    ksp.setType("chebyshev")
    ksp.getPC().setType("jacobi")
    ksp.setOperators(A)
    set_chebyshev_eigenvalues(ksp, 0.25, 2.5)
    assert not any(key.startswith("helper_test_") for key in PETSc.Options().getAll())  # nothing left behind
    ksp.setUp()
    path = tmp_path / "ksp.txt"
    viewer = PETSc.Viewer().createASCII(str(path), comm=PETSc.COMM_SELF)
    ksp.view(viewer)
    viewer.destroy()
    text = path.read_text()
    assert "eigenvalue targets used: min 0.25, max 2.5" in text, text
    assert "estimat" not in text.lower(), text
    ksp.destroy()
    A.destroy()
