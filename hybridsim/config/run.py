"""Run configuration: TOML text → frozen, validated dataclasses.

Every key, its type, default and unit is listed in ``docs/config.md``. Validation
errors are :class:`~hybridsim.errors.InputError` with one line that names the key
and the problem, e.g. ``species.cytokine.D must be > 0 µm²/min (got -1)``.
Defaults are written once, on the dataclasses.

Units: length µm, time min, concentration molecules/µm³ (or nM, as declared in
``units.concentration``), diffusion µm²/min, rates 1/min.

The sections live in their own modules: :mod:`.space` (domain, regions, values
per cell), :mod:`.species` (fields), :mod:`.network` and :mod:`.network_file`
(intracellular networks), :mod:`.agents` and :mod:`.mechanics`. Standard library
only: reading a config loads neither numpy nor MPI.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import InputError
from .agents import Agents
from .cell_types import parse_agents, parse_cell_types
from .mechanics import Mechanics, parse_mechanics
from .network import Network, parse_network
from .network_file import load_network
from .reader import Table, as_table, check_name
from .space import Domain, parse_domain
from .species import Species, parse_species

SCHEMES = ("backward_euler", "crank_nicolson")
SPLITTINGS = ("lie", "strang")
SOLVER_METHODS = ("auto", "chebyshev", "jacobi", "multigrid", "hypre")
SEED_LIMIT = 1 << 56  # the Philox key holds a 56-bit seed and an 8-bit stream number
MOLECULES_PER_UM3_PER_NM = 0.602214076  # 1 nM = 6.02214076e23 per mol · 1e-9 mol/L · 1e-15 L/µm³


@dataclass(frozen=True)
class Time:
    """Time stepping. ``dt`` is the coupling step (agents advance by it); fields
    advance by ``dt/field_substeps`` per solve (``dt/(2·field_substeps)`` with
    Strang splitting, which puts the agents between two half steps of the fields)."""

    dt: float  # min
    t_end: float  # min
    scheme: str = "backward_euler"
    splitting: str = "lie"
    field_substeps: int = 1

    @property
    def field_dt(self) -> float:
        """Length of one field solve, min."""
        halves = 2 if self.splitting == "strang" else 1
        return self.dt / (halves * self.field_substeps)

    @property
    def n_steps(self) -> int:
        """Number of steps of size ``dt`` that reach ``t_end`` (the last may be
        shortened; see :meth:`step_sizes`)."""
        return max(1, math.ceil(self.t_end / self.dt - 1e-9))


@dataclass(frozen=True)
class Output:
    directory: str = "output"
    interval: float = 0.0  # min; 0 → ten outputs over the run
    fields: tuple[str, ...] = ()  # empty → all species


@dataclass(frozen=True)
class Checkpoint:
    """Checkpoints: every ``interval`` min of simulated time (0: only at the end of
    the run and when stopped by a signal), the newest ``keep`` kept, in
    ``directory`` (empty: ``<output directory>/checkpoints``)."""

    interval: float = 0.0
    keep: int = 3
    directory: str = ""


@dataclass(frozen=True)
class Solver:
    method: str = "auto"
    rtol: float = 1e-8
    atol: float = 1e-50
    max_iterations: int = 10000


@dataclass(frozen=True)
class Config:
    domain: Domain
    time: Time
    species: tuple[Species, ...]
    output: Output = field(default_factory=Output)
    solver: Solver = field(default_factory=Solver)
    checkpoint: Checkpoint = field(default_factory=Checkpoint)
    seed: int = 0
    title: str = ""
    concentration_unit: str = "molecules/µm³"
    source_text: str = ""  # the TOML text the config came from (stored in output)
    network: Network | None = None  # the top-level [network] (a single-type run's; typed runs: agents.types)
    agents: Agents | None = None
    mechanics: Mechanics | None = None  # tissue elasticity driven by a field

    @property
    def molecules_per_concentration(self) -> float:
        """Molecules per µm^dim in one unit of concentration: 1, or 0.602214076 in nM
        (where cells' molecules meet the fields: secretion, uptake, field integrals)."""
        return MOLECULES_PER_UM3_PER_NM if self.concentration_unit == "nM" else 1.0

    def species_named(self, name: str) -> Species:
        for s in self.species:
            if s.name == name:
                return s
        raise KeyError(name)


# --------------------------------------------------------------------------- parsers


def parse_config(text: str, source: str = "<config>", base_dir: str | Path | None = None) -> Config:
    """Parse and validate TOML ``text``; ``source`` names it in messages and
    relative file names in it (network, agent positions) resolve against ``base_dir``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source} is not valid TOML: {exc}") from None
    top = Table(data, "")
    title = top.string("title", Config.title)
    seed = top.integer("seed", Config.seed, minimum=0)
    if seed >= SEED_LIMIT:
        raise InputError(f"seed must be < 2**56 (got {seed})")
    units = top.table("units")
    domain = parse_domain(top.table("domain", required=True))
    # amounts per unit length, area or volume: a 2D model's concentrations are per µm²
    unit = ("molecules/µm", "molecules/µm²", "molecules/µm³")[domain.dim - 1]
    if units is not None:
        unit = units.string("concentration", unit, choices=(unit, "nM"))
        if unit == "nM" and domain.dim != 3:
            raise InputError(f"units.concentration = 'nM' needs a 3D domain: a {domain.dim}D model's "
                             f"concentrations are molecules per µm^{domain.dim}, not per volume")
        units.finish()

    tt = top.table("time", required=True)
    dt = tt.number("dt", unit="min", positive=True)
    t_end = tt.number("t_end", unit="min", positive=True)
    scheme = tt.string("scheme", Time.scheme, choices=SCHEMES)
    splitting = tt.string("splitting", Time.splitting, choices=SPLITTINGS)
    substeps = tt.integer("field_substeps", Time.field_substeps, minimum=1)
    tt.finish()
    time = Time(dt, t_end, scheme, splitting, substeps)

    st = top.table("species")
    species = []
    for name in st.data if st is not None else ():
        species.append(parse_species(name, as_table(st.raw(name), st.key(name)), domain))
    field_names = tuple(s.name for s in species)

    network = None
    if top.has("network"):
        raw = top.raw("network")
        if isinstance(raw, str):
            network = load_network(raw, base_dir=base_dir, fields=field_names)
        else:
            network = parse_network(raw, "network", fields=field_names, source=source)
    agents = None
    at = top.table("agents")
    ct = top.table("cell_types")
    if ct is not None:
        agents = parse_cell_types(ct, at, domain.size, domain.periodic, network, base_dir, field_names)
    elif at is not None:
        agents = parse_agents(at, domain.size, domain.periodic, network, base_dir, field_names)
    elif network is not None:
        raise InputError("network is defined but [agents] is missing: no cell would carry it")
    if not species and agents is None:
        raise InputError("the config defines neither fields ([species.NAME]) nor cells ([agents] or "
                         "[cell_types.NAME])")

    mechanics = None
    mt = top.table("mechanics")
    if mt is not None:
        mechanics = parse_mechanics(mt, domain, field_names)

    output = Output()
    ot = top.table("output")
    if ot is not None:
        fields = tuple(ot.list_of("fields", str, []))
        for f in fields:
            check_name(f, ot.key("fields"), field_names, "species")
        output = Output(
            directory=ot.string("directory", Output.directory),
            interval=ot.number("interval", Output.interval, unit="min", minimum=0.0),
            fields=fields,
        )
        ot.finish()

    checkpoint = Checkpoint()
    ct = top.table("checkpoint")
    if ct is not None:
        checkpoint = Checkpoint(
            interval=ct.number("interval", Checkpoint.interval, unit="min", minimum=0.0),
            keep=ct.integer("keep", Checkpoint.keep, minimum=1),
            directory=ct.string("directory", Checkpoint.directory),
        )
        ct.finish()

    solver = Solver()
    sv = top.table("solver")
    if sv is not None:
        solver = Solver(
            method=sv.string("method", Solver.method, choices=SOLVER_METHODS),
            rtol=sv.number("rtol", Solver.rtol, positive=True),
            atol=sv.number("atol", Solver.atol, positive=True),
            max_iterations=sv.integer("max_iterations", Solver.max_iterations, minimum=1),
        )
        sv.finish()
    top.finish()
    return Config(
        domain=domain,
        time=time,
        species=tuple(species),
        output=output,
        solver=solver,
        checkpoint=checkpoint,
        seed=seed,
        title=title,
        concentration_unit=unit,
        source_text=text,
        network=network,
        agents=agents,
        mechanics=mechanics,
    )


def read_config_text(path: str | Path) -> str:
    """Read a config file, turning file-system problems into :class:`InputError`."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"config file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"config file {str(path)!r} is a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"config file {str(path)!r} cannot be read: {exc}") from None


def load_config(path: str | Path) -> Config:
    """Read and validate the TOML config at ``path`` (serial; see
    :func:`hybridsim.parallel.collective.load_config` under MPI)."""
    return parse_config(read_config_text(path), str(path), Path(path).parent)


def with_overrides(config: Config, *, t_end=None, steps=None, seed=None, output_dir=None) -> Config:
    """``config`` with the command line's overrides applied."""
    time = config.time
    if steps is not None:
        time = replace(time, t_end=steps * time.dt)
    elif t_end is not None:
        time = replace(time, t_end=t_end)
    output = config.output
    if output_dir is not None:
        output = replace(output, directory=str(Path(output_dir)))
    return replace(config, time=time, output=output, seed=config.seed if seed is None else seed)
