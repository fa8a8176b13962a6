"""The pretrained prior, sksm.restoration and the denoising calibration."""

import copy
import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_sample_image
from sklearn.exceptions import ConvergenceWarning

from sksm import FieldsOfExperts, load_pretrained_foe, restoration
from sksm.image import add_noise, estimate_sigma, extract_patches, psnr
from sksm.io import load_model, save_model
from sksm.posterior import PRIOR_WEIGHTS
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
    filled, weights = restoration.inpaint(
        flower, mask, model=pretrained, channel_axis=-1, max_num_iter=50,
        return_prior_weight=True)
    np.testing.assert_array_equal(filled[~mask], flower[~mask])
    # the weights chosen for the opponent channels are reported (issue 27)
    assert weights.shape == (3,) and set(weights) <= set(PRIOR_WEIGHTS)
    np.testing.assert_array_equal(restoration.inpaint(
        flower[..., 0], mask, prior_weight=3e-4, model=pretrained,
        max_num_iter=2, return_prior_weight=True)[1], 3e-4)


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


def test_float32_and_uint16_keep_their_dtype(pretrained, flower):
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
        restoration.denoise(noisy, 0.06 / 255)  # the reverse mistake


def test_skimage_argument_names(pretrained, flower):
    clean = _gray(flower)[:40, :40]
    noisy = add_noise(clean, 0.05, random_state=0)
    a = restoration.denoise(noisy, sigma=0.05, max_num_iter=5, rng=0,
                            method="mmse", model=pretrained)
    b = restoration.denoise(noisy, sigma=0.05, max_num_iter=5, rng=0,
                            method="mmse", model=pretrained)
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
                                                           sigma, pretrained):
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
    restoration.denoise(noisy, sigma, model=pretrained)
    assert calls == {"finite scans": 1, "estimates": 1}


def _noisy_ramp(sigma, shape=(64, 64), seed=0):
    """A smooth ramp from 50 to 200 grey levels plus white Gaussian noise of
    ``sigma`` grey levels: the noise level is known."""
    ramp = np.linspace(50, 200, shape[1])[None] * np.ones(shape[:1])[:, None]
    noise = np.random.default_rng(seed).standard_normal(shape)
    return ramp + sigma * noise


def test_estimate_sigma_is_in_the_units_of_the_image_as_given():
    """Issue 27: as skimage.restoration.estimate_sigma, grey levels for a
    uint8 image (it was 255 times smaller), the image's own units else."""
    noisy = _noisy_ramp(12.0, (128, 128))
    as_uint8 = np.rint(noisy).astype(np.uint8)
    for image, expected in [(as_uint8, 12.0), (noisy, 12.0),
                            (noisy / 255, 12 / 255),
                            (noisy.astype(np.float32) / 255, 12 / 255),
                            (as_uint8.astype(np.int64), 12.0),
                            (np.rint(257 * noisy).astype(np.uint16),
                             12.0 * 257)]:
        assert restoration.estimate_sigma(image) == pytest.approx(
            expected, rel=0.08)
    rgb = np.stack([as_uint8, np.rint(_noisy_ramp(6.0, (128, 128), 1))
                    .astype(np.uint8), as_uint8], axis=-1)
    per_channel = restoration.estimate_sigma(rgb, channel_axis=-1)
    np.testing.assert_allclose(per_channel, [12, 6, 12], rtol=0.08)
    assert restoration.estimate_sigma(rgb, True, channel_axis=-1) == \
        pytest.approx(per_channel.mean())


def test_sigma_in_other_units_is_refused_with_the_value_to_pass(pretrained):
    """Issue 27: scikit-image's estimate (grey levels) passed for a uint8
    image gave a worse image and a warning; a sigma above half the white
    level is an error that names the value to pass, and data_range=255
    takes grey levels."""
    noisy = np.clip(_noisy_ramp(12.0, (40, 40)), 0, 255)
    as_uint8 = np.rint(noisy).astype(np.uint8)
    sigma = restoration.estimate_sigma(as_uint8)
    with pytest.raises(ValueError, match=(
            rf"sigma={sigma:g} is more than half the white level of a uint8 "
            rf"image.*sigma / 255 = {sigma / 255:.4g}.*data_range=255")):
        restoration.denoise(as_uint8, sigma, max_num_iter=2)
    in_levels = restoration.denoise(as_uint8, sigma, data_range=255,
                                    max_num_iter=2)
    np.testing.assert_array_equal(in_levels, restoration.denoise(
        as_uint8, sigma / 255, max_num_iter=2))
    with pytest.raises(ValueError, match=r"0-65535.*sigma / 255"):
        restoration.denoise(as_uint8.astype(np.uint16) * 257, 12.0)
    with pytest.raises(ValueError, match=r"\[0, 1\] scale.*sigma / 255 = "
                                         r"0.04706"):
        restoration.denoise(noisy / 255, 12.0)
    with pytest.raises(ValueError, match="data_range=255 of the image"):
        restoration.denoise(noisy, 200.0, data_range=255)
    with pytest.raises(ValueError, match="sigmas=12"):
        pretrained.calibrate_denoising(noisy / 255, [12.0])
    with pytest.raises(ValueError, match="sigma=12 is more than half"):
        pretrained.denoise(as_uint8, 12.0)


