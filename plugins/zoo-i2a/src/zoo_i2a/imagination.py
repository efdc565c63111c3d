"""The imagination core (Weber et al. 2017, section 3): one rollout of depth τ per first action.

Rollout i starts with action i, then follows the rollout policy π̂ (the action it rates highest), each
step through the environment model, which gives the imagined next state (each cell its most likely
kind) and reward. No gradient flows into the model: it is trained apart and frozen here. The
copy model, the paper's control for "imagination without a model", returns its input state and a
zero reward. States are grids of cell kinds ``int64 [B, h, w]`` (:mod:`zoo_i2a.networks`).
"""

from __future__ import annotations

import torch
from torch import nn

from zoo_i2a.networks import CellCNN
from zoo_i2a.palette import PALETTE, cells_one_hot

__all__ = ["CopyModel", "RolloutPolicy", "imagine"]


class CopyModel(nn.Module):
    """An environment model that predicts nothing changes: ``(cells [B, h, w], actions) -> (the cells
    as one-hot logits [B, K, h, w], reward 0 [B])``."""

    def __init__(self, num_actions: int, num_colours: int = len(PALETTE)):
        super().__init__()
        self.num_actions, self.num_colours = num_actions, num_colours

    def forward(self, cells: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        del actions
        return cells_one_hot(cells, self.num_colours), torch.zeros(len(cells), device=cells.device)


class RolloutPolicy(nn.Module):
    """π̂: a small CNN from cell planes ``float [B, K, h, w]`` to action logits ``[B, A]``, distilled
    from the agent's own policy."""

    def __init__(self, planes: int, grid: tuple[int, int], num_actions: int, channels: int = 16):
        super().__init__()
        self.net = CellCNN(planes, grid, channels, stride=2)
        self.logits = nn.Linear(self.net.size, num_actions)

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        return self.logits(self.net(planes))


@torch.no_grad()
def imagine(model: nn.Module, policy: RolloutPolicy, cells: torch.Tensor, depth: int,
            num_actions: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rollouts from states ``cells int64 [B, h, w]``: imagined states ``int64 [B, A, τ, h, w]`` and
    rewards ``[B, A, τ]``; rollout i's first action is i, the next ones π̂'s highest rated."""
    b = cells.shape[0]
    current = cells.repeat_interleave(num_actions, dim=0)  # [B*A, h, w], rows b*A + i
    actions = torch.arange(num_actions, device=cells.device).repeat(b)
    imagined, rewards = [], []
    for _ in range(depth):
        logits, reward = model(current, actions)
        current = logits.argmax(dim=1)
        imagined.append(current)
        rewards.append(reward)
        actions = policy(cells_one_hot(current, logits.shape[1])).argmax(dim=-1)
    shape = (b, num_actions, depth)
    return (torch.stack(imagined, 1).view(*shape, *cells.shape[1:]), torch.stack(rewards, 1).view(shape))
