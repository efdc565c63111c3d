"""DQN (Mnih et al. 2015) with the core options: double Q, n-step returns, hard or Polyak targets.

The agent asks its plugin manager for its roles (replay, value distribution, exploration), lets
plugins edit the network specification, and otherwise reads top to bottom: act, observe, update.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pluggy
import torch

from zoo_core.agents.parts import (
    NetworkWeights,
    check_finite,
    exploration_role,
    load_rng_state,
    network_spec,
    rng_state,
    seeded_rng,
    value_role,
)
from zoo_core.config import AgentConfig, param
from zoo_core.errors import ZooError
from zoo_core.fast import PlainLearner
from zoo_core.network_spec import NetworkSpec
from zoo_core.networks import build_network
from zoo_core.optim import FastAdam, clip_grad_norm, load_optimizer_state, optimizer_state
from zoo_core.plugins import has_impls, resolve_role
from zoo_core.replay import UniformReplay
from zoo_core.value_learning import polyak_update


@dataclass(frozen=True)
class DQNConfig:
    """DQN hyperparameters. Steps are environment steps summed over parallel envs."""

    lr: float = param(1e-3, "Adam learning rate.")
    adam_eps: float = param(1e-8, "Adam epsilon (Rainbow uses 1.5e-4).")
    batch_size: int = param(64, "Transitions per learner update.")
    gamma: float = param(0.99, "Discount factor.")
    buffer_size: int = param(100_000, "Replay capacity in transitions.")
    learning_starts: int = param(1_000, "Env steps collected before the first update.")
    train_freq: int = param(1, "Vector-env steps between learner updates.")
    gradient_steps: int = param(1, "Learner updates each time it trains.")
    target_update_interval: int = param(500, "Learner updates between target-network updates.")
    tau: float = param(1.0, "Target update coefficient: 1 copies (hard), <1 is Polyak averaging.")
    double_q: bool = param(True, "Double Q-learning: online net selects, target net evaluates.")
    n_step: int = param(1, "Steps in the bootstrapped return.")
    huber_delta: float = param(1.0, "Huber loss threshold.")
    max_grad_norm: float = param(10.0, "Gradient norm clip (0 disables).")
    eps_start: float = param(1.0, "Initial exploration ε.")
    eps_end: float = param(0.05, "Final exploration ε.")
    eps_decay_steps: int = param(10_000, "Env steps over which ε anneals linearly.")
    torso: str = param("auto", "Registered torso (mlp, nature_cnn, minatar_cnn) or auto by obs shape.")
    hidden: tuple[int, ...] = param((256, 256), "Hidden sizes of the mlp torso.")
    loss_reduction: Literal["mean", "sum"] = param("mean", "How per-sample losses are reduced.")


@dataclass
class BuildContext:
    """What an algorithm's builder receives (see :class:`zoo_core.recipes.Algorithm`)."""

    config: AgentConfig
    pm: pluggy.PluginManager
    modules: dict[str, dict[str, Any]]
    obs_shape: tuple[int, ...]
    obs_dtype: np.dtype
    num_actions: int
    frame_stack: int
    num_envs: int
    seed: int
    spec: NetworkSpec | None = None  # given when rebuilding a saved agent


