"""The RegularizedScoreMatchingPoE estimator."""

from numbers import Integral

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._experts_base import (
    MAX_EXPERT_WEIGHT,
    MIN_EXPERT_WEIGHT,
    BaseExpertsEstimator,
)
from ._filters import start_filters
from ._reductions import running_moments
from ._validation import (
    Fitted,
    Interval,
    check_bool,
    check_count,
    check_fit_range,
    check_positive,
    check_sigma,
    renamed_argument,
    validate_float_data,
)
from .energies import ProductOfExperts
from .energies.layers import rescaled, split_exponent
from .experts import StudentT
from .posterior import denoise_rows
from .sampling import Mixture, StudentTProduct

__all__ = ["MAX_EXPERT_WEIGHT", "MIN_EXPERT_WEIGHT",
           "RegularizedScoreMatchingPoE"]


def _positive_or_one(value):
    """A scale: ``value`` when positive and finite, else 1 (constant data,
    as StandardScaler does)."""
    value = float(value)
    return value if np.isfinite(value) and value > 0 else 1.0


class RegularizedScoreMatchingPoE(TransformerMixin, BaseExpertsEstimator):
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
        Number of experts ``M``.  None uses ``2 * n_features``: the twice
        overcomplete model, whose held-out log-likelihood and classifier
        features beat the complete model's (the User Guide, "Choosing the
        defaults"); its log-likelihood is estimated by annealed importance
        sampling.  ``n_features`` gives the complete model, the only size
        whose log-likelihood has a closed form.  Before 0.2 None meant
        ``n_features``.
    reg_lambda : float, default=0.2
        Curvature penalty :math:`\lambda \ge 0` of eq. 7, in squared units
        of the scaled data ``(x - mean_) / scale_`` (0.2 is the paper's
        0.01 on its [0, 1] digits); denoising and
        sliced score matching at ``training_noise='auto'`` train with noise of
        standard deviation :math:`\sqrt{2 \lambda}`, the noise eq. 6
        relates to it.  Contrastive divergence does not use it.
    objective : str or Objective, default='rsm'
        What the fit minimises, an object of :mod:`sksm.objectives` that
        owns its settings (search them as ``objective__<name>``), or a
        string for its default instance: 'rsm'
        (:class:`~sksm.objectives.RegularizedScoreMatching`, eq. 7),
        'rsm_full' (its full-Hessian form, eq. 6: small inputs only), 'dsm'
        (:class:`~sksm.objectives.DenoisingScoreMatching`), 'ssm'
        (:class:`~sksm.objectives.SlicedScoreMatching`) or 'cd'
        (:class:`~sksm.objectives.ContrastiveDivergence`, fitted by Adam:
        the default ``solver='auto'`` chooses it).  See the User Guide,
        "Objectives".
    features : str, default='signed_activation'
        'signed_activation', 'activation' or 'activation_and_response':
        what :meth:`transform` returns, from the responses
        :math:`z_i = w_i^T (x - \mu) / s`: 'activation' the paper's expert
        activations :math:`g(z_i)`, ``n_experts`` features, which are even
        in :math:`z_i` and drop its sign; 'signed_activation'
        :math:`[g(z_i) [z_i > 0], g(z_i) [z_i < 0]]` and
        'activation_and_response' :math:`[g(z_i), z_i]`, ``2 * n_experts``
        features that keep it (the User Guide compares them as classifier
        features).
    c : float, default=1.0
        Horizontal scale of the Student-t experts (not learned), in units
        of the scaled data ``(x - mean_) / scale_``.  The paper's
        :math:`e^{1.5}` on its [0, 1] digits, whose root-mean-square
        deviation is 0.23, is about 1 in these units.
    learn_weights : bool, default=False
        Learn the expert weights :math:`\alpha_i` (kept at or above
        ``min_expert_weight``).  False fixes :math:`\alpha_i = 1`, the
        paper's setting for likelihood comparisons and the one to
        cross-validate ``reg_lambda`` with: with learned weights, experts on
        always-blank pixels get ever larger weights as ``reg_lambda -> 0``
        and the likelihood of such data is unbounded (see the User Guide).
        Before 0.2 the default was True.
    min_expert_weight : float, default=1.5
        Lower bound of the learned weights, above 1/2 (every expert is then
        a density; ``MIN_EXPERT_WEIGHT``, 0.501, is the lowest bound the
        estimators accept).  An expert's marginal is a Student-t with
        :math:`2\alpha - 1` degrees of freedom: 1.5 keeps every marginal of
        finite variance, where near 1/2 most of an expert's mass lies at
        responses beyond the float range, where no sampler can reach it
        and annealed importance sampling fails (the User Guide,
        "Log-likelihood by annealed importance sampling", compares the two
        bounds).  Before 0.2 the default was 0.501.
    solver : {'auto', 'lbfgs', 'adam'}, default='auto'
        'lbfgs': full-batch L-BFGS-B from scipy.  'adam': minibatch Adam,
        which :meth:`partial_fit` and contrastive divergence need.  'auto':
        'adam' for ``objective='cd'`` (a stochastic gradient, with no loss
        to line-search on), 'lbfgs' for the others.
    max_iter : int, default=1000
        Maximum L-BFGS iterations, or Adam epochs.
    tol : float, default=1e-4
        L-BFGS: relative reduction of the loss and largest gradient entry
        below which it stops.  1e-4 (the default since 0.2; 1e-5 before)
        stops the default fit of 4,000 14x14 digits after about 80
        iterations instead of about 300, its features 0.2 to 0.5 points
        of test error worse (the User Guide, "Choosing the defaults").
        Adam: improvement of the epoch loss below which an epoch counts as
        no progress.
    batch_size : int or 'auto', default='auto'
        Minibatch size for Adam; 'auto' is ``min(200, n_samples)``.
    learning_rate : float, default=1e-3
        Adam step size.
    n_iter_no_change : int, default=10
        Adam stops after this many epochs without progress.
    init : {'zca', 'pca', 'ica', 'random'}, default='zca'
        The starting filters, computed from the scaled training data
        :math:`z = (x - \mu) / s` (``X`` is not modified; float32 data give
        float32 filters), with :math:`C = E D E^T` the covariance of
        :math:`z` (its eigenvalues floored at ``1e-6`` times their mean, for
        constant features such as blank pixels).  Filters are unit length,
        so only the directions of the rows below matter:

        - 'zca': the rows of the symmetric (ZCA) whitening matrix
          :math:`C^{-1/2} = E D^{-1/2} E^T`, localised, centre-surround
          filters on images (Bell & Sejnowski 1997);
        - 'pca': the rows of the PCA whitening matrix :math:`D^{-1/2}
          E^T`, the principal axes, largest variance first;
        - 'ica': the unmixing rows of
          :class:`~sklearn.decomposition.FastICA` (logcosh, at most 200
          iterations, its start drawn from ``random_state``) on the data
          whitened within the principal axes that have variance, and the
          remaining principal axes, the slowest start;
        - 'random': random orthonormal filters (QR of a Gaussian matrix
          drawn from ``random_state``), the start of earlier versions.

        With fewer experts than features, 'pca' keeps the leading axes,
        'zca' the rows of randomly chosen features and 'ica' that many
        independent components; with more, the extra filters of 'zca',
        'pca' and 'ica' are rows of :math:`C^{-1/4} = E D^{-1/4} E^T` (as
        localised as the ZCA rows, broader) of features drawn from
        ``random_state``, and those of 'random' random Gaussian directions.
        :meth:`partial_fit` computes the start from its first minibatch.
        See the User Guide, "Starting point and restarts", for the time each
        start takes to fit.
    n_init : int, default=1
        Number of fits, each from its own start; the one with the lowest
        final training loss (the last of ``loss_curve_``) is kept, as in
        :class:`~sklearn.mixture.GaussianMixture`.  The first fit starts
        from ``init``; the later ones from new draws of 'random' and 'ica',
        and from random rotations :math:`Q W` (:math:`Q` a random orthogonal
        matrix drawn from ``random_state``, acting on the directions that
        have variance) of the whitening matrix :math:`W` of 'zca' and
        'pca': every whitening matrix is such a rotation.  Ignored (one
        fit) when ``warm_start`` continues from a fitted model.
    warm_start : bool, default=False
        Start ``fit`` from the previous solution when there is one (of the
        same number of experts and features), instead of from ``init``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial filters (those of ``init`` that are drawn and the
        starts of ``n_init``) and the minibatch order.
    verbose : int, default=0
        Print what ``fit`` expects to take (from the time of its first
        evaluations), then the loss at every iteration or epoch, and the
        progress of annealed importance sampling.  At 0, ``fit`` and
        ``score`` warn (``UserWarning``) when they expect to take more than
        a minute.

    Attributes
    ----------
    filters_ : ndarray of shape (n_experts, n_features)
        Unit-norm filters :math:`w_i`.
    expert_weights_ : ndarray of shape (n_experts,)
        Expert weights :math:`\alpha_i`.
    mean_ : ndarray of shape (n_features,)
        Mean of the training data, subtracted before filtering.
    scale_ : float
        Input scale: the root-mean-square of the centred training data
        (over all features; 1 for constant data).  The energy sees
        ``(x - mean_) / scale_``, so a fit does not depend on the units of
        ``X``; ``score_samples`` includes the Jacobian, ``-n_features *
        log(scale_)``, and stays a density of ``X`` itself.
    data_min_, data_max_ : ndarray of shape (n_features,)
        Per-feature minimum and maximum of the training data (as
        :class:`~sklearn.preprocessing.MinMaxScaler`'s); :meth:`denoise`
        keeps its estimates within them.
    log_partition_, log_partition_std_ : float
        The estimate of :math:`\log Z` and its standard error, set by
        :meth:`estimate_log_partition` (or by the first :meth:`score_samples`
        of an overcomplete model); refitting removes them.
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

    A. J. Bell and T. J. Sejnowski. The "independent components" of natural
    scenes are edge filters. Vision Research 37(23), 1997 (the ZCA
    whitening filters).

    Examples
    --------
    >>> import numpy as np
    >>> from sksm import RegularizedScoreMatchingPoE
    >>> rng = np.random.RandomState(0)
    >>> X = rng.laplace(size=(500, 4)) @ rng.randn(4, 4)
    >>> est = RegularizedScoreMatchingPoE(reg_lambda=1e-3, random_state=0).fit(X)
    >>> est.filters_.shape
    (8, 4)
    >>> est.transform(X[:2]).shape
    (2, 16)
    >>> bool(est.score(X) > est.score(X + 3 * rng.randn(*X.shape)))
    True
    """

    _parameter_constraints = {
        **BaseExpertsEstimator._parameter_constraints,
        "n_experts": [Interval(Integral, 1, None, closed="left"), None],
        "features": [StrOptions({"activation", "signed_activation",
                                 "activation_and_response"})],
        "init": [StrOptions({"pca", "zca", "ica", "random"})],
        "n_init": [Interval(Integral, 1, None, closed="left")],
    }

    _fitted_attributes = {
        **BaseExpertsEstimator._fitted_attributes,
        "filters_": Fitted("array", ("n_filters", "n_features_in_")),
        "mean_": Fitted("array", ("n_features_in_",)),
        "scale_": Fitted("positive", optional=True),
        "n_samples_seen_": Fitted("positive", optional=True),
        "data_min_": Fitted("array", ("n_features_in_",), optional=True),
        "data_max_": Fitted("array", ("n_features_in_",), optional=True),
    }

    def __init__(self, n_experts=None, *, reg_lambda=0.2, objective="rsm",
                 features="signed_activation", c=1.0, learn_weights=False,
                 min_expert_weight=1.5, solver="auto",
                 max_iter=1000, tol=1e-4, batch_size="auto",
                 learning_rate=1e-3, n_iter_no_change=10, init="zca",
                 n_init=1, warm_start=False, random_state=None, verbose=0):
        self.n_experts = n_experts
        self.reg_lambda = reg_lambda
        self.objective = objective
        self.c = c
        self.features = features
        self.learn_weights = learn_weights
        self.min_expert_weight = min_expert_weight
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.n_iter_no_change = n_iter_no_change
        self.init = init
        self.n_init = n_init
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ #
    # Hooks of BaseExpertsEstimator
    # ------------------------------------------------------------------ #
    def _n_experts(self):
        return self.n_experts or 2 * self.n_features_in_

    def _n_inputs(self):
        return self.n_features_in_

    def _start_filters(self, data, n_experts, n_inputs, rng, restart=False,
                       sample_weight=None):
        # the restarts of n_init turn a whitening start by a random rotation
        V = start_filters(data, n_experts, self.init, rng, rotate=restart,
                          sample_weight=sample_weight)
        if self.init == "random":  # as before init existed, bit for bit
            return V
        # unit rows: the whitening rows of constant data are huge
        return V / np.linalg.norm(V, axis=1, keepdims=True)

    def _new_energy(self, V, beta):
        return ProductOfExperts(V, beta, self.c, self.learn_weights)

    def _model_fault(self, energy):
        W = energy.filters
        if W.shape[0] != W.shape[1]:
            return None
        if (not np.all(np.isfinite(W))
                or np.linalg.matrix_rank(W.astype(np.float64)) < len(W)):
            return "its filters are linearly dependent"
        return None

    def _fit_data(self, X, sample_weight=None):
        return self._fit_rows(validate_float_data(self, X,
                                                  ensure_min_samples=2),
                              sample_weight)

    def _check_block(self, block):
        check_fit_range(block, "Product of Experts")

    def _statistics_values(self, block):
        return block

    def _set_statistics(self, n, mean, var, low, high):
        """``mean_``, ``scale_``, ``data_min_``, ``data_max_`` and
        ``n_samples_seen_`` of all the training rows."""
        self.data_min_, self.data_max_ = low, high
        self.n_samples_seen_ = n
        self.mean_ = mean.astype(low.dtype)
        self.scale_ = _positive_or_one(np.sqrt(var))

    #: The dtype the fit computes the objective in, whatever the dtype of
    #: ``X`` (issue 26: float32 halves the time of a fit and its fitted
    #: features are as good).  The statistics (``mean_``, ``scale_``) are
    #: computed in the dtype of ``X`` and the fitted attributes are returned
    #: in it; ``partial_fit``, ``transform`` and ``score`` keep their dtype.
    _fit_dtype = np.float32

    def _energy_input(self, block):
        # centred and scaled in the dtype of X, then rounded once
        z = (block - self.mean_) / block.dtype.type(self._scale())
        if self._fit_dtype is not None and self._solver() == "lbfgs":
            z = z.astype(self._fit_dtype, copy=False)
        return z

    def _store(self, energy):
        super()._store(energy)
        dtype = getattr(self, "mean_", self.filters_).dtype
        if self.filters_.dtype != dtype:  # unit length in the dtype of X
            W = self.filters_.astype(dtype)
            self.filters_ = W / np.linalg.norm(W, axis=1, keepdims=True)
        self.expert_weights_ = self._bounded(
            self.expert_weights_.astype(dtype))

    def _statistics(self, X, first):
        """Set (first batch) or update ``mean_``, ``scale_``,
        ``data_min_``, ``data_max_`` and ``n_samples_seen_``: the running
        mean, root-mean-square deviation and range of all rows seen; return
        the energy's input."""
        if first:
            n_old, mean, var = 0, 0.0, 0.0
            self.data_min_, self.data_max_ = X.min(axis=0), X.max(axis=0)
        else:
            n_old, mean, var = (self.n_samples_seen_, self.mean_,
                                self._scale() ** 2)
            if hasattr(self, "data_min_"):  # models saved before lack it
                self.data_min_ = np.minimum(self.data_min_, X.min(axis=0))
                self.data_max_ = np.maximum(self.data_max_, X.max(axis=0))
        self.n_samples_seen_, mean, var = running_moments(n_old, mean, var, X)
        self.mean_ = mean.astype(X.dtype)
        if first or hasattr(self, "scale_"):  # models saved before keep 1
            self.scale_ = _positive_or_one(np.sqrt(var))
        return (X - self.mean_) / X.dtype.type(self._scale())

    def _partial_fit_data(self, X, first):
        """Validate a minibatch; ``mean_`` and ``scale_`` are the running
        mean and root-mean-square deviation of all rows seen."""
        X = check_fit_range(validate_float_data(self, X, reset=first),
                            "Product of Experts")
        if not first and not hasattr(self, "n_samples_seen_"):
            raise ValueError(
                "This model was loaded from a version-1 model file, "
                "which did not keep the number of samples behind mean_: "
                "partial_fit cannot update the mean.  Fit it again, or "
                "re-save it with this version of sksm after fitting.")
        return self._statistics(X, first)

    # ------------------------------------------------------------------ #
    # Using the model
    # ------------------------------------------------------------------ #
    def _validate(self, X):
        check_is_fitted(self)
        return validate_float_data(self, X, reset=False)

    def _scale(self):
        """``scale_``; 1 for models fitted before it existed."""
        return getattr(self, "scale_", 1.0)

    def _centered(self, X):
        """``(X - mean_) / scale_``, the energy's input, as mantissas and
        per-row exponents (see :func:`~sksm.energies.layers.split_exponent`):
        finite answers for rows near the float maximum."""
        X = self._validate(X)
        return split_exponent(X, self.mean_.astype(X.dtype), self._scale())

    def transform(self, X):
        """Expert activations, with the signs or values of the responses.

        The activations are :math:`g(z_i)` of the responses :math:`z_i =
        w_i^T (x - \\mu) / s` (``mean_``, ``scale_``), paper section 4.1;
        ``features`` chooses whether the signs or the values of the
        responses are kept too.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples as rows; float32 is kept, other dtypes become float64.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_experts) or \
(n_samples, 2 * n_experts)
            In the dtype of ``X`` (float32 stays float32).  For
            ``'signed_activation'``, the activations of the positive
            responses (0 elsewhere), then those of the negative ones; for
            ``'activation_and_response'``, the activations, then the
            responses, which saturate at the float maximum for inputs that
            large.  :meth:`get_feature_names_out` names the columns.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If ``X`` does not have ``n_features_in_`` columns or holds NaN
            or infinity.
        """
        Xc, exponent = self._centered(X)
        energy = self._fitted_energy(dtype=Xc.dtype)
        if self.features == "activation":
            return energy.activations(Xc, exponent)
        # the mantissas of the responses carry their signs
        g, mantissas = energy.activations(Xc, exponent, return_responses=True)
        if self.features == "signed_activation":
            negative = mantissas < 0
            return np.hstack([np.where(negative, 0, g),
                              np.where(negative, g, 0)])
        z = mantissas if exponent is None else rescaled(mantissas, exponent)
        big = np.finfo(z.dtype).max
        return np.hstack([g, np.clip(z, -big, big)])

    def energy(self, X):
        """Energy ``E(x)`` of every row, the negative unnormalised log-density.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples as rows; float32 is kept, other dtypes become float64.

        Returns
        -------
        energy : ndarray of shape (n_samples,)
            Eq. 8 of the paper, in nats, in the dtype of ``X``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If ``X`` does not have ``n_features_in_`` columns or holds NaN
            or infinity.
        """
        Xc, exponent = self._centered(X)
        return self._fitted_energy(dtype=Xc.dtype).energy(Xc, exponent)

    def grad_log_density(self, X):
        """Gradient of the log-density with respect to ``x``: ``-dE/dx``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples as rows; float32 is kept, other dtypes become float64.

        Returns
        -------
        grad : ndarray of shape (n_samples, n_features)
            In the dtype of ``X``, in nats per unit of ``X``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If ``X`` does not have ``n_features_in_`` columns or holds NaN
            or infinity.
        """
        Xc, exponent = self._centered(X)
        d = self._fitted_energy(dtype=Xc.dtype).grad_energy(Xc, exponent)[1]
        return d / -Xc.dtype.type(self._scale())

    def log_partition(self):
        r"""Exact :math:`\log Z` of the fitted complete model.

        For ``n_experts == n_features``, with :math:`u = W (x - \mu) / s`
        (:math:`s` the input scale ``scale_``, :math:`d` the number of
        features),

        .. math::

            \log Z = -\log |\det W| + d \log s
                      + \sum_i \log Z_i(\alpha_i), \qquad
            Z_i = \frac{\sqrt{2\pi}}{c}
                  \frac{\Gamma(\alpha_i - 1/2)}{\Gamma(\alpha_i)}.

        Returns
        -------
        log_partition : float
            :math:`\log Z` in nats, for the density of ``X`` in its own
            units (the Jacobian of the change of variables included).

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
                f"normaliser. Use n_experts={n_features} (the complete model) "
                "to get exact log-likelihoods, or estimate_log_partition().")
        if n_experts < n_features:
            raise ValueError(
                f"An undercomplete PoE (n_experts={n_experts} < n_features="
                f"{n_features}) is not a normalisable density: it is flat "
                f"along {n_features - n_experts} directions. Use "
                f"n_experts={n_features} (the complete model) for "
                "log-likelihoods.")
        if self._model_fault(self._fitted_energy()) is not None:
            raise ValueError("The fitted filters are linearly dependent; the "
                             "density is not normalisable.")
        logdet = np.linalg.slogdet(self.filters_.astype(np.float64))[1]
        return (-logdet + self.n_features_in_ * np.log(self._scale())
                + float(np.sum(StudentT(self.c).log_normalizer(
                    self.expert_weights_.astype(np.float64)))))

    def score_samples(self, X):
        r"""Log-density of every row, in nats.

        Exact for the complete model (``n_experts == n_features``), by the
        change of variables ``u = W (x - mean_)``; see :meth:`log_partition`.
        For an overcomplete model, :math:`\log Z` is estimated once by
        annealed importance sampling seeded by ``random_state`` (see
        :meth:`estimate_log_partition`) and cached as ``log_partition_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples as rows; float32 is kept, other dtypes become float64.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            In float64; finite for every finite row, however large
            (responses beyond the float range are evaluated through their
            logarithms).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If ``X`` does not have ``n_features_in_`` columns or holds NaN
            or infinity, or the model is undercomplete (``n_experts <
            n_features``), which is not a density.
        """
        Xc, exponent = self._centered(X)
        log_z = self._log_partition()
        E = self._fitted_energy(dtype=Xc.dtype).energy(Xc, exponent)
        return -E.astype(np.float64) - log_z

    # hooks of DensityMixin
    def _n_parameters(self):
        """Free parameters: ``n_features - 1`` per unit-norm filter, the
        expert weights if learned, ``mean_`` and ``scale_`` (``c`` is
        fixed)."""
        n_experts, n_features = self.filters_.shape
        learned = n_experts if self.learn_weights else 0
        return n_experts * (n_features - 1) + learned + n_features + 1

    def _exact_log_partition(self):
        n_experts, n_features = self.filters_.shape
        if n_experts > n_features:
            return None
        return self.log_partition()  # raises for an undercomplete model

    def _row_energy(self):
        energy = self._fitted_energy(dtype=np.float64)
        mean = self.mean_.astype(np.float64)
        scale = self._scale()

        def energy_grad(X):
            E, d = energy.grad_energy((X - mean) / scale)
            return E, d / scale

        return energy_grad

    def _mode(self):
        return self.mean_

    def _mode_hessian(self):
        W = self.filters_.astype(np.float64) / self._scale()
        return W.T @ ((self.expert_weights_ * self.c ** 2)[:, None] * W)

    def _ais_base(self):
        # the broadened Laplace approximation, for the bulk, and a product
        # of n_features of the experts (the model itself when complete), for
        # the heavy tails: the User Guide, "Log-likelihood by annealed
        # importance sampling"
        return Mixture([self._base_distribution(),
                        StudentTProduct.from_experts(
                            self.mean_, self.filters_, self.expert_weights_,
                            self.c, self._scale())])

    def denoise(self, X, sigma=None, *, clip=True, max_iter=200, tol=1e-6,
                noise_sigma="deprecated"):
        r"""MAP estimate of clean rows from noisy rows ``X``.

        Each row ``y`` is replaced by

        .. math::

            \hat x = \arg\max_{x \in B} \log p(x)
                      - \frac{|y - x|^2}{2 \sigma^2},

        with :math:`B` the box ``[data_min_, data_max_]`` of the training
        data (``clip=True``) or all of :math:`\mathbb{R}^d`
        (``clip=False``): the model knows nothing beyond that range, and
        data such as pixels have hard bounds that its heavy-tailed density
        does not.  Found for all rows at once by L-BFGS(-B) on the
        (separable) sum of the per-row objectives, starting from ``y``
        (clipped to :math:`B`), in the units of the scaled data
        ``(x - mean_) / scale_`` (so that ``tol`` does not depend on the
        units of ``X``).  Rows so far from the data that their posterior
        exceeds the float range are returned clipped to :math:`B` (their
        nearest point in it), or unchanged with ``clip=False``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Noisy data.
        sigma : float
            Standard deviation of the Gaussian noise, in the units of ``X``
            (required; the default None stands in for it only while
            ``noise_sigma`` remains).
        clip : bool, default=True
            Keep every feature of the estimate within its range in the
            training data (``data_min_`` to ``data_max_``), as
            scikit-image's restoration functions clip to the image range.
            Models saved before sksm kept the range are not clipped.
        max_iter : int, default=200
            L-BFGS iterations.
        tol : float, default=1e-6
            L-BFGS tolerance.
        noise_sigma : float
            Deprecated spelling of ``sigma`` (a ``FutureWarning``); removed
            in 0.3.

        Returns
        -------
        X_denoised : ndarray of shape (n_samples, n_features)
            In the dtype of ``X``.

        Raises
        ------
        ValueError
            If ``sigma`` is not a positive number, or ``X`` is not a matrix
            of ``n_features_in_`` finite columns.
        TypeError
            If ``sigma`` is missing or not a number.

        Warns
        -----
        sklearn.exceptions.ConvergenceWarning
            If the posterior energy or its gradient became non-finite.
        """
        sigma = renamed_argument(sigma, noise_sigma, "sigma", "noise_sigma")
        if sigma is None:
            raise TypeError("denoise() missing sigma, the standard deviation "
                            "of the noise in the units of X.")
        sigma = check_sigma(sigma)
        max_iter = check_count(max_iter, "max_iter")
        tol = check_positive(tol, "tol")
        clip = check_bool(clip, "clip")
        Y = self._validate(X)
        box = None
        if clip and hasattr(self, "data_min_"):
            box = (self.data_min_, self.data_max_)
        return denoise_rows(self._fitted_energy(dtype=np.float64), Y, sigma,
                            mean=self.mean_, scale=self._scale(), box=box,
                            max_iter=max_iter, tol=tol)

    def get_feature_names_out(self, input_features=None):
        """Get the names of the columns of :meth:`transform`, one per column.

        ``regularizedscorematchingpoe_expert<i>`` is the activation
        :math:`g(z_i)` of expert ``i`` (a row of ``filters_``); for
        ``features='signed_activation'`` the suffixes ``_pos`` and ``_neg``
        name its activation where the response is positive and where it is
        negative, and for ``features='activation_and_response'`` the suffix
        ``_response`` names the response :math:`z_i` itself.  The columns
        come in :meth:`transform`'s order: all experts' first part, then all
        experts' second part.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the names seen in ``fit``
            (``feature_names_in_``): every output mixes all inputs.

        Returns
        -------
        feature_names_out : ndarray of str objects
            Of length ``n_experts`` or ``2 * n_experts``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If ``input_features`` differ from ``feature_names_in_`` or have
            the wrong length.
        """
        experts = self._expert_names(input_features)
        suffixes = {"activation": [""],
                    "signed_activation": ["_pos", "_neg"],
                    "activation_and_response": ["", "_response"]}
        return np.asarray([name + suffix
                           for suffix in suffixes[self.features]
                           for name in experts], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
