"""A self-play worker: a network copy and ``parallel_games`` games (:class:`SelfPlay`), run in its
own process or as a Ray actor by :class:`zoo_core.running.workers.WorkerGroup`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from zoo_alphazero.config import AlphaZeroConfig
from zoo_alphazero.network import PolicyValueNet, network_evaluator
from zoo_alphazero.selfplay import Examples, GameRecord, SelfPlay
from zoo_core.api import NetworkSpec, resolve


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs to rebuild its game and network (plain data)."""

    recipe: str
    env_id: str
    config: dict[str, Any]
    network: dict[str, Any]
    game: str
    seed: int


@dataclass
class Chunk:
    """What a worker returns: the examples and records of the games that ended, the moves played,
    and the learner update whose parameters played them."""

    examples: Examples
    records: list[GameRecord]
    moves: int
    version: int


class SelfPlayWorker:
    """Plays chunks of self-play with the parameters the learner sends."""

    def __init__(self, spec: WorkerSpec, index: int):
        from zoo_alphazero.games import GAMES

        setup = resolve(spec.recipe, spec.env_id, (), saved=spec.config)
        cfg: AlphaZeroConfig = setup.config["alphazero"]
        self.cfg, self.game = cfg, GAMES[spec.game]
        self.net = PolicyValueNet(NetworkSpec.from_json(spec.network), setup.catalog.modules).requires_grad_(False)
        self.net.eval()
        rng = np.random.Generator(np.random.PCG64([spec.seed, index]))
        self.selfplay = SelfPlay(
            self.game, network_evaluator(self.game, self.net), cfg.parallel_games, cfg.search(noise=True),
            cfg.simulations, cfg.temperature_moves, cfg.tree_reuse, rng,
        )
        self.version = -1

    def play(self, params: dict[str, np.ndarray], version: int) -> Chunk:
        """``moves_per_chunk`` moves of every game with the parameters of learner update ``version``."""
        if version != self.version:
            self.net.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
            self.version = version
        moves = self.cfg.moves_per_chunk
        examples, records = self.selfplay.play(moves)
        return Chunk(examples, records, moves * self.cfg.parallel_games, version)

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return self.selfplay.get_state()

    def set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.selfplay.set_state(arrays, meta)


def make_worker(spec: WorkerSpec, index: int) -> SelfPlayWorker:
    """The worker factory (module level, so it can be sent to a spawned process)."""
    return SelfPlayWorker(spec, index)


