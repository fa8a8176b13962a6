"""Experiment: tune the pretrained prior for MAP denoising at one noise level.

Not used by the package.  It measures how much "loss-specific" training (the
filters and expert weights chosen to minimise the squared error of the MAP
estimate, instead of by score matching) adds to the pretrained Field of
Experts, as a lever for the denoising targets of bench_denoise.py.

The MAP estimate x*(theta) minimises, over an image extended by the filters'
reach (reflected),

    F(x; theta) = E(x; theta) + |x_in - y|^2 / (2 sigma^2),
    E(x; theta) = sum_i exp(b_i) sum_p g(w_i . x_(p)),

with the Student-t expert g.  The tuned loss is l = |x*_in - x_clean|^2 / 2.
At a minimum of F, dF/dx = 0; differentiating that identity gives the implicit
gradient

    dl/dtheta = -d/dtheta [u . dE/dx (x*; theta)],   H u = x*_in - x_clean,

with H the Hessian of F in x (conjugate gradients on Hessian-vector
products).  The start is the pretrained prior with its calibrated weight and
scale at sigma folded into b and w.  Training crops are random crops of the
calibration photographs (china and the motorcycle); the test is
bench_denoise.py's eleven crops, one noise seed, denoised by
``FieldsOfExperts.denoise`` (L-BFGS, 30 iterations, as the benchmark).

Run:  python benchmarks/explore_tuned_prior.py [--sigma 25] [--max-iter 30]
      python benchmarks/explore_tuned_prior.py --check-gradient
"""

import argparse
import copy
import time
import warnings

import numpy as np
from _images import load_foe, test_crops, training_images
from scipy.optimize import minimize
from scipy.sparse.linalg import LinearOperator, cg

from sksm.energies.conv import col2im, im2col
from sksm.experts import StudentT
from sksm.image import extract_patches, psnr
from sksm.restoration._policy import _calibrated


class MAPProblem:
    """Noisy copies of clean crops, and their MAP estimates under a prior."""

    def __init__(self, clean, sigma, size, c, rng):
        self.clean, self.sigma, self.size = clean, sigma, size
        self.y = clean + sigma * rng.standard_normal(clean.shape)
        pad = size // 2
        self.x = np.pad(self.y, ((0, 0), (pad, pad), (pad, pad)),
                        mode="reflect")
        self.inner = (slice(None), slice(pad, -pad), slice(pad, -pad))
        self.expert = StudentT(c)

    def _responses(self, x, W):
        P = im2col(x, self.size)
        return P, P @ W.T

    def _residual(self, x, target):
        r = np.zeros_like(x)
        r[self.inner] = x[self.inner] - target
        return r

    def posterior(self, x, W, alpha):
        """``F(x)`` and ``dF/dx``."""
        _, Z = self._responses(x, W)
        g, g1, _, _ = self.expert.derivatives(Z, value=True, order=1)
        r = self._residual(x, self.y)
        grad = col2im((g1 * alpha) @ W, self.size, x.shape[1:])
        return ((g * alpha).sum() + 0.5 * (r * r).sum() / self.sigma ** 2,
                grad + r / self.sigma ** 2)

    def solve(self, W, alpha, max_iter, gtol=1e-7):
        """L-BFGS on F, warm-started at the last estimate."""
        shape = self.x.shape

        def fun(flat):
            F, d = self.posterior(flat.reshape(shape), W, alpha)
            return F, d.ravel()

        res = minimize(fun, self.x.ravel(), jac=True, method="L-BFGS-B",
                       options={"maxiter": max_iter, "ftol": 0.0,
                                "gtol": gtol, "maxcor": 20})
        self.x = res.x.reshape(shape)

    def loss_gradient(self, W, alpha, cg_tol=1e-4, cg_iter=150):
        """``l``, ``dl/dW`` and ``dl/db`` at the current estimate."""
        x = self.x
        P, Z = self._responses(x, W)
        _, g1, g2, _ = self.expert.derivatives(Z, order=2)
        r = self._residual(x, self.clean)
        curvature = g2 * alpha

        def hessp(v):
            v = v.reshape(x.shape)
            V = im2col(v, self.size) @ W.T
            Hv = col2im((curvature * V) @ W, self.size, x.shape[1:])
            Hv[self.inner] += v[self.inner] / self.sigma ** 2
            return Hv.ravel()

        n = x.size
        u = cg(LinearOperator((n, n), matvec=hessp), r.ravel(), rtol=cg_tol,
               maxiter=cg_iter)[0].reshape(x.shape)
        Pu = im2col(u, self.size)
        V = Pu @ W.T
        dW = -(np.einsum("npi,npj->ij", curvature * V, P)
               + np.einsum("npi,npj->ij", g1 * alpha, Pu))
        db = -alpha * (g1 * V).sum(axis=(0, 1))
        return 0.5 * (r * r).sum(), dW, db


def start_parameters(model, sigma):
    """Filters and log-weights of the calibrated prior at ``sigma``."""
    weight = _calibrated(model, "auto", sigma, 1, "prior_weight")
    scale = _calibrated(model, "auto", sigma, 2, "prior_scale")
    W = model._raw_filters().astype(np.float64) * scale
    return W, np.log(model.expert_weights_ * weight)


