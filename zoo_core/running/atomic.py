"""Writing a file so that readers see the old version or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def shared_mode() -> int:
    """The mode ``open()`` gives a new file: ``0o666`` less the process's umask (0644 under 022).

    Writers that create files privately (``mkstemp``, safetensors' ``save_file``: 0600) set this
    afterwards, so what the zoo writes is as readable as any other file the user makes.
    """
    try:  # Linux names the umask without changing it (os.umask must set one to read it)
        with open("/proc/self/status") as fh:
            mask = next(int(line.split()[1], 8) for line in fh if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds it replaces ``path``.

    On any error (KeyboardInterrupt included) the temporary file is removed and ``path`` is left
    as it was. ``suffix`` lets a writer that picks its format from the name (ffmpeg) see the
    right one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, shared_mode())  # mkstemp made it 0600; outputs honour the umask
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
