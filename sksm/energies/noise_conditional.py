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
from .conv import col2im, im2col

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


def _lookup(z, table, b):
    """Interpolate the tables of :meth:`NoiseConditionalField.score_table`
    linearly at the responses ``z`` of shape (..., n_experts)."""
    n_experts, n_points = table.shape
    u = np.abs(z)
    u += b.astype(z.dtype)
    np.divide(z, u, out=u)                            # in (-1, 1)
    u += 1
    u *= z.dtype.type((n_points - 1) / 2)
    np.clip(u, 0, n_points - 1.001, out=u)
    i = u.astype(np.intp)
    u -= i                                            # the fraction
    i += np.arange(n_experts) * n_points
    flat = table.ravel()
    lo = flat.take(i)
    g = flat.take(i + 1)
    g -= lo
    g *= u
    g += lo
    return g


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
        r"""The experts' first derivatives on a grid, for interpolation.

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
        :meth:`score_table`, so the cost is two passes of the filters and a
        table look-up per response, whatever the number of scales.

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
        _, z = self.responses(x[None])
        g = _lookup(z[0], table, b)
        return col2im((g @ self.filters)[None], self.size, x.shape)[0]

    def score_balance(self, x, sigma, z=None):
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
        z : ndarray, default=None
            The responses of ``x`` (:meth:`responses`), to reuse.

        Returns
        -------
        balance : float
            :math:`(A - B) / (A + |B|)` with :math:`A = \sum_j
            (\partial_j E)^2` and :math:`B = \sum_j \partial_j^2 E`: in
            (-1, 1], zero where the identity holds, positive where the
            assumed level is too low.
        """
        k = self.size
        if z is None:
            z = self.responses(x)[1]
        (t1, t2), b = self.score_table(sigma, 1025, derivative=(1, 2))
        g1, g2 = _lookup(z, t1, b), _lookup(z, t2, b)
        W = self.filters
        shape = x.shape[1:]
        grad = col2im(g1 @ W, k, shape)        # the tables hold alpha
        lap = col2im(g2 @ (W * W), k, shape)
        inner = (slice(None), slice(k - 1, shape[0] - k + 1),
                 slice(k - 1, shape[1] - k + 1))
        a = np.sum(grad[inner] ** 2, dtype=np.float64)
        b = np.sum(lap[inner], dtype=np.float64)
        return float((a - b) / (a + abs(b)))
