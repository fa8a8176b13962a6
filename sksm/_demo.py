"""``sksm demo``: what the package does, in a minute, on data it ships."""

import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_sample_image
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split

from .datasets import few_labels, load_digits_pixels
from .image import add_noise, psnr, write_image
from .poe import RegularizedScoreMatchingPoE
from .pretrained import load_pretrained_ncfoe
from .restoration import denoise

__all__ = ["demo"]


def demo(args):
    """``sksm demo``: the paper's model on the digits, then denoising."""
    start = time.perf_counter()
    X, y = load_digits_pixels()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=args.seed)
    print("sksm demo: a Product of Student-t experts fitted by regularized "
          "score matching\non scikit-learn's 8x8 digits "
          f"({len(X_train)} train / {len(X_test)} test, pixels in [0, 1]).\n")

    lambdas = [0.0, 0.02, 0.2, 2.0]
    # the defaults: 128 experts of weight 1 (learned weights, and with them
    # the likelihood, run away as lambda -> 0 on the digits' blank border
    # pixels); the likelihood by annealed importance sampling
    search = GridSearchCV(
        RegularizedScoreMatchingPoE(random_state=args.seed),
        {"reg_lambda": lambdas}, cv=3, n_jobs=args.n_jobs)
    search.fit(X_train)
    print("reg_lambda chosen by GridSearchCV on held-out log-likelihood "
          "(3-fold, nats per digit):")
    print(f"  {'reg_lambda':>10}  {'log-likelihood':>14}")
    for lam, score in zip(lambdas, search.cv_results_["mean_test_score"]):
        mark = "  <- best" if lam == search.best_params_["reg_lambda"] else ""
        print(f"  {lam:>10g}  {score:>14.1f}{mark}")
    best = search.best_estimator_
    print(f"  test-set log-likelihood at the best lambda: "
          f"{best.score(X_test):.1f} nats per digit\n")

    labelled = few_labels(y_train, args.labels_per_class, args.seed)
    # no StandardScaler: it cost the activations 0.5 to 2 points of error
    # on MNIST digits (User Guide, "Features")
    classifier = LogisticRegression(max_iter=2000)
    raw = classifier.fit(X_train[labelled], y_train[labelled]).score(
        X_test, y_test)
    F_train, F_test = best.transform(X_train), best.transform(X_test)
    act = classifier.fit(F_train[labelled], y_train[labelled]).score(
        F_test, y_test)
    print(f"Logistic regression with {args.labels_per_class} labelled digits "
          "per class, test accuracy:")
    print(f"  raw pixels:          {raw:.3f}")
    print(f"  expert activations:  {act:.3f}  (the model's features, "
          f"reg_lambda={best.reg_lambda:g})")
    print("  The activations are learned without labels, for the likelihood "
          "that chose\n  reg_lambda, not for the classifier; on 64-pixel "
          "digits they are not better\n  than the pixels.  On 14x14 MNIST "
          "digits they are: benchmarks/bench_features.py.")
    _demo_denoising(args)
    print(f"\nDone in {time.perf_counter() - start:.1f} s.")
    return 0


def _demo_denoising(args):
    sigma = 15 / 255
    # flower.jpg is not among the pretrained prior's training images.
    rgb = load_sample_image("flower.jpg") / 255.0
    clean = rgb @ np.array([0.2125, 0.7154, 0.0721])  # luminance, ITU-R 709
    noisy = add_noise(clean, sigma, random_state=args.seed)
    model = load_pretrained_ncfoe()
    start = time.perf_counter()
    restored = denoise(noisy, sigma, model=model)
    seconds = time.perf_counter() - start
    print(f"\nDenoising with the pretrained noise-conditional Field of "
          f"Experts ({model.n_experts} experts, {model.filter_size}x"
          f"{model.filter_size} filters):")
    print(f"  scikit-learn's flower.jpg in grayscale, {clean.shape[1]}x"
          f"{clean.shape[0]}, Gaussian noise of sigma 15/255")
    print(f"  PSNR noisy:     {psnr(clean, noisy):6.2f} dB")
    print(f"  PSNR denoised:  {psnr(clean, restored):6.2f} dB  "
          f"({seconds:.1f} s)")
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, image in (("clean", clean), ("noisy", noisy),
                        ("denoised", restored)):
        path = out / f"flower_{name}.png"
        write_image(path, np.round(np.clip(image, 0, 1) * 255)
                    .astype(np.uint8))
        print(f"  wrote {path}")
