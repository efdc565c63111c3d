"""R2D2 (Kapturowski et al. 2019): a recurrent DQN learning from stored sequences with burn-in.

The DQN family's agent with an LSTM or GRU core: the actor carries one recurrent state per env
across steps, zeroed where an episode starts; replay stores fixed-length, overlapping sequences
with the actor's state at their start; the learner burns the state in over each sequence's first
steps, then learns n-step double-Q targets on the rest. Roles (value distribution, exploration)
and network edits come from plugins as for DQN, so ``r2d2+dueling`` composes.

Interface as :class:`zoo_core.agents.dqn.DQNAgent`'s (what the trainer and the step loop call),
with ``act`` a :class:`zoo_core.policies.RecurrentPolicy`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from zoo_core.agents.dqn import BuildContext
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
from zoo_core.config import param
from zoo_core.errors import PluginError, ZooError
from zoo_core.networks import build_network
from zoo_core.optim import FastAdam, clip_grad_norm, load_optimizer_state, optimizer_state
from zoo_core.plugins import has_impls
from zoo_core.policies import RecurrentPolicy
from zoo_core.value_learning import polyak_update
from zoo_r2d2.learning import burn_in_unroll, gather_time, n_step_bootstrap, sequence_priority
from zoo_r2d2.sequence_replay import SequenceBatch, SequenceReplay

NAME = "r2d2"
State = tuple[torch.Tensor, ...]


@dataclass(frozen=True)
class R2D2Config:
    """R2D2 hyperparameters. Steps are env steps summed over parallel envs; replay holds sequences."""

    lr: float = param(1e-3, "Adam learning rate (the paper's 1e-4 on Atari).")
    adam_eps: float = param(1e-8, "Adam epsilon (the paper's 1e-3 on Atari).")
    batch_size: int = param(32, "Sequences per learner update.")
    burn_in: int = param(10, "Timesteps at a sequence's start that only refresh its stored state (no gradient).")
    learn_length: int = param(
        20, "Timesteps after the burn-in that are learned on (the last one only bootstraps the ones before it)."
    )
    overlap: int = param(10, "Timesteps a sequence shares with the next one from the same env.")
    buffer_size: int = param(5_000, "Replay capacity in sequences (of burn_in + learn_length timesteps each).")
    gamma: float = param(0.99, "Discount factor.")
    n_step: int = param(3, "Steps in the bootstrapped return (cut at the sequence's and the episode's end).")
    double_q: bool = param(True, "Double Q-learning: the online net selects, the target net evaluates.")
    target_update_interval: int = param(500, "Learner updates between copies of the online net to the target.")
    learning_starts: int = param(2_000, "Env steps collected before the first update.")
    train_freq: int = param(4, "Vector-env steps between learner updates.")
    gradient_steps: int = param(1, "Learner updates each time it trains.")
    huber_delta: float = param(1.0, "Huber loss threshold (scalar values).")
    max_grad_norm: float = param(10.0, "Gradient norm clip (0 disables).")
    eps_start: float = param(1.0, "Initial exploration ε.")
    eps_end: float = param(0.05, "Final exploration ε.")
    eps_decay_steps: int = param(10_000, "Env steps over which ε anneals linearly.")
    torso: str = param("auto", "Registered torso (mlp, nature_cnn, minatar_cnn) or auto by obs shape.")
    hidden: tuple[int, ...] = param((128,), "Hidden sizes of the mlp torso (before the recurrent core).")
    recurrent: Literal["lstm", "gru"] = param("lstm", "Recurrent core: lstm or gru.")
    recurrent_size: int = param(128, "Units of the recurrent core.")
    priority_eta: float = param(0.9, "Sequence priority η·max|δ| + (1-η)·mean|δ| reported to zoo_after_update.")

    def __post_init__(self) -> None:
        if self.burn_in < 0 or self.learn_length < 2:
            raise ZooError(f"{NAME}: need burn_in >= 0 and learn_length >= 2; got {self.burn_in}, {self.learn_length}")
        if not 0 <= self.overlap < self.burn_in + self.learn_length:
            raise ZooError(f"{NAME}.overlap must be in [0, burn_in + learn_length); got {self.overlap}")
        for name in ("batch_size", "buffer_size", "n_step", "target_update_interval", "train_freq", "gradient_steps"):
            if getattr(self, name) < 1:
                raise ZooError(f"{NAME}.{name} must be at least 1; got {getattr(self, name)}")


class R2D2Agent(NetworkWeights):
    """A recurrent DQN-family agent: online and target networks, sequence replay, per-env state.

    ``act`` is the public, greedy policy with memory; the training loop uses :meth:`explore`,
    :meth:`observe` and :meth:`maybe_update`.
    """

    def __init__(self, ctx: BuildContext):
        cfg: R2D2Config = ctx.config[NAME]
        self.cfg, self.config, self.pm = cfg, ctx.config, ctx.pm
        self.num_actions, self.num_envs = ctx.num_actions, ctx.num_envs
        self.rng = seeded_rng(ctx.seed)
        # Transition replay (per) and per-transition auxiliary losses are written for DQN's
        # feed-forward batches; letting them run here would silently do something else.
        for hook in ("zoo_make_replay", "zoo_aux_losses"):
            owners = sorted({impl.plugin_name for impl in getattr(ctx.pm.hook, hook).get_hookimpls()})
            if owners:
                raise PluginError(
                    f"plugin {', '.join(map(repr, owners))} implements {hook}, which the {NAME} agent does not "
                    "support (it learns from stored sequences); leave it out of the recipe"
                )

        self.value = value_role(ctx, cfg.huber_delta)
        self.exploration = exploration_role(ctx, cfg.eps_start, cfg.eps_end, cfg.eps_decay_steps)
        self.spec = ctx.spec or network_spec(
            ctx, cfg.torso, cfg.hidden, self.value.num_atoms, recurrent=cfg.recurrent,
            recurrent_size=cfg.recurrent_size,
        )
        self.network = build_network(self.spec, ctx.modules)
        if not self.network.recurrent:
            raise ZooError(
                f"the {NAME} agent needs a recurrent network; its spec has recurrent={self.spec.recurrent!r}"
            )
        self.target = copy.deepcopy(self.network).requires_grad_(False)
        self.params = list(self.network.parameters())
        self.optimizer = FastAdam(self.params, lr=cfg.lr, eps=cfg.adam_eps)

        zero = self.network.core.initial_state(1)
        self.replay = SequenceReplay(
            cfg.buffer_size, cfg.burn_in + cfg.learn_length, cfg.overlap, ctx.obs_shape, ctx.obs_dtype,
            ctx.num_envs, state_shape=(len(zero), zero[0].shape[-1]),
        )
        # The actor's recurrent state per env (carried across steps and unrolls), the state it had
        # before the observation it last acted on (stored in replay), and which envs' next
        # observation begins an episode.
        self._state: State = self.network.core.initial_state(ctx.num_envs)
        self._state_tm1: State = self._state
        self._first = np.ones(ctx.num_envs, dtype=bool)
        self.act = RecurrentPolicy(self._greedy_step, self.network.core.initial_state, self.spec.obs_shape)
        self.env_steps = 0
        self.vec_steps = 0
        self.updates = 0
        self.last_loss: Any = float("nan")
        self._after = has_impls(ctx.pm, "zoo_after_update")

    # --- acting ---------------------------------------------------------------------------------

    def _step(self, obs: torch.Tensor, first: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One step of the online network for N streams: ``(q [N, A], state)``."""
        out, state = self.network(obs.unsqueeze(0), first.unsqueeze(0), state)
        return self.value.q_values(out[0]), state

    def _greedy_step(self, obs: torch.Tensor, first: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """:class:`RecurrentPolicy`'s step: greedy actions ``[N]`` in evaluation mode (NoisyNet on its means)."""
        self.network.eval()
        try:
            q, state = self._step(obs, first, state)
        finally:
            self.network.train()
        return q.argmax(dim=-1), state

    def explore(self, obs: np.ndarray) -> np.ndarray:
        """Behaviour actions ``[E]`` for the training envs' observations ``[E, *obs_shape]``.

        The network runs on every step, exploring or not: its state must read every observation.
        """
        first = torch.from_numpy(self._first)
        keep = (~first).unsqueeze(-1).float()
        with torch.inference_mode():
            # Zeroed here as the network would, so replay stores the state actually used.
            state_tm1 = tuple(s * keep for s in self._state)
            q, state = self._step(torch.as_tensor(obs), first, state_tm1)
        self._state_tm1, self._state = state_tm1, state
        q_np = q.numpy()
        return self.exploration.actions(lambda: q_np, self.env_steps, self.rng, len(obs))

    def greedy_module(self) -> None:
        """What ``zoo export`` traces to a stateless ``agent.pt``: nothing, this policy has memory."""
        return None

    # --- learning -------------------------------------------------------------------------------

    def observe(self, obs_tm1: np.ndarray, a_tm1: np.ndarray, step: Any) -> None:
        """Store one vector-env step (a :class:`zoo_core.envs.VecStep`) in each env's stream.

        An episode's final observation becomes a timestep of its own (``last``), so the learner's
        core reads it and a truncated episode bootstraps from it.
        """
        state_tm1 = torch.stack(self._state_tm1).numpy()  # [K, E, H]
        state_t = torch.stack(self._state).numpy()
        ended = np.asarray(step.terminated) | np.asarray(step.truncated)
        for e in range(self.num_envs):
            self.replay.append(e, obs_tm1[e], bool(self._first[e]), False, int(a_tm1[e]), float(step.reward[e]),
                               bool(step.terminated[e]), state_tm1[:, e])
            if ended[e]:
                self.replay.append(e, step.next_obs[e], False, True, 0, 0.0, False, state_t[:, e])
        self._first = ended.copy()
        self.vec_steps += 1
        self.env_steps += self.num_envs

    def maybe_update(self) -> bool:
        """Run the learner if the schedule says so; return whether it did."""
        cfg = self.cfg
        if self.env_steps < cfg.learning_starts or self.vec_steps % cfg.train_freq or len(self.replay) < cfg.batch_size:
            return False
        for _ in range(cfg.gradient_steps):
            self.update()
        return True

    def loss(self, batch: SequenceBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """The mean TD loss over a batch's learned transitions, and its per-sequence priorities ``[B]``."""
        cfg = self.cfg
        b = cfg.burn_in
        obs = torch.from_numpy(batch.obs)  # [L, B, *obs_shape]
        first = torch.from_numpy(batch.first)
        state = tuple(torch.from_numpy(s) for s in batch.state)
        out = burn_in_unroll(self.network, obs, first, state, b)  # [M, B, A, atoms], M = learn_length
        with torch.no_grad():
            out_target = self.target(obs, first, state)[0][b:]  # burned in over the same steps
        # Transitions from the learned timesteps b .. L-2 to their successors.
        a_tm1 = torch.from_numpy(batch.action[b:-1])  # [M-1, B]
        r_t = torch.from_numpy(batch.reward[b:-1])
        discount_t = torch.where(torch.from_numpy(batch.terminated[b:-1]), 0.0, cfg.gamma).to(r_t.dtype)
        stop_t = torch.from_numpy(batch.last[b + 1 :])
        g_t, d_t, index = n_step_bootstrap(r_t, discount_t, stop_t, cfg.n_step)
        out_t = gather_time(out_target, index)
        out_t_selector = gather_time(out.detach(), index) if cfg.double_q else None
        # No action was taken on a final observation: those rows are no transitions.
        mask = (~torch.from_numpy(batch.last[b:-1])).to(r_t.dtype)
        steps, size = a_tm1.shape
        loss_tb, priority = self.value.loss(
            out[:-1].flatten(0, 1), a_tm1.flatten(), g_t.flatten(), d_t.flatten(), out_t.flatten(0, 1),
            None if out_t_selector is None else out_t_selector.flatten(0, 1),
        )
        loss = (loss_tb.view(steps, size) * mask).sum() / mask.sum().clamp(min=1.0)
        return loss, sequence_priority(priority.view(steps, size), mask, cfg.priority_eta)

    def update(self) -> None:
        """One gradient step on a sampled batch of sequences; target copy on schedule."""
        cfg = self.cfg
        batch = self.replay.sample(cfg.batch_size, self.rng)
        loss, priority = self.loss(batch)
        self.optimizer.zero_grad()
        loss.backward()
        loss = loss.detach()
        norm = float(clip_grad_norm(self.params, cfg.max_grad_norm)) if cfg.max_grad_norm > 0 else 0.0
        check_finite(float(loss), norm, self.env_steps, self.updates + 1)
        self.optimizer.step()
        self.updates += 1
        if self.updates % cfg.target_update_interval == 0:
            polyak_update(self.target, self.network, 1.0)
        if self._after:
            info = {"td_error": priority.numpy(), "loss": loss, "update": self.updates}
            self.pm.hook.zoo_after_update(agent=self, batch=batch, info=info)
        self.last_loss = loss  # a tensor: read only when logged

    def metrics(self) -> dict[str, float]:
        """Scalars for the logs."""
        return {
            "updates": float(self.updates),
            "loss": float(self.last_loss),
            "epsilon": float(getattr(self.exploration, "epsilon", lambda s: 0.0)(self.env_steps)),
            "replay_sequences": float(len(self.replay)),
        }

    # --- state ----------------------------------------------------------------------------------

    def train_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Everything else an exact resume needs: target, optimiser, replay, actor states, RNGs."""
        tensors = {f"target.{k}": v.detach().clone() for k, v in self.target.state_dict().items()}
        optim_tensors, optim_meta = optimizer_state(self.optimizer)
        tensors.update(optim_tensors)
        replay_arrays, replay_meta = self.replay.state_dict()
        tensors.update({f"replay.{k}": torch.from_numpy(np.ascontiguousarray(a)) for k, a in replay_arrays.items()})
        tensors.update({f"actor.state.{i}": s.clone() for i, s in enumerate(self._state)})
        rng_tensors, rng_meta = rng_state(self.rng)
        tensors.update(rng_tensors)
        meta = {
            "env_steps": self.env_steps,
            "vec_steps": self.vec_steps,
            "updates": self.updates,
            "optimizer": optim_meta,
            "replay": replay_meta,
            "actor_first": [bool(f) for f in self._first],
            "value": self.value.state_dict() if hasattr(self.value, "state_dict") else {},
            "exploration": self.exploration.state_dict() if hasattr(self.exploration, "state_dict") else {},
            "rng": rng_meta,
        }
        return tensors, meta

    def load_train_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        """Restore what :meth:`train_state` saved."""
        self.target.load_state_dict({k[len("target."):]: v for k, v in tensors.items() if k.startswith("target.")})
        load_optimizer_state(self.optimizer, tensors, meta["optimizer"])
        arrays = {k[len("replay."):]: v.numpy() for k, v in tensors.items() if k.startswith("replay.")}
        self.replay.load_state_dict(arrays, meta["replay"])
        self._state = tuple(tensors[f"actor.state.{i}"].clone() for i in range(len(self._state)))
        self._state_tm1 = self._state  # rewritten by the next explore before anything reads it
        self._first = np.array(meta["actor_first"], dtype=bool)
        if hasattr(self.value, "load_state_dict"):
            self.value.load_state_dict(meta.get("value", {}))
        if hasattr(self.exploration, "load_state_dict"):
            self.exploration.load_state_dict(meta.get("exploration", {}))
        load_rng_state(self.rng, tensors, meta["rng"])
        self.env_steps, self.vec_steps, self.updates = meta["env_steps"], meta["vec_steps"], meta["updates"]


def build_r2d2(ctx: BuildContext) -> R2D2Agent:
    """The ``r2d2`` algorithm's builder."""
    return R2D2Agent(ctx)
