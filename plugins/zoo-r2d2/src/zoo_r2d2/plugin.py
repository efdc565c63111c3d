"""Hook glue: register the ``r2d2`` algorithm and recipe."""

from __future__ import annotations

from zoo_core import hookimpl
from zoo_r2d2.recipe import ALGORITHM, R2D2


@hookimpl
def zoo_register_agents(register):
    register(ALGORITHM)
    register(R2D2)


@hookimpl
def zoo_fits() -> tuple[str, ...]:
    return ("r2d2",)  # it registers the r2d2 algorithm and changes no other
