"""Row weights of the losses: a weighted mean over rows.

Every loss of :mod:`sksm.objectives` is a mean over the rows of ``X``; with
``sample_weight`` it is the weighted mean :math:`\\sum_t w_t J_t / \\sum_t
w_t`, so that integer weights give the loss of the rows repeated that many
times.
"""

import numpy as np

__all__ = ["row_coefficients", "per_row"]


def row_coefficients(sample_weight, n_samples):
    """The coefficients ``w / sum(w)`` of the rows' terms, or None.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
        Non-negative, finite weights, not all zero; None: every row
        counts once (the plain mean, which the callers compute as before).
    n_samples : int
        The number of rows the weights belong to.

    Returns
    -------
    coefficients : ndarray of shape (n_samples,) or None
        In float64, summing to 1.

    Raises
    ------
    ValueError
        For weights of another shape, negative or non-finite weights, or
        weights that are all zero.
    """
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape ({n_samples},), one "
                         f"weight per row, got shape {w.shape}.")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("sample_weight must hold finite, non-negative "
                         "numbers.")
    total = float(np.sum(w))
    if not total > 0:
        raise ValueError("sample_weight must give some row a positive "
                         "weight; all weights are zero.")
    return w / total


def per_row(coefficients, rows, like):
    """``coefficients[rows]`` in the dtype of ``like``, shaped to scale its
    rows (``(n, 1, ...)`` for an array of ``like.ndim`` dimensions)."""
    c = coefficients[rows].astype(like.dtype, copy=False)
    return c.reshape((-1,) + (1,) * (like.ndim - 1))
