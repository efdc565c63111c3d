"""Sokoban's rules as pure functions on a level's state. Pure numpy and Python.

A level is its static part, ``walls`` and ``targets`` (``[H, W]`` bool), and its state, the boxes'
cells (a frozenset of ``(row, col)``) and the player's cell. Actions: 0 no-op, 1 up, 2 down,
3 left, 4 right. Moving into a wall does nothing; moving into a box pushes it one cell on, unless a
wall or another box is behind it, when nothing moves. Rewards as in Weber et al. 2017: −0.1 every
step, +1 for pushing a box onto a target, −1 for pushing one off, +10 when every box is on a
target (the episode then ends).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ACTIONS", "MOVES", "REWARDS", "Level", "Rewards", "is_solved", "step"]

Cell = tuple[int, int]
ACTIONS = ("noop", "up", "down", "left", "right")
MOVES: tuple[Cell, ...] = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


@dataclass(frozen=True)
class Rewards:
    """The paper's rewards."""

    step: float = -0.1
    box_on: float = 1.0
    box_off: float = -1.0
    solved: float = 10.0


REWARDS = Rewards()


@dataclass(frozen=True)
class Level:
    """A level: ``walls`` and ``targets`` ``[H, W]`` bool, the ``boxes``' cells and the ``player``'s."""

    walls: np.ndarray
    targets: np.ndarray
    boxes: frozenset[Cell]
    player: Cell

    def __post_init__(self) -> None:
        cells = [*self.boxes, self.player]
        if len(self.boxes) != int(self.targets.sum()):
            raise ValueError(f"{len(self.boxes)} boxes but {int(self.targets.sum())} targets")
        if any(self.walls[c] for c in cells) or self.player in self.boxes:
            raise ValueError("a box or the player stands on a wall, or the player on a box")
        w = self.walls
        if not (w[0].all() and w[-1].all() and w[:, 0].all() and w[:, -1].all()):
            raise ValueError("a level is walled all round")


def is_solved(targets: np.ndarray, boxes: frozenset[Cell]) -> bool:
    """Whether every box is on a target."""
    return all(targets[b] for b in boxes)


def step(walls: np.ndarray, targets: np.ndarray, boxes: frozenset[Cell], player: Cell, action: int,
         rewards: Rewards = REWARDS) -> tuple[frozenset[Cell], Cell, float, bool]:
    """One move: ``(boxes, player, reward, solved)`` after ``action`` from ``(boxes, player)``."""
    dr, dc = MOVES[action]
    reward = rewards.step
    ahead = (player[0] + dr, player[1] + dc)
    if (dr, dc) == (0, 0) or walls[ahead]:
        return boxes, player, reward, is_solved(targets, boxes)
    if ahead in boxes:
        beyond = (ahead[0] + dr, ahead[1] + dc)
        if walls[beyond] or beyond in boxes:
            return boxes, player, reward, is_solved(targets, boxes)
        boxes = (boxes - {ahead}) | {beyond}
        # Target to target is +1 - 1: nothing.
        reward += (rewards.box_on if targets[beyond] else 0.0) + (rewards.box_off if targets[ahead] else 0.0)
    solved = is_solved(targets, boxes)
    return boxes, ahead, reward + (rewards.solved if solved else 0.0), solved
