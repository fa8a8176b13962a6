r"""MAP estimates of clean rows under an energy on vectors (a PoE's denoise)."""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..energies.layers import split_exponent
from ..optim import lbfgs

__all__ = ["denoise_rows"]


def denoise_rows(energy, Y, sigma, *, mean, scale, box=None, max_iter=200,
                 tol=1e-6):
    r"""The MAP estimate of every row of ``Y`` under ``energy`` and white noise.

    Each row ``y`` becomes :math:`\arg\min_{x \in B} E((x - \mu) / s) +
    |y - x|^2 / (2 \sigma^2)`, found for all rows at once by L-BFGS(-B) on
    the (separable) sum of the per-row objectives, from ``y`` (clipped to
    :math:`B`), in the energy's units ``(x - mean) / scale`` (so that
    ``tol`` does not depend on the units of ``Y``).  Rows so far from the
    box that their posterior exceeds the float range are returned clipped
    to it (their nearest point in it), or unchanged without a box.

    Parameters
    ----------
    energy : sksm.energies.base.Energy
        The energy on rows ``(x - mean) / scale``, in float64.
    Y : ndarray of shape (n_samples, n_features)
        Noisy rows, float32 or float64.  Not modified.
    sigma : float
        Noise standard deviation, in the units of ``Y``.
    mean : ndarray of shape (n_features,)
        The energy's centre.
    scale : float
        The energy's unit, positive.
    box : tuple of (ndarray, ndarray) or None, default=None
        Lowest and highest value of every feature, or None for no bound.
    max_iter : int, default=200
        L-BFGS iterations.
    tol : float, default=1e-6
        L-BFGS tolerance.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        In the dtype of ``Y``.

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        If the posterior energy or its gradient became non-finite.
    """
    dtype = Y.dtype
    mean = mean.astype(np.float64)
    inv_var = (scale / sigma) ** 2
    with np.errstate(over="ignore", invalid="ignore"):
        Yu = (Y.astype(np.float64) - mean) / scale
        low = high = None
        if box is not None:
            low, high = ((b.astype(np.float64) - mean) / scale for b in box)
            outside = Yu - np.clip(Yu, low, high)
            data_term = inv_var * np.einsum("ij,ij->i", outside, outside)
    # Rows beyond the float range in those units (over 1e308 times the
    # training data's scale) are returned as they are, or clipped to the
    # box when their distance to it overflows the posterior: the estimate
    # is then the nearest point of the box.
    rows = np.isfinite(Yu).all(axis=1)
    if low is not None:
        rows &= np.isfinite(data_term)
    out = Y.astype(np.float64)
    if low is not None:
        out[~rows] = np.clip(out[~rows], *box)
    if not rows.any():
        return out.astype(dtype, copy=False)
    Yu = Yu[rows]

    def fun(flat):
        U = flat.reshape(Yu.shape)
        E, d = energy.grad_energy(*split_exponent(U))
        r = U - Yu
        loss = E.sum() + 0.5 * inv_var * np.vdot(r, r)
        return loss, (d + inv_var * r).ravel()

    bounds = (None, None)
    start = Yu.ravel()
    if low is not None:
        bounds = tuple(np.broadcast_to(b, Yu.shape).ravel()
                       for b in (low, high))
        start = np.clip(start, *bounds)
    result = lbfgs(fun, start, bounds=bounds, max_iter=max_iter, tol=tol,
                   max_fun=15000)
    if result.diverged:
        warnings.warn("denoise stopped early: the posterior energy or its "
                      "gradient became non-finite; the last finite "
                      "estimate is returned. Check that X is on the scale "
                      "of the training data.", ConvergenceWarning,
                      stacklevel=3)
    U = result.theta.reshape(Yu.shape)
    estimate = U * scale + mean
    if low is not None:
        # estimates on a bound are the bound, exactly (not the rounding of
        # the change of units)
        estimate = np.where(U <= low, box[0], np.where(
            U >= high, box[1], np.clip(estimate, *box)))
    out[rows] = estimate
    return out.astype(dtype, copy=False)
