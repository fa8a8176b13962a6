r"""Denoising score matching of a noise-conditional energy over a range of noise
levels at once."""

from numbers import Real

import numpy as np

from ..energies.conv import col2im, im2col
from ._weights import row_coefficients
from .base import Objective

__all__ = ["NoiseConditionalDSM", "noise_conditional_dsm"]


def noise_conditional_dsm(field, X, noise, sigma, sample_weight=None,
                          margin=None):
    r"""Denoising score-matching loss of :math:`E(x; \sigma)` and its gradient.

    Image :math:`x_t` is corrupted to :math:`\tilde x_t = x_t + \sigma_t
    \epsilon_t`, and the energy at *its own* noise level is asked for the
    score of the corruption:

    .. math::

        J = \frac{1}{T} \sum_t \frac{1}{2 |\Omega|} \sum_{j \in \Omega}
            \left(\sigma_t \partial_j E(\tilde x_t; \sigma_t)
            - \epsilon_{tj}\right)^2
          = \frac{1}{T} \sum_t \frac{\lVert \hat x_t - x_t \rVert_\Omega^2}
            {2 |\Omega| \sigma_t^2},

    Vincent's (2011) loss weighted by :math:`\sigma_t^2` (Song & Ermon
    2019), so that every level counts; it is the mean squared error of the
    empirical-Bayes denoiser :math:`\hat x = \tilde x - \sigma^2 \nabla E`
    relative to the noise variance.  :math:`\Omega` holds the pixels at
    least ``margin`` from the border; by default those every filter
    position covers, as in an image padded for restoration.

    Parameters
    ----------
    field : NoiseConditionalField
        The energy, at the parameters to evaluate.
    X : ndarray of shape (n_images, height, width)
        Clean images on the [0, 1] scale, more than ``2 margin`` pixels a
        side.  Not modified.
    noise : ndarray of the shape of ``X``
        Standard normal draws :math:`\epsilon_t`.
    sigma : ndarray of shape (n_images,)
        Noise level :math:`\sigma_t` of every image.
    sample_weight : ndarray of shape (n_images,), default=None
        Non-negative weights: ``J`` is then their weighted mean.
    margin : int, default=None
        Pixels closer than this to the border are left out of the loss;
        None: ``size - 1``.  0 counts every pixel (with one position per
        image, a Product of Experts).  Non-negative, below half the
        smaller side of the images.

    Returns
    -------
    loss : float
        ``J``.
    gradient : ndarray of shape (field.n_params,)
        Its gradient with respect to ``field.get_params()``, in float64.

    Raises
    ------
    ValueError
        If ``margin`` (or ``size - 1`` for None) leaves no pixel of the
        images in the loss, or is negative.

    References
    ----------
    P. Vincent. A connection between score matching and denoising
    autoencoders. Neural Computation 23(7), 2011.
    M. Zach, E. Kobler, A. Chambolle and T. Pock. Product of Gaussian mixture
    diffusion models. J. Math. Imaging Vis., 2024.
    """
    n, height, width = X.shape
    k = field.size
    m = k - 1 if margin is None else int(margin)
    if not 0 <= 2 * m < min(height, width):
        given = (repr(margin) if margin is not None
                 else f"None (size - 1 = {m})")
        raise ValueError(
            "margin must be a non-negative number of pixels below half the "
            f"smaller side of the images, {min(height, width)}, so that some "
            f"pixel is in the loss; got {given} for images of shape "
            f"{(height, width)}.")
    dt = field.dtype.type
    coef = row_coefficients(sample_weight, n)
    coef = (np.full(n, 1.0 / n) if coef is None else coef).astype(field.dtype)
    s = np.asarray(sigma, dtype=field.dtype).reshape(-1, 1, 1)
    noisy = (X + s * noise).astype(field.dtype)
    W, alpha = field.filters, field.alpha
    cols, z, (_, g1, g2, _, r, a), var = field.energy_terms(noisy, sigma,
                                                            order=2)
    grad = col2im((g1 * alpha) @ W, k, (height, width))
    res = s * grad - noise
    inside = np.zeros((height, width), dtype=field.dtype)
    inside[m:height - m, m:width - m] = 1
    per = coef.reshape(-1, 1, 1) * inside / dt(inside.sum())
    loss = 0.5 * float(np.sum(res * res * per, dtype=np.float64))
    R = s * res * per                              # dJ / d(grad E)
    R_cols = im2col(R, k)
    c = R_cols @ W.T                               # responses of R
    d_log_alpha = np.einsum("npk,npk->k", g1, c) * alpha
    c *= alpha
    d_W = np.einsum("npk,npq->kq", g1 * alpha, R_cols)
    d_W += np.einsum("npk,npq->kq", c * g2, cols)
    # through the diffused variances s_m^2 + sigma^2 |w|^2:
    # d g1 / d t = Cov_r(a, b) - <a / v>, b = (a^2 - 1/v) / 2
    b = 0.5 * (a * a - 1 / var)
    ra = r * a
    e_b = np.einsum("...m,...m->...", r, b)
    dg1_dt = (np.einsum("...m,...m->...", ra, b) - g1 * e_b
              - np.einsum("...m,...m->...", ra, np.broadcast_to(1 / var,
                                                               r.shape)))
    t_coef = np.einsum("npk,n->k", c * dg1_dt, (s * s).ravel())
    d_W += 2 * W * t_coef[:, None]
    # softmax logits: d g1 / d l_m = r_m (a_m - g1)
    d_logits = np.einsum("npk,npkm->km", c, ra - r * g1[..., None])
    d_V = d_W - d_W.mean(axis=1, keepdims=True)    # through w = v - mean(v)
    return loss, np.concatenate([d_V.ravel(), d_logits.ravel(),
                                 d_log_alpha]).astype(np.float64)


