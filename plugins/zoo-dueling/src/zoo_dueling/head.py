"""The dueling head: a value stream and an advantage stream over the torso's features."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from zoo_dueling.aggregation import dueling_aggregate


class DuelingHead(nn.Module):
    """Features ``[B, F]`` -> ``[B, num_actions, num_atoms]`` through two streams.

    Each stream is ``hidden`` units (0: none) then an output layer, built with the spec's linear
    layer kind, so NoisyNet makes both streams noisy.
    """

    def __init__(self, in_features: int, num_actions: int, num_atoms: int,
                 linear: Callable[[int, int], nn.Module], hidden: int = 0):
        super().__init__()
        self.num_actions, self.num_atoms = num_actions, num_atoms

        def stream(out_features: int) -> nn.Module:
            if hidden <= 0:
                return linear(in_features, out_features)
            return nn.Sequential(linear(in_features, hidden), nn.ReLU(), linear(hidden, out_features))

        self.value = stream(num_atoms)
        self.advantage = stream(num_actions * num_atoms)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        value = self.value(features)  # [B, atoms]
        advantages = self.advantage(features).view(-1, self.num_actions, self.num_atoms)  # [B, A, atoms]
        return dueling_aggregate(value, advantages)
