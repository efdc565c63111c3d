"""AlphaZero on Connect Four: train for a fixed budget, then play pure MCTS in the arena.

Training is ``zoo train alphazero --env Game/ConnectFour-v0`` with the settings below (stated in
the output); the budget is self-play moves (``--steps``), and the wall-clock time it took on this
machine is printed. The arena then plays ``--games`` games against pure Monte Carlo tree search
with random rollouts (``--opponent-sims`` simulations per move, 1000 by default), half with each
colour, and reports wins, draws and losses with 95% Wilson intervals.

    python benchmarks/alphazero_connect4.py --steps 400000 --out runs/az-c4      # train, then arena
    python benchmarks/alphazero_connect4.py --run runs/az-c4 --games 50          # arena only
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from zoo_alphazero.arena import arena
from zoo_alphazero.players import AgentPlayer, MCTSPlayer

import zoo_core

SETTINGS = (
    "alphazero.num_workers=2", "alphazero.simulations=64", "alphazero.temperature_moves=8",
    "alphazero.window=60000", "alphazero.channels=32", "alphazero.blocks=3",
    "run.eval_every=50000", "run.checkpoint_every=25000", "run.log_every=5000",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400_000, help="self-play moves of training")
    parser.add_argument("--out", default="runs/alphazero-connect4", help="run directory to train into")
    parser.add_argument("--run", help="skip training: play this run's agent")
    parser.add_argument("--games", type=int, default=50)
    parser.add_argument("--opponent-sims", type=int, default=1000)
    parser.add_argument("--sims", type=int, default=None, help="the agent's simulations per move (default: its own)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", help="write the figures as JSON here")
    args = parser.parse_args()

    train_s = None
    run = args.run
    if run is None:
        print(f"training: zoo train alphazero --env Game/ConnectFour-v0 --steps {args.steps} "
              + " ".join(f"--set {s}" for s in SETTINGS))
        t0 = time.perf_counter()
        zoo_core.train("alphazero", env="Game/ConnectFour-v0", steps=args.steps, seed=args.seed, out=args.out,
                       overrides=list(SETTINGS))
        train_s = time.perf_counter() - t0
        print(f"trained {args.steps} self-play moves in {train_s / 60:.1f} min")
        run = args.out
    agent = zoo_core.load(run)
    me = AgentPlayer(agent, args.sims, name=f"alphazero({args.sims or agent.cfg.eval_simulations} sims)")
    opponent = MCTSPlayer(agent.game, args.opponent_sims, np.random.default_rng(args.seed))
    t0 = time.perf_counter()
    result = arena(agent.game, me, opponent, args.games, seed=args.seed, progress=True)
    print(result.summary())
    print(f"win rate {result.win_rate:.3f}, 95% CI [{result.win_rate_ci[0]:.3f}, {result.win_rate_ci[1]:.3f}]; "
          f"arena took {(time.perf_counter() - t0) / 60:.1f} min")
    if args.results:
        doc = {"run": str(run), "train_seconds": train_s, "settings": list(SETTINGS), **result.to_json()}
        Path(args.results).write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
