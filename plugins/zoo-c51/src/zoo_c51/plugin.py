"""Hook glue: the ``c51`` config section and the C51 value distribution."""

from __future__ import annotations

from dataclasses import dataclass

from zoo_c51.value import C51Value
from zoo_core import hookimpl
from zoo_core.api import ZooError, param

NAME = "c51"


@dataclass(frozen=True)
class C51Config:
    """Hyperparameters of the categorical value distribution."""

    num_atoms: int = param(51, "Atoms of the support (outputs per action).", ge=2)
    v_min: float = param(-10.0, "Lowest value of the support.")
    v_max: float = param(10.0, "Highest value of the support.")

    def __post_init__(self) -> None:
        if not self.v_min < self.v_max:
            raise ZooError(f"c51.v_min must be below c51.v_max; got v_min={self.v_min}, v_max={self.v_max}")


@hookimpl
def zoo_config(register):
    register(NAME, C51Config)


@hookimpl
def zoo_value_distribution(config, num_actions):
    cfg = config[NAME]
    return C51Value(cfg.num_atoms, cfg.v_min, cfg.v_max)


@hookimpl
def zoo_fits() -> tuple[str, ...]:
    return ("dqn", "r2d2")  # a distribution over action values: value-based agents only
