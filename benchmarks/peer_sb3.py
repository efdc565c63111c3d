"""Peer benchmark: the zoo's `dqn` and `rainbow` recipes against SB3's DQN with RL Zoo's tuned settings.

    python benchmarks/peer_sb3.py --jobs 2                                   # everything: 4 envs x 3 agents x 5 seeds
    python benchmarks/peer_sb3.py --envs CartPole-v1,Acrobot-v1 --jobs 2     # some rows
    python benchmarks/peer_sb3.py --envs MinAtar/Breakout-v1 --agents sb3-dqn --seeds 1,2
    python benchmarks/peer_sb3.py --steps MinAtar/Breakout-v1=100000,MinAtar/SpaceInvaders-v1=100000
    python benchmarks/peer_sb3.py --smoke                                    # every env, tiny budgets (minutes)

Three agents per env, each trained for the same budget on the same seeds (11-15 by default: the
recipes were developed on seeds 0-8 and the quality test uses 9, so these are unseen; seed 0 is
refused), and the final agent of each run (end of budget, no
early stop, no best-checkpoint pick) scored on 100 greedy episodes:

* ``dqn`` and ``rainbow``: ``zoo_core.train`` with the recipe's own defaults for the env's family;
  only run-control settings are overridden (no periodic evaluation, one torch thread, one kept
  checkpoint).
* ``sb3-dqn``: Stable-Baselines3's ``DQN``. CartPole-v1 and Acrobot-v1 take RL Baselines3 Zoo's
  tuned entries (``hyperparams/dqn.yml`` of DLR-RM/rl-baselines3-zoo at commit ce95481b, the "Tuned"
  Acrobot and "Almost Tuned" CartPole entries; budgets are that file's ``n_timesteps``: 5e4 and 1e5).
  RL Zoo has no MinAtar entry, so MinAtar takes the DQN settings of the MinAtar paper (Young & Tian
  2019, ``examples/dqn.py`` of kenjyoung/MinAtar): batch 32, replay 100k, learning from 5k frames, one
  update per frame, target copied every 1k frames, ε from 1 to 0.1 over the first 100k frames, γ 0.99,
  Huber loss, learning rate 2.5e-4, and its network (the zoo's own ``minatar_cnn`` torso, conv 16 3x3
  -> 128, given to SB3 as a custom features extractor, then a linear layer to the actions). Two
  departures, both SB3's defaults as RL Zoo's Atari entry keeps them: Adam instead of the paper's
  centred RMSProp, and gradients clipped at norm 10. SB3's ε schedule starts at step 0, the paper's at
  the first update. The MinAtar budget defaults to 1M frames (the paper trains 5M; ``--steps``).
  SB3 collects whole rollouts of ``train_freq`` steps, so it stops on the first multiple at or past
  the budget (CartPole: 50,176 steps for 5e4, as in RL Zoo's own runs); ``trained_steps`` records it.

Same envs and the same scoring for all three: SB3 trains on an env built by the zoo (``resolve(...)
.make_env(training=True)``, MinAtar observations uint8 ``[C, 10, 10]`` of 0/1, so SB3's image
scaling is off), and every agent is scored by ``zoo_core.evaluate`` on envs from the same factory
(``make_env(training=False)``) under one ``EvalProtocol`` (100 episodes, episode i reset with seed
``--eval-seed + i``, ε = 0). SB3's policy is ``model.predict(obs, deterministic=True)``.

Per env the table gives, for each agent, the mean over seeds of the final agents' 100-episode means
± its standard error (sample std over seeds / sqrt(seeds)), its difference to ``sb3-dqn`` (± the
combined s.e.), the per-seed means, and the training wall time and speed per run.

Runs are resumable: each (env, agent, seed) writes ``--out/<env>/<agent>-s<seed>/result.json`` and a
rerun skips finished ones, so the benchmark can be run in pieces (``--envs``, ``--agents``,
``--seeds``). A zoo run interrupted midway continues with ``zoo_core.resume`` from its ``run/``
folder (one that never checkpointed starts over); an interrupted SB3 run trains again from scratch.
A folder whose result or run was made with another budget or evaluation is refused, not mixed in.
``--jobs N`` runs N (env, agent, seed) jobs at once, one process and one torch thread each.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import signal
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

# Default budget per env: RL Zoo's n_timesteps for the classic-control envs; MinAtar frames (one frame
# is one agent step: MinAtar has no frame skip).
BUDGETS: dict[str, int] = {
    "CartPole-v1": 50_000,
    "Acrobot-v1": 100_000,
    "MinAtar/Breakout-v1": 1_000_000,
    "MinAtar/SpaceInvaders-v1": 1_000_000,
}
AGENTS = ("dqn", "rainbow", "sb3-dqn")
PEER = "sb3-dqn"
EVAL_SEED = 2_000_000  # apart from the training seeds and from the zoo's periodic evaluations (1,000,000)
SMOKE_STEPS = {"CartPole-v1": 2_000, "Acrobot-v1": 2_000, "MinAtar/Breakout-v1": 6_000,
               "MinAtar/SpaceInvaders-v1": 6_000}  # MinAtar: past SB3's and the zoo's 5k-frame learning start

RL_ZOO_SOURCE = "https://github.com/DLR-RM/rl-baselines3-zoo/blob/ce95481b041fe5314c1b2f1a53940d169b9253fc/hyperparams/dqn.yml"
MINATAR_SOURCE = ("Young & Tian 2019, https://github.com/kenjyoung/MinAtar/blob/"
                  "3f078e51939810856f167b87d3d329b6dd7a5cbd/examples/dqn.py (no RL Zoo entry for MinAtar)")
# RL Baselines3 Zoo's hyperparams/dqn.yml, as SB3 keyword arguments (policy MlpPolicy).
RL_ZOO: dict[str, dict[str, Any]] = {
    "CartPole-v1": {  # "Almost Tuned"; n_timesteps 5e4
        "learning_rate": 2.3e-3, "batch_size": 64, "buffer_size": 100_000, "learning_starts": 1_000, "gamma": 0.99,
        "target_update_interval": 10, "train_freq": 256, "gradient_steps": 128, "exploration_fraction": 0.16,
        "exploration_final_eps": 0.04, "policy_kwargs": {"net_arch": [256, 256]},
    },
    "Acrobot-v1": {  # "Tuned"; n_timesteps 1e5
        "learning_rate": 6.3e-4, "batch_size": 128, "buffer_size": 50_000, "learning_starts": 0, "gamma": 0.99,
        "target_update_interval": 250, "train_freq": 4, "gradient_steps": -1, "exploration_fraction": 0.12,
        "exploration_final_eps": 0.1, "policy_kwargs": {"net_arch": [256, 256]},
    },
}
# The MinAtar paper's DQN in SB3's terms; ε's decay is 100k frames whatever the budget (see sb3_settings).
MINATAR_DQN: dict[str, Any] = {
    "learning_rate": 2.5e-4, "batch_size": 32, "buffer_size": 100_000, "learning_starts": 5_000, "gamma": 0.99,
    "target_update_interval": 1_000, "train_freq": 1, "gradient_steps": 1, "exploration_final_eps": 0.1,
}
MINATAR_EPS_FRAMES = 100_000
MINATAR_TORSO = "minatar_cnn"
ZOO_TORSO = "ZooTorso"


@dataclass(frozen=True)
class Job:
    """One training run and its final evaluation."""

    agent: str
    env_id: str
    seed: int
    steps: int
    folder: str
    eval_episodes: int
    eval_seed: int
    eval_max_steps: int | None
    command: str

    def protocol(self) -> Any:
        """The evaluation protocol every agent of this env is scored under."""
        import zoo_core

        return zoo_core.EvalProtocol(env_id=self.env_id, episodes=self.eval_episodes, seed=self.eval_seed,
                                     epsilon=0.0, max_steps=self.eval_max_steps)

    def label(self) -> str:
        return f"{self.agent} {self.env_id} s{self.seed}"


def env_folder(env_id: str) -> str:
    return env_id.replace("/", "_")


# --- SB3 ---------------------------------------------------------------------------------------


def sb3_settings(env_id: str, steps: int) -> dict[str, Any]:
    """SB3 ``DQN`` keyword arguments for an env (``policy`` included), as documented above."""
    if env_id in RL_ZOO:
        return {"policy": "MlpPolicy", **RL_ZOO[env_id]}
    if env_id.startswith("MinAtar/"):
        return {
            "policy": "CnnPolicy", **MINATAR_DQN,
            "exploration_fraction": min(1.0, MINATAR_EPS_FRAMES / steps),  # SB3's ε decays over a budget fraction
            "policy_kwargs": {
                "features_extractor_class": ZOO_TORSO,  # zoo_torso_class(), put in by train_sb3
                "features_extractor_kwargs": {"env_id": env_id, "torso": MINATAR_TORSO},
                "net_arch": [],  # the torso ends in the paper's 128-unit layer; then one linear layer
                "normalize_images": False,  # observations are 0/1 already
            },
        }
    raise ValueError(f"no SB3 settings for {env_id}")


def zoo_torso_class() -> type:
    """An SB3 features extractor holding a torso built by the zoo's own network builder (SB3 imported here)."""
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    class ZooTorso(BaseFeaturesExtractor):
        def __init__(self, observation_space: Any, env_id: str, torso: str):
            from zoo_core.api import NetworkSpec, resolve, torso_and_core

            spec = NetworkSpec(obs_shape=tuple(observation_space.shape), num_actions=1, torso=torso)
            _, body, _, features = torso_and_core(spec, resolve("dqn", env_id).catalog.modules)
            super().__init__(observation_space, features)
            self.body = body

        def forward(self, observations: Any) -> Any:
            return self.body(observations)

    return ZooTorso


