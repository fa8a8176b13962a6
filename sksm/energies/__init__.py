"""Energies written as stacks of layers (see :mod:`sksm.energies.layers`)."""

from .layers import Elementwise, EnergyNetwork, Linear, WeightedSum
from .poe import ProductOfExperts

__all__ = ["Elementwise", "EnergyNetwork", "Linear", "ProductOfExperts",
           "WeightedSum"]
