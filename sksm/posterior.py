r"""Restoration as inference under an image prior, in overlapping tiles.

Everything here works on an :class:`ImagePrior` (an energy over images with
its gradient), not on an estimator: :class:`~sksm.FieldsOfExperts` builds one
from its filters, and :mod:`sksm.restoration` sets the policy (dtypes,
channels, defaults).  The estimators of the paper's section 4.2-4.3:

- :func:`denoise`: the posterior of an image observed with additive white
  Gaussian noise, :math:`w E(x) + \lVert x - y\rVert^2 / (2\sigma^2)`,
  minimised by L-BFGS (MAP), by the paper's annealed steepest descent, or
  averaged by a Metropolis-adjusted Langevin chain (MMSE);
- :func:`super_resolve`: projected, annealed descent on the prior under the
  constraint that every ``factor`` x ``factor`` block keeps its mean, for a
  number of steps chosen from the image itself;
- :func:`inpaint`: L-BFGS-B on the prior plus the biharmonic smoothness
  term over the missing pixels, the prior's weight chosen from the image
  itself.

Every image of a stack is a problem of its own, and so is every tile of a
large image: the image is cut into tiles of at most ``tile_size`` pixels a
side, each solved with ``overlap`` pixels of context on every side and only
its core kept.  Memory then grows with the tile, not the image, and cost
grows linearly with the number of pixels.  The tiles go to as many threads
as BLAS may use (NumPy releases the GIL), each evaluating the prior on one
core.
"""

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.ndimage import gaussian_filter, zoom
from sklearn.utils import check_random_state

from . import _progress
from ._parallel import banded_grad_energy, blas_threads, single_threaded_blas
from .optim import lbfgs
from .sampling import run_mcmc

__all__ = ["AUTO_FRACTION", "PRIOR_WEIGHTS", "ImagePrior", "biharmonic_fill",
           "denoise", "inpaint", "super_resolve", "tiles"]


class ImagePrior:
    """An energy over images, as restoration needs it.

    Parameters
    ----------
    network : EnergyNetwork
        Computes the energy summed over the valid positions of square
        filters of side ``size`` and its gradient in the pixels
        (:meth:`~sksm.energies.EnergyNetwork.input_derivatives`).
    size : int
        Side of the filters the network applies at valid positions.
    preprocess : callable, default=None
        A linear map applied to the images before the network (whitening,
        valid correlation), with ``adjoint`` its adjoint.
    adjoint : callable, default=None
        The adjoint of ``preprocess``, applied to the gradient (the full
        convolution with the kernel, for a valid correlation); None with no
        ``preprocess``.
    margin : int, default=None
        Pixels lost on each side by ``preprocess`` and the filters; None:
        ``size - 1``.
    lipschitz : float, default=None
        A bound on the norm of the Hessian of the energy in the pixels (for
        the step sizes of the descent methods).
    dtype : numpy dtype, default=np.float32
        The dtype the network computes in.

    Notes
    -----
    :meth:`energy_grad` is thread-safe: every call works on its own copy of
    the network's caches.
    """

    def __init__(self, network, size, *, preprocess=None, adjoint=None,
                 margin=None, lipschitz=None, dtype=np.float32):
        self.network = network
        self.size = int(size)
        self.preprocess = preprocess
        self.adjoint = adjoint
        self.margin = self.size - 1 if margin is None else int(margin)
        self.lipschitz = lipschitz
        self.dtype = np.dtype(dtype)

    def energy_grad(self, x, n_threads=1, exponent=None):
        """Compute the energy of every image of a stack and its gradient.

        Parameters
        ----------
        x : ndarray of shape (n, height, width)
            Float images, evaluated in :attr:`dtype`.
        n_threads : int, default=1
            Above 1: the filter positions are split into bands evaluated in
            threads; call it inside
            :func:`~sksm._parallel.single_threaded_blas`.
        exponent : ndarray of shape (n,) or None, default=None
            From :func:`~sksm.energies.layers.split_exponent`: the images
            are ``x * 2**exponent``; None: ``x``.

        Returns
        -------
        E : ndarray of shape (n,)
            The energies, in float64 (without a mean term).
        dE_dx : ndarray of shape (n, height, width)
            Their gradients with respect to the pixels, in float64.
        """
        h = x.astype(self.dtype, copy=False)
        if self.preprocess is not None:
            h = self.preprocess(h)
        E, d = banded_grad_energy(self.network.copy(), h, self.size,
                                  n_threads, exponent)
        if self.adjoint is not None:
            d = self.adjoint(d)
        return E.astype(np.float64), d.astype(np.float64)


