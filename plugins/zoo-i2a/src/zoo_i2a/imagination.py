"""The imagination core (Weber et al. 2017, section 3): one rollout of depth τ per first action.

Rollout i starts with action i, then follows the rollout policy π̂ (the action it rates highest), each
step through the environment model, which gives the imagined next frame (each pixel its most likely
colour) and reward. No gradient flows into the model: it is trained apart and frozen here. The
copy model, the paper's control for "imagination without a model", returns its input frame and a
zero reward.
"""

from __future__ import annotations

import torch
from torch import nn

from zoo_i2a.networks import FrameCNN
from zoo_i2a.palette import PALETTE, class_frames, frame_classes

__all__ = ["CopyModel", "RolloutPolicy", "imagine"]


class CopyModel(nn.Module):
    """An environment model that predicts nothing changes: ``(frames, actions) -> (the frame's colours
    as one-hot logits [B, K, H, W], reward 0 [B])``."""

    def __init__(self, num_actions: int, num_colours: int = len(PALETTE)):
        super().__init__()
        self.num_actions, self.num_colours = num_actions, num_colours

    def forward(self, frames: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        del actions
        one_hot = nn.functional.one_hot(frame_classes(frames), self.num_colours)  # [B, H, W, K]
        return one_hot.permute(0, 3, 1, 2).float(), torch.zeros(len(frames), device=frames.device)


class RolloutPolicy(nn.Module):
    """π̂: a small CNN from a frame ``uint8 [B, 3, H, W]`` to action logits ``[B, A]``, distilled from
    the agent's own policy."""

    def __init__(self, frame_shape: tuple[int, int, int], num_actions: int, channels: int = 16):
        super().__init__()
        self.net = FrameCNN(frame_shape, channels)
        self.logits = nn.Linear(self.net.size, num_actions)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.logits(self.net(frames))


@torch.no_grad()
def imagine(model: nn.Module, policy: RolloutPolicy, frames: torch.Tensor, depth: int,
            num_actions: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rollouts from ``frames uint8 [B, 3, H, W]``: imagined frames ``uint8 [B, A, τ, 3, H, W]`` and
    rewards ``[B, A, τ]``; rollout i's first action is i, the next ones π̂'s highest rated."""
    b = frames.shape[0]
    current = frames.repeat_interleave(num_actions, dim=0)  # [B*A, 3, H, W], rows b*A + i
    actions = torch.arange(num_actions, device=frames.device).repeat(b)
    imagined, rewards = [], []
    for _ in range(depth):
        logits, reward = model(current, actions)
        current = class_frames(logits.argmax(dim=1))
        imagined.append(current)
        rewards.append(reward)
        actions = policy(current).argmax(dim=-1)
    shape = (b, num_actions, depth)
    return (torch.stack(imagined, 1).view(*shape, *frames.shape[1:]), torch.stack(rewards, 1).view(shape))
