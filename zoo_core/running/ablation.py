"""``zoo ablate``: a recipe against each of its leave-one-out variants, over seeds.

The variants are the full recipe, the recipe without each of its plugins (``rainbow-noisy``), or,
for a recipe that declares a base (UNREAL), the base with each other plugin alone, and
the recipe's own declared ablations (core options such as double Q). Every variant is resolved
before any is trained, so a bad setting fails at once rather than after hours of training. Each
variant x seed is an ordinary run directory under a folder named by its settings (a hash of the
recipe, env, steps and resolved config): an interrupted ablation resumes by skipping the runs
already finished, and a rerun with other settings trains its own runs instead of reusing those.
The summary is a table (CSV and Markdown) and a learning-curve plot of the mean ± standard error
across seeds, as in Figure 3 of the Rainbow paper. The table also says how many frames each variant
took to reach the reference's final score (the base for a recipe with one, else the full recipe):
the UNREAL paper's measure of how much the auxiliary tasks speed learning.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo_core.errors import ZooError
from zoo_core.host.manager import build_catalog, make_manager
from zoo_core.host.recipes import parse_recipe
from zoo_core.host.session import all_recipes, resolve
from zoo_core.running.atomic import atomic_path
from zoo_core.running.evaluation import score_text
from zoo_core.running.plots import read_csv_rows


@dataclass(frozen=True)
class Variant:
    """One arm of an ablation: a recipe text and the extra ``--set`` texts it needs."""

    name: str
    recipe: str
    overrides: tuple[str, ...] = ()


def variants(recipe_text: str) -> list[Variant]:
    """The full recipe, its plugin variants, and the recipe's declared ablations.

    The plugin variants leave out one plugin each (but the one that provides the algorithm), or,
    for a recipe with an ``ablation_base``, are the base alone and the base plus each other plugin
    (``unreal base+pixel_control`` trains ``unreal-reward_prediction-value_replay``).
    """
    recipe, plugins = parse_recipe(recipe_text, all_recipes())
    out = [Variant(recipe_text, recipe_text)]
    if recipe.ablation_base is None:
        # The plugin that provides the algorithm itself (alphazero, predictron) is not a part to
        # leave out: without it there is nothing to train.
        owner = build_catalog(make_manager(plugins)).owners.get(f"algorithm:{recipe.algorithm}")
        out += [Variant(f"{recipe_text}-{p}", f"{recipe_text}-{p}") for p in plugins if p != owner]
    else:
        extra = [p for p in plugins if p not in recipe.ablation_base]

        def without(keep: str | None) -> str:
            return recipe_text + "".join(f"-{p}" for p in extra if p != keep)

        out.append(Variant(f"{recipe_text} base", without(None)))
        out += [Variant(f"{recipe_text} base+{p}", without(p)) for p in extra]
    for name, layer in recipe.ablations.items():
        sets = tuple(
            f"{section}.{key}={_text(value)}" for section, values in layer.items() for key, value in values.items()
        )
        out.append(Variant(f"{recipe_text} {name}", recipe_text, sets))
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def _slug(name: str) -> str:
    return name.replace(" ", "_").replace("/", "_")


def settings_key(recipe: str, env_id: str, steps: int, config: Mapping[str, Any]) -> str:
    """A short hash of what a run's result depends on: the folder its seeds are kept in."""
    text = json.dumps({"recipe": recipe, "env_id": env_id, "steps": steps, "config": config}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def plan(recipe_text: str, env_id: str, steps: int, overrides: Sequence[str] = ()) -> list[tuple[Variant, str]]:
    """Resolve every variant before any is trained: each with its settings key.

    :raises ZooError: a variant that does not resolve (unknown recipe, plugin or hyperparameter),
        an env that cannot be built, or runs that would make no periodic evaluation within ``steps``
        (the summary compares evaluation curves).
    """
    planned = []
    for index, arm in enumerate(variants(recipe_text)):
        setup = resolve(arm.recipe, env_id, [*overrides, *arm.overrides])
        every = setup.config["run"].eval_every
        if not 0 < every <= steps:
            raise ZooError(
                f"variant '{arm.name}' has run.eval_every={every}, so its runs would make no periodic evaluation "
                f"within --steps {steps}; add --set run.eval_every=N with N at most {steps}"
            )
        if index == 0:  # the variants share the env: an unknown or unbuildable one fails here
            setup.make_env(training=False).close()
        planned.append((arm, settings_key(arm.recipe, env_id, steps, setup.config.to_json())))
    return planned


# What an ablation compares: the periodic greedy evaluations and the final evaluation (``eval``), or
# the mean return of the last 100 training episodes at each log row (``train``: the acting policy's
# own returns, what the UNREAL and IMPALA papers plot; for the DQN family they include ε's actions),
# or the fraction of evaluation episodes that succeeded (``success``: envs that report
# ``info["is_success"]``, such as Sokoban's solved levels, the I2A paper's measure).
MEASURES = ("eval", "train", "success")


def curve(run_dir: Path, measure: str = "eval") -> tuple[np.ndarray, np.ndarray]:
    """A run's curve: ``(env_steps [K], value [K])`` of its periodic evaluations (``eval``, or their
    success rates, ``success``) or of its training log's recent-return column (``train``; rows before
    the first finished episode left out).

    :raises ZooError: ``success`` of a run whose env reported no successes.
    """
    if measure == "train":
        rows = [r for r in read_csv_rows(run_dir / "progress.csv") if r.get("return_mean") not in (None, "")]
        key = "return_mean"
    elif measure == "success":
        rows, key = read_csv_rows(run_dir / "eval.csv"), "eval_success"
        if any(r.get(key) in (None, "") for r in rows):
            raise ZooError(f"{run_dir}: its env reports no successes (info['is_success']); measure eval or train")
    else:
        rows, key = read_csv_rows(run_dir / "eval.csv"), "eval_mean"
    return np.array([float(r["env_steps"]) for r in rows]), np.array([float(r[key]) for r in rows])


def summary_name(measure: str) -> str:
    """The summary files' name: ``ablation`` (evaluations), ``ablation-train`` or ``ablation-success``."""
    return "ablation" if measure == "eval" else f"ablation-{measure}"


def final_score(run_dir: Path, measure: str = "eval") -> float:
    """A finished run's final score: its final evaluation's mean (or success rate), or its last recent
    training return."""
    if measure == "train":
        return float(curve(run_dir, "train")[1][-1])
    results = json.loads((run_dir / "results.json").read_text())
    if measure == "success":
        if "success_rate" not in results:
            raise ZooError(f"{run_dir}: its final evaluation reports no successes; measure eval or train")
        return float(results["success_rate"])
    return float(results["mean"])


def mean_and_se(curves: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error across seeds of equally long curves ``[S][K]`` -> ``([K], [K])``.

    The standard error uses the sample standard deviation (ddof=1); it is 0 for one seed.
    """
    stacked = np.stack(curves)  # [S, K]
    se = stacked.std(axis=0, ddof=1) / np.sqrt(len(curves)) if len(curves) > 1 else np.zeros(stacked.shape[1])
    return stacked.mean(axis=0), se


def reference_variant(recipe_text: str) -> str:
    """The variant the others are timed against: the base of a recipe that declares one (UNREAL's
    ``impala``), else the full recipe."""
    arms = variants(recipe_text)
    base = f"{recipe_text} base"
    return base if any(a.name == base for a in arms) else arms[0].name


def frames_to_reach(xs: np.ndarray, mean: np.ndarray, score: float, lower_is_better: bool = False) -> int | None:
    """The first evaluation's env steps at which a mean curve reaches ``score`` (at or above it, or at
    or below it for a lower-is-better metric): ``xs [K]``, ``mean [K]`` -> steps, or None when it
    never does."""
    hit = np.flatnonzero(mean <= score if lower_is_better else mean >= score)
    return int(xs[hit[0]]) if len(hit) else None


def run_ablation(
    recipe_text: str,
    env_id: str,
    steps: int,
    seeds: int,
    out: Path,
    overrides: Sequence[str] = (),
    progress: bool = False,
    only: Sequence[str] = (),
    measure: str = "eval",
) -> list[dict[str, Any]]:
    """Train every variant with seeds ``0..seeds-1`` under ``out`` and write the summary files.

    :param only: variant names to train (the reference is always among them); empty: all.
    :param measure: what the summary compares (:data:`MEASURES`); finished runs are kept, so another
        measure of the same runs only re-reads them.
    :returns: one row per variant: final and best mean ± standard error across seeds.
    :raises ZooError: a name in ``only`` that is not a variant of the recipe.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from zoo_core.running.training import train

    if seeds < 1:
        raise ZooError(f"--seeds must be at least 1; got {seeds}")
    if measure not in MEASURES:
        raise ZooError(f"unknown ablation measure '{measure}'; choose {' or '.join(MEASURES)}")
    planned = plan(recipe_text, env_id, steps, overrides)
    if only:
        names = [arm.name for arm, _ in planned]
        unknown = [name for name in only if name not in names]
        if unknown:
            raise ZooError(f"'{unknown[0]}' is not a variant of {recipe_text}; its variants: {', '.join(names)}")
        keep = {*only, reference_variant(recipe_text)}
        planned = [(arm, key) for arm, key in planned if arm.name in keep]
    folders = {arm.name: out / _slug(arm.name) / key for arm, key in planned}
    arms = [arm for arm, _ in planned]
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(arm, seed) for arm in arms for seed in range(seeds)]
    bar = Progress(TextColumn("[bold]ablation"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[now]}"),
                   TimeElapsedColumn(), disable=not progress)
    with bar:
        task = bar.add_task("runs", total=len(jobs), now="")
        for arm, seed in jobs:
            run_dir = folders[arm.name] / f"seed{seed}"
            bar.update(task, now=f"{arm.name} seed {seed}")
            if not (run_dir / "results.json").exists():  # finished runs of these settings are kept
                if run_dir.exists():
                    shutil.rmtree(run_dir)  # an unfinished run restarts from scratch, same seed
                train(arm.recipe, env_id, steps, seed, run_dir, [*overrides, *arm.overrides])
            bar.advance(task)
    return summarize(recipe_text, env_id, {arm.name: folders[arm.name] for arm in arms}, seeds, out, measure)


