"""The pretrained prior, sksm.restoration and the denoising calibration."""

import copy
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_sample_image
from sklearn.exceptions import ConvergenceWarning

from sksm import FieldsOfExperts, load_pretrained_foe, restoration
from sksm.image import add_noise, extract_patches, psnr
from sksm.io import load_model, save_model
from sksm.restoration._policy import _OPPONENT


@pytest.fixture(scope="module")
def pretrained():
    return load_pretrained_foe()


@pytest.fixture(scope="module")
def flower():
    """A colour crop of scikit-learn's flower.jpg, not a training image."""
    return load_sample_image("flower.jpg")[150:246, 250:346]


def _gray(rgb):
    return (rgb / 255.0) @ np.array([0.2125, 0.7154, 0.0721])


def test_pretrained_model_is_a_calibrated_5x5x24_foe(pretrained):
    assert isinstance(pretrained, FieldsOfExperts)
    assert pretrained.filters_.shape == (24, 5, 5)
    table = pretrained.denoise_calibration_
    assert table.shape[1] == 3 and np.all(np.diff(table[:, 0]) > 0)
    # each call gives a fresh estimator: changing one leaves the next alone
    pretrained.set_params(reg_lambda=1.0)
    assert load_pretrained_foe().reg_lambda != 1.0


@pytest.mark.parametrize("sigma", [5 / 255, 25 / 255])
def test_pretrained_denoises_an_unseen_photo(pretrained, flower, sigma):
    clean = _gray(flower)
    noisy = add_noise(clean, sigma, random_state=0)
    out = restoration.denoise(noisy, sigma)
    # a textured crop: measured +1.24 dB at sigma 5/255, +4.36 dB at 25/255
    assert psnr(clean, out) > psnr(clean, noisy) + (0.8 if sigma < 0.1
                                                    else 3.5)


def test_opponent_transform_is_orthonormal():
    np.testing.assert_allclose(_OPPONENT @ _OPPONENT.T, np.eye(3), atol=1e-15)


def test_colour_denoising_keeps_dtype_and_axis(pretrained, flower):
    noisy = np.clip(flower + 12 * np.random.RandomState(0)
                    .standard_normal(flower.shape), 0, 255).astype(np.uint8)
    out = restoration.denoise(noisy, 12 / 255, model=pretrained,
                              channel_axis=-1)
    assert out.dtype == np.uint8 and out.shape == flower.shape
    # measured +2.53 dB
    assert psnr(flower / 255, out / 255) > \
        psnr(flower / 255, noisy / 255) + 2
    first = restoration.denoise(np.moveaxis(noisy, -1, 0), 12 / 255,
                                model=pretrained, channel_axis=0)
    np.testing.assert_array_equal(np.moveaxis(first, 0, -1), out)


def test_colour_super_resolution_and_inpainting(pretrained, flower):
    low = flower[:48, :48].reshape(24, 2, 24, 2, 3).mean(axis=(1, 3))
    up = restoration.super_resolve(low / 255, 2, model=pretrained,
                                   channel_axis=-1, max_num_iter=20)
    assert up.shape == (48, 48, 3)
    np.testing.assert_allclose(
        up.reshape(24, 2, 24, 2, 3).mean(axis=(1, 3)), low / 255, atol=1e-12)
    mask = np.zeros((96, 96), bool)
    mask[40:46, 40:50] = True
    filled = restoration.inpaint(flower, mask, model=pretrained,
                                 channel_axis=-1, max_num_iter=50)
    np.testing.assert_array_equal(filled[~mask], flower[~mask])


@pytest.mark.parametrize("kwargs, error, match", [
    ({"model": "foe.npz"}, TypeError, "FieldsOfExperts"),
    ({"channel_axis": -1}, ValueError, "channel_axis"),
])
def test_restoration_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        restoration.denoise(np.zeros((30, 30)), 0.1, **kwargs)


