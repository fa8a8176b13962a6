"""Fits and restoration on a Dask cluster (the optional extra ``sksm[dask]``).

Every score-matching loss is a mean over samples (over images, and over the
positions of each image for a Field of Experts), so its value and gradient
are sums of what each block of rows contributes.  A fit on a
:class:`dask.array.Array` therefore keeps the blocks where they live: the
blocks are validated and summarised there, the energy's input is made
there, and every step of L-BFGS sends the parameter vector to each worker
and receives, per block, its chunks' losses and the sum of their gradients
(:func:`chunk_loss_and_gradient`).  Everything is summed over the canonical
chunks of :class:`~sksm.objectives.TrainingLoss` and merged by the
order-independent sums of :mod:`sksm._reductions`, so the result is the fit
of the same rows in memory, to the last bit.

Restoration of a :class:`dask.array.Array` image cuts it along its chunks,
restores every chunk with :attr:`FieldsOfExperts.tile_overlap_
<sksm.FieldsOfExperts.tile_overlap_>` pixels of context around it where it
lives, and assembles the cores: the same rule as the in-memory tiles, so the
two results agree to well within 1/255 per pixel.

With a :class:`distributed.Client` active the work goes to its cluster;
without one, Dask's local scheduler reads the blocks and the loss is summed
in this process.  Nothing here imports Dask before a Dask array is given.
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

__all__ = ["chunk_loss_and_gradient", "column_mean", "gram", "is_dask_array",
           "restore_files"]


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


def _client():
    """The active :class:`distributed.Client`, or None."""
    if "distributed" not in sys.modules:
        return None
    from distributed import default_client
    try:
        return default_client()
    except ValueError:  # no client
        return None


def chunk_loss_and_gradient(objective, energy, theta, X, *, reg_lambda,
                            random_state=None, first_chunk=0):
    """The objective's loss and gradient summed over the rows of one chunk.

    The building block of data-parallel fits: for chunks ``X_1, ..., X_K``
    of the training data, the training loss at ``theta`` is
    ``sum(loss_k) / sum(n_k)`` and its gradient ``sum(grad_k) / sum(n_k)``,
    wherever the chunks are evaluated.  The rows are evaluated in the
    canonical chunks of :class:`~sksm.objectives.TrainingLoss`; when every
    ``X_k`` starts at a multiple of their size (``first_chunk`` of them
    before it), the sums equal those of the estimators' own loss up to the
    last bit of rounding (:class:`~sksm.objectives.base.ExactSum`).

    Parameters
    ----------
    objective : str or sksm.objectives.Objective
        A deterministic objective (not contrastive divergence).
    energy : sksm.energies.base.Energy
        The energy whose parameters ``theta`` are; not modified (a copy is
        evaluated).
    theta : ndarray of shape (energy.n_params,)
        The parameters, float64.
    X : ndarray of shape (n_rows, ...)
        The chunk in the energy's input space and dtype (for the estimators,
        their ``_energy_input`` of the rows).  Not modified.
    reg_lambda : float
        The estimator's ``reg_lambda``.
    random_state : int or None, default=None
        The seed of the loss's random inputs (the noise of denoising and the
        projections of sliced score matching), shared by all the chunks of
        one fit; fix it to evaluate the same function at every ``theta``.
        None: drawn afresh.
    first_chunk : int, default=0
        The number of canonical chunks of rows before ``X`` in all the data.

    Returns
    -------
    loss : float
        The loss summed over the rows of ``X``.
    grad : ndarray of shape (energy.n_params,), float64
        Its gradient with respect to ``theta``.
    n_rows : int
        The number of rows of ``X``, to divide the sums of all chunks by.

    Raises
    ------
    ValueError
        For a stochastic objective (contrastive divergence), which has no
        loss to sum.
    """
    losses, grad, n = _chunk_sums(objective, energy, theta, X,
                                  reg_lambda=reg_lambda, seed=random_state,
                                  first_chunk=first_chunk)
    return exact_total(losses), grad.value(), n


def _chunk_sums(objective, energy, theta, X, *, reg_lambda, seed,
                first_chunk):
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


def gram(Z):
    """Compute ``Z.T @ Z`` of the rows of ``Z``, summed over canonical chunks.

    Summed over canonical chunks of rows, so that the blocks of a Dask
    array give the same matrix as the rows in memory.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, ...) or ClusterData
        The rows (flattened).

    Returns
    -------
    gram : ndarray of shape (n_features, n_features)
        In float64, ``n_features`` the size of a flattened row.
    """
    if isinstance(Z, ClusterData):
        return Z.gram()
    side = int(np.prod(Z.shape[1:]))
    return _gram_sums(Z, size=chunk_rows(Z)).value().reshape(side, side)


def column_mean(data):
    """Compute the column means of ``data``, summed over canonical chunks.

    Summed over canonical chunks of rows (see :func:`gram`), so that the
    blocks of a Dask array give the same means as the rows in memory.

    Parameters
    ----------
    data : ndarray of shape (n_samples, n_features) or ClusterData
        The rows.

    Returns
    -------
    mean : ndarray of shape (n_features,)
        In the dtype of ``data``.
    """
    if isinstance(data, ClusterData):
        return data.mean(axis=0)
    part = _column_sums(data, size=chunk_rows(data))
    return merge_column_sums([part])[1].astype(data.dtype)


def _gram_sums(block, *, size):
    rows = np.asarray(block, dtype=np.float64).reshape(len(block), -1)
    total = ExactSum(rows.shape[1] ** 2)
    for a in range(0, len(rows), size):
        total.add((rows[a:a + size].T @ rows[a:a + size]).ravel())
    return total


def _column_sums(block, *, size):
    return column_sums(block, size)


def _rows(block):
    """A validated block in C order and aligned, as the rows in memory: the
    sums of a chunk depend on its layout (blocks of a matrix product come
    in Fortran order, blocks sent between processes unaligned)."""
    block = check_array(block, dtype=[np.float64, np.float32])
    return np.require(block, requirements=["C", "A"])


def _pass_one(estimator, block, size):
    """Validate a block of rows where it lives; its column sums."""
    block = _rows(block)
    estimator._check_block(block)
    values = estimator._statistics_values(block)
    return None if values is None else column_sums(values, size)


def _pass_two(estimator, block, mean, big, size):
    block = _rows(block)
    return squared_deviations(estimator._statistics_values(block), mean, big,
                              size)


def _prepare(estimator, block):
    return np.require(estimator._energy_input(_rows(block)),
                      requirements=["C", "A"])


def _block_loss(block, first_chunk, *, objective, energy, theta,
                reg_lambda, seed):
    losses, grad, _ = _chunk_sums(objective, energy, theta, block,
                                  reg_lambda=reg_lambda, seed=seed,
                                  first_chunk=first_chunk)
    return losses, grad


def _check_rows(X, estimator):
    """``X`` as a 2-D float Dask array of known shape, one block per row
    range."""
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
                         f"{type(estimator).__name__}.")
    if n_features < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) "
                         f"while a minimum of 1 is required by "
                         f"{type(estimator).__name__}.")
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


def cluster_fit_data(estimator, X):
    """Validate the Dask array ``X``, set the estimator's data statistics
    from its blocks and return the energy's input as :class:`ClusterData`.

    Called by ``fit``; the estimator's hooks ``_cluster_shape``,
    ``_block_statistics``, ``_set_statistics`` and ``_energy_input`` say
    what is computed.
    """
    dask = _dask()
    if estimator.solver != "lbfgs":
        raise ValueError(
            f"A fit on a Dask array sums the blocks' losses for "
            f"solver='lbfgs'; got solver={estimator.solver!r}.  Use "
            "solver='lbfgs', or stream the blocks through partial_fit with "
            "dask_ml.wrappers.Incremental.")
    X = _check_rows(X, estimator)
    estimator._cluster_shape(X.shape[1])
    # blocks of whole canonical chunks (of TrainingLoss), about as long as
    # the user's blocks: the sums over them then equal those in memory
    size = chunk_rows(np.empty((0,) + tuple(estimator._input_row_shape())))
    block = size * max(1, round(float(np.median(X.chunks[0])) / size))
    X = X.rechunk({0: block})
    starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]])
    raw = X.to_delayed().ravel().tolist()
    client = _client()

    def run(function, *args):
        tasks = [dask.delayed(function, pure=True)(estimator, b, *args)
                 for b in raw]
        return (list(dask.compute(*tasks)) if client is None else
                client.gather(client.compute(tasks)))

    sums = run(_pass_one, size)
    if sums[0] is not None:
        n, mean, low, high, big = merge_column_sums(sums)
        var = finish_variance(run(_pass_two, mean, big, size), n, mean, big)
        estimator._set_statistics(n, mean, var, low, high)
    tasks = [dask.delayed(_prepare, pure=True)(estimator, b) for b in raw]
    blocks = (list(dask.compute(*tasks)) if client is None else
              client.compute(tasks))
    return ClusterData(blocks, X.shape[0], X.dtype, client,
                       row_shape=estimator._input_row_shape(), chunk_size=size,
                       first_chunks=[int(s) // size for s in starts])


# ---------------------------------------------------------------------- #
# Restoration
# ---------------------------------------------------------------------- #
def restore_chunks(restore, arrays, overlap, *, factor=1, channel_axis=None,
                   dtype=None):
    """Restore Dask images chunk by chunk, each with ``overlap`` of context.

    ``restore(*windows)`` restores the windows (the same rows and columns of
    each of ``arrays``) and returns an image ``factor`` times their size; the
    core of each window (its chunk) is kept.  Chunks are those of the first
    array along rows and columns; a channel axis is kept whole.
    """
    da = _dask().array
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


def restore_files(paths, output_dir, *, function="denoise", client=None,
                  **kwargs):
    """Restore image files on a cluster, one task per file.

    Every worker reads its file (:func:`sksm.io.read_image`), restores it
    with the ``sksm.restoration`` function and writes the result beside the
    others in ``output_dir`` under the same name; only paths travel.

    Parameters
    ----------
    paths : list of str or path-like
        The images.
    output_dir : str or path-like
        Where the restored images are written (created if missing).
    function : {'denoise', 'super_resolve', 'inpaint'}, default='denoise'
        The restoration.
    client : distributed.Client, default=None
        None: the active client, else this process, file by file.
    **kwargs
        Passed to the restoration function (``sigma``, ``model``...);
        colour files are restored with ``channel_axis=-1`` unless it is
        given.

    Returns
    -------
    written : list of str
        The paths written, in the order of ``paths``.

    Raises
    ------
    ValueError
        For an unknown ``function``, or two inputs with the same file name.
    """
    from pathlib import Path

    if function not in ("denoise", "super_resolve", "inpaint"):
        raise ValueError(f"function must be 'denoise', 'super_resolve' or "
                         f"'inpaint', got {function!r}.")
    paths = [Path(p) for p in paths]
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        raise ValueError("Two inputs have the same file name; their outputs "
                         "would overwrite each other in output_dir.")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    targets = [str(output_dir / name) for name in names]
    client = client if client is not None else _client()
    if client is None:
        return [_restore_file(str(p), t, function, kwargs)
                for p, t in zip(paths, targets)]
    futures = client.map(_restore_file, [str(p) for p in paths], targets,
                         function=function, kwargs=kwargs, pure=False)
    return client.gather(futures)


def _restore_file(path, target, function, kwargs):
    from . import restoration
    from ._image_files import read_image, write_image

    image = read_image(path)
    if image.ndim == 3 and "channel_axis" not in kwargs:
        kwargs = {**kwargs, "channel_axis": -1}
    write_image(target, getattr(restoration, function)(image, **kwargs))
    return target
