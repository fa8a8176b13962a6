"""Property tests of the public API (issue 14, part 5), with hypothesis.

For any finite array of a valid shape and dtype: fit, transform, score and
denoise return finite arrays of the documented shape and dtype and leave
their inputs unchanged; save and load round-trip exactly; results do not
depend on the memory layout of the input or on the thread that computes
them.  The number of examples is set by the hypothesis profile
(``conftest.py``): ``ci`` by default, bounded and derandomised.
"""

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import ConvergenceWarning

from sksm import (
    FieldsOfExperts,
    GaussianRBM,
    RegularizedScoreMatchingPoE,
    load_pretrained_foe,
    restoration,
)
from sksm.io import load_model, save_model

DTYPES = (np.float32, np.float64)


def finite_arrays(shape, dtype, max_value=None):
    """Finite floats of ``dtype`` (subnormals and the largest values too,
    unless ``max_value`` bounds them)."""
    width = 32 if dtype == np.float32 else 64
    elements = st.floats(allow_nan=False, allow_infinity=False, width=width,
                         min_value=None if max_value is None else -max_value,
                         max_value=max_value)
    return hnp.arrays(dtype, shape, elements=elements)


@st.composite
def data_sets(draw, max_value=None):
    """``(X, dtype)``: a few rows of a few features."""
    dtype = draw(st.sampled_from(DTYPES))
    n_samples = draw(st.integers(2, 12))
    n_features = draw(st.integers(1, 5))
    X = draw(finite_arrays((n_samples, n_features), dtype, max_value))
    return X, dtype


def _fit_quietly(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X)


def _assert_finite(value, shape, dtype, what):
    value = np.asarray(value)
    assert value.shape == shape, (what, value.shape, shape)
    assert value.dtype == dtype, (what, value.dtype, dtype)
    assert np.all(np.isfinite(value)), (what, value)


# ---------------------------------------------------------------------- #
# Vector estimators: fit on anything finite
# ---------------------------------------------------------------------- #
@pytest.mark.parametrize("make", [
    lambda: RegularizedScoreMatchingPoE(max_iter=3, random_state=0),
    lambda: GaussianRBM(n_components=2, max_iter=3, random_state=0),
], ids=["poe", "rbm"])
@given(data=data_sets())
def test_fit_transform_score_on_any_finite_data(make, data, tmp_path_factory):
    X, dtype = data
    original = X.copy()
    est = make()
    try:
        _fit_quietly(est, X)
    except ValueError as exc:  # the one documented refusal
        assert "standardise X" in str(exc)
        limit = np.sqrt(np.finfo(dtype).max / (16 * X.shape[1]))
        assert np.abs(X).max() > limit
        np.testing.assert_array_equal(X, original)
        return
    np.testing.assert_array_equal(X, original)  # fit leaves X alone
    n_out = est.transform(X[:1]).shape[1]
    _assert_finite(est.transform(X), (len(X), n_out), dtype, "transform")
    _assert_finite(est.score_samples(X), (len(X),), np.float64,
                   "score_samples")
    assert np.isfinite(est.score(X))
    np.testing.assert_array_equal(X, original)
    # save and load round-trip exactly
    path = tmp_path_factory.mktemp("models") / "model.npz"
    loaded = load_model(save_model(est, path))
    for key in type(est)._fitted_attributes:
        if hasattr(est, key):
            np.testing.assert_array_equal(getattr(loaded, key),
                                          getattr(est, key), err_msg=key)
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))


@pytest.fixture(scope="module")
def fitted_poe():
    X = np.random.RandomState(0).standard_t(3, size=(200, 4))
    return _fit_quietly(RegularizedScoreMatchingPoE(
        max_iter=30, features="activation", random_state=0), X)


@given(X=st.sampled_from(DTYPES).flatmap(
    lambda dtype: finite_arrays(st.tuples(st.integers(1, 8), st.just(4)),
                                dtype)))
def test_poe_answers_any_finite_input(fitted_poe, X):
    """Inputs as large as the dtype allows still give finite activations,
    log-densities and denoised values (or the values themselves)."""
    original = X.copy()
    _assert_finite(fitted_poe.transform(X), (len(X), 8), X.dtype,
                   "transform")  # the default 2 x 4 experts
    _assert_finite(fitted_poe.score_samples(X), (len(X),), np.float64,
                   "score_samples")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _assert_finite(fitted_poe.denoise(X, 0.5, max_iter=5), X.shape,
                       X.dtype, "denoise")
    np.testing.assert_array_equal(X, original)


