r"""Image restoration under a Fields of Experts prior.

Functions in the manner of ``skimage.restoration``: an image in, the restored
image out, in the same dtype and range.  ``model=None`` uses the pretrained
noise-conditional prior (:func:`sksm.load_pretrained_ncfoe`); a fitted
:class:`~sksm.NoiseConditionalFieldsOfExperts` or
:class:`~sksm.FieldsOfExperts` (the paper's prior is
:func:`sksm.load_pretrained_foe`) can be passed instead, and the restoration
methods of the latter are doors onto the same policy for stacks of grayscale
images.  Every
input is checked once, in ``sksm/restoration/_policy.py``; the numerics are
in :mod:`sksm.posterior`.  The policy:

- dtypes: uint8 and uint16 images are restored on the [0, 1] scale (divided
  by 255 or 65535) and returned in their own dtype, rounded and clipped,
  where scikit-image's restoration functions return floats: an image read
  from a file goes back to one as it came.  Float images keep their dtype
  (float32 stays float32) and their scale; they must be on the [0, 1] scale
  (pixels from -1 to 2 pass, noise takes pixels beyond [0, 1]) unless
  ``data_range`` gives their white level.  Other integer dtypes need
  ``data_range``.  The range is checked once, on the image as given;
- noise levels (``sigma``) are on the scale the image is restored on: [0, 1]
  for uint8 and uint16 images (15 grey levels of a uint8 image is
  ``15 / 255``), the float image's own, and with ``data_range`` the units
  of the image as given (``data_range=255``: grey levels).  A level above
  half the white level is refused, as a level in other units (noise that
  large leaves nothing to restore); one far from the noise the image seems
  to hold warns.  None estimates the level.  :func:`estimate_sigma` gives
  it in the units of the image as given, as scikit-image's does (grey
  levels for uint8): pass its estimate with ``data_range`` equal to the
  dtype's maximum, or divided by it;
- colour images (``channel_axis`` set) are restored channel by channel in an
  orthonormal opponent colour space, one luminance and two chroma channels:
  being orthonormal, it keeps white noise white with the same sigma, and the
  grayscale prior suits the luminance channel best.
  ``benchmarks/bench_denoise.py --colour`` compares it with restoring the
  RGB channels separately.  An image whose channels are all equal (a
  grayscale image stored in colour) is restored as the grayscale image it
  is;
- images of any size are restored in overlapping tiles, in bounded memory
  (``tile_size``; see :attr:`FieldsOfExperts.tile_overlap_
  <sksm.FieldsOfExperts.tile_overlap_>`), and :class:`dask.array.Array`
  images chunk by chunk where the chunks live.
"""

from ._inverse import deconvolve, restore
from ._policy import image_sigma
from ._restore import denoise_channels, inpaint_channels, super_resolve_channels

__all__ = ["deconvolve", "denoise", "estimate_sigma", "inpaint", "restore",
           "super_resolve"]


