"""The RegularizedScoreMatchingPoE estimator."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.optimize import minimize
from sklearn.base import (BaseEstimator, ClassNamePrefixFeaturesOutMixin,
                          DensityMixin, TransformerMixin, _fit_context)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._parallel import blas_threads, single_threaded_blas
from .energies import ProductOfExperts
from .experts import DEFAULT_C
from .objectives import regularized_score_matching
from .optim import Adam, lbfgs

__all__ = ["MAX_EXPERT_WEIGHT", "MIN_EXPERT_WEIGHT",
           "RegularizedScoreMatchingPoE"]

#: Learned expert weights are kept at or above this value: an expert
#: ``exp(-alpha g)`` with ``alpha <= 1/2`` is not a normalisable density.
MIN_EXPERT_WEIGHT = 0.501
#: ... and at or below this one.  A weight that reaches it means the fit has
#: diverged: an expert is collapsing onto a (near-)constant direction of the
#: data, which unregularized score matching rewards without bound.
MAX_EXPERT_WEIGHT = 1e4


def _check_noise_sigma(noise_sigma):
    if (isinstance(noise_sigma, (bool, np.bool_))
            or not isinstance(noise_sigma, (Real, np.floating, np.integer))):
        raise TypeError(
            f"noise_sigma must be a positive real number, got "
            f"{type(noise_sigma).__name__} {noise_sigma!r}."
        )
    if not (np.isfinite(noise_sigma) and noise_sigma > 0):
        raise ValueError(
            f"noise_sigma must be a positive finite number (the standard "
            f"deviation of the noise, in the units of X), got {noise_sigma!r}."
        )
    return float(noise_sigma)


class RegularizedScoreMatchingPoE(ClassNamePrefixFeaturesOutMixin,
                                  TransformerMixin, DensityMixin,
                                  BaseEstimator):
    r"""Product of Student-t experts fitted by regularized score matching.

    The energy (Kingma & LeCun 2010, eq. 8) of a vector :math:`x` is

    .. math::

        E(x) = \sum_{i=1}^{M} \alpha_i\, g\big(w_i^T (x - \mu)\big),
        \qquad g(z) = \log\left(1 + \tfrac{1}{2} (c z)^2\right),

    with unit-norm filters :math:`w_i` and expert weights
    :math:`\alpha_i = \exp(\beta_i)`, and the density is
    :math:`p(x) = \exp(-E(x)) / Z`.  The parameters minimise the regularized
    score-matching loss (eq. 7)

    .. math::

        J = \frac{1}{T} \sum_t \sum_j \left[
            \frac{1}{2} \left(\frac{\partial E}{\partial x_j}\right)^2
            - \frac{\partial^2 E}{\partial x_j^2}
            + \lambda \left(\frac{\partial^2 E}{\partial x_j^2}\right)^2
        \right],

    which needs no normalising constant.  The curvature penalty
    :math:`\lambda` (``reg_lambda``) makes the estimate usable on quantized
    data such as pixels, where plain score matching (:math:`\lambda = 0`)
    fails.

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    n_experts : int, default=None
        Number of experts ``M``.  None uses ``n_features`` (the complete
        model), the only size whose log-likelihood has a closed form.
    reg_lambda : float, default=0.01
        Curvature penalty :math:`\lambda \ge 0`.
    c : float, default=e^1.5
        Horizontal scale of the Student-t experts (not learned).  Because it
        is fixed, the scale of the data decides how heavy-tailed the experts
        are.
    learn_weights : bool, default=True
        Learn the expert weights :math:`\alpha_i` (kept at or above
        ``MIN_EXPERT_WEIGHT`` = 0.501 so that every expert stays a density).
        False fixes :math:`\alpha_i = 1`, the paper's setting for likelihood
        comparisons and the one to cross-validate ``reg_lambda`` with (see the
        User Guide).
    solver : {'lbfgs', 'adam'}, default='lbfgs'
        'lbfgs': full-batch L-BFGS-B from scipy.  'adam': minibatch Adam.
    max_iter : int, default=500
        Maximum L-BFGS iterations, or Adam epochs.
    tol : float, default=1e-6
        L-BFGS: relative reduction of the loss and largest gradient entry
        below which it stops.  Adam: improvement of the epoch loss below which
        an epoch counts as no progress.
    batch_size : int or 'auto', default='auto'
        Minibatch size for Adam; 'auto' is ``min(200, n_samples)``.
    learning_rate : float, default=1e-3
        Adam step size.
    n_iter_no_change : int, default=10
        Adam stops after this many epochs without progress.
    warm_start : bool, default=False
        Start ``fit`` from the previous solution when there is one.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial filters and the minibatch order.
    verbose : int, default=0
        Print the loss at every iteration.

    Attributes
    ----------
    filters_ : ndarray of shape (n_experts, n_features)
        Unit-norm filters :math:`w_i`.
    expert_weights_ : ndarray of shape (n_experts,)
        Expert weights :math:`\alpha_i`.
    mean_ : ndarray of shape (n_features,)
        Mean of the training data, subtracted before filtering.
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
    sklearn.neural_network.BernoulliRBM : An RBM for binary data.
    sklearn.decomposition.FastICA : ICA, the model's ``lambda = 0``,
        noise-free relative.

    References
    ----------
    D. P. Kingma and Y. LeCun. Regularized estimation of image statistics by
    Score Matching. NIPS 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sksm import RegularizedScoreMatchingPoE
    >>> rng = np.random.RandomState(0)
    >>> X = rng.laplace(size=(500, 4)) @ rng.randn(4, 4)
    >>> est = RegularizedScoreMatchingPoE(reg_lambda=1e-3, random_state=0).fit(X)
    >>> est.filters_.shape
    (4, 4)
    >>> est.transform(X[:2]).shape
    (2, 4)
    >>> bool(est.score(X) > est.score(X + 3 * rng.randn(*X.shape)))
    True
    """

    _parameter_constraints = {
        "n_experts": [Interval(Integral, 1, None, closed="left"), None],
        "reg_lambda": [Interval(Real, 0, None, closed="left")],
        "c": [Interval(Real, 0, None, closed="neither")],
        "learn_weights": ["boolean"],
        "solver": [StrOptions({"lbfgs", "adam"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"),
                       StrOptions({"auto"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, n_experts=None, *, reg_lambda=0.01, c=DEFAULT_C,
                 learn_weights=True, solver="lbfgs", max_iter=500, tol=1e-6,
                 batch_size="auto", learning_rate=1e-3, n_iter_no_change=10,
                 warm_start=False, random_state=None, verbose=0):
        self.n_experts = n_experts
        self.reg_lambda = reg_lambda
        self.c = c
        self.learn_weights = learn_weights
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
    # Parameters <-> energy
    # ------------------------------------------------------------------ #
    def _init_params(self, n_features, dtype, rng):
        """Initial (V, beta): random orthonormal filters, unit weights."""
        n_experts = self.n_experts or n_features
        if (self.warm_start and hasattr(self, "filters_")
                and self.filters_.shape == (n_experts, n_features)):
            return (self.filters_.astype(dtype),
                    np.log(self.expert_weights_).astype(dtype))
        G = rng.standard_normal((n_features, min(n_experts, n_features)))
        V = np.linalg.qr(G)[0].T  # orthonormal rows
        if n_experts > n_features:  # the extra filters: random directions
            V = np.vstack([V, rng.standard_normal((n_experts - n_features,
                                                   n_features))])
        return V.astype(dtype), np.zeros(n_experts, dtype=dtype)

    def _energy(self, dtype=None):
        """The fitted energy as a :class:`~sksm.energies.ProductOfExperts`."""
        W = self.filters_ if dtype is None else self.filters_.astype(dtype)
        return ProductOfExperts(W, np.log(self.expert_weights_).astype(W.dtype),
                                self.c, learn_weights=self.learn_weights)

    def _store(self, energy):
        self.filters_ = energy.filters.copy()
        self.expert_weights_ = energy.weights.copy()

    def _bounds(self, energy):
        if not self.learn_weights:
            return None
        n = energy.shape[0] * energy.shape[1]
        weight_bounds = (np.log(MIN_EXPERT_WEIGHT), np.log(MAX_EXPERT_WEIGHT))
        return [(None, None)] * n + [weight_bounds] * energy.shape[0]

    def _box(self, energy):
        """Lower and upper bounds of theta for Adam (None without weights)."""
        if not self.learn_weights:
            return None, None
        n = energy.shape[0] * energy.shape[1]
        lower = np.full(energy.n_params, -np.inf)
        upper = np.full(energy.n_params, np.inf)
        lower[n:] = np.log(MIN_EXPERT_WEIGHT)
        upper[n:] = np.log(MAX_EXPERT_WEIGHT)
        return lower, upper

    def _at_weight_bound(self):
        return self.learn_weights and bool(
            np.any(self.expert_weights_ >= 0.999 * MAX_EXPERT_WEIGHT))

    def _objective(self, energy, X, n_threads=1):
        """``theta -> (loss, grad)`` on ``X`` (or its ``rows``), for the optimisers.

        Run it inside :func:`~sksm._parallel.single_threaded_blas`: it uses
        ``n_threads`` threads of its own.
        """

        def fun(theta, rows=None):
            energy.set_params(theta)
            Xb = X if rows is None else X[rows]
            with np.errstate(over="ignore", invalid="ignore"):
                loss, grads = regularized_score_matching(
                    energy.network, Xb, self.reg_lambda, n_threads=n_threads)
                return loss, energy.params_gradient(grads).astype(np.float64)

        return fun

    # ------------------------------------------------------------------ #
    # Fitting
    # ------------------------------------------------------------------ #
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model to ``X`` by regularized score matching.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; float32 data is fitted in float32.  Not modified.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32],
                          ensure_min_samples=2)
        rng = check_random_state(self.random_state)
        self.mean_ = X.mean(axis=0)
        Xc = X - self.mean_
        V, beta = self._init_params(X.shape[1], X.dtype, rng)
        energy = ProductOfExperts(V, beta, self.c, self.learn_weights)
        fun = self._objective(energy, Xc, n_threads=blas_threads())
        theta0 = energy.get_params().astype(np.float64)
        self._optimizer = None
        with single_threaded_blas():
            if self.solver == "lbfgs":
                res = lbfgs(fun, theta0, bounds=self._bounds(energy),
                            max_iter=self.max_iter, tol=self.tol,
                            verbose=self.verbose)
                theta, self.n_iter_, self.loss_curve_ = (res.theta, res.n_iter,
                                                         res.loss_curve)
                diverged, converged = res.diverged, res.converged
            else:
                theta, diverged, converged = self._fit_adam(
                    fun, energy, theta0, len(Xc), rng)
        energy.set_params(theta)
        self._store(energy)
        self.n_samples_seen_ = X.shape[0]
        if diverged or self._at_weight_bound():
            self._warn_diverged()
        elif not converged:
            unit, advice = (("iterations", "max_iter or tol")
                            if self.solver == "lbfgs"
                            else ("epochs", "max_iter or learning_rate"))
            warnings.warn(
                f"{self.solver} stopped after max_iter={self.max_iter} {unit} "
                f"without converging. Increase {advice}.", ConvergenceWarning)
        return self

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        return min(self.batch_size, n_samples)

    def _fit_adam(self, fun, energy, theta, n_samples, rng):
        opt = Adam(energy.n_params, self.learning_rate, *self._box(energy))
        batch_size = self._batch_size(n_samples)
        self.loss_curve_ = []
        best, stall = np.inf, 0
        converged = False
        for epoch in range(self.max_iter):
            theta, loss = opt.run_epoch(fun, theta, n_samples, batch_size, rng)
            self.n_iter_ = epoch + 1
            if not np.isfinite(loss):
                return theta, True, False
            self.loss_curve_.append(loss)
            if self.verbose:
                print(f"Epoch {self.n_iter_}, loss = {loss:.6g}")
            if loss > best - self.tol * max(1.0, abs(best)):
                stall += 1
            else:
                stall = 0
            best = min(best, loss)
            if stall >= self.n_iter_no_change:
                converged = True
                break
        self._optimizer, self._rng = opt, rng
        return theta, False, converged

    def _warn_diverged(self):
        warnings.warn(
            "Score matching diverged: the loss or its gradient became "
            "non-finite, or expert weights reached MAX_EXPERT_WEIGHT="
            f"{MAX_EXPERT_WEIGHT:g}; the last finite parameters were kept. "
            "This is the failure of unregularized score matching on quantized "
            "data (such as pixels) or data with constant features: increase "
            "reg_lambda (try 1e-3 to 1e-1), set learn_weights=False, or drop "
            "constant features.",
            ConvergenceWarning)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Run one Adam epoch over the minibatch ``X``.

        The first call initialises the model; later calls continue from it,
        with the Adam state and the random stream kept on the estimator.
        ``mean_`` is the running mean of all samples seen.

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
        """
        first = not hasattr(self, "filters_")
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=first)
        if first:
            self._rng = check_random_state(self.random_state)
            V, beta = self._init_params(X.shape[1], X.dtype, self._rng)
            self.mean_ = X.mean(axis=0)
            self.n_samples_seen_ = X.shape[0]
            self.n_iter_, self.loss_curve_ = 0, []
            energy = ProductOfExperts(V, beta, self.c, self.learn_weights)
        else:
            n_old = self.n_samples_seen_
            self.n_samples_seen_ = n_old + X.shape[0]
            self.mean_ = (self.mean_ + (X.sum(axis=0) - X.shape[0] * self.mean_)
                          / self.n_samples_seen_).astype(self.mean_.dtype)
            energy = self._energy(dtype=self.filters_.dtype)
            if not hasattr(self, "_rng"):
                self._rng = check_random_state(self.random_state)
        if getattr(self, "_optimizer", None) is None:
            self._optimizer = Adam(energy.n_params, self.learning_rate,
                                   *self._box(energy))
        Xc = (X - self.mean_).astype(energy.dtype, copy=False)
        fun = self._objective(energy, Xc, n_threads=blas_threads())
        with single_threaded_blas():
            theta, loss = self._optimizer.run_epoch(
                fun, energy.get_params().astype(np.float64), len(Xc),
                self._batch_size(len(Xc)), self._rng)
        energy.set_params(theta)
        self._store(energy)
        self.n_iter_ += 1
        if np.isfinite(loss):
            self.loss_curve_.append(loss)
        if not np.isfinite(loss) or self._at_weight_bound():
            self._warn_diverged()
        return self

    # ------------------------------------------------------------------ #
    # Using the model
    # ------------------------------------------------------------------ #
    def _validate(self, X):
        check_is_fitted(self)
        return validate_data(self, X, dtype=[np.float64, np.float32],
                             reset=False)

    def _centered(self, X):
        X = self._validate(X)
        return X - self.mean_.astype(X.dtype)

    def transform(self, X):
        """Expert activations ``g(w_i^T (x - mean_))``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_experts)
            In the dtype of ``X`` (float32 stays float32).
        """
        Xc = self._centered(X)
        return self._energy(dtype=Xc.dtype).activations(Xc)

    def energy(self, X):
        """Energy ``E(x)`` of every row, the negative unnormalised log-density.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        energy : ndarray of shape (n_samples,)
        """
        Xc = self._centered(X)
        return self._energy(dtype=Xc.dtype).energy(Xc)

    def grad_log_density(self, X):
        """Gradient of the log-density with respect to ``x``: ``-dE/dx``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        grad : ndarray of shape (n_samples, n_features)
        """
        Xc = self._centered(X)
        return -self._energy(dtype=Xc.dtype).grad_energy(Xc)[1]

    def log_partition(self):
        r"""Exact :math:`\log Z` of the fitted complete model.

        For ``n_experts == n_features``, with :math:`u = W (x - \mu)`,

        .. math::

            \log Z = -\log |\det W| + \sum_i \log Z_i(\alpha_i), \qquad
            Z_i = \frac{\sqrt{2\pi}}{c}
                  \frac{\Gamma(\alpha_i - 1/2)}{\Gamma(\alpha_i)}.

        Raises
        ------
        NotImplementedError
            For an overcomplete model, whose normaliser has no closed form.
        ValueError
            For an undercomplete model, which is not normalisable, or a
            singular filter matrix.
        """
        check_is_fitted(self)
        n_experts, n_features = self.filters_.shape
        if n_experts > n_features:
            raise NotImplementedError(
                f"The log-likelihood of an overcomplete PoE (n_experts="
                f"{n_experts} > n_features={n_features}) has no closed-form "
                "normaliser. Use n_experts=None (the complete model) to get "
                "exact log-likelihoods.")
        if n_experts < n_features:
            raise ValueError(
                f"An undercomplete PoE (n_experts={n_experts} < n_features="
                f"{n_features}) is not a normalisable density: it is flat "
                f"along {n_features - n_experts} directions. Use "
                "n_experts=None (the complete model) for log-likelihoods.")
        sign, logdet = np.linalg.slogdet(self.filters_.astype(np.float64))
        if sign == 0 or not np.isfinite(logdet):
            raise ValueError("The fitted filters are linearly dependent; the "
                             "density is not normalisable.")
        expert = self._energy().expert
        return -logdet + float(np.sum(expert.log_normalizer(
            self.expert_weights_.astype(np.float64))))

    def score_samples(self, X):
        """Log-density of every row, in nats.

        Exact for the complete model (``n_experts == n_features``), by the
        change of variables ``u = W (x - mean_)``; see :meth:`log_partition`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        Xc = self._centered(X)
        log_z = self.log_partition()
        E = self._energy(dtype=Xc.dtype).energy(Xc)
        return -E.astype(np.float64) - log_z

    def score(self, X, y=None):
        """Mean log-density of the rows of ``X``, in nats (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        return float(np.mean(self.score_samples(X)))

    def denoise(self, X, noise_sigma, *, max_iter=200, tol=1e-6):
        r"""MAP estimate of clean rows from noisy rows ``X``.

        Each row ``y`` is replaced by

        .. math::

            \hat x = \arg\max_x \log p(x) - \frac{|y - x|^2}{2 \sigma^2},

        found for all rows at once by L-BFGS on the (separable) sum of the
        per-row objectives, starting from ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Noisy data.
        noise_sigma : float
            Standard deviation of the Gaussian noise, in the units of ``X``.
        max_iter : int, default=200
            L-BFGS iterations.
        tol : float, default=1e-6
            L-BFGS tolerance.

        Returns
        -------
        X_denoised : ndarray of shape (n_samples, n_features)
            In the dtype of ``X``.
        """
        sigma = _check_noise_sigma(noise_sigma)
        Y = self._validate(X)
        dtype = Y.dtype
        energy = self._energy(dtype=np.float64)
        mean = self.mean_.astype(np.float64)
        Yc = Y.astype(np.float64) - mean
        inv_var = 1.0 / sigma ** 2

        def fun(flat):
            Xc = flat.reshape(Yc.shape)
            E, d = energy.grad_energy(Xc)
            r = Xc - Yc
            loss = E.sum() + 0.5 * inv_var * np.vdot(r, r)
            return loss, (d + inv_var * r).ravel()

        res = minimize(fun, Yc.ravel(), jac=True, method="L-BFGS-B",
                       options={"maxiter": max_iter, "ftol": tol, "gtol": tol})
        return (res.x.reshape(Yc.shape) + mean).astype(dtype, copy=False)

    @property
    def _n_features_out(self):
        return self.filters_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
