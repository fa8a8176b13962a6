"""Training objectives: ``f(network, X) -> (loss, grads)``."""

from .rsm import regularized_score_matching

__all__ = ["regularized_score_matching"]
