"""Energies written as stacks of layers (see :mod:`sksm.energies.layers`)."""

from .base import Energy
from .conv import Conv2D
from .experts import FieldOfExperts, ProductOfExperts
from .layers import (Elementwise, EnergyNetwork, Linear, NetworkEnergy,
                     WeightedSum)
from .rbm import GaussianRBMEnergy

__all__ = ["Conv2D", "Elementwise", "Energy", "EnergyNetwork",
           "FieldOfExperts", "GaussianRBMEnergy", "Linear", "NetworkEnergy",
           "ProductOfExperts", "WeightedSum"]
