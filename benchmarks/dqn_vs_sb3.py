"""Training speed: this project's DQN against Stable-Baselines3's DQN, same settings, one run.

Two cases, run side by side (each pair in this one process, SB3 then the zoo, same torch thread
count):

* ``CartPole-v1``: an MLP 64-64, batch 64, one gradient step per env step: the overhead-bound case.
* ``MinAtar/Breakout-v1``: the zoo's ``minatar_cnn`` torso (conv 16 3x3 -> 128) on both sides (SB3
  gets it as a custom features extractor, as in ``peer_sb3.py``), the MinAtar paper's batch 32, one
  gradient step per frame: the case where the network's arithmetic weighs more. SB3 steps the zoo's
  own MinAtar env (``make_env(training=True)``: uint8 0/1 planes, no image scaling on either side).

Within a case both sides use the same network, batch, learning rate, replay size, learning start,
ε schedule, target period and gradient clip; double Q is off on our side because SB3's DQN has
none, and the learning rate is constant on both, so both do the same arithmetic per step. The time
is the training loop's: SB3's ``learn()`` and the zoo's loop (the ``wall_s`` its final checkpoint
records), neither counting the construction of the model or, for the zoo, the final evaluation.

    python benchmarks/dqn_vs_sb3.py                                  # both cases, 20k steps, one pair each
    python benchmarks/dqn_vs_sb3.py --repeat 3 --decompose           # median of three pairs, then the costs
    python benchmarks/dqn_vs_sb3.py --envs CartPole-v1 --steps 5000

The zoo side uses its optional C++ update of plain MLP learners (``zoo native build``: the script
builds it first, outside the timing, about a minute the first time; ``--no-native`` measures the
pure-Python path). The CNN is not a plain MLP, so MinAtar takes the autograd path either way.

``--decompose`` adds one instrumented pair per case: microseconds per env step in the env step,
acting, storing, sampling, the update (sampling excluded) and the loop around them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_sb3 import MINATAR_TORSO, zoo_torso_class  # noqa: E402  (the same torso handed to SB3)

CASES: dict[str, dict[str, Any]] = {
    "CartPole-v1": {
        "hidden": (64, 64), "torso": None,
        "settings": {"lr": 1e-3, "batch_size": 64, "buffer_size": 50_000, "learning_starts": 1_000, "gamma": 0.99,
                     "train_freq": 1, "gradient_steps": 1, "target_update_interval": 500, "max_grad_norm": 10.0},
    },
    "MinAtar/Breakout-v1": {
        "hidden": None, "torso": MINATAR_TORSO,
        "settings": {"lr": 2.5e-4, "batch_size": 32, "buffer_size": 100_000, "learning_starts": 1_000,
                     "gamma": 0.99, "train_freq": 1, "gradient_steps": 1, "target_update_interval": 1_000,
                     "max_grad_norm": 10.0},
    },
}
EXPLORATION = {"eps_start": 1.0, "eps_end": 0.05}


def run_zoo(env_id: str, steps: int, seed: int) -> float:
    """Seconds the zoo's training loop took for ``steps`` env steps."""
    import zoo_core
    from zoo_core.running.checkpoint import latest_checkpoint, read_json

    case = CASES[env_id]
    overrides = [f"{k}={v}" for k, v in case["settings"].items()]
    overrides += [f"{k}={v}" for k, v in EXPLORATION.items()]
    overrides += [f"eps_decay_steps={int(0.1 * steps)}", "double_q=false", "lr_decay_steps=0", "run.eval_every=0",
                  "run.eval_episodes=1", "run.checkpoint_every=0", "run.log_every=1000000", "run.torch_threads=0"]
    overrides.append(f"hidden={','.join(map(str, case['hidden']))}" if case["hidden"] else f"torso={case['torso']}")
    with tempfile.TemporaryDirectory() as out:
        result = zoo_core.train("dqn", env_id, steps, seed, f"{out}/run", overrides)
        final = latest_checkpoint(Path(out) / "run" / "checkpoints")
        elapsed = read_json(final / "train_state.json")["loop"]["wall_s"]
    # steps/s is steps over this time: the run must have done every step and every update.
    agent = result.agent
    starts = case["settings"]["learning_starts"]
    assert agent.env_steps == steps and agent.updates == steps - starts + 1, (agent.env_steps, agent.updates)
    return elapsed


