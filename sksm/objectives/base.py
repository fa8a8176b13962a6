"""The base of the training objectives, and an objective bound to its data.

An objective is a small estimator-like object: its settings are constructor
parameters (so ``GridSearchCV`` reaches them as ``objective__<name>``) and
it owns its loss-and-gradient.  The estimators bind it to an energy and the
data with :meth:`Objective.loss_function`, which gives the
``theta -> (loss, grad)`` callable the optimisers of :mod:`sksm.optim`
minimise.  Adding an objective is writing one subclass: :meth:`draw` (what
is random in the loss) and :meth:`value_and_grads` (the loss and the layer
gradients, a function of :mod:`sksm.objectives`).
"""

import copy
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import BaseEstimator

from .._parallel import single_threaded_blas
from .._reductions import ExactSum, chunk_bounds, chunk_rows, exact_total

__all__ = ["Objective", "TrainingLoss", "noise_levels"]


class Objective(BaseEstimator):
    """Base class of the training objectives.

    Subclasses set their settings in ``__init__`` (scikit-learn's rules:
    stored as given, validated by ``_parameter_constraints`` and
    :meth:`check` when a fit starts) and implement :meth:`value_and_grads`
    and, if the loss has random inputs, :meth:`draw`.

    Attributes
    ----------
    stochastic : bool
        Whether the gradient is only a stochastic estimate with no loss to
        line-search on (contrastive divergence): such an objective needs a
        minibatch solver and is not stopped on its loss.
    """

    stochastic = False

    def check(self, reg_lambda):
        """Validate the settings against the estimator's ``reg_lambda``.

        Parameters
        ----------
        reg_lambda : float
            The estimator's regularisation strength (the noise level of
            ``noise_sigma='auto'``).

        Raises
        ------
        ValueError, TypeError
            For settings out of range (scikit-learn's parameter checks) or
            inconsistent with ``reg_lambda``.
        """
        self._validate_params()

    def draw(self, batch, loss):
        """Draw the random inputs of the loss for ``batch``.

        Parameters
        ----------
        batch : ndarray of shape (n_samples, ...)
            The samples of this evaluation.
        loss : TrainingLoss
            The loss asking: its ``rng``, its ``energy``, its
            ``reg_lambda`` and its ``state``, a dict kept by the estimator
            across fits and ``partial_fit`` calls.

        Returns
        -------
        drawn : object or None
            What :meth:`value_and_grads` takes as ``drawn`` (noise,
            directions, negative samples); None for a deterministic loss.
        """

    def value_and_grads(self, network, batch, drawn, loss):
        """Compute the loss on ``batch`` and its gradients in the layers.

        Parameters
        ----------
        network : EnergyNetwork
            The energy's network, at the parameters to evaluate.
        batch : ndarray of shape (n_samples, ...)
            The samples.
        drawn : object or None
            What :meth:`draw` returned for ``batch``.
        loss : TrainingLoss
            The loss asking (its ``reg_lambda`` and ``n_threads``).

        Returns
        -------
        value : float
            The loss, a mean over the samples.
        grads : list of dict
            ``network.grads``: the gradient with respect to every layer's
            parameters.
        """
        raise NotImplementedError  # pragma: no cover - abstract

    def loss_function(self, energy, data, rng, *, reg_lambda, n_threads=1,
                      state=None):
        """Bind the objective to ``energy`` and ``data``.

        Parameters
        ----------
        energy : sksm.energies.base.Energy
            The energy whose parameters are fitted.
        data : ndarray of shape (n_samples, ...)
            In the energy's dtype.  Not modified.
        rng : numpy.random.RandomState
            The source of what is random in the loss.
        reg_lambda : float
            The estimator's regularisation strength.
        n_threads : int, default=1
            Threads evaluating chunks of rows; run the returned function
            inside :func:`~sksm._parallel.single_threaded_blas`.
        state : dict, default=None
            Kept across calls by the caller (the chains of persistent
            contrastive divergence); None: a fresh one.

        Returns
        -------
        fun : TrainingLoss
            ``fun(theta, rows=None) -> (loss, gradient)``.
        """
        return TrainingLoss(self, energy, data, rng, reg_lambda, n_threads,
                            {} if state is None else state)


