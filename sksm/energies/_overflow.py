"""Samples near the float maximum: mantissas and exponents.

Energies evaluate such samples through their mantissas, so that the
answers stay finite where the float range allows (see
:func:`split_exponent`); :mod:`sksm.energies.layers` uses and exports them.
"""

import numpy as np

__all__ = ["patch_overflow", "rescaled", "split_exponent"]


def split_exponent(X, offset=None, scale=1.0):
    """Split samples into mantissas and power-of-two exponents, if large.

    Filter responses of inputs near the float maximum overflow (and sums of
    them can give NaN) although the energy of a Student-t expert stays
    finite.  Every sample whose largest magnitude, or that of ``offset``,
    exceeds the square root of the float maximum is divided by a power of
    two ``2**k`` that brings it below 1; responses of the mantissas cannot
    overflow, and the networks below take ``k`` to evaluate the experts at
    the true responses (:meth:`EnergyNetwork.forward`).

    Parameters
    ----------
    X : ndarray of float, shape (n_samples, ...)
        The samples, as rows.
    offset : ndarray of float broadcastable to ``X[0]``, default=None
        Subtracted from every sample (the mean of a Product of Experts).
    scale : float, default=1.0
        Positive; the samples are divided by it after the offset (the
        input scale of a Product of Experts).

    Returns
    -------
    mantissa : ndarray like ``X``
        ``(X - offset) / scale * 2**-k`` sample by sample; exactly
        ``(X - offset) / scale`` when no sample is large.
    exponent : ndarray of int of shape (n_samples,) or None
        ``k``; None when every sample is left as it is.
    """
    limit = np.sqrt(np.finfo(X.dtype).max)
    bound = 0.0 if offset is None else np.abs(offset).max(initial=0)
    scale_mantissa, scale_exponent = np.frexp(scale)
    if (X.size == 0 or max(X.max(), -X.min(), bound) <= limit) and (
            abs(scale_exponent) <= 64):
        # the common case, in two passes without a temporary
        out = X if offset is None else X - offset
        return (out if scale == 1 else out / X.dtype.type(scale)), None
    size = np.maximum(np.abs(X).reshape(len(X), -1).max(axis=1), bound)
    exponent = np.where(size > limit, np.frexp(size)[1], 0)
    k = _per_sample(exponent, X.ndim)
    mantissa = np.ldexp(X, -k).astype(X.dtype, copy=False)
    if offset is not None:
        mantissa -= np.ldexp(offset, -k).astype(X.dtype, copy=False)
    if scale == 1:
        return mantissa, exponent
    mantissa /= X.dtype.type(scale_mantissa)  # in [0.5, 1): no overflow
    return mantissa, exponent - scale_exponent


def _per_sample(exponent, ndim):
    return exponent.reshape((-1,) + (1,) * (ndim - 1))


def rescaled(h, exponent):
    """``h * 2**exponent`` sample by sample, overflowing to inf (never NaN)."""
    with np.errstate(over="ignore"):
        return np.ldexp(h, _per_sample(exponent, h.ndim)).astype(
            h.dtype, copy=False)


def patch_overflow(expert, g, h, z, exponent):
    """Replace, in place, the values ``g = g(z)`` where ``z = rescaled(h,
    exponent)`` overflowed by the expert's ``scaled_value`` of ``h``."""
    over = np.isinf(z)
    if over.any():
        k = np.broadcast_to(_per_sample(exponent, h.ndim), h.shape)
        g[over] = expert.scaled_value(h[over], k[over])
    return g
