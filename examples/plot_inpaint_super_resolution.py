"""
Inpainting and super-resolution against interpolation
======================================================

The other two restorations of :mod:`sksm.restoration`, with their
pretrained priors, on a crop of scikit-learn's flower photograph (which the
priors never saw):

- :func:`sksm.restoration.inpaint` fills missing pixels, here scribbles
  (random strokes 5 pixels wide) and 40% of the pixels missing at random,
  against the biharmonic fill of scikit-image
  (:func:`skimage.restoration.inpaint_biharmonic`), which is also where the
  annealed steps under the noise-conditional prior start.  The PSNR is over
  the missing pixels only: the others are kept as they are by both methods;
- :func:`sksm.restoration.super_resolve` doubles the resolution of an image
  whose pixels are the means of 2x2 blocks of the crop, with annealed steps
  under the noise-conditional prior, against bicubic and Lanczos
  interpolation (Pillow's), with the PSNR on the whole image.

The docs build restores a 96x96 crop (about 10 s on one core, most of it
the fills, which choose their first level on each image); run as a script,
the example restores a 192x192 crop (about 30 s).
"""

# %%
import os

import matplotlib

matplotlib.use("Agg")  # write a file; no screen needed
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle
from PIL import Image
from skimage.restoration import inpaint_biharmonic
from sklearn.datasets import load_sample_image

from sksm import restoration
from sksm.image import psnr

# The docs build sets SKSM_QUICK_EXAMPLES=1 (doc/conf.py): smaller settings
# there, and no file written; run as a script, the example uses its full ones.
QUICK = os.environ.get("SKSM_QUICK_EXAMPLES") == "1"

rgb = load_sample_image("flower.jpg") / 255
flower = rgb @ np.array([0.2125, 0.7154, 0.0721])
side = 96 if QUICK else 192
clean = flower[200:200 + side, 250:250 + side]

# %%
# Inpainting: two seeded masks, True where a pixel is missing.
rng = np.random.default_rng(0)
random_mask = rng.random(clean.shape) < 0.4
rows, cols = np.indices(clean.shape)
scribbles = np.zeros(clean.shape, bool)
for _ in range(side // 12):  # strokes: segments between random points
    (r0, c0), (r1, c1) = rng.uniform(0, side, (2, 2))
    t = np.clip(((rows - r0) * (r1 - r0) + (cols - c0) * (c1 - c0))
                / ((r1 - r0) ** 2 + (c1 - c0) ** 2), 0, 1)
    scribbles |= np.hypot(rows - r0 - t * (r1 - r0),
                          cols - c0 - t * (c1 - c0)) < 2.5


def masked_psnr(estimate, mask):
    return psnr(clean[mask], estimate[mask])


def show_missing(image, mask):
    """The damaged image in gray, its missing pixels in orange."""
    shown = np.repeat(np.clip(image, 0, 1)[..., None], 3, axis=-1)
    shown[mask] = (1.0, 0.5, 0.05)
    return shown


fig, axes = plt.subplots(2, 4, figsize=(11, 6.6))
for row, (name, mask) in zip(axes, (("scribbles", scribbles),
                                    ("40% missing at random", random_mask))):
    damaged = np.where(mask, 0.0, clean)
    filled = {"biharmonic (scikit-image)": inpaint_biharmonic(damaged, mask),
              "sksm (noise-conditional)": restoration.inpaint(damaged, mask)}
    print(f"{name}: " + ", ".join(f"{method} {masked_psnr(out, mask):.2f} dB"
                                  for method, out in filled.items()))
    row[0].imshow(clean, cmap="gray", vmin=0, vmax=1)
    row[0].set_title("clean")
    row[1].imshow(show_missing(clean, mask))
    row[1].set_title(f"{name}\n({mask.mean():.0%} of the pixels)")
    for ax, (method, out) in zip(row[2:], filled.items()):
        ax.imshow(np.clip(out, 0, 1), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{method}\n{masked_psnr(out, mask):.2f} dB")
for ax in axes.ravel():
    ax.set_axis_off()
fig.suptitle("Inpainting (PSNR over the missing pixels)")
fig.tight_layout()
if not QUICK:
    fig.savefig("plot_inpaint.png", dpi=80)

# %%
# Super-resolution: the crop's 2x2 block means, upscaled back.  Pillow's
# filters align the output pixels with the blocks, as the block means are.
low = clean.reshape(side // 2, 2, side // 2, 2).mean(axis=(1, 3))


def pillow_upscale(image, kind):
    small = Image.fromarray(image.astype(np.float32))  # mode 'F'
    return np.asarray(small.resize((2 * image.shape[1], 2 * image.shape[0]),
                                   kind), dtype=np.float64)


upscaled = {
    "block means (input)": np.kron(low, np.ones((2, 2))),
    "bicubic": pillow_upscale(low, Image.Resampling.BICUBIC),
    "Lanczos": pillow_upscale(low, Image.Resampling.LANCZOS),
    "sksm (noise-conditional)": restoration.super_resolve(low, 2),
}
print("2x super-resolution: " + ", ".join(
    f"{name} {psnr(clean, out):.2f} dB" for name, out in upscaled.items()))
corner, size = side // 4, side // 4  # the enlarged detail
fig, axes = plt.subplots(2, 5, figsize=(13, 5.6))
for (top, bottom), (name, image) in zip(
        axes.T, {"clean": clean, **upscaled}.items()):
    title = name if name == "clean" else f"{name}\n{psnr(clean, image):.2f} dB"
    top.imshow(np.clip(image, 0, 1), cmap="gray", vmin=0, vmax=1)
    top.add_patch(Rectangle((corner - 0.5, corner - 0.5), size, size,
                            fill=False, edgecolor="tab:orange"))
    top.set_title(title)
    bottom.imshow(np.clip(image[corner:corner + size, corner:corner + size],
                          0, 1), cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
for ax in axes.ravel():
    ax.set_axis_off()
fig.suptitle(f"2x super-resolution of {side // 2}x{side // 2} block means "
             "(PSNR on the whole image; below, the detail in the box)")
fig.tight_layout()
if not QUICK:
    fig.savefig("plot_super_resolution.png", dpi=80)
    print("wrote plot_inpaint.png and plot_super_resolution.png")
