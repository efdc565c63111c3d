"""SIGINT and SIGTERM, deferred to the trainer's next consistent point.

A terminal's Ctrl-C reaches the whole process group, and a scheduler's SIGTERM may too. Python
turns SIGINT into a ``KeyboardInterrupt`` wherever the main thread happens to be: inside a burst of
gradient steps, half way through storing a transition, or in a worker's pipe read. The run would
then be saved (if at all) at a point no uninterrupted run ever passes through, and resume could not
be exact. So while a run trains, :class:`StopSignals` only *records* the first signal; the trainer
looks at it between turns, where the agent, replay and envs are whole, checkpoints and stops. A
second signal is the user insisting: it raises ``KeyboardInterrupt`` at once, and the run keeps its
last complete checkpoint (checkpoint writes are atomic).

Worker processes leave the signal to their parent (:func:`shield_children`): the parent stops them
once its checkpoint is written.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Records the first SIGINT/SIGTERM while active; a second raises ``KeyboardInterrupt``.

    Outside the main thread (where Python cannot install handlers) it does nothing, and signals
    keep their default behaviour.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        """Whether a stop was asked for."""
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
            print(
                f"\nzoo: {signal.Signals(signum).name} received; stopping at the next consistent point to save a "
                "checkpoint (send it again to stop at once without saving)",
                file=sys.stderr,
                flush=True,
            )
            return
        raise KeyboardInterrupt(f"{signal.Signals(signum).name} received twice: stopped without saving")

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()


@contextlib.contextmanager
def shield_children() -> Iterator[None]:
    """Start child processes inside this block so they are born with SIGINT and SIGTERM blocked.

    The mask is inherited across ``spawn``'s exec; a child calls :func:`ignore_stop_signals` first
    thing, so a Ctrl-C sent to the process group while it is still importing cannot print a
    traceback from it. Signals that reach the parent meanwhile stay pending and are delivered when
    the block ends: none is lost.
    """
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def ignore_stop_signals() -> None:
    """In a worker process: ignore SIGINT and SIGTERM (the parent decides when workers stop), then
    unblock them (see :func:`shield_children`)."""
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
