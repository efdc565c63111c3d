"""The predictron (Silver et al. 2017): an abstract model trained end to end for planning.

The math, with no zoo or pluggy imports: :func:`preturns`, :func:`lambda_weights`,
:func:`lambda_preturn`, and the maze task's :func:`maze_connectivity` and :func:`random_mazes`.
"""

from zoo_predictron.maze import maze_connectivity, random_mazes
from zoo_predictron.preturns import lambda_preturn, lambda_weights, preturns

__all__ = ["lambda_preturn", "lambda_weights", "maze_connectivity", "preturns", "random_mazes"]
