"""The inverse problems' doors: deconvolution, super-resolution through a
kernel, and restoration through any linear operator.

As :mod:`._restore`: every input checked once by :mod:`._policy`, the
numerics in :mod:`sksm.posterior` (:func:`~sksm.posterior.
half_quadratic_splitting`), the result in the form and dtype of the input.
Colour images are restored in the opponent channels, which a blur or a
downsampling acting on every channel alike leaves as they are.
"""

import numbers

import numpy as np

from .. import posterior
from .._dask import is_dask_array, restore_chunks
from .._validation import check_sigma
from ._arguments import counts
from ._policy import (
    _check_units,
    channels,
    image_from,
    is_noise_conditional,
    model_or_pretrained,
    noise_level,
    restorable,
)

__all__ = ["deconvolve", "restore", "restore_channels",
           "super_resolve_kernel"]


def check_operator(operator):
    """``operator`` if it has ``apply``, ``adjoint`` and an integer
    ``reach`` (and, if any, an integer ``factor`` of at least 1), else a
    TypeError that says what it needs."""
    needs = ("needs apply(x), adjoint(y) and an integer reach (see "
             "sksm.posterior.Blur for an example)")
    if not (callable(getattr(operator, "apply", None))
            and callable(getattr(operator, "adjoint", None))):
        raise TypeError(f"operator {needs}; got {type(operator).__name__}.")
    for name in ("reach", "factor"):
        value = getattr(operator, name, 1)
        if not isinstance(value, numbers.Integral) or value < (name ==
                                                               "factor"):
            raise TypeError(f"operator {needs}, and its {name} must be a "
                            f"non-negative integer; got {value!r}.")
    return operator


