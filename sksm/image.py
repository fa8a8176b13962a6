"""Image helpers: dtype policy, patches, whitening, noise, PSNR, files.

This module depends on nothing else in sksm.
"""

import warnings

import numpy as np
from scipy.signal import convolve2d, fftconvolve
from sklearn.feature_extraction.image import extract_patches_2d
from sklearn.utils import check_random_state

from ._image_files import check_output_path, read_image, write_image
from ._validation import check_count, check_image, check_positive

__all__ = [
    "add_noise",
    "check_image",
    "check_output_path",
    "check_unit_range",
    "compose_filters",
    "estimate_sigma",
    "extract_patches",
    "laplacian_kernel",
    "psnr",
    "read_image",
    "restore_dtype",
    "to_float",
    "whiten",
    "write_image",
]


def to_float(image, data_range=None):
    """Convert an image to floats on the [0, 1] scale.

    Parameters
    ----------
    image : array-like
        An image or a stack of any shape: bool, uint8, uint16 or float (or
        any integer dtype with ``data_range``).
    data_range : float, default=None
        The white level: the image is divided by it.  None: booleans become
        0/1, uint8 and uint16 images are divided by their dtype's maximum
        (255, 65535), and float images are kept as they are.

    Returns
    -------
    image : ndarray
        Of the shape of ``image``; float32 for float32 and float16 input,
        else float64.

    Raises
    ------
    ValueError
        For an integer dtype other than uint8 and uint16 (int64, int32,
        ...) without ``data_range``: their range says nothing about the
        image's white level.
    """
    arr = np.asarray(image)
    out_dtype = np.float32 if arr.dtype in (np.float32, np.float16) \
        else np.float64
    if data_range is not None:
        data_range = check_positive(data_range, "data_range",
                                    "the white level of the image")
        return arr.astype(out_dtype) / out_dtype(data_range)
    if arr.dtype == bool:
        return arr.astype(np.float64)
    if arr.dtype in (np.uint8, np.uint16):
        return arr.astype(np.float64) / np.iinfo(arr.dtype).max
    if arr.dtype.kind in "ui":
        values = (f" with values from {arr.min()} to {arr.max()}"
                  if arr.size else "")
        raise ValueError(
            f"Cannot tell the white level of an {arr.dtype} image{values}: "
            "pass data_range (e.g. 255 for 8-bit values) or convert it to "
            "uint8 or uint16.")
    return arr.astype(out_dtype, copy=False)


def check_unit_range(image, name="image"):
    """Refuse float pixels far outside [0, 1], the scale priors work on.

    Values from -1 to 2 pass (noise takes pixels of a [0, 1] image beyond
    it); an image on the 0-255 scale does not.

    Parameters
    ----------
    image : array-like
        Pixels of any shape; only float pixels are checked (integer images
        are read on [0, 1] by their dtype's range).
    name : str, default="image"
        What the image is called in the message.

    Returns
    -------
    image : ndarray
        ``np.asarray(image)``, unchanged.

    Raises
    ------
    ValueError
        Naming the range found and what to pass instead.
    """
    arr = np.asarray(image)
    if arr.dtype.kind == "f" and arr.size:
        low, high = float(arr.min()), float(arr.max())
        if low < -1 or high > 2:
            raise ValueError(
                f"{name} holds float pixels from {low:.4g} to {high:.4g}, but "
                "float images are read on the [0, 1] scale: pass data_range "
                "(its white level, e.g. 255) to the sksm.restoration "
                "function, or divide the image and the noise level by it.")
    return arr


