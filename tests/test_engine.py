"""The score-matching engine: input derivatives, loss and weight gradients."""

import numpy as np
import pytest
from scipy.optimize import approx_fprime, check_grad

from sksm.energies import (Conv2D, Elementwise, EnergyNetwork, Linear,
                           ProductOfExperts, WeightedSum)
from sksm._parallel import banded_grad_energy, single_threaded_blas
from sksm.energies import conv
from sksm.energies.conv import col2im, field_pass, im2col
from sksm.experts import StudentT
from sksm.objectives import regularized_score_matching


def test_student_t_derivatives_match_finite_differences():
    expert = StudentT(c=2.3)
    z = np.linspace(-3, 3, 41)
    g, g1, g2, g3 = expert.derivatives(z, value=True)
    h = 1e-6
    gp, g1p, g2p, _ = expert.derivatives(z + h, value=True)
    gm, g1m, g2m, _ = expert.derivatives(z - h, value=True)
    np.testing.assert_allclose(g, expert.value(z))
    np.testing.assert_allclose(g1, (gp - gm) / (2 * h), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(g2, (g1p - g1m) / (2 * h), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(g3, (g2p - g2m) / (2 * h), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("alpha", [0.6, 1.0, 3.5])
def test_student_t_log_normalizer_matches_quadrature(alpha):
    from scipy.integrate import quad

    expert = StudentT()
    Z, _ = quad(lambda z: np.exp(-alpha * expert.value(z)), -np.inf, np.inf)
    assert expert.log_normalizer(alpha) == pytest.approx(np.log(Z), rel=1e-7)


def test_student_t_log_normalizer_rejects_improper_weights():
    with pytest.raises(ValueError, match="1/2"):
        StudentT().log_normalizer(np.array([1.0, 0.5]))


def _assert_gradient(f, g, theta):
    """Analytic gradient g against central finite differences of f."""
    err = check_grad(f, g, theta, epsilon=1e-6)
    assert err < 1e-5 * max(1.0, np.linalg.norm(g(theta)))


def _poe(rng, n_features=5, n_experts=7, learn_weights=True):
    V = rng.standard_normal((n_experts, n_features))
    beta = rng.normal(0, 0.3, n_experts)
    return ProductOfExperts(V, beta, c=np.exp(1.5), learn_weights=learn_weights)


def test_poe_input_derivatives_match_brute_force_hessian_diagonal():
    rng = np.random.default_rng(0)
    model = _poe(rng)
    X = rng.standard_normal((4, 5))
    E, d, d2 = model.network.input_derivatives(X, energy=True)
    h = 1e-5
    for t in range(len(X)):
        x = X[t]
        grad_fd = approx_fprime(x, lambda v: model.energy(v[None])[0], 1e-7)
        np.testing.assert_allclose(d[t], grad_fd, rtol=1e-4, atol=1e-5)
        # Hessian diagonal: finite differences of the analytic dE/dx
        for j in range(5):
            e = np.zeros(5)
            e[j] = h
            dp = model.grad_energy((x + e)[None])[1][0, j]
            dm = model.grad_energy((x - e)[None])[1][0, j]
            assert d2[t, j] == pytest.approx((dp - dm) / (2 * h), rel=1e-5,
                                             abs=1e-6)


@pytest.mark.parametrize("reg_lambda", [0.0, 0.05])
def test_rsm_loss_matches_brute_force(reg_lambda):
    rng = np.random.default_rng(1)
    model = _poe(rng)
    X = rng.standard_normal((6, 5))
    loss, _ = regularized_score_matching(model.network, X, reg_lambda)
    h = 1e-5
    total = 0.0
    for x in X:
        grad = model.grad_energy(x[None])[1][0]
        for j in range(5):
            e = np.zeros(5)
            e[j] = h
            d2 = (model.grad_energy((x + e)[None])[1][0, j]
                  - model.grad_energy((x - e)[None])[1][0, j]) / (2 * h)
            total += 0.5 * grad[j] ** 2 - d2 + reg_lambda * d2 ** 2
    assert loss == pytest.approx(total / len(X), rel=1e-6)


def _flat_objective(model, X, reg_lambda, chunk_size=None):
    def f(theta):
        model.set_params(theta)
        return regularized_score_matching(model.network, X, reg_lambda,
                                          chunk_size)[0]

    def g(theta):
        model.set_params(theta)
        _, grads = regularized_score_matching(model.network, X, reg_lambda,
                                              chunk_size)
        return model.params_gradient(grads)

    return f, g


@pytest.mark.parametrize("reg_lambda", [0.0, 0.01, 1.0])
@pytest.mark.parametrize("learn_weights", [True, False])
def test_poe_weight_gradient_matches_finite_differences(reg_lambda,
                                                        learn_weights):
    rng = np.random.default_rng(2)
    model = _poe(rng, learn_weights=learn_weights)
    X = rng.standard_normal((20, 5))
    f, g = _flat_objective(model, X, reg_lambda, chunk_size=7)
    theta = model.get_params() * 1.3  # filters off the unit sphere
    _assert_gradient(f, g, theta)


def test_chunking_does_not_change_loss_or_gradient():
    rng = np.random.default_rng(3)
    model = _poe(rng)
    X = rng.standard_normal((50, 5))
    l1, g1 = regularized_score_matching(model.network, X, 0.1, chunk_size=7)
    g1 = model.params_gradient(g1)
    l2, g2 = regularized_score_matching(model.network, X, 0.1, chunk_size=500)
    g2 = model.params_gradient(g2)
    assert l1 == pytest.approx(l2, rel=1e-12)
    np.testing.assert_allclose(g1, g2, rtol=1e-10)


def test_threads_give_the_same_loss_and_gradient():
    rng = np.random.default_rng(6)
    model = _poe(rng, n_features=6, n_experts=9)
    X = rng.standard_normal((1000, 6))
    l1, g1 = regularized_score_matching(model.network, X, 0.1, 64, n_threads=1)
    g1 = model.params_gradient(g1)
    l2, g2 = regularized_score_matching(model.network, X, 0.1, 64, n_threads=3)
    g2 = model.params_gradient(g2)
    assert l1 == pytest.approx(l2, rel=1e-12)
    np.testing.assert_allclose(g1, g2, rtol=1e-10, atol=1e-14)


class _TwoLayerEnergy:
    """A two-layer stack: Linear -> StudentT -> Linear(+bias) -> StudentT -> sum."""

    def __init__(self, rng, n_in=4, n_mid=6, n_out=3):
        self.shapes = [(n_mid, n_in), (n_out, n_mid), (n_out,), (n_out,)]
        self.l1 = Linear(rng.standard_normal((n_mid, n_in)))
        self.l2 = Linear(rng.standard_normal((n_out, n_mid)) * 0.5,
                         bias=rng.standard_normal(n_out) * 0.1)
        self.out = WeightedSum(np.exp(rng.normal(0, 0.2, n_out)))
        self.network = EnergyNetwork([self.l1, Elementwise(StudentT(1.5)),
                                      self.l2, Elementwise(StudentT(2.0)),
                                      self.out])

    def params(self):
        return np.concatenate([self.l1.weight.ravel(), self.l2.weight.ravel(),
                               self.l2.bias, self.out.weight])

    def set_params(self, theta):
        parts, i = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            parts.append(theta[i:i + size].reshape(shape))
            i += size
        self.l1.weight, self.l2.weight, self.l2.bias, self.out.weight = parts

    def flat_grad(self, grads):
        return np.concatenate([grads[0]["weight"].ravel(),
                               grads[2]["weight"].ravel(), grads[2]["bias"],
                               grads[4]["weight"]])


@pytest.mark.parametrize("reg_lambda", [0.0, 0.1])
def test_two_layer_weight_gradient_matches_finite_differences(reg_lambda):
    rng = np.random.default_rng(4)
    model = _TwoLayerEnergy(rng)
    X = rng.standard_normal((15, 4))

    def f(theta):
        model.set_params(theta)
        return regularized_score_matching(model.network, X, reg_lambda)[0]

    def g(theta):
        model.set_params(theta)
        return model.flat_grad(
            regularized_score_matching(model.network, X, reg_lambda)[1])

    theta = model.params()
    _assert_gradient(f, g, theta)


def test_two_layer_gradient_and_diagonal_rule():
    """dE/dx is exact for deep stacks; the Hessian diagonal is approximate."""
    rng = np.random.default_rng(5)
    model = _TwoLayerEnergy(rng)
    X = rng.standard_normal((3, 4))
    _, d, d2 = model.network.input_derivatives(X)
    energy = lambda v: model.network.forward(v[None], energy=True)[0]
    h = 1e-4
    exact_diag = np.empty_like(d2)
    for t, x in enumerate(X):
        np.testing.assert_allclose(d[t], approx_fprime(x, energy, 1e-7),
                                   rtol=1e-4, atol=1e-5)
        for j in range(4):
            e = np.zeros(4)
            e[j] = h
            exact_diag[t, j] = (energy(x + e) - 2 * energy(x) + energy(x - e)) / h**2
    # The approximation drops cross terms between hidden units: it differs.
    assert not np.allclose(d2, exact_diag, rtol=1e-3)


# --------------------------------------------------------------------- #
# The convolutional layer (Fields of Experts)
# --------------------------------------------------------------------- #
def _foe_network(rng, n_filters=3, size=3):
    conv = Conv2D(rng.standard_normal((n_filters, size * size)) * 0.5, size)
    out = WeightedSum(np.exp(rng.normal(0, 0.3, n_filters)))
    return conv, out, EnergyNetwork([conv, Elementwise(StudentT(2.0)), out])


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_banded_evaluation_matches_the_whole_image(n_threads):
    rng = np.random.default_rng(9)
    _, _, network = _foe_network(rng, n_filters=4, size=3)
    images = rng.standard_normal((2, 41, 17))
    E, d, _ = network.input_derivatives(images, energy=True, second=False)
    with single_threaded_blas():
        E_b, d_b = banded_grad_energy(network, images, 3, n_threads)
    np.testing.assert_allclose(E_b, E, rtol=1e-12)
    np.testing.assert_allclose(d_b, d, rtol=1e-12, atol=1e-14)


def test_im2col_and_col2im_are_adjoint():
    rng = np.random.default_rng(7)
    images = rng.standard_normal((2, 6, 5))
    cols = rng.standard_normal((2, 4 * 3, 9))
    lhs = np.vdot(im2col(images, 3), cols)
    rhs = np.vdot(images, col2im(cols, 3, (6, 5)))
    assert lhs == pytest.approx(rhs, rel=1e-12)


@pytest.mark.parametrize("band", [1, 13, 10 ** 6])
def test_field_pass_is_col2im_of_the_scored_responses(band, monkeypatch):
    """Band by band (a row at a time; two rows, the last band shorter; the
    whole image at once) it is ``col2im(score(im2col(x) @ A.T) @ S)``, and
    leaves the image alone."""
    monkeypatch.setattr(conv, "_BAND_POSITIONS", band)
    rng = np.random.default_rng(11)
    image = rng.standard_normal((9, 8))
    kept = image.copy()
    analysis, synthesis = rng.standard_normal((2, 4, 9))
    score = np.tanh
    expected = col2im(score(im2col(image[None], 3) @ analysis.T) @ synthesis,
                      3, image.shape)[0]
    out = field_pass(image, 3, analysis, score, synthesis)
    assert out.dtype == image.dtype
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(image, kept)


def test_conv_energy_derivatives_are_exact():
    """The diagonal at a pixel sums every filter position covering it."""
    rng = np.random.default_rng(8)
    _, _, network = _foe_network(rng)
    images = rng.standard_normal((2, 5, 6))
    _, d, d2 = network.input_derivatives(images)
    energy = lambda v, t: network.forward(v.reshape(1, 5, 6), energy=True)[0]
    h = 1e-4
    for t in range(2):
        x = images[t].ravel()
        np.testing.assert_allclose(
            d[t].ravel(), approx_fprime(x, energy, 1e-7, t), rtol=1e-4,
            atol=1e-5)
        for j in range(30):
            e = np.zeros(30)
            e[j] = h
            exact = (energy(x + e, t) - 2 * energy(x, t) + energy(x - e, t)) / h**2
            assert d2[t].ravel()[j] == pytest.approx(exact, rel=1e-4, abs=1e-4)


@pytest.mark.parametrize("reg_lambda", [0.0, 0.1])
def test_conv_weight_gradient_matches_finite_differences(reg_lambda):
    rng = np.random.default_rng(9)
    conv, out, network = _foe_network(rng)
    images = rng.standard_normal((4, 6, 7))
    n_w = conv.weight.size

    def set_theta(theta):
        conv.weight = theta[:n_w].reshape(conv.weight.shape)
        out.weight = theta[n_w:]

    def f(theta):
        set_theta(theta)
        return regularized_score_matching(network, images, reg_lambda, 3)[0]

    def g(theta):
        set_theta(theta)
        grads = regularized_score_matching(network, images, reg_lambda, 3)[1]
        return np.concatenate([grads[0]["weight"].ravel(), grads[2]["weight"]])

    theta = np.concatenate([conv.weight.ravel(), out.weight])
    _assert_gradient(f, g, theta)


def test_lbfgs_with_every_variable_fixed_by_its_bounds():
    """Found by the property tests: inpainting a constant image bounds every
    missing pixel to one value, and scipy then returns a result without
    ``status`` or ``nit``."""
    from sksm.optim import lbfgs

    def fun(theta):
        return float(theta @ theta), 2 * theta

    res = lbfgs(fun, np.full(3, 0.5), bounds=(np.full(3, 0.5),
                                              np.full(3, 0.5)))
    np.testing.assert_array_equal(res.theta, 0.5)
    assert res.converged and res.n_iter == 0 and not res.diverged
