"""Numerical extremes: finite answers or a clear error (issue 14, part 2)."""

import numpy as np
import pytest

from sksm import (
    FieldsOfExperts,
    GaussianRBM,
    RegularizedScoreMatchingPoE,
    load_pretrained_foe,
    restoration,
)
from sksm.energies.layers import split_exponent
from sksm.experts import StudentT
from sksm.image import psnr


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_student_t_is_finite_for_any_finite_response(dtype):
    expert = StudentT()
    big = np.finfo(dtype).max
    z = np.array([0.0, 0.3, -2.0, 1e3, -1e15, 1e19, 1e30, -1e38, big / 2],
                 dtype=dtype)
    parts = expert.derivatives(z, value=True)
    for part in parts:
        assert part.dtype == dtype
        assert np.isfinite(part).all()
    assert np.isfinite(expert.value(z)).all()
    # g = log(1 + (c z)^2 / 2) ~ 2 log(c |z| / sqrt 2) for large |z|
    np.testing.assert_allclose(
        parts[0][-1],
        2 * (np.log(float(z[-1])) + np.log(expert.c / np.sqrt(2))), rtol=1e-6)


def test_student_t_large_branch_agrees_and_matches_finite_differences():
    expert = StudentT()
    z = np.linspace(-4, 4, 81)
    for a, b in zip(expert.derivatives(z, value=True),
                    expert._large(z, True, 3)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    z = np.array([1.0, -7.0, 1e3, 5e10, -2e100])
    h = np.abs(z) * 1e-6
    parts = expert._large(z, True, 3)
    for k in range(3):
        step = (expert._large(z + h, True, 3)[k]
                - expert._large(z - h, True, 3)[k]) / (2 * h)
        np.testing.assert_allclose(step, parts[k + 1], rtol=1e-6)


def test_poe_scores_and_activations_of_huge_inputs_are_finite():
    X = np.random.RandomState(0).randn(200, 4)
    poe = RegularizedScoreMatchingPoE(4, max_iter=20, random_state=0).fit(X)
    huge = np.full((1, 4), 1e200)
    scores, activations = poe.score_samples(huge), poe.transform(huge)
    assert np.isfinite(scores).all() and np.isfinite(activations).all()
    assert scores[0] < poe.score_samples(np.zeros((1, 4)))[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_student_t_scaled_value_is_the_value_at_the_scaled_response(dtype):
    expert = StudentT()
    u = np.array([0.75, -0.5, 1e-3, -0.999], dtype=dtype)
    for k in (40, 60, 100):
        z = np.ldexp(u.astype(np.float64), k)
        np.testing.assert_allclose(expert.scaled_value(u, k),
                                   expert.value(z), rtol=2e-6)
    assert expert.scaled_value(u, 2000).dtype == dtype
    # derivatives at a response that overflowed: zero, never NaN
    g, *derivatives = expert.derivatives(
        np.array([np.inf, -np.inf], dtype=dtype), value=True)
    np.testing.assert_array_equal(g, np.inf)
    for part in derivatives:
        np.testing.assert_array_equal(part, 0.0)


def test_split_exponent_scales_only_samples_near_the_float_maximum():
    rng = np.random.RandomState(0)
    X = rng.randn(4, 3)
    offset = rng.randn(3)
    mantissa, exponent = split_exponent(X, offset)
    assert exponent is None
    np.testing.assert_array_equal(mantissa, X - offset)  # bit for bit
    big = np.finfo(np.float64).max
    X[1] = [0.99 * big, -0.99 * big, 3.0]
    X[3] = [1e160, 1.0, -2.0]
    mantissa, exponent = split_exponent(X, offset)
    np.testing.assert_array_equal(exponent, [0, 1024, 0, 532])
    np.testing.assert_array_equal(mantissa[[0, 2]], (X - offset)[[0, 2]])
    assert np.abs(mantissa[[1, 3]]).max() <= 1
    np.testing.assert_allclose(np.ldexp(mantissa[3], 532), X[3] - offset,
                               rtol=1e-15, atol=1e-300)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_poe_answers_near_the_float_maximum_match_the_log_formula(dtype):
    """Responses of such inputs overflow (found by the property tests);
    the activations are g(w.x) = 2 log(c |w.x| / sqrt 2) to rounding."""
    X = np.random.RandomState(0).randn(200, 4)
    poe = RegularizedScoreMatchingPoE(4, features="activation", max_iter=20,
                                      random_state=0).fit(X.astype(dtype))
    direction = np.array([1.0, -1.0, 1.0, 1.0])
    W = poe.filters_.astype(np.float64)
    for scale in (0.25, 0.99):
        v = scale * float(np.finfo(dtype).max)
        x = (v * direction).astype(dtype)[None]
        activations = poe.transform(x)
        assert activations.dtype == dtype
        expected = 2 * (np.log(v / poe.scale_)
                        + np.log(np.abs(W @ direction))
                        + np.log(poe.c / np.sqrt(2)))
        np.testing.assert_allclose(activations[0], expected, rtol=1e-5)
        E = poe.energy(x)
        np.testing.assert_allclose(
            E, activations.astype(np.float64) @ poe.expert_weights_,
            rtol=1e-5)
        np.testing.assert_allclose(poe.score_samples(x),
                                   -E - poe.log_partition(), rtol=1e-5)
        grad = poe.grad_log_density(x)
        assert np.isfinite(grad).all() and np.abs(grad).max() < 1e-30
        denoised = poe.denoise(x, 0.5, max_iter=5, clip=False)
        assert np.isfinite(denoised).all()
        np.testing.assert_allclose(denoised, x, rtol=1e-6)
        boxed = poe.denoise(x, 0.5, max_iter=5)
        assert np.all((boxed >= poe.data_min_) & (boxed <= poe.data_max_))


def test_poe_fit_refuses_values_near_the_float_maximum():
    """Found by the property tests: the mean of such values overflowed."""
    X = np.full((4, 1), 8.99e307)
    X[::2] *= -1
    with pytest.raises(ValueError, match="X holds values up to 8.99e"
                                         ".*standardise X"):
        RegularizedScoreMatchingPoE(max_iter=2).fit(X)
    with pytest.raises(ValueError, match="standardise X"):
        RegularizedScoreMatchingPoE(solver="adam").partial_fit(
            np.full((4, 1), 1e19, dtype=np.float32))


def test_foe_fit_refuses_values_whose_squares_overflow():
    X = np.random.RandomState(0).rand(6, 36) * 1e200
    with pytest.raises(ValueError, match="Field of Experts.*standardise X"):
        FieldsOfExperts(n_experts=2, filter_size=2, max_iter=3).fit(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_foe_near_the_float_maximum(dtype):
    """Zero-mean images: finite activations and gradient; the energy (in
    float64) is +inf only where its mean term exceeds the float range."""
    foe = load_pretrained_foe()
    v = 0.99 * float(np.finfo(dtype).max)
    image = np.full((12, 12), v, dtype=dtype)
    image[::2] *= -1  # zero mean, responses beyond the float range
    assert np.isfinite(foe.grad_log_density(image)).all()
    constant = np.full((12, 12), v, dtype=dtype)
    if dtype == np.float64:  # beyond the float range
        assert foe.energy(constant) == np.inf
    else:
        excess = float(v) - foe.mean_brightness_
        np.testing.assert_allclose(
            foe.energy(constant),
            excess ** 2 / (2 * foe.std_brightness_ ** 2), rtol=1e-6)
    assert np.isfinite(foe.grad_log_density(constant)).all()
    small = FieldsOfExperts(n_experts=3, filter_size=3, image_shape=(6, 6),
                            max_iter=3, random_state=0)
    with pytest.warns(Warning):  # ConvergenceWarning of 3 iterations
        small.fit(np.random.RandomState(0).rand(20, 36).astype(dtype))
    activations = small.transform(image[:6, :6].reshape(1, -1))
    assert activations.dtype == dtype and np.isfinite(activations).all()


@pytest.mark.parametrize("sigma", [1e-300, 1e-160, 1e200])
def test_noise_levels_whose_square_is_not_a_normal_float_are_refused(sigma):
    X = np.random.RandomState(0).randn(50, 4)
    poe = RegularizedScoreMatchingPoE(4, max_iter=5, random_state=0).fit(X)
    foe = load_pretrained_foe()
    image = np.random.RandomState(1).rand(20, 20)
    for call, name in (
            (lambda: poe.denoise(X[:2], sigma=sigma), "sigma"),
            (lambda: foe.denoise(image, sigma), "sigma"),
            (lambda: restoration.denoise(image, sigma, model=foe), "sigma")):
        with pytest.raises(ValueError, match=rf"^{name}=.*out of range"):
            call()


def test_image_shape_of_three_values_is_a_clear_error():
    X = np.random.RandomState(0).rand(10, 64)
    with pytest.raises(ValueError, match=r"image_shape must be \(height, "
                                         r"width\).*\(8, 8, 1\)"):
        FieldsOfExperts(image_shape=(8, 8, 1)).fit(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_psnr_of_non_finite_images_is_an_error(bad):
    a = np.random.RandomState(0).rand(10, 10)
    b = a.copy()
    b[0, 0] = bad
    with pytest.raises(ValueError, match="estimate holds 1 NaN"):
        psnr(a, b)
    with pytest.raises(ValueError, match="reference holds 1 NaN"):
        psnr(b, a)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"max_iter": 0}, ValueError, "max_iter must be at least 1"),
    ({"max_iter": -5}, ValueError, "max_iter must be at least 1"),
    ({"max_iter": 2.5}, TypeError, "max_iter must be an integer"),
    ({"tol": -1.0}, ValueError, "tol must be a positive"),
])
def test_poe_denoise_validates_its_keywords(kwargs, error, match):
    X = np.random.RandomState(0).randn(50, 4)
    poe = RegularizedScoreMatchingPoE(4, max_iter=5, random_state=0).fit(X)
    with pytest.raises(error, match=match):
        poe.denoise(X[:2], 0.1, **kwargs)


