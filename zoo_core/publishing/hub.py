"""Agent folders on the Hugging Face Hub: thin glue over huggingface_hub (imported lazily).

`push` uploads exactly what an agent folder's manifest lists, after checking it, so a repo holds
the same bytes the zoo verified. `download` fetches only the files the zoo reads (safetensors,
JSON, the model card, images and videos; never the pickle-based TorchScript export) into
huggingface_hub's cache, then checks the snapshot against its manifest. Every failure is a
one-line :class:`ZooError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zoo_core.errors import ZooError
from zoo_core.running.checkpoint import MANIFEST, verify_folder

__all__ = ["SAFE_PATTERNS", "download", "is_commit", "tree_url"]

SAFE_PATTERNS = ["*.safetensors", "*.json", "README.md", "*.png", "*.mp4"]
"""What `download` fetches; anything else in a repo (``agent.pt``, pickles) never reaches the disk."""

_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def is_commit(revision: str | None) -> bool:
    """Whether ``revision`` is a full 40-hex commit id (pinned), not a branch or tag."""
    return bool(revision and _COMMIT.fullmatch(revision))


def huggingface() -> Any:
    try:
        import huggingface_hub
        import huggingface_hub.constants  # a submodule the package's lazy loader does not expose by itself
    except ImportError:
        raise ZooError("sharing agents needs huggingface_hub: pip install huggingface_hub") from None
    return huggingface_hub


def tree_url(repo_id: str, commit: str, endpoint: str | None = None) -> str:
    """The web page of a repo's files at a commit."""
    return f"{(endpoint or huggingface().constants.ENDPOINT).rstrip('/')}/{repo_id}/tree/{commit}"


def download(
    repo_id: str,
    revision: str | None = None,
    *,
    endpoint: str | None = None,
    cache_dir: str | Path | None = None,
    token: str | bool | None = None,
) -> Path:
    """A verified snapshot of an agent repo in huggingface_hub's cache.

    A 40-hex ``revision`` is used as is (and served from the cache without any request once
    fetched); a branch or tag is resolved by the Hub, and the snapshot folder is named after the
    commit it resolved to. With ``HF_HUB_OFFLINE=1`` only the cache is used.

    :returns: ``.../snapshots/<commit>``: the agent folder, without the files that are not in
        :data:`SAFE_PATTERNS`.
    :raises ZooError: unknown repo or revision, no network and no cached copy, or a snapshot that
        fails its manifest (a changed, missing, extra or pickle-format file).
    """
    hf = huggingface()
    where = f"hf:{repo_id}" + (f"@{revision}" if revision else "")
    with hub_errors(repo_id, revision, endpoint or hf.constants.ENDPOINT):
        path = Path(
            hf.snapshot_download(
                repo_id,
                revision=revision,
                endpoint=endpoint,
                cache_dir=cache_dir,
                token=token,
                allow_patterns=SAFE_PATTERNS,
            )
        )
    if not (path / MANIFEST).is_file():
        raise ZooError(f"{where} is not a zoo agent folder (no {MANIFEST})")
    verify_folder(path)
    return path


@contextmanager
def hub_errors(repo_id: str, revision: str | None, endpoint: str) -> Iterator[None]:
    """Turns huggingface_hub's and its HTTP client's exceptions into one-line ZooErrors."""
    from huggingface_hub import errors

    where = f"hf:{repo_id}" + (f"@{revision}" if revision else "")
    try:
        yield
    except errors.RevisionNotFoundError:
        raise ZooError(f"{where}: the repo has no revision '{revision}'") from None
    except errors.RepositoryNotFoundError:
        raise ZooError(
            f"{where}: no such repo on {endpoint} (or it is private and no valid token was given)"
        ) from None
    except errors.OfflineModeIsEnabled:
        raise ZooError(f"{where}: HF_HUB_OFFLINE is set and this needs the Hub") from None
    except errors.LocalEntryNotFoundError as exc:
        offline = isinstance(exc.__cause__, errors.OfflineModeIsEnabled) or "HF_HUB_OFFLINE" in str(exc)
        why = "HF_HUB_OFFLINE is set" if offline else f"the Hub at {endpoint} cannot be reached"
        raise ZooError(f"{where}: {why} and the local cache has no complete copy") from None
    except errors.HfHubHTTPError as exc:
        raise ZooError(f"{where}: the Hub at {endpoint} refused: {_first_line(exc)}") from None
    except errors.HFValidationError as exc:
        raise ZooError(f"'{repo_id}' is not a valid repo id (expected org/name): {_first_line(exc)}") from None
    except (OSError, ValueError) as exc:  # disk errors; answers huggingface_hub could not parse
        raise ZooError(f"{where}: {_first_line(exc)}") from None
    except Exception as exc:
        if type(exc).__module__.split(".")[0].startswith("httpx"):  # transport errors of the HTTP client
            raise ZooError(f"{where}: cannot reach the Hub at {endpoint} ({_first_line(exc)})") from None
        raise


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
