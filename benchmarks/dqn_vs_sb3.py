"""Training speed: this project's DQN against Stable-Baselines3's DQN, same settings, one run.

Both learn CartPole-v1 with the same network (MLP 64-64), batch, learning rate, replay size,
exploration schedule, target period and one gradient step per env step; double Q is off on our
side because SB3's DQN has none, so both do the same arithmetic per step. Both run in this one
process, one after the other, with the same torch thread count; the script prints each one's
env steps per second and the ratio.

    python benchmarks/dqn_vs_sb3.py --steps 20000
    python benchmarks/dqn_vs_sb3.py --steps 20000 --repeat 3   # median of three pairs
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from typing import Any

import torch

HIDDEN = (64, 64)
SETTINGS = {
    "lr": 1e-3, "batch_size": 64, "buffer_size": 50_000, "learning_starts": 1_000, "gamma": 0.99,
    "train_freq": 1, "gradient_steps": 1, "target_update_interval": 500, "max_grad_norm": 10.0,
}
EXPLORATION = {"eps_start": 1.0, "eps_end": 0.05}


def run_zoo(steps: int, seed: int) -> float:
    import zoo_core

    overrides = [f"{k}={v}" for k, v in SETTINGS.items()]
    overrides += [f"{k}={v}" for k, v in EXPLORATION.items()]
    overrides += [f"eps_decay_steps={int(0.1 * steps)}", f"hidden={','.join(map(str, HIDDEN))}",
                  "double_q=false", "run.eval_every=0", "run.eval_episodes=1", "run.checkpoint_every=0",
                  "run.log_every=1000000", "run.torch_threads=0"]
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = zoo_core.train("dqn", "CartPole-v1", steps, seed, f"{out}/run", overrides)
        elapsed = time.perf_counter() - start
    # steps/s is steps over this time: the run must have done every step and every update.
    agent = result.agent
    assert agent.env_steps == steps and agent.updates == steps - SETTINGS["learning_starts"] + 1, (
        agent.env_steps, agent.updates)
    return elapsed


def run_sb3(steps: int, seed: int) -> float:
    from stable_baselines3 import DQN

    model = DQN(
        "MlpPolicy", "CartPole-v1", seed=seed, verbose=0, device="cpu",
        learning_rate=SETTINGS["lr"], batch_size=SETTINGS["batch_size"], buffer_size=SETTINGS["buffer_size"],
        learning_starts=SETTINGS["learning_starts"], gamma=SETTINGS["gamma"], train_freq=SETTINGS["train_freq"],
        gradient_steps=SETTINGS["gradient_steps"], target_update_interval=SETTINGS["target_update_interval"],
        max_grad_norm=SETTINGS["max_grad_norm"], exploration_initial_eps=EXPLORATION["eps_start"],
        exploration_final_eps=EXPLORATION["eps_end"], exploration_fraction=0.1,
        policy_kwargs={"net_arch": list(HIDDEN)},
    )
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    elapsed = time.perf_counter() - start
    assert model.num_timesteps == steps, model.num_timesteps
    return elapsed


PARTS = ("env step", "act", "store", "sample", "update")


def _zoo_targets() -> dict[str, tuple[object, str]]:
    from zoo_core.agents.dqn import DQNAgent
    from zoo_core.envs.vector import VecEnv
    from zoo_core.learning.replay import UniformReplay

    return {"env step": (VecEnv, "step"), "act": (DQNAgent, "explore"), "store": (UniformReplay, "add"),
            "sample": (UniformReplay, "sample"), "update": (DQNAgent, "update")}


def _sb3_targets() -> dict[str, tuple[object, str]]:
    from stable_baselines3 import DQN
    from stable_baselines3.common.buffers import ReplayBuffer
    from stable_baselines3.common.vec_env import DummyVecEnv

    return {"env step": (DummyVecEnv, "step_wait"), "act": (DQN, "_sample_action"), "store": (ReplayBuffer, "add"),
            "sample": (ReplayBuffer, "sample"), "update": (DQN, "train")}


def decompose(run: Any, targets: dict[str, tuple[object, str]], steps: int, seed: int) -> dict[str, float]:
    """Microseconds per env step spent in each part of one run (timers wrapped around the methods
    that do each part; ``update`` excludes its sampling; ``other`` is the loop around them).

    The timers add a little to every part, so these runs are separate from the timed ones.
    """
    spent = dict.fromkeys(PARTS, 0.0)
    originals = {name: getattr(owner, method) for name, (owner, method) in targets.items()}

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
        return wrapper

    for name, (owner, method) in targets.items():
        setattr(owner, method, timed(name, originals[name]))
    try:
        total = run(steps, seed)
    finally:
        for name, (owner, method) in targets.items():
            setattr(owner, method, originals[name])
    per_step = {name: 1e6 * spent[name] / steps for name in PARTS}
    per_step["update"] -= per_step["sample"]  # sampling happens inside the update on both sides
    per_step["other"] = 1e6 * total / steps - sum(per_step[n] for n in PARTS)
    per_step["total"] = 1e6 * total / steps
    return {k: round(v, 1) for k, v in per_step.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the pair this many times (SB3 then zoo each time) and report the median ratio; "
                             "a shared, noisy machine's speed drifts by 10-20%% between runs")
    parser.add_argument("--decompose", action="store_true",
                        help="then one more (instrumented) pair: µs per env step in env step, act, store, sample, "
                             "update and the loop around them")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]  # other work on the machine skews one side of the ratio
    pairs = []
    for _ in range(max(args.repeat, 1)):
        sb3 = args.steps / run_sb3(args.steps, args.seed)
        zoo = args.steps / run_zoo(args.steps, args.seed)
        pairs.append((zoo / sb3, zoo, sb3))
        if args.repeat > 1:
            print(f"  run {len(pairs)}: zoo {zoo:.1f} steps/s, SB3 {sb3:.1f} steps/s, ratio {zoo / sb3:.2f}x")
    ratio, zoo, sb3 = sorted(pairs)[(len(pairs) - 1) // 2]  # the median pair (lower middle)
    result = {"env": "CartPole-v1", "steps": args.steps, "threads": args.threads,
              "zoo_steps_per_s": round(zoo, 1), "sb3_steps_per_s": round(sb3, 1), "ratio": round(ratio, 2)}
    if args.repeat > 1:
        result["ratios"] = [round(r, 2) for r, _, _ in pairs]
    result["loadavg_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]  # before, after
    print(f"zoo DQN : {zoo:8.1f} env steps/s")
    print(f"SB3 DQN : {sb3:8.1f} env steps/s")
    print(f"ratio   : {zoo / sb3:8.2f}x")
    if args.decompose:
        parts = {"zoo": decompose(run_zoo, _zoo_targets(), args.steps, args.seed),
                 "sb3": decompose(run_sb3, _sb3_targets(), args.steps, args.seed)}
        result["us_per_env_step"] = parts
        print(f"{'µs per env step':16}" + "".join(f"{k:>10}" for k in (*PARTS, "other", "total")))
        for side, row in parts.items():
            print(f"{side:16}" + "".join(f"{row[k]:10.1f}" for k in (*PARTS, "other", "total")))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
