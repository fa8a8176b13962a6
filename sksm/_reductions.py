"""Sums and moments whose results do not depend on how the rows were split.

A fit sums over rows: the loss and its gradient, the data's means and
variances, the Gram matrix of a whitening start.  Summed in canonical chunks
of rows (counted from row 0) and merged by an order-independent sum
(:class:`ExactSum`), the results are the same, to the last bit, whether the
rows were in memory and summed by any number of threads, or in blocks of
whole chunks on the workers of a Dask cluster (:mod:`sksm.cluster`).
"""

import math

import numpy as np

__all__ = ["CHUNK_ELEMENTS", "ExactSum", "batch_moments", "chunk_bounds",
           "chunk_rows", "column_sums", "exact_moments", "exact_total",
           "finish_variance", "merge_column_sums", "merge_moments",
           "running_moments", "squared_deviations", "two_sum"]

#: Input values per chunk: small enough for the elementwise passes to stay in
#: cache, large enough for efficient matrix products; 512 rows of 196 pixels
#: measured best (benchmarks/bench_loss.py).
CHUNK_ELEMENTS = 512 * 196


def chunk_rows(X):
    """Choose how many rows of ``X`` an objective evaluates at once.

    About ``CHUNK_ELEMENTS`` input values per chunk, which bounds memory;
    images count as rows of all their pixels.  The canonical chunks of
    every exact sum are of this many rows.

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)
        The samples.

    Returns
    -------
    n_rows : int
        At least 1.
    """
    return max(1, CHUNK_ELEMENTS // int(np.prod(X.shape[1:])))


def chunk_bounds(n_rows, chunk_size, start=0):
    """List the canonical chunks of the rows ``[start, start + n_rows)``.

    The chunks of ``chunk_size`` rows counted from row 0.

    Parameters
    ----------
    n_rows : int
        Number of rows.
    chunk_size : int
        Rows per chunk.
    start : int, default=0
        The index of the first row among all rows, a multiple of
        ``chunk_size``.

    Returns
    -------
    chunks : list of tuple of (int, int, int)
        ``(index, a, b)``: the chunk's index among all chunks and its rows
        ``a`` to ``b`` (excluded), relative to ``start``.
    """
    first = start // chunk_size
    return [(first + k, a, min(a + chunk_size, n_rows))
            for k, a in enumerate(range(0, n_rows, chunk_size))]


def two_sum(a, b):
    """``(s, e)`` with ``s = fl(a + b)`` and ``a + b = s + e`` exactly.

    Knuth's error-free transformation, elementwise for float64 arrays.
    """
    s = a + b
    b_virtual = s - a
    return s, (a - (s - b_virtual)) + (b - b_virtual)


class ExactSum:
    """A sum of float64 vectors whose result does not depend on their order.

    The running sum is kept as two vectors, ``hi + lo`` (double-double
    accumulation with :func:`two_sum`): about 106 bits, so the rounded
    result of any order of the same terms, or of partial sums merged in any
    grouping, is the same float64 vector (but when the exact sum lies within
    about ``2**-100`` of a rounding boundary).  This is what makes a loss
    summed over chunks equal, bit for bit, whether the chunks were summed by
    one thread, several, or on the workers of a cluster.
    """

    def __init__(self, size=None):
        """``size``: the length of the vectors; None: that of the first."""
        self.hi = None if size is None else np.zeros(size)
        self.lo = None if size is None else np.zeros(size)

    def add(self, x):
        """Add the vector ``x``."""
        if self.hi is None:
            self.hi = np.array(x, dtype=np.float64)
            self.lo = np.zeros_like(self.hi)
            return self
        self.hi, err = two_sum(self.hi, x)
        self.lo += err
        return self

    def merge(self, other):
        """Add another :class:`ExactSum`'s terms."""
        if other.hi is None:
            return self
        if self.hi is None:
            self.hi, self.lo = other.hi.copy(), other.lo.copy()
            return self
        self.hi, err = two_sum(self.hi, other.hi)
        self.lo += err
        self.lo += other.lo
        return self

    def value(self):
        """The sum, rounded to float64."""
        return self.hi + self.lo


def exact_total(values):
    """``math.fsum`` of ``values``, or their plain sum (inf or nan) when
    they are not all finite or their sum overflows."""
    try:
        return math.fsum(values)
    except (OverflowError, ValueError):
        return float(sum(values))


def running_moments(n_old, mean_old, var_old, batch):
    """The mean and variance of all rows seen, updated with ``batch``.

    Chan, Golub & LeVeque's pairwise update (:func:`merge_moments`),
    written with mean squares rather than sums of squares, so that nothing
    overflows for data that :func:`~sksm._validation.check_fit_range`
    accepts.

    Parameters
    ----------
    n_old : int
        Rows seen before (0 for the first batch).
    mean_old : float or ndarray of shape (n_columns,)
        Their column means.
    var_old : float
        Their variance: the mean over all entries of the squared deviations
        from the column means.
    batch : ndarray of shape (n_new, n_columns)

    Returns
    -------
    n : int
    mean : ndarray of shape (n_columns,), float64
    var : float
    """
    return merge_moments((n_old, mean_old, var_old), batch_moments(batch))


def batch_moments(batch):
    """``(n, mean, var)`` of the rows of ``batch``, for :func:`merge_moments`.

    ``mean`` is the column means (in the dtype of ``batch``), ``var`` the
    mean over all entries of the squared deviations from them, a float.
    """
    batch_mean = batch.mean(axis=0)
    deviations = batch - batch_mean
    # divided by the largest deviation first: squares cannot overflow
    big = float(np.abs(deviations).max(initial=0.0))
    batch_var = 0.0 if big == 0 else big ** 2 * float(
        np.mean((deviations / big) ** 2, dtype=np.float64))
    return len(batch), batch_mean, batch_var


def merge_moments(first, second):
    """The ``(n, mean, var)`` of two sets of rows from those of each.

    Chan, Golub & LeVeque's pairwise update: the moments of data held in
    chunks (minibatches, or the blocks of a Dask array) merge in any order
    to those of all the rows, up to rounding.

    Parameters
    ----------
    first, second : tuple of (int, float or ndarray, float)
        Number of rows, column means and variance (the mean over all
        entries of the squared deviations from the column means), as
        :func:`batch_moments` gives them; ``n`` may be 0.

    Returns
    -------
    n : int
    mean : ndarray of shape (n_columns,), float64
    var : float
    """
    (n_old, mean_old, var_old), (n_new, batch_mean, batch_var) = first, second
    n = n_old + n_new
    delta = (batch_mean - mean_old).astype(np.float64)
    w_old, w_new = n_old / n, n_new / n
    var = (w_old * var_old + w_new * batch_var
           + w_old * w_new * float(np.mean(delta * delta)))
    return n, mean_old + delta * w_new, var


def column_sums(values, size, weights=None):
    """``(n, sums, low, high)`` of the rows of ``values`` (2-D): their
    number, the :class:`ExactSum` of their column sums
    over canonical chunks of ``size`` rows, and the column minima and maxima.

    With ``weights`` (positive, float64, one per row), ``n`` is the sum of
    the weights and ``sums`` the weighted column sums: integer weights give
    the statistics of the rows repeated that many times.  With the sums of
    chunks that start at multiples of ``size``, merged results do not depend
    on how the rows were split into blocks (see :func:`exact_moments`).
    """
    values = np.asarray(values).reshape(len(values), -1)
    sums = ExactSum(values.shape[1])
    for a in range(0, len(values), size):
        if weights is None:
            sums.add(values[a:a + size].sum(axis=0, dtype=np.float64))
        else:
            sums.add(weights[a:a + size]
                     @ values[a:a + size].astype(np.float64))
    n = len(values) if weights is None else exact_total(weights)
    return n, sums, values.min(axis=0), values.max(axis=0)


def squared_deviations(values, mean, big, size, weights=None):
    """The :class:`ExactSum` (of one entry) of the
    squared deviations of ``values`` from the column means ``mean``, divided
    by ``big`` first so that no square overflows; each row's times its
    weight, with ``weights``."""
    values = np.asarray(values).reshape(len(values), -1)
    total = ExactSum(1)
    for a in range(0, len(values), size):
        deviations = (values[a:a + size] - mean) / (big if big > 0 else 1.0)
        if weights is None:
            square = np.sum(deviations * deviations, dtype=np.float64)
        else:
            square = weights[a:a + size] @ np.sum(
                deviations * deviations, axis=1, dtype=np.float64)
        total.add(np.array([square]))
    return total


def merge_column_sums(parts):
    """Merge the :func:`column_sums` of blocks: ``(n, mean, low, high,
    big)``, with ``mean`` float64 and ``big`` the largest deviation from it
    (for :func:`squared_deviations`)."""
    n, sums, low, high = parts[0]
    for m, other, lo, hi in parts[1:]:
        n += m
        sums.merge(other)
        low, high = np.minimum(low, lo), np.maximum(high, hi)
    mean = sums.value() / n
    big = float(max(np.max(high - mean, initial=0.0),
                    np.max(mean - low, initial=0.0)))
    return n, mean, low, high, big


def exact_moments(values, size, weights=None):
    """``(n, mean, var, low, high)`` of the rows of ``values`` in memory, as
    the same statistics of a Dask array's blocks merge to (:mod:`sksm.cluster`):
    the column means, the mean over all entries of the squared deviations
    from them, and the column ranges; ``mean`` is float64.  With
    ``weights`` (positive, one per row) the means are weighted, and ``n``
    is the sum of the weights (see :func:`column_sums`)."""
    n, mean, low, high, big = merge_column_sums(
        [column_sums(values, size, weights)])
    return n, mean, finish_variance(
        [squared_deviations(values, mean, big, size, weights)], n, mean,
        big), low, high


def finish_variance(parts, n, mean, big):
    """The variance from the blocks' :func:`squared_deviations`."""
    total = parts[0]
    for other in parts[1:]:
        total.merge(other)
    if big == 0 or not np.isfinite(big):
        return 0.0
    return big ** 2 * float(total.value()[0]) / (n * np.size(mean))
