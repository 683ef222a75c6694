"""Reference matrices of the trilinear (Q1) brick element on a uniform grid.

Every element of the tissue grid is the same box of sides ``h`` (µm), so the
element matrices are computed once, by 2-point Gauss quadrature per axis (exact
for Q1), and scaled per element by its Lamé parameters:

    K_e = λ_e · K_λ + μ_e · K_μ

Local node ``n`` (``0 … 2^dim − 1``) sits at offset ``(n >> a) & 1`` along axis
``a`` (x fastest, as the grid's memory order); local degree of freedom
``n·dim + i`` is displacement component ``i`` of node ``n``. Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_GAUSS = (0.5 - 0.5 / np.sqrt(3.0), 0.5 + 0.5 / np.sqrt(3.0))  # on [0, 1], weights ½ each


def node_offsets(dim: int) -> np.ndarray:
    """``(2^dim, dim)`` integer offsets of the local nodes from the element's lowest corner."""
    n = np.arange(2**dim)
    return np.stack([(n >> a) & 1 for a in range(dim)], axis=1)


def _shape_gradients(xi: np.ndarray, h: np.ndarray) -> np.ndarray:
    """∂N_n/∂x_b at reference point ``xi`` (in [0,1]^dim): shape ``(2^dim, dim)``, 1/µm."""
    dim = len(h)
    off = node_offsets(dim)
    factors = np.where(off == 1, xi, 1.0 - xi)  # (nodes, dim): 1D factor of N_n along each axis
    slopes = np.where(off == 1, 1.0, -1.0) / h
    grad = np.empty(off.shape)
    for b in range(dim):
        others = np.prod(np.delete(factors, b, axis=1), axis=1) if dim > 1 else np.ones(len(off))
        grad[:, b] = slopes[:, b] * others
    return grad


def _shape_values(xi: np.ndarray) -> np.ndarray:
    off = node_offsets(len(xi))
    return np.prod(np.where(off == 1, xi, 1.0 - xi), axis=1)


@dataclass(frozen=True)
class ReferenceElement:
    """Element matrices for a box of sides ``h`` (µm) in ``dim`` dimensions.

    Attributes
    ----------
    K_lambda, K_mu:
        ``(n_dof, n_dof)`` stiffness parts; ``λ·K_λ + μ·K_μ`` is the element
        stiffness (µm^(dim−2) times the unit of λ, μ).
    K_lambda_reduced:
        ``K_λ`` by one-point quadrature at the centre: with it (and ``K_μ`` in full)
        the element is selectively reduced integrated — a constant volumetric strain
        per element, as in a Q1/P0 mixed method (B-bar) — and does not lock as
        ν → ½ (Hughes, *The Finite Element Method*, 1987, §4.5).
    stress_load:
        ``(n_nodes, dim)``: ``∫_e ∂N_n/∂x_b dV`` (µm^(dim−1)). A stress ``σ``
        constant on the element loads node ``n``, component ``i``, with
        ``Σ_b σ_ib · stress_load[n, b]``.
    mass:
        ``(n_gauss, n_nodes)`` shape values at the Gauss points, and
        ``gauss_points`` ``(n_gauss, dim)`` their offsets (µm) from the lowest corner;
        ``gauss_weight`` the volume each represents (µm^dim).
    centre_gradient:
        ``(n_nodes, dim)`` shape gradients at the element centre (1/µm); for Q1 on
        a box they equal the element averages, so strain from them is the mean strain.
    """

    dim: int
    h: tuple[float, ...]
    K_lambda: np.ndarray
    K_mu: np.ndarray
    K_lambda_reduced: np.ndarray
    stress_load: np.ndarray
    mass: np.ndarray
    gauss_points: np.ndarray
    gauss_weight: float
    centre_gradient: np.ndarray

    @property
    def n_nodes(self) -> int:
        return 2**self.dim

    @property
    def n_dof(self) -> int:
        return self.n_nodes * self.dim


def reference_element(h) -> ReferenceElement:
    """The matrices of the Q1 element with sides ``h`` (µm)."""
    h = np.asarray(h, dtype=float)
    dim = len(h)
    nodes = 2**dim
    points = np.array(np.meshgrid(*([_GAUSS] * dim), indexing="ij")).reshape(dim, -1).T
    weight = float(np.prod(h)) / len(points)
    K_lambda = np.zeros((nodes * dim, nodes * dim))
    K_mu = np.zeros_like(K_lambda)
    stress_load = np.zeros((nodes, dim))
    mass = np.empty((len(points), nodes))
    eye = np.eye(dim)
    for g, xi in enumerate(points):
        G = _shape_gradients(xi, h)  # (nodes, dim)
        mass[g] = _shape_values(xi)
        stress_load += weight * G
        # K_λ[(n,i),(m,j)] = ∫ ∂_i N_n ∂_j N_m ;  K_μ = ∫ δ_ij ∇N_n·∇N_m + ∂_j N_n ∂_i N_m
        K_lambda += weight * np.einsum("ni,mj->nimj", G, G).reshape(nodes * dim, -1)
        K_mu += weight * (np.einsum("ij,nb,mb->nimj", eye, G, G)
                          + np.einsum("nj,mi->nimj", G, G)).reshape(nodes * dim, -1)
    centre = _shape_gradients(np.full(dim, 0.5), h)
    K_lambda_reduced = float(np.prod(h)) * np.einsum("ni,mj->nimj", centre, centre).reshape(nodes * dim, -1)
    return ReferenceElement(
        dim=dim, h=tuple(h), K_lambda=K_lambda, K_mu=K_mu, K_lambda_reduced=K_lambda_reduced,
        stress_load=stress_load, mass=mass, gauss_points=points * h, gauss_weight=weight, centre_gradient=centre,
    )


def face_load_weights(dim: int, h, axis: int, side: int) -> np.ndarray:
    """Share of a uniform traction on the element face ``axis = side`` (0 low, 1
    high) received by each local node: ``(2^dim,)`` areas in µm^(dim−1), summing
    to the face's area (the exact consistent load of a constant traction for Q1)."""
    h = np.asarray(h, dtype=float)
    off = node_offsets(dim)
    area = float(np.prod(np.delete(h, axis))) if dim > 1 else 1.0
    on_face = off[:, axis] == side
    return np.where(on_face, area / 2 ** (dim - 1), 0.0)
