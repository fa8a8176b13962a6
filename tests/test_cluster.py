"""Fits and restoration on Dask arrays and a local Dask cluster."""

import warnings

import numpy as np
import pytest

dask = pytest.importorskip(
    "dask", reason="the dask extra is not installed: pip install "
    "'sksm[dask]'")
da = pytest.importorskip(
    "dask.array", reason="the dask extra is not installed: pip install "
    "'sksm[dask]'")
distributed = pytest.importorskip(
    "distributed", reason="the dask extra is not installed: pip install "
    "'sksm[dask]'")

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from sksm import (
    FieldsOfExperts,
    GaussianRBM,
    RegularizedScoreMatchingPoE,
    load_pretrained_foe,
    restoration,
)
from sksm.cluster import chunk_loss_and_gradient, restore_files
from sksm.image import add_noise, psnr


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes on 127.0.0.1, closed at the end."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True,
            host="127.0.0.1", dashboard_address=None, death_timeout=60)
    client = distributed.Client(cluster, timeout="60s")
    try:
        yield client
    finally:
        client.close(timeout=30)
        cluster.close(timeout=30)


def _heavy_tailed(n_samples=400, n_features=8, seed=0):
    rng = np.random.RandomState(seed)
    return rng.standard_t(3, size=(n_samples, n_features)) @ rng.randn(
        n_features, n_features)


def _quietly_fit(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X)


def _fit_both(make, X, chunks):
    """The fit of ``X`` in memory and of ``X`` as a Dask array of
    ``chunks``, after the same number of iterations."""
    local = _quietly_fit(make(), X)
    remote = _quietly_fit(make(), da.from_array(X, chunks=chunks))
    assert remote.n_iter_ == local.n_iter_
    return local, remote


# ---------------------------------------------------------------------- #
# The per-chunk loss
# ---------------------------------------------------------------------- #
@pytest.mark.parametrize("objective", ["rsm", "rsm_full"])
def test_chunk_losses_sum_to_the_loss_of_all_rows(objective):
    X = _heavy_tailed()
    est = RegularizedScoreMatchingPoE(objective=objective, reg_lambda=0.1)
    Z = est._fit_data(X)[0]
    energy = est._initial_energy(Z, check_random_state(0))
    theta = energy.get_params() + 0.05 * np.random.RandomState(1).randn(
        energy.n_params)
    whole, grad = est._objective(energy, Z, check_random_state(0))(theta)
    parts = [chunk_loss_and_gradient(objective, energy, theta, Z[a:a + 150],
                                     reg_lambda=0.1)
             for a in range(0, len(Z), 150)]  # any split: equal to rounding
    assert sum(n for *_, n in parts) == len(Z)
    loss = sum(p[0] for p in parts) / len(Z)
    total = sum(p[1] for p in parts) / len(Z)
    # to rounding in the dtype the PoE fits in (float32)
    assert Z.dtype == np.float32
    eps = float(np.finfo(Z.dtype).eps)
    assert loss == pytest.approx(whole, rel=10 * eps)
    np.testing.assert_allclose(total, grad, rtol=10 * eps,
                               atol=100 * eps * np.abs(grad).max())


@pytest.mark.parametrize("objective", ["rsm", "dsm", "ssm"])
def test_chunks_of_whole_canonical_chunks_give_the_loss_to_the_last_bit(
        objective):
    from sksm._parallel import single_threaded_blas
    from sksm._reductions import ExactSum, chunk_rows, exact_total

    X = _heavy_tailed(n_samples=5000, n_features=120)  # 836-row chunks
    est = RegularizedScoreMatchingPoE(objective=objective, reg_lambda=0.1)
    Z = est._fit_data(X)[0]
    size = chunk_rows(Z)
    assert size < 5000 / 4
    energy = est._initial_energy(Z, check_random_state(0))
    fun = est._objective(energy, Z, check_random_state(0))
    theta = energy.get_params()
    # as a fit evaluates it: float32 matrix products in several BLAS threads
    # round differently from one thread's, and the chunks run in one
    with single_threaded_blas():
        whole, grad = fun(theta)
    losses, total = [], ExactSum(energy.n_params)
    for first, a, b in [(0, 0, 2 * size), (2, 2 * size, 5000)]:
        loss_k, grad_k, n_k = chunk_loss_and_gradient(
            objective, energy, theta, Z[a:b], reg_lambda=0.1,
            random_state=fun.seed, first_chunk=first)
        assert n_k == b - a
        losses.append(loss_k)
        total.add(grad_k)
    # the blocks' sums, rounded once each, still give the loss to about
    # 1e-15; the fit itself merges unrounded sums (ClusterLoss)
    assert exact_total(losses) / 5000 == pytest.approx(whole, rel=1e-14)
    np.testing.assert_allclose(total.value() / 5000, grad, rtol=1e-13,
                               atol=1e-15 * np.abs(grad).max())


