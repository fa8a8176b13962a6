"""
Denoising a photograph: the Fields of Experts against other methods
====================================================================

:func:`sksm.restoration.denoise` with its default prior, the pretrained
noise-conditional Field of Experts ("sksm (noise-conditional)", 48 filters
of 7x7 with Gaussian scale mixture experts), and with the paper's 5x5x24
Student-t prior ("sksm (Student-t)", ``model=load_pretrained_foe()``),
beside three methods of other packages, on a crop of scikit-learn's flower
photograph, which neither prior saw, with Gaussian noise of sigma 25/255:

- non-local means, :func:`skimage.restoration.denoise_nl_means`
  (``fast_mode``, 5x5 patches, ``h`` of 0.8 times the noise level, as
  scikit-image's own example has it);
- total variation, :func:`skimage.restoration.denoise_tv_chambolle`, whose
  weight is chosen for each noise level on a crop of another photograph
  (``china.jpg``), never on the crop it is rated on;
- BM3D (the ``bm3d`` package), when it is installed.

Every method is given the same noise level: the one
:func:`sksm.restoration.estimate_sigma` measures on the noisy image, as a
user without the clean image would.  The first figure shows the restorations
and an enlarged detail of each, with its PSNR on the whole crop; the second
the PSNR of each method against the noise level.

The docs build uses a 128x128 crop and the noise levels 15, 25 and 50 (about
9 s on one core, half of it BM3D); run as a script, the example restores a
256x256 crop at 5, 15, 25 and 50 (about 25 s).
"""

# %%
import os
import time

import matplotlib

matplotlib.use("Agg")  # write a file; no screen needed
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle
from skimage.restoration import denoise_nl_means, denoise_tv_chambolle
from sklearn.datasets import load_sample_image

from sksm import load_pretrained_foe, restoration
from sksm.image import add_noise, psnr

# The docs build sets SKSM_QUICK_EXAMPLES=1 (doc/conf.py): smaller settings
# there, and no file written; run as a script, the example uses its full ones.
QUICK = os.environ.get("SKSM_QUICK_EXAMPLES") == "1"

try:
    import bm3d
except ImportError:
    bm3d = None
    print("bm3d is not installed (pip install bm3d): BM3D is left out")


def grayscale(name):
    """A photograph shipped with scikit-learn, as luminance in [0, 1]."""
    return load_sample_image(name) @ np.array([0.2125, 0.7154, 0.0721]) / 255


flower = grayscale("flower.jpg")
if QUICK:
    clean, zoom = flower[100:228, 180:308], (40, 20, 48)  # row, col, side
    levels = [15, 25, 50]
else:
    clean, zoom = flower[100:356, 200:456], (60, 0, 80)
    levels = [5, 15, 25, 50]
# the TV weight is chosen on another photograph (china.jpg)
tuning_crop = grayscale("china.jpg")[200:328, 300:428]

# %%
# The total-variation weight.  For each noise level, TV is run on the tuning
# crop with seeded noise, for weights of 0.1 to 2 times the estimated noise
# level, and the factor of the highest PSNR is kept; between the tuned levels
# the factor is interpolated (in the estimated level), so TV too needs only
# the estimate.


def tune_tv(sigma):
    """(estimated level, best factor) on the tuning crop."""
    noisy = add_noise(tuning_crop, sigma, random_state=1)
    estimate = restoration.estimate_sigma(noisy)
    factors = np.geomspace(0.1, 2, 14 if QUICK else 27)
    scores = [psnr(tuning_crop,
                   denoise_tv_chambolle(noisy, weight=f * estimate))
              for f in factors]
    return estimate, factors[int(np.argmax(scores))]


tuned = np.array([tune_tv(level / 255) for level in levels])
print("TV weight / estimated sigma, tuned on china.jpg:",
      ", ".join(f"{f:.2f} at {e * 255:.1f}" for e, f in tuned))


def tv_weight(sigma):
    return np.interp(sigma, tuned[:, 0], tuned[:, 1]) * sigma


# %%
# The methods, each a function of the noisy image and the estimated level.
methods = {
    "sksm (noise-conditional)": lambda y, s: restoration.denoise(y, s),
    "sksm (Student-t)": lambda y, s: restoration.denoise(
        y, s, model=load_pretrained_foe()),
    "non-local means": lambda y, s: denoise_nl_means(
        y, h=0.8 * s, sigma=s, patch_size=5, patch_distance=6,
        fast_mode=True),
    "TV": lambda y, s: denoise_tv_chambolle(y, weight=tv_weight(s)),
}
if bm3d is not None:
    methods["BM3D"] = lambda y, s: bm3d.bm3d(y, sigma_psd=s)

results, scores = {}, {name: [] for name in methods}
for level in levels:
    noisy = add_noise(clean, level / 255, random_state=0)
    sigma_est = restoration.estimate_sigma(noisy)
    print(f"sigma {level}/255: estimated {sigma_est * 255:.1f}/255, "
          f"noisy {psnr(clean, noisy):.2f} dB")
    for name, method in methods.items():
        start = time.perf_counter()
        restored = method(noisy, sigma_est)
        seconds = time.perf_counter() - start
        scores[name].append(psnr(clean, restored))
        print(f"  {name:24} {scores[name][-1]:6.2f} dB  {seconds:5.2f} s")
        if level == 25:
            results[name] = restored
    if level == 25:
        results = {"clean": clean, "noisy": noisy, **results}

# %%
# Sigma 25/255: each image, and below it the detail in the box, enlarged.
row, col, side = zoom
fig, axes = plt.subplots(2, len(results), figsize=(2.3 * len(results), 5.2))
for (top, bottom), (name, image) in zip(axes.T, results.items()):
    label = name.replace(" (", "\n(")  # the method on one line, its kind below
    title = name if name == "clean" else f"{label}\n{psnr(clean, image):.2f} dB"
    top.imshow(np.clip(image, 0, 1), cmap="gray", vmin=0, vmax=1)
    top.add_patch(Rectangle((col - 0.5, row - 0.5), side, side, fill=False,
                            edgecolor="tab:orange", linewidth=1.5))
    top.set_title(title, fontsize=11)
    bottom.imshow(np.clip(image[row:row + side, col:col + side], 0, 1),
                  cmap="gray", vmin=0, vmax=1, interpolation="nearest")
for ax in axes.ravel():
    ax.set_axis_off()
fig.suptitle(f"Denoising a {clean.shape[0]}x{clean.shape[1]} photograph "
             "crop, sigma 25/255 (PSNR on the whole crop)")
fig.tight_layout()
if not QUICK:
    fig.savefig("plot_restoration_comparison.png", dpi=80)

# %%
# PSNR against the noise level, and the difference to non-local means.
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
for name, values in scores.items():
    left.plot(levels, values, "o-", label=name)
    right.plot(levels, np.subtract(values, scores["non-local means"]), "o-",
               label=name)
left.set_ylabel("PSNR (dB)")
right.set_ylabel("PSNR minus that of non-local means (dB)")
right.axhline(0, color="gray", linewidth=0.8)
for ax in (left, right):
    ax.set_xlabel("noise sigma (on the 0-255 scale)")
    ax.set_xticks(levels)
left.legend()
fig.suptitle(f"Denoising the {clean.shape[0]}x{clean.shape[1]} crop, each "
             "method given the estimated noise level")
fig.tight_layout()
if not QUICK:
    fig.savefig("plot_restoration_comparison_sigma.png", dpi=80)
    print("wrote plot_restoration_comparison.png and "
          "plot_restoration_comparison_sigma.png")
