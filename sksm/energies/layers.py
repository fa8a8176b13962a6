r"""Layers of a feed-forward energy and the extended double backpropagation.

An energy :math:`E(x)` is written as a stack of layers.  Following Kingma &
LeCun (2010, Algorithm 1 and supplement section 3) every layer implements four
passes over a whole batch (rows are samples):

``forward(h)``
    the layer's output ``o`` from its input ``h``;
``backward(d_o, d2_o)``
    :math:`\delta_h = \partial E/\partial h` and the diagonal
    :math:`\delta'_h = \partial^2 E/\partial h^2` from those of the output
    (Becker & LeCun's diagonal rule);
``sm_forward(a_h, b_h)``
    given :math:`a = \partial J/\partial \delta_h` and
    :math:`b = \partial J/\partial \delta'_h`, the same for the output (this is
    the paper's "SM forward propagation", from the input to the energy), and
    the weight gradient through the dependence of the backward rule on the
    weights;
``sm_backward(c_o)``
    :math:`c = \partial J/\partial o` back to :math:`\partial J/\partial h`
    ("SM backward propagation"), with the rest of the weight gradient.

The paper propagates :math:`\partial K/\partial \cdot` and
:math:`\partial L/\partial \cdot` separately; every rule is linear in them, so
their sums :math:`\partial J/\partial \cdot = \partial (K + L)/\partial \cdot`
are propagated instead.  ``None`` stands for an array that is identically zero
(:math:`\delta'` above the last non-linearity, :math:`\partial J/\partial E`),
which skips work.

The diagonal rule drops the off-diagonal terms of the Hessian, so
:math:`\delta'_x` is exact for energies with one non-linear layer (PoE, FoE)
and the paper's approximation for deeper stacks.  The weight gradient is in
every case the exact gradient of the loss as computed (tested against finite
differences).
"""

import copy

import numpy as np

from .base import Energy

__all__ = ["Elementwise", "EnergyNetwork", "FilterLayer", "Linear",
           "NetworkEnergy", "WeightedSum", "split_exponent"]


def split_exponent(X, offset=None, scale=1.0):
    """Split samples into mantissas and power-of-two exponents, if large.

    Filter responses of inputs near the float maximum overflow (and sums of
    them can give NaN) although the energy of a Student-t expert stays
    finite.  Every sample whose largest magnitude, or that of ``offset``,
    exceeds the square root of the float maximum is divided by a power of
    two ``2**k`` that brings it below 1; responses of the mantissas cannot
    overflow, and the networks below take ``k`` to evaluate the experts at
    the true responses (:meth:`EnergyNetwork.forward`).

    Parameters
    ----------
    X : ndarray of float, shape (n_samples, ...)
        The samples, as rows.
    offset : ndarray of float broadcastable to ``X[0]``, default=None
        Subtracted from every sample (the mean of a Product of Experts).
    scale : float, default=1.0
        Positive; the samples are divided by it after the offset (the
        input scale of a Product of Experts).

    Returns
    -------
    mantissa : ndarray like ``X``
        ``(X - offset) / scale * 2**-k`` sample by sample; exactly
        ``(X - offset) / scale`` when no sample is large.
    exponent : ndarray of int of shape (n_samples,) or None
        ``k``; None when every sample is left as it is.
    """
    limit = np.sqrt(np.finfo(X.dtype).max)
    bound = 0.0 if offset is None else np.abs(offset).max(initial=0)
    scale_mantissa, scale_exponent = np.frexp(scale)
    if (X.size == 0 or max(X.max(), -X.min(), bound) <= limit) and (
            abs(scale_exponent) <= 64):
        # the common case, in two passes without a temporary
        out = X if offset is None else X - offset
        return (out if scale == 1 else out / X.dtype.type(scale)), None
    size = np.maximum(np.abs(X).reshape(len(X), -1).max(axis=1), bound)
    exponent = np.where(size > limit, np.frexp(size)[1], 0)
    k = _per_sample(exponent, X.ndim)
    mantissa = np.ldexp(X, -k).astype(X.dtype, copy=False)
    if offset is not None:
        mantissa -= np.ldexp(offset, -k).astype(X.dtype, copy=False)
    if scale == 1:
        return mantissa, exponent
    mantissa /= X.dtype.type(scale_mantissa)  # in [0.5, 1): no overflow
    return mantissa, exponent - scale_exponent


def _per_sample(exponent, ndim):
    return exponent.reshape((-1,) + (1,) * (ndim - 1))


def rescaled(h, exponent):
    """``h * 2**exponent`` sample by sample, overflowing to inf (never NaN)."""
    with np.errstate(over="ignore"):
        return np.ldexp(h, _per_sample(exponent, h.ndim)).astype(
            h.dtype, copy=False)


