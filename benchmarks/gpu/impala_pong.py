"""IMPALA on ALE/Pong-v5 with the learner on a GPU: train for a fixed wall-clock time, evaluate the
final agent, write the throughput and the score to a JSON file (``benchmarks/gpu/run.sh`` calls it).

    python benchmarks/gpu/impala_pong.py --minutes 10 --out OUT     # GPU machine: OUT/gpu_impala_pong.json
    python benchmarks/gpu/impala_pong.py --smoke --out /tmp/smoke   # any machine: CPU, CartPole, 20 s

The run is stopped the way a user stops one, by SIGINT: a small in-process plugin sends it to this
process at the first log row past the training time, the trainer checkpoints and raises
``RunInterrupted``. The final agent is then exported as an agent folder (``zoo export``), whose
evaluation gives the score. Frames are env frames: agent steps x the env's frame skip (4 for ALE).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

import zoo_core
from zoo_core import hookimpl
from zoo_core.errors import RunInterrupted
from zoo_core.host.session import resolve

RESULT = "gpu_impala_pong.json"

# 16 cores: 14 actor processes of 8 envs (batched inference over their envs, on the CPU), the learner
# and the main loop on the rest; 8 unrolls of [20, 8] per update keep the GPU busier than the paper's 4.
GPU_SETTINGS = [
    "run.device=cuda", "impala.num_actors=14", "impala.envs_per_actor=8", "impala.batch_size=8",
    "run.eval_every=0", "run.checkpoint_every=0", "run.checkpoint_minutes=5", "run.log_every=20000",
]
SMOKE_SETTINGS = [
    "run.device=cpu", "impala.num_actors=2", "run.eval_every=0", "run.checkpoint_every=0", "run.log_every=2000",
]


class StopAfter:
    """An in-process plugin that stops the run at the first log row whose training time (the
    trainer's own clock, ``wall_s`` in progress.csv; process start-up is not counted) reaches
    ``seconds``: SIGINT to this process, which the trainer answers with a checkpoint and
    ``RunInterrupted``, as when a user presses Ctrl-C."""

    name = "stop-after"

    def __init__(self, seconds: float):
        self.seconds, self.sent = seconds, False

    @hookimpl
    def zoo_on_log(self, agent: Any, step: int, metrics: dict[str, float]) -> None:
        if not self.sent and metrics["wall_s"] >= self.seconds:
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)


def frame_skip(env_id: str) -> int:
    """Env frames per agent step of the training env (the Atari family's ``frame_skip``, else 1)."""
    env = resolve("impala", env_id).make_env(training=True)
    try:
        return int(env.get_wrapper_attr("frame_skip"))
    except AttributeError:
        return 1
    finally:
        env.close()


def throughput(run_dir: Path, skip: int) -> dict[str, float]:
    """Rates from ``progress.csv``: steady (first to last row, start-up excluded) and overall."""
    rows = list(csv.DictReader(open(run_dir / "progress.csv")))
    if len(rows) < 2:
        raise SystemExit(f"{run_dir}: fewer than 2 log rows; train longer (--minutes) or log more often")
    first, last = rows[0], rows[-1]
    wall = float(last["wall_s"]) - float(first["wall_s"])
    steps = float(last["env_steps"]) - float(first["env_steps"])
    return {
        "env_steps": int(float(last["env_steps"])),
        "frames": int(float(last["env_steps"])) * skip,
        "train_wall_s": float(last["wall_s"]),
        "env_steps_per_s": steps / wall,
        "frames_per_s": steps * skip / wall,
        "frames_per_s_overall": float(last["env_steps"]) * skip / float(last["wall_s"]),
        "updates": int(float(last["updates"])),
        "updates_per_s": (float(last["updates"]) - float(first["updates"])) / wall,
        "policy_lag": float(last["policy_lag"]),
        "training_return_mean": float(last["return_mean"] or "nan"),
    }


def write(path: Path, doc: dict[str, Any]) -> None:
    """Write the results (again after each stage, so a cut-off call still leaves what it measured)."""
    path.write_text(json.dumps(doc, indent=2, allow_nan=True) + "\n")
    print(f"wrote {path}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.environ.get("OUT", "benchmarks/gpu/out"),
                        help="where the JSON and the agent folder go (default: $OUT)")
    parser.add_argument("--minutes", type=float, default=10.0, help="wall-clock training time")
    parser.add_argument("--episodes", type=int, default=3, help="evaluation episodes of the final agent")
    parser.add_argument("--env", default="ALE/Pong-v5")
    parser.add_argument("--smoke", action="store_true", help="CPU, CartPole-v1, 20 seconds: check the script")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    env_id, seconds = ("CartPole-v1", 20.0) if args.smoke else (args.env, args.minutes * 60)
    settings = (SMOKE_SETTINGS if args.smoke else GPU_SETTINGS) + args.overrides
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "recipe": "impala", "env_id": env_id, "smoke": args.smoke, "settings": settings,
        "training_time_limit_s": seconds, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__, "cpus": os.cpu_count(), "host": platform.node(),
        "command": "python " + " ".join(sys.argv),
    }
    skip = frame_skip(env_id)
    doc["frame_skip"] = skip
    print(f"training impala on {env_id} for {seconds:.0f} s with {' '.join(settings)}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        try:
            zoo_core.train("impala", env_id, 10**10, seed=0, out=run_dir, overrides=settings,
                           plugins=[StopAfter(seconds)], rows=True)
        except RunInterrupted as stop:
            print(f"stopped after {seconds:.0f} s: {stop}", flush=True)
        doc.update(throughput(run_dir, skip))
        write(out / RESULT, doc)
        agent_dir = out / "agent"
        if agent_dir.exists():
            raise SystemExit(f"{agent_dir} exists; pass another --out")
        from zoo_core.publishing.agent_folder import export_agent

        export_agent(run_dir, agent_dir, which="latest", episodes=args.episodes, video=False)
    results = json.loads((agent_dir / "results.json").read_text())
    doc["eval"] = {k: results[k] for k in ("protocol", "episode_returns", "episode_lengths", "mean", "std", "iqm")}
    doc["score"] = results.get("mean")
    doc["agent_folder"] = str(agent_dir)
    write(out / RESULT, doc)
    print(f"{doc['frames_per_s']:.0f} frames/s ({doc['env_steps_per_s']:.0f} env steps/s, frame skip {skip}), "
          f"{doc['updates_per_s']:.2f} updates/s; score {doc['score']} over {args.episodes} episodes", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
