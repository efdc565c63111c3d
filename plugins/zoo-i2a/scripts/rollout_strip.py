"""An imagined rollout beside the real one, as one PNG: what each environment model predicts for a
held-out level when it is given the level's first frame and the moves that solve it.

    python plugins/zoo-i2a/scripts/rollout_strip.py OUT.png [--env Sokoban/Room6x6-v0]
        [--seed 2000000] [--min-moves 7]
        [--models registry:sokoban-room6x6-model registry:sokoban-room6x6-bad-model]

The moves are the breadth-first solver's shortest solution of the first level from ``seed`` on (the
leaderboard's held-out range) that needs at least ``--min-moves``. The first row is the env itself;
each further row is one model's open-loop rollout (its predictions fed back as its next input, as in
imagination). A frame is ringed red where any cell differs from the real frame at that step; each
title gives the step's move and reward.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--env", default="Sokoban/Room6x6-v0")
    parser.add_argument("--seed", type=int, default=2_000_000)
    parser.add_argument("--min-moves", type=int, default=7)
    parser.add_argument("--models", nargs="+",
                        default=["registry:sokoban-room6x6-model", "registry:sokoban-room6x6-bad-model"])
    args = parser.parse_args(argv)

    import torch
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from zoo_i2a.env import make_sokoban_env
    from zoo_i2a.env_model import load_model, open_loop
    from zoo_i2a.models import model_folder
    from zoo_i2a.sokoban import ACTIONS
    from zoo_i2a.solver import solve

    from zoo_core.api import ZooError

    try:
        env = make_sokoban_env(args.env)
        models = [(name, load_model(model_folder(name))) for name in args.models]
    except ZooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    seed = args.seed
    while True:
        first, _ = env.reset(seed=seed)
        moves = solve(env.level)
        assert moves is not None  # every generated level is solvable
        if len(moves) >= args.min_moves:
            break
        seed += 1
    real_frames, real_rewards = [torch.as_tensor(first)], [None]
    for action in moves:
        obs, reward, *_ = env.step(action)
        real_frames.append(torch.as_tensor(obs))
        real_rewards.append(reward)
    rows = [("the env", real_frames, real_rewards)]
    for name, (model, doc) in models:
        frames, rewards = open_loop(model, torch.as_tensor(first), moves)
        error = doc.get("error", {})
        wrong = error.get("frame_error", float("nan"))
        label = f"{name.removeprefix('registry:')}\n(held-out frames wrong: {wrong:.1%})"
        rows.append((label, [torch.as_tensor(first), *frames], [None, *rewards.tolist()]))

    steps = len(moves) + 1
    fig = Figure(figsize=(1.3 * steps + 1.8, 1.6 * len(rows)))
    FigureCanvasAgg(fig)
    for r, (label, frames, rewards) in enumerate(rows):
        for t in range(steps):
            ax = fig.add_subplot(len(rows), steps, r * steps + t + 1)
            ax.imshow(frames[t].permute(1, 2, 0).numpy(), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            wrong = r > 0 and not torch.equal(frames[t], real_frames[t])
            for spine in ax.spines.values():
                spine.set_edgecolor("red" if wrong else "black")
                spine.set_linewidth(3 if wrong else 0.5)
            title = "start" if t == 0 else f"{ACTIONS[moves[t - 1]]}\nr={rewards[t]:+.1f}"
            ax.set_title(title, fontsize=7)
            if t == 0:
                ax.set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle(f"{args.env}, held-out level {seed}: the solver's moves, real and imagined", fontsize=9)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
