"""An IMPALA actor: plays the behaviour policy on its own envs with a copy of the parameters.

The actor is a plain object; :class:`zoo_core.running.workers.WorkerGroup` runs it in its own process or as
a Ray actor. It is rebuilt in that process from an :class:`ActorSpec` (recipe, env, resolved
config and network spec as JSON), never from pickled modules, and its state (env op logs, action
RNG, recurrent state) is JSON, so a checkpoint restores it exactly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from zoo_core.api import NetworkSpec, VecEnv, resolve
from zoo_impala.network import ActorCriticNet
from zoo_impala.unroll import Unroll


@dataclass(frozen=True)
class ActorSpec:
    """Everything an actor process needs to rebuild its envs and network (plain data).

    :param env_ids: the envs actors play; actor ``i`` plays ``env_ids[i % len(env_ids)]`` as task
        ``i % len(env_ids)`` (one id for single-task training).
    """

    recipe: str
    env_ids: tuple[str, ...]
    config: dict[str, Any]
    network: dict[str, Any]
    seed: int
    envs_per_actor: int
    unroll_length: int
    gamma: float


def sample_actions(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one action per row of ``logits [N, A]`` from softmax(logits), by the Gumbel-max trick."""
    gumbel = -np.log(-np.log(rng.random(logits.shape)))
    return np.argmax(logits.astype(np.float64) + gumbel, axis=-1)


def actor_seed(seed: int, index: int) -> int:
    """The env seed of actor ``index``: independent streams per actor, fixed by the run's seed."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


class Actor:
    """One actor: ``E`` envs, a network copy, an action RNG, and the recurrent state it carries."""

    def __init__(self, spec: ActorSpec, index: int):
        self.spec, self.index = spec, index
        self.task = index % len(spec.env_ids)
        env_id = spec.env_ids[self.task]
        setup = resolve(spec.recipe, spec.env_ids[0], (), saved=spec.config)
        setup = dataclasses.replace(setup, env_id=env_id)
        self.setup = setup  # an A3C worker asks its plugins (auxiliary tasks) through it
        self.net = ActorCriticNet(NetworkSpec.from_json(spec.network), setup.catalog.modules).requires_grad_(False)
        self.env = VecEnv(lambda: setup.make_env(training=True), spec.envs_per_actor, actor_seed(spec.seed, index))
        self.rng = np.random.Generator(np.random.PCG64([spec.seed, index]))
        self.obs = self.env.reset()
        self.first = np.ones(spec.envs_per_actor, dtype=bool)
        self.state = self.net.initial_state(spec.envs_per_actor)
        self.version = -1

    def _load(self, params: dict[str, np.ndarray], version: int) -> None:
        if version != self.version:
            self.net.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
            self.version = version

    def unroll(self, params: dict[str, np.ndarray], version: int) -> Unroll:
        """Play ``T`` steps of every env with ``params`` (learner update ``version``)."""
        self._load(params, version)
        spec, env = self.spec, self.env
        T, E = spec.unroll_length, spec.envs_per_actor
        obs = np.empty((T + 1, E, *self.obs.shape[1:]), dtype=self.obs.dtype)
        first = np.empty((T + 1, E), dtype=bool)
        a_tm1 = np.empty((T, E), dtype=np.int64)
        r_t = np.empty((T, E), dtype=np.float32)
        discount_t = np.empty((T, E), dtype=np.float32)
        mu_logits = np.empty((T, E, self.net.policy.out_features), dtype=np.float32)
        initial_state = tuple(s.numpy().copy() for s in self.state)
        episodes: list[tuple[int, float, int]] = []
        with torch.inference_mode():
            for t in range(T):
                obs[t], first[t] = self.obs, self.first
                logits, _, _, self.state = self.net(
                    torch.as_tensor(self.obs[None]), torch.as_tensor(self.first[None]), self.state
                )
                mu_logits[t] = logits[0].numpy()
                actions = sample_actions(mu_logits[t], self.rng)
                step = env.step(actions)
                a_tm1[t] = actions
                reward = step.reward.astype(np.float32)
                cut = step.truncated & ~step.terminated
                if cut.any():
                    # A time limit, not the MDP, ended these episodes: their successor exists but is
                    # not in the unroll, so its value (under these parameters) is folded into r.
                    rows = np.flatnonzero(cut)
                    _, _, v_next, _ = self.net(
                        torch.as_tensor(step.next_obs[rows][None]), torch.zeros(1, len(rows)),
                        tuple(s[rows] for s in self.state),
                    )
                    reward[rows] += spec.gamma * v_next[0, :, self.task].numpy()
                done = step.terminated | step.truncated
                r_t[t] = reward
                discount_t[t] = np.where(done, 0.0, spec.gamma)
                episodes += [(self.index * E + i, ret, n) for i, ret, n in step.episodes]
                self.obs, self.first = step.obs, done
        obs[T], first[T] = self.obs, self.first
        return Unroll(
            obs, first, a_tm1, r_t, discount_t, mu_logits, initial_state,
            np.full(E, self.task, dtype=np.int64), version, self.index, episodes,
        )

    def get_state(self) -> dict[str, Any]:
        """JSON state: envs (op logs), the next observation's ``first`` flags, RNG, recurrent state."""
        return {
            "env": self.env.state_dict(),
            "first": self.first.tolist(),
            "rng": self.rng.bit_generator.state,
            "state": [s.tolist() for s in self.state],
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`get_state` (the env replays its log; float32 values round-trip exactly)."""
        self.obs = self.env.load_state_dict(state["env"])
        self.first = np.asarray(state["first"], dtype=bool)
        self.rng.bit_generator.state = state["rng"]
        self.state = tuple(torch.tensor(s, dtype=torch.float32) for s in state["state"])


def make_actor(spec: ActorSpec, index: int) -> Actor:
    """The worker factory (module level, so it can be sent to a spawned process)."""
    return Actor(spec, index)
