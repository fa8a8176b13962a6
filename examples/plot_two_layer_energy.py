"""
A two-layer energy trained with every objective
================================================

The score-matching engine is not limited to one layer.  Here a Product of
Student-t experts feeds a second linear layer and non-linearity, in the spirit
of Koster & Hyvarinen's two-layer model of natural images:

.. math::

    E(x) = \\sum_k \\alpha_k\\, g_2\\Big(\\sum_i V_{ki}\\, g_1(w_i^T x)\\Big),

with Student-t :math:`g_1` and :math:`g_2`, fitted to 8x8 patches of a
photograph with each objective of ``sksm.objectives``: regularized score
matching (diagonal and full Hessian), denoising and sliced score matching,
and contrastive divergence.  The fits are compared on held-out patches by
what needs no normaliser: denoising at sigma 0.02, by one step of Tweedie's
formula :math:`\\hat x = \\tilde x - \\sigma^2 \\nabla E(\\tilde x)` (exact for
the density of the noisy data, which 'dsm' and 'rsm_full' estimate) and by
MAP.  The script then measures how far the engine's diagonal-Hessian rule is
from the true Hessian diagonal of this deeper energy: 'rsm', 'rsm_full' and
'ssm' use that rule at the hidden layer, 'dsm' and 'cd' need only exact first
derivatives.  The figure draws the held-out PSNR of every fit, by one step
and by MAP, beside the error of each MAP estimate on four held-out patches.
About 20 s as a script; the docs build fits on 1,500 patches
instead of 5,000, for 40 iterations instead of 150 (5 Adam epochs instead of
15), in about 5 s.
"""

# %%
import os
import time
import warnings

import matplotlib

matplotlib.use("Agg")  # write a file; no screen needed
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import minimize
from sklearn.datasets import load_sample_image
from sklearn.exceptions import ConvergenceWarning

from sksm.energies import (Elementwise, EnergyNetwork, Linear, NetworkEnergy,
                           WeightedSum)
from sksm.experts import StudentT
from sksm.image import extract_patches
from sksm.objectives import (ContrastiveDivergence, DenoisingScoreMatching,
                             RegularizedScoreMatching, SlicedScoreMatching)
from sksm.optim import Adam, lbfgs, single_threaded_blas

# The docs build sets SKSM_QUICK_EXAMPLES=1 (doc/conf.py): smaller settings
# there, and no file written; run as a script, the example uses its full ones.
QUICK = os.environ.get("SKSM_QUICK_EXAMPLES") == "1"

gray = load_sample_image("china.jpg") @ np.array([0.2125, 0.7154, 0.0721])
patches = extract_patches(gray / 255, 8, max_patches=6000, random_state=0)
patches -= patches.mean(axis=1, keepdims=True)  # remove each patch's mean
# Dequantize: spread 8-bit pixels over their quantization step.  Without it,
# plain (here: sliced) score matching rewards ever steeper energies between
# the quantization levels and diverges (measured: loss -1.9e9 after 150
# iterations), the failure that motivates the paper's regularizer.
patches += np.random.default_rng(2).uniform(-0.5, 0.5, patches.shape) / 255
X_train, X_test = patches[:5000], patches[5000:]
if QUICK:  # 1,500 training patches
    X_train = X_train[:1500]


def two_layer_network(rng):
    """64 Student-t experts on filters, pooled by 16 units of a second layer."""
    W = np.linalg.qr(rng.standard_normal((64, 64)))[0] * 4
    V = np.abs(rng.standard_normal((16, 64))) / 8
    return EnergyNetwork([Linear(W), Elementwise(StudentT()),
                          Linear(V), Elementwise(StudentT(1.0)),
                          WeightedSum(np.ones(16))])


# %%
# Fit with every objective: L-BFGS for the deterministic ones, Adam for CD.
# reg_lambda = sigma^2 / 2 = 2e-4 is the curvature penalty that eq. 6 relates
# to DSM's noise of sigma 0.02.
OBJECTIVES = {
    "rsm": RegularizedScoreMatching(),
    "rsm_full": RegularizedScoreMatching(hessian="full"),
    "dsm": DenoisingScoreMatching(training_noise=0.02),
    "ssm": SlicedScoreMatching(n_projections=2, training_noise=0),
    "cd": ContrastiveDivergence(persistent=True),
}
fitted = {}
print(f"{'objective':>10} {'fit s':>7}")
for name, objective in OBJECTIVES.items():
    rng = np.random.RandomState(0)
    energy = NetworkEnergy(two_layer_network(np.random.default_rng(0)))
    fun = objective.loss_function(energy, X_train, rng, reg_lambda=2e-4,
                                  n_threads=2)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if fun.stochastic:
            theta, opt = energy.get_params(), Adam(energy.n_params, 1e-3)
            for _ in range(5 if QUICK else 15):
                theta, _ = opt.run_epoch(fun, theta, len(X_train), 100, rng)
        else:
            theta = lbfgs(fun, energy.get_params(),
                          max_iter=40 if QUICK else 150).theta
    energy.set_params(theta)
    fitted[name] = energy
    print(f"{name:>10} {time.perf_counter() - start:7.1f}")

