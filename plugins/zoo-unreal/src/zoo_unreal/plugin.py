"""Hook glue. The package holds four plugins: ``unreal`` (this module's functions: the recipe and the
MiniGrid pixel envs) and one object per auxiliary task, ``PIXEL_CONTROL``, ``REWARD_PREDICTION`` and
``VALUE_REPLAY`` (entry points ``zoo_unreal.plugin:PIXEL_CONTROL`` ...). The tasks share their glue
(:class:`AuxTaskPlugin`: config section, replay request, weighting) and differ in their head and loss
(:mod:`zoo_unreal.tasks`)."""

from __future__ import annotations

from typing import Any

import torch

from zoo_core import hookimpl
from zoo_core.api import AuxReplayRequest, EnvFamily, ZooError
from zoo_unreal.config import PixelControlConfig, RewardPredictionConfig, ValueReplayConfig
from zoo_unreal.heads import PixelControlHead, RewardPredictionHead, grid_shape
from zoo_unreal.minigrid_pixels import PREFIX, list_ids, make_minigrid
from zoo_unreal.recipe import UNREAL
from zoo_unreal.tasks import pixel_control_on, reward_prediction_on, value_replay_on

# --- the `unreal` plugin: recipe and env family -----------------------------------------------


@hookimpl
def zoo_register_agents(register):
    register(UNREAL)


@hookimpl
def zoo_register_envs(register):
    register(EnvFamily("minigrid", PREFIX, make_minigrid, list_ids,
                       "MiniGrid's sparse-reward grid worlds as pixels: the egocentric 7x7 view, uint8 [3, 56, 56]"))


@hookimpl
def zoo_fits() -> tuple[str, ...]:
    return ("impala",)  # it registers an impala recipe and changes no agent


# --- the auxiliary tasks ------------------------------------------------------------------------


class AuxTaskPlugin:
    """One auxiliary task: its config section ``name``, its head (if any), the algorithms it fits,
    a replay request of ``replay_frames``, and its loss times ``weight`` once the replay has data."""

    head: type | None = None

    def __init__(self, name: str, config_class: type, fits: tuple[str, ...]):
        self.name, self.config_class, self.fits = name, config_class, fits

    def head_args(self, spec: Any, cfg: Any) -> dict[str, Any]:
        """The head's arguments (checked against the spec)."""
        return {}

    def loss(self, inputs: Any, cfg: Any) -> torch.Tensor | None:
        raise NotImplementedError

    @hookimpl
    def zoo_config(self, register):
        register(self.name, self.config_class)

    @hookimpl
    def zoo_register_modules(self, register):
        if self.head is not None:
            register("aux", self.name, self.head)

    @hookimpl
    def zoo_fits(self) -> tuple[str, ...]:
        return self.fits

    @hookimpl
    def zoo_network_spec(self, spec, config):
        if self.head is not None:
            spec.add_aux_head(self.name, self.name, self.name, **self.head_args(spec, config[self.name]))

    @hookimpl
    def zoo_aux_replay(self, config):
        return AuxReplayRequest(frames=config[self.name].replay_frames)

    @hookimpl
    def zoo_aux_losses(self, agent, inputs):
        if inputs.replay is None or len(inputs.replay) == 0:
            return None
        cfg = inputs.config[self.name]
        loss = self.loss(inputs, cfg)
        return None if loss is None else cfg.weight * loss


class PixelControl(AuxTaskPlugin):
    head = PixelControlHead

    def head_args(self, spec, cfg):
        try:
            grid_shape(tuple(spec.obs_shape), cfg.cell_size, cfg.crop)
        except ValueError as e:
            raise ZooError(f"{self.name}: {e}") from e
        return {"cell_size": cfg.cell_size, "crop": cfg.crop}

    def loss(self, inputs, cfg):
        seq, features = inputs.replayed(cfg.batch_size)  # shared with value replay at the same size
        return pixel_control_on(inputs.network, self.name, seq, features, cfg.discount, cfg.cell_size, cfg.crop)


class RewardPrediction(AuxTaskPlugin):
    head = RewardPredictionHead

    def head_args(self, spec, cfg):
        return {"frames": cfg.frames, "hidden": cfg.hidden}

    def loss(self, inputs, cfg):
        return reward_prediction_on(inputs.network, self.name, inputs.replay, cfg.frames, cfg.batch_size,
                                    inputs.rng, inputs.device)


class ValueReplay(AuxTaskPlugin):
    """No head: it trains the agent's own value, so it fits actor-critic learners only."""

    def loss(self, inputs, cfg):
        return value_replay_on(inputs.network, *inputs.replayed(cfg.batch_size))


PIXEL_CONTROL = PixelControl("pixel_control", PixelControlConfig, ("impala", "a3c", "dqn"))
REWARD_PREDICTION = RewardPrediction("reward_prediction", RewardPredictionConfig, ("impala", "a3c", "dqn"))
VALUE_REPLAY = ValueReplay("value_replay", ValueReplayConfig, ("impala", "a3c"))
