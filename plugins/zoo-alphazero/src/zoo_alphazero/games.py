"""Two-player board games as batched pure functions: tic-tac-toe and Connect Four.

A position is seen from the player to move: ``board`` holds +1 for that player's stones and -1 for
the opponent's, so one network and one search serve both colours and a move flips the sign. Every
function takes a batch (leading axis ``B``) because the search expands one leaf per tree per
simulation and evaluates them together.

Both games are "k in a row" on a grid: tic-tac-toe places anywhere (3 in a row on 3x3), Connect
Four drops into a column (4 in a row on 6x7). Actions: tic-tac-toe ``row * 3 + col``; Connect Four
the column. Moves are written 1-based in records and at the prompt (cell 1-9, column 1-7).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from zoo_core.api import ZooError


class IllegalMove(ZooError):
    """A move that the rules do not allow in that position."""


class State(NamedTuple):
    """A batch of positions.

    board: int8 ``[B, H, W]``; +1 the player to move's stones, -1 the opponent's, 0 empty. Row 0 is
        the top (Connect Four stones fall towards row ``H - 1``).
    player: int8 ``[B]``; who is to move, 0 for the first player.
    """

    board: np.ndarray
    player: np.ndarray

    def take(self, rows: np.ndarray) -> State:
        """The positions at ``rows`` (indices or a bool mask)."""
        return State(self.board[rows], self.player[rows])

    def put(self, rows: np.ndarray, new: State) -> State:
        """A copy with the positions at ``rows`` replaced by ``new``'s."""
        board, player = self.board.copy(), self.player.copy()
        board[rows], player[rows] = new.board, new.player
        return State(board, player)


class Step(NamedTuple):
    """What a batch of moves did.

    state: the positions after the moves, seen by the new player to move.
    reward: float32 ``[B]``; +1 where the move won, else 0 (to the player who moved).
    done: bool ``[B]``; the game ended (a win or a full board).
    """

    state: State
    reward: np.ndarray
    done: np.ndarray


def _lines(rows: int, cols: int, k: int) -> np.ndarray:
    """Flat cell indices ``[L, k]`` of every horizontal, vertical and diagonal line of ``k`` cells."""
    out = []
    for r in range(rows):
        for c in range(cols):
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                cells = [(r + i * dr, c + i * dc) for i in range(k)]
                if all(0 <= rr < rows and 0 <= cc < cols for rr, cc in cells):
                    out.append([rr * cols + cc for rr, cc in cells])
    return np.asarray(out, dtype=np.int64)


