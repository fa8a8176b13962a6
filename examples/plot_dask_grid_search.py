"""
Choosing lambda on a Dask cluster
=================================

``GridSearchCV`` over the curvature penalty ``reg_lambda`` of a Product of
Experts, its fits run by the workers of a ``distributed.LocalCluster``
through joblib's Dask backend, and the same search run in this process: the
scores are equal.  The warning filters set here reach the workers
(scikit-learn 1.7 and newer send them), so a fit that does not converge
would raise there as it does here.  Then one fit on a Dask array: the rows
stay on the workers, and the model is the one fitted in memory, to the last
bit.

Uses scikit-learn's 8x8 digits.  About 40 seconds on two cores; needs the
``dask`` extra (``pip install "sksm[dask]"``).
"""

# %%
import os
import warnings

import matplotlib

matplotlib.use("Agg")  # write a file; no screen needed
import dask.array as da
import joblib
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sksm import RegularizedScoreMatchingPoE
from sksm.datasets import load_digits_pixels

# The docs build sets SKSM_QUICK_EXAMPLES=1 (doc/conf.py): fewer digits and
# folds, workers in threads there, and no file written; run as a script, the
# example uses worker processes and all the digits.
QUICK = os.environ.get("SKSM_QUICK_EXAMPLES") == "1"

X, _ = load_digits_pixels()
if QUICK:
    X = X[:360]
grid = {"reg_lambda": [0.1, 0.3, 1.0]}
# the complete model, whose likelihood (the score) is exact and instant; the
# default twice-overcomplete one estimates it by AIS, seconds per fold
complete = {"n_experts": X.shape[1], "random_state": 0}
cv = 2 if QUICK else 3

if __name__ == "__main__":  # worker processes re-import this file
    warnings.simplefilter("error", ConvergenceWarning)
    cluster = (LocalCluster(n_workers=2, threads_per_worker=1,
                            processes=False, dashboard_address=None)
               if QUICK else
               LocalCluster(n_workers=2, threads_per_worker=1,
                            host="127.0.0.1", dashboard_address=None))
    with cluster, Client(cluster):
        search = GridSearchCV(RegularizedScoreMatchingPoE(**complete),
                              grid, cv=cv, n_jobs=-1)
        with joblib.parallel_backend("dask"):
            search.fit(X)
        on_cluster = search.cv_results_["mean_test_score"]

        # the same rows as a Dask array: the fit sums the blocks' losses
        model = RegularizedScoreMatchingPoE(
            reg_lambda=search.best_params_["reg_lambda"], **complete)
        model.fit(da.from_array(X, chunks=(180, -1)))

    here = GridSearchCV(RegularizedScoreMatchingPoE(**complete), grid,
                        cv=cv).fit(X)
    in_memory = model.__class__(**model.get_params()).fit(X)
    print("mean held-out log-likelihood per fold:")
    for lam, a, b in zip(grid["reg_lambda"], on_cluster,
                         here.cv_results_["mean_test_score"]):
        print(f"  lambda {lam:<5}  cluster {a:9.3f}  this process {b:9.3f}")
    print("best lambda:", search.best_params_["reg_lambda"])
    print("fit on the Dask array equals the fit in memory:",
          np.array_equal(model.filters_, in_memory.filters_)
          and model.n_iter_ == in_memory.n_iter_)

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.semilogx(grid["reg_lambda"], on_cluster, "o-", label="on the cluster")
    ax.semilogx(grid["reg_lambda"], here.cv_results_["mean_test_score"],
                "x--", label="in this process")
    ax.set_xlabel("reg_lambda")
    ax.set_ylabel("mean held-out log-likelihood")
    ax.set_title(f"{cv}-fold search over lambda, 8x8 digits")
    ax.legend()
    fig.tight_layout()
    if not QUICK:
        fig.savefig("plot_dask_grid_search.png", dpi=100)
