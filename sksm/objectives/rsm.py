r"""Regularized score matching (Kingma & LeCun 2010, eq. 7)."""

import numpy as np

__all__ = ["regularized_score_matching", "default_chunk_size"]


def default_chunk_size(n_features, n_hidden, itemsize):
    """Rows per chunk so that the temporaries of one chunk stay near 48 MB."""
    per_row = 14 * max(n_features, n_hidden) * itemsize
    return int(max(256, 48_000_000 // per_row))


def regularized_score_matching(network, X, reg_lambda, chunk_size=None):
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
        Rows evaluated at once, to bound memory; None chooses from the sizes.

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
    if chunk_size is None:
        n_hidden = max(getattr(l, "weight", np.empty((1, 1))).shape[0]
                       for l in network.layers)
        chunk_size = default_chunk_size(X.shape[1], n_hidden, X.dtype.itemsize)
    network.zero_grad()
    scale = X.dtype.type(1.0 / n_samples)
    lam2 = X.dtype.type(2.0 * reg_lambda)
    loss = 0.0
    for start in range(0, n_samples, chunk_size):
        chunk = X[start:start + chunk_size]
        _, d, d2 = network.input_derivatives(chunk)
        loss += 0.5 * float(np.vdot(d, d)) - float(d2.sum(dtype=np.float64))
        if reg_lambda:
            loss += reg_lambda * float(np.vdot(d2, d2))
        # dJ/d(delta) = delta / T,  dJ/d(delta') = (2 lambda delta' - 1) / T
        d *= scale
        d2 *= lam2
        d2 -= 1
        d2 *= scale
        network.accumulate_sm_gradients(d, d2)
    return loss / n_samples, network.grads
