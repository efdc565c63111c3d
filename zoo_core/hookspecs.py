"""The hooks a zoo plugin may implement.

Every agent has its own plugin manager holding the core's built-in plugin and exactly the plugins
its recipe names (DESIGN.md principle 2). A plugin is a module or object whose functions carry
``@zoo_core.hookimpl``; it is installed as a package with an entry point in the ``agent_zoo``
group, or handed to :func:`zoo_core.train` in-process.

Three kinds of hook:

* **Registration** hooks receive a ``register`` callback and may call it any number of times.
* **Edit** hooks receive a mutable object (the network specification) and change it in place.
* **Role** hooks return an object that fills one role of the agent (the replay buffer, the value
  distribution, the exploration policy). At most one plugin of an agent may answer a role hook:
  two answers fail when the agent is built, with an error naming both plugins; no answer means the
  core's default. Order of registration never settles anything.

Observer hooks are called for every plugin; their return values are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse

    import gymnasium as gym
    import numpy as np
    import torch

    from zoo_core.agents.dqn import DQNAgent
    from zoo_core.network_spec import NetworkSpec
    from zoo_core.replay import Batch, UniformReplay

PROJECT = "agent_zoo"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- registration -------------------------------------------------------------------------------


@hookspec
def zoo_register_agents(register: Callable[[Any], None]) -> None:
    """Register algorithms and recipes.

    Called once when a plugin manager is built.

    :param register: call ``register(Algorithm(...))`` for a learning algorithm (a config class and
        a builder) and ``register(Recipe(...))`` for a named composition of plugins and
        hyperparameters (``rainbow`` = ``dqn`` + plugins). Two plugins registering the same name
        is an error naming both.
    """


@hookspec
def zoo_register_envs(register: Callable[[Any], None]) -> None:
    """Register environment families.

    Called once when a plugin manager is built.

    :param register: call ``register(EnvFamily(...))``; an env id is made by the family with the
        longest matching prefix (``ALE/``, ``MinAtar/``; ``""`` is gymnasium's registry).
    """


@hookspec
def zoo_config(register: Callable[[str, type], None]) -> None:
    """Register this plugin's own hyperparameters.

    Called once when a plugin manager is built.

    :param register: call ``register(section, ConfigClass)`` with a frozen dataclass whose fields
        have defaults. Users set them with ``--set section.field=value``; values are validated
        against the field types and stored in ``config.json`` and checkpoints.
    """


@hookspec
def zoo_register_modules(register: Callable[[str, str, Callable[..., Any]], None]) -> None:
    """Register network building blocks by name.

    Called once when a plugin manager is built. A network specification names its blocks, so a
    saved agent is rebuilt from JSON by looking names up here, never by importing a path.

    :param register: call ``register(kind, name, factory)`` with ``kind`` one of ``"torso"``,
        ``"head"``, ``"linear"``, ``"value"`` (actor-critic value heads). Factories' signatures are documented in
        :mod:`zoo_core.networks`.
    """


@hookspec
def zoo_register_commands(
    register: Callable[
        [str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int | None]], None
    ],
) -> None:
    """Add subcommands to the ``zoo`` command line (AlphaZero's ``zoo arena`` and ``zoo play``).

    Called each time ``zoo`` builds its parser, for every installed plugin that loads (none when
    ``ZOO_DISABLE_PLUGIN_AUTOLOAD`` is set). Keep it cheap: import heavy modules inside ``run``.

    :param register: call ``register(name, help, configure, run)``: ``name`` the subcommand
        (lowercase letters, digits and ``-``), ``help`` its one-line description in ``zoo --help``,
        ``configure(parser)`` adds its arguments to its own ``argparse`` parser (it may be
        called more than once, so it should do nothing else), and
        ``run(args)`` does the work and returns the exit code (None means 0); it raises
        :class:`zoo_core.errors.ZooError` for a user error (one line, exit code 2). Built-in
        commands always win: a plugin command with a built-in's name is skipped. A name that two
        plugins register is given to neither; running it is an error naming both. Skipped commands
        are listed at the end of ``zoo --help``, so a broken plugin never stops the ``zoo`` command.
    """


# --- network ------------------------------------------------------------------------------------


@hookspec
def zoo_network_spec(spec: NetworkSpec, config: dict[str, Any]) -> None:
    """Edit the network specification before the network is built.

    Called for every plugin once per agent, after the value distribution is chosen (so
    ``spec.num_atoms`` is already set). Use ``spec.claim(field, value, plugin)`` to change a field;
    two plugins claiming one field fail with an error naming both.

    :param spec: the specification to edit in place.
    :param config: the agent's resolved configuration (``config["dqn"]`` and each plugin section).
    """


# --- roles --------------------------------------------------------------------------------------


@hookspec
def zoo_make_replay(
    config: dict[str, Any],
    capacity: int,
    obs_shape: tuple[int, ...],
    obs_dtype: np.dtype,
    num_envs: int,
    frame_stack: int,
) -> UniformReplay | None:
    """Build the replay buffer (a role: one plugin at most; default uniform replay).

    :param config: the agent's resolved configuration.
    :param capacity: transitions to hold in all.
    :param obs_shape: shape of one observation, stacked frames included.
    :param obs_dtype: dtype of observations.
    :param num_envs: parallel environments feeding the buffer.
    :param frame_stack: frames per observation (Atari 4); the buffer stores each frame once.
    :return: an object with :class:`zoo_core.replay.UniformReplay`'s interface, or None.
    """


@hookspec
def zoo_value_distribution(config: dict[str, Any], num_actions: int) -> Any | None:
    """Choose how action values are represented (a role; default a scalar per action).

    The value distribution fixes the number of outputs per action and the TD loss; see
    :class:`zoo_core.value_distribution.ScalarValue` for the interface.

    :return: a value distribution object, or None.
    """


@hookspec
def zoo_exploration(config: dict[str, Any], num_actions: int) -> Any | None:
    """Choose the exploration policy (a role; default ε-greedy with a linear schedule).

    See :class:`zoo_core.exploration.EpsilonGreedy` for the interface.

    :return: an exploration object, or None.
    """


@hookspec(firstresult=True)
def zoo_make_env(env_id: str, training: bool, render_mode: str | None) -> gym.Env | None:
    """Make an environment before the registered families are asked.

    Stops at the first non-None result.

    :param env_id: the id the user gave.
    :param training: True for the learner's env (Atari: episodic life, clipped rewards), False for
        evaluation (the full, unclipped game).
    :param render_mode: gymnasium render mode, or None.
    """


# --- learning -----------------------------------------------------------------------------------


@hookspec
def zoo_aux_losses(agent: DQNAgent, batch: Batch, outputs: dict[str, torch.Tensor]) -> torch.Tensor | None:
    """Add a loss to the learner's update.

    Called for every plugin on every update, after the TD loss is computed.

    :param agent: the agent being updated.
    :param batch: the sampled batch (numpy arrays).
    :param outputs: ``{"q_tm1": [B, A], "out_tm1": [B, A, atoms], "loss": [B]}`` tensors.
    :return: a scalar tensor added to the loss, or None.
    """


@hookspec
def zoo_after_update(agent: DQNAgent, batch: Batch, info: dict[str, Any]) -> None:
    """Observe one learner update (prioritized replay writes priorities here).

    :param agent: the agent just updated.
    :param batch: the batch it learned from.
    :param info: ``{"td_error": ndarray [B], "loss": float tensor, "update": int}``.
    """


# --- observers ----------------------------------------------------------------------------------


@hookspec
def zoo_on_episode_end(agent: Any, env_index: int, episode_return: float, length: int, step: int) -> None:
    """Observe the end of a training episode (the full game for Atari)."""


@hookspec
def zoo_on_log(agent: Any, step: int, metrics: dict[str, float]) -> None:
    """Observe a row of training metrics as it is logged (every ``log_every`` env steps)."""


@hookspec
def zoo_on_checkpoint(agent: Any, path: str) -> None:
    """Observe a checkpoint just written (after its directory has been renamed into place)."""
