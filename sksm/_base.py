"""Fitting machinery shared by the estimators (PoE, FoE and GaussianRBM).

A subclass says how its data become the energy's input (``_fit_data``,
``_partial_fit_data``) and which energy to start from and to return
(``_initial_energy``, ``_fitted_energy``); everything about solvers, runs,
divergence and warnings lives here, the optimisers in :mod:`sksm.optim` and
the filters and expert weights of PoE and FoE in :mod:`sksm._experts_base`.
"""

from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions

from ._dask import (
    ClusterData,
    RowBlocks,
    block_inputs,
    block_moments,
    check_dask_rows,
    is_dask_array,
)
from ._criteria import InformationCriteriaMixin
from ._density import DensityMixin
from ._parallel import blas_threads, single_threaded_blas
from ._progress import announce_fit, timed, warn_diverged, warn_fit_outcome
from ._reductions import chunk_rows, exact_moments
from ._validation import (Fitted, Interval, SavedModel, available_if,
                          check_fit_weights, partial_fit_refusal)
from .objectives import OBJECTIVES, Objective, check_objective
from .optim import Adam, _Run, adam, lbfgs

__all__ = ["DOC_URL", "BaseEnergyEstimator"]

#: Where the documentation lives: the "?" of every estimator's HTML repr
#: links to its page of the API reference there (doc/conf.py builds the site
#: with this base address).
DOC_URL = "https://sksm.readthedocs.io/en/stable/"