def denoise(image, sigma=None, *, noise="gaussian", peak=None, model=None,
            channel_axis=None, data_range=None, method=None,
            max_num_iter=None, rng=None, prior_weight="auto",
            prior_scale="auto", self_ensemble=1, tile_size=256):
    r"""Remove additive white Gaussian noise, or photon noise, under the prior.

    With the default, noise-conditional prior
    (:class:`~sksm.NoiseConditionalFieldsOfExperts`): annealed
    empirical-Bayes steps :math:`x_{t+1} = x_t - \sigma_t^2 \nabla E(x_t;
    \sigma_t)` from the noisy image at geometrically decreasing levels
    :math:`\sigma_t` from ``sigma`` (:func:`sksm.posterior.empirical_bayes`;
    one step is Tweedie's posterior mean under the model).  With a
    :class:`~sksm.FieldsOfExperts`: the MAP estimate, which minimises
    :math:`w\,E(x) + \lVert x - y\rVert^2 / (2 \sigma^2)` over the image
    extended by the prior's reach on every side (reflected), the data term
    covering the image's own pixels only, so that border pixels get the full
    prior (:func:`sksm.posterior.denoise`).

    With ``noise='poisson'`` the image holds photon counts divided by
    ``peak`` (the count of white), and with ``'poisson-gaussian'`` also
    Gaussian read noise of level ``sigma``: the counts are stabilised by the
    generalised Anscombe transformation to noise of unit variance
    (:func:`sksm.posterior.anscombe`), denoised so, and mapped back by the
    exact unbiased inverse (:func:`sksm.posterior.exact_unbiased_inverse`;
    Makitalo and Foi, 2011 and 2013).

    Parameters
    ----------
    image : array-like of shape (height, width), or with a channel axis
        Noisy image; see the module's description for dtypes and scales.
        A :class:`dask.array.Array` is restored chunk by chunk where the
        chunks live, and a Dask array is returned (``sigma`` is then
        required).
    sigma : float, default=None
        Noise standard deviation, on the scale the image is restored on:
        [0, 1] for uint8 and uint16 images (15 grey levels of an 8-bit image
        is ``15 / 255``), the float image's own, or with ``data_range`` the
        image's own units.  At most half the white level.  None: estimated
        as :func:`estimate_sigma` does (for colour, the mean over the
        channels); with a noise-conditional prior, estimated by the prior
        itself (:meth:`~sksm.NoiseConditionalFieldsOfExperts.estimate_sigma`,
        the mean over the channels).  With ``noise='poisson-gaussian'``: the
        Gaussian part, required (not bounded by the white level); with
        ``'poisson'``: None.
    noise : {'gaussian', 'poisson', 'poisson-gaussian'}, default='gaussian'
        The noise model: additive white Gaussian noise, Poisson noise of
        photon counts, or both.
    peak : float, default=None
        With photon noise, the photon count of white, positive: the image
        holds counts / ``peak`` on the scale it is restored on (a uint8
        image, counts / peak * 255).  None for Gaussian noise.
    model : NoiseConditionalFieldsOfExperts or FieldsOfExperts, default=None
        None: the pretrained noise-conditional prior
        (:func:`sksm.load_pretrained_ncfoe`).
    channel_axis : int, default=None
        The colour axis of a colour image; None for grayscale.
    data_range : float, default=None
        White level of the image (e.g. 255 for a float image of 0..255
        values, 4095 for 12-bit values); ``sigma`` is then on the same
        scale.  None: see the module's description.
    method : str, default=None
        None: 'annealed' for a noise-conditional prior, 'fista' for a
        FieldsOfExperts.  A noise-conditional prior takes 'annealed' (the
        schedule of :meth:`~sksm.NoiseConditionalFieldsOfExperts.denoise`,
        ``max_num_iter`` steps, default 3) or 'tweedie' (one step).  A
        FieldsOfExperts takes:

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
        Weight ``w`` of the prior energy of a FieldsOfExperts (a
        noise-conditional prior has none: leave 'auto').  'auto': the weight chosen for
        this noise level by :meth:`FieldsOfExperts.calibrate_denoising
        <sksm.FieldsOfExperts.calibrate_denoising>` (interpolated between
        the calibrated levels), or 1 if the model was not calibrated.
    prior_scale : float or 'auto', default='auto'
        Factor ``s`` on every filter response, ``g(s w_i^T x_(p))``: above 1
        the experts turn heavy-tailed at smaller responses.  'auto' as for
        ``prior_weight``.
    self_ensemble : {1, 2, 4, 8}, default=1
        With a FieldsOfExperts: restore this many mirrored and turned copies of the image and
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
        integer dtype whose white level is unknown, a 3-D image without
        ``channel_axis``, a non-positive ``sigma`` or one above half the
        white level (a level in other units: the message says which value
        to pass), an image smaller than the prior's filters, an argument
        out of range, a Dask image without ``sigma``, an unknown ``noise``,
        or photon noise without a positive ``peak`` (or with ``sigma`` for
        'poisson', without it for 'poisson-gaussian').
    TypeError
        If ``model`` is not a FieldsOfExperts or
        NoiseConditionalFieldsOfExperts.

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

    An 8-bit image, with the noise estimated in grey levels:

    >>> noisy8 = np.rint(255 * np.clip(noisy, 0, 1)).astype(np.uint8)
    >>> sigma = restoration.estimate_sigma(noisy8)  # grey levels
    >>> out = restoration.denoise(noisy8, sigma, data_range=255)
    >>> out.dtype, psnr(clean, out / 255) > psnr(clean, noisy8 / 255) + 5
    (dtype('uint8'), True)
    """
    return denoise_channels(
        image, sigma, noise=noise, peak=peak, model=model,
        channel_axis=channel_axis,
        data_range=data_range, method=method, max_num_iter=max_num_iter,
        rng=rng, prior_weight=prior_weight, prior_scale=prior_scale,
        self_ensemble=self_ensemble, tile_size=tile_size)


