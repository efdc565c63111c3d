"""Dueling network architecture (Wang et al. 2016) as an Agent Zoo plugin."""

from zoo_dueling.aggregation import dueling_aggregate
from zoo_dueling.head import DuelingHead

__all__ = ["DuelingHead", "dueling_aggregate"]
__version__ = "0.1.0"