def train_sb3(job: Job, make_env: Callable[..., Any]) -> tuple[Callable[[np.ndarray], np.ndarray], dict[str, Any]]:
    """Train SB3's DQN from scratch; return its greedy policy and what to record."""
    import stable_baselines3
    from stable_baselines3 import DQN

    settings = sb3_settings(job.env_id, job.steps)
    kwargs = dict(settings)
    policy_kwargs = dict(kwargs.pop("policy_kwargs"))
    if policy_kwargs.get("features_extractor_class") == ZOO_TORSO:
        policy_kwargs["features_extractor_class"] = zoo_torso_class()
    model = DQN(kwargs.pop("policy"), make_env(training=True), seed=job.seed, device="cpu", verbose=0,
                policy_kwargs=policy_kwargs, **kwargs)
    start = time.perf_counter()
    model.learn(total_timesteps=job.steps)
    wall = time.perf_counter() - start
    # SB3 collects whole rollouts of train_freq steps, so it ends on the first multiple at or past the
    # budget (RL Zoo's CartPole: 50,176 steps for 5e4), as RL Zoo's own runs do; the count is recorded.
    if not job.steps <= model.num_timesteps < job.steps + kwargs["train_freq"]:
        raise RuntimeError(f"{job.label()}: SB3 trained {model.num_timesteps} steps for a budget of {job.steps}")

    def act(obs: np.ndarray) -> np.ndarray:
        return model.predict(obs, deterministic=True)[0]

    record = {
        "trained_steps": model.num_timesteps,
        "train_wall_s": wall,
        "hyperparameters": settings,
        "source": MINATAR_SOURCE if job.env_id.startswith("MinAtar/") else RL_ZOO_SOURCE,
        "network_parameters": sum(p.numel() for p in model.q_net.parameters()),
        "network": repr(model.q_net),
        "sb3_version": stable_baselines3.__version__,
    }
    return act, record