def estimate_sigma(image, average_sigmas=False, *, channel_axis=None):
    """Standard deviation of additive white Gaussian noise in an image.

    As ``skimage.restoration.estimate_sigma``: the estimate is in the units
    of the image as given, 13.7 for a uint8 image whose noise is 13.7 grey
    levels, and any real dtype is accepted (int64 too).  The estimator is
    Immerkaer's (see :func:`sksm.image.estimate_sigma`, which gives it on
    the [0, 1] scale that integer images are restored on), not
    scikit-image's wavelet one: the two agree to a few percent on white
    Gaussian noise, and fine texture inflates both.  To denoise with it,
    pass it to :func:`denoise` in the same units: with ``data_range`` (the
    white level, 255 for uint8) for an integer image, as it is for a float
    one.

    Parameters
    ----------
    image : array-like of shape (height, width), or with a channel axis
        The noisy image.
    average_sigmas : bool, default=False
        With ``channel_axis``: the mean of the channels' estimates instead of
        one per channel.
    channel_axis : int, default=None
        The axis of the colour channels of a 3-D image; None: a grayscale
        image.

    Returns
    -------
    sigma : float or ndarray of shape (n_channels,)
        In the units of the image as given.

    Raises
    ------
    ValueError
        For a 3-D image without ``channel_axis`` (the message says which to
        pass), an image smaller than 3x3, or NaN or infinite pixels.
    TypeError
        For an array that does not hold real numbers.

    Examples
    --------
    >>> import numpy as np
    >>> from sksm import restoration
    >>> rng = np.random.default_rng(0)
    >>> noisy = np.clip(128 + 10 * rng.standard_normal((128, 128)), 0, 255)
    >>> round(restoration.estimate_sigma(noisy.astype(np.uint8)))
    10
    >>> round(restoration.estimate_sigma(noisy / 255), 3)  # the same noise
    0.039
    """
    return image_sigma(image, average_sigmas, channel_axis)


