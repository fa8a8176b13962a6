"""
A Gaussian RBM of digits: filters, samples and exact likelihoods
================================================================

:class:`sksm.GaussianRBM`, a Gaussian-Bernoulli restricted Boltzmann machine
fitted by regularized score matching, on scikit-learn's 8x8 digits,
standardised pixel by pixel (the model's visible units have standard
deviation ``sigma=1``).  With ``sigma=1`` and at most 16 hidden units, the
normaliser is an exact sum over the hidden states, so ``score`` is the exact
mean log-likelihood: the figure draws it on the training digits and on
held-out ones against the number of hidden units, from none (the Gaussian
``N(mean, I)``, which the visible units alone are), with the filters and
samples of the largest model.

The docs build fits for at most 100 L-BFGS iterations, the script for at
most 400: a few seconds on one core either way.
"""

# %%
import os
import warnings

import matplotlib

matplotlib.use("Agg")  # write a file; no screen needed
import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sksm import GaussianRBM
from sksm.datasets import load_digits_pixels

# The docs build sets SKSM_QUICK_EXAMPLES=1 (doc/conf.py): smaller settings
# there, and no file written; run as a script, the example uses its full ones.
QUICK = os.environ.get("SKSM_QUICK_EXAMPLES") == "1"

X, _ = load_digits_pixels()
X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)
scaler = StandardScaler().fit(X_train)
Z_train, Z_test = scaler.transform(X_train), scaler.transform(X_test)

# %%
# One model per number of hidden units.  Without hidden units the model is
# ``N(c, I)`` with ``c`` the mean of the (standardised) training digits, 0.
sizes = [1, 2, 4, 8, 16]
max_iter = 100 if QUICK else 400
n_features = X.shape[1]


def gaussian_log_likelihood(Z):
    return float(np.mean(-0.5 * np.sum(Z**2, axis=1))
                 - 0.5 * n_features * np.log(2 * np.pi))


train_ll, test_ll = [gaussian_log_likelihood(Z_train)], [
    gaussian_log_likelihood(Z_test)]
with warnings.catch_warnings():
    # a fixed iteration budget keeps the example short
    warnings.simplefilter("ignore", ConvergenceWarning)
    for n in sizes:
        rbm = GaussianRBM(n, max_iter=max_iter, random_state=0).fit(Z_train)
        train_ll.append(rbm.score(Z_train))
        test_ll.append(rbm.score(Z_test))
        print(f"{n:2d} hidden units: mean log-likelihood {train_ll[-1]:.2f} "
              f"(training), {test_ll[-1]:.2f} (held out), {rbm.n_iter_} "
              "iterations")
best = [0, *sizes][int(np.argmax(test_ll))]
print(f"best held-out log-likelihood at {best} hidden units")

# %%
# The filters (rows of ``components_``) and samples of the 16-unit model.
# A sample (HMC, 200 steps) is a digit plus the visible units' noise
# (standard deviation 1 in standardised units); beside them, in the same
# places, the mean of the visible units given the hidden units' probabilities
# at each sample, ``W^T p(h | x) + c``, which leaves that noise out.
samples = rbm.sample(16, random_state=0, n_steps=200)
means = rbm.transform(samples) @ rbm.components_ + rbm.intercept_visible_


def mosaic(images, rows=4, cols=4):
    """8x8 images in a grid, separated by lines of NaN (drawn blank)."""
    tiles = np.full((rows * 9 + 1, cols * 9 + 1), np.nan)
    for k, image in enumerate(images[:rows * cols]):
        r, c = divmod(k, cols)
        tiles[1 + 9 * r:9 * (r + 1),
              1 + 9 * c:9 * (c + 1)] = image.reshape(8, 8)
    return tiles


fig, axes = plt.subplots(1, 4, figsize=(15, 4.2),
                         gridspec_kw={"width_ratios": [1, 1, 1, 1.6]})
limit = np.abs(rbm.components_).max()
for ax, images, title, style in (
        (axes[0], rbm.components_, "filters (rows of W)",
         dict(cmap="RdBu_r", vmin=-limit, vmax=limit)),
        (axes[1], scaler.inverse_transform(samples), "samples (HMC)",
         dict(cmap="gray", vmin=0, vmax=1)),
        (axes[2], scaler.inverse_transform(means), "their means given h",
         dict(cmap="gray", vmin=0, vmax=1))):
    ax.imshow(mosaic(images), interpolation="nearest", **style)
    ax.set_title(title)
    ax.set_axis_off()
ax = axes[3]
ax.plot([0, *sizes], train_ll, "o-", label="training digits")
ax.plot([0, *sizes], test_ll, "o-", label="held-out digits")
ax.plot(best, max(test_ll), "*", markersize=16, color="tab:red",
        label=f"best held out: {best} hidden units")
ax.set_xscale("symlog", linthresh=1)
ax.set_xticks([0, *sizes], [str(n) for n in [0, *sizes]])
ax.set_xlabel("hidden units (0: the Gaussian N(mean, I))")
ax.set_ylabel("mean log-likelihood (nats, exact)")
ax.legend()
fig.suptitle("Gaussian RBM of standardised 8x8 digits, fitted by score "
             "matching: the 16-unit model (pixel units, clipped to [0, 1]) "
             "and the exact log-likelihood")
fig.tight_layout()
if not QUICK:
    fig.savefig("plot_gaussian_rbm.png", dpi=80)
    print("wrote plot_gaussian_rbm.png")
