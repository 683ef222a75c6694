"""Matrix-free Jacobi–Chebyshev solves of a step's system, for the regime where the
diffusion number ``ν = Δt·D·Σ1/h²`` is small.

The step's matrix ``A = I/Δt + θ(L + E)`` is a symmetric M-matrix with the star
stencil of ``L``: row ``i`` holds the diagonal ``a_ii`` and, for every face to a
neighbour ``j``, ``−w_ij`` (``θ`` times the face's diffusive coefficient). Every row
sum is at least ``1/Δt``, so by Gershgorin's theorem the eigenvalues of the
Jacobi-preconditioned matrix ``diag(A)⁻¹A`` lie in ``[1 − r, 1 + r]`` with
``r = max_i Σ_j w_ij / (1/Δt + Σ_j w_ij) < 1`` — a bound known before the solve,
so Chebyshev iteration needs no inner products to choose its steps (Saad, *Iterative
Methods for Sparse Linear Systems*, 2nd ed., Alg. 12.1). Each iteration

    xₖ₊₁ = xₖ + ρₖρₖ₋₁ (xₖ − xₖ₋₁) + (2ρₖ/δ) diag(A)⁻¹ (b − A xₖ)

is one pass of a numba kernel over the owned box padded by one layer of ghost
cells: it reads ``xₖ`` (with its neighbours), ``xₖ₋₁``, ``b`` and ``diag(A)``,
writes ``xₖ₊₁`` over ``xₖ₋₁``, and sums ``‖diag(A)⁻¹(b − A xₖ)‖²`` on the way —
about 40 bytes per cell and iteration against some 240 for CG on an assembled
matrix (a mat-vec, two inner products and three vector updates). The face
coefficients are scalars per axis when the grid's coefficients are uniform (the
common case), arrays otherwise; ghost cells beyond a wall hold 0, so a wall needs
no test in the loop. The stopping test is PETSc's default for CG with Jacobi:
``‖diag(A)⁻¹ r‖ ≤ max(rtol·‖diag(A)⁻¹ b‖, atol)``, and the iterate returned is one
whose residual was measured. The faces of the box are exchanged with the
neighbouring ranks once per iteration; every other operation is pointwise, so the
iterates do not depend on the rank count.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..errors import RunError
from ..parallel.grid import Grid

_FAST = {"reassoc", "contract", "arcp", "nsz"}  # reductions vectorise; no assumption about NaN or infinity


@njit(inline="always")
def _r_uniform(x, b, diag, wx, wy, wz, i, j, k, py, pz):
    """``b − A x`` at owned cell ``(i, j, k)`` (padded ``(i + 1, j + py, k + pz)``),
    one face coefficient per axis."""
    ii, jj, kk = i + 1, j + py, k + pz
    ax = diag[i, j, k] * x[ii, jj, kk] - wx * (x[ii - 1, jj, kk] + x[ii + 1, jj, kk])
    if py:
        ax -= wy * (x[ii, jj - 1, kk] + x[ii, jj + 1, kk])
    if pz:
        ax -= wz * (x[ii, jj, kk - 1] + x[ii, jj, kk + 1])
    return b[i, j, k] - ax


@njit(inline="always")
def _r_general(x, b, diag, wx, wy, wz, i, j, k, py, pz):
    """:func:`_r_uniform` with face coefficient arrays."""
    ii, jj, kk = i + 1, j + py, k + pz
    ax = diag[i, j, k] * x[ii, jj, kk] - wx[ii - 1, jj, kk] * x[ii - 1, jj, kk] - wx[ii, jj, kk] * x[ii + 1, jj, kk]
    if py:
        ax -= wy[ii, jj - 1, kk] * x[ii, jj - 1, kk] + wy[ii, jj, kk] * x[ii, jj + 1, kk]
    if pz:
        ax -= wz[ii, jj, kk - 1] * x[ii, jj, kk - 1] + wz[ii, jj, kk] * x[ii, jj, kk + 1]
    return b[i, j, k] - ax


@njit(inline="always")
def _step(residual, x, x_old, b, diag, wx, wy, wz, c1, c2):
    nx, ny, nz = b.shape
    py = 1 if x.shape[1] > ny else 0
    pz = 1 if x.shape[2] > nz else 0
    r2 = 0.0
    b2 = 0.0
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                inv = 1.0 / diag[i, j, k]
                z = residual(x, b, diag, wx, wy, wz, i, j, k, py, pz) * inv
                r2 += z * z
                bz = b[i, j, k] * inv
                b2 += bz * bz
                xc = x[i + 1, j + py, k + pz]
                x_old[i + 1, j + py, k + pz] = xc + c1 * (xc - x_old[i + 1, j + py, k + pz]) + c2 * z
    return r2, b2


@njit(inline="always")
def _sums(residual, x, b, diag, wx, wy, wz, column_sums, extra, has_extra):
    nx, ny, nz = b.shape
    py = 1 if x.shape[1] > ny else 0
    pz = 1 if x.shape[2] > nz else 0
    defect = 0.0
    scale = 0.0
    weight = 0.0
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                r = residual(x, b, diag, wx, wy, wz, i, j, k, py, pz)
                defect += r
                scale += abs(b[i, j, k])
                w = column_sums[i, j, k] + extra[i, j, k] if has_extra else column_sums[i, j, k]
                weight += w * abs(r)
    return defect, scale, weight


@njit(inline="always")
def _correct(residual, x, b, diag, wx, wy, wz, alpha, out):
    nx, ny, nz = b.shape
    py = 1 if x.shape[1] > ny else 0
    pz = 1 if x.shape[2] > nz else 0
    negative = 0
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                value = x[i + 1, j + py, k + pz] + alpha * abs(residual(x, b, diag, wx, wy, wz, i, j, k, py, pz))
                out[i, j, k] = value
                negative += value < 0.0
    return negative


@njit(cache=True, fastmath=_FAST)
def _pass_uniform(x, x_old, b, diag, wx, wy, wz, c1, c2):
    """One Chebyshev step with one face coefficient per axis (``wx, wy, wz``; 0 for an
    axis the grid lacks). ``x`` (xₖ) and ``x_old`` (xₖ₋₁, overwritten with xₖ₊₁;
    any finite values when ``c1`` is 0, the first step) are padded boxes, ``b`` and
    ``diag`` owned ones. Returns ``(Σ (r/a)², Σ (b/a)²)`` over the owned cells,
    ``r = b − A xₖ``."""
    return _step(_r_uniform, x, x_old, b, diag, wx, wy, wz, c1, c2)


@njit(cache=True, fastmath=_FAST)
def _pass_general(x, x_old, b, diag, wx, wy, wz, c1, c2):
    """:func:`_pass_uniform` with face coefficient arrays on the padded box (``w[q]``
    the face between ``q`` and ``q + 1`` along the axis)."""
    return _step(_r_general, x, x_old, b, diag, wx, wy, wz, c1, c2)


@njit(cache=True, fastmath=_FAST)
def _sums_uniform(x, b, diag, wx, wy, wz, column_sums, extra, has_extra):
    """``(Σ r, Σ |b|, Σ (colsum + extra)·|r|)`` over the owned cells, ``r = b − A x``."""
    return _sums(_r_uniform, x, b, diag, wx, wy, wz, column_sums, extra, has_extra)


@njit(cache=True, fastmath=_FAST)
def _sums_general(x, b, diag, wx, wy, wz, column_sums, extra, has_extra):
    """:func:`_sums_uniform` with face coefficient arrays."""
    return _sums(_r_general, x, b, diag, wx, wy, wz, column_sums, extra, has_extra)


@njit(cache=True, fastmath=_FAST)
def _correct_uniform(x, b, diag, wx, wy, wz, alpha, out):
    """``out = x + α |b − A x|`` on the owned cells; returns how many are negative."""
    return _correct(_r_uniform, x, b, diag, wx, wy, wz, alpha, out)


@njit(cache=True, fastmath=_FAST)
def _correct_general(x, b, diag, wx, wy, wz, alpha, out):
    """:func:`_correct_uniform` with face coefficient arrays."""
    return _correct(_r_general, x, b, diag, wx, wy, wz, alpha, out)


def _as3(a: np.ndarray) -> np.ndarray:
    """A 1D/2D Fortran-ordered array as 3D (trailing axes of length 1), a view."""
    return a.reshape(a.shape + (1,) * (3 - a.ndim), order="F")


class _Halo:
    """Exchanges the faces of padded boxes with the neighbouring ranks (the star
    stencil needs no edges or corners); ghost cells beyond a wall stay 0."""

    def __init__(self, grid: Grid):
        from mpi4py import MPI

        self.comm = grid.comm
        self._wall = MPI.PROC_NULL
        coords = np.unravel_index(self.comm.rank, grid.proc_sizes, order="F")
        self.neighbours = []  # per axis: (lower, upper) rank, MPI.PROC_NULL at a wall
        for a in range(grid.dim):
            pair = []
            for step in (-1, 1):
                c = list(coords)
                c[a] += step
                if not 0 <= c[a] < grid.proc_sizes[a]:
                    if not grid.domain.periodic[a]:
                        pair.append(MPI.PROC_NULL)
                        continue
                    c[a] %= grid.proc_sizes[a]
                pair.append(int(np.ravel_multi_index(c, grid.proc_sizes, order="F")))
            self.neighbours.append(tuple(pair))

    def exchange(self, x: np.ndarray) -> None:
        """Fill the ghost faces of the padded box ``x`` (3D view) from the neighbours."""
        rank = self.comm.rank
        for a, (lower, upper) in enumerate(self.neighbours):
            n = x.shape[a] - 2

            def face(q, a=a):
                return (slice(None),) * a + (q,)

            if lower == rank and upper == rank:  # periodic on one rank along this axis
                x[face(0)] = x[face(n)]
                x[face(n + 1)] = x[face(1)]
                continue
            received = np.empty_like(x[face(0)], order="C")
            # send the first owned layer down, receive the upper ghosts from above, and back
            self.comm.Sendrecv(np.ascontiguousarray(x[face(1)]), dest=lower, recvbuf=received, source=upper,
                               sendtag=2 * a, recvtag=2 * a)
            if upper != self._wall:
                x[face(n + 1)] = received
            self.comm.Sendrecv(np.ascontiguousarray(x[face(n)]), dest=upper, recvbuf=received, source=lower,
                               sendtag=2 * a + 1, recvtag=2 * a + 1)
            if lower != self._wall:
                x[face(0)] = received


class JacobiChebyshev:
    """Solves ``A x = b`` for one species' step matrix without assembling it.

    Parameters
    ----------
    grid:
        The shared grid.
    faces:
        Per axis, the face coefficients of ``L`` (1/min): a float when uniform, else an
        array on the padded box, from :func:`~.operator.assemble_operator`.
    rtol, atol, max_iterations:
        The stopping test (as PETSc's for CG with Jacobi, see the module doc).
    what, advice:
        How an error names the solve, and what it suggests.
    """

    def __init__(self, grid: Grid, faces, *, rtol: float, atol: float, max_iterations: int, what: str,
                 advice: str):
        self.grid = grid
        self.faces = faces
        self.rtol, self.atol, self.max_iterations = rtol, atol, max_iterations
        self.what, self.advice = what, advice
        padded = tuple(n + 2 for n in grid.counts)
        self._buffers = (np.zeros(padded, order="F"), np.zeros(padded, order="F"))
        self._owned = tuple(slice(1, n + 1) for n in grid.counts) + (slice(None),) * (3 - grid.dim)
        self._halo = _Halo(grid)
        self._uniform = all(isinstance(f, float) for f in faces)
        self._w = None
        self._ratio = None  # Gershgorin radius r of diag(A)⁻¹A
        self._solution = None  # the padded box holding the last solution
        self.iterations = 0

    def set_weights(self, theta: float, dt: float) -> None:
        """The face weights ``θ·w`` and the spectral bound for ``A = I/Δt + θ(L + E)``."""
        from mpi4py import MPI

        w = []
        for f in self.faces:
            if self._uniform:
                w.append(theta * f)
            elif isinstance(f, float):
                w.append(np.full(self._buffers[0].shape, theta * f, order="F"))
            else:
                w.append(theta * f)
        off = 2.0 * sum(float(np.max(wa)) for wa in w)  # Σ_j w_ij of any row is at most this
        if self._uniform:
            w += [0.0] * (3 - len(w))
        else:
            w = [_as3(wa) for wa in w] + [np.zeros((1, 1, 1), order="F")] * (3 - len(w))
        self._w = tuple(w)
        off = self.grid.comm.allreduce(off, op=MPI.MAX)
        self._ratio = off / (1.0 / dt + off)  # every row sum of A is at least 1/Δt

    def solve(self, b_vec, diag_vec, x_vec, when: str = "") -> None:
        """Solve ``A x = b`` from the initial guess ``x_vec`` (global vectors;
        ``diag_vec`` holds ``diag(A)``). The solution stays here: :meth:`balance` or
        :meth:`copy_out` writes it."""
        from mpi4py import MPI

        grid = self.grid
        current, other = self._buffers
        x, x_new = _as3(current), _as3(other)
        x[self._owned] = _as3(grid.view(x_vec, readonly=True))
        self._halo.exchange(x)
        b = _as3(grid.view(b_vec, readonly=True))
        diag = _as3(grid.view(diag_vec, readonly=True))
        kernel = _pass_uniform if self._uniform else _pass_general
        r = self._ratio
        sigma = 1.0 / r if r > 0.0 else math.inf
        rho = r
        tolerance = None
        totals = np.zeros(2)
        k = 0
        while True:
            if k == 0:
                c1, c2, rho_next = 0.0, 1.0, rho
            else:
                rho_next = 1.0 / (2.0 * sigma - rho)
                c1, c2 = rho_next * rho, 2.0 * rho_next / r
            totals[:] = kernel(x, x_new, b, diag, *self._w, c1, c2)
            grid.comm.Allreduce(MPI.IN_PLACE, totals, op=MPI.SUM)
            r2, b2 = float(totals[0]), float(totals[1])
            if tolerance is None:
                tolerance = max(self.rtol * math.sqrt(b2), self.atol)
            if math.sqrt(r2) <= tolerance:
                break  # xₖ is converged (the step just written is discarded)
            if r == 0.0:  # A is diagonal: the first step solved it
                x, k = x_new, 1
                break
            if not math.isfinite(r2):
                self._fail(k, "DIVERGED_NANORINF", when)
            if k >= self.max_iterations:
                self._fail(k, "DIVERGED_MAX_IT", when)
            rho = rho_next
            self._halo.exchange(x_new)
            x, x_new = x_new, x
            k += 1
        self._solution = x
        self.iterations = k

    def copy_out(self, x_vec) -> None:
        """Write the last solution into ``x_vec``."""
        _as3(self.grid.view(x_vec))[...] = self._solution[self._owned]

    def balance(self, b_vec, diag_vec, column_sums, extra, x_vec):
        """Write the last solution into ``x_vec`` with its mass balance restored as
        :meth:`~.reaction_diffusion.ReactionDiffusion._conserve` does —
        ``x + α|r|``, ``α = Σr / Σ(colsum + extra)·|r|`` — in two passes. Returns
        ``(Σr, Σ|b|)``, or None — ``x_vec`` then holds the uncorrected solution — when
        the correction removes molecules and would leave a cell negative (the caller
        spreads it otherwise)."""
        from mpi4py import MPI

        grid = self.grid
        x = self._solution
        b = _as3(grid.view(b_vec, readonly=True))
        diag = _as3(grid.view(diag_vec, readonly=True))
        has_extra = extra is not None
        e = _as3(grid.view(extra, readonly=True)) if has_extra else np.zeros((1, 1, 1))
        uniform = self._uniform
        sums = np.array((_sums_uniform if uniform else _sums_general)(
            x, b, diag, *self._w, _as3(grid.view(column_sums, readonly=True)), e, has_extra))
        grid.comm.Allreduce(MPI.IN_PLACE, sums, op=MPI.SUM)
        defect, scale, weight = (float(v) for v in sums)
        if defect == 0.0 or not weight > 0.0:
            self.copy_out(x_vec)
            return defect, scale
        alpha = defect / weight
        negative = (_correct_uniform if uniform else _correct_general)(x, b, diag, *self._w, alpha,
                                                                        _as3(grid.view(x_vec)))
        if alpha < 0.0 and grid.comm.allreduce(negative):
            self.copy_out(x_vec)
            return None
        return defect, scale

    def _fail(self, k: int, reason: str, when: str) -> None:
        raise RunError(f"{self.what} failed{when}: {reason} after {k} iterations ({self.advice})")

    def destroy(self) -> None:
        self._buffers = ()
