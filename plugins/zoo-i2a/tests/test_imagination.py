"""The imagination core's rollouts (first action i, then π̂'s), the copy model, the I2A torso's
shapes, paths and frozen model, and the distillation loss's stopped target."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from zoo_i2a.env import make_sokoban_env
from zoo_i2a.imagination import CopyModel, RolloutPolicy, imagine
from zoo_i2a.palette import PALETTE, frame_cells
from zoo_i2a.torso import I2ATorso, distillation_loss


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
        super().__init__(len(PALETTE), (6, 6), 5)
        self.action = action

    def forward(self, frames):
        return nn.functional.one_hot(torch.full((len(frames),), self.action), 5).float()


def test_rollout_i_starts_with_action_i_then_follows_the_rollout_policy():
    cells = frame_cells(_frames(2), 4)
    imagined, rewards = imagine(ActionAsReward(), Prefers(3), cells, depth=4, num_actions=5)
    assert imagined.shape == (2, 5, 4, 6, 6) and rewards.shape == (2, 5, 4)
    expected = torch.tensor([[i, 3, 3, 3] for i in range(5)], dtype=torch.float32)
    assert torch.equal(rewards, expected.expand(2, -1, -1))
    # The copy model imagines the present state at every step of every rollout.
    assert torch.equal(imagined, cells[:, None, None].expand_as(imagined))


def test_the_i2a_torso_reads_both_paths_and_leaves_the_model_frozen():
    torch.manual_seed(0)
    torso = I2ATorso((3, 24, 24), torch.nn.Linear, 5, depth=2, encoding=8, rollout_channels=4, channels=8,
                     features=16, model_channels=8)
    obs = _frames(3)
    features = torso(obs)
    assert features.shape == (3, 16) and torso.out_features == 16
    logits = torch.nn.Linear(16, 5)(features)
    rollout_logits = torso.rollout_logits(obs)
    assert rollout_logits.shape == (3, 5)
    (logits.sum() + distillation_loss(rollout_logits, logits)).backward()
    assert all(p.grad is None and not p.requires_grad for p in torso.env_model.parameters())  # trained apart
    assert torso.encoder.lstm.weight_ih_l0.grad is not None and torso.model_free.net[0].weight.grad is not None
    assert torso.rollout_policy.logits.weight.grad is not None
    torso.train()
    assert not torso.env_model.training  # always the model it was trained as


@pytest.mark.parametrize("imagination", ["copy", "none"])
def test_the_copy_model_and_the_standard_agent_are_the_same_torso(imagination):
    torso = I2ATorso((3, 24, 24), torch.nn.Linear, 5, imagination=imagination, depth=2, encoding=8, channels=8,
                     features=16)
    assert torso(_frames(2)).shape == (2, 16)
    assert (torso.env_model is None) == (imagination == "none")
    assert isinstance(torso.env_model, CopyModel) or imagination == "none"
    with pytest.raises(ValueError, match="imagination must be one of"):
        I2ATorso((3, 24, 24), torch.nn.Linear, 5, imagination="dream")


def test_distillation_moves_the_rollout_policy_not_the_agent():
    policy = torch.tensor([[2.0, 0.0, -1.0]], requires_grad=True)
    rollout = torch.zeros(1, 3, requires_grad=True)
    loss = distillation_loss(rollout, policy)
    p = torch.softmax(policy.detach(), -1)
    assert torch.allclose(loss, -(p * torch.log(torch.full((1, 3), 1 / 3))).sum())  # H(p, uniform) = log 3
    loss.backward()
    assert policy.grad is None and torch.allclose(rollout.grad, torch.softmax(rollout.detach(), -1) - p)
