"""Field of Experts activations pooled over regions as classifier features.

Issue 26, part 2: convolutional features in the manner of Coates, Lee & Ng
(2011).  The paper protocol of ``bench_features.py`` (read its docstring):
on ``load_mnist_subset(random_state=s)`` a ``FieldsOfExperts`` at its
defaults (24 experts of 5x5) is fitted on all 4,000 training digits of
14x14, unlabelled; a logistic regression (default ``C``) on the pooled
activations of 100 labelled training digits per class; the test error (%)
on the 1,000 held-out test digits.  Nothing is chosen: every pooling is
reported, ``pooling='sum'`` and ``pooling='quadrants'``, beside raw pixels
and ``BernoulliRBM`` (``C`` chosen by cross-validation on the labelled
digits for these two) in the same run.

Run:  OMP_NUM_THREADS=1 python benchmarks/bench_foe_features.py \
          [--splits 0 1 2] [--max-iter 250]
      (about 3 minutes per split on one thread)
"""

import argparse
import os
import sys
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_features import paper_fixed_features, rbm  # noqa: E402

from sksm import FieldsOfExperts  # noqa: E402
from sksm.datasets import few_labels, load_mnist_subset  # noqa: E402


def error(F_lab, y_lab, F_test, y_test):
    clf = LogisticRegression(max_iter=3000).fit(F_lab, y_lab)
    return 100 * (1 - clf.score(F_test, y_test))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-iter", type=int, default=250)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"{'split':>5} {'raw':>6} {'RBM':>6} {'FoE sum':>8} "
          f"{'quadrants':>9} {'FoE fit s':>9} {'RBM fit s':>9}", flush=True)
    for split in args.splits:
        X_train, X_test, y_train, y_test = load_mnist_subset(
            random_state=split)
        lab = few_labels(y_train, 100, random_state=split)
        X_lab, y_lab = X_train[lab], y_train[lab]
        raw = 100 * paper_fixed_features(X_lab, y_lab, X_test, y_test,
                                         X_lab, X_test)[0]
        start = time.perf_counter()
        model = rbm().fit(X_train)
        rbm_s = time.perf_counter() - start
        rbm_err = 100 * paper_fixed_features(
            X_lab, y_lab, X_test, y_test, model.transform(X_lab),
            model.transform(X_test))[0]
        foe = FieldsOfExperts(image_shape=(14, 14), max_iter=args.max_iter,
                              random_state=0)
        start = time.perf_counter()
        foe.fit(X_train)
        foe_s = time.perf_counter() - start
        errors = []
        for pooling in ("sum", "quadrants"):
            foe.set_params(pooling=pooling)
            errors.append(error(foe.transform(X_lab), y_lab,
                                foe.transform(X_test), y_test))
        print(f"{split:>5} {raw:6.1f} {rbm_err:6.1f} {errors[0]:8.1f} "
              f"{errors[1]:9.1f} {foe_s:9.1f} {rbm_s:9.1f}", flush=True)


if __name__ == "__main__":
    main()