def run_sb3(env_id: str, steps: int, seed: int) -> float:
    """Seconds SB3's ``learn()`` took for ``steps`` env steps."""
    from stable_baselines3 import DQN

    case = CASES[env_id]
    s = case["settings"]
    if case["torso"] is None:
        policy, env, policy_kwargs = "MlpPolicy", env_id, {"net_arch": list(case["hidden"])}
    else:
        from zoo_core.host.session import resolve

        policy, env = "CnnPolicy", resolve("dqn", env_id).make_env(training=True)
        policy_kwargs = {"features_extractor_class": zoo_torso_class(), "net_arch": [], "normalize_images": False,
                         "features_extractor_kwargs": {"env_id": env_id, "torso": case["torso"]}}
    model = DQN(
        policy, env, seed=seed, verbose=0, device="cpu", learning_rate=s["lr"], batch_size=s["batch_size"],
        buffer_size=s["buffer_size"], learning_starts=s["learning_starts"], gamma=s["gamma"],
        train_freq=s["train_freq"], gradient_steps=s["gradient_steps"],
        target_update_interval=s["target_update_interval"], max_grad_norm=s["max_grad_norm"],
        exploration_initial_eps=EXPLORATION["eps_start"], exploration_final_eps=EXPLORATION["eps_end"],
        exploration_fraction=0.1, policy_kwargs=policy_kwargs,
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


def decompose(run: Any, targets: dict[str, tuple[object, str]], env_id: str, steps: int,
              seed: int) -> dict[str, float]:
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
        total = run(env_id, steps, seed)
    finally:
        for name, (owner, method) in targets.items():
            setattr(owner, method, originals[name])
    per_step = {name: 1e6 * spent[name] / steps for name in PARTS}
    per_step["update"] -= per_step["sample"]  # sampling happens inside the update on both sides
    per_step["other"] = 1e6 * total / steps - sum(per_step[n] for n in PARTS)
    per_step["total"] = 1e6 * total / steps
    return {k: round(v, 1) for k, v in per_step.items()}


def measure(env_id: str, steps: int, seed: int, repeat: int, decomposed: bool) -> dict[str, Any]:
    """The median of ``repeat`` (SB3, zoo) pairs for one case, and its cost decomposition when asked."""
    pairs = []
    for _ in range(max(repeat, 1)):
        sb3 = steps / run_sb3(env_id, steps, seed)
        zoo = steps / run_zoo(env_id, steps, seed)
        pairs.append((zoo / sb3, zoo, sb3))
        if repeat > 1:
            print(f"  {env_id} run {len(pairs)}: zoo {zoo:.1f} steps/s, SB3 {sb3:.1f} steps/s, ratio {zoo / sb3:.2f}x")
    ratio, zoo, sb3 = sorted(pairs)[(len(pairs) - 1) // 2]  # the median pair (lower middle)
    result: dict[str, Any] = {"env": env_id, "steps": steps, "zoo_steps_per_s": round(zoo, 1),
                              "sb3_steps_per_s": round(sb3, 1), "ratio": round(ratio, 2)}
    if repeat > 1:
        result["ratios"] = [round(r, 2) for r, _, _ in pairs]
    if decomposed:
        result["us_per_env_step"] = {"zoo": decompose(run_zoo, _zoo_targets(), env_id, steps, seed),
                                     "sb3": decompose(run_sb3, _sb3_targets(), env_id, steps, seed)}
    return result


def print_case(result: dict[str, Any]) -> None:
    print(f"{result['env']}: zoo DQN {result['zoo_steps_per_s']:.1f} env steps/s, "
          f"SB3 DQN {result['sb3_steps_per_s']:.1f} env steps/s, ratio {result['ratio']:.2f}x")
    parts = result.get("us_per_env_step")
    if parts:
        print(f"  {'µs per env step':16}" + "".join(f"{k:>10}" for k in (*PARTS, "other", "total")))
        for side, row in parts.items():
            print(f"  {side:16}" + "".join(f"{row[k]:10.1f}" for k in (*PARTS, "other", "total")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", default=",".join(CASES), help="comma-separated, of " + ", ".join(CASES))
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each pair this many times (SB3 then zoo each time) and report the median ratio; "
                             "a shared, noisy machine's speed drifts by 10-20%% between runs")
    parser.add_argument("--decompose", action="store_true",
                        help="then one more (instrumented) pair per case: µs per env step in env step, act, store, "
                             "sample, update and the loop around them")
    parser.add_argument("--no-native", action="store_true",
                        help="the zoo without its optional C++ update (zoo native build), the pure-Python path")
    args = parser.parse_args()
    envs = [e for e in args.envs.split(",") if e]
    unknown = [e for e in envs if e not in CASES]
    if unknown:
        parser.error(f"unknown env {unknown[0]!r}; choose from {', '.join(CASES)}")
    if args.steps <= max(CASES[e]["settings"]["learning_starts"] for e in envs):
        parser.error("--steps must be more than the learning start (1,000)")
    torch.set_num_threads(args.threads)
    from zoo_core.fast import native

    if args.no_native:
        os.environ["ZOO_NATIVE"] = "0"
    else:
        native.build()  # once per machine (about a minute), before anything is timed
    print(native.status())
    load_before = os.getloadavg()[0]  # other work on the machine skews one side of the ratio
    results = [measure(env_id, args.steps, args.seed, args.repeat, args.decompose) for env_id in envs]
    for result in results:
        print_case(result)
    summary = {"threads": args.threads, "native": native.native() is not None, "cases": results,
               "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)]}  # before, after
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
