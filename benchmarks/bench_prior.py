"""The image priors against BM3D and non-local means, on held-out photographs.

Per model (the paper's 5x5x24 Student-t Field of Experts as
``sksm.restoration`` uses it, and the noise-conditional 7x7x48 Field of
Gaussian scale mixture experts with its one-step and annealed empirical-Bayes
denoisers) and per noise level (5, 15, 25, 50 / 255): the mean PSNR over the
256x256 centre crops of the held-out images of ``_images.py`` and the worst
image, the mean gap to BM3D (per image, then averaged), the share of images
above non-local means, and the median seconds per 256x256 image on one core.
Every method sees the same noisy images (one fixed seed per image and
level); BM3D and non-local means are given the true sigma, as the priors are.

The blind rows: the relative error of the prior's noise estimate (sigma=None)
beside scikit-image's and sksm.image.estimate_sigma's, and the PSNR of
denoising with it minus that with the true level.

--schedules searches the annealed schedule (steps and decay of the levels)
on the calibration crops of the split (never the held-out ones) and prints
the grid; the defaults of ``NoiseConditionalFieldsOfExperts.denoise`` were
chosen from it.  --split N trains the noise-conditional prior on split N's
training images first (``train_pretrained_ncfoe.py``; about 45 minutes on
one core) and reports on split N's held-out images.

Run:  OMP_NUM_THREADS=1 python benchmarks/bench_prior.py [--model PATH]
          [--split N] [--sigmas 5 15 25 50] [--quick] [--schedules]
"""

import argparse
import time
from pathlib import Path

import numpy as np
from _images import SHIPPED_SPLIT, calibration_crops, load_foe, test_crops
from bench_denoise import noisy_version
from train_pretrained_ncfoe import DEFAULT_OUTPUT, train

from sksm.image import psnr
from sksm.io import load_model

SIGMAS = (5, 15, 25, 50)


def methods(ncfoe, student_t=None):
    from skimage.restoration import denoise_nl_means

    out = {}
    if student_t is not None:
        out["Student-t 5x5x24 (FISTA)"] = lambda y, s: student_t.denoise(
            y[None], s)[0]
    out["GSM 7x7x48, one step"] = lambda y, s: ncfoe.denoise(
        [y], s, n_steps=1)[0]
    out["GSM 7x7x48 (default)"] = lambda y, s: ncfoe.denoise([y], s)[0]
    out["non-local means"] = lambda y, s: denoise_nl_means(
        y, h=0.8 * s, sigma=s, patch_size=5, patch_distance=6,
        fast_mode=True)
    try:
        import bm3d

        out["BM3D"] = lambda y, s: bm3d.bm3d(y, sigma_psd=s)
    except ImportError:
        print("(bm3d is not installed: pip install bm3d to add it)")
    return out


def measure(fns, crops, sigmas):
    """PSNR per method, sigma and crop, and seconds per call."""
    results = {name: {s: {} for s in sigmas} for name in fns}
    seconds = {name: [] for name in fns}
    for i, (crop_name, crop) in enumerate(sorted(crops.items())):
        for s in sigmas:
            noisy = noisy_version(crop, s / 255, 1000 * s + i)
            for name, fn in fns.items():
                start = time.perf_counter()
                restored = fn(noisy, s / 255)
                seconds[name].append(time.perf_counter() - start)
                results[name][s][crop_name] = psnr(crop, restored)
    return results, seconds


def print_table(results, seconds, sigmas):
    ref = results.get("BM3D")
    nlm = results["non-local means"]
    print(f"{'method':28}{'sigma':>6}{'mean':>8}{'worst':>8}{'-BM3D':>8}"
          f"{'>NLM':>7}{'s/256^2':>9}")
    for name, per_sigma in results.items():
        for s in sigmas:
            v = per_sigma[s]
            names = sorted(v)
            vals = np.array([v[n] for n in names])
            gap = (np.mean(vals - [ref[s][n] for n in names])
                   if ref is not None else float("nan"))
            above = np.mean(vals > [nlm[s][n] for n in names])
            print(f"{name:28}{s:6d}{vals.mean():8.2f}{vals.min():8.2f}"
                  f"{gap:+8.2f}{above:7.0%}{np.median(seconds[name]):9.2f}")
        print()


def print_per_image(results, sigmas):
    names = list(results)
    for s in sigmas:
        print(f"sigma {s}: PSNR (dB) per held-out image")
        print(f"{'image':22}" + "".join(f"{n[:12]:>13}" for n in names))
        for crop in sorted(results[names[0]][s]):
            print(f"{crop:22}" + "".join(f"{results[n][s][crop]:13.2f}"
                                         for n in names))
        print()