def summarize(recipe_text: str, env_id: str, folders: Mapping[str, Path], seeds: int, out: Path,
              measure: str = "eval") -> list[dict[str, Any]]:
    """The summary of finished runs (``folders[variant] / seed<i>``): one row per variant, and the
    files of :func:`write_summary` (named ``ablation`` for ``eval``, ``ablation-train`` for ``train``).

    The curves of a variant's seeds are compared at the env steps they all have. Under ``eval`` the
    runs' protocol says what is compared and in which direction (returns, or a held-out metric such as
    the predictron's mean squared error, lower is better).
    """
    metric, lower = "return", False
    if measure == "eval":
        first = next(iter(folders.values())) / "seed0" / "results.json"
        protocol = json.loads(first.read_text()).get("protocol", {})
        metric, lower = protocol.get("metric", "return"), bool(protocol.get("lower_is_better", False))
    unit = resolve(recipe_text, env_id).algorithm.step_unit
    rows, curves_by_arm = [], {}
    for name, folder in folders.items():
        runs = [folder / f"seed{seed}" for seed in range(seeds)]
        curves = [curve(r, measure) for r in runs]
        xs = sorted(set.intersection(*(set(c[0].tolist()) for c in curves)))
        if not xs:
            raise ZooError(f"no {'periodic evaluations' if measure == 'eval' else 'training returns'} in "
                           f"{runs[0]}; set run.eval_every below --steps")
        values = [c[1][np.isin(c[0], xs)] for c in curves]
        mean, se = mean_and_se(values)
        curves_by_arm[name] = (np.array(xs), mean, se)
        finals = [final_score(r, measure) for r in runs]
        best = [float(np.min(v) if lower else np.max(v)) for v in values]
        rows.append({
            "variant": name, "seeds": seeds, "env_steps": int(xs[-1]),
            "final_mean": float(np.mean(finals)),
            "final_se": float(np.std(finals, ddof=1) / np.sqrt(seeds)) if seeds > 1 else 0.0,
            "best_mean": float(np.mean(best)),
            "best_se": float(np.std(best, ddof=1) / np.sqrt(seeds)) if seeds > 1 else 0.0,
        })
    reference = reference_variant(recipe_text)
    score = next(r["final_mean"] for r in rows if r["variant"] == reference)
    # A reference that ended no better than it began learned nothing to reach: every curve would
    # "reach" it at its first point, so the column says so instead of timing it.
    start = curves_by_arm[reference][1][0]
    learned = score < start if lower else score > start
    for row in rows:
        row["reference"] = reference
        row["frames_to_reference_final"] = (frames_to_reach(*curves_by_arm[row["variant"]][:2], score, lower)
                                            if learned else "n/a")
    what = {"train": "training return (last 100 episodes)",
            "success": "success rate of the evaluations"}.get(
        measure, "greedy evaluation return" if metric == "return"
        else f"held-out {metric} ({'lower' if lower else 'higher'} is better)")
    if measure == "success":
        metric = "success"
    write_summary(rows, curves_by_arm, out, f"{recipe_text} ablation on {env_id}", what, summary_name(measure),
                  metric, unit)
    return rows


