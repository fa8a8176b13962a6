r"""The Field of Experts as a prior on pixels, as restoration and sampling use it.

A Field of Experts learns its filters on whitened images (or on the pixels);
on pixels its energy is the valid correlation with the whitening kernel,
then the experts' energy, and its gradient goes back through the adjoint of
that correlation (a full convolution).  Here are that prior
(:class:`ImagePrior`, :func:`image_prior`, :func:`restoration_prior`), the
energy with the Gaussian term on the mean brightness that makes the density
proper (:func:`prior_energy_grad`), its Hessian at the mode
(:func:`mode_hessian`) and the one bound on its curvature that sets every
step size (:func:`curvature_bound`).  Functions of arrays and energies; the
estimator :class:`~sksm.FieldsOfExperts` passes its fitted attributes.
"""

import numpy as np
from scipy import sparse
from scipy.signal import fftconvolve

from .._parallel import banded_grad_energy
from ..image import compose_filters, laplacian_kernel, whiten
from .experts import FieldOfExperts
from .layers import split_exponent

__all__ = ["ImagePrior", "curvature_bound", "image_prior", "mode_hessian",
           "pixel_filters", "prior_energy_grad", "restoration_prior",
           "whitening_kernel"]


class ImagePrior:
    """An energy over images, as restoration needs it.

    Parameters
    ----------
    network : EnergyNetwork
        Computes the energy summed over the valid positions of square
        filters of side ``size`` and its gradient in the pixels
        (:meth:`~sksm.energies.EnergyNetwork.input_derivatives`).
    size : int
        Side of the filters the network applies at valid positions.
    preprocess : callable, default=None
        A linear map applied to the images before the network (whitening,
        valid correlation), with ``adjoint`` its adjoint.
    adjoint : callable, default=None
        The adjoint of ``preprocess``, applied to the gradient (the full
        convolution with the kernel, for a valid correlation); None with no
        ``preprocess``.
    margin : int, default=None
        Pixels lost on each side by ``preprocess`` and the filters; None:
        ``size - 1``.
    lipschitz : float, default=None
        A bound on the norm of the Hessian of the energy in the pixels (for
        the step sizes of the descent methods).
    dtype : numpy dtype, default=np.float32
        The dtype the network computes in.

    Notes
    -----
    :meth:`energy_grad` is thread-safe: every call works on its own copy of
    the network's caches.
    """

    def __init__(self, network, size, *, preprocess=None, adjoint=None,
                 margin=None, lipschitz=None, dtype=np.float32):
        self.network = network
        self.size = int(size)
        self.preprocess = preprocess
        self.adjoint = adjoint
        self.margin = self.size - 1 if margin is None else int(margin)
        self.lipschitz = lipschitz
        self.dtype = np.dtype(dtype)

    def energy_grad(self, x, n_threads=1, exponent=None):
        """Compute the energy of every image of a stack and its gradient.

        Parameters
        ----------
        x : ndarray of shape (n, height, width)
            Float images, evaluated in :attr:`dtype`.
        n_threads : int, default=1
            Above 1: the filter positions are split into bands evaluated in
            threads; call it inside
            :func:`~sksm._parallel.single_threaded_blas`.
        exponent : ndarray of shape (n,) or None, default=None
            From :func:`~sksm.energies.layers.split_exponent`: the images
            are ``x * 2**exponent``; None: ``x``.

        Returns
        -------
        E : ndarray of shape (n,)
            The energies, in float64 (without a mean term).
        dE_dx : ndarray of shape (n, height, width)
            Their gradients with respect to the pixels, in float64.
        """
        h = x.astype(self.dtype, copy=False)
        if self.preprocess is not None:
            h = self.preprocess(h)
        E, d = banded_grad_energy(self.network.copy(), h, self.size,
                                  n_threads, exponent)
        if self.adjoint is not None:
            d = self.adjoint(d)
        return E.astype(np.float64), d.astype(np.float64)


