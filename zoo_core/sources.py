"""Where agents come from: `registry:NAME`, `hf:org/name@revision` or a local folder.

`fetch` turns any of these into a local agent folder that has passed `verify_folder` (manifest,
hashes, no pickles), so every reader of agents (eval, leaderboard, push) starts from the same
checked bytes.
"""

from __future__ import annotations

from pathlib import Path

from zoo_core.checkpoint import verify_folder
from zoo_core.errors import ZooError

__all__ = ["fetch"]


def fetch(ident: str) -> Path:
    """A verified local agent folder for `ident`.

    :param ident: ``registry:NAME`` (the project's index; bundled agents need no network),
        ``hf:org/name`` or ``hf:org/name@REVISION`` (through huggingface_hub and its cache), or a
        path to an agent folder.
    :raises ZooError: unknown id form, unknown registry name, download failure, or a folder that
        fails verification.
    """
    if ident.startswith("registry:"):
        raise ZooError("registry: ids are not supported yet")
    if ident.startswith("hf:"):
        raise ZooError("hf: ids are not supported yet")
    folder = Path(ident)
    if not folder.is_dir():
        raise ZooError(f"{ident}: no such agent folder (ids look like registry:NAME, hf:org/name@rev or a path)")
    verify_folder(folder)
    return folder
