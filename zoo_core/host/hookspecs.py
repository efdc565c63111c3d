"""The hooks a zoo plugin may implement.

Every agent has its own plugin manager holding the core's built-in plugin and exactly the plugins
its recipe names (DESIGN.md principle 2). A plugin is a module or object whose functions carry
``@zoo_core.hookimpl``; it is installed as a package with an entry point in the ``agent_zoo``
group, or handed to :func:`zoo_core.train` in-process.

Three kinds of hook:

* **Registration** hooks receive a ``register`` callback and may call it any number of times;
  ``zoo_fits`` instead returns the algorithms a plugin fits.
* **Edit** hooks receive a mutable object (the network specification) and change it in place.
* **Role** hooks return an object that fills one role of the agent (the replay buffer, the value
  distribution, the exploration policy). At most one plugin of an agent may answer a role hook:
  two answers fail when the agent is built, with an error naming both plugins; no answer means the
  core's default. Order of registration never settles anything.

Observer hooks are called for every plugin; their return values are ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse

    import gymnasium as gym
    import numpy as np
    import torch

    from zoo_core.host.protocols import Agent, Exploration, ReplayBuffer, ValueDistribution
    from zoo_core.learning.aux_inputs import AuxInputs, AuxReplayRequest
    from zoo_core.learning.network_spec import NetworkSpec

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
    :return: nothing; the return value is ignored (``register`` carries what the plugin adds).
    """


@hookspec
def zoo_register_envs(register: Callable[[Any], None]) -> None:
    """Register environment families.

    Called once when a plugin manager is built.

    :param register: call ``register(EnvFamily(...))``; an env id is made by the family with the
        longest matching prefix (``ALE/``, ``MinAtar/``; ``""`` is gymnasium's registry).
    :return: nothing; the return value is ignored (``register`` carries what the plugin adds).
    """


@hookspec
def zoo_config(register: Callable[[str, type], None]) -> None:
    """Register this plugin's own hyperparameters.

    Called once when a plugin manager is built.

    :param register: call ``register(section, ConfigClass)`` with a frozen dataclass whose fields
        have defaults. Users set them with ``--set section.field=value``; values are validated
        against the field types and stored in ``config.json`` and checkpoints.
    :return: nothing; the return value is ignored (``register`` carries what the plugin adds).
    """


@hookspec
def zoo_fits() -> Sequence[str] | None:
    """Declare which algorithms this plugin fits (``("dqn", "r2d2")`` for the dueling head).

    Called once when a plugin manager is built, with the registration hooks. When an agent is
    resolved, a recipe whose algorithm is not among the answer of one of its plugins is refused
    before anything is built, with an error naming the plugin, the algorithm and what the plugin
    fits (``zoo train impala+dueling``).

    :return: the algorithm names (``Algorithm.name``) this plugin works with, or None (the same as
        not implementing the hook) for a plugin that fits every algorithm.
    """


@hookspec
def zoo_register_modules(register: Callable[[str, str, Callable[..., Any]], None]) -> None:
    """Register network building blocks by name.

    Called once when a plugin manager is built. A network specification names its blocks, so a
    saved agent is rebuilt from JSON by looking names up here, never by importing a path.

    :param register: call ``register(kind, name, factory)`` with ``kind`` one of ``"torso"``,
        ``"head"``, ``"linear"``, ``"value"`` (actor-critic value heads), ``"aux"`` (auxiliary-task
        heads). Factories' signatures are documented in :mod:`zoo_core.learning.networks`.
    :return: nothing; the return value is ignored (``register`` carries what the plugin adds).
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
    :return: nothing; the return value is ignored (``register`` carries what the plugin adds).
    """


# --- network ------------------------------------------------------------------------------------


