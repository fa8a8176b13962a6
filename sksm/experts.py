"""Expert functions ``g`` and their first three derivatives.

An expert maps a filter response ``z`` to an energy contribution ``g(z)``.
The score-matching engine needs ``g'``, ``g''`` (for ``dE/dx`` and the Hessian
diagonal) and ``g'''`` (to differentiate the Hessian diagonal with respect to
the weights), so every expert provides all four.
"""

import numpy as np
from scipy.special import expit, gammaln

from ._validation import check_positive

__all__ = ["DEFAULT_C", "GaussianMixture", "GaussianScaleMixture", "Quadratic",
           "Softplus", "Split", "StudentT", "mixture_terms"]

#: The paper's fixed horizontal scale of the Student-t expert, ``c = e^1.5``.
DEFAULT_C = float(np.exp(1.5))


class _Expert:
    """The contract of an expert: ``value`` and ``derivatives``."""

    def value(self, z):  # pragma: no cover - abstract
        """Compute the expert's energy ``g(z)`` elementwise.

        Parameters
        ----------
        z : ndarray of float
            Filter responses, any shape.

        Returns
        -------
        g : ndarray of the shape and dtype of ``z``
            Finite for every finite ``z``.
        """
        raise NotImplementedError

    def derivatives(self, z, value=False, order=3):  # pragma: no cover
        """Compute ``g`` and its first three derivatives elementwise.

        Parameters
        ----------
        z : ndarray of float
            Filter responses, any shape.
        value : bool, default=False
            Also compute ``g`` itself.
        order : {1, 2, 3}, default=3
            The highest derivative needed; those above are None.

        Returns
        -------
        g : ndarray or None
            The energy ``g(z)``; None unless ``value``.
        g1 : ndarray
            The first derivative, of the shape and dtype of ``z``.
        g2 : ndarray or None
            The second derivative; None if ``order < 2``.
        g3 : ndarray or None
            The third derivative; None if ``order < 3``.
        """
        raise NotImplementedError


