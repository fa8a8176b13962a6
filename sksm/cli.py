"""The ``sksm`` command."""

import argparse
import sys
import time

__all__ = ["main"]


def _demo(args):
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from . import RegularizedScoreMatchingPoE
    from .datasets import few_labels, load_digits_pixels

    start = time.perf_counter()
    X, y = load_digits_pixels()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=args.seed)
    print("sksm demo: a Product of Student-t experts fitted by regularized "
          "score matching\non scikit-learn's 8x8 digits "
          f"({len(X_train)} train / {len(X_test)} test, pixels in [0, 1]).\n")

    lambdas = [0.0, 1e-3, 1e-2, 3e-2, 1e-1]
    # alpha = 1 (learn_weights=False): the digits' blank border pixels make
    # learned weights, and with them the likelihood, run away as lambda -> 0.
    search = GridSearchCV(
        RegularizedScoreMatchingPoE(learn_weights=False, max_iter=1000,
                                    tol=1e-5, random_state=args.seed),
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
    classifier = make_pipeline(StandardScaler(),
                               LogisticRegression(max_iter=2000))
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
    print(f"\nDone in {time.perf_counter() - start:.1f} s.")
    return 0


def main(argv=None):
    """Run the ``sksm`` command; return its exit code."""
    parser = argparse.ArgumentParser(
        prog="sksm",
        description="Energy-based models of images learned by score matching.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="fit a PoE on the bundled digits, choose lambda by "
                     "cross-validated likelihood, compare features")
    demo.add_argument("--labels-per-class", type=int, default=20,
                      help="labelled digits per class for the classifier "
                           "(default: 20)")
    demo.add_argument("--n-jobs", type=int, default=2,
                      help="parallel jobs for GridSearchCV (default: 2)")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    demo.set_defaults(func=_demo)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