def restore_dtype(result, like, data_range=None):
    """Return ``result`` (floats on the [0, 1] scale) in the dtype of ``like``.

    The inverse of :func:`to_float`: multiplied by ``data_range`` if given;
    integer outputs are rounded and clipped to their dtype's range (with
    ``data_range``, to 0 ... ``data_range``), boolean ones thresholded at
    1/2; float inputs get their float dtype back.

    Parameters
    ----------
    result : ndarray of float
        The floats on the [0, 1] scale.
    like : array-like
        The original image, whose dtype is restored.
    data_range : float, default=None
        The white level ``result`` is multiplied by; None: the integer
        dtype's maximum, or 1 for float images.

    Returns
    -------
    image : ndarray
        Of the shape of ``result`` and the dtype of ``like`` (float64 for
        other dtypes).
    """
    dtype = np.asarray(like).dtype
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        low, high = info.min, info.max
        if data_range is not None:  # the white level bounds the range
            low, high = max(low, 0), min(high, data_range)
        # one fresh float64 array, rounded and clipped in place
        scaled = np.multiply(result, info.max if data_range is None
                             else data_range, dtype=np.float64)
        np.rint(scaled, out=scaled)
        np.clip(scaled, low, high, out=scaled)
        return scaled.astype(dtype)
    if data_range is not None:
        result = result * data_range
    if dtype == bool:
        return result >= 0.5
    return result.astype(dtype if dtype.kind == "f" else np.float64,
                         copy=False)


def estimate_sigma(image, *, channel_axis=None, average_sigmas=False):
    """Standard deviation of additive white Gaussian noise in an image.

    Immerkaer's (1996) estimator in its robust form: the image is filtered
    with the difference of two Laplacians,
    ``[[1, -2, 1], [-2, 4, -2], [1, -2, 1]]`` (a second difference along
    each axis), which cancels smooth image content and passes white noise
    with 6 times its standard deviation; the median absolute response,
    divided by ``6 * 0.6745``, estimates sigma (the median absolute deviation
    of Donoho & Johnstone 1994, robust to edges).  Fine texture inflates the
    estimate.

    Parameters
    ----------
    image : array-like of shape (height, width), or with a channel axis
        Integer images are read on the [0, 1] scale (see :func:`to_float`).
    channel_axis : int, default=None
        The axis of the colour channels of a 3-D image; None: a grayscale
        image.
    average_sigmas : bool, default=False
        With ``channel_axis``: the mean of the channels' estimates instead of
        one per channel.

    Returns
    -------
    sigma : float or ndarray of shape (n_channels,)
        In the units of the float image.

    Raises
    ------
    ValueError
        For an image smaller than 3x3, or one :func:`check_image` refuses.

    References
    ----------
    J. Immerkaer. Fast noise variance estimation. Computer Vision and Image
    Understanding 64(2), 1996.
    D. L. Donoho and I. M. Johnstone. Ideal spatial adaptation by wavelet
    shrinkage. Biometrika 81(3), 1994.
    """
    arr = check_image(image, "image", ndim=(2,) if channel_axis is None
                      else (3,))
    x = to_float(arr)
    if channel_axis is not None:
        x = np.moveaxis(x, channel_axis, -1)
        sigmas = np.array([_mad_sigma(x[..., k]) for k in range(x.shape[-1])])
        return float(sigmas.mean()) if average_sigmas else sigmas
    return _mad_sigma(x)