class BaseEnergyEstimator(SavedModel, DensityMixin, InformationCriteriaMixin,
                          BaseEstimator, metaclass=ABCMeta):
    """Fit of an energy by one of the objectives; see the subclasses.

    A subclass says how its data become the energy's input (``_fit_data``,
    ``_partial_fit_data``), builds the first energy (``_initial_energy``) and
    the fitted one (``_fitted_energy``), stores what was learned (``_store``)
    and may bound the parameters (``_box``).  Score, sampling and
    log-likelihood estimation come from :class:`~sksm._density.DensityMixin`.
    """

    # The "?" link of the HTML repr (scikit-learn's
    # _HTMLDocumentationLinkMixin): every public estimator is documented as
    # sksm.<Name> in the API reference, whatever module defines it.
    _doc_link_module = "sksm"
    _doc_link_template = DOC_URL + "generated/sksm.{estimator_name}.html"

    _parameter_constraints = {
        "reg_lambda": [Interval(Real, 0, None, closed="left")],
        "objective": [StrOptions(set(OBJECTIVES)), Objective],
        "solver": [StrOptions({"auto", "lbfgs", "adam"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"),
                       StrOptions({"auto"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    #: The fitted state, declared for :mod:`sksm.io` (see
    #: :class:`sksm._validation.Fitted`); subclasses add theirs.
    _fitted_attributes = {
        "n_features_in_": Fitted("size"),
        "feature_names_in_": Fitted("names", optional=True),
        "n_iter_": Fitted("count"),
        "loss_curve_": Fitted("curve", optional=True),
        "log_partition_": Fitted("real", optional=True),
        "log_partition_std_": Fitted("real", optional=True),
    }

    def set_params(self, **params):
        # objective__<name> works for an objective string too ('dsm'): the
        # string becomes the instance it stands for, whose settings
        # GridSearchCV then sets (get_params lists none for a string, so
        # that type(est)(**est.get_params()) keeps working)
        nested = {k: params.pop(k) for k in list(params)
                  if k.startswith("objective__")}
        super().set_params(**params)
        if nested and isinstance(self.objective, str):
            self.objective = check_objective(self.objective)
        return super().set_params(**nested)

    # -------------------------------------------------------------- #
    # Hooks every estimator provides (and those of DensityMixin)
    # -------------------------------------------------------------- #
    @abstractmethod
    def _fit_data(self, X, sample_weight=None):
        """Validate X (and ``sample_weight``), set data-derived attributes,
        return the energy input and the weights of its rows (see
        :meth:`_fit_rows`)."""

    @abstractmethod
    def _partial_fit_data(self, X, first):
        """The energy's input of a minibatch (``first``: the first call)."""

    @abstractmethod
    def _initial_energy(self, data, rng, restart=False, sample_weight=None):
        """The energy to start fitting ``data`` (the energy's input) from;
        ``restart``: a later start of ``n_init``; ``sample_weight``: the
        weights of the rows of ``data``, or None."""

    @abstractmethod
    def _fitted_energy(self, dtype=None):
        """The learned energy, in ``dtype`` (None: the fitted one)."""

    # -------------------------------------------------------------- #
    # Optional hooks, with their defaults
    # -------------------------------------------------------------- #
    def __sksm_check_fitted__(self):
        """Raise ValueError if fitted values disagree with each other.

        A protocol, as scikit-learn's ``__sklearn_is_fitted__``:
        :func:`sksm.io.load_model` calls it after checking each value
        against ``_fitted_attributes``; subclasses add their own checks.
        """
        names = getattr(self, "feature_names_in_", None)
        if names is not None and len(names) != self.n_features_in_:
            raise ValueError(f"feature_names_in_ has {len(names)} names for "
                             f"{self.n_features_in_} features.")

    def _store(self, energy):
        """Keep the fitted parameters; subclasses call this too."""
        self._forget_log_partition()

    def _box(self, energy):
        """Lower and upper bounds of theta (None, None: unbounded)."""
        return None, None

    def _at_weight_bound(self):
        """Whether a fitted weight sits at its upper bound (a divergence)."""
        return False

    def _divergence_advice(self):
        """What to try after a divergence, ending the warning's sentence."""
        return "increase reg_lambda or lower learning_rate."

    def _model_fault(self, energy):
        """Why ``energy`` is not a model the estimator can return (for
        example a density that is not normalisable), or None.  Adam stops
        before a step that makes one."""

    # Data held in blocks of rows on a Dask cluster (:mod:`sksm.cluster`):
    # the blocks are validated and summarised where they live, the summaries
    # merged here, and the energy's input is made block by block.  The fit
    # in memory takes the same path with one block, so both give the same
    # statistics to the last bit.
    def _cluster_shape(self, n_features):
        """Set what the number of features fixes, for a fit on a Dask array
        (the array's rows carry no feature names)."""
        self.n_features_in_ = n_features
        self.__dict__.pop("feature_names_in_", None)

    def _input_row_shape(self):
        """The shape of one row of the energy's input."""
        return (self.n_features_in_,)

    def _check_block(self, block):
        """Raise ValueError for rows the fit refuses (where they live)."""

    def _statistics_values(self, block):
        """The per-row values whose moments the fit needs (2-D), or None."""

    def _set_statistics(self, n, mean, var, low, high):
        """Set the data-derived attributes from the moments of the
        ``_statistics_values`` of all the rows (see :func:`exact_moments`)."""

    def _energy_input(self, block):
        """The energy's input made of one block of validated rows."""
        return block

    def _dask_fit_data(self, X, sample_weight=None):
        """The statistics and the energy's input of the Dask array ``X``,
        validated and made where its blocks live (:mod:`sksm._dask`)."""
        X = check_dask_rows(X, type(self).__name__, self._solver(),
                            sample_weight)
        self._cluster_shape(X.shape[1])
        blocks = RowBlocks(X, self._input_row_shape())
        moments = block_moments(blocks, self._check_block,
                                self._statistics_values)
        if moments is not None:
            self._set_statistics(*moments)
        return block_inputs(blocks, self._energy_input)

    def _fit_rows(self, X, sample_weight=None):
        """The statistics and the energy's input of validated rows ``X``
        in memory (one block), and its rows' weights (``check_fit_weights``).
        Rows and input in C order and aligned, as the blocks of a Dask
        array are made: the sums of a chunk depend on its memory layout."""
        X, weights = check_fit_weights(sample_weight, X, type(self).__name__)
        X = np.require(X, requirements=["C", "A"])
        self._check_block(X)
        values = self._statistics_values(X)
        if values is not None:
            size = chunk_rows(np.empty((0,) + self._input_row_shape()))
            self._set_statistics(*exact_moments(values, size, weights))
        return (np.require(self._energy_input(X), requirements=["C", "A"]),
                weights)

    def _objective(self, energy, data, rng, n_threads=1, sample_weight=None):
        """``theta -> (loss, grad)`` of ``objective`` on ``data`` (or its
        ``rows``), with the state it keeps across calls (``_objective_state``);
        the weighted mean with ``sample_weight`` (of the rows of ``data``).

        Run it inside :func:`~sksm._parallel.single_threaded_blas`: it uses
        ``n_threads`` threads of its own.
        """
        objective = check_objective(self.objective)
        objective.check(self.reg_lambda)
        if isinstance(data, ClusterData):
            return data.loss_function(objective, energy, rng,
                                      reg_lambda=self.reg_lambda)
        if not hasattr(self, "_objective_state"):
            self._objective_state = {}
        return objective.loss_function(energy, data, rng,
                                       reg_lambda=self.reg_lambda,
                                       n_threads=n_threads,
                                       state=self._objective_state,
                                       sample_weight=sample_weight)

    # -------------------------------------------------------------- #
    # Fitting
    # -------------------------------------------------------------- #
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the model to ``X`` by minimising ``objective``.

        A :class:`dask.array.Array` is fitted where its blocks of rows live
        (on the cluster of the active :class:`distributed.Client`, else by
        Dask's local scheduler): every L-BFGS step sums the blocks' losses and
        gradients (:func:`sksm.cluster.chunk_loss_and_gradient`), so only
        parameter and gradient vectors travel, and the model is the one
        fitted on the same rows in memory, to the last bit (see the user
        guide, "Past one machine: Dask").

        Parameters
        ----------
        X : array-like or dask.array.Array of shape (n_samples, n_features)
            Training data, at least 2 rows (for a Field of Experts, images
            of ``image_shape`` as rows of pixels); float32 data is fitted in
            float32.  Not modified.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (of the images, for a Field of
            Experts: a weight counts for all the positions of its image).
            Every mean over rows that the fit computes is weighted, the loss
            and the statistics of the data (``mean_``, ``scale_`` and the
            whitening start of a PoE, the brightness of a FoE, the start of
            an RBM's visible biases), so integer weights fit the rows
            repeated.  Rows of weight 0 are left out.  Adam takes the
            weighted mean loss of each minibatch, drawn as without weights
            (User Guide, "Sample weights").  Not for a Dask array, nor with
            ``init='ica'``.  None: every row counts once.  Not modified.

        Returns
        -------
        self : object
            Fitted estimator.

        Raises
        ------
        ValueError
            If a parameter is out of range, ``X`` does not hold numbers,
            holds NaN or infinity, has fewer than 2 rows or values whose
            squares overflow, a Field of Experts' images are smaller than
            its filters, a stochastic objective ('cd') is used with
            ``solver='lbfgs'``, or a Dask array with ``solver='adam'``; if
            ``sample_weight`` is not one finite, non-negative number per
            row with at least 2 positive, or is given with a Dask array or
            ``init='ica'``.
        TypeError
            If ``X`` is sparse, or ``sample_weight`` is given for an
            objective whose loss takes no weights.

        Warns
        -----
        sklearn.exceptions.ConvergenceWarning
            If the fit stops at ``max_iter``, takes no step, diverges, or
            ends with a model that is not a density.
        UserWarning
            At ``verbose=0``, if the fit expects to take more than a minute
            (``max_iter`` times the time of its first evaluations); with
            ``verbose`` that estimate is printed instead.
        """
        if (check_objective(self.objective).stochastic
                and self._solver() == "lbfgs"):
            raise ValueError(
                f"objective={self.objective!r} gives a stochastic gradient "
                "and no loss to line-search on; use solver='adam' with it.")
        if is_dask_array(X):
            data, weights = self._dask_fit_data(X, sample_weight), None
        else:
            data, weights = self._fit_data(X, sample_weight)
        rng = check_random_state(self.random_state)
        warm = getattr(self, "warm_start", False) and self._is_warm()
        best, n_runs = None, self._n_runs()
        for k in range(n_runs):
            run = self._fit_run(data, rng, restart=k > 0, compare=n_runs > 1,
                                sample_weight=weights)
            if best is None or run.rank < best.rank:
                best = run
        energy, result = best.energy, best.result
        theta = result.theta
        self.n_iter_, self.loss_curve_ = result.n_iter, result.loss_curve
        self._optimizer = result.optimizer
        self._objective_state = best.state
        if self._optimizer is not None:
            self._rng = rng
        energy.set_params(theta)
        self._store(energy)
        warn_fit_outcome(
            type(self).__name__, self._solver(), self.max_iter, result,
            fault=self._model_fault(energy), stuck=self._at_weight_bound(),
            no_step=np.array_equal(theta, best.theta0), warm=warm,
            advice=self._divergence_advice())
        return self

    def _solver(self):
        """The solver of a fit: ``solver``, where 'auto' is 'adam' for a
        stochastic objective (contrastive divergence) and 'lbfgs' for the
        others."""
        if self.solver != "auto":
            return self.solver
        stochastic = check_objective(self.objective).stochastic
        return "adam" if stochastic else "lbfgs"

    def _n_runs(self):
        """Number of starts ``fit`` tries: ``n_init``, where a subclass has
        it, except when ``warm_start`` continues from a fitted model."""
        if getattr(self, "warm_start", False) and self._is_warm():
            return 1
        return getattr(self, "n_init", 1)

    def _is_warm(self):
        """Whether ``fit`` would continue from the fitted parameters (none
        by default)."""
        return False

    def _fit_run(self, data, rng, restart=False, compare=True,
                 sample_weight=None):
        """One fit from a new start drawn from ``rng``, as a :class:`_Run`
        (``compare``: find its final loss, even without an iteration;
        ``sample_weight``: of the rows of ``data``)."""
        with single_threaded_blas():  # the start, as every thread count
            energy = self._initial_energy(data, rng, restart=restart,
                                          sample_weight=sample_weight)
        self._objective_state, self._optimizer = {}, None
        fun = self._objective(energy, data, rng, n_threads=blas_threads(),
                              sample_weight=sample_weight)
        stochastic = getattr(fun, "stochastic", False)
        if not restart:  # say what the fit will cost, once its pace is
            # known: the faster of the first two calls (the first warms
            # caches), or the first if an epoch is one minibatch
            n, solver = len(data), self._solver()
            fun = timed(fun, lambda seconds: announce_fit(
                type(self).__name__, solver, seconds, n, self._batch_size(n),
                self.max_iter, self._n_runs(), self.verbose),
                at_call=2 if solver == "lbfgs" or self._batch_size(n) < n
                else 1)
        theta0 = energy.get_params().astype(np.float64)
        box = self._box(energy)
        if box[0] is not None:  # a start rounded (float32) out of the box
            theta0 = np.clip(theta0, *box)
        with single_threaded_blas():
            if self._solver() == "lbfgs":
                result = lbfgs(fun, theta0, bounds=box,
                               max_iter=self.max_iter, tol=self.tol,
                               verbose=self.verbose)
            else:
                def accept(theta):
                    energy.set_params(theta)
                    return self._model_fault(energy) is None

                result = adam(
                    fun, theta0, n_samples=len(data),
                    batch_size=self._batch_size(len(data)), rng=rng,
                    learning_rate=self.learning_rate,
                    bounds=box, max_iter=self.max_iter,
                    tol=self.tol, n_iter_no_change=self.n_iter_no_change,
                    stochastic=stochastic, accept=accept,
                    sample_weight=sample_weight, verbose=self.verbose)
        if result.loss_curve:
            loss = result.loss_curve[-1]
        elif result.diverged or not compare or stochastic:
            loss = np.inf
        else:  # no iteration: the loss where the run stopped
            with single_threaded_blas():
                loss = float(fun(result.theta)[0])
        return _Run(energy, theta0, result, loss, self._objective_state)

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        return min(self.batch_size, n_samples)

    def _warn_diverged(self):
        warn_diverged(type(self).__name__, self._divergence_advice())

    def _partial_fit_refused(self):
        """Why ``partial_fit`` does not exist with these settings (the
        message of its ``AttributeError``), or None: it needs Adam."""
        try:
            solver = self._solver()
        except (TypeError, ValueError):  # a bad objective: fit says so
            solver = self.solver
        if solver == "adam":
            return None
        return partial_fit_refusal(type(self).__name__, self.solver,
                                   solver, self.objective)

    @available_if(_partial_fit_refused)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Run one Adam epoch over the minibatch ``X`` (``solver='adam'``).

        The first call initialises the model; later calls continue from it,
        with the Adam state, the random stream and the running statistics
        of the data (the PoE's ``mean_`` and ``scale_``) kept on the
        estimator.  As with :class:`~sklearn.neural_network.MLPClassifier`,
        it exists only for the stochastic solver: with ``solver='lbfgs'``
        the attribute is missing and calling it raises ``AttributeError``.
        Like :meth:`sklearn.neural_network.BernoulliRBM.partial_fit`, one
        call is one pass over ``X`` in minibatches of ``batch_size``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A minibatch.  Not modified.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The updated estimator.

        Raises
        ------
        ValueError
            If ``X`` holds NaN or infinity, values whose squares overflow,
            or (after the first call) a different number of features.
        """
        first = not hasattr(self, "n_iter_")
        data = self._partial_fit_data(X, first)
        if first:
            self._rng = check_random_state(self.random_state)
            self.n_iter_, self.loss_curve_ = 0, []
            with single_threaded_blas():  # the start, as every thread count
                energy = self._initial_energy(data, self._rng)
        else:
            energy = self._fitted_energy()
            if not hasattr(self, "_rng"):
                self._rng = check_random_state(self.random_state)
        data = data.astype(energy.dtype, copy=False)
        if getattr(self, "_optimizer", None) is None:
            self._optimizer = Adam(energy.n_params, self.learning_rate,
                                   *self._box(energy))
        fun = self._objective(energy, data, self._rng,
                              n_threads=blas_threads())
        previous = energy.get_params().astype(np.float64)
        with single_threaded_blas():
            theta, loss = self._optimizer.run_epoch(
                fun, previous, len(data), self._batch_size(len(data)),
                self._rng)
        energy.set_params(theta)
        if self._model_fault(energy) is not None:
            energy.set_params(previous)
            loss = float("nan")
        self._store(energy)
        self.n_iter_ += 1
        if np.isfinite(loss):
            self.loss_curve_.append(loss)
        if not np.isfinite(loss) or self._at_weight_bound():
            self._warn_diverged()
        return self
