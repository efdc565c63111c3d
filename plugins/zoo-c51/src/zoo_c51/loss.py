"""The categorical TD loss of C51: pure functions in the rlax style, no state, no hooks.

Shapes follow :mod:`zoo_core.learning.value_learning`: ``logits_tm1 [B, A, M]`` online logits at s_tm1,
``a_tm1 [B]`` the actions taken, ``r_t [B]`` the (n-step) reward, ``discount_t [B]`` (γ^n, or 0 at
termination), ``logits_t [B, A, M]`` target-network logits at s_t and ``atoms [M]`` the fixed,
increasing support shared by every action. Targets never carry gradient.
"""

from __future__ import annotations

import torch

from zoo_c51.projection import categorical_l2_project


def categorical_target(
    atoms: torch.Tensor,
    r_t: torch.Tensor,
    discount_t: torch.Tensor,
    logits_t: torch.Tensor,
    q_t_selector: torch.Tensor,
) -> torch.Tensor:
    """The projected target distribution of categorical (double) Q-learning (no gradient).

    ``softmax(logits_t[a*])`` with ``a* = argmax q_t_selector``, on the support
    ``r_t + discount_t * atoms``, projected onto ``atoms``.

    Args:
      atoms: ``[M]``; r_t: ``[B]``; discount_t: ``[B]``; logits_t: ``[B, A, M]``;
      q_t_selector: ``[B, A]``.

    Returns:
      ``[B, M]`` target probabilities on ``atoms``.
    """
    with torch.no_grad():
        atoms = atoms.to(logits_t.dtype)
        a_t = q_t_selector.argmax(dim=-1)  # [B]
        index_t = a_t[:, None, None].expand(-1, 1, logits_t.shape[-1])
        probs_t = torch.softmax(logits_t.gather(1, index_t).squeeze(1), dim=-1)  # [B, M]
        z_t = r_t.to(atoms.dtype)[:, None] + discount_t.to(atoms.dtype)[:, None] * atoms[None, :]  # [B, M]
        return categorical_l2_project(z_t, probs_t, atoms)


def categorical_double_q_learning(
    atoms: torch.Tensor,
    logits_tm1: torch.Tensor,
    a_tm1: torch.Tensor,
    r_t: torch.Tensor,
    discount_t: torch.Tensor,
    logits_t: torch.Tensor,
    q_t_selector: torch.Tensor,
) -> torch.Tensor:
    """Categorical (double) Q-learning loss (Bellemare et al. 2017, algorithm 1).

    The next action ``a* = argmax q_t_selector`` (online means for double Q, the target's own
    means for plain C51). Its target distribution ``softmax(logits_t[a*])`` is moved to the
    support ``r_t + discount_t * atoms``, projected back onto ``atoms``
    (:func:`categorical_l2_project`), and the loss is the cross-entropy between that target and
    ``softmax(logits_tm1[a_tm1])``.

    Args:
      atoms: ``[M]`` the support.
      logits_tm1: ``[B, A, M]`` online logits at s_tm1.
      a_tm1: ``[B]`` int64 actions taken.
      r_t: ``[B]`` rewards.
      discount_t: ``[B]`` discounts.
      logits_t: ``[B, A, M]`` target-network logits at s_t.
      q_t_selector: ``[B, A]`` values that choose the next action.

    Returns:
      ``[B]`` cross-entropy losses (gradient flows through ``logits_tm1`` only).
    """
    target = categorical_target(atoms, r_t, discount_t, logits_t, q_t_selector)
    index_tm1 = a_tm1[:, None, None].expand(-1, 1, logits_tm1.shape[-1])
    log_p_tm1 = torch.log_softmax(logits_tm1.gather(1, index_tm1).squeeze(1), dim=-1)  # [B, M]
    return -(target * log_p_tm1).sum(-1)


def categorical_q_learning(
    atoms: torch.Tensor,
    logits_tm1: torch.Tensor,
    a_tm1: torch.Tensor,
    r_t: torch.Tensor,
    discount_t: torch.Tensor,
    logits_t: torch.Tensor,
) -> torch.Tensor:
    """Categorical Q-learning loss: :func:`categorical_double_q_learning` with the next action
    chosen by the target's own means ``sum(softmax(logits_t) * atoms)``.

    Args:
      atoms: ``[M]``; logits_tm1: ``[B, A, M]``; a_tm1: ``[B]``; r_t: ``[B]``; discount_t: ``[B]``;
      logits_t: ``[B, A, M]``.

    Returns:
      ``[B]`` cross-entropy losses.
    """
    with torch.no_grad():
        q_t = (torch.softmax(logits_t, dim=-1) * atoms.to(logits_t.dtype)).sum(-1)
    return categorical_double_q_learning(atoms, logits_tm1, a_tm1, r_t, discount_t, logits_t, q_t)


_log_softmax_backward = torch.ops.aten._log_softmax_backward_data.default


def categorical_cross_entropy_and_grad(
    target: torch.Tensor, logits_tm1: torch.Tensor, a_tm1: torch.Tensor, grad_loss: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The cross-entropy of :func:`categorical_double_q_learning` and its gradient, without autograd.

    Computes ``loss = -sum(target * log_softmax(logits_tm1[a_tm1]))`` and the gradient of
    ``sum(grad_loss * loss)`` with respect to ``logits_tm1``, op for op as autograd's backward
    does it (so bit-identical): ``(softmax - target) * grad_loss`` on the action taken, 0 elsewhere.

    Args:
      target: ``[B, M]`` target probabilities (:func:`categorical_target`).
      logits_tm1: ``[B, A, M]``; a_tm1: ``[B]``; grad_loss: ``[B]``.

    Returns:
      ``(loss [B], grad_logits_tm1 [B, A, M])``.
    """
    index_tm1 = a_tm1[:, None, None].expand(-1, 1, logits_tm1.shape[-1])
    log_p_tm1 = torch.log_softmax(logits_tm1.gather(1, index_tm1).squeeze(1), dim=-1)  # [B, M]
    loss = -(target * log_p_tm1).sum(-1)
    grad_log_p = (-grad_loss).unsqueeze(-1).expand_as(target) * target
    grad_logits_a = _log_softmax_backward(grad_log_p, log_p_tm1, -1, log_p_tm1.dtype)  # [B, M]
    grad = logits_tm1.new_zeros(logits_tm1.shape).scatter_add_(1, index_tm1, grad_logits_a.unsqueeze(1))
    return loss, grad
