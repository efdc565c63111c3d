"""PopArt value normalisation (van Hasselt et al. 2016; Hessel et al. 2019) as an Agent Zoo plugin."""

from zoo_popart.art import (
    MIN_SIGMA,
    art_update,
    normalize,
    normalized_value_loss,
    pop_rescale,
    sigma_from_moments,
    unnormalize,
)
from zoo_popart.layer import PopArt

__all__ = ["MIN_SIGMA", "PopArt", "art_update", "normalize", "normalized_value_loss", "pop_rescale",
           "sigma_from_moments", "unnormalize"]
__version__ = "0.1.0"