def test_chunk_loss_refuses_contrastive_divergence():
    est = RegularizedScoreMatchingPoE()
    Z = est._fit_data(_heavy_tailed())[0]
    energy = est._initial_energy(Z, check_random_state(0))
    with pytest.raises(ValueError, match="stochastic"):
        chunk_loss_and_gradient("cd", energy, energy.get_params(), Z,
                                reg_lambda=0.1)


def test_cluster_loss_gradient_matches_finite_differences(client):
    X = da.from_array(_heavy_tailed(n_samples=300, n_features=4),
                      chunks=(100, 4))
    est = RegularizedScoreMatchingPoE(reg_lambda=0.1)
    est._fit_dtype = None  # in float64: finite differences need its digits
    data = est._dask_fit_data(X)
    energy = est._initial_energy(data, check_random_state(0))
    fun = est._objective(energy, data, check_random_state(0))
    theta = energy.get_params() + 0.1 * np.random.RandomState(2).randn(
        energy.n_params)
    _, grad = fun(theta)
    eps = 1e-6
    for k in range(0, energy.n_params, 3):
        step = np.zeros_like(theta)
        step[k] = eps
        numeric = (fun(theta + step)[0] - fun(theta - step)[0]) / (2 * eps)
        assert numeric == pytest.approx(grad[k], rel=1e-5, abs=1e-7)


# ---------------------------------------------------------------------- #
# Fits
# ---------------------------------------------------------------------- #
def _assert_same_poe(a, b):
    """The same model to the last bit: the same sums in the same order."""
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_array_equal(b.filters_, a.filters_)
    np.testing.assert_array_equal(b.expert_weights_, a.expert_weights_)
    np.testing.assert_array_equal(b.mean_, a.mean_)
    assert b.scale_ == a.scale_
    np.testing.assert_array_equal(b.data_min_, a.data_min_)
    np.testing.assert_array_equal(b.data_max_, a.data_max_)
    assert b.n_samples_seen_ == a.n_samples_seen_
    assert b.loss_curve_ == a.loss_curve_


@pytest.mark.parametrize("init", ["zca", "random"])
def test_poe_fit_on_the_cluster_equals_the_fit_in_memory(client, init):
    # 1,568-row canonical chunks of 64 features: three blocks of whole
    # chunks (the 700-row blocks are regrouped), fitted to convergence
    X = _heavy_tailed(n_samples=4000, n_features=64)
    local, remote = _fit_both(
        lambda: RegularizedScoreMatchingPoE(init=init, max_iter=60,
                                            random_state=0),
        X, (700, 40))  # uneven, split columns
    _assert_same_poe(local, remote)
    assert not hasattr(remote, "feature_names_in_")
    assert remote.score(X) == local.score(X)


def test_a_large_parameter_vector_goes_to_the_workers_at_every_step(client):
    # 196 features: 38,612 parameters (300 kB), which distributed once
    # turned into a single task named 'theta' shared by successive steps
    X = _heavy_tailed(n_samples=1100, n_features=196, seed=4)
    local, remote = _fit_both(
        lambda: RegularizedScoreMatchingPoE(max_iter=5, random_state=0),
        X, (400, 196))
    _assert_same_poe(local, remote)


def test_blocks_in_fortran_order_give_the_fit_of_rows_in_c_order(client):
    # the blocks of a matrix product are often in Fortran order, and the
    # sums of a chunk depend on its memory layout
    X = _heavy_tailed(n_samples=4000, n_features=64, seed=5)
    make = lambda: RegularizedScoreMatchingPoE(
        max_iter=20, random_state=0)
    local = _quietly_fit(make(), X)
    blocks = da.from_array(X, chunks=(1000, 64)).map_blocks(
        np.asfortranarray)
    first = blocks.to_delayed().ravel()[0]
    assert dask.delayed(lambda b: b.flags.f_contiguous)(first).compute()
    _assert_same_poe(local, _quietly_fit(make(), blocks))


