"""Agent Zoo's core: the plugin host, the DQN baseline, the training loop, checkpoints, evaluation.

Python API::

    import zoo_core
    result = zoo_core.train("dqn", env="CartPole-v1", steps=50_000, seed=0, out="runs/dqn")
    agent = zoo_core.load("runs/dqn")          # latest checkpoint; which="best" for the best eval
    action = agent.act(observation)
"""

from __future__ import annotations

__version__ = "0.1.0"

from zoo_core.hookspecs import hookimpl  # noqa: E402
from zoo_core.recipes import Algorithm, Recipe  # noqa: E402


def __getattr__(name: str):
    # Training pulls in torch and gymnasium; keep `import zoo_core` (and plugin imports) light.
    if name in ("train", "resume", "load", "TrainResult"):
        from zoo_core import training

        return getattr(training, name)
    if name in ("evaluate", "EvalProtocol"):
        from zoo_core import evaluation

        return getattr(evaluation, name)
    raise AttributeError(f"module 'zoo_core' has no attribute {name!r}")


__all__ = ["Algorithm", "EvalProtocol", "Recipe", "TrainResult", "__version__", "evaluate", "hookimpl",
           "load", "resume", "train"]
