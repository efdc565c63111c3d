"""What auxiliary tasks exchange with a learner: the replay they ask for and the inputs of their losses
(``zoo_aux_replay`` and ``zoo_aux_losses``; the agent side is :mod:`zoo_core.agents.aux`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from zoo_core.learning.aux_replay import SequenceReplay, Sequences


@dataclass(frozen=True)
class AuxReplayRequest:
    """What an auxiliary task asks of the core's replay of recent experience.

    :param frames: env frames to keep (UNREAL: 2,000); the replay holds ``ceil(frames / length)``
        sequences of the learner's length (an actor-critic learner's unroll length), at least one
        batch's worth.
    :param length: steps per sequence for a step learner (the DQN family), which has no unrolls;
        the longest request wins.
    """

    frames: int = 2_000
    length: int = 20


@dataclass
class AuxInputs:
    """What ``zoo_aux_losses`` receives on each update.

    :param network: the learner's network: ``network.aux[name]`` are the auxiliary heads of the spec,
        ``network.aux_features(obs [T, B, ...], first [T, B], state)`` gives
        :class:`zoo_core.learning.networks.AuxFeatures` (torso and core features ``[T, B, F]``),
        and an actor-critic network's ``network.aux_value(core [T, B, H], task [B])`` its state
        value ``[T, B]`` (the policy's baseline, true scale).
    :param batch: what the learner trains on this update, time-major tensors on the learner's
        device: an actor-critic batch of unrolls, or a value-based learner's transitions as
        sequences of one step (``obs [2, B, ...]``; with n-step returns ``obs[1]`` is n steps on).
    :param outputs: the learner's own forward pass on ``batch``, by name (documented by each learner:
        ``"core" [T+1, B, H]`` and ``"v" [T+1, B]`` for IMPALA, ``"q_tm1" [B, A]`` for the DQN family).
    :param replay: the replay of recent sequences (numpy), or None when no plugin asked for one.
    :param rng: the generator auxiliary tasks sample with (checkpointed with the agent).
    :param device: the learner's device; move what is sampled there (``Sequences.to``).
    :param gamma: the learner's discount.
    :param step: env steps of the run so far.
    :param config: the agent's resolved configuration (each plugin's section by name).

    :meth:`replayed` draws sequences from the replay and runs the network over them once per update
    and batch size: tasks that ask for the same number of sequences (UNREAL's pixel control and value
    replay) share one sample and one forward pass instead of paying for two.
    """

    network: torch.nn.Module
    batch: Sequences
    outputs: dict[str, torch.Tensor]
    replay: SequenceReplay | None
    rng: np.random.Generator
    device: torch.device
    gamma: float
    step: int
    config: dict[str, Any] = field(default_factory=dict)
    _replayed: dict[int, tuple[Sequences, Any]] = field(default_factory=dict, repr=False)

    def replayed(self, batch_size: int) -> tuple[Sequences, Any]:
        """``batch_size`` sequences drawn from the replay (tensors on ``device``) and the network's
        :class:`~zoo_core.learning.networks.AuxFeatures` over them; the same pair for every call of
        this update with this size.

        :raises ValueError: no replay was asked for, or it is empty.
        """
        if batch_size not in self._replayed:
            if self.replay is None or len(self.replay) == 0:
                raise ValueError("replayed(): the replay is empty (check len(inputs.replay) first)")
            seq = self.replay.sample(batch_size, self.rng).to(self.device)
            self._replayed[batch_size] = (seq, self.network.aux_features(seq.obs, seq.first, seq.state))
        return self._replayed[batch_size]
