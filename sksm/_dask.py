"""Everything Dask below the estimators: fits and restoration by blocks.

Every score-matching loss is a mean over samples (over images, and over the
positions of each image for a Field of Experts), so its value and gradient
are sums of what each block of rows contributes.  A fit on a
:class:`dask.array.Array` therefore keeps the blocks where they live: the
blocks are validated and summarised there (:func:`block_moments`), the
energy's input is made there (:func:`block_inputs`), and every step of
L-BFGS sends the parameter vector to each worker and receives, per block,
its chunks' losses and the sum of their gradients (:class:`ClusterLoss`).
Everything is summed over the canonical chunks of
:class:`~sksm.objectives.TrainingLoss` and merged by the order-independent
sums of :mod:`sksm._reductions`, so the result is the fit of the same rows in
memory, to the last bit; the fit in memory is the same path with one block
(:func:`gram` and :func:`column_mean` take either).

Restoration of a Dask image cuts it along its chunks and restores every
chunk with context around it where it lives (:func:`restore_chunks`).

With a :class:`distributed.Client` active the work goes to its cluster;
without one, Dask's local scheduler reads the blocks and the loss is summed
in this process.  Nothing here imports Dask before a Dask array is given.
:mod:`sksm.cluster` is the public face.
"""

import copy
import sys

import numpy as np
from sklearn.utils import check_array

from ._parallel import single_threaded_blas
from ._reductions import (
    ExactSum,
    chunk_rows,
    column_sums,
    exact_total,
    finish_variance,
    merge_column_sums,
    squared_deviations,
)
from .objectives import TrainingLoss, check_objective

__all__ = ["ClusterData", "ClusterLoss", "RowBlocks", "active_client", "block_inputs",
           "block_moments", "check_dask_rows", "chunk_sums", "column_mean",
           "gram", "is_dask_array", "restore_chunks"]


def is_dask_array(X):
    """Whether ``X`` is a :class:`dask.array.Array` (without importing Dask).

    Parameters
    ----------
    X : object
        Anything.

    Returns
    -------
    is_dask : bool
        True for a Dask array; False otherwise, and when Dask is not
        imported.
    """
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(X, module.Array)


def _dask():
    try:
        import dask
        import dask.array
    except ImportError as exc:  # pragma: no cover - the extra is installed
        raise ImportError(
            "Working on Dask arrays needs Dask: pip install 'sksm[dask]'."
        ) from exc
    return dask


def active_client():
    """The active :class:`distributed.Client`, or None."""
    if "distributed" not in sys.modules:
        return None
    from distributed import default_client
    try:
        return default_client()
    except ValueError:  # no client
        return None


def chunk_sums(objective, energy, theta, X, *, reg_lambda, seed,
                first_chunk):
    """The chunks' losses (times their rows), the :class:`ExactSum` of
    their gradients, and the number of rows of ``X``; see
    :func:`sksm.cluster.chunk_loss_and_gradient`."""
    objective = check_objective(objective)
    if objective.stochastic:
        raise ValueError(
            f"{type(objective).__name__} gives a stochastic gradient and no "
            "loss to sum over chunks; use a deterministic objective.")
    if seed is None:
        seed = int(np.random.randint(np.iinfo(np.int32).max))
    energy = copy.deepcopy(energy)
    loss = TrainingLoss(objective, energy, X, None, reg_lambda, 1, {},
                        first_chunk=first_chunk, seed=seed)
    with single_threaded_blas():
        losses, grad = loss.sums(np.asarray(theta, dtype=np.float64))
    return losses, grad, len(X)


def gram(Z, sample_weight=None):
    """Compute ``Z.T @ Z`` of the rows of ``Z``, summed over canonical chunks.

    Summed over canonical chunks of rows, so that the blocks of a Dask
    array give the same matrix as the rows in memory.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, ...) or ClusterData
        The rows (flattened).
    sample_weight : ndarray of shape (n_samples,), default=None
        Weights of the rows in memory: ``Z.T @ diag(w) @ Z``.

    Returns
    -------
    gram : ndarray of shape (n_features, n_features)
        In float64, ``n_features`` the size of a flattened row.
    """
    if isinstance(Z, ClusterData):
        return Z.gram()
    side = int(np.prod(Z.shape[1:]))
    return _gram_sums(Z, size=chunk_rows(Z),
                      weights=sample_weight).value().reshape(side, side)


