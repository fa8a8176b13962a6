r"""Markov chain Monte Carlo on energies, and annealed importance sampling.

Every function here is driven by an energy given as a callable
``energy_grad(x) -> (E, dE/dx)`` on a stack of chains ``x`` of shape
``(n_chains, *event_shape)``, with ``E`` of shape ``(n_chains,)``: the
unnormalised density is :math:`p(x) \propto \exp(-E(x))`.  The chains run side
by side, so one call of ``energy_grad`` moves all of them.

Samplers (:func:`run_mcmc`), with :math:`\epsilon` the step size and
:math:`\xi \sim N(0, I)`:

- ``'ula'``, unadjusted Langevin:
  :math:`x' = x - \tfrac{\epsilon^2}{2} \nabla E(x) + \epsilon \xi`, always
  accepted (biased by :math:`O(\epsilon^2)`);
- ``'mala'``, the same proposal with a Metropolis-Hastings correction
  (Roberts & Tweedie 1996), exact for any step;
- ``'hmc'``, Hamiltonian Monte Carlo: ``n_leapfrog`` leapfrog steps with a
  fresh Gaussian momentum, then Metropolis-Hastings on the total energy
  (Neal 2011).

During warm-up the step size is adapted toward a target acceptance rate
by a Robbins-Monro update of its logarithm on the acceptance rate averaged
over the chains: 0.574 for MALA (the optimum of Roberts & Rosenthal 1998),
0.65 for HMC, and for ULA 0.9 of the Metropolis-Hastings test it skips, a
step small enough to keep its bias small (on a 3-D Gaussian whose precision
has eigenvalues 1.3 to 13, measured covariance errors: 3.6 at a target of
0.574, 0.03 at 0.9).

:func:`annealed_importance_sampling` estimates :math:`\log Z` (Neal 2001) by
moving chains from a tractable base distribution through the geometric path
:math:`p_\beta \propto \exp(-(1 - \beta) E_0 - \beta E)`.
"""

import warnings
from dataclasses import dataclass
from numbers import Real

import numpy as np
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from . import _progress
from ._validation import check_count, check_mask, check_positive

__all__ = ["AISResult", "Gaussian", "MCMCResult",
           "annealed_importance_sampling", "run_mcmc"]

METHODS = ("ula", "mala", "hmc")
#: Default target acceptance rates of the step-size adaptation.
TARGET_ACCEPT = {"ula": 0.9, "mala": 0.574, "hmc": 0.65}


@dataclass
class MCMCResult:
    """Samples and diagnostics returned by :func:`run_mcmc`.

    Attributes
    ----------
    samples : ndarray of shape (n_kept, n_chains, \\*event_shape) or None
        Every ``thin``-th state after warm-up (None if not kept).
    mean : ndarray of shape (n_chains, \\*event_shape)
        Mean of every state after warm-up, chain by chain.
    state : ndarray of shape (n_chains, \\*event_shape)
        Last state of every chain.
    energy : ndarray of shape (n_warmup + n_steps, n_chains)
        Energy of every chain after every step (warm-up included).
    acceptance_rate : ndarray of shape (n_chains,)
        Mean acceptance probability after warm-up (for ULA, that of the
        Metropolis-Hastings test it skips).
    step_size : ndarray of shape (n_chains,)
        Step sizes at the end.
    n_restarts : int
        Proposals with a non-finite energy or gradient: the chain stayed at
        its last finite state and its step was halved.
    """

    samples: np.ndarray
    mean: np.ndarray
    state: np.ndarray
    energy: np.ndarray
    acceptance_rate: np.ndarray
    step_size: np.ndarray
    n_restarts: int


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
def _per_chain(values, ndim):
    """Reshape (n_chains,) to broadcast against (n_chains, *event_shape)."""
    return values.reshape((-1,) + (1,) * (ndim - 1))


def _sum_event(a):
    return a.reshape(len(a), -1).sum(axis=1)


def _finite_rows(E, d):
    return np.isfinite(E) & np.isfinite(d.reshape(len(d), -1)).all(axis=1)


