"""An objective bound to its data: the loss the optimisers minimise.

:class:`TrainingLoss` is the executor of the objectives' contract
(:class:`~sksm.objectives.base.Objective`): it draws what is random in the
loss, once per canonical chunk of rows and from that chunk's own seed,
evaluates the chunks on threads and sums them exactly, so that a fit does
not depend on the number of threads nor on how the rows were split in
blocks (:mod:`sksm.cluster`).
"""

from concurrent.futures import ThreadPoolExecutor
from inspect import signature

import numpy as np

from .._parallel import single_threaded_blas
from .._reductions import ExactSum, chunk_bounds, chunk_rows, exact_total

__all__ = ["TrainingLoss"]


def _takes_sample_weight(function):
    """Whether ``function`` accepts the keyword ``sample_weight``."""
    parameters = signature(function).parameters.values()
    return any(p.name == "sample_weight" or p.kind == p.VAR_KEYWORD
               for p in parameters)


class TrainingLoss:
    """An objective bound to its data, ``fun(theta, rows) -> (loss, grad)``.

    With ``rows`` None the loss is over all the data: the mean of the
    objective over the canonical chunks of rows (``chunk_bounds`` of
    ``chunk_rows`` in :mod:`sksm._reductions`), each chunk's random inputs
    drawn once from its own seed (a deterministic function for L-BFGS), the
    chunks' losses summed by :func:`math.fsum` and their gradients by an
    order-independent exact sum.  The result is then the same, bit for bit,
    for any number of threads and for data split in blocks of whole chunks
    (:mod:`sksm.cluster`).  A stochastic objective is evaluated on all rows
    at once, drawn afresh.  With ``rows`` (a minibatch, for Adam) the random
    inputs are drawn afresh for every call.  Made by
    :meth:`Objective.loss_function <sksm.objectives.Objective.loss_function>`.

    The objective is called with the keywords of its contract:
    ``objective.draw(batch, rng, energy=, reg_lambda=, state=)`` and
    ``objective.value_and_grads(network, batch, drawn, reg_lambda=,
    n_threads=)``.

    Parameters
    ----------
    objective : Objective
        The loss.
    energy : sksm.energies.base.Energy
        The energy whose parameters ``theta`` are.
    data : ndarray of shape (n_samples, ...)
        The training data, in the energy's dtype.
    rng : numpy.random.RandomState
        The source of what is random in the loss.
    reg_lambda : float
        The estimator's regularisation strength.
    n_threads : int
        Threads evaluating chunks of rows.
    state : dict
        Kept by the caller across calls.
    first_chunk : int, default=0
        The index of this data's first chunk among the chunks of all the
        rows (when ``data`` is one block of a larger array).
    n_total : int, default=None
        The number of all rows; None: ``len(data)``.
    seed : int, default=None
        The seed from which every chunk's random inputs are drawn; None:
        drawn from ``rng`` at the first evaluation.
    sample_weight : ndarray of shape (n_samples,), default=None
        Positive weights of the rows of ``data`` (in memory, ``n_total``
        None): the loss over all the data is the weighted mean, each
        chunk's (weighted) mean times the sum of its weights, divided by
        the sum of all; a minibatch's loss is the weighted mean over its
        rows.  None: every row counts once.

    Raises
    ------
    TypeError
        If ``sample_weight`` is given and the objective's
        ``value_and_grads`` takes no ``sample_weight``.
    """

    def __init__(self, objective, energy, data, rng, reg_lambda, n_threads,
                 state, first_chunk=0, n_total=None, seed=None,
                 sample_weight=None):
        self.objective = objective
        self.energy, self.data, self.rng = energy, data, rng
        self.reg_lambda = float(reg_lambda)
        self.n_threads = n_threads
        self.state = state
        self.first_chunk = first_chunk
        self.n_total = len(data) if n_total is None else n_total
        self.seed = seed
        self._fixed = None
        self.sample_weight = None
        if sample_weight is not None:
            if not _takes_sample_weight(objective.value_and_grads):
                raise TypeError(
                    f"{type(objective).__name__}.value_and_grads takes no "
                    "sample_weight, so it cannot be fitted with weights; "
                    "add the argument (see sksm.objectives.Objective), or "
                    "repeat rows instead of weighting them.")
            self.sample_weight = np.asarray(sample_weight, dtype=np.float64)
            self.n_total = exact_total(self.sample_weight)

    @property
    def stochastic(self):
        """Whether the objective's gradient is only a stochastic estimate."""
        return self.objective.stochastic

    def _draw(self, batch, rng):
        """The objective's random inputs for ``batch``, drawn from ``rng``."""
        return self.objective.draw(batch, rng, energy=self.energy,
                                   reg_lambda=self.reg_lambda,
                                   state=self.state)

    def _value_and_grads(self, network, batch, drawn, n_threads,
                         weights=None):
        """The objective's loss on ``batch`` and its layer gradients
        (``weights``: of the rows of ``batch``, passed only when given)."""
        extra = {} if weights is None else {"sample_weight": weights}
        return self.objective.value_and_grads(
            network, batch, drawn, reg_lambda=self.reg_lambda,
            n_threads=n_threads, **extra)

    def _weights(self, rows):
        """The weights of ``rows`` (a slice or indices), or None."""
        return None if self.sample_weight is None else self.sample_weight[rows]

    def __call__(self, theta, rows=None):
        if rows is None and not self.stochastic:
            loss, grad = self.sums(theta)
            return exact_total(loss) / self.n_total, grad.value() / self.n_total
        self.energy.set_params(theta)
        if rows is None:
            batch, weights = self.data, self.sample_weight
            if self._fixed is None or self.stochastic:
                self._fixed = self._draw(batch, self.rng)
            drawn = self._fixed
        else:
            batch, weights = self.data[rows], self._weights(rows)
            drawn = self._draw(batch, self.rng)
        with np.errstate(over="ignore", invalid="ignore"):
            loss, grads = self._value_and_grads(
                self.energy.network, batch, drawn, self.n_threads, weights)
            return loss, self.energy.params_gradient(grads).astype(np.float64)

    def _chunks(self):
        """``(bounds, drawn)`` of the canonical chunks, drawn once."""
        if self._fixed is None:
            if self.seed is None:
                self.seed = int(self.rng.randint(np.iinfo(np.int32).max))
            bounds = chunk_bounds(len(self.data), chunk_rows(self.data),
                                  self.first_chunk * chunk_rows(self.data))
            drawn = [self._draw(self.data[a:b],
                                np.random.RandomState([self.seed, index]))
                     for index, a, b in bounds]
            self._fixed = (bounds, drawn)
        return self._fixed

    def sums(self, theta):
        """Sum the loss and its gradient over the canonical chunks.

        Parameters
        ----------
        theta : ndarray of shape (n_params,)
            The parameters.

        Returns
        -------
        losses : list of float
            Every chunk's loss times its number of rows (the sum of its
            weights, with ``sample_weight``).
        grad : ExactSum
            The exact sum of the chunks' gradients times their numbers of
            rows (or sums of weights).
        """
        self.energy.set_params(theta)
        bounds, drawn = self._chunks()
        jobs = list(zip(bounds, drawn))
        n_threads = max(1, min(self.n_threads, len(jobs)))

        def work(k):
            network = (self.energy.network if k == 0
                       else self.energy.network.copy())
            losses, grad = [], ExactSum()
            for (_, a, b), chunk_drawn in jobs[k::n_threads]:
                weights = self._weights(slice(a, b))
                size = b - a if weights is None else exact_total(weights)
                with np.errstate(over="ignore", invalid="ignore"):
                    value, grads = self._value_and_grads(
                        network, self.data[a:b], chunk_drawn, 1, weights)
                    g = self.energy.params_gradient(grads)
                losses.append(float(value) * size)
                grad.add(g.astype(np.float64) * size)
            return losses, grad

        if n_threads == 1:
            results = [work(0)]
        else:
            with single_threaded_blas(), ThreadPoolExecutor(n_threads) as pool:
                results = list(pool.map(work, range(n_threads)))
        losses, grad = results[0]
        for more, other in results[1:]:
            losses = losses + more
            grad.merge(other)
        return losses, grad
