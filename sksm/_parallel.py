"""Chunked, thread-parallel evaluation of a loss over the rows of X.

NumPy's elementwise operations use one core while BLAS uses all of them, so on
a small machine the elementwise half of a score-matching evaluation would
leave cores idle.  Instead, chunks of rows go to as many Python threads as
BLAS may use (NumPy releases the GIL), each calling a single-threaded BLAS.
Chunks are assigned to threads statically and results are summed in a fixed
order, so results do not depend on thread timing.

An optimiser that calls such a loss many times should run inside
:func:`single_threaded_blas`: otherwise its own small BLAS calls between
evaluations leave an OpenBLAS worker spinning on a core that the chunk threads
need (measured: 40% slower fits).
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ContextDecorator

import numpy as np
import threadpoolctl
from threadpoolctl import ThreadpoolController

__all__ = ["banded_grad_energy", "blas_threads", "map_chunks",
           "single_threaded_blas"]

# The BLAS limit is process-wide, so the single-threaded sections of all
# threads share one: the first to enter sets it and remembers the thread
# count it replaced, the last to leave restores that count, whatever the
# order in which they enter and leave.
_lock = threading.Lock()
_depth = 0  # threads inside single_threaded_blas
_limiter = None  # threadpoolctl's limit while _depth > 0
_outer_threads = None  # the thread count the limit replaced


def _get_controller():
    # A new one each time (about a millisecond): a controller knows only the
    # libraries loaded when it was made, and SciPy loads its own OpenBLAS.
    return ThreadpoolController()


def _take_blas_control():
    """Let this thread set OpenBLAS's limits.

    threadpoolctl (3.6 and later) lets only one live thread change the
    limits of a pthreads OpenBLAS and ignores the others; here the first
    thread in and the last one out may differ, so each takes control under
    the lock and gives it back.
    """
    cls = getattr(threadpoolctl, "OpenBLASController", None)
    if cls is not None and hasattr(cls, "clear_controlling_thread"):
        cls.clear_controlling_thread(force=True)


def _threads_of(controller):
    info = controller.select(user_api="blas").info()
    return max([lib["num_threads"] for lib in info] or [1])


def blas_threads():
    """Number of threads BLAS may use (respects threadpoolctl limits).

    Inside :func:`single_threaded_blas` (of any thread), the number it
    replaced: the number of threads the process may use.
    """
    controller = _get_controller()
    with _lock:
        if _depth:
            return _outer_threads
    return _threads_of(controller)


class single_threaded_blas(ContextDecorator):
    """Limit BLAS to one thread while a block runs (a context manager).

    The losses of :mod:`sksm.objectives` evaluate chunks of rows on as
    many Python threads as there are cores (``n_threads``), each calling
    BLAS.  A BLAS left with several threads of its own then competes with
    them for the cores, and between evaluations its idle threads keep
    spinning on the cores the next evaluation needs: a fit on two cores
    ran ten times slower.  :func:`sksm.optim.lbfgs`, :func:`sksm.optim.adam`
    and :meth:`sksm.optim.Adam.run_epoch` run inside this limit, as do the
    estimators; put it around any other optimiser of such a loss (for
    example :func:`scipy.optimize.minimize`) and around loops of many small
    array operations.  Setting ``OMP_NUM_THREADS=1`` before Python starts
    has the same effect on BLAS, for the whole process.

    The limit is process-wide (threadpoolctl's, on every BLAS library
    loaded) and safe under any interleaving of threads: it holds while any
    thread is inside, nested uses cost nothing, and the previous limits
    come back when the last thread leaves (``threadpoolctl``'s own
    ``threadpool_limits`` sets other limits, not safely across threads).
    An instance also decorates a function, which then runs inside the
    limit.

    Examples
    --------
    >>> from threadpoolctl import threadpool_info
    >>> from sksm.optim import single_threaded_blas
    >>> def blas_threads():
    ...     return {lib["num_threads"] for lib in threadpool_info()
    ...             if lib["user_api"] == "blas"}
    >>> with single_threaded_blas():
    ...     print(blas_threads())
    {1}
    """

    def __enter__(self):
        global _depth, _limiter, _outer_threads
        with _lock:
            if _depth == 0:
                controller = _get_controller()
                _outer_threads = _threads_of(controller)
                _take_blas_control()
                _limiter = controller.limit(limits=1, user_api="blas")
            _depth += 1
        return self

    def __exit__(self, *exc_info):
        global _depth, _limiter
        with _lock:
            _depth -= 1
            if _depth == 0:
                _take_blas_control()
                _limiter.restore_original_limits()
                _limiter = None
                _take_blas_control()  # and leave it to no thread
        return False


def map_chunks(network, X, chunk_loss, chunk_size, n_threads=None):
    """Sum ``chunk_loss(net, X[a:b])`` over chunks of rows, gradients included.

    ``chunk_loss`` evaluates one chunk on ``net`` (a copy of ``network`` that
    shares its parameters), adds the chunk's gradient to ``net.grads`` and
    returns the chunk's loss.  On return ``network.grads`` holds the sum.
    """
    n_samples = X.shape[0]
    bounds = [(a, min(a + chunk_size, n_samples))
              for a in range(0, n_samples, chunk_size)]
    if n_threads is None:
        n_threads = blas_threads()
    n_threads = max(1, min(n_threads, len(bounds)))
    network.zero_grad()
    if n_threads == 1:
        return sum(chunk_loss(network, X[a:b]) for a, b in bounds)

    nets = [network] + [network.copy() for _ in range(n_threads - 1)]
    for net in nets[1:]:
        net.zero_grad()

    def work(k):
        return sum(chunk_loss(nets[k], X[a:b]) for a, b in bounds[k::n_threads])

    with single_threaded_blas():
        with ThreadPoolExecutor(n_threads) as pool:
            losses = list(pool.map(work, range(n_threads)))
    for net in nets[1:]:
        for mine, theirs in zip(network.grads, net.grads):
            for name in mine:
                mine[name] += theirs[name]
    return sum(losses)


def banded_grad_energy(network, images, size, n_threads, exponent=None):
    """``(E, dE/dx)`` of a convolutional energy, rows of positions in threads.

    For images (n, H, W) under an energy that sums over the valid positions
    of ``size`` x ``size`` filters: the positions are split into horizontal
    bands, one per thread, each evaluated on its rows of pixels (overlapping
    by ``size - 1``); energies add and gradients add where bands overlap.
    Call it inside :func:`single_threaded_blas`.  ``exponent``: the images
    are ``images * 2**exponent`` (see :meth:`EnergyNetwork.forward`).
    """
    n_rows = images.shape[1] - size + 1
    n_threads = max(1, min(n_threads, n_rows // (4 * size)))
    if n_threads == 1:
        E, d, _ = network.input_derivatives(images, energy=True, second=False,
                                            exponent=exponent)
        return E, d
    edges = np.linspace(0, n_rows, n_threads + 1).astype(int)
    errors = np.geterr()  # worker threads do not inherit np.errstate

    def work(k):
        a, b = edges[k], edges[k + 1]
        band = images[:, a:b + size - 1]
        with np.errstate(**errors):
            E, d, _ = network.copy().input_derivatives(
                band, energy=True, second=False, exponent=exponent)
        return E, d

    with ThreadPoolExecutor(n_threads) as pool:
        parts = list(pool.map(work, range(n_threads)))
    E = sum(part[0] for part in parts)
    d = np.zeros_like(images)
    for k, (_, d_band) in enumerate(parts):
        d[:, edges[k]:edges[k + 1] + size - 1] += d_band
    return E, d
