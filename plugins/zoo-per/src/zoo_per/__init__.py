"""Prioritized experience replay (Schaul et al. 2016) as an Agent Zoo plugin."""

from zoo_per.rank import RankTable, power_law_cumulative, rank_segments, segment_probabilities
from zoo_per.replay import PrioritizedReplay
from zoo_per.sum_tree import SumTree
from zoo_per.weights import beta_at, importance_weights

__all__ = [
    "PrioritizedReplay",
    "RankTable",
    "SumTree",
    "beta_at",
    "importance_weights",
    "power_law_cumulative",
    "rank_segments",
    "segment_probabilities",
]
__version__ = "0.1.0"