# ---------------------------------------------------------------------- #
# Tiles
# ---------------------------------------------------------------------- #
def _edges(length, tile_size):
    """Split ``range(length)`` into even parts of at most ``tile_size``."""
    if tile_size is None or length <= tile_size:
        return [(0, length)]
    n = math.ceil(length / tile_size)
    cuts = np.linspace(0, length, n + 1).round().astype(int)
    return list(zip(cuts[:-1], cuts[1:]))


def tiles(shape, tile_size, overlap):
    """Cut an image of ``shape`` into tiles with ``overlap`` pixels of context.

    Parameters
    ----------
    shape : tuple of (int, int)
        Height and width of the image.
    tile_size : int or None
        Largest side of a tile's core; None: one tile, the whole image.
    overlap : int
        Pixels of context on every side of a core (fewer at the image's
        edges).

    Returns
    -------
    tiles : list of (window, core) pairs
        ``window`` and ``core`` are ``(row slice, column slice)`` in the
        image; the cores partition the image and every window holds its
        core and the ``overlap`` pixels around it that lie in the image.
    """
    out = []
    for r0, r1 in _edges(shape[0], tile_size):
        for c0, c1 in _edges(shape[1], tile_size):
            window = (slice(max(r0 - overlap, 0), min(r1 + overlap, shape[0])),
                      slice(max(c0 - overlap, 0), min(c1 + overlap, shape[1])))
            out.append((window, (slice(r0, r1), slice(c0, c1))))
    return out


def _reflect_index(indices, length):
    """``indices`` reflected into ``[0, length)``.

    As ``numpy.pad``'s 'reflect' mode: the edge pixel is not repeated.
    """
    idx = np.abs(indices)
    period = 2 * (length - 1)
    if period == 0:
        return np.zeros_like(idx)
    idx = idx % period
    return np.where(idx >= length, period - idx, idx)


def _extended_window(image, window, pad):
    """The window grown by ``pad`` on every side, reflected beyond the image.

    Returns the pixels and a boolean map of those that lie in the image.
    """
    rows, cols = window
    height, width = image.shape
    r = np.arange(rows.start - pad, rows.stop + pad)
    c = np.arange(cols.start - pad, cols.stop + pad)
    pixels = image[np.ix_(_reflect_index(r, height),
                          _reflect_index(c, width))]
    inside = ((r >= 0) & (r < height))[:, None] & ((c >= 0) & (c < width))
    return pixels.astype(np.float64, copy=False), inside


