"""Importance-sampling weights and the β schedule (Schaul et al. 2016, Algorithm 1).

Pure numpy; no zoo or pluggy imports.
"""

from __future__ import annotations

import numpy as np


def beta_at(samples: int, beta0: float, beta_steps: int) -> float:
    """β after `samples` sample calls: linear from β0 (at 0) to 1 (at `beta_steps` and after)."""
    if beta_steps <= 0:
        return 1.0
    frac = min(1.0, max(0, samples) / beta_steps)
    return float(beta0 + (1.0 - beta0) * frac)


def importance_weights(probs: np.ndarray, n: int, beta: float) -> np.ndarray:
    """[B] float32 w_j = (N * P(j))^-β / max_i w_i, the max over this batch (Algorithm 1, line 10).

    Normalising by the batch's max (rather than by the max over the whole buffer, (N * min P)^-β)
    only scales the update, keeping weights <= 1 for stability; it is what Algorithm 1 writes and
    most implementations do.

    Args:
      probs: [B] P(j) of each sampled transition, > 0.
      n: N, the number of sampleable transitions.
      beta: the exponent β in [0, 1].
    """
    probs = np.asarray(probs, dtype=np.float64)
    # log space: (N P)^-β / max = exp(-β (log(N P) - min log(N P))), no overflow for tiny P.
    log_np = np.log(n * probs)
    return np.exp(-beta * (log_np - log_np.min())).astype(np.float32)
