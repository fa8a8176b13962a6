"""Inverse problems benchmark: deblurring, bicubic super-resolution, photon
noise and colour.

Held-out photographs of split 0 (see _images.py; the pretrained prior, its
schedules and the peers' settings were chosen on other images).

Deblurring: the 256x256 centre crop of every held-out image, observed
through a point-spread function as a 'valid' convolution of a larger crop
(so that no method sees its own boundary rule), plus white Gaussian noise
of 1% (sigma = 0.01, seeded per image).  The blurs differ from the
calibration's (Gaussian sigma 1.6, motion 11 px at 30 degrees, 15 px at
100 degrees): Gaussian sigma 1.6 and motion lines of 9, 13 and 15 px at
20, 75 and 140 degrees.  Peers, all from scikit-image and given the true
point-spread function and the observation mirrored by the PSF's size:
``wiener`` (its balance chosen on the calibration crops, for each blur,
from 1e-3 to 0.1), ``richardson_lucy`` (its iterations chosen likewise,
from 5 to 60), ``unsupervised_wiener`` (no setting).  sksm:
``restoration.deconvolve(y, psf, sigma=0.01)`` and with ``sigma=None``
(estimated).  PSNR (data range 1), per image and on average, outputs
clipped to [0, 1].

Super-resolution: the 240x240 centre crops (grey) shrunk by Pillow's
bicubic ``Image.resize`` by 2, 3 and 4 and rounded to 8 bits, then enlarged
by Pillow's bicubic resize and by ``restoration.super_resolve(small,
factor, kernel='bicubic')``.  PSNR over the whole image and with a border
of ``factor`` pixels left out (the Set5/Set14 convention).  scikit-image's
moon is left out: it is itself a nearest-neighbour enlargement.

Colour: the 256x256 centre crops of the held-out colour photographs, with
white Gaussian noise of 15, 25 and 50 grey levels in every channel (seeded
per image).  sksm's default (``restoration.denoise(y, sigma,
channel_axis=-1)``: the opponent channels, one luminance and two chroma,
each restored by the pretrained prior) against the grayscale denoiser run
on the red, green and blue channels separately, and CBM3D
(``bm3d.bm3d_rgb``, when the package ``bm3d`` is installed; it works in
its own opponent colour space and groups blocks by the luminance).

Seconds per image are on one core (OMP_NUM_THREADS=1 for the run), beside
those of the default denoiser (``restoration.denoise(noisy, 25/255)``) on
the same crops, for the per-pixel ratio.

Run:  OMP_NUM_THREADS=1 python benchmarks/bench_inverse.py
      [--task deblur|super-resolve|photons|colour|all] [--quick]
"""

import argparse
import time

import numpy as np
from _images import SHIPPED_SPLIT, centre_crop, load, split
from PIL import Image
from scipy.signal import fftconvolve
from skimage import restoration as skr

from sksm import restoration
from sksm.image import add_noise, psnr

NOISE = 0.01
WIENER_BALANCES = (1e-3, 3e-3, 1e-2, 3e-2, 0.1)
RL_ITERATIONS = (5, 10, 20, 30, 60)


def gaussian_psf(sigma):
    radius = int(np.ceil(3 * sigma))
    t = np.arange(-radius, radius + 1)
    g = np.exp(-t ** 2 / (2 * sigma * sigma))
    k = np.outer(g, g)
    return k / k.sum()


def motion_psf(length, angle):
    """A line of ``length`` pixels at ``angle`` degrees, drawn with
    bilinear weights."""
    r = length // 2 + 1
    k = np.zeros((2 * r + 1, 2 * r + 1))
    for t in np.linspace(-(length - 1) / 2, (length - 1) / 2, 4 * length):
        x = r + t * np.cos(np.deg2rad(angle))
        y = r - t * np.sin(np.deg2rad(angle))
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                k[y0 + dy, x0 + dx] += wy * wx
    return k / k.sum()


CALIBRATION_BLURS = {"gaussian 1.6": gaussian_psf(1.6),
                     "motion 11@30": motion_psf(11, 30),
                     "motion 15@100": motion_psf(15, 100)}
