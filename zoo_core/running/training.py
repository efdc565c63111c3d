"""Training: the driver around a run's loop (:mod:`zoo_core.running.loops`).

The loop only gathers experience and learns, one turn at a time (a generator, as in dqn_zoo); the
driver consumes its turns and, on schedule, logs, evaluates, checkpoints and draws the progress
bar. Nothing in the loop knows about files.
"""

from __future__ import annotations

import collections
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo_core.agents.parts import with_prefix
from zoo_core.errors import CheckpointError, NonFiniteError, RunInterrupted, UnsafeFileError, ZooError
from zoo_core.host.manager import plugin_versions
from zoo_core.host.session import Setup, build_agent, env_signature, resolve
from zoo_core.learning.network_spec import NetworkSpec
from zoo_core.running.checkpoint import (
    CONFIG,
    latest_checkpoint,
    list_checkpoints,
    read_checkpoint,
    read_json,
    recover_partial_writes,
    save_checkpoint,
    set_aside,
    verify_folder,
    write_folder,
    write_json,
)
from zoo_core.running.evaluation import EvalProtocol, EvalResult, write_results
from zoo_core.running.interrupts import StopSignals
from zoo_core.running.logs import ProgressBar, RunLogger
from zoo_core.running.loops import Loop, LoopState, step_loop
from zoo_core.running.run_folder import RunFolder
from zoo_core.version import __version__

FORMAT = 1
EVAL_SEED = 1_000_000  # periodic evaluations use episodes seeded apart from training's


