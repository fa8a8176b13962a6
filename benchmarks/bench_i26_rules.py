"""Read stopping rules off a recorded trajectory (bench_i26_trajectory.py).

python bench_i26_rules.py TRAJ.npz DTYPE
"""
import json
import sys
import warnings

import numpy as np

from sksm import RegularizedScoreMatchingPoE
from bench_i26_speed import Xtr, Xte, heldout_sm, test_error

path, dtype = sys.argv[1], sys.argv[2]
d = np.load(path)
f, g, t, xs = d["f"], d["g"], d["t"], d["x"]
n = len(f)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    m = RegularizedScoreMatchingPoE(n_experts=392, learn_weights=False,
                                    reg_lambda=0.2, random_state=0,
                                    max_iter=1).fit(Xtr.astype(dtype))


def at(k):  # model at iterate k (1-based)
    V = xs[k - 1].astype(np.float64).reshape(392, -1)
    m.filters_ = (V / np.linalg.norm(V, axis=1, keepdims=True)).astype(dtype)
    return m


def stop_ftol(tol):
    for k in range(1, n):
        rel = (f[k - 1] - f[k]) / max(abs(f[k - 1]), abs(f[k]), 1)
        if rel <= tol or g[k] <= tol:
            return k + 1
    return n


rules = {f"tol={tol:g}": stop_ftol(tol)
         for tol in (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)}
rules.update({f"max_iter={k}": min(k, n) for k in (30, 50, 75, 100, 150, 200)})
done = {}
for name, k in rules.items():
    if k not in done:
        mk = at(k)
        done[k] = (heldout_sm(mk, Xte), test_error(mk))
    print(json.dumps(dict(path=path, rule=name, n_iter=k,
                          lbfgs_s=round(float(t[k - 1]), 2),
                          train_loss=round(float(f[k - 1]), 3),
                          heldout_sm=round(done[k][0], 3),
                          test_err=round(done[k][1], 4))), flush=True)
# the held-out SM loss along the path
curve = [(k, round(heldout_sm(at(k), Xte), 3))
         for k in list(range(10, n, 10)) + [n]]
print(json.dumps(dict(path=path, heldout_curve=curve)))
