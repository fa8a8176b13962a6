r"""Linear inverse problems under a noise-conditional prior.

An image ``x`` observed as :math:`y = A x + n`, with ``A`` a forward
operator (:mod:`._operators`: a blur, a downsampling, any object with
``apply``, ``adjoint`` and ``reach``) and white Gaussian noise of level
:math:`\sigma`, is restored by half-quadratic splitting (Geman and Yang,
1995; the "plug-and-play" scheme of Zhang et al., 2017): the posterior
:math:`\lVert A x - y \rVert^2 / (2 \sigma^2) + E(x)` is split with an
auxiliary image ``z`` held close to ``x`` by a weight that grows as the
levels :math:`\sigma_t` fall, and the two halves alternate:

- the data step, :math:`x = \arg\min \lVert A x - y\rVert^2 + \alpha_t
  \lVert x - z \rVert^2` with :math:`\alpha_t = \lambda \sigma^2 /
  \sigma_t^2`: conjugate gradients on :math:`(A^T A + \alpha_t I) x = A^T y
  + \alpha_t z`, preconditioned by the operator's ``gram_solve`` (the
  periodic operator solved by the FFT) when it has one;
- the prior step, ``z`` = the noise-conditional prior's posterior mean of
  ``x`` seen as an image with noise of level :math:`\sigma_t` (Tweedie's
  step, :math:`z = x - \sigma_t^2 \nabla E(x; \sigma_t)`).

An operator with a ``factor`` (the same on every window) is solved tile by
tile on the observation's grid, each tile with ``overlap`` observed pixels
of context, and with the pixels its observation depends on beyond that
(its ``reach``) estimated too: they are unknown, and so are the scene's
pixels beyond the image's edges (the observation of a photograph's edge
depends on what lay outside the frame), so no boundary rule is imposed on
the result.  Any other operator is applied as given, to the whole image.
"""

from inspect import signature

import numpy as np
from scipy.ndimage import zoom
from scipy.sparse.linalg import LinearOperator, cg

from ._operators import Compose, Mask
from ._tiles import _core_in, _extended_window, _jobs, _solve_tiles

# SciPy 1.12 renamed cg's relative tolerance from ``tol`` to ``rtol`` (and
# 1.14 removed ``tol``); the floor, 1.11, knows only ``tol``.
_CG_RTOL = "rtol" if "rtol" in signature(cg).parameters else "tol"

__all__ = ["DECONVOLVE_SCHEDULE", "INVERSE_OVERLAP", "SUPER_RESOLVE_SCHEDULE",
           "SUPER_RESOLVE_SIGMA",
           "half_quadratic_splitting", "hqs_levels"]

#: Deconvolution's schedule for :func:`half_quadratic_splitting`: the
#: first level, the number of levels (falling geometrically to the noise
#: level), the weight :math:`\lambda` and the estimate returned.  Chosen on
#: the calibration crops of the pretrained prior's split (Gaussian and
#: motion blurs with 1% noise; see the user guide), with the number of
#: levels bounded by the time (each level costs about one denoising step).
#: A weight of at least 1/4 keeps the noise that a data step passes on at
#: or below the next level: the step amplifies noise of level ``sigma`` by
#: at most :math:`1 / (2 \sqrt{\alpha_t})`, which is :math:`\sigma_t /
#: (2 \sigma \sqrt{\lambda})`; below it, motion blurs broke down on the
#: calibration crops (at 0.1).
DECONVOLVE_SCHEDULE = {"first_level": 35 / 255, "last_level": None,
                       "n_levels": 6, "weight": 0.25, "output": "prior"}
