"""The three auxiliary tasks' hyperparameters (UNREAL's where the paper gives them)."""

from __future__ import annotations

from dataclasses import dataclass

from zoo_core.api import param

REPLAY_FRAMES = 2_000  # UNREAL keeps the last 2k frames


@dataclass(frozen=True)
class PixelControlConfig:
    """``pixel_control``: n-step Q-learning of the change of each cell of a grid over the frame."""

    weight: float = param(0.05, "Loss weight λ_PC (UNREAL sampled it in [0.01, 0.1]).", ge=0)
    discount: float = param(0.9, "Discount of the pixel-control returns.", ge=0, le=1)
    cell_size: int = param(4, "Side of a grid cell in pixels (UNREAL: 4, a 20x20 grid of an 80x80 crop).", ge=1)
    crop: int = param(0, "Central square crop before the grid (0: the whole frame; UNREAL: 80 of 84).", ge=0)
    batch_size: int = param(8, "Replayed sequences per update.", ge=1)
    replay_frames: int = param(REPLAY_FRAMES, "Frames of recent experience the replay keeps.", ge=1)


@dataclass(frozen=True)
class RewardPredictionConfig:
    """``reward_prediction``: classify the next reward (zero, positive, negative) from a few frames."""

    weight: float = param(1.0, "Loss weight λ_RP.", ge=0)
    frames: int = param(3, "Observations per prediction (UNREAL: 3).", ge=1)
    hidden: int = param(128, "Units of the classifier's hidden layer.", ge=1)
    batch_size: int = param(32, "Windows per update, half ending in a non-zero reward when any is stored.", ge=1)
    replay_frames: int = param(REPLAY_FRAMES, "Frames of recent experience the replay keeps.", ge=1)


@dataclass(frozen=True)
class ValueReplayConfig:
    """``value_replay``: the agent's value regressed to n-step returns on replayed sequences."""

    weight: float = param(1.0, "Loss weight λ_VR.", ge=0)
    batch_size: int = param(8, "Replayed sequences per update (drawn at random: decorrelated).", ge=1)
    replay_frames: int = param(REPLAY_FRAMES, "Frames of recent experience the replay keeps.", ge=1)
