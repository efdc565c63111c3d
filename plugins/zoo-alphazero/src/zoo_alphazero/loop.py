"""AlphaZero's loop: self-play workers make games, the learner trains on a window of their positions.

As IMPALA's loop (:mod:`zoo_impala.loop`), scheduling is deterministic while playing overlaps
learning: chunks of self-play are taken round robin over the workers, and the moment the learner
takes worker ``i``'s chunk it sends worker ``i`` the current parameters for its next chunk. The
learner then adds the chunk's finished games to the window and makes as many updates as keep
``replay_ratio`` sampled positions per new one. A checkpoint collects the chunks in flight and the
workers' games and trees, so a resumed run continues exactly.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from zoo_alphazero.agent import AlphaZeroAgent
from zoo_alphazero.selfplay import Examples, GameRecord
from zoo_alphazero.window import ReplayWindow
from zoo_alphazero.worker import Chunk, WorkerSpec, make_worker
from zoo_core.api import CheckpointError, LoopState, Setup, Turn, WorkerGroup, with_prefix


class SelfPlayLoop:
    """One turn is one chunk of self-play taken and learned from."""

    metric_names: tuple[str, ...] = ("games", "game_length", "first_player_score", "window", "policy_lag")

    def __init__(self, agent: AlphaZeroAgent, setup: Setup, seed: int, state: LoopState | None = None):
        cfg, run = setup.config["alphazero"], setup.config["run"]
        self.agent, self.cfg = agent, cfg
        spec = WorkerSpec(setup.recipe_text, setup.env_id, setup.config.to_json(), agent.spec.to_json(),
                          agent.game.name, seed)
        self.n = cfg.num_workers
        self.window = ReplayWindow(agent.game, cfg.window, cfg.augment)
        self.pending: dict[int, Chunk] = {}
        self.next_worker = 0
        self.games = 0
        self.owed = 0.0  # sampled positions owed to the replay ratio, carried between chunks
        self.workers = WorkerGroup(
            functools.partial(make_worker, spec), self.n, backend=run.backend, address=run.address,
            name="self-play worker",
        )
        try:
            if state is not None:
                self._restore(state)
            for i in range(self.n):
                if i not in self.pending:
                    self.workers.submit(i, "play", agent.parameters_for_workers(), agent.updates)
        except BaseException:
            self.workers.close()
            raise

    def _take(self, i: int) -> Chunk:
        chunk = self.pending.pop(i) if i in self.pending else self.workers.result(i)
        # Refresh at once: the worker plays on while the learner trains on this chunk.
        self.workers.submit(i, "play", self.agent.parameters_for_workers(), self.agent.updates)
        return chunk

    def turns(self, until: int) -> Iterator[Turn]:
        agent, cfg = self.agent, self.cfg
        while agent.env_steps < until:
            i = self.next_worker
            chunk = self._take(i)
            self.next_worker = (i + 1) % self.n
            self.window.add(chunk.examples)
            agent.env_steps += chunk.moves
            self.games += len(chunk.records)
            updated = False
            if len(self.window) >= cfg.learn_start:
                self.owed += len(chunk.examples) * cfg.replay_ratio
                while self.owed >= cfg.batch_size:
                    agent.learn(*self.window.sample(cfg.batch_size, agent.rng))
                    self.owed -= cfg.batch_size
                    updated = True
            episodes = [(i, r.result, len(r.moves)) for r in chunk.records]
            metrics = {"games": float(self.games), "window": float(len(self.window)),
                       "policy_lag": float(agent.updates - chunk.version)}
            if chunk.records:
                metrics["game_length"] = float(np.mean([len(r.moves) for r in chunk.records]))
                metrics["first_player_score"] = float(np.mean([(r.result + 1) / 2 for r in chunk.records]))
            yield Turn(episodes, updated, metrics)

    # --- checkpoints ------------------------------------------------------------------------------

    def pause(self) -> None:
        pass  # state_dict collects the work in flight, so any turn boundary is a snapshot

    def state_dict(self) -> LoopState:
        for i in range(self.n):
            if self.workers.busy(i):
                self.pending[i] = self.workers.result(i)
        tensors, window_meta = self.window.state()
        pending: dict[str, Any] = {}
        for i, chunk in sorted(self.pending.items()):
            ex = chunk.examples
            tensors.update({f"pending.{i}.obs": torch.from_numpy(ex.obs), f"pending.{i}.pi": torch.from_numpy(ex.pi),
                            f"pending.{i}.z": torch.from_numpy(ex.z)})
            pending[str(i)] = {"records": [[r.moves, r.result] for r in chunk.records], "moves": chunk.moves,
                               "version": chunk.version}
        workers = []
        for i in range(self.n):
            arrays, meta = self.workers.call(i, "get_state")
            tensors.update({f"worker.{i}.{k}": torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()})
            workers.append(meta)
        return tensors, {"next_worker": self.next_worker, "games": self.games, "owed": self.owed,
                         "window": window_meta, "pending": pending, "workers": workers}

    def _restore(self, state: LoopState) -> None:
        tensors, meta = state
        if len(meta.get("workers", [])) != self.n:
            raise CheckpointError(
                f"the checkpoint has {len(meta.get('workers', []))} self-play workers; "
                f"this run has alphazero.num_workers={self.n}"
            )
        self.window.load(tensors, meta["window"])
        for i, worker_meta in enumerate(meta["workers"]):
            arrays = {k: v.numpy() for k, v in with_prefix(tensors, f"worker.{i}.").items()}
            self.workers.call(i, "set_state", arrays, worker_meta)
        for key, chunk_meta in meta["pending"].items():
            ex = Examples(*(tensors[f"pending.{key}.{f}"].numpy() for f in ("obs", "pi", "z")))
            records = [GameRecord(list(m), float(r)) for m, r in chunk_meta["records"]]
            self.pending[int(key)] = Chunk(ex, records, int(chunk_meta["moves"]), int(chunk_meta["version"]))
        self.next_worker, self.games, self.owed = int(meta["next_worker"]), int(meta["games"]), float(meta["owed"])

    def close(self) -> None:
        self.workers.close()


def self_play_loop(agent: AlphaZeroAgent, setup: Setup, seed: int, state: LoopState | None = None) -> SelfPlayLoop:
    """The ``alphazero`` algorithm's loop factory."""
    return SelfPlayLoop(agent, setup, seed, state)
