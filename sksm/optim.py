"""Optimisers behind one interface: full-batch L-BFGS (scipy) and minibatch Adam.

Both minimise ``fun(theta) -> (loss, grad)`` (Adam on minibatches,
``fun(theta, rows)``), return an :class:`OptimizeResult` and stop, keeping
the last parameters at which the loss and gradient were finite, when the
objective returns a non-finite value (divergence).  Both run ``fun`` with
BLAS limited to one thread (:class:`single_threaded_blas`), since the
losses of :mod:`sksm.objectives` spread their rows over threads of their
own (``n_threads``).
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, minimize

from ._parallel import single_threaded_blas

__all__ = ["Adam", "OptimizeResult", "adam", "lbfgs", "single_threaded_blas"]


class OptimizeResult:
    """What an optimiser returns: parameters, iterations, losses, status.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        The parameters returned: the last finite point if the run diverged.
    n_iter : int
        Iterations run.
    loss_curve : list of float
        The loss after each iteration.
    converged : bool
        Whether a stopping rule was met (not ``max_iter``).
    diverged : bool
        Whether the loss or its gradient became non-finite.
    message : str
        The optimiser's reason for stopping.
    optimizer : Adam or None, default=None
        The state of :func:`adam` at ``theta`` (moments and step count),
        from which more epochs can continue; None for :func:`lbfgs` and for
        a run of :func:`adam` that diverged or was stopped by ``accept``
        (its state belongs to parameters that were not kept).
    """

    def __init__(self, theta, n_iter, loss_curve, converged, diverged, message,
                 optimizer=None):
        self.theta = theta
        self.n_iter = n_iter
        self.loss_curve = loss_curve
        self.converged = converged
        self.diverged = diverged
        self.message = message
        self.optimizer = optimizer


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


@single_threaded_blas()
def lbfgs(fun, theta0, *, bounds=(None, None), max_iter=500, tol=1e-6,
          gtol=None, max_fun=None, verbose=0):
    """Minimise ``fun`` by scipy's L-BFGS-B.

    The tolerances are relative to the start: the loss is divided by
    ``min(1, max(|f0|, |g0|))``, the larger of the starting loss and
    gradient (largest entry) when that is below 1, so that a problem whose
    loss is small only because of its units is not taken as converged
    before its first step.  A non-finite loss or gradient stops the run at
    the last finite point.  The run holds BLAS to one thread
    (:class:`single_threaded_blas`): a loss of :mod:`sksm.objectives` uses
    the cores through its own ``n_threads``.

    Parameters
    ----------
    fun : callable
        ``fun(theta) -> (loss, gradient)``, a float and an ndarray of the
        shape of ``theta``.
    theta0 : array-like of shape (n_params,)
        The starting point (used in float64).
    bounds : tuple of (ndarray or None, ndarray or None), default=(None, None)
        ``(lower, upper)``, arrays like ``theta0`` (``-inf``/``inf`` for no
        bound) or None for none.
    max_iter : int, default=500
        Maximum iterations.
    tol : float, default=1e-6
        The ``ftol`` of scipy (reduction of the loss relative to its size) and,
        unless ``gtol`` is given, its ``gtol``.
    gtol : float, default=None
        The ``gtol`` of scipy, the largest projected gradient entry; None:
        ``tol``.
    max_fun : int, default=None
        Bound on the evaluations of ``fun``; None: ``2 * max_iter + 20``.
    verbose : int, default=0
        Print the loss at every iteration.

    Returns
    -------
    result : OptimizeResult
        The parameters, iterations, loss curve and status.
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

    Parameters
    ----------
    n_params : int
        Length of the parameter vector.
    learning_rate : float, default=1e-3
        Step size.
    lower : ndarray of shape (n_params,) or None, default=None
        Lower bounds, kept by clipping after every step; None: none.
    upper : ndarray of shape (n_params,) or None, default=None
        Upper bounds; None: none.
    beta1 : float, default=0.9
        Decay of the first-moment estimate.
    beta2 : float, default=0.999
        Decay of the second-moment estimate.
    epsilon : float, default=1e-8
        Added to the root of the second moment.

    References
    ----------
    D. P. Kingma and J. Ba. Adam: a method for stochastic optimization.
    ICLR 2015.
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
        """Take one step along ``grad``.

        Parameters
        ----------
        theta : ndarray of shape (n_params,)
            The parameters.
        grad : ndarray of shape (n_params,)
            The gradient of the loss at ``theta``.

        Returns
        -------
        theta : ndarray of shape (n_params,)
            The new parameters (a new array), within the bounds.
        """
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

    def run_epoch(self, fun, theta, n_samples, batch_size, rng,
                  sample_weight=None):
        """Run one pass over shuffled minibatches.

        A minibatch whose loss or gradient is non-finite stops the epoch:
        the parameters of the last finite evaluation are returned with loss
        nan.  The pass holds BLAS to one thread
        (:class:`single_threaded_blas`).

        Parameters
        ----------
        fun : callable
            ``fun(theta, rows) -> (loss, gradient)`` on the samples
            ``rows`` (sorted indices).
        theta : ndarray of shape (n_params,)
            The parameters at the start of the epoch.
        n_samples : int
            Number of samples to shuffle.
        batch_size : int
            Samples per minibatch (the last may be smaller).
        rng : numpy.random.RandomState
            Draws the order.
        sample_weight : ndarray of shape (n_samples,), default=None
            Non-negative weights of the samples, when ``fun`` returns the
            weighted mean loss over ``rows``: the epoch's loss is then
            weighted by the minibatches' sums of weights, and a minibatch
            whose weights are all zero takes no step.

        Returns
        -------
        theta : ndarray of shape (n_params,)
            The parameters after the epoch.
        loss : float
            The mean loss over the epoch's minibatches, weighted by their
            sizes (or sums of weights); nan if a minibatch was non-finite.
        """
        order = rng.permutation(n_samples)
        total = 0.0
        good = theta
        for start in range(0, n_samples, batch_size):
            rows = np.sort(order[start:start + batch_size])
            size = (len(rows) if sample_weight is None
                    else float(np.sum(sample_weight[rows])))
            if size == 0:
                continue
            loss, grad = fun(theta, rows)
            if not (np.isfinite(loss) and np.all(np.isfinite(grad))):
                return good, float("nan")
            good = theta
            total += loss * size
            theta = self.step(theta, grad)
        if sample_weight is not None:
            return theta, total / float(np.sum(sample_weight))
        return theta, total / n_samples

    run_epoch = single_threaded_blas()(run_epoch)  # as a decorator


