"""Sample continuation: a fit on a subsample, then warm_start on all rows.
python bench_i26_subsample.py N TOL1 TOL2"""
import json, sys, time, warnings
import numpy as np
from sksm import RegularizedScoreMatchingPoE
from bench_i26_speed import Xtr, Xte, heldout_sm, test_error

n, tol1, tol2 = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
X = Xtr.astype(np.float32)
m = RegularizedScoreMatchingPoE(n_experts=392, learn_weights=False,
                                reg_lambda=0.2, random_state=0, tol=tol1,
                                warm_start=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t = time.perf_counter()
    m.fit(X[:n])
    t1, it1 = time.perf_counter() - t, m.n_iter_
    m.set_params(tol=tol2).fit(X)
    t2 = time.perf_counter() - t
print(json.dumps(dict(n=n, tol1=tol1, tol2=tol2, it1=it1, s1=round(t1, 2),
                      it2=m.n_iter_, fit_s=round(t2, 2),
                      heldout_sm=round(heldout_sm(m, Xte), 3),
                      test_err=round(test_error(m), 4))), flush=True)