def _frames(frames: int | str | None, budget: int) -> str:
    if isinstance(frames, str):
        return "n/a (the reference ended no better than its first point)"
    return "not reached" if frames is None else f"{frames:,} ({frames / budget:.0%})"


def write_summary(rows: list[dict[str, Any]], curves: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
                  out: Path, title: str, what: str = "greedy evaluation return", name: str = "ablation",
                  metric: str = "return", unit: str = "env steps") -> None:
    """``<name>.csv``, ``<name>.md`` and ``<name>.png`` under ``out``; ``what`` names the measure, ``metric``
    how its values are written (:func:`zoo_core.running.evaluation.score_text`), ``unit`` the horizontal
    axis (the algorithm's step unit)."""
    with atomic_path(out / f"{name}.csv", suffix=".csv") as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    reference = rows[0]["reference"]
    lines = [f"# {title}", "", f"Measure: {what}.", "", "| variant | final (mean ± s.e.) | best point (mean ± s.e.) | "
             f"{unit} to {reference}'s final | seeds |", "|---|---|---|---|---|"]
    lines += [f"| {r['variant']} | {score_text(r['final_mean'], metric)} ± {score_text(r['final_se'], metric)} | "
              f"{score_text(r['best_mean'], metric)} ± {score_text(r['best_se'], metric)} | "
              f"{_frames(r['frames_to_reference_final'], r['env_steps'])} | {r['seeds']} |"
              for r in rows]
    with atomic_path(out / f"{name}.md", suffix=".md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")

    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    # Ten variants fit the default colour cycle; beyond that, 20 distinct colours so no two arms share one.
    colours = colormaps["tab20"].colors if len(curves) > 10 else [None] * len(curves)
    for (variant, (xs, mean, se)), colour in zip(curves.items(), colours, strict=False):
        full = "-" not in variant and " " not in variant  # the full recipe, drawn thicker
        (line,) = ax.plot(xs, mean, label=variant, linewidth=2 if full else 1.2, color=colour)
        ax.fill_between(xs, mean - se, mean + se, color=line.get_color(), alpha=0.15)
    score = next(r["final_mean"] for r in rows if r["variant"] == reference)
    ax.axhline(score, color="0.4", linestyle="--", linewidth=1, label=f"{reference}: final")
    ax.set_xlabel(unit)
    ax.set_ylabel(f"{what} (mean ± s.e. over seeds)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # beside the curves
    with atomic_path(out / f"{name}.png", suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
