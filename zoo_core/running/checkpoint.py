"""Checkpoints that run no code and lose nothing.

A checkpoint is a directory ``step_<N>/`` of safetensors and JSON files plus ``manifest.json``
(the sha256 and size of every other file). It is written into a hidden temporary directory that
is renamed into place only when complete, so an interrupted save never replaces, hides or
masquerades as the previous checkpoint. Loading refuses pickle files and any file that fails its
manifest entry; nothing on the load path can execute code (no pickle, no ``torch.load``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors import SafetensorError

from zoo_core.errors import CheckpointError, UnsafeFileError
from zoo_core.running.atomic import shared_mode

if TYPE_CHECKING:
    import torch

FORMAT = 1
MANIFEST = "manifest.json"
CONFIG = "config.json"  # a run's, a checkpoint's and an agent folder's description
_STEP_DIR = re.compile(r"^step_(\d+)$")
# Files an agent folder may carry for other tools but the zoo never opens: the TorchScript policy
# (a zip holding a pickle). Only these names, only when the manifest lists them as exports.
EXPORTS = frozenset({"agent.pt"})
PICKLE_SUFFIXES = {".pkl", ".pickle", ".pt", ".pth", ".ckpt", ".joblib", ".bin", ".npz", ".zip"}


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def looks_like_pickle(path: Path) -> bool:
    """Whether a file is (or may hide) a pickle: by suffix, pickle protocol header or zip header.

    torch's ``.pt`` files are zip archives holding a pickle, so zip headers count too.
    """
    if path.suffix.lower() in PICKLE_SUFFIXES:
        return True
    with open(path, "rb") as fh:
        head = fh.read(4)
    if len(head) >= 2 and head[0] == 0x80 and head[1] in range(2, 6):
        # A safetensors file opens with its header's length, little-endian: a 640-byte header
        # (0x280) opens with 80 02, pickle protocol 2's first two bytes. One that parses as
        # safetensors is read as safetensors, never unpickled.
        return not (path.suffix.lower() == ".safetensors" and _safetensors_ok(path))
    return head[:4] == b"PK\x03\x04"


def refuse_unsafe_files(folder: Path, never_read: frozenset[str] = frozenset()) -> None:
    """Raise :class:`CheckpointError` if any file under ``folder`` looks like a pickle.

    ``never_read`` names top-level files the zoo never opens (an agent folder's TorchScript
    export), which are exempt.
    """
    for path in sorted(folder.rglob("*")):
        if path.parent == folder and path.name in never_read:
            continue
        if path.is_file() and looks_like_pickle(path):
            raise UnsafeFileError(
                f"refusing to load {folder}: {path.name} is a pickle-format file, which can run code; "
                "zoo checkpoints hold only safetensors and JSON"
            )


_MAX_SAFETENSORS_HEADER = 100 << 20


def _safetensors_ok(path: Path) -> bool:
    """Header parses as JSON and its tensors' byte ranges end exactly at the end of the file."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            return False
        n = int.from_bytes(head, "little")
        if n > min(size - 8, _MAX_SAFETENSORS_HEADER):
            return False
        try:
            header = json.loads(fh.read(n))
        except ValueError:
            return False
    if not isinstance(header, dict):
        return False
    ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__" and isinstance(t, dict)
            and isinstance(t.get("data_offsets"), list) and len(t["data_offsets"]) == 2]
    return len(ends) == len(header) - ("__metadata__" in header) and max(ends, default=0) == size - 8 - n


def _utf8_ok(path: Path) -> bool:
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _json_ok(path: Path) -> bool:
    try:
        json.loads(path.read_bytes())
    except ValueError:  # includes bad UTF-8
        return False
    return True


def _magic(prefix: bytes, offset: int = 0) -> Any:
    def check(path: Path) -> bool:
        with open(path, "rb") as fh:
            return fh.read(offset + len(prefix))[offset:] == prefix

    return check


