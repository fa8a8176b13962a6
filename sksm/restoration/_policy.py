"""The one image policy of restoration: every input is checked here, once.

:mod:`sksm.restoration` (the public functions) and the restoration methods of
:class:`~sksm.FieldsOfExperts` come here; this module settles dtypes,
channels, data ranges, noise levels (checked, or estimated, and compared
with the estimate), the model's calibration and every other argument, builds
the prior (:func:`~sksm.energies.pixel_prior.restoration_prior`) and calls
the numerics of :mod:`sksm.posterior`, which take arrays and numbers only.
"""

import warnings

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .. import posterior
from .._dask import is_dask_array, restore_chunks
from .._validation import (
    check_count,
    check_image,
    check_mask,
    check_positive,
    check_sigma,
)
from ..energies.pixel_prior import restoration_prior, whitening_kernel
from ..image import check_unit_range, estimate_sigma, restore_dtype, to_float
from ..pretrained import load_pretrained_foe

__all__ = ["calibrate_images", "check_images", "denoise_channels",
           "denoise_images", "inpaint_channels", "inpaint_images",
           "super_resolve_channels", "super_resolve_images"]

# Rows: luminance, red-green, yellow-blue; orthonormal, so its inverse is its
# transpose.
_OPPONENT = np.array([[1, 1, 1] / np.sqrt(3),
                      [1, -1, 0] / np.sqrt(2),
                      [1, 1, -2] / np.sqrt(6)])

#: Defaults of :meth:`FieldsOfExperts.calibrate_denoising`: noise levels
#: (5 to 50 on the 0-255 scale), prior weights (9 values from 0.037 to 2,
#: ratio 20**(1/6)) and prior scales.
CALIBRATION_SIGMAS = tuple(np.array([5, 10, 15, 25, 35, 50]) / 255)
CALIBRATION_WEIGHTS = tuple(2.0 * 20.0 ** (-np.arange(8, -1, -1) / 6))
CALIBRATION_SCALES = (0.5, 0.7, 1.0, 1.5, 2.0, 2.5, 3.5, 5.0, 7.0, 10.0, 14.0,
                      20.0, 28.0, 40.0)


# ---------------------------------------------------------------------- #
# The model and its prior
# ---------------------------------------------------------------------- #
def _model(model):
    """The fitted prior: ``model``, or the pretrained one for None."""
    if model is None:
        return load_pretrained_foe()
    if type(model).__name__ != "FieldsOfExperts":
        raise TypeError(f"model must be a fitted FieldsOfExperts or None (the "
                        f"pretrained prior), got {type(model).__name__}.")
    check_is_fitted(model)
    return model


def _prior(model, scale=1.0):
    """The prior :mod:`sksm.posterior` minimises, filters times ``scale``."""
    return restoration_prior(model.filters_, model.expert_weights_, model.c,
                             whitening_kernel(model.whiten), scale)


# ---------------------------------------------------------------------- #
# Images
# ---------------------------------------------------------------------- #
def check_images(model, images, name="images", *, unit_range=False):
    """Check one image or a stack for ``model``; ``(float stack, array)``.

    The stack is (n, height, width), in float (integer images on the [0, 1]
    scale by their dtype's range); every side must exceed the reach of the
    model's filters.  ``unit_range``: the pixels must be on the [0, 1]
    scale, where the prior and its calibration work.
    """
    arr = check_image(images, name, ndim=(2, 3))
    height, width = arr.shape[-2:]
    if min(height, width) <= model.reach_:
        hint = ""
        if arr.ndim == 3 and arr.shape[-1] in (3, 4):
            hint = (" A colour image? Use sksm.restoration with "
                    "channel_axis=-1, which restores each channel.")
        elif min(height, width) == 1:
            hint = (" A flattened image? Pass it as (height, width).")
        raise ValueError(
            f"{name} of shape {arr.shape} is too small for this model: "
            f"each side needs more than {model.reach_} pixels "
            f"(filters of {model.filter_size}x{model.filter_size}"
            f"{' after 5x5 whitening' if model.whiten else ''}).{hint}")
    stack = to_float(arr)
    if unit_range:
        check_unit_range(stack, name)
    return (stack[None] if arr.ndim == 2 else stack), arr


def _restored(out, stack, arr):
    """Results of :mod:`sksm.posterior` in the form and dtype of ``arr``."""
    out = out[0] if arr.ndim == 2 else np.stack(out)
    return restore_dtype(out.astype(stack.dtype, copy=False), arr)


