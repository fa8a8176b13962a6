"""The arguments of each restoration, other than the image and its noise.

:mod:`._policy` checks the images and noise levels; here every other
argument of a restoration (methods, iteration counts, prior weights and
scales, factors, masks) is checked once, and the keywords of the numerics
of :mod:`sksm.posterior` are built, for a FieldsOfExperts (MAP and its
calibration) or a noise-conditional Field of Experts (empirical Bayes).
"""

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._validation import check_count, check_mask, check_positive, check_sigma
from ..posterior import FILL_OVERLAP, FILL_STEPS
from ._policy import _check_units, _prior, check_images

__all__ = ["annealed_fill_arguments", "annealed_inpaint_arguments",
           "calibration_arguments", "check_factor", "check_masks", "counts",
           "denoise_arguments", "empirical_bayes_arguments",
           "explicit_on_dask", "inpaint_arguments", "super_resolve_arguments"]

#: Defaults of :meth:`FieldsOfExperts.calibrate_denoising`: noise levels
#: (5 to 50 on the 0-255 scale), prior weights (9 values from 0.037 to 2,
#: ratio 20**(1/6)) and prior scales.
CALIBRATION_SIGMAS = tuple(np.array([5, 10, 15, 25, 35, 50]) / 255)
CALIBRATION_WEIGHTS = tuple(2.0 * 20.0 ** (-np.arange(8, -1, -1) / 6))
CALIBRATION_SCALES = (0.5, 0.7, 1.0, 1.5, 2.0, 2.5, 3.5, 5.0, 7.0, 10.0, 14.0,
                      20.0, 28.0, 40.0)


def counts(max_iter, tile_size, name="max_iter"):
    """``max_iter`` and ``tile_size``, each a positive int or None."""
    if max_iter is not None:
        max_iter = check_count(max_iter, name)
    if tile_size is not None:
        tile_size = check_count(tile_size, "tile_size")
    return max_iter, tile_size


def _ensemble(self_ensemble):
    if isinstance(self_ensemble, (bool, np.bool_)) or \
            self_ensemble not in (1, 2, 4, 8):
        raise ValueError(f"self_ensemble must be 1, 2, 4 or 8, got "
                         f"{self_ensemble!r}.")
    return int(self_ensemble)


def _choice(value, name, options):
    if value not in options:
        listed = ", ".join(repr(o) for o in options[:-1])
        raise ValueError(f"{name} must be {listed} or {options[-1]!r}, got "
                         f"{value!r}.")
    return value


def _calibrated(model, value, sigma, column, name):
    """A positive number, or for 'auto' the model's calibration at
    ``sigma`` (1 for a model that was not calibrated)."""
    if isinstance(value, str) and value == "auto":
        table = getattr(model, "denoise_calibration_", None)
        if table is None:
            return 1.0
        # log-log interpolation, constant beyond the calibrated range
        return float(np.exp(np.interp(np.log(sigma), np.log(table[:, 0]),
                                      np.log(table[:, column]))))
    if isinstance(value, str):
        raise ValueError(f"{name} must be a positive number or 'auto', "
                         f"got {value!r}.")
    return check_positive(value, name)


# ---------------------------------------------------------------------- #
# The arguments of each restoration
# ---------------------------------------------------------------------- #
def denoise_arguments(model, sigma, *, method, prior_weight, prior_scale,
                      max_iter, self_ensemble, tile_size):
    """``(prior, keywords)`` of :func:`sksm.posterior.denoise`, for a
    checked noise level ``sigma``."""
    method = "fista" if method is None else method
    _choice(method, "method", ("fista", "lbfgs", "paper", "mmse"))
    max_iter, tile_size = counts(max_iter, tile_size)
    weight = _calibrated(model, prior_weight, sigma, 1, "prior_weight")
    scale = _calibrated(model, prior_scale, sigma, 2, "prior_scale")
    return _prior(model, scale), dict(
        method=method, prior_weight=weight, max_iter=max_iter,
        self_ensemble=_ensemble(self_ensemble), tile_size=tile_size,
        overlap=model.tile_overlap_)


