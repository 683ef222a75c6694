"""What cells with bodies do on one rank (numpy on the store's columns; no MPI):
grow, turn necrotic and shrink, divide by volume, and move under contact forces.

Growth (µm³/min) is forward Euler per coupling step: ``V += Δt·g·f``, ``f`` the
modulation by a species or by the field at the cell, 0 while the cell's simple
pressure is at least ``arrest_pressure`` (contact inhibition) or it is necrotic.
A cell whose necrosis field stays below the threshold for ``after`` min turns
necrotic: its volume at that moment is kept in ``necrotic``, it neither grows, nor
divides, nor moves by itself, and loses volume as ``dV/dt = −shrink·V`` (solved
exactly over a step) until it reaches ``remove_at`` of that volume, when it is
removed. A division halves the volume; the two daughters (radius ``r_d = 2^(-1/3)
r``) sit at ``±(r − r_d)`` from the mother's centre along a random axis, so both lie
inside her, overlapping, and the contact forces push them apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..config.bodies import Body
from .compiled import modulation_factor
from .contact import POTENTIAL, SPRING, contact_velocities
from .motility import PERIODIC


def radius_of(volume: np.ndarray) -> np.ndarray:
    """Radius (µm) of a sphere of ``volume`` (µm³)."""
    return np.cbrt(3.0 * volume / (4.0 * math.pi))


def growth_law(body: Body, species_factor, fields: Mapping[str, np.ndarray]):
    """The body's growth rate (µm³/min; per cell where a modulation makes it so):
    ``growth`` times its modulation by a species (``species_factor(modulation)``) or by a
    sampled field (``fields``)."""
    if body.growth_modulation is None:
        factor = 1.0
    elif body.growth_by_field:
        factor = modulation_factor(body.growth_modulation, fields[body.growth_modulation.source])
    else:
        factor = species_factor(body.growth_modulation)
    return body.growth * factor


def grow(store, body: Body, dt: float, species_factor, fields: Mapping[str, np.ndarray], rate=None) -> np.ndarray:
    """Grow, or shrink the necrotic, over ``dt`` min; returns the rows of the necrotic
    cells that shrank away (for the caller to remove). ``species_factor(modulation)``
    gives a species modulation per cell; ``fields`` the sampled fields; ``rate`` (µm³/min
    per cell), if given, replaces the body's growth law (phenotype rules)."""
    volume = store.column("volume")
    necrotic = store.column("necrotic") if store.has("necrotic") else np.zeros(store.n)
    dying = necrotic > 0  # necrotic since before this step: they shrink over it
    if body.necrosis is not None:
        n = body.necrosis
        hypoxia = store.column("hypoxia")
        low = fields[n.field] < n.below
        hypoxia[...] = np.where(low, hypoxia + dt, 0.0) * (necrotic == 0) + hypoxia * (necrotic > 0)
        turning = (necrotic == 0) & (hypoxia >= n.after)
        necrotic[turning] = volume[turning]
    if rate is None and body.growth > 0:
        rate = growth_law(body, species_factor, fields)
    if rate is not None:
        free = (store.column("pressure") < body.arrest_pressure) & (necrotic == 0)
        volume += dt * rate * free
    gone = np.empty(0, dtype=np.int64)
    if body.necrosis is not None:
        volume[dying] *= math.exp(-body.necrosis.shrink * dt)
        gone = np.nonzero(dying & (volume <= body.necrosis.remove_at * necrotic))[0]
    store.column("radius")[...] = radius_of(volume)
    return gone


def ready_to_divide(store, body: Body) -> np.ndarray:
    """Cells whose volume reached the division volume (not necrotic)."""
    if body.division_volume <= 0:
        return np.zeros(store.n, dtype=bool)
    ready = store.column("volume") >= body.division_volume
    if store.has("necrotic"):
        ready &= store.column("necrotic") == 0
    return ready


def split(store, mothers: np.ndarray, axis: np.ndarray) -> tuple[np.ndarray, dict]:
    """Halve the mothers' volumes; returns each daughter's offset from the mother's
    centre along the unit ``axis`` rows (the mother moves by minus it) and the body
    columns of the new daughters."""
    volume = store.column("volume")
    radius = store.column("radius")
    before = radius[mothers].copy()
    volume[mothers] *= 0.5
    radius[mothers] = radius_of(volume[mothers])
    offset = axis * (before - radius[mothers])[:, None]
    columns = {"volume": volume[mothers].copy(), "radius": radius[mothers].copy()}
    return offset, columns


def substeps(substep: float | Body, dt: float) -> int:
    """Mechanics substeps in a coupling step of ``dt`` min: the fewest equal ones no
    longer than ``substep`` (min; or a body's ``contact.dt``)."""
    if isinstance(substep, Body):
        substep = substep.contact.dt
    return max(1, math.ceil(dt / substep * (1 - 1e-12)))


def interaction_distance(body: Body, largest_radius: float) -> float:
    """Centre distance (µm) beyond which two cells of at most ``largest_radius`` do not touch."""
    return 2.0 * largest_radius * body.contact.reach


