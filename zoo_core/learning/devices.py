"""Where a learner's tensors live: ``run.device`` resolved to a :class:`torch.device`, and host arrays
moved there.

One function decides for every algorithm (the builder receives the result as
``BuildContext.device``), so ``auto``, ``cpu`` and ``cuda`` mean the same thing to DQN, R2D2, IMPALA
and AlphaZero. Replay, envs and actors stay in host memory; only batches travel.
"""

from __future__ import annotations

import numpy as np
import torch

from zoo_core.errors import ZooError

DEVICES = ("auto", "cpu", "cuda")
CPU = torch.device("cpu")


def resolve_device(name: str) -> torch.device:
    """``run.device`` as a device: ``auto`` is ``cuda`` when torch sees a GPU, else ``cpu``.

    :raises ZooError: ``cuda`` on a machine (or torch build) without CUDA, or an unknown name.
    """
    if name not in DEVICES:
        raise ZooError(f"run.device must be one of {', '.join(DEVICES)}; got {name!r}")
    cuda = torch.cuda.is_available()
    if name == "cuda" and not cuda:
        raise ZooError(
            f"run.device=cuda, but torch {torch.__version__} sees no CUDA device here (set run.device=auto "
            "or cpu; `zoo resume RUN --device cpu` continues a run made on a GPU)"
        )
    return torch.device("cuda" if name == "cuda" or (name == "auto" and cuda) else "cpu")


def to_device(array: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """A host array as a tensor on ``device``: no copy on the CPU; on a GPU, copied through pinned
    memory without blocking (the copy overlaps whatever the host does next)."""
    tensor = torch.as_tensor(array)
    if tensor.device.type == device.type:
        return tensor
    if tensor.device.type == "cpu" and device.type == "cuda":
        tensor = tensor.pin_memory()  # a pinned source lets the copy run asynchronously
    return tensor.to(device, non_blocking=True)


def to_host(tensor: torch.Tensor) -> np.ndarray:
    """A tensor as a numpy array (a view on the CPU; a copy from a GPU)."""
    if tensor.device.type == "cpu" and not tensor.requires_grad:
        return tensor.numpy()  # the acting hot path: skips two no-op calls
    return tensor.detach().cpu().numpy()