def noise_levels(noise_sigma, reg_lambda, objective, single=False):
    r"""Turn the ``noise_sigma`` of an objective into a 1-D array of levels.

    'auto' is :math:`\sqrt{2 \lambda}`, the noise that Kingma & LeCun's
    eq. 6 relates to the curvature penalty ``reg_lambda``.

    Parameters
    ----------
    noise_sigma : 'auto', float or sequence of float
        The setting, in the units of the data.
    reg_lambda : float
        The estimator's regularisation strength.
    objective : str
        The objective's name, for the messages.
    single : bool, default=False
        One level, 0 allowed for no noise, which is also what 'auto' gives
        at ``reg_lambda=0`` (sliced score matching).

    Returns
    -------
    levels : ndarray of shape (n_levels,)
        In float64.

    Raises
    ------
    ValueError
        For levels that are not finite and positive (or 0 with
        ``single``), several levels with ``single``, or 'auto' at
        ``reg_lambda=0`` without ``single``.
    """
    if isinstance(noise_sigma, str):  # "auto"
        if reg_lambda == 0:
            if single:
                return np.zeros(1)
            raise ValueError(
                f"{objective}(noise_sigma='auto') uses sqrt(2 * reg_lambda), "
                "which is 0 for reg_lambda=0; set noise_sigma (the standard "
                "deviation of the training noise) or reg_lambda > 0.")
        return np.array([np.sqrt(2.0 * reg_lambda)])
    try:
        levels = np.atleast_1d(np.asarray(noise_sigma, dtype=np.float64))
    except (TypeError, ValueError):
        levels = np.array([np.nan])
    if (levels.ndim != 1 or levels.size == 0
            or not np.all(np.isfinite(levels))
            or np.any(levels < 0 if single else levels <= 0)):
        what = ("'auto' or a number >= 0" if single else
                "'auto', a positive number or a non-empty 1-D sequence of "
                "positive numbers")
        raise ValueError(f"{objective}: noise_sigma must be {what}, got "
                         f"{noise_sigma!r}.")
    if single and levels.size != 1:
        raise ValueError(
            f"{objective} perturbs the data with one noise level; got "
            f"noise_sigma={noise_sigma!r}. Pass one number (or use "
            "DenoisingScoreMatching for several levels).")
    return levels


class TrainingLoss:
    """An objective bound to its data, ``fun(theta, rows) -> (loss, grad)``.

    With ``rows`` None the loss is over all the data: the mean of the
    objective over the canonical chunks of rows (``chunk_bounds`` of
    ``chunk_rows`` in :mod:`sksm._reductions`), each chunk's random inputs
    drawn once from its own seed (a deterministic function for L-BFGS), the
    chunks' losses summed by :func:`math.fsum` and their gradients by
    :class:`ExactSum`.  The result is then the same, bit for bit, for any
    number of threads and for data split in blocks of whole chunks
    (:mod:`sksm.cluster`).  A stochastic objective is evaluated on all rows
    at once, drawn afresh.  With ``rows`` (a minibatch, for Adam) the random
    inputs are drawn afresh for every call.  Made by
    :meth:`Objective.loss_function`.

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
    """

    def __init__(self, objective, energy, data, rng, reg_lambda, n_threads,
                 state, first_chunk=0, n_total=None, seed=None):
        self.objective = objective
        self.energy, self.data, self.rng = energy, data, rng
        self.reg_lambda = float(reg_lambda)
        self.n_threads = n_threads
        self.state = state
        self.first_chunk = first_chunk
        self.n_total = len(data) if n_total is None else n_total
        self.seed = seed
        self._fixed = None

    @property
    def stochastic(self):
        """Whether the objective's gradient is only a stochastic estimate."""
        return self.objective.stochastic

    def __call__(self, theta, rows=None):
        if rows is None and not self.stochastic:
            loss, grad = self.sums(theta)
            return exact_total(loss) / self.n_total, grad.value() / self.n_total
        self.energy.set_params(theta)
        if rows is None:
            batch = self.data
            if self._fixed is None or self.stochastic:
                self._fixed = self.objective.draw(batch, self)
            drawn = self._fixed
        else:
            batch = self.data[rows]
            drawn = self.objective.draw(batch, self)
        with np.errstate(over="ignore", invalid="ignore"):
            loss, grads = self.objective.value_and_grads(
                self.energy.network, batch, drawn, self)
            return loss, self.energy.params_gradient(grads).astype(np.float64)

    def _chunks(self):
        """``(bounds, drawn)`` of the canonical chunks, drawn once."""
        if self._fixed is None:
            if self.seed is None:
                self.seed = int(self.rng.randint(np.iinfo(np.int32).max))
            bounds = chunk_bounds(len(self.data), chunk_rows(self.data),
                                  self.first_chunk * chunk_rows(self.data))
            single = copy.copy(self)
            drawn = []
            for index, a, b in bounds:
                single.rng = np.random.RandomState([self.seed, index])
                drawn.append(self.objective.draw(self.data[a:b], single))
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
            Every chunk's loss times its number of rows.
        grad : ExactSum
            The exact sum of the chunks' gradients times their numbers of
            rows.
        """
        self.energy.set_params(theta)
        bounds, drawn = self._chunks()
        jobs = list(zip(bounds, drawn))
        n_threads = max(1, min(self.n_threads, len(jobs)))

        def work(k):
            single = copy.copy(self)
            single.n_threads = 1
            network = (self.energy.network if k == 0
                       else self.energy.network.copy())
            losses, grad = [], ExactSum()
            for (_, a, b), chunk_drawn in jobs[k::n_threads]:
                with np.errstate(over="ignore", invalid="ignore"):
                    value, grads = self.objective.value_and_grads(
                        network, self.data[a:b], chunk_drawn, single)
                    g = self.energy.params_gradient(grads)
                losses.append(float(value) * (b - a))
                grad.add(g.astype(np.float64) * (b - a))
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
