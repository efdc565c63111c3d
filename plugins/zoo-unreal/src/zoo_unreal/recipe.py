"""The ``unreal`` recipe: IMPALA with an LSTM core plus the three auxiliary tasks.

UNREAL (Jaderberg et al. 2016) is A3C with an LSTM and the auxiliary tasks; here the base learner is
IMPALA (V-trace makes the same on-policy actor-critic loss off-policy-safe across actors), with the
paper's auxiliary weights (λ_VR = λ_RP = 1, λ_PC in the paper's [0.01, 0.1]) as each plugin's
defaults.
"""

from __future__ import annotations

from zoo_core.api import Recipe

PLUGINS = ("impala", "pixel_control", "reward_prediction", "value_replay")

# MiniGrid's pixel view ([3, 56, 56]); A3C/UNREAL's encoder, a 256-unit LSTM, 20-step unrolls.
MINIGRID = {
    "impala": {"num_actors": 2, "envs_per_actor": 8, "unroll_length": 20, "batch_size": 2,
               "optimizer": "rmsprop", "lr": 6e-4, "optim_eps": 0.01, "entropy_cost": 0.01,
               "recurrent": "lstm", "recurrent_size": 256, "gamma": 0.99},
    "run": {"eval_every": 50_000, "eval_episodes": 20, "log_every": 10_000, "checkpoint_every": 100_000},
}

UNREAL = Recipe(
    name="unreal",
    algorithm="impala",
    plugins=PLUGINS,
    config={"impala": {"recurrent": "lstm", "recurrent_size": 256}},
    env_config={"minigrid": MINIGRID},
    description="UNREAL (Jaderberg et al. 2016): IMPALA + LSTM + pixel control, reward prediction, value replay",
    ablation_base=("impala",),
)
