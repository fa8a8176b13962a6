"""Denoising benchmark: the Fields of Experts prior against classical denoisers.

Eleven 256x256 grayscale crops of photographs that ship with scikit-image
(the centre crops of camera, astronaut, coffee, chelsea, rocket, moon, coins,
and the top-left crops of camera, astronaut, moon, coffee), additive Gaussian
noise of sigma 5, 15 and 25 (/255) with 3 fixed seeds, PSNR with data range 1
(mean over crops and seeds) and median seconds per image, for:

- the FoE (the pretrained prior, or --model), with its fast default (L-BFGS)
  and, with --paper, the paper's 300-step schedule, with --mmse the
  posterior mean (200 MALA steps from the L-BFGS estimate);
- skimage.restoration.denoise_tv_chambolle (weight tuned per sigma on the
  training images of the pretrained prior), denoise_wavelet and
  denoise_nl_means;
- bm3d (PyPI package 'bm3d') when installed.

--colour compares, on the colour crops, restoring the RGB channels separately
with restoring opponent-colour channels (sksm.restoration's choice).
--lambda-curve trains shorter RSM models for several reg_lambda and reports
their PSNR (the paper's Fig. 2e-g); --variants does the same for whitening
and filter norms.

Run:  python benchmarks/bench_denoise.py [--model foe.npz] [--paper] [--mmse]
                                         [--quick]
      python benchmarks/bench_denoise.py --colour | --lambda-curve | --variants
"""

import argparse
import time
import warnings

import numpy as np
from _images import load_foe, test_crops, training_images

from sksm.image import psnr

SIGMAS = (5, 15, 25)
SEEDS = (0, 1, 2)


def noisy_version(crop, sigma, seed):
    return crop + sigma * np.random.default_rng(seed).standard_normal(
        crop.shape)


def tune_tv(images, sigma, rng):
    """TV weight maximising mean PSNR on noisy training crops."""
    from skimage.restoration import denoise_tv_chambolle

    crops = [im[:128, :128] for im in images]
    noisy = [c + sigma * rng.standard_normal(c.shape) for c in crops]
    weights = np.geomspace(0.005, 0.5, 25)
    scores = [np.mean([psnr(c, denoise_tv_chambolle(n, weight=w))
                       for c, n in zip(crops, noisy)]) for w in weights]
    return float(weights[int(np.argmax(scores))])


def methods(model, tv_weights, paper, mmse=False):
    from skimage.restoration import (
        denoise_nl_means,
        denoise_tv_chambolle,
        denoise_wavelet,
    )

    out = {"FoE (L-BFGS)": lambda y, s: model.denoise(y, s)}
    if paper:
        out["FoE (paper, 300 steps)"] = lambda y, s: model.denoise(
            y, s, method="paper")
    if mmse:
        out["FoE (MMSE, 200 MALA)"] = lambda y, s: model.denoise(
            y, s, method="mmse", random_state=0)
    out.update({
        "TV (tuned)": lambda y, s: denoise_tv_chambolle(
            y, weight=tv_weights[s]),
        "wavelet": lambda y, s: denoise_wavelet(y, sigma=s, rescale_sigma=True),
        "non-local means": lambda y, s: denoise_nl_means(
            y, h=0.8 * s, sigma=s, patch_size=5, patch_distance=6,
            fast_mode=True),
    })
    try:
        import bm3d

        out["BM3D"] = lambda y, s: bm3d.bm3d(y, sigma_psd=s)
    except ImportError:
        print("(bm3d is not installed: pip install bm3d to add it)")
    return out


def print_table(title, results, seconds):
    print(title)
    print(f"{'method':26}" + "".join(f"{'sigma ' + str(s):>10}"
                                     for s in SIGMAS)
          + f"{'mean':>8}{'s/image':>10}")
    for name in results:
        means = [np.mean(results[name][s]) for s in SIGMAS]
        print(f"{name:26}" + "".join(f"{m:10.2f}" for m in means)
              + f"{np.mean(means):8.2f}{np.median(seconds[name]):10.2f}")


def measure(fns, crops, seeds):
    """PSNR per method and sigma, and seconds per call, on noisy crops."""
    results = {name: {s: [] for s in SIGMAS} for name in fns}
    seconds = {name: [] for name in fns}
    for crop in crops.values():
        for s in SIGMAS:
            for seed in seeds:
                noisy = noisy_version(crop, s / 255, seed)
                for name, fn in fns.items():
                    start = time.perf_counter()
                    restored = fn(noisy, s / 255)
                    seconds[name].append(time.perf_counter() - start)
                    results[name][s].append(psnr(crop, restored))
    return results, seconds


