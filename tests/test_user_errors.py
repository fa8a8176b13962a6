"""The faults a user met at the estimators' doors (issue 27): each answered
by a message that says what was received and what to do instead."""

import numpy as np
import pytest

from sksm import FieldsOfExperts, GaussianRBM, RegularizedScoreMatchingPoE

ESTIMATORS = [RegularizedScoreMatchingPoE, FieldsOfExperts, GaussianRBM]


# ---------------------------------------------------------------------- #
# partial_fit at the default solver
# ---------------------------------------------------------------------- #
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_partial_fit_at_the_default_solver_says_to_set_adam(Estimator):
    est = Estimator()
    assert not hasattr(est, "partial_fit")  # scikit-learn's available_if
    with pytest.raises(AttributeError) as info:
        est.partial_fit(np.zeros((4, 16)))
    message = str(info.value)  # its own message, not a chained cause
    assert "has no attribute 'partial_fit'" in message
    assert "got solver='auto', which is 'lbfgs'" in message
    assert "Set solver='adam'" in message
    assert info.value.__cause__ is None

    est.set_params(solver="lbfgs")
    with pytest.raises(AttributeError, match="got solver='lbfgs'.*"
                       "Set solver='adam'"):
        est.partial_fit(np.zeros((4, 16)))
    # on the class, the method is there (docs); called, the same message
    with pytest.raises(AttributeError, match="Set solver='adam'"):
        Estimator.partial_fit(est, np.zeros((4, 16)))
    assert Estimator.partial_fit.__doc__.startswith("Run one Adam epoch")

    assert hasattr(est.set_params(solver="adam"), "partial_fit")
    # 'auto' is Adam for contrastive divergence
    assert hasattr(Estimator(objective="cd"), "partial_fit")


# ---------------------------------------------------------------------- #
# objective__<setting> when objective is a string
# ---------------------------------------------------------------------- #
@pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning")  # short fits
def test_objective_settings_are_searchable_when_objective_is_a_string():
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    from sksm.objectives import DenoisingScoreMatching

    est = RegularizedScoreMatchingPoE(n_experts=6, objective="dsm",
                                      max_iter=20, random_state=0)
    assert est.get_params()["objective__training_noise"] == "auto"
    assert clone(est).get_params(deep=False)["objective"] == "dsm"
    X = np.random.RandomState(0).rand(40, 6)
    search = GridSearchCV(est, {"objective__training_noise": [0.05, 0.3]},
                          cv=2, error_score="raise").fit(X)
    best = search.best_estimator_.objective
    assert isinstance(best, DenoisingScoreMatching)
    assert best.training_noise == search.best_params_[
        "objective__training_noise"]
    assert est.objective == "dsm"  # the search set clones
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))

    # the call: the string becomes the instance it stands for
    est.set_params(objective__noise_sigma=0.1)
    assert est.objective.get_params() == DenoisingScoreMatching(
        noise_sigma=0.1).get_params()
    full = RegularizedScoreMatchingPoE(objective="rsm_full")
    assert full.set_params(**full.get_params()).objective.hessian == "full"
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        RegularizedScoreMatchingPoE(objective="ssm").set_params(
            objective__nope=1)
