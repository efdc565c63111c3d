"""The actor-learner loop: actors play in their own processes, the learner consumes their unrolls.

Scheduling is deterministic, so a run is a function of its seed and a checkpoint resumes exactly,
while acting still overlaps learning:

* Unrolls are consumed in a fixed order, round robin over the actors, ``batch_size`` per update.
* The moment the learner takes actor ``i``'s unroll it sends actor ``i`` the current parameters, and
  the actor plays its next unroll while the learner updates. That unroll is therefore made with
  parameters some updates older than the ones it will be learned with: the *policy lag* V-trace
  corrects for, logged per update as ``policy_lag`` (mean over the batch) and ``policy_lag_max``.
* A checkpoint first collects every unroll in flight and the actors' states; on resume those
  unrolls are consumed where they would have been.

With ``num_actors = batch_size`` every actor waits for one update, so the lag is one update.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Iterator
from typing import Any

import torch

from zoo_core.api import CheckpointError, LoopState, Setup, Turn, WorkerGroup, ZooError, with_prefix
from zoo_impala.actor import ActorSpec, make_actor
from zoo_impala.agent import ImpalaAgent
from zoo_impala.unroll import Unroll


def env_ids(setup: Setup) -> tuple[str, ...]:
    """The envs a run's actors play: ``impala.tasks`` (which must include ``--env``) or ``--env``."""
    tasks = tuple(setup.config["impala"].tasks)
    if not tasks:
        return (setup.env_id,)
    if setup.env_id not in tasks:
        raise ZooError(f"impala.tasks must include --env {setup.env_id}; got {', '.join(tasks)}")
    return tasks


class ActorLearnerLoop:
    """IMPALA's loop (see the module docstring); one turn is one learner update."""

    metric_names: tuple[str, ...] = ("policy_lag", "policy_lag_max")

    def __init__(self, agent: ImpalaAgent, setup: Setup, seed: int, state: LoopState | None = None):
        cfg, run = setup.config["impala"], setup.config["run"]
        self.agent, self.cfg = agent, cfg
        spec = ActorSpec(
            recipe=setup.recipe_text, env_ids=env_ids(setup), config=setup.config.to_json(),
            network=agent.spec.to_json(), seed=seed, envs_per_actor=cfg.envs_per_actor,
            unroll_length=cfg.unroll_length, gamma=cfg.gamma,
        )
        self.n = cfg.num_actors
        if self.n < len(spec.env_ids):
            raise ZooError(
                f"{len(spec.env_ids)} tasks need at least as many actors (actor i plays task i mod "
                f"{len(spec.env_ids)}); set impala.num_actors >= {len(spec.env_ids)}"
            )
        # Multi-task: each task's recent training returns, logged as `return@<env id>`.
        self.tasks = spec.env_ids
        self.recent: list[collections.deque[float]] = [collections.deque(maxlen=100) for _ in self.tasks]
        if len(self.tasks) > 1:
            self.metric_names = (*self.metric_names, *(f"return@{t}" for t in self.tasks))
        self.pending: dict[int, Unroll] = {}
        self.next_actor = 0
        self.workers = WorkerGroup(
            functools.partial(make_actor, spec), self.n, backend=run.backend, address=run.address, name="actor"
        )
        try:
            if state is not None:
                self._restore(state)
            params = agent.parameters_for_actors()
            for i in range(self.n):
                if i not in self.pending:
                    self.workers.submit(i, "unroll", params, agent.updates)
        except BaseException:
            self.workers.close()
            raise

    def _take(self, i: int) -> Unroll:
        unroll = self.pending.pop(i) if i in self.pending else self.workers.result(i)
        # Refresh at once: the actor plays its next unroll while the learner updates.
        self.workers.submit(i, "unroll", self.agent.parameters_for_actors(), self.agent.updates)
        return unroll

    def turns(self, until: int) -> Iterator[Turn]:
        agent = self.agent
        while agent.env_steps < until:
            unrolls = []
            for _ in range(self.cfg.batch_size):
                unrolls.append(self._take(self.next_actor))
                self.next_actor = (self.next_actor + 1) % self.n
            lags = [agent.updates - u.version for u in unrolls]
            agent.learn(unrolls)
            episodes = [e for u in unrolls for e in u.episodes]
            metrics = {"policy_lag": sum(lags) / len(lags), "policy_lag_max": float(max(lags))}
            if len(self.tasks) > 1:
                for u in unrolls:
                    self.recent[int(u.task[0])].extend(ret for _, ret, _ in u.episodes)
                for task, recent in zip(self.tasks, self.recent, strict=True):
                    metrics[f"return@{task}"] = sum(recent) / len(recent) if recent else float("nan")
            yield Turn(episodes, True, metrics)

    def pause(self) -> None:
        pass  # state_dict collects the work in flight, so any turn boundary is a snapshot

    def state_dict(self) -> LoopState:
        tensors: dict[str, torch.Tensor] = {}
        pending: dict[str, Any] = {}
        for i in range(self.n):
            if self.workers.busy(i):
                self.pending[i] = self.workers.result(i)
        for i, unroll in sorted(self.pending.items()):
            arrays, meta = unroll.to_tensors()
            tensors.update({f"pending.{i}.{k}": v for k, v in arrays.items()})
            pending[str(i)] = meta
        actors = [self.workers.call(i, "get_state") for i in range(self.n)]
        return tensors, {
            "next_actor": self.next_actor, "pending": pending, "actors": actors,
            "task_returns": [list(r) for r in self.recent],
        }

    def _restore(self, state: LoopState) -> None:
        tensors, meta = state
        if len(meta.get("actors", [])) != self.n:
            raise CheckpointError(
                f"the checkpoint has {len(meta.get('actors', []))} actors; this run has impala.num_actors={self.n}"
            )
        for i, actor_state in enumerate(meta["actors"]):
            self.workers.call(i, "set_state", actor_state)
        for key, unroll_meta in meta["pending"].items():
            self.pending[int(key)] = Unroll.from_tensors(with_prefix(tensors, f"pending.{key}."), unroll_meta)
        self.next_actor = int(meta["next_actor"])
        for recent, saved in zip(self.recent, meta.get("task_returns", []), strict=False):
            recent.extend(saved)

    def close(self) -> None:
        self.workers.close()


def actor_learner_loop(agent: ImpalaAgent, setup: Setup, seed: int, state: LoopState | None = None) -> ActorLearnerLoop:
    """The ``impala`` algorithm's loop factory."""
    return ActorLearnerLoop(agent, setup, seed, state)
