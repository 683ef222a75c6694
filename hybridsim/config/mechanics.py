"""The ``[mechanics]`` part of a run config, validated into frozen dataclasses (no
MPI, no PETSc here).

Units: lengths and displacements µm; Young's modulus ``E``, tractions and stresses
Pa (any pressure unit works if used throughout: the equations are linear);
``alpha`` Pa per concentration unit; body force Pa/µm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from .reader import MISSING, Table, describe, fmt, suggest
from .space import AXES, Domain, SpatialValue, face_entries, parse_spatial

MODELS = {1: ("strip",), 2: ("plane_strain", "plane_stress"), 3: ("solid",)}
FACE_KINDS = ("free", "clamped", "roller", "traction")
SOLVERS = ("auto", "multigrid", "gamg")
INTEGRATIONS = ("full", "selective")
LOCKING_NU = 0.45
"""Poisson's ratio above which fully integrated Q1 elements lock (stiffen spuriously)."""


@dataclass(frozen=True)
class Support:
    """Condition on one face: ``free`` (no traction), ``clamped`` (u = 0),
    ``roller`` (normal displacement 0, free to slide: a symmetry plane) or
    ``traction`` (prescribed traction vector, Pa)."""

    kind: str = "free"
    traction: tuple[float, ...] = ()


@dataclass(frozen=True)
class ActiveStress:
    """``σ_act = alpha · c · I`` (isotropic) or ``alpha · c · f⊗f`` along the unit
    ``fibre`` f, with ``c`` the concentration of ``field``; alpha > 0 contracts."""

    field: str
    alpha: float  # Pa per concentration unit
    fibre: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Mechanics:
    """Small-strain linear elasticity of the tissue, ``∇·(σ_el(u) + σ_act) + f = 0``.

    ``E`` and ``nu`` are :class:`~hybridsim.config.space.SpatialValue` (uniform, layers
    or regions, evaluated at grid-cell centres). ``model``: ``strip`` (1D,
    σ = E ε), ``plane_strain`` or ``plane_stress`` (2D; in plane stress the active
    stress acts in the plane, as in a thin sheet), ``solid`` (3D).
    ``boundary[axis][side]`` is a :class:`Support`. Solved every ``interval``
    coupling steps; with ``advect_agents`` cells move with the tissue.
    """

    E: SpatialValue
    nu: SpatialValue
    model: str
    boundary: tuple[tuple[Support, Support], ...]
    active: ActiveStress | None = None
    body_force: tuple[float, ...] = ()
    interval: int = 1
    advect_agents: bool = False
    rtol: float = 1e-8
    max_iterations: int = 2000
    solver: str = "auto"  # "multigrid" (geometric, on the vertex grid), "gamg" (algebraic) or "auto"
    integration: str = "full"  # "selective": the volumetric part at one point per element, locking-free

    def locking_warning(self) -> str | None:
        """What a run should say when ν is so close to ½ that full integration locks."""
        highest = max(self.nu.all_values())
        if self.model == "strip" or self.integration != "full" or highest <= LOCKING_NU:
            return None
        return (f"mechanics.nu reaches {highest:g} (above {LOCKING_NU:g}): fully integrated Q1 elements lock "
                "there and the displacement is too small; set mechanics.integration = 'selective' (locking-free)")

    def constrained_components(self) -> set[int]:
        """Displacement components fixed somewhere on the boundary."""
        dim = len(self.boundary)
        fixed: set[int] = set()
        for axis, faces in enumerate(self.boundary):
            for face in faces:
                if face.kind == "clamped":
                    fixed.update(range(dim))
                elif face.kind == "roller":
                    fixed.add(axis)
        return fixed


def _face(value: Any, key: str, dim: int) -> Support:
    if isinstance(value, str):
        if value == "traction":
            raise InputError(f"{key} = 'traction' needs a vector: write {key} = {{ traction = [...] }} (Pa)")
        if value not in FACE_KINDS:
            raise InputError(f"{key} must be one of {', '.join(map(repr, FACE_KINDS))}"
                             f"{suggest(value, FACE_KINDS)} (got {value!r})")
        return Support(value)
    if isinstance(value, dict):
        t = Table(value, key)
        traction = t.list_of("traction", float, length=dim)
        t.finish()
        return Support("traction", tuple(traction))
    raise InputError(f"{key} must be 'free', 'clamped', 'roller' or {{ traction = [...] }} (got {describe(value)})")


def parse_mechanics(t: Table, domain: Domain, field_names: tuple[str, ...]) -> Mechanics:
    """Validate ``[mechanics]``; every problem is one :class:`InputError` line."""
    dim = domain.dim
    for a in range(dim):
        if domain.periodic[a]:
            raise InputError(f"mechanics needs a domain without periodic axes (domain.periodic has {AXES[a]!r})")
    models = MODELS[dim]
    model = t.string("model", models[0], choices=models)
    E = parse_spatial(t, "E", MISSING, dim, unit="Pa", positive=True)
    if dim == 1 and t.has("nu"):
        raise InputError(f"{t.key('nu')} has no meaning for a 1D strip (σ = E ε): remove it")
    nu = parse_spatial(t, "nu", 0.3 if dim > 1 else 0.0, dim, unit="", positive=False)
    bad = [v for v in nu.all_values() if not v < 0.5]
    if dim > 1 and bad:
        raise InputError(f"{t.key('nu')} must be < 0.5 for the compressible model (got {fmt(bad[0])}); "
                         "ν → 0.5 is incompressible, which this solver does not treat")

    active = None
    at = t.table("active")
    if at is not None:
        field = at.name_in("field", field_names, "species")
        alpha = at.number("alpha", unit="Pa per concentration unit")
        fibre = None
        if at.has("fibre"):
            fibre = at.list_of("fibre", float, length=dim)
            norm = math.sqrt(sum(v * v for v in fibre))
            if norm == 0.0:
                raise InputError(f"{at.key('fibre')} must be a non-zero direction (got {fibre})")
            fibre = tuple(v / norm for v in fibre)
        at.finish()
        active = ActiveStress(field, alpha, fibre)

    faces = [[Support(), Support()] for _ in range(dim)]
    bt = t.table("boundary")
    if bt is not None:
        for a, side, name in face_entries(bt, dim):
            faces[a][side] = _face(bt.raw(name), bt.key(name), dim)
        bt.finish()
    body_force = tuple(t.list_of("body_force", float, [0.0] * dim, length=dim))
    interval = t.integer("interval", Mechanics.interval, minimum=1)
    advect = t.boolean("advect_agents", Mechanics.advect_agents)
    rtol = t.number("rtol", Mechanics.rtol, positive=True)
    max_iterations = t.integer("max_iterations", Mechanics.max_iterations, minimum=1)
    solver = t.string("solver", Mechanics.solver, choices=SOLVERS)
    integration = t.string("integration", Mechanics.integration, choices=INTEGRATIONS)
    t.finish()
    mech = Mechanics(E=E, nu=nu, model=model, boundary=tuple((f[0], f[1]) for f in faces), active=active,
                     body_force=body_force, interval=interval, advect_agents=advect, rtol=rtol,
                     max_iterations=max_iterations, solver=solver, integration=integration)
    missing = sorted(set(range(dim)) - mech.constrained_components())
    if missing:
        names = ", ".join(AXES[a] for a in missing)
        raise InputError(
            f"{t.key('boundary')} leaves rigid-body motion free (nothing holds the tissue along {names}): "
            f"clamp a face, or put rollers on a face normal to {' and to '.join(AXES[a] for a in missing)}"
        )
    return mech