def test_integer_images_come_back_in_their_dtype_as_documented(pretrained):
    """Issue 27: the module said 'dtypes as scikit-image has them', whose
    restoration returns floats for integer images; sksm returns their dtype
    (so an image read from a file is written back as it came), and says
    so."""
    noisy = np.rint(np.clip(_noisy_ramp(12.0, (32, 32)), 0, 255))
    for dtype in (np.uint8, np.uint16, np.float32, np.float64):
        image = noisy.astype(dtype) * (257 if dtype == np.uint16 else 1)
        if dtype in (np.float32, np.float64):
            image /= 255
        out = restoration.denoise(image, 12 / 255, max_num_iter=2)
        assert out.dtype == dtype
    text = " ".join(restoration.__doc__.split())
    assert "dtypes as scikit-image has them" not in text
    assert ("returned in their own dtype, rounded and clipped, where "
            "scikit-image's restoration functions return floats") in text


@pytest.mark.parametrize("shape, axis", [((40, 40, 3), -1), ((40, 40, 4), -1),
                                         ((40, 40, 1), -1), ((3, 40, 40), 0)])
def test_colour_image_without_channel_axis_is_told_which_to_pass(shape,
                                                                 axis):
    """Issue 27: 'image must have shape (height, width)' said nothing of
    channel_axis."""
    image = np.full(shape, 0.5)
    match = rf"shape {re.escape(str(shape))}.*pass channel_axis={axis}"
    with pytest.raises(ValueError, match=match):
        restoration.denoise(image, 0.1)
    with pytest.raises(ValueError, match=match):
        restoration.inpaint(image, np.zeros((40, 40), bool))
    with pytest.raises(ValueError, match=match):
        restoration.estimate_sigma(image)


def test_grayscale_image_in_colour_is_restored_as_grayscale(pretrained):
    """Issue 27: three equal channels warned 'estimated 1.11e-17' (the
    chroma of the opponent transform is exactly 0) and restored the
    luminance with the wrong noise level; they are the grayscale image.  A
    constant channel does not count in the noise estimate either."""
    gray = np.rint(np.clip(_noisy_ramp(12.0, (40, 40)), 0, 255)).astype(
        np.uint8)
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = restoration.denoise(rgb, 12 / 255, channel_axis=-1,
                                  max_num_iter=5, model=pretrained)
    np.testing.assert_array_equal(out, np.repeat(restoration.denoise(
        gray, 12 / 255, max_num_iter=5, model=pretrained)[..., None], 3,
        axis=-1))
    # a channel with no noise of its own (here constant) does not count
    rgb[..., 2] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        restoration.denoise(rgb, 12 / 255, channel_axis=-1, max_num_iter=2,
                            model=pretrained)
    np.testing.assert_array_equal(
        restoration.denoise(rgb, None, channel_axis=-1, max_num_iter=2,
                            model=pretrained),
        restoration.denoise(rgb, estimate_sigma(gray), channel_axis=-1,
                            max_num_iter=2, model=pretrained))


def test_colour_range_is_checked_on_the_image_as_given(pretrained):
    """Issue 27: a [0, 1] colour image with noise (-0.2 to 1.2) was refused
    for values of its luminance (up to 2.08) that the user never passed."""
    rng = np.random.default_rng(0)
    bright = np.clip(0.9 + 0.1 * rng.standard_normal((40, 40, 3)), -0.2,
                     1.2)
    bright[:2, :2] = 1.2, 1.2, 1.2
    bright[2, 2] = -0.2
    out = restoration.denoise(bright, 0.1, channel_axis=-1, max_num_iter=2)
    assert out.shape == bright.shape
    restoration.super_resolve(bright, 2, channel_axis=-1, n_iter=1)
    restoration.inpaint(bright, bright[..., 0] < 0.8, channel_axis=-1,
                        prior_weight=0)
    with pytest.raises(ValueError, match="from -0.2 to 2.5,"):
        restoration.denoise(np.where(bright == 1.2, 2.5, bright), 0.1,
                            channel_axis=-1)
    with pytest.raises(ValueError, match="from -51 to 637.5, far from its "
                                         "white level data_range=255"):
        restoration.denoise(255 * np.where(bright == 1.2, 2.5, bright), 25,
                            channel_axis=-1, data_range=255)