# --- the zoo -----------------------------------------------------------------------------------


def zoo_overrides() -> list[str]:
    """Run control only: no periodic evaluation (so no best-agent pick), one thread, one checkpoint kept."""
    return ["run.eval_every=0", "run.torch_threads=1", "run.keep_checkpoints=1"]


def train_zoo(job: Job) -> tuple[Callable[[np.ndarray], np.ndarray], dict[str, Any]]:
    """Train (or continue) the recipe's run in ``<folder>/run``; return the final agent's greedy policy."""
    import zoo_core
    from zoo_core.running.checkpoint import latest_checkpoint, read_json

    run_dir = Path(job.folder) / "run"
    if (run_dir / "config.json").is_file():
        doc = read_json(run_dir / "config.json")
        mine = (job.agent, job.env_id, job.seed, job.steps)
        theirs = (doc.get("recipe"), doc.get("env_id"), doc.get("seed"), doc.get("total_steps"))
        if mine != theirs:
            raise RuntimeError(f"{run_dir} holds a run of {theirs} (recipe, env, seed, steps), not {mine}; "
                               "use another --out")
        result = zoo_core.resume(run_dir, command=job.command)
    else:
        result = zoo_core.train(job.agent, job.env_id, job.steps, job.seed, run_dir, zoo_overrides(),
                                command=job.command)
    if result.stopped_early:
        raise RuntimeError(f"{job.label()}: {result.stopped_early}")
    final = latest_checkpoint(run_dir / "checkpoints")
    if final is None or final.name != f"step_{job.steps:012d}":
        raise RuntimeError(f"{job.label()}: the last checkpoint is {final}, not the end of the budget")
    # The agent in memory is the final one; a run finished earlier is read back from its last checkpoint.
    agent = result.agent if result.agent is not None else zoo_core.load(run_dir, which="latest")
    doc = read_json(run_dir / "config.json")
    record = {
        "trained_steps": job.steps,
        "train_wall_s": read_json(final / "train_state.json")["loop"]["wall_s"],  # over every session
        "hyperparameters": doc["config"],
        "source": f"the zoo's '{job.agent}' recipe, its defaults for the {doc['env_family']} family",
        "network_parameters": sum(p.numel() for p in agent.network.parameters()),
        "network": doc["network"],
        "sessions": 1 + len(doc.get("resumes", [])),
    }
    return agent.act, record


