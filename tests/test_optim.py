"""sksm.optim.adam, the epoch loop of the estimators' Adam solver, on a
least-squares problem whose answer is known."""

import numpy as np
import pytest

from sksm.optim import Adam, OptimizeResult, adam, lbfgs

N_SAMPLES = 200


class LeastSquares:
    """``0.5 * mean((X theta - y)**2)`` over minibatches of rows; it counts
    its calls and returns a nan loss at call ``nan_at``."""

    def __init__(self, X, y, nan_at=None):
        self.X, self.y, self.nan_at, self.calls = X, y, nan_at, 0

    def __call__(self, theta, rows):
        self.calls += 1
        r = self.X[rows] @ theta - self.y[rows]
        loss = 0.5 * np.mean(r * r)
        if self.calls == self.nan_at:
            loss = float("nan")
        return loss, self.X[rows].T @ r / len(rows)


@pytest.fixture
def problem():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((N_SAMPLES, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(N_SAMPLES)
    return X, y


def _adam(fun, **kwargs):
    settings = {"n_samples": N_SAMPLES, "batch_size": 50,
                "rng": np.random.RandomState(0), "learning_rate": 0.05,
                "max_iter": 2000, "tol": 1e-10, "n_iter_no_change": 20}
    settings.update(kwargs)
    return adam(fun, np.zeros(3), **settings)


def test_adam_finds_the_least_squares_solution(problem):
    X, y = problem
    res = _adam(LeastSquares(X, y))
    assert isinstance(res, OptimizeResult)
    np.testing.assert_allclose(res.theta, np.linalg.lstsq(X, y, rcond=None)[0],
                               atol=1e-2)
    # stopped by n_iter_no_change, long before max_iter
    assert res.converged and not res.diverged and res.n_iter < 2000
    assert "n_iter_no_change" in res.message
    assert len(res.loss_curve) == res.n_iter
    # the state to continue from: one step per minibatch
    assert isinstance(res.optimizer, Adam)
    assert res.optimizer.t == res.n_iter * N_SAMPLES // 50


def test_adam_keeps_its_bounds():
    """On orthonormal columns the problem is separable, so the answer within
    a box is the clipped unconstrained one."""
    rng = np.random.RandomState(1)
    Q = np.linalg.qr(rng.standard_normal((N_SAMPLES, 3)))[0]
    fun = LeastSquares(Q, Q @ np.array([1.0, -2.0, 0.5]))
    lower = np.array([-np.inf, -1.0, -np.inf])
    res = _adam(fun, batch_size=N_SAMPLES, tol=1e-12,
                bounds=(lower, np.full(3, np.inf)))
    assert res.theta[1] == -1.0
    np.testing.assert_allclose(res.theta, [1.0, -1.0, 0.5], atol=1e-2)


def test_adam_stops_early_on_tol(problem):
    """A loss that must fall by half its size counts no progress after the
    first epochs: the run stops after n_iter_no_change of them."""
    res = _adam(LeastSquares(*problem), tol=0.5, n_iter_no_change=3)
    assert res.converged and res.n_iter == 4
    assert res.loss_curve[0] > res.loss_curve[-1]


def test_adam_runs_max_iter_epochs_of_a_stochastic_objective(problem, capsys):
    res = _adam(LeastSquares(*problem), max_iter=3, tol=1.0,
                n_iter_no_change=1, stochastic=True, verbose=1)
    assert res.n_iter == 3 and res.converged and not res.diverged
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"Epoch {k + 1}, loss = {loss:.6g}"
                       for k, loss in enumerate(res.loss_curve)]


def test_adam_without_progress_is_not_converged_at_max_iter(problem):
    res = _adam(LeastSquares(*problem), max_iter=5)
    assert res.n_iter == 5 and not res.converged and not res.diverged
    assert "max_iter=5" in res.message


def test_adam_divergence_returns_the_last_finite_parameters(problem):
    """A nan loss at the 7th minibatch (the 3rd of epoch 2) stops the run at
    the parameters of the 6th, the last finite evaluation: one step into
    epoch 2."""
    X, y = problem
    reference = _adam(LeastSquares(X, y), max_iter=1)
    opt = reference.optimizer
    rng = np.random.RandomState(0)
    rng.permutation(N_SAMPLES)  # the draw of epoch 1
    order = rng.permutation(N_SAMPLES)
    rows = np.sort(order[:50])
    theta = opt.step(reference.theta,
                     LeastSquares(X, y)(reference.theta, rows)[1])

    res = _adam(LeastSquares(X, y, nan_at=7))
    assert res.diverged and not res.converged
    assert res.n_iter == 2 and res.loss_curve == reference.loss_curve
    np.testing.assert_array_equal(res.theta, theta)
    assert res.optimizer is None  # its moments belong to other parameters
    assert np.all(np.isfinite(res.theta))


def test_adam_diverging_at_once_returns_the_start(problem):
    res = _adam(LeastSquares(*problem, nan_at=1))
    assert res.diverged and res.n_iter == 1 and res.loss_curve == []
    np.testing.assert_array_equal(res.theta, np.zeros(3))


def test_adam_stops_before_parameters_accept_rejects(problem):
    """``accept`` refusing the parameters of epoch 3 returns those of epoch
    2, bit for bit, as a diverged run."""
    X, y = problem
    two = _adam(LeastSquares(X, y), max_iter=2)
    seen = []

    def accept(theta):
        seen.append(theta.copy())
        return len(seen) < 3

    res = _adam(LeastSquares(X, y), accept=accept)
    assert res.diverged and not res.converged and res.n_iter == 3
    assert res.optimizer is None and "accept" in res.message
    np.testing.assert_array_equal(res.theta, two.theta)
    np.testing.assert_array_equal(seen[1], two.theta)
    assert res.loss_curve == two.loss_curve


def test_lbfgs_and_adam_give_one_result_type(problem):
    X, y = problem
    rows = np.arange(N_SAMPLES)
    res = lbfgs(lambda theta: LeastSquares(X, y)(theta, rows), np.zeros(3))
    assert isinstance(res, OptimizeResult) and res.optimizer is None
    np.testing.assert_allclose(res.theta,
                               np.linalg.lstsq(X, y, rcond=None)[0],
                               atol=1e-5)
