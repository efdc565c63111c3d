"""A small replay of recent experience for auxiliary tasks: fixed-length sequences with the recurrent
state they start from (UNREAL keeps the last 2k frames; Jaderberg et al. 2016).

Any learner fills it: an actor-critic learner adds the unrolls it trains on, a step learner (the DQN
family) feeds a :class:`SequenceChunker` that cuts its env steps into sequences. Auxiliary tasks
sample from it (:meth:`SequenceReplay.sample`) or read it whole (``SequenceReplay.arrays``,
batch-major, the first ``len(replay)`` rows filled), for samplers of their own such as reward
prediction's skewed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from zoo_core.learning.devices import to_device


@dataclass
class Sequences:
    """``B`` sequences of ``T`` steps, time-major (what a learner trains on, or what replay gives back).

    obs: ``[T+1, B, *obs_shape]``; ``obs[T]`` is the observation after the last step.
    first: ``[T+1, B]`` float, 1 where the observation begins an episode (a recurrent state is zeroed
        there, and ``obs[t+1]`` is then not the successor of ``obs[t]``).
    a_tm1: ``[T, B]`` int64 actions taken at ``obs[:T]``.
    r_t: ``[T, B]`` float32 rewards.
    discount_t: ``[T, B]`` float32, the learner's γ, 0 where the episode ended.
    state: the recurrent state before ``obs[0]``, a tuple of ``[B, H]`` (``()`` for a feed-forward network).
    task: ``[B]`` int64 task index (0 for single-task learners).
    """

    obs: Any
    first: Any
    a_tm1: Any
    r_t: Any
    discount_t: Any
    state: tuple[Any, ...]
    task: Any

    @property
    def length(self) -> int:
        """``T``, the steps in each sequence."""
        return int(self.a_tm1.shape[0])

    def to(self, device: torch.device) -> Sequences:
        """Numpy arrays -> tensors on ``device`` (``first`` as float)."""
        return Sequences(
            obs=to_device(self.obs, device), first=to_device(np.asarray(self.first, np.float32), device),
            a_tm1=to_device(self.a_tm1, device), r_t=to_device(self.r_t, device),
            discount_t=to_device(self.discount_t, device), state=tuple(to_device(s, device) for s in self.state),
            task=to_device(self.task, device),
        )


FIELDS = ("obs", "first", "a_tm1", "r_t", "discount_t", "task")


class SequenceReplay:
    """The most recent ``capacity`` sequences of ``length`` steps (first in, first out).

    Storage is allocated on the first :meth:`add`, when shapes are known. Sequences are stored
    batch-major (``[N, T+1, ...]``); :meth:`sample` returns them time-major.
    """

    def __init__(self, capacity: int, length: int):
        if capacity < 1 or length < 1:
            raise ValueError(f"capacity and length must be >= 1; got {capacity}, {length}")
        self.capacity, self.length = capacity, length
        self.arrays: dict[str, np.ndarray] = {}
        self.state_parts: list[np.ndarray] = []
        self.size = 0
        self.cursor = 0  # where the next sequence goes

    def __len__(self) -> int:
        return self.size

    def add(self, seq: Sequences) -> None:
        """Store ``B`` sequences (numpy, time-major, ``T`` = this replay's length), oldest overwritten."""
        if seq.length != self.length:
            raise ValueError(f"this replay holds sequences of {self.length} steps; got {seq.length}")
        columns = {name: np.swapaxes(np.asarray(getattr(seq, name)), 0, 1) if name != "task"
                   else np.asarray(seq.task) for name in FIELDS}
        states = [np.asarray(s) for s in seq.state]
        if not self.arrays:
            self.arrays = {n: np.zeros((self.capacity, *c.shape[1:]), c.dtype) for n, c in columns.items()}
            self.state_parts = [np.zeros((self.capacity, *s.shape[1:]), s.dtype) for s in states]
        slots = (self.cursor + np.arange(len(columns["task"]))) % self.capacity
        for name, column in columns.items():
            self.arrays[name][slots] = column
        for stored, s in zip(self.state_parts, states, strict=True):
            stored[slots] = s
        self.cursor = int((self.cursor + len(slots)) % self.capacity)
        self.size = min(self.capacity, self.size + len(slots))

    def take(self, index: np.ndarray) -> Sequences:
        """The stored sequences ``index [B]`` (slots ``< len(self)``), time-major numpy."""
        a = self.arrays
        return Sequences(
            obs=np.swapaxes(a["obs"][index], 0, 1), first=np.swapaxes(a["first"][index], 0, 1),
            a_tm1=np.swapaxes(a["a_tm1"][index], 0, 1), r_t=np.swapaxes(a["r_t"][index], 0, 1),
            discount_t=np.swapaxes(a["discount_t"][index], 0, 1),
            state=tuple(s[index] for s in self.state_parts), task=a["task"][index],
        )

    def sample(self, batch: int, rng: np.random.Generator) -> Sequences:
        """``batch`` sequences drawn uniformly with replacement (the replay must not be empty)."""
        if self.size == 0:
            raise ValueError("cannot sample an empty sequence replay")
        return self.take(rng.integers(0, self.size, size=batch))

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The filled part of the storage and the cursor (arrays, JSON)."""
        arrays = {name: a[: self.size] for name, a in self.arrays.items()}
        arrays.update({f"state{k}": s[: self.size] for k, s in enumerate(self.state_parts)})
        return arrays, {"size": self.size, "cursor": self.cursor, "state_parts": len(self.state_parts),
                        "capacity": self.capacity, "length": self.length}

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        if (meta["capacity"], meta["length"]) != (self.capacity, self.length):
            raise ValueError(f"saved auxiliary replay holds {meta['capacity']} sequences of {meta['length']} "
                             f"steps; this one {self.capacity} of {self.length}")
        self.size, self.cursor = int(meta["size"]), int(meta["cursor"])
        if self.size == 0:
            return
        self.arrays = {}
        for name in FIELDS:
            saved = arrays[name]
            self.arrays[name] = np.zeros((self.capacity, *saved.shape[1:]), saved.dtype)
            self.arrays[name][: self.size] = saved
        self.state_parts = []
        for k in range(int(meta["state_parts"])):
            saved = arrays[f"state{k}"]
            self.state_parts.append(np.zeros((self.capacity, *saved.shape[1:]), saved.dtype))
            self.state_parts[-1][: self.size] = saved


class SequenceChunker:
    """Cuts the steps of ``E`` lock-step envs into sequences of ``length`` steps for a
    :class:`SequenceReplay` (feed-forward learners: the state is empty).

    Each sequence starts where the last one ended (its last observation is the next one's first).
    Where an episode ends the next observation is the reset one, marked ``first``, as in an
    actor-critic unroll.
    """

    def __init__(self, length: int, gamma: float):
        self.length, self.gamma = length, gamma
        self.k = 0  # steps in the sequence being filled
        self.buf: dict[str, np.ndarray] = {}

    def add(self, obs_tm1: np.ndarray, a_tm1: np.ndarray, r_t: np.ndarray, ended: np.ndarray,
            obs: np.ndarray) -> Sequences | None:
        """One step of the ``E`` envs; returns a finished sequence of every env, or None.

        :param obs_tm1: ``[E, *obs_shape]`` observations acted on.
        :param a_tm1: ``[E]`` actions. :param r_t: ``[E]`` rewards.
        :param ended: ``[E]`` bool, the episode ended (terminated or truncated) with this step.
        :param obs: ``[E, *obs_shape]`` the next observations to act on (reset ones where ended).
        """
        n, L = len(a_tm1), self.length
        if not self.buf:
            self.buf = {
                "obs": np.zeros((L + 1, *obs.shape), obs.dtype), "first": np.zeros((L + 1, n), np.float32),
                "a_tm1": np.zeros((L, n), np.int64), "r_t": np.zeros((L, n), np.float32),
                "discount_t": np.zeros((L, n), np.float32),
            }
            self.buf["obs"][0], self.buf["first"][0] = obs_tm1, 1.0
        b, k = self.buf, self.k
        b["a_tm1"][k], b["r_t"][k] = a_tm1, r_t
        b["discount_t"][k] = np.where(ended, 0.0, self.gamma)
        b["obs"][k + 1], b["first"][k + 1] = obs, np.asarray(ended, np.float32)
        self.k += 1
        if self.k < L:
            return None
        done = Sequences(obs=b["obs"].copy(), first=b["first"].copy(), a_tm1=b["a_tm1"].copy(),
                         r_t=b["r_t"].copy(), discount_t=b["discount_t"].copy(), state=(),
                         task=np.zeros(n, np.int64))
        b["obs"][0], b["first"][0] = b["obs"][L], b["first"][L]
        self.k = 0
        return done

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return dict(self.buf), {"k": self.k}

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.buf = {name: np.array(a) for name, a in arrays.items()}
        self.k = int(meta["k"])