def column_mean(data, sample_weight=None):
    """Compute the column means of ``data``, summed over canonical chunks.

    Summed over canonical chunks of rows (see :func:`gram`), so that the
    blocks of a Dask array give the same means as the rows in memory.

    Parameters
    ----------
    data : ndarray of shape (n_samples, n_features) or ClusterData
        The rows.
    sample_weight : ndarray of shape (n_samples,), default=None
        Positive weights of the rows in memory: the weighted means.

    Returns
    -------
    mean : ndarray of shape (n_features,)
        In the dtype of ``data``.
    """
    if isinstance(data, ClusterData):
        return data.mean(axis=0)
    part = column_sums(data, chunk_rows(data), sample_weight)
    return merge_column_sums([part])[1].astype(data.dtype)


def _gram_sums(block, *, size, weights=None):
    rows = np.asarray(block, dtype=np.float64).reshape(len(block), -1)
    total = ExactSum(rows.shape[1] ** 2)
    for a in range(0, len(rows), size):
        chunk = rows[a:a + size]
        left = chunk if weights is None else chunk * weights[a:a + size, None]
        total.add((left.T @ chunk).ravel())
    return total


def _column_sums(block, *, size):
    return column_sums(block, size)


def _rows(block):
    """A validated block in C order and aligned, as the rows in memory: the
    sums of a chunk depend on its layout (blocks of a matrix product come
    in Fortran order, blocks sent between processes unaligned)."""
    block = check_array(block, dtype=[np.float64, np.float32])
    return np.require(block, requirements=["C", "A"])


def _pass_one(block, size, check, values):
    """Validate a block of rows where it lives; its column sums."""
    block = _rows(block)
    check(block)
    values = values(block)
    return None if values is None else column_sums(values, size)


def _pass_two(block, size, values, mean, big):
    return squared_deviations(values(_rows(block)), mean, big, size)


def _prepare(block, prepare):
    return np.require(prepare(_rows(block)), requirements=["C", "A"])


def _block_loss(block, first_chunk, *, objective, energy, theta,
                reg_lambda, seed):
    losses, grad, _ = chunk_sums(objective, energy, theta, block,
                                 reg_lambda=reg_lambda, seed=seed,
                                 first_chunk=first_chunk)
    return losses, grad


def check_dask_rows(X, name, solver, sample_weight=None):
    """Check the Dask array of a fit: ``X`` as a 2-D float Dask array of
    known shape, one block per row range.

    Parameters
    ----------
    X : dask.array.Array
        The training rows.
    name : str
        The estimator's name, for the messages.
    solver : str
        The estimator's solver: only 'lbfgs' sums the blocks' losses.
    sample_weight : object, default=None
        The fit's weights: refused.

    Returns
    -------
    X : dask.array.Array
        Float32 or float64, its columns in one block.

    Raises
    ------
    ValueError
        For another solver, another number of dimensions, unknown chunk
        sizes, values that are not numbers, fewer than 2 rows or no column,
        or weights.
    """
    if sample_weight is not None:
        raise ValueError(
            "sample_weight is not supported for a fit on a Dask array (its "
            "blocks are summed where they live, unweighted): fit the rows in "
            "memory with sample_weight, or repeat rows instead.")
    if solver != "lbfgs":
        raise ValueError(
            f"A fit on a Dask array sums the blocks' losses for "
            f"solver='lbfgs'; got solver={solver!r}.  Use "
            "solver='lbfgs', or stream the blocks through partial_fit with "
            "dask_ml.wrappers.Incremental.")
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D Dask array of shape (n_samples, "
                         f"n_features), got {X.ndim} dimensions (shape "
                         f"{X.shape}).")
    if any(np.isnan(size) for size in X.shape):
        raise ValueError(
            f"The Dask array's shape {X.shape} is not known (its chunk sizes "
            "are unknown); call X.compute_chunk_sizes() first.")
    if X.dtype.kind not in "fiub":
        raise ValueError(f"Expected numbers, got a Dask array of dtype "
                         f"{X.dtype}.")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    n_samples, n_features = X.shape
    if n_samples < 2:
        raise ValueError(f"Found array with {n_samples} sample(s) (shape="
                         f"{X.shape}) while a minimum of 2 is required by "
                         f"{name}.")
    if n_features < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) "
                         f"while a minimum of 1 is required by "
                         f"{name}.")
    return X.rechunk({1: -1})


