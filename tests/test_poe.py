"""The RegularizedScoreMatchingPoE estimator."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.integrate import quad
from scipy.optimize import approx_fprime
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sksm import RegularizedScoreMatchingPoE
from sksm._estimator_checks import expected_failed_checks
from sksm.objectives import DenoisingScoreMatching, regularized_score_matching
from sksm.poe import MAX_EXPERT_WEIGHT, MIN_EXPERT_WEIGHT

#: The 8x8 digits in [0, 1] have a root-mean-square deviation of 0.27: the
#: experts' scale c = e^1.5 on them is 1.2 in the units of the scaled data
#: (``scale_``), and reg_lambda = 0.01 is 0.14.
DIGITS_C = 1.2


def _fast(**params):
    params.setdefault("max_iter", 30)
    params.setdefault("random_state", 0)
    return RegularizedScoreMatchingPoE(**params)


def _sm_loss(est, X):
    """The fitted model's RSM loss on X, in float64."""
    energy = est._fitted_energy(dtype=np.float64)
    return regularized_score_matching(energy.network, X - est.mean_,
                                      est.reg_lambda)[0]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="module")
def sparse_sources():
    """Mixtures of heavy-tailed sources: the model's home ground."""
    rng = np.random.RandomState(0)
    S = rng.standard_t(3, size=(1500, 6)) * 0.3
    A = rng.randn(6, 6)
    return S @ A.T


