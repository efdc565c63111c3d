"""The DQN family (Mnih et al. 2015): its shared config, agent base and update tail, and the DQN agent
with the core options: double Q, n-step returns, hard or Polyak targets.

The agent asks its plugin manager for its roles (replay, value distribution, exploration), lets
plugins edit the network specification, and otherwise reads top to bottom: act, observe, update.
Other DQN-family agents (R2D2) subclass :class:`DQNFamilyAgent` and its config.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from zoo_core.agents import parts
from zoo_core.agents.aux import AuxTasks
from zoo_core.errors import ZooError
from zoo_core.fast.learner import make_learner
from zoo_core.host.config import param
from zoo_core.host.context import BuildContext
from zoo_core.host.roles import has_impls, resolve_role
from zoo_core.learning.aux_replay import Sequences
from zoo_core.learning.devices import to_device, to_host
from zoo_core.learning.exploration import linear_schedule
from zoo_core.learning.learner import TensorBatch
from zoo_core.learning.networks import build_network
from zoo_core.learning.optim import load_optimizer_state, optimizer_state
from zoo_core.learning.replay import UniformReplay
from zoo_core.learning.value_learning import polyak_update


@dataclass(frozen=True)
class DQNFamilyConfig:
    """Hyperparameters every DQN-family agent has. Steps are env steps summed over parallel envs."""

    section: ClassVar[str] = "dqn"  # the config section, for messages (a subclass sets its own)

    lr: float = param(1e-3, "Adam learning rate.", gt=0)
    lr_end: float = param(0.0, "Learning rate at the end of lr_decay_steps.", ge=0)
    lr_decay_steps: int = param(
        0, "Env steps over which the learning rate anneals linearly from lr to lr_end (0: constant lr).", ge=0
    )
    adam_eps: float = param(1e-8, "Adam epsilon (Rainbow uses 1.5e-4).", gt=0)
    batch_size: int = param(64, "Samples (transitions, or sequences for sequence replay) per learner update.", ge=1)
    gamma: float = param(0.99, "Discount factor.", ge=0, le=1)
    buffer_size: int = param(100_000, "Replay capacity in samples (transitions, or sequences).", ge=1)
    learning_starts: int = param(1_000, "Env steps collected before the first update.", ge=0)
    train_freq: int = param(1, "Vector-env steps between learner updates.", ge=1)
    gradient_steps: int = param(1, "Learner updates each time it trains.", ge=1)
    target_update_interval: int = param(500, "Learner updates between target-network updates.", ge=1)
    tau: float = param(1.0, "Target update coefficient: 1 copies (hard), <1 is Polyak averaging.", gt=0, le=1)
    double_q: bool = param(True, "Double Q-learning: online net selects, target net evaluates.")
    n_step: int = param(1, "Steps in the bootstrapped return.", ge=1)
    huber_delta: float = param(1.0, "Huber loss threshold.", gt=0)
    max_grad_norm: float = param(10.0, "Gradient norm clip (0 disables).", ge=0)
    eps_start: float = param(1.0, "Initial exploration ε.", ge=0, le=1)
    eps_end: float = param(0.05, "Final exploration ε.", ge=0, le=1)
    eps_decay_steps: int = param(10_000, "Env steps over which ε anneals linearly (0: eps_end at once).", ge=0)
    torso: str = param("auto", "Registered torso (mlp, nature_cnn, minatar_cnn) or auto by obs shape.")
    hidden: tuple[int, ...] = param((256, 256), "Hidden sizes of the mlp torso.", ge=1)
    fast_learner: bool = param(
        True, "The fused learner (same bits, less overhead); false trains with plain modules and autograd."
    )

    def __post_init__(self) -> None:
        # ε anneals from eps_start down to eps_end; the other way round is a typo, not a schedule.
        if self.eps_end > self.eps_start:
            s = self.section
            raise ZooError(f"{s}.eps_end ({self.eps_end}) must be <= {s}.eps_start ({self.eps_start})")


@dataclass(frozen=True)
class DQNConfig(DQNFamilyConfig):
    """DQN hyperparameters: the family's, and how per-sample losses are reduced."""

    loss_reduction: Literal["mean", "sum"] = param("mean", "How per-sample losses are reduced.")


