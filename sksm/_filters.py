"""Starting filters of the expert estimators.

Random orthonormal filters, or filters derived from the training data: the
PCA or ZCA whitening matrix of their covariance, or FastICA in its principal
subspace.  Functions of arrays; the covariance is summed over the canonical
chunks of rows (:func:`~sksm._dask.gram`), so a Dask array gives the start of
the same rows in memory.
"""

import math
import warnings

import numpy as np
from sklearn.decomposition import FastICA
from sklearn.exceptions import ConvergenceWarning

from ._dask import ClusterData, gram

__all__ = ["random_filters", "start_filters"]

#: Variance, relative to the largest, below which a principal axis counts as
#: constant (left out of ICA and of the random rotations); and the floor,
#: relative to the mean, added to the eigenvalues in the whitening matrices.
_WHITENING_FLOOR = 1e-6
#: FastICA iterations of the 'ica' start: a start, not a converged ICA.
_ICA_MAX_ITER = 200


def _principal_axes(Z, sample_weight=None):
    """Eigenvalues (descending) and eigenvectors (as rows) of the
    covariance of the centred rows ``Z`` (weighted by ``sample_weight``),
    in float64."""
    total = len(Z) if sample_weight is None else math.fsum(sample_weight)
    values, vectors = np.linalg.eigh(gram(Z, sample_weight) / total)
    return np.clip(values[::-1], 0, None), vectors[:, ::-1].T


def start_filters(Z, n_experts, init, rng, rotate=False, sample_weight=None):
    """Starting filters (rows, float64, not yet unit length) for the
    centred, scaled training data ``Z``; see ``init`` in
    :class:`RegularizedScoreMatchingPoE`.  With ``rotate``, the whitening
    starts ('pca', 'zca') are turned by a random orthogonal matrix drawn
    from ``rng``, within the directions that have variance.  With
    ``sample_weight`` (positive, one per row) the covariance is weighted;
    'ica' refuses weights (FastICA takes none).  ``Z`` is not modified."""
    n_features = Z.shape[1]
    if init == "random":
        return random_filters(n_experts, n_features, rng)
    if init == "ica" and sample_weight is not None:
        raise ValueError(
            "init='ica' runs FastICA, which takes no sample weights; with "
            "sample_weight use init='zca', 'pca' or 'random' (or repeat "
            "the rows instead of weighting them).")
    values, axes = _principal_axes(Z, sample_weight)
    n = min(n_experts, n_features)
    rank = int(np.sum(values > _WHITENING_FLOOR * values[0]))
    if init in ("pca", "zca"):
        # the PCA whitening matrix D^(-1/2) E^T, its eigenvalues floored
        # where the data have (almost) no variance
        floor = _WHITENING_FLOOR * (values.mean() if values.any() else 1.0)
        B = axes / np.sqrt(values + floor)[:, None]
        if rotate:  # another whitening matrix of the directions with variance
            B[:rank] = random_filters(rank, rank, rng) @ B[:rank]
        if init == "pca":
            V = B[:n]
        else:  # E D^(-1/2) E^T = C^(-1/2) (unrotated)
            V = axes.T @ B
            if n < n_features:
                V = V[np.sort(rng.choice(n_features, n, replace=False))]
    else:  # 'ica': FastICA in the principal subspace with variance
        if isinstance(Z, ClusterData):
            raise ValueError(
                "init='ica' runs FastICA on all the rows in memory; for a "
                "fit on a Dask array use init='zca', 'pca' or 'random'.")
        r = min(n, rank)
        V = axes[:n].copy()
        if r:
            white = (np.asarray(Z, dtype=np.float64) @ axes[:r].T
                     / np.sqrt(values[:r]))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                ica = FastICA(whiten=False, max_iter=_ICA_MAX_ITER,
                              random_state=rng).fit(white)
            V[:r] = (ica.components_ / np.sqrt(values[:r])) @ axes[:r]
    if n_experts > n_features:
        # the extra filters: rows of C^(-1/4) of randomly chosen features,
        # localised like the ZCA rows but broader (issue 26: an overcomplete
        # fit from them converges in about half the L-BFGS iterations of
        # random Gaussian directions, to as low a held-out loss)
        k = n_experts - n_features
        floor = _WHITENING_FLOOR * (values.mean() if values.any() else 1.0)
        E = (axes.T * (values + floor) ** -0.25) @ axes
        V = np.vstack([V, E[rng.choice(n_features, k,
                                       replace=k > n_features)]])
    return V



def random_filters(n_filters, n_inputs, rng):
    """Random orthonormal rows (by QR of a Gaussian matrix), then random
    Gaussian directions for the rows beyond ``n_inputs``; float64."""
    G = rng.standard_normal((n_inputs, min(n_filters, n_inputs)))
    V = np.linalg.qr(G)[0].T  # orthonormal rows
    if n_filters > n_inputs:
        V = np.vstack([V, rng.standard_normal((n_filters - n_inputs,
                                               n_inputs))])
    return V
