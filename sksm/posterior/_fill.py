r"""Filling in pixels: super-resolution of block means, and inpainting.

- :func:`super_resolve`: projected, annealed descent on the prior under the
  constraint that every ``factor`` x ``factor`` block keeps its mean, for a
  number of steps chosen from the image itself;
- :func:`inpaint`: L-BFGS-B on the prior plus the biharmonic smoothness
  term over the missing pixels, the prior's weight chosen from the image
  itself (:func:`biharmonic_fill` is the start, and the fill without a
  prior).
"""

import numpy as np
from scipy import sparse
from scipy.ndimage import gaussian_filter, zoom
from scipy.sparse.linalg import spsolve

from ..optim import lbfgs
from ._tiles import _core_in, _jobs, _scaled, _solve_tiles, tiles

__all__ = ["AUTO_FRACTION", "PRIOR_WEIGHTS", "biharmonic_fill", "inpaint",
           "super_resolve"]


#: With ``n_iter='auto'``, :func:`super_resolve` runs this fraction of the
#: number of steps that best restore an image from its own block means.
#: Chosen on the training and calibration images of the pretrained prior's
#: split (one third: the fewest losses and the highest mean gain over
#: 28 images, against 1/2 and 1/4); see the user guide.
AUTO_FRACTION = 1 / 3


def super_resolve(prior, images, factor, *, n_iter="auto", max_iter=200,
                  step=None, prior_weight=1.0, start="bicubic",
                  tile_size=256, overlap=16, n_threads=None):
    """Upscale images whose pixels are block means (paper section 4.3).

    Start from an upscaling (``start``), then alternate a step down the
    prior energy, ``x <- x - step * w * dE/dx`` with the step annealed
    geometrically over ``max_iter`` steps, and a projection that restores
    every block's mean exactly.  The paper runs all the steps; on images
    with little fine detail, each step after the first few loses accuracy,
    so by default the number of steps is chosen for each image from the
    image itself (``n_iter='auto'``): natural images look alike across
    scales, so the same procedure is run on the image's own block means,
    the number of steps that best restores the image is found, and
    :data:`AUTO_FRACTION` of it is run on the image.

    Parameters
    ----------
    prior : ImagePrior
        The prior energy on pixels (a fitted
        :class:`~sksm.FieldsOfExperts` builds the one its restoration
        methods pass).
    images : list of ndarray of shape (height, width)
        Low-resolution float images.
    factor : int
        Upscaling factor per side, at least 2.
    n_iter : int or 'auto', default='auto'
        Steps to run, at most ``max_iter``; 0 returns the projected start.
    max_iter : int, default=200
        Length of the annealing schedule.
    step : tuple of (float, float), default=None
        First and last step sizes; None: ``1 / (w L)`` to ``1 / (40 w L)``
        (the paper's ratio) with ``L = prior.lipschitz``.
    prior_weight : float, default=1.0
        Weight ``w`` of the prior energy in each step.
    start : {'bicubic', 'paper'}, default='bicubic'
        'bicubic': cubic spline upscaling aligned with the block grid;
        'paper': linear upscaling and a Gaussian low-pass filter of
        standard deviation ``factor / 2``.
    tile_size, overlap : int
        In low-resolution pixels; see :func:`tiles`.
    n_threads : int, default=None
        Tiles solved at once; None: the ``n_jobs`` of an enclosing
        :func:`joblib.parallel_config`, else as many as BLAS may use.

    Returns
    -------
    upscaled : list of ndarray of shape (height * factor, width * factor)
        One float64 image per input, whose block means equal its pixels.
    """
    if step is None:
        first = 1.0 / (prior_weight * prior.lipschitz)
        step = (first, first / 40)
    schedule = np.geomspace(step[0], step[1], max_iter)
    if n_iter == "auto":
        counts = _self_similar_counts(prior, images, factor, schedule,
                                      prior_weight, start, tile_size,
                                      overlap, n_threads)
    else:
        counts = [n_iter] * len(images)

    def solve(k, image, window, core, n_inner):
        x = _upscale_window(prior, image[window], factor,
                            schedule[:counts[jobs[k][0]]], prior_weight,
                            start, n_inner)[0]
        return x[_core_in(window, core, factor)]

    jobs = _jobs(images, tile_size, overlap)
    out = [np.empty((im.shape[0] * factor, im.shape[1] * factor))
           for im in images]
    return _solve_tiles(images, out, jobs, solve, n_threads)


