"""Uniform experience replay that stores each env's stream of timesteps, frames once.

Layout. The buffer holds E independent rings, one per parallel env, of R = capacity // E
slots each, packed into flat arrays of length E * R: env e owns slots [e * R, (e + 1) * R),
and a flat slot id is `e * R + (t % R)` for the absolute time t of that env's stream.
A slot holds one observation (only its newest frame `obs[-1]` when frame stacking),
the action taken there, the reward and `terminated` flag that followed, and two pieces of
bookkeeping: its position within its episode and whether it is the episode's final
observation (which has no action). An episode of L steps takes L + 1 slots, so an Atari
transition costs one 84x84 frame instead of the 8 a naive (s_tm1, s_t) store would.

Which slots are sampleable transitions is kept up to date in a per-slot `ready` flag by
`add` (O(E * max(n, k)) work per step), so the hot path checks a draw with one gather.
Sampling draws flat slot ids uniformly among the written ones and redraws the invalid
ones (an episode's final slot, a window not yet written, a stack whose frames have been
overwritten), so every accepted draw is uniform over the valid transitions; everything is
vectorised over the batch.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from zoo_core.errors import ZooError
from zoo_core.learning.nstep import n_step_return, window_terms

# `_open_start[e]` for an env whose last episode has ended. It compares greater than any
# real start time, which makes "is this slot's episode finished?" one comparison.
_NO_OPEN_EPISODE = np.iinfo(np.int64).max

_STATE_FORMAT = "zoo_core.learning.replay.UniformReplay"
_STATE_VERSION = 1


@dataclasses.dataclass
class Batch:
    """A batch of n-step transitions, rlax naming.

    Attributes:
      obs_tm1: [B, *obs_shape] observation the action was taken in (stacks rebuilt).
      a_tm1: [B] int64 action taken in obs_tm1.
      r_t: [B] float32 discounted sum r_t + g r_{t+1} + ... of m <= n rewards, stopping
        at the episode's end.
      discount_t: [B] float32 discount to bootstrap with: g^m, or 0 if the episode
        terminated within those m steps. A truncation (time limit) keeps g^m.
      obs_t: [B, *obs_shape] observation m steps after obs_tm1 (the final observation
        when the episode ended within the window).
      indices: [B] int64 flat slot ids (env * ring_size + slot), for priority updates.
      weights: [B] float32 importance weights.
    """

    obs_tm1: np.ndarray
    a_tm1: np.ndarray
    r_t: np.ndarray
    discount_t: np.ndarray
    obs_t: np.ndarray
    indices: np.ndarray
    weights: np.ndarray


class UniformReplay:
    """Replay of n-step transitions with frame stacks rebuilt from single stored frames.

    Frame stacking (frame_stack = k > 1): `obs_shape` is the stacked, channel-first shape
    `(k, *frame_shape)`. The stack of the slot at time t is rebuilt from the frames at
    t-k+1 .. t, each clamped to the episode's first slot; so an episode's first
    observation must be k copies of the reset frame, as gymnasium's
    `FrameStackObservation(padding_type="reset")` produces (checked in `add`).
    """

    # Rejection rounds before falling back to an exact scan of all slots. Invalid slots
    # are a small fraction in practice (one per episode, plus n at each ring's head and
    # k-1 at its tail), so a round or two nearly always suffices.
    _REJECTION_ROUNDS = 8
    # Uniform sampling needs no importance weights or priorities; prioritized replay sets True.
    prioritized = False

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...],
        obs_dtype: np.dtype | type,
        *,
        num_envs: int = 1,
        n_step: int = 1,
        gamma: float = 0.99,
        frame_stack: int = 1,
    ) -> None:
        """Allocates all storage up front.

        Args:
          capacity: total slots over all envs; must be a multiple of `num_envs`.
          obs_shape: shape of one (stacked) observation, e.g. (4,) or (4, 84, 84).
          obs_dtype: dtype observations are stored in.
          num_envs: E, the number of parallel envs feeding `add`.
          n_step: n, the length of the return window.
          gamma: per-step discount in [0, 1].
          frame_stack: k; when > 1, `obs_shape[0]` must equal k.
        """
        obs_shape = tuple(int(d) for d in obs_shape)
        try:
            obs_dtype = np.dtype(obs_dtype)
        except TypeError as e:
            raise ZooError(f"replay obs_dtype {obs_dtype!r} is not a numpy dtype") from e
        for name, value in (
            ("capacity", capacity),
            ("num_envs", num_envs),
            ("n_step", n_step),
            ("frame_stack", frame_stack),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ZooError(f"replay {name} must be a positive integer, got {value!r}")
        capacity, num_envs, n_step, frame_stack = int(capacity), int(num_envs), int(n_step), int(frame_stack)
        if capacity % num_envs:
            raise ZooError(
                f"replay capacity {capacity} must be a multiple of num_envs {num_envs} (one equal ring per env)"
            )
        if not 0.0 <= float(gamma) <= 1.0:
            raise ZooError(f"replay gamma must be in [0, 1], got {gamma!r}")
        if any(d < 1 for d in obs_shape):
            raise ZooError(f"replay obs_shape {obs_shape} has a non-positive dimension")
        if frame_stack > 1 and (len(obs_shape) < 2 or obs_shape[0] != frame_stack):
            raise ZooError(
                f"replay obs_shape {obs_shape} must be channel-first (frame_stack={frame_stack}, *frame_shape) "
                "when frame_stack > 1"
            )
        ring_size = capacity // num_envs
        # The longest episode's transitions are only sampleable if a ring holds a whole
        # window (n + 1 slots) plus the k - 1 older frames of its stack.
        if ring_size < n_step + frame_stack:
            raise ZooError(
                f"replay ring size capacity/num_envs = {ring_size} must be at least "
                f"n_step + frame_stack = {n_step + frame_stack}"
            )

        self._capacity = capacity
        self._obs_shape = obs_shape
        self._obs_dtype = obs_dtype
        self._num_envs = num_envs
        self._n_step = n_step
        self._gamma = float(gamma)
        self._frame_stack = frame_stack
        self._ring = ring_size
        frame_shape = obs_shape[1:] if frame_stack > 1 else obs_shape

        # Per slot, flat [E * R].
        self._frames = np.zeros((capacity, *frame_shape), obs_dtype)  # [E*R, *frame_shape]
        self._action = np.zeros(capacity, np.int64)  # a taken in this slot's observation
        self._reward = np.zeros(capacity, np.float32)  # r that followed that action
        self._terminated = np.zeros(capacity, np.bool_)  # that step terminated the episode
        self._is_last = np.zeros(capacity, np.bool_)  # episode's final observation: no action
        self._pos = np.zeros(capacity, np.int64)  # steps since the episode's first slot
        # The slot is a sampleable transition: it has an action, its n-step window is
        # written and its stack's frames are held. Maintained by `add`; see `_write`.
        self._ready = np.zeros(capacity, np.bool_)
        # Per env [E]: absolute time of the next slot to write, and the start time of the
        # episode still running (_NO_OPEN_EPISODE once it ended: the next add starts one).
        self._t_next = np.zeros(num_envs, np.int64)
        self._open_start = np.full(num_envs, _NO_OPEN_EPISODE, np.int64)

        # Constants of the hot path, built once.
        self._envs = np.arange(num_envs, dtype=np.int64)  # [E]
        self._base = self._envs * ring_size  # [E] first flat slot of each ring
        self._window = np.arange(n_step, dtype=np.int64)  # [n]: 0 .. n-1 steps ahead
        self._behind = np.arange(1, n_step + 1, dtype=np.int64)  # [n]: 1 .. n slots back
        self._stack_back = np.arange(frame_stack - 1, -1, -1, dtype=np.int64)  # [k]: k-1 .. 0 frames back
        self._stack_ahead = np.arange(1, frame_stack, dtype=np.int64)  # [k-1]: 1 .. k-1
        # Indexed by `terminated` as uint8: the one-step discount.
        self._step_discount = np.array([self._gamma, 0.0], np.float32)
        self._all_full = False  # every ring has wrapped once; a cache of t_next >= R

    # ------------------------------------------------------------------ properties

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def num_envs(self) -> int:
        return self._num_envs

    @property
    def ring_size(self) -> int:
        return self._ring

    @property
    def n_step(self) -> int:
        return self._n_step

    @property
    def gamma(self) -> float:
        return self._gamma

    @property
    def frame_stack(self) -> int:
        return self._frame_stack

    @property
    def obs_shape(self) -> tuple[int, ...]:
        return self._obs_shape

    def __len__(self) -> int:
        """Number of slots written and still held, summed over the rings."""
        return int(np.minimum(self._t_next, self._ring).sum())

    @property
    def nbytes(self) -> int:
        """Bytes of all arrays the buffer holds."""
        return sum(a.nbytes for a in self.held_arrays().values()) + self._t_next.nbytes + self._open_start.nbytes

    # ------------------------------------------------------------------ writing

    def add(
        self,
        obs_tm1: np.ndarray,
        a_tm1: np.ndarray,
        r_t: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        obs_t: np.ndarray,
    ) -> None:
        """Records one vectorised env step.

        Args:
          obs_tm1: [E, *obs_shape] observation the agent acted on. Written only for an env
            that starts a new episode (first call, or its previous step ended one);
            otherwise it is the obs_t of that env's previous call, already stored.
          a_tm1: [E] integer action taken in obs_tm1.
          r_t: [E] reward that followed.
          terminated: [E] bool, the episode reached a terminal state.
          truncated: [E] bool, the episode was cut off (time limit); bootstraps.
          obs_t: [E, *obs_shape] the true next observation: the final one if the episode
            ended (not an auto-reset's first observation).
        """
        E = self._num_envs
        obs_tm1 = np.asarray(obs_tm1)
        obs_t = np.asarray(obs_t)
        a_tm1 = np.asarray(a_tm1)
        r_t = np.asarray(r_t)
        terminated = np.asarray(terminated, dtype=np.bool_)
        truncated = np.asarray(truncated, dtype=np.bool_)
        obs_batch_shape = (E, *self._obs_shape)
        if obs_tm1.shape != obs_batch_shape or obs_t.shape != obs_batch_shape:
            raise ZooError(
                f"replay.add expects observations of shape {obs_batch_shape}, got {obs_tm1.shape} and {obs_t.shape}"
            )
        for name, value in (("a_tm1", a_tm1), ("r_t", r_t), ("terminated", terminated), ("truncated", truncated)):
            if value.shape != (E,):
                raise ZooError(f"replay.add expects {name} of shape ({E},), got {value.shape}")
        if a_tm1.dtype.kind not in "iub":
            raise ZooError(f"replay.add expects integer (discrete) actions, got dtype {a_tm1.dtype}")
        if r_t.dtype.kind not in "fiub":
            raise ZooError(f"replay.add expects numeric rewards, got dtype {r_t.dtype}")
        k = self._frame_stack

        starting = np.flatnonzero(self._open_start == _NO_OPEN_EPISODE)
        if starting.size:
            first = obs_tm1[starting]
            if k > 1 and not (first == first[:, -1:]).all():
                # Only the newest frame is stored, so a first observation padded otherwise
                # (e.g. with zeros) could not be rebuilt; refuse rather than corrupt.
                raise ZooError(
                    "replay with frame_stack > 1 needs an episode's first observation to be "
                    "frame_stack copies of the reset frame (FrameStackObservation padding_type='reset')"
                )
            t = self._t_next[starting]
            self._write(starting, first[:, -1] if k > 1 else first, np.zeros(starting.size, np.int64), None)
            self._open_start[starting] = t

        # Every env's newest slot is now the observation it acted on.
        acted = self._base + (self._t_next - 1) % self._ring
        self._action[acted] = a_tm1
        self._reward[acted] = r_t
        self._terminated[acted] = terminated

        done = terminated | truncated
        self._write(self._envs, obs_t[:, -1] if k > 1 else obs_t, self._pos[acted] + 1, done)
        self._open_start[done] = _NO_OPEN_EPISODE

    def _write(self, envs: np.ndarray, frame: np.ndarray, pos: np.ndarray, done: np.ndarray | None) -> None:
        """Appends one slot to each ring in `envs` and updates the `ready` flags.

        Args:
          envs: [W] env ids, distinct.
          frame: [W, *frame_shape] the observation (newest frame) to store.
          pos: [W] its position in its episode (0 for an episode's first observation).
          done: [W] bool, it is the episode's final observation; None for first ones.

        Readiness changes only around the written slot, at absolute time w:
          * the frame at w - R is overwritten, which unreadies every stack reaching back to
            it: the slots w-R .. w-R+k-1 of that frame's episode;
          * slot w - n of the same episode gets its window's end, and when w is final,
            so do the slots w-n+1 .. w-1 (their windows stop at w).
        Because R >= n + k, a slot is always readied before any of its frames can be
        overwritten, so the two never conflict.
        """
        R = self._ring
        w = self._t_next[envs]
        base = self._base[envs]
        slots = base + w % R
        if self._frame_stack > 1:
            # Slots are still held: they are newer than w - R. Within an episode pos grows by
            # one a slot, and a later episode restarts at 0, so this tests "same episode".
            ahead = base[:, None] + (w[:, None] + self._stack_ahead) % R  # [W, k-1]
            same_episode = self._pos[ahead] == self._pos[slots][:, None] + self._stack_ahead
            self._ready[ahead[same_episode]] = False
        self._ready[slots] = False
        self._frames[slots] = frame
        self._pos[slots] = pos
        self._is_last[slots] = False if done is None else done
        if done is not None:
            if self._n_step == 1:
                # pos >= 1 here, so the acted-on slot just before is always completed.
                self._ready[base + (w - 1) % R] = True
            else:
                back = self._behind  # [n]
                complete = (back <= pos[:, None]) & ((back == self._n_step) | done[:, None])  # [W, n]
                behind = base[:, None] + (w[:, None] - back) % R
                self._ready[behind[complete]] = True
        self._t_next[envs] = w + 1
        self.slots_written(slots)

    def slots_written(self, indices: np.ndarray) -> None:
        """Extension point for subclasses: `indices` [W] flat slots were just (over)written.

        A prioritized replay sets their priority here (e.g. to the max seen); a slot only
        becomes sampleable n steps later, which `valid` tells.
        """

    # ------------------------------------------------------------------ sampling

    def valid(self, indices: np.ndarray) -> np.ndarray:
        """[B] bool: which flat slot ids [B] are sampleable transitions right now."""
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu":
            raise ZooError(f"replay.valid expects integer slot ids, got dtype {indices.dtype}")
        in_range = (indices >= 0) & (indices < self._capacity)
        if in_range.all():
            return self._ready[indices]
        ok = np.zeros(indices.shape, np.bool_)
        ok[in_range] = self._ready[indices[in_range]]
        return ok

    def _ready_from_scratch(self) -> np.ndarray:
        """[E * R] bool: the `ready` flags recomputed from the stored stream alone.

        The definition `add` maintains incrementally; used to rebuild them on load (and
        by the tests to check the incremental upkeep).
        """
        R = self._ring
        indices = np.arange(self._capacity, dtype=np.int64)
        env = indices // R
        tn = self._t_next[env]
        # The latest absolute time mapping to each slot; negative if never written. Being
        # the latest, it is also still held (nothing overwrote it).
        t = tn - 1 - (tn - 1 - (indices - env * R)) % R
        pos = self._pos
        ok = (t >= 0) & ~self._is_last
        # The window's end is written: slot t+n exists, or the episode has finished (its
        # final slot is written, so every step of a window ending there is too).
        ok &= (t + self._n_step < tn) | (t - pos < self._open_start[env])
        # The oldest frame of the stack (clamped to the episode start) is still held.
        ok &= t - np.minimum(pos, self._frame_stack - 1) >= tn - R
        return ok

    def _draw(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """[size] int64 flat slot ids drawn uniformly among the written slots."""
        if not self._all_full:
            self._all_full = bool(self._t_next.min() >= self._ring)
        if self._all_full:
            # floor(U * N) with U in [0, 1) a multiple of 2^-53: rounding never reaches N,
            # and it costs a third of `rng.integers`, which matters at ~20 us a sample.
            return (rng.random(size) * self._capacity).astype(np.int64)
        # Until a ring wraps, its written slots are 0 .. t_next-1; lay the rings' written
        # slots end to end and map a uniform draw back to (env, slot). One ring: the same
        # arithmetic (the same ids) without the cumsum and search.
        if self._num_envs == 1:
            written = min(int(self._t_next[0]), self._ring)
            if written == 0:
                raise ZooError("replay is empty: nothing to sample")
            return (rng.random(size) * written).astype(np.int64)
        counts = np.minimum(self._t_next, self._ring)
        ends = np.cumsum(counts)
        if ends[-1] == 0:
            raise ZooError("replay is empty: nothing to sample")
        u = (rng.random(size) * ends[-1]).astype(np.int64)
        env = np.searchsorted(ends, u, side="right")
        return u - (ends[env] - counts[env]) + self._base[env]

    def sample_indices(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draws valid flat slot ids uniformly.

        Returns:
          (indices [B] int64, weights [B] float32 ones).
        """
        if batch_size < 1:
            raise ZooError(f"replay batch_size must be positive, got {batch_size}")
        # Over-draw so that one round nearly always yields B valid ids: the first B valid
        # ones of an i.i.d. uniform sequence are i.i.d. uniform over the valid slots, and
        # this saves the ~10 us a redraw round costs when a few of B draws are invalid.
        drawn = self._draw(batch_size + batch_size // 4 + 8, rng)
        indices = drawn[self._ready[drawn]]
        if indices.size >= batch_size:
            return indices[:batch_size], np.ones(batch_size, np.float32)
        indices = np.concatenate([indices, self._draw(batch_size - indices.size, rng)])
        ok = self._ready[indices]
        for _ in range(self._REJECTION_ROUNDS):
            if ok.all():
                return indices, np.ones(batch_size, np.float32)
            bad = np.flatnonzero(~ok)
            redrawn = self._draw(bad.size, rng)
            indices[bad] = redrawn
            ok[bad] = self._ready[redrawn]
        if not ok.all():
            # Valid slots are rare (e.g. just after the start): pick the rest exactly from
            # a scan, which keeps every draw uniform over the valid transitions.
            candidates = np.flatnonzero(self._ready)
            if candidates.size == 0:
                raise ZooError(
                    f"replay has no sampleable transition yet ({len(self)} slots written; "
                    f"a transition needs its {self._n_step}-step window written)"
                )
            bad = np.flatnonzero(~ok)
            indices[bad] = candidates[rng.integers(0, candidates.size, bad.size)]
        return indices, np.ones(batch_size, np.float32)

    def sample(self, batch_size: int, rng: np.random.Generator) -> Batch:
        """[B] transitions drawn uniformly among the valid ones; see `Batch`."""
        indices, weights = self.sample_indices(batch_size, rng)
        return self.gather(indices, weights)

    def gather(self, indices: np.ndarray, weights: np.ndarray) -> Batch:
        """Builds the transitions at valid flat slot ids.

        Args:
          indices: [B] int64 flat slot ids, all `valid` (not re-checked here: this is the
            hot path; an invalid id yields a meaningless transition).
          weights: [B] float32 importance weights, passed through.
        """
        R = self._ring
        s = indices % R  # [B] slot within its ring
        base = indices - s  # [B] first flat slot of its ring
        if self._n_step == 1:
            # An action slot is never final, so its successor is in the same episode: m = 1.
            r_t = self._reward.take(indices)
            discount_t = self._step_discount.take(self._terminated.view(np.uint8).take(indices))
            m: np.ndarray | int = 1
            s_t = s + 1
        else:
            window = base[:, None] + (s[:, None] + self._window) % R  # [B, n] slots t .. t+n-1
            r_win, d_win, m = window_terms(
                self._reward.take(window), self._terminated.take(window), self._is_last.take(window), self._gamma
            )
            r_t, discount_t = n_step_return(r_win, d_win)
            s_t = s + m
        if self._frame_stack == 1:
            obs_tm1 = self._frames.take(indices, axis=0)
            obs_t = self._frames.take(base + s_t % R, axis=0)
        else:
            pos = self._pos.take(indices)
            # Frames t-k+1 .. t, each clamped to the episode's first slot (pos steps back).
            back_tm1 = np.minimum(self._stack_back, pos[:, None])  # [B, k]
            back_t = np.minimum(self._stack_back, (pos + m)[:, None])
            obs_tm1 = self._frames.take(base[:, None] + (s[:, None] - back_tm1) % R, axis=0)  # [B, k, *frame]
            obs_t = self._frames.take(base[:, None] + (s_t[:, None] - back_t) % R, axis=0)
        return Batch(
            obs_tm1=obs_tm1,
            a_tm1=self._action.take(indices),
            r_t=r_t,
            discount_t=discount_t,
            obs_t=obs_t,
            indices=indices,
            weights=weights,
        )

    def update_priorities(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        """No-op for uniform replay; prioritized replay overrides it. Both [B]."""
        del indices, priorities

    # ------------------------------------------------------------------ state

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            "frames": self._frames,
            "action": self._action,
            "reward": self._reward,
            "terminated": self._terminated,
            "is_last": self._is_last,
            "pos": self._pos,
        }

    def held_arrays(self) -> dict[str, np.ndarray]:
        """Extension point: every array the buffer holds, by name (``nbytes`` sums them); a subclass
        adds its own to the base's."""
        return {**self._arrays(), "ready": self._ready}

    @property
    def ready(self) -> np.ndarray:
        """[E * R] bool, read only: which flat slots are sampleable transitions now (what `valid` reads)."""
        return self._ready

    def _config(self) -> dict[str, Any]:
        return {
            "capacity": self._capacity,
            "obs_shape": list(self._obs_shape),
            "obs_dtype": self._obs_dtype.str,
            "num_envs": self._num_envs,
            "n_step": self._n_step,
            "gamma": self._gamma,
            "frame_stack": self._frame_stack,
        }

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(arrays, metadata) describing the buffer exactly.

        The arrays are the buffer's own (no copy, so a 7 GB buffer is not doubled): write
        them out (e.g. `safetensors.numpy.save_file`) before the next `add`. The metadata is
        JSON-able: constructor args, and per env the next write time and running episode.
        """
        meta = {
            "format": _STATE_FORMAT,
            "version": _STATE_VERSION,
            "config": self._config(),
            "t_next": [int(t) for t in self._t_next],
            "open_episode_start": [None if s == _NO_OPEN_EPISODE else int(s) for s in self._open_start],
        }
        return dict(self._arrays()), meta

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restores exactly what `state_dict` described; ZooError on any mismatch."""
        if not isinstance(meta, dict) or meta.get("format") != _STATE_FORMAT:
            raise ZooError(f"replay state is not a {_STATE_FORMAT} state")
        if meta.get("version") != _STATE_VERSION:
            raise ZooError(f"replay state version {meta.get('version')!r} is not supported (expected {_STATE_VERSION})")
        theirs = meta.get("config")
        ours = self._config()
        if not isinstance(theirs, dict):
            raise ZooError("replay state has no config")
        diffs = [
            f"{key}={theirs.get(key)!r} (buffer has {ours[key]!r})" for key in ours if theirs.get(key) != ours[key]
        ]
        if diffs:
            raise ZooError("replay state was saved with different arguments: " + ", ".join(diffs))

        E = self._num_envs
        t_next = meta.get("t_next")
        open_start = meta.get("open_episode_start")
        if not (isinstance(t_next, list) and isinstance(open_start, list) and len(t_next) == E == len(open_start)):
            raise ZooError(f"replay state must have {E} t_next and open_episode_start entries")
        if not all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in t_next):
            raise ZooError("replay state t_next must be non-negative integers")
        if not all(
            s is None or (isinstance(s, int) and not isinstance(s, bool) and 0 <= s < t)
            for s, t in zip(open_start, t_next, strict=True)
        ):
            raise ZooError("replay state open_episode_start must be null or an integer before t_next")

        mine = self._arrays()
        if set(arrays) != set(mine):
            raise ZooError(f"replay state arrays are {sorted(arrays)}, expected {sorted(mine)}")
        for name, target in mine.items():
            source = np.asarray(arrays[name])
            if source.shape != target.shape or source.dtype != target.dtype:
                raise ZooError(
                    f"replay state array {name!r} is {source.dtype}{list(source.shape)}, "
                    f"expected {target.dtype}{list(target.shape)}"
                )
        for name, target in mine.items():
            np.copyto(target, arrays[name])
        self._t_next[:] = t_next
        self._open_start[:] = [_NO_OPEN_EPISODE if s is None else s for s in open_start]
        # Derived state is rebuilt rather than trusted from the file.
        self._ready[:] = self._ready_from_scratch()
        self._all_full = False