@parametrize_with_checks(
    [_fast(max_iter=10), _fast(solver="adam", max_iter=3, n_experts=3),
     _fast(objective="rsm_full", max_iter=5),
     _fast(objective=DenoisingScoreMatching(training_noise=[0.1, 0.3]),
           max_iter=5),
     _fast(objective="ssm", max_iter=5),
     _fast(objective="cd", solver="adam", max_iter=2),
     _fast(features="activation_and_response", max_iter=5)],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# --------------------------------------------------------------------- #
# The density
# --------------------------------------------------------------------- #
def test_score_samples_is_a_normalised_density():
    """Integrate exp(score_samples) over the plane: it must be 1."""
    rng = np.random.RandomState(1)
    X = rng.standard_t(4, size=(400, 2)) @ np.array([[1.0, 0.4], [0.2, 0.7]])
    est = _fast(n_experts=2, learn_weights=True, reg_lambda=0.01,
                max_iter=200).fit(X)
    assert est.expert_weights_.min() >= MIN_EXPERT_WEIGHT
    # Make the tails light enough for quadrature to be accurate.
    est.expert_weights_ = np.array([3.0, 4.0])
    # x = mean + scale tan(theta) maps the plane onto a square, where the
    # midpoint rule on a 1000 x 1000 grid is accurate to about 1e-9 (500: 3e-9;
    # dblquad over the plane agreed to 1e-5 but took a minute)
    n = 1000
    theta = (np.arange(n) + 0.5) / n * np.pi - np.pi / 2
    x = est.scale_ * np.tan(theta)
    w = est.scale_ / np.cos(theta) ** 2 * (np.pi / n)
    A, B = np.meshgrid(x, x, indexing="ij")
    points = np.column_stack([A.ravel(), B.ravel()]) + est.mean_
    density = np.exp(est.score_samples(points)).reshape(n, n)
    assert w @ density @ w == pytest.approx(1.0, abs=1e-7)


def test_score_is_mean_log_density_and_prefers_the_data(sparse_sources):
    X = sparse_sources
    est = _fast(reg_lambda=1e-3, max_iter=200).fit(X[:1000])
    assert est.score(X[1000:]) == pytest.approx(
        np.mean(est.score_samples(X[1000:])))
    rng = np.random.RandomState(0)
    shuffled = np.column_stack([rng.permutation(c) for c in X[1000:].T])
    assert est.score(X[1000:]) > est.score(shuffled) + 0.1


def test_grad_log_density_matches_finite_differences(sparse_sources):
    # the complete model (exact log Z), learned weights
    est = _fast(n_experts=sparse_sources.shape[1], learn_weights=True,
                max_iter=50).fit(sparse_sources)
    X = sparse_sources[:3]
    grad = est.grad_log_density(X)
    for t in range(3):
        fd = approx_fprime(X[t], lambda x: est.score_samples(x[None])[0], 1e-7)
        np.testing.assert_allclose(grad[t], fd, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(-est.energy(X),
                               est.score_samples(X) + est.log_partition())


def test_the_default_model_is_twice_overcomplete_and_more_likely(digits):
    """Issue 26: the defaults are 2 * n_features experts of weight 1, whose
    held-out log-likelihood (by AIS) is far above the complete model's
    (measured +9.1 against -69.2 nats per digit)."""
    X, _ = digits
    default = RegularizedScoreMatchingPoE(random_state=0).fit(X[:1200])
    assert default.filters_.shape == (128, 64)
    np.testing.assert_array_equal(default.expert_weights_, 1.0)
    complete = RegularizedScoreMatchingPoE(n_experts=64,
                                           random_state=0).fit(X[:1200])
    assert default.score(X[1200:]) > complete.score(X[1200:]) + 20
    assert default.log_partition_std_ < 1.0


def test_overcomplete_score_uses_ais_and_undercomplete_raises(sparse_sources):
    over = _fast(n_experts=12, max_iter=5).fit(sparse_sources)
    # the closed form does not exist ...
    with pytest.raises(NotImplementedError, match="overcomplete.*n_experts=12"):
        over.log_partition()
    with pytest.raises(ValueError, match="no closed-form"):
        over.estimate_log_partition(method="exact")
    # ... so score estimates log Z by AIS once and caches it
    assert not hasattr(over, "log_partition_")
    assert np.isfinite(over.score(sparse_sources))
    assert over.log_partition_std_ > 0
    under = _fast(n_experts=3, max_iter=5).fit(sparse_sources)
    with pytest.raises(ValueError, match="undercomplete.*not a normalisable"):
        under.score_samples(sparse_sources)
    # ... while the rest of the model works.
    # the default features keep the sign: two columns per expert
    assert over.transform(sparse_sources).shape == (1500, 24)
    assert np.isfinite(over.energy(sparse_sources)).all()


# --------------------------------------------------------------------- #
# Features, pipelines, model selection
# --------------------------------------------------------------------- #
def test_transform_is_expert_activations(sparse_sources):
    est = _fast(n_experts=8, features="activation", max_iter=20).fit(
        sparse_sources)
    X = sparse_sources[:5]
    u = (X - est.mean_) / est.scale_ @ est.filters_.T
    np.testing.assert_allclose(est.transform(X),
                               np.log1p(0.5 * (est.c * u) ** 2))
    names = est.get_feature_names_out()
    assert list(names[:2]) == ["regularizedscorematchingpoe_expert0",
                               "regularizedscorematchingpoe_expert1"]
    assert len(names) == 8


@pytest.mark.parametrize("features, suffixes", [
    ("activation", [""]),
    ("signed_activation", ["_pos", "_neg"]),
    ("activation_and_response", ["", "_response"]),
])
def test_feature_names_say_which_expert_and_which_part(sparse_sources,
                                                       features, suffixes):
    est = _fast(n_experts=3, features=features, max_iter=5).fit(
        sparse_sources)
    names = est.get_feature_names_out()
    expected = [f"regularizedscorematchingpoe_expert{i}{suffix}"
                for suffix in suffixes for i in range(3)]
    assert list(names) == expected
    Xt = est.transform(sparse_sources[:50])
    assert Xt.shape[1] == len(names)
    # the columns are what their names say
    z = (sparse_sources[:50] - est.mean_) / est.scale_ @ est.filters_.T
    g = np.log1p(0.5 * (est.c * z) ** 2)
    column = dict(zip(names, Xt.T))
    prefix = "regularizedscorematchingpoe_expert"
    for i in range(3):
        if features == "signed_activation":
            np.testing.assert_allclose(column[f"{prefix}{i}_pos"],
                                       np.where(z[:, i] > 0, g[:, i], 0))
            np.testing.assert_allclose(column[f"{prefix}{i}_neg"],
                                       np.where(z[:, i] < 0, g[:, i], 0))
        else:
            np.testing.assert_allclose(column[f"{prefix}{i}"], g[:, i])
        if features == "activation_and_response":
            np.testing.assert_allclose(column[f"{prefix}{i}_response"],
                                       z[:, i])
    # input names are checked against those seen in fit
    with pytest.raises(ValueError, match="input_features"):
        est.get_feature_names_out(["a", "b"])
    with pytest.raises(NotFittedError):
        RegularizedScoreMatchingPoE().get_feature_names_out()


def test_pipeline_with_logistic_regression(digits):
    X, y = digits
    pipe = make_pipeline(
        _fast(c=DIGITS_C, reg_lambda=0.4, learn_weights=False, max_iter=100),
        StandardScaler(), LogisticRegression(max_iter=2000))
    pipe.fit(X[:1000], y[:1000])
    # Measured 0.79 (raw pixels: 0.93 on these 8x8 digits); chance is 0.1.
    assert pipe.score(X[1000:], y[1000:]) > 0.7


def test_grid_search_selects_reg_lambda_by_likelihood(digits):
    X, _ = digits
    grid = GridSearchCV(
        _fast(c=DIGITS_C, learn_weights=False, max_iter=60),
        {"reg_lambda": [0.0, 0.14, 14.0]}, cv=2, n_jobs=2)
    grid.fit(X)
    scores = grid.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    # Unregularized SM fails on quantized digits; a large lambda oversmooths.
    assert grid.best_params_ == {"reg_lambda": 0.14}
    assert grid.best_score_ == pytest.approx(scores.max())


def test_clone_and_pickle_round_trip(sparse_sources):
    est = _fast(reg_lambda=0.02, n_experts=4)
    assert clone(est).get_params() == est.get_params()
    est.fit(sparse_sources)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.transform(sparse_sources),
                                  est.transform(sparse_sources))


# --------------------------------------------------------------------- #
# dtypes and the caller's data
# --------------------------------------------------------------------- #
def test_float32_is_fitted_and_transformed_in_float32(sparse_sources):
    X32 = sparse_sources.astype(np.float32)
    est32 = _fast(max_iter=1000, tol=1e-9).fit(X32)
    est64 = _fast(max_iter=1000, tol=1e-9).fit(sparse_sources)
    assert est32.filters_.dtype == np.float32
    assert est32.mean_.dtype == np.float32
    assert est32.transform(X32).dtype == np.float32
    assert est32.denoise(X32[:3], 0.1).dtype == np.float32
    # Both reach the same score-matching loss (possibly other local optima).
    loss32 = _sm_loss(est32, sparse_sources)
    loss64 = _sm_loss(est64, sparse_sources)
    assert loss32 == pytest.approx(loss64, rel=1e-3)


def test_fit_does_not_modify_input(sparse_sources):
    X = sparse_sources.copy()
    _fast(max_iter=5).fit(X)
    np.testing.assert_array_equal(X, sparse_sources)
    X.setflags(write=False)  # a read-only array works too
    est = _fast(max_iter=5).fit(X)
    est.denoise(X[:4], 0.1)
    _fast(solver="adam").partial_fit(X[:100])


# --------------------------------------------------------------------- #
# Bad input
# --------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "X, error, match",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0]]), ValueError, "NaN"),
        (np.array([[0.0, np.inf], [1.0, 2.0]]), ValueError, "infinity"),
        (np.zeros(5), ValueError, "Expected 2D array, got 1D"),
        (np.zeros((3, 2, 2)), ValueError, "dim 3"),
        (np.zeros((0, 3)), ValueError, "0 sample"),
        (np.zeros((1, 3)), ValueError, "1 sample"),
        (np.ones((4, 2)) * 1j, ValueError, "[Cc]omplex"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), ValueError,
         "could not convert"),
        (sp.random(10, 3, density=0.5, format="csr"), TypeError, "[Ss]parse"),
    ],
)
def test_fit_rejects_bad_input(X, error, match):
    with pytest.raises(error, match=match):
        _fast(max_iter=2).fit(X)


