"""Running: the training driver and its loops, actor workers, checkpoints, evaluation, logs, plots and
videos."""
