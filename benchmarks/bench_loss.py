"""Cost of one regularized score-matching loss + gradient evaluation.

For a complete PoE on 10,000 x 196 data (196 experts), float64 and float32,
against the eight plain matrix products of the same sizes that Algorithm 1
needs (forward x W^T; backward d W and d' W^2; SM-forward a W^T and b W^2T;
weight gradient d^T a, d'^T b and c^T x), timed in the same run.

Also the peak memory (resident set size) of a process that fits a complete
PoE to 60,000 x 196 float64 data (a few L-BFGS iterations: memory does not
grow with iterations), measured in a fresh subprocess.

Run:  python benchmarks/bench_loss.py [--repeats 15]
"""

import argparse
import subprocess
import sys
import time

import numpy as np

from sksm.energies import ProductOfExperts
from sksm.objectives import regularized_score_matching


def _median_time(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _matmuls(X, W):
    n, d = X.shape
    m = W.shape[0]
    H = np.ones((n, m), dtype=X.dtype)

    def run():
        X @ W.T
        H @ W
        H @ W
        X @ W.T
        X @ W.T
        H.T @ X
        H.T @ X
        H.T @ X

    return run


_MEMORY_CHILD = """
import resource, sys
import numpy as np
from sksm import RegularizedScoreMatchingPoE
n, d = int(sys.argv[1]), int(sys.argv[2])
X = np.random.default_rng(0).random((n, d))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
import warnings
warnings.simplefilter("ignore")
RegularizedScoreMatchingPoE(max_iter=3, random_state=0).fit(X)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before / 1024, after / 1024)
"""


def fit_peak_memory(n_samples, n_features):
    """Peak RSS (MB) of a fresh process before and after fitting."""
    out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(n_samples),
                          str(n_features)], capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), float(out[1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument("--n-features", type=int, default=196)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    n, d = args.n_samples, args.n_features
    X64 = rng.random((n, d))
    X64 -= X64.mean(axis=0)
    V = np.linalg.qr(rng.standard_normal((d, d)))[0]
    beta = rng.normal(0, 0.1, d)
    rows = []
    for dtype in (np.float64, np.float32):
        X = X64.astype(dtype)
        energy = ProductOfExperts(V.astype(dtype), beta.astype(dtype),
                                  c=np.exp(1.5), learn_weights=True)
        t_loss = _median_time(
            lambda: energy.params_gradient(
                regularized_score_matching(energy.network, X, 0.01)[1]),
            args.repeats)
        t_mm = _median_time(_matmuls(X, energy.filters), args.repeats)
        rows.append((np.dtype(dtype).name, t_loss, t_mm))

    print(f"loss + gradient, {n} x {d} data, {d} experts "
          f"(median of {args.repeats})")
    print(f"{'dtype':8} {'loss+grad (ms)':>15} {'8 matmuls (ms)':>15} "
          f"{'ratio':>7}")
    for name, t_loss, t_mm in rows:
        print(f"{name:8} {t_loss * 1e3:15.1f} {t_mm * 1e3:15.1f} "
              f"{t_loss / t_mm:7.2f}")
    print(f"float32 speed-up over float64: {rows[0][1] / rows[1][1]:.2f}x")
    before, after = fit_peak_memory(60_000, d)
    print(f"\nfit on 60000 x {d} float64 ({60_000 * d * 8 / 1e6:.0f} MB of "
          f"data): peak RSS {after:.0f} MB (data and imports alone: "
          f"{before:.0f} MB)")


if __name__ == "__main__":
    main()
