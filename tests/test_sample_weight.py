"""sample_weight in fit: integer weights fit the rows repeated (issue 27)."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import (
    check_sample_weight_equivalence_on_dense_data,
)

from sksm import FieldsOfExperts, GaussianRBM, RegularizedScoreMatchingPoE
from sksm.energies import GaussianRBMEnergy
from sksm.objectives import (
    ContrastiveDivergence,
    DenoisingScoreMatching,
    Objective,
    SlicedScoreMatching,
    regularized_score_matching,
)

#: Weights 0, 1, 2, 3, 0, 1, ...: rows dropped, kept once, repeated.
WEIGHTS = np.arange(40) % 4


class _Float64PoE(RegularizedScoreMatchingPoE):
    """The PoE with its L-BFGS objective computed in float64."""

    _fit_dtype = None


@pytest.fixture(scope="module")
def rows():
    rng = np.random.RandomState(0)
    return rng.laplace(size=(40, 4)) @ rng.randn(4, 4)


def _quiet_fit(est, X, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, **fit_params)


def _params(est):
    """The fitted parameters of ``est``, by name."""
    names = {GaussianRBM: ("components_", "intercept_hidden_",
                           "intercept_visible_")}.get(
        type(est), ("filters_", "expert_weights_"))
    return {name: getattr(est, name) for name in names}


# (estimator, relative tolerance of the parameters): the deterministic
# full-batch paths.  float64 fits agree to rounding; the PoE's float32
# L-BFGS to float32 rounding carried along its path.
EQUIVALENT = [
    (GaussianRBM(n_components=3, max_iter=300), 1e-7),
    (_Float64PoE(n_experts=6, learn_weights=True, max_iter=300), 1e-7),
    (RegularizedScoreMatchingPoE(n_experts=4, max_iter=300), 1e-4),
    (RegularizedScoreMatchingPoE(n_experts=4, solver="adam", max_iter=20,
                                 batch_size=200, learning_rate=1e-2), 1e-7),
    (GaussianRBM(n_components=2, objective="rsm_full", max_iter=100), 1e-7),
]


@pytest.mark.parametrize("est, rtol", EQUIVALENT,
                         ids=lambda v: type(v).__name__ + getattr(
                             v, "solver", "") if not isinstance(v, float)
                         else str(v))
def test_integer_weights_fit_the_repeated_rows(rows, est, rtol):
    est.set_params(random_state=0)
    weighted = _quiet_fit(est, rows, sample_weight=WEIGHTS)
    repeated_rows = np.repeat(rows, WEIGHTS, axis=0)
    repeated = _quiet_fit(type(est)(**est.get_params()), repeated_rows)
    assert weighted.n_iter_ == repeated.n_iter_
    for name, value in _params(repeated).items():
        np.testing.assert_allclose(_params(weighted)[name], value, rtol=rtol,
                                   atol=rtol * np.abs(value).max(),
                                   err_msg=name)
    if isinstance(est, RegularizedScoreMatchingPoE):
        # the statistics are weighted: the mean, scale and range
        np.testing.assert_allclose(weighted.mean_, repeated.mean_, rtol=1e-12)
        assert weighted.scale_ == pytest.approx(repeated.scale_, rel=1e-12)
        np.testing.assert_array_equal(weighted.data_min_, repeated.data_min_)
        np.testing.assert_array_equal(weighted.data_max_, repeated.data_max_)
        assert weighted.n_samples_seen_ == len(repeated_rows)


def test_a_field_of_experts_weights_whole_images():
    rng = np.random.RandomState(1)
    X = rng.rand(12, 7 * 7)
    w = np.arange(12) % 3
    params = dict(n_experts=2, filter_size=3, max_iter=40, random_state=0)
    weighted = _quiet_fit(FieldsOfExperts(**params), X, sample_weight=w)
    repeated = _quiet_fit(FieldsOfExperts(**params), np.repeat(X, w, axis=0))
    np.testing.assert_allclose(weighted.filters_, repeated.filters_,
                               rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(weighted.expert_weights_,
                               repeated.expert_weights_, rtol=1e-7)
    assert weighted.mean_brightness_ == pytest.approx(
        repeated.mean_brightness_, rel=1e-12)
    assert weighted.std_brightness_ == pytest.approx(
        repeated.std_brightness_, rel=1e-12)
    assert weighted.n_samples_seen_ == w.sum()


def test_the_poe_fitted_in_float64_passes_scikit_learns_equivalence_check():
    """The check the PoE's float32 L-BFGS is expected to fail
    (sksm._estimator_checks) passes for the same fit in float64: float32
    rounding is its only reason."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check_sample_weight_equivalence_on_dense_data(
            "RegularizedScoreMatchingPoE", _Float64PoE(max_iter=30))


def test_zero_weights_drop_rows_and_equal_weights_change_nothing(rows):
    params = dict(n_components=3, max_iter=30, random_state=0)
    keep = WEIGHTS > 0
    dropped = _quiet_fit(GaussianRBM(**params), rows,
                         sample_weight=keep.astype(float) * 2.5)
    plain = _quiet_fit(GaussianRBM(**params), rows[keep])
    np.testing.assert_array_equal(dropped.components_, plain.components_)
    ones = _quiet_fit(GaussianRBM(**params), rows, sample_weight=[3] * 40)
    none = _quiet_fit(GaussianRBM(**params), rows)
    np.testing.assert_array_equal(ones.components_, none.components_)