def patch_overflow(expert, g, h, z, exponent):
    """Replace, in place, the values ``g = g(z)`` where ``z = rescaled(h,
    exponent)`` overflowed by the expert's ``scaled_value`` of ``h``."""
    over = np.isinf(z)
    if over.any():
        k = np.broadcast_to(_per_sample(exponent, h.ndim), h.shape)
        g[over] = expert.scaled_value(h[over], k[over])
    return g


class Layer:
    """Base class: a layer with named parameters and accumulated gradients.

    Subclasses implement the four passes described in the module docstring:
    ``forward(h, value)``, ``backward(d_o, d2_o, second)``,
    ``sm_forward(a_h, b_h)`` and ``sm_backward(c_o, need_input)``.
    """

    param_names = ()

    def zero_grad(self):
        """Reset the accumulated gradients ``grads`` to zero."""
        self.grads = {
            name: np.zeros_like(getattr(self, name)) for name in self.param_names
        }

    def _add_grad(self, name, value):
        self.grads[name] += value

    def forward(self, h, value=True):  # pragma: no cover - abstract
        """Compute the layer's output from its input (and cache the input).

        Parameters
        ----------
        h : ndarray of shape (n_samples, ...)
            The layer's input, one sample per row.
        value : bool, default=True
            False: the output's value is not needed (only the derivatives
            that the backward pass will use), which some layers skip.

        Returns
        -------
        o : ndarray of shape (n_samples, ...) or None
            The layer's output.
        """
        raise NotImplementedError

    def backward(self, d_o, d2_o, second=True):  # pragma: no cover
        r"""Propagate :math:`\delta` and :math:`\delta'` from output to input.

        Becker & LeCun's diagonal rule; call after :meth:`forward`.

        Parameters
        ----------
        d_o : ndarray or None
            :math:`\delta_o = \partial E / \partial o`, of the shape of the
            output; None at the top of the network, where it is 1.
        d2_o : ndarray or None
            :math:`\delta'_o`, the diagonal of :math:`\partial^2 E /
            \partial o^2`; None where it is zero.
        second : bool, default=True
            Propagate :math:`\delta'` too.

        Returns
        -------
        d_h : ndarray
            :math:`\delta_h = \partial E / \partial h`, of the shape of the
            input.
        d2_h : ndarray or None
            :math:`\delta'_h`, or None without ``second`` or where it is
            zero.
        """
        raise NotImplementedError

    def sm_forward(self, a_h, b_h):  # pragma: no cover - abstract
        r"""Carry the loss's sensitivities from the input side to the output.

        The paper's "SM forward propagation"; adds the weight gradient
        through the backward rule's dependence on the weights to ``grads``.
        Call after :meth:`backward`.

        Parameters
        ----------
        a_h : ndarray
            :math:`\partial J / \partial \delta_h`, of the shape of the input.
        b_h : ndarray or None
            :math:`\partial J / \partial \delta'_h`; None where zero.

        Returns
        -------
        a_o : ndarray or None
            :math:`\partial J / \partial \delta_o`; None at the top.
        b_o : ndarray or None
            :math:`\partial J / \partial \delta'_o`; None where zero.
        """
        raise NotImplementedError

    def sm_backward(self, c_o, need_input=True):  # pragma: no cover
        r"""Backpropagate :math:`c = \partial J / \partial o` to the input.

        The paper's "SM backward propagation"; adds the rest of the weight
        gradient to ``grads``.  Call after :meth:`sm_forward`.

        Parameters
        ----------
        c_o : ndarray or None
            :math:`\partial J / \partial o`; None where zero.
        need_input : bool, default=True
            False for the first layer: :math:`\partial J / \partial h` is
            not needed.

        Returns
        -------
        c_h : ndarray or None
            :math:`\partial J / \partial h`; None without ``need_input``
            or where it is zero.
        """
        raise NotImplementedError

    def param_backward(self, c_o, need_input=True):
        """Backpropagate ``c = dJ/do`` of a loss of the energy's value.

        Adds the weight gradient to ``grads``; the layers whose
        ``sm_backward`` only uses ``c`` share it.

        Parameters
        ----------
        c_o : ndarray or None
            ``dJ/do``, of the shape of the output; None where zero.
        need_input : bool, default=True
            False for the first layer: ``dJ/dh`` is not needed.

        Returns
        -------
        c_h : ndarray or None
            ``dJ/dh``; None without ``need_input`` or where it is zero.
        """
        return self.sm_backward(c_o, need_input)


