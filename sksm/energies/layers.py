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

import numpy as np

from ._overflow import patch_overflow, rescaled, split_exponent

__all__ = ["Elementwise", "FilterLayer", "Linear", "WeightedSum",
           "split_exponent"]


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