HELD_OUT_BLURS = {"gaussian 1.6": gaussian_psf(1.6),
                  "motion 9@20": motion_psf(9, 20),
                  "motion 13@75": motion_psf(13, 75),
                  "motion 15@140": motion_psf(15, 140)}


def observe(image, psf, size, seed):
    """The centre crop of at most ``size`` a side, and its blurred and noisy
    observation: a 'valid' convolution of the crop grown by the PSF's
    margins."""
    height, width = image.shape
    m0, m1 = psf.shape[0] // 2, psf.shape[1] // 2
    rows = min(size, height - psf.shape[0] + 1)
    cols = min(size, width - psf.shape[1] + 1)
    top, left = (height - rows) // 2, (width - cols) // 2
    big = image[top - m0:top + rows + psf.shape[0] - 1 - m0,
                left - m1:left + cols + psf.shape[1] - 1 - m1]
    clean = image[top:top + rows, left:left + cols]
    blurred = fftconvolve(big, psf, mode="valid")
    return clean, add_noise(blurred, NOISE, random_state=seed)


def mirrored(fn, y, psf):
    """``fn`` on the observation mirrored by the PSF's size, cropped back."""
    m = max(psf.shape)
    return fn(np.pad(y, m, mode="symmetric"))[m:-m, m:-m]


def peers(y, psf, balance, iterations):
    return {
        "wiener": mirrored(lambda v: skr.wiener(v, psf, balance), y, psf),
        "unsupervised wiener": mirrored(
            lambda v: skr.unsupervised_wiener(v, psf, rng=0)[0], y, psf),
        "richardson-lucy": mirrored(
            lambda v: skr.richardson_lucy(np.clip(v, 1e-6, None), psf,
                                          num_iter=iterations, clip=False),
            y, psf),
    }


def tune_peers(psf):
    """The Wiener balance and Richardson-Lucy iterations best on average
    over the calibration crops, for this blur."""
    crops = [load(name) for name in split(SHIPPED_SPLIT)["calibration"]]
    data = [observe(im, psf, 128, 100 + i) for i, im in enumerate(crops)]
    wiener = [np.mean([psnr(c, np.clip(mirrored(
        lambda v: skr.wiener(v, psf, b), y, psf), 0, 1)) for c, y in data])
        for b in WIENER_BALANCES]
    rl = [np.mean([psnr(c, np.clip(mirrored(
        lambda v: skr.richardson_lucy(np.clip(v, 1e-6, None), psf,
                                      num_iter=n, clip=False), y, psf),
        0, 1)) for c, y in data]) for n in RL_ITERATIONS]
    return (WIENER_BALANCES[int(np.argmax(wiener))],
            RL_ITERATIONS[int(np.argmax(rl))])


