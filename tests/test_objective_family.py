"""Every objective: loss against brute force, gradient against finite
differences, and the known answer on Gaussian data."""

import warnings

import numpy as np
import pytest
from scipy.optimize import check_grad, minimize
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sksm import FieldsOfExperts, RegularizedScoreMatchingPoE
from sksm.energies import (
    Conv2D,
    Elementwise,
    EnergyNetwork,
    Linear,
    NetworkEnergy,
    WeightedSum,
)
from sksm.experts import Quadratic, StudentT
from sksm._reductions import chunk_bounds, chunk_rows
from sksm.objectives import (
    ContrastiveDivergence,
    DenoisingScoreMatching,
    Objective,
    SlicedScoreMatching,
    check_objective,
    contrastive_divergence,
    denoising_score_matching,
    full_regularized_score_matching,
    regularized_score_matching,
    sliced_score_matching,
)


def _poe(rng):
    return NetworkEnergy(EnergyNetwork([
        Linear(rng.standard_normal((6, 4))), Elementwise(StudentT(2.0)),
        WeightedSum(np.exp(rng.normal(0, 0.3, 6)))])), \
        rng.standard_normal((9, 4))


def _foe(rng):
    return NetworkEnergy(EnergyNetwork([
        Conv2D(0.5 * rng.standard_normal((3, 9)), 3),
        Elementwise(StudentT(2.0)),
        WeightedSum(np.exp(rng.normal(0, 0.3, 3)))])), \
        rng.standard_normal((3, 6, 5))


def _two_layer(rng):
    return NetworkEnergy(EnergyNetwork([
        Linear(rng.standard_normal((6, 4))), Elementwise(StudentT(1.5)),
        Linear(0.5 * rng.standard_normal((3, 6)),
               bias=0.1 * rng.standard_normal(3)),
        Elementwise(StudentT(2.0)),
        WeightedSum(np.exp(rng.normal(0, 0.2, 3)))])), \
        rng.standard_normal((7, 4))


def _objective(name, X, rng, chunk_size):
    """``network -> (loss, grads)`` with the random draws fixed."""
    if name == "rsm":
        return lambda net: regularized_score_matching(net, X, 0.1, chunk_size)
    if name == "rsm_full":
        return lambda net: full_regularized_score_matching(net, X, 0.1,
                                                           chunk_size)
    if name == "dsm":
        noise = rng.standard_normal(X.shape)
        sigma = rng.uniform(0.1, 0.5, len(X))
        return lambda net: denoising_score_matching(net, X, noise, sigma,
                                                    chunk_size)
    if name == "ssm":
        V = rng.choice([-1.0, 1.0], size=(len(X), 3) + X.shape[1:])
        return lambda net: sliced_score_matching(net, X, V, chunk_size)
    X_neg = X[::-1] + rng.standard_normal(X.shape)
    return lambda net: contrastive_divergence(net, X, X_neg[:-1], chunk_size)


NAMES = ["rsm", "rsm_full", "dsm", "ssm", "cd"]


@pytest.mark.parametrize("make", [_poe, _foe, _two_layer],
                         ids=["poe", "foe", "two_layer"])
@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_finite_differences(name, make):
    rng = np.random.default_rng(0)
    model, X = make(rng)
    objective = _objective(name, X, rng, chunk_size=2)

    def f(theta):
        model.set_params(theta)
        return objective(model.network)[0]

    def g(theta):
        model.set_params(theta)
        return model.params_gradient(objective(model.network)[1])

    theta = model.get_params()
    err = check_grad(f, g, theta, epsilon=1e-6)
    assert err < 1e-5 * max(1.0, np.linalg.norm(g(theta)))


def _hessian(network, x):
    """Hessian of the energy at one sample, by differences of dE/dx."""
    shape = x.shape
    n, h = x.size, 1e-5
    H = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        dp = network.input_derivatives((x.ravel() + e).reshape((1,) + shape),
                                       second=False)[1]
        dm = network.input_derivatives((x.ravel() - e).reshape((1,) + shape),
                                       second=False)[1]
        H[:, j] = (dp - dm).ravel() / (2 * h)
    return 0.5 * (H + H.T)


