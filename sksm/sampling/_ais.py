r"""Annealed importance sampling of :math:`\log Z` (Neal 2001)."""

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp
from sklearn.utils import check_random_state

from .. import _progress
from .._parallel import single_threaded_blas
from .._validation import check_count
from ._mcmc import (
    TARGET_ACCEPT,
    _adapt,
    _finite_rows,
    _initial_step,
    _Kernel,
    _warn_restarts,
)

__all__ = ["AUTO_TEMPERATURES", "AUTO_TOLERANCE", "AISResult",
           "annealed_importance_sampling"]

#: ``n_temperatures='auto'``: the temperatures of the successive runs, each
#: independent of the others, and the largest change of the estimate (nats)
#: between two of them, with at least AUTO_MIN_ESS of the chains effective
#: in the second, at which the second is accepted.
AUTO_TEMPERATURES = (100, 200, 400, 800, 1600, 3200)
AUTO_TOLERANCE = 0.5
AUTO_MIN_ESS = 0.1


@dataclass
class AISResult:
    """The outcome of :func:`annealed_importance_sampling`.

    Attributes
    ----------
    log_partition : float
        Estimate of :math:`\\log Z` (the log of the mean importance weight).
    stderr : float
        Its standard error (delta method: the standard deviation of the
        weights over their mean, over the square root of ``n_chains``).
    log_weights : ndarray of shape (n_chains,)
        Log importance weights, relative to the base's normaliser.
    effective_sample_size : float
        :math:`(\\sum w)^2 / \\sum w^2`; far below ``n_chains`` means few
        chains carry the estimate, and more temperatures are needed.
    acceptance_rate : float
        Mean acceptance rate of the transitions.
    n_restarts : int
        Transitions that met a non-finite energy (see :class:`MCMCResult`).
    n_temperatures : int
        Temperatures of the run that gave the estimate.
    converged : bool or None
        With ``n_temperatures='auto'``: whether two runs, the second with
        twice the temperatures of the first, agreed within the tolerance;
        None for a fixed number of temperatures.
    """

    log_partition: float
    stderr: float
    log_weights: np.ndarray
    effective_sample_size: float
    acceptance_rate: float
    n_restarts: int
    n_temperatures: int = 0
    converged: bool = None


def _schedule(n_temperatures):
    """Inverse temperatures 0 = beta_0 < ... < beta_K = 1, denser near 0.

    A sigmoid path (Grosse et al. 2015): the geometric path changes fastest
    at its start, where the base and the model differ most.
    """
    s = np.linspace(-4.0, 4.0, n_temperatures + 1)
    beta = 1.0 / (1.0 + np.exp(-s))
    return (beta - beta[0]) / (beta[-1] - beta[0])


@single_threaded_blas()
def annealed_importance_sampling(energy_grad, base, *, n_chains=100,
                                 n_temperatures="auto", method="hmc",
                                 n_leapfrog=5, random_state=None):
    r"""Estimate :math:`\log Z = \log \int \exp(-E(x))\,dx` by AIS.

    Chains start as draws from ``base`` and move, by one MCMC transition per
    temperature, through :math:`p_\beta \propto \exp(-(1 - \beta) E_0(x) -
    \beta E(x))` for a sigmoid schedule of :math:`\beta` from 0 to 1; the
    importance weight of a chain accumulates
    :math:`-(\beta_k - \beta_{k-1}) (E(x) - E_0(x))` at the state reached
    before temperature :math:`k` (Neal 2001).  The mean weight is an unbiased
    estimate of :math:`Z / Z_0`; its log is biased low when the weights vary a
    lot (few effective chains): add temperatures until the estimate stops
    rising.  The step size is adapted from temperature to temperature toward
    the method's target acceptance rate.  BLAS runs on one thread meanwhile
    (:class:`~sksm.optim.single_threaded_blas`): the chains' products are
    small, and on two cores a second BLAS thread made one estimate for a
    model of the 8x8 digits three times slower (7.5 s against 2.5 s).

    Parameters
    ----------
    energy_grad : callable
        ``energy_grad(x) -> (E, dE/dx)`` of the model, ``x`` of shape
        ``(n_chains, *base.mean.shape)``.
    base : Gaussian or StudentTProduct
        The tractable start (anything with ``sample(n, rng)``,
        ``energy_grad(x)`` and ``log_partition``).
    n_chains : int, default=100
        Independent AIS runs, at least 2; the standard error falls as their
        square root.
    n_temperatures : int or 'auto', default='auto'
        Intermediate distributions; more reduce the downward bias of the
        estimate.  'auto': independent runs with the temperatures of
        ``AUTO_TEMPERATURES`` (100, 200, 400, ...), until one agrees with the
        one before within ``AUTO_TOLERANCE`` (0.5 nats) with at least a
        tenth of its chains effective; its estimate is returned, with the
        larger of its standard error and that change as ``stderr`` and
        ``converged=True``.  If no two runs agree, the last run's estimate
        comes back with ``converged=False`` and that larger error.
    method : {'hmc', 'mala'}, default='hmc'
    n_leapfrog : int, default=5
        Leapfrog steps per HMC transition.
    random_state : int, RandomState instance or None, default=None
        Seeds the base draws and the HMC transitions.

    Returns
    -------
    result : AISResult
        The estimate of the log normaliser, its standard error and the
        diagnostics.

    Notes
    -----
    The cost is ``n_temperatures * (n_leapfrog + 1)`` evaluations of
    ``energy_grad`` and of the base on all ``n_chains`` chains at once (one
    with MALA); every temperature counts as a unit of work on the progress
    reporter of :mod:`sksm._progress`.  'auto' costs the sum of the runs made:
    300 temperatures when the second run agrees with the first, at most
    6,300.
    """
    if method not in ("hmc", "mala"):
        raise ValueError(f"method must be 'hmc' or 'mala' for AIS, got "
                         f"{method!r}.")
    n_chains = check_count(n_chains, "n_chains", minimum=2)
    n_leapfrog = check_count(n_leapfrog, "n_leapfrog")
    rng = check_random_state(random_state)
    if isinstance(n_temperatures, str) and n_temperatures == "auto":
        return _until_stable(energy_grad, base, n_chains, method,
                             n_leapfrog, rng)
    n_temperatures = check_count(n_temperatures, "n_temperatures")
    return _run(energy_grad, base, n_chains, n_temperatures, method,
                n_leapfrog, rng)


