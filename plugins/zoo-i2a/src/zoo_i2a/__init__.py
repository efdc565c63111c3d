"""Imagination-augmented agents (Weber et al. 2017) and their task, procedurally generated Sokoban.

So far: the rules (:func:`step`), the level generator (:func:`generate`), a breadth-first solver
(:func:`solve`) and the ``Sokoban/`` env family.
"""

from zoo_i2a.generate import generate
from zoo_i2a.sokoban import ACTIONS, Level, is_solved, step
from zoo_i2a.solver import solve

__all__ = ["ACTIONS", "Level", "generate", "is_solved", "solve", "step"]