@pytest.mark.parametrize("make", [_poe, _foe], ids=["poe", "foe"])
def test_full_hessian_and_sliced_losses_match_brute_force(make):
    """Exact for one-layer energies: sum of all squared second derivatives,
    and v^T H v for sliced score matching."""
    rng = np.random.default_rng(1)
    model, X = make(rng)
    net = model.network
    V = rng.standard_normal((len(X), 2) + X.shape[1:])
    lam = 0.3
    full, sliced = 0.0, 0.0
    for t in range(len(X)):
        d = net.input_derivatives(X[t:t + 1], second=False)[1].ravel()
        H = _hessian(net, X[t])
        full += 0.5 * d @ d - np.trace(H) + lam * np.sum(H * H)
        sliced += 0.5 * d @ d - np.mean([v.ravel() @ H @ v.ravel()
                                         for v in V[t]])
    loss_full, _ = full_regularized_score_matching(net, X, lam)
    loss_sliced, _ = sliced_score_matching(net, X, V)
    assert loss_full == pytest.approx(full / len(X), rel=1e-6)
    assert loss_sliced == pytest.approx(sliced / len(X), rel=1e-6)


def test_dsm_loss_matches_its_formula():
    rng = np.random.default_rng(2)
    model, X = _poe(rng)
    noise = rng.standard_normal(X.shape)
    sigma = np.full(len(X), 0.2)
    loss, _ = denoising_score_matching(model.network, X, noise, sigma)
    d = model.network.input_derivatives(X + 0.2 * noise, second=False)[1]
    expected = 0.5 * np.mean(np.sum((d - noise / 0.2) ** 2, axis=1))
    assert loss == pytest.approx(expected, rel=1e-10)


def test_objectives_need_a_linear_first_layer():
    net = EnergyNetwork([Elementwise(Quadratic()), WeightedSum(np.ones(3))])
    X = np.ones((2, 3))
    with pytest.raises(ValueError, match="first layer is linear.*Elementwise"):
        full_regularized_score_matching(net, X, 0.1)
    with pytest.raises(ValueError, match="'ssm'"):
        sliced_score_matching(net, X, np.ones((2, 1, 3)))


@pytest.mark.parametrize("name", NAMES)
def test_a_two_layer_energy_trains_with_every_objective(name):
    """An objective's loss_function + an optimiser lower each deterministic
    objective; CD (no loss to lower) moves the parameters and stays
    finite."""
    from sksm.optim import Adam, lbfgs

    rng = np.random.RandomState(0)
    model, _ = _two_layer(np.random.default_rng(0))
    X = rng.standard_t(3, size=(300, 4)) @ rng.standard_normal((4, 4))
    objective = check_objective(name)
    settings = {"training_noise": 0.3, "projection": "gaussian",
                "n_mcmc_steps": 2, "mcmc_method": "mala"}
    objective.set_params(**{k: v for k, v in settings.items()
                            if k in objective.get_params()})
    fun = objective.loss_function(model, X, rng, reg_lambda=0.01)
    theta0 = model.get_params()
    if fun.stochastic:
        opt, theta = Adam(model.n_params, 1e-2), theta0
        for _ in range(5):
            theta, loss = opt.run_epoch(fun, theta, len(X), 50, rng)
        assert np.isfinite(loss)
        assert not np.allclose(theta, theta0)
    else:
        loss0 = fun(theta0)[0]
        theta = lbfgs(fun, theta0, max_iter=50).theta
        assert fun(theta)[0] < loss0 - 0.1 * abs(loss0)


def test_network_energy_flattens_every_parameter():
    model, X = _two_layer(np.random.default_rng(1))
    theta = model.get_params()
    assert model.n_params == theta.size == 6 * 4 + 3 * 6 + 3 + 3
    model.set_params(2 * theta)
    np.testing.assert_array_equal(model.get_params(), 2 * theta)
    E, d = model.grad_energy(X)
    np.testing.assert_array_equal(E, model.energy(X))
    assert d.shape == X.shape