def super_resolve(image, factor=2, *, kernel="box", sigma=None, model=None,
                  channel_axis=None, data_range=None, n_iter="auto",
                  max_num_iter=None, step=None, prior_weight=None, start=None,
                  tile_size=512):
    r"""Upscale an image shrunk by block means or by another kernel.

    With ``kernel='box'`` (the default) and no ``sigma``, the
    low-resolution image is taken to be the ``factor`` x ``factor``
    block mean of the unknown original.  Both procedures start from the
    cubic spline upscaling aligned with the block grid, projected onto the
    images whose blocks average to the input (bicubic with back-projection),
    and alternate a step under the prior with that projection, so every
    block of the result keeps its mean.

    With the default, noise-conditional prior
    (:class:`~sksm.NoiseConditionalFieldsOfExperts`): ``n_iter`` annealed
    empirical-Bayes steps :math:`x \leftarrow x - \gamma \sigma_t^2
    \nabla E(x; \sigma_t)` at levels :math:`\sigma_t` falling
    geometrically from 0.1 to 0.003, :math:`\gamma = 1.5`
    (:func:`sksm.posterior.annealed_super_resolve`; the schedule was chosen
    on calibration images).  With a :class:`~sksm.FieldsOfExperts`: steps
    down its energy, ``x <- x - step * dE/dx``, with the step annealed
    geometrically over ``max_num_iter`` steps (paper section 4.3;
    :func:`sksm.posterior.super_resolve`); ``n_iter=max_num_iter=200`` with
    ``start='paper'`` is the paper's procedure.

    Another ``kernel`` (the image shrunk by ``PIL.Image.resize`` with
    bicubic filtering, by ``skimage.transform.rescale``, or by a kernel of
    your own), or a ``sigma``, takes the image to be
    :class:`sksm.posterior.Downsample` of the original plus white noise of
    level ``sigma``, restored by half-quadratic splitting under the
    noise-conditional prior from the cubic spline upscaling (:func:`restore`
    with :data:`sksm.posterior.SUPER_RESOLVE_SCHEDULE`, or with a
    ``sigma`` :data:`sksm.posterior.DECONVOLVE_SCHEDULE`; chosen on
    calibration images).

    Parameters
    ----------
    image : array-like of shape (height, width), or with a channel axis
        Low-resolution image; see the module's description for dtypes and
        scales.  A :class:`dask.array.Array` is restored chunk by chunk
        (with a FieldsOfExperts, ``n_iter`` must then be a number), giving
        a Dask array.
    factor : int, default=2
        Upscaling factor per side, at least 2.
    kernel : {'box', 'bicubic', 'gaussian'} or array-like, default='box'
        How the image was shrunk: 'box', block means (Pillow's
        ``Image.BOX``); 'bicubic', Pillow's ``Image.BICUBIC`` (as
        ``Image.resize`` shrinks); 'gaussian', scikit-image's
        ``rescale(..., anti_aliasing=True)``; or the 1-D weights of a
        separable kernel (see :class:`sksm.posterior.Downsample`).  Other
        than 'box', only with the noise-conditional prior.
    sigma : float, default=None
        Noise of the low-resolution image, on the scale it is restored on
        (see :func:`denoise`).  None: an image without noise (but the
        rounding of its pixels); with ``kernel='box'``, the block means are
        then kept exactly.
    model : NoiseConditionalFieldsOfExperts or FieldsOfExperts, default=None
        None: the pretrained noise-conditional prior
        (:func:`sksm.load_pretrained_ncfoe`).
    channel_axis : int, default=None
        The colour axis of a colour image; None for grayscale.
    data_range : float, default=None
        See :func:`denoise`.
    n_iter : int or 'auto', default='auto'
        Steps to run, with ``kernel='box'`` and no ``sigma``.  Noise-conditional prior: the number of annealed
        steps, 'auto' for 20 (:data:`sksm.posterior.FILL_STEPS`), 0 for the
        projected start.  FieldsOfExperts: from 0 (the projected start) to
        ``max_num_iter``; 'auto': chosen for each image from the image
        itself, by running the procedure on the image's own block means and
        keeping a fraction (:data:`sksm.posterior.AUTO_FRACTION`) of the
        number of steps that restores the image best; costs about a quarter
        of ``max_num_iter`` steps on the image.
    max_num_iter : int, default=None
        FieldsOfExperts only: length of the annealing schedule of the step
        (None: 200).
    step : tuple of (float, float), default=None
        FieldsOfExperts only: first and last step sizes.  None: from
        ``1 / (w L)`` to ``1 / (40 w L)`` (the paper's ratio, 2e-2 to
        5e-4), where ``L`` is the largest curvature of the prior energy
        (:meth:`FieldsOfExperts.prior_lipschitz
        <sksm.FieldsOfExperts.prior_lipschitz>`), so that the schedule does
        not depend on the scale of the learned energy; the paper's absolute
        steps overshoot on energies steeper than its own.
    prior_weight : float, default=None
        FieldsOfExperts only: weight ``w`` of the prior energy in each
        step, positive (None: 1).
    start : {'bicubic', 'paper'}, default=None
        FieldsOfExperts only.  'bicubic' (None): cubic spline upscaling
        aligned with the block grid (with the projection, the bicubic +
        back-projection baseline); 'paper': linear upscaling followed by a
        Gaussian low-pass filter (standard deviation ``factor / 2``), as in
        the paper.
    tile_size : int or None, default=512
        Largest side of a tile of the output (each with context: the
        default prior's :data:`sksm.posterior.FILL_OVERLAP` low-resolution
        pixels, or with another kernel :data:`sksm.posterior.INVERSE_OVERLAP`
        pixels of the output); None: whole.

    Returns
    -------
    upscaled : ndarray
        ``factor`` times larger along both spatial axes, of the dtype of
        ``image``; with ``kernel='box'`` and no ``sigma``, every ``factor``
        x ``factor`` block averages to the input pixel (before rounding,
        for integer images).

    Raises
    ------
    ValueError
        For a float image far outside [0, 1] without ``data_range``, an
        integer dtype whose white level is unknown, a 3-D image without
        ``channel_axis``, an image smaller than the prior's filters even
        after upscaling, a factor below 2, an unknown kernel, an argument
        out of range, or a FieldsOfExperts-only argument with a
        noise-conditional prior or with another kernel than 'box'.
    TypeError
        If ``model`` is neither kind of Field of Experts.

    Examples
    --------
    >>> import numpy as np
    >>> from PIL import Image
    >>> from sksm import restoration
    >>> from sksm.image import psnr
    >>> clean = np.kron(np.eye(4), np.ones((12, 12))).astype(np.float32)
    >>> small = np.asarray(Image.fromarray(clean, "F").resize(
    ...     (24, 24), Image.BICUBIC))
    >>> big = restoration.super_resolve(small, 2, kernel="bicubic")
    >>> bicubic = np.asarray(Image.fromarray(small, "F").resize(
    ...     (48, 48), Image.BICUBIC))
    >>> psnr(clean, big) > psnr(clean, bicubic)
    True
    """
    return super_resolve_channels(
        image, factor, kernel=kernel, sigma=sigma, model=model,
        channel_axis=channel_axis,
        data_range=data_range, n_iter=n_iter, max_num_iter=max_num_iter,
        step=step, prior_weight=prior_weight, start=start,
        tile_size=tile_size)


