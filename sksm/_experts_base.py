"""Expert energies (PoE and FoE): filters, expert weights and their bounds.

:class:`BaseExpertsEstimator` builds the energy of a Product or Field of
Experts from filters and log-weights, starts the fit from random orthonormal
filters (or the fitted ones with ``warm_start``) and keeps the learned
weights within ``[min_expert_weight, MAX_EXPERT_WEIGHT]``; fitting itself is
:class:`~sksm._base.BaseEnergyEstimator`'s.
"""

import warnings
from abc import abstractmethod
from numbers import Real

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._base import BaseEnergyEstimator
from ._filters import random_filters
from ._validation import Fitted, Interval

__all__ = ["MAX_EXPERT_WEIGHT", "MIN_EXPERT_WEIGHT", "BaseExpertsEstimator"]

#: Learned expert weights are kept at or above this value by default
#: (``min_expert_weight``): an expert ``exp(-alpha g)`` with ``alpha <= 1/2``
#: is not a normalisable density.
MIN_EXPERT_WEIGHT = 0.501
#: ... and at or below this one.  A weight that reaches it means the fit has
#: diverged: an expert is collapsing onto a (near-)constant direction of the
#: data, which unregularized score matching rewards without bound.
MAX_EXPERT_WEIGHT = 1e4


class BaseExpertsEstimator(BaseEnergyEstimator):
    """Expert energies (PoE and FoE): filters, expert weights and their bounds.

    A subclass says how many experts and filter inputs there are
    (``_n_experts``, ``_n_inputs``) and which energy to build
    (``_new_energy``).
    """

    _parameter_constraints = {
        **BaseEnergyEstimator._parameter_constraints,
        "c": [Interval(Real, 0, None, closed="neither")],
        "learn_weights": ["boolean"],
        "min_expert_weight": [Interval(Real, 0.5, MAX_EXPERT_WEIGHT,
                                       closed="neither")],
        "warm_start": ["boolean"],
    }

    _fitted_attributes = {
        **BaseEnergyEstimator._fitted_attributes,
        "expert_weights_": Fitted("array", ("n_filters",), positive=True),
    }

    @abstractmethod
    def _n_experts(self):
        """The number of experts (filters)."""

    @abstractmethod
    def _n_inputs(self):
        """The number of inputs of a filter."""

    @abstractmethod
    def _new_energy(self, V, beta):
        """The energy of filters ``V`` (rows) and log-weights ``beta``."""

    def _initial_energy(self, data, rng, restart=False, sample_weight=None):
        V, beta = self._init_params(data, rng, restart, sample_weight)
        return self._new_energy(V, beta)

    # -------------------------------------------------------------- #
    # Parameters <-> energy
    # -------------------------------------------------------------- #
    def _is_warm(self):
        return (hasattr(self, "filters_") and self._raw_filters().shape
                == (self._n_experts(), self._n_inputs()))

    def _init_params(self, data, rng, restart=False, sample_weight=None):
        """Initial (V, beta): the fitted ones with ``warm_start``, else
        the filters of ``_start_filters`` (of the rows of ``data`` weighted
        by ``sample_weight``) and unit weights (or learned ones at
        ``min_expert_weight``, if that is above 1)."""
        n_experts, dtype = self._n_experts(), data.dtype
        alpha = max(1.0, self.min_expert_weight) if self.learn_weights else 1.0
        beta = np.full(n_experts, np.log(alpha), dtype=dtype)
        if self.warm_start and self._is_warm():
            if self.learn_weights:
                beta = np.log(self.expert_weights_).astype(dtype)
            return self._raw_filters().astype(dtype), beta
        V = self._start_filters(data, n_experts, self._n_inputs(), rng,
                                restart, sample_weight)
        return V.astype(dtype), beta

    def _start_filters(self, data, n_experts, n_inputs, rng, restart=False,
                       sample_weight=None):
        """Random orthonormal filters (rows), and random directions for
        the filters beyond ``n_inputs``; subclasses may derive them from
        ``data`` (``restart``: a later start of ``n_init``;
        ``sample_weight``: the weights of its rows, or None)."""
        return random_filters(n_experts, n_inputs, rng)

    def _expert_names(self, input_features):
        """``<class name>_expert<i>`` for every expert, after the checks of
        ``get_feature_names_out`` (fitted, ``input_features`` as seen)."""
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        prefix = type(self).__name__.lower()
        return [f"{prefix}_expert{i}" for i in range(len(self.filters_))]

    def _raw_filters(self):
        """The learned filters as rows (n_experts, n_filter_inputs)."""
        return self.filters_.reshape(len(self.filters_), -1)

    def _fitted_energy(self, dtype=None):
        """The learned energy (on the energy's input space)."""
        W = self._raw_filters()
        if dtype is not None:
            W = W.astype(dtype)
        return self._new_energy(W, np.log(self.expert_weights_).astype(W.dtype))

    def __sksm_check_fitted__(self):
        super().__sksm_check_fitted__()
        if len(self.filters_) != self._n_experts():
            raise ValueError(f"filters_ holds {len(self.filters_)} filters "
                             f"where n_experts gives {self._n_experts()}.")
        weights = self.expert_weights_
        if not np.all((weights > 0.5)
                      & (weights <= MAX_EXPERT_WEIGHT * (1 + 1e-9))):
            raise ValueError(f"expert_weights_ must lie in (1/2, "
                             f"{MAX_EXPERT_WEIGHT:g}], where fits keep them, "
                             f"got {weights.min():.4g} to "
                             f"{weights.max():.4g}.")

    def _store(self, energy):
        self.filters_ = energy.filters.copy()
        self.expert_weights_ = self._bounded(energy.weights.copy())
        super()._store(energy)

    def _bounded(self, weights):
        """Learned ``weights`` within the fit's box, in their dtype: the
        exponential of a bound rounds past it by an ulp (in float32, by
        1e-7 of it)."""
        if not self.learn_weights:
            return weights
        return np.clip(weights, self.min_expert_weight, MAX_EXPERT_WEIGHT,
                       out=weights)

    def _box(self, energy):
        """Lower and upper bounds of theta (None, None without weights)."""
        if not self.learn_weights:
            return None, None
        n = energy.shape[0] * energy.shape[1]
        lower = np.full(energy.n_params, -np.inf)
        upper = np.full(energy.n_params, np.inf)
        lower[n:] = np.log(self.min_expert_weight)
        upper[n:] = np.log(MAX_EXPERT_WEIGHT)
        return lower, upper

    def _at_weight_bound(self):
        return self.learn_weights and bool(
            np.any(self.expert_weights_ >= 0.999 * MAX_EXPERT_WEIGHT))

    def _warn_diverged(self):
        warnings.warn(
            "Score matching diverged: the loss or its gradient became "
            "non-finite, or expert weights reached MAX_EXPERT_WEIGHT="
            f"{MAX_EXPERT_WEIGHT:g}; the last finite parameters were kept. "
            "This is the failure of unregularized score matching on quantized "
            "data (such as pixels) or data with constant features: increase "
            "reg_lambda (try 1e-3 to 1e-1), set learn_weights=False, or drop "
            "constant features.",
            ConvergenceWarning)