# What a zoo folder may hold, by suffix, and how each file's bytes must look: an allowlist, so a
# file is accepted for what it is, not merely for not looking like a pickle.
CONTENT_CHECKS = {
    ".safetensors": _safetensors_ok,
    ".json": _json_ok,
    ".md": _utf8_ok,
    ".csv": _utf8_ok,
    ".png": _magic(b"\x89PNG\r\n\x1a\n"),
    ".mp4": _magic(b"ftyp", offset=4),
}


def check_contents(folder: Path, never_read: frozenset[str] = frozenset()) -> None:
    """Raise :class:`CheckpointError` unless every top-level file is an allowed type with valid bytes."""
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.name not in never_read):
        check = CONTENT_CHECKS.get(path.suffix.lower())
        if check is None:
            raise CheckpointError(f"refusing to load {folder}: {path.name} is not a file type a zoo folder holds")
        if not check(path):
            raise CheckpointError(f"refusing to load {folder}: {path.name} is not a valid {path.suffix} file")


def write_json(path: Path, data: Any) -> None:
    """Write JSON and flush it to disk."""
    with open(path, "w") as fh:
        json.dump(data, fh, indent=1, allow_nan=False)
        fh.flush()
        os.fsync(fh.fileno())


def save_safetensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Write tensors as safetensors with the mode any new file gets (safetensors makes it 0600).
    Tensors on a GPU are copied to the CPU first: files are device-free, loaded onto any device."""
    from safetensors.torch import save_file

    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(path))
    os.chmod(path, shared_mode())


def write_manifest(folder: Path, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Hash every file in ``folder`` (but the manifest) into ``manifest.json``."""
    files = {
        p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != MANIFEST
    }
    manifest = {"format": FORMAT, "files": files, **(extra or {})}
    write_json(folder / MANIFEST, manifest)
    return manifest


def verify_folder(folder: Path) -> dict[str, Any]:
    """Check a folder against its manifest; return the manifest.

    :raises CheckpointError: missing or unreadable manifest, a pickle file, a file missing from the
        manifest or from disk, a size or hash mismatch.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"no checkpoint at {folder}")
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        files = manifest["files"]
        exports = frozenset(name for name in manifest.get("exports", ()) if name in EXPORTS)
    except (OSError, ValueError, KeyError, TypeError):
        refuse_unsafe_files(folder)
        raise CheckpointError(f"{folder} has no valid {MANIFEST}; it is not a complete zoo checkpoint") from None
    refuse_unsafe_files(folder, exports)
    on_disk = {p.name for p in folder.iterdir() if p.is_file() and p.name != MANIFEST}
    unlisted = sorted(on_disk - set(files))
    if unlisted:
        raise CheckpointError(f"{folder}: {unlisted[0]} is not in the manifest; refusing to load")
    for name, entry in files.items():
        path = folder / name
        if not path.is_file():
            if name in exports:
                continue  # an export the zoo never reads may be left out (zoo pull skips it)
            raise CheckpointError(f"{folder}: {name} is missing")
        if path.stat().st_size != entry["bytes"] or sha256_file(path) != entry["sha256"]:
            raise CheckpointError(f"{folder}: {name} is truncated or corrupted (sha256 mismatch)")
    check_contents(folder, exports)
    return manifest


def read_json(path: Path) -> Any:
    """Read a JSON file with a clear error."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from None


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file with a clear error (never a pickle)."""
    from safetensors.torch import load_file  # torch loads only when tensors are read

    try:
        return load_file(str(path))
    except (OSError, SafetensorError, ValueError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from None


def write_folder(
    final: Path,
    tensors: dict[str, dict[str, torch.Tensor]],
    documents: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Atomically write a folder of ``<stem>.safetensors`` and ``<stem>.json`` files plus a manifest.

    The files go to a hidden sibling directory that is renamed to ``final`` only when complete;
    an existing ``final`` is replaced only after the new one is whole.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        tmp.mkdir()
        for stem, group in tensors.items():
            save_safetensors(group, tmp / f"{stem}.safetensors")
        for stem, doc in documents.items():
            write_json(tmp / f"{stem}.json", doc)
        write_manifest(tmp, extra)
    except (OSError, SafetensorError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        reason = getattr(exc, "strerror", None) or exc
        raise CheckpointError(f"could not write {final} ({reason}); the previous one is intact") from None
    if final.exists():  # never lose both: move the old one aside, put the new one in, then delete
        old = final.parent / f".old-{final.name}-{os.getpid()}"
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old)
    else:
        tmp.rename(final)
    _fsync_dir(final.parent)
    return final


def save_checkpoint(
    root: Path,
    step: int,
    tensors: dict[str, dict[str, torch.Tensor]],
    documents: dict[str, Any],
    keep: int = 3,
) -> Path:
    """Atomically write ``root/step_<step>/`` and keep only the newest ``keep`` checkpoints.

    :param root: the checkpoints directory.
    :param step: the env step the checkpoint is taken at.
    :param tensors: ``file stem -> {name: tensor}``, each written as ``<stem>.safetensors``.
    :param documents: ``file stem -> JSON-able``, each written as ``<stem>.json``.
    :param keep: checkpoints to keep (at least 1).
    :returns: the checkpoint directory.
    """
    final = write_folder(root / f"step_{step:012d}", tensors, documents, {"step": step})
    for stale in list_checkpoints(root)[: -max(keep, 1)]:
        shutil.rmtree(stale, ignore_errors=True)
    return final


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoint directories under ``root``, oldest first (temporary ones excluded)."""
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := _STEP_DIR.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(root: Path) -> Path | None:
    """The newest complete checkpoint that has a manifest, or None."""
    for path in reversed(list_checkpoints(root)):
        if (path / MANIFEST).is_file():
            return path
    return None