def _until_stable(energy_grad, base, n_chains, method, n_leapfrog, rng):
    """Runs of AUTO_TEMPERATURES until two agree (see
    :func:`annealed_importance_sampling`)."""
    previous = None
    for n_temperatures in AUTO_TEMPERATURES:
        result = _run(energy_grad, base, n_chains, n_temperatures, method,
                      n_leapfrog, rng)
        if previous is not None:
            change = abs(result.log_partition - previous.log_partition)
            result.stderr = max(result.stderr, change)
            result.converged = bool(
                change <= AUTO_TOLERANCE and result.effective_sample_size
                >= AUTO_MIN_ESS * n_chains)
            if result.converged:
                return result
        previous = result
    return result


def _run(energy_grad, base, n_chains, n_temperatures, method, n_leapfrog,
         rng):
    """One AIS run of ``n_temperatures`` (checked arguments)."""
    target = TARGET_ACCEPT[method]
    betas = _schedule(n_temperatures)

    def model(x):
        E, d = energy_grad(x)
        return np.asarray(E, dtype=np.float64), np.asarray(d, np.float64)

    x = base.sample(n_chains, rng)
    lost = len(x) - int(np.isfinite(x.reshape(len(x), -1)).all(axis=1).sum())
    if lost:
        raise ValueError(
            f"{lost} of {n_chains} draws from the base distribution overflow "
            "the float range: it puts mass at values beyond 1e308 (a "
            "Student-t expert with a weight near 1/2 does), which no chain "
            "can carry. Start from a base with lighter tails; for a Product "
            "of Experts, refit with a larger min_expert_weight (or use "
            "method='exact' on a complete one).")
    E0, d0 = base.energy_grad(x)
    with np.errstate(over="ignore", invalid="ignore"):
        E1, d1 = model(x)
    if not _finite_rows(E1, d1).all():
        raise ValueError("The model's energy is not finite at draws from the "
                         "base distribution.")
    log_w = np.zeros(n_chains)
    beta = 0.0
    last = {}

    def tempered(x):
        last["base"] = base.energy_grad(x)
        last["model"] = model(x)
        (e0, g0), (e1, g1) = last["base"], last["model"]
        return (1 - beta) * e0 + beta * e1, (1 - beta) * g0 + beta * g1

    kernel = _Kernel(tempered, method, n_leapfrog)
    log_eps, accept_total, n_restarts = None, 0.0, 0
    reporter = _progress.current()
    reporter.start(n_temperatures)
    for k in range(1, n_temperatures + 1):
        log_w -= (betas[k] - beta) * (E1 - E0)
        beta = betas[k]
        E = (1 - beta) * E0 + beta * E1
        d = (1 - beta) * d0 + beta * d1
        if log_eps is None:
            log_eps = np.full(n_chains, np.log(
                _initial_step(kernel, x, E, d, target, rng)))
        # the last evaluation of ``tempered`` is at the proposals
        x, _, _, prob, bad, accepted = kernel(x, E, d, np.exp(log_eps), rng)
        (e0, g0), (e1, g1) = last["base"], last["model"]
        E0[accepted], d0[accepted] = e0[accepted], g0[accepted]
        E1[accepted], d1[accepted] = e1[accepted], g1[accepted]
        n_restarts += int(bad.sum())
        log_eps[bad] -= np.log(2.0)
        accept_total += prob.mean()
        log_eps = _adapt(log_eps, prob.mean(), target, k - 1)
        reporter.update()
    _warn_restarts(n_restarts, n_chains * n_temperatures, "AIS transitions")
    log_mean = logsumexp(log_w) - np.log(n_chains)
    w = np.exp(log_w - log_w.max())
    ess = w.sum() ** 2 / np.sum(w ** 2)
    stderr = np.std(w) / np.mean(w) / np.sqrt(n_chains)
    return AISResult(
        log_partition=float(base.log_partition + log_mean),
        stderr=float(stderr), log_weights=log_w,
        effective_sample_size=float(ess),
        acceptance_rate=accept_total / n_temperatures, n_restarts=n_restarts,
        n_temperatures=n_temperatures)