# --------------------------------------------------------------------- #
# Known answers: E(x) = 1/2 x^T A x with A = W^T W, on Gaussian data
# --------------------------------------------------------------------- #
def _gaussian_network(n, rng):
    linear = Linear(np.eye(n) + 0.1 * rng.standard_normal((n, n)))
    return linear, EnergyNetwork([linear, Elementwise(Quadratic()),
                                  WeightedSum(np.ones(n))])


def _fit_precision(objective, n, rng):
    linear, network = _gaussian_network(n, rng)

    def fun(theta):
        linear.weight = theta.reshape(n, n)
        loss, grads = objective(network)
        return loss, grads[0]["weight"].ravel()

    res = minimize(fun, linear.weight.ravel(), jac=True, method="L-BFGS-B",
                   options={"maxiter": 3000, "ftol": 1e-15, "gtol": 1e-10})
    W = res.x.reshape(n, n)
    return W.T @ W


def _gaussian_data(rng, n_samples=4000):
    L = rng.standard_normal((3, 3))
    X = rng.standard_normal((n_samples, 3)) @ L.T
    return X, X.T @ X / len(X)


@pytest.mark.parametrize("reg_lambda", [0.0, 0.05, 0.5])
def test_full_regularizer_gives_the_precision_of_noisy_data(reg_lambda):
    """Eq. 6 exactly: A = (S + 2 lambda I)^-1, rotation invariant unlike eq. 7."""
    rng = np.random.default_rng(3)
    X, S = _gaussian_data(rng)
    A = _fit_precision(
        lambda net: full_regularized_score_matching(net, X, reg_lambda), 3, rng)
    np.testing.assert_allclose(A, np.linalg.inv(S + 2 * reg_lambda * np.eye(3)),
                               rtol=1e-5, atol=1e-7)


def test_dsm_recovers_the_precision_of_the_noisy_data():
    """DSM's known bias: the precision of the data plus the noise."""
    rng = np.random.default_rng(4)
    X, S = _gaussian_data(rng, 2000)
    sigma = 0.7
    X_rep = np.repeat(X, 20, axis=0)          # 20 noise draws per sample
    noise = rng.standard_normal(X_rep.shape)
    A = _fit_precision(
        lambda net: denoising_score_matching(net, X_rep, noise, sigma), 3, rng)
    target = np.linalg.inv(S + sigma ** 2 * np.eye(3))
    # Finite noise draws: relative error measured 0.006.
    assert np.linalg.norm(A - target) < 0.04 * np.linalg.norm(target)


@pytest.mark.parametrize("kind", ["gaussian", "rademacher"])
def test_ssm_recovers_the_precision(kind):
    rng = np.random.default_rng(5)
    X, S = _gaussian_data(rng)
    shape = (len(X), 4, 3)
    V = (rng.standard_normal(shape) if kind == "gaussian"
         else rng.choice([-1.0, 1.0], size=shape))
    A = _fit_precision(lambda net: sliced_score_matching(net, X, V), 3, rng)
    target = np.linalg.inv(S)
    # Finite projections: relative error measured 0.015 (gaussian) and
    # 0.004 (rademacher).
    assert np.linalg.norm(A - target) < 0.04 * np.linalg.norm(target)


