"""The predictron's evaluation: mean squared error on a held-out set of mazes, lower is better.

Item i of the set is the maze the env makes on ``reset(seed=protocol.seed + i)``; its score is the
squared error of the agent's predictions averaged over the maze's targets, so the protocol's mean is
the mean squared error over every held-out target.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zoo_core.api import EvalProtocol, EvalResult, Setup, ZooError

METRIC = "mse"


def evaluate_mse(agent: Any, setup: Setup, protocol: EvalProtocol, *, progress: bool = False) -> EvalResult:
    """Score ``agent.predict`` on ``protocol.episodes`` held-out mazes.

    :raises ZooError: the protocol asks for ε or a step cap (they belong to episodes), or the env
        gives no targets.
    """
    if protocol.epsilon or protocol.max_steps is not None:
        raise ZooError("a held-out mse takes no epsilon or max_steps (they belong to episodes of a control task)")
    env = setup.make_env(training=False)
    obs, targets = [], []
    bar = None
    try:
        if progress:
            from rich.progress import Progress

            bar = Progress(transient=False)
            bar.start()
            task = bar.add_task(f"held-out {protocol.env_id}", total=protocol.episodes)
        for i in range(protocol.episodes):
            o, info = env.reset(seed=protocol.seed + i)
            if "targets" not in info:
                raise ZooError(f"{protocol.env_id} gives no targets (info['targets']); it is not a prediction task")
            obs.append(o)
            targets.append(info["targets"])
            if bar is not None:
                bar.advance(task)
    finally:
        if bar is not None:
            bar.stop()
        env.close()
    predictions = agent.predict(np.stack(obs))
    errors = ((predictions.astype(np.float64) - np.stack(targets)) ** 2).mean(axis=1)
    return EvalResult(protocol=protocol, returns=errors.tolist(), lengths=[1] * protocol.episodes)
