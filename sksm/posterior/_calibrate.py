"""Calibration: the prior weight and scale of denoising for each noise level.

A prior learned by score matching is not tuned for any noise level: for
each level, seeded noise is added to clean images, they are denoised with
candidate (weight, scale) pairs, and the pair of the highest mean PSNR is
kept.
"""

import numpy as np

from .. import _progress
from ..image import psnr
from ._denoise import denoise

__all__ = ["calibrate_denoising"]


def _grid_maximum(score, n_rows, n_cols):
    """The (i, j) of the highest ``score(i, j)`` over the whole grid."""
    scores = {(i, j): score(i, j) for j in range(n_cols) for i in range(n_rows)}
    return max(scores, key=scores.get)


def _local_maximum(score, n_rows, n_cols, start):
    """Climb from ``start`` to the best of the eight neighbours until none is
    better; every ``score(i, j)`` is evaluated once."""
    scores = {}

    def value(cell):
        if cell not in scores:
            scores[cell] = score(*cell)
        return scores[cell]

    current = start
    while True:
        i, j = current
        cells = [(i + a, j + b) for a in (-1, 0, 1) for b in (-1, 0, 1)
                 if 0 <= i + a < n_rows and 0 <= j + b < n_cols]
        best = max(cells, key=value)
        if value(best) <= value(current):
            return current
        current = best


def calibrate_denoising(priors, scales, clean, sigmas, weights, rng, *,
                        method="fista", max_iter=None, self_ensemble=1,
                        search="local", overlap=16):
    """Choose the prior weight and scale of :func:`denoise` per noise level.

    Parameters
    ----------
    priors : list of ImagePrior
        The prior at every candidate scale.
    scales : list of float
        Those scales, in increasing order (for the progress notes).
    clean : list of ndarray of shape (height, width)
        Clean float64 images.
    sigmas : list of float
        Noise levels, in increasing order.
    weights : list of float
        Candidate prior weights, in increasing order.
    rng : numpy.random.RandomState
        Draws the noise (all of one level's images, level after level).
    method : {'fista', 'lbfgs', 'paper'}, default='fista'
        The method of :func:`denoise`.
    max_iter : int, default=None
        Its iterations (None: its default).
    self_ensemble : {1, 2, 4, 8}, default=1
        Its self-ensemble.
    search : {'local', 'grid'}, default='local'
        'grid' tries every pair.  'local' climbs the grid of pairs from the
        best pair of the previous noise level (the middle of the grid for
        the first) to the best of the eight neighbours, until no neighbour
        is better.
    overlap : int, default=16
        Context of the tiles (see :func:`~sksm.posterior.tiles`).

    Returns
    -------
    best : list of tuple of (int, int)
        For every noise level, the indices of the best weight and scale.
    """
    reporter = _progress.current()
    reporter.start(len(sigmas))
    table, best = [], None
    for sigma in sigmas:
        noisy = [x + sigma * rng.standard_normal(x.shape) for x in clean]

        def score(i, j):
            with _progress.silenced():
                out = denoise(priors[j], noisy, sigma, method=method,
                              prior_weight=weights[i], max_iter=max_iter,
                              self_ensemble=self_ensemble, overlap=overlap)
            return np.mean([psnr(x, y) for x, y in zip(clean, out)])

        if search == "grid":
            best = _grid_maximum(score, len(weights), len(priors))
        else:
            if best is None:
                best = (len(weights) // 2, len(priors) // 2)
            best = _local_maximum(score, len(weights), len(priors), best)
        table.append(best)
        reporter.note(f"sigma {sigma:.3g}: weight {weights[best[0]]:.3g}, "
                      f"scale {scales[best[1]]:.3g}")
        reporter.update()
    return table
