"""Time for a complete PoE to reach a held-out log-likelihood (issue 15).

The target is the held-out log-likelihood of today's reference fit: random
orthonormal start, float64, ``reg_lambda=0.2``, alpha = 1
(``learn_weights=False``), 500 L-BFGS iterations.  For every lever (the
start ``init``: 'random', 'pca', 'zca' or 'ica'; float32 data; ``tol``)
one fit records the parameters at every evaluation of the loss; afterwards
the held-out log-likelihood is computed at each iterate, and the table
gives the time (from the call to ``fit``, the start included) and the
L-BFGS iterations after which it stays at or above the target to the end
of the fit.  (It is not monotone: a random orthonormal start already
scores above the target, and the fit first loses likelihood.)  The same
on the training side: the exact training log-likelihood against the
reference's, and the training loss against 99% of the reference's
reduction of it; these choose the default start, the held-out set only
measures.  ``BernoulliRBM(n_components=n_features, n_iter=30,
learning_rate=0.05)`` is timed in the same run.

Data: the MNIST subset (``load_mnist_subset(random_state=split)``), or
with ``--patches`` 8x8 patches of scikit-image's photographs (training
patches from some images, held-out ones from others), scaled to [0, 1].

Run (one thread, as the numbers below):
    OMP_NUM_THREADS=1 python benchmarks/bench_fit_speed.py [--split 1]
        [--patches] [--levers random,pca,ica] [--repeats 3]
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import BernoulliRBM

from sksm import RegularizedScoreMatchingPoE
from sksm.datasets import load_mnist_subset

PATCH_TRAIN = ("camera", "astronaut", "coffee", "chelsea")
PATCH_TEST = ("rocket", "coins")


class _Recorded(RegularizedScoreMatchingPoE):
    """The PoE, remembering (time, loss, parameters) at every evaluation."""

    def _objective(self, energy, data, rng, n_threads=1):
        fun = super()._objective(energy, data, rng, n_threads=n_threads)
        trace = self._trace

        def recorded(theta, *args):
            loss, grad = fun(theta, *args)
            trace.append((time.perf_counter(), float(loss),
                          np.array(theta, dtype=np.float32)))
            return loss, grad

        return recorded


def load_patches(size=8, n_train=10_000, n_test=2_000, seed=0):
    """Random ``size`` x ``size`` patches in [0, 1] of grey photographs."""
    from skimage import color, data

    rng = np.random.RandomState(seed)

    def patches(names, n):
        images = []
        for name in names:
            image = getattr(data, name)()
            if image.ndim == 3:
                image = color.rgb2gray(image[..., :3])
            images.append(np.asarray(image, dtype=np.float64)
                          / (255.0 if image.max() > 1 else 1.0))
        out = []
        for i in range(n):
            image = images[i % len(images)]
            r = rng.randint(image.shape[0] - size + 1)
            c = rng.randint(image.shape[1] - size + 1)
            out.append(image[r:r + size, c:c + size].ravel())
        return np.array(out)

    return patches(PATCH_TRAIN, n_train), patches(PATCH_TEST, n_test)


def log_likelihood_curve(est, thetas, X):
    """Mean log-likelihood of ``X`` at every parameter vector."""
    energy = est._fitted_energy(dtype=np.float64)
    lls = []
    for theta in thetas:
        energy.set_params(theta.astype(np.float64))
        est._store(energy)
        lls.append(est.score(X))
    return np.array(lls)


def iterates(trace, loss_curve):
    """Indices of the evaluations at the start and at the end of every
    L-BFGS iteration (matched by loss; line-search trials left out)."""
    keep, k = [0], 0
    for i, (_, loss, _) in enumerate(trace):
        if k < len(loss_curve) and np.isclose(loss, loss_curve[k],
                                              rtol=1e-9, atol=0):
            keep.append(i)
            k += 1
    return np.array(keep)


def run(X_train, X_test, dtype, init, tol, max_iter, seed=0):
    est = _Recorded(learn_weights=False, init=init, tol=tol,
                    max_iter=max_iter, random_state=seed)
    est._trace = trace = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        est.fit(X_train.astype(dtype))
        seconds = time.perf_counter() - start
    out = {"seconds": seconds, "n_iter": est.n_iter_,
           "ms_eval": 1e3 * seconds / len(trace),
           "stopped": "max_iter" if caught else "tol",
           "test_ll": est.score(X_test.astype(dtype)),
           "train_ll": est.score(X_train.astype(dtype)),
           "train_loss": est.loss_curve_[-1]}
    keep = iterates(trace, est.loss_curve_)
    out["times"] = np.array([trace[i][0] for i in keep]) - start
    out["losses"] = np.array([trace[i][1] for i in keep])
    out["iters"] = np.arange(len(keep))
    thetas = [trace[i][2] for i in keep]
    out["test_lls"] = log_likelihood_curve(est, thetas, X_test)
    out["train_lls"] = log_likelihood_curve(est, thetas, X_train)
    return out


def reached_for_good(values, target, times, iters):
    """Time and iteration from which ``values`` stay at or above
    ``target`` to the end of the fit (nan, -1: not at the end)."""
    below = np.flatnonzero(values < target)
    first = 0 if len(below) == 0 else below[-1] + 1
    if first >= len(values):
        return np.nan, -1
    return times[first], iters[first]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=int, default=0)
    parser.add_argument("--patches", action="store_true")
    parser.add_argument("--levers", default="random,pca,zca,ica")
    parser.add_argument("--tols", default="1e-6",
                        help="comma-separated tol values to try")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--max-iter", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=1,
                        help="fits per lever (seeds 0, 1, ...); medians")
    args = parser.parse_args(argv)

    if args.patches:
        X_train, X_test = load_patches(seed=args.split)
        name = f"8x8 photo patches (seed {args.split})"
    else:
        X_train, X_test, _, _ = load_mnist_subset(random_state=args.split)
        name = f"MNIST subset 14x14 (split {args.split})"
    print(f"{name}: {X_train.shape[0]} train / {X_test.shape[0]} test, "
          f"{X_train.shape[1]} features; reg_lambda=0.2, alpha=1\n")

    start = time.perf_counter()
    BernoulliRBM(n_components=X_train.shape[1], n_iter=30, learning_rate=0.05,
                 random_state=0).fit(X_train)
    rbm_seconds = time.perf_counter() - start

    ref = run(X_train, X_test, np.float64, "random", 1e-6, 500)
    target, target_train = ref["test_ll"], ref["train_ll"]
    # 99% of the reference's reduction of the training loss
    target_loss = ref["losses"][-1] + 0.01 * (ref["losses"][0]
                                              - ref["losses"][-1])
    print(f"reference (random start, float64, 500 iterations max): "
          f"{ref['seconds']:.1f} s, {ref['n_iter']} iterations, test LL "
          f"{target:.2f}, training LL {target_train:.2f}, training loss "
          f"{ref['losses'][0]:.3f} > {ref['losses'][-1]:.3f} (99% of the "
          f"way: {target_loss:.3f})")
    print(f"BernoulliRBM ({X_train.shape[1]} units, 30 epochs, lr 0.05): "
          f"{rbm_seconds:.1f} s\n")

    header = (f"{'init':>6} {'dtype':>7} {'tol':>5} | {'s:test':>6} {'it':>4} "
              f"| {'s:train':>7} {'it':>4} | {'s:J':>5} {'it':>4} | {'fit s':>5} {'iter':>4} "
              f"{'stop':>8} {'ms/ev':>5} | {'test LL':>14} {'train LL':>8} "
              f"{'train J':>8} | {'RBM s':>5}")
    print(header)
    print("-" * len(header))
    for init in args.levers.split(","):
        for dtype in args.dtypes.split(","):
            for tol in map(float, args.tols.split(",")):
                rows = []
                for seed in range(args.repeats):
                    r = run(X_train, X_test, np.dtype(dtype), init, tol,
                            args.max_iter, seed=seed)
                    t_te, it_te = reached_for_good(r["test_lls"], target,
                                                   r["times"], r["iters"])
                    t_tr, it_tr = reached_for_good(r["train_lls"],
                                                   target_train, r["times"],
                                                   r["iters"])
                    t_j, it_j = reached_for_good(-r["losses"], -target_loss,
                                                 r["times"], r["iters"])
                    rows.append((t_te, it_te, t_tr, it_tr, t_j, it_j,
                                 r["seconds"],
                                 r["n_iter"], r["ms_eval"], r["test_lls"][0],
                                 r["test_ll"], r["train_ll"],
                                 r["train_loss"]))
                    stop = r["stopped"]
                m = np.median(np.array(rows, dtype=float), axis=0)
                print(f"{init:>6} {dtype:>7} {tol:>5.0e} | {m[0]:>6.1f} "
                      f"{m[1]:>4.0f} | {m[2]:>7.1f} {m[3]:>4.0f} | "
                      f"{m[4]:>5.1f} {m[5]:>4.0f} | "
                      f"{m[6]:>5.1f} {m[7]:>4.0f} {stop:>8} {m[8]:>5.1f} | "
                      f"{m[9]:>6.1f}>{m[10]:>7.2f} {m[11]:>8.2f} {m[12]:>8.3f} "
                      f"| {rbm_seconds:>5.1f}", flush=True)
    print("\n's:test' ('s:train'): seconds (and L-BFGS iterations) from the "
          "call to fit after which the held-out (training) LL stays at or "
          "above the reference's to the end of the fit (nan: below it at the "
          "end); 's:J' the same for the training loss at or below 99% of the "
          "reference's reduction.  'test LL': at the start > at the end.  'train J': final "
          f"training loss.  Medians over {args.repeats} seed(s) (random_state"
          " 0, 1, ...); 'stop' of the last.")

if __name__ == "__main__":
    main()
