r"""Denoising with a noise-conditional prior: empirical-Bayes steps.

The noise level itself can be read off the prior (:func:`estimate_noise`).

Tweedie's formula gives the posterior mean of a clean image under Gaussian
noise of level :math:`\sigma` from the score of the *noisy* density,
:math:`\hat x = y - \sigma^2 \nabla E(y; \sigma)`, which a
noise-conditional energy (:class:`~sksm.energies.NoiseConditionalField`)
models at every level.  One step is the one-step empirical-Bayes estimate;
the annealed schedule takes it again on its own output at geometrically
decreasing levels :math:`\sigma_t = \sigma \rho^t`, treating what the last
step left as noise of the next level.

:func:`annealed_super_resolve` and :func:`annealed_inpaint` run such
steps under a constraint, from a start that meets it: after every step the
estimate is projected back onto the images that agree with the observation
(every block keeps its mean; the known pixels keep their values).
"""

import numpy as np
from scipy.ndimage import zoom
from scipy.optimize import brentq

from ..image import estimate_sigma

from ._fill import _back_project, _trial_windows, biharmonic_fill
from ._tiles import _core_in, _extended_window, _jobs, _solve_tiles

__all__ = ["FILL_LEVELS", "FILL_OVERLAP", "FILL_STEP", "FILL_STEPS",
           "INPAINT_FIRST_LEVELS", "INPAINT_OVERLAP", "annealed_inpaint",
           "annealed_super_resolve", "empirical_bayes", "estimate_noise",
           "schedule"]

#: The annealed steps of :func:`annealed_super_resolve`: ``FILL_STEPS``
#: levels from ``FILL_LEVELS[0]`` down to ``FILL_LEVELS[1]`` (geometric),
#: each step ``FILL_STEP`` times Tweedie's.  Chosen on the calibration crops
#: of the pretrained prior's split (2x block means); see the user guide.
FILL_LEVELS = (0.1, 0.003)
FILL_STEPS = 20
FILL_STEP = 1.5
#: Low-resolution pixels of context around a tile of
#: :func:`annealed_super_resolve`: with 16, tiles change the result by less
#: than 1e-6 (the influence of a pixel fades within a few filter widths).
FILL_OVERLAP = 16
#: Pixels of context around a tile of :func:`annealed_inpaint`: a hole's
#: fill reaches further than a block's, so twice ``FILL_OVERLAP``.
INPAINT_OVERLAP = 2 * FILL_OVERLAP
#: The first levels :func:`annealed_inpaint` chooses from for each image
#: (0: the biharmonic fill alone); chosen on the calibration images of the
#: pretrained prior's split, see the user guide.
INPAINT_FIRST_LEVELS = (0.0, 0.01, 0.03, 0.1)


def schedule(sigma, n_steps, decay):
    """The noise levels of the annealed steps.

    Parameters
    ----------
    sigma : float
        Noise level of the observation.
    n_steps : int
        Number of steps, at least 1.
    decay : float
        Ratio of consecutive levels, in (0, 1].

    Returns
    -------
    levels : ndarray of shape (n_steps,)
        ``sigma * decay**t``.
    """
    return sigma * decay ** np.arange(n_steps)


def empirical_bayes(field, images, sigma, *, n_steps=1, decay=0.3,
                    tile_size=256, n_threads=None):
    r"""Denoise images by (annealed) empirical-Bayes steps.

    Every image is extended by reflection by ``n_steps (size - 1)`` pixels,
    the reach of the steps, so that border pixels see whole filters; then
    :math:`x_{t+1} = x_t - \sigma_t^2 \nabla E(x_t; \sigma_t)` from
    :math:`x_0 = y` at the levels of :func:`schedule`.

    Parameters
    ----------
    field : NoiseConditionalField
        The prior, on the [0, 1] scale of the pixels.
    images : list of ndarray of shape (height, width)
        Noisy float images on the [0, 1] scale.
    sigma : float
        Noise standard deviation on that scale.
    n_steps : int, default=1
        Steps of the schedule; 1 is the one-step estimate.
    decay : float, default=0.3
        Ratio of the levels of consecutive steps.
    tile_size : int or None, default=256
        Largest side of a tile's core (see
        :func:`~sksm.posterior._tiles.tiles`); the tiles overlap by the
        steps' reach, so the result does not depend on it.
    n_threads : int, default=None
        Tiles at once; None: joblib's ``n_jobs``, else BLAS's threads.

    Returns
    -------
    denoised : list of ndarray of shape (height, width)
        One float64 estimate per image, not clipped.
    """
    levels = schedule(sigma, n_steps, decay)
    tables = [field.score_table(s) for s in levels]
    pad = n_steps * (field.size - 1)
    # each tile is its core grown by the steps' reach: neighbouring pixels
    # inside the image, reflected beyond it
    jobs = _jobs(images, tile_size, 0)

    def solve(k, image, window, core, n_inner):
        x, _ = _extended_window(image, window, pad)
        x = x.astype(field.dtype)
        for level, table in zip(levels, tables):
            step = field.grad_tabulated(x, level, table)
            step *= field.dtype.type(level * level)
            x = x - step
        inner = x[pad:-pad or None, pad:-pad or None]
        return inner[_core_in(window, core)].astype(np.float64)

    out = [np.empty(image.shape) for image in images]
    return _solve_tiles(images, out, jobs, solve, n_threads)


