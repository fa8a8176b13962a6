r"""Downsampling as a forward operator: a low-pass kernel, then one pixel in
``factor`` along each side (see :mod:`._operators` for the protocol).

The kernels people meet when an image is shrunk are written here: block
means, Pillow's bicubic resize and scikit-image's anti-aliased rescale.
"""

import numbers

import numpy as np
from scipy import fft

from ._operators import _fold_symmetric, as_float, fast_shape

__all__ = ["Downsample"]


def _cubic(t, a=-0.5):
    """The cubic convolution kernel (Keys 1981) with ``a = -0.5``, the
    bicubic filter of Pillow's ``Image.resize``."""
    t = np.abs(t)
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((t - 5) * t + 8) * t * a - 4 * a
    return np.where(t < 1, near, np.where(t < 2, far, 0.0))


def _named_taps(kernel, factor):
    """The weights of a named kernel, read from the block's first pixel:
    ``(offsets, weights)`` with every output pixel ``i`` the sum of
    ``weights * x[factor * i + offsets]``."""
    if kernel == "box":
        return np.arange(factor), np.full(factor, 1.0 / factor)
    if kernel == "bicubic":
        # Pillow: the filter widened by the factor, centred on the block's
        # centre (d + 1/2 - factor/2 from it), its support 2 * factor
        offsets = np.arange(-2 * factor + 1, 3 * factor)
        weights = _cubic((offsets + 0.5 - factor / 2) / factor)
    else:  # 'gaussian': scikit-image's anti-aliasing filter, then its
        # linear interpolation at the block's centre
        sigma = (factor - 1) / 2
        radius = int(4 * sigma + 0.5)
        gauss = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
        weights = np.convolve(gauss / gauss.sum(),
                              [0.5, 0.5] if factor % 2 == 0 else [1.0])
        offsets = (np.arange(weights.size) - (weights.size - 1) / 2
                   + (factor - 1) / 2).astype(int)
    keep = weights != 0
    return offsets[keep], weights[keep] / weights[keep].sum()


