r"""Denoising: the posterior of an image observed with white Gaussian noise.

:math:`w E(x) + \lVert x - y\rVert^2 / (2\sigma^2)`, minimised by FISTA,
L-BFGS or the paper's annealed steepest descent (MAP), or averaged by a
Metropolis-adjusted Langevin chain (MMSE).
"""

import numpy as np
from sklearn.utils import check_random_state

from ..optim import lbfgs
from ..sampling import run_mcmc
from ._tiles import _core_in, _extended_window, _jobs, _solve_tiles

__all__ = ["denoise"]


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
        Tiles solved at once; None: the ``n_jobs`` of an enclosing
        :func:`joblib.parallel_config`, else as many as BLAS may use.

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