def whitening_kernel(whiten):
    """The whitening kernel of a Field of Experts' ``whiten`` setting.

    Parameters
    ----------
    whiten : {'laplacian'} or None
        The setting.

    Returns
    -------
    kernel : ndarray of shape (5, 5) or None
        The 5x5 Laplacian (high-pass) kernel, float64, or None (no
        whitening).
    """
    return laplacian_kernel(5) if whiten == "laplacian" else None


def pixel_filters(filters, kernel):
    """The filters acting on pixels: ``filters`` after the whitening ``kernel``.

    Parameters
    ----------
    filters : ndarray of shape (n_experts, k, k)
        Filters on the whitened images.
    kernel : ndarray of shape (m, m) or None
        The whitening kernel; None: no whitening.

    Returns
    -------
    pixel_filters : ndarray of shape (n_experts, k + m - 1, k + m - 1)
        The composed filters (a copy of ``filters`` without a kernel).
    """
    if kernel is None:
        return filters.copy()
    return compose_filters(filters, kernel)


def image_prior(energy, kernel=None, *, lipschitz=None):
    """The energy of a Field of Experts as an :class:`ImagePrior` on pixels.

    Parameters
    ----------
    energy : sksm.energies.FieldOfExperts
        The experts' energy, on whitened images if ``kernel`` is given.
    kernel : ndarray of shape (m, m) or None, default=None
        The whitening kernel, applied by valid correlation before the
        energy, its adjoint (the full convolution) after; None: none.
    lipschitz : float, default=None
        A bound on the curvature, for the step sizes (see
        :func:`curvature_bound`).

    Returns
    -------
    prior : ImagePrior
        Evaluating in the dtype of the energy's filters.
    """
    dtype = energy.filters.dtype
    preprocess = adjoint = None
    margin = energy.size - 1
    if kernel is not None:
        kernel = kernel.astype(dtype)
        margin += kernel.shape[0] - 1

        def preprocess(h):
            return whiten(h, kernel)

        def adjoint(d):  # of valid correlation: full convolution
            return fftconvolve(d, kernel[None], mode="full", axes=(1, 2))

    return ImagePrior(energy.network, energy.size, preprocess=preprocess,
                      adjoint=adjoint, margin=margin, lipschitz=lipschitz,
                      dtype=dtype)


def restoration_prior(filters, weights, c, kernel=None, scale=1.0):
    """The prior that restoration minimises: float32, filters times ``scale``.

    It evaluates in float32 (measured on 256x256 crops: the same PSNR to
    0.01 dB as float64, at a fifth of the time) and leaves out the mean
    term, which the data fix in every restoration.

    Parameters
    ----------
    filters : ndarray of shape (n_experts, k, k)
        The fitted filters (on whitened images with a ``kernel``).
    weights : ndarray of shape (n_experts,)
        The expert weights, positive.
    c : float
        The experts' scale.
    kernel : ndarray of shape (m, m) or None, default=None
        The whitening kernel.
    scale : float, default=1.0
        Factor on every filter response.

    Returns
    -------
    prior : ImagePrior
        With ``lipschitz`` = ``scale ** 2`` times :func:`curvature_bound`.
    """
    energy = FieldOfExperts(
        (filters.reshape(len(filters), -1) * scale).astype(np.float32),
        np.log(weights).astype(np.float32), c, unit_norm=False)
    bound = curvature_bound(pixel_filters(filters, kernel), weights, c)
    return image_prior(energy, kernel, lipschitz=scale ** 2 * bound)