def table(model, crops, seeds, paper, mmse=False):
    rng = np.random.default_rng(0)
    images = training_images()
    tv_weights = {s / 255: tune_tv(images, s / 255, rng) for s in SIGMAS}
    results, seconds = measure(methods(model, tv_weights, paper, mmse),
                               crops, seeds)
    print_table(f"\nPSNR (dB), mean over {len(crops)} crops x {len(seeds)} "
                "seeds", results, seconds)
    if "BM3D" in results:
        gap = np.mean([np.mean(results["BM3D"][s])
                       - np.mean(results["FoE (L-BFGS)"][s]) for s in SIGMAS])
        speed = np.median(seconds["BM3D"]) / np.median(
            seconds["FoE (L-BFGS)"])
        print(f"FoE (L-BFGS) vs BM3D: {gap:.2f} dB behind on average, "
              f"{speed:.1f}x the speed")


def colour(model, seeds):
    """Per-channel RGB against opponent-colour restoration."""
    from sksm import restoration

    crops = {k: v for k, v in test_crops(colour=True).items() if v.ndim == 3}
    ways = {
        "RGB channels": lambda y, s: np.stack(
            [model.denoise(y[..., k], s) for k in range(3)], axis=-1),
        "opponent channels": lambda y, s: restoration.denoise(
            y, s, model=model, channel_axis=-1),
    }
    results, seconds = measure(ways, crops, seeds)
    print_table(f"\nColour PSNR (dB), mean over {len(crops)} colour crops "
                f"({', '.join(crops)}) x {len(seeds)} seeds", results,
                seconds)


def compare_settings(crops, seeds, settings, sigmas=(5, 25)):
    """PSNR of shorter models (300 patches, 500 L-BFGS iterations unless a
    setting gives its own max_iter), one per setting, each with its prior
    weight and scale calibrated as the pretrained model's are (on the
    calibration crops, sigma 5 and 25)."""
    from _images import calibration_crops
    from sklearn.exceptions import ConvergenceWarning
    from train_pretrained_foe import train

    calib = calibration_crops()
    print(f"\nPSNR (dB), mean over {len(crops)} crops x {len(seeds)} seeds; "
          "models of 300 patches")
    print(f"{'setting':36}{'fit s':>7}{'iter':>6}"
          + "".join(f"{'sigma ' + str(s):>10}" for s in sigmas) + "  warning")
    for label, params in settings:
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            params = dict(params)
            model = train(300, params.pop("max_iter", 500), **params)
        fit_s = time.perf_counter() - start
        model.calibrate_denoising(calib, [s / 255 for s in sigmas])
        scores = [np.mean([psnr(c, model.denoise(
            noisy_version(c, s / 255, seed), s / 255))
            for c in crops.values() for seed in seeds]) for s in sigmas]
        warned = [str(w.message).split(";")[0] for w in caught
                  if issubclass(w.category, ConvergenceWarning)]
        print(f"{label:36}{fit_s:7.0f}{model.n_iter_:6d}"
              + "".join(f"{v:10.2f}" for v in scores)
              + f"  {warned[0][:50] if warned else '-'}", flush=True)


LAMBDAS = (0, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
VARIANTS = (
    ("pixels, learned norms (default)", {}),
    ("pixels, unit norms", {"normalize_filters": True}),
    ("Laplacian-whitened, learned norms", {"whiten": "laplacian"}),
    ("Laplacian-whitened, unit norms (paper)",
     {"whiten": "laplacian", "normalize_filters": True}),
)  # with the pretrained prior's objective, DSM


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="FieldsOfExperts .npz (default: the "
                                        "pretrained prior)")
    parser.add_argument("--paper", action="store_true",
                        help="also the paper's 300-step schedule")
    parser.add_argument("--mmse", action="store_true",
                        help="also the posterior mean (method='mmse')")
    parser.add_argument("--quick", action="store_true",
                        help="3 crops and 1 seed, for a first look")
    parser.add_argument("--colour", action="store_true",
                        help="colour crops: RGB against opponent channels")
    parser.add_argument("--lambda-curve", action="store_true",
                        help="PSNR against reg_lambda (trains 8 models)")
    parser.add_argument("--variants", action="store_true",
                        help="whitening and filter norms (trains 4 models)")
    args = parser.parse_args(argv)
    model = load_foe(args.model)
    crops = test_crops()
    seeds = SEEDS
    if args.quick:
        crops = dict(list(crops.items())[:3])
        seeds = SEEDS[:1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if args.colour:
            colour(model, seeds)
        elif args.lambda_curve:
            compare_settings(crops, seeds, [(f"reg_lambda={lam:g}",
                                             {"objective": "rsm",
                                              "reg_lambda": lam})
                                            for lam in LAMBDAS])
        elif args.variants:
            compare_settings(crops, seeds, VARIANTS)
        else:
            table(model, crops, seeds, args.paper, args.mmse)


if __name__ == "__main__":
    main()