# %%
# One yardstick for all: held-out one-step denoising at sigma 0.02.
sigma = 0.02
noisy = X_test + sigma * np.random.default_rng(1).standard_normal(X_test.shape)


def psnr(estimate):
    return 10 * np.log10(1.0 / np.mean((estimate - X_test) ** 2))


def map_denoise(energy, y):
    """argmin_x E(x) + |x - y|^2 / (2 sigma^2), all patches at once.

    scipy's optimiser, unlike those of sksm.optim, leaves BLAS its own
    threads, which many small products pay for: limit them while it runs.
    """
    def fun(flat):
        x = flat.reshape(y.shape)
        E, grad = energy.grad_energy(x)
        return (E.sum() + 0.5 * np.sum((x - y) ** 2) / sigma**2,
                (grad + (x - y) / sigma**2).ravel())
    with single_threaded_blas():
        return minimize(fun, y.ravel(), jac=True, method="L-BFGS-B",
                        options={"maxiter": 200}).x.reshape(y.shape)


print(f"\nnoisy patches: {psnr(noisy):.2f} dB")
scores, restored = {}, {}  # (one-step, MAP) PSNR, and the MAP patches
for name, energy in fitted.items():
    one_step = noisy - sigma**2 * energy.grad_energy(noisy)[1]
    restored[name] = map_denoise(energy, noisy)
    scores[name] = (psnr(one_step), psnr(restored[name]))
    print(f"{name:>10}: one-step {scores[name][0]:.2f} dB, "
          f"MAP {scores[name][1]:.2f} dB")

# %%
# The diagonal-Hessian rule of the engine, made explicit.  For one non-linear
# layer it is exact; here the second layer couples the experts, and the rule
# drops those cross terms.  Compare with the true diagonal (finite differences
# of the exact gradient) on 20 held-out patches.
network = fitted["rsm"].network
x = X_test[:20]
_, _, approx = network.input_derivatives(x)
h, exact = 1e-5, np.empty_like(approx)
for j in range(x.shape[1]):
    step = np.zeros(x.shape[1])
    step[j] = h
    plus = network.input_derivatives(x + step, second=False)[1][:, j]
    minus = network.input_derivatives(x - step, second=False)[1][:, j]
    exact[:, j] = (plus - minus) / (2 * h)
error = np.linalg.norm(approx - exact) / np.linalg.norm(exact)
print(f"\ndiagonal rule vs true Hessian diagonal: relative error {error:.3f}")

# %%
# The figure: the held-out PSNR of each fit (left), and the first four
# held-out patches with the error of the noisy patch and of the MAP estimate
# of each fit (right, the estimate minus the clean patch).
fig = plt.figure(figsize=(13, 4.6))
columns = 2 + len(fitted)  # of patches: clean, noisy, one per fit
grid = fig.add_gridspec(4, 2 + columns, width_ratios=[9, 0.6] + [1] * columns)
bars = fig.add_subplot(grid[:, 0])
names = list(fitted)
x = np.arange(len(names))
for shift, k, label in ((-0.2, 0, "one step of Tweedie's formula"),
                        (0.2, 1, "MAP")):
    values = [scores[name][k] for name in names]
    drawn = bars.bar(x + shift, values, width=0.4, label=label)
    bars.bar_label(drawn, fmt="%.2f", fontsize=8)
bars.axhline(psnr(noisy), color="gray", linestyle="--",
             label=f"noisy, {psnr(noisy):.2f} dB")
every = [v for pair in scores.values() for v in pair] + [psnr(noisy)]
bars.set_ylim(min(every) - 0.5, max(every) + 0.5)
bars.set_xticks(x, names)
bars.set_xlabel("training objective")
bars.set_ylabel("held-out PSNR (dB)")
bars.set_title(f"Denoising {len(X_test)} held-out 8x8 patches, sigma {sigma}")
bars.legend(loc="upper left", fontsize=8)
limit = 3 * sigma
for r in range(4):  # the first four held-out patches
    clean = X_test[r]
    errors = [("noisy", noisy[r] - clean)] + [
        (name, restored[name][r] - clean) for name in names]
    ax = fig.add_subplot(grid[r, 2])
    ax.imshow(clean.reshape(8, 8), cmap="gray")
    ax.set_axis_off()
    if r == 0:
        ax.set_title("clean", fontsize=9)
    for c, (label, error) in enumerate(errors):
        ax = fig.add_subplot(grid[r, 3 + c])
        ax.imshow(error.reshape(8, 8), cmap="RdBu_r", vmin=-limit,
                  vmax=limit)
        ax.set_axis_off()
        if r == 0:
            ax.set_title(label, fontsize=9)
fig.text(0.77, 0.04, f"four held-out patches and the error of each estimate "
         f"(MAP),\nfrom {-limit:g} (blue) to {limit:g} (red)", ha="center",
         fontsize=9)
fig.suptitle("Two-layer energy trained with every objective")
fig.tight_layout()
if not QUICK:
    fig.savefig("plot_two_layer_energy.png", dpi=80)