class FilterLayer(Layer):
    r"""A linear first layer: what the objectives beyond the diagonal need.

    Sliced score matching needs the filter responses to a direction ``v``
    (:meth:`project`) and the full-Hessian regularizer the squared Frobenius
    norm of :math:`W^T \operatorname{diag}(\delta'_o) W`
    (:meth:`hessian_sq_norm`); both use :math:`\delta'_o`, the Hessian
    diagonal at the layer's output, exact when one non-linear layer follows.
    """

    @property
    def output_diagonal(self):
        r"""The Hessian diagonal :math:`\delta'_o` at this layer's output.

        As the last backward pass left it (None if no second derivatives
        were propagated).
        """
        return self._d2_o

    def project(self, v):  # pragma: no cover - abstract
        """Compute the responses ``W v`` to directions ``v`` (no bias).

        Parameters
        ----------
        v : ndarray of the shape of the layer's input
            Directions, one per sample.

        Returns
        -------
        r : ndarray of the shape of the layer's output
            The responses.
        """
        raise NotImplementedError

    def add_projection_grad(self, r, v):  # pragma: no cover - abstract
        """Add ``dJ/dW`` to ``grads``, for ``J`` depending on ``W v``.

        Parameters
        ----------
        r : ndarray of the shape of the layer's output
            ``dJ/d(W v)``.
        v : ndarray of the shape of the layer's input
            The directions given to :meth:`project`.
        """
        raise NotImplementedError

    def hessian_sq_norm(self, d2_o, weight_coef=0.0):  # pragma: no cover
        r"""Squared Frobenius norm of the input Hessian, per sample.

        The Hessian :math:`W^T \operatorname{diag}(\delta'_o) W` of an
        energy whose only non-linearity follows this layer.

        Parameters
        ----------
        d2_o : ndarray of the shape of the layer's output
            :math:`\delta'_o`.
        weight_coef : float, default=0.0
            Non-zero: also add this multiple of the weight gradient of the
            summed norms to ``grads``.

        Returns
        -------
        norms : ndarray of shape (n_samples,)
            The squared norms.
        grad : ndarray of the shape of ``d2_o``
            Their gradient with respect to ``d2_o``.
        """
        raise NotImplementedError


class Linear(FilterLayer):
    r"""Fully connected linear layer :math:`o = h W^T + b`.

    Parameters
    ----------
    weight : ndarray of shape (n_out, n_in)
        The filters :math:`W`, as rows.
    bias : ndarray of shape (n_out,) or None, default=None
        The bias :math:`b`; None: no bias (and no parameter).
    """

    def __init__(self, weight, bias=None):
        self.weight = weight
        self.bias = bias
        self.param_names = ("weight",) if bias is None else ("weight", "bias")

    def forward(self, h, value=True):
        self._h = h
        o = h @ self.weight.T
        if self.bias is not None:
            o += self.bias
        return o

    def backward(self, d_o, d2_o, second=True):
        self._d_o, self._d2_o = d_o, d2_o
        d_h = d_o @ self.weight
        d2_h = None
        if second and d2_o is not None:
            d2_h = d2_o @ (self.weight * self.weight)
        return d_h, d2_h

    def sm_forward(self, a_h, b_h):
        W = self.weight
        a_o = a_h @ W.T
        # d delta_h / dW = delta_o (outer) ...: dJ/dW_ji += sum_t a_h,i delta_o,j
        grad = self._d_o.T @ a_h
        b_o = None
        if b_h is not None and self._d2_o is not None:
            b_o = b_h @ (W * W).T
            # delta'_h,i = sum_j W_ji^2 delta'_o,j
            grad += 2 * W * (self._d2_o.T @ b_h)
        self._add_grad("weight", grad)
        return a_o, b_o

    def sm_backward(self, c_o, need_input=True):
        if c_o is None:
            return None
        self._add_grad("weight", c_o.T @ self._h)
        if self.bias is not None:
            self._add_grad("bias", c_o.sum(axis=0))
        return c_o @ self.weight if need_input else None

    def project(self, v):
        return v @ self.weight.T

    def add_projection_grad(self, r, v):
        self._add_grad("weight", r.T @ v)

    def hessian_sq_norm(self, d2_o, weight_coef=0.0):
        # With the Gram matrix G = W W^T the norm is d2_o^T (G o G) d2_o.
        W = self.weight
        G = W @ W.T
        t = d2_o @ (G * G)
        if weight_coef:
            S = d2_o.T @ d2_o
            self._add_grad("weight", (4 * weight_coef) * ((S * G) @ W))
        return np.einsum("ni,ni->n", t, d2_o), 2 * t


