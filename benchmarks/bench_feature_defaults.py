"""Which default settings of RegularizedScoreMatchingPoE make the best features.

Issue 26, parts 2 and 3.  The two protocols of ``bench_features.py`` (read
its docstring), for several candidate configurations of the PoE (the
estimator's keyword arguments, and optionally float32 input), each evaluated
with several feature maps on the same fits:

``sa``, ``aar``
    ``features='signed_activation'`` or ``'activation_and_response'``;
``+sc``
    a StandardScaler between the PoE and the logistic regression (fitted
    inside every cross-validation fold).

Only ``reg_lambda`` is searched (the classifier at its default ``C``).  The
lambda of every (configuration, feature map) is chosen by CV error on the
labelled training digits only:

paper
    5-fold CV error (StratifiedKFold, shuffled, seed 0) of the classifier on
    the features of the 1,000 labelled digits, the PoE fitted on all 4,000
    training digits once per lambda.
card
    exactly what ``GridSearchCV(Pipeline([poe, (scaler,) clf]),
    {"poe__reg_lambda": LAMBDAS}, cv=3)`` does on the 1,000 labelled digits
    (its folds: StratifiedKFold(3) without shuffling; ties to the first
    lambda), written out so that one PoE fit per (lambda, fold) serves all
    feature maps; ``--check-card`` runs the real GridSearchCV of one
    (configuration, feature map) to check the result and time it.

Test errors (every lambda's, for the record; the chosen one in the table) and
fit times are written to ``--out`` as JSON.

Run:  python benchmarks/bench_feature_defaults.py --protocol paper \
          --splits 0 --configs default lwF lwF32 ... --out screen.json
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_features import C_GRID, paper_fixed_features  # noqa: E402

from sksm import RegularizedScoreMatchingPoE  # noqa: E402
from sksm.datasets import few_labels, load_mnist_subset  # noqa: E402

LAMBDAS = [0.02, 0.2, 0.6, 2.0]

#: name -> (PoE keyword arguments, fit and transform in float32).  'default'
#: is the estimator's defaults at the time of the run: min_expert_weight was
#: 0.501 when issue 26 measured them ('min0.501' now), 1.5 since.
CONFIGS = {
    "default": ({}, False),
    "default32": ({}, True),
    "min0.501": ({"min_expert_weight": 0.501}, False),
    "lwF": ({"learn_weights": False}, False),
    "lwF32": ({"learn_weights": False}, True),
    "min1.5": ({"min_expert_weight": 1.5}, False),
    "min1.5_32": ({"min_expert_weight": 1.5}, True),
    "lwF_392": ({"learn_weights": False, "n_experts": 392}, False),
    "lwF_392_32": ({"learn_weights": False, "n_experts": 392}, True),
    "min1.5_392_32": ({"min_expert_weight": 1.5, "n_experts": 392}, True),
    "lwF32_it100": ({"learn_weights": False, "max_iter": 100}, True),
    "lwF32_it50": ({"learn_weights": False, "max_iter": 50}, True),
    "lwF32_tol1e-4": ({"learn_weights": False, "tol": 1e-4}, True),
    "min1.5_32_it100": ({"min_expert_weight": 1.5, "max_iter": 100}, True),
    "lwF_392_32_it50": ({"learn_weights": False, "n_experts": 392,
                         "max_iter": 50}, True),
    "lwF_392_32_it100": ({"learn_weights": False, "n_experts": 392,
                          "max_iter": 100}, True),
}

#: feature-map name -> (features, StandardScaler between PoE and classifier)
FEATURE_MAPS = {
    "sa": ("signed_activation", False),
    "sa+sc": ("signed_activation", True),
    "aar": ("activation_and_response", False),
    "aar+sc": ("activation_and_response", True),
}


def classifier(scaled):
    clf = LogisticRegression(max_iter=2000)
    return make_pipeline(StandardScaler(), clf) if scaled else clf


def rbm():
    return BernoulliRBM(n_components=196, n_iter=30, learning_rate=0.05,
                        random_state=0)


def new_poe(config, lam):
    params, _ = CONFIGS[config]
    return RegularizedScoreMatchingPoE(reg_lambda=lam, random_state=0,
                                       **params)


def as_dtype(config, X):
    return X.astype(np.float32) if CONFIGS[config][1] else X


def timed_fit(model, X):
    start = time.perf_counter()
    model.fit(X)
    return model, time.perf_counter() - start


def features_of(model, fmap, X):
    model.set_params(features=FEATURE_MAPS[fmap][0])
    return model.transform(X)


def fold_error(F_train, y_train, F_test, y_test, scaled):
    clf = classifier(scaled).fit(F_train, y_train)
    return 1.0 - clf.score(F_test, y_test)


def split_data(split):
    X_train, X_test, y_train, y_test = load_mnist_subset(random_state=split)
    lab = few_labels(y_train, 100, random_state=split)
    return X_train, X_test, y_train, y_test, X_train[lab], y_train[lab]


def paper_baselines(split):
    X_train, X_test, _, y_test, X_lab, y_lab = split_data(split)
    out = {}
    err, note = paper_fixed_features(X_lab, y_lab, X_test, y_test,
                                     X_lab, X_test)
    out["raw pixels"] = {"test": err, "chosen": note, "fit_s": 0.0}
    model, seconds = timed_fit(rbm(), X_train)
    err, note = paper_fixed_features(X_lab, y_lab, X_test, y_test,
                                     model.transform(X_lab),
                                     model.transform(X_test))
    out["BernoulliRBM"] = {"test": err, "chosen": note, "fit_s": seconds}
    return out


def paper_config(split, config, fmaps, lambdas):
    X_train, X_test, _, y_test, X_lab, y_lab = split_data(split)
    X_train, X_test, X_lab = (as_dtype(config, X)
                              for X in (X_train, X_test, X_lab))
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0)
                 .split(X_lab, y_lab))
    per = {f: {"cv": [], "test": []} for f in fmaps}
    fits = []
    for lam in lambdas:
        model, seconds = timed_fit(new_poe(config, lam), X_train)
        fits.append({"lambda": lam, "fit_s": seconds,
                     "n_iter": int(model.n_iter_)})
        print(f"  split {split} {config} lambda={lam:g}: fit {seconds:.1f} s,"
              f" n_iter_ {model.n_iter_}", flush=True)
        for fmap in fmaps:
            scaled = FEATURE_MAPS[fmap][1]
            F_lab = features_of(model, fmap, X_lab)
            cv = np.mean([fold_error(F_lab[tr], y_lab[tr], F_lab[te],
                                     y_lab[te], scaled) for tr, te in folds])
            test = fold_error(F_lab, y_lab, features_of(model, fmap, X_test),
                              y_test, scaled)
            per[fmap]["cv"].append(cv)
            per[fmap]["test"].append(test)
            print(f"    {fmap:7} cv {100 * cv:5.1f}  test {100 * test:5.1f}",
                  flush=True)
    out = {}
    for fmap in fmaps:
        best = int(np.argmin(per[fmap]["cv"]))
        out[f"{config} {fmap}"] = {
            "test": per[fmap]["test"][best], "chosen": lambdas[best],
            "fit_s": fits[best]["fit_s"], "n_iter": fits[best]["n_iter"],
            "cv": per[fmap]["cv"], "test_all": per[fmap]["test"],
            "fits": fits}
    return out


def card_baselines(split):
    _, X_test, _, y_test, X_lab, y_lab = split_data(split)
    searches = {
        "raw pixels": (LogisticRegression(max_iter=2000), {"C": C_GRID}),
        "BernoulliRBM": (Pipeline([("rbm", rbm()), ("clf", LogisticRegression(
            max_iter=2000))]), {"clf__C": C_GRID}),
    }
    out = {}
    for label, (estimator, grid) in searches.items():
        start = time.perf_counter()
        search = GridSearchCV(estimator, grid, cv=3).fit(X_lab, y_lab)
        seconds = time.perf_counter() - start
        out[label] = {"test": 1.0 - search.score(X_test, y_test),
                      "chosen": str(search.best_params_), "fit_s": seconds}
        print(f"  split {split} {label}: {100 * out[label]['test']:.1f} "
              f"({seconds:.1f} s)", flush=True)
    return out


def card_config(split, config, fmaps, lambdas):
    """GridSearchCV(Pipeline([poe, (scaler,) clf]), cv=3), written out."""
    _, X_test, _, y_test, X_lab, y_lab = split_data(split)
    X_test, X_lab = as_dtype(config, X_test), as_dtype(config, X_lab)
    folds = list(StratifiedKFold(3).split(X_lab, y_lab))
    start = time.perf_counter()
    scores = {f: np.zeros((len(lambdas), len(folds))) for f in fmaps}
    fits = []
    for i, lam in enumerate(lambdas):
        for j, (tr, te) in enumerate(folds):
            model, seconds = timed_fit(new_poe(config, lam), X_lab[tr])
            fits.append({"lambda": lam, "fold": j, "fit_s": seconds,
                         "n_iter": int(model.n_iter_)})
            for fmap in fmaps:
                scaled = FEATURE_MAPS[fmap][1]
                clf = classifier(scaled).fit(features_of(model, fmap, X_lab[tr]),
                                             y_lab[tr])
                scores[fmap][i, j] = clf.score(
                    features_of(model, fmap, X_lab[te]), y_lab[te])
    refits = {}
    out = {}
    for fmap in fmaps:
        best = int(np.argmax(scores[fmap].mean(axis=1)))
        lam = lambdas[best]
        if lam not in refits:
            refits[lam] = timed_fit(new_poe(config, lam), X_lab)
        model, seconds = refits[lam]
        scaled = FEATURE_MAPS[fmap][1]
        test = fold_error(features_of(model, fmap, X_lab), y_lab,
                          features_of(model, fmap, X_test), y_test, scaled)
        out[f"{config} {fmap}"] = {
            "test": test, "chosen": lam, "n_iter": int(model.n_iter_),
            "cv": list(1.0 - scores[fmap].mean(axis=1)), "fits": fits,
            "refit_s": seconds}
        print(f"  split {split} {config} {fmap}: lambda {lam:g}, cv "
              + " ".join(f"{100 * e:.1f}" for e in out[f'{config} {fmap}']['cv'])
              + f", test {100 * test:.1f}", flush=True)
    total = time.perf_counter() - start
    for key in out:
        out[key]["fit_s"] = total  # all feature maps: one set of fits
    return out


def check_card(split, config, fmap, lambdas):
    """The real GridSearchCV of one configuration, timed."""
    _, X_test, _, y_test, X_lab, y_lab = split_data(split)
    steps = []
    if CONFIGS[config][1]:
        steps.append(("f32", FunctionTransformer(
            lambda X: np.asarray(X, dtype=np.float32))))
    features, scaled = FEATURE_MAPS[fmap]
    poe = new_poe(config, 0.2).set_params(features=features)
    steps.append(("poe", poe))
    if scaled:
        steps.append(("scaler", StandardScaler()))
    steps.append(("clf", LogisticRegression(max_iter=2000)))
    start = time.perf_counter()
    search = GridSearchCV(Pipeline(steps), {"poe__reg_lambda": lambdas},
                          cv=3).fit(X_lab, y_lab)
    seconds = time.perf_counter() - start
    return {"test": 1.0 - search.score(X_test, y_test),
            "chosen": search.best_params_["poe__reg_lambda"],
            "cv": list(1.0 - search.cv_results_["mean_test_score"]),
            "fit_s": seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", choices=["paper", "card"],
                        required=True)
    parser.add_argument("--splits", type=int, nargs="+", default=[0])
    parser.add_argument("--configs", nargs="+", default=["default"],
                        choices=list(CONFIGS))
    parser.add_argument("--fmaps", nargs="+", default=list(FEATURE_MAPS),
                        choices=list(FEATURE_MAPS))
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--check-card", nargs=2, metavar=("CONFIG", "FMAP"),
                        help="time the real GridSearchCV of one "
                             "configuration (card protocol)")
    parser.add_argument("--out", required=True, help="JSON file (appended "
                        "to: results of earlier runs are kept)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    results = {}
    if os.path.exists(args.out):
        with open(args.out) as f:
            results = json.load(f)
    for split in args.splits:
        key = f"{args.protocol} {split}"
        rows = results.setdefault(key, {})
        if args.check_card:
            config, fmap = args.check_card
            rows[f"GridSearchCV {config} {fmap}"] = check_card(
                split, config, fmap, LAMBDAS)
            print(f"  split {split} GridSearchCV {config} {fmap}:",
                  rows[f"GridSearchCV {config} {fmap}"], flush=True)
        else:
            if not args.no_baselines:
                rows.update((paper_baselines if args.protocol == "paper"
                             else card_baselines)(split))
            for config in args.configs:
                run = paper_config if args.protocol == "paper" else card_config
                rows.update(run(split, config, args.fmaps, LAMBDAS))
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
