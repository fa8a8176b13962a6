"""The PoE fit against BernoulliRBM's on the user's clock, and what it buys.

Issue 26, part 3.  On ``load_mnist_subset(random_state=SPLIT)`` (4,000
training digits of 14x14, 1,000 held-out test digits), in one process:

- ``BernoulliRBM(n_components=196, n_iter=30)``, the baseline;
- ``RegularizedScoreMatchingPoE(reg_lambda=0.2)`` at its defaults (twice
  overcomplete, unit weights, float32, ``tol=1e-4``), and stopped after 10,
  20 and 40 iterations: the time to reach a held-out log-likelihood;
- the complete model (``n_experts=196``) at the other defaults, and as it
  was fitted before 0.2 (float64, ``tol=1e-5``).

For each: fit time (s), L-BFGS iterations, the mean held-out log-likelihood
of the test digits (nats; exact for the complete model, AIS for the others,
with its standard error and time) and, with ``--error``, the test error of
a logistic regression on the features of 100 labelled digits per class.

Run:  OMP_NUM_THREADS=1 python benchmarks/bench_fit_time.py [--split 0]
      (about 2 minutes; set OMP_NUM_THREADS=2 to time two threads)
"""

import argparse
import json
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import BernoulliRBM

from sksm import RegularizedScoreMatchingPoE
from sksm.datasets import few_labels, load_mnist_subset


def test_error(model, data, split):
    X_train, X_test, y_train, y_test = data
    lab = few_labels(y_train, 100, random_state=split)
    clf = LogisticRegression(max_iter=2000).fit(model.transform(X_train[lab]),
                                                y_train[lab])
    return float(1 - clf.score(model.transform(X_test), y_test))


def run(name, model, data, split, error, float64=False):
    X_train, X_test = data[:2]
    if float64:  # the fit before 0.2 (a private switch, for this record)
        model._fit_dtype = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X_train)
        row = dict(name=name, fit_s=round(time.perf_counter() - start, 2))
    if isinstance(model, RegularizedScoreMatchingPoE):
        start = time.perf_counter()
        row.update(n_iter=model.n_iter_,
                   test_ll=round(float(model.score(X_test)), 2),
                   ll_stderr=round(float(getattr(model, "log_partition_std_",
                                                 0.0)), 3),
                   score_s=round(time.perf_counter() - start, 1))
    if error:
        row["test_error"] = round(test_error(model, data, split), 4)
    print(json.dumps(row), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=int, default=0)
    parser.add_argument("--error", action="store_true",
                        help="also the test error of the features")
    args = parser.parse_args()
    data = load_mnist_subset(random_state=args.split)
    n = data[0].shape[1]

    def poe(**params):
        return RegularizedScoreMatchingPoE(reg_lambda=0.2, random_state=0,
                                           **params)

    rbm = BernoulliRBM(n_components=n, n_iter=30, learning_rate=0.05,
                       random_state=0)
    common = dict(data=data, split=args.split, error=args.error)
    run("BernoulliRBM", rbm, **common)
    run("PoE defaults", poe(), **common)
    for max_iter in (10, 20, 40):
        run(f"PoE defaults, max_iter={max_iter}", poe(max_iter=max_iter),
            **common)
    run("PoE complete", poe(n_experts=n), **common)
    run("PoE complete, float64, tol=1e-5 (before 0.2)",
        poe(n_experts=n, tol=1e-5), float64=True, **common)
    run("BernoulliRBM", clone(rbm), **common)  # again: the clock drifts


if __name__ == "__main__":
    main()
