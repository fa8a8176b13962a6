"""Known answers of the objectives on Gaussian data."""

import numpy as np
import pytest
from scipy.optimize import minimize

from sksm.energies import Elementwise, EnergyNetwork, Linear, WeightedSum
from sksm.experts import Quadratic
from sksm.objectives import regularized_score_matching


def _fit_gaussian_energy(X, reg_lambda, rng):
    """Minimise the RSM loss over W for E(x) = 1/2 |W x|^2; return A = W^T W."""
    n_features = X.shape[1]
    linear = Linear(np.eye(n_features) + 0.1 * rng.standard_normal(
        (n_features, n_features)))
    network = EnergyNetwork([linear, Elementwise(Quadratic()),
                             WeightedSum(np.ones(n_features))])

    def fun(theta):
        linear.weight = theta.reshape(n_features, n_features)
        loss, grads = regularized_score_matching(network, X, reg_lambda)
        return loss, grads[0]["weight"].ravel()

    res = minimize(fun, linear.weight.ravel(), jac=True, method="L-BFGS-B",
                   options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10})
    W = res.x.reshape(n_features, n_features)
    return W.T @ W


def test_score_matching_recovers_gaussian_precision():
    rng = np.random.default_rng(0)
    n_features = 4
    L = rng.standard_normal((n_features, n_features))
    X = rng.standard_normal((3000, n_features)) @ L.T
    A = _fit_gaussian_energy(X, 0.0, rng)
    # The sample SM loss 1/2 tr(A S A) - tr(A) is minimised by A = S^-1,
    # with S the (uncentred) second moment of the sample.
    S = X.T @ X / len(X)
    np.testing.assert_allclose(A, np.linalg.inv(S), rtol=1e-5, atol=1e-7)
    # ... which is close to the true precision matrix.
    np.testing.assert_allclose(A, np.linalg.inv(L @ L.T), rtol=0.15, atol=0.05)


@pytest.mark.parametrize("reg_lambda", [0.01, 0.5])
def test_regularized_score_matching_adds_noise_variance_2_lambda(reg_lambda):
    """On independent Gaussian coordinates eq. 7 gives the precision
    1 / (s_j + 2 lambda): the data seen through noise of variance 2 lambda."""
    rng = np.random.default_rng(1)
    scales = np.array([0.5, 1.0, 2.0])
    X = rng.standard_normal((4000, 3)) * scales
    X -= X.mean(axis=0)
    X = X @ np.linalg.qr(rng.standard_normal((3, 3)))[0]  # rotate...
    A = _fit_gaussian_energy(X, reg_lambda, rng)
    # ... the regularizer penalises the diagonal of A, which is not rotation
    # invariant, so compare against the exact stationarity condition instead:
    # S A + A S = 2 I - 4 lambda diag(A) (symmetrised gradient of eq. 7).
    S = X.T @ X / len(X)
    lhs = S @ A + A @ S
    rhs = 2 * np.eye(3) - 4 * reg_lambda * np.diag(np.diag(A))
    np.testing.assert_allclose(lhs, rhs, atol=1e-6)


@pytest.mark.parametrize("reg_lambda", [0.0, 0.01, 0.5])
def test_regularized_precision_in_one_dimension(reg_lambda):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5000, 1)) * 1.7
    a = _fit_gaussian_energy(x, reg_lambda, rng)[0, 0]
    s = float(np.mean(x ** 2))
    assert a == pytest.approx(1.0 / (s + 2 * reg_lambda), rel=1e-6)
