"""Run logs: CSV files anyone can read, TensorBoard scalars, and the progress bar."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

TRAIN_COLUMNS = ["env_steps", "updates", "episodes", "return_mean", "loss", "epsilon", "steps_per_s", "wall_s"]
# eval_success: the fraction of evaluation episodes that succeeded, empty where the env does not say.
EVAL_COLUMNS = ["env_steps", "eval_mean", "eval_std", "eval_iqm", "eval_episodes", "eval_success"]


class CSVLog:
    """An append-only CSV with a fixed header; on resume, rows past the checkpoint are dropped."""

    def __init__(self, path: Path, columns: list[str], resume_step: int | None = None):
        self.path, self.columns = path, columns
        if resume_step is not None and path.exists():
            with open(path, newline="") as fh:
                kept = [row for row in csv.DictReader(fh) if float(row["env_steps"]) <= resume_step]
            self._rewrite(kept)
        elif not path.exists() or resume_step is None:
            self._rewrite([])

    def _rewrite(self, rows: list[dict[str, Any]]) -> None:
        with open(self.path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, self.columns)
            writer.writeheader()
            writer.writerows(rows)

    def write(self, row: dict[str, Any]) -> None:
        with open(self.path, "a", newline="") as fh:
            csv.DictWriter(fh, self.columns, extrasaction="ignore").writerow(
                {k: _fmt(row.get(k)) for k in self.columns}
            )


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else value


class RunLogger:
    """``progress.csv``, ``eval.csv`` and TensorBoard event files under a run directory."""

    def __init__(
        self, run_dir: Path, resume_step: int | None = None, tensorboard: bool = True, extra_columns: Any = ()
    ):
        # An algorithm's own metrics (IMPALA's policy lag, entropy) follow the common columns.
        columns = TRAIN_COLUMNS + [c for c in dict.fromkeys(extra_columns) if c not in TRAIN_COLUMNS]
        self.train = CSVLog(run_dir / "progress.csv", columns, resume_step)
        self.eval = CSVLog(run_dir / "eval.csv", EVAL_COLUMNS, resume_step)
        self.tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # TensorBoard is optional; the CSVs carry the same numbers
                self.tb = None
            else:
                self.tb = SummaryWriter(str(run_dir / "tb"), purge_step=resume_step)

    def log_train(self, row: dict[str, Any]) -> None:
        self.train.write(row)
        self._scalars("train", row)

    def log_eval(self, row: dict[str, Any]) -> None:
        self.eval.write(row)
        self._scalars("eval", row)

    def _scalars(self, group: str, row: dict[str, Any]) -> None:
        if self.tb is None:
            return
        step = int(row["env_steps"])
        for key, value in row.items():
            if key != "env_steps" and isinstance(value, (int, float)) and value == value:
                self.tb.add_scalar(f"{group}/{key}", value, step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


class ProgressBar:
    """A rich progress bar over env steps showing steps/s and the recent return (or nothing)."""

    def __init__(self, total: int, start: int, enabled: bool, description: str = "training"):
        self.enabled = enabled
        self._last = 0.0
        if not enabled:
            return
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>7} steps/s"),
            TextColumn("return {task.fields[ret]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self.task = self.progress.add_task(description, total=total, completed=start, rate="-", ret="-")
        self.progress.start()

    def due(self) -> bool:
        """Whether a redraw is due (the bar redraws at most 5 times a second)."""
        return time.monotonic() - self._last >= 0.2

    def update(self, step: int, rate: float, recent_return: float | None, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.2:
            return
        self._last = now
        ret = "-" if recent_return is None else f"{recent_return:.1f}"
        self.progress.update(self.task, completed=step, rate=f"{rate:.0f}", ret=ret)

    def close(self) -> None:
        if self.enabled:
            self.progress.stop()
