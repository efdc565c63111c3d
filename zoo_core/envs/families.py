"""Env families (gymnasium, Atari, MinAtar) and `make_env`, which picks the family by id prefix."""

from __future__ import annotations

import difflib
import functools
import importlib.util
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from zoo_core.envs import atari, minatar, pomdp
from zoo_core.envs.custom import import_env_module, split_env_id
from zoo_core.errors import ZooError

# Registry entries served by the Atari/MinAtar families instead (they need their own preprocessing).
_FOREIGN_ENTRY_POINTS = ("ale_py", "minatar")
# Registry entries whose optional physics packages may be missing; listed only when installed.
_OPTIONAL_MODULES = {"gymnasium.envs.box2d": "Box2D", "gymnasium.envs.mujoco": "mujoco"}


@dataclass(frozen=True)
class EnvFamily:
    """A source of environments whose ids share a prefix.

    make(env_id, *, training, render_mode) builds one env; list_ids() lists the ids to show in `zoo envs`.
    """

    name: str
    prefix: str
    make: Callable[..., gym.Env]
    list_ids: Callable[[], list[str]]
    description: str


def unknown_env_error(env_id: str, candidates: Sequence[str]) -> ZooError:
    """A one-line ZooError for an unknown id, suggesting the closest valid ids.

    Ids are also compared without their namespace, so `Pong-v4` suggests `ALE/Pong-v5`.
    """
    close = difflib.get_close_matches(env_id, candidates, n=3, cutoff=0.6)
    if not close:
        by_name = {c.rsplit("/", 1)[-1]: c for c in candidates}
        close = [by_name[n] for n in difflib.get_close_matches(env_id.rsplit("/", 1)[-1], by_name, n=3, cutoff=0.6)]
    if close:
        return ZooError(f"unknown environment {env_id!r}; did you mean {' or '.join(close)}? (see `zoo envs`)")
    some = ", ".join(list(candidates)[:5])
    return ZooError(f"unknown environment {env_id!r}; valid ids include {some} (see `zoo envs`)")


def table_env(env_id: str, tasks: Mapping[str, Mapping[str, Any]], env_class: type[gym.Env],
              render_mode: str | None = None) -> gym.Env:
    """A plugin's env from its table of tasks: ``env_class(**tasks[env_id], render_mode=...)``, given
    a spec as ``gym.make`` gives one (entry point and keyword arguments), so a leaderboard's protocol
    pins what the id means (its ``env_kwargs``).

    :raises ZooError: an id not in the table, suggesting close ones.
    """
    if env_id not in tasks:
        raise unknown_env_error(env_id, list(tasks))
    env = env_class(**tasks[env_id], render_mode=render_mode)
    env.spec = gym.envs.registration.EnvSpec(env_id, entry_point=f"{env_class.__module__}:{env_class.__qualname__}",
                                             kwargs=dict(tasks[env_id]))
    return env


def _entry_module(spec: gym.envs.registration.EnvSpec) -> str:
    entry = spec.entry_point
    return entry if isinstance(entry, str) else getattr(entry, "__module__", "")


def _is_foreign(spec: gym.envs.registration.EnvSpec) -> bool:
    return _entry_module(spec).startswith(_FOREIGN_ENTRY_POINTS)


def _installed(spec: gym.envs.registration.EnvSpec) -> bool:
    # gymnasium registers retired ids (mujoco-py, shimmy) with entry points that only raise an error.
    if getattr(spec.entry_point, "__name__", "").startswith("_raise"):
        return False
    module = _entry_module(spec)
    for prefix, package in _OPTIONAL_MODULES.items():
        if module.startswith(prefix) and importlib.util.find_spec(package) is None:
            return False
    return True


def _gym_ids() -> list[str]:
    """Plain gymnasium ids (no namespace), excluding Atari/MinAtar and envs whose physics engine is missing."""
    return [k for k, spec in gym.envs.registry.items() if "/" not in k and not _is_foreign(spec) and _installed(spec)]


def trainable_spaces(observation_space: gym.Space, action_space: gym.Space) -> bool:
    """Whether the zoo's agents can be trained on these spaces: an array of observations with at
    least one dimension (``Box``), and discrete actions."""
    return (isinstance(observation_space, gym.spaces.Box) and len(observation_space.shape) >= 1
            and isinstance(action_space, gym.spaces.Discrete))


