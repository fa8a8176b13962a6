"""
Denoising a photograph with the pretrained Field of Experts
===========================================================

The paper's Figure 2j and a restoration: the 24 learned 5x5 filters of the
Field of Experts prior that ships with sksm (``sksm.load_pretrained_foe``,
trained by denoising score matching on other photographs), then a crop of
scikit-learn's flower photograph, the same crop with Gaussian noise of sigma
25/255, and the MAP estimate under the prior.  A few seconds, with the
same settings in the docs build.
"""

# %%
import os
import time

import matplotlib

matplotlib.use("Agg")  # write a file; no screen needed
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image

from sksm import load_pretrained_foe
from sksm.image import add_noise, psnr

# The docs build sets SKSM_QUICK_EXAMPLES=1 (doc/conf.py): smaller settings
# there, and no file written; run as a script, the example uses its full ones.
QUICK = os.environ.get("SKSM_QUICK_EXAMPLES") == "1"

model = load_pretrained_foe()
rgb = load_sample_image("flower.jpg") / 255.0
clean = (rgb @ np.array([0.2125, 0.7154, 0.0721]))[100:356, 200:456]
sigma = 25 / 255
noisy = add_noise(clean, sigma, random_state=0)
start = time.perf_counter()
denoised = model.denoise(noisy, sigma)  # prior weight calibrated for sigma
seconds = time.perf_counter() - start
print(f"PSNR noisy {psnr(clean, noisy):.2f} dB, denoised "
      f"{psnr(clean, denoised):.2f} dB ({seconds:.1f} s)")

# %%
# The filters, ordered by expert weight and each scaled to its own range (the
# norm of a filter, learned, sets the scale of its expert).


def mosaic(filters, rows=4, cols=6):
    k = filters.shape[-1]
    tiles = np.ones((rows * (k + 1) + 1, cols * (k + 1) + 1))
    for n, f in enumerate(filters[: rows * cols]):
        f = (f - f.min()) / (np.ptp(f) or 1.0)
        r, c = divmod(n, cols)
        tiles[1 + r * (k + 1):(r + 1) * (k + 1),
              1 + c * (k + 1):(c + 1) * (k + 1)] = f
    return tiles


order = np.argsort(model.expert_weights_)[::-1]
fig, axes = plt.subplots(1, 4, figsize=(16, 4.4))
axes[0].imshow(mosaic(model.pixel_filters_[order]), cmap="gray",
               interpolation="nearest")
axes[0].set_title("24 learned 5x5 filters")
for ax, image, title in zip(
        axes[1:], (clean, noisy, denoised),
        ("original", f"noisy, {psnr(clean, noisy):.2f} dB",
         f"FoE MAP, {psnr(clean, denoised):.2f} dB")):
    ax.imshow(np.clip(image, 0, 1), cmap="gray", vmin=0, vmax=1)
    ax.set_title(title)
for ax in axes:
    ax.set_axis_off()
fig.tight_layout()
if not QUICK:
    fig.savefig("plot_foe_denoising.png", dpi=80)
    print("wrote plot_foe_denoising.png")