@dataclass
class TrainResult:
    """What :func:`train` and :func:`resume` return.

    ``agent`` is None when :func:`resume` found the run already complete (nothing was trained).
    """

    agent: Any
    run_dir: Path
    evaluations: list[dict[str, float]] = field(default_factory=list)
    """This session's periodic evaluations."""
    final: EvalResult | None = None
    best: float | None = None
    """The best periodic evaluation mean of the whole run (what ``best/`` holds), resumes included:
    the highest return, or the lowest value of a lower-is-better metric."""
    stopped_early: str | None = None
    """Why training ended before its step budget (``run.target_return`` reached), else None."""
    complete: bool = False
    """:func:`resume` of a finished run: nothing to do."""

    @property
    def best_eval_mean(self) -> float:
        """The best periodic evaluation mean of the run, in its metric's direction (nan when none ran)."""
        return float("nan") if self.best is None else self.best


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
    """Drives a run: the loop plus logs, evaluations, checkpoints and the progress bar.

    :param state: the ``loop`` section of the checkpoint being resumed (episodes, recent returns,
        best evaluation, wall-clock seconds so far), or None for a new run.
    :param stop: the signals that ask the run to stop; they are honoured between turns, where a
        checkpoint is consistent (see :mod:`zoo_core.running.interrupts`).
    """

    def __init__(
        self,
        run_dir: Path,
        setup: Setup,
        agent: Any,
        loop: Loop,
        doc: dict[str, Any],
        state: dict[str, Any] | None = None,
        stop: StopSignals | None = None,
    ):
        self.run_dir, self.setup, self.agent, self.loop, self.doc = run_dir, setup, agent, loop, doc
        self.run_cfg = setup.config["run"]
        state = state or {}
        self.episodes = state.get("episodes", 0)
        self.recent = collections.deque(state.get("recent_returns", []), maxlen=100)
        self.best: float | None = state.get("best_eval")
        self.wall_before = float(state.get("wall_s", 0.0))  # seconds trained before this session
        self.evaluations: list[dict[str, float]] = []
        self.stop = stop or StopSignals()
        self.stopped_early: str | None = None
        self._t0 = time.perf_counter()

    def _due(self, every: int, step: int, previous: int) -> bool:
        return every > 0 and step // every > previous // every

    def wall(self) -> float:
        """Seconds of training, over every session of the run."""
        return self.wall_before + time.perf_counter() - self._t0

    def fit(self, total: int, progress: bool = False, rows: bool = False) -> TrainResult:
        """Train until ``total`` env steps, then checkpoint, evaluate and write the results.

        :param progress: draw a progress bar (on stderr).
        :param rows: print a compact log row to stdout every ``run.log_every`` steps (for logs
            that are not a terminal).
        :raises RunInterrupted: a stop signal arrived; the run was checkpointed first (if it
            trained at all since its last checkpoint).
        """
        agent, run = self.agent, self.run_cfg
        start_step = agent.env_steps
        extra = [*agent.metrics(), *getattr(self.loop, "metric_names", ())]
        logger = RunLogger(self.run_dir, resume_step=start_step if start_step else None, extra_columns=extra)
        bar = ProgressBar(total, start_step, progress)
        self._t0 = t0 = time.perf_counter()
        s0 = start_step
        last_ckpt = latest_checkpoint(self.run_dir / "checkpoints")
        minutes = run.checkpoint_minutes
        last_time = time.monotonic()
        self.loop_metrics: dict[str, float] = {}
        try:
            previous = start_step
            for turn in ([] if self.stop.requested else self.loop.turns(total)):
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
                    self._log(logger, step, (step - s0) / max(time.perf_counter() - t0, 1e-9), total, rows)
                reached = False
                if self._due(run.eval_every, step, previous):
                    mean = self._evaluate(logger, step).summary["mean"]
                    reached = run.target_return is not None and self.protocol().better(mean, run.target_return)
                    if reached:
                        self.stopped_early = (
                            f"stopped at step {step}: the evaluation mean {mean:.1f} reached "
                            f"run.target_return={run.target_return:g}"
                        )
                if self._due(run.checkpoint_every, step, previous) or (
                    minutes > 0 and time.monotonic() - last_time >= 60 * minutes
                ):
                    last_ckpt, last_time = self.checkpoint(), time.monotonic()
                previous = step
                if reached or self.stop.requested:
                    break
        except NonFiniteError as exc:
            where = f"; last good checkpoint: {last_ckpt}" if last_ckpt else "; no checkpoint was written yet"
            logger.close()
            self.loop.close()
            raise NonFiniteError(f"training stopped: {exc}{where}") from None
        except BaseException:
            logger.close()
            self.loop.close()
            raise
        finally:
            bar.update(agent.env_steps, (agent.env_steps - s0) / max(time.perf_counter() - t0, 1e-9),
                       self.recent_return(), force=True)
            bar.close()
        current = f"step_{agent.env_steps:012d}"
        try:
            if agent.env_steps > start_step and (last_ckpt is None or last_ckpt.name != current):
                last_ckpt = self.checkpoint()
        except BaseException:
            logger.close()
            raise
        finally:
            self.loop.close()
        if self.stop.requested:
            logger.close()
            raise self._interrupted(last_ckpt if agent.env_steps > 0 else None)
        final = self._evaluate(logger, agent.env_steps, final=True)
        logger.close()
        self._plot()
        return TrainResult(agent, self.run_dir, self.evaluations, final, self.best, self.stopped_early)

    def _interrupted(self, checkpoint: Path | None) -> RunInterrupted:
        signum, name = self.stop.signum or signal.SIGINT, self.stop.name or "SIGINT"
        if checkpoint is None:
            return RunInterrupted(f"{name}: stopped before the first step; nothing was kept", signum, None)
        return RunInterrupted(
            f"{name}: stopped at step {self.agent.env_steps}; checkpoint saved at {checkpoint}; "
            f"continue with: zoo resume {shlex.quote(str(self.run_dir))}",
            signum,
            checkpoint,
        )

    def recent_return(self) -> float | None:
        return float(np.mean(self.recent)) if self.recent else None

    def _log(self, logger: RunLogger, step: int, rate: float, total: int, rows: bool) -> None:
        if not self.agent.parameters_finite():
            raise NonFiniteError(f"non-finite network parameter at env step {step}")
        row = {
            "env_steps": step,
            "episodes": self.episodes,
            "return_mean": self.recent_return(),
            "steps_per_s": rate,
            "wall_s": self.wall(),
            **self.agent.metrics(),
            **self.loop_metrics,
        }
        logger.log_train(row)
        self.setup.pm.hook.zoo_on_log(agent=self.agent, step=step, metrics=row)
        if rows:
            print(log_line(row, total), flush=True)

    def protocol(self, episodes: int | None = None) -> EvalProtocol:
        """The periodic evaluation protocol of this run."""
        return self.setup.protocol(episodes or self.run_cfg.eval_episodes, EVAL_SEED, self.run_cfg.eval_epsilon,
                                   sample=self.run_cfg.eval_sample)

    def _evaluate(self, logger: RunLogger, step: int, final: bool = False) -> EvalResult:
        protocol = self.protocol()
        result = self.setup.evaluate(self.agent, protocol)
        s = result.summary
        row = {
            "env_steps": step,
            "eval_mean": s["mean"],
            "eval_std": s["std"],
            "eval_iqm": s["iqm"],
            "eval_episodes": s["episodes"],
            "eval_success": s.get("success_rate"),
        }
        if not final:
            logger.log_eval(row)
            self.evaluations.append(row)
            if self.best is None or protocol.better(s["mean"], self.best):
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
        self.loop.pause()  # work running beside the trainer holds still while it is saved
        tensors, meta = agent.train_state()
        meta["loop"] = {
            "episodes": self.episodes,
            "recent_returns": list(self.recent),
            "best_eval": self.best,
            "wall_s": self.wall(),
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
            title=f"{self.setup.recipe_text} on {self.setup.env_id}" + (
                "" if self.setup.algorithm.metric == "return" else f": held-out {self.setup.algorithm.metric}"),
        )


