"""Held-out mazes with an agent's predictions beside the truth, as one PNG.

    python plugins/zoo-predictron/scripts/predictions_figure.py AGENT OUT.png [--seed 2000000] [--mazes 4]

AGENT is anything ``zoo_core.load`` takes (a run, an agent folder, ``registry:NAME``). Each panel is
one maze of the held-out range (reset seed ``seed + i``): walls dark, the diagonal cells drawn as
discs shaded by the predicted probability of reaching the bottom-right corner (white 0, dark blue
1), ringed green where they do reach it and red where they do not.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("agent")
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=2_000_000)
    parser.add_argument("--mazes", type=int, default=4)
    args = parser.parse_args(argv)

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from zoo_core.api import ZooError, load

    try:
        agent = load(args.agent)
    except ZooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    env = agent.setup.make_env(training=False)
    resets = [env.reset(seed=args.seed + i) for i in range(args.mazes)]
    obs, targets = [o for o, _ in resets], [info["targets"] for _, info in resets]
    predictions = agent.predict(np.stack(obs))
    fig = Figure(figsize=(3.2 * args.mazes, 3.6), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    for i, ax in enumerate(fig.subplots(1, args.mazes, squeeze=False)[0]):
        walls, y, p = obs[i][0], targets[i], np.clip(predictions[i], 0, 1)
        ax.imshow(walls, cmap="Greys", vmin=0, vmax=1.6)
        index = np.arange(len(y))
        ax.scatter(index, index, c=p, cmap="Blues", vmin=0, vmax=1, s=46,
                   edgecolors=np.where(y[:, None] > 0, [[0.1, 0.7, 0.2]], [[0.85, 0.15, 0.15]]), linewidths=1.6)
        ax.plot([len(y) - 1], [len(y) - 1], marker="*", color="gold", markersize=12)
        mse = float(((predictions[i] - y) ** 2).mean())
        ax.set_title(f"maze {args.seed + i}: mse {mse:.3f}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    cfg = agent.doc["config"]["predictron"]
    if cfg["architecture"] == "convnet":
        what = "recurrent ConvNet" if cfg["shared"] else "feed-forward ConvNet"
    else:
        what = "λ-predictron" if cfg["use_lambda"] else "(r, γ)-predictron"
    fig.suptitle(f"{what}, {agent.doc['total_steps']:,} labelled mazes: blue = predicted "
                 "P(reaches the star); ring = truth (green yes, red no)", fontsize=9)
    fig.savefig(args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
