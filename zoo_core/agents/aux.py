"""Auxiliary tasks on any learner: the seam between an agent and the plugins that add losses to it.

A learner owns one :class:`AuxTasks`. It asks the plugins once, when the agent is built, whether any
wants a replay of recent experience (``zoo_aux_replay``); then, on every update, it records what it
trains on (:meth:`AuxTasks.record`, or :meth:`AuxTasks.record_step` for a step learner) and adds the
plugins' losses (:meth:`AuxTasks.losses`) before its backward pass. The core names no task: pixel
control, reward prediction and value replay are plugins (zoo-unreal).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pluggy
import torch

from zoo_core.agents.parts import with_prefix
from zoo_core.host.roles import call_each
from zoo_core.learning.aux_inputs import AuxInputs
from zoo_core.learning.aux_replay import SequenceChunker, SequenceReplay, Sequences


def aux_plugins(pm: pluggy.PluginManager) -> list[str]:
    """The plugins that add auxiliary losses to an agent (``zoo_aux_losses``), sorted."""
    return sorted(impl.plugin_name for impl in pm.hook.zoo_aux_losses.get_hookimpls())


def aux_columns(pm: pluggy.PluginManager) -> tuple[str, ...]:
    """The log columns of an agent's auxiliary losses (none without any): what
    :meth:`AuxTasks.metrics` gives, for a learner whose losses are computed elsewhere (A3C's workers)."""
    names = aux_plugins(pm)
    return ("aux_loss", *(f"aux_{name}" for name in names)) if names else ()


class AuxTasks:
    """An agent's auxiliary tasks: whether there are any, their replay, their losses and their state.

    :param pm: the agent's plugin manager. :param config: its resolved configuration.
    :param seed: seeds the generator the tasks sample with (checkpointed; a worker passes its own).
    :param gamma: the learner's discount.
    :param unroll_length: the learner's sequence length (its unroll), or None for a step learner,
        whose steps a :class:`SequenceChunker` cuts at the requested length.
    :param batch_size: sequences per update (the replay keeps at least this many).
    """

    def __init__(self, pm: pluggy.PluginManager, config: Any, seed: int, gamma: float, unroll_length: int | None,
                 batch_size: int):
        self.pm, self.config, self.gamma = pm, config, gamma
        self.names = aux_plugins(pm)
        self.active = bool(self.names)
        # A stream of its own (the seed and a fixed tag): adding a task leaves the agent's draws alone.
        self.rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0xA0C])))
        requests = [r for _, r in call_each(pm, "zoo_aux_replay", config=config) if r is not None]
        self.replay: SequenceReplay | None = None
        self.chunker: SequenceChunker | None = None
        self.last: dict[str, float] = {}
        if requests:
            length = unroll_length or max(r.length for r in requests)
            frames = max(r.frames for r in requests)
            self.replay = SequenceReplay(max(batch_size, -(-frames // length)), length)
            if unroll_length is None:
                self.chunker = SequenceChunker(length, gamma)

    def record(self, seq: Sequences) -> None:
        """Keep sequences the learner trained on (numpy; nothing without a replay)."""
        if self.replay is not None:
            self.replay.add(seq)

    def record_step(self, obs_tm1: np.ndarray, a_tm1: np.ndarray, r_t: np.ndarray, ended: np.ndarray,
                    obs: np.ndarray) -> None:
        """Keep one step of ``E`` lock-step envs (a step learner; see :meth:`SequenceChunker.add`)."""
        if self.chunker is not None:
            done = self.chunker.add(obs_tm1, a_tm1, r_t, ended, obs)
            if done is not None:
                self.record(done)

    def losses(self, agent: Any, network: torch.nn.Module, batch: Sequences, outputs: dict[str, torch.Tensor],
               device: torch.device, step: int) -> torch.Tensor | None:
        """The sum of every plugin's auxiliary loss (None when none answered); each plugin's is kept
        in :attr:`last` by plugin name (logged as ``aux_<plugin>``)."""
        if not self.active:
            return None
        inputs = AuxInputs(network=network, batch=batch, outputs=outputs, replay=self.replay, rng=self.rng,
                           device=device, gamma=self.gamma, step=step, config=self.config)
        total: torch.Tensor | None = None
        for plugin, loss in call_each(self.pm, "zoo_aux_losses", agent=agent, inputs=inputs):
            if loss is not None:
                self.last[plugin] = float(loss.detach())
                total = loss if total is None else total + loss
        return total

    def metrics(self) -> dict[str, float]:
        """``aux_loss``, the sum at the last update, and each plugin's part as ``aux_<plugin>`` (NaN
        until it first answers: the columns of ``progress.csv`` are fixed by its first row)."""
        if not self.active:
            return {}
        nan = float("nan")
        parts = {f"aux_{name}": self.last.get(name, nan) for name in self.names}
        return {"aux_loss": sum(self.last.values()) if self.last else nan, **parts}

    # --- state ----------------------------------------------------------------------------------

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The replay, the chunker's partial sequence and the sampling generator (tensors, JSON)."""
        tensors: dict[str, torch.Tensor] = {}
        meta: dict[str, Any] = {"rng": self.rng.bit_generator.state, "last": self.last}
        for prefix, part in (("replay", self.replay), ("chunker", self.chunker)):
            if part is not None:
                arrays, part_meta = part.state_dict()
                tensors.update({f"{prefix}.{k}": torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()})
                meta[prefix] = part_meta
        return tensors, meta

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.rng.bit_generator.state = meta["rng"]
        self.last = dict(meta.get("last", {}))
        for prefix, part in (("replay", self.replay), ("chunker", self.chunker)):
            if part is not None and prefix in meta:
                arrays = {k: v.numpy() for k, v in with_prefix(tensors, prefix + ".").items()}
                part.load_state_dict(arrays, meta[prefix])
