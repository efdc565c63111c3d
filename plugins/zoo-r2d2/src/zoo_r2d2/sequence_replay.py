"""Sequence replay with stored recurrent state (Kapturowski et al. 2019, section 3).

Each env's stream of timesteps is cut into fixed-length sequences of ``length`` timesteps, each
starting ``length - overlap`` timesteps after the one before it, and a sequence is stored with the
recurrent state the actor had just before its first timestep. Sequences cross episode boundaries:
``first`` marks an episode's first observation (where the network zeroes its state) and ``last``
an episode's final observation, on which no action was taken.

A *timestep* is one observation and what followed it:

* ``obs``: the observation;
* ``first``: it begins an episode;
* ``last``: it ends one (the final observation of a terminated or truncated episode; the env was
  reset instead of acting, so ``action``, ``reward`` and ``terminated`` are 0 there);
* ``action``: the action taken on it;
* ``reward``, ``terminated``: the reward of that action, and whether it terminated the episode
  (then the next timestep is ``last`` and is not bootstrapped from; after a truncation the next
  timestep is ``last`` too, and is);
* ``state``: the actor's recurrent state before it read ``obs`` (zero where ``first``).

No pluggy here: a plain buffer, tested on hand-made streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zoo_core.api import ZooError

_STATE_FORMAT = "zoo-r2d2-sequence-replay"
_STATE_VERSION = 1


@dataclass
class SequenceBatch:
    """Sampled sequences, time-major (``L`` timesteps, ``B`` sequences).

    obs: ``[L, B, *obs_shape]``; action: ``[L, B]`` int64; reward: ``[L, B]`` float32;
    terminated, first, last: ``[L, B]`` bool (see the module docstring);
    state: ``[K, B, H]`` float32, the recurrent state before each sequence's first timestep
    (``K`` = 2 for an LSTM's ``(h, c)``, 1 for a GRU's ``h``);
    indices: ``[B]`` int64, the slots sampled.
    """

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    first: np.ndarray
    last: np.ndarray
    state: np.ndarray
    indices: np.ndarray


_FIELDS = ("obs", "action", "reward", "terminated", "first", "last")


class SequenceReplay:
    """A ring of fixed-length sequences, filled from each env's stream, sampled uniformly.

    :param capacity: sequences held; the oldest is overwritten first.
    :param length: timesteps per sequence (burn-in + learning part).
    :param overlap: timesteps a sequence shares with the next one from the same env
        (``0 <= overlap < length``).
    :param obs_shape: shape of one observation.
    :param obs_dtype: dtype of observations.
    :param num_envs: streams feeding the buffer.
    :param state_shape: ``(K, H)`` of the recurrent state stored with each sequence.
    """

    prioritized = False  # uniform over sequences: the learner writes back no priorities

    def __init__(
        self,
        capacity: int,
        length: int,
        overlap: int,
        obs_shape: tuple[int, ...],
        obs_dtype: np.dtype,
        num_envs: int,
        state_shape: tuple[int, int],
    ):
        if capacity < 1 or length < 1 or not 0 <= overlap < length or num_envs < 1:
            raise ZooError(
                f"sequence replay needs capacity >= 1, length >= 1, 0 <= overlap < length and num_envs >= 1; "
                f"got capacity={capacity}, length={length}, overlap={overlap}, num_envs={num_envs}"
            )
        self.capacity, self.length, self.overlap, self.num_envs = capacity, length, overlap, num_envs
        self.obs_shape, self.obs_dtype = tuple(obs_shape), np.dtype(obs_dtype)
        self.state_shape = (int(state_shape[0]), int(state_shape[1]))
        dtypes = {
            "obs": self.obs_dtype, "action": np.int64, "reward": np.float32,
            "terminated": bool, "first": bool, "last": bool,
        }

        def shape(name: str, lead: tuple[int, ...]) -> tuple[int, ...]:
            return lead + (self.obs_shape if name == "obs" else ())

        # The ring of whole sequences, and each env's sequence in the making.
        self._ring = {n: np.zeros(shape(n, (capacity, length)), dtype=dtypes[n]) for n in _FIELDS}
        self._ring["state"] = np.zeros((capacity, *self.state_shape), dtype=np.float32)
        self._open = {n: np.zeros(shape(n, (num_envs, length)), dtype=dtypes[n]) for n in _FIELDS}
        self._open["state"] = np.zeros((num_envs, length, *self.state_shape), dtype=np.float32)
        self._open_len = np.zeros(num_envs, dtype=np.int64)
        self._pos = 0
        self._size = 0

    def __len__(self) -> int:
        """Complete sequences held."""
        return self._size

    @property
    def nbytes(self) -> int:
        """Bytes of the ring and the open sequences."""
        return sum(a.nbytes for a in self._ring.values()) + sum(a.nbytes for a in self._open.values())

    def append(
        self,
        env: int,
        obs: np.ndarray,
        first: bool,
        last: bool,
        action: int,
        reward: float,
        terminated: bool,
        state: np.ndarray,
    ) -> None:
        """Add one timestep (see the module docstring) to env ``env``'s stream.

        :param state: ``[K, H]``, the recurrent state before ``obs`` was read.
        """
        t = int(self._open_len[env])
        row = {"obs": obs, "first": first, "last": last, "action": action, "reward": reward,
               "terminated": terminated, "state": state}
        for name, value in row.items():
            self._open[name][env, t] = value
        self._open_len[env] = t + 1
        if t + 1 == self.length:
            self._close(env)

    def _close(self, env: int) -> None:
        """Move env ``env``'s full sequence into the ring; its last ``overlap`` timesteps open the next."""
        pos = self._pos
        for name in _FIELDS:
            self._ring[name][pos] = self._open[name][env]
        self._ring["state"][pos] = self._open["state"][env, 0]
        self._pos = (pos + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)
        keep = self.overlap
        if keep:
            for array in self._open.values():
                array[env, :keep] = array[env, self.length - keep :].copy()
        self._open_len[env] = keep

    def update_priorities(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        """Uniform replay keeps no priorities."""
        del indices, priorities

    def sample(self, batch_size: int, rng: np.random.Generator) -> SequenceBatch:
        """``batch_size`` sequences drawn uniformly with replacement, time-major."""
        if self._size == 0:
            raise ZooError("cannot sample from a sequence replay that holds no complete sequence")
        indices = rng.integers(0, self._size, size=batch_size)
        return self.gather(indices)

    def gather(self, indices: np.ndarray) -> SequenceBatch:
        """The sequences in slots ``indices [B]``, time-major."""
        ring = self._ring
        fields = {n: np.ascontiguousarray(np.swapaxes(ring[n][indices], 0, 1)) for n in _FIELDS}
        state = np.ascontiguousarray(np.swapaxes(ring["state"][indices], 0, 1))  # [K, B, H]
        return SequenceBatch(**fields, state=state, indices=np.asarray(indices, dtype=np.int64))

    # --- state ----------------------------------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        return {
            "capacity": self.capacity, "length": self.length, "overlap": self.overlap,
            "obs_shape": list(self.obs_shape), "obs_dtype": self.obs_dtype.name, "num_envs": self.num_envs,
            "state_shape": list(self.state_shape),
        }

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)`` describing the buffer exactly: the buffer's own arrays (no copy) and JSON."""
        arrays = {f"ring.{n}": a for n, a in self._ring.items()}
        arrays.update({f"open.{n}": a for n, a in self._open.items()})
        meta = {
            "format": _STATE_FORMAT, "version": _STATE_VERSION, "config": self._config(),
            "pos": self._pos, "size": self._size, "open_len": [int(n) for n in self._open_len],
        }
        return arrays, meta

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` described; :class:`ZooError` on any mismatch."""
        if meta.get("format") != _STATE_FORMAT or meta.get("version") != _STATE_VERSION:
            raise ZooError(f"replay state is not a {_STATE_FORMAT} state of version {_STATE_VERSION}")
        if meta.get("config") != self._config():
            raise ZooError(
                f"replay state was saved with other arguments: {meta.get('config')} (buffer: {self._config()})"
            )
        for prefix, target in (("ring", self._ring), ("open", self._open)):
            for name, array in target.items():
                saved = arrays.get(f"{prefix}.{name}")
                if saved is None or saved.shape != array.shape:
                    raise ZooError(f"replay state lacks {prefix}.{name} of shape {array.shape}")
                array[...] = saved
        self._pos, self._size = int(meta["pos"]), int(meta["size"])
        self._open_len[:] = meta["open_len"]
