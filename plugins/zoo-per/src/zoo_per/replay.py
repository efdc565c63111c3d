"""PrioritizedReplay: the core's UniformReplay with proportional or rank-based sampling."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from zoo_core.api import UniformReplay, ZooError
from zoo_per.rank import RankTable, segment_probabilities
from zoo_per.sum_tree import SumTree
from zoo_per.sum_tree_kernels import scatter
from zoo_per.weights import beta_at, importance_weights

Variant = Literal["proportional", "rank"]
_STATE_VERSION = 1


class PrioritizedReplay(UniformReplay):
    """Prioritized experience replay (Schaul et al. 2016) over the core's n-step, frame-stacked store.

    Priorities. Each slot holds a raw priority p = |δ| + ε (`update_priorities`). A slot that
    becomes a sampleable transition gets the maximum p written so far (1 before any update).

    Validity. Only *live* slots can be drawn; a slot is live iff the core's `ready` flag is set
    (action taken, n-step window written, stack frames still held). The core tells subclasses only
    which slots were written (`slots_written`), not which flags changed, so after each write this
    class re-reads `ready` on the neighbourhood that a write can change: the written slot, the n
    slots behind it (their windows may have just completed) and the k - 1 slots ahead of it (their
    stacks may reach into the overwritten frame). See `UniformReplay._write`.

    * ``proportional``: a :class:`SumTree` over p^α (0 for slots that are not live); P(i) is
      leaf_i / total, sampled stratified.
    * ``rank``: a :class:`RankTable`, P(rank r) ∝ r^-α with the paper's segment approximation.

    Weights are ``importance_weights(P, N, β)`` with N the number of live slots and β annealed
    linearly from β0 to 1 over `beta_steps` calls to `sample_indices`, counted by the buffer (and
    saved with it, so a resumed run continues the schedule exactly).
    """

    prioritized = True

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
        variant: Variant = "proportional",
        alpha: float = 0.6,
        beta0: float = 0.4,
        beta_steps: int = 100_000,
        eps: float = 1e-6,
        rank_sort_every: int = 1_000,
    ) -> None:
        """Args as :class:`UniformReplay`, plus the prioritization settings (see `PERConfig`)."""
        super().__init__(
            capacity, obs_shape, obs_dtype, num_envs=num_envs, n_step=n_step, gamma=gamma, frame_stack=frame_stack
        )
        if variant not in ("proportional", "rank"):
            raise ZooError(f"per variant must be 'proportional' or 'rank', got {variant!r}")
        if not 0.0 <= alpha:
            raise ZooError(f"per alpha must be >= 0, got {alpha!r}")
        if not 0.0 <= beta0 <= 1.0:
            raise ZooError(f"per beta0 must be in [0, 1], got {beta0!r}")
        if beta_steps < 0 or eps <= 0 or rank_sort_every < 1:
            raise ZooError("per beta_steps must be >= 0, eps > 0 and rank_sort_every >= 1")
        self.variant: Variant = variant
        self.alpha, self.beta0, self.beta_steps, self.eps = float(alpha), float(beta0), int(beta_steps), float(eps)
        self.rank_sort_every = int(rank_sort_every)
        C = self.capacity
        self._priority = np.ones(C, np.float64)  # raw p = |δ| + ε of each slot's transition
        self._live = np.zeros(C, np.bool_)  # mirror of `ready` as the sampler sees it
        self._num_live = 0
        self.max_priority = 1.0
        self.samples = 0  # calls to sample_indices: drives β
        # Slot offsets a write at w can change the readiness of: w - n .. w + k - 1.
        self._near = np.arange(-n_step, frame_stack, dtype=np.int64)
        self._tree: SumTree | None = SumTree(C) if variant == "proportional" else None
        self._rank: RankTable | None = (
            RankTable(self._priority, self._live, self.alpha, self.rank_sort_every) if variant == "rank" else None
        )

    # ------------------------------------------------------------------ bookkeeping

    @property
    def beta(self) -> float:
        """β for the next sample call."""
        return beta_at(self.samples, self.beta0, self.beta_steps)

    @property
    def num_live(self) -> int:
        """Sampleable transitions now."""
        return self._num_live

    @property
    def priorities(self) -> np.ndarray:
        """[capacity] raw priorities p (read-only view; meaningful on live slots)."""
        view = self._priority.view()
        view.flags.writeable = False
        return view

    @property
    def live(self) -> np.ndarray:
        """[capacity] bool read-only view: the slots the sampler may draw."""
        view = self._live.view()
        view.flags.writeable = False
        return view

    def probabilities(self, batch_size: int) -> np.ndarray:
        """[capacity] probability of each slot on one draw of a `batch_size` batch (0 if not live).

        Proportional: p_i^α / Σ p^α (the batch size does not matter). Rank: the segment
        approximation's per-draw marginal over the ranking; the ranking is re-sorted first if it has
        holes or is due (as the next sample would), so this may change the buffer's state.
        """
        if self._tree is not None:
            return self._tree.leaves / self._tree.total
        rank = self._rank
        assert rank is not None
        positions = np.arange(len(rank), dtype=np.int64)
        if rank._needs_sort() or not rank._lookup(positions)[1].all():
            rank.sort()
            positions = np.arange(len(rank), dtype=np.int64)
        probs = np.zeros(self.capacity, np.float64)
        if len(rank):
            starts, ends, _ = rank.segments(batch_size)
            probs[rank._lookup(positions)[0]] = segment_probabilities(starts, ends, len(rank))
        return probs

    def _leaf(self, slots: np.ndarray) -> np.ndarray:
        return np.where(self._live[slots], self._priority[slots] ** self.alpha, 0.0)

    def slots_written(self, indices: np.ndarray) -> None:
        R = self.ring_size
        s = indices % R
        near = ((indices - s)[:, None] + (s[:, None] + self._near) % R).reshape(-1)  # distinct: R >= n + k
        now = self.ready[near]
        changed = now != self._live[near]
        if not changed.any():
            return
        slots = near[changed]
        became = now[changed]
        added = slots[became]
        self._live[slots] = became
        self._num_live += int(became.sum()) - int((~became).sum())
        self._priority[added] = self.max_priority
        if self._tree is not None:
            self._tree.update(slots, self._leaf(slots))
        else:
            assert self._rank is not None
            self._rank.added(added)

    def _resync(self) -> None:
        """Rebuilds the sampler from `ready` and the stored priorities (after a load)."""
        np.copyto(self._live, self.ready)
        self._num_live = int(self._live.sum())
        if self._tree is not None:
            self._tree.rebuild(self._leaf(np.arange(self.capacity)))

    # ------------------------------------------------------------------ sampling

    def sample_indices(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draws live slots by priority.

        Returns:
          (indices [B] int64, weights [B] float32 importance weights, max 1).
        """
        if batch_size < 1:
            raise ZooError(f"replay batch_size must be positive, got {batch_size}")
        if self._num_live == 0:
            raise ZooError(
                f"replay has no sampleable transition yet ({len(self)} slots written; "
                f"a transition needs its {self.n_step}-step window written)"
            )
        if self._tree is not None:
            indices = self._tree.sample(batch_size, rng)
            if not self._live[indices].all():  # pragma: no cover - zero leaves are never entered
                raise ZooError("prioritized replay drew a slot that is not sampleable (sum tree out of sync)")
            probs = self._tree[indices] / self._tree.total
        else:
            assert self._rank is not None
            indices, probs = self._rank.sample(batch_size, rng)
        weights = importance_weights(probs, self._num_live, self.beta)
        self.samples += 1
        return indices, weights

    def update_priorities(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        """Sets p = |priority| + ε for `indices` [B] (repeated: the last one wins).

        Slots no longer live are skipped (the agent updates right after sampling, so this only
        guards against a caller that stored transitions in between).
        """
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        priorities = np.asarray(priorities, dtype=np.float64).reshape(-1)
        if indices.shape != priorities.shape:
            raise ZooError(f"update_priorities got {indices.size} indices and {priorities.size} priorities")
        if not np.isfinite(priorities).all():
            raise ZooError("update_priorities got a non-finite priority")
        if indices.size and (indices.min() < 0 or indices.max() >= self.capacity):
            raise ZooError(f"update_priorities got an index outside [0, {self.capacity})")
        p = np.abs(priorities) + self.eps
        alive = self._live[indices]
        if not alive.all():
            indices, p = indices[alive], p[alive]
            if indices.size == 0:
                return
        scatter(self._priority, indices, p)  # in order: a repeated index keeps its last priority
        self.max_priority = max(self.max_priority, float(p.max()))
        if self._tree is not None:
            self._tree.update(indices, p**self.alpha)
        else:
            assert self._rank is not None
            self._rank.updated()

    # ------------------------------------------------------------------ state

    def held_arrays(self) -> dict[str, np.ndarray]:
        held = {**super().held_arrays(), "per_priority": self._priority, "per_live": self._live}
        if self._rank is not None:
            held |= {"per_order": self._rank.order, "per_fresh": self._rank.fresh}
        return held

    def _per_config(self) -> dict[str, Any]:
        return {"variant": self.variant, "alpha": self.alpha, "eps": self.eps}

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The core's state plus ``per_*`` arrays (priorities; the ranking) and a ``per`` meta entry.

        The sum tree is not stored: it is a pure function of the priorities and the live slots and
        is rebuilt bit-identically on load. β's sample count and the max priority are in the meta.
        """
        arrays, meta = super().state_dict()
        arrays = {**arrays, "per_priority": self._priority}
        per: dict[str, Any] = {
            "version": _STATE_VERSION,
            "config": self._per_config(),
            "max_priority": self.max_priority,
            "samples": self.samples,
        }
        if self._rank is not None:
            arrays |= {"per_order": self._rank.order, "per_fresh": self._rank.fresh}
            per |= {
                "order_len": self._rank.order_len,
                "fresh_len": self._rank.fresh_len,
                "updates_since_sort": self._rank.updates_since_sort,
            }
        return arrays, {**meta, "per": per}

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restores what `state_dict` wrote; ZooError on a mismatch (variant, α, ε, shapes)."""
        per = meta.get("per") if isinstance(meta, dict) else None
        if not isinstance(per, dict) or per.get("version") != _STATE_VERSION:
            raise ZooError("replay state has no prioritized-replay ('per') entry: it was not saved by zoo-per")
        if per.get("config") != self._per_config():
            raise ZooError(
                f"replay state was saved with per settings {per.get('config')}, buffer has {self._per_config()}"
            )
        names = ["per_priority"] + (["per_order", "per_fresh"] if self._rank is not None else [])
        mine = {name: np.asarray(arrays[name]) for name in names if name in arrays}
        if len(mine) != len(names):
            raise ZooError(f"replay state lacks arrays {sorted(set(names) - set(mine))}")
        for name, array in mine.items():
            if array.shape != (self.capacity,) or array.dtype != (np.float64 if name == "per_priority" else np.int64):
                raise ZooError(f"replay state array {name!r} is {array.dtype}{list(array.shape)}")
        super().load_state_dict({k: v for k, v in arrays.items() if k not in mine}, meta)
        np.copyto(self._priority, mine["per_priority"])
        self.max_priority = float(per["max_priority"])
        self.samples = int(per["samples"])
        if self._rank is not None:
            np.copyto(self._rank.order, mine["per_order"])
            np.copyto(self._rank.fresh, mine["per_fresh"])
            self._rank.order_len = int(per["order_len"])
            self._rank.fresh_len = int(per["fresh_len"])
            self._rank.updates_since_sort = int(per["updates_since_sort"])
        self._resync()
        if self._rank is not None:
            self._rank.rebuild_keys()