@pytest.mark.parametrize("method", ["transform", "score", "score_samples",
                                    "energy", "grad_log_density"])
def test_wrong_number_of_features_after_fit(method, sparse_sources):
    est = _fast(max_iter=2).fit(sparse_sources)
    with pytest.raises(ValueError, match="has 5 features.*expecting 6"):
        getattr(est, method)(sparse_sources[:, :5])
    with pytest.raises(ValueError, match="has 5 features.*expecting 6"):
        est.denoise(sparse_sources[:, :5], 0.1)


def test_unfitted_model_raises_not_fitted(sparse_sources):
    with pytest.raises(NotFittedError):
        RegularizedScoreMatchingPoE().denoise(sparse_sources, 0.1)


@pytest.mark.parametrize("param, value", [
    ("reg_lambda", -0.1), ("c", 0.0), ("n_experts", 0), ("solver", "sgd"),
    ("max_iter", 0), ("batch_size", 0),
])
def test_invalid_parameters(param, value, sparse_sources):
    with pytest.raises(ValueError, match=param):
        RegularizedScoreMatchingPoE(**{param: value}).fit(sparse_sources)


@pytest.mark.parametrize("sigma, error", [
    (0.0, ValueError), (-1.0, ValueError), (np.nan, ValueError),
    (np.inf, ValueError), ("0.1", TypeError), (None, TypeError),
])
def test_denoise_rejects_bad_sigma(sigma, error, sparse_sources):
    est = _fast(max_iter=2).fit(sparse_sources)
    with pytest.raises(error, match="sigma"):
        est.denoise(sparse_sources[:3], sigma)


