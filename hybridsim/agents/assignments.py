"""Assignment rules and event assignments on the arrays of many cells (numpy), between
the SSA kernel's calls: species set by a rule take its value, and a time event's
assignments are made in every cell at once."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..config.expression import Expr
from ..config.network import Event, Network
from ..errors import InputError


class CellState:
    """The species counts, variable parameters and field values of many cells, for
    the assignment rules and time events applied between kernel calls (numpy)."""

    def __init__(self, network: Network, counts: np.ndarray, params: np.ndarray, factors: np.ndarray):
        self.network, self.counts, self.params = network, counts, params
        self.fields = {m.source: factors[:, k] for k, m in enumerate(network.modulations) if m.kind == "linear"}

    def values(self) -> dict[str, np.ndarray]:
        out = dict(self.fields)
        out.update({name: self.counts[:, s] for s, name in enumerate(self.network.species)})
        out.update({name: self.params[:, k] for k, name in enumerate(self.network.parameter_names)})
        return out

    def apply_rules(self) -> None:
        """Species set by assignment rules take their rule's value."""
        for s, rule in self.network.rules:
            self.counts[:, s] = self._molecules(evaluate(rule, self.values()),
                                                f"the assignment rule of {self.network.species[s]!r}")

    def assign(self, event: Event) -> None:
        """Make ``event``'s assignments in every cell (values computed before any is made)."""
        values = self.values()
        new = [(name, np.broadcast_to(evaluate(e, values), self.counts.shape[:1]))
               for name, e in event.assignments]
        for name, value in new:
            if name in self.network.species:
                self.counts[:, self.network.index(name)] = self._molecules(value, f"event {event.name!r}")
            else:
                self.params[:, self.network.parameter_names.index(name)] = value
        self.apply_rules()

    def _molecules(self, value, what: str) -> np.ndarray:
        value = np.asarray(value, dtype=float)
        if not np.all((value >= 0) & (value == np.floor(value))):
            bad = value[~((value >= 0) & (value == np.floor(value)))].flat[0]
            raise InputError(f"{what} of network {self.network.source!r} gives {bad:g}, not a count of molecules")
        return value.astype(np.int64)


_NP_FUNC = {"exp": np.exp, "log": np.log, "log10": np.log10, "sqrt": np.sqrt, "abs": np.abs,
            "floor": np.floor, "ceil": np.ceil}
_NP_BIN = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "**": np.power}
_NP_CMP = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal,
           "!=": np.not_equal}


def evaluate(e: Expr, values: Mapping[str, object]):
    """``e`` elementwise on numpy arrays (or numbers) given for its names."""
    kind = e[0]
    if kind == "num":
        return e[1]
    if kind == "sym":
        return np.asarray(values[e[1]], dtype=float)
    if kind == "bin":
        return _NP_BIN[e[1]](np.asarray(evaluate(e[2], values), dtype=float), evaluate(e[3], values))
    if kind == "neg":
        return np.negative(evaluate(e[1], values))
    if kind == "call":
        args = [evaluate(a, values) for a in e[2]]
        if e[1] in ("min", "max"):
            reduce = np.minimum if e[1] == "min" else np.maximum
            out = args[0]
            for a in args[1:]:
                out = reduce(out, a)
            return out
        return _NP_FUNC[e[1]](args[0])
    if kind == "cmp":
        return _NP_CMP[e[1]](evaluate(e[2], values), evaluate(e[3], values))
    if kind in ("and", "or"):
        combine = np.logical_and if kind == "and" else np.logical_or
        out = evaluate(e[1][0], values)
        for a in e[1][1:]:
            out = combine(out, evaluate(a, values))
        return out
    if kind == "not":
        return np.logical_not(evaluate(e[1], values))
    if kind == "if":
        return np.where(evaluate(e[1], values), evaluate(e[2], values), evaluate(e[3], values))
    raise ValueError(f"not an expression: {e!r}")
