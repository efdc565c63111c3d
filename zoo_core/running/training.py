"""Training: the driver around a run's loop (:mod:`zoo_core.running.loops`).

The loop only gathers experience and learns, one turn at a time (a generator, as in dqn_zoo); the
driver consumes its turns and, on schedule, logs, evaluates, checkpoints and draws the progress
bar. Nothing in the loop knows about files.
"""

from __future__ import annotations

import collections
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo_core.errors import CheckpointError, NonFiniteError, ZooError
from zoo_core.host.manager import plugin_versions
from zoo_core.host.session import Setup, build_agent, env_signature, resolve
from zoo_core.learning.network_spec import NetworkSpec
from zoo_core.running.checkpoint import (
    CONFIG,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
    write_folder,
    write_json,
)
from zoo_core.running.evaluation import EvalProtocol, EvalResult, evaluate, write_results
from zoo_core.running.logs import ProgressBar, RunLogger
from zoo_core.running.loops import Loop, LoopState, step_loop
from zoo_core.version import __version__

FORMAT = 1
EVAL_SEED = 1_000_000  # periodic evaluations use episodes seeded apart from training's


@dataclass
class TrainResult:
    """What :func:`train` and :func:`resume` return."""

    agent: Any
    run_dir: Path
    evaluations: list[dict[str, float]] = field(default_factory=list)
    final: EvalResult | None = None

    @property
    def best_eval_mean(self) -> float:
        """The highest periodic evaluation mean (nan when none ran)."""
        return max((e["eval_mean"] for e in self.evaluations), default=float("nan"))


def run_document(
    setup: Setup, agent: Any, signature: dict[str, Any], seed: int, total: int, command: str
) -> dict[str, Any]:
    """The JSON that describes a run (and every checkpoint and agent folder of it)."""
    return {
        "format": FORMAT,
        "zoo_version": __version__,
        "recipe": setup.recipe_text,
        "algorithm": setup.algorithm.name,
        "plugins": list(setup.plugins),
        "plugin_versions": plugin_versions(setup.plugins),
        "env_id": setup.env_id,
        "env_family": setup.family.name,
        "seed": seed,
        "total_steps": total,
        "config": setup.config.to_json(),
        "network": agent.spec.to_json(),
        "signature": signature,
        "command": command,
    }