# --------------------------------------------------------------------- #
# Numerical trouble
# --------------------------------------------------------------------- #
def test_unregularized_fit_on_quantized_data_warns_and_stays_finite(digits):
    X, _ = digits
    with pytest.warns(ConvergenceWarning, match="diverged.*reg_lambda"):
        est = _fast(reg_lambda=0.0, learn_weights=True,
                    max_iter=1500).fit(X)
    for attr in (est.filters_, est.expert_weights_, est.mean_):
        assert np.all(np.isfinite(attr))
    # exp(log(MAX_EXPERT_WEIGHT)) may round up by one ulp.
    assert est.expert_weights_.max() <= MAX_EXPERT_WEIGHT * (1 + 1e-12)
    assert np.all(np.isfinite(est.transform(X)))


@pytest.mark.parametrize("first_bad", [1, 4])
def test_non_finite_loss_keeps_last_finite_parameters(monkeypatch,
                                                      first_bad):
    # The expert is finite for any finite response (test_extremes.py), so
    # the fault is injected: from its first_bad-th call, the expert's
    # derivatives are NaN, as a numerical fault would make them.
    from sksm.experts import StudentT

    X = np.random.RandomState(0).randn(50, 3)
    calls = {"n": 0}
    derivatives = StudentT.derivatives

    def faulty(self, z, value=False, order=3):
        calls["n"] += 1
        parts = derivatives(self, z, value=value, order=order)
        if calls["n"] >= first_bad:
            parts = tuple(None if p is None else np.full_like(p, np.nan)
                          for p in parts)
        return parts

    monkeypatch.setattr(StudentT, "derivatives", faulty)
    with pytest.warns(ConvergenceWarning, match="non-finite"):
        est = _fast(max_iter=10).fit(X)
    assert np.all(np.isfinite(est.filters_))
    assert np.all(np.isfinite(est.expert_weights_))


