"""Tiles: an image cut into overlapping windows, each solved in a thread.

Every restoration of :mod:`sksm.posterior` solves each image of a stack,
and each tile of a large image, as a problem of its own: the image is cut
into tiles of at most ``tile_size`` pixels a side, each solved with
``overlap`` pixels of context on every side and only its core kept.  The
tiles go to threads through :class:`joblib.Parallel`, as scikit-learn's
parallel work does, so that :func:`joblib.parallel_config` sets their
number (``n_jobs``) and thread-based backend; by default, as many threads
as BLAS may use.
"""

import math

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from joblib.parallel import get_active_backend

from .. import _progress
from .._parallel import blas_threads, single_threaded_blas

__all__ = ["tiles"]


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


def _reflect_index(indices, length, symmetric=False):
    """``indices`` reflected into ``[0, length)``.

    As ``numpy.pad``'s 'reflect' mode (the edge pixel is not repeated), or
    with ``symmetric`` its 'symmetric' mode (the edge pixel repeated: the
    mirror lies on the image's edge, not on its last pixel).
    """
    if symmetric:
        idx = np.where(indices < 0, -1 - indices, indices) % (2 * length)
        return np.where(idx >= length, 2 * length - 1 - idx, idx)
    idx = np.abs(indices)
    period = 2 * (length - 1)
    if period == 0:
        return np.zeros_like(idx)
    idx = idx % period
    return np.where(idx >= length, period - idx, idx)


def _extended_window(image, window, pad, symmetric=False):
    """The window grown by ``pad`` on every side, reflected beyond the image
    (see :func:`_reflect_index`).

    Returns the pixels and a boolean map of those that lie in the image.
    """
    rows, cols = window
    height, width = image.shape
    r = np.arange(rows.start - pad, rows.stop + pad)
    c = np.arange(cols.start - pad, cols.stop + pad)
    pixels = image[np.ix_(_reflect_index(r, height, symmetric),
                          _reflect_index(c, width, symmetric))]
    inside = ((r >= 0) & (r < height))[:, None] & ((c >= 0) & (c < width))
    return pixels.astype(np.float64, copy=False), inside


def _n_jobs(n_threads):
    """Threads for the tiles: ``n_threads``, else the ``n_jobs`` of an
    enclosing :func:`joblib.parallel_config`, else as many as BLAS may
    use."""
    if n_threads is not None:
        return n_threads
    configured = get_active_backend()[1]
    if configured is None:
        return blas_threads()
    return effective_n_jobs(configured)


def _solve_tiles(images, out, jobs, solve, n_threads=None):
    """Run ``solve(k, image, window, core, n_inner)`` for every job, in threads.

    ``jobs`` are ``(image index, window, core)``; ``solve`` returns the core's
    result, written into ``out[image index][core]`` (unless ``out`` is None)
    as the results come in, in the order of the jobs, so that nothing
    depends on the threads' timing.  The jobs go to ``n_threads`` threads
    (None: see :func:`_n_jobs`) of a :class:`joblib.Parallel` that needs
    shared memory (``solve`` may write into arrays of its caller): a
    process-based backend set by :func:`joblib.parallel_config` gives way
    to threads.  Each thread evaluates with ``n_inner`` threads of its own
    (the threads left over when there are fewer jobs than threads) and
    single-threaded BLAS.  Progress goes to the active :mod:`sksm._progress`
    reporter.
    """
    n_threads = _n_jobs(n_threads)
    n_outer = max(1, min(n_threads, len(jobs)))
    n_inner = max(1, n_threads // n_outer)
    errors = np.geterr()  # worker threads do not inherit np.errstate

    def work(k):
        i, window, core = jobs[k]
        with np.errstate(**errors):
            return solve(k, images[i], window, core, n_inner)

    reporter = _progress.current()
    reporter.start(len(jobs))
    with single_threaded_blas():
        if n_outer == 1:
            results = map(work, range(len(jobs)))
        else:
            results = Parallel(n_jobs=n_outer, require="sharedmem",
                               return_as="generator")(
                delayed(work)(k) for k in range(len(jobs)))
        for (i, _, core), result in zip(jobs, results):
            if out is not None:
                out[i][_scaled(core, out[i].shape, images[i].shape)] = result
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
