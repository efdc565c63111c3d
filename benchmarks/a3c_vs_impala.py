"""A3C beside IMPALA on CartPole-v1: throughput, learning curves, and the stale-gradient effect.

Each arm is a plain ``zoo_core.train`` run with its recipe's CartPole defaults, periodic greedy
evaluations every ``--eval-every`` env steps over ``--eval-episodes`` episodes, and no
checkpoints but the last. IMPALA and A3C get the same number of acting processes (2: IMPALA's
actors, A3C's workers), the same env-step budget and the same machine; then A3C runs with 1, 2
and 4 workers to show staleness growing with the number of workers, and what it does to the curve.

Printed per arm (mean over seeds, and per seed where it matters):

* end-to-end env frames/s: env steps / wall time of ``train`` (process start-up, evaluations and
  the final checkpoint included);
* training frames/s and updates/s: between the loop's first and last turn, evaluation time taken
  out;
* env frames per update, steps to the first evaluation ≥ 475, the evaluation curve;
* A3C's gradient staleness (updates by other workers between a worker's sync and its own
  application), IMPALA's policy lag (learner updates between an actor's parameter refresh and
  the learner consuming its unroll).

Runs go one after another (never two at once: each uses every core). Results are written after
every run to ``<out>/results.json``; a rerun skips the runs already there, and ``--report``
only prints and plots them.

    python benchmarks/a3c_vs_impala.py                                  # 200k steps, seeds 0 1 2
    python benchmarks/a3c_vs_impala.py --steps 50000 --seeds 0          # a quick look
    python benchmarks/a3c_vs_impala.py --report                         # print + plot saved results
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

import zoo_core
from zoo_core.running import training

ENV = "CartPole-v1"
SOLVED = 475.0
RMSPROP = ["a3c.optimizer=rmsprop", "a3c.lr=1e-3", "a3c.optim_eps=0.01"]
ARMS: dict[str, tuple[str, list[str]]] = {
    "impala, 2 actors": ("impala", ["impala.num_actors=2"]),
    "a3c, 2 workers": ("a3c", ["a3c.num_workers=2"]),
    "a3c, 1 worker": ("a3c", ["a3c.num_workers=1"]),
    "a3c, 4 workers": ("a3c", ["a3c.num_workers=4"]),
    # The recipes' optimiser is Adam; the paper's shared RMSProp checks whether what 4 workers do
    # to the curve comes from stale gradients or from racing on Adam's two statistics.
    "a3c rmsprop, 1 worker": ("a3c", ["a3c.num_workers=1", *RMSPROP]),
    "a3c rmsprop, 4 workers": ("a3c", ["a3c.num_workers=4", *RMSPROP]),
}
HEAD_TO_HEAD = ("impala, 2 actors", "a3c, 2 workers")
SCALING = ("a3c, 1 worker", "a3c, 2 workers", "a3c, 4 workers")
SCALING_RMSPROP = ("a3c rmsprop, 1 worker", "a3c rmsprop, 4 workers")


class TimedLoop:
    """Wraps a run's loop to note the time, env steps and updates of its first and last turns."""

    def __init__(self, loop: Any, agent: Any):
        self.loop, self.agent = loop, agent
        self.metric_names = getattr(loop, "metric_names", ())
        self.first: tuple[float, int, int] | None = None
        self.last: tuple[float, int, int] | None = None

    def turns(self, until: int) -> Iterator[Any]:
        for turn in self.loop.turns(until):
            mark = (time.perf_counter(), self.agent.env_steps, self.agent.updates)
            self.first = self.first or mark
            self.last = mark
            yield turn

    def pause(self) -> None:
        self.loop.pause()

    def state_dict(self) -> Any:
        return self.loop.state_dict()

    def close(self) -> None:
        self.loop.close()


