r"""Sliced score matching (Song, Garg, Shi & Ermon 2019)."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Hidden, StrOptions

from .._parallel import map_chunks
from .._reductions import chunk_rows
from .._validation import Interval
from ._noise import noise_levels, training_noise_setting
from ._weights import per_row, row_coefficients
from .base import Objective
from .rsm import _filter_layer

__all__ = ["SlicedScoreMatching", "sliced_score_matching"]


def sliced_score_matching(network, X, projections, chunk_size=None,
                          n_threads=None, sample_weight=None):
    r"""Sliced score-matching loss (variance-reduced form) and its gradient.

    .. math::

        J = \frac{1}{T} \sum_t \left[
            \frac{1}{2} \lVert \nabla E(x_t) \rVert^2
            - \frac{1}{K} \sum_{k=1}^{K} v_{tk}^T \nabla^2 E(x_t)\, v_{tk}
        \right]

    The random directions :math:`v_{tk}` (Gaussian or Rademacher) have
    :math:`E[v v^T] = I`, so :math:`E[v^T H v] = \operatorname{tr} H` and
    :math:`J` is an unbiased estimate of the score-matching loss
    (:math:`\frac{1}{2} \lVert \nabla E \rVert^2 - \operatorname{tr} H`)
    with the trace computed by projections.  The first term is the exact expectation
    of :math:`\frac{1}{2}(v^T \nabla E)^2`, which is the variance-reduced
    form (SSM-VR).  :math:`v^T H v = \sum_i \delta'_i (W v)_i^2` for the first
    (linear or convolutional) layer ``W``: exact for one-layer energies and
    for deeper ones the diagonal approximation at the hidden layers.  It costs
    one extra pass through the first layer per direction, and no Hessian
    diagonal at the input.

    Parameters
    ----------
    network : EnergyNetwork
        The energy's layers, at the parameters to evaluate; the gradients
        are accumulated in them.
        Its first layer must be a :class:`~sksm.energies.layers.FilterLayer`.
    X : ndarray of shape (n_samples, ...)
        Not modified.
    projections : ndarray of shape (n_samples, n_projections, ...)
        The directions :math:`v_{tk}`, each of the shape of a sample.
    chunk_size, n_threads : int, default=None
        As in :func:`~sksm.objectives.regularized_score_matching`.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative weights of the rows: ``J`` is then the weighted mean
        of the rows' terms.  None: every row counts once.

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

    References
    ----------
    Y. Song, S. Garg, J. Shi and S. Ermon. Sliced score matching: a scalable
    approach to density and score estimation. UAI 2019.
    """
    _filter_layer(network, "ssm")
    n_samples, n_proj = projections.shape[:2]
    weights = row_coefficients(sample_weight, n_samples)
    scale = X.dtype.type(1.0 / n_samples)
    coef = X.dtype.type(1.0 / (n_samples * n_proj))

    def chunk_loss(net, rows):
        _, d, _ = net.input_derivatives(X[rows], input_diagonal=False)
        layer = net.layers[0]
        d2_o = layer.output_diagonal
        if weights is None:
            c, c_proj = scale, coef
            loss = 0.5 * float(np.vdot(d, d))
        else:  # each row's term times w_t / sum(w)
            c = per_row(weights, rows, d)
            c_proj = per_row(weights, rows, d2_o) / d2_o.dtype.type(n_proj)
            flat = d.reshape(len(d), -1)
            loss = 0.5 * float(np.dot(weights[rows], np.einsum(
                "ij,ij->i", flat, flat, dtype=np.float64)))
        b_first = np.zeros_like(d2_o)
        for k in range(n_proj):
            v = projections[rows, k]
            P = layer.project(v)
            P2 = P * P
            if weights is None:
                loss -= float(np.vdot(d2_o, P2)) / n_proj
            else:
                loss -= float(np.dot(weights[rows], (d2_o * P2).reshape(
                    len(P2), -1).sum(axis=1, dtype=np.float64))) / n_proj
            b_first -= P2
            P *= d2_o
            P *= -2 * c_proj                  # dJ/d(W v)
            layer.add_projection_grad(P, v)
        b_first *= c_proj
        d *= c
        net.accumulate_sm_gradients(d, None, b_first=b_first)
        return loss

    loss = map_chunks(network, np.arange(n_samples), chunk_loss,
                      chunk_size or chunk_rows(X), n_threads)
    return (loss / n_samples if weights is None else loss), network.grads


class SlicedScoreMatching(Objective):
    r"""Sliced score matching (Song, Garg, Shi & Ermon 2019), variance-reduced.

    .. math::

        J = \frac{1}{T} \sum_t \left[
            \frac{1}{2} \lVert \nabla E(x_t) \rVert^2
            - \frac{1}{K} \sum_k v_{tk}^T \nabla^2 E(x_t)\, v_{tk} \right]

    (see :func:`sliced_score_matching`), on the data perturbed by Gaussian
    noise of standard deviation ``training_noise`` when it is positive (the
    energy then models the smoothed density, which quantised pixels need).
    ``'ssm'`` stands for ``SlicedScoreMatching()``.

    Parameters
    ----------
    n_projections : int, default=1
        Random directions :math:`K` per sample.
    projection : {'rademacher', 'gaussian'}, default='rademacher'
        Distribution of the directions (Rademacher has the lower variance).
    training_noise : float or 'auto', default='auto'
        The standard deviation of the training noise: one level, 0 for none
        (plain sliced score matching); 'auto' is :math:`\sqrt{2 \lambda}`
        of the estimator's ``reg_lambda`` (so none at ``reg_lambda=0``).
    noise_sigma : float or 'auto'
        Deprecated: the former name of ``training_noise``, renamed in 0.2
        and removed in 0.3.  When given, a fit warns and uses it.

    References
    ----------
    Y. Song, S. Garg, J. Shi and S. Ermon. Sliced score matching: a scalable
    approach to density and score estimation. UAI 2019.
    """

    _parameter_constraints = {
        "n_projections": [Interval(Integral, 1, None, closed="left")],
        "projection": [StrOptions({"rademacher", "gaussian"})],
        "training_noise": [Interval(Real, 0, None, closed="left"),
                           StrOptions({"auto"})],
        "noise_sigma": [Interval(Real, 0, None, closed="left"),
                        StrOptions({"auto"}),
                        Hidden(StrOptions({"deprecated"}))],
    }

    def __init__(self, n_projections=1, projection="rademacher",
                 training_noise="auto", *, noise_sigma="deprecated"):
        self.n_projections = n_projections
        self.projection = projection
        self.training_noise = training_noise
        self.noise_sigma = noise_sigma

    def _sigma(self, reg_lambda, warn=False):
        name, noise = training_noise_setting(self, warn)
        return float(noise_levels(noise, reg_lambda, type(self).__name__,
                                  single=True, name=name)[0])

    def check(self, reg_lambda):
        super().check(reg_lambda)
        self._sigma(reg_lambda, warn=True)

    def draw(self, batch, rng, *, energy, reg_lambda, state):
        # the directions, and the perturbed batch
        shape = (len(batch), self.n_projections) + batch.shape[1:]
        if self.projection == "gaussian":
            v = rng.standard_normal(shape)
        else:
            v = rng.choice(np.array([-1.0, 1.0]), size=shape)
        sigma = self._sigma(reg_lambda)
        if sigma > 0:
            noise = rng.standard_normal(batch.shape)
            batch = batch + (sigma * noise).astype(batch.dtype)
        return batch, v.astype(batch.dtype)

    def value_and_grads(self, network, batch, drawn, *, reg_lambda,
                        n_threads, sample_weight=None):
        perturbed, v = drawn
        return sliced_score_matching(network, perturbed, v,
                                     n_threads=n_threads,
                                     sample_weight=sample_weight)
