"""Issue 26 part 3: one full fit, recording every L-BFGS iterate, so that the
stopping iteration, time, held-out SM loss and test error of other tol
rules can be read off the same path (the L-BFGS path does not depend on tol).

python bench_i26_trajectory.py DTYPE OUT.npz [KEY=VAL ...]
"""
import json
import sys
import time

import numpy as np
import scipy.optimize

import sksm.optim as optim
from sksm import RegularizedScoreMatchingPoE
from bench_i26_speed import Xtr, Xte, heldout_sm, rbm_time, test_error

dtype, out = sys.argv[1], sys.argv[2]
kw = {}
for a in sys.argv[3:]:
    k, v = a.split("=")
    kw[k] = json.loads(v)

rec = dict(t=[], f=[], g=[], x=[])
last = {}
t0 = [None]


def minimize(fun, x0, jac, callback, **kwargs):
    def f(x):
        v, g = fun(x)
        last["x"], last["g"] = x.copy(), np.abs(g).max()
        return v, g

    def cb(intermediate_result):
        r = intermediate_result
        rec["t"].append(time.perf_counter() - t0[0])
        rec["f"].append(float(r.fun))
        rec["g"].append(last["g"] if np.array_equal(last["x"], r.x) else np.nan)
        rec["x"].append(r.x.astype(np.float32))
        callback(r)
    t0[0] = time.perf_counter()
    return scipy.optimize.minimize(f, x0, jac=jac, callback=cb, **kwargs)


optim.minimize = minimize
params = dict(n_experts=392, learn_weights=False, reg_lambda=0.2,
              random_state=0)
params.update(kw)
m = RegularizedScoreMatchingPoE(**params)
t = time.perf_counter()
m.fit(Xtr.astype(dtype))
fit_s = time.perf_counter() - t
print(json.dumps(dict(dtype=dtype, n_iter=m.n_iter_, fit_s=round(fit_s, 2),
                      lbfgs_start=round(t0[0] - t, 2),
                      heldout=heldout_sm(m, Xte), err=test_error(m), **kw)),
      flush=True)
np.savez(out, t=rec["t"], f=rec["f"], g=rec["g"], x=np.array(rec["x"]),
         fit_s=fit_s, start=t0[0] - t, mean=m.mean_, scale=m.scale_)
