"""`zoo leaderboard submit|verify|show|render`: verified, re-evaluated scores."""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Adds the `leaderboard` subcommand and its actions."""


COMMANDS: dict = {}
