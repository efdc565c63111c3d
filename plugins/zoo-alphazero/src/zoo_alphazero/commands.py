"""``zoo arena`` and ``zoo play``, added to the ``zoo`` command by the ``zoo_register_commands`` hook.

Either side of an arena, and the opponent in ``zoo play``, is a trained agent (run directory,
agent folder, ``registry:NAME``, ``hf:org/name@rev``) or a built-in player (``random``,
``mcts:N``, ``minimax``), so both commands work before any agent is trained.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from zoo_alphazero.games import GAMES, Game, IllegalMove, State
from zoo_alphazero.players import Player, load_agent_player, make_opponent, parse_spec
from zoo_core.api import ZooError, nonneg_int, positive_int, progress_default

Register = Callable[
    [str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int | None]], None
]

AGENT_HELP = "run directory, agent folder, registry:NAME, hf:org/name@rev, or random | mcts:N | minimax"


def register_commands(register: Register) -> None:
    """The plugin's ``zoo_register_commands`` implementation."""
    register("arena", "play an agent against an opponent with both colours: W/D/L and a 95% CI",
             configure_arena, run_arena)
    register("play", "play a board game against an agent in the terminal", configure_play, run_play)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--game", help=f"{' or '.join(GAMES)} (or its Game/ id); needed when no side is an agent")
    p.add_argument("--sims", type=positive_int, help="an agent's simulations per move (default: its own setting)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="seeds the players' random choices")


def configure_arena(p: argparse.ArgumentParser) -> None:
    p.add_argument("agent", help=AGENT_HELP)
    p.add_argument("--vs", required=True, metavar="OPPONENT", help=AGENT_HELP)
    p.add_argument("--games", type=positive_int, default=100, help="games in all; each side is first in half")
    _add_common(p)
    p.add_argument("--out", help="JSON file to write the results and game records to (default: only print)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def configure_play(p: argparse.ArgumentParser) -> None:
    p.add_argument("agent", help=AGENT_HELP)
    side = p.add_mutually_exclusive_group()
    side.add_argument("--first", dest="human_first", action="store_true", default=True,
                      help="you move first (X; the default)")
    side.add_argument("--second", dest="human_first", action="store_false", help="the agent moves first")
    _add_common(p)


def game_named(text: str) -> Game:
    """``TicTacToe``, ``ConnectFour`` (any case) or a ``Game/`` env id.

    :raises ZooError: none of these.
    """
    by_lower = {name.lower(): game for name, game in GAMES.items()}
    if text.lower() in by_lower:
        return by_lower[text.lower()]
    if text.startswith("Game/"):
        from zoo_alphazero.env import game_of

        return game_of(text)
    raise ZooError(f"unknown game '{text}'; expected {' or '.join(GAMES)}")


def resolve_players(specs: list[str], game_name: str | None, seed: int, sims: int | None) -> tuple[Game, list[Player]]:
    """Players for ``specs`` and the game they play: agents are loaded first, since they fix the
    game; built-in players get independent generators seeded by ``[seed, side]``.

    :raises ZooError: no game (no agent and no ``--game``), agents of different games, ``--sims``
        without an agent, or a bad spec.
    """
    kinds = [parse_spec(s)[0] for s in specs]  # a bad spec is the first thing to hear about
    game = game_named(game_name) if game_name else None
    agents = {i: load_agent_player(s, sims) for i, s in enumerate(specs) if kinds[i] == "agent"}
    if sims is not None and not agents:
        raise ZooError("--sims sets an agent's simulations per move; for pure MCTS write mcts:N")
    for i, player in agents.items():
        if game is None:
            game = player.game
        elif player.game != game:
            what = "--game" if game_name else specs[1 - i]
            raise ZooError(f"{specs[i]} plays {player.game.name}, but {what} is {game.name}")
    if game is None:
        raise ZooError(f"--game is needed when no side is a trained agent: {' or '.join(GAMES)}")
    players = [agents.get(i) or make_opponent(s, game, [seed, i]) for i, s in enumerate(specs)]
    return game, players


def run_arena(args: argparse.Namespace) -> int:
    from zoo_alphazero.arena import arena
    from zoo_core.api import atomic_path

    game, (a, b) = resolve_players([args.agent, args.vs], args.game, args.seed, args.sims)
    if a.name == b.name:  # keep the records' names apart
        b.name = f"{b.name} (2)"
    result = arena(game, a, b, args.games, seed=args.seed, progress=progress_default() and not args.no_progress)
    if not args.out:  # nothing lands in the working directory unasked
        print(result.summary())
        return 0
    doc = {"agent": args.agent, "opponent": args.vs, "sims": args.sims, **result.to_json()}
    out = Path(args.out)
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(doc, indent=1, allow_nan=False))
    print(f"{result.summary()} -> {out}")
    return 0


def run_play(args: argparse.Namespace) -> int:
    game, (opponent,) = resolve_players([args.agent], args.game, args.seed, args.sims)
    play_game(game, opponent, human_first=args.human_first)
    return 0


QUIT = ("q", "quit", "exit")


def ask_move(game: Game, state: State, input_fn: Callable[[str], str], print_fn: Callable[[str], None]) -> int | None:
    """Prompt until a legal move is typed; None when the player quits (``q`` or end of input).

    Each bad answer (not a number, out of range, a full column or taken cell) prints one line
    saying why, then the prompt again.
    """
    unit = "column" if game.gravity else "cell"
    while True:
        try:
            text = input_fn(f"your move ({unit} 1-{game.num_actions}, q quits): ")
        except EOFError:
            print_fn("")
            return None
        if text.strip().lower() in QUIT:
            return None
        try:
            action = game.parse_move(text)
        except IllegalMove as exc:
            print_fn(str(exc))
            continue
        if not game.legal(state)[0, action]:
            print_fn(game.why_illegal(state, action))
            continue
        return action


def play_game(
    game: Game,
    opponent: Player,
    human_first: bool = True,
    input_fn: Callable[[str], str] = input,
    print_fn: Callable[[str], None] = print,
) -> float | None:
    """One game in the terminal: the board after every move, the opponent's moves announced.

    :returns: the result for the human (+1 win, 0 draw, -1 loss), or None if they quit.
    """
    you, them = ("X", "O") if human_first else ("O", "X")
    print_fn(f"{game.name}: you are {you}, {opponent.name} is {them}. Type q or Ctrl-D to quit.")
    state = game.initial(1)
    print_fn(game.render(state))
    ply = 0
    while True:
        human_turn = (ply % 2 == 0) == human_first
        if human_turn:
            action = ask_move(game, state, input_fn, print_fn)
            if action is None:
                print_fn("game abandoned")
                return None
        else:
            action = int(np.asarray(opponent.act(state)).reshape(-1)[0])
            print_fn(f"{opponent.name} plays {game.format_move(action)}")
        step = game.step(state, np.array([action]))
        state = step.state
        print_fn(game.render(state))
        if step.done[0]:
            won = step.reward[0] > 0
            if not won:
                print_fn("Draw.")
                return 0.0
            print_fn("You win!" if human_turn else f"{opponent.name} wins.")
            return 1.0 if human_turn else -1.0
        ply += 1