def test_large_reg_lambda_keeps_weights_proper(digits):
    X, _ = digits
    est = _fast(reg_lambda=1.0, max_iter=100).fit(X)
    assert est.expert_weights_.min() >= MIN_EXPERT_WEIGHT
    assert np.isfinite(est.score(X))


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_min_expert_weight_bounds_the_learned_weights(digits, solver):
    X, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        low = _fast(reg_lambda=1.0, solver=solver, max_iter=20,
                    learn_weights=True, min_expert_weight=0.501).fit(X)
        est = _fast(reg_lambda=1.0, solver=solver, max_iter=20,
                    learn_weights=True).fit(X)
    # reg_lambda=1 pushes weights down to the bound, 1.5 by default
    assert est.min_expert_weight == 1.5
    assert low.expert_weights_.min() < 1.5
    assert est.expert_weights_.min() >= 1.5 * (1 - 1e-12)
    # fixed weights stay 1 whatever the bound
    fixed = _fast(max_iter=5, learn_weights=False,
                  min_expert_weight=1.5).fit(X)
    np.testing.assert_array_equal(fixed.expert_weights_, 1.0)
    for bad in (0.5, 0.2, -1.0):
        with pytest.raises(ValueError, match="min_expert_weight"):
            _fast(min_expert_weight=bad).fit(X)


# --------------------------------------------------------------------- #
# Solvers, partial_fit, warm_start
# --------------------------------------------------------------------- #
def test_adam_reaches_a_loss_near_lbfgs(sparse_sources):
    lbfgs = _fast(max_iter=1000).fit(sparse_sources)
    adam = _fast(solver="adam", max_iter=200, learning_rate=1e-2,
                 batch_size=100).fit(sparse_sources)
    assert adam.loss_curve_[-1] < adam.loss_curve_[0]
    start = _sm_loss(_fast(max_iter=1).fit(sparse_sources), sparse_sources)
    best = _sm_loss(lbfgs, sparse_sources)
    # Adam closes at least 95% of the gap between the start and L-BFGS.
    assert _sm_loss(adam, sparse_sources) < best + 0.05 * (start - best)


def test_partial_fit_continues_and_tracks_the_mean(sparse_sources):
    est = _fast(solver="adam", learning_rate=1e-2)
    for _ in range(5):
        for batch in np.array_split(sparse_sources, 3):
            assert est.partial_fit(batch) is est
    np.testing.assert_allclose(est.mean_, sparse_sources.mean(axis=0))
    assert est.n_iter_ == 15
    assert est.loss_curve_[-1] < est.loss_curve_[0]


def test_warm_start_continues_from_previous_solution(sparse_sources):
    est = _fast(max_iter=300, warm_start=True).fit(sparse_sources)
    first = est.n_iter_
    est.fit(sparse_sources)
    assert est.n_iter_ < first


def test_warm_start_into_fixed_weights_uses_unit_weights(sparse_sources):
    est = _fast(max_iter=50, warm_start=True,
                learn_weights=True).fit(sparse_sources)
    assert not np.allclose(est.expert_weights_, 1.0)
    est.set_params(learn_weights=False).fit(sparse_sources)
    np.testing.assert_array_equal(est.expert_weights_, 1.0)


def test_fit_is_deterministic(sparse_sources):
    """Chunk threads are assigned statically: no run-to-run differences."""
    a = _fast(max_iter=50).fit(sparse_sources)
    b = _fast(max_iter=50).fit(sparse_sources)
    np.testing.assert_array_equal(a.filters_, b.filters_)


# --------------------------------------------------------------------- #
# Denoising
# --------------------------------------------------------------------- #
def test_denoise_reduces_error(digits):
    X, _ = digits
    est = _fast(c=DIGITS_C, reg_lambda=0.14, learn_weights=False,
                max_iter=200).fit(X[:1200])
    rng = np.random.RandomState(0)
    clean = X[1200:1400]
    sigma = 0.2
    noisy = clean + sigma * rng.randn(*clean.shape)
    denoised = est.denoise(noisy, sigma, clip=False)
    assert denoised.shape == noisy.shape
    mse_noisy = np.mean((noisy - clean) ** 2)
    mse_denoised = np.mean((denoised - clean) ** 2)
    assert mse_denoised < 0.6 * mse_noisy
    # ... and it is the MAP estimate: the gradient of the objective vanishes.
    grad = est.grad_log_density(denoised) - (denoised - noisy) / sigma**2
    assert np.abs(grad).max() < 1e-2 * np.abs(noisy - clean).max() / sigma**2