def log_line(row: dict[str, Any], total: int) -> str:
    """One compact log row (SB3's verbose table on one line): step, episodes, return, the agent's
    metrics, speed and wall time."""
    parts = [f"step {int(row['env_steps']):,}/{total:,}", f"episodes {row['episodes']}"]
    if row.get("return_mean") is not None:
        parts.append(f"return {row['return_mean']:.2f}")
    for key, value in row.items():
        if key in ("env_steps", "episodes", "return_mean", "steps_per_s", "wall_s"):
            continue
        if isinstance(value, float) and value.is_integer():  # counters (updates) logged as floats
            value = int(value)
        if isinstance(value, float) and value == value:
            parts.append(f"{key} {value:.4g}")
        elif isinstance(value, int) and not isinstance(value, bool):
            parts.append(f"{key} {value:,}")
    parts.append(f"{row['steps_per_s']:.0f} steps/s")
    wall = int(row["wall_s"])
    parts.append(f"{wall // 3600:02d}:{wall // 60 % 60:02d}:{wall % 60:02d}")  # hours go past 24
    return " | ".join(parts)


def say(message: str) -> None:
    """A note about the run on stderr (what resume found, what it did)."""
    print(f"zoo: {message}", file=sys.stderr, flush=True)


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
    rows: bool = False,
) -> TrainResult:
    """Train a recipe on an env and return the agent with its evaluations.

    The run folder is held by this process (a second train or resume on it is refused); SIGINT or
    SIGTERM stops the run at the next consistent point with a checkpoint (:class:`RunInterrupted`);
    a run that fails before its first step leaves the folder as it found it.

    :param recipe: ``dqn`` or a composition such as ``dqn+dueling``.
    :param env: environment id (``CartPole-v1``, ``ALE/Pong-v5``, ``MinAtar/Breakout-v1``).
    :param steps: total environment steps.
    :param seed: seeds networks, exploration, replay sampling and the env episodes.
    :param out: run directory (default ``runs/<recipe>-<env>-s<seed>``); new or empty.
    :param overrides: ``key=value`` hyperparameters (``lr=1e-3``, ``run.eval_every=5000``).
    :param plugins: in-process plugin objects added to the agent's manager.
    :param progress: show a progress bar.
    :param rows: print a compact log row every ``run.log_every`` steps.
    """
    if steps <= 0:
        raise ZooError(f"--steps must be positive; got {steps}")
    setup = resolve(recipe, env, overrides, plugins)
    run_dir = Path(out) if out else Path("runs") / f"{recipe}-{env.replace('/', '_')}-s{seed}"
    folder = RunFolder.new(run_dir)
    agent = None
    try:
        with StopSignals() as stop:
            _threads(setup)
            probe = setup.make_env(training=True)
            signature = env_signature(probe)
            probe.close()
            agent = build_agent(setup, signature, seed)
            doc = run_document(setup, agent, signature, seed, steps, command or _command())
            loop = _make_loop(setup, agent, seed)
            write_json(run_dir / CONFIG, doc)
            return Trainer(run_dir, setup, agent, loop, doc, stop=stop).fit(steps, progress, rows)
    except BaseException:
        if agent is None or agent.env_steps == 0:
            folder.abandon()  # nothing was trained: leave nothing that blocks a retry
        raise
    finally:
        folder.release()


def _threads(setup: Setup) -> None:
    if setup.config["run"].torch_threads > 0:
        torch.set_num_threads(setup.config["run"].torch_threads)


