"""Training objectives: ``f(network, X, ...) -> (loss, grads)``.

Each function evaluates a loss over the rows of ``X`` and leaves the gradient
of every layer parameter in ``network.grads``; whatever is random (noise,
projection directions, negative samples) is an argument, so every function
is deterministic and can be checked against finite differences.
"""

from .cd import contrastive_divergence
from .dsm import denoising_score_matching
from .rsm import full_regularized_score_matching, regularized_score_matching
from .ssm import sliced_score_matching

__all__ = ["contrastive_divergence", "denoising_score_matching",
           "full_regularized_score_matching", "regularized_score_matching",
           "sliced_score_matching"]
