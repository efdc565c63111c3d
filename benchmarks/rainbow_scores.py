"""Rainbow's scores: CartPole-v1 steps-to-475 over seeds, and MinAtar after 1M frames.

    python benchmarks/rainbow_scores.py cartpole --seeds 5 --steps 30000
    python benchmarks/rainbow_scores.py minatar --game Breakout --steps 1000000 --seeds 1

``cartpole`` trains the ``rainbow`` recipe with its classic-control defaults for each seed,
evaluating every ``--eval-every`` steps on 20 fixed-seed greedy episodes; a seed's score is the
first env step whose evaluation mean reaches 475 (the run stops there). That agent is then
re-evaluated on 100 episodes it never saw, so the figure is not one lucky evaluation. The
summary is the median over seeds of the steps to 475 (a seed that never reaches it counts as
infinite).

``minatar`` trains the recipe with its MinAtar defaults (MinAtar has no frame skip: one frame
is one agent step) and reports the final agent's mean return over 100 greedy episodes and the
mean return of the last 100 training episodes, the statistic the MinAtar paper plots (Young &
Tian 2019 report DQN at about 10 on Breakout after 5M frames).

Runs go under ``--out`` (one folder per seed). A folder that already finished is read back, and a
folder with a checkpoint is resumed, so a stopped benchmark loses no work.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import time
from pathlib import Path

import numpy as np

THRESHOLD = 475.0
MINATAR_DQN_REFERENCE = {"Breakout": 10.0}  # Young & Tian 2019, DQN at 5M frames, read off their Figure 2


def _train_or_resume(recipe: str, env: str, steps: int, seed: int, run_dir: Path, overrides: list[str]):
    import zoo_core

    if (run_dir / "results.json").is_file():
        return None  # finished earlier: the caller reads the files
    if (run_dir / "config.json").is_file():  # resume starts a run that never checkpointed over itself
        return zoo_core.resume(run_dir, progress=True)
    import shlex
    import sys

    # The run's config.json records the command that made it: this benchmark's own command line.
    command = shlex.join(["python", *sys.argv])
    return zoo_core.train(recipe, env, steps, seed, run_dir, overrides, progress=True, command=command)


def _eval_rows(run_dir: Path) -> list[dict[str, float]]:
    with open(run_dir / "eval.csv", newline="") as f:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


def _reevaluate(run_dir: Path, which: str, episodes: int, seed: int) -> float:
    import zoo_core

    agent = zoo_core.load(run_dir, which=which)
    protocol = zoo_core.EvalProtocol(env_id=agent.setup.env_id, episodes=episodes, seed=seed)
    return zoo_core.evaluate(agent.act, lambda: agent.setup.make_env(training=False), protocol).summary["mean"]


def cartpole(args: argparse.Namespace) -> dict:
    rows = []
    for seed in range(args.seeds):
        run_dir = Path(args.out) / f"cartpole-s{seed}"
        overrides = [f"run.eval_every={args.eval_every}", "run.eval_episodes=20", f"run.target_return={THRESHOLD}",
                     "run.checkpoint_every=5000", "run.torch_threads=1", *args.set]
        start = time.perf_counter()
        _train_or_resume("rainbow", "CartPole-v1", args.steps, seed, run_dir, overrides)
        wall = time.perf_counter() - start
        evals = _eval_rows(run_dir)
        reached = [e["env_steps"] for e in evals if e["eval_mean"] >= THRESHOLD]
        first = int(reached[0]) if reached else math.inf
        # The best agent is the one that reached 475 (or the best one seen): 100 unseen episodes.
        unseen = _reevaluate(run_dir, "best", 100, seed=10_000)
        rows.append({"seed": seed, "steps_to_475": first, "best_eval": max(e["eval_mean"] for e in evals),
                     "unseen_100_mean": round(unseen, 1), "wall_s": round(wall, 1)})
        print(f"seed {seed}: 475 at {first} steps; best agent on 100 unseen episodes {unseen:.1f}")
    steps = sorted(r["steps_to_475"] for r in rows)
    median = steps[len(steps) // 2] if len(steps) % 2 else statistics.median(steps)
    return {"benchmark": "rainbow CartPole-v1 steps to 475", "budget": args.steps, "seeds": rows,
            "median_steps_to_475": median, "within_budget": median <= args.steps}


def _training_returns(run_dir: Path, last: int) -> float:
    """Mean of the last `last` training-episode returns, from the final checkpoint's loop state."""
    from zoo_core.running.checkpoint import latest_checkpoint, load_checkpoint

    _, docs = load_checkpoint(latest_checkpoint(run_dir / "checkpoints"))
    recent = docs["train_state"]["loop"]["recent_returns"][-last:]
    return float(np.mean(recent)) if recent else math.nan


def minatar(args: argparse.Namespace) -> dict:
    env = f"MinAtar/{args.game}-v1"
    rows = []
    for seed in range(args.seeds):
        run_dir = Path(args.out) / f"minatar-{args.game.lower()}-s{seed}"
        overrides = ["run.eval_every=100000", "run.eval_episodes=20", "run.checkpoint_every=100000",
                     "run.torch_threads=1", *args.set]
        start = time.perf_counter()
        _train_or_resume("rainbow", env, args.steps, seed, run_dir, overrides)
        frames = json.loads((run_dir / "results.json").read_text())["env_steps"]
        final = _reevaluate(run_dir, "latest", 100, seed=10_000)
        rows.append({"seed": seed, "frames": frames, "final_eval_mean_100": round(final, 2),
                     "last_100_training_episodes": round(_training_returns(run_dir, 100), 2),
                     "wall_s": round(time.perf_counter() - start, 1)})
        print(f"seed {seed}: {rows[-1]}")
    return {"benchmark": f"rainbow {env} after {args.steps} frames", "seeds": rows,
            "median_final_eval": statistics.median(r["final_eval_mean_100"] for r in rows),
            "minatar_paper_dqn_at_5M": MINATAR_DQN_REFERENCE.get(args.game)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="which", required=True)
    cp = sub.add_parser("cartpole", help="steps to a 475 evaluation on CartPole-v1, per seed")
    cp.add_argument("--steps", type=int, default=30_000)
    cp.add_argument("--seeds", type=int, default=5)
    cp.add_argument("--eval-every", type=int, default=1_000)
    cp.add_argument("--out", default="runs/bench-rainbow")
    cp.add_argument("--set", action="append", default=[], help="extra key=value overrides")
    ma = sub.add_parser("minatar", help="score after N frames on a MinAtar game")
    ma.add_argument("--game", default="Breakout")
    ma.add_argument("--steps", type=int, default=1_000_000)
    ma.add_argument("--seeds", type=int, default=1)
    ma.add_argument("--out", default="runs/bench-rainbow")
    ma.add_argument("--set", action="append", default=[], help="extra key=value overrides")
    args = parser.parse_args()
    result = cartpole(args) if args.which == "cartpole" else minatar(args)
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
