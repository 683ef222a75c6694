"""Intracellular reaction networks: species with initial counts and mass-action
reactions, read from a TOML table or file or an SBML file, compiled to arrays.

TOML layout (in a run config under ``[network]``, or at the top of a network file)::

    [network.species]          # name = initial count (molecules per cell)
    M = 0
    P = 0
    [[network.reactions]]
    name = "transcription"
    reactants = {}
    products = { M = 1 }
    rate = 2.0                 # 1/min, mass-action constant

Propensities are stochastic mass action: ``c · Π_s C(x_s, ν_s)``, so ``2X → …``
has propensity ``c · X(X−1)/2``. Units of ``c``: 1/min for first-order
reactions, 1/min per molecule^(order−1) otherwise.

A rate may be modulated by the local concentration ``L`` of a field (sampled at
the agent's position once per coupling step)::

    rate = { k = 2.0, field = "ligand" }                         # k · L
    rate = { k = 2.0, field = "ligand", hill = { K = 0.5, n = 2 } }   # k · Lⁿ/(Kⁿ+Lⁿ)
    rate = { k = 2.0, field = "ligand", hill = { K = 0.5, n = 2, repress = true } }
                                                                 # k · Kⁿ/(Kⁿ+Lⁿ)

``K`` is in the field's concentration unit. This module knows nothing about MPI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..toml_reader import Table, check_number, describe, suggest

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Modulation:
    """A multiplier ``f(x)`` of a rate by a local value ``x`` (a field
    concentration or a species count named ``source``).

    ``kind`` is ``"linear"`` (``x``), ``"hill"`` (``xⁿ/(Kⁿ+xⁿ)``) or
    ``"repress"`` (``Kⁿ/(Kⁿ+xⁿ)``).
    """

    source: str
    kind: str = "linear"
    K: float = 1.0
    n: float = 1.0

    def factor(self, x):
        """``f(x)`` elementwise (``x`` ≥ 0)."""
        x = np.asarray(x, dtype=float)
        if self.kind == "linear":
            return x
        xn = np.power(x / self.K, self.n)
        if self.kind == "hill":
            return xn / (1.0 + xn)
        return 1.0 / (1.0 + xn)

    def describe(self, value_name: str, value: float) -> str:
        x = self.source
        if self.kind == "linear":
            return f"{value_name}·{x}"
        h = f"{x}^{self.n:g}/({self.K:g}^{self.n:g}+{x}^{self.n:g})"
        if self.kind == "repress":
            h = f"{self.K:g}^{self.n:g}/({self.K:g}^{self.n:g}+{x}^{self.n:g})"
        return f"{value_name}·{h}"


@dataclass(frozen=True)
class Reaction:
    """A mass-action reaction; ``reactants``/``products`` are ``(species index,
    stoichiometry)`` pairs; ``rate`` is the stochastic constant ``c``."""

    name: str
    reactants: tuple[tuple[int, int], ...]
    products: tuple[tuple[int, int], ...]
    rate: float
    modulation: Modulation | None = None
    secretes: tuple[str, int] | None = None  # (field, molecules released into it per firing)


@dataclass(frozen=True)
class CompiledNetwork:
    """A network as the arrays the SSA kernels read (see :mod:`.ssa`).

    Rows are reactions; rows of index arrays are padded with -1 (stoichiometry 0)."""

    rate: np.ndarray  # (R,) float64
    modulated: np.ndarray  # (R,) int64, column in the per-agent factor array or -1
    reactant_species: np.ndarray  # (R, max reactants) int64
    reactant_stoich: np.ndarray  # (R, max reactants) int64
    change_species: np.ndarray  # (R, max changes) int64
    change_amount: np.ndarray  # (R, max changes) int64
    dependents: np.ndarray  # (R, max dependents) int64: propensities to recompute after firing
    highest_order: np.ndarray  # (S,) int64: highest order of a reaction consuming the species (0: none)
    highest_stoich: np.ndarray  # (S,) int64: its stoichiometry of the species there
    export_column: np.ndarray  # (R,) int64: column of the secreted field in the exports array, or -1
    export_amount: np.ndarray  # (R,) int64: molecules released per firing

    def kernel_args(self):
        return (self.reactant_species, self.reactant_stoich, self.change_species,
                self.change_amount, self.dependents, self.export_column, self.export_amount)


@dataclass(frozen=True)
class Network:
    species: tuple[str, ...]
    initial: tuple[int, ...]
    reactions: tuple[Reaction, ...]
    source: str = "network"

    @property
    def n_species(self) -> int:
        return len(self.species)

    @property
    def modulations(self) -> tuple[Modulation, ...]:
        """The distinct modulations, in order of first use (columns of the factor array)."""
        seen: list[Modulation] = []
        for r in self.reactions:
            if r.modulation is not None and r.modulation not in seen:
                seen.append(r.modulation)
        return tuple(seen)

    @property
    def fields(self) -> tuple[str, ...]:
        """Names of the fields some rate depends on."""
        return tuple(dict.fromkeys(m.source for m in self.modulations))

    @property
    def secreted_fields(self) -> tuple[str, ...]:
        """Names of the fields that reactions release molecules into (columns of the exports array)."""
        return tuple(dict.fromkeys(r.secretes[0] for r in self.reactions if r.secretes is not None))

    def index(self, name: str) -> int:
        return self.species.index(name)

    def compile(self) -> CompiledNetwork:
        R = len(self.reactions)
        mods = self.modulations
        rate = np.array([r.rate for r in self.reactions], dtype=float)
        modulated = np.array(
            [-1 if r.modulation is None else mods.index(r.modulation) for r in self.reactions], dtype=np.int64
        )

        def padded(rows):
            width = max(1, max((len(row) for row in rows), default=1))
            species = np.full((R, width), -1, dtype=np.int64)
            values = np.zeros((R, width), dtype=np.int64)
            for j, row in enumerate(rows):
                for m, (s, v) in enumerate(row):
                    species[j, m] = s
                    values[j, m] = v
            return species, values

        reactant_species, reactant_stoich = padded([r.reactants for r in self.reactions])
        changes = []
        for r in self.reactions:
            net: dict[int, int] = {}
            for s, v in r.reactants:
                net[s] = net.get(s, 0) - v
            for s, v in r.products:
                net[s] = net.get(s, 0) + v
            changes.append(sorted((s, v) for s, v in net.items() if v != 0))
        change_species, change_amount = padded(changes)
        reads = [{s for s, _ in r.reactants} for r in self.reactions]
        deps = []
        for j in range(R):
            changed = {s for s, _ in changes[j]}
            deps.append([(d, 0) for d in range(R) if reads[d] & changed])
        dependents, _ = padded(deps)
        highest_order = np.zeros(self.n_species, dtype=np.int64)
        highest_stoich = np.zeros(self.n_species, dtype=np.int64)
        for r in self.reactions:
            order = sum(v for _, v in r.reactants)
            for s, v in r.reactants:
                if order > highest_order[s] or (order == highest_order[s] and v > highest_stoich[s]):
                    highest_order[s], highest_stoich[s] = order, v
        secreted = self.secreted_fields
        export_column = np.array([-1 if r.secretes is None else secreted.index(r.secretes[0])
                                  for r in self.reactions], dtype=np.int64)
        export_amount = np.array([0 if r.secretes is None else r.secretes[1] for r in self.reactions],
                                 dtype=np.int64)
        return CompiledNetwork(rate, modulated, reactant_species, reactant_stoich,
                               change_species, change_amount, dependents, highest_order, highest_stoich,
                               export_column, export_amount)


# --------------------------------------------------------------------------- parsing


def parse_modulated_value(
    raw: Any, key: str, *, value_name: str, unit: str, source_key: str, sources: tuple[str, ...] | None,
    source_kind: str,
) -> tuple[float, Modulation | None]:
    """A number, or ``{ <value_name> = v, <source_key> = "name", hill = { K, n, repress } }``.

    ``sources`` lists the valid names for ``source_key`` (None: not checked here).
    Returns ``(value, modulation or None)``."""
    if not isinstance(raw, dict):
        return check_number(raw, key, unit=unit, minimum=0.0), None
    t = Table(raw, key)
    value = t.number(value_name, unit=unit, minimum=0.0)
    source = t.string(source_key)
    if sources is not None and source not in sources:
        known = ", ".join(map(repr, sources)) if sources else "none are defined"
        raise InputError(
            f"{t.key(source_key)} names {source!r}, which is not a {source_kind} "
            f"({known}){suggest(source, sources)}"
        )
    kind, K, n = "linear", 1.0, 1.0
    ht = t.table("hill")
    if ht is not None:
        K = ht.number("K", positive=True)
        n = ht.number("n", 1.0, positive=True)
        repress = ht.raw("repress", False)
        if not isinstance(repress, bool):
            raise InputError(f"{ht.key('repress')} must be true or false (got {describe(repress)})")
        kind = "repress" if repress else "hill"
        ht.finish()
    t.finish()
    return value, Modulation(source, kind, K, n)


def _stoichiometry(raw: Any, key: str, species: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    if not isinstance(raw, dict):
        raise InputError(f"{key} must be a table of species = count, e.g. {{ M = 1 }} (got {describe(raw)})")
    out = []
    for name, nu in raw.items():
        if name not in species:
            raise InputError(f"{key}.{name} is not a species of the network{suggest(name, species)}")
        if isinstance(nu, bool) or not isinstance(nu, int) or nu < 0:
            raise InputError(f"{key}.{name} must be a non-negative integer count (got {describe(nu)})")
        if nu > 0:
            out.append((species.index(name), nu))
    return tuple(sorted(out))


def parse_network(data: Any, key: str = "network", *, fields: tuple[str, ...] | None = None,
                  source: str = "network") -> Network:
    """Validate a network given as a dict in the TOML layout.

    ``fields`` lists the field names a rate may depend on (None: any name; checked
    when the network is used)."""
    t = data if isinstance(data, Table) else Table(data, key) if isinstance(data, dict) else None
    if t is None:
        raise InputError(f"{key} must be a table with species and reactions (got {describe(data)})")
    st = t.table("species", required=True)
    species, initial = [], []
    for name, count in st.data.items():
        if not _NAME.match(name):
            raise InputError(f"{st.key(name)}: {name!r} is not a valid species name (letters, digits, '_')")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InputError(f"{st.key(name)} must be a non-negative integer initial count (got {describe(count)})")
        species.append(name)
        initial.append(count)
        st.used.add(name)
    if not species:
        raise InputError(f"{st.path} must declare at least one species, e.g. M = 0")
    species_t = tuple(species)
    raw_reactions = t.raw("reactions")
    if not isinstance(raw_reactions, list) or not raw_reactions:
        raise InputError(f"{t.key('reactions')} must be a non-empty list of tables ([[{t.key('reactions')}]])")
    reactions = []
    names = set()
    for i, item in enumerate(raw_reactions):
        rkey = f"{t.key('reactions')}[{i}]"
        if not isinstance(item, dict):
            raise InputError(f"{rkey} must be a table (got {describe(item)})")
        rt = Table(item, rkey)
        name = rt.string("name", f"reaction{i + 1}")
        if name in names:
            raise InputError(f"{rt.key('name')}: reaction name {name!r} is used twice")
        names.add(name)
        reactants = _stoichiometry(rt.raw("reactants", {}), rt.key("reactants"), species_t)
        products = _stoichiometry(rt.raw("products", {}), rt.key("products"), species_t)
        rate, modulation = parse_modulated_value(
            rt.raw("rate"), rt.key("rate"), value_name="k", unit="1/min", source_key="field",
            sources=fields, source_kind="field species")
        secretes = None
        st_raw = rt.raw("secretes", None)
        if st_raw is not None:
            key_s = rt.key("secretes")
            if not isinstance(st_raw, dict) or len(st_raw) != 1:
                raise InputError(f"{key_s} must name one field and the molecules released per firing, "
                                 f"e.g. {{ cytokine = 1 }}")
            (field_name, amount), = st_raw.items()
            if fields is not None and field_name not in fields:
                known = ", ".join(map(repr, fields)) if fields else "none are defined"
                raise InputError(f"{key_s}.{field_name} is not a field species ({known})"
                                 f"{suggest(field_name, fields)}")
            if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
                raise InputError(f"{key_s}.{field_name} must be a positive integer (molecules per firing)")
            secretes = (field_name, amount)
        rt.finish()
        if not reactants and not products and secretes is None:
            raise InputError(f"{rkey} ({name}) has neither reactants nor products")
        reactions.append(Reaction(name, reactants, products, rate, modulation, secretes))
    t.finish()
    return Network(species_t, tuple(initial), tuple(reactions), source)


def read_network_file(path: str | Path, *, fields: tuple[str, ...] | None = None) -> Network:
    """A network from a TOML file (``[network]`` table or top-level species/reactions)
    or an SBML file (``.xml``/``.sbml``)."""
    path = Path(path)
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise InputError(f"network file {str(path)!r} {what}")
    if path.suffix.lower() in (".xml", ".sbml"):
        from .sbml import read_sbml

        return read_sbml(path, fields=fields)
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"network file {str(path)!r} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"network file {str(path)!r} is not valid TOML (or SBML .xml): {exc}") from None
    if "network" in data and set(data) == {"network"}:
        return parse_network(data["network"], "network", fields=fields, source=str(path))
    return parse_network(Table(data, ""), "", fields=fields, source=str(path))


def load_network(spec: Any, *, base_dir: str | Path | None = None,
                 fields: tuple[str, ...] | None = None) -> Network:
    """A :class:`Network` from a dict in the TOML layout, a path to a TOML or SBML
    file (relative paths resolve against ``base_dir``), or a Network."""
    if isinstance(spec, Network):
        return spec
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        if base_dir is not None and not path.is_absolute():
            path = Path(base_dir) / path
        return read_network_file(path, fields=fields)
    return parse_network(spec, "network", fields=fields)
