"""The one exception type the CLI turns into a one-line message and exit code 2."""

from __future__ import annotations


class ZooError(Exception):
    """A user-facing error: bad input, a missing plugin, a corrupt checkpoint.

    The message is one line that says what is wrong and, where it can, what would be valid.
    The CLI prints it without a traceback and exits with code 2.
    """


class PluginError(ZooError):
    """A plugin is missing, failed to load, or two plugins claim the same role."""


class CheckpointError(ZooError):
    """A checkpoint is missing, truncated, corrupted, unsafe or incompatible."""


class UnsafeFileError(CheckpointError):
    """A folder holds a file that could run code when loaded (a pickle): tampering, not damage."""


class NonFiniteError(ZooError):
    """Training produced a non-finite loss or parameter."""


class RunInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped a run; it was checkpointed first (``checkpoint``, None if it had
    not trained a step). The CLI prints the message and exits with 128 + ``signum``."""

    def __init__(self, message: str, signum: int, checkpoint: object = None):
        super().__init__(message)
        self.signum, self.checkpoint = signum, checkpoint
