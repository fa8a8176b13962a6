"""
Samples from a Product of Experts of digits and from the Field of Experts
=========================================================================

Energy-based models draw samples by Markov chain Monte Carlo
(``sample``, Hamiltonian Monte Carlo from ``sksm.sampling``; each sample is
the last state of its own chain):

- top, 12 samples of a complete PoE fitted by regularized score matching to
  14x14 MNIST digits, drawn on the [0, 1] scale of the digits: Student-t
  experts have heavy tails, and most pixels of a sample lie far outside
  [0, 1] (clipped here to black and white), so they do not look like digits;
- bottom left, 4 samples of the pretrained Field of Experts prior (36x36
  pixels): each a fine texture of low contrast around its own brightness.
  Drawn on [0, 1] they look flat grey, so each is drawn on its own range
  (from its 1st to its 99th percentile, in its title), and only its inner
  28x28 pixels: the outer 4, in fewer of the 5x5 windows of the filters,
  wander further;
- bottom right, a conditional sample (stochastic inpainting: the centre of a
  photograph crop redrawn from the prior, the rest fixed), on [0, 1].

The log-likelihood of the digit model is exact.  About 20 s as a script; the
docs build fits the PoE for 30 iterations instead of 100 and runs chains of
300 and 150 steps instead of 1,000 and 400 (about 10 s).
"""

# %%
import os
import warnings

import matplotlib

matplotlib.use("Agg")  # write a file; no screen needed
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image
from sklearn.exceptions import ConvergenceWarning

from sksm import RegularizedScoreMatchingPoE, load_pretrained_foe
from sksm.datasets import load_mnist_subset

# The docs build sets SKSM_QUICK_EXAMPLES=1 (doc/conf.py): smaller settings
# there, and no file written; run as a script, the example uses its full ones.
QUICK = os.environ.get("SKSM_QUICK_EXAMPLES") == "1"

X_train, X_test = load_mnist_subset()[:2]
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    # the complete model (as many experts as pixels), whose likelihood is
    # exact; the default twice as many would need AIS for it
    poe = RegularizedScoreMatchingPoE(n_experts=X_train.shape[1],
                                      reg_lambda=0.2,
                                      max_iter=30 if QUICK else 100,
                                      random_state=0).fit(X_train)
digits = poe.sample(12, random_state=0, n_steps=300 if QUICK else 1000)
print(f"PoE test log-likelihood {poe.score(X_test):.1f} nats per digit "
      f"(exact), {-poe.score_samples_per_dim(X_test, base=2).mean():.3f} "
      "bits per pixel")

# %%
# The Field of Experts: unconditional samples and a conditional one.
foe = load_pretrained_foe()
height, width = foe.image_shape_
n_steps = 150 if QUICK else 400
images = foe.sample(4, random_state=0, n_steps=n_steps).reshape(-1, height,
                                                              width)
rgb = load_sample_image("flower.jpg") / 255.0
crop = (rgb @ np.array([0.2125, 0.7154, 0.0721]))[200:200 + height,
                                                   300:300 + width]
mask = np.zeros((height, width), bool)
mask[10:26, 10:26] = True
filled = foe.sample(1, random_state=0, n_steps=n_steps, mask=mask.ravel(),
                    X_fixed=crop.ravel()).reshape(height, width)

# %%
fig, axes = plt.subplots(2, 12, figsize=(18, 3.6))
for ax, digit in zip(axes[0], digits):
    ax.imshow(digit.reshape(14, 14), cmap="gray", vmin=0, vmax=1)
axes[0, 0].set_title("PoE samples (MNIST), on [0, 1]", loc="left")
# the outer pixels, in fewer of the filters' windows than the others
edge = foe.filter_size - 1
for k, (ax, image) in enumerate(zip(axes[1], images)):
    inner = image[edge:-edge, edge:-edge]
    low, high = np.percentile(inner, [1, 99])
    ax.imshow(inner, cmap="gray", vmin=low, vmax=high)
    title = f"{low:.2f} to {high:.2f}"
    if k == 0:
        title = (f"FoE samples (inner {height - 2 * edge}x"
                 f"{width - 2 * edge})\n{title}")
    ax.set_title(title, loc="left" if k == 0 else "center", fontsize=10)
shown = crop.copy()
shown[mask] = np.nan
for ax, image, title in zip(axes[1, 6:], (crop, shown, filled),
                            ("photograph", "centre removed",
                             "centre sampled")):
    ax.imshow(image, cmap="gray", vmin=0, vmax=1)
    ax.set_title(title)
for ax in axes.ravel():
    ax.set_axis_off()
fig.tight_layout()
if not QUICK:
    fig.savefig("plot_sampling.png", dpi=80)
    print("wrote plot_sampling.png")
