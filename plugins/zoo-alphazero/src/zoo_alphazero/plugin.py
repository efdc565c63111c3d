"""Hook glue: the ``alphazero`` algorithm and recipe, the ``Game/`` env family, ``zoo arena`` and
``zoo play``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zoo_core import hookimpl


@hookimpl
def zoo_register_envs(register: Callable[[Any], None]) -> None:
    from zoo_alphazero.env import game_family

    register(game_family())


@hookimpl
def zoo_register_modules(register: Callable[[str, str, Callable[..., Any]], None]) -> None:
    from zoo_alphazero.network import ResNetTorso

    register("torso", "resnet", ResNetTorso)


@hookimpl
def zoo_register_agents(register: Callable[[Any], None]) -> None:
    from zoo_alphazero.agent import build_alphazero
    from zoo_alphazero.config import AlphaZeroConfig
    from zoo_alphazero.loop import self_play_loop
    from zoo_core.api import Algorithm, Recipe

    register(Algorithm(
        "alphazero", AlphaZeroConfig, build_alphazero,
        "AlphaZero: MCTS guided by a policy/value network, trained from self-play alone",
        loop=self_play_loop,
    ))
    register(Recipe(
        "alphazero", "alphazero", ("alphazero",), {}, {},
        "AlphaZero (Silver et al. 2018) for the Game/ envs: tic-tac-toe and Connect Four",
    ))


@hookimpl
def zoo_register_commands(register: Callable[..., None]) -> None:
    from zoo_alphazero.commands import register_commands

    register_commands(register)


@hookimpl
def zoo_fits() -> tuple[str, ...]:
    return ("alphazero",)  # it registers the alphazero algorithm and changes no other
