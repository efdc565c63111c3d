"""A breadth-first Sokoban solver, for tests and small levels: the fewest moves that solve a level."""

from __future__ import annotations

from collections import deque

from zoo_i2a.sokoban import Level, step

__all__ = ["solve"]


def solve(level: Level, max_states: int = 500_000) -> list[int] | None:
    """The shortest action sequence (1-4) that solves ``level``, or None when there is none within
    ``max_states`` visited states."""
    start = (level.boxes, level.player)
    parents: dict = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        for action in (1, 2, 3, 4):
            boxes, player, _, solved = step(level.walls, level.targets, state[0], state[1], action)
            nxt = (boxes, player)
            if nxt in parents:
                continue
            parents[nxt] = (state, action)
            if solved:
                path = []
                while parents[nxt] is not None:
                    nxt, a = parents[nxt]
                    path.append(a)
                return path[::-1]
            if len(parents) >= max_states:
                return None
            queue.append(nxt)
    return None
