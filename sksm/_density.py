"""Density estimation for the estimators (PoE, FoE, GaussianRBM): score,
sampling and the log partition function.

An estimator provides its log-density (``score_samples``), its energy on
rows of ``X`` (``_row_energy``) and a Gaussian close to its density
(``_base_distribution``: by default the Laplace approximation at
``_mode`` with the Hessian ``_mode_hessian``, broadened); :class:`DensityMixin`
turns them into ``score``, ``sample``, ``estimate_log_partition`` and the
log-likelihood helpers.
"""

import time
from abc import ABCMeta, abstractmethod
import warnings
from contextlib import nullcontext

import numpy as np
from sklearn.base import DensityMixin as _DensityTag
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _progress
from ._parallel import single_threaded_blas
from ._validation import check_count, check_mask
from .sampling import (
    AUTO_TEMPERATURES,
    Gaussian,
    annealed_importance_sampling,
    run_mcmc,
)

#: The AIS base is the Laplace approximation at the mode with its precision
#: multiplied by this factor: a wider Gaussian, because Student-t experts have
#: heavier tails than their curvature at zero suggests.  On complete PoEs of
#: 14x14 MNIST (exact log Z known), 0.3 gave errors of 0.0-0.4 nats where the
#: plain Laplace approximation (1.0) gave 0.1-0.4 with fewer effective chains
#: and 0.1 gave 0.2-0.6 (1,000 temperatures, 100 chains).
BASE_PRECISION_FACTOR = 0.3

#: Default AIS settings of ``score_samples`` and ``estimate_log_partition``
#: ('auto': runs of 100, 200, 400, ... temperatures until two agree, see
#: :func:`sksm.sampling.annealed_importance_sampling`).
AIS_CHAINS = 100
AIS_TEMPERATURES = "auto"
#: ``score`` is NaN, with a warning, when the standard error of the
#: estimate of log Z exceeds this (nats): model selection must not rank
#: models by a likelihood the estimate cannot vouch for.
AIS_MAX_STDERR = 1.0
#: Leapfrog steps of every HMC transition of AIS.
AIS_LEAPFROG = 10
#: ``estimate_log_partition`` (and so the first ``score``) warns before an
#: AIS run it expects to take longer than this, in seconds, and says how to
#: make it shorter; with ``verbose`` it prints the estimate and shows progress.
AIS_WARN_SECONDS = 60.0


def _ais_cost(energy_grad, base, n_chains, n_temperatures):
    """Seconds that AIS should take: one evaluation of the model and the
    base on ``n_chains`` draws, timed (the faster of two), times the
    ``n_temperatures * (AIS_LEAPFROG + 1)`` evaluations of the run."""
    x = base.sample(n_chains, np.random.RandomState(0))
    best = np.inf
    # timed as AIS runs them, with BLAS on one thread
    with single_threaded_blas():
        for _ in range(2):
            start = time.perf_counter()
            with np.errstate(all="ignore"):
                energy_grad(x)
                base.energy_grad(x)
            best = min(best, time.perf_counter() - start)
    return best * n_temperatures * (AIS_LEAPFROG + 1)


