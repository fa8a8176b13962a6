"""Do the FieldsOfExperts defaults learn a usable prior?  (issue 15, part 5)

Fits ``FieldsOfExperts(random_state=0, **settings)`` to 300 patches of 36x36
from the training images of the benchmarks' split (only those that ship
with scikit-image, scikit-learn and matplotlib: no download), then reports
for every setting: the fit (iterations, whether it converged, time), the
expert weights (how many sit at ``min_expert_weight``), and the denoising
PSNR (``denoise``, FISTA) at sigma 15 and 25 on 128x128 centre crops, the
prior weight and scale calibrated (``calibrate_denoising``) on the
calibration images; the held-out images, of other kinds than the training
ones where the split allows, are seen by nothing but this table.

Run:  python benchmarks/bench_foe_defaults.py [settings ...]
where a setting is a comma-separated list of parameters, e.g.
``"learn_weights=False"``; "default" is the estimator's defaults.
"""

import argparse
import time
import warnings

import numpy as np
from _images import CATALOGUE, centre_crop, load, split
from sklearn.exceptions import ConvergenceWarning

from sksm import FieldsOfExperts
from sksm.image import add_noise, extract_patches, psnr
from sksm.io import save_model

SIGMAS = (15 / 255, 25 / 255)
#: sources that ship with Python packages (the others need apt-get)
LOCAL = ("skimage", "sklearn", "matplotlib")


def local_split():
    return {key: [n for n in names if CATALOGUE[n][1] in LOCAL]
            for key, names in split().items()}


def parse(setting):
    if setting == "default":
        return {}
    return dict(eval(f"dict({setting})"))  # a benchmark's own arguments


def fit(X, params):
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = FieldsOfExperts(random_state=0, **params).fit(X)
    converged = not any(issubclass(w.category, ConvergenceWarning)
                        for w in caught)
    return model, converged, time.perf_counter() - start


def denoising_psnr(model, crops, sigma, seed=0):
    rng = np.random.RandomState(seed)
    out = {}
    for name, clean in crops.items():
        noisy = add_noise(clean, sigma, random_state=rng)
        out[name] = psnr(clean, model.denoise(noisy, sigma))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings", nargs="*", default=["default"])
    parser.add_argument("--n-patches", type=int, default=300)
    parser.add_argument("--save-dir", default=None)
    args = parser.parse_args(argv)
    sets = local_split()
    print("training:", ", ".join(sets["train"]))
    print("calibration:", ", ".join(sets["calibration"]))
    print("held-out:", ", ".join(sets["held-out"]))
    X = extract_patches([load(n) for n in sets["train"]], 36,
                        max_patches=args.n_patches, random_state=0)
    calibration = {n: centre_crop(load(n), 128) for n in sets["calibration"]}
    held_out = {n: centre_crop(load(n), 128) for n in sets["held-out"]}
    for setting in args.settings:
        model, converged, seconds = fit(X, parse(setting))
        weights = model.expert_weights_
        at_bound = int(np.sum(weights <= model.min_expert_weight * 1.001))
        model.calibrate_denoising(list(calibration.values()),
                                  sigmas=SIGMAS)
        if args.save_dir:
            save_model(model, f"{args.save_dir}/{setting or 'default'}.npz")
        # the choice: calibration crops, fresh noise; the check: held-out
        chosen = {s: denoising_psnr(model, calibration, s, seed=1)
                  for s in SIGMAS}
        scores = {s: denoising_psnr(model, held_out, s) for s in SIGMAS}
        print(f"\n{setting}: {model.n_iter_} iterations, "
              f"{'converged' if converged else 'NOT converged'}, "
              f"{seconds:.0f} s; weights {weights.min():.3g} to "
              f"{weights.max():.3g}, {at_bound} of {len(weights)} at the "
              f"lower bound")
        curve = np.asarray(model.loss_curve_)
        steps = -np.diff(curve) / np.maximum(np.abs(curve[1:]), 1)
        print("  relative loss decrease per iteration, median over 10 "
              "iterations ending at: " + ", ".join(
                  f"{i}: {np.median(steps[max(0, i - 10):i]):.1e}"
                  for i in (25, 50, 100, 150, 200, 250, 400, 600)
                  if i <= len(steps)))
        print_psnr("calibration image", calibration, chosen,
                   "mean (the choice)")
        print_psnr("held-out image", held_out, scores, "mean (the check)")


def print_psnr(title, names, psnr, mean_label):
    """PSNR (dB) per image and its mean, one column per noise level."""
    print(f"{title:>22}" + "".join(
        f"{f'sigma {255 * s:.0f}':>10}" for s in SIGMAS))
    for name in names:
        print(f"{name:>22}" + "".join(f"{psnr[s][name]:10.2f}"
                                      for s in SIGMAS))
    print(f"{mean_label:>22}" + "".join(
        f"{np.mean(list(psnr[s].values())):10.2f}" for s in SIGMAS))


if __name__ == "__main__":
    main()
