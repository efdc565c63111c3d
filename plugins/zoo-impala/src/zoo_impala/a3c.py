"""A3C (Mnih et al. 2016): asynchronous workers applying gradients to shared parameters (Hogwild).

The lecture's baseline for IMPALA. ``N`` worker processes (:mod:`zoo_impala.a3c_worker`) each play
their own envs with a local copy of the network, compute a gradient on it and apply it, without a
lock, to parameters and optimiser statistics in shared memory (:mod:`zoo_impala.a3c_optim`). The
learner process computes nothing: :class:`A3CLoop` waits for the workers' reports and turns them
into the trainer's turns (env steps, finished episodes, losses) and the *staleness* of each
applied gradient, the number of other updates that landed between the worker's weight sync and
its own application. With one worker it is 0; with ``N`` workers of equal speed it is about
``N − 1``: the stale-gradient effect that led to IMPALA's split of acting from learning.

Timing. Workers run freely, but the loop *parks* them (each finishes its current iteration, then
waits) at the env steps where the trainer evaluates or checkpoints (``run.eval_every``,
``run.checkpoint_every``) and when the run reaches its step budget, so an evaluation sees one set
of parameters and a checkpoint is a snapshot no gradient is half-way through. ``env_steps``
therefore overshoots a boundary by up to one unroll per worker.

Not reproducible. The order in which Hogwild updates land is the OS scheduler's, so two runs with
one seed differ, and ``zoo resume`` continues from the checkpoint's shared parameters, optimiser
statistics and counters (with fresh envs and RNG streams) rather than repeating what the
uninterrupted run would have done. The initial weights are seeded.
"""

from __future__ import annotations

import collections
import queue as queue_module
import time
from collections.abc import Iterator
from typing import Any

import torch.multiprocessing as torch_mp

from zoo_core.api import LoopState, NonFiniteError, Setup, Turn, ZooError, shield_children
from zoo_impala.a3c_agent import A3CAgent
from zoo_impala.a3c_worker import ENV_STEPS, UPDATES, ActorFactory, Report, Shared, work, worker_seed
from zoo_impala.actor import ActorSpec, make_actor

STALENESS_WINDOW = 100
"""The logged staleness is over the last this many applied gradients."""

A3C_ENV_CONFIG: dict[str, dict[str, dict[str, Any]]] = {
    "gymnasium": {
        "a3c": {"num_workers": 2, "envs_per_worker": 4, "unroll_length": 20, "optimizer": "adam", "lr": 1e-3,
                "optim_eps": 1e-8, "entropy_cost": 0.01, "hidden": (64, 64)},
        "run": {"eval_every": 10_000, "eval_episodes": 20, "log_every": 2_000},
    },
    "pomdp": {
        "a3c": {"num_workers": 2, "envs_per_worker": 4, "unroll_length": 20, "optimizer": "adam", "lr": 1e-3,
                "optim_eps": 1e-8, "entropy_cost": 0.01, "hidden": (64, 64), "recurrent": "lstm",
                "recurrent_size": 64},
        "run": {"eval_every": 10_000, "eval_episodes": 20, "log_every": 2_000},
    },
}
"""The ``a3c`` recipe's settings per env family (others use :class:`A3CConfig`'s paper defaults)."""


def crossed(every: int, step: int, previous: int) -> bool:
    """Whether a multiple of ``every`` lies in ``(previous, step]`` (the trainer's schedule rule)."""
    return every > 0 and step // every > previous // every