def _channels(image, channel_axis, data_range):
    """``(stack, arr, axis)``: the image as float channels (n, H, W).

    A grayscale image is a stack of one; a colour image of three channels
    becomes its opponent channels, any other number its own channels.
    """
    if channel_axis is None:
        arr = check_image(image, "image", finite=False)
        return to_float(arr, data_range)[None], arr, None
    if np.ndim(image) != 3:
        raise ValueError(f"An image with channel_axis={channel_axis!r} must "
                         "have 3 dimensions (height, width and channels), got "
                         f"shape {np.shape(image)}; for a grayscale image "
                         "leave channel_axis=None.")
    if isinstance(channel_axis, (bool, np.bool_)) or not isinstance(
            channel_axis, (int, np.integer)) or not -3 <= channel_axis < 3:
        raise ValueError(f"channel_axis must be an axis of the image (-3 to "
                         f"2), got {channel_axis!r}.")
    arr = check_image(np.moveaxis(np.asarray(image), channel_axis, 0),
                      "image", ndim=(3,), finite=False)
    arr = np.moveaxis(arr, 0, channel_axis)
    x = np.moveaxis(to_float(arr, data_range), channel_axis, 0)
    if x.shape[0] == 3:
        x = np.tensordot(_OPPONENT, x, axes=1).astype(x.dtype, copy=False)
    return x, arr, channel_axis


def _image_from(stack, arr, axis, data_range):
    """The inverse of :func:`_channels`, in the dtype of ``arr``."""
    if axis is None:
        out = stack[0]
    else:
        if stack.shape[0] == 3:
            stack = np.tensordot(_OPPONENT.T, stack, axes=1)
        out = np.moveaxis(stack, 0, axis)
    return restore_dtype(out, arr, data_range)


# ---------------------------------------------------------------------- #
# Arguments
# ---------------------------------------------------------------------- #
def _sigma(sigma, stack, data_range=None, depth=1):
    """The noise level in the units of the float ``stack``.

    None: the mean of :func:`estimate_sigma` over the stack's images (or
    channels); else checked, divided by ``data_range`` and compared with
    that estimate (:func:`_warn_if_implausible`, whose warning points
    ``depth`` frames above the caller).
    """
    if sigma is None:
        sigma = float(np.mean([estimate_sigma(im) for im in stack]))
        if sigma == 0:
            raise ValueError("The image seems to hold no noise (estimated "
                             "sigma 0); pass sigma.")
        return sigma
    sigma = check_sigma(sigma)
    if data_range is not None:
        sigma = check_sigma(sigma / data_range, "sigma / data_range")
    _warn_if_implausible(sigma, stack, depth + 3)
    return sigma


def _warn_if_implausible(sigma, stack, stacklevel):
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
            "uses the estimate.", UserWarning, stacklevel=stacklevel)


def _counts(max_iter, tile_size, name="max_iter"):
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


def _explicit_on_dask(value, name, doing):
    """Refuse a per-image 'auto' choice for a Dask image, restored by parts."""
    if isinstance(value, str) and value == "auto":
        raise ValueError(
            f"{name}='auto' is chosen from the whole image, which {doing} a "
            f"Dask array never holds in one place; pass {name} as a number "
            "(choose it on a crop of the image).")


# ---------------------------------------------------------------------- #
# Restoration of float stacks (the doors of FieldsOfExperts come here)
# ---------------------------------------------------------------------- #
def denoise_images(model, images, sigma, *, method="fista",
                   prior_weight="auto", prior_scale="auto", max_iter=None,
                   self_ensemble=1, tile_size=256, random_state=None):
    """:meth:`FieldsOfExperts.denoise`: one image or a stack, no colour."""
    check_is_fitted(model)
    stack, arr = check_images(model, images, unit_range=True)
    sigma = _sigma(sigma, stack, depth=2)
    out = _denoise(model, stack, sigma, method=method,
                   prior_weight=prior_weight, prior_scale=prior_scale,
                   max_iter=max_iter, self_ensemble=self_ensemble,
                   tile_size=tile_size, random_state=random_state)
    return _restored(out, stack, arr)


