"""Hook glue: the ``impala`` algorithm (with its actor-learner loop) and recipe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zoo_core import hookimpl
from zoo_core.recipes import Algorithm, Recipe
from zoo_impala.agent import build_impala
from zoo_impala.config import ImpalaConfig
from zoo_impala.recipe import IMPALA_ENV_CONFIG


@hookimpl
def zoo_register_agents(register: Callable[[Any], None]) -> None:
    from zoo_impala.loop import actor_learner_loop

    register(Algorithm(
        "impala", ImpalaConfig, build_impala,
        "IMPALA actor-critic: actors in their own processes (or on Ray), V-trace off-policy correction",
        loop=actor_learner_loop,
    ))
    register(Recipe(
        "impala", "impala", ("impala",), {}, IMPALA_ENV_CONFIG,
        "IMPALA (Espeholt et al. 2018): actor-learner with V-trace; impala+popart normalises values",
    ))
