"""The imagination core's rollouts (first action i, then π̂'s), the copy model, the I2A network's
shapes and frozen model, and the distillation loss's stopped target."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from zoo_i2a.agent_net import I2ANet, distillation_loss
from zoo_i2a.env import make_sokoban_env
from zoo_i2a.env_model import new_model
from zoo_i2a.imagination import CopyModel, RolloutPolicy, imagine


def _frames(n: int) -> torch.Tensor:
    env = make_sokoban_env("Sokoban/Room6x6-v0")
    return torch.as_tensor(np.stack([env.reset(seed=s)[0] for s in range(n)]))


class ActionAsReward(nn.Module):
    """A model that keeps the frame and pays the action taken, so a rollout's rewards spell its actions."""

    def __init__(self):
        super().__init__()
        self.copy = CopyModel(5)

    def forward(self, frames, actions):
        return self.copy(frames, actions)[0], actions.float()


class Prefers(RolloutPolicy):
    def __init__(self, action: int):
        super().__init__((3, 24, 24), 5)
        self.action = action

    def forward(self, frames):
        return nn.functional.one_hot(torch.full((len(frames),), self.action), 5).float()


def test_rollout_i_starts_with_action_i_then_follows_the_rollout_policy():
    frames = _frames(2)
    imagined, rewards = imagine(ActionAsReward(), Prefers(3), frames, depth=4, num_actions=5)
    assert imagined.shape == (2, 5, 4, 3, 24, 24) and rewards.shape == (2, 5, 4)
    expected = torch.tensor([[i, 3, 3, 3] for i in range(5)], dtype=torch.float32)
    assert torch.equal(rewards, expected.expand(2, -1, -1))
    # The copy model imagines the present frame at every step of every rollout.
    assert torch.equal(imagined, frames[:, None, None].expand_as(imagined))


def test_the_i2a_network_reads_both_paths_and_leaves_the_model_frozen():
    torch.manual_seed(0)
    model = new_model((3, 24, 24), 5, channels=8)
    net = I2ANet((3, 24, 24), 5, model, depth=2, encoding=8, channels=8, hidden=16)
    obs = _frames(3)
    logits, value, rollout_logits = net(obs)
    assert logits.shape == rollout_logits.shape == (3, 5) and value.shape == (3,)
    (logits.sum() + value.sum() + distillation_loss(rollout_logits, logits)).backward()
    assert all(p.grad is None for p in model.parameters())  # trained apart, frozen here
    assert net.encoder.lstm.weight_ih_l0.grad is not None and net.model_free.net[0].weight.grad is not None
    assert net.rollout_policy.logits.weight.grad is not None


def test_distillation_moves_the_rollout_policy_not_the_agent():
    policy = torch.tensor([[2.0, 0.0, -1.0]], requires_grad=True)
    rollout = torch.zeros(1, 3, requires_grad=True)
    loss = distillation_loss(rollout, policy)
    p = torch.softmax(policy.detach(), -1)
    assert torch.allclose(loss, -(p * torch.log(torch.full((1, 3), 1 / 3))).sum())  # H(p, uniform) = log 3
    loss.backward()
    assert policy.grad is None and torch.allclose(rollout.grad, torch.softmax(rollout.detach(), -1) - p)
