"""The I2A torso (Weber et al. 2017, figure 1), registered as the ``i2a`` torso so the zoo's
actor-critic learners train it: the actor-critic network puts its policy and value heads on top.

``I2ATorso(obs uint8 [N, 3, H, W]) -> features [N, features]``: the frame is read as its grid of cell
kinds (exactly: one colour per kind, :mod:`zoo_i2a.palette`); the imagination core makes one
rollout per first action (:func:`zoo_i2a.imagination.imagine`), the rollout encoder encodes each
(:class:`zoo_i2a.networks.RolloutEncoder`), the aggregator concatenates the A encodings, a CNN reads
the real frame (the model-free path), and one layer reads both. ``imagination`` chooses the model:
``learned`` (an :class:`~zoo_i2a.networks.EnvModel`, frozen: its weights come from a model trained
apart, loaded when a new agent is built), ``copy`` (:class:`~zoo_i2a.imagination.CopyModel`, the
paper's control) or ``none`` (no imagination path: the standard model-free agent).

:func:`distillation_loss` trains the rollout policy π̂ toward the agent's policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from zoo_i2a.imagination import CopyModel, RolloutPolicy, imagine
from zoo_i2a.networks import CellCNN, EnvModel, RolloutEncoder, grid_of
from zoo_i2a.palette import PALETTE, cells_one_hot, frame_cells

__all__ = ["I2ATorso", "IMAGINATIONS", "distillation_loss"]

IMAGINATIONS = ("learned", "copy", "none")


def distillation_loss(rollout_logits: torch.Tensor, policy_logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of π̂ (``rollout_logits [B, A]``) to the agent's policy (``policy_logits [B, A]``,
    stopped: π̂ follows the agent, never the reverse), averaged over the batch."""
    target = torch.softmax(policy_logits.detach(), dim=-1)
    return -(target * torch.log_softmax(rollout_logits, dim=-1)).sum(-1).mean()


class I2ATorso(nn.Module):
    """See the module docstring. ``depth`` is τ; ``cell`` the pixels a side of a cell;
    ``model_channels`` the learned model's width (its artifact's), ``model_sha256`` records which
    model was loaded (not read)."""

    def __init__(self, obs_shape: tuple[int, ...], linear: Callable[[int, int], nn.Module], num_actions: int,
                 imagination: str = "learned", depth: int = 3, encoding: int = 64, rollout_channels: int = 16,
                 channels: int = 32, features: int = 256, model_channels: int = 32, cell: int = 4,
                 model_sha256: str | None = None):
        super().__init__()
        if imagination not in IMAGINATIONS:
            raise ValueError(f"imagination must be one of {', '.join(IMAGINATIONS)}; got {imagination!r}")
        frame_shape = tuple(obs_shape)
        if len(frame_shape) != 3:
            raise ValueError(f"the i2a torso reads RGB frames [3, H, W]; got observations {frame_shape}")
        self.num_actions, self.depth, self.imagination = num_actions, depth, imagination
        self.model_sha256 = model_sha256
        self.cell, kinds, grid = cell, len(PALETTE), grid_of(frame_shape, cell)
        self.model_free = CellCNN(kinds, grid, channels)
        width = self.model_free.size
        self.env_model: nn.Module | None = None
        if imagination != "none":
            model: nn.Module = (EnvModel(frame_shape, num_actions, kinds, model_channels, cell)
                                if imagination == "learned" else CopyModel(num_actions))
            self.env_model = model.requires_grad_(False)
            self.rollout_policy = RolloutPolicy(kinds, grid, num_actions, rollout_channels)
            self.encoder = RolloutEncoder(kinds, grid, encoding, rollout_channels)
            width += num_actions * encoding
        self.fc = nn.Sequential(linear(width, features), nn.ReLU())
        self.out_features = features

    def train(self, mode: bool = True) -> I2ATorso:
        super().train(mode)
        if self.env_model is not None:
            self.env_model.eval()  # frozen: always the model it was trained as
        return self

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        cells = frame_cells(obs, self.cell)
        x = self.model_free(cells_one_hot(cells))
        if self.env_model is not None:
            states, rewards = imagine(self.env_model, self.rollout_policy, cells, self.depth, self.num_actions)
            planes = cells_one_hot(states.flatten(0, 2)).view(*states.shape[:3], -1, *states.shape[3:])
            codes = self.encoder(planes.flatten(0, 1), rewards.flatten(0, 1))  # [N * A, encoding]
            x = torch.cat([x, codes.view(len(obs), -1)], dim=-1)  # the aggregator: A encodings side by side
        return self.fc(x)

    def rollout_logits(self, obs: torch.Tensor) -> torch.Tensor:
        """π̂'s logits ``[N, A]`` at real frames ``obs [N, 3, H, W]`` (what the distillation trains)."""
        return self.rollout_policy(cells_one_hot(frame_cells(obs, self.cell)))


def torso_args(spec: Any, cfg: Any, imagination: str, model_doc: dict[str, Any] | None,
               model_sha256: str | None) -> dict[str, Any]:
    """The ``i2a`` torso's arguments (plain JSON, in the agent's spec) from the ``i2a`` section and the
    learned model's document (its sizes)."""
    args: dict[str, Any] = {
        "num_actions": int(spec.num_actions), "imagination": imagination, "depth": cfg.depth,
        "encoding": cfg.encoding, "rollout_channels": cfg.rollout_channels, "channels": cfg.channels,
        "features": cfg.features,
    }
    if model_doc is not None:
        args.update(model_channels=int(model_doc["channels"]), cell=int(model_doc["cell"]), model_sha256=model_sha256)
    return args
