"""Hook glue: the ``noisy`` linear layer kind, the spec's linear layers, and ε-greedy off."""

from __future__ import annotations

from dataclasses import dataclass

from zoo_core import hookimpl
from zoo_core.api import param
from zoo_noisy.exploration import NoisyGreedy
from zoo_noisy.layer import NoisyLinear

NAME = "noisy"


@dataclass(frozen=True)
class NoisyConfig:
    """Hyperparameters of the noisy layers."""

    sigma0: float = param(0.5, "Initial noise scale: σ = sigma0/√fan_in (the paper's 0.5 for factorised noise).", ge=0)


@hookimpl
def zoo_config(register):
    register(NAME, NoisyConfig)


@hookimpl
def zoo_register_modules(register):
    register("linear", NAME, NoisyLinear)


@hookimpl
def zoo_network_spec(spec, config):
    spec.claim("linear", NAME, NAME)
    spec.claim("linear_args", {"sigma0": config[NAME].sigma0}, NAME)


@hookimpl
def zoo_exploration(config, num_actions):
    return NoisyGreedy(num_actions)


@hookimpl
def zoo_fits() -> tuple[str, ...]:
    return ("dqn", "r2d2")  # replaces ε-greedy, which only value-based agents explore with