class StudentT(_Expert):
    r"""Student-t expert :math:`g(z) = \log(1 + (c z)^2 / 2)`.

    With :math:`s = c^2` and :math:`q = 1 + s z^2 / 2`:

    .. math::

        g'(z) = \frac{s z}{q}, \qquad
        g''(z) = \frac{s (2 - q)}{q^2}, \qquad
        g'''(z) = \frac{s^2 z (q - 4)}{q^3}.

    ``exp(-alpha g(z))`` is a (scaled) Student-t density with ``2 alpha - 1``
    degrees of freedom; it is normalisable only for ``alpha > 1/2``.

    Parameters
    ----------
    c : float, default=e^1.5
        Horizontal scale (not learned).
    """

    def __init__(self, c=DEFAULT_C):
        self.c = check_positive(c, "c", "the horizontal scale of the experts")

    def value(self, z):  # finite for every finite z
        z = np.asarray(z)
        with np.errstate(over="ignore"):
            g = np.log1p(0.5 * (self.c * z) ** 2)
        if not np.isfinite(g).all():
            return self._large(z, True, 0)[0]
        return g

    def derivatives(self, z, value=False, order=3):
        # Whole-array operations in the dtype of z, with few temporaries;
        # responses so large that q overflows go to _large.
        s = z.dtype.type(self.c * self.c)
        with np.errstate(over="ignore"):
            q = z * z
            q *= s / 2
        q += 1                      # q = 1 + s z^2 / 2
        if q.size and not np.isfinite(q.max()):  # q >= 1: one reduction
            return self._large(z, value, order)
        g = np.log(q) if value else None
        r = np.reciprocal(q)        # 1 / q
        g1 = z * r
        g1 *= s                     # s z / q
        if order < 2:
            return g, g1, None, None
        g2 = 2 - q
        g2 *= r
        g2 *= r
        g2 *= s                     # s (2 - q) / q^2
        if order < 3:
            return g, g1, g2, None
        g3 = q - 4
        g3 *= g1
        g3 *= r
        g3 *= r
        g3 *= s                     # s^2 z (q - 4) / q^3
        return g, g1, g2, g3

    def _large(self, z, value, order):
        r"""``(g, g', g'', g''')`` by formulas that cannot overflow.

        With :math:`t = c z / \sqrt{2}`, where :math:`|t| > 1`, with
        :math:`v = 1 / t^2`, :math:`r = 1 / q = v / (1 + v)` and
        :math:`s r = 2 / (z^2 (1 + v))`: :math:`g = 2 \log|t| + \log(1 + v)`,
        :math:`g' = 2 / (z (1 + v))`, :math:`g'' = s r (2 r - 1)`,
        :math:`g''' = z (s r)^2 (1 - 4 r) = g' s r (1 - 4 r)`; elsewhere
        :meth:`derivatives`.  At :math:`z = \pm\infty` (a response that
        overflowed, see :meth:`scaled_value`) the derivatives are zero.
        """
        dtype = z.dtype if z.dtype.kind == "f" else np.dtype(np.float64)
        z = z.astype(dtype, copy=False)
        s = self.c * self.c
        # |t| > 1, and NaN, which would otherwise come back here
        big = ~(np.abs(z) <= np.sqrt(2) / self.c)
        out = [np.empty_like(z) for _ in range(4)]
        # |t| <= 1: q <= 2, so the usual formulas cannot overflow there
        for part, small in zip(out, self.derivatives(z[~big], value=True)):
            part[~big] = small
        zb = z[big]
        v = 2 / s / zb / zb
        r = v / (1 + v)
        sr = 2 / zb / zb / (1 + v)
        g1 = 2 / zb / (1 + v)
        out[0][big] = (2 * (np.log(np.abs(zb)) + np.log(self.c / np.sqrt(2)))
                       + np.log1p(v))
        out[1][big] = g1
        out[2][big] = sr * (2 * r - 1)
        out[3][big] = g1 * sr * (1 - 4 * r)  # z (s r)^2: zero, not NaN, at inf
        return (out[0] if value else None, out[1],
                out[2] if order >= 2 else None,
                out[3] if order >= 3 else None)

    def scaled_value(self, u, exponent):
        r"""Return ``g(u * 2**exponent)`` where that product overflows.

        With :math:`z = u 2^k`, :math:`g(z) = 2 (\log|u| + k \log 2 +
        \log(c / \sqrt{2})) + \log(1 + 2 / (c z)^2)`; the last term is far
        below the rounding of the first at responses beyond the float range,
        where callers use this.

        Parameters
        ----------
        u : ndarray of float
            Mantissas of the responses, nonzero.
        exponent : ndarray of int, broadcastable to ``u``
            Power-of-two exponents: the responses are ``u * 2**exponent``.

        Returns
        -------
        g : ndarray of the shape and dtype of ``u``
            ``g(u * 2**exponent)``, finite.
        """
        log_scale = (np.asarray(exponent) * np.log(2.0)).astype(u.dtype)
        return 2 * (np.log(np.abs(u)) + log_scale
                    + u.dtype.type(np.log(self.c / np.sqrt(2))))

    def log_normalizer(self, alpha):
        r"""Return :math:`\log \int \exp(-\alpha g(z))\,dz` for ``alpha > 1/2``.

        .. math::

            Z(\alpha) = \frac{\sqrt{2}}{c} \sqrt{\pi}
            \frac{\Gamma(\alpha - 1/2)}{\Gamma(\alpha)}.

        Parameters
        ----------
        alpha : float or array-like of float
            Expert weights, each above 1/2.

        Returns
        -------
        log_z : ndarray of the shape of ``alpha``
            :math:`\log Z(\alpha)` in float64, in nats (per unit of ``z``).

        Raises
        ------
        ValueError
            If a weight is at most 1/2, where the integral diverges.
        """
        alpha = np.asarray(alpha, dtype=np.float64)
        if np.any(alpha <= 0.5):
            raise ValueError(
                "The Student-t expert is normalisable only for weights > 1/2; "
                f"got min weight {alpha.min()!r}."
            )
        return (
            0.5 * np.log(2 * np.pi)
            - np.log(self.c)
            + gammaln(alpha - 0.5)
            - gammaln(alpha)
        )


class Quadratic(_Expert):
    r"""Gaussian expert :math:`g(z) = z^2 / 2`, for known-answer tests.

    A linear layer ``W`` followed by this expert and unit weights is the
    Gaussian energy :math:`\frac{1}{2} x^T W^T W x`.
    """

    def value(self, z):
        return 0.5 * z * z

    def derivatives(self, z, value=False, order=3):
        g = 0.5 * z * z if value else None
        return g, z.copy(), np.ones_like(z), np.zeros_like(z)


class Softplus(_Expert):
    r"""Softplus expert :math:`g(z) = \log(1 + e^z)`.

    The free energy of a binary hidden unit.

    With :math:`s = \operatorname{sigmoid}(z)`: :math:`g' = s`,
    :math:`g'' = s (1 - s)`, :math:`g''' = s (1 - s)(1 - 2 s)`.
    """

    def value(self, z):
        return np.logaddexp(0, z)

    def derivatives(self, z, value=False, order=3):
        g = np.logaddexp(0, z) if value else None
        s = expit(z)
        if order < 2:
            return g, s, None, None
        g2 = s * (1 - s)
        if order < 3:
            return g, s, g2, None
        return g, s, g2, g2 * (1 - 2 * s)