def test_denoise_keeps_the_training_range_and_beats_clipping(digits):
    """Issue 15, part 5: the unconstrained MAP estimate of noisy digits
    was worse than clipping the noisy pixels to [0, 1]; the estimate in
    the training data's box is better than both (held-out digits)."""
    X, _ = digits
    est = _fast(learn_weights=False, reg_lambda=0.6, max_iter=200).fit(X[:1000])
    np.testing.assert_array_equal(est.data_min_, X[:1000].min(axis=0))
    np.testing.assert_array_equal(est.data_max_, X[:1000].max(axis=0))
    clean = X[1000:1300]
    sigma = 0.1
    noisy = clean + sigma * np.random.RandomState(1).randn(*clean.shape)
    boxed = est.denoise(noisy, sigma)
    free = est.denoise(noisy, sigma, clip=False)
    assert np.all((boxed >= est.data_min_) & (boxed <= est.data_max_))
    assert free.min() < 0 or free.max() > 1
    mse = {name: np.mean((Z - clean) ** 2) for name, Z in [
        ("clip", np.clip(noisy, 0, 1)), ("free", free), ("boxed", boxed)]}
    # measured: 0.0068, 0.0086 and 0.0057
    assert mse["boxed"] < 0.9 * min(mse["clip"], mse["free"])
    # the constrained MAP estimate: zero gradient inside the box, and at a
    # bound the gradient of the log-posterior points out of the box
    grad = est.grad_log_density(boxed) - (boxed - noisy) / sigma ** 2
    inside = (boxed > est.data_min_) & (boxed < est.data_max_)
    scale = np.abs(grad).max()
    assert np.abs(grad[inside]).max() < 1e-2 * scale
    free_range = est.data_min_ < est.data_max_  # not a constant feature
    assert np.all(grad[(boxed == est.data_min_) & free_range] < 1e-2 * scale)
    assert np.all(grad[(boxed == est.data_max_) & free_range]
                  > -1e-2 * scale)
    with pytest.raises(TypeError, match="clip must be True or False"):
        est.denoise(noisy, sigma, clip="yes")


# --------------------------------------------------------------------- #
# The scale of the data (issue 15, part 3)
# --------------------------------------------------------------------- #
@pytest.mark.parametrize("factor", [1e-6, 255.0, 1e6])
def test_fit_does_not_depend_on_the_units_of_x(digits, factor):
    """Digits in [0, 1], in 0..255, times 1e6 or 1e-6: the same model, with
    densities related by the Jacobian of the change of units."""
    X = digits[0][:400]
    complete = X.shape[1]  # exact densities
    base = _fast(n_experts=complete, max_iter=40).fit(X)
    scaled = _fast(n_experts=complete, max_iter=40).fit(X * factor)
    assert scaled.scale_ == pytest.approx(base.scale_ * factor, rel=1e-12)
    assert scaled.n_iter_ == base.n_iter_
    np.testing.assert_allclose(scaled.filters_, base.filters_, atol=1e-8)
    # activations are O(1); differences of rounding (measured 3e-13)
    np.testing.assert_allclose(scaled.transform(X[:50] * factor),
                               base.transform(X[:50]), rtol=0, atol=1e-10)
    d = X.shape[1]
    np.testing.assert_allclose(
        scaled.score_samples(X[:50] * factor),
        base.score_samples(X[:50]) - d * np.log(factor), rtol=1e-9)
    grad = base.grad_log_density(X[:5])
    # the gradient moves with the filters, which agree to rounding, not
    # exactly (9e-11 with numpy 2.4's OpenBLAS, where this atol was 1e-10
    # of the largest gradient and failed by 1.4e-10): a few times their
    # difference, relative to the largest gradient
    moved = max(np.abs(scaled.filters_ - base.filters_).max(), 1e-12)
    np.testing.assert_allclose(scaled.grad_log_density(X[:5] * factor) * factor,
                               grad, rtol=0,
                               atol=10 * moved * np.abs(grad).max())
    noisy = X[:5] + 0.1  # denoise's stopping rule is in the scaled units
    np.testing.assert_allclose(scaled.denoise(noisy * factor, 0.1 * factor),
                               base.denoise(noisy, 0.1) * factor,
                               rtol=0, atol=1e-10 * factor)


