"""Image helpers: dtype policy, patches, whitening, noise, PSNR, files.

This module depends on nothing else in sksm.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.signal import convolve2d, fftconvolve
from sklearn.feature_extraction.image import extract_patches_2d
from sklearn.utils import check_random_state

__all__ = [
    "add_noise",
    "check_image",
    "compose_filters",
    "extract_patches",
    "laplacian_kernel",
    "psnr",
    "read_image",
    "restore_dtype",
    "to_float",
    "whiten",
    "write_image",
]


def check_image(image, name="image", ndim=(2,)):
    """Validate an image array: real numbers, finite, of an allowed ``ndim``.

    Returns the array (not copied).
    """
    if hasattr(image, "toarray") or hasattr(image, "tocsr"):
        raise TypeError(f"{name} must be a dense array, got a sparse "
                        f"{type(image).__name__}; use .toarray().")
    arr = np.asarray(image)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == bool):
        raise TypeError(f"{name} must hold real numbers, got dtype "
                        f"{arr.dtype}.")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}.")
    if arr.ndim not in ndim:
        shapes = " or ".join({2: "(height, width)", 3: "(n, height, width)"}[d]
                             for d in ndim)
        raise ValueError(f"{name} must have shape {shapes}, got an array of "
                         f"shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}).")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return arr


def to_float(image):
    """Image as floats: integers to [0, 1] by their dtype's range.

    Unsigned integers are divided by their maximum (uint8: 255), signed ones
    too (negative values stay negative), booleans become 0/1; float32 stays
    float32 and other floats become float64.
    """
    arr = np.asarray(image)
    if arr.dtype == bool:
        return arr.astype(np.float64)
    if arr.dtype.kind in "ui":
        return arr.astype(np.float64) / np.iinfo(arr.dtype).max
    if arr.dtype == np.float32:
        return arr
    return arr.astype(np.float64)


def restore_dtype(result, like):
    """Return ``result`` (floats) in the dtype and range of ``like``.

    Integer inputs are scaled back, rounded and clipped to their range;
    boolean ones thresholded at 1/2; float inputs get their float dtype.
    """
    dtype = np.asarray(like).dtype
    if dtype == bool:
        return result >= 0.5
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        scaled = np.rint(result * info.max)
        return np.clip(scaled, info.min, info.max).astype(dtype)
    return result.astype(dtype if dtype.kind == "f" else np.float64,
                         copy=False)


def extract_patches(images, patch_size, max_patches=None, random_state=None):
    """Square patches of one or more images of any size, as rows of ``X``.

    Parameters
    ----------
    images : array-like of shape (height, width), (n, height, width), or a
        list of 2-D arrays of different sizes
        Integer images are scaled to [0, 1].
    patch_size : int
        Side of the square patches.
    max_patches : int, default=None
        Number of patches in all, drawn at random, each image contributing in
        proportion to its number of positions.  None: every patch.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_patches, patch_size ** 2)
        Ready for ``FieldsOfExperts(image_shape=(patch_size, patch_size))``.
    """
    if isinstance(images, np.ndarray) and images.ndim == 2:
        images = [images]
    images = [to_float(check_image(im, "each image")) for im in images]
    if not isinstance(patch_size, Integral) or patch_size < 1:
        raise ValueError(f"patch_size must be a positive integer, got "
                         f"{patch_size!r}.")
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
        if not isinstance(max_patches, Integral) or max_patches < 1:
            raise ValueError(f"max_patches must be a positive integer or "
                             f"None, got {max_patches!r}.")
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
    """A ``size`` x ``size`` Laplacian (high-pass) whitening kernel.

    The identity minus a normalised Gaussian of standard deviation ``sigma``:
    it removes the local mean, as a Laplacian of Gaussian does, flattening the
    ``1/f`` spectrum of natural images.  Its entries sum to zero.
    """
    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma ** 2))
    kernel = -g / g.sum()
    kernel[size // 2, size // 2] += 1.0
    return kernel


def whiten(images, kernel):
    """Correlate images (n, H, W) with ``kernel`` at valid positions."""
    images = np.asarray(images)
    k = np.asarray(kernel)[::-1, ::-1][None]
    return fftconvolve(images, k, mode="valid", axes=(1, 2)).astype(
        images.dtype, copy=False)


def compose_filters(filters, kernel):
    """Filters applied after ``kernel``: ``f * k`` as one larger filter.

    Correlating with ``kernel`` then with a filter ``f`` equals correlating
    with the full convolution of ``f`` and ``kernel``.
    """
    return np.stack([convolve2d(f, kernel, mode="full") for f in filters])


def add_noise(image, sigma, random_state=None):
    """``image`` plus Gaussian noise of standard deviation ``sigma`` (floats)."""
    if not isinstance(sigma, Real) or not np.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}.")
    rng = check_random_state(random_state)
    image = to_float(image)
    return image + sigma * rng.standard_normal(image.shape).astype(image.dtype)


def psnr(reference, estimate, data_range=1.0):
    """Peak signal-to-noise ratio in dB: ``10 log10(range^2 / MSE)``."""
    reference = to_float(reference)
    estimate = to_float(estimate)
    if reference.shape != estimate.shape:
        raise ValueError(f"Shapes differ: {reference.shape} and "
                         f"{estimate.shape}.")
    mse = np.mean((reference.astype(np.float64) - estimate) ** 2)
    return float(10 * np.log10(data_range ** 2 / mse)) if mse > 0 else np.inf


def read_image(path):
    """Read a PNG, JPEG or TIFF file with Pillow, keeping its bit depth.

    Returns
    -------
    image : ndarray
        (height, width) for grayscale, (height, width, 3) for colour;
        uint8 for 8-bit files, uint16 for 16-bit ones, float32 for float
        TIFFs.  An alpha channel is dropped; palette images become colour.

    Raises
    ------
    ValueError
        For a file that is not an image, is truncated, or is so large that
        Pillow flags it as a possible decompression bomb.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.load()
                mode = im.mode
                if mode in ("1", "P", "LA", "PA", "RGBA", "CMYK", "YCbCr",
                            "LAB", "HSV"):
                    im = im.convert("L" if mode in ("1", "LA") else "RGB")
                elif mode.startswith("I;16"):
                    return np.asarray(im, dtype=np.uint16)
                elif mode == "I":
                    arr = np.asarray(im)
                    if arr.min() < 0 or arr.max() > 65535:
                        raise ValueError(f"{path}: 32-bit integer pixels out "
                                         "of the 16-bit range.")
                    return arr.astype(np.uint16)
                return np.asarray(im)
    except (Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise ValueError(f"{path}: refused, the image is too large "
                         f"(possible decompression bomb: {exc}).") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file Pillow can read "
                         "(PNG, JPEG, TIFF, ...).") from None
    except (OSError, SyntaxError) as exc:
        raise ValueError(f"{path}: cannot read the image ({exc}); the file "
                         "may be truncated or damaged.") from None


def write_image(path, image):
    """Write an image array with Pillow; the format follows the file name.

    uint8 arrays are written as 8-bit, uint16 as 16-bit grayscale (PNG and
    TIFF only); float arrays are taken as [0, 1], clipped and written as
    8-bit.
    """
    from PIL import Image

    arr = np.asarray(image)
    if arr.dtype.kind == "f":
        arr = np.rint(np.clip(arr, 0, 1) * 255).astype(np.uint8)
    if arr.dtype == np.uint16:
        if arr.ndim != 2:
            raise ValueError("16-bit images are written as grayscale only.")
        im = Image.fromarray(arr.astype(np.uint16))
        if str(path).lower().endswith((".jpg", ".jpeg")):
            raise ValueError(f"{path}: JPEG cannot hold 16-bit pixels; use "
                             ".png or .tif.")
    elif arr.dtype == np.uint8 and arr.ndim in (2, 3):
        im = Image.fromarray(arr)
    else:
        raise ValueError(f"Cannot write an image of dtype {arr.dtype} and "
                         f"shape {arr.shape}.")
    im.save(path)
