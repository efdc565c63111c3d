"""`zoo push` and `zoo pull`: share agent folders through the Hugging Face Hub."""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Adds the `push` and `pull` subcommands."""


COMMANDS: dict = {}
