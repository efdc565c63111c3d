"""The C51 value distribution: a categorical distribution over a fixed support per action."""

from __future__ import annotations

from typing import Any

import torch

from zoo_c51.loss import categorical_cross_entropy_and_grad, categorical_double_q_learning, categorical_target
from zoo_core.errors import ZooError


class C51Value:
    """``num_atoms`` logits per action over the evenly spaced support ``linspace(v_min, v_max)``.

    Fills the value distribution role of :mod:`zoo_core.value_distribution`: Q-values are the
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
        return self.support if like.dtype == self.support.dtype else self.support.to(like.dtype)

    def probabilities(self, out: torch.Tensor) -> torch.Tensor:
        """``softmax`` over atoms: ``[..., atoms]`` logits -> probabilities."""
        return torch.softmax(out, dim=-1)

    def q_values(self, out: torch.Tensor) -> torch.Tensor:
        """Expected values ``[B, A]`` of the distributions ``out [B, A, atoms]`` (logits)."""
        return (torch.softmax(out, dim=-1) * self._atoms(out)).sum(-1)

    def loss(
        self,
        out_tm1: torch.Tensor,
        a_tm1: torch.Tensor,
        r_t: torch.Tensor,
        discount_t: torch.Tensor,
        out_t: torch.Tensor,
        out_t_selector: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loss [B], priority [B])``: the categorical TD cross-entropy and its detached copy.

        The next action is the argmax of ``out_t_selector``'s means (double Q) or, when it is
        None, of ``out_t``'s own.
        """
        with torch.no_grad():
            q_t_selector = self.q_values(out_t if out_t_selector is None else out_t_selector)
        loss = categorical_double_q_learning(
            self._atoms(out_tm1), out_tm1, a_tm1, r_t, discount_t, out_t, q_t_selector
        )
        return loss, loss.detach()

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
        """:meth:`loss` and the gradient of ``sum(grad_loss * loss)`` w.r.t. ``out_tm1 [B, A, atoms]``,
        without autograd (the core's plain-network learner, ``zoo_core/fast.py``)."""
        q_t_selector = self.q_values(out_t if out_t_selector is None else out_t_selector)
        target = categorical_target(self._atoms(out_tm1), r_t, discount_t, out_t, q_t_selector)
        loss, grad = categorical_cross_entropy_and_grad(target, out_tm1, a_tm1, grad_loss)
        return loss, loss, grad

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
        saved = torch.tensor(state.get("support", []), dtype=self.support.dtype)
        if saved.shape != self.support.shape or not torch.allclose(saved, self.support, rtol=1e-6, atol=1e-6):
            raise ZooError(
                f"checkpoint's C51 support ({len(saved)} atoms"
                f"{f' from {saved[0].item():g} to {saved[-1].item():g}' if len(saved) else ''}) does not match "
                f"this agent's ({self.num_atoms} atoms from {self.v_min:g} to {self.v_max:g}); "
                f"set c51.num_atoms, c51.v_min and c51.v_max as they were"
            )
