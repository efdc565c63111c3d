"""Argument types and defaults shared by the ``zoo`` command and plugins' subcommands."""

from __future__ import annotations

import argparse
import os
import sys


def positive_int(text: str) -> int:
    """An ``argparse`` type: an integer > 0, else a one-line usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'")
    return value


def nonneg_int(text: str) -> int:
    """An ``argparse`` type: an integer >= 0, else a one-line usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got '{text}'")
    return value


def progress_default() -> bool:
    """Whether long work draws a progress bar: on a terminal, and not under CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")
