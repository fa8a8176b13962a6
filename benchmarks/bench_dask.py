"""Fits and restoration on a Dask LocalCluster against the same work in memory.

Three jobs, each run in this process (one BLAS thread) and on a
``distributed.LocalCluster`` of 1 and of 2 single-threaded worker processes
on 127.0.0.1, in the same run:

(a) a Product of Experts fit on 60,000 x 196 float64 rows (the MNIST size;
    heavy-tailed sources mixed by a random matrix, synthesised by
    ``dask.array.random`` on the workers, so the data live there; the
    in-memory fit gets the same values), ``max_iter`` L-BFGS iterations;
(b) a Field of Experts fit (24 5x5 filters, the defaults) on 400 crops of
    40x40 pixels of scikit-image's photographs;
(c) denoising a 4000 x 3000 photograph (china.jpg upscaled, noise 0.1),
    the image persisted on the workers before the clock starts.

For the fits the table gives the wall time of ``fit`` (statistics, start
and iterations), the L-BFGS iterations, the time per iteration, the
speed-up against the fit in memory, and whether the model equals the
in-memory one bit for bit; then the bytes that travel per evaluation of the
loss (the pickled parameter vector, to each worker, and the pickled
losses and gradient sums of each block, back) and the latency floor
of one iteration (a fit of 8 features, where computing costs nothing).  These
numbers feed the scaling model of the user guide ("Past one machine").

The workers get ``MALLOC_MMAP_THRESHOLD_=33554432`` (``--default-malloc``
leaves distributed's environment as it is): distributed's nanny sets
``MALLOC_TRIM_THRESHOLD_``, which turns off glibc's adaptive mmap threshold,
so every large temporary array of a loss evaluation is mapped afresh and
the workers computed the same block 1.5 to 1.8 times slower than this
process.  The data are synthesised with one BLAS thread everywhere, so
that the rows in memory are the rows on the workers.

Run (nothing else on the machine; about 12 minutes):
    python benchmarks/bench_dask.py [--quick] [--max-iter 25] [--default-malloc]
"""

import argparse
import pickle
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits


def _poe_data(n_samples, n_features, seed=0, chunks=7680):
    import dask.array as da
    rs = da.random.RandomState(seed)
    sources = rs.standard_t(3, size=(n_samples, n_features),
                            chunks=(chunks, n_features))
    mixing = np.random.RandomState(seed).standard_normal(
        (n_features, n_features)) / np.sqrt(n_features)
    return sources @ mixing


def _foe_crops(n_crops=400, size=40, seed=0):
    from skimage import data
    from skimage.color import rgb2gray
    rng = np.random.RandomState(seed)
    images = []
    for name in ("camera", "astronaut", "coffee", "chelsea", "rocket"):
        image = getattr(data, name)()
        image = rgb2gray(image) if image.ndim == 3 else image / 255.0
        images.append(image)
    crops = []
    for k in range(n_crops):
        image = images[k % len(images)]
        r = rng.randint(image.shape[0] - size)
        c = rng.randint(image.shape[1] - size)
        crops.append(image[r:r + size, c:c + size].ravel())
    return np.array(crops)


def _big_photo(height, width, sigma=0.1):
    from PIL import Image
    from sklearn.datasets import load_sample_image

    from sksm.image import add_noise
    grey = Image.fromarray(load_sample_image("china.jpg")).convert("L")
    big = np.asarray(grey.resize((width, height), Image.BICUBIC)) / 255.0
    return add_noise(big, sigma, random_state=0)