def test_poe_denoise_warns_and_keeps_the_last_finite_estimate(monkeypatch):
    from sklearn.exceptions import ConvergenceWarning

    X = np.random.RandomState(0).randn(50, 4)
    poe = RegularizedScoreMatchingPoE(4, max_iter=5, random_state=0).fit(X)
    derivatives = StudentT.derivatives
    calls = {"n": 0}

    def faulty(self, z, value=False, order=3):  # NaN from the third call
        calls["n"] += 1
        parts = derivatives(self, z, value=value, order=order)
        if calls["n"] >= 3:
            parts = tuple(None if p is None else np.full_like(p, np.nan)
                          for p in parts)
        return parts

    monkeypatch.setattr(StudentT, "derivatives", faulty)
    with pytest.warns(ConvergenceWarning, match="non-finite"):
        out = poe.denoise(X[:3], 0.1)
    assert out.shape == (3, 4) and np.isfinite(out).all()


def test_student_t_returns_nan_for_nan_responses_without_recursing():
    """Found by the model-file fuzz test: a NaN response beside a huge one
    sent the overflow-free path back into itself without end."""
    expert = StudentT()
    for dtype in (np.float32, np.float64):
        z = np.array([np.nan, 1e200 if dtype == np.float64 else 1e30, 0.5],
                     dtype=dtype)
        g, g1, g2, g3 = expert.derivatives(z, value=True)
        for part in (g, g1, g2, g3):
            assert np.isnan(part[0]) and np.all(np.isfinite(part[1:]))
        assert np.isnan(expert.value(z)[0])


def test_gaussian_rbm_refuses_values_whose_squares_overflow():
    """Found by the property tests: an RBM fitted on such values overflowed
    in its quadratic energy, with RuntimeWarnings."""
    X = np.array([[3.8e154], [0.0], [1.0]])
    with pytest.raises(ValueError, match="standardise X"):
        GaussianRBM(n_components=2, max_iter=2).fit(X)
    with pytest.raises(ValueError, match="standardise X"):
        GaussianRBM(n_components=2, solver="adam").partial_fit(
            np.array([[1e19], [0.0], [1.0]], dtype=np.float32))


def test_score_of_finite_log_densities_near_the_float_limit_is_finite():
    X = np.array([[0.0], [1.0], [2.0]])
    rbm = GaussianRBM(n_components=1, max_iter=2, random_state=0).fit(X)
    far = np.full((4, 1), 1e154)
    assert np.all(np.isfinite(rbm.score_samples(far)))
    assert np.isfinite(rbm.score(far))
    assert rbm.score_samples(np.full((1, 1), 1e200))[0] == -np.inf