def test_ssm_of_perturbed_data_recovers_the_noisy_precision():
    """SlicedScoreMatching with training_noise: the energy models the data plus
    the noise, like DSM's known answer, through the estimators' training
    loss."""

    rng = np.random.default_rng(7)
    X, _ = _gaussian_data(rng, 2000)
    X = np.repeat(X, 10, axis=0)              # 10 noise draws per sample
    X_before = X.copy()
    sigma = 0.7
    energy = _GaussianEnergy(3, rng)
    fun = SlicedScoreMatching(n_projections=2, training_noise=sigma
                              ).loss_function(energy, X,
                                              np.random.RandomState(0),
                                              reg_lambda=0.0)
    res = minimize(fun, energy.linear.weight.ravel().copy(), jac=True,
                   method="L-BFGS-B",
                   options={"maxiter": 3000, "ftol": 1e-15, "gtol": 1e-10})
    np.testing.assert_array_equal(X, X_before)
    W = res.x.reshape(3, 3)
    target = np.linalg.inv(X.T @ X / len(X) + sigma ** 2 * np.eye(3))
    err = np.linalg.norm(W.T @ W - target) / np.linalg.norm(target)
    # Finite noise draws and projections: measured 0.005.
    assert err < 0.04
    # Without noise it is plain sliced score matching: the precision of X.
    plain = SlicedScoreMatching(n_projections=2, training_noise=0
                                ).loss_function(
        energy, X, np.random.RandomState(0), reg_lambda=0.0)
    res = minimize(plain, res.x, jac=True, method="L-BFGS-B",
                   options={"maxiter": 3000, "ftol": 1e-15, "gtol": 1e-10})
    W = res.x.reshape(3, 3)
    target = np.linalg.inv(X.T @ X / len(X))
    assert np.linalg.norm(W.T @ W - target) < 0.04 * np.linalg.norm(target)


class _GaussianEnergy:
    """E(x) = 1/2 |W x|^2 with the interface the training losses use."""

    def __init__(self, n, rng):
        self.linear, self.network = _gaussian_network(n, rng)
        self.n = n

    def set_params(self, theta):
        self.linear.weight = theta.reshape(self.n, self.n)

    def params_gradient(self, grads):
        return grads[0]["weight"].ravel()

    def grad_energy(self, X):
        E, d, _ = self.network.input_derivatives(X, energy=True, second=False)
        return E, d


@pytest.mark.parametrize("persistent", [False, True])
def test_contrastive_divergence_recovers_the_precision(persistent):
    """CD-5 and persistent CD with HMC negatives, trained by Adam."""
    from sksm.optim import Adam

    rng = np.random.RandomState(6)  # the estimators' kind of generator
    L = np.array([[1.0, 0.0, 0.0], [0.5, 0.8, 0.0], [-0.3, 0.2, 0.6]])
    X = rng.standard_normal((2000, 3)) @ L.T
    S = X.T @ X / len(X)
    energy = _GaussianEnergy(3, np.random.default_rng(6))
    fun = ContrastiveDivergence(n_mcmc_steps=5, persistent=persistent
                                ).loss_function(energy, X, rng, reg_lambda=0)
    theta = energy.linear.weight.ravel().copy()
    opt = Adam(theta.size, learning_rate=0.02)
    for epoch in range(40):
        theta, _ = opt.run_epoch(fun, theta, len(X), 200, rng)
        if epoch == 29:
            opt.learning_rate = 0.005
    W = theta.reshape(3, 3)
    target = np.linalg.inv(S)
    err = np.linalg.norm(W.T @ W - target) / np.linalg.norm(target)
    # Measured: 0.016 (CD-5) and 0.020 (persistent); stochastic gradients.
    assert err < 0.1


@pytest.mark.parametrize("persistent", [False, True])
def test_contrastive_divergence_on_digits_ends_with_a_likelihood(persistent):
    """Issue 15, part 4: 'cd' on digits with the weights fixed at 1 ended
    with a NaN held-out log-likelihood (the report's 2,000 14x14 digits,
    200 epochs; here 8x8 digits and 20 epochs)."""
    X, _ = load_digits(return_X_y=True)
    X = X / 16.0
    est = RegularizedScoreMatchingPoE(
        objective=ContrastiveDivergence(persistent=persistent),
        solver="adam", learning_rate=1e-2, learn_weights=False, max_iter=20,
        random_state=0).fit(X[:1000])
    assert np.all(np.isfinite(est.filters_))
    assert np.isfinite(est.score(X[1000:]))


# --------------------------------------------------------------------- #
# The estimators' objective= parameter
# --------------------------------------------------------------------- #
SETTINGS = [
    ("rsm", {}),
    ("rsm_full", {}),
    (DenoisingScoreMatching(training_noise=0.1), {}),
    (DenoisingScoreMatching(training_noise=[0.05, 0.2]), {}),
    (SlicedScoreMatching(n_projections=2, projection="gaussian"), {}),
    ("cd", {"solver": "adam", "learning_rate": 1e-2}),
    (ContrastiveDivergence(persistent=True, mcmc_method="mala",
                           n_mcmc_steps=3),
     {"solver": "adam", "learning_rate": 1e-2}),
]