def _fit(make, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model = make().fit(X)
        return model, time.perf_counter() - start


def _same(a, b):
    return (a.n_iter_ == b.n_iter_ and np.array_equal(a.filters_, b.filters_)
            and np.array_equal(a.expert_weights_, b.expert_weights_))


def _payload(make, X_local, n_blocks):
    """Pickled bytes of one parameter vector, and of one block's answer."""
    from sklearn.utils import check_random_state

    from sksm._dask import _block_loss
    est = make()
    Z = est._fit_data(X_local)
    energy = est._initial_energy(Z, check_random_state(0))
    theta = energy.get_params().astype(np.float64)
    from sksm.objectives import check_objective
    rows = len(Z) // n_blocks
    answer = _block_loss(Z[:rows], 0, objective=check_objective(
        est.objective), energy=energy, theta=theta,
        reg_lambda=est.reg_lambda, seed=0)
    return len(pickle.dumps(theta)), len(pickle.dumps(answer))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, to check the script")
    parser.add_argument("--max-iter", type=int, default=25,
                        help="L-BFGS iterations of the fits (default 25)")
    parser.add_argument("--workers", default="1,2",
                        help="cluster sizes, comma-separated (default 1,2)")
    parser.add_argument("--default-malloc", action="store_true",
                        help="keep distributed's malloc settings")
    args = parser.parse_args()
    import dask.array as da
    from distributed import Client, LocalCluster

    from sksm import FieldsOfExperts, RegularizedScoreMatchingPoE, restoration

    n_rows, height, width = ((6000, 600, 400) if args.quick
                             else (60000, 3000, 4000))
    n_crops = 100 if args.quick else 400
    poe = lambda: RegularizedScoreMatchingPoE(
        max_iter=args.max_iter, random_state=0)
    foe = lambda: FieldsOfExperts(
        max_iter=args.max_iter, random_state=0)
    tiny = lambda: RegularizedScoreMatchingPoE(
        max_iter=args.max_iter, random_state=0, tol=0)
    if not args.default_malloc:
        import dask
        dask.config.set({"distributed.nanny.pre-spawn-environ"
                         ".MALLOC_MMAP_THRESHOLD_": 2 ** 25})
    with threadpool_limits(1):  # as on the workers: the same rows
        X_local = _poe_data(n_rows, 196).compute(scheduler="sync")
    crops = _foe_crops(n_crops)
    photo = _big_photo(height, width)
    tiny_local = np.random.RandomState(0).standard_t(3, size=(2000, 8))

    rows = []
    with threadpool_limits(1):
        poe_local, t = _fit(poe, X_local)
        rows.append(("PoE fit", "memory", t, poe_local.n_iter_, t, True))
        foe_local, t = _fit(foe, crops)
        rows.append(("FoE fit", "memory", t, foe_local.n_iter_, t, True))
        start = time.perf_counter()
        denoised = restoration.denoise(photo, 0.1)
        t = time.perf_counter() - start
        rows.append(("denoise", "memory", t, None, t, True))
        _, t_tiny = _fit(tiny, tiny_local)
    base = {name: t for name, _, t, *_ in rows}
    latency = {}
    for n_workers in [int(k) for k in args.workers.split(",")]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                   processes=True, host="127.0.0.1",
                                   dashboard_address=None)
        with cluster, Client(cluster) as client:
            where = f"{n_workers} worker{'s' * (n_workers > 1)}"
            X = client.persist(_poe_data(n_rows, 196))
            model, t = _fit(poe, X)
            rows.append(("PoE fit", where, t, model.n_iter_, base["PoE fit"],
                         _same(model, poe_local)))
            X = client.persist(da.from_array(crops, chunks=(100, -1)))
            model, t = _fit(foe, X)
            rows.append(("FoE fit", where, t, model.n_iter_, base["FoE fit"],
                         _same(model, foe_local)))
            image = client.persist(da.from_array(photo, chunks=1000))
            start = time.perf_counter()
            out = restoration.denoise(image, 0.1).compute()
            t = time.perf_counter() - start
            rows.append(("denoise", where, t, None, base["denoise"],
                         bool(np.abs(out - denoised).max() < 1 / 255)))
            X = client.persist(da.from_array(tiny_local, chunks=1000))
            model, t = _fit(tiny, X)
            latency[n_workers] = (t - t_tiny) / max(model.n_iter_, 1)

    print(f"{'job':<9} {'where':<10} {'wall s':>8} {'iter':>5} "
          f"{'s/iter':>7} {'speed-up':>8}  same as memory")
    for name, where, t, n_iter, ref, same in rows:
        per = f"{t / n_iter:7.3f}" if n_iter else " " * 7
        it = f"{n_iter:5d}" if n_iter else " " * 5
        if name == "denoise":
            agree = "within 1/255" if same else "NO"
        else:
            agree = "bit for bit" if same else "NO"
        print(f"{name:<9} {where:<10} {t:8.2f} {it} {per} {ref / t:8.2f}  "
              f"{agree}")
    n_blocks = -(-n_rows // 7680)
    theta_b, answer_b = _payload(poe, X_local, n_blocks)
    print(f"\nPoE, per evaluation: parameters {theta_b / 1e6:.2f} MB to each "
          f"worker, {answer_b / 1e6:.2f} MB back per block ({n_blocks} "
          "blocks)")
    for n_workers, value in latency.items():
        print(f"latency floor per iteration ({n_workers} worker(s), 8 "
              f"features; cluster minus memory): {1000 * value:.1f} ms")


if __name__ == "__main__":
    main()