def curvature_bound(pixel_filters, weights, c):
    r"""The largest curvature of a Field of Experts' energy on pixels.

    The Hessian is :math:`\sum_i \alpha_i A_i^T D_i A_i`, with :math:`A_i`
    the correlation with pixel filter :math:`p_i` and :math:`|g''| \le c^2`
    on the diagonal of :math:`D_i`; its norm is at most
    :math:`\max_\omega \sum_i \alpha_i c^2 |\hat p_i(\omega)|^2`, taken
    here on a 128 x 128 frequency grid plus 1% for the frequencies between.

    Parameters
    ----------
    pixel_filters : ndarray of shape (n_experts, k, k)
        The filters on pixels.
    weights : ndarray of shape (n_experts,)
        The expert weights.
    c : float
        The experts' scale.

    Returns
    -------
    lipschitz : float
        In nats per squared unit of the pixels.
    """
    spectra = np.abs(np.fft.rfft2(pixel_filters.astype(np.float64),
                                  s=(128, 128))) ** 2
    alphas = weights[:, None, None] * c ** 2
    return 1.01 * float((alphas * spectra).sum(axis=0).max())


def prior_energy_grad(prior, images, mean_brightness, std_brightness):
    """The energy of each image and its gradient, the mean term included.

    Images near the float maximum are evaluated through their mantissas
    (:func:`~sksm.energies.layers.split_exponent`); ``E`` is then +inf only
    where the mean term itself exceeds the float range.

    Parameters
    ----------
    prior : ImagePrior
        The experts' energy on pixels.
    images : ndarray of shape (n, height, width)
        Float images.
    mean_brightness, std_brightness : float
        Mean and standard deviation of the Gaussian term on the images'
        mean.

    Returns
    -------
    E : ndarray of shape (n,)
        In float64.
    dE_dx : ndarray of shape (n, height, width)
        In the dtype of ``images``.
    """
    mantissa, exponent = split_exponent(images)
    E, d = prior.energy_grad(mantissa, exponent=exponent)
    n_pixels = images.shape[1] * images.shape[2]
    mean = mantissa.mean(axis=(1, 2), dtype=np.float64)
    with np.errstate(over="ignore"):
        if exponent is not None:
            mean = np.ldexp(mean, exponent)
        excess = mean - mean_brightness
        var = std_brightness ** 2
        E = E + excess ** 2 / (2 * var)
    d = d + (excess / (var * n_pixels))[:, None, None]
    return E, d.astype(images.dtype, copy=False)


def mode_hessian(pixel_filters, weights, c, image_shape, std_brightness):
    """The Hessian of the energy where every filter response is zero.

    ``sum_i alpha_i c^2 A_i^T A_i`` with ``A_i`` the valid correlation with
    pixel filter i, plus the mean term's ``1 1^T / (s^2 N^2)``.

    Parameters
    ----------
    pixel_filters : ndarray of shape (n_experts, k, k)
        The filters on pixels.
    weights : ndarray of shape (n_experts,)
        The expert weights.
    c : float
        The experts' scale.
    image_shape : tuple of (int, int)
        ``(height, width)`` of the images.
    std_brightness : float
        ``s``, of the mean term.

    Returns
    -------
    hessian : ndarray of shape (height * width, height * width)
        Dense, float64.
    """
    height, width = image_shape
    filters = pixel_filters.astype(np.float64)
    k = filters.shape[1]
    rows, cols = np.meshgrid(np.arange(height - k + 1),
                             np.arange(width - k + 1), indexing="ij")
    di, dj = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    n_pos = rows.size
    # pixel index of every (position, filter tap) pair
    pixel = ((rows.reshape(-1, 1) + di.reshape(1, -1)) * width
             + cols.reshape(-1, 1) + dj.reshape(1, -1))
    position = np.repeat(np.arange(n_pos), k * k)
    n = height * width
    H = np.zeros((n, n))
    for f, alpha in zip(filters, weights):
        A = sparse.csr_matrix(
            (np.tile(f.ravel(), n_pos), (position, pixel.ravel())),
            shape=(n_pos, n))
        H += alpha * c ** 2 * (A.T @ A).toarray()
    return H + 1.0 / (std_brightness ** 2 * n ** 2)
