"""The agents one rank owns, as a struct of numpy arrays.

Columns (``n`` rows are live, the arrays are longer to make appends cheap):

=============  ==============  =====================================================
``ids``        int64 (n,)      global id, unique and independent of the rank count
``position``   float64 (n, d)  µm
``counts``     int64 (n, S)    molecules of each network species
``age``        float64 (n,)    min since birth (the cell-cycle clock)
``direction``  float64 (n, d)  unit direction of a persistent random walk (only for
                               persistent motility; a zero row means "draw one")
``reservoir``  float64 (n, k)  molecules taken up but not yet whole (only with uptake
                               into a species; the whole ones join ``counts``)
``volume``     float64 (n,)    µm³ (only for cells with a body, as the next two)
``radius``     float64 (n,)    µm, of the sphere of that volume
``pressure``   float64 (n,)    simple pressure of the last mechanics substep
``hypoxia``    float64 (n,)    min spent below the necrosis threshold (only with necrosis,
                               as the next)
``necrotic``   float64 (n,)    the volume when the cell turned necrotic, µm³ (0: it is not)
``type``       int64 (n,)      the cell type's index (only in runs with ``[cell_types]``)
``contacts``   float64 (n, T)  touching cells of each of the T types at the last mechanics
                               substep (only with bodies and several types)
``network_``   float64 (n, W)  the network's per-cell state that events change: its
``state``                      variable parameters, then its state events' last trigger
                               values (0/1); only for networks with such events
=============  ==============  =====================================================

There is no Python object per agent. Appends grow the arrays geometrically
(amortised O(1) per agent); removal compacts them with one boolean-mask copy.
Every column element is 8 bytes, so a set of agents packs into one uint64
array (:meth:`pack` / :meth:`append_packed`) for migration between ranks.
"""

from __future__ import annotations

import numpy as np
from numba import njit

GROWTH = 1.5


SCALAR_COLUMNS = ("ids", "age", "volume", "radius", "pressure", "hypoxia", "necrotic", "type")
INTEGER_COLUMNS = ("ids", "counts", "type")
BODY_COLUMNS = ("volume", "radius", "pressure")
NECROSIS_COLUMNS = ("hypoxia", "necrotic")


def column_bytes(dim: int, n_species: int, persistent: bool, reservoirs: int = 0, body: bool = False,
                 necrosis: bool = False, typed: bool = False, contact_types: int = 0,
                 network_state: int = 0) -> dict[str, int]:
    """Bytes per agent of each column (all elements are 8 bytes)."""
    widths = {"ids": 1, "position": dim, "counts": n_species, "age": 1}
    if persistent:
        widths["direction"] = dim
    if reservoirs:
        widths["reservoir"] = reservoirs
    for name in (BODY_COLUMNS if body else ()) + (NECROSIS_COLUMNS if necrosis else ()):
        widths[name] = 1
    if typed:
        widths["type"] = 1
    if contact_types:
        widths["contacts"] = contact_types
    if network_state:
        widths["network_state"] = network_state
    return {name: 8 * w for name, w in widths.items()}


