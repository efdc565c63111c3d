"""Pixel control (Jaderberg et al. 2016, section 3.1): learn to change the pixels.

Pure torch; no zoo or pluggy imports. Time-major ``[T, B]`` like the rest of the zoo.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo_unreal.returns import nstep_returns

__all__ = ["central_crop", "pixel_control_loss", "pixel_control_rewards", "pixel_control_targets"]


def central_crop(observations: torch.Tensor, size: int) -> torch.Tensor:
    """The central ``size x size`` window of ``[..., H, W, C]`` observations (UNREAL: 80x80 of 84x84).

    ``size`` 0 keeps the whole frame.
    """
    if size <= 0:
        return observations
    h, w = observations.shape[-3:-1]
    if size > min(h, w):
        raise ValueError(f"crop {size} is larger than the {h}x{w} observation")
    top, left = (h - size) // 2, (w - size) // 2
    return observations[..., top : top + size, left : left + size, :]


def pixel_control_rewards(observations: torch.Tensor, cell_size: int) -> torch.Tensor:
    """Pseudo-rewards for pixel control: how much each cell of a spatial grid changed.

    r_t[i, j] = mean over the cell's pixels and channels of |o_{t+1} − o_t|.

    Args:
      observations: ``[T+1, H, W, C]`` (any leading batch axes after T are allowed:
        ``[T+1, B, H, W, C]``); float, or uint8, which is scaled to [0, 1].
      cell_size: the side of a square cell; ``H`` and ``W`` must be multiples of it.

    Returns:
      ``[T, H // cell_size, W // cell_size]`` (``[T, B, ...]`` with a batch axis).
    """
    if observations.dtype == torch.uint8:
        observations = observations.float() / 255.0
    h, w, c = observations.shape[-3:]
    if h % cell_size or w % cell_size:
        raise ValueError(f"a {h}x{w} observation does not split into cells of {cell_size}")
    change = (observations[1:] - observations[:-1]).abs().mean(-1)  # [T, ..., H, W]
    lead = change.shape[:-2]
    pooled = F.avg_pool2d(change.reshape(-1, 1, h, w), cell_size)  # mean over each cell
    return pooled.reshape(*lead, h // cell_size, w // cell_size)


def pixel_control_targets(r_t: torch.Tensor, discount_t: torch.Tensor, q_bootstrap: torch.Tensor) -> torch.Tensor:
    """n-step Q-learning targets on the grid: G_t = r_t + discount_t · G_{t+1}, G_T = max_a Q(x_T, a)
    per cell.

    Args:
      r_t: ``[T, B, G, G]`` pseudo-rewards.
      discount_t: ``[T, B]`` the pixel-control discount (0.9 in UNREAL), 0 where the episode ended.
      q_bootstrap: ``[B, A, G, G]`` action values at the observation after the last step.

    Returns:
      ``[T, B, G, G]`` targets (no gradient flows through them).
    """
    return nstep_returns(r_t, discount_t, q_bootstrap.detach().max(dim=1).values).detach()


def pixel_control_loss(q_tm1: torch.Tensor, a_tm1: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """½ (G_t − Q(x_t, a_t))² summed over cells and time, averaged over the batch.

    Args:
      q_tm1: ``[T, B, A, G, G]`` action values of each cell at the sequence's steps.
      a_tm1: ``[T, B]`` int64 actions taken.
      targets: ``[T, B, G, G]`` from :func:`pixel_control_targets`.
    """
    index = a_tm1[:, :, None, None, None].expand(-1, -1, 1, *q_tm1.shape[-2:])
    q_a = q_tm1.gather(2, index).squeeze(2)
    return 0.5 * ((targets - q_a) ** 2).sum() / q_tm1.shape[1]
