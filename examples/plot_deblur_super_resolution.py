"""
Deblurring, bicubic super-resolution and photon noise
=====================================================

Two linear degradations restored by :func:`sksm.restoration.deconvolve`
and :func:`sksm.restoration.super_resolve`, and photon noise by
:func:`sksm.restoration.denoise`, with the pretrained noise-conditional
prior, on a crop of scikit-learn's china photograph (which the prior
never saw), against what scikit-image and Pillow offer:

- a motion blur of 13 pixels at 75 degrees with 1% noise, against
  scikit-image's ``wiener`` (its balance from the benchmark's calibration),
  ``unsupervised_wiener`` and ``richardson_lucy``, each given the true
  point-spread function.  The blurred image is a 'valid' convolution of a
  larger crop, as a camera sees the scene beyond the frame;
- the crop shrunk 3 times by Pillow's bicubic ``Image.resize``, enlarged
  back by Pillow's bicubic resize and by ``super_resolve(small, 3,
  kernel='bicubic')``;
- Poisson noise with white at 5 photons, restored by the Anscombe
  transformation around scikit-image's non-local means (with the exact
  unbiased inverse) and by ``denoise(noisy, noise='poisson', peak=5)``.

PSNR in the titles.  The docs build restores a 96x96 crop (a few seconds);
run as a script, the example restores a 192x192 crop.
"""

# %%
import os

import matplotlib

matplotlib.use("Agg")  # write a file; no screen needed
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image
from scipy.signal import fftconvolve
from skimage import restoration as skr
from sklearn.datasets import load_sample_image

from sksm import restoration
from sksm.image import add_noise, psnr

# The docs build sets SKSM_QUICK_EXAMPLES=1 (doc/conf.py): smaller settings
# there, and no file written; run as a script, the example uses its full ones.
QUICK = os.environ.get("SKSM_QUICK_EXAMPLES") == "1"

rgb = load_sample_image("china.jpg") / 255
china = rgb @ np.array([0.2125, 0.7154, 0.0721])
side = 96 if QUICK else 192
top, left = 150, 250


def compare(what, results, original="original"):
    """The original beside every result, their PSNR in the titles and
    printed; returns the figure and its axes."""
    fig, axes = plt.subplots(1, len(results) + 1,
                             figsize=(2.6 * (len(results) + 1), 3.3))
    axes[0].imshow(clean, cmap="gray", vmin=0, vmax=1)
    axes[0].set_title(original)
    scores = {name: psnr(clean, np.clip(image, 0, 1))
              for name, image in results.items()}
    for ax, (name, image) in zip(axes[1:], results.items()):
        ax.imshow(np.clip(image, 0, 1), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{name}\n{scores[name]:.2f} dB")
    print(f"{what}: " + ", ".join(f"{name} {score:.2f} dB"
                                  for name, score in scores.items()))
    for ax in axes:
        ax.set_axis_off()
    fig.tight_layout()
    return fig, axes


# %%
# The point-spread function: a line of 13 pixels at 75 degrees, drawn with
# bilinear weights.
length, angle = 13, np.deg2rad(75)
psf = np.zeros((length + 2, length + 2))
centre = (length + 1) // 2
for t in np.linspace(-(length - 1) / 2, (length - 1) / 2, 4 * length):
    x, y = centre + t * np.cos(angle), centre - t * np.sin(angle)
    x0, y0 = int(x), int(y)
    for dy, wy in ((0, 1 - (y - y0)), (1, y - y0)):
        for dx, wx in ((0, 1 - (x - x0)), (1, x - x0)):
            psf[y0 + dy, x0 + dx] += wy * wx
psf /= psf.sum()

m = psf.shape[0] // 2
clean = china[top:top + side, left:left + side]
scene = china[top - m:top + side + m, left - m:left + side + m]
blurred = add_noise(fftconvolve(scene, psf, mode="valid"), 0.01,
                    random_state=0)


def mirrored(fn, image):
    """A peer on the image mirrored by the PSF's size, cropped back."""
    k = psf.shape[0]
    return fn(np.pad(image, k, mode="symmetric"))[k:-k, k:-k]


deblurred = {
    "blurred, 1% noise": blurred,
    "wiener": mirrored(lambda v: skr.wiener(v, psf, 0.03), blurred),
    "unsupervised wiener": mirrored(
        lambda v: skr.unsupervised_wiener(v, psf, rng=0)[0], blurred),
    "richardson-lucy": mirrored(
        lambda v: skr.richardson_lucy(np.clip(v, 0, None), psf, num_iter=10,
                                      clip=False), blurred),
    "sksm deconvolve": restoration.deconvolve(blurred, psf, 0.01),
}
fig, axes = compare("deblurring", deblurred, original="sharp")
inset = axes[0].inset_axes([0.0, 0.0, 0.3, 0.3])   # the PSF, enlarged
inset.imshow(psf, cmap="gray")
inset.set_axis_off()
if not QUICK:
    fig.savefig("plot_deblur.png", dpi=80)

# %%
# Super-resolution: Pillow shrinks the crop 3 times (bicubic, mode 'F'),
# and enlarges it back.
def pillow(image, shape):
    return np.asarray(Image.fromarray(image.astype(np.float32)).resize(
        (shape[1], shape[0]), Image.Resampling.BICUBIC), dtype=np.float64)


small = pillow(clean, (side // 3, side // 3))
enlarged = {
    "shrunk (nearest)": np.kron(small, np.ones((3, 3))),
    "Pillow bicubic": pillow(small, clean.shape),
    "sksm super_resolve": restoration.super_resolve(small, 3,
                                                    kernel="bicubic"),
}
fig, _ = compare("x3 super-resolution", enlarged)
if not QUICK:
    fig.savefig("plot_super_resolution_x3.png", dpi=80)

# %%
# Photon noise: white is 5 photons, every pixel a Poisson count.
peak = 5
counts = np.random.default_rng(0).poisson(peak * clean)
noisy = counts / peak


def anscombe_nlm(image):
    """Non-local means on the stabilised counts, as the peers do it."""
    from sksm.posterior import anscombe, exact_unbiased_inverse

    white = anscombe(peak)
    stabilised = anscombe(image * peak) / white
    out = skr.denoise_nl_means(stabilised, h=0.8 / white, sigma=1 / white,
                               fast_mode=True)
    return exact_unbiased_inverse(white * out) / peak


denoised = {
    f"Poisson, peak {peak}": noisy,
    "Anscombe + non-local means": anscombe_nlm(noisy),
    "sksm denoise": restoration.denoise(noisy, noise="poisson", peak=peak),
}
fig, _ = compare("photon noise", denoised)
if not QUICK:
    fig.savefig("plot_photons.png", dpi=80)
