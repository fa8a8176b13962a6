"""bic/aic, GaussianRBM.gibbs and warm_start (issue 27)."""

import itertools
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from sksm import FieldsOfExperts, GaussianRBM, RegularizedScoreMatchingPoE


@pytest.fixture(scope="module")
def gaussian():
    rng = np.random.RandomState(0)
    return rng.standard_normal((300, 3)) @ np.array(
        [[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 0.7]])


def _fit(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X)


# --------------------------------------------------------------------- #
# bic and aic
# --------------------------------------------------------------------- #
@pytest.mark.parametrize("learn_weights", [False, True])
def test_bic_and_aic_of_the_complete_poe(gaussian, learn_weights):
    est = _fit(RegularizedScoreMatchingPoE(
        n_experts=3, learn_weights=learn_weights, max_iter=50,
        random_state=0), gaussian)
    n, d = gaussian.shape
    # the free parameters: 3 unit-norm filters, the weights if learned,
    # mean_ and scale_; the energy's own vector has every filter entry
    k = est._fitted_energy().n_params - 3 + d + 1
    assert k == 3 * (d - 1) + (3 if learn_weights else 0) + d + 1
    loglik = est.score_samples(gaussian).sum()
    assert est.bic(gaussian) == pytest.approx(-2 * loglik + k * np.log(n))
    assert est.aic(gaussian) == pytest.approx(-2 * loglik + 2 * k)


def test_bic_of_the_rbm_counts_every_weight_and_prefers_the_smaller_model(
        gaussian):
    small = _fit(GaussianRBM(n_components=1, max_iter=100, random_state=0),
                 gaussian)
    large = _fit(GaussianRBM(n_components=12, max_iter=100, random_state=0),
                 gaussian)
    assert large._n_parameters() == large._fitted_energy().n_params == (
        12 * 3 + 12 + 3)
    n = len(gaussian)
    assert small.bic(gaussian) == pytest.approx(
        -2 * small.score(gaussian) * n + 7 * np.log(n))
    # on Gaussian data the hidden units buy little likelihood: BIC prefers
    # the small model (and AIC's smaller penalty still does)
    assert small.bic(gaussian) < large.bic(gaussian)
    assert small.aic(gaussian) < large.aic(gaussian)


@pytest.mark.parametrize("est", [
    RegularizedScoreMatchingPoE(n_experts=6, max_iter=5),   # overcomplete
    GaussianRBM(n_components=2, sigma=0.5, max_iter=5),
    GaussianRBM(n_components=17, max_iter=2),
    FieldsOfExperts(n_experts=2, filter_size=2, max_iter=2),
], ids=["overcomplete-poe", "rbm-sigma", "rbm-17-units", "foe"])
def test_criteria_refuse_a_likelihood_estimated_by_ais(gaussian, est):
    X = gaussian if not isinstance(est, FieldsOfExperts) else np.tile(
        gaussian, 3)[:, :9]
    _fit(est.set_params(random_state=0), X)
    for criterion in (est.bic, est.aic):
        with pytest.raises(ValueError, match="exact log-likelihood.*AIS|"
                           "exact log-likelihood.*annealed"):
            criterion(X)
    assert not hasattr(est, "log_partition_")  # and ran no AIS


def test_criteria_need_a_fitted_model(gaussian):
    with pytest.raises(NotFittedError):
        GaussianRBM().bic(gaussian)


# --------------------------------------------------------------------- #
# GaussianRBM.gibbs
# --------------------------------------------------------------------- #
def test_gibbs_samples_the_model(gaussian):
    """A long Gibbs chain's mean is the model's: ``c + W^T E[h]``, with the
    hidden states' probabilities summed exactly."""
    rbm = _fit(GaussianRBM(n_components=2, max_iter=100, random_state=0),
               gaussian)
    W, b, c = rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_
    H = np.array(list(itertools.product([0, 1], repeat=2)), dtype=float)
    log_p = H @ (b + W @ c) + 0.5 * np.sum((H @ W) ** 2, axis=1)
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    mean = c + (p @ H) @ W
    v = np.tile(gaussian[:1], (400, 1))
    draws = []
    for step in range(60):
        v = rbm.gibbs(v)
        if step >= 10:
            draws.append(v)
    draws = np.concatenate(draws)
    # 20,000 draws of a chain that mixes in a few steps
    np.testing.assert_allclose(draws.mean(axis=0), mean, atol=0.05)


