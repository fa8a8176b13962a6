r"""A Field of Experts at every noise level: Gaussian scale mixture experts in
closed-form diffusion.

.. math::

    E(x; \sigma) = \sum_p \sum_{i=1}^{K} \alpha_i\, g_i\big(w_i^T x_{(p)};
    \sigma\big), \qquad
    g_i(z; \sigma) = -\log \sum_{m} \pi_{im}\,
    \mathcal{N}\big(z; 0, s_m^2 + \sigma^2 \lVert w_i \rVert^2\big),

with zero-mean filters :math:`w_i` (a prior on pixels that ignores the
brightness), a fixed geometric grid of scales :math:`s_m` and learned weights
:math:`\pi_{i\cdot}` (a softmax of logits) and :math:`\alpha_i` (an
exponential).  Adding white noise of variance :math:`\sigma^2` to an image
adds :math:`\sigma^2 \lVert w_i \rVert^2` to the variance of filter ``i``'s
responses, so :math:`g_i(\cdot; \sigma)` is expert ``i``'s density after that
noise, in closed form (Zach, Kobler, Chambolle & Pock 2024).  For orthogonal
filters at one position this is the exact diffusion of the product; for a
field of overlapping filters it is the parametric family that
:func:`~sksm.objectives.noise_conditional_dsm` fits at every noise level at
once.  Its gradient gives the empirical-Bayes (Tweedie) denoiser
:math:`\hat x = y - \sigma^2 \nabla_y E(y; \sigma)`.

Here are the energy (:class:`NoiseConditionalField`), its gradient in the
pixels at valid positions, and the tabulated expert scores that make a
megapixel image cost a few filter passes (:meth:`NoiseConditionalField.score_table`).
"""

import numpy as np

from ..experts import GaussianScaleMixture, mixture_terms
from .conv import col2im, field_pass, im2col

__all__ = ["NoiseConditionalField", "dct_filters"]

#: Tables of :meth:`NoiseConditionalField.score_table` kept for reuse, by
#: the field's parameters and the level (restoring many images, frames or
#: Dask chunks with one prior asks for the same levels again); the oldest
#: go first beyond this many (each is about 0.8 MB for 48 experts).
_MAX_TABLES = 48
_TABLES = {}


def dct_filters(size):
    """The ``size**2 - 1`` separable DCT-II filters other than the constant.

    Parameters
    ----------
    size : int
        Side of the filters.

    Returns
    -------
    filters : ndarray of shape (size**2 - 1, size * size)
        Orthonormal, zero-mean, flattened row by row, lowest frequencies
        first.
    """
    n = np.arange(size)
    c = np.cos(np.pi * (n[:, None] + 0.5) * n[None, :] / size)
    c /= np.linalg.norm(c, axis=0)
    basis = np.einsum("iu,jv->uvij", c, c).reshape(size * size, size * size)
    order = np.argsort(np.add.outer(n, n).ravel(), kind="stable")
    return basis[order][1:]


def _interpolator(table):
    """Linear interpolation in the tables of
    :meth:`NoiseConditionalField.score_table`, as a function of the responses
    in units of the grids' half-point ``b`` (shape (..., n_experts)).

    Every grid point stores its value and the step to the next one side by
    side (a complex number), so one gather reads both.  The result is
    written over its argument.
    """
    n_experts, n_points = table.shape
    pairs = np.zeros((n_experts, n_points, 2), dtype=table.dtype)
    pairs[..., 0] = table
    pairs[:, :-1, 1] = np.diff(table, axis=1)      # 0 after the last point
    flat = pairs.view(np.result_type(table.dtype, np.complex64)).ravel()
    half, one = table.dtype.type((n_points - 1) / 2), table.dtype.type(1)
    first = np.arange(n_experts, dtype=np.int32) * n_points

    def interpolate(z):
        u = np.abs(z)
        u += one
        np.divide(z, u, out=z)               # the grid's coordinate, [-1, 1]
        z *= half
        z += half                            # in [0, n_points - 1]
        i = z.astype(np.int32)
        z -= i                               # the fraction
        i += first
        pair = flat.take(i)
        z *= pair.imag
        z += pair.real
        return z

    return interpolate