@given(X=finite_arrays(st.tuples(st.integers(1, 8), st.just(4)), np.float64,
                       max_value=1e6),
       layout=st.sampled_from(["fortran", "strided", "readonly"]))
def test_results_do_not_depend_on_layout_or_thread(fitted_poe, X, layout):
    if layout == "fortran":
        other = np.asfortranarray(X)
    elif layout == "strided":
        other = np.repeat(X, 2, axis=1)[:, ::2]
    else:
        other = X.copy()
        other.flags.writeable = False
    expected = fitted_poe.transform(X)
    np.testing.assert_allclose(fitted_poe.transform(other), expected,
                               rtol=1e-12, atol=0)
    np.testing.assert_allclose(fitted_poe.score_samples(other),
                               fitted_poe.score_samples(X), rtol=1e-12)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(fitted_poe.transform, [X, X]))
    for result in results:
        np.testing.assert_array_equal(result, expected)


# ---------------------------------------------------------------------- #
# Images
# ---------------------------------------------------------------------- #
@st.composite
def images(draw):
    """A grayscale image on the [0, 1] scale, float32 or float64."""
    dtype = draw(st.sampled_from(DTYPES))
    shape = (draw(st.integers(10, 24)), draw(st.integers(10, 24)))
    return draw(finite_arrays(shape, dtype, max_value=1.0).map(np.abs))


@pytest.fixture(scope="module")
def prior():
    return load_pretrained_foe()


@given(image=images(), sigma=st.floats(1e-3, 0.5))
def test_denoise_any_image(prior, image, sigma):
    original = image.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # implausible sigma
        out = restoration.denoise(image, sigma, model=prior,
                                  max_num_iter=5)
    _assert_finite(out, image.shape, image.dtype, "denoise")
    np.testing.assert_array_equal(image, original)
    fortran = np.asfortranarray(image)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_allclose(
            restoration.denoise(fortran, sigma, model=prior, max_num_iter=5),
            out, rtol=1e-5, atol=1e-6)


@given(image=st.sampled_from(DTYPES).flatmap(
    lambda dtype: finite_arrays(st.tuples(st.integers(8, 14),
                                          st.integers(8, 14)), dtype)))
def test_prior_answers_any_finite_image(prior, image):
    """Any scale: a finite gradient; an energy that is finite or, where its
    mean-brightness term exceeds the float range, +inf."""
    original = image.copy()
    _assert_finite(prior.grad_log_density(image), image.shape, image.dtype,
                   "grad_log_density")
    energy = prior.energy(image)
    assert np.isfinite(energy) or (
        energy == np.inf and np.abs(image).max() > 1e150), energy
    np.testing.assert_array_equal(image, original)


@given(image=images())
def test_super_resolve_and_inpaint_any_image(prior, image):
    original = image.copy()
    up = restoration.super_resolve(image, 2, model=prior, n_iter=3,
                                   max_num_iter=10)
    _assert_finite(up, (2 * image.shape[0], 2 * image.shape[1]), image.dtype,
                   "super_resolve")
    mask = np.zeros(image.shape, bool)
    mask[3:6, 4:8] = True
    filled = restoration.inpaint(image, mask, model=prior, prior_weight=1e-3,
                                 max_num_iter=10)
    _assert_finite(filled, image.shape, image.dtype, "inpaint")
    np.testing.assert_array_equal(filled[~mask], image[~mask])
    np.testing.assert_array_equal(image, original)


@given(data=st.sampled_from(DTYPES).flatmap(
    lambda dtype: finite_arrays((6, 36), dtype)))
def test_fields_of_experts_fit_on_any_images(data, tmp_path_factory):
    original = data.copy()
    try:
        foe = _fit_quietly(FieldsOfExperts(n_experts=2, filter_size=2,
                                           max_iter=3, random_state=0), data)
    except ValueError as exc:  # the one documented refusal
        assert "standardise X" in str(exc)
        assert np.abs(data).max() > np.sqrt(np.finfo(data.dtype).max / 576)
        np.testing.assert_array_equal(data, original)
        return
    np.testing.assert_array_equal(data, original)
    _assert_finite(foe.transform(data), (6, 2 * 25), data.dtype, "transform")
    _assert_finite(foe.energy(data.reshape(6, 6, 6)), (6,),
                   foe.energy(data.reshape(6, 6, 6)).dtype, "energy")
    path = tmp_path_factory.mktemp("models") / "foe.npz"
    loaded = load_model(save_model(foe, path))
    np.testing.assert_array_equal(loaded.transform(data), foe.transform(data))