@pytest.fixture(scope="module")
def digits():
    X = load_digits().data[:300] / 16.0
    return X + np.random.default_rng(0).uniform(0, 1 / 16, X.shape)


def _fit(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X)


@pytest.mark.parametrize(("objective", "params"), SETTINGS)
def test_poe_fits_with_every_objective(objective, params, digits):
    X = digits.astype(np.float32)
    X_before = X.copy()
    make = lambda: RegularizedScoreMatchingPoE(
        objective=objective, max_iter=15, random_state=0, **params)
    est = _fit(make(), X)
    np.testing.assert_array_equal(X, X_before)
    assert est.filters_.dtype == np.float32
    assert np.all(np.isfinite(est.filters_))
    # The fit has learned something: held-out digits beat shuffled pixels.
    rng = np.random.default_rng(1)
    shuffled = rng.permuted(X[:100], axis=1)
    assert est.score(X[:100]) > est.score(shuffled)
    # ... and is determined by random_state, random draws included.
    np.testing.assert_array_equal(_fit(make(), X).filters_, est.filters_)


@pytest.mark.parametrize(("objective", "params"), SETTINGS)
def test_foe_fits_with_every_objective(objective, params):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((12, 10 * 10)).cumsum(axis=1) * 0.05
    est = _fit(FieldsOfExperts(n_experts=3, filter_size=3, objective=objective,
                               max_iter=4, batch_size=6, random_state=0,
                               **params), X)
    assert est.filters_.shape == (3, 3, 3)
    assert np.all(np.isfinite(est.filters_))
    assert np.all(np.isfinite(est.energy(X)))


