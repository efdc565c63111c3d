"""The ``r2d2`` algorithm and recipe, with defaults per env family."""

from __future__ import annotations

from zoo_core import Algorithm, Recipe
from zoo_r2d2.agent import NAME, R2D2Config, build_r2d2

ALGORITHM = Algorithm(
    NAME, R2D2Config, build_r2d2, "Recurrent DQN: LSTM/GRU core, stored-state sequence replay, burn-in (R2D2)"
)

# Classic control, tuned on POMDP/CartPole-v1 (benchmarks/recurrent_pomdp.py): velocities must be
# inferred from a few consecutive observations, so short sequences are enough. lr 1e-3 took every
# seed of three past 475 within 100k steps; 5e-4 ended higher on two seeds but one peaked at 410
# (both are in the plugin's README).
CLASSIC = {
    NAME: {
        "lr": 1e-3, "batch_size": 32, "burn_in": 10, "learn_length": 20, "overlap": 10, "buffer_size": 5_000,
        "n_step": 3, "target_update_interval": 500, "learning_starts": 2_000, "train_freq": 4,
        "eps_decay_steps": 10_000, "hidden": (64,), "recurrent_size": 64,
    },
}

# R2D2's own defaults for the DQN family's fields (replay counts sequences, not transitions).
DEFAULTS = {
    NAME: {"batch_size": 32, "buffer_size": 5_000, "learning_starts": 2_000, "train_freq": 4, "n_step": 3,
           "hidden": (128,)},
}

R2D2 = Recipe(
    name=NAME,
    algorithm=NAME,
    plugins=(NAME,),  # the agent's manager must load this plugin: it registers the algorithm
    config=DEFAULTS,
    env_config={"pomdp": CLASSIC, "gymnasium": CLASSIC},
    description="R2D2 (Kapturowski et al. 2019): recurrent DQN, stored-state sequence replay, burn-in",
)
