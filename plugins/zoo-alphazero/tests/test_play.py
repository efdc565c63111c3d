"""`zoo play` with scripted input, and `zoo arena` / `zoo play` through the `zoo` command."""

from __future__ import annotations

import io
import json
import sys
import types
from collections.abc import Iterable

import numpy as np
import pytest
from zoo_alphazero import commands, players
from zoo_alphazero.commands import play_game, register_commands
from zoo_alphazero.games import CONNECT_FOUR, TIC_TAC_TOE, State
from zoo_alphazero.players import AgentPlayer, MinimaxPlayer

from zoo_core import hookimpl
from zoo_core.cli.main import main
from zoo_core.host import manager as plugins
from zoo_core.host.manager import make_manager

TTT = TIC_TAC_TOE


class Scripted:
    """An opponent playing fixed actions in order."""

    name = "scripted"

    def __init__(self, actions: Iterable[int]):
        self.actions = iter(actions)

    def act(self, state: State) -> np.ndarray:
        return np.array([next(self.actions)])


class Terminal:
    """Scripted answers to prompts, and everything printed."""

    def __init__(self, answers: Iterable[str]):
        self.answers, self.prompts, self.lines = iter(answers), [], []

    def input(self, prompt: str) -> str:
        self.prompts.append(prompt)
        try:
            return next(self.answers)
        except StopIteration:
            raise EOFError from None

    def print(self, text: str = "") -> None:
        self.lines.extend(str(text).splitlines() or [""])


def test_bad_input_is_reprompted_with_the_reason_and_the_human_wins():
    term = Terminal(["x", "0", "10", "1", "5", "2", "3"])
    result = play_game(TTT, Scripted([4, 8]), human_first=True, input_fn=term.input, print_fn=term.print)
    assert result == 1.0
    assert "expected a cell number 1-9, got 'x'" in term.lines
    assert "expected a cell number 1-9, got 0" in term.lines
    assert "expected a cell number 1-9, got 10" in term.lines
    assert "move 5 is illegal: cell 5 is taken" in term.lines
    assert "scripted plays 5" in term.lines and "scripted plays 9" in term.lines
    assert term.lines[-1] == "You win!"
    assert term.lines[-4:-1] == ["X X X    1 2 3", ". O .    4 5 6", ". . O    7 8 9"]
    assert len(term.prompts) == 7 and term.prompts[0] == "your move (cell 1-9, q quits): "


def test_full_column_and_quit_at_connect_four():
    term = Terminal(["1", "1", "1", "1", "q"])
    result = play_game(CONNECT_FOUR, Scripted([0, 0, 0]), input_fn=term.input, print_fn=term.print)
    assert result is None
    assert "move 1 is illegal: column 1 is full" in term.lines
    assert term.lines[-1] == "game abandoned"


def test_end_of_input_quits_cleanly():
    term = Terminal([])
    assert play_game(TTT, Scripted([]), input_fn=term.input, print_fn=term.print) is None
    assert term.lines[-1] == "game abandoned"


def test_a_full_game_against_a_perfect_agent_never_won():
    class Perfect:
        game = TTT

        def __init__(self):
            self.solver = MinimaxPlayer(TTT, np.random.default_rng(0))

        def play(self, state, simulations=None):
            return self.solver.act(state)

    for human_first in (True, False):
        term = Terminal(str(c) for _ in range(9) for c in range(1, 10))  # the lowest free cell, by trial
        agent = AgentPlayer(Perfect(), name="perfect agent")
        result = play_game(TTT, agent, human_first=human_first, input_fn=term.input, print_fn=term.print)
        assert result in (0.0, -1.0)
        assert term.lines[-1] in ("Draw.", "perfect agent wins.")
        assert term.lines[0].startswith(f"TicTacToe: you are {'X' if human_first else 'O'}, perfect agent is")


# --- through the zoo command --------------------------------------------------------------------