def _duration(seconds):
    """``seconds`` in words: '40 s', '3.5 min' or '2.1 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class DensityMixin(_DensityTag, metaclass=ABCMeta):
    """A density estimator: scikit-learn's density-estimator tag, ``score``
    as the mean of ``score_samples``, ``sample``, ``estimate_log_partition``
    and the cached log Z.

    Hooks: ``score_samples`` and ``_row_energy`` (abstract); the base of AIS
    and of the chains, ``_base_distribution`` (by default from ``_mode`` and
    ``_mode_hessian``), and ``_exact_log_partition`` (by default none).
    """

    # -------------------------------------------------------------- #
    # Hooks
    # -------------------------------------------------------------- #
    @abstractmethod
    def score_samples(self, X):
        """Log-density of every row of ``X``, in nats (float64)."""

    @abstractmethod
    def _row_energy(self):
        """Return ``f(X) -> (E, dE/dX)`` on float64 rows of the input."""

    def _mode(self):
        """Where the energy is lowest in its quadratic approximation (the
        default ``_base_distribution`` needs it)."""
        raise NotImplementedError(
            f"{type(self).__name__} defines neither _mode nor "
            "_base_distribution.")

    def _mode_hessian(self):
        """The energy's Hessian at ``_mode`` (the default
        ``_base_distribution`` needs it)."""
        raise NotImplementedError(
            f"{type(self).__name__} defines neither _mode_hessian nor "
            "_base_distribution.")

    def _exact_log_partition(self):
        """The closed-form log Z, or None where there is none."""

    def _ais_base(self):
        """The start of AIS: by default ``_base_distribution``."""
        return self._base_distribution()

    def _base_distribution(self):
        """The Gaussian that AIS and the chains start from: the broadened
        Laplace approximation (see BASE_PRECISION_FACTOR)."""
        H = self._mode_hessian().astype(np.float64)
        # a tiny ridge keeps directions that no expert sees proper
        ridge = 1e-8 * np.trace(H) / len(H)
        return Gaussian(self._mode().astype(np.float64),
                        BASE_PRECISION_FACTOR * (H + ridge * np.eye(len(H))))

    # -------------------------------------------------------------- #
    # Density
    # -------------------------------------------------------------- #
    def score(self, X, y=None):
        """Mean log-likelihood of the rows of ``X``, in nats (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples as rows (for a Field of Experts, images of
            ``image_shape_`` as rows of pixels).
        y : None
            Ignored.

        Returns
        -------
        score : float
            The mean of :meth:`score_samples`, in nats; ``-inf`` if a row
            has density 0 in float64; NaN, with a ``ConvergenceWarning``,
            when the log partition function is an estimate whose standard
            error exceeds ``AIS_MAX_STDERR`` (1 nat), so that a model
            selection such as :class:`~sklearn.model_selection.GridSearchCV`
            ranks it last instead of by a number the estimate cannot vouch
            for.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If ``X`` does not have ``n_features_in_`` columns or holds NaN
            or infinity.
        """
        log_density = self.score_samples(X)
        stderr = getattr(self, "log_partition_std_", 0.0)
        # the closed form, where there is one, is only looked up (again)
        # when a cached estimate is too uncertain
        if (not stderr <= AIS_MAX_STDERR
                and self._exact_log_partition() is None):
            warnings.warn(
                f"score is NaN: the estimate of log Z has a standard error of "
                f"{stderr:.3g} nats, above AIS_MAX_STDERR={AIS_MAX_STDERR:g}. "
                "Call estimate_log_partition(n_temperatures=...) with more "
                "temperatures (or n_chains) before score.",
                ConvergenceWarning, stacklevel=2)
            return float("nan")
        # the sum of the shares cannot overflow where the plain sum can
        return float(np.sum(log_density / len(log_density)))

    def estimate_log_partition(self, method="ais", *, n_chains=AIS_CHAINS,
                               n_temperatures=AIS_TEMPERATURES,
                               random_state=None):
        r"""Estimate :math:`\log Z`, the log of the normaliser of ``exp(-E)``.

        The result is also stored as ``log_partition_`` and
        ``log_partition_std_``, which :meth:`score_samples` then uses.

        Parameters
        ----------
        method : {'ais', 'exact'}, default='ais'
            'ais': annealed importance sampling
            (:func:`sksm.sampling.annealed_importance_sampling`) with HMC
            transitions from a base distribution: for a Product of Experts,
            an equal mixture of the Gaussian below and a product of
            ``n_features`` of its own Student-t experts (the model itself
            when it is complete); for a Field of Experts, the Laplace
            approximation of the model at its mode widened by lowering its
            precision to 0.3 times the energy's Hessian; for
            :class:`~sksm.GaussianRBM`, the Gaussian :math:`N(c, \sigma^2
            I)` of its visible units.
            'exact': the closed form, where there is one (the complete PoE;
            a GaussianRBM with ``sigma=1`` and at most 16 hidden units).
        n_chains : int, default=100
            Independent AIS runs; the standard error falls as their square
            root.
        n_temperatures : int or 'auto', default='auto'
            Intermediate distributions; more reduce the downward bias of the
            log of the mean weight.  'auto': independent runs of 100, 200,
            400, ... (at most 3,200) temperatures until one agrees with the
            one before within 0.5 nats, on at least a tenth of its chains;
            the standard error returned is then at least that change (see
            :func:`~sksm.sampling.annealed_importance_sampling`).
        random_state : int, RandomState instance or None, default=None
            Seeds the base draws and the HMC transitions of 'ais'.

        Returns
        -------
        log_partition : float
            The estimate of :math:`\log Z`, in nats, for the density of the
            estimator's input (rows of ``X``).
        stderr : float
            Standard error of the estimate (0 for 'exact'); above
            ``AIS_MAX_STDERR`` (1 nat), :meth:`score` returns NaN.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If ``method='exact'`` and the model has no closed form, or
            ``method`` is neither 'ais' nor 'exact'.

        Notes
        -----
        Before an AIS run starts, its time is estimated from one timed
        evaluation of the energy and the base on ``n_chains`` draws (the run
        makes ``n_temperatures * 11`` of them; 'auto' at least 300 * 11, at
        most 6,300 * 11): printed when the estimator has ``verbose`` set,
        which also shows the progress of the run (a tqdm bar if tqdm is
        installed), else warned (``UserWarning``) when above a minute.  The
        time grows linearly in ``n_chains`` and ``n_temperatures``.

        A ``ConvergenceWarning`` says when the estimate cannot be trusted:
        with 'auto', when no two runs agreed; with a fixed number, when
        fewer than 5% of the chains are effective.

        AIS cannot find probability mass that no chain reaches.  Experts with
        weights near the lower bound 1/2 have marginals so heavy-tailed (a
        Student-t with :math:`2\alpha - 1` degrees of freedom) that most of
        their mass lies at astronomically large responses: for a PoE with such
        experts the estimate is far too low, and the log-likelihood too high.
        """
        check_is_fitted(self)
        if method == "exact":
            exact = self._exact_log_partition()
            if exact is None:
                raise ValueError(
                    f"{type(self).__name__} with these settings has no "
                    "closed-form normaliser; use method='ais'.")
            estimate, stderr = exact, 0.0
        elif method == "ais":
            n_chains = check_count(n_chains, "n_chains", minimum=2)
            if not (isinstance(n_temperatures, str)
                    and n_temperatures == "auto"):
                n_temperatures = check_count(n_temperatures, "n_temperatures")
            energy_grad, base = self._row_energy(), self._ais_base()
            self._announce_ais(energy_grad, base, n_chains, n_temperatures)
            verbose = bool(getattr(self, "verbose", 0))
            with (_progress.reporting("AIS (log Z)") if verbose
                  else nullcontext()):
                result = annealed_importance_sampling(
                    energy_grad, base, n_chains=n_chains,
                    n_temperatures=n_temperatures, method="hmc",
                    n_leapfrog=AIS_LEAPFROG, random_state=random_state)
            estimate, stderr = result.log_partition, result.stderr
            self._warn_unreliable(result, n_chains)
        else:
            raise ValueError(f"method must be 'ais' or 'exact', got "
                             f"{method!r}.")
        self.log_partition_ = float(estimate)
        self.log_partition_std_ = float(stderr)
        return self.log_partition_, self.log_partition_std_

    def _announce_ais(self, energy_grad, base, n_chains, n_temperatures):
        """State the expected time of an AIS run before it starts: printed
        with ``verbose``, else a warning if it exceeds AIS_WARN_SECONDS."""
        auto = isinstance(n_temperatures, str)
        low = sum(AUTO_TEMPERATURES[:2]) if auto else n_temperatures
        seconds = _ais_cost(energy_grad, base, n_chains, low)
        what = (f"runs of {AUTO_TEMPERATURES[0]}, {AUTO_TEMPERATURES[1]}, ..."
                f" temperatures until two agree" if auto
                else f"{n_temperatures} temperatures")
        most = seconds * sum(AUTO_TEMPERATURES) / low
        took = (f"about {_duration(seconds)} if the second run agrees with "
                f"the first, at most {_duration(most)}" if auto
                else f"about {_duration(seconds)}")
        text = (f"AIS estimate of log Z: {n_chains} chains x {what} x "
                f"{AIS_LEAPFROG + 1} energy evaluations on {base.mean.size} "
                f"dimensions, expected to take {took}")
        if getattr(self, "verbose", 0):
            print(text + ".", flush=True)
        elif seconds > AIS_WARN_SECONDS:
            warnings.warn(
                f"{text}.  The time grows in proportion to n_chains and "
                "n_temperatures; call estimate_log_partition(n_chains=..., "
                "n_temperatures=...) first (score and score_samples then use "
                "its cached estimate) to trade accuracy for time, and set "
                "verbose=1 to see progress.", UserWarning, stacklevel=3)

    def _warn_unreliable(self, result, n_chains):
        """A ConvergenceWarning when the AIS estimate is not to be trusted."""
        if result.converged is False:
            warnings.warn(
                f"Annealed importance sampling did not converge: runs of up "
                f"to {result.n_temperatures} temperatures still disagree "
                f"(standard error {result.stderr:.2g} nats, "
                f"{result.effective_sample_size:.1f} effective chains of "
                f"{n_chains}); the estimate of log Z is likely too low. Call "
                "estimate_log_partition(n_temperatures=...) with more "
                "temperatures.", ConvergenceWarning, stacklevel=3)
        elif result.effective_sample_size < 0.05 * n_chains:
            warnings.warn(
                f"Annealed importance sampling rests on "
                f"{result.effective_sample_size:.1f} effective chains of "
                f"{n_chains}: the estimate of log Z is unreliable (and "
                "likely too low). Increase n_temperatures, or use "
                "n_temperatures='auto'.", ConvergenceWarning, stacklevel=3)

    def _log_partition(self):
        """Exact log Z, else the cached estimate, else a new AIS estimate
        seeded by ``random_state`` (cached)."""
        exact = self._exact_log_partition()
        if exact is not None:
            return exact
        if not hasattr(self, "log_partition_"):
            self.estimate_log_partition(random_state=self.random_state)
        return self.log_partition_

    def _forget_log_partition(self):
        """Drop the cached estimate: it belongs to the previous parameters."""
        self.__dict__.pop("log_partition_", None)
        self.__dict__.pop("log_partition_std_", None)

    def score_samples_per_dim(self, X, base=np.e):
        """Log-density of every row divided by ``n_features``.

        Per-dimension log-likelihoods compare models of images of different
        sizes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples as rows, as for :meth:`score_samples`.
        base : float, default=e
            ``np.e`` for nats per dimension, 2 for bits per dimension.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            In float64, in units of ``log(base)`` per feature.

        Raises
        ------
        ValueError
            If ``base`` is not a number above 1.
        """
        if not (np.isfinite(base) and base > 1):
            raise ValueError(f"base must be a number above 1 (e for nats, 2 "
                             f"for bits), got {base!r}.")
        return self.score_samples(X) / (self.n_features_in_ * np.log(base))

    # -------------------------------------------------------------- #
    # Sampling
    # -------------------------------------------------------------- #
    def sample(self, n_samples=1, random_state=None, *, method="hmc",
               n_steps=1000, mask=None, X_fixed=None):
        """Draw samples from the model by Markov chain Monte Carlo.

        ``n_samples`` independent chains start from draws of a Gaussian close
        to the model (the widened Laplace approximation that
        :meth:`estimate_log_partition` describes) and run ``n_steps``
        transitions of :func:`sksm.sampling.run_mcmc`, the first half
        adapting the step size; the last state of every chain is returned.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples, one chain each.
        random_state : int, RandomState instance or None, default=None
            Seeds the starting points and the chains.
        method : {'hmc', 'mala', 'ula'}, default='hmc'
            The transition of :func:`sksm.sampling.run_mcmc`.
        n_steps : int, default=1000
            Transitions per chain, at least 2.
        mask : array-like of bool of shape (n_features,), default=None
            Conditional sampling: True where values are drawn, False where
            they are kept at ``X_fixed`` (for images, stochastic inpainting).
        X_fixed : array-like of shape (n_features,) or (n_samples, \
n_features), default=None
            The values of the fixed coordinates (needed with ``mask``).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Rows in the estimator's input space (pixels, not whitened), in
            float64.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If ``mask`` and ``X_fixed`` do not go together or do not match
            ``n_features_in_``.

        Notes
        -----
        Student-t experts have heavy tails: the response of an expert of
        weight :math:`\\alpha` has a Student-t marginal with
        :math:`2\\alpha - 1` degrees of freedom, a Cauchy distribution at
        the paper's :math:`\\alpha = 1`, without a mean or variance.  The
        model knows nothing of the bounds of pixels, and score matching
        fits its score where the data are, not its tails.  So samples hold
        values far outside the range of the data: most pixels of a digit
        model with unit weights lie outside [0, 1] (see the User Guide,
        "Samplers").  They show what the density is; for images that look
        like the data, condition on observed pixels (``mask``) or restore
        with ``denoise``.
        """
        check_is_fitted(self)
        n_samples = check_count(n_samples, "n_samples")
        n_steps = check_count(n_steps, "n_steps", minimum=2)
        rng = check_random_state(random_state)
        n_features = self.n_features_in_
        x0 = self._base_distribution().sample(n_samples, rng)
        if mask is not None:
            mask = check_mask(mask, (n_features,))
            if X_fixed is None:
                raise ValueError("Conditional sampling (mask) needs X_fixed, "
                                 "the values of the fixed coordinates.")
            fixed = np.asarray(X_fixed, dtype=np.float64)
            if fixed.shape not in ((n_features,), (n_samples, n_features)):
                raise ValueError(
                    f"X_fixed must have shape ({n_features},) or "
                    f"({n_samples}, {n_features}), got {fixed.shape}.")
            if not np.isfinite(fixed[..., ~mask]).all():
                raise ValueError("X_fixed has non-finite fixed values.")
            x0 = np.where(mask, x0, fixed)
        elif X_fixed is not None:
            raise ValueError("X_fixed is only used with a mask.")
        result = run_mcmc(self._row_energy(), x0, method=method,
                          n_steps=n_steps // 2, n_warmup=n_steps - n_steps // 2,
                          mask=mask, keep_samples=False, random_state=rng)
        return result.state
