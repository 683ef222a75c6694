"""One set-up and one convergence check for every PETSc Krylov solve
(reaction–diffusion, mechanics, homogenization).

Defaults are written into PETSc's options database under the solver's own
prefix *only where the user has not set that option*, then the KSP reads the
database, so ordinary PETSc options always win. A family prefix
(``parent_prefix``, e.g. ``rd_``) applies to every solver below it
(``rd_cytokine_``) unless the user set the solver's own option. The defaults
live in the database only until the preconditioner is set up (multigrid reads
its smoothers' options then), so they never leak into a later solver with the
same prefix.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from ..errors import InputError, RunError
from .petsc import get_petsc, option_defaults


def _known_types(kind) -> list[str]:
    return [v for k, v in vars(kind).items() if not k.startswith("_") and isinstance(v, str)]


def check_type_options() -> None:
    """Reject ``-…ksp_type`` / ``-…pc_type`` options that name no PETSc type,
    with the closest valid name."""
    PETSc = get_petsc()
    known = {"ksp_type": _known_types(PETSc.KSP.Type), "pc_type": _known_types(PETSc.PC.Type)}
    for name, value in PETSc.Options().getAll().items():
        for suffix, types in known.items():
            if name.lower().endswith(suffix) and str(value).lower() not in types:
                close = difflib.get_close_matches(str(value).lower(), types, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise InputError(f"PETSc option -{name}: unknown {suffix.split('_')[0].upper()} type {value!r}{hint}")


def setup_krylov(ksp, operator, *, prefix: str, defaults: dict[str, str], parent_prefix: str | None = None,
                 on_multigrid: Callable[[object], None] | None = None) -> None:
    """Set ``ksp`` up for ``operator`` with the options prefix ``prefix``.

    ``defaults`` (option names without the prefix) are used where neither the
    user's ``-<parent_prefix>…`` nor ``-<prefix>…`` options say otherwise.
    ``on_multigrid(ksp)`` is called when the preconditioner is PCMG (chosen by the
    defaults or by the user), before it is set up, to give it its grid hierarchy.
    An unknown type or a set-up PETSc refuses is an :class:`InputError`.
    """
    PETSc = get_petsc()
    check_type_options()
    database = PETSc.Options().getAll()
    merged = {}
    if parent_prefix is not None:
        for key, value in database.items():  # -rd_X applies to every rd_<name>_ solver
            if key.startswith(parent_prefix):
                own = prefix + key[len(parent_prefix):]
                if not key.startswith(prefix) and own not in database:
                    merged[own] = value
    for key, value in defaults.items():
        merged.setdefault(prefix + key, value)
    ksp.setOptionsPrefix(prefix)
    ksp.setOperators(operator)
    with option_defaults(merged):
        try:
            ksp.setFromOptions()
            if on_multigrid is not None and ksp.getPC().getType() == "mg":
                on_multigrid(ksp)
            ksp.setUp()
        except PETSc.Error as exc:
            raise InputError(f"PETSc could not set up solver -{prefix} with these options: {exc}") from None


def converged_reason_name(reason: int) -> str:
    PETSc = get_petsc()
    for name, value in vars(PETSc.KSP.ConvergedReason).items():
        if value == reason and not name.startswith("_"):
            return name
    return str(reason)


def check_converged(ksp, what: str, advice: str, when: str = "") -> int:
    """The iterations of the last solve of ``ksp``; a failed solve is a
    :class:`RunError` naming ``what`` failed (``when``, e.g. " at t = 5 min"),
    PETSc's reason and ``advice``."""
    iterations = ksp.getIterationNumber()
    reason = ksp.getConvergedReason()
    if reason < 0:
        raise RunError(f"{what} failed{when}: {converged_reason_name(reason)} after {iterations} "
                       f"iterations ({advice})")
    return iterations


def set_chebyshev_eigenvalues(ksp, low: float, high: float) -> None:
    """Make the Chebyshev iteration ``ksp`` (a multigrid smoother) target the
    eigenvalue interval ``[low, high]`` of its preconditioned operator instead of
    estimating it (petsc4py has no call for ``KSPChebyshevSetEigenvalues``, so the
    option is set for the smoother's own prefix, read, and removed)."""
    PETSc = get_petsc()
    key = ksp.getOptionsPrefix() + "ksp_chebyshev_eigenvalues"
    options = PETSc.Options()
    options[key] = f"{low!r},{high!r}"
    try:
        ksp.setFromOptions()
    finally:
        options.delValue(key)


def largest_jacobi_eigenvalue(A, steps: int = 12) -> float:
    """The largest eigenvalue of ``diag(A)⁻¹A`` for symmetric positive definite ``A``,
    by ``steps`` Lanczos steps on ``D^{-1/2} A D^{-1/2}`` from a smooth-free start
    vector (the largest Ritz value: a lower bound that is close after a dozen steps,
    as PETSc's own estimate is)."""
    import numpy as np

    scale = A.getDiagonal()
    scale.sqrtabs()
    scale.reciprocal()
    v, w = scale.duplicate(), scale.duplicate()
    start, end = v.getOwnershipRange()
    v.getArray()[:] = np.cos(0.7 * np.arange(start, end) + 0.1) + 1.5  # every mode present, any rank count
    v.scale(1.0 / v.norm())
    previous, tmp = v.duplicate(), v.duplicate()
    previous.set(0.0)
    alphas, betas = [], []
    beta = 0.0
    for _ in range(steps):
        w.pointwiseMult(v, scale)  # w = D^{-1/2} v
        A.mult(w, tmp)
        tmp.pointwiseMult(tmp, scale)  # tmp = D^{-1/2} A D^{-1/2} v
        alpha = tmp.dot(v)
        alphas.append(alpha)
        tmp.axpy(-alpha, v)
        tmp.axpy(-beta, previous)
        beta = tmp.norm()
        if beta <= 1e-14 * abs(alpha):
            break
        betas.append(beta)
        v.copy(previous)
        tmp.scale(1.0 / beta)
        tmp.copy(v)
    k = len(alphas)
    T = np.diag(alphas) + np.diag(betas[:k - 1], 1) + np.diag(betas[:k - 1], -1)
    for vec in (scale, v, w, previous, tmp):
        vec.destroy()
    return float(np.linalg.eigvalsh(T).max())
