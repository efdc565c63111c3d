"""Each auxiliary task's loss from a network and replayed sequences (the glue calls these; the math
is in :mod:`zoo_unreal.pixel_control`, :mod:`zoo_unreal.reward_prediction`, :mod:`zoo_unreal.value_replay`).

``network`` is the learner's (see ``zoo_core.api.AuxInputs``): ``torso``, ``aux_features``,
``aux_value`` and the heads ``aux[name]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from zoo_core.api import SequenceReplay, Sequences, to_device
from zoo_unreal.pixel_control import central_crop, pixel_control_loss, pixel_control_rewards, pixel_control_targets
from zoo_unreal.returns import nstep_returns
from zoo_unreal.reward_prediction import reward_classes, reward_prediction_loss, reward_windows, skewed_sample
from zoo_unreal.value_replay import value_replay_loss


def pixel_control_on(network: Any, head: str, seq: Sequences, features: Any, discount: float, cell_size: int,
                     crop: int) -> torch.Tensor:
    """Pixel control's loss on sequences ``seq`` (tensors; ``obs [T+1, B, C, H, W]``) and the network's
    features over them."""
    steps, batch = seq.obs.shape[:2]
    q = network.aux[head](features.core.reshape(steps * batch, -1))
    q = q.view(steps, batch, *q.shape[1:])  # [T+1, B, A, gh, gw]
    frames = central_crop(seq.obs.movedim(2, -1), crop)  # [T+1, B, H, W, C]
    r_t = pixel_control_rewards(frames, cell_size)
    # Where an episode begins at obs[t+1] it is not the successor of obs[t]: no change to reward.
    r_t = r_t * (1.0 - seq.first[1:])[..., None, None]
    discount_t = discount * (seq.discount_t > 0).float()
    return pixel_control_loss(q[:-1], seq.a_tm1, pixel_control_targets(r_t, discount_t, q[-1]))


def reward_prediction_on(network: Any, head: str, replay: SequenceReplay, frames: int, batch: int,
                         rng: np.random.Generator, device: torch.device) -> torch.Tensor | None:
    """Reward prediction's loss on windows of ``frames`` observations drawn from ``replay`` with the
    skewed sampler (None while no window fits)."""
    n = len(replay)
    stored = replay.arrays
    seq_index, t = reward_windows(stored["first"][:n], frames)
    if len(t) == 0:
        return None
    pick = skewed_sample(stored["r_t"][seq_index, t] != 0, batch, rng)
    s, t = seq_index[pick], t[pick]
    steps = t[:, None] - frames + 1 + np.arange(frames)  # [B, frames]
    obs = to_device(stored["obs"][s[:, None], steps], device)  # [B, frames, *obs_shape]
    torso = network.torso(obs.reshape(batch * frames, *obs.shape[2:])).view(batch, -1)
    labels = to_device(reward_classes(stored["r_t"][s, t]), device)
    return reward_prediction_loss(network.aux[head](torso), labels)


def value_replay_on(network: Any, seq: Sequences, features: Any) -> torch.Tensor:
    """Value replay's loss on sequences ``seq`` (tensors) and the network's features over them: its own
    value against n-step returns bootstrapped from its value after the last step."""
    v = network.aux_value(features.core, seq.task)  # [T+1, B]
    returns = nstep_returns(seq.r_t, seq.discount_t, v[-1].detach())
    return value_replay_loss(v[:-1], returns)
