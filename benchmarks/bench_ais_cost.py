"""Time and reliability of the AIS estimate of log Z of a Field of Experts.

Part 1: the time of one evaluation of the model and of the AIS base (a
dense precision matrix) on 100 chains, against the image size.

Part 2: for a FieldsOfExperts fitted with ``--settings`` (default: the
estimator's defaults) on 300 patches of ``--size`` pixels a side from the
training images of the benchmarks' split, ``estimate_log_partition`` for
every number of chains and temperatures: its time, log Z, standard error
and effective number of chains (the warning fires below 5% of the chains).
Only training images are used: this chooses defaults.

Run:  python benchmarks/bench_ais_cost.py [--size 36] [--chains 25 100]
      [--temperatures 100 300 1000] [--settings "learn_weights=False"]
      [--model saved.npz]
"""

import argparse
import time
import warnings

import numpy as np
from _images import CATALOGUE, load, split
from sklearn.exceptions import ConvergenceWarning

from sksm import FieldsOfExperts, _density
from sksm.image import extract_patches
from sksm.io import load_model
from sksm.sampling import annealed_importance_sampling

LOCAL = ("skimage", "sklearn", "matplotlib")


def training_patches(size, n=300):
    names = [n for n in split()["train"] if CATALOGUE[n][1] in LOCAL]
    return extract_patches([load(n) for n in names], size, max_patches=n,
                           random_state=0)


def fitted(size, settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return FieldsOfExperts(random_state=0, **settings).fit(
            training_patches(size))


def seconds(f, x, repeat=3):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        f(x)
        best = min(best, time.perf_counter() - start)
    return best


def evaluation_times(model, sizes, n_chains=100):
    print(f"one evaluation on {n_chains} chains (ms)")
    print(f"{'size':>6}{'pixels':>8}{'model':>9}{'base':>9}")
    for side in sizes:
        m = FieldsOfExperts(**model.get_params())
        for name in ("filters_", "expert_weights_", "mean_brightness_",
                     "std_brightness_", "n_iter_"):
            setattr(m, name, getattr(model, name))
        m.image_shape_, m.n_features_in_ = (side, side), side * side
        base = m._base_distribution()
        x = base.sample(n_chains, np.random.RandomState(0))
        times = [seconds(f, x) for f in (m._row_energy(), base.energy_grad)]
        print(f"{side:>6}{side * side:>8}" + "".join(
            f"{1e3 * t:9.1f}" for t in times))


def ais_table(model, chains, temperatures):
    print(f"\nAIS on the {model.image_shape_} model (HMC, "
          f"{_density.AIS_LEAPFROG} leapfrog steps)")
    print(f"{'chains':>7}{'temps':>7}{'time s':>9}{'log Z':>12}{'stderr':>9}"
          f"{'ESS':>8}")
    energy, base = model._row_energy(), model._base_distribution()
    for n_temps in temperatures:
        for n_chains in chains:
            start = time.perf_counter()
            r = annealed_importance_sampling(
                energy, base, n_chains=n_chains, n_temperatures=n_temps,
                method="hmc", n_leapfrog=_density.AIS_LEAPFROG,
                random_state=0)
            print(f"{n_chains:>7}{n_temps:>7}"
                  f"{time.perf_counter() - start:9.1f}"
                  f"{r.log_partition:12.2f}{r.stderr:9.3f}"
                  f"{r.effective_sample_size:8.1f}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=36)
    parser.add_argument("--chains", type=int, nargs="+", default=[25, 100])
    parser.add_argument("--temperatures", type=int, nargs="+",
                        default=[100, 300, 1000])
    parser.add_argument("--eval-sizes", type=int, nargs="+",
                        default=[16, 36, 64])
    parser.add_argument("--settings", default="")
    parser.add_argument("--model", default=None,
                        help="a saved FieldsOfExperts instead of a new fit")
    args = parser.parse_args(argv)
    settings = dict(eval(f"dict({args.settings})"))  # the user's arguments
    model = (load_model(args.model) if args.model
             else fitted(args.size, settings))
    args.size = model.image_shape_[0]
    print(f"FieldsOfExperts({args.settings}) on {args.size}x{args.size}: "
          f"weights {model.expert_weights_.min():.3g} to "
          f"{model.expert_weights_.max():.3g}\n")
    evaluation_times(model, args.eval_sizes)
    ais_table(model, args.chains, args.temperatures)


if __name__ == "__main__":
    main()
