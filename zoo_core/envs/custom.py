"""Custom environments: gymnasium's ``module:EnvId`` ids and RL Zoo's ``--gym-packages``.

A user's env is registered with gymnasium by importing the user's module. ``module:EnvId`` names
that module in the id itself (as ``gymnasium.make`` accepts it), so every process that builds the
env (a resumed run, ``zoo eval``, a spawned actor) imports the module first: the id a run records
is enough to rebuild its env. ``--gym-packages`` imports modules before the env is made and
records the one that registered the env in the id.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import gymnasium as gym

from zoo_core.errors import ZooError

__all__ = ["import_env_module", "split_env_id", "with_gym_packages"]


def split_env_id(env_id: str) -> tuple[str | None, str]:
    """``"mymodule:MyEnv-v0"`` -> ``("mymodule", "MyEnv-v0")``; an id without a module -> ``(None, id)``.

    :raises ZooError: more than one ``:``, or an empty module or env name.
    """
    if ":" not in env_id:
        return None, env_id
    module, _, name = env_id.partition(":")
    if not module or not name or ":" in name:
        raise ZooError(f"environment id {env_id!r} is not MODULE:ENV_ID (e.g. mypackage.envs:MyEnv-v0)")
    return module, name


def _import(module: str, why: str) -> None:
    try:
        importlib.import_module(module)
    except Exception as exc:  # the user's module: any error is theirs to read, in one line
        reason = (str(exc).splitlines() or [""])[0]
        raise ZooError(f"cannot import module {module!r} ({why}): {type(exc).__name__}: {reason}") from None


def import_env_module(env_id: str) -> str:
    """Import the module a ``module:EnvId`` id names (registering its envs); return the bare id.

    :raises ZooError: a malformed id, or a module that is missing or fails to import.
    """
    module, name = split_env_id(env_id)
    if module is not None:
        _import(module, f"named by the env id {env_id!r}")
    return name


def with_gym_packages(env_id: str, packages: Sequence[str]) -> str:
    """Import ``packages`` (in order) and return the env id a run should record.

    When ``env_id`` has no module and one of the packages registers it, the result is
    ``package:env_id``, so resuming, evaluating or loading the run imports that package again.

    :raises ZooError: a package that is missing or fails to import.
    """
    module, name = split_env_id(env_id)
    registered_by = None
    for package in packages:
        before = name in gym.envs.registry
        _import(package, "from --gym-packages")
        if registered_by is None and not before and name in gym.envs.registry:
            registered_by = package
    if module is None and registered_by is not None:
        return f"{registered_by}:{name}"
    return env_id
