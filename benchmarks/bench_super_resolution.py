"""Super-resolution benchmark: 2x upscaling of block means, held-out images.

The 256x256 centre crops of the held-out images of bench_denoise.py (see
_images.py; the prior and every setting were chosen on other images), except
moon, are reduced to their 2x2 block means (128x128) and upscaled back.
scikit-image's moon is itself a nearest-neighbour 2x enlargement (every 2x2
block is constant), so nearest neighbour restores it exactly and it says
nothing about super-resolution.  PSNR (data range 1), per image and on
average, and seconds per image for: nearest neighbour; plain bicubic (corner-aligned,
``scipy.ndimage.zoom(order=3)``); the paper's low-pass start (linear upscaling
and a Gaussian low-pass); bicubic aligned with the block grid
(``grid_mode=True, mode="reflect"``) followed by back-projection onto the
block means, the strongest simple baseline; the paper's Field of Experts
(``FieldsOfExperts.super_resolve``, 200 prior steps alternating with the
block-mean projection) from the paper's start and from the aligned bicubic,
and with ``n_iter='auto'`` from the aligned bicubic: the number of steps
chosen for each image from the image itself (its own block means; the
fraction of those steps, ``sksm.posterior.AUTO_FRACTION``, was chosen on the
training and calibration images); and the default of
``sksm.restoration.super_resolve``: the noise-conditional prior's annealed
empirical-Bayes steps, each followed by the projection (its schedule,
``sksm.posterior.FILL_*``, was chosen on the calibration crops).

Run:  python benchmarks/bench_super_resolution.py [--model foe.npz] [--quick]
"""

import argparse
import time

import numpy as np
from _images import SHIPPED_SPLIT, kind_of, load_foe, test_crops
from scipy.ndimage import gaussian_filter, zoom

from sksm.image import psnr
from sksm.restoration import super_resolve

FACTOR = 2


def block_means(image, f=FACTOR):
    h, w = image.shape
    return image.reshape(h // f, f, w // f, f).mean(axis=(1, 3))


def back_project(x, low, f=FACTOR):
    """Add to every block the difference between its target and its mean."""
    return x + np.kron(low - block_means(x, f), np.ones((f, f)))


def methods(model):
    f = FACTOR
    return {
        "nearest": lambda low: np.kron(low, np.ones((f, f))),
        "bicubic": lambda low: zoom(low, f, order=3, mode="nearest"),
        "low-pass start (paper)": lambda low: gaussian_filter(
            zoom(low, f, order=1, mode="nearest", grid_mode=True), 0.5 * f),
        "aligned bicubic + BP": lambda low: back_project(
            zoom(low, f, order=3, mode="reflect", grid_mode=True), low),
        "FoE (paper start)": lambda low: model.super_resolve(
            low, f, n_iter=200, start="paper"),
        "FoE (aligned bicubic start)": lambda low: model.super_resolve(
            low, f, n_iter=200, start="bicubic"),
        "FoE (auto steps)": lambda low: model.super_resolve(low, f),
        "noise-conditional (default)": lambda low: super_resolve(low, f),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="FieldsOfExperts .npz (default: the "
                                        "pretrained prior)")
    parser.add_argument("--quick", action="store_true", help="3 crops")
    parser.add_argument("--split", type=int, default=SHIPPED_SPLIT,
                        help="whose held-out images (default: the "
                             "pretrained prior's split)")
    args = parser.parse_args(argv)
    model = load_foe(args.model)
    crops = {name: crop for name, crop in test_crops(seed=args.split).items()
             if not name.startswith("moon")}  # blocks constant: see above
    if args.quick:
        crops = dict(list(crops.items())[:3])
    table = methods(model)
    scores = {name: [] for name in table}
    seconds = {name: [] for name in table}
    for name, crop in crops.items():
        # whole blocks only (a crop of a small image may have an odd side)
        crop = crop[:crop.shape[0] // FACTOR * FACTOR,
                    :crop.shape[1] // FACTOR * FACTOR]
        crops[name] = crop
        low = block_means(crop)
        for name, fn in table.items():
            start = time.perf_counter()
            out = fn(low)
            seconds[name].append(time.perf_counter() - start)
            scores[name].append(psnr(crop, out))
    short = {"aligned bicubic + BP": "bicubic+BP",
             "FoE (paper start)": "FoE paper",
             "FoE (aligned bicubic start)": "FoE bicub.",
             "FoE (auto steps)": "FoE auto",
             "noise-conditional (default)": "NC",
             "low-pass start (paper)": "low-pass"}
    print("2x super-resolution, PSNR (dB) per held-out image")
    print(f"{'image':22}{'kind':12}" + "".join(
        f"{short.get(n, n):>11}" for n in table))
    for i, name in enumerate(crops):
        print(f"{name:22}{kind_of(name):12}" + "".join(
            f"{scores[n][i]:11.2f}" for n in table))
    print(f"\n2x super-resolution, PSNR (dB) on the {len(crops)} held-out "
          f"crops of split {args.split}")
    print(f"{'method':30}{'mean':>8}{'min':>8}{'max':>8}{'s/image':>10}")
    for name in table:
        s = np.array(scores[name])
        print(f"{name:30}{s.mean():8.2f}{s.min():8.2f}{s.max():8.2f}"
              f"{np.median(seconds[name]):10.2f}")
    base = np.array(scores["aligned bicubic + BP"])
    for name in ("FoE (paper start)", "FoE (aligned bicubic start)",
                 "FoE (auto steps)", "noise-conditional (default)"):
        gain = np.array(scores[name]) - base
        print(f"{name} over aligned bicubic + BP: {gain.mean():+.2f} dB "
              f"(min {gain.min():+.2f}, max {gain.max():+.2f}; "
              f"below on {np.sum(gain < 0)} of {gain.size})")


if __name__ == "__main__":
    main()