class DQNAgent(NetworkWeights):
    """A DQN-family agent: online and target networks, optimiser, replay, exploration.

    ``act(obs)`` is the public, greedy policy; the training loop uses :meth:`explore`,
    :meth:`observe` and :meth:`maybe_update`.
    """

    def __init__(self, ctx: BuildContext):
        cfg: DQNConfig = ctx.config["dqn"]
        self.cfg, self.config, self.pm = cfg, ctx.config, ctx.pm
        self.num_actions, self.num_envs = ctx.num_actions, ctx.num_envs
        self.rng = seeded_rng(ctx.seed)
        self.value = value_role(ctx, cfg.huber_delta)
        self.exploration = exploration_role(ctx, cfg.eps_start, cfg.eps_end, cfg.eps_decay_steps)
        self.spec = ctx.spec or network_spec(ctx, cfg.torso, cfg.hidden, self.value.num_atoms)
        self.network = build_network(self.spec, ctx.modules)
        if self.network.recurrent:
            raise ZooError("the dqn agent is feed-forward; a recurrent torso needs sequence replay")
        self.target = copy.deepcopy(self.network).requires_grad_(False)
        self.params = list(self.network.parameters())
        self.optimizer = FastAdam(self.params, lr=cfg.lr, eps=cfg.adam_eps)
        self._plain = PlainLearner.of(self.network, self.target)  # None: not all core blocks

        capacity = cfg.buffer_size - cfg.buffer_size % ctx.num_envs
        self.replay = resolve_role(
            ctx.pm, "zoo_make_replay", "replay buffer", config=ctx.config, capacity=capacity,
            obs_shape=ctx.obs_shape, obs_dtype=ctx.obs_dtype, num_envs=ctx.num_envs, frame_stack=ctx.frame_stack,
        )
        if self.replay is None:  # `is None`, not `or`: an empty replay buffer is falsy
            self.replay = UniformReplay(
                capacity, ctx.obs_shape, ctx.obs_dtype, num_envs=ctx.num_envs, n_step=cfg.n_step,
                gamma=cfg.gamma, frame_stack=ctx.frame_stack,
            )
        self.env_steps = 0
        self.vec_steps = 0
        self.updates = 0
        self.last_loss = float("nan")
        # Hooks with no implementations are skipped in the update loop.
        self._aux = has_impls(ctx.pm, "zoo_aux_losses")
        self._after = has_impls(ctx.pm, "zoo_after_update")
        # Uniform replay's weights are all ones: skip the multiply (prioritized replay sets True).
        self._weighted = bool(getattr(self.replay, "weighted", True))

    # --- acting ---------------------------------------------------------------------------------

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """Greedy action values ``[N, A]`` for observations ``[N, *obs_shape]``."""
        plain = self._plain.online if self._plain is not None else None
        with torch._C._InferenceMode(True):  # torch.inference_mode() without its Python layers
            if plain is not None and plain.valid():  # the same kernels without module calls (zoo_core/fast.py)
                return self.value.q_values(plain.forward(torch.as_tensor(obs))).numpy()
            return self.value.q_values(self.network(torch.as_tensor(obs))).numpy()

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        """The greedy policy: one observation -> an int; a batch ``[N, *obs_shape]`` -> ``[N]``."""
        obs = np.asarray(obs)
        single = obs.shape == tuple(self.spec.obs_shape)
        # Evaluation mode: layers with training-time randomness (NoisyNet) act on their means.
        self.network.eval()
        try:
            actions = self.q_values(obs[None] if single else obs).argmax(axis=-1)
        finally:
            self.network.train()
        return int(actions[0]) if single else actions

    def explore(self, obs: np.ndarray) -> np.ndarray:
        """Behaviour actions ``[E]`` for the training envs' observations ``[E, *obs_shape]``."""
        return self.exploration.actions(lambda: self.q_values(obs), self.env_steps, self.rng, len(obs))

    # --- learning -------------------------------------------------------------------------------

    def observe(self, obs_tm1: np.ndarray, a_tm1: np.ndarray, step: Any) -> None:
        """Store one vector-env step (a :class:`zoo_core.envs.VecStep`) in replay."""
        self.replay.add(obs_tm1, a_tm1, step.reward, step.terminated, step.truncated, step.next_obs)
        self.vec_steps += 1
        self.env_steps += self.num_envs

    def maybe_update(self) -> bool:
        """Run the learner if the schedule says so; return whether it did."""
        cfg = self.cfg
        if self.env_steps < cfg.learning_starts or self.vec_steps % cfg.train_freq:
            return False
        for _ in range(cfg.gradient_steps):
            self.update()
        return True

    def update(self) -> None:
        """One gradient step on a sampled batch; target update on schedule."""
        cfg = self.cfg
        batch = self.replay.sample(cfg.batch_size, self.rng)
        obs_tm1 = torch.from_numpy(batch.obs_tm1)
        obs_t = torch.from_numpy(batch.obs_t)
        a_tm1 = torch.from_numpy(batch.a_tm1)
        r_t = torch.from_numpy(batch.r_t)
        discount_t = torch.from_numpy(batch.discount_t)
        weights = torch.from_numpy(batch.weights) if self._weighted else None
        plain = self._plain
        if plain is not None and not self._aux and plain.valid():
            # Plain networks: the same kernels as below, without modules or autograd (zoo_core/fast.py).
            loss, priority, grads = plain.grads(
                self.value, obs_tm1, a_tm1, r_t, discount_t, obs_t, weights, cfg.double_q, cfg.loss_reduction
            )
            for p, g in zip(self.params, grads, strict=True):
                p.grad = g
        else:
            if cfg.double_q:
                # One forward for both online evaluations: s_tm1 (learned) and s_t (action selector).
                out = self.network(torch.cat([obs_tm1, obs_t]))
                out_tm1, out_t_selector = out[: len(obs_tm1)], out[len(obs_tm1):].detach()
            else:
                out_tm1, out_t_selector = self.network(obs_tm1), None
            with torch.no_grad():
                out_t = self.target(obs_t)
            loss_b, priority = self.value.loss(out_tm1, a_tm1, r_t, discount_t, out_t, out_t_selector)
            if weights is not None:
                loss_b = loss_b * weights
            loss = loss_b.mean() if cfg.loss_reduction == "mean" else loss_b.sum()
            if self._aux:
                outputs = {"out_tm1": out_tm1, "q_tm1": self.value.q_values(out_tm1), "loss": loss_b}
                for extra in self.pm.hook.zoo_aux_losses(agent=self, batch=batch, outputs=outputs):
                    loss = loss + extra
            self.optimizer.zero_grad()
            loss.backward()
            loss = loss.detach()
        norm = float(clip_grad_norm(self.params, cfg.max_grad_norm)) if cfg.max_grad_norm > 0 else 0.0
        check_finite(float(loss), norm, self.env_steps, self.updates + 1)
        self.optimizer.step()
        self.updates += 1
        if self.updates % cfg.target_update_interval == 0:
            polyak_update(self.target, self.network, cfg.tau)
        if self._after:
            info = {"td_error": priority.numpy(), "loss": loss.detach(), "update": self.updates}
            self.pm.hook.zoo_after_update(agent=self, batch=batch, info=info)
        self.last_loss = loss.detach()  # a tensor: read (and synchronised) only when logged

    def metrics(self) -> dict[str, float]:
        """Scalars for the logs."""
        return {
            "updates": float(self.updates),
            "loss": float(self.last_loss),
            "epsilon": float(getattr(self.exploration, "epsilon", lambda s: 0.0)(self.env_steps)),
        }

    # --- state ----------------------------------------------------------------------------------

    def train_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Everything else an exact resume needs: tensors and JSON."""
        tensors: dict[str, torch.Tensor] = {
            f"target.{k}": v.detach().clone() for k, v in self.target.state_dict().items()
        }
        optim_tensors, optim_meta = optimizer_state(self.optimizer)
        tensors.update(optim_tensors)
        replay_arrays, replay_meta = self.replay.state_dict()
        for name, array in replay_arrays.items():
            tensors[f"replay.{name}"] = torch.from_numpy(np.ascontiguousarray(array))
        rng_tensors, rng_meta = rng_state(self.rng)
        tensors.update(rng_tensors)
        meta = {
            "env_steps": self.env_steps,
            "vec_steps": self.vec_steps,
            "updates": self.updates,
            "optimizer": optim_meta,
            "replay": replay_meta,
            "value": self.value.state_dict() if hasattr(self.value, "state_dict") else {},
            "exploration": self.exploration.state_dict() if hasattr(self.exploration, "state_dict") else {},
            "rng": rng_meta,
        }
        return tensors, meta

    def load_train_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        """Restore what :meth:`train_state` saved."""
        target = {k[len("target."):]: v for k, v in tensors.items() if k.startswith("target.")}
        self.target.load_state_dict(target)
        load_optimizer_state(self.optimizer, tensors, meta["optimizer"])
        arrays = {k[len("replay."):]: v.numpy() for k, v in tensors.items() if k.startswith("replay.")}
        self.replay.load_state_dict(arrays, meta["replay"])
        if hasattr(self.value, "load_state_dict"):
            self.value.load_state_dict(meta.get("value", {}))
        if hasattr(self.exploration, "load_state_dict"):
            self.exploration.load_state_dict(meta.get("exploration", {}))
        load_rng_state(self.rng, tensors, meta["rng"])
        self.env_steps, self.vec_steps, self.updates = meta["env_steps"], meta["vec_steps"], meta["updates"]


def build_dqn(ctx: BuildContext) -> DQNAgent:
    """The ``dqn`` algorithm's builder."""
    return DQNAgent(ctx)
