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

import numpy as np
from sklearn.base import BaseEstimator

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

    With ``rows`` None the loss is over all the data and its random inputs
    are drawn once (a deterministic function for L-BFGS), unless the
    objective is stochastic; with ``rows`` (a minibatch, for Adam) they are
    drawn afresh for every call.  Made by :meth:`Objective.loss_function`.

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
    """

    def __init__(self, objective, energy, data, rng, reg_lambda, n_threads,
                 state):
        self.objective = objective
        self.energy, self.data, self.rng = energy, data, rng
        self.reg_lambda = float(reg_lambda)
        self.n_threads = n_threads
        self.state = state
        self._fixed = None

    @property
    def stochastic(self):
        """Whether the objective's gradient is only a stochastic estimate."""
        return self.objective.stochastic

    def __call__(self, theta, rows=None):
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
