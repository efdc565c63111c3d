"""Hook glue: the ``Sokoban/`` env family and ``zoo i2a-model`` (the I2A agent comes next)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zoo_core import hookimpl


@hookimpl
def zoo_register_envs(register: Callable[[Any], None]) -> None:
    from zoo_i2a.env import sokoban_family

    register(sokoban_family())


@hookimpl
def zoo_register_commands(register: Callable[..., None]) -> None:
    from zoo_i2a.commands import register_commands

    register_commands(register)