class _Kernel:
    """One MCMC transition of every chain, for ``energy_grad`` and a mask."""

    def __init__(self, energy_grad, method, n_leapfrog=10, mask=None):
        self.energy_grad = energy_grad
        self.method = method
        self.n_leapfrog = n_leapfrog
        self.mask = None if mask is None else mask.astype(float)

    def evaluate(self, x):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            E, d = self.energy_grad(x)
        E = np.asarray(E, dtype=np.float64).reshape(len(x))
        d = np.asarray(d, dtype=np.float64).reshape(x.shape)
        if self.mask is not None:
            d = d * self.mask
        return E, d

    def _noise(self, rng, shape):
        xi = rng.standard_normal(shape)
        return xi if self.mask is None else xi * self.mask

    def __call__(self, x, E, d, eps, rng):
        """Return ``(x, E, d, accept_probability, bad, accepted)``."""
        e = _per_chain(eps, x.ndim)
        with np.errstate(over="ignore", invalid="ignore"):
            if self.method == "hmc":
                xp, Ep, dp, log_ratio = self._leapfrog(x, E, d, e, rng)
            else:
                xi = self._noise(rng, x.shape)
                xp = x - 0.5 * e ** 2 * d + e * xi
                Ep, dp = self.evaluate(xp)
                back = x - xp + 0.5 * e ** 2 * dp
                log_ratio = (E - Ep + 0.5 * _sum_event(xi ** 2)
                             - _sum_event(back ** 2) / (2 * eps ** 2))
        bad = ~(_finite_rows(Ep, dp) & np.isfinite(log_ratio))
        log_ratio[bad] = -np.inf
        prob = np.exp(np.minimum(log_ratio, 0.0))
        if self.method == "ula":
            accept = ~bad
        else:
            accept = rng.uniform(size=len(x)) < prob
        keep = _per_chain(accept, x.ndim)
        x = np.where(keep, xp, x)
        E = np.where(accept, Ep, E)
        d = np.where(keep, dp, d)
        return x, E, d, prob, bad, accept

    def _leapfrog(self, x, E, d, e, rng):
        p = self._noise(rng, x.shape)
        kinetic0 = 0.5 * _sum_event(p ** 2)
        p = p - 0.5 * e * d
        xp = x
        for step in range(self.n_leapfrog):
            xp = xp + e * p
            Ep, dp = self.evaluate(xp)
            if step < self.n_leapfrog - 1:
                p = p - e * dp
        p = p - 0.5 * e * dp
        log_ratio = E + kinetic0 - Ep - 0.5 * _sum_event(p ** 2)
        return xp, Ep, dp, log_ratio


def _initial_step(kernel, x, E, d, target, rng):
    """A first step size: halve or double 1.0 until the mean acceptance of one
    trial move crosses ``target`` (the chains do not move)."""
    eps = 1.0
    trial = np.random.RandomState(rng.randint(2 ** 31))
    direction = 0
    for _ in range(60):
        prob = kernel(x, E, d, np.full(len(x), eps), trial)[3].mean()
        up = prob > target
        if direction and (up != (direction > 0)):
            break
        direction = 1 if up else -1
        eps = eps * 2.0 if up else eps / 2.0
    return eps


def _adapt(log_eps, accept_mean, target, t):
    """Robbins-Monro update of the log step toward the target acceptance."""
    return log_eps + (accept_mean - target) / np.sqrt(t + 1.0)


def _warn_restarts(n_restarts, total, what):
    if n_restarts:
        warnings.warn(
            f"{n_restarts} of {total} {what} met a non-finite energy or "
            "gradient; those chains were restarted from their last finite "
            "state with half the step size. Pass a smaller step_size (or a "
            "longer warm-up) if this persists.", ConvergenceWarning)