class Elementwise(Layer):
    """Elementwise non-linearity ``o = g(h)`` of an expert.

    Parameters
    ----------
    expert : expert
        An expert of :mod:`sksm.experts` (``value`` and ``derivatives``).
    """

    def __init__(self, expert):
        self.expert = expert

    def forward(self, h, value=True, order=3, exponent=None):
        """Compute ``g(h)``, or ``g(h * 2**exponent)`` sample by sample.

        Where a scaled response overflows, its derivatives are zero (the
        nearest float) and its value comes from the expert's
        ``scaled_value``.

        Parameters
        ----------
        h : ndarray of shape (n_samples, ...)
            The responses.
        value : bool, default=True
            False: ``g`` itself is not needed, only its derivatives.
        order : int, default=3
            The highest derivative of ``g`` that the later passes need.
        exponent : ndarray of shape (n_samples,) or None, default=None
            Power-of-two exponents of the samples (see
            :func:`split_exponent`); None: ``h`` as it is.

        Returns
        -------
        g : ndarray of the shape of ``h`` or None
            The activations; None without ``value``.
        """
        z = h if exponent is None else rescaled(h, exponent)
        g, self._g1, self._g2, self._g3 = self.expert.derivatives(
            z, value=value, order=order)
        if value and exponent is not None:
            patch_overflow(self.expert, g, h, z, exponent)
        return g

    def backward(self, d_o, d2_o, second=True):
        self._d_o, self._d2_o = d_o, d2_o
        g1 = self._g1
        d_h = d_o * g1
        d2_h = None
        if second:
            d2_h = d_o * self._g2
            if d2_o is not None:
                d2_h += d2_o * g1 * g1
        return d_h, d2_h

    def sm_forward(self, a_h, b_h):
        g1 = self._g1
        self._a_h, self._b_h = a_h, b_h
        a_o = a_h * g1
        b_o = None
        if b_h is not None:
            a_o += b_h * self._g2
            if self._d2_o is not None:
                b_o = b_h * g1 * g1
        return a_o, b_o

    def param_backward(self, c_o, need_input=True):
        return c_o * self._g1

    def sm_backward(self, c_o, need_input=True):
        g1, g2, d_o = self._g1, self._g2, self._d_o
        # dJ/dh through delta_h = d_o g'(h) and delta'_h = d_o g''(h) + d2_o g'(h)^2
        c_h = self._a_h * g2
        c_h *= d_o
        b_h = self._b_h
        if b_h is not None:
            t = self._g3 * d_o
            if self._d2_o is not None:
                t += 2 * self._d2_o * g1 * g2
            t *= b_h
            c_h += t
        if c_o is not None:
            c_h += c_o * g1
        return c_h


class WeightedSum(Layer):
    r"""Output layer :math:`E = \sum_{p} \sum_i \alpha_i h_{p,i}`.

    The input has shape (n, n_units) or (n, ..., n_units), for example
    (n, n_positions, n_experts) in a Field of Experts: the weights apply to
    the last axis and every other axis but the first is summed over.

    Parameters
    ----------
    weight : ndarray of shape (n_units,)
        The expert weights :math:`\alpha`.
    """

    param_names = ("weight",)

    def __init__(self, weight):
        self.weight = weight

    def forward(self, h, value=True):
        self._h = h
        if h is None:
            return None
        E = h @ self.weight
        return E.reshape(len(E), -1).sum(axis=1)

    def backward(self, d_o=None, d2_o=None, second=True):
        # At the top of the network dE/dE = 1 (d_o None) and d2E/dE2 = 0.
        if d_o is not None or d2_o is not None:
            raise NotImplementedError("WeightedSum must be the last layer.")
        return self.weight[None, :], None

    def sm_forward(self, a_h, b_h):
        # delta_h = alpha (times dE/dE = 1): dJ/dalpha_i = sum a_h[..., i]
        flat = a_h.reshape(-1, a_h.shape[-1])
        self._add_grad("weight", flat.sum(axis=0))
        return None, None

    def sm_backward(self, c_o, need_input=True):
        if c_o is None:
            return None
        h = self._h.reshape(len(c_o), -1, self._h.shape[-1])
        self._add_grad("weight", np.einsum("npm,n->m", h, c_o))
        if not need_input:
            return None
        return c_o.reshape((-1,) + (1,) * (self._h.ndim - 1)) * self.weight


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
            From :func:`split_exponent`: the samples are ``X *
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
            that layer, :attr:`FilterLayer.output_diagonal`), for losses
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
        """The first layer, if it is linear (:class:`FilterLayer`), else None."""
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
            the Hessian beyond its diagonal (see :class:`FilterLayer`);
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