@pytest.fixture
def zoo(monkeypatch, tmp_path):
    """The `zoo` command with this plugin's commands (whether or not plugin.py wires them yet)."""

    @hookimpl
    def zoo_register_commands(register):
        register_commands(register)

    plugin = types.SimpleNamespace(name="alphazero", zoo_register_commands=zoo_register_commands)
    monkeypatch.setattr(plugins, "catalog_manager", lambda: make_manager(extra=[plugin]))
    monkeypatch.chdir(tmp_path)
    return main


def test_cli_arena_writes_results_and_records(zoo, capsys, tmp_path):
    out = tmp_path / "r.json"
    args = ["arena", "minimax", "--vs", "random", "--game", "TicTacToe", "--games", "9", "--seed", "4"]
    assert zoo([*args, "--out", str(out)]) == 0
    line = capsys.readouterr().out.strip()
    doc = json.loads(out.read_text())
    assert line.startswith("minimax vs random, TicTacToe, 9 games: ") and line.endswith(f"-> {out}")
    assert doc["total"]["losses"] == 0 and doc["as_first"]["games"] == 5 and len(doc["records"]) == 9
    assert doc["agent"] == "minimax" and doc["opponent"] == "random" and doc["seed"] == 4
    assert zoo([*args, "--no-progress"]) == 0  # without --out: only printed
    assert capsys.readouterr().out.strip() == line.removesuffix(f" -> {out}")  # seeded: the same games
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # nothing else in the working directory


def test_cli_arena_same_spec_on_both_sides(zoo, capsys):
    assert zoo(["arena", "random", "--vs", "random", "--game", "ConnectFour", "--games", "4"]) == 0
    assert "random vs random (2), ConnectFour, 4 games" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["arena", "random", "--vs", "random"], "--game is needed when no side is a trained agent"),
        (["arena", "x", "--vs", "random"], "unknown opponent 'x'; expected random, mcts:N"),
        (["arena", "alphago", "--vs", "random", "--game", "TicTacToe"], "unknown opponent 'alphago'"),
        (["arena", "random", "--vs", "mcts:x", "--game", "TicTacToe"], "mcts takes a positive number"),
        (["arena", "minimax", "--vs", "random", "--game", "ConnectFour"], "plays TicTacToe only"),
        (["arena", "random", "--vs", "random", "--game", "Chess"], "unknown game 'Chess'"),
        (["arena", "random", "--vs", "random", "--game", "TicTacToe", "--games", "0"], "positive integer"),
        (["arena", "random", "--vs", "random", "--game", "TicTacToe", "--sims", "8"], "--sims sets an agent's"),
        (["arena", "random"], "--vs"),
        (["play", "random"], "--game is needed"),
        (["play", "random", "--game", "TicTacToe", "--first", "--second"], "not allowed with argument"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(zoo, capsys, args, needle):
    assert zoo(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: ") and err.count("\n") == 1 and needle in err, err


def test_cli_agent_sets_the_game_and_must_match(zoo, capsys, monkeypatch):
    class Perfect:
        game = TTT

        def play(self, state, simulations=None):
            return MinimaxPlayer(TTT, np.random.default_rng(0)).act(state)

    monkeypatch.setattr(players, "is_agent_spec", lambda spec: spec.startswith("runs/"))
    monkeypatch.setattr(commands, "load_agent_player", lambda spec, sims: AgentPlayer(Perfect(), sims, name=spec))
    assert zoo(["arena", "runs/az", "--vs", "random", "--games", "4", "--sims", "16"]) == 0
    assert capsys.readouterr().out.startswith("runs/az vs random, TicTacToe, 4 games: ")
    assert zoo(["arena", "runs/az", "--vs", "random", "--game", "ConnectFour"]) == 2
    assert "runs/az plays TicTacToe, but --game is ConnectFour" in capsys.readouterr().err


def test_cli_play_reads_moves_until_end_of_input(zoo, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("5\nnine\n1\n"))
    assert zoo(["play", "minimax", "--game", "TicTacToe", "--second"]) == 0
    out = capsys.readouterr().out
    assert "you are O, minimax is X" in out and "minimax plays" in out
    assert "expected a cell number 1-9, got 'nine'" in out and out.rstrip().endswith("game abandoned")
