"""Issue 26 part 3: time of the classifier-feature PoE fit against BernoulliRBM.

Run with one thread: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python this.py NAME KEY=VAL ...
Prints one JSON line per configuration.
"""
import json
import sys
import time
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import BernoulliRBM

from sksm import RegularizedScoreMatchingPoE
from sksm.datasets import few_labels, load_mnist_subset
from sksm.objectives.rsm import regularized_score_matching

Xtr, Xte, ytr, yte = load_mnist_subset(random_state=0)


def heldout_sm(model, X):
    Xc = (X - model.mean_.astype(np.float64)) / model.scale_
    energy = model._fitted_energy(dtype=np.float64)
    loss, _ = regularized_score_matching(energy.network, Xc, model.reg_lambda,
                                         n_threads=1)
    return float(loss)


def test_error(model):
    lab = few_labels(ytr, 100, random_state=0)
    F = model.transform(Xtr[lab])
    clf = LogisticRegression(max_iter=2000).fit(F, ytr[lab])
    return float(1 - clf.score(model.transform(Xte), yte))


def rbm_time():
    t = time.perf_counter()
    BernoulliRBM(n_components=196, n_iter=30, learning_rate=0.05,
                 random_state=0).fit(Xtr)
    return time.perf_counter() - t


def run(name, dtype="float32", err=True, **params):
    base = dict(n_experts=2 * Xtr.shape[1], learn_weights=False,
                reg_lambda=0.2, random_state=0)
    base.update(params)
    X = Xtr.astype(dtype)
    model = RegularizedScoreMatchingPoE(**base)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = time.perf_counter()
        model.fit(X)
        fit_s = time.perf_counter() - t
    out = dict(name=name, dtype=dtype, **{k: v for k, v in params.items()},
               n_iter=model.n_iter_, fit_s=round(fit_s, 2),
               train_loss=model.loss_curve_[-1] if model.loss_curve_ else None,
               heldout_sm=round(heldout_sm(model, Xte), 4),
               warnings=[str(x.message)[:60] for x in w])
    if err:
        out["test_err"] = round(test_error(model), 4)
    return out


if __name__ == "__main__":
    name = sys.argv[1]
    kw = {}
    for a in sys.argv[2:]:
        k, v = a.split("=")
        try:
            v = json.loads(v)
        except ValueError:
            pass
        kw[k] = v
    if name == "rbm":
        print(json.dumps(dict(name="rbm", fit_s=round(rbm_time(), 2))), flush=True)
    else:
        print(json.dumps(run(name, **kw)), flush=True)