class Trainer:
    """Drives a run: the loop plus logs, evaluations, checkpoints and the progress bar."""

    def __init__(
        self,
        run_dir: Path,
        setup: Setup,
        agent: Any,
        loop: Loop,
        doc: dict[str, Any],
        state: dict[str, Any] | None = None,
    ):
        self.run_dir, self.setup, self.agent, self.loop, self.doc = run_dir, setup, agent, loop, doc
        self.run_cfg = setup.config["run"]
        state = state or {}
        self.episodes = state.get("episodes", 0)
        self.recent = collections.deque(state.get("recent_returns", []), maxlen=100)
        best = state.get("best_eval")
        self.best = -float("inf") if best is None else best
        self.evaluations: list[dict[str, float]] = []

    def _due(self, every: int, step: int, previous: int) -> bool:
        return every > 0 and step // every > previous // every

    def fit(self, total: int, progress: bool = False) -> TrainResult:
        """Train until ``total`` env steps, then checkpoint, evaluate and write the results."""
        agent, run = self.agent, self.run_cfg
        start_step = agent.env_steps
        extra = [*agent.metrics(), *getattr(self.loop, "metric_names", ())]
        logger = RunLogger(self.run_dir, resume_step=start_step if start_step else None, extra_columns=extra)
        bar = ProgressBar(total, start_step, progress)
        t0, s0 = time.perf_counter(), start_step
        last_ckpt = latest_checkpoint(self.run_dir / "checkpoints")
        self.loop_metrics: dict[str, float] = {}
        try:
            previous = start_step
            for turn in self.loop.turns(total):
                step = agent.env_steps
                if turn.metrics:
                    self.loop_metrics.update(turn.metrics)
                for env_index, ret, length in turn.episodes:
                    self.episodes += 1
                    self.recent.append(ret)
                    self.setup.pm.hook.zoo_on_episode_end(
                        agent=agent, env_index=env_index, episode_return=ret, length=length, step=step
                    )
                # Per-step bookkeeping stays cheap: the rate and recent return are computed only
                # when the bar redraws (at most 5 times a second) or a log row is due.
                if bar.enabled and bar.due():
                    bar.update(step, (step - s0) / max(time.perf_counter() - t0, 1e-9), self.recent_return())
                if self._due(run.log_every, step, previous):
                    wall = time.perf_counter() - t0
                    self._log(logger, step, (step - s0) / max(wall, 1e-9), wall)
                reached = False
                if self._due(run.eval_every, step, previous):
                    mean = self._evaluate(logger, step).summary["mean"]
                    reached = run.target_return is not None and mean >= run.target_return
                if self._due(run.checkpoint_every, step, previous):
                    last_ckpt = self.checkpoint()
                previous = step
                if reached:
                    break
        except NonFiniteError as exc:
            where = f"; last good checkpoint: {last_ckpt}" if last_ckpt else "; no checkpoint was written yet"
            logger.close()
            self.loop.close()
            raise NonFiniteError(f"training stopped: {exc}{where}") from None
        except KeyboardInterrupt:
            saved = self.checkpoint()
            logger.close()
            self.loop.close()
            raise KeyboardInterrupt(f"interrupted; checkpoint saved at {saved}") from None
        except BaseException:
            self.loop.close()
            raise
        finally:
            bar.update(agent.env_steps, (agent.env_steps - s0) / max(time.perf_counter() - t0, 1e-9),
                       self.recent_return(), force=True)
            bar.close()
        try:
            if last_ckpt is None or last_ckpt.name != f"step_{agent.env_steps:012d}":
                self.checkpoint()
        finally:
            self.loop.close()
        final = self._evaluate(logger, agent.env_steps, final=True)
        logger.close()
        self._plot()
        return TrainResult(agent, self.run_dir, self.evaluations, final)

    def recent_return(self) -> float | None:
        return float(np.mean(self.recent)) if self.recent else None

    def _log(self, logger: RunLogger, step: int, rate: float, wall: float) -> None:
        if not self.agent.parameters_finite():
            raise NonFiniteError(f"non-finite network parameter at env step {step}")
        row = {
            "env_steps": step,
            "episodes": self.episodes,
            "return_mean": self.recent_return(),
            "steps_per_s": rate,
            "wall_s": wall,
            **self.agent.metrics(),
            **self.loop_metrics,
        }
        logger.log_train(row)
        self.setup.pm.hook.zoo_on_log(agent=self.agent, step=step, metrics=row)

    def protocol(self, episodes: int | None = None) -> EvalProtocol:
        """The periodic evaluation protocol of this run."""
        return EvalProtocol(
            env_id=self.setup.env_id,
            episodes=episodes or self.run_cfg.eval_episodes,
            seed=EVAL_SEED,
            epsilon=self.run_cfg.eval_epsilon,
        )

    def _evaluate(self, logger: RunLogger, step: int, final: bool = False) -> EvalResult:
        result = evaluate(self.agent.act, lambda: self.setup.make_env(training=False), self.protocol())
        s = result.summary
        row = {
            "env_steps": step,
            "eval_mean": s["mean"],
            "eval_std": s["std"],
            "eval_iqm": s["iqm"],
            "eval_episodes": s["episodes"],
        }
        if not final:
            logger.log_eval(row)
            self.evaluations.append(row)
            if s["mean"] >= self.best:
                self.best = s["mean"]
                self.save_agent(self.run_dir / "best", extra={"eval": row})
        else:
            write_results(result, self.run_dir / "results.json", extra={"env_steps": step})
        return result

    def save_agent(self, folder: Path, extra: dict[str, Any] | None = None) -> Path:
        """Write a standalone agent folder: ``model.safetensors`` + ``config.json`` + manifest."""
        doc = dict(self.doc, **(extra or {}))
        return write_folder(folder, {"model": self.agent.model_tensors()}, {"config": doc})

    def checkpoint(self) -> Path:
        """Write a checkpoint of everything an exact resume needs."""
        agent = self.agent
        if not agent.parameters_finite():
            raise NonFiniteError(f"non-finite network parameter at env step {agent.env_steps}")
        tensors, meta = agent.train_state()
        meta["loop"] = {
            "episodes": self.episodes,
            "recent_returns": list(self.recent),
            "best_eval": self.best if self.evaluations or self.best > -float("inf") else None,
        }
        loop_tensors, meta["env"] = self.loop.state_dict()
        tensors.update({f"loop.{k}": v for k, v in loop_tensors.items()})
        path = save_checkpoint(
            self.run_dir / "checkpoints",
            agent.env_steps,
            {"model": agent.model_tensors(), "train_state": tensors},
            {"config": self.doc, "train_state": meta},
            keep=self.run_cfg.keep_checkpoints,
        )
        self.setup.pm.hook.zoo_on_checkpoint(agent=agent, path=str(path))
        return path

    def _plot(self) -> None:
        if not self.evaluations:
            return
        from zoo_core.running.plots import plot_learning_curve

        plot_learning_curve(
            self.run_dir / "eval.csv",
            self.run_dir / "learning_curve.png",
            title=f"{self.setup.recipe_text} on {self.setup.env_id}",
        )