def test_fit_on_a_dask_array_without_a_client_equals_the_fit_in_memory():
    X = _heavy_tailed(n_samples=4000, n_features=64, seed=3)
    with distributed_client_absent():
        local, remote = _fit_both(
            lambda: RegularizedScoreMatchingPoE(max_iter=40, objective="dsm",
                                                random_state=0),
            X, 1000)
    _assert_same_poe(local, remote)


class distributed_client_absent:
    """Run a block with no default client (the fixture may have made one)."""

    def __enter__(self):
        from sksm import _dask
        self._saved, _dask.active_client = _dask.active_client, lambda: None
        return self

    def __exit__(self, *exc):
        from sksm import _dask
        _dask.active_client = self._saved


def test_foe_fit_on_the_cluster_equals_the_fit_in_memory(client):
    rng = np.random.RandomState(0)
    patches = rng.rand(1500, 144)  # 12x12 images, whitened to 8x8
    local, remote = _fit_both(
        lambda: FieldsOfExperts(n_experts=4, filter_size=3, max_iter=40,
                                whiten="laplacian", random_state=0),
        patches, (400, 144))
    np.testing.assert_array_equal(remote.filters_, local.filters_)
    np.testing.assert_array_equal(remote.expert_weights_,
                                  local.expert_weights_)
    assert remote.mean_brightness_ == local.mean_brightness_
    assert remote.std_brightness_ == local.std_brightness_
    assert remote.n_samples_seen_ == 1500
    assert remote.image_shape_ == (12, 12)


def test_rbm_fit_on_the_cluster_equals_the_fit_in_memory(client):
    X = _heavy_tailed(n_samples=3000, n_features=64) / 5
    local, remote = _fit_both(
        lambda: GaussianRBM(n_components=3, max_iter=30, random_state=0,
                            objective="rsm", reg_lambda=0.1),
        X, (1000, 64))
    np.testing.assert_array_equal(remote.components_, local.components_)
    np.testing.assert_array_equal(remote.intercept_visible_,
                                  local.intercept_visible_)


def test_fit_on_the_cluster_does_not_modify_the_data(client):
    X = _heavy_tailed()
    before = X.copy()
    dX = da.from_array(X, chunks=100)
    _quietly_fit(RegularizedScoreMatchingPoE(max_iter=3), dX)
    np.testing.assert_array_equal(X, before)
    np.testing.assert_array_equal(dX.compute(), before)


def test_float32_dask_data_are_fitted_in_float32(client):
    X = _heavy_tailed().astype(np.float32)
    est = _quietly_fit(RegularizedScoreMatchingPoE(max_iter=5),
                       da.from_array(X, chunks=100))
    assert est.filters_.dtype == np.float32
    assert est.mean_.dtype == np.float32


def test_bad_dask_input_gives_clear_errors(client):
    X = _heavy_tailed()
    with pytest.raises(ValueError, match="solver='lbfgs'"):
        RegularizedScoreMatchingPoE(solver="adam").fit(da.from_array(X))
    with pytest.raises(ValueError, match="init='ica'"):
        RegularizedScoreMatchingPoE(init="ica").fit(da.from_array(X))
    with pytest.raises(ValueError, match="2-D Dask array"):
        RegularizedScoreMatchingPoE().fit(da.from_array(X[:, 0]))
    bad = X.copy()
    bad[350, 2] = np.nan  # in the last block: found where it lives
    with pytest.raises(ValueError, match="NaN"):
        RegularizedScoreMatchingPoE().fit(da.from_array(bad, chunks=100))
    huge = X.copy()
    huge[5, 0] = 1e300
    with pytest.raises(ValueError, match="overflow"):
        RegularizedScoreMatchingPoE().fit(da.from_array(huge, chunks=100))
    unknown = da.from_array(X, chunks=100)
    unknown = unknown[unknown[:, 0] > -np.inf]  # unknown chunk sizes
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        RegularizedScoreMatchingPoE().fit(unknown)
    with pytest.raises(ValueError, match="at least 2|minimum of 2"):
        RegularizedScoreMatchingPoE().fit(da.from_array(X[:1]))


