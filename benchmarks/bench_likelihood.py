"""Log-likelihoods by annealed importance sampling, against reg_lambda.

Data: the 14x14 MNIST subset (4,000 / 1,000 split of sksm.datasets), and 8x8
and 16x16 grayscale patches of the training photographs of the pretrained
prior (train) and of the denoising benchmark's crops (test), 3,000 / 1,000.
For every reg_lambda and model:

- complete PoE: the exact test log-likelihood and the AIS one (its error is
  AIS's error, since log Z is known), and the time AIS takes;
- overcomplete PoE (2x experts) and Field of Experts (24 5x5 filters on
  pixels): the AIS test log-likelihood and its standard error.

The PoEs are fitted twice: with the default lower bound 0.501 on the expert
weights and with min_expert_weight=1.5 ('a>=1.5'), whose experts have
marginals of finite variance.

Log-likelihoods are in nats per image and in bits per pixel (data in [0, 1]
units).  AIS: 100 chains, 1,000 temperatures, HMC with 10 leapfrog steps, the
estimators' defaults.  The paper's Fig. 2b and 2d are these curves.

Run:  python benchmarks/bench_likelihood.py [--quick] [--data mnist,8x8,16x16]
(the whole table took 15 minutes on a quiet 2-core machine, 6-90 s a row,
before the a>=1.5 rows were added; the 8x8 part with them takes 4 minutes)
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

LAMBDAS = (1e-3, 1e-2, 1e-1)


def patches(size, n_train=3000, n_test=1000):
    train = extract_patches(training_images(), size, max_patches=n_train,
                            random_state=0)
    test = extract_patches(list(test_crops().values()), size,
                           max_patches=n_test, random_state=0)
    return train.reshape(n_train, -1), test.reshape(n_test, -1)


def models(n_features, reg_lambda, max_iter):
    common = {"reg_lambda": reg_lambda, "max_iter": max_iter,
              "random_state": 0}
    return {
        "PoE complete": RegularizedScoreMatchingPoE(**common),
        "PoE complete a>=1.5": RegularizedScoreMatchingPoE(
            min_expert_weight=1.5, **common),
        "PoE 2x": RegularizedScoreMatchingPoE(n_experts=2 * n_features,
                                              **common),
        "PoE 2x a>=1.5": RegularizedScoreMatchingPoE(
            n_experts=2 * n_features, min_expert_weight=1.5, **common),
        "FoE 5x5x24": FieldsOfExperts(**common),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="one reg_lambda, 100 iterations")
    parser.add_argument("--data", default="mnist,8x8,16x16",
                        help="comma-separated subset of mnist, 8x8, 16x16")
    args = parser.parse_args(argv)
    lambdas = (1e-2,) if args.quick else LAMBDAS
    max_iter = 100 if args.quick else 200
    X_train, X_test = load_mnist_subset()[:2]
    chosen = args.data.split(",")
    datasets = {}
    if "mnist" in chosen:
        datasets["MNIST 14x14"] = (X_train, X_test)
    for size in (8, 16):
        if f"{size}x{size}" in chosen:
            datasets[f"patches {size}x{size}"] = patches(size)
    header = (f"{'data':14s} {'model':20s} {'lambda':>7s} {'min a':>6s} "
              f"{'exact':>9s} {'AIS':>9s} {'+-':>5s} {'bits/px':>8s} "
              f"{'fit s':>6s} {'AIS s':>6s}")
    print("Test log-likelihood, nats per image (AIS: 100 chains, 1,000 "
          "temperatures)")
    print(header)
    print("-" * len(header))
    for data_name, (train, test) in datasets.items():
        n_features = train.shape[1]
        for reg_lambda in lambdas:
            for name, est in models(n_features, reg_lambda, max_iter).items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    start = time.perf_counter()
                    est.fit(train)
                    fit_seconds = time.perf_counter() - start
                    start = time.perf_counter()
                    log_z, stderr = est.estimate_log_partition(random_state=0)
                    ais_seconds = time.perf_counter() - start
                # score() uses the exact log Z where there is one
                ais, exact = est.score(test), "-"
                if name.startswith("PoE complete"):
                    exact = f"{ais:9.2f}"
                    ais += est.log_partition() - log_z
                bits = -ais / (n_features * np.log(2))
                print(f"{data_name:14s} {name:20s} {reg_lambda:7.0e} "
                      f"{est.expert_weights_.min():6.3f} {exact:>9s} "
                      f"{ais:9.2f} {stderr:5.2f} {bits:8.3f} "
                      f"{fit_seconds:6.1f} {ais_seconds:6.1f}", flush=True)
    print("\nbits/px: minus the AIS log-likelihood per pixel in bits (lower "
          "is better).\nmin a: the smallest expert weight; near 0.5 an expert's "
          "marginal is so heavy-tailed\nthat AIS misses most of its mass "
          "and overestimates the log-likelihood.")


if __name__ == "__main__":
    main()
