"""Denoising benchmark: a Fields of Experts prior against classical denoisers.

Eleven 256x256 grayscale crops of photographs that ship with scikit-image
(the centre crops of camera, astronaut, coffee, chelsea, rocket, moon, coins,
and the top-left crops of camera, astronaut, moon, coffee), additive Gaussian
noise of sigma 5, 15 and 25 (/255) with 3 fixed seeds, PSNR with data range 1
and seconds per image, for:

- the FoE given by --model (a FieldsOfExperts .npz; by default one is trained
  here on images that are not in the table: scikit-learn's china and flower,
  scikit-image's stereo_motorcycle, brick, grass and gravel), with its fast
  default (L-BFGS) and, with --paper, the paper's 300-step schedule;
- skimage.restoration.denoise_tv_chambolle (weight tuned per sigma on the
  training images), denoise_wavelet and denoise_nl_means;
- bm3d (PyPI package 'bm3d') when installed.

Run:  python benchmarks/bench_denoise.py [--model foe.npz] [--paper] [--quick]
"""

import argparse
import time
import warnings

import numpy as np

from sksm import FieldsOfExperts
from sksm.image import extract_patches, psnr

SIGMAS = (5, 15, 25)
SEEDS = (0, 1, 2)


def _gray(image):
    from skimage.color import rgb2gray

    image = np.asarray(image)
    return rgb2gray(image) if image.ndim == 3 else image / 255.0


def training_images():
    """Photographs kept out of the table."""
    import skimage.data as data
    from sklearn.datasets import load_sample_image

    images = [_gray(load_sample_image(n)) for n in ("china.jpg", "flower.jpg")]
    images.append(_gray(data.stereo_motorcycle()[0]))
    images += [_gray(getattr(data, n)()) for n in ("brick", "grass", "gravel")]
    return images


def test_crops(size=256):
    import skimage.data as data

    crops = {}
    for name in ("camera", "astronaut", "coffee", "chelsea", "rocket", "moon",
                 "coins"):
        im = _gray(getattr(data, name)())
        top, left = (im.shape[0] - size) // 2, (im.shape[1] - size) // 2
        crops[name] = im[top:top + size, left:left + size]
    for name in ("camera", "astronaut", "moon", "coffee"):
        crops[name + "-tl"] = _gray(getattr(data, name)())[:size, :size]
    return crops


def train_model(images, n_patches=2000, max_iter=250, seed=0):
    X = extract_patches(images, 36, max_patches=n_patches, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FieldsOfExperts(max_iter=max_iter, random_state=seed).fit(
            X.astype(np.float32))


def tune_tv(images, sigma, rng):
    """TV weight maximising mean PSNR on noisy training crops."""
    from skimage.restoration import denoise_tv_chambolle

    crops = [im[:128, :128] for im in images]
    noisy = [c + sigma * rng.standard_normal(c.shape) for c in crops]
    weights = np.geomspace(0.005, 0.5, 25)
    scores = [np.mean([psnr(c, denoise_tv_chambolle(n, weight=w))
                       for c, n in zip(crops, noisy)]) for w in weights]
    return float(weights[int(np.argmax(scores))])


def methods(model, tv_weights, paper):
    from skimage.restoration import (denoise_nl_means, denoise_tv_chambolle,
                                     denoise_wavelet)

    out = {
        "FoE (L-BFGS)": lambda y, s: model.denoise(y, s),
        "TV (tuned)": lambda y, s: denoise_tv_chambolle(
            y, weight=tv_weights[s]),
        "wavelet": lambda y, s: denoise_wavelet(y, sigma=s, rescale_sigma=True),
        "non-local means": lambda y, s: denoise_nl_means(
            y, h=0.8 * s, sigma=s, patch_size=5, patch_distance=6,
            fast_mode=True),
    }
    if paper:
        out["FoE (paper, 300 steps)"] = lambda y, s: model.denoise(
            y, s, method="paper")
    try:
        import bm3d

        out["BM3D"] = lambda y, s: bm3d.bm3d(y, sigma_psd=s)
    except ImportError:
        print("(bm3d is not installed: pip install bm3d to add it)")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="FieldsOfExperts .npz (sksm.io)")
    parser.add_argument("--paper", action="store_true",
                        help="also the paper's 300-step schedule")
    parser.add_argument("--quick", action="store_true",
                        help="3 crops and 1 seed, for a first look")
    args = parser.parse_args(argv)

    images = training_images()
    if args.model:
        from sksm.io import load_model

        model = load_model(args.model)
    else:
        start = time.perf_counter()
        model = train_model(images)
        print(f"trained a 5x5x24 FoE in {time.perf_counter() - start:.0f} s")
    rng = np.random.default_rng(0)
    tv_weights = {s / 255: tune_tv(images, s / 255, rng) for s in SIGMAS}
    crops = test_crops()
    seeds = SEEDS
    if args.quick:
        crops = dict(list(crops.items())[:3])
        seeds = SEEDS[:1]
    table = methods(model, tv_weights, args.paper)
    results = {name: {s: [] for s in SIGMAS} for name in table}
    seconds = {name: [] for name in table}
    for crop in crops.values():
        for s in SIGMAS:
            for seed in seeds:
                noisy = crop + s / 255 * np.random.default_rng(seed) \
                    .standard_normal(crop.shape)
                for name, fn in table.items():
                    start = time.perf_counter()
                    restored = fn(noisy, s / 255)
                    seconds[name].append(time.perf_counter() - start)
                    results[name][s].append(psnr(crop, restored))
    print(f"\nPSNR (dB), mean over {len(crops)} crops x {len(seeds)} seeds")
    print(f"{'method':24}" + "".join(f"{'sigma ' + str(s):>10}"
                                     for s in SIGMAS) + f"{'s/image':>10}")
    for name in table:
        print(f"{name:24}" + "".join(f"{np.mean(results[name][s]):10.2f}"
                                     for s in SIGMAS)
              + f"{np.median(seconds[name]):10.2f}")


if __name__ == "__main__":
    main()