def restore_channels(image, operator, sigma, *, model=None,
                     channel_axis=None, data_range=None, tile_size=512,
                     schedule=posterior.DECONVOLVE_SCHEDULE, task="restore",
                     default_sigma=None):
    """:func:`restore` and the doors built on it: the image observed
    through ``operator`` with white noise of level ``sigma`` (None:
    ``default_sigma`` if given, else the mean of
    :func:`sksm.image.estimate_sigma` over the channels; a number: checked
    against the image's noise), solved with ``schedule`` (see
    :data:`sksm.posterior.DECONVOLVE_SCHEDULE`)."""
    model = model_or_pretrained(model, task)
    if not is_noise_conditional(model):
        raise TypeError(
            f"{task} needs a noise-conditional prior (the default, "
            "sksm.load_pretrained_ncfoe()), whose levels the solver anneals; "
            f"got a {type(model).__name__}.")
    check_operator(operator)
    factor = getattr(operator, "factor", 1)
    overlap = -(-posterior.INVERSE_OVERLAP // factor)  # observed pixels
    if is_dask_array(image):
        if sigma is None and default_sigma is None:
            raise ValueError(
                f"{task} of a Dask array needs sigma: estimate it on a crop "
                "with sksm.restoration.estimate_sigma (the whole image is "
                "not read into one place).")
        if not hasattr(operator, "factor"):
            raise ValueError(
                f"{task} of a Dask array needs an operator that is the same "
                "on every window (with a factor attribute), got "
                f"{type(operator).__name__}.")
        return restore_chunks(
            lambda window: restore_channels(
                window, operator, sigma, model=model,
                channel_axis=channel_axis, data_range=data_range,
                tile_size=tile_size, schedule=schedule, task=task,
                default_sigma=default_sigma),
            [image], overlap, factor=factor,
            channel_axis=channel_axis)
    x, arr = channels(model, image, channel_axis, data_range, factor)
    if sigma is None and default_sigma is not None:
        sigma = default_sigma
    elif sigma is not None and not hasattr(operator, "factor"):
        # an operator of the user's own (lost pixels...): the image's noise
        # cannot be estimated through it to check the level against
        sigma = _check_units(check_sigma(sigma), arr.dtype, data_range)
    else:
        sigma = noise_level(sigma, x, arr.dtype, data_range, depth=3)
    _, tile_size = counts(None, tile_size)
    if tile_size is not None:
        tile_size = max(1, tile_size // factor)
    stack = restorable(x)
    out = posterior.half_quadratic_splitting(
        model.field_, list(stack), operator, sigma,
        levels=posterior.hqs_levels(schedule["first_level"], sigma,
                                    schedule["n_levels"],
                                    schedule["last_level"]),
        weight=schedule["weight"], output=schedule["output"],
        tile_size=tile_size, overlap=overlap)
    return image_from(np.stack(out).astype(stack.dtype, copy=False), arr,
                      channel_axis, data_range)


def restore(image, operator, sigma=None, *, model=None, channel_axis=None,
            data_range=None, tile_size=512):
    r"""Restore an image observed through a linear operator, with noise.

    The observation is :math:`y = A x + n`, with ``A`` any linear forward
    operator (an object with ``apply``, ``adjoint`` and ``reach``, see
    :mod:`sksm.posterior`'s :class:`~sksm.posterior.Blur`,
    :class:`~sksm.posterior.Downsample`, :class:`~sksm.posterior.Mask`
    and :class:`~sksm.posterior.Compose`) and ``n`` white Gaussian noise
    of level ``sigma``.  The posterior under the noise-conditional prior is
    explored by half-quadratic splitting: conjugate-gradient steps on the
    data term alternate with the prior's denoising steps at falling levels
    (:func:`sksm.posterior.half_quadratic_splitting`; the schedule of
    :func:`deconvolve`, chosen on calibration images).

    Parameters
    ----------
    image : array-like of shape (height, width), or with a channel axis
        The observation, of the shape ``operator.apply`` gives; see
        :mod:`sksm.restoration` for dtypes and scales.  A colour image is
        restored in opponent channels, so ``operator`` must act on every
        channel alike.
    operator : forward operator
        ``apply(x)``, ``adjoint(y)`` and an integer ``reach``; optionally
        ``factor`` (the operator is the same on every window, and the image
        is restored in tiles) and ``gram_solve(v, alpha)`` (a
        preconditioner; without it the conjugate gradients converge more
        slowly).
    sigma : float, default=None
        Noise standard deviation of the observation, on the scale the image
        is restored on (see :func:`denoise`).  None: estimated from the
        image (:func:`estimate_sigma`).
    model : NoiseConditionalFieldsOfExperts, default=None
        None: the pretrained prior (:func:`sksm.load_pretrained_ncfoe`).
    channel_axis : int, default=None
        The colour axis of a colour image; None for grayscale.
    data_range : float, default=None
        See :func:`denoise`.
    tile_size : int or None, default=512
        Largest side, in pixels of the restored image, of the tiles (each
        with :data:`sksm.posterior.INVERSE_OVERLAP` pixels of context, in
        pixels of the restored image); an operator without ``factor`` is
        solved whole.

    Returns
    -------
    restored : ndarray
        Of the operator's input shape (``factor`` times the observation's
        along each side) and of the dtype of ``image``.

    Raises
    ------
    TypeError
        If ``operator`` lacks ``apply``, ``adjoint`` or an integer
        ``reach``, or ``model`` is not a noise-conditional prior.
    ValueError
        As :func:`denoise`, for the image, ``sigma`` and ``data_range``.

    See Also
    --------
    deconvolve : The same for a point-spread function.
    super_resolve : The same for a downsampling kernel.

    Examples
    --------
    >>> import numpy as np
    >>> from sksm import restoration
    >>> from sksm.posterior import Blur
    >>> from sksm.image import psnr
    >>> clean = np.kron(np.eye(4), np.ones((12, 12)))
    >>> blur = Blur(np.full((5, 5), 1 / 25))
    >>> rng = np.random.default_rng(0)
    >>> blurred = blur.apply(clean) + 0.01 * rng.standard_normal((48, 48))
    >>> sharp = restoration.restore(blurred, blur, 0.01)
    >>> psnr(clean, sharp) > psnr(clean, blurred) + 3
    True
    """
    return restore_channels(image, operator, sigma, model=model,
                            channel_axis=channel_axis, data_range=data_range,
                            tile_size=tile_size)


def deconvolve(image, psf, sigma=None, *, model=None, channel_axis=None,
               data_range=None, tile_size=512):
    r"""Deblur an image with a known point-spread function.

    The image is taken to be :math:`y = h * x + n`: the sharp image
    convolved with ``psf`` (mirrored about the image's edges, see
    :class:`sksm.posterior.Blur`) plus white Gaussian noise of level
    ``sigma``.  The scene beyond the image's edges, which the blur of its
    edge pixels depends on, is estimated too, so no boundary rule is
    imposed on it.  It is restored by half-quadratic splitting under the
    noise-conditional prior: 6 levels from 35/255 down to ``sigma``, each a
    data step (three conjugate-gradient iterations preconditioned by the
    FFT) and a denoising step of the prior, with the data step's weight on
    the prior's estimate :math:`0.25\, \sigma^2 / \sigma_t^2`
    (:data:`sksm.posterior.DECONVOLVE_SCHEDULE`, chosen on calibration
    images; see the user guide for the comparison with scikit-image's
    ``wiener``, ``unsupervised_wiener`` and ``richardson_lucy``).

    Parameters
    ----------
    image : array-like of shape (height, width), or with a channel axis
        The blurred image; see :mod:`sksm.restoration` for dtypes and
        scales.
    psf : array-like of shape (psf_height, psf_width)
        The point-spread function, centred on its pixel
        ``(psf_height // 2, psf_width // 2)``; normalise it to sum to 1 to
        keep the image's brightness.  The same for every channel.
    sigma : float, default=None
        Noise standard deviation on the scale the image is restored on
        (see :func:`denoise`).  None: estimated from the image
        (:func:`estimate_sigma`, which a blurred image's smooth content
        hardly misleads).  Give it for a compressed image (a JPEG): the
        compression removes the fine noise the estimate reads, and an
        underestimated level is amplified, not removed (on calibration
        crops with 0.5 to 2% noise saved at JPEG quality 85, the estimate
        was 0.2 to 0.3 times the truth and the result 8 to 11 dB worse
        than the blurred image; at quality 95 and 0.5% noise, 0.4 times
        and 5 dB worse).
    model : NoiseConditionalFieldsOfExperts, default=None
        None: the pretrained prior (:func:`sksm.load_pretrained_ncfoe`).
    channel_axis : int, default=None
        The colour axis of a colour image; None for grayscale.
    data_range : float, default=None
        See :func:`denoise`.
    tile_size : int or None, default=512
        Largest side of the tiles the image is restored in, each with
        :data:`sksm.posterior.INVERSE_OVERLAP` pixels of context; None:
        whole.

    Returns
    -------
    deconvolved : ndarray of the shape and dtype of ``image``
        Integer images are rounded and clipped to their dtype.

    Raises
    ------
    ValueError
        For a ``psf`` that is not a finite 2-D array, an image smaller than
        half of it, and as :func:`denoise` for the image, ``sigma`` and
        ``data_range``.
    TypeError
        If ``model`` is not a noise-conditional prior.

    See Also
    --------
    skimage.restoration.richardson_lucy : Richardson-Lucy deconvolution.
    skimage.restoration.wiener : Wiener-Hunt deconvolution.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> from sksm import restoration
    >>> from sksm.image import psnr
    >>> clean = np.kron(np.eye(4), np.ones((12, 12)))
    >>> psf = np.full((5, 5), 1 / 25)
    >>> blurred = ndimage.convolve(clean, psf, mode="reflect")
    >>> sharp = restoration.deconvolve(blurred, psf, sigma=0.005)
    >>> psnr(clean, sharp) > psnr(clean, blurred) + 3
    True
    """
    return restore_channels(image, posterior.Blur(psf), sigma, model=model,
                            channel_axis=channel_axis, data_range=data_range,
                            tile_size=tile_size, task="deconvolve")


def super_resolve_kernel(image, factor, kernel, sigma, *, model, channel_axis,
                         data_range, n_iter, max_num_iter, step, prior_weight,
                         start, tile_size):
    """:func:`sksm.restoration.super_resolve` with another kernel than
    'box', or a noise level: :func:`restore_channels` through
    :class:`~sksm.posterior.Downsample`."""
    for name, value, default in (
            ("n_iter", n_iter, "auto"), ("max_num_iter", max_num_iter, None),
            ("step", step, None), ("prior_weight", prior_weight, None),
            ("start", start, None)):
        if not (value is default or (isinstance(value, str)
                                     and value == default)):
            raise ValueError(
                f"{name}={value!r} applies to block means restored by "
                f"projection; with kernel={kernel!r} or a sigma the "
                f"schedule is fixed: leave {name}={default!r}.")
    schedule = (posterior.SUPER_RESOLVE_SCHEDULE if sigma is None
                else posterior.DECONVOLVE_SCHEDULE)
    return restore_channels(
        image, posterior.Downsample(factor, kernel), sigma, model=model,
        channel_axis=channel_axis, data_range=data_range,
        tile_size=tile_size, schedule=schedule, task="super_resolve",
        default_sigma=posterior.SUPER_RESOLVE_SIGMA)
