"""The A3C agent: the network and optimiser statistics in shared memory, and the greedy policy.

The agent computes no gradients. A3C's workers (:mod:`zoo_impala.a3c_worker`) apply theirs to the
tensors this object holds in shared memory; the loop (:mod:`zoo_impala.a3c`) keeps its counters
(``env_steps``, ``updates``) and last losses up to date. What the trainer asks of an agent —
``act`` for evaluations, ``model_tensors`` and ``train_state`` for checkpoints — reads those
shared tensors, so it sees the workers' latest parameters.
"""

from __future__ import annotations

from typing import Any

import torch

from zoo_core.api import CPU, BuildContext, CheckpointError, NetworkSpec, NetworkWeights, ZooError, aux_columns
from zoo_impala.a3c_config import A3CConfig
from zoo_impala.a3c_optim import SLOTS
from zoo_impala.acting import GreedyActing, actor_critic_spec
from zoo_impala.network import ActorCriticNet

METRICS = ("loss", "policy_loss", "baseline_loss", "entropy", "grad_norm")
"""The last applied gradient's loss parts (``entropy`` per step), as workers report them."""


def make_a3c_spec(ctx: BuildContext, cfg: A3CConfig) -> NetworkSpec:
    """The actor-critic network A3C trains, after plugins' ``zoo_network_spec`` edits.

    :raises ZooError: a plugin replaced the linear value head (PopArt's needs a learner that
        updates its statistics, which A3C's workers do not).
    """
    spec = actor_critic_spec(ctx, cfg)
    if spec.head_args.get("value", "linear") != "linear":
        raise ZooError(
            f"a3c trains the linear value head only; the recipe's '{spec.head_args['value']}' value head "
            "needs the impala learner (use impala+popart)"
        )
    return spec


class A3CAgent(GreedyActing, NetworkWeights):
    """Shared-memory parameters and optimiser statistics; ``act(obs)`` is the greedy policy."""

    def __init__(self, ctx: BuildContext):
        cfg: A3CConfig = ctx.config["a3c"]
        if ctx.config["run"].device == "cuda":
            raise ZooError("a3c runs on the CPU: its Hogwild workers share the parameters in host memory "
                           "(run.device=cuda is for impala; leave a3c on auto or cpu)")
        self.cfg, self.config = cfg, ctx.config
        self.device = CPU  # whatever run.device resolved to: auto means cpu here
        self.num_actions = ctx.num_actions
        torch.manual_seed(ctx.seed)  # the initial weights; what the workers do next is not seeded
        self.spec = ctx.spec or make_a3c_spec(ctx, cfg)
        # share_memory moves each parameter's storage into shared memory in place, so the workers
        # (spawned later, handed these tensors) and this process write and read the same numbers.
        self.network = ActorCriticNet(self.spec, ctx.modules).requires_grad_(False).share_memory()
        self.param_names = [name for name, _ in self.network.named_parameters()]
        params = [p for _, p in self.network.named_parameters()]
        self.slots: dict[str, list[torch.Tensor]] = {
            slot: [torch.zeros_like(p).share_memory_() for p in params] for slot in SLOTS[cfg.optimizer]
        }
        self.env_steps = 0
        self.updates = 0
        self.last: dict[str, float] = {}
        # The workers compute the auxiliary losses; the learner side only names their columns.
        self.aux_columns = aux_columns(ctx.pm)
        self._init_acting()

    # --- what the workers share -----------------------------------------------------------------

    def shared_params(self) -> dict[str, torch.Tensor]:
        """The network's parameters and buffers by name: views of the shared memory (not copies)."""
        return dict(self.network.state_dict())

    # --- state ----------------------------------------------------------------------------------

    def metrics(self) -> dict[str, float]:
        nan = float("nan")
        return {"updates": float(self.updates), **{k: self.last.get(k, nan) for k in (*METRICS, *self.aux_columns)}}

    def train_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The shared optimiser statistics and the counters.

        Workers are not seeded and their envs are not saved: A3C's Hogwild updates land in an
        order the OS scheduler picks, so a resumed run continues from these numbers but does not
        repeat what an uninterrupted run would have done.
        """
        tensors = {
            f"optim.{slot}.{name}": t.detach().clone()
            for slot, ts in self.slots.items() for name, t in zip(self.param_names, ts, strict=True)
        }
        meta = {"env_steps": self.env_steps, "updates": self.updates, "optimizer": self.cfg.optimizer,
                "last": self.last}
        return tensors, meta

    def load_train_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        if meta.get("optimizer") != self.cfg.optimizer:
            raise CheckpointError(
                f"the checkpoint's shared optimiser is {meta.get('optimizer')}; this run's a3c.optimizer is "
                f"{self.cfg.optimizer}"
            )
        for slot, ts in self.slots.items():
            for name, t in zip(self.param_names, ts, strict=True):
                key = f"optim.{slot}.{name}"
                if key not in tensors or tensors[key].shape != t.shape:
                    raise CheckpointError(f"the checkpoint's optimiser state has no {key} of shape {tuple(t.shape)}")
                t.copy_(tensors[key])  # in place: the tensor stays in shared memory
        self.env_steps, self.updates, self.last = int(meta["env_steps"]), int(meta["updates"]), meta.get("last", {})


def build_a3c(ctx: BuildContext) -> A3CAgent:
    """The ``a3c`` algorithm's builder."""
    return A3CAgent(ctx)
