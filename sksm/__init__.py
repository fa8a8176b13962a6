"""sksm: energy-based models of images learned by score matching.

Kingma & LeCun (2010), *Regularized estimation of image statistics by Score
Matching*, with the habits of scikit-learn.
"""

from .experts import DEFAULT_C, StudentT
from .foe import FieldsOfExperts
from .ncfoe import NoiseConditionalFieldsOfExperts
from .poe import RegularizedScoreMatchingPoE
from .pretrained import load_pretrained_foe, load_pretrained_ncfoe
from .rbm import GaussianRBM

__version__ = "0.1.0"

__all__ = ["DEFAULT_C", "FieldsOfExperts", "GaussianRBM",
           "NoiseConditionalFieldsOfExperts",
           "RegularizedScoreMatchingPoE",
           "StudentT", "__version__", "load_pretrained_foe",
           "load_pretrained_ncfoe"]
