"""Progress of long computations, shown to whoever asked for it.

Numerical code reports units of work (tiles, calibration steps) to
:func:`current`, which is silent unless a caller opened :func:`reporting`
(the command line does, on a terminal or with ``--progress``).  The bar is
tqdm's when tqdm is installed (``pip install "sksm[cli]"``), else a line on
every tenth of the work.  The reporter lives in a context variable, so
threads and nested calls that did not ask for progress stay silent.

The expected time of a long run is stated before it: :func:`timed` measures
a function's calls so that the caller can announce what the rest will cost
(in words, :func:`duration`).
"""

import contextvars
import sys
import threading
import time
import warnings
from contextlib import contextmanager

from sklearn.exceptions import ConvergenceWarning

__all__ = ["FIT_WARN_SECONDS", "announce_fit", "current", "duration",
           "reporting", "silenced", "timed", "warn_diverged",
           "warn_fit_outcome"]

#: ``fit`` warns when it expects to take longer than this, in seconds, at
#: ``verbose=0`` (with ``verbose`` it prints what it expects), as
#: ``estimate_log_partition`` does for AIS.
FIT_WARN_SECONDS = 60.0


def duration(seconds):
    """``seconds`` in words: '40 ms', '12 s', '3.5 min' or '2.1 h'."""
    if seconds < 1:
        return f"{1000 * seconds:.0f} ms"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def announce_fit(name, solver, seconds, n_samples, batch_size, max_iter,
                 n_runs, verbose):
    """State what the fit of estimator ``name`` will cost, from ``seconds``
    per call of its objective: printed with ``verbose``, else a
    ``UserWarning`` above :data:`FIT_WARN_SECONDS`.
    """
    batches = -(-n_samples // batch_size)
    if solver == "lbfgs":
        per, unit = seconds, "iterations"
        pace = (f"one evaluation of the loss and its gradient on {n_samples} "
                f"samples takes about {duration(seconds)}, about one per "
                "L-BFGS iteration")
    else:
        per, unit = seconds * batches, "epochs"
        pace = (f"one Adam epoch of {batches} minibatches takes about "
                f"{duration(per)}")
    most = per * max_iter * n_runs
    starts = f" for each of n_init={n_runs} starts" if n_runs > 1 else ""
    text = (f"{name}.fit: {pace}; max_iter={max_iter} {unit}{starts} take up "
            f"to about {duration(most)} (less if it converges sooner)")
    if verbose:
        print(text + ".", flush=True)
    elif most > FIT_WARN_SECONDS:
        warnings.warn(f"{text}.  Set verbose=1 to print the loss at every "
                      "iteration; lower max_iter, or fit fewer or smaller "
                      "samples, to make it shorter.", UserWarning,
                      stacklevel=2)


def timed(fun, announce, at_call=2):
    """``fun``, whose ``at_call``-th call is followed by ``announce(seconds)``.

    ``seconds`` is the shortest of its first ``at_call`` calls (the first
    pays for warming caches and buffers); ``announce`` is called once.
    """
    times = []

    def call(*args, **kwargs):
        if len(times) >= at_call:
            return fun(*args, **kwargs)
        start = time.perf_counter()
        result = fun(*args, **kwargs)
        times.append(time.perf_counter() - start)
        if len(times) == at_call:
            announce(min(times))
        return result

    return call


class _Silent:
    def start(self, total):
        pass

    def update(self, n=1):
        pass

    def note(self, text):
        pass


_SILENT = _Silent()
_reporter = contextvars.ContextVar("sksm_progress", default=_SILENT)


class _Reporter:
    """Counts units of work; ``start`` adds to the total."""

    def __init__(self, description, file):
        self.description = description
        self.file = file
        self.total = 0
        self.done = 0
        self._lock = threading.Lock()
        self._bar = None
        self._shown = -1
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self._tqdm = None
        else:
            self._tqdm = tqdm

    def start(self, total):
        with self._lock:
            self.total += total
            if self._tqdm is None:
                return
            if self._bar is None:
                self._bar = self._tqdm(total=self.total, desc=self.description,
                                       file=self.file, leave=False,
                                       dynamic_ncols=True)
            else:
                self._bar.total = self.total
                self._bar.refresh()

    def update(self, n=1):
        with self._lock:
            self.done += n
            if self._bar is not None:
                self._bar.update(n)
                return
            tenth = (10 * self.done) // max(self.total, 1)
            if tenth > self._shown:
                self._shown = tenth
                print(f"{self.description}: {self.done}/{self.total}",
                      file=self.file, flush=True)

    def note(self, text):
        with self._lock:
            if self._bar is not None:
                self._bar.set_postfix_str(text)

    def close(self):
        if self._bar is not None:
            self._bar.close()


def current():
    """The reporter that work should be counted on (silent by default)."""
    return _reporter.get()


@contextmanager
def reporting(description, enabled=True, file=None):
    """Show the progress of the work done inside the block on ``file``."""
    if not enabled:
        token = _reporter.set(_SILENT)
        try:
            yield _SILENT
        finally:
            _reporter.reset(token)
        return
    reporter = _Reporter(description, sys.stderr if file is None else file)
    token = _reporter.set(reporter)
    try:
        yield reporter
    finally:
        _reporter.reset(token)
        reporter.close()


@contextmanager
def silenced():
    """Count nothing inside the block (for work a caller reports itself)."""
    token = _reporter.set(_SILENT)
    try:
        yield
    finally:
        _reporter.reset(token)


def warn_diverged(name, advice):
    """The ``ConvergenceWarning`` of a fit whose loss became non-finite."""
    warnings.warn(
        f"{name} diverged: the loss or its gradient became non-finite; the "
        f"last finite parameters were kept. Try to {advice}",
        ConvergenceWarning, stacklevel=2)


def warn_fit_outcome(name, solver, max_iter, result, *, fault, stuck,
                     no_step, warm, advice):
    """Warn (``ConvergenceWarning``) of what went wrong in a fit, if
    anything, in order of gravity: a model that is not a density
    (``fault``: why), a divergence or expert weights stuck at their bound
    (``stuck``), no step taken (``no_step``; nothing is said for a warm
    start, ``warm``, which was converged), ``max_iter`` reached."""
    if fault is not None:
        warnings.warn(
            f"{name} fitted a model that is not normalisable ({fault}); its "
            f"likelihood is undefined. Try to {advice}", ConvergenceWarning,
            stacklevel=2)
    elif result.diverged or stuck:
        warn_diverged(name, advice)
    elif no_step:
        if not warm:  # a warm start that takes no step was converged
            warnings.warn(
                f"{name} returned its starting point: the {solver} solver took "
                "no step (the loss was flat within tol at the start, or its "
                "first steps failed).  Check the scale of X (the Fields of "
                "Experts and the RBM expect data on the scale of [0, 1] images "
                "or standardised data), or lower tol.", ConvergenceWarning,
                stacklevel=2)
    elif not result.converged:
        unit, what = (("iterations", "max_iter or tol") if solver == "lbfgs"
                      else ("epochs", "max_iter or learning_rate"))
        warnings.warn(
            f"{solver} stopped after max_iter={max_iter} {unit} without "
            f"converging. Increase {what}.", ConvergenceWarning,
            stacklevel=2)