def test_score_samples_is_a_density_of_x_itself(sparse_sources):
    """The Jacobian is included: in one dimension the density integrates
    to 1 over x in the user's units (x has scale 7, so a missing Jacobian
    would give 7 or 1/7).  The complete model's log Z is exact; the
    overcomplete model's is an AIS estimate, which must be within three of
    its own reported standard errors of the truth.  (The mass was once
    summed over [-400, 400] and asserted to 0.01 for the overcomplete
    model: the AIS estimate's noise, 0.04 nats, is larger than that, and
    the test passed or failed with the machine's rounding.)"""
    x = sparse_sources[:, :1] * 7.0
    for n_experts in (1, 2):
        with warnings.catch_warnings():
            # one dimension leaves a unit-norm filter nothing to learn
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = _fast(max_iter=50, n_experts=n_experts).fit(x)
        mass, _ = quad(lambda t: np.exp(est.score_samples([[t]])[0]),
                       -np.inf, np.inf, epsabs=1e-12, limit=200)
        if n_experts == 1:
            assert mass == pytest.approx(1.0, abs=1e-6)
        else:
            assert abs(np.log(mass)) < 3 * est.log_partition_std_
            assert est.log_partition_std_ < 0.1


def test_partial_fit_keeps_the_running_mean_and_scale(digits):
    X = digits[0][:600]
    est = _fast(solver="adam", batch_size=100)
    for batch in np.array_split(X, 4):
        est.partial_fit(batch)
    centred = X - X.mean(axis=0)
    np.testing.assert_allclose(est.mean_, X.mean(axis=0), rtol=1e-12)
    assert est.scale_ == pytest.approx(np.sqrt(np.mean(centred ** 2)),
                                       rel=1e-12)
    assert est.scale_ == pytest.approx(_fast(max_iter=1).fit(X).scale_,
                                       rel=1e-12)
    assert est.n_samples_seen_ == 600
    np.testing.assert_array_equal(est.data_min_, X.min(axis=0))
    np.testing.assert_array_equal(est.data_max_, X.max(axis=0))
    # near the largest values fit accepts, a sum of squares would overflow
    # (and gave scale_ = 1 silently): the update works in mean squares
    big = np.full((200, 1), 3e153)
    big[::2] *= -1
    est = _fast(solver="adam", max_iter=1)
    est.partial_fit(big[:100])
    est.partial_fit(big[100:])
    assert est.scale_ == pytest.approx(3e153, rel=1e-12)


def test_lbfgs_tolerances_are_relative_to_the_start():
    """A loss that is small only because of its units: 1e-12 |theta - 1|^2
    from 0 (gradient 2e-12, below the absolute gtol of 1e-6) is minimised,
    not taken as converged at the start."""
    from sksm.optim import lbfgs

    def fun(theta):
        return 1e-12 * float(np.sum((theta - 1) ** 2)), 2e-12 * (theta - 1)

    result = lbfgs(fun, np.zeros(3), tol=1e-6)
    np.testing.assert_allclose(result.theta, 1.0, atol=1e-5)
    assert result.n_iter > 0
    assert result.loss_curve[-1] < 1e-20  # in the loss's own units


def test_a_fit_that_returns_its_starting_point_warns(digits):
    from sklearn.exceptions import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match="returned its starting point"):
        _fast(tol=1e3).fit(digits[0][:200])


