r"""Linear forward models of restoration: an image ``x`` observed as ``A x``.

A forward operator is any object with

- ``apply(x)``: the observation of one image ``x`` of shape (height,
  width), without noise;
- ``adjoint(y)``: :math:`A^T y`, an image of the shape of ``x``, with
  :math:`\langle A x, y \rangle = \langle x, A^T y \rangle`;
- ``reach``: how many pixels of ``x`` away from an observed pixel its value
  depends on (the context a tile needs).

Two members are optional:

- ``factor``: an operator that is the same on every window of an image
  (a blur, a downsampling) says so by its ``factor``, the number of pixels
  of ``x`` per observed pixel along each side (1 for a blur); the solvers
  then restore a large image tile by tile.  Without it, the image is
  restored whole;
- ``gram_solve(v, alpha)``: an approximation of :math:`(A^T A + \alpha
  I)^{-1} v`, symmetric and positive definite, which preconditions the
  solvers' conjugate gradients (here: exact for the periodic version of
  the operator on the image zero-padded to a fast FFT shape,
  :func:`fast_shape`, by the FFT).

The operators here keep float32 images in float32 (the solvers' data steps
run in the prior's precision, where the FFT is two to four times as fast)
and compute everything else in float64.

:class:`Blur` (a point-spread function, with the image extended by
mirroring about its edges), :class:`Mask` (pixels kept or lost) and
:class:`Compose` (one after another) are written here, and
:class:`~sksm.posterior.Downsample` (a low-pass kernel, then one pixel in
``factor`` along each side) in ``_downsample``.
"""

import numbers

import numpy as np
from scipy import fft

from .._validation import check_mask

__all__ = ["Blur", "Compose", "Mask"]


def as_float(x):
    """``x`` as a float array: float32 stays float32 (the solvers' data
    steps run in it, the FFT two to four times as fast), anything else
    becomes float64."""
    x = np.asarray(x)
    return x if x.dtype == np.float32 else x.astype(np.float64)


