"""Information criteria (BIC, AIC) of the density estimators.

Only for a fitted model whose log-likelihood is exact (its log partition
function in closed form, ``_exact_log_partition``): an estimate of log Z by
annealed importance sampling has an error (its standard error, and its
downward bias) that the criteria would count once per sample, far above
the penalties they weigh it against.
"""

import numpy as np
from sklearn.utils.validation import _num_samples, check_is_fitted

__all__ = ["InformationCriteriaMixin"]


class InformationCriteriaMixin:
    """``bic`` and ``aic`` from ``score``, ``_exact_log_partition`` and the
    number of free parameters, ``_n_parameters`` (a hook)."""

    def _n_parameters(self):
        """The number of free parameters of the fitted density."""
        raise NotImplementedError(
            f"{type(self).__name__} does not count its parameters.")

    def _criterion(self, X, name, penalty):
        """``-2 * score(X) * n_samples + penalty(n_samples) *
        n_parameters``, or ValueError without an exact likelihood."""
        check_is_fitted(self)
        if self._exact_log_partition() is None:
            raise ValueError(
                f"{name} needs the exact log-likelihood, and "
                f"{type(self).__name__} with these settings has no closed-"
                "form log Z, only an estimate by annealed importance "
                "sampling, whose error counts n_samples times in the "
                "criterion, far more than the penalty it compares.  Fit a "
                "model with an exact likelihood (a complete Product of "
                "Experts, n_experts=n_features; a GaussianRBM with sigma=1 "
                "and at most 16 components), or compare models by score() "
                "on held-out data.")
        n = _num_samples(X)
        return -2.0 * self.score(X) * n + penalty(n) * self._n_parameters()

    def bic(self, X):
        """Bayesian information criterion of the fitted model on ``X``.

        ``-2 * score(X) * n_samples + n_parameters * log(n_samples)``, as
        :meth:`sklearn.mixture.GaussianMixture.bic`; lower is better.  Only
        for a model whose log-likelihood is exact: a complete
        :class:`~sksm.RegularizedScoreMatchingPoE` (``n_experts ==
        n_features``) and a :class:`~sksm.GaussianRBM` with ``sigma=1`` and
        at most 16 hidden units.  Other models' log Z is an estimate by
        annealed importance sampling, whose error would count
        ``n_samples`` times here, far more than the penalty: compare them
        by :meth:`score` on held-out data.

        The free parameters counted: for a Product of Experts,
        ``n_features - 1`` per unit-norm filter, the expert weights if
        learned, the ``n_features`` of ``mean_`` and 1 for ``scale_`` (``c``
        is fixed); for a GaussianRBM, the weights and both biases
        (``sigma`` is fixed).  The models are fitted by score matching, not
        maximum likelihood: the criterion weighs each fitted density's
        likelihood against its size, as for any other estimate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples as rows.

        Returns
        -------
        bic : float
            In nats.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If the model's log-likelihood is not exact, or ``X`` does not
            have ``n_features_in_`` columns or holds NaN or infinity.
        """
        return self._criterion(X, "bic", lambda n: float(np.log(n)))

    def aic(self, X):
        """Akaike information criterion of the fitted model on ``X``.

        ``-2 * score(X) * n_samples + 2 * n_parameters``, as
        :meth:`sklearn.mixture.GaussianMixture.aic`; lower is better.  Only
        for a model whose log-likelihood is exact; :meth:`bic` says which
        models those are and which parameters are counted.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples as rows.

        Returns
        -------
        aic : float
            In nats.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ValueError
            If the model's log-likelihood is not exact, or ``X`` does not
            have ``n_features_in_`` columns or holds NaN or infinity.
        """
        return self._criterion(X, "aic", lambda n: 2.0)