def run_mcmc(energy_grad, x0, *, method="mala", n_steps=100, n_warmup=100,
             step_size=None, target_accept=None, n_leapfrog=10, thin=1,
             mask=None, keep_samples=True, random_state=None):
    """Run many Markov chains on the energy ``energy_grad`` side by side.

    Parameters
    ----------
    energy_grad : callable
        ``energy_grad(x) -> (E, dE/dx)`` for ``x`` of shape
        ``(n_chains, *event_shape)``, ``E`` of shape ``(n_chains,)``.
    x0 : array-like of shape (n_chains, \\*event_shape)
        Initial states; their energies must be finite.
    method : {'mala', 'ula', 'hmc'}, default='mala'
        See the module's description.
    n_steps : int, default=100
        Transitions after warm-up.
    n_warmup : int, default=100
        Transitions during which the step size is adapted (their states are
        not kept).
    step_size : float, default=None
        First step size; None finds one by halving or doubling.  Adapted
        during warm-up, fixed afterwards (except that a divergence halves it).
    target_accept : float, default=None
        Target acceptance rate in (0, 1); None: 0.574 for MALA, 0.65 for
        HMC, 0.9 for ULA.
    n_leapfrog : int, default=10
        Leapfrog steps per HMC transition.
    thin : int, default=1
        Keep every ``thin``-th state after warm-up in ``samples``.
    mask : array-like of bool of shape event_shape, default=None
        True where the chains move; the other coordinates stay at their
        values in ``x0`` (conditional sampling, e.g. stochastic inpainting).
    keep_samples : bool, default=True
        False keeps only the mean and the last state (less memory).
    random_state : int, RandomState instance or None, default=None
        Seeds the proposals and the acceptance tests.

    Returns
    -------
    result : MCMCResult
        The samples (or their mean), the last states and the diagnostics.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    n_steps = check_count(n_steps, "n_steps")
    n_warmup = check_count(n_warmup, "n_warmup", minimum=0)
    n_leapfrog = check_count(n_leapfrog, "n_leapfrog")
    thin = check_count(thin, "thin")
    if step_size is not None:
        step_size = check_positive(step_size, "step_size")
    if target_accept is None:
        target_accept = TARGET_ACCEPT[method]
    elif not (isinstance(target_accept, Real) and 0 < target_accept < 1):
        raise ValueError(f"target_accept must be in (0, 1), got "
                         f"{target_accept!r}.")
    rng = check_random_state(random_state)
    x = np.array(x0, dtype=np.float64)  # a copy: x0 is never modified
    if x.ndim < 2:
        raise ValueError(f"x0 must have shape (n_chains, *event_shape), got "
                         f"shape {x.shape}.")
    if mask is not None:
        mask = check_mask(mask, x.shape[1:])
    kernel = _Kernel(energy_grad, method, n_leapfrog,
                     None if mask is None else np.broadcast_to(mask, x.shape))
    E, d = kernel.evaluate(x)
    if not _finite_rows(E, d).all():
        raise ValueError("The energy or its gradient is not finite at x0; "
                         "start the chains where the density is positive.")
    if step_size is None:
        step_size = _initial_step(kernel, x, E, d, target_accept, rng)
    log_eps = np.full(len(x), np.log(step_size))
    energies = np.empty((n_warmup + n_steps, len(x)))
    total = np.zeros(x.shape)
    kept, accept_sum, n_restarts = [], np.zeros(len(x)), 0
    for t in range(n_warmup + n_steps):
        x, E, d, prob, bad, _ = kernel(x, E, d, np.exp(log_eps), rng)
        n_restarts += int(bad.sum())
        log_eps[bad] -= np.log(2.0)
        energies[t] = E
        if t < n_warmup:
            log_eps = _adapt(log_eps, prob.mean(), target_accept, t)
            continue
        accept_sum += prob
        total += x
        if keep_samples and (t - n_warmup) % thin == thin - 1:
            kept.append(x.copy())
    _warn_restarts(n_restarts, len(x) * (n_warmup + n_steps), "transitions")
    return MCMCResult(
        samples=np.stack(kept) if keep_samples else None,
        mean=total / n_steps, state=x, energy=energies,
        acceptance_rate=accept_sum / n_steps, step_size=np.exp(log_eps),
        n_restarts=n_restarts)


# ---------------------------------------------------------------------- #
# Annealed importance sampling
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