# --- one job -----------------------------------------------------------------------------------


def expected(job: Job) -> dict[str, Any]:
    """What a stored result must match to be reused."""
    return {"agent": job.agent, "env_id": job.env_id, "seed": job.seed, "steps": job.steps,
            "eval_protocol": job.protocol().to_json()}


def read_result(job: Job) -> dict[str, Any] | None:
    """The stored result of a finished job, None if there is none; refuses one made otherwise."""
    path = Path(job.folder) / "result.json"
    if not path.is_file():
        return None
    result = json.loads(path.read_text())
    want = expected(job)
    got = {k: result.get(k) for k in want}
    if got != want:
        raise RuntimeError(f"{path} was made with {got}, not {want}; use another --out")
    return result


def run_job(job: Job) -> dict[str, Any]:
    """Train, evaluate and store one (agent, env, seed); a finished job is read back instead."""
    import torch

    torch.set_num_threads(1)
    done = read_result(job)
    if done is not None:
        return done
    import zoo_core
    from zoo_core.api import atomic_path, resolve

    Path(job.folder).mkdir(parents=True, exist_ok=True)
    make_env = resolve("dqn", job.env_id).make_env  # the zoo's env factory, for all three agents
    act, record = train_sb3(job, make_env) if job.agent == PEER else train_zoo(job)
    start = time.perf_counter()
    evaluation = zoo_core.evaluate(act, lambda: make_env(training=False), job.protocol())
    result = {
        **expected(job),
        "mean": evaluation.summary["mean"],
        **record,
        "steps_per_s": record["trained_steps"] / record["train_wall_s"],
        "eval_wall_s": time.perf_counter() - start,
        "eval": evaluation.to_json(),
        "zoo_version": zoo_core.__version__,
        "torch_version": torch.__version__,
    }
    with atomic_path(Path(job.folder) / "result.json") as tmp:
        tmp.write_text(json.dumps(result, indent=1, default=repr) + "\n")
    return result


# --- the table ---------------------------------------------------------------------------------


