"""The environment model as a thing of its own: transitions gathered by a policy, training, its
prediction error, and its artifact (safetensors + JSON with a manifest, read by the same verified,
code-free reader as agents).

Gathering plays training levels only (level seeds at or above :data:`zoo_i2a.env.TRAIN_SEEDS`), so a
model never sees a held-out level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo_core.api import ZooError, load_checkpoint, write_folder
from zoo_i2a.env import TRAIN_SEEDS
from zoo_i2a.networks import EnvModel
from zoo_i2a.palette import PALETTE, cells_frame, frame_cells

FORMAT = 1


@dataclass
class Transitions:
    """``frames`` and ``next_frames`` ``uint8 [N, 3, H, W]``, ``actions`` ``int64 [N]``, ``rewards``
    ``float32 [N]``; the last step of a solved level is included (its next frame is the solved one)."""

    frames: np.ndarray
    actions: np.ndarray
    next_frames: np.ndarray
    rewards: np.ndarray

    def __len__(self) -> int:
        return len(self.actions)

    def split(self, held_out: float) -> tuple[Transitions, Transitions]:
        """The first ``1 - held_out`` of the transitions and the rest."""
        cut = int(round(len(self) * (1.0 - held_out)))
        pick = [slice(0, cut), slice(cut, None)]
        return tuple(Transitions(self.frames[s], self.actions[s], self.next_frames[s], self.rewards[s]) for s in pick)


def gather(env: Any, policy: Callable[[np.ndarray], int] | None, n: int, seed: int,
           epsilon: float = 0.0) -> Transitions:
    """``n`` transitions of ``policy`` (observation -> action; None: uniformly random actions) on
    training levels drawn from ``seed``; with ``epsilon`` a random action replaces the policy's that
    often (a greedy agent stuck against a wall would fill the data with one transition)."""
    rng = np.random.default_rng(seed)
    frames, actions, next_frames, rewards = [], [], [], []
    obs, _ = env.reset(seed=int(rng.integers(TRAIN_SEEDS, 2**31)))
    while len(actions) < n:
        explore = policy is None or (epsilon > 0 and rng.random() < epsilon)
        action = int(rng.integers(env.action_space.n)) if explore else int(policy(obs))
        nxt, reward, terminated, truncated, _ = env.step(action)
        frames.append(obs)
        actions.append(action)
        next_frames.append(nxt)
        rewards.append(reward)
        obs = env.reset(seed=int(rng.integers(TRAIN_SEEDS, 2**31)))[0] if terminated or truncated else nxt
    return Transitions(np.stack(frames), np.array(actions, np.int64), np.stack(next_frames),
                       np.array(rewards, np.float32))


def model_loss(model: EnvModel, frames: torch.Tensor, actions: torch.Tensor, next_frames: torch.Tensor,
               rewards: torch.Tensor, reward_weight: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Per-cell cross-entropy to the next frame's cell kinds plus ``reward_weight`` x the reward's
    squared error, from frames ``uint8 [B, 3, H, W]``; returns the loss and its parts."""
    logits, reward = model(frame_cells(frames, model.cell), actions)
    frame_loss = torch.nn.functional.cross_entropy(logits, frame_cells(next_frames, model.cell))
    reward_loss = ((reward - rewards) ** 2).mean()
    parts = {"frame_loss": float(frame_loss.detach()), "reward_loss": float(reward_loss.detach())}
    return frame_loss + reward_weight * reward_loss, parts


def train_model(model: EnvModel, data: Transitions, steps: int, batch_size: int = 64, lr: float = 1e-3,
                seed: int = 0, progress: Callable[[int, dict[str, float]], None] | None = None,
                events: float = 0.25, reward_weight: float = 0.1) -> dict[str, float]:
    """``steps`` Adam updates on minibatches drawn from ``data``; returns the last update's losses.

    ``events``: the share of each minibatch drawn from the transitions whose reward is not the
    usual step penalty (a box moved on or off a target, a level solved). They are rare, a few in a
    thousand frames of a model-free agent, and uniform minibatches left the model predicting the
    mean reward; the rest of the minibatch is drawn uniformly. ``reward_weight`` scales the reward's
    squared error (a solved level's 10.9 would otherwise swamp the frame's loss: with weight 1 the
    frames came out wrong five times as often, measured on a model-free agent's 6x6 frames).
    """
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    parts: dict[str, float] = {}
    values, counts = np.unique(data.rewards, return_counts=True)
    rare = np.flatnonzero(data.rewards != values[np.argmax(counts)]) if len(values) else np.array([], np.int64)
    n_events = int(round(batch_size * events)) if len(rare) else 0
    model.train()
    for i in range(steps):
        pick = rng.integers(len(data), size=batch_size - n_events)
        if n_events:
            pick = np.concatenate([pick, rare[rng.integers(len(rare), size=n_events)]])
        loss, parts = model_loss(model, *(torch.as_tensor(a[pick]) for a in
                                          (data.frames, data.actions, data.next_frames, data.rewards)),
                                 reward_weight=reward_weight)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if progress is not None:
            progress(i + 1, parts)
    model.eval()
    return parts


