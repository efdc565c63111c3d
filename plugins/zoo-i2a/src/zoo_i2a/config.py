"""I2A's hyperparameters (the ``i2a`` config section)."""

from __future__ import annotations

from dataclasses import dataclass

from zoo_core.api import param


@dataclass(frozen=True)
class I2AConfig:
    """Imagination-augmented agents (Weber et al. 2017) on an actor-critic learner."""

    model: str = param(
        "", "The environment model: a folder written by `zoo i2a-model`, registry:NAME of a bundled one, "
        "copy (the copy model: imagination without a model) or none (no imagination: the standard agent).")
    depth: int = param(3, "τ, the imagined steps of each rollout.", ge=1)
    distill_cost: float = param(1.0, "Weight of the rollout policy's distillation loss.", ge=0)
    encoding: int = param(64, "Units of the rollout encoder's LSTM (one encoding per first action).", ge=1)
    rollout_channels: int = param(16, "Channels of the rollout policy's and rollout encoder's CNNs.", ge=1)
    channels: int = param(32, "Channels of the model-free path's CNN (the standard agent's whole torso).", ge=1)
    features: int = param(256, "Units of the layer over the model-free path and the rollout encodings.", ge=1)
