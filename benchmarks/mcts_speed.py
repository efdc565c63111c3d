"""MCTS speed: simulations per second for a fixed network and position.

The network is the ``alphazero`` recipe's (default config, weights from seed 0, untrained: speed
does not depend on the weights); the position is the start of the game. Each row searches ``B``
copies of the position together (one network call per simulation for all ``B`` leaves) and
reports simulations per second summed over the trees, so the batching gain reads directly. The
pure Monte Carlo search (uniform prior, one random playout per leaf, no network) is measured beside.

    python benchmarks/mcts_speed.py                      # Connect Four, B = 1, 8, 32, 128
    python benchmarks/mcts_speed.py --game TicTacToe --simulations 200
    python benchmarks/mcts_speed.py --set alphazero.blocks=3       # the Connect Four benchmark's network
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from zoo_alphazero.agent import AlphaZeroAgent
from zoo_alphazero.games import GAMES
from zoo_alphazero.mcts import SearchConfig, init_tree, search
from zoo_alphazero.models import game_model, rollout_evaluator
from zoo_alphazero.network import network_evaluator

from zoo_core.host.session import build_agent, resolve


def agent_for(game_name: str, overrides: list[str]) -> AlphaZeroAgent:
    setup = resolve("alphazero", f"Game/{game_name}-v0", overrides)
    game = GAMES[game_name]
    signature = {"obs_shape": list(game.obs_shape), "obs_dtype": "float32", "num_actions": game.num_actions,
                 "frame_stack": 1}
    return build_agent(setup, signature, seed=0)


def rate(root_fn, recurrent_fn, state, simulations: int, config: SearchConfig, repeats: int) -> float:
    """Simulations per second (summed over the batch), best of ``repeats`` searches."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        tree = init_tree(root_fn(state), state, 1)
        search(tree, recurrent_fn, simulations, config, np.random.default_rng(0))
        best = min(best, time.perf_counter() - t0)
    return len(state.board) * simulations / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="ConnectFour", choices=sorted(GAMES))
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--simulations", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: as a self-play worker)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="network settings, e.g. alphazero.blocks=3 (the Connect Four benchmark's)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    game = GAMES[args.game]
    agent = agent_for(args.game, args.overrides)
    cfg = agent.cfg
    net_model = game_model(game, network_evaluator(game, agent.network))
    pure_model = game_model(game, rollout_evaluator(game, np.random.default_rng(0)))
    print(f"{args.game}, start position, {args.simulations} simulations per tree, torch threads {args.threads}; "
          f"network: resnet {cfg.channels} channels x {cfg.blocks} blocks, "
          f"{sum(p.numel() for p in agent.network.parameters()):,} parameters")
    print(f"{'B':>5} {'network sims/s':>15} {'rollout sims/s':>15}")
    for b in args.batch:
        state = game.initial(b)
        net = rate(*net_model, state, args.simulations, SearchConfig(rule="puct", c=cfg.c_puct), args.repeats)
        pure = rate(*pure_model, state, args.simulations, SearchConfig(rule="uct", c=1.0), args.repeats)
        print(f"{b:>5} {net:>15,.0f} {pure:>15,.0f}")


if __name__ == "__main__":
    main()