def test_partial_fit_exists_only_for_the_stochastic_solver(digits):
    """As MLPClassifier: with solver='lbfgs' there is no partial_fit (it
    ran Adam regardless before)."""
    est = _fast()
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError) as info:
        est.partial_fit(digits[0][:50])
    assert "solver='adam'" in str(info.value)  # its own message
    assert hasattr(_fast(solver="adam"), "partial_fit")


class _FaultAfter(RegularizedScoreMatchingPoE):
    """A PoE whose model check fails at its ``fault_at``-th call."""

    def _model_fault(self, energy):
        self.calls_ = getattr(self, "calls_", 0) + 1
        if self.calls_ == getattr(self, "fault_at", None):
            return "a fault for the test"
        return super()._model_fault(energy)


def test_adam_stops_before_an_epoch_that_leaves_the_model(sparse_sources):
    """Issue 15, part 4: a fit never ends in a model whose likelihood is
    undefined; Adam keeps the parameters of the last epoch that gave one."""
    X = sparse_sources[:300]
    two = _fast(solver="adam", max_iter=2, tol=0).fit(X)
    est = _FaultAfter(solver="adam", max_iter=5, tol=0, random_state=0)
    est.fault_at = 3
    with pytest.warns(ConvergenceWarning, match="diverged"):
        est.fit(X)
    np.testing.assert_allclose(est.filters_, two.filters_, rtol=1e-12)
    assert est.n_iter_ == 3

    est = _FaultAfter(solver="adam", random_state=0)
    est.partial_fit(X)
    before = est.filters_.copy()
    est.fault_at = est.calls_ + 1
    with pytest.warns(ConvergenceWarning, match="diverged"):
        est.partial_fit(X)
    np.testing.assert_allclose(est.filters_, before, rtol=1e-12)


def test_linearly_dependent_filters_are_a_fault(sparse_sources):
    est = _fast(n_experts=sparse_sources.shape[1], max_iter=2).fit(
        sparse_sources)
    energy = est._fitted_energy()
    assert est._model_fault(energy) is None
    W = est.filters_.copy()
    W[1] = 2 * W[0]
    est.filters_ = W
    assert "linearly dependent" in est._model_fault(est._fitted_energy())
    with pytest.raises(ValueError, match="linearly dependent"):
        est.score(sparse_sources)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transform_features_that_keep_the_sign(sparse_sources, dtype):
    """Issue 15, part 1: g is even in the response and drops its sign;
    the two other feature maps keep it."""
    X = sparse_sources.astype(dtype)
    est = _fast(n_experts=6, features="activation", max_iter=10).fit(X)
    z = ((X[:7] - est.mean_) / est.scale_) @ est.filters_.T
    g = est.transform(X[:7])
    signed = clone(est).set_params(features="signed_activation").fit(X)
    both = clone(est).set_params(features="activation_and_response").fit(X)
    for other in (signed, both):
        np.testing.assert_array_equal(other.filters_, est.filters_)
        out = other.transform(X[:7])
        assert out.shape == (7, 12) and out.dtype == dtype
        assert len(other.get_feature_names_out()) == 12
    out = signed.transform(X[:7])
    np.testing.assert_allclose(out[:, :6], np.where(z > 0, g, 0), rtol=1e-5)
    np.testing.assert_allclose(out[:, 6:], np.where(z < 0, g, 0), rtol=1e-5)
    np.testing.assert_allclose(out[:, :6] + out[:, 6:], g, rtol=1e-6)
    out = both.transform(X[:7])
    np.testing.assert_array_equal(out[:, :6], g)
    np.testing.assert_allclose(out[:, 6:], z, rtol=1e-4, atol=1e-6)
    # finite for inputs near the float maximum, where responses saturate
    huge = np.full((1, X.shape[1]), np.finfo(dtype).max / 2, dtype=dtype)
    for other in (signed, both):
        assert np.isfinite(other.transform(huge)).all()