def deblur(names, size, denoise_seconds):
    print(f"## Deblurring, {size}x{size} held-out crops, noise {NOISE}")
    summary = []
    for blur, psf in HELD_OUT_BLURS.items():
        balance, iterations = tune_peers(psf)
        print(f"\n### {blur} (PSF {psf.shape[0]}x{psf.shape[1]}); chosen on "
              f"calibration: wiener balance {balance:g}, richardson-lucy "
              f"{iterations} iterations")
        columns = ["blurred", "wiener", "unsupervised wiener",
                   "richardson-lucy", "sksm", "sksm sigma=None"]
        print("| image | " + " | ".join(columns) + " | sksm - best peer |")
        print("|---" * (len(columns) + 2) + "|")
        rows, seconds, pixels = [], {c: 0.0 for c in columns}, 0
        for i, name in enumerate(names):
            clean, y = observe(load(name), psf, size, i)
            pixels += clean.size
            out = {"blurred": y}
            start = time.perf_counter()
            for key, value in peers(y, psf, balance, iterations).items():
                out[key] = value
            seconds["wiener"] += time.perf_counter() - start
            start = time.perf_counter()
            out["sksm"] = restoration.deconvolve(y, psf, NOISE)
            seconds["sksm"] += time.perf_counter() - start
            out["sksm sigma=None"] = restoration.deconvolve(y, psf)
            row = [psnr(clean, np.clip(out[c], 0, 1)) for c in columns]
            rows.append(row)
            gap = row[4] - max(row[1:4])
            print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in row)
                  + f" | {gap:+.2f} |", flush=True)
        rows = np.array(rows)
        gaps = rows[:, 4] - rows[:, 1:4].max(axis=1)
        print("| **mean** | " + " | ".join(f"{v:.2f}" for v in
                                          rows.mean(axis=0))
              + f" | {gaps.mean():+.2f} |")
        print(f"\nsksm at least +1 dB over the best peer on "
              f"{np.sum(gaps >= 1)} of {len(gaps)} images (worst "
              f"{gaps.min():+.2f}); seconds per 256x256 pixels: peers (all "
              f"three) {seconds['wiener'] / pixels * 256 ** 2:.2f}, sksm "
              f"{seconds['sksm'] / pixels * 256 ** 2:.2f} "
              f"({seconds['sksm'] / pixels * 256 ** 2 / denoise_seconds:.1f}x"
              " the denoiser)")
        summary.append((blur, rows[:, 4].mean(), gaps.mean(), gaps.min(),
                        np.sum(gaps >= 1)))
    print("\n| blur | sksm mean | minus best peer, mean | worst | images "
          "+1 dB |")
    print("|---|---|---|---|---|")
    for blur, mean, gap, worst, count in summary:
        print(f"| {blur} | {mean:.2f} | {gap:+.2f} | {worst:+.2f} | "
              f"{count} of {len(names)} |")


def resize(x, shape):
    return np.asarray(Image.fromarray(x.astype(np.float32), "F").resize(
        (shape[1], shape[0]), Image.BICUBIC), dtype=np.float64)


