"""The ``[agents]`` part of a run config: placement, motility, division, death
and boundaries, validated into frozen dataclasses (no MPI here).

A run has one or more *cell types* (:class:`CellType`): everything a cell does
— its network, placement, body, motility, fates, uptake, chemotaxis and type
changes — belongs to its type; :class:`Agents` holds the types and what they
share (boundaries, the SSA method, the contact model and the adhesion between
types). A single-type config writes all of it in ``[agents]``; several types are
declared as ``[cell_types.NAME]`` (:mod:`.cell_types`).

Units: µm, min, 1/min; molecule counts are per cell. Every key is listed in
``docs/config.md``; the tables are read by :mod:`.type_table` and :mod:`.cell_types`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .bodies import Body
from .network import Modulation, Network
from .rules import Rule
from .space import Region

MOTILITY_TYPES = ("none", "brownian", "persistent")
METHODS = ("exact", "tau-leaping", "hybrid")  # how the networks are advanced
BOUNDARY_TYPES = ("reflecting", "absorbing", "periodic")
MAX_CHANGES = 32  # each type change rule has its own random stream


@dataclass(frozen=True)
class Placement:
    """Initial agents: ``kind`` is ``"uniform"`` (``count`` agents uniformly at
    random in ``region``), ``"lattice"`` (one agent per lattice site of
    ``spacing`` µm in ``region``) or ``"file"`` (positions, and optionally counts
    per species, from a CSV or HDF5 ``file``). ``region`` None is the whole domain.
    ``counts`` overrides the network's initial counts (species → molecules)."""

    kind: str
    count: int = 0
    region: Region | None = None
    spacing: tuple[float, ...] = ()
    file: str = ""
    counts: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Motility:
    """``kind`` none | brownian (``diffusivity`` µm²/min) | persistent (``speed``
    µm/min, direction kept for ``persistence`` min on average). The modulation,
    if any, multiplies diffusivity or speed by a function of a species count."""

    kind: str = "none"
    diffusivity: float = 0.0
    speed: float = 0.0
    persistence: float = 1.0
    modulation: Modulation | None = None
    rules: tuple[Rule, ...] = ()  # phenotype rules on the speed (:mod:`.rules`)


@dataclass(frozen=True)
class Threshold:
    """Condition on a species count (or, with ``field``, on the concentration of
    the field ``species`` sampled at the cell): ``≥ value`` (``above``) or ``≤ value``."""

    species: str
    value: float
    above: bool = True
    field: bool = False


@dataclass(frozen=True)
class Fate:
    """A division or death process: an event ``rate`` (1/min, optionally modulated
    by a species), and/or a ``threshold`` that triggers it deterministically;
    only cells at least ``min_age`` min old take part, and, with ``pressure``
    (cells with a body), only while their simple pressure is above or below a value."""

    rate: float = 0.0
    modulation: Modulation | None = None
    threshold: Threshold | None = None
    min_age: float = 0.0
    pressure: Threshold | None = None  # species "pressure": the gate on the cell's simple pressure
    # (type name, rate per touching cell of that type, 1/min): e.g. killing on contact (cells with a body)
    contact: tuple[tuple[str, float], ...] = ()
    rules: tuple[Rule, ...] = ()  # phenotype rules on the rate (:mod:`.rules`)

    @property
    def active(self) -> bool:
        return self.rate > 0 or self.threshold is not None or bool(self.contact) or bool(self.rules)


@dataclass(frozen=True)
class CellUptake:
    """First-order uptake of a field by every cell: a cell clears ``rate`` µm³/min
    (times the modulation by a species, if any), i.e. takes up ``rate·c``
    molecules/min from the field around it; with ``into``, the molecules join
    that network species."""

    field: str
    rate: float
    modulation: Modulation | None = None
    into: str | None = None
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Chemotaxis:
    """Drift up the gradient of ``field``: ``v = χ∇c``, saturating smoothly at
    ``max_speed`` (µm/min) if that is > 0: ``v = χ∇c / (1 + |χ∇c|/max_speed)``.
    χ (``sensitivity``) in µm²/min per concentration unit."""

    field: str
    sensitivity: float
    max_speed: float = 0.0
    rules: tuple[Rule, ...] = ()  # phenotype rules on the sensitivity


@dataclass(frozen=True)
class Transition:
    """A change of type (differentiation, transformation) to the type ``target``, by
    the same rules as a division or death (``when``: a rate, a threshold on a species
    or on a sampled field, a minimum age). Species the two types' networks share keep
    their molecules; the new type's other species start at its network's initial
    counts; the old type's species the new one lacks are set to 0 (``unshared =
    "drop"``) or kept, inert, in the cell (``"keep"``) for a later change back."""

    target: str
    when: Fate
    unshared: str = "drop"


