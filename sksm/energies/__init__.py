"""Energies written as stacks of layers (see :mod:`sksm.energies.layers`)."""

from .base import Energy
from .conv import Conv2D
from .experts import FieldOfExperts, ProductOfExperts
from .layers import Elementwise, Linear, WeightedSum
from .network import EnergyNetwork, NetworkEnergy
from .noise_conditional import NoiseConditionalField
from .rbm import GaussianRBMEnergy

__all__ = ["Conv2D", "Elementwise", "Energy", "EnergyNetwork",
           "FieldOfExperts", "GaussianRBMEnergy", "Linear", "NetworkEnergy",
           "NoiseConditionalField", "ProductOfExperts", "WeightedSum"]