class NoiseConditionalField:
    r"""The energy :math:`E(x; \sigma)` of a noise-conditional Field of Experts.

    Parameters
    ----------
    filters : ndarray of shape (n_experts, size * size)
        Unconstrained filters :math:`v_i`; the energy uses :math:`w_i = v_i -
        \bar v_i` (zero mean).
    logits : ndarray of shape (n_experts, n_scales)
        Mixture weights :math:`\pi_{i\cdot} = \operatorname{softmax}`.
    log_alpha : ndarray of shape (n_experts,)
        Expert weights :math:`\alpha_i = e^{\text{log\_alpha}_i}`.
    scales : ndarray of shape (n_scales,)
        The grid :math:`s_m` of standard deviations, in the units of the
        filter responses to pixels on the [0, 1] scale.
    size : int
        Side of the filters.
    dtype : numpy dtype, default=np.float32
        The dtype the energy computes in.
    """

    def __init__(self, filters, logits, log_alpha, scales, size,
                 dtype=np.float32):
        self.dtype = np.dtype(dtype)
        self.size = int(size)
        self.scales = np.asarray(scales, dtype=self.dtype)
        self.V = np.asarray(filters, dtype=self.dtype)
        self.logits = np.asarray(logits, dtype=self.dtype)
        self.log_alpha = np.asarray(log_alpha, dtype=self.dtype)

    # -- parameters ---------------------------------------------------------
    @property
    def n_experts(self):
        """Number of filters."""
        return self.V.shape[0]

    @property
    def n_params(self):
        """Length of the flat parameter vector ``(filters, logits, log_alpha)``."""
        return self.V.size + self.logits.size + self.log_alpha.size

    def get_params(self):
        """The flat parameter vector.

        Returns
        -------
        theta : ndarray of shape (n_params,)
            ``(filters, logits, log_alpha)`` flattened, a new float64 array.
        """
        return np.concatenate([self.V.ravel(), self.logits.ravel(),
                               self.log_alpha]).astype(np.float64)

    def set_params(self, theta):
        """Set the parameters from a flat vector.

        Parameters
        ----------
        theta : array-like of shape (n_params,)
            In the order of :meth:`get_params`; cast to :attr:`dtype`.
        """
        theta = np.asarray(theta)
        a, b = self.V.size, self.V.size + self.logits.size
        self.V = theta[:a].reshape(self.V.shape).astype(self.dtype)
        self.logits = theta[a:b].reshape(self.logits.shape).astype(self.dtype)
        self.log_alpha = theta[b:].astype(self.dtype)

    @property
    def filters(self):
        """The zero-mean filters :math:`w_i`, of shape (n_experts, size**2)."""
        return self.V - self.V.mean(axis=1, keepdims=True)

    @property
    def alpha(self):
        """The expert weights, of shape (n_experts,)."""
        return np.exp(self.log_alpha)

    def log_weights(self):
        """Log mixture weights.

        Returns
        -------
        log_weights : ndarray of shape (n_experts, n_scales)
            The log-softmax of every row of the logits.
        """
        top = self.logits.max(axis=1, keepdims=True)
        shifted = self.logits - top
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def variances(self, sigma):
        r"""Component variances :math:`s_m^2 + \sigma^2 \lVert w_i \rVert^2`.

        Parameters
        ----------
        sigma : float or ndarray of shape (n,)
            Noise levels, one per image.

        Returns
        -------
        variances : ndarray of shape (n, 1, n_experts, n_scales)
            In :attr:`dtype`; ``n = 1`` for a float.
        """
        W = self.filters
        norms = np.einsum("ij,ij->i", W, W)
        s2 = np.asarray(sigma, dtype=self.dtype).reshape(-1, 1, 1, 1) ** 2
        return self.scales ** 2 + s2 * norms[:, None]

    def expert(self, sigma=0.0):
        """The experts at noise level ``sigma``, as one expert object.

        Parameters
        ----------
        sigma : float, default=0.0
            Noise standard deviation on the [0, 1] scale.

        Returns
        -------
        expert : GaussianScaleMixture
            One row per filter (responses with ``n_experts`` on their last
            axis), not multiplied by :attr:`alpha`.
        """
        W = self.filters.astype(np.float64)
        grid = np.broadcast_to(self.scales.astype(np.float64),
                               self.logits.shape)
        gsm = GaussianScaleMixture(grid, np.exp(self.log_weights()
                                                .astype(np.float64)))
        return gsm.diffused(sigma ** 2 * np.einsum("ij,ij->i", W, W))

    # -- the energy and its gradient ----------------------------------------
    def responses(self, x):
        """Filter responses at every valid position.

        Parameters
        ----------
        x : ndarray of shape (n, height, width)
            Images, at least :attr:`size` pixels a side.

        Returns
        -------
        cols : ndarray of shape (n, n_positions, size**2)
            The patches (a view where possible).
        z : ndarray of shape (n, n_positions, n_experts)
            The responses.
        """
        cols = im2col(np.asarray(x, dtype=self.dtype), self.size)
        return cols, cols @ self.filters.T

    def energy_terms(self, x, sigma, value=False, order=1):
        """Mixture terms of every response, for the objective's gradient.

        Parameters
        ----------
        x : ndarray of shape (n, height, width)
            Images.
        sigma : float or ndarray of shape (n,)
            Noise level of every image.
        value : bool, default=False
            Also compute the experts' energies.
        order : {1, 2}, default=1
            Highest derivative of the experts needed.

        Returns
        -------
        cols, z : ndarray
            As :meth:`responses`.
        terms : tuple
            ``(g, g1, g2, g3, r, a)`` of
            :func:`~sksm.experts.mixture_terms` at the diffused variances.
        variances : ndarray of shape (n, 1, n_experts, n_scales)
            Those variances.
        """
        cols, z = self.responses(x)
        var = self.variances(sigma)
        terms = mixture_terms(z, self.dtype.type(0), var, self.log_weights(),
                              value=value, order=order)
        return cols, z, terms, var

    def grad_energy(self, x, sigma):
        r"""Energy of every image and its gradient in the pixels.

        Parameters
        ----------
        x : ndarray of shape (n, height, width)
            Images on the [0, 1] scale, at least :attr:`size` pixels a side;
            the energy sums the valid positions.
        sigma : float or ndarray of shape (n,)
            Noise level of every image, on the [0, 1] scale.

        Returns
        -------
        E : ndarray of shape (n,)
            :math:`E(x; \sigma)`, in float64.
        dE_dx : ndarray of shape (n, height, width)
            Its gradient, in :attr:`dtype`.
        """
        _, _, terms, _ = self.energy_terms(x, sigma, value=True)
        g, g1 = terms[0], terms[1]
        alpha = self.alpha
        E = np.einsum("npk,k->n", g, alpha, dtype=np.float64)
        return E, col2im((g1 * alpha) @ self.filters, self.size,
                         np.shape(x)[1:])

    # -- fast scores for restoration ----------------------------------------
    def score_table(self, sigma, n_points=4097, derivative=1):
        r"""The experts' first derivatives on a grid, for look-ups.

        The grid is uniform in :math:`u = z / (|z| + b)`, which maps the
        real line onto (-1, 1) with half the points within :math:`\pm b`,
        :math:`b` twice the smallest diffused scale of weight above
        ``1e-4``: fine where the narrow components are, coarse in the
        nearly linear tails.

        Parameters
        ----------
        sigma : float
            Noise level on the [0, 1] scale.
        n_points : int, default=4097
            Grid points per expert.
        derivative : {1, 2} or tuple of them, default=1
            Tabulate :math:`g_i'` or :math:`g_i''` (a tuple: a table of
            each, in its order).

        Returns
        -------
        table : ndarray of shape (n_experts, n_points), or tuple of them
            :math:`\alpha_i g_i'` (or :math:`\alpha_i g_i''`) at the grid
            points, in :attr:`dtype`.
        b : ndarray of shape (n_experts,)
            The grids' half-point.

        Notes
        -----
        The last tables made are kept, by the parameters and the level, and
        returned again (read-only) when asked for: restoring many images,
        frames or chunks with one prior computes each level's once.
        """
        key = (self.dtype.str, self.size, self.V.tobytes(),
               self.logits.tobytes(), self.log_alpha.tobytes(),
               self.scales.tobytes(), float(sigma), int(n_points),
               derivative if np.ndim(derivative) == 0 else tuple(derivative))
        tables = _TABLES.get(key)
        if tables is None:
            tables = self._score_table(sigma, n_points, derivative)
            while len(_TABLES) >= _MAX_TABLES:
                _TABLES.pop(next(iter(_TABLES), None), None)
            _TABLES[key] = tables
        return tables

    def _score_table(self, sigma, n_points, derivative):
        # in the field's dtype: float32 tables are three times faster to
        # make than float64 ones, and within 1e-6 of them (relative)
        dtype = self.dtype
        var = self.variances(sigma)[0, 0]                       # (K, M)
        log_w = self.log_weights()
        narrow = np.where(log_w > np.log(1e-4), var, np.inf).min(axis=1)
        b = 2 * np.sqrt(narrow.astype(np.float64))
        u = np.linspace(-1, 1, n_points)[1:-1]
        grid = (b[:, None] * u / (1 - np.abs(u))).astype(dtype)  # (K, G-2)
        orders = (derivative,) if np.ndim(derivative) == 0 else derivative
        terms = mixture_terms(grid.T, dtype.type(0), var, log_w,
                              order=max(orders))
        alpha = self.alpha[:, None]
        tables = []
        for d in orders:
            table = terms[d].T * alpha
            # at u = +-1 (z infinite) the widest component's slope is
            # unbounded; repeat the last values, reached only by overflow
            table = np.concatenate([table[:, :1], table, table[:, -1:]],
                                   axis=1).astype(self.dtype)
            table.flags.writeable = False     # shared by later calls
            tables.append(table)
        b.flags.writeable = False
        return (tables[0] if np.ndim(derivative) == 0 else tuple(tables)), b

    def grad_tabulated(self, x, sigma, table=None):
        r"""The gradient :math:`\nabla_x E(x; \sigma)` of one image, fast.

        The experts' derivatives are interpolated linearly in
        :meth:`score_table`, and the filter passes run a band of rows at a
        time (:func:`~sksm.energies.conv.field_pass`): the cost is two passes
        of the filters and one table read per response, whatever the number
        of scales.

        Parameters
        ----------
        x : ndarray of shape (height, width)
            One image, at least :attr:`size` pixels a side; the energy sums
            its valid positions.
        sigma : float
            Noise level on the [0, 1] scale.
        table : tuple, default=None
            :meth:`score_table`'s result at ``sigma``, to reuse; None: made
            here.

        Returns
        -------
        dE_dx : ndarray of shape (height, width)
            In :attr:`dtype`.
        """
        table, b = table or self.score_table(sigma)
        x = np.asarray(x, dtype=self.dtype)
        W = self.filters
        return field_pass(x, self.size, (W / b[:, None]).astype(self.dtype),
                          _interpolator(table), W)

    def score_balance(self, x, sigma):
        r"""The score-matching identity at level ``sigma``, summed over pixels.

        For the density :math:`p_\sigma = e^{-E(\cdot; \sigma)} / Z` of
        images with noise of level :math:`\sigma`, integration by parts gives
        :math:`\mathbb{E}\,\lVert \nabla E \rVert^2 = \mathbb{E}\, \Delta E`
        (Hyvarinen 2005).  Over the many pixels of one image the two sides
        agree at the image's own noise level, and the ratio falls as the
        assumed level grows past it (the model's curvature drops as
        :math:`1/\sigma^2`), which makes it a noise estimator.

        Parameters
        ----------
        x : ndarray of shape (n, height, width)
            Noisy images on the [0, 1] scale, with the same noise level;
            the sums run over their pixels at least ``size - 1`` from the
            border.
        sigma : float
            The assumed noise level.

        Returns
        -------
        balance : float
            :math:`(A - B) / (A + |B|)` with :math:`A = \sum_j
            (\partial_j E)^2` and :math:`B = \sum_j \partial_j^2 E`: in
            (-1, 1], zero where the identity holds, positive where the
            assumed level is too low.
        """
        k = self.size
        (t1, t2), b = self.score_table(sigma, 1025, derivative=(1, 2))
        W = self.filters
        analysis = (W / b[:, None]).astype(self.dtype)
        first, second = _interpolator(t1), _interpolator(t2)
        a_sum = b_sum = 0.0
        for image in np.asarray(x, dtype=self.dtype):
            inner = (slice(k - 1, image.shape[0] - k + 1),
                     slice(k - 1, image.shape[1] - k + 1))
            # the tables hold alpha
            grad = field_pass(image, k, analysis, first, W)[inner]
            lap = field_pass(image, k, analysis, second, W * W)[inner]
            a_sum += np.sum(grad ** 2, dtype=np.float64)
            b_sum += np.sum(lap, dtype=np.float64)
        return float((a_sum - b_sum) / (a_sum + abs(b_sum)))
