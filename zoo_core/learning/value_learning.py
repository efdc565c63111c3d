"""Pure TD targets and losses in the rlax style: time-and-shape names, no state, no hooks.

All functions take a batch: ``q_tm1 [B, A]`` values at the state acted in, ``a_tm1 [B]`` the
action taken, ``r_t [B]`` the (n-step) reward, ``discount_t [B]`` (γ^n, or 0 at termination) and
values at the next state. Targets never carry gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_huber_loss_backward = torch.ops.aten.huber_loss_backward.default


def q_learning(
    q_tm1: torch.Tensor, a_tm1: torch.Tensor, r_t: torch.Tensor, discount_t: torch.Tensor, q_t: torch.Tensor
) -> torch.Tensor:
    """Q-learning TD error (Watkins 1989): ``r_t + discount_t * max_a q_t[a] - q_tm1[a_tm1]``.

    Args:
      q_tm1: ``[B, A]`` online values at s_tm1.
      a_tm1: ``[B]`` int64 actions taken.
      r_t: ``[B]`` rewards.
      discount_t: ``[B]`` discounts.
      q_t: ``[B, A]`` target-network values at s_t.

    Returns:
      ``[B]`` TD errors (gradient flows through ``q_tm1`` only).
    """
    target = r_t + discount_t * q_t.amax(dim=-1)
    qa_tm1 = q_tm1.gather(-1, a_tm1.unsqueeze(-1)).squeeze(-1)
    return target.detach() - qa_tm1


def double_q_learning(
    q_tm1: torch.Tensor,
    a_tm1: torch.Tensor,
    r_t: torch.Tensor,
    discount_t: torch.Tensor,
    q_t_value: torch.Tensor,
    q_t_selector: torch.Tensor,
) -> torch.Tensor:
    """Double Q-learning TD error (van Hasselt et al. 2016).

    The next action is chosen by ``q_t_selector`` (online network) and valued by ``q_t_value``
    (target network): ``r_t + discount_t * q_t_value[argmax q_t_selector] - q_tm1[a_tm1]``.

    Args:
      q_tm1: ``[B, A]``; a_tm1: ``[B]``; r_t: ``[B]``; discount_t: ``[B]``;
      q_t_value: ``[B, A]`` target values at s_t; q_t_selector: ``[B, A]`` online values at s_t.

    Returns:
      ``[B]`` TD errors.
    """
    a_t = q_t_selector.argmax(dim=-1, keepdim=True)
    target = r_t + discount_t * q_t_value.gather(-1, a_t).squeeze(-1)
    qa_tm1 = q_tm1.gather(-1, a_tm1.unsqueeze(-1)).squeeze(-1)
    return target.detach() - qa_tm1


def huber_loss(x: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    """Huber loss, elementwise: ``0.5 x²`` for ``|x| ≤ delta``, else ``delta (|x| - 0.5 delta)``."""
    # torch's fused kernel: one autograd node instead of seven (the learner is overhead-bound).
    return F.huber_loss(x, torch.zeros_like(x), reduction="none", delta=delta)


def huber_loss_grad(x: torch.Tensor, grad_loss: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    """Gradient of ``sum(grad_loss * huber_loss(x, delta))`` with respect to ``x``, elementwise.

    ``grad_loss * x`` for ``|x| < delta``, else ``grad_loss * delta * sign(x)``: torch's own
    backward kernel, so the result is bit-identical to autograd through :func:`huber_loss`.
    """
    return _huber_loss_backward(grad_loss, x, torch.zeros_like(x), 0, delta)  # 0: reduction "none"


def td_error_grad(grad_td: torch.Tensor, a_tm1: torch.Tensor, num_actions: int) -> torch.Tensor:
    """Gradient of ``sum(grad_td * td)`` with respect to ``q_tm1`` ``[B, A]``, for the TD errors
    ``td = target - q_tm1[a_tm1]`` of :func:`q_learning` and :func:`double_q_learning`.

    ``-grad_td`` at the action taken, zero elsewhere; autograd's own ops (negate, then the
    backward of ``gather``: a scatter-add into zeros), so the result is bit-identical to it.
    """
    grad_qa = (-grad_td).unsqueeze(-1)
    return grad_qa.new_zeros(grad_qa.shape[0], num_actions).scatter_add_(-1, a_tm1.unsqueeze(-1), grad_qa)


@torch.no_grad()
def polyak_update(target: torch.nn.Module, online: torch.nn.Module, tau: float) -> None:
    """``θ_target ← (1 - tau) θ_target + tau θ_online``; ``tau = 1`` is a hard copy."""
    for t_param, o_param in zip(target.parameters(), online.parameters(), strict=True):
        if tau >= 1.0:
            t_param.copy_(o_param)
        else:
            t_param.lerp_(o_param, tau)
    for t_buf, o_buf in zip(target.buffers(), online.buffers(), strict=False):
        t_buf.copy_(o_buf)
