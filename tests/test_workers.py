"""WorkerGroup on local processes: calls in flight, errors as one line, dead workers, shutdown."""

from __future__ import annotations

import functools
import os

import pytest

from zoo_core.errors import ZooError
from zoo_core.running.workers import WorkerGroup


class Echo:
    def __init__(self, index: int, fail_at_start: bool = False):
        if fail_at_start:
            raise ValueError(f"cannot start worker {index}")
        self.index = index

    def double(self, x: int) -> tuple[int, int]:
        return self.index, 2 * x

    def boom(self) -> None:
        raise RuntimeError("something\nbroke")

    def die(self) -> None:
        os._exit(3)

    def pid(self) -> int:
        return os.getpid()


def make_echo(index: int, fail_at_start: bool = False) -> Echo:
    return Echo(index, fail_at_start)


def test_calls_run_in_separate_processes_and_come_back_in_any_order():
    with WorkerGroup(make_echo, 2, name="echo") as group:
        group.submit(0, "double", 5)
        group.submit(1, "double", 7)
        assert group.busy(0) and group.busy(1)
        assert group.result(1) == (1, 14) and group.result(0) == (0, 10)
        pids = {group.call(i, "pid") for i in range(2)}
    assert len(pids) == 2 and os.getpid() not in pids


def test_a_worker_error_is_one_line_and_the_worker_lives_on():
    with WorkerGroup(make_echo, 1, name="echo") as group:
        with pytest.raises(ZooError, match=r"^echo 0 failed: RuntimeError: something$"):
            group.call(0, "boom")
        assert group.call(0, "double", 1) == (0, 2)


def test_a_dead_worker_is_reported_with_its_exit_code():
    with WorkerGroup(make_echo, 1, name="echo") as group:
        with pytest.raises(ZooError, match=r"echo 0 died \(exit code 3\)"):
            group.call(0, "die")


def test_a_worker_that_cannot_start_fails_the_group_cleanly():
    with pytest.raises(ZooError, match="echo 0 failed: ValueError: cannot start worker 0"):
        WorkerGroup(functools.partial(make_echo, fail_at_start=True), 2, name="echo")


def test_two_calls_in_flight_on_one_worker_are_refused():
    with WorkerGroup(make_echo, 1, name="echo") as group:
        group.submit(0, "double", 1)
        with pytest.raises(RuntimeError, match="already has a call in flight"):
            group.submit(0, "double", 2)
        group.result(0)
