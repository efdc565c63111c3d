"""The arena: two players, many games in lockstep, both colours, W/D/L with confidence intervals.

All games advance one ply at a time: at ply ``t`` every unfinished game has a player to move (which
one depends on the game's colour assignment), and each player chooses for all its games in one
batched call, so a searching player evaluates the leaves of every game together.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from zoo_alphazero.games import Game, outcome_for_first
from zoo_alphazero.players import Player

Z95 = 1.959963984540054
"""The standard normal's 97.5% quantile: a two-sided 95% interval."""


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion (Wilson 1927).

    Unlike the normal approximation it stays inside [0, 1] and is sensible at 0 or ``n``
    successes. ``successes`` may be fractional: for a score ``W + D/2`` the per-game score
    ``x`` in {0, 1/2, 1} has ``x**2 <= x``, so its variance is at most ``p (1 - p)`` and the
    interval is conservative (exact in coverage terms when there are no draws).

    :returns: ``(low, high)``; ``(0.0, 1.0)`` when ``n`` is 0.
    """
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Tally:
    """Wins, draws and losses of one side over ``games`` games."""

    games: int
    wins: int
    draws: int
    losses: int

    @property
    def score(self) -> float:
        """``(W + D/2) / N``; 0 when no games were played."""
        return (self.wins + self.draws / 2) / self.games if self.games else 0.0

    def text(self) -> str:
        return f"{self.wins} W {self.draws} D {self.losses} L"


def _tally(results: np.ndarray) -> Tally:
    """``results`` float ``[G]``: +1 win, 0 draw, -1 loss for the side counted."""
    return Tally(len(results), int((results > 0).sum()), int((results == 0).sum()), int((results < 0).sum()))


@dataclass(frozen=True)
class MatchRecord:
    """One game: who played which colour, the moves (actions, 0-based) and the result."""

    first: str
    second: str
    moves: list[int]
    result: float
    """For the first player: +1 a win, 0 a draw, -1 a loss."""


@dataclass(frozen=True)
class ArenaResult:
    """Player ``a`` against ``b``, counted for ``a``.

    total, as_first, as_second: ``a``'s tallies over all games and by colour.
    score: ``(W + D/2) / N``; score_ci: its 95% Wilson interval (conservative with draws).
    win_rate: ``W / N``; win_rate_ci: its 95% Wilson interval.
    records: every game, in the order played.
    """

    game: str
    a: str
    b: str
    total: Tally
    as_first: Tally
    as_second: Tally
    score: float
    score_ci: tuple[float, float]
    win_rate: float
    win_rate_ci: tuple[float, float]
    seed: int | None = None
    records: list[MatchRecord] = field(default_factory=list)

    def summary(self) -> str:
        """One line: ``a vs b, game, N games: W D L (score, CI); as first: ...; as second: ...``."""
        lo, hi = self.score_ci
        return (
            f"{self.a} vs {self.b}, {self.game}, {self.total.games} games: {self.total.text()} "
            f"(score {self.score:.3f}, 95% CI [{lo:.2f}, {hi:.2f}]); "
            f"as first: {self.as_first.text()}; as second: {self.as_second.text()}"
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; records carry the moves as actions and in 1-based notation."""
        doc = asdict(self)
        for side in ("total", "as_first", "as_second"):
            doc[side]["score"] = getattr(self, side).score
        doc["score_ci"], doc["win_rate_ci"] = list(self.score_ci), list(self.win_rate_ci)
        doc["interval"] = "wilson-95"
        for record in doc["records"]:
            record["notation"] = " ".join(str(m + 1) for m in record["moves"])
        return doc


def play_games(
    game: Game,
    a: Player,
    b: Player,
    a_first: np.ndarray,
    on_finished: Callable[[int], None] | None = None,
) -> tuple[list[list[int]], np.ndarray]:
    """Play ``len(a_first)`` games in lockstep, ``a`` moving first where ``a_first`` is True.

    :param a_first: bool ``[G]``.
    :param on_finished: called with the number of games that ended at each ply (a progress bar).
    :returns: each game's actions and float ``[G]``, each game's result for its first player.
    """
    a_first = np.asarray(a_first, bool)
    g = len(a_first)
    state = game.initial(g)
    going = np.ones(g, bool)
    moves: list[list[int]] = [[] for _ in range(g)]
    result = np.zeros(g, np.float64)
    ply = 0
    while going.any():
        first_to_move = ply % 2 == 0
        action = np.zeros(g, np.int64)
        for player, mine in ((a, a_first == first_to_move), (b, a_first != first_to_move)):
            idx = np.flatnonzero(going & mine)
            if len(idx):
                action[idx] = player.act(state.take(idx))
        idx = np.flatnonzero(going)
        step = game.step(state.take(idx), action[idx])
        state = state.put(idx, step.state)
        for i in idx:
            moves[i].append(int(action[i]))
        ended = idx[step.done]
        result[ended] = outcome_for_first(step.reward[step.done], mover=ply % 2)
        going[ended] = False
        if on_finished is not None and len(ended):
            on_finished(len(ended))
        ply += 1
    return moves, result


def play_match(game: Game, first: Player, second: Player, games: int, progress: bool = False) -> ArenaResult:
    """``games`` games with ``first`` always moving first; counted for ``first``."""
    return _run(game, first, second, np.ones(games, bool), progress, seed=None)


def arena(game: Game, a: Player, b: Player, games: int, seed: int | None = None, progress: bool = False) -> ArenaResult:
    """``a`` against ``b`` over ``games`` games, alternating colours: ``a`` moves first in games
    0, 2, 4, …, so with an odd ``games`` it has one more game as first player than as second
    (the per-colour tallies show it).

    :param seed: recorded in the result (the players hold their own generators).
    :param progress: draw a progress bar over games (stderr).
    """
    if games < 1:
        raise ValueError(f"games must be positive, got {games}")
    return _run(game, a, b, np.arange(games) % 2 == 0, progress, seed)


def _run(game: Game, a: Player, b: Player, a_first: np.ndarray, progress: bool, seed: int | None) -> ArenaResult:
    bar = _Bar(len(a_first), f"{a.name} vs {b.name}", progress)
    try:
        moves, first_result = play_games(game, a, b, a_first, bar.advance)
    finally:
        bar.close()
    for_a = np.where(a_first, first_result, -first_result)
    total, as_first, as_second = _tally(for_a), _tally(for_a[a_first]), _tally(for_a[~a_first])
    records = [
        MatchRecord(a.name if f else b.name, b.name if f else a.name, m, float(r))
        for f, m, r in zip(a_first, moves, first_result, strict=True)
    ]
    n = total.games
    return ArenaResult(
        game=game.name, a=a.name, b=b.name, total=total, as_first=as_first, as_second=as_second,
        score=total.score, score_ci=wilson_interval(total.wins + total.draws / 2, n),
        win_rate=total.wins / n, win_rate_ci=wilson_interval(total.wins, n), seed=seed, records=records,
    )


class _Bar:
    """A progress bar over games (rich, on stderr), or nothing."""

    def __init__(self, total: int, description: str, enabled: bool):
        self.progress = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("games"),
            TimeRemainingColumn(), console=Console(stderr=True),
        )
        self.task = self.progress.add_task(description, total=total)
        self.progress.start()

    def advance(self, n: int) -> None:
        if self.progress is not None:
            self.progress.advance(self.task, n)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