@hookspec
def zoo_network_spec(spec: NetworkSpec, config: dict[str, Any]) -> None:
    """Edit the network specification before the network is built.

    Called for every plugin once per agent, after the value distribution is chosen (so
    ``spec.num_atoms`` is already set). Use ``spec.claim(field, value, plugin)`` to change a field;
    two plugins claiming one field fail with an error naming both.

    :param spec: the specification to edit in place.
    :param config: the agent's resolved configuration (the algorithm's section and each plugin's).
    :return: nothing; edits are made in place and the return value is ignored.
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
    n_step: int,
    gamma: float,
) -> ReplayBuffer | None:
    """Build the replay buffer (a role: one plugin at most; no answer is uniform replay).

    Called once when a DQN-family agent is built. Every plugin is asked; two answers fail the build
    with an error naming both plugins.

    :param config: the agent's resolved configuration (each plugin's section by name).
    :param capacity: transitions to hold in all.
    :param obs_shape: shape of one observation, stacked frames included.
    :param obs_dtype: dtype of observations.
    :param num_envs: parallel environments feeding the buffer.
    :param frame_stack: frames per observation (Atari 4); the buffer stores each frame once.
    :param n_step: steps in the bootstrapped return the buffer builds.
    :param gamma: the discount those returns use.
    :return: a :class:`zoo_core.api.ReplayBuffer` (usually a :class:`zoo_core.api.UniformReplay`
        subclass), or None to leave the role to the core.
    """


@hookspec
def zoo_value_distribution(config: dict[str, Any], num_actions: int) -> ValueDistribution | None:
    """Choose how action values are represented (a role; no answer is one scalar per action).

    Called once when a value-based agent is built, before ``zoo_network_spec`` (the answer fixes
    ``spec.num_atoms``). Two answers fail the build with an error naming both plugins.

    :param config: the agent's resolved configuration.
    :param num_actions: the env's number of discrete actions.
    :return: a :class:`zoo_core.api.ValueDistribution` (outputs per action, Q-values, the TD loss), or
        None. A fused loss for the speed path is registered separately
        (:func:`zoo_core.api.register_fused_loss`).
    """


@hookspec
def zoo_exploration(config: dict[str, Any], num_actions: int) -> Exploration | None:
    """Choose the exploration policy (a role; no answer is ε-greedy with a linear schedule).

    Called once when a value-based agent is built. Two answers fail the build with an error naming
    both plugins.

    :param config: the agent's resolved configuration.
    :param num_actions: the env's number of discrete actions.
    :return: a :class:`zoo_core.api.Exploration`, or None.
    """


@hookspec(firstresult=True)
def zoo_make_env(env_id: str, training: bool, render_mode: str | None) -> gym.Env | None:
    """Make an environment before the registered families are asked.

    Called each time the core makes an env (the learner's, evaluation's, the probe that reads its
    spaces). Stops at the first non-None result.

    :param env_id: the id the user gave.
    :param training: True for the learner's env (Atari: episodic life, clipped rewards), False for
        evaluation (the full, unclipped game).
    :param render_mode: gymnasium render mode, or None.
    :return: the env, or None to leave it to the registered env families.
    """


# --- learning -----------------------------------------------------------------------------------


@hookspec
def zoo_aux_replay(config: dict[str, Any]) -> AuxReplayRequest | None:
    """Ask the core for a small replay of recent experience (sequences with their recurrent state).

    Called once when an agent with auxiliary tasks is built. Every answer counts: the agent keeps one
    replay for all of them, of the most frames asked (and, for a step learner, the longest
    sequences). The replay is filled with what the learner trains on and handed to
    ``zoo_aux_losses`` as ``inputs.replay``; it is part of the agent's checkpoint.

    :param config: the agent's resolved configuration (each plugin's section by name).
    :return: a :class:`zoo_core.api.AuxReplayRequest`, or None for no replay.
    """


@hookspec
def zoo_aux_losses(agent: Agent, inputs: AuxInputs) -> torch.Tensor | None:
    """Add an auxiliary loss to the learner's update (UNREAL's auxiliary tasks, on any learner).

    Called for every plugin on every update of a learner that hosts auxiliary tasks (the DQN
    family, IMPALA), after its own loss is computed and before the backward pass; every answer is
    added to the loss. The heads a task needs are added to the network specification in
    ``zoo_network_spec`` (``spec.add_aux_head``) and are ``inputs.network.aux[name]``. While any
    plugin implements it, a DQN-family agent takes the autograd learner (the fused speed path has no
    place for extra losses).

    :param agent: the agent being updated.
    :param inputs: the network, what the learner trains on (time-major), its outputs, the replay of
        recent sequences and a generator to sample it (:class:`zoo_core.api.AuxInputs`).
    :return: a scalar tensor, already weighted, added to the learner's loss and logged as
        ``aux_<plugin name>`` (the sum as ``aux_loss``); or None (nothing this update).
    """


@hookspec
def zoo_new_agent(agent: Agent, config: dict[str, Any]) -> None:
    """Prepare a newly built agent before it first learns: load pretrained parts into its network
    (I2A's environment model, trained apart and frozen in the agent).

    Called for every plugin once, when an agent is built for a new run; not when a saved agent is
    rebuilt (resume, load, export), whose weights, pretrained parts included, come from its files.
    The return value is ignored.

    :param agent: the agent just built (``agent.network`` its network).
    :param config: its resolved configuration (each plugin's section by name).
    :raises ZooError: what the plugin needs cannot be read (a missing or damaged folder).
    """


@hookspec
def zoo_after_update(agent: Agent, batch: Any, info: dict[str, Any]) -> None:
    """Observe one learner update (an observer: the return value is ignored).

    Called for every plugin after each DQN-family gradient step, after the target update and after
    the core has written the priorities to the replay (``replay.update_priorities``).

    :param agent: the agent just updated.
    :param batch: the batch it learned from.
    :param info: ``{"td_error": ndarray [B] (the priorities), "loss": scalar tensor, "update": int}``.
    """


# --- observers ----------------------------------------------------------------------------------


@hookspec
def zoo_on_episode_end(agent: Agent, env_index: int, episode_return: float, length: int, step: int) -> None:
    """Observe the end of a training episode (the full game for Atari).

    Called by the trainer for every plugin, once per finished episode, in the order the loop
    reports them; the return value is ignored.

    :param agent: the agent being trained.
    :param env_index: which of the parallel envs (or actors) finished it.
    :param episode_return: its undiscounted return, in the env's units.
    :param length: its number of steps.
    :param step: env steps of the run so far.
    """


@hookspec
def zoo_on_log(agent: Agent, step: int, metrics: dict[str, float]) -> None:
    """Observe a row of training metrics as it is logged (every ``run.log_every`` env steps).

    Called for every plugin after the row is written to ``progress.csv``; the return value is
    ignored.

    :param agent: the agent being trained.
    :param step: env steps of the run so far.
    :param metrics: the row, by column name.
    """


@hookspec
def zoo_on_checkpoint(agent: Agent, path: str) -> None:
    """Observe a checkpoint just written (after its directory has been renamed into place).

    Called for every plugin; the return value is ignored.

    :param agent: the agent checkpointed.
    :param path: the checkpoint folder.
    """
