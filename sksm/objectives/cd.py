r"""Contrastive divergence (Hinton 2002) for continuous energies."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import StrOptions

from .._parallel import map_chunks
from .._reductions import chunk_rows
from .._validation import Interval
from ..sampling import TARGET_ACCEPT, run_mcmc
from ._weights import row_coefficients
from .base import Objective

__all__ = ["ContrastiveDivergence", "contrastive_divergence"]


def contrastive_divergence(network, X, X_negative, chunk_size=None,
                           n_threads=None, sample_weight=None,
                           negative_weight=None):
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
        The energy's layers, at the parameters to evaluate; the gradients
        are accumulated in them.
    X : ndarray of shape (n_samples, ...)
        Data.  Not modified.
    X_negative : ndarray of shape (n_negative, ...)
        Negative samples.
    chunk_size, n_threads : int, default=None
        As in :func:`~sksm.objectives.regularized_score_matching`.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative weights of the rows of ``X``: the first mean is
        weighted.  None: every row counts once.
    negative_weight : ndarray of shape (n_negative,), default=None
        The same for the negative samples (for CD-k, whose chains start at
        the rows of ``X``, the weights of those rows).

    Returns
    -------
    loss : float
        The value of ``J`` above on ``X``, a mean over the samples
        (weighted by ``sample_weight`` and ``negative_weight``).
    grads : list of dict
        ``network.grads``: per layer, the gradient of each parameter.

    Raises
    ------
    ValueError
        If a weight vector does not hold one finite, non-negative weight
        per row, not all zero.

    References
    ----------
    G. E. Hinton. Training products of experts by minimizing contrastive
    divergence. Neural Computation 14(8), 2002.
    T. Tieleman. Training restricted Boltzmann machines using approximations
    to the likelihood gradient. ICML 2008.
    """
    both = np.concatenate([X, X_negative])
    n, n_neg = len(X), len(X_negative)
    positive = row_coefficients(sample_weight, n)
    negative = row_coefficients(negative_weight, n_neg)
    sign = np.concatenate([
        np.full(n, 1.0 / n) if positive is None else positive,
        np.full(n_neg, -1.0 / n_neg) if negative is None else -negative])

    def chunk_loss(net, rows):
        E = net.forward(both[rows], energy=True, order=1)
        c = sign[rows].astype(both.dtype)
        net.accumulate_energy_gradients(c)
        return float(np.dot(c, E))

    loss = map_chunks(network, np.arange(len(both)), chunk_loss,
                      chunk_size or chunk_rows(X), n_threads)
    return loss, network.grads


class ContrastiveDivergence(Objective):
    r"""Contrastive divergence (Hinton 2002) or persistent CD (Tieleman 2008).

    .. math::

        \nabla_\theta J = E_{\text{data}}[\nabla_\theta E]
                        - E_{\text{samples}}[\nabla_\theta E]

    (see :func:`contrastive_divergence`), the negative samples drawn by
    ``n_mcmc_steps`` transitions of :func:`~sksm.sampling.run_mcmc` from the
    data or, with ``persistent``, from chains kept between updates.  The
    step size starts where :func:`~sksm.sampling.run_mcmc` finds it and
    then follows the acceptance rate, update by update.  Its gradient is
    stochastic, with no loss to line-search on: it needs
    Adam (``solver='adam'``, which ``solver='auto'`` chooses) and runs its
    ``max_iter`` epochs.  It does not use
    ``reg_lambda``.  ``'cd'`` stands for ``ContrastiveDivergence()``.

    Parameters
    ----------
    n_mcmc_steps : int, default=1
        MCMC transitions per negative sample (CD-k).
    mcmc_method : {'hmc', 'mala', 'ula'}, default='hmc'
        The transition of :func:`sksm.sampling.run_mcmc`.
    persistent : bool, default=False
        Continue the chains from one update to the next (persistent CD)
        instead of restarting them at the data.

    References
    ----------
    G. E. Hinton. Training products of experts by minimizing contrastive
    divergence. Neural Computation 14(8), 2002.
    T. Tieleman. Training restricted Boltzmann machines using approximations
    to the likelihood gradient. ICML 2008.
    """

    stochastic = True

    _parameter_constraints = {
        "n_mcmc_steps": [Interval(Integral, 1, None, closed="left")],
        "mcmc_method": [StrOptions({"ula", "mala", "hmc"})],
        "persistent": ["boolean"],
    }

    def __init__(self, n_mcmc_steps=1, mcmc_method="hmc", persistent=False):
        self.n_mcmc_steps = n_mcmc_steps
        self.mcmc_method = mcmc_method
        self.persistent = persistent

    def draw(self, batch, rng, *, energy, reg_lambda, state):
        # negative samples; the chains and the step size live in state,
        # kept by the estimator, so that partial_fit continues them
        chains = state.get("chains")
        if not self.persistent or chains is None:
            chains = batch
        result = run_mcmc(lambda x: energy.grad_energy(x.astype(batch.dtype)),
                          chains, method=self.mcmc_method,
                          n_steps=self.n_mcmc_steps, n_warmup=0,
                          step_size=state.get("step_size"), keep_samples=False,
                          random_state=rng)
        log_step = np.mean(np.log(result.step_size))
        log_step += (result.acceptance_rate.mean()
                     - TARGET_ACCEPT[self.mcmc_method])
        state["step_size"] = float(np.exp(log_step))
        if self.persistent:
            state["chains"] = result.state
        return result.state.astype(batch.dtype)

    def value_and_grads(self, network, batch, drawn, *, reg_lambda,
                        n_threads, sample_weight=None):
        # CD-k's chains start at the rows, so its negative samples carry
        # their weights; persistent chains are draws of the model, of
        # equal weight
        negative = (sample_weight if not self.persistent
                    and len(drawn) == len(batch) else None)
        return contrastive_divergence(network, batch, drawn,
                                      n_threads=n_threads,
                                      sample_weight=sample_weight,
                                      negative_weight=negative)