def empirical_bayes_arguments(model, *, method, prior_weight, prior_scale,
                              max_iter, self_ensemble, tile_size):
    """The keywords of :func:`sksm.posterior.empirical_bayes` for a
    noise-conditional model: ``method`` 'annealed' (``max_iter`` steps,
    default the model's) or 'tweedie' (one step); the settings of the MAP
    methods must stay at their defaults."""
    if method in ("fista", "lbfgs", "paper", "mmse"):
        raise ValueError(
            f"method={method!r} is a MAP method of a FieldsOfExperts, and the "
            "prior is noise-conditional (the default since 0.2): use "
            "method='annealed' or 'tweedie', or pass "
            "model=sksm.load_pretrained_foe() for the paper's prior.")
    _choice(method, "method for a noise-conditional model",
            ("annealed", "tweedie"))
    max_iter, tile_size = counts(max_iter, tile_size, "max_num_iter")
    for name, value in (("prior_weight", prior_weight),
                        ("prior_scale", prior_scale)):
        if not (isinstance(value, str) and value == "auto"):
            raise ValueError(
                f"{name}={value!r} applies to a FieldsOfExperts' MAP "
                "estimate; the noise-conditional prior needs none (leave "
                f"{name}='auto'), or pass model=sksm.load_pretrained_foe().")
    if _ensemble(self_ensemble) != 1:
        raise ValueError("self_ensemble applies to a FieldsOfExperts; leave it "
                         "at 1 with a noise-conditional prior, or pass "
                         "model=sksm.load_pretrained_foe().")
    steps = 1 if method == "tweedie" else (max_iter or model.n_denoise_steps)
    return dict(n_steps=steps, decay=model.denoise_decay, tile_size=tile_size)


def calibration_arguments(model, images, sigmas, prior_weights, prior_scales,
                          *, method, max_iter, self_ensemble, search,
                          random_state):
    """The arguments of :func:`sksm.posterior.calibrate_denoising`: priors,
    scales, clean images, noise levels, weights, random state, keywords."""
    check_is_fitted(model)
    max_iter = counts(max_iter, None)[0]
    self_ensemble = _ensemble(self_ensemble)
    _choice(search, "search", ("local", "grid"))
    _choice(method, "method", ("fista", "lbfgs", "paper"))
    rng = check_random_state(random_state)
    if not isinstance(images, (list, tuple)):
        images = [images]
    clean = [im.astype(np.float64) for image in images
             for im in check_images(model, image, unit_range=True)[0]]
    sigmas = sorted(_check_units(check_sigma(s, "sigmas"), np.float64,
                                 name="sigmas")
                    for s in (CALIBRATION_SIGMAS if sigmas is None
                              else sigmas))
    weights = [_calibrated(model, w, 1.0, 1, "prior_weights")
               for w in (CALIBRATION_WEIGHTS if prior_weights is None
                         else prior_weights)]
    scales = [_calibrated(model, s, 1.0, 2, "prior_scales")
              for s in (CALIBRATION_SCALES if prior_scales is None
                        else prior_scales)]
    return ([_prior(model, s) for s in scales], scales, clean, sigmas,
            weights, rng, dict(method=method, max_iter=max_iter,
                               self_ensemble=self_ensemble, search=search,
                               overlap=model.tile_overlap_))


