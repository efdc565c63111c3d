"""Workers in other processes or on other machines: local processes by default, Ray on request.

A :class:`WorkerGroup` holds ``n`` objects built by ``factory(index)``, each in its own process
(``backend="local"``, nothing to install or start) or as a Ray actor (``backend="ray"``, for more
than one machine). The caller submits one method call per worker at a time and collects the
results in whatever order it likes, so the same learner code drives both backends. IMPALA's actors
live here; population-based training can too.

Calls carry Python objects between the zoo's own processes (numpy arrays, dicts), never files
from elsewhere.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from typing import Any

from zoo_core.errors import ZooError
from zoo_core.running.interrupts import ignore_stop_signals, shield_children

RAY_MISSING = (
    "--backend ray needs Ray, which is not installed; install it with "
    "`pip install 'zoo-impala[ray]'` (or `pip install ray`), or use --backend local"
)


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _serve(factory: Callable[[int], Any], index: int, conn: Any) -> None:
    """A local worker process: build the object, then answer ``(method, args)`` until told to stop."""
    ignore_stop_signals()  # SIGINT/SIGTERM to the process group: the parent stops its workers
    import torch

    torch.set_num_threads(1)  # one core per worker; the learner keeps its own setting
    try:
        obj = factory(index)
    except Exception as exc:  # reported to the caller as one line, not a traceback in a child
        conn.send(("error", _one_line(exc)))
        return
    conn.send(("ok", None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if message is None:
            return
        method, args = message
        try:
            conn.send(("ok", getattr(obj, method)(*args)))
        except Exception as exc:
            conn.send(("error", _one_line(exc)))


class _RayHost:
    """The Ray actor around one worker object (``call`` forwards a method call)."""

    def __init__(self, factory: Callable[[int], Any], index: int):
        import torch

        torch.set_num_threads(1)
        self.obj = factory(index)

    def call(self, method: str, *args: Any) -> Any:
        return getattr(self.obj, method)(*args)


class WorkerGroup:
    """``n`` worker objects, one call in flight per worker.

    :param factory: ``factory(index) -> object``; must be picklable (a module-level function or a
        ``functools.partial`` of one), since it is sent to the worker's process.
    :param n: how many workers.
    :param backend: ``local`` (one spawned process each) or ``ray``.
    :param address: Ray cluster address (``ray``); None joins the runtime this process already
        started (``ray.init``) or starts a local one.
    :param name: what the workers are called in error messages.
    """

    def __init__(
        self, factory: Callable[[int], Any], n: int, backend: str = "local", address: str | None = None,
        name: str = "worker",
    ):
        if n < 1:
            raise ZooError(f"need at least one {name}; got {n}")
        if backend not in ("local", "ray"):
            raise ZooError(f"unknown backend '{backend}'; valid: local, ray")
        self.n, self.backend, self.name = n, backend, name
        self._busy = [False] * n
        self._closed = False
        self._started_ray = False
        if backend == "local":
            self._start_local(factory)
        else:
            self._start_ray(factory, address)

    # --- starting -------------------------------------------------------------------------------

    def _start_local(self, factory: Callable[[int], Any]) -> None:
        # spawn, not fork: a forked child inherits the parent's torch threads and locks mid-use.
        ctx = mp.get_context("spawn")
        self._conns, self._procs = [], []
        for i in range(self.n):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(factory, i, child), daemon=True, name=f"zoo-{self.name}-{i}")
            with shield_children():
                proc.start()
            child.close()
            self._conns.append(parent)
            self._procs.append(proc)
        try:
            for i in range(self.n):
                self._busy[i] = True
                self.result(i)  # the worker's "ready" (or why it could not start)
        except BaseException:
            self.close()
            raise

    def _start_ray(self, factory: Callable[[int], Any], address: str | None) -> None:
        try:
            import ray
        except ImportError:
            raise ZooError(RAY_MISSING) from None
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
            self._started_ray = True
        self._ray = ray
        free = ray.cluster_resources().get("CPU", 0)
        if free < self.n:
            self.close()
            raise ZooError(f"the Ray cluster has {free:g} CPUs; {self.n} {self.name}s need one each")
        host = ray.remote(num_cpus=1)(_RayHost)
        self._actors = [host.remote(factory, i) for i in range(self.n)]
        self._refs: list[Any] = [None] * self.n

    # --- calls ----------------------------------------------------------------------------------

    def submit(self, index: int, method: str, *args: Any) -> None:
        """Start ``worker.method(*args)`` on worker ``index``; collect it with :meth:`result`."""
        if self._busy[index]:
            raise RuntimeError(f"{self.name} {index} already has a call in flight")
        self._busy[index] = True
        if self.backend == "local":
            try:
                self._conns[index].send((method, args))
            except (BrokenPipeError, OSError):
                raise ZooError(self._death(index)) from None
        else:
            self._refs[index] = self._actors[index].call.remote(method, *args)

    def result(self, index: int) -> Any:
        """Wait for worker ``index``'s call in flight and return its result.

        :raises ZooError: the worker raised (its message, on one line) or died.
        """
        if not self._busy[index]:
            raise RuntimeError(f"{self.name} {index} has no call in flight")
        self._busy[index] = False
        if self.backend == "ray":
            try:
                return self._ray.get(self._refs[index])
            except self._ray.exceptions.RayError as exc:
                cause = getattr(exc, "cause", None) or exc
                line = (str(cause).strip().splitlines() or [type(cause).__name__])[-1]
                raise ZooError(f"{self.name} {index} failed: {line}") from None
        conn, proc = self._conns[index], self._procs[index]
        while not conn.poll(1.0):
            if not proc.is_alive():
                raise ZooError(self._death(index))
        try:
            status, value = conn.recv()
        except EOFError:
            raise ZooError(self._death(index)) from None
        if status == "error":
            raise ZooError(f"{self.name} {index} failed: {value}")
        return value

    def call(self, index: int, method: str, *args: Any) -> Any:
        """:meth:`submit` and wait for the :meth:`result`."""
        self.submit(index, method, *args)
        return self.result(index)

    def busy(self, index: int) -> bool:
        """Whether worker ``index`` has a call in flight."""
        return self._busy[index]

    def _death(self, index: int) -> str:
        proc = self._procs[index]
        proc.join(timeout=1.0)
        return f"{self.name} {index} died (exit code {proc.exitcode})"

    # --- stopping -------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every worker (calls in flight are abandoned). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self.backend == "local":
            for conn in getattr(self, "_conns", []):
                try:
                    conn.send(None)
                except (BrokenPipeError, OSError):
                    pass
            for proc in getattr(self, "_procs", []):
                proc.join(timeout=5.0)
                if proc.is_alive():
                    proc.terminate()
                    proc.join(timeout=5.0)
            for conn in getattr(self, "_conns", []):
                conn.close()
        else:
            ray = getattr(self, "_ray", None)
            for actor in getattr(self, "_actors", []):
                ray.kill(actor)
            if self._started_ray and ray is not None:
                ray.shutdown()

    def __enter__(self) -> WorkerGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
