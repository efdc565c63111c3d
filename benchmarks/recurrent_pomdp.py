"""Memory on a partially observable task: recurrent agents against plain DQN on POMDP/CartPole-v1.

    python benchmarks/recurrent_pomdp.py r2d2 --seeds 3 --steps 100000

``POMDP/CartPole-v1`` is CartPole-v1 observing only the cart position and the pole angle, so one
observation does not say where the pole is heading: an agent has to remember the observations
before it. Each subcommand trains its recurrent recipe and a feed-forward baseline for the same
number of env steps per seed, evaluating every ``--eval-every`` steps on ``--eval-episodes``
fixed-seed greedy episodes, and prints per run: the best periodic evaluation (and when it came),
the final evaluation (after the last step, same protocol), and the best agent re-evaluated on 100
episodes it never saw.

``r2d2``: the ``r2d2`` recipe with its classic-control defaults (``plugins/zoo-r2d2``) against
``dqn`` with RL Baselines3 Zoo's tuned CartPole settings (the core's ``gymnasium`` defaults, which
solve the fully observed CartPole-v1), both without frame stacking.

Runs go under ``--out`` (one folder per recipe and seed). A finished folder is read back and a
folder with a checkpoint is resumed, so a stopped benchmark loses no work.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ENV = "POMDP/CartPole-v1"
UNSEEN_SEED = 10_000  # periodic evaluations use seeds from 1,000,000 on (zoo_core.running.training.EVAL_SEED)


def _train_or_resume(recipe: str, steps: int, seed: int, run_dir: Path, overrides: list[str]) -> float:
    """Train (or finish) one run; return the wall-clock seconds spent now (0 when it was finished)."""
    import zoo_core

    start = time.perf_counter()
    if (run_dir / "results.json").is_file():
        return 0.0
    if (run_dir / "config.json").is_file():  # resume starts a run that never checkpointed over itself
        zoo_core.resume(run_dir, progress=sys.stderr.isatty())
    else:
        command = shlex.join(["python", *sys.argv])
        zoo_core.train(recipe, ENV, steps, seed, run_dir, overrides, progress=sys.stderr.isatty(), command=command)
    return time.perf_counter() - start


def _eval_rows(run_dir: Path) -> list[dict[str, float]]:
    with open(run_dir / "eval.csv", newline="") as f:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


def _unseen(run_dir: Path, episodes: int) -> float:
    """The best agent's mean return on ``episodes`` greedy episodes seeded apart from training's evaluations."""
    import zoo_core

    agent = zoo_core.load(run_dir, which="best")
    protocol = zoo_core.EvalProtocol(env_id=ENV, episodes=episodes, seed=UNSEEN_SEED)
    return zoo_core.evaluate(agent.act, lambda: agent.setup.make_env(training=False), protocol).summary["mean"]


def _run(recipe: str, overrides: list[str], args: argparse.Namespace, seed: int) -> dict[str, Any]:
    run_dir = Path(args.out) / f"{recipe}-s{seed}"
    settings = [f"run.eval_every={args.eval_every}", f"run.eval_episodes={args.eval_episodes}",
                "run.checkpoint_every=20000", "run.torch_threads=1", *overrides]
    wall = _train_or_resume(recipe, args.steps, seed, run_dir, settings)
    evals = _eval_rows(run_dir)
    with open(run_dir / "progress.csv", newline="") as f:
        train_wall = float(list(csv.DictReader(f))[-1]["wall_s"])  # the last (or only) session's training time
    best = max(evals, key=lambda e: e["eval_mean"])
    final = json.loads((run_dir / "results.json").read_text())
    row = {
        "recipe": recipe, "seed": seed, "steps": int(final["env_steps"]),
        "best_eval": round(best["eval_mean"], 1), "best_at": int(best["env_steps"]),
        "final_eval": round(final["mean"], 1), "best_agent_unseen_100": round(_unseen(run_dir, 100), 1),
        "train_wall_s": round(train_wall, 1), "wall_s_now": round(wall, 1),
    }
    print(f"{recipe} seed {seed}: {row['steps']} steps, best evaluation {row['best_eval']} (at {row['best_at']}), "
          f"final {row['final_eval']}, best agent on 100 unseen episodes {row['best_agent_unseen_100']} "
          f"({args.eval_episodes} episodes per evaluation; {row['train_wall_s']} s of training)", flush=True)
    return row


def _baseline_dqn() -> list[str]:
    """The core's tuned CartPole-v1 DQN settings as ``--set`` texts (the dqn recipe has none for POMDP/)."""
    from zoo_core.host.builtins import DQN_ENV_CONFIG

    def text(v: Any) -> str:
        return ",".join(map(str, v)) if isinstance(v, tuple) else str(v)

    return [f"dqn.{k}={text(v)}" for k, v in DQN_ENV_CONFIG["gymnasium"]["dqn"].items()]


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for recipe in dict.fromkeys(r["recipe"] for r in rows):
        mine = [r for r in rows if r["recipe"] == recipe]
        out[recipe] = {k: statistics.median(r[k] for r in mine) for k in ("best_eval", "final_eval",
                                                                           "best_agent_unseen_100")}
    return out


def r2d2(args: argparse.Namespace) -> dict[str, Any]:
    """R2D2 against feed-forward DQN, same env steps per seed."""
    rows = []
    for seed in range(args.seeds):
        rows.append(_run("r2d2", args.set, args, seed))
        if not args.skip_baseline:
            rows.append(_run("dqn", _baseline_dqn(), args, seed))
    return {"benchmark": f"r2d2 vs dqn on {ENV}", "steps": args.steps, "runs": rows, "medians": _summary(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="which", required=True)
    r2 = sub.add_parser("r2d2", help="r2d2 against dqn on POMDP/CartPole-v1, per seed")
    r2.add_argument("--steps", type=int, default=100_000)
    r2.add_argument("--seeds", type=int, default=3)
    r2.add_argument("--eval-every", type=int, default=5_000)
    r2.add_argument("--eval-episodes", type=int, default=20)
    r2.add_argument("--out", default="runs/bench-recurrent-pomdp")
    r2.add_argument("--set", action="append", default=[], help="extra key=value overrides for r2d2")
    r2.add_argument("--skip-baseline", action="store_true", help="train r2d2 only")
    r2.set_defaults(run=r2d2)
    # IMPALA (zoo-impala, with a recurrent core) is to get its own subcommand here.
    args = parser.parse_args()
    print(json.dumps(args.run(args), default=str))


if __name__ == "__main__":
    main()
