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
