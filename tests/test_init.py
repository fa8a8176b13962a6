"""Starting points of the PoE (``init``) and restarts (``n_init``)."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sksm import RegularizedScoreMatchingPoE
from sksm._filters import start_filters as _start_filters


def _fast(**params):
    params.setdefault("max_iter", 30)
    params.setdefault("random_state", 0)
    return RegularizedScoreMatchingPoE(**params)


@pytest.fixture(scope="module")
def mixed():
    """Correlated heavy-tailed data, one constant feature, centred."""
    rng = np.random.RandomState(0)
    X = rng.laplace(size=(800, 5)) @ rng.randn(5, 5)
    X = np.hstack([X, np.zeros((800, 1))])
    return X - X.mean(axis=0)


@pytest.fixture(scope="module")
def toy():
    """Four Student-t (3 degrees of freedom) sources mixed by a random
    matrix, and held-out rows.

    From random orthonormal starts at ``reg_lambda=1e-3``, seed 2 stops,
    converged, in a worse local optimum (training loss -107.0, held-out
    log-likelihood -12.9) than seeds 0, 1 and 4 (-118.2 and -9.8),
    measured when the test was written; the tests check it again.
    """
    rng = np.random.RandomState(2)
    S = rng.standard_t(3, size=(3000, 4))
    A = rng.randn(4, 4)
    return S @ A.T, rng.standard_t(3, size=(2000, 4)) @ A.T


#: The model the toy's optima were measured with: complete, learned weights
#: (the defaults before 0.2)
TOY = {"n_experts": 4, "learn_weights": True}


def _unit_rows(V):
    return V / np.linalg.norm(V, axis=1, keepdims=True)


# --------------------------------------------------------------------- #
# What each start is
# --------------------------------------------------------------------- #
def test_zca_start_is_the_symmetric_whitening_matrix(mixed):
    V = _start_filters(mixed, 6, "zca", np.random.RandomState(0))
    np.testing.assert_allclose(V, V.T, atol=1e-8)
    C = mixed.T @ mixed / len(mixed)
    # whitens the five directions with variance; the constant feature
    # gets (almost) a filter of its own
    np.testing.assert_allclose((V @ C @ V.T)[:5, :5], np.eye(5), atol=1e-4)
    np.testing.assert_allclose(np.abs(_unit_rows(V)[5]), [0] * 5 + [1],
                               atol=1e-6)


def test_pca_start_decorrelates_in_decreasing_variance(mixed):
    V = _unit_rows(_start_filters(mixed, 6, "pca", np.random.RandomState(0)))
    np.testing.assert_allclose(V @ V.T, np.eye(6), atol=1e-10)
    cov = np.cov(mixed @ V.T, rowvar=False)
    variances = np.diag(cov)
    np.testing.assert_allclose(cov, np.diag(variances), atol=1e-8)
    assert np.all(np.diff(variances) <= 1e-12)
    # fewer experts: the leading axes
    V3 = _unit_rows(_start_filters(mixed, 3, "pca", np.random.RandomState(0)))
    np.testing.assert_allclose(V3, V[:3])


def test_ica_start_gives_independent_unit_variance_responses():
    rng = np.random.RandomState(0)
    A = rng.randn(4, 4)
    X = rng.laplace(size=(3000, 4)) @ A.T
    X -= X.mean(axis=0)
    V = _start_filters(X, 4, "ica", rng)
    np.testing.assert_allclose(np.cov(X @ V.T, rowvar=False, bias=True),
                               np.eye(4), atol=1e-6)
    # each filter undoes the mixing of one source: V A is a scaled
    # permutation (up to FastICA's accuracy)
    P = np.abs(_unit_rows(V @ A))
    assert np.all(np.sort(P, axis=1)[:, -1] > 0.99)


def test_restarts_rotate_the_whitening_matrix(mixed):
    rng = np.random.RandomState(0)
    first = _start_filters(mixed, 6, "zca", rng)
    again = _start_filters(mixed, 6, "zca", rng, rotate=True)
    assert not np.allclose(_unit_rows(first), _unit_rows(again))
    # Q W whitens as W does, and the rotation leaves the constant
    # feature's filter alone
    C = mixed.T @ mixed / len(mixed)
    np.testing.assert_allclose(again @ C @ again.T, first @ C @ first.T,
                               atol=1e-4)
    np.testing.assert_allclose(np.abs(_unit_rows(again)[5]), [0] * 5 + [1],
                               atol=1e-6)


@pytest.mark.parametrize("init", ["zca", "pca", "ica", "random"])
def test_overcomplete_start_adds_random_directions(mixed, init):
    V = _start_filters(mixed, 9, init, np.random.RandomState(0))
    assert V.shape == (9, 6)
    square = _start_filters(mixed, 6, init, np.random.RandomState(0))
    np.testing.assert_allclose(V[:6], square)
    assert np.linalg.matrix_rank(V[6:]) == 3


@pytest.mark.parametrize("init", ["zca", "pca", "ica"])
def test_data_start_keeps_float32_and_the_callers_array(init):
    rng = np.random.RandomState(0)
    X = (rng.laplace(size=(300, 4)) @ rng.randn(4, 4)).astype(np.float32)
    before = X.copy()
    est = _fast(init=init, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
    np.testing.assert_array_equal(X, before)
    assert est.filters_.dtype == np.float32
    assert est.transform(X).dtype == np.float32


def test_default_start_is_zca(mixed):
    est = RegularizedScoreMatchingPoE()
    assert est.init == "zca"
    assert est.n_init == 1


@pytest.mark.parametrize("params, match", [
    ({"init": "kmeans"}, "init"),
    ({"init": None}, "init"),
    ({"n_init": 0}, "n_init"),
    ({"n_init": 1.5}, "n_init"),
])
def test_invalid_init_parameters_raise(mixed, params, match):
    with pytest.raises(ValueError, match=match):
        _fast(**params).fit(mixed)


# --------------------------------------------------------------------- #
# n_init
# --------------------------------------------------------------------- #
def test_n_init_keeps_the_fit_with_the_lowest_training_loss(toy):
    X, _ = toy
    # the starts of n_init=4 are the four draws in turn from one stream
    stream = np.random.RandomState(2)
    single = [RegularizedScoreMatchingPoE(init="random", reg_lambda=1e-3,
                                          random_state=stream, **TOY).fit(X)
              for _ in range(4)]
    losses = [est.loss_curve_[-1] for est in single]
    assert max(losses) - min(losses) > 1.0  # the starts matter here
    best = RegularizedScoreMatchingPoE(init="random", reg_lambda=1e-3,
                                       n_init=4, random_state=2, **TOY).fit(X)
    winner = single[int(np.argmin(losses))]
    assert best.loss_curve_[-1] == min(losses)
    np.testing.assert_array_equal(best.filters_, winner.filters_)
    assert best.n_iter_ == winner.n_iter_


def test_n_init_fixes_the_bad_seed_of_the_toy_problem(toy):
    X, X_test = toy
    # every fit at tol=1e-6 (the default before 1e-5) and with the weight
    # bound 0.501 (the default before 1.5), where the optima below were
    # measured: the test is about the optimum, not the stop or the bound (at
    # 1.5 seed 2 is not a bad start)
    old = {"tol": 1e-6, "min_expert_weight": 0.501, **TOY}
    bad = RegularizedScoreMatchingPoE(init="random", reg_lambda=1e-3,
                                      random_state=2, **old)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a silent stop
        bad.fit(X)
    good = [RegularizedScoreMatchingPoE(init="random", reg_lambda=1e-3,
                                        random_state=seed, **old).fit(X)
            for seed in (0, 1, 4)]
    worst_good = max(est.loss_curve_[-1] for est in good)
    assert bad.loss_curve_[-1] > worst_good + 1.0
    assert bad.score(X_test) < min(est.score(X_test) for est in good) - 1.0
    fixed = RegularizedScoreMatchingPoE(init="random", reg_lambda=1e-3,
                                        n_init=4, random_state=2,
                                        **old).fit(X)
    assert fixed.loss_curve_[-1] <= worst_good
    assert fixed.score(X_test) > bad.score(X_test) + 1.0
    # and the default start lands in the good optimum without restarts (the
    # fits compute in float32 and stop within 1e-2 of each other there; the
    # bad optimum is more than 1 higher)
    default = RegularizedScoreMatchingPoE(reg_lambda=1e-3, **old).fit(X)
    assert default.loss_curve_[-1] < bad.loss_curve_[-1] - 1.0
    assert abs(default.loss_curve_[-1] - worst_good) < 1e-2


def test_n_init_with_zca_restarts_from_other_whitening_matrices(toy):
    X, _ = toy
    one = _fast(max_iter=200, reg_lambda=1e-3).fit(X)
    three = _fast(max_iter=200, reg_lambda=1e-3, n_init=3).fit(X)
    assert three.loss_curve_[-1] <= one.loss_curve_[-1]


def test_warm_start_continues_and_ignores_init_and_n_init(toy):
    X, _ = toy
    est = _fast(max_iter=300, reg_lambda=1e-3, warm_start=True).fit(X)
    first, filters = est.n_iter_, est.filters_.copy()
    est.set_params(init="ica", n_init=3).fit(X)
    assert est.n_iter_ < first
    np.testing.assert_allclose(np.abs(np.sum(est.filters_ * filters, axis=1)),
                               1.0, atol=1e-3)
