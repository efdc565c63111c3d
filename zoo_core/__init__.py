"""Agent Zoo's core: the plugin host, the DQN baseline, the training loop, checkpoints, evaluation.

Python API::

    import zoo_core
    result = zoo_core.train("dqn", env="CartPole-v1", steps=50_000, seed=0, out="runs/dqn")
    agent = zoo_core.load("runs/dqn")          # latest checkpoint; which="best" for the best eval
    action = agent.act(observation)

Plugins import :mod:`zoo_core.api` (everything a plugin may use) and nothing else of the core.
"""

from __future__ import annotations

from zoo_core.host.hookspecs import hookimpl
from zoo_core.host.recipes import Algorithm, Recipe
from zoo_core.version import __version__


def __getattr__(name: str):
    # Training pulls in torch and gymnasium; keep `import zoo_core` (and plugin imports) light.
    if name in ("train", "resume", "TrainResult"):
        from zoo_core.running import training

        return getattr(training, name)
    if name == "load":
        from zoo_core.publishing.load import load

        return load
    if name in ("evaluate", "EvalProtocol"):
        from zoo_core.running import evaluation

        return getattr(evaluation, name)
    raise AttributeError(f"module 'zoo_core' has no attribute {name!r}")


__all__ = ["Algorithm", "EvalProtocol", "Recipe", "TrainResult", "__version__", "evaluate", "hookimpl",
           "load", "resume", "train"]