class ClusterData:
    """The energy's input of a fit, in blocks of rows where they live.

    ``blocks`` are :class:`distributed.Future` objects with a client, else
    NumPy arrays, each of whole canonical chunks of ``chunk_size`` rows
    (the last may be shorter), the first of them ``first_chunks[k]``
    chunks into all the rows; ``len`` and ``dtype`` are those of all the
    rows, ``row_shape`` the shape of one row.
    """

    def __init__(self, blocks, n_samples, dtype, client, *, row_shape,
                 chunk_size, first_chunks):
        self.blocks, self.n_samples = blocks, n_samples
        self.dtype, self.client = np.dtype(dtype), client
        self.row_shape = tuple(row_shape)
        self.chunk_size, self.first_chunks = chunk_size, first_chunks

    def __len__(self):
        return self.n_samples

    def _map(self, function, *args, **kwargs):
        """``function(block, *args_k, **kwargs)`` for every block, in order."""
        if self.client is None:
            return [function(block, *arg, **kwargs)
                    for block, *arg in zip(self.blocks, *args)]
        futures = self.client.map(function, self.blocks, *args, pure=False,
                                  **kwargs)
        return self.client.gather(futures)

    def gram(self):
        """``Z.T @ Z`` of the rows (flattened), float64, as :func:`gram`."""
        side = int(np.prod(self.row_shape))
        total = ExactSum(side ** 2)
        for part in self._map(_gram_sums, size=self.chunk_size):
            total.merge(part)
        return total.value().reshape(side, side)

    def mean(self, axis=0):
        """The column means, in the data's dtype, as :func:`column_mean`."""
        if axis != 0:
            raise ValueError("Only the column means (axis=0) are computed.")
        parts = self._map(_column_sums, size=self.chunk_size)
        return merge_column_sums(parts)[1].astype(self.dtype)

    @property
    def shape(self):
        return (self.n_samples,) + self.row_shape

    def loss_function(self, objective, energy, rng, *, reg_lambda):
        """``theta -> (loss, grad)`` of ``objective`` on all the rows."""
        return ClusterLoss(self, objective, energy, rng, reg_lambda)


class ClusterLoss:
    """The mean loss and gradient over the blocks of :class:`ClusterData`.

    The energy goes to the workers once; each call sends ``theta`` once to
    every worker (scattered under a key of its own: passed inline, a large
    vector became one task named 'theta' shared by successive calls)
    and gathers, per block, its chunks' losses and the
    :class:`~sksm._reductions.ExactSum` of their gradients, so that the
    result equals the loss of the same rows in memory
    (:class:`~sksm.objectives.TrainingLoss`) bit for bit.  The random
    inputs come from one seed drawn from ``rng``, as in memory.
    """

    stochastic = False

    def __init__(self, data, objective, energy, rng, reg_lambda):
        self.data, self.objective = data, objective
        self.energy, self.reg_lambda = energy, float(reg_lambda)
        self.seed = int(rng.randint(np.iinfo(np.int32).max))
        client = data.client
        self._energy = (energy if client is None else
                        client.scatter(energy, broadcast=True, hash=False))

    def __call__(self, theta, rows=None):
        if rows is not None:
            raise ValueError("A fit on a Dask array uses solver='lbfgs'; "
                             "minibatches are not drawn across the cluster.")
        theta = np.asarray(theta, dtype=np.float64)
        client = self.data.client
        sent = (theta if client is None else  # to each worker, a unique key
                client.scatter(theta, broadcast=True, hash=False))
        results = self.data._map(
            _block_loss, self.data.first_chunks, objective=self.objective,
            energy=self._energy, theta=sent,
            reg_lambda=self.reg_lambda, seed=self.seed)
        losses, grad = [], ExactSum(len(theta))
        for block_losses, block_grad in results:
            losses.extend(block_losses)
            grad.merge(block_grad)
        self.energy.set_params(theta)
        n = self.data.n_samples
        return exact_total(losses) / n, grad.value() / n


