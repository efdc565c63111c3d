"""The ``impala`` recipe's settings per env family."""

from __future__ import annotations

from typing import Any

_CLASSIC: dict[str, Any] = {
    "num_actors": 2, "envs_per_actor": 4, "unroll_length": 20, "batch_size": 2, "optimizer": "adam",
    "lr": 1e-3, "optim_eps": 1e-8, "entropy_cost": 0.01, "hidden": (64, 64), "normalize_obs": True,
    "max_grad_norm": 0.0, "baseline_cost": 0.05,
}

IMPALA_ENV_CONFIG: dict[str, dict[str, dict[str, Any]]] = {
    # Classic control: values reach ~100 while the policy's gradients are small, so a clip on the
    # joint gradient norm starved the policy (measured: POMDP/CartPole stayed at random play with
    # the paper's clip of 40); Adam without a clip, a light baseline cost and standardised inputs
    # (pole angles and their differences are tiny numbers) learn both tasks.
    "gymnasium": {
        "impala": {**_CLASSIC},
        "run": {"eval_every": 10_000, "eval_episodes": 20, "log_every": 2_000},
    },
    "pomdp": {
        "impala": {**_CLASSIC, "recurrent": "lstm", "recurrent_size": 64},
        "run": {"eval_every": 10_000, "eval_episodes": 20, "log_every": 2_000},
    },
    "minatar": {
        "impala": {"num_actors": 2, "envs_per_actor": 8, "unroll_length": 20, "batch_size": 2,
                   "optimizer": "rmsprop", "lr": 6e-4, "optim_eps": 0.01, "entropy_cost": 0.01,
                   "lr_decay_steps": 0},
        "run": {"eval_every": 100_000, "eval_episodes": 20, "log_every": 10_000, "checkpoint_every": 100_000},
    },
    "atari": {
        "impala": {"num_actors": 8, "envs_per_actor": 8, "unroll_length": 20, "batch_size": 4,
                   "optimizer": "rmsprop", "lr": 6e-4, "optim_eps": 0.01, "entropy_cost": 0.01,
                   "reward_clip": 1.0},
        "run": {"eval_every": 1_000_000, "eval_episodes": 10, "eval_epsilon": 0.001,
                "log_every": 50_000, "checkpoint_every": 1_000_000},
    },
}