class Split(_Expert):
    """Two experts side by side: one elementwise layer for two kinds of units.

    Parameters
    ----------
    first : expert
        The expert of the first ``n_first`` units (along the last axis).
    second : expert
        The expert of the other units.
    n_first : int
        Number of units of ``first``.
    """

    def __init__(self, first, second, n_first):
        self.first, self.second, self.n_first = first, second, n_first

    def value(self, z):
        k = self.n_first
        return np.concatenate([self.first.value(z[..., :k]),
                               self.second.value(z[..., k:])], axis=-1)

    def derivatives(self, z, value=False, order=3):  # joined over the parts
        k = self.n_first
        a = self.first.derivatives(z[..., :k], value=value, order=order)
        b = self.second.derivatives(z[..., k:], value=value, order=order)
        return tuple(None if p is None else np.concatenate([p, q], axis=-1)
                     for p, q in zip(a, b))


def mixture_terms(z, means, variances, log_weights, value=False, order=3):
    r"""A Gaussian mixture's ``g = -log p``, its derivatives, responsibilities.

    :math:`g(z) = -\log \sum_m \pi_m N(z; \mu_m, v_m)`.

    With the responsibilities :math:`r_m \propto \pi_m N(z; \mu_m, v_m)` and
    :math:`a_m = (z - \mu_m) / v_m`, writing :math:`\langle f \rangle =
    \sum_m r_m f_m`:

    .. math::

        g' = \langle a \rangle, \qquad
        g'' = \langle 1/v \rangle - \langle a^2 \rangle + g'^2, \qquad
        g^{(3)} = \langle a^3 \rangle - 3 \langle a / v \rangle + 3 g' g''
               - g'^3.

    Parameters
    ----------
    z : ndarray of float
        Responses, of shape (..., n_experts) when the parameters have one row
        per expert, any shape when they are one row.
    means, variances, log_weights : ndarray
        The components, of shape (n_components,) or (n_experts,
        n_components), in the dtype of ``z``; ``variances`` may also
        broadcast against ``z[..., None]`` (variances per response).
    value : bool, default=False
        Also compute ``g``.
    order : {1, 2, 3}, default=3
        The highest derivative needed.

    Returns
    -------
    g, g1, g2, g3 : ndarray of the shape of ``z`` or None
        As :meth:`_Expert.derivatives`.
    r : ndarray of shape ``z.shape + (n_components,)``
        The responsibilities.
    a : ndarray of the shape of ``r``
        :math:`a_m = (z - \mu_m) / v_m`.
    """
    d = z[..., None] - means
    a = d / variances
    logn = log_weights - 0.5 * np.log(2 * np.pi * variances) - 0.5 * d * a
    top = logn.max(axis=-1, keepdims=True)
    r = np.exp(logn - top)
    total = r.sum(axis=-1, keepdims=True)
    r /= total
    g = -(np.log(total[..., 0]) + top[..., 0]) if value else None
    ra = r * a
    g1 = ra.sum(axis=-1)
    g2 = g3 = None
    if order >= 2:
        inv = np.broadcast_to(1 / variances, r.shape)
        e_inv = np.einsum("...m,...m->...", r, inv)
        e_a2 = np.einsum("...m,...m->...", ra, a)
        g2 = e_inv - e_a2 + g1 * g1
        if order >= 3:
            e_a3 = np.einsum("...m,...m->...", ra * a, a)
            e_av = np.einsum("...m,...m->...", ra, inv)
            g3 = e_a3 - 3 * e_av + 3 * g1 * g2 - g1 ** 3
    return g, g1, g2, g3, r, a


def _mixture_rows(values, name, n_components=None, positive=False):
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim not in (1, 2) or arr.shape[-1] == 0:
        raise ValueError(
            f"{name} must be an array of shape (n_components,) or (n_experts, "
            f"n_components); got shape {arr.shape}.")
    if n_components is not None and arr.shape[-1] != n_components:
        raise ValueError(
            f"{name} must have {n_components} components like the scales; got "
            f"shape {arr.shape}.")
    if not np.isfinite(arr).all() or (positive and np.any(arr <= 0)):
        kind = "positive and finite" if positive else "finite"
        raise ValueError(f"{name} must be {kind}; got {values!r}.")
    return arr


