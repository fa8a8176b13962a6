"""The one image policy of restoration: every image is checked here, once.

The restorations (:mod:`sksm.restoration._restore`, behind the public
functions of :mod:`sksm.restoration` and the restoration methods of
:class:`~sksm.FieldsOfExperts`) hand their inputs here; this module settles
the model, dtypes, channels, data ranges (checked on the image as given)
and noise levels (checked, or estimated, and compared with the estimate),
and builds the prior (:func:`~sksm.energies.pixel_prior.restoration_prior`);
:mod:`._arguments` checks every other argument and builds the keywords of
the numerics of :mod:`sksm.posterior`, which take arrays and numbers only.
"""

import warnings

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._validation import check_image, check_sigma
from ..energies.pixel_prior import restoration_prior, whitening_kernel
from ..image import check_unit_range, estimate_sigma, restore_dtype, to_float
from ..pretrained import load_pretrained_foe, load_pretrained_ncfoe

__all__ = ["channels", "check_images", "from_restorable", "image_from",
           "image_sigma",
           "is_noise_conditional", "model_or_pretrained", "noise_level",
           "restorable", "restored"]

# Rows: luminance, red-green, yellow-blue; orthonormal, so its inverse is its
# transpose.
_OPPONENT = np.array([[1, 1, 1] / np.sqrt(3),
                      [1, -1, 0] / np.sqrt(2),
                      [1, 1, -2] / np.sqrt(6)])

# ---------------------------------------------------------------------- #
# The model and its prior
# ---------------------------------------------------------------------- #
#: The restorations that take a noise-conditional prior, whose default it is.
NOISE_CONDITIONAL_TASKS = ("denoise", "super_resolve", "inpaint", "deconvolve",
                           "restore")


def model_or_pretrained(model, task="restore"):
    """The fitted prior: ``model``, or the pretrained one for None.

    The restorations of :data:`NOISE_CONDITIONAL_TASKS` take a
    noise-conditional Field of Experts too, and their pretrained prior is
    the noise-conditional one (:func:`~sksm.load_pretrained_ncfoe`); other
    tasks take a :class:`~sksm.FieldsOfExperts`
    (:func:`~sksm.load_pretrained_foe`).
    """
    conditional = task in NOISE_CONDITIONAL_TASKS
    if model is None:
        return (load_pretrained_ncfoe() if conditional
                else load_pretrained_foe())
    allowed = (("FieldsOfExperts", "NoiseConditionalFieldsOfExperts")
               if conditional else ("FieldsOfExperts",))
    if type(model).__name__ not in allowed:
        raise TypeError(f"model must be a fitted {' or '.join(allowed)}, or "
                        f"None (the pretrained prior), got "
                        f"{type(model).__name__}.")
    check_is_fitted(model)
    return model


def is_noise_conditional(model):
    """Whether ``model`` is a noise-conditional Field of Experts."""
    return type(model).__name__ == "NoiseConditionalFieldsOfExperts"


def _prior(model, scale=1.0):
    """The prior :mod:`sksm.posterior` minimises, filters times ``scale``."""
    return restoration_prior(model.filters_, model.expert_weights_, model.c,
                             whitening_kernel(model.whiten), scale)


# ---------------------------------------------------------------------- #
# Images
# ---------------------------------------------------------------------- #
def _check_size(model, shape, name, factor=1, hint=""):
    """Refuse an image whose sides (times ``factor``) the filters exceed."""
    height, width = shape[-2:]
    if min(height, width) * factor <= model.reach_:
        upscaled = f" even after upscaling by {factor}" if factor > 1 else ""
        raise ValueError(
            f"{name} of shape {tuple(shape)} is too small for this "
            f"model{upscaled}: each side needs more than {model.reach_} "
            f"pixels (filters of {model.filter_size}x{model.filter_size}"
            f"{' after 5x5 whitening' if getattr(model, 'whiten', None) else ''}"
            f").{hint}")


def check_images(model, images, name="images", *, unit_range=False,
                 factor=1):
    """Check one image or a stack for ``model``; ``(float stack, array)``.

    The stack is (n, height, width), in float (integer images on the [0, 1]
    scale by their dtype's range); every side (times ``factor``, the
    upscaling) must exceed the reach of the model's filters.
    ``unit_range``: the pixels must be on the [0, 1] scale, where the prior
    and its calibration work.
    """
    arr = check_image(images, name, ndim=(2, 3))
    hint = ""
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        hint = (" A colour image? Use sksm.restoration with "
                "channel_axis=-1, which restores each channel.")
    elif min(arr.shape[-2:]) == 1:
        hint = " A flattened image? Pass it as (height, width)."
    _check_size(model, arr.shape, name, factor, hint=hint)
    stack = to_float(arr)
    if unit_range:
        check_unit_range(stack, name)
    return (stack[None] if arr.ndim == 2 else stack), arr