def _usable_checkpoint(run_dir: Path) -> tuple[Path | None, dict[str, Any] | None]:
    """The newest checkpoint that verifies, with its manifest; damaged newer ones are set aside.

    :raises UnsafeFileError: a checkpoint holds a pickle (tampering is refused, not worked around).
    :raises CheckpointError: the run had checkpoints and none verifies (all are set aside, so the
        next resume starts the run over).
    """
    found = list_checkpoints(run_dir / "checkpoints")
    for ckpt in reversed(found):
        try:
            return ckpt, verify_folder(ckpt)
        except UnsafeFileError:
            raise
        except CheckpointError as exc:
            aside = set_aside(ckpt)
            say(f"checkpoint {ckpt.name} is damaged ({exc}); set aside as {aside.name}, trying the one before")
    if found:
        raise CheckpointError(
            f"no checkpoint of {run_dir} verifies (each is set aside as damaged-step_*); "
            "`zoo resume` again starts the run over from step 0"
        )
    return None, None


def resume(
    run_dir: str | Path,
    steps: int | None = None,
    plugins: Sequence[object] = (),
    progress: bool = False,
    command: str | None = None,
    rows: bool = False,
    device: str | None = None,
) -> TrainResult:
    """Continue a run from its latest checkpoint, exactly where it stopped.

    A run killed before its first checkpoint starts over from step 0; a damaged latest checkpoint
    is set aside for the one before; a finished run is left as it is (``complete``). Each is said
    on stderr.

    :param steps: new total env steps (default: the run's own total).
    :param device: ``run.device`` for this resume only (``cpu`` continues a run made with
        ``run.device=cuda`` on a machine without a GPU); None keeps the run's own.
    """
    overrides = () if device is None else (f"run.device={device}",)
    run_dir = Path(run_dir)
    folder = RunFolder.existing(run_dir)
    try:
        with StopSignals() as stop:
            for root in (run_dir / "checkpoints", run_dir):
                for note in recover_partial_writes(root):
                    say(note)
            doc = read_json(run_dir / CONFIG)
            total = steps if steps is not None else doc["total_steps"]
            ckpt, manifest = _usable_checkpoint(run_dir)
            if ckpt is not None and manifest is not None and int(manifest.get("step", 0)) >= total:
                say(f"{run_dir} is complete ({manifest['step']} of {total} steps); nothing to do "
                    f"(extend it with `zoo resume {shlex.quote(str(run_dir))} --steps N`)")
                return TrainResult(None, run_dir, complete=True)
            how = command or _command()
            if how == "python API":
                how = f"zoo_core.resume({str(run_dir)!r}, steps={steps})"
            doc = dict(doc, total_steps=total, resumes=[*doc.get("resumes", []), how])
            if ckpt is None:
                say(f"{run_dir} has no complete checkpoint (it stopped before its first one): "
                    "starting the run over from step 0")
                folder.clear_outputs()
                setup, agent = _rebuild(doc, plugins, overrides)
                loop, state = _make_loop(setup, agent, doc["seed"]), None
            else:
                tensors, docs = read_checkpoint(ckpt)  # verified by _usable_checkpoint
                setup, agent = _rebuild(docs["config"], plugins, overrides)
                agent.load_model(tensors["model"])
                train_tensors, state = tensors["train_state"], docs["train_state"]
                loop_tensors = with_prefix(train_tensors, "loop.")
                agent.load_train_state({k: v for k, v in train_tensors.items() if not k.startswith("loop.")}, state)
                loop = _make_loop(setup, agent, doc["seed"], (loop_tensors, state["env"]))
                say(f"resumed from step {agent.env_steps} ({ckpt.name}); training to {total}")
            write_json(run_dir / CONFIG, doc)
            trainer = Trainer(run_dir, setup, agent, loop, doc, None if state is None else state["loop"], stop=stop)
            return trainer.fit(total, progress, rows)
    finally:
        folder.release()


def _rebuild(doc: dict[str, Any], plugins: Sequence[object], overrides: Sequence[str]) -> tuple[Setup, Any]:
    """The setup and a fresh agent of a run described by ``doc`` (its config.json or a checkpoint's
    copy), with ``overrides`` on top (a resume's ``run.device``)."""
    setup = resolve(doc["recipe"], doc["env_id"], overrides, plugins, saved=doc["config"])
    _threads(setup)
    return setup, build_agent(setup, doc["signature"], doc["seed"], spec=NetworkSpec.from_json(doc["network"]))
