"""``zoo i2a-model``: gather a policy's Sokoban transitions, train an environment model on them,
report its error on held-out transitions and save it as an artifact (added to ``zoo`` by the
``zoo_register_commands`` hook)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from zoo_core.api import ZooError, nonneg_int, positive_int, progress_default

Register = Callable[
    [str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int | None]], None
]


def register_commands(register: Register) -> None:
    """The plugin's ``zoo_register_commands`` implementation."""
    register("i2a-model", "train an I2A environment model on a policy's Sokoban frames and save it",
             configure_model, run_model)


def configure_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", required=True, help="a Sokoban/ env id")
    p.add_argument("--agent", default="random",
                   help="whose frames: a run, agent folder or registry:NAME (its greedy policy), or random")
    p.add_argument("--epsilon", type=float, default=0.1,
                   help="how often a random action replaces the agent's (ignored with --agent random)")
    p.add_argument("--frames", type=positive_int, default=20_000, help="transitions gathered (a fifth held out)")
    p.add_argument("--steps", type=positive_int, default=15_000, help="training updates")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--channels", type=positive_int, default=16)
    p.add_argument("--seed", type=nonneg_int, default=0, help="seeds the levels, the minibatches and the weights")
    p.add_argument("--out", required=True, help="folder to write (new)")
    p.add_argument("--no-progress", action="store_true")


def run_model(args: argparse.Namespace) -> int:
    from pathlib import Path

    from zoo_i2a.env import PREFIX, TASKS, make_sokoban_env
    from zoo_i2a.env_model import gather, model_error, new_model, save_model, train_model

    out = Path(args.out)
    if out.exists():
        raise ZooError(f"{out} already exists; pick another --out")
    if not args.env.startswith(PREFIX) or args.env not in TASKS:
        raise ZooError(f"--env must be one of {', '.join(TASKS)}; got {args.env!r}")
    if not 0.0 <= args.epsilon <= 1.0:
        raise ZooError(f"--epsilon must be in [0, 1]; got {args.epsilon}")
    if not args.lr > 0:
        raise ZooError(f"--lr must be positive; got {args.lr}")
    env = make_sokoban_env(args.env)
    policy = None
    if args.agent != "random":
        from zoo_core.api import load

        agent = load(args.agent)
        if agent.doc["env_id"] != args.env:
            raise ZooError(f"{args.agent} plays {agent.doc['env_id']}, not {args.env}")
        policy = agent.act
    train, test = gather(env, policy, args.frames, args.seed, args.epsilon).split(0.2)
    model = new_model(env.observation_space.shape, env.action_space.n, args.channels, args.seed)
    bar = None
    if progress_default() and not args.no_progress:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task("env model", total=args.steps)
    try:
        train_model(model, train, args.steps, args.batch_size, args.lr, args.seed,
                    progress=(lambda i, parts: bar.update(task, completed=i)) if bar else None)
    finally:
        if bar is not None:
            bar.stop()
    before = model_error(new_model(env.observation_space.shape, env.action_space.n, args.channels, args.seed), test)
    error = model_error(model, test)
    save_model(model, out, {"env_id": args.env, "agent": args.agent, "epsilon": args.epsilon if policy else 1.0,
                            "frames": args.frames, "steps": args.steps,
                            "seed": args.seed, "held_out": len(test), "error": error, "error_untrained": before})
    print(json.dumps({"out": str(out), "held_out_transitions": len(test), **error}))
    return 0