def restored(out, stack, arr):
    """Results of :mod:`sksm.posterior` in the form and dtype of ``arr``."""
    out = out[0] if arr.ndim == 2 else np.stack(out)
    return restore_dtype(out.astype(stack.dtype, copy=False), arr)


def _channel_hint(shape):
    """What to pass for a 3-D image given as grayscale."""
    if shape[-1] in (1, 3, 4):
        return (f"for a colour image with its {shape[-1]} channels last, "
                "pass channel_axis=-1")
    if shape[0] in (1, 3, 4):
        return (f"for a colour image with its {shape[0]} channels first, "
                "pass channel_axis=0")
    return "for a colour image, pass channel_axis (the axis of its channels)"


def _check_dims(image, channel_axis):
    """The image as an array, checked (real, finite) for ``channel_axis``."""
    shape = np.shape(image)
    if channel_axis is None:
        if len(shape) == 3:
            raise ValueError(
                f"image of shape {shape} has 3 dimensions, but with "
                f"channel_axis=None it is read as one grayscale image "
                f"(height, width): {_channel_hint(shape)}.")
        return check_image(image, "image")
    if len(shape) != 3:
        raise ValueError(f"An image with channel_axis={channel_axis!r} must "
                         "have 3 dimensions (height, width and channels), got "
                         f"shape {shape}; for a grayscale image leave "
                         "channel_axis=None.")
    if isinstance(channel_axis, (bool, np.bool_)) or not isinstance(
            channel_axis, (int, np.integer)) or not -3 <= channel_axis < 3:
        raise ValueError(f"channel_axis must be an axis of the image (-3 to "
                         f"2), got {channel_axis!r}.")
    return check_image(image, "image", ndim=(3,))


def _check_scale(x, arr, data_range):
    """Refuse pixels far outside the white level, in the user's units.

    ``x`` are the image's pixels as floats on the scale the image is
    restored on; integer images read by their dtype's range are on it by
    construction.
    """
    if data_range is None:
        if arr.dtype.kind == "f":
            check_unit_range(x, "image")
        return
    low, high = float(x.min()), float(x.max())
    if low < -1 or high > 2:
        raise ValueError(
            f"image holds pixels from {low * data_range:.4g} to "
            f"{high * data_range:.4g}, far from its white level "
            f"data_range={data_range:g} (pixels from {-data_range:g} to "
            f"{2 * data_range:g} pass): give data_range as the value of "
            "white in the image's units.")


def channels(model, image, channel_axis, data_range, factor=1,
             check_range=True):
    """``(x, arr)``: the image checked once, and its channels as floats.

    Everything is checked here, on what the user gave: dimensions, real and
    finite pixels, size (times ``factor``), and range, in the user's units
    (unless ``check_range`` is False: photon counts have a range of their
    own, checked by their door).  ``x`` is (n_channels, height, width) (one
    channel for grayscale), on the scale the image is restored on: [0, 1]
    for uint8 and uint16 images, divided by ``data_range`` if given.
    """
    arr = _check_dims(image, channel_axis)
    x = to_float(arr, data_range)
    x = x[None] if channel_axis is None else np.moveaxis(x, channel_axis, 0)
    _check_size(model, x.shape, "image", factor)
    if check_range:
        _check_scale(x, arr, data_range)
    return x, arr


def restorable(x):
    """The channels to restore: the opponent channels of a colour image of
    three, the one channel of an image whose channels are all equal (a
    grayscale image stored in colour), else the channels themselves."""
    if x.shape[0] > 1 and all(np.array_equal(x[0], c) for c in x[1:]):
        return x[:1]
    if x.shape[0] == 3:
        return np.tensordot(_OPPONENT, x, axes=1).astype(x.dtype, copy=False)
    return x


def from_restorable(stack, n_channels):
    """The inverse of :func:`restorable`: the ``n_channels`` channels, as
    floats, of shape (n_channels, height, width)."""
    if stack.shape[0] == 1 < n_channels:
        return np.repeat(stack, n_channels, axis=0)
    if n_channels == 3:
        return np.tensordot(_OPPONENT.T, stack, axes=1)
    return stack


def image_from(stack, arr, axis, data_range):
    """The inverse of :func:`channels` and :func:`restorable`, in the
    dtype of ``arr``."""
    if axis is None:
        out = stack[0]
    else:
        out = np.moveaxis(from_restorable(stack, arr.shape[axis]), 0, axis)
    return restore_dtype(out, arr, data_range)


def image_sigma(image, average_sigmas=False, channel_axis=None):
    """:func:`sksm.restoration.estimate_sigma`: the noise in the units of
    the image as given (grey levels for a uint8 image), as scikit-image's."""
    arr = _check_dims(image, channel_axis)
    x = arr if arr.dtype.kind == "f" else arr.astype(np.float64)
    return estimate_sigma(x, channel_axis=channel_axis,
                          average_sigmas=bool(average_sigmas))


