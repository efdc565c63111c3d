"""AlphaZero's hyperparameters (the ``alphazero`` config section)."""

from __future__ import annotations

from dataclasses import dataclass

from zoo_alphazero.mcts import SearchConfig
from zoo_core.api import ZooError, param


@dataclass(frozen=True)
class AlphaZeroConfig:
    """AlphaZero (Silver et al. 2018). Steps are self-play moves received by the learner."""

    simulations: int = param(64, "MCTS simulations per self-play move.", ge=1)
    eval_simulations: int = param(64, "MCTS simulations per move when the agent plays for real (act, arena).", ge=1)
    c_puct: float = param(1.25, "Exploration constant of PUCT selection.", ge=0)
    dirichlet_alpha: float = param(1.0, "Root Dirichlet noise α in self-play (about 10 / legal moves).", gt=0)
    noise_fraction: float = param(0.25, "Weight of the root noise in self-play (0: none).", ge=0, le=1)
    temperature_moves: int = param(4, "Self-play moves sampled from visits (temperature 1); greedy after.", ge=0)
    tree_reuse: bool = param(True, "Keep the chosen move's subtree as the next search's root.")
    parallel_games: int = param(32, "Self-play games each worker plays in lockstep (the network's batch).", ge=1)
    num_workers: int = param(1, "Self-play worker processes (or Ray actors); the learner trains meanwhile.", ge=1)
    moves_per_chunk: int = param(16, "Moves of its parallel games a worker plays per request.", ge=1)
    window: int = param(20_000, "Replay window: the most recent positions trained on.", ge=1)
    learn_start: int = param(512, "Positions in the window before the first update.", ge=1)
    batch_size: int = param(128, "Positions per update.", ge=1)
    replay_ratio: float = param(4.0, "Sampled positions per new position (updates follow the self-play rate).", gt=0)
    lr: float = param(2e-3, "Adam learning rate.", gt=0)
    weight_decay: float = param(1e-4, "L2 weight decay (AdamW).", ge=0)
    value_weight: float = param(1.0, "Weight of the value loss (MSE to the outcome).", ge=0)
    augment: bool = param(True, "Train on a random symmetry of each position (the board's mirror/rotations).")
    channels: int = param(32, "Channels of the ResNet torso.", ge=1)
    blocks: int = param(2, "Residual blocks of the ResNet torso.", ge=0)
    value_hidden: int = param(64, "Hidden units of the value head.", ge=1)

    def __post_init__(self) -> None:
        if self.learn_start > self.window:
            raise ZooError(f"alphazero.learn_start ({self.learn_start}) exceeds the window ({self.window})")

    def search(self, noise: bool) -> SearchConfig:
        """PUCT with ``c_puct``; with the root Dirichlet noise when ``noise`` (self-play)."""
        return SearchConfig(
            rule="puct", c=self.c_puct, dirichlet_alpha=self.dirichlet_alpha if noise else 0.0,
            noise_fraction=self.noise_fraction if noise else 0.0,
        )