@dataclass(frozen=True)
class Game:
    """A k-in-a-row game on a ``rows x cols`` grid; ``gravity`` makes actions columns (Connect Four).

    The game is its rules only: all positions are passed in and returned, never held.
    """

    name: str
    rows: int
    cols: int
    connect: int
    gravity: bool
    mirror_only: bool
    """Its symmetries: left-right mirror only (Connect Four) or all 8 of the square (tic-tac-toe)."""

    @property
    def num_actions(self) -> int:
        return self.cols if self.gravity else self.rows * self.cols

    @property
    def obs_shape(self) -> tuple[int, int, int]:
        """What :meth:`observe` returns per position: the mover's stones and the opponent's."""
        return (2, self.rows, self.cols)

    @property
    def lines(self) -> np.ndarray:
        return _LINES[(self.rows, self.cols, self.connect)]

    def initial(self, n: int = 1) -> State:
        """``n`` empty boards, the first player to move."""
        return State(np.zeros((n, self.rows, self.cols), np.int8), np.zeros(n, np.int8))

    def legal(self, state: State) -> np.ndarray:
        """bool ``[B, A]``: the moves allowed in each position (none once the game is over)."""
        board = state.board
        empty = board[:, 0, :] == 0 if self.gravity else (board == 0).reshape(len(board), -1)
        return empty & ~self.finished(state)[:, None]

    def finished(self, state: State) -> np.ndarray:
        """bool ``[B]``: a line is complete (by the player who just moved) or the board is full."""
        return self.won_by_last(state.board) | (state.board != 0).all(axis=(1, 2))

    def won_by_last(self, board: np.ndarray) -> np.ndarray:
        """bool ``[B]``: the opponent of the player to move (who just moved) has a full line."""
        flat = board.reshape(len(board), -1)
        return (flat[:, self.lines].sum(-1) == -self.connect).any(-1)

    def step(self, state: State, action: np.ndarray) -> Step:
        """Play ``action`` int ``[B]`` in each position.

        :raises IllegalMove: an action is out of range, or not legal where it is played (a full
            column, a taken cell, a finished game).
        """
        action = np.asarray(action, dtype=np.int64).reshape(-1)
        b = len(state.board)
        if action.shape != (b,):
            raise ValueError(f"expected {b} actions, got {action.shape[0]}")
        bad = (action < 0) | (action >= self.num_actions)
        if bad.any():
            raise IllegalMove(f"{self.name}: move {int(action[bad][0])} is out of range 0..{self.num_actions - 1}")
        ok = self.legal(state)[np.arange(b), action]
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            one = state.take(np.array([i]))
            raise IllegalMove(f"{self.name}: {self.why_illegal(one, int(action[i]))}")
        flat = state.board.reshape(b, -1).copy()
        if self.gravity:
            filled = (state.board[np.arange(b), :, action] != 0).sum(-1)
            cell = (self.rows - 1 - filled) * self.cols + action
        else:
            cell = action
        flat[np.arange(b), cell] = 1
        win = (flat[:, self.lines].sum(-1) == self.connect).any(-1)
        done = win | (flat != 0).all(-1)
        board = (-flat).reshape(state.board.shape).astype(np.int8)
        return Step(State(board, (1 - state.player).astype(np.int8)), win.astype(np.float32), done)

    def why_illegal(self, state: State, action: int) -> str:
        """Why ``action`` cannot be played in the single position ``state`` (for error messages)."""
        move = self.format_move(action)
        if self.finished(state)[0]:
            return f"move {move} is illegal: the game is over"
        if self.gravity:
            return f"move {move} is illegal: column {move} is full"
        return f"move {move} is illegal: cell {move} is taken"

    def observe(self, state: State) -> np.ndarray:
        """float32 ``[B, 2, H, W]``: plane 0 the player to move's stones, plane 1 the opponent's."""
        return np.stack([state.board == 1, state.board == -1], axis=1).astype(np.float32)

    def from_observation(self, obs: np.ndarray) -> State:
        """The positions :meth:`observe` came from (the player to move is recovered from the stone
        counts: the first player has as many stones as the second)."""
        obs = np.asarray(obs)
        if obs.ndim == 3:
            obs = obs[None]
        board = (obs[:, 0] > 0.5).astype(np.int8) - (obs[:, 1] > 0.5).astype(np.int8)
        mine, theirs = (board == 1).sum((1, 2)), (board == -1).sum((1, 2))
        return State(board, (mine != theirs).astype(np.int8))

    def symmetries(self) -> list[tuple[str, np.ndarray]]:
        """The board symmetries as ``(name, cell_perm)``: ``board.flat[cell_perm]`` is the image.

        The policy over actions maps with :meth:`action_perm`.
        """
        idx = np.arange(self.rows * self.cols).reshape(self.rows, self.cols)
        maps = [("identity", idx), ("mirror", idx[:, ::-1])]
        if not self.mirror_only:
            maps += [
                ("rot90", np.rot90(idx, 1)), ("rot180", np.rot90(idx, 2)), ("rot270", np.rot90(idx, 3)),
                ("flipud", idx[::-1, :]), ("transpose", idx.T), ("antitranspose", np.rot90(idx, 2).T),
            ]
        return [(name, m.reshape(-1)) for name, m in maps]

    def action_perm(self, cell_perm: np.ndarray) -> np.ndarray:
        """The permutation of actions matching a cell permutation: ``pi_image = pi[action_perm]``."""
        if not self.gravity:
            return cell_perm
        return cell_perm.reshape(self.rows, self.cols)[0] % self.cols

    # --- text: moves, records, boards -----------------------------------------------------------

    def format_move(self, action: int) -> str:
        return str(action + 1)

    def parse_move(self, text: str) -> int:
        """A typed move (1-based cell or column) to an action.

        :raises IllegalMove: not a number in range.
        """
        unit = "column" if self.gravity else "cell"
        try:
            number = int(text.strip())
        except ValueError:
            raise IllegalMove(f"expected a {unit} number 1-{self.num_actions}, got {text.strip()!r}") from None
        if not 1 <= number <= self.num_actions:
            raise IllegalMove(f"expected a {unit} number 1-{self.num_actions}, got {number}")
        return number - 1

    def replay(self, moves: Sequence[int]) -> tuple[State, float, bool]:
        """Play a game record (actions) from the start; returns the position, the last move's reward
        and whether the game is over.

        :raises IllegalMove: a move is illegal, naming its number in the record.
        """
        state, reward, done = self.initial(1), 0.0, False
        for i, a in enumerate(moves):
            try:
                step = self.step(state, np.array([a]))
            except IllegalMove as exc:
                raise IllegalMove(f"move {i + 1} of the record: {exc}") from None
            state, reward, done = step.state, float(step.reward[0]), bool(step.done[0])
        return state, reward, done

    def render(self, state: State, index: int = 0) -> str:
        """The position as text: X moves first, O second; row of 1-based move numbers as a key."""
        board, player = state.board[index], int(state.player[index])
        # +1 is the player to move; absolute colours: first player's stones are X.
        mark = {1: "X" if player == 0 else "O", -1: "O" if player == 0 else "X", 0: "."}
        lines = [" ".join(mark[int(v)] for v in row) for row in board]
        if self.gravity:
            lines.append(" ".join(str(c + 1) for c in range(self.cols)))
        else:
            lines = [
                f"{line}    {' '.join(str(r * self.cols + c + 1) for c in range(self.cols))}"
                for r, line in enumerate(lines)
            ]
        return "\n".join(lines)


