"""Rank-based prioritization: the power-law segments and an approximately sorted ranking.

Pure numpy; no zoo or pluggy imports.

The exact rank-based distribution is P(rank r) = r^-α / Σ_{q=1..N} q^-α over the N transitions
sorted by priority |δ| (rank 1 = largest). Schaul et al. (2016, Appendix B.2.1) sample it
efficiently with two approximations, both used here:

* **Segments.** The ranks 1..N are cut into k (the batch size) contiguous segments of (as nearly
  as possible) equal probability mass under r^-α, and one rank is drawn *uniformly within each
  segment*. So the distribution actually sampled is piecewise uniform: a rank r in segment j has
  probability 1 / (k * |segment j|) (see :func:`segment_probabilities`). It is close to the
  power law, and exact at the head where segments hold one rank each.
* **Stale order.** The ranking is not kept sorted on every priority write. It is re-sorted every
  `sort_every` priority updates (and when it has grown a lot since the last sort); in between,
  updated transitions keep their position, newly stored transitions (which carry the maximum
  priority) are put in front of everything, ahead of the sorted part, newest first, and a
  transition that stops being sampleable leaves a hole that sampling redraws around.

Importance weights use the probability of the approximation actually sampled (the piecewise
uniform one), so that at β = 1 the correction is exact for what was drawn.
"""

from __future__ import annotations

import numpy as np

_NO_ENTRY = np.iinfo(np.int64).max


def power_law_cumulative(n: int, alpha: float) -> np.ndarray:
    """[n] float64: cumulative sums of r^-α for r = 1..n."""
    return np.cumsum(np.arange(1, n + 1, dtype=np.float64) ** -float(alpha))


