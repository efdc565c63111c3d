"""Hook glue: the ``popart`` config section only (no agent uses PopArt yet)."""

from __future__ import annotations

from dataclasses import dataclass

from zoo_core import hookimpl
from zoo_core.config import param
from zoo_core.errors import ZooError
from zoo_popart.art import MIN_SIGMA

NAME = "popart"


@dataclass(frozen=True)
class PopArtConfig:
    """Hyperparameters of PopArt (Hessel et al. 2019)."""

    beta: float = param(3e-4, "Step size β of the target statistics μ, ν (paper: 3e-4); 0 freezes them.")
    min_sigma: float = param(MIN_SIGMA, "Floor of σ = sqrt(ν - μ²), so constant targets cannot divide by 0.")
    num_tasks: int = param(1, "Tasks, each with its own value output and statistics.")

    def __post_init__(self) -> None:
        if not 0 <= self.beta <= 1 or not self.min_sigma > 0:
            raise ZooError("popart: need 0 <= beta <= 1 and min_sigma > 0")
        if self.num_tasks < 1:
            raise ZooError("popart.num_tasks must be >= 1")


@hookimpl
def zoo_config(register):
    register(NAME, PopArtConfig)
