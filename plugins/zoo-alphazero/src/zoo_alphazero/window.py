"""The replay window: the most recent self-play positions, sampled uniformly, each through a random
symmetry of the board (the game's mirror, and for tic-tac-toe its rotations)."""

from __future__ import annotations

import numpy as np
import torch

from zoo_alphazero.games import Game
from zoo_alphazero.selfplay import Examples


class ReplayWindow:
    """A ring buffer of ``capacity`` examples (:class:`zoo_alphazero.selfplay.Examples`)."""

    def __init__(self, game: Game, capacity: int, augment: bool):
        self.game, self.capacity, self.augment = game, capacity, augment
        self.obs = np.zeros((capacity, *game.obs_shape), np.int8)
        self.pi = np.zeros((capacity, game.num_actions), np.float32)
        self.z = np.zeros(capacity, np.float32)
        self.added = 0  # examples ever added; the next one goes to added % capacity
        syms = game.symmetries()
        self.cell_perms = np.stack([p for _, p in syms])  # [S, H * W]
        self.action_perms = np.stack([game.action_perm(p) for _, p in syms])  # [S, A]

    def __len__(self) -> int:
        return min(self.added, self.capacity)

    def add(self, examples: Examples) -> None:
        """Append, overwriting the oldest examples once full."""
        for start in range(0, len(examples), self.capacity):
            part = slice(start, start + self.capacity)
            obs, pi, z = examples.obs[part], examples.pi[part], examples.z[part]
            idx = (self.added + np.arange(len(z))) % self.capacity
            self.obs[idx], self.pi[idx], self.z[idx] = obs, pi, z
            self.added += len(z)

    def sample(self, batch: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(obs float32 [B, 2, H, W], pi [B, A], z [B])``, uniformly from the window, each example
        mapped by a uniformly drawn symmetry when ``augment``."""
        idx = rng.integers(0, len(self), batch)
        obs, pi, z = self.obs[idx], self.pi[idx], self.z[idx]
        if self.augment and len(self.cell_perms) > 1:
            s = rng.integers(0, len(self.cell_perms), batch)
            b, c, h, w = obs.shape
            cells = self.cell_perms[s][:, None, :].repeat(c, 1)  # [B, C, H * W]
            obs = np.take_along_axis(obs.reshape(b, c, h * w), cells, -1).reshape(b, c, h, w)
            pi = np.take_along_axis(pi, self.action_perms[s], -1)
        return torch.from_numpy(obs.astype(np.float32)), torch.from_numpy(pi), torch.from_numpy(z)

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
        """Checkpoint tensors (the filled part) and JSON."""
        n = len(self)
        return ({"window.obs": torch.from_numpy(self.obs[:n].copy()), "window.pi": torch.from_numpy(self.pi[:n].copy()),
                 "window.z": torch.from_numpy(self.z[:n].copy())}, {"added": self.added})

    def load(self, tensors: dict[str, torch.Tensor], meta: dict[str, int]) -> None:
        n = len(tensors["window.z"])
        self.obs[:n] = tensors["window.obs"].numpy()
        self.pi[:n] = tensors["window.pi"].numpy()
        self.z[:n] = tensors["window.z"].numpy()
        self.added = int(meta["added"])
