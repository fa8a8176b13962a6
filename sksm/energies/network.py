r"""A stack of layers as an energy: :class:`EnergyNetwork` runs the passes of
:mod:`sksm.energies.layers` over the whole stack (the input derivatives, the
Hessian diagonal and the extended double backpropagation of Kingma & LeCun
2010, Algorithm 1), and :class:`NetworkEnergy` gives it the
:class:`~sksm.energies.base.Energy` contract.
"""

import copy

import numpy as np

from .base import Energy
from .layers import Elementwise, FilterLayer, WeightedSum

__all__ = ["EnergyNetwork", "NetworkEnergy"]


class EnergyNetwork:
    """A stack of layers computing an energy, its input derivatives and gradients.

    Parameters
    ----------
    layers : list of Layer
        The last layer must be a :class:`WeightedSum`.
    """

    def __init__(self, layers):
        if not isinstance(layers[-1], WeightedSum):
            raise ValueError("The last layer of an energy must be a WeightedSum.")
        self.layers = list(layers)

    def zero_grad(self):
        """Reset every layer's accumulated gradients to zero."""
        for layer in self.layers:
            layer.zero_grad()

    def copy(self):
        """Copy the network: its parameters shared, its caches its own.

        Returns
        -------
        network : EnergyNetwork
            Shallow copies of the layers, so that two threads can run passes
            on different rows.
        """
        return EnergyNetwork([copy.copy(layer) for layer in self.layers])

    @property
    def grads(self):
        """The layers' accumulated gradients, a list of dicts by name."""
        return [layer.grads for layer in self.layers]

    def forward(self, X, energy=True, order=3, exponent=None):
        """Run the forward pass of every layer.

        Parameters
        ----------
        X : ndarray of shape (n_samples, ...)
            Samples as rows (vectors, or images for a convolutional layer).
        energy : bool, default=True
            Compute the energy's value (else only what the derivatives
            need).
        order : int, default=3
            The highest derivative of the experts that the later passes
            need: 3 for score matching, 1 for ``dE/dx`` alone.
        exponent : ndarray of shape (n_samples,) or None, default=None
            From :func:`~sksm.energies.layers.split_exponent`: the samples are ``X *
            2**exponent``; the first non-linearity is evaluated at the
            responses so scaled, beyond the float range if need be.

        Returns
        -------
        E : ndarray of shape (n_samples,) or None
            The energies; None without ``energy``.
        """
        h = X
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            # The input of the output layer is only needed for the energy value.
            value = energy or i + 1 < last
            if isinstance(layer, Elementwise):
                h = layer.forward(h, value=value, order=order,
                                  exponent=exponent)
                exponent = None
            else:
                h = layer.forward(h, value=value)
        return h

    def input_derivatives(self, X, energy=False, second=True, order=None,
                          input_diagonal=True, exponent=None):
        r"""Compute the energy, its gradient and Hessian diagonal at every row.

        Parameters
        ----------
        X : ndarray of shape (n_samples, ...)
            Samples as rows.
        energy : bool, default=False
            Also compute the energies.
        second : bool, default=True
            Also compute the Hessian diagonal.
        order : int, default=None
            Passed to :meth:`forward`; None: 3 with ``second``, else 1.  A
            loss of ``dE/dx`` alone that :meth:`accumulate_sm_gradients`
            will differentiate needs 2.
        input_diagonal : bool, default=True
            False: stop the diagonal at the first layer's output (kept by
            that layer, :attr:`~sksm.energies.layers.FilterLayer.output_diagonal`), for losses
            that need it there and not at the input.
        exponent : ndarray of shape (n_samples,) or None, default=None
            As in :meth:`forward`; the derivatives are with respect to the
            scaled samples ``X * 2**exponent``.

        Returns
        -------
        E : ndarray of shape (n_samples,) or None
            The energies; None without ``energy``.
        dE_dx : ndarray of the shape of ``X``
            Their gradients.
        d2E_dx2 : ndarray of the shape of ``X`` or None
            The Hessian diagonals (diagonal rule); None without ``second``
            or with ``input_diagonal=False``.
        """
        if order is None:
            order = 3 if second else 1
        E = self.forward(X, energy=energy, order=order, exponent=exponent)
        d, d2 = None, None
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            d, d2 = self.layers[i].backward(
                d, d2, second=second and (input_diagonal or i > 0))
        return E, d, d2

    @property
    def filter_layer(self):
        """The first layer, if it is linear (:class:`~sksm.energies.layers.FilterLayer`), else None."""
        first = self.layers[0]
        return first if isinstance(first, FilterLayer) else None

    def accumulate_sm_gradients(self, a_x, b_x, b_first=None):
        r"""Add the weight gradient of a loss ``J(dE/dx, d2E/dx2)`` to ``grads``.

        Call after :meth:`input_derivatives` on the same rows.

        Parameters
        ----------
        a_x : ndarray of the shape of the samples
            ``dJ/d(dE/dx)``.
        b_x : ndarray of the shape of the samples or None
            ``dJ/d(d2E/dx2)``; None where the loss has no Hessian term.
        b_first : ndarray or None, default=None
            ``dJ/d(delta')`` at the output of the first layer, for losses of
            the Hessian beyond its diagonal (see :class:`~sksm.energies.layers.FilterLayer`);
            their direct dependence on the first layer's weights is added by
            that layer's own methods.
        """
        a, b = a_x, b_x
        for i, layer in enumerate(self.layers):
            a, b = layer.sm_forward(a, b)
            if i == 0 and b_first is not None:
                b = b_first if b is None else b + b_first
        c = None
        for i in range(len(self.layers) - 1, -1, -1):
            c = self.layers[i].sm_backward(c, need_input=i > 0)

    def accumulate_energy_gradients(self, c):
        """Add ``sum_t c_t dE(x_t)/dtheta`` to ``grads``.

        Call after :meth:`forward` on the same rows (with ``energy=True``).

        Parameters
        ----------
        c : ndarray of shape (n_samples,)
            One weight per row.
        """
        for i in range(len(self.layers) - 1, -1, -1):
            c = self.layers[i].param_backward(c, need_input=i > 0)


class NetworkEnergy(Energy):
    """The :class:`~sksm.energies.base.Energy` of any stack of layers.

    An :class:`EnergyNetwork` with its parameters as one flat vector.

    Parameters
    ----------
    network : EnergyNetwork
        The layers; their parameters are used, not copied.
    params : list of (int, str), default=None
        The parameters to learn, as (layer index, parameter name); None:
        every parameter of every layer.
    """

    def __init__(self, network, params=None):
        self.network = network
        if params is None:
            params = [(i, name) for i, layer in enumerate(network.layers)
                      for name in layer.param_names]
        self.params = list(params)
        self.dtype = np.result_type(*[self._get(i, n) for i, n in self.params])

    def _get(self, i, name):
        return getattr(self.network.layers[i], name)

    @property
    def n_params(self):
        """Length of the flat parameter vector."""
        return sum(self._get(i, n).size for i, n in self.params)

    def get_params(self):
        return np.concatenate([self._get(i, n).ravel() for i, n in self.params])

    def set_params(self, theta):
        k = 0
        for i, name in self.params:
            old = self._get(i, name)
            setattr(self.network.layers[i], name,
                    np.asarray(theta[k:k + old.size], dtype=old.dtype)
                    .reshape(old.shape).copy())
            k += old.size

    def params_gradient(self, grads):
        return np.concatenate([grads[i][name].ravel()
                               for i, name in self.params])
