"""AlphaZero's hyperparameters (the ``alphazero`` config section)."""

from __future__ import annotations

from dataclasses import dataclass

from zoo_alphazero.mcts import SearchConfig
from zoo_core.api import ZooError, param


@dataclass(frozen=True)
class AlphaZeroConfig:
    """AlphaZero (Silver et al. 2018). Steps are self-play moves received by the learner."""

    simulations: int = param(64, "MCTS simulations per self-play move.")
    eval_simulations: int = param(64, "MCTS simulations per move when the agent plays for real (act, arena).")
    c_puct: float = param(1.25, "Exploration constant of PUCT selection.")
    dirichlet_alpha: float = param(1.0, "Root Dirichlet noise α in self-play (about 10 / legal moves).")
    noise_fraction: float = param(0.25, "Weight of the root noise in self-play (0: none).")
    temperature_moves: int = param(4, "Self-play moves sampled from visits (temperature 1); greedy after.")
    tree_reuse: bool = param(True, "Keep the chosen move's subtree as the next search's root.")
    parallel_games: int = param(32, "Self-play games each worker plays in lockstep (the network's batch).")
    num_workers: int = param(1, "Self-play worker processes (or Ray actors); the learner trains meanwhile.")
    moves_per_chunk: int = param(16, "Moves of its parallel games a worker plays per request.")
    window: int = param(20_000, "Replay window: the most recent positions trained on.")
    learn_start: int = param(512, "Positions in the window before the first update.")
    batch_size: int = param(128, "Positions per update.")
    replay_ratio: float = param(4.0, "Sampled positions per new position (updates follow the self-play rate).")
    lr: float = param(2e-3, "Adam learning rate.")
    weight_decay: float = param(1e-4, "L2 weight decay (AdamW).")
    value_weight: float = param(1.0, "Weight of the value loss (MSE to the outcome).")
    augment: bool = param(True, "Train on a random symmetry of each position (the board's mirror/rotations).")
    channels: int = param(32, "Channels of the ResNet torso.")
    blocks: int = param(2, "Residual blocks of the ResNet torso.")
    value_hidden: int = param(64, "Hidden units of the value head.")

    def __post_init__(self) -> None:
        for name in ("simulations", "eval_simulations", "parallel_games", "num_workers", "moves_per_chunk",
                     "window", "batch_size", "channels"):
            if getattr(self, name) < 1:
                raise ZooError(f"alphazero.{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.noise_fraction <= 1:
            raise ZooError(f"alphazero.noise_fraction must be in [0, 1], got {self.noise_fraction}")
        if self.learn_start > self.window:
            raise ZooError(f"alphazero.learn_start ({self.learn_start}) exceeds the window ({self.window})")

    def search(self, noise: bool) -> SearchConfig:
        """PUCT with ``c_puct``; with the root Dirichlet noise when ``noise`` (self-play)."""
        return SearchConfig(
            rule="puct", c=self.c_puct, dirichlet_alpha=self.dirichlet_alpha if noise else 0.0,
            noise_fraction=self.noise_fraction if noise else 0.0,
        )