@single_threaded_blas()
def adam(fun, theta0, *, n_samples, batch_size, rng, learning_rate=1e-3,
         bounds=(None, None), max_iter=200, tol=1e-4, n_iter_no_change=10,
         stochastic=False, accept=None, sample_weight=None, verbose=0):
    """Minimise ``fun`` by epochs of :class:`Adam` over shuffled minibatches.

    Every epoch is one :meth:`Adam.run_epoch`, one pass over ``n_samples``
    samples in minibatches of ``batch_size``.  The run stops when the
    epoch's loss has not fallen below the best so far by ``tol`` times
    ``max(1, |best|)`` for ``n_iter_no_change`` epochs in a row (converged),
    after ``max_iter`` epochs, at a non-finite loss or gradient (diverged:
    the parameters of the last finite evaluation are returned), or at an
    epoch whose parameters ``accept`` rejects (diverged: the parameters
    before that epoch are returned).  A stochastic objective (its loss only
    a surrogate) runs its ``max_iter`` epochs, and that counts as
    converged.  The run holds BLAS to one thread
    (:class:`single_threaded_blas`).

    Parameters
    ----------
    fun : callable
        ``fun(theta, rows) -> (loss, gradient)`` on the samples ``rows``
        (sorted indices), a float and an ndarray of the shape of ``theta``.
    theta0 : ndarray of shape (n_params,)
        The starting point, in float64.
    n_samples : int
        Number of samples to shuffle at every epoch.
    batch_size : int
        Samples per minibatch (the last may be smaller).
    rng : numpy.random.RandomState
        Draws the order of every epoch.
    learning_rate : float, default=1e-3
        Step size of Adam.
    bounds : tuple of (ndarray or None, ndarray or None), default=(None, None)
        ``(lower, upper)``, arrays like ``theta0`` (``-inf``/``inf`` for no
        bound) or None for none; kept by clipping after every step.
    max_iter : int, default=200
        Maximum epochs.
    tol : float, default=1e-4
        Least relative fall of the loss that counts as progress.
    n_iter_no_change : int, default=10
        Epochs in a row without progress that stop the run.
    stochastic : bool, default=False
        Whether ``fun``'s loss is only a surrogate with nothing to stop on
        (contrastive divergence): the run then takes ``max_iter`` epochs.
    accept : callable, default=None
        ``accept(theta) -> bool``, called with the parameters after every
        epoch whose loss is finite: False stops the run before that epoch
        (for example parameters that are not a model).  None: every
        parameter is accepted.
    sample_weight : ndarray of shape (n_samples,), default=None
        Weights of the samples, when ``fun`` returns the weighted mean loss
        over ``rows`` (see :meth:`Adam.run_epoch`).  None: every sample
        counts once.
    verbose : int, default=0
        Print the loss after every epoch.

    Returns
    -------
    result : OptimizeResult
        The parameters, epochs run, loss curve (one mean loss per accepted
        epoch), status, and the Adam state to continue from
        (``optimizer``).
    """
    theta = np.asarray(theta0, dtype=np.float64)
    opt = Adam(len(theta), learning_rate, *bounds)
    losses = []
    best, stall = np.inf, 0
    converged = False
    message = (f"ran its max_iter={max_iter} epochs (a stochastic objective "
               "has nothing to stop on)" if stochastic else
               f"stopped after max_iter={max_iter} epochs")
    for epoch in range(max_iter):
        previous = theta
        theta, loss = opt.run_epoch(fun, theta, n_samples, batch_size, rng,
                                    sample_weight)
        if not np.isfinite(loss):
            return OptimizeResult(theta, epoch + 1, losses, converged=False,
                                  diverged=True,
                                  message="the loss or its gradient became "
                                          "non-finite")
        if accept is not None and not accept(theta):
            return OptimizeResult(previous, epoch + 1, losses,
                                  converged=False, diverged=True,
                                  message=f"accept rejected the parameters "
                                          f"of epoch {epoch + 1}")
        losses.append(loss)
        if verbose:
            print(f"Epoch {epoch + 1}, loss = {loss:.6g}")
        if stochastic:
            # A surrogate loss: nothing to stop on, so the run takes its
            # max_iter epochs and that is not a failure.
            converged = True
            continue
        if loss > best - tol * max(1.0, abs(best)):
            stall += 1
        else:
            stall = 0
        best = min(best, loss)
        if stall >= n_iter_no_change:
            converged = True
            message = (f"the loss fell by less than tol for "
                       f"n_iter_no_change={n_iter_no_change} epochs")
            break
    return OptimizeResult(theta, len(losses), losses, converged=converged,
                          diverged=False, message=message, optimizer=opt)


@dataclass
class _Run:
    """One start of ``fit``: its energy, starting point, the optimiser's
    result, the final training loss that ranks it and the objective's state
    (``_objective_state``) to keep if it is chosen."""

    energy: object
    theta0: np.ndarray
    result: OptimizeResult
    loss: float
    state: dict

    @property
    def rank(self):
        """The lowest final training loss is best; diverged runs only if
        all are."""
        return (self.result.diverged, self.loss)