class AgentStore:
    """Struct-of-arrays store of agents (no MPI here).

    Parameters
    ----------
    dim : spatial dimension (1–3)
    n_species : species of the intracellular network
    persistent : whether agents carry a walk direction
    capacity : initial number of rows
    """

    def __init__(self, dim: int, n_species: int, *, persistent: bool = False, reservoirs: int = 0,
                 body: bool = False, necrosis: bool = False, typed: bool = False, contact_types: int = 0,
                 network_state: int = 0, capacity: int = 1024):
        self.dim = dim
        self.n_species = n_species
        self.n = 0
        self._widths = {name: b // 8 for name, b in column_bytes(dim, n_species, persistent, reservoirs, body,
                                                                 necrosis, typed, contact_types,
                                                                 network_state).items()}
        self._dtypes = {name: (np.int64 if name in INTEGER_COLUMNS else np.float64) for name in self._widths}
        self._data = {name: self._empty(name, max(capacity, 16)) for name in self._widths}

    # ----------------------------------------------------------------- storage

    def _empty(self, name: str, rows: int) -> np.ndarray:
        width = self._widths[name]
        shape = (rows,) if name in SCALAR_COLUMNS else (rows, width)
        return np.zeros(shape, dtype=self._dtypes[name])

    @property
    def capacity(self) -> int:
        return self._data["ids"].shape[0]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self._widths)

    @property
    def row_words(self) -> int:
        """8-byte words per agent in a packed row."""
        return sum(self._widths.values())

    @property
    def bytes_per_agent(self) -> int:
        """Bytes of the live columns per agent (without spare capacity)."""
        return 8 * self.row_words

    def column(self, name: str) -> np.ndarray:
        """View of the live rows of column ``name``."""
        return self._data[name][: self.n]

    @property
    def ids(self) -> np.ndarray:
        return self._data["ids"][: self.n]

    @property
    def position(self) -> np.ndarray:
        return self._data["position"][: self.n]

    @property
    def counts(self) -> np.ndarray:
        return self._data["counts"][: self.n]

    @property
    def age(self) -> np.ndarray:
        return self._data["age"][: self.n]

    @property
    def direction(self) -> np.ndarray | None:
        d = self._data.get("direction")
        return None if d is None else d[: self.n]

    @property
    def reservoir(self) -> np.ndarray | None:
        r = self._data.get("reservoir")
        return None if r is None else r[: self.n]

    def reserve(self, rows: int) -> None:
        """Make room for ``rows`` agents in total (geometric growth)."""
        if rows <= self.capacity:
            return
        new = max(rows, int(self.capacity * GROWTH) + 1)
        for name, old in self._data.items():
            grown = self._empty(name, new)
            grown[: self.n] = old[: self.n]
            self._data[name] = grown

    # ----------------------------------------------------------------- changes

    def append(self, ids, position, counts, age=None, direction=None, **columns) -> None:
        """Add agents; ``age`` defaults to 0 and ``direction`` to "draw one"; the other
        columns (``volume``, ``radius``, …) take ``columns[name]`` if given, else 0."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        k = ids.size
        self.reserve(self.n + k)
        sl = slice(self.n, self.n + k)
        self._data["ids"][sl] = ids
        self._data["position"][sl] = np.asarray(position, dtype=float).reshape(k, self.dim)
        self._data["counts"][sl] = np.asarray(counts, dtype=np.int64).reshape(k, self.n_species)
        self._data["age"][sl] = 0.0 if age is None else age
        if "direction" in self._data:
            self._data["direction"][sl] = 0.0 if direction is None else direction
        for name in self._data.keys() - {"ids", "position", "counts", "age", "direction"}:
            self._data[name][sl] = columns.get(name, 0.0)
        self.n += k

    def has(self, name: str) -> bool:
        return name in self._data

    def append_columns(self, columns: dict) -> None:
        """Append agents given as one array per column (every column of the store)."""
        k = len(columns["ids"])
        self.reserve(self.n + k)
        for name, data in self._data.items():
            data[self.n:self.n + k] = np.asarray(columns[name], dtype=data.dtype).reshape(data[self.n:self.n + k].shape)
        self.n += k

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the agents where ``mask`` is true (order preserved)."""
        m = int(np.count_nonzero(mask))
        if m == self.n:
            return
        for data in self._data.values():
            data[:m] = data[: self.n][mask]
        self.n = m

    def remove(self, index: np.ndarray, follow=None) -> None:
        """Remove the agents at ``index`` (distinct row numbers) in O(len(index)):
        the last live rows move into the holes, so the order of the others changes.
        The arrays in the dict ``follow`` (one row per agent) get the same change."""
        index = np.unique(np.asarray(index, dtype=np.int64))
        if index.size == 0:
            return
        new_n = self.n - index.size
        holes = index[index < new_n]
        movers = np.setdiff1d(np.arange(new_n, self.n), index, assume_unique=True)
        for data in self._data.values():
            data[holes] = data[movers]
        self.n = new_n
        for name, data in (follow or {}).items():
            data[holes] = data[movers]
            follow[name] = data[:new_n]

    def group_by_type(self, n_types: int, follow=None) -> np.ndarray:
        """Order the rows by the ``type`` column (type 0 first) and return the bounds
        ``b`` (``n_types + 1``): type ``k`` holds rows ``b[k]:b[k+1]``. Only the rows out
        of their type's range move, so a store changed by a few appends and removals
        costs in proportion to those (plus one pass over the column); the arrays in
        ``follow`` move with the rows."""
        kind = self._data["type"][: self.n]
        bounds, wrong = _misplaced(kind, n_types)
        if wrong.size:
            source = wrong[np.argsort(kind[wrong], kind="stable")]
            for data in self._data.values():
                data[wrong] = data[source]
            for data in (follow or {}).values():
                data[wrong] = data[source]
        return bounds

    def pack(self, index: np.ndarray) -> np.ndarray:
        """Rows ``index`` as one uint64 array ``(len(index), row_words)`` (bit copies)."""
        parts = []
        for name, data in self._data.items():
            part = data[: self.n][index]
            parts.append(part.reshape(part.shape[0], self._widths[name]).view(np.uint64))
        return np.hstack(parts)

    def append_packed(self, rows: np.ndarray) -> None:
        """Append agents packed by :meth:`pack` (of a store with the same layout)."""
        rows = rows.reshape(-1, self.row_words)
        k = rows.shape[0]
        self.reserve(self.n + k)
        start = 0
        for name, width in self._widths.items():
            block = np.ascontiguousarray(rows[:, start:start + width]).view(self._dtypes[name])
            target = self._data[name]
            target[self.n:self.n + k] = block.reshape(target[self.n:self.n + k].shape)
            start += width
        self.n += k

    def sort_by_id(self) -> None:
        """Order the live rows by global id (for output and comparisons)."""
        order = np.argsort(self.ids, kind="stable")
        for data in self._data.values():
            data[: self.n] = data[: self.n][order]


@njit(cache=True)
def _misplaced(kind, n_types):
    """Bounds of each type's range of rows once grouped, and the rows now outside their
    type's range (increasing): two passes, no temporary of the column's size."""
    bounds = np.zeros(n_types + 1, np.int64)
    for i in range(kind.size):
        bounds[kind[i] + 1] += 1
    for k in range(n_types):
        bounds[k + 1] += bounds[k]
    n_wrong = 0
    k = 0
    for i in range(kind.size):
        while i >= bounds[k + 1]:
            k += 1
        if kind[i] != k:
            n_wrong += 1
    wrong = np.empty(n_wrong, np.int64)
    n_wrong = 0
    k = 0
    for i in range(kind.size):
        while i >= bounds[k + 1]:
            k += 1
        if kind[i] != k:
            wrong[n_wrong] = i
            n_wrong += 1
    return bounds, wrong
