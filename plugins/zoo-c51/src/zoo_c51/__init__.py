"""Categorical distributional RL, C51 (Bellemare, Dabney & Munos 2017), as an Agent Zoo plugin."""

from zoo_c51.loss import (
    categorical_cross_entropy_and_grad,
    categorical_double_q_learning,
    categorical_q_learning,
    categorical_target,
)
from zoo_c51.projection import categorical_l2_project
from zoo_c51.value import C51Value

__all__ = ["C51Value", "categorical_cross_entropy_and_grad", "categorical_double_q_learning",
           "categorical_l2_project", "categorical_q_learning", "categorical_target"]
__version__ = "0.1.0"
