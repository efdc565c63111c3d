"""Hook glue: the ``predictron`` algorithm and recipe, and the ``Predictron/`` env family."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zoo_core import hookimpl


@hookimpl
def zoo_register_envs(register: Callable[[Any], None]) -> None:
    from zoo_predictron.env import maze_family

    register(maze_family())


@hookimpl
def zoo_register_agents(register: Callable[[Any], None]) -> None:
    from zoo_core.api import Algorithm
    from zoo_predictron.agent import build_predictron
    from zoo_predictron.config import PredictronConfig
    from zoo_predictron.evaluation import METRIC, evaluate_mse
    from zoo_predictron.loop import prediction_loop
    from zoo_predictron.recipe import predictron_recipe

    register(Algorithm(
        "predictron", PredictronConfig, build_predictron,
        "the predictron: an abstract model planned through end to end, judged by held-out mse",
        loop=prediction_loop, metric=METRIC, lower_is_better=True, evaluate=evaluate_mse, step_unit="labelled mazes",
    ))
    register(predictron_recipe())


@hookimpl
def zoo_fits() -> tuple[str, ...]:
    return ("predictron",)  # it registers the predictron algorithm and changes no other