@torch.no_grad()
def predict(model: EnvModel, frames: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's next frames ``uint8 [B, 3, H, W]`` (each cell its most likely kind) and rewards ``[B]``."""
    logits, reward = model(frame_cells(frames, model.cell), actions)
    return cells_frame(logits.argmax(dim=1), model.cell), reward


@torch.no_grad()
def open_loop(model: EnvModel, frame: torch.Tensor, actions: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's own rollout of ``actions`` from one real frame ``uint8 [3, H, W]``, each prediction
    fed back as the next input (imagination without looking at the env): frames ``uint8 [τ, 3, H, W]``
    and rewards ``[τ]``."""
    frames, rewards, current = [], [], frame[None]
    for action in actions:
        current, reward = predict(model, current, torch.tensor([action]))
        frames.append(current[0])
        rewards.append(reward[0])
    return torch.stack(frames), torch.stack(rewards)


@torch.no_grad()
def model_error(model: EnvModel, data: Transitions, batch: int = 256) -> dict[str, float]:
    """How wrong the model is on ``data``: the fraction of pixels of the wrong colour, the fraction of
    frames with any wrong pixel, and the reward's mean squared error."""
    wrong_pixels = wrong_frames = squared = 0.0
    for i in range(0, len(data), batch):
        s = slice(i, i + batch)
        frames, rewards = predict(model, torch.as_tensor(data.frames[s]), torch.as_tensor(data.actions[s]))
        wrong = (frames != torch.as_tensor(data.next_frames[s])).any(dim=1)  # [b, H, W]
        wrong_pixels += float(wrong.float().mean(dim=(1, 2)).sum())
        wrong_frames += float(wrong.flatten(1).any(dim=1).float().sum())
        squared += float(((rewards - torch.as_tensor(data.rewards[s])) ** 2).sum())
    n = len(data)
    return {"pixel_error": wrong_pixels / n, "frame_error": wrong_frames / n, "reward_mse": squared / n}


def save_model(model: EnvModel, folder: Path, document: dict[str, Any]) -> Path:
    """Write the model to ``folder``: ``model.safetensors``, ``env_model.json`` (its shapes and
    ``document``: the env, how it was trained, its error), ``manifest.json``."""
    doc = {"format": FORMAT, "kind": "i2a-env-model", "frame_shape": list(model.frame_shape),
           "num_actions": model.num_actions, "num_colours": model.num_colours, "channels": model.channels,
           "cell": model.cell,
           **document}
    return write_folder(Path(folder), {"model": {k: v.detach().cpu() for k, v in model.state_dict().items()}},
                        {"env_model": doc})


def load_model(folder: Path) -> tuple[EnvModel, dict[str, Any]]:
    """Read a saved model (verified against its manifest; no code is loaded).

    :raises ZooError: not an environment model folder, or weights that do not fit its shapes.
    """
    tensors, docs = load_checkpoint(Path(folder))
    doc = docs.get("env_model")
    if not doc or doc.get("kind") != "i2a-env-model" or "model" not in tensors:
        raise ZooError(f"{folder} is not an I2A environment model (needs env_model.json and model.safetensors)")
    model = EnvModel(tuple(doc["frame_shape"]), doc["num_actions"], doc["num_colours"], doc["channels"], doc["cell"])
    try:
        model.load_state_dict(tensors["model"])
    except RuntimeError as exc:
        raise ZooError(f"{folder}: the weights do not fit the model it describes: {str(exc).splitlines()[0]}") from None
    model.eval()
    return model, doc


def new_model(frame_shape: tuple[int, int, int], num_actions: int, channels: int = 16, seed: int = 0) -> EnvModel:
    """A fresh model for frames of ``frame_shape`` over the Sokoban palette."""
    torch.manual_seed(seed)
    return EnvModel(frame_shape, num_actions, len(PALETTE), channels)
