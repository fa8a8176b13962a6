r"""Annealed importance sampling of :math:`\log Z` (Neal 2001), and the
Gaussian base distributions it starts from."""

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp
from sklearn.utils import check_random_state

from .. import _progress
from .._validation import check_count
from ._mcmc import (
    TARGET_ACCEPT,
    _adapt,
    _finite_rows,
    _initial_step,
    _Kernel,
    _warn_restarts,
)

__all__ = ["AISResult", "Gaussian", "annealed_importance_sampling"]


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
    """

    log_partition: float
    stderr: float
    log_weights: np.ndarray
    effective_sample_size: float
    acceptance_rate: float
    n_restarts: int


# ---------------------------------------------------------------------- #
# Transitions
# ---------------------------------------------------------------------- #
class Gaussian:
    """A Gaussian base distribution ``N(mean, inv(precision))`` for AIS.

    Parameters
    ----------
    mean : ndarray of shape event_shape
        The mean, of the shape of one sample (a vector, or an image).
    precision : ndarray of shape (n, n)
        Symmetric positive definite, ``n = mean.size``.

    Raises
    ------
    ValueError
        If ``precision`` does not have shape (n, n) or is not positive
        definite.
    """

    def __init__(self, mean, precision):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.precision = np.asarray(precision, dtype=np.float64)
        n = self.mean.size
        if self.precision.shape != (n, n):
            raise ValueError(f"precision must have shape {(n, n)}, got "
                             f"{self.precision.shape}.")
        try:
            self._chol = np.linalg.cholesky(self.precision)
        except np.linalg.LinAlgError as exc:
            raise ValueError("precision is not positive definite.") from exc

    @property
    def log_partition(self):
        """:math:`\\log \\int \\exp(-E_0)`, for ``E_0`` of :meth:`energy_grad`."""
        n = self.mean.size
        return (0.5 * n * np.log(2 * np.pi)
                - np.sum(np.log(np.diag(self._chol))))

    def energy_grad(self, x):
        """Compute ``E_0 = (x - mean)^T P (x - mean) / 2`` and its gradient.

        Parameters
        ----------
        x : ndarray of shape (n_chains, \\*event_shape)
            Points, one per chain.

        Returns
        -------
        E : ndarray of shape (n_chains,)
            The energies, in float64.
        dE_dx : ndarray of the shape of ``x``
            Their gradients.
        """
        r = (x - self.mean).reshape(len(x), -1)
        g = r @ self.precision
        return 0.5 * np.einsum("ij,ij->i", r, g), g.reshape(x.shape)

    def sample(self, n, rng):
        """Draw ``n`` independent samples.

        Parameters
        ----------
        n : int
            Number of samples.
        rng : numpy.random.RandomState
            The source of the draws.

        Returns
        -------
        samples : ndarray of shape (n, \\*event_shape)
            In float64.
        """
        # x = mean + L^{-T} z has covariance (L L^T)^{-1} = P^{-1}
        z = rng.standard_normal((self.mean.size, n))
        r = np.linalg.solve(self._chol.T, z).T
        return self.mean + r.reshape((n,) + self.mean.shape)


def _schedule(n_temperatures):
    """Inverse temperatures 0 = beta_0 < ... < beta_K = 1, denser near 0.

    A sigmoid path (Grosse et al. 2015): the geometric path changes fastest
    at its start, where the base and the model differ most.
    """
    s = np.linspace(-4.0, 4.0, n_temperatures + 1)
    beta = 1.0 / (1.0 + np.exp(-s))
    return (beta - beta[0]) / (beta[-1] - beta[0])


def annealed_importance_sampling(energy_grad, base, *, n_chains=100,
                                 n_temperatures=1000, method="hmc",
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
    the method's target acceptance rate.

    Parameters
    ----------
    energy_grad : callable
        ``energy_grad(x) -> (E, dE/dx)`` of the model, ``x`` of shape
        ``(n_chains, *base.mean.shape)``.
    base : Gaussian
        The tractable start (anything with ``sample(n, rng)``,
        ``energy_grad(x)`` and ``log_partition``).
    n_chains : int, default=100
        Independent AIS runs, at least 2; the standard error falls as their
        square root.
    n_temperatures : int, default=1000
        Intermediate distributions; more reduce the downward bias of the
        estimate.
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
    reporter of :mod:`sksm._progress`.
    """
    if method not in ("hmc", "mala"):
        raise ValueError(f"method must be 'hmc' or 'mala' for AIS, got "
                         f"{method!r}.")
    n_chains = check_count(n_chains, "n_chains", minimum=2)
    n_temperatures = check_count(n_temperatures, "n_temperatures")
    n_leapfrog = check_count(n_leapfrog, "n_leapfrog")
    rng = check_random_state(random_state)
    target = TARGET_ACCEPT[method]
    betas = _schedule(n_temperatures)

    def model(x):
        E, d = energy_grad(x)
        return np.asarray(E, dtype=np.float64), np.asarray(d, np.float64)

    x = base.sample(n_chains, rng)
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
        acceptance_rate=accept_total / n_temperatures, n_restarts=n_restarts)
