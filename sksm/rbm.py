"""The GaussianRBM estimator: a real-valued RBM fitted by score matching."""

from numbers import Integral, Real

import numpy as np
from scipy.special import logsumexp
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._base import BaseEnergyEstimator
from ._validation import (
    Fitted,
    Interval,
    check_fit_range,
    validate_float_data,
)
from ._dask import column_mean
from .energies import GaussianRBMEnergy
from .sampling import Gaussian

__all__ = ["GaussianRBM"]

#: Up to this many hidden units (with ``sigma == 1``) log Z is summed exactly
#: over the 2**n_components hidden states.
MAX_EXACT_COMPONENTS = 16


class GaussianRBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                  BaseEnergyEstimator):
    r"""Gaussian-Bernoulli restricted Boltzmann machine for real-valued data.

    The counterpart of :class:`sklearn.neural_network.BernoulliRBM` for
    real-valued data.  The model is the free energy of a Gaussian-Bernoulli
    RBM (Vincent 2011, Proposition 2)

    .. math::

        E(x) = \frac{1}{\sigma^2} \left( \frac{1}{2} \lVert x - c \rVert^2
               - \sum_{j=1}^{H} \operatorname{softplus}(W_j x + b_j) \right),
        \qquad p(x) = \frac{e^{-E(x)}}{Z},

    fitted by any of the objectives of the package (``objective=``); its
    score :math:`-\nabla E` is :math:`(r(x) - x)/\sigma^2` with the
    reconstruction :math:`r(x) = W^T \operatorname{sigmoid}(W x + b) + c` of
    a tied-weight autoencoder.  Denoising score matching with noise
    ``training_noise == sigma`` is exactly the denoising-autoencoder loss
    divided by :math:`2\sigma^4`.  The energy has one non-linear layer, so
    every objective, Hessian terms included, is exact.

    Read more in the :ref:`User Guide <gaussian_rbm>`.

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units :math:`H`.
    sigma : float, default=1.0
        Standard deviation of the visible units (not learned).  Standardise
        the data (for example with :class:`~sklearn.preprocessing.StandardScaler`
        in a :class:`~sklearn.pipeline.Pipeline`) and keep 1, for which the
        normaliser of small models is exact.
    reg_lambda : float, default=0.01
        Curvature penalty of eq. 7 (see :class:`RegularizedScoreMatchingPoE`).
    objective : str or Objective, default='rsm'
        What the fit minimises, an object of :mod:`sksm.objectives` that
        owns its settings (search them as ``objective__<name>``), or a
        string for its default instance: 'rsm', 'rsm_full', 'dsm', 'ssm' or
        'cd' (see :class:`RegularizedScoreMatchingPoE` and the User Guide,
        "Objectives").
    solver : {'auto', 'lbfgs', 'adam'}, default='auto'
        'lbfgs': full-batch L-BFGS-B from scipy.  'adam': minibatch Adam,
        which :meth:`partial_fit` and contrastive divergence need.  'auto':
        'adam' for ``objective='cd'`` (a stochastic gradient, with no loss
        to line-search on), 'lbfgs' for the others.
    max_iter : int, default=200
        L-BFGS iterations or Adam epochs.
    tol : float, default=1e-6
        L-BFGS: relative reduction of the loss and largest gradient entry
        below which it stops.  Adam: improvement of the epoch loss below
        which an epoch counts as no progress.
    batch_size : int or 'auto', default='auto'
        Adam minibatch size; 'auto' is ``min(200, n_samples)``.
    learning_rate : float, default=1e-3
        Adam step size.
    n_iter_no_change : int, default=10
        Adam stops after this many epochs without progress.
    warm_start : bool, default=False
        Start ``fit`` from the fitted weights and biases, when there are
        some of the same shape (``n_components`` by the number of
        features), instead of from small random weights: a refit on the
        same data continues where the last one ended.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, every random draw of the objective and
        the draws of :meth:`gibbs`.
    verbose : int, default=0
        Print what ``fit`` expects to take (from the time of its first
        evaluations), then the loss at every iteration or epoch, and the
        progress of annealed importance sampling.  At 0, ``fit`` and
        ``score`` warn (``UserWarning``) when they expect to take more than
        a minute.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weights :math:`W`.
    intercept_hidden_ : ndarray of shape (n_components,)
        Hidden biases :math:`b`.
    intercept_visible_ : ndarray of shape (n_features,)
        Visible biases :math:`c`.
    log_partition_, log_partition_std_ : float
        The estimate of :math:`\log Z` and its standard error, once computed.
    n_iter_ : int
        Iterations (L-BFGS) or epochs (Adam) run by the last ``fit``.
    loss_curve_ : list of float
        Loss after each iteration or epoch.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during ``fit``, when they are all strings.

    See Also
    --------
    sklearn.neural_network.BernoulliRBM : The RBM for binary data.
    RegularizedScoreMatchingPoE : Student-t experts instead of binary units.

    References
    ----------
    P. Vincent. A connection between score matching and denoising
    autoencoders. Neural Computation 23(7), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sksm import GaussianRBM
    >>> rng = np.random.RandomState(0)
    >>> X = rng.standard_normal((200, 5))
    >>> rbm = GaussianRBM(n_components=3, random_state=0).fit(X)
    >>> rbm.transform(X[:2]).shape
    (2, 3)
    >>> bool(np.isfinite(rbm.score(X)))
    True
    """

    _parameter_constraints = {
        **BaseEnergyEstimator._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "warm_start": ["boolean"],
    }

    _fitted_attributes = {
        **BaseEnergyEstimator._fitted_attributes,
        "components_": Fitted("array", ("n_components", "n_features_in_")),
        "intercept_hidden_": Fitted("array", ("n_components",)),
        "intercept_visible_": Fitted("array", ("n_features_in_",)),
    }

    def __init__(self, n_components=256, *, sigma=1.0, reg_lambda=0.01,
                 objective="rsm", solver="auto", max_iter=200, tol=1e-6,
                 batch_size="auto", learning_rate=1e-3, n_iter_no_change=10,
                 warm_start=False, random_state=None, verbose=0):
        self.n_components = n_components
        self.sigma = sigma
        self.reg_lambda = reg_lambda
        self.objective = objective
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ #
    # Hooks of BaseEnergyEstimator
    # ------------------------------------------------------------------ #
    def _fit_data(self, X, sample_weight=None):
        return self._fit_rows(validate_float_data(self, X,
                                                  ensure_min_samples=2),
                              sample_weight)

    def _check_block(self, block):
        check_fit_range(block, "Gaussian RBM")

    def _partial_fit_data(self, X, first):
        X = validate_float_data(self, X, reset=first)
        return check_fit_range(X, "Gaussian RBM")

    def _initial_energy(self, data, rng, restart=False, sample_weight=None):
        """Small random weights (as BernoulliRBM), zero hidden biases and
        the visible biases at the (weighted) mean of the data; with
        ``warm_start``, the fitted parameters."""
        if self.warm_start and self._is_warm():
            return self._fitted_energy(dtype=data.dtype)
        W = 0.01 * rng.standard_normal((self.n_components, data.shape[1]))
        return GaussianRBMEnergy(
            W.astype(data.dtype), np.zeros(self.n_components, dtype=data.dtype),
            column_mean(data, sample_weight), self.sigma)

    def _is_warm(self):
        return (hasattr(self, "components_") and self.components_.shape
                == (self.n_components, self.n_features_in_))

    def _fitted_energy(self, dtype=None):
        dtype = dtype or self.components_.dtype
        return GaussianRBMEnergy(self.components_.astype(dtype),
                                 self.intercept_hidden_.astype(dtype),
                                 self.intercept_visible_.astype(dtype),
                                 self.sigma)

    def _store(self, energy):
        self.components_ = energy.W.copy()
        self.intercept_hidden_ = energy.b.copy()
        self.intercept_visible_ = energy.c.copy()
        self.__dict__.pop("_gibbs_rng", None)  # new parameters, new stream
        super()._store(energy)

    # ------------------------------------------------------------------ #
    # Using the model
    # ------------------------------------------------------------------ #
    def _validate(self, X):
        check_is_fitted(self)
        return validate_float_data(self, X, reset=False)

    def transform(self, X):
        """Hidden unit probabilities ``P(h_j = 1 | x)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples as rows; float32 is kept, other dtypes become float64.

        Returns
        -------
        h : ndarray of shape (n_samples, n_components)
            In [0, 1], in the dtype of ``X``; the columns are named
            ``gaussianrbm0``, ``gaussianrbm1``, ... by
            ``get_feature_names_out``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If ``X`` does not have ``n_features_in_`` columns or holds NaN
            or infinity.
        """
        X = self._validate(X)
        return self._fitted_energy(X.dtype).hidden_probabilities(X)

    def energy(self, X):
        """Free energy of every row, the negative unnormalised log-density.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples as rows; float32 is kept, other dtypes become float64.

        Returns
        -------
        energy : ndarray of shape (n_samples,)
            In nats, in the dtype of ``X`` (Vincent 2011, Proposition 2).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If ``X`` does not have ``n_features_in_`` columns or holds NaN
            or infinity.
        """
        X = self._validate(X)
        return self._fitted_energy(X.dtype).energy(X)

    def gibbs(self, v):
        r"""Perform one Gibbs sampling step ``v -> h -> v``.

        As :meth:`sklearn.neural_network.BernoulliRBM.gibbs`: the hidden
        units are drawn from :math:`P(h_j = 1 \mid v) =
        \operatorname{sigmoid}(W_j v + b_j)`, then the visible units from
        :math:`N(c + W^T h, I)`.  With ``sigma=1`` the model's density is
        exactly the marginal of this joint distribution of visible and
        binary hidden units, so the chain it makes leaves the model
        invariant.  The draws come from a random stream seeded by
        ``random_state`` at the first call after a fit, and continued by
        later calls.

        Parameters
        ----------
        v : array-like of shape (n_samples, n_features)
            Values of the visible units to start from; float32 is kept,
            other dtypes become float64.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
            Values of the visible units after one Gibbs step, in the dtype
            of ``v``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If ``v`` does not have ``n_features_in_`` columns or holds NaN
            or infinity, or ``sigma`` is not 1: the free energy of
            ``sigma != 1`` (the softplus terms divided by ``sigma**2``) is
            the marginal of no RBM with binary hidden units, so no Gibbs
            step samples it; use :meth:`sample` (Hamiltonian Monte Carlo)
            instead.
        """
        v = self._validate(v)
        if self.sigma != 1:
            raise ValueError(
                f"gibbs needs sigma=1, got sigma={self.sigma!r}: for other "
                "values the model's free energy is the marginal of no RBM "
                "with binary hidden units, so a Gibbs step would not sample "
                "it.  Use sample() (Hamiltonian Monte Carlo), or fit with "
                "sigma=1 on standardised data.")
        if not hasattr(self, "_gibbs_rng"):
            self._gibbs_rng = check_random_state(self.random_state)
        rng = self._gibbs_rng
        energy = self._fitted_energy(v.dtype)
        p = energy.hidden_probabilities(v)
        h = (rng.uniform(size=p.shape) < p).astype(v.dtype)
        noise = rng.standard_normal(v.shape).astype(v.dtype)
        return h @ energy.W + energy.c + noise

    def grad_log_density(self, X):
        """The score ``-dE/dx = (r(x) - x) / sigma^2`` of every row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples as rows; float32 is kept, other dtypes become float64.

        Returns
        -------
        grad : ndarray of shape (n_samples, n_features)
            In the dtype of ``X``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If ``X`` does not have ``n_features_in_`` columns or holds NaN
            or infinity.
        """
        X = self._validate(X)
        return -self._fitted_energy(X.dtype).grad_energy(X)[1]

    def score_samples(self, X):
        r"""Log-density of every row, in nats.

        :math:`\log Z` is exact (a sum over the :math:`2^H` hidden states)
        for ``sigma == 1`` and ``n_components <= 16``; otherwise it is
        estimated once by annealed importance sampling from the Gaussian
        :math:`N(c, \sigma^2 I)` (the model without its hidden units),
        seeded by ``random_state``, and cached (see
        :meth:`estimate_log_partition`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples as rows; float32 is kept, other dtypes become float64.

        Returns
        -------
        log_density : ndarray of shape (n_samples,), float64
            Computed in float64 whatever the dtype of ``X``; ``-inf`` where
            the log-density lies below the float64 range (the Gaussian
            visible units make it fall as :math:`-\lVert x \rVert^2 / 2
            \sigma^2`, beyond -1.8e308 for values past about 1e154).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If ``X`` does not have ``n_features_in_`` columns or holds NaN
            or infinity.
        """
        X = self._validate(X).astype(np.float64, copy=False)
        log_z = self._log_partition()
        with np.errstate(over="ignore", invalid="ignore"):
            E = self._fitted_energy(np.float64).energy(X)
        return np.where(np.isnan(E), np.inf, E) * -1.0 - log_z

    # hooks of DensityMixin
    def _n_parameters(self):
        """Free parameters: the weights and both biases (``sigma`` is
        fixed)."""
        n_components, n_features = self.components_.shape
        return n_components * n_features + n_components + n_features

    def _row_energy(self):
        return self._fitted_energy(np.float64).grad_energy

    def _base_distribution(self):
        n = self.n_features_in_
        return Gaussian(self.intercept_visible_.astype(np.float64),
                        np.eye(n) / self.sigma ** 2)

    def _exact_log_partition(self):
        r""":math:`\log Z` for ``sigma == 1`` by summing over hidden states.

        With :math:`\sigma = 1`,
        :math:`e^{-E(x)} = \sum_h e^{-\frac{1}{2}\lVert x - c\rVert^2
        + h^T (W x + b)}`, and the Gaussian integral of each term gives
        :math:`Z = (2\pi)^{D/2} \sum_h \exp(h^T (b + W c) +
        \frac{1}{2} \lVert W^T h \rVert^2)`.
        """
        if self.sigma != 1 or self.n_components > MAX_EXACT_COMPONENTS:
            return None
        W = self.components_.astype(np.float64)
        b = self.intercept_hidden_.astype(np.float64)
        c = self.intercept_visible_.astype(np.float64)
        H = (np.arange(2 ** self.n_components)[:, None]
             >> np.arange(self.n_components)) & 1
        WtH = H @ W
        terms = H @ (b + W @ c) + 0.5 * np.einsum("hd,hd->h", WtH, WtH)
        return 0.5 * self.n_features_in_ * np.log(2 * np.pi) \
            + float(logsumexp(terms))

    @property
    def _n_features_out(self):
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # transform, energy and grad_log_density compute in the dtype of X
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