class GaussianMixture(_Expert):
    r"""Gaussian mixture expert, the negative log of a 1-D mixture density.

    :math:`g(z) = -\log \sum_m \pi_m \mathcal{N}(z; \mu_m, s_m^2)`.

    ``exp(-g)`` is the mixture's density, normalised: the expert is a
    density on the responses (with weight ``alpha = 1``).  Its diffusion by
    Gaussian noise of variance :math:`t` is the mixture with variances
    :math:`s_m^2 + t` (:meth:`diffused`): the responses of a filter ``w`` to
    an image with white noise of standard deviation :math:`\sigma` get
    :math:`t = \sigma^2 \lVert w \rVert^2`.  Derivatives:
    :func:`mixture_terms`.

    Parameters
    ----------
    means : array-like of shape (n_components,) or (n_experts, n_components)
        Component means; with one row per expert, the expert of filter
        ``i`` is row ``i`` and responses have ``n_experts`` on their last
        axis.
    scales : array-like with as many components
        Component standard deviations, positive.
    weights : array-like with as many components
        Mixture weights, non-negative with a positive sum per row;
        normalised to sum to one.

    Raises
    ------
    ValueError
        If the arrays do not have the same number of components (one or two
        dimensions) and one row or the same number of rows, a scale is not
        positive, or a weight row is negative, all zero or not finite.

    References
    ----------
    M. Zach, E. Kobler, A. Chambolle and T. Pock. Product of Gaussian mixture
    diffusion models. J. Math. Imaging Vis., 2024.
    """

    def __init__(self, means, scales, weights):
        scales = _mixture_rows(scales, "scales", positive=True)
        m = scales.shape[-1]
        means = _mixture_rows(means, "means", m)
        weights = _mixture_rows(weights, "weights", m)
        try:
            np.broadcast_shapes(means.shape, scales.shape, weights.shape)
        except ValueError:
            raise ValueError(
                "means, scales and weights must each have one row or the same "
                "number of rows (one per expert); got shapes "
                f"{means.shape}, {scales.shape} and {weights.shape}."
            ) from None
        total = weights.sum(axis=-1, keepdims=True)
        if np.any(weights < 0) or np.any(total <= 0):
            raise ValueError(
                "weights must be non-negative with a positive sum per row; got "
                f"{weights!r}.")
        self.means, self.scales = means, scales
        self.weights = weights / total

    def _params(self, dtype):
        with np.errstate(divide="ignore"):
            log_w = np.log(self.weights)
        return (self.means.astype(dtype), (self.scales ** 2).astype(dtype),
                log_w.astype(dtype))

    def _float(self, z):
        z = np.asarray(z)
        return z if z.dtype.kind == "f" else z.astype(np.float64)

    def value(self, z):
        z = self._float(z)
        return mixture_terms(z, *self._params(z.dtype), value=True,
                             order=1)[0]

    def derivatives(self, z, value=False, order=3):
        z = self._float(z)
        return mixture_terms(z, *self._params(z.dtype), value=value,
                             order=order)[:4]

    def diffused(self, variance):
        """The expert of the responses after adding Gaussian noise.

        Parameters
        ----------
        variance : float or array-like of shape (n_experts,)
            Variance of the noise added to the responses (one per expert
            row); non-negative.

        Returns
        -------
        expert : GaussianMixture
            Of the same class, with variances ``scales**2 + variance``.

        Raises
        ------
        ValueError
            If a variance is negative or not finite, or there is not one
            variance or one per expert row.
        """
        variance = np.asarray(variance, dtype=np.float64)
        if np.any(variance < 0) or not np.isfinite(variance).all():
            raise ValueError(
                f"variance must be non-negative and finite; got {variance!r}.")
        rows = len(self.scales) if self.scales.ndim == 2 else 1
        if variance.ndim > 1 or (variance.ndim == 1
                                 and rows not in (1, len(variance))):
            raise ValueError(
                f"variance must be one number or one per expert row ({rows}); "
                f"got shape {variance.shape}.")
        if variance.ndim == 1:
            variance = variance[:, None]
        new = object.__new__(type(self))
        new.scales = np.sqrt(self.scales ** 2 + variance)
        new.means = np.broadcast_to(self.means, new.scales.shape).copy()
        new.weights = np.broadcast_to(self.weights, new.scales.shape).copy()
        return new


class GaussianScaleMixture(GaussianMixture):
    r"""Gaussian scale mixture expert: zero-mean components on a grid of scales.

    :math:`g(z) = -\log \sum_m \pi_m \mathcal{N}(z; 0, s_m^2)`.

    A symmetric density, heavy-tailed with a wide grid, whose shape the
    weights set: the experts of the noise-conditional Field of Experts
    (a fixed geometric grid of scales, learned weights).  See
    :class:`GaussianMixture`.

    Parameters
    ----------
    scales : array-like of shape (n_components,) or (n_experts, n_components)
        Component standard deviations, positive.
    weights : array-like with as many components
        Mixture weights, non-negative with a positive sum per row.

    Raises
    ------
    ValueError
        As :class:`GaussianMixture`.
    """

    def __init__(self, scales, weights):
        scales = _mixture_rows(scales, "scales", positive=True)
        super().__init__(np.zeros(scales.shape), scales, weights)