def test_solver_auto_fits_contrastive_divergence_by_adam(digits):
    """The default solver='auto': Adam for CD (which L-BFGS cannot take),
    L-BFGS for the score-matching objectives; partial_fit with CD."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cd = RegularizedScoreMatchingPoE(objective="cd", max_iter=2,
                                         random_state=0).fit(digits)
        rsm = RegularizedScoreMatchingPoE(max_iter=2,
                                          random_state=0).fit(digits)
    assert cd.solver == rsm.solver == "auto"
    # partial_fit exists for Adam's fits only
    assert hasattr(cd, "partial_fit") and not hasattr(rsm, "partial_fit")


def test_objective_parameters_are_checked(digits):
    with pytest.raises(ValueError, match="solver='adam'"):
        RegularizedScoreMatchingPoE(objective="cd", solver="lbfgs").fit(digits)
    with pytest.raises(ValueError, match="reg_lambda=0"):
        RegularizedScoreMatchingPoE(objective="dsm", reg_lambda=0).fit(digits)
    for bad in ([], [0.1, -1.0], [[0.1]], [np.nan]):
        with pytest.raises(ValueError, match="training_noise must be"):
            RegularizedScoreMatchingPoE(
                objective=DenoisingScoreMatching(training_noise=bad)
            ).fit(digits)
    with pytest.raises(ValueError, match="objective"):
        RegularizedScoreMatchingPoE(objective="mle").fit(digits)
    with pytest.raises(ValueError, match="objective"):
        RegularizedScoreMatchingPoE(objective=len).fit(digits)
    with pytest.raises(ValueError, match="n_projections"):
        RegularizedScoreMatchingPoE(
            objective=SlicedScoreMatching(n_projections=0)).fit(digits)
    with pytest.raises(ValueError, match="training_noise"):
        RegularizedScoreMatchingPoE(
            objective=SlicedScoreMatching(training_noise=[0.1, 0.2])
        ).fit(digits)
    with pytest.raises(ValueError, match="'training_noise' parameter of "
                                         "SlicedScoreMatching"):
        RegularizedScoreMatchingPoE(
            objective=SlicedScoreMatching(training_noise=-0.1)).fit(digits)


@pytest.mark.parametrize("objective", ["dsm", "ssm"])
def test_training_noise_auto_is_the_noise_of_eq_6(objective, digits):
    """'auto' is sqrt(2 reg_lambda): the same fit as giving it."""
    a = _fit(RegularizedScoreMatchingPoE(objective=objective, reg_lambda=0.005,
                                         max_iter=10, random_state=0), digits)
    given = check_objective(objective).set_params(training_noise=0.1)
    b = _fit(RegularizedScoreMatchingPoE(objective=given, max_iter=10,
                                         random_state=0), digits)
    np.testing.assert_allclose(a.filters_, b.filters_)
    if objective == "ssm":
        # ... and at reg_lambda=0 it is plain sliced score matching, which
        # differs from the perturbed fit.
        c = _fit(RegularizedScoreMatchingPoE(objective="ssm", reg_lambda=0,
                                             max_iter=10, random_state=0),
                 digits)
        assert not np.allclose(c.filters_, a.filters_)
        d = _fit(RegularizedScoreMatchingPoE(
            objective=SlicedScoreMatching(training_noise=0), max_iter=10,
            random_state=0), digits)
        np.testing.assert_allclose(d.filters_, c.filters_)


def test_grid_search_chooses_the_noise_level(digits):
    """The objective's settings are nested parameters of the estimator."""
    est = RegularizedScoreMatchingPoE(objective=DenoisingScoreMatching(),
                                      max_iter=10, random_state=0)
    assert est.get_params()["objective__training_noise"] == "auto"
    search = GridSearchCV(est, {"objective__training_noise": [0.05, 0.2]},
                          cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # not the old name
        _fit(search, digits)
    assert search.best_params_["objective__training_noise"] in (0.05, 0.2)
    assert search.best_estimator_.objective.training_noise in (0.05, 0.2)
    assert est.objective.training_noise == "auto"  # clones were searched
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_persistent_chains_continue_across_partial_fit(digits):
    est = RegularizedScoreMatchingPoE(
        objective=ContrastiveDivergence(persistent=True), solver="adam",
        batch_size=50, random_state=0)
    est.partial_fit(digits[:100])
    chains = est._objective_state["chains"].copy()
    assert chains.shape == (50, 64)
    est.partial_fit(digits[100:200])
    assert est._objective_state["chains"].shape == (50, 64)
    assert not np.array_equal(est._objective_state["chains"], chains)


# --------------------------------------------------------------------- #
# The contract: what TrainingLoss gives an objective
# --------------------------------------------------------------------- #
class _Recording(Objective):
    """Regularized score matching that records the arguments of its calls."""

    def __init__(self):
        self.calls = []

    def draw(self, batch, rng, *, energy, reg_lambda, state):
        self.calls.append(("draw", len(batch), rng.randint(2 ** 30), energy,
                           reg_lambda, state))

    def value_and_grads(self, network, batch, drawn, *, reg_lambda,
                        n_threads):
        self.calls.append(("value", len(batch), drawn, reg_lambda, n_threads))
        return regularized_score_matching(network, batch, reg_lambda,
                                          n_threads=n_threads)


def test_an_objective_is_given_what_it_uses_and_each_chunk_its_own_seed():
    rng = np.random.default_rng(3)
    energy = NetworkEnergy(EnergyNetwork([
        Linear(0.1 * rng.standard_normal((5, 64))), Elementwise(StudentT(2.0)),
        WeightedSum(np.ones(5))]))
    X = rng.standard_normal((2 * chunk_rows(np.empty((0, 64))) + 7, 64))
    objective, state = _Recording(), {"kept": True}
    fun = objective.loss_function(energy, X, np.random.RandomState(0),
                                  reg_lambda=0.25, n_threads=2, state=state)
    theta = energy.get_params()
    loss, grad = fun(theta)
    draws = [c for c in objective.calls if c[0] == "draw"]
    values = [c for c in objective.calls if c[0] == "value"]
    sizes = [b - a for _, a, b in chunk_bounds(len(X), chunk_rows(X))]
    assert [c[1] for c in draws] == sizes == sorted(c[1] for c in values)[::-1]
    for index, (_, _, first, given_energy, lam, given_state) in enumerate(
            draws):
        # every chunk draws from its own seed, whatever the threads
        assert first == np.random.RandomState(
            [fun.seed, index]).randint(2 ** 30)
        assert given_energy is energy and given_state is state
        assert lam == 0.25 and type(lam) is float
    # chunks already run on threads: one thread each
    assert all(c[2:] == (None, 0.25, 1) for c in values)
    expected, _ = regularized_score_matching(energy.network, X, 0.25)
    assert loss == pytest.approx(expected, rel=1e-12)
    # a minibatch: drawn afresh from the loss's rng, the loss's threads
    objective.calls.clear()
    fun(theta, rows=np.arange(10))
    assert [c[0] for c in objective.calls] == ["draw", "value"]
    assert objective.calls[0][1] == 10 and objective.calls[0][5] is state
    assert objective.calls[1][2:] == (None, 0.25, 2)


# --------------------------------------------------------------------- #
# noise_sigma, the former name of training_noise (renamed in 0.2)
# --------------------------------------------------------------------- #
@pytest.mark.parametrize("cls, value", [
    (DenoisingScoreMatching, 0.1), (DenoisingScoreMatching, [0.05, 0.2]),
    (SlicedScoreMatching, 0.1)])
def test_noise_sigma_warns_and_fits_as_training_noise(cls, value, digits):
    """The former name is used, with a FutureWarning when a fit starts; the
    fit is the one of the new name, bit for bit."""
    old = RegularizedScoreMatchingPoE(objective=cls(noise_sigma=value),
                                      max_iter=5, random_state=0)
    with pytest.warns(FutureWarning,
                      match="noise_sigma was renamed training_noise in 0.2 "
                            "and will be removed in 0.3"):
        _fit(old, digits)
    new = RegularizedScoreMatchingPoE(objective=cls(training_noise=value),
                                      max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        _fit(new, digits)
    np.testing.assert_array_equal(old.filters_, new.filters_)
    np.testing.assert_array_equal(old.expert_weights_, new.expert_weights_)
    assert old.loss_curve_ == new.loss_curve_
    # every fit warns (partial_fit too)
    partial = RegularizedScoreMatchingPoE(objective=cls(noise_sigma=value),
                                          solver="adam", random_state=0)
    for _ in range(2):
        with pytest.warns(FutureWarning, match="noise_sigma was renamed"):
            partial.partial_fit(digits[:50])


def test_noise_sigma_is_a_parameter_until_it_is_removed(digits):
    objective = DenoisingScoreMatching(noise_sigma=0.1)
    assert objective.get_params() == {"training_noise": "auto",
                                      "noise_sigma": 0.1}
    assert DenoisingScoreMatching().noise_sigma == "deprecated"
    assert repr(DenoisingScoreMatching(0.2)) == (
        "DenoisingScoreMatching(training_noise=0.2)")
    copy = clone(objective)
    assert copy.get_params() == objective.get_params()
    est = RegularizedScoreMatchingPoE(objective=objective)
    est.set_params(objective__noise_sigma="deprecated",
                   objective__training_noise=0.3)
    assert clone(est).get_params()["objective__training_noise"] == 0.3
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        est.objective.check(0.01)
    # the placeholder 'deprecated' is not offered as a value
    with pytest.raises(ValueError) as error:
        SlicedScoreMatching(noise_sigma="none").check(0.01)
    assert "'noise_sigma' parameter" in str(error.value)
    assert "deprecated" not in str(error.value)
    # both names: which one was meant?
    for both in (DenoisingScoreMatching(0.2, noise_sigma=0.1),
                 SlicedScoreMatching(training_noise=0, noise_sigma=0.1)):
        with pytest.raises(ValueError, match="both training_noise"):
            RegularizedScoreMatchingPoE(objective=both).fit(digits)
    # ... and its errors say which name was given
    with pytest.warns(FutureWarning), pytest.raises(
            ValueError, match="noise_sigma='auto'.* reg_lambda=0"):
        RegularizedScoreMatchingPoE(
            objective=DenoisingScoreMatching(noise_sigma="auto"),
            reg_lambda=0).fit(digits)