# First player's stones red, second player's yellow, on a blue board (Connect Four's colours).
_COLOURS = {"board": (30, 70, 160), "empty": (235, 235, 235), 0: (215, 40, 40), 1: (240, 200, 30)}


def draw(game: Game, state: State, index: int = 0, cell: int = 48) -> np.ndarray:
    """The position as an RGB image, uint8 ``[H * cell, W * cell, 3]``: a disc per cell, red for
    the first player's stones and yellow for the second's (what videos of games show)."""
    board, player = state.board[index], int(state.player[index])
    yy, xx = np.mgrid[0:cell, 0:cell]
    disc = (yy - cell / 2 + 0.5) ** 2 + (xx - cell / 2 + 0.5) ** 2 <= (0.4 * cell) ** 2
    image = np.empty((game.rows * cell, game.cols * cell, 3), np.uint8)
    image[:] = _COLOURS["board"]
    for r in range(game.rows):
        for c in range(game.cols):
            v = int(board[r, c])
            # +1 is the player to move's stone: the first player's when ``player`` is 0.
            colour = _COLOURS["empty"] if v == 0 else _COLOURS[player if v == 1 else 1 - player]
            image[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell][disc] = colour
    return image


_LINES = {(3, 3, 3): _lines(3, 3, 3), (6, 7, 4): _lines(6, 7, 4)}

TIC_TAC_TOE = Game("TicTacToe", 3, 3, 3, gravity=False, mirror_only=False)
CONNECT_FOUR = Game("ConnectFour", 6, 7, 4, gravity=True, mirror_only=True)
GAMES = {"TicTacToe": TIC_TAC_TOE, "ConnectFour": CONNECT_FOUR}


def outcome_for_first(step_reward: Any, mover: int) -> Any:
    """A finished game's result for the first player (a float or an array of them): the last mover
    won (``step_reward`` +1 for them) or drew (0); ``mover`` 0 is the first player."""
    return step_reward if mover == 0 else -step_reward