def test_fit_modifies_neither_x_nor_the_weights(rows):
    X, w = rows.copy(), WEIGHTS.astype(float)
    _quiet_fit(RegularizedScoreMatchingPoE(max_iter=5, random_state=0), X,
               sample_weight=w)
    np.testing.assert_array_equal(X, rows)
    np.testing.assert_array_equal(w, WEIGHTS)


@pytest.mark.parametrize("weights, match", [
    (-np.ones(40), "(?i)negative"),
    (np.r_[np.nan, np.ones(39)], "NaN"),
    (np.r_[np.inf, np.ones(39)], "infinity"),
    (np.ones(39), r"sample_weight.shape == \(39,\), expected \(40,\)"),
    (np.ones((40, 2)), "1D array"),
    (np.zeros(40), "at least one non-zero"),
    (np.r_[1.0, np.zeros(39)], "positive weight to 1 row"),
    (["a"] * 40, "could not convert|numbers"),
])
def test_bad_weights_are_refused_with_a_clear_error(rows, weights, match):
    for est in (RegularizedScoreMatchingPoE(max_iter=2),
                GaussianRBM(n_components=2, max_iter=2)):
        with pytest.raises(ValueError, match=match):
            est.fit(rows, sample_weight=weights)


def test_what_cannot_take_weights_says_what_to_do(rows):
    da = pytest.importorskip("dask.array")
    with pytest.raises(ValueError, match="Dask array.*in memory"):
        GaussianRBM(n_components=2).fit(da.from_array(rows, chunks=20),
                                         sample_weight=WEIGHTS)
    with pytest.raises(ValueError, match="init='ica'.*FastICA"):
        RegularizedScoreMatchingPoE(init="ica").fit(rows, sample_weight=WEIGHTS)

    class Unweighted(Objective):
        _parameter_constraints = {}

        def value_and_grads(self, network, batch, drawn, *, reg_lambda,
                            n_threads):
            return regularized_score_matching(network, batch, reg_lambda)

    est = GaussianRBM(n_components=2, objective=Unweighted(), max_iter=2)
    with pytest.raises(TypeError, match="takes no sample_weight"):
        est.fit(rows, sample_weight=WEIGHTS)
    _quiet_fit(est, rows)  # and without weights it fits


def test_grid_search_routes_sample_weight_to_fit(rows):
    search = GridSearchCV(RegularizedScoreMatchingPoE(n_experts=4, max_iter=5,
                                                      random_state=0),
                          {"reg_lambda": [0.1, 0.2]}, cv=2)
    # score (the mean log-likelihood) stays unweighted, and scikit-learn
    # says so
    with pytest.warns(UserWarning, match="does not support sample_weight"):
        _quiet_fit(search, rows, sample_weight=WEIGHTS)
    best = search.best_estimator_
    np.testing.assert_allclose(best.mean_,
                               np.average(rows, axis=0, weights=WEIGHTS))
    assert not np.allclose(best.mean_, rows.mean(axis=0))
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


# --------------------------------------------------------------------- #
# The stochastic objectives: weights and repeated rows agree in expectation
# --------------------------------------------------------------------- #
@pytest.mark.parametrize("objective", [
    DenoisingScoreMatching(training_noise=0.3), SlicedScoreMatching(),
    ContrastiveDivergence(n_mcmc_steps=1, mcmc_method="mala")])
def test_random_objectives_are_unbiased_for_the_repeated_rows(objective):
    rng = np.random.RandomState(0)
    X = rng.randn(12, 3)
    w = np.arange(12) % 3 + 1
    W = 0.5 * rng.randn(2, 3)
    energy = GaussianRBMEnergy(W, np.zeros(2), np.zeros(3), 1.0)
    theta = energy.get_params()

    def values(data, weights, n):
        # the gradient of W, at n independent draws
        return np.array([objective.loss_function(
            energy, data, np.random.RandomState(k), reg_lambda=0.01,
            sample_weight=weights)(theta)[1][:6] for k in range(n)])

    weighted = values(X, w.astype(float), 120)
    repeated = values(np.repeat(X, w, axis=0), None, 120)
    error = np.sqrt((weighted.var(axis=0) + repeated.var(axis=0)) / 120)
    gap = np.abs(weighted.mean(axis=0) - repeated.mean(axis=0))
    assert np.all(gap < 4 * error + 1e-12), (gap, error)


def _rbm_mean(rbm):
    """The exact mean of a GaussianRBM with sigma=1: ``c + W^T E[h]``, the
    hidden states' probabilities summed exactly."""
    W, b, c = rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_
    H = (np.arange(2 ** len(b))[:, None] >> np.arange(len(b))) & 1
    log_p = H @ (b + W @ c) + 0.5 * np.sum((H @ W) ** 2, axis=1)
    p = np.exp(log_p - log_p.max())
    return c + (p / p.sum()) @ H @ W


def test_minibatch_adam_follows_the_weights():
    """Minibatch means are weighted: the weighted fit ends near the fit of
    the repeated rows, far from the fit that ignores the weights."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(60, 2), rng.randn(60, 2) + 3.0])
    w = np.r_[np.full(60, 4), np.ones(60, dtype=int)]
    params = dict(n_components=2, solver="adam", batch_size=16,
                  learning_rate=0.01, max_iter=100, random_state=0)
    weighted = _quiet_fit(GaussianRBM(**params), X, sample_weight=w)
    repeated = _quiet_fit(GaussianRBM(**params), np.repeat(X, w, axis=0))
    plain = _quiet_fit(GaussianRBM(**params), X)
    near = np.linalg.norm(_rbm_mean(weighted) - _rbm_mean(repeated))
    far = np.linalg.norm(_rbm_mean(plain) - _rbm_mean(repeated))
    assert near < 0.25 * far, (near, far)
