"""The IMPALA learner: an actor-critic network trained on batches of actors' unrolls with V-trace.

The agent holds the parameters, the optimiser and the greedy policy (``act``); the actors, their
processes and the order in which unrolls are consumed live in :mod:`zoo_impala.loop`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from zoo_core.api import (
    AuxTasks,
    BuildContext,
    NetworkWeights,
    check_finite,
    clip_grad_norm,
    load_optimizer_state,
    optimizer_state,
    to_host,
    with_prefix,
)
from zoo_impala.acting import GreedyActing, actor_critic_spec
from zoo_impala.config import ImpalaConfig
from zoo_impala.losses import ImpalaLoss, impala_loss
from zoo_impala.network import ActorCriticNet, pick_task
from zoo_impala.unroll import Batch, Unroll, clip_rewards, sequences, stack

METRICS = ("loss", "policy_loss", "baseline_loss", "entropy", "grad_norm")


class ImpalaAgent(GreedyActing, NetworkWeights):
    """The learner side of IMPALA. ``act(obs)`` is the greedy policy (argmax of the logits)."""

    def __init__(self, ctx: BuildContext):
        cfg: ImpalaConfig = ctx.config["impala"]
        self.cfg, self.config, self.pm = cfg, ctx.config, ctx.pm
        self.num_actions = ctx.num_actions
        torch.manual_seed(ctx.seed)
        self.spec = ctx.spec or actor_critic_spec(ctx, cfg, max(1, len(cfg.tasks)), cfg.normalize_obs)
        # Initialised on the CPU, then moved: the same initial weights on every device.
        self.device = ctx.device
        self.network = ActorCriticNet(self.spec, ctx.modules).to(self.device)
        self.params = list(self.network.parameters())
        if cfg.optimizer == "rmsprop":
            self.optimizer: torch.optim.Optimizer = torch.optim.RMSprop(
                self.params, lr=cfg.lr, alpha=cfg.rmsprop_alpha, eps=cfg.optim_eps
            )
        else:
            self.optimizer = torch.optim.Adam(self.params, lr=cfg.lr, eps=cfg.optim_eps)
        self.env_steps = 0
        self.updates = 0
        self.last: dict[str, float] = {}
        self._params_cache: tuple[int, dict[str, np.ndarray]] | None = None
        columns = cfg.batch_size * cfg.envs_per_actor
        self.aux = AuxTasks(ctx.pm, ctx.config, ctx.seed, cfg.gamma, cfg.unroll_length, columns)
        self._init_acting()

    def parameters_for_actors(self) -> dict[str, np.ndarray]:
        """The current parameters and buffers as numpy arrays in host memory, whatever the learner's
        device (actors act on the CPU); computed once per update."""
        if self._params_cache is None or self._params_cache[0] != self.updates:
            arrays = {k: to_host(v).copy() for k, v in self.network.state_dict().items()}
            self._params_cache = (self.updates, arrays)
        return self._params_cache[1]

    # --- learning -------------------------------------------------------------------------------

    def loss(self, batch: Batch) -> tuple[ImpalaLoss, dict[str, torch.Tensor]]:
        """The V-trace actor-critic loss of a batch on the learner's device (the total, its parts and
        the ``vs`` targets), and the forward pass's outputs by name: ``torso`` and ``core`` features
        ``[T+1, B, F]``, ``logits [T+1, B, A]`` and the true-scale value ``v [T+1, B]``."""
        cfg = self.cfg
        features = self.network.aux_features(batch.obs, batch.first, batch.state)
        logits, v_norm, v = self.network.heads(features.core)
        task = batch.task
        value_head = self.network.value
        r_t = clip_rewards(batch.r_t, cfg.reward_clip)
        num_tasks = v.shape[-1]

        def normalize(x: torch.Tensor) -> torch.Tensor:
            return pick_task(value_head.normalize(x.unsqueeze(-1).expand(*x.shape, num_tasks)), task)

        v_true = pick_task(v, task)
        loss = impala_loss(
            logits[:-1], v_true[:-1], v_true[-1], batch.mu_logits, batch.a_tm1, r_t, batch.discount_t,
            baseline_cost=cfg.baseline_cost, entropy_cost=cfg.entropy_cost, lambda_=cfg.lambda_,
            clip_rho_threshold=cfg.clip_rho_threshold, clip_pg_rho_threshold=cfg.clip_pg_rho_threshold,
            v_norm_tm1=pick_task(v_norm, task)[:-1], normalize=normalize,
        )
        return loss, {"torso": features.torso, "core": features.core, "logits": logits, "v": v_true}

    def learn(self, unrolls: list[Unroll]) -> None:
        """One update on a batch of unrolls (stacked in host memory, learned on the device)."""
        cfg = self.cfg
        seq = sequences(unrolls)
        batch: Batch = stack(unrolls, self.device, seq)
        loss, outputs = self.loss(batch)
        total_loss = loss.total
        if self.aux.active:  # auxiliary tasks see the rewards the loss sees
            self.aux.record(dataclasses.replace(seq, r_t=clip_rewards(seq.r_t, cfg.reward_clip)))
            on_device = dataclasses.replace(batch.sequences(), r_t=clip_rewards(batch.r_t, cfg.reward_clip))
            extra = self.aux.losses(self, self.network, on_device, outputs, self.device, self.env_steps)
            if extra is not None:
                total_loss = total_loss + extra
        task, value_head = batch.task, self.network.value
        self.optimizer.zero_grad()
        total_loss.backward()
        # max_norm inf measures without clipping: the logged norm means the same either way.
        norm = float(clip_grad_norm(self.params, cfg.max_grad_norm if cfg.max_grad_norm > 0 else float("inf")))
        total = float(total_loss.detach())
        check_finite(total, norm, self.env_steps, self.updates + 1)
        if cfg.lr_decay_steps > 0:
            for group in self.optimizer.param_groups:
                group["lr"] = cfg.lr * max(0.0, 1.0 - self.env_steps / cfg.lr_decay_steps)
        self.optimizer.step()
        assert loss.vs is not None
        # Statistics after the step: PopArt rescales the head so its true-scale outputs stay put.
        value_head.update_stats(loss.vs.reshape(-1), task.expand(loss.vs.shape[0], -1).reshape(-1))
        self.updates += 1
        self.env_steps += sum(u.frames for u in unrolls)
        self.last = {
            "loss": total, "policy_loss": float(loss.policy), "baseline_loss": float(loss.baseline),
            "entropy": float(loss.entropy) / max(1, batch.a_tm1.numel() // batch.a_tm1.shape[1]),
            "grad_norm": norm,
        }

    # --- state ----------------------------------------------------------------------------------

    def metrics(self) -> dict[str, float]:
        nan = float("nan")
        return {"updates": float(self.updates), **{k: self.last.get(k, nan) for k in METRICS}, **self.aux.metrics()}

    def train_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors, optim_meta = optimizer_state(self.optimizer)
        tensors["rng.torch"] = torch.get_rng_state()
        aux_tensors, aux_meta = self.aux.state_dict()
        tensors.update({f"aux.{k}": v for k, v in aux_tensors.items()})
        meta = {
            "env_steps": self.env_steps, "updates": self.updates, "optimizer": optim_meta, "last": self.last,
            "aux": aux_meta,
        }
        return tensors, meta

    def load_train_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        load_optimizer_state(self.optimizer, tensors, meta["optimizer"])
        torch.set_rng_state(tensors["rng.torch"])
        self.env_steps, self.updates, self.last = meta["env_steps"], meta["updates"], meta.get("last", {})
        if "aux" in meta:
            self.aux.load_state_dict(with_prefix(tensors, "aux."), meta["aux"])


def build_impala(ctx: BuildContext) -> ImpalaAgent:
    """The ``impala`` algorithm's builder."""
    return ImpalaAgent(ctx)