class RowBlocks:
    """The rows of a Dask array in blocks of whole canonical chunks.

    Blocks about as long as the user's, each of whole chunks of
    ``chunk_rows`` rows of the energy's input (of ``row_shape``), so that
    the sums over them equal those in memory; ``first_chunks[k]`` chunks
    come before block ``k``.
    """

    def __init__(self, X, row_shape):
        self.dask, self.client = _dask(), active_client()
        self.row_shape = tuple(row_shape)
        self.size = chunk_rows(np.empty((0,) + self.row_shape))
        block = self.size * max(1, round(float(np.median(X.chunks[0]))
                                         / self.size))
        X = X.rechunk({0: block})
        starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]])
        self.first_chunks = [int(s) // self.size for s in starts]
        self.n_samples, self.dtype = X.shape[0], X.dtype
        self.raw = X.to_delayed().ravel().tolist()

    def run(self, function, *args):
        """``function(block, *args)`` for every block, where it lives."""
        dask, client = self.dask, self.client
        tasks = [dask.delayed(function, pure=True)(b, *args)
                 for b in self.raw]
        return (list(dask.compute(*tasks)) if client is None else
                client.gather(client.compute(tasks)))


def block_moments(blocks, check, values):
    """Validate every block where it lives and merge the moments of its
    ``values``, as :func:`~sksm._reductions.exact_moments` of all the rows.

    Parameters
    ----------
    blocks : RowBlocks
        The rows.
    check : callable
        ``check(rows)`` raises ValueError for rows the fit refuses.
    values : callable
        ``values(rows)``: the 2-D per-row values whose moments the fit
        needs, or None.

    Returns
    -------
    moments : tuple of (n, mean, var, low, high) or None
        None when ``values`` gives None.
    """
    sums = blocks.run(_pass_one, blocks.size, check, values)
    if sums[0] is None:
        return None
    n, mean, low, high, big = merge_column_sums(sums)
    var = finish_variance(blocks.run(_pass_two, blocks.size, values, mean,
                                     big), n, mean, big)
    return n, mean, var, low, high


def block_inputs(blocks, prepare):
    """The energy's input, made block by block where the blocks live.

    Parameters
    ----------
    blocks : RowBlocks
        The rows.
    prepare : callable
        ``prepare(rows)``: the energy's input of validated rows.

    Returns
    -------
    data : ClusterData
        Futures with a client, else NumPy arrays.
    """
    dask, client = blocks.dask, blocks.client
    tasks = [dask.delayed(_prepare, pure=True)(b, prepare)
             for b in blocks.raw]
    parts = (list(dask.compute(*tasks)) if client is None else
             client.compute(tasks))
    # the dtype of the prepared input, which may differ from the rows' (a
    # PoE fits in float32): asked of ``prepare`` on no rows
    dtype = prepare(np.empty((0,) + blocks.row_shape, blocks.dtype)).dtype
    return ClusterData(parts, blocks.n_samples, dtype, client,
                       row_shape=blocks.row_shape, chunk_size=blocks.size,
                       first_chunks=blocks.first_chunks)


def restore_chunks(restore, arrays, overlap, *, factor=1, channel_axis=None,
                   dtype=None):
    """Restore Dask images chunk by chunk, each with ``overlap`` of context.

    ``restore(*windows)`` restores the windows (the same rows and columns of
    each of ``arrays``) and returns an image ``factor`` times their size; the
    core of each window (its chunk) is kept.  Chunks are those of the first
    array along rows and columns; a channel axis is kept whole.
    """
    da = _dask().array
    arrays = [da.asarray(a) for a in arrays]  # a mask may be in memory
    image = arrays[0]
    ndim = image.ndim
    axis = None if channel_axis is None else channel_axis % ndim
    spatial = [a for a in range(ndim) if a != axis]
    if axis is not None:
        arrays = [a.rechunk({axis: -1}) if a.ndim == ndim else a
                  for a in arrays]
    rows, cols = (image.chunks[spatial[0]], image.chunks[spatial[1]])
    height, width = image.shape[spatial[0]], image.shape[spatial[1]]
    row_edges = np.concatenate([[0], np.cumsum(rows)]).astype(int)
    col_edges = np.concatenate([[0], np.cumsum(cols)]).astype(int)
    if dtype is None:
        dtype = image.dtype

    def window(a, r, c):
        if a.ndim == 2:  # a mask of a colour image
            return a[r, c]
        index = [slice(None)] * a.ndim
        index[spatial[0]], index[spatial[1]] = r, c
        return a[tuple(index)]

    grid = []
    for i in range(len(rows)):
        r0, r1 = row_edges[i], row_edges[i + 1]
        wr = slice(max(r0 - overlap, 0), min(r1 + overlap, height))
        line = []
        for j in range(len(cols)):
            c0, c1 = col_edges[j], col_edges[j + 1]
            wc = slice(max(c0 - overlap, 0), min(c1 + overlap, width))
            core = (slice(factor * (r0 - wr.start), factor * (r1 - wr.start)),
                    slice(factor * (c0 - wc.start), factor * (c1 - wc.start)))
            shape = [factor * (r1 - r0), factor * (c1 - c0)]
            if axis is not None:
                shape.insert(axis, image.shape[axis])
            task = _dask().delayed(_restore_core, pure=True)(
                restore, [window(a, wr, wc) for a in arrays], core, spatial)
            line.append(da.from_delayed(task, tuple(shape), dtype=dtype))
        grid.append(line)
    if axis is None:
        return da.block(grid)
    # da.block joins the last two axes: the channel axis goes first, then back
    moved = [[da.moveaxis(b, axis, 0) for b in line] for line in grid]
    return da.moveaxis(da.block(moved), 0, axis)


def _restore_core(restore, windows, core, spatial):
    out = restore(*windows)
    index = [slice(None)] * out.ndim
    index[spatial[0]], index[spatial[1]] = core
    return out[tuple(index)]