def _solve_tiles(images, out, jobs, solve, n_threads=None):
    """Run ``solve(k, image, window, core, n_inner)`` for every job, in threads.

    ``jobs`` are ``(image index, window, core)``; ``solve`` returns the core's
    result, written into ``out[image index][core]`` (outputs of the cores
    are disjoint, so threads may write them).  Progress goes to the active
    :mod:`sksm._progress` reporter.
    """
    if n_threads is None:
        n_threads = blas_threads()
    n_outer = max(1, min(n_threads, len(jobs)))
    n_inner = max(1, n_threads // n_outer)
    errors = np.geterr()  # worker threads do not inherit np.errstate

    def work(k):
        i, window, core = jobs[k]
        with np.errstate(**errors):
            result = solve(k, images[i], window, core, n_inner)
        out[i][_scaled(core, out[i].shape, images[i].shape)] = result

    reporter = _progress.current()
    reporter.start(len(jobs))
    with single_threaded_blas():
        if n_outer == 1:
            for k in range(len(jobs)):
                work(k)
                reporter.update()
        else:
            with ThreadPoolExecutor(n_outer) as pool:
                for _ in pool.map(work, range(len(jobs))):
                    reporter.update()
    return out


def _scaled(core, out_shape, in_shape):
    """The core's slices on the output grid (super-resolution enlarges it)."""
    fy, fx = out_shape[0] // in_shape[0], out_shape[1] // in_shape[1]
    rows, cols = core
    return (slice(rows.start * fy, rows.stop * fy),
            slice(cols.start * fx, cols.stop * fx))


def _jobs(images, tile_size, overlap):
    return [(i, window, core) for i, image in enumerate(images)
            for window, core in tiles(image.shape, tile_size, overlap)]


def _core_in(window, core, factor=1):
    """The core's slices inside its window (on a grid ``factor`` finer)."""
    return tuple(slice((c.start - w.start) * factor,
                       (c.stop - w.start) * factor)
                 for w, c in zip(window, core))


# ---------------------------------------------------------------------- #
# Denoising
# ---------------------------------------------------------------------- #
def denoise(prior, images, sigma, *, method="fista", prior_weight=1.0,
            max_iter=None, tol=1e-9, self_ensemble=1, tile_size=256,
            overlap=16, random_state=None, n_threads=None):
    r"""Restore images observed with additive white Gaussian noise.

    Each image is extended by the prior's margin on every side (reflected),
    the data term covering the image's own pixels only, so that border
    pixels get the full prior; the posterior energy is
    :math:`w E(x) + \lVert M (x - y)\rVert^2 / (2 \sigma^2)`.

    Parameters
    ----------
    prior : ImagePrior
        The prior energy on pixels (a fitted
        :class:`~sksm.FieldsOfExperts` builds the one its restoration
        methods pass).
    images : list of ndarray of shape (height, width)
        Noisy float images; every one is a problem of its own.
    sigma : float
        Noise standard deviation, in the images' units.
    method : {'fista', 'lbfgs', 'paper', 'mmse'}, default='fista'
        'fista': accelerated proximal gradient descent from the noisy image
        with the fixed step ``1 / (w L)``, ``L = prior.lipschitz``
        (``max_iter`` default 30; Beck & Teboulle 2009): every step is local,
        so tiles with enough overlap give the whole image's result.
        'lbfgs': L-BFGS from the noisy image (``max_iter`` default 30); its
        steps depend on inner products over the whole problem, so a tile's
        result differs from the whole image's (the PSNR does not).
        'paper': steepest descent with the step annealed geometrically from
        2e-2 to 5e-4 on the posterior energy scaled by :math:`\sigma^2`
        (``max_iter`` default 300 steps; Kingma & LeCun 2010, section 4.3).
        'mmse': the average of a Metropolis-adjusted Langevin chain started
        at the L-BFGS estimate (``max_iter`` default 200 steps, the first
        half adapting the step and not averaged).
    prior_weight : float, default=1.0
        Weight ``w`` of the prior energy.
    max_iter : int, default=None
        Iterations or steps of ``method``; None: its default (30 for
        'fista' and 'lbfgs', 300 for 'paper', 200 for 'mmse').
    tol : float, default=1e-9
        L-BFGS tolerance on the relative decrease and on the gradient.
    self_ensemble : {1, 2, 4, 8}, default=1
        Average the estimates of this many mirrored and turned copies of
        every tile (the geometric self-ensemble of Timofte, Rothe & Van Gool
        2016), at as many times the cost: the prior's filters are not
        symmetric, so the estimates differ and their mean has less error.
    tile_size, overlap : int
        See :func:`tiles`; None for ``tile_size`` solves each image whole.
    random_state : int, RandomState instance or None, default=None
        Seeds the chains of 'mmse' (one stream per tile).
    n_threads : int, default=None
        Tiles solved at once; None: as many as BLAS may use.

    Returns
    -------
    denoised : list of ndarray of shape (height, width)
        One float64 estimate per image, not clipped.
    """
    pad = prior.margin
    jobs = _jobs(images, tile_size, overlap)
    if method == "mmse":
        seed = check_random_state(random_state).randint(2 ** 31)
        streams = np.random.SeedSequence(seed).spawn(len(jobs))

    def solve(k, image, window, core, n_inner):
        y, inside = _extended_window(image, window, pad)
        seeds = (streams[k].spawn(self_ensemble) if method == "mmse"
                 else [None] * self_ensemble)
        x = np.mean([_undo_dihedral(_denoise_window(
            prior, _dihedral(y, t), _dihedral(inside, t), sigma, method,
            prior_weight, max_iter, tol, n_inner, seeds[t]), t)
            for t in range(self_ensemble)], axis=0)
        return x[pad:-pad or None, pad:-pad or None][_core_in(window, core)]

    out = [np.empty(image.shape) for image in images]
    return _solve_tiles(images, out, jobs, solve, n_threads)


#: The eight symmetries of the square as (quarter turns, mirrored), in the
#: order ``self_ensemble`` takes them: 2 adds the mirror image, 4 the two
#: half turns, 8 the quarter turns.
_DIHEDRAL = ((0, False), (0, True), (2, False), (2, True),
             (1, False), (1, True), (3, False), (3, True))


def _dihedral(x, t):
    turns, mirrored = _DIHEDRAL[t]
    return np.rot90(x[:, ::-1] if mirrored else x, turns)


def _undo_dihedral(x, t):
    turns, mirrored = _DIHEDRAL[t]
    x = np.rot90(x, -turns)
    return x[:, ::-1] if mirrored else x


def _denoise_window(prior, y, inside, sigma, method, prior_weight, max_iter,
                    tol, n_threads, seed):
    """Solve one extended window ``y`` (data where ``inside``) by ``method``."""
    inv_var = 1.0 / sigma ** 2

    def posterior(x):
        E, d = prior.energy_grad(x, n_threads)
        r = np.where(inside, x - y, 0.0)
        return (prior_weight * E
                + 0.5 * inv_var * np.einsum("nij,nij->n", r, r),
                prior_weight * d + inv_var * r)

    x = np.ascontiguousarray(y)[None]
    if method == "fista":
        x = _fista(prior, x, y, inside, sigma, prior_weight, max_iter or 30,
                   n_threads)
    elif method == "paper":
        for step in np.geomspace(2e-2, 5e-4, max_iter or 300):
            x = x - step * sigma ** 2 * posterior(x)[1]
    else:
        n_iter = (max_iter or 30) if method == "lbfgs" else 30
        x = _lbfgs(posterior, x, n_iter, tol)
        if method == "mmse":
            n_steps = max_iter or 200
            x = run_mcmc(posterior, x, method="mala",
                         n_steps=n_steps - n_steps // 2,
                         n_warmup=n_steps // 2, keep_samples=False,
                         random_state=int(seed.generate_state(1)[0])).mean
    return x[0]


def _fista(prior, x, y, inside, sigma, prior_weight, n_iter, n_threads):
    r"""FISTA on :math:`w E(x) + \lVert M(x - y)\rVert^2 / (2\sigma^2)`.

    A gradient step on the prior with the fixed step :math:`1 / (w L)`, then
    the exact proximal step of the data term, with Nesterov's momentum (Beck
    & Teboulle 2009).  Every quantity is local to a pixel's neighbourhood:
    no inner product over the image, so a tile with enough context gives
    the same result as the whole image.
    """
    step = 1.0 / (prior_weight * prior.lipschitz)
    shrink = step / sigma ** 2
    v, t = x, 1.0
    for _ in range(n_iter):
        z = v - step * prior_weight * prior.energy_grad(v, n_threads)[1]
        x_new = np.where(inside, (z + shrink * y) / (1 + shrink), z)
        t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
        v = x_new + ((t - 1) / t_new) * (x_new - x)
        x, t = x_new, t_new
    return x


def _lbfgs(posterior, x0, max_iter, tol, bounds=(None, None)):
    """Minimise a posterior energy of a stack of one image by L-BFGS."""
    shape = x0.shape

    def fun(flat):
        E, d = posterior(flat.reshape(shape))
        return float(E.sum()), d.ravel()

    result = lbfgs(fun, x0.ravel(), bounds=bounds, max_iter=max_iter, tol=tol,
                   max_fun=15000)
    return result.theta.reshape(shape)


# ---------------------------------------------------------------------- #
# Super-resolution
# ---------------------------------------------------------------------- #
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
        Tiles solved at once; None: as many as BLAS may use.

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
        return x + np.kron(low - _block_means(x, factor),
                           np.ones((factor, factor)))

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


# ---------------------------------------------------------------------- #
# Inpainting
# ---------------------------------------------------------------------- #
#: The prior weights that ``prior_weight='auto'`` of :func:`inpaint` chooses
#: from (0: the biharmonic fill).  The grid was chosen on the training and
#: calibration images of the pretrained prior's split; see the user guide.
PRIOR_WEIGHTS = (0.0, 3e-4, 1e-3, 3e-3, 1e-2)

#: Tiles of an image that ``prior_weight='auto'`` tries its weights on.
_MAX_TRIAL_TILES = 8


def inpaint(prior, images, masks, *, prior_weight="auto", smoothness=1.0,
            max_iter=300, tile_size=256, overlap=16, n_threads=None):
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
    for every image from the image itself: the known pixels under a shifted
    copy of the mask are hidden, filled with every weight of
    :data:`PRIOR_WEIGHTS`, and the weight that restores them best is kept.

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
        Tiles solved at once; None: as many as BLAS may use.

    Returns
    -------
    inpainted : list of ndarray of shape (height, width)
        One float64 image per input, the known pixels unchanged.
    """
    bounds = [(image[~mask].min(), image[~mask].max())
              for image, mask in zip(images, masks)]
    jobs = [job for job in _jobs(images, tile_size, overlap)
            if masks[job[0]][job[2]].any()]
    if prior_weight == "auto":
        if smoothness == 0:  # w only scales the energy: any w > 0 is one
            weights = [1.0] * len(images)
        else:
            weights = _held_out_weights(prior, images, masks, jobs, bounds,
                                        smoothness, max_iter, n_threads)
    else:
        weights = [prior_weight] * len(images)

    def solve(k, image, window, core, n_inner):
        i = jobs[k][0]
        x = _fill_window(prior, image[window], masks[i][window], weights[i],
                         smoothness, bounds[i], max_iter, n_inner)
        return x[_core_in(window, core)]

    out = [image.astype(np.float64) for image in images]
    return _solve_tiles(images, out, jobs, solve, n_threads)


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


def _held_out_weights(prior, images, masks, jobs, bounds, smoothness,
                      max_iter, n_threads):
    """For every image, the weight of :data:`PRIOR_WEIGHTS` that best fills
    known pixels hidden under a shifted copy of its mask.

    The weights are tried on at most :data:`_MAX_TRIAL_TILES` of an image's
    tiles, evenly spaced; an image with no pixel to hide gets the middle
    weight.
    """
    trials = []
    for i in range(len(images)):
        own = [job for job in jobs if job[0] == i]
        picks = np.unique(np.linspace(0, len(own) - 1,
                                      min(len(own), _MAX_TRIAL_TILES))
                          .round().astype(int)) if own else []
        trials += [own[p] for p in picks]
    errors = np.zeros((len(trials), len(PRIOR_WEIGHTS)))
    counted = np.zeros(len(trials), int)

    def solve(k, image, window, core, n_inner):
        i = trials[k][0]
        mask = masks[i][window]
        shift = (mask.shape[0] // 2 + 3, mask.shape[1] // 3 + 5)
        hidden = ~mask & np.roll(mask, shift, axis=(0, 1))
        if (mask | hidden).all():  # nothing would be left to fill from
            return image[window][_core_in(window, core)]
        counted_here = np.zeros_like(hidden)
        counted_here[_core_in(window, core)] = True
        counted_here &= hidden
        counted[k] = counted_here.sum()
        truth = image[window]
        for j, weight in enumerate(PRIOR_WEIGHTS if counted[k] else ()):
            x = _fill_window(prior, truth, mask | hidden, weight, smoothness,
                             bounds[i], max_iter, n_inner)
            errors[k, j] = np.sum((x - truth)[counted_here] ** 2)
        return truth[_core_in(window, core)]

    scratch = [np.empty(image.shape) for image in images]
    _solve_tiles(images, scratch, trials, solve, n_threads)
    weights = []
    for i in range(len(images)):
        own = [k for k, job in enumerate(trials) if job[0] == i]
        if counted[own].sum() == 0:
            weights.append(PRIOR_WEIGHTS[len(PRIOR_WEIGHTS) // 2])
        else:
            weights.append(PRIOR_WEIGHTS[int(np.argmin(
                errors[own].sum(axis=0)))])
    return weights


def _laplacian(shape):
    """The 5-point Laplacian with mirrored (Neumann) edges, sparse CSR."""
    from scipy import sparse

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
    from scipy.sparse.linalg import spsolve

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
