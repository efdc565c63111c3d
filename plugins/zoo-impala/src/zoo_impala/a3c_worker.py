"""An A3C worker process: sync, play an unroll, compute a gradient, apply it to the shared parameters.

Each worker loops (Mnih et al. 2016, algorithm S3):

1. read the shared update count ``u_sync`` and copy the shared parameters into its local network;
2. play ``unroll_length`` steps of its envs with the local network (a :class:`zoo_impala.actor.Actor`);
3. compute :func:`zoo_impala.a3c_loss.a3c_loss` on the unroll and its gradient, on the local copy;
4. apply the gradient to the shared parameters with the shared optimiser, without a lock (Hogwild);
5. count the update and its env steps, and send the loop a report: the unroll's finished episodes,
   the losses, and the gradient's *staleness*, ``u_apply − u_sync``: how many other workers'
   updates landed on the shared parameters while this one played and differentiated.

The copy in step 1 is not locked either, so it may catch another worker's update half applied;
that is part of Hogwild too. Between iterations a worker parks while the loop holds the workers
(for an evaluation or a checkpoint), and stops when told.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from zoo_core.api import CPU, AuxTasks, NonFiniteError, clip_grad_norm, ignore_stop_signals, make_section
from zoo_impala.a3c_config import A3CConfig
from zoo_impala.a3c_loss import a3c_loss
from zoo_impala.a3c_optim import adam_step_, rmsprop_step_
from zoo_impala.actor import Actor, ActorSpec, actor_seed, make_actor
from zoo_impala.unroll import clip_rewards, sequences

ENV_STEPS, UPDATES = 0, 1
"""Indices of the shared counters: env steps whose gradients were applied, and applied gradients."""

PARKED_POLL_S = 0.002
"""How often a parked worker looks at its flags (a resume waits at most this long)."""

ActorFactory = Callable[[ActorSpec, int], Actor]


@dataclass
class Shared:
    """What the loop hands every worker process: shared-memory tensors and synchronisation objects.

    params: the network's parameters and buffers by name (shared memory).
    param_names: the parameters' names in ``named_parameters`` order, the order of ``slots``' lists.
    slots: the optimiser's statistics, ``slot name -> [tensor per parameter]`` (shared memory).
    counters: a synchronised int64 array ``[env_steps, updates]``; its lock guards only the counters.
    running: a shared flag, 1 while workers may work, 0 when the loop parks them.
    stop: a shared flag, 1 when the workers must exit.
    epoch: the loop's pause number, so a parked report names the pause it answers.
    queue: worker -> loop reports (``update``, ``parked``, ``error``).

    The flags are plain shared integers that parked workers poll, not ``multiprocessing.Event``:
    an Event's ``set`` waits for every sleeping waiter to wake, and hangs on a waiter that was
    killed (a worker killed while parked would take the learner with it).
    """

    params: dict[str, torch.Tensor]
    param_names: list[str]
    slots: dict[str, list[torch.Tensor]]
    counters: Any
    running: Any
    stop: Any
    epoch: Any
    queue: Any


@dataclass(frozen=True)
class Report:
    """One applied gradient, as a worker reports it to the loop.

    episodes: ``(env index, return, length)`` of the games that ended in the unroll.
    """

    worker: int
    staleness: int
    frames: int
    metrics: dict[str, float]
    episodes: list[tuple[int, float, int]]


class Worker:
    """One worker's state: its actor (envs, local network, action RNG) and views of the shared tensors."""

    def __init__(self, spec: ActorSpec, index: int, shared: Shared, actor_factory: ActorFactory = make_actor):
        self.index, self.shared = index, shared
        self.cfg: A3CConfig = make_section(A3CConfig, spec.config["a3c"], "a3c")
        self.actor = actor_factory(spec, index)
        # The actor keeps its network frozen for acting; here the same copy is also differentiated.
        self.net = self.actor.net.requires_grad_(True)
        names = [name for name, _ in self.net.named_parameters()]
        if names != shared.param_names:
            raise RuntimeError(f"worker {index}'s parameters {names} are not the shared ones {shared.param_names}")
        self.local = [p for _, p in self.net.named_parameters()]
        self.remote = [shared.params[name] for name in names]
        # numpy views of the shared memory: what Actor.unroll copies into the local network.
        self.views = {k: v.numpy() for k, v in shared.params.items()}
        # Auxiliary tasks: each worker keeps its own replay of recent experience, as in UNREAL (not
        # checkpointed: a resumed worker starts it empty, as a resumed A3C run is not exact anyway).
        setup = self.actor.setup
        self.aux = AuxTasks(setup.pm, setup.config, actor_seed(spec.seed, index), self.cfg.gamma,
                            self.cfg.unroll_length, self.cfg.envs_per_worker)

    def iterate(self) -> Report:
        """Steps 1–5 of the module docstring, once."""
        cfg, counters = self.cfg, self.shared.counters
        synced = int(counters[UPDATES])
        unroll = self.actor.unroll(self.views, synced)  # copies the shared parameters first (a new version)
        seq = sequences([unroll])
        seq = dataclasses.replace(seq, r_t=clip_rewards(seq.r_t, cfg.reward_clip))
        batch = seq.to(CPU)
        features = self.net.aux_features(batch.obs, batch.first, batch.state)
        logits, _, v = self.net.heads(features.core)  # [T+1, E, A], [T+1, E, 1]
        v = v[..., 0]
        loss = a3c_loss(
            logits[:-1], v[:-1], v[-1], batch.a_tm1, batch.r_t, batch.discount_t,
            baseline_cost=cfg.baseline_cost, entropy_cost=cfg.entropy_cost,
        )
        total_loss = loss.total
        if self.aux.active:
            self.aux.record(seq)
            outputs = {"torso": features.torso, "core": features.core, "logits": logits, "v": v}
            extra = self.aux.losses(self, self.net, batch, outputs, CPU, int(counters[ENV_STEPS]))
            if extra is not None:
                total_loss = total_loss + extra
        for p in self.local:
            p.grad = None
        total_loss.backward()
        norm = float(clip_grad_norm(self.local, cfg.max_grad_norm)) if cfg.max_grad_norm > 0 else 0.0
        total = float(total_loss.detach())
        if not abs(total + norm) < float("inf"):
            # Raised before the step: a bad gradient never reaches the shared parameters.
            raise NonFiniteError(f"non-finite loss or gradient in worker {self.index} after {synced} updates")
        with counters.get_lock():
            updates, env_steps = int(counters[UPDATES]), int(counters[ENV_STEPS])
        grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in self.local]  # a head the loss skips
        self._apply(grads, step=updates + 1, env_steps=env_steps)
        with counters.get_lock():
            counters[ENV_STEPS] += unroll.frames
            counters[UPDATES] += 1
        steps_per_unroll = unroll.a_tm1.shape[0]
        metrics = {
            "loss": total, "policy_loss": float(loss.policy), "baseline_loss": float(loss.baseline),
            "entropy": float(loss.entropy) / steps_per_unroll, "grad_norm": norm, **self.aux.metrics(),
        }
        return Report(self.index, updates - synced, unroll.frames, metrics, unroll.episodes)

    def _apply(self, grads: list[torch.Tensor], step: int, env_steps: int) -> None:
        """The shared optimiser's step on the shared parameters (no lock: Hogwild)."""
        cfg, slots = self.cfg, self.shared.slots
        lr = cfg.lr
        if cfg.lr_decay_steps > 0:
            lr *= max(0.0, 1.0 - env_steps / cfg.lr_decay_steps)
        if cfg.optimizer == "rmsprop":
            rmsprop_step_(self.remote, grads, slots["square_avg"], lr=lr, alpha=cfg.rmsprop_alpha, eps=cfg.optim_eps)
        else:
            beta1, beta2 = cfg.adam_betas
            adam_step_(self.remote, grads, slots["exp_avg"], slots["exp_avg_sq"], step=step, lr=lr,
                       betas=(beta1, beta2), eps=cfg.optim_eps)