def super_resolve(names, size, denoise_seconds):
    print(f"\n## Super-resolution of Pillow's bicubic reduction, "
          f"{size}x{size} held-out crops (8-bit)")
    names = [n for n in names if n != "moon"]
    for factor in (2, 3, 4):
        print(f"\n### x{factor}\n")
        print("| image | bicubic | sksm | gain | bicubic (border "
              f"{factor}) | sksm (border {factor}) |")
        print("|---|---|---|---|---|---|")
        rows, seconds, pixels = [], 0.0, 0
        for name in names:
            clean = _crop(load(name), size)
            pixels += clean.size
            small = np.round(255 * np.clip(resize(
                clean, (clean.shape[0] // factor, clean.shape[1] // factor)),
                0, 1)) / 255
            bicubic = np.clip(resize(small, clean.shape), 0, 1)
            start = time.perf_counter()
            ours = restoration.super_resolve(small, factor,
                                             kernel="bicubic")
            seconds += time.perf_counter() - start
            ours = np.clip(ours, 0, 1)
            b = factor
            row = [psnr(clean, bicubic), psnr(clean, ours),
                   psnr(clean[b:-b, b:-b], bicubic[b:-b, b:-b]),
                   psnr(clean[b:-b, b:-b], ours[b:-b, b:-b])]
            rows.append(row)
            print(f"| {name} | {row[0]:.2f} | {row[1]:.2f} | "
                  f"{row[1] - row[0]:+.2f} | {row[2]:.2f} | {row[3]:.2f} |",
                  flush=True)
        rows = np.array(rows)
        gains = rows[:, 1] - rows[:, 0]
        print(f"| **mean** | {rows[:, 0].mean():.2f} | {rows[:, 1].mean():.2f}"
              f" | {gains.mean():+.2f} | {rows[:, 2].mean():.2f} | "
              f"{rows[:, 3].mean():.2f} |")
        per_pixel = seconds / pixels * 256 ** 2
        print(f"\nabove bicubic on {np.sum(gains > 0)} of {len(gains)} "
              f"images (worst {gains.min():+.2f} dB); {per_pixel:.2f} s per "
              f"256x256 output ({per_pixel / denoise_seconds:.1f}x the "
              "denoiser)")


PEAKS = (1, 2, 5, 10, 30, 100)
NLM_STRENGTHS = (0.6, 0.8, 1.0, 1.2)


def nlm_stabilised(stabilised, level, strength):
    """scikit-image's non-local means on a stabilised image of noise
    ``level``, its filtering ``h = strength * level``."""
    return skr.denoise_nl_means(stabilised, h=strength * level,
                                sigma=level, fast_mode=True, patch_size=5,
                                patch_distance=6)


def photon_observation(clean, peak, read, seed):
    """Counts / peak: Poisson of mean ``peak * clean``, plus Gaussian read
    noise of ``read`` counts."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(peak * clean) + read * rng.standard_normal(
        clean.shape)
    return counts / peak


def anscombe_nlm(noisy, peak, read, strength):
    """The peer: the generalised Anscombe transformation, non-local means
    at unit noise, the exact unbiased inverse."""
    from sksm.posterior import anscombe, exact_unbiased_inverse

    white = float(anscombe(peak, read))
    stabilised = anscombe(noisy * peak, read) / white
    out = nlm_stabilised(stabilised, 1 / white, strength)
    return exact_unbiased_inverse(white * out, read) / peak


def tune_nlm(peak, read):
    """The non-local means strength best on the calibration crops."""
    crops = [_crop(load(name), 128) for name in
             split(SHIPPED_SPLIT)["calibration"]]
    scores = [np.mean([psnr(c, np.clip(anscombe_nlm(photon_observation(
        c, peak, read, 100 + i), peak, read, h), 0, 1))
        for i, c in enumerate(crops)]) for h in NLM_STRENGTHS]
    return NLM_STRENGTHS[int(np.argmax(scores))]


def photons(names, size, denoise_seconds):
    print(f"\n## Photon noise, {size}x{size} held-out crops")
    summary = []
    for read in (0.0, 2.0):
        for peak in PEAKS:
            noise = "poisson" if read == 0 else "poisson-gaussian"
            strength = tune_nlm(peak, read)
            rows = []
            for i, name in enumerate(names):
                clean = _crop(load(name), size)
                noisy = photon_observation(clean, peak, read, i)
                peer = anscombe_nlm(noisy, peak, read, strength)
                kwargs = (dict(sigma=read / peak) if read else {})
                ours = restoration.denoise(noisy, noise=noise, peak=peak,
                                           **kwargs)
                rows.append([psnr(clean, np.clip(v, 0, 1))
                             for v in (noisy, peer, ours)])
            rows = np.array(rows)
            gaps = rows[:, 2] - rows[:, 1]
            summary.append((noise, peak, read, strength, *rows.mean(axis=0),
                            gaps.mean(), gaps.min(), np.sum(gaps > 0)))
            print(f"{noise} peak {peak} read {read:g}: " + ", ".join(
                f"{n} {v:.2f}/{w:.2f}/{o:.2f}"
                for n, (v, w, o) in zip(names, rows)), flush=True)
    print("\n| noise | peak | read (counts) | noisy | Anscombe + NLM (h) | "
          "sksm | gain | worst | images above |")
    print("|---|---|---|---|---|---|---|---|---|")
    for noise, peak, read, h, a, b, c, gain, worst, count in summary:
        print(f"| {noise} | {peak} | {read:g} | {a:.2f} | {b:.2f} ({h:g}) | "
              f"{c:.2f} | {gain:+.2f} | {worst:+.2f} | {count} of "
              f"{len(names)} |")


def colour(names, size, denoise_seconds):
    try:
        import bm3d
    except ImportError:
        bm3d = None
        print("(bm3d is not installed: pip install bm3d to add CBM3D)")
    crops = {}
    for name in names:
        image = load(name, colour=True)
        if image.ndim == 3:
            crops[name] = centre_crop(image, size)
    columns = ["noisy", "RGB channels", "sksm", "CBM3D"]
    if bm3d is None:
        columns.pop()
    print(f"\n## Colour, {size}x{size} held-out crops ({len(crops)} colour "
          "photographs)")
    summary = []
    for level in (15, 25, 50):
        sigma = level / 255
        print(f"\n### sigma {level}/255\n")
        print("| image | " + " | ".join(columns) + " | sksm - RGB channels |")
        print("|---" * (len(columns) + 2) + "|")
        rows, seconds = [], dict.fromkeys(columns, 0.0)
        for i, (name, clean) in enumerate(crops.items()):
            noisy = clean + np.random.default_rng(i).normal(0, sigma,
                                                            clean.shape)
            ways = {
                "noisy": lambda: noisy,
                "RGB channels": lambda: np.stack(
                    [restoration.denoise(noisy[..., k], sigma)
                     for k in range(3)], axis=-1),
                "sksm": lambda: restoration.denoise(noisy, sigma,
                                                    channel_axis=-1),
                "CBM3D": lambda: bm3d.bm3d_rgb(noisy, sigma),
            }
            row = []
            for column in columns:
                start = time.perf_counter()
                out = ways[column]()
                seconds[column] += time.perf_counter() - start
                row.append(psnr(clean, np.clip(out, 0, 1)))
            rows.append(row)
            print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in row)
                  + f" | {row[2] - row[1]:+.2f} |", flush=True)
        rows = np.array(rows)
        gaps = rows[:, 2] - rows[:, 1]
        print("| **mean** | " + " | ".join(f"{v:.2f}" for v in
                                          rows.mean(axis=0))
              + f" | {gaps.mean():+.2f} |")
        pixels = size * size * len(crops)
        print("\nseconds per 256x256 colour image: " + ", ".join(
            f"{c} {seconds[c] / pixels * 256 ** 2:.2f}" for c in columns[1:])
            + f" (the grayscale denoiser: {denoise_seconds:.2f})")
        summary.append((level, *rows.mean(axis=0), gaps.mean(), gaps.min()))
    print("\n| sigma | " + " | ".join(columns)
          + " | sksm - RGB channels, mean | worst |")
    print("|---" * (len(columns) + 3) + "|")
    for level, *means, gap, worst in summary:
        print(f"| {level} | " + " | ".join(f"{v:.2f}" for v in means)
              + f" | {gap:+.2f} | {worst:+.2f} |")


def _crop(image, size):
    """The centre crop of at most ``size`` a side, its sides multiples of
    12 (so that factors 2, 3 and 4 divide them)."""
    height, width = image.shape
    rows, cols = (min(size, n) // 12 * 12 for n in (height, width))
    top, left = (height - rows) // 2, (width - cols) // 2
    return image[top:top + rows, left:left + cols]


def denoise_time(names, size):
    """Seconds per 256x256 pixels of the default denoiser at 25/255, on the
    centre crops."""
    total, pixels = 0.0, 0
    for i, name in enumerate(names):
        noisy = add_noise(_crop(load(name), size), 25 / 255, random_state=i)
        pixels += noisy.size
        start = time.perf_counter()
        restoration.denoise(noisy, 25 / 255)
        total += time.perf_counter() - start
    return total / pixels * 256 ** 2


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=["deblur", "super-resolve",
                                           "photons", "colour", "all"],
                        default="all")
    parser.add_argument("--quick", action="store_true",
                        help="four images, 128x128")
    args = parser.parse_args()
    names = split(SHIPPED_SPLIT)["held-out"]
    size = 256
    if args.quick:
        names, size = names[:4], 128
    restoration.denoise(add_noise(np.full((64, 64), 0.5), 0.1,
                                  random_state=0), 0.1)   # load the prior
    seconds = denoise_time(names, size)
    print(f"default denoiser: {seconds:.2f} s per 256x256 pixels\n")
    if args.task in ("deblur", "all"):
        deblur(names, size, seconds)
    if args.task in ("super-resolve", "all"):
        super_resolve(names, 240 if size == 256 else 120, seconds)
    if args.task in ("photons", "all"):
        photons(names, size, seconds)
    if args.task in ("colour", "all"):
        colour(names, size, seconds)


if __name__ == "__main__":
    main()
