r"""Contrastive divergence (Hinton 2002) for continuous energies."""

import numpy as np

from .._parallel import map_chunks
from .rsm import chunk_rows

__all__ = ["contrastive_divergence"]


def contrastive_divergence(network, X, X_negative, chunk_size=None,
                           n_threads=None):
    r"""The contrastive-divergence surrogate and its gradient.

    .. math::

        J = \frac{1}{T} \sum_t E(x_t) - \frac{1}{S} \sum_s E(\tilde x_s),
        \qquad
        \nabla_\theta J = E_{\text{data}}[\nabla_\theta E]
                        - E_{\text{samples}}[\nabla_\theta E]

    with the negative samples :math:`\tilde x_s` held fixed.  When they are
    drawn from the model, :math:`\nabla_\theta J` is the gradient of the
    negative log-likelihood (its second term is
    :math:`\nabla_\theta \log Z`); contrastive divergence draws them by a few
    MCMC steps started at the data (CD-k), persistent CD by chains kept from
    one update to the next.  ``J`` itself is not a loss to line-search on:
    use it with a stochastic-gradient solver.

    Parameters
    ----------
    network : EnergyNetwork
    X : ndarray of shape (n_samples, ...)
        Data.  Not modified.
    X_negative : ndarray of shape (n_negative, ...)
        Negative samples.
    chunk_size, n_threads : int, default=None
        As in :func:`~sksm.objectives.regularized_score_matching`.

    Returns
    -------
    loss : float
    grads : list of dict

    References
    ----------
    G. E. Hinton. Training products of experts by minimizing contrastive
    divergence. Neural Computation 14(8), 2002.
    T. Tieleman. Training restricted Boltzmann machines using approximations
    to the likelihood gradient. ICML 2008.
    """
    both = np.concatenate([X, X_negative])
    n, n_neg = len(X), len(X_negative)
    sign = np.concatenate([np.full(n, 1.0 / n), np.full(n_neg, -1.0 / n_neg)])

    def chunk_loss(net, rows):
        E = net.forward(both[rows], energy=True, order=1)
        c = sign[rows].astype(both.dtype)
        net.accumulate_energy_gradients(c)
        return float(np.dot(c, E))

    loss = map_chunks(network, np.arange(len(both)), chunk_loss,
                      chunk_size or chunk_rows(X), n_threads)
    return loss, network.grads
