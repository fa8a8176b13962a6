r"""Regularized score matching (Kingma & LeCun 2010, eq. 7)."""

import numpy as np
from sklearn.utils._param_validation import StrOptions

from .._parallel import map_chunks
from .._reductions import chunk_rows
from ._weights import per_row, row_coefficients
from .base import Objective

__all__ = ["RegularizedScoreMatching", "full_regularized_score_matching",
           "regularized_score_matching"]


def regularized_score_matching(network, X, reg_lambda, chunk_size=None,
                               n_threads=None, sample_weight=None):
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
        The energy's layers, at the parameters to evaluate; the gradients
        are accumulated in them.
    X : ndarray of shape (n_samples, n_features)
        Not modified.
    reg_lambda : float
        Curvature penalty :math:`\lambda \ge 0`.
    chunk_size : int, default=None
        Rows evaluated at once (bounds memory); None: about 100,000 input
        values per chunk (512 rows of 196 features).
    n_threads : int, default=None
        Threads evaluating chunks in parallel; None uses as many as BLAS may.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative weights of the rows: ``J`` is then the weighted mean
        :math:`\sum_t w_t J_t / \sum_t w_t` of the rows' terms (integer
        weights give the loss of the rows repeated).  None: the plain mean.

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
    A. Hyvarinen. Estimation of non-normalized statistical models by score
    matching. JMLR 6, 2005.
    D. P. Kingma and Y. LeCun. Regularized estimation of image statistics by
    Score Matching. NIPS 2010.
    """
    n_samples = X.shape[0]
    coef = row_coefficients(sample_weight, n_samples)
    scale = X.dtype.type(1.0 / n_samples)
    lam2 = X.dtype.type(2.0 * reg_lambda)

    def chunk_loss(net, rows):
        part = slice(rows[0], rows[-1] + 1)
        _, d, d2 = net.input_derivatives(X[part])
        if coef is None:
            loss = 0.5 * float(np.vdot(d, d)) - float(
                d2.sum(dtype=np.float64))
            if reg_lambda:
                loss += reg_lambda * float(np.vdot(d2, d2))
            c = scale
        else:  # each row's term, times its coefficient w_t / sum(w)
            flat, flat2 = d.reshape(len(d), -1), d2.reshape(len(d2), -1)
            terms = (0.5 * np.einsum("ij,ij->i", flat, flat, dtype=np.float64)
                     - flat2.sum(axis=1, dtype=np.float64))
            if reg_lambda:
                terms += reg_lambda * np.einsum("ij,ij->i", flat2, flat2,
                                                dtype=np.float64)
            loss = float(np.dot(coef[part], terms))
            c = per_row(coef, part, d)
        # dJ/d(delta) = c delta,  dJ/d(delta') = c (2 lambda delta' - 1),
        # with c = 1 / T, or w_t / sum(w)
        d *= c
        d2 *= lam2
        d2 -= 1
        d2 *= c
        net.accumulate_sm_gradients(d, d2)
        return loss

    loss = map_chunks(network, np.arange(n_samples), chunk_loss,
                      chunk_size or chunk_rows(X), n_threads)
    return (loss / n_samples if coef is None else loss), network.grads


def full_regularized_score_matching(network, X, reg_lambda, chunk_size=None,
                                    n_threads=None, sample_weight=None):
    r"""Score matching with the full-Hessian regularizer (eq. 6) and its gradient.

    .. math::

        J = \frac{1}{T} \sum_{t} \left[ \sum_j
            \frac{1}{2} \left(\frac{\partial E(x_t)}{\partial x_j}\right)^2
            - \frac{\partial^2 E(x_t)}{\partial x_j^2}
            + \lambda \sum_{j,k}
              \left(\frac{\partial^2 E(x_t)}{\partial x_j \partial x_k}\right)^2
        \right]

    Kingma & LeCun (2010) derive it as score matching on data convolved with
    Gaussian noise of variance :math:`\sigma^2 = 2\lambda`, to first order;
    :func:`regularized_score_matching` keeps only the diagonal.  On Gaussian
    data with covariance :math:`\Sigma` and the energy
    :math:`\frac{1}{2} x^T A x` its minimiser is exactly
    :math:`A = (\Sigma + 2\lambda I)^{-1}`.

    The Hessian is :math:`W^T \operatorname{diag}(\delta') W` for the first
    (linear or convolutional) layer ``W`` and the Hessian diagonal
    :math:`\delta'` at its output: exact for one-layer energies (PoE, FoE),
    and for deeper ones the same diagonal approximation at the hidden layers
    as the diagonal loss.  Its squared norm costs ``O(n_experts^2)`` per
    sample for a PoE (``O(n_features^2)`` for the complete model), and for a
    FoE about ``(2 k - 1)^2 / 2`` products with (n_experts, n_experts)
    matrices per position: for 24 5x5 filters on 36x36 images an L-BFGS
    iteration took 10 times as long as with the diagonal loss
    (``benchmarks/bench_objectives.py``).  Use it on small inputs.

    Parameters
    ----------
    network : EnergyNetwork
        The energy's layers, at the parameters to evaluate; the gradients
        are accumulated in them.
        Its first layer must be a :class:`~sksm.energies.layers.FilterLayer`.
    X : ndarray of shape (n_samples, ...)
        Not modified.
    reg_lambda : float
        Curvature penalty :math:`\lambda \ge 0` of eq. 6.
    chunk_size, n_threads : int, default=None
        As in :func:`regularized_score_matching`.
    sample_weight : ndarray of shape (n_samples,), default=None
        As in :func:`regularized_score_matching`: the weighted mean.

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
        If the network's first layer is not linear, or ``sample_weight``
        does not hold one finite, non-negative weight per row, not all
        zero.
    """
    _filter_layer(network, "rsm_full")
    n_samples = X.shape[0]
    coef = row_coefficients(sample_weight, n_samples)
    scale = X.dtype.type(1.0 / n_samples)

    def chunk_loss(net, rows):
        part = slice(rows[0], rows[-1] + 1)
        _, d, d2 = net.input_derivatives(X[part])
        layer = net.layers[0]
        d2_o = layer.output_diagonal
        c = scale if coef is None else per_row(coef, part, d)
        if coef is None:
            loss = 0.5 * float(np.vdot(d, d)) - float(
                d2.sum(dtype=np.float64))
        else:
            flat, flat2 = d.reshape(len(d), -1), d2.reshape(len(d2), -1)
            loss = float(np.dot(coef[part], 0.5 * np.einsum(
                "ij,ij->i", flat, flat, dtype=np.float64)
                - flat2.sum(axis=1, dtype=np.float64)))
        b_first = None
        if reg_lambda and coef is None:
            Q, dQ = layer.hessian_sq_norm(d2_o, reg_lambda / n_samples)
            loss += reg_lambda * float(Q.sum(dtype=np.float64))
            b_first = dQ
            b_first *= X.dtype.type(reg_lambda / n_samples)
        elif reg_lambda:
            # the norm is quadratic in d2_o: the rows scaled by sqrt(c_t)
            # give c_t times their norms, and the weight gradient of the sum
            root = np.sqrt(per_row(coef, part, d2_o))
            Q, dQ = layer.hessian_sq_norm(d2_o * root, reg_lambda)
            loss += reg_lambda * float(Q.sum(dtype=np.float64))
            b_first = dQ
            b_first *= root * X.dtype.type(reg_lambda)
        d *= c
        d2[...] = -c
        net.accumulate_sm_gradients(d, d2, b_first=b_first)
        return loss

    loss = map_chunks(network, np.arange(n_samples), chunk_loss,
                      chunk_size or chunk_rows(X), n_threads)
    return (loss / n_samples if coef is None else loss), network.grads


def _filter_layer(network, name):
    layer = network.filter_layer
    if layer is None:
        raise ValueError(
            f"The objective {name!r} needs an energy whose first layer is "
            f"linear; got {type(network.layers[0]).__name__}.")
    return layer


class RegularizedScoreMatching(Objective):
    r"""Regularized score matching (Kingma & LeCun 2010, eq. 7 or eq. 6).

    .. math::

        J = \frac{1}{T} \sum_t \sum_j \left[
            \frac{1}{2} \left(\frac{\partial E}{\partial x_j}\right)^2
            - \frac{\partial^2 E}{\partial x_j^2}
            + \lambda \left(\frac{\partial^2 E}{\partial x_j^2}\right)^2
        \right]

    with :math:`\lambda` the estimator's ``reg_lambda``; ``hessian='full'``
    penalises every entry of the Hessian (eq. 6) instead of its diagonal.
    The string ``'rsm'`` stands for ``RegularizedScoreMatching()`` and
    ``'rsm_full'`` for ``RegularizedScoreMatching(hessian='full')``.

    Parameters
    ----------
    hessian : {'diagonal', 'full'}, default='diagonal'
        'diagonal' (eq. 7): the gradient costs ``O(number of weights)`` per
        sample (:func:`regularized_score_matching`).  'full' (eq. 6):
        ``O(n_experts ** 2)`` per sample, for small inputs only
        (:func:`full_regularized_score_matching`).

    References
    ----------
    D. P. Kingma and Y. LeCun. Regularized estimation of image statistics by
    score matching. NIPS 2010.
    """

    _parameter_constraints = {"hessian": [StrOptions({"diagonal", "full"})]}

    def __init__(self, hessian="diagonal"):
        self.hessian = hessian

    def value_and_grads(self, network, batch, drawn, *, reg_lambda,
                        n_threads, sample_weight=None):
        # eq. 7 (or eq. 6) on the batch at the estimator's reg_lambda
        function = (regularized_score_matching if self.hessian == "diagonal"
                    else full_regularized_score_matching)
        return function(network, batch, reg_lambda, n_threads=n_threads,
                        sample_weight=sample_weight)
