"""Old spellings that stay one release: each warns and gives the same result."""

import numpy as np
import pytest

from sksm import RegularizedScoreMatchingPoE, load_pretrained_foe
from sksm.metrics import make_denoising_scorer


@pytest.fixture(scope="module")
def noisy():
    rng = np.random.RandomState(0)
    clean = np.tile(np.linspace(0.2, 0.8, 32), (32, 1))
    return clean, clean + 0.1 * rng.standard_normal(clean.shape)


def test_foe_denoise_noise_sigma_is_sigma(noisy):
    model = load_pretrained_foe()
    new = model.denoise(noisy[1], sigma=0.1, max_iter=3)
    with pytest.warns(FutureWarning, match="noise_sigma was renamed sigma"):
        old = model.denoise(noisy[1], noise_sigma=0.1, max_iter=3)
    np.testing.assert_array_equal(old, new)
    with pytest.raises(TypeError, match="Pass sigma only"):
        model.denoise(noisy[1], 0.1, noise_sigma=0.1)


def test_calibrate_denoising_noise_sigmas_is_sigmas(noisy):
    model = load_pretrained_foe()
    kwargs = dict(prior_weights=[0.5, 1.0], prior_scales=[1.0, 2.0],
                  max_iter=2, search="grid")
    new = model.calibrate_denoising(noisy[0], sigmas=[0.1],
                                    **kwargs).denoise_calibration_
    with pytest.warns(FutureWarning, match="noise_sigmas was renamed sigmas"):
        old = model.calibrate_denoising(noisy[0], noise_sigmas=[0.1],
                                        **kwargs).denoise_calibration_
    np.testing.assert_array_equal(old, new)


def test_poe_denoise_noise_sigma_is_sigma():
    X = np.random.RandomState(0).laplace(size=(200, 4))
    poe = RegularizedScoreMatchingPoE(max_iter=5, random_state=0).fit(X)
    new = poe.denoise(X[:5], 0.3)
    with pytest.warns(FutureWarning, match="noise_sigma was renamed sigma"):
        old = poe.denoise(X[:5], noise_sigma=0.3)
    np.testing.assert_array_equal(old, new)
    with pytest.raises(TypeError, match="missing sigma"):
        poe.denoise(X[:5])


def test_denoising_scorer_noise_sigma_is_sigma():
    with pytest.warns(FutureWarning, match="noise_sigma was renamed sigma"):
        make_denoising_scorer(noise_sigma=0.1)
    with pytest.raises(TypeError, match="Pass sigma only"):
        make_denoising_scorer(0.1, noise_sigma=0.1)


def test_foe_denoise_estimates_sigma_like_restoration(noisy):
    """sigma=None on the estimator's door is the policy of
    sksm.restoration.denoise: the level estimated from the image."""
    from sksm import restoration
    model = load_pretrained_foe()
    np.testing.assert_array_equal(
        model.denoise(noisy[1], max_iter=3),
        restoration.denoise(noisy[1], model=model, max_num_iter=3))
