"""Hook glue: register the ``dueling`` head and make it the agent's head."""

from __future__ import annotations

from dataclasses import dataclass

from zoo_core import hookimpl
from zoo_core.api import param
from zoo_dueling.head import DuelingHead

NAME = "dueling"


@dataclass(frozen=True)
class DuelingConfig:
    """Hyperparameters of the dueling head."""

    hidden: int = param(0, "Units of each stream's hidden layer (0: the streams are single layers).", ge=0)


@hookimpl
def zoo_config(register):
    register(NAME, DuelingConfig)


@hookimpl
def zoo_register_modules(register):
    register("head", NAME, DuelingHead)


@hookimpl
def zoo_network_spec(spec, config):
    spec.claim("head", NAME, NAME)
    spec.claim("head_args", {"hidden": config[NAME].hidden}, NAME)


@hookimpl
def zoo_fits() -> tuple[str, ...]:
    return ("dqn", "r2d2")  # the Q-network's head; actor-critic heads have no advantage stream
