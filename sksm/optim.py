"""Optimisers behind one interface: full-batch L-BFGS (scipy) and minibatch Adam.

Both minimise ``fun(theta) -> (loss, grad)`` and stop, keeping the last
parameters at which the loss and gradient were finite, when the objective
returns a non-finite value (divergence).
"""

import numpy as np
from scipy.optimize import Bounds, minimize

__all__ = ["Adam", "OptimizeResult", "lbfgs"]


class OptimizeResult:
    """What an optimiser returns: parameters, iterations, losses, status."""

    def __init__(self, theta, n_iter, loss_curve, converged, diverged, message):
        self.theta = theta
        self.n_iter = n_iter
        self.loss_curve = loss_curve
        self.converged = converged
        self.diverged = diverged
        self.message = message


class _Diverged(Exception):
    pass


class _FiniteGuard:
    """Wrap ``fun`` to remember the last finite point and stop on non-finite."""

    def __init__(self, fun, theta0):
        self.fun = fun
        self.last_theta = np.array(theta0, dtype=np.float64)
        self.last_loss = None

    def __call__(self, theta):
        loss, grad = self.fun(theta)
        grad = np.asarray(grad, dtype=np.float64)
        if not (np.isfinite(loss) and np.all(np.isfinite(grad))):
            raise _Diverged
        self.last_theta = np.array(theta, dtype=np.float64)
        self.last_loss = float(loss)
        return float(loss), grad


def lbfgs(fun, theta0, *, bounds=(None, None), max_iter=500, tol=1e-6,
          gtol=None, max_fun=None, verbose=0):
    """Minimise ``fun`` by scipy's L-BFGS-B.

    ``bounds`` is ``(lower, upper)``, arrays like ``theta0`` (``-inf``/``inf``
    for no bound) or None.  ``tol`` is scipy's ``ftol`` (reduction of the
    loss relative to its size) and, unless ``gtol`` is given, its ``gtol``
    (the largest projected gradient entry).  Both are relative to the
    start: the loss is divided by ``min(1, max(|f0|, |g0|))``, the larger of
    the starting loss and gradient (largest entry) when that is below 1,
    so that a problem whose loss is small only because of its units is not
    taken as converged before its first step.  ``max_fun`` bounds the
    evaluations of ``fun`` (default ``2 * max_iter + 20``).
    """
    guard = _FiniteGuard(fun, theta0)
    losses = []
    theta0 = np.asarray(theta0, dtype=np.float64)
    try:
        f0, g0 = guard(theta0)
    except _Diverged:
        return OptimizeResult(guard.last_theta, 0, losses, converged=False,
                              diverged=True,
                              message="the loss or its gradient is "
                                      "non-finite at the start")
    size = max(abs(f0), float(np.abs(g0).max(initial=0.0)))
    unit = min(1.0, size) if size > 0 else 1.0
    first = [theta0, f0, g0]

    def scaled(theta):
        if first and np.array_equal(theta, first[0]):
            _, f, g = first  # scipy starts where we did
            first.clear()
        else:
            f, g = guard(theta)
        return f / unit, g / unit

    def callback(intermediate_result):
        losses.append(float(intermediate_result.fun) * unit)
        if verbose:
            print(f"Iteration {len(losses)}, loss = {losses[-1]:.6g}")

    try:
        res = minimize(
            scaled, theta0, jac=True,
            method="L-BFGS-B", callback=callback,
            bounds=None if bounds[0] is None else Bounds(*bounds),
            options={"maxiter": max_iter,
                     "maxfun": 2 * max_iter + 20 if max_fun is None
                     else max_fun,
                     "ftol": tol, "gtol": tol if gtol is None else gtol},
        )
    except _Diverged:
        return OptimizeResult(guard.last_theta, len(losses), losses,
                              converged=False, diverged=True,
                              message="the loss or its gradient became non-finite")
    # res.x is a point at which fun was evaluated, hence finite.  When the
    # bounds fix every variable, scipy returns at once, without ``status``
    # or ``nit``.
    return OptimizeResult(res.x, getattr(res, "nit", 0), losses,
                          converged=bool(res.success), diverged=False,
                          message=str(res.message))


class Adam:
    """Adam (Kingma & Ba 2015) on a flat parameter vector, with box bounds.

    The state (moments and step count) lives on the object, so minibatches can
    arrive one call at a time (``partial_fit``).
    """

    def __init__(self, n_params, learning_rate=1e-3, lower=None, upper=None,
                 beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.lower, self.upper = lower, upper
        self.m = np.zeros(n_params)
        self.v = np.zeros(n_params)
        self.t = 0

    def step(self, theta, grad):
        """Return the parameters after one step along ``grad``."""
        self.t += 1
        self.m *= self.beta1
        self.m += (1 - self.beta1) * grad
        self.v *= self.beta2
        self.v += (1 - self.beta2) * grad * grad
        lr = (self.learning_rate * np.sqrt(1 - self.beta2 ** self.t)
              / (1 - self.beta1 ** self.t))
        theta = theta - lr * self.m / (np.sqrt(self.v) + self.epsilon)
        if self.lower is not None or self.upper is not None:
            np.clip(theta, self.lower, self.upper, out=theta)
        return theta

    def run_epoch(self, fun, theta, n_samples, batch_size, rng):
        """One pass over shuffled minibatches; ``fun(theta, rows)``.

        Returns ``(theta, mean loss)``.  A minibatch whose loss or gradient is
        non-finite stops the epoch: the parameters of the last finite
        evaluation are returned with loss nan.
        """
        order = rng.permutation(n_samples)
        total = 0.0
        good = theta
        for start in range(0, n_samples, batch_size):
            rows = np.sort(order[start:start + batch_size])
            loss, grad = fun(theta, rows)
            if not (np.isfinite(loss) and np.all(np.isfinite(grad))):
                return good, float("nan")
            good = theta
            total += loss * len(rows)
            theta = self.step(theta, grad)
        return theta, total / n_samples
