"""How action values are represented: the core's scalar default (C51 replaces it by a plugin).

A value distribution fixes the network's outputs per action (``num_atoms``), how to read Q-values
from them, and the TD loss. Its interface:

* ``num_atoms: int``
* ``q_values(out [B, A, atoms]) -> [B, A]``
* ``loss(out_tm1, a_tm1, r_t, discount_t, out_t, out_t_selector) -> (loss [B], priority [B])``
  where ``out_t`` is the target network's output at s_t and ``out_t_selector`` the online
  network's (None without double Q); ``priority`` is what prioritized replay should use.
* ``state_dict() -> dict`` and ``load_state_dict(dict)`` (JSON) when it has state.
"""

from __future__ import annotations

import torch

from zoo_core.value_learning import double_q_learning, huber_loss, q_learning


class ScalarValue:
    """One expected value per action, learned with the Huber loss on the (double) Q-learning error."""

    num_atoms = 1

    def __init__(self, huber_delta: float = 1.0):
        self.huber_delta = huber_delta

    def q_values(self, out: torch.Tensor) -> torch.Tensor:
        return out[..., 0]

    def loss(
        self,
        out_tm1: torch.Tensor,
        a_tm1: torch.Tensor,
        r_t: torch.Tensor,
        discount_t: torch.Tensor,
        out_t: torch.Tensor,
        out_t_selector: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        q_tm1, q_t = out_tm1[..., 0], out_t[..., 0]
        if out_t_selector is None:
            td = q_learning(q_tm1, a_tm1, r_t, discount_t, q_t)
        else:
            td = double_q_learning(q_tm1, a_tm1, r_t, discount_t, q_t, out_t_selector[..., 0])
        return huber_loss(td, self.huber_delta), td.detach().abs()

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass
