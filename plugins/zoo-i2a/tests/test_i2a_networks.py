"""The environment model's and the rollout encoder's shapes, the palette round trip, and the order in
which the encoder reads an imagined trajectory (last step first)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from zoo_i2a.env import make_sokoban_env
from zoo_i2a.networks import EnvModel, RolloutEncoder
from zoo_i2a.palette import PALETTE, class_frames, frame_classes


def _frames(n: int) -> torch.Tensor:
    env = make_sokoban_env("Sokoban/Room6x6-v0")
    return torch.as_tensor(np.stack([env.reset(seed=s)[0] for s in range(n)]))


def test_frames_round_trip_through_the_palette():
    frames = _frames(4)
    classes = frame_classes(frames)
    assert classes.shape == (4, 24, 24) and classes.dtype == torch.int64
    assert torch.equal(class_frames(classes), frames)
    assert int(classes.max()) < len(PALETTE)
    frames[0, :, 0, 0] = torch.tensor([1, 2, 3], dtype=torch.uint8)
    with pytest.raises(ValueError, match="outside the palette"):
        frame_classes(frames)


def test_the_model_predicts_a_frame_of_colours_and_a_reward_per_action():
    torch.manual_seed(0)
    model = EnvModel((3, 24, 24), num_actions=5, num_colours=len(PALETTE))
    frames = _frames(3)
    logits, reward = model(frames, torch.tensor([0, 1, 4]))
    assert logits.shape == (3, len(PALETTE), 24, 24) and reward.shape == (3,)
    # The action is an input: the same frame under two actions gives two predictions.
    same = frames[:1].expand(2, -1, -1, -1)
    a, _ = model(same, torch.tensor([1, 3]))
    assert not torch.allclose(a[0], a[1])


def test_the_encoder_reads_the_trajectory_backwards():
    torch.manual_seed(1)
    encoder = RolloutEncoder((3, 24, 24), hidden=8, channels=4)
    frames = torch.stack([_frames(3)] * 2)  # [B=2, τ=3, 3, 24, 24]
    frames[1] = frames[1].flip(0)
    rewards = torch.tensor([[-0.1, 0.9, 9.9], [-0.1, -0.1, -1.1]])
    out = encoder(frames, rewards)
    assert out.shape == (2, 8)

    # By hand: an LSTM cell with the encoder's weights, stepped from the last imagined step to the first.
    cell = torch.nn.LSTMCell(encoder.lstm.input_size, 8)
    cell.weight_ih.data, cell.weight_hh.data = encoder.lstm.weight_ih_l0.data, encoder.lstm.weight_hh_l0.data
    cell.bias_ih.data, cell.bias_hh.data = encoder.lstm.bias_ih_l0.data, encoder.lstm.bias_hh_l0.data
    steps = encoder.step_features(frames, rewards)
    h = c = torch.zeros(2, 8)
    for t in reversed(range(3)):
        h, c = cell(steps[:, t], (h, c))
    assert torch.allclose(out, h, atol=1e-6)
    forwards = torch.zeros(2, 8), torch.zeros(2, 8)
    for t in range(3):
        forwards = cell(steps[:, t], forwards)
    assert not torch.allclose(out, forwards[0], atol=1e-4)  # the order is not arbitrary
