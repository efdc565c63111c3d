"""Hook glue: the ``impala`` algorithm (with its actor-learner loop) and recipe, and ``a3c``'s."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zoo_core import hookimpl
from zoo_core.api import Algorithm, Recipe
from zoo_impala.a3c_agent import build_a3c
from zoo_impala.a3c_config import A3CConfig
from zoo_impala.agent import build_impala
from zoo_impala.config import ImpalaConfig
from zoo_impala.recipe import IMPALA_ENV_CONFIG


@hookimpl
def zoo_register_agents(register: Callable[[Any], None]) -> None:
    from zoo_impala.a3c import A3C_ENV_CONFIG, a3c_loop
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
    register(Algorithm(
        "a3c", A3CConfig, build_a3c,
        "A3C actor-critic: worker processes apply gradients to shared parameters without locks (Hogwild)",
        loop=a3c_loop,
    ))
    register(Recipe(
        "a3c", "a3c", ("impala",), {}, A3C_ENV_CONFIG,
        "A3C (Mnih et al. 2016): asynchronous n-step actor-critic, the baseline IMPALA replaced",
    ))


@hookimpl
def zoo_fits() -> tuple[str, ...]:
    return ("impala", "a3c")  # it registers both algorithms and changes no other
