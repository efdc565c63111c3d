"""Hook glue: the ``per`` config section and the prioritized replay role (the learner writes the
priorities back itself, through ``replay.update_priorities``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from zoo_core import hookimpl
from zoo_core.api import param
from zoo_per.replay import PrioritizedReplay

NAME = "per"


@dataclass(frozen=True)
class PERConfig:
    """Hyperparameters of prioritized experience replay (Schaul et al. 2016)."""

    variant: Literal["proportional", "rank"] = param("proportional", "proportional (sum tree) or rank (power law).")
    alpha: float = param(0.6, "Priority exponent α (paper: 0.6 proportional, 0.7 rank); 0 is uniform.", ge=0)
    beta0: float = param(0.4, "Initial importance-sampling exponent β (paper: 0.4 proportional, 0.5 rank).", ge=0, le=1)
    beta_steps: int = param(100_000, "Sample calls (learner updates) over which β anneals linearly to 1.", ge=0)
    eps: float = param(1e-6, "ε added to |δ| so no transition has zero priority.", gt=0)
    rank_sort_every: int = param(1_000, "rank: priority updates between re-sorts of the ranking.", ge=1)


@hookimpl
def zoo_config(register):
    register(NAME, PERConfig)


@hookimpl
def zoo_make_replay(config, capacity, obs_shape, obs_dtype, num_envs, frame_stack, n_step, gamma):
    per = config[NAME]
    return PrioritizedReplay(
        capacity, obs_shape, obs_dtype, num_envs=num_envs, n_step=n_step, gamma=gamma,
        frame_stack=frame_stack, variant=per.variant, alpha=per.alpha, beta0=per.beta0,
        beta_steps=per.beta_steps, eps=per.eps, rank_sort_every=per.rank_sort_every,
    )


@hookimpl
def zoo_fits() -> tuple[str, ...]:
    return ("dqn",)  # transition replay; r2d2 replays sequences
