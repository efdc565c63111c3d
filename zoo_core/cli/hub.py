"""`zoo push` and `zoo pull`: share agent folders through the Hugging Face Hub."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from zoo_core.errors import ZooError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Adds the `push` and `pull` subcommands."""
    p = sub.add_parser("push", help="upload a verified agent folder to the Hugging Face Hub")
    p.add_argument("folder", help="agent folder (see `zoo export`)")
    p.add_argument("--repo", required=True, metavar="ORG/NAME", help="Hub model repo, created if missing")
    p.add_argument("--revision", metavar="BRANCH", help="branch to commit to (default main; created if missing)")
    p.add_argument("--private", action="store_true", help="create the repo private")

    p = sub.add_parser("pull", help="download an agent and verify every file against its manifest")
    p.add_argument("id", help="registry:NAME, hf:org/name, hf:org/name@REVISION, or a local folder")
    p.add_argument("--out", help="copy the verified folder here (a new or empty directory)")


def _quiet_hub() -> None:
    """No progress bars or warnings from huggingface_hub unless a person watches stderr, so an
    error stays the one line on stderr."""
    if sys.stderr.isatty():
        return
    try:
        from huggingface_hub.utils import disable_progress_bars, logging
    except ImportError:  # zoo_core.publishing.hub says how to install it, if the command needs it
        return

    disable_progress_bars()
    logging.set_verbosity_error()


def _push(args: argparse.Namespace) -> int:
    from zoo_core.publishing import hub, publish

    _quiet_hub()
    commit = publish.push(args.folder, args.repo, revision=args.revision, private=args.private)
    print(f"pushed {args.folder} to {args.repo}" + (f" (branch {args.revision})" if args.revision else ""))
    print(f"commit: {commit}")
    print(f"url: {hub.tree_url(args.repo, commit)}")
    print(f"pull it with: zoo pull hf:{args.repo}@{commit}")
    return 0


def _pull(args: argparse.Namespace) -> int:
    from zoo_core.publishing.hub import is_commit
    from zoo_core.publishing.sources import locate
    from zoo_core.running.checkpoint import verify_folder

    out = Path(args.out) if args.out else None
    if out and out.exists() and (not out.is_dir() or any(out.iterdir())):  # before any download
        raise ZooError(f"--out {out} already exists and is not an empty directory")
    _quiet_hub()
    fetched = locate(args.id)
    folder = fetched.folder
    if out:
        shutil.copytree(folder, out, dirs_exist_ok=True)  # copies the bytes behind the cache's symlinks
        verify_folder(out)
        folder = out
    print(f"verified agent folder: {folder}")
    if fetched.commit:
        resolved = "" if is_commit(fetched.revision) else f" (resolved from {fetched.revision or 'main'})"
        print(f"commit: {fetched.commit}{resolved}")
    return 0


COMMANDS = {"push": _push, "pull": _pull}
