"""Hook glue: the ``i2a`` recipe, its torso and config, the environment model loaded into a new
agent, the rollout policy's distillation loss, the ``Sokoban/`` env family and ``zoo i2a-model``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zoo_core import hookimpl

PLUGIN = "i2a"


@hookimpl
def zoo_register_agents(register: Callable[[Any], None]) -> None:
    from zoo_i2a.recipe import I2A

    register(I2A)


@hookimpl
def zoo_config(register: Callable[[str, type], None]) -> None:
    from zoo_i2a.config import I2AConfig

    register(PLUGIN, I2AConfig)


@hookimpl
def zoo_fits() -> tuple[str, ...]:
    return ("impala",)  # its distillation reads the actor-critic learner's policy logits


@hookimpl
def zoo_register_modules(register: Callable[[str, str, Callable[..., Any]], None]) -> None:
    from zoo_i2a.torso import I2ATorso

    register("torso", "i2a", I2ATorso)


@hookimpl
def zoo_network_spec(spec: Any, config: dict[str, Any]) -> None:
    from zoo_core.api import ZooError
    from zoo_i2a.models import resolve_model
    from zoo_i2a.torso import torso_args

    cfg = config[PLUGIN]
    shape = tuple(spec.obs_shape)
    if len(shape) != 3 or shape[0] != 3 or shape[1] % 4 or shape[2] % 4:
        raise ZooError(f"i2a reads Sokoban's RGB frames ([3, H, W] of 4-pixel cells, the Sokoban/ envs); "
                       f"this env gives observations {list(shape)}")
    choice = resolve_model(cfg.model, spec.obs_shape, spec.num_actions)
    spec.claim("torso", "i2a", PLUGIN)
    spec.claim("torso_args", torso_args(spec, cfg, choice.imagination, choice.doc, choice.sha256), PLUGIN)


@hookimpl
def zoo_new_agent(agent: Any, config: dict[str, Any]) -> None:
    from zoo_i2a.models import resolve_model
    from zoo_i2a.torso import I2ATorso

    torso = getattr(getattr(agent, "network", None), "torso", None)
    if not isinstance(torso, I2ATorso) or torso.imagination != "learned":
        return
    choice = resolve_model(config[PLUGIN].model, tuple(agent.spec.obs_shape), torso.num_actions)
    assert choice.model is not None
    torso.env_model.load_state_dict(choice.model.state_dict())


@hookimpl
def zoo_aux_losses(agent: Any, inputs: Any) -> Any:
    from zoo_i2a.torso import I2ATorso, distillation_loss

    torso = inputs.network.torso
    cost = inputs.config[PLUGIN].distill_cost
    if not isinstance(torso, I2ATorso) or torso.imagination == "none" or cost == 0:
        return None
    obs, logits = inputs.batch.obs, inputs.outputs["logits"]  # [T+1, B, ...], [T+1, B, A]
    return cost * distillation_loss(torso.rollout_logits(obs.flatten(0, 1)), logits.flatten(0, 1))


@hookimpl
def zoo_register_envs(register: Callable[[Any], None]) -> None:
    from zoo_i2a.env import sokoban_family

    register(sokoban_family())


@hookimpl
def zoo_register_commands(register: Callable[..., None]) -> None:
    from zoo_i2a.commands import register_commands

    register_commands(register)