def run_one(arm: str, seed: int, steps: int, eval_every: int, eval_episodes: int, out: Path) -> dict[str, Any]:
    """Train one arm for one seed; return its figures."""
    recipe, overrides = ARMS[arm]
    overrides = overrides + [f"run.eval_every={eval_every}", f"run.eval_episodes={eval_episodes}",
                             "run.checkpoint_every=0", "run.log_every=2000"]
    run_dir = out / f"{arm.replace(', ', '-').replace(' ', '_')}-s{seed}"
    shutil.rmtree(run_dir, ignore_errors=True)
    loops: list[TimedLoop] = []
    evals: list[tuple[float, float]] = []  # (start, seconds) of each evaluation
    make_loop, evaluate = training._make_loop, training.evaluate

    def timed_loop(*args: Any) -> TimedLoop:
        loops.append(TimedLoop(make_loop(*args), args[1]))
        return loops[-1]

    def timed_evaluate(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return evaluate(*args, **kwargs)
        finally:
            evals.append((start, time.perf_counter() - start))

    training._make_loop, training.evaluate = timed_loop, timed_evaluate  # type: ignore[assignment]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    try:
        result = zoo_core.train(recipe, ENV, steps, seed=seed, out=run_dir, overrides=overrides)
    finally:
        training._make_loop, training.evaluate = make_loop, evaluate  # type: ignore[assignment]
    wall = time.perf_counter() - start
    timed = loops[0]
    assert timed.first is not None and timed.last is not None
    (t0, s0, u0), (t1, s1, u1) = timed.first, timed.last
    inside = sum(d for t, d in evals if t0 <= t <= t1)
    train_s = max(t1 - t0 - inside, 1e-9)
    rows = list(csv.DictReader(open(run_dir / "progress.csv")))
    curve = [(int(e["env_steps"]), float(e["eval_mean"])) for e in result.evaluations]
    solved = next((s for s, m in curve if m >= SOLVED), None)
    figures: dict[str, Any] = {
        "arm": arm, "recipe": recipe, "seed": seed, "env_steps": result.agent.env_steps,
        "updates": result.agent.updates, "wall_s": wall, "eval_s": sum(d for _, d in evals),
        "e2e_fps": result.agent.env_steps / wall, "train_fps": (s1 - s0) / train_s,
        "updates_per_s": (u1 - u0) / train_s,
        "frames_per_update": result.agent.env_steps / max(1, result.agent.updates),
        "curve": curve, "first_solved": solved, "final_eval": result.final.summary["mean"] if result.final else None,
        "load_avg_1m": load, "budget": steps,
    }
    loop = timed.loop
    if hasattr(loop, "staleness_counts"):
        counts = loop.staleness_counts
        total = sum(counts.values())
        figures["staleness_mean"] = sum(k * n for k, n in counts.items()) / total
        figures["staleness_hist"] = {str(k): n for k, n in sorted(counts.items())}
    lags = [float(r["policy_lag"]) for r in rows if r.get("policy_lag")]
    if lags:
        figures["policy_lag_mean"] = float(np.mean(lags))
    return figures


def _mean_sd(xs: list[float]) -> str:
    return f"{np.mean(xs):8.0f} ± {np.std(xs):5.0f}" if len(xs) > 1 else f"{xs[0]:8.0f}        "


def report(results: list[dict[str, Any]], eval_every: int, plot: Path | None) -> None:
    """Print the tables and draw the plot."""
    arms = [a for a in ARMS if any(r["arm"] == a for r in results)]
    by_arm = {a: [r for r in results if r["arm"] == a] for a in arms}
    print(f"\nCartPole-v1; {len({r['seed'] for r in results})} seed(s); mean ± sd over seeds\n")
    print(f"{'arm':<23}{'e2e frames/s':>17}{'train frames/s':>17}{'updates/s':>17}{'frames/upd':>11}"
          f"{'staleness':>10}{'lag':>6}  steps to eval ≥ 475 (per seed)")
    for arm in arms:
        rs = by_arm[arm]
        stale = f"{np.mean([r['staleness_mean'] for r in rs]):10.2f}" if "staleness_mean" in rs[0] else f"{'':>10}"
        lag = f"{np.mean([r['policy_lag_mean'] for r in rs]):6.2f}" if "policy_lag_mean" in rs[0] else f"{'':>6}"
        solved = ", ".join(f"{r['first_solved']:,}" if r["first_solved"] else "never" for r in rs)
        print(f"{arm:<23}{_mean_sd([r['e2e_fps'] for r in rs]):>17}{_mean_sd([r['train_fps'] for r in rs]):>17}"
              f"{_mean_sd([r['updates_per_s'] for r in rs]):>17}{np.mean([r['frames_per_update'] for r in rs]):11.0f}"
              f"{stale}{lag}  {solved}")
    print("\nA3C staleness distribution (share of applied gradients; all seeds):")
    for arm in arms:
        if "staleness_hist" not in by_arm[arm][0]:
            continue
        hist: dict[int, int] = {}
        for r in by_arm[arm]:
            for k, n in r["staleness_hist"].items():
                hist[int(k)] = hist.get(int(k), 0) + n
        total = sum(hist.values())
        shown = "  ".join(f"{k}: {n / total:5.1%}" for k, n in sorted(hist.items()) if n / total >= 0.001)
        print(f"  {arm:<23} {shown}")

    # Evaluations land a few steps past each multiple of eval_every: bin them to the multiple.
    print(f"\nGreedy evaluation ({results[0]['curve'] and len(results[0]['curve'])} points; mean over seeds "
          f"of the mean return of each evaluation)")
    print(f"{'env steps':>10}" + "".join(f"{a:>24}" for a in arms))
    curves = {a: _binned(by_arm[a], eval_every) for a in arms}
    for step in sorted({s for c in curves.values() for s in c}):
        print(f"{step:>10,}" + "".join(f"{np.mean(curves[a][step]):24.1f}" if step in curves[a] else f"{'':>24}"
                                       for a in arms))
    print(f"{'last 5':>10}" + "".join(f"{np.mean([np.mean([m for _, m in r['curve'][-5:]]) for r in by_arm[a]]):24.1f}"
                                      for a in arms))
    if plot is not None:
        _plot(by_arm, curves, plot)
        print(f"\nplot: {plot}")


def _binned(rs: list[dict[str, Any]], eval_every: int) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    for r in rs:
        for step, mean in r["curve"]:
            out.setdefault(step // eval_every * eval_every, []).append(mean)
    return out


def _plot(by_arm: dict[str, list[dict[str, Any]]], curves: dict[str, dict[int, list[float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(18, 4.8), sharey=True)
    panels = ((axes[0], HEAD_TO_HEAD, "IMPALA vs A3C, 2 acting processes (Adam)"),
              (axes[1], SCALING, "A3C, shared Adam: more workers, staler gradients"),
              (axes[2], SCALING_RMSPROP, "A3C, shared RMSProp: 1 vs 4 workers"))
    for ax, arms, title in panels:
        for arm in arms:
            if arm not in curves:
                continue
            steps = sorted(curves[arm])
            mean = np.array([np.mean(curves[arm][s]) for s in steps])
            lo = np.array([np.min(curves[arm][s]) for s in steps])
            hi = np.array([np.max(curves[arm][s]) for s in steps])
            rs = by_arm[arm]
            fps = np.mean([r["train_fps"] for r in rs])
            label = f"{arm} ({fps:,.0f} frames/s"
            if "staleness_mean" in rs[0]:
                label += f", staleness {np.mean([r['staleness_mean'] for r in rs]):.2f}"
            if "policy_lag_mean" in rs[0]:
                label += f", policy lag {np.mean([r['policy_lag_mean'] for r in rs]):.1f}"
            label += ")"
            (line,) = ax.plot(steps, mean, label=label)
            if len(rs) > 1:
                ax.fill_between(steps, lo, hi, color=line.get_color(), alpha=0.15)
        ax.axhline(SOLVED, color="grey", lw=0.8, ls="--")
        ax.set_title(title)
        ax.set_xlabel("env steps")
        ax.legend(fontsize=8, loc="upper left")
    seeds = len({r["seed"] for rs in by_arm.values() for r in rs})
    axes[0].set_ylabel(f"greedy eval return (mean of {seeds} seeds, band: min–max)")
    fig.suptitle("CartPole-v1 on a 2-core machine")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--eval-every", type=int, default=10_000)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("runs/a3c_vs_impala"))
    parser.add_argument("--plot", type=Path, default=Path(__file__).with_suffix(".png"))
    parser.add_argument("--report", action="store_true", help="only print and plot the saved results")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    saved = args.out / "results.json"
    results: list[dict[str, Any]] = json.loads(saved.read_text()) if saved.exists() else []
    if not args.report:
        for seed in args.seeds:  # seeds outermost, so a cut-short benchmark still has every arm
            for arm in args.arms:
                if any(r["arm"] == arm and r["seed"] == seed and r["budget"] == args.steps for r in results):
                    continue
                print(f"-- {arm}, seed {seed}", flush=True)
                figures = run_one(arm, seed, args.steps, args.eval_every, args.eval_episodes, args.out)
                print(f"   {figures['wall_s']:.0f} s, {figures['train_fps']:.0f} training frames/s, first ≥ 475 at "
                      f"{figures['first_solved']}, load {figures['load_avg_1m']:.1f}", flush=True)
                results = [r for r in results if not (r["arm"] == arm and r["seed"] == seed)] + [figures]
                saved.write_text(json.dumps(results, indent=1))
    results = [r for r in results if r["arm"] in args.arms and r["seed"] in args.seeds and r["budget"] == args.steps]
    if results:
        report(results, args.eval_every, args.plot)


if __name__ == "__main__":
    main()
