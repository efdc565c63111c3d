"""Hook glue: the ``c51`` config section and the C51 value distribution."""

from __future__ import annotations

from dataclasses import dataclass

from zoo_c51.value import C51Value
from zoo_core import hookimpl
from zoo_core.api import param

NAME = "c51"


@dataclass(frozen=True)
class C51Config:
    """Hyperparameters of the categorical value distribution."""

    num_atoms: int = param(51, "Atoms of the support (outputs per action).")
    v_min: float = param(-10.0, "Lowest value of the support.")
    v_max: float = param(10.0, "Highest value of the support.")


@hookimpl
def zoo_config(register):
    register(NAME, C51Config)


@hookimpl
def zoo_value_distribution(config, num_actions):
    cfg = config[NAME]
    return C51Value(cfg.num_atoms, cfg.v_min, cfg.v_max)
