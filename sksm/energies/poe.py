r"""The Product of Experts energy (Kingma & LeCun 2010, eq. 8).

.. math::

    E(x) = \sum_{i=1}^{M} \alpha_i\, g(w_i^T x), \qquad
    w_i = v_i / \lVert v_i \rVert, \qquad \alpha_i = \exp(\beta_i)

The optimiser works on the unconstrained ``theta = (V, beta)``; the filters
are the rows of ``V`` normalised to unit length, so the gradient with respect
to ``v_i`` is the gradient with respect to ``w_i`` projected orthogonally to
``w_i`` and divided by ``|v_i|``.
"""

import numpy as np

from ..experts import StudentT
from .layers import Elementwise, EnergyNetwork, Linear, WeightedSum

__all__ = ["ProductOfExperts"]


def _normalize_rows(V):
    norms = np.sqrt(np.einsum("ij,ij->i", V, V))
    return V / norms[:, None], norms


class ProductOfExperts:
    """Energy of a Product of Student-t experts on vectors.

    Parameters
    ----------
    V : ndarray of shape (n_experts, n_features)
        Unnormalised filters; the energy uses their unit-length rows.
    beta : ndarray of shape (n_experts,)
        Log expert weights, ``alpha = exp(beta)``.
    c : float
        Scale of the Student-t expert.
    learn_weights : bool
        Whether ``beta`` is part of the parameter vector.
    """

    def __init__(self, V, beta, c, learn_weights=True):
        self.dtype = V.dtype
        self.shape = V.shape
        self.learn_weights = learn_weights
        self.expert = StudentT(c)
        self._linear = Linear(V.copy())
        self._weights = WeightedSum(np.exp(beta).astype(self.dtype))
        self.network = EnergyNetwork(
            [self._linear, Elementwise(self.expert), self._weights]
        )
        self._beta = np.asarray(beta, dtype=self.dtype)
        self.set_params(np.concatenate([V.ravel(), beta]) if learn_weights
                        else V.ravel())

    @property
    def n_params(self):
        """Length of the flat parameter vector."""
        m, n = self.shape
        return m * n + (m if self.learn_weights else 0)

    def set_params(self, theta):
        """Set the energy's layers from the flat parameter vector ``theta``."""
        m, n = self.shape
        theta = np.asarray(theta)
        V = theta[: m * n].reshape(m, n).astype(self.dtype, copy=False)
        self._linear.weight, self._norms = _normalize_rows(V)
        if self.learn_weights:
            self._beta = theta[m * n:].astype(self.dtype, copy=True)
            self._weights.weight = np.exp(self._beta)

    def get_params(self):
        """Return the flat parameter vector (unit-norm filters, log weights)."""
        parts = [self.filters.ravel()]
        if self.learn_weights:
            parts.append(self._beta)
        return np.concatenate(parts)

    @property
    def filters(self):
        """Unit-norm filters, shape (n_experts, n_features)."""
        return self._linear.weight

    @property
    def weights(self):
        """Expert weights ``alpha``, shape (n_experts,)."""
        return self._weights.weight

    def params_gradient(self, grads):
        """Chain the layer gradients back to the flat parameter vector."""
        W = self._linear.weight
        gW = grads[0]["weight"]
        # Projection of the unit-norm reparameterisation.
        radial = np.einsum("ij,ij->i", gW, W)
        gV = (gW - radial[:, None] * W) / self._norms[:, None]
        if not self.learn_weights:
            return gV.ravel()
        gbeta = grads[2]["weight"] * self._weights.weight
        return np.concatenate([gV.ravel(), gbeta])

    def energy(self, X):
        """Energy of every row of ``X``."""
        return self.network.forward(X, energy=True)

    def grad_energy(self, X):
        """``(E, dE/dx)`` for every row of ``X``."""
        E, d, _ = self.network.input_derivatives(X, energy=True, second=False)
        return E, d

    def activations(self, X):
        """Expert activations ``g(w_i^T x)``, shape (n_samples, n_experts)."""
        return self.expert.value(X @ self.filters.T)
