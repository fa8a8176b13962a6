"""Image restoration with a Fields of Experts prior.

Functions in the manner of ``skimage.restoration``: an image in, the restored
image out, in the same dtype and range.  ``model=None`` uses the pretrained
prior (:func:`sksm.load_pretrained_foe`); any fitted
:class:`~sksm.FieldsOfExperts` can be passed instead.  The numerics are in
:mod:`sksm.posterior`; this module is the policy:

- dtypes as scikit-image has them: uint8 and uint16 images are read on the
  [0, 1] scale and returned in their dtype; float32 stays float32; float
  images must be on the [0, 1] scale unless ``data_range`` (their white
  level) says otherwise, and are returned on their own scale; other integer
  dtypes need ``data_range``;
- noise levels (``sigma``) are in the units of the float image (for an
  integer image, 15 on the 0-255 scale is ``15 / 255``; with
  ``data_range``, on the image's own scale);
- colour images (``channel_axis`` set) are restored channel by channel in an
  orthonormal opponent colour space, one luminance and two chroma channels:
  being orthonormal, it keeps white noise white with the same sigma, and the
  grayscale prior suits the luminance channel best.
  ``benchmarks/bench_denoise.py --colour`` compares it with restoring the
  RGB channels separately;
- images of any size are restored in overlapping tiles, in bounded memory
  (``tile_size``; see :attr:`FieldsOfExperts.tile_overlap_`).
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._validation import check_count, check_image, check_noise_sigma
from .cluster import is_dask_array, restore_chunks
from .foe import _warn_if_implausible as warn_if_implausible
from .image import estimate_sigma, restore_dtype, to_float

__all__ = ["denoise", "estimate_sigma", "inpaint", "super_resolve"]

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


def _iterations(max_num_iter):
    return None if max_num_iter is None else check_count(max_num_iter,
                                                          "max_num_iter")


def _explicit_on_dask(value, name, doing):
    """Refuse a per-image 'auto' choice for a Dask image, restored by parts."""
    if isinstance(value, str) and value == "auto":
        raise ValueError(
            f"{name}='auto' is chosen from the whole image, which {doing} a "
            f"Dask array never holds in one place; pass {name} as a number "
            "(choose it on a crop of the image).")


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


def denoise(image, sigma=None, *, model=None, channel_axis=None,
            data_range=None, method="fista", max_num_iter=None, rng=None,
            prior_weight="auto", prior_scale="auto", self_ensemble=1,
            tile_size=256):
    """Remove additive white Gaussian noise under the prior.

    Parameters
    ----------
    image : array-like of shape (height, width), or with a channel axis
        Noisy image; see the module's description for dtypes and scales.
        A :class:`dask.array.Array` is restored chunk by chunk where the
        chunks live, and a Dask array is returned (``sigma`` is then
        required).
    sigma : float, default=None
        Noise standard deviation, in the units of the float image (15 on the
        0-255 scale is ``15 / 255`` for an 8-bit image).  None: estimated by
        :func:`estimate_sigma` (for colour, the mean over the channels).
    model : FieldsOfExperts, default=None
        None: the pretrained prior.
    channel_axis : int, default=None
        The colour axis of a colour image; None for grayscale.
    data_range : float, default=None
        White level of the image (e.g. 255 for a float image of 0..255
        values, 4095 for 12-bit values); ``sigma`` is then on the same
        scale.  None: see the module's description.
    method : {'fista', 'lbfgs', 'paper', 'mmse'}, default='fista'
        See :meth:`FieldsOfExperts.denoise`.
    max_num_iter : int, default=None
        Iterations of ``method``; None: its default.
    rng : int, RandomState instance or None, default=None
        Seeds the sampler of ``method='mmse'``.
    prior_weight, prior_scale : float or 'auto', default='auto'
        See :meth:`FieldsOfExperts.denoise`.
    self_ensemble : {1, 2, 4, 8}, default=1
        Average the restorations of this many mirrored and turned copies,
        at as many times the cost (see :meth:`FieldsOfExperts.denoise`).
    tile_size : int or None, default=256
        Largest side of the tiles the image is restored in; None: whole.

    Returns
    -------
    denoised : ndarray of the shape and dtype of ``image``

    Raises
    ------
    ValueError
        For a float image far outside [0, 1] without ``data_range``, an
        integer dtype whose white level is unknown, a non-positive
        ``sigma``, an image smaller than the prior's filters, or a Dask
        image without ``sigma``.
    TypeError
        If ``model`` is not a FieldsOfExperts.

    Warns
    -----
    UserWarning
        When ``sigma`` is far from the noise the image seems to hold (most
        likely a level in other units).

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
    check_is_fitted(model)
    if is_dask_array(image):
        if sigma is None:
            raise ValueError(
                "Denoising a Dask array needs sigma: estimate it on a crop "
                "with sksm.image.estimate_sigma (the whole image is not read "
                "into one place).")
        return restore_chunks(
            lambda window: denoise(
                window, sigma, model=model, channel_axis=channel_axis,
                data_range=data_range, method=method,
                max_num_iter=max_num_iter, rng=rng, prior_weight=prior_weight,
                prior_scale=prior_scale, self_ensemble=self_ensemble,
                tile_size=tile_size),
            [image], model.tile_overlap_, channel_axis=channel_axis)
    stack, arr, axis = _channels(image, channel_axis, data_range)
    stack = model._as_stack(stack, "image", restoration=True)[0]
    if sigma is None:
        sigma = float(np.mean([estimate_sigma(channel) for channel in stack]))
        if sigma == 0:
            raise ValueError("The image seems to hold no noise (estimated "
                             "sigma 0); pass sigma.")
    else:
        sigma = check_noise_sigma(sigma, "sigma")
        if data_range is not None:
            sigma = check_noise_sigma(sigma / data_range, "sigma / data_range")
        warn_if_implausible(sigma, stack)
    max_num_iter = _iterations(max_num_iter)
    out = model._denoise_stack(
        stack, sigma, method=method, max_iter=max_num_iter,
        random_state=rng, prior_weight=prior_weight, prior_scale=prior_scale,
        self_ensemble=self_ensemble, tile_size=tile_size)
    out = np.stack(out).astype(stack.dtype, copy=False)
    return _image_from(out, arr, axis, data_range)


