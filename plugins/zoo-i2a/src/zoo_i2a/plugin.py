"""Hook glue: the ``Sokoban/`` env family (the I2A agent comes next)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zoo_core import hookimpl


@hookimpl
def zoo_register_envs(register: Callable[[Any], None]) -> None:
    from zoo_i2a.env import sokoban_family

    register(sokoban_family())