def blind(model, crops, sigmas):
    """The noise estimates (the prior's, scikit-image's wavelet one and
    sksm.image.estimate_sigma's) and what denoising with the prior's
    estimate costs against the true level."""
    from skimage.restoration import estimate_sigma as skimage_sigma

    from sksm.image import estimate_sigma as mad_sigma

    print("blind: relative error of the noise estimate (mean |error|, worst)"
          " and PSNR with sigma=None minus PSNR with the true sigma")
    print(f"{'sigma':>6}{'prior':>16}{'skimage':>16}{'sksm.image':>16}"
          f"{'dB, mean':>10}{'dB, worst':>11}{'s/est':>7}")
    for s in sigmas:
        errors = {"prior": [], "skimage": [], "mad": []}
        loss, seconds = [], []
        for i, (_, crop) in enumerate(sorted(crops.items())):
            noisy = noisy_version(crop, s / 255, 1000 * s + i)
            start = time.perf_counter()
            estimate = model.estimate_sigma(noisy)
            seconds.append(time.perf_counter() - start)
            for key, value in (("prior", estimate),
                               ("skimage", skimage_sigma(noisy)),
                               ("mad", mad_sigma(noisy))):
                errors[key].append(value * 255 / s - 1)
            loss.append(psnr(crop, model.denoise([noisy])[0])
                        - psnr(crop, model.denoise([noisy], s / 255)[0]))
        cells = "".join(f"{np.mean(np.abs(e)):8.1%}{max(e, key=abs):+8.1%}"
                        for e in errors.values())
        print(f"{s:6d}{cells}{np.mean(loss):+10.3f}{min(loss):+11.3f}"
              f"{np.median(seconds):7.2f}")
    print()


def map_estimate(model, y, sigma, c, n_iter=30):
    """MAP under p_{c sigma}: gradient descent on E(x; c sigma) + |x - y|^2
    / (2 sigma^2) from the one-step estimate (on the reflected image)."""
    field, pad = model.field_, model.reach_
    level = c * sigma
    table = field.score_table(level)
    x = model.denoise([y], sigma, n_steps=1)[0]
    step = 0.5 * level ** 2 * sigma ** 2 / (sigma ** 2 + level ** 2)
    for _ in range(n_iter):
        xp = np.pad(x, pad, mode="reflect").astype(np.float32)
        grad = field.grad_tabulated(xp, level, table)[pad:-pad, pad:-pad]
        x = x - step * (grad + (x - y) / sigma ** 2)
    return x


def schedules(model, split, sigmas):
    """Mean PSNR on the calibration crops for a grid of schedules, and for
    MAP estimates under the prior at the noise level and half of it."""
    crops = calibration_crops(split)
    grid = [(1, 1.0)] + [(n, d) for n in (2, 3, 4, 5)
                         for d in (0.2, 0.3, 0.4, 0.5, 0.6)]
    print(f"calibration crops of split {split}: {len(crops)} of 128x128")
    print(f"{'steps':>6}{'decay':>7}" + "".join(f"{'sigma ' + str(s):>10}"
                                               for s in sigmas) + f"{'mean':>8}")
    best = None
    for n_steps, decay in grid:
        means = []
        for s in sigmas:
            vals = [psnr(c, model.denoise([noisy_version(c, s / 255, 7 + i)],
                                          s / 255, n_steps=n_steps,
                                          decay=decay)[0])
                    for i, c in enumerate(crops)]
            means.append(np.mean(vals))
        print(f"{n_steps:6d}{decay:7.1f}" + "".join(f"{m:10.2f}" for m in means)
              + f"{np.mean(means):8.2f}")
        if best is None or np.mean(means) > best[0]:
            best = (np.mean(means), n_steps, decay)
    print(f"best on calibration: n_steps={best[1]}, decay={best[2]}")
    for c in (0.5, 1.0):
        means = [np.mean([psnr(c_, map_estimate(
            model, noisy_version(c_, s / 255, 7 + i), s / 255, c))
            for i, c_ in enumerate(crops)]) for s in sigmas]
        print(f"MAP under p at {c:g} sigma (30 steps):" + "".join(
            f"{m:10.2f}" for m in means) + f"{np.mean(means):8.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--split", type=int, default=SHIPPED_SPLIT)
    parser.add_argument("--sigmas", type=int, nargs="+", default=SIGMAS)
    parser.add_argument("--quick", action="store_true",
                        help="four held-out images, no Student-t prior")
    parser.add_argument("--schedules", action="store_true")
    parser.add_argument("--no-blind", action="store_true",
                        help="leave out the noise estimates")
    args = parser.parse_args(argv)
    sigmas = tuple(args.sigmas)
    if args.split != SHIPPED_SPLIT and args.model is None:
        model, n_images = train(split=args.split)
        print(f"trained on split {args.split} ({n_images} images with "
              f"reductions): {model.n_iter_} steps in "
              f"{model.train_seconds:.0f} s")
    else:
        model = load_model(args.model or DEFAULT_OUTPUT)
    if args.schedules:
        schedules(model, args.split, sigmas)
        return
    crops = test_crops(seed=args.split)
    if args.quick:
        crops = dict(sorted(crops.items())[:4])
    student_t = None if (args.quick or args.split != SHIPPED_SPLIT) \
        else load_foe()
    print(f"held-out crops of split {args.split}: {len(crops)} of 256x256")
    results, seconds = measure(methods(model, student_t), crops, sigmas)
    print_table(results, seconds, sigmas)
    if not args.no_blind:
        blind(model, crops, sigmas)
    print_per_image(results, sigmas)


if __name__ == "__main__":
    main()
