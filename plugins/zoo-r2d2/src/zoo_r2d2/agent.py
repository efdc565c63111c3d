"""R2D2 (Kapturowski et al. 2019): a recurrent DQN learning from stored sequences with burn-in.

The DQN family's agent with an LSTM or GRU core: the actor carries one recurrent state per env
across steps, zeroed where an episode starts; replay stores fixed-length, overlapping sequences
with the actor's state at their start; the learner burns the state in over each sequence's first
steps, then learns n-step double-Q targets on the rest. Roles (value distribution, exploration)
and network edits come from plugins as for DQN, so ``r2d2+dueling`` composes.

Interface as :class:`zoo_core.agents.dqn.DQNAgent`'s (what the trainer and the step loop call),
with ``act`` a :class:`zoo_core.learning.policies.RecurrentPolicy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from zoo_core.api import (
    BuildContext,
    DQNFamilyAgent,
    DQNFamilyConfig,
    PluginError,
    RecurrentPolicy,
    ZooError,
    param,
    to_device,
    to_host,
)
from zoo_r2d2.learning import burn_in_unroll, gather_time, n_step_bootstrap, sequence_priority
from zoo_r2d2.sequence_replay import SequenceBatch, SequenceReplay

NAME = "r2d2"
State = tuple[torch.Tensor, ...]


@dataclass(frozen=True)
class R2D2Config(DQNFamilyConfig):
    """R2D2 hyperparameters: the DQN family's (replay counted in sequences; the recipe sets R2D2's own
    defaults) and the sequence, burn-in and recurrent-core settings."""

    section: ClassVar[str] = NAME

    burn_in: int = param(10, "Timesteps at a sequence's start that only refresh its stored state (no gradient).", ge=0)
    learn_length: int = param(
        20, "Timesteps after the burn-in that are learned on (the last one only bootstraps the ones before it).",
        ge=2,
    )
    overlap: int = param(10, "Timesteps a sequence shares with the next one from the same env.", ge=0)
    recurrent: Literal["lstm", "gru"] = param("lstm", "Recurrent core: lstm or gru.")
    recurrent_size: int = param(128, "Units of the recurrent core.", ge=1)
    priority_eta: float = param(
        0.9, "Sequence priority η·max|δ| + (1-η)·mean|δ| reported to zoo_after_update.", ge=0, le=1
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.overlap < self.burn_in + self.learn_length:
            raise ZooError(f"{NAME}.overlap must be < burn_in + learn_length; got {self.overlap}")


class R2D2Agent(DQNFamilyAgent):
    """A recurrent DQN-family agent: the family's networks, roles and update tail, sequence replay and
    per-env recurrent state.

    ``act`` is the public, greedy policy with memory; the training loop uses :meth:`explore`,
    :meth:`observe` and :meth:`maybe_update`.
    """

    section = NAME
    recurrent = True

    def __init__(self, ctx: BuildContext):
        # Transition replay (per) and per-transition auxiliary losses are written for DQN's
        # feed-forward batches; letting them run here would silently do something else.
        for hook in ("zoo_make_replay", "zoo_aux_losses"):
            owners = sorted({impl.plugin_name for impl in getattr(ctx.pm.hook, hook).get_hookimpls()})
            if owners:
                raise PluginError(
                    f"plugin {', '.join(map(repr, owners))} implements {hook}, which the {NAME} agent does not "
                    "support (it learns from stored sequences); leave it out of the recipe"
                )
        cfg: R2D2Config = ctx.config[NAME]
        super().__init__(ctx, recurrent=cfg.recurrent, recurrent_size=cfg.recurrent_size)
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
        self.act = RecurrentPolicy(self._greedy_step, self.network.core.initial_state, self.spec.obs_shape,
                                   self.device)

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
        first = to_device(self._first, self.device)
        keep = (~first).unsqueeze(-1).float()
        with torch.inference_mode():
            # Zeroed here as the network would, so replay stores the state actually used.
            state_tm1 = tuple(s * keep for s in self._state)
            q, state = self._step(to_device(obs, self.device), first, state_tm1)
        self._state_tm1, self._state = state_tm1, state
        q_np = to_host(q)
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
        state_tm1 = to_host(torch.stack(self._state_tm1))  # [K, E, H]
        state_t = to_host(torch.stack(self._state))
        ended = np.asarray(step.terminated) | np.asarray(step.truncated)
        for e in range(self.num_envs):
            self.replay.append(e, obs_tm1[e], bool(self._first[e]), False, int(a_tm1[e]), float(step.reward[e]),
                               bool(step.terminated[e]), state_tm1[:, e])
            if ended[e]:
                self.replay.append(e, step.next_obs[e], False, True, 0, 0.0, False, state_t[:, e])
        self._first = ended.copy()
        self.vec_steps += 1
        self.env_steps += self.num_envs

    def can_sample(self) -> bool:
        """A batch needs ``batch_size`` complete sequences."""
        return len(self.replay) >= self.cfg.batch_size

    def loss(self, batch: SequenceBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """The mean TD loss over a batch's learned transitions, and its per-sequence priorities ``[B]``."""
        cfg = self.cfg
        b = cfg.burn_in

        def dev(array: np.ndarray) -> torch.Tensor:
            return to_device(array, self.device)

        obs = dev(batch.obs)  # [L, B, *obs_shape]
        first = dev(batch.first)
        state = tuple(dev(s) for s in batch.state)
        out = burn_in_unroll(self.network, obs, first, state, b)  # [M, B, A, atoms], M = learn_length
        with torch.no_grad():
            out_target = self.target(obs, first, state)[0][b:]  # burned in over the same steps
        # Transitions from the learned timesteps b .. L-2 to their successors.
        a_tm1 = dev(batch.action[b:-1])  # [M-1, B]
        r_t = dev(batch.reward[b:-1])
        discount_t = torch.where(dev(batch.terminated[b:-1]), 0.0, cfg.gamma).to(r_t.dtype)
        stop_t = dev(batch.last[b + 1 :])
        g_t, d_t, index = n_step_bootstrap(r_t, discount_t, stop_t, cfg.n_step)
        out_t = gather_time(out_target, index)
        out_t_selector = gather_time(out.detach(), index) if cfg.double_q else None
        # No action was taken on a final observation: those rows are no transitions.
        mask = (~dev(batch.last[b:-1])).to(r_t.dtype)
        steps, size = a_tm1.shape
        loss_tb, priority = self.value.loss(
            out[:-1].flatten(0, 1), a_tm1.flatten(), g_t.flatten(), d_t.flatten(), out_t.flatten(0, 1),
            None if out_t_selector is None else out_t_selector.flatten(0, 1),
        )
        loss = (loss_tb.view(steps, size) * mask).sum() / mask.sum().clamp(min=1.0)
        return loss, sequence_priority(priority.view(steps, size), mask, cfg.priority_eta)

    def update(self) -> None:
        """One gradient step on a sampled batch of sequences; the family's tail does the rest."""
        batch = self.replay.sample(self.cfg.batch_size, self.rng)
        loss, priority = self.loss(batch)
        self.learner.zero_grad()
        loss.backward()
        self.apply_update(loss.detach(), priority, batch)

    def metrics(self) -> dict[str, float]:
        """Scalars for the logs: the family's and the replay's fill."""
        return {**super().metrics(), "replay_sequences": float(len(self.replay))}

    # --- state ----------------------------------------------------------------------------------

    def train_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The family's state and the actors' recurrent states."""
        tensors, meta = super().train_state()
        tensors.update({f"actor.state.{i}": s.to("cpu", copy=True) for i, s in enumerate(self._state)})
        meta["actor_first"] = [bool(f) for f in self._first]
        return tensors, meta

    def load_train_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        """Restore what :meth:`train_state` saved."""
        super().load_train_state(tensors, meta)
        self._state = tuple(tensors[f"actor.state.{i}"].to(self.device, copy=True) for i in range(len(self._state)))
        self._state_tm1 = self._state  # rewritten by the next explore before anything reads it
        self._first = np.array(meta["actor_first"], dtype=bool)


def build_r2d2(ctx: BuildContext) -> R2D2Agent:
    """The ``r2d2`` algorithm's builder."""
    return R2D2Agent(ctx)