class A3CLoop:
    """A3C's loop (see the module docstring); one turn is the reports that arrived since the last.

    :param actor_factory: builds each worker's actor (module level, so a spawned process can
        import it); tests pass one that fails on purpose.
    """

    metric_names = ("staleness", "staleness_max")

    def __init__(
        self, agent: A3CAgent, setup: Setup, seed: int, state: LoopState | None = None,
        actor_factory: ActorFactory = make_actor,
    ):
        cfg, run = setup.config["a3c"], setup.config["run"]
        if run.backend != "local":
            raise ZooError(
                f"a3c's workers share memory, so they run as local processes; --backend {run.backend} "
                "is for impala's actors"
            )
        self.agent, self.run = agent, run
        self.n = cfg.num_workers
        self.staleness: collections.deque[int] = collections.deque(maxlen=STALENESS_WINDOW)
        self.staleness_counts: collections.Counter[int] = collections.Counter()
        """How many applied gradients had each staleness, since this loop started."""
        self.updates_by_worker = [0] * self.n
        if state is not None and len(state[1].get("updates_by_worker", [])) == self.n:
            self.updates_by_worker = [int(u) for u in state[1]["updates_by_worker"]]
        self.paused = True
        self.held = Turn()  # what the workers reported while parked by pause()
        self._closed = False
        spec = ActorSpec(
            recipe=setup.recipe_text, env_ids=(setup.env_id,), config=setup.config.to_json(),
            network=agent.spec.to_json(), seed=worker_seed(seed, agent.env_steps),
            envs_per_actor=cfg.envs_per_worker, unroll_length=cfg.unroll_length, gamma=cfg.gamma,
        )
        # spawn, not fork: a forked child inherits the parent's torch threads and locks mid-use.
        # torch's context sends the shared tensors to the children by handle, not by value.
        ctx = torch_mp.get_context("spawn")
        self.shared = Shared(
            params=agent.shared_params(), param_names=list(agent.param_names), slots=agent.slots,
            counters=ctx.Array("q", [agent.env_steps, agent.updates]), running=ctx.Value("b", 0, lock=False),
            stop=ctx.Value("b", 0, lock=False), epoch=ctx.Value("q", 0, lock=False), queue=ctx.Queue(),
        )
        self.procs = [
            ctx.Process(target=work, args=(spec, i, self.shared, actor_factory), daemon=True, name=f"zoo-a3c-{i}")
            for i in range(self.n)
        ]
        try:
            with shield_children():  # workers leave stop signals to this process
                for proc in self.procs:
                    proc.start()
            self._await_parked(Turn())  # workers start parked: this waits until each has built its envs
        except BaseException:
            self.close()
            raise

    # --- the trainer's side ---------------------------------------------------------------------

    def turns(self, until: int) -> Iterator[Turn]:
        agent = self.agent
        previous = agent.env_steps
        while agent.env_steps < until:
            if self.paused:
                self._resume()
            turn = self._gather()
            if self.held.episodes:  # reports that came in while the trainer had them parked
                turn.episodes[:0], self.held = self.held.episodes, Turn()
            counts = self._counters()
            step = counts[ENV_STEPS]
            if (step >= until or crossed(self.run.eval_every, step, previous)
                    or crossed(self.run.checkpoint_every, step, previous)):
                self._pause(turn)  # the trainer evaluates or checkpoints after this turn
                counts = self._counters()  # final now: every worker is parked
            # The trainer sees the counts the decision was made on, so it evaluates exactly when
            # the workers were parked for it.
            self._publish(turn, counts)
            yield turn
            previous = agent.env_steps

    def pause(self) -> None:
        """Park the workers for a checkpoint the loop did not foresee (a stop signal, the
        wall-clock period); the next turn lets them go on."""
        if self.paused:
            return
        self._pause(self.held)
        self._publish(Turn(), self._counters())

    def state_dict(self) -> LoopState:
        # The shared parameters, optimiser statistics and counters are the agent's checkpoint;
        # workers' envs and RNG streams are not saved (a resumed run starts fresh ones).
        return {}, {"num_workers": self.n, "updates_by_worker": list(self.updates_by_worker)}

    def close(self) -> None:
        """Stop the workers (each finishes its iteration first), then end any that do not stop."""
        if self._closed:
            return
        self._closed = True
        self.shared.stop.value = 1
        self.shared.running.value = 1
        deadline = time.monotonic() + 10.0
        while any(p.is_alive() for p in self.procs) and time.monotonic() < deadline:
            # Keep reading: a worker cannot exit while its last reports sit unread in the pipe.
            try:
                self.shared.queue.get(timeout=0.05)
            except (queue_module.Empty, EOFError, OSError):
                pass
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
            if proc.pid is not None:
                proc.join(timeout=5.0)
        self.shared.queue.close()

    # --- the workers' side ----------------------------------------------------------------------

    def _counters(self) -> tuple[int, int]:
        # Read without the counters' lock: a worker killed while holding it would otherwise hang the
        # learner. Parked workers write nothing, so at every pause the pair is exact.
        counters = self.shared.counters.get_obj()
        return int(counters[ENV_STEPS]), int(counters[UPDATES])

    def _publish(self, turn: Turn, counts: tuple[int, int]) -> None:
        """Copy ``counts`` (env steps, updates) into the agent and the staleness window into the turn."""
        self.agent.env_steps, self.agent.updates = counts
        if self.staleness:
            turn.metrics = {"staleness": sum(self.staleness) / len(self.staleness),
                            "staleness_max": float(max(self.staleness))}

    def _receive(self) -> Any:
        """The next report; on a quiet second, check that every worker is still alive."""
        while True:
            try:
                return self.shared.queue.get(timeout=1.0)
            except queue_module.Empty:
                pass
            for i, proc in enumerate(self.procs):
                if not proc.is_alive():
                    self._raise_pending()  # a worker that raised said why before it exited
                    raise ZooError(f"a3c worker {i} died (exit code {proc.exitcode})")

    def _raise_pending(self) -> None:
        while True:
            try:
                message = self.shared.queue.get(timeout=0.2)
            except queue_module.Empty:
                return
            if message[0] == "error":
                self._handle(message, Turn(), set())

    def _handle(self, message: Any, turn: Turn, parked: set[int]) -> None:
        kind = message[0]
        if kind == "update":
            report: Report = message[1]
            turn.episodes.extend(report.episodes)
            turn.updated = True
            self.staleness.append(report.staleness)
            self.staleness_counts[report.staleness] += 1
            self.updates_by_worker[report.worker] += 1
            self.agent.last = report.metrics
        elif kind == "parked":
            _, index, epoch = message
            if epoch == self.shared.epoch.value:
                parked.add(index)
        elif kind == "error":
            _, index, name, text = message
            if name == "NonFiniteError":
                raise NonFiniteError(f"a3c worker {index}: {text}")
            raise ZooError(f"a3c worker {index} failed: {name}: {text}")

    def _gather(self) -> Turn:
        """Wait for at least one report, then take every report already waiting."""
        turn, parked = Turn(), set[int]()
        self._handle(self._receive(), turn, parked)
        while True:
            try:
                message = self.shared.queue.get_nowait()
            except queue_module.Empty:
                return turn
            self._handle(message, turn, parked)

    def _pause(self, turn: Turn) -> None:
        """Park every worker after its current iteration; their last reports join ``turn``."""
        if self.paused:
            return
        self.shared.epoch.value += 1
        self.shared.running.value = 0
        self.paused = True
        self._await_parked(turn)

    def _await_parked(self, turn: Turn) -> None:
        parked: set[int] = set()
        while len(parked) < self.n:
            self._handle(self._receive(), turn, parked)

    def _resume(self) -> None:
        self.paused = False
        self.shared.running.value = 1


def a3c_loop(agent: A3CAgent, setup: Setup, seed: int, state: LoopState | None = None) -> A3CLoop:
    """The ``a3c`` algorithm's loop factory."""
    return A3CLoop(agent, setup, seed, state, actor_factory=make_actor)