def rank_segments(cumulative: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Cuts ranks 0..L-1 (0-based) into k segments of nearly equal power-law mass.

    Args:
      cumulative: [L] cumulative sums of r^-α (a prefix of :func:`power_law_cumulative`).
      k: number of segments (the batch size).

    Returns:
      (starts [k], ends [k]) int64, segment j is positions [starts_j, ends_j), never empty. When
      L >= k the segments are disjoint and cover 0..L-1: segment j ends at the first rank whose
      cumulative mass reaches (j+1)/k, pushed right just enough that every segment keeps at least
      one rank (the head's single ranks can outweigh 1/k). When L < k there are not enough ranks
      for k disjoint segments: segment j is then the single rank holding mass (j + 1/2)/k, so
      heavy ranks are drawn several times.
    """
    L = int(cumulative.shape[0])
    if L < 1 or k < 1:
        raise ValueError(f"need at least one rank and one segment, got L={L}, k={k}")
    total = cumulative[-1]
    if L < k:
        starts = np.searchsorted(cumulative, (np.arange(k) + 0.5) * (total / k), side="right")
        starts = np.minimum(starts, L - 1).astype(np.int64)
        return starts, starts + 1
    j = np.arange(1, k, dtype=np.int64)
    cuts = np.searchsorted(cumulative, j * (total / k), side="left") + 1  # ranks in segments < j
    cuts = np.maximum.accumulate(cuts - j) + j  # strictly increasing: no empty segment
    cuts = np.minimum(cuts, L - k + j)  # leave a rank for each later segment
    starts = np.concatenate([[0], cuts]).astype(np.int64)
    ends = np.concatenate([cuts, [L]]).astype(np.int64)
    return starts, ends


def segment_probabilities(starts: np.ndarray, ends: np.ndarray, length: int) -> np.ndarray:
    """[length] probability of each rank position under one-uniform-draw-per-segment sampling.

    This is the per-draw marginal: a batch of k draws holds position r with expected count
    k * result[r].
    """
    k = starts.shape[0]
    diff = np.zeros(length + 1, np.float64)
    mass = 1.0 / (k * (ends - starts))
    np.add.at(diff, starts, mass)
    np.add.at(diff, ends, -mass)
    return np.cumsum(diff[:-1])


class RankTable:
    """The approximately sorted ranking of the live slots (see the module docstring).

    The ranking is ``fresh (newest first) + order``: `order` holds the slots live at the last sort,
    by decreasing priority; `fresh` the slots that became live since, each with the maximum
    priority. An entry is current iff its slot is live and the slot's `key` names that entry (a
    slot overwritten and stored again gets a new fresh entry; its old one becomes a hole).

    Args:
      priority: [C] float64 raw priorities p (shared with, and written by, the owner).
      live: [C] bool which slots may be sampled (shared with, and written by, the owner).
      alpha: the power-law exponent.
      sort_every: priority updates between re-sorts.
    """

    _REDRAW_ROUNDS = 4

    def __init__(self, priority: np.ndarray, live: np.ndarray, alpha: float, sort_every: int) -> None:
        self._priority = priority
        self._live = live
        self._capacity = int(priority.shape[0])
        self.alpha = float(alpha)
        self.sort_every = int(sort_every)
        self._cumulative = power_law_cumulative(self._capacity, self.alpha)
        self.order = np.full(self._capacity, -1, np.int64)
        self.order_len = 0
        self.fresh = np.full(self._capacity, -1, np.int64)
        self.fresh_len = 0
        self.updates_since_sort = 0
        self._key = np.full(self._capacity, _NO_ENTRY, np.int64)
        self._segments: tuple[int, int, np.ndarray, np.ndarray, bool] | None = None

    def __len__(self) -> int:
        """Entries in the ranking, holes included."""
        return self.order_len + self.fresh_len

    def sort(self) -> None:
        """Re-sorts the live slots by decreasing priority (ties: lower slot first); clears `fresh`."""
        slots = np.flatnonzero(self._live)
        slots = slots[np.argsort(-self._priority[slots], kind="stable")]
        self.order[: slots.size] = slots
        self.order[slots.size :] = -1
        self.order_len = slots.size
        self.fresh[:] = -1
        self.fresh_len = 0
        self._key[:] = _NO_ENTRY
        self._key[slots] = np.arange(slots.size, dtype=np.int64)
        self.updates_since_sort = 0

    def added(self, slots: np.ndarray) -> None:
        """`slots` [W] (distinct) just became live with the maximum priority: put them in front."""
        if slots.size == 0:
            return
        if self.fresh_len + slots.size > self._capacity:
            self.sort()  # compacts: they are live already, and sorted in at the maximum
            return
        at = self.fresh_len + np.arange(slots.size, dtype=np.int64)
        self.fresh[at] = slots
        self._key[slots] = -(at + 1)
        self.fresh_len += slots.size

    def updated(self) -> None:
        """Counts one priority update (a batch); re-sorting waits for the next sample."""
        self.updates_since_sort += 1

    def _needs_sort(self) -> bool:
        # Sorting is O(N log N); growing past twice the sorted size triggers one, so the cost of
        # sorting while the buffer fills is amortised O(log N) a stored transition.
        return self.updates_since_sort >= self.sort_every or self.fresh_len > max(self.order_len, 64)

    def _lookup(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Slots [B] at ranking positions `pos` [B], and whether each entry is current."""
        f = self.fresh_len
        in_fresh = pos < f
        fresh_at = np.clip(f - 1 - pos, 0, None)  # newest first
        order_at = np.clip(pos - f, 0, None)
        slots = np.where(in_fresh, self.fresh[fresh_at], self.order[order_at])
        keys = np.where(in_fresh, -(fresh_at + 1), order_at)
        safe = np.maximum(slots, 0)
        ok = (slots >= 0) & self._live[safe] & (self._key[safe] == keys)
        return safe, ok

    def segments(self, k: int) -> tuple[np.ndarray, np.ndarray, bool]:
        """(starts [k], ends [k], overlapping) for the current ranking length; cached."""
        L = len(self)
        cached = self._segments
        if cached is None or cached[0] != L or cached[1] != k:
            starts, ends = rank_segments(self._cumulative[:L], k)
            overlapping = bool(L < k)
            cached = (L, k, starts, ends, overlapping)
            self._segments = cached
        return cached[2], cached[3], cached[4]

    def sample(self, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One slot from each of k equal-mass segments of the ranking.

        Returns:
          (slots [k] int64, probabilities [k] float64 of each draw under the sampled approximation,
          over the current ranking length).
        """
        if self._needs_sort():
            self.sort()
        for attempt in range(2):
            if len(self) == 0:
                raise ValueError("the ranking is empty: nothing to sample")
            starts, ends, overlapping = self.segments(k)
            width = ends - starts
            pos = starts + (rng.random(k) * width).astype(np.int64)
            slots, ok = self._lookup(pos)
            for _ in range(self._REDRAW_ROUNDS):
                if ok.all():
                    break
                # A hole: redraw within the same segment, which keeps each segment's mass 1/k.
                bad = np.flatnonzero(~ok)
                pos[bad] = starts[bad] + (rng.random(bad.size) * width[bad]).astype(np.int64)
                slots[bad], ok[bad] = self._lookup(pos[bad])
            if ok.all():
                break
            if attempt == 1:
                raise AssertionError("a freshly sorted ranking has no holes")  # pragma: no cover
            self.sort()  # many holes in a segment: compact the ranking and draw the batch again
        if overlapping:
            probs = segment_probabilities(starts, ends, len(self))[pos]
        else:
            probs = 1.0 / (k * width.astype(np.float64))
        return slots, probs

    def rebuild_keys(self) -> None:
        """Recomputes the slot -> entry keys from `order` and `fresh` (after loading them)."""
        self._key[:] = _NO_ENTRY
        self._key[self.order[: self.order_len]] = np.arange(self.order_len, dtype=np.int64)
        # Later fresh entries are newer: assign in increasing order so they win.
        at = np.arange(self.fresh_len, dtype=np.int64)
        slots = self.fresh[: self.fresh_len]
        keep = _last(slots)
        self._key[slots[keep]] = -(at[keep] + 1)
        self._segments = None


def _last(values: np.ndarray) -> np.ndarray:
    reversed_first = np.unique(values[::-1], return_index=True)[1]
    return values.size - 1 - reversed_first
