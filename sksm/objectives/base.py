"""The contract of the training objectives.

An objective is a small estimator-like object: its settings are constructor
parameters (so ``GridSearchCV`` reaches them as ``objective__<name>``) and
it owns its loss-and-gradient.  Adding an objective is writing one subclass
of :class:`Objective`: :meth:`~Objective.draw` (what is random in the loss)
and :meth:`~Objective.value_and_grads` (the loss and the layer gradients, a
function of :mod:`sksm.objectives`).  Both receive what they use as
arguments: the source of random numbers, the energy, the estimator's
``reg_lambda``, the state kept across fits, the number of threads.  The
executor that calls them, chunk by chunk, and sums the chunks exactly is
:class:`~sksm.objectives.TrainingLoss`, made by
:meth:`Objective.loss_function`.
"""

from sklearn.base import BaseEstimator

from ._loss import TrainingLoss

__all__ = ["Objective"]


class Objective(BaseEstimator):
    """Base class of the training objectives.

    Subclasses set their settings in ``__init__`` (scikit-learn's rules:
    stored as given, validated by ``_parameter_constraints`` and
    :meth:`check` when a fit starts) and implement :meth:`value_and_grads`
    and, if the loss has random inputs, :meth:`draw`.  The two are called
    by :class:`~sksm.objectives.TrainingLoss` once per chunk of rows (or
    per minibatch), with keyword arguments only for what the loss may need;
    they must draw from the ``rng`` they are given and from nothing else,
    so that the chunks' draws do not depend on the order in which the
    chunks are evaluated.

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

        Called when a fit starts.

        Parameters
        ----------
        reg_lambda : float
            The estimator's regularisation strength (the noise level of
            ``training_noise='auto'``).

        Raises
        ------
        ValueError, TypeError
            For settings out of range (scikit-learn's parameter checks) or
            inconsistent with ``reg_lambda``.
        """
        self._validate_params()

    def draw(self, batch, rng, *, energy, reg_lambda, state):
        """Draw the random inputs of the loss for ``batch``.

        Parameters
        ----------
        batch : ndarray of shape (n_samples, ...)
            The samples of this evaluation (a chunk of rows or a
            minibatch).
        rng : numpy.random.RandomState
            The only source of random numbers: the chunk's own, seeded for
            it, or the fit's for a minibatch.
        energy : sksm.energies.base.Energy
            The energy being fitted, at the current parameters (the
            negative samples of contrastive divergence are drawn from it).
        reg_lambda : float
            The estimator's regularisation strength.
        state : dict
            Kept by the estimator across calls, fits and ``partial_fit``
            calls (the chains of persistent contrastive divergence); the
            objective may update it.

        Returns
        -------
        drawn : object or None
            What :meth:`value_and_grads` takes as ``drawn`` (noise,
            directions, negative samples); None for a deterministic loss,
            which is what this default gives.
        """
        return None

    def value_and_grads(self, network, batch, drawn, *, reg_lambda,
                        n_threads, sample_weight=None):
        """Compute the loss on ``batch`` and its gradients in the layers.

        Parameters
        ----------
        network : EnergyNetwork
            The energy's network, at the parameters to evaluate.
        batch : ndarray of shape (n_samples, ...)
            The samples.
        drawn : object or None
            What :meth:`draw` returned for ``batch``.
        reg_lambda : float
            The estimator's regularisation strength.
        n_threads : int
            Threads the loss may use on ``batch`` (1 when the chunks are
            already evaluated in parallel).
        sample_weight : ndarray of shape (n_samples,), default=None
            Positive weights of the samples of ``batch`` (float64): the
            loss is then their weighted mean, so that integer weights give
            the loss of the samples repeated.  Passed only when the fit was
            given ``sample_weight``; an objective without this argument
            cannot be fitted with weights.

        Returns
        -------
        value : float
            The loss, a mean over the samples (weighted by
            ``sample_weight``).
        grads : list of dict
            ``network.grads``: the gradient with respect to every layer's
            parameters.
        """
        raise NotImplementedError  # pragma: no cover - abstract

    def loss_function(self, energy, data, rng, *, reg_lambda, n_threads=1,
                      state=None, sample_weight=None):
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
            inside :class:`~sksm.optim.single_threaded_blas` (the
            optimisers of :mod:`sksm.optim` do).
        state : dict, default=None
            Kept across calls by the caller (the chains of persistent
            contrastive divergence); None: a fresh one.
        sample_weight : ndarray of shape (n_samples,), default=None
            Positive weights of the rows of ``data``: the loss is their
            weighted mean.  None: every row counts once.

        Returns
        -------
        fun : TrainingLoss
            ``fun(theta, rows=None) -> (loss, gradient)``.

        Raises
        ------
        TypeError
            If ``sample_weight`` is given and :meth:`value_and_grads` takes
            no ``sample_weight``.
        """
        return TrainingLoss(self, energy, data, rng, reg_lambda, n_threads,
                            {} if state is None else state,
                            sample_weight=sample_weight)
