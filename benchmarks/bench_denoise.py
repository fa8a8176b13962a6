"""Denoising benchmark: the Fields of Experts prior against classical denoisers,
on held-out photographs.

The images are those of ``_images.py``: photographs of eight kinds split at
random into training, calibration and held-out sets.  The prior (the
pretrained one, or --model) was trained and calibrated on the training and
calibration images of its split; the baselines' parameters are tuned on
training images; this benchmark reports on the 256x256 centre crops of the
held-out images only, per image and on average, with additive Gaussian noise
of sigma 5, 15 and 25 (/255) and 3 fixed seeds, PSNR with data range 1 and
median seconds per image, for:

- the FoE with its default (FISTA), and with --lbfgs, --paper, --mmse its
  other methods;
- skimage.restoration.denoise_tv_chambolle (weight tuned per sigma on the
  training images), denoise_wavelet and denoise_nl_means;
- bm3d (PyPI package 'bm3d') when installed.

--split N evaluates on the held-out images of another random split, with a
prior trained and calibrated on that split's own training and calibration
images (as benchmarks/train_pretrained_foe.py does; a few minutes).
--estimate-sigma reports the error of sksm.image.estimate_sigma on the
held-out crops and what denoising with the estimate costs.  --colour
compares, on the colour crops, restoring the RGB channels
separately with restoring opponent-colour channels (sksm.restoration's
choice).  --lambda-curve trains shorter RSM models for several reg_lambda
and reports their PSNR (the paper's Fig. 2e-g); --variants does the same
for whitening and filter norms.

Run:  python benchmarks/bench_denoise.py [--model foe.npz] [--split N]
                                         [--lbfgs] [--paper] [--mmse]
                                         [--quick]
      python benchmarks/bench_denoise.py --estimate-sigma | --colour
                                         | --lambda-curve | --variants
"""

import argparse
import time
import warnings

import numpy as np
from _images import (
    SHIPPED_SPLIT,
    calibration_crops,
    kind_of,
    load_foe,
    test_crops,
    training_images,
)

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


FOE = "FoE (FISTA)"


def methods(model, tv_weights, paper, mmse=False, lbfgs=False, ensemble=1):
    from skimage.restoration import (
        denoise_nl_means,
        denoise_tv_chambolle,
        denoise_wavelet,
    )

    out = {FOE: lambda y, s: model.denoise(y, s)}
    if ensemble > 1:
        out[f"FoE (FISTA, x{ensemble})"] = lambda y, s: model.denoise(
            y, s, self_ensemble=ensemble)
    if lbfgs:
        out["FoE (L-BFGS)"] = lambda y, s: model.denoise(y, s,
                                                         method="lbfgs")
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
    """Mean PSNR per method and sigma (over images and seeds)."""
    print(title)
    print(f"{'method':26}" + "".join(f"{'sigma ' + str(s):>10}"
                                     for s in SIGMAS)
          + f"{'mean':>8}{'s/image':>10}")
    for name in results:
        means = [np.mean(list(results[name][s].values())) for s in SIGMAS]
        print(f"{name:26}" + "".join(f"{m:10.2f}" for m in means)
              + f"{np.mean(means):8.2f}{np.median(seconds[name]):10.2f}")


def print_per_image(results):
    """One table per sigma: a row per image, a column per method."""
    names = list(results)
    for s in SIGMAS:
        print(f"\nsigma {s}: PSNR (dB) per held-out image, mean over seeds")
        print(f"{'image':22}{'kind':12}" + "".join(
            f"{_short(n):>10}" for n in names))
        for crop in results[names[0]][s]:
            print(f"{crop:22}{kind_of(crop):12}" + "".join(
                f"{results[n][s][crop]:10.2f}" for n in names))


def _short(name):
    return {"non-local means": "NL-means", "TV (tuned)": "TV"}.get(
        name, name.replace("FoE (", "").replace(")", "")[:9])


def measure(fns, crops, seeds):
    """PSNR per method, sigma and crop (mean over seeds), and seconds per
    call, on noisy crops."""
    results = {name: {s: {} for s in SIGMAS} for name in fns}
    seconds = {name: [] for name in fns}
    for crop_name, crop in crops.items():
        for s in SIGMAS:
            scores = {name: [] for name in fns}
            for seed in seeds:
                noisy = noisy_version(crop, s / 255, seed)
                for name, fn in fns.items():
                    start = time.perf_counter()
                    restored = fn(noisy, s / 255)
                    seconds[name].append(time.perf_counter() - start)
                    scores[name].append(psnr(crop, restored))
            for name in fns:
                results[name][s][crop_name] = float(np.mean(scores[name]))
    return results, seconds


