r"""Denoising score matching (Vincent 2011)."""

import numpy as np

from .._parallel import map_chunks
from .rsm import chunk_rows

__all__ = ["denoising_score_matching"]


def denoising_score_matching(network, X, noise, noise_sigma, chunk_size=None,
                             n_threads=None):
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
    X : ndarray of shape (n_samples, ...)
        Clean samples (a sample corrupted at several levels appears once per
        level).  Not modified.
    noise : ndarray of the shape of ``X``
        Standard normal draws :math:`\epsilon_t`.
    noise_sigma : float or ndarray of shape (n_samples,)
        Noise level :math:`\sigma_t` of every row.
    chunk_size, n_threads : int, default=None
        As in :func:`~sksm.objectives.regularized_score_matching`.

    Returns
    -------
    loss : float
    grads : list of dict

    References
    ----------
    P. Vincent. A connection between score matching and denoising
    autoencoders. Neural Computation 23(7), 2011.
    Y. Song and S. Ermon. Generative modeling by estimating gradients of the
    data distribution. NeurIPS 2019.
    """
    n_samples = X.shape[0]
    sigma = np.broadcast_to(np.asarray(noise_sigma, dtype=np.float64),
                            (n_samples,))
    weight = sigma ** 2 / np.mean(sigma ** 2)
    extra = (1,) * (X.ndim - 1)

    def chunk_loss(net, rows):
        s = sigma[rows].reshape((-1,) + extra).astype(X.dtype)
        w = weight[rows].reshape((-1,) + extra).astype(X.dtype)
        eps = noise[rows]
        _, d, _ = net.input_derivatives(X[rows] + s * eps, second=False,
                                        order=2)
        d -= eps / s                          # residual r
        wd = w * d
        loss = 0.5 * float(np.vdot(wd, d))
        wd *= X.dtype.type(1.0 / n_samples)   # dJ/d(dE/dx) = w r / T
        net.accumulate_sm_gradients(wd, None)
        return loss

    loss = map_chunks(network, np.arange(n_samples), chunk_loss,
                      chunk_size or chunk_rows(X), n_threads)
    return loss / n_samples, network.grads