def inpaint(image, mask, *, model=None, channel_axis=None, data_range=None,
            prior_weight="auto", smoothness=None, max_num_iter=None,
            tile_size=256, return_prior_weight=False):
    r"""Fill the pixels where ``mask`` is True under the prior.

    The other pixels stay fixed; both procedures start from the biharmonic
    fill (:func:`sksm.posterior.biharmonic_fill`, as
    :func:`skimage.restoration.inpaint_biharmonic`), and ``prior_weight``
    sets how much the prior changes it (0: not at all).

    With the default, noise-conditional prior
    (:class:`~sksm.NoiseConditionalFieldsOfExperts`): 20 annealed
    empirical-Bayes steps :math:`x \leftarrow x - 1.5\, \sigma_t^2 \nabla
    E(x; \sigma_t)` at levels falling geometrically from ``prior_weight``
    to 0.003, each followed by putting the known pixels back
    (:func:`sksm.posterior.annealed_inpaint`).  With a
    :class:`~sksm.FieldsOfExperts`: the missing pixels minimise :math:`w
    E(x) + \frac{s}{2} \lVert \Delta x \rVert^2`, the prior energy plus
    the smoothness term of the biharmonic fill, by L-BFGS-B, within the
    range of the known pixels (:func:`sksm.posterior.inpaint`);
    ``smoothness=0`` is the paper's MAP under the prior alone (section
    4.3).

    Parameters
    ----------
    image : array-like of shape (height, width), or with a channel axis
        Damaged image; see the module's description for dtypes and scales.
        A :class:`dask.array.Array` is restored chunk by chunk
        (``prior_weight`` must then be a number), giving a Dask array.
    mask : array-like of bool, shape (height, width)
        True where a pixel is missing (in every channel).
    model : NoiseConditionalFieldsOfExperts or FieldsOfExperts, default=None
        None: the pretrained noise-conditional prior
        (:func:`sksm.load_pretrained_ncfoe`).
    channel_axis : int, default=None
        The colour axis of a colour image; None for grayscale.
    data_range : float, default=None
        See :func:`denoise`.
    prior_weight : float or 'auto', default='auto'
        At least 0; 0 gives the biharmonic fill.  Noise-conditional prior:
        the first level of the steps, on the [0, 1] scale of the pixels (at
        most 1).
        FieldsOfExperts: the weight ``w`` of the energy.  'auto': chosen
        for each channel by filling known pixels hidden under a shifted
        copy of the mask, in up to eight windows of 64x64 pixels (and their
        context) with missing pixels: from
        :data:`sksm.posterior.INPAINT_FIRST_LEVELS` (every level is tried),
        or from :data:`sksm.posterior.PRIOR_WEIGHTS` (in increasing order
        until one does worse than the one before).
        ``return_prior_weight=True`` returns the choice.
    smoothness : float, default=None
        FieldsOfExperts only: ``s``, at least 0 (None: 1).
    max_num_iter : int, default=None
        FieldsOfExperts only: L-BFGS-B iterations per tile (None: 300).
    tile_size : int or None, default=256
        Largest side of the tiles the image is restored in; None: whole.
    return_prior_weight : bool, default=False
        Also return the prior weight used.

    Returns
    -------
    inpainted : ndarray of the shape and dtype of ``image``
        The known pixels unchanged, the missing ones filled.
    prior_weight : float or ndarray of shape (n_channels,)
        Only with ``return_prior_weight=True``: the first level or the
        weight (0: the biharmonic fill; 0 too when no pixel is missing),
        one per channel for a colour image.  For three channels they are
        those of the opponent channels the image is restored in
        (luminance, red-green, yellow-blue), not of red, green and blue.

    Raises
    ------
    ValueError
        For a float image far outside [0, 1] without ``data_range``, an
        integer dtype whose white level is unknown, a 3-D image without
        ``channel_axis``, an image smaller than the prior's filters, a mask
        that does not match the image or covers all of it, both weights
        0, or a FieldsOfExperts-only argument with a noise-conditional
        prior.
    TypeError
        If ``model`` is neither kind of Field of Experts.
    """
    return inpaint_channels(
        image, mask, model=model, channel_axis=channel_axis,
        data_range=data_range, prior_weight=prior_weight,
        smoothness=smoothness, max_num_iter=max_num_iter,
        tile_size=tile_size, return_prior_weight=return_prior_weight)