def _command() -> str:
    return shlex.join(["zoo", *sys.argv[1:]]) if Path(sys.argv[0]).name == "zoo" else "python API"


def _make_loop(setup: Setup, agent: Any, seed: int, state: LoopState | None = None) -> Loop:
    return (setup.algorithm.loop or step_loop)(agent, setup, seed, state)


def train(
    recipe: str = "dqn",
    env: str = "CartPole-v1",
    steps: int = 50_000,
    seed: int = 0,
    out: str | Path | None = None,
    overrides: Sequence[str] = (),
    plugins: Sequence[object] = (),
    progress: bool = False,
    command: str | None = None,
) -> TrainResult:
    """Train a recipe on an env and return the agent with its evaluations.

    :param recipe: ``dqn`` or a composition such as ``dqn+dueling``.
    :param env: environment id (``CartPole-v1``, ``ALE/Pong-v5``, ``MinAtar/Breakout-v1``).
    :param steps: total environment steps.
    :param seed: seeds networks, exploration, replay sampling and the env episodes.
    :param out: run directory (default ``runs/<recipe>-<env>-s<seed>``); must not hold a run.
    :param overrides: ``key=value`` hyperparameters (``lr=1e-3``, ``run.eval_every=5000``).
    :param plugins: in-process plugin objects added to the agent's manager.
    :param progress: show a progress bar.
    """
    if steps <= 0:
        raise ZooError(f"--steps must be positive; got {steps}")
    setup = resolve(recipe, env, overrides, plugins)
    run_dir = Path(out) if out else Path("runs") / f"{recipe}-{env.replace('/', '_')}-s{seed}"
    if (run_dir / CONFIG).exists():
        raise ZooError(f"{run_dir} already holds a run; continue it with `zoo resume {run_dir}` or pick another --out")
    run_dir.mkdir(parents=True, exist_ok=True)
    _threads(setup)
    probe = setup.make_env(training=True)
    signature = env_signature(probe)
    probe.close()
    agent = build_agent(setup, signature, seed)
    doc = run_document(setup, agent, signature, seed, steps, command or _command())
    write_json(run_dir / CONFIG, doc)
    return Trainer(run_dir, setup, agent, _make_loop(setup, agent, seed), doc).fit(steps, progress)


def _threads(setup: Setup) -> None:
    if setup.config["run"].torch_threads > 0:
        torch.set_num_threads(setup.config["run"].torch_threads)


def resume(
    run_dir: str | Path, steps: int | None = None, plugins: Sequence[object] = (), progress: bool = False
) -> TrainResult:
    """Continue a run from its latest checkpoint, exactly where it stopped.

    :param steps: new total env steps (default: the run's own total).
    """
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).is_file():
        raise ZooError(f"{run_dir} is not a zoo run directory (no {CONFIG})")
    ckpt = latest_checkpoint(run_dir / "checkpoints")
    if ckpt is None:
        raise CheckpointError(f"{run_dir} has no complete checkpoint to resume from")
    tensors, docs = load_checkpoint(ckpt)
    doc = docs["config"]
    setup = resolve(doc["recipe"], doc["env_id"], (), plugins, saved=doc["config"])
    _threads(setup)
    agent = build_agent(setup, doc["signature"], doc["seed"], spec=NetworkSpec.from_json(doc["network"]))
    agent.load_model(tensors["model"])
    train_tensors = tensors["train_state"]
    loop_tensors = {k[len("loop."):]: v for k, v in train_tensors.items() if k.startswith("loop.")}
    agent.load_train_state({k: v for k, v in train_tensors.items() if not k.startswith("loop.")}, docs["train_state"])
    loop = _make_loop(setup, agent, doc["seed"], (loop_tensors, docs["train_state"]["env"]))
    total = steps if steps is not None else doc["total_steps"]
    doc = dict(doc, total_steps=total)
    write_json(run_dir / CONFIG, doc)
    trainer = Trainer(run_dir, setup, agent, loop, doc, docs["train_state"]["loop"])
    return trainer.fit(total, progress)