class DQNFamilyAgent(parts.NetworkWeights):
    """What DQN-family agents share: roles, online and target networks, the learner strategy, the
    update schedule and tail, logs and checkpoint state. A subclass sets :attr:`section` (its config
    section), builds its replay after ``super().__init__`` and writes :meth:`update`.

    ``act(obs)`` is the public, greedy policy; the step loop calls :meth:`explore`, :meth:`observe`
    and :meth:`maybe_update`.
    """

    section = "dqn"
    recurrent = False  # whether the agent's network must carry a recurrent core

    def __init__(self, ctx: BuildContext, **spec_fields: Any):
        cfg: DQNFamilyConfig = ctx.config[self.section]
        self.cfg, self.config, self.pm = cfg, ctx.config, ctx.pm
        self.num_actions, self.num_envs = ctx.num_actions, ctx.num_envs
        self.rng = parts.seeded_rng(ctx.seed)
        self.value = parts.value_role(ctx, cfg.huber_delta)
        self.exploration = parts.exploration_role(ctx, cfg.eps_start, cfg.eps_end, cfg.eps_decay_steps)
        self.spec = ctx.spec or parts.network_spec(ctx, cfg.torso, cfg.hidden, self.value.num_atoms, **spec_fields)
        # Initialised on the CPU, then moved: the same initial weights on every device.
        self.device = ctx.device
        self.network = build_network(self.spec, ctx.modules).to(self.device)
        if self.network.recurrent and not self.recurrent:
            raise ZooError(f"the {self.section} agent is feed-forward; a recurrent torso needs sequence replay")
        if self.recurrent and not self.network.recurrent:
            raise ZooError(f"the {self.section} agent needs a recurrent network; its spec has "
                           f"recurrent={self.spec.recurrent!r}")
        self.target = copy.deepcopy(self.network).requires_grad_(False)
        self.learner = make_learner(self.network, self.target, cfg.lr, cfg.adam_eps, cfg.fast_learner)
        self.params, self.optimizer = self.learner.params, self.learner.optimizer
        self.replay: Any = None
        self.env_steps = 0
        self.vec_steps = 0
        self.updates = 0
        self.last_loss: Any = float("nan")
        self._after = has_impls(ctx.pm, "zoo_after_update")  # skip an empty hook call per update
        self.aux = AuxTasks(ctx.pm, ctx.config, ctx.seed, cfg.gamma, None, cfg.batch_size)

    # --- learning -------------------------------------------------------------------------------

    def maybe_update(self) -> bool:
        """Run the learner if the schedule says so; return whether it did."""
        cfg = self.cfg
        if self.env_steps < cfg.learning_starts or self.vec_steps % cfg.train_freq or not self.can_sample():
            return False
        if cfg.lr_decay_steps:  # a function of env steps: a resumed run gets the same values
            self.learner.set_lr(linear_schedule(cfg.lr, cfg.lr_end, cfg.lr_decay_steps, self.env_steps))
        for _ in range(cfg.gradient_steps):
            self.update()
        return True

    def can_sample(self) -> bool:
        """Whether the replay can give a batch once ``learning_starts`` has passed (transition replay: yes)."""
        return True

    def update(self) -> None:
        """One gradient step on a sampled batch (ending in :meth:`apply_update`)."""
        raise NotImplementedError

    def apply_update(self, loss: torch.Tensor, priority: torch.Tensor, batch: Any) -> None:
        """The update's tail, once the gradients are set: clip, finite check, optimiser step, target
        update on schedule, priorities to the replay, ``zoo_after_update``.

        :param loss: the reduced loss (no graph).
        :param priority: ``[B]`` per-sample priorities (|TD error|, or the value distribution's).
        :param batch: what was sampled (``batch.indices`` addresses the replay's priorities).
        """
        cfg = self.cfg
        norm = self.learner.clip(cfg.max_grad_norm)
        parts.check_finite(float(loss), norm, self.env_steps, self.updates + 1)
        self.learner.step()
        self.updates += 1
        if self.updates % cfg.target_update_interval == 0:
            polyak_update(self.target, self.network, cfg.tau)
        if self.replay.prioritized or self._after:
            priority_np = to_host(priority)
        if self.replay.prioritized:
            self.replay.update_priorities(batch.indices, priority_np)
        if self._after:
            info = {"td_error": priority_np, "loss": loss, "update": self.updates}
            self.pm.hook.zoo_after_update(agent=self, batch=batch, info=info)
        self.last_loss = loss  # a tensor: read (and synchronised) only when logged

    def metrics(self) -> dict[str, float]:
        """Scalars for the logs."""
        return {
            "updates": float(self.updates),
            "loss": float(self.last_loss),
            "epsilon": float(self.exploration.epsilon(self.env_steps)),
            **self.aux.metrics(),
        }

    # --- state ----------------------------------------------------------------------------------

    def train_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Everything else an exact resume needs: target, optimiser, replay, roles, RNGs (tensors, JSON)."""
        tensors: dict[str, torch.Tensor] = {
            f"target.{k}": v.detach().to("cpu", copy=True) for k, v in self.target.state_dict().items()
        }
        optim_tensors, optim_meta = optimizer_state(self.optimizer)
        tensors.update(optim_tensors)
        replay_arrays, replay_meta = self.replay.state_dict()
        for name, array in replay_arrays.items():
            tensors[f"replay.{name}"] = torch.from_numpy(np.ascontiguousarray(array))
        rng_tensors, rng_meta = parts.rng_state(self.rng)
        tensors.update(rng_tensors)
        aux_tensors, aux_meta = self.aux.state_dict()
        tensors.update({f"aux.{k}": v for k, v in aux_tensors.items()})
        meta = {
            "env_steps": self.env_steps,
            "vec_steps": self.vec_steps,
            "updates": self.updates,
            "optimizer": optim_meta,
            "replay": replay_meta,
            "value": self.value.state_dict(),
            "exploration": self.exploration.state_dict(),
            "rng": rng_meta,
            "aux": aux_meta,
        }
        return tensors, meta

    def load_train_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        """Restore what :meth:`train_state` saved."""
        target = parts.with_prefix(tensors, "target.")
        self.target.load_state_dict(target)
        load_optimizer_state(self.optimizer, tensors, meta["optimizer"])
        arrays = {k: v.numpy() for k, v in parts.with_prefix(tensors, "replay.").items()}
        self.replay.load_state_dict(arrays, meta["replay"])
        self.value.load_state_dict(meta.get("value", {}))
        self.exploration.load_state_dict(meta.get("exploration", {}))
        parts.load_rng_state(self.rng, tensors, meta["rng"])
        if "aux" in meta:
            self.aux.load_state_dict(parts.with_prefix(tensors, "aux."), meta["aux"])
        self.env_steps, self.vec_steps, self.updates = meta["env_steps"], meta["vec_steps"], meta["updates"]


class DQNAgent(DQNFamilyAgent):
    """A DQN agent: the family's parts and a transition replay (uniform, or a plugin's)."""

    def __init__(self, ctx: BuildContext):
        super().__init__(ctx)
        cfg: DQNConfig = self.cfg
        capacity = cfg.buffer_size - cfg.buffer_size % ctx.num_envs
        self.replay = resolve_role(
            ctx.pm, "zoo_make_replay", "replay buffer", config=ctx.config, capacity=capacity,
            obs_shape=ctx.obs_shape, obs_dtype=ctx.obs_dtype, num_envs=ctx.num_envs, frame_stack=ctx.frame_stack,
            n_step=cfg.n_step, gamma=cfg.gamma,
        )
        if self.replay is None:  # `is None`, not `or`: an empty replay buffer is falsy
            self.replay = UniformReplay(
                capacity, ctx.obs_shape, ctx.obs_dtype, num_envs=ctx.num_envs, n_step=cfg.n_step,
                gamma=cfg.gamma, frame_stack=ctx.frame_stack,
            )

    # --- acting ---------------------------------------------------------------------------------

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """Greedy action values ``[N, A]`` for observations ``[N, *obs_shape]``."""
        return to_host(self.learner.q_values(self.value, to_device(obs, self.device)))

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

    def greedy_module(self) -> torch.nn.Module:
        """What ``zoo export`` traces to ``agent.pt``: the network, its Q-values, their argmax."""
        return GreedyQ(self.network, self.value)

    # --- learning -------------------------------------------------------------------------------

    def observe(self, obs_tm1: np.ndarray, a_tm1: np.ndarray, step: Any) -> None:
        """Store one vector-env step (a :class:`zoo_core.envs.VecStep`) in replay."""
        self.replay.add(obs_tm1, a_tm1, step.reward, step.terminated, step.truncated, step.next_obs)
        if self.aux.chunker is not None:
            self.aux.record_step(obs_tm1, a_tm1, step.reward, step.terminated | step.truncated, step.obs)
        self.vec_steps += 1
        self.env_steps += self.num_envs

    def update(self) -> None:
        """One gradient step on a sampled batch; target update on schedule."""
        cfg = self.cfg
        batch = self.replay.sample(cfg.batch_size, self.rng)
        tensors = TensorBatch.of(batch, self.replay.prioritized, self.device)
        # Auxiliary losses need the network's graph: only the autograd path has one.
        fused = None if self.aux.active else self.learner.fused_grads(
            self.value, tensors, cfg.double_q, cfg.loss_reduction
        )
        loss, priority = fused if fused is not None else self._autograd_grads(batch, tensors)
        self.apply_update(loss, priority, batch)

    def _autograd_grads(self, batch: Any, tensors: TensorBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Set the gradients through modules and autograd; ``(loss, priority)``."""
        cfg = self.cfg
        obs_tm1, a_tm1, r_t, discount_t, obs_t, weights = tensors
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
        if self.aux.active:
            outputs = {"out_tm1": out_tm1, "q_tm1": self.value.q_values(out_tm1), "loss": loss_b}
            extra = self.aux.losses(self, self.network, transitions(tensors), outputs, self.device, self.env_steps)
            if extra is not None:
                loss = loss + extra
        self.learner.zero_grad()
        loss.backward()
        return loss.detach(), priority


def transitions(tensors: TensorBatch) -> Sequences:
    """A batch of transitions as sequences of one step (what ``zoo_aux_losses`` sees of a DQN update)."""
    obs_tm1, a_tm1, r_t, discount_t, obs_t, _ = tensors
    zeros = torch.zeros(2, len(a_tm1), device=obs_tm1.device)
    return Sequences(obs=torch.stack([obs_tm1, obs_t]), first=zeros, a_tm1=a_tm1[None], r_t=r_t[None],
                     discount_t=discount_t[None], state=(), task=torch.zeros_like(a_tm1))


class GreedyQ(torch.nn.Module):
    """Observations ``[N, *obs_shape]`` -> greedy actions ``[N]``: what :meth:`DQNAgent.act` computes."""

    def __init__(self, network: torch.nn.Module, value: Any):
        super().__init__()
        self.network, self._value = network, value

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self._value.q_values(self.network(obs)).argmax(dim=-1)


def build_dqn(ctx: BuildContext) -> DQNAgent:
    """The ``dqn`` algorithm's builder."""
    return DQNAgent(ctx)
