"""`zoo leaderboard submit|verify|show|render`: verified, re-evaluated scores.

Exit codes: 0 when everything reproduces, 1 when `verify` (or `show`, which verifies unless
`--no-verify`) finds an entry that does not (one line per failing entry on stderr), 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from zoo_core.cli.args import progress_default

if TYPE_CHECKING:
    from zoo_core.publishing.leaderboard import Board

EXIT_MISMATCH = 1


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Adds the `leaderboard` subcommand and its actions."""
    p = sub.add_parser("leaderboard", help="verified leaderboards: submit, verify, show, render")
    p.add_argument("--leaderboards", metavar="DIR",
                   help="your own leaderboards folder (default: $ZOO_LEADERBOARDS_DIR, else the shipped boards)")
    actions = p.add_subparsers(dest="action", required=True)

    a = actions.add_parser("submit", help="re-evaluate an agent under its env's protocol and record it")
    a.add_argument("agent", help="registry:NAME, hf:org/name@rev or an agent folder")
    a.add_argument("--name", help="entry name (default: the id, or the folder's name)")
    a.add_argument("--replace", action="store_true", help="replace an existing entry of the same model")
    a.add_argument("--no-progress", action="store_true")

    a = actions.add_parser("verify", help="re-run every entry; exit 1 if any does not reproduce")
    a.add_argument("env", nargs="?", help="one env id (default: every leaderboard)")
    a.add_argument("--no-progress", action="store_true")

    a = actions.add_parser("show", help="a leaderboard's table, ranked by IQM, each entry re-verified")
    a.add_argument("env", help="env id, e.g. CartPole-v1 or MinAtar/Breakout-v1")
    a.add_argument("--no-verify", action="store_true", help="print from the file, re-evaluating nothing")
    a.add_argument("--no-progress", action="store_true")

    a = actions.add_parser("render", help="write index.html and a score plot per env")
    a.add_argument("--out", help="directory (default: the leaderboards folder)")


def _progress(args: argparse.Namespace) -> bool:
    return progress_default() and not args.no_progress


def _fail_line(env_id: str, entry: Mapping[str, Any], problems: list[str]) -> str:
    return f"FAIL {env_id} '{entry['name']}' ({entry['agent']}): {'; '.join(problems)}"


def _submit(args: argparse.Namespace) -> int:
    from zoo_core.publishing.leaderboard import submit

    board, e = submit(args.agent, args.name, args.replace, _progress(args))
    print(f"{board.env_id}: '{e['name']}' {board.entry_text(e)} -> {board.path}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from zoo_core.publishing.leaderboard import find_board, list_boards, verify_board

    boards = [find_board(args.env)] if args.env else list_boards()
    failed = checked = 0
    for board in boards:
        def done(entry: Mapping[str, Any], problems: list[str], env_id: str = board.env_id,
                 board: Board = board) -> None:
            nonlocal failed, checked
            checked += 1
            if problems:
                failed += 1
                print(_fail_line(env_id, entry, problems), file=sys.stderr)
            else:
                print(f"ok {env_id} '{entry['name']}': {board.entry_text(entry)} reproduce")

        verify_board(board, _progress(args), done)
    print(f"{checked - failed} of {checked} entries reproduce")
    return EXIT_MISMATCH if failed else 0


def _show(args: argparse.Namespace) -> int:
    from rich.table import Table
    from rich.text import Text

    from zoo_core.cli.tables import print_table
    from zoo_core.publishing.leaderboard import find_board, verify_board

    board = find_board(args.env)
    problems = {} if args.no_verify else verify_board(board, _progress(args))
    p = board.protocol
    acting = "actions sampled from the policy" if p.get("sample") else f"ε = {p['epsilon']}"
    title = (f"{board.env_id}: {p['episodes']} episodes from seed {p['seed']}, {acting}; ranked by IQM"
             if board.metric == "return" else
             f"{board.env_id}: {board.metric} on {p['episodes']} held-out items from seed {p['seed']}; ranked by IQM, "
             + ("lowest first" if board.lower_is_better else "highest first"))

    if board.success:
        title = title.replace("; ranked by IQM", "; ranked by success rate, then IQM")
    success = ("success",) if board.success else ()
    table = Table("#", "name", "agent", *success, "IQM [95% CI]", "mean ± std", "verified", title=title)
    for i, e in enumerate(board.ranked(), 1):
        if args.no_verify:
            mark = Text("-")
        elif problems[e["name"]]:
            mark = Text("✗ " + "; ".join(problems[e["name"]]), style="red")
        else:
            mark = Text("✓", style="green")
        table.add_row(str(i), e["name"], e["agent"], *([board.success_text(e)] if board.success else []),
                      board.iqm_text(e), board.mean_text(e), mark)
    print_table(table)
    if not board.entries:
        print("no entries yet")
    failing = [e for e in board.entries if problems.get(e["name"])]
    for e in failing:
        print(_fail_line(board.env_id, e, problems[e["name"]]), file=sys.stderr)
    return EXIT_MISMATCH if failing else 0


def _render(args: argparse.Namespace) -> int:
    from pathlib import Path

    from zoo_core.publishing.leaderboard import list_boards
    from zoo_core.publishing.page import render
    from zoo_core.publishing.paths import leaderboards_dir, refuse_shipped

    out = Path(args.out) if args.out else leaderboards_dir()
    refuse_shipped(out, "render its page")
    files = render(list_boards(), out)
    print(f"wrote {', '.join(str(f) for f in files)}")
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    if args.leaderboards:
        import os

        os.environ["ZOO_LEADERBOARDS_DIR"] = args.leaderboards
    return {"submit": _submit, "verify": _verify, "show": _show, "render": _render}[args.action](args)


COMMANDS: dict = {"leaderboard": _leaderboard}
