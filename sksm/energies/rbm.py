r"""The free energy of a Gaussian-Bernoulli RBM as an energy network.

.. math::

    E(x) = \frac{1}{\sigma^2} \left( \frac{1}{2} \lVert x - c \rVert^2
           - \sum_j \operatorname{softplus}(W_j x + b_j) \right)

the energy of Proposition 2 in Vincent (2011) up to the constant
:math:`\lVert c \rVert^2 / 2\sigma^2`.  It is one
:class:`~sksm.energies.Linear` layer with the rows ``[W; I]`` and biases
``[b; -c]``, one elementwise layer (softplus on the hidden units, the
quadratic expert on the visible ones) and the weights
``[-1, ..., -1, 1, ..., 1] / sigma^2``: a one-layer energy, so every
objective, the Hessian included, is exact for it.
"""

import numpy as np
from scipy.special import expit

from ..experts import Quadratic, Softplus, Split
from .base import Energy
from .layers import Elementwise, Linear, WeightedSum
from .network import EnergyNetwork

__all__ = ["GaussianRBMEnergy"]


class GaussianRBMEnergy(Energy):
    """Free energy of a Gaussian-Bernoulli RBM on rows (n, n_visible).

    Parameters
    ----------
    W : ndarray of shape (n_hidden, n_visible)
        Weights between the hidden and the visible units.
    b : ndarray of shape (n_hidden,)
        Hidden biases.
    c : ndarray of shape (n_visible,)
        Visible biases (the mean of the Gaussian part).
    sigma : float
        Standard deviation of the visible units (not learned).
    """

    def __init__(self, W, b, c, sigma):
        self.dtype = W.dtype
        self.n_hidden, self.n_visible = W.shape
        self.sigma = float(sigma)
        eye = np.eye(self.n_visible, dtype=self.dtype)
        self._linear = Linear(np.vstack([W, eye]),
                              bias=np.concatenate([b, -c]).astype(self.dtype))
        weights = np.concatenate([-np.ones(self.n_hidden),
                                  np.ones(self.n_visible)]) / self.sigma ** 2
        self.network = EnergyNetwork([
            self._linear,
            Elementwise(Split(Softplus(), Quadratic(), self.n_hidden)),
            WeightedSum(weights.astype(self.dtype))])

    @property
    def n_params(self):
        """Length of the flat parameter vector (W, b, c)."""
        return self.n_hidden * self.n_visible + self.n_hidden + self.n_visible

    @property
    def W(self):
        """Weights, ndarray of shape (n_hidden, n_visible)."""
        return self._linear.weight[:self.n_hidden]

    @property
    def b(self):
        """Hidden biases, ndarray of shape (n_hidden,)."""
        return self._linear.bias[:self.n_hidden]

    @property
    def c(self):
        """Visible biases, ndarray of shape (n_visible,)."""
        return -self._linear.bias[self.n_hidden:]

    def set_params(self, theta):  # the vector: W, b, then c
        theta = np.asarray(theta).astype(self.dtype, copy=False)
        k, n = self.n_hidden, self.n_hidden * self.n_visible
        self._linear.weight[:k] = theta[:n].reshape(k, self.n_visible)
        self._linear.bias[:k] = theta[n:n + k]
        self._linear.bias[k:] = -theta[n + k:]

    def get_params(self):  # W, b, then c
        return np.concatenate([self.W.ravel(), self.b, self.c])

    def params_gradient(self, grads):
        k = self.n_hidden
        gW, gbias = grads[0]["weight"][:k], grads[0]["bias"]
        return np.concatenate([gW.ravel(), gbias[:k], -gbias[k:]])

    def hidden_probabilities(self, X):
        """Hidden unit probabilities ``P(h_j = 1 | x) = sigmoid(W_j x + b_j)``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_visible)
            Visible units.

        Returns
        -------
        p : ndarray of shape (n_samples, n_hidden)
            In the dtype of ``X``.
        """
        return expit(X @ self.W.T + self.b)
