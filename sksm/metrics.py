"""Scorers that judge an image prior by what it is for."""

import numpy as np
from sklearn.utils import check_random_state

from ._validation import check_sigma, renamed_argument
from .image import psnr

__all__ = ["make_denoising_scorer"]


def make_denoising_scorer(sigma=None, *, random_state=0,
                          noise_sigma="deprecated", **denoise_params):
    """A scorer: mean PSNR (dB) after denoising noisy held-out images.

    For ``GridSearchCV(FieldsOfExperts(...), {"reg_lambda": [...]},
    scoring=make_denoising_scorer(15 / 255))``: each held-out row is reshaped
    to the estimator's ``image_shape_``, Gaussian noise of standard deviation
    ``sigma`` is added (seeded by ``random_state``, so every candidate
    sees the same noise), the estimator denoises it, and the scorer returns
    the mean PSNR against the clean image, with a data range of 1.

    Parameters
    ----------
    sigma : float
        Noise standard deviation, in the units of the images (1 = full
        range); required (None stands in for it only while ``noise_sigma``
        remains).
    random_state : int, default=0
        Seed of the noise.
    noise_sigma : float
        Deprecated spelling of ``sigma`` (a ``FutureWarning``); removed in
        0.3.
    **denoise_params
        Passed to the estimator's ``denoise`` (e.g. ``max_iter``).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None) -> float``; higher is better.
    """
    sigma = renamed_argument(sigma, noise_sigma, "sigma", "noise_sigma")
    if sigma is None:
        raise TypeError("make_denoising_scorer() missing sigma, the standard "
                        "deviation of the noise added to the images.")
    sigma = check_sigma(sigma)

    def denoising_psnr(estimator, X, y=None):
        images = np.asarray(X, dtype=np.float64).reshape(
            (len(X),) + tuple(estimator.image_shape_))
        rng = check_random_state(random_state)
        noisy = images + sigma * rng.standard_normal(images.shape)
        restored = estimator.denoise(noisy, sigma, **denoise_params)
        return float(np.mean([psnr(c, r) for c, r in zip(images, restored)]))

    return denoising_psnr
