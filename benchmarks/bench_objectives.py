"""Every objective side by side, on MNIST digits and on photograph denoising.

The comparison of the paper's Table 1 (Fields of Experts trained by
contrastive divergence against score matching) inside one package, for every
``objective=`` of the estimators:

- MNIST: a complete PoE on the 14x14 digits of bench_poe_mnist.py (4,000 /
  1,000 split; the last 500 training digits are held out for validation):
  fit time, iterations, exact validation and test log-likelihood (nats per
  digit) and the test error of a logistic regression on the activations of
  100 labelled digits per class.  reg_lambda (and with it the noise of DSM
  and SSM) decides the result, so 'rsm', 'rsm_full', 'dsm' and 'ssm' run at
  1e-4, 1e-3 and 1e-2 and the value with the best validation log-likelihood
  is marked '*'.
- Denoising: a 5x5x24 Field of Experts trained as the pretrained prior is
  (300 patches of 36x36, reg_lambda 3e-4, train_pretrained_foe.py) with each
  objective, calibrated (prior weight and scale) at sigma 5 and 25 on the
  calibration crops, then PSNR on the 11 test crops of bench_denoise.py x 3
  seeds at sigma 5/255 and 25/255.

DSM and SSM use training_noise='auto' (sqrt(2 reg_lambda), the noise eq. 6
relates to reg_lambda: DSM's training noise, and the noise SSM perturbs the
data with), SSM one Rademacher direction per sample ('ssm, no noise' is plain
sliced score matching, reg_lambda=0); CD one HMC transition (10 leapfrog
steps) per negative sample from the data (CD-1) or from persistent chains
(PCD), trained by Adam.  'rsm_full' costs about 10x 'rsm'
per FoE iteration (1.4 s against 0.15 s), so it gets a third of the budget
there.

Run:  python benchmarks/bench_objectives.py [--quick] [--part mnist|foe]
      (about 35 minutes on 2 cores; --quick: a few minutes)
"""

import argparse
import time
import warnings

from bench_denoise import SEEDS, compare_settings
from bench_poe_mnist import classifier_error
from _images import test_crops
from sklearn.exceptions import ConvergenceWarning

from sksm import RegularizedScoreMatchingPoE
from sksm.datasets import few_labels, load_mnist_subset
from sksm.objectives import ContrastiveDivergence


def cd(persistent, epochs, learning_rate, **extra):
    return {"objective": ContrastiveDivergence(persistent=persistent),
            "solver": "adam", "max_iter": epochs,
            "learning_rate": learning_rate, **extra}


def mnist_settings(quick):
    n = 60 if quick else 500
    epochs = 10 if quick else 100
    settings = []
    for objective in ("rsm", "rsm_full", "dsm", "ssm"):
        group = [(f"{objective} {lam:g}", {"objective": objective,
                                           "reg_lambda": lam, "max_iter": n})
                 for lam in (2e-3, 0.02, 0.2)]
        settings.append(group)
    settings += [[("ssm, no noise", {"objective": "ssm", "reg_lambda": 0,
                                     "max_iter": n})],
                 [("cd-1 (HMC)", cd(False, epochs, 1e-3))],
                 [("pcd (HMC)", cd(True, epochs, 1e-3))]]
    return settings


def foe_settings(quick):
    n = 30 if quick else 500
    epochs = 5 if quick else 150
    return [
        ("rsm", {"objective": "rsm", "max_iter": n}),
        ("rsm_full", {"objective": "rsm_full", "max_iter": max(n // 3, 10)}),
        ("dsm", {"objective": "dsm", "max_iter": n}),
        ("ssm", {"objective": "ssm", "max_iter": n}),
        ("ssm, no noise", {"objective": "ssm", "reg_lambda": 0,
                           "max_iter": n}),
        ("cd-1 (HMC)", cd(False, epochs, 1e-2, batch_size=50)),
        ("pcd (HMC)", cd(True, epochs, 1e-2, batch_size=50)),
    ]


def mnist(quick):
    X_train, X_test, y_train, y_test = load_mnist_subset()
    X_train, X_val, y_train = X_train[:-500], X_train[-500:], y_train[:-500]
    labelled = few_labels(y_train, 100, random_state=0)
    print(f"MNIST 14x14, complete PoE: {len(X_train)} train / {len(X_val)} "
          f"validation / {len(X_test)} test digits; classifier on 100 labels "
          "per class")
    print(f"{'objective':16}{'fit s':>7}{'iter':>6}{'valid LL':>10}"
          f"{'test LL':>9}{'error':>8}  warning")
    for group in mnist_settings(quick):
        rows = []
        for label, params in group:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                start = time.perf_counter()
                est = RegularizedScoreMatchingPoE(
                    **{"reg_lambda": 0.01, "random_state": 0, **params}
                ).fit(X_train)
                seconds = time.perf_counter() - start
            error = classifier_error(est.transform(X_train),
                                     est.transform(X_test), y_train, y_test,
                                     labelled)
            warned = [str(w.message).split(":")[0].split(";")[0]
                      for w in caught
                      if issubclass(w.category, ConvergenceWarning)]
            rows.append((label, seconds, est.n_iter_, est.score(X_val),
                         est.score(X_test), error,
                         warned[0][:40] if warned else "-"))
        best = max(range(len(rows)), key=lambda i: rows[i][3])
        for i, (label, seconds, n_iter, val, test, error, note) in \
                enumerate(rows):
            mark = "*" if len(rows) > 1 and i == best else " "
            print(f"{label + mark:16}{seconds:7.1f}{n_iter:6d}{val:10.1f}"
                  f"{test:9.1f}{100 * error:7.1f}%  {note}", flush=True)


def foe(quick):
    crops = test_crops()
    seeds = SEEDS
    if quick:
        crops = dict(list(crops.items())[:2])
        seeds = SEEDS[:1]
    print("\nDenoising with a 5x5x24 Field of Experts per objective "
          "(max_iter: L-BFGS iterations, or Adam epochs for CD)")
    compare_settings(crops, seeds, foe_settings(quick))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small budgets, 2 crops and 1 seed")
    parser.add_argument("--part", choices=["mnist", "foe"],
                        help="run one part only")
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if args.part in (None, "mnist"):
            mnist(args.quick)
        if args.part in (None, "foe"):
            foe(args.quick)


if __name__ == "__main__":
    main()
