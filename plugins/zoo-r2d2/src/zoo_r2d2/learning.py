"""R2D2's learning math on sequences: burn-in, n-step targets inside a sequence, priorities.

Time-major throughout (``[T, B, ...]``). rlax's sequence convention: ``r_t[i]`` and
``discount_t[i]`` belong to the transition from timestep ``i`` to timestep ``i + 1``.
"""

from __future__ import annotations

from typing import Any

import torch


def n_step_bootstrap(
    r_t: torch.Tensor, discount_t: torch.Tensor, stop_t: torch.Tensor, n: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """n-step returns along a sequence, each cut where the sequence or its episode ends.

    The return of transition ``t`` runs over ``m`` transitions, ``m`` the least of ``n``, the
    transitions left in the sequence (``T - t``) and the steps to the first episode end
    (``stop_t``, inclusive):
    ``G_t = sum_{k<m} (prod_{i<k} d_{t+i}) r_{t+k}``, bootstrapped with
    ``D_t = prod_{k<m} d_{t+k}`` from the values at timestep ``t + m``. A terminating transition
    has ``d = 0``, so its bootstrap weight is 0; a truncated episode keeps ``d = γ`` and
    bootstraps from its final observation.

    Args:
      r_t: ``[T, B]`` reward of each transition.
      discount_t: ``[T, B]`` its discount (γ, or 0 when it terminated the episode).
      stop_t: ``[T, B]`` bool, the transition ends an episode (its successor is a final
        observation; the return must not run past it into the next episode).
      n: most transitions in a return, >= 1.

    Returns:
      ``(G [T, B], D [T, B], index [T, B] int64)``: the returns, their bootstrap discounts, and
      the timestep each bootstraps from, in ``1..T`` (timesteps ``0..T`` of the sequence).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    steps, batch = r_t.shape
    t = torch.arange(steps, device=r_t.device).unsqueeze(-1).expand(steps, batch)
    g = torch.zeros_like(r_t)
    d = torch.ones_like(discount_t)
    index = t + 1
    alive = torch.ones(steps, batch, dtype=torch.bool, device=r_t.device)
    # Shifted copies, padded past the sequence's end with transitions that never count.
    pad = max(n - 1, 0)
    r_pad = torch.cat([r_t, r_t.new_zeros(pad, batch)])
    d_pad = torch.cat([discount_t, discount_t.new_ones(pad, batch)])
    stop_pad = torch.cat([stop_t, stop_t.new_ones(pad, batch)])
    for k in range(n):
        active = alive & (t + k < steps)
        g = torch.where(active, g + d * r_pad[k : k + steps], g)
        d = torch.where(active, d * d_pad[k : k + steps], d)
        index = torch.where(active, t + k + 1, index)
        alive = active & ~stop_pad[k : k + steps]
    return g, d, index


def gather_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``x[index[t, b], b]``: per-sequence timesteps of ``x [T', B, ...]`` at ``index [T, B]`` -> ``[T, B, ...]``."""
    expanded = index.reshape(*index.shape, *([1] * (x.dim() - 2))).expand(*index.shape, *x.shape[2:])
    return torch.gather(x, 0, expanded)


def burn_in_unroll(network: Any, obs: torch.Tensor, first: torch.Tensor, state: Any, burn_in: int) -> torch.Tensor:
    """Unroll a recurrent network from a stored state: the first ``burn_in`` steps without gradient.

    R2D2's burn-in (Kapturowski et al. 2019): the stored state is stale (the actor's, under older
    parameters), so the first steps only refresh it; learning starts after them, from the state
    they produced, detached.

    Args:
      network: ``network(obs [T, B, ...], first [T, B], state) -> (out [T, B, ...], state)``.
      obs: ``[L, B, *obs_shape]``; first: ``[L, B]``; state: the state before ``obs[0]``.
      burn_in: steps run without gradient, ``0 <= burn_in < L``.

    Returns:
      ``[L - burn_in, B, ...]`` outputs of the steps after the burn-in.
    """
    if burn_in:
        with torch.no_grad():
            _, state = network(obs[:burn_in], first[:burn_in], state)
        state = tuple(s.detach() for s in state)
    out, _ = network(obs[burn_in:], first[burn_in:], state)
    return out


def sequence_priority(td_abs: torch.Tensor, mask: torch.Tensor, eta: float = 0.9) -> torch.Tensor:
    """R2D2's sequence priority: ``eta * max_t |δ| + (1 - eta) * mean_t |δ|`` over valid steps.

    Args:
      td_abs: ``[T, B]`` absolute TD errors (or any per-step priority).
      mask: ``[T, B]`` 1 where the step is a real transition, 0 elsewhere.
      eta: weight of the maximum (the paper's 0.9).

    Returns:
      ``[B]`` priorities (0 for a sequence with no valid step).
    """
    masked = td_abs * mask
    count = mask.sum(0).clamp(min=1)
    return eta * masked.max(0).values + (1.0 - eta) * masked.sum(0) / count
