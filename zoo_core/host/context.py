"""What an algorithm's builder receives: the resolved config, the agent's plugin manager and the
env's signature (see :class:`zoo_core.host.recipes.Algorithm`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pluggy
import torch

from zoo_core.host.config import AgentConfig
from zoo_core.learning.devices import CPU
from zoo_core.learning.network_spec import NetworkSpec


@dataclass
class BuildContext:
    """What an algorithm's builder receives (see :class:`zoo_core.host.recipes.Algorithm`).

    :param modules: the registered network blocks by kind (``catalog.modules``), for ``build_network``.
    :param spec: the saved network specification when a saved agent is rebuilt, else None.
    :param device: where the learner's networks and batches live (``run.device`` resolved by
        :func:`zoo_core.learning.devices.resolve_device`; CPU when a saved agent is loaded for acting).
        Actor and self-play processes stay on the CPU whatever it is.
    """

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
    device: torch.device = CPU
