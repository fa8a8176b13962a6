"""scikit-learn's estimator checks at every estimator's default parameters,
and the tags that tell those checks (and meta-estimators) what it does.

The per-estimator test files run the same checks at fast settings and with
other objectives and solvers.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import (
    check_estimator,
    parametrize_with_checks,
)

from sksm import FieldsOfExperts, GaussianRBM, RegularizedScoreMatchingPoE
from sksm._estimator_checks import IMAGE_SIZE_CHECKS, expected_failed_checks

ESTIMATORS = [RegularizedScoreMatchingPoE, FieldsOfExperts, GaussianRBM]


@parametrize_with_checks([cls() for cls in ESTIMATORS],
                         expected_failed_checks=expected_failed_checks)
def test_default_parameters_pass_the_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def _results(estimator):
    """Every check's status, exception and whether it was declared."""
    results = []

    def callback(estimator, check_name, exception, status, expected_to_fail,
                 expected_to_fail_reason):
        results.append((check_name, status, exception, expected_to_fail))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(estimator, on_fail=None, on_skip=None,
                        callback=callback,
                        expected_failed_checks=expected_failed_checks(
                            estimator))
    return results


def _chain(exception):
    """The messages of an exception and of those it was raised from."""
    messages = []
    while exception is not None:
        messages.append(str(exception))
        exception = exception.__cause__ or exception.__context__
    return " ".join(messages)


def test_foe_fails_only_the_declared_checks_and_for_the_declared_reason():
    results = _results(FieldsOfExperts())
    failed = {name for name, status, _, _ in results
              if status in ("failed", "xfail")}
    # those of the declared checks that this scikit-learn runs (1.6 has no
    # check_all_zero_sample_weights_error)
    assert failed == set(IMAGE_SIZE_CHECKS) & {r[0] for r in results}
    assert not [r for r in results if r[1] == "failed"]
    for name, status, exception, declared in results:
        if status == "xfail":
            # the checks' 1 x n images have no place for a 5x5 filter
            assert "are too small for 5x5 filters" in _chain(exception), name


def test_a_foe_of_one_pixel_filters_has_no_expected_failures():
    assert expected_failed_checks(FieldsOfExperts(filter_size=1)) == {}
    assert expected_failed_checks(
        FieldsOfExperts(filter_size=1, whiten="laplacian")) != {}
    assert expected_failed_checks(GaussianRBM()) == {}
    # the PoE's L-BFGS computes in float32: the sample-weight equivalence
    # holds to float32 rounding only (tests/test_sample_weight.py)
    assert set(expected_failed_checks(RegularizedScoreMatchingPoE())) == {
        "check_sample_weight_equivalence_on_dense_data"}
    assert expected_failed_checks(RegularizedScoreMatchingPoE(
        solver="adam")) == {}


# --------------------------------------------------------------------- #
# Tags: each says what the estimator does, and is tested by doing it
# --------------------------------------------------------------------- #
def _fitted(cls, X):
    params = {"max_iter": 3, "random_state": 0}
    if cls is FieldsOfExperts:
        params.update(n_experts=2, filter_size=2)
    elif cls is GaussianRBM:
        params.update(n_components=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cls(**params).fit(X)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_tags_say_what_the_estimator_does(cls):
    tags = get_tags(cls())
    assert tags.estimator_type == "density_estimator"
    assert tags.requires_fit and not tags.non_deterministic
    assert tags.target_tags.required is False
    inputs = tags.input_tags
    assert inputs.two_d_array and not inputs.one_d_array
    assert not (inputs.sparse or inputs.allow_nan or inputs.positive_only
                or inputs.categorical or inputs.string or inputs.pairwise)
    assert tags.transformer_tags.preserves_dtype == ["float64", "float32"]

    rng = np.random.RandomState(0)
    X = rng.rand(12, 9) - 0.5  # negative values: positive_only is False
    est = _fitted(cls, X)
    # preserves_dtype: float32 in, float32 out; other dtypes become float64
    assert est.transform(X.astype(np.float32)).dtype == np.float32
    assert est.transform(X).dtype == np.float64
    assert est.transform((X > 0).astype(np.int64)).dtype == np.float64
    # requires_fit
    with pytest.raises(Exception, match="not fitted"):
        cls().transform(X)
    # non_deterministic is False: the same seed gives the same model
    np.testing.assert_array_equal(_fitted(cls, X).transform(X),
                                  est.transform(X))
    # allow_nan and sparse are False: refused with a message
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        _fitted(cls, bad)
    with pytest.raises(TypeError, match="[Ss]parse"):
        _fitted(cls, sp.csr_matrix(X))


def test_the_base_classes_declare_the_hooks_an_estimator_provides():
    """The private bases are abstract: a subclass that misses a hook fails
    at construction, not in the middle of a fit."""
    from sksm._base import BaseEnergyEstimator
    from sksm._density import DensityMixin
    from sksm._experts_base import BaseExpertsEstimator

    density = {"score_samples", "_row_energy"}
    assert DensityMixin.__abstractmethods__ == density
    assert BaseEnergyEstimator.__abstractmethods__ == density | {
        "_fit_data", "_partial_fit_data", "_initial_energy",
        "_fitted_energy"}
    assert BaseExpertsEstimator.__abstractmethods__ == density | {
        "_fit_data", "_partial_fit_data", "_n_experts", "_n_inputs",
        "_new_energy"}
    for base in (DensityMixin, BaseEnergyEstimator, BaseExpertsEstimator):
        with pytest.raises(TypeError, match="abstract"):
            base()
    for cls in ESTIMATORS:
        assert not cls.__abstractmethods__
        assert isinstance(cls(), DensityMixin)