def table(model, crops, seeds, paper, mmse=False, lbfgs=False,
          split=SHIPPED_SPLIT, ensemble=1):
    rng = np.random.default_rng(0)
    images = training_images(split)
    tv_weights = {s / 255: tune_tv(images, s / 255, rng) for s in SIGMAS}
    results, seconds = measure(methods(model, tv_weights, paper, mmse,
                                       lbfgs, ensemble), crops, seeds)
    print_per_image(results)
    print_table(f"\nPSNR (dB) on the {len(crops)} held-out images of split "
                f"{split}, mean over images and {len(seeds)} seeds", results,
                seconds)
    for foe in [name for name in results if name.startswith("FoE (FISTA")]:
        for other in ("BM3D", "non-local means"):
            if other not in results:
                continue
            gaps = [np.mean(list(results[foe][s].values()))
                    - np.mean(list(results[other][s].values()))
                    for s in SIGMAS]
            speed = np.median(seconds[other]) / np.median(seconds[foe])
            print(f"{foe} vs {other}: "
                  + " / ".join(f"{g:+.2f}" for g in gaps)
                  + f" dB at sigma {' / '.join(map(str, SIGMAS))}, "
                  f"{np.mean(gaps):+.2f} on average; {speed:.1f}x its speed")


def sigma_estimates(crops, seeds):
    """The noise estimate of sksm.image.estimate_sigma against the truth,
    and what denoising with it instead of the true sigma costs."""
    from sksm import load_pretrained_foe
    from sksm.image import estimate_sigma

    model = load_pretrained_foe()
    print("\nestimate_sigma on the held-out crops (x255; mean over seeds), "
          "and the PSNR of denoising with the estimate minus with the truth")
    print(f"{'image':22}" + "".join(f"{'sigma ' + str(s):>16}"
                                    for s in SIGMAS))
    errors = {s: [] for s in SIGMAS}
    for name, crop in crops.items():
        cells = []
        for s in SIGMAS:
            est, loss = [], []
            for seed in seeds:
                noisy = noisy_version(crop, s / 255, seed)
                e = estimate_sigma(noisy)
                est.append(255 * e)
                loss.append(psnr(crop, model.denoise(noisy, e))
                            - psnr(crop, model.denoise(noisy, s / 255)))
            errors[s].append(np.mean(est) - s)
            cells.append(f"{np.mean(est):8.1f}{np.mean(loss):+8.2f}")
        print(f"{name:22}" + "".join(cells))
    print(f"{'mean error (x255)':22}" + "".join(
        f"{np.mean(errors[s]):+8.2f}{'':8}" for s in SIGMAS))


def split_model(split):
    """A prior trained and calibrated on ``split`` as the shipped one is."""
    from sklearn.exceptions import ConvergenceWarning
    from train_pretrained_foe import train

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = train(300, 500, split=split)
    model.calibrate_denoising(calibration_crops(split))
    print(f"prior trained and calibrated on split {split} in "
          f"{time.perf_counter() - start:.0f} s")
    return model


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
    ("pixels, learned norms", {"normalize_filters": False}),
    ("pixels, unit norms (default)", {"normalize_filters": True}),
    ("Laplacian-whitened, learned norms",
     {"whiten": "laplacian", "normalize_filters": False}),
    ("Laplacian-whitened, unit norms (paper)",
     {"whiten": "laplacian", "normalize_filters": True}),
)  # with the pretrained prior's objective, DSM


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="FieldsOfExperts .npz (default: the "
                                        "pretrained prior)")
    parser.add_argument("--split", type=int, default=SHIPPED_SPLIT,
                        help="the random split of the images (default: the "
                             "pretrained prior's); another one trains and "
                             "calibrates a prior on it")
    parser.add_argument("--lbfgs", action="store_true",
                        help="also method='lbfgs'")
    parser.add_argument("--self-ensemble", type=int, default=8,
                        choices=[1, 2, 4, 8],
                        help="also FISTA with this self-ensemble (1: not)")
    parser.add_argument("--paper", action="store_true",
                        help="also the paper's 300-step schedule")
    parser.add_argument("--mmse", action="store_true",
                        help="also the posterior mean (method='mmse')")
    parser.add_argument("--quick", action="store_true",
                        help="3 crops and 1 seed, for a first look")
    parser.add_argument("--seeds", type=int, default=len(SEEDS),
                        help="noise seeds per image and sigma")
    parser.add_argument("--estimate-sigma", action="store_true",
                        help="the noise estimate's error instead")
    parser.add_argument("--colour", action="store_true",
                        help="colour crops: RGB against opponent channels")
    parser.add_argument("--lambda-curve", action="store_true",
                        help="PSNR against reg_lambda (trains 8 models)")
    parser.add_argument("--variants", action="store_true",
                        help="whitening and filter norms (trains 4 models)")
    args = parser.parse_args(argv)
    if args.split != SHIPPED_SPLIT and args.model is None:
        model = split_model(args.split)
    else:
        model = load_foe(args.model)
    crops = test_crops(seed=args.split)
    seeds = tuple(range(args.seeds))
    if args.quick:
        crops = dict(list(crops.items())[:3])
        seeds = SEEDS[:1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if args.estimate_sigma:
            sigma_estimates(crops, seeds)
        elif args.colour:
            colour(model, seeds)
        elif args.lambda_curve:
            compare_settings(crops, seeds, [(f"reg_lambda={lam:g}",
                                             {"objective": "rsm",
                                              "reg_lambda": lam})
                                            for lam in LAMBDAS])
        elif args.variants:
            compare_settings(crops, seeds, VARIANTS)
        else:
            table(model, crops, seeds, args.paper, args.mmse, args.lbfgs,
                  args.split, args.self_ensemble)


if __name__ == "__main__":
    main()