def super_resolve(image, factor=2, *, model=None, channel_axis=None,
                  data_range=None, n_iter="auto", max_num_iter=200, step=None,
                  prior_weight=1.0, start="bicubic", tile_size=256):
    """Upscale an image whose pixels are block means (paper section 4.3).

    Parameters
    ----------
    image : array-like of shape (height, width), or with a channel axis
        A :class:`dask.array.Array` is restored chunk by chunk (``n_iter``
        must then be a number), giving a Dask array.
    factor : int, default=2
    model : FieldsOfExperts, default=None
        None: the pretrained prior.
    channel_axis : int, default=None
    data_range : float, default=None
        See :func:`denoise`.
    n_iter : int or 'auto', default='auto'
        Descent steps; 'auto' chooses them for each image from the image
        itself.  See :meth:`FieldsOfExperts.super_resolve`.
    max_num_iter : int, default=200
        Length of the annealing schedule of the step (``max_iter`` of
        :meth:`FieldsOfExperts.super_resolve`).
    step, prior_weight, start
        See :meth:`FieldsOfExperts.super_resolve`.
    tile_size : int or None, default=256
        Largest side of a tile of the output.

    Returns
    -------
    upscaled : ndarray, ``factor`` times larger along both spatial axes, of
        the dtype of ``image``
    """
    model = _model(model)
    if is_dask_array(image):
        check_is_fitted(model)
        _explicit_on_dask(n_iter, "n_iter", "super-resolving")
        factor = check_count(factor, "factor")
        return restore_chunks(
            lambda window: super_resolve(
                window, factor, model=model, channel_axis=channel_axis,
                data_range=data_range, n_iter=n_iter,
                max_num_iter=max_num_iter, step=step,
                prior_weight=prior_weight, start=start, tile_size=tile_size),
            [image], -(-model.tile_overlap_ // factor), factor=factor,
            channel_axis=channel_axis)
    stack, arr, axis = _channels(image, channel_axis, data_range)
    max_num_iter = _iterations(max_num_iter)
    out = model.super_resolve(stack, factor, n_iter=n_iter,
                              max_iter=max_num_iter, step=step,
                              prior_weight=prior_weight, start=start,
                              tile_size=tile_size)
    return _image_from(out, arr, axis, data_range)


def inpaint(image, mask, *, model=None, channel_axis=None, data_range=None,
            prior_weight="auto", smoothness=1.0, max_num_iter=300,
            tile_size=256):
    """Fill the pixels where ``mask`` is True under the prior.

    The missing pixels minimise the prior energy plus the smoothness term of
    the biharmonic fill, with the prior's weight chosen for each image from
    the image itself (see :meth:`FieldsOfExperts.inpaint`).

    Parameters
    ----------
    image : array-like of shape (height, width), or with a channel axis
        A :class:`dask.array.Array` is restored chunk by chunk
        (``prior_weight`` must then be a number), giving a Dask array.
    mask : array-like of bool, shape (height, width)
        True where a pixel is missing (in every channel).
    model : FieldsOfExperts, default=None
        None: the pretrained prior.
    channel_axis : int, default=None
    data_range : float, default=None
        See :func:`denoise`.
    prior_weight : float or 'auto', default='auto'
    smoothness : float, default=1.0
        See :meth:`FieldsOfExperts.inpaint`.
    max_num_iter : int, default=300
        L-BFGS-B iterations per tile.
    tile_size : int or None, default=256

    Returns
    -------
    inpainted : ndarray of the shape and dtype of ``image``
    """
    model = _model(model)
    if is_dask_array(image):
        check_is_fitted(model)
        _explicit_on_dask(prior_weight, "prior_weight", "inpainting")
        import dask.array as da

        return restore_chunks(
            lambda window, holes: inpaint(
                window, holes, model=model, channel_axis=channel_axis,
                data_range=data_range, prior_weight=prior_weight,
                smoothness=smoothness, max_num_iter=max_num_iter,
                tile_size=tile_size),
            [image, da.asarray(mask)], model.tile_overlap_, channel_axis=channel_axis)
    stack, arr, axis = _channels(image, channel_axis, data_range)
    mask = np.asarray(mask)
    masks = np.broadcast_to(mask, stack.shape) if mask.shape == \
        stack.shape[1:] else mask
    max_num_iter = _iterations(max_num_iter)
    out = model.inpaint(stack, masks, prior_weight=prior_weight,
                        smoothness=smoothness, max_iter=max_num_iter,
                        tile_size=tile_size)
    return _image_from(out, arr, axis, data_range)
