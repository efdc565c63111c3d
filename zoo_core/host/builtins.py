"""The core's own plugin: the DQN algorithm and recipe, env families, network blocks, run config.

The core's features are registered through the same hooks as any plugin's (as pytest's are).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zoo_core.agents.dqn import DQNConfig, build_dqn
from zoo_core.host.hookspecs import hookimpl
from zoo_core.host.recipes import Algorithm, Recipe
from zoo_core.host.run_config import RunConfig
from zoo_core.learning.networks import BUILTIN_MODULES

# Published settings scaled to each family. Atari follows Mnih et al. 2015 (with the Adam
# settings of Dopamine's DQN); MinAtar follows Young & Tian 2019.
DQN_ENV_CONFIG: dict[str, dict[str, dict[str, Any]]] = {
    # Classic control: the RL Baselines3 Zoo's tuned CartPole settings (128 updates every 256 env
    # steps, the target synced after each burst), in this zoo's units, with the learning rate
    # annealed to 0 over RL Zoo's 50k-step budget. At a constant 2.3e-3 every burst moves the
    # greedy policy a long way (CartPole's action gaps are tiny next to values near 100), so the
    # final agent is a lottery: 31-149 on seeds 1-4 with double Q, 91-139 on seeds 5-7 without,
    # SB3 193 and 305 on seeds 3 and 6. Annealed, seeds 1-8 end at 484-500 (the issue 14 note).
    "gymnasium": {
        "dqn": {
            "lr": 2.3e-3, "lr_end": 0.0, "lr_decay_steps": 50_000, "batch_size": 64, "buffer_size": 100_000,
            "learning_starts": 1_000, "train_freq": 256, "gradient_steps": 128, "target_update_interval": 128,
            "eps_end": 0.04, "eps_decay_steps": 8_000, "hidden": (256, 256),
        },
    },
    "atari": {
        "dqn": {
            "lr": 6.25e-5,
            "adam_eps": 1.5e-4,
            "batch_size": 32,
            "buffer_size": 1_000_000,
            "learning_starts": 20_000,
            "train_freq": 4,
            "target_update_interval": 2_000,
            "eps_end": 0.01,
            "eps_decay_steps": 250_000,
            "huber_delta": 1.0,
        },
        "run": {
            "eval_every": 250_000,
            "eval_episodes": 10,
            "eval_epsilon": 0.001,
            "checkpoint_every": 250_000,
            "log_every": 10_000,
        },
    },
    "minatar": {
        "dqn": {
            "lr": 2.5e-4,
            "batch_size": 32,
            "buffer_size": 100_000,
            "learning_starts": 5_000,
            "train_freq": 1,
            "target_update_interval": 1_000,
            "eps_end": 0.1,
            "eps_decay_steps": 100_000,
        },
        "run": {"eval_every": 50_000, "checkpoint_every": 100_000, "log_every": 5_000},
    },
    # MinAtar Breakout without double Q, as the MinAtar paper's DQN and SB3's are. Chosen on dev seeds
    # 1-6 (never the peer benchmark's 11-15): 6.20 against 5.77 with double Q, higher on five seeds of
    # six (paired +0.43 ± 0.17); on SpaceInvaders dropping it cost about as much (-1.37 ± 2.28), so
    # only this game's setting changes, per env id as RL Zoo tunes (the issue 14 notes).
    "MinAtar/Breakout-v1": {"dqn": {"double_q": False}},
    # RL Zoo's tuned Acrobot settings (an update per env step, in bursts of 4; the target copied
    # every 250 env steps, which is 250 updates here), over the classic-control family's.
    "Acrobot-v1": {
        "dqn": {
            "lr": 6.3e-4, "batch_size": 128, "buffer_size": 50_000, "learning_starts": 0,
            "train_freq": 4, "gradient_steps": 4, "target_update_interval": 250,
            "eps_end": 0.1, "eps_decay_steps": 12_000, "hidden": (256, 256), "lr_decay_steps": 0,
        },
    },
}


@hookimpl
def zoo_register_agents(register: Callable[[Any], None]) -> None:
    register(Algorithm("dqn", DQNConfig, build_dqn, "Deep Q-network with double Q, n-step and target options"))
    register(
        Recipe("dqn", "dqn", (), {}, DQN_ENV_CONFIG, "DQN (Mnih et al. 2015) + double Q (van Hasselt et al. 2016)")
    )


@hookimpl
def zoo_register_envs(register: Callable[[Any], None]) -> None:
    from zoo_core.envs import builtin_families

    for family in builtin_families():
        register(family)


@hookimpl
def zoo_config(register: Callable[[str, type], None]) -> None:
    register("run", RunConfig)


@hookimpl
def zoo_register_modules(register: Callable[[str, str, Callable[..., Any]], None]) -> None:
    for kind, table in BUILTIN_MODULES.items():
        for name, factory in table.items():
            register(kind, name, factory)