def test_gibbs_is_seeded_by_random_state_and_keeps_its_dtype(gaussian):
    def fitted():
        return _fit(GaussianRBM(n_components=2, max_iter=5, random_state=3),
                    gaussian)

    a, b = fitted(), fitted()
    first = a.gibbs(gaussian[:5])
    np.testing.assert_array_equal(first, b.gibbs(gaussian[:5]))
    assert not np.array_equal(a.gibbs(gaussian[:5]), first)  # a stream
    assert first.shape == (5, 3)
    assert a.gibbs(gaussian[:5].astype(np.float32)).dtype == np.float32
    np.testing.assert_array_equal(gaussian[:5], fitted().gibbs(
        gaussian[:5]) * 0 + gaussian[:5])  # v is not modified


def test_gibbs_refuses_what_it_cannot_sample(gaussian):
    with pytest.raises(NotFittedError):
        GaussianRBM().gibbs(gaussian)
    rbm = _fit(GaussianRBM(n_components=2, sigma=0.5, max_iter=3,
                           random_state=0), gaussian)
    with pytest.raises(ValueError, match="sigma=1.*sample"):
        rbm.gibbs(gaussian)
    rbm = _fit(GaussianRBM(n_components=2, max_iter=3, random_state=0),
               gaussian)
    with pytest.raises(ValueError, match="3 features"):
        rbm.gibbs(gaussian[:, :2])


# --------------------------------------------------------------------- #
# warm_start
# --------------------------------------------------------------------- #
def test_warm_start_of_the_rbm_continues_where_the_last_fit_ended(gaussian):
    params = dict(n_components=3, random_state=0, tol=1e-9)
    cold = _fit(GaussianRBM(max_iter=10, **params), gaussian)
    warm = _fit(GaussianRBM(max_iter=10, warm_start=True, **params),
                gaussian)
    np.testing.assert_array_equal(warm.components_, cold.components_)
    _fit(warm, gaussian)  # 10 more iterations from where it stopped
    assert warm.loss_curve_[0] < cold.loss_curve_[-1]
    _fit(cold, gaussian)  # without warm_start: the same 10 again
    assert cold.loss_curve_[0] > warm.loss_curve_[-1]


@pytest.mark.parametrize("make", [
    lambda: GaussianRBM(n_components=3, tol=1e-10),
    # its float32 loss has no more digits
    lambda: RegularizedScoreMatchingPoE(n_experts=3, tol=1e-6),
], ids=["rbm", "poe"])
def test_a_converged_warm_start_takes_few_steps_and_does_not_warn(
        gaussian, make):
    est = make().set_params(warm_start=True, random_state=0, max_iter=500)
    first = _fit(est, gaussian)
    n_iter, loss = first.n_iter_, first.loss_curve_[-1]
    with warnings.catch_warnings():
        # not "returned its starting point": a converged warm start may
        # take no step
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(gaussian)
    assert est.n_iter_ < n_iter / 4
    assert (est.loss_curve_ or [loss])[-1] <= loss + 1e-9 * abs(loss)


def test_warm_start_of_another_shape_starts_afresh(gaussian):
    rbm = _fit(GaussianRBM(n_components=2, max_iter=20, warm_start=True,
                           random_state=0), gaussian)
    rbm.set_params(n_components=3)
    fresh = _fit(GaussianRBM(n_components=3, max_iter=20, random_state=0),
                 gaussian)
    _fit(rbm, gaussian)
    np.testing.assert_array_equal(rbm.components_, fresh.components_)


@pytest.mark.parametrize("cls", [GaussianRBM, RegularizedScoreMatchingPoE,
                                 FieldsOfExperts])
@pytest.mark.parametrize("value", ["yes", 1, None])
def test_warm_start_must_be_a_bool(gaussian, cls, value):
    with pytest.raises(InvalidParameterError, match="warm_start"):
        cls(warm_start=value).fit(gaussian)
