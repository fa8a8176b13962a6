"""The FieldsOfExperts estimator: a convolutional image prior.

A thin estimator: the energy is :class:`sksm.energies.FieldOfExperts`, its
prior on pixels :mod:`sksm.energies.pixel_prior`, the fit
:class:`~sksm._base.BaseExpertsEstimator`, and the restoration methods are
doors onto :mod:`sksm.restoration`, which checks their inputs and calls the
numerics of :mod:`sksm.posterior`.
"""

import copy
from numbers import Integral

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._experts_base import MIN_EXPERT_WEIGHT, BaseExpertsEstimator
from ._reductions import running_moments
from ._validation import (
    Fitted,
    Interval,
    check_fit_range,
    check_image_rows,
    check_image_shape,
    check_image_shape_form,
    validate_float_data,
)
from .energies import FieldOfExperts
from .energies.layers import split_exponent
from .energies.pixel_prior import (
    curvature_bound,
    image_prior,
    mode_hessian,
    pixel_filters,
    prior_energy_grad,
    whitening_kernel,
)
from .experts import DEFAULT_C
from .image import whiten
from .restoration._doors import RestorationMixin
from .restoration._policy import check_images

__all__ = ["FieldsOfExperts"]


def _reach(filter_size, whiten):
    """Pixels on each side that one filter response spans: the filter's
    side less one, plus 4 for the 5x5 whitening kernel."""
    return (4 if whiten else 0) + filter_size - 1