def _wait_while_parked(shared: Shared, index: int) -> bool:
    """Block while the loop holds the workers, saying so once per pause; False once told to stop."""
    reported = None
    while not shared.running.value:
        if shared.stop.value:
            return False
        epoch = int(shared.epoch.value)
        if epoch != reported:  # a pause that began while this worker was already parked asks again
            shared.queue.put(("parked", index, epoch))
            reported = epoch
        time.sleep(PARKED_POLL_S)
    return not shared.stop.value


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""


def work(spec: ActorSpec, index: int, shared: Shared, actor_factory: ActorFactory = make_actor) -> None:
    """A worker process's main function (module level, so a spawned process can import it).

    Reports ``("update", Report)`` per applied gradient, ``("parked", index, epoch)`` when parked, and
    ``("error", index, exception name, message)`` before exiting on an exception.
    """
    # Ctrl-C goes to the whole process group; the loop parks and stops its workers itself.
    ignore_stop_signals()
    torch.set_num_threads(1)  # one core per worker
    queue = shared.queue
    try:
        worker = Worker(spec, index, shared, actor_factory)
        while _wait_while_parked(shared, index):
            queue.put(("update", worker.iterate()))
    except Exception as exc:  # reported to the loop as one line, not a traceback in a child
        queue.put(("error", index, type(exc).__name__, _one_line(exc)))


def worker_seed(seed: int, start_steps: int) -> int:
    """The seed a run's workers are built with: the run's seed, then a new stream per resume point,
    so a resumed run does not replay the episodes its start already played."""
    if start_steps == 0:
        return seed
    return int(np.random.SeedSequence([seed, start_steps]).generate_state(1)[0])
