"""How action values are represented: the core's scalar default (C51 replaces it by a plugin).

A value distribution fixes the network's outputs per action (``num_atoms``), how to read Q-values
from them, and the TD loss. Its interface:

* ``num_atoms: int``
* ``q_values(out [B, A, atoms]) -> [B, A]``
* ``loss(out_tm1, a_tm1, r_t, discount_t, out_t, out_t_selector) -> (loss [B], priority [B])``
  where ``out_t`` is the target network's output at s_t and ``out_t_selector`` the online
  network's (None without double Q); ``priority`` is what prioritized replay should use.
* ``state_dict() -> dict`` and ``load_state_dict(dict)`` (JSON) when it has state.
* optionally ``loss_and_grad(out_tm1, a_tm1, r_t, discount_t, out_t, out_t_selector, grad_loss)
  -> (loss [B], priority [B], grad_out_tm1 [B, A, atoms])``: ``loss`` together with the gradient
  of ``sum(grad_loss * loss)`` with respect to ``out_tm1``, computed without autograd (it is
  called under ``torch.inference_mode``) and bit-identical to autograd's. The learner uses it when
  it runs a network without autograd (``zoo_core/fast.py``); without it, the learner
  backpropagates through ``loss`` as usual. ``grad_loss [B]`` is read-only.
"""

from __future__ import annotations

import torch

from zoo_core.value_learning import double_q_learning, huber_loss, huber_loss_grad, q_learning, td_error_grad


class ScalarValue:
    """One expected value per action, learned with the Huber loss on the (double) Q-learning error."""

    num_atoms = 1

    def __init__(self, huber_delta: float = 1.0):
        self.huber_delta = huber_delta

    def q_values(self, out: torch.Tensor) -> torch.Tensor:
        return out[..., 0]

    def _td(
        self,
        q_tm1: torch.Tensor,
        a_tm1: torch.Tensor,
        r_t: torch.Tensor,
        discount_t: torch.Tensor,
        out_t: torch.Tensor,
        out_t_selector: torch.Tensor | None,
    ) -> torch.Tensor:
        """The (double) Q-learning TD error ``[B]`` for ``q_tm1 [B, A]``."""
        if out_t_selector is None:
            return q_learning(q_tm1, a_tm1, r_t, discount_t, out_t[..., 0])
        return double_q_learning(q_tm1, a_tm1, r_t, discount_t, out_t[..., 0], out_t_selector[..., 0])

    def loss(
        self,
        out_tm1: torch.Tensor,
        a_tm1: torch.Tensor,
        r_t: torch.Tensor,
        discount_t: torch.Tensor,
        out_t: torch.Tensor,
        out_t_selector: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        td = self._td(out_tm1[..., 0], a_tm1, r_t, discount_t, out_t, out_t_selector)
        return huber_loss(td, self.huber_delta), td.detach().abs()

    def loss_and_grad(
        self,
        out_tm1: torch.Tensor,
        a_tm1: torch.Tensor,
        r_t: torch.Tensor,
        discount_t: torch.Tensor,
        out_t: torch.Tensor,
        out_t_selector: torch.Tensor | None,
        grad_loss: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`loss` and the gradient of ``sum(grad_loss * loss)`` w.r.t. ``out_tm1 [B, A, 1]``."""
        q_tm1 = out_tm1[..., 0]
        td = self._td(q_tm1, a_tm1, r_t, discount_t, out_t, out_t_selector)
        grad_td = huber_loss_grad(td, grad_loss, self.huber_delta)
        grad_q_tm1 = td_error_grad(grad_td, a_tm1, q_tm1.shape[-1])
        return huber_loss(td, self.huber_delta), td.abs(), grad_q_tm1.unsqueeze(-1)

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass
