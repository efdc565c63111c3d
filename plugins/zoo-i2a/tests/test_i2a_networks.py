"""The environment model's and the rollout encoder's shapes, the palette round trip, and the order in
which the encoder reads an imagined trajectory (last step first)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from zoo_i2a.env import make_sokoban_env
from zoo_i2a.networks import EnvModel, RolloutEncoder
from zoo_i2a.palette import PALETTE, cells_frame, cells_one_hot, class_frames, frame_cells, frame_classes

from zoo_core.errors import ZooError


def _frames(n: int) -> torch.Tensor:
    env = make_sokoban_env("Sokoban/Room6x6-v0")
    return torch.as_tensor(np.stack([env.reset(seed=s)[0] for s in range(n)]))


def test_frames_round_trip_through_the_palette():
    frames = _frames(4)
    classes = frame_classes(frames)
    assert classes.shape == (4, 24, 24) and classes.dtype == torch.int64
    assert torch.equal(class_frames(classes), frames)
    assert int(classes.max()) < len(PALETTE)
    cells = frame_cells(frames, 4)  # a cell is one colour: the grid says all the frame does
    assert cells.shape == (4, 6, 6) and torch.equal(cells_frame(cells, 4), frames)
    assert torch.equal(cells, classes[:, 1::4, 2::4])
    planes = cells_one_hot(cells)
    assert planes.shape == (4, len(PALETTE), 6, 6) and torch.equal(planes.sum(1), torch.ones(4, 6, 6))
    frames[0, :, 0, 0] = torch.tensor([1, 2, 3], dtype=torch.uint8)
    with pytest.raises(ZooError, match="outside the Sokoban palette"):
        frame_classes(frames)
    with pytest.raises(ZooError, match="outside the Sokoban palette"):
        frame_cells(frames, 4)


def test_the_model_predicts_a_kind_per_cell_and_a_reward_per_action():
    torch.manual_seed(0)
    model = EnvModel((3, 24, 24), num_actions=5, num_colours=len(PALETTE))
    cells = frame_cells(_frames(3), 4)
    logits, reward = model(cells, torch.tensor([0, 1, 4]))
    assert logits.shape == (3, len(PALETTE), 6, 6) and reward.shape == (3,)
    # The action is an input: the same state under two actions gives two predictions.
    same = cells[:1].expand(2, -1, -1)
    a, _ = model(same, torch.tensor([1, 3]))
    assert not torch.allclose(a[0], a[1])
    with pytest.raises(ValueError, match="not a grid of 4-pixel cells"):
        EnvModel((3, 26, 24), 5, len(PALETTE))


def test_the_encoder_reads_the_trajectory_backwards():
    torch.manual_seed(1)
    encoder = RolloutEncoder(len(PALETTE), (6, 6), hidden=8, channels=4)
    frames = torch.stack([cells_one_hot(frame_cells(_frames(3), 4))] * 2)  # [B=2, τ=3, K, 6, 6]
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
