"""Hook glue: the ``popart`` config section, the ``popart`` value head, and the spec edit that
makes it an actor-critic network's value head (IMPALA's)."""

from __future__ import annotations

from dataclasses import dataclass

from zoo_core import hookimpl
from zoo_core.api import ZooError, param
from zoo_popart.art import MIN_SIGMA
from zoo_popart.layer import popart_value

NAME = "popart"


@dataclass(frozen=True)
class PopArtConfig:
    """Hyperparameters of PopArt (Hessel et al. 2019). The number of outputs is the algorithm's:
    IMPALA gives the value head one per task (``impala.tasks``)."""

    beta: float = param(
        3e-4, "Step size β of the target statistics μ, ν per learner update (paper: 3e-4 on Atari); 0 freezes them.",
        ge=0,
        le=1,
    )
    min_sigma: float = param(MIN_SIGMA, "Floor of σ = sqrt(ν - μ²), so constant targets cannot divide by 0.", gt=0)


@hookimpl
def zoo_config(register):
    register(NAME, PopArtConfig)


@hookimpl
def zoo_register_modules(register):
    register("value", NAME, popart_value)


@hookimpl
def zoo_network_spec(spec, config):
    # Only actor-critic networks have a value head that the learner normalises through; saying
    # nothing for a Q network would make `dqn+popart` train plain DQN under PopArt's name.
    if spec.head != "actor_critic":
        raise ZooError(
            f"popart is wired into actor-critic value heads only (the impala recipe); this agent's "
            f"network has a '{spec.head}' head. Remove popart from the recipe."
        )
    cfg = config[NAME]
    # num_tasks (the head's outputs) stays whatever the algorithm put there.
    spec.claim("head_args", {**spec.head_args, "value": NAME, "beta": cfg.beta, "min_sigma": cfg.min_sigma}, NAME)


@hookimpl
def zoo_fits() -> tuple[str, ...]:
    return ("impala",)  # IMPALA's value head; a3c keeps a linear one
