"""The auxiliary heads (registered as ``aux`` modules; built from the network spec like every block).

Factory signature (:mod:`zoo_core.learning.networks`): ``(spec, torso_features, core_features, linear,
**args)``. The heads use plain linear layers whatever ``spec.linear`` is: NoisyNet's noise is for
exploration, which these heads do not drive.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def grid_shape(obs_shape: tuple[int, ...], cell_size: int, crop: int) -> tuple[int, int]:
    """The pixel-control grid of ``[C, H, W]`` observations: ``(H // cell, W // cell)`` of the crop."""
    if len(obs_shape) != 3:
        raise ValueError(f"pixel control needs image observations [C, H, W]; these are {list(obs_shape)}")
    h, w = (crop, crop) if crop else obs_shape[1:]
    if h % cell_size or w % cell_size:
        raise ValueError(f"a {h}x{w} frame does not split into cells of {cell_size} pixels; "
                         "set pixel_control.cell_size or pixel_control.crop")
    return h // cell_size, w // cell_size


class PixelControlHead(nn.Module):
    """Core features ``[N, H]`` -> Q-values ``[N, A, gh, gw]`` of each action for each cell.

    A dueling deconvolution (UNREAL): a linear layer to a 32-channel map of half the grid, then a
    transposed convolution (4x4, stride 2) to one value channel and ``A`` advantage channels; an odd
    grid takes a 3x3 convolution at full size instead.
    """

    def __init__(self, spec: Any, torso_features: int, core_features: int, linear: Any, *, cell_size: int = 4,
                 crop: int = 0, channels: int = 32):
        super().__init__()
        self.grid = grid_shape(tuple(spec.obs_shape), cell_size, crop)
        self.num_actions = spec.num_actions
        gh, gw = self.grid
        even = gh % 2 == 0 and gw % 2 == 0
        self.map = (channels, gh // 2, gw // 2) if even else (channels, gh, gw)
        self.fc = nn.Linear(core_features, channels * self.map[1] * self.map[2])
        out = 1 + spec.num_actions
        self.deconv = (nn.ConvTranspose2d(channels, out, 4, stride=2, padding=1) if even
                       else nn.Conv2d(channels, out, 3, padding=1))

    def forward(self, core: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.fc(core)).view(-1, *self.map)
        y = self.deconv(x)
        value, advantage = y[:, :1], y[:, 1:]
        return value + advantage - advantage.mean(dim=1, keepdim=True)


class RewardPredictionHead(nn.Module):
    """Torso features of ``frames`` observations, concatenated ``[N, frames * F]`` -> logits ``[N, 3]``
    (zero, positive, negative reward next)."""

    def __init__(self, spec: Any, torso_features: int, core_features: int, linear: Any, *, frames: int = 3,
                 hidden: int = 128):
        super().__init__()
        self.frames = frames
        self.net = nn.Sequential(nn.Linear(frames * torso_features, hidden), nn.ReLU(), nn.Linear(hidden, 3))

    def forward(self, torso: torch.Tensor) -> torch.Tensor:
        return self.net(torso)
