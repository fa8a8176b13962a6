"""Denoising of photon-limited images: Poisson and Poisson-Gaussian noise.

The door of :func:`sksm.restoration.denoise` with ``noise='poisson'`` or
``'poisson-gaussian'``: the counts are stabilised to white Gaussian noise
of unit variance (:func:`sksm.posterior.anscombe`), scaled so that white
maps to 1, denoised there as any image with white noise, and mapped back
by the exact unbiased inverse (:func:`sksm.posterior.exact_unbiased_inverse`).
Colour channels are stabilised one by one, which keeps their noise white
and equal, so the opponent channels restore them as for Gaussian noise.
"""

import numbers

import numpy as np

from .. import posterior
from .._validation import check_sigma
from ..image import restore_dtype
from ._policy import channels, from_restorable, restorable

__all__ = ["NOISE_MODELS", "check_noise", "denoise_photons"]

#: The noise models of :func:`sksm.restoration.denoise`.
NOISE_MODELS = ("gaussian", "poisson", "poisson-gaussian")


def check_noise(noise, sigma, peak):
    """``(noise, peak)`` checked: ``peak`` a positive number for the photon
    models and None for Gaussian noise, ``sigma`` given for
    'poisson-gaussian' and None for 'poisson'."""
    if noise not in NOISE_MODELS:
        listed = ", ".join(map(repr, NOISE_MODELS))
        raise ValueError(f"noise must be one of {listed}, got {noise!r}.")
    if noise == "gaussian":
        if peak is not None:
            raise ValueError(
                "peak applies to noise='poisson' or 'poisson-gaussian' (the "
                "photon count of white); leave peak=None for Gaussian noise.")
        return noise, None
    if peak is None or isinstance(peak, bool) or not isinstance(
            peak, numbers.Real) or not np.isfinite(peak) or peak <= 0:
        raise ValueError(
            f"noise={noise!r} needs peak, the photon count of white (the "
            "image holds counts / peak on the [0, 1] scale): a positive "
            f"number, got {peak!r}.")
    if noise == "poisson" and sigma is not None:
        raise ValueError(
            "noise='poisson' has no Gaussian part: leave sigma=None, or use "
            "noise='poisson-gaussian' with sigma the read noise.")
    if noise == "poisson-gaussian" and sigma is None:
        raise ValueError(
            "noise='poisson-gaussian' needs sigma, the standard deviation of "
            "the Gaussian part on the image's scale (white = 1).")
    return noise, float(peak)


def _check_counts(x, peak, read, data_range):
    """Refuse pixels that no count of white ``peak`` explains: below minus
    six read-noise deviations, or above the Poisson tail of white (its mean
    plus ten deviations and ten counts), most likely an image on another
    scale."""
    low = -6 * read - 1
    high = peak + 10 * np.sqrt(peak) + 10 + 6 * read
    lowest, highest = float(x.min()) * peak, float(x.max()) * peak
    if lowest < low or highest > high:
        unit = 1.0 if data_range is None else data_range
        raise ValueError(
            f"image holds pixels from {lowest / peak * unit:.4g} to "
            f"{highest / peak * unit:.4g}, that is {lowest:.4g} to "
            f"{highest:.4g} counts at peak={peak:g}, which no photon counts "
            "with white at peak explain: the image must hold counts / peak "
            "on the [0, 1] scale (or, with data_range, counts / peak * "
            "data_range); check peak and data_range.")


def denoise_photons(image, sigma, peak, denoise, *, model, channel_axis,
                    data_range):
    """:func:`sksm.restoration.denoise` for photon noise (see the module):
    ``denoise(stack, level)`` denoises the stabilised channels."""
    x, arr = channels(model, image, channel_axis, data_range,
                      check_range=False)
    # the Gaussian part in counts (sigma on the scale the image is
    # restored on, as for Gaussian noise)
    read = 0.0 if sigma is None else peak * check_sigma(
        sigma if data_range is None else sigma / data_range)
    _check_counts(x, peak, read, data_range)
    white = float(posterior.anscombe(peak, read))
    stabilised = posterior.anscombe(x * peak, read) / white
    # unit variance, on the scale of white = 1, taken a little below
    level = posterior.STABILISED_LEVEL / white
    stack = restorable(stabilised.astype(x.dtype, copy=False))
    denoised = from_restorable(denoise(stack, level), x.shape[0])
    counts = posterior.exact_unbiased_inverse(white * denoised, read)
    out = counts / peak
    out = out[0] if channel_axis is None else np.moveaxis(out, 0,
                                                          channel_axis)
    return restore_dtype(out.astype(x.dtype, copy=False), arr, data_range)