def load_checkpoint(path: Path) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, Any]]:
    """Verify and read a checkpoint: ``({stem: tensors}, {stem: json})``."""
    verify_folder(Path(path))
    return read_checkpoint(path)


def read_checkpoint(path: Path) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, Any]]:
    """Read a checkpoint :func:`verify_folder` has already passed (hashing it again would read a
    replay-sized folder twice)."""
    path = Path(path)
    tensors = {p.stem: read_tensors(p) for p in sorted(path.glob("*.safetensors"))}
    documents = {p.stem: read_json(p) for p in sorted(path.glob("*.json")) if p.name != MANIFEST}
    return tensors, documents


_PARTIAL = re.compile(r"^\.(tmp|old)-(.+)-(\d+)$")


def recover_partial_writes(folder: Path) -> list[str]:
    """Finish what an interrupted :func:`write_folder` left in ``folder``; return what was done.

    A ``.tmp-<name>-<pid>`` folder is a write that never completed (as large as a checkpoint, so
    it must not stay forever): it is removed. An ``.old-<name>-<pid>`` folder is the previous
    ``<name>`` moved aside for its replacement: it is put back if the replacement never arrived,
    else removed. Call it only while holding the run's lock (no writer can be at work).
    """
    done: list[str] = []
    if not folder.is_dir():
        return done
    for entry in sorted(folder.iterdir()):
        m = _PARTIAL.match(entry.name)
        if m is None or not entry.is_dir():
            continue
        kind, name = m.group(1), m.group(2)
        if kind == "old" and not (folder / name).exists():
            entry.rename(folder / name)
            done.append(f"restored {folder / name} (its replacement was never finished)")
        else:
            shutil.rmtree(entry, ignore_errors=True)
            done.append(f"removed the unfinished write {entry}")
    return done


def set_aside(path: Path) -> Path:
    """Rename a damaged checkpoint to ``damaged-<name>`` (kept for inspection, never loaded or
    counted among the kept checkpoints)."""
    target = path.with_name(f"damaged-{path.name}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"damaged{n}-{path.name}")
    path.rename(target)
    return target
