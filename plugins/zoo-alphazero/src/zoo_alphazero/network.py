"""AlphaZero's network: a residual convolutional torso with a policy head and a value head.

The torso is registered as ``resnet`` (a torso any recipe may name); :class:`PolicyValueNet` reads
its flattened features with a linear policy head (logits per action) and a small value head
(``tanh``, the value in [-1, 1] to the player to move).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from zoo_alphazero.games import Game, State
from zoo_core.api import NetworkSpec, to_device, to_host, torso_and_core


class _Block(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(y)))


class ResNetTorso(nn.Module):
    """``obs [B, C_in, H, W] -> features [B, channels * H * W]``: a 3x3 convolution then ``blocks``
    residual blocks (two 3x3 convolutions with batch norm each), as in AlphaZero at small scale.
    :meth:`planes` gives the same features unflattened, ``[B, channels, H, W]``."""

    def __init__(self, obs_shape: tuple[int, ...], linear: Any = None, channels: int = 32, blocks: int = 2):
        super().__init__()
        c_in, h, w = obs_shape
        self.stem = nn.Sequential(
            nn.Conv2d(c_in, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU()
        )
        self.blocks = nn.Sequential(*(_Block(channels) for _ in range(blocks)))
        self.channels = channels
        self.out_features = channels * h * w

    def planes(self, obs: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(obs.float()))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.planes(obs).flatten(1)


def _reduce(channels: int, out: int) -> nn.Module:
    """A 1x1 convolution to ``out`` planes with batch norm and ReLU, flattened (AlphaZero's heads
    start so: a small input keeps the fully connected layers well conditioned)."""
    return nn.Sequential(nn.Conv2d(channels, out, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(), nn.Flatten())


class PolicyValueNet(nn.Module):
    """``obs [B, 2, H, W] -> (logits [B, A], value [B])``; the value ``tanh``-squashed, to the player
    to move. Heads as AlphaZero's: policy = 2 planes then linear; value = 1 plane, a hidden layer,
    then one unit."""

    def __init__(self, spec: NetworkSpec, modules: Mapping[str, Mapping[str, Callable[..., Any]]]):
        super().__init__()
        linear, self.torso, _, _ = torso_and_core(spec, modules)
        _, h, w = spec.obs_shape
        hidden = int(spec.head_args.get("value_hidden", 64))
        channels = self.torso.channels
        self.policy = nn.Sequential(_reduce(channels, 2), linear(2 * h * w, spec.num_actions))
        self.value = nn.Sequential(_reduce(channels, 1), linear(h * w, hidden), nn.ReLU(), linear(hidden, 1))

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.torso.planes(obs)
        return self.policy(x), torch.tanh(self.value(x)).squeeze(-1)


def network_evaluator(game: Game, net: PolicyValueNet) -> Callable[[State], tuple[np.ndarray, np.ndarray]]:
    """The search's evaluator backed by the network (in eval mode, without gradients): one call per
    batch of leaves, on the network's device (the search itself stays in numpy on the host)."""
    device = next(net.parameters()).device

    def evaluate(state: State) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            logits, value = net(to_device(game.observe(state), device))
        return to_host(logits), to_host(value)

    return evaluate