def summarize_agent(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean over seeds of the final agents' means, its standard error, and per-run timings."""
    means = [r["mean"] for r in results]
    n = len(means)
    se = statistics.stdev(means) / math.sqrt(n) if n > 1 else math.nan
    return {
        "seeds": [r["seed"] for r in results],
        "per_seed_means": means,
        "mean": statistics.fmean(means),
        "se": se,
        "train_wall_s_mean": statistics.fmean(r["train_wall_s"] for r in results),
        "steps_per_s_mean": statistics.fmean(r["steps_per_s"] for r in results),
        "hyperparameters_source": results[0]["source"],
    }


def _pm(mean: float, se: float, signed: bool = False) -> str:
    text = f"{mean:+.2f}" if signed else f"{mean:.2f}"
    return text + ("" if math.isnan(se) else f" ± {se:.2f}")


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def table_rows(env_summary: dict[str, Any]) -> list[list[str]]:
    """One row per agent: agent, mean ± s.e., difference to SB3 ± s.e., per-seed means, wall, speed."""
    peer = env_summary["agents"].get(PEER)
    rows = []
    for agent, s in env_summary["agents"].items():
        if peer is not None and agent != PEER:
            se = math.sqrt(s["se"] ** 2 + peer["se"] ** 2)
            diff = _pm(s["mean"] - peer["mean"], se, signed=True)
        else:
            diff = ""
        seeds = ", ".join(f"{m:.1f}" for m in s["per_seed_means"])
        rows.append([agent, _pm(s["mean"], s["se"]), diff, seeds, _duration(s["train_wall_s_mean"]),
                     f"{s['steps_per_s_mean']:,.0f}"])
    return rows


HEADER = ["agent", "mean ± s.e.", f"vs {PEER}", "per-seed means", "train wall / run", "steps/s"]


def print_tables(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 140)  # a log file gets the whole table
    for env_id, env_summary in summary["envs"].items():
        n = max(len(s["seeds"]) for s in env_summary["agents"].values())
        table = Table(title=f"{env_id}: {env_summary['steps']:,} steps, {n} seeds, final agent on "
                            f"{summary['eval']['episodes']} greedy episodes", title_justify="left")
        for i, name in enumerate(HEADER):
            table.add_column(name, justify="left" if i in (0, 3) else "right")
        for row in table_rows(env_summary):
            table.add_row(*row)
        console.print(table)
    # The same figures as Markdown rows, for the README.
    print("| env | " + " | ".join(HEADER) + " |")
    print("|---" * (len(HEADER) + 1) + "|")
    for env_id, env_summary in summary["envs"].items():
        for row in table_rows(env_summary):
            print(f"| {env_id} | " + " | ".join(row) + " |")


# --- main --------------------------------------------------------------------------------------


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", default=",".join(BUDGETS), help="comma-separated env ids (default: all four)")
    parser.add_argument("--agents", default=",".join(AGENTS), help="comma-separated, of " + ", ".join(AGENTS))
    parser.add_argument("--seeds", default="11,12,13,14,15",
                        help="comma-separated training seeds (0 is refused; the default ones no recipe was tuned on)")
    parser.add_argument("--steps", default=None,
                        help="budget for every selected env (N), or for some (ENV=N,ENV=N), in place of its default "
                             "(" + ", ".join(f"{k} {v:,}" for k, v in BUDGETS.items()) + ")")
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--eval-seed", type=int, default=EVAL_SEED, help="episode i is reset with this + i")
    parser.add_argument("--eval-max-steps", type=int, default=None,
                        help="cap on an evaluation episode's length (MinAtar has no time limit); default none")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once, one process each")
    parser.add_argument("--out", default=None, help="runs and results (default runs/peer-sb3, or runs/peer-sb3-smoke)")
    parser.add_argument("--out-json", default=None, help="the summary (default <out>/peer_sb3.json)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny budgets (2k steps, MinAtar 6k), 5 evaluation episodes, seeds 1,2: "
                             "checks the plumbing")
    args = parser.parse_args(argv)
    if args.smoke:
        args.eval_episodes = 5 if args.eval_episodes == 100 else args.eval_episodes
        args.seeds = "11,12" if args.seeds == "11,12,13,14,15" else args.seeds
    args.out = Path(args.out or ("runs/peer-sb3-smoke" if args.smoke else "runs/peer-sb3"))
    args.out_json = Path(args.out_json or args.out / "peer_sb3.json")
    args.env_ids = _csv(args.envs)
    args.agent_names = _csv(args.agents)
    for name, chosen, valid in (("env", args.env_ids, BUDGETS), ("agent", args.agent_names, AGENTS)):
        unknown = [c for c in chosen if c not in valid]
        if unknown or not chosen:
            parser.error(f"unknown {name} {', '.join(unknown) or '(none given)'}; valid: {', '.join(valid)}")
    try:
        args.seed_list = [int(s) for s in _csv(args.seeds)]
    except ValueError:
        parser.error(f"--seeds takes integers, got {args.seeds!r}")
    if not args.seed_list or 0 in args.seed_list or min(args.seed_list) < 0:
        parser.error("--seeds: positive integers; seed 0 is left out (the recipes were developed on it)")
    try:
        args.budgets = parse_budgets(args.steps, args.env_ids)
    except ValueError as exc:
        parser.error(f"--steps: {exc}")
    if args.jobs < 1 or args.eval_episodes < 1:
        parser.error("--jobs and --eval-episodes must be at least 1")
    return args


def parse_budgets(text: str | None, env_ids: Sequence[str]) -> dict[str, int]:
    """``--steps``: ``N`` for every env, or ``ENV=N`` pairs for some; the envs it leaves out keep their default."""
    if text is None:
        return {}
    if "=" not in text:
        budgets = dict.fromkeys(env_ids, int(text))
    else:
        budgets = {}
        for pair in _csv(text):
            env_id, _, value = pair.rpartition("=")
            if env_id not in BUDGETS:
                raise ValueError(f"unknown env {env_id!r} in {pair!r}; valid: {', '.join(BUDGETS)}")
            budgets[env_id] = int(value)
    if any(steps <= 0 for steps in budgets.values()):
        raise ValueError("a budget must be positive")
    return budgets


def make_jobs(args: argparse.Namespace) -> list[Job]:
    command = shlex.join(["python", *sys.argv])
    jobs = []
    for env_id in args.env_ids:
        steps = args.budgets.get(env_id) or (SMOKE_STEPS if args.smoke else BUDGETS)[env_id]
        for agent in args.agent_names:
            for seed in args.seed_list:
                folder = args.out / env_folder(env_id) / f"{agent}-s{seed}"
                jobs.append(Job(agent, env_id, seed, steps, str(folder), args.eval_episodes, args.eval_seed,
                                args.eval_max_steps, command))
    return jobs


def run_all(jobs: Sequence[Job], workers: int) -> tuple[dict[Job, dict[str, Any]], dict[Job, str]]:
    """Run the jobs (finished ones are read back); return results and failures by job."""
    results: dict[Job, dict[str, Any]] = {}
    failures: dict[Job, str] = {}
    pending = []
    for job in jobs:
        try:
            done = read_result(job)
        except (RuntimeError, ValueError) as exc:
            failures[job] = str(exc)
            continue
        if done is not None:
            results[job] = done
        else:
            pending.append(job)
    refused = f" ({len(failures)} refused)" if failures else ""
    print(f"{len(results)} of {len(jobs)} runs already finished{refused}; {len(pending)} to run, "
          f"{workers} at a time", flush=True)
    # Longest first (MinAtar, then Acrobot, then CartPole), so the last ones to finish are short.
    pending.sort(key=lambda j: -j.steps)

    def report(job: Job, result: dict[str, Any]) -> None:
        results[job] = result
        print(f"[{len(results) + len(failures)}/{len(jobs)}] {job.label()}: {result['mean']:.2f} over "
              f"{job.eval_episodes} episodes; trained in {_duration(result['train_wall_s'])} "
              f"({result['steps_per_s']:,.0f} steps/s)", flush=True)

    def fail(job: Job, exc: BaseException) -> None:
        failures[job] = f"{type(exc).__name__}: {exc}"
        print(f"[{len(results) + len(failures)}/{len(jobs)}] {job.label()} FAILED: {failures[job]}", flush=True)

    if workers == 1:
        for job in pending:
            print(f"start {job.label()} ({job.steps:,} steps)", flush=True)
            try:
                report(job, run_job(job))
            except Exception as exc:
                fail(job, exc)
        return results, failures
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
    try:
        futures = {pool.submit(run_job, job): job for job in pending}
        waiting: set[Future] = set(futures)
        while waiting:
            finished, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            for future in finished:
                try:
                    report(futures[future], future.result())
                except Exception as exc:
                    fail(futures[future], exc)
    except KeyboardInterrupt:
        # Ctrl-C reaches the workers too (zoo runs checkpoint, then stop); a SIGTERM sent to this
        # process alone would leave them running queued jobs into the folders a rerun then uses: pass it on.
        if _TERMINATED:
            for proc in list(getattr(pool, "_processes", {}).values()):
                if proc.is_alive():
                    os.kill(proc.pid, signal.SIGTERM)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # start no queued job
    return results, failures


def summarize(jobs: Sequence[Job], results: dict[Job, dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    envs: dict[str, Any] = {}
    for env_id in args.env_ids:
        agents = {}
        for agent in args.agent_names:
            done = [results[j] for j in jobs if j.env_id == env_id and j.agent == agent and j in results]
            if done:
                agents[agent] = summarize_agent(sorted(done, key=lambda r: r["seed"]))
        if agents:
            steps = next(j.steps for j in jobs if j.env_id == env_id)
            envs[env_id] = {"steps": steps, "agents": agents,
                            "sb3_hyperparameters": sb3_settings(env_id, steps)}
    return {
        "benchmark": "peer: zoo dqn and rainbow recipes vs SB3 DQN with RL Zoo's tuned hyperparameters",
        "eval": jobs[0].protocol().to_json() | {"env_id": "(per env)"},
        "seeds": args.seed_list,
        "smoke": args.smoke,
        "envs": envs,
        "loadavg_1m_end": round(os.getloadavg()[0], 2),
    }


def merge_summaries(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """``new`` laid over the summary already in the file: the rows this invocation made replace theirs,
    and the other envs' and agents' rows stay, so a benchmark run in pieces (``--envs``, ``--agents``)
    keeps one summary of everything. Only a summary of the same evaluation, seeds and smoke setting is
    kept from (another is replaced whole; every run's ``result.json`` is still there to rebuild it)."""
    same = ("eval", "seeds", "smoke")
    if not old or any(old.get(key) != new[key] for key in same):
        return new
    envs = dict(old.get("envs", {}))
    for env_id, row in new["envs"].items():
        kept = envs.get(env_id)
        if kept is not None and kept.get("steps") == row["steps"]:
            row = {**row, "agents": _in_order({**kept["agents"], **row["agents"]}, AGENTS)}
        envs[env_id] = row
    return {**new, "envs": _in_order(envs, tuple(BUDGETS))}


def read_summary(path: Path) -> dict[str, Any] | None:
    """The summary a previous invocation wrote, or None (none there, or not readable as one)."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _in_order(table: dict[str, Any], order: Sequence[str]) -> dict[str, Any]:
    """``table`` with its keys in the benchmark's own order (unknown keys last), whatever order the
    pieces were run in."""
    return {key: table[key] for key in sorted(table, key=lambda k: order.index(k) if k in order else len(order))}


_TERMINATED: list[int] = []  # the SIGTERM this process got, if any


def _terminate(signum: int, frame: Any) -> None:
    _TERMINATED.append(signum)
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)  # stop as Ctrl-C does: finished runs kept, workers stopped
    jobs = make_jobs(args)
    try:
        results, failures = run_all(jobs, args.jobs)
    except KeyboardInterrupt:
        print("interrupted: finished runs are kept; the same command continues the rest "
              "(zoo runs from their last checkpoint, SB3 runs from scratch)", file=sys.stderr)
        return 130
    summary = merge_summaries(read_summary(args.out_json), summarize(jobs, results, args))
    if failures:
        summary["failures"] = {job.label(): why for job, why in failures.items()}
    args.out_json.parent.mkdir(parents=True, exist_ok=True)
    args.out_json.write_text(json.dumps(summary, indent=1) + "\n")
    if summary["envs"]:
        print_tables(summary)
    print(f"summary: {args.out_json}")
    for label, why in summary.get("failures", {}).items():
        print(f"FAILED {label}: {why}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
