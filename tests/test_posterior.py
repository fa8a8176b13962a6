"""sksm.posterior: tiles, independence of images and tiles, the local solver."""

import numpy as np
import pytest
from sklearn.datasets import load_sample_image
from threadpoolctl import threadpool_limits

from sksm import load_pretrained_foe
from sksm.image import add_noise, psnr
from sksm.energies.pixel_prior import restoration_prior, whitening_kernel
from sksm.posterior import tiles
from sksm.posterior._fill import _self_similar_counts
from sksm.posterior._tiles import _reflect_index


@pytest.fixture(scope="module")
def model():
    return load_pretrained_foe()


@pytest.fixture(scope="module")
def photo():
    """A grayscale crop of flower.jpg (not a training image), 120 x 150."""
    rgb = load_sample_image("flower.jpg")[120:240, 200:350] / 255.0
    return rgb @ np.array([0.2125, 0.7154, 0.0721])


@pytest.mark.parametrize("shape, tile_size, overlap",
                         [((120, 150), 50, 8), ((7, 300), 64, 16),
                          ((65, 64), 64, 0), ((10, 10), None, 3)])
def test_tile_cores_partition_the_image(shape, tile_size, overlap):
    covered = np.zeros(shape, int)
    for window, core in tiles(shape, tile_size, overlap):
        covered[core] += 1
        for w, c, n in zip(window, core, shape):
            assert w.start == max(c.start - overlap, 0)
            assert w.stop == min(c.stop + overlap, n)
            if tile_size is not None:
                assert c.stop - c.start <= tile_size
    np.testing.assert_array_equal(covered, 1)


def test_reflect_index_matches_numpy_pad():
    x = np.arange(7)
    np.testing.assert_array_equal(x[_reflect_index(np.arange(-5, 12), 7)],
                                  np.pad(x, 5, mode="reflect"))


def test_curvature_bound_is_tight(model):
    """The FFT bound holds and is nearly reached on a 24x24 image."""
    import copy

    small = copy.deepcopy(model)
    small.image_shape_ = (24, 24)
    H = small._mode_hessian() - 1.0 / (small.std_brightness_ ** 2 * 576 ** 2)
    top = np.linalg.eigvalsh(H)[-1]
    bound = model.prior_lipschitz()
    assert top <= bound
    assert top > 0.9 * bound


@pytest.mark.parametrize("method, max_iter, sigma",
                         [("fista", None, 5 / 255), ("fista", None, 25 / 255),
                          ("paper", 60, 15 / 255)])
def test_tiled_denoising_equals_the_whole_image(model, photo, method,
                                                max_iter, sigma):
    noisy = add_noise(photo, sigma, random_state=0)
    whole = model.denoise(noisy, sigma, method=method, max_iter=max_iter,
                          tile_size=None)
    tiled = model.denoise(noisy, sigma, method=method, max_iter=max_iter,
                          tile_size=40)
    assert np.abs(whole - tiled).max() < 1 / 255
    assert abs(psnr(photo, whole) - psnr(photo, tiled)) < 0.01
    assert psnr(photo, whole) > psnr(photo, noisy) + 1


def test_tiled_super_resolution_equals_the_whole_image(model, photo):
    low = photo.reshape(60, 2, 75, 2).mean(axis=(1, 3))
    whole = model.super_resolve(low, 2, n_iter=50, tile_size=None)
    tiled = model.super_resolve(low, 2, n_iter=50, tile_size=24)
    assert np.abs(whole - tiled).max() < 1 / 255


def test_tiled_auto_super_resolution_equals_the_whole_image(model, photo):
    low = photo.reshape(60, 2, 75, 2).mean(axis=(1, 3))
    whole = model.super_resolve(low, 2, tile_size=None)
    tiled = model.super_resolve(low, 2, tile_size=48)
    assert np.abs(whole - tiled).max() < 1 / 255


def _bicubic_back_projected(low):
    from scipy.ndimage import zoom

    up = zoom(low, 2, order=3, mode="reflect", grid_mode=True)
    means = up.reshape(low.shape[0], 2, low.shape[1], 2).mean(axis=(1, 3))
    return up + np.kron(low - means, np.ones((2, 2)))


def test_super_resolution_without_steps_is_bicubic_back_projection(model,
                                                                   photo):
    low = photo.reshape(60, 2, 75, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(model.super_resolve(low, 2, n_iter=0),
                               _bicubic_back_projected(low), atol=1e-12)
    from sksm import restoration  # max_num_iter=None: the default schedule

    np.testing.assert_array_equal(
        restoration.super_resolve(low, 2, model=model, n_iter=3,
                                  max_num_iter=None),
        model.super_resolve(low, 2, n_iter=3))


def test_auto_steps_come_from_the_image_own_block_means(model, photo):
    """'auto' = a third of the steps that best restore the image from its
    own block means, found by running every step count on them."""
    from sksm import posterior

    low = photo.reshape(60, 2, 75, 2).mean(axis=(1, 3))
    prior = restoration_prior(model.filters_, model.expert_weights_,
                              model.c, whitening_kernel(model.whiten))
    # the block means of whole blocks (75 is odd: the last column is left)
    lowest = low[:, :74].reshape(30, 2, 37, 2).mean(axis=(1, 3))
    errors = [np.sum((posterior.super_resolve(
        prior, [lowest], 2, n_iter=n, max_iter=40, tile_size=None)[0]
        - low[:, :74]) ** 2) for n in range(41)]
    expected = round(posterior.AUTO_FRACTION * int(np.argmin(errors)))
    chosen = _self_similar_counts(
        prior, [low], 2, np.geomspace(1 / prior.lipschitz,
                                      1 / (40 * prior.lipschitz), 40),
        1.0, "bicubic", None, 16, 1)
    assert chosen == [expected]
    np.testing.assert_allclose(
        posterior.super_resolve(prior, [low], 2, max_iter=40,
                                tile_size=None)[0],
        posterior.super_resolve(prior, [low], 2, n_iter=expected,
                                max_iter=40, tile_size=None)[0])


@pytest.mark.parametrize("method", ["fista", "lbfgs", "mmse"])
def test_images_of_a_stack_are_independent_problems(model, photo, method):
    sigma = 15 / 255
    a = add_noise(photo[:60, :60], sigma, random_state=0)
    b = add_noise(photo[60:, 90:], sigma, random_state=1)
    kwargs = {"method": method, "max_iter": 20, "random_state": 0}
    pair = model.denoise(np.stack([a, b]), sigma, **kwargs)
    alone = model.denoise(a, sigma, **kwargs)
    if method == "mmse":  # one chain per tile: seeds differ with the stack
        assert abs(psnr(photo[:60, :60], pair[0])
                   - psnr(photo[:60, :60], alone)) < 0.1
    else:
        # float32 round-off: alone, the image's one tile gets both threads
        # and its filter positions are summed in two bands
        np.testing.assert_allclose(pair[0], alone, rtol=0, atol=1e-5)


def test_result_does_not_depend_on_the_number_of_threads(model, photo):
    sigma = 15 / 255
    noisy = add_noise(photo, sigma, random_state=0)
    with threadpool_limits(1, user_api="blas"):
        one = model.denoise(noisy, sigma, tile_size=64)
    with threadpool_limits(2, user_api="blas"):
        two = model.denoise(noisy, sigma, tile_size=64)
    np.testing.assert_allclose(one, two, rtol=0, atol=1e-6)


def test_tiles_follow_joblib_parallel_config(model, photo):
    """Issue 27: joblib, a declared dependency, was never imported.  The
    tiles go to joblib.Parallel, so joblib.parallel_config's n_jobs and
    (thread-based) backend are honoured, and the result does not depend on
    them."""
    import joblib
    from joblib.parallel import ThreadingBackend

    configured = []

    class Counting(ThreadingBackend):
        def configure(self, n_jobs=1, parallel=None, **kwargs):
            configured.append(n_jobs)
            return super().configure(n_jobs, parallel, **kwargs)

    joblib.register_parallel_backend("sksm-test-counting", Counting)
    sigma = 15 / 255
    noisy = add_noise(photo, sigma, random_state=0)
    with joblib.parallel_config(n_jobs=1):
        one = model.denoise(noisy, sigma, tile_size=64, max_iter=5)
    assert configured == []
    with joblib.parallel_config(backend="sksm-test-counting", n_jobs=3):
        three = model.denoise(noisy, sigma, tile_size=64, max_iter=5)
    assert configured == [3]  # six tiles, three threads
    np.testing.assert_array_equal(one, three)


def test_tiled_inpainting_keeps_known_pixels_and_fills_small_holes(model,
                                                                   photo):
    rng = np.random.RandomState(0)
    mask = rng.rand(*photo.shape) < 0.3
    filled = model.inpaint(photo, mask, tile_size=48, max_iter=100)
    np.testing.assert_array_equal(filled[~mask], photo[~mask])
    start = photo.copy()
    start[mask] = photo[~mask].mean()
    assert psnr(photo, filled) > psnr(photo, start) + 10


def test_self_ensemble_averages_the_mirrored_and_turned_estimates(model,
                                                                  photo):
    sigma = 15 / 255
    noisy = add_noise(photo[:50, :70], sigma, random_state=0)
    views = [noisy, noisy[:, ::-1], np.rot90(noisy, 2),
             np.rot90(noisy[:, ::-1], 2)]
    undo = [lambda x: x, lambda x: x[:, ::-1], lambda x: np.rot90(x, -2),
            lambda x: np.rot90(x, -2)[:, ::-1]]
    by_hand = np.mean([u(model.denoise(np.ascontiguousarray(v), sigma))
                       for v, u in zip(views, undo)], axis=0)
    np.testing.assert_allclose(model.denoise(noisy, sigma, self_ensemble=4),
                               by_hand, rtol=0, atol=1e-5)
    eight = model.denoise(noisy, sigma, self_ensemble=8)
    tiled = model.denoise(noisy, sigma, self_ensemble=8, tile_size=24)
    assert np.abs(eight - tiled).max() < 1 / 255
    with pytest.raises(ValueError, match="self_ensemble"):
        model.denoise(noisy, sigma, self_ensemble=3)


def test_biharmonic_fill_known_answers():
    from sksm.posterior import biharmonic_fill

    rows, cols = np.mgrid[:30, :40] / 40.0
    mask = np.zeros((30, 40), bool)
    mask[10:20, 10:30] = True
    # a plane is biharmonic: the fill of a hole inside restores it exactly
    plane = 0.2 + 0.5 * cols + 0.3 * rows
    np.testing.assert_allclose(biharmonic_fill(plane, mask), plane,
                               atol=1e-12)
    mask[0, :5] = True  # and one on the edge (mirrored there)
    # the fill minimises |Laplacian x|^2: any change of the missing pixels
    # raises it
    from sksm.posterior._fill import _laplacian

    rng = np.random.RandomState(0)
    image = rng.rand(30, 40)
    filled = biharmonic_fill(image, mask)
    np.testing.assert_array_equal(filled[~mask], image[~mask])
    L = _laplacian(image.shape)

    def roughness(x):
        return float(np.sum((L @ x.ravel()) ** 2))

    for _ in range(3):
        other = filled.copy()
        other[mask] += 1e-3 * rng.standard_normal(mask.sum())
        assert roughness(other) > roughness(filled)


def test_inpainting_weights(model, photo):
    """w = 0 is the biharmonic fill; s = 0 the prior's MAP alone; 'auto'
    one of the grid's weights, the first, in increasing order, that fills
    the pixels hidden under the shifted mask in the trial windows better
    than the next one."""
    from sksm import posterior
    from sksm.posterior import PRIOR_WEIGHTS, biharmonic_fill
    from sksm.posterior._fill import _fill_window, _trial_windows

    mask = np.zeros(photo.shape, bool)
    mask[40:60, 30:110] = True
    mask[90:96, :] = True
    lo, hi = photo[~mask].min(), photo[~mask].max()
    np.testing.assert_allclose(
        model.inpaint(photo, mask, prior_weight=0),
        np.clip(biharmonic_fill(photo, mask), lo, hi), atol=1e-12)
    prior = restoration_prior(model.filters_, model.expert_weights_,
                              model.c, whitening_kernel(model.whiten))
    (auto,), (weight,) = posterior.inpaint(
        prior, [photo], [mask], max_iter=30, tile_size=None,
        return_weights=True)
    assert weight in PRIOR_WEIGHTS
    np.testing.assert_allclose(auto, posterior.inpaint(
        prior, [photo], [mask], prior_weight=weight, max_iter=30,
        tile_size=None)[0], atol=1e-12)
    # the choice, by hand: the summed error of every weight on the trial
    # windows (at most 8, of 64 pixels and their context)
    trials, hidden, counted = _trial_windows([photo], [mask], 16)
    assert 0 < len(trials) <= 8
    errors = []
    for w in PRIOR_WEIGHTS:
        errors.append(sum(np.sum((_fill_window(
            prior, photo[window], mask[window] | hide, w, 1.0, (lo, hi), 30,
            1) - photo[window])[count] ** 2) for (_, window, _), hide, count
            in zip(trials, hidden, counted)))
    first = next((j for j in range(len(errors) - 1)
                  if errors[j + 1] >= errors[j]), len(errors) - 1)
    assert weight == PRIOR_WEIGHTS[first]
    # the prior alone: the energy of the fill is lower than the
    # biharmonic fill's
    alone = model.inpaint(photo, mask, smoothness=0, max_iter=50)
    np.testing.assert_array_equal(alone[~mask], photo[~mask])
    assert prior.energy_grad(alone[None])[0][0] < \
        prior.energy_grad(biharmonic_fill(photo, mask)[None])[0][0]


def test_auto_inpainting_weight_is_cheap_when_the_biharmonic_fill_wins(
        monkeypatch, model):
    """Issue 27: an 800x600 photograph with thin strokes took 3 min 25 s to
    return the biharmonic fill, after trying every weight on eight whole
    tiles a channel.  Weights are tried in small windows, in increasing
    order, and the trial stops at the first that does worse."""
    from sksm import posterior
    from sksm.posterior import _fill

    rows, cols = np.mgrid[:200, :200] / 200
    smooth = 0.3 + 0.2 * np.sin(3 * rows) + 0.3 * cols ** 2  # biharmonic wins
    mask = np.zeros(smooth.shape, bool)
    mask[::17, :] = True
    mask[:, ::23] = True
    tried = []
    fill = _fill._fill_window

    def counting(prior, image, holes, weight, *args):
        tried.append((weight, image.shape))
        return fill(prior, image, holes, weight, *args)

    prior = restoration_prior(model.filters_, model.expert_weights_,
                              model.c, whitening_kernel(model.whiten))
    _, weights = posterior.inpaint(prior, [smooth], [mask], max_iter=50,
                                   prior_weight=0.0, return_weights=True)
    assert weights == [0.0]
    monkeypatch.setattr(_fill, "_fill_window", counting)
    bounds = [(smooth[~mask].min(), smooth[~mask].max())]
    assert _fill._held_out_weights(prior, [smooth], [mask], bounds, 1.0, 50,
                                   16, None) == [0.0]
    # the biharmonic fill and the smallest nonzero weight, in 8 windows
    assert sorted(w for w, _ in tried) == [0.0] * 8 + [
        posterior.PRIOR_WEIGHTS[1]] * 8
    assert max(max(shape) for _, shape in tried) <= 64 + 2 * 16


@pytest.mark.parametrize("kwargs, error, match", [
    ({"prior_weight": "best"}, ValueError, "prior_weight"),
    ({"prior_weight": -1.0}, ValueError, "prior_weight"),
    ({"smoothness": np.inf}, ValueError, "smoothness"),
    ({"smoothness": "1"}, TypeError, "smoothness"),
    ({"prior_weight": 0, "smoothness": 0}, ValueError, "both 0"),
])
def test_inpaint_rejects_bad_weights(model, photo, kwargs, error, match):
    for holes in (photo > 0.5, np.zeros(photo.shape, bool)):
        with pytest.raises(error, match=match):
            model.inpaint(photo, holes, **kwargs)