class Downsample:
    r"""A low-pass kernel, then one pixel in ``factor`` along each side.

    The observed pixel ``(i, j)`` is :math:`\sum_{d, e} w_d w_e\,
    x_{f i + d,\, f j + e}`: a separable kernel centred on the block of
    ``factor`` x ``factor`` pixels it stands for, the image extended
    beyond its edges by mirroring about them, as :class:`Blur`.

    Parameters
    ----------
    factor : int
        Pixels of the image per observed pixel along each side, at least 2.
    kernel : {'bicubic', 'box', 'gaussian'} or array-like, default='bicubic'
        'bicubic': Pillow's ``Image.resize(..., Image.BICUBIC)`` (the cubic
        convolution kernel with ``a = -0.5``, widened by the factor);
        'box': block means (``Image.resize(..., Image.BOX)``); 'gaussian':
        scikit-image's ``rescale(..., anti_aliasing=True)``, a Gaussian of
        standard deviation ``(factor - 1) / 2`` followed by linear
        interpolation at the block's centre.  They agree with those
        libraries away from the image's edges, which those libraries treat
        otherwise.  An array: the 1-D weights of a separable kernel, whose
        middle falls on the block's centre (its length must then have the
        parity of ``factor``); normalised to sum to 1.

    Attributes
    ----------
    factor : int
    offsets, weights : ndarray of shape (n_taps,)
        The kernel along one axis: observed pixel ``i`` reads pixels
        ``factor * i + offsets`` with ``weights``.
    reach : int
        The largest distance, in pixels of the image, from a block's centre
        to the pixels its observation depends on.

    Raises
    ------
    ValueError
        For a factor below 2, an unknown kernel name, or weights that are
        not a 1-D array of finite numbers of the right parity summing to a
        non-zero number.
    TypeError
        If ``factor`` is not an integer.
    """

    def __init__(self, factor, kernel="bicubic"):
        if not isinstance(factor, numbers.Integral) or isinstance(factor,
                                                                  bool):
            raise TypeError(f"factor must be an integer, got {factor!r}.")
        if factor < 2:
            raise ValueError(f"factor must be at least 2, got {factor}.")
        self.factor = int(factor)
        if isinstance(kernel, str):
            if kernel not in ("bicubic", "box", "gaussian"):
                raise ValueError(
                    "kernel must be 'bicubic', 'box', 'gaussian' or an "
                    f"array of weights, got {kernel!r}.")
            self.offsets, self.weights = _named_taps(kernel, self.factor)
        else:
            self.offsets, self.weights = self._taps(kernel)
        centre = (self.factor - 1) / 2
        self.reach = int(np.ceil(np.max(np.abs(self.offsets - centre))))
        self._margins = (max(0, -int(self.offsets.min())),
                         max(0, int(self.offsets.max()) - self.factor + 1))
        self._cache = {}

    def _taps(self, kernel):
        try:
            weights = np.array(kernel, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError("kernel must be a name or a 1-D array of "
                             f"numbers, got {type(kernel).__name__}.") \
                from None
        if (weights.ndim != 1 or weights.size == 0
                or not np.all(np.isfinite(weights))
                or (weights.size - self.factor) % 2
                or weights.sum() == 0):
            raise ValueError(
                "kernel weights must be a non-empty 1-D array of finite "
                "numbers with a non-zero sum, whose length has the parity "
                f"of the factor {self.factor} (so that its middle falls on "
                f"the block's centre); got shape {weights.shape}.")
        offsets = np.arange(weights.size) + (self.factor - weights.size) // 2
        return offsets, weights / weights.sum()

    def _check(self, x):
        x = as_float(x)
        if x.ndim != 2 or any(n % self.factor or n < max(self._margins)
                              or n == 0 for n in x.shape):
            raise ValueError(
                f"x must be one 2-D image whose sides are multiples of the "
                f"factor {self.factor} and at least {max(self._margins)} "
                f"pixels, got shape {x.shape}.")
        return x

    def apply(self, x):
        """Filter and decimate one image.

        Parameters
        ----------
        x : array-like of shape (factor * height, factor * width)
            The image.

        Returns
        -------
        y : ndarray of shape (height, width)
            In float32 for a float32 image, else in float64.
        """
        x = self._check(x)
        for axis in (0, 1):
            x = np.moveaxis(self._decimate(np.moveaxis(x, axis, 0)), 0, axis)
        return x

    def _decimate(self, x):
        before, after = self._margins
        padded = np.pad(x, [(before, after)] + [(0, 0)] * (x.ndim - 1),
                        mode="symmetric")
        n = x.shape[0] // self.factor
        out = np.zeros((n,) + x.shape[1:], dtype=x.dtype)
        for d, w in zip(self.offsets, self.weights.astype(x.dtype)):
            start = before + d
            out += w * padded[start:start + self.factor * (n - 1) + 1:
                              self.factor]
        return out

    def adjoint(self, y):
        """The adjoint: every observed pixel spread back over its kernel.

        Parameters
        ----------
        y : array-like of shape (height, width)
            An observation.

        Returns
        -------
        x : ndarray of shape (factor * height, factor * width)
            In float32 for a float32 image, else in float64.
        """
        y = as_float(y)
        if y.ndim != 2:
            raise ValueError(f"y must be one 2-D image, got shape {y.shape}.")
        self._check(np.empty((y.shape[0] * self.factor,
                              y.shape[1] * self.factor), dtype=y.dtype))
        for axis in (0, 1):
            y = np.moveaxis(self._spread(np.moveaxis(y, axis, 0)), 0, axis)
        return y

    def _spread(self, y):
        before, after = self._margins
        n = y.shape[0]
        padded = np.zeros((self.factor * n + before + after,) + y.shape[1:],
                          dtype=y.dtype)
        for d, w in zip(self.offsets, self.weights.astype(y.dtype)):
            start = before + d
            padded[start:start + self.factor * (n - 1) + 1:
                   self.factor] += w * y
        return _fold_symmetric(padded, before, after, 0)

    def _spectra(self, shape, dtype):
        """For images of ``shape`` (periodic): the kernel's 2-D real DFT, and
        the real DFT of the observation's autocorrelation on the grid
        ``factor`` times coarser, in the precision of ``dtype`` (kept for
        the shapes met)."""
        spectra = self._cache.get((shape, dtype))
        if spectra is not None:
            return spectra
        kernels, autocorrelations = [], []
        for axis, n in enumerate(shape):
            taps = np.zeros(n)
            np.add.at(taps, self.offsets % n, self.weights)
            spectrum = fft.fft(taps)
            power = fft.ifft(np.abs(spectrum) ** 2).real[::self.factor]
            if axis == 1:
                spectrum = spectrum[:n // 2 + 1]
            kernels.append(spectrum)
            autocorrelations.append(fft.fft(power).real)
        low = (shape[0] // self.factor, shape[1] // self.factor)
        complex_type = np.result_type(dtype, np.complex64)
        spectra = (np.outer(*kernels).astype(complex_type),
                   np.outer(autocorrelations[0],
                            autocorrelations[1][:low[1] // 2 + 1])
                   .astype(dtype))
        if len(self._cache) < 16:
            self._cache[shape, dtype] = spectra
        return spectra

    def gram_solve(self, v, alpha):
        r""":math:`(A^T A + \alpha I)^{-1} v` for the periodic operator.

        The preconditioner of the solvers, exact when the image wraps around
        instead of being mirrored: by the Woodbury identity,
        :math:`\alpha^{-1} (v - A^T (\alpha I + A A^T)^{-1} A v)`, where
        :math:`A A^T` is a convolution on the observation's grid (Zhao et
        al., 2016).  A shape whose sides are not fast FFT lengths is
        zero-padded to one (:func:`~sksm.posterior._operators.fast_shape`)
        and the result cropped back.

        Parameters
        ----------
        v : ndarray of shape (factor * height, factor * width)
            An image.
        alpha : float
            Positive.

        Returns
        -------
        x : ndarray of shape (factor * height, factor * width)
            In float32 for a float32 image, else in float64.
        """
        f = self.factor
        v = as_float(v)
        size = fast_shape(v.shape, f)
        kernel, power = self._spectra(size, v.dtype)
        padded = np.zeros(size, dtype=v.dtype)
        padded[:v.shape[0], :v.shape[1]] = v
        observed = fft.irfft2(fft.rfft2(padded) * kernel.conj(),
                              size)[::f, ::f]
        inner = fft.irfft2(fft.rfft2(observed) / (v.dtype.type(alpha) + power),
                           observed.shape)
        spread = np.zeros(size, dtype=v.dtype)
        spread[::f, ::f] = inner
        x = (padded - fft.irfft2(fft.rfft2(spread) * kernel, size)) \
            / v.dtype.type(alpha)
        return x[:v.shape[0], :v.shape[1]]
