"""The registry: an index of published agents, and the bundled ones that work offline.

``registry/index.json``::

    {"format": 1, "agents": [{
        "id": "rainbow-cartpole-v1",          # what `zoo pull registry:ID` takes
        "recipe": "rainbow", "plugins": ["dueling", "per", "noisy", "c51"],
        "env_id": "CartPole-v1",
        "hub_repo": "agent-zoo/rainbow-CartPole-v1" | null,   # where it is published
        "revision": "<40 hex>" | null,                        # the pinned Hub commit
        "bundled": "agents/rainbow-cartpole-v1" | null,       # folder under registry/, offline
        "files": {"model.safetensors": "<sha256>", ...},      # every file a pull must match
        "score": {"mean": ..., "std": ..., "iqm": ..., "episodes": ..., "verified": bool,
                  "leaderboard": "CartPole-v1" | null,
                  ["metric": "mse", "lower_is_better": true]},  # a held-out metric's score only
        "command": "zoo train ..."}]}                          # how it was trained

Plugins' own artifacts that agents are built from (I2A's environment models) are bundled under
``models/NAME/``, each a folder with a manifest, read by :func:`bundled_model` (``registry:NAME``
where a plugin takes a model).

Bundled folders hold every file of the agent folder except the TorchScript export, which the
zoo never reads (its hash stays in the folder's manifest, so the Hub copy can be checked).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from zoo_core.errors import ZooError
from zoo_core.publishing.paths import refuse_shipped, registry_dir
from zoo_core.running.checkpoint import EXPORTS, read_json, verify_folder, write_json

__all__ = ["add", "bundled_folder", "bundled_model", "describe", "load_index", "lookup", "score_of", "search"]

INDEX = "index.json"
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")


def bundled_model(name: str, root: Path | None = None) -> Path:
    """The folder of a bundled plugin artifact, ``models/NAME`` of the registry, verified against its
    manifest.

    :raises ZooError: no such model (the message lists the bundled ones), or a damaged folder.
    """
    base = (root or registry_dir()) / "models"
    folder = base / name
    if not _ID.match(name) or not folder.is_dir():
        have = sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
        raise ZooError(f"no bundled model '{name}' in the registry; bundled: {', '.join(have) or '(none)'}")
    verify_folder(folder)
    return folder


def load_index(root: Path | None = None) -> dict[str, Any]:
    """The parsed index (an empty one if the registry has none yet)."""
    path = (root or registry_dir()) / INDEX
    if not path.is_file():
        return {"format": 1, "agents": []}
    index = read_json(path)
    if not isinstance(index, dict) or not isinstance(index.get("agents"), list):
        raise ZooError(f"{path} is not a registry index (needs an 'agents' list)")
    return index


def lookup(name: str, root: Path | None = None) -> dict[str, Any]:
    """The index entry for `name`; a one-line error listing the known ids otherwise."""
    agents = load_index(root)["agents"]
    for entry in agents:
        if entry["id"] == name:
            return entry
    known = ", ".join(e["id"] for e in agents) or "none"
    raise ZooError(f"no agent '{name}' in the registry (known: {known}); `zoo registry` lists them")


def search(
    query: str | None = None,
    *,
    env: str | None = None,
    recipe: str | None = None,
    plugin: str | None = None,
    root: Path | None = None,
) -> list[dict[str, Any]]:
    """Entries matching every given filter: env id and recipe exactly (case-insensitive), a plugin
    the agent uses, and `query` as a substring of the id, env or recipe."""

    def keep(e: dict[str, Any]) -> bool:
        return (
            (env is None or e["env_id"].lower() == env.lower())
            and (recipe is None or e["recipe"].lower() == recipe.lower())
            and (plugin is None or plugin in e.get("plugins", []))
            and (query is None or any(query.lower() in e[k].lower() for k in ("id", "env_id", "recipe")))
        )

    return [e for e in load_index(root)["agents"] if keep(e)]


def add(
    folder: Path,
    agent_id: str,
    *,
    hub_repo: str | None = None,
    revision: str | None = None,
    bundle: bool = True,
    score: dict[str, Any] | None = None,
    root: Path | None = None,
) -> dict[str, Any]:
    """Registers a verified agent folder (copying it under ``agents/`` when `bundle`); returns the entry.

    :param score: the leaderboard's verified score for this model, if it has one; otherwise the
        folder's own results.json is recorded with ``verified: false``.
    """
    root = root or registry_dir()
    refuse_shipped(root, "add an agent")
    if not _ID.match(agent_id):
        raise ZooError(f"registry id '{agent_id}' must be lower-case letters, digits, '.', '_' or '-'")
    if revision is not None and not _HEX40.match(revision):
        raise ZooError(f"revision must be a 40-hex commit id, got '{revision}'")
    if not bundle and hub_repo is None:
        raise ZooError("an agent that is not bundled needs a --hub-repo to be fetched from")
    folder = Path(folder)
    manifest = verify_folder(folder)
    config, results = read_json(folder / "config.json"), read_json(folder / "results.json")
    index = load_index(root)
    if any(e["id"] == agent_id for e in index["agents"]):
        raise ZooError(f"the registry already has '{agent_id}'")
    bundled = None
    if bundle:
        bundled = f"agents/{agent_id}"
        target = root / bundled
        if target.exists():
            raise ZooError(f"{target} already exists")
        shutil.copytree(folder, target, ignore=lambda _d, names: [n for n in names if n in EXPORTS])
        verify_folder(target)
    own = {"mean": results["mean"], "std": results["std"], "iqm": results["iqm"],
           "episodes": results["episodes"], "verified": False, "leaderboard": None,
           **_metric_of(results["protocol"])}
    entry = {
        "id": agent_id,
        "recipe": config["recipe"],
        "plugins": config["plugins"],
        "env_id": config["env_id"],
        "hub_repo": hub_repo,
        "revision": revision,
        "bundled": bundled,
        "files": {name: f["sha256"] for name, f in manifest["files"].items()},
        "score": score_of(score) if score else own,
        "command": config.get("command"),
    }
    index["agents"].append(entry)
    root.mkdir(parents=True, exist_ok=True)
    write_json(root / INDEX, index)
    return entry


def score_of(found: dict[str, Any]) -> dict[str, Any]:
    """A registry score from a leaderboard's `verified_score` entry."""
    return {"mean": found["mean"], "std": found["std"], "iqm": found["iqm"], "ci": found["ci"],
            "episodes": found["episodes"], "verified": True, "leaderboard": found["leaderboard"],
            **_metric_of(found)}


def _metric_of(protocol: dict[str, Any]) -> dict[str, Any]:
    """``{"metric", "lower_is_better"}`` for a held-out metric's score, nothing for a return (the
    index's entries from before metrics existed stay as they were)."""
    metric = protocol.get("metric", "return")
    return {} if metric == "return" else {"metric": metric, "lower_is_better": bool(protocol.get("lower_is_better"))}


def bundled_folder(entry: dict[str, Any], root: Path | None = None) -> Path | None:
    """The bundled folder of an entry, or None."""
    return (root or registry_dir()) / entry["bundled"] if entry.get("bundled") else None


def describe(entry: dict[str, Any]) -> str:
    """One line for listings."""
    s = entry["score"]
    mark = "verified" if s.get("verified") else "unverified"
    return f"{entry['id']}: {entry['recipe']} on {entry['env_id']}, {score_summary(s)} ({mark})"


def score_summary(score: dict[str, Any]) -> str:
    """A registry score as listings show it: ``475.2 ± 9.1``, or ``mse 0.1263 ± 0.093``."""
    if "metric" in score:
        return f"{score['metric']} {score['mean']:.4g} ± {score['std']:.2g}"
    return f"{score['mean']:.1f} ± {score['std']:.1f}"
