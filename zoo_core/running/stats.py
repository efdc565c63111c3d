"""Summary statistics for evaluation returns: IQM, stratified percentile bootstrap, summaries.

Pure numpy. The interquartile mean (IQM) and the stratified bootstrap follow
Agarwal et al. 2021, "Deep RL at the Edge of the Statistical Precipice" (the `rliable` library):
IQM is robust to a few outlier episodes, unlike the mean, yet uses more data than the median.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from zoo_core.errors import ZooError

__all__ = ["bootstrap_ci", "iqm", "summarize"]

# Bootstrap resamples are materialised in chunks of at most this many elements (float64: 32 MiB),
# so 2000 reps over 100k episodes does not try to allocate 1.6 GB at once.
_MAX_CHUNK_ELEMENTS = 4_000_000


def _as_1d(x: np.ndarray | Sequence[float], what: str) -> np.ndarray:
    """Return `x` as a non-empty 1-D float64 array, or raise ZooError naming `what`."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.size == 0:
        raise ZooError(f"{what}: need at least one value, got an empty array")
    return arr


def _trim_count(n: int) -> int:
    """How many values to drop from each end for a 25% trimmed mean of `n` values.

    floor(0.25 * n), exactly as scipy.stats.trim_mean(x, 0.25); integer arithmetic avoids
    float rounding (0.25 * n is exact anyway, but n // 4 says what is meant).
    """
    return n // 4


def _iqm_rows(samples: np.ndarray) -> np.ndarray:
    """Interquartile mean of each row of a 2-D array `[reps, n]`; returns `[reps]`."""
    n = samples.shape[1]
    k = _trim_count(n)
    # np.partition is O(n) per row versus O(n log n) for a full sort; we only need the
    # values at ranks k..n-k-1 as a set, not in order.
    if k == 0:
        return samples.mean(axis=1)
    part = np.partition(samples, (k, n - k - 1), axis=1)
    return part[:, k : n - k].mean(axis=1)


def iqm(x: np.ndarray | Sequence[float]) -> float:
    """Interquartile mean: the mean of the middle 50% of the values.

    Defined as scipy.stats.trim_mean(x, 0.25): sort, drop floor(0.25 * n) values from each
    end, average the rest. For n < 4 nothing is dropped (it is the plain mean).

    Args:
        x: values, shape `[n]` (other shapes are flattened), n >= 1.

    Returns:
        The interquartile mean as a Python float.
    """
    arr = _as_1d(x, "iqm")
    return float(_iqm_rows(arr[None, :])[0])


def _vectorised(statistic: Callable[..., object]) -> Callable[[np.ndarray], np.ndarray]:
    """Return a function mapping resamples `[reps, n]` to statistics `[reps]`.

    Uses a row-wise fast path where one exists: our own `iqm`, or any callable taking an
    `axis` keyword (np.mean, np.median, np.std, ...). Otherwise falls back to calling
    `statistic` once per row, which is correct for any statistic, just slower.
    """
    if statistic is iqm:
        return _iqm_rows

    def apply(samples: np.ndarray) -> np.ndarray:
        reps = samples.shape[0]
        try:
            out = np.asarray(statistic(samples, axis=1), dtype=np.float64)
        except TypeError:
            out = None  # no `axis` keyword: fall through to the per-row loop
        if out is None or out.shape != (reps,):
            out = np.fromiter((float(statistic(row)) for row in samples), np.float64, reps)
        return out

    return apply


def bootstrap_ci(
    x: np.ndarray | Sequence[float],
    statistic: Callable[[np.ndarray], float],
    *,
    confidence: float = 0.95,
    reps: int = 2000,
    rng: np.random.Generator,
    strata: np.ndarray | Sequence[object] | None = None,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval for `statistic(x)`.

    Draws `reps` resamples of `x` with replacement, computes the statistic on each and
    returns the (1 - confidence)/2 and (1 + confidence)/2 quantiles of those values.

    With `strata` (one label per value, e.g. the task or seed of each episode), each
    resample draws, within every stratum, as many values as that stratum holds, from that
    stratum only: a stratified bootstrap as in rliable, so every resample keeps the same mix
    of tasks and the interval reflects only within-task variability.

    Args:
        x: values, shape `[n]`, n >= 1.
        statistic: maps a 1-D array to a scalar, e.g. `np.mean`, `np.median` or `iqm`.
            `iqm` and callables with an `axis` keyword are evaluated for all resamples at
            once; others are called once per resample. It should not depend on the order
            of values (stratified resamples are grouped by stratum).
        confidence: coverage of the interval, in (0, 1).
        reps: number of bootstrap resamples, >= 1.
        rng: the source of randomness; the same generator state gives the same interval.
        strata: optional labels, shape `[n]`, any hashable/comparable values.

    Returns:
        `(low, high)` as Python floats, low <= high.
    """
    values = _as_1d(x, "bootstrap_ci")
    n = values.size
    if not 0.0 < confidence < 1.0:
        raise ZooError(f"bootstrap_ci: confidence must be in (0, 1), got {confidence!r}")
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
        raise ZooError(f"bootstrap_ci: reps must be a positive integer, got {reps!r}")

    # Index groups to resample from: one group (all of x) without strata.
    if strata is None:
        groups = [np.arange(n)]
    else:
        labels = np.asarray(strata)
        if labels.shape != (n,):
            raise ZooError(
                f"bootstrap_ci: strata must have one label per value, shape ({n},), "
                f"got {labels.shape}"
            )
        _, inverse = np.unique(labels, return_inverse=True)
        # Sorting by label with a stable sort keeps each stratum's indices contiguous.
        order = np.argsort(inverse, kind="stable")
        bounds = np.flatnonzero(np.diff(inverse[order])) + 1
        groups = np.split(order, bounds)

    stat_rows = _vectorised(statistic)
    chunk = max(1, _MAX_CHUNK_ELEMENTS // n)
    results = np.empty(reps, dtype=np.float64)
    for start in range(0, reps, chunk):
        m = min(chunk, reps - start)
        # For every group draw `m` resamples of the group's own size, then glue the groups
        # side by side: column j of the result is one draw, so each row is one resample.
        idx = np.concatenate([g[rng.integers(0, g.size, size=(m, g.size))] for g in groups], axis=1)
        results[start : start + m] = stat_rows(values[idx])

    alpha = 1.0 - confidence
    low, high = np.quantile(results, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def summarize(returns: np.ndarray | Sequence[float]) -> dict[str, float]:
    """Summary of episode returns.

    Args:
        returns: one return per episode, shape `[n]`, n >= 1.

    Returns:
        `{"episodes": n, "mean", "std", "min", "max", "median", "iqm"}`; `episodes` is an int,
        the rest plain Python floats. `std` is the population standard deviation (ddof=0),
        a description of these episodes rather than an estimate for unseen ones.
    """
    arr = _as_1d(returns, "summarize")
    summary: dict[str, float] = {
        "episodes": int(arr.size),
        "mean": float(arr.mean()),
        "std": float(arr.std(ddof=0)),
        "min": float(arr.min()),
        "max": float(arr.max()),
        "median": float(np.median(arr)),
        "iqm": iqm(arr),
    }
    if not all(math.isfinite(v) for v in summary.values()):
        # Non-finite returns mean a broken env or reward wrapper; say so rather than
        # writing NaN into results.json.
        raise ZooError("summarize: episode returns contain NaN or infinity")
    return summary