@pytest.fixture(scope="module")
def small_model():
    rgb = load_sample_image("china.jpg").astype(float) / 255
    photo = rgb[100:196, 200:296] @ np.array([0.2125, 0.7154, 0.0721])
    X = extract_patches([photo], 20, max_patches=100, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = FieldsOfExperts(n_experts=6, max_iter=30,
                                random_state=0).fit(X)
    return model, photo


def test_calibration_picks_the_best_candidate(small_model):
    model, photo = small_model
    weights, scales = [0.3, 1.0, 3.0], [1.0, 2.0]
    sigmas = [0.1, 0.02]
    model.calibrate_denoising(photo[:48, :48], sigmas, weights, scales,
                              search="grid", random_state=0)
    table = model.denoise_calibration_
    np.testing.assert_array_equal(table[:, 0], sorted(sigmas))
    # the same search by hand, with the same seeded noise
    rng = np.random.RandomState(0)
    pairs = [(w, s) for s in scales for w in weights]
    for sigma, weight, scale in table:
        noisy = photo[:48, :48] + sigma * rng.standard_normal((48, 48))
        scores = [psnr(photo[:48, :48], model.denoise(
            noisy, sigma, prior_weight=w, prior_scale=s)) for w, s in pairs]
        assert (weight, scale) == pairs[int(np.argmax(scores))]


def test_auto_prior_parameters_interpolate_in_log_log(small_model):
    model, photo = small_model
    model = copy.deepcopy(model)
    model.denoise_calibration_ = np.array([[0.02, 1.0, 1.0],
                                           [0.08, 0.25, 4.0]])
    noisy = photo[:40, :40]
    for sigma, weight, scale in [(0.01, 1.0, 1.0), (0.02, 1.0, 1.0),
                                 (0.04, 0.5, 2.0), (0.08, 0.25, 4.0),
                                 (0.2, 0.25, 4.0)]:
        np.testing.assert_allclose(
            model.denoise(noisy, sigma, max_iter=3),
            model.denoise(noisy, sigma, prior_weight=weight,
                          prior_scale=scale, max_iter=3), rtol=1e-9)


def test_prior_scale_scales_the_filter_responses(small_model):
    model, photo = small_model
    scaled = copy.deepcopy(model)
    scaled.filters_ = 2.0 * model.filters_
    noisy = photo[:40, :40]
    np.testing.assert_allclose(
        model.denoise(noisy, 0.05, prior_weight=1.0, prior_scale=2.0),
        scaled.denoise(noisy, 0.05, prior_weight=1.0, prior_scale=1.0),
        rtol=1e-12)
    with pytest.raises(ValueError, match="prior_scale"):
        model.denoise(noisy, 0.05, prior_scale=0)


def test_calibration_survives_saving_and_refitting_drops_it(small_model,
                                                            tmp_path):
    model, photo = small_model
    model = copy.deepcopy(model)
    model.denoise_calibration_ = np.array([[0.02, 1.0, 1.0],
                                           [0.08, 0.25, 2.0]])
    save_model(model, tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.denoise_calibration_,
                                  model.denoise_calibration_)
    X = extract_patches([photo], 20, max_patches=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        loaded.set_params(max_iter=2).fit(X)
    assert not hasattr(loaded, "denoise_calibration_")


def test_bad_calibration_table_is_refused(small_model, tmp_path):
    model, _ = small_model
    model = copy.deepcopy(model)
    model.denoise_calibration_ = np.array([[0.08, 1.0, 1.0],
                                           [0.02, 0.25, 1.0]])
    save_model(model, tmp_path / "m.npz")
    with pytest.raises(ValueError, match="denoise_calibration_"):
        load_model(tmp_path / "m.npz")


def test_local_calibration_search_ends_at_a_local_maximum(small_model):
    model, photo = small_model
    model = copy.deepcopy(model)
    weights, scales = [0.1, 0.3, 1.0, 3.0], [0.5, 1.0, 2.0, 4.0]
    calls = []
    model.calibrate_denoising(photo[:48, :48], [0.05], weights, scales,
                              random_state=0)
    (sigma, weight, scale), = model.denoise_calibration_
    i, j = weights.index(weight), scales.index(scale)
    rng = np.random.RandomState(0)
    noisy = photo[:48, :48] + sigma * rng.standard_normal((48, 48))

    def score(a, b):
        calls.append((a, b))
        return psnr(photo[:48, :48], model.denoise(
            noisy, sigma, prior_weight=weights[a], prior_scale=scales[b]))

    best = score(i, j)
    for a in range(max(i - 1, 0), min(i + 2, 4)):
        for b in range(max(j - 1, 0), min(j + 2, 4)):
            assert score(a, b) <= best + 1e-12


def test_float_images_on_another_scale_need_data_range(pretrained, flower):
    clean = _gray(flower)
    noisy = add_noise(clean, 15 / 255, random_state=0)
    with pytest.raises(ValueError, match="data_range"):
        restoration.denoise(255 * noisy, 15.0)
    scaled = restoration.denoise(255 * noisy, 15.0, data_range=255)
    unit = restoration.denoise(noisy, 15 / 255)
    np.testing.assert_allclose(scaled, 255 * unit, rtol=1e-6, atol=1e-6)
    values = np.rint(255 * np.clip(noisy, 0, 1)).astype(np.int64)
    with pytest.raises(ValueError, match="int64.*data_range"):
        restoration.denoise(values, 15 / 255)
    out = restoration.denoise(values, 15.0, data_range=255)
    assert out.dtype == np.int64 and 0 <= out.min() and out.max() <= 255


def test_dtypes_follow_scikit_image(pretrained, flower):
    clean = _gray(flower)
    noisy = add_noise(clean, 10 / 255, random_state=0)
    assert restoration.denoise(noisy.astype(np.float32),
                               10 / 255).dtype == np.float32
    as16 = np.rint(np.clip(noisy, 0, 1) * 65535).astype(np.uint16)
    out = restoration.denoise(as16, 10 / 255)
    assert out.dtype == np.uint16
    assert psnr(clean, out / 65535) > psnr(clean, noisy) + 1


def test_sigma_is_estimated_or_checked(pretrained, flower):
    clean = _gray(flower)
    noisy = np.rint(255 * np.clip(add_noise(clean, 15 / 255, random_state=0),
                                  0, 1)).astype(np.uint8)
    auto = restoration.denoise(noisy, None)
    given = restoration.denoise(noisy, 15 / 255)
    assert abs(psnr(clean, auto / 255) - psnr(clean, given / 255)) < 0.3
    with pytest.warns(UserWarning, match="far from the noise"):
        restoration.denoise(noisy, 15)          # 0-255 units, meant 15/255
    with pytest.warns(UserWarning, match="far from the noise"):
        restoration.denoise(noisy, 0.06 / 255)  # the reverse mistake


def test_skimage_argument_names(pretrained, flower):
    clean = _gray(flower)[:40, :40]
    noisy = add_noise(clean, 0.05, random_state=0)
    a = restoration.denoise(noisy, sigma=0.05, max_num_iter=5, rng=0,
                            method="mmse")
    b = restoration.denoise(noisy, sigma=0.05, max_num_iter=5, rng=0,
                            method="mmse")
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="max_num_iter"):
        restoration.denoise(noisy, 0.05, max_num_iter=0)


def test_estimator_messages_point_to_what_to_use(pretrained, flower):
    with pytest.raises(ValueError, match="channel_axis"):
        pretrained.denoise(flower / 255.0, 0.1)
    with pytest.raises(ValueError, match="extract_patches.*image_shape"):
        FieldsOfExperts().fit(np.random.RandomState(0).rand(1, 512))


@pytest.mark.parametrize("sigma", [None, 0.1])
def test_denoise_checks_the_image_and_estimates_sigma_once(monkeypatch,
                                                           sigma):
    """Issue 14, part 4: the pixels are scanned for NaN once and the noise
    level estimated once, not again by the estimator."""
    import sksm.restoration._policy
    from sksm import _validation

    calls = {"finite scans": 0, "estimates": 0}

    def counting_check(image, name="image", ndim=(2,), finite=True):
        calls["finite scans"] += finite
        return _validation.check_image(image, name, ndim, finite)

    def counting_estimate(image, **kwargs):
        calls["estimates"] += 1
        return sksm.image.estimate_sigma(image, **kwargs)

    # every check of a restoration lives in sksm/restoration/_policy.py
    module = sksm.restoration._policy
    monkeypatch.setattr(module, "check_image", counting_check)
    monkeypatch.setattr(module, "estimate_sigma", counting_estimate)
    noisy = add_noise(np.tile(np.linspace(0, 1, 40), (40, 1)), 0.1,
                      random_state=0)
    restoration.denoise(noisy, sigma)
    assert calls == {"finite scans": 1, "estimates": 1}