def _denoise(model, stack, sigma, *, method, prior_weight, prior_scale,
             max_iter, self_ensemble, tile_size, random_state):
    """Denoise a checked float stack with a checked ``sigma``; the other
    arguments are checked here."""
    _choice(method, "method", ("fista", "lbfgs", "paper", "mmse"))
    max_iter, tile_size = _counts(max_iter, tile_size)
    weight = _calibrated(model, prior_weight, sigma, 1, "prior_weight")
    scale = _calibrated(model, prior_scale, sigma, 2, "prior_scale")
    return posterior.denoise(
        _prior(model, scale), list(stack), sigma, method=method,
        prior_weight=weight, max_iter=max_iter,
        self_ensemble=_ensemble(self_ensemble), tile_size=tile_size,
        overlap=model.tile_overlap_, random_state=random_state)


def calibrate_images(model, images, sigmas=None, prior_weights=None,
                     prior_scales=None, *, method="fista", max_iter=None,
                     self_ensemble=1, search="local", random_state=0):
    """:meth:`FieldsOfExperts.calibrate_denoising`: the table of rows
    (sigma, prior weight, prior scale), an ndarray of shape (n_levels, 3)."""
    check_is_fitted(model)
    max_iter = _counts(max_iter, None)[0]
    self_ensemble = _ensemble(self_ensemble)
    _choice(search, "search", ("local", "grid"))
    _choice(method, "method", ("fista", "lbfgs", "paper"))
    rng = check_random_state(random_state)
    if not isinstance(images, (list, tuple)):
        images = [images]
    clean = [im.astype(np.float64) for image in images
             for im in check_images(model, image, unit_range=True)[0]]
    sigmas = sorted(check_sigma(s) for s in (
        CALIBRATION_SIGMAS if sigmas is None else sigmas))
    weights = [_calibrated(model, w, 1.0, 1, "prior_weights")
               for w in (CALIBRATION_WEIGHTS if prior_weights is None
                         else prior_weights)]
    scales = [_calibrated(model, s, 1.0, 2, "prior_scales")
              for s in (CALIBRATION_SCALES if prior_scales is None
                        else prior_scales)]
    best = posterior.calibrate_denoising(
        [_prior(model, s) for s in scales], scales, clean, sigmas, weights,
        rng, method=method, max_iter=max_iter, self_ensemble=self_ensemble,
        search=search, overlap=model.tile_overlap_)
    return np.array([(sigma, weights[i], scales[j])
                     for sigma, (i, j) in zip(sigmas, best)])


