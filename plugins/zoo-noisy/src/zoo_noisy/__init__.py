"""Noisy networks for exploration (Fortunato et al. 2018) as an Agent Zoo plugin."""

from zoo_noisy.exploration import NoisyGreedy
from zoo_noisy.layer import NoisyLinear
from zoo_noisy.noise import factorise, factorised_noise, signed_sqrt

__all__ = ["NoisyGreedy", "NoisyLinear", "factorise", "factorised_noise", "signed_sqrt"]
__version__ = "0.1.0"
