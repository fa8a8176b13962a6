"""Log-likelihoods by annealed importance sampling, against reg_lambda.

Data: the 14x14 MNIST subset (4,000 / 1,000 split of sksm.datasets), and 8x8
and 16x16 grayscale patches of the training photographs of the pretrained
prior (train) and of the denoising benchmark's crops (test), 3,000 / 1,000.
For every reg_lambda and model:

- complete PoE with learned weights (the defaults before 0.2): the exact
  test log-likelihood and the AIS one (its error is AIS's error, since log Z
  is known), and the time AIS takes; "gauss err" is the error of AIS from
  the Gaussian base alone (the widened Laplace approximation, the base
  before issue 26) at 1,000 temperatures;
- overcomplete PoEs (2x experts: with learned weights, and the estimator's
  defaults, unit weights) and Field of Experts (24 5x5 filters on pixels):
  the AIS test log-likelihood and its standard error.

The complete PoE is fitted twice: with the default lower bound 1.5 on the
expert weights (marginals of finite variance) and with the old default
0.501 ('a>=0.501'), where AIS may refuse (draws beyond the float range).

Log-likelihoods are in nats per image and in bits per pixel (data in [0, 1]
units).  AIS at the estimators' defaults: 100 chains, runs of 100, 200, ...
temperatures until two agree within 0.5 nats, HMC with 10 leapfrog steps.
The paper's Fig. 2b and 2d are these curves.

Run:  python benchmarks/bench_likelihood.py [--quick] [--data mnist,8x8,16x16]
          [--lambdas 0 0.01 0.2 0.6 2] [--models 'PoE complete' ...]
"""

import argparse
import time
import warnings

import numpy as np
from _images import test_crops, training_images
from sklearn.exceptions import ConvergenceWarning

from sksm import FieldsOfExperts, RegularizedScoreMatchingPoE
from sksm.datasets import load_mnist_subset
from sksm.image import extract_patches
from sksm.sampling import Gaussian, annealed_importance_sampling

LAMBDAS = (0.0, 0.01, 0.2, 0.6, 2.0)


def patches(size, n_train=3000, n_test=1000):
    train = extract_patches(training_images(), size, max_patches=n_train,
                            random_state=0)
    test = extract_patches(list(test_crops().values()), size,
                           max_patches=n_test, random_state=0)
    return train.reshape(n_train, -1), test.reshape(n_test, -1)


MODELS = ("PoE complete", "PoE complete a>=0.501", "PoE 2x learned a",
          "PoE defaults", "FoE 5x5x24")


def models(n_features, reg_lambda, max_iter, names=MODELS):
    common = {"reg_lambda": reg_lambda, "max_iter": max_iter,
              "random_state": 0}
    learned = {"learn_weights": True, **common}
    every = {
        "PoE complete": RegularizedScoreMatchingPoE(n_experts=n_features,
                                                    **learned),
        "PoE complete a>=0.501": RegularizedScoreMatchingPoE(
            n_experts=n_features, min_expert_weight=0.501, **learned),
        "PoE 2x learned a": RegularizedScoreMatchingPoE(
            n_experts=2 * n_features, **learned),
        "PoE defaults": RegularizedScoreMatchingPoE(**common),
        "FoE 5x5x24": FieldsOfExperts(**common),
    }
    return {name: every[name] for name in names}


def gaussian_base_error(est):
    """AIS error from the widened Laplace Gaussian alone, 1,000
    temperatures (a complete PoE, whose exact log Z is known)."""
    W = est.filters_ / est.scale_
    H = W.T @ ((est.expert_weights_ * est.c ** 2)[:, None] * W)
    ridge = 1e-8 * np.trace(H) / len(H)
    base = Gaussian(est.mean_, 0.3 * (H + ridge * np.eye(len(H))))

    def energy_grad(X):  # grad log p = -grad E
        return est.energy(X), -est.grad_log_density(X)

    result = annealed_importance_sampling(
        energy_grad, base, n_temperatures=1000, n_leapfrog=10,
        random_state=0)
    return result.log_partition - est.log_partition()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="one reg_lambda, 100 iterations")
    parser.add_argument("--data", default="mnist,8x8,16x16",
                        help="comma-separated subset of mnist, 8x8, 16x16")
    parser.add_argument("--lambdas", type=float, nargs="+", default=LAMBDAS)
    parser.add_argument("--models", nargs="+", default=MODELS,
                        choices=MODELS)
    args = parser.parse_args(argv)
    lambdas = (1e-2,) if args.quick else args.lambdas
    max_iter = 100 if args.quick else 200
    X_train, X_test = load_mnist_subset()[:2]
    chosen = args.data.split(",")
    datasets = {}
    if "mnist" in chosen:
        datasets["MNIST 14x14"] = (X_train, X_test)
    for size in (8, 16):
        if f"{size}x{size}" in chosen:
            datasets[f"patches {size}x{size}"] = patches(size)
    header = (f"{'data':14s} {'model':21s} {'lambda':>7s} {'min a':>6s} "
              f"{'exact':>9s} {'AIS':>9s} {'+-':>5s} "
              f"{'bits/px':>8s} {'fit s':>6s} {'AIS s':>6s} "
              f"{'gauss err':>9s}")
    print("Test log-likelihood, nats per image (AIS: 100 chains, "
          "n_temperatures='auto')")
    print(header)
    print("-" * len(header))
    for data_name, (train, test) in datasets.items():
        n_features = train.shape[1]
        for reg_lambda in lambdas:
            for name, est in models(n_features, reg_lambda, max_iter,
                                    args.models).items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    start = time.perf_counter()
                    est.fit(train)
                    fit_seconds = time.perf_counter() - start
                    start = time.perf_counter()
                    try:
                        log_z, stderr = est.estimate_log_partition(
                            random_state=0)
                    except ValueError as exc:
                        print(f"{data_name:14s} {name:21s} {reg_lambda:7.0e} "
                              f"{est.expert_weights_.min():6.3f} AIS "
                              f"refused: {str(exc)[:60]}...", flush=True)
                        continue
                    ais_seconds = time.perf_counter() - start
                    complete = name.startswith("PoE complete")
                    gauss = (f"{gaussian_base_error(est):9.2f}" if complete
                             else "-")
                # score() uses the exact log Z where there is one
                ais, exact = est.score_samples(test).mean(), "-"
                if complete:
                    exact = f"{ais:9.2f}"
                    ais += est.log_partition() - log_z
                bits = -ais / (n_features * np.log(2))
                print(f"{data_name:14s} {name:21s} {reg_lambda:7.0e} "
                      f"{est.expert_weights_.min():6.3f} {exact:>9s} "
                      f"{ais:9.2f} {stderr:5.2f} "
                      f"{bits:8.3f} {fit_seconds:6.1f} {ais_seconds:6.1f} "
                      f"{gauss:>9s}", flush=True)
    print("\nbits/px: minus the AIS log-likelihood per pixel in bits (lower "
          "is better).\nmin a: the smallest expert weight; near 0.5 an expert's "
          "marginal is so heavy-tailed\nthat its mass lies beyond the float "
          "range.\ngauss err: AIS from the Gaussian base alone minus the "
          "exact log Z.")


if __name__ == "__main__":
    main()