def _sample_windows(image, size, n_pixels, rng):
    """Up to ``n_pixels`` of ``image`` as square windows of side ``size``
    (the whole image when it is smaller)."""
    height, width = image.shape
    if height * width <= n_pixels or min(height, width) <= size:
        return [image]
    count = max(1, n_pixels // (size * size))
    tops = rng.integers(0, height - size + 1, count)
    lefts = rng.integers(0, width - size + 1, count)
    return [image[t:t + size, u:u + size] for t, u in zip(tops, lefts)]


def estimate_noise(field, image, sigma_range=(0.5 / 255, 100 / 255),
                   n_pixels=65536, random_state=0):
    r"""Estimate the level of white Gaussian noise of an image from the prior.

    The level at which the score-matching identity
    :math:`\sum_j (\partial_j E)^2 = \sum_j \partial_j^2 E` holds over the
    image (:meth:`~sksm.energies.NoiseConditionalField.score_balance`),
    found by Brent's method on :math:`\log \sigma`.  On large images the
    sums run over windows of 128x128 at random positions covering about
    ``n_pixels``.

    Parameters
    ----------
    field : NoiseConditionalField
        The prior, on the [0, 1] scale.
    image : ndarray of shape (height, width)
        The noisy image on that scale.
    sigma_range : tuple of (float, float), default=(0.5/255, 100/255)
        The levels searched.
    n_pixels : int, default=65536
        Pixels the sums cover on large images.
    random_state : int, default=0
        Seeds the windows' positions.

    Returns
    -------
    sigma : float
        The estimate, clipped to ``sigma_range`` when the identity holds
        nowhere inside it (an image with less noise than its lower end, or
        more than its upper end).
    """
    windows = _sample_windows(np.asarray(image, dtype=field.dtype), 128,
                              n_pixels, np.random.default_rng(random_state))
    # padded by reflection, so that every pixel gets whole filters
    pad = field.size - 1
    stack = np.stack([np.pad(w, pad, mode="reflect") for w in windows])

    def balance(log_sigma):
        return field.score_balance(stack, float(np.exp(log_sigma)))

    low, high = np.log(sigma_range[0]), np.log(sigma_range[1])
    # a bracket around the classical estimate first (a few evaluations),
    # then the whole range
    guess = np.log(max(estimate_sigma(np.asarray(image, dtype=np.float64)),
                       sigma_range[0]))
    for a, b in ((max(guess - 0.4, low), min(guess + 0.4, high)),
                 (low, high)):
        f_a, f_b = balance(a), balance(b)
        if f_a > 0 > f_b:
            return float(np.exp(brentq(balance, a, b, xtol=2e-3)))
    if f_a <= 0:
        return float(sigma_range[0])
    return float(sigma_range[1])


def _projected_steps(field, x, sigmas, tables, step, project):
    """Annealed empirical-Bayes steps, each followed by ``project``."""
    for sigma, table in zip(sigmas, tables):
        grad = field.grad_tabulated(x.astype(field.dtype), sigma, table)
        x = project(x - (step * sigma * sigma) * grad)
    return x


def annealed_super_resolve(field, images, factor, *, n_steps=FILL_STEPS,
                           levels=FILL_LEVELS, step=FILL_STEP,
                           tile_size=128, overlap=FILL_OVERLAP,
                           n_threads=None):
    r"""Upscale images of block means by projected, annealed empirical Bayes.

    The start is the cubic spline upscaling aligned with the block grid,
    projected onto the images whose ``factor`` x ``factor`` blocks average
    to the observed pixels (every block shifted by its error: bicubic with
    back-projection).  Each of ``n_steps`` steps at levels
    :math:`\sigma_t` falling geometrically over ``levels`` then moves
    :math:`x \leftarrow x - \gamma \sigma_t^2 \nabla E(x; \sigma_t)` and
    projects again, so the result keeps every block mean exactly.

    Parameters
    ----------
    field : NoiseConditionalField
        The prior, on the [0, 1] scale of the pixels.
    images : list of ndarray of shape (height, width)
        Low-resolution float images on that scale.
    factor : int
        Upscaling factor per side, at least 2.
    n_steps : int, default=FILL_STEPS
        Annealed steps; 0 returns the projected start.
    levels : tuple of (float, float), default=FILL_LEVELS
        The first and last levels :math:`\sigma_t`, positive.
    step : float, default=FILL_STEP
        :math:`\gamma`, the step as a multiple of Tweedie's.
    tile_size : int or None, default=128
        Largest side of a tile's core, in low-resolution pixels.
    overlap : int, default=FILL_OVERLAP
        Low-resolution pixels of context on every side of a tile (mirrored
        about the image's edges beyond it).  The steps' worst-case reach is
        far larger, but their influence fades within a few filter widths.
    n_threads : int, default=None
        Tiles at once; see :func:`empirical_bayes`.

    Returns
    -------
    upscaled : list of ndarray of shape (height * factor, width * factor)
        One float64 image per input, whose block means equal its pixels.
    """
    sigmas = np.geomspace(levels[0], levels[1], n_steps)
    tables = [field.score_table(s) for s in sigmas]
    jobs = _jobs(images, tile_size, 0)

    def solve(k, image, window, core, n_inner):
        # mirrored about the edge: a block beyond it mirrors a whole block
        low, _ = _extended_window(image, window, overlap, symmetric=True)

        def project(x):
            return _back_project(x, low, factor)

        x = project(zoom(low, factor, order=3, mode="reflect",
                         grid_mode=True))
        x = _projected_steps(field, x, sigmas, tables, step, project)
        edge = overlap * factor
        inner = x[edge:x.shape[0] - edge, edge:x.shape[1] - edge]
        return inner[_core_in(window, core, factor)]

    out = [np.empty((im.shape[0] * factor, im.shape[1] * factor))
           for im in images]
    return _solve_tiles(images, out, jobs, solve, n_threads)


def _fill_levels(first, n_steps, levels):
    """The levels of an inpainting that starts at ``first`` (0: none)."""
    if first == 0:
        return np.empty(0)
    return np.geomspace(first, min(first, levels[1]), n_steps)


def _tables(field, schedules):
    """:meth:`score_table` at every level of the ``schedules`` (made before
    the tiles' threads start)."""
    return {s: field.score_table(s) for levels in schedules for s in levels}


def _inpaint_window(field, image, mask, sigmas, tables, step):
    """Biharmonic fill of one window, then projected steps that keep its
    known pixels (``tables`` holds every level's)."""
    start = biharmonic_fill(image, mask)
    return _projected_steps(field, start, sigmas,
                            [tables[s] for s in sigmas], step,
                            lambda x: np.where(mask, x, start))


def annealed_inpaint(field, images, masks, *, first_level="auto",
                     n_steps=FILL_STEPS, levels=FILL_LEVELS, step=FILL_STEP,
                     tile_size=256, overlap=INPAINT_OVERLAP, n_threads=None,
                     return_levels=False):
    r"""Fill the pixels where a mask is True by annealed empirical Bayes.

    From the biharmonic fill (:func:`biharmonic_fill`), ``n_steps`` steps
    :math:`x \leftarrow x - \gamma \sigma_t^2 \nabla E(x; \sigma_t)` at
    levels falling geometrically from ``first_level`` to ``levels[1]``,
    each followed by putting the known pixels back.  Smooth content is best
    left to the biharmonic fill (the prior draws texture into wide holes),
    so by default the first level is chosen for each image from the image
    itself: known pixels hidden under a shifted copy of its mask, on a
    sample of windows, are filled from every level of
    :data:`INPAINT_FIRST_LEVELS` (0: the biharmonic fill alone), and the
    level that restores them best is used.

    Parameters
    ----------
    field : NoiseConditionalField
        The prior, on the [0, 1] scale of the pixels.
    images : list of ndarray of shape (height, width)
        Float images on that scale; the missing pixels' values are ignored.
    masks : list of bool ndarray of the same shapes
        True where a pixel is missing; every image has a known pixel.
    first_level : float or 'auto', default='auto'
        The first level (0: no step).
    n_steps : int, default=FILL_STEPS
        Steps from a first level above 0.
    levels : tuple of (float, float), default=FILL_LEVELS
        Only ``levels[1]``, the last level, is used.
    step : float, default=FILL_STEP
        The step as a multiple of Tweedie's.
    tile_size : int or None, default=256
        Largest side of a tile's core.
    overlap : int, default=INPAINT_OVERLAP
        Pixels of context on every side of a tile (mirrored about the
        image's edges); a tile with no known pixel in it is grown until it
        has one.
    n_threads : int, default=None
        Tiles at once; see :func:`empirical_bayes`.
    return_levels : bool, default=False
        Also return the first level of every image.

    Returns
    -------
    inpainted : list of ndarray of shape (height, width)
        One float64 image per input, the known pixels unchanged.
    first_levels : list of float
        Only with ``return_levels=True``.
    """
    masks = [np.asarray(m, dtype=bool) for m in masks]
    if any(m.all() for m in masks):
        raise ValueError("A mask covers every pixel of its image: nothing "
                         "to start from.")
    if isinstance(first_level, str):
        firsts = _held_out_levels(field, images, masks, n_steps, levels,
                                  step, n_threads)
    else:
        firsts = [float(first_level)] * len(images)
    schedules = {f: _fill_levels(f, n_steps, levels) for f in set(firsts)}
    tables = _tables(field, schedules.values())
    jobs = [job for job in _jobs(images, tile_size, 0)
            if masks[job[0]][job[2]].any()]

    def solve(k, image, window, core, n_inner):
        i = jobs[k][0]
        pad = overlap
        while True:   # grown until the window holds a known pixel
            x, _ = _extended_window(image, window, pad, symmetric=True)
            hole, _ = _extended_window(masks[i], window, pad, symmetric=True)
            if not hole.all():
                break
            pad = 2 * pad + 1
        x = _inpaint_window(field, x, hole > 0, schedules[firsts[i]],
                            tables, step)
        inner = x[pad:x.shape[0] - pad, pad:x.shape[1] - pad]
        return inner[_core_in(window, core)]

    out = [np.asarray(image, dtype=np.float64).copy() for image in images]
    out = _solve_tiles(images, out, jobs, solve, n_threads)
    return (out, firsts) if return_levels else out


def _held_out_levels(field, images, masks, n_steps, levels, step,
                     n_threads):
    """For every image, the level of :data:`INPAINT_FIRST_LEVELS` that best
    fills known pixels hidden under a shifted copy of its mask (the windows
    of :func:`~sksm.posterior._fill._trial_windows`); an image with no
    pixel to hide gets the biharmonic fill."""
    trials, hidden, counted = _trial_windows(images, masks, FILL_OVERLAP)
    owner = np.array([job[0] for job in trials], int)
    errors = np.zeros((len(trials), len(INPAINT_FIRST_LEVELS)))
    schedules = [_fill_levels(f, n_steps, levels)
                 for f in INPAINT_FIRST_LEVELS]
    tables = _tables(field, schedules)

    def solve(k, image, window, core, n_inner):
        truth = image[window].astype(np.float64)
        holes = masks[owner[k]][window] | hidden[k]
        for j, sigmas in enumerate(schedules):
            x = _inpaint_window(field, truth, holes, sigmas, tables, step)
            errors[k, j] = np.sum((x - truth)[counted[k]] ** 2)

    _solve_tiles(images, None, trials, solve, n_threads)
    return [float(INPAINT_FIRST_LEVELS[int(np.argmin(
        errors[owner == i].sum(axis=0)))]) if np.any(owner == i) else 0.0
        for i in range(len(images))]