def _back_project(x, low, factor):
    """``x`` with every ``factor`` x ``factor`` block shifted to the mean
    ``low`` holds for it: the projection onto the images of those block
    means."""
    return x + np.kron(low - _block_means(x, factor),
                       np.ones((factor, factor)))


def _block_means(image, factor):
    height, width = image.shape
    return image.reshape(height // factor, factor, width // factor,
                         factor).mean(axis=(1, 3))


def _upscale_window(prior, low, factor, schedule, prior_weight, start,
                    n_threads, target=None):
    """Projected descent from ``start`` on one window of a low-resolution image.

    Returns the upscaled window and, when ``target`` (an array of its shape,
    NaN outside the pixels to count) is given, the summed squared error
    against it after every step (the start's first).
    """
    low = low.astype(np.float64)
    shape = (low.shape[0] * factor, low.shape[1] * factor)

    def project(x):
        return _back_project(x, low, factor)

    if start == "paper":
        x = gaussian_filter(zoom(low, factor, order=1, mode="nearest",
                                 grid_mode=True), sigma=0.5 * factor)
    else:
        x = zoom(low, factor, order=3, mode="reflect", grid_mode=True)
    x = project(x.reshape(shape))
    errors = []
    if target is not None:
        errors.append(np.nansum((x - target) ** 2))
    for alpha in schedule:
        d = prior.energy_grad(x[None], n_threads)[1][0]
        x = project(x - alpha * prior_weight * d)
        if target is not None:
            errors.append(np.nansum((x - target) ** 2))
    return x, errors


def _self_similar_counts(prior, images, factor, schedule, prior_weight,
                         start, tile_size, overlap, n_threads):
    """For every image, :data:`AUTO_FRACTION` of the number of steps that
    best restores it from its own ``factor`` x ``factor`` block means.

    Images whose block means are too small for the prior get 0 steps.
    """
    targets, smalls = [], []
    for image in images:
        height = image.shape[0] // factor * factor
        width = image.shape[1] // factor * factor
        targets.append(image[:height, :width].astype(np.float64))
        smalls.append(_block_means(targets[-1], factor))
    usable = [i for i, small in enumerate(smalls)
              if min(small.shape) * factor > prior.margin]
    jobs = [job for job in _jobs(smalls, tile_size, overlap)
            if job[0] in usable]
    errors = np.zeros((len(jobs), len(schedule) + 1))

    def solve(k, small, window, core, n_inner):
        i = jobs[k][0]
        scaled = _scaled(window, targets[i].shape, small.shape)
        target = np.full(targets[i][scaled].shape, np.nan)
        inside = _core_in(window, core, factor)
        target[inside] = targets[i][scaled][inside]
        x, errors[k] = _upscale_window(prior, small[window], factor,
                                       schedule, prior_weight, start,
                                       n_inner, target)
        return x[inside]

    scratch = [np.empty(t.shape) if i in usable else None
               for i, t in enumerate(targets)]
    _solve_tiles(smalls, scratch, jobs, solve, n_threads)
    counts = [0] * len(images)
    for i in usable:
        total = errors[[k for k, job in enumerate(jobs) if job[0] == i]]
        counts[i] = round(AUTO_FRACTION * int(np.argmin(total.sum(axis=0))))
    return counts


#: The prior weights that ``prior_weight='auto'`` of :func:`inpaint` chooses
#: from (0: the biharmonic fill).  The grid was chosen on the training and
#: calibration images of the pretrained prior's split; see the user guide.
PRIOR_WEIGHTS = (0.0, 3e-4, 1e-3, 3e-3, 1e-2)

#: ``prior_weight='auto'`` tries its weights on at most this many windows of
#: an image, evenly spaced among those with missing pixels, ...
_MAX_TRIAL_TILES = 8
#: ... each of at most this many pixels a side (plus the tiles' overlap of
#: context on every side): a sample of the holes, not whole tiles.
_TRIAL_SIZE = 64


