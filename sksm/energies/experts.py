r"""Energies of experts on filter responses: Product and Field of Experts.

.. math::

    E(x) = \sum_{p} \sum_{i=1}^{M} \alpha_i\, g(w_i^T x_{(p)}), \qquad
    w_i = v_i / \lVert v_i \rVert, \qquad \alpha_i = \exp(\beta_i)

For a Product of Experts (Kingma & LeCun 2010, eq. 8) there is one
"position", the whole vector; for a Field of Experts (eq. 9) ``p`` runs over
every position of a square filter inside an image.  The optimiser works on
the unconstrained ``theta = (V, beta)``; with unit-norm filters, the gradient
with respect to ``v_i`` is the gradient with respect to ``w_i`` projected
orthogonally to ``w_i`` and divided by ``|v_i|``.
"""

import numpy as np

from ..experts import StudentT
from .base import Energy
from .conv import Conv2D, im2col
from .layers import Elementwise, Linear, WeightedSum, patch_overflow, rescaled
from .network import EnergyNetwork

__all__ = ["FieldOfExperts", "ProductOfExperts"]


def _normalize_rows(V):
    norms = np.sqrt(np.einsum("ij,ij->i", V, V))
    return V / norms[:, None], norms


class _ExpertEnergy(Energy):
    """Shared parameter handling; subclasses choose the filter layer."""

    def __init__(self, V, beta, c, learn_weights=True, unit_norm=True):
        self.dtype = V.dtype
        self.shape = V.shape
        self.learn_weights = learn_weights
        self.unit_norm = unit_norm
        self.expert = StudentT(c)
        self._filter_layer = self._make_filter_layer(V.copy())
        self._weights = WeightedSum(np.exp(beta).astype(self.dtype))
        self.network = EnergyNetwork(
            [self._filter_layer, Elementwise(self.expert), self._weights])
        self._beta = np.asarray(beta, dtype=self.dtype)
        self.set_params(np.concatenate([V.ravel(), beta]) if learn_weights
                        else V.ravel())

    @property
    def n_params(self):
        """Length of the flat parameter vector."""
        m, n = self.shape
        return m * n + (m if self.learn_weights else 0)

    def set_params(self, theta):  # the vector: filters, then log weights
        m, n = self.shape
        theta = np.asarray(theta)
        V = theta[: m * n].reshape(m, n).astype(self.dtype, copy=False)
        if self.unit_norm:
            self._filter_layer.weight, self._norms = _normalize_rows(V)
        else:
            self._filter_layer.weight = V.copy()
        if self.learn_weights:
            self._beta = theta[m * n:].astype(self.dtype, copy=True)
            self._weights.weight = np.exp(self._beta)

    def get_params(self):  # filters, then log weights
        parts = [self.filters.ravel()]
        if self.learn_weights:
            parts.append(self._beta)
        return np.concatenate(parts)

    @property
    def filters(self):
        """Filters as rows, shape (n_experts, n_filter_inputs)."""
        return self._filter_layer.weight

    @property
    def weights(self):
        """Expert weights ``alpha``, shape (n_experts,)."""
        return self._weights.weight

    def params_gradient(self, grads):
        gW = grads[0]["weight"]
        if self.unit_norm:  # projection of the unit-norm reparameterisation
            W = self._filter_layer.weight
            radial = np.einsum("ij,ij->i", gW, W)
            gW = (gW - radial[:, None] * W) / self._norms[:, None]
        if not self.learn_weights:
            return gW.ravel()
        gbeta = grads[2]["weight"] * self._weights.weight
        return np.concatenate([gW.ravel(), gbeta])

    def activations(self, X, exponent=None, return_responses=False):
        """Expert activations ``g(w_i^T x_(p))`` of the samples.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features) or (n_images, height, \
width)
            Vectors for a product, images for a field.
        exponent : ndarray of shape (n_samples,) or None, default=None
            The samples are ``X * 2**exponent``; None: ``X``.
        return_responses : bool, default=False
            Also return the responses ``w_i^T x_(p)`` of ``X`` itself (the
            mantissas, without ``2**exponent``).

        Returns
        -------
        g : ndarray of shape (n_samples, n_experts) or (n_images, \
n_positions, n_experts)
            The activations, in the dtype of ``X``.
        responses : ndarray of the shape of ``g``
            Only with ``return_responses``.
        """
        u = self._responses(X)
        if exponent is None:
            g = self.expert.value(u)
        else:
            z = rescaled(u, exponent)
            g = patch_overflow(self.expert, self.expert.value(z), u, z,
                               exponent)
        return (g, u) if return_responses else g


class ProductOfExperts(_ExpertEnergy):
    """Energy of a Product of Student-t experts on vectors (n, n_features).

    Parameters
    ----------
    V : ndarray of shape (n_experts, n_features)
        Filters (normalised to unit length when ``unit_norm``).
    beta : ndarray of shape (n_experts,)
        Log expert weights, ``alpha = exp(beta)``.
    c : float
        Scale of the Student-t expert.
    learn_weights : bool, default=True
        Whether ``beta`` is part of the parameter vector.
    unit_norm : bool, default=True
        Whether the filters are the unit-length rows of ``V``.
    """

    def _make_filter_layer(self, V):
        return Linear(V)

    def _responses(self, X):
        return X @ self.filters.T


class FieldOfExperts(_ExpertEnergy):
    """Energy of a Field of Student-t experts on images (n, height, width).

    Parameters
    ----------
    V : ndarray of shape (n_experts, size * size)
        Square filters flattened row by row.
    beta : ndarray of shape (n_experts,)
        Log expert weights, ``alpha = exp(beta)``.
    c : float
        Scale of the Student-t expert.
    learn_weights : bool, default=True
        Whether ``beta`` is part of the parameter vector.
    unit_norm : bool, default=True
        Whether the filters are the unit-length rows of ``V``.
    """

    def _make_filter_layer(self, V):
        size = int(round(np.sqrt(V.shape[1])))
        if size * size != V.shape[1]:
            raise ValueError(f"Filters of {V.shape[1]} values are not square.")
        return Conv2D(V, size)

    @property
    def size(self):
        """Side of the square filters."""
        return self._filter_layer.size

    def _responses(self, images):
        return im2col(images, self.size) @ self.filters.T
