"""Assignment rules and event assignments on the arrays of many cells (numpy), between
the SSA kernel's calls: species set by a rule take its value, and a time event's
assignments are made in every cell at once."""

from __future__ import annotations

import numpy as np

from ..config import expression
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
            self.counts[:, s] = self._molecules(expression.evaluate(rule, self.values()),
                                                f"the assignment rule of {self.network.species[s]!r}")

    def assign(self, event: Event) -> None:
        """Make ``event``'s assignments in every cell (values computed before any is made)."""
        values = self.values()
        new = [(name, np.broadcast_to(expression.evaluate(e, values), self.counts.shape[:1]))
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
