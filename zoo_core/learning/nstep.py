"""Pure n-step return math, shared by the replay buffer and tested on its own.

Notation follows rlax: `r_t[:, j]` is the reward that followed the j-th action of the
window and `discount_t[:, j]` the discount applied after it.
"""

from __future__ import annotations

import numpy as np


def n_step_return(r_t: np.ndarray, discount_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Discounted sum of an n-step window and the discount to bootstrap with.

    Args:
      r_t: [B, n] rewards of the window's n steps. Steps past the episode's end must be
        masked to 0 by the caller.
      discount_t: [B, n] per-step discounts: gamma for an ordinary step, 0 for the step
        that terminated the episode, and 1 (the neutral element) for steps past the
        episode's end. Using 1 rather than 0 there is what lets a truncated episode keep
        its bootstrap discount gamma^m instead of collapsing to 0.

    Returns:
      (return [B], discount [B]) where
      return = r_0 + d_0 r_1 + d_0 d_1 r_2 + ... + (d_0 ... d_{n-2}) r_{n-1} and
      discount = d_0 d_1 ... d_{n-1}; both in the dtype of the inputs.
    """
    if r_t.ndim != 2 or r_t.shape != discount_t.shape:
        raise ValueError(f"r_t and discount_t must both be [B, n]; got {r_t.shape} and {discount_t.shape}")
    n = r_t.shape[1]
    if n == 1:
        # The common DQN case: no products to form, and no copies beyond the column views.
        return r_t[:, 0].copy(), discount_t[:, 0].copy()
    # cum[:, j] = d_0 ... d_j; the weight of r_j is the product of the discounts before it.
    cum = np.cumprod(discount_t, axis=1)
    weights = np.empty_like(cum)
    weights[:, 0] = 1
    weights[:, 1:] = cum[:, :-1]
    return (weights * r_t).sum(axis=1), cum[:, -1].copy()


def window_terms(
    reward: np.ndarray, terminated: np.ndarray, is_last: np.ndarray, gamma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turns raw per-step records of an n-step window into `n_step_return`'s inputs.

    Args:
      reward: [B, n] reward stored with each of the window's n steps (garbage allowed
        past the episode's end: it is masked here).
      terminated: [B, n] bool, step j ended the episode by termination.
      is_last: [B, n] bool, the observation *before* step j is an episode's final one, so
        step j does not exist (column 0 is expected False: a window starts on a step).
      gamma: the per-step discount.

    Returns:
      (r_t [B, n], discount_t [B, n], m [B] int64): masked rewards, per-step discounts
      (gamma, 0 on termination, 1 past the end) and the number m <= n of real steps.
    """
    # A step exists only if no earlier observation of the window closed the episode.
    alive = np.logical_and.accumulate(~is_last, axis=1)
    dtype = reward.dtype
    r_t = np.where(alive, reward, dtype.type(0))
    step_discount = np.where(terminated, dtype.type(0), dtype.type(gamma))
    discount_t = np.where(alive, step_discount, dtype.type(1))
    return r_t, discount_t, alive.sum(axis=1, dtype=np.int64)
