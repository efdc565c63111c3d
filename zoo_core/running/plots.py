"""Learning-curve plots from a run's CSV log (matplotlib, Agg; no display needed)."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from zoo_core.errors import ZooError
from zoo_core.running.atomic import atomic_path

__all__ = ["plot_learning_curve", "read_csv_rows"]


def read_csv_rows(csv_path: Path) -> list[dict[str, str]]:
    """Read a CSV file with a header row into a list of `{column: text}` dicts.

    Raises ZooError if the file is missing or has no header.
    """
    csv_path = Path(csv_path)
    try:
        with open(csv_path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames:
                raise ZooError(f"plot: {csv_path} is empty or has no header row")
            return list(reader)
    except FileNotFoundError:
        raise ZooError(f"plot: no such CSV file: {csv_path}") from None


def _number(v: Any) -> float | None:
    """Parse a CSV cell as a finite float; None for blanks, non-numbers, NaN and infinities.

    Training logs often leave eval columns blank on rows without an evaluation, so blank
    cells are skipped rather than treated as errors.
    """
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def plot_learning_curve(
    source: Path | str | Iterable[Mapping[str, Any]],
    out_png: Path,
    *,
    x: str = "env_steps",
    y: str = "eval_mean",
    std: str | None = None,
    title: str | None = None,
) -> None:
    """Plot `y` against `x` as a line, with a shaded ±std band when a std column exists.

    Rows where `x` or `y` is blank or not a finite number are skipped (e.g. training rows
    between evaluations); points are drawn in order of `x`.

    Args:
        source: a CSV file with a header row, or rows as mappings `{column: value}`.
        out_png: the PNG to write (atomically: temp file, then rename); parents are created.
        x: column for the horizontal axis.
        y: column for the curve.
        std: column for the band's half-width. Default: `y` with a trailing "_mean" replaced
            by "_std" (so "eval_mean" pairs with "eval_std"), used only if that column exists.
        title: figure title; default "<y> vs <x>", prefixed by the CSV's parent folder name
            (the run directory) when reading from a file.

    Raises:
        ZooError: missing file or column, or no plottable rows.
    """
    run_name = None
    if isinstance(source, (str, Path)):
        rows: list[Mapping[str, Any]] = list(read_csv_rows(Path(source)))
        run_name = Path(source).resolve().parent.name or None
    else:
        rows = list(source)
    columns = set().union(*(r.keys() for r in rows)) if rows else set()
    for col in (x, y):
        if col not in columns:
            raise ZooError(
                f"plot: no column {col!r}; available: {', '.join(sorted(columns)) or '(none)'}"
            )
    explicit_std = std is not None
    if std is None and y.endswith("_mean"):
        std = y[: -len("_mean")] + "_std"
    if std is not None and std not in columns:
        if explicit_std:
            raise ZooError(f"plot: no column {std!r}; available: {', '.join(sorted(columns))}")
        std = None

    points: list[tuple[float, float, float | None]] = []
    for r in rows:
        xv, yv = _number(r.get(x)), _number(r.get(y))
        if xv is None or yv is None:
            continue
        points.append((xv, yv, _number(r.get(std)) if std is not None else None))
    if not points:
        raise ZooError(f"plot: no rows with numeric {x!r} and {y!r} to plot")
    points.sort(key=lambda p: p[0])
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]

    # Figure + FigureCanvasAgg rather than pyplot: no global state, no GUI backend chosen,
    # safe to call from any thread or a headless server.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.2), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    (line,) = ax.plot(
        xs, ys, marker="o" if len(xs) <= 30 else None, markersize=3, linewidth=1.8, label=y
    )
    if std is not None:
        # Only rows that have a std value get a band; a missing std shows as a gap, not 0.
        band = [(p[0], p[1], p[2]) for p in points if p[2] is not None]
        if band:
            bx = [b[0] for b in band]
            ax.fill_between(
                bx,
                [b[1] - b[2] for b in band],
                [b[1] + b[2] for b in band],
                color=line.get_color(),
                alpha=0.2,
                linewidth=0,
                label=f"± {std}",
            )
            ax.legend(loc="best", frameon=False)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    default_title = f"{y} vs {x}"
    ax.set_title(
        title
        if title is not None
        else (f"{run_name}: {default_title}" if run_name else default_title)
    )
    ax.grid(True, alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    if max(xs) >= 1e4:
        # Env steps run into millions; a x10^n offset keeps the tick labels short.
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))

    out_png = Path(out_png)
    with atomic_path(out_png, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
