"""Advancing every agent's network over one interval: exactly, by tau-leaping, or
partitioned (low-copy reactions exact, high-copy ones leaped)."""

from __future__ import annotations

import numpy as np

from ..config import expression
from ..config.agents import METHODS, Agents
from ..config.network import Network
from ..errors import InputError
from .codegen import STATUS_NEGATIVE, ssa_kernel
from .compiled import compile_network
from .partitioned import advance_agents_partitioned
from .tau_leaping import advance_agents_tau

CHUNK = 1 << 13
"""Agents advanced per kernel call: between calls the interpreter runs, so a signal
is acted on within one chunk however many agents a rank holds."""


class NetworkIntegrator:
    """Advances counts of many agents over an interval.

    ``method`` ``"exact"``: Gillespie's direct method with a kernel specialised to
    the network. ``"tau-leaping"``: leaps bounded by ``epsilon`` (relative change
    of a reactant per leap), falling back to exact events at low copy numbers.
    ``"hybrid"``: reactions that change only species with at least ``threshold``
    molecules are leaped, the others fire exactly (:mod:`.partitioned`).
    """

    def __init__(self, network: Network, method: str = Agents.method, epsilon: float = Agents.tau_epsilon,
                 threshold: int = Agents.hybrid_threshold):
        if method not in METHODS:
            raise InputError(f"method must be one of {', '.join(map(repr, METHODS))} (got {method!r})")
        if not 0.0 < epsilon < 1.0:
            raise InputError(f"epsilon must be in (0, 1) (got {epsilon!r})")
        self.network = network
        self.method = method
        self.epsilon = float(epsilon)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or threshold < 1:
            raise InputError(f"threshold must be a positive integer number of molecules (got {threshold!r})")
        self.threshold = int(threshold)
        if method != "exact" and network.general:
            law = next((r.name for r in network.reactions if r.law is not None), None)
            what = f"reaction {law!r} has a propensity expression" if law else "it has events or rules"
            raise InputError(f"method {method!r} needs a mass-action network, and {what}; use method = \"exact\"")
        self.compiled = compile_network(network)
        self._exact = ssa_kernel(self.compiled, network.n_species) if method == "exact" else None
        self.leaps = 0  # leaps taken in the last call (tau-leaping)

    def state(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Fresh per-cell state of ``n`` cells: variable parameters at their initial
        values (float64 ``(n, P)``) and state events' trigger values before t = 0
        (int64 ``(n, Q)``)."""
        params = np.tile(np.array([v for _, v in self.network.parameters], dtype=float), (n, 1))
        initial = [int(e.initial) for e in self.network.events if e.time is None]
        flags = np.tile(np.array(initial, dtype=np.int64), (n, 1))
        return params.reshape(n, len(self.network.parameters)), flags.reshape(n, len(initial))

    def advance(self, counts: np.ndarray, ids: np.ndarray, factors: np.ndarray, interval: float, seed: int,
                step: int, exports: np.ndarray | None = None, params: np.ndarray | None = None,
                flags: np.ndarray | None = None) -> int:
        """Advance ``counts`` (int64 ``(n, S)``, in place) by ``interval`` min; returns the
        number of reaction events. ``exports`` (int64 ``(n, len(secreted_fields))``) is
        incremented by the molecules each agent releases into each field; ``params`` and
        ``flags`` are the cells' state (:meth:`state`; fresh if not given), updated in
        place. Agents are advanced :data:`CHUNK` at a time; each depends only on its own
        id, so the result does not depend on the chunks. A propensity expression that
        turns negative raises an :class:`InputError` naming the reaction and the cell."""
        n = counts.shape[0]
        if exports is None:
            exports = np.zeros((n, len(self.network.secreted_fields)), dtype=np.int64)
        if params is None or flags is None:
            params, flags = self.state(n)
        events, leaps = 0, 0
        for a in range(0, n, CHUNK):
            part = slice(a, a + CHUNK)
            events += self._advance(counts[part], ids[part], factors[part], interval, seed, step, exports[part],
                                    params[part], flags[part])
            leaps += self.leaps
        self.leaps = leaps
        return events

    def _failed(self, status: np.ndarray, counts: np.ndarray, ids: np.ndarray) -> None:
        kind, index, row = (int(v) for v in status)
        state = ", ".join(f"{name} = {counts[row, s]}" for s, name in enumerate(self.network.species))
        if kind == STATUS_NEGATIVE:
            r = self.network.reactions[index]
            raise InputError(f"reaction {r.name!r} of network {self.network.source!r}: its propensity "
                             f"{expression.to_text(r.law)} is negative, infinite or not a number in cell {ids[row]} "
                             f"({state})")
        event = [e for e in self.network.events if e.time is None][index]
        raise InputError(f"event {event.name!r} of network {self.network.source!r} sets a species to a value that "
                         f"is not a count of molecules in cell {ids[row]} ({state})")

    def _advance(self, counts, ids, factors, interval, seed, step, exports, params, flags) -> int:
        c = self.compiled
        if self._exact is not None:
            self.leaps = 0
            status = np.zeros(3, dtype=np.int64)
            events = self._exact(counts, ids, c.rate, c.modulated, factors, interval, seed, step, exports,
                                 params, flags, status)
            if status[0]:
                self._failed(status, counts, ids)
            return events
        if self.method == "hybrid":
            events, self.leaps = advance_agents_partitioned(counts, ids, c.rate, c.modulated, factors, interval, seed,
                                                            step, exports, self.epsilon, self.threshold,
                                                            *c.kernel_args())
            return events
        events, self.leaps = advance_agents_tau(counts, ids, c.rate, c.modulated, factors, interval, seed, step,
                                                exports, self.epsilon, *c.kernel_args(), c.highest_order,
                                                c.highest_stoich)
        return events