def inpaint(prior, images, masks, *, prior_weight="auto", smoothness=1.0,
            max_iter=300, tile_size=256, overlap=16, n_threads=None,
            return_weights=False):
    r"""Fill the pixels where a mask is True under the prior.

    The known pixels stay fixed; the missing ones minimise

    .. math:: w E(x) + \frac{s}{2} \lVert \Delta x \rVert^2,

    the prior energy plus the smoothness term of the biharmonic fill
    (:func:`biharmonic_fill`, the minimiser for ``w = 0``, is also the
    start), by L-BFGS-B bounded by the range of the known pixels (without
    the smoothness term, the heavy-tailed experts make a few huge responses
    cheap).  ``s = 0`` is the paper's MAP under the prior alone.  The
    prior's MAP alone loses to the biharmonic fill on smooth images, the
    smoothness term alone on textured ones, so by default ``w`` is chosen
    for every image from the image itself: in a sample of windows with
    missing pixels, the known pixels under a shifted copy of the mask are
    hidden and filled with the weights of :data:`PRIOR_WEIGHTS` in
    increasing order, until one restores them worse than the one before;
    the best of those is kept.  When the biharmonic fill wins, that costs
    one fill with the smallest nonzero weight in each window of the sample.

    Parameters
    ----------
    prior : ImagePrior
        The prior energy on pixels (a fitted
        :class:`~sksm.FieldsOfExperts` builds the one its restoration
        methods pass).
    images : list of ndarray of shape (height, width)
        Float images; the missing pixels' values are ignored.
    masks : list of bool ndarray of the same shapes
        True where a pixel is missing; every image has a known pixel.
    prior_weight : float or 'auto', default='auto'
        ``w``, at least 0 (positive when ``smoothness`` is 0).
    smoothness : float, default=1.0
        ``s``, at least 0.
    max_iter : int, default=300
        L-BFGS-B iterations per tile (and per weight tried).
    tile_size, overlap : int
        See :func:`tiles`.
    n_threads : int, default=None
        Tiles solved at once; None: the ``n_jobs`` of an enclosing
        :func:`joblib.parallel_config`, else as many as BLAS may use.
    return_weights : bool, default=False
        Also return the prior weight of every image.

    Returns
    -------
    inpainted : list of ndarray of shape (height, width)
        One float64 image per input, the known pixels unchanged.
    weights : list of float
        The prior weight ``w`` each image was filled with (chosen, with
        'auto'); only with ``return_weights=True``.
    """
    bounds = [(image[~mask].min(), image[~mask].max())
              for image, mask in zip(images, masks)]
    if prior_weight == "auto":
        if smoothness == 0:  # w only scales the energy: any w > 0 is one
            weights = [1.0] * len(images)
        else:
            weights = _held_out_weights(prior, images, masks, bounds,
                                        smoothness, max_iter, overlap,
                                        n_threads)
    else:
        weights = [float(prior_weight)] * len(images)
    jobs = [job for job in _jobs(images, tile_size, overlap)
            if masks[job[0]][job[2]].any()]

    def solve(k, image, window, core, n_inner):
        i = jobs[k][0]
        x = _fill_window(prior, image[window], masks[i][window], weights[i],
                         smoothness, bounds[i], max_iter, n_inner)
        return x[_core_in(window, core)]

    out = [image.astype(np.float64) for image in images]
    out = _solve_tiles(images, out, jobs, solve, n_threads)
    return (out, weights) if return_weights else out


def _fill_window(prior, image, mask, weight, smoothness, bounds, max_iter,
                 n_threads):
    """Minimise ``w E + s/2 |Laplacian x|^2`` over one window's missing
    pixels, from the biharmonic fill (clipped to ``bounds``)."""
    low, high = bounds
    x = np.clip(biharmonic_fill(image, mask), low, high)
    if weight == 0 or not mask.any():
        return x
    laplacian = _laplacian(x.shape)
    missing = mask.ravel()

    def fun(values):
        x[mask] = values
        E, d = prior.energy_grad(x[None], n_threads)
        value, grad = weight * E[0], weight * d[0][mask]
        if smoothness:
            r = laplacian @ x.ravel()
            value += 0.5 * smoothness * (r @ r)
            grad += smoothness * (laplacian.T @ r)[missing]
        return float(value), grad

    n = int(mask.sum())
    result = lbfgs(fun, x[mask], bounds=(np.full(n, low), np.full(n, high)),
                   max_iter=max_iter, tol=1e-10, max_fun=15000, gtol=1e-8)
    x[mask] = result.theta
    return x


