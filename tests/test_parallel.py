"""sksm._parallel: the process-wide BLAS limit under concurrent threads."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController, threadpool_limits

from sksm import load_pretrained_foe
from sksm._parallel import blas_threads, single_threaded_blas
from sksm.image import add_noise


def _actual_blas_threads():
    info = ThreadpoolController().select(user_api="blas").info()
    return max([lib["num_threads"] for lib in info] or [1])


@pytest.fixture
def two_blas_threads():
    if not ThreadpoolController().select(user_api="blas").info():
        pytest.skip("no BLAS library found by threadpoolctl")
    with threadpool_limits(2, user_api="blas"):
        if _actual_blas_threads() != 2:
            pytest.skip("BLAS cannot use two threads here")
        yield


def _run_interleaved(order):
    """Two threads enter and leave single_threaded_blas in ``order``, a
    sequence of ('A' | 'B', 'enter' | 'leave'); returns what each saw."""
    turns = [threading.Event() for _ in range(len(order) + 1)]
    seen = {}

    def thread(name):
        context = single_threaded_blas()
        for k, (who, what) in enumerate(order):
            if who != name:
                continue
            turns[k].wait(timeout=10)
            if what == "enter":
                context.__enter__()
                seen[name, "inside"] = (_actual_blas_threads(),
                                        blas_threads())
            else:
                context.__exit__(None, None, None)
            turns[k + 1].set()

    threads = [threading.Thread(target=thread, args=(n,)) for n in "AB"]
    for t in threads:
        t.start()
    turns[0].set()
    for t in threads:
        t.join(timeout=30)
    assert turns[-1].is_set(), "the interleaving did not complete"
    return seen


@pytest.mark.parametrize("order", [
    [("A", "enter"), ("B", "enter"), ("A", "leave"), ("B", "leave")],
    [("A", "enter"), ("B", "enter"), ("B", "leave"), ("A", "leave")],
    [("A", "enter"), ("A", "leave"), ("B", "enter"), ("B", "leave")],
])
def test_the_blas_limit_survives_any_interleaving(two_blas_threads, order):
    seen = _run_interleaved(order)
    for name in "AB":
        # inside: BLAS is limited to one thread, while pools are still
        # sized by the process's two
        assert seen[name, "inside"] == (1, 2)
    assert _actual_blas_threads() == 2
    assert blas_threads() == 2


def test_nested_limits_restore_the_outer_one(two_blas_threads):
    with single_threaded_blas():
        with single_threaded_blas():
            assert _actual_blas_threads() == 1
        assert _actual_blas_threads() == 1
    assert _actual_blas_threads() == 2


def test_concurrent_restorations_equal_sequential_ones(two_blas_threads):
    model = load_pretrained_foe()
    rng = np.random.RandomState(0)
    images = [add_noise(rng.rand(64, 80), 0.1, random_state=k)
              for k in range(4)]
    alone = [model.denoise(image, 0.1) for image in images]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda im: model.denoise(im, 0.1), images))
    for a, b in zip(alone, together):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    assert _actual_blas_threads() == 2


def test_the_public_optimisers_run_their_loss_with_one_blas_thread(
        two_blas_threads):
    """Issue 27: a loss of sksm.objectives optimised through the public
    low-level API (``loss_function`` then ``sksm.optim``) ran with BLAS's
    own threads fighting its chunk threads, ten times slower than under
    the estimators; the optimisers now hold the limit themselves, and
    give the process its threads back."""
    from sksm.optim import Adam, adam, lbfgs

    rng = np.random.RandomState(0)
    X = rng.standard_normal((60, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    seen = []

    def fun(theta, rows=slice(None)):
        seen.append(_actual_blas_threads())
        r = X[rows] @ theta - y[rows]
        return 0.5 * np.mean(r * r), X[rows].T @ r / len(r)

    assert lbfgs(fun, np.zeros(3), max_iter=5).n_iter > 0
    adam(fun, np.zeros(3), n_samples=60, batch_size=20,
         rng=np.random.RandomState(0), max_iter=2)
    Adam(3).run_epoch(fun, np.zeros(3), 60, 20, np.random.RandomState(0))
    assert len(seen) > 10 and set(seen) == {1}
    assert _actual_blas_threads() == 2


def test_partial_fit_starts_with_one_blas_thread_as_fit_does(
        two_blas_threads, monkeypatch):
    """Issue 27 (found on CI's floor, OpenBLAS 0.3.21): the first
    ``partial_fit`` drew its start with BLAS's threads, ``fit`` with one, so
    the start (and a Dask worker's fit, single-threaded) differed in the
    last bits with the thread count, and AIS log-likelihoods by 0.04 nats."""
    from sksm import RegularizedScoreMatchingPoE

    model = RegularizedScoreMatchingPoE(solver="adam", random_state=0,
                                        max_iter=1)
    start = type(model)._initial_energy
    seen = []

    def recorded(self, *args, **kwargs):
        seen.append(_actual_blas_threads())
        return start(self, *args, **kwargs)

    monkeypatch.setattr(type(model), "_initial_energy", recorded)
    X = np.random.RandomState(0).standard_normal((50, 4))
    model.partial_fit(X)
    with pytest.warns(ConvergenceWarning):  # one epoch is enough here
        model.fit(X)
    assert seen == [1, 1]