def tune(problems, W0, b0, max_iter, inner_iter):
    """L-BFGS over (W, b) on the mean squared error of the MAP estimates."""
    n_pixels = sum(p.clean.size for p in problems)
    norm = n_pixels * problems[0].sigma ** 2  # the loss in noise variances
    history = []
    start = time.perf_counter()

    def fun(theta):
        W = theta[:W0.size].reshape(W0.shape)
        alpha = np.exp(theta[W0.size:])
        loss, dW, db = 0.0, np.zeros_like(W0), np.zeros_like(b0)
        for p in problems:
            p.solve(W, alpha, inner_iter)
            terms = p.loss_gradient(W, alpha)
            loss, dW, db = loss + terms[0], dW + terms[1], db + terms[2]
        history.append(10 * np.log10(n_pixels / (2 * loss)))
        print(f"  evaluation {len(history):3d}: training PSNR "
              f"{history[-1]:.3f} dB ({time.perf_counter() - start:.0f} s)",
              flush=True)
        return loss / norm, np.concatenate([dW.ravel(), db]) / norm

    res = minimize(fun, np.concatenate([W0.ravel(), b0]), jac=True,
                   method="L-BFGS-B", options={"maxiter": max_iter,
                                               "maxcor": 20, "gtol": 1e-9})
    return res.x[:W0.size].reshape(W0.shape), res.x[W0.size:], history


def check_gradient(model, sigma):
    """Implicit gradient against central differences of the solved loss, on
    one 16x16 crop.  The perturbed problems start from the unperturbed
    estimate, so that they follow the same local minimum."""
    W, b = start_parameters(model, sigma)
    rng = np.random.RandomState(0)
    clean = training_images()[0][None, 100:116, 200:216]
    problem = MAPProblem(clean, sigma, model.filter_size, model.c, rng)
    problem.solve(W, np.exp(b), 20000, gtol=1e-11)
    x_star = problem.x

    def loss(W, b):
        problem.x = x_star.copy()
        problem.solve(W, np.exp(b), 20000, gtol=1e-11)
        r = problem.x[problem.inner] - clean
        return 0.5 * (r * r).sum()

    _, dW, db = problem.loss_gradient(W, np.exp(b), cg_tol=1e-12,
                                      cg_iter=5000)
    vW, vb = 1e-2 * rng.randn(*W.shape), 1e-2 * rng.randn(*b.shape)
    analytic = (dW * vW).sum() + (db * vb).sum()
    print(f"directional derivative, implicit gradient: {analytic:.5e}")
    for eps in (1e-2, 1e-3, 1e-4):
        numeric = (loss(W + eps * vW, b + eps * vb)
                   - loss(W - eps * vW, b - eps * vb)) / (2 * eps)
        print(f"central difference, step {eps:g}: {numeric:.5e} (relative "
              f"difference {abs(numeric - analytic) / abs(numeric):.3f})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sigma", type=float, default=25,
                        help="noise level on the 0-255 scale")
    parser.add_argument("--max-iter", type=int, default=30,
                        help="L-BFGS iterations of the tuning")
    parser.add_argument("--inner-iter", type=int, default=150,
                        help="L-BFGS iterations per MAP solve (warm-started)")
    parser.add_argument("--n-crops", type=int, default=20)
    parser.add_argument("--crop-size", type=int, default=48)
    parser.add_argument("--check-gradient", action="store_true")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    model = load_foe()
    sigma = args.sigma / 255
    if args.check_gradient:
        check_gradient(model, sigma)
        return

    rng = np.random.RandomState(0)
    size = args.crop_size
    crops = extract_patches(training_images()[:2], size,
                            max_patches=args.n_crops,
                            random_state=rng).reshape(-1, size, size)
    problems = [MAPProblem(crops[i:i + 10], sigma, model.filter_size,
                           model.c, rng)
                for i in range(0, len(crops), 10)]
    W, b, history = tune(problems, *start_parameters(model, sigma),
                         args.max_iter, args.inner_iter)
    tuned = copy.deepcopy(model)
    tuned.filters_ = W.reshape(model.filters_.shape)
    tuned.expert_weights_ = np.exp(b)
    del tuned.denoise_calibration_    # weight and scale are folded in

    test = list(test_crops().values())
    noise = np.random.RandomState(1)
    noisy = [crop + sigma * noise.standard_normal(crop.shape)
             for crop in test]
    print(f"\nsigma {args.sigma:g}/255: {len(crops)} training crops of "
          f"{args.crop_size}x{args.crop_size}, {len(history)} evaluations")
    print(f"{'prior':28}{'training':>10}{'test (11 crops)':>17}")
    for name, est, train in (("pretrained, calibrated", model, history[0]),
                             ("tuned for this sigma", tuned, history[-1])):
        score = np.mean([psnr(crop, est.denoise(y, sigma))
                         for crop, y in zip(test, noisy)])
        print(f"{name:28}{train:10.2f}{score:17.2f}")


if __name__ == "__main__":
    main()
