"""The predictron (Silver et al. 2017): an abstract model trained end to end for planning.

The math, with no zoo or pluggy imports: :func:`preturns`, :func:`lambda_weights`,
:func:`lambda_preturn`, the losses :func:`preturn_loss`, :func:`lambda_loss` and
:func:`consistency_loss`, and the maze task's :func:`maze_connectivity`, :func:`random_mazes` and :func:`maze_batch`.
"""

from zoo_predictron.losses import consistency_loss, lambda_loss, preturn_loss
from zoo_predictron.maze import maze_batch, maze_connectivity, random_mazes
from zoo_predictron.preturns import lambda_preturn, lambda_weights, preturns

__all__ = [
    "consistency_loss", "lambda_loss", "lambda_preturn", "lambda_weights", "maze_batch", "maze_connectivity",
    "preturn_loss", "preturns", "random_mazes",
]
