"""Fits and restoration on a Dask cluster (the optional extra ``sksm[dask]``).

The public face of Dask support; the machinery is in :mod:`sksm._dask`.

- ``fit`` of every estimator takes a :class:`dask.array.Array`: the blocks
  of rows are validated and summarised where they live, and every step of
  L-BFGS sends the parameter vector to each worker and receives, per block,
  its chunks' losses and the exact sum of their gradients
  (:func:`chunk_loss_and_gradient`, the building block), so the model is the
  fit of the same rows in memory, to the last bit.
- The functions of :mod:`sksm.restoration` take Dask images, restored chunk
  by chunk with :attr:`FieldsOfExperts.tile_overlap_
  <sksm.FieldsOfExperts.tile_overlap_>` pixels of context where the chunks
  live; :func:`restore_files` restores a folder of image files, one task per
  file.
- :func:`gram` and :func:`column_mean` are the sums the starts of the fits
  use, over the canonical chunks of rows, in memory or on the blocks.

With a :class:`distributed.Client` active the work goes to its cluster;
without one, Dask's local scheduler reads the blocks and the loss is summed
in this process.  Nothing here imports Dask before a Dask array is given.
"""

from pathlib import Path

from . import restoration
from ._dask import (
    active_client,
    chunk_sums,
    column_mean,
    gram,
    is_dask_array,
)
from ._image_files import read_image, write_image
from ._reductions import exact_total

__all__ = ["chunk_loss_and_gradient", "column_mean", "gram", "is_dask_array",
           "restore_files"]


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
    last bit of rounding (:class:`~sksm._reductions.ExactSum`).

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
    losses, grad, n = chunk_sums(objective, energy, theta, X,
                                 reg_lambda=reg_lambda, seed=random_state,
                                 first_chunk=first_chunk)
    return exact_total(losses), grad.value(), n



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
    client = client if client is not None else active_client()
    if client is None:
        return [_restore_file(str(p), t, function, kwargs)
                for p, t in zip(paths, targets)]
    futures = client.map(_restore_file, [str(p) for p in paths], targets,
                         function=function, kwargs=kwargs, pure=False)
    return client.gather(futures)


def _restore_file(path, target, function, kwargs):
    image = read_image(path)
    if image.ndim == 3 and "channel_axis" not in kwargs:
        kwargs = {**kwargs, "channel_axis": -1}
    # the result is on the scale of the input, whose colour profile, EXIF
    # data and JPEG quality the output keeps
    write_image(target, getattr(restoration, function)(image, **kwargs),
                data_range=kwargs.get("data_range"), source=path)
    return target