def _trial_windows(images, masks, overlap):
    """The windows ``(image index, window, core)`` that the weights are
    tried on, and for each the known pixels its trial hides (the mask
    shifted by about half the window) and those of its core that count."""
    trials, hidden, counted = [], [], []
    for i, (image, mask) in enumerate(zip(images, masks)):
        own = [(i, window, core) for window, core in
               tiles(image.shape, _TRIAL_SIZE, overlap) if mask[core].any()]
        picks = np.unique(np.linspace(0, len(own) - 1, min(
            len(own), _MAX_TRIAL_TILES)).round().astype(int)) if own else []
        for p in picks:
            _, window, core = own[p]
            holes = mask[window]
            shift = (holes.shape[0] // 2 + 3, holes.shape[1] // 3 + 5)
            hide = ~holes & np.roll(holes, shift, axis=(0, 1))
            count = np.zeros_like(hide)
            count[_core_in(window, core)] = True
            count &= hide
            if (holes | hide).all() or not count.any():
                continue  # nothing to fill from, or nothing to count
            trials.append(own[p])
            hidden.append(hide)
            counted.append(count)
    return trials, hidden, counted


def _held_out_weights(prior, images, masks, bounds, smoothness, max_iter,
                      overlap, n_threads):
    """For every image, the weight of :data:`PRIOR_WEIGHTS` that best fills
    known pixels hidden under a shifted copy of its mask.

    The weights are tried in increasing order on a sample of windows of the
    image (:func:`_trial_windows`), all windows of a weight at once, until
    one restores the hidden pixels worse than the one before (the error
    rises from there, in every image measured); an image with no pixel to
    hide gets the middle weight.
    """
    trials, hidden, counted = _trial_windows(images, masks, overlap)
    errors = np.full((len(trials), len(PRIOR_WEIGHTS)), np.nan)
    owner = np.array([job[0] for job in trials], int)
    searching = set(owner.tolist())
    for j, weight in enumerate(PRIOR_WEIGHTS):
        run = [k for k in range(len(trials)) if owner[k] in searching]
        if not run:
            break

        def solve(r, image, window, core, n_inner, weight=weight):
            k = run[r]
            truth = image[window]
            x = _fill_window(prior, truth, masks[owner[k]][window] |
                             hidden[k], weight, smoothness,
                             bounds[owner[k]], max_iter, n_inner)
            errors[k, j] = np.sum((x - truth)[counted[k]] ** 2)

        _solve_tiles(images, None, [trials[k] for k in run], solve,
                     n_threads)
        for i in list(searching):
            total = errors[owner == i, :j + 1].sum(axis=0)
            if j > 0 and total[j] >= total[j - 1]:
                searching.discard(i)
    weights = []
    for i in range(len(images)):
        if not np.any(owner == i):
            weights.append(PRIOR_WEIGHTS[len(PRIOR_WEIGHTS) // 2])
            continue
        total = errors[owner == i].sum(axis=0)  # NaN where not tried
        weights.append(PRIOR_WEIGHTS[int(np.nanargmin(total))])
    return weights


def _laplacian(shape):
    """The 5-point Laplacian with mirrored (Neumann) edges, sparse CSR."""
    def second_difference(n):
        if n == 1:
            return sparse.csr_matrix((1, 1))
        d = sparse.diags([np.ones(n - 1), -2 * np.ones(n), np.ones(n - 1)],
                         [-1, 0, 1], format="lil")
        d[0, 0] = d[n - 1, n - 1] = -1
        return d.tocsr()

    height, width = shape
    return (sparse.kron(second_difference(height), sparse.identity(width))
            + sparse.kron(sparse.identity(height), second_difference(width))
            ).tocsr()


def biharmonic_fill(image, mask):
    r"""The smoothest fill of the pixels where ``mask`` is True.

    Solves :math:`(\Delta^2 x)_p = 0` at every missing pixel ``p``, the
    known pixels fixed, with the 5-point Laplacian and mirrored edges: the
    fill that minimises :math:`\lVert \Delta x \rVert^2`, as
    ``skimage.restoration.inpaint_biharmonic`` computes it.

    Parameters
    ----------
    image : ndarray of shape (height, width)
        A float image; the missing pixels' values are ignored.
    mask : bool ndarray of the same shape
        True where a pixel is missing; some pixel is known.

    Returns
    -------
    filled : ndarray of shape (height, width)
        In float64, the known pixels unchanged.
    """
    x = np.asarray(image, dtype=np.float64).copy()
    missing = mask.ravel()
    if not missing.any():
        return x
    laplacian = _laplacian(x.shape)
    rows = (laplacian.T @ laplacian).tocsr()[missing]
    unknown = rows[:, missing].tocsc()
    rhs = -rows[:, ~missing] @ x.ravel()[~missing]
    x.ravel()[missing] = spsolve(unknown, rhs)
    return x
