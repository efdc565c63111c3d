"""The predictron's loop: one turn is one supervised update on fresh labelled mazes (and its
consistency updates on fresh unlabelled ones).

Training data is drawn, never stored: update u's labelled batch comes from a generator seeded
``[seed, u]`` and its j-th unlabelled batch from ``[seed, u, 1 + j]``, so the stream is a function of
the run's seed and the update count alone and a resumed run continues it exactly (the loop keeps no
state of its own). The held-out set (reset seeds ``protocol.seed + i``, integer seeds) is drawn
through another seeding path, so no training batch repeats it except by chance.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from zoo_core.api import LoopState, Setup, Turn, ZooError
from zoo_predictron.agent import PredictronAgent


class PredictionLoop:
    """Draw a batch, learn from it; env steps count labelled mazes."""

    metric_names: tuple[str, ...] = ()

    def __init__(self, agent: PredictronAgent, setup: Setup, seed: int, state: LoopState | None = None):
        del state  # everything it needs is the agent's update count
        if setup.config["run"].backend != "local":
            raise ZooError("the predictron learns in the trainer's own process; use --backend local")
        self.agent, self.seed = agent, seed
        self.env = setup.make_env(training=True)
        self.task = self.env.unwrapped
        if not hasattr(self.task, "sample"):
            raise ZooError(f"{setup.env_id} is not a prediction task (the predictron trains on the Predictron/ envs)")

    def turns(self, until: int) -> Iterator[Turn]:
        agent, cfg = self.agent, self.agent.cfg
        while agent.env_steps < until:
            u = agent.updates
            obs, targets = self.task.sample(np.random.default_rng([self.seed, u]), cfg.batch_size)
            unlabelled = [self.task.sample(np.random.default_rng([self.seed, u, 1 + j]), cfg.batch_size)[0]
                          for j in range(cfg.consistency_updates)]
            agent.learn(obs, targets, unlabelled)
            yield Turn(updated=True)

    def pause(self) -> None:
        pass  # all its work happens inside turns()

    def state_dict(self) -> LoopState:
        return {}, {}

    def close(self) -> None:
        self.env.close()


def prediction_loop(agent: PredictronAgent, setup: Setup, seed: int, state: LoopState | None = None) -> PredictionLoop:
    """The ``predictron`` algorithm's loop factory."""
    return PredictionLoop(agent, setup, seed, state)
