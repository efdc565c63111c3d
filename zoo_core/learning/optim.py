"""Optimiser state as checkpoint tensors and JSON, and the gradient clip every learner uses.

The speed path's own optimiser and clip (:mod:`zoo_core.fast`) give the same bits as these.
"""

from __future__ import annotations

from typing import Any

import torch


def clip_grad_norm(params: list[torch.nn.Parameter], max_norm: float) -> torch.Tensor:
    """Scale gradients so their global L2 norm is at most ``max_norm``; return the norm before.

    ``torch.nn.utils.clip_grad_norm_`` with its multi-tensor kernels.
    """
    return torch.nn.utils.clip_grad_norm_(params, max_norm, foreach=True)


def optimizer_state(optimizer: Any) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimiser's ``state_dict`` as checkpoint tensors (``optim.<index>.<slot>``) and JSON."""
    state = optimizer.state_dict()
    meta: dict[str, Any] = {"param_groups": state["param_groups"], "state": {}}
    tensors: dict[str, torch.Tensor] = {}
    for index, slots in state["state"].items():
        meta["state"][str(index)] = sorted(slots)
        for name, value in slots.items():
            tensors[f"optim.{index}.{name}"] = torch.as_tensor(value).detach().clone()
    return tensors, meta


def load_optimizer_state(optimizer: Any, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Restore what :func:`optimizer_state` saved."""
    state = {
        int(index): {name: tensors[f"optim.{index}.{name}"] for name in names}
        for index, names in meta["state"].items()
    }
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
