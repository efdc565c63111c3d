"""Printing rich tables from the CLI."""

from __future__ import annotations

from typing import Any


def print_table(table: Any) -> None:
    """Prints a `rich.table.Table` to stdout; piped output gets 140 columns rather than 80, so ids
    and numbers stay on one line where no terminal width has to be respected."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=140)
    console.print(table)
