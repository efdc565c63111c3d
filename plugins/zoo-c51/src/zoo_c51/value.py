"""The C51 value distribution: a categorical distribution over a fixed support per action."""

from __future__ import annotations

from typing import Any

import torch

from zoo_c51.loss import categorical_cross_entropy_and_grad, categorical_double_q_learning, categorical_target
from zoo_core.api import Stateful, TDInputs, ZooError, register_fused_loss


class C51Value(Stateful):
    """``num_atoms`` logits per action over the evenly spaced support ``linspace(v_min, v_max)``.

    Fills the value distribution role of :mod:`zoo_core.learning.value_distribution`: Q-values are the
    distributions' means, the loss is the categorical TD cross-entropy
    (:func:`zoo_c51.categorical_double_q_learning`) and the priority for prioritized replay is
    that per-sample loss. The support is saved in ``state_dict`` so a checkpoint can be checked
    against the agent it is loaded into.
    """

    def __init__(self, num_atoms: int = 51, v_min: float = -10.0, v_max: float = 10.0):
        if num_atoms < 2:
            raise ZooError(f"c51.num_atoms must be at least 2; got {num_atoms}")
        if not v_min < v_max:
            raise ZooError(f"c51.v_min must be below c51.v_max; got v_min={v_min}, v_max={v_max}")
        self.num_atoms, self.v_min, self.v_max = int(num_atoms), float(v_min), float(v_max)
        self.support = torch.linspace(self.v_min, self.v_max, self.num_atoms)  # [atoms] float32

    def _atoms(self, like: torch.Tensor) -> torch.Tensor:
        """The support in ``like``'s dtype and on its device (the learner's, which may be a GPU)."""
        support = self.support
        if like.dtype == support.dtype and like.device == support.device:
            return support
        if like.device != support.device:
            self.support = support = support.to(like.device)  # moved once, not per call
        return support.to(like.dtype)

    def probabilities(self, out: torch.Tensor) -> torch.Tensor:
        """``softmax`` over atoms: ``[..., atoms]`` logits -> probabilities."""
        return torch.softmax(out, dim=-1)

    def q_values(self, out: torch.Tensor) -> torch.Tensor:
        """Expected values ``[B, A]`` of the distributions ``out [B, A, atoms]`` (logits)."""
        return (torch.softmax(out, dim=-1) * self._atoms(out)).sum(-1)

    def _selector_values(self, td: TDInputs) -> torch.Tensor:
        """``[B, A]`` means that choose the next action: ``out_t_selector``'s (double Q), else ``out_t``'s."""
        return self.q_values(td.out_t if td.out_t_selector is None else td.out_t_selector)

    def loss(self, *td: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loss [B], priority [B])`` for the :class:`zoo_core.api.TDInputs` fields, in order: the
        categorical TD cross-entropy and its detached copy."""
        td = TDInputs(*td)
        with torch.no_grad():
            q_t_selector = self._selector_values(td)
        loss = categorical_double_q_learning(
            self._atoms(td.out_tm1), td.out_tm1, td.a_tm1, td.r_t, td.discount_t, td.out_t, q_t_selector
        )
        return loss, loss.detach()

    def state_dict(self) -> dict[str, Any]:
        return {"num_atoms": self.num_atoms, "v_min": self.v_min, "v_max": self.v_max,
                "support": self.support.tolist()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Check a saved support against this one; a mismatch is a :class:`ZooError`.

        The support is fixed by the configuration, so loading restores nothing new: it refuses a
        checkpoint whose network was trained on other atoms. An empty state (nothing saved) passes.
        """
        if not state:
            return
        saved = torch.tensor(state.get("support", []), dtype=self.support.dtype, device=self.support.device)
        if saved.shape != self.support.shape or not torch.allclose(saved, self.support, rtol=1e-6, atol=1e-6):
            raise ZooError(
                f"checkpoint's C51 support ({len(saved)} atoms"
                f"{f' from {saved[0].item():g} to {saved[-1].item():g}' if len(saved) else ''}) does not match "
                f"this agent's ({self.num_atoms} atoms from {self.v_min:g} to {self.v_max:g}); "
                f"set c51.num_atoms, c51.v_min and c51.v_max as they were"
            )


def c51_loss_and_grad(value: C51Value, td: TDInputs, grad_loss: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """:meth:`C51Value.loss` and the gradient of ``sum(grad_loss * loss)`` w.r.t. ``td.out_tm1
    [B, A, atoms]``, without autograd: C51's fused loss for the core's speed path."""
    target = categorical_target(value._atoms(td.out_tm1), td.r_t, td.discount_t, td.out_t, value._selector_values(td))
    loss, grad = categorical_cross_entropy_and_grad(target, td.out_tm1, td.a_tm1, grad_loss)
    return loss, loss, grad


register_fused_loss(C51Value, c51_loss_and_grad)
