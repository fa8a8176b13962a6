"""Energies written as stacks of layers (see :mod:`sksm.energies.layers`)."""

from .conv import Conv2D
from .experts import FieldOfExperts, ProductOfExperts
from .layers import Elementwise, EnergyNetwork, Linear, WeightedSum

__all__ = ["Conv2D", "Elementwise", "EnergyNetwork", "FieldOfExperts",
           "Linear", "ProductOfExperts", "WeightedSum"]