def super_resolve_arguments(model, factor, *, n_iter, max_iter, step,
                            prior_weight, start, tile_size):
    """``(prior, keywords)`` of :func:`sksm.posterior.super_resolve`, for a
    checked ``factor``."""
    start = "bicubic" if start is None else start
    _choice(start, "start", ("bicubic", "paper"))
    max_iter, tile_size = counts(max_iter, tile_size)
    max_iter = 200 if max_iter is None else max_iter
    prior_weight = 1.0 if prior_weight is None else prior_weight
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
    if step is not None:
        if np.ndim(step) != 1 or len(step) != 2:
            raise ValueError(f"step must be None or (first, last), two "
                             f"positive step sizes, got {step!r}.")
        step = tuple(check_positive(s, "step") for s in step)
    # tiles and their overlap in low-resolution pixels, so that a tile of
    # the output is at most tile_size pixels a side
    if tile_size is not None:
        tile_size = max(1, tile_size // factor)
    return _prior(model), dict(
        n_iter=n_iter, max_iter=max_iter, step=step, prior_weight=weight,
        start=start, tile_size=tile_size,
        overlap=-(-model.tile_overlap_ // factor))


def annealed_fill_arguments(model, factor, *, n_iter, max_iter, step,
                            prior_weight, start, tile_size):
    """The keywords of :func:`sksm.posterior.annealed_super_resolve` for a
    noise-conditional model: ``n_iter`` annealed steps ('auto': the
    default schedule's); the settings of a FieldsOfExperts' descent must
    stay None."""
    for name, value in (("max_num_iter", max_iter), ("step", step),
                        ("prior_weight", prior_weight), ("start", start)):
        if value is not None:
            raise ValueError(
                f"{name}={value!r} applies to a FieldsOfExperts' descent; "
                "the noise-conditional prior (the default since 0.2) takes "
                "only n_iter (its number of annealed steps): leave "
                f"{name}=None, or pass model=sksm.load_pretrained_foe().")
    if isinstance(n_iter, str):
        if n_iter != "auto":
            raise ValueError(f"n_iter must be 'auto' or an integer, got "
                             f"{n_iter!r}.")
        n_iter = FILL_STEPS
    n_iter = check_count(n_iter, "n_iter", minimum=0)
    _, tile_size = counts(None, tile_size)
    if tile_size is not None:
        tile_size = max(1, tile_size // factor)
    return dict(n_steps=n_iter, tile_size=tile_size, overlap=FILL_OVERLAP)


def check_factor(factor):
    """The upscaling factor, an integer of at least 2."""
    return int(check_count(factor, "factor", minimum=2))


def check_masks(mask, shape, other="image"):
    """The mask (True = missing) as a boolean array of ``shape``."""
    return check_mask(mask, shape, "True = missing", other)


def _fill_weight(prior_weight, masks):
    """``prior_weight`` of an inpainting, 'auto' or at least 0, for
    ``masks`` of which none covers its whole image."""
    if any(m.all() for m in masks):
        raise ValueError("mask covers every pixel of an image: nothing "
                         "to start from.")
    if isinstance(prior_weight, str):
        if prior_weight != "auto":
            raise ValueError(f"prior_weight must be 'auto' or a number, "
                             f"got {prior_weight!r}.")
        return prior_weight
    return check_positive(prior_weight, "prior_weight", allow_zero=True)


def inpaint_arguments(model, masks, *, prior_weight, smoothness, max_iter,
                      tile_size):
    """``(prior, keywords)`` of :func:`sksm.posterior.inpaint` for checked
    ``masks`` (one per image), of which one must have a known pixel."""
    max_iter, tile_size = counts(max_iter, tile_size)
    max_iter = 300 if max_iter is None else max_iter
    smoothness = 1.0 if smoothness is None else smoothness
    smoothness = check_positive(smoothness, "smoothness", allow_zero=True)
    prior_weight = _fill_weight(prior_weight, masks)
    if prior_weight == 0 and smoothness == 0:
        raise ValueError("prior_weight and smoothness are both 0: "
                         "nothing would decide the missing pixels.")
    return _prior(model), dict(
        prior_weight=prior_weight, smoothness=smoothness, max_iter=max_iter,
        tile_size=tile_size, overlap=model.tile_overlap_)


def annealed_inpaint_arguments(masks, *, prior_weight, smoothness,
                               max_iter, tile_size):
    """The keywords of :func:`sksm.posterior.annealed_inpaint` for a
    noise-conditional model and checked ``masks``: ``prior_weight`` is the
    first level; the settings of a FieldsOfExperts' fill must stay None."""
    for name, value in (("smoothness", smoothness),
                        ("max_num_iter", max_iter)):
        if value is not None:
            raise ValueError(
                f"{name}={value!r} applies to a FieldsOfExperts' fill; the "
                "noise-conditional prior (the default since 0.2) takes only "
                "prior_weight (the first level of its steps): leave "
                f"{name}=None, or pass model=sksm.load_pretrained_foe().")
    _, tile_size = counts(None, tile_size)
    first = _fill_weight(prior_weight, masks)
    if not isinstance(first, str) and first > 1:
        raise ValueError(
            f"prior_weight={prior_weight!r} is the first noise level of the "
            "steps with the noise-conditional prior, on the [0, 1] scale of "
            "the pixels: use at most 1 (0.1 is the largest level 'auto' "
            "tries), or 'auto'.")
    return dict(first_level=first, tile_size=tile_size)


def explicit_on_dask(value, name, doing):
    """Refuse a per-image 'auto' choice for a Dask image, restored by parts."""
    if isinstance(value, str) and value == "auto":
        raise ValueError(
            f"{name}='auto' is chosen from the whole image, which {doing} a "
            f"Dask array never holds in one place; pass {name} as a number "
            "(choose it on a crop of the image).")
