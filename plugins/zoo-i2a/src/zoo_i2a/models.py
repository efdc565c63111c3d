"""Which environment model an agent imagines with: ``i2a.model`` read as a choice and a folder."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo_core.api import ZooError, registry_model
from zoo_i2a.env_model import load_model
from zoo_i2a.networks import EnvModel

__all__ = ["ModelChoice", "model_folder", "resolve_model"]


@dataclass(frozen=True)
class ModelChoice:
    """``imagination`` (``learned``, ``copy``, ``none``); for a learned model the model itself (read
    once, verified), its document (sizes, env, error) and the sha256 of its weights."""

    imagination: str
    model: EnvModel | None = None
    doc: dict[str, Any] | None = None
    sha256: str | None = None


def model_folder(text: str) -> Path:
    """Where a model named ``registry:NAME`` (bundled) or by a path lives.

    :raises ZooError: no such bundled model or folder.
    """
    folder = registry_model(text.removeprefix("registry:")) if text.startswith("registry:") else Path(text)
    if not folder.is_dir():
        raise ZooError(f"i2a.model: no such folder {text}")
    return folder


def resolve_model(text: str, frame_shape: tuple[int, ...], num_actions: int) -> ModelChoice:
    """Read ``i2a.model``: ``copy``, ``none``, ``registry:NAME`` or a folder of ``zoo i2a-model``; a
    learned model is verified and must be for this env's frames and actions.

    :raises ZooError: empty, no such folder, not a model, or a model of another env.
    """
    if text in ("copy", "none"):
        return ModelChoice(text)
    if not text:
        raise ZooError("i2a.model is not set: give an environment model (a folder written by `zoo i2a-model`, "
                       "registry:NAME), copy or none, e.g. --set i2a.model=copy")
    folder = model_folder(text)
    model, doc = load_model(folder)
    if list(doc["frame_shape"]) != list(frame_shape) or int(doc["num_actions"]) != int(num_actions):
        raise ZooError(f"i2a.model: {text} models {doc.get('env_id')} (frames {doc['frame_shape']}, "
                       f"{doc['num_actions']} actions), not the agent's env (frames {list(frame_shape)}, "
                       f"{num_actions} actions)")
    sha = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    return ModelChoice("learned", model, doc, sha)