@dataclass(frozen=True)
class CellType:
    """What cells of one type are and do; ``name`` is ``"cell"`` in a single-type config."""

    name: str
    network: Network
    placements: tuple[Placement, ...]
    motility: Motility = Motility()
    division: Fate = Fate()
    death: Fate = Fate()
    diameter: float = 10.0  # µm; daughters are placed one diameter apart (point cells)
    uptake: tuple[CellUptake, ...] = ()
    chemotaxis: Chemotaxis | None = None
    body: Body | None = None  # cells with size, growth and contact forces (None: points)
    changes: tuple[Transition, ...] = ()


@dataclass(frozen=True)
class Agents:
    """The cells of a run: their types and what the types share."""

    types: tuple[CellType, ...]
    # boundary[axis] = (low face, high face), each one of BOUNDARY_TYPES
    boundary: tuple[tuple[str, str], ...] = ()
    method: str = "exact"  # "exact" SSA, "tau-leaping" or "hybrid" (partitioned by copy number)
    # tau-leaping and hybrid: bound on a species' relative change per leap. Measured on birth–death
    # at 1000 copies: ε = 0.03 is 67× faster than exact SSA but inflates the stationary Fano factor
    # to 1.27; ε = 0.01 is 7× faster with a Fano factor of 1.01.
    tau_epsilon: float = 0.01
    # hybrid: molecules from which a species' reactions are leaped (relative noise ≈ 7 %)
    hybrid_threshold: int = 200
    # adhesion[a][b] between cells of types a and b: µm/min (potential) or the factor on the spring's
    # attraction (spring); symmetric. Empty for a single type (its contact.adhesion).
    adhesion: tuple[tuple[float, ...], ...] = ()
    named: bool = False  # declared as [cell_types.NAME]: cells carry a type id in the store and output

    # ---------------------------------------------------------------- the types together

    @property
    def type_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.types)

    def type_index(self, name: str) -> int:
        return self.type_names.index(name)

    @property
    def species(self) -> tuple[str, ...]:
        """Every type's network species, in order of first appearance: the store's count
        columns (a species of the same name is the same molecule in every type)."""
        return tuple(dict.fromkeys(s for t in self.types for s in t.network.species))

    @property
    def placements(self) -> tuple[Placement, ...]:
        return tuple(p for t in self.types for p in t.placements)

    @property
    def uptake(self) -> tuple[CellUptake, ...]:
        """Every type's uptakes (in type order)."""
        return tuple(u for t in self.types for u in t.uptake)

    @property
    def uptakes(self) -> tuple[tuple[int, CellUptake], ...]:
        """``(type index, uptake)`` of every type's uptakes."""
        return tuple((k, u) for k, t in enumerate(self.types) for u in t.uptake)

    @property
    def reservoirs(self) -> tuple[tuple[int, CellUptake], ...]:
        """Uptakes that feed a network species (each keeps a per-cell fractional reservoir)."""
        return tuple((k, u) for k, u in self.uptakes if u.into is not None)

    @property
    def secreted_fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f for t in self.types for f in t.network.secreted_fields))

    @property
    def has_bodies(self) -> bool:
        return self.types[0].body is not None  # every type has a body, or none has

    @property
    def persistent(self) -> bool:
        return any(t.motility.kind == "persistent" for t in self.types)

    @property
    def necrosis(self) -> bool:
        return any(t.body is not None and t.body.necrosis is not None for t in self.types)

    @property
    def chemotaxis_fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.chemotaxis.field for t in self.types if t.chemotaxis is not None))

    @property
    def contacts(self) -> bool:
        """Whether cells count their touching neighbours by type (bodies and several types)."""
        return self.has_bodies and len(self.types) > 1

    # ---------------------------------------------------------------- a single type

    @property
    def only(self) -> CellType:
        """The cell type of a single-type run."""
        if len(self.types) != 1:
            raise ValueError("this run has several cell types")
        return self.types[0]

    @property
    def motility(self) -> Motility:
        return self.only.motility

    @property
    def division(self) -> Fate:
        return self.only.division

    @property
    def death(self) -> Fate:
        return self.only.death

    @property
    def diameter(self) -> float:
        return self.only.diameter

    @property
    def chemotaxis(self) -> Chemotaxis | None:
        return self.only.chemotaxis

    @property
    def body(self) -> Body | None:
        return self.only.body