#: Super-resolution's schedule when no noise level is given, as
#: :data:`DECONVOLVE_SCHEDULE`, and the noise level it takes: the geometric
#: levels stop at ``last_level``, and one more step, at the rounding of
#: 8-bit pixels (``SUPER_RESOLVE_SIGMA``), removes what the nearly exact
#: data steps made of that rounding.  Chosen on the calibration crops of
#: the pretrained prior's split (shrunk by Pillow's bicubic resize by 2, 3
#: and 4 and rounded to 8 bits; see the user guide).  With a noise level,
#: super-resolution takes :data:`DECONVOLVE_SCHEDULE`.
SUPER_RESOLVE_SCHEDULE = {"first_level": 0.05, "last_level": 3 / 255,
                          "n_levels": 6, "weight": 0.01, "output": "prior"}
SUPER_RESOLVE_SIGMA = 0.5 / 255
#: Pixels of context, on the grid of the restored image, around a tile of
#: :func:`half_quadratic_splitting` (``INVERSE_OVERLAP / factor`` observed
#: pixels, rounded up): with tiles of 512, the result changes by 0.05 of the
#: [0, 1] scale at worst and its PSNR by 0.01 dB (a 13-pixel motion blur,
#: 1000x1000).
INVERSE_OVERLAP = 32


def hqs_levels(first, sigma, n_levels, last=None):
    """The levels of :func:`half_quadratic_splitting`, falling geometrically.

    Parameters
    ----------
    first : float
        The first level, positive (``sigma`` if that is larger).
    sigma : float
        The observation's noise level, positive: the last level.
    n_levels : int
        The number of levels down to ``last``, at least 1.
    last : float, default=None
        The last of the geometric levels, if above ``sigma``: one more
        level at ``sigma`` then follows.  None: ``sigma``.

    Returns
    -------
    levels : ndarray of shape (n_levels,) or (n_levels + 1,)
        From ``max(first, sigma)`` to ``sigma``.
    """
    last = sigma if last is None else max(last, sigma)
    levels = np.geomspace(max(first, last), last, n_levels)
    return levels if last == sigma else np.append(levels, sigma)


def _data_step(operator, rhs, alpha, x, n_iter, precondition=None):
    """``n_iter`` conjugate-gradient iterations on ``(A^T A + alpha I) x =
    rhs`` from ``x``, preconditioned by ``precondition(v, alpha)``, in the
    dtype of ``x``."""
    shape, dtype = x.shape, x.dtype
    alpha = dtype.type(alpha)

    def normal(v):
        v = v.reshape(shape)
        return (operator.adjoint(operator.apply(v)) + alpha * v).astype(
            dtype, copy=False).ravel()

    n = x.size
    gram = LinearOperator((n, n), matvec=normal, dtype=dtype)
    inverse = None
    if precondition is not None:
        inverse = LinearOperator(
            (n, n), dtype=dtype,
            matvec=lambda v: precondition(v.reshape(shape), alpha).astype(
                dtype, copy=False).ravel())
    solution, _ = cg(gram, rhs.astype(dtype, copy=False).ravel(),
                     x0=x.ravel(), M=inverse, maxiter=n_iter, atol=0.0,
                     **{_CG_RTOL: 1e-8})
    return solution.reshape(shape).astype(dtype, copy=False)


def _prior_gradient(field, x, level, table):
    """The prior's gradient at ``x``, every pixel seeing whole filters (the
    image reflected about its edges), in the field's dtype."""
    pad = field.size - 1
    extended = np.pad(x, pad, mode="reflect").astype(field.dtype, copy=False)
    step = field.grad_tabulated(extended, level, table)
    return step[pad:-pad, pad:-pad]


def _start(y, factor):
    """The first estimate: the observation, or its cubic spline upscaling
    aligned with the block grid."""
    if factor == 1:
        return y.copy()
    return zoom(y, factor, order=3, mode="reflect", grid_mode=True)