def _mad_sigma(x):
    if min(x.shape) < 3:
        raise ValueError(f"estimate_sigma needs an image of at least 3x3 "
                         f"pixels, got shape {x.shape}.")
    # at most about 2**22 responses, from bands of 64 rows spread evenly
    # over a large image, so that memory does not grow with it
    n_bands = max(1, min(x.shape[0] // 64,
                         (1 << 22) // (64 * x.shape[1]) or 1))
    if n_bands * 64 * x.shape[1] >= x.size:
        bands = [x]
    else:
        starts = np.linspace(0, x.shape[0] - 66, n_bands).astype(int)
        bands = [x[a:a + 66] for a in starts]
    responses = []
    for band in bands:
        band = band.astype(np.float64, copy=False)
        rows = band[:-2] - 2 * band[1:-1] + band[2:]
        responses.append(np.abs(rows[:, :-2] - 2 * rows[:, 1:-1]
                                + rows[:, 2:]).ravel())
    response = np.concatenate(responses)
    return float(np.median(response) / (6 * 0.6744897501960817))


def extract_patches(images, patch_size, max_patches=None, random_state=None):
    """Cut square patches from one or more images, as rows of ``X``.

    Parameters
    ----------
    images : array-like of shape (height, width) or (n, height, width), or \
list of array-like
        One image, a stack, or a list of 2-D images of different sizes.
        Integer images are scaled to [0, 1].
    patch_size : int
        Side of the square patches.
    max_patches : int, default=None
        Number of patches in all, drawn at random, each image contributing in
        proportion to its number of positions.  None: every patch.
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of the patches.

    Returns
    -------
    X : ndarray of shape (n_patches, patch_size ** 2)
        Ready for ``FieldsOfExperts(image_shape=(patch_size, patch_size))``;
        float32 for float32 images, else float64.

    Raises
    ------
    ValueError
        If an image is smaller than ``patch_size``, holds NaN or infinity,
        or is not 2-D.
    TypeError
        If an image does not hold real numbers, or ``patch_size`` or
        ``max_patches`` is not an integer.
    """
    if isinstance(images, np.ndarray) and images.ndim == 2:
        images = [images]
    images = [to_float(check_image(im, "each image")) for im in images]
    patch_size = check_count(patch_size, "patch_size")
    counts = []
    for im in images:
        if im.shape[0] < patch_size or im.shape[1] < patch_size:
            raise ValueError(f"An image of shape {im.shape} is smaller than "
                             f"patch_size={patch_size}.")
        counts.append((im.shape[0] - patch_size + 1)
                      * (im.shape[1] - patch_size + 1))
    rng = check_random_state(random_state)
    if max_patches is None:
        share = counts
    else:
        max_patches = check_count(max_patches, "max_patches")
        weights = np.array(counts, dtype=float) / sum(counts)
        share = np.floor(weights * max_patches).astype(int)
        share[: max_patches - share.sum()] += 1  # distribute the remainder
        share = np.minimum(share, counts)
    patches = [
        extract_patches_2d(im, (patch_size, patch_size),
                           max_patches=None if k == c else int(k),
                           random_state=rng).reshape(-1, patch_size ** 2)
        for im, k, c in zip(images, share, counts) if k > 0
    ]
    return np.concatenate(patches)


def laplacian_kernel(size=5, sigma=1.0):
    """Make a ``size`` x ``size`` Laplacian (high-pass) whitening kernel.

    The identity minus a normalised Gaussian of standard deviation ``sigma``:
    it removes the local mean, as a Laplacian of Gaussian does, flattening the
    ``1/f`` spectrum of natural images.  Its entries sum to zero.

    Parameters
    ----------
    size : int, default=5
        Side of the kernel, odd.
    sigma : float, default=1.0
        Standard deviation of the Gaussian, in pixels.

    Returns
    -------
    kernel : ndarray of shape (size, size)
        In float64.

    Raises
    ------
    TypeError
        If ``size`` is not an integer or ``sigma`` not a real number
        (booleans are refused).
    ValueError
        If ``size`` is not odd and positive or ``sigma`` not positive.
    """
    size = check_count(size, "size")
    if size % 2 == 0:
        raise ValueError(f"size must be odd (the kernel has a centre), got "
                         f"{size}.")
    sigma = check_positive(sigma, "sigma", "in pixels")
    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma ** 2))
    kernel = -g / g.sum()
    kernel[size // 2, size // 2] += 1.0
    return kernel


def whiten(images, kernel):
    """Correlate images with ``kernel`` at valid positions.

    Parameters
    ----------
    images : array-like of shape (n, height, width)
        The images.
    kernel : array-like of shape (k, k)
        The whitening kernel, for example :func:`laplacian_kernel`.

    Returns
    -------
    whitened : ndarray of shape (n, height - k + 1, width - k + 1)
        In the dtype of ``images``.
    """
    images = np.asarray(images)
    k = np.asarray(kernel)[::-1, ::-1][None]
    return fftconvolve(images, k, mode="valid", axes=(1, 2)).astype(
        images.dtype, copy=False)


def compose_filters(filters, kernel):
    """Compose filters with the kernel applied before them.

    Correlating with ``kernel`` then with a filter ``f`` equals correlating
    with the full convolution of ``f`` and ``kernel``, one larger filter.

    Parameters
    ----------
    filters : array-like of shape (n_filters, f, f)
        The filters applied after ``kernel``.
    kernel : array-like of shape (k, k)
        The kernel applied first.

    Returns
    -------
    composed : ndarray of shape (n_filters, f + k - 1, f + k - 1)
        The filters acting on the original images.
    """
    return np.stack([convolve2d(f, kernel, mode="full") for f in filters])


def add_noise(image, sigma, random_state=None):
    """``image`` plus Gaussian noise of standard deviation ``sigma``.

    Parameters
    ----------
    image : array-like
        Integer images are first read on the [0, 1] scale (:func:`to_float`).
    sigma : float
        Standard deviation in the units of the float image: for an 8-bit
        image, noise of 15 on the 0-255 scale is ``15 / 255``.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise.

    Returns
    -------
    noisy : ndarray of the shape of ``image``
        Floats on the scale of :func:`to_float` (float32 for float32
        input), not clipped.

    Warns
    -----
    UserWarning
        When ``sigma`` is above 1 for an image on the [0, 1] scale (an
        integer image, or floats within [0, 1]): most likely a level on the
        0-255 scale.
    """
    sigma = check_positive(sigma, "sigma", "the noise standard deviation",
                           allow_zero=True)
    rng = check_random_state(random_state)
    arr = np.asarray(image)
    image = to_float(arr)
    if sigma > 1 and (arr.dtype.kind in "ub"
                      or (image.min() >= 0 and image.max() <= 1)):
        warnings.warn(
            f"sigma={sigma:g} is larger than the whole [0, 1] range of the "
            f"image; noise levels are in the units of the float image (for "
            f"{sigma:g} on the 0-255 scale pass {sigma:g} / 255).",
            stacklevel=2)
    return image + sigma * rng.standard_normal(image.shape).astype(image.dtype)


def psnr(reference, estimate, data_range=1.0):
    """Peak signal-to-noise ratio in dB: ``10 log10(range^2 / MSE)``.

    Parameters
    ----------
    reference : array-like
        The clean image (integer images are read on [0, 1]).
    estimate : array-like
        The image to rate, of the same shape.
    data_range : float, default=1.0
        The range of the pixels (1 on the [0, 1] scale).

    Returns
    -------
    psnr : float
        In dB; ``inf`` for identical images.

    Raises
    ------
    TypeError
        If ``data_range`` is not a real number (booleans are refused).
    ValueError
        If the shapes differ, an image holds NaN or infinity, or
        ``data_range`` is not positive.
    """
    data_range = check_positive(data_range, "data_range",
                                "the range of the pixels")
    reference = to_float(reference)
    estimate = to_float(estimate)
    if reference.shape != estimate.shape:
        raise ValueError(f"Shapes differ: {reference.shape} and "
                         f"{estimate.shape}.")
    for name, image in (("reference", reference), ("estimate", estimate)):
        if not np.isfinite(image).all():
            bad = int(np.sum(~np.isfinite(image)))
            raise ValueError(f"psnr: the {name} holds {bad} NaN or infinite "
                             "pixels; PSNR is defined for finite images only.")
    mse = np.mean((reference.astype(np.float64) - estimate) ** 2)
    return float(10 * np.log10(data_range ** 2 / mse)) if mse > 0 else np.inf
