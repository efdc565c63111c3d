"""Where agents come from: `registry:NAME`, `hf:org/name@revision` or a local folder.

`fetch` turns any of these into a local agent folder that has passed `verify_folder` (manifest,
hashes, no pickles), so every reader of agents (eval, leaderboard, push) starts from the same
checked bytes. Registry agents are checked once more against the sha256s in the registry's
index, so neither a changed Hub repo nor an edited bundled folder goes unnoticed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo_core.errors import ZooError
from zoo_core.running.checkpoint import MANIFEST, read_json, sha256_file, verify_folder

__all__ = ["Fetched", "fetch", "locate"]

_HF_ID = re.compile(r"^hf:(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?:@(?P<rev>[\w./-]+))?$")


@dataclass(frozen=True)
class Fetched:
    """A verified agent folder and where it came from."""

    folder: Path
    commit: str | None
    """The 40-hex Hub commit the files are from; None for a local folder."""
    revision: str | None = None
    """The revision asked for (a branch, tag or commit), or None for the default branch."""


def fetch(ident: str) -> Path:
    """A verified local agent folder for `ident`.

    :param ident: ``registry:NAME`` (the project's index; bundled agents need no network),
        ``hf:org/name`` or ``hf:org/name@REVISION`` (through huggingface_hub and its cache), or a
        path to an agent folder.
    :raises ZooError: unknown id form, unknown registry name, download failure, or a folder that
        fails verification.
    """
    return locate(ident).folder


def locate(ident: str) -> Fetched:
    """Like :func:`fetch`, and also says which commit the folder holds."""
    if ident.startswith("registry:"):
        return _from_registry(ident)
    if ident.startswith("hf:"):
        match = _HF_ID.match(ident)
        if not match:
            raise ZooError(f"'{ident}' is not a Hub id; expected hf:org/name or hf:org/name@REVISION")
        from zoo_core.publishing.hub import download

        folder = download(match["repo"], match["rev"])
        return Fetched(folder, folder.name, match["rev"])  # the snapshot folder is named after its commit
    folder = Path(ident)
    if not folder.is_dir():
        raise ZooError(f"{ident}: no such agent folder (ids look like registry:NAME, hf:org/name@rev or a path)")
    verify_folder(folder)
    return Fetched(folder, None)


def _from_registry(ident: str) -> Fetched:
    """A bundled agent from the registry folder, else a download pinned to the index's revision."""
    from zoo_core.publishing.paths import registry_dir
    from zoo_core.publishing.registry import lookup

    entry: dict[str, Any] = lookup(ident.removeprefix("registry:"))
    if entry.get("bundled"):
        root = registry_dir().resolve()
        folder = (root / entry["bundled"]).resolve()
        if not folder.is_relative_to(root):
            raise ZooError(f"{ident}: its bundled folder {entry['bundled']} lies outside the registry")
        manifest = verify_folder(folder)
    elif entry.get("hub_repo"):
        from zoo_core.publishing.hub import download

        folder = download(entry["hub_repo"], entry.get("revision"))
        manifest = read_json(folder / MANIFEST)  # download has verified the snapshot against it
    else:
        raise ZooError(f"{ident}: the index gives neither a bundled folder nor a hub repo")
    _check_pins(ident, folder, manifest, entry.get("files") or {})
    commit = folder.name if entry.get("hub_repo") and not entry.get("bundled") else entry.get("revision")
    return Fetched(folder, commit, entry.get("revision"))


def _check_pins(ident: str, folder: Path, manifest: dict[str, Any], pins: dict[str, str]) -> None:
    """Every file must be the one the registry's index pinned.

    A pinned export (``agent.pt``, never downloaded) may be absent; a file the index does not
    pin may not be present, so a repo cannot grow files behind the index's back.
    """
    if not pins:
        raise ZooError(f"{ident}: the index pins no file hashes; refusing an unpinned agent")
    exports = set(manifest.get("exports", []))
    for name, digest in sorted(pins.items()):
        path = folder / name
        if not path.is_file():
            if name in exports:
                continue
            raise ZooError(f"{ident}: {name} is pinned by the registry but missing from {folder}")
        if sha256_file(path) != digest:
            raise ZooError(f"{ident}: {name} does not match the sha256 the registry pinned; refusing it")
    extra = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name not in pins and p.name != MANIFEST)
    if extra:
        raise ZooError(f"{ident}: {extra[0]} is not pinned by the registry; refusing it")
