"""UNREAL's auxiliary tasks (Jaderberg et al. 2016) as three composable plugins, and MiniGrid as pixels.

The math, with no zoo or pluggy imports: :func:`pixel_control_rewards`, :func:`pixel_control_targets`,
:func:`pixel_control_loss`, :func:`reward_classes`, :func:`reward_windows`, :func:`skewed_sample`,
:func:`reward_prediction_loss`, :func:`nstep_returns` and :func:`value_replay_loss`.
"""

from zoo_unreal.pixel_control import central_crop, pixel_control_loss, pixel_control_rewards, pixel_control_targets
from zoo_unreal.returns import nstep_returns
from zoo_unreal.reward_prediction import (
    NEGATIVE,
    POSITIVE,
    ZERO,
    reward_classes,
    reward_prediction_loss,
    reward_windows,
    skewed_sample,
)
from zoo_unreal.value_replay import value_replay_loss

__all__ = [
    "NEGATIVE", "POSITIVE", "ZERO", "central_crop", "nstep_returns", "pixel_control_loss", "pixel_control_rewards",
    "pixel_control_targets", "reward_classes", "reward_prediction_loss", "reward_windows", "skewed_sample",
    "value_replay_loss",
]