class NoiseConditionalDSM(Objective):
    r"""Denoising score matching over a range of noise levels at once.

    Every training image is corrupted at its own noise level, drawn
    log-uniformly from ``sigma_range``, and the noise-conditional energy at
    that level is fitted to the corruption's score, weighted by
    :math:`\sigma^2` so that every level counts
    (:func:`noise_conditional_dsm`).  One model is then the prior at every
    level of the range.

    Parameters
    ----------
    sigma_range : tuple of (float, float), default=(1/255, 60/255)
        Smallest and largest noise standard deviation, on the [0, 1] scale
        of the pixels.

    References
    ----------
    Y. Song and S. Ermon. Generative modeling by estimating gradients of the
    data distribution. NeurIPS 2019.
    """

    _parameter_constraints = {"sigma_range": [tuple, list]}

    def __init__(self, sigma_range=(1 / 255, 60 / 255)):
        self.sigma_range = sigma_range

    def check(self, reg_lambda=None):
        """Validate the settings; return ``(low, high)`` as floats.

        Parameters
        ----------
        reg_lambda : None
            Ignored: the noise levels are the objective's own.

        Returns
        -------
        low, high : float
            The range.

        Raises
        ------
        ValueError
            Unless ``sigma_range`` is two positive finite numbers, the first
            at most the second.
        """
        rng = self.sigma_range
        ok = (isinstance(rng, (tuple, list)) and len(rng) == 2
              and all(isinstance(v, Real) and not isinstance(v, bool)
                      for v in rng))
        if ok:
            low, high = float(rng[0]), float(rng[1])
            ok = np.isfinite(high) and 0 < low <= high
        if not ok:
            raise ValueError(
                "sigma_range must be (low, high) with 0 < low <= high, noise "
                f"standard deviations on the [0, 1] scale; got {rng!r}.")
        return low, high

    def draw(self, batch, rng, **kwargs):
        """Noise and levels for a minibatch of clean images.

        Parameters
        ----------
        batch : ndarray of shape (n_images, height, width)
            Clean images.
        rng : numpy.random.Generator
            The source of the draws.
        **kwargs
            What other objectives' ``draw`` receive; ignored.

        Returns
        -------
        noise : ndarray of the shape and dtype of ``batch``
            Standard normal draws.
        sigma : ndarray of shape (n_images,)
            Levels, log-uniform in ``sigma_range``.
        """
        low, high = self.check()
        sigma = np.exp(rng.uniform(np.log(low), np.log(high), len(batch)))
        noise = rng.standard_normal(batch.shape).astype(batch.dtype)
        return noise, sigma

    def value_and_grad(self, field, batch, drawn, sample_weight=None):
        """The loss of :func:`noise_conditional_dsm` on a minibatch.

        Parameters
        ----------
        field : NoiseConditionalField
            The energy at the parameters to evaluate.
        batch : ndarray of shape (n_images, height, width)
            Clean images.
        drawn : tuple
            :meth:`draw`'s ``(noise, sigma)`` for ``batch``.
        sample_weight : ndarray of shape (n_images,), default=None
            Weights of the images.

        Returns
        -------
        loss : float
            The loss.
        gradient : ndarray of shape (field.n_params,)
            Its gradient.
        """
        noise, sigma = drawn
        return noise_conditional_dsm(field, batch, noise, sigma,
                                     sample_weight=sample_weight)