def substep_bytes(dim: int) -> int:
    """Bytes per cell a mechanics substep allocates on top of the store: positions,
    radii and types of the owned cells and ghosts in cell-list order, the list's order
    and bins, its bin starts (one bin per cell allowed for: a confluent tissue has
    fewer), the velocities, and the owned cells' types (zeros for a single type)."""
    return 8 * (dim + 1 + 1 + 1 + dim + 1 + 1 + 1 + 1)


def _growth_law(body: Body) -> str:
    if body.growth_modulation is None:
        return f"{body.growth:g}"
    return body.growth_modulation.describe(f"{body.growth:g}", body.growth)


def describe(body: Body, dim: int) -> list[str]:
    """What ``hybridsim check`` says of the cells' bodies."""
    c = body.contact
    shape = "spheres" if dim == 3 else ("spheres in a monolayer" if dim == 2 else "spheres on a line")
    lines = [f"bodies: radius {body.radius:g} µm ({shape}, volume {body.volume:.6g} µm³); growth "
             + (f"{_growth_law(body)} µm³/min" if body.growth else "none")
             + (f", division at {body.division_volume:g} µm³" if body.division_volume else "")]
    if c.model == "potential":
        law = (f"potential (PhysiCell): repulsion {c.repulsion:g} µm/min, adhesion {c.adhesion:g} µm/min "
               f"within {c.max_adhesion_distance:g}·(r_i + r_j)")
    else:
        law = f"spring (Chaste): stiffness {c.stiffness:g}/min, cutoff {c.cutoff:g}·(r_i + r_j)"
    lines.append(f"  contact: {law}; drag {c.drag:g}; substep {c.dt:g} min"
                 + (f"; wall {c.wall:g} µm/min" if c.wall else "")
                 + (f"; growth stops above pressure {body.arrest_pressure:g}" if body.arrest_pressure < math.inf
                    else ""))
    if body.necrosis is not None:
        n = body.necrosis
        lines.append(f"  necrosis: after {n.after:g} min with {n.field} < {n.below:g}; shrinks at {n.shrink:g}/min, "
                     f"removed at {n.remove_at:g} of its volume")
    return lines


@dataclass(frozen=True)
class ContactLaw:
    """The contact law of a run as the kernel reads it: the model, ``T × T`` tables of
    the pair strengths by cell type — repulsion ``√(c_r,i c_r,j)`` (PhysiCell) or
    stiffness ``√(μ_i μ_j)``, and the adhesion (µm/min) or the factor on the spring's
    attraction — and what every type shares (reach, drag, wall)."""

    model: int
    strength: np.ndarray
    adhesion: np.ndarray
    reach: float
    drag: float
    wall: float

    @classmethod
    def of(cls, agents_or_body) -> ContactLaw:
        """The law of a run's :class:`~hybridsim.config.agents.Agents`, or of one
        :class:`~hybridsim.config.bodies.Body` (a single type)."""
        if isinstance(agents_or_body, Body):
            contacts, adhesion = [agents_or_body.contact], None
        else:
            contacts = [t.body.contact for t in agents_or_body.types]
            adhesion = agents_or_body.adhesion or None
        c = contacts[0]
        model = POTENTIAL if c.model == "potential" else SPRING
        own = np.array([x.repulsion if model == POTENTIAL else x.stiffness for x in contacts])
        strength = np.sqrt(np.outer(own, own))
        if adhesion is not None:
            pull = np.array(adhesion, dtype=float)
        elif model == POTENTIAL:
            a = np.array([x.adhesion for x in contacts])
            pull = np.sqrt(np.outer(a, a))
        else:
            pull = np.ones_like(strength)
        reach = c.max_adhesion_distance if model == POTENTIAL else c.cutoff
        return cls(model, strength, pull, reach, c.drag, c.wall)


def contact_step(store, law, ghosts, interaction: float, size: np.ndarray, boundary_kinds: np.ndarray,
                 dt: float) -> float:
    """One mechanics substep of ``dt`` min under the :class:`ContactLaw` ``law`` (or a
    single type's :class:`~hybridsim.config.bodies.Body`): velocities from the owned
    cells and the ``ghosts`` ``(position, radius, ids[, types])`` within ``interaction``
    µm (the cell list's bin size), the simple pressure (and, with a ``contacts`` column,
    the touching neighbours by type), and the overdamped update ``x += dt·v``; the
    boundaries are the caller's. Walls push from reflecting and absorbing faces.
    Returns the largest displacement relative to the cell's radius (0 without cells)."""
    if not isinstance(law, ContactLaw):
        law = ContactLaw.of(law)
    n = store.n
    if n == 0:
        return 0.0
    types = store.column("type") if store.has("type") else np.zeros(n, np.int64)
    owned = (store.position, store.column("radius"), store.ids, types)
    velocity = np.empty((n, store.dim))
    pressure = store.column("pressure")
    contacts = store.column("contacts") if store.has("contacts") else None
    walls = (boundary_kinds != PERIODIC).astype(np.int64)
    largest = contact_velocities(owned, ghosts, interaction, law.model, law.strength, law.adhesion, law.reach,
                                 law.drag, size, walls, law.wall, dt, velocity, pressure, contacts)
    velocity *= dt
    store.position[...] += velocity
    return largest
