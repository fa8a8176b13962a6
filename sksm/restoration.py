"""Image restoration with a Fields of Experts prior.

Functions in the manner of ``skimage.restoration``: an image in, the restored
image out, in the same dtype and range.  ``model=None`` uses the pretrained
prior (:func:`sksm.load_pretrained_foe`); any fitted
:class:`~sksm.FieldsOfExperts` can be passed instead.

Colour images (``channel_axis`` set) are restored channel by channel in an
orthonormal opponent colour space, one luminance and two chroma channels:
being orthonormal, it keeps white noise white with the same sigma, and the
grayscale prior suits the luminance channel best.  ``benchmarks/bench_denoise.py
--colour`` compares it with restoring the RGB channels separately.
"""

import numpy as np

from .image import check_image, restore_dtype, to_float

__all__ = ["denoise", "inpaint", "super_resolve"]

# Rows: luminance, red-green, yellow-blue; orthonormal, so its inverse is its
# transpose.
_OPPONENT = np.array([[1, 1, 1] / np.sqrt(3),
                      [1, -1, 0] / np.sqrt(2),
                      [1, 1, -2] / np.sqrt(6)])


def _model(model):
    if model is None:
        from .pretrained import load_pretrained_foe
        return load_pretrained_foe()
    if type(model).__name__ != "FieldsOfExperts":
        raise TypeError(f"model must be a fitted FieldsOfExperts or None (the "
                        f"pretrained prior), got {type(model).__name__}.")
    return model


def _restore(image, channel_axis, restore, colour="opponent"):
    """Apply ``restore`` (float 2-D in, float 2-D out) to a gray or colour image."""
    if channel_axis is None:
        arr = check_image(image, "image")
        return restore_dtype(restore(to_float(arr)), arr)
    arr = np.asarray(image)
    if arr.ndim != 3:
        raise ValueError(f"image with channel_axis={channel_axis} must have 3 "
                         f"dimensions, got shape {arr.shape}.")
    arr = np.moveaxis(arr, channel_axis, -1)
    check_image(arr.reshape(arr.shape[0], -1), "image")
    x = to_float(arr)
    if colour == "opponent" and x.shape[-1] == 3:
        channels = x @ _OPPONENT.T
        out = np.stack([restore(channels[..., k]) for k in range(3)], axis=-1)
        out = out @ _OPPONENT
    else:
        out = np.stack([restore(x[..., k]) for k in range(x.shape[-1])],
                       axis=-1)
    return np.moveaxis(restore_dtype(out, arr), -1, channel_axis)


def denoise(image, noise_sigma, *, model=None, channel_axis=None, **kwargs):
    """Remove additive white Gaussian noise (MAP under the prior).

    Parameters
    ----------
    image : array-like of shape (height, width), or with a channel axis
        Integer images are read as [0, 1] by their dtype's range and returned
        in their dtype.
    noise_sigma : float
        Noise standard deviation in [0, 1] units for integer images (sigma
        15 on the 0-255 scale is ``15 / 255``), in the image's units for
        float images.
    model : FieldsOfExperts, default=None
        None: the pretrained prior.
    channel_axis : int, default=None
        The colour axis of a colour image; None for grayscale.
    **kwargs
        Passed to :meth:`FieldsOfExperts.denoise` (``method``,
        ``prior_weight``, ``max_iter``).

    Returns
    -------
    denoised : ndarray of the shape and dtype of ``image``

    Examples
    --------
    >>> import numpy as np
    >>> from sksm import restoration
    >>> from sksm.image import add_noise, psnr
    >>> clean = np.tile(np.linspace(0, 1, 48), (48, 1))
    >>> noisy = add_noise(clean, 0.1, random_state=0)
    >>> psnr(clean, restoration.denoise(noisy, 0.1)) > psnr(clean, noisy) + 5
    True
    """
    model = _model(model)
    return _restore(image, channel_axis,
                    lambda x: model.denoise(x, noise_sigma, **kwargs))


def super_resolve(image, factor=2, *, model=None, channel_axis=None,
                  **kwargs):
    """Upscale an image whose pixels are block means (paper section 4.3).

    Parameters
    ----------
    image : array-like of shape (height, width), or with a channel axis
    factor : int, default=2
    model : FieldsOfExperts, default=None
        None: the pretrained prior.
    channel_axis : int, default=None
    **kwargs
        Passed to :meth:`FieldsOfExperts.super_resolve`.

    Returns
    -------
    upscaled : ndarray, ``factor`` times larger along both spatial axes
    """
    model = _model(model)
    return _restore(image, channel_axis,
                    lambda x: model.super_resolve(x, factor, **kwargs))


def inpaint(image, mask, *, model=None, channel_axis=None, **kwargs):
    """Fill the pixels where ``mask`` is True by maximising the prior.

    Parameters
    ----------
    image : array-like of shape (height, width), or with a channel axis
    mask : array-like of bool, shape (height, width)
        True where a pixel is missing (in every channel).
    model : FieldsOfExperts, default=None
        None: the pretrained prior.
    channel_axis : int, default=None
    **kwargs
        Passed to :meth:`FieldsOfExperts.inpaint`.

    Returns
    -------
    inpainted : ndarray of the shape and dtype of ``image``
    """
    model = _model(model)
    return _restore(image, channel_axis,
                    lambda x: model.inpaint(x, mask, **kwargs))
