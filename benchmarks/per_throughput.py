"""Prioritized replay throughput: "sample 256 + update 256 priorities" on a 1M-slot structure.

Times the bare sum tree (`zoo_per.SumTree`) and the full `PrioritizedReplay` for both variants
(sample_indices with importance weights, then update_priorities; the rank variant's periodic
re-sort is included, amortised), and, in the same run, cpprb's C++ `PrioritizedReplayBuffer`
doing the same work (sample with importance weights, then update_priorities) when cpprb is
installed (`pip install -e ".[bench]"`). Prints microseconds per op pair, pairs per second and
the ratio to cpprb.

    python benchmarks/per_throughput.py
    python benchmarks/per_throughput.py --capacity 1000000 --batch 256 --reps 2000
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from zoo_per import PrioritizedReplay, SumTree


def _report(name: str, seconds: float, reps: int) -> float:
    us = seconds / reps * 1e6
    print(f"{name:<34} {us:9.1f} us per sample+update pair  {reps / seconds:10.0f} pairs/s")
    return us


def bench_tree(capacity: int, batch: int, reps: int, rng: np.random.Generator) -> None:
    tree = SumTree(capacity)
    tree.rebuild(rng.random(capacity) + 1e-3)
    for _ in range(20):  # warm-up
        tree.update(tree.sample(batch, rng), rng.random(batch))
    start = time.perf_counter()
    for _ in range(reps):
        idx = tree.sample(batch, rng)
        tree.update(idx, rng.random(batch))
    return _report("SumTree", time.perf_counter() - start, reps)


def _full_replay(capacity: int, variant: str, rng: np.random.Generator) -> PrioritizedReplay:
    replay = PrioritizedReplay(capacity, (1,), np.float32, variant=variant, alpha=0.6 if variant == "proportional"
                               else 0.7)
    # Make every slot a live transition directly (filling through `add` would take minutes);
    # this is the state after the ring has wrapped.
    replay._ready[:] = True
    replay._ready[-1] = False
    replay._resync()
    replay._priority[:] = rng.random(capacity) + 1e-3
    replay._resync()
    if replay._rank is not None:
        replay._rank.sort()
    return replay


def bench_replay(capacity: int, batch: int, reps: int, variant: str, rng: np.random.Generator) -> None:
    replay = _full_replay(capacity, variant, rng)
    for _ in range(20):
        idx, _ = replay.sample_indices(batch, rng)
        replay.update_priorities(idx, rng.random(batch))
    start = time.perf_counter()
    for _ in range(reps):
        idx, _ = replay.sample_indices(batch, rng)
        replay.update_priorities(idx, rng.random(batch))
    return _report(f"PrioritizedReplay[{variant}]", time.perf_counter() - start, reps)


def bench_cpprb(capacity: int, batch: int, reps: int, rng: np.random.Generator) -> float | None:
    """cpprb's proportional PER, full and holding one float per transition, α 0.6, β 0.4."""
    try:
        from cpprb import PrioritizedReplayBuffer
    except ImportError:
        print("cpprb is not installed (pip install -e '.[bench]'): no comparison")
        return None
    buffer = PrioritizedReplayBuffer(capacity, {"obs": {"shape": 1}}, alpha=0.6)
    chunk = 100_000
    for start in range(0, capacity, chunk):
        n = min(chunk, capacity - start)
        buffer.add(obs=np.zeros((n, 1), np.float32), priorities=rng.random(n) + 1e-3)
    for _ in range(20):
        out = buffer.sample(batch, beta=0.4)
        buffer.update_priorities(out["indexes"], rng.random(batch))
    start = time.perf_counter()
    for _ in range(reps):
        out = buffer.sample(batch, beta=0.4)
        buffer.update_priorities(out["indexes"], rng.random(batch))
    return _report("cpprb PrioritizedReplayBuffer", time.perf_counter() - start, reps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capacity", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--reps", type=int, default=2_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"capacity {args.capacity}, batch {args.batch}, {args.reps} reps")
    us = {
        "sum_tree": bench_tree(args.capacity, args.batch, args.reps, rng),
        "proportional": bench_replay(args.capacity, args.batch, args.reps, "proportional", rng),
        "rank": bench_replay(args.capacity, args.batch, args.reps, "rank", rng),
        "cpprb": bench_cpprb(args.capacity, args.batch, args.reps, rng),
    }
    if us["cpprb"]:
        for name in ("proportional", "rank"):
            print(f"{name} vs cpprb: {us['cpprb'] / us[name]:.2f}x the pairs per second")
    print(json.dumps({"capacity": args.capacity, "batch": args.batch, "reps": args.reps,
                      "us_per_pair": {k: v and round(v, 1) for k, v in us.items()}}))


if __name__ == "__main__":
    main()
