"""Hook glue: register the rainbow recipe."""

from __future__ import annotations

from zoo_core import hookimpl
from zoo_rainbow.recipe import RAINBOW


@hookimpl
def zoo_register_agents(register):
    register(RAINBOW)


@hookimpl
def zoo_fits() -> tuple[str, ...]:
    return ("dqn",)  # it registers a dqn recipe and changes no agent
