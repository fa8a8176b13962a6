"""Markov chain Monte Carlo on energies: ULA, MALA and HMC, side by side."""

import warnings
from dataclasses import dataclass
from numbers import Real

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from .._parallel import single_threaded_blas
from .._validation import (
    check_count,
    check_mask,
    check_not_bool,
    check_positive,
)

__all__ = ["METHODS", "MCMCResult", "TARGET_ACCEPT", "run_mcmc"]

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


@single_threaded_blas()
def run_mcmc(energy_grad, x0, *, method="mala", n_steps=100, n_warmup=100,
             step_size=None, target_accept=None, n_leapfrog=10, thin=1,
             mask=None, keep_samples=True, random_state=None):
    """Run many Markov chains on the energy ``energy_grad`` side by side.

    BLAS runs on one thread meanwhile
    (:class:`~sksm.optim.single_threaded_blas`): the chains' products are
    small, and more BLAS threads only wait on each other.

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
    elif not (isinstance(check_not_bool(target_accept, "target_accept"), Real)
              and 0 < target_accept < 1):
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