def fast_shape(shape, multiple=1):
    """The smallest shape at least ``shape`` whose sides are multiples of
    ``multiple`` and fast FFT lengths (``multiple`` times a product of 2, 3
    and 5): a side with a large prime factor takes the FFT several times as
    long (a deblurring tile's window of 542 pixels, 2 x 271, took three
    times as long as 576 in float64, six times in float32)."""
    return tuple(multiple * fft.next_fast_len(-(-int(n) // multiple),
                                              real=True) for n in shape)


def _fold_symmetric(padded, before, after, axis):
    """The adjoint of ``np.pad(x, ..., mode='symmetric')`` along ``axis``:
    the values of the mirrored margins are added back onto the pixels they
    copy."""
    padded = np.moveaxis(padded, axis, 0)
    length = padded.shape[0] - before - after
    out = padded[before:before + length].copy()
    if before:
        out[:before] += padded[:before][::-1]
    if after:
        out[length - after:] += padded[before + length:][::-1]
    return np.moveaxis(out, 0, axis)


class Blur:
    r"""Convolution with a point-spread function.

    The observed pixel ``i`` is :math:`\sum_k h_k\, x_{i - k}`, with ``k``
    counted from the centre of the point-spread function ``h`` (row
    ``h.shape[0] // 2``, column ``h.shape[1] // 2``), and the image
    extended beyond its edges by mirroring about them (``'symmetric'``:
    ``d c b a | a b c d``, scipy.ndimage's ``'reflect'``): the observation
    has the shape of the image.  Computed with the FFT.

    Parameters
    ----------
    psf : array-like of shape (psf_height, psf_width)
        The point-spread function, finite; not normalised here (a blur
        that keeps the brightness sums to 1).

    Attributes
    ----------
    psf : ndarray of shape (psf_height, psf_width)
        A float64 copy.
    reach : int
        The largest distance, in pixels, from a pixel's centre to the
        pixels its observation depends on.
    factor : int
        1: the observation has the image's grid, and the blur is the same
        on every window.

    Raises
    ------
    ValueError
        If ``psf`` is not a non-empty 2-D array of finite numbers.
    """

    def __init__(self, psf):
        try:
            psf = np.array(psf, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError("psf must be a 2-D array of numbers, got "
                             f"{type(psf).__name__}.") from None
        if psf.ndim != 2 or psf.size == 0:
            raise ValueError("psf must be a non-empty 2-D array, got shape "
                             f"{psf.shape}.")
        if not np.all(np.isfinite(psf)):
            raise ValueError("psf holds NaN or infinite values; give a "
                             "finite point-spread function.")
        self.psf = psf
        # the centre's margins: above/left and below/right of it
        self._margins = [(n - 1 - n // 2, n // 2) for n in psf.shape]
        self.reach = max(max(m) for m in self._margins)
        self._cache = {}

    factor = 1

    def _check(self, x, name):
        x = as_float(x)
        if x.ndim != 2:
            raise ValueError(f"{name} must be one 2-D image, got shape "
                             f"{x.shape}.")
        if any(m > n for (before, after), n in zip(self._margins, x.shape)
               for m in (before, after)):
            raise ValueError(
                f"{name} of shape {x.shape} is smaller than half the "
                f"point-spread function {self.psf.shape}: give a larger "
                "image or a smaller psf.")
        return x

    def apply(self, x):
        """Blur one image.

        Parameters
        ----------
        x : array-like of shape (height, width)
            The image, at least half the point-spread function a side.

        Returns
        -------
        y : ndarray of shape (height, width)
            In float32 for a float32 image, else in float64.
        """
        x = self._check(x, "x")
        padded = np.pad(x, self._margins, mode="symmetric")
        size, forward, _ = self._spectra(padded.shape, x.dtype)
        full = fft.irfft2(fft.rfft2(padded, size) * forward, size)
        return full[self.psf.shape[0] - 1:padded.shape[0],
                    self.psf.shape[1] - 1:padded.shape[1]]

    def _spectra(self, shape, dtype):
        """The FFT size for images of ``shape`` extended by the margins, and
        the spectra of the point-spread function and of its mirror image in
        ``dtype`` (kept for the shapes met: the solvers apply the operator
        many times to images of one shape)."""
        spectra = self._cache.get((shape, dtype))
        if spectra is None:
            size = fast_shape(shape)
            psf = self.psf.astype(dtype)
            spectra = (size, fft.rfft2(psf, size),
                       fft.rfft2(psf[::-1, ::-1], size))
            if len(self._cache) < 16:
                self._cache[shape, dtype] = spectra
        return spectra

    def adjoint(self, y):
        """The adjoint: correlation with the point-spread function.

        The values that fall on the mirrored margins are folded back onto
        the pixels they mirror.

        Parameters
        ----------
        y : array-like of shape (height, width)
            An observation (or any array of its shape).

        Returns
        -------
        x : ndarray of shape (height, width)
            In float32 for a float32 image, else in float64.
        """
        y = self._check(y, "y")
        shape = tuple(n + k - 1 for n, k in zip(y.shape, self.psf.shape))
        size, _, backward = self._spectra(shape, y.dtype)
        full = fft.irfft2(fft.rfft2(y, size) * backward, size)
        full = full[:shape[0], :shape[1]]
        for axis, (before, after) in enumerate(self._margins):
            full = _fold_symmetric(full, before, after, axis)
        return full

    def gram_solve(self, v, alpha):
        r""":math:`(A^T A + \alpha I)^{-1} v` for the periodic blur.

        The preconditioner of the solvers: exact when the image wraps
        around instead of being mirrored (a division by
        :math:`|\hat h|^2 + \alpha` in Fourier space) and its shape is a
        fast FFT shape; otherwise the image is zero-padded to the next one
        (:func:`fast_shape`) and the result cropped back: a third of the
        cost or less for sides such as 542 (2 x 271), and as a
        preconditioner no worse (the deblurring benchmark's PSNR moved by 0
        to +0.05 dB).

        Parameters
        ----------
        v : ndarray of shape (height, width)
            An image.
        alpha : float
            Positive.

        Returns
        -------
        x : ndarray of shape (height, width)
            In float32 for a float32 image, else in float64.
        """
        v = as_float(v)
        size = fast_shape(v.shape)
        key = ("gram", size, v.dtype)
        power = self._cache.get(key)
        if power is None:
            power = np.abs(fft.rfft2(self.psf.astype(v.dtype), size)) ** 2
            if len(self._cache) < 16:
                self._cache[key] = power
        x = fft.irfft2(fft.rfft2(v, size) / (power + v.dtype.type(alpha)),
                       size)
        return x[:v.shape[0], :v.shape[1]]


class Mask:
    """Pixels observed (True) or lost (False): ``A x = mask * x``.

    Parameters
    ----------
    mask : array-like of bool, shape (height, width)
        True where the pixel is observed.

    Attributes
    ----------
    reach : int
        0: every observed pixel is itself.

    Raises
    ------
    ValueError
        If ``mask`` is not 2-D.
    TypeError
        If ``mask`` is not boolean (integer 0 and 1 are accepted).
    """

    reach = 0

    def __init__(self, mask):
        shape = np.shape(mask)
        if len(shape) != 2:
            raise ValueError(f"mask must be 2-D, got shape {shape}.")
        self.mask = check_mask(mask, shape, "True where the pixel is observed")

    def apply(self, x):
        """The image with its lost pixels set to 0.

        Parameters
        ----------
        x : array-like of shape (height, width)
            The image, of the mask's shape.

        Returns
        -------
        y : ndarray of shape (height, width)
            In float32 for a float32 image, else in float64.
        """
        x = as_float(x)
        if x.shape != self.mask.shape:
            raise ValueError(f"x has shape {x.shape}, the mask "
                             f"{self.mask.shape}.")
        return np.where(self.mask, x, x.dtype.type(0))

    def adjoint(self, y):
        """The adjoint, which is the operator itself.

        Parameters
        ----------
        y : array-like of shape (height, width)
            An observation, of the mask's shape.

        Returns
        -------
        x : ndarray of shape (height, width)
            ``y`` with its lost pixels set to 0, in float32 for a float32
            ``y``, else in float64.
        """
        return self.apply(y)


class Compose:
    """Operators applied one after another.

    ``Compose(A, B)`` is ``A B``: ``B`` is applied first.

    Parameters
    ----------
    *operators : forward operators
        Each with ``apply``, ``adjoint`` and ``reach``; the last is applied
        first.

    Attributes
    ----------
    reach : int
        The sum of the operators' reaches.
    factor : int
        The product of the operators' factors; only when every operator
        has one.

    Raises
    ------
    TypeError
        If an operator lacks ``apply``, ``adjoint`` or an integer ``reach``.
    """

    def __init__(self, *operators):
        for op in operators:
            if not (callable(getattr(op, "apply", None))
                    and callable(getattr(op, "adjoint", None))
                    and isinstance(getattr(op, "reach", None),
                                   numbers.Integral)):
                raise TypeError(
                    "every operator needs apply(x), adjoint(y) and an "
                    f"integer reach; got {type(op).__name__}.")
        if not operators:
            raise TypeError("Compose needs at least one operator.")
        self.operators = operators
        self.reach = int(sum(op.reach for op in operators))
        factors = [getattr(op, "factor", None) for op in operators]
        if None not in factors:     # the same on every window
            self.factor = int(np.prod(factors))

    def apply(self, x):
        """Apply the operators to one image, the last one first.

        Parameters
        ----------
        x : array-like of shape (height, width)
            The image.

        Returns
        -------
        y : ndarray
            The observation of the first operator.
        """
        for op in reversed(self.operators):
            x = op.apply(x)
        return x

    def adjoint(self, y):
        """The adjoint: the operators' adjoints, the first one first.

        Parameters
        ----------
        y : array-like
            An observation.

        Returns
        -------
        x : ndarray of shape (height, width)
            The last operator's adjoint.
        """
        for op in self.operators:
            y = op.adjoint(y)
        return y
