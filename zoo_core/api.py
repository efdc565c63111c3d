"""The public plugin API: everything a plugin may import from the core, and nothing else.

A plugin imports ``zoo_core.api`` (and ``zoo_core`` for ``hookimpl``, ``Algorithm``, ``Recipe``);
``tests/test_layout.py`` fails on any other import of the core from ``plugins/*/src``. A plugin
that needs more means a piece is missing here: add it, documented, rather than reaching inside.

What is here, by use:

* **Hooks and registration**: :data:`hookimpl`; :class:`Algorithm` and :class:`Recipe` for
  ``zoo_register_agents``; :class:`EnvFamily` for ``zoo_register_envs`` (:func:`table_env` makes a
  family's env from a table of tasks, with the spec a leaderboard pins); :func:`param` (a field's
  default, help and valid range: ``ge``, ``gt``, ``le``, ``lt``) and :func:`make_section` (builds and
  range-checks a section) for a plugin's config dataclass; :class:`BuildContext`, what a builder gets.
* **Errors**: :class:`ZooError` (one line, exit 2 on the CLI) and its kinds.
* **Protocols of the roles** (and base classes with their defaults): :class:`Agent`,
  :class:`SteppingAgent`, :class:`ReplayBuffer`, :class:`ValueDistribution`, :class:`Exploration`,
  :class:`Loop`.
* **Building blocks**: the network specification and its builder, the replay base class (extension
  points ``slots_written`` and ``held_arrays``), the DQN family's agent base and config (R2D2
  subclasses them), agent parts, optimiser state, value-learning math, the fused-loss registry of the
  speed path, the worker group, CLI argument types, recurrent policies for evaluation.
* **Auxiliary tasks** (UNREAL's, any learner): :class:`AuxReplayRequest` (``zoo_aux_replay``'s
  answer), :class:`AuxInputs` (``zoo_aux_losses``'s), :class:`Sequences` and the
  :class:`SequenceReplay` of recent experience, :class:`AuxFeatures`; for a learner that hosts
  them, :class:`AuxTasks`, :func:`aux_columns`, :func:`build_aux_heads` and :func:`run_core`.
* **Artifacts** of a plugin's own (I2A's environment model): :func:`write_folder` writes
  ``<stem>.safetensors`` and ``<stem>.json`` files with a manifest of their hashes, atomically;
  :func:`load_checkpoint` verifies such a folder and reads it (never a pickle), as agents are read;
  :func:`registry_model` finds one bundled with the registry (``models/NAME``).
* **Evaluation**: :class:`EvalProtocol` and :class:`EvalResult`, for an algorithm judged by a
  metric on a held-out set (:attr:`Algorithm.evaluate` gets the protocol, returns the result).
* **Devices**: :func:`resolve_device` (``run.device`` -> ``torch.device``; a builder gets the result
  as ``BuildContext.device``), :data:`CPU`, :func:`to_device` (host array -> tensor there, no copy
  on the CPU) and :func:`to_host` (tensor -> numpy).
"""

from __future__ import annotations

from zoo_core.agents.aux import AuxTasks, aux_columns
from zoo_core.agents.dqn import DQNFamilyAgent, DQNFamilyConfig
from zoo_core.agents.parts import (
    NetworkWeights,
    check_finite,
    exploration_role,
    load_rng_state,
    network_spec,
    rng_state,
    seeded_rng,
    value_role,
    with_prefix,
)
from zoo_core.cli.args import nonneg_int, positive_int, progress_default
from zoo_core.envs import VecEnv
from zoo_core.envs.families import EnvFamily, table_env, unknown_env_error
from zoo_core.errors import CheckpointError, NonFiniteError, PluginError, ZooError
from zoo_core.fast.losses import register_fused_loss
from zoo_core.host.config import make_section, param
from zoo_core.host.context import BuildContext
from zoo_core.host.hookspecs import hookimpl
from zoo_core.host.protocols import (
    Agent,
    Exploration,
    ExplorationBase,
    ReplayBuffer,
    Stateful,
    SteppingAgent,
    ValueDistribution,
)
from zoo_core.host.recipes import Algorithm, Recipe
from zoo_core.host.roles import has_impls
from zoo_core.host.session import Setup, resolve
from zoo_core.learning.aux_inputs import AuxInputs, AuxReplayRequest
from zoo_core.learning.aux_replay import SequenceChunker, SequenceReplay, Sequences
from zoo_core.learning.devices import CPU, resolve_device, to_device, to_host
from zoo_core.learning.network_spec import NetworkSpec
from zoo_core.learning.networks import (
    AuxFeatures,
    build_aux_heads,
    build_network,
    lookup_module,
    run_core,
    torso_and_core,
)
from zoo_core.learning.optim import clip_grad_norm, load_optimizer_state, optimizer_state
from zoo_core.learning.policies import RecurrentPolicy
from zoo_core.learning.replay import Batch, UniformReplay
from zoo_core.learning.value_distribution import TDInputs
from zoo_core.learning.value_learning import polyak_update
from zoo_core.publishing.load import load
from zoo_core.publishing.registry import bundled_model as registry_model
from zoo_core.running.atomic import atomic_path
from zoo_core.running.checkpoint import load_checkpoint, write_folder
from zoo_core.running.evaluation import EvalProtocol, EvalResult
from zoo_core.running.interrupts import ignore_stop_signals, shield_children
from zoo_core.running.loops import Loop, LoopState, Turn
from zoo_core.running.workers import WorkerGroup

__all__ = [
    "Agent", "Algorithm", "AuxFeatures", "AuxInputs", "AuxReplayRequest", "AuxTasks", "Batch", "BuildContext", "CPU",
    "CheckpointError", "DQNFamilyAgent", "DQNFamilyConfig", "EnvFamily", "EvalProtocol", "EvalResult", "Exploration",
    "ExplorationBase", "Loop", "LoopState", "NetworkSpec", "NetworkWeights", "NonFiniteError", "PluginError",
    "Recipe", "RecurrentPolicy", "ReplayBuffer", "SequenceChunker", "SequenceReplay", "Sequences", "Setup",
    "Stateful", "SteppingAgent", "TDInputs", "Turn", "UniformReplay", "ValueDistribution", "VecEnv", "WorkerGroup",
    "ZooError", "atomic_path", "aux_columns", "build_aux_heads", "build_network", "check_finite", "clip_grad_norm",
    "exploration_role", "has_impls", "hookimpl", "ignore_stop_signals", "load", "load_checkpoint",
    "load_optimizer_state", "load_rng_state", "lookup_module", "make_section", "network_spec", "nonneg_int",
    "optimizer_state", "param", "polyak_update", "positive_int", "progress_default", "register_fused_loss",
    "registry_model", "resolve",
    "resolve_device", "rng_state", "run_core", "seeded_rng", "shield_children", "table_env", "to_device", "to_host",
    "torso_and_core", "unknown_env_error", "value_role", "with_prefix", "write_folder",
]
