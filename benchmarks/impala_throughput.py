"""IMPALA end-to-end throughput against the env's own ceiling, for 1, 2, 4... actors.

For each env and actor count it measures, in the same run:

* **ceiling**: the raw frames/s of the same vectorised envs (``envs_per_actor`` each, one process
  per actor, random actions, no network, no learning), i.e. the most any agent could consume;
* **end-to-end**: env frames/s the IMPALA learner consumes while training with the recipe's
  settings (actors in their own processes, acting with the network; learner updates with V-trace),
  from ``zoo_core.train`` with evaluations and checkpoints off, timed from the first update.

    python benchmarks/impala_throughput.py                       # CartPole and MinAtar Breakout, 1/2/4 actors
    python benchmarks/impala_throughput.py --envs CartPole-v1 --actors 1 2 --steps 100000

On a GPU machine pass ``--envs ALE/Pong-v5``; the learner runs where torch puts it (CPU here).
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import zoo_core
from zoo_core.host.session import resolve
from zoo_core.running.workers import WorkerGroup


class RandomStepper:
    """One actor's envs stepped with random actions and nothing else (the ceiling)."""

    def __init__(self, env_id: str, num_envs: int, seed: int, index: int):
        from zoo_core.envs import VecEnv

        setup = resolve("impala", env_id)
        self.env = VecEnv(lambda: setup.make_env(training=True), num_envs, seed + index)
        self.env.reset()
        self.rng = np.random.default_rng(index)
        self.n = int(self.env.action_space.n)

    def run(self, seconds: float) -> tuple[int, float]:
        """Step for about ``seconds``; return (frames, seconds taken)."""
        frames, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            self.env.step(self.rng.integers(self.n, size=self.env.num_envs))
            frames += self.env.num_envs
        return frames, time.perf_counter() - start


def _make_stepper(env_id: str, num_envs: int, seed: int, index: int) -> RandomStepper:
    return RandomStepper(env_id, num_envs, seed, index)


def ceiling(env_id: str, actors: int, envs_per_actor: int, seconds: float) -> float:
    """Frames/s of ``actors`` processes stepping their envs at once."""
    factory = functools.partial(_make_stepper, env_id, envs_per_actor, 0)
    with WorkerGroup(factory, actors, name="stepper") as group:
        for i in range(actors):
            group.submit(i, "run", seconds)
        results = [group.result(i) for i in range(actors)]
    return sum(f for f, _ in results) / max(s for _, s in results)


def end_to_end(env_id: str, actors: int, steps: int, extra: list[str]) -> dict[str, float]:
    """Train ``steps`` frames; frames/s and updates/s between the first and last log rows."""
    with tempfile.TemporaryDirectory() as tmp:
        overrides = [f"impala.num_actors={actors}", "run.eval_every=0", "run.checkpoint_every=0",
                     "run.eval_episodes=1", f"run.log_every={max(1, steps // 20)}", *extra]
        zoo_core.train("impala", env_id, steps, seed=0, out=Path(tmp) / "run", overrides=overrides)
        rows = list(csv.DictReader(open(Path(tmp) / "run/progress.csv")))
    first, last = rows[0], rows[-1]
    wall = float(last["wall_s"]) - float(first["wall_s"])
    return {
        "frames_per_s": (float(last["env_steps"]) - float(first["env_steps"])) / wall,
        "updates_per_s": (float(last["updates"]) - float(first["updates"])) / wall,
        "policy_lag": float(last["policy_lag"]),
        "return_mean": float(last["return_mean"] or "nan"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", nargs="+", default=["CartPole-v1", "MinAtar/Breakout-v1"])
    parser.add_argument("--actors", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=200_000, help="env frames per end-to-end run")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each ceiling measurement")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    print("command: python " + " ".join(sys.argv))
    rows = []
    for env_id in args.envs:
        envs_per_actor = resolve("impala", env_id, args.overrides).config["impala"].envs_per_actor
        for n in args.actors:
            ceil = ceiling(env_id, n, envs_per_actor, args.seconds)
            e2e = end_to_end(env_id, n, args.steps, args.overrides)
            row = {"env": env_id, "actors": n, "envs_per_actor": envs_per_actor, "ceiling_fps": ceil, **e2e}
            rows.append(row)
            print(f"{env_id:<22} actors {n}  ceiling {ceil:9.0f} frames/s   end-to-end {e2e['frames_per_s']:8.0f}"
                  f" frames/s ({e2e['frames_per_s'] / ceil:5.1%} of ceiling)  {e2e['updates_per_s']:6.1f} updates/s"
                  f"  lag {e2e['policy_lag']:.0f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
