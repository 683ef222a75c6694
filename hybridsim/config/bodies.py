"""Cells as bodies (``[agents.body]``, ``[agents.contact]``, ``[agents.necrosis]``):
size, growth, contact forces and necrosis, validated into frozen dataclasses.

Units: µm, µm³, min; contact strengths are velocities (µm/min), as in PhysiCell,
whose parameter names the potential keeps (``cell_cell_repulsion_strength`` →
``repulsion``, ``cell_cell_adhesion_strength`` → ``adhesion``,
``relative_maximum_adhesion_distance`` → ``max_adhesion_distance``). The models
are written out in ``docs/bodies.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..errors import InputError
from .network import Modulation, Network, parse_modulated_value
from .reader import Table

CONTACT_MODELS = ("potential", "spring")
PHYSICELL_RADIUS = 8.412710547954228  # µm: PhysiCell's default cell (total volume 2494 µm³)


def sphere_volume(radius: float) -> float:
    return 4.0 / 3.0 * math.pi * radius**3


def sphere_radius(volume: float) -> float:
    return (3.0 * volume / (4.0 * math.pi)) ** (1.0 / 3.0)


@dataclass(frozen=True)
class Contact:
    """Forces between cells whose centres are closer than their interaction distance.

    ``potential`` (PhysiCell): cell j moves cell i at the velocity
    ``[repulsion·(1 − d/R)²₊ − adhesion·(1 − d/S)²₊] (x_i − x_j)/d`` with
    ``R = r_i + r_j`` and ``S = max_adhesion_distance·(r_i + r_j)``.
    ``spring`` (Chaste's GeneralisedLinearSpringForce, Osborne et al. 2017): with the
    rest length ``s = r_i + r_j``, the velocity ``stiffness·s·ln(1 + (d − s)/s)`` for
    ``d < s`` and ``stiffness·(d − s)·exp(−5 (d − s)/s)`` for ``s ≤ d < cutoff·s``,
    directed along ``x_j − x_i``. The sum over neighbours is divided by ``drag``.
    ``dt`` is the mechanics substep (min); ``wall`` the strength (µm/min) of
    PhysiCell's wall repulsion ``wall·(1 − δ/r)²`` at distance δ < r from a reflecting
    or absorbing face (0: none)."""

    model: str = "potential"
    repulsion: float = 10.0  # µm/min
    adhesion: float = 0.4  # µm/min
    max_adhesion_distance: float = 1.25  # relative to r_i + r_j
    stiffness: float = 0.25  # 1/min (spring): Chaste's default 15 per hour
    cutoff: float = 1.5  # relative to the rest length (spring)
    drag: float = 1.0
    dt: float = 0.1  # min
    wall: float = 0.0  # µm/min

    @property
    def reach(self) -> float:
        """Interaction distance relative to ``r_i + r_j``."""
        return max(1.0, self.max_adhesion_distance) if self.model == "potential" else self.cutoff

    def pair_stiffness(self, radius: float) -> float:
        """d(velocity)/d(distance) of one pair of cells of ``radius`` at contact (1/min),
        the rate the explicit substep must resolve."""
        if self.model == "potential":
            return 2.0 * self.repulsion / (2.0 * radius) / self.drag
        return self.stiffness / self.drag


@dataclass(frozen=True)
class Necrosis:
    """A cell whose sampled ``field`` stays ``below`` a concentration for ``after`` min
    turns necrotic: it stops dividing, moving and reacting, loses volume at the relative
    rate ``shrink`` (1/min) and is removed when its volume falls to ``remove_at`` of
    the volume it had when it turned necrotic; it takes up space until then."""

    field: str
    below: float
    after: float = 60.0  # min
    shrink: float = 0.01  # 1/min
    remove_at: float = 0.2


@dataclass(frozen=True)
class Body:
    """Cell size and growth. Cells start with ``radius`` (µm) — in 2D a monolayer of
    spheres of that radius, volumes those of the spheres. ``growth`` is the volume
    gained per min (µm³/min, optionally modulated by a network species or a field,
    like a reaction rate); it stops while the cell's simple pressure (PhysiCell's
    normalisation: 1 for a cell squeezed among 12 close-packed neighbours) exceeds
    ``arrest_pressure`` (contact inhibition). A cell divides when its volume reaches
    ``division_volume`` (µm³; 0: never by volume); daughters share it equally."""

    radius: float = PHYSICELL_RADIUS
    growth: float = 0.0  # µm³/min
    growth_modulation: Modulation | None = None
    growth_by_field: bool = False  # the modulation's source is a field (sampled at the cell), not a species
    division_volume: float = 0.0  # µm³
    arrest_pressure: float = math.inf
    contact: Contact = Contact()
    necrosis: Necrosis | None = None
    growth_rules: tuple = ()  # phenotype rules on the growth rate (:mod:`.rules`)

    @property
    def volume(self) -> float:
        return sphere_volume(self.radius)

    @property
    def largest_radius(self) -> float:
        """The radius no cell exceeds (µm): at the division volume, or the initial one
        without growth; ``inf`` if cells grow without dividing by volume."""
        if self.division_volume > 0:
            return max(self.radius, sphere_radius(self.division_volume))
        return self.radius if self.growth == 0 else math.inf


PER_TYPE_CONTACT = {"potential": ("repulsion", "adhesion"), "spring": ("stiffness",)}
"""The contact keys each cell type may set for itself; the others are shared by all types."""


def parse_contact(t: Table | None, shared: Contact | None = None, where: str = "[agents.contact]") -> Contact:
    """Validate a contact table. With ``shared`` (a run with several cell types) ``t``
    is one type's table and may set only its own strengths (:data:`PER_TYPE_CONTACT`),
    the rest coming from ``shared``."""
    if t is None:
        return shared or Contact()
    if shared is not None:
        own = PER_TYPE_CONTACT[shared.model]
        for key in t.data:
            if key not in own:
                raise InputError(f"{t.key(key)} is shared by every cell type: set it in {where} (a type's own "
                                 f"contact keys with the {shared.model} model: {', '.join(own)})")
        values = {}
        if shared.model == "potential":
            values.update(repulsion=t.number("repulsion", shared.repulsion, unit="µm/min", minimum=0.0),
                          adhesion=t.number("adhesion", shared.adhesion, unit="µm/min", minimum=0.0))
        else:
            values.update(stiffness=t.number("stiffness", shared.stiffness, unit="1/min", positive=True))
        t.finish()
        return replace(shared, **values)
    model = t.string("model", Contact.model, choices=CONTACT_MODELS)
    values = dict(model=model, drag=t.number("drag", Contact.drag, positive=True),
                  dt=t.number("dt", Contact.dt, unit="min", positive=True),
                  wall=t.number("wall", Contact.wall, unit="µm/min", minimum=0.0))
    if model == "potential":
        values.update(repulsion=t.number("repulsion", Contact.repulsion, unit="µm/min", minimum=0.0),
                      adhesion=t.number("adhesion", Contact.adhesion, unit="µm/min", minimum=0.0),
                      max_adhesion_distance=t.number("max_adhesion_distance", Contact.max_adhesion_distance,
                                                     minimum=1.0))
    else:
        values.update(stiffness=t.number("stiffness", Contact.stiffness, unit="1/min", positive=True),
                      cutoff=t.number("cutoff", Contact.cutoff, minimum=1.0))
    t.finish()
    return Contact(**values)


def check_substep(contact: Contact, radius: float, key: str, stiffness: float | None = None) -> None:
    """Refuse a substep ``contact.dt`` the explicit update cannot take for cells of
    ``radius`` (µm) whose pair relaxes at ``stiffness`` (1/min; default: two cells of
    this contact law); ``key`` names the dt in the message."""
    stiffness = contact.pair_stiffness(radius) if stiffness is None else stiffness
    if stiffness * contact.dt > 0.5:
        raise InputError(f"{key} = {contact.dt:g} min is too long for the contact forces: a pair of cells of "
                         f"radius {radius:g} µm relaxes at {stiffness:.3g}/min, so the explicit substep overshoots "
                         f"(dt·rate = {stiffness * contact.dt:.2g} > 0.5); use dt ≤ {0.5 / stiffness:.3g}")


def _necrosis(t: Table | None, fields: tuple[str, ...]) -> Necrosis | None:
    if t is None:
        return None
    necrosis = Necrosis(field=t.name_in("field", fields, "field species"),
                        below=t.number("below", unit="concentration", minimum=0.0),
                        after=t.number("after", Necrosis.after, unit="min", minimum=0.0),
                        shrink=t.number("shrink", Necrosis.shrink, unit="1/min", positive=True),
                        remove_at=t.number("remove_at", Necrosis.remove_at, positive=True))
    if not necrosis.remove_at < 1:
        raise InputError(f"{t.key('remove_at')} must be < 1 (a fraction of the volume at necrosis)")
    t.finish()
    return necrosis


def parse_body(t: Table, contact: Table | None, necrosis: Table | None, network: Network,
               fields: tuple[str, ...], shared: Contact | None = None) -> Body:
    """Validate ``[agents.body]`` with ``[agents.contact]`` and ``[agents.necrosis]``
    (with ``shared``, a type's contact table over the contact all types share)."""
    radius = t.number("radius", Body.radius, unit="µm", positive=True)
    growth, modulation = Body.growth, None
    if t.has("growth"):
        raw = t.raw("growth")
        source = "field" if isinstance(raw, dict) and "field" in raw else "species"
        growth, modulation = parse_modulated_value(
            raw, t.key("growth"), value_name="k", unit="µm³/min", source_key=source,
            sources=fields if source == "field" else network.species,
            source_kind="field species" if source == "field" else "network species")
    division_volume = t.number("division_volume", Body.division_volume, unit="µm³", minimum=0.0)
    if 0 < division_volume <= sphere_volume(radius):
        raise InputError(f"{t.key('division_volume')} = {division_volume:g} µm³ must exceed the initial volume "
                         f"{sphere_volume(radius):.6g} µm³ (radius {radius:g} µm)")
    arrest = t.number("arrest_pressure", math.inf, positive=True) if t.has("arrest_pressure") else math.inf
    t.finish()
    body = Body(radius=radius, growth=growth, growth_modulation=modulation,
                growth_by_field=modulation is not None and source == "field", division_volume=division_volume,
                arrest_pressure=arrest, contact=parse_contact(contact, shared),
                necrosis=_necrosis(necrosis, fields))
    if shared is None:
        check_substep(body.contact, radius, contact.key("dt") if contact is not None else "agents.contact.dt")
    return body