# ---------------------------------------------------------------------- #
# Arguments
# ---------------------------------------------------------------------- #
def _estimates(x):
    """:func:`estimate_sigma` of every channel (or image) of ``x`` that
    holds noise: a channel estimated at 0 (a constant one, or one of a
    synthetic image with no noise of its own) does not count, unless none
    holds any."""
    estimates = [estimate_sigma(im) for im in x]
    return [e for e in estimates if e > 0] or [0.0]


def noise_level(sigma, x, dtype, data_range=None, depth=1):
    """The noise level on the scale of the float channels ``x``.

    None: the mean of :func:`estimate_sigma` over the channels (or images)
    of ``x`` that hold noise (:func:`_estimates`), as the user gave them.
    A given level is checked (:func:`_check_units`), divided by
    ``data_range`` and compared with that estimate
    (:func:`_warn_if_implausible`, whose warning points ``depth`` frames
    above the caller).
    """
    if sigma is None:
        sigma = float(np.mean(_estimates(x)))
        if sigma == 0:
            raise ValueError("The image seems to hold no noise (estimated "
                             "sigma 0); pass sigma.")
        return sigma
    sigma = check_sigma(sigma)
    scaled = _check_units(sigma, dtype, data_range)
    _warn_if_implausible(scaled, x, data_range, depth + 3)
    return scaled


#: A noise level above this fraction of the white level is refused: noise
#: that large leaves nothing to restore (an image confined to its range
#: cannot even hold it: a standard deviation is at most half the range), so
#: the level is in other units.
_MAX_SIGMA = 0.5


def _check_units(sigma, dtype, data_range=None, name="sigma"):
    """``sigma`` on the [0, 1] scale, or a ValueError that names its units.

    ``sigma`` is on the scale the image is restored on: [0, 1] for uint8
    and uint16 images, the float image's own, or with ``data_range`` the
    image's own units (then divided by it).
    """
    if data_range is not None:
        scaled = check_sigma(sigma / data_range, f"{name} / data_range")
        if scaled > _MAX_SIGMA:
            raise ValueError(
                f"{name}={sigma:g} is more than half the white level "
                f"data_range={data_range:g} of the image: noise that large "
                "would leave nothing to restore, so it is most likely in "
                "other units.  With data_range, sigma is in the image's own "
                "units, those of its pixels and of data_range.")
        return scaled
    if sigma <= _MAX_SIGMA:
        return sigma
    if dtype in (np.uint8, np.uint16):
        top = np.iinfo(dtype).max
        other = (f" (or sigma / 255 = {sigma / 255:.4g} if it is on the "
                 "0-255 scale)" if dtype == np.uint16 else "")
        raise ValueError(
            f"{name}={sigma:g} is more than half the white level of a "
            f"{np.dtype(dtype)} image, which is restored on the [0, 1] scale "
            f"(sigma 1 is its white level, {top}): it is most likely in "
            f"levels of the {np.dtype(dtype)} (0-{top}), the units of "
            "sksm.restoration.estimate_sigma and "
            f"skimage.restoration.estimate_sigma.  Pass sigma / {top} = "
            f"{sigma / top:.4g}{other}, or data_range={top} to give sigma "
            "in levels.")
    raise ValueError(
        f"{name}={sigma:g} is more than half the white level of an image "
        "on the [0, 1] scale: noise that large would leave nothing to "
        "restore, so it is most likely on another scale.  On the 0-255 "
        f"scale, pass sigma / 255 = {sigma / 255:.4g} (or, for an image "
        "whose pixels are on that scale too, data_range=255).")


def _warn_if_implausible(sigma, x, data_range, stacklevel):
    """Warn when ``sigma`` is far from the noise the images seem to hold.

    Catches a level in the wrong units that :func:`_check_units` lets
    through (0.06 / 255 for 0.06): more than ten times the estimated noise
    (at least 1/255) or less than a tenth of it.  The estimates are of the
    channels as given, and a channel with no noise of its own (a constant
    one) does not count (:func:`_estimates`).
    """
    estimated = float(np.median(_estimates(x)))
    if sigma > 10 * max(estimated, 1 / 255) or sigma < estimated / 10:
        unit = 1 if data_range is None else data_range
        scale = ("" if data_range is not None else
                 f", that is {255 * estimated:.2g} on the 0-255 scale")
        warnings.warn(
            f"The noise level {sigma * unit:.4g} is far from the noise these "
            f"images seem to hold (estimated {estimated * unit:.3g}{scale}): "
            "noise levels are on the scale the image is restored on, [0, 1] "
            "for integer images (15 on the 0-255 scale is 15 / 255), the "
            "image's own with data_range.  sigma=None in sksm.restoration "
            "uses the estimate.", UserWarning, stacklevel=stacklevel)
