"""The I2A network (Weber et al. 2017, figure 1): a model-free path and an imagination path, with
policy and value heads over both, and the rollout policy's distillation loss.

``I2ANet(obs uint8 [B, 3, H, W]) -> (logits [B, A], value [B], rollout_logits [B, A])``: the
imagination core makes one rollout per first action (:func:`zoo_i2a.imagination.imagine`), the
rollout encoder encodes each, the aggregator concatenates the A encodings, a CNN reads the real
frame, and the heads read both. ``rollout_logits`` are π̂'s at the real frame, for
:func:`distillation_loss`.
"""

from __future__ import annotations

import torch
from torch import nn

from zoo_i2a.imagination import RolloutPolicy, imagine
from zoo_i2a.networks import FrameCNN, RolloutEncoder

__all__ = ["I2ANet", "distillation_loss"]


def distillation_loss(rollout_logits: torch.Tensor, policy_logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of π̂ (``rollout_logits [B, A]``) to the agent's policy (``policy_logits [B, A]``,
    stopped: π̂ follows the agent, never the reverse), averaged over the batch."""
    target = torch.softmax(policy_logits.detach(), dim=-1)
    return -(target * torch.log_softmax(rollout_logits, dim=-1)).sum(-1).mean()


class I2ANet(nn.Module):
    """See the module docstring. ``env_model`` is frozen (trained apart); ``depth`` is τ."""

    def __init__(self, frame_shape: tuple[int, int, int], num_actions: int, env_model: nn.Module, depth: int = 3,
                 encoding: int = 64, channels: int = 32, hidden: int = 256):
        super().__init__()
        self.num_actions, self.depth = num_actions, depth
        self.env_model = env_model.requires_grad_(False).eval()
        self.rollout_policy = RolloutPolicy(frame_shape, num_actions)
        self.encoder = RolloutEncoder(frame_shape, encoding)
        self.model_free = FrameCNN(frame_shape, channels)
        self.trunk = nn.Sequential(nn.Linear(self.model_free.size + num_actions * encoding, hidden), nn.ReLU())
        self.policy = nn.Linear(hidden, num_actions)
        self.value = nn.Linear(hidden, 1)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b = obs.shape[0]
        frames, rewards = imagine(self.env_model, self.rollout_policy, obs, self.depth, self.num_actions)
        codes = self.encoder(frames.flatten(0, 1), rewards.flatten(0, 1)).view(b, -1)  # the aggregator
        h = self.trunk(torch.cat([self.model_free(obs), codes], dim=-1))
        return self.policy(h), self.value(h).squeeze(-1), self.rollout_policy(obs)
