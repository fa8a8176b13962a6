"""The noise-conditional Field of Experts: one prior for every noise level."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._base import DOC_URL
from ._validation import (Fitted, Interval, SavedModel, check_image,
                          check_positive, check_sigma)
from .energies.noise_conditional import NoiseConditionalField, dct_filters
from .image import to_float
from .objectives import NoiseConditionalDSM
from .optim import Adam, single_threaded_blas
from .posterior import empirical_bayes, estimate_noise

__all__ = ["NoiseConditionalFieldsOfExperts"]

#: The annealed schedule of :meth:`NoiseConditionalFieldsOfExperts.denoise`:
#: steps and ratio of consecutive levels, chosen on the calibration crops
#: (``benchmarks/bench_prior.py --schedules``).
DENOISE_STEPS, DENOISE_DECAY = 3, 0.3


def _images(X, name, min_side):
    """A list of float images from a stack or a list of 2-D images."""
    if isinstance(X, np.ndarray) and X.ndim == 2:
        raise ValueError(f"{name} must be a stack of shape (n, height, width) "
                         "or a list of 2-D images; got one 2-D image of shape "
                         f"{X.shape}: pass [image].")
    if isinstance(X, np.ndarray) and X.ndim != 3:
        raise ValueError(f"{name} must be a stack of shape (n, height, width) "
                         f"or a list of 2-D images; got shape {X.shape}.")
    images = [to_float(check_image(im, f"each image of {name}")) for im in X]
    if not images:
        raise ValueError(f"{name} holds no image.")
    for im in images:
        if min(im.shape) < min_side:
            raise ValueError(f"An image of {name} has shape {im.shape}; each "
                             f"must be at least {min_side} pixels a side.")
    return images


def _random_patches(images, n, size, rng, dtype):
    """``n`` patches of ``size`` from ``images`` (each in proportion to its
    positions), each mirrored and turned at random."""
    positions = np.array([(h - size + 1) * (w - size + 1)
                          for h, w in (im.shape for im in images)], float)
    which = rng.choice(len(images), size=n, p=positions / positions.sum())
    out = np.empty((n, size, size), dtype=dtype)
    for j, i in enumerate(which):
        h, w = images[i].shape
        top, left = rng.integers(h - size + 1), rng.integers(w - size + 1)
        patch = images[i][top:top + size, left:left + size]
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        out[j] = np.rot90(patch, rng.integers(4))
    return out


class NoiseConditionalFieldsOfExperts(SavedModel, BaseEstimator):
    r"""A Field of Gaussian scale mixture experts at every noise level.

    The energy of an image :math:`x` observed with white Gaussian noise of
    standard deviation :math:`\sigma` is

    .. math::

        E(x; \sigma) = \sum_p \sum_{i} \alpha_i\, g_i(w_i^T x_{(p)}; \sigma),
        \qquad g_i(z; \sigma) = -\log \sum_m \pi_{im}\,
        \mathcal{N}(z; 0, s_m^2 + \sigma^2 \lVert w_i \rVert^2),

    over the valid positions :math:`p` of zero-mean filters :math:`w_i`
    (:class:`~sksm.energies.NoiseConditionalField`): every expert is a
    Gaussian scale mixture on a fixed grid of scales, and noise widens its
    components in closed form.  The filters, mixture weights and expert
    weights are learned by denoising score matching over a range of noise
    levels at once (:class:`~sksm.objectives.NoiseConditionalDSM`), so one
    model is the prior at every level, and :meth:`denoise` needs no
    calibration: its empirical-Bayes step is Tweedie's posterior mean
    under the model.

    Pixels are on the [0, 1] scale, and so are noise levels (sigma 15 of an
    8-bit image is ``15 / 255``).

    Parameters
    ----------
    n_experts : int, default=48
        Number of filters.
    filter_size : int, default=7
        Side of the square filters, odd or even.
    n_scales : int, default=16
        Components of every mixture.
    scale_range : tuple of (float, float), default=(0.002, 2.0)
        Smallest and largest standard deviation of the geometric grid of
        component scales, in the units of the filter responses.
    objective : NoiseConditionalDSM, default=None
        The training objective and its settings (the range of noise
        levels); None: ``NoiseConditionalDSM()``.
    max_iter : int, default=2000
        Minibatch steps of Adam.
    batch_size : int, default=32
        Patches per minibatch.
    patch_size : int, default=40
        Side of the training patches, more than ``2 (filter_size - 1)``.
    learning_rate : float, default=0.01
        Adam's step for the filters (the mixture logits take ten times
        it, the log expert weights five times), with a warm-up of 50 steps
        and a cosine decay to a tenth.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial filters, the patches and the noise.
    verbose : int, default=0
        Print the running loss every 100 steps.

    Attributes
    ----------
    filters_ : ndarray of shape (n_experts, filter_size, filter_size)
        The zero-mean filters :math:`w_i`, float32.
    mixture_logits_ : ndarray of shape (n_experts, n_scales)
        :math:`\pi_{i\cdot} = \operatorname{softmax}` of each row.
    log_expert_weights_ : ndarray of shape (n_experts,)
        :math:`\log \alpha_i`.
    scales_ : ndarray of shape (n_scales,)
        The grid :math:`s_m`.
    n_iter_ : int
        Steps taken.
    loss_curve_ : list of float
        The loss of every step.

    References
    ----------
    M. Zach, E. Kobler, A. Chambolle and T. Pock. Product of Gaussian mixture
    diffusion models. J. Math. Imaging Vis., 2024.
    S. Roth and M. J. Black. Fields of experts. IJCV 82(2), 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sksm import NoiseConditionalFieldsOfExperts
    >>> rng = np.random.default_rng(0)
    >>> images = rng.random((4, 32, 32)).cumsum(axis=2) / 32
    >>> model = NoiseConditionalFieldsOfExperts(
    ...     n_experts=8, filter_size=3, max_iter=20, patch_size=16,
    ...     random_state=0).fit(images)
    >>> model.filters_.shape
    (8, 3, 3)
    >>> model.denoise(images[:1], sigma=0.05)[0].shape
    (32, 32)
    """

    # the "?" link of the HTML repr, as the other estimators have it
    _doc_link_module = "sksm"
    _doc_link_template = DOC_URL + "generated/sksm.{estimator_name}.html"

    _parameter_constraints = {
        "n_experts": [Interval(Integral, 1, None, closed="left")],
        "filter_size": [Interval(Integral, 2, None, closed="left")],
        "n_scales": [Interval(Integral, 1, None, closed="left")],
        "scale_range": [tuple, list],
        "objective": [NoiseConditionalDSM, None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "patch_size": [Interval(Integral, 3, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    _fitted_attributes = {
        "filters_": Fitted("array", ("n_experts", "filter_size",
                                     "filter_size")),
        "mixture_logits_": Fitted("array", ("n_experts", "n_scales")),
        "log_expert_weights_": Fitted("array", ("n_experts",)),
        "scales_": Fitted("array", ("n_scales",), positive=True),
        "n_iter_": Fitted("count"),
        "loss_curve_": Fitted("curve", optional=True),
    }

    def __init__(self, n_experts=48, *, filter_size=7, n_scales=16,
                 scale_range=(0.002, 2.0), objective=None, max_iter=2000,
                 batch_size=32, patch_size=40, learning_rate=0.01,
                 random_state=None, verbose=0):
        self.n_experts = n_experts
        self.filter_size = filter_size
        self.n_scales = n_scales
        self.scale_range = scale_range
        self.objective = objective
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.patch_size = patch_size
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.verbose = verbose

    def _scales(self):
        rng = self.scale_range
        ok = (isinstance(rng, (tuple, list)) and len(rng) == 2
              and all(isinstance(v, Real) and not isinstance(v, bool)
                      for v in rng) and np.isfinite(rng[1])
              and 0 < rng[0] <= rng[1])
        if not ok:
            raise ValueError("scale_range must be (low, high) with 0 < low "
                             f"<= high; got {rng!r}.")
        return np.geomspace(float(rng[0]), float(rng[1]), self.n_scales)

    def _initial_field(self, rng):
        k, n = self.filter_size, self.n_experts
        dct = dct_filters(k)
        V = dct[np.arange(n) % len(dct)] if len(dct) else np.zeros((n, k * k))
        V = V + 0.01 * rng.standard_normal(V.shape)
        return NoiseConditionalField(V, np.zeros((n, self.n_scales)),
                                     np.full(n, -2 * np.log(k)),
                                     self._scales(), k)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the prior from images.

        Parameters
        ----------
        X : ndarray of shape (n_images, height, width) or list of 2-D arrays
            Clean images on the [0, 1] scale (integer images are scaled),
            each at least ``patch_size`` pixels a side.  Not modified.
        y : None
            Ignored.

        Returns
        -------
        self : NoiseConditionalFieldsOfExperts
            Fitted.

        Raises
        ------
        ValueError
            For an image smaller than ``patch_size``, NaN or infinite
            pixels, or ``patch_size`` at most ``2 (filter_size - 1)``.

        Warns
        -----
        ConvergenceWarning
            If a step's loss or gradient, or the parameters it led to, were
            not finite; the fit keeps the last parameters of a finite loss.
        """
        if self.patch_size <= 2 * (self.filter_size - 1):
            raise ValueError(
                f"patch_size={self.patch_size} leaves no pixel that every "
                f"filter position covers; use more than "
                f"{2 * (self.filter_size - 1)} for filter_size="
                f"{self.filter_size}.")
        images = _images(X, "X", self.patch_size)
        objective = self.objective or NoiseConditionalDSM()
        objective.check()
        seed = check_random_state(self.random_state).randint(2 ** 31)
        rng = np.random.default_rng(seed)
        field = self._initial_field(rng)
        theta = field.get_params()
        n_v, n_l = field.V.size, field.logits.size
        rates = np.concatenate([np.ones(n_v), np.full(n_l, 10.0),
                                np.full(field.n_experts, 5.0)])
        adam = Adam(len(theta))
        self.loss_curve_ = []
        diverged = False
        # a step too far ends in the ConvergenceWarning below, not in
        # RuntimeWarnings of the overflows on the way
        with single_threaded_blas(), np.errstate(over="ignore",
                                                 invalid="ignore"):
            for step in range(1, self.max_iter + 1):
                batch = _random_patches(images, self.batch_size,
                                        self.patch_size, rng, field.dtype)
                loss, grad = objective.value_and_grad(
                    field, batch, objective.draw(batch, rng))
                if not (np.isfinite(loss) and np.all(np.isfinite(grad))):
                    diverged = True
                    break
                warm = min(1.0, step / 50)
                decay = 0.1 + 0.45 * (1 + np.cos(np.pi * step
                                                 / self.max_iter))
                adam.learning_rate = self.learning_rate * warm * decay * rates
                last = theta
                theta = adam.step(theta, grad)
                field.set_params(theta)
                self.loss_curve_.append(loss)
                if not np.all(np.isfinite(field.get_params())):
                    diverged = True     # beyond the range of float32
                    break
                if self.verbose and step % 100 == 0:
                    print(f"step {step}: loss "
                          f"{np.mean(self.loss_curve_[-100:]):.4f}")
        if diverged:
            field.set_params(last if self.loss_curve_ else theta)
            warnings.warn(
                f"The loss was not finite at step {len(self.loss_curve_) + 1}"
                "; the fit kept the last finite parameters. Lower "
                "learning_rate, or check the images for extreme values.",
                ConvergenceWarning, stacklevel=2)
        self.n_iter_ = len(self.loss_curve_)
        self._store(field)
        return self

    def _store(self, field):
        k = self.filter_size
        self.filters_ = field.filters.reshape(-1, k, k)
        self.mixture_logits_ = field.logits.copy()
        self.log_expert_weights_ = field.log_alpha.copy()
        self.scales_ = field.scales.astype(np.float64)

    def __sksm_check_fitted__(self):
        if len(self.scales_) != self.n_scales:
            raise ValueError(f"scales_ has {len(self.scales_)} entries for "
                             f"n_scales={self.n_scales}.")

    @property
    def field_(self):
        """The fitted energy, a :class:`~sksm.energies.NoiseConditionalField`."""
        check_is_fitted(self, "filters_")
        k = self.filter_size
        return NoiseConditionalField(
            self.filters_.reshape(-1, k * k), self.mixture_logits_,
            self.log_expert_weights_, self.scales_, k)

    def grad_energy(self, X, sigma):
        r"""Energy :math:`E(x; \sigma)` of images and its gradient.

        Parameters
        ----------
        X : ndarray of shape (n_images, height, width)
            Images on the [0, 1] scale, at least ``filter_size`` a side.
        sigma : float
            Their noise level on that scale (0 for clean images).

        Returns
        -------
        E : ndarray of shape (n_images,)
            Energies, in float64 (up to the unknown log partition function).
        dE_dx : ndarray of shape (n_images, height, width)
            Their gradients, in float32.

        Raises
        ------
        TypeError
            If ``sigma`` is not a real number (an array of levels, one per
            image, included).
        ValueError
            If ``sigma`` is negative or not finite, or for images smaller
            than ``filter_size`` or with NaN or infinite pixels.
        """
        field = self.field_
        images = _images(X, "X", self.filter_size)
        sigma = check_positive(sigma, "sigma", "one noise level for all the "
                               "images, on the [0, 1] scale; 0 for clean "
                               "images", allow_zero=True)
        if sigma > 0:
            sigma = check_sigma(sigma)
        out = [field.grad_energy(im[None], sigma) for im in images]
        return (np.concatenate([e for e, _ in out]),
                np.concatenate([d for _, d in out]))

    def estimate_sigma(self, image):
        r"""Estimate the noise level of an image from the prior.

        The level at which the score-matching identity
        :math:`\sum_j (\partial_j E)^2 = \sum_j \partial_j^2 E` holds over
        the image (:func:`sksm.posterior.estimate_noise`), searched from
        0.5 to 100 grey levels of 255; on images over 65,536 pixels, over
        128x128 windows at seeded random positions.  The model cannot
        vouch for the estimate on images unlike its training photographs;
        the User Guide reports its error on held-out photographs.

        Parameters
        ----------
        image : array-like of shape (height, width)
            A noisy grayscale image on the [0, 1] scale.

        Returns
        -------
        sigma : float
            The estimated standard deviation on the [0, 1] scale, clipped to
            the range searched.
        """
        field = self.field_
        (image,) = _images([image], "image", 1)
        return estimate_noise(field, image)

    #: Steps of :meth:`denoise`'s default schedule.
    n_denoise_steps = DENOISE_STEPS
    #: Ratio of the levels of consecutive steps of that schedule.
    denoise_decay = DENOISE_DECAY

    @property
    def reach_(self):
        """Pixels a filter reaches beyond its first: ``filter_size - 1``.

        An image needs more on every side.
        """
        check_is_fitted(self, "filters_")
        return self.filter_size - 1

    @property
    def tile_overlap_(self):
        """Context that tiles need for the whole image's result.

        The default schedule's steps times :attr:`reach_`.
        """
        return self.n_denoise_steps * self.reach_

    def denoise(self, images, sigma=None, *, n_steps=DENOISE_STEPS,
                decay=DENOISE_DECAY, tile_size=256):
        r"""Remove additive white Gaussian noise: empirical-Bayes steps.

        From :math:`x_0 = y`, :math:`x_{t+1} = x_t - \sigma_t^2 \nabla
        E(x_t; \sigma_t)` at the levels :math:`\sigma_t = \sigma\,
        \text{decay}^t` (:func:`sksm.posterior.empirical_bayes`); one step
        is Tweedie's posterior mean under the model.

        Parameters
        ----------
        images : ndarray of shape (n_images, height, width) or list
            Noisy images on the [0, 1] scale (a list may hold 2-D images of
            different sizes).
        sigma : float, default=None
            Noise standard deviation on that scale; None: estimated for
            every image by :meth:`estimate_sigma`.
        n_steps : int, default=3
            Steps of the annealed schedule.
        decay : float, default=0.3
            Ratio of consecutive levels, in (0, 1].
        tile_size : int or None, default=256
            Largest side of the tiles; the result does not depend on it.

        Returns
        -------
        denoised : list of ndarray of shape (height, width)
            Float64 estimates, not clipped.
        """
        field = self.field_
        images = _images(images, "images", 1)
        if sigma is not None:
            sigma = check_sigma(sigma)
            return empirical_bayes(field, images, sigma, n_steps=n_steps,
                                   decay=decay, tile_size=tile_size)
        return [empirical_bayes(field, [im], estimate_noise(field, im),
                                n_steps=n_steps, decay=decay,
                                tile_size=tile_size)[0] for im in images]