@functools.cache
def _trainable(env_id: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            env = gym.make(env_id)
    except Exception:  # an id that cannot be built is not listed
        return False
    try:
        return trainable_spaces(env.observation_space, env.action_space)
    finally:
        env.close()


def _trainable_gym_ids() -> list[str]:
    """The gymnasium ids `zoo train` accepts (`zoo envs` lists these): built once each to read
    their spaces, so continuous-action (Pendulum) and non-array-observation (Blackjack, FrozenLake)
    envs are left out."""
    return [k for k in _gym_ids() if _trainable(k)]


def _make_gym(env_id: str, *, training: bool, render_mode: str | None = None) -> gym.Env:
    """Any gymnasium-registered id, as gymnasium builds it (training makes no difference)."""
    spec = gym.envs.registry.get(env_id)
    if spec is None or _is_foreign(spec):
        # Typos of Atari/MinAtar ids land here too (empty prefix), so suggest from those families as well.
        error = unknown_env_error(env_id, _gym_ids() + atari.list_ids() + minatar.list_ids())
        raise ZooError(f"{error}; your own env: --env MODULE:{env_id} or --gym-packages MODULE")
    try:
        return gym.make(env_id, render_mode=render_mode)
    except (gym.error.Error, ImportError) as e:
        reason = (str(e).splitlines() or [type(e).__name__])[0]
        raise ZooError(f"cannot build environment {env_id!r}: {reason}") from e
    except Exception as e:  # a user's env whose constructor raises: one line, not a traceback
        reason = (str(e).splitlines() or [""])[0]
        raise ZooError(
            f"cannot build environment {env_id!r}: its constructor raised {type(e).__name__}: {reason}"
        ) from e


def _make_atari(env_id: str, *, training: bool, render_mode: str | None = None) -> gym.Env:
    ids = atari.list_ids()
    if env_id not in ids:
        raise unknown_env_error(env_id, ids)
    return atari.make_atari(env_id, training=training, render_mode=render_mode)


def _make_minatar(env_id: str, *, training: bool, render_mode: str | None = None) -> gym.Env:
    ids = minatar.list_ids()
    if env_id not in ids:
        raise unknown_env_error(env_id, ids)
    return minatar.make_minatar(env_id, training=training, render_mode=render_mode)


def _make_pomdp(env_id: str, *, training: bool, render_mode: str | None = None) -> gym.Env:
    ids = pomdp.list_ids()
    if env_id not in ids:
        raise unknown_env_error(env_id, ids)
    return pomdp.make_pomdp(env_id, render_mode=render_mode)


def builtin_families() -> list[EnvFamily]:
    """The built-in families: gymnasium (fallback, empty prefix), Atari (`ALE/`), MinAtar (`MinAtar/`) and
    partially observable classic control (`POMDP/`)."""
    return [
        EnvFamily(
            "gymnasium",
            "",
            _make_gym,
            _trainable_gym_ids,
            "gymnasium's registered envs with discrete actions, e.g. CartPole-v1; a user's own as MODULE:ENV_ID",
        ),
        EnvFamily(
            "atari",
            atari.PREFIX,
            _make_atari,
            atari.list_ids,
            "Atari 2600 via ALE with DQN preprocessing: obs uint8 [4, 84, 84]",
        ),
        EnvFamily(
            "minatar",
            minatar.PREFIX,
            _make_minatar,
            minatar.list_ids,
            "MinAtar 10x10 miniatures of five Atari games: obs uint8 [C, 10, 10]",
        ),
        EnvFamily(
            "pomdp",
            pomdp.PREFIX,
            _make_pomdp,
            pomdp.list_ids,
            "classic control with the velocities hidden (a memory test): POMDP/CartPole-v1",
        ),
    ]


def find_family(env_id: str, families: Sequence[EnvFamily]) -> EnvFamily:
    """The family whose prefix matches `env_id`, the longest prefix winning whatever the registration order.

    A ``module:EnvId`` id is matched by its ``EnvId``.
    """
    env_id = split_env_id(env_id)[1]
    matching = [f for f in families if env_id.startswith(f.prefix)]
    if not matching:
        prefixes = ", ".join(f"{f.prefix}... ({f.name})" for f in families if f.prefix) or "none"
        raise ZooError(f"no environment family serves {env_id!r}; known prefixes: {prefixes} (see `zoo envs`)")
    return max(matching, key=lambda f: len(f.prefix))


def make_env(
    env_id: str,
    *,
    training: bool,
    render_mode: str | None = None,
    families: Sequence[EnvFamily] | None = None,
) -> gym.Env:
    """Builds `env_id` with its family's make; training=True may add learner-only wrappers (Atari lives, clipping).

    A ``module:EnvId`` id imports ``module`` first (which registers the env), then builds ``EnvId``.
    """
    name = import_env_module(env_id)
    family = find_family(name, builtin_families() if families is None else families)
    try:
        return family.make(name, training=training, render_mode=render_mode)
    except ZooError:
        raise
    except Exception as e:  # a plugin's or user's env that fails to build: one line, not a traceback
        reason = (str(e).splitlines() or [""])[0]
        raise ZooError(
            f"cannot build environment {env_id!r} ({family.name} family): {type(e).__name__}: {reason}"
        ) from e
