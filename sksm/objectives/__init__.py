"""Training objectives.

Each objective is a small class that owns its settings and its
loss-and-gradient (:class:`~sksm.objectives.base.Objective`); every
estimator takes one as ``objective=``, or a string standing for the default
instance (:data:`OBJECTIVES`).  Underneath, each loss is a function
``f(network, X, ...) -> (loss, grads)`` that leaves the gradient of every
layer parameter in ``network.grads``; whatever is random in it (noise,
projection directions, negative samples) is an argument, so every function
is deterministic and can be checked against finite differences.
"""

from ._loss import TrainingLoss
from .base import Objective
from .cd import ContrastiveDivergence, contrastive_divergence
from .dsm import DenoisingScoreMatching, denoising_score_matching
from .ncdsm import NoiseConditionalDSM, noise_conditional_dsm
from .rsm import (
    RegularizedScoreMatching,
    full_regularized_score_matching,
    regularized_score_matching,
)
from .ssm import SlicedScoreMatching, sliced_score_matching

__all__ = ["OBJECTIVES", "ContrastiveDivergence", "DenoisingScoreMatching",
           "NoiseConditionalDSM", "Objective", "RegularizedScoreMatching", "SlicedScoreMatching",
           "TrainingLoss", "check_objective", "contrastive_divergence",
           "denoising_score_matching", "full_regularized_score_matching",
           "noise_conditional_dsm",
           "regularized_score_matching", "sliced_score_matching"]

#: The strings ``objective=`` takes, and the objects they stand for.
OBJECTIVES = {
    "rsm": RegularizedScoreMatching,
    "rsm_full": lambda: RegularizedScoreMatching(hessian="full"),
    "dsm": DenoisingScoreMatching,
    "ssm": SlicedScoreMatching,
    "cd": ContrastiveDivergence,
}


def check_objective(objective):
    """Return the :class:`Objective` that ``objective`` stands for.

    Parameters
    ----------
    objective : str or Objective
        An instance, or one of the strings of :data:`OBJECTIVES` ('rsm',
        'rsm_full', 'dsm', 'ssm', 'cd').

    Returns
    -------
    objective : Objective
        The instance itself (not a copy), or a new default instance for a
        string.

    Raises
    ------
    ValueError
        For a string that names no objective.
    TypeError
        For anything else that is not an :class:`Objective`.
    """
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, str):
        if objective not in OBJECTIVES:
            raise ValueError(
                f"objective={objective!r} is not one of "
                f"{sorted(OBJECTIVES)}; pass one of them or an instance of "
                "an sksm.objectives.Objective subclass.")
        return OBJECTIVES[objective]()
    raise TypeError(
        f"objective must be a string of {sorted(OBJECTIVES)} or an "
        f"sksm.objectives.Objective, got {type(objective).__name__}.")