class FieldsOfExperts(TransformerMixin, RestorationMixin,
                      BaseExpertsEstimator):
    r"""Field of Student-t experts: a prior over images of any size.

    The energy of an image :math:`x` (Kingma & LeCun 2010, eq. 9) sums a
    Product of Experts over every position :math:`p` of a square filter inside
    the image,

    .. math::

        E(x) = \sum_{p} \sum_{i=1}^{M} \alpha_i\,
               g\big(w_i^T (Lx)_{(p)}\big)
               + \frac{(\bar x - \mu)^2}{2 s^2},
        \qquad g(z) = \log\left(1 + \tfrac{1}{2} (c z)^2\right),

    where :math:`L` is the whitening filter with ``whiten='laplacian'`` (the
    identity with the default ``whiten=None``), applied at valid positions,
    and the last term is a weak Gaussian prior on the image mean
    :math:`\bar x` (mean :math:`\mu` and standard deviation :math:`s` of the
    training images' means).  The filters are learned by ``objective``
    (regularized score matching, eq. 7, by default) on the training images,
    on the pixels or, with ``whiten='laplacian'``, on the whitened images;
    the Hessian diagonal at a pixel sums the contributions of every filter
    position covering it, which is exact for this one-layer model.

    The sum runs over the valid positions :math:`p` only, those where the
    whole window of a pixel filter lies inside the image (nothing is
    padded).  An image smaller than that window (``filter_size`` pixels a
    side, 4 more with whitening) has no position, so the experts would say
    nothing about it: ``fit``, :meth:`energy`, :meth:`grad_log_density` and
    the restoration methods refuse it with a ``ValueError``.

    The whitening filter and every other zero-sum filter do not respond to a
    constant image, so without the mean term :math:`\exp(-E)` would be flat
    along the brightness direction and not normalisable.  The mean term makes
    it a proper density and does not affect restoration, where the data term
    fixes the brightness.

    Read more in the :ref:`User Guide <user_guide>` ("Fields of Experts").

    Parameters
    ----------
    n_experts : int, default=24
        Number of filters :math:`M`, one expert each.
    filter_size : int, default=5
        Side, in pixels, of the square filters :math:`w_i` (``filters_``).
        Every image must have at least this many pixels on each side (4
        more with ``whiten='laplacian'``).
    image_shape : tuple of (int, int), default=None
        ``(height, width)`` of the images given as rows of ``X`` to ``fit``,
        ``partial_fit``, ``transform``, ``score`` and ``score_samples``
        (row-major pixels).  None: square if ``n_features`` is a perfect
        square, else one row of pixels.
    reg_lambda : float, default=3e-4
        Curvature penalty of eq. 7 (the noise level of denoising and sliced
        score matching at ``training_noise='auto'``, see
        :class:`RegularizedScoreMatchingPoE`); the User Guide compares
        values for denoising.
    objective : str or Objective, default='rsm'
        What the fit minimises, an object of :mod:`sksm.objectives` that
        owns its settings (search them as ``objective__<name>``), or a
        string for its default instance: 'rsm', 'rsm_full', 'dsm', 'ssm' or
        'cd' (see :class:`RegularizedScoreMatchingPoE` and the User Guide,
        "Objectives").
    whiten : {'laplacian'} or None, default=None
        'laplacian': learn on images filtered with a 5x5 Laplacian
        (high-pass) kernel, as the paper does; the prior on pixels then uses
        the composed filters (``pixel_filters_``).  None: learn on the pixels
        (the User Guide compares the two for denoising).
    c : float, default=e^1.5
        Horizontal scale of the Student-t experts (not learned), in the
        units of the pixels: with images in [0, 1] it sets at which filter
        response an expert turns from quadratic to heavy-tailed.
    learn_weights : bool, default=True
        Learn the expert weights (kept in [``min_expert_weight``, 1e4]);
        False fixes them to 1.
    min_expert_weight : float, default=0.501
        Lower bound of the learned weights; above 1/2 every expert is a
        density.
    normalize_filters : bool, default=True
        True keeps the filters at unit norm, as the paper does.  False lets
        each filter's norm, and with it the scale of its expert relative to
        the fixed ``c``, be learned; score matching then trades the weight
        of an expert for the norm of its filter, toward ever heavier tails,
        and ends with every weight at ``min_expert_weight`` (see the User
        Guide, "Fields of Experts").
    pooling : {'sum', 'quadrants'} or None, default=None
        ``transform`` output: None, every expert at every position; 'sum', the
        activations summed over positions (translation-invariant features);
        'quadrants', summed over each quadrant of the positions (top left,
        top right, bottom left, bottom right), ``4 * n_experts`` features,
        the pooling of Coates, Lee & Ng (2011): on 14x14 digits the best
        classifier features of the package (the User Guide, "Features").
    solver : {'auto', 'lbfgs', 'adam'}, default='auto'
        'lbfgs': full-batch L-BFGS-B from scipy.  'adam': minibatch Adam,
        which :meth:`partial_fit` and contrastive divergence need.  'auto':
        'adam' for ``objective='cd'`` (a stochastic gradient, with no loss
        to line-search on), 'lbfgs' for the others.
    max_iter : int, default=250
        Maximum L-BFGS iterations, or Adam epochs.
    tol : float, default=1e-5
        L-BFGS stops when an iteration lowers the loss by less than this
        fraction of it (or the projected gradient is smaller).  Adam: an
        epoch that improves the loss by less counts as no progress.
    batch_size : int or 'auto', default='auto'
        Images per Adam minibatch; 'auto' is ``min(200, n_images)``.
    learning_rate : float, default=1e-3
        Adam step size.
    n_iter_no_change : int, default=10
        Adam stops after this many epochs without progress.
    warm_start : bool, default=False
        Start ``fit`` from the fitted filters and weights, when there are
        some of the same shape, instead of from random orthonormal filters.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial filters, the random draws of the objective, the
        minibatch order and the annealed importance sampling of
        :meth:`score_samples`.
    verbose : int, default=0
        Print what ``fit`` expects to take (from the time of its first
        evaluations), then the loss at every iteration or epoch, and the
        progress of annealed importance sampling.  At 0, ``fit`` and
        ``score`` warn (``UserWarning``) when they expect to take more than
        a minute.

    Attributes
    ----------
    filters_ : ndarray of shape (n_experts, filter_size, filter_size)
        The filters :math:`w_i` (unit-norm unless
        ``normalize_filters=False``), acting on the whitened images with
        ``whiten='laplacian'``, else on the pixels; in the dtype of the
        training data.
    expert_weights_ : ndarray of shape (n_experts,)
        Expert weights :math:`\alpha_i`, in [``min_expert_weight``, 1e4]
        (all 1 with ``learn_weights=False``).
    pixel_filters_ : ndarray of shape (n_experts, k, k)
        The filters acting on pixels: ``filters_`` composed with the
        whitening kernel (``k = filter_size + 4``), or ``filters_``.
    image_shape_ : tuple of (int, int)
        ``(height, width)`` of the training images, from ``image_shape`` or
        ``n_features_in_``.
    mean_brightness_, std_brightness_ : float
        Mean and standard deviation (at least 0.1) of the training images'
        means; running statistics of all the images seen by
        ``partial_fit``.
    n_samples_seen_ : int or float
        Images behind those statistics: their number, or the sum of their
        weights (a float) when ``fit`` was given ``sample_weight``.
    denoise_calibration_ : ndarray of shape (n_levels, 3)
        Rows of (noise sigma, prior weight, prior scale) set by
        :meth:`calibrate_denoising` (absent until it is called; training
        again removes it).
    log_partition_, log_partition_std_ : float
        The estimate of :math:`\log Z` and its standard error, set by
        :meth:`estimate_log_partition` (or the first :meth:`score_samples`);
        refitting removes them.
    n_iter_ : int
        Iterations (L-BFGS) or epochs (Adam) run by the last ``fit``.
    loss_curve_ : list of float
        Loss after each iteration or epoch.
    n_features_in_ : int
        Pixels per training image, ``height * width``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the columns seen during ``fit``, when they are all strings.

    See Also
    --------
    RegularizedScoreMatchingPoE : The same experts on whole vectors.
    sksm.load_pretrained_foe : A Field of Experts trained on photographs.

    References
    ----------
    S. Roth and M. J. Black. Fields of experts. IJCV 82(2), 2009.
    D. P. Kingma and Y. LeCun. Regularized estimation of image statistics by
    Score Matching. NIPS 2010.

    A. Coates, H. Lee and A. Y. Ng. An analysis of single-layer networks in
    unsupervised feature learning. AISTATS 2011 (the quadrant pooling).

    Examples
    --------
    >>> import numpy as np
    >>> from sksm import FieldsOfExperts
    >>> rng = np.random.RandomState(0)
    >>> X = rng.rand(20, 16 * 16)
    >>> foe = FieldsOfExperts(n_experts=4, max_iter=5, random_state=0).fit(X)
    >>> foe.filters_.shape
    (4, 5, 5)
    >>> foe.denoise(rng.rand(32, 40), sigma=0.1).shape
    (32, 40)
    """

    _parameter_constraints = {
        **BaseExpertsEstimator._parameter_constraints,
        "n_experts": [Interval(Integral, 1, None, closed="left")],
        "filter_size": [Interval(Integral, 1, None, closed="left")],
        "image_shape": [tuple, list, None],
        "whiten": [StrOptions({"laplacian"}), None],
        "pooling": [StrOptions({"sum", "quadrants"}), None],
        "normalize_filters": ["boolean"],
    }

    _fitted_attributes = {
        **BaseExpertsEstimator._fitted_attributes,
        "filters_": Fitted("array", ("n_filters", "filter_size",
                                     "filter_size")),
        "image_shape_": Fitted("shape"),
        "mean_brightness_": Fitted("real"),
        "n_samples_seen_": Fitted("positive", optional=True),
        "std_brightness_": Fitted("positive"),
        "denoise_calibration_": Fitted("array", ("n_noise_levels", 3),
                                       positive=True, optional=True),
    }

    def __init__(self, n_experts=24, *, filter_size=5, image_shape=None,
                 reg_lambda=3e-4, objective="rsm", whiten=None, c=DEFAULT_C,
                 learn_weights=True, min_expert_weight=MIN_EXPERT_WEIGHT,
                 normalize_filters=True, pooling=None, solver="auto",
                 max_iter=250, tol=1e-5, batch_size="auto",
                 learning_rate=1e-3, n_iter_no_change=10, warm_start=False,
                 random_state=None, verbose=0):
        self.n_experts = n_experts
        self.filter_size = filter_size
        self.image_shape = image_shape
        self.reg_lambda = reg_lambda
        self.objective = objective
        self.whiten = whiten
        self.c = c
        self.learn_weights = learn_weights
        self.min_expert_weight = min_expert_weight
        self.normalize_filters = normalize_filters
        self.pooling = pooling
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
    # Hooks of BaseExpertsEstimator
    # ------------------------------------------------------------------ #
    def _n_experts(self):
        return self.n_experts

    def __sksm_check_fitted__(self):
        super().__sksm_check_fitted__()
        if self.image_shape is not None:  # the parameter, checked by fit
            check_image_shape_form(self.image_shape)
        shape = check_image_shape(self.image_shape_, self.n_features_in_)
        if min(shape) <= self._margin():
            raise ValueError(f"image_shape_ {shape} is too small for "
                             f"{self.filter_size}x{self.filter_size} filters.")
        table = getattr(self, "denoise_calibration_", None)
        if table is not None and np.any(np.diff(table[:, 0]) <= 0):
            raise ValueError("denoise_calibration_ must be rows of increasing "
                             "noise levels.")

    def _n_inputs(self):
        return self.filter_size ** 2

    def _new_energy(self, V, beta):
        return FieldOfExperts(V, beta, self.c, self.learn_weights,
                              unit_norm=self.normalize_filters)

    def _store(self, energy):
        k = self.filter_size
        self.filters_ = energy.filters.reshape(-1, k, k).copy()
        self.expert_weights_ = energy.weights.copy()
        # a calibration and log Z belong to the parameters they were
        # measured with
        self.__dict__.pop("denoise_calibration_", None)
        self._forget_log_partition()

    def _kernel(self):
        return whitening_kernel(self.whiten)

    def _margin(self):
        """Pixels lost on each side by whitening and filtering."""
        return _reach(self.filter_size, self.whiten)

    def _images_from_rows(self, X, reset, fit=False):
        if not reset:
            check_image_rows(X, self.image_shape_, type(self).__name__)
        X = validate_float_data(self, X, reset=reset)
        if fit:
            check_fit_range(X, "Field of Experts")
        if reset:
            self._set_image_shape(X.shape[1])
        return X.reshape((len(X),) + self.image_shape_)

    def with_image_shape(self, image_shape):
        r"""A copy of the fitted model for images of another shape.

        A Field of Experts is defined on images of any size (its energy sums
        the experts over the positions of the image), but its normaliser
        :math:`\log Z` depends on the size, and :meth:`score`,
        :meth:`score_samples` and :meth:`transform` take rows of one shape,
        ``image_shape_``.  The copy has the same filters, weights, mean
        brightness term and denoising calibration, takes rows of
        ``image_shape`` and estimates its own :math:`\log Z` at its first
        :meth:`score` (or :meth:`estimate_log_partition`).

        Parameters
        ----------
        image_shape : tuple of (int, int)
            ``(height, width)`` of the images to score, each side more than
            the window of the pixel filters (``filter_size``, 4 more with
            whitening).

        Returns
        -------
        model : FieldsOfExperts
            A new fitted estimator, with ``image_shape`` and
            ``image_shape_`` set to ``image_shape``, ``n_features_in_`` to
            ``height * width``, and no ``log_partition_`` or
            ``feature_names_in_``; this one is not changed.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If ``image_shape`` is not two positive integers, or is too small
            for the filters.

        Examples
        --------
        >>> from sksm import load_pretrained_foe
        >>> model = load_pretrained_foe()
        >>> model.image_shape_
        (36, 36)
        >>> model.with_image_shape((15, 15)).n_features_in_
        225
        """
        check_is_fitted(self)
        height, width = check_image_shape_form(image_shape)
        model = copy.deepcopy(self)
        model.image_shape = (height, width)
        model._set_image_shape(height * width)  # refuses too small images
        model.n_features_in_ = height * width
        model.__dict__.pop("feature_names_in_", None)
        model.__dict__.pop("_objective_state", None)  # chains of the old size
        model._forget_log_partition()
        return model

    def _set_image_shape(self, n_features):
        self.image_shape_ = check_image_shape(self.image_shape, n_features)
        if min(self.image_shape_) <= self._margin():
            raise ValueError(
                f"Images of shape {self.image_shape_} are too small for "
                f"{self.filter_size}x{self.filter_size} filters"
                f"{' after 5x5 whitening' if self.whiten else ''}: each "
                f"side needs more than {self._margin()} pixels.  fit "
                "takes images as rows of X: cut photographs into square "
                "patches with sksm.image.extract_patches, or give the "
                "shape of the rows as image_shape=(height, width).")

    def _whitened(self, images):
        kernel = self._kernel()
        return images if kernel is None else whiten(images, kernel)

    def _fit_data(self, X, sample_weight=None):
        images = self._images_from_rows(X, reset=True)  # range: _fit_rows
        return self._fit_rows(images.reshape(len(images), -1), sample_weight)

    def _cluster_shape(self, n_features):
        super()._cluster_shape(n_features)
        self._set_image_shape(n_features)

    def _input_row_shape(self):
        return self._whitened(np.zeros((1,) + self.image_shape_)).shape[1:]

    def _check_block(self, block):
        check_fit_range(block, "Field of Experts")

    def _statistics_values(self, block):
        return block.mean(axis=1, dtype=np.float64)[:, None]

    def _set_statistics(self, n, mean, var, low, high):
        self._set_brightness(n, mean, var)

    def _energy_input(self, block):
        return self._whitened(block.reshape((len(block),) + self.image_shape_))

    def _brightness(self, means, first):
        """Set ``mean_brightness_`` and ``std_brightness_`` from the images'
        ``means``, or update them as running statistics of all the images
        seen (:func:`~sksm._base.running_moments`)."""
        if first or not hasattr(self, "n_samples_seen_"):
            n_old, mean, var = 0, 0.0, 0.0
        else:
            n_old, mean = self.n_samples_seen_, self.mean_brightness_
            # the unfloored variance; from the floored std for a model
            # loaded from a file (which does not keep it)
            var = getattr(self, "_brightness_var", self.std_brightness_ ** 2)
        self._set_brightness(*running_moments(n_old, mean, var,
                                              means[:, None]))

    def _set_brightness(self, n, mean, var):
        self.n_samples_seen_ = n
        self._brightness_var = var
        self.mean_brightness_ = float(mean[0])
        # A floor keeps the mean term proper for a single training image.
        self.std_brightness_ = float(max(np.sqrt(var), 0.1))

    def _partial_fit_data(self, X, first):
        if first:
            return self._fit_data(X)[0]
        images = self._images_from_rows(X, reset=False, fit=True)
        self._brightness(images.mean(axis=(1, 2), dtype=np.float64), False)
        return self._whitened(images)

    # ------------------------------------------------------------------ #
    # The prior on pixels (sksm.energies.pixel_prior)
    # ------------------------------------------------------------------ #
    @property
    def pixel_filters_(self):
        """The filters acting on pixels, ndarray of shape (n_experts, k, k).

        ``filters_`` composed with the whitening kernel (``k = filter_size +
        4``) with ``whiten='laplacian'``, else a copy of ``filters_``.
        """
        check_is_fitted(self)
        return pixel_filters(self.filters_, self._kernel())

    def _prior_energy_grad(self, images, energy=None):
        """``(E, dE/dx)`` of the prior, mean term included, for a float
        stack (n, H, W) (:func:`~sksm.energies.pixel_prior.prior_energy_grad`)."""
        if energy is None:
            energy = self._fitted_energy(dtype=images.dtype)
        return prior_energy_grad(image_prior(energy, self._kernel()), images,
                                 self.mean_brightness_, self.std_brightness_)

    def energy(self, images):
        """Energy of each image (any size, at least the filters' support).

        Parameters
        ----------
        images : array-like of shape (height, width) or (n, height, width)
            One image or a stack, each side at least the window of the pixel
            filters (``filter_size``, 4 more with whitening); integer images
            are read as [0, 1] by their dtype's range.

        Returns
        -------
        energy : float or ndarray of shape (n,)
            Eq. 9 of the paper plus the mean term, in nats, in float64 (a
            float for one image).  Finite for any finite pixels except where
            the mean brightness term, ``(mean(x) - mean_brightness_)**2 /
            (2 std_brightness_**2)``, exceeds the float range: +inf there.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        TypeError
            If ``images`` is sparse or does not hold real numbers.
        ValueError
            If ``images`` is not 2-D or 3-D, holds NaN or infinity, or is
            smaller than the window of the filters on either side.
        """
        check_is_fitted(self)
        stack, arr = check_images(self, images)
        E = self._prior_energy_grad(stack)[0]
        return float(E[0]) if arr.ndim == 2 else E

    def grad_log_density(self, images):
        """Gradient of the log-prior with respect to the pixels, ``-dE/dx``.

        Parameters
        ----------
        images : array-like of shape (height, width) or (n, height, width)
            One image or a stack, each side at least the window of the pixel
            filters (``filter_size``, 4 more with whitening); integer images
            are read as [0, 1] by their dtype's range.

        Returns
        -------
        grad : ndarray of the shape of ``images``
            In float32 for float32 images, else float64; in nats per unit
            of the pixels.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        TypeError
            If ``images`` is sparse or does not hold real numbers.
        ValueError
            If ``images`` is not 2-D or 3-D, holds NaN or infinity, or is
            smaller than the window of the filters on either side.
        """
        check_is_fitted(self)
        stack, arr = check_images(self, images)
        d = -self._prior_energy_grad(stack)[1]
        return d[0] if arr.ndim == 2 else d

    # ------------------------------------------------------------------ #
    # scikit-learn API on rows of pixels
    # ------------------------------------------------------------------ #
    def transform(self, X):
        """Expert activations on the pixels of each image.

        Parameters
        ----------
        X : array-like of shape (n_images, height * width)
            Images of ``image_shape_`` as rows.

        Returns
        -------
        X_new : ndarray of shape (n_images, n_experts * n_positions), \
(n_images, n_experts) or (n_images, 4 * n_experts)
            ``g(w_i^T (Lx)_(p))`` expert by expert (positions row-major), or
            summed over positions when ``pooling='sum'``, or over each
            quadrant of the positions when ``pooling='quadrants'`` (expert by
            expert, quadrants row-major; with an odd number of rows or
            columns of positions the middle one goes to the lower or right
            half); in the dtype of ``X`` (float32 stays float32).
            :meth:`get_feature_names_out` names the columns.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If ``X`` does not have ``n_features_in_`` columns or holds NaN
            or infinity.
        """
        check_is_fitted(self)
        mantissa, exponent = split_exponent(
            self._images_from_rows(X, reset=False))
        act = self._fitted_energy(dtype=mantissa.dtype).activations(
            self._whitened(mantissa), exponent)
        if self.pooling == "sum":
            return act.sum(axis=1)
        if self.pooling == "quadrants":
            return self._quadrant_sums(act)
        return act.transpose(0, 2, 1).reshape(len(mantissa), -1)

    def _positions_shape(self):
        height, width = self.image_shape_
        margin = self._margin()
        return height - margin, width - margin

    def _quadrant_sums(self, act):
        """Activations of shape (n, n_positions, n_experts) summed over
        the quadrants of the positions: (n, n_experts * 4)."""
        rows, cols = self._positions_shape()
        act = act.reshape(len(act), rows, cols, -1)
        r, c = rows // 2, cols // 2
        parts = [act[:, :r, :c], act[:, :r, c:], act[:, r:, :c],
                 act[:, r:, c:]]
        sums = np.stack([part.sum(axis=(1, 2)) for part in parts], axis=2)
        return sums.reshape(len(act), -1)

    def get_feature_names_out(self, input_features=None):
        """Get the names of the columns of :meth:`transform`, one per column.

        ``fieldsofexperts_expert<i>_row<r>_col<c>`` is the activation of
        expert ``i`` (filter ``filters_[i]``) at the position whose window
        on the image (of the shape of ``pixel_filters_``) has its top-left
        pixel in row ``r`` and column ``c`` of the image, rows and columns
        counted from 0; in :meth:`transform`'s order, expert by expert and
        positions row-major.  With ``pooling='sum'``,
        ``fieldsofexperts_expert<i>`` is the sum over positions; with
        ``pooling='quadrants'``, ``fieldsofexperts_expert<i>_top_left``,
        ``_top_right``, ``_bottom_left`` and ``_bottom_right`` the sums over
        the quadrants.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the names seen in ``fit``
            (``feature_names_in_``): every output mixes several pixels.

        Returns
        -------
        feature_names_out : ndarray of str objects
            Of length ``n_experts * n_positions``, ``n_experts`` with
            ``pooling='sum'`` or ``4 * n_experts`` with
            ``pooling='quadrants'``; ``n_positions`` is ``(height - k + 1) *
            (width - k + 1)`` for ``image_shape_ = (height, width)`` and
            pixel filters of side ``k``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If ``input_features`` differ from ``feature_names_in_`` or have
            the wrong length.
        """
        experts = self._expert_names(input_features)
        if self.pooling == "sum":
            return np.asarray(experts, dtype=object)
        if self.pooling == "quadrants":
            positions = ["_top_left", "_top_right", "_bottom_left",
                         "_bottom_right"]
        else:
            rows, cols = self._positions_shape()
            positions = [f"_row{r}_col{c}" for r in range(rows)
                         for c in range(cols)]
        return np.asarray([name + position for name in experts
                           for position in positions], dtype=object)

    def score_samples(self, X):
        r"""Log-likelihood of every image of ``image_shape_``, in nats.

        :math:`-E(x) - \log Z`, where :math:`\log Z`, which has no closed
        form, is estimated once by annealed importance sampling seeded by
        ``random_state`` (see :meth:`estimate_log_partition`, which also sets
        its accuracy) and cached as ``log_partition_``.

        Parameters
        ----------
        X : array-like of shape (n_images, height * width)
            Images of ``image_shape_`` as rows of pixels.

        Returns
        -------
        log_density : ndarray of shape (n_images,)
            In float64; -inf where :meth:`energy` is +inf.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If ``X`` does not have ``n_features_in_`` columns or holds NaN
            or infinity.

        Notes
        -----
        The first call costs far more than the energies: AIS runs
        ``n_chains * n_temperatures * 11`` evaluations of the energy and of
        its Gaussian base on images of ``image_shape_``, 100 chains at once,
        with runs of 100, 200, 400, ... temperatures until two agree (300 to
        6,300 temperatures in all); the energy takes time proportional to
        ``pixels * n_experts * filter_size**2``, the base (a dense precision
        matrix) to ``pixels**2``, after building the base once
        (``O(pixels**3)``): minutes for the defaults on 36x36 images (the
        User Guide, "Log-likelihood by annealed importance sampling", gives
        the times measured).  The time grows linearly in the chains and the
        temperatures.  It is stated before the run starts (printed with
        ``verbose``, which also shows a progress bar; a warning above a
        minute).  To trade accuracy for time, call
        :meth:`estimate_log_partition` with fewer ``n_chains`` (the standard
        error grows as one over their square root) or a fixed
        ``n_temperatures`` (the estimate is biased low, and the effective
        number of chains falls), before ``score``: the cached estimate is
        used.  :meth:`score` is NaN when the estimate's standard error
        exceeds 1 nat.
        """
        check_is_fitted(self)
        images = self._images_from_rows(X, reset=False)
        E = self._prior_energy_grad(images.astype(np.float64))[0]
        return -E - self._log_partition()

    # hooks of DensityMixin
    def _row_energy(self):
        energy = self._fitted_energy(dtype=np.float64)
        shape = self.image_shape_

        def energy_grad(X):
            E, d = self._prior_energy_grad(X.reshape((len(X),) + shape),
                                           energy)
            return E, d.reshape(len(X), -1)

        return energy_grad

    def _mode(self):
        return np.full(self.n_features_in_, self.mean_brightness_)

    def _mode_hessian(self):
        """Hessian of the energy where every response is zero.

        ``sum_i alpha_i c^2 A_i^T A_i`` with ``A_i`` the valid correlation
        with pixel filter i, plus the mean term's ``1 1^T / (s^2 N^2)``.
        """
        return mode_hessian(self.pixel_filters_, self.expert_weights_, self.c,
                            self.image_shape_, self.std_brightness_)

    # ------------------------------------------------------------------ #
    # Restoration (the doors: RestorationMixin, in sksm.restoration)
    # ------------------------------------------------------------------ #
    @property
    def reach_(self):
        """Pixels on each side that one filter response spans, an int.

        The gradient of the prior at a pixel depends on the pixels within
        ``reach_`` of it; restoration extends images by it (reflected) and
        tiles overlap by :attr:`tile_overlap_`.
        """
        check_is_fitted(self)
        return self._margin()

    @property
    def tile_overlap_(self):
        """Context, in pixels, kept around every tile in restoration, an int.

        Four times :attr:`reach_`: with it, tiled restoration matches the
        restoration of the whole image to well within 1/255 per pixel for
        every method whose steps are local (denoising by 'fista' and
        'paper', super-resolution); see the user guide, "Images of any
        size".
        """
        return 4 * self.reach_

    def prior_lipschitz(self):
        r"""An upper bound on the curvature of the prior energy.

        :math:`L = 1.01 \max_\omega \sum_i \alpha_i c^2 |\hat p_i(\omega)|^2`
        over a 128 x 128 grid of frequencies, with :math:`p_i` the pixel
        filters and :math:`c^2 = \max g''`
        (:func:`~sksm.energies.pixel_prior.curvature_bound`): the Hessian of
        the energy with respect to the pixels has norm at most ``L``, so a
        gradient step of ``1 / L`` cannot overshoot.  The step sizes of
        restoration ('fista', and the schedule of super-resolution) come
        from it.

        Returns
        -------
        lipschitz : float
            ``L``, in nats per squared unit of the pixels.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        """
        check_is_fitted(self)
        return curvature_bound(self.pixel_filters_, self.expert_weights_,
                               self.c)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
