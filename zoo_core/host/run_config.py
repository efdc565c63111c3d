"""The ``run`` config section: how a training run is driven, whatever the algorithm."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from zoo_core.host.config import param


@dataclass(frozen=True)
class RunConfig:
    """Loop, logging, evaluation and checkpoint settings shared by every algorithm."""

    num_envs: int = param(1, "Environments stepped side by side (a vectorised env).", ge=1)
    log_every: int = param(1_000, "Env steps between rows of progress.csv and TensorBoard scalars.", ge=1)
    eval_every: int = param(5_000, "Env steps between greedy evaluations (0: only at the end).", ge=0)
    eval_episodes: int = param(10, "Episodes per periodic evaluation.", ge=1)
    eval_epsilon: float = param(0.0, "ε of the periodic evaluations (Atari protocols use 0.001).", ge=0, le=1)
    eval_sample: bool = param(
        False, "Evaluations draw actions from the agent's policy instead of its argmax (actor-critic agents).")
    checkpoint_every: int = param(10_000, "Env steps between checkpoints (0: only at the end).", ge=0)
    checkpoint_minutes: float = param(
        10.0, "Wall-clock minutes between checkpoints, beside checkpoint_every (0: steps only); a kill loses "
        "minutes at most.", ge=0,
    )
    keep_checkpoints: int = param(3, "Checkpoints kept; older ones are deleted.", ge=1)
    target_return: float | None = param(
        None, "Stop once a periodic evaluation's mean reaches this: at or above it for a return, at or below it for "
        "a lower-is-better metric (None: run all steps)."
    )
    reward_scale: float = param(
        1.0,
        "Multiply the learner's rewards by this (a scale-invariance test); logged returns and evaluations "
        "stay in the env's units.",
        gt=0,
    )
    obs_channels: int = param(
        0,
        "Zero-pad image observations to this many channels (multi-task over games of different channel "
        "counts); 0 leaves them.",
        ge=0,
    )
    backend: Literal["local", "ray"] = param(
        "local", "Where an actor-learner algorithm runs its actors: local (processes) or ray (a Ray cluster)."
    )
    address: str | None = param(None, "Ray cluster address for backend=ray (None starts a local Ray runtime).")
    device: Literal["auto", "cpu", "cuda"] = param(
        "auto",
        "Where the learner and its batched inference run: cuda, cpu, or auto (cuda when torch sees a GPU). Envs, "
        "replay and actor processes stay on the CPU; a3c is always cpu.",
    )
    torch_threads: int = param(1, "torch.set_num_threads for the run (0 keeps torch's default).", ge=0)
