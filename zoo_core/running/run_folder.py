"""A run folder is the user's data: one process owns it, and a new run never writes over files.

:class:`RunFolder` claims a folder for ``train`` (new or empty, else refused) or ``resume`` (one
holding a run), holding an OS lock on ``.zoo-lock`` inside it for as long as the process lives.
The lock is ``flock``'s: the kernel releases it when the process exits or dies, however it dies,
so a stale lock can never block a retry. A second process asking for the same folder is refused
at once, naming the holder's PID.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

from zoo_core.errors import ZooError
from zoo_core.running.checkpoint import CONFIG

LOCK = ".zoo-lock"
# What a run writes beside its checkpoints; a run started over from step 0 begins without them.
OUTPUTS = ("progress.csv", "eval.csv", "results.json", "learning_curve.png", "best", "tb")


class RunFolder:
    """The folder of one run, locked by this process.

    :param path: the run folder.
    :param created: the topmost folder this process made for it (removed if the run fails before
        its first step), or None.
    """

    def __init__(self, path: Path, created: Path | None):
        self.path, self.created = path, created
        self._fd: int | None = None

    # --- claiming -------------------------------------------------------------------------------

    @classmethod
    def new(cls, out: str | Path) -> RunFolder:
        """Claim ``out`` for a new run: it must not exist or be an empty folder.

        :raises ZooError: ``out`` is a file, cannot be created, is held by another process, holds
            a run (continue it with ``zoo resume``), or holds anything else.
        """
        path = Path(out)
        created: Path | None = None
        try:
            missing = [p for p in (path, *path.parents) if not p.exists()]
            path.mkdir(parents=True)
            created = missing[-1] if missing else None  # the topmost folder made here
        except FileExistsError:
            if not path.is_dir():
                raise ZooError(f"--out {path} is a file; a run needs a folder (pick a new path)") from None
        except OSError as exc:
            raise ZooError(f"cannot create the run folder {path}: {exc.strerror or exc}") from None
        folder = cls(path, created)
        if not (path / CONFIG).exists():
            folder._refuse_contents()  # before locking: a refused folder of the user's gains no lock file
        folder.lock()  # a run's folder: one in use is refused naming its holder

        try:
            folder._refuse_contents()  # again under the lock: another process may have begun meanwhile
        except BaseException:
            folder.release()
            raise
        return folder

    def _refuse_contents(self) -> None:
        path = self.path
        if (path / CONFIG).exists():
            raise ZooError(f"{path} already holds a run; continue it with `zoo resume {path}` or pick another --out")
        found = sorted(p.name for p in path.iterdir() if p.name != LOCK)
        if found:
            raise ZooError(
                f"{path} is not empty and holds no zoo run (it has {found[0]}"
                f"{f' and {len(found) - 1} more' if len(found) > 1 else ''}); "
                "a run never writes over your files: pick a new or empty --out"
            )

    @classmethod
    def existing(cls, run_dir: str | Path) -> RunFolder:
        """Claim a folder holding a run (``resume``).

        :raises ZooError: not a run folder, or held by another process.
        """
        path = Path(run_dir)
        if not (path / CONFIG).is_file():
            raise ZooError(f"{path} is not a zoo run directory (no {CONFIG})")
        folder = cls(path, created=None)
        folder.lock()
        return folder

    def lock(self) -> None:
        """Take the folder's lock, or fail naming the process that holds it."""
        lock_path = self.path / LOCK
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ZooError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ZooError(
                f"{self.path} is in use by another zoo process (PID {holder}); one process owns a run folder"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (the kernel does it too when the process ends)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # --- housekeeping ---------------------------------------------------------------------------

    def abandon(self) -> None:
        """Undo a run that failed before its first step: leave the folder as it was found.

        A folder this process created goes; one that was empty is emptied again.
        """
        if self.created is not None:
            shutil.rmtree(self.created, ignore_errors=True)
        else:
            for entry in self.path.iterdir():
                if entry.name == LOCK:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
            (self.path / LOCK).unlink(missing_ok=True)
        self.release()

    def clear_outputs(self) -> None:
        """Remove what an earlier attempt of this run wrote (a run started over from step 0)."""
        for name in OUTPUTS:
            entry = self.path / name
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            elif entry.exists() or entry.is_symlink():
                entry.unlink()

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
