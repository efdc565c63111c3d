"""Rainbow (Hessel et al. 2018) as a recipe: DQN + double Q + n-step + dueling + PER + NoisyNet + C51."""

from zoo_rainbow.recipe import RAINBOW

__all__ = ["RAINBOW"]
__version__ = "0.1.0"