def half_quadratic_splitting(field, observations, operator, sigma, *, levels,
                             weight, output="prior", cg_iter=3, tile_size=128,
                             overlap=None, n_threads=None):
    r"""Restore images observed through a linear operator with white noise.

    Parameters
    ----------
    field : NoiseConditionalField
        The prior, on the [0, 1] scale of the pixels.
    observations : list of ndarray
        Observed float images on that scale, each of the shape
        ``operator.apply`` gives.
    operator : forward operator
        ``apply``, ``adjoint`` and ``reach`` (see :mod:`._operators`), and
        optionally ``factor`` (tiles) and ``gram_solve`` (preconditioner).
    sigma : float
        The observation's noise level on that scale, positive.
    levels : array-like of float
        The levels :math:`\sigma_t` of the prior steps, in order, positive.
    weight : float
        :math:`\lambda`, positive: the data step's weight on ``z`` is
        :math:`\lambda \sigma^2 / \sigma_t^2`.
    output : {'prior', 'data'}, default='prior'
        The estimate returned: 'prior', the last prior step's ``z`` (the
        posterior mean of the last data step's image at the last level);
        'data', the last data step's ``x``, which follows the observation
        more closely.
    cg_iter : int, default=3
        Conjugate-gradient iterations of each data step.
    tile_size : int or None, default=128
        Largest side of a tile's core, in observed pixels; None, or an
        operator without ``factor``: each image whole.
    overlap : int, default=None
        Observed pixels of context on every side of a tile; None:
        :data:`INVERSE_OVERLAP` pixels of the restored image.
    n_threads : int, default=None
        Tiles at once; see :func:`~sksm.posterior.empirical_bayes`.

    Returns
    -------
    restored : list of ndarray
        One float64 image per observation, of the operator's input shape
        (``factor`` times the observation's along each side), not clipped.
    """
    levels = np.asarray(levels, dtype=np.float64)
    tables = [field.score_table(s) for s in levels]
    # the data steps run in the prior's precision (float32 for the
    # pretrained prior: the FFT twice as fast, and 3 CG iterations are far
    # from its rounding)
    dtype = np.dtype(np.float32 if field.dtype == np.float32
                     else np.float64)
    factor = getattr(operator, "factor", None)
    precondition = getattr(operator, "gram_solve", None)
    if factor is None:
        tile_size, overlap = None, 0
    elif overlap is None:
        overlap = -(-INVERSE_OVERLAP // factor)
    # windows of the tiles with their context, inside the image
    jobs = _jobs(observations, tile_size, overlap)

    def solve(k, image, window, core, n_inner):
        if factor is None:    # the operator as given, on the whole image
            y, grow, scale = np.asarray(image, dtype=dtype), 0, None
            forward = operator
        else:
            # the window grown by the operator's reach: the pixels there
            # are unknown (masked out of the data), so that neither a
            # tile's edges nor the image's impose a boundary rule on the
            # scene beyond them
            scale = factor
            grow = -(-operator.reach // factor)
            y, _ = _extended_window(image, window, grow, symmetric=True)
            y = y.astype(dtype)
            seen = np.zeros(y.shape, dtype=bool)
            seen[grow:y.shape[0] - grow, grow:y.shape[1] - grow] = True
            forward = Compose(Mask(seen), operator)
        target = forward.adjoint(y).astype(dtype, copy=False)
        scale = scale or target.shape[0] // y.shape[0]
        x = _start(y, scale)
        z = x
        for level, table in zip(levels, tables):
            alpha = dtype.type(weight * sigma * sigma / (level * level))
            x = _data_step(forward, target + alpha * z, alpha, x, cg_iter,
                           precondition)
            z = x - dtype.type(level * level) * _prior_gradient(
                field, x, level, table)
        if output == "data":
            z = x
        edge = grow * scale
        inner = z[edge:z.shape[0] - edge, edge:z.shape[1] - edge]
        return inner[_core_in(window, core, scale)]

    if factor is None:
        return [solve(k, observations[i], window, core, 1)
                for k, (i, window, core) in enumerate(jobs)]
    out = [np.empty((y.shape[0] * factor, y.shape[1] * factor))
           for y in observations]
    return _solve_tiles(observations, out, jobs, solve, n_threads)
