"""An unroll: what an actor sends the learner, and how unrolls become one time-major batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from zoo_core.api import CPU, Sequences, to_device

ARRAYS = ("obs", "first", "a_tm1", "r_t", "discount_t", "mu_logits", "task")


@dataclass
class Unroll:
    """``T`` steps of ``E`` envs played by one actor with one copy of the parameters.

    obs: ``[T+1, E, *obs_shape]``; ``obs[T]`` is the bootstrap observation and the first of the
        actor's next unroll.
    first: ``[T+1, E]`` bool, the observation begins an episode (a recurrent state is zeroed there).
    a_tm1: ``[T, E]`` int64 actions taken at ``obs[:T]``.
    r_t: ``[T, E]`` float32 rewards; where a time limit cut an episode, plus γ·V(final observation)
        under the behaviour parameters, since the successor is not in the unroll.
    discount_t: ``[T, E]`` float32, γ, or 0 where the episode ended (terminated or truncated).
    mu_logits: ``[T, E, A]`` float32 behaviour-policy logits at ``obs[:T]``.
    state: the recurrent state before ``obs[0]``, a tuple of ``[E, H]`` float32 (``()`` without one).
    task: ``[E]`` int64 task index of each env (multi-task value heads and PopArt statistics).
    version: learner updates the behaviour parameters had seen.
    actor: the actor that played it.
    episodes: ``(env index, return, length)`` of the games that ended in the unroll; the index
        counts envs across actors (``actor * E + env``).
    """

    obs: np.ndarray
    first: np.ndarray
    a_tm1: np.ndarray
    r_t: np.ndarray
    discount_t: np.ndarray
    mu_logits: np.ndarray
    state: tuple[np.ndarray, ...]
    task: np.ndarray
    version: int
    actor: int
    episodes: list[tuple[int, float, int]] = field(default_factory=list)

    @property
    def frames(self) -> int:
        """Env steps in the unroll, ``T * E``."""
        return int(self.a_tm1.size)

    def to_tensors(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Checkpoint form: arrays as tensors, the rest as JSON."""
        # Copies: Ray hands out read-only arrays.
        tensors = {name: torch.from_numpy(np.array(getattr(self, name))) for name in ARRAYS}
        tensors.update({f"state{k}": torch.from_numpy(np.array(s)) for k, s in enumerate(self.state)})
        meta = {"version": self.version, "actor": self.actor, "episodes": [list(e) for e in self.episodes],
                "state_parts": len(self.state)}
        return tensors, meta

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Unroll:
        """Rebuild an unroll from :meth:`to_tensors`."""
        arrays = {name: tensors[name].numpy() for name in ARRAYS}
        state = tuple(tensors[f"state{k}"].numpy() for k in range(meta["state_parts"]))
        episodes = [(int(i), float(r), int(n)) for i, r, n in meta["episodes"]]
        return cls(**arrays, state=state, version=int(meta["version"]), actor=int(meta["actor"]), episodes=episodes)


@dataclass
class Batch:
    """Unrolls side by side: the same fields as :class:`Unroll` with ``B = Σ E`` columns, as tensors."""

    obs: torch.Tensor  # [T+1, B, *obs_shape]
    first: torch.Tensor  # [T+1, B] float
    a_tm1: torch.Tensor  # [T, B] int64
    r_t: torch.Tensor  # [T, B]
    discount_t: torch.Tensor  # [T, B]
    mu_logits: torch.Tensor  # [T, B, A]
    state: tuple[torch.Tensor, ...]  # each [B, H]
    task: torch.Tensor  # [B] int64

    def sequences(self) -> Sequences:
        """The batch without the behaviour logits, as auxiliary tasks read it (same tensors)."""
        return Sequences(self.obs, self.first, self.a_tm1, self.r_t, self.discount_t, self.state, self.task)


def sequences(unrolls: list[Unroll]) -> Sequences:
    """Unrolls side by side (all must share ``T``) as numpy :class:`zoo_core.api.Sequences`: what the
    learner's batch is made of and what auxiliary tasks replay. One unroll is not copied."""
    lengths = {u.a_tm1.shape[0] for u in unrolls}
    if len(lengths) != 1:
        raise ValueError(f"unrolls of different lengths cannot share a batch: {sorted(lengths)}")

    def cat(name: str, axis: int = 1) -> np.ndarray:
        parts = [getattr(u, name) for u in unrolls]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)

    state = tuple(np.concatenate([u.state[k] for u in unrolls]) for k in range(len(unrolls[0].state)))
    return Sequences(obs=cat("obs"), first=cat("first").astype(np.float32), a_tm1=cat("a_tm1"), r_t=cat("r_t"),
                     discount_t=cat("discount_t"), state=state, task=cat("task", axis=0))


def stack(unrolls: list[Unroll], device: torch.device = CPU, seq: Sequences | None = None) -> Batch:
    """Concatenate unrolls along the env axis (all must share ``T``), as tensors on ``device`` (the
    learner's); ``seq`` is their :func:`sequences` when the caller has it already."""
    on = (sequences(unrolls) if seq is None else seq).to(device)
    mu_logits = to_device(np.concatenate([u.mu_logits for u in unrolls], axis=1), device)
    return Batch(obs=on.obs, first=on.first, a_tm1=on.a_tm1, r_t=on.r_t, discount_t=on.discount_t,
                 mu_logits=mu_logits, state=on.state, task=on.task)


def clip_rewards(r_t: Any, clip: float) -> Any:
    """Rewards ``[T, B]`` (numpy or torch) clipped to ``±clip``; unchanged when ``clip`` is 0."""
    if clip <= 0:
        return r_t
    return r_t.clamp(-clip, clip) if isinstance(r_t, torch.Tensor) else np.clip(r_t, -clip, clip)