def super_resolve_images(model, image, factor=2, *, n_iter="auto",
                         max_iter=200, step=None, prior_weight=1.0,
                         start="bicubic", tile_size=256):
    """:meth:`FieldsOfExperts.super_resolve`: one image or a stack."""
    check_is_fitted(model)
    factor = check_count(factor, "factor", minimum=2)
    _choice(start, "start", ("bicubic", "paper"))
    max_iter, tile_size = _counts(max_iter, tile_size)
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
    if step is not None:
        if np.ndim(step) != 1 or len(step) != 2:
            raise ValueError(f"step must be None or (first, last), two "
                             f"positive step sizes, got {step!r}.")
        step = tuple(check_positive(s, "step") for s in step)
    arr = check_image(image, "image", ndim=(2, 3))
    if min(arr.shape[-2:]) * factor <= model.reach_:
        raise ValueError(f"image of shape {arr.shape} is too small for "
                         f"this model even after upscaling by {factor}: "
                         f"each side needs more than {model.reach_} "
                         "pixels.")
    stack = check_unit_range(to_float(arr), "image")
    stack = stack[None] if arr.ndim == 2 else stack
    # tiles and their overlap in low-resolution pixels, so that a tile of
    # the output is at most tile_size pixels a side
    overlap = -(-model.tile_overlap_ // factor)
    if tile_size is not None:
        tile_size = max(1, tile_size // factor)
    out = posterior.super_resolve(
        _prior(model), list(stack), int(factor), n_iter=n_iter,
        max_iter=max_iter, step=step, prior_weight=weight, start=start,
        tile_size=tile_size, overlap=overlap)
    return _restored(out, stack, arr)


def inpaint_images(model, image, mask, *, prior_weight="auto",
                   smoothness=1.0, max_iter=300, tile_size=256):
    """:meth:`FieldsOfExperts.inpaint`: one image or a stack."""
    check_is_fitted(model)
    max_iter, tile_size = _counts(max_iter, tile_size)
    stack, arr = check_images(model, image, "image", unit_range=True)
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
    out = posterior.inpaint(_prior(model), list(stack), list(masks),
                            prior_weight=prior_weight, smoothness=smoothness,
                            max_iter=max_iter, tile_size=tile_size,
                            overlap=model.tile_overlap_)
    return _restored(out, stack, arr)


# ---------------------------------------------------------------------- #
# Restoration of images with channels (sksm.restoration comes here)
# ---------------------------------------------------------------------- #
def denoise_channels(image, sigma=None, *, model=None, channel_axis=None,
                     data_range=None, method="fista", max_num_iter=None,
                     rng=None, prior_weight="auto", prior_scale="auto",
                     self_ensemble=1, tile_size=256):
    """:func:`sksm.restoration.denoise`."""
    model = _model(model)
    if is_dask_array(image):
        if sigma is None:
            raise ValueError(
                "Denoising a Dask array needs sigma: estimate it on a crop "
                "with sksm.image.estimate_sigma (the whole image is not read "
                "into one place).")
        return restore_chunks(
            lambda window: denoise_channels(
                window, sigma, model=model, channel_axis=channel_axis,
                data_range=data_range, method=method,
                max_num_iter=max_num_iter, rng=rng, prior_weight=prior_weight,
                prior_scale=prior_scale, self_ensemble=self_ensemble,
                tile_size=tile_size),
            [image], model.tile_overlap_, channel_axis=channel_axis)
    stack, arr, axis = _channels(image, channel_axis, data_range)
    stack = check_images(model, stack, "image", unit_range=True)[0]
    sigma = _sigma(sigma, stack, data_range, depth=2)
    max_num_iter = _counts(max_num_iter, None, "max_num_iter")[0]
    out = _denoise(model, stack, sigma, method=method, max_iter=max_num_iter,
                   random_state=rng, prior_weight=prior_weight,
                   prior_scale=prior_scale, self_ensemble=self_ensemble,
                   tile_size=tile_size)
    out = np.stack(out).astype(stack.dtype, copy=False)
    return _image_from(out, arr, axis, data_range)


def super_resolve_channels(image, factor=2, *, model=None, channel_axis=None,
                           data_range=None, n_iter="auto", max_num_iter=200,
                           step=None, prior_weight=1.0, start="bicubic",
                           tile_size=256):
    """:func:`sksm.restoration.super_resolve`."""
    model = _model(model)
    if is_dask_array(image):
        _explicit_on_dask(n_iter, "n_iter", "super-resolving")
        factor = check_count(factor, "factor")
        return restore_chunks(
            lambda window: super_resolve_channels(
                window, factor, model=model, channel_axis=channel_axis,
                data_range=data_range, n_iter=n_iter,
                max_num_iter=max_num_iter, step=step,
                prior_weight=prior_weight, start=start, tile_size=tile_size),
            [image], -(-model.tile_overlap_ // factor), factor=factor,
            channel_axis=channel_axis)
    stack, arr, axis = _channels(image, channel_axis, data_range)
    max_num_iter = _counts(max_num_iter, None, "max_num_iter")[0]
    out = super_resolve_images(model, stack, factor, n_iter=n_iter,
                               max_iter=max_num_iter, step=step,
                               prior_weight=prior_weight, start=start,
                               tile_size=tile_size)
    return _image_from(out, arr, axis, data_range)


def inpaint_channels(image, mask, *, model=None, channel_axis=None,
                     data_range=None, prior_weight="auto", smoothness=1.0,
                     max_num_iter=300, tile_size=256):
    """:func:`sksm.restoration.inpaint`."""
    model = _model(model)
    if is_dask_array(image):
        _explicit_on_dask(prior_weight, "prior_weight", "inpainting")
        return restore_chunks(
            lambda window, holes: inpaint_channels(
                window, holes, model=model, channel_axis=channel_axis,
                data_range=data_range, prior_weight=prior_weight,
                smoothness=smoothness, max_num_iter=max_num_iter,
                tile_size=tile_size),
            [image, mask], model.tile_overlap_, channel_axis=channel_axis)
    stack, arr, axis = _channels(image, channel_axis, data_range)
    mask = np.asarray(mask)
    masks = np.broadcast_to(mask, stack.shape) if mask.shape == \
        stack.shape[1:] else mask
    max_num_iter = _counts(max_num_iter, None, "max_num_iter")[0]
    out = inpaint_images(model, stack, masks, prior_weight=prior_weight,
                         smoothness=smoothness, max_iter=max_num_iter,
                         tile_size=tile_size)
    return _image_from(out, arr, axis, data_range)
