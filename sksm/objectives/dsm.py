r"""Denoising score matching (Vincent 2011)."""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Hidden, StrOptions

from .._parallel import map_chunks
from .._reductions import chunk_rows
from .._validation import Interval
from ._noise import noise_levels, training_noise_setting
from ._weights import per_row, row_coefficients
from .base import Objective

__all__ = ["DenoisingScoreMatching", "denoising_score_matching"]


def denoising_score_matching(network, X, noise, training_noise,
                             chunk_size=None, n_threads=None,
                             sample_weight=None):
    r"""Denoising score-matching loss and its weight gradient.

    Each sample :math:`x_t` is corrupted to :math:`\tilde x_t = x_t +
    \sigma_t \epsilon_t` and the model's score :math:`-\nabla E` at
    :math:`\tilde x_t` is matched to the score of the corruption,
    :math:`-(\tilde x_t - x_t)/\sigma_t^2 = -\epsilon_t/\sigma_t`:

    .. math::

        J = \frac{1}{T} \sum_t \frac{w_t}{2} \left\lVert
            \nabla E(\tilde x_t) - \frac{\epsilon_t}{\sigma_t}
        \right\rVert^2, \qquad
        w_t = \frac{\sigma_t^2}{\overline{\sigma^2}}.

    With one noise level :math:`w_t = 1` and this is Vincent's (2011)
    objective, equal up to a constant to explicit score matching on the data
    convolved with :math:`N(0, \sigma^2 I)`: it estimates the noisy density,
    so on Gaussian data with covariance :math:`\Sigma` and the energy
    :math:`\frac{1}{2} x^T A x` it recovers
    :math:`A = (\Sigma + \sigma^2 I)^{-1}`.  With several levels the terms are
    weighted by :math:`\sigma_t^2` (Song & Ermon 2019), normalised to average
    1.  Only first derivatives of the energy are needed.

    Parameters
    ----------
    network : EnergyNetwork
        The energy's layers, at the parameters to evaluate; the gradients
        are accumulated in them.
    X : ndarray of shape (n_samples, ...)
        Clean samples (a sample corrupted at several levels appears once per
        level).  Not modified.
    noise : ndarray of the shape of ``X``
        Standard normal draws :math:`\epsilon_t`.
    training_noise : float or ndarray of shape (n_samples,)
        Noise level :math:`\sigma_t` of every row (the standard deviation
        of the training noise).
    chunk_size, n_threads : int, default=None
        As in :func:`~sksm.objectives.regularized_score_matching`.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative weights of the rows: ``J`` is then the weighted mean
        of the rows' terms, and :math:`\overline{\sigma^2}` the weighted
        mean of their noise variances.  None: every row counts once.

    Returns
    -------
    loss : float
        The value of ``J`` above on ``X``, a mean over the samples
        (weighted by ``sample_weight``).
    grads : list of dict
        ``network.grads``: per layer, the gradient of each parameter.

    Raises
    ------
    ValueError
        If ``sample_weight`` does not hold one finite, non-negative weight
        per row, not all zero.

    References
    ----------
    P. Vincent. A connection between score matching and denoising
    autoencoders. Neural Computation 23(7), 2011.
    Y. Song and S. Ermon. Generative modeling by estimating gradients of the
    data distribution. NeurIPS 2019.
    """
    n_samples = X.shape[0]
    coef = row_coefficients(sample_weight, n_samples)
    sigma = np.broadcast_to(np.asarray(training_noise, dtype=np.float64),
                            (n_samples,))
    weight = sigma ** 2 / (np.mean(sigma ** 2) if coef is None
                           else np.dot(coef, sigma ** 2))
    extra = (1,) * (X.ndim - 1)

    def chunk_loss(net, rows):
        s = sigma[rows].reshape((-1,) + extra).astype(X.dtype)
        w = weight[rows].reshape((-1,) + extra).astype(X.dtype)
        eps = noise[rows]
        _, d, _ = net.input_derivatives(X[rows] + s * eps, second=False,
                                        order=2)
        d -= eps / s                          # residual r
        wd = w * d
        if coef is None:
            loss = 0.5 * float(np.vdot(wd, d))
            wd *= X.dtype.type(1.0 / n_samples)   # dJ/d(dE/dx) = w r / T
        else:  # each row's term times w_t / sum(w)
            loss = 0.5 * float(np.dot(coef[rows], np.einsum(
                "ij,ij->i", wd.reshape(len(wd), -1), d.reshape(len(d), -1),
                dtype=np.float64)))
            wd *= per_row(coef, rows, wd)
        net.accumulate_sm_gradients(wd, None)
        return loss

    loss = map_chunks(network, np.arange(n_samples), chunk_loss,
                      chunk_size or chunk_rows(X), n_threads)
    return (loss / n_samples if coef is None else loss), network.grads


class DenoisingScoreMatching(Objective):
    r"""Denoising score matching (Vincent 2011) at one or several noise levels.

    .. math::

        J = \frac{1}{T} \sum_t \frac{w_t}{2} \left\lVert
            \nabla E(x_t + \sigma_t \epsilon_t)
            - \frac{\epsilon_t}{\sigma_t} \right\rVert^2

    (see :func:`denoising_score_matching`).  The model learns the density of
    the data convolved with the noise.  ``'dsm'`` stands for
    ``DenoisingScoreMatching()``.

    Parameters
    ----------
    training_noise : float, array-like of float or 'auto', default='auto'
        Standard deviation of the training noise, in the units of the data
        the energy sees; several levels corrupt every sample once at each.
        'auto' is :math:`\sqrt{2 \lambda}` of the estimator's
        ``reg_lambda``, the noise that eq. 6 of Kingma & LeCun relates to it.
    noise_sigma : float, array-like of float or 'auto'
        Deprecated: the former name of ``training_noise``, renamed in 0.2
        and removed in 0.3.  When given, a fit warns and uses it.

    References
    ----------
    P. Vincent. A connection between score matching and denoising
    autoencoders. Neural Computation 23(7), 2011.
    """

    _parameter_constraints = {
        "training_noise": [Interval(Real, 0, None, closed="neither"),
                           "array-like", StrOptions({"auto"})],
        "noise_sigma": [Interval(Real, 0, None, closed="neither"),
                        "array-like", StrOptions({"auto"}),
                        Hidden(StrOptions({"deprecated"}))],
    }

    def __init__(self, training_noise="auto", *, noise_sigma="deprecated"):
        self.training_noise = training_noise
        self.noise_sigma = noise_sigma

    def _levels(self, reg_lambda, warn=False):
        name, noise = training_noise_setting(self, warn)
        return noise_levels(noise, reg_lambda, type(self).__name__,
                            name=name)

    def check(self, reg_lambda):
        super().check(reg_lambda)
        self._levels(reg_lambda, warn=True)

    def draw(self, batch, rng, *, energy, reg_lambda, state):
        # every sample once per level, with its standard normal noise
        sigmas = self._levels(reg_lambda)
        clean = np.concatenate([batch] * len(sigmas))
        sigma = np.repeat(sigmas, len(batch))
        noise = rng.standard_normal(clean.shape).astype(batch.dtype)
        return clean, noise, sigma

    def value_and_grads(self, network, batch, drawn, *, reg_lambda,
                        n_threads, sample_weight=None):
        clean, noise, sigma = drawn
        if sample_weight is not None:  # every sample once per level
            sample_weight = np.tile(sample_weight, len(clean) // len(batch))
        return denoising_score_matching(network, clean, noise, sigma,
                                        n_threads=n_threads,
                                        sample_weight=sample_weight)
