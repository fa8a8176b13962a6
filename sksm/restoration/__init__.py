r"""Image restoration under a Fields of Experts prior.

Functions in the manner of ``skimage.restoration``: an image in, the restored
image out, in the same dtype and range.  ``model=None`` uses the pretrained
prior (:func:`sksm.load_pretrained_foe`); any fitted
:class:`~sksm.FieldsOfExperts` can be passed instead, whose restoration
methods are doors onto the same policy for stacks of grayscale images.  Every
input is checked once, in ``sksm/restoration/_policy.py``; the numerics are
in :mod:`sksm.posterior`.  The policy:

- dtypes as scikit-image has them: uint8 and uint16 images are read on the
  [0, 1] scale and returned in their dtype; float32 stays float32; float
  images must be on the [0, 1] scale unless ``data_range`` (their white
  level) says otherwise, and are returned on their own scale; other integer
  dtypes need ``data_range``;
- noise levels (``sigma``) are in the units of the float image (for an
  integer image, 15 on the 0-255 scale is ``15 / 255``; with
  ``data_range``, on the image's own scale); None estimates the level
  (:func:`estimate_sigma`), and a level far from that estimate warns;
- colour images (``channel_axis`` set) are restored channel by channel in an
  orthonormal opponent colour space, one luminance and two chroma channels:
  being orthonormal, it keeps white noise white with the same sigma, and the
  grayscale prior suits the luminance channel best.
  ``benchmarks/bench_denoise.py --colour`` compares it with restoring the
  RGB channels separately;
- images of any size are restored in overlapping tiles, in bounded memory
  (``tile_size``; see :attr:`FieldsOfExperts.tile_overlap_
  <sksm.FieldsOfExperts.tile_overlap_>`), and :class:`dask.array.Array`
  images chunk by chunk where the chunks live.
"""

from ..image import estimate_sigma
from ._policy import denoise_channels, inpaint_channels, super_resolve_channels

__all__ = ["denoise", "estimate_sigma", "inpaint", "super_resolve"]


