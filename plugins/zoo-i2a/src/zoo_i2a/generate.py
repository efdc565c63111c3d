"""Procedural Sokoban levels, every one solvable by construction.

As in the line of work the I2A paper's levels come from: a room carved by a random walk, targets
and the player placed on its floor, then the level made by playing backwards from the solved state:
the player walks at random and, now and then, pulls the box behind it along. A pull played
backwards is a push, so the reversed walk solves the level. Trivial levels are discarded: a box
still on a target, or boxes on average less than two cells from the nearest target. Pure numpy; one seed, one level.
"""

from __future__ import annotations

import numpy as np

from zoo_i2a.sokoban import MOVES, Cell, Level

__all__ = ["generate", "is_trivial", "random_room", "reverse_play"]

_DIRECTIONS = MOVES[1:]


def random_room(rng: np.random.Generator, height: int, width: int, walk: int) -> np.ndarray:
    """``[height, width]`` bool walls (True is a wall): a border of walls and floor carved by a random
    walk of ``walk`` steps over the inside, turning with probability 0.35 each step and carving a
    random neighbour of its cell beside its own half the time (rooms, not only corridors)."""
    walls = np.ones((height, width), bool)
    r, c = int(rng.integers(1, height - 1)), int(rng.integers(1, width - 1))
    direction = _DIRECTIONS[rng.integers(4)]
    for _ in range(walk):
        walls[r, c] = False
        if rng.random() < 0.5:
            dr, dc = _DIRECTIONS[rng.integers(4)]
            if 0 < r + dr < height - 1 and 0 < c + dc < width - 1:
                walls[r + dr, c + dc] = False
        if rng.random() < 0.35:
            direction = _DIRECTIONS[rng.integers(4)]
        nr, nc = r + direction[0], c + direction[1]
        if 0 < nr < height - 1 and 0 < nc < width - 1:
            r, c = nr, nc
        else:
            direction = _DIRECTIONS[rng.integers(4)]
    return walls


def reverse_play(rng: np.random.Generator, walls: np.ndarray, boxes: frozenset[Cell], player: Cell, steps: int,
                 pull: float = 0.6) -> tuple[frozenset[Cell], Cell]:
    """Walk ``steps`` random moves backwards from ``(boxes, player)``: a move into floor is taken, and
    when a box stands right behind the player it follows (a pull) with probability ``pull``."""
    held = set(boxes)
    for _ in range(steps):
        dr, dc = _DIRECTIONS[rng.integers(4)]
        ahead = (player[0] + dr, player[1] + dc)
        if walls[ahead] or ahead in held:
            continue
        behind = (player[0] - dr, player[1] - dc)
        if behind in held and rng.random() < pull:
            held.remove(behind)
            held.add(player)
        player = ahead
    return frozenset(held), player


def is_trivial(targets: np.ndarray, boxes: frozenset[Cell]) -> bool:
    """A level too easy to keep: a box already on a target (it needs no push), or boxes on average
    less than two cells (Manhattan) from the nearest target."""
    if any(targets[b] for b in boxes):
        return True
    cells = np.argwhere(targets)
    distance = sum(int(np.abs(cells - np.array(b)).sum(axis=1).min()) for b in boxes)
    return distance < 2 * len(boxes)


def generate(seed: int, height: int = 10, width: int = 10, boxes: int = 4, tries: int = 1000) -> Level:
    """The level of ``seed``: the first non-trivial result of room, placement and reverse play drawn
    from one generator seeded ``seed``.

    :raises RuntimeError: no non-trivial level in ``tries`` attempts (a room too small for the boxes).
    """
    rng = np.random.default_rng(seed)
    area = (height - 2) * (width - 2)
    for _ in range(tries):
        walls = random_room(rng, height, width, walk=int(1.5 * area))
        floor = [tuple(map(int, cell)) for cell in np.argwhere(~walls)]
        if len(floor) < boxes + 3:
            continue
        picks = rng.choice(len(floor), boxes + 1, replace=False)
        targets = np.zeros_like(walls)
        for i in picks[:boxes]:
            targets[floor[i]] = True
        start = frozenset(floor[i] for i in picks[:boxes])
        placed, player = reverse_play(rng, walls, start, floor[picks[boxes]], steps=int(3 * area))
        if is_trivial(targets, placed):
            continue
        return Level(walls, targets, placed, player)
    raise RuntimeError(f"no solvable non-trivial {height}x{width} level with {boxes} boxes in {tries} tries")
