r"""Regularized score matching (Kingma & LeCun 2010, eq. 7)."""

import numpy as np

from .._parallel import map_chunks

__all__ = ["regularized_score_matching", "chunk_rows"]

#: Input values per chunk: small enough for the elementwise passes to stay in
#: cache, large enough for efficient matrix products; 512 rows of 196 pixels
#: measured best (benchmarks/bench_loss.py).
CHUNK_ELEMENTS = 512 * 196


def chunk_rows(X):
    """Rows of ``X`` per chunk (images count as rows of all their pixels)."""
    return max(1, CHUNK_ELEMENTS // int(np.prod(X.shape[1:])))


def regularized_score_matching(network, X, reg_lambda, chunk_size=None,
                               n_threads=None):
    r"""Regularized score-matching loss and its weight gradient.

    .. math::

        J = \frac{1}{T} \sum_{t=1}^{T} \sum_{j} \left[
            \frac{1}{2} \left(\frac{\partial E(x_t)}{\partial x_j}\right)^2
            - \frac{\partial^2 E(x_t)}{\partial x_j^2}
            + \lambda \left(\frac{\partial^2 E(x_t)}{\partial x_j^2}\right)^2
        \right]

    With :math:`\lambda = 0` this is Hyvarinen's (2005) sample score-matching
    loss; the curvature penalty approximates score matching on the data
    convolved with Gaussian noise of variance about :math:`2\lambda`
    (Kingma & LeCun 2010, section 2.2).  The derivatives come from the
    network's backward pass and the gradient from the extended double
    backpropagation (Algorithm 1), in ``O(number of weights)`` per sample.

    Parameters
    ----------
    network : EnergyNetwork
    X : ndarray of shape (n_samples, n_features)
        Not modified.
    reg_lambda : float
        Curvature penalty :math:`\lambda \ge 0`.
    chunk_size : int, default=None
        Rows evaluated at once (bounds memory); None: about 100,000 input
        values per chunk (512 rows of 196 features).
    n_threads : int, default=None
        Threads evaluating chunks in parallel; None uses as many as BLAS may.

    Returns
    -------
    loss : float
    grads : list of dict
        ``network.grads``: per layer, the gradient of each parameter.

    References
    ----------
    A. Hyvarinen. Estimation of non-normalized statistical models by score
    matching. JMLR 6, 2005.
    D. P. Kingma and Y. LeCun. Regularized estimation of image statistics by
    Score Matching. NIPS 2010.
    """
    n_samples = X.shape[0]
    scale = X.dtype.type(1.0 / n_samples)
    lam2 = X.dtype.type(2.0 * reg_lambda)

    def chunk_loss(net, chunk):
        _, d, d2 = net.input_derivatives(chunk)
        loss = 0.5 * float(np.vdot(d, d)) - float(d2.sum(dtype=np.float64))
        if reg_lambda:
            loss += reg_lambda * float(np.vdot(d2, d2))
        # dJ/d(delta) = delta / T,  dJ/d(delta') = (2 lambda delta' - 1) / T
        d *= scale
        d2 *= lam2
        d2 -= 1
        d2 *= scale
        net.accumulate_sm_gradients(d, d2)
        return loss

    loss = map_chunks(network, X, chunk_loss, chunk_size or chunk_rows(X),
                      n_threads)
    return loss / n_samples, network.grads