def denoise(image, sigma=None, *, model=None, channel_axis=None,
            data_range=None, method="fista", max_num_iter=None, rng=None,
            prior_weight="auto", prior_scale="auto", self_ensemble=1,
            tile_size=256):
    r"""Remove additive white Gaussian noise under the prior.

    The MAP estimate minimises :math:`w\,E(x) + \lVert x - y\rVert^2 / (2
    \sigma^2)` over the image extended by the prior's reach on every side
    (reflected), the data term covering the image's own pixels only, so that
    border pixels get the full prior (:func:`sksm.posterior.denoise`).

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
        'fista': accelerated proximal gradient descent (Beck & Teboulle
        2009) from the noisy image, with the fixed step that the prior's
        largest curvature allows (``max_num_iter`` default 30).  Its steps
        are local, so tiled and whole-image results agree.
        'lbfgs': L-BFGS from the noisy image (``max_num_iter`` default 30);
        tiles are solved on their own, so a large image's result differs
        from the whole-image solve by up to a few levels of 255 per pixel,
        at the same PSNR.
        'paper': the paper's procedure, steepest descent from the noisy
        image with the step annealed geometrically from 2e-2 to 5e-4
        (``max_num_iter`` default 300 steps).
        'mmse': the posterior mean instead of its mode: the average of a
        Metropolis-adjusted Langevin chain on the same posterior, started at
        the L-BFGS estimate (``max_num_iter`` default 200 steps, the first
        half adapting the step size and not averaged).
    max_num_iter : int, default=None
        Iterations or steps of ``method``; None: its default.
    rng : int, RandomState instance or None, default=None
        Seeds the sampler of ``method='mmse'``.
    prior_weight : float or 'auto', default='auto'
        Weight ``w`` of the prior energy.  'auto': the weight chosen for
        this noise level by :meth:`FieldsOfExperts.calibrate_denoising
        <sksm.FieldsOfExperts.calibrate_denoising>` (interpolated between
        the calibrated levels), or 1 if the model was not calibrated.
    prior_scale : float or 'auto', default='auto'
        Factor ``s`` on every filter response, ``g(s w_i^T x_(p))``: above 1
        the experts turn heavy-tailed at smaller responses.  'auto' as for
        ``prior_weight``.
    self_ensemble : {1, 2, 4, 8}, default=1
        Restore this many mirrored and turned copies of the image and
        average the results (the geometric self-ensemble), at as many times
        the cost: the filters are not symmetric, so the estimates differ,
        and their mean is closer to the truth.
    tile_size : int or None, default=256
        Largest side, in pixels, of the tiles the image is restored in
        (each with the model's ``tile_overlap_`` pixels of context); None
        restores the image whole.

    Returns
    -------
    denoised : ndarray of the shape and dtype of ``image``
        Integer images are rounded and clipped to their dtype.

    Raises
    ------
    ValueError
        For a float image far outside [0, 1] without ``data_range``, an
        integer dtype whose white level is unknown, a non-positive
        ``sigma``, an image smaller than the prior's filters, an argument
        out of range, or a Dask image without ``sigma``.
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
    return denoise_channels(
        image, sigma, model=model, channel_axis=channel_axis,
        data_range=data_range, method=method, max_num_iter=max_num_iter,
        rng=rng, prior_weight=prior_weight, prior_scale=prior_scale,
        self_ensemble=self_ensemble, tile_size=tile_size)


def super_resolve(image, factor=2, *, model=None, channel_axis=None,
                  data_range=None, n_iter="auto", max_num_iter=200, step=None,
                  prior_weight=1.0, start="bicubic", tile_size=256):
    """Upscale an image whose pixels are block means (paper section 4.3).

    The low-resolution image is taken to be the ``factor`` x ``factor``
    block mean of the unknown original.  Start from an upscaling (see
    ``start``), then alternate ``n_iter`` times (1) a step down the prior
    energy, ``x <- x - step * dE/dx`` with the step annealed geometrically
    over ``max_num_iter`` steps, and (2) a projection that restores every
    block's mean exactly (:func:`sksm.posterior.super_resolve`).
    ``n_iter=max_num_iter=200`` with ``start='paper'`` is the paper's
    procedure.

    Parameters
    ----------
    image : array-like of shape (height, width), or with a channel axis
        Low-resolution image; see the module's description for dtypes and
        scales.  A :class:`dask.array.Array` is restored chunk by chunk
        (``n_iter`` must then be a number), giving a Dask array.
    factor : int, default=2
        Upscaling factor per side, at least 2.
    model : FieldsOfExperts, default=None
        None: the pretrained prior.
    channel_axis : int, default=None
        The colour axis of a colour image; None for grayscale.
    data_range : float, default=None
        See :func:`denoise`.
    n_iter : int or 'auto', default='auto'
        Steps to run, from 0 (the projected start) to ``max_num_iter``.
        'auto': chosen for each image from the image itself, by running the
        procedure on the image's own block means and keeping a fraction
        (:data:`sksm.posterior.AUTO_FRACTION`) of the number of steps that
        restores the image best; costs about a quarter of ``max_num_iter``
        steps on the image.
    max_num_iter : int, default=200
        Length of the annealing schedule of the step (None: 200).
    step : tuple of (float, float), default=None
        First and last step sizes.  None: from ``1 / (w L)`` to
        ``1 / (40 w L)`` (the paper's ratio, 2e-2 to 5e-4), where ``L`` is
        the largest curvature of the prior energy
        (:meth:`FieldsOfExperts.prior_lipschitz
        <sksm.FieldsOfExperts.prior_lipschitz>`), so that the schedule does
        not depend on the scale of the learned energy; the paper's absolute
        steps overshoot on energies steeper than its own.
    prior_weight : float, default=1.0
        Weight ``w`` of the prior energy in each step, positive.
    start : {'bicubic', 'paper'}, default='bicubic'
        'bicubic': cubic spline upscaling aligned with the block grid (with
        the projection, the bicubic + back-projection baseline); 'paper':
        linear upscaling followed by a Gaussian low-pass filter (standard
        deviation ``factor / 2``), as in the paper.
    tile_size : int or None, default=256
        Largest side of a tile of the output.

    Returns
    -------
    upscaled : ndarray
        ``factor`` times larger along both spatial axes, of the dtype of
        ``image``; every ``factor`` x ``factor`` block averages to the input
        pixel (before rounding, for integer images).

    Raises
    ------
    ValueError
        For a float image far outside [0, 1] without ``data_range``, an
        integer dtype whose white level is unknown, an image smaller than
        the prior's filters even after upscaling, a factor below 2, or an
        argument out of range.
    TypeError
        If ``model`` is not a FieldsOfExperts.
    """
    return super_resolve_channels(
        image, factor, model=model, channel_axis=channel_axis,
        data_range=data_range, n_iter=n_iter, max_num_iter=max_num_iter,
        step=step, prior_weight=prior_weight, start=start,
        tile_size=tile_size)


def inpaint(image, mask, *, model=None, channel_axis=None, data_range=None,
            prior_weight="auto", smoothness=1.0, max_num_iter=300,
            tile_size=256):
    r"""Fill the pixels where ``mask`` is True under the prior.

    The other pixels stay fixed; the missing ones minimise :math:`w E(x) +
    \frac{s}{2} \lVert \Delta x \rVert^2`, the prior energy plus the
    smoothness term of the biharmonic fill, by L-BFGS-B from the biharmonic
    fill, within the range of the known pixels
    (:func:`sksm.posterior.inpaint`).  ``smoothness=0`` is the paper's MAP
    under the prior alone (section 4.3).

    Parameters
    ----------
    image : array-like of shape (height, width), or with a channel axis
        Damaged image; see the module's description for dtypes and scales.
        A :class:`dask.array.Array` is restored chunk by chunk
        (``prior_weight`` must then be a number), giving a Dask array.
    mask : array-like of bool, shape (height, width)
        True where a pixel is missing (in every channel).
    model : FieldsOfExperts, default=None
        None: the pretrained prior.
    channel_axis : int, default=None
        The colour axis of a colour image; None for grayscale.
    data_range : float, default=None
        See :func:`denoise`.
    prior_weight : float or 'auto', default='auto'
        ``w``, at least 0; 0 gives the biharmonic fill.  'auto': chosen for
        each image from :data:`sksm.posterior.PRIOR_WEIGHTS` by filling
        known pixels hidden under a shifted copy of the mask (costs about
        four more fills of up to eight tiles an image).
    smoothness : float, default=1.0
        ``s``, at least 0.
    max_num_iter : int, default=300
        L-BFGS-B iterations per tile.
    tile_size : int or None, default=256
        Largest side of the tiles the image is restored in; None: whole.

    Returns
    -------
    inpainted : ndarray of the shape and dtype of ``image``
        The known pixels unchanged, the missing ones filled.

    Raises
    ------
    ValueError
        For a float image far outside [0, 1] without ``data_range``, an
        integer dtype whose white level is unknown, an image smaller than
        the prior's filters, a mask that does not match the image or covers
        all of it, or both weights 0.
    TypeError
        If ``model`` is not a FieldsOfExperts.
    """
    return inpaint_channels(
        image, mask, model=model, channel_axis=channel_axis,
        data_range=data_range, prior_weight=prior_weight,
        smoothness=smoothness, max_num_iter=max_num_iter,
        tile_size=tile_size)
