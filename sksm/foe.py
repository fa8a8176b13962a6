"""The FieldsOfExperts estimator: a convolutional image prior."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from scipy.signal import fftconvolve
from sklearn.base import TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _progress, posterior
from ._base import MIN_EXPERT_WEIGHT, BaseExpertsEstimator
from ._likelihood import LikelihoodMixin
from ._reductions import running_moments
from ._validation import (
    Fitted,
    check_count,
    check_fit_range,
    check_mask,
    check_noise_sigma,
    check_positive,
    validate_float_data,
)
from .energies import FieldOfExperts
from .energies.layers import split_exponent
from .experts import DEFAULT_C
from .image import (
    check_image,
    check_unit_range,
    compose_filters,
    estimate_sigma,
    laplacian_kernel,
    psnr,
    restore_dtype,
    to_float,
    whiten,
)
from .posterior import ImagePrior

__all__ = ["FieldsOfExperts"]


def _resolve_image_shape(image_shape, n_features):
    if image_shape is None:
        side = int(round(np.sqrt(n_features)))
        return (side, side) if side * side == n_features else (1, n_features)
    if (len(image_shape) != 2
            or not all(isinstance(v, Integral) and not isinstance(v, bool)
                       and v > 0 for v in image_shape)):
        raise ValueError(f"image_shape must be (height, width), two positive "
                         f"integers (grayscale images), got "
                         f"{tuple(image_shape)!r}; for colour, fit on one "
                         "channel or on the luminance.")
    height, width = image_shape
    if height * width != n_features:
        raise ValueError(
            f"image_shape={tuple(image_shape)} has {height * width} pixels but "
            f"X has {n_features} features per row.")
    return int(height), int(width)


def _warn_if_implausible(sigma, stack):
    """Warn when ``sigma`` is far from the noise the images seem to hold.

    Catches a level in the wrong units (15 for 15/255, or the reverse):
    more than ten times the estimated noise (at least 1/255) or less than a
    tenth of it.
    """
    estimated = float(np.median([estimate_sigma(im) for im in stack]))
    if sigma > 10 * max(estimated, 1 / 255) or sigma < estimated / 10:
        warnings.warn(
            f"The noise level {sigma:.4g} is far from the noise these images "
            f"seem to hold (estimated {estimated:.3g}, that is "
            f"{255 * estimated:.2g} on the 0-255 scale): noise levels are in "
            "the units of the float image, [0, 1] for integer images (15 on "
            "the 0-255 scale is 15 / 255).  sigma=None in sksm.restoration "
            "uses the estimate.", UserWarning, stacklevel=3)


def _check_ensemble(self_ensemble):
    if isinstance(self_ensemble, (bool, np.bool_)) or \
            self_ensemble not in (1, 2, 4, 8):
        raise ValueError(f"self_ensemble must be 1, 2, 4 or 8, got "
                         f"{self_ensemble!r}.")
    return int(self_ensemble)


def _grid_maximum(score, n_rows, n_cols):
    """The (i, j) of the highest ``score(i, j)`` over the whole grid."""
    scores = {(i, j): score(i, j) for j in range(n_cols) for i in range(n_rows)}
    return max(scores, key=scores.get)


def _local_maximum(score, n_rows, n_cols, start):
    """Climb from ``start`` to the best of the eight neighbours until none is
    better; every ``score(i, j)`` is evaluated once."""
    scores = {}

    def value(cell):
        if cell not in scores:
            scores[cell] = score(*cell)
        return scores[cell]

    current = start
    while True:
        i, j = current
        cells = [(i + a, j + b) for a in (-1, 0, 1) for b in (-1, 0, 1)
                 if 0 <= i + a < n_rows and 0 <= j + b < n_cols]
        best = max(cells, key=value)
        if value(best) <= value(current):
            return current
        current = best


class FieldsOfExperts(TransformerMixin, LikelihoodMixin, BaseExpertsEstimator):
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
    pooling : {'sum'} or None, default=None
        ``transform`` output: None, every expert at every position; 'sum', the
        activations summed over positions (translation-invariant features).
    solver : {'lbfgs', 'adam'}, default='lbfgs'
        'lbfgs': full-batch L-BFGS-B from scipy.  'adam': minibatch Adam,
        which :meth:`partial_fit` needs.
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
        Print the loss at every iteration (and the progress of annealed
        importance sampling).

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
    n_samples_seen_ : int
        Images behind those statistics.
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

    Examples
    --------
    >>> import numpy as np
    >>> from sksm import FieldsOfExperts
    >>> rng = np.random.RandomState(0)
    >>> X = rng.rand(20, 16 * 16)
    >>> foe = FieldsOfExperts(n_experts=4, max_iter=5, random_state=0).fit(X)
    >>> foe.filters_.shape
    (4, 5, 5)
    >>> foe.denoise(rng.rand(32, 40), noise_sigma=0.1).shape
    (32, 40)
    """

    _parameter_constraints = {
        **BaseExpertsEstimator._parameter_constraints,
        "n_experts": [Interval(Integral, 1, None, closed="left")],
        "filter_size": [Interval(Integral, 1, None, closed="left")],
        "image_shape": [tuple, list, None],
        "whiten": [StrOptions({"laplacian"}), None],
        "pooling": [StrOptions({"sum"}), None],
        "normalize_filters": ["boolean"],
    }

    _fitted_attributes = {
        **BaseExpertsEstimator._fitted_attributes,
        "filters_": Fitted("array", ("n_filters", "filter_size",
                                     "filter_size")),
        "image_shape_": Fitted("shape"),
        "mean_brightness_": Fitted("real"),
        "n_samples_seen_": Fitted("size", optional=True),
        "std_brightness_": Fitted("positive"),
        "denoise_calibration_": Fitted("array", ("n_noise_levels", 3),
                                       positive=True, optional=True),
    }

    def __init__(self, n_experts=24, *, filter_size=5, image_shape=None,
                 reg_lambda=3e-4, objective="rsm", whiten=None, c=DEFAULT_C,
                 learn_weights=True, min_expert_weight=MIN_EXPERT_WEIGHT,
                 normalize_filters=True, pooling=None, solver="lbfgs",
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

    def _check_fitted_state(self):
        super()._check_fitted_state()
        shape = _resolve_image_shape(self.image_shape_, self.n_features_in_)
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
        return laplacian_kernel(5) if self.whiten == "laplacian" else None

    def _margin(self):
        """Pixels lost on each side by whitening and filtering."""
        return (4 if self.whiten else 0) + self.filter_size - 1

    def _images_from_rows(self, X, reset, fit=False):
        X = validate_float_data(self, X, reset=reset)
        if fit:
            check_fit_range(X, "Field of Experts")
        if reset:
            self._set_image_shape(X.shape[1])
        return X.reshape((len(X),) + self.image_shape_)

    def _set_image_shape(self, n_features):
        self.image_shape_ = _resolve_image_shape(self.image_shape, n_features)
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

    def _fit_data(self, X):
        images = self._images_from_rows(X, reset=True)  # range: _fit_rows
        return self._fit_rows(images.reshape(len(images), -1))

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
            return self._fit_data(X)
        images = self._images_from_rows(X, reset=False, fit=True)
        self._brightness(images.mean(axis=(1, 2), dtype=np.float64), False)
        return self._whitened(images)

    # ------------------------------------------------------------------ #
    # The prior on pixels
    # ------------------------------------------------------------------ #
    @property
    def pixel_filters_(self):
        """The filters acting on pixels, ndarray of shape (n_experts, k, k).

        ``filters_`` composed with the whitening kernel (``k = filter_size +
        4``) with ``whiten='laplacian'``, else a copy of ``filters_``.
        """
        check_is_fitted(self)
        kernel = self._kernel()
        if kernel is None:
            return self.filters_.copy()
        return compose_filters(self.filters_, kernel)

    def _prior_energy_grad(self, images, energy=None):
        """``(E, dE/dx)`` of the prior for a stack (n, H, W) of float images,
        the mean term included.

        Images near the float maximum are evaluated through their mantissas
        (:func:`~sksm.energies.layers.split_exponent`); ``E`` is then +inf
        only where the mean term itself exceeds the float range.
        """
        if energy is None:
            energy = self._fitted_energy(dtype=images.dtype)
        mantissa, exponent = split_exponent(images)
        E, d = self._image_prior(energy).energy_grad(mantissa,
                                                     exponent=exponent)
        n_pixels = images.shape[1] * images.shape[2]
        mean = mantissa.mean(axis=(1, 2), dtype=np.float64)
        with np.errstate(over="ignore"):
            if exponent is not None:
                mean = np.ldexp(mean, exponent)
            excess = mean - self.mean_brightness_
            var = self.std_brightness_ ** 2
            E = E + excess ** 2 / (2 * var)
        d = d + (excess / (var * n_pixels))[:, None, None]
        return E, d.astype(images.dtype, copy=False)

    def _as_stack(self, images, name="images", restoration=False):
        """Float stack (n, H, W) from an image or a stack; remember the form.

        ``restoration``: the pixels must be on the [0, 1] scale, where the
        prior and its calibration work.
        """
        arr = check_image(images, name, ndim=(2, 3))
        height, width = arr.shape[-2:]
        if min(height, width) <= self._margin():
            hint = ""
            if arr.ndim == 3 and arr.shape[-1] in (3, 4):
                hint = (" A colour image? Use sksm.restoration with "
                        "channel_axis=-1, which restores each channel.")
            elif min(height, width) == 1:
                hint = (" A flattened image? Pass it as (height, width).")
            raise ValueError(
                f"{name} of shape {arr.shape} is too small for this model: "
                f"each side needs more than {self._margin()} pixels "
                f"(filters of {self.filter_size}x{self.filter_size}"
                f"{' after 5x5 whitening' if self.whiten else ''}).{hint}")
        stack = to_float(arr)
        if restoration:
            check_unit_range(stack, name)
        return (stack[None] if arr.ndim == 2 else stack), arr

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
        stack, arr = self._as_stack(images)
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
        stack, arr = self._as_stack(images)
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
        X_new : ndarray of shape (n_images, n_experts * n_positions) or \
(n_images, n_experts)
            ``g(w_i^T (Lx)_(p))`` expert by expert (positions row-major), or
            summed over positions when ``pooling='sum'``; in the dtype of
            ``X`` (float32 stays float32).  :meth:`get_feature_names_out`
            names the columns.

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
        return act.transpose(0, 2, 1).reshape(len(mantissa), -1)

    def get_feature_names_out(self, input_features=None):
        """Get the names of the columns of :meth:`transform`, one per column.

        ``fieldsofexperts_expert<i>_row<r>_col<c>`` is the activation of
        expert ``i`` (filter ``filters_[i]``) at the position whose window
        on the image (of the shape of ``pixel_filters_``) has its top-left
        pixel in row ``r`` and column ``c`` of the image, rows and columns
        counted from 0; in :meth:`transform`'s order, expert by expert and
        positions row-major.  With ``pooling='sum'``,
        ``fieldsofexperts_expert<i>`` is the sum over positions.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the names seen in ``fit``
            (``feature_names_in_``): every output mixes several pixels.

        Returns
        -------
        feature_names_out : ndarray of str objects
            Of length ``n_experts * n_positions``, or ``n_experts`` with
            ``pooling='sum'``; ``n_positions`` is ``(height - k + 1) *
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
        height, width = self.image_shape_
        margin = self._margin()
        positions = [f"_row{r}_col{c}" for r in range(height - margin)
                     for c in range(width - margin)]
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
        its Gaussian base on images of ``image_shape_`` (100 x 1000 x 11 by
        default, 100 chains at once), the energy in time proportional to
        ``pixels * n_experts * filter_size**2``, the base (a dense
        precision matrix) to ``pixels**2``, after building the base once
        (``O(pixels**3)``): minutes for the defaults on 36x36 images (the
        User Guide, "Log-likelihood by annealed importance sampling", gives
        the times measured).  The time grows linearly in the chains and the
        temperatures.  It is stated
        before the run starts (printed with ``verbose``, which also shows a
        progress bar; a warning above a minute).  To trade accuracy for time, call
        :meth:`estimate_log_partition` with fewer ``n_chains`` (the standard
        error grows as one over their square root) or ``n_temperatures``
        (the estimate is biased low, and the effective number of chains
        falls), before ``score``: the cached estimate is used.
        """
        check_is_fitted(self)
        images = self._images_from_rows(X, reset=False)
        E = self._prior_energy_grad(images.astype(np.float64))[0]
        return -E - self._log_partition()

    # hooks of SamplingMixin
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
        height, width = self.image_shape_
        filters = self.pixel_filters_.astype(np.float64)
        k = filters.shape[1]
        rows, cols = np.meshgrid(np.arange(height - k + 1),
                                 np.arange(width - k + 1), indexing="ij")
        di, dj = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
        n_pos = rows.size
        # pixel index of every (position, filter tap) pair
        pixel = ((rows.reshape(-1, 1) + di.reshape(1, -1)) * width
                 + cols.reshape(-1, 1) + dj.reshape(1, -1))
        position = np.repeat(np.arange(n_pos), k * k)
        n = height * width
        H = np.zeros((n, n))
        for f, alpha in zip(filters, self.expert_weights_):
            A = sparse.csr_matrix(
                (np.tile(f.ravel(), n_pos), (position, pixel.ravel())),
                shape=(n_pos, n))
            H += alpha * self.c ** 2 * (A.T @ A).toarray()
        return H + 1.0 / (self.std_brightness_ ** 2 * n ** 2)

    # ------------------------------------------------------------------ #
    # Restoration (the numerics live in sksm.posterior)
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

    def _image_prior(self, energy, lipschitz=None):
        """The energy as an :class:`~sksm.posterior.ImagePrior` on pixels:
        whitening (if any) before it, its adjoint after."""
        kernel = self._kernel()
        preprocess = adjoint = None
        if kernel is not None:
            kernel = kernel.astype(energy.filters.dtype)

            def preprocess(h):
                return whiten(h, kernel)

            def adjoint(d):  # of valid correlation: full convolution
                return fftconvolve(d, kernel[None], mode="full", axes=(1, 2))

        return ImagePrior(energy.network, energy.size, preprocess=preprocess,
                          adjoint=adjoint, margin=self._margin(),
                          lipschitz=lipschitz, dtype=energy.filters.dtype)

    def _restoration_prior(self, scale=1.0):
        """The prior as :mod:`sksm.posterior` takes it, filters times ``scale``.

        It evaluates in float32 (measured on 256x256 crops: the same PSNR to
        0.01 dB as float64, at a fifth of the time) and leaves out the mean
        term, which the data fix in every restoration.
        """
        return self._image_prior(
            FieldOfExperts((self._raw_filters() * scale).astype(np.float32),
                           np.log(self.expert_weights_).astype(np.float32),
                           self.c, unit_norm=False),
            lipschitz=scale ** 2 * self._curvature_bound())

    def _curvature_bound(self):
        r"""The largest curvature of the prior energy, a tight bound.

        The Hessian is :math:`\sum_i \alpha_i A_i^T D_i A_i`, with
        :math:`A_i` the correlation with pixel filter :math:`p_i` and
        :math:`|g''| \le c^2` on the diagonal of :math:`D_i`; its norm is at
        most :math:`\max_\omega \sum_i \alpha_i c^2 |\hat p_i(\omega)|^2`,
        taken here on a 128 x 128 frequency grid plus 1% for the frequencies
        between.
        """
        spectra = np.abs(np.fft.rfft2(self.pixel_filters_.astype(np.float64),
                                      s=(128, 128))) ** 2
        weights = self.expert_weights_[:, None, None] * self.c ** 2
        return 1.01 * float((weights * spectra).sum(axis=0).max())

    def _restoration_args(self, max_iter, tile_size):
        if max_iter is not None:
            max_iter = check_count(max_iter, "max_iter")
        if tile_size is not None:
            tile_size = check_count(tile_size, "tile_size")
        return max_iter, tile_size

    def denoise(self, images, noise_sigma, *, method="fista",
                prior_weight="auto", prior_scale="auto", max_iter=None,
                self_ensemble=1, tile_size=256, random_state=None):
        r"""MAP restoration of images with additive white Gaussian noise.

        Minimises :math:`w\,E(x) + \lVert x - y\rVert^2 / (2 \sigma^2)`
        over an image extended by :attr:`reach_` pixels on every side
        (reflected), the data term covering the original pixels only, so that
        border pixels get the full prior.  Every image of a stack, and every
        tile of a large image, is a problem of its own
        (:func:`sksm.posterior.denoise`).

        Parameters
        ----------
        images : array-like of shape (height, width) or (n, height, width)
            Noisy images of any size.  Integer images are read as [0, 1] (by
            their dtype's range) and returned in their dtype and range.
        noise_sigma : float
            Noise standard deviation, in [0, 1] units for integer images and
            in the images' units for float images.
        method : {'fista', 'lbfgs', 'paper', 'mmse'}, default='fista'
            'fista': accelerated proximal gradient descent (Beck & Teboulle
            2009) from the noisy image, with the fixed step that the prior's
            largest curvature allows (``max_iter`` default 30).  Its steps
            are local, so tiled and whole-image results agree.
            'lbfgs': L-BFGS from the noisy image (``max_iter`` default 30);
            tiles are solved on their own, so a large image's result differs
            from the whole-image solve by up to a few levels of 255 per
            pixel, at the same PSNR.
            'paper': the paper's procedure, steepest descent from the noisy
            image with the step annealed geometrically from 2e-2 to 5e-4
            (``max_iter`` default 300 steps).
            'mmse': the posterior mean instead of its mode: the average of a
            Metropolis-adjusted Langevin chain on the same posterior, started
            at the L-BFGS estimate (``max_iter`` default 200 steps, the first
            half adapting the step size and not averaged).
        prior_weight : float or 'auto', default='auto'
            Weight ``w`` of the prior energy.  'auto': the weight chosen for
            this noise level by :meth:`calibrate_denoising` (interpolated
            between the calibrated levels), or 1 if the model was not
            calibrated.
        prior_scale : float or 'auto', default='auto'
            Factor ``s`` on every filter response, ``g(s w_i^T x_(p))``: above
            1 the experts turn heavy-tailed at smaller responses.  'auto' as
            for ``prior_weight``.
        max_iter : int, default=None
            Iterations or steps of ``method``; None: its default.
        self_ensemble : {1, 2, 4, 8}, default=1
            Restore this many mirrored and turned copies of the image and
            average the results (the geometric self-ensemble), at as many
            times the cost: the filters are not symmetric, so the estimates
            differ, and their mean is closer to the truth.
        tile_size : int or None, default=256
            Largest side, in pixels, of the tiles a large image is restored
            in (each with :attr:`tile_overlap_` pixels of context); None
            restores every image whole.
        random_state : int, RandomState instance or None, default=None
            Seeds the sampler of ``method='mmse'``.

        Returns
        -------
        denoised : ndarray of the same shape (and dtype) as ``images``
            The MAP (or, with 'mmse', posterior mean) estimates, in the
            range and dtype of the input; integer images are rounded and
            clipped to their dtype.

        Raises
        ------
        ValueError
            If ``noise_sigma`` is not a positive number, an image is smaller
            than the filters' support, or an argument is out of range.
        """
        check_is_fitted(self)
        sigma = check_noise_sigma(noise_sigma)
        stack, arr = self._as_stack(images, restoration=True)
        _warn_if_implausible(sigma, stack)
        out = self._denoise_stack(
            stack, sigma, method=method, prior_weight=prior_weight,
            prior_scale=prior_scale, max_iter=max_iter,
            self_ensemble=self_ensemble, tile_size=tile_size,
            random_state=random_state)
        return self._restored(out, stack, arr)

    def _denoise_stack(self, stack, sigma, *, method, prior_weight,
                       prior_scale, max_iter, self_ensemble, tile_size,
                       random_state):
        """:meth:`denoise` of a float stack that :meth:`_as_stack` checked,
        with a checked ``sigma``; the other arguments are checked here."""
        if method not in ("fista", "lbfgs", "paper", "mmse"):
            raise ValueError(f"method must be 'fista', 'lbfgs', 'paper' or "
                             f"'mmse', got {method!r}.")
        max_iter, tile_size = self._restoration_args(max_iter, tile_size)
        weight = self._calibrated(prior_weight, sigma, 1, "prior_weight")
        scale = self._calibrated(prior_scale, sigma, 2, "prior_scale")
        return posterior.denoise(
            self._restoration_prior(scale), list(stack), sigma, method=method,
            prior_weight=weight, max_iter=max_iter,
            self_ensemble=_check_ensemble(self_ensemble), tile_size=tile_size,
            overlap=self.tile_overlap_, random_state=random_state)

    @staticmethod
    def _restored(out, stack, arr):
        """Results of :mod:`sksm.posterior` in the form and dtype of ``arr``."""
        out = out[0] if arr.ndim == 2 else np.stack(out)
        return restore_dtype(out.astype(stack.dtype, copy=False), arr)

    def _calibrated(self, value, sigma, column, name):
        """A positive number, or for 'auto' the calibration at ``sigma``."""
        if isinstance(value, str) and value == "auto":
            table = getattr(self, "denoise_calibration_", None)
            if table is None:
                return 1.0
            # log-log interpolation, constant beyond the calibrated range
            return float(np.exp(np.interp(np.log(sigma), np.log(table[:, 0]),
                                          np.log(table[:, column]))))
        if not (isinstance(value, Real) and np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number or 'auto', "
                             f"got {value!r}.")
        return float(value)

    def calibrate_denoising(self, images, noise_sigmas=None,
                            prior_weights=None, prior_scales=None, *,
                            method="fista", max_iter=None, self_ensemble=1,
                            search="local", random_state=0):
        """Choose the prior weight and scale of :meth:`denoise` per noise level.

        A prior learned by score matching is not tuned for any noise level.
        For every noise level, this adds seeded Gaussian noise to each clean
        image, denoises it with candidate (weight, scale) pairs and keeps the
        pair of the highest mean PSNR (data range 1).  The result is stored
        as ``denoise_calibration_`` and used by ``denoise`` with
        ``prior_weight='auto'`` and ``prior_scale='auto'``.  Calibrate on
        images that the model was trained on, or others that are not used to
        evaluate it.

        Parameters
        ----------
        images : array-like or list of array-likes
            Clean images: one (height, width) image, a stack (n, height,
            width) or a list of images of any sizes, in [0, 1] units
            (integer images are scaled by their dtype's range).
        noise_sigmas : sequence of float, default=None
            None: 5, 10, 15, 25, 35 and 50 on the 0-255 scale (divided by
            255).
        prior_weights : sequence of float, default=None
            Candidate weights, in increasing order; None: 9 values from 0.037
            to 2, evenly spaced in log (ratio :math:`20^{1/6}`).
        prior_scales : sequence of float, default=None
            Candidate scales, in increasing order; None: 0.5, 0.7, 1, 1.5, 2,
            2.5, 3.5, 5, 7, 10, 14, 20, 28, 40.
        method : {'fista', 'lbfgs', 'paper'}, default='fista'
            The method of :meth:`denoise` to calibrate for.
        max_iter : int, default=None
            Its iterations (None: its default).
        self_ensemble : {1, 2, 4, 8}, default=1
            The self-ensemble of :meth:`denoise` to calibrate for.
        search : {'local', 'grid'}, default='local'
            'grid' tries every pair.  'local' climbs the grid of pairs from
            the best pair of the previous noise level (the middle of the grid
            for the first), to the best of the eight neighbours, until no
            neighbour is better: it finds a local maximum of the PSNR on the
            grid with a small fraction of the evaluations.
        random_state : int, RandomState instance or None, default=0
            Seeds the noise.

        Returns
        -------
        self : FieldsOfExperts
            The model, with ``denoise_calibration_`` set.

        Raises
        ------
        ValueError
            If an argument is out of range, a noise level is not positive
            or an image is smaller than the window of the filters.
        """
        check_is_fitted(self)
        max_iter = self._restoration_args(max_iter, None)[0]
        self_ensemble = _check_ensemble(self_ensemble)
        if search not in ("local", "grid"):
            raise ValueError(f"search must be 'local' or 'grid', got "
                             f"{search!r}.")
        if method not in ("fista", "lbfgs", "paper"):
            raise ValueError(f"method must be 'fista', 'lbfgs' or 'paper', got "
                             f"{method!r}.")
        rng = check_random_state(random_state)
        if isinstance(images, (list, tuple)):
            stacks = [self._as_stack(im, restoration=True)[0]
                      for im in images]
        else:
            stacks = [self._as_stack(images, restoration=True)[0]]
        clean = [im.astype(np.float64) for stack in stacks for im in stack]
        if noise_sigmas is None:
            noise_sigmas = np.array([5, 10, 15, 25, 35, 50]) / 255
        sigmas = sorted(check_noise_sigma(s) for s in noise_sigmas)
        if prior_weights is None:
            prior_weights = 2.0 * 20.0 ** (-np.arange(8, -1, -1) / 6)
        if prior_scales is None:
            prior_scales = (0.5, 0.7, 1.0, 1.5, 2.0, 2.5, 3.5, 5.0, 7.0, 10.0,
                            14.0, 20.0, 28.0, 40.0)
        weights = [self._calibrated(float(w), 1.0, 1, "prior_weights")
                   for w in prior_weights]
        scales = [self._calibrated(float(s), 1.0, 2, "prior_scales")
                  for s in prior_scales]
        reporter = _progress.current()
        reporter.start(len(sigmas))
        table, best = [], None
        for sigma in sigmas:
            noisy = [x + sigma * rng.standard_normal(x.shape) for x in clean]

            def score(i, j):
                prior = self._restoration_prior(scales[j])
                with _progress.silenced():
                    out = posterior.denoise(prior, noisy, sigma, method=method,
                                            prior_weight=weights[i],
                                            max_iter=max_iter,
                                            self_ensemble=self_ensemble,
                                            overlap=self.tile_overlap_)
                return np.mean([psnr(x, y) for x, y in zip(clean, out)])

            if search == "grid":
                best = _grid_maximum(score, len(weights), len(scales))
            else:
                if best is None:
                    best = (len(weights) // 2, len(scales) // 2)
                best = _local_maximum(score, len(weights), len(scales), best)
            table.append((sigma, weights[best[0]], scales[best[1]]))
            reporter.note(f"sigma {sigma:.3g}: weight {weights[best[0]]:.3g}, "
                          f"scale {scales[best[1]]:.3g}")
            reporter.update()
        self.denoise_calibration_ = np.array(table)
        return self

    def super_resolve(self, image, factor=2, *, n_iter="auto", max_iter=200,
                      step=None, prior_weight=1.0, start="bicubic",
                      tile_size=256):
        """Upscale images whose pixels are block means (paper section 4.3).

        The low-resolution image is taken to be the ``factor`` x ``factor``
        block mean of the unknown original.  Start from an upscaling (see
        ``start``), then alternate ``n_iter`` times (1) a step down the prior
        energy, ``x <- x - step * dE/dx`` with the step annealed
        geometrically over ``max_iter`` steps, and (2) a projection that
        restores every block's mean exactly
        (:func:`sksm.posterior.super_resolve`).  ``n_iter=max_iter=200``
        with ``start='paper'`` is the paper's procedure.

        Parameters
        ----------
        image : array-like of shape (height, width) or (n, height, width)
            Integer images are read as [0, 1] and returned in their dtype.
        factor : int, default=2
            Upscaling factor per side, at least 2.
        n_iter : int or 'auto', default='auto'
            Steps to run, from 0 (the projected start) to ``max_iter``.
            'auto': chosen for each image from the image itself, by running
            the procedure on the image's own block means and keeping a
            fraction (:data:`sksm.posterior.AUTO_FRACTION`) of the number of
            steps that restores the image best; costs about a quarter of
            ``max_iter`` steps on the image.
        max_iter : int, default=200
            Length of the annealing schedule of the step (None: 200).
        step : tuple of (float, float), default=None
            First and last step sizes.  None: from ``1 / (w L)`` to
            ``1 / (40 w L)`` (the paper's ratio, 2e-2 to 5e-4), where ``L``
            is the largest curvature of the prior energy (computed from the
            filters' frequency responses), so that the schedule does not
            depend on the scale of the learned energy; the paper's absolute
            steps overshoot on energies steeper than its own.
        prior_weight : float, default=1.0
            Weight ``w`` of the prior energy in each step, positive.
        start : {'bicubic', 'paper'}, default='bicubic'
            'bicubic': cubic spline upscaling aligned with the block grid
            (with the projection, the bicubic + back-projection baseline);
            'paper': linear upscaling followed by a Gaussian low-pass filter
            (standard deviation ``factor / 2``), as in the paper.
        tile_size : int or None, default=256
            Largest side of a tile of the output (see :meth:`denoise`).

        Returns
        -------
        upscaled : ndarray of shape (height * factor, width * factor), or \
(n, height * factor, width * factor)
            In the dtype of ``image``; every ``factor`` x ``factor`` block
            averages to the input pixel (before rounding, for integer
            images).

        Raises
        ------
        ValueError
            If ``factor`` is not an integer of at least 2 or the upscaled
            image is smaller than the filters' support.
        """
        check_is_fitted(self)
        factor = check_count(factor, "factor", minimum=2)
        if start not in ("bicubic", "paper"):
            raise ValueError(f"start must be 'bicubic' or 'paper', got "
                             f"{start!r}.")
        max_iter, tile_size = self._restoration_args(max_iter, tile_size)
        max_iter = 200 if max_iter is None else max_iter
        if isinstance(n_iter, str):
            if n_iter != "auto":
                raise ValueError(f"n_iter must be 'auto' or an integer, got "
                                 f"{n_iter!r}.")
        else:
            n_iter = check_count(n_iter, "n_iter", minimum=0)
            if n_iter > max_iter:
                raise ValueError(f"n_iter must be 'auto' or at most max_iter "
                                 f"({max_iter}), got {n_iter}.")
        weight = check_positive(prior_weight, "prior_weight")
        arr = check_image(image, "image", ndim=(2, 3))
        if min(arr.shape[-2:]) * factor <= self._margin():
            raise ValueError(f"image of shape {arr.shape} is too small for "
                             f"this model even after upscaling by {factor}: "
                             f"each side needs more than {self._margin()} "
                             "pixels.")
        stack = check_unit_range(to_float(arr), "image")
        stack = stack[None] if arr.ndim == 2 else stack
        # tiles and their overlap in low-resolution pixels, so that a tile
        # of the output is at most tile_size pixels a side
        overlap = -(-self.tile_overlap_ // factor)
        if tile_size is not None:
            tile_size = max(1, tile_size // factor)
        out = posterior.super_resolve(
            self._restoration_prior(), list(stack), int(factor),
            n_iter=n_iter, max_iter=max_iter, step=step, prior_weight=weight,
            start=start, tile_size=tile_size, overlap=overlap)
        return self._restored(out, stack, arr)

    def prior_lipschitz(self):
        r"""An upper bound on the curvature of the prior energy.

        :math:`L = \sum_i \alpha_i c^2 \lVert p_i \rVert_1^2`, with
        :math:`p_i` the pixel filters and :math:`c^2 = \max g''`: the Hessian
        of the energy with respect to the pixels has norm at most ``L``, so a
        gradient step of ``1 / L`` cannot overshoot.

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
        l1 = np.abs(self.pixel_filters_).sum(axis=(1, 2))
        return float(np.sum(self.expert_weights_ * self.c ** 2 * l1 ** 2))

    def inpaint(self, image, mask, *, prior_weight="auto", smoothness=1.0,
                max_iter=300, tile_size=256):
        r"""Fill the pixels where ``mask`` is True under the prior.

        The other pixels stay fixed; the missing ones minimise
        :math:`w E(x) + \frac{s}{2} \lVert \Delta x \rVert^2`, the prior
        energy plus the smoothness term of the biharmonic fill, by L-BFGS-B
        from the biharmonic fill, within the range of the known pixels
        (:func:`sksm.posterior.inpaint`).  ``smoothness=0`` is the paper's
        MAP under the prior alone (section 4.3).

        Parameters
        ----------
        image : array-like of shape (height, width) or (n, height, width)
            Integer images are read as [0, 1] and returned in their dtype.
        mask : array-like of bool, shape of ``image``
            True where a pixel is missing.
        prior_weight : float or 'auto', default='auto'
            ``w``, at least 0; 0 gives the biharmonic fill.  'auto': chosen
            for each image from :data:`sksm.posterior.PRIOR_WEIGHTS` by
            filling known pixels hidden under a shifted copy of the mask
            (costs about four more fills of up to eight tiles an image).
        smoothness : float, default=1.0
            ``s``, at least 0.
        max_iter : int, default=300
            L-BFGS-B iterations per tile.
        tile_size : int or None, default=256
            See :meth:`denoise`.

        Returns
        -------
        inpainted : ndarray of the shape and dtype of ``image``
            The known pixels unchanged, the missing ones filled.

        Raises
        ------
        ValueError
            If the mask does not match the image or covers every pixel of an
            image, or if both ``prior_weight`` and ``smoothness`` are 0.
        """
        check_is_fitted(self)
        max_iter, tile_size = self._restoration_args(max_iter, tile_size)
        stack, arr = self._as_stack(image, "image", restoration=True)
        mask = check_mask(mask, arr.shape, "True = missing", "image")
        smoothness = check_positive(smoothness, "smoothness", allow_zero=True)
        if isinstance(prior_weight, str):
            if prior_weight != "auto":
                raise ValueError(f"prior_weight must be 'auto' or a number, "
                                 f"got {prior_weight!r}.")
        else:
            prior_weight = check_positive(prior_weight, "prior_weight",
                                          allow_zero=True)
            if prior_weight == 0 and smoothness == 0:
                raise ValueError("prior_weight and smoothness are both 0: "
                                 "nothing would decide the missing pixels.")
        masks = mask[None] if arr.ndim == 2 else mask
        if any(m.all() for m in masks):
            raise ValueError("mask covers every pixel of an image: nothing "
                             "to start from.")
        if not mask.any():
            return arr.copy()
        out = posterior.inpaint(self._restoration_prior(), list(stack),
                                list(masks), prior_weight=prior_weight,
                                smoothness=smoothness, max_iter=max_iter,
                                tile_size=tile_size,
                                overlap=self.tile_overlap_)
        return self._restored(out, stack, arr)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
