"""The auxiliary tasks' math against hand-computed values: pixel-change rewards, the grid's n-step
Q-learning targets and loss, reward classes, windows and the skewed sampler, n-step returns."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from zoo_unreal import (
    NEGATIVE,
    POSITIVE,
    ZERO,
    central_crop,
    nstep_returns,
    pixel_control_loss,
    pixel_control_rewards,
    pixel_control_targets,
    reward_classes,
    reward_windows,
    skewed_sample,
    value_replay_loss,
)


def test_pixel_control_rewards_are_the_mean_absolute_change_of_each_cell():
    o0 = torch.zeros(4, 4, 2)
    o1 = torch.zeros(4, 4, 2)
    o1[0, 0, 0] = 2.0  # top-left cell: one pixel, one channel of 2: 2 / (4 pixels x 2 channels) = 0.25
    o1[0:2, 2:4, :] = 0.5  # top-right cell: every pixel and channel changed by 0.5
    o1[2:4, 0:2, 1] = torch.tensor([[0.2, 0.4], [0.6, 0.8]])  # bottom-left: (0.2+0.4+0.6+0.8) / 8 = 0.25
    r = pixel_control_rewards(torch.stack([o0, o1, o0]), cell_size=2)
    expected = torch.tensor([[0.25, 0.5], [0.25, 0.0]])
    assert r.shape == (2, 2, 2)
    torch.testing.assert_close(r[0], expected)
    torch.testing.assert_close(r[1], expected)  # going back changes the pixels by as much


def test_pixel_control_rewards_scale_uint8_and_keep_a_batch_axis():
    frames = np.zeros((2, 3, 4, 4, 1), np.uint8)  # [T+1, B, H, W, C]
    frames[1, 2, :2, :2] = 255
    r = pixel_control_rewards(torch.from_numpy(frames), cell_size=2)
    assert r.shape == (1, 3, 2, 2)
    assert float(r[0, 2, 0, 0]) == 1.0 and float(r.sum()) == 1.0
    with pytest.raises(ValueError, match="does not split into cells of 3"):
        pixel_control_rewards(torch.from_numpy(frames), cell_size=3)


def test_central_crop_takes_the_middle():
    x = torch.arange(36.0).view(6, 6, 1)
    torch.testing.assert_close(central_crop(x, 2)[..., 0], torch.tensor([[14.0, 15.0], [20.0, 21.0]]))
    assert central_crop(x, 0) is x
    with pytest.raises(ValueError, match="larger than the 6x6"):
        central_crop(x, 8)


def test_pixel_control_targets_bootstrap_from_the_best_action_of_each_cell():
    r_t = torch.tensor([1.0, 2.0]).view(2, 1, 1, 1)  # [T=2, B=1, 1, 1]
    q_boot = torch.tensor([4.0, 10.0]).view(1, 2, 1, 1)  # [B, A=2, 1, 1]: max 10
    g = pixel_control_targets(r_t, torch.full((2, 1), 0.9), q_boot)
    # G_1 = 2 + 0.9 * 10 = 11; G_0 = 1 + 0.9 * 11 = 10.9
    torch.testing.assert_close(g.flatten(), torch.tensor([10.9, 11.0]))
    cut = pixel_control_targets(r_t, torch.tensor([[0.0], [0.9]]), q_boot)  # the episode ends after t = 0
    torch.testing.assert_close(cut.flatten(), torch.tensor([1.0, 11.0]))


def test_pixel_control_loss_takes_the_taken_action_of_each_cell():
    q = torch.tensor([[1.0, 3.0], [2.0, 5.0]]).view(1, 2, 2, 1, 1)  # [T=1, B=2, A=2, 1, 1]
    a = torch.tensor([[1, 0]])
    targets = torch.tensor([4.0, 2.0]).view(1, 2, 1, 1)
    # ½ ((4 − 3)² + (2 − 2)²) / B = 0.25
    assert float(pixel_control_loss(q, a, targets)) == pytest.approx(0.25)


def test_reward_classes():
    assert reward_classes(np.array([0.0, 0.5, -1.0, 2.0])).tolist() == [ZERO, POSITIVE, NEGATIVE, POSITIVE]
    assert reward_classes(torch.tensor([-0.1, 0.0])).tolist() == [NEGATIVE, ZERO]


def test_reward_windows_stay_inside_one_episode():
    first = np.array([[1, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0]], np.float32)  # [N=2, T+1=6]
    seq, t = reward_windows(first, frames=3)
    # Sequence 0: the window ending at obs 2 (obs 0-2); those ending at 3 and 4 cross the start at 3.
    # Sequence 1: ends at 2, 3, 4 (obs 5 has no reward after it in the sequence).
    assert list(zip(seq.tolist(), t.tolist(), strict=True)) == [(0, 2), (1, 2), (1, 3), (1, 4)]


def test_skewed_sample_draws_half_its_windows_from_the_rare_rewards():
    nonzero = np.zeros(100, bool)
    nonzero[37] = True
    idx = skewed_sample(nonzero, 10_000, np.random.default_rng(0))
    share = float(np.mean(idx == 37))
    assert 0.48 < share < 0.52  # uniform sampling would give 0.01
    assert set(np.unique(idx[idx != 37])) <= set(range(100)) - {37}
    only_zero = skewed_sample(np.zeros(5, bool), 50, np.random.default_rng(1))
    assert only_zero.min() >= 0 and only_zero.max() < 5
    with pytest.raises(ValueError, match="nothing to sample"):
        skewed_sample(np.zeros(0, bool), 1, np.random.default_rng(0))


def test_nstep_returns_stop_at_episode_ends():
    r = torch.tensor([[1.0], [2.0], [3.0]])
    d = torch.tensor([[0.5], [0.0], [0.5]])
    # G_2 = 3 + 0.5 * 10 = 8; G_1 = 2 + 0 = 2; G_0 = 1 + 0.5 * 2 = 2
    torch.testing.assert_close(nstep_returns(r, d, torch.tensor([10.0])), torch.tensor([[2.0], [2.0], [8.0]]))


def test_value_replay_loss_is_half_the_squared_error_summed_over_time():
    v = torch.tensor([[1.0, 0.0], [2.0, 0.0]], requires_grad=True)  # [T=2, B=2]
    g = torch.tensor([[2.0, 0.0], [2.0, 2.0]])
    loss = value_replay_loss(v, g)
    assert float(loss.detach()) == pytest.approx(0.5 * (1.0 + 4.0) / 2)
    loss.backward()
    torch.testing.assert_close(v.grad, torch.tensor([[-0.5, 0.0], [0.0, -1.0]]))
