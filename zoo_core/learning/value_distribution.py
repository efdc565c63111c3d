"""How action values are represented: the core's scalar default (C51 replaces it by a plugin).

A value distribution fixes the network's outputs per action (``num_atoms``), how to read Q-values
from them, and the TD loss. Its interface:

* ``num_atoms: int``
* ``q_values(out [B, A, atoms]) -> [B, A]``
* ``loss(out_tm1, a_tm1, r_t, discount_t, out_t, out_t_selector) -> (loss [B], priority [B])``
  where ``out_t`` is the target network's output at s_t and ``out_t_selector`` the online
  network's (None without double Q); ``priority`` is what prioritized replay should use.
* ``state_dict() -> dict`` and ``load_state_dict(dict)`` (JSON; :class:`Stateful` gives none).

A fused loss for the speed path (the loss with its gradient, without autograd) is registered with
:func:`zoo_core.fast.losses.register_fused_loss`, not carried as a method.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from zoo_core.host.protocols import Stateful
from zoo_core.learning.value_learning import double_q_learning, huber_loss, q_learning


class TDInputs(NamedTuple):
    """What a value distribution's loss reads, rlax naming.

    ``out_tm1 [B, A, atoms]`` online outputs at s_tm1, ``a_tm1 [B]`` actions taken, ``r_t [B]``
    (n-step) rewards, ``discount_t [B]``, ``out_t [B, A, atoms]`` target outputs at s_t and
    ``out_t_selector`` the online outputs at s_t (None without double Q).
    """

    out_tm1: torch.Tensor
    a_tm1: torch.Tensor
    r_t: torch.Tensor
    discount_t: torch.Tensor
    out_t: torch.Tensor
    out_t_selector: torch.Tensor | None


class ScalarValue(Stateful):
    """One expected value per action, learned with the Huber loss on the (double) Q-learning error."""

    num_atoms = 1

    def __init__(self, huber_delta: float = 1.0):
        self.huber_delta = huber_delta

    def q_values(self, out: torch.Tensor) -> torch.Tensor:
        return out[..., 0]

    def td_error(self, td: TDInputs) -> torch.Tensor:
        """The (double) Q-learning TD error ``[B]`` (gradient through ``td.out_tm1`` only)."""
        q_tm1 = td.out_tm1[..., 0]
        if td.out_t_selector is None:
            return q_learning(q_tm1, td.a_tm1, td.r_t, td.discount_t, td.out_t[..., 0])
        return double_q_learning(q_tm1, td.a_tm1, td.r_t, td.discount_t, td.out_t[..., 0], td.out_t_selector[..., 0])

    def loss(self, *td: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loss [B], priority [B])`` for the :class:`TDInputs` fields, in order."""
        error = self.td_error(TDInputs(*td))
        return huber_loss(error, self.huber_delta), error.detach().abs()