# ---------------------------------------------------------------------- #
# Restoration
# ---------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def photo():
    from sklearn.datasets import load_sample_image
    return load_sample_image("china.jpg")[100:250, 200:370].mean(
        axis=2).round().astype(np.uint8)


def test_denoise_a_dask_image_on_the_cluster_like_in_memory(client, photo):
    clean = photo.astype(np.float64) / 255 if photo.dtype == np.uint8 \
        else photo
    noisy = add_noise(clean, 0.08, random_state=0).clip(0, 1)
    local = restoration.denoise(noisy, 0.08)
    remote = restoration.denoise(da.from_array(noisy, chunks=(70, 90)), 0.08)
    assert isinstance(remote, da.Array)
    out = remote.compute()
    assert out.shape == noisy.shape and out.dtype == noisy.dtype
    assert np.abs(out - local).max() < 1 / 255
    rgb = np.stack([noisy, noisy[::-1], noisy[:, ::-1]], axis=-1)
    local = restoration.denoise(rgb, 0.08, channel_axis=-1)
    out = restoration.denoise(da.from_array(rgb, chunks=(70, 90, 1)), 0.08,
                              channel_axis=-1).compute()
    assert out.shape == rgb.shape
    assert np.abs(out - local).max() < 1 / 255
    u8 = (noisy * 255).round().astype(np.uint8)
    out = restoration.denoise(da.from_array(u8, chunks=80), 0.08).compute()
    assert out.dtype == np.uint8
    assert np.abs(out.astype(int) - restoration.denoise(u8, 0.08)).max() <= 1


def test_inpaint_and_super_resolve_dask_images(client, photo):
    clean = photo.astype(np.float64) / 255
    mask = np.zeros(clean.shape, bool)
    mask[40:46, 20:150] = True
    local = restoration.inpaint(clean, mask, prior_weight=0.03)
    out = restoration.inpaint(da.from_array(clean, chunks=80), mask,
                              prior_weight=0.03).compute()
    assert np.abs(out - local).max() < 1 / 255
    small = clean[::2, ::2]
    local = restoration.super_resolve(small, 2, n_iter=4)
    out = restoration.super_resolve(da.from_array(small, chunks=40), 2,
                                    n_iter=4).compute()
    assert out.shape == local.shape
    assert np.abs(out - local).max() < 1 / 255


def test_deconvolve_and_bicubic_super_resolve_dask_images(client, photo):
    """Chunks with INVERSE_OVERLAP of context: as tiles, far closer to the
    in-memory result than either is to the truth."""
    from scipy import ndimage

    clean = photo.astype(np.float64) / 255
    psf = np.full((1, 5), 0.2)
    blurred = ndimage.convolve(clean, psf, mode="reflect")
    local = restoration.deconvolve(blurred, psf, 0.01)
    out = restoration.deconvolve(da.from_array(blurred, chunks=80), psf,
                                 0.01).compute()
    assert psnr(local, out) > psnr(clean, local) + 15
    from sksm.posterior import Downsample

    small = Downsample(2, "bicubic").apply(clean[:96, :96])
    local = restoration.super_resolve(small, 2, kernel="bicubic")
    out = restoration.super_resolve(da.from_array(small, chunks=24), 2,
                                    kernel="bicubic").compute()
    assert out.shape == local.shape
    assert psnr(local, out) > psnr(clean[:96, :96], local) + 15
    with pytest.raises(ValueError, match="needs sigma"):
        restoration.deconvolve(da.from_array(blurred, chunks=80), psf)


def test_per_image_choices_on_a_dask_image_are_refused(photo):
    image = da.from_array(photo.astype(np.float64) / 255, chunks=80)
    with pytest.raises(ValueError, match="needs sigma"):
        restoration.denoise(image)
    with pytest.raises(ValueError, match="n_iter='auto'"):
        restoration.super_resolve(image, 2, model=load_pretrained_foe())
    with pytest.raises(ValueError, match="prior_weight='auto'"):
        restoration.inpaint(image, np.zeros(image.shape, bool))


def test_restore_a_folder_of_files_on_the_cluster(client, photo, tmp_path):
    from sksm._image_files import read_image, write_image

    paths = []
    for k in range(3):
        noisy = add_noise(photo / 255, 0.05, random_state=k).clip(0, 1)
        path = tmp_path / f"in{k}" / "photo.png" if k == 0 else \
            tmp_path / f"photo{k}.png"
        path.parent.mkdir(exist_ok=True)
        write_image(path, (noisy * 255).round().astype(np.uint8))
        paths.append(path)
    written = restore_files(paths, tmp_path / "out", sigma=0.05)
    assert [p.rsplit("/", 1)[1] for p in written] == [p.name for p in paths]
    for source, target in zip(paths, written):
        expected = restoration.denoise(read_image(source), 0.05)
        np.testing.assert_array_equal(read_image(target), expected)
    with pytest.raises(ValueError, match="same file name"):
        restore_files([paths[0], paths[0]], tmp_path / "o2", sigma=0.05)
    with pytest.raises(ValueError, match="function must be"):
        restore_files(paths, tmp_path / "o3", function="sharpen")


def test_restored_files_keep_the_quality_and_profile_of_their_input(
        client, photo, tmp_path):
    """The writer of restore_files is told its source, like the command's
    (issue 27): a JPEG keeps its quality and colour profile."""
    from PIL import Image, ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    rgb = np.repeat(photo[:64, :64, None], 3, axis=2)
    Image.fromarray(rgb).save(tmp_path / "in.jpg", quality=90,
                              icc_profile=icc)
    written, = restore_files([tmp_path / "in.jpg"], tmp_path / "out",
                             sigma=0.02)
    with Image.open(written) as out:
        assert out.info.get("icc_profile") == icc
        with Image.open(tmp_path / "in.jpg") as source:
            assert out.quantization == source.quantization


# ---------------------------------------------------------------------- #
# Search and streaming
# ---------------------------------------------------------------------- #
def test_grid_search_on_the_cluster_equals_a_sequential_search(client):
    import joblib
    from sklearn.model_selection import GridSearchCV

    X = _heavy_tailed(n_samples=300, n_features=5)
    grid = {"reg_lambda": [0.01, 0.1, 1.0]}
    # the complete model: its score is exact (the default 2x model's, by
    # AIS, is equal too, at 15 s more)
    search = GridSearchCV(RegularizedScoreMatchingPoE(n_experts=5,
                                                      random_state=0), grid,
                          cv=3)
    sequential = search.fit(X).cv_results_["mean_test_score"]
    with joblib.parallel_backend("dask"):
        search.set_params(n_jobs=2).fit(X)
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               sequential, rtol=1e-12)


def test_warning_filters_reach_the_workers_of_a_search(client):
    import joblib
    import sklearn
    from sklearn.model_selection import GridSearchCV

    if tuple(int(v) for v in sklearn.__version__.split(".")[:2]) < (1, 7):
        pytest.skip("scikit-learn < 1.7 does not send warning filters to "
                    "joblib workers")
    X = _heavy_tailed(n_samples=200, n_features=5)
    search = GridSearchCV(RegularizedScoreMatchingPoE(max_iter=2),
                          {"reg_lambda": [0.01, 0.1]}, cv=2, n_jobs=2,
                          error_score="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with joblib.parallel_backend("dask"), pytest.raises(
                ConvergenceWarning):
            search.fit(X)


def test_dask_ml_incremental_streams_partial_fit_and_scores(client):
    wrappers = pytest.importorskip(
        "dask_ml.wrappers", reason="dask-ml is not installed: pip install "
        "'sksm[dask]'")
    X = _heavy_tailed(n_samples=600)
    dX = da.from_array(X, chunks=(200, 8))
    inc = wrappers.Incremental(RegularizedScoreMatchingPoE(
        solver="adam", random_state=0), shuffle_blocks=False)
    inc.fit(dX)
    assert inc.estimator_.n_iter_ == 3  # one epoch per block
    assert inc.estimator_.n_samples_seen_ == 600
    direct = RegularizedScoreMatchingPoE(solver="adam", random_state=0)
    for a in range(0, 600, 200):
        direct.partial_fit(X[a:a + 200])
    np.testing.assert_allclose(inc.estimator_.filters_, direct.filters_,
                               rtol=1e-10, atol=1e-12)
    expected = direct.score(X)
    assert inc.score(dX, None) == pytest.approx(expected, rel=1e-10)
    y = da.zeros(600, chunks=200)
    assert inc.score(dX, y) == pytest.approx(expected, rel=1e-10)
