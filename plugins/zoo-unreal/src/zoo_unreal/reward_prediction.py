"""Reward prediction (Jaderberg et al. 2016, section 3.2): from a few frames, is the next reward zero,
positive or negative? Pure numpy and torch; no zoo or pluggy imports."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["ZERO", "POSITIVE", "NEGATIVE", "reward_classes", "reward_windows", "skewed_sample",
           "reward_prediction_loss"]

ZERO, POSITIVE, NEGATIVE = 0, 1, 2


def reward_classes(r_t: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """The class of each reward: 0 zero, 1 positive, 2 negative (same shape, int64)."""
    if isinstance(r_t, torch.Tensor):
        return (r_t > 0).long() * POSITIVE + (r_t < 0).long() * NEGATIVE
    r_t = np.asarray(r_t)
    return (r_t > 0).astype(np.int64) * POSITIVE + (r_t < 0).astype(np.int64) * NEGATIVE


def reward_windows(first: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Where a window of ``frames`` observations fits inside one episode of each stored sequence.

    Args:
      first: ``[N, T+1]`` 1 where an observation begins an episode (batch-major, as stored).
      frames: observations per window; the window ending at ``obs[t]`` predicts ``r_t[t]``.

    Returns:
      ``(sequence [M], t [M])``: window ``k`` is ``obs[sequence[k], t[k] − frames + 1 : t[k] + 1]``,
      with ``t < T`` (the reward after it is stored) and no episode start after its first frame.
    """
    n, length = first.shape
    t = np.arange(frames - 1, length - 1)
    ok = np.ones((n, len(t)), bool)
    for k in range(1, frames):  # frames after the window's first may not begin an episode
        ok &= first[:, t - frames + 1 + k] == 0
    seq, col = np.nonzero(ok)
    return seq, t[col]


def skewed_sample(nonzero: np.ndarray, batch: int, rng: np.random.Generator) -> np.ndarray:
    """``batch`` indices into ``nonzero [M]`` such that half (in expectation) point at a True entry.

    Rewards are rare in the tasks that need the help; UNREAL samples so that P(r ≠ 0) = 0.5. Each draw
    takes a fair coin, then a uniform index from that side; when one side is empty every draw comes
    from the other.
    """
    hits, misses = np.flatnonzero(nonzero), np.flatnonzero(~np.asarray(nonzero, bool))
    if len(hits) + len(misses) == 0:
        raise ValueError("nothing to sample")
    if len(hits) == 0 or len(misses) == 0:
        pool = hits if len(hits) else misses
        return pool[rng.integers(0, len(pool), size=batch)]
    coin = rng.random(batch) < 0.5
    return np.where(coin, hits[rng.integers(0, len(hits), size=batch)],
                    misses[rng.integers(0, len(misses), size=batch)])


def reward_prediction_loss(logits: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of ``logits [B, 3]`` against ``classes [B]``, averaged over the batch."""
    return F.cross_entropy(logits, classes)
