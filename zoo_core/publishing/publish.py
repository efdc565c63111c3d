"""Publishing a verified agent: pushing it to the Hub and refreshing the registry's scores.

Both rewrite the model card with the score a leaderboard verified for exactly these weights, so they
sit above agent folders, leaderboards, the Hub client and the registry index.
"""

from __future__ import annotations

from pathlib import Path

from zoo_core.errors import ZooError
from zoo_core.publishing.agent_folder import write_model_card
from zoo_core.publishing.hub import hub_errors, huggingface, is_commit
from zoo_core.publishing.leaderboard import verified_score
from zoo_core.publishing.paths import registry_dir
from zoo_core.publishing.registry import INDEX, bundled_folder, load_index, score_of
from zoo_core.running.checkpoint import MANIFEST, verify_folder, write_json


def push(
    folder: str | Path,
    repo_id: str,
    *,
    revision: str | None = None,
    private: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
) -> str:
    """Upload a verified agent folder to ``repo_id``; returns the commit's 40-hex id.

    The model card's score is refreshed first (``verified: true`` only when a leaderboard
    re-evaluated this exact model). The repo ends up holding exactly the manifest's files: files
    of an earlier push that the folder no longer has are deleted in the same commit.

    :param revision: branch to commit to (default ``main``; created from ``main`` if missing).
    :param private: visibility of a repo that does not exist yet.
    :param token: Hub token (default: ``HF_TOKEN`` or the saved login).
    :param endpoint: Hub URL (default: ``HF_ENDPOINT`` or huggingface.co).
    :raises ZooError: a folder that fails verification, a revision that is a commit id, or any
        Hub error (bad token, network down, ...).
    """
    folder = Path(folder)
    if is_commit(revision):
        raise ZooError(f"--revision must be a branch to commit to, not a commit id ({revision})")
    verify_folder(folder)  # before the card rewrite re-hashes the manifest, so tampering is not blessed
    try:
        write_model_card(folder, verified_score(folder))
    except (KeyError, TypeError, ValueError) as exc:
        raise ZooError(f"{folder}: cannot write the model card from config.json and results.json ({exc!r})") from None
    manifest = verify_folder(folder)
    hf = huggingface()
    api = hf.HfApi(endpoint=endpoint, token=token)
    with hub_errors(repo_id, revision, api.endpoint):
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision and revision != "main":
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            revision=revision,
            allow_patterns=[*manifest["files"], MANIFEST],
            delete_patterns="*",
            commit_message=f"zoo push {folder.name}",
        )
    return info.oid


def refresh_scores(root: Path | None = None) -> list[str]:
    """Sets each bundled entry's score from the leaderboard entry that re-evaluated its weights.

    The bundled model card is rewritten to carry that score with ``verified: true`` (as `zoo push`
    does), and the entry's file hashes follow. An entry without a leaderboard entry keeps its own,
    unverified score. Returns the ids whose score changed.
    """
    root = root or registry_dir()
    index, changed = load_index(root), []
    for entry in index["agents"]:
        folder = bundled_folder(entry, root)
        found = verified_score(folder) if folder is not None else None
        if found is None:
            continue
        score = score_of(found)
        if entry["score"] != score:
            write_model_card(folder, found)
            manifest = verify_folder(folder)
            entry["files"] = {name: f["sha256"] for name, f in manifest["files"].items()}
            entry["score"] = score
            changed.append(entry["id"])
    if changed:
        write_json(root / INDEX, index)
    return changed
