"""``hybridsim check CONFIG``: validate a config and print its derived scales,
per-rank sizes and memory (each layer reports its own figures)."""

from __future__ import annotations

from .arguments import positive_int, subcommand, world


def add_parser(sub) -> None:
    check = subcommand(sub, "check", cmd_check, help="validate a config and print its derived scales",
                      description="Validate CONFIG and print, per species, the decay length ℓ = √(D/k), the "
                      "Damköhler number Da = (L/ℓ)², the diffusion time L²/D and the stiffness of a step; "
                      "then grid size, cells per rank and a memory estimate.")
    check.add_argument("config", metavar="CONFIG")
    check.add_argument("--ranks", type=positive_int, metavar="N",
                       help="estimate per-rank figures for N ranks (default: the MPI size)")


def cmd_check(args, petsc_args: list[str]) -> int:
    from ..config import load_config

    comm = world()
    config = load_config(args.config)
    ranks = args.ranks or comm.size
    if comm.rank != 0:
        return 0
    d = config.domain
    lines = [f"{args.config}: valid",
             f"domain: {d.dim}D, {' × '.join(f'{s:g}' for s in d.size)} µm, "
             f"{' × '.join(map(str, d.cells))} = {d.n_cells} cells, h = {' × '.join(f'{h:g}' for h in d.spacing)} µm"
             + (f", periodic in {', '.join(a for a, p in zip('xyz', d.periodic) if p)}" if any(d.periodic) else "")]
    t = config.time
    lines.append(f"time: dt = {t.dt:g} min, t_end = {t.t_end:g} min, {t.n_steps} steps, {t.scheme.replace('_', ' ')}")
    if config.species:
        from ..analysis.scales import describe_field_scales

        lines += describe_field_scales(config, ranks)
    if config.agents is not None:
        from ..agents.description import describe_population
        from ..io.agent_input import check_file, placement_count

        agents = config.agents
        per_type = []
        for cell in agents.types:
            for p in cell.placements:
                if p.kind == "file":
                    check_file(p, d.size, cell.network.species)
            per_type.append(sum(placement_count(p, d.size) for p in cell.placements))
        lines += describe_population(agents, d, sum(per_type), ranks, per_type)
    if config.mechanics is not None:
        from ..mechanics.elasticity import describe_mechanics

        lines += describe_mechanics(config.mechanics, d, ranks)
    from ..analysis.lens import describe_lens
    from ..footprint import available_memory, check_index_width, describe_footprint, index_bits, initial_agents

    check_index_width(config, index_bits())
    available = available_memory()
    lines.append(f"memory of the run: {describe_footprint(config, ranks, initial_agents(config))}"
                 + (f"; this machine has {available / 2**30:.3g} GiB free" if available is not None else ""))
    lines += describe_lens(config)
    print("\n".join(lines))
    return 0
